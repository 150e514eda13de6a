//! What S3 reports to the usage meter (`ports::UsageMeter`): each request in the price class S3
//! bills it in — PUT, COPY, POST and LIST in one, GET and everything else but DELETE in the
//! other — under its bucket, and the bytes each bucket stores as versions come and go. The
//! class is read from the method, path and query alone, before s3s parses anything, so it
//! costs next to nothing.
//!
//! The meter keeps no history across restarts, so at start [`Meter::seed`] tells it what every
//! bucket already stores, by reading every version once in the background. Writes go on
//! meanwhile: each one holds a shared lock from before its commit until it has reported, and
//! the scan takes that lock exclusively for each page it reads, so a write's change is either
//! in a page read after it (and the write reports nothing) or lies at or before the last key
//! read (and the write reports it). Nothing is counted twice or missed.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard};

use http::Method;
use ports::{ResourceKind, Unit, UsageMeter};
use serde::Deserialize;
use storage::{KeyRange, Kv};
use types::{AccountId, Region, Scope};

use crate::model::{BUCKETS, BucketRecord};
use crate::versions::VERSIONS;

/// Versions read per page of the start-up scan.
const SEED_PAGE: usize = 1_024;

/// The meter S3 reports to, once `server` hands one over.
#[derive(Clone, Default)]
pub struct Meter(Arc<Inner>);

#[derive(Default)]
struct Inner {
    meter: OnceLock<Arc<dyn UsageMeter>>,
    /// Where the start-up scan stands; writes hold it shared while it runs.
    seeding: RwLock<Seeding>,
    /// The scan is over (or was never needed): writes report without looking.
    seeded: AtomicBool,
}

#[derive(Default)]
struct Seeding {
    /// Every version key up to this one has been read (none yet: `None`).
    read_up_to: Option<Vec<u8>>,
    done: bool,
}

/// What a write holds from before its commit until it has reported its change in stored
/// bytes: nothing once the start-up scan is over.
pub struct Hold<'a>(Option<RwLockReadGuard<'a, Seeding>>);

impl Hold<'_> {
    /// Whether a change at version key `key` is the write's to report (the scan read past it,
    /// so it counted what was there before).
    fn reports(&self, key: &[u8]) -> bool {
        match &self.0 {
            None => true,
            Some(s) => s.done || s.read_up_to.as_deref().is_some_and(|r| key <= r),
        }
    }
}

/// The only part of a version record the scan needs.
#[derive(Deserialize)]
struct Sized {
    #[serde(default)]
    size: u64,
}

impl Meter {
    pub fn set(&self, meter: Arc<dyn UsageMeter>) {
        let _ = self.0.meter.set(meter);
    }

    /// Counts one request, if it is billed.
    pub fn request(&self, scope: &Scope, parts: &http::request::Parts) {
        let Some(meter) = self.0.meter.get() else { return };
        if let Some((bucket, unit)) = classify(parts) {
            meter.add(scope, ResourceKind::Bucket, bucket, unit, 1);
        }
    }

