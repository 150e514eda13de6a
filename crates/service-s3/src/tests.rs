//! The service through its streaming entry point on the in-memory store: raw S3 requests in,
//! status and XML out, as the gateway would hand them over.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use protocol::{RequestContext, StreamBody, StreamingService};
use storage::Store;
use types::Scope;

use crate::model::{self, OBJECTS};
use crate::{S3Config, S3Service};

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

fn service(store: &Store) -> S3Service {
    S3Service::new(store.clone(), Arc::new(types::SystemClock), S3Config::default())
}

async fn call(
    s3: &S3Service,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &'static [u8],
) -> Answer {
    let mut req = http::Request::builder().method(method).uri(uri).header("host", "localhost:4566");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if !body.is_empty() && !headers.iter().any(|(k, _)| *k == "x-amz-decoded-content-length") {
        req = req.header("content-length", body.len());
    }
    let body: StreamBody =
        Box::pin(http_body_util::Full::new(Bytes::from_static(body)).map_err(|never| match never {}));
    let req = req.body(body).expect("request");
    let resp = s3.call(RequestContext::new(Scope::default(), ""), req).await;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
    Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

#[tokio::test(flavor = "multi_thread")]
async fn put_get_and_errors_with_request_ids() {
    let store = Store::memory();
    let s3 = service(&store);
    assert_eq!(call(&s3, "PUT", "/bk1", &[], b"").await.status, 200);
    let put = call(&s3, "PUT", "/bk1/hello.txt", &[("content-type", "text/plain")], b"hello world").await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.headers["etag"], "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"");
    let got = call(&s3, "GET", "/bk1/hello.txt", &[("range", "bytes=6-")], b"").await;
    assert_eq!(got.status, 206);
    assert_eq!(got.body, "world");
    assert_eq!(got.headers["content-range"], "bytes 6-10/11");
    let missing = call(&s3, "GET", "/bk1/nope", &[], b"").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("<Code>NoSuchKey</Code>") && missing.body.contains("<RequestId>"),
        "{}",
        missing.body
    );
    // An error s3s raises before any operation runs gets the request id too.
    let bad = call(&s3, "GET", "/bk1/hello.txt?partNumber=x", &[], b"").await;
    assert!(bad.status >= 400 && bad.body.contains("<RequestId>"), "{} {}", bad.status, bad.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn signatures_are_dropped_and_aws_chunked_bodies_decoded_without_enforcement() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/bk2", &[], b"").await;
    let body = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
    let put = call(
        &s3,
        "PUT",
        "/bk2/k",
        &[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"),
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-date", "20260101T000000Z"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        body,
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.headers["x-amz-checksum-crc32"], "DUoRhQ==");
    let got = call(&s3, "GET", "/bk2/k", &[], b"").await;
    assert_eq!(got.body, "hello world");
    assert!(!got.headers.contains_key("content-encoding"));
    let wrong = b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
    let put = call(
        &s3,
        "PUT",
        "/bk2/k2",
        &[
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", "11"),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        wrong,
    )
    .await;
    assert_eq!(put.status, 400);
    assert!(put.body.contains("<Code>BadDigest</Code>"), "{}", put.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn delimiter_listing_folds_prefixes_and_pages_by_marker() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/bk3", &[], b"").await;
    // Many keys under one prefix; the listing must not read them one by one. Records are
    // written straight to the store (their blobs are never read by a listing).
    let account = Scope::default().account.as_str().to_owned();
    let record = model::ObjectRecord {
        v: 1,
        pieces: vec![],
        size: 0,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        modified_ms: 0,
        headers: Default::default(),
        metadata: Default::default(),
        storage_class: None,
        checksum: None,
        parts: None,
        tags: vec![],
        ..Default::default()
    };
    let value = model::encode(&record).expect("encode");
    let mut batch = storage::Batch::new();
    for i in 0..5000 {
        batch =
            batch.put(OBJECTS, model::object_key(&account, "bk3", &format!("logs/{i:05}")), value.clone());
    }
    for k in ["a", "m/1", "m/2", "z"] {
        batch = batch.put(OBJECTS, model::object_key(&account, "bk3", k), value.clone());
    }
    store.kv.commit(batch).expect("commit");
    let list = call(&s3, "GET", "/bk3?list-type=2&delimiter=%2F", &[], b"").await;
    assert_eq!(list.status, 200);
    let prefixes: Vec<&str> =
        list.body.split("<Prefix>").skip(2).filter_map(|s| s.split('<').next()).collect();
    assert_eq!(prefixes, ["logs/", "m/"], "{}", list.body);
    assert!(list.body.contains("<Key>a</Key>") && list.body.contains("<Key>z</Key>"));
    assert!(list.body.contains("<KeyCount>4</KeyCount>"), "{}", list.body);

    let page = call(&s3, "GET", "/bk3?delimiter=%2F&max-keys=2", &[], b"").await;
    assert!(page.body.contains("<IsTruncated>true</IsTruncated>"), "{}", page.body);
    assert!(page.body.contains("<NextMarker>logs/</NextMarker>"), "{}", page.body);
    let next = call(&s3, "GET", "/bk3?delimiter=%2F&marker=logs%2F", &[], b"").await;
    assert!(next.body.contains("<Prefix>m/</Prefix>") && next.body.contains("<Key>z</Key>"), "{}", next.body);
    assert!(
        !next.body.contains("<Prefix>logs/</Prefix>") && !next.body.contains("<Key>logs/"),
        "{}",
        next.body
    );
}

const ENABLE: &[u8] = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
const SUSPEND: &[u8] = b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";

fn between<'a>(body: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    body.split(open).skip(1).filter_map(|s| s.split(close).next()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn versions_delete_markers_and_their_errors() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/vbx", &[], b"").await;
    let got = call(&s3, "GET", "/vbx?versioning", &[], b"").await;
    assert!(!got.body.contains("<Status>"), "{}", got.body);
    assert_eq!(call(&s3, "PUT", "/vbx?versioning", &[], ENABLE).await.status, 200);
    assert!(call(&s3, "GET", "/vbx?versioning", &[], b"").await.body.contains("<Status>Enabled</Status>"));
    let odd = b"<VersioningConfiguration><Status>Sometimes</Status></VersioningConfiguration>";
    let refused = call(&s3, "PUT", "/vbx?versioning", &[], odd).await;
    assert!(
        refused.body.contains("<Code>IllegalVersioningConfigurationException</Code>"),
        "{}",
        refused.body
    );
    let v1 = call(&s3, "PUT", "/vbx/k", &[], b"one").await;
    let v2 = call(&s3, "PUT", "/vbx/k", &[], b"two").await;
    let (id1, id2) = (
        v1.headers["x-amz-version-id"].to_str().expect("ascii"),
        v2.headers["x-amz-version-id"].to_str().expect("ascii"),
    );
    assert_ne!(id1, id2);
    assert_eq!(call(&s3, "GET", &format!("/vbx/k?versionId={id1}"), &[], b"").await.body, "one");
    let latest = call(&s3, "GET", "/vbx/k", &[], b"").await;
    assert_eq!(
        (latest.body.as_str(), latest.headers["x-amz-version-id"].to_str().expect("ascii")),
        ("two", id2)
    );

    let del = call(&s3, "DELETE", "/vbx/k", &[], b"").await;
    assert_eq!(del.status, 204);
    assert_eq!(del.headers["x-amz-delete-marker"], "true");
    let marker = del.headers["x-amz-version-id"].to_str().expect("ascii").to_owned();
    let gone = call(&s3, "GET", "/vbx/k", &[], b"").await;
    assert_eq!(gone.status, 404);
    assert!(gone.body.contains("<Code>NoSuchKey</Code>"), "{}", gone.body);
    assert_eq!(gone.headers["x-amz-delete-marker"], "true");
    let head = call(&s3, "HEAD", "/vbx/k", &[], b"").await;
    assert_eq!(head.status, 404);
    assert_eq!(head.headers["x-amz-delete-marker"], "true");
    let by_id = call(&s3, "GET", &format!("/vbx/k?versionId={marker}"), &[], b"").await;
    assert_eq!(by_id.status, 405, "{}", by_id.body);
    assert!(by_id.body.contains("<Code>MethodNotAllowed</Code>"));
    let bad = call(&s3, "GET", "/vbx/k?versionId=nope", &[], b"").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Invalid version id specified"), "{}", bad.body);
    let missing = call(&s3, "GET", &format!("/vbx/k?versionId={}", "0".repeat(32)), &[], b"").await;
    assert!(missing.body.contains("<Code>NoSuchVersion</Code>"), "{}", missing.body);
    // The plain listing hides the key; the version listing shows all three, newest first.
    assert!(!call(&s3, "GET", "/vbx?list-type=2", &[], b"").await.body.contains("<Key>k</Key>"));
    let versions = call(&s3, "GET", "/vbx?versions", &[], b"").await;
    // s3s writes the delete markers before the versions.
    assert_eq!(between(&versions.body, "<VersionId>", "<"), [marker.as_str(), id2, id1], "{}", versions.body);
    assert_eq!(between(&versions.body, "<IsLatest>", "<"), ["true", "false", "false"]);
    assert_eq!(call(&s3, "DELETE", "/vbx", &[], b"").await.status, 409);

    // Removing the marker brings the previous version back.
    assert_eq!(call(&s3, "DELETE", &format!("/vbx/k?versionId={marker}"), &[], b"").await.status, 204);
    assert_eq!(call(&s3, "GET", "/vbx/k", &[], b"").await.body, "two");
    // Removing the latest version for good makes the one before it current.
    call(&s3, "DELETE", &format!("/vbx/k?versionId={id2}"), &[], b"").await;
    assert_eq!(call(&s3, "GET", "/vbx/k", &[], b"").await.body, "one");
    call(&s3, "DELETE", &format!("/vbx/k?versionId={id1}"), &[], b"").await;
    assert_eq!(call(&s3, "DELETE", "/vbx", &[], b"").await.status, 204);
}

#[tokio::test(flavor = "multi_thread")]
async fn suspended_versioning_replaces_the_null_version() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/sbx", &[], b"").await;
    call(&s3, "PUT", "/sbx/k", &[], b"plain").await;
    call(&s3, "PUT", "/sbx?versioning", &[], ENABLE).await;
    let kept = call(&s3, "PUT", "/sbx/k", &[], b"versioned").await;
    let kept = kept.headers["x-amz-version-id"].to_str().expect("ascii").to_owned();
    call(&s3, "PUT", "/sbx?versioning", &[], SUSPEND).await;
    call(&s3, "PUT", "/sbx/k", &[], b"null-1").await;
    call(&s3, "PUT", "/sbx/k", &[], b"null-2").await;
    let versions = call(&s3, "GET", "/sbx?versions", &[], b"").await;
    let ids = between(&versions.body, "<VersionId>", "<");
    assert_eq!(ids, ["null", kept.as_str()], "{}", versions.body);
    let got = call(&s3, "GET", "/sbx/k?versionId=null", &[], b"").await;
    assert_eq!(
        (got.body.as_str(), got.headers["x-amz-version-id"].to_str().expect("ascii")),
        ("null-2", "null")
    );
    // A delete while suspended puts a null marker in place of the null version.
    let del = call(&s3, "DELETE", "/sbx/k", &[], b"").await;
    assert_eq!(del.headers["x-amz-version-id"], "null");
    let versions = call(&s3, "GET", "/sbx?versions", &[], b"").await;
    assert!(versions.body.contains("<DeleteMarker>"), "{}", versions.body);
    assert_eq!(between(&versions.body, "<VersionId>", "<").len(), 2, "{}", versions.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unversioned_overwrite_replaces_the_one_version_and_frees_its_blob() {
    let store = Store::memory();
    let s3 = service(&store);
    let account = Scope::default().account.as_str().to_owned();
    call(&s3, "PUT", "/ubx", &[], b"").await;
    // Bodies past the inline limit live in blobs; the overwritten one must be deleted.
    static BIG: [u8; 5000] = [b'x'; 5000];
    call(&s3, "PUT", "/ubx/k", &[], &BIG).await;
    let first: model::ObjectRecord =
        model::get(store.kv.as_ref(), OBJECTS, &model::object_key(&account, "ubx", "k"))
            .expect("read")
            .expect("present");
    let first_blob = first.pieces[0].blob.clone();
    assert!(!first_blob.is_empty());
    call(&s3, "PUT", "/ubx/k", &[], b"small").await;
    call(&s3, "PUT", "/ubx/k", &[], b"newest").await;
    let versions = call(&s3, "GET", "/ubx?versions", &[], b"").await;
    assert_eq!(between(&versions.body, "<VersionId>", "<"), ["null"], "{}", versions.body);
    let rows = store
        .kv
        .scan_prefix(crate::versions::VERSIONS, &model::objects_prefix(&account, "ubx"), 10)
        .expect("scan");
    assert_eq!(rows.len(), 1);
    assert_eq!(call(&s3, "GET", "/ubx/k", &[], b"").await.body, "newest");
    // Blobs are freed after the commit, off the request.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while store.blobs.len(&first_blob).expect("blob store").is_some() {
        assert!(std::time::Instant::now() < deadline, "the replaced blob was never deleted");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The `s3.versions` records of `key`, newest first.
fn version_records(store: &Store, bucket: &str, key: &str) -> Vec<model::ObjectRecord> {
    let account = Scope::default().account.as_str().to_owned();
    let mut prefix = model::object_key(&account, bucket, key);
    prefix.push(0);
    let rows = store.kv.scan_prefix(crate::versions::VERSIONS, &prefix, 100).expect("scan");
    rows.iter().map(|(_, v)| model::decode(v).expect("record")).collect()
}

fn has_bytes(r: &model::ObjectRecord) -> bool {
    r.pieces.iter().all(|p| p.inline.is_some())
}

#[tokio::test(flavor = "multi_thread")]
async fn small_versions_keep_their_bytes_once_and_whole_when_no_longer_latest() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/svb", &[], b"").await;
    call(&s3, "PUT", "/svb?versioning", &[], ENABLE).await;
    let id = |a: &Answer| a.headers["x-amz-version-id"].to_str().expect("ascii").to_owned();
    let v1 = id(&call(&s3, "PUT", "/svb/k", &[], b"first").await);
    // The latest version's bytes are written once, in s3.objects.
    let latest = &version_records(&store, "svb", "k")[0];
    assert!(latest.bytes_in_current && !has_bytes(latest));
    let v2 = id(&call(&s3, "PUT", "/svb/k", &[], b"second").await);
    let records = version_records(&store, "svb", "k");
    assert!(!records[1].bytes_in_current && has_bytes(&records[1]), "v1 whole once it is not the latest");
    let get = |v: String| {
        let s3 = &s3;
        async move { call(s3, "GET", &format!("/svb/k?versionId={v}"), &[], b"").await.body }
    };
    assert_eq!(get(v1.clone()).await, "first");
    assert_eq!(get(v2.clone()).await, "second");
    // Tagging the latest version keeps its bytes.
    let tagging = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
    assert_eq!(call(&s3, "PUT", "/svb/k?tagging", &[], tagging).await.status, 200);
    assert_eq!(get(v2.clone()).await, "second");
    assert_eq!(call(&s3, "GET", "/svb/k", &[], b"").await.body, "second");
    // A delete marker on top: v2 is kept whole and readable by id.
    let marker = id(&call(&s3, "DELETE", "/svb/k", &[], b"").await);
    assert!(has_bytes(&version_records(&store, "svb", "k")[1]));
    assert_eq!(get(v2.clone()).await, "second");
    // Removing the marker makes v2 the latest again; removing v2 makes v1 the latest.
    call(&s3, "DELETE", &format!("/svb/k?versionId={marker}"), &[], b"").await;
    assert_eq!(call(&s3, "GET", "/svb/k", &[], b"").await.body, "second");
    call(&s3, "DELETE", &format!("/svb/k?versionId={v2}"), &[], b"").await;
    assert_eq!(call(&s3, "GET", "/svb/k", &[], b"").await.body, "first");
    assert_eq!(get(v1.clone()).await, "first");
    // Suspended: the null version replaces nothing versioned, and v1 stays whole under it.
    call(&s3, "PUT", "/svb?versioning", &[], SUSPEND).await;
    call(&s3, "PUT", "/svb/k", &[], b"null").await;
    assert_eq!(get("null".to_owned()).await, "null");
    assert_eq!(get(v1.clone()).await, "first");
    let copied =
        call(&s3, "PUT", "/svb/copy", &[("x-amz-copy-source", &format!("/svb/k?versionId={v1}"))], b"").await;
    assert_eq!(copied.status, 200, "{}", copied.body);
    assert_eq!(call(&s3, "GET", "/svb/copy", &[], b"").await.body, "first");
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_changes_reach_the_next_write_at_once() {
    // Object writes read their bucket through a cache; a configuration change must not leave
    // the next PUT acting on the old record.
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/cbx", &[], b"").await;
    let plain = call(&s3, "PUT", "/cbx/a", &[], b"1").await;
    assert!(!plain.headers.contains_key("x-amz-version-id"));
    call(&s3, "PUT", "/cbx?versioning", &[], ENABLE).await;
    let versioned = call(&s3, "PUT", "/cbx/a", &[], b"2").await;
    assert!(versioned.headers.contains_key("x-amz-version-id"));
    call(&s3, "PUT", "/cbx?versioning", &[], SUSPEND).await;
    call(&s3, "PUT", "/cbx/a", &[], b"3").await;
    let versions = call(&s3, "GET", "/cbx?versions", &[], b"").await;
    // The suspended PUT replaced the first (null) version and kept the versioned one.
    assert_eq!(between(&versions.body, "<VersionId>", "<").len(), 2, "{}", versions.body);
    assert_eq!(call(&s3, "GET", "/cbx/a?versionId=null", &[], b"").await.body, "3");
    // A deleted bucket is gone for the next write, and a new one of the same name starts fresh.
    let versions = call(&s3, "GET", "/cbx?versions", &[], b"").await;
    for id in between(&versions.body, "<VersionId>", "<") {
        call(&s3, "DELETE", &format!("/cbx/a?versionId={id}"), &[], b"").await;
    }
    assert_eq!(call(&s3, "DELETE", "/cbx", &[], b"").await.status, 204);
    assert_eq!(call(&s3, "PUT", "/cbx/a", &[], b"4").await.status, 404);
    call(&s3, "PUT", "/cbx", &[], b"").await;
    let fresh = call(&s3, "PUT", "/cbx/a", &[], b"5").await;
    assert_eq!(fresh.status, 200);
    assert!(!fresh.headers.contains_key("x-amz-version-id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_from_before_versions_become_null_versions() {
    let store = Store::memory();
    let account = Scope::default().account.as_str().to_owned();
    {
        let s3 = service(&store);
        call(&s3, "PUT", "/old", &[], b"").await;
    }
    // A record as the previous layout wrote it: no stamp, no entry in s3.versions.
    let old = serde_json::json!({
        "v": 1, "pieces": [], "size": 0, "etag": "d41d8cd98f00b204e9800998ecf8427e", "modified_ms": 1000
    });
    store
        .kv
        .put(OBJECTS, &model::object_key(&account, "old", "legacy"), old.to_string().as_bytes())
        .expect("ascii");
    store.kv.delete("s3.meta", b"layout").expect("ascii");
    let s3 = service(&store);
    assert_eq!(call(&s3, "HEAD", "/old/legacy", &[], b"").await.status, 200);
    let versions = call(&s3, "GET", "/old?versions", &[], b"").await;
    assert!(
        versions.body.contains("<Key>legacy</Key>") && versions.body.contains("<IsLatest>true</IsLatest>")
    );
    assert_eq!(call(&s3, "DELETE", "/old", &[], b"").await.status, 409);
    call(&s3, "DELETE", "/old/legacy", &[], b"").await;
    assert_eq!(call(&s3, "DELETE", "/old", &[], b"").await.status, 204);
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_sweep_expires_objects_and_noncurrent_versions() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/lcx", &[], b"").await;
    call(&s3, "PUT", "/lcx?versioning", &[], ENABLE).await;
    let rules = br#"<LifecycleConfiguration>
<Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>
<Rule><ID>old</ID><Filter><Prefix>keep/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>
<Rule><ID>markers</ID><Filter><Prefix>gone/</Prefix></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
<Rule><ID>off</ID><Filter><Prefix>off/</Prefix></Filter><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>
</LifecycleConfiguration>"#;
    let put = call(&s3, "PUT", "/lcx?lifecycle", &[], rules).await;
    assert_eq!(put.status, 200, "{}", put.body);
    call(&s3, "PUT", "/lcx/tmp/a", &[], b"x").await;
    call(&s3, "PUT", "/lcx/keep/b", &[], b"old").await;
    call(&s3, "PUT", "/lcx/keep/b", &[], b"new").await;
    call(&s3, "PUT", "/lcx/off/c", &[], b"stays").await;
    // A lone delete marker (its only version removed) and an upload left behind.
    let gone = call(&s3, "PUT", "/lcx/gone/d", &[], b"x").await;
    let gone = gone.headers["x-amz-version-id"].to_str().expect("ascii").to_owned();
    call(&s3, "DELETE", "/lcx/gone/d", &[], b"").await;
    call(&s3, "DELETE", &format!("/lcx/gone/d?versionId={gone}"), &[], b"").await;
    call(&s3, "POST", "/lcx/gone/e?uploads", &[], b"").await;
    let timing = crate::lifecycle::Timing {
        day: std::time::Duration::from_millis(1),
        interval: std::time::Duration::from_secs(1),
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    crate::lifecycle::sweep(&s3.engine, timing).await.expect("sweep");
    assert_eq!(call(&s3, "GET", "/lcx/tmp/a", &[], b"").await.headers["x-amz-delete-marker"], "true");
    assert_eq!(call(&s3, "GET", "/lcx/keep/b", &[], b"").await.body, "new");
    let versions = call(&s3, "GET", "/lcx?versions&prefix=keep/", &[], b"").await;
    assert_eq!(between(&versions.body, "<VersionId>", "<").len(), 1, "{}", versions.body);
    assert_eq!(call(&s3, "GET", "/lcx/off/c", &[], b"").await.body, "stays");
    let versions = call(&s3, "GET", "/lcx?versions&prefix=gone/", &[], b"").await;
    assert!(!versions.body.contains("<VersionId>"), "{}", versions.body);
    let uploads = call(&s3, "GET", "/lcx?uploads", &[], b"").await;
    assert!(!uploads.body.contains("<UploadId>"), "{}", uploads.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_preflight_and_actual_requests() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/cbx", &[], b"").await;
    let pre = [("origin", "http://app.example.com"), ("access-control-request-method", "PUT")];
    let off = call(&s3, "OPTIONS", "/cbx/k", &pre, b"").await;
    assert_eq!(off.status, 403);
    assert!(off.body.contains("CORS is not enabled for this bucket"), "{}", off.body);
    let cors = br#"<CORSConfiguration><CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>300</MaxAgeSeconds></CORSRule></CORSConfiguration>"#;
    assert_eq!(call(&s3, "PUT", "/cbx?cors", &[], cors).await.status, 200);
    let ok = call(
        &s3,
        "OPTIONS",
        "/cbx/k",
        &[pre[0], pre[1], ("access-control-request-headers", "content-type")],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.headers["access-control-allow-origin"], "http://app.example.com");
    assert_eq!(ok.headers["access-control-allow-methods"], "PUT, GET");
    assert_eq!(ok.headers["access-control-max-age"], "300");
    assert_eq!(ok.headers["access-control-allow-headers"], "content-type");
    let denied = call(&s3, "OPTIONS", "/cbx/k", &[("origin", "http://evil.test"), pre[1]], b"").await;
    assert_eq!(denied.status, 403);
    assert!(
        denied.body.contains("<Code>AccessForbidden</Code>")
            && denied.body.contains("This CORS request is not allowed")
    );
    call(&s3, "PUT", "/cbx/k", &[], b"x").await;
    let get = call(&s3, "GET", "/cbx/k", &[pre[0]], b"").await;
    assert_eq!(get.headers["access-control-allow-origin"], "http://app.example.com");
    assert_eq!(get.headers["access-control-expose-headers"], "ETag");
}

#[tokio::test(flavor = "multi_thread")]
async fn acls_follow_ownership_controls() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/abx", &[], b"").await;
    let own = call(&s3, "GET", "/abx?ownershipControls", &[], b"").await;
    assert!(own.body.contains("<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"), "{}", own.body);
    let acl = call(&s3, "GET", "/abx?acl", &[], b"").await;
    assert!(acl.body.contains("<Permission>FULL_CONTROL</Permission>"), "{}", acl.body);
    assert_eq!(call(&s3, "PUT", "/abx?acl", &[("x-amz-acl", "private")], b"").await.status, 200);
    let public = call(&s3, "PUT", "/abx?acl", &[("x-amz-acl", "public-read")], b"").await;
    assert_eq!(public.status, 400);
    assert!(public.body.contains("<Code>AccessControlListNotSupported</Code>"), "{}", public.body);
    let refused = call(&s3, "PUT", "/abx/k", &[("x-amz-acl", "public-read")], b"x").await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("<Code>AccessControlListNotSupported</Code>"));
    assert_eq!(call(&s3, "PUT", "/abx/k", &[("x-amz-acl", "private")], b"x").await.status, 200);
    let writer = b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>";
    assert_eq!(call(&s3, "PUT", "/abx?ownershipControls", &[], writer).await.status, 200);
    assert_eq!(call(&s3, "PUT", "/abx/k", &[("x-amz-acl", "public-read")], b"x").await.status, 200);
    assert_eq!(call(&s3, "PUT", "/abx/k?acl", &[("x-amz-acl", "public-read")], b"").await.status, 200);
    let acl = call(&s3, "GET", "/abx/k?acl", &[], b"").await;
    assert!(
        acl.body.contains("AllUsers</URI>") && acl.body.contains("<Permission>READ</Permission>"),
        "{}",
        acl.body
    );
    assert_eq!(call(&s3, "DELETE", "/abx?ownershipControls", &[], b"").await.status, 204);
    let none = call(&s3, "GET", "/abx?ownershipControls", &[], b"").await;
    assert!(none.body.contains("<Code>OwnershipControlsNotFoundError</Code>"), "{}", none.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_markers_and_versions_are_announced_apart() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/nbx", &[], b"").await;
    call(&s3, "PUT", "/nbx?versioning", &[], ENABLE).await;
    let config = b"<NotificationConfiguration><QueueConfiguration><Queue>arn:aws:sqs:us-east-1:000000000000:q</Queue><Event>s3:ObjectRemoved:*</Event><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>";
    assert_eq!(call(&s3, "PUT", "/nbx?notification", &[], config).await.status, 200);
    let put = call(&s3, "PUT", "/nbx/k", &[], b"x").await;
    let id = put.headers["x-amz-version-id"].to_str().expect("ascii").to_owned();
    call(&s3, "DELETE", "/nbx/k", &[], b"").await;
    call(&s3, "DELETE", &format!("/nbx/k?versionId={id}"), &[], b"").await;
    let payloads: Vec<String> = store
        .kv
        .scan_all(crate::notify::DELIVERIES, storage::KeyRange::all())
        .expect("scan")
        .into_iter()
        .map(|(_, v)| model::decode::<crate::notify::Delivery>(&v).expect("delivery").payload)
        .collect();
    let named =
        |event: &str| payloads.iter().filter(|p| p.contains(&format!("\"eventName\":\"{event}\""))).count();
    assert_eq!(named("ObjectCreated:Put"), 1, "{payloads:?}");
    assert_eq!(named("ObjectRemoved:DeleteMarkerCreated"), 1, "{payloads:?}");
    assert_eq!(named("ObjectRemoved:Delete"), 1, "{payloads:?}");
    assert!(
        payloads.iter().filter(|p| p.contains(&format!("\"versionId\":\"{id}\""))).count() == 2,
        "{payloads:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completed_uploads_become_new_versions() {
    let store = Store::memory();
    let s3 = service(&store);
    call(&s3, "PUT", "/mpx", &[], b"").await;
    call(&s3, "PUT", "/mpx?versioning", &[], ENABLE).await;
    call(&s3, "PUT", "/mpx/big", &[], b"first").await;
    let created = call(&s3, "POST", "/mpx/big?uploads", &[], b"").await;
    let upload = between(&created.body, "<UploadId>", "<")[0].to_owned();
    let part = call(&s3, "PUT", &format!("/mpx/big?partNumber=1&uploadId={upload}"), &[], b"second").await;
    let etag = part.headers["etag"].to_str().expect("ascii").to_owned();
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"
    );
    let body: &'static [u8] = Box::leak(body.into_bytes().into_boxed_slice());
    let done = call(&s3, "POST", &format!("/mpx/big?uploadId={upload}"), &[], body).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let id = done.headers["x-amz-version-id"].to_str().expect("ascii").to_owned();
    let versions = call(&s3, "GET", "/mpx?versions", &[], b"").await;
    let ids = between(&versions.body, "<VersionId>", "<");
    assert_eq!((ids.len(), ids[0]), (2, id.as_str()), "{}", versions.body);
    assert_eq!(call(&s3, "GET", "/mpx/big", &[], b"").await.body, "second");
}
