//! Lifecycle rules applied: a background sweep walks every bucket with a lifecycle
//! configuration and, for each enabled rule, expires current objects (Expiration Days/Date: a
//! delete marker in a versioned bucket), removes lone expired delete markers
//! (ExpiredObjectDeleteMarker), removes noncurrent versions (NoncurrentVersionExpiration, keeping
//! NewerNoncurrentVersions) and aborts stale multipart uploads (AbortIncompleteMultipartUpload).
//! Every removal goes through the same versioned paths as the API, and is announced as
//! `LifecycleExpiration:*`.
//!
//! S3 counts in days; `NIMBUS_S3_LIFECYCLE_DAY_SECONDS` shortens a day (tests), and the sweep
//! runs every half day, at least every second and at most every hour.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use s3s::dto::*;
use storage::KeyRange;
use time::OffsetDateTime;

use crate::buckets::millis;
use crate::engine::{Cx, Engine};
use crate::error::Result;
use crate::model::{self, BUCKETS, BucketRecord, OBJECTS, ObjectRecord, UPLOADS, UploadRecord};
use crate::versions::{self, VERSIONS};

/// How long a lifecycle "day" is, and how often the sweep runs.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub day: Duration,
    pub interval: Duration,
}

impl Timing {
    pub fn from_env() -> Timing {
        let secs = std::env::var("NIMBUS_S3_LIFECYCLE_DAY_SECONDS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(86_400.0);
        let day = Duration::from_secs_f64(secs);
        Timing { day, interval: (day / 2).clamp(Duration::from_secs(1), Duration::from_secs(3600)) }
    }

    fn days_ms(&self, days: i32) -> i64 {
        (self.day.as_millis() as i64).saturating_mul(i64::from(days.max(0)))
    }
}

/// The objects a rule applies to.
struct Filter {
    prefix: String,
    tags: Vec<(String, String)>,
    greater: Option<i64>,
    less: Option<i64>,
}

impl Filter {
    fn of(rule: &LifecycleRule) -> Filter {
        let mut f = Filter {
            prefix: rule.prefix.clone().unwrap_or_default(),
            tags: Vec::new(),
            greater: None,
            less: None,
        };
        if let Some(filter) = &rule.filter {
            if let Some(and) = &filter.and {
                f.prefix = and.prefix.clone().unwrap_or_default();
                f.tags = and
                    .tags
                    .iter()
                    .flatten()
                    .map(|t| (t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default()))
                    .collect();
                f.greater = and.object_size_greater_than;
                f.less = and.object_size_less_than;
            } else {
                if let Some(p) = &filter.prefix {
                    f.prefix = p.clone();
                }
                if let Some(t) = &filter.tag {
                    f.tags = vec![(t.key.clone().unwrap_or_default(), t.value.clone().unwrap_or_default())];
                }
                f.greater = filter.object_size_greater_than;
                f.less = filter.object_size_less_than;
            }
        }
        f
    }

    fn matches(&self, key: &str, r: &ObjectRecord) -> bool {
        let size = r.size as i64;
        key.starts_with(&self.prefix)
            && self.tags.iter().all(|t| r.tags.contains(t))
            && self.greater.is_none_or(|g| size > g)
            && self.less.is_none_or(|l| size < l)
    }
}

/// Runs the sweep every `timing.interval` until `stopped`.
pub fn start(engine: Engine, timing: Timing, stopped: Arc<AtomicBool>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(timing.interval).await;
            if stopped.load(Ordering::Acquire) {
                return;
            }
            if let Err(e) = sweep(&engine, timing).await {
                tracing::error!(error = %e, "s3 lifecycle sweep failed");
            }
        }
    });
}

/// One pass over every bucket with a lifecycle configuration.
pub async fn sweep(e: &Engine, timing: Timing) -> Result<()> {
    for (k, v) in e.kv.scan_all(BUCKETS, KeyRange::all())? {
        let bucket: BucketRecord = model::decode(&v)?;
        let Some(json) = bucket.configs.get("lifecycle") else { continue };
        let config: BucketLifecycleConfiguration = model::decode(json.as_bytes())?;
        let account = String::from_utf8_lossy(&k).split('/').next().unwrap_or_default().to_owned();
        let cx = Cx {
            account,
            region: bucket.region.clone(),
            request_id: uuid::Uuid::new_v4().simple().to_string().to_uppercase()[..16].to_owned(),
            principal: "s3.amazonaws.com".to_owned(),
            trace: None,
        };
        for rule in config.rules.iter().filter(|r| r.status.as_str() == "Enabled") {
            apply(e, &cx, &bucket, rule, timing).await?;
        }
    }
    Ok(())
}

