//! Topics: create (idempotent with the same attributes and tags), delete, list, attributes
//! (stored ones and the ones SNS computes), and tags.

use std::collections::BTreeMap;
use std::sync::Arc;

use protocol::{RequestContext, Response};
use storage::Batch;

use crate::error::{Error, invalid};
use crate::model::{self, TopicRecord};
use crate::{Inner, Topic, lock, respond, write_map};

/// Topics per ListTopics page, as SNS pages them.
const PAGE: usize = 100;
/// Tags per topic.
const MAX_TAGS: usize = 50;

/// The attributes CreateTopic and SetTopicAttributes accept (FifoTopic only at creation).
const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "DisplayName",
    "Policy",
    "KmsMasterKeyId",
    "SignatureVersion",
    "TracingConfig",
    "ContentBasedDeduplication",
    "FifoThroughputScope",
    "ArchivePolicy",
    "DataProtectionPolicy",
    "ApplicationSuccessFeedbackRoleArn",
    "ApplicationSuccessFeedbackSampleRate",
    "ApplicationFailureFeedbackRoleArn",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPSuccessFeedbackSampleRate",
    "HTTPFailureFeedbackRoleArn",
    "LambdaSuccessFeedbackRoleArn",
    "LambdaSuccessFeedbackSampleRate",
    "LambdaFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSSuccessFeedbackSampleRate",
    "SQSFailureFeedbackRoleArn",
    "FirehoseSuccessFeedbackRoleArn",
    "FirehoseSuccessFeedbackSampleRate",
    "FirehoseFailureFeedbackRoleArn",
];

const FIFO_NAME: &str = "Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.";

