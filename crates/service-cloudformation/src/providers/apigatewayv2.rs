//! AWS::ApiGatewayV2::* (HTTP APIs), through API Gateway's `/v2` rest-json API. An API with a
//! `Body` (SAM's HttpApi) is created from its OpenAPI document here: one integration and one
//! route per operation carrying `x-amazon-apigateway-integration`, CORS from
//! `x-amazon-apigateway-cors`.

use http::Method;
use serde_json::{Map, Value, json};

use super::apigateway::camel;
use super::{Created, Cx, Outcome, required, tag_map, text};
use crate::api::ApiError;

async fn call(cx: &Cx<'_>, method: Method, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
    cx.api.rest_json("apigateway", method, path, body).await
}

fn err(e: ApiError) -> String {
    e.to_string()
}

fn id_of(out: &Value, key: &str) -> String {
    out.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub async fn create_api(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let doc = super::apigateway::body(cx, props).await?;
    let title = doc.as_ref().and_then(|d| d.get("info")).and_then(|i| text(i, "title"));
    let name = text(props, "Name").or(title).unwrap_or_else(|| cx.name(128));
    let mut req = Map::new();
    req.insert("name".into(), json!(name));
    req.insert(
        "protocolType".into(),
        json!(text(props, "ProtocolType").unwrap_or_else(|| "HTTP".to_owned())),
    );
    for (cfn, api) in [
        ("Description", "description"),
        ("RouteSelectionExpression", "routeSelectionExpression"),
        ("Target", "target"),
        ("RouteKey", "routeKey"),
        ("CredentialsArn", "credentialsArn"),
        ("DisableExecuteApiEndpoint", "disableExecuteApiEndpoint"),
        ("Version", "version"),
    ] {
        if let Some(v) = props.get(cfn) {
            req.insert(api.into(), v.clone());
        }
    }
    if let Some(c) = props.get("CorsConfiguration") {
        req.insert("corsConfiguration".into(), camel(c));
    } else if let Some(c) = doc.as_ref().and_then(|d| d.get("x-amazon-apigateway-cors")) {
        req.insert("corsConfiguration".into(), c.clone());
    }
    let tags = props.get("Tags").filter(|t| t.is_object()).cloned().unwrap_or_else(|| tag_map(props));
    if tags.as_object().is_some_and(|m| !m.is_empty()) {
        req.insert("tags".into(), tags);
    }
    let out = call(cx, Method::POST, "/v2/apis", Some(Value::Object(req))).await.map_err(err)?;
    let id = id_of(&out, "apiId");
    let endpoint = out.get("apiEndpoint").cloned().unwrap_or(Value::Null);
    if let Some(doc) = doc {
        import_routes(cx, &id, &doc).await?;
    }
    Ok(Created::new(id.clone()).with("ApiId", id).with("ApiEndpoint", endpoint))
}

/// An authorizer of the document, created once: its id and route authorization type.
struct Authorizer {
    id: String,
    kind: &'static str,
}

/// The authorizers of `components.securitySchemes` carrying `x-amazon-apigateway-authorizer`.
async fn import_authorizers(
    cx: &Cx<'_>,
    api: &str,
    doc: &Value,
) -> Outcome<std::collections::BTreeMap<String, Authorizer>> {
    let mut out = std::collections::BTreeMap::new();
    let schemes = doc.get("components").and_then(|c| c.get("securitySchemes")).and_then(Value::as_object);
    for (name, scheme) in schemes.into_iter().flatten() {
        let Some(a) = scheme.get("x-amazon-apigateway-authorizer") else {
            return Err(format!("Security scheme {name} has no x-amazon-apigateway-authorizer"));
        };
        let jwt = text(a, "type").is_some_and(|t| t.eq_ignore_ascii_case("jwt"));
        let mut body = Map::new();
        body.insert("name".into(), json!(name));
        body.insert("authorizerType".into(), json!(if jwt { "JWT" } else { "REQUEST" }));
        let identity = match a.get("identitySource") {
            Some(Value::String(s)) => json!(s.split(',').map(str::trim).collect::<Vec<_>>()),
            Some(v) => v.clone(),
            None if jwt => json!(["$request.header.Authorization"]),
            None => json!([]),
        };
        body.insert("identitySource".into(), identity);
        for key in [
            "jwtConfiguration",
            "authorizerUri",
            "authorizerPayloadFormatVersion",
            "enableSimpleResponses",
            "authorizerResultTtlInSeconds",
            "authorizerCredentialsArn",
        ] {
            if let Some(v) = a.get(key) {
                body.insert(key.into(), v.clone());
            }
        }
        let out_id =
            call(cx, Method::POST, &format!("/v2/apis/{api}/authorizers"), Some(Value::Object(body)))
                .await
                .map_err(err)?;
        out.insert(
            name.clone(),
            Authorizer { id: id_of(&out_id, "authorizerId"), kind: if jwt { "JWT" } else { "CUSTOM" } },
        );
    }
    Ok(out)
}

/// Integrations and routes from an OpenAPI document's operations, with the authorizers their
/// `security` requirements name (an operation's own, else the document's).
async fn import_routes(cx: &Cx<'_>, api: &str, doc: &Value) -> Outcome<()> {
    let authorizers = import_authorizers(cx, api, doc).await?;
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return Ok(()) };
    for (path, item) in paths {
        let Some(ops) = item.as_object() else { continue };
        for (verb, op) in ops {
            let Some(integration) = op.get("x-amazon-apigateway-integration") else { continue };
            let method = if verb == "x-amazon-apigateway-any-method" {
                "ANY".to_owned()
            } else {
                verb.to_ascii_uppercase()
            };
            let route_key =
                if path == "$default" { "$default".to_owned() } else { format!("{method} {path}") };
            let kind =
                text(integration, "type").unwrap_or_else(|| "aws_proxy".to_owned()).to_ascii_uppercase();
            let mut i = Map::new();
            i.insert("integrationType".into(), json!(kind));
            for (from, to) in [
                ("uri", "integrationUri"),
                ("httpMethod", "integrationMethod"),
                ("payloadFormatVersion", "payloadFormatVersion"),
                ("timeoutInMillis", "timeoutInMillis"),
                ("connectionType", "connectionType"),
                ("credentials", "credentialsArn"),
            ] {
                if let Some(v) = integration.get(from) {
                    i.insert(to.into(), v.clone());
                }
            }
            i.entry("payloadFormatVersion").or_insert(json!("2.0"));
            let out = call(cx, Method::POST, &format!("/v2/apis/{api}/integrations"), Some(Value::Object(i)))
                .await
                .map_err(err)?;
            let integration_id = id_of(&out, "integrationId");
            let mut route =
                json!({"routeKey": route_key, "target": format!("integrations/{integration_id}")});
            let requirement = op
                .get("security")
                .or_else(|| doc.get("security"))
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .and_then(Value::as_object)
                .and_then(|m| m.iter().next());
            if let Some((scheme, scopes)) = requirement {
                let a = authorizers.get(scheme).ok_or_else(|| {
                    format!("Security requirement {scheme} names no security scheme of the document")
                })?;
                route["authorizationType"] = json!(a.kind);
                route["authorizerId"] = json!(a.id);
                if a.kind == "JWT" && scopes.as_array().is_some_and(|s| !s.is_empty()) {
                    route["authorizationScopes"] = scopes.clone();
                }
            }
            call(cx, Method::POST, &format!("/v2/apis/{api}/routes"), Some(route)).await.map_err(err)?;
        }
    }
    Ok(())
}

