//! The queue control plane: CreateQueue (idempotent on identical attributes), GetQueueUrl,
//! ListQueues, DeleteQueue, Get/SetQueueAttributes with SQS's validation, PurgeQueue and tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value, json};
use storage::{Batch, KeyRange, UNLIMITED};
use types::Scope;

use crate::error::Error;
use crate::model::{self, IndexValue, MESSAGES, QUEUES, QueueRecord, SCHEMA_VERSION};
use crate::{Call, Inner, Queue, Shared, lock};

/// Defaults every new queue gets, as GetQueueAttributes reports them.
const DEFAULTS: &[(&str, &str)] = &[
    ("DelaySeconds", "0"),
    ("MaximumMessageSize", "262144"),
    ("MessageRetentionPeriod", "345600"),
    ("ReceiveMessageWaitTimeSeconds", "0"),
    ("VisibilityTimeout", "30"),
    ("SqsManagedSseEnabled", "true"),
];

/// Integer attributes and their allowed ranges.
const RANGES: &[(&str, i64, i64)] = &[
    ("DelaySeconds", 0, 900),
    ("MaximumMessageSize", 1024, 262_144),
    ("MessageRetentionPeriod", 60, 1_209_600),
    ("ReceiveMessageWaitTimeSeconds", 0, 20),
    ("VisibilityTimeout", 0, 43_200),
    ("KmsDataKeyReusePeriodSeconds", 60, 86_400),
];

/// Attributes only FIFO queues have.
const FIFO_ONLY: &[&str] =
    &["FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"];

/// Every attribute name GetQueueAttributes knows, in the order `All` lists them.
const READABLE: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "Policy",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
];

fn unknown_attribute(name: &str) -> Error {
    Error::InvalidAttributeName(format!("Unknown Attribute {name}."))
}

fn bad_value(name: &str) -> Error {
    Error::InvalidAttributeValue(format!("Invalid value for the parameter {name}."))
}

/// A queue name: 1–80 of `[A-Za-z0-9_-]`, plus `.fifo` for FIFO queues (counted in the 80).
fn validate_name(name: &str, fifo: bool) -> Result<(), Error> {
    let base = if fifo { name.strip_suffix(".fifo") } else { Some(name) };
    let ok = base.is_some_and(|b| {
        !b.is_empty()
            && name.len() <= 80
            && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    });
    match (ok, fifo) {
        (true, _) => Ok(()),
        (false, true) => Err(Error::InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.".to_owned(),
        )),
        (false, false) => Err(Error::InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length".to_owned(),
        )),
    }
}

/// Validates attributes as CreateQueue and SetQueueAttributes take them and returns them in the
/// form they are stored (integers normalised, booleans lowercase). `existing` is the queue being
/// changed (SetQueueAttributes), if any.
fn validate_attributes(
    inner: &Inner,
    scope: &Scope,
    fifo: bool,
    attrs: BTreeMap<String, String>,
    existing: Option<&QueueRecord>,
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (name, value) in attrs {
        let stored = if let Some((_, lo, hi)) = RANGES.iter().find(|r| r.0 == name) {
            let n: i64 = value.trim().parse().map_err(|_| bad_value(&name))?;
            if n < *lo || n > *hi {
                return Err(bad_value(&name));
            }
            n.to_string()
        } else {
            match name.as_str() {
                "Policy" => {
                    if !value.is_empty() && serde_json::from_str::<Value>(&value).is_err() {
                        return Err(bad_value(&name));
                    }
                    value
                }
                "KmsMasterKeyId" => value,
                "SqsManagedSseEnabled" => bool_text(&name, &value)?,
                "RedrivePolicy" => redrive_policy(inner, scope, fifo, &value)?,
                "RedriveAllowPolicy" => redrive_allow_policy(&value)?,
                "FifoQueue" if existing.is_some() => return Err(unknown_attribute(&name)),
                _ if FIFO_ONLY.contains(&name.as_str()) && !fifo => return Err(unknown_attribute(&name)),
                "FifoQueue" | "ContentBasedDeduplication" => bool_text(&name, &value)?,
                "DeduplicationScope" if value == "messageGroup" || value == "queue" => value,
                "FifoThroughputLimit" if value == "perQueue" || value == "perMessageGroupId" => value,
                "DeduplicationScope" | "FifoThroughputLimit" => return Err(bad_value(&name)),
                _ => return Err(unknown_attribute(&name)),
            }
        };
        out.insert(name, stored);
    }
    Ok(out)
}

