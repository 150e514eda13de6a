//! Records and key layout. Every key embeds the tenant (`{account}/{region}/…`); names never
//! hold `/`, so a group's schedules are one prefix scan. Records are JSON with a schema version.
//!
//! Tables:
//! - `scheduler.groups`: `{account}/{region}/{group}` → [`GroupRecord`] (the `default` group
//!   exists without a record until it is tagged).
//! - `scheduler.schedules`: `{account}/{region}/{group}/{name}` → [`ScheduleRecord`].
//! - `scheduler.due`: `{due_ms:016}|{schedule key}` → nothing: the next firing of every enabled
//!   schedule, so the worker finds what is due with one range scan.
//! - `scheduler.deliveries`: `{due_ms:016}/{id}` → [`Delivery`]: fired invocations not yet
//!   accepted by their target (retries wait here).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use types::Scope;

use crate::error::Error;

pub const GROUPS: &str = "scheduler.groups";
pub const SCHEDULES: &str = "scheduler.schedules";
pub const DUE: &str = "scheduler.due";
pub const DELIVERIES: &str = "scheduler.deliveries";

pub const DEFAULT_GROUP: &str = "default";
const SCHEMA: u32 = 1;

/// Scheduler's default RetryPolicy.
pub const DEFAULT_MAX_AGE_SECONDS: i64 = 86_400;
pub const DEFAULT_MAX_RETRIES: i64 = 185;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FlexibleTimeWindow {
    #[serde(default)]
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_window_in_minutes: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_event_age_in_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_retry_attempts: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsParameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventBridgeParameters {
    #[serde(default)]
    pub detail_type: String,
    #[serde(default)]
    pub source: String,
}

/// A schedule's target as the API reads and writes it. Parameters of targets Nimbus does not
/// deliver to are refused before a record exists, so `other` only ever echoes what was sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    #[serde(default)]
    pub arn: String,
    #[serde(default)]
    pub role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_config: Option<DeadLetterConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqs_parameters: Option<SqsParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_bridge_parameters: Option<EventBridgeParameters>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// When a schedule fires next: the time its expression names, and when the worker fires it
/// (later by a random part of a flexible time window).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextFire {
    pub nominal_ms: i64,
    pub due_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    pub v: u32,
    pub name: String,
    pub group: String,
    pub description: Option<String>,
    pub expression: String,
    pub timezone: String,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub enabled: bool,
    pub flexible: FlexibleTimeWindow,
    pub target: Target,
    pub action_after_completion: String,
    pub kms_key_arn: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    /// What a rate counts from: the StartDate, or the last create/update.
    pub anchor_ms: i64,
    pub next: Option<NextFire>,
}

impl ScheduleRecord {
    pub fn arn(&self, scope: &Scope) -> String {
        schedule_arn(scope, &self.group, &self.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub v: u32,
    pub name: String,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub tags: BTreeMap<String, String>,
}

/// One fired invocation waiting for its target to accept it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub v: u32,
    pub id: String,
    pub schedule_arn: String,
    pub target: Target,
    /// The scheduled time of the firing (Unix ms), for `<aws.scheduler.scheduled-time>`.
    pub scheduled_ms: i64,
    /// When the firing happened; MaximumEventAgeInSeconds counts from here.
    pub fired_ms: i64,
    /// Failed attempts so far.
    pub attempts: u32,
}

pub fn group_key(scope: &Scope, group: &str) -> Vec<u8> {
    format!("{}/{}/{group}", scope.account, scope.region).into_bytes()
}

pub fn schedule_key(scope: &Scope, group: &str, name: &str) -> Vec<u8> {
    format!("{}/{}/{group}/{name}", scope.account, scope.region).into_bytes()
}

/// Every schedule of a tenant, or of one of its groups.
pub fn schedules_prefix(scope: &Scope, group: Option<&str>) -> Vec<u8> {
    match group {
        Some(g) => format!("{}/{}/{g}/", scope.account, scope.region).into_bytes(),
        None => format!("{}/{}/", scope.account, scope.region).into_bytes(),
    }
}

pub fn due_key(due_ms: i64, schedule_key: &[u8]) -> Vec<u8> {
    let mut key = format!("{:016}|", due_ms.max(0)).into_bytes();
    key.extend_from_slice(schedule_key);
    key
}

/// The due time and schedule key of a `scheduler.due` key.
pub fn split_due_key(key: &[u8]) -> Option<(i64, &[u8])> {
    let due = std::str::from_utf8(key.get(..16)?).ok()?.parse().ok()?;
    Some((due, key.get(17..)?))
}

pub fn delivery_key(due_ms: i64, id: &str) -> Vec<u8> {
    format!("{:016}/{id}", due_ms.max(0)).into_bytes()
}

/// The scope, group and name of a schedule key.
pub fn split_schedule_key(key: &[u8]) -> Option<(Scope, String, String)> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(4, '/');
    let account = types::AccountId::parse(parts.next()?)?;
    let region = types::Region::parse(parts.next()?)?;
    let group = parts.next()?.to_owned();
    let name = parts.next()?.to_owned();
    Some((Scope { account, region }, group, name))
}

pub fn schedule_arn(scope: &Scope, group: &str, name: &str) -> String {
    format!("arn:aws:scheduler:{}:{}:schedule/{group}/{name}", scope.region, scope.account)
}

pub fn group_arn(scope: &Scope, group: &str) -> String {
    format!("arn:aws:scheduler:{}:{}:schedule-group/{group}", scope.region, scope.account)
}

pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(raw).map_err(|e| {
        Error::InternalServerException(storage::StorageError::Corrupt(format!("scheduler record: {e}")))
    })
}

pub const fn schema() -> u32 {
    SCHEMA
}
