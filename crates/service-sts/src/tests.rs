//! STS through its `AwsService` face: query requests in, XML documents and errors out.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use protocol::{AwsService, RequestContext, Response};
use time::macros::datetime;
use types::{AccountId, FixedClock, Region, Scope};

use super::*;

fn service() -> StsService {
    StsService::with_clock(Arc::new(FixedClock(datetime!(2026-11-27 06:56:34 UTC))))
}

fn ctx(account: &str) -> RequestContext {
    let scope = Scope {
        account: AccountId::parse(account).expect("12 digits"),
        region: Region::parse("eu-west-1").expect("region"),
    };
    RequestContext::new(scope, account)
}

fn call(account: &str, body: &str) -> Response {
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(Bytes::from(body.to_owned()))
        .expect("request");
    let svc = service();
    let fut = svc.call(ctx(account), req);
    block_on(fut)
}

/// The service future never awaits anything, so one poll finishes it.
fn block_on<F: Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the STS service future is synchronous"),
    }
}

fn text(resp: &Response) -> String {
    String::from_utf8(resp.body().to_vec()).expect("utf8")
}

/// The text of the first `<name>` element, unescaped.
fn element(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    let raw = &body[start..end];
    Some(
        raw.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

/// Asserts an error's status, code and message.
fn check_error(resp: &Response, status: StatusCode, code: &str, message: &str) {
    let body = text(resp);
    assert_eq!(resp.status(), status, "{body}");
    assert_eq!(element(&body, "Code").as_deref(), Some(code), "{body}");
    assert_eq!(element(&body, "Message").as_deref(), Some(message), "{body}");
}

#[test]
fn get_caller_identity_is_the_account_root() {
    let resp = call("111122223333", "Action=GetCallerIdentity&Version=2011-06-15");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = text(&resp);
    assert!(body.starts_with(r#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>"#), "{body}");
    assert_eq!(element(&body, "Account").as_deref(), Some("111122223333"));
    assert_eq!(element(&body, "UserId").as_deref(), Some("111122223333"));
    assert_eq!(element(&body, "Arn").as_deref(), Some("arn:aws:iam::111122223333:root"));
    assert!(element(&body, "RequestId").is_some());
}

#[test]
fn assume_role_returns_credentials_and_assumed_user() {
    let resp = call(
        "111122223333",
        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fservice%2Fmy-role&RoleSessionName=s1&DurationSeconds=900",
    );
    let body = text(&resp);
    assert_eq!(resp.status(), StatusCode::OK, "{body}");
    let key = element(&body, "AccessKeyId").expect("key");
    assert!(key.starts_with("ASIA") && key.len() == 20, "{key}");
    assert_eq!(element(&body, "SecretAccessKey").map(|s| s.len()), Some(40));
    assert!(element(&body, "SessionToken").is_some());
    assert_eq!(element(&body, "Expiration").as_deref(), Some("2026-11-27T07:11:34Z"));
    assert_eq!(element(&body, "Arn").as_deref(), Some("arn:aws:sts::111122223333:assumed-role/my-role/s1"));
    let id = element(&body, "AssumedRoleId").expect("id");
    assert!(id.starts_with("AROA") && id.ends_with(":s1") && id.len() == 24, "{id}");
}

#[test]
fn assume_role_defaults_to_one_hour_and_uses_the_role_account() {
    let resp = call(
        "111122223333",
        "Action=AssumeRole&RoleArn=arn:aws:iam::444455556666:role/other&RoleSessionName=cross",
    );
    let body = text(&resp);
    assert_eq!(element(&body, "Expiration").as_deref(), Some("2026-11-27T07:56:34Z"));
    assert_eq!(element(&body, "Arn").as_deref(), Some("arn:aws:sts::444455556666:assumed-role/other/cross"));
}

#[test]
fn assume_role_with_web_identity_needs_a_token() {
    let resp = call(
        "111122223333",
        "Action=AssumeRoleWithWebIdentity&RoleArn=arn:aws:iam::111122223333:role/web&RoleSessionName=web",
    );
    check_error(
        &resp,
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null",
    );
    let resp = call(
        "111122223333",
        "Action=AssumeRoleWithWebIdentity&RoleArn=arn:aws:iam::111122223333:role/web&RoleSessionName=web&WebIdentityToken=eyJhbGciOi",
    );
    let body = text(&resp);
    assert_eq!(resp.status(), StatusCode::OK, "{body}");
    assert!(body.contains("<AssumeRoleWithWebIdentityResult><Credentials>"), "{body}");
}

#[test]
fn get_session_token_defaults_to_twelve_hours() {
    let body = text(&call("111122223333", "Action=GetSessionToken"));
    assert_eq!(element(&body, "Expiration").as_deref(), Some("2026-11-27T18:56:34Z"));
    assert!(element(&body, "AccessKeyId").is_some_and(|k| k.starts_with("ASIA")));
}

#[test]
fn get_access_key_info_names_the_account() {
    let body = text(&call("111122223333", "Action=GetAccessKeyInfo&AccessKeyId=AKIAIOSFODNN7EXAMPLE"));
    assert_eq!(element(&body, "Account").as_deref(), Some("000000000000"));
}

#[test]
fn validation_errors_use_aws_wording() {
    check_error(
        &call(
            "111122223333",
            "Action=AssumeRole&RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=Session1:2",
        ),
        StatusCode::BAD_REQUEST,
        "ValidationError",
        r"1 validation error detected: Value 'Session1:2' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*",
    );
    let long = "s".repeat(65);
    check_error(
        &call(
            "111122223333",
            &format!("Action=AssumeRole&RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName={long}"),
        ),
        StatusCode::BAD_REQUEST,
        "ValidationError",
        &format!(
            "1 validation error detected: Value '{long}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"
        ),
    );
    check_error(
        &call(
            "111122223333",
            "Action=AssumeRole&RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=ok&DurationSeconds=100",
        ),
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
    );
    check_error(
        &call("111122223333", "Action=AssumeRole"),
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
    );
    check_error(
        &call("111122223333", "Action=AssumeRole&RoleArn=nothing-valid-in-here&RoleSessionName=ok"),
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "nothing-valid-in-here is invalid",
    );
    check_error(
        &call("111122223333", "Action=AssumeRole&RoleArn=arn:a:a::aaaaaaaaaa:&RoleSessionName=ok"),
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "arn:a:a::aaaaaaaaaa: is invalid",
    );
}

#[test]
fn unknown_missing_and_unimplemented_actions() {
    check_error(
        &call("111122223333", "Action=Nope&Version=2011-06-15"),
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        "Could not find operation Nope for version 2011-06-15",
    );
    check_error(
        &call("111122223333", "Version=2011-06-15"),
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        "Could not find operation  for version 2011-06-15",
    );
    check_error(
        &call("111122223333", "Action=GetFederationToken&Name=x"),
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "GetFederationToken is not implemented by Nimbus yet",
    );
}
