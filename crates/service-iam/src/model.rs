//! IAM's persisted records and where they live in the key-value store.
//!
//! Two tables, both keyed by `{account}/{region}/{lowercased name}`: the scope makes every
//! account and region its own IAM (a Nimbus product decision: real IAM is global per account),
//! and the lowercased name makes the key itself the case-insensitive uniqueness index that IAM
//! names need (`Role with name X already exists.` whatever the case).
//!
//! - `iam.roles`: one [`RoleRecord`] per role, holding its inline policies and its managed
//!   policy attachments. A role's children live inside it so that every change to a role is a
//!   single-record compare-and-set, and a delete can never race an attach into an orphan.
//! - `iam.policies`: one [`PolicyRecord`] per customer managed policy, holding its versions
//!   (at most 5) and the counters of roles it is attached to or bounds. Attaching writes the
//!   role and the policy in one batch, preconditioned on both.
//!
//! Records are JSON with a schema version `v`; a record of an unknown version is reported as
//! corrupt rather than misread.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

use crate::validate::Tag;

pub const ROLES: &str = "iam.roles";
pub const POLICIES: &str = "iam.policies";

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The key prefix of everything in one account and region.
pub fn scope_prefix(scope: &Scope) -> Vec<u8> {
    format!("{}/{}/", scope.account, scope.region).into_bytes()
}

/// The key of a role or policy: names are ASCII (`[\w+=,.@-]+`), so ASCII lowercasing is the
/// case folding IAM applies.
pub fn key(scope: &Scope, name: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(name.to_ascii_lowercase().as_bytes());
    key
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    pub key: String,
    pub value: String,
}

impl From<Tag> for TagRecord {
    fn from(t: Tag) -> TagRecord {
        TagRecord { key: t.key, value: t.value }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    pub v: u32,
    /// The name as created; the key holds it lowercased.
    pub name: String,
    pub id: String,
    pub path: String,
    /// Unix seconds.
    pub created: i64,
    /// As the client sent it; rendered URL-encoded, as IAM does.
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: i64,
    /// The ARN of the managed policy that bounds the role's permissions.
    pub permissions_boundary: Option<String>,
    pub tags: Vec<TagRecord>,
    /// Sorted by lowercased name, which is also how they are unique.
    pub inline_policies: Vec<InlinePolicy>,
    /// In the order they were attached.
    pub attached_policies: Vec<AttachedPolicy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachedPolicy {
    pub arn: String,
    pub name: String,
    pub path: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub v: u32,
    pub name: String,
    pub id: String,
    pub path: String,
    pub description: Option<String>,
    pub created: i64,
    /// When the default version last changed.
    pub updated: i64,
    pub default_version: u32,
    /// The number the next version gets; numbers are never reused.
    pub next_version: u32,
    /// Newest last.
    pub versions: Vec<VersionRecord>,
    /// Roles this policy is attached to.
    pub attachment_count: u32,
    /// Roles this policy is the permissions boundary of.
    pub boundary_count: u32,
    pub tags: Vec<TagRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub number: u32,
    pub document: String,
    pub created: i64,
}

impl PolicyRecord {
    pub fn version(&self, id: &str) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| version_id(v.number) == id)
    }
}

pub fn version_id(number: u32) -> String {
    format!("v{number}")
}

/// A record type with its schema version.
pub trait Record: Serialize + DeserializeOwned {
    const KIND: &'static str;
    fn schema(&self) -> u32;
}

impl Record for RoleRecord {
    const KIND: &'static str = "role";
    fn schema(&self) -> u32 {
        self.v
    }
}

impl Record for PolicyRecord {
    const KIND: &'static str = "policy";
    fn schema(&self) -> u32 {
        self.v
    }
}

pub fn encode<R: Record>(record: &R) -> Vec<u8> {
    // Records hold strings, integers and lists only: serialising them cannot fail.
    serde_json::to_vec(record).expect("IAM records serialise to JSON")
}

pub fn decode<R: Record>(bytes: &[u8]) -> Result<R, StorageError> {
    let record: R = serde_json::from_slice(bytes)
        .map_err(|e| StorageError::Corrupt(format!("iam {} record does not decode: {e}", R::KIND)))?;
    if record.schema() != SCHEMA_VERSION {
        return Err(StorageError::Corrupt(format!(
            "iam {} record has schema version {}, this build reads {SCHEMA_VERSION}",
            R::KIND,
            record.schema()
        )));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{AccountId, Region};

    #[test]
    fn keys_embed_scope_and_fold_case() {
        let scope = Scope {
            account: AccountId::parse("111122223333").expect("account"),
            region: Region::parse("eu-west-1").expect("region"),
        };
        assert_eq!(key(&scope, "My-Role"), b"111122223333/eu-west-1/my-role".to_vec());
        assert!(key(&scope, "x").starts_with(&scope_prefix(&scope)));
    }

    #[test]
    fn unknown_schema_versions_are_corrupt() {
        let mut role = RoleRecord {
            v: SCHEMA_VERSION,
            name: "r".into(),
            id: "AROA".into(),
            path: "/".into(),
            created: 0,
            assume_role_policy: "{}".into(),
            description: None,
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: vec![],
            inline_policies: vec![],
            attached_policies: vec![],
        };
        assert_eq!(decode::<RoleRecord>(&encode(&role)).expect("round trip"), role);
        role.v = 2;
        assert!(matches!(decode::<RoleRecord>(&encode(&role)), Err(StorageError::Corrupt(_))));
        assert!(matches!(decode::<RoleRecord>(b"not json"), Err(StorageError::Corrupt(_))));
    }
}
