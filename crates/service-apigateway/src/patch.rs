//! Patch operations as the REST API's Update* calls apply them (`op`, `path`, `value`): a
//! JSON-Patch dialect where paths name members (`/description`), map entries
//! (`/variables/name`) or set elements (`/binaryMediaTypes/image~1png`, `~1` standing for `/`).
//! Each target lists the paths it accepts; anything else is refused the way AWS refuses it.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::model::{
    ApiKey, ApiStage, Method, MethodSetting, Quota, RestApi, RestAuthorizer, RestStage, Throttle, UsagePlan,
};
use crate::operation::PatchOp;

/// The parts of a patch path after the leading `/`, with `~1` and `~0` decoded.
fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/').split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

fn invalid_path(op: &PatchOp) -> Error {
    Error::bad(format!(
        "Invalid patch path '{}' specified for op '{}'. Must be one of: [description, deploymentId, variables/*]",
        op.path, op.op
    ))
}

fn unsupported_op(op: &PatchOp) -> Error {
    Error::bad(format!(
        "Invalid patch operation specified. Must be 'add'|'remove'|'replace', got '{}'",
        op.op
    ))
}

/// `add`/`replace` store the value, `remove` drops the key.
fn patch_map(map: &mut BTreeMap<String, String>, key: String, op: &PatchOp) -> Result<(), Error> {
    match op.op.as_str() {
        "add" | "replace" => {
            map.insert(key, op.value.clone().unwrap_or_default());
            Ok(())
        }
        "remove" => {
            map.remove(&key);
            Ok(())
        }
        _ => Err(unsupported_op(op)),
    }
}

/// A scalar member: `replace` (or `add`) sets it, `remove` clears it.
fn patch_text(field: &mut Option<String>, op: &PatchOp) -> Result<(), Error> {
    match op.op.as_str() {
        "add" | "replace" => {
            *field = op.value.clone();
            Ok(())
        }
        "remove" => {
            *field = None;
            Ok(())
        }
        _ => Err(unsupported_op(op)),
    }
}

fn bool_value(op: &PatchOp) -> Result<bool, Error> {
    match op.value.as_deref() {
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        other => Err(Error::bad(format!("Invalid value '{}' for boolean field", other.unwrap_or("null")))),
    }
}

fn number<T: std::str::FromStr>(op: &PatchOp) -> Result<T, Error> {
    op.value.as_deref().and_then(|v| v.trim().parse().ok()).ok_or_else(|| {
        Error::bad(format!("Invalid number value '{}'", op.value.as_deref().unwrap_or("null")))
    })
}

/// UpdateStage: `description`, `deploymentId` (checked by the caller), `variables/*`, and the
/// method settings `{resourcePath}/{METHOD}/{setting}` (`*/*` for all methods; the resource path
/// keeps its `~1` escapes in the key, as AWS lists it).
pub(crate) fn stage(stage: &mut RestStage, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        let raw: Vec<&str> = op.path.trim_start_matches('/').split('/').collect();
        if let Some(key) = method_setting_key(&raw) {
            if op.op == "remove" {
                stage.method_settings.remove(&key);
                continue;
            }
            let setting = stage.method_settings.entry(key).or_default();
            let n = raw.len();
            method_setting(setting, &format!("{}/{}", raw[n - 2], raw[n - 1]), op)?;
            continue;
        }
        let segs = segments(&op.path);
        match segs.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["description"] => patch_text(&mut stage.description, op)?,
            ["deploymentId"] if op.op == "replace" => {
                stage.deployment_id = op.value.clone().unwrap_or_default();
            }
            ["variables", name] if !name.is_empty() => {
                patch_map(&mut stage.variables, (*name).to_owned(), op)?
            }
            ["accessLogSettings"] if op.op == "remove" => stage.access_log_settings = None,
            ["accessLogSettings", field @ ("destinationArn" | "format")] => {
                let settings = stage.access_log_settings.get_or_insert_with(Default::default);
                let slot =
                    if *field == "format" { &mut settings.format } else { &mut settings.destination_arn };
                patch_text(slot, op)?;
                if settings.destination_arn.is_none() && settings.format.is_none() {
                    stage.access_log_settings = None;
                }
            }
            _ => return Err(invalid_path(op)),
        }
    }
    Ok(())
}