    /// Taken by a write before it commits, released once it has called [`Meter::stored`].
    pub fn hold(&self) -> Hold<'_> {
        if self.0.seeded.load(Ordering::Acquire) {
            return Hold(None);
        }
        Hold(Some(self.0.seeding.read().unwrap_or_else(PoisonError::into_inner)))
    }

    /// Reports what a committed write changed: bytes added or removed at version keys of
    /// `bucket` (whose own region its storage is billed in).
    pub fn stored(&self, hold: &Hold<'_>, account: &str, bucket: &BucketRecord, changes: &[(&[u8], i64)]) {
        let Some(meter) = self.0.meter.get() else { return };
        let delta: i64 = changes.iter().filter(|(k, _)| hold.reports(k)).map(|(_, d)| d).sum();
        if delta == 0 {
            return;
        }
        if let Some(scope) = scope_of(account, &bucket.region) {
            meter.stored(&scope, &bucket.name, delta);
        }
    }

    /// Tells the meter what every bucket stores, by reading every version once. Runs on its
    /// own thread at start; writes carry on meanwhile (see the module's notes).
    pub fn seed(&self, kv: &dyn Kv) -> Result<usize, storage::StorageError> {
        self.seed_in_pages(kv, SEED_PAGE)
    }

    fn seed_in_pages(&self, kv: &dyn Kv, page_size: usize) -> Result<usize, storage::StorageError> {
        let Some(meter) = self.0.meter.get() else {
            self.finish();
            return Ok(0);
        };
        let mut regions: HashMap<Vec<u8>, String> = HashMap::new();
        for (key, value) in kv.scan_all(BUCKETS, KeyRange::all())? {
            if let Ok(b) = serde_json::from_slice::<BucketRecord>(&value) {
                regions.insert(key, b.region);
            }
        }
        let mut totals: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut from = Bound::Unbounded;
        let mut versions = 0;
        loop {
            let mut seeding = self.0.seeding.write().unwrap_or_else(PoisonError::into_inner);
            let page = match kv.scan(VERSIONS, KeyRange::new(from.clone(), Bound::Unbounded), page_size) {
                Ok(page) => page,
                Err(e) => {
                    // Writes must not wait on a scan that will not finish: count from here.
                    seeding.done = true;
                    drop(seeding);
                    self.finish();
                    return Err(e);
                }
            };
            for (key, value) in &page {
                let Some(bucket) = bucket_key(key) else { continue };
                let size = serde_json::from_slice::<Sized>(value).map_or(0, |s| s.size);
                *totals.entry(bucket.to_vec()).or_default() += i64::try_from(size).unwrap_or(i64::MAX);
            }
            versions += page.len();
            match page.last() {
                Some((last, _)) if page.len() == page_size => {
                    seeding.read_up_to = Some(last.clone());
                    from = Bound::Excluded(last.clone());
                }
                _ => {
                    seeding.done = true;
                    break;
                }
            }
        }
        for (bucket, total) in totals {
            let Some(region) = regions.get(&bucket) else { continue };
            let Some((account, name)) = std::str::from_utf8(&bucket).ok().and_then(|b| b.split_once('/'))
            else {
                continue;
            };
            if let Some(scope) = scope_of(account, region)
                && total != 0
            {
                meter.stored(&scope, name, total);
            }
        }
        self.finish();
        Ok(versions)
    }

    /// Ends the start-up scan's hold on writes (also when it cannot run).
    pub fn finish(&self) {
        self.0.seeding.write().unwrap_or_else(PoisonError::into_inner).done = true;
        self.0.seeded.store(true, Ordering::Release);
    }
}

/// `{account}/{bucket}` of a version key (`{account}/{bucket}/{key}\0{stamp}`).
fn bucket_key(version_key: &[u8]) -> Option<&[u8]> {
    let first = version_key.iter().position(|b| *b == b'/')?;
    let second = version_key[first + 1..].iter().position(|b| *b == b'/')?;
    Some(&version_key[..first + 1 + second])
}

fn scope_of(account: &str, region: &str) -> Option<Scope> {
    Some(Scope { account: AccountId::parse(account)?, region: Region::parse(region)? })
}

/// The bucket a request is for and its price class; `None` for what S3 does not charge
/// (DELETE). `ListBuckets` (a GET of `/`, whatever its parameters: `bucket-region`,
/// `max-buckets`, …) names no bucket: it is a LIST request of the account, counted under
/// `""`; any other request of `/` is no S3 operation and is not counted.
pub fn classify(parts: &http::request::Parts) -> Option<(&str, Unit)> {
    let host_bucket =
        parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).and_then(virtual_bucket);
    let path = parts.uri.path().trim_start_matches('/');
    let (bucket, key) = match host_bucket {
        Some(b) => (b, path),
        None => path.split_once('/').unwrap_or((path, "")),
    };
    if bucket.is_empty() {
        return (parts.method == Method::GET).then_some(("", Unit::S3Tier1));
    }
    let query = parts.uri.query().unwrap_or_default();
    let unit = match parts.method {
        Method::DELETE => return None,
        Method::PUT | Method::POST => Unit::S3Tier1,
        // A listing: of buckets, of a bucket's objects, versions or uploads.
        Method::GET if key.is_empty() && lists(query) => Unit::S3Tier1,
        _ => Unit::S3Tier2,
    };
    Some((bucket, unit))
}

