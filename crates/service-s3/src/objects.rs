//! Objects: PUT (streamed into a blob, digests checked, then the version committed in one
//! batch), GET and HEAD (conditions, ranges, checksums, by version), DELETE, DeleteObjects,
//! CopyObject and object tagging; where versions are kept and replaced is `versions`.
//!
//! Ordering is what makes a PUT durable and atomic: the blob is committed (fsynced) first, then
//! the record pointing at it; a crash in between leaves an unreferenced blob and no visible
//! object, and an acknowledged PUT has both on disk. A replaced version's blobs are deleted only
//! after the batch that removed its record committed.

use std::collections::BTreeMap;
use std::ops::Range;

use s3s::dto::*;
use s3s::{S3Request, S3Response};
use time::OffsetDateTime;

use crate::body::{self, Received};
use crate::buckets::{self, millis, timestamp};
use crate::checksum::{self, Wanted};
use crate::engine::{Cx, Engine};
use crate::error::{Error, Result};
use crate::lifecycle;
use crate::model::{BucketRecord, ContentHeaders, ObjectRecord, StoredChecksum};
use crate::unsigned::Trailers;
use crate::versions::{self, Deleted, Versioning};

/// S3's storage classes; PUT refuses any other.
const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_IR",
    "SNOW",
    "EXPRESS_ONEZONE",
];

pub fn storage_class(class: Option<&StorageClass>) -> Result<Option<String>> {
    match class.map(StorageClass::as_str) {
        None | Some("STANDARD") => Ok(None),
        Some(c) if STORAGE_CLASSES.contains(&c) => Ok(Some(c.to_owned())),
        Some(_) => Err(Error::InvalidStorageClass),
    }
}

/// `aws-chunked` is how the body travelled, not how it is stored.
fn content_encoding(value: Option<String>) -> Option<String> {
    let value = value?;
    let rest: Vec<&str> =
        value.split(',').map(str::trim).filter(|e| !e.is_empty() && *e != "aws-chunked").collect();
    (!rest.is_empty()).then(|| rest.join(","))
}

pub fn headers_of(
    content_type: Option<String>,
    encoding: Option<String>,
    disposition: Option<String>,
    language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
) -> ContentHeaders {
    ContentHeaders {
        content_type,
        content_encoding: content_encoding(encoding),
        content_disposition: disposition,
        content_language: language,
        cache_control,
        expires: expires.map(|t| OffsetDateTime::from(t).unix_timestamp()),
    }
}

pub fn metadata_of(m: Option<Metadata>) -> BTreeMap<String, String> {
    m.map(|m| m.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect()).unwrap_or_default()
}

/// Tags from the `x-amz-tagging` header (`k1=v1&k2=v2`, URL-encoded).
pub fn tags_from_header(header: Option<&str>) -> Result<Vec<(String, String)>> {
    let Some(h) = header else { return Ok(Vec::new()) };
    let tags: Vec<(String, String)> = form_urlencoded::parse(h.as_bytes()).into_owned().collect();
    if tags.len() > 10 {
        return Err(Error::InvalidArgument("Object tags cannot be greater than 10".into()));
    }
    Ok(tags)
}

/// A trailing header of the request body: s3s keeps them when it verified the signature,
/// `unsigned` when it decoded the body itself.
fn trailer(
    s3s_trailers: Option<&s3s::TrailingHeaders>,
    ours: Option<&Trailers>,
    name: &str,
) -> Option<String> {
    let from_s3s = s3s_trailers
        .and_then(|t| t.read(|h| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)))
        .flatten();
    from_s3s.or_else(|| ours.and_then(|t| t.get(name)))
}

/// What a body-carrying request (PutObject, UploadPart) says about its body.
pub struct Upload {
    pub body: Option<StreamingBlob>,
    pub wanted: Wanted,
    pub content_md5: Option<String>,
    pub content_length: Option<i64>,
}

