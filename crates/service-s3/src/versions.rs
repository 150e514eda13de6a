//! Object versions: every version of every key, objects and delete markers alike, lives in
//! `s3.versions` under `{account}/{bucket}/{key}\0{inverted stamp}`, so a key's versions sort
//! newest first right after each other and ListObjectVersions is one ordered walk. `s3.objects`
//! keeps a copy of a key's latest version when that version is an object, so GET and the plain
//! listings read one record as before; both tables change in the same batch.
//!
//! The two copies of the latest version differ in one way: a small object's bytes, inline in
//! its record, are kept only in `s3.objects` (the `s3.versions` copy says `bytes_in_current`),
//! so a PUT writes them once. When the version stops being the latest and stays (a newer
//! version or a delete marker goes on top), its full record moves into `s3.versions` in the
//! same batch; a read by version id that finds the flag takes the bytes from `s3.objects`.
//!
//! A bucket that never had versioning holds one `null` version per key. Writers of one key hold
//! its lock stripe from the read to the commit, so versions are stamped in commit order; the
//! preconditions stay, for the bucket (and an upload) that may vanish meanwhile.

use std::ops::Bound;

use s3s::dto::*;
use storage::{Batch, CommitError, Condition, KeyRange, Kv};

use crate::body;
use crate::buckets::{self, millis, timestamp};
use crate::engine::{Cx, Engine};
use crate::error::{Error, Result};
use crate::list::{Encoder, after_prefix, max_keys};
use crate::model::{self, BUCKETS, BucketRecord, OBJECTS, ObjectRecord};
use crate::notify::Change;

pub const VERSIONS: &str = "s3.versions";
const META: &str = "s3.meta";
const LAYOUT: &[u8] = b"layout";
/// The layout with `s3.versions`; data dirs from before it are migrated by [`migrate`].
const LAYOUT_VERSIONS: &[u8] = b"2";

/// A bucket's versioning state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Versioning {
    Unversioned,
    Enabled,
    Suspended,
}

impl Versioning {
    pub fn of(bucket: &BucketRecord) -> Versioning {
        match bucket.versioning.as_deref() {
            Some("Enabled") => Versioning::Enabled,
            Some("Suspended") => Versioning::Suspended,
            _ => Versioning::Unversioned,
        }
    }
}

/// The prefix of every version of `key` (`\0` cannot occur in a key S3 accepts in XML, and
/// sorts before every byte that can, so a key's versions come before its extensions').
fn key_prefix(object_key: &[u8]) -> Vec<u8> {
    let mut k = object_key.to_vec();
    k.push(0);
    k
}

/// Newer stamps sort first.
fn version_key_of(object_key: &[u8], stamp: u64) -> Vec<u8> {
    let mut k = key_prefix(object_key);
    k.extend_from_slice(format!("{:016x}", u64::MAX - stamp).as_bytes());
    k
}

#[cfg(test)]
fn version_key(account: &str, bucket: &str, key: &str, stamp: u64) -> Vec<u8> {
    version_key_of(&model::object_key(account, bucket, key), stamp)
}

/// The object key in a version key, given the length of its bucket's prefix.
pub fn key_of(base: usize, k: &[u8]) -> Option<String> {
    let end = k.len().checked_sub(17)?;
    (end >= base && k[end] == 0).then(|| String::from_utf8_lossy(&k[base..end]).into_owned())
}

/// Version ids carry their stamp (16 hex digits) and 16 random ones, so a version is found by
/// its id with one read.
pub fn new_id(stamp: u64) -> String {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    format!("{stamp:016x}{random:016x}")
}

fn stamp_of(id: &str) -> Option<u64> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(&id[..16], 16).ok()
}

/// The version id as S3 writes it: `null` for the null version.
pub fn wire_id(r: &ObjectRecord) -> String {
    r.version_id.clone().unwrap_or_else(|| "null".to_owned())
}

