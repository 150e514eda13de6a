//! Request validation of REST API methods, as their request validator asks: required
//! `method.request.{path,querystring,header}.X` parameters, then the body against the model the
//! method names for the request's content type (JSON Schema draft 4). Models reference each
//! other by `https://apigateway.amazonaws.com/restapis/{id}/models/{name}`; those URLs resolve to
//! the deployment's own models, never to the network.

use std::collections::BTreeMap;

use serde_json::Value;

use super::event::RequestInfo;
use super::router::Params;
use crate::model::{Method, RestDeployment, RestModel};

/// Why a request failed validation: the gateway response type, its message and the details
/// `$context.error.validationErrorString` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub response_type: &'static str,
    pub message: String,
    pub details: String,
}

/// Checks a request against its method's validator; `Ok` when the method has none.
pub(crate) fn check(
    deployment: &RestDeployment,
    api_id: &str,
    method: &Method,
    info: &RequestInfo,
    path_params: &Params,
) -> Result<(), Invalid> {
    let Some(validator) =
        method.request_validator_id.as_ref().and_then(|id| deployment.request_validators.get(id))
    else {
        return Ok(());
    };
    if validator.validate_request_parameters {
        let missing = missing_parameters(method, info, path_params);
        if !missing.is_empty() {
            let message = format!("Missing required request parameters: [{}]", missing.join(", "));
            return Err(Invalid {
                response_type: "BAD_REQUEST_PARAMETERS",
                details: message.clone(),
                message,
            });
        }
    }
    if validator.validate_request_body
        && let Some(model) = body_model(deployment, method, info)
    {
        check_body(&deployment.models, api_id, model, &info.body).map_err(|details| Invalid {
            response_type: "BAD_REQUEST_BODY",
            message: "Invalid request body".to_owned(),
            details,
        })?;
    }
    Ok(())
}

/// The required parameters the request lacks, by name, in the method's order.
fn missing_parameters(method: &Method, info: &RequestInfo, path_params: &Params) -> Vec<String> {
    let query = info.query_pairs();
    let mut missing = Vec::new();
    for (key, required) in method.request_parameters.iter().flatten() {
        if !required {
            continue;
        }
        let present = if let Some(name) = key.strip_prefix("method.request.header.") {
            info.header(name).is_some()
        } else if let Some(name) = key.strip_prefix("method.request.querystring.") {
            query.iter().any(|(k, _)| k == name)
        } else if let Some(name) = key.strip_prefix("method.request.path.") {
            path_params.get(name).is_some_and(|v| !v.is_empty())
        } else {
            true
        };
        if !present {
            missing.push(key.rsplit('.').next().unwrap_or(key).to_owned());
        }
    }
    missing
}

/// The model for the request's content type (`application/json` when it names none), or
/// `$default`; none, or the `Empty` model, means the body is not checked.
fn body_model<'a>(
    deployment: &'a RestDeployment,
    method: &Method,
    info: &RequestInfo,
) -> Option<&'a RestModel> {
    let models = method.request_models.as_ref()?;
    let content_type = info
        .header("content-type")
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "application/json".to_owned());
    let name = models.get(&content_type).or_else(|| models.get("$default"))?;
    if name == "Empty" {
        return None;
    }
    deployment.models.get(name)
}

/// Validates a body against a model; `Err` carries the validation errors.
pub(crate) fn check_body(
    models: &BTreeMap<String, RestModel>,
    api_id: &str,
    model: &RestModel,
    body: &[u8],
) -> Result<(), String> {
    let Some(schema) = model.schema.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return Ok(());
    };
    // An empty body is validated as an empty object, so required members are reported.
    let instance: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| format!("[Invalid JSON: {e}]"))?
    };
    let retriever = Models { api_id: api_id.to_owned(), models: models.clone() };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_retriever(retriever)
        .build(&schema)
        .map_err(|e| format!("[{e}]"))?;
    let errors: Vec<String> = validator.iter_errors(&instance).map(|e| e.to_string()).collect();
    if errors.is_empty() { Ok(()) } else { Err(format!("[{}]", errors.join(", "))) }
}

/// Resolves model URLs of this API to the models' schemas.
struct Models {
    api_id: String,
    models: BTreeMap<String, RestModel>,
}

