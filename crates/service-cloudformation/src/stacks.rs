//! The CloudFormation API: each operation validated against the stacks that exist, answered
//! from the stack records, and — for the operations that change resources — handed to the
//! engine as a background task once the stack's new state is on disk.

use std::collections::BTreeMap;
use std::sync::Arc;

use cfn_template::{Plan, PlanInput, Pseudo};
use protocol::xml::XmlWriter;
use protocol::{RequestContext, Response, query};
use types::Scope;

use crate::error::{Error, invalid, no_stack};
use crate::model::{self, ChangeRecord, ChangeSetRecord, EventRecord, StackRecord};
use crate::operation::{Operation, StackInput};
use crate::{Inner, XMLNS, engine, lock, providers, render};

/// Results per page of DescribeStacks, ListStacks, DescribeStackEvents and ListStackResources.
const PAGE: usize = 100;

pub fn act(inner: &Arc<Inner>, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    let scope = &ctx.scope;
    match op {
        Operation::CreateStack(input) => create_stack(inner, ctx, input),
        Operation::UpdateStack(input) => update_stack(inner, ctx, input),
        Operation::DeleteStack { stack, retain } => delete_stack(inner, ctx, &stack, retain),
        Operation::DescribeStacks { stack, next_token } => describe_stacks(inner, ctx, stack, next_token),
        Operation::ListStacks { filter, next_token } => list_stacks(inner, ctx, &filter, next_token),
        Operation::DescribeStackEvents { stack, next_token } => {
            let (_, s) = find(inner, scope, &stack)?;
            let start = page_start(next_token.as_deref())?;
            let events: Vec<&EventRecord> = s.events.iter().rev().collect();
            Ok(respond(ctx, "DescribeStackEvents", |w| {
                w.open("StackEvents");
                for e in events.iter().skip(start).take(PAGE) {
                    render::event(w, &s, e);
                }
                w.close("StackEvents");
                if events.len() > start + PAGE {
                    w.leaf("NextToken", &(start + PAGE).to_string());
                }
            }))
        }
        Operation::DescribeStackResource { stack, logical_id } => {
            let (_, s) = find(inner, scope, &stack)?;
            let Some(r) = s.resources.get(&logical_id) else {
                return Err(invalid(format!("Resource {logical_id} does not exist for stack {stack}")));
            };
            Ok(respond(ctx, "DescribeStackResource", |w| {
                render::resource(w, "StackResourceDetail", &s, r, false);
            }))
        }
        Operation::DescribeStackResources { stack, logical_id, physical_id } => {
            let s = match (&stack, &physical_id) {
                (Some(name), _) => find(inner, scope, name)?.1,
                (None, Some(pid)) => by_physical_id(inner, scope, pid)
                    .ok_or_else(|| invalid(format!("Stack for {pid} does not exist")))?,
                (None, None) => {
                    return Err(invalid("Either StackName or PhysicalResourceId must be specified."));
                }
            };
            Ok(respond(ctx, "DescribeStackResources", |w| {
                w.open("StackResources");
                for r in s.resources.values() {
                    let wanted = logical_id.as_ref().is_none_or(|l| *l == r.logical_id)
                        && physical_id.as_ref().is_none_or(|p| Some(p) == r.physical_id.as_ref());
                    if wanted {
                        render::resource(w, "member", &s, r, false);
                    }
                }
                w.close("StackResources");
            }))
        }
        Operation::ListStackResources { stack, next_token } => {
            let (_, s) = find(inner, scope, &stack)?;
            let start = page_start(next_token.as_deref())?;
            Ok(respond(ctx, "ListStackResources", |w| {
                w.open("StackResourceSummaries");
                for r in s.resources.values().skip(start).take(PAGE) {
                    render::resource(w, "member", &s, r, true);
                }
                w.close("StackResourceSummaries");
                if s.resources.len() > start + PAGE {
                    w.leaf("NextToken", &(start + PAGE).to_string());
                }
            }))
        }
        Operation::GetTemplate { stack, change_set, stage } => {
            get_template(inner, ctx, stack, change_set, stage)
        }
        Operation::GetTemplateSummary { template_body, template_url: _, stack } => {
            let body = match (template_body, stack) {
                (Some(b), _) => b,
                (None, Some(name)) => find(inner, scope, &name)?.1.template_body,
                (None, None) => {
                    return Err(invalid(
                        "Either Template URL or Template Body or StackName must be specified.",
                    ));
                }
            };
            let summary = cfn_template::summarize(&body)?;
            Ok(respond(ctx, "GetTemplateSummary", |w| summary_xml(w, &summary, true)))
        }
        Operation::ValidateTemplate { template_body, template_url: _ } => {
            let template_body = template_body.unwrap_or_default();
            let summary = cfn_template::validate(&template_body)?;
            Ok(respond(ctx, "ValidateTemplate", |w| summary_xml(w, &summary, false)))
        }
        Operation::CreateChangeSet { input, change_set_name, change_set_type, description } => {
            create_change_set(inner, ctx, input, change_set_name, &change_set_type, description)
        }
        Operation::DescribeChangeSet { change_set, stack } => {
            let (_, s, c) = find_change_set(inner, scope, &change_set, stack.as_deref())?;
            let described = described_parameters(&s, &c.template_body, &c.parameters);
            Ok(respond(ctx, "DescribeChangeSet", |w| render::change_set(w, &s, &c, &described)))
        }
        Operation::ExecuteChangeSet { change_set, stack, disable_rollback } => {
            execute_change_set(inner, ctx, &change_set, stack.as_deref(), disable_rollback)
        }
        Operation::DeleteChangeSet { change_set, stack } => {
            let (key, s, c) = find_change_set(inner, scope, &change_set, stack.as_deref())?;
            if c.execution_status == "EXECUTE_IN_PROGRESS" {
                return Err(Error::InvalidChangeSetStatus(format!(
                    "Cannot delete ChangeSet in status {}",
                    c.execution_status
                )));
            }
            inner.update(&key, |r| r.change_sets.retain(|x| x.id != c.id))?;
            // A stack that only ever existed for a CREATE change set goes with it.
            if s.status == "REVIEW_IN_PROGRESS" && s.change_sets.len() == 1 {
                inner.update(&key, |r| {
                    r.status = "DELETE_COMPLETE".to_owned();
                    r.deleted_ms = Some(inner.now_ms());
                })?;
            }
            Ok(respond(ctx, "DeleteChangeSet", |_| {}))
        }
        Operation::ListChangeSets { stack } => {
            let (_, s) = find(inner, scope, &stack)?;
            Ok(respond(ctx, "ListChangeSets", |w| {
                w.open("Summaries");
                for c in &s.change_sets {
                    render::change_set_summary(w, &s, c);
                }
                w.close("Summaries");
            }))
        }
        Operation::ListExports { next_token: _ } => {
            let exports = exports(inner, scope);
            Ok(respond(ctx, "ListExports", |w| {
                w.open("Exports");
                for (name, (stack_id, value)) in &exports {
                    w.open("member");
                    w.leaf("ExportingStackId", stack_id);
                    w.leaf("Name", name);
                    w.leaf("Value", value);
                    w.close("member");
                }
                w.close("Exports");
            }))
        }
        Operation::ListImports { export_name } => {
            if !exports(inner, scope).contains_key(&export_name) {
                return Err(invalid(format!("Export '{export_name}' is not imported by any stack.")));
            }
            let importers = importers(inner, scope, &export_name);
            if importers.is_empty() {
                return Err(invalid(format!("Export '{export_name}' is not imported by any stack.")));
            }
            Ok(respond(ctx, "ListImports", |w| {
                w.open("Imports");
                for name in &importers {
                    w.leaf("member", name);
                }
                w.close("Imports");
            }))
        }
        Operation::NotImplemented(what) => Err(Error::NotImplemented(format!("CloudFormation {what}"))),
    }
}

