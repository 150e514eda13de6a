//! S3 versioning, lifecycle expiration, CORS and ACLs end to end with the official SDK: versions
//! listed newest first and read by id, delete markers and their errors, the suspended `null`
//! version, version paging, a lifecycle sweep with a shortened day, CORS preflights over plain
//! HTTP, ACLs under ownership controls, and versions surviving kill -9.

use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketCannedAcl, BucketLifecycleConfiguration, BucketVersioningStatus, CorsConfiguration, CorsRule,
    Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, ObjectCannedAcl, ObjectIdentifier, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, Permission, Tag, Tagging, VersioningConfiguration,
};

use crate::harness::Server;

fn code<E: ProvideErrorMetadata>(err: aws_sdk_s3::error::SdkError<E, HttpResponse>) -> (String, u16) {
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    (err.code().unwrap_or("none").to_owned(), status)
}

async fn versioned_bucket(s3: &Client, name: &str, status: BucketVersioningStatus) {
    s3.create_bucket().bucket(name).send().await.expect("create bucket");
    s3.put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .expect("put versioning");
}

async fn put(s3: &Client, bucket: &str, key: &str, body: &str) -> Option<String> {
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .expect("put object");
    out.version_id().map(str::to_owned)
}

async fn get(s3: &Client, bucket: &str, key: &str, version: Option<&str>) -> String {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_owned))
        .send()
        .await
        .expect("get object");
    String::from_utf8(out.body.collect().await.expect("body").into_bytes().to_vec()).expect("utf-8")
}

/// Every (key, version id, is latest, is delete marker) of a bucket, newest first per key.
async fn all_versions(s3: &Client, bucket: &str) -> Vec<(String, String, bool, bool)> {
    let out = s3.list_object_versions().bucket(bucket).send().await.expect("list versions");
    let mut all: Vec<(String, String, bool, bool)> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap_or_default().to_owned(),
                v.version_id().unwrap_or_default().to_owned(),
                v.is_latest().unwrap_or(false),
                false,
            )
        })
        .chain(out.delete_markers().iter().map(|m| {
            (
                m.key().unwrap_or_default().to_owned(),
                m.version_id().unwrap_or_default().to_owned(),
                m.is_latest().unwrap_or(false),
                true,
            )
        }))
        .collect();
    // Newest first: version ids here start with their hex time stamp; `null` sorts apart.
    all.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(b.1.cmp(&a.1)));
    all
}