impl Upload {
    pub fn new(
        body: Option<StreamingBlob>,
        values: [Option<&str>; 5],
        headers: &http::HeaderMap,
        algorithm: Option<&ChecksumAlgorithm>,
        content_md5: Option<String>,
        content_length: Option<i64>,
    ) -> Upload {
        let trailer = headers.get("x-amz-trailer").and_then(|v| v.to_str().ok());
        let wanted = Wanted::new(values, trailer, algorithm.map(ChecksumAlgorithm::as_str));
        Upload { body, wanted, content_md5, content_length }
    }

    /// Streams the body into an uncommitted blob and checks its length, Content-MD5 and
    /// checksum; the checksum to store comes back with it.
    pub async fn receive(
        self,
        e: &Engine,
        s3s_trailers: Option<&s3s::TrailingHeaders>,
        ours: Option<&Trailers>,
    ) -> Result<(Received, Option<StoredChecksum>)> {
        let received = body::receive(&e.blobs, self.body, self.wanted.hasher()?).await?;
        if let Some(len) = self.content_length
            && u64::try_from(len).ok() != Some(received.size)
        {
            return Err(Error::IncompleteBody(format!("{} of {len} bytes", received.size)));
        }
        checksum::check_md5(self.content_md5.as_deref(), &received.md5)?;
        let sent = self.wanted.trailer_name().and_then(|name| trailer(s3s_trailers, ours, &name));
        let stored = self.wanted.verify(&received.checksums, sent)?;
        Ok((received, stored))
    }
}

pub async fn put(e: &Engine, cx: &Cx, req: S3Request<PutObjectInput>) -> Result<S3Response<PutObjectOutput>> {
    let S3Request { input, headers, extensions, trailing_headers, .. } = req;
    let bucket = buckets::load(e, cx, &input.bucket)?;
    let storage_class = storage_class(input.storage_class.as_ref())?;
    let tags = tags_from_header(input.tagging.as_deref())?;
    let if_absent = input.if_none_match.as_ref().is_some_and(ETagCondition::is_any);
    let acl = crate::acl::for_new_object(&bucket, input.acl.as_ref())?;
    let upload = Upload::new(
        input.body,
        [
            input.checksum_crc32.as_deref(),
            input.checksum_crc32c.as_deref(),
            input.checksum_crc64nvme.as_deref(),
            input.checksum_sha1.as_deref(),
            input.checksum_sha256.as_deref(),
        ],
        &headers,
        input.checksum_algorithm.as_ref(),
        input.content_md5,
        input.content_length,
    );
    let (received, checksum) =
        upload.receive(e, trailing_headers.as_ref(), extensions.get::<Trailers>()).await?;
    let etag = received.etag();
    let size = received.size;
    let piece = received.commit(&e.blobs).await?;
    let record = ObjectRecord {
        v: 1,
        pieces: vec![piece.clone()],
        size,
        etag: etag.clone(),
        modified_ms: millis(e.now()),
        headers: headers_of(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.expires,
        ),
        metadata: metadata_of(input.metadata),
        storage_class,
        checksum: checksum.clone(),
        parts: None,
        tags,
        acl,
        ..Default::default()
    };
    let stored =
        match versions::put(e, cx, &bucket, &input.key, record, if_absent, None, Some("ObjectCreated:Put")) {
            Ok(r) => r,
            Err(err) => {
                body::forget(&e.blobs, vec![piece]);
                return Err(err);
            }
        };
    let c = checksum::to_dto(checksum.as_ref());
    let expiration = lifecycle::expiration_header(&bucket, &input.key, &stored, e.lifecycle);
    Ok(S3Response::new(PutObjectOutput {
        version_id: stored.version_id,
        expiration,
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: c.checksum_type,
        size: Some(size as i64),
        ..Default::default()
    }))
}

/// The `x-amz-version-id` a read answers (the version's id, or `null` for the null version of
/// a bucket that has or had versioning) and its `x-amz-expiration`.
fn version_headers(
    e: &Engine,
    cx: &Cx,
    bucket: &str,
    key: &str,
    record: &ObjectRecord,
) -> Result<(Option<String>, Option<String>)> {
    let b = buckets::load(e, cx, bucket)?;
    let id = match &record.version_id {
        Some(id) => Some(id.clone()),
        None => (Versioning::of(&b) != Versioning::Unversioned).then(|| "null".to_owned()),
    };
    let expiration = lifecycle::expiration_header(&b, key, record, e.lifecycle);
    Ok((id, expiration))
}

