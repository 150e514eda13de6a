//! The data plane's in-memory state: token buckets for throttling (stage, method or route, and
//! usage plan per API key), usage-plan quota counters per period and requests per key per day
//! (GetUsage, the last 90 days), Lambda authorizer results
//! cached by identity until their TTL runs out, and JWT issuers' keys.
//!
//! None of it is durable, on purpose: buckets refill within a second and cached authorizer
//! results are an optimisation AWS also loses. Quota counters restart with the process (a
//! documented gap; AWS keeps them for the whole period).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::lock;
use crate::model::Quota;

use super::auth::AuthResult;

/// Entries kept before expired ones are swept out of a map.
const SWEEP_AT: usize = 10_000;
/// Days of per-key usage kept for GetUsage.
const USAGE_DAYS: i64 = 90;
const DAY_MS: i64 = 86_400_000;

#[derive(Default)]
pub(crate) struct Limits {
    buckets: Mutex<HashMap<String, Bucket>>,
    quotas: Mutex<HashMap<String, (i64, i64)>>,
    /// Requests per usage plan and key (`plan\0key`) per UTC day (its start, Unix ms).
    usage: Mutex<HashMap<String, BTreeMap<i64, i64>>>,
    results: Mutex<HashMap<String, (i64, Arc<AuthResult>)>>,
    /// JWT authorizers' issuer keys.
    pub(crate) keys: super::jwks::KeyCache,
}

/// A token bucket: `burst` tokens at most, `rate` more each second.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last_ms: i64,
}

impl Limits {
    /// Takes one token from the bucket `key` (created full); false when it is empty. A bucket
    /// whose limits changed starts over, full.
    pub(crate) fn take(&self, key: &str, rate: f64, burst: i64, now_ms: i64) -> bool {
        let burst = burst.max(0) as f64;
        let rate = rate.max(0.0);
        let mut buckets = lock(&self.buckets);
        if buckets.len() >= SWEEP_AT {
            // A full bucket untouched for a minute is the same as a new one.
            buckets.retain(|_, b| now_ms - b.last_ms < 60_000);
        }
        let bucket =
            buckets.entry(key.to_owned()).or_insert(Bucket { rate, burst, tokens: burst, last_ms: now_ms });
        if bucket.rate != rate || bucket.burst != burst {
            *bucket = Bucket { rate, burst, tokens: burst, last_ms: now_ms };
        }
        let elapsed = (now_ms - bucket.last_ms).max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.last_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts one request against the quota `key` in the current period; false (and not
    /// counted) once the period's limit is reached.
    pub(crate) fn count(&self, key: &str, quota: &Quota, now_ms: i64) -> bool {
        let start = period_start(&quota.period, now_ms);
        let mut quotas = lock(&self.quotas);
        let entry = quotas.entry(key.to_owned()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= quota.limit {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Records one request of `key` (`plan\0key`) in today's usage.
    pub(crate) fn record_use(&self, key: &str, now_ms: i64) {
        let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
        let mut usage = lock(&self.usage);
        let days = usage.entry(key.to_owned()).or_default();
        *days.entry(today).or_default() += 1;
        let oldest = today - USAGE_DAYS * DAY_MS;
        while days.first_key_value().is_some_and(|(d, _)| *d < oldest) {
            days.pop_first();
        }
    }

    /// Requests of `key` on each day from `from_day` to `to_day` (day starts, inclusive).
    pub(crate) fn used_per_day(&self, key: &str, from_day: i64, to_day: i64) -> Vec<(i64, i64)> {
        let usage = lock(&self.usage);
        let days = usage.get(key);
        (0..)
            .map(|i| from_day + i * DAY_MS)
            .take_while(|d| *d <= to_day)
            .map(|d| (d, days.and_then(|m| m.get(&d)).copied().unwrap_or(0)))
            .collect()
    }

    /// What is left of `key`'s quota in the period containing `now_ms`.
    pub(crate) fn remaining(&self, key: &str, quota: &Quota, now_ms: i64) -> i64 {
        let start = period_start(&quota.period, now_ms);
        let used = lock(&self.quotas).get(key).filter(|(s, _)| *s == start).map_or(0, |(_, n)| *n);
        quota.limit - used
    }

    /// UpdateUsage: sets what is left of `key`'s quota in the current period (more than the
    /// limit is a temporary extension).
    pub(crate) fn set_remaining(&self, key: &str, quota: &Quota, remaining: i64, now_ms: i64) {
        let start = period_start(&quota.period, now_ms);
        lock(&self.quotas).insert(key.to_owned(), (start, quota.limit - remaining));
    }

    /// A cached authorizer result that has not expired.
    pub(crate) fn cached(&self, key: &str, now_ms: i64) -> Option<Arc<AuthResult>> {
        let results = lock(&self.results);
        results.get(key).filter(|(expires, _)| *expires > now_ms).map(|(_, r)| r.clone())
    }

    /// Drops every cached authorizer result of API `api_id` (the cache keys start with it).
    pub(crate) fn forget(&self, api_id: &str) {
        let prefix = format!("{api_id}\u{0}");
        lock(&self.results).retain(|key, _| !key.starts_with(&prefix));
    }

    pub(crate) fn remember(&self, key: String, ttl_seconds: i64, now_ms: i64, result: Arc<AuthResult>) {
        let mut results = lock(&self.results);
        if results.len() >= SWEEP_AT {
            results.retain(|_, (expires, _)| *expires > now_ms);
        }
        results.insert(key, (now_ms + ttl_seconds * 1000, result));
    }
}

/// Whether two instants fall in the same quota period.
pub(crate) fn same_period(period: &str, a_ms: i64, b_ms: i64) -> bool {
    period_start(period, a_ms) == period_start(period, b_ms)
}

/// The start (Unix ms, UTC) of the quota period containing `now_ms`: the day, the week from
/// Monday, or the calendar month.
pub(crate) fn period_start(period: &str, now_ms: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let day = now_ms.div_euclid(DAY);
    match period {
        // 1970-01-01 was a Thursday: three days after a Monday.
        "WEEK" => (day - (day + 3).rem_euclid(7)) * DAY,
        "MONTH" => {
            let date = time::OffsetDateTime::from_unix_timestamp(day * 86_400)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            (day - i64::from(date.day()) + 1) * DAY
        }
        _ => day * DAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_allow_a_burst_then_the_rate() {
        let l = Limits::default();
        assert!(l.take("k", 1.0, 2, 0));
        assert!(l.take("k", 1.0, 2, 0));
        assert!(!l.take("k", 1.0, 2, 10));
        assert!(l.take("k", 1.0, 2, 1_010));
        assert!(!l.take("k", 1.0, 2, 1_020));
        assert!(!l.take("zero", 10.0, 0, 0));
        // New limits, new bucket.
        assert!(l.take("k", 5.0, 1, 1_030));
    }

    #[test]
    fn quotas_reset_each_period() {
        let l = Limits::default();
        let q = Quota { limit: 2, offset: 0, period: "DAY".into() };
        assert!(l.count("k", &q, 1_000));
        assert!(l.count("k", &q, 2_000));
        assert!(!l.count("k", &q, 3_000));
        assert!(l.count("k", &q, 86_400_000 + 1));
        // 2024-02-15 (Thursday) → week from Monday 2024-02-12, month from 2024-02-01.
        let t = 1_707_998_400_000;
        assert_eq!(period_start("WEEK", t), 1_707_696_000_000);
        assert_eq!(period_start("MONTH", t), 1_706_745_600_000);
    }
}
