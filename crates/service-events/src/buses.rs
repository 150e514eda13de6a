//! Event buses (CreateEventBus, DescribeEventBus, ListEventBuses, DeleteEventBus), their
//! resource policies (PutPermission, RemovePermission) and the tags of buses and rules.
//! `default` exists in every account and region without a record; it gets one only when it is
//! tagged or given a policy.

use std::collections::BTreeMap;

use protocol::{RequestContext, Response};
use serde_json::{Value, json};
use storage::{Batch, KeyRange};
use types::Scope;

use crate::error::Error;
use crate::model::{self, BUSES, BusRecord, DEFAULT_BUS, RULES, SCHEMA_VERSION};
use crate::operation::{Page, Tag, tag_map};
use crate::{Inner, epoch_seconds, lock, ok};

pub fn bus_not_found(name: &str) -> Error {
    Error::ResourceNotFoundException(format!("Event bus {name} does not exist."))
}

pub fn create(
    svc: &Inner,
    ctx: &RequestContext,
    name: &str,
    description: Option<String>,
    tags: Vec<Tag>,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    if svc.bus_exists(scope, name)? {
        return Err(Error::ResourceAlreadyExistsException(format!("Event bus {name} already exists.")));
    }
    let record = BusRecord {
        v: SCHEMA_VERSION,
        name: name.to_owned(),
        description,
        created_ms: svc.now_ms(),
        tags: tag_map(tags),
        policy: None,
    };
    svc.kv.put(BUSES, &model::bus_key(scope, name), &model::encode(&record))?;
    ok(ctx, &json!({ "EventBusArn": model::bus_arn(scope, name) }))
}

fn load(svc: &Inner, scope: &Scope, name: &str) -> Result<Option<BusRecord>, Error> {
    match svc.kv.get(BUSES, &model::bus_key(scope, name))? {
        Some(raw) => Ok(Some(model::decode(&raw)?)),
        None if name == DEFAULT_BUS => Ok(Some(BusRecord {
            v: SCHEMA_VERSION,
            name: DEFAULT_BUS.to_owned(),
            description: None,
            created_ms: 0,
            tags: BTreeMap::new(),
            policy: None,
        })),
        None => Ok(None),
    }
}

fn render(scope: &Scope, bus: &BusRecord) -> Value {
    let mut out = json!({ "Name": bus.name, "Arn": model::bus_arn(scope, &bus.name) });
    if let Some(d) = &bus.description {
        out["Description"] = json!(d);
    }
    if let Some(policy) = &bus.policy {
        out["Policy"] = json!(policy);
    }
    if bus.created_ms > 0 {
        out["CreationTime"] = epoch_seconds(bus.created_ms);
        out["LastModifiedTime"] = epoch_seconds(bus.created_ms);
    }
    out
}

pub fn describe(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let bus = load(svc, &ctx.scope, name)?.ok_or_else(|| bus_not_found(name))?;
    ok(ctx, &render(&ctx.scope, &bus))
}

pub fn list(svc: &Inner, ctx: &RequestContext, prefix: Option<&str>, page: &Page) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let mut all: Vec<BusRecord> = Vec::new();
    if let Some(d) = load(svc, scope, DEFAULT_BUS)? {
        all.push(d);
    }
    for (_, raw) in svc.kv.scan(BUSES, KeyRange::prefix(model::bus_key(scope, "")), usize::MAX)? {
        let bus: BusRecord = model::decode(&raw)?;
        if bus.name != DEFAULT_BUS {
            all.push(bus);
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let selected = all.iter().filter(|b| prefix.is_none_or(|p| b.name.starts_with(p)));
    let (items, next) = paginate(selected, page, |b| b.name.as_str());
    ok(ctx, &paged("EventBuses", items.into_iter().map(|b| render(scope, b)).collect(), next))
}

/// Deleting a bus takes its rules (and their targets) with it; a bus that is not there is not an
/// error, as on AWS.
pub fn delete(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if name == DEFAULT_BUS {
        return Err(Error::validation("Cannot delete event bus default."));
    }
    let _w = lock(&svc.writes);
    let rules = svc.rules_of(scope, name);
    let mut batch = Batch::new().delete(BUSES, model::bus_key(scope, name));
    for r in &rules {
        batch = batch.delete(RULES, model::rule_key(scope, name, &r.name));
    }
    svc.kv.commit(batch)?;
    let names: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    svc.forget_rules(scope, name, &names);
    ok(ctx, &json!({}))
}

/// One page of `items` (sorted by `key`), after the token; the token is the last key returned.
pub fn paginate<'a, T>(
    items: impl Iterator<Item = &'a T>,
    page: &Page,
    key: impl Fn(&T) -> &str,
) -> (Vec<&'a T>, Option<String>)
where
    T: 'a,
{
    let limit = page.limit.unwrap_or(100);
    let mut out: Vec<&T> =
        items.filter(|i| page.next_token.as_deref().is_none_or(|t| key(i) > t)).take(limit + 1).collect();
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|i| key(i).to_owned())
    } else {
        None
    };
    (out, next)
}