fn invalid_id() -> Error {
    Error::InvalidArgument("Invalid version id specified".into())
}

/// Checks the form of a version id a request names.
pub fn check_id(id: &str) -> Result<()> {
    if id == "null" || stamp_of(id).is_some() { Ok(()) } else { Err(invalid_id()) }
}

fn is(r: &ObjectRecord, id: &str) -> bool {
    match &r.version_id {
        None => id == "null",
        Some(v) => v == id,
    }
}

type Found = (Vec<u8>, Vec<u8>, ObjectRecord);

/// A version about to be replaced: its store key, the raw value its removal expects (none when
/// another expectation already guards it), and its record.
type Replaced = (Vec<u8>, Option<Vec<u8>>, ObjectRecord);

/// Every version of `key`, newest first, with its store key and raw value.
fn all_of(e: &Engine, object_key: &[u8]) -> Result<Vec<Found>> {
    e.kv.scan_prefix(VERSIONS, &key_prefix(object_key), storage::UNLIMITED)?
        .into_iter()
        .map(|(k, v)| {
            let r = model::decode(&v)?;
            Ok((k, v, r))
        })
        .collect()
}

/// The version `id` of `key`, if it exists.
fn find(e: &Engine, object_key: &[u8], id: &str) -> Result<Option<Found>> {
    if id == "null" {
        return Ok(all_of(e, object_key)?.into_iter().find(|(_, _, r)| r.version_id.is_none()));
    }
    let stamp = stamp_of(id).ok_or_else(invalid_id)?;
    let k = version_key_of(object_key, stamp);
    let Some(raw) = e.kv.get(VERSIONS, &k)? else { return Ok(None) };
    let r: ObjectRecord = model::decode(&raw)?;
    Ok(is(&r, id).then_some((k, raw, r)))
}

/// The record a read names: the latest version, or version `id`. A delete marker answers
/// `NoSuchKey` as the latest version and `MethodNotAllowed` by id, with its headers.
pub fn read(e: &Engine, cx: &Cx, bucket: &str, key: &str, id: Option<&str>) -> Result<ObjectRecord> {
    let ok = model::object_key(&cx.account, bucket, key);
    match id {
        None => {
            if let Some(r) = model::get(e.kv.as_ref(), OBJECTS, &ok)? {
                return Ok(r);
            }
            buckets::load(e, cx, bucket)?;
            let latest = e.kv.scan_prefix(VERSIONS, &key_prefix(&ok), 1)?;
            match latest.first() {
                Some((_, v)) => {
                    let r: ObjectRecord = model::decode(v)?;
                    Err(if r.delete_marker { Error::DeleteMarker(wire_id(&r)) } else { Error::NoSuchKey })
                }
                None => Err(Error::NoSuchKey),
            }
        }
        Some(id) => {
            check_id(id)?;
            match find(e, &ok, id)?.map(|f| whole(e, &ok, f)).transpose()? {
                Some((_, _, r)) if r.delete_marker => Err(Error::MethodNotAllowed(wire_id(&r))),
                Some((_, _, r)) => Ok(r),
                None => {
                    buckets::load(e, cx, bucket)?;
                    Err(Error::NoSuchVersion)
                }
            }
        }
    }
}

fn condition(current: &Option<Vec<u8>>) -> Condition {
    current.clone().map_or(Condition::Absent, Condition::Value)
}

/// The `s3.versions` copy of the latest version's record: without the inline bytes, which the
/// `s3.objects` copy holds.
fn version_copy(record: &ObjectRecord) -> Result<Vec<u8>> {
    if !record.pieces.iter().any(|p| p.inline.is_some()) {
        return model::encode(record);
    }
    let mut copy = record.clone();
    for p in &mut copy.pieces {
        p.inline = None;
    }
    copy.bytes_in_current = true;
    model::encode(&copy)
}

