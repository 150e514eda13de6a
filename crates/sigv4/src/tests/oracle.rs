//! The AWS SDK's own signer (`aws-sigv4`) as the oracle: requests it signs, with the settings
//! the SDK uses for each service, must verify; the same requests changed in any one signed part
//! must not.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign,
};
use aws_smithy_runtime_api::client::identity::Identity;
use time::OffsetDateTime;

use super::sha256_hex;
use crate::{SigError, credential_scope, parse, verify};

const KEY: &str = "AKIAORACLEEXAMPLE";
const SECRET: &str = "oracle/Secret+Key/0123456789abcdefghijklmnop";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes==";

struct Case {
    name: &'static str,
    service: &'static str,
    region: &'static str,
    method: &'static str,
    /// Scheme and authority; the SDK signs the authority (port included unless default).
    origin: &'static str,
    /// As sent: already percent-encoded, the way the SDK serializers produce it.
    path_and_query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
}

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded; charset=utf-8");

const CASES: &[Case] = &[
    Case {
        name: "sts form POST",
        service: "sts",
        region: "us-east-1",
        method: "POST",
        origin: "https://sts.amazonaws.com",
        path_and_query: "/",
        headers: &[FORM],
        body: b"Action=GetCallerIdentity&Version=2011-06-15",
    },
    Case {
        name: "sts on a local port",
        service: "sts",
        region: "eu-west-1",
        method: "POST",
        origin: "http://localhost:4566",
        path_and_query: "/",
        headers: &[FORM, ("x-amz-user-agent", "aws-sdk-rust/1.0")],
        body: b"Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo&RoleSessionName=s",
    },
    Case {
        name: "iam GET with encoded query",
        service: "iam",
        region: "us-east-1",
        method: "GET",
        origin: "https://iam.amazonaws.com",
        path_and_query: "/?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fdivision_abc%2F",
        headers: &[],
        body: b"",
    },
    Case {
        name: "iam repeated keys, empty values, plus and specials",
        service: "iam",
        region: "us-east-1",
        method: "GET",
        origin: "https://iam.amazonaws.com",
        path_and_query: "/?b=2&a=2&a=1&Marker=&empty&q=a+b&sym=%21%2A%27%28%29%7E%3D%26%3A%40&u=%C3%A9%E2%9C%93",
        headers: &[("x-custom", "one"), ("x-custom", "two"), ("x-note", "a   b    c")],
        body: b"",
    },
    Case {
        name: "dynamodb JSON POST",
        service: "dynamodb",
        region: "us-west-2",
        method: "POST",
        origin: "https://dynamodb.us-west-2.amazonaws.com",
        path_and_query: "/",
        headers: &[
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
        ],
        body: br#"{"TableName":"t","Key":{"pk":{"S":"caf\u00e9 & co"}}}"#,
    },
    Case {
        name: "lambda invoke of an ARN (double-encoded colons)",
        service: "lambda",
        region: "us-east-1",
        method: "POST",
        origin: "https://lambda.us-east-1.amazonaws.com",
        path_and_query: "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations",
        headers: &[("x-amz-invocation-type", "RequestResponse"), ("content-type", "application/json")],
        body: br#"{"hello":"world"}"#,
    },
    Case {
        name: "lambda path with space, dollar, slash escape and dot segments",
        service: "lambda",
        region: "ap-southeast-2",
        method: "GET",
        origin: "https://lambda.ap-southeast-2.amazonaws.com",
        path_and_query: "/2015-03-31/functions/my%20fn%2Fx/./sub/../configuration//?Qualifier=%24LATEST",
        headers: &[],
        body: b"",
    },
    Case {
        name: "s3 GET unicode key",
        service: "s3",
        region: "us-east-1",
        method: "GET",
        origin: "https://bucket.s3.us-east-1.amazonaws.com",
        path_and_query: "/a%20b/%E2%9C%93/caf%C3%A9.txt",
        headers: &[("range", "bytes=0-9")],
        body: b"",
    },
    Case {
        name: "s3 PUT with double slashes, dots and metadata",
        service: "s3",
        region: "eu-central-1",
        method: "PUT",
        origin: "http://localhost:4566",
        path_and_query: "/bucket/dir//double//./../slash.txt",
        headers: &[("content-type", "text/plain"), ("x-amz-meta-color", "red  and   blue")],
        body: b"hello, object",
    },
    Case {
        name: "s3 key with an encoded slash and a list query",
        service: "s3",
        region: "us-east-1",
        method: "GET",
        origin: "https://bucket.s3.amazonaws.com",
        path_and_query: "/a%2Fb/key%2B1?list-type=2&prefix=a%2Fb&delimiter=%2F&encoding-type=url",
        headers: &[],
        body: b"",
    },
    Case {
        name: "s3 sub-resources without values",
        service: "s3",
        region: "us-east-1",
        method: "GET",
        origin: "https://bucket.s3.amazonaws.com",
        path_and_query: "/?versions&prefix=&key-marker=a%20b",
        headers: &[],
        body: b"",
    },
    Case {
        name: "s3 response overrides",
        service: "s3",
        region: "us-west-2",
        method: "GET",
        origin: "https://bucket.s3.us-west-2.amazonaws.com",
        path_and_query: "/report%281%29.pdf?response-content-disposition=attachment%3B%20filename%3D%22a%20b.pdf%22",
        headers: &[],
        body: b"",
    },
];

