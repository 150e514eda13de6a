//! AWS::ApiGateway::* (REST APIs), through API Gateway's rest-json API. An API with a `Body`
//! (what SAM generates, and OpenAPI-first teams write) is imported with PutRestApi; the
//! granular types (Resource, Method, Deployment, Stage) map one to one onto their operations.

use http::Method;
use serde_json::{Map, Value, json};

use super::{Created, Cx, Outcome, last_segment, required, tag_map, text};
use crate::api::ApiError;

async fn call(cx: &Cx<'_>, method: Method, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
    cx.api.rest_json("apigateway", method, path, body).await
}

fn err(e: ApiError) -> String {
    e.to_string()
}

/// CloudFormation's PascalCase keys → the API's camelCase, for structures whose keys are all
/// member names (not user maps such as request templates or stage variables).
pub fn camel(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let key = match c.next() {
                        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
                        None => String::new(),
                    };
                    (key, camel(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel).collect()),
        other => other.clone(),
    }
}

/// The OpenAPI document of a `Body` (an object, or JSON/YAML text) or `BodyS3Location`.
pub async fn body(cx: &Cx<'_>, props: &Value) -> Outcome<Option<Value>> {
    if let Some(b) = props.get("Body") {
        return match b {
            Value::String(s) => cfn_template::parse_document(s).map(Some).map_err(|e| e.message()),
            other => Ok(Some(other.clone())),
        };
    }
    if let Some(loc) = props.get("BodyS3Location") {
        let bucket = required(loc, "Bucket")?;
        let key = required(loc, "Key")?;
        let bytes = super::s3::get_object(cx, &bucket, &key, text(loc, "Version").as_deref()).await?;
        let s = String::from_utf8_lossy(&bytes);
        return cfn_template::parse_document(&s).map(Some).map_err(|e| e.message());
    }
    Ok(None)
}

pub async fn create_rest_api(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let doc = body(cx, props).await?;
    let title = doc.as_ref().and_then(|d| d.get("info")).and_then(|i| text(i, "title"));
    let name = text(props, "Name").or(title).unwrap_or_else(|| cx.name(128));
    let mut req = Map::new();
    req.insert("name".into(), json!(name));
    for (cfn, api) in [
        ("Description", "description"),
        ("BinaryMediaTypes", "binaryMediaTypes"),
        ("ApiKeySourceType", "apiKeySource"),
        ("MinimumCompressionSize", "minimumCompressionSize"),
        ("DisableExecuteApiEndpoint", "disableExecuteApiEndpoint"),
    ] {
        if let Some(v) = props.get(cfn) {
            req.insert(api.into(), v.clone());
        }
    }
    if let Some(ec) = props.get("EndpointConfiguration") {
        req.insert("endpointConfiguration".into(), camel(ec));
    }
    let tags = tag_map(props);
    if tags.as_object().is_some_and(|m| !m.is_empty()) {
        req.insert("tags".into(), tags);
    }
    let out = call(cx, Method::POST, "/restapis", Some(Value::Object(req))).await.map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(doc) = doc {
        put_body(cx, &id, doc, props).await?;
    }
    let root = root_resource(cx, &id).await?;
    Ok(Created::new(id.clone()).with("RestApiId", id).with("RootResourceId", root))
}

async fn put_body(cx: &Cx<'_>, id: &str, doc: Value, props: &Value) -> Outcome<()> {
    let fail = super::boolean(props, "FailOnWarnings").unwrap_or(false);
    let path = format!("/restapis/{id}?mode=overwrite&failonwarnings={fail}");
    call(cx, Method::PUT, &path, Some(doc)).await.map(drop).map_err(err)
}

async fn root_resource(cx: &Cx<'_>, id: &str) -> Outcome<String> {
    let out =
        call(cx, Method::GET, &format!("/restapis/{id}/resources?limit=500"), None).await.map_err(err)?;
    let root = out
        .get("item")
        .and_then(Value::as_array)
        .and_then(|items| items.iter().find(|r| r.get("path").and_then(Value::as_str) == Some("/")))
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(root)
}

pub async fn update_rest_api(cx: &Cx<'_>, id: &str, props: &Value) -> Outcome<()> {
    if let Some(doc) = body(cx, props).await? {
        put_body(cx, id, doc, props).await?;
    }
    Ok(())
}

pub async fn delete_rest_api(cx: &Cx<'_>, id: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/restapis/{id}"), None).await.map(drop)
}