fn etag_matches(condition: &ETagCondition, etag: &str) -> bool {
    match condition {
        ETagCondition::Any => true,
        ETagCondition::ETag(t) => t.value() == etag,
    }
}

/// The conditional request headers, in RFC 7232's order of precedence, as S3 applies them:
/// a failing `If-Match` or `If-Unmodified-Since` is 412; a matching `If-None-Match` or a
/// failing `If-Modified-Since` is 304 (412 when `not_modified_is_failure`, as for copies).
pub struct Conditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

impl Conditions<'_> {
    pub fn check(&self, record: &ObjectRecord, not_modified_is_failure: bool) -> Result<()> {
        let modified = record.modified_ms.div_euclid(1000);
        let secs = |t: &Timestamp| OffsetDateTime::from(t.clone()).unix_timestamp();
        match self.if_match {
            Some(c) if !etag_matches(c, &record.etag) => return Err(Error::PreconditionFailed),
            None if self.if_unmodified_since.is_some_and(|t| modified > secs(t)) => {
                return Err(Error::PreconditionFailed);
            }
            _ => {}
        }
        let not_modified = match self.if_none_match {
            Some(c) => etag_matches(c, &record.etag),
            None => self.if_modified_since.is_some_and(|t| modified <= secs(t)),
        };
        if not_modified {
            return Err(if not_modified_is_failure { Error::PreconditionFailed } else { Error::NotModified });
        }
        Ok(())
    }
}

/// The byte range a GET or HEAD answers, and whether it is partial.
fn range_of(
    record: &ObjectRecord,
    range: Option<&s3s::dto::Range>,
    part: Option<i32>,
) -> Result<(Range<u64>, bool)> {
    if let Some(n) = part {
        let index = usize::try_from(n).ok().filter(|n| *n >= 1).ok_or(Error::InvalidArgument(
            "Part number must be an integer between 1 and 10000, inclusive".into(),
        ))?;
        if record.parts.is_none() && index == 1 {
            return Ok((0..record.size, false));
        }
        if index > record.pieces.len() {
            return Err(Error::InvalidRange);
        }
        let start: u64 = record.pieces[..index - 1].iter().map(|p| p.len).sum();
        return Ok((start..start + record.pieces[index - 1].len, true));
    }
    match range {
        None => Ok((0..record.size, false)),
        Some(r) => r.check(record.size).map(|r| (r, true)).map_err(|_| Error::InvalidRange),
    }
}

/// The fields GET and HEAD share.
struct Described {
    content_length: i64,
    content_range: Option<String>,
    e_tag: ETag,
    last_modified: Timestamp,
    checksum: Checksum,
    expires: Option<Timestamp>,
    metadata: Option<Metadata>,
    storage_class: Option<StorageClass>,
    parts_count: Option<i32>,
    tag_count: Option<i32>,
}

fn describe(
    record: &ObjectRecord,
    range: &Range<u64>,
    partial: bool,
    checksum_mode: bool,
    part: Option<i32>,
) -> Described {
    // A checksum describes the whole object (or the part asked for); a range gets none.
    let checksum = if checksum_mode && (!partial || part.is_some() && record.parts.is_none()) {
        checksum::to_dto(record.checksum.as_ref())
    } else {
        Checksum::default()
    };
    Described {
        content_length: (range.end - range.start) as i64,
        content_range: partial
            .then(|| format!("bytes {}-{}/{}", range.start, range.end.saturating_sub(1), record.size)),
        e_tag: ETag::Strong(record.etag.clone()),
        last_modified: timestamp(record.modified_ms),
        checksum,
        expires: record
            .headers
            .expires
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .map(Timestamp::from),
        metadata: (!record.metadata.is_empty()).then(|| record.metadata.clone().into_iter().collect()),
        storage_class: record.storage_class.clone().map(StorageClass::from),
        parts_count: record.parts.filter(|_| part.is_some()).map(|n| n as i32),
        tag_count: (!record.tags.is_empty()).then_some(record.tags.len() as i32),
    }
}