/// Adds to `batch` what keeps the current version `raw` (of `s3.objects`) whole in
/// `s3.versions` once something else becomes the latest; `replaced` is the version key the
/// batch already removes, if any (the current one may be it).
fn keep_whole(batch: Batch, ok: &[u8], raw: &[u8], replaced: Option<&[u8]>) -> Result<Batch> {
    let r: ObjectRecord = model::decode(raw)?;
    let Some(stamp) = r.stamp else { return Ok(batch) };
    let k = version_key_of(ok, stamp);
    if replaced == Some(k.as_slice()) || !r.pieces.iter().any(|p| p.inline.is_some()) {
        return Ok(batch);
    }
    Ok(batch.put(VERSIONS, k, raw.to_vec()))
}

/// A version's full record: the `s3.objects` copy when the `s3.versions` one left its bytes
/// there. A concurrent write may have moved them back meanwhile; the version is read again then.
fn whole(e: &Engine, ok: &[u8], found: Found) -> Result<Found> {
    let mut found = found;
    for _ in 0..3 {
        if !found.2.bytes_in_current {
            return Ok(found);
        }
        if let Some(raw) = e.kv.get(OBJECTS, ok)? {
            let current: ObjectRecord = model::decode(&raw)?;
            if current.stamp == found.2.stamp {
                return Ok((found.0, raw, current));
            }
        }
        let Some(raw) = e.kv.get(VERSIONS, &found.0)? else { return Err(Error::NoSuchVersion) };
        let r = model::decode(&raw)?;
        found = (found.0, raw, r);
    }
    Err(Error::InternalError("a version's bytes moved three times while it was read".into()))
}

/// What a caller commits along with a new version (a multipart upload's removal), and the error
/// when one of its preconditions fails.
pub struct Extra<'a> {
    pub batch: &'a dyn Fn() -> Batch,
    pub failed: fn() -> Error,
}

/// Commits `batch` (whose first op expects the bucket); `Ok(false)` when a later precondition
/// failed and the caller should read again.
fn commit(
    e: &Engine,
    batch: Batch,
    extra_conditions: usize,
    failed: fn() -> Error,
    announced: bool,
) -> Result<bool> {
    match e.kv.commit(batch) {
        Ok(()) => {
            if announced {
                e.notifier.wake();
            }
            Ok(true)
        }
        Err(CommitError::ConditionFailed { index: 0 }) => Err(Error::NoSuchBucket),
        Err(CommitError::ConditionFailed { index }) if index <= extra_conditions => Err(failed()),
        Err(CommitError::ConditionFailed { .. }) => Ok(false),
        Err(CommitError::Storage(err)) => Err(err.into()),
    }
}

#[allow(clippy::too_many_arguments)]
fn announce(
    e: &Engine,
    cx: &Cx,
    batch: &mut Batch,
    bucket: &BucketRecord,
    event: Option<&'static str>,
    key: &str,
    r: &ObjectRecord,
    versioned: bool,
) -> Result<bool> {
    let Some(event) = event else { return Ok(false) };
    let id = versioned.then(|| wire_id(r));
    let object = !r.delete_marker && event.starts_with("ObjectCreated");
    let change = Change {
        event,
        key,
        size: object.then_some(r.size),
        etag: object.then_some(r.etag.as_str()),
        version_id: id.as_deref(),
    };
    e.notifier.add(batch, cx, bucket, &change, millis(e.now()))
}

