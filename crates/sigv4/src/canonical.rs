//! The canonical request, the string to sign and the signing key, computed from the request as
//! received, so that they equal what the client's signer computed before sending it.
//!
//! The subtle part is the path. A client signs the path it is about to send, so the server must
//! undo nothing and redo exactly what the SDK signers do:
//! - for every service but S3 they remove dot segments and empty segments (RFC 3986 §5.2.4,
//!   plus `//` → `/`), then URI-encode the already-encoded path *again* (`%20` → `%2520`);
//! - for S3 they neither normalise nor double-encode: the canonical URI is each segment decoded
//!   and encoded once, so `a%2Fb` stays one segment and a raw `!` becomes `%21`.

use std::borrow::Cow;
use std::fmt::Write as _;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::encoding;
use crate::parse::SignedRequest;
use crate::scope::{ALGORITHM, CredentialScope};

type HmacSha256 = Hmac<Sha256>;

/// The canonical request of `req` as `signed` describes its signature, with `payload_hash` as
/// its last line.
pub fn canonical_request(req: &http::request::Parts, signed: &SignedRequest, payload_hash: &str) -> Vec<u8> {
    canonical_request_with(req, signed, payload_hash, false)
}

/// [`canonical_request`], leaving the presigned `X-Amz-Security-Token` out of the query when
/// `omit_token`: some presigners (AWS IoT's, the SDKs' `SessionTokenMode::Exclude`) append the
/// token after signing.
pub(crate) fn canonical_request_with(
    req: &http::request::Parts,
    signed: &SignedRequest,
    payload_hash: &str,
    omit_token: bool,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(req.uri.path(), signed.is_s3()).as_bytes());
    out.push(b'\n');
    let omit: &[&str] = match (signed.presigned, omit_token) {
        (true, true) => &["X-Amz-Signature", "X-Amz-Security-Token"],
        (true, false) => &["X-Amz-Signature"],
        (false, _) => &[],
    };
    out.extend_from_slice(query_without(req.uri.query(), omit).as_bytes());
    out.push(b'\n');
    for name in &signed.signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        canonical_header_value(&mut out, req, name);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(signed.signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    out
}

/// The canonical URI of a raw request path (see the module comment).
pub fn canonical_uri(path: &str, s3: bool) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let mut out = String::with_capacity(path.len() + 16);
    if s3 {
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            encoding::encode(&mut out, &encoding::decode(segment.as_bytes()));
        }
    } else {
        encoding::encode_path(&mut out, normalize(path).as_bytes());
    }
    out
}

/// Removes `.`, `..` and empty segments of an absolute path, keeping a trailing slash.
fn normalize(path: &str) -> Cow<'_, str> {
    if !path.contains('.') && !path.contains("//") && path.starts_with('/') {
        return Cow::Borrowed(path);
    }
    let mut kept: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            other => kept.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    // "/a/b/", "/a/b/." and "/a/b/c/.." all name a directory; RFC 3986 keeps its slash.
    let directory = ["/", "/.", "/..", "/./", "/../"].iter().any(|end| path.ends_with(end));
    if out.is_empty() || directory {
        out.push('/');
    }
    Cow::Owned(out)
}

/// The canonical query string: every parameter decoded, re-encoded the strict SigV4 way and
/// sorted by name then value. A presigned request's own `X-Amz-Signature` is left out.
pub fn canonical_query(query: Option<&str>, presigned: bool) -> String {
    query_without(query, if presigned { &["X-Amz-Signature"] } else { &[] })
}

fn query_without(query: Option<&str>, omit: &[&str]) -> String {
    let Some(query) = query else {
        return String::new();
    };
    let mut pairs: Vec<(String, String)> = encoding::query_pairs(query)
        .filter(|(name, _)| !omit.iter().any(|o| name.eq_ignore_ascii_case(o.as_bytes())))
        .map(|(name, value)| {
            let (mut n, mut v) = (String::new(), String::new());
            encoding::encode(&mut n, &name);
            encoding::encode(&mut v, &value);
            (n, v)
        })
        .collect();
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// All values of the header, each trimmed with runs of spaces folded to one, joined by commas.
/// An HTTP/2 request has no `Host` header; its `:authority` (the URI's authority) stands in.
fn canonical_header_value(out: &mut Vec<u8>, req: &http::request::Parts, name: &str) {
    let mut values = req.headers.get_all(name).iter().map(http::HeaderValue::as_bytes).peekable();
    let authority;
    let fallback = if values.peek().is_none() && (name.eq_ignore_ascii_case("host") || name == ":authority") {
        authority = req.uri.authority().map(|a| a.as_str().as_bytes());
        authority
    } else {
        None
    };
    for (i, value) in values.chain(fallback).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        fold_spaces(out, value);
    }
}

/// Trims spaces at both ends and turns each run of spaces inside into one. Only the space
/// character: the SDK signers leave tabs and other whitespace alone, and so must the server.
fn fold_spaces(out: &mut Vec<u8>, value: &[u8]) {
    let mut pending_space = false;
    let mut started = false;
    for &b in value {
        if b == b' ' {
            pending_space = started;
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
            started = true;
        }
    }
}

/// `AWS4-HMAC-SHA256 \n time \n scope \n hex(sha256(canonical request))`.
pub fn string_to_sign(amz_date: &str, scope: &CredentialScope, canonical_request: &[u8]) -> String {
    let mut out = String::with_capacity(160);
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{ALGORITHM}\n{amz_date}\n{}/{}/{}/aws4_request\n{}",
        scope.date,
        scope.region,
        scope.service,
        hex::encode(Sha256::digest(canonical_request))
    );
    out
}

/// HMAC chain `"AWS4" + secret` → date → region → service → `"aws4_request"`.
pub fn signing_key(secret_access_key: &str, scope: &CredentialScope) -> [u8; 32] {
    let k_date = hmac(format!("AWS4{secret_access_key}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac(&k_date, scope.region.as_bytes());
    let k_service = hmac(&k_region, scope.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Whether `signature_hex` (either case) is the HMAC of `string_to_sign` under `key`, compared
/// in constant time so that timing does not reveal how much of a forged signature was right.
pub(crate) fn signature_matches(key: &[u8; 32], string_to_sign: &str, signature_hex: &str) -> bool {
    let Ok(provided) = hex::decode(signature_hex) else {
        return false;
    };
    new_mac(key).chain_update(string_to_sign.as_bytes()).verify_slice(&provided).is_ok()
}

/// The hex signature of `string_to_sign` under `key`.
pub fn signature(key: &[u8; 32], string_to_sign: &str) -> String {
    hex::encode(hmac(key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    new_mac(key).chain_update(data).finalize().into_bytes().into()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of every length; only fixed-key MACs can refuse one.
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length")
}
