//! Stack operations as CloudFormation runs them, in the background after the API answered:
//! create (resources in dependency order, then outputs), update (only resources whose resolved
//! properties changed are touched; replacements are created before the old resource is
//! removed in the cleanup phase), rollback (what this operation created is deleted, what it
//! changed is changed back) and delete (reverse dependency order, `DeletionPolicy: Retain`
//! honoured). Every step is an event and a record write, so DescribeStackEvents shows progress
//! as it happens.

use std::collections::BTreeMap;
use std::sync::Arc;

use cfn_template::{Plan, Provisioned};
use serde_json::Value;
use types::Scope;

use crate::api::Api;
use crate::model::{EventRecord, OutputRecord, ResourceRecord, StackRecord};
use crate::providers::{self, Cx};
use crate::{Inner, stacks};

/// What a task does to a stack.
pub enum Job {
    Create {
        plan: Box<Plan>,
        delete_on_failure: bool,
    },
    Update {
        plan: Box<Plan>,
        previous: Box<Previous>,
    },
    /// Finish an update's cleanup phase that a stop interrupted.
    Cleanup,
    Delete {
        retain: Vec<String>,
    },
    /// Deletes what an interrupted creation left (after a restart).
    Rollback,
}

/// The stack as it was before an update, for rolling back.
pub struct Previous {
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub outputs: Vec<OutputRecord>,
    pub description: Option<String>,
}

pub fn spawn(inner: Arc<Inner>, scope: Scope, key: Vec<u8>, job: Job) {
    tokio::spawn(async move {
        let op = Op { inner: &inner, scope: &scope, key: &key };
        match job {
            Job::Create { plan, delete_on_failure } => op.create(&plan, delete_on_failure).await,
            Job::Update { plan, previous } => op.update(&plan, &previous).await,
            Job::Delete { retain } => op.delete(&retain).await,
            Job::Cleanup => op.finish_cleanup().await,
            Job::Rollback => {
                op.rollback_create("Nimbus stopped while the stack was being created.".to_owned(), false)
                    .await
            }
        }
    });
}

/// Finishes what a stop interrupted; see [`crate::CloudFormationService::start`].
pub fn resume(inner: Arc<Inner>) {
    let stuck: Vec<(Vec<u8>, StackRecord)> = crate::lock(&inner.stacks)
        .iter()
        .filter(|(_, s)| s.in_progress() && s.status != "REVIEW_IN_PROGRESS")
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    for (key, s) in stuck {
        let Some(scope) = crate::model::scope_of(&key) else { continue };
        match s.status.as_str() {
            "CREATE_IN_PROGRESS" | "ROLLBACK_IN_PROGRESS" => spawn(inner.clone(), scope, key, Job::Rollback),
            "DELETE_IN_PROGRESS" => spawn(inner.clone(), scope, key, Job::Delete { retain: Vec::new() }),
            // The update itself succeeded (the new template and outputs are recorded); only
            // the removal of what it left behind remains.
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => spawn(inner.clone(), scope, key, Job::Cleanup),
            _ => {
                let op = Op { inner: &inner, scope: &scope, key: &key };
                op.set_status(
                    "UPDATE_ROLLBACK_FAILED",
                    Some("Nimbus stopped while the stack was being updated.".to_owned()),
                );
            }
        }
    }
}

/// What [`Plan`] resolution sees: the stack's resources so far and the scope's exports.
struct View {
    resources: BTreeMap<String, ResourceRecord>,
    exports: BTreeMap<String, (String, String)>,
}

impl Provisioned for View {
    fn physical_id(&self, logical_id: &str) -> Option<Value> {
        let r = self.resources.get(logical_id)?;
        r.physical_id.clone().map(Value::String)
    }

    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<Value> {
        self.resources.get(logical_id)?.attributes.get(attribute).cloned()
    }

    fn export(&self, name: &str) -> Option<Value> {
        self.exports.get(name).map(|(_, v)| Value::String(v.clone()))
    }
}

