//! The Scheduler API: schedules, schedule groups and group tags. Every write commits the record
//! and its entry in the due index in one batch, under the service's write lock.

use std::collections::BTreeMap;

use http::StatusCode;
use jiff::tz::TimeZone;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};
use storage::{Batch, KeyRange};
use types::Scope;

use crate::error::Error;
use crate::expression::Expression;
use crate::model::{
    self, DEFAULT_GROUP, DEFAULT_MAX_AGE_SECONDS, DEFAULT_MAX_RETRIES, DUE, GROUPS, GroupRecord, NextFire,
    SCHEDULES, ScheduleRecord, Target,
};
use crate::operation::{ListFilter, ScheduleInput, Tag};
use crate::{Inner, lock};

/// How far in the past a recurring schedule's StartDate may lie.
const START_DATE_SLACK_MS: i64 = 5 * 60_000;
/// An `at()` time this recent still fires: Scheduler invokes with one-minute precision.
const AT_SLACK_MS: i64 = 60_000;

/// What a target ARN names, for the targets Nimbus delivers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Function,
    Queue,
    Topic,
    Bus,
}

impl TargetKind {
    pub fn of(arn: &str) -> Option<TargetKind> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [arn_, _partition, service, _region, _account, resource] = parts.as_slice() else { return None };
        if *arn_ != "arn" {
            return None;
        }
        match *service {
            "lambda" if resource.starts_with("function:") => Some(TargetKind::Function),
            "sqs" => Some(TargetKind::Queue),
            "sns" => Some(TargetKind::Topic),
            "events" if resource.starts_with("event-bus/") => Some(TargetKind::Bus),
            _ => None,
        }
    }
}

fn ok(ctx: &RequestContext, body: &Value) -> Result<Response, Error> {
    Ok(protocol::rest::json_response(StatusCode::OK, body, ctx.request_id.as_str()))
}

fn epoch(ms: i64) -> Value {
    json!(ms as f64 / 1000.0)
}

fn group_or_default(group: Option<&str>) -> &str {
    group.unwrap_or(DEFAULT_GROUP)
}

/// Whether the caller's group exists: `default` always does.
fn group_exists(svc: &Inner, scope: &Scope, group: &str) -> Result<bool, Error> {
    Ok(group == DEFAULT_GROUP || svc.kv.get(GROUPS, &model::group_key(scope, group))?.is_some())
}

fn load(svc: &Inner, scope: &Scope, group: &str, name: &str) -> Result<Option<ScheduleRecord>, Error> {
    svc.kv
        .get(SCHEDULES, &model::schedule_key(scope, group, name))?
        .map(|raw| model::decode(&raw))
        .transpose()
}

/// A schedule input checked and turned into the fields of a record (everything but the times
/// of creation and the next firing).
struct Checked {
    expression: Expression,
    record: ScheduleRecord,
    tz: TimeZone,
}