fn bool_text(name: &str, value: &str) -> Result<String, Error> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok("true".to_owned()),
        "false" => Ok("false".to_owned()),
        _ => Err(bad_value(name)),
    }
}

fn invalid_policy(name: &str, value: &str, reason: &str) -> Error {
    Error::invalid_value(name, value, reason)
}

/// Checks a RedrivePolicy: `{"deadLetterTargetArn": arn, "maxReceiveCount": 1..=1000}` naming an
/// existing queue of the same type. The empty string removes the policy.
fn redrive_policy(inner: &Inner, scope: &Scope, fifo: bool, value: &str) -> Result<String, Error> {
    const NAME: &str = "RedrivePolicy";
    if value.is_empty() {
        return Ok(String::new());
    }
    let Ok(Value::Object(policy)) = serde_json::from_str::<Value>(value) else {
        return Err(invalid_policy(NAME, value, "Invalid value for the parameter RedrivePolicy"));
    };
    let count = policy.get("maxReceiveCount").and_then(|v| match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    });
    let arn = policy.get("deadLetterTargetArn").and_then(Value::as_str);
    let (Some(count), Some(arn)) = (count, arn) else {
        return Err(invalid_policy(
            NAME,
            value,
            "Redrive policy does not contain mandatory attribute: deadLetterTargetArn, maxReceiveCount",
        ));
    };
    if !(1..=1000).contains(&count) {
        return Err(invalid_policy(
            NAME,
            value,
            "Invalid value for maxReceiveCount: must be between 1 and 1000",
        ));
    }
    let target = inner
        .find_arn(arn)
        .filter(|q| q.scope.account == scope.account)
        .ok_or_else(|| invalid_policy(NAME, value, "Dead letter target does not exist"))?;
    if target.record.fifo() != fifo {
        return Err(invalid_policy(
            NAME,
            value,
            "Dead-letter queue must be same type of queue as the source.",
        ));
    }
    Ok(json!({"deadLetterTargetArn": arn, "maxReceiveCount": count}).to_string())
}

fn redrive_allow_policy(value: &str) -> Result<String, Error> {
    const NAME: &str = "RedriveAllowPolicy";
    if value.is_empty() {
        return Ok(String::new());
    }
    let permission = serde_json::from_str::<Value>(value)
        .ok()
        .and_then(|v| v.get("redrivePermission").and_then(Value::as_str).map(str::to_owned));
    match permission.as_deref() {
        Some("allowAll" | "denyAll" | "byQueue") => Ok(value.to_owned()),
        _ => Err(invalid_policy(NAME, value, "Invalid value for the parameter RedriveAllowPolicy")),
    }
}

pub fn create(
    inner: &Inner,
    call: &Call<'_>,
    name: &str,
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
) -> Result<Value, Error> {
    let scope = &call.ctx.scope;
    let fifo_named = name.ends_with(".fifo");
    let fifo_attr = attributes.get("FifoQueue").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if fifo_attr && !fifo_named {
        validate_name("", true)?;
    }
    validate_name(name, fifo_attr)?;
    let attributes = validate_attributes(inner, scope, fifo_attr, attributes, None)?;
    let _writes = lock(&inner.writes);
    if let Some(existing) = inner.find(scope, name) {
        for (attr, value) in &attributes {
            let current = existing.record.attributes.get(attr).map_or("", String::as_str);
            if current != value {
                return Err(Error::QueueNameExists(format!(
                    "A queue already exists with the same name and a different value for attribute {attr}"
                )));
            }
        }
        return Ok(json!({"QueueUrl": call.queue_url(inner, scope, name)}));
    }
    let now = inner.clock.now().unix_timestamp();
    let mut all: BTreeMap<String, String> =
        DEFAULTS.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    if fifo_attr {
        all.insert("ContentBasedDeduplication".to_owned(), "false".to_owned());
        all.insert("DeduplicationScope".to_owned(), "queue".to_owned());
        all.insert("FifoThroughputLimit".to_owned(), "perQueue".to_owned());
    }
    all.extend(attributes.into_iter().filter(|(_, v)| !v.is_empty()));
    let record = QueueRecord {
        v: SCHEMA_VERSION,
        name: name.to_owned(),
        attributes: all,
        tags,
        created: now,
        last_modified: now,
        last_purge_ms: None,
    };
    save(inner, scope, record, Arc::default())?;
    Ok(json!({"QueueUrl": call.queue_url(inner, scope, name)}))
}

