//! Parsing an SQS request, in either protocol, into an [`Operation`].
//!
//! Both protocols are first brought to one shape, the awsJson input object: a query request's
//! flattened parameters (`Attribute.1.Name`, `MessageAttribute.2.Value.DataType`,
//! `SendMessageBatchRequestEntry.3.Id`) are folded into the JSON members they stand for
//! (`Attributes`, `MessageAttributes`, `Entries`). One reader then builds the operation, so the
//! two protocols cannot drift apart. Query scalars arrive as text, so numbers and booleans are
//! accepted as text too.

use std::collections::BTreeMap;

use protocol::{Protocol, Request};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::model::AttributeValue;

/// A queue as a request names it: by URL (`…/{account}/{name}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRef {
    /// The account in the URL, when it has one that looks like an account.
    pub account: Option<String>,
    pub name: String,
}

/// One message to send: SendMessage's input, or one SendMessageBatch entry.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendEntry {
    /// The batch entry id; empty for SendMessage.
    pub id: String,
    pub body: Option<String>,
    pub delay_seconds: Option<i64>,
    pub attributes: BTreeMap<String, AttributeValue>,
    pub system_attributes: BTreeMap<String, AttributeValue>,
    pub dedup_id: Option<String>,
    pub group_id: Option<String>,
    /// The trace the sender's request carried (`X-Amzn-Trace-Id`), kept as the message's
    /// `AWSTraceHeader` unless the entry sets that system attribute itself, as SQS does.
    pub trace: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiveInput {
    pub max: Option<i64>,
    pub visibility_timeout: Option<i64>,
    pub wait_seconds: Option<i64>,
    /// `AttributeNames` and `MessageSystemAttributeNames` together.
    pub system_names: Vec<String>,
    pub attribute_names: Vec<String>,
    pub attempt_id: Option<String>,
}

/// One SQS request, parsed.
#[derive(Debug, PartialEq)]
pub enum Operation {
    CreateQueue {
        name: String,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    },
    GetQueueUrl {
        name: String,
        owner: Option<String>,
    },
    ListQueues {
        prefix: Option<String>,
        max_results: Option<i64>,
        next_token: Option<String>,
    },
    DeleteQueue(QueueRef),
    GetQueueAttributes(QueueRef, Vec<String>),
    SetQueueAttributes(QueueRef, BTreeMap<String, String>),
    PurgeQueue(QueueRef),
    TagQueue(QueueRef, BTreeMap<String, String>),
    UntagQueue(QueueRef, Vec<String>),
    ListQueueTags(QueueRef),
    SendMessage(QueueRef, Box<SendEntry>),
    SendMessageBatch(QueueRef, Vec<SendEntry>),
    ReceiveMessage(QueueRef, ReceiveInput),
    DeleteMessage(QueueRef, String),
    /// (entry id, receipt handle).
    DeleteMessageBatch(QueueRef, Vec<(String, String)>),
    ChangeMessageVisibility(QueueRef, String, i64),
    /// (entry id, receipt handle, visibility timeout).
    ChangeMessageVisibilityBatch(QueueRef, Vec<(String, String, i64)>),
    /// The queues whose RedrivePolicy names this one as their dead-letter queue.
    ListDeadLetterSourceQueues {
        queue: QueueRef,
        max_results: Option<i64>,
        next_token: Option<String>,
    },
    StartMessageMoveTask {
        source_arn: String,
        destination_arn: Option<String>,
        rate: Option<i64>,
    },
    ListMessageMoveTasks {
        source_arn: String,
        max_results: Option<i64>,
    },
    CancelMessageMoveTask(String),
    /// AddPermission: (queue, label, account ids, actions).
    AddPermission(QueueRef, String, Vec<String>, Vec<String>),
    /// RemovePermission: (queue, label).
    RemovePermission(QueueRef, String),
}

/// The protocol a request to SQS is written in: awsJson carries `X-Amz-Target`, query does not.
pub fn protocol_of(req: &Request) -> Protocol {
    if req.headers().contains_key("x-amz-target") { Protocol::AwsJson1_0 } else { Protocol::Query }
}