pub async fn create_resource(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    let parent = required(props, "ParentId")?;
    let part = required(props, "PathPart")?;
    let out = call(
        cx,
        Method::POST,
        &format!("/restapis/{api}/resources/{parent}"),
        Some(json!({"pathPart": part})),
    )
    .await
    .map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("ResourceId", id))
}

pub async fn delete_resource(cx: &Cx<'_>, id: &str, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/restapis/{api}/resources/{id}"), None).await.map(drop)
}

fn method_path(props: &Value) -> Outcome<String> {
    let api = required(props, "RestApiId")?;
    let resource = required(props, "ResourceId")?;
    let verb = required(props, "HttpMethod")?.to_ascii_uppercase();
    Ok(format!("/restapis/{api}/resources/{resource}/methods/{verb}"))
}

/// Copies `(cfn, api)` members of `from` into `to`.
fn rename(from: &Value, pairs: &[(&str, &str)], to: &mut Map<String, Value>) {
    for (cfn, api) in pairs {
        if let Some(v) = from.get(*cfn) {
            to.insert((*api).to_owned(), v.clone());
        }
    }
}

pub async fn put_method(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let path = method_path(props)?;
    let mut m = Map::new();
    m.insert(
        "authorizationType".into(),
        json!(text(props, "AuthorizationType").unwrap_or_else(|| "NONE".to_owned())),
    );
    rename(
        props,
        &[
            ("ApiKeyRequired", "apiKeyRequired"),
            ("AuthorizerId", "authorizerId"),
            ("OperationName", "operationName"),
            ("RequestParameters", "requestParameters"),
            ("RequestModels", "requestModels"),
            ("RequestValidatorId", "requestValidatorId"),
            ("AuthorizationScopes", "authorizationScopes"),
        ],
        &mut m,
    );
    call(cx, Method::PUT, &path, Some(Value::Object(m))).await.map_err(err)?;
    for r in props.get("MethodResponses").and_then(Value::as_array).into_iter().flatten() {
        let code = required(r, "StatusCode")?;
        let mut b = Map::new();
        rename(
            r,
            &[("ResponseParameters", "responseParameters"), ("ResponseModels", "responseModels")],
            &mut b,
        );
        call(cx, Method::PUT, &format!("{path}/responses/{code}"), Some(Value::Object(b)))
            .await
            .map_err(err)?;
    }
    if let Some(i) = props.get("Integration") {
        let mut b = Map::new();
        rename(
            i,
            &[
                ("Type", "type"),
                ("Uri", "uri"),
                ("IntegrationHttpMethod", "httpMethod"),
                ("RequestTemplates", "requestTemplates"),
                ("RequestParameters", "requestParameters"),
                ("PassthroughBehavior", "passthroughBehavior"),
                ("ContentHandling", "contentHandling"),
                ("TimeoutInMillis", "timeoutInMillis"),
                ("CacheKeyParameters", "cacheKeyParameters"),
                ("CacheNamespace", "cacheNamespace"),
                ("Credentials", "credentials"),
                ("ConnectionType", "connectionType"),
            ],
            &mut b,
        );
        call(cx, Method::PUT, &format!("{path}/integration"), Some(Value::Object(b))).await.map_err(err)?;
        for r in i.get("IntegrationResponses").and_then(Value::as_array).into_iter().flatten() {
            let code = required(r, "StatusCode")?;
            let mut b = Map::new();
            rename(
                r,
                &[
                    ("SelectionPattern", "selectionPattern"),
                    ("ResponseTemplates", "responseTemplates"),
                    ("ResponseParameters", "responseParameters"),
                    ("ContentHandling", "contentHandling"),
                ],
                &mut b,
            );
            call(cx, Method::PUT, &format!("{path}/integration/responses/{code}"), Some(Value::Object(b)))
                .await
                .map_err(err)?;
        }
    }
    Ok(Created::new(cx.name(128)))
}

pub async fn delete_method(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    let Ok(path) = method_path(props) else { return Ok(()) };
    call(cx, Method::DELETE, &path, None).await.map(drop)
}

pub async fn create_deployment(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    let mut b = Map::new();
    rename(props, &[("StageName", "stageName"), ("Description", "description")], &mut b);
    if let Some(d) = props.get("StageDescription").and_then(|s| s.get("Description")) {
        b.insert("stageDescription".into(), d.clone());
    }
    let out = call(cx, Method::POST, &format!("/restapis/{api}/deployments"), Some(Value::Object(b)))
        .await
        .map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("DeploymentId", id))
}