/// The `null` version a new latest version of `key` replaces, if any (none when versioning is
/// enabled), with the value its removal expects when it was read on its own. A bucket that was
/// never versioned keeps exactly one version per key, the current object (both rows are written
/// and removed together), so the current record names it: no scan of the key's versions, and
/// the batch's expectation on the current object already guards it.
fn replaced_null(
    e: &Engine,
    state: Versioning,
    ok: &[u8],
    current: Option<&[u8]>,
) -> Result<Option<Replaced>> {
    let scanned = |found: Option<Found>| found.map(|(k, raw, r)| (k, Some(raw), r));
    match (state, current) {
        (Versioning::Enabled, _) | (Versioning::Unversioned, None) => Ok(None),
        (Versioning::Unversioned, Some(raw)) => {
            let r: ObjectRecord = model::decode(raw)?;
            match r.stamp {
                Some(stamp) => Ok(Some((version_key_of(ok, stamp), None, r))),
                None => Ok(scanned(find(e, ok, "null")?)),
            }
        }
        (Versioning::Suspended, _) => Ok(scanned(find(e, ok, "null")?)),
    }
}

/// Makes `record` the latest version of `key`: a new version when versioning is enabled,
/// otherwise the new `null` version, replacing (and freeing) the previous one. `if_absent` is
/// `If-None-Match: *`. Returns the record as stored.
#[allow(clippy::too_many_arguments)]
pub fn put(
    e: &Engine,
    cx: &Cx,
    bucket: &BucketRecord,
    key: &str,
    mut record: ObjectRecord,
    if_absent: bool,
    extra: Option<Extra<'_>>,
    event: Option<&'static str>,
) -> Result<ObjectRecord> {
    let state = Versioning::of(bucket);
    let ok = model::object_key(&cx.account, &bucket.name, key);
    let _guard = e.lock(&cx.account, &bucket.name, key);
    let hold = e.meter.hold();
    loop {
        let current = e.kv.get(OBJECTS, &ok)?;
        if if_absent && current.is_some() {
            return Err(Error::PreconditionFailed);
        }
        let stamp = e.next_stamp();
        record.stamp = Some(stamp);
        record.version_id = (state == Versioning::Enabled).then(|| new_id(stamp));
        record.delete_marker = false;
        let mut batch = Batch::new().expect_present(BUCKETS, model::bucket_key(&cx.account, &bucket.name));
        let mut extra_conditions = 0;
        if let Some(x) = &extra {
            for op in (x.batch)().into_ops() {
                extra_conditions += usize::from(matches!(op, storage::Op::Expect { .. }));
                batch.push(op);
            }
        }
        batch = batch
            .expect(OBJECTS, ok.clone(), condition(&current))
            .put(OBJECTS, ok.clone(), model::encode(&record)?)
            .put(VERSIONS, version_key_of(&ok, stamp), version_copy(&record)?);
        let mut freed = Vec::new();
        let mut replaced = None;
        let mut replaced_size = 0;
        if let Some((k, raw, old)) = replaced_null(e, state, &ok, current.as_deref())? {
            if let Some(raw) = raw {
                batch = batch.expect_value(VERSIONS, k.clone(), raw);
            }
            batch = batch.delete(VERSIONS, k.clone());
            freed = old.pieces;
            replaced = Some(k);
            replaced_size = old.size;
        }
        if let Some(raw) = &current
            && state != Versioning::Unversioned
        {
            batch = keep_whole(batch, &ok, raw, replaced.as_deref())?;
        }
        let announced =
            announce(e, cx, &mut batch, bucket, event, key, &record, state != Versioning::Unversioned)?;
        let failed: fn() -> Error = extra.as_ref().map_or(|| Error::NoSuchBucket, |x| x.failed);
        if commit(e, batch, extra_conditions, failed, announced)? {
            body::forget(&e.blobs, freed);
            let added = version_key_of(&ok, stamp);
            let mut changes = vec![(added.as_slice(), signed(record.size))];
            if let Some(k) = &replaced {
                changes.push((k.as_slice(), -signed(replaced_size)));
            }
            e.meter.stored(&hold, &cx.account, bucket, &changes);
            return Ok(record);
        }
    }
}

