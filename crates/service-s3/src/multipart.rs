//! Multipart uploads: each part is streamed into its own blob and recorded; Complete checks the
//! part list (order, ETags, the 5 MiB minimum) and commits, in one batch, an object record whose
//! pieces are the parts' blobs (no bytes are copied) while removing the upload and its parts.
//! The object's ETag is S3's: the MD5 of the parts' binary MD5s, `-N`.

use std::collections::HashMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response};
use storage::{Batch, CommitError, KeyRange};

use crate::body;
use crate::buckets::{self, millis, timestamp};
use crate::checksum::{self, Wanted};
use crate::engine::{Cx, Engine};
use crate::error::{Error, Result};
use crate::model::{
    self, BUCKETS, ObjectRecord, PARTS, PartRecord, Piece, StoredChecksum, UPLOADS, UploadRecord,
};
use crate::objects::{self, Conditions, Upload};
use crate::unsigned::Trailers;
use crate::versions;

/// Every part but the last must be at least this large.
const MIN_PART: u64 = 5 << 20;
const MAX_PARTS: i32 = 10_000;

fn load_upload(e: &Engine, cx: &Cx, bucket: &str, key: &str, upload_id: &str) -> Result<UploadRecord> {
    match model::get(e.kv.as_ref(), UPLOADS, &model::upload_key(&cx.account, bucket, key, upload_id))? {
        Some(u) => Ok(u),
        None => {
            buckets::load(e, cx, bucket)?;
            Err(Error::NoSuchUpload)
        }
    }
}

fn check_part_number(n: i32) -> Result<()> {
    if (1..=MAX_PARTS).contains(&n) {
        Ok(())
    } else {
        Err(Error::InvalidArgument("Part number must be an integer between 1 and 10000, inclusive".into()))
    }
}

pub async fn create(
    e: &Engine,
    cx: &Cx,
    input: CreateMultipartUploadInput,
) -> Result<CreateMultipartUploadOutput> {
    let bucket = buckets::load(e, cx, &input.bucket)?;
    let acl = crate::acl::for_new_object(&bucket, input.acl.as_ref())?;
    let now = e.now();
    // Ids start with their creation time so uploads of one key list oldest first.
    let upload_id = format!("{:016x}{}", now.unix_timestamp_nanos() as u64, uuid::Uuid::new_v4().simple());
    let algorithm = input.checksum_algorithm.as_ref().map(|a| a.as_str().to_ascii_uppercase());
    checksum::hasher(algorithm.as_deref())?;
    let record = UploadRecord {
        v: 1,
        key: input.key.clone(),
        upload_id: upload_id.clone(),
        initiated_ms: millis(now),
        headers: objects::headers_of(
            input.content_type,
            input.content_encoding,
            input.content_disposition,
            input.content_language,
            input.cache_control,
            input.expires,
        ),
        metadata: objects::metadata_of(input.metadata),
        storage_class: objects::storage_class(input.storage_class.as_ref())?,
        checksum_algorithm: algorithm,
        tags: objects::tags_from_header(input.tagging.as_deref())?,
        full_object_checksum: input.checksum_type.as_ref().is_some_and(|t| t.as_str() == "FULL_OBJECT"),
        acl,
    };
    let key = model::upload_key(&cx.account, &input.bucket, &input.key, &upload_id);
    let batch = Batch::new().expect_present(BUCKETS, model::bucket_key(&cx.account, &input.bucket)).put(
        UPLOADS,
        key,
        model::encode(&record)?,
    );
    e.kv.commit(batch).map_err(|err| match err {
        CommitError::ConditionFailed { .. } => Error::NoSuchBucket,
        CommitError::Storage(s) => s.into(),
    })?;
    Ok(CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(upload_id),
        checksum_algorithm: input.checksum_algorithm,
        checksum_type: input.checksum_type,
        ..Default::default()
    })
}

