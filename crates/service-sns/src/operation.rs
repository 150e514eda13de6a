//! SNS query requests parsed into a closed [`Operation`]: every member read and typed before
//! anything touches the store. Parsing does no IO; checks that need a topic or a subscription
//! happen in the handlers.

use std::collections::BTreeMap;

use protocol::query::QueryParams;

use crate::error::{Error, invalid};

/// The actions of the SNS model that Nimbus does not serve: mobile push, SMS and data
/// protection. They answer `NotImplemented`, any other unknown action `InvalidAction`.
const NOT_IMPLEMENTED: &[&str] = &[
    "CheckIfPhoneNumberIsOptedOut",
    "CreatePlatformApplication",
    "CreatePlatformEndpoint",
    "CreateSMSSandboxPhoneNumber",
    "DeleteEndpoint",
    "DeletePlatformApplication",
    "DeleteSMSSandboxPhoneNumber",
    "GetDataProtectionPolicy",
    "GetEndpointAttributes",
    "GetPlatformApplicationAttributes",
    "GetSMSAttributes",
    "GetSMSSandboxAccountStatus",
    "ListEndpointsByPlatformApplication",
    "ListOriginationNumbers",
    "ListPhoneNumbersOptedOut",
    "ListPlatformApplications",
    "ListSMSSandboxPhoneNumbers",
    "OptInPhoneNumber",
    "PutDataProtectionPolicy",
    "SetEndpointAttributes",
    "SetPlatformApplicationAttributes",
    "SetSMSAttributes",
    "VerifySMSSandboxPhoneNumber",
];

/// The SNS operations Nimbus serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateTopic { name: String, attributes: BTreeMap<String, String>, tags: Vec<(String, String)> },
    DeleteTopic(String),
    ListTopics { next_token: Option<String> },
    GetTopicAttributes(String),
    SetTopicAttributes { topic_arn: String, name: String, value: String },
    AddPermission { topic_arn: String, label: String, accounts: Vec<String>, actions: Vec<String> },
    RemovePermission { topic_arn: String, label: String },
    Subscribe(Subscribe),
    ConfirmSubscription { topic_arn: String, token: String },
    Unsubscribe(String),
    ListSubscriptions { next_token: Option<String> },
    ListSubscriptionsByTopic { topic_arn: String, next_token: Option<String> },
    GetSubscriptionAttributes(String),
    SetSubscriptionAttributes { subscription_arn: String, name: String, value: String },
    Publish { topic_arn: String, message: Box<PublishMessage> },
    PublishBatch { topic_arn: String, entries: Vec<(String, PublishMessage)> },
    TagResource { arn: String, tags: Vec<(String, String)> },
    UntagResource { arn: String, keys: Vec<String> },
    ListTagsForResource(String),
    NotImplemented(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub return_arn: bool,
}

/// One message as Publish and each PublishBatch entry give it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublishMessage {
    pub message: String,
    pub subject: Option<String>,
    pub structure: Option<String>,
    pub attributes: Vec<MessageAttribute>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

/// A message attribute; binary values stay base64, as the query protocol carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageAttribute {
    pub name: String,
    pub data_type: String,
    pub value: String,
}