impl Operation {
    pub fn parse(req: &Request, protocol: Protocol) -> Result<Operation, Error> {
        let (action, input) = if protocol == Protocol::Query {
            let params = protocol::query::params(req)?;
            let action = params.action()?.to_owned();
            (action, fold_query(params.iter()))
        } else {
            let action = protocol::json::target(req.headers(), "AmazonSQS")?.to_owned();
            (action, protocol::json::object(req.body())?)
        };
        Operation::from_input(&action, &Input(input))
    }

    fn from_input(action: &str, input: &Input) -> Result<Operation, Error> {
        let queue = || input.queue();
        Ok(match action {
            "CreateQueue" => Operation::CreateQueue {
                name: input.required("QueueName")?,
                attributes: input.string_map("Attributes")?,
                tags: if input.0.contains_key("tags") {
                    input.string_map("tags")?
                } else {
                    input.string_map("Tags")?
                },
            },
            "GetQueueUrl" => Operation::GetQueueUrl {
                name: input.required("QueueName")?,
                owner: input.string("QueueOwnerAWSAccountId")?,
            },
            "ListQueues" => Operation::ListQueues {
                prefix: input.string("QueueNamePrefix")?,
                max_results: input.int("MaxResults")?,
                next_token: input.string("NextToken")?,
            },
            "ListDeadLetterSourceQueues" => Operation::ListDeadLetterSourceQueues {
                queue: queue()?,
                max_results: input.int("MaxResults")?,
                next_token: input.string("NextToken")?,
            },
            "StartMessageMoveTask" => Operation::StartMessageMoveTask {
                source_arn: input.required("SourceArn")?,
                destination_arn: input.string("DestinationArn")?,
                rate: input.int("MaxNumberOfMessagesPerSecond")?,
            },
            "ListMessageMoveTasks" => Operation::ListMessageMoveTasks {
                source_arn: input.required("SourceArn")?,
                max_results: input.int("MaxResults")?,
            },
            "CancelMessageMoveTask" => Operation::CancelMessageMoveTask(input.required("TaskHandle")?),
            "AddPermission" => Operation::AddPermission(
                queue()?,
                input.required("Label")?,
                input.string_list("AWSAccountIds")?,
                input.string_list("Actions")?,
            ),
            "RemovePermission" => Operation::RemovePermission(queue()?, input.required("Label")?),
            "DeleteQueue" => Operation::DeleteQueue(queue()?),
            "GetQueueAttributes" => {
                Operation::GetQueueAttributes(queue()?, input.string_list("AttributeNames")?)
            }
            "SetQueueAttributes" => {
                let q = queue()?;
                if !input.0.contains_key("Attributes") {
                    return Err(Error::MissingParameter("Attribute.1.Name".to_owned()));
                }
                Operation::SetQueueAttributes(q, input.string_map("Attributes")?)
            }
            "PurgeQueue" => Operation::PurgeQueue(queue()?),
            "TagQueue" => {
                let q = queue()?;
                Operation::TagQueue(q, input.string_map("Tags")?)
            }
            "UntagQueue" => {
                let q = queue()?;
                Operation::UntagQueue(q, input.string_list("TagKeys")?)
            }
            "ListQueueTags" => Operation::ListQueueTags(queue()?),
            "SendMessage" => {
                let q = queue()?;
                let entry = send_entry(input, false)?;
                if entry.body.is_none() {
                    return Err(Error::MissingParameter("MessageBody".to_owned()));
                }
                Operation::SendMessage(q, Box::new(entry))
            }
            "SendMessageBatch" => {
                let q = queue()?;
                let entries = input.structs("Entries")?;
                Operation::SendMessageBatch(
                    q,
                    entries.iter().map(|e| send_entry(e, true)).collect::<Result<_, _>>()?,
                )
            }
            "ReceiveMessage" => {
                let q = queue()?;
                let mut system_names = input.string_list("AttributeNames")?;
                system_names.extend(input.string_list("MessageSystemAttributeNames")?);
                Operation::ReceiveMessage(
                    q,
                    ReceiveInput {
                        max: input.int("MaxNumberOfMessages")?,
                        visibility_timeout: input.int("VisibilityTimeout")?,
                        wait_seconds: input.int("WaitTimeSeconds")?,
                        system_names,
                        attribute_names: input.string_list("MessageAttributeNames")?,
                        attempt_id: input.string("ReceiveRequestAttemptId")?,
                    },
                )
            }
            "DeleteMessage" => {
                let q = queue()?;
                Operation::DeleteMessage(q, input.required("ReceiptHandle")?)
            }
            "DeleteMessageBatch" => {
                let q = queue()?;
                let entries = input.structs("Entries")?;
                let entries = entries
                    .iter()
                    .map(|e| Ok((e.required("Id")?, e.required("ReceiptHandle")?)))
                    .collect::<Result<_, Error>>()?;
                Operation::DeleteMessageBatch(q, entries)
            }
            "ChangeMessageVisibility" => {
                let q = queue()?;
                let handle = input.required("ReceiptHandle")?;
                let timeout = input.int("VisibilityTimeout")?.ok_or_else(|| missing("VisibilityTimeout"))?;
                Operation::ChangeMessageVisibility(q, handle, timeout)
            }
            "ChangeMessageVisibilityBatch" => {
                let q = queue()?;
                let entries = input.structs("Entries")?;
                let entries = entries
                    .iter()
                    .map(|e| {
                        let timeout = e.int("VisibilityTimeout")?.unwrap_or(0);
                        Ok((e.required("Id")?, e.required("ReceiptHandle")?, timeout))
                    })
                    .collect::<Result<_, Error>>()?;
                Operation::ChangeMessageVisibilityBatch(q, entries)
            }
            other => return Err(Error::InvalidAction(other.to_owned())),
        })
    }
}

