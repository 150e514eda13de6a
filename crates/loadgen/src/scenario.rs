//! Scenarios: what one operation of a run sends, which status it must get back, what has to
//! exist before the run, and what a write leaves behind to clean up afterwards.
//!
//! Adding a scenario is one variant of [`Scenario`] plus its arms in [`Scenario::call`] (the
//! request builder) and, where they apply, [`Scenario::setup`] and [`Scenario::undo`]. The
//! builders of [`Call`] cover the protocols: [`Call::query`] (STS, IAM, SNS, SQS query),
//! [`Call::json`] (DynamoDB, SQS, EventBridge, CloudWatch Logs), [`Call::rest`] (S3, Lambda,
//! API Gateway). Scenarios for services Nimbus does not serve yet — DynamoDB
//! PutItem/GetItem/Query, SQS send/receive/delete, EventBridge PutEvents, API Gateway → Lambda
//! — are added when those services land, so that no figure is ever reported for a 501.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::sign::Signing;

/// A named workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// A signed STS-shaped POST that any server answering 200 satisfies: the client's own
    /// ceiling, run by `--self-test` against a trivial server. Against Nimbus it is
    /// `sts-get-caller-identity`.
    Noop,
    /// `GET /_nimbus/health` (or `--health-path`), unsigned: the gateway's floor, no service.
    Health,
    /// STS `GetCallerIdentity`: the cheapest signed query-protocol operation, no storage.
    StsGetCallerIdentity,
    /// IAM `GetRole` of one role the setup creates: a signed read from storage.
    IamGetRole,
    /// IAM `CreateRole` of a new role per operation: the durable write path. The roles are
    /// deleted after the run, untimed.
    IamCreateDeleteRole,
    /// Lambda `Invoke` (`RequestResponse`) of one function the setup creates (a Python echo, or
    /// the package given with `--function-zip`): warm invokes once the first ran.
    LambdaInvoke,
    /// SNS `Publish` to one topic with one raw SQS subscription, both made by the setup: each
    /// operation commits a durable delivery, which the server hands to the queue meanwhile.
    SnsPublish,
    /// S3 `PutObject` of a new 1 KiB object per operation: the durable object write path
    /// (blob fsync, then the record). The objects are deleted after the run, untimed.
    S3Put,
    /// S3 `GetObject` of one 1 KiB object the setup writes.
    S3Get,
    /// DynamoDB `PutItem` of a new ~100-byte item per operation into one on-demand table the
    /// setup creates (items are deleted after the run, untimed).
    DynamodbPut,
    /// DynamoDB `GetItem` (eventually consistent) of one item the setup writes.
    DynamodbGet,
    /// DynamoDB `Query` of one partition the setup fills with [`QUERY_ITEMS`] items: every
    /// request reads and returns all of them (the "Query of 100 items" issue 8 asks for).
    DynamodbQuery,
    /// SQS `SendMessage` (awsJson) of a small message to one queue: the durable send path.
    SqsSend,
    /// SQS `ReceiveMessage` (up to 10, no wait) from a queue with a zero visibility timeout that
    /// the setup fills with 10 messages, so every receive finds them.
    SqsReceive,
    /// SQS `DeleteMessage` of a message the worker received: untimed, a worker whose stock of
    /// receipt handles is empty sends 10 messages (`SendMessageBatch`) to one queue and receives
    /// up to 10 (`ReceiveMessage`, visibility 5 minutes); each timed operation deletes one.
    SqsDelete,
    /// EventBridge `PutEvents` of one event matched by one rule whose target is an SQS queue:
    /// each operation commits a durable delivery.
    EventsPut,
    /// EventBridge `PutEvents` of [`EVENTS_PER_PUT`] events matched by one rule whose target is
    /// the `lambda-invoke` function: each operation commits ten durable deliveries, which become
    /// asynchronous invokes. The timed figure is the front door's; `bench/events_lambda.py`
    /// counts the invocations to measure delivery end to end.
    EventsLambda,
    /// An HTTP API (payload 2.0) `$default` route to the `lambda-invoke` function, called by
    /// its path-form URL, unsigned: API Gateway → Lambda, warm.
    ApigwLambda,
    /// Lambda `Invoke` of a function never invoked before: the setup creates one function per
    /// operation (`--requests N`, concurrency 1, no warmup), so every request pays a cold start
    /// (process start, runtime init, handler import). The functions are deleted afterwards.
    LambdaInvokeCold,
}

