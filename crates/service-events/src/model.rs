//! EventBridge's persisted records and where they live in the key-value store.
//!
//! - `events.buses`, keyed `{account}/{region}/{bus}`: one [`BusRecord`] per custom bus (and
//!   for `default` once it has been tagged; otherwise `default` is implicit in every scope).
//! - `events.rules`, keyed `{account}/{region}/{bus}|{rule}` (`|` is in neither name's
//!   alphabet, so a bus's rules are one prefix): one [`RuleRecord`] holding the rule, its
//!   targets and tags, so a target can never outlive its rule.
//! - `events.deliveries`, keyed `{due ms, 16 digits}/{id}`: the durable queue of matched
//!   (event, target) pairs ([`Delivery`]), in the order they are due.
//! - `events.connections` and `events.api-destinations`, keyed `{account}/{region}/{name}`: one
//!   [`ConnectionRecord`] (its secrets included: Nimbus has no Secrets Manager) and one
//!   [`DestinationRecord`] each.
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
pub const CONNECTIONS: &str = "events.connections";
pub const DESTINATIONS: &str = "events.api-destinations";

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
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http_parameters: Option<HttpParameters>,
}

/// A target's HttpParameters (API destinations): values for the endpoint's `*` wildcards, in
/// order, and headers and query parameters merged under the connection's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpParameters {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path_parameter_values: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub header_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub query_string_parameters: Option<BTreeMap<String, String>>,
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
    /// The target's HttpParameters (API destination targets), as they were when the event was
    /// accepted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http: Option<HttpParameters>,
    /// A send time the destination's rate limit already granted this delivery (Unix ms): when
    /// it comes due it goes out without asking the limiter again.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub slot_ms: Option<i64>,
    /// The trace of whatever put the event (`Root=…;Parent=…`), handed to the target.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// What kind of resource a target ARN names; `None` for those Nimbus does not deliver to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Function,
    Queue,
    Topic,
    Bus,
    /// `arn:aws:events:REGION:ACCOUNT:api-destination/NAME/UUID`.
    ApiDestination,
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
            ("events", rest)
                if parse_destination_arn(arn).is_some() && rest.starts_with("api-destination/") =>
            {
                Some(TargetKind::ApiDestination)
            }
            _ => None,
        }
    }
}

pub fn connection_arn(scope: &Scope, name: &str, uuid: &str) -> String {
    format!("arn:aws:events:{}:{}:connection/{name}/{uuid}", scope.region, scope.account)
}

pub fn destination_arn(scope: &Scope, name: &str, uuid: &str) -> String {
    format!("arn:aws:events:{}:{}:api-destination/{name}/{uuid}", scope.region, scope.account)
}

/// The key of a connection or an API destination: `{account}/{region}/{name}`.
pub fn named_key(scope: &Scope, name: &str) -> Vec<u8> {
    format!("{}/{}/{name}", scope.account, scope.region).into_bytes()
}

/// The scope, name and uuid of `arn:aws:events:REGION:ACCOUNT:{kind}/NAME/UUID`.
fn parse_named_arn(arn: &str, kind: &str) -> Option<(Scope, String, String)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, "events", region, account, rest] = parts.as_slice() else { return None };
    if !partition.starts_with("aws") {
        return None;
    }
    let (name, uuid) = rest.strip_prefix(kind)?.strip_prefix('/')?.split_once('/')?;
    let name_ok =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let uuid_ok = !uuid.is_empty() && uuid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok || !uuid_ok {
        return None;
    }
    let scope = Scope { account: types::AccountId::parse(account)?, region: types::Region::parse(region)? };
    Some((scope, name.to_owned(), uuid.to_owned()))
}

pub fn parse_connection_arn(arn: &str) -> Option<(Scope, String, String)> {
    parse_named_arn(arn, "connection")
}

pub fn parse_destination_arn(arn: &str) -> Option<(Scope, String, String)> {
    parse_named_arn(arn, "api-destination")
}

/// One of a connection's header, query string or body parameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub is_value_secret: Option<bool>,
}

/// InvocationHttpParameters or OAuthHttpParameters of a connection.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionHttpParameters {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub header_parameters: Option<Vec<Parameter>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub query_string_parameters: Option<Vec<Parameter>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub body_parameters: Option<Vec<Parameter>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BasicAuth {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub password: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiKeyAuth {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_key_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_key_value: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OAuthClient {
    #[serde(rename = "ClientID", skip_serializing_if = "Option::is_none", default)]
    pub client_id: Option<String>,
    #[serde(rename = "ClientSecret", skip_serializing_if = "Option::is_none", default)]
    pub client_secret: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OAuth {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub client_parameters: Option<OAuthClient>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorization_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub o_auth_http_parameters: Option<ConnectionHttpParameters>,
}

/// A connection's AuthParameters in their wire shape, secrets included (CreateConnection and
/// UpdateConnection in; DescribeConnection shows them without the secrets).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthParameters {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub basic_auth_parameters: Option<BasicAuth>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_key_auth_parameters: Option<ApiKeyAuth>,
    #[serde(rename = "OAuthParameters", skip_serializing_if = "Option::is_none", default)]
    pub oauth_parameters: Option<OAuth>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invocation_http_parameters: Option<ConnectionHttpParameters>,
    /// Private connectivity (VPC Lattice) is refused when parsing; never stored.
    #[serde(skip_serializing, default)]
    pub connectivity_parameters: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub v: u32,
    pub name: String,
    /// The last segment of the connection's ARN.
    pub uuid: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `BASIC`, `API_KEY` or `OAUTH_CLIENT_CREDENTIALS`.
    pub authorization_type: String,
    pub auth: AuthParameters,
    /// `AUTHORIZED`, `AUTHORIZING` or `DEAUTHORIZED`.
    pub state: String,
    #[serde(default)]
    pub state_reason: Option<String>,
    pub created_ms: i64,
    pub modified_ms: i64,
    #[serde(default)]
    pub authorized_ms: Option<i64>,
    /// The name part of the secret's ARN, `events!connection/NAME/UUID-XXXXXX`; `None` once
    /// DeauthorizeConnection removed the secret.
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DestinationRecord {
    pub v: u32,
    pub name: String,
    pub uuid: String,
    #[serde(default)]
    pub description: Option<String>,
    pub connection_arn: String,
    pub endpoint: String,
    pub http_method: String,
    pub rate_per_second: u32,
    pub created_ms: i64,
    pub modified_ms: i64,
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
        let dest = destination_arn(&scope, "d.1", "0b6e-aa");
        assert_eq!(dest, "arn:aws:events:us-east-1:000000000000:api-destination/d.1/0b6e-aa");
        assert_eq!(TargetKind::of(&dest), Some(TargetKind::ApiDestination));
        assert_eq!(
            parse_destination_arn(&dest).map(|(_, n, u)| (n, u)),
            Some(("d.1".into(), "0b6e-aa".into()))
        );
        let conn = connection_arn(&scope, "c", "u-1");
        assert_eq!(parse_connection_arn(&conn).map(|(s, n, _)| (s, n)), Some((scope.clone(), "c".into())));
        for bad in [
            "arn:aws:events:us-east-1:000000000000:connection/c",
            "arn:aws:events:us-east-1:000000000000:connection/c/u/x",
            "arn:aws:events:us-east-1:000000000000:connection/bad name/u",
            "arn:aws:sqs:us-east-1:000000000000:connection/c/u",
        ] {
            assert_eq!(parse_connection_arn(bad), None, "{bad}");
        }
        assert_eq!(TargetKind::of("arn:aws:events:us-east-1:000000000000:api-destination/d"), None);
    }
}