/// Writes a queue record through the cache. Callers hold `writes`.
fn save(inner: &Inner, scope: &Scope, record: QueueRecord, shared: Arc<Shared>) -> Result<Queue, Error> {
    let key = model::queue_key(scope, &record.name);
    inner.kv.put(QUEUES, &key, &model::encode(&record))?;
    let queue = Queue { scope: scope.clone(), record: Arc::new(record), shared };
    lock(&inner.queues).insert(key, queue.clone());
    Ok(queue)
}

/// Applies `change` to the queue's current record and saves it.
fn update(inner: &Inner, queue: &Queue, change: impl FnOnce(&mut QueueRecord)) -> Result<Queue, Error> {
    let _writes = lock(&inner.writes);
    let current = inner.find(&queue.scope, &queue.record.name).ok_or(Error::QueueDoesNotExist)?;
    let mut record = (*current.record).clone();
    change(&mut record);
    save(inner, &queue.scope, record, current.shared.clone())
}

pub fn get_url(inner: &Inner, call: &Call<'_>, name: &str, owner: Option<&str>) -> Result<Value, Error> {
    let mut scope = call.ctx.scope.clone();
    if let Some(account) = owner.and_then(types::AccountId::parse) {
        scope.account = account;
    }
    inner.find(&scope, name).ok_or(Error::QueueDoesNotExist)?;
    Ok(json!({"QueueUrl": call.queue_url(inner, &scope, name)}))
}