fn respond(ctx: &RequestContext, action: &str, write: impl FnOnce(&mut XmlWriter)) -> Response {
    query::response(ctx, action, XMLNS, write)
}

fn page_start(token: Option<&str>) -> Result<usize, Error> {
    match token {
        None => Ok(0),
        Some(t) => t.parse().map_err(|_| invalid("Invalid NextToken")),
    }
}

/// A stack by name (the live one) or by id (also a deleted one).
pub fn find(inner: &Inner, scope: &Scope, name_or_id: &str) -> Result<(Vec<u8>, StackRecord), Error> {
    let prefix = model::stack_key(scope, "");
    let stacks = lock(&inner.stacks);
    let found = if name_or_id.starts_with("arn:") {
        stacks
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .find(|(_, s)| s.id == name_or_id)
    } else {
        stacks
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .find(|(_, s)| s.name == name_or_id && !s.is_deleted())
    };
    found.map(|(k, s)| (k.clone(), s.clone())).ok_or_else(|| no_stack(name_or_id))
}

fn by_physical_id(inner: &Inner, scope: &Scope, physical_id: &str) -> Option<StackRecord> {
    let prefix = model::stack_key(scope, "");
    lock(&inner.stacks)
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, s)| s)
        .find(|s| {
            !s.is_deleted() && s.resources.values().any(|r| r.physical_id.as_deref() == Some(physical_id))
        })
        .cloned()
}

