//! S3 end to end with the official SDK: buckets and their LocationConstraint rules, objects with
//! metadata, ranges, conditions and checksums (SDK defaults: CRC32 in an aws-chunked trailer),
//! listings, copies, tagging, configurations, a 20 MiB multipart upload byte for byte, presigned
//! URLs and virtual-hosted addressing, `--enforce-sigv4`, and durability across kill -9.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart,
    CreateBucketConfiguration, Delete, MetadataDirective, ObjectIdentifier, Tag, Tagging,
};
use std::time::Duration;

use crate::harness::Server;

/// The code and HTTP status of a failed SDK call.
fn code<E: ProvideErrorMetadata>(err: aws_sdk_s3::error::SdkError<E, HttpResponse>) -> (String, u16) {
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    (err.code().unwrap_or("none").to_owned(), status)
}

async fn bucket(s3: &Client, name: &str) {
    s3.create_bucket().bucket(name).send().await.expect("create bucket");
}

async fn put(s3: &Client, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> String {
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.into()))
        .send()
        .await
        .expect("put object");
    out.e_tag().expect("etag").to_owned()
}

async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.expect("get object");
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// Deterministic bytes that differ at every offset a wrong range or part order would show.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn buckets_and_location_constraints() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "alpha").await;
    // us-east-1 answers a repeated create by its owner with 200, as S3 does there.
    s3.create_bucket().bucket("alpha").send().await.expect("repeat in us-east-1");
    let err = s3
        .create_bucket()
        .bucket("beta")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("us-east-1"))
                .build(),
        )
        .send()
        .await
        .expect_err("us-east-1 takes no constraint");
    assert_eq!(code(err), ("InvalidLocationConstraint".into(), 400));
    let err = s3.create_bucket().bucket("Bad_Name").send().await.expect_err("invalid name");
    assert_eq!(code(err), ("InvalidBucketName".into(), 400));

    let eu = server.s3("test", "eu-west-1").await;
    let err = eu.create_bucket().bucket("gamma").send().await.expect_err("eu-west-1 needs a constraint");
    assert_eq!(code(err), ("IllegalLocationConstraintException".into(), 400));
    let err = eu
        .create_bucket()
        .bucket("gamma")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .expect_err("constraint must match the region");
    assert_eq!(code(err), ("IllegalLocationConstraintException".into(), 400));
    let eu_config = || {
        CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuWest1).build()
    };
    eu.create_bucket().bucket("gamma").create_bucket_configuration(eu_config()).send().await.expect("create");
    let err = eu
        .create_bucket()
        .bucket("gamma")
        .create_bucket_configuration(eu_config())
        .send()
        .await
        .expect_err("again");
    assert_eq!(code(err), ("BucketAlreadyOwnedByYou".into(), 409));

    let head = s3.head_bucket().bucket("gamma").send().await.expect("head");
    assert_eq!(head.bucket_region(), Some("eu-west-1"));
    let loc = s3.get_bucket_location().bucket("gamma").send().await.expect("location");
    assert_eq!(loc.location_constraint(), Some(&BucketLocationConstraint::EuWest1));
    let loc = s3.get_bucket_location().bucket("alpha").send().await.expect("location");
    assert_eq!(loc.location_constraint().map(|c| c.as_str()).unwrap_or(""), "");

    let names: Vec<String> = s3
        .list_buckets()
        .send()
        .await
        .expect("list")
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, ["alpha", "gamma"]);
    let page = s3.list_buckets().max_buckets(1).send().await.expect("page");
    assert_eq!(page.buckets().len(), 1);
    let next = page.continuation_token().expect("token").to_owned();
    let page = s3.list_buckets().max_buckets(1).continuation_token(next).send().await.expect("page 2");
    assert_eq!(page.buckets()[0].name(), Some("gamma"));

    // Another account sees none of them.
    let other = server.s3("111122223333", "us-east-1").await;
    assert!(other.list_buckets().send().await.expect("list").buckets().is_empty());
    let err = other.head_bucket().bucket("alpha").send().await.expect_err("not theirs");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));

    put(&s3, "alpha", "k", "v").await;
    let err = s3.delete_bucket().bucket("alpha").send().await.expect_err("not empty");
    assert_eq!(code(err), ("BucketNotEmpty".into(), 409));
    s3.delete_object().bucket("alpha").key("k").send().await.expect("delete object");
    s3.delete_bucket().bucket("alpha").send().await.expect("delete bucket");
    let err = s3.delete_bucket().bucket("alpha").send().await.expect_err("gone");
    assert_eq!(code(err), ("NoSuchBucket".into(), 404));
}

