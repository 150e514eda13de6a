//! The gateway's part in tracing: it joins the trace of an incoming `X-Amzn-Trace-Id`, labels
//! the requests it will record (operation and resource, guessed from the wire when the service
//! says nothing), and hands each recorded request to the [`SpanSink`] as a span.

use std::sync::Arc;

use http::request::Parts;
use protocol::{Protocol, RequestContext, TraceContext};
use serde_json::Value;
use types::Scope;
use types::trace::{Outcome, Span, TraceHeader, epoch_us};

/// Where recorded requests go (`server` wires it to the trace store).
pub type SpanSink = Arc<dyn Fn(Span) + Send + Sync>;

/// Fields that name what a JSON request acts on, in the order they are looked for.
const JSON_RESOURCE_FIELDS: &[&str] = &[
    "TableName",
    "QueueUrl",
    "TopicArn",
    "FunctionName",
    "EventBusName",
    "logGroupName",
    "Name",
    "StreamArn",
];
/// The same for query-protocol requests.
const QUERY_RESOURCE_FIELDS: &[&str] = &["QueueUrl", "TopicArn", "TargetArn", "StackName", "RoleName"];

/// Joins the trace the request's header names; a malformed header is ignored (the request
/// keeps the fresh trace it was given), as X-Ray's SDKs do.
pub(crate) fn join(ctx: &mut RequestContext, headers: &http::HeaderMap) {
    let header = headers.get("x-amzn-trace-id").and_then(|v| v.to_str().ok());
    if let Some(Ok(h)) = header.map(TraceHeader::parse) {
        ctx.trace.continue_from(h);
    }
}

/// Labels a request that carried a trace header from what is on the wire; a label the service
/// writes replaces it.
pub(crate) fn guess(ctx: &RequestContext, protocol: Protocol, parts: &Parts, body: &[u8]) {
    if !ctx.trace.incoming {
        return;
    }
    let (operation, resource) = describe(protocol, parts, body);
    ctx.trace.guess(operation, resource);
}

fn describe(protocol: Protocol, parts: &Parts, body: &[u8]) -> (String, String) {
    let path = parts.uri.path();
    match protocol {
        Protocol::AwsJson1_0 | Protocol::AwsJson1_1 => {
            let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
            let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
            let doc: Value = serde_json::from_slice(body).unwrap_or_default();
            let entry = doc.get("Entries").and_then(|e| e.get(0));
            let resource = JSON_RESOURCE_FIELDS
                .iter()
                .find_map(|f| doc.get(f).or_else(|| entry.and_then(|e| e.get(f))).and_then(Value::as_str))
                .map(str::to_owned)
                // PutEvents without a bus name puts on the default bus.
                .unwrap_or_else(
                    || if operation == "PutEvents" { "default".to_owned() } else { String::new() },
                );
            (operation, resource)
        }
        Protocol::Query => {
            let params: Vec<(String, String)> =
                form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                    .chain(form_urlencoded::parse(body))
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let resource = QUERY_RESOURCE_FIELDS.iter().find_map(|f| get(f)).unwrap_or_default();
            (get("Action").unwrap_or_default(), resource)
        }
        Protocol::RestXml => (s3_operation(parts), path.trim_start_matches('/').to_owned()),
        Protocol::RestJson => (format!("{} {path}", parts.method), String::new()),
    }
}

/// S3's operation for the common requests a function makes; the rest by method and path.
fn s3_operation(parts: &Parts) -> String {
    let object = parts.uri.path().trim_start_matches('/').contains('/');
    let query = parts.uri.query().unwrap_or_default();
    let has = |name: &str| form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == name);
    let copy = parts.headers.contains_key("x-amz-copy-source");
    let name = match (parts.method.as_str(), object) {
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("PUT", true) if has("partNumber") => "UploadPart",
        ("PUT", true) if copy => "CopyObject",
        ("PUT", true) => "PutObject",
        ("DELETE", true) => "DeleteObject",
        ("POST", true) if has("uploads") => "CreateMultipartUpload",
        ("POST", true) if has("uploadId") => "CompleteMultipartUpload",
        ("POST", false) if has("delete") => "DeleteObjects",
        ("GET", false) if has("list-type") => "ListObjectsV2",
        ("GET", false) => "ListObjects",
        ("HEAD", false) => "HeadBucket",
        (method, _) => return format!("{method} {}", parts.uri.path()),
    };
    name.to_owned()
}

/// What the gateway keeps of a request while the service answers it, to record it after.
pub(crate) struct Pending {
    trace: TraceContext,
    scope: Scope,
    received_at: time::OffsetDateTime,
}

impl Pending {
    pub(crate) fn of(ctx: &RequestContext) -> Pending {
        Pending { trace: ctx.trace.clone(), scope: ctx.scope.clone(), received_at: ctx.received_at }
    }

