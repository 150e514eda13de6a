//! `nimbus serve`: open the store, wire the services into the gateway, listen, print `Ready.`,
//! and on SIGINT/SIGTERM drain requests and flush state.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gateway::{Credentials, Gateway, SigV4Mode};
use ports::TraceRecorder as _;
use storage::Store;
use tokio::net::TcpListener;

use crate::config::ServeArgs;
use crate::traces::Hops;

const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    // Two workers match the machines Nimbus targets; request handling is IO-bound.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)))
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let store = if args.ephemeral {
        Store::memory()
    } else {
        let fresh = !args.data_dir.exists();
        let store = storage_sqlite::open(&args.data_dir)
            .with_context(|| format!("data dir {} is not usable", args.data_dir.display()))?;
        if fresh {
            owner_only(&args.data_dir);
        } else {
            // A dir that existed before may be anything (`--data-dir .`): its mode is the
            // user's, and only what Nimbus keeps in it is made private.
            let db = storage_sqlite::DATABASE_FILE;
            for name in [storage_sqlite::BLOB_DIR, db, &format!("{db}-wal"), &format!("{db}-shm"), "lambda"] {
                let path = args.data_dir.join(name);
                if path.exists() {
                    owner_only(&path);
                }
            }
        }
        Store { kv: Arc::new(crate::durable::OffWorker(store.kv)), blobs: store.blobs }
    };
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("port {} on {} is already in use", args.port, args.bind)
        }
        _ => anyhow::Error::new(e).context(format!("cannot listen on {addr}")),
    })?;
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    let traces = Arc::new(crate::traces::TraceStore::new(crate::traces::Limits::default()));
    let recorder: Arc<dyn ports::TraceRecorder> = traces.clone();
    let retention_ms = i64::try_from(args.console_retention).unwrap_or(24) * 3_600_000;
    let usage = Arc::new(crate::usage::UsageStore::new(crate::usage::Limits {
        retention_ms,
        ..crate::usage::Limits::default()
    }));
    let invocations = Arc::new(crate::invocations::InvocationStore::new(
        store.kv.clone(),
        traces.clone(),
        crate::invocations::Limits { retention_ms, ..crate::invocations::Limits::default() },
        now_ms(),
    ));
    invocations.start();
    let meter: Arc<dyn ports::UsageMeter> = usage.clone();
    // The hops that go through ports on a request's behalf are recorded around the call.
    let hops = |inner| Arc::new(Hops::new(inner, recorder.clone()));
    let logs = service_logs::LogsService::new(store.clone(), clock.clone());
    let log_writer = logs.writer();
    let lambda = lambda(&args, store.clone(), log_writer.clone())?;
    lambda.set_trace_recorder(recorder.clone());
    lambda.set_invocation_recorder(invocations.clone());
    let events = events(store.clone(), &lambda)?;
    events.set_usage_meter(meter.clone());
    let sqs = service_sqs::SqsService::new(
        store.clone(),
        Arc::new(types::SystemClock),
        service_sqs::SqsConfig { endpoint_url: endpoint_url(&args) },
    )
    .map_err(|e| anyhow::anyhow!("starting SQS: {e}"))?;
    lambda.set_queue_sender(hops(sqs.clone()));
    lambda.set_queue_receiver(Arc::new(sqs.clone()));
    events.set_queue_sender(hops(sqs.clone()));
    let sns = sns(&args, store.clone(), hops(sqs.clone()), &lambda)?;
    let topics = |inner| Arc::new(Hops::new(inner, recorder.clone()));
    events.set_topic_publisher(topics(sns.clone()));
    lambda.set_topic_publisher(topics(sns.clone()));
    let buses = |inner| Arc::new(Hops::new(inner, recorder.clone()));
    lambda.set_event_publisher(buses(events.clone()));
    let s3 = s3_service(&args, store.clone(), &lambda, hops(sqs.clone()));
    s3.set_usage_meter(meter.clone());
    s3.set_topic_publisher(topics(sns.clone()));
    s3.set_event_publisher(buses(events.clone()));
    lambda.set_object_reader(Arc::new(s3.clone()));
    let loopback = Arc::new(crate::loopback::Loopback::new(
        sigv4_mode(&args),
        credentials(&args),
        endpoint_url(&args).trim_start_matches("http://"),
    ));
    let cloudformation = service_cloudformation::CloudFormationService::new(store.clone(), clock.clone())
        .map_err(|e| anyhow::anyhow!("starting CloudFormation: {e}"))?;
    cloudformation.set_api(loopback.clone());
    let scheduler = scheduler(store.clone(), &lambda, &sqs, &sns, &events);
    // The console shows every tenant's resources and logs to whoever can reach the port, so it
    // is left out when requests must prove who they are.
    let console = (!args.enforce_sigv4).then(|| {
        console::Console::new(Arc::new(crate::loopback::Unmetered(loopback.clone())))
            .with_traces(traces.clone())
            .with_usage(usage.clone())
            .with_invocations(invocations.clone())
    });
    roll(usage.clone(), invocations.clone());
    let closer = console.as_ref().map(console::Console::closer);
    let services = Services {
        console,
        cloudformation: cloudformation.clone(),
        lambda: lambda.clone(),
        events: events.clone(),
        logs,
        sqs,
        sns: sns.clone(),
        s3: s3.clone(),
        scheduler: scheduler.clone(),
        traces,
        meter,
    };
    let gateway = Arc::new(wire(&args, store.clone(), services, loopback.clone())?);
    loopback.attach(Arc::downgrade(&gateway));
    // Workers start once every port is wired, so what they resume after a restart finds its
    // targets (queues, streams, topics) at once.
    lambda.start();
    events.start();
    sns.start();
    s3.start();
    cloudformation.start();
    scheduler.start();

    tracing::info!(
        %addr,
        state = if args.ephemeral { "memory (ephemeral)".to_owned() } else { args.data_dir.display().to_string() },
        sigv4 = if args.enforce_sigv4 { "enforced" } else { "accepted" },
        "nimbus {VERSION} listening"
    );
    let signal = shutdown_signal();
    // Open console event streams end first, so they do not hold up the drain.
    let shutdown = async move {
        signal.await;
        if let Some(closer) = closer {
            closer.close();
        }
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Ready.").context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
    }

    gateway::serve(listener, gateway, Duration::from_secs(args.header_timeout), shutdown).await;
    tracing::info!("shutting down: stopping function environments, flushing state");
    scheduler.shutdown();
    events.shutdown();
    sns.shutdown();
    s3.shutdown();
    lambda.shutdown().await;
    // Function log lines and invocation records still queued are committed before the store
    // makes everything durable.
    log_writer.flush();
    invocations.shutdown();
    if args.ephemeral {
        let _ = std::fs::remove_dir_all(lambda_work_dir(&args));
    }
    store.kv.flush().context("flushing state at shutdown")?;
    Ok(())
}