#[tokio::test]
async fn objects_with_metadata_ranges_and_conditions() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "docs").await;
    let data = pattern(100_000, 1);
    let put_out = s3
        .put_object()
        .bucket("docs")
        .key("dir/report.bin")
        .body(ByteStream::from(data.clone()))
        .content_type("application/x-report")
        .content_disposition("attachment")
        .cache_control("max-age=60")
        .metadata("Owner", "ana")
        .storage_class(aws_sdk_s3::types::StorageClass::StandardIa)
        .send()
        .await
        .expect("put");
    let etag = put_out.e_tag().expect("etag").to_owned();
    let md5 = {
        use md5_hex::hex_md5;
        hex_md5(&data)
    };
    assert_eq!(etag, format!("\"{md5}\""));

    let got = s3.get_object().bucket("docs").key("dir/report.bin").send().await.expect("get");
    assert_eq!(got.content_type(), Some("application/x-report"));
    assert_eq!(got.content_disposition(), Some("attachment"));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    assert_eq!(got.metadata().and_then(|m| m.get("owner")).map(String::as_str), Some("ana"));
    assert_eq!(got.storage_class().map(|c| c.as_str()), Some("STANDARD_IA"));
    assert_eq!(got.content_length(), Some(100_000));
    assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), &data[..]);

    let head = s3.head_object().bucket("docs").key("dir/report.bin").send().await.expect("head");
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.content_length(), Some(100_000));

    let part = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .range("bytes=10-19")
        .send()
        .await
        .expect("range");
    assert_eq!(part.content_range(), Some("bytes 10-19/100000"));
    assert_eq!(part.body.collect().await.expect("body").into_bytes().as_ref(), &data[10..20]);
    let tail =
        s3.get_object().bucket("docs").key("dir/report.bin").range("bytes=-5").send().await.expect("suffix");
    assert_eq!(tail.body.collect().await.expect("body").into_bytes().as_ref(), &data[99_995..]);
    let err = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .range("bytes=100000-")
        .send()
        .await
        .expect_err("past the end");
    assert_eq!(code(err), ("InvalidRange".into(), 416));

    let err = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .if_match("\"0000\"")
        .send()
        .await
        .expect_err("if-match");
    assert_eq!(code(err), ("PreconditionFailed".into(), 412));
    let err = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .if_none_match(&etag)
        .send()
        .await
        .expect_err("304");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(304));
    let later = aws_sdk_s3::primitives::DateTime::from_secs(4_102_444_800);
    let err = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .if_modified_since(later)
        .send()
        .await
        .expect_err("not modified since");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(304));
    let earlier = aws_sdk_s3::primitives::DateTime::from_secs(1_000_000_000);
    let err = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .if_unmodified_since(earlier)
        .send()
        .await
        .expect_err("modified since");
    assert_eq!(code(err), ("PreconditionFailed".into(), 412));
    s3.get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .if_match(&etag)
        .send()
        .await
        .expect("if-match holds");

    let over = s3
        .get_object()
        .bucket("docs")
        .key("dir/report.bin")
        .response_content_type("text/plain")
        .response_content_disposition("inline")
        .send()
        .await
        .expect("overrides");
    assert_eq!(over.content_type(), Some("text/plain"));
    assert_eq!(over.content_disposition(), Some("inline"));

    let err = s3.get_object().bucket("docs").key("missing").send().await.expect_err("no key");
    assert_eq!(code(err), ("NoSuchKey".into(), 404));
    let err = s3.get_object().bucket("nope").key("k").send().await.expect_err("no bucket");
    assert_eq!(code(err), ("NoSuchBucket".into(), 404));
    // The error is S3's XML, with the request id.
    let resp =
        server.http().get(format!("{}/docs/missing", server.endpoint())).send().await.expect("raw get");
    assert_eq!(resp.status().as_u16(), 404);
    let request_id = resp
        .headers()
        .get("x-amz-request-id")
        .expect("request id header")
        .to_str()
        .expect("ascii")
        .to_owned();
    let body = resp.text().await.expect("body");
    assert!(body.contains("<Code>NoSuchKey</Code>"), "{body}");
    assert!(body.contains("<Message>The specified key does not exist.</Message>"), "{body}");
    assert!(body.contains(&format!("<RequestId>{request_id}</RequestId>")), "{body}");

    let err = s3
        .put_object()
        .bucket("docs")
        .key("x")
        .body(ByteStream::from_static(b"x"))
        .storage_class(aws_sdk_s3::types::StorageClass::from("COLD"))
        .send()
        .await
        .expect_err("storage class");
    assert_eq!(code(err), ("InvalidStorageClass".into(), 400));

    s3.delete_object().bucket("docs").key("dir/report.bin").send().await.expect("delete");
    s3.delete_object().bucket("docs").key("dir/report.bin").send().await.expect("deleting nothing is fine");
    let err = s3.head_object().bucket("docs").key("dir/report.bin").send().await.expect_err("deleted");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
}

