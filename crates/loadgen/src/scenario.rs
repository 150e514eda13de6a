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
}

/// The bucket the S3 scenarios use. Fixed, so repeated runs reuse it.
pub const S3_BUCKET: &str = "nimbus-loadgen";
/// The object `s3-get` reads.
pub const S3_READ_KEY: &str = "read-1k";
/// The size of the objects the S3 scenarios write and read.
pub const S3_OBJECT_SIZE: usize = 1024;

fn s3_body() -> Bytes {
    Bytes::from(vec![b'x'; S3_OBJECT_SIZE])
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
}

/// A request run once before the timed phase, and the statuses that mean it did its job
/// (creating something that already exists is fine: setups are idempotent).
#[derive(Clone, Debug)]
pub struct Setup {
    pub call: Call,
    pub accept: &'static [StatusCode],
}

/// The function `lambda-invoke` calls. Fixed, so repeated runs reuse it.
pub const INVOKE_FUNCTION: &str = "nimbus-loadgen-fn";

/// The topic and the queue subscribed to it that `sns-publish` uses; fixed, so repeated runs
/// reuse them. Their ARNs are in [`Options::account`] and [`Options::region`].
pub const PUBLISH_TOPIC: &str = "nimbus-loadgen-topic";
pub const PUBLISH_QUEUE: &str = "nimbus-loadgen-sns";
const SNS_VERSION: &str = "2010-03-31";
const SQS_VERSION: &str = "2012-11-05";

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
    pub const ALL: [Scenario; 9] = [
        Scenario::Noop,
        Scenario::Health,
        Scenario::StsGetCallerIdentity,
        Scenario::IamGetRole,
        Scenario::IamCreateDeleteRole,
        Scenario::LambdaInvoke,
        Scenario::SnsPublish,
        Scenario::S3Put,
        Scenario::S3Get,
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
        }
    }

    /// The status every operation must get; anything else is an error.
    pub fn expected_status(self) -> StatusCode {
        match self {
            Scenario::Noop
            | Scenario::Health
            | Scenario::StsGetCallerIdentity
            | Scenario::IamGetRole
            | Scenario::IamCreateDeleteRole
            | Scenario::LambdaInvoke
            | Scenario::SnsPublish
            | Scenario::S3Put
            | Scenario::S3Get => StatusCode::OK,
        }
    }

    /// What must exist before the timed phase.
    pub fn setup(self, options: &Options) -> Vec<Setup> {
        match self {
            Scenario::LambdaInvoke => vec![Setup {
                call: create_function(INVOKE_FUNCTION, &options.function),
                // 409 is ResourceConflictException: a previous run made it.
                accept: &[StatusCode::CREATED, StatusCode::CONFLICT],
            }],
            Scenario::IamGetRole => vec![Setup {
                call: create_role(READ_ROLE),
                // 409 is EntityAlreadyExists: a previous run made it.
                accept: &[StatusCode::OK, StatusCode::CONFLICT],
            }],
            // Each is idempotent: the same queue, topic and subscription come back.
            Scenario::SnsPublish => vec![
                Setup {
                    call: Call::query("sqs", SQS_VERSION, "CreateQueue", &[("QueueName", PUBLISH_QUEUE)]),
                    accept: &[StatusCode::OK],
                },
                Setup {
                    call: Call::query("sns", SNS_VERSION, "CreateTopic", &[("Name", PUBLISH_TOPIC)]),
                    accept: &[StatusCode::OK],
                },
                Setup {
                    call: Call::query(
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
                    accept: &[StatusCode::OK],
                },
            ],
            // 409 is BucketAlreadyOwnedByYou outside us-east-1: a previous run made it.
            Scenario::S3Put => {
                vec![Setup { call: create_bucket(), accept: &[StatusCode::OK, StatusCode::CONFLICT] }]
            }
            Scenario::S3Get => vec![
                Setup { call: create_bucket(), accept: &[StatusCode::OK, StatusCode::CONFLICT] },
                Setup {
                    call: Call::rest(
                        Method::PUT,
                        &format!("/{S3_BUCKET}/{S3_READ_KEY}"),
                        s3_body(),
                        Signing::S3,
                    ),
                    accept: &[StatusCode::OK],
                },
            ],
            Scenario::Noop
            | Scenario::Health
            | Scenario::StsGetCallerIdentity
            | Scenario::IamCreateDeleteRole => Vec::new(),
        }
    }

    /// The request of operation `op`.
    pub fn call(self, op: Op<'_>, options: &Options) -> Call {
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
            Scenario::S3Put => {
                Call::rest(Method::PUT, &format!("/{S3_BUCKET}/{}", unique_name(op)), s3_body(), Signing::S3)
            }
            Scenario::S3Get => {
                Call::rest(Method::GET, &format!("/{S3_BUCKET}/{S3_READ_KEY}"), Bytes::new(), Signing::S3)
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
            Scenario::Noop
            | Scenario::Health
            | Scenario::StsGetCallerIdentity
            | Scenario::IamGetRole
            | Scenario::LambdaInvoke
            | Scenario::SnsPublish
            | Scenario::S3Get => None,
        }
    }

    /// Whether operations leave something for [`Scenario::undo`] (so their ids are kept).
    pub fn has_undo(self) -> bool {
        self.undo(Op { run: "", worker: 0, seq: 0 }).is_some()
    }
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
        }
    }

    /// A REST call (S3, Lambda, API Gateway, or an unsigned probe).
    pub fn rest(method: Method, path_and_query: &str, body: Bytes, signing: Signing) -> Call {
        Call { method, path_and_query: path_and_query.to_owned(), headers: Vec::new(), body, signing }
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