/// Letters, digits, `-` and `_`, 1 to 256 characters (FIFO names count their `.fifo`).
fn valid_name(name: &str, fifo: bool) -> bool {
    let stem = if fifo {
        match name.strip_suffix(".fifo") {
            Some(stem) => stem,
            None => return false,
        }
    } else {
        name
    };
    !stem.is_empty()
        && name.len() <= 256
        && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn create(
    inner: &Inner,
    ctx: &RequestContext,
    name: &str,
    mut attributes: BTreeMap<String, String>,
    tags: Vec<(String, String)>,
) -> Result<Response, Error> {
    for key in attributes.keys() {
        if key != "FifoTopic" && !SETTABLE.contains(&key.as_str()) {
            return Err(invalid("AttributeName"));
        }
    }
    let fifo = attributes.get("FifoTopic").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !fifo {
        // SNS does not keep an explicit `FifoTopic=false`.
        attributes.remove("FifoTopic");
    }
    if fifo && !valid_name(name, true) {
        return Err(invalid(FIFO_NAME));
    }
    if !fifo && !valid_name(name, false) {
        return Err(invalid("Topic Name"));
    }
    if !fifo && attributes.contains_key("ContentBasedDeduplication") {
        return Err(invalid(
            "ContentBasedDeduplication Reason: Content based deduplication can only be set for FIFO topics",
        ));
    }
    let tags = tag_map(tags)?;
    let scope = &ctx.scope;
    let key = model::topic_key(scope, name);
    let arn = model::topic_arn(scope, name);
    let _w = lock(&inner.writes);
    if let Some(existing) = lock(&inner.topics).get(&key) {
        if attributes.iter().any(|(k, v)| existing.record.attributes.get(k) != Some(v)) {
            return Err(invalid("Attributes Reason: Topic already exists with different attributes"));
        }
        if tags.iter().any(|(k, v)| existing.record.tags.get(k) != Some(v)) {
            return Err(invalid("Tags Reason: Topic already exists with different tags"));
        }
        return Ok(respond(ctx, "CreateTopic", |w| w.leaf("TopicArn", &arn)));
    }
    if fifo {
        attributes.entry("ContentBasedDeduplication".to_owned()).or_insert_with(|| "false".to_owned());
    }
    let record = TopicRecord {
        v: 1,
        name: name.to_owned(),
        attributes,
        tags,
        created_ms: inner.now_ms(),
        deleted_subscriptions: 0,
    };
    inner.kv.put(model::TOPICS, &key, &model::encode(&record))?;
    lock(&inner.topics)
        .insert(key, Topic { scope: scope.clone(), record: Arc::new(record), subs: BTreeMap::new() });
    Ok(respond(ctx, "CreateTopic", |w| w.leaf("TopicArn", &arn)))
}

/// Deletes the topic and its subscriptions; deleting a topic that is not there succeeds, as on
/// AWS.
pub fn delete(inner: &Inner, ctx: &RequestContext, arn: &str) -> Result<Response, Error> {
    let topic = match inner.topic(arn) {
        Ok(t) => t,
        Err(Error::NotFound(_)) => return Ok(respond(ctx, "DeleteTopic", |_| {})),
        Err(e) => return Err(e),
    };
    let _w = lock(&inner.writes);
    let key = model::topic_key(&topic.scope, &topic.record.name);
    let mut batch = Batch::new().delete(model::TOPICS, key.clone());
    for id in topic.subs.keys() {
        batch =
            batch.delete(model::SUBSCRIPTIONS, model::subscription_key(&topic.scope, &topic.record.name, id));
    }
    inner.kv.commit(batch)?;
    lock(&inner.topics).remove(&key);
    Ok(respond(ctx, "DeleteTopic", |_| {}))
}

pub fn list(inner: &Inner, ctx: &RequestContext, next_token: Option<&str>) -> Result<Response, Error> {
    let mut arns: Vec<String> = lock(&inner.topics)
        .values()
        .filter(|t| t.scope == ctx.scope)
        .map(|t| t.record.name.clone())
        .collect();
    arns.sort();
    let (page, next) = paginate(arns, next_token, |n| n.clone());
    Ok(respond(ctx, "ListTopics", |w| {
        w.open("Topics");
        for name in &page {
            w.open("member");
            w.leaf("TopicArn", &model::topic_arn(&ctx.scope, name));
            w.close("member");
        }
        w.close("Topics");
        w.opt_leaf("NextToken", next.as_deref());
    }))
}

/// One page of `items` (sorted by `key`) after the token, and the token of the next page.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    token: Option<&str>,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = match token {
        Some(t) if !t.is_empty() => items.into_iter().filter(|i| key(i).as_str() > t).collect(),
        _ => items,
    };
    if rest.len() <= PAGE {
        return (rest, None);
    }
    rest.truncate(PAGE);
    let next = rest.last().map(&key);
    (rest, next)
}

pub fn get_attributes(inner: &Inner, ctx: &RequestContext, arn: &str) -> Result<Response, Error> {
    let topic = inner.topic(arn)?;
    let attributes = effective_attributes(&topic);
    Ok(respond(ctx, "GetTopicAttributes", |w| {
        write_map(w, "Attributes", attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }))
}

/// The stored attributes with the ones SNS computes or defaults.
fn effective_attributes(topic: &Topic) -> BTreeMap<String, String> {
    let arn = topic.arn();
    let account = topic.scope.account.as_str();
    let mut out = topic.record.attributes.clone();
    let confirmed = topic.subs.values().filter(|s| !s.record.pending).count();
    let pending = topic.subs.len() - confirmed;
    out.insert("TopicArn".into(), arn.clone());
    out.insert("Owner".into(), account.to_owned());
    out.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
    out.insert("SubscriptionsPending".into(), pending.to_string());
    out.insert("SubscriptionsDeleted".into(), topic.record.deleted_subscriptions.to_string());
    out.entry("DisplayName".into()).or_default();
    out.entry("Policy".into()).or_insert_with(|| default_policy(&arn, account));
    let effective = out.get("DeliveryPolicy").cloned().unwrap_or_else(|| DEFAULT_DELIVERY_POLICY.to_owned());
    out.insert("EffectiveDeliveryPolicy".into(), effective);
    out
}

/// The delivery policy SNS reports for a topic without one of its own.
const DEFAULT_DELIVERY_POLICY: &str = r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}"#;