impl jsonschema::Retrieve for Models {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let prefix = format!("https://apigateway.amazonaws.com/restapis/{}/models/", self.api_id);
        let name =
            uri.as_str().strip_prefix(&prefix).ok_or_else(|| format!("cannot resolve {}", uri.as_str()))?;
        let name = name.split('#').next().unwrap_or(name);
        let schema = self
            .models
            .get(name)
            .and_then(|m| m.schema.as_deref())
            .ok_or_else(|| format!("no model {name}"))?;
        Ok(serde_json::from_str(schema)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RequestValidator;

    fn model(name: &str, schema: &str) -> RestModel {
        RestModel {
            id: name.to_lowercase(),
            name: name.to_owned(),
            schema: Some(schema.to_owned()),
            content_type: "application/json".to_owned(),
            ..RestModel::default()
        }
    }

    fn info(query: &str, headers: &[(&str, &str)], body: &str) -> RequestInfo {
        RequestInfo {
            method: "POST".into(),
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            raw_query: query.into(),
            body: body.as_bytes().to_vec(),
            full_path: "/dev/pets".into(),
            path: "/pets".into(),
            source_ip: "127.0.0.1".into(),
            domain_name: "x".into(),
            request_id: "r".into(),
            time_epoch_ms: 0,
            account: "000000000000".into(),
            api_id: "api".into(),
            stage: "dev".into(),
            caller: None,
            binary_media_types: None,
        }
    }

    fn deployment() -> RestDeployment {
        let pet = model(
            "Pet",
            r#"{"type":"object","required":["name","owner"],"properties":{"name":{"type":"string"},"owner":{"$ref":"https://apigateway.amazonaws.com/restapis/api/models/Owner"}}}"#,
        );
        let owner =
            model("Owner", r#"{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}"#);
        RestDeployment {
            models: BTreeMap::from([("Pet".into(), pet), ("Owner".into(), owner)]),
            request_validators: BTreeMap::from([(
                "v1".to_owned(),
                RequestValidator {
                    id: "v1".into(),
                    name: None,
                    validate_request_body: true,
                    validate_request_parameters: true,
                },
            )]),
            ..RestDeployment::default()
        }
    }

    fn method() -> Method {
        Method {
            http_method: "POST".into(),
            request_validator_id: Some("v1".into()),
            request_parameters: Some(BTreeMap::from([
                ("method.request.querystring.version".to_owned(), true),
                ("method.request.header.x-trace".to_owned(), true),
                ("method.request.querystring.optional".to_owned(), false),
            ])),
            request_models: Some(BTreeMap::from([("application/json".to_owned(), "Pet".to_owned())])),
            ..Method::default()
        }
    }

    #[test]
    fn required_parameters_are_listed_by_name() {
        let err = check(&deployment(), "api", &method(), &info("", &[], "{}"), &Params::new())
            .expect_err("invalid");
        assert_eq!(err.response_type, "BAD_REQUEST_PARAMETERS");
        assert_eq!(err.message, "Missing required request parameters: [x-trace, version]");
        let err = check(&deployment(), "api", &method(), &info("version=1", &[], "{}"), &Params::new())
            .expect_err("invalid");
        assert_eq!(err.message, "Missing required request parameters: [x-trace]");
    }

    #[test]
    fn bodies_follow_their_model_and_its_references() {
        let headers = [("X-Trace", "t"), ("content-type", "application/json; charset=utf-8")];
        let good = r#"{"name":"rex","owner":{"id":7}}"#;
        assert_eq!(
            check(&deployment(), "api", &method(), &info("version=1", &headers, good), &Params::new()),
            Ok(())
        );
        for bad in [r#"{"name":"rex"}"#, r#"{"name":"rex","owner":{"id":"seven"}}"#, "not json", ""] {
            let err =
                check(&deployment(), "api", &method(), &info("version=1", &headers, bad), &Params::new())
                    .expect_err(bad);
            assert_eq!(
                (err.response_type, err.message.as_str()),
                ("BAD_REQUEST_BODY", "Invalid request body")
            );
        }
        // Another content type with no model (and no `$default`) is not checked.
        let xml = [("X-Trace", "t"), ("content-type", "application/xml")];
        assert_eq!(
            check(&deployment(), "api", &method(), &info("version=1", &xml, "<a/>"), &Params::new()),
            Ok(())
        );
    }

    #[test]
    fn methods_without_a_validator_pass() {
        let mut m = method();
        m.request_validator_id = None;
        assert_eq!(check(&deployment(), "api", &m, &info("", &[], "junk"), &Params::new()), Ok(()));
    }
}
