//! AWS Lambda for Nimbus, on rest-json: the control plane (functions, versions, aliases,
//! reserved concurrency, event-invoke configs, resource policies, tags, account settings), the
//! Invoke API and the durable queue of asynchronous invocations. Functions run in
//! [`runtime::RuntimeManager`] environments; this crate decides *whether* and *where* an invoke
//! runs (which version, under which concurrency), the runtime crate *how*.
//!
//! Reading order: `operation.rs` (request → [`Operation`]), `functions.rs` (the control plane),
//! `invoke.rs` (sync, dry-run and event invokes), `concurrency.rs` (counting and throttling),
//! `queue.rs` (the async queue, retries and destinations), `esm/` (event source mappings and
//! their SQS and DynamoDB stream pollers), `model.rs` (records and keys).
//!
//! Records are cached in memory, write-through: one Nimbus process owns its data dir (the
//! storage engine locks it), so the cache can never be stale. Control-plane writes are
//! serialized by one lock; invokes only read.

mod code;
mod concurrency;
mod error;
mod esm;
mod functions;
mod invoke;
mod layer_policy;
mod layers;
mod model;
mod names;
mod operation;
mod ports;
mod provisioned;
mod queue;
mod render;
mod routes;
mod s3code;
mod settings;
mod stream;
mod url;
mod usage;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use protocol::{Answer, AwsService, BoxFuture, Protocol, Request, RequestContext, Response};
use runtime::RuntimeManager;
use storage::{Kv, Store};
use types::{Clock, Scope};

pub use error::Error;
pub use operation::Operation;
pub use usage::{FunctionUsage, InvocationRecord};

use code::CodeStore;
use concurrency::Concurrency;
use model::FunctionRecord;

/// The service's settings; [`LambdaConfig::new`] has Lambda's defaults.
#[derive(Clone, Debug)]
pub struct LambdaConfig {
    /// Unpacked deployment packages are cached under `work_dir/code`.
    pub work_dir: PathBuf,
    /// Concurrent executions per account and region (Lambda's default quota: 1,000).
    pub account_concurrency: u32,
    /// How long an asynchronous event waits before retry `n` (n = 1, 2): `n × retry_base`.
    /// Lambda waits about one minute, then two.
    pub retry_base: Duration,
    /// The first wait of a throttled asynchronous event; doubled per throttle up to 5 minutes.
    pub throttle_backoff: Duration,
    /// The base URL clients reach Nimbus at, for `Code.Location` in `GetFunction`.
    pub endpoint_url: String,
}

impl LambdaConfig {
    pub fn new(work_dir: impl Into<PathBuf>) -> LambdaConfig {
        LambdaConfig {
            work_dir: work_dir.into(),
            account_concurrency: 1000,
            retry_base: Duration::from_secs(60),
            throttle_backoff: Duration::from_secs(1),
            endpoint_url: "http://127.0.0.1:4566".to_owned(),
        }
    }
}

/// The Lambda service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct LambdaService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LambdaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaService").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    code: CodeStore,
    clock: Arc<dyn Clock>,
    runtime: Arc<RuntimeManager>,
    config: LambdaConfig,
    cache: Mutex<HashMap<Vec<u8>, Arc<FunctionRecord>>>,
    /// Serializes control-plane read-modify-writes of function records.
    writes: Mutex<()>,
    concurrency: Concurrency,
    queue: queue::Queue,
    usage: usage::Usage,
    /// SQS, for destinations; wired by the server after both services exist.
    queue_sender: std::sync::OnceLock<Arc<dyn ::ports::QueueSender>>,
    /// SNS and EventBridge, for destinations.
    topic_publisher: std::sync::OnceLock<Arc<dyn ::ports::TopicPublisher>>,
    event_publisher: std::sync::OnceLock<Arc<dyn ::ports::EventPublisher>>,
    /// SQS and DynamoDB Streams, for event source mappings; wired by the server.
    queue_receiver: std::sync::OnceLock<Arc<dyn ::ports::QueueReceiver>>,
    stream_reader: std::sync::OnceLock<Arc<dyn ::ports::StreamReader>>,
    /// S3, for code and layer contents given as `S3Bucket`/`S3Key`.
    object_reader: std::sync::OnceLock<Arc<dyn ::ports::ObjectReader>>,
    /// Where each invocation's span goes.
    traces: std::sync::OnceLock<Arc<dyn ::ports::TraceRecorder>>,
    /// Where each finished invocation goes, with its REPORT figures (for the console).
    invocations: std::sync::OnceLock<Arc<dyn ::ports::InvocationRecorder>>,
    /// The running event source mapping pollers.
    pollers: esm::Pollers,
    /// Function URL ids → the function they invoke, for the data plane.
    urls: Mutex<HashMap<String, url::UrlTarget>>,
    /// Where provisioning of each `account/region/name/qualifier` stands (see `provisioned.rs`).
    provisioning: Mutex<HashMap<String, provisioned::Progress>>,
}