/// The bucket the S3 scenarios use. Fixed, so repeated runs reuse it.
pub const S3_BUCKET: &str = "nimbus-loadgen";
/// The object `s3-get` reads.
pub const S3_READ_KEY: &str = "read-1k";
/// The default size of the objects the S3 scenarios write and read (`--object-size`).
pub const S3_OBJECT_SIZE: usize = 1024;

/// The object the S3 scenarios write, made once: large objects are sent many times, so their
/// bytes and their SHA-256 (which S3 requests sign) are computed once, not per request.
#[derive(Clone, Debug)]
pub struct S3Object {
    pub bytes: Bytes,
    pub sha256: Arc<str>,
}

impl S3Object {
    pub fn of_size(size: usize) -> S3Object {
        use sha2::Digest as _;
        let bytes = Bytes::from(vec![b'x'; size]);
        let sha256 = hex::encode(sha2::Sha256::digest(&bytes)).into();
        S3Object { bytes, sha256 }
    }

    fn put(&self, path: &str) -> Call {
        let mut call = Call::rest(Method::PUT, path, self.bytes.clone(), Signing::S3);
        call.payload_sha256 = Some(self.sha256.clone());
        call
    }
}

/// Who and what one operation is: which worker, its sequence number within the worker, and
/// the run, so that names made from it are unique across runs against the same server.
#[derive(Clone, Copy, Debug)]
pub struct Op<'a> {
    pub run: &'a str,
    pub worker: usize,
    pub seq: u64,
}

/// One request to send, before the host, date and signature are added.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    /// Path and query, already encoded.
    pub path_and_query: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub signing: Signing,
    /// The body's SHA-256, when the scenario knows it (a large object sent many times).
    pub payload_sha256: Option<Arc<str>>,
}

/// A request run once before the timed phase, and the statuses that mean it did its job
/// (creating something that already exists is fine: setups are idempotent).
#[derive(Clone, Debug)]
pub struct Setup {
    pub call: Call,
    pub accept: &'static [StatusCode],
    /// `(name, field)`: keep the top-level JSON string `field` of the answer as
    /// `Options::captured[name]` (an id the server chose, which the timed calls need).
    pub capture: Option<(&'static str, &'static str)>,
}

impl Setup {
    fn new(call: Call, accept: &'static [StatusCode]) -> Setup {
        Setup { call, accept, capture: None }
    }
}

/// The function `lambda-invoke` calls. Fixed, so repeated runs reuse it.
pub const INVOKE_FUNCTION: &str = "nimbus-loadgen-fn";

/// The topic and the queue subscribed to it that `sns-publish` uses; fixed, so repeated runs
/// reuse them. Their ARNs are in [`Options::account`] and [`Options::region`].
pub const PUBLISH_TOPIC: &str = "nimbus-loadgen-topic";
pub const PUBLISH_QUEUE: &str = "nimbus-loadgen-sns";
const SNS_VERSION: &str = "2010-03-31";
const SQS_VERSION: &str = "2012-11-05";

/// The table the DynamoDB scenarios use (hash key `pk`, range key `sk`, on demand).
pub const TABLE: &str = "nimbus-loadgen-table";
/// How many items `dynamodb-query` finds in its partition.
pub const QUERY_ITEMS: usize = 100;
const DYNAMODB_TARGET: &str = "DynamoDB_20120810";

/// The queue `sqs-send` writes to, the one `sqs-receive` reads from, and the one the
/// `events-put` rule delivers to.
pub const SEND_QUEUE: &str = "nimbus-loadgen-send";
pub const RECEIVE_QUEUE: &str = "nimbus-loadgen-receive";
pub const DELETE_QUEUE: &str = "nimbus-loadgen-delete";
pub const EVENTS_QUEUE: &str = "nimbus-loadgen-events";
/// The rule `events-put` matches on the default bus.
pub const EVENTS_RULE: &str = "nimbus-loadgen-rule";
/// The rule `events-lambda` matches on the default bus, and the events each operation puts.
pub const EVENTS_LAMBDA_RULE: &str = "nimbus-loadgen-lambda-rule";
pub const EVENTS_PER_PUT: usize = 10;

