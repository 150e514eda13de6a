//! HTTP API AWS service integrations: an `AWS_PROXY` integration with an `IntegrationSubtype`
//! names a service action whose parameters (`requestParameters`, keyed by the action's member
//! names) are filled from the request when it is called. CreateIntegration checks the names;
//! the data plane fills the values and sends the action, in-process, the way an SDK would send
//! it to the service Nimbus runs (EventBridge `PutEvents`; SQS `SendMessage`, `ReceiveMessage`,
//! `DeleteMessage`, `PurgeQueue`). The other subtypes AWS offers name services Nimbus does not
//! run and are refused as not implemented.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use protocol::Response;
use serde_json::{Map, Value, json};

use super::event::RequestInfo;
use super::{integration, mapping, message};
use crate::Inner;
use crate::error::Error;
use crate::model::Integration;

/// The integration subtypes of HTTP APIs (AWS's "integration subtype reference").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Subtype {
    EventBridgePutEvents,
    SqsSendMessage,
    SqsReceiveMessage,
    SqsDeleteMessage,
    SqsPurgeQueue,
    /// AppConfig, Kinesis and Step Functions subtypes: services Nimbus does not run.
    Unserved,
}

/// How a parameter's filled text becomes the action's member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    /// A JSON array, or a comma-separated list.
    List,
    /// A JSON object (message attributes).
    Object,
    /// Epoch seconds, or an RFC 3339 time.
    Time,
}

use Kind::{Integer, List, Object, Text, Time};

impl Subtype {
    fn parse(name: &str) -> Option<Subtype> {
        Some(match name {
            "EventBridge-PutEvents" => Subtype::EventBridgePutEvents,
            "SQS-SendMessage" => Subtype::SqsSendMessage,
            "SQS-ReceiveMessage" => Subtype::SqsReceiveMessage,
            "SQS-DeleteMessage" => Subtype::SqsDeleteMessage,
            "SQS-PurgeQueue" => Subtype::SqsPurgeQueue,
            "AppConfig-GetConfiguration"
            | "Kinesis-PutRecord"
            | "StepFunctions-StartExecution"
            | "StepFunctions-StartSyncExecution"
            | "StepFunctions-StopExecution" => Subtype::Unserved,
            _ => return None,
        })
    }

    /// The service (signing name) and action.
    fn action(self) -> (&'static str, &'static str) {
        match self {
            Subtype::EventBridgePutEvents => ("events", "PutEvents"),
            Subtype::SqsSendMessage => ("sqs", "SendMessage"),
            Subtype::SqsReceiveMessage => ("sqs", "ReceiveMessage"),
            Subtype::SqsDeleteMessage => ("sqs", "DeleteMessage"),
            Subtype::SqsPurgeQueue => ("sqs", "PurgeQueue"),
            Subtype::Unserved => ("", ""),
        }
    }

    /// The parameters the subtype takes: (name, required, kind). `Region` is every subtype's.
    fn parameters(self) -> &'static [(&'static str, bool, Kind)] {
        match self {
            Subtype::EventBridgePutEvents => &[
                ("Detail", true, Text),
                ("DetailType", true, Text),
                ("Source", true, Text),
                ("Time", false, Time),
                ("EventBusName", false, Text),
                ("Resources", false, List),
                ("Region", false, Text),
                ("TraceHeader", false, Text),
            ],
            Subtype::SqsSendMessage => &[
                ("QueueUrl", true, Text),
                ("MessageBody", true, Text),
                ("DelaySeconds", false, Integer),
                ("MessageAttributes", false, Object),
                ("MessageDeduplicationId", false, Text),
                ("MessageGroupId", false, Text),
                ("MessageSystemAttributes", false, Object),
                ("Region", false, Text),
            ],
            Subtype::SqsReceiveMessage => &[
                ("QueueUrl", true, Text),
                ("AttributeNames", false, List),
                ("MaxNumberOfMessages", false, Integer),
                ("MessageAttributeNames", false, List),
                ("ReceiveRequestAttemptId", false, Text),
                ("VisibilityTimeout", false, Integer),
                ("WaitTimeSeconds", false, Integer),
                ("Region", false, Text),
            ],
            Subtype::SqsDeleteMessage => {
                &[("ReceiptHandle", true, Text), ("QueueUrl", true, Text), ("Region", false, Text)]
            }
            Subtype::SqsPurgeQueue => &[("QueueUrl", true, Text), ("Region", false, Text)],
            Subtype::Unserved => &[],
        }
    }
}

