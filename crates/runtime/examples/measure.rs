//! Cold-start and warm-invoke figures for the runtime layer, in process (no HTTP front door).
//!
//! `cargo run -p runtime --release --example measure [ROUNDS]`
//!
//! Cold start = from calling `invoke` to the handler's first line (the handler reports its start
//! time), on a fresh environment each round; beside it the bare interpreter start
//! (`python3 -c pass`, `node -e 0`, with an empty environment) on the same machine. Warm =
//! sequential invocations on one environment (latency) and 8 concurrent callers (throughput).
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use runtime::{FunctionConfig, Invocation, InvokeResult, NullSink, Runtime, RuntimeConfig, RuntimeManager};
use types::{AccountId, Region};

/// The bare interpreter command to compare a cold start with.
type Baseline = Option<(PathBuf, Vec<&'static str>)>;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn bare(program: &Path, args: &[&str], rounds: usize) -> f64 {
    let mut t = Vec::new();
    for _ in 0..rounds {
        let s = Instant::now();
        Command::new(program).args(args).env_clear().status().unwrap();
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    median(&mut t)
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn rust_bootstrap(dir: &Path) -> PathBuf {
    let out = dir.join("rust-fn");
    std::fs::create_dir_all(&out).unwrap();
    let ok = Command::new("rustc")
        .args(["--edition", "2021", "-O", "-o"])
        .arg(out.join("bootstrap"))
        .arg(fixtures().join("provided-rust/main.rs"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "rustc failed");
    out
}

/// Cold starts interleaved with bare interpreter starts, so both see the same machine noise.
async fn cold(
    m: &RuntimeManager,
    f: &FunctionConfig,
    baseline: Option<&(PathBuf, Vec<&str>)>,
    rounds: usize,
) -> (f64, f64, f64, Option<f64>, u32) {
    let (mut to_handler, mut total, mut init, mut bare_t) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut max_memory = 0;
    for i in 0..rounds {
        if let Some((p, a)) = baseline {
            bare_t.push(bare(p, a, 1));
        }
        m.evict(&f.qualified_arn);
        let pause = std::env::var("NIMBUS_PAUSE_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let t0 = now_secs();
        let s = Instant::now();
        let out = m.invoke(f, Invocation::new(format!("cold-{i}"), "{}")).await.unwrap();
        total.push(s.elapsed().as_secs_f64() * 1000.0);
        let InvokeResult::Response(r) = &out.result else { panic!("{:?}", out.result) };
        let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
        to_handler.push((v["started"].as_f64().unwrap() - t0) * 1000.0);
        init.push(out.report.init_duration.unwrap().as_secs_f64() * 1000.0);
        max_memory = out.report.max_memory_used_mb;
    }
    let b = (!bare_t.is_empty()).then(|| median(&mut bare_t));
    (median(&mut to_handler), median(&mut init), median(&mut total), b, max_memory)
}

async fn warm(m: &Arc<RuntimeManager>, f: &FunctionConfig, n: usize) -> (f64, f64, f64) {
    m.invoke(f, Invocation::new("prime", "{}")).await.unwrap();
    let mut lat = Vec::new();
    for i in 0..n {
        let s = Instant::now();
        m.invoke(f, Invocation::new(format!("w{i}"), "{}")).await.unwrap();
        lat.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    // Throughput: 8 concurrent callers for 2 s, on 8 environments started beforehand.
    let mut starts = Vec::new();
    for c in 0..8 {
        let (m, f) = (m.clone(), f.clone());
        starts.push(tokio::spawn(async move {
            m.invoke(&f, Invocation::new(format!("s{c}"), "{}")).await.unwrap()
        }));
    }
    for s in starts {
        s.await.unwrap();
    }
    let stop = Instant::now() + Duration::from_secs(2);
    let mut tasks = Vec::new();
    for c in 0..8 {
        let m = m.clone();
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut k = 0u64;
            while Instant::now() < stop {
                m.invoke(&f, Invocation::new(format!("t{c}-{k}"), "{}")).await.unwrap();
                k += 1;
            }
            k
        }));
    }
    let mut count = 0;
    for t in tasks {
        count += t.await.unwrap();
    }
    (pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99), count as f64 / 2.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    let mut config = RuntimeConfig::new(dir.path().join("work"));
    config.idle_timeout = Duration::from_secs(600);
    match std::env::var("NIMBUS_SANDBOX").as_deref() {
        Ok("rlimit") => config.sandbox = runtime::SandboxMode::Rlimit,
        Ok("v1") => config.sandbox = runtime::SandboxMode::CgroupV1,
        _ => {}
    }
    config.cpu_limit = std::env::var_os("NIMBUS_NO_CPU_LIMIT").is_none();
    let only_cold = std::env::var_os("NIMBUS_ONLY_COLD").is_some();
    let interpreters = config.interpreters.clone();
    let m = Arc::new(RuntimeManager::new(config, Arc::new(NullSink)).unwrap());
    println!("sandbox: {:?} ({})", m.sandbox().mode, m.sandbox().detail);
    let rust_dir = rust_bootstrap(dir.path());

    let mk = |name: &str, runtime: Runtime, handler: &str, code: PathBuf, memory: u32| {
        let mut f =
            FunctionConfig::new(AccountId::default(), Region::default(), name, runtime, handler, code);
        f.memory_mb = memory;
        f
    };
    let cases: Vec<(String, FunctionConfig, Baseline)> = vec![
        (
            "python3.12".into(),
            mk("m-py", Runtime::Python312, "app.started", fixtures().join("python"), 128),
            interpreters.get(Runtime::Python312).map(|p| (p.to_owned(), vec!["-c", "pass"])),
        ),
        (
            "python3.11".into(),
            mk("m-py311", Runtime::Python311, "app.started", fixtures().join("python"), 128),
            interpreters.get(Runtime::Python311).map(|p| (p.to_owned(), vec!["-c", "pass"])),
        ),
        (
            "nodejs20.x".into(),
            mk("m-node", Runtime::Nodejs20, "index.started", fixtures().join("node"), 128),
            interpreters.get(Runtime::Nodejs20).map(|p| (p.to_owned(), vec!["-e", "0"])),
        ),
        ("provided (Rust, std only)".into(), mk("m-rust", Runtime::ProvidedAl2023, "x", rust_dir, 128), None),
    ];
    let mut cases = cases;
    // NIMBUS_CASES=node,python3.12: only the cases whose name contains one of these.
    if let Ok(only) = std::env::var("NIMBUS_CASES") {
        cases.retain(|(name, _, _)| only.split(',').any(|w| name.contains(w)));
    }
    // The real clients, when available: NIMBUS_RUST_FN = a `lambda_runtime` bootstrap binary
    // (tests/fixtures/rust-fn), NIMBUS_AWSLAMBDARIC_PYTHON = a python with awslambdaric.
    if let Some(bin) = std::env::var_os("NIMBUS_RUST_FN") {
        let code = dir.path().join("lambda-runtime");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(bin, code.join("bootstrap")).unwrap();
        cases.push((
            "provided (lambda_runtime)".into(),
            mk("m-lr", Runtime::ProvidedAl2023, "x", code, 128),
            None,
        ));
    }
    if let Some(python) = std::env::var_os("NIMBUS_AWSLAMBDARIC_PYTHON") {
        use std::os::unix::fs::PermissionsExt as _;
        let code = dir.path().join("ric");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::copy(fixtures().join("python/app.py"), code.join("app.py")).unwrap();
        let python = PathBuf::from(python);
        let script = format!("#!/bin/sh\nexec {} -m awslambdaric \"$_HANDLER\"\n", python.display());
        std::fs::write(code.join("bootstrap"), script).unwrap();
        std::fs::set_permissions(code.join("bootstrap"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let baseline = Some((python, vec!["-c", "pass"]));
        cases.push((
            "provided (awslambdaric)".into(),
            mk("m-ric", Runtime::ProvidedAl2023, "app.started", code, 128),
            baseline,
        ));
    }
    println!(
        "\nCold start, median of {rounds} (ms): invoke -> handler start | Init Duration | whole invoke | bare interpreter"
    );
    for (name, f, baseline) in &cases {
        let (h, i, t, b, mem) = cold(&m, f, baseline.as_ref(), rounds).await;
        println!(
            "  {name:28} {h:7.1} | {i:7.1} | {t:7.1} | {:26} | {mem} MB",
            b.map_or("-".to_owned(), |b| format!("{b:.1} (ratio {:.2})", h / b))
        );
    }
    if only_cold {
        m.shutdown().await;
        return;
    }
    println!("\nWarm, one environment (ms p50 / p99), and 8 concurrent callers (invokes/s):");
    for (name, f, _) in &cases {
        for memory in [128, 1769] {
            let mut f = f.clone();
            f.memory_mb = memory;
            let (p50, p99, rps) = warm(&m, &f, 500).await;
            println!("  {name:28} {memory:5} MB  p50 {p50:6.3}  p99 {p99:6.3}  {rps:8.0}/s");
        }
    }
    m.shutdown().await;
}