impl Operation {
    pub fn parse(p: &QueryParams) -> Result<Operation, Error> {
        let action = p.action()?;
        let s = |name: &str| p.required(name).map(str::to_owned).map_err(Error::from);
        let opt = |name: &str| p.get(name).map(str::to_owned);
        Ok(match action {
            "CreateTopic" => {
                Operation::CreateTopic { name: s("Name")?, attributes: map(p, "Attributes"), tags: tags(p)? }
            }
            "DeleteTopic" => Operation::DeleteTopic(s("TopicArn")?),
            "ListTopics" => Operation::ListTopics { next_token: opt("NextToken") },
            "GetTopicAttributes" => Operation::GetTopicAttributes(s("TopicArn")?),
            "SetTopicAttributes" => Operation::SetTopicAttributes {
                topic_arn: s("TopicArn")?,
                name: s("AttributeName")?,
                value: opt("AttributeValue").unwrap_or_default(),
            },
            "AddPermission" => Operation::AddPermission {
                topic_arn: s("TopicArn")?,
                label: s("Label")?,
                accounts: p.list("AWSAccountId").into_iter().map(str::to_owned).collect(),
                actions: p.list("ActionName").into_iter().map(str::to_owned).collect(),
            },
            "RemovePermission" => {
                Operation::RemovePermission { topic_arn: s("TopicArn")?, label: s("Label")? }
            }
            "Subscribe" => Operation::Subscribe(Subscribe {
                topic_arn: s("TopicArn")?,
                protocol: s("Protocol")?,
                endpoint: opt("Endpoint"),
                attributes: map(p, "Attributes"),
                return_arn: p.bool("ReturnSubscriptionArn")?.unwrap_or(false),
            }),
            "ConfirmSubscription" => {
                Operation::ConfirmSubscription { topic_arn: s("TopicArn")?, token: s("Token")? }
            }
            "Unsubscribe" => Operation::Unsubscribe(s("SubscriptionArn")?),
            "ListSubscriptions" => Operation::ListSubscriptions { next_token: opt("NextToken") },
            "ListSubscriptionsByTopic" => Operation::ListSubscriptionsByTopic {
                topic_arn: s("TopicArn")?,
                next_token: opt("NextToken"),
            },
            "GetSubscriptionAttributes" => Operation::GetSubscriptionAttributes(s("SubscriptionArn")?),
            "SetSubscriptionAttributes" => Operation::SetSubscriptionAttributes {
                subscription_arn: s("SubscriptionArn")?,
                name: s("AttributeName")?,
                value: opt("AttributeValue").unwrap_or_default(),
            },
            "Publish" => {
                let message = publish_message(p)?;
                if p.get("PhoneNumber").is_some() {
                    return Ok(Operation::NotImplemented("SNS Publish to a phone number".to_owned()));
                }
                let topic_arn = p.get("TopicArn").or_else(|| p.get("TargetArn")).ok_or_else(|| {
                    invalid("TopicArn or TargetArn Reason: no value for required parameter")
                })?;
                Operation::Publish { topic_arn: topic_arn.to_owned(), message: Box::new(message) }
            }
            "PublishBatch" => {
                let topic_arn = s("TopicArn")?;
                let mut entries = Vec::new();
                for e in p.structs("PublishBatchRequestEntries") {
                    let id = e.required("Id")?.to_owned();
                    entries.push((id, publish_message(&e)?));
                }
                Operation::PublishBatch { topic_arn, entries }
            }
            "TagResource" => Operation::TagResource { arn: s("ResourceArn")?, tags: tags(p)? },
            "UntagResource" => Operation::UntagResource {
                arn: s("ResourceArn")?,
                keys: p.list("TagKeys").into_iter().map(str::to_owned).collect(),
            },
            "ListTagsForResource" => Operation::ListTagsForResource(s("ResourceArn")?),
            other if NOT_IMPLEMENTED.contains(&other) => Operation::NotImplemented(format!("SNS {other}")),
            other => {
                return Err(Error::InvalidAction {
                    action: other.to_owned(),
                    version: p.get("Version").map(str::to_owned),
                });
            }
        })
    }
}

/// A query map: `{name}.entry.N.key` / `{name}.entry.N.value`.
fn map(p: &QueryParams, name: &str) -> BTreeMap<String, String> {
    entries(p, name)
        .into_iter()
        .filter_map(|e| Some((e.get("key")?.to_owned(), e.get("value").unwrap_or_default().to_owned())))
        .collect()
}

