//! GetExport for REST APIs: what a stage has deployed, written as an OpenAPI 3.0.1 (`oas30`)
//! or Swagger 2.0 (`swagger`) document — paths and operations from the deployed resource tree,
//! their parameters, request bodies and responses, the API's security schemes and models —
//! with `x-amazon-apigateway-integration` (`extensions=integrations`) and
//! `x-amazon-apigateway-authorizer` (`extensions=authorizers`; `apigateway` means both) when
//! asked. ImportRestApi reads the integrations back.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::model::{Method, Resource, RestApi, RestAuthorizer, RestIntegration, RestModel};
use crate::openapi::OPERATIONS;

/// The document formats GetExport writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    Oas30,
    Swagger,
}

impl Spec {
    pub(crate) fn parse(export_type: &str) -> Result<Spec, Error> {
        match export_type {
            "oas30" => Ok(Spec::Oas30),
            "swagger" => Ok(Spec::Swagger),
            other => {
                Err(Error::bad(format!("Invalid export type: {other}. Valid values are: oas30, swagger")))
            }
        }
    }

    fn schema_ref(self, model: &str) -> String {
        match self {
            Spec::Oas30 => format!("#/components/schemas/{model}"),
            Spec::Swagger => format!("#/definitions/{model}"),
        }
    }
}

/// Which extensions to write, from GetExport's `extensions` parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    pub integrations: bool,
    pub authorizers: bool,
}

impl Extensions {
    /// `integrations`, `authorizers`, `apigateway` (both) or `postman` (nothing of ours),
    /// comma-separated.
    pub(crate) fn parse(list: Option<&str>) -> Result<Extensions, Error> {
        let mut out = Extensions::default();
        for item in list.unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "integrations" => out.integrations = true,
                "authorizers" => out.authorizers = true,
                "apigateway" => out = Extensions { integrations: true, authorizers: true },
                "postman" => {}
                other => return Err(Error::bad(format!("Invalid extensions value: {other}"))),
            }
        }
        Ok(out)
    }
}

/// The document for `stage` of `api`.
pub(crate) fn export(api: &RestApi, stage: &str, spec: Spec, ext: Extensions) -> Result<Value, Error> {
    let stage =
        api.stages.get(stage).ok_or_else(|| Error::not_found("Invalid stage identifier specified"))?;
    let deployment = api
        .deployments
        .get(&stage.deployment_id)
        .ok_or_else(|| Error::not_found("Invalid deployment identifier specified"))?;
    let host = format!("{}.execute-api.{}.amazonaws.com", api.id, api.owner.region);
    let mut info = json!({
        "title": api.name,
        "version": api.version.clone().unwrap_or_else(|| crate::model::iso(api.created_ms)),
    });
    if let Some(d) = &api.description {
        info["description"] = json!(d);
    }
    let mut doc = match spec {
        Spec::Oas30 => json!({
            "openapi": "3.0.1",
            "info": info,
            "servers": [{
                "url": format!("https://{host}/{{basePath}}"),
                "variables": { "basePath": { "default": stage.stage_name } },
            }],
        }),
        Spec::Swagger => json!({
            "swagger": "2.0",
            "info": info,
            "host": host,
            "basePath": format!("/{}", stage.stage_name),
            "schemes": ["https"],
        }),
    };
    let mut schemes = Map::new();
    let mut paths = Map::new();
    let mut resources: Vec<&Resource> = deployment.resources.values().collect();
    resources.sort_by(|a, b| a.path.cmp(&b.path));
    for resource in resources {
        let mut item = Map::new();
        for (key, verb) in OPERATIONS {
            let Some(method) = resource.methods.get(*verb) else { continue };
            let security = security(method, &deployment.authorizers, ext, &mut schemes);
            item.insert((*key).to_owned(), operation(spec, ext, method, security));
        }
        if !item.is_empty() {
            paths.insert(resource.path.clone(), Value::Object(item));
        }
    }
    doc["paths"] = Value::Object(paths);
    let models = schemas(&deployment.models, spec);
    match spec {
        Spec::Oas30 => {
            let mut components = Map::new();
            if !models.is_empty() {
                components.insert("schemas".into(), Value::Object(models));
            }
            if !schemes.is_empty() {
                components.insert("securitySchemes".into(), Value::Object(schemes));
            }
            doc["components"] = Value::Object(components);
        }
        Spec::Swagger => {
            if !schemes.is_empty() {
                doc["securityDefinitions"] = Value::Object(schemes);
            }
            if !models.is_empty() {
                doc["definitions"] = Value::Object(models);
            }
        }
    }
    if !api.binary_media_types.is_empty() {
        doc["x-amazon-apigateway-binary-media-types"] = json!(api.binary_media_types);
    }
    Ok(doc)
}

