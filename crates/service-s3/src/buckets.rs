//! Buckets: create (with S3's LocationConstraint rules), head, list, delete (only when empty),
//! location, tagging, and the configurations S3 stores and gives back (CORS, policy, lifecycle,
//! notifications). A bucket is one record; configuration changes rewrite it.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use s3s::dto::*;
use storage::{Batch, CommitError, KeyRange};
use time::OffsetDateTime;

use crate::engine::{Cx, Engine};
use crate::error::{Error, Result};
use crate::model::{self, BUCKETS, BucketRecord, OBJECTS, PARTS, UPLOADS};

pub fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

/// The bucket owner as S3 shows it: a canonical user id (64 hex digits) derived from the account.
pub fn owner(cx: &Cx) -> Owner {
    Owner { id: Some(format!("{:0>64}", cx.account)), display_name: None }
}

pub fn load(e: &Engine, cx: &Cx, bucket: &str) -> Result<BucketRecord> {
    let key = model::bucket_key(&cx.account, bucket);
    e.buckets.load(&key, || model::get(e.kv.as_ref(), BUCKETS, &key))?.ok_or(Error::NoSuchBucket)
}

/// The bucket records [`load`] has read, kept until a write to the bucket.
///
/// Every writer of `BUCKETS` (create, update, delete, all in this module) calls
/// [`Cache::forget`] once its commit returned, so a request that starts after a bucket change
/// was acknowledged sees it. The generation closes the one race left: a read that began before
/// a write and finishes after its `forget` must not put the old record back.
#[derive(Debug, Default)]
pub struct Cache(Mutex<CacheState>);

#[derive(Debug, Default)]
struct CacheState {
    generation: u64,
    records: HashMap<Vec<u8>, BucketRecord>,
}

/// More buckets than this and the cache starts over (bounded memory; accounts rarely hold
/// more than a few hundred).
const CACHED_BUCKETS: usize = 4096;

impl Cache {
    fn state(&self) -> MutexGuard<'_, CacheState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn load(
        &self,
        key: &[u8],
        read: impl FnOnce() -> Result<Option<BucketRecord>>,
    ) -> Result<Option<BucketRecord>> {
        let generation = {
            let state = self.state();
            if let Some(record) = state.records.get(key) {
                return Ok(Some(record.clone()));
            }
            state.generation
        };
        let record = read()?;
        if let Some(r) = &record {
            let mut state = self.state();
            if state.generation == generation {
                if state.records.len() >= CACHED_BUCKETS {
                    state.records.clear();
                }
                state.records.insert(key.to_vec(), r.clone());
            }
        }
        Ok(record)
    }

    fn forget(&self, key: &[u8]) {
        let mut state = self.state();
        state.generation += 1;
        state.records.remove(key);
    }
}

/// Rewrites a bucket record with `change` applied, unless the bucket was deleted meanwhile.
pub(crate) fn update(e: &Engine, cx: &Cx, bucket: &str, change: impl Fn(&mut BucketRecord)) -> Result<()> {
    let key = model::bucket_key(&cx.account, bucket);
    loop {
        let raw = e.kv.get(BUCKETS, &key)?.ok_or(Error::NoSuchBucket)?;
        let mut record: BucketRecord = model::decode(&raw)?;
        change(&mut record);
        let batch = Batch::new().expect_value(BUCKETS, key.clone(), raw).put(
            BUCKETS,
            key.clone(),
            model::encode(&record)?,
        );
        let committed = e.kv.commit(batch);
        e.buckets.forget(&key);
        match committed {
            Ok(()) => return Ok(()),
            Err(CommitError::ConditionFailed { .. }) => continue,
            Err(CommitError::Storage(err)) => return Err(err.into()),
        }
    }
}

