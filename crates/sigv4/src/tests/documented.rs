//! The worked examples of the AWS documentation, with the intermediate values it prints: the
//! IAM `ListUsers` request of the General Reference ("Signature Version 4 signing process") and
//! the S3 examples of "Authenticating Requests: Using the Authorization Header" and "Using Query
//! Parameters".

use super::{EMPTY_SHA256, at, request, sha256_hex};
use crate::{
    CredentialScope, SigError, canonical_request, parse, signature, signing_key, string_to_sign, verify,
};

const IAM_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const S3_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const S3_HOST: &str = "examplebucket.s3.amazonaws.com";

fn iam_list_users() -> http::request::Parts {
    request(
        "GET",
        "/?Action=ListUsers&Version=2010-05-08",
        &[
            ("host", "iam.amazonaws.com"),
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("x-amz-date", "20150830T123600Z"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, \
                 Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            ),
        ],
    )
}

#[test]
fn iam_list_users_intermediate_values() {
    let parts = iam_list_users();
    let signed = parse(&parts).expect("well formed").expect("signed");
    let canonical = canonical_request(&parts, &signed, EMPTY_SHA256);
    assert_eq!(
        String::from_utf8_lossy(&canonical),
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n\
         content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n\
         x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(sha256_hex(&canonical), "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
    let sts = string_to_sign(&signed.amz_date, &signed.scope, &canonical);
    assert_eq!(
        sts,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n\
         f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    );
    let key = signing_key(IAM_SECRET, &signed.scope);
    assert_eq!(hex::encode(key), "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    assert_eq!(signature(&key, &sts), "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

#[test]
fn iam_list_users_verifies() {
    let parts = iam_list_users();
    verify(&parts, EMPTY_SHA256, IAM_SECRET, at("20150830T123600Z"))
        .expect("the documented request verifies");
    let wrong = verify(&parts, EMPTY_SHA256, S3_SECRET, at("20150830T123600Z"));
    assert!(matches!(wrong, Err(SigError::SignatureDoesNotMatch(_))), "{wrong:?}");
}

fn s3_header_signed(
    method: &str,
    target: &str,
    extra: &[(&str, &str)],
    signed_headers: &str,
    sig: &str,
) -> http::request::Parts {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
         SignedHeaders={signed_headers},Signature={sig}"
    );
    let mut headers =
        vec![("host", S3_HOST), ("x-amz-date", "20130524T000000Z"), ("authorization", &authorization)];
    if !extra.iter().any(|(n, _)| *n == "x-amz-content-sha256") {
        headers.push(("x-amz-content-sha256", EMPTY_SHA256));
    }
    headers.extend_from_slice(extra);
    request(method, target, &headers)
}

#[test]
fn s3_header_examples_verify() {
    let now = at("20130524T000000Z");
    let basic = "host;x-amz-content-sha256;x-amz-date";
    let cases = [
        (
            "GET Object",
            s3_header_signed(
                "GET",
                "/test.txt",
                &[("range", "bytes=0-9")],
                "host;range;x-amz-content-sha256;x-amz-date",
                "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            ),
            EMPTY_SHA256.to_owned(),
        ),
        (
            "PUT Object",
            s3_header_signed(
                "PUT",
                "/test%24file.text",
                &[
                    ("date", "Fri, 24 May 2013 00:00:00 GMT"),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                    (
                        "x-amz-content-sha256",
                        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                    ),
                ],
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
            ),
            sha256_hex(b"Welcome to Amazon S3."),
        ),
        (
            "GET Bucket Lifecycle",
            s3_header_signed(
                "GET",
                "/?lifecycle",
                &[],
                basic,
                "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
            ),
            EMPTY_SHA256.to_owned(),
        ),
        (
            "GET Bucket (List Objects)",
            s3_header_signed(
                "GET",
                "/?max-keys=2&prefix=J",
                &[],
                basic,
                "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
            ),
            EMPTY_SHA256.to_owned(),
        ),
    ];
    for (name, parts, body_hash) in cases {
        verify(&parts, &body_hash, S3_SECRET, now).unwrap_or_else(|e| panic!("{name}: {}", e.s3_message()));
        // The declared body hash is checked against the body received.
        let other_body = verify(&parts, &sha256_hex(b"another body"), S3_SECRET, now);
        assert!(matches!(other_body, Err(SigError::ContentSha256Mismatch { .. })), "{name}: {other_body:?}");
    }
}

#[test]
fn s3_presigned_example_verifies_until_it_expires() {
    let parts = request(
        "GET",
        "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        &[("host", S3_HOST)],
    );
    let signed = parse(&parts).expect("well formed").expect("signed");
    assert!(signed.presigned);
    assert_eq!(signed.expires_in, Some(86_400));
    assert_eq!(
        signed.scope,
        CredentialScope {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            date: "20130524".into(),
            region: "us-east-1".into(),
            service: "s3".into(),
        }
    );
    // The body of a presigned S3 request is not signed: any body hash is fine.
    let any_body = sha256_hex(b"whatever");
    verify(&parts, &any_body, S3_SECRET, at("20130524T000000Z")).expect("valid when signed");
    verify(&parts, &any_body, S3_SECRET, at("20130525T000000Z")).expect("valid to the last second");
    let late = verify(&parts, &any_body, S3_SECRET, at("20130525T000001Z"));
    let Err(e @ SigError::PresignedExpired { .. }) = late else { panic!("{late:?}") };
    assert_eq!(
        (e.s3_code(), e.s3_status(), e.s3_message().as_str()),
        ("AccessDenied", 403, "Request has expired")
    );
    assert_eq!(
        e.s3_fields(),
        vec![
            ("X-Amz-Expires", "86400".to_owned()),
            ("Expires", "2013-05-25T00:00:00Z".to_owned()),
            ("ServerTime", "2013-05-25T00:00:01Z".to_owned()),
        ]
    );
}