pub async fn delete_deployment(cx: &Cx<'_>, id: &str, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    // The stage a deployment created goes with it (it would keep the deployment alive).
    if let Some(stage) = text(props, "StageName") {
        match call(cx, Method::DELETE, &format!("/restapis/{api}/stages/{stage}"), None).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    call(cx, Method::DELETE, &format!("/restapis/{api}/deployments/{id}"), None).await.map(drop)
}

pub async fn create_stage(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    let name = required(props, "StageName")?;
    let mut b = Map::new();
    b.insert("stageName".into(), json!(name));
    rename(
        props,
        &[
            ("DeploymentId", "deploymentId"),
            ("Description", "description"),
            ("Variables", "variables"),
            ("TracingEnabled", "tracingEnabled"),
            ("CacheClusterEnabled", "cacheClusterEnabled"),
            ("CacheClusterSize", "cacheClusterSize"),
        ],
        &mut b,
    );
    let tags = tag_map(props);
    if tags.as_object().is_some_and(|m| !m.is_empty()) {
        b.insert("tags".into(), tags);
    }
    call(cx, Method::POST, &format!("/restapis/{api}/stages"), Some(Value::Object(b))).await.map_err(err)?;
    stage_settings(cx, &api, &name, props).await?;
    Ok(Created::new(name))
}

/// MethodSettings become the patch operations API Gateway applies them with.
async fn stage_settings(cx: &Cx<'_>, api: &str, stage: &str, props: &Value) -> Outcome<()> {
    let mut ops = Vec::new();
    for s in props.get("MethodSettings").and_then(Value::as_array).into_iter().flatten() {
        let resource = text(s, "ResourcePath").unwrap_or_else(|| "/*".to_owned());
        let verb = text(s, "HttpMethod").unwrap_or_else(|| "*".to_owned());
        let escaped = resource.trim_start_matches('/').replace('/', "~1");
        let prefix =
            format!("/{}/{verb}", if escaped.is_empty() { "~1".to_owned() } else { escaped.clone() });
        let prefix = if resource == "/*" { format!("/*/{verb}") } else { prefix };
        for (cfn, api_name) in [
            ("ThrottlingRateLimit", "throttling/rateLimit"),
            ("ThrottlingBurstLimit", "throttling/burstLimit"),
            ("MetricsEnabled", "metrics/enabled"),
            ("LoggingLevel", "logging/loglevel"),
            ("DataTraceEnabled", "logging/dataTrace"),
            ("CachingEnabled", "caching/enabled"),
        ] {
            if let Some(v) = text(s, cfn) {
                ops.push(json!({"op": "replace", "path": format!("{prefix}/{api_name}"), "value": v}));
            }
        }
    }
    if let Some(setting) = props.get("AccessLogSetting") {
        for (cfn, field) in [("DestinationArn", "destinationArn"), ("Format", "format")] {
            if let Some(v) = text(setting, cfn) {
                ops.push(json!({"op": "replace", "path": format!("/accessLogSettings/{field}"), "value": v}));
            }
        }
    }
    if ops.is_empty() {
        return Ok(());
    }
    call(cx, Method::PATCH, &format!("/restapis/{api}/stages/{stage}"), Some(json!({"patchOperations": ops})))
        .await
        .map(drop)
        .map_err(err)
}

pub async fn update_stage(cx: &Cx<'_>, name: &str, props: &Value) -> Outcome<()> {
    let api = required(props, "RestApiId")?;
    let mut ops = Vec::new();
    if let Some(d) = text(props, "DeploymentId") {
        ops.push(json!({"op": "replace", "path": "/deploymentId", "value": d}));
    }
    if let Some(d) = text(props, "Description") {
        ops.push(json!({"op": "replace", "path": "/description", "value": d}));
    }
    for (k, v) in props.get("Variables").and_then(Value::as_object).into_iter().flatten() {
        ops.push(json!({"op": "replace", "path": format!("/variables/{k}"), "value": super::document(v)}));
    }
    if !ops.is_empty() {
        call(
            cx,
            Method::PATCH,
            &format!("/restapis/{api}/stages/{name}"),
            Some(json!({"patchOperations": ops})),
        )
        .await
        .map_err(err)?;
    }
    stage_settings(cx, &api, name, props).await
}

pub async fn delete_stage(cx: &Cx<'_>, name: &str, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/restapis/{api}/stages/{}", last_segment(name, '/')), None)
        .await
        .map(drop)
}

pub async fn create_authorizer(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    let mut b = Map::new();
    b.insert("name".into(), json!(text(props, "Name").unwrap_or_else(|| cx.name(64))));
    rename(
        props,
        &[
            ("Type", "type"),
            ("AuthorizerUri", "authorizerUri"),
            ("AuthorizerCredentials", "authorizerCredentials"),
            ("IdentitySource", "identitySource"),
            ("IdentityValidationExpression", "identityValidationExpression"),
            ("AuthorizerResultTtlInSeconds", "authorizerResultTtlInSeconds"),
            ("ProviderARNs", "providerARNs"),
            ("AuthType", "authType"),
        ],
        &mut b,
    );
    let out = call(cx, Method::POST, &format!("/restapis/{api}/authorizers"), Some(Value::Object(b)))
        .await
        .map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("AuthorizerId", id))
}