/// A tiny MD5 for expected ETags (RFC 1321), so the test does not trust the server's hashing.
mod md5_hex {
    pub fn hex_md5(data: &[u8]) -> String {
        const S: [u32; 64] = [
            7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
            20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6,
            10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
        ];
        let k: Vec<u32> = (0..64).map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32).collect();
        let (mut a0, mut b0, mut c0, mut d0) = (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
        let mut msg = data.to_vec();
        let bits = (data.len() as u64).wrapping_mul(8);
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&bits.to_le_bytes());
        for chunk in msg.chunks(64) {
            let m: Vec<u32> = chunk.chunks(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
            let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
            for i in 0..64 {
                let (f, g) = match i / 16 {
                    0 => ((b & c) | (!b & d), i),
                    1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                    2 => (b ^ c ^ d, (3 * i + 5) % 16),
                    _ => (c ^ (b | !d), (7 * i) % 16),
                };
                let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
                a = d;
                d = c;
                c = b;
                b = b.wrapping_add(f.rotate_left(S[i]));
            }
            a0 = a0.wrapping_add(a);
            b0 = b0.wrapping_add(b);
            c0 = c0.wrapping_add(c);
            d0 = d0.wrapping_add(d);
        }
        [a0, b0, c0, d0].iter().flat_map(|w| w.to_le_bytes()).map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn known_digest() {
        assert_eq!(hex_md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex_md5(b"hello world"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
    }
}

#[tokio::test]
async fn checksums_with_sdk_defaults_and_digests() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "sums").await;
    // The SDK's default: a CRC32 in an aws-chunked trailer, which the server checks and keeps.
    let out = s3
        .put_object()
        .bucket("sums")
        .key("hello")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .expect("put with defaults");
    assert_eq!(out.checksum_crc32(), Some("DUoRhQ=="));
    let head = s3
        .head_object()
        .bucket("sums")
        .key("hello")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert_eq!(head.checksum_crc32(), Some("DUoRhQ=="));
    // The SDK validates the checksum of what it downloads.
    let got = s3
        .get_object()
        .bucket("sums")
        .key("hello")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .expect("get");
    assert_eq!(got.checksum_crc32(), Some("DUoRhQ=="));
    assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), b"hello world");

    let cases = [
        (ChecksumAlgorithm::Sha256, "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
        (ChecksumAlgorithm::Crc32C, "yZRlqg=="),
        (ChecksumAlgorithm::Sha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
    ];
    for (algorithm, expected) in cases {
        let out = s3
            .put_object()
            .bucket("sums")
            .key(format!("k-{}", algorithm.as_str()))
            .checksum_algorithm(algorithm.clone())
            .body(ByteStream::from_static(b"hello world"))
            .send()
            .await
            .expect("put with an algorithm");
        let returned = match algorithm {
            ChecksumAlgorithm::Sha256 => out.checksum_sha256(),
            ChecksumAlgorithm::Crc32C => out.checksum_crc32_c(),
            _ => out.checksum_sha1(),
        };
        assert_eq!(returned, Some(expected), "{algorithm:?}");
    }

    let err = s3
        .put_object()
        .bucket("sums")
        .key("bad")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .expect_err("wrong crc32");
    assert_eq!(code(err), ("BadDigest".into(), 400));
    let err = s3
        .put_object()
        .bucket("sums")
        .key("bad")
        .content_md5("AAAAAAAAAAAAAAAAAAAAAA==")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .expect_err("wrong md5");
    assert_eq!(code(err), ("BadDigest".into(), 400));
    let err = s3
        .put_object()
        .bucket("sums")
        .key("bad")
        .content_md5("not-base64")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .expect_err("invalid md5");
    assert_eq!(code(err), ("InvalidDigest".into(), 400));
    s3.put_object()
        .bucket("sums")
        .key("good-md5")
        .content_md5("XrY7u+Ae7tCTyyK7j1rNww==")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .expect("right md5");
    // Failed uploads left nothing behind.
    let err = s3.head_object().bucket("sums").key("bad").send().await.expect_err("nothing stored");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));
}

