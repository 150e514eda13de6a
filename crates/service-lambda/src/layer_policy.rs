//! Layer version permissions: the resource policy of one layer version
//! (AddLayerVersionPermission, GetLayerVersionPolicy, RemoveLayerVersionPermission). The
//! policy lives in the version's entry of the layer record, so deleting the version deletes it.

use protocol::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::Error;
use crate::functions::{Env, created, no_content, ok};
use crate::layers::{LAYERS, LayerRecord, layer_arn, layer_key, layer_name};
use crate::lock;
use crate::model::encode;
use crate::operation::{LayerPermissionInput, missing};

/// A layer version's policy: its statements, in the order they were added, and the revision
/// every change replaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerPolicy {
    /// Each statement as JSON text (the record stays comparable with `Eq`).
    pub statements: Vec<(String, String)>,
    pub revision_id: String,
}

const PRINCIPAL_PATTERN: &str = "\\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root";

fn version_missing(arn: &str) -> Error {
    Error::not_found(format!("Layer version {arn} does not exist."))
}

fn revision_mismatch() -> Error {
    Error::PreconditionFailedException(
        "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id".to_owned(),
    )
}

fn check_statement_id(sid: &str) -> Result<(), Error> {
    if sid.is_empty() {
        return Err(Error::validation(
            "statementId",
            sid,
            "Member must have length greater than or equal to 1",
        ));
    }
    if sid.len() > 100 {
        return Err(Error::validation(
            "statementId",
            sid,
            "Member must have length less than or equal to 100",
        ));
    }
    if !sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::validation(
            "statementId",
            sid,
            "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
        ));
    }
    Ok(())
}

/// The account a principal names (`123456789012` or `arn:aws:iam::123456789012:root`), or
/// `*`; anything else breaks the model's pattern.
fn principal_json(principal: &str) -> Result<Value, Error> {
    let twelve_digits = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    if principal == "*" {
        return Ok(json!("*"));
    }
    if twelve_digits(principal) {
        return Ok(json!({ "AWS": format!("arn:aws:iam::{principal}:root") }));
    }
    let from_arn = principal
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":iam::"))
        .filter(|(partition, _)| {
            partition.starts_with("aws") && partition.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-')
        })
        .and_then(|(_, rest)| rest.strip_suffix(":root"))
        .filter(|account| twelve_digits(account));
    match from_arn {
        Some(_) => Ok(json!({ "AWS": principal })),
        None => Err(Error::validation(
            "principal",
            principal,
            &format!("Member must satisfy regular expression pattern: {PRINCIPAL_PATTERN}"),
        )),
    }
}

fn check_organization(org: &str) -> Result<(), Error> {
    let ok = org.len() <= 34
        && org.strip_prefix("o-").is_some_and(|id| {
            (10..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "organizationId",
            org,
            "Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}",
        ))
    }
}

