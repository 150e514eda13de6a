//! Subscriptions: Subscribe (idempotent per endpoint; SQS and Lambda confirmed at once, HTTP/S
//! pending until ConfirmSubscription with the token the endpoint received), Unsubscribe, the
//! lists, and subscription attributes with their validation.

use std::collections::BTreeMap;
use std::sync::Arc;

use event_pattern::{FilterPolicy, FilterPolicyError, FilterScope};
use protocol::xml::XmlWriter;
use protocol::{RequestContext, Response};
use storage::Batch;

use crate::error::{Error, invalid, subscription_not_found};
use crate::model::{self, SubscriptionRecord};
use crate::operation::Subscribe;
use crate::topics::{paginate, update};
use crate::{Inner, Sub, Topic, lock, publish, respond, write_map};

/// The protocols SNS knows; Nimbus delivers to the first four.
const SERVED: &[&str] = &["sqs", "lambda", "http", "https"];
const KNOWN_ONLY: &[&str] = &["email", "email-json", "sms", "application", "firehose"];

/// The subscription attributes a client may set.
const SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

/// What the attribute checks are for: Subscribe words its refusals `Attributes Reason: …`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Subscribe,
    Set,
}

impl Call {
    fn reason(self) -> &'static str {
        match self {
            Call::Subscribe => "Attributes Reason: ",
            Call::Set => "",
        }
    }
}

/// A record with its filter policy compiled; a stored policy always parsed when it was set.
pub(crate) fn compile(record: SubscriptionRecord) -> Sub {
    let scope =
        record.attributes.get("FilterPolicyScope").and_then(|s| FilterScope::parse(s)).unwrap_or_default();
    let filter = record.attributes.get("FilterPolicy").and_then(|p| FilterPolicy::parse(p, scope).ok());
    Sub { record, filter }
}