#[tokio::test]
async fn listings_with_prefixes_delimiters_and_pages() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "tree").await;
    let mut keys =
        vec!["a.txt".to_owned(), "b/x y.txt".to_owned(), "b/ü.txt".to_owned(), "c/d/e.txt".to_owned()];
    for i in 0..30 {
        keys.push(format!("photos/{i:03}.jpg"));
    }
    keys.push("z.txt".to_owned());
    for k in &keys {
        put(&s3, "tree", k, k.as_bytes().to_vec()).await;
    }
    let top = s3.list_objects_v2().bucket("tree").delimiter("/").send().await.expect("top");
    let files: Vec<&str> = top.contents().iter().filter_map(|o| o.key()).collect();
    let dirs: Vec<&str> = top.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(files, ["a.txt", "z.txt"]);
    assert_eq!(dirs, ["b/", "c/", "photos/"]);
    assert_eq!(top.key_count(), Some(5));
    assert_eq!(top.contents()[0].size(), Some(5));

    let b = s3.list_objects_v2().bucket("tree").prefix("b/").send().await.expect("prefix");
    let files: Vec<&str> = b.contents().iter().filter_map(|o| o.key()).collect();
    // The SDK asks for EncodingType=url and decodes: keys come back as they were.
    assert_eq!(files, ["b/x y.txt", "b/ü.txt"]);

    // Pages of 7 over the 30 photos, then continuation tokens.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("tree")
            .prefix("photos/")
            .max_keys(7)
            .set_continuation_token(token.clone())
            .send()
            .await
            .expect("page");
        seen.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(seen.len(), 30);
    assert_eq!(seen[29], "photos/029.jpg");

    let after =
        s3.list_objects_v2().bucket("tree").start_after("photos/027.jpg").send().await.expect("start after");
    let files: Vec<&str> = after.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(files, ["photos/028.jpg", "photos/029.jpg", "z.txt"]);

    // v1: markers, with a delimiter the next marker may be a common prefix that is skipped whole.
    let page = s3.list_objects().bucket("tree").delimiter("/").max_keys(3).send().await.expect("v1");
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_marker(), Some("c/"));
    let rest = s3.list_objects().bucket("tree").delimiter("/").marker("c/").send().await.expect("v1 page 2");
    let dirs: Vec<&str> = rest.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    let files: Vec<&str> = rest.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(dirs, ["photos/"]);
    assert_eq!(files, ["z.txt"]);

    // Raw: EncodingType=url encodes what is answered.
    let resp = server
        .http()
        .get(format!("{}/tree?list-type=2&prefix=b%2F&encoding-type=url", server.endpoint()))
        .send()
        .await
        .expect("raw list");
    let body = resp.text().await.expect("body");
    assert!(body.contains("<Key>b%2Fx+y.txt</Key>"), "{body}");
    assert!(body.contains("<Key>b%2F%C3%BC.txt</Key>"), "{body}");

    let err = s3.list_objects_v2().bucket("nope").send().await.expect_err("no bucket");
    assert_eq!(code(err), ("NoSuchBucket".into(), 404));
}

#[tokio::test]
async fn copies_batch_deletes_tagging_and_configurations() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "src").await;
    bucket(&s3, "dst").await;
    s3.put_object()
        .bucket("src")
        .key("orig")
        .body(ByteStream::from_static(b"copy me"))
        .content_type("text/plain")
        .metadata("a", "1")
        .tagging("team=blue&tier=gold")
        .send()
        .await
        .expect("put");
    let out = s3.copy_object().bucket("dst").key("kept").copy_source("src/orig").send().await.expect("copy");
    assert!(out.copy_object_result().and_then(|r| r.e_tag()).is_some());
    let head = s3.head_object().bucket("dst").key("kept").send().await.expect("head");
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(head.metadata().and_then(|m| m.get("a")).map(String::as_str), Some("1"));
    assert_eq!(get(&s3, "dst", "kept").await, b"copy me");
    s3.copy_object()
        .bucket("dst")
        .key("replaced")
        .copy_source("src/orig")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("application/json")
        .metadata("b", "2")
        .send()
        .await
        .expect("copy replace");
    let head = s3.head_object().bucket("dst").key("replaced").send().await.expect("head");
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.metadata().map(|m| m.len()), Some(1));
    let err = s3
        .copy_object()
        .bucket("src")
        .key("orig")
        .copy_source("src/orig")
        .send()
        .await
        .expect_err("self copy");
    assert_eq!(code(err), ("InvalidRequest".into(), 400));
    let err =
        s3.copy_object().bucket("dst").key("x").copy_source("src/none").send().await.expect_err("no source");
    assert_eq!(code(err), ("NoSuchKey".into(), 404));

    let tags = s3.get_object_tagging().bucket("src").key("orig").send().await.expect("tags");
    let mut got: Vec<(String, String)> =
        tags.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    got.sort();
    assert_eq!(got, [("team".to_owned(), "blue".to_owned()), ("tier".to_owned(), "gold".to_owned())]);
    let copied_tags = s3.get_object_tagging().bucket("dst").key("kept").send().await.expect("copied tags");
    assert_eq!(copied_tags.tag_set().len(), 2);
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("k").value("v").build().expect("tag"))
        .build()
        .expect("tagging");
    s3.put_object_tagging()
        .bucket("src")
        .key("orig")
        .tagging(tagging.clone())
        .send()
        .await
        .expect("put tags");
    assert_eq!(
        s3.get_object_tagging().bucket("src").key("orig").send().await.expect("tags").tag_set().len(),
        1
    );
    s3.delete_object_tagging().bucket("src").key("orig").send().await.expect("delete tags");
    assert!(
        s3.get_object_tagging().bucket("src").key("orig").send().await.expect("tags").tag_set().is_empty()
    );

    let err = s3.get_bucket_tagging().bucket("src").send().await.expect_err("no tags");
    assert_eq!(code(err), ("NoSuchTagSet".into(), 404));
    s3.put_bucket_tagging().bucket("src").tagging(tagging).send().await.expect("bucket tags");
    assert_eq!(s3.get_bucket_tagging().bucket("src").send().await.expect("tags").tag_set()[0].key(), "k");

    let err = s3.get_bucket_cors().bucket("src").send().await.expect_err("no cors");
    assert_eq!(code(err), ("NoSuchCORSConfiguration".into(), 404));
    let cors = aws_sdk_s3::types::CorsConfiguration::builder()
        .cors_rules(
            aws_sdk_s3::types::CorsRule::builder()
                .allowed_methods("GET")
                .allowed_origins("*")
                .max_age_seconds(300)
                .build()
                .expect("rule"),
        )
        .build()
        .expect("cors");
    s3.put_bucket_cors().bucket("src").cors_configuration(cors).send().await.expect("put cors");
    let rules = s3.get_bucket_cors().bucket("src").send().await.expect("get cors");
    assert_eq!(rules.cors_rules()[0].max_age_seconds(), Some(300));
    let err = s3.get_bucket_policy().bucket("src").send().await.expect_err("no policy");
    assert_eq!(code(err), ("NoSuchBucketPolicy".into(), 404));
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    s3.put_bucket_policy().bucket("src").policy(policy).send().await.expect("policy");
    assert_eq!(s3.get_bucket_policy().bucket("src").send().await.expect("get").policy(), Some(policy));
    let err = s3.get_bucket_lifecycle_configuration().bucket("src").send().await.expect_err("no lifecycle");
    assert_eq!(code(err), ("NoSuchLifecycleConfiguration".into(), 404));
    let notification = s3.get_bucket_notification_configuration().bucket("src").send().await.expect("empty");
    assert!(notification.lambda_function_configurations().is_empty());

    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("kept").build().expect("id"))
        .objects(ObjectIdentifier::builder().key("replaced").build().expect("id"))
        .objects(ObjectIdentifier::builder().key("never-existed").build().expect("id"))
        .build()
        .expect("delete");
    let out = s3.delete_objects().bucket("dst").delete(delete).send().await.expect("delete objects");
    assert_eq!(out.deleted().len(), 3);
    assert!(out.errors().is_empty());
    let listed = s3.list_objects_v2().bucket("dst").send().await.expect("list");
    assert!(listed.contents().is_empty());
}