/// Where clients (and functions' SDKs) reach this server.
fn endpoint_url(args: &ServeArgs) -> String {
    let host = if args.bind.is_unspecified() { "127.0.0.1".to_owned() } else { args.bind.to_string() };
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    format!("http://{host}:{}", args.port)
}

/// Mode 0700 (a file: 0600): functions run under users of their own (where the host allows),
/// and the state, the unpacked packages of every function included, must be out of their reach.
/// A file system without Unix modes (a mounted Windows volume) keeps working, with a warning.
fn owner_only(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if path.is_dir() { 0o700 } else { 0o600 };
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)) {
        tracing::warn!(path = %path.display(), error = %e, "could not make it private to this user");
    }
}

fn lambda_work_dir(args: &ServeArgs) -> std::path::PathBuf {
    if args.ephemeral {
        sweep_ephemeral_work_dirs();
        std::env::temp_dir().join(format!("nimbus-{}", std::process::id()))
    } else {
        args.data_dir.join("lambda")
    }
}

/// Removes the `nimbus-{pid}` work dirs of ephemeral servers that are gone: one stopped by
/// SIGKILL cleans nothing up, and each holds unpacked function packages.
fn sweep_ephemeral_work_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("nimbus-")) else { continue };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // A live process of that id (ours or, after pid reuse, another) keeps its dir.
        if std::path::Path::new("/proc").join(pid).exists() || !std::path::Path::new("/proc/self").exists() {
            continue;
        }
        if let Err(e) = std::fs::remove_dir_all(entry.path()) {
            tracing::debug!(dir = %entry.path().display(), error = %e, "could not remove a stale work dir");
        }
    }
}

