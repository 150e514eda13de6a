//! Amazon EventBridge for Nimbus, on awsJson 1.1 (`AWSEvents.*`): event buses, rules and their
//! targets, PutEvents matched against every rule of a bus at once, durable at-least-once
//! delivery to Lambda functions ([`ports::FunctionInvoker`]), SQS queues ([`ports::QueueSender`]),
//! SNS topics ([`ports::TopicPublisher`]), other buses and API destinations (HTTPS through
//! `outbound`, with their connections' authorization), dead-letter queues, and scheduled rules.
//!
//! Reading order: `operation.rs` (request → [`Operation`]), `rules.rs` (rules and targets),
//! `events.rs` (PutEvents, TestEventPattern, the envelope), `input.rs` (what a target gets),
//! `queue.rs` (the delivery queue and the scheduler), `schedule.rs` (rate and cron), `model.rs`
//! (records and keys), `connections.rs` (connections and API destinations), `apidest.rs` (the
//! HTTP request an event becomes, rate limits, OAuth tokens).
//!
//! Rules are cached in memory, write-through, with one [`event_pattern::Matcher`] per bus that
//! is updated on every rule change: one Nimbus process owns its data dir, so the cache cannot be
//! stale. Control-plane writes are serialized by one lock; PutEvents only reads.

mod apidest;
mod archives;
mod buses;
mod connections;
mod error;
mod events;
mod input;
mod model;
mod operation;
mod queue;
mod rules;
mod schedule;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use event_pattern::{Matcher, Pattern};
use ports::{FunctionInvoker, QueueSender, TopicPublisher};
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response};
use storage::{Kv, Store};
use types::{Clock, Scope};

pub use error::Error;
pub use operation::Operation;

use model::RuleRecord;

/// The service's settings; [`EventsConfig::default`] has EventBridge's values.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// The most a PutEvents request's entries may total. AWS raised it from 256 KB to 1 MB
    /// (2026-01); the botocore model says 1 MB.
    pub max_put_events_bytes: usize,
    /// The wait before the first retry of a failed delivery; doubled per attempt.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub max_retry_delay: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            max_put_events_bytes: 1024 * 1024,
            retry_base: Duration::from_secs(1),
            max_retry_delay: Duration::from_secs(180),
        }
    }
}

/// The EventBridge service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct EventsService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsService").finish_non_exhaustive()
    }
}

/// The rules of one bus and the automaton compiled from its enabled patterns.
#[derive(Default)]
pub(crate) struct BusRules {
    rules: BTreeMap<String, Arc<RuleRecord>>,
    matcher: Matcher<String>,
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    invoker: Arc<dyn FunctionInvoker>,
    /// SQS, for queue targets and dead-letter queues; wired after both services exist.
    queues: std::sync::OnceLock<Arc<dyn QueueSender>>,
    /// SNS, for topic targets.
    topics: std::sync::OnceLock<Arc<dyn TopicPublisher>>,
    /// Where PutEvents counts the events and 64 KB chunks each bus took.
    pub(crate) meter: std::sync::OnceLock<Arc<dyn ports::UsageMeter>>,
    config: EventsConfig,
    /// Keyed by [`model::bus_key`]; a bus without rules may be absent.
    buses: Mutex<HashMap<Vec<u8>, BusRules>>,
    /// The archives of each bus (by [`model::bus_key`]), matched on every PutEvents.
    archives: Mutex<HashMap<Vec<u8>, Vec<Arc<archives::Armed>>>>,
    /// When the worker last dropped archived events past their retention.
    last_purge_ms: Mutex<i64>,
    /// Serializes control-plane read-modify-writes of rule and bus records.
    writes: Mutex<()>,
    queue: queue::Queue,
    /// Rate limits and OAuth tokens of API destination deliveries.
    api_destinations: apidest::Shared,
    /// The HTTP client of API destinations; the process's (the system's TLS roots) unless a
    /// test set one that trusts its own CA.
    http_client: std::sync::OnceLock<outbound::Client>,
}