#[tokio::test]
async fn multipart_upload_of_20_mib_byte_for_byte() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "big").await;
    let data = pattern(20 << 20, 7);
    let up = s3
        .create_multipart_upload()
        .bucket("big")
        .key("blob")
        .content_type("video/mp4")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id").to_owned();
    let sizes = [5 << 20, 5 << 20, 6 << 20, 4 << 20];
    let mut offset = 0;
    let mut parts = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let n = i as i32 + 1;
        let out = s3
            .upload_part()
            .bucket("big")
            .key("blob")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(data[offset..offset + size].to_vec()))
            .send()
            .await
            .expect("upload part");
        offset += size;
        parts.push(CompletedPart::builder().part_number(n).e_tag(out.e_tag().expect("etag")).build());
    }
    let listed = s3.list_parts().bucket("big").key("blob").upload_id(&id).send().await.expect("list parts");
    assert_eq!(listed.parts().len(), 4);
    assert_eq!(listed.parts()[2].size(), Some(6 << 20));
    let uploads = s3.list_multipart_uploads().bucket("big").send().await.expect("uploads");
    assert_eq!(uploads.uploads()[0].upload_id(), Some(id.as_str()));

    let complete = |parts: Vec<CompletedPart>| {
        s3.complete_multipart_upload()
            .bucket("big")
            .key("blob")
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
    };
    let reversed: Vec<CompletedPart> = parts.iter().rev().cloned().collect();
    assert_eq!(code(complete(reversed).await.expect_err("order")), ("InvalidPartOrder".into(), 400));
    let mut missing = parts.clone();
    missing.push(CompletedPart::builder().part_number(9).e_tag("\"00\"").build());
    assert_eq!(code(complete(missing).await.expect_err("missing")), ("InvalidPart".into(), 400));
    let mut wrong_etag = parts.clone();
    wrong_etag[0] = CompletedPart::builder().part_number(1).e_tag("\"0123\"").build();
    assert_eq!(code(complete(wrong_etag).await.expect_err("etag")), ("InvalidPart".into(), 400));

    let done = complete(parts.clone()).await.expect("complete");
    let etag = done.e_tag().expect("etag").to_owned();
    assert!(etag.ends_with("-4\""), "{etag}");
    assert_eq!(get(&s3, "big", "blob").await, data);
    let head = s3.head_object().bucket("big").key("blob").send().await.expect("head");
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.content_type(), Some("video/mp4"));
    // A range across the boundary of parts 1 and 2.
    let across = s3
        .get_object()
        .bucket("big")
        .key("blob")
        .range(format!("bytes={}-{}", (5 << 20) - 10, (5 << 20) + 9))
        .send()
        .await
        .expect("range");
    let bytes = across.body.collect().await.expect("body").into_bytes();
    assert_eq!(bytes.as_ref(), &data[(5 << 20) - 10..(5 << 20) + 10]);
    // The upload is gone once completed.
    let err = complete(parts).await.expect_err("again");
    assert_eq!(code(err), ("NoSuchUpload".into(), 404));

    // Parts under 5 MiB (but the last) are refused at Complete.
    let small = s3.create_multipart_upload().bucket("big").key("small").send().await.expect("create");
    let sid = small.upload_id().expect("id").to_owned();
    let mut sparts = Vec::new();
    for n in 1..=2 {
        let out = s3
            .upload_part()
            .bucket("big")
            .key("small")
            .upload_id(&sid)
            .part_number(n)
            .body(ByteStream::from_static(b"tiny"))
            .send()
            .await
            .expect("part");
        sparts.push(CompletedPart::builder().part_number(n).e_tag(out.e_tag().expect("etag")).build());
    }
    let err = s3
        .complete_multipart_upload()
        .bucket("big")
        .key("small")
        .upload_id(&sid)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(sparts)).build())
        .send()
        .await
        .expect_err("too small");
    assert_eq!(code(err), ("EntityTooSmall".into(), 400));
    // UploadPartCopy takes a range of an existing object.
    let copied = s3
        .upload_part_copy()
        .bucket("big")
        .key("small")
        .upload_id(&sid)
        .part_number(3)
        .copy_source("big/blob")
        .copy_source_range("bytes=0-9")
        .send()
        .await
        .expect("part copy");
    assert!(copied.copy_part_result().and_then(|r| r.e_tag()).is_some());
    let listed = s3.list_parts().bucket("big").key("small").upload_id(&sid).send().await.expect("parts");
    assert_eq!(listed.parts().iter().map(|p| p.size().unwrap_or(0)).collect::<Vec<_>>(), [4, 4, 10]);
    s3.abort_multipart_upload().bucket("big").key("small").upload_id(&sid).send().await.expect("abort");
    let err = s3.list_parts().bucket("big").key("small").upload_id(&sid).send().await.expect_err("aborted");
    assert_eq!(code(err), ("NoSuchUpload".into(), 404));
    let err = s3
        .upload_part()
        .bucket("big")
        .key("small")
        .upload_id(&sid)
        .part_number(1)
        .body(ByteStream::from_static(b"late"))
        .send()
        .await
        .expect_err("aborted upload");
    assert_eq!(code(err), ("NoSuchUpload".into(), 404));
}

