//! The service on its own (memory store, a real runtime manager): invocations are billed and
//! listed in `usage`, throttles counted.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use protocol::{AwsService, RequestContext};
use service_lambda::{LambdaConfig, LambdaService};
use types::Scope;

fn zip_of(name: &str, body: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file(name, zip::write::SimpleFileOptions::default()).expect("entry");
    w.write_all(body.as_bytes()).expect("write");
    w.finish().expect("finish").into_inner()
}

async fn call(svc: &LambdaService, method: &str, path: &str, body: String) -> http::Response<Bytes> {
    let mut req = http::Request::new(Bytes::from(body));
    *req.method_mut() = method.parse().expect("method");
    *req.uri_mut() = path.parse().expect("uri");
    svc.call(RequestContext::new(Scope::default(), "test"), req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_are_billed_and_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let have_python = runtime::Interpreters::detect().get(runtime::Runtime::Python312).is_some();
    if !have_python {
        eprintln!("skipped: no python3.12 on this machine");
        return;
    }
    let manager = runtime::RuntimeManager::new(
        runtime::RuntimeConfig::new(dir.path().join("runtime")),
        Arc::new(runtime::NullSink),
    )
    .expect("runtime manager");
    let svc = LambdaService::new(
        storage::Store::memory(),
        Arc::new(types::SystemClock),
        Arc::new(manager),
        LambdaConfig::new(dir.path().join("lambda")),
    )
    .expect("service");
    let zip = base64::engine::general_purpose::STANDARD.encode(zip_of(
        "app.py",
        "def handler(e, c):\n    if e.get('fail'):\n        raise ValueError('no')\n    return e\n",
    ));
    let create = serde_json::json!({
        "FunctionName": "billed", "Runtime": "python3.12", "Handler": "app.handler",
        "Role": "arn:aws:iam::000000000000:role/r", "MemorySize": 512, "Code": { "ZipFile": zip },
    });
    let resp = call(&svc, "POST", "/2015-03-31/functions", create.to_string()).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.body());
    for payload in [r#"{"n":1}"#, r#"{"n":2}"#, r#"{"fail":true}"#] {
        let resp = call(&svc, "POST", "/2015-03-31/functions/billed/invocations", payload.to_owned()).await;
        assert_eq!(resp.status(), 200);
    }
    let usage = svc.usage(&Scope::default());
    assert_eq!(usage.len(), 1);
    let f = &usage[0];
    assert_eq!(f.function_arn, "arn:aws:lambda:us-east-1:000000000000:function:billed");
    assert_eq!((f.invocations, f.errors, f.cold_starts), (3, 1, 1));
    assert_eq!(f.recent.len(), 3);
    assert!(f.recent[0].init_duration_ms.is_some(), "the first invocation was a cold start");
    assert!(f.recent[1].init_duration_ms.is_none());
    assert_eq!(f.recent[2].error.as_deref(), Some("ValueError"));
    let billed: u64 = f.recent.iter().map(|r| r.billed_duration_ms).sum();
    assert_eq!(f.billed_ms, billed);
    let expected_gb_s = billed as f64 / 1000.0 * 0.5;
    assert!((f.gb_seconds - expected_gb_s).abs() < 1e-9, "{} vs {expected_gb_s}", f.gb_seconds);
    svc.shutdown().await;
}
