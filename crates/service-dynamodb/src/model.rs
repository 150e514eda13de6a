//! DynamoDB's persisted records and where they live in the key-value store.
//!
//! Three Kv tables; every key starts with `{account}/{region}/`, so tenants never meet:
//! - `ddb.tables`: `{account}/{region}/{TableName}` → [`TableRecord`] (JSON, schema version `v`).
//! - `ddb.items`: `{account}/{region}/{TableId}/` + enc(partition key) + enc(sort key) → the
//!   item in DynamoDB JSON. `enc` is `keycode`'s order-preserving encoding, so a partition is
//!   one contiguous key range in sort-key order and Query is a range scan.
//! - `ddb.index`: `{account}/{region}/{TableId}/{IndexName}/` + enc(index partition key) +
//!   enc(index sort key) + enc(table keys) → the item as the index projects it. The table keys
//!   at the end keep entries with equal index keys apart (and ordered, as DynamoDB orders them).
//!
//! `TableId` is a fresh UUID per table, so a table deleted and created again under its name
//! never sees the old items, and deleting a table's items can happen after the table is gone.

use dynamodb_expr::{Item, KeyAttribute, KeySchema, ScalarType};
use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

use crate::keycode::encode_value;

pub const TABLES: &str = "ddb.tables";
pub const ITEMS: &str = "ddb.items";
pub const INDEX: &str = "ddb.index";
/// TransactWriteItems client request tokens: `{account}/{region}/{token}` → [`TokenRecord`].
pub const TOKENS: &str = "ddb.tokens";

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A key attribute as stored: its name and type tag (`S`, `N`, `B`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDef {
    pub name: String,
    pub kind: String,
}

/// A table's or an index's key schema as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDefs {
    pub partition: KeyDef,
    pub sort: Option<KeyDef>,
}

