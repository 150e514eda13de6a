//! REST APIs' models (JSON Schema draft 4 documents), request validators and gateway responses:
//! the control plane of what the data plane checks requests against (`dataplane/validate.rs`)
//! and how it words its own errors (`dataplane/gateway_response.rs`). All three live in the
//! API's record and are frozen into each deployment, so edits reach callers on the next deploy,
//! as in AWS.

use std::collections::BTreeMap;

use http::StatusCode;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};

use crate::error::Error;
use crate::model::{self, GatewayResponse, RequestValidator, RestApi, RestModel};
use crate::operation::{ModelInput, Operation, PatchOp};
use crate::{Inner, empty, ok};

/// Every gateway response type with the status it answers by default (`None` for the two
/// fallbacks, which take the status of the error they stand in for).
pub(crate) const RESPONSE_TYPES: &[(&str, Option<u16>)] = &[
    ("ACCESS_DENIED", Some(403)),
    ("API_CONFIGURATION_ERROR", Some(500)),
    ("AUTHORIZER_CONFIGURATION_ERROR", Some(500)),
    ("AUTHORIZER_FAILURE", Some(500)),
    ("BAD_REQUEST_BODY", Some(400)),
    ("BAD_REQUEST_PARAMETERS", Some(400)),
    ("DEFAULT_4XX", None),
    ("DEFAULT_5XX", None),
    ("EXPIRED_TOKEN", Some(403)),
    ("INTEGRATION_FAILURE", Some(504)),
    ("INTEGRATION_TIMEOUT", Some(504)),
    ("INVALID_API_KEY", Some(403)),
    ("INVALID_SIGNATURE", Some(403)),
    ("MISSING_AUTHENTICATION_TOKEN", Some(403)),
    ("QUOTA_EXCEEDED", Some(429)),
    ("REQUEST_TOO_LARGE", Some(413)),
    ("RESOURCE_NOT_FOUND", Some(404)),
    ("THROTTLED", Some(429)),
    ("UNAUTHORIZED", Some(401)),
    ("UNSUPPORTED_MEDIA_TYPE", Some(415)),
    ("WAF_FILTERED", Some(403)),
];

/// The body every default gateway response renders.
pub(crate) const DEFAULT_TEMPLATE: &str = "{\"message\":$context.error.messageString}";

/// The two models every new REST API has.
pub(crate) fn default_models() -> BTreeMap<String, RestModel> {
    let empty = RestModel {
        id: model::new_id(),
        name: "Empty".to_owned(),
        description: Some("This is a default empty schema model".to_owned()),
        schema: Some(
            "{\n  \"$schema\": \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Empty Schema\",\n  \"type\" : \"object\"\n}"
                .to_owned(),
        ),
        content_type: "application/json".to_owned(),
    };
    let error = RestModel {
        id: model::new_id(),
        name: "Error".to_owned(),
        description: Some("This is a default error schema model".to_owned()),
        schema: Some(
            "{\n  \"$schema\" : \"http://json-schema.org/draft-04/schema#\",\n  \"title\" : \"Error Schema\",\n  \"type\" : \"object\",\n  \"properties\" : {\n    \"message\" : { \"type\" : \"string\" }\n  }\n}"
                .to_owned(),
        ),
        content_type: "application/json".to_owned(),
    };
    BTreeMap::from([(empty.name.clone(), empty), (error.name.clone(), error)])
}

