//! `RuntimeManager::invoke_streaming`: a streamed response reaches the invoker as it is
//! written, and a timeout, a crash or a reader that leaves mid-stream leave the function's
//! environments usable.

use std::time::{Duration, Instant};

use runtime::{InvokeResult, ResponseStream, Runtime, Streamed};

use crate::common::*;

const NODE: Runtime = Runtime::Nodejs20;

async fn start(h: &Harness, f: &runtime::FunctionConfig, payload: &str) -> ResponseStream {
    match h.manager.invoke_streaming(f, invocation(payload)).await.expect("invoke") {
        Streamed::Streaming(s) => s,
        Streamed::Finished(out) => panic!("not streamed: {:?}", out.result),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_arrive_as_they_are_written() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let f = function("stream-paced", NODE, "index.paced", "node");
    let mut s = start(&h, &f, r#"{"count": 2, "pauseMs": 300}"#).await;
    assert_eq!(s.content_type.as_deref(), Some("text/plain"));
    let first = s.chunk().await.expect("first chunk");
    let first_at = Instant::now();
    assert!(first.starts_with(b"0:"), "{first:?}");
    let second = s.chunk().await.expect("second chunk");
    let gap = first_at.elapsed();
    assert!(second.starts_with(b"1:"), "{second:?}");
    // The second chunk is written 300 ms after the first: the first came before it existed.
    assert!(gap >= Duration::from_millis(250), "first chunk came only {gap:?} before the second");
    assert!(s.chunk().await.is_none());
    let out = s.outcome().await.expect("outcome");
    match &out.result {
        InvokeResult::Response(r) => assert!(r.streamed && r.payload.is_empty()),
        InvokeResult::Error(e) => panic!("{}", String::from_utf8_lossy(&e.payload)),
    }
    assert!(out.report.duration >= Duration::from_millis(300));

    // A buffered handler through the same call finishes as a whole.
    let plain = function("stream-plain", NODE, "index.handler", "node");
    let out = h.manager.invoke_streaming(&plain, invocation(r#"{"n": 1}"#)).await.expect("invoke");
    let Streamed::Finished(out) = out else { panic!("a buffered handler does not stream") };
    assert_eq!(ok_json(&out)["event"]["n"], 1);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_crash_mid_stream_end_the_stream_with_the_error() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let mut f = function("stream-timeout", NODE, "index.paced", "node");
    f.timeout = Duration::from_secs(1);
    let started = Instant::now();
    let mut s = start(&h, &f, r#"{"count": 1000, "pauseMs": 100}"#).await;
    let mut chunks = 0;
    while s.chunk().await.is_some() {
        chunks += 1;
    }
    assert!(chunks >= 3, "{chunks} chunks before the timeout");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let out = s.outcome().await.expect("outcome");
    assert_eq!(err_json(&out).0, "Sandbox.Timedout");

    let mut s = start(&h, &f, r#"{"count": 5, "pauseMs": 50, "crashAfter": 1}"#).await;
    let mut got = Vec::new();
    while let Some(c) = s.chunk().await {
        got.extend_from_slice(&c);
    }
    assert!(got.starts_with(b"0:") && got.windows(2).any(|w| w == b"1:"), "{got:?}");
    assert_eq!(err_json(&s.outcome().await.expect("outcome")).0, "Runtime.ExitError");

    // The next invocation gets a working environment.
    let mut s = start(&h, &f, r#"{"count": 2}"#).await;
    let mut got = Vec::new();
    while let Some(c) = s.chunk().await {
        got.extend_from_slice(&c);
    }
    assert!(got.starts_with(b"0:"), "{got:?}");
    assert!(s.outcome().await.expect("outcome").error().is_none());
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_leaves_does_not_wedge_the_environment() {
    if !have(NODE) {
        return;
    }
    let h = harness();
    let f = function("stream-dropped", NODE, "index.paced", "node");
    // 5 MB in 256 KiB chunks: far more than the channel and the sockets hold unread.
    let mut s = start(&h, &f, r#"{"count": 20, "size": 262144}"#).await;
    let first = s.chunk().await.expect("first chunk");
    let pid = first.split(|b| *b == b';').next().map(|p| p[2..].to_vec()).expect("pid");
    drop(s);
    // The function writes on into nothing, ends, and its environment goes back to the pool.
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.manager.status(&f.qualified_arn).idle == 0 {
        assert!(Instant::now() < deadline, "the environment never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut s = start(&h, &f, r#"{"count": 1}"#).await;
    let again = s.chunk().await.expect("chunk");
    assert!(again.starts_with(b"0:") && again[2..].starts_with(&pid), "the same environment: {again:?}");
    assert!(s.chunk().await.is_none());
    let out = s.outcome().await.expect("outcome");
    assert!(!out.cold_start && out.error().is_none());
    h.shutdown().await;
}
