//! Presigned URLs: the input is the query string of a GET (`X-Amz-Algorithm=…&X-Amz-Credential=…`),
//! read by `credential_scope`, `parse` and, when it parses, verified.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else { return };
    let Ok(req) = http::Request::get(format!("/bucket/key?{query}")).header("host", "localhost").body(())
    else {
        return;
    };
    let (parts, ()) = req.into_parts();
    let _ = sigv4::credential_scope(&parts.headers, parts.uri.query());
    let _ = sigv4::canonical_query(parts.uri.query(), true);
    if let Ok(Some(signed)) = sigv4::parse(&parts) {
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let _ = sigv4::verify_parsed(&parts, &signed, "UNSIGNED-PAYLOAD", "secret", now);
    }
});
