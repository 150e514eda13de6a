//! What S3 stores and where: the bucket, object, upload and part records (JSON with a schema
//! version) and their key layout in the ordered store.
//!
//! Every key starts with the account, so tenants never see each other. Object keys sort as
//! `{account}/{bucket}/{key}`, so listing a bucket under a prefix is one range scan, and a
//! delimiter listing can jump over a whole common prefix by restarting the scan at the end of
//! that prefix's key range instead of reading every key under it.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use storage::Kv;

use crate::error::{Error, Result};

pub const BUCKETS: &str = "s3.buckets";
pub const OBJECTS: &str = "s3.objects";
pub const UPLOADS: &str = "s3.uploads";
pub const PARTS: &str = "s3.parts";

/// The record schema this version writes and reads.
const SCHEMA: u32 = 1;

fn schema() -> u32 {
    SCHEMA
}

/// A bucket and the configurations stored on it. Configurations are kept as the JSON of the
/// s3s document they came in, and given back as they were put.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BucketRecord {
    #[serde(default = "schema")]
    pub v: u32,
    pub name: String,
    pub region: String,
    pub created_ms: i64,
    #[serde(default)]
    pub tags: Option<Vec<(String, String)>>,
    #[serde(default)]
    pub versioning: Option<String>,
    /// Configurations by name (`cors`, `policy`, `lifecycle`, `notification`, ...).
    #[serde(default)]
    pub configs: BTreeMap<String, String>,
}

/// One stretch of an object's bytes: a blob and its length. A single PUT makes one piece; a
/// completed multipart upload keeps its parts' blobs as pieces, read one after the other.
///
/// A body of up to [`INLINE`] bytes has no blob: its bytes live in the record itself, so storing
/// it costs one commit instead of a file, two fsyncs and a rename, and reading it costs no file
/// open (object stores do the same for small objects: Garage below 3 KiB, MinIO in `xl.meta`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Empty when the bytes are inline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub blob: String,
    pub len: u64,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "inline_bytes")]
    pub inline: Option<Bytes>,
}

/// Bodies up to this size are kept in their record: a SQLite page holds the record and its
/// bytes, and a listing decodes little more than it did.
pub const INLINE: u64 = 4 << 10;

impl Piece {
    pub fn blob(blob: String, len: u64) -> Piece {
        Piece { blob, len, inline: None }
    }

    pub fn inline(bytes: Bytes) -> Piece {
        Piece { blob: String::new(), len: bytes.len() as u64, inline: Some(bytes) }
    }
}

/// Inline bytes as base64 in the JSON record.
mod inline_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        let text: Option<std::borrow::Cow<'de, str>> = Option::deserialize(d)?;
        text.map(|t| STANDARD.decode(t.as_bytes()).map(Bytes::from).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// A flexible checksum as stored and given back: the algorithm (`CRC32`, `SHA256`, ...), the
/// base64 value, and whether it covers the whole object or is composed from parts (`-N`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChecksum {
    pub algorithm: String,
    pub value: String,
    #[serde(default)]
    pub composite: bool,
}