/// A GET on a bucket lists it unless it reads one of the bucket's settings (`?acl`,
/// `?location`, …); `?versions` and `?uploads` list too.
fn lists(query: &str) -> bool {
    query.split('&').filter(|p| !p.is_empty()).all(|p| {
        let name = p.split_once('=').map_or(p, |(k, _)| k);
        matches!(
            name,
            "list-type"
                | "prefix"
                | "delimiter"
                | "marker"
                | "max-keys"
                | "continuation-token"
                | "start-after"
                | "encoding-type"
                | "fetch-owner"
                | "versions"
                | "key-marker"
                | "version-id-marker"
                | "uploads"
                | "upload-id-marker"
                | "max-uploads"
                | "x-id"
        )
    })
}

/// `{bucket}.s3.localhost` and `{bucket}.s3.{region}.localhost`, as `LocalHosts` reads them.
fn virtual_bucket(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let rest = name.strip_suffix(".localhost")?;
    if let Some(bucket) = rest.strip_suffix(".s3") {
        return Some(bucket);
    }
    rest.rsplit_once('.').and_then(|(before, _region)| before.strip_suffix(".s3"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes stored per bucket, as the usage store keeps them.
    #[derive(Default)]
    struct Stored(std::sync::Mutex<HashMap<String, i64>>);

    impl UsageMeter for Stored {
        fn add(&self, _scope: &Scope, _kind: ResourceKind, _name: &str, _unit: Unit, _amount: u64) {}

        fn stored(&self, _scope: &Scope, bucket: &str, delta: i64) {
            *self.0.lock().unwrap_or_else(PoisonError::into_inner).entry(bucket.to_owned()).or_default() +=
                delta;
        }
    }

    fn cx() -> crate::engine::Cx {
        crate::engine::Cx {
            account: "000000000000".to_owned(),
            region: "us-east-1".to_owned(),
            request_id: "test".to_owned(),
            principal: "test".to_owned(),
            trace: None,
        }
    }

    fn put(s3: &crate::S3Service, key: &str, body: &'static [u8]) {
        let bucket = crate::model::get::<BucketRecord>(
            s3.engine.kv.as_ref(),
            BUCKETS,
            &crate::model::bucket_key("000000000000", "b"),
        )
        .ok()
        .flatten()
        .expect("bucket");
        let cx = cx();
        let record = crate::model::ObjectRecord { size: body.len() as u64, ..Default::default() };
        crate::versions::put(&s3.engine, &cx, &bucket, key, record, false, None, None).expect("put");
    }

    fn delete(s3: &crate::S3Service, key: &str) {
        let bucket = crate::model::get::<BucketRecord>(
            s3.engine.kv.as_ref(),
            BUCKETS,
            &crate::model::bucket_key("000000000000", "b"),
        )
        .ok()
        .flatten()
        .expect("bucket");
        let cx = cx();
        crate::versions::delete_latest(&s3.engine, &cx, &bucket, key, "ObjectRemoved").expect("delete");
    }

    /// What the versions in the store add up to.
    fn truth(kv: &dyn Kv) -> i64 {
        kv.scan_all(VERSIONS, KeyRange::all())
            .expect("scan")
            .iter()
            .map(|(_, v)| serde_json::from_slice::<Sized>(v).map_or(0, |s| s.size as i64))
            .sum()
    }

    #[test]
    fn the_start_up_count_and_concurrent_writes_add_up_to_what_is_stored() {
        for round in 0..5 {
            let store = storage::Store::memory();
            let s3 = crate::S3Service::new(store.clone(), Arc::new(types::SystemClock), Default::default());
            let bucket = BucketRecord {
                v: 1,
                name: "b".to_owned(),
                region: "us-east-1".to_owned(),
                created_ms: 0,
                tags: None,
                versioning: None,
                configs: Default::default(),
            };
            store
                .kv
                .put(
                    BUCKETS,
                    &crate::model::bucket_key("000000000000", "b"),
                    &serde_json::to_vec(&bucket).expect("json"),
                )
                .expect("bucket");
            // Objects from "before the restart", counted by no meter.
            for i in 0..400 {
                put(&s3, &format!("k{i:04}"), if i % 3 == 0 { b"twelve bytes" } else { b"four" });
            }
            let counted = Arc::new(Stored::default());
            s3.engine.meter.set(counted.clone());
            let meter = s3.engine.meter.clone();
            let kv = store.kv.clone();
            let scan = std::thread::spawn(move || meter.seed_in_pages(kv.as_ref(), 7));
            // Meanwhile: new keys, overwrites and deletes all over the key space.
            for i in 0..300 {
                let key = format!("k{:04}", (i * 37 + round * 11) % 600);
                match i % 3 {
                    0 => delete(&s3, &key),
                    1 => put(&s3, &key, b"a much longer body than before"),
                    _ => put(&s3, &key, b"x"),
                }
            }
            assert!(scan.join().expect("scan thread").is_ok());
            let got = counted.0.lock().unwrap_or_else(PoisonError::into_inner).get("b").copied().unwrap_or(0);
            assert_eq!(got, truth(store.kv.as_ref()), "round {round}");
            // Once seeded, writes report as before.
            put(&s3, "after", b"12345");
            let got = counted.0.lock().unwrap_or_else(PoisonError::into_inner).get("b").copied().unwrap_or(0);
            assert_eq!(got, truth(store.kv.as_ref()));
        }
    }

    fn check(method: &str, uri: &str, host: &str, want: Option<(&str, Unit)>) {
        let parts = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .body(())
            .expect("request")
            .into_parts()
            .0;
        assert_eq!(classify(&parts), want, "{method} {uri} (host {host})");
    }

    #[test]
    fn requests_fall_in_s3s_price_classes() {
        let local = "127.0.0.1:4566";
        check("PUT", "/photos/a.png", local, Some(("photos", Unit::S3Tier1)));
        check("POST", "/photos/a.png?uploads", local, Some(("photos", Unit::S3Tier1)));
        check("PUT", "/photos", local, Some(("photos", Unit::S3Tier1)));
        check("GET", "/photos?list-type=2&prefix=a", local, Some(("photos", Unit::S3Tier1)));
        check("GET", "/photos", local, Some(("photos", Unit::S3Tier1)));
        check("GET", "/photos?versions", local, Some(("photos", Unit::S3Tier1)));
        check("GET", "/", local, Some(("", Unit::S3Tier1)));
        // ListBuckets with its parameters (the console's graph sends `bucket-region`) is still
        // a LIST; nothing else of `/` is an S3 operation.
        check("GET", "/?bucket-region=us-east-1", local, Some(("", Unit::S3Tier1)));
        check("GET", "/?max-buckets=10&continuation-token=x", local, Some(("", Unit::S3Tier1)));
        check("HEAD", "/", local, None);
        check("OPTIONS", "/", local, None);
        check("GET", "/photos?acl", local, Some(("photos", Unit::S3Tier2)));
        check("GET", "/photos/a.png", local, Some(("photos", Unit::S3Tier2)));
        check("HEAD", "/photos/a.png", local, Some(("photos", Unit::S3Tier2)));
        check("DELETE", "/photos/a.png", local, None);
        check("GET", "/a.png", "photos.s3.localhost:4566", Some(("photos", Unit::S3Tier2)));
        check("PUT", "/k", "my.bucket.s3.us-west-2.localhost", Some(("my.bucket", Unit::S3Tier1)));
        check("GET", "/?list-type=2", "photos.s3.localhost", Some(("photos", Unit::S3Tier1)));
    }
}
