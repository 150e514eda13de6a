//! The smaller per-function settings: asynchronous invocation configs (retries, event age,
//! destinations), resource-based policy statements, tags, and the account settings.

use std::collections::BTreeMap;

use protocol::Response;
use serde_json::{Value, json};

use crate::error::Error;
use crate::functions::{Env, created, no_content, ok};
use crate::model::EventInvokeConfig;
use crate::names::{function_arn, qualified_arn, tagged_function};
use crate::operation::{EventInvokeInput, Page, PermissionInput, Target, missing};
use crate::render;

/// Whether a destination ARN names something Nimbus can deliver to today.
fn check_destination(arn: &str, wired: impl Fn(&str) -> bool) -> Result<(), Error> {
    let service = arn.split(':').nth(2).unwrap_or_default();
    if !arn.starts_with("arn:") || service.is_empty() {
        return Err(Error::invalid(format!(
            "The provided destination config DestinationConfig is invalid. Destination ARN {arn} is not valid."
        )));
    }
    match service {
        "lambda" => Ok(()),
        "sqs" | "sns" | "events" if wired(service) => Ok(()),
        "sqs" | "sns" | "events" | "s3" => Err(Error::NotImplemented(format!(
            "Destinations of type {service} (Lambda functions, SQS queues, SNS topics and EventBridge buses so far)"
        ))),
        _ => Err(Error::invalid(format!(
            "The provided destination config DestinationConfig is invalid. The destination ARN {arn} is not a supported destination type."
        ))),
    }
}