/// A list response: the items under `member`, and `NextToken` when there are more.
pub fn paged(member: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = json!({ member: items });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    out
}

#[derive(Debug)]
pub enum TagChange {
    Add(Vec<Tag>),
    Remove(Vec<String>),
    List,
}

/// What a resource ARN names in this scope: a bus, or a rule on a bus.
enum Resource {
    Bus(String),
    Rule { bus: String, name: String },
}

fn resource(scope: &Scope, arn: &str) -> Option<Resource> {
    let prefix = format!("arn:aws:events:{}:{}:", scope.region, scope.account);
    let rest = arn.strip_prefix(&prefix)?;
    if let Some(bus) = rest.strip_prefix("event-bus/") {
        return Some(Resource::Bus(bus.to_owned()));
    }
    let rule = rest.strip_prefix("rule/")?;
    Some(match rule.rsplit_once('/') {
        Some((bus, name)) => Resource::Rule { bus: bus.to_owned(), name: name.to_owned() },
        None => Resource::Rule { bus: DEFAULT_BUS.to_owned(), name: rule.to_owned() },
    })
}

fn apply(tags: &mut BTreeMap<String, String>, change: TagChange) {
    match change {
        TagChange::Add(new) => tags.extend(tag_map(new)),
        TagChange::Remove(keys) => tags.retain(|k, _| !keys.contains(k)),
        TagChange::List => {}
    }
}

fn tags_response(
    ctx: &RequestContext,
    tags: &BTreeMap<String, String>,
    listing: bool,
) -> Result<Response, Error> {
    if !listing {
        return ok(ctx, &json!({}));
    }
    let list: Vec<Value> = tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect();
    ok(ctx, &json!({ "Tags": list }))
}

/// TagResource, UntagResource and ListTagsForResource on a bus or a rule.
pub fn tags(
    svc: &Inner,
    ctx: &RequestContext,
    scope: &Scope,
    arn: &str,
    change: TagChange,
) -> Result<Response, Error> {
    let listing = matches!(change, TagChange::List);
    let _w = lock(&svc.writes);
    match resource(scope, arn) {
        Some(Resource::Bus(name)) => {
            let mut bus = load(svc, scope, &name)?.ok_or_else(|| bus_not_found(&name))?;
            if !listing {
                apply(&mut bus.tags, change);
                svc.kv.put(BUSES, &model::bus_key(scope, &name), &model::encode(&bus))?;
            }
            tags_response(ctx, &bus.tags, listing)
        }
        Some(Resource::Rule { bus, name }) => {
            let rule =
                svc.rule(scope, &bus, &name).ok_or_else(|| crate::rules::rule_not_found(&bus, &name))?;
            if listing {
                return tags_response(ctx, &rule.tags, true);
            }
            let mut record = (*rule).clone();
            apply(&mut record.tags, change);
            svc.save_rule(scope, record)?;
            tags_response(ctx, &BTreeMap::new(), false)
        }
        None => Err(Error::ResourceNotFoundException(format!("Resource {arn} not found."))),
    }
}

/// What PutPermission adds: one statement, or a whole policy document.
#[derive(Debug)]
pub enum Permission {
    Statement { statement_id: String, principal: String, condition: Option<Value> },
    Policy(Value),
}

