//! The pipeline end to end inside one process, with protocol fixtures standing in for services
//! that do not exist yet: each fixture decodes its input exactly as a real service of its
//! protocol will (target, JSON body, route templates, XML body), so malformed requests in every
//! protocol are shown to come back in that protocol's error shape.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::{BodyExt, Full};
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response, error_response};

use crate::{Credentials, Gateway, SigV4Mode};

/// An awsJson service with one operation, `Echo`, whose `Name` member is required.
struct JsonFixture {
    name: &'static str,
    protocol: Protocol,
    prefix: &'static str,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EchoInput {
    name: String,
    #[allow(dead_code)]
    count: Option<u32>,
}

impl AwsService for JsonFixture {
    fn signing_name(&self) -> &'static str {
        self.name
    }
    fn protocol(&self) -> Protocol {
        self.protocol
    }
    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let result = protocol::json::target(req.headers(), self.prefix).and_then(|op| match op {
                "Echo" => protocol::json::decode::<EchoInput>(req.body(), &["Name"]),
                other => Err(protocol::ProtocolError::UnknownOperation(other.to_owned())),
            });
            match result {
                Ok(input) => {
                    protocol::json::response(self.protocol, &ctx, &serde_json::json!({ "Name": input.name }))
                }
                Err(e) => error_response(self.protocol, &ctx, &e.default_wire(self.protocol)),
            }
        })
    }
}

/// A rest protocol service with one route, `PUT /things/{Name}`, taking a JSON or XML body.
struct RestFixture {
    name: &'static str,
    protocol: Protocol,
}

impl AwsService for RestFixture {
    fn signing_name(&self) -> &'static str {
        self.name
    }
    fn protocol(&self) -> Protocol {
        self.protocol
    }
    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move {
            let route = protocol::rest::Route::new(Method::PUT, "/2015-03-31/things/{Name}");
            let err = if route.matches(req.method(), req.uri().path()).is_none() {
                protocol::ProtocolError::UnknownOperation(req.uri().path().to_owned())
            } else {
                let decoded = match self.protocol {
                    Protocol::RestXml => protocol::xml::check_well_formed(req.body()),
                    _ => protocol::json::object(req.body()).map(drop),
                };
                match decoded {
                    Ok(()) => {
                        return protocol::rest::json_response(StatusCode::OK, &serde_json::json!({}), "");
                    }
                    Err(e) => e,
                }
            };
            error_response(self.protocol, &ctx, &err.default_wire(self.protocol))
        })
    }
}

/// A service that panics, to show a bug costs one request, not the server.
struct Panics;

impl AwsService for Panics {
    fn signing_name(&self) -> &'static str {
        "sns"
    }
    fn protocol(&self) -> Protocol {
        Protocol::Query
    }
    #[allow(clippy::panic)]
    fn call(&self, _ctx: RequestContext, _req: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move { panic!("fixture bug") })
    }
}

fn gateway() -> Gateway {
    Gateway::builder()
        .version("test")
        .service(Arc::new(JsonFixture {
            name: "dynamodb",
            protocol: Protocol::AwsJson1_0,
            prefix: "DynamoDB_20120810",
        }))
        .service(Arc::new(JsonFixture {
            name: "events",
            protocol: Protocol::AwsJson1_1,
            prefix: "AWSEvents",
        }))
        .service(Arc::new(RestFixture { name: "lambda", protocol: Protocol::RestJson }))
        .service(Arc::new(RestFixture { name: "s3", protocol: Protocol::RestXml }))
        .service(Arc::new(Panics))
        .build()
}

