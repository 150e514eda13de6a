//! `nimbus serve`: open the store, wire the services into the gateway, listen, print `Ready.`,
//! and on SIGINT/SIGTERM drain requests and flush state.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use gateway::{Credentials, Gateway, SigV4Mode};
use storage::Store;
use tokio::net::TcpListener;

use crate::config::ServeArgs;

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
        storage_sqlite::open(&args.data_dir)
            .with_context(|| format!("data dir {} is not usable", args.data_dir.display()))?
    };
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("port {} on {} is already in use", args.port, args.bind)
        }
        _ => anyhow::Error::new(e).context(format!("cannot listen on {addr}")),
    })?;
    let (gateway, log_writer) = wire(&args, store.clone());
    let gateway = Arc::new(gateway);

    tracing::info!(
        %addr,
        state = if args.ephemeral { "memory (ephemeral)".to_owned() } else { args.data_dir.display().to_string() },
        sigv4 = if args.enforce_sigv4 { "enforced" } else { "accepted" },
        "nimbus {VERSION} listening"
    );
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Ready.").context("writing to stdout")?;
        out.flush().context("writing to stdout")?;
    }

    gateway::serve(listener, gateway, shutdown_signal()).await;
    tracing::info!("shutting down: flushing state");
    // Function log lines still queued are committed before the store makes everything durable.
    log_writer.flush();
    store.kv.flush().context("flushing state at shutdown")?;
    Ok(())
}

/// The composition root: every service, built on the chosen store, registered with the gateway.
/// Also answers the CloudWatch Logs writer, which shutdown flushes.
fn wire(args: &ServeArgs, store: Store) -> (Gateway, service_logs::LogWriter) {
    let clock: Arc<dyn types::Clock> = Arc::new(types::SystemClock);
    let mut credentials = Credentials::new();
    for (id, secret) in &args.access_keys {
        credentials.insert(id.clone(), secret.clone());
    }
    if credentials.is_empty() {
        credentials.insert("test", "test");
    }
    let mode = if args.enforce_sigv4 { SigV4Mode::Enforce } else { SigV4Mode::Accept };
    // Lambda will write function logs through `logs.writer()`.
    let logs = service_logs::LogsService::new(store.clone(), clock.clone());
    let log_writer = logs.writer();
    let gateway = Gateway::builder()
        .version(VERSION)
        .sigv4(mode, credentials)
        .service(Arc::new(service_sts::StsService::new()))
        .service(Arc::new(service_iam::IamService::new(store, clock)))
        .service(Arc::new(logs))
        .build();
    (gateway, log_writer)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