pub async fn create(e: &Engine, cx: &Cx, input: CreateBucketInput) -> Result<CreateBucketOutput> {
    let name = input.bucket;
    if !model::valid_bucket_name(&name) {
        return Err(Error::InvalidBucketName);
    }
    let constraint = input
        .create_bucket_configuration
        .and_then(|c| c.location_constraint)
        .map(|c| c.as_str().to_owned())
        .filter(|c| !c.is_empty());
    // us-east-1 takes no constraint (and refuses its own name); every other region requires
    // its own name.
    let region = match (cx.region.as_str(), constraint) {
        ("us-east-1", None) => "us-east-1".to_owned(),
        ("us-east-1", Some(c)) if c == "us-east-1" => return Err(Error::InvalidLocationConstraint),
        (_, Some(c)) if c == cx.region => c,
        (_, Some(c)) => return Err(Error::IllegalLocationConstraintException(c)),
        (_, None) => return Err(Error::IllegalLocationConstraintException("unspecified".into())),
    };
    let mut configs = std::collections::BTreeMap::new();
    configs.insert("ownership".to_owned(), crate::acl::initial(input.object_ownership.as_ref()));
    let record = BucketRecord {
        v: 1,
        name: name.clone(),
        region: region.clone(),
        created_ms: millis(e.now()),
        tags: None,
        versioning: None,
        configs,
    };
    let key = model::bucket_key(&cx.account, &name);
    let inserted = e.kv.insert_new(BUCKETS, &key, &model::encode(&record)?);
    e.buckets.forget(&key);
    if !inserted? {
        // S3 answers a repeated create in us-east-1 with 200 (and leaves the bucket as it is).
        if region == "us-east-1" && load(e, cx, &name)?.region == "us-east-1" {
            return Ok(CreateBucketOutput { location: Some(format!("/{name}")) });
        }
        return Err(Error::BucketAlreadyOwnedByYou);
    }
    Ok(CreateBucketOutput { location: Some(format!("/{name}")) })
}

pub async fn head(e: &Engine, cx: &Cx, input: HeadBucketInput) -> Result<HeadBucketOutput> {
    let b = load(e, cx, &input.bucket)?;
    Ok(HeadBucketOutput { bucket_region: Some(b.region), ..Default::default() })
}

pub async fn list(e: &Engine, cx: &Cx, input: ListBucketsInput) -> Result<ListBucketsOutput> {
    let prefix = model::account_prefix(&cx.account);
    let max = input.max_buckets.map_or(10_000, |m| m.clamp(1, 10_000)) as usize;
    let mut start = prefix.clone();
    start.extend_from_slice(input.prefix.as_deref().unwrap_or_default().as_bytes());
    let start = match &input.continuation_token {
        Some(token) => {
            let mut after = prefix.clone();
            after.extend_from_slice(token.as_bytes());
            Bound::Excluded(after.max(start))
        }
        None => Bound::Included(start),
    };
    let mut end = prefix.clone();
    end.extend_from_slice(input.prefix.as_deref().unwrap_or_default().as_bytes());
    let range = KeyRange::new(start, KeyRange::prefix(end).end);
    let rows = e.kv.scan(BUCKETS, range, max + 1)?;
    let truncated = rows.len() > max;
    let mut buckets = Vec::new();
    for (_, v) in rows.into_iter().take(max) {
        let b: BucketRecord = model::decode(&v)?;
        if input.bucket_region.as_deref().is_some_and(|r| r != b.region) {
            continue;
        }
        buckets.push(Bucket {
            name: Some(b.name),
            creation_date: Some(timestamp(b.created_ms)),
            bucket_region: Some(b.region),
        });
    }
    let continuation_token = if truncated { buckets.last().and_then(|b| b.name.clone()) } else { None };
    Ok(ListBucketsOutput {
        buckets: Some(buckets),
        owner: Some(owner(cx)),
        prefix: input.prefix,
        continuation_token,
    })
}