fn live_stacks(inner: &Inner, scope: &Scope) -> Vec<StackRecord> {
    let prefix = model::stack_key(scope, "");
    lock(&inner.stacks)
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, s)| s.clone())
        .collect()
}

/// Every export of the scope: name → (exporting stack id, value).
pub fn exports(inner: &Inner, scope: &Scope) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for s in live_stacks(inner, scope) {
        if s.is_deleted() {
            continue;
        }
        for o in &s.outputs {
            if let Some(name) = &o.export_name {
                out.insert(name.clone(), (s.id.clone(), o.value.clone()));
            }
        }
    }
    out
}

/// Names of the live stacks whose templates import `export`.
pub fn importers(inner: &Inner, scope: &Scope, export: &str) -> Vec<String> {
    live_stacks(inner, scope)
        .into_iter()
        .filter(|s| !s.is_deleted() && s.status != "REVIEW_IN_PROGRESS")
        .filter(|s| imports_of(&s.template_body, &s.parameters).iter().any(|i| i == export))
        .map(|s| s.name)
        .collect()
}

/// The export names a template imports (those resolvable without resources).
fn imports_of(body: &str, parameters: &BTreeMap<String, String>) -> Vec<String> {
    let Ok(doc) = cfn_template::parse_document(body) else { return Vec::new() };
    let Ok(processed) = cfn_template::process(&doc, parameters) else { return Vec::new() };
    let mut out = Vec::new();
    collect_imports(&processed, &mut out);
    out
}

fn collect_imports(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(name)) = m.get("Fn::ImportValue") {
                out.push(name.clone());
            }
            m.values().for_each(|x| collect_imports(x, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|x| collect_imports(x, out)),
        _ => {}
    }
}

pub fn stack_arn(scope: &Scope, name: &str, uuid: &str) -> String {
    format!("arn:aws:cloudformation:{}:{}:stack/{name}/{uuid}", scope.region.as_str(), scope.account.as_str())
}

