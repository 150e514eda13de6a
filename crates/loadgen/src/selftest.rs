//! The client's own ceiling: a trivial HTTP/1.1 server on 127.0.0.1:0 that answers every
//! request 200 with an empty body, driven by the `noop` scenario (signed, STS-shaped, so the
//! client does all the work it does against Nimbus). A figure measured against Nimbus near
//! this ceiling measures the client, not Nimbus.
//!
//! The server runs on its own thread and single-threaded runtime, so that on a small machine it
//! takes about the share of the CPU a real server would, not the client's runtime.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::Error;
use crate::client::Target;

/// The concurrency levels `--self-test` measures.
pub const LEVELS: [usize; 3] = [1, 8, 32];

/// A running trivial server; dropping it stops it.
#[derive(Debug)]
pub struct TrivialServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TrivialServer {
    /// Binds 127.0.0.1:0 and serves on a thread of its own.
    pub fn start() -> Result<TrivialServer, Error> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::SelfTestServer)?;
        listener.set_nonblocking(true).map_err(Error::SelfTestServer)?;
        let addr = listener.local_addr().map_err(Error::SelfTestServer)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::SelfTestServer)?;
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("selftest-server".to_owned())
            .spawn(move || runtime.block_on(serve(listener, stopped)))
            .map_err(Error::SelfTestServer)?;
        Ok(TrivialServer { addr, stop: Some(stop), thread: Some(thread) })
    }

    pub fn target(&self) -> Target {
        let host =
            HeaderValue::from_str(&self.addr.to_string()).expect("a socket address is a valid header value");
        Target { addr: self.addr, host, keep_alive_header: false }
    }
}

impl Drop for TrivialServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: std::net::TcpListener, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = TcpListener::from_std(listener) else { return };
    loop {
        let stream = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|request: Request<Incoming>| async move {
                // Read the body, as any server must before the connection can be reused.
                let _ = request.into_body().collect().await;
                Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
