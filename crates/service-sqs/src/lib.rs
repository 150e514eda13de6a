//! Amazon SQS for Nimbus, in both protocols its clients speak: awsJson 1.0 (`AmazonSQS.*`, current
//! SDKs) and the query protocol with XML responses (older SDKs, `Action=SendMessage`). A request
//! is answered in the protocol it came in.
//!
//! Reading order: `operation.rs` (request → [`Operation`], both protocols through one input
//! shape), `queues.rs` (queue control plane), `messages.rs` (send, receive, delete, visibility,
//! redrive, FIFO), `model.rs` (records and key layout), `render.rs` (output in JSON or XML),
//! `digest.rs` (the MD5s SQS computes), `receiver.rs` (`ports::QueueReceiver`, for Lambda's
//! event source mappings).
//!
//! Queue records are cached in memory, write-through (one Nimbus process owns its data dir, so
//! the cache cannot go stale). Messages are never cached: every acknowledged send and every
//! receive is a committed Kv batch, so a kill -9 loses nothing and an in-flight message comes
//! back when its visibility timeout passes, whether or not the process restarted in between.

mod digest;
mod error;
mod messages;
mod model;
mod move_tasks;
mod operation;
mod queues;
mod receiver;
mod render;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ports::{PortError, QueueMessageAttribute, QueueSender};
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError};
use storage::{Kv, Store};
use tokio::sync::Notify;
use types::trace::TraceHeader;
use types::{AccountId, Clock, Region, Scope};

pub use error::Error;
pub use operation::Operation;

use model::QueueRecord;

/// The service's settings.
#[derive(Clone, Debug)]
pub struct SqsConfig {
    /// The base of queue URLs when a request carries no `Host` (the port path):
    /// `http://localhost:4566`.
    pub endpoint_url: String,
}

impl Default for SqsConfig {
    fn default() -> Self {
        SqsConfig { endpoint_url: "http://localhost:4566".to_owned() }
    }
}

/// The SQS service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct SqsService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsService").finish_non_exhaustive()
    }
}

/// What every handle on one queue shares: the wake-up for long polls and the lock that makes a
/// receive's read-modify-write of message records atomic with respect to other receives,
/// deletes and visibility changes of the same queue.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub notify: Notify,
    pub lock: Mutex<()>,
}

/// A queue as handlers see it: where it lives, its record, its shared state.
#[derive(Clone, Debug)]
pub(crate) struct Queue {
    pub scope: Scope,
    pub record: Arc<QueueRecord>,
    pub shared: Arc<Shared>,
}

impl Queue {
    pub fn prefix(&self) -> String {
        model::queue_prefix(&self.scope, &self.record.name)
    }

    pub fn arn(&self) -> String {
        model::queue_arn(&self.scope, &self.record.name)
    }
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    config: SqsConfig,
    /// Keyed by [`model::queue_key`].
    queues: Mutex<HashMap<Vec<u8>, Queue>>,
    /// Serializes control-plane read-modify-writes of queue records.
    writes: Mutex<()>,
    /// The next message sequence number: seeded from the wall clock in nanoseconds, so numbers
    /// keep growing across restarts, and unique within the process.
    seq: AtomicU64,
    /// Message move tasks, oldest first.
    move_tasks: Mutex<Vec<Arc<move_tasks::Task>>>,
}

impl SqsService {
    /// Builds the service and loads every queue record into the cache.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: SqsConfig) -> Result<SqsService, Error> {
        let seed = u64::try_from(clock.now().unix_timestamp_nanos()).unwrap_or(0);
        let inner = Inner {
            kv: store.kv,
            clock,
            config,
            queues: Mutex::new(HashMap::new()),
            writes: Mutex::new(()),
            seq: AtomicU64::new(seed),
            move_tasks: Mutex::new(Vec::new()),
        };
        inner.load_queues()?;
        Ok(SqsService { inner: Arc::new(inner) })
    }

    async fn handle(&self, ctx: RequestContext, req: Request) -> Response {
        let protocol = operation::protocol_of(&req);
        let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
        let result = match Operation::parse(&req, protocol) {
            Ok(op) => {
                let action = render::action_name(&op);
                let call = Call { ctx: &ctx, host: host.as_deref() };
                self.inner.act(&call, op).await.map(|out| render::output(protocol, &ctx, action, &out))
            }
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| e.into_response(protocol, &ctx))
    }
}

