//! Event source mappings: the control plane (Create/Get/Update/Delete/ListEventSourceMappings)
//! and one poller per enabled mapping (`sqs.rs` for queues, `stream.rs` for DynamoDB streams).
//!
//! Records live in `lambda.esm`, keyed `{account}/{region}/{UUID}`; a stream mapping's checkpoint
//! (the sequence number it has processed up to, empty for the start of the stream) lives under
//! the same key in `lambda.esm.checkpoints`, written after each batch it finished, so both survive
//! a restart and `start` resumes every enabled mapping where it stood. A mapping moves
//! Creating → Enabled/Disabled, Enabling/Disabling/Updating → Enabled/Disabled, and answers
//! Deleting when deleted, as Lambda reports it: the transitional state is what the request
//! returns, the settled one is written once the poller has (re)started.
//!
//! Pollers invoke the function through the same synchronous path as `ports::FunctionInvoker`,
//! so their invocations count against concurrency and are logged like any other.

mod filter;
mod sqs;
mod stream;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::StatusCode;
use protocol::{RequestContext, Response, rest::json_response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use storage::KeyRange;
use tokio::sync::Notify;
use types::Scope;

use crate::error::Error;
use crate::functions::Env;
use crate::model::{SCHEMA_VERSION, Versioned, decode, encode, scope_prefix};
use crate::names::{FunctionRef, function_not_found, qualified_arn};
use crate::operation::Page;
use crate::{Inner, lock};

pub const MAPPINGS: &str = "lambda.esm";
pub const CHECKPOINTS: &str = "lambda.esm.checkpoints";

/// Where a mapping reads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    Sqs,
    DynamoDbStream,
}

/// One event source mapping as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MappingRecord {
    pub v: u32,
    pub uuid: String,
    pub account: String,
    pub region: String,
    pub source_arn: String,
    pub source: SourceKind,
    /// The function's ARN, qualified when the mapping names a version or alias.
    pub function_arn: String,
    pub enabled: bool,
    pub state: String,
    pub batch_size: u32,
    pub window: Option<u32>,
    pub starting_position: Option<String>,
    pub starting_timestamp: Option<f64>,
    /// The filter patterns (`FilterCriteria.Filters[].Pattern`), as given.
    pub filters: Option<Vec<String>>,
    pub response_types: Vec<String>,
    pub max_concurrency: Option<u32>,
    pub bisect: bool,
    pub max_retries: i64,
    pub max_record_age: i64,
    pub parallelization: u32,
    pub tumbling: u32,
    pub on_failure: Option<String>,
    /// Unix seconds.
    pub last_modified: f64,
    pub tags: BTreeMap<String, String>,
}

impl Versioned for MappingRecord {
    fn schema_version(&self) -> u32 {
        self.v
    }
}

impl MappingRecord {
    fn key(&self) -> Vec<u8> {
        let mut key = format!("{}/{}/", self.account, self.region).into_bytes();
        key.extend_from_slice(self.uuid.as_bytes());
        key
    }

    fn reports_item_failures(&self) -> bool {
        self.response_types.iter().any(|t| t == "ReportBatchItemFailures")
    }