fn signing_time() -> SystemTime {
    // 2024-05-01T12:00:00Z
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_564_800)
}

fn now_after(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from(signing_time()) + time::Duration::seconds(seconds)
}

#[derive(Clone, Copy)]
struct How {
    presign: Option<u64>,
    token: bool,
    /// HTTP/2 style: absolute URI and no `Host` header, instead of origin form plus `Host`.
    absolute: bool,
}

/// Signs `case` with the SDK signer and returns the request head as the server receives it.
fn sdk_signed(case: &Case, how: How) -> http::request::Parts {
    let s3 = case.service == "s3";
    let credentials = Credentials::new(KEY, SECRET, how.token.then(|| TOKEN.to_owned()), None, "oracle");
    let identity: Identity = credentials.into();
    let mut settings = SigningSettings::default();
    if s3 {
        // What the S3 client configures: single encoding, no normalisation, a payload header.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        if how.presign.is_none() {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
    }
    if let Some(seconds) = how.presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(seconds));
    }
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(case.region)
        .name(case.service)
        .time(signing_time())
        .settings(settings)
        .build()
        .expect("complete signing params")
        .into();
    let uri = format!("{}{}", case.origin, case.path_and_query);
    let body = if s3 && how.presign.is_some() {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(case.body)
    };
    let signable = SignableRequest::new(case.method, uri.clone(), case.headers.iter().copied(), body)
        .expect("signable request");
    let (instructions, _signature) = sign(signable, &params).expect("the SDK signs").into_parts();

    let mut builder = http::Request::builder().method(case.method).uri(&uri);
    for (name, value) in case.headers {
        builder = builder.header(*name, *value);
    }
    let mut req = builder.body(()).expect("valid request");
    instructions.apply_to_request_http1x(&mut req);
    let (mut parts, ()) = req.into_parts();
    if !how.absolute {
        let authority = parts.uri.authority().expect("absolute URI").as_str().to_owned();
        let host = authority.strip_suffix(":443").unwrap_or(&authority).to_owned();
        let origin_form = parts.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
        parts.uri = origin_form.parse().expect("origin form");
        parts.headers.insert(http::header::HOST, host.parse().expect("valid host"));
    }
    parts
}

