//! Rules and their targets: PutRule (pattern and/or schedule), DescribeRule, ListRules,
//! EnableRule/DisableRule, DeleteRule, PutTargets, RemoveTargets, ListTargetsByRule,
//! ListRuleNamesByTarget. Every change is one write of the rule's record, then the bus's matcher
//! is updated in memory (see `Inner::save_rule`).

use std::sync::Arc;

use event_pattern::Pattern;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};
use types::Scope;

use crate::buses::{bus_not_found, paged, paginate};
use crate::error::Error;
use crate::input::unknown_placeholders;
use crate::model::{self, DEFAULT_BUS, RULES, RuleRecord, SCHEMA_VERSION, Target, TargetKind};
use crate::operation::{Page, PutRuleInput, RuleRef, tag_map};
use crate::schedule::Schedule;
use crate::{Inner, lock, ok};

/// The most targets a rule may have (an EventBridge quota).
const MAX_TARGETS: usize = 5;

pub fn rule_not_found(bus: &str, name: &str) -> Error {
    Error::ResourceNotFoundException(format!("Rule {name} does not exist on EventBus {bus}."))
}

fn existing(svc: &Inner, scope: &Scope, rule: &RuleRef) -> Result<Arc<RuleRecord>, Error> {
    svc.rule(scope, &rule.bus, &rule.name).ok_or_else(|| rule_not_found(&rule.bus, &rule.name))
}

pub fn put_rule(svc: &Inner, ctx: &RequestContext, input: PutRuleInput) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let RuleRef { bus, name } = &input.rule;
    let pattern = input.event_pattern.filter(|p| !p.is_empty());
    let schedule = input.schedule_expression.filter(|s| !s.is_empty());
    if pattern.is_none() && schedule.is_none() {
        return Err(Error::validation("Parameter(s) EventPattern or ScheduleExpression must be specified."));
    }
    if let Some(s) = &schedule {
        if bus != DEFAULT_BUS {
            return Err(Error::validation("ScheduleExpression is supported only on the default event bus."));
        }
        if Schedule::parse(s).is_none() {
            return Err(Error::validation("Parameter ScheduleExpression is not valid."));
        }
    }
    if let Some(p) = &pattern {
        Pattern::parse(p).map_err(|e| Error::InvalidEventPatternException(e.to_string()))?;
    }
    let _w = lock(&svc.writes);
    if !svc.bus_exists(scope, bus)? {
        return Err(bus_not_found(bus));
    }
    // PutRule replaces the rule's settings (omitted ones are not kept), but not its targets,
    // tags or age.
    let old = svc.rule(scope, bus, name);
    let record = RuleRecord {
        v: SCHEMA_VERSION,
        name: name.clone(),
        bus: bus.clone(),
        event_pattern: pattern,
        schedule_expression: schedule,
        state: input.state.unwrap_or_else(|| "ENABLED".to_owned()),
        description: input.description,
        role_arn: input.role_arn,
        created_ms: old.as_ref().map_or_else(|| svc.now_ms(), |o| o.created_ms),
        targets: old.as_ref().map(|o| o.targets.clone()).unwrap_or_default(),
        tags: old.as_ref().map_or_else(|| tag_map(input.tags), |o| o.tags.clone()),
    };
    svc.save_rule(scope, record)?;
    ok(ctx, &json!({ "RuleArn": model::rule_arn(scope, bus, name) }))
}

fn render(scope: &Scope, r: &RuleRecord) -> Value {
    let mut out = json!({
        "Name": r.name,
        "Arn": model::rule_arn(scope, &r.bus, &r.name),
        "State": r.state,
        "EventBusName": r.bus,
    });
    for (member, value) in [
        ("EventPattern", &r.event_pattern),
        ("ScheduleExpression", &r.schedule_expression),
        ("Description", &r.description),
        ("RoleArn", &r.role_arn),
    ] {
        if let Some(v) = value {
            out[member] = json!(v);
        }
    }
    out
}

pub fn describe(svc: &Inner, ctx: &RequestContext, rule: &RuleRef) -> Result<Response, Error> {
    let r = existing(svc, &ctx.scope, rule)?;
    let mut out = render(&ctx.scope, &r);
    out["CreatedBy"] = json!(ctx.scope.account.as_str());
    ok(ctx, &out)
}

pub fn list(
    svc: &Inner,
    ctx: &RequestContext,
    bus: &str,
    prefix: Option<&str>,
    page: &Page,
) -> Result<Response, Error> {
    let keep = |r: &RuleRecord| prefix.is_none_or(|p| r.name.starts_with(p));
    page_of_rules(svc, ctx, bus, page, "Rules", keep, |r| render(&ctx.scope, r))
}

/// One page of the rules of `bus` that `keep` selects, each shown by `show`, under `member`.
fn page_of_rules(
    svc: &Inner,
    ctx: &RequestContext,
    bus: &str,
    page: &Page,
    member: &str,
    keep: impl Fn(&RuleRecord) -> bool,
    show: impl Fn(&RuleRecord) -> Value,
) -> Result<Response, Error> {
    if !svc.bus_exists(&ctx.scope, bus)? {
        return Err(bus_not_found(bus));
    }
    let rules = svc.rules_of(&ctx.scope, bus);
    let selected = rules.iter().map(AsRef::as_ref).filter(|r: &&RuleRecord| keep(r));
    let (items, next) = paginate(selected, page, |r| r.name.as_str());
    ok(ctx, &paged(member, items.into_iter().map(show).collect(), next))
}