/// Plans a template for a stack of this scope: transforms, parameters, conditions, types,
/// references and attributes, all checked before anything is created.
pub fn plan_for(
    scope: &Scope,
    stack_name: &str,
    stack_id: &str,
    body: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<Plan, Error> {
    let plan = cfn_template::plan(&PlanInput {
        template_body: body,
        parameters,
        pseudo: Pseudo::new(scope.account.as_str(), scope.region.as_str(), stack_name, stack_id),
        known_types: providers::TYPES,
        ssm_parameters: &BTreeMap::new(),
    })?;
    plan.check_attributes(&providers::supports)?;
    Ok(plan)
}

/// Parameter values for an operation: supplied ones, and for `UsePreviousValue` the stack's.
fn merge_parameters(
    input: &BTreeMap<String, Option<String>>,
    previous: Option<&BTreeMap<String, String>>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (k, v) in input {
        match v {
            Some(v) => {
                out.insert(k.clone(), v.clone());
            }
            None => match previous.and_then(|p| p.get(k)) {
                Some(v) => {
                    out.insert(k.clone(), v.clone());
                }
                None => {
                    return Err(invalid(format!(
                        "Invalid input for parameter key {k}. Cannot specify usePreviousValue as true for a parameter key not in the previous template"
                    )));
                }
            },
        }
    }
    Ok(out)
}

/// Parameters as DescribeStacks and DescribeChangeSet show them: with defaults, NoEcho masked.
fn described_parameters(
    s: &StackRecord,
    body: &str,
    values: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    match cfn_template::parse_document(body)
        .ok()
        .and_then(|doc| cfn_template::process(&doc, values).ok())
        .and_then(|v| cfn_template::Template::from_value(&v).ok())
        .and_then(|t| cfn_template::Parameters::resolve(&t.parameters, values).ok())
    {
        Some(p) => p.described(),
        None => {
            let _ = s;
            values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        }
    }
}

/// A transform in a template given to CreateStack/UpdateStack needs CAPABILITY_AUTO_EXPAND.
fn check_auto_expand(body: &str, capabilities: &[String]) -> Result<(), Error> {
    let doc = cfn_template::parse_document(body)?;
    if doc.get("Transform").is_some() && !capabilities.iter().any(|c| c == "CAPABILITY_AUTO_EXPAND") {
        return Err(Error::InsufficientCapabilitiesException("CAPABILITY_AUTO_EXPAND".to_owned()));
    }
    Ok(())
}

fn stack_event(inner: &Inner, s: &StackRecord, status: &str, reason: Option<String>) -> EventRecord {
    EventRecord {
        id: uuid::Uuid::new_v4().to_string(),
        logical_id: s.name.clone(),
        physical_id: s.id.clone(),
        resource_type: "AWS::CloudFormation::Stack".to_owned(),
        status: status.to_owned(),
        reason,
        timestamp_ms: inner.now_ms(),
        properties: None,
    }
}

fn create_stack(inner: &Arc<Inner>, ctx: &RequestContext, input: StackInput) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if find(inner, scope, &input.stack_name).is_ok() {
        return Err(Error::AlreadyExistsException(format!("Stack [{}] already exists", input.stack_name)));
    }
    let body = input.template_body.clone().unwrap_or_default();
    let parameters = merge_parameters(&input.parameters, None)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let id = stack_arn(scope, &input.stack_name, &uuid);
    check_auto_expand(&body, &input.capabilities)?;
    let plan = plan_for(scope, &input.stack_name, &id, &body, &parameters)?;
    // Every value the stack runs with, defaults included, so a later UsePreviousValue finds it.
    let parameters = plan.parameters.raw.clone();
    cfn_template::check_capabilities(&plan.template, &input.capabilities)?;
    let now = inner.now_ms();
    let mut record = StackRecord {
        v: model::VERSION,
        id: id.clone(),
        name: input.stack_name.clone(),
        status: "CREATE_IN_PROGRESS".to_owned(),
        reason: Some("User Initiated".to_owned()),
        description: plan.template.description.clone(),
        created_ms: now,
        updated_ms: None,
        deleted_ms: None,
        template_body: body,
        parameters,
        capabilities: input.capabilities.clone(),
        tags: input.tags.clone(),
        disable_rollback: input.disable_rollback || input.on_failure.as_deref() == Some("DO_NOTHING"),
        outputs: Vec::new(),
        resources: BTreeMap::new(),
        events: Vec::new(),
        change_sets: Vec::new(),
        change_set_id: None,
    };
    let event = stack_event(inner, &record, "CREATE_IN_PROGRESS", Some("User Initiated".to_owned()));
    record.events.push(event);
    let key = model::stack_key(scope, &uuid);
    inner.save(&key, record)?;
    let delete_on_failure = input.on_failure.as_deref() == Some("DELETE");
    engine::spawn(
        inner.clone(),
        scope.clone(),
        key,
        engine::Job::Create { plan: Box::new(plan), delete_on_failure },
    );
    Ok(respond(ctx, "CreateStack", |w| w.leaf("StackId", &id)))
}

/// States from which a stack may be updated.
fn updatable(status: &str) -> bool {
    matches!(
        status,
        "CREATE_COMPLETE"
            | "UPDATE_COMPLETE"
            | "UPDATE_ROLLBACK_COMPLETE"
            | "IMPORT_COMPLETE"
            | "IMPORT_ROLLBACK_COMPLETE"
    )
}

