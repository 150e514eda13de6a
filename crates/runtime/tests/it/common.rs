use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use runtime::{
    FunctionConfig, InvokeOutcome, InvokeResult, MemorySink, Runtime, RuntimeConfig, RuntimeManager,
    SandboxMode,
};
use types::{AccountId, Region};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

pub struct Harness {
    pub manager: RuntimeManager,
    pub sink: Arc<MemorySink>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn shutdown(self) {
        self.manager.shutdown().await;
    }

    /// The messages written to one invocation's log stream.
    pub fn stream(&self, outcome: &InvokeOutcome) -> Vec<String> {
        self.sink.messages(&outcome.log_group, &outcome.log_stream)
    }
}

pub fn harness() -> Harness {
    harness_with(|_| {})
}

pub fn harness_with(adjust: impl FnOnce(&mut RuntimeConfig)) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = RuntimeConfig::new(dir.path());
    config.idle_timeout = Duration::from_secs(60);
    config.sandbox = SandboxMode::Auto;
    adjust(&mut config);
    let sink = Arc::new(MemorySink::new());
    let manager = RuntimeManager::new(config, sink.clone()).expect("manager");
    Harness { manager, sink, _dir: dir }
}

/// A config with a name unique to the test.
pub fn function(name: &str, runtime: Runtime, handler: &str, code: &str) -> FunctionConfig {
    let mut c =
        FunctionConfig::new(AccountId::default(), Region::default(), name, runtime, handler, fixture(code));
    c.timeout = Duration::from_secs(10);
    c
}

pub fn invocation(payload: &str) -> runtime::Invocation {
    let mut inv = runtime::Invocation::new(uuid::Uuid::new_v4().to_string(), payload.to_owned());
    inv.tail_logs = true;
    inv
}

/// The response as JSON; panics with the error document on a function error.
pub fn ok_json(outcome: &InvokeOutcome) -> serde_json::Value {
    match &outcome.result {
        InvokeResult::Response(r) => serde_json::from_slice(&r.payload).expect("response is JSON"),
        InvokeResult::Error(e) => panic!(
            "function error {}: {}\nlogs: {:#?}",
            e.error_type,
            String::from_utf8_lossy(&e.payload),
            outcome.logs
        ),
    }
}

/// The error type and the error document; panics on a response.
pub fn err_json(outcome: &InvokeOutcome) -> (String, serde_json::Value) {
    match &outcome.result {
        InvokeResult::Error(e) => {
            (e.error_type.clone(), serde_json::from_slice(&e.payload).expect("error is JSON"))
        }
        InvokeResult::Response(r) => panic!("expected an error, got {}", String::from_utf8_lossy(&r.payload)),
    }
}

pub fn log_text(outcome: &InvokeOutcome) -> String {
    outcome.logs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("\n")
}

/// The interpreter for `runtime` on this machine, or a printed reason to skip.
pub fn have(runtime: Runtime) -> bool {
    let found = runtime::Interpreters::detect().get(runtime).is_some();
    if !found {
        eprintln!("SKIPPED: no interpreter for {runtime} on this machine");
    }
    found
}