#[tokio::test]
async fn presigned_urls_and_virtual_hosted_addressing() {
    let server = Server::ephemeral();
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "shared").await;
    let presign = PresigningConfig::expires_in(Duration::from_secs(300)).expect("config");
    let put_url =
        s3.put_object().bucket("shared").key("up.txt").presigned(presign.clone()).await.expect("presign put");
    let resp = server.http().put(put_url.uri()).body("from a presigned PUT").send().await.expect("put");
    assert_eq!(resp.status().as_u16(), 200, "{:?}", resp.text().await);
    let get_url =
        s3.get_object().bucket("shared").key("up.txt").presigned(presign.clone()).await.expect("presign get");
    let resp = server.http().get(get_url.uri()).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), "from a presigned PUT");

    // `*.localhost` does not resolve here: the client resolves the bucket's host name to the
    // server and sends it in Host, as it would against S3.
    let host = format!("shared.s3.localhost:{}", server.port);
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let client = reqwest::Client::builder().resolve("shared.s3.localhost", addr).build().expect("client");
    let virtual_s3 = Client::from_conf(
        aws_sdk_s3::config::Builder::from(&server.sdk_config("test", "us-east-1").await)
            .endpoint_url(format!("http://s3.localhost:{}", server.port))
            .build(),
    );
    let url = virtual_s3
        .get_object()
        .bucket("shared")
        .key("up.txt")
        .presigned(presign.clone())
        .await
        .expect("presign");
    assert!(url.uri().starts_with(&format!("http://{host}/up.txt")), "{}", url.uri());
    let resp = client.get(url.uri()).send().await.expect("virtual-hosted get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), "from a presigned PUT");
    let url =
        virtual_s3.put_object().bucket("shared").key("vh.txt").presigned(presign).await.expect("presign");
    let resp = client.put(url.uri()).body("virtual").send().await.expect("virtual-hosted put");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(get(&s3, "shared", "vh.txt").await, b"virtual");
    // Unsigned, by Host header alone: a listing of the bucket.
    let resp = client.get(format!("http://{host}/?list-type=2")).send().await.expect("list");
    let body = resp.text().await.expect("body");
    assert!(body.contains("<Name>shared</Name>") && body.contains("<Key>vh.txt</Key>"), "{body}");
}

