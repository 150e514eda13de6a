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