fn content_type(record: &ObjectRecord) -> String {
    record.headers.content_type.clone().unwrap_or_else(|| "binary/octet-stream".to_owned())
}

fn wants_checksum(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case("ENABLED"))
}

pub async fn get(e: &Engine, cx: &Cx, req: S3Request<GetObjectInput>) -> Result<S3Response<GetObjectOutput>> {
    let input = req.input;
    let record = versions::read(e, cx, &input.bucket, &input.key, input.version_id.as_deref())?;
    let (version_id, expiration) = version_headers(e, cx, &input.bucket, &input.key, &record)?;
    Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    }
    .check(&record, false)?;
    let (range, partial) = range_of(&record, input.range.as_ref(), input.part_number)?;
    let d =
        describe(&record, &range, partial, wants_checksum(input.checksum_mode.as_ref()), input.part_number);
    let stream = body::send(&e.blobs, &record.pieces, range).await?;
    let output = GetObjectOutput {
        body: Some(stream),
        accept_ranges: Some("bytes".into()),
        content_length: Some(d.content_length),
        content_range: d.content_range,
        content_type: Some(content_type(&record)),
        content_encoding: record.headers.content_encoding.clone(),
        content_disposition: record.headers.content_disposition.clone(),
        content_language: record.headers.content_language.clone(),
        cache_control: record.headers.cache_control.clone(),
        expires: d.expires,
        e_tag: Some(d.e_tag),
        last_modified: Some(d.last_modified),
        checksum_crc32: d.checksum.checksum_crc32,
        checksum_crc32c: d.checksum.checksum_crc32c,
        checksum_crc64nvme: d.checksum.checksum_crc64nvme,
        checksum_sha1: d.checksum.checksum_sha1,
        checksum_sha256: d.checksum.checksum_sha256,
        checksum_type: d.checksum.checksum_type,
        metadata: d.metadata,
        storage_class: d.storage_class,
        parts_count: d.parts_count,
        tag_count: d.tag_count,
        version_id,
        expiration,
        ..Default::default()
    };
    Ok(if partial {
        S3Response::with_status(output, http::StatusCode::PARTIAL_CONTENT)
    } else {
        S3Response::new(output)
    })
}

pub async fn head(
    e: &Engine,
    cx: &Cx,
    req: S3Request<HeadObjectInput>,
) -> Result<S3Response<HeadObjectOutput>> {
    let input = req.input;
    let record = versions::read(e, cx, &input.bucket, &input.key, input.version_id.as_deref())?;
    let (version_id, expiration) = version_headers(e, cx, &input.bucket, &input.key, &record)?;
    Conditions {
        if_match: input.if_match.as_ref(),
        if_none_match: input.if_none_match.as_ref(),
        if_modified_since: input.if_modified_since.as_ref(),
        if_unmodified_since: input.if_unmodified_since.as_ref(),
    }
    .check(&record, false)?;
    let (range, partial) = range_of(&record, input.range.as_ref(), input.part_number)?;
    let d =
        describe(&record, &range, partial, wants_checksum(input.checksum_mode.as_ref()), input.part_number);
    let output = HeadObjectOutput {
        accept_ranges: Some("bytes".into()),
        content_length: Some(d.content_length),
        content_range: d.content_range,
        content_type: Some(content_type(&record)),
        content_encoding: record.headers.content_encoding.clone(),
        content_disposition: record.headers.content_disposition.clone(),
        content_language: record.headers.content_language.clone(),
        cache_control: record.headers.cache_control.clone(),
        expires: d.expires,
        e_tag: Some(d.e_tag),
        last_modified: Some(d.last_modified),
        checksum_crc32: d.checksum.checksum_crc32,
        checksum_crc32c: d.checksum.checksum_crc32c,
        checksum_crc64nvme: d.checksum.checksum_crc64nvme,
        checksum_sha1: d.checksum.checksum_sha1,
        checksum_sha256: d.checksum.checksum_sha256,
        checksum_type: d.checksum.checksum_type,
        metadata: d.metadata,
        storage_class: d.storage_class,
        parts_count: d.parts_count,
        version_id,
        expiration,
        ..Default::default()
    };
    Ok(if partial {
        S3Response::with_status(output, http::StatusCode::PARTIAL_CONTENT)
    } else {
        S3Response::new(output)
    })
}

