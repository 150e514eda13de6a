//! The image-pipeline example (`examples/image-pipeline/`), deployed with `nimbus deploy` as a
//! reader of its README would: real JPEG, PNG, WebP and GIF uploads become renditions of the
//! right size, metadata items, audit entries (through the EventBridge rule's InputTransformer)
//! and API answers; a corrupt file, a non-image and an oversize upload end failed or rejected.
//! The same checks run against each resize function (`ResizeRuntime`): the Python one and the
//! Rust one, which the deploy builds with `cargo build --release` (into the test run's own
//! target directory, so its dependencies compile once per target directory).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use serde_json::Value;

use crate::harness::Server;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/image-pipeline")
}

/// The deploy step installs Pillow and boto3 with pip; without PyPI (and nothing cached) it
/// cannot work.
fn pypi_reachable() -> bool {
    let Ok(mut addrs) = ("pypi.org", 443).to_socket_addrs() else { return false };
    addrs.any(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(5)).is_ok())
}

fn nimbus(server: &Server, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nimbus"))
        .args(args)
        .arg("--endpoint")
        .arg(server.endpoint())
        .current_dir(example_dir())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_REGION")
        .output()
        .expect("run nimbus");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        eprintln!("nimbus {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), stdout)
}

/// A picture with some structure (gradients), so encoders and resamplers have work to do.
fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, ((x + y) % 256) as u8])
    })
}

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode");
    out.into_inner()
}

/// Inserts an EXIF segment with the given Orientation right after the JPEG's SOI marker.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG");
    // TIFF header (little endian), one IFD with one SHORT entry: 0x0112 Orientation.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn dimensions(bytes: &[u8]) -> (u32, u32, ImageFormat) {
    let reader = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().expect("guess");
    let format = reader.format().expect("a known image format");
    let (w, h) = reader.into_dimensions().expect("dimensions");
    (w, h, format)
}

/// A DynamoDB item as plain JSON (numbers as numbers), to compare with what the API returns.
fn plain(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => serde_json::from_str(n).expect("a number"),
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::M(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        AttributeValue::L(l) => Value::Array(l.iter().map(plain).collect()),
        AttributeValue::Null(_) => Value::Null,
        other => panic!("unexpected attribute {other:?}"),
    }
}

