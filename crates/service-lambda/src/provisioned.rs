//! Provisioned concurrency: per version or alias, a number of execution environments kept
//! initialised by the runtime manager, so their invokes pay no init (and report no Init
//! Duration). Configs are stored with the function; the environments are (re)started in the
//! background after a Put and after every server start, and the config's `Status` follows them
//! (`IN_PROGRESS` → `READY`, or `FAILED` with the init error).

use std::sync::Arc;

use protocol::Response;
use serde_json::{Value, json};
use types::Scope;

use crate::error::Error;
use crate::functions::{Env, last_modified, no_content, ok};
use crate::invoke::runtime_config;
use crate::model::{FunctionRecord, ProvisionedConfig, function_key};
use crate::names::{function_not_found, qualified_arn};
use crate::operation::{Page, ProvisionedInput, Target, missing};
use crate::{Inner, lock};

/// How far the environments of one config are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    Starting,
    Ready,
    Failed(String),
}

fn progress_key(scope: &Scope, name: &str, qualifier: &str) -> String {
    format!("{}/{qualifier}", String::from_utf8_lossy(&function_key(scope, name)))
}

/// The qualifier a config is for: a published version or an alias, never `$LATEST`.
fn qualifier(t: &Target) -> Result<&str, Error> {
    match t.qualifier.as_deref() {
        None => Err(missing("qualifier")),
        Some("$LATEST") => Err(Error::invalid(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
        )),
        Some(q) => Ok(q),
    }
}

/// The version an alias or version qualifier runs (the alias's primary version).
fn version_of<'a>(f: &'a FunctionRecord, qualifier: &'a str) -> &'a str {
    f.aliases.get(qualifier).map_or(qualifier, |a| a.function_version.as_str())
}

/// Starts (or with `n = 0` stops) the environments of one config in the background.
fn provision(svc: &Arc<Inner>, scope: &Scope, f: &FunctionRecord, qualifier: &str, n: u32) {
    let key = progress_key(scope, &f.name, qualifier);
    let Some(version) = f.version(version_of(f, qualifier)).cloned() else { return };
    let config = match runtime_config(svc, scope, &f.name, &version) {
        Ok(c) => c,
        Err(e) => {
            lock(&svc.provisioning).insert(key, Progress::Failed(e.to_string()));
            return;
        }
    };
    if n == 0 {
        lock(&svc.provisioning).remove(&key);
    } else {
        lock(&svc.provisioning).insert(key.clone(), Progress::Starting);
    }
    let svc = svc.clone();
    tokio::spawn(async move {
        let result = svc.runtime.prewarm(&config, n as usize).await;
        if n == 0 {
            return;
        }
        let progress = match result {
            Ok(()) => Progress::Ready,
            Err(runtime::RuntimeError::InitFailed { error_type, message }) => {
                Progress::Failed(format!("FUNCTION_ERROR_INIT_FAILURE: {error_type}: {message}"))
            }
            Err(e) => Progress::Failed(e.to_string()),
        };
        lock(&svc.provisioning).insert(key, progress);
    });
}

/// After a start: every stored config gets its environments again.
pub fn restore(svc: &Arc<Inner>) {
    let entries = match svc.kv.scan(crate::model::FUNCTIONS, storage::KeyRange::all(), storage::UNLIMITED) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!(error = %e, "cannot read functions to restore provisioned concurrency");
            return;
        }
    };
    for (key, value) in entries {
        let Ok(f) = crate::model::decode::<FunctionRecord>(&value) else { continue };
        if f.provisioned.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(&key);
        let mut parts = text.splitn(3, '/');
        let (Some(account), Some(region)) = (parts.next(), parts.next()) else { continue };
        let (Some(account), Some(region)) = (types::AccountId::parse(account), types::Region::parse(region))
        else {
            continue;
        };
        let scope = Scope { account, region };
        for (q, config) in &f.provisioned {
            provision(svc, &scope, &f, q, config.requested);
        }
    }
}

