//! API Gateway through the Rust SDKs (`aws-sdk-apigatewayv2`, `aws-sdk-apigateway`) and plain
//! HTTP for the data plane: an HTTP API and a REST API in front of a real Python function that
//! echoes the event it was given, so the tests see exactly what a function would see.

use aws_sdk_apigateway::types::{IntegrationType as RestIntegrationType, Op, PatchOperation};
use aws_sdk_apigatewayv2::types::{Cors, IntegrationType, ProtocolType};
use serde_json::{Value, json};

use crate::harness::Server;
use crate::lambda::create_python;

/// Answers every proxy request with the event it received, as JSON.
pub(crate) const PY_EVENT_ECHO: &str = r#"
import json

def handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-echo": "1"},
        "multiValueHeaders": {"x-multi": ["a", "b"]} if event.get("version") != "2.0" else None,
        "body": json.dumps(event),
    } if event.get("version") != "2.0" else {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "x-echo": "1"},
        "cookies": ["session=abc"],
        "body": json.dumps(event),
    }
"#;

pub(crate) async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    send(reqwest::Method::GET, url, headers, "").await
}

pub(crate) async fn send(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().request(method, url).body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("data plane request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

pub(crate) fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn http_api_proxy_routes_send_the_2_0_event() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let function = create_python(&lambda, "apigw-echo-v2", PY_EVENT_ECHO, &[]).await;
    let function_arn = function.function_arn().expect("arn");
    let apigw = server.apigatewayv2().await;

    let api = apigw
        .create_api()
        .name("echo")
        .protocol_type(ProtocolType::Http)
        .cors_configuration(
            Cors::builder()
                .allow_origins("https://app.example")
                .allow_methods("GET")
                .allow_methods("POST")
                .build(),
        )
        .send()
        .await
        .expect("create api");
    let api_id = api.api_id().expect("api id");
    assert_eq!(api_id.len(), 10);
    let integration = apigw
        .create_integration()
        .api_id(api_id)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(function_arn)
        .payload_format_version("2.0")
        .send()
        .await
        .expect("create integration");
    let target = format!("integrations/{}", integration.integration_id().expect("id"));
    for key in ["ANY /{proxy+}", "GET /items/{id}"] {
        apigw
            .create_route()
            .api_id(api_id)
            .route_key(key)
            .target(&target)
            .send()
            .await
            .expect("create route");
    }
    let routes = apigw.get_routes().api_id(api_id).send().await.expect("get routes");
    assert_eq!(routes.items().len(), 2);
    apigw.create_stage().api_id(api_id).stage_name("$default").auto_deploy(true).send().await.expect("stage");

    let (status, headers, body) = get(
        &server.execute_api(api_id, "/items/42?a=1&a=2&b=x"),
        &[("cookie", "c1=v1; c2=v2"), ("x-custom", "yes"), ("origin", "https://app.example")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-echo"], "1");
    assert_eq!(headers["set-cookie"], "session=abc");
    assert_eq!(headers["access-control-allow-origin"], "https://app.example");
    let event = json_of(&body);
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /items/{id}");
    assert_eq!(event["rawPath"], "/items/42");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x");
    assert_eq!(event["queryStringParameters"], json!({"a": "1,2", "b": "x"}));
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["headers"]["x-custom"], "yes");
    assert_eq!(event["pathParameters"], json!({"id": "42"}));
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none());
    let rc = &event["requestContext"];
    assert_eq!(rc["apiId"], api_id);
    assert_eq!(rc["accountId"], "000000000000");
    assert_eq!(rc["stage"], "$default");
    assert_eq!(rc["routeKey"], "GET /items/{id}");
    assert_eq!(rc["http"]["method"], "GET");
    assert_eq!(rc["http"]["path"], "/items/42");
    assert_eq!(rc["http"]["sourceIp"], "127.0.0.1");
    assert!(rc["timeEpoch"].as_i64().is_some_and(|t| t > 0));

    // POST goes to the greedy ANY route; the body arrives as text.
    let url = server.execute_api(api_id, "/items/42/notes");
    let (status, _, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "application/json")], r#"{"n":1}"#).await;
    assert_eq!(status, 200, "{body}");
    let event = json_of(&body);
    assert_eq!(event["routeKey"], "ANY /{proxy+}");
    assert_eq!(event["pathParameters"], json!({"proxy": "items/42/notes"}));
    assert_eq!(event["body"], r#"{"n":1}"#);

    // The root matches no route: HTTP APIs answer 404 Not Found.
    let (status, _, body) = get(&server.execute_api(api_id, "/"), &[]).await;
    assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));
    // Preflight is answered from the CORS configuration, without the function.
    let (status, headers, _) = send(
        reqwest::Method::OPTIONS,
        &server.execute_api(api_id, "/items/1"),
        &[("origin", "https://app.example"), ("access-control-request-method", "POST")],
        "",
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-methods"], "GET,POST");

    // Quick create, reached through the Host form of the invoke URL.
    let quick = apigw
        .create_api()
        .name("quick")
        .protocol_type(ProtocolType::Http)
        .target(function_arn)
        .send()
        .await
        .expect("quick create");
    let quick_id = quick.api_id().expect("api id");
    let host = format!("{quick_id}.execute-api.localhost:{}", server.port);
    let (status, _, body) = get(&format!("{}/hello", server.endpoint()), &[("host", &host)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["routeKey"], "$default");

    let err = apigw.get_api().api_id("nope").send().await.expect_err("unknown api");
    let err = err.into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("Invalid API identifier specified 000000000000:nope"));
    apigw.delete_api().api_id(quick_id).send().await.expect("delete api");
    let apis = apigw.get_apis().send().await.expect("get apis");
    assert_eq!(apis.items().len(), 1);
}