/// Removes `key` (a delete marker on top in a versioned bucket) or, with `id`, that version.
fn remove(e: &Engine, cx: &Cx, bucket: &BucketRecord, key: &str, id: Option<&str>) -> Result<Deleted> {
    match id {
        Some(id) => versions::delete_version(e, cx, bucket, key, id, "ObjectRemoved:Delete"),
        None => versions::delete_latest(e, cx, bucket, key, "ObjectRemoved"),
    }
}

pub async fn delete(e: &Engine, cx: &Cx, input: DeleteObjectInput) -> Result<DeleteObjectOutput> {
    if let Some(c) = &input.if_match {
        let record = versions::read(e, cx, &input.bucket, &input.key, input.version_id.as_deref())?;
        if !etag_matches(c, &record.etag) {
            return Err(Error::PreconditionFailed);
        }
    }
    let bucket = buckets::load(e, cx, &input.bucket)?;
    let d = remove(e, cx, &bucket, &input.key, input.version_id.as_deref())?;
    Ok(DeleteObjectOutput {
        delete_marker: d.delete_marker.then_some(true),
        version_id: d.version_id,
        ..Default::default()
    })
}

pub async fn delete_many(e: &Engine, cx: &Cx, input: DeleteObjectsInput) -> Result<DeleteObjectsOutput> {
    let bucket = buckets::load(e, cx, &input.bucket)?;
    let objects = input.delete.objects;
    if objects.is_empty() || objects.len() > 1000 {
        return Err(Error::MalformedXML);
    }
    let quiet = input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for o in objects {
        match remove(e, cx, &bucket, &o.key, o.version_id.as_deref()) {
            Ok(_) if quiet => {}
            Ok(d) => deleted.push(DeletedObject {
                key: Some(o.key),
                delete_marker: d.delete_marker.then_some(true),
                delete_marker_version_id: if d.delete_marker { d.version_id.clone() } else { None },
                version_id: o.version_id,
            }),
            Err(err) => {
                let wire = s3s::S3Error::from(err);
                errors.push(s3s::dto::Error {
                    code: Some(wire.code().as_str().to_owned()),
                    message: wire.message().map(str::to_owned),
                    key: Some(o.key),
                    version_id: o.version_id,
                });
            }
        }
    }
    Ok(DeleteObjectsOutput {
        deleted: (!deleted.is_empty()).then_some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    })
}

/// The source of a copy: its bucket, key and record, after the `x-amz-copy-source-if-*` checks.
pub fn copy_source(
    e: &Engine,
    cx: &Cx,
    source: &CopySource,
    conditions: &Conditions<'_>,
) -> Result<(String, String, ObjectRecord)> {
    let CopySource::Bucket { bucket, key, version_id } = source else {
        return Err(Error::NotImplemented("Copying from an access point".into()));
    };
    let record = versions::read(e, cx, bucket, key, version_id.as_deref()).map_err(|err| match err {
        Error::MethodNotAllowed(_) => Error::InvalidRequest(
            "The source of a copy request may not specifically refer to a delete marker by version id."
                .into(),
        ),
        other => other,
    })?;
    conditions.check(&record, true)?;
    Ok((bucket.to_string(), key.to_string(), record))
}

