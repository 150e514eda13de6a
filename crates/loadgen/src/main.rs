//! `nimbus-loadgen`: the command line over the `loadgen` library. Runs one scenario against an
//! endpoint, or `--self-test` to measure its own ceiling, and prints the figures (or, after
//! failed requests, refuses to and exits non-zero).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use loadgen::client::Target;
use loadgen::scenario::Options;
use loadgen::selftest::{LEVELS, TrivialServer};
use loadgen::{Figures, Plan, Scenario, Signer, Stop};

/// Drive a server with SigV4-signed requests over keep-alive connections and report ops/s and
/// latency percentiles.
#[derive(Debug, Parser)]
#[command(name = "nimbus-loadgen", version)]
struct Cli {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    endpoint: String,

    /// What to run: noop, health, sts-get-caller-identity, iam-get-role, iam-create-delete-role,
    /// lambda-invoke, lambda-invoke-cold, sns-publish, s3-put, s3-get, dynamodb-put,
    /// dynamodb-get, dynamodb-query, sqs-send, sqs-receive, sqs-delete, events-put, events-lambda, apigw-lambda.
    #[arg(long, default_value = "sts-get-caller-identity")]
    scenario: Scenario,

    /// Workers, each with its own keep-alive connection and one request in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,

    /// Length of the timed phase (10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = loadgen::parse_duration, conflicts_with = "requests")]
    duration: Duration,

    /// Stop after this many timed requests instead of after --duration.
    #[arg(long)]
    requests: Option<u64>,

    /// Pace the load at this many operations per second across all workers (a steady load for
    /// a soak, or latency at a fixed load) instead of as fast as the workers go.
    #[arg(long)]
    rate: Option<f64>,

    /// Untimed warmup before the timed phase.
    #[arg(long, default_value = "2s", value_parser = loadgen::parse_duration)]
    warmup: Duration,

    /// Region in the credential scope.
    #[arg(long, default_value = "us-east-1")]
    region: String,

    #[arg(long, default_value = "test")]
    access_key: String,

    #[arg(long, default_value = "test")]
    secret_key: String,

    /// Report figures even if requests failed.
    #[arg(long)]
    allow_errors: bool,

    /// Print one JSON object per result on stdout instead of text.
    #[arg(long)]
    json: bool,

    /// Path the `health` scenario requests (`/_localstack/health` for LocalStack).
    #[arg(long, default_value = "/_nimbus/health")]
    health_path: String,

    /// `lambda-invoke`: the deployment package to create the function from (default: a Python
    /// echo function made here).
    #[arg(long, requires = "function_runtime")]
    function_zip: Option<std::path::PathBuf>,

    /// `lambda-invoke`: the runtime of --function-zip (`provided.al2023`, `python3.12`, ...).
    #[arg(long, requires = "function_zip")]
    function_runtime: Option<String>,

    /// `lambda-invoke`: the handler of --function-zip.
    #[arg(long, default_value = "bootstrap")]
    function_handler: String,

    /// `lambda-invoke`: the function's memory size in MB (CPU share follows it, as on Lambda).
    #[arg(long, default_value_t = 128)]
    function_memory: u32,

    /// `s3-put`/`s3-get`: the object size in bytes (the report adds MB/s for objects of 1 MiB
    /// and more).
    #[arg(long, default_value_t = loadgen::scenario::S3_OBJECT_SIZE)]
    object_size: usize,

    /// Send `Connection: keep-alive` (unsigned) with every request. SDKs do not; LocalStack
    /// behind hypercorn closes the connection after each request without it.
    #[arg(long)]
    keep_alive_header: bool,

    /// Client runtime threads. One leaves the other cores to the server under test; the
    /// self-test shows what one thread can drive.
    #[arg(long, default_value_t = 1)]
    threads: usize,