fn missing(name: &str) -> Error {
    Error::MissingParameter(name.to_owned())
}

fn send_entry(input: &Input, batch: bool) -> Result<SendEntry, Error> {
    Ok(SendEntry {
        id: if batch { input.required("Id")? } else { String::new() },
        body: input.string("MessageBody")?,
        delay_seconds: input.int("DelaySeconds")?,
        attributes: input.attribute_map("MessageAttributes")?,
        system_attributes: input.attribute_map("MessageSystemAttributes")?,
        dedup_id: input.string("MessageDeduplicationId")?,
        group_id: input.string("MessageGroupId")?,
        trace: None,
    })
}

/// Parses a queue URL: the last path segment is the name, the one before it the account.
/// Any scheme and host are accepted (`sqs.{region}.localhost:4566`, `localhost:4566`,
/// `sqs.us-east-1.amazonaws.com`), as the SDKs send whatever they were given.
pub fn parse_queue_url(url: &str) -> Option<QueueRef> {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => url.trim_start_matches('/'),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/').filter(|s| !s.is_empty()).rev();
    let name = segments.next()?.to_owned();
    let account = segments.next().filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
    Some(QueueRef { account: account.map(str::to_owned), name })
}

/// A request's input in awsJson shape.
struct Input(Map<String, Value>);

fn type_error(name: &str, expected: &str) -> Error {
    Error::SerializationException(format!("Unexpected value for {name}: expected {expected}"))
}

impl Input {
    fn queue(&self) -> Result<QueueRef, Error> {
        let url = self.required("QueueUrl")?;
        parse_queue_url(&url).ok_or(Error::QueueDoesNotExist)
    }