impl LambdaService {
    /// Builds the service; reserved concurrency is read back from the store so that limits hold
    /// across restarts. Call [`LambdaService::start`] from inside the async runtime to run the
    /// asynchronous queue.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        runtime: Arc<RuntimeManager>,
        config: LambdaConfig,
    ) -> Result<LambdaService, Error> {
        let code = CodeStore::new(store.blobs.clone(), config.work_dir.join("code"));
        std::fs::create_dir_all(config.work_dir.join("code")).map_err(|e| {
            Error::ServiceException(format!("cannot create {}: {e}", config.work_dir.display()))
        })?;
        let concurrency = Concurrency::new(config.account_concurrency);
        let inner = Inner {
            kv: store.kv,
            code,
            clock,
            runtime,
            config,
            cache: Mutex::new(HashMap::new()),
            writes: Mutex::new(()),
            concurrency,
            queue: queue::Queue::new(),
            provisioning: Mutex::new(HashMap::new()),
            usage: usage::Usage::default(),
            urls: Mutex::new(HashMap::new()),
            queue_sender: std::sync::OnceLock::new(),
            topic_publisher: std::sync::OnceLock::new(),
            event_publisher: std::sync::OnceLock::new(),
            queue_receiver: std::sync::OnceLock::new(),
            stream_reader: std::sync::OnceLock::new(),
            object_reader: std::sync::OnceLock::new(),
            traces: std::sync::OnceLock::new(),
            invocations: std::sync::OnceLock::new(),
            pollers: esm::Pollers::default(),
        };
        inner.load_indexes()?;
        Ok(LambdaService { inner: Arc::new(inner) })
    }

    /// Lets asynchronous invocations deliver OnSuccess/OnFailure records to SQS queues.
    pub fn set_queue_sender(&self, sender: Arc<dyn ::ports::QueueSender>) {
        let _ = self.inner.queue_sender.set(sender);
    }

    /// Lets asynchronous invocations deliver OnSuccess/OnFailure records to SNS topics.
    pub fn set_topic_publisher(&self, publisher: Arc<dyn ::ports::TopicPublisher>) {
        let _ = self.inner.topic_publisher.set(publisher);
    }

    /// Lets asynchronous invocations deliver OnSuccess/OnFailure records to EventBridge buses.
    pub fn set_event_publisher(&self, publisher: Arc<dyn ::ports::EventPublisher>) {
        let _ = self.inner.event_publisher.set(publisher);
    }

    /// Lets event source mappings poll SQS queues.
    pub fn set_queue_receiver(&self, receiver: Arc<dyn ::ports::QueueReceiver>) {
        let _ = self.inner.queue_receiver.set(receiver);
    }

    /// Lets event source mappings read DynamoDB streams.
    pub fn set_stream_reader(&self, reader: Arc<dyn ::ports::StreamReader>) {
        let _ = self.inner.stream_reader.set(reader);
    }

    /// Lets functions and layers take their code from S3 objects.
    pub fn set_object_reader(&self, reader: Arc<dyn ::ports::ObjectReader>) {
        let _ = self.inner.object_reader.set(reader);
    }

    /// Records a span for every invocation (with its trace, cold or warm, request id).
    pub fn set_trace_recorder(&self, recorder: Arc<dyn ::ports::TraceRecorder>) {
        let _ = self.inner.traces.set(recorder);
    }

    /// Hands every finished invocation (REPORT figures, trace, concurrency) to `recorder`.
    pub fn set_invocation_recorder(&self, recorder: Arc<dyn ::ports::InvocationRecorder>) {
        let _ = self.inner.invocations.set(recorder);
    }

    /// Starts the worker that delivers asynchronous invocations (including those accepted
    /// before a restart) and the pollers of every enabled event source mapping (which wait for
    /// their source's port if it is wired later). Must be called inside a tokio runtime.
    pub fn start(&self) {
        queue::start(self.inner.clone());
        provisioned::restore(&self.inner);
        esm::restore(&self.inner);
    }

    /// Invocation totals and recent invocations of every function of `scope` that ran since
    /// the server started.
    pub fn usage(&self, scope: &Scope) -> Vec<FunctionUsage> {
        self.inner.usage.snapshot(&format!("arn:aws:lambda:{}:{}:function:", scope.region, scope.account))
    }

    /// Stops the queue worker and every execution environment.
    pub async fn shutdown(&self) {
        self.inner.queue.stop();
        self.inner.pollers.stop_all();
        self.inner.runtime.shutdown().await;
    }

    /// Function URLs and InvokeWithResponseStream may answer while the function still writes.
    async fn handle(&self, ctx: RequestContext, req: Request) -> Answer {
        if let Some(url_id) = url::url_id_of(&req) {
            return url::serve(&self.inner, &ctx, &url_id, req).await;
        }
        let result = match Operation::parse(&req) {
            Ok(Operation::InvokeWithResponseStream(t, input)) => {
                match stream::invoke_with_response_stream(&self.inner, &ctx, t, *input).await {
                    Ok(answer) => return answer,
                    Err(e) => Err(e),
                }
            }
            Ok(op) => self.inner.clone().act(&ctx, op).await,
            Err(Error::UnknownOperationException) if req.method() == http::Method::GET => {
                match functions::code_download(&self.inner, &ctx, req.uri().path()) {
                    Some(resp) => Ok(resp),
                    None => Err(Error::UnknownOperationException),
                }
            }
            Err(e) => Err(e),
        };
        Answer::Whole(result.unwrap_or_else(|e| e.into_response(&ctx)))
    }
}