#[tokio::test]
async fn enforced_signatures_are_verified_by_s3() {
    let server =
        Server::start_with(None, &["--ephemeral", "--enforce-sigv4", "--access-key", "AKIDS3:s3cr3t"]);
    let config = |secret: &'static str| {
        let endpoint = server.endpoint();
        async move {
            let c = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_credential_types::Credentials::new(
                    "AKIDS3", secret, None, None, "t",
                ))
                .load()
                .await;
            Client::from_conf(aws_sdk_s3::config::Builder::from(&c).force_path_style(true).build())
        }
    };
    let good = config("s3cr3t").await;
    bucket(&good, "locked").await;
    // The SDK's default upload (aws-chunked with a trailer) passes s3s's verifier.
    let out = good
        .put_object()
        .bucket("locked")
        .key("k")
        .body(ByteStream::from(pattern(200_000, 3)))
        .send()
        .await
        .expect("signed put");
    assert!(out.checksum_crc32().is_some());
    assert_eq!(get(&good, "locked", "k").await, pattern(200_000, 3));
    let presigned = good
        .get_object()
        .bucket("locked")
        .key("k")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).expect("config"))
        .await
        .expect("presign");
    let resp = server.http().get(presigned.uri()).send().await.expect("presigned get");
    assert_eq!(resp.status().as_u16(), 200);

    let bad = config("wrong").await;
    let err = bad.list_objects_v2().bucket("locked").send().await.expect_err("bad secret");
    assert_eq!(code(err), ("SignatureDoesNotMatch".into(), 403));
    let resp = server.http().get(format!("{}/locked/k", server.endpoint())).send().await.expect("anonymous");
    assert_eq!(resp.status().as_u16(), 403);
    let body = resp.text().await.expect("body");
    assert!(body.contains("<Code>AccessDenied</Code>") && body.contains("<RequestId>"), "{body}");
}

#[tokio::test]
async fn acknowledged_objects_survive_kill9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "durable").await;
    let big = pattern(3 << 20, 9);
    put(&s3, "durable", "small", "kept").await;
    put(&s3, "durable", "big", big.clone()).await;
    put(&s3, "durable", "gone", "x").await;
    s3.delete_object().bucket("durable").key("gone").send().await.expect("delete");
    server.kill9();
    server.restart();
    let s3 = server.s3("test", "us-east-1").await;
    assert_eq!(get(&s3, "durable", "small").await, b"kept");
    assert_eq!(get(&s3, "durable", "big").await, big);
    let keys: Vec<String> = s3
        .list_objects_v2()
        .bucket("durable")
        .send()
        .await
        .expect("list")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(keys, ["big", "small"]);
}

