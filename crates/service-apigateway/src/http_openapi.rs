//! HTTP APIs from OpenAPI documents (ImportApi, ReimportApi): `info` names the API, the
//! `x-amazon-apigateway-cors` extension is its CORS configuration, each security scheme with
//! `x-amazon-apigateway-authorizer` an authorizer, and each operation with
//! `x-amazon-apigateway-integration` one integration and the route to it (`$default` for the
//! `$default` path, `ANY` for `x-amazon-apigateway-any-method`), authorized as the operation's
//! `security` (or the document's) asks. A reimport replaces the routes, integrations and
//! authorizers; stages and deployments stay.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::model::{self, HttpApi, HttpAuthorizer, Integration, Route};
use crate::openapi::OPERATIONS;
use crate::operation::{HttpAuthorizerInput, IntegrationInput, RouteInput};

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
