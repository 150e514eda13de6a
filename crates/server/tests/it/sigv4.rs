//! `--enforce-sigv4`: correctly signed SDK calls pass, wrong secrets and unknown keys are refused
//! with AWS's codes.

use crate::harness::Server;

#[tokio::test]
async fn enforced_signatures() {
    let server =
        Server::start_with(None, &["--ephemeral", "--enforce-sigv4", "--access-key", "AKIDNIMBUS:s3cr3t"]);
    let ok = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("AKIDNIMBUS", "s3cr3t", None, None, "t"))
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&ok);
    sts.get_caller_identity().send().await.expect("a correctly signed call passes");

    let wrong_secret = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("AKIDNIMBUS", "nope", None, None, "t"))
        .load()
        .await;
    let err =
        aws_sdk_sts::Client::new(&wrong_secret).get_caller_identity().send().await.expect_err("bad secret");
    assert_eq!(err.into_service_error().meta().code(), Some("SignatureDoesNotMatch"));

    let err = server
        .sts("AKIDUNKNOWN", "us-east-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(err.into_service_error().meta().code(), Some("InvalidClientTokenId"));

    let resp = server
        .http()
        .post(server.endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=GetCallerIdentity&Version=2011-06-15")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 403);
    let body = resp.text().await.expect("body");
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
}
