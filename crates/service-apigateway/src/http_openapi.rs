//! HTTP APIs from OpenAPI documents (ImportApi, ReimportApi): `info` names the API, the
//! `x-amazon-apigateway-cors` extension is its CORS configuration, each security scheme with
//! `x-amazon-apigateway-authorizer` an authorizer, and each operation with
//! `x-amazon-apigateway-integration` one integration and the route to it (`$default` for the
//! `$default` path, `ANY` for `x-amazon-apigateway-any-method`), authorized as the operation's
//! `security` (or the document's) asks. A reimport replaces the routes, integrations and
//! authorizers; stages and deployments stay. ExportApi writes the same shape back (OpenAPI
//! 3.0.1), so an exported document imports into the same routes.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::model::{self, HttpApi, HttpAuthorizer, Integration, Route};
use crate::openapi::OPERATIONS;
use crate::operation::{HttpAuthorizerInput, IntegrationInput, RouteInput};
use serde_json::{Map, json};

fn invalid(why: &str) -> Error {
    Error::bad(format!("Invalid OpenAPI input: {why}"))
}

/// Text at `ptr` (YAML leaves `version: 1.0` a number).
fn text(doc: &Value, ptr: &str) -> Option<String> {
    match doc.pointer(ptr) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Makes `api` what `doc` describes.
pub(crate) fn apply(api: &mut HttpApi, doc: &Value) -> Result<(), Error> {
    if doc.get("openapi").is_none() && doc.get("swagger").is_none() {
        return Err(Error::bad("Invalid OpenAPI input."));
    }
    api.name = text(doc, "/info/title").ok_or_else(|| invalid("info.title is required"))?;
    api.description = text(doc, "/info/description");
    api.version = text(doc, "/info/version");
    if let Some(cors) = doc.get("x-amazon-apigateway-cors") {
        api.cors_configuration = Some(
            serde_json::from_value(cors.clone())
                .map_err(|e| invalid(&format!("x-amazon-apigateway-cors: {e}")))?,
        );
    }
    api.routes.clear();
    api.integrations.clear();
    api.authorizers.clear();
    let schemes = authorizers(api, doc)?;
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return Ok(()) };
    for (path, item) in paths {
        for (key, method) in OPERATIONS {
            let Some(op) = item.get(*key) else { continue };
            let Some(x) = op.get("x-amazon-apigateway-integration") else { continue };
            let integration = integration(x).map_err(|e| at(path, key, e))?;
            let route_key =
                if path == "$default" { "$default".to_owned() } else { format!("{method} {path}") };
            let mut input = RouteInput {
                target: Some(format!("integrations/{}", integration.integration_id)),
                operation_name: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
                ..RouteInput::default()
            };
            let requirement = op
                .get("security")
                .or_else(|| doc.get("security"))
                .and_then(Value::as_array)
                .and_then(|r| r.first())
                .and_then(Value::as_object)
                .and_then(|m| m.iter().next());
            if let Some((scheme, scopes)) = requirement {
                let (id, kind) = schemes.get(scheme).ok_or_else(|| {
                    invalid(&format!(
                        "security requirement {scheme} names no security scheme of the document"
                    ))
                })?;
                input.authorization_type = Some((*kind).to_owned());
                input.authorizer_id = Some(id.clone());
                let scopes: Vec<String> = scopes
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                if *kind == "JWT" && !scopes.is_empty() {
                    input.authorization_scopes = Some(scopes);
                }
            }
            api.integrations.insert(integration.integration_id.clone(), integration);
            let mut route = Route {
                route_id: model::short_id(),
                route_key,
                authorization_type: "NONE".to_owned(),
                ..Route::default()
            };
            crate::http_apis::apply_route(api, &mut route, input).map_err(|e| at(path, key, e))?;
            api.routes.insert(route.route_id.clone(), route);
        }
    }
    Ok(())
}

/// Names the operation an error came from, as API Gateway's import messages do.
fn at(path: &str, key: &str, e: Error) -> Error {
    match e {
        Error::BadRequestException(m) => invalid(&format!("{key} {path}: {m}")),
        other => other,
    }
}

/// A typed member of an extension object, if present.
fn member<T: serde::de::DeserializeOwned>(x: &Value, key: &str) -> Result<Option<T>, Error> {
    x.get(key).cloned().map(serde_json::from_value).transpose().map_err(|e| invalid(&format!("{key}: {e}")))
}