/// The content headers S3 stores with an object and sends back on GET and HEAD.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    /// `Expires`, as unix seconds.
    pub expires: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ObjectRecord {
    #[serde(default = "schema")]
    pub v: u32,
    pub pieces: Vec<Piece>,
    pub size: u64,
    /// The ETag without quotes: hex MD5, or `{hex}-{parts}` for multipart uploads.
    pub etag: String,
    pub modified_ms: i64,
    #[serde(default)]
    pub headers: ContentHeaders,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub storage_class: Option<String>,
    #[serde(default)]
    pub checksum: Option<StoredChecksum>,
    /// The number of parts of a multipart upload.
    #[serde(default)]
    pub parts: Option<u32>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The version id; `None` is the `null` version (every object of a bucket that never had
    /// versioning, and those written while it was suspended).
    #[serde(default)]
    pub version_id: Option<String>,
    /// Where this version sorts among the key's versions (`versions`); records written before
    /// versions existed lack it until `versions::migrate` gives them one.
    #[serde(default)]
    pub stamp: Option<u64>,
    /// A delete marker: no bytes, only a place in the key's history.
    #[serde(default)]
    pub delete_marker: bool,
    /// A canned ACL other than `private`, as PutObjectAcl stored it.
    #[serde(default)]
    pub acl: Option<String>,
    /// Set on the `s3.versions` copy of a key's current object: its inline bytes are kept only
    /// in the `s3.objects` copy (see `versions`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bytes_in_current: bool,
}

/// A multipart upload in progress: what CreateMultipartUpload was told, applied at Complete.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadRecord {
    #[serde(default = "schema")]
    pub v: u32,
    pub key: String,
    pub upload_id: String,
    pub initiated_ms: i64,
    #[serde(default)]
    pub headers: ContentHeaders,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub storage_class: Option<String>,
    #[serde(default)]
    pub checksum_algorithm: Option<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The client asked for a whole-object checksum (`x-amz-checksum-type: FULL_OBJECT`) rather
    /// than one composed from the parts'.
    #[serde(default)]
    pub full_object_checksum: bool,
    /// The canned ACL the object gets (`x-amz-acl`), unless `private`.
    #[serde(default)]
    pub acl: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartRecord {
    #[serde(default = "schema")]
    pub v: u32,
    pub number: i32,
    pub piece: Piece,
    /// Hex MD5 of the part, without quotes.
    pub etag: String,
    pub modified_ms: i64,
    #[serde(default)]
    pub checksum: Option<StoredChecksum>,
}

pub fn bucket_key(account: &str, bucket: &str) -> Vec<u8> {
    format!("{account}/{bucket}").into_bytes()
}

/// The prefix of every bucket key of an account.
pub fn account_prefix(account: &str) -> Vec<u8> {
    format!("{account}/").into_bytes()
}

/// The prefix of every object key of a bucket; the object's key follows it.
pub fn objects_prefix(account: &str, bucket: &str) -> Vec<u8> {
    format!("{account}/{bucket}/").into_bytes()
}

pub fn object_key(account: &str, bucket: &str, key: &str) -> Vec<u8> {
    let mut k = objects_prefix(account, bucket);
    k.extend_from_slice(key.as_bytes());
    k
}

/// Uploads sort by object key, then by upload id (which starts with its creation time), the
/// order ListMultipartUploads answers in. `\0` cannot occur in a key S3 accepts in XML.
pub fn upload_key(account: &str, bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut k = objects_prefix(account, bucket);
    k.extend_from_slice(key.as_bytes());
    k.push(0);
    k.extend_from_slice(upload_id.as_bytes());
    k
}

/// The prefix of every part of an upload; part numbers are zero-padded so they sort.
pub fn parts_prefix(account: &str, bucket: &str, upload_id: &str) -> Vec<u8> {
    format!("{account}/{bucket}/{upload_id}/").into_bytes()
}

pub fn part_key(account: &str, bucket: &str, upload_id: &str, number: i32) -> Vec<u8> {
    let mut k = parts_prefix(account, bucket, upload_id);
    k.extend_from_slice(format!("{number:05}").as_bytes());
    k
}

pub fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(record).map_err(|e| Error::InternalError(format!("encoding a record: {e}")))
}

pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::InternalError(format!("decoding a record: {e}")))
}

pub fn get<T: for<'de> Deserialize<'de>>(kv: &dyn Kv, table: &str, key: &[u8]) -> Result<Option<T>> {
    kv.get(table, key)?.map(|v| decode(&v)).transpose()
}

/// A fresh blob key for object or part bytes. Blob names never derive from object keys (which
/// may hold any character); two hex digits of fan-out keep directories small.
pub fn new_blob_key() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("s3/{}/{id}", &id[..2])
}

/// Bucket naming rules (general purpose buckets): 3–63 characters of lowercase letters,
/// digits, `.` and `-`, beginning and ending with a letter or digit, no `..`, not an IPv4
/// address, none of the reserved prefixes and suffixes.
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    if !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-') {
        return false;
    }
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge(b[0]) || !edge(b[b.len() - 1]) || name.contains("..") {
        return false;
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return false;
    }
    const PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
    const SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    !PREFIXES.iter().any(|p| name.starts_with(p)) && !SUFFIXES.iter().any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.example", "a1b", &"a".repeat(63)] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            "ABC",
            "-abc",
            "abc-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            "a_b",
            &"a".repeat(64),
        ] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn keys_sort_objects_before_their_extensions() {
        let a = object_key("1", "b", "a");
        let ab = object_key("1", "b", "a/b");
        let upload = upload_key("1", "b", "a", "u1");
        assert!(a < upload && upload < ab);
        assert!(part_key("1", "b", "u", 2) < part_key("1", "b", "u", 10));
        assert!(storage::validate_blob_key(&new_blob_key()).is_ok());
    }
}
