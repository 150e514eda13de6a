//! Query-protocol requests (IAM, STS, SNS, SQS-query, CloudFormation): the URL query and the
//! form body, split at the first NUL byte of the input, through `protocol::query::params` and
//! every accessor a service uses.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b""[..], data),
    };
    let query = String::from_utf8_lossy(query);
    let uri = format!("/?{}", query.replace(|c: char| c.is_whitespace() || c.is_control() || c == '#', ""));
    let Ok(req) = http::Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(Bytes::copy_from_slice(body))
    else {
        return;
    };
    let Ok(params) = protocol::query::params(&req) else { return };
    let _ = params.action();
    let _ = params.require(&["Action", "Version"]);
    for name in ["MaxItems", "DelaySeconds", "Tags", "Attributes", "Entries", "Marker"] {
        let _ = params.get(name);
        let _ = params.int(name);
        let _ = params.bool(name);
        let _ = params.list(name);
        for s in params.structs(name) {
            let _ = s.list("member");
            let _ = s.structs("member");
        }
    }
    let rebuilt = protocol::query::QueryParams::from_pairs(params.iter());
    assert_eq!(rebuilt, params, "iter/from_pairs is not a round trip");
});