/// One operation's integration.
fn integration(x: &Value) -> Result<Integration, Error> {
    let field = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_owned);
    let input = IntegrationInput {
        integration_type: Some(field("type").unwrap_or_else(|| "aws_proxy".to_owned()).to_ascii_uppercase()),
        integration_subtype: field("integrationSubtype"),
        credentials_arn: field("credentials"),
        integration_uri: field("uri"),
        integration_method: field("httpMethod"),
        payload_format_version: text(x, "/payloadFormatVersion"),
        connection_type: field("connectionType"),
        timeout_in_millis: x.get("timeoutInMillis").and_then(Value::as_i64),
        description: field("description"),
        request_parameters: member(x, "requestParameters")?,
        response_parameters: member(x, "responseParameters")?,
    };
    let mut integration = Integration {
        integration_id: model::short_id(),
        connection_type: "INTERNET".to_owned(),
        timeout_in_millis: 30_000,
        ..Integration::default()
    };
    crate::http_apis::apply_integration(&mut integration, input)?;
    Ok(integration)
}

/// The document's authorizers, by security scheme name: their ids and the authorization type
/// a route names them with.
fn authorizers(api: &mut HttpApi, doc: &Value) -> Result<BTreeMap<String, (String, &'static str)>, Error> {
    let mut out = BTreeMap::new();
    let schemes = doc.pointer("/components/securitySchemes").and_then(Value::as_object);
    for (name, scheme) in schemes.into_iter().flatten() {
        let Some(a) = scheme.get("x-amazon-apigateway-authorizer") else { continue };
        let jwt = a.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("jwt"));
        let identity = match a.get("identitySource") {
            Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_owned()).collect(),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| invalid(&format!("{name}: {e}")))?,
            None if jwt => vec!["$request.header.Authorization".to_owned()],
            None => Vec::new(),
        };
        let mut fields = a.clone();
        if let Some(m) = fields.as_object_mut() {
            m.remove("type");
            m.remove("identitySource");
        }
        let mut input: HttpAuthorizerInput =
            serde_json::from_value(fields).map_err(|e| invalid(&format!("{name}: {e}")))?;
        input.name = Some(name.clone());
        input.authorizer_type = Some(if jwt { "JWT" } else { "REQUEST" }.to_owned());
        input.identity_source = Some(identity);
        let mut authorizer = HttpAuthorizer { authorizer_id: model::short_id(), ..HttpAuthorizer::default() };
        crate::authorizers::merge_http(&mut authorizer, input);
        crate::authorizers::check_http(&authorizer).map_err(|e| match e {
            Error::BadRequestException(m) => invalid(&format!("{name}: {m}")),
            other => other,
        })?;
        out.insert(name.clone(), (authorizer.authorizer_id.clone(), if jwt { "JWT" } else { "CUSTOM" }));
        api.authorizers.insert(authorizer.authorizer_id.clone(), authorizer);
    }
    Ok(out)
}

/// The API (or what `stage` has deployed) as an OpenAPI 3.0.1 document; `extensions` adds the
/// `x-amazon-apigateway-*` members that make it importable.
pub(crate) fn export(api: &HttpApi, stage: Option<&str>, extensions: bool) -> Result<Value, Error> {
    let (routes, integrations, authorizers) = match stage {
        None => (&api.routes, &api.integrations, &api.authorizers),
        Some(name) => {
            let stage = api.stages.get(name).ok_or_else(|| {
                Error::NotFoundException(format!("Unable to find stage {name} in API {}", api.api_id))
            })?;
            match stage.deployment_id.as_ref().and_then(|d| api.deployments.get(d)) {
                Some(d) if !stage.auto_deploy => (&d.routes, &d.integrations, &d.authorizers),
                _ => (&api.routes, &api.integrations, &api.authorizers),
            }
        }
    };
    let mut paths = Map::new();
    let mut by_key: Vec<&Route> = routes.values().collect();
    by_key.sort_by(|a, b| a.route_key.cmp(&b.route_key));
    for route in by_key {
        let (method, path) = match route.route_key.split_once(' ') {
            Some((m, p)) => (m, p),
            None => ("ANY", route.route_key.as_str()),
        };
        let key = OPERATIONS
            .iter()
            .find(|(_, m)| *m == method)
            .map_or("x-amazon-apigateway-any-method", |(k, _)| k);
        let mut op = Map::new();
        if let Some(name) = &route.operation_name {
            op.insert("operationId".into(), json!(name));
        }
        op.insert(
            "responses".into(),
            json!({"default": {"description": format!("Default response for {}", route.route_key)}}),
        );
        if let Some(authorizer) = route.authorizer_id.as_ref().and_then(|id| authorizers.get(id)) {
            let scopes = route.authorization_scopes.clone().unwrap_or_default();
            op.insert("security".into(), json!([{ authorizer.name.clone(): scopes }]));
        }
        let integration = route
            .target
            .as_deref()
            .and_then(|t| t.strip_prefix("integrations/"))
            .and_then(|id| integrations.get(id));
        if let (true, Some(i)) = (extensions, integration) {
            op.insert("x-amazon-apigateway-integration".into(), integration_extension(i));
        }
        let item = paths.entry(path.to_owned()).or_insert_with(|| json!({}));
        item[key] = Value::Object(op);
        let names: Vec<&str> =
            path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
        if !names.is_empty() && item.get("parameters").is_none() {
            let params: Vec<Value> = names
                .iter()
                .map(|n| {
                    let name = n.trim_end_matches('+');
                    json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
                })
                .collect();
            item["parameters"] = json!(params);
        }
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": {"title": api.name, "version": api.version.clone().unwrap_or_else(|| model::iso(api.created_ms))},
        "servers": [{
            "url": format!("https://{}.execute-api.{}.amazonaws.com/{{basePath}}", api.api_id, api.owner.region),
            "variables": {"basePath": {"default": stage.unwrap_or_default()}}
        }],
        "paths": paths,
    });
    if let Some(d) = &api.description {
        doc["info"]["description"] = json!(d);
    }
    let schemes: Map<String, Value> =
        authorizers.values().map(|a| (a.name.clone(), scheme(a, extensions))).collect();
    if !schemes.is_empty() {
        doc["components"] = json!({"securitySchemes": schemes});
    }
    if extensions {
        if let Some(cors) = &api.cors_configuration {
            doc["x-amazon-apigateway-cors"] = serde_json::to_value(cors).unwrap_or_default();
        }
        doc["x-amazon-apigateway-importexport-version"] = json!("1.0");
    }
    Ok(doc)
}