#[tokio::test]
async fn versions_delete_markers_and_reads_by_id() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("plain").send().await.expect("create");
    let status = s3.get_bucket_versioning().bucket("plain").send().await.expect("get versioning");
    assert!(status.status().is_none());
    versioned_bucket(&s3, "vers", BucketVersioningStatus::Enabled).await;
    let status = s3.get_bucket_versioning().bucket("vers").send().await.expect("get versioning");
    assert_eq!(status.status(), Some(&BucketVersioningStatus::Enabled));

    let v1 = put(&s3, "vers", "doc", "one").await.expect("version id");
    let v2 = put(&s3, "vers", "doc", "two").await.expect("version id");
    let v3 = put(&s3, "vers", "doc", "three").await.expect("version id");
    assert!(v1 != v2 && v2 != v3);
    let listed = s3.list_object_versions().bucket("vers").send().await.expect("list versions");
    let ids: Vec<&str> = listed.versions().iter().filter_map(|v| v.version_id()).collect();
    assert_eq!(ids, [v3.as_str(), v2.as_str(), v1.as_str()]);
    let latest: Vec<bool> = listed.versions().iter().map(|v| v.is_latest().unwrap_or(false)).collect();
    assert_eq!(latest, [true, false, false]);

    assert_eq!(get(&s3, "vers", "doc", Some(&v1)).await, "one");
    assert_eq!(get(&s3, "vers", "doc", None).await, "three");
    let head = s3.head_object().bucket("vers").key("doc").version_id(&v2).send().await.expect("head");
    assert_eq!((head.content_length(), head.version_id()), (Some(3), Some(v2.as_str())));
    let tags = Tagging::builder()
        .tag_set(Tag::builder().key("k").value("v").build().expect("tag"))
        .build()
        .expect("tagging");
    s3.put_object_tagging()
        .bucket("vers")
        .key("doc")
        .version_id(&v1)
        .tagging(tags)
        .send()
        .await
        .expect("tag v1");
    let t1 = s3.get_object_tagging().bucket("vers").key("doc").version_id(&v1).send().await.expect("tags");
    assert_eq!(t1.tag_set().len(), 1);
    let t3 = s3.get_object_tagging().bucket("vers").key("doc").send().await.expect("tags");
    assert!(t3.tag_set().is_empty());

    // A copy from an old version becomes a new version.
    let copied = s3
        .copy_object()
        .bucket("vers")
        .key("copy")
        .copy_source(format!("vers/doc?versionId={v2}"))
        .send()
        .await
        .expect("copy a version");
    assert_eq!(copied.copy_source_version_id(), Some(v2.as_str()));
    assert_eq!(get(&s3, "vers", "copy", None).await, "two");

    // DELETE without a version id puts a delete marker on top.
    let del = s3.delete_object().bucket("vers").key("doc").send().await.expect("delete");
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del.version_id().expect("marker id").to_owned();
    let err = s3.get_object().bucket("vers").key("doc").send().await.expect_err("deleted");
    assert_eq!(code(err), ("NoSuchKey".to_owned(), 404));
    let err = s3.get_object().bucket("vers").key("doc").version_id(&marker).send().await.expect_err("marker");
    assert_eq!(code(err), ("MethodNotAllowed".to_owned(), 405));
    let err = s3.get_object().bucket("vers").key("doc").version_id("bogus").send().await.expect_err("bad id");
    assert_eq!(code(err), ("InvalidArgument".to_owned(), 400));
    let listed = s3.list_objects_v2().bucket("vers").send().await.expect("list");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["copy"]);
    let markers = s3.list_object_versions().bucket("vers").prefix("doc").send().await.expect("versions");
    assert_eq!(markers.delete_markers().len(), 1);
    assert_eq!(markers.delete_markers()[0].is_latest(), Some(true));

    let err = s3.delete_bucket().bucket("vers").send().await.expect_err("not empty");
    assert_eq!(code(err).0, "BucketNotEmpty");

    // DeleteObjects by version id: the marker and v3 go, v2 is current again.
    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("doc").version_id(&marker).build().expect("id"))
        .objects(ObjectIdentifier::builder().key("doc").version_id(&v3).build().expect("id"))
        .build()
        .expect("delete");
    let out = s3.delete_objects().bucket("vers").delete(delete).send().await.expect("delete objects");
    assert_eq!(out.deleted().len(), 2, "{out:?}");
    assert!(
        out.deleted()
            .iter()
            .any(|d| d.delete_marker() == Some(true) && d.version_id() == Some(marker.as_str()))
    );
    assert_eq!(get(&s3, "vers", "doc", None).await, "two");

    // Paging through versions one at a time visits each exactly once.
    let mut seen = Vec::new();
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    loop {
        let page = s3
            .list_object_versions()
            .bucket("vers")
            .max_keys(1)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(id_marker.clone())
            .send()
            .await
            .expect("page");
        seen.extend(page.versions().iter().filter_map(|v| v.version_id().map(str::to_owned)));
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_version_id_marker().map(str::to_owned);
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(seen.contains(&v1) && seen.contains(&v2));
}

#[tokio::test]
async fn suspended_versioning_writes_the_null_version() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    versioned_bucket(&s3, "susp", BucketVersioningStatus::Enabled).await;
    let kept = put(&s3, "susp", "k", "kept").await.expect("version id");
    s3.put_bucket_versioning()
        .bucket("susp")
        .versioning_configuration(
            VersioningConfiguration::builder().status(BucketVersioningStatus::Suspended).build(),
        )
        .send()
        .await
        .expect("suspend");
    put(&s3, "susp", "k", "first null").await;
    put(&s3, "susp", "k", "second null").await;
    let versions = all_versions(&s3, "susp").await;
    let ids: Vec<&str> = versions.iter().map(|v| v.1.as_str()).collect();
    assert_eq!(ids, ["null", kept.as_str()], "{versions:?}");
    assert_eq!(get(&s3, "susp", "k", Some("null")).await, "second null");
    assert_eq!(get(&s3, "susp", "k", Some(&kept)).await, "kept");
    let del = s3.delete_object().bucket("susp").key("k").send().await.expect("delete");
    assert_eq!((del.delete_marker(), del.version_id()), (Some(true), Some("null")));
}

