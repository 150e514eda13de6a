//! Lambda beyond the basics: code and layer contents taken from S3 objects (through the
//! `ObjectReader` port), InvokeWithResponseStream's event stream for buffered and streaming
//! functions, and layer version permissions, all through the official SDKs.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    FunctionCode, InvokeWithResponseStreamResponseEvent, LayerVersionContentInput, LogType, Runtime,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::harness::Server;
use crate::lambda::{PY_ECHO, ROLE, payload_json, zip};

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .expect("put object");
}

async fn create_from_s3(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> Result<
    aws_sdk_lambda::operation::create_function::CreateFunctionOutput,
    aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::create_function::CreateFunctionError>,
> {
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .code(
            FunctionCode::builder()
                .s3_bucket(bucket)
                .s3_key(key)
                .set_s3_object_version(version.map(str::to_owned))
                .build(),
        )
        .send()
        .await
}

#[tokio::test]
async fn code_and_layer_contents_come_from_s3() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("artifacts").send().await.expect("bucket");
    let package = zip(&[("app.py", PY_ECHO)]);
    put(&s3, "artifacts", "echo/v1.zip", package.clone()).await;

    let created = create_from_s3(&lambda, "from-s3", "artifacts", "echo/v1.zip", None).await.expect("create");
    assert_eq!(created.code_size(), package.len() as i64);
    let out = lambda.invoke().function_name("from-s3").payload(Blob::new(r#"{"n":7}"#)).send().await;
    let body = payload_json(out.expect("invoke").payload());
    assert_eq!(body["event"], json!({"n": 7}));
    assert_eq!(body["function_name"], "from-s3");

    // UpdateFunctionCode from another object replaces the running code.
    let v2 = "def handler(e, c):\n    return {'v': 2}\n";
    put(&s3, "artifacts", "echo/v2.zip", zip(&[("app.py", v2)])).await;
    lambda
        .update_function_code()
        .function_name("from-s3")
        .s3_bucket("artifacts")
        .s3_key("echo/v2.zip")
        .s3_object_version("null")
        .send()
        .await
        .expect("update code from S3");
    let out = lambda.invoke().function_name("from-s3").payload(Blob::new("{}")).send().await;
    assert_eq!(payload_json(out.expect("invoke").payload()), json!({"v": 2}));

    // A layer published from S3 is on the Python path of a function that lists it.
    put(
        &s3,
        "artifacts",
        "layers/greet.zip",
        zip(&[("python/greet.py", "def greet(n):\n    return 'hey ' + n\n")]),
    )
    .await;
    let layer = lambda
        .publish_layer_version()
        .layer_name("greet")
        .content(
            LayerVersionContentInput::builder().s3_bucket("artifacts").s3_key("layers/greet.zip").build(),
        )
        .send()
        .await
        .expect("publish layer from S3");
    let layer_arn = layer.layer_version_arn().expect("arn").to_owned();
    let source = "import greet\n\ndef handler(e, c):\n    return greet.greet(e['name'])\n";
    lambda
        .create_function()
        .function_name("with-s3-layer")
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .layers(&layer_arn)
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("app.py", source)]))).build())
        .send()
        .await
        .expect("create with layer");
    let out =
        lambda.invoke().function_name("with-s3-layer").payload(Blob::new(r#"{"name":"bo"}"#)).send().await;
    assert_eq!(payload_json(out.expect("invoke").payload()), json!("hey bo"));

    // S3's refusals, in Lambda's words.
    let refused = |e: aws_sdk_lambda::error::SdkError<_>| {
        let e: aws_sdk_lambda::operation::create_function::CreateFunctionError = e.into_service_error();
        assert!(e.is_invalid_parameter_value_exception(), "{e:?}");
        e.meta().message().unwrap_or_default().to_owned()
    };
    let e = create_from_s3(&lambda, "nope", "artifacts", "missing.zip", None).await.expect_err("no such key");
    assert_eq!(
        refused(e),
        "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."
    );
    let e =
        create_from_s3(&lambda, "nope", "no-such-bucket", "a.zip", None).await.expect_err("no such bucket");
    assert_eq!(
        refused(e),
        "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist"
    );
    let e = create_from_s3(&lambda, "nope", "artifacts", "echo/v1.zip", Some("3HL4kqtJlcpXroDTDmJ"))
        .await
        .expect_err("not a version id");
    // S3 refuses a version id it could never have issued before looking for it.
    assert_eq!(
        refused(e),
        "Error occurred while GetObject. S3 Error Code: InvalidArgument. S3 Error Message: Invalid version id specified"
    );
    let s3_eu = server.s3("test", "eu-west-1").await;
    s3_eu
        .create_bucket()
        .bucket("artifacts-eu")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("eu-west-1"))
                .build(),
        )
        .send()
        .await
        .expect("bucket in eu-west-1");
    put(&s3_eu, "artifacts-eu", "echo.zip", package.clone()).await;
    let e =
        create_from_s3(&lambda, "nope", "artifacts-eu", "echo.zip", None).await.expect_err("other region");
    assert_eq!(
        refused(e),
        "Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: The bucket is in this region: eu-west-1. Please use this region to retry the request"
    );
    put(&s3, "artifacts", "not-a.zip", b"plain text".to_vec()).await;
    let e = create_from_s3(&lambda, "nope", "artifacts", "not-a.zip", None).await.expect_err("not a zip");
    assert_eq!(
        refused(e),
        "Could not unzip uploaded file. Please check your file, then try to upload again."
    );
    let e =
        create_from_s3(&lambda, "nope", "s3://artifacts", "echo/v1.zip", None).await.expect_err("bad bucket");
    let e = e.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationException"), "{e:?}");
    assert!(e.meta().message().unwrap_or_default().contains("at 'code.s3Bucket'"), "{e:?}");
    let listed = lambda.list_functions().send().await.expect("list");
    assert_eq!(listed.functions().len(), 2, "no refused create left a function behind");
}

