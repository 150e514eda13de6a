//! Service-level tests: control-plane requests through the whole service on an in-memory store,
//! and data-plane requests answered by an invoker that records the event and returns a canned
//! payload.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ports::{BoxFuture, FunctionInvoker, InvokeResponse, PortError};
use protocol::{AwsService, RequestContext};
use serde_json::{Value, json};
use storage::Store;
use types::Scope;

use crate::ApiGatewayService;

const FN: &str = "arn:aws:lambda:us-east-1:000000000000:function:echo";

/// Records each event and answers with `reply` (or a function error when `fail`).
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, Value)>>,
    reply: Mutex<String>,
    fail: Mutex<bool>,
}

impl FunctionInvoker for Recorder {
    fn invoke_async(&self, _: &str, _: Bytes) -> Result<(), PortError> {
        Err(PortError::Invalid("not used".to_owned()))
    }

    fn invoke(&self, arn: &str, payload: Bytes) -> BoxFuture<'_, Result<InvokeResponse, PortError>> {
        let event = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        crate::lock(&self.events).push((arn.to_owned(), event));
        let reply = Bytes::from(crate::lock(&self.reply).clone());
        let function_error = crate::lock(&self.fail).then(|| "Unhandled".to_owned());
        Box::pin(async move {
            Ok(InvokeResponse { payload: reply, function_error, executed_version: "$LATEST".into() })
        })
    }
}

struct Env {
    svc: ApiGatewayService,
    invoker: Arc<Recorder>,
}

impl Env {
    fn new() -> Env {
        let invoker = Arc::new(Recorder::default());
        *crate::lock(&invoker.reply) = r#"{"statusCode":200,"body":"ok"}"#.to_owned();
        let svc = ApiGatewayService::new(Store::memory(), Arc::new(types::SystemClock), invoker.clone())
            .expect("service");
        Env { svc, invoker }
    }

    async fn raw(&self, method: &str, host: &str, uri: &str, body: &str) -> (u16, http::HeaderMap, String) {
        let req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .header("user-agent", "test-agent")
            .body(Bytes::from(body.to_owned()))
            .expect("request");
        let resp = self.svc.call(RequestContext::new(Scope::default(), "test"), req).await;
        (resp.status().as_u16(), resp.headers().clone(), String::from_utf8_lossy(resp.body()).into_owned())
    }

    async fn call(&self, method: &str, uri: &str, body: Value) -> (u16, Value) {
        let body = if body.is_null() { String::new() } else { body.to_string() };
        let (status, _, text) = self.raw(method, "127.0.0.1:4566", uri, &body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn last_event(&self) -> Value {
        crate::lock(&self.invoker.events).last().map(|(_, e)| e.clone()).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn http_api_quick_create_routes_to_lambda_with_a_2_0_event() {
    let env = Env::new();
    let (status, api) =
        env.call("POST", "/v2/apis", json!({"name": "q", "protocolType": "HTTP", "target": FN})).await;
    assert_eq!(status, 201, "{api}");
    let id = api["apiId"].as_str().expect("apiId");
    assert_eq!(id.len(), 10);
    let (_, routes) = env.call("GET", &format!("/v2/apis/{id}/routes"), Value::Null).await;
    assert_eq!(routes["items"][0]["routeKey"], "$default");
    let (_, stage) = env.call("GET", &format!("/v2/apis/{id}/stages/$default"), Value::Null).await;
    assert_eq!(stage["autoDeploy"], true);

    let host = format!("{id}.execute-api.localhost:4566");
    let (status, _, body) = env.raw("POST", &host, "/any/path?x=1", "hello").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let event = env.last_event();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "$default");
    assert_eq!(event["rawPath"], "/any/path");
    assert_eq!(event["requestContext"]["stage"], "$default");
    assert_eq!(event["requestContext"]["apiId"], id);
    assert_eq!(event["body"], "hello");

    // A function error and a malformed reply are both API Gateway's 500 for HTTP APIs.
    *crate::lock(&env.invoker.fail) = true;
    let (status, _, body) = env.raw("GET", &host, "/", "").await;
    assert_eq!((status, body.as_str()), (500, r#"{"message":"Internal Server Error"}"#));
    *crate::lock(&env.invoker.fail) = false;
    *crate::lock(&env.invoker.reply) = r#"{"statusCode":"nope"}"#.to_owned();
    assert_eq!(env.raw("GET", &host, "/", "").await.0, 500);
}

#[tokio::test]
async fn http_api_routes_stages_and_misses() {
    let env = Env::new();
    let (_, api) = env.call("POST", "/v2/apis", json!({"name": "a", "protocolType": "HTTP"})).await;
    let id = api["apiId"].as_str().expect("apiId").to_owned();
    let (status, integ) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/integrations"),
            json!({"integrationType": "AWS_PROXY", "integrationUri": FN, "payloadFormatVersion": "1.0"}),
        )
        .await;
    assert_eq!(status, 201, "{integ}");
    let target = format!("integrations/{}", integ["integrationId"].as_str().expect("id"));
    let (status, _) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            json!({"routeKey": "GET /items/{id}", "target": target}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, err) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/routes"),
            json!({"routeKey": "GET /items/{id}", "target": target}),
        )
        .await;
    assert_eq!(status, 409, "{err}");
    let (status, _) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/stages"),
            json!({"stageName": "dev", "stageVariables": {"v": "1"}}),
        )
        .await;
    assert_eq!(status, 201);
    // Not deployed yet: the stage has nothing to serve.
    let path = format!("/_aws/execute-api/{id}/dev/items/7");
    assert_eq!(env.raw("GET", "127.0.0.1", &path, "").await.0, 404);
    let (status, _) =
        env.call("POST", &format!("/v2/apis/{id}/deployments"), json!({"stageName": "dev"})).await;
    assert_eq!(status, 201);
    let (status, _, _) = env.raw("GET", "127.0.0.1", &path, "").await;
    assert_eq!(status, 200);
    let event = env.last_event();
    assert_eq!(event["version"], "1.0");
    assert_eq!(event["resource"], "/items/{id}");
    assert_eq!(event["path"], "/items/7");
    assert_eq!(event["pathParameters"], json!({"id": "7"}));
    assert_eq!(event["stageVariables"], json!({"v": "1"}));
    let (status, _, body) =
        env.raw("GET", "127.0.0.1", &format!("/_aws/execute-api/{id}/dev/nothing"), "").await;
    assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));