fn update_stack(inner: &Arc<Inner>, ctx: &RequestContext, input: StackInput) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let (key, s) = find(inner, scope, &input.stack_name)?;
    if !updatable(&s.status) {
        return Err(invalid(format!("Stack:{} is in {} state and can not be updated.", s.id, s.status)));
    }
    let body = match (&input.template_body, input.use_previous_template) {
        (Some(b), false) => b.clone(),
        (None, true) => s.template_body.clone(),
        (Some(_), true) => {
            return Err(invalid(
                "You cannot specify both usePreviousTemplate and Template Body/Template Url",
            ));
        }
        (None, false) => return Err(invalid("Either Template URL or Template Body must be specified.")),
    };
    let parameters = merge_parameters(&input.parameters, Some(&s.parameters))?;
    check_auto_expand(&body, &input.capabilities)?;
    let plan = plan_for(scope, &s.name, &s.id, &body, &parameters)?;
    let parameters = plan.parameters.raw.clone();
    cfn_template::check_capabilities(&plan.template, &input.capabilities)?;
    if body == s.template_body && parameters == s.parameters && input.tags == s.tags {
        return Err(invalid("No updates are to be performed."));
    }
    start_update(
        inner,
        scope,
        &key,
        &s,
        body,
        parameters,
        input.capabilities,
        input.tags,
        plan,
        input.disable_rollback,
        None,
    )?;
    Ok(respond(ctx, "UpdateStack", |w| w.leaf("StackId", &s.id)))
}

#[allow(clippy::too_many_arguments)]
fn start_update(
    inner: &Arc<Inner>,
    scope: &Scope,
    key: &[u8],
    s: &StackRecord,
    body: String,
    parameters: BTreeMap<String, String>,
    capabilities: Vec<String>,
    tags: Vec<(String, String)>,
    plan: Plan,
    disable_rollback: bool,
    change_set_id: Option<String>,
) -> Result<(), Error> {
    let previous = engine::Previous {
        template_body: s.template_body.clone(),
        parameters: s.parameters.clone(),
        outputs: s.outputs.clone(),
        description: s.description.clone(),
    };
    let event = stack_event(inner, s, "UPDATE_IN_PROGRESS", Some("User Initiated".to_owned()));
    let now = inner.now_ms();
    let description = plan.template.description.clone();
    inner.update(key, |r| {
        r.status = "UPDATE_IN_PROGRESS".to_owned();
        r.reason = Some("User Initiated".to_owned());
        r.updated_ms = Some(now);
        r.template_body = body;
        r.parameters = parameters;
        r.capabilities = capabilities;
        r.tags = tags;
        r.description = description;
        r.disable_rollback = disable_rollback;
        if change_set_id.is_some() {
            r.change_set_id = change_set_id;
        }
        r.events.push(event);
    })?;
    engine::spawn(
        inner.clone(),
        scope.clone(),
        key.to_vec(),
        engine::Job::Update { plan: Box::new(plan), previous: Box::new(previous) },
    );
    Ok(())
}

fn delete_stack(
    inner: &Arc<Inner>,
    ctx: &RequestContext,
    name: &str,
    retain: Vec<String>,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    // Deleting a stack that does not exist succeeds, as it does in CloudFormation.
    let Ok((key, s)) = find(inner, scope, name) else {
        return Ok(respond(ctx, "DeleteStack", |_| {}));
    };
    if s.is_deleted() || s.status == "DELETE_IN_PROGRESS" {
        return Ok(respond(ctx, "DeleteStack", |_| {}));
    }
    if s.in_progress() && s.status != "REVIEW_IN_PROGRESS" {
        return Err(invalid(format!("Stack [{}] cannot be deleted while in status {}", s.name, s.status)));
    }
    if !retain.is_empty() && s.status != "DELETE_FAILED" {
        return Err(invalid(format!(
            "Invalid operation on stack [{}]. RetainResources can only be specified when the stack is in the DELETE_FAILED state",
            s.id
        )));
    }
    for o in &s.outputs {
        if let Some(export) = &o.export_name {
            let users = importers(inner, scope, export);
            if let Some(user) = users.iter().find(|u| **u != s.name) {
                return Err(invalid(format!("Export {export} cannot be deleted as it is in use by {user}")));
            }
        }
    }
    let event = stack_event(inner, &s, "DELETE_IN_PROGRESS", Some("User Initiated".to_owned()));
    inner.update(&key, |r| {
        r.status = "DELETE_IN_PROGRESS".to_owned();
        r.reason = Some("User Initiated".to_owned());
        r.events.push(event);
    })?;
    engine::spawn(inner.clone(), scope.clone(), key, engine::Job::Delete { retain });
    Ok(respond(ctx, "DeleteStack", |_| {}))
}

