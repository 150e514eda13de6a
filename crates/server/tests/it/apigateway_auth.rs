//! API Gateway's gatekeeping end to end: Lambda authorizers (REST `TOKEN` and `REQUEST`, HTTP API
//! `REQUEST` with simple responses) that are real Python functions, API keys with usage plans,
//! and stage, method and route throttling, driven through `aws-sdk-apigateway`,
//! `aws-sdk-apigatewayv2` and plain HTTP against the invoke URLs.

use crate::apigateway::{PY_EVENT_ECHO, get, json_of};
use crate::harness::Server;
use crate::lambda::create_python;
use aws_sdk_apigateway::types::{
    ApiStage, AuthorizerType, IntegrationType as RestIntegrationType, Op, PatchOperation, QuotaPeriodType,
    QuotaSettings, ThrottleSettings,
};
use aws_sdk_apigatewayv2::types::{
    AuthorizationType, AuthorizerType as HttpAuthorizerType, ProtocolType, RouteSettings,
};

/// A REST authorizer: the token (or the `x-token` header of a REQUEST event) decides. `…good`
/// is allowed on the whole API, anything else explicitly denied; `raise` fails with
/// `Unauthorized`, `broken` answers without a policy. The context carries a fresh nonce, so a
/// test can tell a cached result from a new call.
const PY_POLICY_AUTHORIZER: &str = r#"
import uuid

