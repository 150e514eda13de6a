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

/// Records each event and answers with `reply` (or a function error when `fail`), or with the
/// reply set for the function in `replies` (payload, failed).
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<(String, Value)>>,
    reply: Mutex<String>,
    fail: Mutex<bool>,
    replies: Mutex<std::collections::HashMap<String, (String, bool)>>,
}

impl FunctionInvoker for Recorder {
    fn invoke_async(&self, _: &str, _: Bytes, _: Option<types::trace::TraceHeader>) -> Result<(), PortError> {
        Err(PortError::Invalid("not used".to_owned()))
    }

    fn invoke(
        &self,
        arn: &str,
        payload: Bytes,
        _: Option<types::trace::TraceHeader>,
    ) -> BoxFuture<'_, Result<InvokeResponse, PortError>> {
        let event = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        crate::lock(&self.events).push((arn.to_owned(), event));
        let (reply, fail) = crate::lock(&self.replies)
            .get(arn)
            .cloned()
            .unwrap_or_else(|| (crate::lock(&self.reply).clone(), *crate::lock(&self.fail)));
        let reply = Bytes::from(reply);
        let function_error = fail.then(|| "Unhandled".to_owned());
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
        self.with_headers(method, host, uri, body, &[]).await
    }

    async fn with_headers(
        &self,
        method: &str,
        host: &str,
        uri: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (u16, http::HeaderMap, String) {
        let mut req = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("host", host)
            .header("user-agent", "test-agent");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Bytes::from(body.to_owned())).expect("request");
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
    assert_eq!(status, 404);
    let (status, _) = env.call("GET", "/restapis/x/models", Value::Null).await;
    assert_eq!(status, 404);
    // HTTP APIs' models are not served yet.
    let (status, _) = env.call("GET", "/v2/apis/x/models", Value::Null).await;
    assert_eq!(status, 501);
}

const AUTH_FN: &str = "arn:aws:lambda:us-east-1:000000000000:function:auth";

fn lambda_uri(arn: &str) -> String {
    format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations")
}

fn auth_policy(effect: &str, resource: &str, context: Value) -> String {
    json!({
        "principalId": "user-1",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
        ]},
        "context": context,
    })
    .to_string()
}

impl Env {
    fn reply_for(&self, arn: &str, payload: &str, fail: bool) {
        crate::lock(&self.invoker.replies).insert(arn.to_owned(), (payload.to_owned(), fail));
    }

    fn calls_to(&self, arn: &str) -> Vec<Value> {
        crate::lock(&self.invoker.events).iter().filter(|(a, _)| a == arn).map(|(_, e)| e.clone()).collect()
    }

    /// A REST API with `GET /pets/{id}` on a proxy integration, the method set up by `method`,
    /// deployed to `dev`. Returns the API id.
    async fn rest_pets(&self, method: impl FnOnce(&str) -> Value) -> (String, String) {
        let (_, api) = self.call("POST", "/restapis", json!({"name": "pets"})).await;
        let id = api["id"].as_str().expect("id").to_owned();
        let root = api["rootResourceId"].as_str().expect("root").to_owned();
        let (_, pets) =
            self.call("POST", &format!("/restapis/{id}/resources/{root}"), json!({"pathPart": "pets"})).await;
        let pets = pets["id"].as_str().expect("id").to_owned();
        let (_, pet) =
            self.call("POST", &format!("/restapis/{id}/resources/{pets}"), json!({"pathPart": "{id}"})).await;
        let pet = pet["id"].as_str().expect("id").to_owned();
        let path = format!("/restapis/{id}/resources/{pet}/methods/GET");
        let (status, m) = self.call("PUT", &path, method(&id)).await;
        assert_eq!(status, 201, "{m}");
        let integration = json!({"type": "AWS_PROXY", "httpMethod": "POST", "uri": lambda_uri(FN)});
        assert_eq!(self.call("PUT", &format!("{path}/integration"), integration).await.0, 201);
        (id, pet)
    }

    async fn deploy(&self, id: &str) {
        let (status, d) =
            self.call("POST", &format!("/restapis/{id}/deployments"), json!({"stageName": "dev"})).await;
        assert_eq!(status, 201, "{d}");
    }

    async fn get_pet(&self, id: &str, headers: &[(&str, &str)]) -> (u16, http::HeaderMap, String) {
        self.with_headers("GET", "127.0.0.1", &format!("/_aws/execute-api/{id}/dev/pets/7"), "", headers)
            .await
    }
}