/// A step of an update, undone in reverse on rollback.
enum Step {
    Created(String),
    Updated(ResourceRecord),
    Replaced(ResourceRecord),
}

struct Op<'a> {
    inner: &'a Arc<Inner>,
    scope: &'a Scope,
    key: &'a [u8],
}

impl Op<'_> {
    fn stack(&self) -> Option<StackRecord> {
        self.inner.get(self.key)
    }

    fn view(&self) -> View {
        let resources = self.stack().map(|s| s.resources).unwrap_or_default();
        View { resources, exports: stacks::exports(self.inner, self.scope) }
    }

    fn write(&self, change: impl FnOnce(&mut StackRecord)) {
        if let Err(e) = self.inner.update(self.key, change) {
            tracing::error!(error = %e, "cloudformation could not record a stack change");
        }
    }

    fn set_status(&self, status: &str, reason: Option<String>) {
        let now = self.inner.now_ms();
        self.write(|s| {
            s.status = status.to_owned();
            s.reason = reason.clone();
            let event = EventRecord {
                id: uuid::Uuid::new_v4().to_string(),
                logical_id: s.name.clone(),
                physical_id: s.id.clone(),
                resource_type: "AWS::CloudFormation::Stack".to_owned(),
                status: status.to_owned(),
                reason,
                timestamp_ms: now,
                properties: None,
            };
            s.events.push(event);
            if status == "DELETE_COMPLETE" {
                s.deleted_ms = Some(now);
            }
        });
    }

    /// Records a resource's new status (and event).
    fn resource_status(
        &self,
        r: &ResourceRecord,
        status: &str,
        reason: Option<String>,
        properties: Option<&Value>,
    ) {
        let now = self.inner.now_ms();
        let mut r = r.clone();
        r.status = status.to_owned();
        r.reason = reason.clone();
        r.updated_ms = now;
        self.write(|s| {
            s.events.push(EventRecord {
                id: uuid::Uuid::new_v4().to_string(),
                logical_id: r.logical_id.clone(),
                physical_id: r.physical_id.clone().unwrap_or_default(),
                resource_type: r.resource_type.clone(),
                status: status.to_owned(),
                reason,
                timestamp_ms: now,
                properties: properties.map(Value::to_string),
            });
            s.resources.insert(r.logical_id.clone(), r);
        });
    }

    fn stack_name(&self) -> String {
        self.stack().map(|s| s.name).unwrap_or_default()
    }

    fn api(&self) -> Result<Api<'_>, String> {
        match self.inner.api.get() {
            Some(api) => Ok(Api::new(api.as_ref(), self.scope)),
            None => Err("Nimbus was started without the service API wired".to_owned()),
        }
    }

    /// Creates one resource. On failure its record says why, and the reason is returned.
    async fn create_resource(&self, plan: &Plan, id: &str) -> Result<(), String> {
        let Some(res) = plan.resource(id) else { return Err(format!("{id} is not in the template")) };
        let mut record = ResourceRecord {
            logical_id: id.to_owned(),
            resource_type: res.resource_type.clone(),
            physical_id: None,
            status: "CREATE_IN_PROGRESS".to_owned(),
            reason: None,
            attributes: BTreeMap::new(),
            properties: Value::Null,
            updated_ms: self.inner.now_ms(),
            deletion_policy: Some(policy_of(res)),
        };
        let props = match plan.resolve_properties(id, &self.view()) {
            Ok(p) => p,
            Err(e) => {
                self.resource_status(&record, "CREATE_FAILED", Some(e.message()), None);
                return Err(e.message());
            }
        };
        self.resource_status(&record, "CREATE_IN_PROGRESS", None, Some(&props));
        let api = self.api()?;
        let stack_name = self.stack_name();
        let cx = Cx { api, stack_name: &stack_name, logical_id: id };
        match providers::create(&cx, &res.resource_type, &props).await {
            Ok(created) => {
                record.physical_id = Some(created.physical_id);
                record.attributes = created.attributes;
                record.properties = props;
                self.resource_status(
                    &record,
                    "CREATE_IN_PROGRESS",
                    Some("Resource creation Initiated".to_owned()),
                    None,
                );
                self.resource_status(&record, "CREATE_COMPLETE", None, None);
                Ok(())
            }
            Err(reason) => {
                self.resource_status(&record, "CREATE_FAILED", Some(reason.clone()), None);
                Err(reason)
            }
        }
    }

    /// Deletes one resource; a resource already gone counts as deleted.
    async fn delete_resource(&self, r: &ResourceRecord, retain: bool) -> Result<(), String> {
        if retain {
            self.resource_status(r, "DELETE_SKIPPED", None, None);
            return Ok(());
        }
        self.resource_status(r, "DELETE_IN_PROGRESS", None, None);
        if r.physical_id.is_some() {
            let api = self.api()?;
            let stack_name = self.stack_name();
            let cx = Cx { api, stack_name: &stack_name, logical_id: &r.logical_id };
            if let Err(reason) = providers::delete(&cx, r).await {
                self.resource_status(r, "DELETE_FAILED", Some(reason.clone()), None);
                return Err(reason);
            }
        }
        self.resource_status(r, "DELETE_COMPLETE", None, None);
        Ok(())
    }

    /// Resolves the outputs and checks that their export names are free.
    fn outputs(&self, plan: &Plan) -> Result<Vec<OutputRecord>, String> {
        let values = plan.resolve_outputs(&self.view()).map_err(|e| e.message())?;
        let own_id = self.stack().map(|s| s.id).unwrap_or_default();
        let exports = stacks::exports(self.inner, self.scope);
        let mut out = Vec::with_capacity(values.len());
        for o in values {
            if let Some(name) = &o.export_name
                && let Some((by, _)) = exports.get(name)
                && *by != own_id
            {
                return Err(format!(
                    "Export with name {name} is already exported by stack {}",
                    stack_name_of(by)
                ));
            }
            if let Some(name) = &o.export_name
                && let Some((_, value)) = exports.get(name)
                && *value != o.value
                && let Some(user) = stacks::importers(self.inner, self.scope, name).into_iter().next()
            {
                return Err(format!("Cannot update export {name} as it is in use by {user}"));
            }
            out.push(OutputRecord {
                key: o.key,
                value: o.value,
                description: o.description,
                export_name: o.export_name,
            });
        }
        Ok(out)
    }

    async fn create(&self, plan: &Plan, delete_on_failure: bool) {
        let mut failure = None;
        for id in &plan.order {
            if let Err(reason) = self.create_resource(plan, id).await {
                failure = Some(format!("The following resource(s) failed to create: [{id}]. "));
                tracing::info!(resource = %id, %reason, "stack resource failed to create");
                break;
            }
        }
        if failure.is_none() {
            match self.outputs(plan) {
                Ok(outputs) => {
                    self.write(|s| s.outputs = outputs);
                    self.set_status("CREATE_COMPLETE", None);
                    return;
                }
                Err(reason) => failure = Some(reason),
            }
        }
        let reason = failure.unwrap_or_default();
        let disable_rollback = self.stack().is_some_and(|s| s.disable_rollback);
        if disable_rollback {
            self.set_status("CREATE_FAILED", Some(reason));
            return;
        }
        self.rollback_create(format!("{reason}Rollback requested by user."), delete_on_failure).await;
    }

    /// Deletes every resource the stack has in reverse dependency order (`DeletionPolicy:
    /// Retain` ones are kept; `RetainExceptOnCreate` ones are not) and ends in
    /// ROLLBACK_COMPLETE (or DELETE_COMPLETE for `OnFailure=DELETE`).
    async fn rollback_create(&self, reason: String, then_delete: bool) {
        self.set_status("ROLLBACK_IN_PROGRESS", Some(reason));
        let Some(stack) = self.stack() else { return };
        let mut failed = Vec::new();
        for id in self.deletion_order(&stack, &stack.template_body, &stack.parameters) {
            let Some(r) = self.stack().and_then(|s| s.resources.get(&id).cloned()) else { continue };
            if r.status == "DELETE_COMPLETE" || r.status == "DELETE_SKIPPED" {
                continue;
            }
            let keep = policy(&r, &stack).is_some_and(|p| p == "Retain");
            if self.delete_resource(&r, keep).await.is_err() {
                failed.push(id);
            }
        }
        if !failed.is_empty() {
            self.set_status(
                "ROLLBACK_FAILED",
                Some(format!("The following resource(s) failed to delete: [{}]. ", failed.join(", "))),
            );
        } else if then_delete {
            self.set_status("DELETE_COMPLETE", None);
        } else {
            self.set_status("ROLLBACK_COMPLETE", None);
        }
    }

    async fn update(&self, plan: &Plan, previous: &Previous) {
        let mut journal: Vec<Step> = Vec::new();
        let mut cleanup: Vec<ResourceRecord> = Vec::new();
        let mut failure: Option<String> = None;
        for id in &plan.order {
            let Some(res) = plan.resource(id) else { continue };
            let old =
                self.stack().and_then(|s| s.resources.get(id).cloned()).filter(|r| r.physical_id.is_some());
            let result = match old {
                None => {
                    let r = self.create_resource(plan, id).await;
                    if r.is_ok() {
                        journal.push(Step::Created(id.clone()));
                    }
                    r
                }
                Some(old) if old.resource_type != res.resource_type => {
                    let r = self.create_resource(plan, id).await;
                    if r.is_ok() {
                        journal.push(Step::Replaced(old.clone()));
                        cleanup.push(old);
                    }
                    r
                }
                Some(old) => match self.update_resource(plan, id, &old).await {
                    Ok(Changed::No) => Ok(()),
                    Ok(Changed::InPlace) => {
                        journal.push(Step::Updated(old));
                        Ok(())
                    }
                    Ok(Changed::Replaced) => {
                        journal.push(Step::Replaced(old.clone()));
                        cleanup.push(old);
                        Ok(())
                    }
                    Err(e) => Err(e),
                },
            };
            if result.is_err() {
                failure = Some(format!("The following resource(s) failed to update: [{id}]. "));
                break;
            }
        }
        let outputs = match failure {
            None => match self.outputs(plan) {
                Ok(o) => Some(o),
                Err(reason) => {
                    failure = Some(reason);
                    None
                }
            },
            Some(_) => None,
        };
        if let (None, Some(outputs)) = (&failure, outputs) {
            self.write(|s| s.outputs = outputs);
            self.set_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None);
            self.remove_dropped(plan, &previous.template_body, &previous.parameters).await;
            for old in cleanup.iter().rev() {
                // The replaced resource goes quietly: its logical id now names the new one.
                if let Ok(api) = self.api() {
                    let stack_name = self.stack_name();
                    let cx = Cx { api, stack_name: &stack_name, logical_id: &old.logical_id };
                    if let Err(reason) = providers::delete(&cx, old).await {
                        tracing::warn!(resource = %old.logical_id, %reason, "a replaced resource could not be deleted");
                    }
                }
            }
            self.set_status("UPDATE_COMPLETE", None);
            return;
        }
        let reason = failure.unwrap_or_default();
        self.set_status("UPDATE_ROLLBACK_IN_PROGRESS", Some(reason));
        let mut failed = Vec::new();
        for step in journal.into_iter().rev() {
            match step {
                Step::Created(id) => {
                    if let Some(r) = self.stack().and_then(|s| s.resources.get(&id).cloned()) {
                        let keep = r.deletion_policy.as_deref() == Some("Retain");
                        if self.delete_resource(&r, keep).await.is_err() {
                            failed.push(id.clone());
                        }
                        self.write(|s| {
                            s.resources.remove(&id);
                        });
                    }
                }
                Step::Updated(old) => {
                    if self.restore_resource(&old).await.is_err() {
                        failed.push(old.logical_id.clone());
                    }
                }
                Step::Replaced(old) => {
                    if let Some(new) = self.stack().and_then(|s| s.resources.get(&old.logical_id).cloned())
                        && self.delete_resource(&new, false).await.is_err()
                    {
                        failed.push(old.logical_id.clone());
                    }
                    self.resource_status(&old, "UPDATE_COMPLETE", None, None);
                }
            }
        }
        // A resource whose update failed midway is put back too.
        if let Some(s) = self.stack() {
            for r in s.resources.values().filter(|r| r.status == "UPDATE_FAILED") {
                self.resource_status(r, "UPDATE_COMPLETE", None, None);
            }
        }
        self.write(|s| {
            s.template_body = previous.template_body.clone();
            s.parameters = previous.parameters.clone();
            s.outputs = previous.outputs.clone();
            s.description = previous.description.clone();
        });
        if failed.is_empty() {
            self.set_status("UPDATE_ROLLBACK_COMPLETE", None);
        } else {
            self.set_status(
                "UPDATE_ROLLBACK_FAILED",
                Some(format!("The following resource(s) failed to roll back: [{}]. ", failed.join(", "))),
            );
        }
    }

    /// Updates one existing resource to the new template's properties, if they changed.
    async fn update_resource(&self, plan: &Plan, id: &str, old: &ResourceRecord) -> Result<Changed, String> {
        let props = match plan.resolve_properties(id, &self.view()) {
            Ok(p) => p,
            Err(e) => {
                self.resource_status(old, "UPDATE_FAILED", Some(e.message()), None);
                return Err(e.message());
            }
        };
        let policy = plan.resource(id).map(policy_of);
        if props == old.properties {
            // A new DeletionPolicy alone changes no physical resource, only what a later delete does.
            if old.deletion_policy != policy {
                self.write(|s| {
                    if let Some(r) = s.resources.get_mut(id) {
                        r.deletion_policy = policy.clone();
                    }
                });
            }
            return Ok(Changed::No);
        }
        let old = &ResourceRecord { deletion_policy: policy, ..old.clone() };
        self.resource_status(old, "UPDATE_IN_PROGRESS", None, Some(&props));
        let api = self.api()?;
        let stack_name = self.stack_name();
        let cx = Cx { api, stack_name: &stack_name, logical_id: id };
        match providers::update(&cx, old, &props).await {
            Ok(Some(updated)) => {
                let mut r = old.clone();
                r.physical_id = Some(updated.physical_id);
                r.attributes = updated.attributes;
                r.properties = props;
                self.resource_status(&r, "UPDATE_COMPLETE", None, None);
                Ok(Changed::InPlace)
            }
            Ok(None) => {
                // Needs replacement: a new resource under the same logical id, the old one
                // deleted in the cleanup phase.
                self.resource_status(old, "UPDATE_IN_PROGRESS", Some("Requested update requires the creation of a new physical resource; hence creating one.".to_owned()), None);
                match providers::create(&cx, &old.resource_type, &props).await {
                    Ok(created) => {
                        let mut r = old.clone();
                        r.physical_id = Some(created.physical_id);
                        r.attributes = created.attributes;
                        r.properties = props;
                        self.resource_status(&r, "UPDATE_COMPLETE", None, None);
                        Ok(Changed::Replaced)
                    }
                    Err(reason) => {
                        self.resource_status(old, "UPDATE_FAILED", Some(reason.clone()), None);
                        Err(reason)
                    }
                }
            }
            Err(reason) => {
                self.resource_status(old, "UPDATE_FAILED", Some(reason.clone()), None);
                Err(reason)
            }
        }
    }

    /// Puts a resource back to the properties it had before an update.
    async fn restore_resource(&self, old: &ResourceRecord) -> Result<(), String> {
        let Some(current) = self.stack().and_then(|s| s.resources.get(&old.logical_id).cloned()) else {
            return Ok(());
        };
        self.resource_status(&current, "UPDATE_IN_PROGRESS", None, None);
        let api = self.api()?;
        let stack_name = self.stack_name();
        let cx = Cx { api, stack_name: &stack_name, logical_id: &old.logical_id };
        match providers::update(&cx, &current, &old.properties).await {
            Ok(_) => {
                self.resource_status(old, "UPDATE_COMPLETE", None, None);
                Ok(())
            }
            Err(reason) => {
                self.resource_status(&current, "UPDATE_FAILED", Some(reason.clone()), None);
                Err(reason)
            }
        }
    }

    /// The order to delete `stack`'s resources in: the reverse dependency order of the
    /// template they were made from, then anything that template does not name (a failed
    /// update's leftovers), newest first.
    fn deletion_order(
        &self,
        stack: &StackRecord,
        body: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let planned = stacks::plan_for(self.scope, &stack.name, &stack.id, body, parameters)
            .map(|plan| plan.deletion_order())
            .unwrap_or_default();
        let mut rest: Vec<&ResourceRecord> =
            stack.resources.values().filter(|r| !planned.contains(&r.logical_id)).collect();
        rest.sort_by_key(|r| std::cmp::Reverse(r.updated_ms));
        planned
            .iter()
            .filter(|id| stack.resources.contains_key(*id))
            .cloned()
            .chain(rest.into_iter().map(|r| r.logical_id.clone()))
            .collect()
    }

    /// Deletes the resources the stack has that `plan` no longer names (the update's cleanup
    /// phase), in the reverse dependency order of the template they came from.
    async fn remove_dropped(
        &self,
        plan: &Plan,
        previous_body: &str,
        previous_parameters: &BTreeMap<String, String>,
    ) {
        let Some(stack) = self.stack() else { return };
        let previous = StackRecord {
            template_body: previous_body.to_owned(),
            parameters: previous_parameters.clone(),
            ..stack.clone()
        };
        for id in self.deletion_order(&stack, previous_body, previous_parameters) {
            if plan.order.contains(&id) {
                continue;
            }
            let Some(r) = self.stack().and_then(|s| s.resources.get(&id).cloned()) else { continue };
            let keep = policy(&r, &previous).is_some_and(|p| p == "Retain" || p == "RetainExceptOnCreate");
            let _ = self.delete_resource(&r, keep).await;
            self.write(|s| {
                s.resources.remove(&id);
            });
        }
    }

    /// Ends a cleanup phase a stop interrupted. The previous template is gone by then, so the
    /// records' own deletion policies decide what is kept; replaced physical resources the
    /// interrupted run had not yet deleted are left behind (their ids were only in memory).
    async fn finish_cleanup(&self) {
        let Some(stack) = self.stack() else { return };
        match stacks::plan_for(self.scope, &stack.name, &stack.id, &stack.template_body, &stack.parameters) {
            Ok(plan) => self.remove_dropped(&plan, &stack.template_body, &stack.parameters).await,
            Err(e) => tracing::warn!(error = ?e, "cloudformation could not plan an interrupted cleanup"),
        }
        self.set_status("UPDATE_COMPLETE", None);
    }

    async fn delete(&self, retain: &[String]) {
        let Some(stack) = self.stack() else { return };
        let mut failed = Vec::new();
        for id in self.deletion_order(&stack, &stack.template_body, &stack.parameters) {
            let Some(r) = self.stack().and_then(|s| s.resources.get(&id).cloned()) else { continue };
            if r.status == "DELETE_COMPLETE" || r.status == "DELETE_SKIPPED" {
                continue;
            }
            let keep = retain.contains(&id)
                || policy(&r, &stack).is_some_and(|p| p == "Retain" || p == "RetainExceptOnCreate");
            if self.delete_resource(&r, keep).await.is_err() {
                failed.push(id);
            }
        }
        if failed.is_empty() {
            self.write(|s| s.outputs.clear());
            self.set_status("DELETE_COMPLETE", None);
        } else {
            self.set_status(
                "DELETE_FAILED",
                Some(format!("The following resource(s) failed to delete: [{}]. ", failed.join(", "))),
            );
        }
    }
}