/// The `methodSettings` key a patch path names: `*/*/…`, `~1pets/GET/…`, or the unescaped
/// `pets/GET/…` some tools send, all stored as AWS lists them (`~1pets/GET`).
fn method_setting_key(raw: &[&str]) -> Option<String> {
    const METHODS: &[&str] = &["*", "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];
    let n = raw.len();
    if n < 4 || !METHODS.contains(&raw[n - 3]) || raw[0] == "variables" {
        return None;
    }
    let resource = raw[..n - 3].join("/");
    let resource = if resource == "*" || resource.starts_with("~1") {
        resource
    } else {
        format!("~1{}", resource.replace('/', "~1"))
    };
    Some(format!("{resource}/{}", raw[n - 3]))
}

/// One method setting by its patch name (`throttling/rateLimit`).
fn method_setting(s: &mut MethodSetting, name: &str, op: &PatchOp) -> Result<(), Error> {
    if op.op != "replace" {
        return Err(unsupported_op(op));
    }
    match name {
        "throttling/rateLimit" => s.throttling_rate_limit = number(op)?,
        "throttling/burstLimit" => s.throttling_burst_limit = number(op)?,
        "metrics/enabled" => s.metrics_enabled = bool_value(op)?,
        "logging/dataTrace" => s.data_trace_enabled = bool_value(op)?,
        "logging/loglevel" => s.logging_level = op.value.clone().unwrap_or_default(),
        "caching/enabled" => s.caching_enabled = bool_value(op)?,
        "caching/ttlInSeconds" => s.cache_ttl_in_seconds = number(op)?,
        "caching/dataEncrypted" => s.cache_data_encrypted = bool_value(op)?,
        "caching/requireAuthorizationForCacheControl" => {
            s.require_authorization_for_cache_control = bool_value(op)?
        }
        "caching/unauthorizedCacheControlHeaderStrategy" => {
            s.unauthorized_cache_control_header_strategy = op.value.clone().unwrap_or_default()
        }
        _ => return Err(invalid_path(op)),
    }
    Ok(())
}

/// UpdateAuthorizer (REST APIs): the authorizer's scalar members.
pub(crate) fn authorizer(a: &mut RestAuthorizer, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        match op.path.as_str() {
            "/name" if op.op == "replace" => a.name = op.value.clone().unwrap_or_default(),
            "/type" if op.op == "replace" => a.kind = op.value.clone().unwrap_or_default(),
            "/authorizerUri" => patch_text(&mut a.authorizer_uri, op)?,
            "/authorizerCredentials" => patch_text(&mut a.authorizer_credentials, op)?,
            "/identitySource" => patch_text(&mut a.identity_source, op)?,
            "/identityValidationExpression" => patch_text(&mut a.identity_validation_expression, op)?,
            "/authType" => patch_text(&mut a.auth_type, op)?,
            "/authorizerResultTtlInSeconds" if op.op == "replace" => {
                a.authorizer_result_ttl_in_seconds = number(op)?
            }
            _ => {
                return Err(Error::bad(format!(
                    "Invalid patch path '{}' specified for op '{}'.",
                    op.path, op.op
                )));
            }
        }
    }
    Ok(())
}

/// UpdateApiKey: `name`, `description`, `enabled`, `customerId`.
pub(crate) fn api_key(key: &mut ApiKey, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        match op.path.as_str() {
            "/name" => patch_text(&mut key.name, op)?,
            "/description" => patch_text(&mut key.description, op)?,
            "/customerId" => patch_text(&mut key.customer_id, op)?,
            "/enabled" if op.op == "replace" => key.enabled = bool_value(op)?,
            _ => {
                return Err(Error::bad(format!(
                    "Invalid patch path '{}' specified for op '{}'.",
                    op.path, op.op
                )));
            }
        }
    }
    Ok(())
}

