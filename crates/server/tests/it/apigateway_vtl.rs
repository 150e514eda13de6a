//! REST API non-proxy integrations through `aws-sdk-apigateway` and plain HTTP: a MOCK whose
//! request template picks the status, a Lambda non-proxy method whose templates reshape the
//! payload both ways (with an error regex mapped to 400), and HTTP / HTTP_PROXY integrations
//! to a small backend the test runs itself.

use std::collections::HashMap;

use aws_sdk_apigateway::types::IntegrationType;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::apigateway::{json_of, send};
use crate::harness::Server;
use crate::lambda::create_python;
use outbound::fixtures::read_request as read_http_request;

/// A backend that answers 201 with what it received: `{method, target, headers, body}`.
async fn echo_backend() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Some((head, body)) = read_http_request(&mut socket).await else { return };
                let mut lines = head.lines();
                let request_line = lines.next().unwrap_or_default().to_owned();
                let mut parts = request_line.split(' ');
                let method = parts.next().unwrap_or_default();
                let target = parts.next().unwrap_or_default();
                let headers: HashMap<String, String> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let answer = json!({ "method": method, "target": target, "headers": headers, "body": body })
                    .to_string();
                let response = format!(
                    "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nx-backend: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    base
}

struct Rest {
    client: aws_sdk_apigateway::Client,
    api_id: String,
    root: String,
}

impl Rest {
    async fn resource(&self, parent: &str, part: &str) -> String {
        let r = self
            .client
            .create_resource()
            .rest_api_id(&self.api_id)
            .parent_id(parent)
            .path_part(part)
            .send()
            .await;
        r.expect("create resource").id().expect("id").to_owned()
    }

    async fn method(&self, resource: &str, verb: &str, params: &[&str]) {
        let mut m = self
            .client
            .put_method()
            .rest_api_id(&self.api_id)
            .resource_id(resource)
            .http_method(verb)
            .authorization_type("NONE");
        for p in params {
            m = m.request_parameters(*p, true);
        }
        m.send().await.expect("put method");
    }

    async fn method_response(&self, resource: &str, verb: &str, status: &str, headers: &[&str]) {
        let mut r = self
            .client
            .put_method_response()
            .rest_api_id(&self.api_id)
            .resource_id(resource)
            .http_method(verb)
            .status_code(status);
        for h in headers {
            r = r.response_parameters(format!("method.response.header.{h}"), false);
        }
        r.send().await.expect("put method response");
    }

    #[allow(clippy::too_many_arguments)]
    async fn integration_response(
        &self,
        resource: &str,
        verb: &str,
        status: &str,
        pattern: Option<&str>,
        template: Option<&str>,
        params: &[(&str, &str)],
    ) {
        let mut r = self
            .client
            .put_integration_response()
            .rest_api_id(&self.api_id)
            .resource_id(resource)
            .http_method(verb)
            .status_code(status)
            .set_selection_pattern(pattern.map(str::to_owned));
        if let Some(t) = template {
            r = r.response_templates("application/json", t);
        }
        for (k, v) in params {
            r = r.response_parameters(*k, *v);
        }
        r.send().await.expect("put integration response");
    }
}

async fn rest_api(server: &Server, name: &str) -> Rest {
    let client = server.apigateway().await;
    let api = client.create_rest_api().name(name).send().await.expect("create rest api");
    Rest {
        api_id: api.id().expect("id").to_owned(),
        root: api.root_resource_id().expect("root").to_owned(),
        client,
    }
}