/// The HTTP API `apigw-lambda` creates; its id is read from the setup's answer.
pub const HTTP_API: &str = "nimbus-loadgen-api";

/// The role functions are created with (Nimbus does not check that it exists).
const FUNCTION_ROLE: &str = "arn:aws:iam::000000000000:role/nimbus-loadgen";

/// The role `iam-get-role` reads. Fixed, so repeated runs reuse it.
pub const READ_ROLE: &str = "nimbus-loadgen-read";

const ASSUME_ROLE_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const IAM_VERSION: &str = "2010-05-08";
const STS_VERSION: &str = "2011-06-15";

/// Settings some scenarios read.
#[derive(Clone, Debug)]
pub struct Options {
    /// The path `health` probes (`/_localstack/health` for LocalStack).
    pub health_path: String,
    /// The function `lambda-invoke` creates.
    pub function: FunctionSource,
    /// The account and region the server puts resources in, for the ARNs `sns-publish` names.
    pub account: String,
    pub region: String,
    /// Values the setup read from its answers (see [`Setup::capture`]), by name.
    pub captured: std::collections::BTreeMap<&'static str, String>,
    /// The object `s3-put` writes and `s3-get`'s setup stores.
    pub s3_object: S3Object,
    /// `lambda-invoke-cold`: this run's id (the functions' names are unique to it) and how many
    /// operations it makes, one function each.
    pub cold: Option<(String, u64)>,
}

impl Options {
    fn arn(&self, service: &str, name: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{name}", self.region, self.account)
    }

    /// The account Nimbus gives an access key: a 12-digit key is one, anything else
    /// `000000000000` (moto answers every key as `123456789012`: run it with that key).
    pub fn account_of(access_key: &str) -> String {
        if access_key.len() == 12 && access_key.bytes().all(|b| b.is_ascii_digit()) {
            access_key.to_owned()
        } else {
            "000000000000".to_owned()
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            health_path: "/_nimbus/health".to_owned(),
            function: FunctionSource::python_echo(),
            account: "000000000000".to_owned(),
            region: "us-east-1".to_owned(),
            captured: std::collections::BTreeMap::new(),
            s3_object: S3Object::of_size(S3_OBJECT_SIZE),
            cold: None,
        }
    }
}

/// A deployment package and how to run it.
#[derive(Clone, Debug)]
pub struct FunctionSource {
    pub runtime: String,
    pub handler: String,
    pub zip: Bytes,
    /// `MemorySize`: Lambda gives CPU in proportion (1,769 MB = one vCPU).
    pub memory_mb: u32,
}

impl FunctionSource {
    /// `def handler(event, context): return event`, zipped here.
    pub fn python_echo() -> FunctionSource {
        FunctionSource {
            runtime: "python3.12".to_owned(),
            handler: "app.handler".to_owned(),
            zip: Bytes::from(zip_of("app.py", b"def handler(event, context):\n    return event\n")),
            memory_mb: 128,
        }
    }
}

/// A zip of one file, mode 0644.
fn zip_of(name: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    // Writing to memory cannot fail; an empty package would be refused by the setup loudly.
    if w.start_file(name, options).and_then(|()| Ok(w.write_all(body)?)).is_err() {
        return Vec::new();
    }
    w.finish().map(std::io::Cursor::into_inner).unwrap_or_default()
}