/// Checks a subtype integration as CreateIntegration/UpdateIntegration do: a known subtype
/// on an `AWS_PROXY` integration, its required parameters mapped and no others.
pub(crate) fn check(integration: &Integration) -> Result<(), Error> {
    let Some(name) = integration.integration_subtype.as_deref() else { return Ok(()) };
    let subtype =
        Subtype::parse(name).ok_or_else(|| Error::bad(format!("Invalid integration subtype: {name}")))?;
    if integration.integration_type != "AWS_PROXY" {
        return Err(Error::bad("IntegrationSubtype is supported only for AWS_PROXY integrations"));
    }
    if subtype == Subtype::Unserved {
        return Err(Error::NotImplemented(format!("API Gateway HTTP API integration subtype {name}")));
    }
    let empty = BTreeMap::new();
    let given = integration.request_parameters.as_ref().unwrap_or(&empty);
    let known = subtype.parameters();
    if let Some(unknown) = given.keys().find(|k| !known.iter().any(|(p, _, _)| p == k)) {
        return Err(Error::bad(format!(
            "Invalid request parameter {unknown} for integration subtype {name}: it takes {}",
            known.iter().map(|(p, _, _)| *p).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some((missing, _, _)) = known.iter().find(|(p, required, _)| *required && !given.contains_key(*p))
    {
        return Err(Error::bad(format!(
            "Missing required request parameter {missing} for integration subtype {name}"
        )));
    }
    Ok(())
}

/// What a subtype call needs besides the integration: the request, its route's path
/// parameters, the stage's variables and the API's account and region.
pub(super) struct ServiceCall<'a> {
    pub info: &'a RequestInfo,
    pub params: &'a BTreeMap<String, String>,
    pub vars: &'a BTreeMap<String, String>,
    pub integration: &'a Integration,
    pub account: &'a str,
    pub region: &'a str,
}

/// Calls the integration's action with its parameters filled from the request. The service's
/// answer goes back to the client with its status (errors included), SQS's in the JSON shape
/// of its query API (`{Action}Response` with `{Action}Result` and `ResponseMetadata`); the
/// integration's response mappings apply to it. A service that cannot be called answers `500`,
/// one that outlasts the integration's timeout `503`.
pub(super) async fn call(inner: &Inner, call: ServiceCall<'_>) -> Response {
    let ServiceCall { info, params, vars, integration, account, region } = call;
    let Some(subtype) = integration.integration_subtype.as_deref().and_then(Subtype::parse) else {
        return internal_error();
    };
    let lookup = |name: &str| integration::request_value(info, params, vars, name);
    let filled: BTreeMap<&str, String> = integration
        .request_parameters
        .iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), mapping::fill(v, &lookup)?)))
        .collect();
    let region = filled.get("Region").map_or(region, String::as_str);
    let (service, action) = subtype.action();
    let body = members(subtype, &filled);
    let (target, content_type) = match service {
        "events" => (format!("AWSEvents.{action}"), "application/x-amz-json-1.1"),
        _ => (format!("AmazonSQS.{action}"), "application/x-amz-json-1.0"),
    };
    let request = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("X-Amz-Target", target)
        .header("Content-Type", content_type)
        .body(Bytes::from(body.to_string()));
    let (Ok(request), Some(services)) = (request, inner.services.get()) else {
        tracing::warn!("HTTP API service integration called but no service API is wired");
        return internal_error();
    };
    let (Some(account), Some(region)) = (types::AccountId::parse(account), types::Region::parse(region))
    else {
        return internal_error();
    };
    let scope = types::Scope { account, region };
    let timeout = Duration::from_millis(
        u64::try_from(integration.timeout_in_millis.clamp(50, 29_000)).unwrap_or(29_000),
    );
    let answer = match tokio::time::timeout(timeout, services.call(&scope, service, request)).await {
        Ok(answer) => answer,
        Err(_) => return message(StatusCode::SERVICE_UNAVAILABLE, None, "Service Unavailable"),
    };
    let status = answer.status();
    let request_id = answer
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or(&info.request_id)
        .to_owned();
    let mut out = answer.into_body().to_vec();
    if service == "sqs" && status.is_success() {
        out = sqs_query_shape(action, &out, &request_id).to_string().into_bytes();
    }
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let mut status = status.as_u16();
    if let Some(maps) = &integration.response_parameters {
        let answer = |name: &str| integration::response_value(&headers, &out, name).or_else(|| lookup(name));
        let mut edited = headers.clone();
        status = mapping::apply_response(maps, status, &mut edited, &answer);
        headers = edited;
    }
    integration::respond(status, &headers, out)
}

fn internal_error() -> Response {
    message(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal Server Error")
}

/// The action's JSON input from the filled parameters (PutEvents: one entry).
fn members(subtype: Subtype, filled: &BTreeMap<&str, String>) -> Value {
    let mut out = Map::new();
    for (name, _, kind) in subtype.parameters() {
        if *name == "Region" {
            continue;
        }
        let Some(text) = filled.get(name) else { continue };
        out.insert((*name).to_owned(), typed(*kind, text));
    }
    match subtype {
        Subtype::EventBridgePutEvents => json!({ "Entries": [Value::Object(out)] }),
        _ => Value::Object(out),
    }
}

/// A filled parameter as its member's type; text that does not parse as that type is sent as
/// text, for the service to refuse as it would refuse an SDK's.
fn typed(kind: Kind, text: &str) -> Value {
    match kind {
        Text => Value::String(text.to_owned()),
        Integer => text.trim().parse::<i64>().map_or_else(|_| Value::String(text.to_owned()), Value::from),
        List => match serde_json::from_str::<Value>(text) {
            Ok(list @ Value::Array(_)) => list,
            _ => Value::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
        },
        Object => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::String(text.to_owned())),
        Time => match text.trim().parse::<f64>() {
            Ok(secs) => json!(secs),
            Err(_) => {
                time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
                    .map_or_else(|_| Value::String(text.to_owned()), |t| json!(t.unix_timestamp()))
            }
        },
    }
}