fn describe_stacks(
    inner: &Inner,
    ctx: &RequestContext,
    stack: Option<String>,
    next_token: Option<String>,
) -> Result<Response, Error> {
    let list = match stack {
        Some(name) => vec![find(inner, &ctx.scope, &name)?.1],
        None => live_stacks(inner, &ctx.scope).into_iter().filter(|s| !s.is_deleted()).collect(),
    };
    let start = page_start(next_token.as_deref())?;
    Ok(respond(ctx, "DescribeStacks", |w| {
        w.open("Stacks");
        for s in list.iter().skip(start).take(PAGE) {
            let described = described_parameters(s, &s.template_body, &s.parameters);
            render::stack(w, s, &described);
        }
        w.close("Stacks");
        if list.len() > start + PAGE {
            w.leaf("NextToken", &(start + PAGE).to_string());
        }
    }))
}

fn list_stacks(
    inner: &Inner,
    ctx: &RequestContext,
    filter: &[String],
    next_token: Option<String>,
) -> Result<Response, Error> {
    let list: Vec<StackRecord> = live_stacks(inner, &ctx.scope)
        .into_iter()
        .filter(|s| s.status != "REVIEW_IN_PROGRESS" || !filter.is_empty())
        .filter(|s| filter.is_empty() || filter.contains(&s.status))
        .collect();
    let start = page_start(next_token.as_deref())?;
    Ok(respond(ctx, "ListStacks", |w| {
        w.open("StackSummaries");
        for s in list.iter().skip(start).take(PAGE) {
            w.open("member");
            w.leaf("StackId", &s.id);
            w.leaf("StackName", &s.name);
            w.opt_leaf("TemplateDescription", s.description.as_deref());
            w.leaf("CreationTime", &render::time(s.created_ms));
            if let Some(t) = s.updated_ms {
                w.leaf("LastUpdatedTime", &render::time(t));
            }
            if let Some(t) = s.deleted_ms {
                w.leaf("DeletionTime", &render::time(t));
            }
            w.leaf("StackStatus", &s.status);
            w.opt_leaf("StackStatusReason", s.reason.as_deref());
            w.open("DriftInformation");
            w.leaf("StackDriftStatus", "NOT_CHECKED");
            w.close("DriftInformation");
            w.close("member");
        }
        w.close("StackSummaries");
        if list.len() > start + PAGE {
            w.leaf("NextToken", &(start + PAGE).to_string());
        }
    }))
}

fn get_template(
    inner: &Inner,
    ctx: &RequestContext,
    stack: Option<String>,
    change_set: Option<String>,
    stage: Option<String>,
) -> Result<Response, Error> {
    let body = match (&change_set, &stack) {
        (Some(c), _) => find_change_set(inner, &ctx.scope, c, stack.as_deref())?.2.template_body,
        (None, Some(s)) => find(inner, &ctx.scope, s)?.1.template_body,
        (None, None) => return Err(invalid("Either StackName or ChangeSetName must be specified.")),
    };
    let processed = stage.as_deref() == Some("Processed");
    let text = if processed {
        let doc = cfn_template::parse_document(&body)?;
        let value = cfn_template::process(&doc, &BTreeMap::new())?;
        serde_json::to_string_pretty(&value).unwrap_or_default()
    } else {
        body.clone()
    };
    let has_transform =
        cfn_template::parse_document(&body).map(|d| d.get("Transform").is_some()).unwrap_or(false);
    Ok(respond(ctx, "GetTemplate", |w| {
        w.leaf("TemplateBody", &text);
        w.open("StagesAvailable");
        w.leaf("member", "Original");
        if has_transform {
            w.leaf("member", "Processed");
        }
        w.close("StagesAvailable");
    }))
}

fn summary_xml(w: &mut XmlWriter, s: &cfn_template::TemplateSummary, full: bool) {
    w.open("Parameters");
    for p in &s.parameters {
        w.open("member");
        w.leaf("ParameterKey", &p.key);
        if full {
            w.opt_leaf("DefaultValue", p.default.as_deref());
            w.leaf("ParameterType", &p.parameter_type);
            w.open("ParameterConstraints");
            if !p.allowed_values.is_empty() {
                render::strings(w, "AllowedValues", &p.allowed_values);
            }
            w.close("ParameterConstraints");
        } else {
            w.opt_leaf("DefaultValue", p.default.as_deref());
        }
        w.leaf("NoEcho", if p.no_echo { "true" } else { "false" });
        w.opt_leaf("Description", p.description.as_deref());
        w.close("member");
    }
    w.close("Parameters");
    w.opt_leaf("Description", s.description.as_deref());
    render::strings(w, "Capabilities", &s.capabilities);
    w.opt_leaf("CapabilitiesReason", s.capabilities_reason.as_deref());
    render::strings(w, "DeclaredTransforms", &s.declared_transforms);
    if full {
        render::strings(w, "ResourceTypes", &s.resource_types);
        w.opt_leaf("Version", s.version.as_deref());
    }
}