def handler(event, context):
    token = event.get("authorizationToken") or (event.get("headers") or {}).get("x-token", "")
    if token == "raise":
        raise Exception("Unauthorized")
    if token == "broken":
        return {"nope": True}
    effect = "Allow" if token.endswith("good") else "Deny"
    api = event["methodArn"].split("/")[0]
    return {
        "principalId": "user-" + token,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": api + "/*"}],
        },
        "context": {"nonce": str(uuid.uuid4()), "count": 7, "admin": True, "type": event["type"]},
    }
"#;

/// An HTTP API authorizer with simple responses: `letmein` is authorized.
const PY_SIMPLE_AUTHORIZER: &str = r#"
import uuid

def handler(event, context):
    return {
        "isAuthorized": event["identitySource"][0] == "letmein",
        "context": {"nonce": str(uuid.uuid4()), "route": event["routeKey"], "version": event["version"]},
    }
"#;

fn lambda_uri(function_arn: &str) -> String {
    format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations")
}

/// A REST API with one resource per `(path part, authorization, authorizer, api key required)`,
/// each with `GET` on a proxy integration to `echo_uri`. Returns the API id.
async fn rest_api(
    apigw: &aws_sdk_apigateway::Client,
    echo_uri: &str,
    setup: impl AsyncFnOnce(&str) -> Vec<(&'static str, &'static str, Option<String>, bool)>,
) -> String {
    let api = apigw.create_rest_api().name("guarded").send().await.expect("create rest api");
    let api_id = api.id().expect("id").to_owned();
    let root = api.root_resource_id().expect("root").to_owned();
    for (part, authorization, authorizer, key_required) in setup(&api_id).await {
        let resource = apigw
            .create_resource()
            .rest_api_id(&api_id)
            .parent_id(&root)
            .path_part(part)
            .send()
            .await
            .expect("create resource");
        let resource = resource.id().expect("id");
        apigw
            .put_method()
            .rest_api_id(&api_id)
            .resource_id(resource)
            .http_method("GET")
            .authorization_type(authorization)
            .set_authorizer_id(authorizer)
            .api_key_required(key_required)
            .send()
            .await
            .expect("put method");
        apigw
            .put_integration()
            .rest_api_id(&api_id)
            .resource_id(resource)
            .http_method("GET")
            .r#type(RestIntegrationType::AwsProxy)
            .integration_http_method("POST")
            .uri(echo_uri)
            .send()
            .await
            .expect("put integration");
    }
    api_id
}

#[tokio::test]
async fn rest_lambda_authorizers_allow_deny_cache_and_pass_their_context() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let echo = create_python(&lambda, "apigw-auth-echo", PY_EVENT_ECHO, &[]).await;
    let echo_uri = lambda_uri(echo.function_arn().expect("arn"));
    let authorizer_fn = create_python(&lambda, "apigw-authorizer", PY_POLICY_AUTHORIZER, &[]).await;
    let authorizer_uri = lambda_uri(authorizer_fn.function_arn().expect("arn"));
    let apigw = server.apigateway().await;

    let api_id = rest_api(&apigw, &echo_uri, async |api_id: &str| {
        let token = apigw
            .create_authorizer()
            .rest_api_id(api_id)
            .name("tokens")
            .r#type(AuthorizerType::Token)
            .authorizer_uri(&authorizer_uri)
            .identity_source("method.request.header.Authorization")
            .identity_validation_expression("^Bearer .+$")
            .send()
            .await
            .expect("create TOKEN authorizer");
        assert_eq!(token.authorizer_result_ttl_in_seconds(), Some(300));
        let request = apigw
            .create_authorizer()
            .rest_api_id(api_id)
            .name("requests")
            .r#type(AuthorizerType::Request)
            .authorizer_uri(&authorizer_uri)
            .identity_source("method.request.header.x-token,method.request.querystring.team")
            .authorizer_result_ttl_in_seconds(0)
            .send()
            .await
            .expect("create REQUEST authorizer");
        vec![
            ("pets", "CUSTOM", token.id().map(str::to_owned), false),
            ("teams", "CUSTOM", request.id().map(str::to_owned), false),
        ]
    })
    .await;
    let authorizers = apigw.get_authorizers().rest_api_id(&api_id).send().await.expect("get authorizers");
    assert_eq!(authorizers.items().len(), 2);
    apigw.create_deployment().rest_api_id(&api_id).stage_name("dev").send().await.expect("deploy");
    let pets = server.execute_api(&api_id, "/dev/pets");

    // No token, or one the validation expression refuses: 401 before any function runs.
    let (status, headers, body) = get(&pets, &[]).await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    assert_eq!(headers["x-amzn-errortype"], "UnauthorizedException");
    assert_eq!(get(&pets, &[("authorization", "Basic good")]).await.0, 401);

    let (status, _, body) = get(&pets, &[("authorization", "Bearer good")]).await;
    assert_eq!(status, 200, "{body}");
    let authorizer = json_of(&body)["requestContext"]["authorizer"].clone();
    assert_eq!(authorizer["principalId"], "user-Bearer good");
    assert_eq!((authorizer["count"].as_str(), authorizer["admin"].as_str()), (Some("7"), Some("true")));
    assert_eq!(authorizer["type"], "TOKEN");
    let nonce = authorizer["nonce"].as_str().expect("nonce").to_owned();
    // Within the TTL the same token is answered from the cache: the function is not called.
    let (status, _, body) = get(&pets, &[("authorization", "Bearer good")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body)["requestContext"]["authorizer"]["nonce"], nonce.as_str());

    let (status, headers, body) = get(&pets, &[("authorization", "Bearer bad")]).await;
    assert_eq!(
        (status, body.as_str()),
        (403, r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#)
    );
    assert_eq!(headers["x-amzn-errortype"], "AccessDeniedException");

    // REQUEST authorizer, TTL 0: called every time, with the request itself.
    let teams = server.execute_api(&api_id, "/dev/teams?team=blue");
    let (status, _, body) = get(&teams, &[("x-token", "raise")]).await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    let (status, headers, body) = get(&teams, &[("x-token", "broken")]).await;
    assert_eq!((status, body.as_str()), (500, r#"{"message":null}"#));
    assert_eq!(headers["x-amzn-errortype"], "AuthorizerConfigurationException");
    let (status, _, body) = get(&teams, &[("x-token", "good")]).await;
    assert_eq!(status, 200, "{body}");
    let first = json_of(&body)["requestContext"]["authorizer"].clone();
    assert_eq!(first["type"], "REQUEST");
    let (_, _, body) = get(&teams, &[("x-token", "good")]).await;
    assert_ne!(json_of(&body)["requestContext"]["authorizer"]["nonce"], first["nonce"]);
    assert_eq!(get(&teams, &[("x-token", "bad")]).await.0, 403);

    // An authorizer in use cannot be deleted; a patched TTL shows in GetAuthorizer.
    let token_id = authorizers.items().iter().find(|a| a.name() == Some("tokens")).and_then(|a| a.id());
    let token_id = token_id.expect("tokens authorizer").to_owned();
    let patched = apigw
        .update_authorizer()
        .rest_api_id(&api_id)
        .authorizer_id(&token_id)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Replace)
                .path("/authorizerResultTtlInSeconds")
                .value("60")
                .build(),
        )
        .send()
        .await
        .expect("update authorizer");
    assert_eq!(patched.authorizer_result_ttl_in_seconds(), Some(60));
    let err = apigw
        .delete_authorizer()
        .rest_api_id(&api_id)
        .authorizer_id(&token_id)
        .send()
        .await
        .expect_err("in use")
        .into_service_error();
    assert!(err.is_conflict_exception(), "{err:?}");
}

#[tokio::test]
async fn http_api_request_authorizer_with_simple_responses_and_caching() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let echo = create_python(&lambda, "apigw-auth-echo-v2", PY_EVENT_ECHO, &[]).await;
    let authorizer_fn = create_python(&lambda, "apigw-simple-authorizer", PY_SIMPLE_AUTHORIZER, &[]).await;
    let apigw = server.apigatewayv2().await;

    let api = apigw
        .create_api()
        .name("guarded-http")
        .protocol_type(ProtocolType::Http)
        .target(echo.function_arn().expect("arn"))
        .send()
        .await
        .expect("quick create");
    let api_id = api.api_id().expect("id");
    let authorizer = apigw
        .create_authorizer()
        .api_id(api_id)
        .name("simple")
        .authorizer_type(HttpAuthorizerType::Request)
        .authorizer_uri(authorizer_fn.function_arn().expect("arn"))
        .authorizer_payload_format_version("2.0")
        .enable_simple_responses(true)
        .identity_source("$request.header.Authorization")
        .authorizer_result_ttl_in_seconds(300)
        .send()
        .await
        .expect("create authorizer");
    let routes = apigw.get_routes().api_id(api_id).send().await.expect("routes");
    let route_id = routes.items()[0].route_id().expect("route id");
    apigw
        .update_route()
        .api_id(api_id)
        .route_id(route_id)
        .authorization_type(AuthorizationType::Custom)
        .authorizer_id(authorizer.authorizer_id().expect("id"))
        .send()
        .await
        .expect("update route");

    let url = server.execute_api(api_id, "/orders/1");
    let (status, _, body) = get(&url, &[]).await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    let (status, _, body) = get(&url, &[("authorization", "nope")]).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    let (status, _, body) = get(&url, &[("authorization", "letmein")]).await;
    assert_eq!(status, 200, "{body}");
    let lambda_context = json_of(&body)["requestContext"]["authorizer"]["lambda"].clone();
    assert_eq!(lambda_context["route"], "$default");
    assert_eq!(lambda_context["version"], "2.0");
    let (_, _, body) = get(&url, &[("authorization", "letmein")]).await;
    assert_eq!(json_of(&body)["requestContext"]["authorizer"]["lambda"]["nonce"], lambda_context["nonce"]);
}

#[tokio::test]
async fn api_keys_usage_plans_and_throttling_answer_as_aws() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let echo = create_python(&lambda, "apigw-keys-echo", PY_EVENT_ECHO, &[]).await;
    let echo_uri = lambda_uri(echo.function_arn().expect("arn"));
    let apigw = server.apigateway().await;
    let api_id = rest_api(&apigw, &echo_uri, async |_: &str| {
        vec![("keyed", "NONE", None, true), ("open", "NONE", None, false)]
    })
    .await;
    for stage in ["dev", "prod"] {
        apigw.create_deployment().rest_api_id(&api_id).stage_name(stage).send().await.expect("deploy");
    }

    let fast = apigw
        .create_api_key()
        .name("fast")
        .enabled(true)
        .value("fast-key-0123456789abcdef")
        .send()
        .await
        .expect("create api key");
    assert_eq!(fast.value(), Some("fast-key-0123456789abcdef"));
    let counted = apigw.create_api_key().name("counted").enabled(true).send().await.expect("create api key");
    let counted_value = counted.value().expect("generated value").to_owned();
    let listed = apigw.get_api_key().api_key(counted.id().expect("id")).send().await.expect("get api key");
    assert_eq!(listed.value(), None, "values only with includeValue");

    let throttled_plan = apigw
        .create_usage_plan()
        .name("throttled")
        .api_stages(ApiStage::builder().api_id(&api_id).stage("dev").build())
        .throttle(ThrottleSettings::builder().rate_limit(5.0).burst_limit(5).build())
        .send()
        .await
        .expect("create usage plan");
    let quota_plan = apigw
        .create_usage_plan()
        .name("quota")
        .api_stages(ApiStage::builder().api_id(&api_id).stage("prod").build())
        .quota(QuotaSettings::builder().limit(3).period(QuotaPeriodType::Day).build())
        .send()
        .await
        .expect("create usage plan");
    for (plan, key) in [(&throttled_plan, &fast), (&quota_plan, &counted)] {
        apigw
            .create_usage_plan_key()
            .usage_plan_id(plan.id().expect("id"))
            .key_id(key.id().expect("id"))
            .key_type("API_KEY")
            .send()
            .await
            .expect("create usage plan key");
    }
    let keys = apigw.get_usage_plan_keys().usage_plan_id(quota_plan.id().expect("id")).send().await;
    assert_eq!(keys.expect("get usage plan keys").items()[0].value(), Some(counted_value.as_str()));

    // Without a key, or with a key from another stage's plan: 403 Forbidden.
    let keyed_dev = server.execute_api(&api_id, "/dev/keyed");
    let (status, headers, body) = get(&keyed_dev, &[]).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    assert_eq!(headers["x-amzn-errortype"], "ForbiddenException");
    assert_eq!(get(&keyed_dev, &[("x-api-key", &counted_value)]).await.0, 403);

    // Rate 5/s, burst 5: ten requests at once get at least one 429.
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let url = keyed_dev.clone();
            tokio::spawn(async move { get(&url, &[("x-api-key", "fast-key-0123456789abcdef")]).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("request task"));
    }
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let limited: Vec<&(u16, reqwest::header::HeaderMap, String)> =
        results.iter().filter(|r| r.0 == 429).collect();
    assert!(ok >= 5, "the burst is served: {ok}");
    assert!(!limited.is_empty(), "past the burst: 429");
    assert_eq!(limited[0].2, r#"{"message":"Too Many Requests"}"#);
    assert_eq!(limited[0].1["x-amzn-errortype"], "TooManyRequestsException");

    // Quota 3 a day.
    let keyed_prod = server.execute_api(&api_id, "/prod/keyed");
    for _ in 0..3 {
        assert_eq!(get(&keyed_prod, &[("x-api-key", &counted_value)]).await.0, 200);
    }
    let (status, headers, body) = get(&keyed_prod, &[("x-api-key", &counted_value)]).await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Limit Exceeded"}"#));
    assert_eq!(headers["x-amzn-errortype"], "LimitExceededException");

    // GetUsage reports today's [used, remaining]; UpdateUsage extends the quota.
    let plan_id = quota_plan.id().expect("id");
    let counted_id = counted.id().expect("key id");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let usage = apigw.get_usage().usage_plan_id(plan_id).start_date(&today).end_date(&today).send().await;
    let usage = usage.expect("get usage");
    assert_eq!(usage.items().and_then(|i| i.get(counted_id)), Some(&vec![vec![3, 0]]));
    let extended = apigw
        .update_usage()
        .usage_plan_id(plan_id)
        .key_id(counted_id)
        .patch_operations(PatchOperation::builder().op(Op::Replace).path("/remaining").value("2").build())
        .send()
        .await
        .expect("update usage");
    assert_eq!(extended.items().and_then(|i| i.get(counted_id)), Some(&vec![vec![3, 2]]));
    assert_eq!(get(&keyed_prod, &[("x-api-key", &counted_value)]).await.0, 200);
    let usage =
        apigw.get_usage().usage_plan_id(plan_id).key_id(counted_id).start_date(&today).end_date(&today);
    let usage = usage.send().await.expect("get usage");
    assert_eq!(usage.items().and_then(|i| i.get(counted_id)), Some(&vec![vec![4, 1]]));
    let bad = apigw.get_usage().usage_plan_id(plan_id).start_date("yesterday").end_date(&today).send().await;
    assert!(bad.expect_err("a bad date").into_service_error().is_bad_request_exception());

    // Stage throttling through method settings: burst 1 on every method of prod.
    let open_prod = server.execute_api(&api_id, "/prod/open");
    assert_eq!(get(&open_prod, &[]).await.0, 200);
    let stage = apigw
        .update_stage()
        .rest_api_id(&api_id)
        .stage_name("prod")
        .patch_operations(
            PatchOperation::builder().op(Op::Replace).path("/*/*/throttling/burstLimit").value("1").build(),
        )
        .patch_operations(
            PatchOperation::builder().op(Op::Replace).path("/*/*/throttling/rateLimit").value("0.01").build(),
        )
        .send()
        .await
        .expect("update stage");
    let setting = stage.method_settings().and_then(|m| m.get("*/*")).expect("*/* setting");
    assert_eq!((setting.throttling_burst_limit(), setting.throttling_rate_limit()), (1, 0.01));
    assert_eq!(get(&open_prod, &[]).await.0, 200);
    let (status, _, body) = get(&open_prod, &[]).await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Too Many Requests"}"#));
    // dev has no method settings.
    assert_eq!(get(&server.execute_api(&api_id, "/dev/open"), &[]).await.0, 200);

    // HTTP API stage throttling: DefaultRouteSettings.
    let v2 = server.apigatewayv2().await;
    let http = v2
        .create_api()
        .name("throttled-http")
        .protocol_type(ProtocolType::Http)
        .target(echo.function_arn().expect("arn"))
        .send()
        .await
        .expect("quick create");
    let http_id = http.api_id().expect("id");
    let stage = v2
        .update_stage()
        .api_id(http_id)
        .stage_name("$default")
        .default_route_settings(
            RouteSettings::builder().throttling_burst_limit(1).throttling_rate_limit(0.01).build(),
        )
        .send()
        .await
        .expect("update stage");
    assert_eq!(stage.default_route_settings().and_then(|s| s.throttling_burst_limit()), Some(1));
    let url = server.execute_api(http_id, "/x");
    assert_eq!(get(&url, &[]).await.0, 200);
    let (status, _, body) = get(&url, &[]).await;
    assert_eq!((status, body.as_str()), (429, r#"{"message":"Too Many Requests"}"#));
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The modulus and exponent of a DER `RSAPublicKey`: a SEQUENCE of two INTEGERs.
fn rsa_components(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    // (content start, content length) of the DER element at `at`.
    let element = |at: usize| -> (usize, usize) {
        let first = der[at + 1];
        if first & 0x80 == 0 {
            return (at + 2, usize::from(first));
        }
        let n = usize::from(first & 0x7f);
        (at + 2 + n, der[at + 2..at + 2 + n].iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b)))
    };
    let (sequence, _) = element(0);
    let (n_at, n_len) = element(sequence);
    let (e_at, e_len) = element(n_at + n_len);
    let strip = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
    (strip(&der[n_at..n_at + n_len]), strip(&der[e_at..e_at + e_len]))
}