/// A size as a change in stored bytes (no object comes near `i64::MAX`).
fn signed(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// What a DELETE did: the version it created or removed, and whether that is a delete marker.
#[derive(Debug, Default)]
pub struct Deleted {
    pub version_id: Option<String>,
    pub delete_marker: bool,
}

/// DELETE without a version id: removes the object of an unversioned bucket; otherwise puts a
/// delete marker on top (the `null` one when suspended, replacing the `null` version).
/// `family` is the notification family (`ObjectRemoved`, `LifecycleExpiration`).
pub fn delete_latest(e: &Engine, cx: &Cx, bucket: &BucketRecord, key: &str, family: &str) -> Result<Deleted> {
    let state = Versioning::of(bucket);
    let ok = model::object_key(&cx.account, &bucket.name, key);
    let _guard = e.lock(&cx.account, &bucket.name, key);
    let hold = e.meter.hold();
    let (delete, marker_created): (&'static str, &'static str) = if family == "LifecycleExpiration" {
        ("LifecycleExpiration:Delete", "LifecycleExpiration:DeleteMarkerCreated")
    } else {
        ("ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated")
    };
    loop {
        let current = e.kv.get(OBJECTS, &ok)?;
        let mut batch = Batch::new().expect_present(BUCKETS, model::bucket_key(&cx.account, &bucket.name));
        let mut freed = Vec::new();
        if state == Versioning::Unversioned {
            let Some(raw) = current else { return Ok(Deleted::default()) };
            let old: ObjectRecord = model::decode(&raw)?;
            batch = batch.expect_value(OBJECTS, ok.clone(), raw).delete(OBJECTS, ok.clone());
            let mut removed = Vec::new();
            for (k, _, r) in all_of(e, &ok)? {
                batch = batch.delete(VERSIONS, k.clone());
                removed.push((k, -signed(r.size)));
                freed.extend(r.pieces);
            }
            let announced = announce(e, cx, &mut batch, bucket, Some(delete), key, &old, false)?;
            if commit(e, batch, 0, || Error::NoSuchBucket, announced)? {
                body::forget(&e.blobs, freed);
                let changes: Vec<(&[u8], i64)> = removed.iter().map(|(k, d)| (k.as_slice(), *d)).collect();
                e.meter.stored(&hold, &cx.account, bucket, &changes);
                return Ok(Deleted::default());
            }
            continue;
        }
        let stamp = e.next_stamp();
        let marker = ObjectRecord {
            v: 1,
            modified_ms: millis(e.now()),
            version_id: (state == Versioning::Enabled).then(|| new_id(stamp)),
            stamp: Some(stamp),
            delete_marker: true,
            ..Default::default()
        };
        batch = batch.expect(OBJECTS, ok.clone(), condition(&current));
        if current.is_some() {
            batch = batch.delete(OBJECTS, ok.clone());
        }
        let mut replaced = None;
        let mut removed = 0;
        if state == Versioning::Suspended
            && let Some((k, raw, old)) = find(e, &ok, "null")?
        {
            batch = batch.expect_value(VERSIONS, k.clone(), raw).delete(VERSIONS, k.clone());
            freed = old.pieces;
            replaced = Some(k);
            removed = -signed(old.size);
        }
        if let Some(raw) = &current {
            batch = keep_whole(batch, &ok, raw, replaced.as_deref())?;
        }
        batch = batch.put(VERSIONS, version_key_of(&ok, stamp), model::encode(&marker)?);
        let out = Deleted { version_id: Some(wire_id(&marker)), delete_marker: true };
        let announced = announce(e, cx, &mut batch, bucket, Some(marker_created), key, &marker, true)?;
        if commit(e, batch, 0, || Error::NoSuchBucket, announced)? {
            body::forget(&e.blobs, freed);
            if let Some(k) = &replaced {
                e.meter.stored(&hold, &cx.account, bucket, &[(k.as_slice(), removed)]);
            }
            return Ok(out);
        }
    }
}

/// DELETE with a version id: removes that version for good (deleting an absent version
/// succeeds, as in S3). When it was the latest, the next one takes its place.
pub fn delete_version(
    e: &Engine,
    cx: &Cx,
    bucket: &BucketRecord,
    key: &str,
    id: &str,
    event: &'static str,
) -> Result<Deleted> {
    check_id(id)?;
    let ok = model::object_key(&cx.account, &bucket.name, key);
    let _guard = e.lock(&cx.account, &bucket.name, key);
    let hold = e.meter.hold();
    loop {
        let versions = all_of(e, &ok)?;
        let Some(at) = versions.iter().position(|(_, _, r)| is(r, id)) else {
            return Ok(Deleted { version_id: Some(id.to_owned()), delete_marker: false });
        };
        let (k, raw, gone) = &versions[at];
        let mut batch = Batch::new()
            .expect_present(BUCKETS, model::bucket_key(&cx.account, &bucket.name))
            .expect_value(VERSIONS, k.clone(), raw.clone())
            .delete(VERSIONS, k.clone());
        if at == 0 {
            let current = e.kv.get(OBJECTS, &ok)?;
            batch = batch.expect(OBJECTS, ok.clone(), condition(&current));
            batch = match versions.get(1) {
                Some((_, next_raw, next)) if !next.delete_marker => {
                    batch.put(OBJECTS, ok.clone(), next_raw.clone())
                }
                _ => batch.delete(OBJECTS, ok.clone()),
            };
        }
        let announced = announce(e, cx, &mut batch, bucket, Some(event), key, gone, true)?;
        if commit(e, batch, 0, || Error::NoSuchBucket, announced)? {
            body::forget(&e.blobs, gone.pieces.clone());
            e.meter.stored(&hold, &cx.account, bucket, &[(k.as_slice(), -signed(gone.size))]);
            return Ok(Deleted { version_id: Some(id.to_owned()), delete_marker: gone.delete_marker });
        }
    }
}

/// Rewrites one version's record with `change` applied (tagging): the latest version, or
/// version `id`. Returns the version id as written on the wire when the bucket is versioned.
pub fn update(
    e: &Engine,
    cx: &Cx,
    bucket: &str,
    key: &str,
    id: Option<&str>,
    change: impl Fn(&mut ObjectRecord),
) -> Result<ObjectRecord> {
    let ok = model::object_key(&cx.account, bucket, key);
    let _guard = e.lock(&cx.account, bucket, key);
    loop {
        let target = read(e, cx, bucket, key, id)?;
        let stamp = target.stamp.ok_or_else(|| Error::InternalError("a version without a stamp".into()))?;
        let k = version_key_of(&ok, stamp);
        let raw = e.kv.get(VERSIONS, &k)?.ok_or(Error::NoSuchVersion)?;
        let mut batch = Batch::new()
            .expect_present(BUCKETS, model::bucket_key(&cx.account, bucket))
            .expect_value(VERSIONS, k.clone(), raw.clone());
        let current = e.kv.get(OBJECTS, &ok)?;
        let latest = match &current {
            Some(cur) => Some(model::decode::<ObjectRecord>(cur)?).filter(|c| c.stamp == Some(stamp)),
            None => None,
        };
        // The latest version is changed from its `s3.objects` copy, the one with all its bytes.
        let record = if let Some(mut record) = latest {
            change(&mut record);
            batch = batch
                .expect(OBJECTS, ok.clone(), condition(&current))
                .put(OBJECTS, ok.clone(), model::encode(&record)?)
                .put(VERSIONS, k, version_copy(&record)?);
            record
        } else {
            let mut record: ObjectRecord = model::decode(&raw)?;
            change(&mut record);
            batch = batch.put(VERSIONS, k, model::encode(&record)?);
            record
        };
        if commit(e, batch, 0, || Error::NoSuchBucket, false)? {
            return Ok(record);
        }
    }
}

/// Whether the bucket holds any version or delete marker.
pub fn bucket_has_versions(kv: &dyn Kv, account: &str, bucket: &str) -> Result<bool> {
    Ok(!kv.scan_prefix(VERSIONS, &model::objects_prefix(account, bucket), 1)?.is_empty())
}

/// Gives every object written before versions existed its `null` version in `s3.versions`.
/// Each object moves in its own batch, so a crash midway leaves a consistent store to finish.
pub fn migrate(kv: &dyn Kv) -> Result<()> {
    if kv.get(META, LAYOUT)?.as_deref() == Some(LAYOUT_VERSIONS) {
        return Ok(());
    }
    for (k, v) in kv.scan_all(OBJECTS, KeyRange::all())? {
        let mut r: ObjectRecord = model::decode(&v)?;
        if r.stamp.is_some() {
            continue;
        }
        let stamp = u64::try_from(r.modified_ms).unwrap_or(0).saturating_mul(1000);
        r.stamp = Some(stamp);
        let encoded = model::encode(&r)?;
        let batch = Batch::new()
            .expect_value(OBJECTS, k.clone(), v)
            .put(OBJECTS, k.clone(), encoded.clone())
            .put(VERSIONS, version_key_of(&k, stamp), encoded);
        match kv.commit(batch) {
            Ok(()) | Err(CommitError::ConditionFailed { .. }) => {}
            Err(CommitError::Storage(err)) => return Err(err.into()),
        }
    }
    kv.put(META, LAYOUT, LAYOUT_VERSIONS)?;
    Ok(())
}

/// One entry of a version listing.
enum Entry {
    Version(String, Box<ObjectRecord>, bool),
    Prefix(String),
}

pub async fn list(e: &Engine, cx: &Cx, input: ListObjectVersionsInput) -> Result<ListObjectVersionsOutput> {
    buckets::load(e, cx, &input.bucket)?;
    let enc = Encoder::new(input.encoding_type.as_ref())?;
    let max = max_keys(input.max_keys)?;
    let prefix = input.prefix.clone().unwrap_or_default();
    let delimiter = input.delimiter.clone().filter(|d| !d.is_empty());
    let key_marker = input.key_marker.clone().filter(|m| !m.is_empty());
    let id_marker = input.version_id_marker.clone().filter(|m| !m.is_empty());
    if id_marker.is_some() && key_marker.is_none() {
        return Err(Error::InvalidArgument(
            "A version-id marker cannot be specified without a key marker.".into(),
        ));
    }
    let base = model::objects_prefix(&cx.account, &input.bucket);
    let full = |s: &str| {
        let mut k = base.clone();
        k.extend_from_slice(s.as_bytes());
        k
    };
    let end = KeyRange::prefix(full(&prefix)).end;
    // Where the walk starts, and the key whose latest version was already listed.
    let (mut cursor, mut previous) = match (&key_marker, &id_marker) {
        (Some(km), _) if km.as_str() < prefix.as_str() => (Bound::Included(full(&prefix)), None),
        (Some(km), Some(id)) => {
            check_id(id)?;
            match find(e, &full(km), id)? {
                Some((k, _, _)) => (Bound::Excluded(k), Some(km.clone())),
                None => (after_prefix(&key_prefix(&full(km))), None),
            }
        }
        (Some(km), None) => (after_prefix(&key_prefix(&full(km))), None),
        (None, _) => (Bound::Included(full(&prefix)), None),
    };
    let mut out: Vec<Entry> = Vec::new();
    let mut truncated = false;
    'scan: loop {
        let rows = e.kv.scan(VERSIONS, KeyRange::new(cursor.clone(), end.clone()), 1000)?;
        if rows.is_empty() {
            break;
        }
        let full_page = rows.len() == 1000;
        let mut last = None;
        for (k, v) in rows {
            let Some(key) = key_of(base.len(), &k) else { continue };
            let common = delimiter.as_deref().and_then(|d| {
                key.get(prefix.len()..)
                    .and_then(|rest| rest.find(d))
                    .map(|i| key[..prefix.len() + i + d.len()].to_owned())
            });
            if let Some(cp) = common {
                if key_marker.as_deref().is_none_or(|m| cp.as_str() > m) {
                    if out.len() == max {
                        truncated = true;
                        break 'scan;
                    }
                    out.push(Entry::Prefix(cp.clone()));
                }
                cursor = after_prefix(&full(&cp));
                continue 'scan;
            }
            if out.len() == max {
                truncated = true;
                break 'scan;
            }
            let latest = previous.as_deref() != Some(key.as_str());
            previous = Some(key.clone());
            out.push(Entry::Version(key, Box::new(model::decode(&v)?), latest));
            last = Some(k);
        }
        match last {
            Some(k) if full_page => cursor = Bound::Excluded(k),
            _ if full_page => {}
            _ => break,
        }
    }
    let owner = buckets::owner(cx);
    let (mut versions, mut markers, mut prefixes) = (Vec::new(), Vec::new(), Vec::new());
    let (mut next_key, mut next_id) = (None, None);
    for entry in &out {
        match entry {
            Entry::Prefix(p) => {
                next_key = Some(p.clone());
                next_id = None;
                prefixes.push(CommonPrefix { prefix: Some(enc.apply(p.clone())) });
            }
            Entry::Version(key, r, latest) => {
                next_key = Some(key.clone());
                next_id = Some(wire_id(r));
                if r.delete_marker {
                    markers.push(DeleteMarkerEntry {
                        is_latest: Some(*latest),
                        key: Some(enc.apply(key.clone())),
                        last_modified: Some(timestamp(r.modified_ms)),
                        owner: Some(owner.clone()),
                        version_id: Some(wire_id(r)),
                    });
                } else {
                    versions.push(ObjectVersion {
                        checksum_algorithm: r
                            .checksum
                            .as_ref()
                            .map(|c| vec![ChecksumAlgorithm::from(c.algorithm.clone())]),
                        e_tag: Some(ETag::Strong(r.etag.clone())),
                        is_latest: Some(*latest),
                        key: Some(enc.apply(key.clone())),
                        last_modified: Some(timestamp(r.modified_ms)),
                        owner: Some(owner.clone()),
                        size: Some(r.size as i64),
                        storage_class: Some(ObjectVersionStorageClass::from(
                            r.storage_class.clone().unwrap_or_else(|| "STANDARD".into()),
                        )),
                        version_id: Some(wire_id(r)),
                        ..Default::default()
                    });
                }
            }
        }
    }
    Ok(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: Some(enc.apply(prefix)),
        key_marker: Some(enc.apply(input.key_marker.unwrap_or_default())),
        version_id_marker: Some(input.version_id_marker.unwrap_or_default()),
        max_keys: Some(input.max_keys.unwrap_or(1000)),
        is_truncated: Some(truncated),
        next_key_marker: if truncated { enc.opt(next_key) } else { None },
        next_version_id_marker: if truncated { next_id } else { None },
        versions: (!versions.is_empty()).then_some(versions),
        delete_markers: (!markers.is_empty()).then_some(markers),
        common_prefixes: (!prefixes.is_empty()).then_some(prefixes),
        delimiter: enc.opt(input.delimiter),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_newest_first_and_before_longer_keys() {
        let older = version_key("1", "b", "a", 10);
        let newer = version_key("1", "b", "a", 11);
        let longer = version_key("1", "b", "a/b", 99);
        assert!(newer < older && older < longer);
        let base = model::objects_prefix("1", "b").len();
        assert_eq!(key_of(base, &longer).as_deref(), Some("a/b"));
    }

    #[test]
    fn ids_carry_their_stamp() {
        let id = new_id(0x1234);
        assert_eq!(stamp_of(&id), Some(0x1234));
        assert!(check_id("null").is_ok());
        assert!(check_id("nope").is_err());
        assert!(check_id(&id).is_ok());
    }
}
