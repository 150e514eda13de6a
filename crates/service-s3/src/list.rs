//! ListObjects (v1) and ListObjectsV2: one walk over the bucket's keys in order, from a start
//! key, folding keys that share a prefix up to the delimiter into one CommonPrefix. After a
//! common prefix the walk jumps to the first key past it (a new range scan), so a prefix holding
//! a million keys costs one read, not a million.

use std::ops::Bound;

use base64::Engine as _;
use s3s::dto::*;
use storage::KeyRange;

use crate::buckets::{self, timestamp};
use crate::engine::{Cx, Engine};
use crate::error::{Error, Result};
use crate::model::{self, OBJECTS, ObjectRecord};

/// Keys read per range scan.
const PAGE: usize = 1000;

/// One page of a listing.
pub struct Listing {
    pub objects: Vec<(String, ObjectRecord)>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or common prefix returned: where the next page starts.
    pub last: Option<String>,
}

/// The first key after every key that starts with `prefix`.
pub(crate) fn after_prefix(prefix: &[u8]) -> Bound<Vec<u8>> {
    match KeyRange::prefix(prefix.to_vec()).end {
        Bound::Excluded(end) => Bound::Included(end),
        other => other,
    }
}

/// Lists the bucket's keys under `prefix` strictly after `start_after`, up to `max` entries
/// (objects and common prefixes together, as S3 counts them).
pub fn walk(
    e: &Engine,
    cx: &Cx,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
    start_after: Option<&str>,
    max: usize,
) -> Result<Listing> {
    let base = model::objects_prefix(&cx.account, bucket);
    let full = |s: &str| {
        let mut k = base.clone();
        k.extend_from_slice(s.as_bytes());
        k
    };
    let end = KeyRange::prefix(full(prefix)).end;
    let mut cursor = match start_after {
        Some(s) if s >= prefix => Bound::Excluded(full(s)),
        _ => Bound::Included(full(prefix)),
    };
    let delimiter = delimiter.filter(|d| !d.is_empty());
    let mut out = Listing { objects: Vec::new(), prefixes: Vec::new(), truncated: false, last: None };
    if max == 0 {
        return Ok(out);
    }
    'scan: loop {
        let rows = e.kv.scan(OBJECTS, KeyRange::new(cursor.clone(), end.clone()), PAGE)?;
        if rows.is_empty() {
            break;
        }
        let full_page = rows.len() == PAGE;
        let mut last_key = None;
        for (k, v) in rows {
            let key = String::from_utf8_lossy(&k[base.len()..]).into_owned();
            let common = delimiter.and_then(|d| {
                key[prefix.len()..].find(d).map(|i| key[..prefix.len() + i + d.len()].to_owned())
            });
            if let Some(cp) = common {
                // A prefix already returned on an earlier page (its marker) is skipped.
                if start_after.is_none_or(|s| cp.as_str() > s) {
                    if out.objects.len() + out.prefixes.len() == max {
                        out.truncated = true;
                        break 'scan;
                    }
                    out.prefixes.push(cp.clone());
                    out.last = Some(cp.clone());
                }
                cursor = after_prefix(&full(&cp));
                continue 'scan;
            }
            if out.objects.len() + out.prefixes.len() == max {
                out.truncated = true;
                break 'scan;
            }
            let record: ObjectRecord = model::decode(&v)?;
            out.last = Some(key.clone());
            out.objects.push((key, record));
            last_key = Some(k);
        }
        match last_key {
            Some(k) if full_page => cursor = Bound::Excluded(k),
            _ if full_page => {}
            _ => break,
        }
    }
    Ok(out)
}

fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// With `EncodingType=url`, S3 URL-encodes the keys and prefixes it answers.
pub(crate) struct Encoder(bool);

impl Encoder {
    pub(crate) fn new(encoding: Option<&EncodingType>) -> Result<Encoder> {
        match encoding.map(EncodingType::as_str) {
            None => Ok(Encoder(false)),
            Some("url") => Ok(Encoder(true)),
            Some(_) => Err(Error::InvalidArgument("Invalid Encoding Method specified in Request".into())),
        }
    }

    pub(crate) fn apply(&self, s: String) -> String {
        if self.0 { url_encode(&s) } else { s }
    }

    pub(crate) fn opt(&self, s: Option<String>) -> Option<String> {
        s.map(|s| self.apply(s))
    }
}