#[tokio::test]
async fn lifecycle_sweep_expires_objects_and_noncurrent_versions() {
    let server = Server::start_with_env(None, &["--ephemeral"], &[("NIMBUS_S3_LIFECYCLE_DAY_SECONDS", "1")]);
    let s3 = server.s3("test", "us-east-1").await;
    versioned_bucket(&s3, "aging", BucketVersioningStatus::Enabled).await;
    let rules = BucketLifecycleConfiguration::builder()
        .rules(
            LifecycleRule::builder()
                .id("tmp")
                .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
                .status(ExpirationStatus::Enabled)
                .expiration(LifecycleExpiration::builder().days(2).build())
                .build()
                .expect("rule"),
        )
        .rules(
            LifecycleRule::builder()
                .id("history")
                .filter(LifecycleRuleFilter::builder().prefix("keep/").build())
                .status(ExpirationStatus::Enabled)
                .noncurrent_version_expiration(
                    NoncurrentVersionExpiration::builder().noncurrent_days(1).build(),
                )
                .build()
                .expect("rule"),
        )
        .build()
        .expect("configuration");
    s3.put_bucket_lifecycle_configuration()
        .bucket("aging")
        .lifecycle_configuration(rules)
        .send()
        .await
        .expect("put lifecycle");
    let out = s3
        .put_object()
        .bucket("aging")
        .key("tmp/a")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("put");
    assert!(out.expiration().is_some_and(|x| x.contains("rule-id=\"tmp\"")), "{out:?}");
    put(&s3, "aging", "keep/b", "old").await;
    put(&s3, "aging", "keep/b", "new").await;
    put(&s3, "aging", "other", "stays").await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let versions = all_versions(&s3, "aging").await;
        let tmp_gone = versions.iter().any(|v| v.0 == "tmp/a" && v.2 && v.3);
        let history: Vec<_> = versions.iter().filter(|v| v.0 == "keep/b").collect();
        if tmp_gone && history.len() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the sweep did not expire in time: {versions:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let err = s3.get_object().bucket("aging").key("tmp/a").send().await.expect_err("expired");
    assert_eq!(code(err), ("NoSuchKey".to_owned(), 404));
    assert_eq!(get(&s3, "aging", "keep/b", None).await, "new");
    assert_eq!(get(&s3, "aging", "other", None).await, "stays");
}

#[tokio::test]
async fn cors_preflight_allowed_and_denied() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("site").send().await.expect("create");
    let http = server.http();
    let url = format!("{}/site/index.html", server.endpoint());
    let preflight = |origin: &'static str, method: &'static str| {
        http.request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let before = preflight("https://app.example.com", "PUT").await.expect("options");
    assert_eq!(before.status(), 403);
    let rule = CorsRule::builder()
        .allowed_origins("https://*.example.com")
        .allowed_methods("GET")
        .allowed_methods("PUT")
        .allowed_headers("*")
        .expose_headers("ETag")
        .max_age_seconds(600)
        .build()
        .expect("rule");
    s3.put_bucket_cors()
        .bucket("site")
        .cors_configuration(CorsConfiguration::builder().cors_rules(rule).build().expect("cors"))
        .send()
        .await
        .expect("put cors");
    let ok = preflight("https://app.example.com", "PUT").await.expect("options");
    assert_eq!(ok.status(), 200);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(h["access-control-allow-methods"], "GET, PUT");
    assert_eq!(h["access-control-allow-headers"], "content-type");
    assert_eq!(h["access-control-expose-headers"], "ETag");
    assert_eq!(h["access-control-max-age"], "600");
    let denied = preflight("https://evil.test", "PUT").await.expect("options");
    assert_eq!(denied.status(), 403);
    let body = denied.text().await.expect("body");
    assert!(
        body.contains("<Code>AccessForbidden</Code>") && body.contains("This CORS request is not allowed"),
        "{body}"
    );
    let wrong_method = preflight("https://app.example.com", "DELETE").await.expect("options");
    assert_eq!(wrong_method.status(), 403);

    put(&s3, "site", "index.html", "<html/>").await;
    let actual = http.get(&url).header("origin", "https://app.example.com").send().await.expect("get");
    assert_eq!(actual.status(), 200);
    assert_eq!(actual.headers()["access-control-allow-origin"], "https://app.example.com");
}

#[tokio::test]
async fn acls_and_ownership_controls_round_trip() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("acls").send().await.expect("create");
    let own = s3.get_bucket_ownership_controls().bucket("acls").send().await.expect("ownership");
    let rules = own.ownership_controls().map(|c| c.rules()).unwrap_or_default();
    assert_eq!(rules[0].object_ownership(), &ObjectOwnership::BucketOwnerEnforced);
    let acl = s3.get_bucket_acl().bucket("acls").send().await.expect("acl");
    let owner = acl.owner().and_then(|o| o.id()).expect("owner id").to_owned();
    assert_eq!(acl.grants().len(), 1);
    assert_eq!(acl.grants()[0].permission(), Some(&Permission::FullControl));
    assert_eq!(acl.grants()[0].grantee().and_then(|g| g.id()), Some(owner.as_str()));
    s3.put_bucket_acl().bucket("acls").acl(BucketCannedAcl::Private).send().await.expect("private is fine");
    let err = s3
        .put_bucket_acl()
        .bucket("acls")
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await
        .expect_err("enforced");
    assert_eq!(code(err), ("AccessControlListNotSupported".to_owned(), 400));

    let writer = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::ObjectWriter)
                .build()
                .expect("rule"),
        )
        .build()
        .expect("controls");
    s3.put_bucket_ownership_controls()
        .bucket("acls")
        .ownership_controls(writer)
        .send()
        .await
        .expect("put ownership");
    put(&s3, "acls", "obj", "x").await;
    s3.put_object_acl()
        .bucket("acls")
        .key("obj")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .expect("object acl");
    let acl = s3.get_object_acl().bucket("acls").key("obj").send().await.expect("object acl");
    assert!(acl.grants().iter().any(|g| {
        g.permission() == Some(&Permission::Read)
            && g.grantee().and_then(|x| x.uri()) == Some("http://acs.amazonaws.com/groups/global/AllUsers")
    }));
    s3.delete_bucket_ownership_controls().bucket("acls").send().await.expect("delete ownership");
    let err = s3.get_bucket_ownership_controls().bucket("acls").send().await.expect_err("gone");
    assert_eq!(code(err).0, "OwnershipControlsNotFoundError");
}