/// An HTTP API `HTTP_PROXY` integration passes the request through to an `https://` backend
/// (trusted through `SSL_CERT_FILE`) and its answer back as it came; a backend that outlasts the
/// integration's timeout answers 503, one that is down 500.
#[tokio::test]
async fn http_api_http_proxy_to_an_https_backend() {
    use tokio::io::AsyncWriteExt;
    let server =
        Server::start_with_env(None, &["--ephemeral"], &[("SSL_CERT_FILE", outbound::fixtures::CA_FILE)]);
    let apigw = server.apigatewayv2().await;

    // The backend answers 201 with the request's head and body as its body.
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = backend.local_addr().expect("addr").port();
    let acceptor = outbound::fixtures::tls_acceptor();
    tokio::spawn(async move {
        while let Ok((socket, _)) = backend.accept().await {
            let Ok(mut tls) = acceptor.accept(socket).await else { continue };
            let Some((head, body)) = outbound::fixtures::read_request(&mut tls).await else { continue };
            let text = format!("{head}\n\n{body}");
            let answer = format!(
                "HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\nx-backend: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = tls.write_all(answer.as_bytes()).await;
            let _ = tls.shutdown().await;
        }
    });
    // A backend that takes connections and never answers, and a port where nothing listens.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_port = silent.local_addr().expect("addr").port();
    let down_port =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();

    let api = apigw.create_api().name("proxy").protocol_type(ProtocolType::Http).send().await.expect("api");
    let api_id = api.api_id().expect("api id");
    for (route, uri, timeout) in [
        ("ANY /{proxy+}", format!("https://localhost:{port}/base/{{proxy}}"), 5000),
        ("GET /slow", format!("http://127.0.0.1:{silent_port}/"), 200),
        ("GET /down", format!("http://127.0.0.1:{down_port}/"), 5000),
    ] {
        let integration = apigw
            .create_integration()
            .api_id(api_id)
            .integration_type(IntegrationType::HttpProxy)
            .integration_method("ANY")
            .integration_uri(uri)
            .payload_format_version("1.0")
            .timeout_in_millis(timeout)
            .send()
            .await
            .expect("create integration");
        let target = format!("integrations/{}", integration.integration_id().expect("id"));
        apigw.create_route().api_id(api_id).route_key(route).target(target).send().await.expect("route");
    }
    apigw.create_stage().api_id(api_id).stage_name("$default").auto_deploy(true).send().await.expect("stage");

    let (status, headers, body) =
        send(reqwest::Method::POST, &server.execute_api(api_id, "/a/b?x=1"), &[("x-custom", "yes")], "ping")
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["x-backend"], "yes");
    let lower = body.to_ascii_lowercase();
    assert!(lower.starts_with("post /base/a/b?x=1 http/1.1"), "{body}");
    assert!(lower.contains("x-custom: yes") && lower.contains(&format!("host: localhost:{port}")), "{body}");
    assert!(body.ends_with("\n\nping"), "{body}");

    let (status, _, body) = get(&server.execute_api(api_id, "/slow"), &[]).await;
    assert_eq!((status, json_of(&body)), (503, json!({"message": "Service Unavailable"})));
    let (status, _, body) = get(&server.execute_api(api_id, "/down"), &[]).await;
    assert_eq!((status, json_of(&body)), (500, json!({"message": "Internal Server Error"})));
    drop(silent);
}