struct Answer {
    status: StatusCode,
    headers: http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn send(g: &Gateway, req: http::Request<Full<Bytes>>) -> Answer {
    let resp = g.handle(req).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.expect("full body").to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

fn json_req(target: &str, content_type: &str, body: &'static str) -> http::Request<Full<Bytes>> {
    http::Request::post("/")
        .header("x-amz-target", target)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request")
}

#[tokio::test]
async fn aws_json_1_0_malformed_and_unknown() {
    let g = gateway();
    let ct = "application/x-amz-json-1.0";
    let ok = send(&g, json_req("DynamoDB_20120810.Echo", ct, r#"{"Name":"x"}"#)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["Name"], "x");

    let cases = [
        ("DynamoDB_20120810.Echo", "{", "SerializationException"),
        ("DynamoDB_20120810.Echo", r#"{"Name":5}"#, "SerializationException"),
        ("DynamoDB_20120810.Echo", r#"[1]"#, "SerializationException"),
        ("DynamoDB_20120810.Echo", r#"{"Count":1}"#, "ValidationException"),
        ("DynamoDB_20120810.Nope", "{}", "UnknownOperationException"),
    ];
    for (target, body, code) in cases {
        let a = send(&g, json_req(target, ct, body)).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{target} {body}");
        assert_eq!(a.headers["content-type"], ct);
        assert!(a.headers.contains_key("x-amzn-requestid"));
        assert_eq!(a.json()["__type"], code, "{target} {body}");
    }
    let missing = send(&g, json_req("DynamoDB_20120810.Echo", ct, "{}")).await;
    assert_eq!(
        missing.json()["message"],
        "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    );
}

#[tokio::test]
async fn unknown_target_gets_a_json_answer() {
    let g = gateway();
    let a =
        send(&g, json_req("AWSStepFunctions.ListStateMachines", "application/x-amz-json-1.0", "{}")).await;
    assert_eq!(a.status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(a.json()["__type"], "NotImplemented");
    assert!(a.headers.contains_key("x-amzn-requestid"));
}

#[tokio::test]
async fn aws_json_1_1_malformed() {
    let g = gateway();
    let a = send(&g, json_req("AWSEvents.Echo", "application/x-amz-json-1.1", "\u{1}")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(a.json()["__type"], "SerializationException");
}

fn put(path: &str, body: &'static str) -> http::Request<Full<Bytes>> {
    http::Request::put(path)
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/SERVICE/aws4_request, SignedHeaders=host, Signature=00")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("request")
}

fn with_scope(mut req: http::Request<Full<Bytes>>, service: &str) -> http::Request<Full<Bytes>> {
    let auth = req.headers()["authorization"].to_str().expect("ascii").replace("SERVICE", service);
    req.headers_mut().insert("authorization", auth.parse().expect("header"));
    req
}

#[tokio::test]
async fn rest_json_malformed_and_unknown() {
    let g = gateway();
    let a = send(&g, with_scope(put("/2015-03-31/things/t", "{oops"), "lambda")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.headers["x-amzn-errortype"], "SerializationException");
    assert_eq!(a.json()["Type"], "User");
    let a = send(&g, with_scope(put("/2015-03-31/nothing", "{}"), "lambda")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.headers["x-amzn-errortype"], "UnknownOperationException");
}

#[tokio::test]
async fn rest_xml_malformed() {
    let g = gateway();
    let a = send(&g, with_scope(put("/2015-03-31/things/t", "<a><b></a>"), "s3")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.headers.contains_key("x-amz-request-id"));
    assert!(a.body.contains("<Code>MalformedXML</Code>"), "{}", a.body);
}

#[tokio::test]
async fn a_panicking_service_costs_one_request() {
    let g = gateway();
    let req = || {
        http::Request::post("/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from_static(b"Action=Publish&Version=2010-03-31")))
            .expect("request")
    };
    for _ in 0..2 {
        let a = send(&g, req()).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(a.body.contains("<Code>InternalFailure</Code>"), "{}", a.body);
    }
}

#[tokio::test]
async fn presigned_scope_selects_tenant_and_enforcement_rejects_bad_signatures() {
    let mut creds = Credentials::new();
    creds.insert("AKID", "secret");
    let g = Gateway::builder()
        .sigv4(SigV4Mode::Enforce, creds)
        .service(Arc::new(JsonFixture {
            name: "dynamodb",
            protocol: Protocol::AwsJson1_0,
            prefix: "DynamoDB_20120810",
        }))
        .build();
    let mut req = json_req("DynamoDB_20120810.Echo", "application/x-amz-json-1.0", r#"{"Name":"x"}"#);
    req.headers_mut().insert("host", "localhost".parse().expect("header"));
    req.headers_mut().insert("x-amz-date", "20260101T000000Z".parse().expect("header"));
    req.headers_mut().insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .expect("header"),
    );
    let a = send(&g, req).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // A 2026-01-01 signature is far outside the 15-minute window: the clock is checked first.
    assert_eq!(a.json()["__type"], "InvalidSignatureException");
    assert!(a.json()["message"].as_str().is_some_and(|m| m.starts_with("Signature expired")), "{}", a.body);
}

#[test]
fn oversized_lambda_uploads_are_refused_in_lambdas_words() {
    let lambda = crate::route::spec("lambda").expect("lambda is routed");
    let head = crate::route::Destination::Service { spec: lambda, protocol: Protocol::RestJson };
    let err = crate::gateway::too_large(head, 70_167_211, "/2015-03-31/functions");
    assert_eq!(err.code, "RequestEntityTooLargeException");
    assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err.message, "Request must be smaller than 70167211 bytes for the CreateFunction operation");
    let err = crate::gateway::too_large(head, 70_167_211, "/2015-03-31/functions/f/code");
    assert!(err.message.ends_with("for the UpdateFunctionCode operation"));
    let iam = crate::route::spec("iam").expect("iam is routed");
    let err = crate::gateway::too_large(
        crate::route::Destination::Service { spec: iam, protocol: Protocol::Query },
        16 << 20,
        "/",
    );
    assert_eq!(err.code, "RequestEntityTooLarge");
}

#[test]
fn function_url_hosts_go_to_lambdas_data_plane() {
    use crate::route::{Destination, route_head};
    let route = |host: &str| {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, http::HeaderValue::from_str(host).expect("host"));
        route_head(&Method::GET, &"/any/path?x=1".parse().expect("uri"), &headers, None)
    };
    let lambda = crate::route::spec("lambda").expect("lambda");
    assert_eq!(
        route("abcdef0123.lambda-url.eu-west-1.localhost:4566"),
        Destination::DataPlane { spec: lambda }
    );
    assert_eq!(route("ABCDEF0123.Lambda-URL.us-east-1.LOCALHOST"), Destination::DataPlane { spec: lambda });
    assert!(!matches!(route("lambda-url.us-east-1.localhost"), Destination::DataPlane { .. }));
    assert!(!matches!(route("127.0.0.1:4566"), Destination::DataPlane { .. }));
    assert!(!matches!(route("x.lambda-url.us-east-1.example.com"), Destination::DataPlane { .. }));
}

/// A streaming S3 stand-in: counts the body's bytes as they arrive (a body over the buffered
/// services' limit is fine), echoes the tenant, and panics on `/panic`.
struct StreamFixture;

impl protocol::StreamingService for StreamFixture {
    fn signing_name(&self) -> &'static str {
        "s3"
    }
    fn call(
        &self,
        ctx: RequestContext,
        req: protocol::StreamRequest,
    ) -> BoxFuture<'static, protocol::StreamResponse> {
        Box::pin(async move {
            assert_ne!(req.uri().path(), "/panic", "a bug in a streaming service");
            let mut body = req.into_body();
            let mut n = 0usize;
            while let Some(frame) = body.frame().await {
                n += frame.expect("frame").into_data().map_or(0, |d| d.len());
            }
            let text = format!("{} {n}", ctx.scope.account);
            let body: protocol::StreamBody =
                Box::pin(Full::new(Bytes::from(text)).map_err(|never| match never {}));
            http::Response::new(body)
        })
    }
}

#[tokio::test]
async fn streaming_services_get_the_body_unread_with_request_id_and_panic_isolation() {
    let g = Gateway::builder().version("test").streaming_service(Arc::new(StreamFixture)).build();
    let big = Bytes::from(vec![7u8; 17 << 20]);
    let req = http::Request::put("/bucket/key")
        .header("host", "bucket.s3.localhost:4566")
        .body(Full::new(big))
        .expect("request");
    let a = send(&g, req).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, format!("000000000000 {}", 17 << 20));
    assert!(a.headers.contains_key("x-amz-request-id"));
    for _ in 0..2 {
        let req = http::Request::get("/panic").body(Full::new(Bytes::new())).expect("request");
        let a = send(&g, req).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(a.body.contains("<Code>InternalFailure</Code>"), "{}", a.body);
        assert!(a.headers.contains_key("x-amz-request-id"));
    }
}

/// Answers with the path it was given, to show what the console receives.
struct ConsoleFixture;

impl AwsService for ConsoleFixture {
    fn signing_name(&self) -> &'static str {
        "console"
    }
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }
    fn call(&self, _ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        let body = serde_json::json!({ "path": req.uri().to_string() });
        Box::pin(async move { protocol::rest::json_response(StatusCode::OK, &body, "") })
    }
}

#[tokio::test]
async fn nimbus_paths_go_to_the_console_except_health() {
    let get = |uri: &str| http::Request::get(uri).body(Full::new(Bytes::new())).expect("request");
    // Without a console, they are not found.
    let a = send(&gateway(), get("/_nimbus/api/graph")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let g = Gateway::builder().version("test").console(Arc::new(ConsoleFixture)).build();
    let a = send(&g, get("/_nimbus/api/graph?region=eu-west-1")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json()["path"], "/_nimbus/api/graph?region=eu-west-1");
    assert_eq!(send(&g, get("/_nimbus")).await.json()["path"], "/_nimbus");
    let health = send(&g, get("/_nimbus/health")).await;
    assert_eq!(health.json()["version"], "test");
    assert_eq!(send(&g, get("/_localstack/anything")).await.status, StatusCode::NOT_FOUND);
}

/// A data plane that claims one host name, and answers with the host it was given.
struct HostFixture;

impl AwsService for HostFixture {
    fn signing_name(&self) -> &'static str {
        "apigateway"
    }
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }
    fn call(&self, _ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned();
        Box::pin(async move {
            protocol::rest::json_response(StatusCode::OK, &serde_json::json!({ "host": host }), "")
        })
    }
    fn claims_host(&self, host: &str) -> bool {
        host == "api.example.test"
    }
}

#[tokio::test]
async fn claimed_hosts_go_to_their_data_plane_unsigned() {
    let g = Gateway::builder()
        .version("test")
        .service(Arc::new(HostFixture))
        .service(Arc::new(RestFixture { name: "s3", protocol: Protocol::RestXml }))
        .sigv4(SigV4Mode::Enforce, Credentials::new())
        .build();
    let req = |host: &str| {
        http::Request::get("/v1/pets").header("host", host).body(Full::new(Bytes::new())).expect("request")
    };
    let a = send(&g, req("API.example.test:4566")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.json()["host"], "API.example.test:4566");
    // Other hosts fall through to the usual routing (here S3, refused unsigned).
    let a = send(&g, req("other.example.test")).await;
    assert_ne!(a.status, StatusCode::OK, "{}", a.body);
}

/// A buffered rest-json service that answers with a body it writes after answering: its first
/// piece at once, the rest when the test says so.
struct LateBodyFixture {
    rest: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = protocol::BoxError;
    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, protocol::BoxError>>> {
        self.get_mut().0.poll_recv(cx).map(|d| d.map(|d| Ok(hyper::body::Frame::data(d))))
    }
}

impl AwsService for LateBodyFixture {
    fn signing_name(&self) -> &'static str {
        "lambda"
    }
    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }
    fn call(&self, _ctx: RequestContext, _req: Request) -> BoxFuture<'_, Response> {
        Box::pin(async { protocol::rest::json_response(StatusCode::OK, &serde_json::json!({}), "") })
    }
    fn answer(&self, _ctx: RequestContext, _req: Request) -> BoxFuture<'_, protocol::Answer> {
        let rest = self.rest.lock().expect("lock").take();
        Box::pin(async move {
            let (tx, rx) = tokio::sync::mpsc::channel(1);
            tokio::spawn(async move {
                let _ = tx.send(Bytes::from_static(b"first ")).await;
                if let Some(rest) = rest {
                    let _ = rest.await;
                }
                let _ = tx.send(Bytes::from_static(b"second")).await;
            });
            let body: protocol::StreamBody = Box::pin(ChannelBody(rx));
            protocol::Answer::Streamed(http::Response::new(body))
        })
    }
}

#[tokio::test]
async fn a_buffered_service_can_answer_with_a_body_it_is_still_writing() {
    let (release, rest) = tokio::sync::oneshot::channel();
    let g = Gateway::builder()
        .version("test")
        .service(Arc::new(LateBodyFixture { rest: std::sync::Mutex::new(Some(rest)) }))
        .build();
    let req = http::Request::post("/2021-11-15/functions/f/response-streaming-invocations")
        .body(Full::new(Bytes::from_static(b"{}")))
        .expect("request");
    // The reply comes while the body's second piece does not exist yet.
    let resp = tokio::time::timeout(std::time::Duration::from_secs(5), g.handle(req)).await.expect("reply");
    assert!(resp.headers().contains_key("x-amzn-requestid"));
    assert!(!resp.headers().contains_key(http::header::CONTENT_LENGTH), "sent chunked");
    let mut body = resp.into_body();
    let first = body.frame().await.expect("frame").expect("data").into_data().expect("data");
    assert_eq!(&first[..], b"first ");
    release.send(()).expect("release");
    let rest = body.collect().await.expect("rest").to_bytes();
    assert_eq!(&rest[..], b"second");
}
