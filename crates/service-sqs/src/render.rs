//! Writing an output in the request's protocol. Handlers build the awsJson output object; for a
//! query request it is written as XML by SQS's rules: lists are flattened (one `<Message>` per
//! message, one `<QueueUrl>` per URL), maps become `<Attribute><Name/><Value/></Attribute>`
//! entries, batch results are `<{Action}ResultEntry>` and `<BatchResultErrorEntry>`.

use protocol::xml::XmlWriter;
use protocol::{Protocol, RequestContext, Response};
use serde_json::Value;

use crate::Operation;

const XMLNS: &str = "http://queue.amazonaws.com/doc/2012-11-05/";

pub fn action_name(op: &Operation) -> &'static str {
    match op {
        Operation::CreateQueue { .. } => "CreateQueue",
        Operation::GetQueueUrl { .. } => "GetQueueUrl",
        Operation::ListQueues { .. } => "ListQueues",
        Operation::ListDeadLetterSourceQueues { .. } => "ListDeadLetterSourceQueues",
        Operation::StartMessageMoveTask { .. } => "StartMessageMoveTask",
        Operation::ListMessageMoveTasks { .. } => "ListMessageMoveTasks",
        Operation::CancelMessageMoveTask(_) => "CancelMessageMoveTask",
        Operation::AddPermission(..) => "AddPermission",
        Operation::RemovePermission(..) => "RemovePermission",
        Operation::DeleteQueue(_) => "DeleteQueue",
        Operation::GetQueueAttributes(..) => "GetQueueAttributes",
        Operation::SetQueueAttributes(..) => "SetQueueAttributes",
        Operation::PurgeQueue(_) => "PurgeQueue",
        Operation::TagQueue(..) => "TagQueue",
        Operation::UntagQueue(..) => "UntagQueue",
        Operation::ListQueueTags(_) => "ListQueueTags",
        Operation::SendMessage(..) => "SendMessage",
        Operation::SendMessageBatch(..) => "SendMessageBatch",
        Operation::ReceiveMessage(..) => "ReceiveMessage",
        Operation::DeleteMessage(..) => "DeleteMessage",
        Operation::DeleteMessageBatch(..) => "DeleteMessageBatch",
        Operation::ChangeMessageVisibility(..) => "ChangeMessageVisibility",
        Operation::ChangeMessageVisibilityBatch(..) => "ChangeMessageVisibilityBatch",
    }
}

pub fn output(protocol: Protocol, ctx: &RequestContext, action: &str, out: &Value) -> Response {
    if protocol != Protocol::Query {
        return protocol::json::response(Protocol::AwsJson1_0, ctx, out);
    }
    protocol::query::response(ctx, action, XMLNS, |w| {
        if let Value::Object(members) = out {
            write_members(w, action, members);
        }
    })
}

/// Maps whose entries are written as `<{element}><{key}>k</{key}><Value>v</Value></{element}>`.
fn map_shape(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "Attributes" => Some(("Attribute", "Name")),
        "MessageAttributes" => Some(("MessageAttribute", "Name")),
        "Tags" => Some(("Tag", "Key")),
        _ => None,
    }
}

fn list_element(action: &str, name: &str) -> String {
    match name {
        "Messages" => "Message".to_owned(),
        "Results" => "ListMessageMoveTasksResultEntry".to_owned(),
        // ListDeadLetterSourceQueues' member is spelled in lower case in the model.
        "QueueUrls" | "queueUrls" => "QueueUrl".to_owned(),
        "Successful" => format!("{action}ResultEntry"),
        "Failed" => "BatchResultErrorEntry".to_owned(),
        other => other.to_owned(),
    }
}

fn write_members(w: &mut XmlWriter, action: &str, members: &serde_json::Map<String, Value>) {
    for (name, value) in members {
        match value {
            Value::Array(items) => {
                let element = list_element(action, name);
                for item in items {
                    write_value(w, action, &element, item);
                }
            }
            Value::Object(map) if map_shape(name).is_some() => {
                let (element, key_name) = map_shape(name).unwrap_or(("Entry", "Name"));
                for (key, v) in map {
                    w.open(element);
                    w.leaf(key_name, key);
                    write_value(w, action, "Value", v);
                    w.close(element);
                }
            }
            other => write_value(w, action, name, other),
        }
    }
}

fn write_value(w: &mut XmlWriter, action: &str, name: &str, value: &Value) {
    match value {
        Value::Null => {}
        Value::String(s) => w.leaf(name, s),
        Value::Bool(b) => w.leaf(name, if *b { "true" } else { "false" }),
        Value::Number(n) => w.leaf(name, &n.to_string()),
        Value::Object(members) => {
            w.open(name);
            write_members(w, action, members);
            w.close(name);
        }
        Value::Array(items) => {
            for item in items {
                write_value(w, action, name, item);
            }
        }
    }
}
