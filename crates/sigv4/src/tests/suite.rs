//! The AWS SigV4 signing test suite (`test_data/aws-signing-test-suite`): every signed request,
//! header and presigned, must verify, and the canonical request this crate computes must be the
//! suite's, byte for byte.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{at, request, sha256_hex};
use crate::canonical::canonical_request_with;
use crate::{canonical_uri, parse, verify};

/// Cases that cannot reach a server as written, each with the reason. Kept explicit so that a
/// case is never skipped silently.
const UNREPRESENTABLE: &[(&str, &str)] = &[
    ("get-header-value-multiline", "obs-fold header lines; HTTP/1.1 servers refuse them (RFC 9112 §5.2)"),
    ("get-space-normalized", "a raw space in the request target"),
    ("get-space-unnormalized", "a raw space in the request target"),
    (
        "get-utf8",
        "raw UTF-8 in the request target; a real client sends it encoded, and then signs it double-encoded",
    ),
    ("get-vanilla-utf8-query", "raw UTF-8 in the request target"),
];

struct Raw {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/aws-signing-test-suite/v4")
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut cases: Vec<(String, PathBuf)> = std::fs::read_dir(suite_dir())
        .expect("the suite is checked in")
        .map(|entry| {
            let path = entry.expect("readable directory").path();
            let name = path.file_name().and_then(|n| n.to_str()).expect("ASCII case names").to_owned();
            (name, path)
        })
        .collect();
    cases.sort();
    cases
}

fn read(dir: &Path, file: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(file)).ok()
}

/// A raw HTTP request as the suite writes it; `None` when a line is folded (obs-fold).
fn parse_raw(text: &str) -> Option<Raw> {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let request_line = lines.next()?;
    let request_line = request_line.strip_suffix(" HTTP/1.1").unwrap_or(request_line);
    let (method, target) = request_line.split_once(' ')?;
    let mut headers = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return None;
        }
        let (name, value) = line.split_once(':')?;
        // A server hands over header values without their surrounding whitespace.
        headers.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
    }
    Some(Raw {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    })
}

/// The value of `"name": …` in the suite's small, flat context files.
fn json_field<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\"");
    let rest = json[json.find(&key)? + key.len()..].trim_start().strip_prefix(':')?.trim_start();
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split([',', '}', '\n']).next().map(str::trim),
    }
}

struct Context {
    secret: String,
    now: OffsetDateTime,
    normalize: bool,
    /// The session token was appended after signing.
    omit_token: bool,
}

fn context(dir: &Path) -> Option<Context> {
    let json = read(dir, "context.json")?;
    let secret = json_field(&json, "secret_access_key")?.to_owned();
    let stamp: String = json_field(&json, "timestamp")?.chars().filter(|c| *c != '-' && *c != ':').collect();
    let normalize = json_field(&json, "normalize")? == "true";
    let omit_token = json_field(&json, "omit_session_token") == Some("true");
    Some(Context { secret, now: at(&stamp), normalize, omit_token })
}

fn parts_of(raw: &Raw) -> http::request::Parts {
    let headers: Vec<(&str, &str)> = raw.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    request(&raw.method, &raw.target, &headers)
}

#[test]
fn every_case_verifies_and_canonicalizes_like_the_suite() {
    let mut checked = 0;
    for (name, dir) in cases() {
        if UNREPRESENTABLE.iter().any(|(skip, _)| *skip == name) {
            continue;
        }
        let Some(ctx) = context(&dir) else {
            // The two cases without a context only pin the double-encoded path.
            let raw = parse_raw(&read(&dir, "header-signed-request.txt").expect("signed request"))
                .expect("parseable");
            let expected = read(&dir, "header-canonical-request.txt").expect("canonical request");
            let path = raw.target.split('?').next().unwrap_or_default();
            assert_eq!(Some(canonical_uri(path, false).as_str()), expected.lines().nth(1), "{name}");
            checked += 1;
            continue;
        };
        for location in ["header", "query"] {
            let Some(text) = read(&dir, &format!("{location}-signed-request.txt")) else { continue };
            let raw = parse_raw(&text).unwrap_or_else(|| panic!("{name}: unreadable {location} request"));
            let expected =
                read(&dir, &format!("{location}-canonical-request.txt")).expect("canonical request");
            let parts = parts_of(&raw);
            if !ctx.normalize {
                // Unnormalized paths are what S3 signs; the suite signs them as service
                // "service", which this crate normalizes, so only the path is compared, with
                // S3's rule (these paths need no encoding, so single and double agree).
                let path = raw.target.split('?').next().unwrap_or_default();
                assert_eq!(Some(canonical_uri(path, true).as_str()), expected.lines().nth(1), "{name}");
                checked += 1;
                continue;
            }
            let signed = parse(&parts)
                .unwrap_or_else(|e| panic!("{name} ({location}): {e}"))
                .unwrap_or_else(|| panic!("{name} ({location}): not seen as signed"));
            let body_hash = sha256_hex(&raw.body);
            let payload = parts
                .headers
                .get("x-amz-content-sha256")
                .and_then(|v| v.to_str().ok())
                .map_or(body_hash.clone(), str::to_owned);
            let ours = canonical_request_with(&parts, &signed, &payload, ctx.omit_token);
            assert_eq!(String::from_utf8_lossy(&ours), expected, "{name} ({location}): canonical request");
            verify(&parts, &body_hash, &ctx.secret, ctx.now)
                .unwrap_or_else(|e| panic!("{name} ({location}): {}", e.message()));
            verify(&parts, &body_hash, "not the secret", ctx.now)
                .expect_err("a wrong secret must not verify");
            checked += 1;
        }
    }
    // 40 cases, 5 unrepresentable, 2 path-only; the rest in both locations.
    assert_eq!(checked, 2 + 33 * 2, "the suite shrank or grew");
}