impl AwsService for SqsService {
    fn signing_name(&self) -> &'static str {
        "sqs"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson1_0
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(self.handle(ctx, req))
    }
}

/// One request as handlers need it: who calls, and the host queue URLs are built on.
pub(crate) struct Call<'a> {
    pub ctx: &'a RequestContext,
    pub host: Option<&'a str>,
}

impl Call<'_> {
    /// The URL of a queue, on the host the client used so that it can reach it again.
    pub fn queue_url(&self, inner: &Inner, scope: &Scope, name: &str) -> String {
        let base = match self.host {
            Some(host) if !host.is_empty() => format!("http://{host}"),
            _ => inner.config.endpoint_url.trim_end_matches('/').to_owned(),
        };
        format!("{base}/{}/{name}", scope.account)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// The one dispatch from operation to handler; the output is in awsJson shape.
    async fn act(self: &Arc<Self>, call: &Call<'_>, op: Operation) -> Result<serde_json::Value, Error> {
        let scope = &call.ctx.scope;
        match op {
            Operation::CreateQueue { name, attributes, tags } => {
                queues::create(self, call, &name, attributes, tags)
            }
            Operation::GetQueueUrl { name, owner } => queues::get_url(self, call, &name, owner.as_deref()),
            Operation::ListQueues { prefix, max_results, next_token } => {
                queues::list(self, call, prefix.as_deref(), max_results, next_token.as_deref())
            }
            Operation::ListDeadLetterSourceQueues { queue, max_results, next_token } => {
                let dlq = self.queue(scope, &queue)?;
                queues::dead_letter_sources(self, call, &dlq, max_results, next_token.as_deref())
            }
            Operation::DeleteQueue(q) => queues::delete(self, &self.queue(scope, &q)?),
            Operation::GetQueueAttributes(q, names) => {
                queues::get_attributes(self, &self.queue(scope, &q)?, &names)
            }
            Operation::SetQueueAttributes(q, attrs) => {
                queues::set_attributes(self, &self.queue(scope, &q)?, attrs)
            }
            Operation::PurgeQueue(q) => queues::purge(self, &self.queue(scope, &q)?),
            Operation::TagQueue(q, tags) => queues::tag(self, &self.queue(scope, &q)?, tags),
            Operation::UntagQueue(q, keys) => queues::untag(self, &self.queue(scope, &q)?, &keys),
            Operation::ListQueueTags(q) => queues::list_tags(&self.queue(scope, &q)?),
            Operation::SendMessage(q, mut entry) => {
                entry.trace = incoming_trace(call.ctx);
                messages::send_one(self, &self.queue(scope, &q)?, *entry)
            }
            Operation::SendMessageBatch(q, mut entries) => {
                let trace = incoming_trace(call.ctx);
                entries.iter_mut().for_each(|e| e.trace.clone_from(&trace));
                messages::send_batch(self, &self.queue(scope, &q)?, entries)
            }
            Operation::ReceiveMessage(q, input) => {
                messages::receive(self, &self.queue(scope, &q)?, &input).await
            }
            Operation::DeleteMessage(q, handle) => {
                messages::delete_one(self, &self.queue(scope, &q)?, &handle)
            }
            Operation::DeleteMessageBatch(q, entries) => {
                messages::delete_batch(self, &self.queue(scope, &q)?, entries)
            }
            Operation::ChangeMessageVisibility(q, handle, timeout) => {
                messages::change_visibility_one(self, &self.queue(scope, &q)?, &handle, timeout)
            }
            Operation::ChangeMessageVisibilityBatch(q, entries) => {
                messages::change_visibility_batch(self, &self.queue(scope, &q)?, entries)
            }
            Operation::StartMessageMoveTask { source_arn, destination_arn, rate } => {
                move_tasks::start(self, &source_arn, destination_arn, rate)
            }
            Operation::ListMessageMoveTasks { source_arn, max_results } => {
                move_tasks::list(self, &source_arn, max_results)
            }
            Operation::CancelMessageMoveTask(handle) => move_tasks::cancel(self, &handle),
            Operation::AddPermission(q, label, accounts, actions) => {
                queues::add_permission(self, &self.queue(scope, &q)?, &label, &accounts, &actions)
            }
            Operation::RemovePermission(q, label) => {
                queues::remove_permission(self, &self.queue(scope, &q)?, &label)
            }
        }
    }

    fn load_queues(&self) -> Result<(), Error> {
        let mut queues = lock(&self.queues);
        for (key, raw) in self.kv.scan(model::QUEUES, storage::KeyRange::all(), storage::UNLIMITED)? {
            let record: QueueRecord = model::decode(&raw)?;
            let Some(scope) = scope_of(&key) else { continue };
            queues.insert(key, Queue { scope, record: Arc::new(record), shared: Arc::default() });
        }
        Ok(())
    }

    /// The queue a request names. A URL's account, when it has one, picks the account (as
    /// SQS lets a caller address another account's queue by URL); the region is the request's.
    pub(crate) fn queue(&self, scope: &Scope, q: &operation::QueueRef) -> Result<Queue, Error> {
        let scope = match q.account.as_deref().and_then(AccountId::parse) {
            Some(account) => Scope { account, region: scope.region.clone() },
            None => scope.clone(),
        };
        self.find(&scope, &q.name).ok_or(Error::QueueDoesNotExist)
    }

    pub(crate) fn find(&self, scope: &Scope, name: &str) -> Option<Queue> {
        lock(&self.queues).get(&model::queue_key(scope, name)).cloned()
    }

    /// The queue an ARN names (`arn:aws:sqs:{region}:{account}:{name}`).
    pub(crate) fn find_arn(&self, arn: &str) -> Option<Queue> {
        let arn: types::Arn = arn.parse().ok()?;
        if arn.service != "sqs" {
            return None;
        }
        let scope = Scope { account: AccountId::parse(&arn.account)?, region: Region::parse(&arn.region)? };
        self.find(&scope, &arn.resource)
    }

    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// What a sent message keeps of its request's trace: only a trace the sender asked for (an
/// `X-Amzn-Trace-Id` header), with the send as the parent of whatever consumes the message.
fn incoming_trace(ctx: &RequestContext) -> Option<String> {
    ctx.trace.incoming.then(|| ctx.trace.downstream().to_string())
}

/// The scope of a queue key `{account}/{region}/{name}`.
fn scope_of(key: &[u8]) -> Option<Scope> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(3, '/');
    let account = AccountId::parse(parts.next()?)?;
    let region = Region::parse(parts.next()?)?;
    Some(Scope { account, region })
}

impl QueueSender for SqsService {
    fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        trace: Option<TraceHeader>,
    ) -> Result<String, PortError> {
        self.send_message_deduplicated(queue_arn, body, attributes, group_id, None, trace)
    }

    fn send_message_deduplicated(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        dedup_id: Option<&str>,
        trace: Option<TraceHeader>,
    ) -> Result<String, PortError> {
        let queue =
            self.inner.find_arn(queue_arn).ok_or_else(|| PortError::NotFound(queue_arn.to_owned()))?;
        let sent = messages::send_from_port(&self.inner, &queue, body, attributes, group_id, dedup_id, trace);
        sent.map_err(|e| match e {
            Error::QueueDoesNotExist => PortError::NotFound(queue_arn.to_owned()),
            Error::InternalError(e) => PortError::Unavailable(e.to_string()),
            other => PortError::Invalid(other.to_wire().message),
        })
    }
}

#[cfg(test)]
mod tests;