/// UpdateUsagePlan: `name`, `description`, `throttle/*`, `quota/*`, and `apiStages` (`add` or
/// `remove` with the value `{apiId}:{stage}`).
pub(crate) fn usage_plan(plan: &mut UsagePlan, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        match op.path.as_str() {
            "/name" if op.op == "replace" => plan.name = op.value.clone().unwrap_or_default(),
            "/description" => patch_text(&mut plan.description, op)?,
            "/productCode" => patch_text(&mut plan.product_code, op)?,
            "/throttle" if op.op == "remove" => plan.throttle = None,
            "/quota" if op.op == "remove" => plan.quota = None,
            "/throttle/rateLimit" => {
                plan.throttle.get_or_insert_with(Throttle::default).rate_limit = Some(number(op)?)
            }
            "/throttle/burstLimit" => {
                plan.throttle.get_or_insert_with(Throttle::default).burst_limit = Some(number(op)?)
            }
            "/quota/limit" => plan.quota.get_or_insert_with(Quota::default).limit = number(op)?,
            "/quota/offset" => plan.quota.get_or_insert_with(Quota::default).offset = number(op)?,
            "/quota/period" => {
                plan.quota.get_or_insert_with(Quota::default).period = op.value.clone().unwrap_or_default()
            }
            "/apiStages" => {
                let value = op.value.as_deref().unwrap_or_default();
                let (api_id, stage) = value
                    .split_once(':')
                    .ok_or_else(|| Error::bad(format!("Invalid API stage specified: {value}")))?;
                match op.op.as_str() {
                    "add" => {
                        if !plan.api_stages.iter().any(|s| s.api_id == api_id && s.stage == stage) {
                            plan.api_stages.push(ApiStage {
                                api_id: api_id.to_owned(),
                                stage: stage.to_owned(),
                                throttle: None,
                            });
                        }
                    }
                    "remove" => plan.api_stages.retain(|s| !(s.api_id == api_id && s.stage == stage)),
                    _ => return Err(unsupported_op(op)),
                }
            }
            _ => {
                return Err(Error::bad(format!(
                    "Invalid patch path '{}' specified for op '{}'.",
                    op.path, op.op
                )));
            }
        }
    }
    Ok(())
}

/// UpdateRestApi: `name`, `description`, `version`, `apiKeySource`, `disableExecuteApiEndpoint`,
/// `binaryMediaTypes/{type}`.
pub(crate) fn rest_api(api: &mut RestApi, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        let segs = segments(&op.path);
        match segs.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["name"] if op.op == "replace" => match op.value.as_deref() {
                Some(name) if !name.is_empty() => api.name = name.to_owned(),
                _ => return Err(Error::bad("Name cannot be empty")),
            },
            ["description"] => patch_text(&mut api.description, op)?,
            ["version"] => patch_text(&mut api.version, op)?,
            ["apiKeySource"] if op.op == "replace" => match op.value.as_deref() {
                Some(v @ ("HEADER" | "AUTHORIZER")) => api.api_key_source = v.to_owned(),
                _ => return Err(Error::bad("Invalid apiKeySource. Must be one of: [HEADER, AUTHORIZER]")),
            },
            ["disableExecuteApiEndpoint"] if op.op == "replace" => {
                api.disable_execute_api_endpoint = bool_value(op)?
            }
            ["binaryMediaTypes", media] if !media.is_empty() => match op.op.as_str() {
                "add" => {
                    if !api.binary_media_types.iter().any(|m| m == media) {
                        api.binary_media_types.push((*media).to_owned());
                    }
                }
                "remove" => api.binary_media_types.retain(|m| m != media),
                _ => return Err(unsupported_op(op)),
            },
            _ => {
                return Err(Error::bad(format!(
                    "Invalid patch path '{}' specified for op '{}'.",
                    op.path, op.op
                )));
            }
        }
    }
    Ok(())
}

