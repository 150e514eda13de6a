//! S3's aws-chunked framing (`Content-Encoding: aws-chunked`, signed or unsigned, with trailers):
//! the decoder never panics, and feeding the same input in one piece or in small pieces gives
//! the same data, the same verdict and the same trailers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use service_s3::ChunkDecoder;

/// What a decode produced: the data, whether the body was complete (or why it was refused),
/// and the trailers.
#[derive(Debug, PartialEq)]
struct Decoded {
    data: Vec<u8>,
    verdict: Result<bool, String>,
    trailers: Vec<(String, Vec<u8>)>,
}

fn decode(data: &[u8], step: usize) -> Decoded {
    let mut d = ChunkDecoder::default();
    let mut out = Vec::new();
    for piece in data.chunks(step) {
        d.push(piece);
        loop {
            match d.next_data() {
                Ok(Some(bytes)) => out.extend_from_slice(&bytes),
                Ok(None) => break,
                Err(e) => return Decoded { data: out, verdict: Err(e.to_string()), trailers: Vec::new() },
            }
        }
    }
    let done = d.is_done();
    let trailers = d.take_trailers().iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
    Decoded { data: out, verdict: Ok(done), trailers }
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else { return };
    let whole = decode(body, body.len().max(1));
    let pieces = decode(body, usize::from(step % 16) + 1);
    // Errors may surface after different amounts of data; complete decodes must agree exactly.
    if whole.verdict.is_ok() && pieces.verdict.is_ok() {
        assert_eq!(whole, pieces, "split changes the decode of {body:?}");
    }
});