/// What an InvokeWithResponseStream answered: the concatenated chunks, how many there were,
/// and the completion event's error code, details and decoded log tail.
struct Streamed {
    payload: Vec<u8>,
    chunks: usize,
    error_code: Option<String>,
    error_details: Option<String>,
    log: Option<String>,
}

async fn invoke_streaming(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    payload: &str,
    tail: bool,
) -> Streamed {
    let mut req = lambda.invoke_with_response_stream().function_name(name).payload(Blob::new(payload));
    if tail {
        req = req.log_type(LogType::Tail);
    }
    let mut out = req.send().await.expect("invoke with response stream");
    let mut s = Streamed { payload: Vec::new(), chunks: 0, error_code: None, error_details: None, log: None };
    let mut completed = false;
    while let Some(event) = out.event_stream.recv().await.expect("event") {
        match event {
            InvokeWithResponseStreamResponseEvent::PayloadChunk(c) => {
                assert!(!completed, "no chunk after InvokeComplete");
                s.chunks += 1;
                s.payload.extend_from_slice(c.payload().map(|b| b.as_ref()).unwrap_or_default());
            }
            InvokeWithResponseStreamResponseEvent::InvokeComplete(c) => {
                completed = true;
                s.error_code = c.error_code().map(str::to_owned);
                s.error_details = c.error_details().map(str::to_owned);
                s.log = c.log_result().map(|l| {
                    let raw = base64::engine::general_purpose::STANDARD.decode(l).expect("base64 log");
                    String::from_utf8_lossy(&raw).into_owned()
                });
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert!(completed, "the stream ends with InvokeComplete");
    s
}

#[tokio::test]
async fn invoke_with_response_stream_sends_chunks_then_completion() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    crate::lambda::create_python(&lambda, "echo", PY_ECHO, &[("GREETING", "hi")]).await;

    let s = invoke_streaming(&lambda, "echo", r#"{"n": 3}"#, true).await;
    let body: Value = serde_json::from_slice(&s.payload).expect("JSON payload");
    assert_eq!(body["event"], json!({"n": 3}));
    assert_eq!(body["greeting"], "hi");
    assert_eq!(s.error_code, None);
    let log = s.log.expect("log tail");
    let request_id = body["request_id"].as_str().expect("request id");
    assert!(log.contains(&format!("START RequestId: {request_id}")), "{log}");
    assert!(log.contains(&format!("REPORT RequestId: {request_id}")), "{log}");

    let failed = invoke_streaming(&lambda, "echo", r#"{"fail": true}"#, false).await;
    assert_eq!(failed.chunks, 0);
    assert_eq!(failed.error_code.as_deref(), Some("ValueError"));
    assert_eq!(failed.error_details.as_deref(), Some("asked to fail"));
    assert_eq!(failed.log, None, "no tail unless asked");

    // A Node handler wrapped in awslambda.streamifyResponse writes its response in pieces.
    let source = r#"
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType("text/plain");
  for (const part of event.parts) {
    responseStream.write(part);
  }
  responseStream.write(Buffer.alloc(100000, "z"));
  responseStream.end();
});
"#;
    lambda
        .create_function()
        .function_name("streamer")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("index.js", source)]))).build())
        .send()
        .await
        .expect("create node function");
    let s = invoke_streaming(&lambda, "streamer", r#"{"parts": ["a", "b", "c"]}"#, false).await;
    assert_eq!(s.error_code, None, "{:?}", s.error_details);
    assert_eq!(s.payload.len(), 3 + 100_000);
    assert!(s.payload.starts_with(b"abczzz"));
    assert!(s.chunks >= 2, "a large response comes in more than one chunk");

    // What a streaming handler wrote before it threw comes first, then the error.
    let failing = r#"
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write("partial ");
  await new Promise((r) => setTimeout(r, 20));
  throw new Error("broke midway");
});
"#;
    lambda
        .create_function()
        .function_name("breaks")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("index.js", failing)]))).build())
        .send()
        .await
        .expect("create failing streamer");
    let s = invoke_streaming(&lambda, "breaks", "{}", false).await;
    assert_eq!(s.payload, b"partial ");
    assert_eq!(s.error_code.as_deref(), Some("Error"));
    assert_eq!(s.error_details.as_deref(), Some("broke midway"));

    let e = lambda
        .invoke_with_response_stream()
        .function_name("missing")
        .send()
        .await
        .expect_err("no such function");
    let e = e.into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some("Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing")
    );
}