fn describe(svc: &Inner, scope: &Scope, f: &FunctionRecord, q: &str, c: &ProvisionedConfig) -> Value {
    let progress = lock(&svc.provisioning).get(&progress_key(scope, &f.name, q)).cloned();
    let (status, available, reason) = match progress {
        Some(Progress::Ready) => ("READY", c.requested, None),
        Some(Progress::Failed(reason)) => ("FAILED", 0, Some(reason)),
        Some(Progress::Starting) | None => ("IN_PROGRESS", 0, None),
    };
    let mut v = json!({
        "RequestedProvisionedConcurrentExecutions": c.requested,
        "AvailableProvisionedConcurrentExecutions": available,
        "AllocatedProvisionedConcurrentExecutions": available,
        "Status": status,
        "LastModified": c.last_modified,
    });
    if let Some(reason) = reason {
        v["StatusReason"] = json!(reason);
    }
    v
}

pub fn put(svc: &Arc<Inner>, env: &Env<'_>, t: &Target, input: ProvisionedInput) -> Result<Response, Error> {
    let q = qualifier(t)?.to_owned();
    let n =
        input.provisioned_concurrent_executions.ok_or_else(|| missing("provisionedConcurrentExecutions"))?;
    if n < 1 {
        return Err(Error::validation(
            "provisionedConcurrentExecutions",
            &n.to_string(),
            "Member must have value greater than or equal to 1",
        ));
    }
    let n = u32::try_from(n).map_err(|_| Error::invalid("ProvisionedConcurrentExecutions is too large."))?;
    let now = svc.now_ms();
    let record = env.modify(&t.name, |f| {
        if !f.aliases.contains_key(&q) && f.version(&q).is_none() {
            return Err(function_not_found(env.scope, &f.name, Some(&q)));
        }
        if let Some(reserved) = f.reserved_concurrency {
            let others: u32 = f.provisioned.iter().filter(|(k, _)| **k != q).map(|(_, c)| c.requested).sum();
            if others + n > reserved {
                return Err(Error::invalid(
                    "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
                ));
            }
        }
        f.provisioned.insert(q.clone(), ProvisionedConfig { requested: n, last_modified: last_modified(now) });
        Ok(f.clone())
    })?;
    provision(svc, env.scope, &record, &q, n);
    let config = &record.provisioned[&q];
    let mut resp = ok(&describe(svc, env.scope, &record, &q, config), env.ctx);
    *resp.status_mut() = http::StatusCode::ACCEPTED;
    Ok(resp)
}

fn not_found() -> Error {
    Error::ProvisionedConcurrencyConfigNotFoundException(
        "No Provisioned Concurrency Config found for this function".to_owned(),
    )
}

pub fn get(env: &Env<'_>, t: &Target) -> Result<Response, Error> {
    let q = qualifier(t)?;
    let f = env.function(&t.name)?;
    let config = f.provisioned.get(q).ok_or_else(not_found)?;
    Ok(ok(&describe(env.svc, env.scope, &f, q, config), env.ctx))
}

pub fn delete(svc: &Arc<Inner>, env: &Env<'_>, t: &Target) -> Result<Response, Error> {
    let q = qualifier(t)?.to_owned();
    let before = env.function(&t.name)?;
    env.modify(&t.name, |f| f.provisioned.remove(&q).map(|_| ()).ok_or_else(not_found))?;
    provision(svc, env.scope, &before, &q, 0);
    Ok(no_content(env.ctx))
}

pub fn list(env: &Env<'_>, t: &Target, page: &Page) -> Result<Response, Error> {
    let f = env.function(&t.name)?;
    let all: Vec<Value> = f
        .provisioned
        .iter()
        .map(|(q, c)| {
            let mut v = describe(env.svc, env.scope, &f, q, c);
            v["FunctionArn"] = json!(qualified_arn(env.scope, &f.name, q));
            v
        })
        .collect();
    let start = page.marker.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
    let max = page.max_items.unwrap_or(50).min(50);
    let slice: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
    let mut body = json!({ "ProvisionedConcurrencyConfigs": slice });
    if start + max < all.len() {
        body["NextMarker"] = json!((start + max).to_string());
    }
    Ok(ok(&body, env.ctx))
}
