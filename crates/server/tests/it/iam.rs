//! IAM through the Rust SDK: roles and policies, durability, and tenant isolation.

use crate::harness::{Server, TRUST};

#[tokio::test]
async fn role_survives_sigkill_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let iam = server.iam("test", "us-east-1").await;
    let created = iam
        .create_role()
        .role_name("durable")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .expect("create");
    let arn = created.role().map(|r| r.arn().to_owned()).expect("role");
    assert_eq!(arn, "arn:aws:iam::000000000000:role/durable");
    iam.put_role_policy()
        .role_name("durable")
        .policy_name("inline")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("put role policy");

    server.kill9();
    server.restart();

    let iam = server.iam("test", "us-east-1").await;
    let role = iam.get_role().role_name("durable").send().await.expect("role survived");
    assert_eq!(role.role().map(|r| r.arn()), Some(arn.as_str()));
    let policies = iam.list_role_policies().role_name("durable").send().await.expect("list");
    assert_eq!(policies.policy_names(), ["inline"]);
}

#[tokio::test]
async fn ephemeral_keeps_nothing() {
    let mut server = Server::ephemeral();
    let iam = server.iam("test", "us-east-1").await;
    iam.create_role().role_name("gone").assume_role_policy_document(TRUST).send().await.expect("create");
    assert!(iam.get_role().role_name("gone").send().await.is_ok());
    server.kill9();
    server.restart();
    let iam = server.iam("test", "us-east-1").await;
    let err = iam.get_role().role_name("gone").send().await.expect_err("ephemeral state is gone");
    assert_eq!(err.into_service_error().meta().code(), Some("NoSuchEntity"));
}

#[tokio::test]
async fn same_name_in_two_accounts_and_regions_are_different_roles() {
    let server = Server::ephemeral();
    let a = server.iam("111111111111", "us-east-1").await;
    let b = server.iam("222222222222", "us-east-1").await;
    let c = server.iam("111111111111", "eu-west-1").await;
    for (client, description) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        client
            .create_role()
            .role_name("shared")
            .description(description)
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .expect("each tenant may create its own role");
    }
    for (client, description) in [(&a, "a"), (&b, "b"), (&c, "c")] {
        let role = client.get_role().role_name("shared").send().await.expect("get");
        assert_eq!(role.role().and_then(|r| r.description()), Some(description));
    }
    let arn_b =
        b.get_role().role_name("shared").send().await.expect("get").role().map(|r| r.arn().to_owned());
    assert_eq!(arn_b.as_deref(), Some("arn:aws:iam::222222222222:role/shared"));
    a.delete_role().role_name("shared").send().await.expect("delete in a");
    assert!(b.get_role().role_name("shared").send().await.is_ok(), "b's role is untouched");
    assert!(c.get_role().role_name("shared").send().await.is_ok(), "the other region's role is untouched");
}

#[tokio::test]
async fn errors_come_back_as_the_sdk_expects() {
    let server = Server::ephemeral();
    let iam = server.iam("test", "us-east-1").await;
    iam.create_role().role_name("dup").assume_role_policy_document(TRUST).send().await.expect("create");
    let err =
        iam.create_role().role_name("DUP").assume_role_policy_document(TRUST).send().await.expect_err("dup");
    let err = err.into_service_error();
    assert!(err.is_entity_already_exists_exception(), "{err:?}");

    let err = iam.get_role().role_name("missing").send().await.expect_err("missing").into_service_error();
    assert!(err.is_no_such_entity_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("The role with name missing cannot be found."));

    let err = iam.create_role().role_name("bad").assume_role_policy_document("{not json").send().await;
    let err = err.expect_err("malformed").into_service_error();
    assert!(err.is_malformed_policy_document_exception(), "{err:?}");
}

#[tokio::test]
async fn managed_policies_attach_and_list() {
    let server = Server::ephemeral();
    let iam = server.iam("test", "us-east-1").await;
    iam.create_role().role_name("fn-role").assume_role_policy_document(TRUST).send().await.expect("create");
    let policy = iam
        .create_policy()
        .policy_name("app-access")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("create policy");
    let arn = policy.policy().and_then(|p| p.arn()).expect("arn").to_owned();
    assert_eq!(arn, "arn:aws:iam::000000000000:policy/app-access");
    let aws_managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    for p in [arn.as_str(), aws_managed] {
        iam.attach_role_policy().role_name("fn-role").policy_arn(p).send().await.expect("attach");
    }
    let attached = iam.list_attached_role_policies().role_name("fn-role").send().await.expect("list");
    let mut arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    arns.sort_unstable();
    assert_eq!(arns, [arn.as_str(), aws_managed]);

    let err = iam.delete_role().role_name("fn-role").send().await.expect_err("policies attached");
    assert_eq!(err.into_service_error().meta().code(), Some("DeleteConflict"));
}

#[tokio::test]
async fn list_roles_paginates() {
    let server = Server::ephemeral();
    let iam = server.iam("test", "us-east-1").await;
    for i in 0..7 {
        iam.create_role()
            .role_name(format!("r{i}"))
            .assume_role_policy_document(TRUST)
            .send()
            .await
            .expect("create");
    }
    let mut names = Vec::new();
    let mut pages = iam.list_roles().max_items(3).into_paginator().send();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        page_count += 1;
        names.extend(page.roles().iter().map(|r| r.role_name().to_owned()));
    }
    assert_eq!(page_count, 3);
    names.sort();
    assert_eq!(names, ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
}