fn ways() -> Vec<How> {
    let mut ways = Vec::new();
    for presign in [None, Some(900), Some(604_800)] {
        for token in [false, true] {
            for absolute in [false, true] {
                ways.push(How { presign, token, absolute });
            }
        }
    }
    ways
}

#[test]
fn sdk_signed_requests_verify() {
    for case in CASES {
        for how in ways() {
            let parts = sdk_signed(case, how);
            let label = format!(
                "{} (presign {:?}, token {}, absolute {})",
                case.name, how.presign, how.token, how.absolute
            );
            let body_hash = sha256_hex(case.body);
            verify(&parts, &body_hash, SECRET, now_after(300))
                .unwrap_or_else(|e| panic!("{label}: {}", e.message()));

            let signed = parse(&parts).expect("well formed").expect("signed");
            assert_eq!(signed.presigned, how.presign.is_some(), "{label}");
            assert_eq!(signed.security_token.as_deref(), how.token.then_some(TOKEN), "{label}");
            assert_eq!(signed.scope.service, case.service, "{label}");
            let scope = credential_scope(&parts.headers, parts.uri.query()).expect("scope");
            assert_eq!(scope, signed.scope, "{label}");
        }
    }
}

/// One change to one signed part of the request.
struct Tamper {
    name: &'static str,
    apply: fn(&mut http::request::Parts, &Case),
}

const TAMPERS: &[Tamper] = &[
    Tamper {
        name: "method",
        apply: |p, _| {
            p.method = if p.method == http::Method::GET { http::Method::POST } else { http::Method::GET }
        },
    },
    Tamper {
        name: "path",
        apply: |p, _| edit_uri(p, |path, query| (format!("{path}x"), query.map(str::to_owned))),
    },
    Tamper {
        name: "query value",
        apply: |p, _| {
            edit_uri(p, |path, query| {
                let query = query.unwrap_or_default();
                // The first parameter that is not part of the signature itself.
                let changed = match query.split('&').position(|kv| !kv.starts_with("X-Amz-")) {
                    Some(i) => query
                        .split('&')
                        .enumerate()
                        .map(|(j, kv)| if i == j { format!("{kv}0") } else { kv.to_owned() })
                        .collect::<Vec<_>>()
                        .join("&"),
                    None if query.is_empty() => "extra=1".to_owned(),
                    None => format!("{query}&extra=1"),
                };
                (path.to_owned(), Some(changed))
            })
        },
    },
    Tamper {
        name: "host",
        apply: |p, _| {
            if p.headers.contains_key(http::header::HOST) {
                p.headers.insert(http::header::HOST, http::HeaderValue::from_static("evil.example.com"));
            } else {
                let pq = p.uri.path_and_query().map_or("/", |pq| pq.as_str()).to_owned();
                p.uri = format!("https://evil.example.com{pq}").parse().expect("valid URI");
            }
        },
    },
    Tamper {
        name: "a signed header value",
        apply: |p, case| {
            let name = case.headers.first().map_or("x-amz-date", |(n, _)| *n);
            if name == "x-amz-date" {
                // No headers of its own: move the signing time by a second, within the skew.
                if p.headers.contains_key(name) {
                    p.headers.insert(name, http::HeaderValue::from_static("20240501T120001Z"));
                } else {
                    edit_uri(p, |path, query| {
                        (path.to_owned(), query.map(|q| q.replace("T120000Z", "T120001Z")))
                    });
                }
                return;
            }
            let value = p.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            p.headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
                format!("{value}0").parse().expect("valid value"),
            );
        },
    },
    Tamper {
        name: "signature",
        apply: |p, _| {
            let flip = |s: &str| {
                let (head, last) = s.split_at(s.len() - 1);
                format!("{head}{}", if last == "0" { "1" } else { "0" })
            };
            if let Some(auth) = p.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                let auth = flip(auth);
                p.headers.insert(http::header::AUTHORIZATION, auth.parse().expect("valid value"));
            } else {
                edit_uri(p, |path, query| {
                    let query = query.unwrap_or_default();
                    (
                        path.to_owned(),
                        Some(
                            query
                                .split('&')
                                .map(|kv| {
                                    if kv.starts_with("X-Amz-Signature=") { flip(kv) } else { kv.to_owned() }
                                })
                                .collect::<Vec<_>>()
                                .join("&"),
                        ),
                    )
                });
            }
        },
    },
    Tamper {
        name: "region",
        apply: |p, case| {
            let from = format!("/{}/", case.region);
            if let Some(auth) = p.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
                let auth = auth.replace(&from, "/us-gov-west-1/");
                p.headers.insert(http::header::AUTHORIZATION, auth.parse().expect("valid value"));
            } else {
                let from = format!("%2F{}%2F", case.region);
                edit_uri(p, |path, query| {
                    (path.to_owned(), query.map(|q| q.replace(&from, "%2Fus-gov-west-1%2F")))
                });
            }
        },
    },
];