pub fn change_set_arn(scope: &Scope, name: &str) -> String {
    format!(
        "arn:aws:cloudformation:{}:{}:changeSet/{name}/{}",
        scope.region.as_str(),
        scope.account.as_str(),
        uuid::Uuid::new_v4()
    )
}

/// A change set by id, or by name within the named stack.
fn find_change_set(
    inner: &Inner,
    scope: &Scope,
    change_set: &str,
    stack: Option<&str>,
) -> Result<(Vec<u8>, StackRecord, ChangeSetRecord), Error> {
    let not_found = || Error::ChangeSetNotFound(format!("ChangeSet [{change_set}] does not exist"));
    if change_set.starts_with("arn:") {
        for s in live_stacks(inner, scope) {
            if let Some(c) = s.change_sets.iter().find(|c| c.id == change_set) {
                let key = model::stack_key(scope, s.uuid());
                let c = c.clone();
                return Ok((key, s, c));
            }
        }
        return Err(not_found());
    }
    let Some(stack) = stack else {
        return Err(invalid("StackName must be specified if ChangeSetName is not specified as an ARN."));
    };
    let (key, s) = find(inner, scope, stack).map_err(|_| not_found())?;
    let c = s.change_sets.iter().find(|c| c.name == change_set).cloned().ok_or_else(not_found)?;
    Ok((key, s, c))
}

fn create_change_set(
    inner: &Arc<Inner>,
    ctx: &RequestContext,
    input: StackInput,
    name: String,
    change_set_type: &str,
    description: Option<String>,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let existing = find(inner, scope, &input.stack_name).ok();
    let (key, stack) = match (change_set_type, existing) {
        ("CREATE", Some((key, s))) if s.status == "REVIEW_IN_PROGRESS" => (key, s),
        ("CREATE", Some(_)) => {
            return Err(Error::AlreadyExistsException(format!(
                "Stack [{}] already exists",
                input.stack_name
            )));
        }
        ("CREATE", None) => {
            let uuid = uuid::Uuid::new_v4().to_string();
            let now = inner.now_ms();
            let mut record = StackRecord {
                v: model::VERSION,
                id: stack_arn(scope, &input.stack_name, &uuid),
                name: input.stack_name.clone(),
                status: "REVIEW_IN_PROGRESS".to_owned(),
                reason: Some("User Initiated".to_owned()),
                description: None,
                created_ms: now,
                updated_ms: None,
                deleted_ms: None,
                template_body: String::new(),
                parameters: BTreeMap::new(),
                capabilities: Vec::new(),
                tags: Vec::new(),
                disable_rollback: false,
                outputs: Vec::new(),
                resources: BTreeMap::new(),
                events: Vec::new(),
                change_sets: Vec::new(),
                change_set_id: None,
            };
            let event = stack_event(inner, &record, "REVIEW_IN_PROGRESS", Some("User Initiated".to_owned()));
            record.events.push(event);
            (model::stack_key(scope, &uuid), record)
        }
        (_, Some((key, s))) => {
            if s.status == "REVIEW_IN_PROGRESS" {
                return Err(invalid(format!(
                    "Stack [{}] does not exist. ChangeSetType must be CREATE for a stack in REVIEW_IN_PROGRESS",
                    s.id
                )));
            }
            (key, s)
        }
        (_, None) => return Err(no_stack(&input.stack_name)),
    };
    if stack.change_sets.iter().any(|c| c.name == name) {
        return Err(Error::AlreadyExistsException(format!("ChangeSet {name} already exists")));
    }
    let body = match (&input.template_body, input.use_previous_template) {
        (Some(b), _) => b.clone(),
        (None, _) => stack.template_body.clone(),
    };
    let parameters = merge_parameters(&input.parameters, Some(&stack.parameters))?;
    let plan = plan_for(scope, &stack.name, &stack.id, &body, &parameters)?;
    let parameters = plan.parameters.raw.clone();
    cfn_template::check_capabilities(&plan.template, &input.capabilities)?;
    let (status, reason, changes) = if stack.status == "REVIEW_IN_PROGRESS" {
        let changes = plan
            .order
            .iter()
            .map(|id| ChangeRecord {
                action: "Add".to_owned(),
                logical_id: id.clone(),
                physical_id: None,
                resource_type: plan.template.resources[id].resource_type.clone(),
                replacement: None,
                changed_properties: Vec::new(),
            })
            .collect();
        ("CREATE_COMPLETE", None, changes)
    } else {
        let old = plan_for(scope, &stack.name, &stack.id, &stack.template_body, &stack.parameters)?;
        let changes: Vec<ChangeRecord> = cfn_template::diff(&old, &plan)
            .into_iter()
            .map(|c| ChangeRecord {
                action: c.action.as_str().to_owned(),
                physical_id: stack.resources.get(&c.logical_id).and_then(|r| r.physical_id.clone()),
                logical_id: c.logical_id,
                resource_type: c.resource_type,
                replacement: (c.action == cfn_template::Action::Modify)
                    .then(|| if c.replacement { "True" } else { "False" }.to_owned()),
                changed_properties: c.changed_properties,
            })
            .collect();
        let same = changes.is_empty() && body == stack.template_body && parameters == stack.parameters;
        if same {
            (
                "FAILED",
                Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_owned()),
                changes,
            )
        } else {
            ("CREATE_COMPLETE", None, changes)
        }
    };
    let id = change_set_arn(scope, &name);
    let change_set = ChangeSetRecord {
        id: id.clone(),
        name,
        description,
        change_set_type: change_set_type.to_owned(),
        status: status.to_owned(),
        status_reason: reason,
        execution_status: if status == "FAILED" { "UNAVAILABLE" } else { "AVAILABLE" }.to_owned(),
        created_ms: inner.now_ms(),
        template_body: body,
        parameters,
        capabilities: input.capabilities,
        tags: input.tags,
        changes,
    };
    let stack_id = stack.id.clone();
    let mut stack = stack;
    stack.change_sets.push(change_set);
    inner.save(&key, stack)?;
    Ok(respond(ctx, "CreateChangeSet", |w| {
        w.leaf("Id", &id);
        w.leaf("StackId", &stack_id);
    }))
}