pub async fn delete(e: &Engine, cx: &Cx, input: DeleteBucketInput) -> Result<DeleteBucketOutput> {
    load(e, cx, &input.bucket)?;
    let objects = model::objects_prefix(&cx.account, &input.bucket);
    if !e.kv.scan_prefix(OBJECTS, &objects, 1)?.is_empty()
        || crate::versions::bucket_has_versions(e.kv.as_ref(), &cx.account, &input.bucket)?
    {
        return Err(Error::BucketNotEmpty);
    }
    // Uploads still in progress go with the bucket, their parts' blobs too.
    let mut batch = Batch::new().delete(BUCKETS, model::bucket_key(&cx.account, &input.bucket));
    let mut pieces = Vec::new();
    for (k, _) in e.kv.scan_prefix(UPLOADS, &objects, storage::UNLIMITED)? {
        batch = batch.delete(UPLOADS, k);
    }
    for (k, v) in e.kv.scan_prefix(PARTS, &objects, storage::UNLIMITED)? {
        let part: model::PartRecord = model::decode(&v)?;
        pieces.push(part.piece);
        batch = batch.delete(PARTS, k);
    }
    // The bucket must still be empty when it goes: a PUT racing this delete checks the bucket.
    let committed = e.kv.commit(batch);
    e.buckets.forget(&model::bucket_key(&cx.account, &input.bucket));
    committed.map_err(|e| Error::InternalError(e.to_string()))?;
    crate::body::forget(&e.blobs, pieces);
    Ok(DeleteBucketOutput {})
}

pub async fn location(e: &Engine, cx: &Cx, input: GetBucketLocationInput) -> Result<GetBucketLocationOutput> {
    let b = load(e, cx, &input.bucket)?;
    // us-east-1 buckets have an empty LocationConstraint.
    let location_constraint = (b.region != "us-east-1").then(|| BucketLocationConstraint::from(b.region));
    Ok(GetBucketLocationOutput { location_constraint })
}

pub fn tags_of(tagging: Tagging) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in tagging.tag_set {
        let key = t.key.unwrap_or_default();
        if key.is_empty() || key.len() > 128 || t.value.as_ref().is_some_and(|v| v.len() > 256) {
            return Err(Error::InvalidArgument("The TagKey you have provided is invalid".into()));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(Error::InvalidArgument("Cannot provide multiple Tags with the same key".into()));
        }
        out.push((key, t.value.unwrap_or_default()));
    }
    Ok(out)
}

