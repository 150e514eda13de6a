//! AWS::ApiGatewayV2::* (HTTP APIs), through API Gateway's `/v2` rest-json API. An API with a
//! `Body` (SAM's HttpApi) is imported from its OpenAPI document (ImportApi, and ReimportApi on
//! update), with the template's own properties over the document's.

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
    let mut req = Map::new();
    for (cfn, api) in [
        ("Name", "name"),
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
    }
    let tags = props.get("Tags").filter(|t| t.is_object()).cloned().unwrap_or_else(|| tag_map(props));
    let tags = tags.as_object().filter(|m| !m.is_empty()).cloned();
    let out = match &doc {
        // API Gateway builds the API from the document (ImportApi); the template's own
        // properties then override the document's.
        Some(doc) => {
            // A generated document may leave the title out; ImportApi needs one.
            // A document that is no object is left for ImportApi to refuse.
            let mut doc = doc.clone();
            if doc.pointer("/info/title").is_none()
                && let Some(root) = doc.as_object_mut()
            {
                let title = json!(text(props, "Name").unwrap_or_else(|| cx.name(128)));
                match root.get_mut("info").and_then(Value::as_object_mut) {
                    Some(info) => {
                        info.insert("title".into(), title);
                    }
                    None => {
                        root.insert("info".into(), json!({"title": title}));
                    }
                }
            }
            let out = call(cx, Method::PUT, "/v2/apis", Some(json!({"body": doc.to_string()})))
                .await
                .map_err(err)?;
            let id = id_of(&out, "apiId");
            for key in ["target", "routeKey"] {
                req.remove(key);
            }
            if !req.is_empty() {
                call(cx, Method::PATCH, &format!("/v2/apis/{id}"), Some(Value::Object(req)))
                    .await
                    .map_err(err)?;
            }
            if let Some(tags) = tags {
                let arn = format!("arn:aws:apigateway:{}::/apis/{id}", cx.region());
                let path = format!("/v2/tags/{}", urlencoding(&arn));
                call(cx, Method::POST, &path, Some(json!({"tags": tags}))).await.map_err(err)?;
            }
            out
        }
        None => {
            req.entry("name").or_insert_with(|| json!(cx.name(128)));
            req.insert(
                "protocolType".into(),
                json!(text(props, "ProtocolType").unwrap_or_else(|| "HTTP".to_owned())),
            );
            if let Some(tags) = tags {
                req.insert("tags".into(), Value::Object(tags));
            }
            call(cx, Method::POST, "/v2/apis", Some(Value::Object(req))).await.map_err(err)?
        }
    };
    let id = id_of(&out, "apiId");
    let endpoint = out.get("apiEndpoint").cloned().unwrap_or(Value::Null);
    Ok(Created::new(id.clone()).with("ApiId", id).with("ApiEndpoint", endpoint))
}

/// `/` and `:` escaped, for an ARN in a path segment.
fn urlencoding(arn: &str) -> String {
    arn.replace('%', "%25").replace('/', "%2F").replace(':', "%3A")
}

pub async fn update_api(cx: &Cx<'_>, id: &str, props: &Value) -> Outcome<()> {
    let Some(doc) = super::apigateway::body(cx, props).await? else { return Ok(()) };
    // The document replaces the API's routes, integrations and authorizers (ReimportApi).
    call(cx, Method::PUT, &format!("/v2/apis/{id}"), Some(json!({"body": doc.to_string()})))
        .await
        .map_err(err)?;
    if let Some(name) = props.get("Name") {
        call(cx, Method::PATCH, &format!("/v2/apis/{id}"), Some(json!({"name": name}))).await.map_err(err)?;
    }
    Ok(())
}

pub async fn delete_api(cx: &Cx<'_>, id: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/v2/apis/{id}"), None).await.map(drop)
}

pub async fn create_integration(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let api = required(props, "ApiId")?;
    let mut body = camel(props);
    if let Some(m) = body.as_object_mut() {
        m.remove("apiId");
        // A subtype's parameters are named after its action's members (`QueueUrl`): as written.
        if let Some(params) = props.get("RequestParameters") {
            m.insert("requestParameters".to_owned(), params.clone());
        }
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
