//! Amazon SNS for Nimbus, on the query protocol (`Version=2010-03-31`; the SNS model offers no
//! other protocol): topics, standard and FIFO; subscriptions for SQS queues, Lambda functions
//! and HTTP endpoints, with filter policies on attributes or body; Publish and PublishBatch.
//!
//! Reading order: `operation.rs` (request → [`Operation`]), `topics.rs` (topics, attributes,
//! tags), `subscriptions.rs` (subscribe, confirm, attributes, lists), `publish.rs` (validation,
//! filtering, fan-out), `envelope.rs` (what each kind of endpoint receives), `queue.rs` (the
//! durable delivery queue and its worker), `http.rs` (the HTTP endpoint client), `model.rs`
//! (records and keys).
//!
//! Publish commits every (message, subscription) delivery, rendered for its endpoint, to the
//! `sns.deliveries` table before it answers; one worker hands them to SQS
//! ([`ports::QueueSender`]), Lambda ([`ports::FunctionInvoker`]) or the HTTP endpoint, removing
//! each only after the target took it: at least once, across restarts. Topics and their
//! subscriptions (with compiled filter policies) are cached in memory, write-through.

mod envelope;
mod error;
mod http;
mod model;
mod operation;
mod publish;
mod queue;
mod subscriptions;
mod topics;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use event_pattern::FilterPolicy;
use ports::{FunctionInvoker, PortError, QueueSender, TopicMessage, TopicPublisher};
use protocol::xml::XmlWriter;
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError, query};
use storage::{Kv, Store};
use types::{AccountId, Clock, Region, Scope};

pub use error::Error;
pub use operation::Operation;

use model::{SubscriptionRecord, TopicRecord};

/// SNS's XML namespace, on every response document.
pub const XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// The service's settings.
#[derive(Clone, Debug)]
pub struct SnsConfig {
    /// Where Nimbus is reached: the base of SubscribeURL and UnsubscribeURL.
    pub endpoint_url: String,
    /// The wait before the first retry of a failed delivery; doubled per attempt.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub max_retry_delay: Duration,
    /// Attempts at SQS and Lambda endpoints before a message goes to the dead-letter queue (or
    /// is dropped). AWS keeps trying for days; Nimbus gives up sooner so failures show.
    pub managed_attempts: u32,
    /// Attempts at HTTP/S endpoints: 1 + the default delivery policy's `numRetries` (3).
    pub http_attempts: u32,
    /// How long one HTTP delivery may take.
    pub http_timeout: Duration,
}

impl Default for SnsConfig {
    fn default() -> Self {
        SnsConfig {
            endpoint_url: "http://localhost:4566".to_owned(),
            retry_base: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(60),
            managed_attempts: 50,
            http_attempts: 4,
            http_timeout: Duration::from_secs(15),
        }
    }
}

/// The SNS service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct SnsService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SnsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnsService").finish_non_exhaustive()
    }
}

/// A subscription with its filter policy compiled.
#[derive(Debug)]
pub(crate) struct Sub {
    pub record: SubscriptionRecord,
    pub filter: Option<FilterPolicy>,
}

/// A topic as handlers see it: where it lives, its record and its subscriptions by id.
#[derive(Clone, Debug)]
pub(crate) struct Topic {
    pub scope: Scope,
    pub record: Arc<TopicRecord>,
    pub subs: BTreeMap<String, Arc<Sub>>,
}

impl Topic {
    pub fn arn(&self) -> String {
        model::topic_arn(&self.scope, &self.record.name)
    }
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    queues: Arc<dyn QueueSender>,
    invoker: Arc<dyn FunctionInvoker>,
    config: SnsConfig,
    /// Keyed by [`model::topic_key`].
    topics: Mutex<HashMap<Vec<u8>, Topic>>,
    /// Serializes control-plane read-modify-writes of topic and subscription records.
    writes: Mutex<()>,
    /// FIFO topics' deduplication ids committed since the start ([`model::dedup_key`] → when
    /// the window ends); the store has them all (`model::DEDUP`), this spares a read.
    dedup: Mutex<HashMap<Vec<u8>, i64>>,
    /// Where the next sweep of expired deduplication ids in the store starts.
    dedup_cursor: Mutex<Option<Vec<u8>>>,
    /// Delivery keys and FIFO sequence numbers: seeded from the wall clock in nanoseconds, so
    /// they keep growing across restarts.
    seq: AtomicU64,
    worker: queue::Worker,
}