    /// The mapping as the API returns it, for an SQS or a stream source; `result` is how its
    /// last batch went, if it processed one since the server started.
    fn render(&self, result: Option<&str>) -> Value {
        let arn =
            format!("arn:aws:lambda:{}:{}:event-source-mapping:{}", self.region, self.account, self.uuid);
        let mut out = json!({
            "UUID": self.uuid,
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.window.unwrap_or(0),
            "EventSourceArn": self.source_arn,
            "FunctionArn": self.function_arn,
            "LastModified": self.last_modified,
            "State": self.state,
            "StateTransitionReason": "USER_INITIATED",
            "FunctionResponseTypes": self.response_types,
            "EventSourceMappingArn": arn,
        });
        if let Some(filters) = &self.filters {
            let list: Vec<Value> = filters.iter().map(|p| json!({ "Pattern": p })).collect();
            out["FilterCriteria"] = json!({ "Filters": list });
        }
        match self.source {
            SourceKind::Sqs => {
                if let Some(n) = self.max_concurrency {
                    out["ScalingConfig"] = json!({ "MaximumConcurrency": n });
                }
            }
            SourceKind::DynamoDbStream => {
                out["StartingPosition"] = json!(self.starting_position);
                if let Some(t) = self.starting_timestamp {
                    out["StartingPositionTimestamp"] = json!(t);
                }
                out["ParallelizationFactor"] = json!(self.parallelization);
                out["LastProcessingResult"] = json!(result.unwrap_or("No records processed"));
                out["MaximumRecordAgeInSeconds"] = json!(self.max_record_age);
                out["BisectBatchOnFunctionError"] = json!(self.bisect);
                out["MaximumRetryAttempts"] = json!(self.max_retries);
                out["TumblingWindowInSeconds"] = json!(self.tumbling);
                let on_failure = match &self.on_failure {
                    Some(d) => json!({ "Destination": d }),
                    None => json!({}),
                };
                out["DestinationConfig"] = json!({ "OnFailure": on_failure });
            }
        }
        out
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FilterInput {
    pub pattern: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FilterCriteriaInput {
    pub filters: Option<Vec<FilterInput>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DestinationInput {
    pub destination: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DestinationConfigInput {
    pub on_failure: Option<DestinationInput>,
    pub on_success: Option<DestinationInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ScalingInput {
    pub maximum_concurrency: Option<i64>,
}

/// CreateEventSourceMapping's and UpdateEventSourceMapping's body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MappingInput {
    pub event_source_arn: Option<String>,
    pub function_name: Option<String>,
    pub enabled: Option<bool>,
    pub batch_size: Option<i64>,
    pub filter_criteria: Option<FilterCriteriaInput>,
    pub maximum_batching_window_in_seconds: Option<i64>,
    pub parallelization_factor: Option<i64>,
    pub starting_position: Option<String>,
    pub starting_position_timestamp: Option<f64>,
    pub destination_config: Option<DestinationConfigInput>,
    pub maximum_record_age_in_seconds: Option<i64>,
    pub bisect_batch_on_function_error: Option<bool>,
    pub maximum_retry_attempts: Option<i64>,
    pub tumbling_window_in_seconds: Option<i64>,
    pub function_response_types: Option<Vec<String>>,
    pub scaling_config: Option<ScalingInput>,
    pub tags: Option<BTreeMap<String, String>>,
    /// Members of sources Nimbus does not poll (Kafka, MQ, DocumentDB) or features it does not
    /// have; any of them present answers `NotImplemented`.
    pub topics: Option<Value>,
    pub queues: Option<Value>,
    pub source_access_configurations: Option<Value>,
    pub self_managed_event_source: Option<Value>,
    pub amazon_managed_kafka_event_source_config: Option<Value>,
    pub self_managed_kafka_event_source_config: Option<Value>,
    pub document_d_b_event_source_config: Option<Value>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<Value>,
    pub metrics_config: Option<Value>,
    pub logging_config: Option<Value>,
    pub provisioned_poller_config: Option<Value>,
}

impl MappingInput {
    fn unsupported(&self) -> Option<&'static str> {
        [
            (self.topics.is_some(), "Topics"),
            (self.queues.is_some(), "Queues"),
            (self.source_access_configurations.is_some(), "SourceAccessConfigurations"),
            (self.self_managed_event_source.is_some(), "SelfManagedEventSource"),
            (self.amazon_managed_kafka_event_source_config.is_some(), "AmazonManagedKafkaEventSourceConfig"),
            (self.self_managed_kafka_event_source_config.is_some(), "SelfManagedKafkaEventSourceConfig"),
            (self.document_d_b_event_source_config.is_some(), "DocumentDBEventSourceConfig"),
            (self.kms_key_arn.is_some(), "KMSKeyArn"),
            (self.metrics_config.is_some(), "MetricsConfig"),
            (self.provisioned_poller_config.is_some(), "ProvisionedPollerConfig"),
        ]
        .into_iter()
        .find_map(|(present, name)| present.then_some(name))
    }

    /// The model's range constraints, in the model's member order.
    fn check_ranges(&self) -> Result<(), Error> {
        let ranges: [(&str, Option<i64>, i64, i64); 7] = [
            ("batchSize", self.batch_size, 1, 10_000),
            ("maximumBatchingWindowInSeconds", self.maximum_batching_window_in_seconds, 0, 300),
            ("parallelizationFactor", self.parallelization_factor, 1, 10),
            ("maximumRecordAgeInSeconds", self.maximum_record_age_in_seconds, -1, 604_800),
            ("maximumRetryAttempts", self.maximum_retry_attempts, -1, 10_000),
            ("tumblingWindowInSeconds", self.tumbling_window_in_seconds, 0, 900),
            (
                "scalingConfig.maximumConcurrency",
                self.scaling_config.as_ref().and_then(|s| s.maximum_concurrency),
                2,
                1000,
            ),
        ];
        for (member, value, min, max) in ranges {
            let Some(v) = value else { continue };
            if v < min {
                return Err(Error::validation(
                    member,
                    &v.to_string(),
                    &format!("Member must have value greater than or equal to {min}"),
                ));
            }
            if v > max {
                return Err(Error::validation(
                    member,
                    &v.to_string(),
                    &format!("Member must have value less than or equal to {max}"),
                ));
            }
        }
        if let Some(p) = &self.starting_position
            && !["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"].contains(&p.as_str())
        {
            return Err(Error::validation(
                "startingPosition",
                p,
                "Member must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]",
            ));
        }
        if let Some(types) = &self.function_response_types {
            if types.len() > 1 {
                return Err(Error::validation(
                    "functionResponseTypes",
                    &format!("{types:?}"),
                    "Member must have length less than or equal to 1",
                ));
            }
            if let Some(t) = types.iter().find(|t| *t != "ReportBatchItemFailures") {
                return Err(Error::validation(
                    "functionResponseTypes",
                    &format!("[{t}]"),
                    "Member must satisfy enum value set: [ReportBatchItemFailures]",
                ));
            }
        }
        Ok(())
    }
}

/// A stop signal a poller checks between batches and while it waits.
#[derive(Debug, Default)]
pub struct Stop {
    stopped: AtomicBool,
    notify: Notify,
}

impl Stop {
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Resolves once the poller is stopped.
    pub async fn stopped(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    /// Sleeps up to `d`; returns false if stopped meanwhile.
    pub async fn sleep(&self, d: std::time::Duration) -> bool {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_stopped() {
            return false;
        }
        let _ = tokio::time::timeout(d, notified).await;
        !self.is_stopped()
    }
}

/// The pollers running now, and how each mapping's last batch went, by mapping key.
#[derive(Debug, Default)]
pub struct Pollers {
    running: std::sync::Mutex<HashMap<Vec<u8>, Arc<Stop>>>,
    results: std::sync::Mutex<HashMap<Vec<u8>, &'static str>>,
}

impl Pollers {
    /// Notes how a mapping's last batch went (`LastProcessingResult`).
    pub fn record_result(&self, key: &[u8], result: &'static str) {
        lock(&self.results).insert(key.to_vec(), result);
    }

    fn result(&self, key: &[u8]) -> Option<&'static str> {
        lock(&self.results).get(key).copied()
    }

    fn stop(&self, key: &[u8]) {
        if let Some(stop) = lock(&self.running).remove(key) {
            stop.stop();
        }
    }

    pub fn stop_all(&self) {
        for (_, stop) in lock(&self.running).drain() {
            stop.stop();
        }
    }
}

fn not_found() -> Error {
    Error::not_found("The resource you requested does not exist.")
}

fn mapping_key(scope: &Scope, uuid: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(uuid.as_bytes());
    key
}

fn accepted(body: &Value, ctx: &RequestContext) -> Response {
    json_response(StatusCode::ACCEPTED, body, ctx.request_id.as_str())
}

fn source_kind(arn: &str) -> Result<SourceKind, Error> {
    let service = arn.split(':').nth(2).unwrap_or_default();
    match service {
        "sqs" => Ok(SourceKind::Sqs),
        "dynamodb" if arn.contains("/stream/") => Ok(SourceKind::DynamoDbStream),
        "kinesis" | "kafka" | "mq" | "rds" | "docdb" => {
            Err(Error::NotImplemented(format!("Lambda event source mappings for {service}")))
        }
        _ => Err(Error::invalid("Unrecognized event source.")),
    }
}

impl Inner {
    fn load_mapping(&self, key: &[u8]) -> Result<Option<MappingRecord>, Error> {
        match self.kv.get(MAPPINGS, key)? {
            Some(raw) => Ok(Some(decode(&raw)?)),
            None => Ok(None),
        }
    }

    fn save_mapping(&self, record: &MappingRecord) -> Result<(), Error> {
        self.kv.put(MAPPINGS, &record.key(), &encode(record))?;
        Ok(())
    }

    fn unix_now(&self) -> f64 {
        self.clock.now().unix_timestamp_nanos() as f64 / 1e9
    }
}

/// The function a mapping names, resolved to its (possibly qualified) ARN.
fn function_target(env: &Env<'_>, name: &str) -> Result<String, Error> {
    let fref = FunctionRef::parse(name, 140)?;
    let f = env
        .svc
        .load(env.scope, &fref.name)?
        .ok_or_else(|| function_not_found(env.scope, &fref.name, fref.qualifier.as_deref()))?;
    match fref.qualifier.as_deref() {
        None => Ok(crate::names::function_arn(env.scope, &f.name)),
        Some(q) => {
            crate::invoke::resolve(env.scope, &f, Some(q))?;
            Ok(qualified_arn(env.scope, &f.name, q))
        }
    }
}

fn parse_filters(input: &FilterCriteriaInput) -> Result<Vec<String>, Error> {
    let filters = input.filters.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    for f in filters {
        let pattern = f.pattern.clone().unwrap_or_default();
        filter::Filter::parse(&pattern).map_err(|_| Error::invalid("Invalid filter pattern definition."))?;
        out.push(pattern);
    }
    Ok(out)
}

/// Applies an input's members to a record (creation defaults already set), checking what
/// depends on the kind of source.
fn apply(record: &mut MappingRecord, input: &MappingInput, creating: bool) -> Result<(), Error> {
    if let Some(b) = input.batch_size {
        record.batch_size = u32::try_from(b).unwrap_or(1);
    }
    if let Some(w) = input.maximum_batching_window_in_seconds {
        record.window = Some(u32::try_from(w).unwrap_or(0));
    }
    if let Some(f) = &input.filter_criteria {
        let filters = parse_filters(f)?;
        record.filters = (!filters.is_empty()).then_some(filters);
    }
    if let Some(t) = &input.function_response_types {
        record.response_types = t.clone();
    }
    if let Some(e) = input.enabled {
        record.enabled = e;
    }
    match record.source {
        SourceKind::Sqs => {
            if creating && input.starting_position.is_some() {
                return Err(Error::invalid("StartingPosition is not valid for SQS event sources."));
            }
            if input.destination_config.is_some()
                || input.bisect_batch_on_function_error.is_some()
                || input.maximum_retry_attempts.is_some()
                || input.maximum_record_age_in_seconds.is_some()
                || input.parallelization_factor.is_some()
                || input.tumbling_window_in_seconds.is_some()
            {
                return Err(Error::invalid(
                    "Unsupported MaximumRetryAttempts, MaximumRecordAgeInSeconds, BisectBatchOnFunctionError, ParallelizationFactor, TumblingWindowInSeconds or DestinationConfig parameter for given event source mapping type.",
                ));
            }
            if let Some(s) = &input.scaling_config {
                record.max_concurrency = s.maximum_concurrency.and_then(|n| u32::try_from(n).ok());
            }
            if record.batch_size > 10 && record.window.unwrap_or(0) == 0 {
                return Err(Error::invalid(
                    "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
                ));
            }
        }
        SourceKind::DynamoDbStream => {
            if input.scaling_config.is_some() {
                return Err(Error::invalid(
                    "Unsupported ScalingConfig parameter for given event source mapping type.",
                ));
            }
            if let Some(b) = input.bisect_batch_on_function_error {
                record.bisect = b;
            }
            if let Some(n) = input.maximum_retry_attempts {
                record.max_retries = n;
            }
            if let Some(n) = input.maximum_record_age_in_seconds {
                if (0..60).contains(&n) {
                    return Err(Error::invalid(
                        "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800.",
                    ));
                }
                record.max_record_age = n;
            }
            if let Some(n) = input.parallelization_factor {
                record.parallelization = u32::try_from(n).unwrap_or(1);
            }
            if let Some(n) = input.tumbling_window_in_seconds {
                if n > 0 {
                    return Err(Error::NotImplemented(
                        "Tumbling windows (TumblingWindowInSeconds)".to_owned(),
                    ));
                }
                record.tumbling = 0;
            }
            if let Some(d) = &input.destination_config {
                if d.on_success.as_ref().and_then(|s| s.destination.as_ref()).is_some() {
                    return Err(Error::invalid(
                        "Unsupported OnSuccess destination config for given event source mapping type.",
                    ));
                }
                record.on_failure = d.on_failure.as_ref().and_then(|f| f.destination.clone());
                if let Some(dest) = &record.on_failure
                    && dest.split(':').nth(2) != Some("sqs")
                {
                    return Err(Error::NotImplemented(
                        "OnFailure destinations other than SQS queues for event source mappings".to_owned(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `CreateEventSourceMapping`.
pub fn create(inner: &Arc<Inner>, env: &Env<'_>, input: MappingInput) -> Result<Response, Error> {
    input.check_ranges()?;
    let function_name =
        input.function_name.clone().ok_or_else(|| crate::operation::missing("functionName"))?;
    if let Some(name) = input.unsupported() {
        return Err(Error::NotImplemented(format!("Event source mapping parameter {name}")));
    }
    let source_arn =
        input.event_source_arn.clone().ok_or_else(|| Error::invalid("Unrecognized event source."))?;
    let source = source_kind(&source_arn)?;
    let function_arn = function_target(env, &function_name)?;
    let now = inner.unix_now();
    let mut record = MappingRecord {
        v: SCHEMA_VERSION,
        uuid: uuid::Uuid::new_v4().to_string(),
        account: env.scope.account.as_str().to_owned(),
        region: env.scope.region.as_str().to_owned(),
        source_arn: source_arn.clone(),
        source,
        function_arn,
        enabled: true,
        state: "Creating".to_owned(),
        batch_size: if source == SourceKind::Sqs { 10 } else { 100 },
        window: None,
        starting_position: None,
        starting_timestamp: None,
        filters: None,
        response_types: Vec::new(),
        max_concurrency: None,
        bisect: false,
        max_retries: -1,
        max_record_age: -1,
        parallelization: 1,
        tumbling: 0,
        on_failure: None,
        last_modified: now,
        tags: input.tags.clone().unwrap_or_default(),
    };
    apply(&mut record, &input, true)?;
    let checkpoint = match source {
        SourceKind::Sqs => {
            let receiver = inner
                .queue_receiver
                .get()
                .ok_or_else(|| Error::ServiceException("no SQS receiver is wired into Lambda".to_owned()))?;
            let info = receiver.queue_info(&source_arn).map_err(|_| {
                Error::invalid(
                    "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist for this wsdl version.",
                )
            })?;
            if info.fifo && record.batch_size > 10 {
                return Err(Error::invalid("Batch size for FIFO queues must be less than or equal to 10."));
            }
            None
        }
        SourceKind::DynamoDbStream => {
            let position = input.starting_position.clone().ok_or_else(|| {
                Error::invalid(protocol::validation_message([(
                    "startingPosition",
                    "null",
                    "Member must not be null",
                )]))
            })?;
            let position = match position.as_str() {
                "TRIM_HORIZON" => ports::StreamPosition::TrimHorizon,
                "LATEST" => ports::StreamPosition::Latest,
                _ => ports::StreamPosition::AtTimestamp(
                    input
                        .starting_position_timestamp
                        .ok_or_else(|| Error::invalid("Need to specify a timestamp"))?,
                ),
            };
            record.starting_position = input.starting_position.clone();
            record.starting_timestamp = input.starting_position_timestamp;
            let reader = inner
                .stream_reader
                .get()
                .ok_or_else(|| Error::ServiceException("no stream reader is wired into Lambda".to_owned()))?;
            let checkpoint = reader.checkpoint(&source_arn, &position).map_err(|_| {
                Error::invalid(format!(
                    "Cannot access stream {source_arn}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
                ))
            })?;
            Some(checkpoint.unwrap_or_default())
        }
    };
    let _guard = lock(&inner.writes);
    if let Some(existing) = list_all(inner, env.scope)?
        .into_iter()
        .find(|m| m.source_arn == record.source_arn && m.function_arn == record.function_arn)
    {
        let function = record.function_arn.rsplit(":function:").next().unwrap_or_default();
        let message = match source {
            SourceKind::Sqs => format!(
                "An event source mapping with SQS arn (\" {} \") and function (\" {function} \") already exists. Please update or delete the existing mapping with UUID {}",
                record.source_arn, existing.uuid
            ),
            SourceKind::DynamoDbStream => format!(
                "The event source arn (\" {} \") and function (\" {function} \") provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                record.source_arn, existing.uuid
            ),
        };
        return Err(Error::ResourceConflictException(message));
    }
    if let Some(checkpoint) = &checkpoint {
        inner.kv.put(CHECKPOINTS, &record.key(), checkpoint.as_bytes())?;
    }
    inner.save_mapping(&record)?;
    let body = record.render(None);
    settle(inner, record);
    Ok(accepted(&body, env.ctx))
}

/// Every mapping of a scope, in UUID order.
fn list_all(inner: &Inner, scope: &Scope) -> Result<Vec<MappingRecord>, Error> {
    let entries = inner.kv.scan(MAPPINGS, KeyRange::prefix(scope_prefix(scope)), usize::MAX)?;
    entries.iter().map(|(_, v)| decode::<MappingRecord>(v).map_err(Error::from)).collect()
}

/// Writes the settled state of a mapping and (re)starts its poller if it is enabled.
fn settle(inner: &Arc<Inner>, mut record: MappingRecord) {
    let key = record.key();
    inner.pollers.stop(&key);
    record.state = if record.enabled { "Enabled" } else { "Disabled" }.to_owned();
    if let Err(e) = inner.save_mapping(&record) {
        tracing::error!(error = %e, uuid = %record.uuid, "could not settle an event source mapping");
        return;
    }
    if !record.enabled {
        return;
    }
    let stop = Arc::new(Stop::default());
    lock(&inner.pollers.running).insert(key, stop.clone());
    let record = Arc::new(record);
    match record.source {
        SourceKind::Sqs => {
            // One poller unless ScalingConfig asks for more (up to 5): batches then arrive in
            // the order they were received, which is what a local run wants to see.
            let pollers = record.max_concurrency.unwrap_or(1).clamp(1, 5);
            for _ in 0..pollers {
                tokio::spawn(sqs::poll(inner.clone(), record.clone(), stop.clone()));
            }
        }
        SourceKind::DynamoDbStream => {
            tokio::spawn(stream::poll(inner.clone(), record, stop));
        }
    }
}

/// Restarts the pollers of every enabled mapping (after a restart).
pub fn restore(inner: &Arc<Inner>) {
    let entries = match inner.kv.scan(MAPPINGS, KeyRange::all(), usize::MAX) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "could not read event source mappings");
            return;
        }
    };
    for (_, raw) in entries {
        match decode::<MappingRecord>(&raw) {
            Ok(record) => settle(inner, record),
            Err(e) => tracing::error!(error = %e, "unreadable event source mapping"),
        }
    }
}

impl Env<'_> {
    fn mapping(&self, uuid: &str) -> Result<MappingRecord, Error> {
        self.svc.load_mapping(&mapping_key(self.scope, uuid))?.ok_or_else(not_found)
    }

    pub fn get_mapping(&self, uuid: &str) -> Result<Response, Error> {
        let record = self.mapping(uuid)?;
        Ok(crate::functions::ok(&record.render(self.svc.pollers.result(&record.key())), self.ctx))
    }

    pub fn list_mappings(
        &self,
        function: Option<&str>,
        source: Option<&str>,
        page: &Page,
    ) -> Result<Response, Error> {
        let function_arn = match function {
            Some(name) => {
                let fref = FunctionRef::parse(name, 140)?;
                Some(match &fref.qualifier {
                    Some(q) => qualified_arn(self.scope, &fref.name, q),
                    None => crate::names::function_arn(self.scope, &fref.name),
                })
            }
            None => None,
        };
        let max = page.max_items.unwrap_or(100);
        let mut all: Vec<MappingRecord> = list_all(self.svc, self.scope)?
            .into_iter()
            .filter(|m| function_arn.as_ref().is_none_or(|f| &m.function_arn == f))
            .filter(|m| source.is_none_or(|s| m.source_arn == s))
            .collect();
        if let Some(marker) = &page.marker {
            all.retain(|m| m.uuid.as_str() > marker.as_str());
        }
        let more = all.len() > max;
        all.truncate(max);
        let rendered: Vec<Value> = all.iter().map(|m| m.render(self.svc.pollers.result(&m.key()))).collect();
        let mut out = json!({ "EventSourceMappings": rendered });
        if more && let Some(last) = all.last() {
            out["NextMarker"] = json!(last.uuid);
        }
        Ok(crate::functions::ok(&out, self.ctx))
    }
}

/// `UpdateEventSourceMapping`.
pub fn update(inner: &Arc<Inner>, env: &Env<'_>, uuid: &str, input: MappingInput) -> Result<Response, Error> {
    input.check_ranges()?;
    if let Some(name) = input.unsupported() {
        return Err(Error::NotImplemented(format!("Event source mapping parameter {name}")));
    }
    let _guard = lock(&inner.writes);
    let mut record = env.mapping(uuid)?;
    if let Some(name) = &input.function_name {
        record.function_arn = function_target(env, name)?;
    }
    let was_enabled = record.enabled;
    apply(&mut record, &input, false)?;
    record.state = match (was_enabled, record.enabled) {
        (false, true) => "Enabling",
        (true, false) => "Disabling",
        _ => "Updating",
    }
    .to_owned();
    record.last_modified = inner.unix_now();
    inner.save_mapping(&record)?;
    let body = record.render(inner.pollers.result(&record.key()));
    settle(inner, record);
    Ok(accepted(&body, env.ctx))
}

/// `DeleteEventSourceMapping`: stops the poller; the answer says `Deleting`.
pub fn delete(inner: &Arc<Inner>, env: &Env<'_>, uuid: &str) -> Result<Response, Error> {
    let _guard = lock(&inner.writes);
    let mut record = env.mapping(uuid)?;
    let key = record.key();
    inner.pollers.stop(&key);
    inner.kv.commit(storage::Batch::new().delete(MAPPINGS, key.clone()).delete(CHECKPOINTS, key)).map_err(
        |e| match e {
            storage::CommitError::Storage(e) => Error::Internal(e),
            storage::CommitError::ConditionFailed { .. } => not_found(),
        },
    )?;
    record.state = "Deleting".to_owned();
    let result = lock(&inner.pollers.results).remove(&record.key());
    Ok(accepted(&record.render(result), env.ctx))
}

/// A mapping in log lines.
fn describe(record: &MappingRecord) -> String {
    format!("{} → {}", record.source_arn, record.function_arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_recognised_by_arn() {
        assert_eq!(source_kind("arn:aws:sqs:us-east-1:000000000000:q").ok(), Some(SourceKind::Sqs));
        assert_eq!(
            source_kind("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000")
                .ok(),
            Some(SourceKind::DynamoDbStream)
        );
        assert!(matches!(
            source_kind("arn:aws:kinesis:us-east-1:000000000000:stream/s"),
            Err(Error::NotImplemented(_))
        ));
        assert!(matches!(source_kind("arn:aws:s3:::b"), Err(Error::InvalidParameterValueException(_))));
    }

    #[test]
    fn ranges_are_checked_with_the_model_words() {
        let input = MappingInput { batch_size: Some(0), ..MappingInput::default() };
        match input.check_ranges() {
            Err(Error::ValidationException(m)) => {
                assert!(m.contains("'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        let input =
            MappingInput { function_response_types: Some(vec!["Nope".into()]), ..MappingInput::default() };
        assert!(matches!(input.check_ranges(), Err(Error::ValidationException(_))));
    }
}