#[tokio::test]
async fn mock_http_and_http_proxy_integrations_map_with_templates() {
    let server = Server::ephemeral();
    let backend = echo_backend().await;
    let api = rest_api(&server, "vtl").await;

    // MOCK: the request template reads the body to choose the status; the response template
    // loops over the query string.
    let pets = api.resource(&api.root, "pets").await;
    api.method(&pets, "POST", &[]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&pets)
        .http_method("POST")
        .r#type(IntegrationType::Mock)
        .passthrough_behavior("NEVER")
        .request_templates(
            "application/json",
            "#set($b = $input.path('$'))\n#if($b.kind == \"bad\")\n{\"statusCode\": 400}\n#else\n{\"statusCode\": 200}\n#end",
        )
        .send()
        .await
        .expect("put mock integration");
    api.method_response(&pets, "POST", "200", &["X-Mock"]).await;
    api.method_response(&pets, "POST", "400", &[]).await;
    let ok_template = r##"#set($q = $input.params().querystring)
{
  "stage": "$context.stage",
  "resource": "$context.resourcePath",
  "params": [#foreach($name in $q.keySet())"$name=$util.escapeJavaScript($q.get($name))"#if($foreach.hasNext), #end#end],
  "backendFields": $input.path('$').size()
}"##;
    api.integration_response(
        &pets,
        "POST",
        "200",
        None,
        Some(ok_template),
        &[("method.response.header.X-Mock", "'yes'")],
    )
    .await;
    api.integration_response(&pets, "POST", "400", Some("4\\d\\d"), Some(r#"{"error": "bad kind"}"#), &[])
        .await;

    // HTTP_PROXY: everything through, `{proxy}` filled from the greedy path parameter.
    let proxy_parent = api.resource(&api.root, "proxy").await;
    let proxy = api.resource(&proxy_parent, "{proxy+}").await;
    api.method(&proxy, "ANY", &["method.request.path.proxy"]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&proxy)
        .http_method("ANY")
        .r#type(IntegrationType::HttpProxy)
        .integration_http_method("ANY")
        .uri(format!("{backend}/backend/{{proxy}}"))
        .request_parameters("integration.request.path.proxy", "method.request.path.proxy")
        .send()
        .await
        .expect("put http proxy integration");

    // HTTP with templates and parameter mappings both ways.
    let items = api.resource(&api.root, "items").await;
    api.method(&items, "POST", &[]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&items)
        .http_method("POST")
        .r#type(IntegrationType::Http)
        .integration_http_method("PUT")
        .uri(format!("{backend}/store"))
        .request_templates(
            "application/json",
            r#"{"wrapped": $input.json('$'), "env": "$stageVariables.env"}"#,
        )
        .request_parameters("integration.request.header.X-Stage", "context.stage")
        .request_parameters("integration.request.querystring.src", "'apigw'")
        .send()
        .await
        .expect("put http integration");
    api.method_response(&items, "POST", "200", &["X-From-Backend"]).await;
    api.integration_response(
        &items,
        "POST",
        "200",
        Some("2\\d\\d"),
        Some(r#"#set($r = $input.path('$')){"verb": "$r.method", "target": "$r.target", "stage": "$r.headers.get('x-stage')", "sent": $r.body}"#),
        &[("method.response.header.X-From-Backend", "integration.response.header.x-backend")],
    )
    .await;

    // An AWS service integration: SendMessage to a queue, the form body from a template.
    let sqs = server.sqs("test", "us-east-1").await;
    let queue_url = sqs.create_queue().queue_name("orders").send().await.expect("create queue");
    let queue_url = queue_url.queue_url().expect("url").to_owned();
    let orders = api.resource(&api.root, "orders").await;
    api.method(&orders, "POST", &[]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&orders)
        .http_method("POST")
        .r#type(IntegrationType::Aws)
        .integration_http_method("POST")
        .uri("arn:aws:apigateway:us-east-1:sqs:path/000000000000/orders")
        .request_parameters("integration.request.header.Content-Type", "'application/x-www-form-urlencoded'")
        .request_templates("application/json", "Action=SendMessage&MessageBody=$util.urlEncode($input.body)")
        .send()
        .await
        .expect("put sqs integration");
    api.method_response(&orders, "POST", "200", &[]).await;
    api.integration_response(
        &orders,
        "POST",
        "200",
        None,
        Some(r#"{"queued": "$input.path('$.SendMessageResponse.SendMessageResult.MessageId')"}"#),
        &[],
    )
    .await;

    // A backend that accepts and never answers, behind a short integration timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent_url = format!("http://{}/never", silent.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let slow = api.resource(&api.root, "slow").await;
    api.method(&slow, "GET", &[]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&slow)
        .http_method("GET")
        .r#type(IntegrationType::HttpProxy)
        .integration_http_method("GET")
        .uri(silent_url)
        .timeout_in_millis(300)
        .send()
        .await
        .expect("put slow integration");

    api.client
        .create_deployment()
        .rest_api_id(&api.api_id)
        .stage_name("dev")
        .variables("env", "development")
        .send()
        .await
        .expect("deploy");

    // MOCK, the happy path.
    let url = server.execute_api(&api.api_id, "/dev/pets?a=1&b=say%20%22hi%22");
    let (status, headers, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "application/json")], r#"{"kind": "good"}"#)
            .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-mock"], "yes");
    assert_eq!(headers["content-type"], "application/json");
    let out = json_of(&body);
    assert_eq!(out["stage"], "dev");
    assert_eq!(out["resource"], "/pets");
    assert_eq!(out["params"], json!(["a=1", "b=say \"hi\""]));
    assert_eq!(out["backendFields"], 0);
    // The request template chose 400, which the selection pattern maps.
    let (status, _, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "application/json")], r#"{"kind": "bad"}"#)
            .await;
    assert_eq!((status, json_of(&body)), (400, json!({"error": "bad kind"})));
    // NEVER passes nothing through: no template for text/plain.
    let (status, headers, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "text/plain")], "hi").await;
    assert_eq!((status, body.as_str()), (415, r#"{"message":"Unsupported Media Type"}"#));
    assert_eq!(headers["x-amzn-errortype"], "UnsupportedMediaTypeException");

    // HTTP_PROXY.
    let url = server.execute_api(&api.api_id, "/dev/proxy/a/b?x=1&y=2");
    let (status, headers, body) =
        send(reqwest::Method::PATCH, &url, &[("x-custom", "c1"), ("content-type", "text/plain")], "raw body")
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["x-backend"], "yes");
    let seen = json_of(&body);
    assert_eq!(seen["method"], "PATCH");
    assert_eq!(seen["target"], "/backend/a/b?x=1&y=2");
    assert_eq!(seen["headers"]["x-custom"], "c1");
    assert_eq!(seen["body"], "raw body");

    // SQS: the message is on the queue, with the id the response template read.
    let url = server.execute_api(&api.api_id, "/dev/orders");
    let (status, _, body) = send(
        reqwest::Method::POST,
        &url,
        &[("content-type", "application/json")],
        r#"{"order": "o-1", "note": "a&b=c"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let queued = json_of(&body)["queued"].as_str().expect("message id").to_owned();
    let received = sqs.receive_message().queue_url(&queue_url).send().await.expect("receive");
    let message = received.messages().first().expect("one message");
    assert_eq!(message.message_id(), Some(queued.as_str()));
    assert_eq!(message.body(), Some(r#"{"order": "o-1", "note": "a&b=c"}"#));

    // The integration timeout is a 504.
    let started = std::time::Instant::now();
    let (status, _, body) =
        send(reqwest::Method::GET, &server.execute_api(&api.api_id, "/dev/slow"), &[], "").await;
    assert_eq!((status, body.as_str()), (504, r#"{"message":"Endpoint request timed out"}"#));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // HTTP with templates.
    let url = server.execute_api(&api.api_id, "/dev/items");
    let (status, headers, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "application/json")], r#"{"sku": "a1"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-from-backend"], "yes");
    let out = json_of(&body);
    assert_eq!(out["verb"], "PUT");
    assert_eq!(out["target"], "/store?src=apigw");
    assert_eq!(out["stage"], "dev");
    assert_eq!(out["sent"], json!({"wrapped": {"sku": "a1"}, "env": "development"}));
}

const PY_GREETER: &str = r#"
def handler(event, context):
    if event.get("fail"):
        raise Exception("BadInput: " + event["fail"])
    return {"greeting": "hello " + event["who"], "n": event["n"] * 2, "saw": event}
"#;

#[tokio::test]
async fn lambda_non_proxy_reshapes_both_ways_and_maps_errors() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let function = create_python(&lambda, "apigw-greeter", PY_GREETER, &[]).await;
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
        function.function_arn().expect("arn")
    );
    let api = rest_api(&server, "greeter").await;
    let greet = api.resource(&api.root, "greet").await;
    let user = api.resource(&greet, "{user}").await;
    api.method(&user, "POST", &["method.request.path.user"]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&user)
        .http_method("POST")
        .r#type(IntegrationType::Aws)
        .integration_http_method("POST")
        .uri(&uri)
        .request_templates(
            "application/json",
            "#set($b = $input.path('$'))\n{\n  \"who\": \"$input.params('user')\",\n  \"n\": $b.count#if($b.fail),\n  \"fail\": \"$util.escapeJavaScript($b.fail)\"#end\n}",
        )
        .send()
        .await
        .expect("put lambda integration");
    api.method_response(&user, "POST", "200", &[]).await;
    api.method_response(&user, "POST", "400", &[]).await;
    api.integration_response(
        &user,
        "POST",
        "200",
        None,
        Some("#set($r = $input.path('$'))\n{\"message\": \"$r.greeting\", \"double\": $r.n, \"keys\": \"$r.saw.keySet()\"}"),
        &[],
    )
    .await;
    api.integration_response(
        &user,
        "POST",
        "400",
        Some("BadInput: .*"),
        Some(r#"{"error": "$util.escapeJavaScript($input.path('$.errorMessage'))"}"#),
        &[],
    )
    .await;
    // `X-Amz-Invocation-Type: Event` mapped onto the integration request invokes
    // asynchronously: the method answers at once from its default response.
    let later = api.resource(&greet, "later").await;
    api.method(&later, "POST", &[]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&later)
        .http_method("POST")
        .r#type(IntegrationType::Aws)
        .integration_http_method("POST")
        .uri(&uri)
        .request_parameters("integration.request.header.X-Amz-Invocation-Type", "'Event'")
        .request_templates("application/json", r#"{"who": "later", "n": 1}"#)
        .send()
        .await
        .expect("put async lambda integration");
    api.method_response(&later, "POST", "200", &[]).await;
    api.integration_response(
        &later,
        "POST",
        "200",
        None,
        Some(r#"{"accepted": true, "body": "$input.body"}"#),
        &[],
    )
    .await;
    api.client.create_deployment().rest_api_id(&api.api_id).stage_name("v1").send().await.expect("deploy");

    let url = server.execute_api(&api.api_id, "/v1/greet/ann");
    let (status, _, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "application/json")], r#"{"count": 21}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body), json!({"message": "hello ann", "double": 42, "keys": "[who, n]"}));

    let (status, _, body) = send(
        reqwest::Method::POST,
        &url,
        &[("content-type", "application/json")],
        r#"{"count": 1, "fail": "no \"count\""}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(json_of(&body), json!({"error": "BadInput: no \"count\""}));

    let url_later = server.execute_api(&api.api_id, "/v1/greet/later");
    let (status, _, body) =
        send(reqwest::Method::POST, &url_later, &[("content-type", "application/json")], "{}").await;
    assert_eq!((status, json_of(&body)), (200, json!({"accepted": true, "body": ""})));

    // A body that is not JSON cannot feed $input.path.
    let (status, _, body) =
        send(reqwest::Method::POST, &url, &[("content-type", "application/json")], "not json").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        json_of(&body)["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Could not parse request body into json"))
    );
}

/// `AWS` integrations with other services, called in-process as an SDK would call them:
/// DynamoDB `PutItem`/`GetItem` (awsJson, with `X-Amz-Target`), EventBridge `PutEvents` on to
/// a rule's queue, and an S3 object by path; the services' errors go through the integration
/// responses by status code.
#[tokio::test]
async fn aws_service_integrations_reach_dynamodb_eventbridge_and_s3() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    crate::harness::create_id_table(&ddb, "orders").await;
    let s3 = server.s3("test", "us-east-1").await;
    s3.create_bucket().bucket("files").send().await.expect("bucket");
    s3.put_object()
        .bucket("files")
        .key("hello.txt")
        .body(b"hello from s3".to_vec().into())
        .send()
        .await
        .expect("put object");
    let sqs = server.sqs("test", "us-east-1").await;
    let queue = sqs.create_queue().queue_name("shop-events").send().await.expect("queue");
    let queue = queue.queue_url().expect("url").to_owned();
    let events = server.events("test", "us-east-1").await;
    events.put_rule().name("shop").event_pattern(r#"{"source":["shop"]}"#).send().await.expect("rule");
    events
        .put_targets()
        .rule("shop")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn("arn:aws:sqs:us-east-1:000000000000:shop-events")
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("targets");

    let api = rest_api(&server, "aws-integrations").await;
    let integration = |resource: &str, verb: &str, uri: &str| {
        api.client
            .put_integration()
            .rest_api_id(&api.api_id)
            .resource_id(resource)
            .http_method(verb)
            .r#type(IntegrationType::Aws)
            .integration_http_method(if uri.contains(":s3:") { "GET" } else { "POST" })
            .uri(uri)
    };

    // POST /orders → PutItem; GET /orders/{id} → GetItem.
    let orders = api.resource(&api.root, "orders").await;
    api.method(&orders, "POST", &[]).await;
    integration(&orders, "POST", "arn:aws:apigateway:us-east-1:dynamodb:action/PutItem")
        .request_templates(
            "application/json",
            r#"{"TableName": "$input.path('$.table')", "Item": {"id": {"S": "$input.path('$.id')"}, "qty": {"N": "$input.path('$.qty')"}}}"#,
        )
        .send()
        .await
        .expect("put item integration");
    api.method_response(&orders, "POST", "200", &[]).await;
    api.method_response(&orders, "POST", "400", &[]).await;
    api.integration_response(&orders, "POST", "200", None, Some(r#"{"stored": true}"#), &[]).await;
    api.integration_response(
        &orders,
        "POST",
        "400",
        Some("4\\d{2}"),
        Some(r#"{"error": "$input.path('$.__type')", "message": "$input.path('$.message')"}"#),
        &[],
    )
    .await;
    let order = api.resource(&orders, "{id}").await;
    api.method(&order, "GET", &["method.request.path.id"]).await;
    integration(&order, "GET", "arn:aws:apigateway:us-east-1:dynamodb:action/GetItem")
        .request_templates(
            "application/json",
            r#"{"TableName": "orders", "Key": {"id": {"S": "$input.params('id')"}}}"#,
        )
        .send()
        .await
        .expect("get item integration");
    api.method_response(&order, "GET", "200", &[]).await;
    api.integration_response(
        &order,
        "GET",
        "200",
        None,
        Some(r#"{"id": "$input.path('$.Item.id.S')", "qty": $input.path('$.Item.qty.N')}"#),
        &[],
    )
    .await;

    // POST /events → PutEvents.
    let bus = api.resource(&api.root, "events").await;
    api.method(&bus, "POST", &[]).await;
    integration(&bus, "POST", "arn:aws:apigateway:us-east-1:events:action/PutEvents")
        .request_templates(
            "application/json",
            r#"{"Entries": [{"Source": "shop", "DetailType": "order placed", "Detail": "$util.escapeJavaScript($input.body)"}]}"#,
        )
        .send()
        .await
        .expect("put events integration");
    api.method_response(&bus, "POST", "200", &[]).await;
    api.integration_response(
        &bus,
        "POST",
        "200",
        None,
        Some(r#"{"failed": $input.path('$.FailedEntryCount')}"#),
        &[],
    )
    .await;

    // GET /files/{key} → the S3 object, the key mapped from the method's path.
    let files = api.resource(&api.root, "files").await;
    let file = api.resource(&files, "{key}").await;
    api.method(&file, "GET", &["method.request.path.key"]).await;
    integration(&file, "GET", "arn:aws:apigateway:us-east-1:s3:path/files/{key}")
        .request_parameters("integration.request.path.key", "method.request.path.key")
        .send()
        .await
        .expect("s3 integration");
    api.method_response(&file, "GET", "200", &[]).await;
    api.method_response(&file, "GET", "404", &[]).await;
    api.integration_response(&file, "GET", "200", None, None, &[]).await;
    api.integration_response(&file, "GET", "404", Some("404"), Some(r#"{"missing": true}"#), &[]).await;

    api.client.create_deployment().rest_api_id(&api.api_id).stage_name("dev").send().await.expect("deploy");
    let json_type = [("content-type", "application/json")];

    let url = server.execute_api(&api.api_id, "/dev/orders");
    let (status, _, body) =
        send(reqwest::Method::POST, &url, &json_type, r#"{"table": "orders", "id": "o-1", "qty": 3}"#).await;
    assert_eq!((status, json_of(&body)), (200, json!({"stored": true})), "{body}");
    let item = ddb
        .get_item()
        .table_name("orders")
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S("o-1".into()))
        .send()
        .await
        .expect("get item");
    let item = item.item().expect("the integration wrote the item");
    assert_eq!(item["qty"], aws_sdk_dynamodb::types::AttributeValue::N("3".into()));
    // DynamoDB's own error, selected by its status.
    let (status, _, body) =
        send(reqwest::Method::POST, &url, &json_type, r#"{"table": "nope", "id": "o-2", "qty": 1}"#).await;
    let out = json_of(&body);
    assert_eq!(status, 400, "{body}");
    assert!(out["error"].as_str().unwrap_or("").ends_with("ResourceNotFoundException"), "{body}");

    let url = server.execute_api(&api.api_id, "/dev/orders/o-1");
    let (status, _, body) = send(reqwest::Method::GET, &url, &[], "").await;
    assert_eq!((status, json_of(&body)), (200, json!({"id": "o-1", "qty": 3})), "{body}");

    let url = server.execute_api(&api.api_id, "/dev/events");
    let (status, _, body) = send(reqwest::Method::POST, &url, &json_type, r#"{"order": "o-1"}"#).await;
    assert_eq!((status, json_of(&body)), (200, json!({"failed": 0})), "{body}");
    let delivered = crate::harness::receive(&sqs, &queue, 1).await;
    let event = json_of(delivered[0].body().expect("body"));
    assert_eq!((event["source"].clone(), event["detail"].clone()), (json!("shop"), json!({"order": "o-1"})));

    let url = server.execute_api(&api.api_id, "/dev/files/hello.txt");
    let (status, _, body) = send(reqwest::Method::GET, &url, &[], "").await;
    assert_eq!((status, body.as_str()), (200, "hello from s3"));
    let url = server.execute_api(&api.api_id, "/dev/files/absent.txt");
    let (status, _, body) = send(reqwest::Method::GET, &url, &[], "").await;
    assert_eq!((status, json_of(&body)), (404, json!({"missing": true})), "{body}");
}

/// Access logs: a REST stage (set by `UpdateStage` patch operations) and an HTTP API stage
/// (`AccessLogSettings`) write one line per request, their `$context` format substituted, to
/// their CloudWatch Logs groups; a format without the request id is refused, and removing the
/// settings stops the lines.
#[tokio::test]
async fn stages_write_access_logs_to_cloudwatch_logs() {
    use aws_sdk_apigateway::types::{Op, PatchOperation};

    let server = Server::ephemeral();
    let logs = server.logs("test", "us-east-1").await;
    logs.create_log_group().log_group_name("rest-access").send().await.expect("group");
    logs.create_log_group().log_group_name("http-access").send().await.expect("group");
    let arn = |group: &str| format!("arn:aws:logs:us-east-1:000000000000:log-group:{group}");

    let api = mock_pets(&server, "logged").await;
    let patch = |path: &str, value: Option<&str>| {
        PatchOperation::builder()
            .op(if value.is_some() { Op::Replace } else { Op::Remove })
            .path(path)
            .set_value(value.map(str::to_owned))
            .build()
    };
    let refused = api
        .client
        .update_stage()
        .rest_api_id(&api.api_id)
        .stage_name("dev")
        .patch_operations(patch("/accessLogSettings/destinationArn", Some(&arn("rest-access"))))
        .patch_operations(patch("/accessLogSettings/format", Some("$context.status")))
        .send()
        .await
        .expect_err("a format without the request id");
    assert!(refused.into_service_error().is_bad_request_exception());
    let format = r#"{"id":"$context.requestId","method":"$context.httpMethod","resource":"$context.resourcePath","status":"$context.status","len":"$context.responseLength","err":"$context.error.responseType"}"#;
    let stage = api
        .client
        .update_stage()
        .rest_api_id(&api.api_id)
        .stage_name("dev")
        .patch_operations(patch("/accessLogSettings/destinationArn", Some(&arn("rest-access"))))
        .patch_operations(patch("/accessLogSettings/format", Some(format)))
        .send()
        .await
        .expect("access logs on");
    assert_eq!(stage.access_log_settings().and_then(|s| s.format()), Some(format));

    let (status, headers, _) =
        send(reqwest::Method::GET, &server.execute_api(&api.api_id, "/dev/pets"), &[], "").await;
    assert_eq!(status, 200);
    let request_id =
        headers.get("x-amzn-requestid").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (status, _, _) =
        send(reqwest::Method::GET, &server.execute_api(&api.api_id, "/dev/nothing"), &[], "").await;
    assert_eq!(status, 403);
    let lines = wait_lines(&logs, "rest-access", 2).await;
    let first = json_of(&lines[0]);
    assert_eq!(first["method"], "GET");
    assert_eq!(first["resource"], "/pets");
    assert_eq!(first["status"], "200");
    assert_eq!(first["len"], "12");
    assert_eq!(first["err"], "-");
    if !request_id.is_empty() {
        assert_eq!(first["id"], request_id.as_str());
    }
    let second = json_of(&lines[1]);
    assert_eq!((second["status"].as_str(), second["resource"].as_str()), (Some("403"), Some("-")));
    assert_eq!(second["err"], "MISSING_AUTHENTICATION_TOKEN");
    // A group deleted and made again gets the lines that follow (its stream is made anew).
    logs.delete_log_group().log_group_name("rest-access").send().await.expect("delete group");
    logs.create_log_group().log_group_name("rest-access").send().await.expect("group again");
    let (status, _, _) =
        send(reqwest::Method::GET, &server.execute_api(&api.api_id, "/dev/pets"), &[], "").await;
    assert_eq!(status, 200);
    let lines = wait_lines(&logs, "rest-access", 1).await;
    assert_eq!(json_of(&lines[0])["status"], "200");

    // HTTP API: settings in UpdateStage's body, removed by DeleteAccessLogSettings.
    let lambda = server.lambda("test", "us-east-1").await;
    let function = create_python(&lambda, "apigw-logged", crate::apigateway::PY_EVENT_ECHO, &[]).await;
    let v2 = server.apigatewayv2().await;
    let http = v2
        .create_api()
        .name("logged-http")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .target(function.function_arn().expect("arn"))
        .send()
        .await
        .expect("quick create");
    let http_id = http.api_id().expect("id").to_owned();
    v2.update_stage()
        .api_id(&http_id)
        .stage_name("$default")
        .access_log_settings(
            aws_sdk_apigatewayv2::types::AccessLogSettings::builder()
                .destination_arn(arn("http-access"))
                .format("$context.requestId $context.routeKey $context.status")
                .build(),
        )
        .send()
        .await
        .expect("access logs on");
    let (status, _, _) =
        send(reqwest::Method::GET, &server.execute_api(&http_id, "/anything"), &[], "").await;
    assert_eq!(status, 200);
    let lines = wait_lines(&logs, "http-access", 1).await;
    assert!(lines[0].ends_with(" $default 200"), "{}", lines[0]);
    v2.delete_access_log_settings().api_id(&http_id).stage_name("$default").send().await.expect("delete");
    let stage = v2.get_stage().api_id(&http_id).stage_name("$default").send().await.expect("get stage");
    assert!(stage.access_log_settings().is_none());
    let (status, _, _) = send(reqwest::Method::GET, &server.execute_api(&http_id, "/again"), &[], "").await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(wait_lines(&logs, "http-access", 1).await.len(), 1, "no line once the settings are gone");
}

#[tokio::test]
async fn rest_stages_write_execution_logs_at_their_level() {
    use aws_sdk_apigateway::types::{Op, PatchOperation};

    let server = Server::ephemeral();
    let logs = server.logs("test", "us-east-1").await;
    let api = mock_pets(&server, "executed").await;
    let set =
        |path: &str, value: &str| PatchOperation::builder().op(Op::Replace).path(path).value(value).build();
    let update = |ops: Vec<PatchOperation>| {
        api.client
            .update_stage()
            .rest_api_id(&api.api_id)
            .stage_name("dev")
            .set_patch_operations(Some(ops))
            .send()
    };
    update(vec![set("/*/*/logging/loglevel", "INFO"), set("/*/*/logging/dataTrace", "true")])
        .await
        .expect("logging on");
    let group = format!("API-Gateway-Execution-Logs_{}/dev", api.api_id);
    // API Gateway makes the group: it appears with the first lines.
    let lines_of = |want: usize| {
        let (logs, group) = (logs.clone(), group.clone());
        async move {
            let mut lines: Vec<String> = Vec::new();
            for _ in 0..50 {
                if let Ok(out) = logs.filter_log_events().log_group_name(&group).send().await {
                    lines = out.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect();
                    if lines.len() >= want {
                        break;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            lines
        }
    };
    let url = server.execute_api(&api.api_id, "/dev/pets?color=red");
    let (status, headers, _) = send(reqwest::Method::GET, &url, &[("x-test", "yes")], "").await;
    assert_eq!(status, 200);
    let id = headers.get("x-amzn-requestid").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let lines = lines_of(7).await;
    let expected = [
        format!("({id}) Starting execution for request: {id}"),
        format!("({id}) HTTP Method: GET, Resource Path: /pets"),
        format!("({id}) Method request query string: {{color=red}}"),
        format!("({id}) Method completed with status: 200"),
    ];
    for line in &expected {
        assert!(lines.contains(line), "{line} in {lines:#?}");
    }
    assert!(
        lines.iter().any(|l| l.contains("Method request headers: {") && l.contains("x-test=yes")),
        "{lines:#?}"
    );

    // At ERROR, only failed requests write.
    update(vec![set("/*/*/logging/loglevel", "ERROR")]).await.expect("errors only");
    let before = lines.len();
    send(reqwest::Method::GET, &url, &[], "").await;
    let (status, _, _) =
        send(reqwest::Method::GET, &server.execute_api(&api.api_id, "/dev/nothing"), &[], "").await;
    assert_eq!(status, 403);
    let lines = lines_of(before + 2).await;
    let added = &lines[before..];
    assert_eq!(added.len(), 2, "{added:#?}");
    assert!(added[0].contains("Execution failed: MISSING_AUTHENTICATION_TOKEN"), "{added:#?}");
    assert!(added[1].ends_with("Method completed with status: 403"), "{added:#?}");
}

/// A REST API whose `GET /pets` is a MOCK answering `{"pets": []}`, deployed to `dev`.
async fn mock_pets(server: &Server, name: &str) -> Rest {
    let api = rest_api(server, name).await;
    let pets = api.resource(&api.root, "pets").await;
    api.method(&pets, "GET", &[]).await;
    api.client
        .put_integration()
        .rest_api_id(&api.api_id)
        .resource_id(&pets)
        .http_method("GET")
        .r#type(IntegrationType::Mock)
        .request_templates("application/json", r#"{"statusCode": 200}"#)
        .send()
        .await
        .expect("mock");
    api.method_response(&pets, "GET", "200", &[]).await;
    api.integration_response(&pets, "GET", "200", None, Some(r#"{"pets": []}"#), &[]).await;
    api.client.create_deployment().rest_api_id(&api.api_id).stage_name("dev").send().await.expect("deploy");
    api
}

/// The messages of a log group, oldest first, once there are at least `want`.
async fn wait_lines(logs: &aws_sdk_cloudwatchlogs::Client, group: &str, want: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for _ in 0..50 {
        let out = logs.filter_log_events().log_group_name(group).send().await.expect("filter");
        lines = out.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect();
        if lines.len() >= want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(lines.len() >= want, "{group}: {lines:?}");
    lines
}
