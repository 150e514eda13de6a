//! CloudFormation's records and key layout. A stack is one JSON record (schema version `v`)
//! holding everything DescribeStacks, DescribeStackEvents, DescribeStackResources and the
//! change-set operations read: its template and parameters, its resources with their physical
//! ids and attributes, its events and its change sets. Every state change rewrites the record,
//! so what a client saw acknowledged is on disk.
//!
//! - `cloudformation.stacks`: `{account}/{region}/{stack uuid}` → [`StackRecord`]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use storage::StorageError;
use types::Scope;

pub const STACKS: &str = "cloudformation.stacks";
pub const VERSION: u32 = 1;

/// Events kept per stack; older ones are dropped (CloudFormation keeps 90 days of them).
pub const MAX_EVENTS: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackRecord {
    pub v: u32,
    /// `arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid}`.
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub description: Option<String>,
    pub created_ms: i64,
    pub updated_ms: Option<i64>,
    pub deleted_ms: Option<i64>,
    /// The template as the client sent it (GetTemplate's `Original` stage).
    pub template_body: String,
    /// Parameter values as supplied (after UsePreviousValue was applied).
    pub parameters: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub disable_rollback: bool,
    pub outputs: Vec<OutputRecord>,
    /// By logical id.
    pub resources: BTreeMap<String, ResourceRecord>,
    /// Oldest first.
    pub events: Vec<EventRecord>,
    pub change_sets: Vec<ChangeSetRecord>,
    /// Set on the change set a stack was last created or updated from.
    pub change_set_id: Option<String>,
}

impl StackRecord {
    /// The stack's uuid, the last segment of its id.
    pub fn uuid(&self) -> &str {
        self.id.rsplit('/').next().unwrap_or_default()
    }

    pub fn is_deleted(&self) -> bool {
        self.status == "DELETE_COMPLETE"
    }

    pub fn in_progress(&self) -> bool {
        self.status.ends_with("_IN_PROGRESS")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    /// The answers to `Fn::GetAtt`, by attribute name.
    pub attributes: BTreeMap<String, Value>,
    /// The properties it was last created or updated with, resolved.
    pub properties: Value,
    pub updated_ms: i64,
    /// The template's `DeletionPolicy` for it (`Delete` when the template gives none); absent
    /// from records written before it was kept, whose stack template is consulted instead.
    #[serde(default)]
    pub deletion_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: String,
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub timestamp_ms: i64,
    pub properties: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSetRecord {
    /// `arn:aws:cloudformation:{region}:{account}:changeSet/{name}/{uuid}`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `CREATE` or `UPDATE`.
    pub change_set_type: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub execution_status: String,
    pub created_ms: i64,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub changes: Vec<ChangeRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub action: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub resource_type: String,
    /// `True`, `False` or `Conditional`; only for `Modify`.
    pub replacement: Option<String>,
    pub changed_properties: Vec<String>,
}

pub fn stack_key(scope: &Scope, uuid: &str) -> Vec<u8> {
    format!("{}/{}/{uuid}", scope.account.as_str(), scope.region.as_str()).into_bytes()
}

/// The scope a key belongs to.
pub fn scope_of(key: &[u8]) -> Option<Scope> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(3, '/');
    let account = types::AccountId::parse(parts.next()?)?;
    let region = types::Region::parse(parts.next()?)?;
    Some(Scope { account, region })
}

pub fn encode(record: &StackRecord) -> Vec<u8> {
    // A record of strings, numbers and JSON values always serializes.
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode(raw: &[u8]) -> Result<StackRecord, StorageError> {
    serde_json::from_slice(raw)
        .map_err(|e| StorageError::Corrupt(format!("cloudformation stack record: {e}")))
}
