//! Lambda's persisted records and where they live in the key-value store.
//!
//! - `lambda.functions`, keyed `{account}/{region}/{name}` (names are case-sensitive): one
//!   [`FunctionRecord`] per function holding `$LATEST`, its published versions, aliases,
//!   reserved concurrency, event-invoke configs, resource policies and tags. Every change to a
//!   function is one record write, so a version can never outlive its function, and an alias
//!   can never point at a version that a concurrent delete removed.
//! - `lambda.async`, keyed `{due ms, 16 digits}/{event id}`: the durable queue of asynchronous
//!   invocations ([`AsyncEvent`]), in the order they are due.
//! - Deployment packages are blobs `lambda/code/{sha256 hex}`, shared by every version and
//!   function with the same bytes.
//!
//! Records are JSON with a schema version `v`; a record of an unknown version is reported as
//! corrupt rather than misread.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

pub const FUNCTIONS: &str = "lambda.functions";
pub const ASYNC_QUEUE: &str = "lambda.async";

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

pub fn scope_prefix(scope: &Scope) -> Vec<u8> {
    format!("{}/{}/", scope.account, scope.region).into_bytes()
}

pub fn function_key(scope: &Scope, name: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(name.as_bytes());
    key
}

/// The blob holding a deployment package.
pub fn code_blob(sha256_hex: &str) -> String {
    format!("lambda/code/{sha256_hex}")
}

/// A function and everything that hangs off it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionRecord {
    pub v: u32,
    pub name: String,
    pub latest: VersionConfig,
    /// Published versions, ascending.
    pub versions: Vec<VersionConfig>,
    /// The number the last published version got; numbers are never reused, even after a
    /// version is deleted.
    pub last_version: u64,
    pub aliases: BTreeMap<String, AliasRecord>,
    pub reserved_concurrency: Option<u32>,
    /// Keyed by qualifier (`$LATEST`, a version number or an alias name).
    pub event_invoke_configs: BTreeMap<String, EventInvokeConfig>,
    /// Resource-based policy statements, keyed by qualifier (`""` for the unqualified function).
    pub policies: BTreeMap<String, Vec<serde_json::Value>>,
    pub tags: BTreeMap<String, String>,
    /// Provisioned concurrency per qualifier (a version number or an alias name).
    #[serde(default)]
    pub provisioned: BTreeMap<String, ProvisionedConfig>,
    /// Function URLs, keyed by qualifier (`""` for the unqualified function, else an alias).
    #[serde(default)]
    pub urls: BTreeMap<String, UrlConfig>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrlConfig {
    /// The 32-character host label of the URL.
    pub url_id: String,
    pub auth_type: String,
    /// As the client gave it (the `Cors` shape).
    pub cors: Option<serde_json::Value>,
    pub invoke_mode: String,
    pub created: String,
    pub modified: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedConfig {
    pub requested: u32,
    /// `2024-05-01T12:00:03.013+0000`.
    pub last_modified: String,
}

impl FunctionRecord {
    pub fn version(&self, version: &str) -> Option<&VersionConfig> {
        if version == "$LATEST" {
            return Some(&self.latest);
        }
        self.versions.iter().find(|v| v.version == version)
    }
}

/// The configuration of `$LATEST` or of one published version (which never changes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionConfig {
    pub version: String,
    pub description: String,
    pub runtime: String,
    pub role: String,
    pub handler: String,
    pub code: CodeRef,
    pub timeout: u32,
    pub memory_size: u32,
    pub environment: Option<BTreeMap<String, String>>,
    pub ephemeral_storage: u32,
    pub architectures: Vec<String>,
    /// Layer version ARNs, in order.
    pub layers: Vec<LayerRef>,
    pub logging: LoggingConfig,
    pub tracing_mode: String,
    pub dead_letter_target: Option<String>,
    pub kms_key_arn: Option<String>,
    /// `2024-05-01T12:00:03.013+0000`, as Lambda formats it.
    pub last_modified: String,
    pub revision_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRef {
    pub sha256_hex: String,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    pub arn: String,
    pub code_size: u64,
    /// The layer version's package, so an invoke needs no layer lookup.
    #[serde(default)]
    pub sha256_hex: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggingConfig {
    pub log_format: String,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub log_group: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AliasRecord {
    pub name: String,
    pub function_version: String,
    pub description: String,
    /// Additional version → weight (0.0–1.0): the share of invokes routed there instead.
    pub routing: BTreeMap<String, f64>,
    pub revision_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventInvokeConfig {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_seconds: Option<u32>,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    /// Unix seconds.
    pub last_modified: i64,
}

/// One asynchronous invocation waiting in the durable queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncEvent {
    pub v: u32,
    pub id: String,
    pub account: String,
    pub region: String,
    pub function_name: String,
    /// What the caller invoked: `$LATEST`, a version or an alias.
    pub qualifier: String,
    /// The request id the caller got back; every attempt runs with it, as on Lambda.
    pub request_id: String,
    pub payload: String,
    /// Unix milliseconds when Lambda accepted the event (for the maximum event age).
    pub received_ms: i64,
    /// Attempts that ran the function (throttles do not count).
    pub attempts: u32,
    /// The caller's trace header (`Root=…;Parent=…`), so every attempt joins its trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// Encodes a record as stored.
pub fn encode<R: Serialize>(record: &R) -> Vec<u8> {
    // Serializing plain data structs cannot fail; an empty value would be caught by decode.
    serde_json::to_vec(record).unwrap_or_default()
}

/// Decodes a stored record, refusing unknown schema versions.
pub fn decode<R: DeserializeOwned + Versioned>(raw: &[u8]) -> Result<R, StorageError> {
    let record: R = serde_json::from_slice(raw)
        .map_err(|e| StorageError::Corrupt(format!("lambda record does not decode: {e}")))?;
    if record.schema_version() != SCHEMA_VERSION {
        return Err(StorageError::Corrupt(format!(
            "lambda record has schema version {}, this build reads {SCHEMA_VERSION}",
            record.schema_version()
        )));
    }
    Ok(record)
}

/// A record with a schema version.
pub trait Versioned {
    fn schema_version(&self) -> u32;
}

impl Versioned for FunctionRecord {
    fn schema_version(&self) -> u32 {
        self.v
    }
}

impl Versioned for AsyncEvent {
    fn schema_version(&self) -> u32 {
        self.v
    }
}
