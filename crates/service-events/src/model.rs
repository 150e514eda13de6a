//! EventBridge's persisted records and where they live in the key-value store.
//!
//! - `events.buses`, keyed `{account}/{region}/{bus}`: one [`BusRecord`] per custom bus (and
//!   for `default` once it has been tagged; otherwise `default` is implicit in every scope).
//! - `events.rules`, keyed `{account}/{region}/{bus}|{rule}` (`|` is in neither name's
//!   alphabet, so a bus's rules are one prefix): one [`RuleRecord`] holding the rule, its
//!   targets and tags, so a target can never outlive its rule.
//! - `events.deliveries`, keyed `{due ms, 16 digits}/{id}`: the durable queue of matched
//!   (event, target) pairs ([`Delivery`]), in the order they are due.
//!
//! Records are JSON with a schema version `v`; a record of an unknown version is reported as
//! corrupt rather than misread. [`Target`] is stored in its wire shape, so what ListTargetsByRule
//! answers is exactly what PutTargets was given.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

pub const BUSES: &str = "events.buses";
pub const RULES: &str = "events.rules";
pub const DELIVERIES: &str = "events.deliveries";

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

pub const DEFAULT_BUS: &str = "default";

pub fn bus_key(scope: &Scope, bus: &str) -> Vec<u8> {
    format!("{}/{}/{bus}", scope.account, scope.region).into_bytes()
}

/// The prefix of every rule key of one bus.
pub fn rules_prefix(scope: &Scope, bus: &str) -> Vec<u8> {
    format!("{}/{}/{bus}|", scope.account, scope.region).into_bytes()
}

pub fn rule_key(scope: &Scope, bus: &str, rule: &str) -> Vec<u8> {
    let mut key = rules_prefix(scope, bus);
    key.extend_from_slice(rule.as_bytes());
    key
}

pub fn delivery_key(due_ms: i64, id: &str) -> Vec<u8> {
    format!("{:016}/{id}", due_ms.max(0)).into_bytes()
}

pub fn bus_arn(scope: &Scope, bus: &str) -> String {
    format!("arn:aws:events:{}:{}:event-bus/{bus}", scope.region, scope.account)
}

/// Rules of the default bus have no bus segment in their ARN; others do.
/// The scope and name of the bus an event-bus ARN names.
pub fn parse_bus_arn(arn: &str) -> Option<(Scope, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, _, "events", region, account, rest] = parts.as_slice() else { return None };
    let bus = rest.strip_prefix("event-bus/")?;
    Some((
        Scope { account: types::AccountId::parse(account)?, region: types::Region::parse(region)? },
        bus.to_owned(),
    ))
}

pub fn rule_arn(scope: &Scope, bus: &str, rule: &str) -> String {
    if bus == DEFAULT_BUS {
        format!("arn:aws:events:{}:{}:rule/{rule}", scope.region, scope.account)
    } else {
        format!("arn:aws:events:{}:{}:rule/{bus}/{rule}", scope.region, scope.account)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BusRecord {
    pub v: u32,
    pub name: String,
    pub description: Option<String>,
    pub created_ms: i64,
    pub tags: BTreeMap<String, String>,
    /// The resource policy PutPermission built (a JSON document), if any.
    #[serde(default)]
    pub policy: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleRecord {
    pub v: u32,
    pub name: String,
    pub bus: String,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    /// `ENABLED`, `DISABLED` or `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`.
    pub state: String,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub created_ms: i64,
    /// In the order they were first put.
    pub targets: Vec<Target>,
    pub tags: BTreeMap<String, String>,
}

impl RuleRecord {
    pub fn enabled(&self) -> bool {
        self.state != "DISABLED"
    }
}

/// A rule's target, in its wire shape (PutTargets in, ListTargetsByRule out). Parameters of
/// target types Nimbus does not deliver to are not kept: such targets are refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Target {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_transformer: Option<InputTransformer>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub retry_policy: Option<RetryPolicy>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dead_letter_config: Option<DeadLetterConfig>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sqs_parameters: Option<SqsParameters>,
}

/// For SQS FIFO queue targets: the message group every event goes to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SqsParameters {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message_group_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputTransformer {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_paths_map: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub input_template: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryPolicy {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub maximum_retry_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub maximum_event_age_in_seconds: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfig {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arn: Option<String>,
}

/// One matched (event, target) pair waiting to be delivered; the input is rendered when the
/// event is accepted, so a later change of the target does not alter what was acknowledged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub v: u32,
    pub id: String,
    pub account: String,
    pub region: String,
    pub rule_arn: String,
    pub target_id: String,
    pub target_arn: String,
    pub payload: String,
    /// When the event was accepted; `MaximumEventAgeInSeconds` counts from here.
    pub accepted_ms: i64,
    pub attempts: u32,
    pub max_retries: u32,
    pub max_age_seconds: u32,
    /// The target's DeadLetterConfig queue.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dlq_arn: Option<String>,
    /// SqsParameters.MessageGroupId of a FIFO queue target.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub group_id: Option<String>,
    /// The event as matched, when the target's input differs from it: a DLQ gets the event.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub event: Option<String>,
    /// The buses the event has passed through (bus targets), so a cycle of buses ends.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub via: Vec<String>,
}

/// What kind of resource a target ARN names; `None` for those Nimbus does not deliver to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Function,
    Queue,
    Topic,
    Bus,
}

impl TargetKind {
    pub fn of(arn: &str) -> Option<TargetKind> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[4].is_empty() {
            return None;
        }
        match (parts[2], parts[5]) {
            ("lambda", rest) if rest.starts_with("function:") && rest.len() > 9 => Some(TargetKind::Function),
            ("sqs", name) if !name.is_empty() && !name.contains(':') => Some(TargetKind::Queue),
            ("sns", name) if !name.is_empty() && !name.contains(':') => Some(TargetKind::Topic),
            ("events", rest) if rest.starts_with("event-bus/") && rest.len() > 10 => Some(TargetKind::Bus),
            _ => None,
        }
    }
}

pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Records are plain structs with string keys: serialising them cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, StorageError> {
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("events record: {e}")))?;
    if value.get("v").and_then(serde_json::Value::as_u64) != Some(u64::from(SCHEMA_VERSION)) {
        return Err(StorageError::Corrupt("events record of an unknown schema version".to_owned()));
    }
    serde_json::from_value(value).map_err(|e| StorageError::Corrupt(format!("events record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_arns() {
        let scope = Scope::default();
        assert!(delivery_key(999, "b") < delivery_key(1000, "a"));
        assert!(rule_key(&scope, "b", "r").starts_with(&rules_prefix(&scope, "b")));
        assert!(!rule_key(&scope, "bus2", "r").starts_with(&rules_prefix(&scope, "bus")));
        assert_eq!(rule_arn(&scope, "default", "r"), "arn:aws:events:us-east-1:000000000000:rule/r");
        assert_eq!(rule_arn(&scope, "orders", "r"), "arn:aws:events:us-east-1:000000000000:rule/orders/r");
    }
}