/// The access policy SNS gives a new topic: the owner account may do everything.
fn default_policy(arn: &str, account: &str) -> String {
    serde_json::json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

pub fn set_attribute(
    inner: &Inner,
    ctx: &RequestContext,
    arn: &str,
    name: &str,
    value: String,
) -> Result<Response, Error> {
    let topic = inner.topic(arn)?;
    if !SETTABLE.contains(&name) {
        return Err(invalid("AttributeName"));
    }
    if name == "ContentBasedDeduplication" && !topic.record.fifo() {
        return Err(invalid(
            "ContentBasedDeduplication Reason: Content based deduplication can only be set for FIFO topics",
        ));
    }
    update(inner, &topic, |r| {
        if value.is_empty() && name != "DisplayName" {
            r.attributes.remove(name);
        } else {
            r.attributes.insert(name.to_owned(), value);
        }
        Ok(())
    })?;
    Ok(respond(ctx, "SetTopicAttributes", |_| {}))
}

/// AddPermission: a statement labelled `label` in the topic's policy (the default policy until
/// one is set), allowing the accounts' roots the actions (`SNS:` + action). Stored, not
/// enforced. The refusal texts were not verified against AWS.
pub fn add_permission(
    inner: &Inner,
    ctx: &RequestContext,
    arn: &str,
    label: &str,
    accounts: &[String],
    actions: &[String],
) -> Result<Response, Error> {
    let topic = inner.topic(arn)?;
    if accounts.is_empty() {
        return Err(invalid("AWSAccountId"));
    }
    if actions.is_empty() {
        return Err(invalid("ActionName"));
    }
    let account = topic.scope.account.as_str().to_owned();
    update(inner, &topic, |r| {
        let mut policy = policy_of(r, arn, &account);
        let mut statements = take_statements(&mut policy);
        if statements.iter().any(|s| s["Sid"] == label) {
            return Err(invalid("Statement already exists"));
        }
        statements.push(serde_json::json!({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": accounts.iter().map(|a| format!("arn:aws:iam::{a}:root")).collect::<Vec<_>>()},
            "Action": actions.iter().map(|a| format!("SNS:{a}")).collect::<Vec<_>>(),
            "Resource": arn,
        }));
        policy["Statement"] = serde_json::Value::Array(statements);
        r.attributes.insert("Policy".to_owned(), policy.to_string());
        Ok(())
    })?;
    Ok(respond(ctx, "AddPermission", |_| {}))
}

/// RemovePermission: the statement labelled `label` out of the topic's policy.
pub fn remove_permission(
    inner: &Inner,
    ctx: &RequestContext,
    arn: &str,
    label: &str,
) -> Result<Response, Error> {
    let topic = inner.topic(arn)?;
    let account = topic.scope.account.as_str().to_owned();
    update(inner, &topic, |r| {
        let mut policy = policy_of(r, arn, &account);
        let mut statements = take_statements(&mut policy);
        let before = statements.len();
        statements.retain(|s| s["Sid"] != label);
        if statements.len() == before {
            return Err(invalid("Statement does not exist"));
        }
        policy["Statement"] = serde_json::Value::Array(statements);
        r.attributes.insert("Policy".to_owned(), policy.to_string());
        Ok(())
    })?;
    Ok(respond(ctx, "RemovePermission", |_| {}))
}

/// The topic's policy document: the one set, else the default every topic starts with.
fn policy_of(r: &TopicRecord, arn: &str, account: &str) -> serde_json::Value {
    r.attributes
        .get("Policy")
        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::from_str(&default_policy(arn, account)).unwrap_or_default())
}

/// The policy's statements, taken out of it (a single statement object counts as a list of one).
fn take_statements(policy: &mut serde_json::Value) -> Vec<serde_json::Value> {
    match policy["Statement"].take() {
        serde_json::Value::Array(a) => a,
        single @ serde_json::Value::Object(_) => vec![single],
        _ => Vec::new(),
    }
}

