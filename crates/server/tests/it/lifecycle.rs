//! The server process itself: start-up errors, graceful shutdown.

use std::process::{Command, Stdio};

use crate::harness::{Server, TRUST};

fn run_serve(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nimbus"))
        .arg("serve")
        .args(args)
        .env("NIMBUS_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .expect("run nimbus")
}

#[test]
fn port_in_use_is_a_one_line_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = run_serve(&["--ephemeral", "--port", &port]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("port {port} on 127.0.0.1 is already in use")), "{stderr}");
    assert!(out.stdout.is_empty(), "no Ready. line");
}

#[test]
fn unwritable_data_dir_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file where the data dir should be: no user, root included, can create it.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let data_dir = blocker.join("state");
    let out = run_serve(&["--port", "0", "--data-dir", data_dir.to_str().expect("utf8 path")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("data dir") && stderr.contains("state"), "{stderr}");
}

/// The state is private to the server's user (functions run under users of their own); a data
/// dir the user already had keeps its mode, and only what Nimbus keeps in it is made private.
#[test]
fn the_state_is_private_but_an_existing_dir_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("tempdir");

    let fresh = dir.path().join("fresh");
    let server = Server::start(&fresh);
    assert_eq!(mode(&fresh), 0o700);
    drop(server);

    let existing = dir.path().join("project");
    std::fs::create_dir(&existing).expect("mkdir");
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut server = Server::start(&existing);
    // The second start finds Nimbus's own files there already.
    assert!(server.terminate().success());
    server.restart();
    assert_eq!(mode(&existing), 0o755, "the user's dir keeps its mode");
    assert_eq!(mode(&existing.join("nimbus.sqlite3")), 0o600);
    assert_eq!(mode(&existing.join("blobs")), 0o700);
    assert_eq!(mode(&existing.join("lambda")), 0o700);
}

#[tokio::test]
async fn sigterm_drains_and_exits_cleanly_keeping_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let iam = server.iam("test", "us-east-1").await;
    iam.create_role().role_name("kept").assume_role_policy_document(TRUST).send().await.expect("create");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    server.restart();
    let iam = server.iam("test", "us-east-1").await;
    assert!(iam.get_role().role_name("kept").send().await.is_ok());
}

#[test]
fn env_overrides_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_nimbus"))
        .args(["serve", "--ephemeral"])
        .env("NIMBUS_PORT", &port)
        .env("NIMBUS_LOG", "off")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("port {port} ")), "NIMBUS_PORT was not used: {stderr}");
}

/// A client that drips its request head a byte at a time is cut off once the header timeout
/// passes, while a prompt client on another connection is served meanwhile.
#[test]
fn slow_drip_request_head_is_cut_off() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let server = Server::start_with(None, &["--ephemeral", "--header-timeout", "1"]);
    let addr = server.endpoint().trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).expect("connect");
    slow.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let started = Instant::now();
    let head = b"GET /_nimbus/health HTTP/1.1\r\nHost: localhost\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut closed_after = None;
    for byte in head.iter().cycle().take(200) {
        if slow.write_all(&[*byte]).is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buf = [0u8; 256];
        match slow.read(&mut buf) {
            // hyper closes the connection (possibly after a 408) when the timer fires.
            Ok(_) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => {
                closed_after = Some(started.elapsed());
                break;
            }
        }
    }
    let closed_after = closed_after.expect("the dripping connection was never closed");
    assert!(closed_after >= Duration::from_millis(900), "closed too early: {closed_after:?}");
    assert!(closed_after < Duration::from_secs(10), "closed too late: {closed_after:?}");

    let mut prompt = std::net::TcpStream::connect(&addr).expect("connect");
    prompt
        .write_all(b"GET /_nimbus/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    prompt.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
