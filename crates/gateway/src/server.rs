//! The accept loop: HTTP/1.1 connections served by hyper until shutdown is signalled, then the
//! in-flight requests are allowed to finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::Gateway;

/// How long in-flight requests get to finish after shutdown is signalled.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `gateway` on `listener` until `shutdown` resolves, then stops accepting and waits (up
/// to a bound) for the requests in flight to complete.
///
/// A connection must deliver each complete request head within `header_timeout`, counted from
/// the moment hyper starts waiting for it — so an idle kept-alive connection is closed after
/// that long too. Without it, a client dripping one header byte at a time would hold a
/// connection (and its task) forever.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        // Running out of file descriptors and the like: keep serving the
                        // connections we have, try again shortly.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // SDK clients send many small requests on a kept-alive connection; Nagle's
                // delay would add tens of milliseconds to each.
                let _ = stream.set_nodelay(true);
                let gateway = gateway.clone();
                let service = service_fn(move |req| {
                    let gateway = gateway.clone();
                    async move { Ok::<_, Infallible>(gateway.handle(req).await) }
                });
                let conn = http1::Builder::new()
                    .keep_alive(true)
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}");
    }
}
