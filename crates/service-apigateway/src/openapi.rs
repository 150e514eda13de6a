//! REST APIs from OpenAPI 3 and Swagger 2 documents (ImportRestApi, PutRestApi), the way many
//! teams deploy: `paths` become resources, their operations methods, and
//! `x-amazon-apigateway-integration` each method's integration with its responses. JSON or
//! YAML documents; security schemes and models are not read.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::Error;
use crate::model::RestApi;
use crate::operation::{MethodAddr, MethodInput, RestApiInput, RestIntegrationInput};
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
            put_method(
                api,
                &addr,
                MethodInput {
                    authorization_type: Some("NONE".to_owned()),
                    api_key_required: Some(false),
                    operation_name: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
                    ..MethodInput::default()
                },
            )?;
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
fn integration(addr: &MethodAddr, x: &Value) -> Result<crate::model::RestIntegration, Error> {
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