fn integration_extension(i: &Integration) -> Value {
    let mut x = json!({
        "type": i.integration_type.to_ascii_lowercase(),
        "connectionType": i.connection_type,
        "timeoutInMillis": i.timeout_in_millis,
    });
    for (key, value) in [
        ("uri", &i.integration_uri),
        ("integrationSubtype", &i.integration_subtype),
        ("credentials", &i.credentials_arn),
        ("httpMethod", &i.integration_method),
        ("payloadFormatVersion", &i.payload_format_version),
        ("description", &i.description),
    ] {
        if let Some(v) = value {
            x[key] = json!(v);
        }
    }
    if let Some(m) = &i.request_parameters {
        x["requestParameters"] = json!(m);
    }
    if let Some(m) = &i.response_parameters {
        x["responseParameters"] = json!(m);
    }
    x
}

fn scheme(a: &HttpAuthorizer, extensions: bool) -> Value {
    let jwt = a.authorizer_type == "JWT";
    let mut s = if jwt {
        json!({"type": "oauth2", "flows": {}})
    } else {
        json!({"type": "apiKey", "name": a.identity_source.first().cloned().unwrap_or_default(), "in": "header"})
    };
    if extensions {
        let mut x =
            json!({"type": a.authorizer_type.to_ascii_lowercase(), "identitySource": a.identity_source});
        if let Some(c) = &a.jwt_configuration {
            x["jwtConfiguration"] = serde_json::to_value(c).unwrap_or_default();
        }
        for (key, value) in [
            ("authorizerUri", &a.authorizer_uri),
            ("authorizerPayloadFormatVersion", &a.authorizer_payload_format_version),
            ("authorizerCredentialsArn", &a.authorizer_credentials_arn),
        ] {
            if let Some(v) = value {
                x[key] = json!(v);
            }
        }
        if !jwt {
            x["authorizerResultTtlInSeconds"] = json!(a.authorizer_result_ttl_in_seconds);
            if let Some(simple) = a.enable_simple_responses {
                x["enableSimpleResponses"] = json!(simple);
            }
        }
        s["x-amazon-apigateway-authorizer"] = x;
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A document with an authorizer, a JWT-secured route, a `$default` HTTP proxy and CORS.
    fn example() -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "pets", "version": "1.0", "description": "imported"},
            "x-amazon-apigateway-cors": {"allowOrigins": ["*"], "allowMethods": ["GET"]},
            "components": {"securitySchemes": {"jwt": {
                "type": "oauth2",
                "x-amazon-apigateway-authorizer": {
                    "type": "jwt",
                    "identitySource": "$request.header.Authorization",
                    "jwtConfiguration": {"issuer": "https://issuer.example", "audience": ["pets"]}
                }
            }}},
            "paths": {
                "/pets/{id}": {
                    "get": {
                        "operationId": "getPet",
                        "security": [{"jwt": ["pets:read"]}],
                        "x-amazon-apigateway-integration": {
                            "type": "aws_proxy",
                            "uri": "arn:aws:lambda:us-east-1:000000000000:function:pets",
                            "payloadFormatVersion": "2.0"
                        }
                    },
                    "post": {"responses": {}}
                },
                "$default": {"x-amazon-apigateway-any-method": {"x-amazon-apigateway-integration": {
                    "type": "http_proxy", "httpMethod": "ANY", "uri": "https://example.com/{proxy}",
                    "requestParameters": {"overwrite:header.x-from": "import"}
                }}}
            }
        })
    }

    fn empty_api() -> HttpApi {
        let ctx = protocol::RequestContext::new(types::Scope::default(), "");
        crate::http_apis::new_api(&ctx, "before".into(), 0)
    }

    #[test]
    fn a_document_becomes_routes_integrations_and_authorizers() {
        let mut api = empty_api();
        apply(&mut api, &example()).expect("imports");
        assert_eq!((api.name.as_str(), api.version.as_deref()), ("pets", Some("1.0")));
        assert!(api.cors_configuration.is_some());
        let keys: Vec<&str> = api.routes.values().map(|r| r.route_key.as_str()).collect();
        assert_eq!(keys.len(), 2, "an operation without an integration makes no route: {keys:?}");
        assert!(keys.contains(&"GET /pets/{id}") && keys.contains(&"$default"));
        let get = api.routes.values().find(|r| r.route_key == "GET /pets/{id}").expect("route");
        assert_eq!(get.authorization_type, "JWT");
        assert_eq!(get.authorization_scopes.as_deref(), Some(&["pets:read".to_owned()][..]));
        let authorizer = &api.authorizers[get.authorizer_id.as_deref().expect("authorizer")];
        assert_eq!(authorizer.authorizer_type, "JWT");
        let proxy = api.integrations.values().find(|i| i.integration_type == "HTTP_PROXY").expect("proxy");
        assert_eq!(proxy.request_parameters.as_ref().expect("maps")["overwrite:header.x-from"], "import");
        // A reimport replaces what the first import made.
        let mut doc = example();
        doc["paths"] = json!({"/only": {"get": {"x-amazon-apigateway-integration": {
            "type": "aws_proxy", "uri": "arn:aws:lambda:us-east-1:000000000000:function:pets"
        }}}});
        apply(&mut api, &doc).expect("reimports");
        let keys: Vec<&str> = api.routes.values().map(|r| r.route_key.as_str()).collect();
        assert_eq!(keys, ["GET /only"]);
        assert_eq!(api.integrations.len(), 1);
    }

    #[test]
    fn an_exported_document_imports_into_the_same_api() {
        let mut api = empty_api();
        apply(&mut api, &example()).expect("imports");
        let doc = export(&api, None, true).expect("exports");
        assert_eq!(doc["openapi"], "3.0.1");
        assert!(doc["paths"]["/pets/{id}"]["get"]["x-amazon-apigateway-integration"].is_object());
        assert_eq!(doc["paths"]["/pets/{id}"]["parameters"][0]["name"], "id");
        let mut again = empty_api();
        apply(&mut again, &doc).expect("the export imports");
        // What an import makes, without its generated ids.
        let shape = |a: &HttpApi| {
            let mut parts: Vec<String> = a
                .routes
                .values()
                .map(|r| format!("{} {} {:?}", r.route_key, r.authorization_type, r.authorization_scopes))
                .chain(a.integrations.values().map(|i| {
                    format!("{} {:?} {:?}", i.integration_type, i.integration_uri, i.request_parameters)
                }))
                .collect();
            parts.sort();
            (a.name.clone(), parts, a.authorizers.len(), a.cors_configuration.clone())
        };
        assert_eq!(shape(&again), shape(&api));
        // Without extensions, nothing says how to integrate.
        let plain = export(&api, None, false).expect("exports");
        assert!(plain["paths"]["/pets/{id}"]["get"].get("x-amazon-apigateway-integration").is_none());
    }

    #[test]
    fn bad_documents_are_refused_with_the_operation_named() {
        let mut api = empty_api();
        assert!(apply(&mut api, &json!({"info": {"title": "x"}})).is_err());
        let mut doc = example();
        doc["paths"]["/pets/{id}"]["get"]["security"] = json!([{"missing": []}]);
        let e = apply(&mut api, &doc).expect_err("an unknown scheme");
        assert!(e.to_string().contains("missing"), "{e}");
        let mut doc = example();
        doc["paths"]["/pets/{id}"]["get"]["x-amazon-apigateway-integration"]["payloadFormatVersion"] =
            json!("3.0");
        let e = apply(&mut api, &doc).expect_err("a bad payload format version");
        assert!(e.to_string().contains("get /pets/{id}"), "{e}");
    }
}