/// Read-modify-write of a topic record through the cache.
pub(crate) fn update(
    inner: &Inner,
    topic: &Topic,
    change: impl FnOnce(&mut TopicRecord) -> Result<(), Error>,
) -> Result<(), Error> {
    let _w = lock(&inner.writes);
    let key = model::topic_key(&topic.scope, &topic.record.name);
    // Re-read under the lock: the handle may predate another write.
    let current =
        lock(&inner.topics).get(&key).map(|t| t.record.clone()).ok_or_else(crate::error::topic_not_found)?;
    let mut record = (*current).clone();
    change(&mut record)?;
    inner.kv.put(model::TOPICS, &key, &model::encode(&record))?;
    if let Some(t) = lock(&inner.topics).get_mut(&key) {
        t.record = Arc::new(record);
    }
    Ok(())
}

fn tag_map(tags: Vec<(String, String)>) -> Result<BTreeMap<String, String>, Error> {
    for (k, v) in &tags {
        if k.is_empty() || k.len() > 128 || v.len() > 256 {
            return Err(invalid("Tags"));
        }
    }
    let map: BTreeMap<String, String> = tags.into_iter().collect();
    if map.len() > MAX_TAGS {
        return Err(Error::TagLimitExceeded(
            "Could not complete request: tag quota of per resource exceeded".to_owned(),
        ));
    }
    Ok(map)
}

/// The topic a tagging call names; tags live on topics only.
fn tagged_topic(inner: &Inner, arn: &str) -> Result<Topic, Error> {
    inner.topic(arn).map_err(|e| match e {
        Error::NotFound(_) => Error::ResourceNotFound("Resource does not exist".to_owned()),
        other => other,
    })
}

pub fn tag(
    inner: &Inner,
    ctx: &RequestContext,
    arn: &str,
    tags: Vec<(String, String)>,
) -> Result<Response, Error> {
    let topic = tagged_topic(inner, arn)?;
    let tags = tag_map(tags)?;
    update(inner, &topic, |r| {
        r.tags.extend(tags);
        if r.tags.len() > MAX_TAGS {
            return Err(Error::TagLimitExceeded(
                "Could not complete request: tag quota of per resource exceeded".to_owned(),
            ));
        }
        Ok(())
    })?;
    Ok(respond(ctx, "TagResource", |_| {}))
}

pub fn untag(inner: &Inner, ctx: &RequestContext, arn: &str, keys: &[String]) -> Result<Response, Error> {
    let topic = tagged_topic(inner, arn)?;
    update(inner, &topic, |r| {
        for k in keys {
            r.tags.remove(k);
        }
        Ok(())
    })?;
    Ok(respond(ctx, "UntagResource", |_| {}))
}

pub fn list_tags(inner: &Inner, ctx: &RequestContext, arn: &str) -> Result<Response, Error> {
    let topic = tagged_topic(inner, arn)?;
    Ok(respond(ctx, "ListTagsForResource", |w| {
        w.open("Tags");
        for (k, v) in &topic.record.tags {
            w.open("member");
            w.leaf("Key", k);
            w.leaf("Value", v);
            w.close("member");
        }
        w.close("Tags");
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(valid_name("orders-2_b", false));
        assert!(!valid_name("orders.fifo", false));
        assert!(valid_name("orders.fifo", true));
        assert!(!valid_name("orders", true));
        assert!(!valid_name(".fifo", true));
        assert!(!valid_name("", false));
        assert!(!valid_name(&"a".repeat(257), false));
        assert!(valid_name(&"a".repeat(256), false));
    }

    #[test]
    fn pages_of_one_hundred() {
        let items: Vec<String> = (0..250).map(|i| format!("t{i:03}")).collect();
        let (p1, t1) = paginate(items.clone(), None, |s| s.clone());
        assert_eq!(p1.len(), 100);
        let (p2, t2) = paginate(items.clone(), t1.as_deref(), |s| s.clone());
        assert_eq!(p2[0], "t100");
        let (p3, t3) = paginate(items, t2.as_deref(), |s| s.clone());
        assert_eq!((p3.len(), t3), (50, None));
    }
}