fn edit_uri(p: &mut http::request::Parts, edit: impl FnOnce(&str, Option<&str>) -> (String, Option<String>)) {
    let (path, query) = edit(p.uri.path(), p.uri.query());
    let pq = match query {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let uri = match p.uri.authority() {
        Some(authority) => format!("{}://{authority}{pq}", p.uri.scheme_str().unwrap_or("https")),
        None => pq,
    };
    p.uri = uri.parse().expect("valid URI");
}

#[test]
fn any_change_to_a_signed_part_is_refused() {
    for case in CASES {
        for how in ways() {
            let label = format!(
                "{} (presign {:?}, token {}, absolute {})",
                case.name, how.presign, how.token, how.absolute
            );
            let body_hash = sha256_hex(case.body);
            let now = now_after(300);
            for tamper in TAMPERS {
                let mut parts = sdk_signed(case, how);
                (tamper.apply)(&mut parts, case);
                let result = verify(&parts, &body_hash, SECRET, now);
                assert!(
                    matches!(result, Err(SigError::SignatureDoesNotMatch(_))),
                    "{label}, {} changed: {result:?}",
                    tamper.name
                );
            }

            let parts = sdk_signed(case, how);
            let wrong_secret = verify(&parts, &body_hash, "another secret", now);
            assert!(
                matches!(wrong_secret, Err(SigError::SignatureDoesNotMatch(_))),
                "{label}: {wrong_secret:?}"
            );

            // Another body: S3 declares the hash in a signed header and checks it against the
            // body; the others sign the hash itself; presigned S3 signs no body at all.
            let other_body = verify(&parts, &sha256_hex(b"another body"), SECRET, now);
            match (case.service == "s3", how.presign.is_some()) {
                (true, true) => assert!(other_body.is_ok(), "{label}: {other_body:?}"),
                (true, false) => {
                    assert!(
                        matches!(other_body, Err(SigError::ContentSha256Mismatch { .. })),
                        "{label}: {other_body:?}"
                    )
                }
                (false, _) => {
                    assert!(
                        matches!(other_body, Err(SigError::SignatureDoesNotMatch(_))),
                        "{label}: {other_body:?}"
                    )
                }
            }
        }
    }
}

#[test]
fn sdk_presigned_urls_expire_on_time() {
    let case = &CASES[0];
    for (service_case, expires) in [(case, 900_i64), (&CASES[7], 60)] {
        let how =
            How { presign: Some(u64::try_from(expires).expect("positive")), token: false, absolute: false };
        let parts = sdk_signed(service_case, how);
        let body_hash = sha256_hex(service_case.body);
        verify(&parts, &body_hash, SECRET, now_after(expires)).expect("valid through its last second");
        let late = verify(&parts, &body_hash, SECRET, now_after(expires + 1));
        assert!(matches!(late, Err(SigError::PresignedExpired { .. })), "{}: {late:?}", service_case.name);
    }
}