impl KeyDefs {
    /// The schema `dynamodb-expr` checks keys against.
    pub fn schema(&self) -> KeySchema {
        let attr = |d: &KeyDef| {
            KeyAttribute::new(d.name.clone(), ScalarType::from_tag(&d.kind).unwrap_or(ScalarType::S))
        };
        KeySchema::new(attr(&self.partition), self.sort.as_ref().map(attr))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.partition.name.as_str()).chain(self.sort.as_ref().map(|s| s.name.as_str()))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    pub read: i64,
    pub write: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexRecord {
    pub name: String,
    pub keys: KeyDefs,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection: String,
    pub non_key: Vec<String>,
    pub throughput: Option<Throughput>,
}

impl IndexRecord {
    /// The attributes an index entry keeps of an item: its own keys, the table's keys and the
    /// projected ones.
    pub fn project(&self, table_keys: &KeyDefs, item: &Item) -> Item {
        if self.projection == "ALL" {
            return item.clone();
        }
        item.iter()
            .filter(|(name, _)| {
                self.keys.names().any(|k| k == name.as_str())
                    || table_keys.names().any(|k| k == name.as_str())
                    || self.non_key.iter().any(|k| k == *name)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSpec {
    pub enabled: bool,
    pub view_type: Option<String>,
    /// The label of the current stream (its creation time), when one was ever enabled.
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TtlSpec {
    pub enabled: bool,
    pub attribute: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableRecord {
    pub v: u32,
    pub name: String,
    pub id: String,
    /// Unix seconds with fractions, as `CreationDateTime` goes on the wire.
    pub created: f64,
    pub keys: KeyDefs,
    /// Every declared attribute: name and type tag.
    pub attributes: Vec<KeyDef>,
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub billing_mode: String,
    pub throughput: Option<Throughput>,
    pub lsis: Vec<IndexRecord>,
    pub gsis: Vec<IndexRecord>,
    pub stream: Option<StreamSpec>,
    pub table_class: Option<String>,
    pub deletion_protection: bool,
    pub tags: Vec<Tag>,
    pub ttl: Option<TtlSpec>,
}

impl TableRecord {
    pub fn arn(&self, scope: &Scope) -> String {
        format!("arn:aws:dynamodb:{}:{}:table/{}", scope.region, scope.account, self.name)
    }

    pub fn index(&self, name: &str) -> Option<(&IndexRecord, bool)> {
        self.gsis
            .iter()
            .map(|i| (i, true))
            .chain(self.lsis.iter().map(|i| (i, false)))
            .find(|(i, _)| i.name == name)
    }

    /// Every secondary index, GSIs first.
    pub fn indexes(&self) -> impl Iterator<Item = &IndexRecord> {
        self.gsis.iter().chain(&self.lsis)
    }
}

pub fn scope_prefix(scope: &Scope) -> Vec<u8> {
    format!("{}/{}/", scope.account, scope.region).into_bytes()
}

pub fn table_key(scope: &Scope, name: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(name.as_bytes());
    key
}

/// The prefix of every item of a table.
pub fn items_prefix(scope: &Scope, table_id: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(table_id.as_bytes());
    key.push(b'/');
    key
}

/// The prefix of every entry of one index.
pub fn index_prefix(scope: &Scope, table_id: &str, index: &str) -> Vec<u8> {
    let mut key = items_prefix(scope, table_id);
    key.extend_from_slice(index.as_bytes());
    key.push(b'/');
    key
}

/// Appends the encoded key attributes of `keys` taken from `item`; `false` if the item lacks one
/// or has it with another type (then it is not in that index: indexes are sparse).
pub fn append_key(out: &mut Vec<u8>, keys: &KeyDefs, item: &Item) -> bool {
    for def in std::iter::once(&keys.partition).chain(keys.sort.as_ref()) {
        match item.get(&def.name) {
            Some(v) if v.value_type().tag() == def.kind => encode_value(out, v),
            _ => return false,
        }
    }
    true
}

/// The store key of an item (whose key attributes were checked against the schema).
pub fn item_key(prefix: &[u8], keys: &KeyDefs, item: &Item) -> Vec<u8> {
    let mut key = prefix.to_vec();
    append_key(&mut key, keys, item);
    key
}

/// The store key of an item's entry in an index, if the item belongs in it.
pub fn index_key(prefix: &[u8], index: &KeyDefs, table: &KeyDefs, item: &Item) -> Option<Vec<u8>> {
    let mut key = prefix.to_vec();
    (append_key(&mut key, index, item) && append_key(&mut key, table, item)).then_some(key)
}

pub fn encode_item(item: &Item) -> Vec<u8> {
    serde_json::to_vec(&dynamodb_expr::item_to_json(item)).unwrap_or_default()
}

pub fn decode_item(raw: &[u8]) -> Result<Item, StorageError> {
    let json: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("dynamodb item: {e}")))?;
    dynamodb_expr::item_from_json(&json).map_err(|e| StorageError::Corrupt(format!("dynamodb item: {e}")))
}

pub fn encode_table(record: &TableRecord) -> Vec<u8> {
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode_table(raw: &[u8]) -> Result<TableRecord, StorageError> {
    let record: TableRecord =
        serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("dynamodb table: {e}")))?;
    if record.v != SCHEMA_VERSION {
        return Err(StorageError::Corrupt(format!("dynamodb table record of version {}", record.v)));
    }
    Ok(record)
}

/// The key attributes of `item` for `keys` (a `LastEvaluatedKey` part).
pub fn key_attributes(keys: &KeyDefs, item: &Item, out: &mut Item) {
    for name in keys.names() {
        if let Some(v) = item.get(name) {
            out.insert(name.to_owned(), v.clone());
        }
    }
}

/// A TransactWriteItems that carried a ClientRequestToken: what it asked (a fingerprint of its
/// items) and when it completed, so a repeat within ten minutes changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub fingerprint: String,
    pub done_nanos: i128,
}

pub fn token_key(scope: &Scope, token: &str) -> Vec<u8> {
    format!("{}/{}/{token}", scope.account.as_str(), scope.region.as_str()).into_bytes()
}
