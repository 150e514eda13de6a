//! [`credential_scope`]: every way a request names its signer, and nothing that could panic.

use super::request;
use crate::{CredentialScope, credential_scope};

fn scope(key: &str, date: &str, region: &str, service: &str) -> Option<CredentialScope> {
    Some(CredentialScope {
        access_key_id: key.into(),
        date: date.into(),
        region: region.into(),
        service: service.into(),
    })
}

fn of(uri: &str, headers: &[(&str, &str)]) -> Option<CredentialScope> {
    let parts = request("GET", uri, headers);
    credential_scope(&parts.headers, parts.uri.query())
}

#[test]
fn from_the_authorization_header() {
    let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sts/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc";
    assert_eq!(of("/", &[("authorization", sigv4)]), scope("AKIDEXAMPLE", "20240101", "us-east-1", "sts"));
    // Without spaces after the commas, and with the credential last.
    let tight =
        "AWS4-HMAC-SHA256 SignedHeaders=host,Signature=abc,Credential=K/20240101/eu-west-1/s3/aws4_request";
    assert_eq!(of("/", &[("authorization", tight)]), scope("K", "20240101", "eu-west-1", "s3"));
    // The header wins over presigned parameters (AWS refuses the pair; routing needs no fight).
    let both = "/?X-Amz-Credential=OTHER%2F20240101%2Fus-west-2%2Fs3%2Faws4_request";
    assert_eq!(of(both, &[("authorization", sigv4)]), scope("AKIDEXAMPLE", "20240101", "us-east-1", "sts"));
}

#[test]
fn from_presigned_parameters() {
    let uri = "/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fap-south-1%2Fs3%2Faws4_request";
    assert_eq!(of(uri, &[]), scope("AKIDEXAMPLE", "20240101", "ap-south-1", "s3"));
    // Any case of the parameter name; slashes sent raw.
    let uri = "/?x-amz-credential=AKIDEXAMPLE/20240101/us-east-1/lambda/aws4_request";
    assert_eq!(of(uri, &[]), scope("AKIDEXAMPLE", "20240101", "us-east-1", "lambda"));
    // An empty header is no header.
    let uri = "/?X-Amz-Credential=K%2F20240101%2Fus-east-1%2Fsqs%2Faws4_request";
    assert_eq!(of(uri, &[("authorization", "")]), scope("K", "20240101", "us-east-1", "sqs"));
}

#[test]
fn legacy_and_sigv4a_give_what_they_carry() {
    assert_eq!(
        of("/", &[("authorization", "AWS AKIDLEGACY:frJIUN8DYpKDtOLCwo//yllqDzg=")]),
        scope("AKIDLEGACY", "", "", "")
    );
    assert_eq!(
        of("/obj?AWSAccessKeyId=AKIDLEGACY&Signature=x&Expires=1", &[]),
        scope("AKIDLEGACY", "", "", "")
    );
    let v4a = "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20240101/s3/aws4_request, \
               SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045";
    assert_eq!(
        of("/", &[("authorization", v4a), ("x-amz-region-set", "us-west-2,us-east-1")]),
        scope("AKIDEXAMPLE", "20240101", "us-west-2", "s3")
    );
    assert_eq!(of("/", &[("authorization", v4a)]), scope("AKIDEXAMPLE", "20240101", "", "s3"));
    let uri = "/?X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256&X-Amz-Credential=K%2F20240101%2Fs3%2Faws4_request&X-Amz-Region-Set=eu-north-1";
    assert_eq!(of(uri, &[]), scope("K", "20240101", "eu-north-1", "s3"));
}

#[test]
fn unreadable_is_none() {
    for authorization in [
        "Bearer eyJhbGciOi",
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 Credential=",
        "AWS4-HMAC-SHA256 Credential=a/b/c",
        "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
        "AWS nocolon",
        "AWS :nokey",
    ] {
        assert_eq!(of("/", &[("authorization", authorization)]), None, "{authorization}");
    }
    assert_eq!(of("/?X-Amz-Credential=a%2Fb", &[]), None);
    assert_eq!(of("/?Action=ListUsers", &[]), None);
    assert_eq!(of("/", &[]), None);
    // Bytes that are not text.
    let mut parts = request("GET", "/", &[]);
    parts.headers.insert(
        "authorization",
        http::HeaderValue::from_bytes(b"AWS4-HMAC-SHA256 Credential=\xff/20240101/us-east-1/s3/aws4_request")
            .expect("obs-text is allowed"),
    );
    assert_eq!(credential_scope(&parts.headers, None), None);
}