impl AwsService for LambdaService {
    fn signing_name(&self) -> &'static str {
        "lambda"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            match self.handle(ctx, req).await {
                Answer::Whole(resp) => resp,
                Answer::Streamed(resp) => stream::collect(resp).await,
            }
        })
    }

    fn answer(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Answer> {
        Box::pin(self.handle(ctx, req))
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// The one dispatch from operation to handler.
    async fn act(self: Arc<Self>, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
        let env = functions::Env { svc: &self, ctx, scope: &ctx.scope };
        match op {
            Operation::CreateFunction(input) => env.create_function(*input),
            Operation::GetFunction(t) => env.get_function(&t),
            Operation::GetFunctionConfiguration(t) => env.get_function_configuration(&t),
            Operation::ListFunctions(page) => env.list_functions(&page),
            Operation::DeleteFunction(t) => env.delete_function(&t),
            Operation::UpdateFunctionCode(t, input) => env.update_function_code(&t, *input),
            Operation::UpdateFunctionConfiguration(t, input) => env.update_function_configuration(&t, *input),
            Operation::PublishVersion(t, input) => env.publish_version(&t, input),
            Operation::ListVersionsByFunction(t, page) => env.list_versions(&t, &page),
            Operation::CreateAlias(t, input) => env.create_alias(&t, input),
            Operation::GetAlias(t, name) => env.get_alias(&t, &name),
            Operation::UpdateAlias(t, name, input) => env.update_alias(&t, &name, input),
            Operation::DeleteAlias(t, name) => env.delete_alias(&t, &name),
            Operation::ListAliases(t, version, page) => env.list_aliases(&t, version.as_deref(), &page),
            Operation::PutFunctionConcurrency(t, input) => env.put_concurrency(&t, input),
            Operation::GetFunctionConcurrency(t) => env.get_concurrency(&t),
            Operation::DeleteFunctionConcurrency(t) => env.delete_concurrency(&t),
            Operation::PutFunctionEventInvokeConfig { target, input, replace } => {
                env.put_event_invoke_config(&target, input, replace)
            }
            Operation::GetFunctionEventInvokeConfig(t) => env.get_event_invoke_config(&t),
            Operation::DeleteFunctionEventInvokeConfig(t) => env.delete_event_invoke_config(&t),
            Operation::ListFunctionEventInvokeConfigs(t, page) => env.list_event_invoke_configs(&t, &page),
            Operation::AddPermission(t, input) => env.add_permission(&t, *input),
            Operation::RemovePermission(t, sid, revision) => env.remove_permission(&t, &sid, revision),
            Operation::GetPolicy(t) => env.get_policy(&t),
            Operation::TagResource(arn, tags) => env.tag_resource(&arn, tags),
            Operation::UntagResource(arn, keys) => env.untag_resource(&arn, &keys),
            Operation::ListTags(arn) => env.list_tags(&arn),
            Operation::PutProvisionedConcurrencyConfig(t, input) => provisioned::put(&self, &env, &t, input),
            Operation::GetProvisionedConcurrencyConfig(t) => provisioned::get(&env, &t),
            Operation::DeleteProvisionedConcurrencyConfig(t) => provisioned::delete(&self, &env, &t),
            Operation::ListProvisionedConcurrencyConfigs(t, page) => provisioned::list(&env, &t, &page),
            Operation::PublishLayerVersion(name, input) => env.publish_layer_version(&name, input),
            Operation::GetLayerVersion(name, n) => env.get_layer_version(&name, n),
            Operation::GetLayerVersionByArn(arn) => env.get_layer_version_by_arn(&arn),
            Operation::DeleteLayerVersion(name, n) => env.delete_layer_version(&name, n),
            Operation::ListLayerVersions(name, page, filter) => {
                env.list_layer_versions(&name, &page, &filter)
            }
            Operation::ListLayers(page, filter) => env.list_layers(&page, &filter),
            Operation::AddLayerVersionPermission { layer, version, input, revision_id } => {
                env.add_layer_version_permission(&layer, version, input, revision_id.as_deref())
            }
            Operation::GetLayerVersionPolicy(layer, version) => env.get_layer_version_policy(&layer, version),
            Operation::RemoveLayerVersionPermission { layer, version, statement_id, revision_id } => {
                env.remove_layer_version_permission(&layer, version, &statement_id, revision_id.as_deref())
            }
            Operation::CreateFunctionUrlConfig(t, input) => env.create_url(&t, input),
            Operation::GetFunctionUrlConfig(t) => env.get_url(&t),
            Operation::UpdateFunctionUrlConfig(t, input) => env.update_url(&t, input),
            Operation::DeleteFunctionUrlConfig(t) => env.delete_url(&t),
            Operation::ListFunctionUrlConfigs(t, page) => env.list_urls(&t, &page),
            Operation::GetAccountSettings => env.account_settings(),
            Operation::CreateEventSourceMapping(input) => esm::create(&self, &env, *input),
            Operation::GetEventSourceMapping(uuid) => env.get_mapping(&uuid),
            Operation::UpdateEventSourceMapping(uuid, input) => esm::update(&self, &env, &uuid, *input),
            Operation::DeleteEventSourceMapping(uuid) => esm::delete(&self, &env, &uuid),
            Operation::ListEventSourceMappings { function, source, page } => {
                env.list_mappings(function.as_deref(), source.as_deref(), &page)
            }
            Operation::Invoke(t, input) => invoke::invoke(&self, ctx, t, *input).await,
            Operation::InvokeWithResponseStream(t, input) => {
                match stream::invoke_with_response_stream(&self, ctx, t, *input).await? {
                    Answer::Whole(resp) => Ok(resp),
                    Answer::Streamed(resp) => Ok(stream::collect(resp).await),
                }
            }
            Operation::InvokeAsync(t, payload) => invoke::invoke_async_legacy(&self, ctx, t, payload),
            Operation::NotImplemented(name) => Err(Error::NotImplemented(format!("Lambda {name}"))),
        }
    }

    /// A function record, from the cache or the store.
    pub(crate) fn load(&self, scope: &Scope, name: &str) -> Result<Option<Arc<FunctionRecord>>, Error> {
        let key = model::function_key(scope, name);
        if let Some(r) = lock(&self.cache).get(&key) {
            return Ok(Some(r.clone()));
        }
        let Some(raw) = self.kv.get(model::FUNCTIONS, &key)? else { return Ok(None) };
        let record = Arc::new(model::decode::<FunctionRecord>(&raw)?);
        lock(&self.cache).insert(key, record.clone());
        Ok(Some(record))
    }

    /// Writes a record through the cache. Callers hold `writes`.
    pub(crate) fn save(&self, scope: &Scope, record: FunctionRecord) -> Result<Arc<FunctionRecord>, Error> {
        let key = model::function_key(scope, &record.name);
        self.kv.put(model::FUNCTIONS, &key, &model::encode(&record))?;
        let record = Arc::new(record);
        lock(&self.cache).insert(key, record.clone());
        Ok(record)
    }

    pub(crate) fn remove(&self, scope: &Scope, name: &str) -> Result<(), Error> {
        let key = model::function_key(scope, name);
        self.kv.delete(model::FUNCTIONS, &key)?;
        lock(&self.cache).remove(&key);
        Ok(())
    }

    /// What the in-memory indexes hold, from the store: reserved concurrency of every function
    /// (the counters) and every function URL (the data plane's lookup).
    fn load_indexes(&self) -> Result<(), Error> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let range = match &after {
                None => storage::KeyRange::all(),
                Some(k) => storage::KeyRange::from(std::ops::Bound::Excluded(k.clone())),
            };
            let entries = self.kv.scan(model::FUNCTIONS, range, 256)?;
            let Some(last) = entries.last() else { return Ok(()) };
            after = Some(last.0.clone());
            for e in &entries {
                let record: FunctionRecord = model::decode(&e.1)?;
                let key = String::from_utf8_lossy(&e.0).into_owned();
                if let Some(n) = record.reserved_concurrency {
                    self.concurrency.reserve(&key, Some(n));
                }
                let mut parts = key.splitn(3, '/');
                if let (Some(account), Some(region)) = (parts.next(), parts.next())
                    && let (Some(account), Some(region)) =
                        (types::AccountId::parse(account), types::Region::parse(region))
                {
                    let scope = Scope { account, region };
                    for (q, c) in &record.urls {
                        let target = url::UrlTarget {
                            scope: scope.clone(),
                            function: record.name.clone(),
                            qualifier: q.clone(),
                        };
                        lock(&self.urls).insert(c.url_id.clone(), target);
                    }
                }
            }
        }
    }

    pub(crate) fn traces(&self) -> &dyn ::ports::TraceRecorder {
        self.traces.get().map_or(&::ports::NoTraces, |t| t.as_ref())
    }

    pub(crate) fn invocations(&self) -> &dyn ::ports::InvocationRecorder {
        self.invocations.get().map_or(&::ports::NoInvocations, |r| r.as_ref())
    }

    pub(crate) fn now_ms(&self) -> i64 {
        let now = self.clock.now();
        i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }
}
