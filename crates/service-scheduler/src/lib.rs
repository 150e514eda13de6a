//! Amazon EventBridge Scheduler for Nimbus, on rest-json under the signing name `scheduler`:
//! schedules (`at()`, `rate()`, `cron()` in an IANA time zone, with start and end dates,
//! flexible time windows and ActionAfterCompletion), schedule groups with their tags, and
//! durable at-least-once invocation of Lambda functions ([`ports::FunctionInvoker`]), SQS
//! queues ([`ports::QueueSender`]), SNS topics ([`ports::TopicPublisher`]) and event buses
//! ([`ports::EventPublisher`]), with retries and an SQS dead-letter queue.
//!
//! Reading order: `operation.rs` (request → [`Operation`]), `schedules.rs` (the API),
//! `expression.rs` (when a schedule fires), `worker.rs` (firing and delivery), `model.rs`
//! (records and keys).
//!
//! Durability: a schedule's next firing is stored with it and indexed by due time; firing commits
//! the invocation, the schedule's following firing (or its completion) and the index in one
//! batch, and a separate queue hands invocations to targets until they accept them. A firing
//! that fell due while Nimbus was down fires once when it starts again (as a missed window
//! would on AWS); the windows after it are not made up, the schedule resumes at its next time.

mod error;
pub mod expression;
mod model;
mod operation;
mod schedules;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use ports::{EventPublisher, FunctionInvoker, QueueSender, TopicPublisher};
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response};
use storage::{Kv, Store};
use tokio::sync::Notify;
use types::Clock;

pub use error::Error;
pub use operation::Operation;

/// The service's settings; [`SchedulerConfig::default`] has Scheduler's behaviour.
#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// The wait before the first retry of an invocation its target could not take; doubled per
    /// attempt.
    pub retry_base: Duration,
    /// The longest wait between two attempts.
    pub max_retry_delay: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig { retry_base: Duration::from_secs(1), max_retry_delay: Duration::from_secs(180) }
    }
}

/// The Scheduler service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct SchedulerService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SchedulerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerService").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    invoker: OnceLock<Arc<dyn FunctionInvoker>>,
    queues: OnceLock<Arc<dyn QueueSender>>,
    topics: OnceLock<Arc<dyn TopicPublisher>>,
    buses: OnceLock<Arc<dyn EventPublisher>>,
    /// Serializes read-modify-writes of schedule and group records, the worker's included.
    writes: Mutex<()>,
    wake: Notify,
    stopped: AtomicBool,
}

impl SchedulerService {
    /// Builds the service. Give it its targets with the `set_*` methods, then call
    /// [`SchedulerService::start`] from inside the async runtime.
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: SchedulerConfig) -> SchedulerService {
        let inner = Inner {
            kv: store.kv,
            clock,
            config,
            invoker: OnceLock::new(),
            queues: OnceLock::new(),
            topics: OnceLock::new(),
            buses: OnceLock::new(),
            writes: Mutex::new(()),
            wake: Notify::new(),
            stopped: AtomicBool::new(false),
        };
        SchedulerService { inner: Arc::new(inner) }
    }

    /// Lambda, for function targets. The first call wins.
    pub fn set_function_invoker(&self, invoker: Arc<dyn FunctionInvoker>) {
        let _ = self.inner.invoker.set(invoker);
    }

    /// SQS, for queue targets and dead-letter queues. The first call wins.
    pub fn set_queue_sender(&self, sender: Arc<dyn QueueSender>) {
        let _ = self.inner.queues.set(sender);
    }

    /// SNS, for topic targets. The first call wins.
    pub fn set_topic_publisher(&self, publisher: Arc<dyn TopicPublisher>) {
        let _ = self.inner.topics.set(publisher);
    }

    /// EventBridge, for event bus targets. The first call wins.
    pub fn set_event_publisher(&self, publisher: Arc<dyn EventPublisher>) {
        let _ = self.inner.buses.set(publisher);
    }

    /// Starts the worker: firings due (including those that fell due while Nimbus was down) and
    /// invocations accepted before a restart. Must be called inside a tokio runtime.
    pub fn start(&self) {
        worker::start(self.inner.clone());
    }

    /// Stops the worker; what is due stays for the next start.
    pub fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        self.inner.wake.notify_one();
    }

    /// Fires what is due and hands due invocations to their targets once, now; returns how
    /// many invocations were attempted. For tests that drive the clock.
    pub fn run_once(&self) -> Result<usize, Error> {
        worker::fire_due(&self.inner)?;
        worker::deliver_due(&self.inner).map(|(attempted, _)| attempted)
    }

    async fn handle(&self, ctx: RequestContext, req: Request) -> Response {
        let result = match Operation::parse(&req) {
            Ok(op) => self.inner.act(&ctx, op),
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| e.into_response(&ctx))
    }
}

impl AwsService for SchedulerService {
    fn signing_name(&self) -> &'static str {
        "scheduler"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(self.handle(ctx, req))
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// The one dispatch from operation to handler.
    fn act(&self, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
        use Operation as O;
        match op {
            O::CreateSchedule(name, input) => schedules::create(self, ctx, &name, *input),
            O::UpdateSchedule(name, input) => schedules::update(self, ctx, &name, *input),
            O::GetSchedule { name, group } => schedules::get(self, ctx, &name, group.as_deref()),
            O::DeleteSchedule { name, group } => schedules::delete(self, ctx, &name, group.as_deref()),
            O::ListSchedules(filter) => schedules::list(self, ctx, &filter),
            O::CreateScheduleGroup(name, tags) => schedules::create_group(self, ctx, &name, tags),
            O::GetScheduleGroup(name) => schedules::get_group(self, ctx, &name),
            O::DeleteScheduleGroup(name) => schedules::delete_group(self, ctx, &name),
            O::ListScheduleGroups(filter) => schedules::list_groups(self, ctx, &filter),
            O::TagResource(arn, tags) => schedules::tags(self, ctx, &arn, schedules::TagChange::Add(tags)),
            O::UntagResource(arn, keys) => {
                schedules::tags(self, ctx, &arn, schedules::TagChange::Remove(keys))
            }
            O::ListTagsForResource(arn) => schedules::tags(self, ctx, &arn, schedules::TagChange::List),
        }
    }

    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests;
