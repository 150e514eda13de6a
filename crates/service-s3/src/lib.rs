//! Amazon S3. The wire protocol (routing of the REST API, XML, SigV4 in all its S3 forms) is
//! s3s's: [`S3Service`] builds an s3s service around [`Engine`], which implements s3s's `S3`
//! trait on the store. Bucket, object, upload and part records live in the ordered `Kv`
//! (`model`); object bytes live in blobs, streamed in and out (`body`), never whole in memory.
//!
//! The gateway hands requests over unread through [`protocol::StreamingService`]. Addressing is
//! path-style (`localhost`, `127.0.0.1`, `s3.localhost`) or virtual-hosted
//! (`{bucket}.s3.localhost`, `{bucket}.s3.{region}.localhost`). With `enforce_sigv4`, s3s verifies
//! every signature (header, presigned, aws-chunked) against the configured keys; otherwise any
//! credentials are accepted (`unsigned`). The tenant is the gateway's, from the access key.
//!
//! Start reading at `engine.rs`, then `objects.rs`.

mod acl;
mod body;
mod buckets;
mod checksum;
mod cors;
mod engine;
mod error;
mod lifecycle;
mod list;
mod meter;
mod model;
mod multipart;
mod notify;
mod objects;
mod reader;
mod unsigned;
mod versions;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http_body_util::BodyExt;
use protocol::{BoxFuture, RequestContext, StreamBody, StreamRequest, StreamResponse, StreamingService};
use s3s::auth::{S3Auth, SecretKey};
use s3s::host::{S3Host, VirtualHost};
use s3s::service::S3ServiceBuilder;
use s3s::{S3Result, s3_error};
use storage::Store;
use types::Clock;

pub use engine::Engine;
pub use error::Error;
/// The aws-chunked decoder, sans-IO: public so the fuzz targets reach it.
pub use unsigned::{ChunkError, Decoder as ChunkDecoder};

/// How S3 checks callers.
#[derive(Clone, Debug, Default)]
pub struct S3Config {
    /// Verify every request's signature (s3s's verifier) against `credentials`.
    pub enforce_sigv4: bool,
    /// Access key id → secret access key.
    pub credentials: HashMap<String, String>,
}

/// The S3 service as the gateway sees it.
#[derive(Clone)]
pub struct S3Service {
    inner: s3s::service::S3Service,
    enforce: bool,
    notifier: Arc<notify::Notifier>,
    store: Store,
    clock: Arc<dyn Clock>,
    /// The same engine s3s calls, for the lifecycle sweep and CORS.
    engine: Engine,
    stopped: Arc<AtomicBool>,
}