pub async fn update_api(cx: &Cx<'_>, id: &str, props: &Value) -> Outcome<()> {
    let Some(doc) = super::apigateway::body(cx, props).await? else { return Ok(()) };
    // The document replaces the API's routes and integrations.
    for (kind, key) in
        [("routes", "routeId"), ("integrations", "integrationId"), ("authorizers", "authorizerId")]
    {
        let out = call(cx, Method::GET, &format!("/v2/apis/{id}/{kind}"), None).await.map_err(err)?;
        for item in out.get("items").and_then(Value::as_array).into_iter().flatten() {
            let child = id_of(item, key);
            call(cx, Method::DELETE, &format!("/v2/apis/{id}/{kind}/{child}"), None).await.map_err(err)?;
        }
    }
    import_routes(cx, id, &doc).await
}

pub async fn delete_api(cx: &Cx<'_>, id: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/v2/apis/{id}"), None).await.map(drop)
}

pub async fn create_integration(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "ApiId")?;
    let mut body = camel(props);
    if let Some(m) = body.as_object_mut() {
        m.remove("apiId");
        if let Some(by_status) = m.get_mut("responseParameters").and_then(Value::as_object_mut) {
            for map in by_status.values_mut() {
                *map = response_map(map);
            }
        }
    }
    let out =
        call(cx, Method::POST, &format!("/v2/apis/{api}/integrations"), Some(body)).await.map_err(err)?;
    let id = id_of(&out, "integrationId");
    Ok(Created::new(id.clone()).with("IntegrationId", id))
}