    fn string(&self, name: &str) -> Result<Option<String>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(type_error(name, "a string")),
        }
    }

    fn required(&self, name: &str) -> Result<String, Error> {
        self.string(name)?.ok_or_else(|| missing(name))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| type_error(name, "an integer")),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| {
                Error::InvalidParameterValue(format!(
                    "Value {s} for parameter {name} is invalid. Reason: must be an integer."
                ))
            }),
            Some(_) => Err(type_error(name, "an integer")),
        }
    }

    fn string_list(&self, name: &str) -> Result<Vec<String>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| type_error(name, "a list of strings")))
                .collect(),
            Some(_) => Err(type_error(name, "a list")),
        }
    }

    fn string_map(&self, name: &str) -> Result<BTreeMap<String, String>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    // Attribute values are strings on the wire; tolerate JSON numbers and
                    // booleans (`"DelaySeconds": 5`) as their text.
                    Value::Number(n) => Ok((k.clone(), n.to_string())),
                    Value::Bool(b) => Ok((k.clone(), b.to_string())),
                    _ => Err(type_error(name, "a map of strings")),
                })
                .collect(),
            Some(_) => Err(type_error(name, "a map")),
        }
    }

    fn structs(&self, name: &str) -> Result<Vec<Input>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Object(m) => Ok(Input(m.clone())),
                    _ => Err(type_error(name, "a list of structures")),
                })
                .collect(),
            Some(_) => Err(type_error(name, "a list")),
        }
    }

    fn attribute_map(&self, name: &str) -> Result<BTreeMap<String, AttributeValue>, Error> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(BTreeMap::new()),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    let Value::Object(fields) = v else {
                        return Err(type_error(name, "a map of structures"));
                    };
                    let value = Input(fields.clone());
                    Ok((
                        k.clone(),
                        AttributeValue {
                            data_type: value.string("DataType")?.unwrap_or_default(),
                            string_value: value.string("StringValue")?,
                            binary_value: value.string("BinaryValue")?,
                        },
                    ))
                })
                .collect(),
            Some(_) => Err(type_error(name, "a map")),
        }
    }
}

/// Query members that are maps, written as `{name}.N.{key field}` / `{name}.N.{value field}`,
/// with the JSON member each stands for.
const QUERY_MAPS: &[(&str, &str, &str, &str)] = &[
    ("Attribute", "Attributes", "Name", "Value"),
    ("MessageAttribute", "MessageAttributes", "Name", "Value"),
    ("MessageSystemAttribute", "MessageSystemAttributes", "Name", "Value"),
    ("Tag", "Tags", "Key", "Value"),
];

/// Query members that are flattened lists, with their JSON names.
const QUERY_LISTS: &[(&str, &str)] = &[
    ("AttributeName", "AttributeNames"),
    ("MessageAttributeName", "MessageAttributeNames"),
    ("MessageSystemAttributeName", "MessageSystemAttributeNames"),
    ("TagKey", "TagKeys"),
    ("AWSAccountId", "AWSAccountIds"),
    ("ActionName", "Actions"),
    ("SendMessageBatchRequestEntry", "Entries"),
    ("DeleteMessageBatchRequestEntry", "Entries"),
    ("ChangeMessageVisibilityBatchRequestEntry", "Entries"),
];

/// A query parameter tree: `A.1.B=x` becomes `A → 1 → B → "x"`.
#[derive(Default, Debug)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

/// Folds flattened query parameters into the awsJson input object.
fn fold_query<'a>(params: impl Iterator<Item = (&'a str, &'a str)>) -> Map<String, Value> {
    let mut root = Node::default();
    for (key, value) in params {
        let mut node = &mut root;
        for segment in key.split('.') {
            node = node.children.entry(segment.to_owned()).or_default();
        }
        node.value = Some(value.to_owned());
    }
    to_object(&root)
}

fn to_object(node: &Node) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, child) in &node.children {
        if let Some((_, json, key_field, value_field)) = QUERY_MAPS.iter().find(|m| m.0 == name) {
            let mut map = Map::new();
            for element in indexed(child) {
                let key = element.children.get(*key_field).and_then(|k| k.value.clone());
                if let (Some(key), Some(value)) = (key, element.children.get(*value_field)) {
                    map.insert(key, to_value(value));
                }
            }
            out.insert((*json).to_owned(), Value::Object(map));
        } else if let Some((_, json)) = QUERY_LISTS.iter().find(|l| l.0 == name) {
            out.insert((*json).to_owned(), Value::Array(indexed(child).map(to_value).collect()));
        } else {
            out.insert(name.clone(), to_value(child));
        }
    }
    out
}

fn to_value(node: &Node) -> Value {
    match &node.value {
        Some(v) if node.children.is_empty() => Value::String(v.clone()),
        _ => Value::Object(to_object(node)),
    }
}

/// The elements of a flattened list in index order (`1`, `2`, … `10`), skipping non-numbers.
fn indexed(node: &Node) -> impl Iterator<Item = &Node> {
    let mut elements: Vec<(u32, &Node)> =
        node.children.iter().filter_map(|(k, v)| Some((k.parse().ok()?, v))).collect();
    elements.sort_by_key(|(n, _)| *n);
    elements.into_iter().map(|(_, v)| v)
}