impl Scenario {
    pub const ALL: [Scenario; 19] = [
        Scenario::Noop,
        Scenario::Health,
        Scenario::StsGetCallerIdentity,
        Scenario::IamGetRole,
        Scenario::IamCreateDeleteRole,
        Scenario::LambdaInvoke,
        Scenario::SnsPublish,
        Scenario::S3Put,
        Scenario::S3Get,
        Scenario::DynamodbPut,
        Scenario::DynamodbGet,
        Scenario::DynamodbQuery,
        Scenario::SqsSend,
        Scenario::SqsReceive,
        Scenario::SqsDelete,
        Scenario::EventsPut,
        Scenario::EventsLambda,
        Scenario::ApigwLambda,
        Scenario::LambdaInvokeCold,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Noop => "noop",
            Scenario::Health => "health",
            Scenario::StsGetCallerIdentity => "sts-get-caller-identity",
            Scenario::IamGetRole => "iam-get-role",
            Scenario::IamCreateDeleteRole => "iam-create-delete-role",
            Scenario::LambdaInvoke => "lambda-invoke",
            Scenario::SnsPublish => "sns-publish",
            Scenario::S3Put => "s3-put",
            Scenario::S3Get => "s3-get",
            Scenario::DynamodbPut => "dynamodb-put",
            Scenario::DynamodbGet => "dynamodb-get",
            Scenario::DynamodbQuery => "dynamodb-query",
            Scenario::SqsSend => "sqs-send",
            Scenario::SqsReceive => "sqs-receive",
            Scenario::SqsDelete => "sqs-delete",
            Scenario::EventsPut => "events-put",
            Scenario::EventsLambda => "events-lambda",
            Scenario::ApigwLambda => "apigw-lambda",
            Scenario::LambdaInvokeCold => "lambda-invoke-cold",
        }
    }

    /// The status every operation must get; anything else is an error.
    pub fn expected_status(self) -> StatusCode {
        StatusCode::OK
    }

    /// What must exist before the timed phase.
    pub fn setup(self, options: &Options) -> Vec<Setup> {
        match self {
            Scenario::LambdaInvokeCold => {
                let (run, n) = options.cold.clone().unwrap_or_default();
                (0..n)
                    .map(|seq| {
                        let name = cold_name(Op { run: &run, worker: 0, seq });
                        Setup::new(create_function(&name, &options.function), &[StatusCode::CREATED])
                    })
                    .collect()
            }
            // 409 is ResourceConflictException: a previous run made it.
            Scenario::LambdaInvoke => vec![Setup::new(
                create_function(INVOKE_FUNCTION, &options.function),
                &[StatusCode::CREATED, StatusCode::CONFLICT],
            )],
            Scenario::ApigwLambda => vec![
                Setup::new(
                    create_function(INVOKE_FUNCTION, &options.function),
                    &[StatusCode::CREATED, StatusCode::CONFLICT],
                ),
                // Quick create: a `$default` route to the function and an auto-deployed
                // `$default` stage. A new API per run (they are cheap and names may repeat).
                Setup {
                    call: Call::rest(
                        Method::POST,
                        "/v2/apis",
                        Bytes::from(
                            serde_json::json!({
                                "name": HTTP_API,
                                "protocolType": "HTTP",
                                "target": options.arn("lambda", &format!("function:{INVOKE_FUNCTION}")),
                            })
                            .to_string(),
                        ),
                        Signing::Service("apigateway"),
                    ),
                    accept: &[StatusCode::CREATED],
                    capture: Some(("api_id", "apiId")),
                },
            ],
            // 409 is EntityAlreadyExists: a previous run made it.
            Scenario::IamGetRole => {
                vec![Setup::new(create_role(READ_ROLE), &[StatusCode::OK, StatusCode::CONFLICT])]
            }
            // Each is idempotent: the same queue, topic and subscription come back.
            Scenario::SnsPublish => vec![
                Setup::new(
                    Call::query("sqs", SQS_VERSION, "CreateQueue", &[("QueueName", PUBLISH_QUEUE)]),
                    &[StatusCode::OK],
                ),
                Setup::new(
                    Call::query("sns", SNS_VERSION, "CreateTopic", &[("Name", PUBLISH_TOPIC)]),
                    &[StatusCode::OK],
                ),
                Setup::new(
                    Call::query(
                        "sns",
                        SNS_VERSION,
                        "Subscribe",
                        &[
                            ("TopicArn", &options.arn("sns", PUBLISH_TOPIC)),
                            ("Protocol", "sqs"),
                            ("Endpoint", &options.arn("sqs", PUBLISH_QUEUE)),
                            ("Attributes.entry.1.key", "RawMessageDelivery"),
                            ("Attributes.entry.1.value", "true"),
                        ],
                    ),
                    &[StatusCode::OK],
                ),
            ],
            // 409 is BucketAlreadyOwnedByYou outside us-east-1: a previous run made it.
            Scenario::S3Put => vec![Setup::new(create_bucket(), &[StatusCode::OK, StatusCode::CONFLICT])],
            Scenario::S3Get => vec![
                Setup::new(create_bucket(), &[StatusCode::OK, StatusCode::CONFLICT]),
                Setup::new(options.s3_object.put(&format!("/{S3_BUCKET}/{S3_READ_KEY}")), &[StatusCode::OK]),
            ],
            // The table is created once and kept; a 400 is ResourceInUseException from an
            // earlier run. Items are written by the setup of the read scenarios.
            Scenario::DynamodbPut => vec![create_table()],
            Scenario::DynamodbGet => {
                vec![create_table(), Setup::new(put_item("read", "0"), &[StatusCode::OK])]
            }
            Scenario::DynamodbQuery => {
                let mut v = vec![create_table()];
                v.extend(
                    (0..QUERY_ITEMS)
                        .map(|i| Setup::new(put_item("query", &format!("{i:04}")), &[StatusCode::OK])),
                );
                v
            }
            Scenario::SqsSend => vec![create_queue(SEND_QUEUE, &[])],
            Scenario::SqsDelete => vec![create_queue(DELETE_QUEUE, &[])],
            Scenario::SqsReceive => {
                let mut v = vec![create_queue(RECEIVE_QUEUE, &[("VisibilityTimeout", "0")])];
                let url = queue_url(options, RECEIVE_QUEUE);
                let entries: Vec<serde_json::Value> = (0..10)
                    .map(|i| serde_json::json!({"Id": i.to_string(), "MessageBody": "{\"n\":1}"}))
                    .collect();
                let batch = serde_json::json!({"QueueUrl": url, "Entries": entries});
                v.push(Setup::new(sqs_json("SendMessageBatch", &batch), &[StatusCode::OK]));
                v
            }
            Scenario::EventsLambda => vec![
                Setup::new(
                    create_function(INVOKE_FUNCTION, &options.function),
                    &[StatusCode::CREATED, StatusCode::CONFLICT],
                ),
                Setup::new(
                    events_json(
                        "PutRule",
                        &serde_json::json!({
                            "Name": EVENTS_LAMBDA_RULE,
                            "EventPattern": r#"{"source":["nimbus.loadgen.lambda"]}"#,
                        }),
                    ),
                    &[StatusCode::OK],
                ),
                Setup::new(
                    events_json(
                        "PutTargets",
                        &serde_json::json!({
                            "Rule": EVENTS_LAMBDA_RULE,
                            "Targets": [{"Id": "fn", "Arn": options.arn("lambda", &format!("function:{INVOKE_FUNCTION}"))}],
                        }),
                    ),
                    &[StatusCode::OK],
                ),
            ],
            Scenario::EventsPut => vec![
                create_queue(EVENTS_QUEUE, &[]),
                Setup::new(
                    events_json(
                        "PutRule",
                        &serde_json::json!({"Name": EVENTS_RULE, "EventPattern": r#"{"source":["nimbus.loadgen"]}"#}),
                    ),
                    &[StatusCode::OK],
                ),
                Setup::new(
                    events_json(
                        "PutTargets",
                        &serde_json::json!({"Rule": EVENTS_RULE, "Targets": [{"Id": "q", "Arn": options.arn("sqs", EVENTS_QUEUE)}]}),
                    ),
                    &[StatusCode::OK],
                ),
                // The queue only fills: empty it so repeated runs do not grow it without bound.
                // SQS allows one purge a minute; a run right after another (a priming request)
                // finds one in progress (403 PurgeQueueInProgress), which empties it just as well.
                Setup::new(
                    Call::query(
                        "sqs",
                        SQS_VERSION,
                        "PurgeQueue",
                        &[("QueueUrl", &queue_url(options, EVENTS_QUEUE))],
                    ),
                    &[StatusCode::OK, StatusCode::FORBIDDEN],
                ),
            ],
            Scenario::Noop
            | Scenario::Health
            | Scenario::StsGetCallerIdentity
            | Scenario::IamCreateDeleteRole => Vec::new(),
        }
    }

    /// The untimed requests a worker makes when its stock is empty, for scenarios whose
    /// operations each use up one item (a receipt handle); their last answer holds the items
    /// ([`Scenario::stock_items`]). Empty for the others.
    pub fn restock(self, op: Op<'_>, options: &Options) -> Vec<Call> {
        match self {
            Scenario::SqsDelete => {
                let url = queue_url(options, DELETE_QUEUE);
                let entries: Vec<serde_json::Value> = (0..10)
                    .map(|i| serde_json::json!({"Id": i.to_string(), "MessageBody": format!(r#"{{"seq":{}}}"#, op.seq)}))
                    .collect();
                vec![
                    sqs_json("SendMessageBatch", &serde_json::json!({"QueueUrl": url, "Entries": entries})),
                    sqs_json(
                        "ReceiveMessage",
                        &serde_json::json!({
                            "QueueUrl": url,
                            "MaxNumberOfMessages": 10,
                            "VisibilityTimeout": 300,
                            "WaitTimeSeconds": 0,
                        }),
                    ),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// The items in the answer to the last [`Scenario::restock`] request.
    pub fn stock_items(self, body: &[u8]) -> Vec<String> {
        match self {
            Scenario::SqsDelete => serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| {
                    v["Messages"].as_array().map(|m| {
                        m.iter().filter_map(|m| m["ReceiptHandle"].as_str().map(str::to_owned)).collect()
                    })
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The request of operation `op`; `item` is the stock item it uses up, for scenarios with
    /// a [`Scenario::restock`].
    pub fn call(self, op: Op<'_>, options: &Options, item: Option<&str>) -> Call {
        match self {
            Scenario::Noop | Scenario::StsGetCallerIdentity => {
                Call::query("sts", STS_VERSION, "GetCallerIdentity", &[])
            }
            Scenario::Health => {
                Call::rest(Method::GET, &options.health_path, Bytes::new(), Signing::Unsigned)
            }
            Scenario::IamGetRole => Call::query("iam", IAM_VERSION, "GetRole", &[("RoleName", READ_ROLE)]),
            Scenario::IamCreateDeleteRole => create_role(&unique_name(op)),
            Scenario::LambdaInvoke => Call::rest(
                Method::POST,
                &format!("/2015-03-31/functions/{INVOKE_FUNCTION}/invocations"),
                Bytes::from(format!(r#"{{"seq":{}}}"#, op.seq)),
                Signing::Service("lambda"),
            ),
            Scenario::SnsPublish => Call::query(
                "sns",
                SNS_VERSION,
                "Publish",
                &[
                    ("TopicArn", &options.arn("sns", PUBLISH_TOPIC)),
                    ("Message", &format!(r#"{{"seq":{}}}"#, op.seq)),
                ],
            ),
            Scenario::S3Put => options.s3_object.put(&format!("/{S3_BUCKET}/{}", unique_name(op))),
            Scenario::S3Get => {
                Call::rest(Method::GET, &format!("/{S3_BUCKET}/{S3_READ_KEY}"), Bytes::new(), Signing::S3)
            }
            Scenario::DynamodbPut => put_item("put", &unique_name(op)),
            Scenario::DynamodbGet => dynamodb_json(
                "GetItem",
                &serde_json::json!({"TableName": TABLE, "Key": {"pk": {"S": "read"}, "sk": {"S": "0"}}}),
            ),
            Scenario::DynamodbQuery => dynamodb_json(
                "Query",
                &serde_json::json!({
                    "TableName": TABLE,
                    "KeyConditionExpression": "pk = :p",
                    "ExpressionAttributeValues": {":p": {"S": "query"}},
                }),
            ),
            Scenario::SqsSend => sqs_json(
                "SendMessage",
                &serde_json::json!({
                    "QueueUrl": queue_url(options, SEND_QUEUE),
                    "MessageBody": format!(r#"{{"seq":{}}}"#, op.seq),
                }),
            ),
            Scenario::SqsReceive => sqs_json(
                "ReceiveMessage",
                &serde_json::json!({
                    "QueueUrl": queue_url(options, RECEIVE_QUEUE),
                    "MaxNumberOfMessages": 10,
                    "WaitTimeSeconds": 0,
                }),
            ),
            Scenario::SqsDelete => sqs_json(
                "DeleteMessage",
                &serde_json::json!({
                    "QueueUrl": queue_url(options, DELETE_QUEUE),
                    "ReceiptHandle": item.unwrap_or("missing-receipt-handle"),
                }),
            ),
            Scenario::EventsPut => events_json(
                "PutEvents",
                &serde_json::json!({"Entries": [{
                    "Source": "nimbus.loadgen",
                    "DetailType": "tick",
                    "Detail": format!(r#"{{"seq":{}}}"#, op.seq),
                }]}),
            ),
            Scenario::EventsLambda => {
                let entries: Vec<serde_json::Value> = (0..EVENTS_PER_PUT)
                    .map(|i| {
                        serde_json::json!({
                            "Source": "nimbus.loadgen.lambda",
                            "DetailType": "tick",
                            "Detail": format!(r#"{{"seq":{},"i":{i}}}"#, op.seq),
                        })
                    })
                    .collect();
                events_json("PutEvents", &serde_json::json!({ "Entries": entries }))
            }
            Scenario::LambdaInvokeCold => Call::rest(
                Method::POST,
                &format!("/2015-03-31/functions/{}/invocations", cold_name(op)),
                Bytes::from(format!(r#"{{"seq":{}}}"#, op.seq)),
                Signing::Service("lambda"),
            ),
            Scenario::ApigwLambda => {
                let api = options.captured.get("api_id").map(String::as_str).unwrap_or("missing-api-id");
                Call::rest(
                    Method::POST,
                    &format!("/_aws/execute-api/{api}/items"),
                    Bytes::from(format!(r#"{{"seq":{}}}"#, op.seq)),
                    Signing::Unsigned,
                )
            }
        }
    }

    /// The request that undoes a successful operation `op`, run after the timed phase; `None`
    /// for scenarios that leave nothing behind.
    pub fn undo(self, op: Op<'_>) -> Option<Call> {
        match self {
            Scenario::IamCreateDeleteRole => {
                Some(Call::query("iam", IAM_VERSION, "DeleteRole", &[("RoleName", &unique_name(op))]))
            }
            Scenario::S3Put => Some(Call::rest(
                Method::DELETE,
                &format!("/{S3_BUCKET}/{}", unique_name(op)),
                Bytes::new(),
                Signing::S3,
            )),
            Scenario::LambdaInvokeCold => Some(Call::rest(
                Method::DELETE,
                &format!("/2015-03-31/functions/{}", cold_name(op)),
                Bytes::new(),
                Signing::Service("lambda"),
            )),
            Scenario::DynamodbPut => Some(dynamodb_json(
                "DeleteItem",
                &serde_json::json!({"TableName": TABLE, "Key": {"pk": {"S": "put"}, "sk": {"S": unique_name(op)}}}),
            )),
            Scenario::Noop
            | Scenario::Health
            | Scenario::StsGetCallerIdentity
            | Scenario::IamGetRole
            | Scenario::LambdaInvoke
            | Scenario::SnsPublish
            | Scenario::S3Get
            | Scenario::DynamodbGet
            | Scenario::DynamodbQuery
            | Scenario::SqsSend
            | Scenario::SqsReceive
            | Scenario::SqsDelete
            | Scenario::EventsPut
            | Scenario::EventsLambda
            | Scenario::ApigwLambda => None,
        }
    }

    /// Whether operations leave something for [`Scenario::undo`] (so their ids are kept).
    pub fn has_undo(self) -> bool {
        self.undo(Op { run: "", worker: 0, seq: 0 }).is_some()
    }
}

/// The function `lambda-invoke-cold`'s operation `op` invokes (worker 0: the scenario runs at
/// concurrency 1).
fn cold_name(op: Op<'_>) -> String {
    format!("lg-cold-{}-{}", op.run, op.seq)
}

/// `lg-RUN-WORKER-SEQ`: at most 64 characters, IAM's limit on role names.
fn unique_name(op: Op<'_>) -> String {
    format!("lg-{}-{}-{}", op.run, op.worker, op.seq)
}

fn create_function(name: &str, source: &FunctionSource) -> Call {
    let body = serde_json::json!({
        "FunctionName": name,
        "Runtime": source.runtime,
        "Role": FUNCTION_ROLE,
        "Handler": source.handler,
        "MemorySize": source.memory_mb,
        "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(&source.zip) },
    });
    Call::rest(
        Method::POST,
        "/2015-03-31/functions",
        Bytes::from(body.to_string()),
        Signing::Service("lambda"),
    )
}

/// A queue's URL as servers read it: the account and the name are its last two segments.
fn queue_url(options: &Options, name: &str) -> String {
    format!("http://localhost/{}/{name}", options.account)
}

fn dynamodb_json(action: &str, body: &serde_json::Value) -> Call {
    Call::json("dynamodb", "1.0", &format!("{DYNAMODB_TARGET}.{action}"), Bytes::from(body.to_string()))
}

fn sqs_json(action: &str, body: &serde_json::Value) -> Call {
    Call::json("sqs", "1.0", &format!("AmazonSQS.{action}"), Bytes::from(body.to_string()))
}

fn events_json(action: &str, body: &serde_json::Value) -> Call {
    Call::json("events", "1.1", &format!("AWSEvents.{action}"), Bytes::from(body.to_string()))
}

/// An item of about 100 bytes in the loadgen table.
fn put_item(pk: &str, sk: &str) -> Call {
    dynamodb_json(
        "PutItem",
        &serde_json::json!({"TableName": TABLE, "Item": {
            "pk": {"S": pk},
            "sk": {"S": sk},
            "payload": {"S": "x".repeat(64)},
            "n": {"N": "42"},
        }}),
    )
}

fn create_table() -> Setup {
    Setup::new(
        dynamodb_json(
            "CreateTable",
            &serde_json::json!({
                "TableName": TABLE,
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            }),
        ),
        &[StatusCode::OK, StatusCode::BAD_REQUEST],
    )
}

/// Idempotent when the attributes match (SQS answers the existing queue's URL).
fn create_queue(name: &str, attributes: &[(&str, &str)]) -> Setup {
    let attributes: serde_json::Map<String, serde_json::Value> =
        attributes.iter().map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v))).collect();
    Setup::new(
        sqs_json("CreateQueue", &serde_json::json!({"QueueName": name, "Attributes": attributes})),
        &[StatusCode::OK],
    )
}

fn create_bucket() -> Call {
    Call::rest(Method::PUT, &format!("/{S3_BUCKET}"), Bytes::new(), Signing::S3)
}

fn create_role(name: &str) -> Call {
    Call::query(
        "iam",
        IAM_VERSION,
        "CreateRole",
        &[("RoleName", name), ("AssumeRolePolicyDocument", ASSUME_ROLE_POLICY)],
    )
}

impl Call {
    /// A query-protocol call: `POST /` with a form body, as botocore and aws-sdk-rust send it.
    pub fn query(service: &'static str, version: &str, action: &str, params: &[(&str, &str)]) -> Call {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action).append_pair("Version", version);
        for (name, value) in params {
            form.append_pair(name, value);
        }
        Call {
            method: Method::POST,
            path_and_query: "/".to_owned(),
            headers: vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
            )],
            body: Bytes::from(form.finish()),
            signing: Signing::Service(service),
            payload_sha256: None,
        }
    }

    /// An awsJson call (`1.0` or `1.1`): `POST /` with `X-Amz-Target: TARGET`.
    pub fn json(service: &'static str, json_version: &'static str, target: &str, body: Bytes) -> Call {
        let content_type = match json_version {
            "1.0" => "application/x-amz-json-1.0",
            _ => "application/x-amz-json-1.1",
        };
        let target = HeaderValue::from_str(target).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        Call {
            method: Method::POST,
            path_and_query: "/".to_owned(),
            headers: vec![
                (http::header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (HeaderName::from_static("x-amz-target"), target),
            ],
            body,
            signing: Signing::Service(service),
            payload_sha256: None,
        }
    }

    /// A REST call (S3, Lambda, API Gateway, or an unsigned probe).
    pub fn rest(method: Method, path_and_query: &str, body: Bytes, signing: Signing) -> Call {
        Call {
            method,
            path_and_query: path_and_query.to_owned(),
            headers: Vec::new(),
            body,
            signing,
            payload_sha256: None,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL.into_iter().find(|sc| sc.name() == s).ok_or_else(|| {
            let names: Vec<_> = Scenario::ALL.iter().map(|sc| sc.name()).collect();
            format!("unknown scenario {s:?}; known: {}", names.join(", "))
        })
    }
}

#[cfg(test)]
mod tests;