/// An OpenID issuer on a loopback port (discovery document and JWKS), and its signing key.
async fn start_issuer() -> (aws_lc_rs::rsa::KeyPair, String) {
    use aws_lc_rs::signature::KeyPair as _;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("rsa key");
    let (n, e) = rsa_components(key.public_key().as_ref());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    let jwks = serde_json::json!({"keys": [{"kty": "RSA", "kid": "main", "use": "sig", "n": b64url(&n), "e": b64url(&e)}]});
    let config = serde_json::json!({"issuer": url, "jwks_uri": format!("{url}/jwks.json")});
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let n = conn.read(&mut buf).await.unwrap_or(0);
            let discovery = buf[..n].starts_with(b"GET /.well-known/openid-configuration");
            let body = if discovery { config.to_string() } else { jwks.to_string() };
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(format!("{head}{body}").as_bytes()).await;
        }
    });
    (key, url)
}

fn sign(key: &aws_lc_rs::rsa::KeyPair, claims: &serde_json::Value) -> String {
    let header = b64url(br#"{"alg":"RS256","typ":"JWT","kid":"main"}"#);
    let signed = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    format!("{signed}.{}", b64url(&signature))
}

#[tokio::test]
async fn http_api_jwt_authorizer_verifies_tokens_against_the_issuer_jwks() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let echo = create_python(&lambda, "apigw-jwt-echo", PY_EVENT_ECHO, &[]).await;
    let (key, issuer) = start_issuer().await;
    let apigw = server.apigatewayv2().await;
    let api = apigw
        .create_api()
        .name("jwt")
        .protocol_type(ProtocolType::Http)
        .target(echo.function_arn().expect("arn"))
        .send()
        .await
        .expect("quick create");
    let api_id = api.api_id().expect("id");
    let authorizer = apigw
        .create_authorizer()
        .api_id(api_id)
        .name("jwt")
        .authorizer_type(HttpAuthorizerType::Jwt)
        .identity_source("$request.header.Authorization")
        .jwt_configuration(
            aws_sdk_apigatewayv2::types::JwtConfiguration::builder()
                .issuer(&issuer)
                .audience("orders-app")
                .build(),
        )
        .send()
        .await
        .expect("create JWT authorizer");
    let routes = apigw.get_routes().api_id(api_id).send().await.expect("routes");
    apigw
        .update_route()
        .api_id(api_id)
        .route_id(routes.items()[0].route_id().expect("route id"))
        .authorization_type(AuthorizationType::Jwt)
        .authorizer_id(authorizer.authorizer_id().expect("id"))
        .authorization_scopes("orders/read")
        .send()
        .await
        .expect("update route");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let claims = |exp: u64, scope: &str| serde_json::json!({"iss": issuer, "aud": "orders-app", "sub": "alice", "exp": exp, "scope": scope});
    let url = server.execute_api(api_id, "/orders");
    let bearer = |token: String| format!("Bearer {token}");

    let (status, _, body) =
        get(&url, &[("authorization", &bearer(sign(&key, &claims(now + 300, "orders/read"))))]).await;
    assert_eq!(status, 200, "{body}");
    let jwt = json_of(&body)["requestContext"]["authorizer"]["jwt"].clone();
    assert_eq!(jwt["claims"]["sub"], "alice");
    assert_eq!(jwt["scopes"], serde_json::json!(["orders/read"]));

    let (status, headers, body) =
        get(&url, &[("authorization", &bearer(sign(&key, &claims(now - 60, "orders/read"))))]).await;
    assert_eq!((status, body.as_str()), (401, r#"{"message":"Unauthorized"}"#));
    let challenge = headers["www-authenticate"].to_str().expect("ascii");
    assert!(challenge.contains("invalid_token") && challenge.contains("expired"), "{challenge}");
    let (status, _, body) =
        get(&url, &[("authorization", &bearer(sign(&key, &claims(now + 300, "orders/write"))))]).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
    assert_eq!(get(&url, &[]).await.0, 401);
    // Signed by another key: the issuer's JWKS does not verify it.
    let (other, _) = start_issuer().await;
    assert_eq!(
        get(&url, &[("authorization", &bearer(sign(&other, &claims(now + 300, "orders/read"))))]).await.0,
        401
    );
}

/// ImportApiKeys reads AWS's CSV format: keys join the usage plans their row names, a key
/// imported again is updated, and with `failonwarnings` a bad row refuses the whole file.
#[tokio::test]
async fn api_keys_import_from_csv_into_usage_plans() {
    use aws_sdk_apigateway::primitives::Blob;
    use aws_sdk_apigateway::types::ApiKeysFormat;

    let server = Server::ephemeral();
    let apigw = server.apigateway().await;
    let plan = apigw.create_usage_plan().name("imported").send().await.expect("plan");
    let plan_id = plan.id().expect("id").to_owned();
    let file = format!(
        "Name,key,description,Enabled,usageplanIds\n\
         first,apikey1234abcdefghij0123456789,An imported key,TRUE,{plan_id}\n\
         second,apikey1234abcdefghij9876543210,,false,\"{plan_id},nosuchplan\"\n"
    );
    let out = apigw
        .import_api_keys()
        .body(Blob::new(file.clone()))
        .format(ApiKeysFormat::Csv)
        .send()
        .await
        .expect("import");
    assert_eq!(out.ids().len(), 2);
    assert_eq!(out.warnings().len(), 1, "{:?}", out.warnings());
    assert!(out.warnings()[0].contains("nosuchplan"));
    let keys = apigw.get_usage_plan_keys().usage_plan_id(&plan_id).send().await.expect("plan keys");
    let mut names: Vec<&str> = keys.items().iter().filter_map(|k| k.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"]);
    let second = apigw.get_api_key().api_key(&out.ids()[1]).include_value(true).send().await.expect("key");
    assert_eq!((second.enabled(), second.value()), (false, Some("apikey1234abcdefghij9876543210")));

    // The same key again is the same key, with the file's new fields.
    let again = "key,name,enabled\napikey1234abcdefghij9876543210,second-renamed,true\n";
    let out2 = apigw
        .import_api_keys()
        .body(Blob::new(again))
        .format(ApiKeysFormat::Csv)
        .send()
        .await
        .expect("again");
    assert_eq!(out2.ids(), &out.ids()[1..]);
    let second = apigw.get_api_key().api_key(&out.ids()[1]).send().await.expect("key");
    assert_eq!((second.name(), second.enabled()), (Some("second-renamed"), true));

    let bad = "key,name\nshort,x\napikey1234abcdefghij1111111111,third\n";
    let refused = apigw
        .import_api_keys()
        .body(Blob::new(bad))
        .format(ApiKeysFormat::Csv)
        .fail_on_warnings(true)
        .send()
        .await
        .expect_err("a bad row")
        .into_service_error();
    assert!(refused.is_bad_request_exception(), "{refused:?}");
    let all = apigw.get_api_keys().send().await.expect("keys");
    assert_eq!(all.items().len(), 2, "nothing of the refused file was imported");
}