/// One method as an OpenAPI operation.
fn operation(spec: Spec, ext: Extensions, method: &Method, security: Vec<Value>) -> Value {
    let mut op = Map::new();
    if let Some(id) = &method.operation_name {
        op.insert("operationId".into(), json!(id));
    }
    let mut parameters = Vec::new();
    for (name, required) in method.request_parameters.iter().flatten() {
        let Some(rest) = name.strip_prefix("method.request.") else { continue };
        let (place, param) = match rest.split_once('.') {
            Some(("path", p)) => ("path", p),
            Some(("querystring", p)) => ("query", p),
            Some(("header", p)) => ("header", p),
            _ => continue,
        };
        let mut p = json!({ "name": param, "in": place, "required": *required || place == "path" });
        match spec {
            Spec::Oas30 => p["schema"] = json!({ "type": "string" }),
            Spec::Swagger => p["type"] = json!("string"),
        }
        parameters.push(p);
    }
    let models: Vec<(&String, &String)> = method.request_models.iter().flatten().collect();
    match spec {
        Spec::Oas30 if !models.is_empty() => {
            let content: Map<String, Value> = models
                .iter()
                .map(|(ct, m)| ((*ct).clone(), json!({ "schema": { "$ref": spec.schema_ref(m) } })))
                .collect();
            op.insert("requestBody".into(), json!({ "content": content, "required": true }));
        }
        Spec::Swagger => {
            if let Some((_, model)) = models.first() {
                parameters.push(json!({
                    "in": "body", "name": model, "required": true,
                    "schema": { "$ref": spec.schema_ref(model) },
                }));
            }
        }
        Spec::Oas30 => {}
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let mut responses = Map::new();
    for (status, response) in &method.method_responses {
        let mut r = json!({ "description": format!("{status} response") });
        if let Some(models) = response.get("responseModels").and_then(Value::as_object) {
            match spec {
                Spec::Oas30 => {
                    let content: Map<String, Value> = models
                        .iter()
                        .filter_map(|(ct, m)| {
                            Some((ct.clone(), json!({ "schema": { "$ref": spec.schema_ref(m.as_str()?) } })))
                        })
                        .collect();
                    r["content"] = Value::Object(content);
                }
                Spec::Swagger => {
                    if let Some(m) = models.values().find_map(Value::as_str) {
                        r["schema"] = json!({ "$ref": spec.schema_ref(m) });
                    }
                }
            }
        }
        let headers: Map<String, Value> = response
            .get("responseParameters")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix("method.response.header."))
            .map(|h| {
                let schema = match spec {
                    Spec::Oas30 => json!({ "schema": { "type": "string" } }),
                    Spec::Swagger => json!({ "type": "string" }),
                };
                (h.to_owned(), schema)
            })
            .collect();
        if !headers.is_empty() {
            r["headers"] = Value::Object(headers);
        }
        responses.insert(status.clone(), r);
    }
    op.insert("responses".into(), Value::Object(responses));
    if !security.is_empty() {
        op.insert("security".into(), Value::Array(security));
    }
    if ext.integrations
        && let Some(integration) = &method.method_integration
    {
        op.insert("x-amazon-apigateway-integration".into(), integration_extension(integration));
    }
    Value::Object(op)
}