fn check(svc: &Inner, scope: &Scope, name: &str, input: ScheduleInput, now: i64) -> Result<Checked, Error> {
    let mut missing = Vec::new();
    if input.flexible_time_window.is_none() {
        missing.push("flexibleTimeWindow");
    }
    if input.schedule_expression.is_none() {
        missing.push("scheduleExpression");
    }
    if input.target.is_none() {
        missing.push("target");
    }
    if !missing.is_empty() {
        return Err(Error::validation(protocol::validation_message(
            missing.into_iter().map(|m| (m, "null", "Member must not be null")),
        )));
    }
    let (Some(flexible), Some(expr), Some(target)) =
        (input.flexible_time_window, input.schedule_expression, input.target)
    else {
        return Err(Error::validation("Missing required members"));
    };
    if expr.chars().count() > 256 {
        return Err(Error::constraint(
            "scheduleExpression",
            &expr,
            "Member must have length less than or equal to 256",
        ));
    }
    let expression = Expression::parse(&expr)
        .ok_or_else(|| Error::validation(format!("Invalid Schedule Expression {expr}")))?;
    let timezone = input.schedule_expression_timezone.unwrap_or_else(|| "UTC".to_owned());
    let tz = TimeZone::get(&timezone)
        .map_err(|_| Error::validation(format!("Invalid ScheduleExpressionTimezone {timezone}")))?;
    if let Some(d) = &input.description
        && d.chars().count() > 512
    {
        return Err(Error::constraint("description", d, "Member must have length less than or equal to 512"));
    }
    match flexible.mode.as_str() {
        "OFF" => {}
        "FLEXIBLE" => match flexible.maximum_window_in_minutes {
            None => {
                return Err(Error::validation(
                    "MaximumWindowInMinutes must be provided when the FlexibleTimeWindow Mode is FLEXIBLE.",
                ));
            }
            Some(m) if !(1..=1440).contains(&m) => {
                let bound = if m < 1 {
                    "Member must have value greater than or equal to 1"
                } else {
                    "Member must have value less than or equal to 1440"
                };
                return Err(Error::constraint(
                    "flexibleTimeWindow.maximumWindowInMinutes",
                    &m.to_string(),
                    bound,
                ));
            }
            Some(_) => {}
        },
        other => {
            return Err(Error::constraint(
                "flexibleTimeWindow.mode",
                other,
                "Member must satisfy enum value set: [OFF, FLEXIBLE]",
            ));
        }
    }
    let enabled = match input.state.as_deref() {
        None | Some("ENABLED") => true,
        Some("DISABLED") => false,
        Some(other) => {
            return Err(Error::constraint(
                "state",
                other,
                "Member must satisfy enum value set: [ENABLED, DISABLED]",
            ));
        }
    };
    let action_after_completion = match input.action_after_completion.as_deref() {
        None | Some("NONE") => "NONE",
        Some("DELETE") => "DELETE",
        Some(other) => {
            return Err(Error::constraint(
                "actionAfterCompletion",
                other,
                "Member must satisfy enum value set: [NONE, DELETE]",
            ));
        }
    };
    check_target(&target)?;
    let start_ms = input.start_date.map(seconds_to_ms);
    let end_ms = input.end_date.map(seconds_to_ms);
    if let Some(start) = start_ms
        && !expression.is_one_time()
        && start < now - START_DATE_SLACK_MS
    {
        return Err(Error::validation("The StartDate you specify cannot be earlier than 5 minutes ago."));
    }
    let group = input.group_name.unwrap_or_else(|| DEFAULT_GROUP.to_owned());
    if !group_exists(svc, scope, &group)? {
        return Err(Error::no_group(&group));
    }
    let record = ScheduleRecord {
        v: model::schema(),
        name: name.to_owned(),
        group,
        description: input.description,
        expression: expr,
        timezone,
        start_ms,
        end_ms,
        enabled,
        flexible,
        target,
        action_after_completion: action_after_completion.to_owned(),
        kms_key_arn: input.kms_key_arn,
        created_ms: now,
        modified_ms: now,
        anchor_ms: start_ms.unwrap_or(now),
        next: None,
    };
    Ok(Checked { expression, record, tz })
}

fn seconds_to_ms(seconds: f64) -> i64 {
    // Saturating float-to-int: absurd dates clamp rather than wrap.
    (seconds * 1000.0).round() as i64
}

fn check_target(target: &Target) -> Result<(), Error> {
    if target.arn.is_empty() {
        return Err(Error::constraint("target.arn", "null", "Member must not be null"));
    }
    if target.arn.len() > 1600 {
        return Err(Error::constraint(
            "target.arn",
            &target.arn,
            "Member must have length less than or equal to 1600",
        ));
    }
    if !is_role_arn(&target.role_arn) {
        return Err(Error::constraint(
            "target.roleArn",
            &target.role_arn,
            r"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$",
        ));
    }
    if let Some(input) = &target.input
        && input.is_empty()
    {
        return Err(Error::constraint(
            "target.input",
            "",
            "Member must have length greater than or equal to 1",
        ));
    }
    if let Some(policy) = &target.retry_policy {
        if let Some(age) = policy.maximum_event_age_in_seconds {
            let bound = if age < 60 {
                Some("Member must have value greater than or equal to 60")
            } else if age > 86_400 {
                Some("Member must have value less than or equal to 86400")
            } else {
                None
            };
            if let Some(bound) = bound {
                return Err(Error::constraint(
                    "target.retryPolicy.maximumEventAgeInSeconds",
                    &age.to_string(),
                    bound,
                ));
            }
        }
        if let Some(n) = policy.maximum_retry_attempts {
            let bound = if n < 0 {
                Some("Member must have value greater than or equal to 0")
            } else if n > 185 {
                Some("Member must have value less than or equal to 185")
            } else {
                None
            };
            if let Some(bound) = bound {
                return Err(Error::constraint(
                    "target.retryPolicy.maximumRetryAttempts",
                    &n.to_string(),
                    bound,
                ));
            }
        }
    }
    if let Some(dlq) = target.dead_letter_config.as_ref().and_then(|d| d.arn.as_deref())
        && !is_queue_arn(dlq)
    {
        return Err(Error::constraint(
            "target.deadLetterConfig.arn",
            dlq,
            r"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$",
        ));
    }
    if let Some(action) = target.arn.strip_prefix("arn:aws:scheduler:::aws-sdk:") {
        return Err(Error::NotImplemented(format!(
            "EventBridge Scheduler universal target aws-sdk:{action}"
        )));
    }
    let Some(kind) = TargetKind::of(&target.arn) else {
        return Err(Error::NotImplemented(format!("EventBridge Scheduler target {}", target.arn)));
    };
    if kind == TargetKind::Bus && target.event_bridge_parameters.is_none() {
        return Err(Error::validation(
            "EventBridgeParameters must be provided when the target is an EventBridge event bus.",
        ));
    }
    Ok(())
}