impl SnsService {
    /// Builds the service and loads every topic and subscription into the cache. Call
    /// [`SnsService::start`] from inside the async runtime to run deliveries.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        queues: Arc<dyn QueueSender>,
        invoker: Arc<dyn FunctionInvoker>,
        config: SnsConfig,
    ) -> Result<SnsService, Error> {
        let seed = u64::try_from(clock.now().unix_timestamp_nanos()).unwrap_or(0);
        let inner = Inner {
            kv: store.kv,
            clock,
            queues,
            invoker,
            config,
            topics: Mutex::new(HashMap::new()),
            writes: Mutex::new(()),
            dedup: Mutex::new(HashMap::new()),
            dedup_cursor: Mutex::new(None),
            seq: AtomicU64::new(seed),
            worker: queue::Worker::default(),
        };
        inner.load()?;
        Ok(SnsService { inner: Arc::new(inner) })
    }

    /// Starts the delivery worker (including deliveries accepted before a restart). Must be
    /// called inside a tokio runtime.
    pub fn start(&self) {
        queue::start(self.inner.clone());
    }

    /// Stops the worker; queued deliveries stay for the next start.
    pub fn shutdown(&self) {
        self.inner.worker.stop();
    }

    fn handle(&self, ctx: &RequestContext, req: &Request) -> Response {
        let result = query::params(req).map_err(Error::from).and_then(|p| Operation::parse(&p));
        match result.and_then(|op| self.inner.act(ctx, op)) {
            Ok(resp) => resp,
            Err(e) => {
                if let Error::Internal(source) = &e {
                    tracing::error!(error = %source, "sns request failed in the store");
                }
                protocol::error_response(Protocol::Query, ctx, &e.to_wire())
            }
        }
    }
}

impl AwsService for SnsService {
    fn signing_name(&self) -> &'static str {
        "sns"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        // Every handler is synchronous: the store is, and deliveries happen in the worker.
        Box::pin(async move { self.handle(&ctx, &req) })
    }
}

impl TopicPublisher for SnsService {
    fn publish(&self, topic_arn: &str, message: TopicMessage) -> Result<String, PortError> {
        let attributes = message
            .attributes
            .into_iter()
            .map(|(name, a)| {
                let value = if a.data_type.starts_with("Binary") {
                    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &a.value)
                } else {
                    String::from_utf8_lossy(&a.value).into_owned()
                };
                operation::MessageAttribute { name, data_type: a.data_type, value }
            })
            .collect();
        let msg = operation::PublishMessage {
            message: message.message,
            subject: message.subject,
            structure: None,
            attributes,
            group_id: message.group_id,
            dedup_id: message.dedup_id,
        };
        let published = publish::publish_to(&self.inner, topic_arn, &msg, message.trace, &|| {});
        published.map(|(id, _)| id).map_err(|e| match e {
            Error::NotFound(m) => PortError::NotFound(format!("{topic_arn}: {m}")),
            Error::Internal(e) => PortError::Unavailable(e.to_string()),
            other => PortError::Invalid(other.to_string()),
        })
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A query success response whose result `write` fills.
pub(crate) fn respond(ctx: &RequestContext, action: &str, write: impl FnOnce(&mut XmlWriter)) -> Response {
    query::response(ctx, action, XMLNS, write)
}

/// A query map as SNS writes it: `<{name}><entry><key>…</key><value>…</value></entry>…`.
pub(crate) fn write_map<'a>(
    w: &mut XmlWriter,
    name: &str,
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    w.open(name);
    for (k, v) in entries {
        w.open("entry");
        w.leaf("key", k);
        w.leaf("value", v);
        w.close("entry");
    }
    w.close(name);
}