impl EventsService {
    /// Builds the service and loads every rule into the matchers. Call
    /// [`EventsService::start`] from inside the async runtime to run deliveries and schedules.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        invoker: Arc<dyn FunctionInvoker>,
        config: EventsConfig,
    ) -> Result<EventsService, Error> {
        let inner = Inner {
            kv: store.kv,
            clock,
            invoker,
            queues: std::sync::OnceLock::new(),
            topics: std::sync::OnceLock::new(),
            meter: std::sync::OnceLock::new(),
            config,
            buses: Mutex::new(HashMap::new()),
            archives: Mutex::new(HashMap::new()),
            last_purge_ms: Mutex::new(0),
            writes: Mutex::new(()),
            queue: queue::Queue::default(),
            api_destinations: apidest::Shared::default(),
            http_client: std::sync::OnceLock::new(),
        };
        inner.load_rules()?;
        inner.load_archives()?;
        Ok(EventsService { inner: Arc::new(inner) })
    }

    /// Gives EventBridge SQS, for queue targets and dead-letter queues. The first call wins.
    pub fn set_queue_sender(&self, sender: Arc<dyn QueueSender>) {
        let _ = self.inner.queues.set(sender);
    }

    /// Gives EventBridge SNS, for topic targets. The first call wins.
    pub fn set_topic_publisher(&self, publisher: Arc<dyn TopicPublisher>) {
        let _ = self.inner.topics.set(publisher);
    }

    /// Where the events (and their 64 KB chunks) PutEvents accepts are counted, per bus.
    pub fn set_usage_meter(&self, meter: Arc<dyn ports::UsageMeter>) {
        let _ = self.inner.meter.set(meter);
    }

    /// Starts the delivery worker (including deliveries accepted before a restart) and the
    /// scheduler. Must be called inside a tokio runtime.
    pub fn start(&self) {
        queue::start(self.inner.clone());
    }

    /// Stops the worker and the scheduler; queued deliveries stay for the next start.
    pub fn shutdown(&self) {
        self.inner.queue.stop();
    }

    async fn handle(&self, ctx: RequestContext, req: Request) -> Response {
        let result = match Operation::parse(&req) {
            Ok(op) => self.inner.act(&ctx, op),
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| e.into_response(&ctx))
    }
}

impl AwsService for EventsService {
    fn signing_name(&self) -> &'static str {
        "events"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson1_1
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(self.handle(ctx, req))
    }
}