/// Records a part (replacing an earlier upload of the same number), provided the upload is
/// still in progress.
fn save_part(e: &Engine, cx: &Cx, bucket: &str, upload: &UploadRecord, part: &PartRecord) -> Result<()> {
    let key = model::part_key(&cx.account, bucket, &upload.upload_id, part.number);
    let old: Option<PartRecord> = model::get(e.kv.as_ref(), PARTS, &key)?;
    let batch = Batch::new()
        .expect_present(UPLOADS, model::upload_key(&cx.account, bucket, &upload.key, &upload.upload_id))
        .put(PARTS, key, model::encode(part)?);
    match e.kv.commit(batch) {
        Ok(()) => {
            if let Some(old) = old.filter(|o| o.piece != part.piece) {
                body::forget(&e.blobs, vec![old.piece]);
            }
            Ok(())
        }
        Err(CommitError::ConditionFailed { .. }) => Err(Error::NoSuchUpload),
        Err(CommitError::Storage(s)) => Err(s.into()),
    }
}

pub async fn upload_part(
    e: &Engine,
    cx: &Cx,
    req: S3Request<UploadPartInput>,
) -> Result<S3Response<UploadPartOutput>> {
    let S3Request { input, headers, extensions, trailing_headers, .. } = req;
    check_part_number(input.part_number)?;
    let upload = load_upload(e, cx, &input.bucket, &input.key, &input.upload_id)?;
    let mut incoming = Upload::new(
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
    // An upload created with a checksum algorithm keeps one per part, sent or not.
    if incoming.wanted.algorithm.is_none() {
        incoming.wanted = Wanted { algorithm: upload.checksum_algorithm.clone(), value: None };
    }
    let (received, checksum) =
        incoming.receive(e, trailing_headers.as_ref(), extensions.get::<Trailers>()).await?;
    let etag = received.etag();
    let piece = received.commit(&e.blobs).await?;
    let part = PartRecord {
        v: 1,
        number: input.part_number,
        piece: piece.clone(),
        etag: etag.clone(),
        modified_ms: millis(e.now()),
        checksum: checksum.clone(),
    };
    if let Err(err) = save_part(e, cx, &input.bucket, &upload, &part) {
        body::forget(&e.blobs, vec![piece]);
        return Err(err);
    }
    let c = checksum::to_dto(checksum.as_ref());
    Ok(S3Response::new(UploadPartOutput {
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        ..Default::default()
    }))
}

/// `bytes=first-last` of `x-amz-copy-source-range`, checked against the source's size.
fn copy_range(header: Option<&str>, size: u64) -> Result<std::ops::Range<u64>> {
    let Some(h) = header else { return Ok(0..size) };
    let bad = || {
        Error::InvalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy".into())
    };
    let (first, last) = h.strip_prefix("bytes=").and_then(|r| r.split_once('-')).ok_or_else(bad)?;
    let first: u64 = first.trim().parse().map_err(|_| bad())?;
    let last: u64 = last.trim().parse().map_err(|_| bad())?;
    if first > last || last >= size {
        return Err(Error::InvalidRange);
    }
    Ok(first..last + 1)
}

pub async fn upload_part_copy(
    e: &Engine,
    cx: &Cx,
    input: UploadPartCopyInput,
) -> Result<UploadPartCopyOutput> {
    check_part_number(input.part_number)?;
    let upload = load_upload(e, cx, &input.bucket, &input.key, &input.upload_id)?;
    let conditions = Conditions {
        if_match: input.copy_source_if_match.as_ref(),
        if_none_match: input.copy_source_if_none_match.as_ref(),
        if_modified_since: input.copy_source_if_modified_since.as_ref(),
        if_unmodified_since: input.copy_source_if_unmodified_since.as_ref(),
    };
    let (_, _, source) = objects::copy_source(e, cx, &input.copy_source, &conditions)?;
    let range = copy_range(input.copy_source_range.as_deref(), source.size)?;
    let wanted = Wanted { algorithm: upload.checksum_algorithm.clone(), value: None };
    let copied = body::copy(&e.blobs, &source.pieces, range, wanted.hasher()?).await?;
    let checksum = wanted.verify(&copied.checksums, None)?;
    let etag = copied.etag();
    let piece = copied.commit(&e.blobs).await?;
    let now = millis(e.now());
    let part = PartRecord {
        v: 1,
        number: input.part_number,
        piece: piece.clone(),
        etag: etag.clone(),
        modified_ms: now,
        checksum: checksum.clone(),
    };
    if let Err(err) = save_part(e, cx, &input.bucket, &upload, &part) {
        body::forget(&e.blobs, vec![piece]);
        return Err(err);
    }
    let c = checksum::to_dto(checksum.as_ref());
    Ok(UploadPartCopyOutput {
        copy_part_result: Some(CopyPartResult {
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(timestamp(now)),
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_crc64nvme: c.checksum_crc64nvme,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
        }),
        ..Default::default()
    })
}

fn all_parts(e: &Engine, cx: &Cx, bucket: &str, upload_id: &str) -> Result<Vec<(Vec<u8>, PartRecord)>> {
    e.kv.scan_prefix(PARTS, &model::parts_prefix(&cx.account, bucket, upload_id), storage::UNLIMITED)?
        .into_iter()
        .map(|(k, v)| Ok((k, model::decode(&v)?)))
        .collect()
}

/// The whole-object checksum a client sent with Complete for a FULL_OBJECT upload.
fn full_object_checksum(input: &CompleteMultipartUploadInput, algorithm: &str) -> Option<StoredChecksum> {
    let value = match algorithm {
        "CRC32" => input.checksum_crc32.clone(),
        "CRC32C" => input.checksum_crc32c.clone(),
        "CRC64NVME" => input.checksum_crc64nvme.clone(),
        "SHA1" => input.checksum_sha1.clone(),
        "SHA256" => input.checksum_sha256.clone(),
        _ => None,
    }?;
    Some(StoredChecksum { algorithm: algorithm.to_owned(), value, composite: false })
}

pub async fn complete(
    e: &Engine,
    cx: &Cx,
    input: CompleteMultipartUploadInput,
) -> Result<CompleteMultipartUploadOutput> {
    let upload = load_upload(e, cx, &input.bucket, &input.key, &input.upload_id)?;
    let bucket = buckets::load(e, cx, &input.bucket)?;
    let listed = input.multipart_upload.as_ref().and_then(|m| m.parts.clone()).unwrap_or_default();
    if listed.is_empty() {
        return Err(Error::MalformedXML);
    }
    let stored = all_parts(e, cx, &input.bucket, &input.upload_id)?;
    let by_number: HashMap<i32, &PartRecord> = stored.iter().map(|(_, p)| (p.number, p)).collect();
    let mut chosen: Vec<&PartRecord> = Vec::with_capacity(listed.len());
    let mut previous = 0;
    for p in &listed {
        let n = p.part_number.ok_or(Error::MalformedXML)?;
        if n <= previous {
            return Err(Error::InvalidPartOrder);
        }
        previous = n;
        let part = by_number.get(&n).ok_or(Error::InvalidPart)?;
        let etag_ok = p.e_tag.as_ref().is_none_or(|t| t.value().trim_matches('"') == part.etag);
        if !etag_ok {
            return Err(Error::InvalidPart);
        }
        chosen.push(part);
    }
    if chosen[..chosen.len() - 1].iter().any(|p| p.piece.len < MIN_PART) {
        return Err(Error::EntityTooSmall);
    }
    let mut md5s = Vec::with_capacity(chosen.len() * 16);
    for p in &chosen {
        md5s.extend(
            hex::decode(&p.etag).map_err(|_| Error::InternalError("a part's ETag is not hex".into()))?,
        );
    }
    let etag = format!(
        "{}-{}",
        hex::encode(<s3s::crypto::Md5 as s3s::crypto::Checksum>::checksum(&md5s)),
        chosen.len()
    );
    let checksum = upload.checksum_algorithm.as_deref().and_then(|a| {
        if upload.full_object_checksum {
            full_object_checksum(&input, a)
        } else {
            checksum::composite(a, &chosen.iter().map(|p| p.checksum.as_ref()).collect::<Vec<_>>())
        }
    });
    let pieces: Vec<Piece> = chosen.iter().map(|p| p.piece.clone()).collect();
    let used: Vec<&str> = pieces.iter().map(|p| p.blob.as_str()).collect();
    let unused: Vec<Piece> =
        stored.iter().map(|(_, p)| p.piece.clone()).filter(|p| !used.contains(&p.blob.as_str())).collect();
    let record = ObjectRecord {
        v: 1,
        size: pieces.iter().map(|p| p.len).sum(),
        pieces,
        etag: etag.clone(),
        modified_ms: millis(e.now()),
        headers: upload.headers.clone(),
        metadata: upload.metadata.clone(),
        storage_class: upload.storage_class.clone(),
        checksum: checksum.clone(),
        parts: Some(chosen.len() as u32),
        tags: upload.tags.clone(),
        acl: upload.acl.clone(),
        ..Default::default()
    };
    let upload_key = model::upload_key(&cx.account, &input.bucket, &input.key, &input.upload_id);
    let consume = || {
        let mut batch =
            Batch::new().expect_present(UPLOADS, upload_key.clone()).delete(UPLOADS, upload_key.clone());
        for (k, _) in &stored {
            batch = batch.delete(PARTS, k.clone());
        }
        batch
    };
    let extra = versions::Extra { batch: &consume, failed: || Error::NoSuchUpload };
    let written = versions::put(
        e,
        cx,
        &bucket,
        &input.key,
        record,
        false,
        Some(extra),
        Some("ObjectCreated:CompleteMultipartUpload"),
    )?;
    body::forget(&e.blobs, unused);
    let c = checksum::to_dto(checksum.as_ref());
    Ok(CompleteMultipartUploadOutput {
        bucket: Some(input.bucket.clone()),
        key: Some(input.key.clone()),
        location: Some(format!("/{}/{}", input.bucket, input.key)),
        e_tag: Some(ETag::Strong(etag)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
        checksum_type: c.checksum_type,
        version_id: written.version_id,
        ..Default::default()
    })
}

pub async fn abort(
    e: &Engine,
    cx: &Cx,
    input: AbortMultipartUploadInput,
) -> Result<AbortMultipartUploadOutput> {
    load_upload(e, cx, &input.bucket, &input.key, &input.upload_id)?;
    let parts = all_parts(e, cx, &input.bucket, &input.upload_id)?;
    let upload_key = model::upload_key(&cx.account, &input.bucket, &input.key, &input.upload_id);
    let mut batch = Batch::new().expect_present(UPLOADS, upload_key.clone()).delete(UPLOADS, upload_key);
    for (k, _) in &parts {
        batch = batch.delete(PARTS, k.clone());
    }
    match e.kv.commit(batch) {
        Ok(()) => {}
        Err(CommitError::ConditionFailed { .. }) => return Err(Error::NoSuchUpload),
        Err(CommitError::Storage(s)) => return Err(s.into()),
    }
    body::forget(&e.blobs, parts.into_iter().map(|(_, p)| p.piece).collect());
    Ok(AbortMultipartUploadOutput::default())
}

fn part_dto(p: &PartRecord) -> Part {
    let c = checksum::to_dto(p.checksum.as_ref());
    Part {
        part_number: Some(p.number),
        e_tag: Some(ETag::Strong(p.etag.clone())),
        size: Some(p.piece.len as i64),
        last_modified: Some(timestamp(p.modified_ms)),
        checksum_crc32: c.checksum_crc32,
        checksum_crc32c: c.checksum_crc32c,
        checksum_crc64nvme: c.checksum_crc64nvme,
        checksum_sha1: c.checksum_sha1,
        checksum_sha256: c.checksum_sha256,
    }
}

pub async fn list_parts(e: &Engine, cx: &Cx, input: ListPartsInput) -> Result<ListPartsOutput> {
    let upload = load_upload(e, cx, &input.bucket, &input.key, &input.upload_id)?;
    let max = input.max_parts.map_or(1000, |m| m.clamp(0, 1000)) as usize;
    let marker = input.part_number_marker.unwrap_or(0);
    let prefix = model::parts_prefix(&cx.account, &input.bucket, &input.upload_id);
    let start = model::part_key(&cx.account, &input.bucket, &input.upload_id, marker);
    let range = KeyRange::new(std::ops::Bound::Excluded(start), KeyRange::prefix(prefix).end);
    let rows = e.kv.scan(PARTS, range, max + 1)?;
    let truncated = rows.len() > max;
    let parts: Vec<PartRecord> =
        rows.into_iter().take(max).map(|(_, v)| model::decode(&v)).collect::<Result<_>>()?;
    let owner = buckets::owner(cx);
    Ok(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: parts.last().map(|p| p.number),
        max_parts: Some(max as i32),
        is_truncated: Some(truncated),
        parts: Some(parts.iter().map(part_dto).collect()),
        initiator: Some(Initiator { id: owner.id.clone(), display_name: None }),
        owner: Some(owner),
        storage_class: Some(StorageClass::from(upload.storage_class.unwrap_or_else(|| "STANDARD".into()))),
        checksum_algorithm: upload.checksum_algorithm.map(ChecksumAlgorithm::from),
        ..Default::default()
    })
}

pub async fn list_uploads(
    e: &Engine,
    cx: &Cx,
    input: ListMultipartUploadsInput,
) -> Result<ListMultipartUploadsOutput> {
    buckets::load(e, cx, &input.bucket)?;
    let max = input.max_uploads.map_or(1000, |m| m.clamp(0, 1000)) as usize;
    let prefix = input.prefix.clone().unwrap_or_default();
    let mut from = model::objects_prefix(&cx.account, &input.bucket);
    from.extend_from_slice(prefix.as_bytes());
    let start = match (&input.key_marker, &input.upload_id_marker) {
        (Some(k), Some(u)) => std::ops::Bound::Excluded(model::upload_key(&cx.account, &input.bucket, k, u)),
        (Some(k), None) => {
            // Every upload of the marker key is skipped.
            let mut after = model::upload_key(&cx.account, &input.bucket, k, "");
            after.push(0xff);
            std::ops::Bound::Excluded(after.max(from.clone()))
        }
        _ => std::ops::Bound::Included(from.clone()),
    };
    let range = KeyRange::new(start, KeyRange::prefix(from).end);
    let owner = buckets::owner(cx);
    let mut uploads = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last: Option<(String, String)> = None;
    for (_, v) in e.kv.scan(UPLOADS, range, storage::UNLIMITED)? {
        let u: UploadRecord = model::decode(&v)?;
        let common = input.delimiter.as_deref().filter(|d| !d.is_empty()).and_then(|d| {
            u.key[prefix.len()..].find(d).map(|i| u.key[..prefix.len() + i + d.len()].to_owned())
        });
        if let Some(cp) = &common
            && prefixes.last() == Some(cp)
        {
            continue;
        }
        if uploads.len() + prefixes.len() == max {
            truncated = true;
            break;
        }
        match common {
            Some(cp) => prefixes.push(cp),
            None => {
                last = Some((u.key.clone(), u.upload_id.clone()));
                uploads.push(MultipartUpload {
                    key: Some(u.key),
                    upload_id: Some(u.upload_id),
                    initiated: Some(timestamp(u.initiated_ms)),
                    initiator: Some(Initiator { id: owner.id.clone(), display_name: None }),
                    owner: Some(owner.clone()),
                    storage_class: Some(StorageClass::from(
                        u.storage_class.unwrap_or_else(|| "STANDARD".into()),
                    )),
                    checksum_algorithm: u.checksum_algorithm.map(ChecksumAlgorithm::from),
                    ..Default::default()
                });
            }
        }
    }
    Ok(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        next_key_marker: last.as_ref().filter(|_| truncated).map(|(k, _)| k.clone()),
        next_upload_id_marker: last.filter(|_| truncated).map(|(_, u)| u),
        max_uploads: Some(max as i32),
        is_truncated: Some(truncated),
        uploads: Some(uploads),
        common_prefixes: (!prefixes.is_empty())
            .then(|| prefixes.into_iter().map(|p| CommonPrefix { prefix: Some(p) }).collect()),
        encoding_type: input.encoding_type,
        ..Default::default()
    })
}