/// Lambda and its execution environments. Function work files live under the data dir, or
/// under the system temp dir when the state is ephemeral.
fn lambda(
    args: &ServeArgs,
    store: Store,
    logs: service_logs::LogWriter,
) -> anyhow::Result<service_lambda::LambdaService> {
    let work_dir = lambda_work_dir(args);
    std::fs::create_dir_all(&work_dir).with_context(|| format!("creating {}", work_dir.display()))?;
    owner_only(&work_dir);
    let mut runtime_config = runtime::RuntimeConfig::new(work_dir.join("runtime"));
    runtime_config.idle_timeout = Duration::from_secs(args.lambda_idle_timeout);
    runtime_config.endpoint_url = Some(endpoint_url(args));
    runtime_config.tmpfs = args.lambda_tmpfs;
    let sink: Arc<dyn runtime::LogSink> = Arc::new(FunctionLogs(logs));
    let manager =
        runtime::RuntimeManager::new(runtime_config, sink).context("starting the Lambda runtime")?;
    tracing::info!(sandbox = ?manager.sandbox(), "lambda execution environments ready");
    let mut config = service_lambda::LambdaConfig::new(work_dir);
    config.account_concurrency = args.lambda_concurrency;
    config.retry_base = Duration::from_millis(args.lambda_retry_base_ms);
    config.endpoint_url = endpoint_url(args);
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    service_lambda::LambdaService::new(store, clock, Arc::new(manager), config)
        .map_err(|e| anyhow::anyhow!("starting Lambda: {e}"))
}

/// Function output and START/END/REPORT lines go to CloudWatch Logs, queued and batched.
struct FunctionLogs(service_logs::LogWriter);

impl runtime::LogSink for FunctionLogs {
    fn put(&self, scope: &types::Scope, log_group: &str, log_stream: &str, events: Vec<runtime::LogEvent>) {
        let events = events.into_iter().map(|e| (e.timestamp_ms, e.message)).collect();
        self.0.put(scope, log_group, log_stream, events);
    }
}

/// EventBridge, delivering to Lambda functions through the `FunctionInvoker` port.
fn events(
    store: Store,
    lambda: &service_lambda::LambdaService,
) -> anyhow::Result<service_events::EventsService> {
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    let invoker: Arc<dyn ports::FunctionInvoker> = Arc::new(lambda.clone());
    service_events::EventsService::new(store, clock, invoker, service_events::EventsConfig::default())
        .map_err(|e| anyhow::anyhow!("starting EventBridge: {e}"))
}

/// SNS, delivering to queues through SQS's `QueueSender` and to functions through Lambda's
/// `FunctionInvoker`.
fn sns(
    args: &ServeArgs,
    store: Store,
    queues: Arc<dyn ports::QueueSender>,
    lambda: &service_lambda::LambdaService,
) -> anyhow::Result<service_sns::SnsService> {
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    let config =
        service_sns::SnsConfig { endpoint_url: endpoint_url(args), ..service_sns::SnsConfig::default() };
    service_sns::SnsService::new(store, clock, queues, Arc::new(lambda.clone()), config)
        .map_err(|e| anyhow::anyhow!("starting SNS: {e}"))
}

fn sigv4_mode(args: &ServeArgs) -> SigV4Mode {
    if args.enforce_sigv4 { SigV4Mode::Enforce } else { SigV4Mode::Accept }
}

/// EventBridge Scheduler, invoking its targets through Lambda, SQS, SNS and EventBridge.
fn scheduler(
    store: Store,
    lambda: &service_lambda::LambdaService,
    sqs: &service_sqs::SqsService,
    sns: &service_sns::SnsService,
    events: &service_events::EventsService,
) -> service_scheduler::SchedulerService {
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    let scheduler =
        service_scheduler::SchedulerService::new(store, clock, service_scheduler::SchedulerConfig::default());
    scheduler.set_function_invoker(Arc::new(lambda.clone()));
    scheduler.set_queue_sender(Arc::new(sqs.clone()));
    scheduler.set_topic_publisher(Arc::new(sns.clone()));
    scheduler.set_event_publisher(Arc::new(events.clone()));
    scheduler
}

/// The key pairs `--enforce-sigv4` verifies against (`test`/`test` when none are given).
fn credentials(args: &ServeArgs) -> Credentials {
    let mut credentials = Credentials::new();
    for (id, secret) in &args.access_keys {
        credentials.insert(id.clone(), secret.clone());
    }
    if credentials.is_empty() {
        credentials.insert("test", "test");
    }
    credentials
}

/// S3, which verifies its own signatures (s3s) against the same keys as the gateway, and
/// notifies Lambda functions and SQS queues through the ports.
fn s3_service(
    args: &ServeArgs,
    store: Store,
    lambda: &service_lambda::LambdaService,
    queues: Arc<dyn ports::QueueSender>,
) -> service_s3::S3Service {
    let config = service_s3::S3Config {
        enforce_sigv4: args.enforce_sigv4,
        credentials: credentials(args).pairs().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
    };
    let s3 = service_s3::S3Service::new(store, Arc::new(types::SystemClock), config);
    s3.set_invoker(Arc::new(lambda.clone()));
    s3.set_queue_sender(queues);
    s3
}