#[tokio::test]
async fn notifications_reach_lambda_and_sqs_through_their_filters() {
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
        NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    };
    let server = Server::ephemeral();
    let out = tempfile::tempdir().expect("tempdir");
    let file = out.path().join("uploads.jsonl");
    let lambda = server.lambda("test", "us-east-1").await;
    let function = crate::lambda::create_python(
        &lambda,
        "on-jpg",
        crate::lambda::PY_RECORDER,
        &[("RECORD_TO", file.to_str().expect("utf-8"))],
    )
    .await;
    let sqs = server.sqs("test", "us-east-1").await;
    let url = crate::harness::create_queue(&sqs, "removals").await;
    let queue_arn = "arn:aws:sqs:us-east-1:000000000000:removals";
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "uploads").await;
    let filter = |name: FilterRuleName, value: &str| {
        NotificationConfigurationFilter::builder()
            .key(
                S3KeyFilter::builder()
                    .filter_rules(FilterRule::builder().name(name).value(value).build())
                    .build(),
            )
            .build()
    };
    let config = NotificationConfiguration::builder()
        .lambda_function_configurations(
            LambdaFunctionConfiguration::builder()
                .id("jpgs")
                .lambda_function_arn(function.function_arn().expect("arn"))
                .events(Event::from("s3:ObjectCreated:*"))
                .filter(filter(FilterRuleName::Suffix, ".jpg"))
                .build()
                .expect("lambda config"),
        )
        .queue_configurations(
            QueueConfiguration::builder()
                .id("photo-removals")
                .queue_arn(queue_arn)
                .events(Event::from("s3:ObjectRemoved:*"))
                .filter(filter(FilterRuleName::Prefix, "photos/"))
                .build()
                .expect("queue config"),
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket("uploads")
        .notification_configuration(config)
        .send()
        .await
        .expect("configure");
    let stored = s3.get_bucket_notification_configuration().bucket("uploads").send().await.expect("get");
    assert_eq!(stored.lambda_function_configurations()[0].id(), Some("jpgs"));
    assert_eq!(stored.queue_configurations()[0].queue_arn(), queue_arn);

    let receive = || async {
        sqs.receive_message()
            .queue_url(&url)
            .wait_time_seconds(10)
            .send()
            .await
            .expect("receive")
            .messages()
            .to_vec()
    };
    let test_event = receive().await;
    let body: serde_json::Value = serde_json::from_str(test_event[0].body().expect("body")).expect("json");
    assert_eq!(body["Event"], "s3:TestEvent");
    assert_eq!(body["Bucket"], "uploads");
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(test_event[0].receipt_handle().expect("handle"))
        .send()
        .await
        .expect("delete");

    let etag = put(&s3, "uploads", "photos/my cat.jpg", "image").await;
    put(&s3, "uploads", "notes.txt", "text").await;
    let lines = crate::lambda::wait_for_lines(&file, 1, Duration::from_secs(60)).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    let record = &lines[0]["event"]["Records"][0];
    assert_eq!(record["eventVersion"], "2.1");
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["configurationId"], "jpgs");
    assert_eq!(record["s3"]["bucket"]["name"], "uploads");
    assert_eq!(record["s3"]["bucket"]["arn"], "arn:aws:s3:::uploads");
    assert_eq!(record["s3"]["object"]["key"], "photos/my+cat.jpg");
    assert_eq!(record["s3"]["object"]["size"], 5);
    assert_eq!(format!("\"{}\"", record["s3"]["object"]["eTag"].as_str().expect("etag")), etag);
    assert!(record["s3"]["object"]["sequencer"].as_str().is_some_and(|s| !s.is_empty()));

    s3.delete_object().bucket("uploads").key("notes.txt").send().await.expect("delete txt");
    s3.delete_object().bucket("uploads").key("photos/my cat.jpg").send().await.expect("delete jpg");
    let removed = receive().await;
    assert_eq!(removed.len(), 1);
    let body: serde_json::Value = serde_json::from_str(removed[0].body().expect("body")).expect("json");
    let record = &body["Records"][0];
    assert_eq!(record["eventName"], "ObjectRemoved:Delete");
    assert_eq!(record["s3"]["object"]["key"], "photos/my+cat.jpg");
    assert_eq!(record["s3"]["configurationId"], "photo-removals");
    // The .txt upload invoked nothing, and only the photo's removal was queued.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(crate::lambda::lines_of(&file).len(), 1);
    assert!(sqs.receive_message().queue_url(&url).send().await.expect("receive").messages().is_empty());
}

#[tokio::test]
async fn notifications_reach_sns_topics_and_eventbridge() {
    use aws_sdk_s3::types::{EventBridgeConfiguration, NotificationConfiguration, TopicConfiguration};
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let sns = server.sns("test", "us-east-1").await;
    let events = server.events("test", "us-east-1").await;
    let mut urls = Vec::new();
    for name in ["via-topic", "via-bus"] {
        urls.push(crate::harness::create_queue(&sqs, name).await);
    }
    let topic =
        sns.create_topic().name("uploads").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:000000000000:via-topic")
        .send()
        .await
        .expect("subscribe");
    events
        .put_rule()
        .name("created")
        .event_pattern(r#"{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["media"]}}}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("created")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn("arn:aws:sqs:us-east-1:000000000000:via-bus")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");
    let s3 = server.s3("test", "us-east-1").await;
    bucket(&s3, "media").await;
    let config = NotificationConfiguration::builder()
        .topic_configurations(
            TopicConfiguration::builder()
                .topic_arn(&topic)
                .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
                .build()
                .expect("topic config"),
        )
        .event_bridge_configuration(EventBridgeConfiguration::builder().build())
        .build();
    s3.put_bucket_notification_configuration()
        .bucket("media")
        .notification_configuration(config)
        .send()
        .await
        .expect("configure");
    put(&s3, "media", "a b.png", "pixels").await;
    let receive = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.receive_message()
                .queue_url(url)
                .wait_time_seconds(10)
                .send()
                .await
                .expect("receive")
                .messages()
                .to_vec()
        }
    };
    let wrapped = receive(urls[0].clone()).await;
    let envelope: serde_json::Value = serde_json::from_str(wrapped[0].body().expect("body")).expect("json");
    assert_eq!(envelope["Subject"], "Amazon S3 Notification");
    let records: serde_json::Value =
        serde_json::from_str(envelope["Message"].as_str().expect("message")).expect("json");
    assert_eq!(records["Records"][0]["s3"]["object"]["key"], "a+b.png");
    let on_bus = receive(urls[1].clone()).await;
    let event: serde_json::Value = serde_json::from_str(on_bus[0].body().expect("body")).expect("json");
    assert_eq!(event["source"], "aws.s3");
    assert_eq!(event["detail-type"], "Object Created");
    assert_eq!(event["resources"][0], "arn:aws:s3:::media");
    assert_eq!(event["detail"]["object"]["key"], "a b.png");
    assert_eq!(event["detail"]["object"]["size"], 6);
    assert_eq!(event["detail"]["reason"], "PutObject");
}