pub async fn delete_authorizer(cx: &Cx<'_>, id: &str, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/restapis/{api}/authorizers/{id}"), None).await.map(drop)
}

pub async fn create_api_key(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let mut b = Map::new();
    b.insert("name".into(), json!(text(props, "Name").unwrap_or_else(|| cx.name(128))));
    rename(props, &[("Description", "description"), ("Enabled", "enabled"), ("Value", "value")], &mut b);
    if let Some(keys) = props.get("StageKeys") {
        b.insert("stageKeys".into(), camel(keys));
    }
    let out = call(cx, Method::POST, "/apikeys", Some(Value::Object(b))).await.map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("APIKeyId", id))
}

pub async fn delete_api_key(cx: &Cx<'_>, id: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/apikeys/{id}"), None).await.map(drop)
}

pub async fn create_usage_plan(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let mut b = Map::new();
    b.insert("name".into(), json!(text(props, "UsagePlanName").unwrap_or_else(|| cx.name(128))));
    rename(props, &[("Description", "description")], &mut b);
    for (cfn, api) in [("ApiStages", "apiStages"), ("Throttle", "throttle"), ("Quota", "quota")] {
        if let Some(v) = props.get(cfn) {
            b.insert(api.into(), camel(v));
        }
    }
    let out = call(cx, Method::POST, "/usageplans", Some(Value::Object(b))).await.map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("Id", id))
}

pub async fn delete_usage_plan(cx: &Cx<'_>, id: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/usageplans/{id}"), None).await.map(drop)
}

pub async fn create_usage_plan_key(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let plan = required(props, "UsagePlanId")?;
    let body = json!({"keyId": required(props, "KeyId")?, "keyType": text(props, "KeyType").unwrap_or_else(|| "API_KEY".to_owned())});
    let out = call(cx, Method::POST, &format!("/usageplans/{plan}/keys"), Some(body)).await.map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("Id", id))
}

pub async fn delete_usage_plan_key(cx: &Cx<'_>, id: &str, props: &Value) -> Result<(), ApiError> {
    let plan = text(props, "UsagePlanId").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/usageplans/{plan}/keys/{id}"), None).await.map(drop)
}

/// AWS::ApiGateway::Model: `Ref` is the model's name. A `Schema` object is sent as its JSON.
pub async fn create_model(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    // Model names are alphanumeric, so the generated name drops the dashes.
    let name = text(props, "Name").unwrap_or_else(|| cx.name(64).replace('-', ""));
    let mut b = Map::new();
    b.insert("name".into(), json!(name));
    b.insert(
        "contentType".into(),
        json!(text(props, "ContentType").unwrap_or_else(|| "application/json".into())),
    );
    if let Some(d) = text(props, "Description") {
        b.insert("description".into(), json!(d));
    }
    if let Some(schema) = props.get("Schema") {
        b.insert("schema".into(), json!(super::document(schema)));
    }
    call(cx, Method::POST, &format!("/restapis/{api}/models"), Some(Value::Object(b))).await.map_err(err)?;
    Ok(Created::new(name))
}

pub async fn delete_model(cx: &Cx<'_>, name: &str, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    let path = format!("/restapis/{api}/models/{}", super::percent_encode(name));
    call(cx, Method::DELETE, &path, None).await.map(drop)
}