pub fn tag_set(tags: &[(String, String)]) -> TagSet {
    tags.iter().map(|(k, v)| Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect()
}

pub async fn put_tagging(
    e: &Engine,
    cx: &Cx,
    input: PutBucketTaggingInput,
) -> Result<PutBucketTaggingOutput> {
    let tags = tags_of(input.tagging)?;
    if tags.len() > 50 {
        return Err(Error::InvalidArgument("Bucket tag count cannot be greater than 50".into()));
    }
    update(e, cx, &input.bucket, |b| b.tags = Some(tags.clone()))?;
    Ok(PutBucketTaggingOutput {})
}

pub async fn get_tagging(
    e: &Engine,
    cx: &Cx,
    input: GetBucketTaggingInput,
) -> Result<GetBucketTaggingOutput> {
    let tags = load(e, cx, &input.bucket)?.tags.ok_or(Error::NoSuchTagSet)?;
    Ok(GetBucketTaggingOutput { tag_set: tag_set(&tags) })
}

pub async fn delete_tagging(
    e: &Engine,
    cx: &Cx,
    input: DeleteBucketTaggingInput,
) -> Result<DeleteBucketTaggingOutput> {
    update(e, cx, &input.bucket, |b| b.tags = None)?;
    Ok(DeleteBucketTaggingOutput {})
}

/// Stores a configuration document under `name`, as the JSON of its s3s shape.
fn put_config<T: serde::Serialize>(e: &Engine, cx: &Cx, bucket: &str, name: &str, doc: &T) -> Result<()> {
    let json = serde_json::to_string(doc).map_err(|err| Error::InternalError(err.to_string()))?;
    update(e, cx, bucket, |b| {
        b.configs.insert(name.to_owned(), json.clone());
    })
}

fn get_config<T: for<'de> serde::Deserialize<'de>>(
    e: &Engine,
    cx: &Cx,
    bucket: &str,
    name: &str,
) -> Result<Option<T>> {
    let b = load(e, cx, bucket)?;
    b.configs.get(name).map(|json| model::decode(json.as_bytes())).transpose()
}

pub(crate) fn delete_config(e: &Engine, cx: &Cx, bucket: &str, name: &str) -> Result<()> {
    update(e, cx, bucket, |b| {
        b.configs.remove(name);
    })
}

pub async fn put_cors(e: &Engine, cx: &Cx, input: PutBucketCorsInput) -> Result<PutBucketCorsOutput> {
    put_config(e, cx, &input.bucket, "cors", &input.cors_configuration)?;
    Ok(PutBucketCorsOutput {})
}

pub async fn get_cors(e: &Engine, cx: &Cx, input: GetBucketCorsInput) -> Result<GetBucketCorsOutput> {
    let c: CORSConfiguration =
        get_config(e, cx, &input.bucket, "cors")?.ok_or(Error::NoSuchCORSConfiguration)?;
    Ok(GetBucketCorsOutput { cors_rules: Some(c.cors_rules) })
}

pub async fn delete_cors(
    e: &Engine,
    cx: &Cx,
    input: DeleteBucketCorsInput,
) -> Result<DeleteBucketCorsOutput> {
    delete_config(e, cx, &input.bucket, "cors")?;
    Ok(DeleteBucketCorsOutput {})
}

pub async fn put_policy(e: &Engine, cx: &Cx, input: PutBucketPolicyInput) -> Result<PutBucketPolicyOutput> {
    if !serde_json::from_str::<serde_json::Value>(&input.policy).is_ok_and(|v| v.is_object()) {
        return Err(Error::MalformedPolicy);
    }
    put_config(e, cx, &input.bucket, "policy", &input.policy)?;
    Ok(PutBucketPolicyOutput {})
}

pub async fn get_policy(e: &Engine, cx: &Cx, input: GetBucketPolicyInput) -> Result<GetBucketPolicyOutput> {
    let policy: String = get_config(e, cx, &input.bucket, "policy")?.ok_or(Error::NoSuchBucketPolicy)?;
    Ok(GetBucketPolicyOutput { policy: Some(policy) })
}

pub async fn delete_policy(
    e: &Engine,
    cx: &Cx,
    input: DeleteBucketPolicyInput,
) -> Result<DeleteBucketPolicyOutput> {
    delete_config(e, cx, &input.bucket, "policy")?;
    Ok(DeleteBucketPolicyOutput {})
}

pub async fn put_lifecycle(
    e: &Engine,
    cx: &Cx,
    input: PutBucketLifecycleConfigurationInput,
) -> Result<PutBucketLifecycleConfigurationOutput> {
    let config = input.lifecycle_configuration.ok_or(Error::MalformedXML)?;
    put_config(e, cx, &input.bucket, "lifecycle", &config)?;
    Ok(PutBucketLifecycleConfigurationOutput::default())
}

pub async fn get_lifecycle(
    e: &Engine,
    cx: &Cx,
    input: GetBucketLifecycleConfigurationInput,
) -> Result<GetBucketLifecycleConfigurationOutput> {
    let c: BucketLifecycleConfiguration =
        get_config(e, cx, &input.bucket, "lifecycle")?.ok_or(Error::NoSuchLifecycleConfiguration)?;
    Ok(GetBucketLifecycleConfigurationOutput { rules: Some(c.rules), ..Default::default() })
}

pub async fn delete_lifecycle(
    e: &Engine,
    cx: &Cx,
    input: DeleteBucketLifecycleInput,
) -> Result<DeleteBucketLifecycleOutput> {
    delete_config(e, cx, &input.bucket, "lifecycle")?;
    Ok(DeleteBucketLifecycleOutput {})
}

pub async fn put_notification(
    e: &Engine,
    cx: &Cx,
    input: PutBucketNotificationConfigurationInput,
) -> Result<PutBucketNotificationConfigurationOutput> {
    put_config(e, cx, &input.bucket, "notification", &input.notification_configuration)?;
    // S3 tells each queue it was configured with an `s3:TestEvent`.
    let mut batch = Batch::new();
    if e.notifier.test_events(
        &mut batch,
        cx,
        &input.bucket,
        &input.notification_configuration,
        millis(e.now()),
    )? {
        e.kv.commit(batch).map_err(|err| Error::InternalError(err.to_string()))?;
        e.notifier.wake();
    }
    Ok(PutBucketNotificationConfigurationOutput {})
}

pub async fn get_notification(
    e: &Engine,
    cx: &Cx,
    input: GetBucketNotificationConfigurationInput,
) -> Result<GetBucketNotificationConfigurationOutput> {
    // A bucket without a configuration answers an empty one.
    let c: NotificationConfiguration = get_config(e, cx, &input.bucket, "notification")?.unwrap_or_default();
    Ok(GetBucketNotificationConfigurationOutput {
        event_bridge_configuration: c.event_bridge_configuration,
        lambda_function_configurations: c.lambda_function_configurations,
        queue_configurations: c.queue_configurations,
        topic_configurations: c.topic_configurations,
    })
}

pub async fn get_versioning(
    e: &Engine,
    cx: &Cx,
    input: GetBucketVersioningInput,
) -> Result<GetBucketVersioningOutput> {
    // A bucket that never had versioning answers an empty configuration.
    let b = load(e, cx, &input.bucket)?;
    Ok(GetBucketVersioningOutput { status: b.versioning.map(BucketVersioningStatus::from), mfa_delete: None })
}

pub async fn put_versioning(
    e: &Engine,
    cx: &Cx,
    input: PutBucketVersioningInput,
) -> Result<PutBucketVersioningOutput> {
    let config = input.versioning_configuration;
    if config.mfa_delete.as_ref().is_some_and(|m| m.as_str() == "Enabled") {
        return Err(Error::NotImplemented("MFA Delete".into()));
    }
    let status = match config.status.as_ref().map(BucketVersioningStatus::as_str) {
        Some(s @ ("Enabled" | "Suspended")) => Some(s.to_owned()),
        None => None,
        Some(_) => return Err(Error::IllegalVersioningConfigurationException),
    };
    load(e, cx, &input.bucket)?;
    if let Some(status) = status {
        update(e, cx, &input.bucket, |b| b.versioning = Some(status.clone()))?;
    }
    Ok(PutBucketVersioningOutput {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> BucketRecord {
        BucketRecord {
            v: 1,
            name: name.to_owned(),
            region: "us-east-1".to_owned(),
            created_ms: 0,
            tags: None,
            versioning: None,
            configs: Default::default(),
        }
    }

    #[test]
    fn a_read_that_began_before_a_write_does_not_cache_the_old_record() {
        let cache = Cache::default();
        let read = cache.load(b"k", || {
            // The bucket changes while this read is on its way back.
            cache.forget(b"k");
            Ok(Some(record("old")))
        });
        assert_eq!(read.expect("read").expect("present").name, "old");
        let again = cache.load(b"k", || Ok(Some(record("new")))).expect("read").expect("present");
        assert_eq!(again.name, "new");
        // Now cached: the store is not asked again until the next forget.
        let cached = cache.load(b"k", || panic!("read the store")).expect("read").expect("present");
        assert_eq!(cached.name, "new");
        cache.forget(b"k");
        assert!(cache.load(b"k", || Ok(None)).expect("read").is_none());
    }
}