pub(crate) fn act(inner: &Inner, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    let created = StatusCode::CREATED;
    match op {
        Operation::CreateModel(api, input) => {
            let model = inner.update_rest(ctx, &api, |api| create_model(api, input))?;
            ok(ctx, created, &model_view(&model))
        }
        Operation::GetModel(api, name) => {
            let api = inner.rest_api(ctx, &api)?;
            ok(ctx, StatusCode::OK, &model_view(api.models.get(&name).ok_or_else(no_model)?))
        }
        Operation::GetModels(api) => {
            let api = inner.rest_api(ctx, &api)?;
            let items: Vec<Value> = api.models.values().map(model_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateModel(api, name, ops) => {
            let model = inner.update_rest(ctx, &api, |api| {
                let mut model = api.models.get(&name).cloned().ok_or_else(no_model)?;
                patch_model(&mut model, &ops)?;
                api.models.insert(name.clone(), model.clone());
                Ok(model)
            })?;
            ok(ctx, StatusCode::OK, &model_view(&model))
        }
        Operation::DeleteModel(api, name) => {
            inner.update_rest(ctx, &api, |api| {
                if !api.models.contains_key(&name) {
                    return Err(no_model());
                }
                for resource in api.resources.values() {
                    for method in resource.methods.values() {
                        if method.request_models.as_ref().is_some_and(|m| m.values().any(|n| *n == name)) {
                            return Err(Error::bad(format!(
                                "Cannot delete model '{name}', is referenced in method request: {}/{}",
                                resource.path, method.http_method
                            )));
                        }
                    }
                }
                api.models.remove(&name);
                Ok(())
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::GetModelTemplate(api, name) => {
            let api = inner.rest_api(ctx, &api)?;
            let model = api.models.get(&name).ok_or_else(no_model)?;
            ok(ctx, StatusCode::OK, &json!({ "value": model_template(model) }))
        }
        Operation::CreateRequestValidator(api, input) => {
            let validator = RequestValidator {
                id: model::new_id()[..6].to_owned(),
                name: input.name,
                validate_request_body: input.validate_request_body.unwrap_or(false),
                validate_request_parameters: input.validate_request_parameters.unwrap_or(false),
            };
            inner.update_rest(ctx, &api, |api| {
                api.request_validators.insert(validator.id.clone(), validator.clone());
                Ok(())
            })?;
            ok(ctx, created, &validator_view(&validator))
        }
        Operation::GetRequestValidator(api, id) => {
            let api = inner.rest_api(ctx, &api)?;
            ok(
                ctx,
                StatusCode::OK,
                &validator_view(api.request_validators.get(&id).ok_or_else(no_validator)?),
            )
        }
        Operation::GetRequestValidators(api) => {
            let api = inner.rest_api(ctx, &api)?;
            let items: Vec<Value> = api.request_validators.values().map(validator_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateRequestValidator(api, id, ops) => {
            let validator = inner.update_rest(ctx, &api, |api| {
                let validator = api.request_validators.get_mut(&id).ok_or_else(no_validator)?;
                patch_validator(validator, &ops)?;
                Ok(validator.clone())
            })?;
            ok(ctx, StatusCode::OK, &validator_view(&validator))
        }
        Operation::DeleteRequestValidator(api, id) => {
            inner.update_rest(ctx, &api, |api| {
                api.request_validators.remove(&id).ok_or_else(no_validator)?;
                // Methods that used it validate nothing from now on.
                for resource in api.resources.values_mut() {
                    for method in resource.methods.values_mut() {
                        if method.request_validator_id.as_deref() == Some(id.as_str()) {
                            method.request_validator_id = None;
                        }
                    }
                }
                Ok(())
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::PutGatewayResponse(api, kind, input) => {
            check_type(&kind)?;
            let response = GatewayResponse {
                response_type: kind.clone(),
                status_code: input.status_code.map(|s| check_status(&s).map(|()| s)).transpose()?,
                response_parameters: input.response_parameters.unwrap_or_default(),
                response_templates: input.response_templates.unwrap_or_default(),
            };
            inner.update_rest(ctx, &api, |api| {
                api.gateway_responses.insert(kind.clone(), response.clone());
                Ok(())
            })?;
            ok(ctx, created, &gateway_response_view(&kind, Some(&response)))
        }
        Operation::GetGatewayResponse(api, kind) => {
            check_type(&kind)?;
            let api = inner.rest_api(ctx, &api)?;
            ok(ctx, StatusCode::OK, &gateway_response_view(&kind, api.gateway_responses.get(&kind)))
        }
        Operation::GetGatewayResponses(api) => {
            let api = inner.rest_api(ctx, &api)?;
            let items: Vec<Value> = RESPONSE_TYPES
                .iter()
                .map(|(kind, _)| gateway_response_view(kind, api.gateway_responses.get(*kind)))
                .collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateGatewayResponse(api, kind, ops) => {
            check_type(&kind)?;
            let response = inner.update_rest(ctx, &api, |api| {
                // Patching a default response customizes it, starting from the default.
                let mut response =
                    api.gateway_responses.get(&kind).cloned().unwrap_or_else(|| GatewayResponse {
                        response_type: kind.clone(),
                        response_templates: BTreeMap::from([(
                            "application/json".to_owned(),
                            DEFAULT_TEMPLATE.to_owned(),
                        )]),
                        ..GatewayResponse::default()
                    });
                patch_gateway_response(&mut response, &ops)?;
                api.gateway_responses.insert(kind.clone(), response.clone());
                Ok(response)
            })?;
            ok(ctx, StatusCode::OK, &gateway_response_view(&kind, Some(&response)))
        }
        Operation::DeleteGatewayResponse(api, kind) => {
            check_type(&kind)?;
            inner.update_rest(ctx, &api, |api| {
                api.gateway_responses
                    .remove(&kind)
                    .map(drop)
                    .ok_or_else(|| Error::not_found("Invalid gateway response type specified"))
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        _ => Err(Error::UnknownOperationException),
    }
}

/// A method's `requestValidatorId` and `requestModels` must name what the API has.
pub(crate) fn check_method_refs(
    api: &RestApi,
    validator: Option<&str>,
    models: Option<&BTreeMap<String, String>>,
) -> Result<(), Error> {
    if let Some(id) = validator
        && !api.request_validators.contains_key(id)
    {
        return Err(Error::bad(format!("Invalid Request Validator identifier specified: {id}")));
    }
    for name in models.into_iter().flat_map(BTreeMap::values) {
        if !api.models.contains_key(name) {
            return Err(Error::bad(format!("Invalid model identifier specified: {name}")));
        }
    }
    Ok(())
}

fn create_model(api: &mut RestApi, input: ModelInput) -> Result<RestModel, Error> {
    let name =
        input.name.filter(|n| !n.is_empty()).ok_or_else(|| Error::bad("Model name must be specified"))?;
    if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::bad("Model name must be alphanumeric"));
    }
    let content_type = input
        .content_type
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::bad("Content type must be specified"))?;
    if api.models.contains_key(&name) {
        return Err(Error::ConflictException("Model name already exists for this REST API".to_owned()));
    }
    if let Some(schema) = &input.schema {
        check_schema(schema)?;
    }
    let model = RestModel {
        id: model::new_id(),
        name,
        description: input.description,
        schema: input.schema,
        content_type,
    };
    api.models.insert(model.name.clone(), model.clone());
    Ok(model)
}

/// A model's schema must be a JSON object that is a valid draft 4 schema.
pub(crate) fn check_schema(schema: &str) -> Result<(), Error> {
    let invalid = || {
        Error::bad(
            "Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]",
        )
    };
    let value: Value = serde_json::from_str(schema).map_err(|_| invalid())?;
    if !value.is_object() || !jsonschema::draft4::meta::is_valid(&value) {
        return Err(invalid());
    }
    Ok(())
}

fn patch_model(model: &mut RestModel, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        match (op.op.as_str(), op.path.as_str()) {
            ("replace", "/schema") => {
                let schema = op.value.clone().unwrap_or_default();
                check_schema(&schema)?;
                model.schema = Some(schema);
            }
            ("replace", "/description") => model.description = op.value.clone(),
            _ => return Err(invalid_patch(op, "description, schema")),
        }
    }
    Ok(())
}

fn patch_validator(validator: &mut RequestValidator, ops: &[PatchOp]) -> Result<(), Error> {
    let flag = |op: &PatchOp| match op.value.as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        other => Err(Error::bad(format!("Invalid value '{}' for boolean field", other.unwrap_or("null")))),
    };
    for op in ops {
        match (op.op.as_str(), op.path.as_str()) {
            ("replace", "/name") => validator.name = op.value.clone(),
            ("replace", "/validateRequestBody") => validator.validate_request_body = flag(op)?,
            ("replace", "/validateRequestParameters") => validator.validate_request_parameters = flag(op)?,
            _ => return Err(invalid_patch(op, "name, validateRequestBody, validateRequestParameters")),
        }
    }
    Ok(())
}

fn patch_gateway_response(response: &mut GatewayResponse, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        let decode = |s: &str| s.replace("~1", "/").replace("~0", "~");
        let remove = op.op == "remove";
        if !matches!(op.op.as_str(), "add" | "replace" | "remove") {
            return Err(invalid_patch(op, "statusCode, responseParameters/*, responseTemplates/*"));
        }
        if op.path == "/statusCode" {
            if remove {
                response.status_code = None;
            } else {
                let status = op.value.clone().unwrap_or_default();
                check_status(&status)?;
                response.status_code = Some(status);
            }
        } else if let Some(name) = op.path.strip_prefix("/responseParameters/") {
            if remove {
                response.response_parameters.remove(&decode(name));
            } else {
                response.response_parameters.insert(decode(name), op.value.clone().unwrap_or_default());
            }
        } else if let Some(content_type) = op.path.strip_prefix("/responseTemplates/") {
            if remove {
                response.response_templates.remove(&decode(content_type));
            } else {
                response
                    .response_templates
                    .insert(decode(content_type), op.value.clone().unwrap_or_default());
            }
        } else {
            return Err(invalid_patch(op, "statusCode, responseParameters/*, responseTemplates/*"));
        }
    }
    Ok(())
}

fn invalid_patch(op: &PatchOp, allowed: &str) -> Error {
    Error::bad(format!(
        "Invalid patch path '{}' specified for op '{}'. Must be one of: [{allowed}]",
        op.path, op.op
    ))
}

fn check_type(kind: &str) -> Result<(), Error> {
    if RESPONSE_TYPES.iter().any(|(t, _)| *t == kind) {
        return Ok(());
    }
    let all: Vec<&str> = RESPONSE_TYPES.iter().map(|(t, _)| *t).collect();
    Err(Error::bad(format!(
        "1 validation error detected: Value '{kind}' at 'responseType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        all.join(", ")
    )))
}

fn check_status(status: &str) -> Result<(), Error> {
    let valid = status.len() == 3
        && status.starts_with(['1', '2', '3', '4', '5'])
        && status.bytes().all(|b| b.is_ascii_digit());
    if valid { Ok(()) } else { Err(Error::bad(format!("Invalid status code specified: {status}"))) }
}

/// The status a response type answers when not customized.
pub(crate) fn default_status(kind: &str) -> Option<u16> {
    RESPONSE_TYPES.iter().find(|(t, _)| *t == kind).and_then(|(_, s)| *s)
}

fn no_model() -> Error {
    Error::not_found("Invalid model name specified")
}

fn no_validator() -> Error {
    Error::not_found("Invalid Request Validator identifier specified")
}

fn model_view(m: &RestModel) -> Value {
    serde_json::to_value(m).unwrap_or_default()
}

fn validator_view(v: &RequestValidator) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// A gateway response as the API lists it: the customization, or the type's default.
fn gateway_response_view(kind: &str, custom: Option<&GatewayResponse>) -> Value {
    let status =
        custom.and_then(|c| c.status_code.clone()).or_else(|| default_status(kind).map(|s| s.to_string()));
    let (parameters, templates) = match custom {
        Some(c) => (c.response_parameters.clone(), c.response_templates.clone()),
        None => {
            (BTreeMap::new(), BTreeMap::from([("application/json".to_owned(), DEFAULT_TEMPLATE.to_owned())]))
        }
    };
    let mut v = json!({
        "responseType": kind,
        "responseParameters": parameters,
        "responseTemplates": templates,
        "defaultResponse": custom.is_none(),
    });
    if let (Value::Object(m), Some(status)) = (&mut v, status) {
        m.insert("statusCode".into(), json!(status));
    }
    v
}

/// GetModelTemplate: a mapping template that copies the model's top-level properties from the
/// input, as the console's generated templates start.
fn model_template(model: &RestModel) -> String {
    let schema: Value =
        model.schema.as_deref().and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return "#set($inputRoot = $input.path('$'))\n{}".to_owned();
    };
    let lines: Vec<String> = properties
        .iter()
        .map(|(name, prop)| match prop.get("type").and_then(Value::as_str) {
            Some("string") | None => format!("  \"{name}\" : \"$inputRoot.{name}\""),
            Some(_) => format!("  \"{name}\" : $inputRoot.{name}"),
        })
        .collect();
    format!("#set($inputRoot = $input.path('$'))\n{{\n{}\n}}", lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(op: &str, path: &str, value: &str) -> PatchOp {
        PatchOp { op: op.into(), path: path.into(), value: Some(value.into()), from: None }
    }

    #[test]
    fn schemas_must_be_draft_4_objects() {
        assert!(check_schema(r#"{"type":"object","required":["a"]}"#).is_ok());
        for bad in ["not json", "[1]", r#"{"type": 5}"#, r#"{"required": []}"#] {
            let Err(Error::BadRequestException(m)) = check_schema(bad) else { panic!("{bad} accepted") };
            assert!(m.contains("Invalid model schema specified"), "{m}");
        }
        for m in default_models().values() {
            check_schema(m.schema.as_deref().unwrap_or_default()).expect("default models are valid");
        }
    }

    #[test]
    fn default_and_customized_gateway_responses() {
        let v = gateway_response_view("MISSING_AUTHENTICATION_TOKEN", None);
        assert_eq!(v["statusCode"], "403");
        assert_eq!(v["defaultResponse"], true);
        assert_eq!(v["responseTemplates"]["application/json"], DEFAULT_TEMPLATE);
        assert!(gateway_response_view("DEFAULT_4XX", None).get("statusCode").is_none());
        let mut r = GatewayResponse { response_type: "THROTTLED".into(), ..GatewayResponse::default() };
        patch_gateway_response(
            &mut r,
            &[
                op("replace", "/statusCode", "503"),
                op("add", "/responseParameters/gatewayresponse.header.x-a", "'b'"),
                op("add", "/responseTemplates/application~1json", "{}"),
            ],
        )
        .expect("valid patch");
        assert_eq!(r.status_code.as_deref(), Some("503"));
        assert_eq!(r.response_parameters["gatewayresponse.header.x-a"], "'b'");
        assert_eq!(r.response_templates["application/json"], "{}");
        assert!(patch_gateway_response(&mut r, &[op("replace", "/statusCode", "99")]).is_err());
        assert!(check_type("NOPE").is_err());
    }

    #[test]
    fn templates_from_models() {
        let m = RestModel {
            schema: Some(
                r#"{"type":"object","properties":{"a":{"type":"string"},"n":{"type":"integer"}}}"#.into(),
            ),
            ..RestModel::default()
        };
        let t = model_template(&m);
        assert!(t.contains("\"a\" : \"$inputRoot.a\"") && t.contains("\"n\" : $inputRoot.n"), "{t}");
    }
}