/// Checks one attribute against the subscription's protocol and its other attributes (the
/// scope a policy is read in), in SNS's words.
fn check_attribute(
    call: Call,
    protocol: &str,
    attributes: &BTreeMap<String, String>,
    name: &str,
    value: &str,
) -> Result<(), Error> {
    let reason = call.reason();
    match name {
        "RawMessageDelivery" => {
            if !value.eq_ignore_ascii_case("true") && !value.eq_ignore_ascii_case("false") {
                return Err(invalid(format!(
                    "{reason}RawMessageDelivery: Invalid value [{value}]. Must be true or false."
                )));
            }
            if value.eq_ignore_ascii_case("true")
                && !matches!(protocol, "sqs" | "http" | "https" | "firehose")
            {
                return Err(invalid(format!(
                    "{reason}Delivery protocol [{protocol}] does not support raw message delivery."
                )));
            }
        }
        "FilterPolicyScope" => {
            if FilterScope::parse(value).is_none() {
                return Err(invalid(format!(
                    "{reason}FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes"
                )));
            }
            if let Some(policy) = attributes.get("FilterPolicy") {
                check_policy(call, policy, value)?;
            }
        }
        "FilterPolicy" => {
            let scope = attributes.get("FilterPolicyScope").map_or("MessageAttributes", String::as_str);
            check_policy(call, value, scope)?;
        }
        "RedrivePolicy" if !value.is_empty() => {
            let parsed: Option<serde_json::Value> = serde_json::from_str(value).ok();
            let target = parsed.as_ref().and_then(|p| p.get("deadLetterTargetArn")).and_then(|t| t.as_str());
            match target {
                None => {
                    return Err(invalid(format!("{reason}RedrivePolicy: deadLetterTargetArn is required")));
                }
                Some(arn) if !arn.starts_with("arn:aws:sqs:") => {
                    return Err(invalid(format!(
                        "{reason}RedrivePolicy: deadLetterTargetArn is an invalid arn"
                    )));
                }
                Some(_) => {}
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_policy(call: Call, policy: &str, scope: &str) -> Result<(), Error> {
    if policy.is_empty() {
        return Ok(());
    }
    let scope = FilterScope::parse(scope).unwrap_or_default();
    FilterPolicy::parse(policy, scope).map(|_| ()).map_err(|e| match e {
        FilterPolicyError::Nested => invalid(e),
        other => invalid(format!("{}FilterPolicy: {other}", call.reason())),
    })
}

pub fn subscribe(inner: &Inner, ctx: &RequestContext, input: Subscribe) -> Result<Response, Error> {
    let topic = inner.topic(&input.topic_arn)?;
    let protocol = input.protocol.as_str();
    if KNOWN_ONLY.contains(&protocol) {
        return Err(Error::NotImplemented(format!("SNS subscriptions with protocol {protocol}")));
    }
    if !SERVED.contains(&protocol) {
        return Err(invalid(format!("Amazon SNS does not support this protocol string: {protocol}")));
    }
    let endpoint = input.endpoint.unwrap_or_default();
    match protocol {
        "http" | "https" if !endpoint.starts_with(&format!("{protocol}://")) => {
            return Err(invalid("Endpoint must match the specified protocol"));
        }
        "sqs" if !is_arn_of(&endpoint, "sqs") => return Err(invalid("SQS endpoint ARN")),
        "lambda" if !is_arn_of(&endpoint, "lambda") => return Err(invalid("Lambda endpoint ARN")),
        _ => {}
    }
    if protocol == "sqs" && endpoint.ends_with(".fifo") && !topic.record.fifo() {
        return Err(invalid(
            "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
        ));
    }
    let mut attributes = BTreeMap::new();
    for (name, value) in &input.attributes {
        if !SETTABLE.contains(&name.as_str()) {
            return Err(invalid("AttributeName"));
        }
        check_attribute(Call::Subscribe, protocol, &input.attributes, name, value)?;
        let value = if name == "RawMessageDelivery" { value.to_ascii_lowercase() } else { value.clone() };
        attributes.insert(name.clone(), value);
    }
    if attributes.get("FilterPolicy").is_some_and(String::is_empty) {
        attributes.remove("FilterPolicy");
    }

    let _w = lock(&inner.writes);
    let topic = inner.topic(&input.topic_arn)?;
    if let Some(existing) =
        topic.subs.values().find(|s| s.record.protocol == protocol && s.record.endpoint == endpoint)
    {
        if attributes.iter().any(|(k, v)| existing.record.attributes.get(k) != Some(v)) {
            return Err(invalid("Attributes Reason: Subscription already exists with different attributes"));
        }
        let arn = model::subscription_arn(&topic.scope, &topic.record.name, &existing.record.id);
        let shown = if existing.record.pending && !input.return_arn {
            "pending confirmation".to_owned()
        } else {
            arn
        };
        return Ok(respond(ctx, "Subscribe", |w| w.leaf("SubscriptionArn", &shown)));
    }
    let pending = matches!(protocol, "http" | "https");
    let id = uuid::Uuid::new_v4().to_string();
    let token = pending.then(|| {
        // SNS tokens are long hex strings; two random UUIDs make one no one can guess.
        format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
    });
    let now = inner.now_ms();
    let record = SubscriptionRecord {
        v: 1,
        id: id.clone(),
        topic: topic.record.name.clone(),
        protocol: protocol.to_owned(),
        endpoint,
        owner: ctx.scope.account.as_str().to_owned(),
        attributes,
        pending,
        token: token.clone(),
        created_ms: now,
    };
    let arn = model::subscription_arn(&topic.scope, &topic.record.name, &id);
    let mut batch = Batch::new().put(
        model::SUBSCRIPTIONS,
        model::subscription_key(&topic.scope, &topic.record.name, &id),
        model::encode(&record),
    );
    if let Some(token) = &token {
        // The confirmation goes through the same durable queue as notifications.
        let delivery = publish::confirmation(inner, &topic, &record, &arn, token, now);
        batch =
            batch.put(model::DELIVERIES, model::delivery_key(now, delivery.seq), model::encode(&delivery));
    }
    inner.kv.commit(batch)?;
    install(inner, &topic, record);
    if token.is_some() {
        inner.worker.wake();
    }
    let shown = if pending && !input.return_arn { "pending confirmation".to_owned() } else { arn };
    Ok(respond(ctx, "Subscribe", |w| w.leaf("SubscriptionArn", &shown)))
}

fn is_arn_of(endpoint: &str, service: &str) -> bool {
    endpoint.parse::<types::Arn>().is_ok_and(|a| a.service == service && !a.resource.is_empty())
}

/// Puts a subscription record in its topic's cache entry.
fn install(inner: &Inner, topic: &Topic, record: SubscriptionRecord) {
    let key = model::topic_key(&topic.scope, &topic.record.name);
    if let Some(t) = lock(&inner.topics).get_mut(&key) {
        t.subs.insert(record.id.clone(), Arc::new(compile(record)));
    }
}

/// Writes a changed subscription record through the cache. Callers hold `writes`.
fn save(inner: &Inner, topic: &Topic, record: SubscriptionRecord) -> Result<(), Error> {
    inner.kv.put(
        model::SUBSCRIPTIONS,
        &model::subscription_key(&topic.scope, &topic.record.name, &record.id),
        &model::encode(&record),
    )?;
    install(inner, topic, record);
    Ok(())
}

/// ConfirmSubscription. It may come unsigned from whoever got the SubscribeURL, so the topic's
/// ARN (not the caller) says where the subscription lives.
pub fn confirm(inner: &Inner, ctx: &RequestContext, topic_arn: &str, token: &str) -> Result<Response, Error> {
    let _w = lock(&inner.writes);
    let topic = inner.topic(topic_arn).map_err(|e| match e {
        Error::InvalidParameter(_) => invalid("Topic"),
        other => other,
    })?;
    let sub = topic
        .subs
        .values()
        .find(|s| s.record.token.as_deref() == Some(token))
        .ok_or_else(|| invalid("Token"))?;
    let arn = model::subscription_arn(&topic.scope, &topic.record.name, &sub.record.id);
    if sub.record.pending {
        let mut record = sub.record.clone();
        record.pending = false;
        save(inner, &topic, record)?;
    }
    Ok(respond(ctx, "ConfirmSubscription", |w| w.leaf("SubscriptionArn", &arn)))
}

/// `arn:aws:sns:{region}:{account}:{topic}:{id}` → (topic ARN, id).
fn split_subscription_arn(arn: &str) -> Result<(String, String), Error> {
    let n = arn.split(':').count();
    if n < 6 {
        return Err(invalid(format!(
            "SubscriptionArn Reason: An ARN must have at least 6 elements, not {n}"
        )));
    }
    match arn.rsplit_once(':') {
        Some((topic, id)) if n == 7 && !id.is_empty() => Ok((topic.to_owned(), id.to_owned())),
        _ => Err(invalid("SubscriptionId")),
    }
}

/// The subscription an ARN names, with its topic.
fn find(inner: &Inner, arn: &str) -> Result<(Topic, Arc<Sub>), Error> {
    let (topic_arn, id) = split_subscription_arn(arn)?;
    let topic = inner.topic(&topic_arn).map_err(|e| match e {
        Error::NotFound(_) => subscription_not_found(),
        other => other,
    })?;
    let sub = topic.subs.get(&id).cloned().ok_or_else(subscription_not_found)?;
    Ok((topic, sub))
}

/// Unsubscribe; a subscription that is not (or no longer) there is not an error.
pub fn unsubscribe(inner: &Inner, ctx: &RequestContext, arn: &str) -> Result<Response, Error> {
    let (topic, sub) = match find(inner, arn) {
        Ok(found) => found,
        Err(Error::NotFound(_)) => return Ok(respond(ctx, "Unsubscribe", |_| {})),
        Err(e) => return Err(e),
    };
    inner.kv.delete(
        model::SUBSCRIPTIONS,
        &model::subscription_key(&topic.scope, &topic.record.name, &sub.record.id),
    )?;
    {
        let key = model::topic_key(&topic.scope, &topic.record.name);
        if let Some(t) = lock(&inner.topics).get_mut(&key) {
            t.subs.remove(&sub.record.id);
        }
    }
    update(inner, &topic, |r| {
        r.deleted_subscriptions += 1;
        Ok(())
    })?;
    Ok(respond(ctx, "Unsubscribe", |_| {}))
}

/// ListSubscriptions (every topic of the caller's account and region) or
/// ListSubscriptionsByTopic, 100 per page.
pub fn list(
    inner: &Inner,
    ctx: &RequestContext,
    topic_arn: Option<&str>,
    next_token: Option<&str>,
) -> Result<Response, Error> {
    let topics: Vec<Topic> = match topic_arn {
        Some(arn) => vec![inner.topic(arn)?],
        None => lock(&inner.topics).values().filter(|t| t.scope == ctx.scope).cloned().collect(),
    };
    let mut rows: Vec<(String, Arc<Sub>, Topic)> = Vec::new();
    for t in &topics {
        for (id, sub) in &t.subs {
            rows.push((format!("{}/{id}", t.record.name), sub.clone(), t.clone()));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, next) = paginate(rows, next_token, |r| r.0.clone());
    let action = if topic_arn.is_some() { "ListSubscriptionsByTopic" } else { "ListSubscriptions" };
    Ok(respond(ctx, action, |w| {
        w.open("Subscriptions");
        for (_, sub, topic) in &page {
            let r = &sub.record;
            w.open("member");
            w.leaf("TopicArn", &topic.arn());
            w.leaf("Protocol", &r.protocol);
            let arn = if r.pending {
                "PendingConfirmation".to_owned()
            } else {
                model::subscription_arn(&topic.scope, &r.topic, &r.id)
            };
            w.leaf("SubscriptionArn", &arn);
            w.leaf("Owner", &r.owner);
            w.leaf("Endpoint", &r.endpoint);
            w.close("member");
        }
        w.close("Subscriptions");
        w.opt_leaf("NextToken", next.as_deref());
    }))
}

pub fn get_attributes(inner: &Inner, ctx: &RequestContext, arn: &str) -> Result<Response, Error> {
    let (topic, sub) = find(inner, arn)?;
    let r = &sub.record;
    let mut attrs: BTreeMap<String, String> = r.attributes.clone();
    attrs.insert("SubscriptionArn".into(), model::subscription_arn(&topic.scope, &r.topic, &r.id));
    attrs.insert("TopicArn".into(), topic.arn());
    attrs.insert("Owner".into(), r.owner.clone());
    attrs.insert("Protocol".into(), r.protocol.clone());
    attrs.insert("Endpoint".into(), r.endpoint.clone());
    attrs.insert("PendingConfirmation".into(), r.pending.to_string());
    attrs.insert("ConfirmationWasAuthenticated".into(), (!r.pending).to_string());
    attrs.entry("RawMessageDelivery".into()).or_insert_with(|| "false".to_owned());
    if attrs.contains_key("FilterPolicy") {
        attrs.entry("FilterPolicyScope".into()).or_insert_with(|| "MessageAttributes".to_owned());
    } else {
        attrs.remove("FilterPolicyScope");
    }
    Ok(respond(ctx, "GetSubscriptionAttributes", |w: &mut XmlWriter| {
        write_map(w, "Attributes", attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }))
}

pub fn set_attribute(
    inner: &Inner,
    ctx: &RequestContext,
    arn: &str,
    name: &str,
    value: &str,
) -> Result<Response, Error> {
    let (topic, sub) = find(inner, arn)?;
    if !SETTABLE.contains(&name) {
        return Err(invalid("AttributeName"));
    }
    check_attribute(Call::Set, &sub.record.protocol, &sub.record.attributes, name, value)?;
    let _w = lock(&inner.writes);
    let (topic, sub) =
        find(inner, &model::subscription_arn(&topic.scope, &topic.record.name, &sub.record.id))?;
    let mut record = sub.record.clone();
    if value.is_empty() {
        record.attributes.remove(name);
    } else if name == "RawMessageDelivery" {
        record.attributes.insert(name.to_owned(), value.to_ascii_lowercase());
    } else {
        record.attributes.insert(name.to_owned(), value.to_owned());
    }
    save(inner, &topic, record)?;
    Ok(respond(ctx, "SetSubscriptionAttributes", |_| {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_arns() {
        assert_eq!(
            split_subscription_arn("arn:aws:sns:us-east-1:000000000000:t:abc").expect("valid"),
            ("arn:aws:sns:us-east-1:000000000000:t".to_owned(), "abc".to_owned())
        );
        assert_eq!(
            split_subscription_arn("nope").map_err(|e| e.to_string()),
            Err("Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, not 1"
                .to_owned())
        );
        assert_eq!(
            split_subscription_arn("arn:aws:sns:us-east-1:000000000000:t").map_err(|e| e.to_string()),
            Err("Invalid parameter: SubscriptionId".to_owned())
        );
    }

    #[test]
    fn attribute_refusals_in_sns_words() {
        let none = BTreeMap::new();
        let msg = |call, protocol, name, value| {
            check_attribute(call, protocol, &none, name, value).map_err(|e| e.to_string()).err()
        };
        assert_eq!(
            msg(Call::Subscribe, "lambda", "RawMessageDelivery", "true").as_deref(),
            Some(
                "Invalid parameter: Attributes Reason: Delivery protocol [lambda] does not support raw message delivery."
            )
        );
        assert_eq!(msg(Call::Set, "sqs", "RawMessageDelivery", "TRUE"), None);
        assert_eq!(
            msg(Call::Set, "sqs", "FilterPolicyScope", "RandomValue").as_deref(),
            Some(
                "Invalid parameter: FilterPolicyScope: Invalid value [RandomValue]. Please use either MessageBody or MessageAttributes"
            )
        );
        assert_eq!(
            msg(Call::Subscribe, "sqs", "FilterPolicy", r#"{"key":[{"wrong-operator":true}]}"#).as_deref(),
            Some(
                "Invalid parameter: Attributes Reason: FilterPolicy: Unrecognized match type wrong-operator"
            )
        );
        assert_eq!(
            msg(Call::Set, "sqs", "FilterPolicy", r#"{"a":{"b":["c"]}}"#).as_deref(),
            Some(
                "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
            )
        );
    }
}