async fn apply(
    e: &Engine,
    cx: &Cx,
    bucket: &BucketRecord,
    rule: &LifecycleRule,
    timing: Timing,
) -> Result<()> {
    let filter = Filter::of(rule);
    let now = millis(e.now());
    let mut base = model::objects_prefix(&cx.account, &bucket.name);
    let strip = base.len();
    base.extend_from_slice(filter.prefix.as_bytes());
    if let Some(x) = &rule.expiration {
        let due = |r: &ObjectRecord| match (x.days, &x.date) {
            (Some(days), _) => r.modified_ms.saturating_add(timing.days_ms(days)) <= now,
            (None, Some(date)) => millis(OffsetDateTime::from(date.clone())) <= now,
            _ => false,
        };
        if x.days.is_some() || x.date.is_some() {
            for (k, v) in e.kv.scan_all(OBJECTS, KeyRange::prefix(base.clone()))? {
                let key = String::from_utf8_lossy(&k[strip..]).into_owned();
                let r: ObjectRecord = model::decode(&v)?;
                if filter.matches(&key, &r) && due(&r) {
                    versions::delete_latest(e, cx, bucket, &key, "LifecycleExpiration")?;
                }
            }
        }
    }
    let lone_markers = rule.expiration.as_ref().is_some_and(|x| x.expired_object_delete_marker == Some(true));
    let noncurrent = rule.noncurrent_version_expiration.as_ref();
    if lone_markers || noncurrent.is_some() {
        let rows = e.kv.scan_all(VERSIONS, KeyRange::prefix(base.clone()))?;
        let mut history: Vec<(String, ObjectRecord)> = Vec::new();
        for (k, v) in rows {
            let Some(key) = versions::key_of(strip, &k) else { continue };
            if history.first().is_some_and(|(first, _)| *first != key) {
                expire_history(e, cx, bucket, &history, lone_markers, noncurrent, &filter, now, timing)?;
                history.clear();
            }
            history.push((key, model::decode(&v)?));
        }
        expire_history(e, cx, bucket, &history, lone_markers, noncurrent, &filter, now, timing)?;
    }
    if let Some(days) = rule.abort_incomplete_multipart_upload.as_ref().and_then(|a| a.days_after_initiation)
    {
        for (_, v) in e.kv.scan_all(UPLOADS, KeyRange::prefix(base.clone()))? {
            let u: UploadRecord = model::decode(&v)?;
            if u.key.starts_with(&filter.prefix) && u.initiated_ms.saturating_add(timing.days_ms(days)) <= now
            {
                let input = AbortMultipartUploadInput {
                    bucket: bucket.name.clone(),
                    key: u.key.clone(),
                    upload_id: u.upload_id.clone(),
                    ..Default::default()
                };
                match crate::multipart::abort(e, cx, input).await {
                    Ok(_) | Err(crate::error::Error::NoSuchUpload) => {}
                    Err(err) => return Err(err),
                }
            }
        }
    }
    Ok(())
}

/// Applies the version rules to one key's versions, newest first.
#[allow(clippy::too_many_arguments)]
fn expire_history(
    e: &Engine,
    cx: &Cx,
    bucket: &BucketRecord,
    history: &[(String, ObjectRecord)],
    lone_markers: bool,
    noncurrent: Option<&NoncurrentVersionExpiration>,
    filter: &Filter,
    now: i64,
    timing: Timing,
) -> Result<()> {
    let Some((key, latest)) = history.first() else { return Ok(()) };
    if lone_markers && history.len() == 1 && latest.delete_marker && key.starts_with(&filter.prefix) {
        versions::delete_version(
            e,
            cx,
            bucket,
            key,
            &versions::wire_id(latest),
            "LifecycleExpiration:Delete",
        )?;
        return Ok(());
    }
    let Some(nc) = noncurrent else { return Ok(()) };
    let Some(days) = nc.noncurrent_days else { return Ok(()) };
    let keep = usize::try_from(nc.newer_noncurrent_versions.unwrap_or(0)).unwrap_or(0);
    for (i, (key, r)) in history.iter().enumerate().skip(1) {
        // A version became noncurrent when the next newer one was written.
        let since = history[i - 1].1.modified_ms;
        let rank = i - 1;
        if rank >= keep
            && since.saturating_add(timing.days_ms(days)) <= now
            && (r.delete_marker || filter.matches(key, r))
        {
            versions::delete_version(
                e,
                cx,
                bucket,
                key,
                &versions::wire_id(r),
                "LifecycleExpiration:Delete",
            )?;
        }
    }
    Ok(())
}