/// The method's security requirements, adding the schemes they name to `schemes`.
fn security(
    method: &Method,
    authorizers: &BTreeMap<String, RestAuthorizer>,
    ext: Extensions,
    schemes: &mut Map<String, Value>,
) -> Vec<Value> {
    let mut out = Vec::new();
    match method.authorization_type.as_str() {
        "CUSTOM" | "COGNITO_USER_POOLS" => {
            if let Some(a) = method.authorizer_id.as_ref().and_then(|id| authorizers.get(id)) {
                schemes.entry(a.name.clone()).or_insert_with(|| authorizer_scheme(a, ext));
                out.push(json!({ a.name.clone(): [] }));
            }
        }
        "AWS_IAM" => {
            schemes.entry("sigv4").or_insert_with(|| {
                json!({ "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4" })
            });
            out.push(json!({ "sigv4": [] }));
        }
        _ => {}
    }
    if method.api_key_required {
        schemes
            .entry("api_key")
            .or_insert_with(|| json!({ "type": "apiKey", "name": "x-api-key", "in": "header" }));
        out.push(json!({ "api_key": [] }));
    }
    out
}

/// A Lambda authorizer as a security scheme: the header it reads, and with the `authorizers`
/// extension how API Gateway calls it.
fn authorizer_scheme(a: &RestAuthorizer, ext: Extensions) -> Value {
    let header = a
        .identity_source
        .as_deref()
        .and_then(|s| s.split(',').find_map(|p| p.trim().strip_prefix("method.request.header.")))
        .unwrap_or("Authorization");
    let mut scheme = json!({
        "type": "apiKey",
        "name": header,
        "in": "header",
        "x-amazon-apigateway-authtype": if a.kind == "COGNITO_USER_POOLS" { "cognito_user_pools" } else { "custom" },
    });
    if ext.authorizers {
        let mut x = json!({
            "type": a.kind.to_ascii_lowercase(),
            "authorizerResultTtlInSeconds": a.authorizer_result_ttl_in_seconds,
        });
        for (key, value) in [
            ("authorizerUri", &a.authorizer_uri),
            ("authorizerCredentials", &a.authorizer_credentials),
            ("identitySource", &a.identity_source),
            ("identityValidationExpression", &a.identity_validation_expression),
        ] {
            if let Some(v) = value {
                x[key] = json!(v);
            }
        }
        if let Some(arns) = &a.provider_arns {
            x["providerARNs"] = json!(arns);
        }
        scheme["x-amazon-apigateway-authorizer"] = x;
    }
    scheme
}

/// `x-amazon-apigateway-integration`: lower-case types, responses keyed by their selection
/// pattern (`default` for none), as ImportRestApi reads them.
fn integration_extension(i: &RestIntegration) -> Value {
    let mut x = json!({
        "type": i.kind.to_ascii_lowercase(),
        "passthroughBehavior": i.passthrough_behavior.to_ascii_lowercase(),
        "timeoutInMillis": i.timeout_in_millis,
    });
    if let Some(m) = &i.http_method {
        x["httpMethod"] = json!(m);
    }
    if let Some(u) = &i.uri {
        x["uri"] = json!(u);
    }
    if let Some(t) = &i.request_templates {
        x["requestTemplates"] = json!(t);
    }
    if let Some(p) = &i.request_parameters {
        x["requestParameters"] = json!(p);
    }
    if !i.cache_key_parameters.is_empty() {
        x["cacheKeyParameters"] = json!(i.cache_key_parameters);
    }
    let mut responses = Map::new();
    for (status, r) in &i.integration_responses {
        let pattern = r.get("selectionPattern").and_then(Value::as_str).unwrap_or("default").to_owned();
        let mut out = json!({ "statusCode": status });
        for key in ["responseTemplates", "responseParameters", "contentHandling"] {
            if let Some(v) = r.get(key) {
                out[key] = v.clone();
            }
        }
        responses.insert(pattern, out);
    }
    if !responses.is_empty() {
        x["responses"] = Value::Object(responses);
    }
    x
}

/// The models as schemas (their JSON Schema documents; one that does not parse as JSON is
/// left out), references to other models made local to the document.
fn schemas(models: &BTreeMap<String, RestModel>, spec: Spec) -> Map<String, Value> {
    let local = match spec {
        Spec::Oas30 => "#/components/schemas/",
        Spec::Swagger => "#/definitions/",
    };
    models
        .values()
        .filter_map(|m| {
            let mut schema: Value = serde_json::from_str(m.schema.as_deref()?).ok()?;
            crate::openapi::rewrite_refs(&mut schema, local);
            Some((m.name.clone(), schema))
        })
        .collect()
}
