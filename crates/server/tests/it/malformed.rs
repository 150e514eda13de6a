//! The malformed-request corpus: requests no SDK sends — truncated, non-object and non-UTF-8
//! bodies, missing members, members of the wrong type, absurdly deep nesting, unknown operations,
//! broken XML — for every service and protocol, each answered with the service's error in its own
//! protocol (status and code), never a 5xx, a dropped connection or a hang.
//!
//! The operation tables list what Nimbus implements, with each operation's required members as
//! the botocore models give them: a body holding them all (placeholder values) and the same body
//! with the first one of the wrong JSON type.

use std::time::Duration;

use crate::harness::Server;

const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// How the error code travels back.
#[derive(Clone, Copy, Debug)]
enum Wire {
    /// awsJson: `__type` in the body (an optional `namespace#` prefix is dropped).
    Json,
    /// rest-json: the `x-amzn-errortype` header.
    RestJson,
    /// query and rest-xml: `<Code>` in the body.
    Xml,
}

struct Case {
    name: String,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    wire: Wire,
    status: u16,
    /// The AWS error code, where the class of mistake has one code on AWS; `None` accepts any
    /// code in the protocol's error shape.
    code: Option<&'static str>,
}

const DYNAMODB: &[(&str, &str, &str)] = &[
    ("BatchGetItem", r#"{"RequestItems":{}}"#, r#"{"RequestItems":"x"}"#),
    ("BatchWriteItem", r#"{"RequestItems":{}}"#, r#"{"RequestItems":"x"}"#),
    (
        "CreateTable",
        r#"{"TableName":"x","AttributeDefinitions":[],"KeySchema":[]}"#,
        r#"{"TableName":5,"AttributeDefinitions":[],"KeySchema":[]}"#,
    ),
    ("DeleteItem", r#"{"TableName":"x","Key":{}}"#, r#"{"TableName":5,"Key":{}}"#),
    ("DeleteTable", r#"{"TableName":"x"}"#, r#"{"TableName":5}"#),
    ("DescribeEndpoints", r#"{}"#, r#""#),
    ("DescribeLimits", r#"{}"#, r#""#),
    ("DescribeTable", r#"{"TableName":"x"}"#, r#"{"TableName":5}"#),
    ("DescribeTimeToLive", r#"{"TableName":"x"}"#, r#"{"TableName":5}"#),
    ("GetItem", r#"{"TableName":"x","Key":{}}"#, r#"{"TableName":5,"Key":{}}"#),
    ("ListTables", r#"{}"#, r#""#),
    ("ListTagsOfResource", r#"{"ResourceArn":"x"}"#, r#"{"ResourceArn":5}"#),
    ("PutItem", r#"{"TableName":"x","Item":{}}"#, r#"{"TableName":5,"Item":{}}"#),
    ("Query", r#"{"TableName":"x"}"#, r#"{"TableName":5}"#),
    ("Scan", r#"{"TableName":"x"}"#, r#"{"TableName":5}"#),
    ("TagResource", r#"{"ResourceArn":"x","Tags":[]}"#, r#"{"ResourceArn":5,"Tags":[]}"#),
    ("TransactGetItems", r#"{"TransactItems":[]}"#, r#"{"TransactItems":"x"}"#),
    ("TransactWriteItems", r#"{"TransactItems":[]}"#, r#"{"TransactItems":"x"}"#),
    ("UntagResource", r#"{"ResourceArn":"x","TagKeys":[]}"#, r#"{"ResourceArn":5,"TagKeys":[]}"#),
    ("UpdateItem", r#"{"TableName":"x","Key":{}}"#, r#"{"TableName":5,"Key":{}}"#),
    ("UpdateTable", r#"{"TableName":"x"}"#, r#"{"TableName":5}"#),
    (
        "UpdateTimeToLive",
        r#"{"TableName":"x","TimeToLiveSpecification":{}}"#,
        r#"{"TableName":5,"TimeToLiveSpecification":{}}"#,
    ),
];

const EVENTS: &[(&str, &str, &str)] = &[
    ("CancelReplay", r#"{"ReplayName":"x"}"#, r#"{"ReplayName":5}"#),
    (
        "CreateArchive",
        r#"{"ArchiveName":"x","EventSourceArn":"x"}"#,
        r#"{"ArchiveName":5,"EventSourceArn":"x"}"#,
    ),
    ("CreateEventBus", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("DeleteArchive", r#"{"ArchiveName":"x"}"#, r#"{"ArchiveName":5}"#),
    ("DeleteEventBus", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("DeleteRule", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("DescribeArchive", r#"{"ArchiveName":"x"}"#, r#"{"ArchiveName":5}"#),
    ("DescribeEventBus", r#"{}"#, r#""#),
    ("DescribeReplay", r#"{"ReplayName":"x"}"#, r#"{"ReplayName":5}"#),
    ("DescribeRule", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("DisableRule", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("EnableRule", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("ListArchives", r#"{}"#, r#""#),
    ("ListEventBuses", r#"{}"#, r#""#),
    ("ListReplays", r#"{}"#, r#""#),
    ("ListRuleNamesByTarget", r#"{"TargetArn":"x"}"#, r#"{"TargetArn":5}"#),
    ("ListRules", r#"{}"#, r#""#),
    ("ListTagsForResource", r#"{"ResourceARN":"x"}"#, r#"{"ResourceARN":5}"#),
    ("ListTargetsByRule", r#"{"Rule":"x"}"#, r#"{"Rule":5}"#),
    ("PutEvents", r#"{"Entries":[]}"#, r#"{"Entries":"x"}"#),
    ("PutRule", r#"{"Name":"x"}"#, r#"{"Name":5}"#),
    ("PutTargets", r#"{"Rule":"x","Targets":[]}"#, r#"{"Rule":5,"Targets":[]}"#),
    ("RemoveTargets", r#"{"Rule":"x","Ids":[]}"#, r#"{"Rule":5,"Ids":[]}"#),
    (
        "StartReplay",
        r#"{"ReplayName":"x","EventSourceArn":"x","EventStartTime":1,"EventEndTime":1,"Destination":{}}"#,
        r#"{"ReplayName":5,"EventSourceArn":"x","EventStartTime":1,"EventEndTime":1,"Destination":{}}"#,
    ),
    ("TagResource", r#"{"ResourceARN":"x","Tags":[]}"#, r#"{"ResourceARN":5,"Tags":[]}"#),
    ("TestEventPattern", r#"{"EventPattern":"x","Event":"x"}"#, r#"{"EventPattern":5,"Event":"x"}"#),
    ("UntagResource", r#"{"ResourceARN":"x","TagKeys":[]}"#, r#"{"ResourceARN":5,"TagKeys":[]}"#),
    ("UpdateArchive", r#"{"ArchiveName":"x"}"#, r#"{"ArchiveName":5}"#),
];

const LOGS: &[(&str, &str, &str)] = &[
    ("CreateLogGroup", r#"{"logGroupName":"x"}"#, r#"{"logGroupName":5}"#),
    (
        "CreateLogStream",
        r#"{"logGroupName":"x","logStreamName":"x"}"#,
        r#"{"logGroupName":5,"logStreamName":"x"}"#,
    ),
    ("DeleteLogGroup", r#"{"logGroupName":"x"}"#, r#"{"logGroupName":5}"#),
    (
        "DeleteLogStream",
        r#"{"logGroupName":"x","logStreamName":"x"}"#,
        r#"{"logGroupName":5,"logStreamName":"x"}"#,
    ),
    ("DeleteRetentionPolicy", r#"{"logGroupName":"x"}"#, r#"{"logGroupName":5}"#),
    ("DescribeLogGroups", r#"{}"#, r#""#),
    ("DescribeLogStreams", r#"{}"#, r#""#),
    ("FilterLogEvents", r#"{}"#, r#""#),
    ("GetLogEvents", r#"{"logStreamName":"x"}"#, r#"{"logStreamName":5}"#),
    ("ListTagsForResource", r#"{"resourceArn":"x"}"#, r#"{"resourceArn":5}"#),
    ("ListTagsLogGroup", r#"{"logGroupName":"x"}"#, r#"{"logGroupName":5}"#),
    (
        "PutLogEvents",
        r#"{"logGroupName":"x","logStreamName":"x","logEvents":[]}"#,
        r#"{"logGroupName":5,"logStreamName":"x","logEvents":[]}"#,
    ),
    (
        "PutRetentionPolicy",
        r#"{"logGroupName":"x","retentionInDays":1}"#,
        r#"{"logGroupName":5,"retentionInDays":1}"#,
    ),
    ("TagLogGroup", r#"{"logGroupName":"x","tags":{}}"#, r#"{"logGroupName":5,"tags":{}}"#),
    ("TagResource", r#"{"resourceArn":"x","tags":{}}"#, r#"{"resourceArn":5,"tags":{}}"#),
    ("UntagLogGroup", r#"{"logGroupName":"x","tags":[]}"#, r#"{"logGroupName":5,"tags":[]}"#),
    ("UntagResource", r#"{"resourceArn":"x","tagKeys":[]}"#, r#"{"resourceArn":5,"tagKeys":[]}"#),
];

const SQS_JSON: &[(&str, &str, &str)] = &[
    (
        "ChangeMessageVisibility",
        r#"{"QueueUrl":"x","ReceiptHandle":"x","VisibilityTimeout":1}"#,
        r#"{"QueueUrl":5,"ReceiptHandle":"x","VisibilityTimeout":1}"#,
    ),
    ("ChangeMessageVisibilityBatch", r#"{"QueueUrl":"x","Entries":[]}"#, r#"{"QueueUrl":5,"Entries":[]}"#),
    ("CreateQueue", r#"{"QueueName":"x"}"#, r#"{"QueueName":5}"#),
    ("DeleteMessage", r#"{"QueueUrl":"x","ReceiptHandle":"x"}"#, r#"{"QueueUrl":5,"ReceiptHandle":"x"}"#),
    ("DeleteMessageBatch", r#"{"QueueUrl":"x","Entries":[]}"#, r#"{"QueueUrl":5,"Entries":[]}"#),
    ("DeleteQueue", r#"{"QueueUrl":"x"}"#, r#"{"QueueUrl":5}"#),
    ("GetQueueAttributes", r#"{"QueueUrl":"x"}"#, r#"{"QueueUrl":5}"#),
    ("GetQueueUrl", r#"{"QueueName":"x"}"#, r#"{"QueueName":5}"#),
    ("ListQueueTags", r#"{"QueueUrl":"x"}"#, r#"{"QueueUrl":5}"#),
    ("ListQueues", r#"{}"#, r#""#),
    ("PurgeQueue", r#"{"QueueUrl":"x"}"#, r#"{"QueueUrl":5}"#),
    ("ReceiveMessage", r#"{"QueueUrl":"x"}"#, r#"{"QueueUrl":5}"#),
    ("SendMessage", r#"{"QueueUrl":"x","MessageBody":"x"}"#, r#"{"QueueUrl":5,"MessageBody":"x"}"#),
    ("SendMessageBatch", r#"{"QueueUrl":"x","Entries":[]}"#, r#"{"QueueUrl":5,"Entries":[]}"#),
    ("SetQueueAttributes", r#"{"QueueUrl":"x","Attributes":{}}"#, r#"{"QueueUrl":5,"Attributes":{}}"#),
    ("TagQueue", r#"{"QueueUrl":"x","Tags":{}}"#, r#"{"QueueUrl":5,"Tags":{}}"#),
    ("UntagQueue", r#"{"QueueUrl":"x","TagKeys":[]}"#, r#"{"QueueUrl":5,"TagKeys":[]}"#),
];

const SNS: &[(&str, bool)] = &[
    ("ConfirmSubscription", true),
    ("CreateTopic", true),
    ("DeleteTopic", true),
    ("GetSubscriptionAttributes", true),
    ("GetTopicAttributes", true),
    ("ListSubscriptions", false),
    ("ListSubscriptionsByTopic", true),
    ("ListTagsForResource", true),
    ("ListTopics", false),
    ("Publish", true),
    ("PublishBatch", true),
    ("SetSubscriptionAttributes", true),
    ("SetTopicAttributes", true),
    ("Subscribe", true),
    ("TagResource", true),
    ("Unsubscribe", true),
    ("UntagResource", true),
];

const IAM: &[(&str, bool)] = &[
    ("AttachRolePolicy", true),
    ("CreatePolicy", true),
    ("CreatePolicyVersion", true),
    ("CreateRole", true),
    ("DeletePolicy", true),
    ("DeletePolicyVersion", true),
    ("DeleteRole", true),
    ("DeleteRolePermissionsBoundary", true),
    ("DeleteRolePolicy", true),
    ("DetachRolePolicy", true),
    ("GetPolicy", true),
    ("GetPolicyVersion", true),
    ("GetRole", true),
    ("GetRolePolicy", true),
    ("ListAttachedRolePolicies", true),
    ("ListPolicies", false),
    ("ListPolicyTags", true),
    ("ListPolicyVersions", true),
    ("ListRolePolicies", true),
    ("ListRoleTags", true),
    ("ListRoles", false),
    ("PutRolePermissionsBoundary", true),
    ("PutRolePolicy", true),
    ("SetDefaultPolicyVersion", true),
    ("TagPolicy", true),
    ("TagRole", true),
    ("UntagPolicy", true),
    ("UntagRole", true),
    ("UpdateAssumeRolePolicy", true),
    ("UpdateRole", true),
    ("UpdateRoleDescription", true),
];

const STS: &[(&str, bool)] = &[
    ("AssumeRole", true),
    ("AssumeRoleWithWebIdentity", true),
    ("GetAccessKeyInfo", true),
    ("GetCallerIdentity", false),
    ("GetSessionToken", false),
];

const SQS_QUERY: &[(&str, bool)] = &[
    ("ChangeMessageVisibility", true),
    ("ChangeMessageVisibilityBatch", true),
    ("CreateQueue", true),
    ("DeleteMessage", true),
    ("DeleteMessageBatch", true),
    ("DeleteQueue", true),
    ("GetQueueAttributes", true),
    ("GetQueueUrl", true),
    ("ListQueueTags", true),
    ("ListQueues", false),
    ("PurgeQueue", true),
    ("ReceiveMessage", true),
    ("SendMessage", true),
    ("SendMessageBatch", true),
    ("SetQueueAttributes", true),
    ("TagQueue", true),
    ("UntagQueue", true),
];

/// An awsJson service: its target prefix, content type and operation table, and the code AWS
/// answers when required members are missing (`None`: checked only for shape).
struct JsonService {
    name: &'static str,
    prefix: &'static str,
    content_type: &'static str,
    ops: &'static [(&'static str, &'static str, &'static str)],
    serialization: Option<&'static str>,
    missing: Option<&'static str>,
    unknown: Option<&'static str>,
}

const JSON_SERVICES: &[JsonService] = &[
    JsonService {
        name: "dynamodb",
        prefix: "DynamoDB_20120810",
        content_type: "application/x-amz-json-1.0",
        ops: DYNAMODB,
        serialization: Some("SerializationException"),
        missing: Some("ValidationException"),
        unknown: Some("UnknownOperationException"),
    },
    JsonService {
        name: "events",
        prefix: "AWSEvents",
        content_type: "application/x-amz-json-1.1",
        ops: EVENTS,
        serialization: Some("SerializationException"),
        missing: Some("ValidationException"),
        unknown: Some("UnknownOperationException"),
    },
    JsonService {
        name: "logs",
        prefix: "Logs_20140328",
        content_type: "application/x-amz-json-1.1",
        ops: LOGS,
        serialization: Some("SerializationException"),
        missing: Some("InvalidParameterException"),
        unknown: Some("UnknownOperationException"),
    },
    // SQS's JSON errors carry query-compatible codes; only their shape is checked here.
    JsonService {
        name: "sqs-json",
        prefix: "AmazonSQS",
        content_type: "application/x-amz-json-1.0",
        ops: SQS_JSON,
        serialization: None,
        missing: None,
        unknown: None,
    },
];

fn json_cases(cases: &mut Vec<Case>) {
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(5000), "]".repeat(5000));
    for svc in JSON_SERVICES {
        let case = |op: &str, kind: &str, body: Vec<u8>, code: Option<&'static str>| Case {
            name: format!("{} {op} {kind}", svc.name),
            method: "POST",
            path: "/".to_owned(),
            headers: vec![
                ("x-amz-target", format!("{}.{op}", svc.prefix)),
                ("content-type", svc.content_type.to_owned()),
            ],
            body,
            wire: Wire::Json,
            status: 400,
            code,
        };
        for (op, filled, wrong) in svc.ops {
            let s = svc.serialization;
            cases.push(case(op, "truncated", filled.as_bytes()[..filled.len() - 1].to_vec(), s));
            cases.push(case(op, "array", format!("[{filled}]").into_bytes(), s));
            cases.push(case(op, "string", format!("{filled:?}").into_bytes(), s));
            cases.push(case(op, "not-json", b"<xml/>".to_vec(), s));
            cases.push(case(op, "invalid-utf8", b"{\"\xff\xfe\":1}".to_vec(), s));
            cases.push(case(op, "deep", deep.clone().into_bytes(), s));
            if *filled != "{}" {
                cases.push(case(op, "missing", b"{}".to_vec(), svc.missing));
                let nulled = filled.replace(":\"x\"", ":null");
                if nulled != *filled {
                    cases.push(case(op, "null", nulled.into_bytes(), svc.missing));
                }
            }
            if !wrong.is_empty() {
                cases.push(case(op, "wrong-type", wrong.as_bytes().to_vec(), s));
            }
        }
        for op in ["NoSuchOperation", "putitem", "Describe Table"] {
            cases.push(case(op, "unknown", b"{}".to_vec(), svc.unknown));
        }
    }
}

/// A query service: its version, operation table (and whether the operation has required
/// members) and the code AWS answers when they are missing.
type QueryOps = &'static [(&'static str, bool)];

const QUERY_SERVICES: &[(&str, &str, QueryOps, &str)] = &[
    ("sns", "2010-03-31", SNS, "ValidationError"),
    ("iam", "2010-05-08", IAM, "ValidationError"),
    ("sts", "2011-06-15", STS, "ValidationError"),
    ("sqs-query", "2012-11-05", SQS_QUERY, "MissingParameter"),
];

fn query_cases(cases: &mut Vec<Case>) {
    for (name, version, ops, missing) in QUERY_SERVICES {
        let case = |op: &str, kind: &str, body: Vec<u8>, code: Option<&'static str>| Case {
            name: format!("{name} {op} {kind}"),
            method: "POST",
            path: "/".to_owned(),
            headers: vec![("content-type", FORM.to_owned())],
            body,
            wire: Wire::Xml,
            status: 400,
            code,
        };
        for (op, required) in *ops {
            let base = format!("Action={op}&Version={version}");
            if *required {
                cases.push(case(op, "missing", base.clone().into_bytes(), Some(missing)));
            }
            let mut bad = format!("{base}&Marker=").into_bytes();
            bad.extend_from_slice(b"\xff\xfe");
            cases.push(case(op, "invalid-utf8", bad, None));
        }
        for op in ["NoSuchAction", "listusers", "Describe Things"] {
            let body = format!("Action={op}&Version={version}").into_bytes();
            cases.push(case(op, "unknown", body, Some("InvalidAction")));
        }
    }
}

fn rest_cases(cases: &mut Vec<Case>) {
    // Lambda's control plane (rest-json): the code for an unreadable body is not pinned here.
    let lambda = [
        ("POST", "/2015-03-31/functions"),
        ("POST", "/2015-03-31/event-source-mappings"),
        ("PUT", "/2015-03-31/functions/f/configuration"),
        ("PUT", "/2015-03-31/functions/f/code"),
        ("POST", "/2015-03-31/functions/f/aliases"),
        ("POST", "/2015-03-31/functions/f/policy"),
        ("PUT", "/2019-09-25/functions/f/event-invoke-config"),
        ("POST", "/2019-09-25/functions/f/event-invoke-config"),
        ("PUT", "/2017-10-31/functions/f/concurrency"),
    ];
    let apigateway = [
        ("POST", "/restapis"),
        ("POST", "/v2/apis"),
        ("POST", "/restapis/x/resources/y"),
        ("POST", "/restapis/x/deployments"),
        ("POST", "/v2/apis/x/routes"),
        ("POST", "/v2/apis/x/integrations"),
    ];
    let bodies: [(&str, &[u8]); 4] = [
        ("truncated", b"{\"name\":"),
        ("array", b"[1]"),
        ("not-json", b"<a/>"),
        ("invalid-utf8", b"{\"\xff\":1}"),
    ];
    for (service, routes, code) in
        [("lambda", &lambda[..], None), ("apigateway", &apigateway[..], Some("BadRequestException"))]
    {
        for (method, path) in routes {
            for (kind, body) in bodies {
                cases.push(Case {
                    name: format!("{service} {method} {path} {kind}"),
                    method,
                    path: (*path).to_owned(),
                    headers: vec![("content-type", "application/json".to_owned())],
                    body: body.to_vec(),
                    wire: Wire::RestJson,
                    // The body is read before the function is looked up, so no 404 comes first.
                    status: 400,
                    code,
                });
            }
        }
    }
    // S3 (rest-xml): bodies that are not the XML document an operation expects.
    let s3 = [
        ("PUT", "/malformed-new"),
        ("PUT", "/malformed?tagging"),
        ("POST", "/malformed?delete"),
        ("PUT", "/malformed?versioning"),
        ("PUT", "/malformed?notification"),
        ("PUT", "/malformed/key?tagging"),
    ];
    let xml: [(&str, &[u8]); 4] = [
        ("truncated", b"<Tagging><TagSet><Tag><Key>a</Key>"),
        ("mismatched", b"<a><b></a></b>"),
        ("not-xml", b"{\"json\":true}"),
        ("invalid-utf8", b"<a>\xff\xfe</a>"),
    ];
    for (method, path) in s3 {
        for (kind, body) in xml {
            cases.push(Case {
                name: format!("s3 {method} {path} {kind}"),
                method,
                path: path.to_owned(),
                // DeleteObjects requires a Content-MD5 (of the empty string here, so only the
                // body's shape can be wrong) before S3 reads the body.
                headers: vec![("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==".to_owned())],
                body: body.to_vec(),
                wire: Wire::Xml,
                status: 400,
                code: None,
            });
        }
    }
}

fn code_of(wire: Wire, headers: &reqwest::header::HeaderMap, body: &str) -> Option<String> {
    match wire {
        Wire::Json => {
            let v: serde_json::Value = serde_json::from_str(body).ok()?;
            let t = v.get("__type")?.as_str()?;
            Some(t.rsplit('#').next().unwrap_or(t).to_owned())
        }
        Wire::RestJson => {
            serde_json::from_str::<serde_json::Value>(body).ok()?;
            let t = headers.get("x-amzn-errortype")?.to_str().ok()?;
            Some(t.split(':').next().unwrap_or(t).to_owned())
        }
        Wire::Xml => {
            let start = body.find("<Code>")? + "<Code>".len();
            let end = body[start..].find("</Code>")? + start;
            Some(body[start..end].to_owned())
        }
    }
}

#[tokio::test]
async fn every_malformed_request_gets_an_aws_error() {
    let mut cases = Vec::new();
    json_cases(&mut cases);
    query_cases(&mut cases);
    rest_cases(&mut cases);
    assert!(cases.len() >= 500, "the corpus shrank to {} cases", cases.len());

    let server = Server::ephemeral();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    // The S3 cases need a bucket (and an object) to exist, or NoSuchBucket would come first.
    for path in ["/malformed", "/malformed/key"] {
        let resp = http.put(format!("{}{path}", server.endpoint())).send().await.expect("put");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
    }
    let mut failures = Vec::new();
    for case in &cases {
        let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("method");
        let mut req =
            http.request(method, format!("{}{}", server.endpoint(), case.path)).body(case.body.clone());
        for (name, value) in &case.headers {
            req = req.header(*name, value);
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                failures.push(format!("{}: no answer ({e})", case.name));
                continue;
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        let code = code_of(case.wire, &headers, &body);
        let ok = status == case.status
            && code.as_deref().is_some_and(|c| !c.is_empty() && case.code.is_none_or(|want| c == want));
        if !ok {
            failures.push(format!(
                "{}: want {} {:?}, got {status} {code:?}: {}",
                case.name,
                case.status,
                case.code,
                body.chars().take(200).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