impl Inner {
    /// The one dispatch from operation to handler.
    fn act(&self, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
        match op {
            Operation::CreateTopic { name, attributes, tags } => {
                topics::create(self, ctx, &name, attributes, tags)
            }
            Operation::DeleteTopic(arn) => topics::delete(self, ctx, &arn),
            Operation::ListTopics { next_token } => topics::list(self, ctx, next_token.as_deref()),
            Operation::GetTopicAttributes(arn) => topics::get_attributes(self, ctx, &arn),
            Operation::SetTopicAttributes { topic_arn, name, value } => {
                topics::set_attribute(self, ctx, &topic_arn, &name, value)
            }
            Operation::AddPermission { topic_arn, label, accounts, actions } => {
                topics::add_permission(self, ctx, &topic_arn, &label, &accounts, &actions)
            }
            Operation::RemovePermission { topic_arn, label } => {
                topics::remove_permission(self, ctx, &topic_arn, &label)
            }
            Operation::TagResource { arn, tags } => topics::tag(self, ctx, &arn, tags),
            Operation::UntagResource { arn, keys } => topics::untag(self, ctx, &arn, &keys),
            Operation::ListTagsForResource(arn) => topics::list_tags(self, ctx, &arn),
            Operation::Subscribe(input) => subscriptions::subscribe(self, ctx, input),
            Operation::ConfirmSubscription { topic_arn, token } => {
                subscriptions::confirm(self, ctx, &topic_arn, &token)
            }
            Operation::Unsubscribe(arn) => subscriptions::unsubscribe(self, ctx, &arn),
            Operation::ListSubscriptions { next_token } => {
                subscriptions::list(self, ctx, None, next_token.as_deref())
            }
            Operation::ListSubscriptionsByTopic { topic_arn, next_token } => {
                subscriptions::list(self, ctx, Some(&topic_arn), next_token.as_deref())
            }
            Operation::GetSubscriptionAttributes(arn) => subscriptions::get_attributes(self, ctx, &arn),
            Operation::SetSubscriptionAttributes { subscription_arn, name, value } => {
                subscriptions::set_attribute(self, ctx, &subscription_arn, &name, &value)
            }
            Operation::Publish { topic_arn, message } => publish::publish(self, ctx, &topic_arn, &message),
            Operation::PublishBatch { topic_arn, entries } => {
                publish::publish_batch(self, ctx, &topic_arn, entries)
            }
            Operation::NotImplemented(what) => Err(Error::NotImplemented(what)),
        }
    }

    /// Every topic and subscription, into the cache (filter policies compiled).
    fn load(&self) -> Result<(), Error> {
        let mut topics = lock(&self.topics);
        for (key, raw) in self.kv.scan(model::TOPICS, storage::KeyRange::all(), storage::UNLIMITED)? {
            let record: TopicRecord = model::decode(&raw)?;
            let Some(scope) = scope_of(&key) else { continue };
            topics.insert(key, Topic { scope, record: Arc::new(record), subs: BTreeMap::new() });
        }
        for (key, raw) in self.kv.scan(model::SUBSCRIPTIONS, storage::KeyRange::all(), storage::UNLIMITED)? {
            let record: SubscriptionRecord = model::decode(&raw)?;
            let Some(scope) = scope_of(&key) else { continue };
            if let Some(topic) = topics.get_mut(&model::topic_key(&scope, &record.topic)) {
                topic.subs.insert(record.id.clone(), Arc::new(subscriptions::compile(record)));
            }
        }
        Ok(())
    }

    /// The topic an ARN names, from the cache. A malformed ARN is `Invalid parameter: TopicArn`,
    /// an unknown topic `NotFound`.
    pub(crate) fn topic(&self, arn: &str) -> Result<Topic, Error> {
        let (scope, name) = parse_topic_arn(arn)?;
        lock(&self.topics).get(&model::topic_key(&scope, &name)).cloned().ok_or_else(error::topic_not_found)
    }

    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// `arn:aws:sns:{region}:{account}:{topic}` → the topic's scope and name.
pub(crate) fn parse_topic_arn(arn: &str) -> Result<(Scope, String), Error> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() < 6 {
        return Err(error::invalid(format!(
            "TopicArn Reason: An ARN must have at least 6 elements, not {}",
            parts.len()
        )));
    }
    let bad = || error::invalid("TopicArn");
    if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" {
        return Err(bad());
    }
    let account = AccountId::parse(parts[4]).ok_or_else(bad)?;
    let region = Region::parse(parts[3]).ok_or_else(bad)?;
    Ok((Scope { account, region }, parts[5].to_owned()))
}

/// The scope of a key `{account}/{region}/…`.
fn scope_of(key: &[u8]) -> Option<Scope> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(3, '/');
    let account = AccountId::parse(parts.next()?)?;
    let region = Region::parse(parts.next()?)?;
    Some(Scope { account, region })
}

#[cfg(test)]
mod tests;