pub async fn copy(e: &Engine, cx: &Cx, input: CopyObjectInput) -> Result<CopyObjectOutput> {
    let bucket = buckets::load(e, cx, &input.bucket)?;
    let conditions = Conditions {
        if_match: input.copy_source_if_match.as_ref(),
        if_none_match: input.copy_source_if_none_match.as_ref(),
        if_modified_since: input.copy_source_if_modified_since.as_ref(),
        if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
    };
    let (src_bucket, src_key, source) = copy_source(e, cx, &input.copy_source, &conditions)?;
    let replace = input.metadata_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE");
    let replace_tags = input.tagging_directive.as_ref().is_some_and(|d| d.as_str() == "REPLACE");
    let storage_class = storage_class(input.storage_class.as_ref())?;
    let acl = crate::acl::for_new_object(&bucket, input.acl.as_ref())?;
    if src_bucket == input.bucket && src_key == input.key && !replace && storage_class == source.storage_class
    {
        return Err(Error::InvalidRequest(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
        ));
    }
    let algorithm = input
        .checksum_algorithm
        .as_ref()
        .map(|a| a.as_str().to_ascii_uppercase())
        .or_else(|| source.checksum.as_ref().map(|c| c.algorithm.clone()));
    let copied =
        body::copy(&e.blobs, &source.pieces, 0..source.size, checksum::hasher(algorithm.as_deref())?).await?;
    let wanted = Wanted { algorithm, value: None };
    let stored = wanted.verify(&copied.checksums, None)?;
    let etag = copied.etag();
    let size = copied.size;
    let piece = copied.commit(&e.blobs).await?;
    let (headers, metadata) = if replace {
        let h = headers_of(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.expires,
        );
        (h, metadata_of(input.metadata))
    } else {
        (source.headers.clone(), source.metadata.clone())
    };
    let tags = if replace_tags { tags_from_header(input.tagging.as_deref())? } else { source.tags.clone() };
    let now = millis(e.now());
    let record = ObjectRecord {
        v: 1,
        pieces: vec![piece.clone()],
        size,
        etag: etag.clone(),
        modified_ms: now,
        headers,
        metadata,
        storage_class,
        checksum: stored.clone(),
        parts: None,
        tags,
        acl,
        ..Default::default()
    };
    let written =
        match versions::put(e, cx, &bucket, &input.key, record, false, None, Some("ObjectCreated:Copy")) {
            Ok(r) => r,
            Err(err) => {
                body::forget(&e.blobs, vec![piece]);
                return Err(err);
            }
        };
    let c = checksum::to_dto(stored.as_ref());
    Ok(CopyObjectOutput {
        copy_object_result: Some(CopyObjectResult {
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(timestamp(now)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_type: c.checksum_type,
        }),
        version_id: written.version_id,
        copy_source_version_id: source.version_id.clone(),
        ..Default::default()
    })
}

pub async fn put_tagging(
    e: &Engine,
    cx: &Cx,
    input: PutObjectTaggingInput,
) -> Result<PutObjectTaggingOutput> {
    let tags = buckets::tags_of(input.tagging)?;
    if tags.len() > 10 {
        return Err(Error::InvalidArgument("Object tags cannot be greater than 10".into()));
    }
    let r = versions::update(e, cx, &input.bucket, &input.key, input.version_id.as_deref(), |r| {
        r.tags = tags.clone()
    })?;
    Ok(PutObjectTaggingOutput { version_id: r.version_id })
}

pub async fn get_tagging(
    e: &Engine,
    cx: &Cx,
    input: GetObjectTaggingInput,
) -> Result<GetObjectTaggingOutput> {
    let record = versions::read(e, cx, &input.bucket, &input.key, input.version_id.as_deref())?;
    Ok(GetObjectTaggingOutput { tag_set: buckets::tag_set(&record.tags), version_id: record.version_id })
}

pub async fn delete_tagging(
    e: &Engine,
    cx: &Cx,
    input: DeleteObjectTaggingInput,
) -> Result<DeleteObjectTaggingOutput> {
    let r =
        versions::update(e, cx, &input.bucket, &input.key, input.version_id.as_deref(), |r| r.tags.clear())?;
    Ok(DeleteObjectTaggingOutput { version_id: r.version_id })
}