async fn wait_for_item(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    id: &str,
    deadline: Instant,
) -> serde_json::Map<String, Value> {
    loop {
        let got = ddb
            .get_item()
            .table_name(table)
            .key("id", AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item");
        if let Some(item) = got.item() {
            return item.iter().map(|(k, v)| (k.clone(), plain(v))).collect();
        }
        assert!(Instant::now() < deadline, "no item {id} in {table}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// An upload that should be processed, and what should come out of it.
struct Case {
    key: &'static str,
    bytes: Vec<u8>,
    format: &'static str,
    /// Width and height once the EXIF orientation is applied.
    upright: (u32, u32),
    thumb: (u32, u32),
    large: (u32, u32),
    rendition_format: ImageFormat,
}

async fn json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body = resp.text().await.expect("body");
    (status, serde_json::from_str(&body).unwrap_or_else(|_| panic!("JSON body, got {body:?}")))
}

/// The template's `ResizeRuntime` values: which resize function takes the uploads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Resize {
    Python,
    Rust,
}

impl Resize {
    fn parameter(self) -> &'static str {
        match self {
            Resize::Python => "ResizeRuntime=python",
            Resize::Rust => "ResizeRuntime=rust",
        }
    }

    /// The logical id of the function that is deployed, and of the one that is not.
    fn functions(self) -> (&'static str, &'static str) {
        match self {
            Resize::Python => ("ResizeFunction", "ResizeRustFunction"),
            Resize::Rust => ("ResizeRustFunction", "ResizeFunction"),
        }
    }
}

/// Deploys the example as `stack`; returns its outputs.
async fn deploy(server: &Server, stack: &str, resize: Resize, extra: &[&str]) -> BTreeMap<String, String> {
    let mut args = vec!["deploy", "--stack-name", stack, "--parameter-overrides", resize.parameter()];
    args.extend_from_slice(extra);
    let (ok, stdout) = nimbus(server, &args);
    assert!(ok && stdout.contains(&format!("Stack {stack}: CREATE_COMPLETE")), "{stdout}");
    let cfn = server.cloudformation().await;
    let described = cfn.describe_stacks().stack_name(stack).send().await.expect("describe");
    let out: BTreeMap<String, String> = described.stacks()[0]
        .outputs()
        .iter()
        .map(|o| (o.output_key().unwrap_or_default().into(), o.output_value().unwrap_or_default().into()))
        .collect();
    // Only the chosen resize function exists, and it is the queue's one subscriber.
    let resources = cfn.describe_stack_resources().stack_name(stack).send().await.expect("resources");
    let logical: BTreeSet<&str> =
        resources.stack_resources().iter().filter_map(|r| r.logical_resource_id()).collect();
    let (chosen, other) = resize.functions();
    assert!(logical.contains(chosen) && !logical.contains(other), "{logical:?}");
    let lambda = server.lambda("test", "us-east-1").await;
    let function =
        lambda.get_function().function_name(&out["ResizeFunction"]).send().await.expect("function");
    let runtime = function.configuration().and_then(|c| c.runtime()).map(|r| r.as_str().to_owned());
    let expected = if resize == Resize::Rust { "provided.al2023" } else { "python3.12" };
    assert_eq!(runtime.as_deref(), Some(expected));
    let mappings = lambda.list_event_source_mappings().send().await.expect("mappings");
    let subscribers: Vec<&str> =
        mappings.event_source_mappings().iter().filter_map(|m| m.function_arn()).collect();
    assert_eq!(subscribers.len(), 1, "{subscribers:?}");
    assert!(subscribers[0].ends_with(&format!(":function:{}", out["ResizeFunction"])), "{subscribers:?}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_resize_function_resizes_records_audits_and_serves_uploads() {
    acceptance(Resize::Python).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_resize_function_resizes_records_audits_and_serves_uploads() {
    acceptance(Resize::Rust).await;
}

async fn acceptance(resize: Resize) {
    if !pypi_reachable() {
        eprintln!("SKIPPED: pypi.org is unreachable, and `nimbus deploy` needs it to pip install Pillow");
        return;
    }
    let server = Server::ephemeral();
    let out = deploy(&server, "pipeline", resize, &["MaxImageBytes=3000000"]).await;
    assert_eq!(out["UploadBucket"], "pipeline-uploads-000000000000");

    let jpeg =
        with_exif_orientation(&encode(DynamicImage::ImageRgb8(picture(1600, 1200)), ImageFormat::Jpeg), 6);
    let png = encode(
        DynamicImage::ImageRgba8(RgbaImage::from_fn(2048, 1024, |x, y| {
            Rgba([(x % 256) as u8, (y % 256) as u8, 128, if x < 1024 { 255 } else { 128 }])
        })),
        ImageFormat::Png,
    );
    let webp = encode(DynamicImage::ImageRgb8(picture(1200, 900)), ImageFormat::WebP);
    let gif = encode(
        DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(picture(320, 200)).to_rgba8()),
        ImageFormat::Gif,
    );
    let case = |key, bytes, format, upright, thumb, large, rendition_format| Case {
        key,
        bytes,
        format,
        upright,
        thumb,
        large,
        rendition_format,
    };
    let good = vec![
        case("photo.jpg", jpeg.clone(), "JPEG", (1200, 1600), (96, 128), (768, 1024), ImageFormat::Jpeg),
        case("in/diagram.png", png, "PNG", (2048, 1024), (128, 64), (1024, 512), ImageFormat::Png),
        case("scan.webp", webp, "WEBP", (1200, 900), (128, 96), (1024, 768), ImageFormat::WebP),
        // Smaller than the large rendition: not enlarged. GIFs become PNGs.
        case("anim.gif", gif, "GIF", (320, 200), (128, 80), (320, 200), ImageFormat::Png),
    ];

    let s3 = server.s3("test", "us-east-1").await;
    let upload = |key: &str, body: Vec<u8>| {
        s3.put_object().bucket(&out["UploadBucket"]).key(key).body(body.into()).send()
    };
    for c in &good {
        upload(c.key, c.bytes.clone()).await.expect("upload");
    }
    upload("broken.jpg", jpeg[..jpeg.len() / 2].to_vec()).await.expect("upload");
    upload("notes.txt", b"these are not pixels\n".to_vec()).await.expect("upload");
    upload("huge.png", vec![0u8; 3_500_000]).await.expect("upload");

    // An upload through the API's presigned PUT URL.
    let http =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let api = |path: &str| server.execute_api(&out["ApiId"], path);
    let (status, ticket) = json(
        http.post(api("/uploads")).body(r#"{"filename": "selfie.png"}"#).send().await.expect("POST /uploads"),
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!(ticket["method"], "PUT");
    assert_eq!(ticket["bucket"], out["UploadBucket"].as_str());
    let selfie_key = ticket["key"].as_str().expect("key").to_owned();
    assert!(selfie_key.starts_with("uploads/") && selfie_key.ends_with(".png"), "{selfie_key}");
    let put = http
        .put(ticket["uploadUrl"].as_str().expect("url"))
        .header("content-type", "image/png")
        .body(encode(DynamicImage::ImageRgb8(picture(300, 600)), ImageFormat::Png))
        .send()
        .await
        .expect("presigned PUT");
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap_or_default());
    let selfie_id = ticket["id"].as_str().expect("id").to_owned();
    assert_eq!(selfie_id, selfie_key.replace('/', "_"));

    // Every upload ends with an item: processed with its renditions, or failed/rejected with a
    // reason.
    let ddb = server.dynamodb("test", "us-east-1").await;
    let deadline = Instant::now() + Duration::from_secs(120);
    for Case { key, bytes, format, upright: (w, h), thumb, large, rendition_format } in &good {
        let id = key.replace('/', "_");
        let item = wait_for_item(&ddb, &out["ImagesTable"], &id, deadline).await;
        assert_eq!(item["status"], "processed", "{item:?}");
        assert_eq!(item["key"], *key);
        assert_eq!(item["bucket"], out["UploadBucket"].as_str());
        assert_eq!(item["format"], *format);
        assert_eq!(item["size"], bytes.len());
        assert_eq!(
            (item["width"].as_u64(), item["height"].as_u64()),
            (Some(u64::from(*w)), Some(u64::from(*h)))
        );
        assert!(item["uploadedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{item:?}");
        assert!(item["processedAt"].is_string());
        for (name, (rw, rh)) in [("thumb", thumb), ("large", large)] {
            let r = &item["renditions"][name];
            let rkey = r["key"].as_str().expect("rendition key");
            assert!(rkey.starts_with(&format!("{id}/{name}.")), "{rkey}");
            let obj =
                s3.get_object().bucket(&out["ProcessedBucket"]).key(rkey).send().await.expect("rendition");
            assert_eq!(obj.content_type(), r["contentType"].as_str());
            let data = obj.body.collect().await.expect("body").into_bytes();
            assert_eq!(r["size"], data.len());
            assert_eq!(dimensions(&data), (*rw, *rh, *rendition_format), "{key} {name}");
            assert_eq!(
                (r["width"].as_u64(), r["height"].as_u64()),
                (Some(u64::from(*rw)), Some(u64::from(*rh)))
            );
        }
    }
    assert_eq!(wait_for_item(&ddb, &out["ImagesTable"], "photo.jpg", deadline).await["orientation"], 6);
    let selfie = wait_for_item(&ddb, &out["ImagesTable"], &selfie_id, deadline).await;
    assert_eq!(selfie["status"], "processed", "{selfie:?}");
    assert_eq!(selfie["renditions"]["thumb"]["width"], 64);

    let broken = wait_for_item(&ddb, &out["ImagesTable"], "broken.jpg", deadline).await;
    assert_eq!(broken["status"], "failed", "{broken:?}");
    assert!(broken["reason"].as_str().is_some_and(|r| r.contains("truncated")), "{broken:?}");
    assert!(broken.get("renditions").is_none());
    let notes = wait_for_item(&ddb, &out["ImagesTable"], "notes.txt", deadline).await;
    assert_eq!(notes["status"], "failed", "{notes:?}");
    assert!(notes["reason"].as_str().is_some_and(|r| r.contains("cannot identify image file")), "{notes:?}");
    let huge = wait_for_item(&ddb, &out["ImagesTable"], "huge.png", deadline).await;
    assert_eq!(huge["status"], "rejected", "{huge:?}");
    assert_eq!(huge["reason"], "3500000 bytes is over the limit of 3000000 bytes");

    // Only the five images have renditions.
    let listed = s3.list_objects_v2().bucket(&out["ProcessedBucket"]).send().await.expect("list");
    let rendition_keys: BTreeSet<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(rendition_keys.len(), 10, "two renditions of each of the five images: {rendition_keys:?}");

    // The audit function got the InputTransformer's summary of each ImageProcessed event, and
    // nothing for the failures.
    for Case { key, format, upright: (w, h), .. } in &good {
        let id = key.replace('/', "_");
        let entry = wait_for_item(&ddb, &out["AuditTable"], &id, deadline).await;
        assert_eq!(entry["image"], id.as_str());
        assert_eq!(entry["format"], *format);
        assert_eq!(entry["size"], format!("{w}x{h}").as_str());
        assert!(entry["processedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{entry:?}");
    }
    let entry = wait_for_item(&ddb, &out["AuditTable"], &selfie_id, deadline).await;
    assert_eq!(entry["size"], "300x600");
    let audits = ddb.scan().table_name(&out["AuditTable"]).send().await.expect("scan");
    assert_eq!(audits.count(), 5, "{:?}", audits.items());

    // The API: pages of images, each image, renditions by redirect.
    let mut ids = BTreeSet::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &next {
            Some(token) => format!("/images?limit=3&next={token}"),
            None => "/images?limit=3".to_owned(),
        };
        let (status, page) = json(http.get(api(&path)).send().await.expect("GET /images")).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        ids.extend(items.iter().map(|i| i["id"].as_str().expect("id").to_owned()));
        pages += 1;
        match page["next"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination ends");
    }
    assert!(pages >= 3, "8 images at 3 per page: {pages} pages");
    let expected: BTreeSet<String> =
        ["photo.jpg", "in_diagram.png", "scan.webp", "anim.gif", "broken.jpg", "notes.txt", "huge.png"]
            .into_iter()
            .map(str::to_owned)
            .chain([selfie_id.clone()])
            .collect();
    assert_eq!(ids, expected);
    let (status, bad) = json(http.get(api("/images?limit=0")).send().await.expect("GET")).await;
    assert_eq!(status, 400, "{bad}");

    let (status, one) = json(http.get(api("/images/photo.jpg")).send().await.expect("GET one")).await;
    assert_eq!(status, 200);
    let stored = wait_for_item(&ddb, &out["ImagesTable"], "photo.jpg", deadline).await;
    assert_eq!(one, Value::Object(stored));
    let (status, _) = json(http.get(api("/images/nope.jpg")).send().await.expect("GET")).await;
    assert_eq!(status, 404);

    let redirect = http.get(api("/images/photo.jpg/thumb")).send().await.expect("GET rendition");
    assert_eq!(redirect.status(), 302);
    let location = redirect.headers()["location"].to_str().expect("location").to_owned();
    let thumb = http.get(&location).send().await.expect("follow the presigned URL");
    assert_eq!(thumb.status(), 200);
    let data = thumb.bytes().await.expect("bytes");
    assert_eq!(dimensions(&data), (96, 128, ImageFormat::Jpeg));
    let (status, _) = json(http.get(api("/images/broken.jpg/thumb")).send().await.expect("GET")).await;
    assert_eq!(status, 404, "a failed image has no renditions");
    let (status, _) = json(http.get(api("/images/photo.jpg/huge")).send().await.expect("GET")).await;
    assert_eq!(status, 404);
    let (status, refused) =
        json(http.post(api("/uploads")).body(r#"{"filename": "a.exe"}"#).send().await.expect("POST")).await;
    assert_eq!(status, 400, "{refused}");
}

/// One REPORT line: duration, init duration (on a cold start) and max memory used.
struct Report {
    duration_ms: f64,
    init_ms: Option<f64>,
    memory_mb: f64,
}

/// Every REPORT line of a function so far.
async fn reports(logs: &aws_sdk_cloudwatchlogs::Client, function: &str) -> Vec<Report> {
    let field = |line: &str, name: &str| {
        line.split('\t')
            .find_map(|f| f.trim().strip_prefix(name))
            .and_then(|v| v.trim_end_matches(" ms").trim_end_matches(" MB").parse().ok())
    };
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = logs
            .filter_log_events()
            .log_group_name(format!("/aws/lambda/{function}"))
            .filter_pattern("REPORT")
            .set_next_token(token)
            .send()
            .await
            .expect("filter log events");
        for e in page.events() {
            let line = e.message().unwrap_or_default();
            if let Some(duration_ms) = field(line, "Duration: ") {
                out.push(Report {
                    duration_ms,
                    init_ms: field(line, "Init Duration: "),
                    memory_mb: field(line, "Max Memory Used: ").unwrap_or_default(),
                });
            }
        }
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return out;
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The benchmarks take the machine: one at a time, even when both are selected.
static ONE_BENCHMARK_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The issue's benchmark with the Python resize function (Pillow). See [`benchmark`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: a minute or two"]
async fn benchmark_a_thousand_uploads_python() {
    benchmark(Resize::Python).await;
}

/// The issue's benchmark with the Rust resize function (the image crate). See [`benchmark`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: a minute or two"]
async fn benchmark_a_thousand_uploads_rust() {
    benchmark(Resize::Rust).await;
}

/// The issue's benchmark: 1,000 uploads (`NIMBUS_BENCH_IMAGES` to change), reported as images/s
/// from the first upload to the last metadata item, and the resize function's cold/warm split.
/// The server is the test build's `nimbus` unless `NIMBUS_BIN` names another (a release build,
/// for figures worth writing down):
/// `NIMBUS_BIN=$CARGO_TARGET_DIR/release/nimbus cargo test -p server --test it --
/// image_pipeline::benchmark --ignored --nocapture`
async fn benchmark(resize: Resize) {
    if !pypi_reachable() {
        eprintln!("SKIPPED: pypi.org is unreachable, and `nimbus deploy` needs it to pip install Pillow");
        return;
    }
    let _machine = ONE_BENCHMARK_AT_A_TIME.lock().await;
    let n: usize = std::env::var("NIMBUS_BENCH_IMAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let server = match std::env::var_os("NIMBUS_BIN") {
        Some(bin) => Server::ephemeral_from(Path::new(&bin)),
        None => Server::ephemeral(),
    };
    let out = deploy(&server, "bench", resize, &[]).await;
    let bucket = &out["UploadBucket"];
    let (table, function) = (&out["ImagesTable"], &out["ResizeFunction"]);

    // Phone-photo-like inputs would make this a Pillow benchmark; these are small camera-sized
    // images (1280×960 JPEG, 1024×768 PNG/WebP, 640×480 GIF) so the pipeline's own cost shows.
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("jpg", encode(DynamicImage::ImageRgb8(picture(1280, 960)), ImageFormat::Jpeg)),
        ("png", encode(DynamicImage::ImageRgb8(picture(1024, 768)), ImageFormat::Png)),
        ("webp", encode(DynamicImage::ImageRgb8(picture(1024, 768)), ImageFormat::WebP)),
        (
            "gif",
            encode(
                DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(picture(640, 480)).to_rgba8()),
                ImageFormat::Gif,
            ),
        ),
    ];
    let s3 = server.s3("test", "us-east-1").await;
    let ddb = server.dynamodb("test", "us-east-1").await;
    let started = Instant::now();
    let mut uploads = tokio::task::JoinSet::new();
    for i in 0..n {
        let (ext, bytes) = &inputs[i % inputs.len()];
        let put = s3.put_object().bucket(bucket).key(format!("img-{i:05}.{ext}")).body(bytes.clone().into());
        uploads.spawn(put.send());
        if uploads.len() >= 16 {
            uploads.join_next().await.expect("a task").expect("join").expect("upload");
        }
    }
    while let Some(r) = uploads.join_next().await {
        r.expect("join").expect("upload");
    }
    let uploaded = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let mut count = 0;
        let mut start = None;
        loop {
            let page = ddb
                .scan()
                .table_name(table)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            count += page.count();
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        if count as usize >= n {
            break;
        }
        assert!(Instant::now() < deadline, "only {count} of {n} images processed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let failed = ddb
        .scan()
        .table_name(table)
        .filter_expression("#s <> :ok")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":ok", AttributeValue::S("processed".into()))
        .send()
        .await
        .expect("scan");
    assert_eq!(failed.count(), 0, "{:?}", failed.items());

    // REPORT lines reach the log group a moment after the item is written: read until their
    // number stops growing.
    let logs = server.logs("test", "us-east-1").await;
    let mut r = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = reports(&logs, function).await;
        if !now.is_empty() && now.len() == r.len() {
            break;
        }
        r = now;
    }
    let cold: Vec<&Report> = r.iter().filter(|x| x.init_ms.is_some()).collect();
    let warm: Vec<&Report> = r.iter().filter(|x| x.init_ms.is_none()).collect();
    eprintln!(
        "BENCH image-pipeline ({resize:?}): {n} images in {:.1} s (uploads {:.1} s): {:.1} images/s; resize invokes: {} ({} cold: init median {:.0} ms, duration median {:.0} ms; {} warm: duration median {:.0} ms); max memory used median {:.0} MB",
        elapsed.as_secs_f64(),
        uploaded.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        r.len(),
        cold.len(),
        median(cold.iter().filter_map(|x| x.init_ms).collect()),
        median(cold.iter().map(|x| x.duration_ms).collect()),
        warm.len(),
        median(warm.iter().map(|x| x.duration_ms).collect()),
        median(r.iter().map(|x| x.memory_mb).collect()),
    );
}