#[tokio::test]
async fn http_api_parameter_mappings_change_the_request_and_the_answer() {
    let server =
        Server::start_with_env(None, &["--ephemeral"], &[("SSL_CERT_FILE", outbound::fixtures::CA_FILE)]);
    let apigw = server.apigatewayv2().await;
    let (port, got) = outbound::fixtures::recording_endpoint(|r| {
        if r.0.contains("/missing") {
            (404, r#"{"error":"gone"}"#.into())
        } else {
            (200, r#"{"count":3}"#.into())
        }
    })
    .await;
    let api = apigw.create_api().name("mapped").protocol_type(ProtocolType::Http).send().await.expect("api");
    let api_id = api.api_id().expect("api id");
    let map = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    // A reserved header cannot be mapped.
    let refused = apigw
        .create_integration()
        .api_id(api_id)
        .integration_type(IntegrationType::HttpProxy)
        .integration_method("GET")
        .integration_uri(format!("https://localhost:{port}/"))
        .set_request_parameters(Some(map(&[("overwrite:header.Authorization", "x")])))
        .send()
        .await
        .expect_err("a reserved header");
    let refused = refused.into_service_error();
    assert!(refused.is_bad_request_exception(), "{refused:?}");
    assert!(refused.to_string().contains("Invalid mapping expression specified"), "{refused}");

    let integration = apigw
        .create_integration()
        .api_id(api_id)
        .integration_type(IntegrationType::HttpProxy)
        .integration_method("GET")
        .integration_uri(format!("https://localhost:{port}/base"))
        .payload_format_version("1.0")
        .set_request_parameters(Some(map(&[
            ("append:header.x-tenant", "$request.header.x-user"),
            ("remove:header.x-drop", "''"),
            ("overwrite:header.x-request", "req-${context.requestId}"),
            ("overwrite:querystring.page", "$request.querystring.p"),
            ("append:querystring.env", "$stageVariables.env"),
            ("overwrite:path", "/v2/items/$request.path.id"),
        ])))
        .set_response_parameters(Some(
            [
                ("200".to_owned(), map(&[("append:header.x-count", "$response.body.count")])),
                ("404".to_owned(), map(&[("overwrite:statuscode", "204")])),
            ]
            .into_iter()
            .collect(),
        ))
        .send()
        .await
        .expect("create integration");
    let integration_id = integration.integration_id().expect("id");
    let stored =
        apigw.get_integration().api_id(api_id).integration_id(integration_id).send().await.expect("get");
    assert_eq!(stored.response_parameters().expect("response maps")["404"]["overwrite:statuscode"], "204");
    let target = format!("integrations/{integration_id}");
    apigw
        .create_route()
        .api_id(api_id)
        .route_key("GET /items/{id}")
        .target(target)
        .send()
        .await
        .expect("route");
    apigw
        .create_stage()
        .api_id(api_id)
        .stage_name("$default")
        .auto_deploy(true)
        .stage_variables("env", "dev")
        .send()
        .await
        .expect("stage");

    let url = server.execute_api(api_id, "/items/7?p=2");
    let (status, headers, body) = get(&url, &[("x-user", "ana"), ("x-drop", "1")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-count"], "3");
    let (head, _) = got.lock().expect("recorded").last().cloned().expect("a request reached the backend");
    let request_line = head.lines().next().unwrap_or_default();
    assert!(request_line.starts_with("GET /v2/items/7?"), "{head}");
    for param in ["p=2", "page=2", "env=dev"] {
        assert!(request_line.contains(param), "{param} in {request_line}");
    }
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("x-tenant: ana") && lower.contains("x-request: req-"), "{head}");
    assert!(!lower.contains("x-drop"), "{head}");

    let (status, _, _) = get(&server.execute_api(api_id, "/items/missing"), &[]).await;
    assert_eq!(status, 204, "the backend's 404 mapped to 204");
}

#[tokio::test]
async fn http_apis_import_and_reimport_openapi_documents() {
    let server =
        Server::start_with_env(None, &["--ephemeral"], &[("SSL_CERT_FILE", outbound::fixtures::CA_FILE)]);
    let apigw = server.apigatewayv2().await;
    let (port, got) = outbound::fixtures::recording_endpoint(|_| (200, "{}".into())).await;
    let doc = json!({
        "openapi": "3.0.1",
        "info": {"title": "imported", "version": "1.0"},
        "paths": {
            "/things/{id}": {"get": {"x-amazon-apigateway-integration": {
                "type": "http_proxy", "httpMethod": "GET", "uri": format!("https://localhost:{port}/things/{{id}}"),
                "payloadFormatVersion": "1.0",
                "requestParameters": {"overwrite:header.x-imported": "yes"}
            }}}
        }
    });
    let api = apigw.import_api().body(doc.to_string()).send().await.expect("import");
    let api_id = api.api_id().expect("api id");
    assert_eq!((api.name(), api.version()), (Some("imported"), Some("1.0")));
    let routes = apigw.get_routes().api_id(api_id).send().await.expect("routes");
    let keys: Vec<&str> = routes.items().iter().filter_map(|r| r.route_key()).collect();
    assert_eq!(keys, ["GET /things/{id}"]);
    apigw.create_stage().api_id(api_id).stage_name("$default").auto_deploy(true).send().await.expect("stage");
    let (status, _, body) = get(&server.execute_api(api_id, "/things/42"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let (head, _) = got.lock().expect("recorded").last().cloned().expect("the backend was called");
    assert!(head.starts_with("GET /things/42 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("x-imported: yes"), "{head}");

    // A reimport replaces the routes; the stage stays.
    let mut doc = doc;
    doc["info"]["title"] = json!("reimported");
    doc["paths"] = json!({"/other": {"post": {"x-amazon-apigateway-integration": {
        "type": "http_proxy", "httpMethod": "POST", "uri": format!("https://localhost:{port}/other")
    }}}});
    let again = apigw.reimport_api().api_id(api_id).body(doc.to_string()).send().await.expect("reimport");
    assert_eq!(again.name(), Some("reimported"));
    let routes = apigw.get_routes().api_id(api_id).send().await.expect("routes");
    let keys: Vec<&str> = routes.items().iter().filter_map(|r| r.route_key()).collect();
    assert_eq!(keys, ["POST /other"]);
    assert_eq!(get(&server.execute_api(api_id, "/things/42"), &[]).await.0, 404);

    let refused = apigw.import_api().body("{\"info\": {}}").send().await.expect_err("not OpenAPI");
    assert!(refused.into_service_error().is_bad_request_exception());

    // What ExportApi writes imports into the same routes, as JSON and as YAML.
    for output in ["JSON", "YAML"] {
        let exported = apigw
            .export_api()
            .api_id(api_id)
            .specification("OAS30")
            .output_type(output)
            .send()
            .await
            .expect("export");
        let text = String::from_utf8(exported.body().expect("a document").as_ref().to_vec()).expect("utf-8");
        assert!(text.contains("x-amazon-apigateway-integration"), "{text}");
        let copy = apigw.import_api().body(text).send().await.expect("the export imports");
        let routes = apigw.get_routes().api_id(copy.api_id().expect("id")).send().await.expect("routes");
        let keys: Vec<&str> = routes.items().iter().filter_map(|r| r.route_key()).collect();
        assert_eq!((output, keys), (output, vec!["POST /other"]));
    }
}

#[tokio::test]
async fn rest_api_stages_with_variables_send_the_v1_event() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let function = create_python(&lambda, "apigw-echo-v1", PY_EVENT_ECHO, &[]).await;
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
        function.function_arn().expect("arn")
    );
    let apigw = server.apigateway().await;

    let api = apigw.create_rest_api().name("shop").send().await.expect("create rest api");
    let api_id = api.id().expect("id");
    let root = api.root_resource_id().expect("root");
    let users = apigw.create_resource().rest_api_id(api_id).parent_id(root).path_part("users").send().await;
    let users = users.expect("users").id().expect("id").to_owned();
    let products =
        apigw.create_resource().rest_api_id(api_id).parent_id(root).path_part("products").send().await;
    let products = products.expect("products").id().expect("id").to_owned();
    let product =
        apigw.create_resource().rest_api_id(api_id).parent_id(&products).path_part("{id}").send().await;
    let product = product.expect("product").id().expect("id").to_owned();
    for (resource, methods) in [(&users, &["GET", "POST"][..]), (&product, &["GET", "PUT", "DELETE"][..])] {
        for method in methods {
            apigw
                .put_method()
                .rest_api_id(api_id)
                .resource_id(resource)
                .http_method(*method)
                .authorization_type("NONE")
                .send()
                .await
                .expect("put method");
            apigw
                .put_integration()
                .rest_api_id(api_id)
                .resource_id(resource)
                .http_method(*method)
                .r#type(RestIntegrationType::AwsProxy)
                .integration_http_method("POST")
                .uri(&uri)
                .send()
                .await
                .expect("put integration");
        }
    }
    let resources = apigw.get_resources().rest_api_id(api_id).send().await.expect("get resources");
    let mut paths: Vec<&str> = resources.items().iter().filter_map(|r| r.path()).collect();
    paths.sort_unstable();
    assert_eq!(paths, ["/", "/products", "/products/{id}", "/users"]);
    let method = apigw.get_method().rest_api_id(api_id).resource_id(&users).http_method("GET").send().await;
    assert_eq!(method.expect("get method").method_integration().and_then(|i| i.uri()), Some(uri.as_str()));

    apigw
        .create_deployment()
        .rest_api_id(api_id)
        .stage_name("dev")
        .variables("env", "dev")
        .send()
        .await
        .expect("deploy dev");
    let prod = apigw.create_deployment().rest_api_id(api_id).send().await.expect("deploy");
    apigw
        .create_stage()
        .rest_api_id(api_id)
        .stage_name("prod")
        .deployment_id(prod.id().expect("id"))
        .variables("env", "production")
        .send()
        .await
        .expect("create prod");
    let patched = apigw
        .update_stage()
        .rest_api_id(api_id)
        .stage_name("prod")
        .patch_operations(
            PatchOperation::builder().op(Op::Replace).path("/variables/tier").value("gold").build(),
        )
        .send()
        .await
        .expect("patch stage");
    assert_eq!(patched.variables().and_then(|v| v.get("tier")).map(String::as_str), Some("gold"));

    let (status, headers, body) =
        get(&server.execute_api(api_id, "/dev/products/7?color=red&color=blue"), &[("x-custom", "yes")])
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get_all("x-multi").iter().count(), 2);
    let event = json_of(&body);
    assert_eq!(event["resource"], "/products/{id}");
    assert_eq!(event["path"], "/products/7");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"], json!({"id": "7"}));
    assert_eq!(event["queryStringParameters"], json!({"color": "blue"}));
    assert_eq!(event["multiValueQueryStringParameters"], json!({"color": ["red", "blue"]}));
    assert_eq!(event["headers"]["x-custom"], "yes");
    assert_eq!(event["multiValueHeaders"]["x-custom"], json!(["yes"]));
    assert_eq!(event["stageVariables"], json!({"env": "dev"}));
    assert_eq!(event["body"], Value::Null);
    assert_eq!(event["isBase64Encoded"], false);
    let rc = &event["requestContext"];
    assert_eq!(rc["resourcePath"], "/products/{id}");
    assert_eq!(rc["resourceId"], product.as_str());
    assert_eq!(rc["stage"], "dev");
    assert_eq!(rc["path"], "/dev/products/7");
    assert_eq!(rc["httpMethod"], "GET");
    assert_eq!(rc["apiId"], api_id);
    assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
    assert!(rc["requestId"].as_str().is_some_and(|r| !r.is_empty()));

    let host = format!("{api_id}.execute-api.localhost:{}", server.port);
    let (status, _, body) =
        send(reqwest::Method::POST, &format!("{}/prod/users", server.endpoint()), &[("host", &host)], "hi")
            .await;
    assert_eq!(status, 200, "{body}");
    let event = json_of(&body);
    assert_eq!(event["resource"], "/users");
    assert_eq!(event["body"], "hi");
    assert_eq!(event["stageVariables"], json!({"env": "production", "tier": "gold"}));
    assert_eq!(event["pathParameters"], Value::Null);

    // Binary bodies: text unless the API lists the content type in binaryMediaTypes.
    let url = format!("{}/prod/users", server.endpoint());
    let png = [("host", host.as_str()), ("content-type", "image/png")];
    let (_, _, body) = send(reqwest::Method::POST, &url, &png, "PNG").await;
    assert_eq!(
        (json_of(&body)["body"].clone(), json_of(&body)["isBase64Encoded"].clone()),
        (json!("PNG"), json!(false))
    );
    apigw
        .update_rest_api()
        .rest_api_id(api_id)
        .patch_operations(PatchOperation::builder().op(Op::Add).path("/binaryMediaTypes/image~1*").build())
        .send()
        .await
        .expect("binary media types");
    let (_, _, body) = send(reqwest::Method::POST, &url, &png, "PNG").await;
    assert_eq!(
        (json_of(&body)["body"].clone(), json_of(&body)["isBase64Encoded"].clone()),
        (json!("UE5H"), json!(true))
    );

    // Unknown paths and methods: 403 Missing Authentication Token; an unknown stage: Forbidden.
    for (method, path) in [(reqwest::Method::GET, "/dev/nothing"), (reqwest::Method::DELETE, "/dev/users")] {
        let (status, headers, body) = send(method, &server.execute_api(api_id, path), &[], "").await;
        assert_eq!((status, body.as_str()), (403, r#"{"message":"Missing Authentication Token"}"#), "{path}");
        assert_eq!(headers["x-amzn-errortype"], "MissingAuthenticationTokenException");
    }
    let (status, _, body) = get(&server.execute_api(api_id, "/staging/users"), &[]).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));

    let err =
        apigw.get_rest_api().rest_api_id("nope").send().await.expect_err("unknown api").into_service_error();
    assert!(err.is_not_found_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("Invalid API identifier specified 000000000000:nope"));
    let err = apigw
        .create_resource()
        .rest_api_id(api_id)
        .parent_id(root)
        .path_part("users")
        .send()
        .await
        .expect_err("duplicate")
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
    let err = apigw.get_vpc_links().send().await.expect_err("not implemented");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(501));
}

#[tokio::test]
async fn rest_api_imported_from_openapi_serves_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Server::start(dir.path());
    let lambda = server.lambda("test", "us-east-1").await;
    let function = create_python(&lambda, "apigw-echo-import", PY_EVENT_ECHO, &[]).await;
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
        function.function_arn().expect("arn")
    );
    let doc = json!({
        "openapi": "3.0.1",
        "info": {"title": "imported", "version": "1.0"},
        "paths": {
            "/orders/{orderId}": {
                "get": {
                    "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": uri}
                }
            }
        }
    });
    let apigw = server.apigateway().await;
    let api = apigw
        .import_rest_api()
        .body(aws_sdk_apigateway::primitives::Blob::new(doc.to_string()))
        .send()
        .await
        .expect("import rest api");
    assert_eq!(api.name(), Some("imported"));
    let api_id = api.id().expect("id").to_owned();
    // A YAML document merged in, as `aws apigateway put-rest-api --body fileb://api.yaml` sends it.
    let yaml = format!(
        "openapi: 3.0.1\ninfo:\n  title: imported\n  version: 1.1\npaths:\n  /orders/{{orderId}}/items:\n    get:\n      x-amazon-apigateway-integration:\n        type: aws_proxy\n        httpMethod: POST\n        uri: {uri}\n"
    );
    apigw
        .put_rest_api()
        .rest_api_id(&api_id)
        .mode(aws_sdk_apigateway::types::PutMode::Merge)
        .body(aws_sdk_apigateway::primitives::Blob::new(yaml))
        .send()
        .await
        .expect("put rest api from YAML");
    apigw.create_deployment().rest_api_id(&api_id).stage_name("v1").send().await.expect("deploy");

    server.terminate();
    server.restart();
    let (status, _, body) = get(&server.execute_api(&api_id, "/v1/orders/17"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let event = json_of(&body);
    assert_eq!(event["resource"], "/orders/{orderId}");
    assert_eq!(event["pathParameters"], json!({"orderId": "17"}));
    let (status, _, body) = get(&server.execute_api(&api_id, "/v1/orders/17/items"), &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["resource"], "/orders/{orderId}/items");
}

/// HTTP API service integrations (integration subtypes): `SQS-SendMessage` puts a member of
/// the request's body on a queue, `EventBridge-PutEvents` sends an event that a rule routes to
/// another queue, `SQS-ReceiveMessage` reads it back through the API; a missing parameter is a
/// 400 from SQS, and CreateIntegration refuses a subtype without its required parameters or
/// one naming a service Nimbus does not run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_service_integrations_reach_sqs_and_eventbridge() {
    use aws_sdk_eventbridge::types::Target;
    use aws_sdk_sqs::types::QueueAttributeName;

    let server = Server::start_with(None, &["--ephemeral"]);
    let apigw = server.apigatewayv2().await;
    let sqs = server.sqs("test", "us-east-1").await;
    let events = server.events("test", "us-east-1").await;
    let orders = sqs.create_queue().queue_name("orders").send().await.expect("queue");
    let orders = orders.queue_url().expect("url").to_owned();
    let audit = sqs.create_queue().queue_name("audit").send().await.expect("queue");
    let audit = audit.queue_url().expect("url").to_owned();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&audit)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes");
    let audit_arn =
        attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).expect("arn").clone();
    events.put_rule().name("shop").event_pattern(r#"{"source":["shop"]}"#).send().await.expect("rule");
    let target = Target::builder().id("audit").arn(&audit_arn).build().expect("target");
    events.put_targets().rule("shop").targets(target).send().await.expect("targets");

    let api = apigw.create_api().name("service").protocol_type(ProtocolType::Http).send().await.expect("api");
    let api_id = api.api_id().expect("api id");
    let map = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let integration = |subtype: &str, params: &[(&str, &str)]| {
        apigw
            .create_integration()
            .api_id(api_id)
            .integration_type(IntegrationType::AwsProxy)
            .integration_subtype(subtype)
            .payload_format_version("1.0")
            .credentials_arn("arn:aws:iam::000000000000:role/api-to-queues")
            .set_request_parameters(Some(map(params)))
            .send()
    };
    let refused = integration("SQS-SendMessage", &[("QueueUrl", &orders)]).await.expect_err("no MessageBody");
    let refused = refused.into_service_error();
    assert!(refused.is_bad_request_exception() && refused.to_string().contains("MessageBody"), "{refused}");
    let refused = integration("Kinesis-PutRecord", &[("StreamName", "s")]).await.expect_err("no Kinesis");
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(501));

    let send_to_queue =
        integration("SQS-SendMessage", &[("QueueUrl", &orders), ("MessageBody", "$request.body.message")])
            .await
            .expect("send integration");
    let stored = apigw
        .get_integration()
        .api_id(api_id)
        .integration_id(send_to_queue.integration_id().expect("id"))
        .send()
        .await
        .expect("get integration");
    assert_eq!(stored.integration_subtype(), Some("SQS-SendMessage"));
    assert_eq!(stored.credentials_arn(), Some("arn:aws:iam::000000000000:role/api-to-queues"));
    assert_eq!(stored.request_parameters().and_then(|p| p.get("QueueUrl")), Some(&orders));
    let put = integration(
        "EventBridge-PutEvents",
        &[("Source", "shop"), ("DetailType", "$request.header.x-kind"), ("Detail", "$request.body")],
    )
    .await
    .expect("put integration");
    let receive = integration("SQS-ReceiveMessage", &[("QueueUrl", &audit), ("WaitTimeSeconds", "5")])
        .await
        .expect("receive integration");
    for (key, made) in [("POST /orders", &send_to_queue), ("POST /events", &put), ("GET /audit", &receive)] {
        let target = format!("integrations/{}", made.integration_id().expect("id"));
        apigw.create_route().api_id(api_id).route_key(key).target(target).send().await.expect("route");
    }
    apigw.create_stage().api_id(api_id).stage_name("$default").auto_deploy(true).send().await.expect("stage");

    let json_body = [("content-type", "application/json")];
    let (status, _, body) = send(
        reqwest::Method::POST,
        &server.execute_api(api_id, "/orders"),
        &json_body,
        r#"{"message":"two lattes"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    let sent = &answer["SendMessageResponse"]["SendMessageResult"];
    assert!(sent["MessageId"].is_string(), "{answer}");
    let got = sqs.receive_message().queue_url(&orders).send().await.expect("receive");
    let message = got.messages().first().expect("the message the API sent");
    assert_eq!(message.body(), Some("two lattes"));
    assert_eq!(sent["MessageId"].as_str(), message.message_id());
    assert_eq!(sent["MD5OfMessageBody"].as_str(), message.md5_of_body());

    // Without the member MessageBody is mapped from, SQS itself refuses the call.
    let (status, _, body) =
        send(reqwest::Method::POST, &server.execute_api(api_id, "/orders"), &json_body, r#"{"other":1}"#)
            .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("MessageBody"), "{body}");

    let (status, _, body) = send(
        reqwest::Method::POST,
        &server.execute_api(api_id, "/events"),
        &[("content-type", "application/json"), ("x-kind", "OrderPlaced")],
        r#"{"id":7}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["FailedEntryCount"], 0, "{answer}");
    let event_id = answer["Entries"][0]["EventId"].as_str().expect("event id").to_owned();

    let (status, _, body) = get(&server.execute_api(api_id, "/audit"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("json");
    let messages = &answer["ReceiveMessageResponse"]["ReceiveMessageResult"]["Messages"];
    let event: Value = serde_json::from_str(messages[0]["Body"].as_str().expect("body")).expect("event");
    assert_eq!(event["source"], "shop");
    assert_eq!(event["detail-type"], "OrderPlaced");
    assert_eq!(event["detail"], json!({"id": 7}));
    assert_eq!(event["id"], event_id);
}

/// GetExport writes what a stage deployed — paths, operations, parameters, security and, with
/// the extension, integrations — as OpenAPI 3 (JSON) or Swagger 2 (YAML), and ImportRestApi
/// reads the export back into an API that answers the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_api_export_round_trips_through_import() {
    let server = Server::start_with(None, &["--ephemeral"]);
    let apigw = server.apigateway().await;
    let doc = json!({
        "openapi": "3.0.1",
        "info": {"title": "menu", "version": "2"},
        "paths": {"/menu/{item}": {"get": {
            "operationId": "getItem",
            "responses": {"200": {"description": "ok"}},
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                "responses": {"default": {"statusCode": "200",
                    "responseTemplates": {"application/json": "{\"item\": \"$input.params('item')\"}"}}}
            }
        }}}
    });
    let api = apigw
        .import_rest_api()
        .body(aws_sdk_apigateway::primitives::Blob::new(doc.to_string()))
        .send()
        .await
        .expect("import");
    let api_id = api.id().expect("id").to_owned();
    let resources = apigw.get_resources().rest_api_id(&api_id).send().await.expect("resources");
    let item = resources.items().iter().find(|r| r.path() == Some("/menu/{item}")).expect("resource");
    let item = item.id().expect("id").to_owned();
    apigw
        .put_method()
        .rest_api_id(&api_id)
        .resource_id(&item)
        .http_method("POST")
        .authorization_type("NONE")
        .api_key_required(true)
        .request_parameters("method.request.querystring.size", true)
        .send()
        .await
        .expect("post method");
    apigw
        .put_integration()
        .rest_api_id(&api_id)
        .resource_id(&item)
        .http_method("POST")
        .r#type(RestIntegrationType::Mock)
        .send()
        .await
        .expect("post integration");
    apigw.create_deployment().rest_api_id(&api_id).stage_name("dev").send().await.expect("deploy");

    let export = |spec: &'static str, accepts: &'static str, extensions: Option<&'static str>| {
        let mut call =
            apigw.get_export().rest_api_id(&api_id).stage_name("dev").export_type(spec).accepts(accepts);
        if let Some(e) = extensions {
            call = call.parameters("extensions", e);
        }
        call.send()
    };
    let out = export("oas30", "application/json", Some("integrations")).await.expect("export");
    assert_eq!(out.content_type(), Some("application/json"));
    assert!(out.content_disposition().is_some_and(|d| d.starts_with("attachment; filename=")));
    let body = out.body().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    let exported: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(exported["openapi"], "3.0.1");
    assert_eq!(exported["info"]["title"], "menu");
    assert_eq!(exported["servers"][0]["variables"]["basePath"]["default"], "dev");
    let read = &exported["paths"]["/menu/{item}"]["get"];
    assert_eq!(read["operationId"], "getItem");
    assert_eq!(read["x-amazon-apigateway-integration"]["type"], "mock");
    let post = &exported["paths"]["/menu/{item}"]["post"];
    assert_eq!(post["security"], json!([{"api_key": []}]));
    assert_eq!(
        post["parameters"],
        json!([{"name": "size", "in": "query", "required": true, "schema": {"type": "string"}}])
    );
    assert_eq!(exported["components"]["securitySchemes"]["api_key"]["in"], "header");

    let plain = export("oas30", "application/json", None).await.expect("export");
    let plain: Value =
        serde_json::from_slice(plain.body().map(|b| b.as_ref()).unwrap_or_default()).expect("JSON");
    assert!(plain["paths"]["/menu/{item}"]["get"].get("x-amazon-apigateway-integration").is_none());
    // The Rust SDK always sends `Accept: application/json` (an interceptor of its own), so YAML
    // is asked for as the AWS CLI asks for it.
    let url =
        format!("{}/restapis/{api_id}/stages/dev/exports/swagger?extensions=apigateway", server.endpoint());
    let (status, headers, yaml) = get(&url, &[("accept", "application/yaml")]).await;
    assert_eq!(status, 200, "{yaml}");
    assert_eq!(headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/yaml"));
    assert!(yaml.contains("swagger: \"2.0\"") || yaml.contains("swagger: '2.0'"), "{yaml}");
    assert!(yaml.contains("basePath: /dev"), "{yaml}");
    let missing =
        apigw.get_export().rest_api_id(&api_id).stage_name("nope").export_type("oas30").send().await;
    let missing = missing.expect_err("no such stage").into_service_error();
    assert!(missing.is_not_found_exception(), "{missing:?}");

    // The export, imported as a new API and deployed, answers as the original does.
    let copy = apigw
        .import_rest_api()
        .body(aws_sdk_apigateway::primitives::Blob::new(body))
        .send()
        .await
        .expect("import the export");
    let copy_id = copy.id().expect("id").to_owned();
    apigw.create_deployment().rest_api_id(&copy_id).stage_name("dev").send().await.expect("deploy copy");
    let (status, _, original) = get(&server.execute_api(&api_id, "/dev/menu/latte"), &[]).await;
    assert_eq!(status, 200, "{original}");
    let (status, _, copied) = get(&server.execute_api(&copy_id, "/dev/menu/latte"), &[]).await;
    assert_eq!(status, 200, "{copied}");
    assert_eq!(serde_json::from_str::<Value>(&copied).ok(), Some(json!({"item": "latte"})));
    assert_eq!(copied, original);
}
