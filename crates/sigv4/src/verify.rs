//! Verification: the clock checks and the recomputed signature, in the order each dialect of
//! AWS applies them.

use time::OffsetDateTime;

use crate::canonical;
use crate::error::{MAX_SKEW, Mismatch, SigError};
use crate::parse::{self, SignedRequest, header_str, is_sha256_hex};

/// How long a presigned request of a service other than S3 lives when it names no
/// `X-Amz-Expires`: the same 15 minutes as a header-signed one.
const DEFAULT_EXPIRES: u32 = 900;

/// Verifies the signature of `req`, whose body hashes (SHA-256, lower-case hex) to
/// `payload_sha256_hex`, signed with `secret_access_key`, at `now`.
///
/// An unsigned request is [`SigError::MissingAuthenticationToken`]. The caller must already have
/// looked the access key up ([`crate::parse`] gives it) to find the secret; an unknown key is
/// [`SigError::InvalidClientTokenId`].
pub fn verify(
    req: &http::request::Parts,
    payload_sha256_hex: &str,
    secret_access_key: &str,
    now: OffsetDateTime,
) -> Result<(), SigError> {
    let signed = parse::parse(req)?.ok_or(SigError::MissingAuthenticationToken)?;
    verify_parsed(req, &signed, payload_sha256_hex, secret_access_key, now)
}

/// [`verify`] for a request already parsed, so a caller that parsed it to find the key does not
/// parse it twice.
pub fn verify_parsed(
    req: &http::request::Parts,
    signed: &SignedRequest,
    payload_sha256_hex: &str,
    secret_access_key: &str,
    now: OffsetDateTime,
) -> Result<(), SigError> {
    // The query and JSON services refuse a stale request before looking at its signature; S3
    // checks the signature first, so a forged request learns nothing about the clock.
    if !signed.is_s3() {
        check_clock(signed, now)?;
    }
    let key = canonical::signing_key(secret_access_key, &signed.scope);
    let payload_hash = payload_hash(req, signed, payload_sha256_hex);
    let matches = |payload: &str, omit_token: bool| {
        let canonical = canonical::canonical_request_with(req, signed, payload, omit_token);
        let string_to_sign = canonical::string_to_sign(&signed.amz_date, &signed.scope, &canonical);
        let ok = canonical::signature_matches(&key, &string_to_sign, &signed.signature);
        (ok, canonical, string_to_sign)
    };
    let (ok, canonical, string_to_sign) = matches(&payload_hash, false);
    // Presigners disagree on two points, and a URL is signed once, by whichever the client
    // used: the payload of a service other than S3 (the SDKs sign the body's hash, hand-rolled
    // presigners copy S3's UNSIGNED-PAYLOAD), and whether the session token is signed or
    // appended afterwards. Each variant still covers method, path, query, headers and time.
    let variant_ok = !ok && signed.presigned && {
        let token = signed.security_token.is_some();
        let unsigned = !signed.is_s3();
        (token && matches(&payload_hash, true).0)
            || (unsigned && matches(UNSIGNED_PAYLOAD, false).0)
            || (token && unsigned && matches(UNSIGNED_PAYLOAD, true).0)
    };
    if !ok && !variant_ok {
        return Err(SigError::SignatureDoesNotMatch(Box::new(Mismatch {
            access_key_id: signed.scope.access_key_id.clone(),
            signature_provided: signed.signature.clone(),
            canonical_request: String::from_utf8_lossy(&canonical).into_owned(),
            string_to_sign,
        })));
    }
    check_clock(signed, now)?;
    // A signed hash of another body than the one received would let the body be swapped.
    if is_sha256_hex(&payload_hash)
        && is_sha256_hex(payload_sha256_hex)
        && !payload_hash.eq_ignore_ascii_case(payload_sha256_hex)
    {
        return Err(SigError::ContentSha256Mismatch {
            provided: payload_hash,
            computed: payload_sha256_hex.to_ascii_lowercase(),
        });
    }
    Ok(())
}

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The last line of the canonical request. `x-amz-content-sha256`, when sent, is what the client
/// signed, verbatim (a hash, `UNSIGNED-PAYLOAD`, `STREAMING-…`); S3 presigned URLs sign
/// `UNSIGNED-PAYLOAD` (or their `X-Amz-Content-Sha256` parameter); everything else signs the
/// body's hash.
pub(crate) fn payload_hash(
    req: &http::request::Parts,
    signed: &SignedRequest,
    body_sha256_hex: &str,
) -> String {
    if let Some(declared) = header_str(&req.headers, "x-amz-content-sha256") {
        return declared.to_owned();
    }
    if signed.presigned && signed.is_s3() {
        let declared = crate::encoding::query_param(req.uri.query(), "X-Amz-Content-Sha256");
        return declared.unwrap_or_else(|| UNSIGNED_PAYLOAD.to_owned());
    }
    body_sha256_hex.to_owned()
}

/// Header-signed requests must be within [`MAX_SKEW`] of `now` either way; presigned ones are
/// valid from `X-Amz-Date` (give or take the same skew) until `X-Amz-Expires` seconds later,
/// the end included. [`verify_parsed`] runs it; it is public because the query services check
/// the clock before the access key, and a caller that looks the key up between [`crate::parse`]
/// and [`verify_parsed`] keeps AWS's order by calling it first.
pub fn check_clock(signed: &SignedRequest, now: OffsetDateTime) -> Result<(), SigError> {
    let (request_time, server_time) = (signed.timestamp, now);
    if !signed.presigned {
        if server_time - request_time > MAX_SKEW {
            return Err(SigError::Expired { request_time, server_time });
        }
        if request_time - server_time > MAX_SKEW {
            return Err(SigError::NotYetCurrent { request_time, server_time });
        }
        return Ok(());
    }
    if request_time - server_time > MAX_SKEW {
        return Err(SigError::PresignedNotYetValid { request_time, server_time });
    }
    let expires_in = signed.expires_in.unwrap_or(DEFAULT_EXPIRES);
    // Checked: an X-Amz-Date at the end of year 9999 plus a week is past what `time` holds,
    // and such a request has not expired.
    let expiry = request_time.checked_add(time::Duration::seconds(i64::from(expires_in)));
    if expiry.is_some_and(|expiry| server_time > expiry) {
        return Err(SigError::PresignedExpired { request_time, expires_in, server_time });
    }
    Ok(())
}