#[tokio::test]
async fn layer_version_permissions() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    lambda
        .publish_layer_version()
        .layer_name("shared")
        .content(
            LayerVersionContentInput::builder()
                .zip_file(Blob::new(zip(&[("python/x.py", "X = 1\n")])))
                .build(),
        )
        .send()
        .await
        .expect("publish");
    let version_arn = "arn:aws:lambda:us-east-1:000000000000:layer:shared:1";

    let e = lambda
        .get_layer_version_policy()
        .layer_name("shared")
        .version_number(1)
        .send()
        .await
        .expect_err("no policy yet");
    let e = e.into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(e.meta().message(), Some("No policy is associated with the given resource."));

    let added = lambda
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("xaccount")
        .action("lambda:GetLayerVersion")
        .principal("210987654321")
        .send()
        .await
        .expect("add permission");
    let statement: Value = serde_json::from_str(added.statement().expect("statement")).expect("JSON");
    assert_eq!(
        statement,
        json!({
            "Sid": "xaccount",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
            "Action": "lambda:GetLayerVersion",
            "Resource": version_arn,
        })
    );
    let first_revision = added.revision_id().expect("revision").to_owned();

    let org = lambda
        .add_layer_version_permission()
        .layer_name(version_arn.trim_end_matches(":1"))
        .version_number(1)
        .statement_id("org")
        .action("lambda:GetLayerVersion")
        .principal("*")
        .organization_id("o-abcdef1234")
        .revision_id(&first_revision)
        .send()
        .await
        .expect("add an organization statement by layer ARN");
    let org_statement: Value = serde_json::from_str(org.statement().expect("statement")).expect("JSON");
    assert_eq!(org_statement["Principal"], "*");
    assert_eq!(org_statement["Condition"], json!({"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}));

    let policy = lambda.get_layer_version_policy().layer_name("shared").version_number(1).send().await;
    let policy = policy.expect("policy");
    let document: Value = serde_json::from_str(policy.policy().expect("policy")).expect("JSON");
    assert_eq!(document["Version"], "2012-10-17");
    let sids: Vec<&str> = document["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    assert_eq!(sids, ["xaccount", "org"]);
    assert_eq!(policy.revision_id(), org.revision_id());

    let add = |sid: &'static str, action: &'static str, principal: &'static str| {
        lambda
            .add_layer_version_permission()
            .layer_name("shared")
            .version_number(1)
            .statement_id(sid)
            .action(action)
            .principal(principal)
            .send()
    };
    let e = add("xaccount", "lambda:GetLayerVersion", "*").await.expect_err("duplicate").into_service_error();
    assert!(e.is_resource_conflict_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some(
            "The statement id (xaccount) provided already exists. Please provide a new statement id, or remove the existing statement."
        )
    );
    let e = add("other", "lambda:InvokeFunction", "*").await.expect_err("bad action").into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationException"));
    assert_eq!(
        e.meta().message(),
        Some(
            "1 validation error detected: Value 'lambda:InvokeFunction' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion"
        )
    );
    let e = add("other", "lambda:GetLayerVersion", "s3.amazonaws.com").await.expect_err("bad principal");
    assert_eq!(e.into_service_error().meta().code(), Some("ValidationException"));
    let e = lambda
        .add_layer_version_permission()
        .layer_name("shared")
        .version_number(9)
        .statement_id("s")
        .action("lambda:GetLayerVersion")
        .principal("*")
        .send()
        .await
        .expect_err("no such version")
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some("Layer version arn:aws:lambda:us-east-1:000000000000:layer:shared:9 does not exist.")
    );

    let e = lambda
        .remove_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("xaccount")
        .revision_id(&first_revision)
        .send()
        .await
        .expect_err("stale revision")
        .into_service_error();
    assert!(e.is_precondition_failed_exception(), "{e:?}");
    lambda
        .remove_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("xaccount")
        .send()
        .await
        .expect("remove");
    let e = lambda
        .remove_layer_version_permission()
        .layer_name("shared")
        .version_number(1)
        .statement_id("xaccount")
        .send()
        .await
        .expect_err("removed already")
        .into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(e.meta().message(), Some("Statement xaccount is not found in resource policy."));
    let policy = lambda.get_layer_version_policy().layer_name("shared").version_number(1).send().await;
    let document: Value =
        serde_json::from_str(policy.expect("policy").policy().expect("policy")).expect("JSON");
    assert_eq!(document["Statement"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn response_stream_urls_serve_a_streaming_functions_response() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let source = r#"
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.rawPath === "/raw") {
    responseStream.setContentType("text/csv");
    responseStream.write("a,b\n");
    responseStream.end("1,2\n");
    return;
  }
  const http = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { "content-type": "text/plain", "x-path": event.rawPath },
    cookies: ["k=v"],
  });
  http.write("hello ");
  http.end("world");
});
"#;
    lambda
        .create_function()
        .function_name("web-stream")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("index.js", source)]))).build())
        .send()
        .await
        .expect("create");
    let created = lambda
        .create_function_url_config()
        .function_name("web-stream")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .invoke_mode(aws_sdk_lambda::types::InvokeMode::ResponseStream)
        .send()
        .await
        .expect("create a RESPONSE_STREAM url");
    assert_eq!(created.invoke_mode(), Some(&aws_sdk_lambda::types::InvokeMode::ResponseStream));
    let url = created.function_url().to_owned();
    let host = url.trim_start_matches("http://").split(':').next().expect("host").to_owned();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let http = reqwest::Client::builder().resolve(&host, addr).build().expect("client");
    let resp = http.get(format!("{url}greet")).send().await.expect("url request");
    assert_eq!(resp.status().as_u16(), 201);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    assert_eq!(header(&resp, "x-path").as_deref(), Some("/greet"));
    assert_eq!(header(&resp, "content-type").as_deref(), Some("text/plain"));
    assert_eq!(header(&resp, "set-cookie").as_deref(), Some("k=v"));
    assert_eq!(resp.text().await.expect("body"), "hello world");

    let resp = http.get(format!("{url}raw")).send().await.expect("raw request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(header(&resp, "content-type").as_deref(), Some("text/csv"));
    assert_eq!(resp.text().await.expect("body"), "a,b\n1,2\n");
}