pub fn list(
    inner: &Inner,
    call: &Call<'_>,
    prefix: Option<&str>,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<Value, Error> {
    let scope = &call.ctx.scope;
    let names: Vec<String> = lock(&inner.queues)
        .values()
        .filter(|q| &q.scope == scope)
        .map(|q| q.record.name.clone())
        .filter(|n| prefix.is_none_or(|p| n.starts_with(p)))
        .collect();
    page_of_urls(inner, call, names, "QueueUrls", max_results, next_token)
}

/// ListDeadLetterSourceQueues: the queues of the same account and region whose RedrivePolicy
/// names `dlq`, by name, paged as ListQueues pages.
pub fn dead_letter_sources(
    inner: &Inner,
    call: &Call<'_>,
    dlq: &Queue,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<Value, Error> {
    let arn = dlq.arn();
    let names: Vec<String> = lock(&inner.queues)
        .values()
        .filter(|q| q.scope == dlq.scope)
        .filter(|q| {
            q.record
                .attributes
                .get("RedrivePolicy")
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .is_some_and(|p| p.get("deadLetterTargetArn").and_then(Value::as_str) == Some(arn.as_str()))
        })
        .map(|q| q.record.name.clone())
        .collect();
    let mut out = page_of_urls(inner, call, names, "queueUrls", max_results, next_token)?;
    // A required member of this output: present, if empty.
    if let Value::Object(m) = &mut out {
        m.entry("queueUrls").or_insert_with(|| json!([]));
    }
    Ok(out)
}

/// One page of queue URLs, sorted by name; the token is the last name, base64.
fn page_of_urls(
    inner: &Inner,
    call: &Call<'_>,
    mut names: Vec<String>,
    member: &str,
    max_results: Option<i64>,
    next_token: Option<&str>,
) -> Result<Value, Error> {
    let scope = &call.ctx.scope;
    if let Some(n) = max_results
        && !(1..=1000).contains(&n)
    {
        return Err(Error::invalid_value(
            "MaxResults",
            n,
            "MaxResults must be an integer between 1 and 1000",
        ));
    }
    let after = match next_token {
        Some(token) => Some(
            base64::engine::general_purpose::STANDARD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| Error::InvalidParameterValue("Invalid NextToken value.".to_owned()))?,
        ),
        None => None,
    };
    names.retain(|n| after.as_deref().is_none_or(|a| n.as_str() > a));
    names.sort();
    let limit = usize::try_from(max_results.unwrap_or(1000)).unwrap_or(1000);
    let more = names.len() > limit && max_results.is_some();
    names.truncate(limit);
    let mut out = Map::new();
    if !names.is_empty() {
        let urls = names.iter().map(|n| Value::String(call.queue_url(inner, scope, n))).collect();
        out.insert(member.to_owned(), Value::Array(urls));
    }
    if more && let Some(last) = names.last() {
        out.insert("NextToken".to_owned(), json!(base64::engine::general_purpose::STANDARD.encode(last)));
    }
    Ok(Value::Object(out))
}

/// Deletes every message key (records, index, deduplication entries) of a queue, in chunks.
fn delete_messages(inner: &Inner, queue: &Queue) -> Result<(), Error> {
    let prefix = queue.prefix();
    loop {
        let keys = inner.kv.scan(MESSAGES, KeyRange::prefix(prefix.as_bytes()), 512)?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::new();
        for (key, _) in keys {
            batch = batch.delete(MESSAGES, key);
        }
        inner.kv.commit(batch)?;
    }
}

pub fn delete(inner: &Inner, queue: &Queue) -> Result<Value, Error> {
    {
        let _writes = lock(&inner.writes);
        let key = model::queue_key(&queue.scope, &queue.record.name);
        inner.kv.delete(QUEUES, &key)?;
        lock(&inner.queues).remove(&key);
    }
    let _receiving = lock(&queue.shared.lock);
    delete_messages(inner, queue)?;
    // Long polls on the queue wake up and find it gone.
    queue.shared.notify.notify_waiters();
    Ok(json!({}))
}

pub fn purge(inner: &Inner, queue: &Queue) -> Result<Value, Error> {
    let now = inner.now_ms();
    if let Some(last) = queue.record.last_purge_ms
        && now - last < 60_000
    {
        return Err(Error::PurgeQueueInProgress(format!(
            "Only one PurgeQueue operation on {} is allowed every 60 seconds.",
            queue.record.name
        )));
    }
    update(inner, queue, |r| r.last_purge_ms = Some(now))?;
    let _receiving = lock(&queue.shared.lock);
    // Deduplication ids outlive a purge on SQS; keep them.
    let prefix = queue.prefix();
    for sub in ["m/", "i/"] {
        loop {
            let keys = inner.kv.scan(MESSAGES, KeyRange::prefix(format!("{prefix}{sub}")), 512)?;
            if keys.is_empty() {
                break;
            }
            let mut batch = Batch::new();
            for (key, _) in keys {
                batch = batch.delete(MESSAGES, key);
            }
            inner.kv.commit(batch)?;
        }
    }
    Ok(json!({}))
}

/// The Approximate* counts: (visible, in flight, delayed), from the visibility index alone.
pub fn counts(inner: &Inner, queue: &Queue) -> Result<(u64, u64, u64), Error> {
    let now = inner.now_ms();
    let (mut visible, mut in_flight, mut delayed) = (0, 0, 0);
    let index = inner.kv.scan(MESSAGES, KeyRange::prefix(format!("{}i/", queue.prefix())), UNLIMITED)?;
    for (key, raw) in index {
        let Some((visible_at, _)) = model::parse_index_key(&key) else { continue };
        if visible_at <= now {
            visible += 1;
        } else if model::decode::<IndexValue>(&raw).is_ok_and(|v| v.f) {
            in_flight += 1;
        } else {
            delayed += 1;
        }
    }
    Ok((visible, in_flight, delayed))
}

pub fn get_attributes(inner: &Inner, queue: &Queue, names: &[String]) -> Result<Value, Error> {
    for name in names {
        if name != "All" && !READABLE.contains(&name.as_str()) {
            return Err(unknown_attribute(name));
        }
    }
    let all = names.iter().any(|n| n == "All");
    let wanted = |n: &str| all || names.iter().any(|w| w == n);
    let record = &queue.record;
    let mut out = Map::new();
    let counted = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ];
    let counts = if counted.iter().any(|n| wanted(n)) { Some(counts(inner, queue)?) } else { None };
    for name in READABLE.iter().copied().filter(|n| wanted(n)) {
        let value = match (name, counts) {
            ("QueueArn", _) => Some(queue.arn()),
            ("ApproximateNumberOfMessages", Some((v, _, _))) => Some(v.to_string()),
            ("ApproximateNumberOfMessagesNotVisible", Some((_, f, _))) => Some(f.to_string()),
            ("ApproximateNumberOfMessagesDelayed", Some((_, _, d))) => Some(d.to_string()),
            ("CreatedTimestamp", _) => Some(record.created.to_string()),
            ("LastModifiedTimestamp", _) => Some(record.last_modified.to_string()),
            (other, _) => record.attributes.get(other).cloned(),
        };
        if let Some(value) = value {
            out.insert(name.to_owned(), Value::String(value));
        }
    }
    if out.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"Attributes": out}))
}

pub fn set_attributes(inner: &Inner, queue: &Queue, attrs: BTreeMap<String, String>) -> Result<Value, Error> {
    let attrs = validate_attributes(inner, &queue.scope, queue.record.fifo(), attrs, Some(&queue.record))?;
    let now = inner.clock.now().unix_timestamp();
    update(inner, queue, |r| {
        for (name, value) in attrs {
            if value.is_empty() && matches!(name.as_str(), "RedrivePolicy" | "RedriveAllowPolicy" | "Policy")
            {
                r.attributes.remove(&name);
            } else {
                r.attributes.insert(name, value);
            }
        }
        r.last_modified = now;
    })?;
    // A shorter wait or delay may make messages receivable sooner.
    queue.shared.notify.notify_waiters();
    Ok(json!({}))
}

