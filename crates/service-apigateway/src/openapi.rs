//! REST APIs from OpenAPI 3 and Swagger 2 documents (ImportRestApi, PutRestApi), the way many
//! teams deploy (SAM's `AWS::Serverless::Api` among them): `paths` become resources, their
//! operations methods, and `x-amazon-apigateway-integration` each method's integration with
//! its responses. Security schemes become Lambda authorizers (`x-amazon-apigateway-authorizer`),
//! API key or SigV4 requirements, which operations' `security` (or the document's) put on
//! their methods; `definitions` / `components.schemas` become models and
//! `x-amazon-apigateway-request-validators` validators, which operations' parameters, request
//! bodies and `x-amazon-apigateway-request-validator` use. JSON or YAML documents.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::Error;
use crate::model::{self, RequestValidator, RestApi, RestAuthorizer, RestModel};
use crate::operation::{MethodAddr, MethodInput, RestApiInput, RestAuthorizerInput, RestIntegrationInput};
use crate::rest_apis::{create_resource, integration_of, put_method};

/// OpenAPI operation keys and the methods they stand for.
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("post", "POST"),
    ("put", "PUT"),
    ("delete", "DELETE"),
    ("patch", "PATCH"),
    ("head", "HEAD"),
    ("options", "OPTIONS"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// The document as JSON, from JSON or YAML (read by the template engine's YAML reader, which
/// turns YAML into the same JSON values).
pub(crate) fn parse(body: &[u8]) -> Result<Value, Error> {
    let invalid = || Error::bad("Invalid OpenAPI input.");
    let text = std::str::from_utf8(body).map_err(|_| invalid())?;
    let doc = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text).map_err(|_| invalid())?
    } else {
        cfn_template::parse_document(text).map_err(|_| invalid())?
    };
    match doc {
        Value::Object(_) => Ok(doc),
        _ => Err(invalid()),
    }
}

