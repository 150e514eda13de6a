//! The credential scope — who signed, for which day, region and service — read cheaply and
//! without judgement, because the gateway routes and picks the tenant by it on every request,
//! signature enforcement or not.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::encoding;

/// The algorithm this crate verifies.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// SigV4a, whose scope has no region (it travels in `X-Amz-Region-Set`). Its scope is read for
/// routing; its signatures are not verified.
pub(crate) const ALGORITHM_V4A: &str = "AWS4-ECDSA-P256-SHA256";

/// `AKID/20240101/us-east-1/sts/aws4_request`, taken apart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CredentialScope {
    pub access_key_id: String,
    /// `yyyymmdd`, as written in the scope (unchecked here).
    pub date: String,
    pub region: String,
    pub service: String,
}

/// The credential scope of a request, from its `Authorization` header or, failing that, from
/// its presigned `X-Amz-Credential` query parameter (percent-decoded).
///
/// Never fails hard: anything unreadable is `None`. It checks only the shape (five
/// `/`-separated parts, ending in the terminator's place); whether the scope is *valid* is for
/// [`crate::parse`]. Also understood, for routing and tenancy only:
/// - SigV2 (`Authorization: AWS AKID:signature`, or `AWSAccessKeyId=` in the query) gives the
///   access key id with the date, region and service empty;
/// - SigV4a (`AWS4-ECDSA-P256-SHA256`) gives the region from the first entry of
///   `X-Amz-Region-Set`, since its scope has none.
pub fn credential_scope(headers: &HeaderMap, query: Option<&str>) -> Option<CredentialScope> {
    if let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if !value.is_empty() {
            // A present but unreadable header means the request is not presigned either; AWS
            // itself refuses the two mechanisms together.
            return from_authorization(value, headers);
        }
    }
    let credential = encoding::query_param(query, "X-Amz-Credential");
    if let Some(credential) = credential {
        let algorithm = encoding::query_param(query, "X-Amz-Algorithm");
        if algorithm.as_deref() == Some(ALGORITHM_V4A) {
            let region_set = encoding::query_param(query, "X-Amz-Region-Set");
            return split_v4a(&credential, region_set.as_deref());
        }
        return split(&credential);
    }
    let legacy = encoding::query_param(query, "AWSAccessKeyId")?;
    (!legacy.is_empty()).then(|| CredentialScope { access_key_id: legacy, ..CredentialScope::default() })
}

fn from_authorization(value: &str, headers: &HeaderMap) -> Option<CredentialScope> {
    let (scheme, rest) = value.split_once(|c: char| c.is_ascii_whitespace()).unwrap_or((value, ""));
    match scheme {
        ALGORITHM => split(credential_of(rest)?),
        ALGORITHM_V4A => {
            let region_set = headers.get("x-amz-region-set").and_then(|v| v.to_str().ok());
            split_v4a(credential_of(rest)?, region_set)
        }
        "AWS" => {
            let (key, _signature) = rest.trim().split_once(':')?;
            (!key.is_empty())
                .then(|| CredentialScope { access_key_id: key.to_owned(), ..CredentialScope::default() })
        }
        _ => None,
    }
}

/// The value of `Credential=` among the comma or space separated parameters of the header.
fn credential_of(params: &str) -> Option<&str> {
    params
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .find_map(|p| p.strip_prefix("Credential="))
        .filter(|c| !c.is_empty())
}

/// Splits `key/date/region/service/terminator`. Trailing slashes are ignored, as AWS ignores them.
pub(crate) fn split(credential: &str) -> Option<CredentialScope> {
    let parts: Vec<&str> = credential.trim_end_matches('/').split('/').collect();
    let [key, date, region, service, _terminator] = parts.as_slice() else {
        return None;
    };
    Some(CredentialScope {
        access_key_id: (*key).to_owned(),
        date: (*date).to_owned(),
        region: (*region).to_owned(),
        service: (*service).to_owned(),
    })
}

fn split_v4a(credential: &str, region_set: Option<&str>) -> Option<CredentialScope> {
    let parts: Vec<&str> = credential.trim_end_matches('/').split('/').collect();
    let [key, date, service, _terminator] = parts.as_slice() else {
        return None;
    };
    let region = region_set.and_then(|set| set.split(',').next()).unwrap_or_default().trim();
    Some(CredentialScope {
        access_key_id: (*key).to_owned(),
        date: (*date).to_owned(),
        region: region.to_owned(),
        service: (*service).to_owned(),
    })
}
