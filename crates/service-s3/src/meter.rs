//! What S3 reports to the usage meter (`ports::UsageMeter`): each request in the price class S3
//! bills it in — PUT, COPY, POST and LIST in one, GET and everything else but DELETE in the
//! other — under its bucket, and the bytes each bucket stores as versions come and go. The
//! class is read from the method, path and query alone, before s3s parses anything, so it
//! costs next to nothing.

use std::sync::{Arc, OnceLock};

use http::Method;
use ports::{ResourceKind, Unit, UsageMeter};
use types::{AccountId, Region, Scope};

use crate::engine::Cx;

/// The meter S3 reports to, once `server` hands one over.
#[derive(Clone, Default)]
pub struct Meter(Arc<OnceLock<Arc<dyn UsageMeter>>>);

impl Meter {
    pub fn set(&self, meter: Arc<dyn UsageMeter>) {
        let _ = self.0.set(meter);
    }

    /// Counts one request, if it is billed.
    pub fn request(&self, scope: &Scope, parts: &http::request::Parts) {
        let Some(meter) = self.0.get() else { return };
        if let Some((bucket, unit)) = classify(parts) {
            meter.add(scope, ResourceKind::Bucket, bucket, unit, 1);
        }
    }

    /// Moves the bytes `bucket` stores by `delta`.
    pub fn stored(&self, cx: &Cx, bucket: &str, delta: i64) {
        let Some(meter) = self.0.get() else { return };
        if delta == 0 {
            return;
        }
        let (Some(account), Some(region)) = (AccountId::parse(&cx.account), Region::parse(&cx.region)) else {
            return;
        };
        meter.stored(&Scope { account, region }, bucket, delta);
    }
}

/// The bucket a request is for and its price class; `None` for what S3 does not charge
/// (DELETE). `ListBuckets` names no bucket and is counted under `""`.
pub fn classify(parts: &http::request::Parts) -> Option<(&str, Unit)> {
    let host_bucket =
        parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).and_then(virtual_bucket);
    let path = parts.uri.path().trim_start_matches('/');
    let (bucket, key) = match host_bucket {
        Some(b) => (b, path),
        None => path.split_once('/').unwrap_or((path, "")),
    };
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
        check("GET", "/photos?acl", local, Some(("photos", Unit::S3Tier2)));
        check("GET", "/photos/a.png", local, Some(("photos", Unit::S3Tier2)));
        check("HEAD", "/photos/a.png", local, Some(("photos", Unit::S3Tier2)));
        check("DELETE", "/photos/a.png", local, None);
        check("GET", "/a.png", "photos.s3.localhost:4566", Some(("photos", Unit::S3Tier2)));
        check("PUT", "/k", "my.bucket.s3.us-west-2.localhost", Some(("my.bucket", Unit::S3Tier1)));
        check("GET", "/?list-type=2", "photos.s3.localhost", Some(("photos", Unit::S3Tier1)));
    }
}