/// A document as YAML (ExportApi's `outputType=YAML`).
pub(crate) fn to_yaml(doc: &Value) -> String {
    fn convert(v: &Value) -> yaml_rust2::Yaml {
        use yaml_rust2::Yaml;
        match v {
            Value::Null => Yaml::Null,
            Value::Bool(b) => Yaml::Boolean(*b),
            Value::Number(n) => n.as_i64().map_or_else(|| Yaml::Real(n.to_string()), Yaml::Integer),
            Value::String(s) => Yaml::String(s.clone()),
            Value::Array(items) => Yaml::Array(items.iter().map(convert).collect()),
            Value::Object(m) => {
                Yaml::Hash(m.iter().map(|(k, v)| (Yaml::String(k.clone()), convert(v))).collect())
            }
        }
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = yaml_rust2::YamlEmitter::new(&mut out).dump(&convert(doc));
    out.push('\n');
    out
}

/// CreateRestApi's input as the document's `info` and extensions give it.
pub(crate) fn api_input(doc: &Value) -> Result<RestApiInput, Error> {
    if doc.get("openapi").is_none() && doc.get("swagger").is_none() {
        return Err(Error::bad("Invalid OpenAPI input."));
    }
    // YAML leaves `version: 1.0` a number.
    let text = |ptr: &str| match doc.pointer(ptr) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let name =
        text("/info/title").ok_or_else(|| Error::bad("Invalid OpenAPI input: info.title is required"))?;
    let binary = doc
        .get("x-amazon-apigateway-binary-media-types")
        .and_then(Value::as_array)
        .map(|types| types.iter().filter_map(Value::as_str).map(str::to_owned).collect::<Vec<_>>());
    Ok(RestApiInput {
        name: Some(name),
        description: text("/info/description"),
        version: text("/info/version"),
        api_key_source: text("/x-amazon-apigateway-api-key-source"),
        binary_media_types: binary,
        ..RestApiInput::default()
    })
}

/// Adds the document's paths to `api`: missing resources are created, and each operation
/// replaces the method of the same verb.
pub(crate) fn apply(api: &mut RestApi, doc: &Value) -> Result<(), Error> {
    let schemes = security_schemes(api, doc)?;
    models(api, doc)?;
    let validators = validators(api, doc);
    let default_validator = doc.get("x-amazon-apigateway-request-validator").and_then(Value::as_str);
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return Ok(()) };
    for (path, item) in paths {
        let resource = resource_for(api, path)?;
        let Some(item) = item.as_object() else { continue };
        for (key, method) in OPERATIONS {
            let Some(op) = item.get(*key) else { continue };
            let addr =
                MethodAddr { api: api.id.clone(), resource: resource.clone(), method: (*method).to_owned() };
            if let Some(r) = api.resources.get_mut(&resource) {
                r.methods.remove(*method);
            }
            let mut input = MethodInput {
                authorization_type: Some("NONE".to_owned()),
                api_key_required: Some(false),
                operation_name: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
                ..MethodInput::default()
            };
            let security = op.get("security").or_else(|| doc.get("security"));
            for requirement in security.and_then(Value::as_array).into_iter().flatten() {
                for name in requirement.as_object().into_iter().flat_map(|r| r.keys()) {
                    match schemes.get(name) {
                        Some(Scheme::Authorizer(id)) => {
                            input.authorization_type = Some("CUSTOM".to_owned());
                            input.authorizer_id = Some(id.clone());
                        }
                        Some(Scheme::ApiKey) => input.api_key_required = Some(true),
                        Some(Scheme::SigV4) => input.authorization_type = Some("AWS_IAM".to_owned()),
                        None => {
                            return Err(Error::bad(format!(
                                "Invalid OpenAPI input: security requirement {name} names no security scheme"
                            )));
                        }
                    }
                }
            }
            let parameters = item.get("parameters").and_then(Value::as_array).into_iter().flatten();
            let parameters =
                parameters.chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten());
            let mut request_parameters = BTreeMap::new();
            let mut request_models = BTreeMap::new();
            for p in parameters {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
                let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                let place = match p.get("in").and_then(Value::as_str) {
                    Some("path") => "path",
                    Some("query") => "querystring",
                    Some("header") => "header",
                    Some("body") => {
                        if let Some(model) =
                            p.pointer("/schema/$ref").and_then(Value::as_str).and_then(ref_name)
                        {
                            request_models.insert("application/json".to_owned(), model.to_owned());
                        }
                        continue;
                    }
                    _ => continue,
                };
                if !name.is_empty() {
                    request_parameters.insert(format!("method.request.{place}.{name}"), required);
                }
            }
            let content = op.pointer("/requestBody/content").and_then(Value::as_object);
            for (content_type, media) in content.into_iter().flatten() {
                if let Some(model) = media.pointer("/schema/$ref").and_then(Value::as_str).and_then(ref_name)
                {
                    request_models.insert(content_type.clone(), model.to_owned());
                }
            }
            input.request_parameters = (!request_parameters.is_empty()).then_some(request_parameters);
            input.request_models = (!request_models.is_empty()).then_some(request_models);
            let validator =
                op.get("x-amazon-apigateway-request-validator").and_then(Value::as_str).or(default_validator);
            if let Some(name) = validator {
                let id = validators.get(name).ok_or_else(|| {
                    Error::bad(format!("Invalid OpenAPI input: request validator {name} is not defined"))
                })?;
                input.request_validator_id = Some(id.clone());
            }
            put_method(api, &addr, input)?;
            let method_responses: BTreeMap<String, Value> = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|r| {
                    r.keys()
                        .filter(|k| k.len() == 3 && k.bytes().all(|b| b.is_ascii_digit()))
                        .map(|k| (k.clone(), json!({ "statusCode": k })))
                        .collect()
                })
                .unwrap_or_default();
            let integration =
                op.get("x-amazon-apigateway-integration").map(|x| integration(&addr, x)).transpose()?;
            if let Some(m) = api.resources.get_mut(&resource).and_then(|r| r.methods.get_mut(*method)) {
                m.method_responses = method_responses;
                m.method_integration = integration;
            }
        }
    }
    Ok(())
}

