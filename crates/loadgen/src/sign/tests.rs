//! The signer's requests must verify with the verifier the gateway runs under
//! `--enforce-sigv4`, for each protocol's request shape.

use bytes::Bytes;
use http::Method;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::scenario::{Call, Op, Options, Scenario};
use crate::sign::{Signer, Signing};

/// The head of `call` as [`crate::client::Connection`] sends it, signed at `now`.
fn signed(call: &Call, signer: &mut Signer, now: OffsetDateTime) -> http::request::Parts {
    let mut builder = http::Request::builder()
        .method(call.method.clone())
        .uri(call.path_and_query.as_str())
        .header("host", "127.0.0.1:4566");
    for (name, value) in &call.headers {
        builder = builder.header(name, value);
    }
    let (mut parts, ()) = builder.body(()).expect("well formed").into_parts();
    signer.sign(&mut parts, call.signing, &call.body, now);
    parts
}

fn check_verifies(call: &Call) {
    let now = OffsetDateTime::now_utc();
    let mut signer = Signer::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "eu-west-1");
    let parts = signed(call, &mut signer, now);
    let body_hash = hex::encode(Sha256::digest(&call.body));
    sigv4::verify(&parts, &body_hash, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now)
        .unwrap_or_else(|e| panic!("{call:?} does not verify: {e}"));
    let wrong = sigv4::verify(&parts, &body_hash, "another secret", now);
    assert!(wrong.is_err(), "a wrong secret must not verify");
    // A second signature with the cached key must verify too.
    let parts = signed(call, &mut signer, now);
    sigv4::verify(&parts, &body_hash, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now)
        .unwrap_or_else(|e| panic!("{call:?} with the cached key does not verify: {e}"));
}

#[test]
fn every_signed_scenario_verifies() {
    for scenario in Scenario::ALL {
        let op = Op { run: "run", worker: 3, seq: 7 };
        let call = scenario.call(op, &Options::default(), None);
        if call.signing != Signing::Unsigned {
            check_verifies(&call);
        }
        if let Some(undo) = scenario.undo(op) {
            check_verifies(&undo);
        }
        for setup in scenario.setup(&Options::default()) {
            check_verifies(&setup.call);
        }
    }
}

#[test]
fn json_and_s3_shapes_verify() {
    let body = Bytes::from_static(br#"{"TableName":"t","Key":{"pk":{"S":"a b"}}}"#);
    check_verifies(&Call::json("dynamodb", "1.0", "DynamoDB_20120810.GetItem", body));
    let object = Bytes::from(vec![b'x'; 4096]);
    check_verifies(&Call::rest(Method::PUT, "/bucket/a%20key?x-id=PutObject", object, Signing::S3));
}

#[test]
fn headers_as_an_sdk_sends_them() {
    let now = at(2024, 1, 2, 3, 4, 5);
    let mut signer = Signer::new("test", "test", "us-east-1");
    let call =
        Scenario::StsGetCallerIdentity.call(Op { run: "r", worker: 0, seq: 0 }, &Options::default(), None);
    let parts = signed(&call, &mut signer, now);
    let mut headers: Vec<String> =
        parts.headers.iter().map(|(n, v)| format!("{n}: {}", v.to_str().expect("ascii"))).collect();
    headers.sort();
    expect_test::expect![[r#"
        authorization: AWS4-HMAC-SHA256 Credential=test/20240102/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=7a0d79e95b524c7c0bf04cb253bdbf1564086d9c61cd84f2e3ad84b57e3b6086
        content-type: application/x-www-form-urlencoded; charset=utf-8
        host: 127.0.0.1:4566
        x-amz-date: 20240102T030405Z"#]]
    .assert_eq(&headers.join("\n"));
    assert_eq!(call.body, "Action=GetCallerIdentity&Version=2011-06-15");
}

/// The AWS SDK's own signer, given the same request at the same time, writes the same
/// `authorization` header, byte for byte.
#[test]
fn same_signature_as_the_sdk_signer() {
    let op = Op { run: "r", worker: 0, seq: 0 };
    let mut calls: Vec<Call> = Scenario::ALL
        .into_iter()
        .map(|s| s.call(op, &Options::default(), None))
        .filter(|c| c.signing != Signing::Unsigned)
        .collect();
    calls.push(Call::json("dynamodb", "1.0", "DynamoDB_20120810.GetItem", Bytes::from_static(b"{}")));
    calls.push(Call::rest(Method::PUT, "/bucket/a%20key", Bytes::from_static(b"hello"), Signing::S3));
    let now = at(2024, 1, 2, 3, 4, 5);
    for call in calls {
        let mut signer = Signer::new("AKIDEXAMPLE", "secret/key+1", "eu-west-1");
        let ours = signed(&call, &mut signer, now);
        let sdk = sdk_signed(&call, now);
        assert_eq!(ours.headers.get("authorization"), sdk.headers.get("authorization"), "{call:?}");
    }
}

fn sdk_signed(call: &Call, now: OffsetDateTime) -> http::request::Parts {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign,
    };
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret/key+1", None, None, "test").into();
    let mut settings = SigningSettings::default();
    let service = match call.signing {
        Signing::S3 => {
            // What the S3 client configures.
            settings.percent_encoding_mode = PercentEncodingMode::Single;
            settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            "s3"
        }
        Signing::Service(service) => service,
        Signing::Unsigned => unreachable!("only signed calls are compared"),
    };
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name(service)
        .time(now.into())
        .settings(settings)
        .build()
        .expect("complete signing params")
        .into();
    let uri = format!("http://127.0.0.1:4566{}", call.path_and_query);
    let headers: Vec<(&str, &str)> =
        call.headers.iter().map(|(n, v)| (n.as_str(), v.to_str().expect("ascii"))).collect();
    let signable = SignableRequest::new(
        call.method.as_str(),
        uri.clone(),
        headers.iter().copied(),
        SignableBody::Bytes(&call.body),
    )
    .expect("signable request");
    let (instructions, _) = sign(signable, &params).expect("the SDK signs").into_parts();
    let mut request = http::Request::builder().method(call.method.clone()).uri(&uri);
    for (name, value) in &call.headers {
        request = request.header(name, value);
    }
    let mut request = request.body(()).expect("well formed");
    instructions.apply_to_request_http1x(&mut request);
    request.into_parts().0
}

fn at(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> OffsetDateTime {
    let month = time::Month::try_from(month).expect("valid month");
    time::Date::from_calendar_date(year, month, day)
        .and_then(|d| d.with_hms(hour, minute, second))
        .expect("valid date")
        .assume_utc()
}