/// PutPermission: adds (or replaces, by statement id) a statement of the bus's resource policy,
/// or sets the whole policy.
pub fn put_permission(
    svc: &Inner,
    ctx: &RequestContext,
    bus: &str,
    permission: Permission,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let mut record = load(svc, scope, bus)?.ok_or_else(|| bus_not_found(bus))?;
    let policy = match permission {
        Permission::Policy(doc) => doc,
        Permission::Statement { statement_id, principal, condition } => {
            let mut doc = record
                .policy
                .as_deref()
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
            // An account id becomes its root principal; `*` stays as it is.
            let principal = if principal == "*" {
                json!("*")
            } else {
                json!({"AWS": format!("arn:aws:iam::{principal}:root")})
            };
            let mut statement = json!({
                "Sid": statement_id,
                "Effect": "Allow",
                "Principal": principal,
                "Action": "events:PutEvents",
                "Resource": model::bus_arn(scope, bus),
            });
            if let Some(c) = condition {
                let (t, k, v) =
                    (c["Type"].clone(), c["Key"].as_str().unwrap_or_default().to_owned(), c["Value"].clone());
                statement["Condition"] = json!({ t.as_str().unwrap_or("StringEquals"): { k: v } });
            }
            let statements = doc["Statement"]
                .as_array_mut()
                .ok_or_else(|| Error::validation("The event bus policy is not a valid policy document."))?;
            // The same statement id again replaces its statement.
            statements.retain(|s| s["Sid"] != statement["Sid"]);
            statements.push(statement);
            doc
        }
    };
    let policy = policy.to_string();
    // "The permission policy on the event bus cannot exceed 10 KB in size" (the API reference);
    // the message is ours, AWS's wording was not found.
    if policy.len() > POLICY_MAX_BYTES {
        return Err(Error::PolicyLengthExceededException(format!(
            "The policy of event bus {bus} would exceed {POLICY_MAX_BYTES} bytes."
        )));
    }
    record.policy = Some(policy);
    svc.kv.put(BUSES, &model::bus_key(scope, bus), &model::encode(&record))?;
    ok(ctx, &json!({}))
}

const POLICY_MAX_BYTES: usize = 10 * 1024;

/// RemovePermission: one statement by id, or the whole policy.
pub fn remove_permission(
    svc: &Inner,
    ctx: &RequestContext,
    bus: &str,
    statement_id: Option<&str>,
    all: bool,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let mut record = load(svc, scope, bus)?.ok_or_else(|| bus_not_found(bus))?;
    // Wording not verified against AWS.
    let not_found =
        || Error::ResourceNotFoundException("Statement with the provided id does not exist.".to_owned());
    if all {
        record.policy = None;
    } else {
        let id = statement_id.ok_or_else(not_found)?;
        let mut doc = record
            .policy
            .as_deref()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .ok_or_else(not_found)?;
        let statements = doc["Statement"].as_array_mut().ok_or_else(not_found)?;
        let before = statements.len();
        statements.retain(|s| s["Sid"] != id);
        if statements.len() == before {
            return Err(not_found());
        }
        // The last statement gone, the bus has no policy at all.
        record.policy = if statements.is_empty() { None } else { Some(doc.to_string()) };
    }
    svc.kv.put(BUSES, &model::bus_key(scope, bus), &model::encode(&record))?;
    ok(ctx, &json!({}))
}

/// Whether `account` may put events on `bus` of `scope`: its own account always may; another
/// only through an `Allow` statement of the bus's policy for `events:PutEvents` naming that
/// account's root (or `*`). Conditions on organisations never hold: Nimbus has none.
pub fn allows_put_events(svc: &Inner, scope: &Scope, bus: &str, account: &str) -> Result<bool, Error> {
    if scope.account.as_str() == account {
        return Ok(true);
    }
    let Some(record) = load(svc, scope, bus)? else { return Ok(false) };
    let Some(doc) = record.policy.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        return Ok(false);
    };
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    };
    let root = format!("arn:aws:iam::{account}:root");
    let names = |v: &Value, want: &dyn Fn(&str) -> bool| match v {
        Value::String(s) => want(s),
        Value::Array(a) => a.iter().any(|x| x.as_str().is_some_and(want)),
        _ => false,
    };
    Ok(statements.iter().any(|s| {
        s["Effect"] == "Allow"
            && s.get("Condition").is_none()
            && names(&s["Action"], &|a| a == "events:PutEvents" || a == "events:*")
            && (s["Principal"] == "*"
                || names(&s["Principal"]["AWS"], &|p| p == "*" || p == account || p == root))
    }))
}