/// CloudFormation writes one status's response mappings as `{"ResponseParameters":
/// [{"Destination": key, "Source": value}]}`; the API takes `{key: value}`.
fn response_map(cfn: &Value) -> Value {
    let pairs = cfn.get("responseParameters").and_then(Value::as_array).into_iter().flatten();
    Value::Object(
        pairs
            .filter_map(|p| Some((p.get("destination")?.as_str()?.to_owned(), p.get("source")?.clone())))
            .collect(),
    )
}

pub async fn create_route(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "ApiId")?;
    let mut body = camel(props);
    if let Some(m) = body.as_object_mut() {
        m.remove("apiId");
    }
    let out = call(cx, Method::POST, &format!("/v2/apis/{api}/routes"), Some(body)).await.map_err(err)?;
    let id = id_of(&out, "routeId");
    Ok(Created::new(id.clone()).with("RouteId", id))
}

fn stage_body(props: &Value) -> Value {
    let mut b = Map::new();
    for (cfn, api) in [
        ("StageName", "stageName"),
        ("AutoDeploy", "autoDeploy"),
        ("DeploymentId", "deploymentId"),
        ("Description", "description"),
        ("StageVariables", "stageVariables"),
    ] {
        if let Some(v) = props.get(cfn) {
            b.insert(api.into(), v.clone());
        }
    }
    if let Some(v) = props.get("DefaultRouteSettings") {
        b.insert("defaultRouteSettings".into(), camel(v));
    }
    if let Some(v) = props.get("AccessLogSettings") {
        b.insert("accessLogSettings".into(), camel(v));
    }
    if let Some(Value::Object(routes)) = props.get("RouteSettings") {
        let m: Map<String, Value> = routes.iter().map(|(k, v)| (k.clone(), camel(v))).collect();
        b.insert("routeSettings".into(), Value::Object(m));
    }
    Value::Object(b)
}

pub async fn create_stage(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "ApiId")?;
    let name = required(props, "StageName")?;
    call(cx, Method::POST, &format!("/v2/apis/{api}/stages"), Some(stage_body(props))).await.map_err(err)?;
    Ok(Created::new(name))
}

pub async fn update_stage(cx: &Cx<'_>, name: &str, props: &Value) -> Outcome<()> {
    let api = required(props, "ApiId")?;
    let mut body = stage_body(props);
    if let Some(m) = body.as_object_mut() {
        m.remove("stageName");
    }
    call(cx, Method::PATCH, &format!("/v2/apis/{api}/stages/{name}"), Some(body)).await.map(drop).map_err(err)
}

pub async fn create_deployment(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "ApiId")?;
    let mut b = Map::new();
    for (cfn, to) in [("Description", "description"), ("StageName", "stageName")] {
        if let Some(v) = props.get(cfn) {
            b.insert(to.into(), v.clone());
        }
    }
    let out = call(cx, Method::POST, &format!("/v2/apis/{api}/deployments"), Some(Value::Object(b)))
        .await
        .map_err(err)?;
    let id = id_of(&out, "deploymentId");
    Ok(Created::new(id.clone()).with("DeploymentId", id))
}