pub fn set_state(
    svc: &Inner,
    ctx: &RequestContext,
    rule: &RuleRef,
    enabled: bool,
) -> Result<Response, Error> {
    let _w = lock(&svc.writes);
    let mut record = (*existing(svc, &ctx.scope, rule)?).clone();
    record.state = if enabled { "ENABLED" } else { "DISABLED" }.to_owned();
    svc.save_rule(&ctx.scope, record)?;
    ok(ctx, &json!({}))
}

/// A rule that is not there is not an error; one with targets is refused.
pub fn delete(svc: &Inner, ctx: &RequestContext, rule: &RuleRef) -> Result<Response, Error> {
    let _w = lock(&svc.writes);
    let Some(record) = svc.rule(&ctx.scope, &rule.bus, &rule.name) else { return ok(ctx, &json!({})) };
    if !record.targets.is_empty() {
        return Err(Error::validation("Rule can't be deleted since it has targets."));
    }
    svc.kv.delete(RULES, &model::rule_key(&ctx.scope, &rule.bus, &rule.name))?;
    svc.forget_rules(&ctx.scope, &rule.bus, std::slice::from_ref(&rule.name));
    ok(ctx, &json!({}))
}

/// Why Nimbus cannot take a target, as a failed entry: (ErrorCode, ErrorMessage).
fn unsupported(target: &Target) -> Option<(&'static str, String)> {
    if TargetKind::of(&target.arn).is_some() {
        return None;
    }
    match target.arn.split(':').nth(2) {
        Some(service) if target.arn.starts_with("arn:") => Some((
            "NotImplemented",
            format!(
                "Targets of type {service} are not implemented by Nimbus yet; Lambda functions, SQS queues, SNS topics, event buses and API destinations are"
            ),
        )),
        _ => Some(("ValidationException", format!("Parameter {} is not valid.", target.arn))),
    }
}

/// Checks a target's input settings; these fail the whole request, as on AWS.
fn check_input(target: &Target) -> Result<(), Error> {
    let given = [target.input.is_some(), target.input_path.is_some(), target.input_transformer.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        // Wording not verified against AWS.
        return Err(Error::validation(format!(
            "Only one of Input, InputPath, or InputTransformer must be provided for target {}.",
            target.id
        )));
    }
    if let Some(t) = &target.input_transformer
        && let Some(name) = unknown_placeholders(&t.input_template, t.input_paths_map.as_ref()).first()
    {
        return Err(Error::validation(format!(
            "InputTemplate for target {} contains invalid placeholder {name}.",
            target.id
        )));
    }
    // A FIFO queue needs a message group for every event.
    let fifo = TargetKind::of(&target.arn) == Some(TargetKind::Queue) && target.arn.ends_with(".fifo");
    if fifo && target.sqs_parameters.as_ref().and_then(|p| p.message_group_id.as_ref()).is_none() {
        return Err(Error::validation(format!(
            "Parameter(s) SqsParameters must be specified for target: {}.",
            target.id
        )));
    }
    Ok(())
}

pub fn put_targets(
    svc: &Inner,
    ctx: &RequestContext,
    rule: &RuleRef,
    targets: Vec<Target>,
) -> Result<Response, Error> {
    for t in &targets {
        check_input(t)?;
    }
    let _w = lock(&svc.writes);
    let mut record = (*existing(svc, &ctx.scope, rule)?).clone();
    let mut failed = Vec::new();
    for t in targets {
        if let Some((code, message)) = unsupported(&t) {
            failed.push(json!({ "TargetId": t.id, "ErrorCode": code, "ErrorMessage": message }));
            continue;
        }
        match record.targets.iter_mut().find(|e| e.id == t.id) {
            Some(existing) => *existing = t,
            None => record.targets.push(t),
        }
    }
    if record.targets.len() > MAX_TARGETS {
        return Err(Error::LimitExceededException(
            "The requested resource exceeds the maximum number allowed.".to_owned(),
        ));
    }
    svc.save_rule(&ctx.scope, record)?;
    ok(ctx, &json!({ "FailedEntryCount": failed.len(), "FailedEntries": failed }))
}

pub fn remove_targets(
    svc: &Inner,
    ctx: &RequestContext,
    rule: &RuleRef,
    ids: &[String],
) -> Result<Response, Error> {
    let _w = lock(&svc.writes);
    let mut record = (*existing(svc, &ctx.scope, rule)?).clone();
    record.targets.retain(|t| !ids.contains(&t.id));
    svc.save_rule(&ctx.scope, record)?;
    ok(ctx, &json!({ "FailedEntryCount": 0, "FailedEntries": [] }))
}

pub fn list_targets(
    svc: &Inner,
    ctx: &RequestContext,
    rule: &RuleRef,
    page: &Page,
) -> Result<Response, Error> {
    let record = existing(svc, &ctx.scope, rule)?;
    let mut targets: Vec<&Target> = record.targets.iter().collect();
    targets.sort_by(|a, b| a.id.cmp(&b.id));
    let (items, next) = paginate(targets.into_iter(), page, |t| t.id.as_str());
    ok(ctx, &paged("Targets", items.iter().map(|t| json!(t)).collect(), next))
}

pub fn names_by_target(
    svc: &Inner,
    ctx: &RequestContext,
    bus: &str,
    target_arn: &str,
    page: &Page,
) -> Result<Response, Error> {
    let keep = |r: &RuleRecord| r.targets.iter().any(|t| t.arn == target_arn);
    page_of_rules(svc, ctx, bus, page, "RuleNames", keep, |r| json!(r.name))
}