/// What a security scheme stands for on a method.
enum Scheme {
    Authorizer(String),
    ApiKey,
    SigV4,
}

/// The document's security schemes: each with `x-amazon-apigateway-authorizer` becomes (or
/// replaces) the API's authorizer of that name; `x-api-key` headers are API keys and
/// `awsSigv4` schemes IAM authorization.
fn security_schemes(api: &mut RestApi, doc: &Value) -> Result<BTreeMap<String, Scheme>, Error> {
    let defined = doc
        .get("securityDefinitions")
        .or_else(|| doc.pointer("/components/securitySchemes"))
        .and_then(Value::as_object);
    let mut out = BTreeMap::new();
    for (name, scheme) in defined.into_iter().flatten() {
        if let Some(x) = scheme.get("x-amazon-apigateway-authorizer") {
            let text = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_owned);
            let input = RestAuthorizerInput {
                name: Some(name.clone()),
                kind: text("type").map(|t| t.to_ascii_uppercase()),
                provider_arns: x.get("providerARNs").and_then(|v| serde_json::from_value(v.clone()).ok()),
                auth_type: scheme
                    .get("x-amazon-apigateway-authtype")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                authorizer_uri: text("authorizerUri"),
                authorizer_credentials: text("authorizerCredentials"),
                identity_source: text("identitySource").or_else(|| {
                    // A TOKEN authorizer's header is the scheme's own when not given.
                    let header = scheme.get("name").and_then(Value::as_str)?;
                    (text("type").as_deref() == Some("token"))
                        .then(|| format!("method.request.header.{header}"))
                }),
                identity_validation_expression: text("identityValidationExpression"),
                authorizer_result_ttl_in_seconds: x
                    .get("authorizerResultTtlInSeconds")
                    .and_then(Value::as_i64),
            };
            let mut authorizer: RestAuthorizer = crate::authorizers::new_rest(input)?;
            // A reimport keeps the id methods and deployments already name.
            if let Some(old) = api.authorizers.values().find(|a| a.name == *name) {
                authorizer.id = old.id.clone();
            }
            out.insert(name.clone(), Scheme::Authorizer(authorizer.id.clone()));
            api.authorizers.insert(authorizer.id.clone(), authorizer);
        } else if scheme.get("x-amazon-apigateway-authtype").and_then(Value::as_str) == Some("awsSigv4") {
            out.insert(name.clone(), Scheme::SigV4);
        } else if scheme.get("type").and_then(Value::as_str) == Some("apiKey")
            && scheme.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
        {
            out.insert(name.clone(), Scheme::ApiKey);
        }
    }
    Ok(out)
}

/// `#/definitions/X`, `#/components/schemas/X` or a model URL: the model's name.
fn ref_name(reference: &str) -> Option<&str> {
    let name = reference.rsplit('/').next()?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric())).then_some(name)
}

/// The document's schemas as the API's models (replacing those of the same name), their
/// references to one another rewritten as the model URLs API Gateway resolves.
fn models(api: &mut RestApi, doc: &Value) -> Result<(), Error> {
    let defined =
        doc.get("definitions").or_else(|| doc.pointer("/components/schemas")).and_then(Value::as_object);
    let prefix = format!("https://apigateway.amazonaws.com/restapis/{}/models/", api.id);
    for (name, schema) in defined.into_iter().flatten() {
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::bad(format!("Invalid OpenAPI input: model name {name} must be alphanumeric")));
        }
        let mut schema = schema.clone();
        rewrite_refs(&mut schema, &prefix);
        let text = schema.to_string();
        crate::models::check_schema(&text)?;
        let id = api.models.get(name).map_or_else(model::new_id, |m| m.id.clone());
        let model = RestModel {
            id,
            name: name.clone(),
            description: schema.get("description").and_then(Value::as_str).map(str::to_owned),
            schema: Some(text),
            content_type: "application/json".to_owned(),
        };
        api.models.insert(name.clone(), model);
    }
    Ok(())
}