impl Env<'_> {
    /// The qualifier an event-invoke config or policy lives under; it must exist.
    fn existing_qualifier(&self, t: &Target) -> Result<String, Error> {
        let f = self.function(&t.name)?;
        let q = t.qualifier.clone().unwrap_or_else(|| "$LATEST".to_owned());
        if f.aliases.contains_key(&q) || f.version(&q).is_some() {
            Ok(q)
        } else {
            Err(crate::names::function_not_found(self.scope, &t.name, Some(&q)))
        }
    }

    pub fn put_event_invoke_config(
        &self,
        t: &Target,
        input: EventInvokeInput,
        replace: bool,
    ) -> Result<Response, Error> {
        let q = self.existing_qualifier(t)?;
        let retries = input
            .maximum_retry_attempts
            .map(|n| {
                u32::try_from(n).ok().filter(|n| *n <= 2).ok_or_else(|| {
                    Error::validation(
                        "maximumRetryAttempts",
                        &n.to_string(),
                        "Member must have value less than or equal to 2",
                    )
                })
            })
            .transpose()?;
        let age = input
            .maximum_event_age_in_seconds
            .map(|n| {
                u32::try_from(n).ok().filter(|n| (60..=21_600).contains(n)).ok_or_else(|| {
                    let constraint = if n < 60 {
                        "Member must have value greater than or equal to 60"
                    } else {
                        "Member must have value less than or equal to 21600"
                    };
                    Error::validation("maximumEventAgeInSeconds", &n.to_string(), constraint)
                })
            })
            .transpose()?;
        let dest = input.destination_config.unwrap_or_default();
        let on_success = dest.on_success.and_then(|d| d.destination);
        let on_failure = dest.on_failure.and_then(|d| d.destination);
        for arn in on_success.iter().chain(on_failure.iter()) {
            check_destination(arn, |service| match service {
                "sqs" => self.svc.queue_sender.get().is_some(),
                "sns" => self.svc.topic_publisher.get().is_some(),
                "events" => self.svc.event_publisher.get().is_some(),
                _ => false,
            })?;
        }
        let now = self.svc.now_ms() / 1000;
        let config = self.modify(&t.name, |f| {
            let base = if replace {
                EventInvokeConfig {
                    maximum_retry_attempts: None,
                    maximum_event_age_seconds: None,
                    on_success: None,
                    on_failure: None,
                    last_modified: now,
                }
            } else {
                f.event_invoke_configs.get(&q).cloned().ok_or_else(|| no_event_config(self, &t.name, &q))?
            };
            let config = EventInvokeConfig {
                maximum_retry_attempts: retries.or(base.maximum_retry_attempts),
                maximum_event_age_seconds: age.or(base.maximum_event_age_seconds),
                on_success: on_success.or(base.on_success),
                on_failure: on_failure.or(base.on_failure),
                last_modified: now,
            };
            f.event_invoke_configs.insert(q.clone(), config.clone());
            Ok(config)
        })?;
        Ok(ok(&render::event_invoke_config(self.scope, &t.name, &q, &config), self.ctx))
    }

    pub fn get_event_invoke_config(&self, t: &Target) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let q = t.qualifier.clone().unwrap_or_else(|| "$LATEST".to_owned());
        let config = f.event_invoke_configs.get(&q).ok_or_else(|| no_event_config(self, &t.name, &q))?;
        Ok(ok(&render::event_invoke_config(self.scope, &t.name, &q, config), self.ctx))
    }

    pub fn delete_event_invoke_config(&self, t: &Target) -> Result<Response, Error> {
        let q = t.qualifier.clone().unwrap_or_else(|| "$LATEST".to_owned());
        self.modify(&t.name, |f| {
            f.event_invoke_configs.remove(&q).map(|_| ()).ok_or_else(|| no_event_config(self, &t.name, &q))
        })?;
        Ok(no_content(self.ctx))
    }

    pub fn list_event_invoke_configs(&self, t: &Target, page: &Page) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let all: Vec<Value> = f
            .event_invoke_configs
            .iter()
            .map(|(q, c)| render::event_invoke_config(self.scope, &t.name, q, c))
            .collect();
        let start = page.marker.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
        let max = page.max_items.unwrap_or(50).min(50);
        let slice: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
        let mut body = json!({ "FunctionEventInvokeConfigs": slice });
        if start + max < all.len() {
            body["NextMarker"] = json!((start + max).to_string());
        }
        Ok(ok(&body, self.ctx))
    }

    pub fn add_permission(&self, t: &Target, input: PermissionInput) -> Result<Response, Error> {
        let sid = input.statement_id.ok_or_else(|| missing("statementId"))?;
        let action = input.action.ok_or_else(|| missing("action"))?;
        let principal = input.principal.ok_or_else(|| missing("principal"))?;
        if sid.is_empty()
            || sid.len() > 100
            || !sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::validation(
                "statementId",
                &sid,
                "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
            ));
        }
        let action_ok = action == "*"
            || action == "lambda:*"
            || action
                .strip_prefix("lambda:")
                .is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphabetic()));
        if !action_ok {
            return Err(Error::validation(
                "action",
                &action,
                "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
            ));
        }
        let q = match &t.qualifier {
            Some(_) => self.existing_qualifier(t)?,
            None => String::new(),
        };
        let resource = if q.is_empty() {
            function_arn(self.scope, &t.name)
        } else {
            qualified_arn(self.scope, &t.name, &q)
        };
        let principal_value = if principal.contains('.') {
            json!({ "Service": principal })
        } else if principal == "*" {
            json!("*")
        } else {
            let account = principal.trim_start_matches("arn:aws:iam::").trim_end_matches(":root");
            json!({ "AWS": format!("arn:aws:iam::{account}:root") })
        };
        let mut statement = json!({
            "Sid": sid,
            "Effect": "Allow",
            "Principal": principal_value,
            "Action": action,
            "Resource": resource,
        });
        let mut condition = serde_json::Map::new();
        if let Some(arn) = input.source_arn {
            condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
        }
        if let Some(account) = input.source_account {
            condition.insert("StringEquals".into(), json!({ "AWS:SourceAccount": account }));
        }
        if let Some(org) = input.principal_org_id {
            condition.insert("StringEquals".into(), json!({ "aws:PrincipalOrgID": org }));
        }
        if let Some(auth) = input.function_url_auth_type {
            condition.insert("StringEquals".into(), json!({ "lambda:FunctionUrlAuthType": auth }));
        }
        if !condition.is_empty() {
            statement["Condition"] = Value::Object(condition);
        }
        let _ = input.event_source_token;
        let stored = statement.clone();
        self.modify(&t.name, |f| {
            let current_revision = f.latest.revision_id.clone();
            if let Some(r) = &input.revision_id
                && *r != current_revision
            {
                return Err(Error::PreconditionFailedException(
                    "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id".to_owned(),
                ));
            }
            let statements = f.policies.entry(q.clone()).or_default();
            if statements.iter().any(|s| s["Sid"] == sid) {
                return Err(Error::ResourceConflictException(
                    "The statement id (SID) provided already exists. Please provide a new statement id, or remove the existing statement.".to_owned(),
                ));
            }
            statements.push(stored);
            Ok(())
        })?;
        Ok(created(&json!({ "Statement": statement.to_string() }), self.ctx))
    }

    pub fn remove_permission(
        &self,
        t: &Target,
        sid: &str,
        _revision: Option<String>,
    ) -> Result<Response, Error> {
        let q = t.qualifier.clone().unwrap_or_default();
        self.modify(&t.name, |f| {
            let statements = f.policies.entry(q.clone()).or_default();
            let before = statements.len();
            statements.retain(|s| s["Sid"] != sid);
            if statements.len() == before {
                return Err(Error::not_found(format!("Statement {sid} is not found in resource policy.")));
            }
            if statements.is_empty() {
                f.policies.remove(&q);
            }
            Ok(())
        })?;
        Ok(no_content(self.ctx))
    }

    pub fn get_policy(&self, t: &Target) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let q = t.qualifier.clone().unwrap_or_default();
        let statements = f
            .policies
            .get(&q)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::not_found("The resource you requested does not exist."))?;
        let policy = json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements });
        Ok(ok(&json!({ "Policy": policy.to_string(), "RevisionId": f.latest.revision_id }), self.ctx))
    }

    pub fn tag_resource(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<Response, Error> {
        let name = tagged_function(self.scope, arn)?;
        self.modify(&name, |f| {
            let mut merged = f.tags.clone();
            merged.extend(tags);
            if merged.len() > 50 {
                return Err(Error::invalid("Number of tags exceeds resource tag limit."));
            }
            f.tags = merged;
            Ok(())
        })?;
        Ok(no_content(self.ctx))
    }

    pub fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<Response, Error> {
        let name = tagged_function(self.scope, arn)?;
        self.modify(&name, |f| {
            for k in keys {
                f.tags.remove(k);
            }
            Ok(())
        })?;
        Ok(no_content(self.ctx))
    }

    pub fn list_tags(&self, arn: &str) -> Result<Response, Error> {
        let name = tagged_function(self.scope, arn)?;
        let f = self.function(&name)?;
        Ok(ok(&json!({ "Tags": f.tags }), self.ctx))
    }

    pub fn account_settings(&self) -> Result<Response, Error> {
        let prefix = crate::model::scope_prefix(self.scope);
        let entries = self.svc.kv.scan(
            crate::model::FUNCTIONS,
            storage::KeyRange::prefix(prefix),
            storage::UNLIMITED,
        )?;
        let mut total_code: u64 = 0;
        for e in &entries {
            let f: crate::model::FunctionRecord = crate::model::decode(&e.1)?;
            total_code += f.latest.code.size + f.versions.iter().map(|v| v.code.size).sum::<u64>();
        }
        let scope_key =
            String::from_utf8_lossy(&crate::model::scope_prefix(self.scope)).trim_end_matches('/').to_owned();
        let body = json!({
            "AccountLimit": {
                "TotalCodeSize": 80_530_636_800_u64,
                "CodeSizeUnzipped": crate::code::MAX_UNZIPPED_BYTES,
                "CodeSizeZipped": 52_428_800,
                "ConcurrentExecutions": self.svc.concurrency.limit(),
                "UnreservedConcurrentExecutions": self.svc.concurrency.unreserved(&scope_key),
            },
            "AccountUsage": { "TotalCodeSize": total_code, "FunctionCount": entries.len() },
        });
        Ok(ok(&body, self.ctx))
    }
}

fn no_event_config(env: &Env<'_>, name: &str, qualifier: &str) -> Error {
    Error::not_found(format!(
        "The function {} doesn't have an EventInvokeConfig",
        qualified_arn(env.scope, name, qualifier)
    ))
}