/// AWS::ApiGateway::RequestValidator: `Ref` and `RequestValidatorId` are its id.
pub async fn create_request_validator(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    let mut b = Map::new();
    b.insert("name".into(), json!(text(props, "Name").unwrap_or_else(|| cx.name(64))));
    rename(
        props,
        &[
            ("ValidateRequestBody", "validateRequestBody"),
            ("ValidateRequestParameters", "validateRequestParameters"),
        ],
        &mut b,
    );
    for key in ["validateRequestBody", "validateRequestParameters"] {
        if let Some(Value::String(s)) = b.get(key) {
            let flag = s.eq_ignore_ascii_case("true");
            b.insert(key.into(), json!(flag));
        }
    }
    let out = call(cx, Method::POST, &format!("/restapis/{api}/requestvalidators"), Some(Value::Object(b)))
        .await
        .map_err(err)?;
    let id = out.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(id.clone()).with("RequestValidatorId", id))
}

pub async fn delete_request_validator(cx: &Cx<'_>, id: &str, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/restapis/{api}/requestvalidators/{id}"), None).await.map(drop)
}

/// AWS::ApiGateway::GatewayResponse: `Ref` and `Id` are a generated id; the response is keyed
/// by its type, which deletion resets to the default.
pub async fn put_gateway_response(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "RestApiId")?;
    let kind = required(props, "ResponseType")?;
    let mut b = Map::new();
    rename(
        props,
        &[
            ("StatusCode", "statusCode"),
            ("ResponseParameters", "responseParameters"),
            ("ResponseTemplates", "responseTemplates"),
        ],
        &mut b,
    );
    if let Some(Value::Number(n)) = b.get("statusCode") {
        let status = n.to_string();
        b.insert("statusCode".into(), json!(status));
    }
    call(cx, Method::PUT, &format!("/restapis/{api}/gatewayresponses/{kind}"), Some(Value::Object(b)))
        .await
        .map_err(err)?;
    let id = cx.name(64);
    Ok(Created::new(id.clone()).with("Id", id))
}

pub async fn delete_gateway_response(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    let api = text(props, "RestApiId").unwrap_or_default();
    let kind = text(props, "ResponseType").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/restapis/{api}/gatewayresponses/{kind}"), None).await.map(drop)
}

/// AWS::ApiGateway::DomainName: `Ref` is the name; certificates are passed through unchecked.
pub async fn create_domain_name(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = required(props, "DomainName")?;
    let mut b = Map::new();
    b.insert("domainName".into(), json!(name));
    rename(
        props,
        &[
            ("CertificateArn", "certificateArn"),
            ("RegionalCertificateArn", "regionalCertificateArn"),
            ("SecurityPolicy", "securityPolicy"),
        ],
        &mut b,
    );
    if let Some(ec) = props.get("EndpointConfiguration") {
        b.insert("endpointConfiguration".into(), camel(ec));
    }
    let tags = tag_map(props);
    if tags.as_object().is_some_and(|m| !m.is_empty()) {
        b.insert("tags".into(), tags);
    }
    let out = call(cx, Method::POST, "/domainnames", Some(Value::Object(b))).await.map_err(err)?;
    let attr = |k: &str| out.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let arn = format!("arn:aws:apigateway:{}::/domainnames/{name}", cx.region());
    Ok(Created::new(name)
        .with("DistributionDomainName", attr("distributionDomainName"))
        .with("DistributionHostedZoneId", attr("distributionHostedZoneId"))
        .with("RegionalDomainName", attr("regionalDomainName"))
        .with("RegionalHostedZoneId", attr("regionalHostedZoneId"))
        .with("DomainNameArn", arn))
}

pub async fn delete_domain_name(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/domainnames/{}", super::percent_encode(name)), None).await.map(drop)
}

/// AWS::ApiGateway::BasePathMapping: the physical id is `{domain}/{base path}`.
pub async fn create_base_path_mapping(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let domain = required(props, "DomainName")?;
    let mut b = Map::new();
    rename(props, &[("BasePath", "basePath"), ("RestApiId", "restApiId"), ("Stage", "stage")], &mut b);
    let path = format!("/domainnames/{}/basepathmappings", super::percent_encode(&domain));
    let out = call(cx, Method::POST, &path, Some(Value::Object(b))).await.map_err(err)?;
    let base = out.get("basePath").and_then(Value::as_str).unwrap_or("(none)");
    Ok(Created::new(format!("{domain}/{base}")))
}

pub async fn delete_base_path_mapping(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    let domain = text(props, "DomainName").unwrap_or_default();
    let base = text(props, "BasePath").filter(|b| !b.is_empty()).unwrap_or_else(|| "(none)".to_owned());
    let path = format!(
        "/domainnames/{}/basepathmappings/{}",
        super::percent_encode(&domain),
        super::percent_encode(&base)
    );
    call(cx, Method::DELETE, &path, None).await.map(drop)
}