/// The `x-amz-expiration` header for an object the bucket's rules will expire, if any: the
/// first matching rule with Expiration Days (S3 rounds up to the next midnight UTC).
pub fn expiration_header(
    bucket: &BucketRecord,
    key: &str,
    r: &ObjectRecord,
    timing: Timing,
) -> Option<String> {
    let json = bucket.configs.get("lifecycle")?;
    let config: BucketLifecycleConfiguration = model::decode(json.as_bytes()).ok()?;
    for rule in config.rules.iter().filter(|r| r.status.as_str() == "Enabled") {
        let Some(days) = rule.expiration.as_ref().and_then(|x| x.days) else { continue };
        if !Filter::of(rule).matches(key, r) {
            continue;
        }
        let mut at = r.modified_ms.saturating_add(timing.days_ms(days));
        if timing.day == Duration::from_secs(86_400) {
            at = (at + 86_400_000 - 1).div_euclid(86_400_000) * 86_400_000;
        }
        let when = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000).ok()?;
        let date = when.format(&time::format_description::well_known::Rfc2822).ok()?;
        let id = rule.id.clone().unwrap_or_default();
        return Some(format!("expiry-date=\"{}\", rule-id=\"{id}\"", date.replace("+0000", "GMT")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(size: u64, tags: &[(&str, &str)]) -> ObjectRecord {
        ObjectRecord {
            size,
            tags: tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Default::default()
        }
    }

    fn enabled() -> LifecycleRule {
        LifecycleRule {
            abort_incomplete_multipart_upload: None,
            expiration: None,
            filter: None,
            id: None,
            noncurrent_version_expiration: None,
            noncurrent_version_transitions: None,
            prefix: None,
            status: ExpirationStatus::from("Enabled".to_owned()),
            transitions: None,
        }
    }

    #[test]
    fn filters_combine_prefix_tags_and_sizes() {
        let mut rule = enabled();
        rule.filter = Some(LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: Some("logs/".into()),
                tags: Some(vec![Tag { key: Some("tier".into()), value: Some("tmp".into()) }]),
                object_size_greater_than: Some(10),
                object_size_less_than: Some(100),
            }),
            ..Default::default()
        });
        let f = Filter::of(&rule);
        assert!(f.matches("logs/a", &object(50, &[("tier", "tmp"), ("x", "y")])));
        assert!(!f.matches("data/a", &object(50, &[("tier", "tmp")])));
        assert!(!f.matches("logs/a", &object(50, &[("tier", "keep")])));
        assert!(!f.matches("logs/a", &object(10, &[("tier", "tmp")])));
        assert!(!f.matches("logs/a", &object(100, &[("tier", "tmp")])));
        // A rule without a filter covers every object.
        assert!(Filter::of(&enabled()).matches("anything", &object(0, &[])));
    }

    #[test]
    fn expiration_headers_name_the_rule_and_round_to_midnight() {
        let mut rule = enabled();
        rule.id = Some("short".into());
        rule.expiration = Some(LifecycleExpiration { days: Some(1), ..Default::default() });
        let config = BucketLifecycleConfiguration { rules: vec![rule] };
        let mut bucket = BucketRecord {
            v: 1,
            name: "b".into(),
            region: "us-east-1".into(),
            created_ms: 0,
            tags: None,
            versioning: None,
            configs: Default::default(),
        };
        bucket.configs.insert("lifecycle".into(), serde_json::to_string(&config).expect("json"));
        let timing = Timing { day: Duration::from_secs(86_400), interval: Duration::from_secs(3600) };
        // Written 2024-01-01 10:00 UTC: expires at midnight after one day.
        let r = ObjectRecord { modified_ms: 1_704_103_200_000, ..Default::default() };
        let header = expiration_header(&bucket, "k", &r, timing).expect("header");
        assert_eq!(header, "expiry-date=\"Wed, 03 Jan 2024 00:00:00 GMT\", rule-id=\"short\"");
    }
}