/// Deletes an integration, route, stage or deployment of an API.
pub async fn delete_child(cx: &Cx<'_>, props: &Value, kind: &str, id: &str) -> Result<(), ApiError> {
    let api = text(props, "ApiId").unwrap_or_default();
    call(cx, Method::DELETE, &format!("/v2/apis/{api}/{kind}/{id}"), None).await.map(drop)
}

pub async fn create_authorizer(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "ApiId")?;
    let mut body = camel(props);
    if let Some(m) = body.as_object_mut() {
        m.remove("apiId");
    }
    let out =
        call(cx, Method::POST, &format!("/v2/apis/{api}/authorizers"), Some(body)).await.map_err(err)?;
    let id = id_of(&out, "authorizerId");
    Ok(Created::new(id.clone()).with("AuthorizerId", id))
}

/// AWS::ApiGatewayV2::DomainName: `Ref` is the name; certificates are passed through unchecked.
pub async fn create_domain_name(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = required(props, "DomainName")?;
    let mut b = Map::new();
    b.insert("domainName".into(), json!(name));
    if let Some(configs) = props.get("DomainNameConfigurations") {
        b.insert("domainNameConfigurations".into(), camel(configs));
    }
    if let Some(tags) = props.get("Tags").filter(|t| t.is_object()) {
        b.insert("tags".into(), tags.clone());
    }
    let out = call(cx, Method::POST, "/v2/domainnames", Some(Value::Object(b))).await.map_err(err)?;
    let config = out.pointer("/domainNameConfigurations/0").cloned().unwrap_or_default();
    let attr = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let arn = format!("arn:aws:apigateway:{}::/domainnames/{name}", cx.region());
    Ok(Created::new(name)
        .with("RegionalDomainName", attr("apiGatewayDomainName"))
        .with("RegionalHostedZoneId", attr("hostedZoneId"))
        .with("DomainNameArn", arn))
}

pub async fn delete_domain_name(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/v2/domainnames/{}", super::percent_encode(name)), None)
        .await
        .map(drop)
}

/// AWS::ApiGatewayV2::ApiMapping: `Ref` and `ApiMappingId` are the mapping's id.
pub async fn create_api_mapping(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let domain = required(props, "DomainName")?;
    let mut b = Map::new();
    for (cfn, to) in [("ApiId", "apiId"), ("Stage", "stage"), ("ApiMappingKey", "apiMappingKey")] {
        if let Some(v) = props.get(cfn) {
            b.insert(to.into(), v.clone());
        }
    }
    let path = format!("/v2/domainnames/{}/apimappings", super::percent_encode(&domain));
    let out = call(cx, Method::POST, &path, Some(Value::Object(b))).await.map_err(err)?;
    let id = id_of(&out, "apiMappingId");
    Ok(Created::new(id.clone()).with("ApiMappingId", id))
}

pub async fn delete_api_mapping(cx: &Cx<'_>, id: &str, props: &Value) -> Result<(), ApiError> {
    let domain = text(props, "DomainName").unwrap_or_default();
    let path = format!("/v2/domainnames/{}/apimappings/{id}", super::percent_encode(&domain));
    call(cx, Method::DELETE, &path, None).await.map(drop)
}

#[cfg(test)]
mod response_map_tests {
    use super::*;

    #[test]
    fn cloudformation_response_parameters_become_the_apis_map() {
        let cfn = serde_json::json!({"ResponseParameters": [
            {"Destination": "overwrite:statuscode", "Source": "204"},
            {"Destination": "append:header.x-a", "Source": "$response.header.x-b"}
        ]});
        assert_eq!(
            response_map(&camel(&cfn)),
            serde_json::json!({"overwrite:statuscode": "204", "append:header.x-a": "$response.header.x-b"})
        );
    }
}