/// Local references (`#/definitions/X`) and other APIs' model URLs (an export of another API)
/// become this API's model URLs.
pub(crate) fn rewrite_refs(schema: &mut Value, prefix: &str) {
    match schema {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match v {
                    Value::String(r)
                        if k == "$ref"
                            && (r.starts_with("#/")
                                || r.starts_with("https://apigateway.amazonaws.com/restapis/")) =>
                    {
                        if let Some(name) = ref_name(r) {
                            *r = format!("{prefix}{name}");
                        }
                    }
                    other => rewrite_refs(other, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, prefix)),
        _ => {}
    }
}

/// `x-amazon-apigateway-request-validators` as the API's validators (replacing those of the
/// same name): their ids by name.
fn validators(api: &mut RestApi, doc: &Value) -> BTreeMap<String, String> {
    let defined = doc.get("x-amazon-apigateway-request-validators").and_then(Value::as_object);
    let mut out = BTreeMap::new();
    for (name, v) in defined.into_iter().flatten() {
        let id = api
            .request_validators
            .values()
            .find(|r| r.name.as_deref() == Some(name.as_str()))
            .map_or_else(|| model::new_id()[..6].to_owned(), |r| r.id.clone());
        let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
        api.request_validators.insert(
            id.clone(),
            RequestValidator {
                id: id.clone(),
                name: Some(name.clone()),
                validate_request_body: flag("validateRequestBody"),
                validate_request_parameters: flag("validateRequestParameters"),
            },
        );
        out.insert(name.clone(), id);
    }
    out
}

/// The id of the resource at `path`, creating the missing ones along it.
fn resource_for(api: &mut RestApi, path: &str) -> Result<String, Error> {
    let mut current = api.root_resource_id.clone();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let existing = api
            .resources
            .values()
            .find(|r| {
                r.parent_id.as_deref() == Some(current.as_str()) && r.path_part.as_deref() == Some(part)
            })
            .map(|r| r.id.clone());
        current = match existing {
            Some(id) => id,
            None => create_resource(api, &current, Some(part.to_owned()))?.id,
        };
    }
    Ok(current)
}