#[tokio::test]
async fn streamed_responses_arrive_while_the_function_runs() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let source = r#"
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  let out = responseStream;
  if (event.rawPath !== undefined) {
    out = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 200,
      headers: { "content-type": "text/plain" },
    });
  } else {
    responseStream.setContentType("text/plain");
  }
  out.write("first");
  await new Promise((r) => setTimeout(r, 500));
  out.write("second");
  out.end();
});
"#;
    lambda
        .create_function()
        .function_name("slow-stream")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("index.js", source)]))).build())
        .send()
        .await
        .expect("create");

    // InvokeWithResponseStream: the first PayloadChunk comes half a second before the end.
    let mut out = lambda
        .invoke_with_response_stream()
        .function_name("slow-stream")
        .send()
        .await
        .expect("invoke with response stream");
    let mut payload = Vec::new();
    let mut first_at = None;
    let mut completed_at = None;
    while let Some(event) = out.event_stream.recv().await.expect("event") {
        match event {
            InvokeWithResponseStreamResponseEvent::PayloadChunk(c) => {
                first_at.get_or_insert_with(std::time::Instant::now);
                payload.extend_from_slice(c.payload().map(|b| b.as_ref()).unwrap_or_default());
            }
            InvokeWithResponseStreamResponseEvent::InvokeComplete(c) => {
                assert_eq!(c.error_code(), None, "{:?}", c.error_details());
                completed_at = Some(std::time::Instant::now());
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(payload, b"firstsecond");
    let (first_at, completed_at) = (first_at.expect("a chunk"), completed_at.expect("InvokeComplete"));
    let lead = completed_at - first_at;
    assert!(
        lead >= std::time::Duration::from_millis(400),
        "the first chunk came only {lead:?} before the end"
    );

    // The same function behind a RESPONSE_STREAM URL: the body is read as it comes.
    let created = lambda
        .create_function_url_config()
        .function_name("slow-stream")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .invoke_mode(aws_sdk_lambda::types::InvokeMode::ResponseStream)
        .send()
        .await
        .expect("create a RESPONSE_STREAM url");
    let url = created.function_url().to_owned();
    let host = url.trim_start_matches("http://").split(':').next().expect("host").to_owned();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let http = reqwest::Client::builder().resolve(&host, addr).build().expect("client");
    let mut resp = http.get(format!("{url}slow")).send().await.expect("url request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("text/plain"));
    let mut body = Vec::new();
    let mut first_at = None;
    while let Some(chunk) = resp.chunk().await.expect("body chunk") {
        if !chunk.is_empty() {
            first_at.get_or_insert_with(std::time::Instant::now);
        }
        body.extend_from_slice(&chunk);
    }
    let lead = first_at.expect("a chunk").elapsed();
    assert_eq!(body, b"firstsecond");
    assert!(
        lead >= std::time::Duration::from_millis(400),
        "the first bytes came only {lead:?} before the end"
    );
}

#[tokio::test]
async fn streams_end_at_the_timeout_and_outlive_clients_that_leave() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let source = r#"
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType("text/plain");
  responseStream.write("begun");
  while (event.forever) {
    await new Promise((r) => setTimeout(r, 100));
    responseStream.write(".");
  }
  await new Promise((r) => setTimeout(r, 300));
  responseStream.write(Buffer.alloc(3 * 1024 * 1024, "x"));
  responseStream.end();
});
"#;
    lambda
        .create_function()
        .function_name("long-stream")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .timeout(1)
        .code(FunctionCode::builder().zip_file(Blob::new(zip(&[("index.js", source)]))).build())
        .send()
        .await
        .expect("create");
    lambda
        .put_function_concurrency()
        .function_name("long-stream")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .expect("reserve one");

    // Timed out mid-stream: what was written stays, InvokeComplete says why it ended.
    let s = invoke_streaming(&lambda, "long-stream", r#"{"forever": true}"#, false).await;
    assert!(s.payload.starts_with(b"begun."), "{:?}", String::from_utf8_lossy(&s.payload));
    assert_eq!(s.error_code.as_deref(), Some("Sandbox.Timedout"));
    assert!(s.error_details.as_deref().is_some_and(|d| d.contains("Task timed out after 1.00 seconds")));

    // A URL client that reads the first bytes and leaves: the function writes on into nothing,
    // ends on its own, and its environment and its one concurrency slot come back.
    let created = lambda
        .create_function_url_config()
        .function_name("long-stream")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .invoke_mode(aws_sdk_lambda::types::InvokeMode::ResponseStream)
        .send()
        .await
        .expect("create a RESPONSE_STREAM url");
    let url = created.function_url().to_owned();
    let host = url.trim_start_matches("http://").split(':').next().expect("host").to_owned();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("addr");
    let http = reqwest::Client::builder().resolve(&host, addr).build().expect("client");
    let mut resp = http.get(format!("{url}leave")).send().await.expect("url request");
    assert_eq!(resp.status().as_u16(), 200);
    let first = resp.chunk().await.expect("chunk").expect("first bytes");
    assert_eq!(&first[..], b"begun");
    drop(resp);
    drop(http);
    let started = std::time::Instant::now();
    let mut out = loop {
        let sent =
            lambda.invoke_with_response_stream().function_name("long-stream").log_type(LogType::Tail).send();
        match sent.await {
            Ok(out) => break out,
            Err(e) => {
                let e = e.into_service_error();
                assert!(e.is_too_many_requests_exception(), "{e:?}");
                assert!(started.elapsed() < std::time::Duration::from_secs(5), "the slot never came back");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    };
    let mut s = Streamed { payload: Vec::new(), chunks: 0, error_code: None, error_details: None, log: None };
    while let Some(event) = out.event_stream.recv().await.expect("event") {
        match event {
            InvokeWithResponseStreamResponseEvent::PayloadChunk(c) => {
                s.payload.extend_from_slice(c.payload().map(|b| b.as_ref()).unwrap_or_default());
            }
            InvokeWithResponseStreamResponseEvent::InvokeComplete(c) => {
                s.error_code = c.error_code().map(str::to_owned);
                s.error_details = c.error_details().map(str::to_owned);
                s.log = c.log_result().map(|l| {
                    let raw = base64::engine::general_purpose::STANDARD.decode(l).expect("base64 log");
                    String::from_utf8_lossy(&raw).into_owned()
                });
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    // A warm start: the environment the client left was not stuck until its timeout (which
    // would have thrown it away).
    let log = s.log.clone().expect("log tail");
    assert!(log.contains("REPORT RequestId") && !log.contains("Init Duration"), "{log}");
    assert_eq!(s.error_code, None, "{:?}", s.error_details);
    assert_eq!(s.payload.len(), 5 + 3 * 1024 * 1024);
}