/// The services built before the gateway, because other services or workers need them.
struct Services {
    console: Option<console::Console>,
    cloudformation: service_cloudformation::CloudFormationService,
    lambda: service_lambda::LambdaService,
    events: service_events::EventsService,
    logs: service_logs::LogsService,
    sqs: service_sqs::SqsService,
    sns: service_sns::SnsService,
    s3: service_s3::S3Service,
    scheduler: service_scheduler::SchedulerService,
    traces: Arc<crate::traces::TraceStore>,
    meter: Arc<dyn ports::UsageMeter>,
}

/// The composition root: every service, built on the chosen store, registered with the gateway.
/// API Gateway reaches Lambda through the `FunctionInvoker` port, and other services'
/// actions (`AWS` integrations) through their public APIs.
fn wire(
    args: &ServeArgs,
    store: Store,
    services: Services,
    loopback: Arc<crate::loopback::Loopback>,
) -> anyhow::Result<Gateway> {
    let Services { console, cloudformation, lambda, events, logs, sqs, sns, s3, scheduler, traces, meter } =
        services;
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    let credentials = credentials(args);
    let mode = sigv4_mode(args);
    let invoker: Arc<dyn ports::FunctionInvoker> = Arc::new(lambda.clone());
    let apigateway = service_apigateway::ApiGatewayService::new(store.clone(), clock.clone(), invoker)
        .map_err(|e| anyhow::anyhow!("starting API Gateway: {e}"))?;
    apigateway.set_queue_sender(Arc::new(sqs.clone()));
    apigateway.set_service_api(loopback);
    apigateway.set_usage_meter(meter.clone());
    let dynamodb = service_dynamodb::DynamoDbService::new(store.clone(), clock.clone());
    dynamodb.set_usage_meter(meter.clone());
    lambda.set_stream_reader(Arc::new(dynamodb.clone()));
    sweep_ttl(dynamodb.clone());
    let builder = Gateway::builder()
        .traces(Arc::new(move |span| traces.record(span)))
        .requests(Arc::new(move |scope, service| {
            meter.add(scope, ports::ResourceKind::Service, service, ports::Unit::Requests, 1)
        }))
        .version(VERSION)
        .sigv4(mode, credentials)
        .service(Arc::new(service_sts::StsService::new()))
        .service(Arc::new(service_iam::IamService::new(store.clone(), clock.clone())))
        .service(Arc::new(dynamodb))
        .service(Arc::new(lambda))
        .service(Arc::new(events))
        .service(Arc::new(logs))
        .service(Arc::new(sqs))
        .service(Arc::new(sns))
        .service(Arc::new(apigateway))
        .service(Arc::new(cloudformation))
        .service(Arc::new(scheduler))
        .streaming_service(Arc::new(s3));
    Ok(match console {
        Some(console) => builder.console(Arc::new(console)),
        None => builder,
    }
    .build())
}

/// How often metered usage moves into its per-minute history.
const USAGE_ROLL: Duration = Duration::from_secs(60);

/// Every minute: rolls the usage meter's counters into its history, compacts the invocation
/// summaries, and drops what is past the retention (the stored invocation records' purge
/// runs off the async workers).
fn roll(usage: Arc<crate::usage::UsageStore>, invocations: Arc<crate::invocations::InvocationStore>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(USAGE_ROLL);
        loop {
            every.tick().await;
            let now = now_ms();
            usage.roll(now);
            let invocations = invocations.clone();
            let _ = tokio::task::spawn_blocking(move || invocations.roll(now)).await;
        }
    });
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// How often expired DynamoDB items are deleted (DynamoDB itself takes up to a few days).
const TTL_SWEEP: Duration = Duration::from_secs(5);

/// Runs DynamoDB's TTL sweep in the background, off the async workers (the store is synchronous).
fn sweep_ttl(dynamodb: service_dynamodb::DynamoDbService) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TTL_SWEEP);
        loop {
            every.tick().await;
            let d = dynamodb.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || d.sweep_ttl()).await {
                tracing::warn!(error = %e, "the DynamoDB TTL sweep failed");
            }
        }
    });
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled, so a signal that arrives right after `Ready.` is never missed (it would kill
/// the process with the default action instead of draining).
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            (term, int) => {
                if let Some(e) = term.as_ref().err().or(int.as_ref().err()) {
                    tracing::warn!(error = %e, "cannot listen for a stop signal; only the other one stops the server");
                }
                match (term, int) {
                    (Ok(mut s), _) | (_, Ok(mut s)) => {
                        s.recv().await;
                    }
                    _ => std::future::pending().await,
                }
            }
        }
    }
}