/// `x-amazon-apigateway-integration`: lower-case types, `responses` keyed by selection pattern
/// (`default` for none).
fn integration(addr: &MethodAddr, x: &Value) -> Result<model::RestIntegration, Error> {
    let text = |k: &str| x.get(k).and_then(Value::as_str).map(str::to_owned);
    let templates = |v: Option<&Value>| -> Option<BTreeMap<String, String>> {
        v.and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned()))).collect())
    };
    let mut integration = integration_of(
        addr,
        RestIntegrationInput {
            kind: text("type").map(|t| t.to_ascii_uppercase()),
            integration_http_method: text("httpMethod"),
            uri: text("uri"),
            passthrough_behavior: text("passthroughBehavior").map(|p| p.to_ascii_uppercase()),
            timeout_in_millis: x.get("timeoutInMillis").and_then(Value::as_i64),
            request_templates: templates(x.get("requestTemplates")),
            request_parameters: templates(x.get("requestParameters")),
            ..RestIntegrationInput::default()
        },
    )?;
    if let Some(responses) = x.get("responses").and_then(Value::as_object) {
        for (pattern, r) in responses {
            let Some(status) = r
                .get("statusCode")
                .and_then(|s| s.as_str().map(str::to_owned).or_else(|| s.as_u64().map(|n| n.to_string())))
            else {
                continue;
            };
            let mut response = json!({ "statusCode": status });
            if let Value::Object(m) = &mut response {
                if pattern != "default" {
                    m.insert("selectionPattern".into(), json!(pattern));
                }
                for key in ["responseTemplates", "responseParameters", "contentHandling"] {
                    if let Some(v) = r.get(key) {
                        m.insert(key.into(), v.clone());
                    }
                }
            }
            integration.integration_responses.insert(status, response);
        }
    }
    Ok(integration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Owner, Resource};

    fn empty_api() -> RestApi {
        let root = Resource { id: "root".into(), path: "/".into(), ..Resource::default() };
        RestApi {
            v: 1,
            owner: Owner { account: "a".into(), region: "r".into() },
            id: "api".into(),
            name: "n".into(),
            description: None,
            version: None,
            api_key_source: "HEADER".into(),
            endpoint_types: vec![],
            binary_media_types: vec![],
            disable_execute_api_endpoint: false,
            root_resource_id: "root".into(),
            created_ms: 0,
            tags: BTreeMap::new(),
            resources: BTreeMap::from([("root".to_owned(), root)]),
            stages: BTreeMap::new(),
            deployments: BTreeMap::new(),
            authorizers: BTreeMap::new(),
            models: BTreeMap::new(),
            request_validators: BTreeMap::new(),
            gateway_responses: BTreeMap::new(),
        }
    }

    #[test]
    fn paths_become_resources_methods_and_integrations() {
        let fn_uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations";
        let doc = json!({
            "openapi": "3.0.1",
            "info": {"title": "pets", "version": "1"},
            "paths": {
                "/pets/{id}": {
                    "get": {
                        "operationId": "getPet",
                        "responses": {"200": {"description": "ok"}},
                        "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": fn_uri}
                    }
                },
                "/health": {
                    "x-amazon-apigateway-any-method": {
                        "x-amazon-apigateway-integration": {
                            "type": "mock",
                            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "{}"}}}
                        }
                    }
                }
            }
        });
        assert_eq!(api_input(&doc).ok().and_then(|i| i.name), Some("pets".to_owned()));
        let mut api = empty_api();
        apply(&mut api, &doc).expect("applies");
        let mut paths: Vec<&str> = api.resources.values().map(|r| r.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(paths, ["/", "/health", "/pets", "/pets/{id}"]);
        let pet = api.resources.values().find(|r| r.path == "/pets/{id}").expect("resource");
        let get = &pet.methods["GET"];
        assert_eq!(get.operation_name.as_deref(), Some("getPet"));
        assert!(get.method_responses.contains_key("200"));
        let integration = get.method_integration.as_ref().expect("integration");
        assert_eq!((integration.kind.as_str(), integration.uri.as_deref()), ("AWS_PROXY", Some(fn_uri)));
        let health = api.resources.values().find(|r| r.path == "/health").expect("resource");
        let mock = health.methods["ANY"].method_integration.as_ref().expect("integration");
        assert_eq!(mock.integration_responses["200"]["responseTemplates"]["application/json"], "{}");
        // Applying again merges: nothing is duplicated.
        apply(&mut api, &doc).expect("applies again");
        assert_eq!(api.resources.len(), 4);
        assert!(api_input(&json!({"info": {"title": "x"}})).is_err());
    }

    #[test]
    fn schemes_models_validators_and_parameters_reach_the_methods() {
        let fn_uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations";
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "orders", "version": "1"},
            "security": [{"api_key": []}],
            "x-amazon-apigateway-request-validator": "all",
            "x-amazon-apigateway-request-validators": {
                "all": {"validateRequestBody": true, "validateRequestParameters": true},
                "params": {"validateRequestParameters": true}
            },
            "securityDefinitions": {
                "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
                "gate": {"type": "apiKey", "name": "X-Token", "in": "header", "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": fn_uri, "authorizerResultTtlInSeconds": 60}}
            },
            "definitions": {
                "Line": {"type": "object", "properties": {"sku": {"type": "string"}}},
                "Order": {"type": "object", "required": ["lines"], "properties": {"lines": {"type": "array", "items": {"$ref": "#/definitions/Line"}}}}
            },
            "paths": {"/orders/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "type": "string"}],
                "post": {
                    "security": [{"gate": []}],
                    "parameters": [{"name": "dry", "in": "query", "required": false, "type": "string"},
                                   {"in": "body", "name": "Order", "required": true, "schema": {"$ref": "#/definitions/Order"}}]
                },
                "get": {"x-amazon-apigateway-request-validator": "params"}
            }}
        });
        let mut api = empty_api();
        apply(&mut api, &doc).expect("applies");
        let gate = api.authorizers.values().find(|a| a.name == "gate").expect("authorizer");
        assert_eq!(
            (gate.kind.as_str(), gate.identity_source.as_deref(), gate.authorizer_result_ttl_in_seconds),
            ("TOKEN", Some("method.request.header.X-Token"), 60)
        );
        let order = api.models["Order"].schema.as_deref().expect("schema");
        assert!(order.contains("https://apigateway.amazonaws.com/restapis/api/models/Line"), "{order}");
        let orders = api.resources.values().find(|r| r.path == "/orders/{id}").expect("resource");
        let post = &orders.methods["POST"];
        assert_eq!(
            (post.authorization_type.as_str(), post.authorizer_id.as_deref()),
            ("CUSTOM", Some(gate.id.as_str()))
        );
        assert!(!post.api_key_required, "the operation's own security replaces the document's");
        let params = post.request_parameters.clone().expect("parameters");
        assert_eq!(params.get("method.request.path.id"), Some(&true));
        assert_eq!(params.get("method.request.querystring.dry"), Some(&false));
        assert_eq!(
            post.request_models.as_ref().and_then(|m| m.get("application/json")).map(String::as_str),
            Some("Order")
        );
        let validator = |m: &model::Method| {
            api.request_validators[m.request_validator_id.as_deref().expect("validator")].name.clone()
        };
        assert_eq!(validator(post).as_deref(), Some("all"));
        let get = &orders.methods["GET"];
        assert!(get.api_key_required);
        assert_eq!(get.authorization_type, "NONE");
        assert_eq!(validator(get).as_deref(), Some("params"));

        // Reimporting keeps the authorizer's id; a requirement naming no scheme is refused.
        let id = gate.id.clone();
        apply(&mut api, &doc).expect("applies again");
        assert_eq!(
            api.authorizers.values().filter(|a| a.name == "gate").map(|a| a.id.clone()).collect::<Vec<_>>(),
            [id]
        );
        let mut bad = doc.clone();
        bad["security"] = json!([{"nobody": []}]);
        assert!(matches!(apply(&mut empty_api(), &bad), Err(Error::BadRequestException(_))));
    }

    #[test]
    fn documents_written_as_yaml_read_back_the_same() {
        let doc = json!({"openapi": "3.0.1", "info": {"title": "t: x", "version": 1}, "paths": {"/a": {"get": {}}}, "n": 1.5, "b": [true, null]});
        assert_eq!(parse(to_yaml(&doc).as_bytes()).expect("parses"), doc);
    }

    #[test]
    fn yaml_documents_read_as_their_json() {
        let yaml = r#"
openapi: 3.0.1
info:
  title: pets
  version: 1.0
paths:
  /pets/{id}:
    get:
      responses:
        "200":
          description: ok
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:pets/invocations
"#;
        let doc = parse(yaml.as_bytes()).expect("YAML parses");
        let input = api_input(&doc).expect("input");
        assert_eq!((input.name.as_deref(), input.version.as_deref()), (Some("pets"), Some("1.0")));
        let mut api = empty_api();
        apply(&mut api, &doc).expect("applies");
        let pet = api.resources.values().find(|r| r.path == "/pets/{id}").expect("resource");
        assert!(pet.methods["GET"].method_responses.contains_key("200"));
        for bad in [&b"openapi: [3"[..], b"- a list", b"\xff\xfe", b"{not json"] {
            assert!(matches!(parse(bad), Err(Error::BadRequestException(_))), "{bad:?}");
        }
    }
}