fn execute_change_set(
    inner: &Arc<Inner>,
    ctx: &RequestContext,
    change_set: &str,
    stack: Option<&str>,
    disable_rollback: Option<bool>,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let (key, s, c) = find_change_set(inner, scope, change_set, stack)?;
    if c.execution_status != "AVAILABLE" {
        return Err(Error::InvalidChangeSetStatus(format!(
            "ChangeSet [{}] cannot be executed in its current execution status of [{}]",
            c.id, c.execution_status
        )));
    }
    let plan = plan_for(scope, &s.name, &s.id, &c.template_body, &c.parameters)?;
    let disable_rollback = disable_rollback.unwrap_or(false);
    // Executing a change set consumes every change set of the stack.
    if s.status == "REVIEW_IN_PROGRESS" {
        let event = stack_event(inner, &s, "CREATE_IN_PROGRESS", Some("User Initiated".to_owned()));
        let description = plan.template.description.clone();
        inner.update(&key, |r| {
            r.status = "CREATE_IN_PROGRESS".to_owned();
            r.reason = Some("User Initiated".to_owned());
            r.template_body = c.template_body.clone();
            r.parameters = c.parameters.clone();
            r.capabilities = c.capabilities.clone();
            r.tags = c.tags.clone();
            r.description = description;
            r.disable_rollback = disable_rollback;
            r.change_set_id = Some(c.id.clone());
            r.change_sets.clear();
            r.events.push(event);
        })?;
        engine::spawn(
            inner.clone(),
            scope.clone(),
            key,
            engine::Job::Create { plan: Box::new(plan), delete_on_failure: false },
        );
    } else {
        if !updatable(&s.status) {
            return Err(Error::InvalidChangeSetStatus(format!(
                "ChangeSet [{}] cannot be executed in its current status of [{}]",
                c.id, s.status
            )));
        }
        inner.update(&key, |r| r.change_sets.clear())?;
        start_update(
            inner,
            scope,
            &key,
            &s,
            c.template_body.clone(),
            c.parameters.clone(),
            c.capabilities.clone(),
            c.tags.clone(),
            plan,
            disable_rollback,
            Some(c.id.clone()),
        )?;
    }
    Ok(respond(ctx, "ExecuteChangeSet", |_| {}))
}