/// SQS's JSON answer in the shape of its query API's JSON form, which API Gateway's SQS
/// integrations return: `{"SendMessageResponse": {"SendMessageResult": {...},
/// "ResponseMetadata": {"RequestId": ...}}}`, members the action did not return as `null`.
fn sqs_query_shape(action: &str, body: &[u8], request_id: &str) -> Value {
    let mut result =
        serde_json::from_slice::<Value>(body).ok().filter(Value::is_object).unwrap_or_else(|| json!({}));
    if action == "SendMessage"
        && let Some(m) = result.as_object_mut()
    {
        for key in ["MD5OfMessageAttributes", "MD5OfMessageSystemAttributes", "SequenceNumber"] {
            m.entry(key).or_insert(Value::Null);
        }
    }
    let mut response = Map::new();
    if result.as_object().is_some_and(|m| !m.is_empty()) {
        response.insert(format!("{action}Result"), result);
    }
    response.insert("ResponseMetadata".to_owned(), json!({ "RequestId": request_id }));
    json!({ format!("{action}Response"): response })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn integration(subtype: &str, params: &[(&str, &str)]) -> Integration {
        Integration {
            integration_type: "AWS_PROXY".to_owned(),
            integration_subtype: Some(subtype.to_owned()),
            request_parameters: Some(
                params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ),
            ..Integration::default()
        }
    }

    #[test]
    fn checks_name_the_subtype_its_required_parameters_and_no_others() {
        let ok = integration("SQS-SendMessage", &[("QueueUrl", "q"), ("MessageBody", "$request.body")]);
        assert!(check(&ok).is_ok());
        let missing = integration("SQS-SendMessage", &[("QueueUrl", "q")]);
        assert!(matches!(check(&missing), Err(Error::BadRequestException(m)) if m.contains("MessageBody")));
        let unknown = integration("SQS-PurgeQueue", &[("QueueUrl", "q"), ("MessageBody", "x")]);
        assert!(matches!(check(&unknown), Err(Error::BadRequestException(m)) if m.contains("MessageBody")));
        let bogus = integration("SQS-Explode", &[]);
        assert!(matches!(check(&bogus), Err(Error::BadRequestException(_))));
        let kinesis = integration("Kinesis-PutRecord", &[("StreamName", "s")]);
        assert!(matches!(check(&kinesis), Err(Error::NotImplemented(_))));
        let mut not_proxy = ok.clone();
        not_proxy.integration_type = "HTTP_PROXY".to_owned();
        assert!(matches!(check(&not_proxy), Err(Error::BadRequestException(_))));
    }

    #[test]
    fn members_take_their_types_and_put_events_sends_one_entry() {
        let filled: BTreeMap<&str, String> = [
            ("Detail", r#"{"a":1}"#.to_owned()),
            ("DetailType", "t".to_owned()),
            ("Source", "s".to_owned()),
            ("Resources", "arn:a, arn:b".to_owned()),
            ("Time", "2026-11-28T10:00:00Z".to_owned()),
            ("Region", "eu-west-1".to_owned()),
        ]
        .into_iter()
        .collect();
        let body = members(Subtype::EventBridgePutEvents, &filled);
        assert_eq!(
            body,
            json!({"Entries": [{"Detail": "{\"a\":1}", "DetailType": "t", "Source": "s",
                "Resources": ["arn:a", "arn:b"], "Time": 1_795_860_000}]})
        );
        let filled: BTreeMap<&str, String> = [
            ("QueueUrl", "u".to_owned()),
            ("MaxNumberOfMessages", "5".to_owned()),
            ("AttributeNames", r#"["All"]"#.to_owned()),
            ("VisibilityTimeout", "soon".to_owned()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            members(Subtype::SqsReceiveMessage, &filled),
            json!({"QueueUrl": "u", "MaxNumberOfMessages": 5, "AttributeNames": ["All"], "VisibilityTimeout": "soon"})
        );
    }

    #[test]
    fn sqs_answers_take_the_query_apis_json_shape() {
        let sent = sqs_query_shape("SendMessage", br#"{"MessageId":"m","MD5OfMessageBody":"d"}"#, "r");
        assert_eq!(
            sent,
            json!({"SendMessageResponse": {
                "SendMessageResult": {"MessageId": "m", "MD5OfMessageBody": "d", "MD5OfMessageAttributes": null,
                    "MD5OfMessageSystemAttributes": null, "SequenceNumber": null},
                "ResponseMetadata": {"RequestId": "r"}}})
        );
        assert_eq!(
            sqs_query_shape("PurgeQueue", b"{}", "r"),
            json!({"PurgeQueueResponse": {"ResponseMetadata": {"RequestId": "r"}}})
        );
    }
}