#[tokio::test]
async fn rest_token_authorizer_allows_denies_and_caches() {
    let env = Env::new();
    let (_, api) = env.call("POST", "/restapis", json!({"name": "pets"})).await;
    let pre = api["id"].as_str().expect("id").to_owned();
    let (status, err) = env
        .call(
            "POST",
            &format!("/restapis/{pre}/authorizers"),
            json!({"name": "a", "type": "TOKEN", "authorizerUri": lambda_uri(AUTH_FN)}),
        )
        .await;
    assert_eq!(status, 400, "a TOKEN authorizer needs a header identity source: {err}");

    let (id, _) = env.rest_pets(|_| json!({"authorizationType": "NONE"})).await;
    let (status, a) = env
        .call(
            "POST",
            &format!("/restapis/{id}/authorizers"),
            json!({
                "name": "tokens", "type": "TOKEN", "authorizerUri": lambda_uri(AUTH_FN),
                "identitySource": "method.request.header.Authorization",
                "identityValidationExpression": "^Bearer .+$",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["authorizerResultTtlInSeconds"], 300);
    let auth_id = a["id"].as_str().expect("id").to_owned();
    let (_, resources) = env.call("GET", &format!("/restapis/{id}/resources"), Value::Null).await;
    let pet = resources["item"]
        .as_array()
        .and_then(|items| items.iter().find(|r| r["path"] == "/pets/{id}"))
        .and_then(|r| r["id"].as_str())
        .expect("pet resource")
        .to_owned();
    let method = format!("/restapis/{id}/resources/{pet}/methods/GET");
    let patch = |ops: Value| json!({ "patchOperations": ops });
    let (status, err) = env
        .call(
            "PATCH",
            &method,
            patch(json!([{"op": "replace", "path": "/authorizationType", "value": "CUSTOM"}])),
        )
        .await;
    assert_eq!(status, 400, "CUSTOM without an authorizer: {err}");
    let (status, m) = env
        .call(
            "PATCH",
            &method,
            patch(json!([
                {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
                {"op": "replace", "path": "/authorizerId", "value": auth_id},
            ])),
        )
        .await;
    assert_eq!(status, 200, "{m}");
    env.deploy(&id).await;

    // No token, or one the validation expression refuses: 401 without calling the function.
    let (status, headers, body) = env.get_pet(&id, &[]).await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    assert_eq!(headers["x-amzn-errortype"], "UnauthorizedException");
    assert_eq!(env.get_pet(&id, &[("authorization", "Basic abc")]).await.0, 401);
    assert!(env.calls_to(AUTH_FN).is_empty());

    env.reply_for(
        AUTH_FN,
        &auth_policy(
            "Allow",
            &format!("arn:aws:execute-api:*:*:{id}/dev/GET/*"),
            json!({"tier": "gold", "n": 3}),
        ),
        false,
    );
    let (status, _, body) = env.get_pet(&id, &[("authorization", "Bearer good")]).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let calls = env.calls_to(AUTH_FN);
    assert_eq!(
        calls[0],
        json!({
            "type": "TOKEN",
            "authorizationToken": "Bearer good",
            "methodArn": format!("arn:aws:execute-api:us-east-1:000000000000:{id}/dev/GET/pets/7"),
        })
    );
    let event = env.calls_to(FN).pop().expect("integration called");
    assert_eq!(
        event["requestContext"]["authorizer"],
        json!({"principalId": "user-1", "tier": "gold", "n": "3", "integrationLatency": 0})
    );
    // Cached for the same token: the function is not called again.
    assert_eq!(env.get_pet(&id, &[("authorization", "Bearer good")]).await.0, 200);
    assert_eq!(env.calls_to(AUTH_FN).len(), 1);

    env.reply_for(AUTH_FN, &auth_policy("Deny", "*", json!({})), false);
    let (status, headers, body) = env.get_pet(&id, &[("authorization", "Bearer bad")]).await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#)
    );
    assert_eq!(headers["x-amzn-errortype"], "AccessDeniedException");
    env.reply_for(AUTH_FN, &auth_policy("Allow", "arn:aws:execute-api:*:*:other/*", json!({})), false);
    let (status, _, body) = env.get_pet(&id, &[("authorization", "Bearer elsewhere")]).await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"Message":"User is not authorized to access this resource"}"#)
    );
    env.reply_for(AUTH_FN, r#"{"errorMessage":"Unauthorized","errorType":"Exception"}"#, true);
    assert_eq!(env.get_pet(&id, &[("authorization", "Bearer raises")]).await.0, 401);
    env.reply_for(AUTH_FN, r#"{"principalId":"x"}"#, false);
    let (status, headers, body) = env.get_pet(&id, &[("authorization", "Bearer broken")]).await;
    assert_eq!((status, body.as_str()), (500, r#"{"message":null}"#));
    assert_eq!(headers["x-amzn-errortype"], "AuthorizerConfigurationException");

    // With TTL 0 every request calls the function.
    let path = format!("/restapis/{id}/authorizers/{auth_id}");
    let (status, a) = env
        .call(
            "PATCH",
            &path,
            patch(json!([{"op": "replace", "path": "/authorizerResultTtlInSeconds", "value": "0"}])),
        )
        .await;
    assert_eq!((status, a["authorizerResultTtlInSeconds"].as_i64()), (200, Some(0)));
    env.deploy(&id).await;
    env.reply_for(AUTH_FN, &auth_policy("Allow", "*", json!({})), false);
    let before = env.calls_to(AUTH_FN).len();
    for _ in 0..2 {
        assert_eq!(env.get_pet(&id, &[("authorization", "Bearer good")]).await.0, 200);
    }
    assert_eq!(env.calls_to(AUTH_FN).len(), before + 2);
    let (_, list) = env.call("GET", &format!("/restapis/{id}/authorizers"), Value::Null).await;
    assert_eq!(list["item"].as_array().map(Vec::len), Some(1));
    assert_eq!(env.call("DELETE", &path, Value::Null).await.0, 409, "still used by a method");
}

#[tokio::test]
async fn rest_request_authorizer_gets_the_request_and_identity_sources() {
    let env = Env::new();
    let (id, pet) = env.rest_pets(|_| json!({"authorizationType": "NONE"})).await;
    let (status, a) = env
        .call(
            "POST",
            &format!("/restapis/{id}/authorizers"),
            json!({
                "name": "req", "type": "REQUEST", "authorizerUri": lambda_uri(AUTH_FN),
                "identitySource": "method.request.header.x-user, method.request.querystring.team",
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let auth_id = a["id"].as_str().expect("id");
    let method = format!("/restapis/{id}/resources/{pet}/methods/GET");
    let ops = json!({"patchOperations": [
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": auth_id},
    ]});
    assert_eq!(env.call("PATCH", &method, ops).await.0, 200);
    env.deploy(&id).await;
    env.reply_for(AUTH_FN, &auth_policy("Allow", "*", json!({})), false);
    let url = format!("/_aws/execute-api/{id}/dev/pets/7?team=blue");
    // One identity source missing, with caching on: 401 without a call.
    assert_eq!(env.with_headers("GET", "127.0.0.1", &url, "", &[]).await.0, 401);
    assert!(env.calls_to(AUTH_FN).is_empty());
    let (status, _, _) = env.with_headers("GET", "127.0.0.1", &url, "", &[("x-user", "ann")]).await;
    assert_eq!(status, 200);
    let event = env.calls_to(AUTH_FN).pop().expect("authorizer called");
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(event["methodArn"], format!("arn:aws:execute-api:us-east-1:000000000000:{id}/dev/GET/pets/7"));
    assert_eq!(event["resource"], "/pets/{id}");
    assert_eq!(event["headers"]["x-user"], "ann");
    assert_eq!(event["queryStringParameters"], json!({"team": "blue"}));
    assert_eq!(event["pathParameters"], json!({"id": "7"}));
    assert!(event.get("body").is_none());
    // Another identity: the cache does not answer for it.
    env.with_headers("GET", "127.0.0.1", &url, "", &[("x-user", "bob")]).await;
    env.with_headers("GET", "127.0.0.1", &url, "", &[("x-user", "ann")]).await;
    assert_eq!(env.calls_to(AUTH_FN).len(), 2);
}

#[tokio::test]
async fn http_request_authorizer_with_simple_responses() {
    let env = Env::new();
    let (_, api) =
        env.call("POST", "/v2/apis", json!({"name": "h", "protocolType": "HTTP", "target": FN})).await;
    let id = api["apiId"].as_str().expect("apiId").to_owned();
    let (status, a) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/authorizers"),
            json!({
                "name": "simple", "authorizerType": "REQUEST", "authorizerUri": AUTH_FN,
                "authorizerPayloadFormatVersion": "2.0", "enableSimpleResponses": true,
                "identitySource": ["$request.header.Authorization"], "authorizerResultTtlInSeconds": 0,
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let auth_id = a["authorizerId"].as_str().expect("id").to_owned();
    let (_, routes) = env.call("GET", &format!("/v2/apis/{id}/routes"), Value::Null).await;
    let route_id = routes["items"][0]["routeId"].as_str().expect("route").to_owned();
    let (status, r) = env
        .call(
            "PATCH",
            &format!("/v2/apis/{id}/routes/{route_id}"),
            json!({"authorizationType": "CUSTOM", "authorizerId": auth_id}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let host = format!("{id}.execute-api.localhost");
    let (status, _, body) = env.raw("GET", &host, "/x", "").await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    env.reply_for(AUTH_FN, r#"{"isAuthorized": false}"#, false);
    let (status, _, body) = env.with_headers("GET", &host, "/x", "", &[("authorization", "no")]).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    env.reply_for(AUTH_FN, r#"{"isAuthorized": true, "context": {"user": "ann", "n": 1}}"#, false);
    let (status, _, _) = env.with_headers("GET", &host, "/x?q=1", "", &[("authorization", "yes")]).await;
    assert_eq!(status, 200);
    let event = env.calls_to(AUTH_FN).pop().expect("authorizer called");
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["type"], "REQUEST");
    assert_eq!(event["identitySource"], json!(["yes"]));
    assert_eq!(event["routeArn"], format!("arn:aws:execute-api:us-east-1:000000000000:{id}/$default/GET/x"));
    assert_eq!(event["rawQueryString"], "q=1");
    let integration = env.calls_to(FN).pop().expect("integration called");
    assert_eq!(integration["requestContext"]["authorizer"], json!({"lambda": {"user": "ann", "n": 1}}));
    env.reply_for(AUTH_FN, r#"{"allowed": true}"#, false);
    let (status, _, body) = env.with_headers("GET", &host, "/x", "", &[("authorization", "odd")]).await;
    assert_eq!((status, body.as_str()), (500, r#"{"message":"Internal Server Error"}"#));
}

#[tokio::test]
async fn api_keys_usage_plans_and_throttling() {
    let env = Env::new();
    let (id, pet) = env.rest_pets(|_| json!({"authorizationType": "NONE", "apiKeyRequired": true})).await;
    env.deploy(&id).await;
    let (status, key) = env.call("POST", "/apikeys", json!({"name": "k", "enabled": true})).await;
    assert_eq!(status, 201, "{key}");
    let key_id = key["id"].as_str().expect("id").to_owned();
    let value = key["value"].as_str().expect("value").to_owned();
    assert_eq!(value.len(), 40);
    let (_, got) = env.call("GET", &format!("/apikeys/{key_id}"), Value::Null).await;
    assert!(got.get("value").is_none());
    let (_, got) = env.call("GET", &format!("/apikeys/{key_id}?includeValue=true"), Value::Null).await;
    assert_eq!(got["value"], value.as_str());

    // A key in no plan of this stage is refused like no key at all.
    let (status, _, body) = env.get_pet(&id, &[]).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    assert_eq!(env.get_pet(&id, &[("x-api-key", &value)]).await.0, 403);

    let (status, err) = env
        .call("POST", "/usageplans", json!({"name": "p", "apiStages": [{"apiId": id, "stage": "prod"}]}))
        .await;
    assert_eq!(status, 400, "unknown stage: {err}");
    let (status, plan) = env
        .call(
            "POST",
            "/usageplans",
            json!({
                "name": "p", "apiStages": [{"apiId": id, "stage": "dev"}],
                "throttle": {"rateLimit": 0.001, "burstLimit": 3},
                "quota": {"limit": 100, "period": "DAY"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["id"].as_str().expect("id").to_owned();
    let (status, pk) = env
        .call("POST", &format!("/usageplans/{plan_id}/keys"), json!({"keyId": key_id, "keyType": "API_KEY"}))
        .await;
    assert_eq!((status, pk["value"].as_str()), (201, Some(value.as_str())));
    for _ in 0..3 {
        assert_eq!(env.get_pet(&id, &[("x-api-key", &value)]).await.0, 200);
    }
    let (status, headers, body) = env.get_pet(&id, &[("x-api-key", &value)]).await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Too Many Requests"}"#));
    assert_eq!(headers["x-amzn-errortype"], "TooManyRequestsException");

    // The quota: lift the throttle, lower the limit to what was used.
    let ops = json!({"patchOperations": [
        {"op": "replace", "path": "/throttle/rateLimit", "value": "1000"},
        {"op": "replace", "path": "/throttle/burstLimit", "value": "1000"},
        {"op": "replace", "path": "/quota/limit", "value": "4"},
    ]});
    let (status, plan) = env.call("PATCH", &format!("/usageplans/{plan_id}"), ops).await;
    assert_eq!((status, plan["quota"]["limit"].as_i64()), (200, Some(4)));
    assert_eq!(env.get_pet(&id, &[("x-api-key", &value)]).await.0, 200);
    let (status, headers, body) = env.get_pet(&id, &[("x-api-key", &value)]).await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Limit Exceeded"}"#));
    assert_eq!(headers["x-amzn-errortype"], "LimitExceededException");

    // A disabled key is refused.
    let ops = json!({"patchOperations": [{"op": "replace", "path": "/enabled", "value": "false"}]});
    assert_eq!(env.call("PATCH", &format!("/apikeys/{key_id}"), ops).await.0, 200);
    assert_eq!(env.get_pet(&id, &[("x-api-key", &value)]).await.0, 403);
    let (_, keys) = env.call("GET", &format!("/usageplans/{plan_id}/keys"), Value::Null).await;
    assert_eq!(keys["item"].as_array().map(Vec::len), Some(1));
    assert_eq!(env.call("DELETE", &format!("/apikeys/{key_id}"), Value::Null).await.0, 202);
    let (_, keys) = env.call("GET", &format!("/usageplans/{plan_id}/keys"), Value::Null).await;
    assert_eq!(keys["item"].as_array().map(Vec::len), Some(0));

    // Stage throttling through method settings: burst 1, next request throttled.
    let method = format!("/restapis/{id}/resources/{pet}/methods/GET");
    let ops = json!({"patchOperations": [{"op": "replace", "path": "/apiKeyRequired", "value": "false"}]});
    assert_eq!(env.call("PATCH", &method, ops).await.0, 200);
    env.deploy(&id).await;
    let ops = json!({"patchOperations": [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.001"},
        {"op": "replace", "path": "/~1pets~1{id}/GET/throttling/burstLimit", "value": "1"},
        {"op": "replace", "path": "/~1pets~1{id}/GET/throttling/rateLimit", "value": "0.001"},
    ]});
    let (status, stage) = env.call("PATCH", &format!("/restapis/{id}/stages/dev"), ops).await;
    assert_eq!(status, 200, "{stage}");
    assert_eq!(stage["methodSettings"]["~1pets~1{id}/GET"]["throttlingBurstLimit"], 1);
    assert_eq!(stage["methodSettings"]["*/*"]["throttlingBurstLimit"], 5000);
    assert_eq!(env.get_pet(&id, &[]).await.0, 200);
    let (status, _, body) = env.get_pet(&id, &[]).await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Too Many Requests"}"#));
}

#[tokio::test]
async fn http_api_route_throttling() {
    let env = Env::new();
    let (_, api) =
        env.call("POST", "/v2/apis", json!({"name": "t", "protocolType": "HTTP", "target": FN})).await;
    let id = api["apiId"].as_str().expect("apiId").to_owned();
    let (status, stage) = env
        .call(
            "PATCH",
            &format!("/v2/apis/{id}/stages/$default"),
            json!({"defaultRouteSettings": {"throttlingBurstLimit": 2, "throttlingRateLimit": 0.001}}),
        )
        .await;
    assert_eq!(status, 200, "{stage}");
    assert_eq!(stage["defaultRouteSettings"]["throttlingBurstLimit"], 2);
    let host = format!("{id}.execute-api.localhost");
    assert_eq!(env.raw("GET", &host, "/a", "").await.0, 200);
    assert_eq!(env.raw("GET", &host, "/b", "").await.0, 200);
    let (status, headers, body) = env.raw("GET", &host, "/c", "").await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Too Many Requests"}"#));
    assert!(headers.get("x-amzn-errortype").is_none());
    // A route's own settings replace the defaults for it.
    let ops =
        json!({"routeSettings": {"$default": {"throttlingBurstLimit": 100, "throttlingRateLimit": 100.0}}});
    assert_eq!(env.call("PATCH", &format!("/v2/apis/{id}/stages/$default"), ops).await.0, 200);
    assert_eq!(env.raw("GET", &host, "/d", "").await.0, 200);
}

/// An RSA key that signs test tokens, and an OpenID issuer on a loopback port serving its JWKS.
struct Issuer {
    key: aws_lc_rs::rsa::KeyPair,
    url: String,
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The modulus and exponent of a DER `RSAPublicKey` (SEQUENCE of two INTEGERs).
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    fn read(der: &[u8], at: usize) -> (usize, usize) {
        // (content start, content length) of the element at `at`.
        let first = der[at + 1];
        if first & 0x80 == 0 {
            return (at + 2, usize::from(first));
        }
        let n = usize::from(first & 0x7f);
        let len = der[at + 2..at + 2 + n].iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (at + 2 + n, len)
    }
    let (seq, _) = read(der, 0);
    let (n_at, n_len) = read(der, seq);
    let (e_at, e_len) = read(der, n_at + n_len);
    let strip = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
    (strip(&der[n_at..n_at + n_len]), strip(&der[e_at..e_at + e_len]))
}

impl Issuer {
    async fn start() -> Issuer {
        use aws_lc_rs::signature::KeyPair as _;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa key");
        let (n, e) = rsa_components(key.public_key().as_ref());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
        let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": b64url(&n), "e": b64url(&e)}]});
        let config = json!({"issuer": url, "jwks_uri": format!("{url}/keys")});
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                let body = if request.starts_with("GET /.well-known/openid-configuration") {
                    config.to_string()
                } else {
                    jwks.to_string()
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(resp.as_bytes()).await;
            }
        });
        Issuer { key, url }
    }

    fn token(&self, kid: &str, claims: Value) -> String {
        let header = b64url(json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string().as_bytes());
        let signed = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signed.as_bytes(),
                &mut signature,
            )
            .expect("sign");
        format!("{signed}.{}", b64url(&signature))
    }
}

#[tokio::test]
async fn http_jwt_authorizer_checks_signature_claims_and_scopes() {
    let env = Env::new();
    let issuer = Issuer::start().await;
    let (_, api) =
        env.call("POST", "/v2/apis", json!({"name": "j", "protocolType": "HTTP", "target": FN})).await;
    let id = api["apiId"].as_str().expect("apiId").to_owned();
    let (status, err) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/authorizers"),
            json!({"name": "jwt", "authorizerType": "JWT", "identitySource": ["$request.header.Authorization"]}),
        )
        .await;
    assert_eq!(status, 400, "no issuer: {err}");
    let (status, a) = env
        .call(
            "POST",
            &format!("/v2/apis/{id}/authorizers"),
            json!({
                "name": "jwt", "authorizerType": "JWT", "identitySource": ["$request.header.Authorization"],
                "jwtConfiguration": {"issuer": issuer.url, "audience": ["app"]},
            }),
        )
        .await;
    assert_eq!(status, 201, "{a}");
    let (_, routes) = env.call("GET", &format!("/v2/apis/{id}/routes"), Value::Null).await;
    let route_id = routes["items"][0]["routeId"].as_str().expect("route").to_owned();
    let (status, r) = env
        .call(
            "PATCH",
            &format!("/v2/apis/{id}/routes/{route_id}"),
            json!({"authorizationType": "JWT", "authorizerId": a["authorizerId"], "authorizationScopes": ["read"]}),
        )
        .await;
    assert_eq!(status, 200, "{r}");

    let host = format!("{id}.execute-api.localhost");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |extra: Value| {
        let mut c = json!({"iss": issuer.url, "aud": "app", "sub": "u1", "exp": now + 600, "scope": "read"});
        if let (Value::Object(c), Value::Object(extra)) = (&mut c, extra) {
            c.extend(extra);
        }
        c
    };
    let call = |token: String| {
        let host = host.clone();
        let env = &env;
        async move {
            env.with_headers("GET", &host, "/x", "", &[("authorization", &format!("Bearer {token}"))]).await
        }
    };
    let (status, headers, body) = env.raw("GET", &host, "/x", "").await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    assert_eq!(headers["www-authenticate"], "Bearer");

    let (status, _, body) = call(issuer.token("k1", claims(json!({})))).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let event = env.calls_to(FN).pop().expect("integration called");
    assert_eq!(event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"], "u1");
    assert_eq!(event["requestContext"]["authorizer"]["jwt"]["scopes"], json!(["read"]));

    let (status, headers, _) = call(issuer.token("k1", claims(json!({"exp": now - 10})))).await;
    assert_eq!(status, 401);
    assert!(headers["www-authenticate"].to_str().unwrap_or_default().contains("the token has expired"));
    assert_eq!(call(issuer.token("k1", claims(json!({"aud": "web"})))).await.0, 401);
    assert_eq!(call(issuer.token("k2", claims(json!({})))).await.0, 401, "unknown kid");
    let (status, _, body) = call(issuer.token("k1", claims(json!({"scope": "write"})))).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    let mut forged = issuer.token("k1", claims(json!({})));
    let payload = b64url(claims(json!({"sub": "admin"})).to_string().as_bytes());
    let parts: Vec<&str> = forged.split('.').collect();
    forged = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(call(forged).await.0, 401, "a signature over other claims");
}

#[tokio::test]
async fn test_invoke_authorizer_and_flushing_its_cache() {
    let env = Env::new();
    let (id, pet) = env.rest_pets(|_| json!({"authorizationType": "NONE"})).await;
    let (_, a) = env
        .call(
            "POST",
            &format!("/restapis/{id}/authorizers"),
            json!({"name": "t", "type": "TOKEN", "authorizerUri": lambda_uri(AUTH_FN), "identitySource": "method.request.header.Authorization"}),
        )
        .await;
    let auth_id = a["id"].as_str().expect("id").to_owned();
    env.reply_for(AUTH_FN, &auth_policy("Allow", "*", json!({})), false);
    let path = format!("/restapis/{id}/authorizers/{auth_id}");
    let (status, out) = env
        .call("POST", &path, json!({"headers": {"Authorization": "tok"}, "pathWithQueryString": "/pets/1"}))
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((out["clientStatus"].as_i64(), out["principalId"].as_str()), (Some(200), Some("user-1")));
    assert!(out["policy"].as_str().is_some_and(|p| p.contains("execute-api:Invoke")), "{out}");
    let event = env.calls_to(AUTH_FN).pop().expect("called");
    assert_eq!(event["authorizationToken"], "tok");
    assert_eq!(
        event["methodArn"],
        format!("arn:aws:execute-api:us-east-1:000000000000:{id}/test-invoke-stage/GET/pets/1")
    );
    let (_, out) = env.call("POST", &path, json!({"pathWithQueryString": "/pets/1"})).await;
    assert_eq!(out["clientStatus"], 401);

    let method = format!("/restapis/{id}/resources/{pet}/methods/GET");
    let ops = json!({"patchOperations": [
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": auth_id},
    ]});
    assert_eq!(env.call("PATCH", &method, ops).await.0, 200);
    env.deploy(&id).await;
    let before = env.calls_to(AUTH_FN).len();
    for _ in 0..2 {
        assert_eq!(env.get_pet(&id, &[("authorization", "tok")]).await.0, 200);
    }
    assert_eq!(env.calls_to(AUTH_FN).len(), before + 1, "the second answer came from the cache");
    assert_eq!(
        env.call("DELETE", &format!("/restapis/{id}/stages/dev/cache/authorizers"), Value::Null).await.0,
        202
    );
    assert_eq!(env.get_pet(&id, &[("authorization", "tok")]).await.0, 200);
    assert_eq!(env.calls_to(AUTH_FN).len(), before + 2, "flushed");
    assert_eq!(
        env.call("DELETE", &format!("/restapis/{id}/stages/nope/cache/authorizers"), Value::Null).await.0,
        404
    );
}

#[tokio::test]
async fn api_key_from_the_authorizer_and_method_throttles_of_a_plan() {
    let env = Env::new();
    let (id, pet) = env.rest_pets(|_| json!({"authorizationType": "NONE", "apiKeyRequired": true})).await;
    let (_, a) = env
        .call(
            "POST",
            &format!("/restapis/{id}/authorizers"),
            json!({"name": "t", "type": "TOKEN", "authorizerUri": lambda_uri(AUTH_FN), "identitySource": "method.request.header.Authorization", "authorizerResultTtlInSeconds": 0}),
        )
        .await;
    let ops = json!({"patchOperations": [
        {"op": "replace", "path": "/authorizationType", "value": "CUSTOM"},
        {"op": "replace", "path": "/authorizerId", "value": a["id"]},
    ]});
    assert_eq!(env.call("PATCH", &format!("/restapis/{id}/resources/{pet}/methods/GET"), ops).await.0, 200);
    let ops = json!({"patchOperations": [{"op": "replace", "path": "/apiKeySource", "value": "AUTHORIZER"}]});
    assert_eq!(env.call("PATCH", &format!("/restapis/{id}"), ops).await.0, 200);
    env.deploy(&id).await;
    let (_, key) = env
        .call("POST", "/apikeys", json!({"name": "k", "enabled": true, "value": "from-the-authorizer-0001"}))
        .await;
    let (status, plan) = env
        .call(
            "POST",
            "/usageplans",
            json!({
                "name": "p",
                "apiStages": [{"apiId": id, "stage": "dev", "throttle": {"/pets/{id}/GET": {"burstLimit": 1, "rateLimit": 0.001}}}],
                "throttle": {"burstLimit": 100, "rateLimit": 100.0},
            }),
        )
        .await;
    assert_eq!(status, 201, "{plan}");
    let plan_id = plan["id"].as_str().expect("id");
    let body = json!({"keyId": key["id"], "keyType": "API_KEY"});
    assert_eq!(env.call("POST", &format!("/usageplans/{plan_id}/keys"), body).await.0, 201);

    // The x-api-key header does not count when the key comes from the authorizer.
    env.reply_for(AUTH_FN, &auth_policy("Allow", "*", json!({})), false);
    let (status, _, _) =
        env.get_pet(&id, &[("authorization", "t"), ("x-api-key", "from-the-authorizer-0001")]).await;
    assert_eq!(status, 403);
    let mut with_key: Value = serde_json::from_str(&auth_policy("Allow", "*", json!({}))).expect("json");
    with_key["usageIdentifierKey"] = json!("from-the-authorizer-0001");
    env.reply_for(AUTH_FN, &with_key.to_string(), false);
    assert_eq!(env.get_pet(&id, &[("authorization", "t")]).await.0, 200);
    // The plan's throttle for this method (burst 1) applies, not the plan-wide one.
    assert_eq!(env.get_pet(&id, &[("authorization", "t")]).await.0, 429);
    let (_, plans) = env
        .call("GET", &format!("/usageplans?keyId={}", key["id"].as_str().unwrap_or_default()), Value::Null)
        .await;
    assert_eq!(plans["item"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn keys_plans_and_authorizers_come_back_from_the_store() {
    let store = Store::memory();
    let invoker = Arc::new(Recorder::default());
    let first = Env {
        svc: ApiGatewayService::new(store.clone(), Arc::new(types::SystemClock), invoker.clone())
            .expect("service"),
        invoker: invoker.clone(),
    };
    let (id, _) = first.rest_pets(|_| json!({"authorizationType": "NONE"})).await;
    let (_, a) = first
        .call(
            "POST",
            &format!("/restapis/{id}/authorizers"),
            json!({"name": "t", "type": "TOKEN", "authorizerUri": lambda_uri(AUTH_FN), "identitySource": "method.request.header.Authorization"}),
        )
        .await;
    first.deploy(&id).await;
    let (_, key) = first.call("POST", "/apikeys", json!({"name": "k", "enabled": true})).await;
    let (_, plan) = first
        .call("POST", "/usageplans", json!({"name": "p", "apiStages": [{"apiId": id, "stage": "dev"}]}))
        .await;
    let plan_id = plan["id"].as_str().expect("id");
    let body = json!({"keyId": key["id"], "keyType": "API_KEY"});
    assert_eq!(first.call("POST", &format!("/usageplans/{plan_id}/keys"), body).await.0, 201);

    let second = Env {
        svc: ApiGatewayService::new(store, Arc::new(types::SystemClock), invoker.clone()).expect("service"),
        invoker,
    };
    let auth_id = a["id"].as_str().expect("id");
    assert_eq!(
        second.call("GET", &format!("/restapis/{id}/authorizers/{auth_id}"), Value::Null).await.0,
        200
    );
    let key_id = key["id"].as_str().expect("id");
    let (status, got) =
        second.call("GET", &format!("/apikeys/{key_id}?includeValue=true"), Value::Null).await;
    assert_eq!((status, &got["value"]), (200, &key["value"]));
    let (_, keys) = second.call("GET", &format!("/usageplans/{plan_id}/keys"), Value::Null).await;
    assert_eq!(keys["item"][0]["id"], key["id"]);
}

mod models;