/// The fields of each `{name}.entry.N.*`, in index order.
fn entries(p: &QueryParams, name: &str) -> Vec<QueryParams> {
    let head = format!("{name}.entry.");
    let mut by_index: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
    for (k, v) in p.iter() {
        let Some(rest) = k.strip_prefix(&head) else { continue };
        let Some((n, field)) = rest.split_once('.') else { continue };
        let Ok(n) = n.parse::<u32>() else { continue };
        by_index.entry(n).or_default().push((field.to_owned(), v.to_owned()));
    }
    by_index
        .into_values()
        .map(|fields| QueryParams::from_pairs(fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
        .collect()
}

fn tags(p: &QueryParams) -> Result<Vec<(String, String)>, Error> {
    p.structs("Tags")
        .into_iter()
        .map(|t| Ok((t.required("Key")?.to_owned(), t.get("Value").unwrap_or_default().to_owned())))
        .collect()
}

fn publish_message(p: &QueryParams) -> Result<PublishMessage, Error> {
    let message = p.required("Message")?.to_owned();
    let mut attributes = Vec::new();
    for e in entries(p, "MessageAttributes") {
        let name = e.get("Name").unwrap_or_default().to_owned();
        let data_type = e.get("Value.DataType").unwrap_or_default().to_owned();
        let value = e.get("Value.StringValue").or_else(|| e.get("Value.BinaryValue")).unwrap_or_default();
        attributes.push(MessageAttribute { name, data_type, value: value.to_owned() });
    }
    Ok(PublishMessage {
        message,
        subject: p.get("Subject").map(str::to_owned),
        structure: p.get("MessageStructure").map(str::to_owned),
        attributes,
        group_id: p.get("MessageGroupId").map(str::to_owned),
        dedup_id: p.get("MessageDeduplicationId").map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_tags_and_message_attributes() {
        let p = QueryParams::from_pairs([
            ("Action", "CreateTopic"),
            ("Name", "t.fifo"),
            ("Attributes.entry.1.key", "FifoTopic"),
            ("Attributes.entry.1.value", "true"),
            ("Attributes.entry.2.key", "DisplayName"),
            ("Attributes.entry.2.value", "x"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "a"),
        ]);
        let Operation::CreateTopic { name, attributes, tags } = Operation::parse(&p).expect("parses") else {
            panic!("not CreateTopic")
        };
        assert_eq!(name, "t.fifo");
        assert_eq!(attributes.get("FifoTopic").map(String::as_str), Some("true"));
        assert_eq!(attributes.len(), 2);
        assert_eq!(tags, vec![("team".to_owned(), "a".to_owned())]);

        let p = QueryParams::from_pairs([
            ("Action", "PublishBatch"),
            ("TopicArn", "arn:aws:sns:us-east-1:000000000000:t"),
            ("PublishBatchRequestEntries.member.1.Id", "a"),
            ("PublishBatchRequestEntries.member.1.Message", "m1"),
            ("PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name", "n"),
            ("PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType", "Number"),
            ("PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue", "5"),
            ("PublishBatchRequestEntries.member.2.Id", "b"),
            ("PublishBatchRequestEntries.member.2.Message", "m2"),
        ]);
        let Operation::PublishBatch { entries, .. } = Operation::parse(&p).expect("parses") else {
            panic!("not PublishBatch")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].1.attributes,
            vec![MessageAttribute { name: "n".into(), data_type: "Number".into(), value: "5".into() }]
        );
    }

    #[test]
    fn unknown_and_unimplemented_actions() {
        let p = QueryParams::from_pairs([("Action", "CreatePlatformApplication")]);
        assert!(matches!(Operation::parse(&p), Ok(Operation::NotImplemented(_))));
        let p = QueryParams::from_pairs([("Action", "Frobnicate"), ("Version", "2010-03-31")]);
        assert!(matches!(Operation::parse(&p), Err(Error::InvalidAction { .. })));
        let p = QueryParams::from_pairs([("Action", "DeleteTopic")]);
        assert!(matches!(Operation::parse(&p), Err(Error::ValidationError(_))));
    }
}