enum Changed {
    No,
    InPlace,
    Replaced,
}

/// The `DeletionPolicy` a template gives a resource, `Delete` by default.
fn policy_of(res: &cfn_template::Resource) -> String {
    res.deletion_policy.clone().unwrap_or_else(|| "Delete".to_owned())
}

/// A resource's `DeletionPolicy`: from its record, or for records written before the record
/// kept it, from the template of `stack`.
fn policy(r: &ResourceRecord, stack: &StackRecord) -> Option<String> {
    if let Some(p) = &r.deletion_policy {
        return Some(p.clone());
    }
    let doc = cfn_template::parse_document(&stack.template_body).ok()?;
    let processed = cfn_template::process(&doc, &stack.parameters).ok()?;
    let p = processed.get("Resources")?.get(&r.logical_id)?.get("DeletionPolicy")?.as_str()?;
    Some(p.to_owned())
}

fn stack_name_of(stack_id: &str) -> &str {
    stack_id.split('/').nth(1).unwrap_or(stack_id)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use storage::Store;

    use super::*;
    use crate::CloudFormationService;

    fn resource(id: &str, policy: &str) -> ResourceRecord {
        ResourceRecord {
            logical_id: id.to_owned(),
            resource_type: "AWS::SNS::Topic".to_owned(),
            // No physical resource: deleting it needs no service behind the engine.
            physical_id: None,
            status: "UPDATE_COMPLETE".to_owned(),
            reason: None,
            attributes: BTreeMap::new(),
            properties: Value::Null,
            updated_ms: 1,
            deletion_policy: Some(policy.to_owned()),
        }
    }

    /// A stop during an update's cleanup phase: on start the update is finished, not rolled
    /// back — what the new template dropped is removed (Retain honoured), the rest kept.
    #[tokio::test]
    async fn an_interrupted_cleanup_finishes_as_update_complete() {
        let store = Store::memory();
        let scope = Scope {
            account: types::AccountId::parse("000000000000").expect("account"),
            region: types::Region::parse("us-east-1").expect("region"),
        };
        let uuid = "9f3a0f5e-0000-4000-8000-000000000001";
        let key = crate::model::stack_key(&scope, uuid);
        let record = StackRecord {
            v: 1,
            id: format!("arn:aws:cloudformation:us-east-1:000000000000:stack/s/{uuid}"),
            name: "s".to_owned(),
            status: "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS".to_owned(),
            reason: None,
            description: None,
            created_ms: 1,
            updated_ms: Some(2),
            deleted_ms: None,
            template_body: r#"{"Resources": {"Stays": {"Type": "AWS::SNS::Topic"}}}"#.to_owned(),
            parameters: BTreeMap::new(),
            capabilities: Vec::new(),
            tags: Vec::new(),
            disable_rollback: false,
            outputs: Vec::new(),
            resources: [
                ("Stays".to_owned(), resource("Stays", "Delete")),
                ("Dropped".to_owned(), resource("Dropped", "Delete")),
                ("DroppedKept".to_owned(), resource("DroppedKept", "Retain")),
            ]
            .into(),
            events: Vec::new(),
            change_sets: Vec::new(),
            change_set_id: None,
        };
        store.kv.put(crate::model::STACKS, &key, &crate::model::encode(&record)).expect("put");

        let svc = CloudFormationService::new(store, Arc::new(types::SystemClock)).expect("service");
        svc.start();
        let mut stack = None;
        for _ in 0..200 {
            stack = svc.inner.get(&key);
            if stack.as_ref().is_some_and(|s| !s.in_progress()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stack = stack.expect("stack");
        assert_eq!(stack.status, "UPDATE_COMPLETE");
        assert_eq!(stack.resources.keys().collect::<Vec<_>>(), ["Stays"]);
        let outcome = |id: &str| {
            stack
                .events
                .iter()
                .rev()
                .find(|e| e.logical_id == id)
                .map(|e| e.status.clone())
                .unwrap_or_default()
        };
        assert_eq!(outcome("Dropped"), "DELETE_COMPLETE");
        assert_eq!(outcome("DroppedKept"), "DELETE_SKIPPED");
    }
}