/// The actions AddPermission may grant (the model's list; `*` grants them all).
const GRANTABLE: &[&str] = &[
    "*",
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
];

/// AddPermission: a statement labelled `label` in the queue's `Policy` attribute, allowing the
/// accounts' roots the actions (`SQS:` + action) on the queue. Stored, not enforced.
pub fn add_permission(
    inner: &Inner,
    queue: &Queue,
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<Value, Error> {
    if accounts.is_empty() {
        return Err(Error::MissingParameter("AWSAccountIds".to_owned()));
    }
    if actions.is_empty() {
        return Err(Error::MissingParameter("Actions".to_owned()));
    }
    if label.is_empty()
        || label.len() > 80
        || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidParameterValue(format!(
            "Value {label} for parameter Label is invalid. Reason: Must match pattern [a-zA-Z0-9_-]{{1,80}}."
        )));
    }
    if let Some(bad) = actions.iter().find(|a| !GRANTABLE.contains(&a.as_str())) {
        return Err(Error::InvalidParameterValue(format!(
            "Value SQS:{bad} for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for a list of valid actions."
        )));
    }
    let mut policy = current_policy(queue);
    let mut statements = take_statements(&mut policy);
    if statements.iter().any(|s| s["Sid"] == label) {
        return Err(Error::InvalidParameterValue(format!(
            "Value {label} for parameter Label is invalid. Reason: Already exists."
        )));
    }
    let principals: Vec<Value> = accounts.iter().map(|a| json!(format!("arn:aws:iam::{a}:root"))).collect();
    let actions: Vec<Value> = actions.iter().map(|a| json!(format!("SQS:{a}"))).collect();
    statements.push(json!({
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": if principals.len() == 1 { principals[0].clone() } else { Value::Array(principals) }},
        "Action": if actions.len() == 1 { actions[0].clone() } else { Value::Array(actions) },
        "Resource": queue.arn(),
    }));
    policy["Statement"] = Value::Array(statements);
    let text = policy.to_string();
    update(inner, queue, |r| {
        r.attributes.insert("Policy".to_owned(), text);
    })?;
    Ok(json!({}))
}

/// RemovePermission: the statement labelled `label` out of the queue's `Policy`; the policy goes
/// with its last statement.
pub fn remove_permission(inner: &Inner, queue: &Queue, label: &str) -> Result<Value, Error> {
    let mut policy = current_policy(queue);
    let mut statements = take_statements(&mut policy);
    let before = statements.len();
    statements.retain(|s| s["Sid"] != label);
    if statements.len() == before {
        return Err(Error::InvalidParameterValue(format!(
            "Value {label} for parameter Label is invalid. Reason: can't find label on existing policy."
        )));
    }
    let empty = statements.is_empty();
    policy["Statement"] = Value::Array(statements);
    let text = policy.to_string();
    update(inner, queue, |r| {
        if empty {
            r.attributes.remove("Policy");
        } else {
            r.attributes.insert("Policy".to_owned(), text);
        }
    })?;
    Ok(json!({}))
}

fn current_policy(queue: &Queue) -> Value {
    queue
        .record
        .attributes
        .get("Policy")
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({"Version": "2012-10-17", "Id": format!("{}/SQSDefaultPolicy", queue.arn()), "Statement": []}))
}

/// The policy's statements, taken out of it (a single statement object counts as a list of one).
fn take_statements(policy: &mut Value) -> Vec<Value> {
    match policy["Statement"].take() {
        Value::Array(a) => a,
        single @ Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

pub fn tag(inner: &Inner, queue: &Queue, tags: BTreeMap<String, String>) -> Result<Value, Error> {
    if tags.is_empty() {
        return Err(Error::MissingParameter("Tags".to_owned()));
    }
    update(inner, queue, |r| r.tags.extend(tags))?;
    Ok(json!({}))
}

pub fn untag(inner: &Inner, queue: &Queue, keys: &[String]) -> Result<Value, Error> {
    if keys.is_empty() {
        return Err(Error::MissingParameter("TagKeys".to_owned()));
    }
    update(inner, queue, |r| r.tags.retain(|k, _| !keys.contains(k)))?;
    Ok(json!({}))
}

pub fn list_tags(queue: &Queue) -> Result<Value, Error> {
    if queue.record.tags.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({"Tags": queue.record.tags}))
}