    let (status, err) = env.call("GET", "/v2/apis/nope", Value::Null).await;
    assert_eq!(status, 404);
    assert_eq!(err["message"], "Invalid API identifier specified 000000000000:nope");
    assert_eq!(env.call("DELETE", &format!("/v2/apis/{id}"), Value::Null).await.0, 204);
    assert_eq!(env.call("GET", &format!("/v2/apis/{id}"), Value::Null).await.0, 404);
}

#[tokio::test]
async fn rest_api_resources_methods_stages_and_the_v1_event() {
    let env = Env::new();
    let (status, api) = env.call("POST", "/restapis", json!({"name": "shop"})).await;
    assert_eq!(status, 201, "{api}");
    let id = api["id"].as_str().expect("id").to_owned();
    let root = api["rootResourceId"].as_str().expect("root").to_owned();
    let (_, products) =
        env.call("POST", &format!("/restapis/{id}/resources/{root}"), json!({"pathPart": "products"})).await;
    let products = products["id"].as_str().expect("id").to_owned();
    let (status, item) =
        env.call("POST", &format!("/restapis/{id}/resources/{products}"), json!({"pathPart": "{id}"})).await;
    assert_eq!(status, 201, "{item}");
    assert_eq!(item["path"], "/products/{id}");
    let item = item["id"].as_str().expect("id").to_owned();
    let (status, err) =
        env.call("POST", &format!("/restapis/{id}/resources/{root}"), json!({"pathPart": "products"})).await;
    assert_eq!(status, 409, "{err}");

    let method = format!("/restapis/{id}/resources/{item}/methods/ANY");
    assert_eq!(env.call("PUT", &method, json!({"authorizationType": "NONE"})).await.0, 201);
    let uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations");
    let (status, integ) = env
        .call(
            "PUT",
            &format!("{method}/integration"),
            json!({"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri}),
        )
        .await;
    assert_eq!(status, 201, "{integ}");
    let (status, _) = env
        .call(
            "POST",
            &format!("/restapis/{id}/deployments"),
            json!({"stageName": "dev", "variables": {"env": "dev"}}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, stage) = env
        .call(
            "PATCH",
            &format!("/restapis/{id}/stages/dev"),
            json!({"patchOperations": [{"op": "replace", "path": "/variables/color", "value": "blue"}]}),
        )
        .await;
    assert_eq!(status, 200, "{stage}");
    assert_eq!(stage["variables"], json!({"env": "dev", "color": "blue"}));

    let host = format!("{id}.execute-api.localhost");
    let (status, _, body) = env.raw("DELETE", &host, "/dev/products/42?q=1", "").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let event = env.last_event();
    assert_eq!(event["resource"], "/products/{id}");
    assert_eq!(event["path"], "/products/42");
    assert_eq!(event["httpMethod"], "DELETE");
    assert_eq!(event["pathParameters"], json!({"id": "42"}));
    assert_eq!(event["queryStringParameters"], json!({"q": "1"}));
    assert_eq!(event["stageVariables"], json!({"env": "dev", "color": "blue"}));
    assert_eq!(event["requestContext"]["resourcePath"], "/products/{id}");
    assert_eq!(event["requestContext"]["path"], "/dev/products/42");
    assert_eq!(event["requestContext"]["stage"], "dev");

    let (status, headers, body) = env.raw("GET", &host, "/dev/products", "").await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Missing Authentication Token"}"#));
    assert_eq!(headers["x-amzn-errortype"], "MissingAuthenticationTokenException");
    assert_eq!(env.raw("GET", &host, "/prod/products/1", "").await.0, 403);

    *crate::lock(&env.invoker.reply) = r#"{"statusCode":200,"unexpected":1}"#.to_owned();
    let (status, _, body) = env.raw("GET", &host, "/dev/products/1", "").await;
    assert_eq!((status, body.as_str()), (502, r#"{"message":"Internal server error"}"#));

    let (status, resources) = env.call("GET", &format!("/restapis/{id}/resources"), Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(resources["item"].as_array().map(Vec::len), Some(3));
    let (status, err) = env.call("GET", "/restapis/missing", Value::Null).await;
    assert_eq!(
        (status, err["message"].as_str()),
        (404, Some("Invalid API identifier specified 000000000000:missing"))
    );
    let (status, _) = env.call("GET", "/restapis/x/authorizers", Value::Null).await;
    assert_eq!(status, 501);
}