/// `^arn:aws(-[a-z]+)?:` followed by what `rest` accepts.
fn aws_arn<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws")?;
    let rest = match rest.strip_prefix('-') {
        Some(r) => {
            let end = r.find(':')?;
            if end == 0 || !r[..end].bytes().all(|b| b.is_ascii_lowercase()) {
                return None;
            }
            &r[end..]
        }
        None => rest,
    };
    rest.strip_prefix(':')?.strip_prefix(service)?.strip_prefix(':')
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`
fn is_role_arn(arn: &str) -> bool {
    let Some(rest) = aws_arn(arn, "iam").and_then(|r| r.strip_prefix(':')) else { return false };
    let Some((account, path)) = rest.split_once(':') else { return false };
    let Some(path) = path.strip_prefix("role/") else { return false };
    is_account(account)
        && !path.is_empty()
        && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"_+=,.@/-".contains(&b))
}

/// `^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$`
fn is_queue_arn(arn: &str) -> bool {
    let Some(rest) = aws_arn(arn, "sqs") else { return false };
    let parts: Vec<&str> = rest.split(':').collect();
    let [region, account, name] = parts.as_slice() else { return false };
    !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && is_account(account)
        && !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// When a schedule set up at `now` fires first, if it fires at all.
pub(crate) fn first_fire(
    record: &ScheduleRecord,
    expression: &Expression,
    tz: &TimeZone,
    now: i64,
) -> Option<NextFire> {
    if !record.enabled {
        return None;
    }
    let nominal = match expression {
        Expression::At(_) => {
            expression.first(now, record.anchor_ms, tz).filter(|t| *t >= now - AT_SLACK_MS)?
        }
        _ => {
            let from = record.start_ms.map_or(now, |s| s.max(now));
            expression.first(from, record.anchor_ms, tz)?
        }
    };
    within_end(record, expression, nominal).map(|nominal| with_window(record, nominal))
}

/// The firing after the one at `nominal`, fired at `now`: windows missed since are skipped.
pub(crate) fn following_fire(
    record: &ScheduleRecord,
    expression: &Expression,
    tz: &TimeZone,
    nominal: i64,
    now: i64,
) -> Option<NextFire> {
    let next = expression.next_after(nominal.max(now), record.anchor_ms, tz)?;
    within_end(record, expression, next).map(|nominal| with_window(record, nominal))
}

/// `nominal`, unless it is past the EndDate of a recurring schedule.
fn within_end(record: &ScheduleRecord, expression: &Expression, nominal: i64) -> Option<i64> {
    match record.end_ms {
        Some(end) if !expression.is_one_time() && nominal > end => None,
        _ => Some(nominal),
    }
}

/// The firing time of `nominal`: within a flexible window, a random moment in it.
fn with_window(record: &ScheduleRecord, nominal: i64) -> NextFire {
    let window_ms = match (record.flexible.mode.as_str(), record.flexible.maximum_window_in_minutes) {
        ("FLEXIBLE", Some(minutes)) => minutes.max(0) * 60_000,
        _ => 0,
    };
    let offset = if window_ms > 0 {
        let random = uuid::Uuid::new_v4().as_u128();
        i64::try_from(random % u128::from(window_ms.unsigned_abs())).unwrap_or(0)
    } else {
        0
    };
    NextFire { nominal_ms: nominal, due_ms: nominal.saturating_add(offset) }
}

/// Writes `record` and its due index entry (dropping `old_due`, the previous entry) in one batch.
fn save(svc: &Inner, scope: &Scope, record: &ScheduleRecord, old_due: Option<i64>) -> Result<(), Error> {
    let key = model::schedule_key(scope, &record.group, &record.name);
    let mut batch = Batch::new();
    if let Some(due) = old_due {
        batch = batch.delete(DUE, model::due_key(due, &key));
    }
    if let Some(next) = record.next {
        batch = batch.put(DUE, model::due_key(next.due_ms, &key), Vec::new());
    }
    svc.kv.commit(batch.put(SCHEDULES, key, model::encode(record)))?;
    svc.wake.notify_one();
    Ok(())
}

pub fn create(
    svc: &Inner,
    ctx: &RequestContext,
    name: &str,
    input: ScheduleInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _writes = lock(&svc.writes);
    let now = svc.now_ms();
    let Checked { expression, mut record, tz } = check(svc, scope, name, input, now)?;
    if load(svc, scope, &record.group, name)?.is_some() {
        return Err(Error::ConflictException(format!("Schedule {name} already exists.")));
    }
    record.next = first_fire(&record, &expression, &tz, now);
    save(svc, scope, &record, None)?;
    ok(ctx, &json!({ "ScheduleArn": record.arn(scope) }))
}

pub fn update(
    svc: &Inner,
    ctx: &RequestContext,
    name: &str,
    input: ScheduleInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _writes = lock(&svc.writes);
    let now = svc.now_ms();
    let group = group_or_default(input.group_name.as_deref()).to_owned();
    let Some(old) = load(svc, scope, &group, name)? else {
        return Err(Error::no_schedule(name));
    };
    let Checked { expression, mut record, tz } = check(svc, scope, name, input, now)?;
    record.created_ms = old.created_ms;
    record.next = first_fire(&record, &expression, &tz, now);
    save(svc, scope, &record, old.next.map(|n| n.due_ms))?;
    ok(ctx, &json!({ "ScheduleArn": record.arn(scope) }))
}

pub fn get(svc: &Inner, ctx: &RequestContext, name: &str, group: Option<&str>) -> Result<Response, Error> {
    let record =
        load(svc, &ctx.scope, group_or_default(group), name)?.ok_or_else(|| Error::no_schedule(name))?;
    ok(ctx, &render(&ctx.scope, &record))
}

pub fn delete(svc: &Inner, ctx: &RequestContext, name: &str, group: Option<&str>) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _writes = lock(&svc.writes);
    let group = group_or_default(group);
    let record = load(svc, scope, group, name)?.ok_or_else(|| Error::no_schedule(name))?;
    svc.kv.commit(removal(scope, &record, Batch::new()))?;
    ok(ctx, &json!({}))
}

/// Adds the deletion of a schedule and its due entry to `batch`.
pub(crate) fn removal(scope: &Scope, record: &ScheduleRecord, mut batch: Batch) -> Batch {
    let key = model::schedule_key(scope, &record.group, &record.name);
    if let Some(next) = record.next {
        batch = batch.delete(DUE, model::due_key(next.due_ms, &key));
    }
    batch.delete(SCHEDULES, key)
}

/// GetSchedule's shape; the target shows Scheduler's default RetryPolicy when none was given.
fn render(scope: &Scope, r: &ScheduleRecord) -> Value {
    let mut target = r.target.clone();
    let policy = target.retry_policy.get_or_insert_with(Default::default);
    policy.maximum_event_age_in_seconds.get_or_insert(DEFAULT_MAX_AGE_SECONDS);
    policy.maximum_retry_attempts.get_or_insert(DEFAULT_MAX_RETRIES);
    let mut out = json!({
        "ActionAfterCompletion": r.action_after_completion,
        "Arn": r.arn(scope),
        "CreationDate": epoch(r.created_ms),
        "FlexibleTimeWindow": r.flexible,
        "GroupName": r.group,
        "LastModificationDate": epoch(r.modified_ms),
        "Name": r.name,
        "ScheduleExpression": r.expression,
        "ScheduleExpressionTimezone": r.timezone,
        "State": if r.enabled { "ENABLED" } else { "DISABLED" },
        "Target": target,
    });
    let extra = [
        ("Description", r.description.clone().map(Value::from)),
        ("KmsKeyArn", r.kms_key_arn.clone().map(Value::from)),
        ("StartDate", r.start_ms.map(epoch)),
        ("EndDate", r.end_ms.map(epoch)),
    ];
    for (k, v) in extra {
        if let (Some(v), Some(map)) = (v, out.as_object_mut()) {
            map.insert(k.to_owned(), v);
        }
    }
    out
}

/// One page of `items` (sorted by their token) after `token`.
fn page<T>(items: Vec<(String, T)>, filter: &ListFilter) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<(String, T)> =
        items.into_iter().filter(|(k, _)| filter.next_token.as_ref().is_none_or(|t| k > t)).collect();
    let more = rest.len() > filter.max_results;
    rest.truncate(filter.max_results);
    let token = if more { rest.last().map(|(k, _)| k.clone()) } else { None };
    (rest.into_iter().map(|(_, v)| v).collect(), token)
}

pub fn list(svc: &Inner, ctx: &RequestContext, filter: &ListFilter) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if let Some(g) = &filter.group
        && !group_exists(svc, scope, g)?
    {
        return Err(Error::no_group(g));
    }
    let prefix = model::schedules_prefix(scope, filter.group.as_deref());
    let mut items = Vec::new();
    for (key, raw) in svc.kv.scan_all(SCHEDULES, KeyRange::prefix(prefix.clone()))? {
        let r: ScheduleRecord = model::decode(&raw)?;
        if filter.name_prefix.as_ref().is_some_and(|p| !r.name.starts_with(p.as_str()))
            || filter.enabled.is_some_and(|e| e != r.enabled)
        {
            continue;
        }
        let token = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
        let summary = json!({
            "Arn": r.arn(scope),
            "CreationDate": epoch(r.created_ms),
            "GroupName": r.group,
            "LastModificationDate": epoch(r.modified_ms),
            "Name": r.name,
            "State": if r.enabled { "ENABLED" } else { "DISABLED" },
            "Target": { "Arn": r.target.arn },
        });
        items.push((token, summary));
    }
    let (schedules, token) = page(items, filter);
    let mut out = json!({ "Schedules": schedules });
    if let (Some(t), Some(map)) = (token, out.as_object_mut()) {
        map.insert("NextToken".to_owned(), Value::from(t));
    }
    ok(ctx, &out)
}

fn load_group(svc: &Inner, scope: &Scope, name: &str) -> Result<Option<GroupRecord>, Error> {
    match svc.kv.get(GROUPS, &model::group_key(scope, name))? {
        Some(raw) => model::decode(&raw).map(Some),
        None if name == DEFAULT_GROUP => {
            Ok(Some(GroupRecord { name: name.to_owned(), ..GroupRecord::default() }))
        }
        None => Ok(None),
    }
}

fn render_group(scope: &Scope, g: &GroupRecord) -> Value {
    let mut out = json!({ "Arn": model::group_arn(scope, &g.name), "Name": g.name, "State": "ACTIVE" });
    // The default group was never created by anyone, so it shows no dates.
    if g.created_ms > 0
        && let Some(map) = out.as_object_mut()
    {
        map.insert("CreationDate".to_owned(), epoch(g.created_ms));
        map.insert("LastModificationDate".to_owned(), epoch(g.modified_ms));
    }
    out
}

fn tag_map(tags: Vec<Tag>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 {
            return Err(Error::constraint(
                "tags.member.key",
                &tag.key,
                "Member must have length between 1 and 128",
            ));
        }
        if tag.value.is_empty() || tag.value.chars().count() > 256 {
            return Err(Error::constraint(
                "tags.member.value",
                &tag.value,
                "Member must have length between 1 and 256",
            ));
        }
        out.insert(tag.key, tag.value);
    }
    Ok(out)
}

pub fn create_group(
    svc: &Inner,
    ctx: &RequestContext,
    name: &str,
    tags: Vec<Tag>,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let tags = tag_map(tags)?;
    let _writes = lock(&svc.writes);
    if group_exists(svc, scope, name)? {
        return Err(Error::ConflictException(format!("Schedule group {name} already exists.")));
    }
    let now = svc.now_ms();
    let record =
        GroupRecord { v: model::schema(), name: name.to_owned(), created_ms: now, modified_ms: now, tags };
    svc.kv.put(GROUPS, &model::group_key(scope, name), &model::encode(&record))?;
    ok(ctx, &json!({ "ScheduleGroupArn": model::group_arn(scope, name) }))
}

pub fn get_group(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let g = load_group(svc, &ctx.scope, name)?.ok_or_else(|| Error::no_group(name))?;
    ok(ctx, &render_group(&ctx.scope, &g))
}

/// Deletes a group and every schedule in it, in one batch (AWS shows the group DELETING for a
/// while; here the deletion is done when the call returns).
pub fn delete_group(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if name == DEFAULT_GROUP {
        return Err(Error::validation("The default schedule group cannot be deleted."));
    }
    let _writes = lock(&svc.writes);
    if !group_exists(svc, scope, name)? {
        return Err(Error::no_group(name));
    }
    let mut batch = Batch::new().delete(GROUPS, model::group_key(scope, name));
    for (_, raw) in
        svc.kv.scan_all(SCHEDULES, KeyRange::prefix(model::schedules_prefix(scope, Some(name))))?
    {
        let record: ScheduleRecord = model::decode(&raw)?;
        batch = removal(scope, &record, batch);
    }
    svc.kv.commit(batch)?;
    ok(ctx, &json!({}))
}

pub fn list_groups(svc: &Inner, ctx: &RequestContext, filter: &ListFilter) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let prefix = model::schedules_prefix(scope, None);
    let mut groups: BTreeMap<String, GroupRecord> = BTreeMap::new();
    groups.insert(
        DEFAULT_GROUP.to_owned(),
        GroupRecord { name: DEFAULT_GROUP.to_owned(), ..GroupRecord::default() },
    );
    for (_, raw) in svc.kv.scan_all(GROUPS, KeyRange::prefix(prefix))? {
        let g: GroupRecord = model::decode(&raw)?;
        groups.insert(g.name.clone(), g);
    }
    let items = groups
        .into_values()
        .filter(|g| filter.name_prefix.as_ref().is_none_or(|p| g.name.starts_with(p.as_str())))
        .map(|g| (g.name.clone(), render_group(scope, &g)))
        .collect();
    let (list, token) = page(items, filter);
    let mut out = json!({ "ScheduleGroups": list });
    if let (Some(t), Some(map)) = (token, out.as_object_mut()) {
        map.insert("NextToken".to_owned(), Value::from(t));
    }
    ok(ctx, &out)
}

pub enum TagChange {
    Add(Vec<Tag>),
    Remove(Vec<String>),
    List,
}

/// TagResource, UntagResource and ListTagsForResource: tags live on schedule groups.
pub fn tags(svc: &Inner, ctx: &RequestContext, arn: &str, change: TagChange) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let prefix = format!("arn:aws:scheduler:{}:{}:schedule-group/", scope.region, scope.account);
    let Some(name) = arn.strip_prefix(&prefix) else {
        if arn.contains(":schedule-group/") {
            return Err(Error::ResourceNotFoundException(format!("Resource {arn} does not exist.")));
        }
        return Err(Error::constraint(
            "resourceArn",
            arn,
            r"Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)?:scheduler:[a-z0-9\-]+:\d{12}:schedule-group\/[0-9a-zA-Z-_.]+$",
        ));
    };
    crate::operation::check_name("resourceArn", name)?;
    let _writes = lock(&svc.writes);
    let mut group = load_group(svc, scope, name)?.ok_or_else(|| Error::no_group(name))?;
    match change {
        TagChange::List => {
            let tags: Vec<Value> = group.tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect();
            return ok(ctx, &json!({ "Tags": tags }));
        }
        TagChange::Add(tags) => group.tags.extend(tag_map(tags)?),
        TagChange::Remove(keys) => {
            for k in keys {
                group.tags.remove(&k);
            }
        }
    }
    group.v = model::schema();
    svc.kv.put(GROUPS, &model::group_key(scope, name), &model::encode(&group))?;
    ok(ctx, &json!({}))
}