/// UpdateMethod: `apiKeyRequired`, `authorizationType`, `operationName`.
pub(crate) fn method(method: &mut Method, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        match op.path.as_str() {
            "/apiKeyRequired" if op.op == "replace" => method.api_key_required = bool_value(op)?,
            "/authorizationType" if op.op == "replace" => {
                method.authorization_type = op.value.clone().unwrap_or_else(|| "NONE".to_owned());
            }
            "/operationName" => patch_text(&mut method.operation_name, op)?,
            "/authorizerId" => patch_text(&mut method.authorizer_id, op)?,
            "/requestValidatorId" => patch_text(&mut method.request_validator_id, op)?,
            _ if op.path.starts_with("/requestModels/") => {
                let content_type = segments(&op.path).get(1).cloned().unwrap_or_default();
                let models = method.request_models.get_or_insert_with(BTreeMap::new);
                patch_map(models, content_type, op)?;
            }
            _ if op.path.starts_with("/requestParameters/") => {
                let name = segments(&op.path).get(1).cloned().unwrap_or_default();
                let params = method.request_parameters.get_or_insert_with(BTreeMap::new);
                match op.op.as_str() {
                    "add" | "replace" => {
                        params.insert(name, op.value.as_deref() == Some("true"));
                    }
                    "remove" => {
                        params.remove(&name);
                    }
                    _ => return Err(unsupported_op(op)),
                }
            }
            _ => {
                return Err(Error::bad(format!(
                    "Invalid patch path '{}' specified for op '{}'.",
                    op.path, op.op
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(op: &str, path: &str, value: Option<&str>) -> PatchOp {
        PatchOp { op: op.into(), path: path.into(), value: value.map(Into::into), from: None }
    }

    #[test]
    fn stage_variables_and_description() {
        let mut s = RestStage::default();
        s.variables.insert("old".into(), "1".into());
        stage(
            &mut s,
            &[
                op("replace", "/variables/env", Some("prod")),
                op("remove", "/variables/old", None),
                op("replace", "/description", Some("d")),
                op("replace", "/deploymentId", Some("dep1")),
            ],
        )
        .expect("valid patch");
        assert_eq!(s.variables.get("env").map(String::as_str), Some("prod"));
        assert!(!s.variables.contains_key("old"));
        assert_eq!(s.description.as_deref(), Some("d"));
        assert_eq!(s.deployment_id, "dep1");
        assert!(matches!(
            stage(&mut s, &[op("replace", "/nope", Some("x"))]),
            Err(Error::BadRequestException(_))
        ));
        assert!(matches!(
            stage(&mut s, &[op("move", "/variables/a", None)]),
            Err(Error::BadRequestException(_))
        ));
    }

    #[test]
    fn binary_media_types_use_escaped_slashes() {
        let mut api: RestApi = serde_json::from_value(serde_json::json!({
            "v": 1, "owner": {"account": "a", "region": "r"}, "id": "i", "name": "n",
            "apiKeySource": "HEADER", "endpointTypes": [], "binaryMediaTypes": [],
            "disableExecuteApiEndpoint": false, "rootResourceId": "r", "createdMs": 0, "tags": {},
            "resources": {}, "stages": {}, "deployments": {}
        }))
        .expect("record");
        rest_api(
            &mut api,
            &[op("add", "/binaryMediaTypes/image~1png", None), op("replace", "/name", Some("m"))],
        )
        .expect("valid patch");
        assert_eq!(api.binary_media_types, vec!["image/png".to_owned()]);
        assert_eq!(api.name, "m");
        rest_api(&mut api, &[op("remove", "/binaryMediaTypes/image~1png", None)]).expect("valid patch");
        assert!(api.binary_media_types.is_empty());
    }

    #[test]
    fn stage_method_settings() {
        let mut s = RestStage::default();
        stage(
            &mut s,
            &[
                op("replace", "/*/*/throttling/rateLimit", Some("2")),
                op("replace", "/~1pets/GET/throttling/burstLimit", Some("1")),
            ],
        )
        .expect("valid patch");
        assert_eq!(s.method_settings["*/*"].throttling_rate_limit, 2.0);
        assert_eq!(s.method_settings["*/*"].throttling_burst_limit, 5000);
        assert_eq!(s.method_settings["~1pets/GET"].throttling_burst_limit, 1);
        stage(&mut s, &[op("replace", "/pets/{id}/GET/metrics/enabled", Some("true"))]).expect("valid patch");
        assert!(s.method_settings["~1pets~1{id}/GET"].metrics_enabled);
        assert!(stage(&mut s, &[op("replace", "/*/*/throttling/rateLimit", Some("x"))]).is_err());
        assert!(stage(&mut s, &[op("replace", "/*/*/nothing/here", Some("1"))]).is_err());
    }

    #[test]
    fn method_flags() {
        let mut m = Method::default();
        method(&mut m, &[op("replace", "/apiKeyRequired", Some("true"))]).expect("valid patch");
        assert!(m.api_key_required);
        assert!(method(&mut m, &[op("replace", "/apiKeyRequired", Some("yes"))]).is_err());
    }
}
