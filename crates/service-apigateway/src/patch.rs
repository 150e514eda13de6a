//! Patch operations as the REST API's Update* calls apply them (`op`, `path`, `value`): a
//! JSON-Patch dialect where paths name members (`/description`), map entries
//! (`/variables/name`) or set elements (`/binaryMediaTypes/image~1png`, `~1` standing for `/`).
//! Each target lists the paths it accepts; anything else is refused the way AWS refuses it.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::model::{Method, RestApi, RestStage};
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

/// UpdateStage: `description`, `deploymentId` (checked by the caller), `variables/*`.
pub(crate) fn stage(stage: &mut RestStage, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        let segs = segments(&op.path);
        match segs.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["description"] => patch_text(&mut stage.description, op)?,
            ["deploymentId"] if op.op == "replace" => {
                stage.deployment_id = op.value.clone().unwrap_or_default();
            }
            ["variables", name] if !name.is_empty() => {
                patch_map(&mut stage.variables, (*name).to_owned(), op)?
            }
            _ => return Err(invalid_path(op)),
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
    fn method_flags() {
        let mut m = Method::default();
        method(&mut m, &[op("replace", "/apiKeyRequired", Some("true"))]).expect("valid patch");
        assert!(m.api_key_required);
        assert!(method(&mut m, &[op("replace", "/apiKeyRequired", Some("yes"))]).is_err());
    }
}
