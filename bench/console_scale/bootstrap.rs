//! The smallest `provided.al2023` function the console benchmark can invoke by the hundred
//! thousand: std only, one keep-alive connection to the Runtime API, the event echoed back.
//! Built by `bench/console_scale.py` with `rustc -O`; about a megabyte resident per
//! environment, so a thousand warm environments fit beside the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

/// One HTTP/1.1 exchange on the kept-alive connection: the response's headers and body.
fn exchange(
    reader: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(Vec<(String, String)>, Vec<u8>)> {
    let head = format!("{method} {path} HTTP/1.1\r\nHost: runtime\r\nContent-Length: {}\r\n\r\n", body.len());
    let stream = reader.get_mut();
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut payload = vec![0; length];
    reader.read_exact(&mut payload)?;
    Ok((headers, payload))
}

/// [`exchange`], on a new connection when the kept one was closed.
fn call(
    api: &str,
    reader: &mut BufReader<TcpStream>,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<(Vec<(String, String)>, Vec<u8>)> {
    match exchange(reader, method, path, body) {
        Ok(answer) => Ok(answer),
        Err(_) => {
            *reader = BufReader::new(TcpStream::connect(api)?);
            exchange(reader, method, path, body)
        }
    }
}

fn main() -> std::io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").expect("AWS_LAMBDA_RUNTIME_API");
    let mut reader = BufReader::new(TcpStream::connect(&api)?);
    loop {
        let (headers, event) = call(&api, &mut reader, "GET", "/2018-06-01/runtime/invocation/next", b"")?;
        let id = headers
            .iter()
            .find(|(k, _)| k == "lambda-runtime-aws-request-id")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        println!("handled {} bytes", event.len());
        let path = format!("/2018-06-01/runtime/invocation/{id}/response");
        call(&api, &mut reader, "POST", &path, &event)?;
    }
}