pub(crate) fn max_keys(m: Option<i32>) -> Result<usize> {
    match m {
        None => Ok(1000),
        Some(n) if n < 0 => {
            Err(Error::InvalidArgument("Argument maxKeys must be an integer between 0 and 2147483647".into()))
        }
        Some(n) => Ok((n as usize).min(1000)),
    }
}

fn contents(l: &[(String, ObjectRecord)], enc: &Encoder, owner: Option<Owner>) -> Vec<Object> {
    l.iter()
        .map(|(key, r)| Object {
            key: Some(enc.apply(key.clone())),
            last_modified: Some(timestamp(r.modified_ms)),
            e_tag: Some(ETag::Strong(r.etag.clone())),
            size: Some(r.size as i64),
            storage_class: Some(ObjectStorageClass::from(
                r.storage_class.clone().unwrap_or_else(|| "STANDARD".into()),
            )),
            checksum_algorithm: r
                .checksum
                .as_ref()
                .map(|c| vec![ChecksumAlgorithm::from(c.algorithm.clone())]),
            checksum_type: r.checksum.as_ref().map(|c| {
                ChecksumType::from(if c.composite { "COMPOSITE" } else { "FULL_OBJECT" }.to_owned())
            }),
            owner: owner.clone(),
            ..Default::default()
        })
        .collect()
}

fn prefixes(l: &[String], enc: &Encoder) -> Vec<CommonPrefix> {
    l.iter().map(|p| CommonPrefix { prefix: Some(enc.apply(p.clone())) }).collect()
}

pub async fn v1(e: &Engine, cx: &Cx, input: ListObjectsInput) -> Result<ListObjectsOutput> {
    buckets::load(e, cx, &input.bucket)?;
    let enc = Encoder::new(input.encoding_type.as_ref())?;
    let max = max_keys(input.max_keys)?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let l = walk(e, cx, &input.bucket, &prefix, input.delimiter.as_deref(), input.marker.as_deref(), max)?;
    // NextMarker is only sent with a delimiter; without one the client takes the last key.
    let next_marker = if l.truncated && input.delimiter.is_some() { enc.opt(l.last.clone()) } else { None };
    Ok(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: Some(enc.apply(prefix)),
        marker: Some(enc.apply(input.marker.unwrap_or_default())),
        max_keys: Some(input.max_keys.unwrap_or(1000)),
        is_truncated: Some(l.truncated),
        contents: (!l.objects.is_empty()).then(|| contents(&l.objects, &enc, Some(buckets::owner(cx)))),
        common_prefixes: (!l.prefixes.is_empty()).then(|| prefixes(&l.prefixes, &enc)),
        delimiter: enc.opt(input.delimiter),
        next_marker,
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

fn token_of(last: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(last.as_bytes())
}

fn token_key(token: &str) -> Result<String> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| Error::InvalidArgument("The continuation token provided is incorrect".into()))
}

pub async fn v2(e: &Engine, cx: &Cx, input: ListObjectsV2Input) -> Result<ListObjectsV2Output> {
    buckets::load(e, cx, &input.bucket)?;
    let enc = Encoder::new(input.encoding_type.as_ref())?;
    let max = max_keys(input.max_keys)?;
    let prefix = input.prefix.clone().unwrap_or_default();
    // The token wins over StartAfter: it is further along.
    let start = match &input.continuation_token {
        Some(t) => Some(token_key(t)?),
        None => input.start_after.clone(),
    };
    let l = walk(e, cx, &input.bucket, &prefix, input.delimiter.as_deref(), start.as_deref(), max)?;
    let owner = input.fetch_owner.unwrap_or(false).then(|| buckets::owner(cx));
    Ok(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: Some(enc.apply(prefix)),
        max_keys: Some(input.max_keys.unwrap_or(1000)),
        key_count: Some((l.objects.len() + l.prefixes.len()) as i32),
        continuation_token: input.continuation_token,
        is_truncated: Some(l.truncated),
        next_continuation_token: if l.truncated { l.last.as_deref().map(token_of) } else { None },
        contents: (!l.objects.is_empty()).then(|| contents(&l.objects, &enc, owner)),
        common_prefixes: (!l.prefixes.is_empty()).then(|| prefixes(&l.prefixes, &enc)),
        delimiter: enc.opt(input.delimiter),
        encoding_type: input.encoding_type,
        start_after: enc.opt(input.start_after),
        ..Default::default()
    })
}