impl S3Service {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: S3Config) -> S3Service {
        if let Err(e) = versions::migrate(store.kv.as_ref()) {
            tracing::error!(error = %e, "s3: giving old objects their null versions failed");
        }
        let notifier = Arc::new(notify::Notifier::default());
        let engine =
            Engine::new(store.clone(), clock.clone(), notifier.clone(), lifecycle::Timing::from_env());
        let mut builder = S3ServiceBuilder::new(engine.clone());
        builder.set_host(LocalHosts);
        if config.enforce_sigv4 {
            builder.set_auth(Keys(config.credentials));
        }
        S3Service {
            inner: builder.build(),
            enforce: config.enforce_sigv4,
            notifier,
            store,
            clock,
            engine,
            stopped: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Where notifications to Lambda functions go.
    pub fn set_invoker(&self, invoker: Arc<dyn ports::FunctionInvoker>) {
        self.notifier.set_invoker(invoker);
    }

    /// Where notifications to SQS queues go.
    pub fn set_queue_sender(&self, sender: Arc<dyn ports::QueueSender>) {
        self.notifier.set_queue_sender(sender);
    }

    /// Lets notifications reach SNS topics.
    pub fn set_topic_publisher(&self, publisher: Arc<dyn ports::TopicPublisher>) {
        self.notifier.set_topic_publisher(publisher);
    }

    /// Lets notifications reach EventBridge (buckets with an EventBridge configuration).
    pub fn set_event_publisher(&self, publisher: Arc<dyn ports::EventPublisher>) {
        self.notifier.set_event_publisher(publisher);
    }

    /// Where requests (by price class) and the bytes each bucket stores are counted.
    pub fn set_usage_meter(&self, meter: Arc<dyn ports::UsageMeter>) {
        self.engine.meter.set(meter);
    }

    /// Starts the notification worker; deliveries queued before a restart go out now.
    pub fn start(&self) {
        // The usage meter starts from nothing: tell it what the buckets already store.
        let (meter, kv) = (self.engine.meter.clone(), self.store.kv.clone());
        let seeding =
            std::thread::Builder::new().name("s3-stored-bytes".to_owned()).spawn(move || {
                match meter.seed(kv.as_ref()) {
                    Ok(n) => tracing::debug!(versions = n, "s3: stored bytes counted"),
                    Err(e) => {
                        tracing::warn!(error = %e, "s3: counting stored bytes failed; they count from now")
                    }
                }
            });
        if let Err(e) = seeding {
            tracing::warn!(error = %e, "s3: cannot count stored bytes; they count from now");
            self.engine.meter.finish();
        }
        self.notifier.clone().start(self.store.kv.clone(), self.clock.clone());
        lifecycle::start(self.engine.clone(), self.engine.lifecycle, self.stopped.clone());
    }

    /// Stops the notification worker; queued deliveries stay for the next start.
    pub fn shutdown(&self) {
        self.stopped.store(true, Ordering::Release);
        self.notifier.stop();
    }

    async fn handle(self, ctx: RequestContext, req: StreamRequest) -> StreamResponse {
        let (mut parts, body) = req.into_parts();
        let account = ctx.scope.account.as_str().to_owned();
        if parts.method == http::Method::OPTIONS {
            return cors::preflight(&self.engine, &account, &parts, ctx.request_id.as_str());
        }
        let cors = cors::actual(&self.engine, &account, &parts);
        if ctx.metered {
            self.engine.meter.request(&ctx.scope, &parts);
        }
        let body = if self.enforce {
            body
        } else {
            let (body, trailers) = unsigned::strip(&mut parts, body);
            if let Some(t) = trailers {
                parts.extensions.insert(t);
            }
            body
        };
        let request_id = ctx.request_id.as_str().to_owned();
        parts.extensions.insert(ctx);
        let req = http::Request::from_parts(parts, s3s::Body::http_body(body));
        match self.inner.call(req).await {
            Ok(resp) => {
                let (mut parts, body) = resp.into_parts();
                if let Some(c) = &cors {
                    c.apply(&mut parts.headers);
                }
                let body = if parts.status.is_client_error() || parts.status.is_server_error() {
                    with_request_id(body, &request_id).await
                } else {
                    Box::pin(body)
                };
                http::Response::from_parts(parts, body)
            }
            Err(e) => {
                tracing::error!(error = ?e, "s3s failed to answer");
                let xml = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>{request_id}</RequestId></Error>"
                );
                let mut resp = http::Response::new(full(Bytes::from(xml)));
                *resp.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                resp.headers_mut()
                    .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/xml"));
                resp
            }
        }
    }
}

impl StreamingService for S3Service {
    fn signing_name(&self) -> &'static str {
        "s3"
    }

    fn call(&self, ctx: RequestContext, req: StreamRequest) -> BoxFuture<'static, StreamResponse> {
        Box::pin(self.clone().handle(ctx, req))
    }
}

fn full(bytes: Bytes) -> StreamBody {
    Box::pin(http_body_util::Full::new(bytes).map_err(|never| match never {}))
}

/// Errors s3s raises itself (before an operation runs: a bad signature, an unknown operation)
/// carry no request id; S3's always do. Error bodies are small and already in memory.
async fn with_request_id(body: s3s::Body, request_id: &str) -> StreamBody {
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return full(Bytes::new()),
    };
    let text = String::from_utf8_lossy(&bytes);
    if bytes.is_empty() || text.contains("<RequestId>") || !text.contains("</Error>") {
        return full(bytes);
    }
    full(Bytes::from(text.replace("</Error>", &format!("<RequestId>{request_id}</RequestId></Error>"))))
}

/// Nimbus's S3 host names. `{bucket}.s3.localhost` and `{bucket}.s3.{region}.localhost` name a
/// bucket; anything else (`localhost`, `s3.localhost`, a container's host name) is path-style.
pub(crate) struct LocalHosts;

impl S3Host for LocalHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let Some(rest) = name.strip_suffix(".localhost") else { return Ok(VirtualHost::new(host)) };
        if let Some(bucket) = rest.strip_suffix(".s3") {
            return Ok(VirtualHost::new(host).with_bucket(bucket));
        }
        if let Some((before, region)) = rest.rsplit_once('.')
            && let Some(bucket) = before.strip_suffix(".s3")
        {
            return Ok(VirtualHost::new(host).with_bucket(bucket).with_region(region));
        }
        Ok(VirtualHost::new(host))
    }
}

/// The configured key pairs, for s3s's verifier under `--enforce-sigv4`.
struct Keys(HashMap<String, String>);

#[async_trait::async_trait]
impl S3Auth for Keys {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.get(access_key) {
            Some(secret) => Ok(SecretKey::from(secret.as_str())),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}
