//! STS through the Rust SDK: the caller's account follows the access key.

use crate::harness::Server;

#[tokio::test]
async fn caller_identity_default_account() {
    let server = Server::ephemeral();
    let out = server
        .sts("AKIAIOSFODNN7EXAMPLE", "us-east-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect("call");
    assert_eq!(out.account(), Some("000000000000"));
    assert_eq!(out.arn(), Some("arn:aws:iam::000000000000:root"));
}

#[tokio::test]
async fn caller_identity_follows_twelve_digit_key() {
    let server = Server::ephemeral();
    let out = server.sts("111111111111", "eu-west-1").await.get_caller_identity().send().await.expect("call");
    assert_eq!(out.account(), Some("111111111111"));
}

#[tokio::test]
async fn assume_role_returns_temporary_credentials() {
    let server = Server::ephemeral();
    let sts = server.sts("test", "us-east-1").await;
    let out = sts
        .assume_role()
        .role_arn("arn:aws:iam::000000000000:role/app")
        .role_session_name("session-1")
        .send()
        .await
        .expect("assume role");
    let creds = out.credentials().expect("credentials");
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(
        out.assumed_role_user().map(|u| u.arn()),
        Some("arn:aws:sts::000000000000:assumed-role/app/session-1")
    );

    let err =
        sts.assume_role().role_arn("arn:aws:iam::000000000000:role/app").role_session_name("x").send().await;
    let err = err.expect_err("a one-character session name is too short");
    assert_eq!(err.into_service_error().meta().code(), Some("ValidationError"));
}
