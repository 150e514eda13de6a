//! SigV4 in headers: the input is a request head (`METHOD /path?query` then `Name: value` lines).
//! Routing's `credential_scope`, `parse` and, for what parses, the whole verification path run
//! without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split("\n");
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(req) = builder.body(()) else { return };
    let (parts, ()) = req.into_parts();
    let _ = sigv4::credential_scope(&parts.headers, parts.uri.query());
    let _ = sigv4::canonical_uri(parts.uri.path(), false);
    let _ = sigv4::canonical_uri(parts.uri.path(), true);
    let _ = sigv4::canonical_query(parts.uri.query(), false);
    if let Ok(Some(signed)) = sigv4::parse(&parts) {
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let _ = sigv4::check_clock(&signed, now);
        let _ = sigv4::verify_parsed(&parts, &signed, empty, "secret", now);
    }
});
