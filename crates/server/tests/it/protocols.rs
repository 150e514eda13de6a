//! Malformed and unknown requests in each of the five protocols, sent as raw HTTP (the SDKs never
//! send them), must get the AWS error shape and status of that protocol.

use crate::harness::Server;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

async fn post_form(server: &Server, body: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = server
        .http()
        .post(server.endpoint())
        .header("content-type", FORM)
        .body(body.to_owned())
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

fn xml_code(body: &str) -> &str {
    let start = body.find("<Code>").map(|i| i + "<Code>".len()).expect("a <Code> element");
    let end = body[start..].find("</Code>").expect("closed") + start;
    &body[start..end]
}

#[tokio::test]
async fn query_unknown_action() {
    let server = Server::ephemeral();
    let (status, headers, body) = post_form(&server, "Action=GetCallerIdentityz&Version=2011-06-15").await;
    assert_eq!(status, 400);
    assert!(body.starts_with("<ErrorResponse"), "{body}");
    assert_eq!(xml_code(&body), "InvalidAction");
    assert!(body.contains("<Type>Sender</Type>"), "{body}");
    assert!(body.contains("Could not find operation GetCallerIdentityz for version 2011-06-15"), "{body}");
    let id = headers.get("x-amzn-requestid").expect("request id header").to_str().expect("ascii");
    assert!(body.contains(&format!("<RequestId>{id}</RequestId>")), "{body}");
}

#[tokio::test]
async fn query_unknown_version() {
    let server = Server::ephemeral();
    let (status, _, body) = post_form(&server, "Action=ListThings&Version=1999-01-01").await;
    assert_eq!(status, 400);
    assert_eq!(xml_code(&body), "InvalidAction");
}

#[tokio::test]
async fn query_missing_required_member() {
    let server = Server::ephemeral();
    let (status, _, body) = post_form(&server, "Action=CreateRole&Version=2010-05-08&RoleName=r").await;
    assert_eq!(status, 400);
    assert_eq!(xml_code(&body), "ValidationError");
    // IAM no longer echoes the value in validation messages (AWS recordings from 2026).
    assert!(
        body.contains(
            "1 validation error detected: Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn query_wrong_type() {
    let server = Server::ephemeral();
    let (status, _, body) = post_form(&server, "Action=ListRoles&Version=2010-05-08&MaxItems=lots").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(xml_code(&body), "ValidationError");
}

async fn json_call(
    server: &Server,
    target: &str,
    content_type: &str,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let resp = server
        .http()
        .post(server.endpoint())
        .header("x-amz-target", target)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let v = serde_json::from_str(&resp.text().await.expect("body")).expect("a JSON error body");
    (status, headers, v)
}

#[tokio::test]
async fn aws_json_1_0_operation_not_yet_implemented() {
    let server = Server::ephemeral();
    let (status, headers, v) = json_call(
        &server,
        "DynamoDB_20120810.CreateBackup",
        "application/x-amz-json-1.0",
        r#"{"TableName": "t", "BackupName": "b"}"#,
    )
    .await;
    assert_eq!(status, 501);
    assert_eq!(headers["content-type"], "application/x-amz-json-1.0");
    assert_eq!(v["__type"], "NotImplemented");
    assert!(headers.contains_key("x-amzn-requestid"));
}

#[tokio::test]
async fn aws_json_1_1_operation_not_yet_implemented() {
    let server = Server::ephemeral();
    let (status, headers, v) =
        json_call(&server, "Logs_20140328.StartQuery", "application/x-amz-json-1.1", "{}").await;
    assert_eq!(status, 501);
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(v["__type"], "NotImplemented");
}

#[tokio::test]
async fn rest_json_operation_not_yet_implemented() {
    let server = Server::ephemeral();
    let resp = server
        .http()
        .get(format!("{}/2020-04-22/code-signing-configs", server.endpoint()))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 501);
    assert_eq!(resp.headers()["x-amzn-errortype"], "NotImplemented");
    let v: serde_json::Value = serde_json::from_str(&resp.text().await.expect("body")).expect("json");
    assert_eq!(v["Type"], "Service");
}

#[tokio::test]
async fn rest_xml_operation_not_yet_implemented() {
    let server = Server::ephemeral();
    // GetBucketWebsite: an S3 operation Nimbus does not implement.
    let resp =
        server.http().get(format!("{}/some-bucket?website", server.endpoint())).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 501);
    assert!(resp.headers().contains_key("x-amz-request-id"));
    let body = resp.text().await.expect("body");
    assert!(body.starts_with("<?xml"), "{body}");
    assert_eq!(xml_code(&body), "NotImplemented");
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = Server::ephemeral();
    let big = format!("Action=ListRoles&Version=2010-05-08&Pad={}", "x".repeat(17 << 20));
    let resp = server
        .http()
        .post(server.endpoint())
        .header("content-type", FORM)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00")
        .body(big)
        .send()
        .await;
    // The server may answer before it has read the whole body and close the connection; either
    // way it must not accept the request.
    if let Ok(resp) = resp {
        assert_eq!(resp.status().as_u16(), 413);
        let body = resp.text().await.unwrap_or_default();
        assert!(body.is_empty() || xml_code(&body) == "RequestEntityTooLarge", "{body}");
    }
}

#[tokio::test]
async fn every_response_has_a_distinct_request_id() {
    let server = Server::ephemeral();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..5 {
        let (_, headers, _) = post_form(&server, "Action=GetCallerIdentity&Version=2011-06-15").await;
        ids.insert(headers["x-amzn-requestid"].to_str().expect("ascii").to_owned());
    }
    assert_eq!(ids.len(), 5);
}