impl ports::EventPublisher for EventsService {
    fn put_event(&self, event: ports::BusEvent) -> Result<String, ports::PortError> {
        events::put_from_port(&self.inner, event)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An awsJson 1.1 success response.
pub(crate) fn ok(ctx: &RequestContext, body: &serde_json::Value) -> Result<Response, Error> {
    Ok(protocol::json::response(Protocol::AwsJson1_1, ctx, body))
}

/// Unix ms as `2024-05-01T12:00:03Z`, the envelope's `time`.
pub(crate) fn iso_seconds(ms: i64) -> String {
    types::timefmt::iso_seconds(ms)
}

/// Unix ms as awsJson's epoch-seconds timestamp.
pub(crate) fn epoch_seconds(ms: i64) -> serde_json::Value {
    serde_json::json!(ms as f64 / 1000.0)
}

impl Inner {
    /// The one dispatch from operation to handler.
    fn act(self: &Arc<Self>, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
        let scope = &ctx.scope;
        match op {
            Operation::CreateEventBus { name, description, tags } => {
                buses::create(self, ctx, &name, description, tags)
            }
            Operation::DescribeEventBus(name) => buses::describe(self, ctx, &name),
            Operation::ListEventBuses { prefix, page } => buses::list(self, ctx, prefix.as_deref(), &page),
            Operation::DeleteEventBus(name) => buses::delete(self, ctx, &name),
            Operation::PutRule(input) => rules::put_rule(self, ctx, *input),
            Operation::DescribeRule(rule) => rules::describe(self, ctx, &rule),
            Operation::ListRules { bus, prefix, page } => {
                rules::list(self, ctx, &bus, prefix.as_deref(), &page)
            }
            Operation::SetRuleState(rule, enabled) => rules::set_state(self, ctx, &rule, enabled),
            Operation::DeleteRule(rule) => rules::delete(self, ctx, &rule),
            Operation::PutTargets(rule, targets) => rules::put_targets(self, ctx, &rule, targets),
            Operation::RemoveTargets(rule, ids) => rules::remove_targets(self, ctx, &rule, &ids),
            Operation::ListTargetsByRule(rule, page) => rules::list_targets(self, ctx, &rule, &page),
            Operation::ListRuleNamesByTarget { bus, target_arn, page } => {
                rules::names_by_target(self, ctx, &bus, &target_arn, &page)
            }
            Operation::CreateArchive(input) => archives::create(self, ctx, input),
            Operation::UpdateArchive(input) => archives::update(self, ctx, input),
            Operation::DescribeArchive(name) => archives::describe(self, ctx, &name),
            Operation::ListArchives(filter, page) => archives::list(self, ctx, &filter, &page),
            Operation::DeleteArchive(name) => archives::delete(self, ctx, &name),
            Operation::StartReplay(input) => archives::start_replay(self, ctx, *input),
            Operation::DescribeReplay(name) => archives::describe_replay(self, ctx, &name),
            Operation::ListReplays(filter, page) => archives::list_replays(self, ctx, &filter, &page),
            Operation::CancelReplay(name) => archives::cancel_replay(self, ctx, &name),
            Operation::PutEvents(entries) => events::put_events(self, ctx, entries),
            Operation::TestEventPattern { pattern, event } => events::test_pattern(ctx, &pattern, &event),
            Operation::TagResource(arn, tags) => {
                buses::tags(self, ctx, scope, &arn, buses::TagChange::Add(tags))
            }
            Operation::UntagResource(arn, keys) => {
                buses::tags(self, ctx, scope, &arn, buses::TagChange::Remove(keys))
            }
            Operation::ListTagsForResource(arn) => {
                buses::tags(self, ctx, scope, &arn, buses::TagChange::List)
            }
            Operation::PutPermission(bus, permission) => buses::put_permission(self, ctx, &bus, permission),
            Operation::RemovePermission { bus, statement_id, all } => {
                buses::remove_permission(self, ctx, &bus, statement_id.as_deref(), all)
            }
            Operation::CreateConnection(input) => connections::create_connection(self, ctx, *input),
            Operation::UpdateConnection(input) => connections::update_connection(self, ctx, *input),
            Operation::DescribeConnection(name) => connections::describe_connection(self, ctx, &name),
            Operation::ListConnections { prefix, state, page } => {
                connections::list_connections(self, ctx, prefix.as_deref(), state.as_deref(), &page)
            }
            Operation::DeleteConnection(name) => connections::delete_connection(self, ctx, &name),
            Operation::DeauthorizeConnection(name) => connections::deauthorize_connection(self, ctx, &name),
            Operation::CreateApiDestination(input) => connections::create_destination(self, ctx, input),
            Operation::UpdateApiDestination(input) => connections::update_destination(self, ctx, input),
            Operation::DescribeApiDestination(name) => connections::describe_destination(self, ctx, &name),
            Operation::ListApiDestinations { prefix, connection_arn, page } => {
                connections::list_destinations(self, ctx, prefix.as_deref(), connection_arn.as_deref(), &page)
            }
            Operation::DeleteApiDestination(name) => connections::delete_destination(self, ctx, &name),
            Operation::NotImplemented(name) => Err(Error::NotImplemented(format!("EventBridge {name}"))),
        }
    }

    /// Every rule of every bus, into the cache and the matchers.
    fn load_rules(&self) -> Result<(), Error> {
        let mut buses = lock(&self.buses);
        for (key, raw) in self.kv.scan_all(model::RULES, storage::KeyRange::all())? {
            let record: RuleRecord = model::decode(&raw)?;
            let bus_key = key.split(|b| *b == b'|').next().unwrap_or_default().to_vec();
            install(buses.entry(bus_key).or_default(), Arc::new(record));
        }
        Ok(())
    }

    /// A rule from the cache.
    pub(crate) fn rule(&self, scope: &Scope, bus: &str, name: &str) -> Option<Arc<RuleRecord>> {
        lock(&self.buses).get(&model::bus_key(scope, bus)).and_then(|b| b.rules.get(name).cloned())
    }

    /// The rules of a bus, by name.
    pub(crate) fn rules_of(&self, scope: &Scope, bus: &str) -> Vec<Arc<RuleRecord>> {
        lock(&self.buses)
            .get(&model::bus_key(scope, bus))
            .map(|b| b.rules.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes a rule through the cache and updates its bus's matcher. Callers hold `writes`.
    pub(crate) fn save_rule(&self, scope: &Scope, record: RuleRecord) -> Result<Arc<RuleRecord>, Error> {
        self.kv.put(
            model::RULES,
            &model::rule_key(scope, &record.bus, &record.name),
            &model::encode(&record),
        )?;
        let record = Arc::new(record);
        install(lock(&self.buses).entry(model::bus_key(scope, &record.bus)).or_default(), record.clone());
        Ok(record)
    }

    /// Drops rules from the cache and their matchers (after the store deleted them).
    pub(crate) fn forget_rules(&self, scope: &Scope, bus: &str, names: &[String]) {
        let mut buses = lock(&self.buses);
        let key = model::bus_key(scope, bus);
        if let Some(b) = buses.get_mut(&key) {
            for name in names {
                b.rules.remove(name);
                b.matcher.remove(name);
            }
            if b.rules.is_empty() {
                buses.remove(&key);
            }
        }
    }

    /// Whether the bus exists: `default` always does.
    pub(crate) fn bus_exists(&self, scope: &Scope, bus: &str) -> Result<bool, Error> {
        Ok(bus == model::DEFAULT_BUS || self.kv.get(model::BUSES, &model::bus_key(scope, bus))?.is_some())
    }

    pub(crate) fn http_client(&self) -> &outbound::Client {
        self.http_client.get().unwrap_or_else(|| outbound::Client::system())
    }

    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

/// Puts a rule in its bus's cache; only enabled rules with a pattern are in the matcher.
fn install(bus: &mut BusRules, record: Arc<RuleRecord>) {
    let pattern =
        record.event_pattern.as_deref().filter(|_| record.enabled()).and_then(|p| Pattern::parse(p).ok());
    match pattern {
        Some(p) => bus.matcher.add(record.name.clone(), p),
        None => {
            bus.matcher.remove(&record.name);
        }
    }
    bus.rules.insert(record.name.clone(), record);
}

#[cfg(test)]
mod tests;