#[tokio::test]
async fn versions_survive_kill9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let s3 = server.s3("test", "us-east-1").await;
    versioned_bucket(&s3, "durable", BucketVersioningStatus::Enabled).await;
    let v1 = put(&s3, "durable", "k", "one").await.expect("id");
    put(&s3, "durable", "k", "two").await.expect("id");
    s3.delete_object().bucket("durable").key("k").send().await.expect("marker");
    let before = all_versions(&s3, "durable").await;
    assert_eq!(before.len(), 3);
    server.kill9();
    server.restart();
    let s3 = server.s3("test", "us-east-1").await;
    assert_eq!(all_versions(&s3, "durable").await, before);
    assert_eq!(get(&s3, "durable", "k", Some(&v1)).await, "one");
    let err = s3.get_object().bucket("durable").key("k").send().await.expect_err("marker is latest");
    assert_eq!(code(err).1, 404);
    let status = s3.get_bucket_versioning().bucket("durable").send().await.expect("versioning");
    assert_eq!(status.status(), Some(&BucketVersioningStatus::Enabled));
}

const BUCKET_TEMPLATE: &str = r#"
Resources:
  Store:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: cfn-versioned
      VersioningConfiguration:
        Status: Enabled
      OwnershipControls:
        Rules:
          - ObjectOwnership: BucketOwnerPreferred
      CorsConfiguration:
        CorsRules:
          - AllowedOrigins: ["*"]
            AllowedMethods: [GET]
      LifecycleConfiguration:
        Rules:
          - Id: old-versions
            Status: Enabled
            Prefix: logs/
            NoncurrentVersionExpiration:
              NoncurrentDays: 30
              NewerNoncurrentVersions: 2
"#;

#[tokio::test]
async fn cloudformation_applies_versioning_ownership_cors_and_lifecycle() {
    let server = Server::ephemeral();
    let cfn = server.cloudformation().await;
    let s3 = server.s3("test", "us-east-1").await;
    cfn.create_stack()
        .stack_name("bucket")
        .template_body(BUCKET_TEMPLATE)
        .send()
        .await
        .expect("create stack");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, reason) = loop {
        let d = cfn.describe_stacks().stack_name("bucket").send().await.expect("describe");
        let s = &d.stacks()[0];
        let status = s.stack_status().map(|s| s.as_str().to_owned()).unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") {
            break (status, s.stack_status_reason().map(str::to_owned));
        }
        assert!(Instant::now() < deadline, "stack stuck in {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, "CREATE_COMPLETE", "{reason:?}");
    let v = s3.get_bucket_versioning().bucket("cfn-versioned").send().await.expect("versioning");
    assert_eq!(v.status(), Some(&BucketVersioningStatus::Enabled));
    let own = s3.get_bucket_ownership_controls().bucket("cfn-versioned").send().await.expect("ownership");
    let rules = own.ownership_controls().map(|c| c.rules()).unwrap_or_default();
    assert_eq!(rules[0].object_ownership(), &ObjectOwnership::BucketOwnerPreferred);
    let lc = s3.get_bucket_lifecycle_configuration().bucket("cfn-versioned").send().await.expect("lifecycle");
    let nc = lc.rules()[0].noncurrent_version_expiration().expect("noncurrent");
    assert_eq!((nc.noncurrent_days(), nc.newer_noncurrent_versions()), (Some(30), Some(2)));
    assert_eq!(
        s3.get_bucket_cors().bucket("cfn-versioned").send().await.expect("cors").cors_rules().len(),
        1
    );
}