    /// Measure the client's own ceiling against a trivial in-process server at concurrency
    /// 1, 8 and 32 (--duration and --warmup per level).
    #[arg(long)]
    self_test: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nimbus-loadgen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: &Cli) -> anyhow::Result<ExitCode> {
    // One thread needs no work stealing: the single-threaded runtime wakes tasks without
    // cross-thread synchronisation, which is most of a request's client-side cost.
    let mut builder = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(cli.threads);
        builder
    };
    let runtime = builder.enable_all().build().context("starting the runtime")?;
    let signer = Signer::new(&cli.access_key, &cli.secret_key, &cli.region);
    let stop = match cli.requests {
        Some(n) => Stop::Requests(n),
        None => Stop::After(cli.duration),
    };
    let function = match (&cli.function_zip, &cli.function_runtime) {
        (Some(path), Some(runtime)) => loadgen::scenario::FunctionSource {
            runtime: runtime.clone(),
            handler: cli.function_handler.clone(),
            zip: std::fs::read(path).with_context(|| format!("reading {}", path.display()))?.into(),
            memory_mb: cli.function_memory,
        },
        _ => loadgen::scenario::FunctionSource {
            memory_mb: cli.function_memory,
            ..loadgen::scenario::FunctionSource::python_echo()
        },
    };
    let s3_object = loadgen::scenario::S3Object::of_size(cli.object_size);
    let run_id = loadgen::run::run_id();
    let cold = cli.scenario == Scenario::LambdaInvokeCold;
    if cold && (cli.concurrency != 1 || !matches!(stop, Stop::Requests(_))) {
        anyhow::bail!(
            "lambda-invoke-cold makes one function per request: give --requests N and --concurrency 1"
        );
    }
    let plan = |scenario, concurrency| Plan {
        scenario,
        concurrency,
        // Every cold request is timed: a warmup would use up functions.
        warmup: if cold { Duration::ZERO } else { cli.warmup },
        stop,
        options: Options {
            health_path: cli.health_path.clone(),
            function: function.clone(),
            account: Options::account_of(&cli.access_key),
            region: cli.region.clone(),
            captured: Default::default(),
            s3_object: s3_object.clone(),
            cold: match stop {
                Stop::Requests(n) if cold => Some((run_id.clone(), n)),
                _ => None,
            },
        },
        run_id: run_id.clone(),
        rate: cli.rate,
    };

    if cli.self_test {
        let server = TrivialServer::start()?;
        let target = server.target();
        let mut rows = Vec::new();
        for concurrency in LEVELS {
            let report =
                runtime.block_on(loadgen::run(&target, &plan(Scenario::Noop, concurrency), &signer))?;
            match report.figures(cli.allow_errors) {
                Ok(figures) => rows.push(figures),
                Err(refused) => {
                    eprintln!("nimbus-loadgen: self-test at concurrency {concurrency}: {refused}");
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        print_self_test(cli, &rows)?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut target = runtime.block_on(Target::resolve(&cli.endpoint))?;
    target.keep_alive_header = cli.keep_alive_header;
    let report = runtime
        .block_on(loadgen::run(&target, &plan(cli.scenario, cli.concurrency), &signer))
        .with_context(|| format!("{} against {}", cli.scenario, cli.endpoint))?;
    if report.reconnects > 0 {
        eprintln!(
            "nimbus-loadgen: note: the server closed the connection {} times in the timed phase",
            report.reconnects
        );
    }
    if report.cleanup_failures > 0 {
        eprintln!("nimbus-loadgen: warning: {} cleanup requests failed", report.cleanup_failures);
    }
    match report.figures(cli.allow_errors) {
        Ok(figures) => {
            let mut out = std::io::stdout().lock();
            // Large objects are measured in bytes moved, not requests.
            let moved =
                matches!(cli.scenario, Scenario::S3Put | Scenario::S3Get) && cli.object_size >= 1 << 20;
            let mb_per_sec = figures.ops_per_sec * cli.object_size as f64 / 1e6;
            if cli.json {
                let mut json = figures.to_json();
                if moved {
                    json["mb_per_sec"] = serde_json::json!((mb_per_sec * 10.0).round() / 10.0);
                }
                writeln!(out, "{json}")?;
            } else {
                writeln!(out, "{figures}")?;
                if moved {
                    writeln!(out, "MB/s       {mb_per_sec:.1} ({} B objects)", cli.object_size)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(refused) => {
            eprintln!("nimbus-loadgen: {refused}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_self_test(cli: &Cli, rows: &[Figures]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if cli.json {
        for row in rows {
            writeln!(out, "{}", row.to_json())?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "self-test: signed noop requests against a trivial hyper server on 127.0.0.1, {} client thread(s)",
        cli.threads.max(1)
    )?;
    writeln!(out, "{}", loadgen::report::table(rows))?;
    Ok(())
}