    /// The request's span, if it is recorded.
    pub(crate) fn span(
        self,
        service: &str,
        status: http::StatusCode,
        headers: &http::HeaderMap,
    ) -> Option<Span> {
        let note = self.trace.recorded()?;
        let start_us = epoch_us(self.received_at);
        let outcome = if status.is_client_error() || status.is_server_error() {
            let code = headers.get("x-amzn-errortype").and_then(|v| v.to_str().ok());
            // `x-amzn-ErrorType` may carry `:http://…` after the code.
            let code = code.map(|c| c.split(':').next().unwrap_or(c).to_owned());
            Outcome::Error(code.unwrap_or_else(|| status.as_u16().to_string()))
        } else {
            Outcome::Ok
        };
        Some(Span {
            trace: self.trace.root,
            id: self.trace.span,
            parent: self.trace.parent,
            scope: self.scope,
            service: service.to_owned(),
            operation: note.operation,
            resource: note.resource,
            start_us,
            duration_us: u64::try_from(epoch_us(time::OffsetDateTime::now_utc()) - start_us)
                .unwrap_or_default(),
            outcome,
            execution: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn requests_are_labelled_from_the_wire() {
        let p = parts("POST", "/", &[("x-amz-target", "DynamoDB_20120810.PutItem")]);
        assert_eq!(
            describe(Protocol::AwsJson1_0, &p, br#"{"TableName":"images","Item":{}}"#),
            ("PutItem".to_owned(), "images".to_owned())
        );
        let p = parts("POST", "/", &[("x-amz-target", "AWSEvents.PutEvents")]);
        assert_eq!(
            describe(Protocol::AwsJson1_1, &p, br#"{"Entries":[{"EventBusName":"app"}]}"#),
            ("PutEvents".to_owned(), "app".to_owned())
        );
        assert_eq!(describe(Protocol::AwsJson1_1, &p, br#"{"Entries":[{}]}"#).1, "default");
        let p = parts("POST", "/", &[]);
        assert_eq!(
            describe(Protocol::Query, &p, b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"),
            ("Publish".to_owned(), "arn:aws:sns:us-east-1:1:t".to_owned())
        );
        let p = parts("PUT", "/bucket/a/b.png", &[]);
        assert_eq!(
            describe(Protocol::RestXml, &p, b""),
            ("PutObject".to_owned(), "bucket/a/b.png".to_owned())
        );
        let p = parts("PUT", "/bucket/k?partNumber=1&uploadId=x", &[]);
        assert_eq!(s3_operation(&p), "UploadPart");
        let p = parts("GET", "/bucket?list-type=2", &[]);
        assert_eq!(s3_operation(&p), "ListObjectsV2");
        let p = parts("GET", "/2015-03-31/functions/f", &[]);
        assert_eq!(describe(Protocol::RestJson, &p, b"").0, "GET /2015-03-31/functions/f");
    }

    #[test]
    fn only_traced_or_noted_requests_make_spans() {
        let ok = http::StatusCode::OK;
        let mut ctx = RequestContext::new(Scope::default(), "");
        let none = http::HeaderMap::new();
        assert!(Pending::of(&ctx).span("s3", ok, &none).is_none(), "a plain request is not recorded");
        guess(&ctx, Protocol::RestXml, &parts("GET", "/b/k", &[]), b"");
        assert!(Pending::of(&ctx).span("s3", ok, &none).is_none(), "guesses only label traced requests");

        let incoming = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        join(&mut ctx, &parts("GET", "/b/k", &[("x-amzn-trace-id", incoming)]).headers);
        guess(&ctx, Protocol::RestXml, &parts("GET", "/b/k", &[]), b"");
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amzn-errortype", http::HeaderValue::from_static("NoSuchKey:http://internal"));
        let s = Pending::of(&ctx).span("s3", http::StatusCode::NOT_FOUND, &headers).expect("recorded");
        assert_eq!(s.trace.to_string(), "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(s.parent.map(|p| p.to_string()).as_deref(), Some("53995c3f42cd8ad8"));
        assert_eq!((s.operation.as_str(), s.resource.as_str()), ("GetObject", "b/k"));
        assert_eq!(s.outcome, Outcome::Error("NoSuchKey".to_owned()));
        assert_eq!(s.id, ctx.trace.span);

        let fresh = RequestContext::new(Scope::default(), "");
        join(&mut fresh.clone(), &parts("GET", "/", &[("x-amzn-trace-id", "Root=garbage")]).headers);
        fresh.trace.note("PutObject", "b/k");
        let s = Pending::of(&fresh).span("s3", ok, &none).expect("noted requests are recorded");
        assert_eq!((s.parent, s.outcome), (None, Outcome::Ok));
    }
}