impl Env<'_> {
    /// Runs `change` on the policy of one layer version under the write lock and stores the
    /// record; the version's ARN is handed over for messages.
    fn change_layer_policy<T>(
        &self,
        raw_name: &str,
        number: u64,
        change: impl FnOnce(&mut Option<LayerPolicy>, &str) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let name = layer_name(self.scope, raw_name)?;
        let arn = format!("{}:{number}", layer_arn(self.scope, &name));
        let _guard = lock(&self.svc.writes);
        let mut record: LayerRecord = self.layer(self.scope, &name)?.ok_or_else(|| version_missing(&arn))?;
        let version = record.versions.get_mut(&number).ok_or_else(|| version_missing(&arn))?;
        let out = change(&mut version.policy, &arn)?;
        self.svc.kv.put(LAYERS, &layer_key(self.scope, &name), &encode(&record))?;
        Ok(out)
    }

    pub fn add_layer_version_permission(
        &self,
        raw_name: &str,
        number: u64,
        input: LayerPermissionInput,
        revision_id: Option<&str>,
    ) -> Result<Response, Error> {
        let sid = input.statement_id.ok_or_else(|| missing("statementId"))?;
        let action = input.action.ok_or_else(|| missing("action"))?;
        let principal = input.principal.ok_or_else(|| missing("principal"))?;
        check_statement_id(&sid)?;
        if action != "lambda:GetLayerVersion" {
            return Err(Error::validation(
                "action",
                &action,
                "Member must satisfy regular expression pattern: lambda:GetLayerVersion",
            ));
        }
        let principal_value = principal_json(&principal)?;
        if let Some(org) = &input.organization_id {
            check_organization(org)?;
        }
        let (statement, revision) = self.change_layer_policy(raw_name, number, |policy, arn| {
            if let Some(expected) = revision_id
                && policy.as_ref().is_none_or(|p| p.revision_id != expected)
            {
                return Err(revision_mismatch());
            }
            let policy = policy.get_or_insert_with(|| LayerPolicy { statements: Vec::new(), revision_id: String::new() });
            if policy.statements.iter().any(|(s, _)| *s == sid) {
                return Err(Error::ResourceConflictException(format!(
                    "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
                )));
            }
            let mut statement = json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": principal_value,
                "Action": action,
                "Resource": arn,
            });
            if let Some(org) = &input.organization_id {
                statement["Condition"] = json!({ "StringEquals": { "aws:PrincipalOrgID": org } });
            }
            let text = statement.to_string();
            policy.statements.push((sid.clone(), text.clone()));
            policy.revision_id = uuid::Uuid::new_v4().to_string();
            Ok((text, policy.revision_id.clone()))
        })?;
        Ok(created(&json!({ "Statement": statement, "RevisionId": revision }), self.ctx))
    }

    pub fn get_layer_version_policy(&self, raw_name: &str, number: u64) -> Result<Response, Error> {
        let name = layer_name(self.scope, raw_name)?;
        let arn = format!("{}:{number}", layer_arn(self.scope, &name));
        let record = self.layer(self.scope, &name)?.ok_or_else(|| version_missing(&arn))?;
        let version = record.versions.get(&number).ok_or_else(|| version_missing(&arn))?;
        let policy = version
            .policy
            .as_ref()
            .filter(|p| !p.statements.is_empty())
            .ok_or_else(|| Error::not_found("No policy is associated with the given resource."))?;
        let statements: Vec<Value> =
            policy.statements.iter().filter_map(|(_, text)| serde_json::from_str(text).ok()).collect();
        let document = json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements });
        Ok(ok(&json!({ "Policy": document.to_string(), "RevisionId": policy.revision_id }), self.ctx))
    }

    pub fn remove_layer_version_permission(
        &self,
        raw_name: &str,
        number: u64,
        sid: &str,
        revision_id: Option<&str>,
    ) -> Result<Response, Error> {
        check_statement_id(sid)?;
        self.change_layer_policy(raw_name, number, |policy, _| {
            if let Some(expected) = revision_id
                && policy.as_ref().is_none_or(|p| p.revision_id != expected)
            {
                return Err(revision_mismatch());
            }
            let not_found = || Error::not_found(format!("Statement {sid} is not found in resource policy."));
            let p = policy.as_mut().ok_or_else(not_found)?;
            let before = p.statements.len();
            p.statements.retain(|(s, _)| s != sid);
            if p.statements.len() == before {
                return Err(not_found());
            }
            p.revision_id = uuid::Uuid::new_v4().to_string();
            Ok(())
        })?;
        Ok(no_content(self.ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_are_accounts_arns_or_everyone() {
        assert_eq!(principal_json("*").ok(), Some(json!("*")));
        assert_eq!(
            principal_json("210987654321").ok(),
            Some(json!({ "AWS": "arn:aws:iam::210987654321:root" }))
        );
        assert_eq!(
            principal_json("arn:aws:iam::210987654321:root").ok(),
            Some(json!({ "AWS": "arn:aws:iam::210987654321:root" }))
        );
        assert!(principal_json("lambda.amazonaws.com").is_err());
        assert!(principal_json("arn:aws:iam::2109876543:root").is_err());
        assert!(principal_json("arn:aws:iam::210987654321:user/x").is_err());
    }

    #[test]
    fn organization_ids_follow_the_model() {
        assert!(check_organization("o-abcdef1234").is_ok());
        assert!(check_organization("o-short").is_err());
        assert!(check_organization("o-ABCDEF1234").is_err());
    }
}
