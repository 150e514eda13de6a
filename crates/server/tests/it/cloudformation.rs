//! CloudFormation and `nimbus deploy`: a SAM application deployed with the CLI, driven through
//! every trigger, updated and deleted; plain templates through the official SDK, with their
//! failures rolled back; stack state across a restart.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::types::{Capability, StackStatus};

use crate::harness::Server;

const APP_CODE: &str = r#"import json

def create_item(event, context):
    return {"statusCode": 201, "body": event.get("body") or ""}

def on_upload(event, context):
    for r in event["Records"]:
        print("GOT s3", r["s3"]["object"]["key"])

def on_event(event, context):
    print("GOT event", event["source"], json.dumps(event["detail"]))

def on_tick(event, context):
    print("GOT tick")

def on_message(event, context):
    for r in event["Records"]:
        print("GOT sqs", r["body"])

def on_change(event, context):
    for r in event["Records"]:
        print("GOT stream", r["eventName"], r["dynamodb"]["Keys"]["id"]["S"])
"#;

fn hello_code(version: &str) -> String {
    format!(
        "import json\n\ndef hello(event, context):\n    return {{\"statusCode\": 200, \"body\": json.dumps({{\"hello\": \"{version}\"}})}}\n"
    )
}

/// The acceptance application of issue 10: an API with two routes, and functions triggered by
/// S3, an EventBridge rule, a schedule, an SQS queue and a DynamoDB stream.
const SAM_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 10
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Orders:
    Type: AWS::SQS::Queue
  Items:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello/
      Handler: app.hello
      Events:
        Hello: {Type: Api, Properties: {Path: /hello, Method: get}}
  CreateItemFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.create_item
      Policies: [{DynamoDBCrudPolicy: {TableName: !Ref Items}}]
      Events:
        Create: {Type: Api, Properties: {Path: /items, Method: post}}
  UploadFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.on_upload
      Events:
        Upload: {Type: S3, Properties: {Bucket: !Ref Uploads, Events: "s3:ObjectCreated:*"}}
  EventFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.on_event
      Events:
        Orders: {Type: EventBridgeRule, Properties: {Pattern: {source: [app.orders]}}}
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.on_tick
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 hour)}}
        Nightly: {Type: ScheduleV2, Properties: {ScheduleExpression: "cron(0 3 * * ? *)", ScheduleExpressionTimezone: Europe/Paris}}
  MessageFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.on_message
      Events:
        Queue: {Type: SQS, Properties: {Queue: !GetAtt Orders.Arn, BatchSize: 5}}
  ChangeFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.on_change
      Events:
        Stream: {Type: DynamoDB, Properties: {Stream: !GetAtt Items.StreamArn, StartingPosition: TRIM_HORIZON}}
Outputs:
  ApiId: {Value: !Ref ServerlessRestApi}
  Bucket: {Value: !Ref Uploads}
  QueueUrl: {Value: !Ref Orders}
  Table: {Value: !Ref Items}
"#;

/// Runs a `nimbus` client command against the server; returns (success, stdout).
fn nimbus(server: &Server, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nimbus"))
        .args(args)
        .arg("--endpoint")
        .arg(server.endpoint())
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_REGION")
        .output()
        .expect("run nimbus");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        eprintln!("nimbus {args:?} failed:\n{stdout}\n{stderr}");
    }
    (out.status.success(), stdout)
}

pub(crate) async fn outputs(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> std::collections::BTreeMap<String, String> {
    let d = cfn.describe_stacks().stack_name(stack).send().await.expect("describe stack");
    d.stacks()[0]
        .outputs()
        .iter()
        .map(|o| {
            (o.output_key().unwrap_or_default().to_owned(), o.output_value().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn physical_id(cfn: &aws_sdk_cloudformation::Client, stack: &str, logical: &str) -> String {
    let r = cfn
        .describe_stack_resource()
        .stack_name(stack)
        .logical_resource_id(logical)
        .send()
        .await
        .expect("resource");
    r.stack_resource_detail().and_then(|d| d.physical_resource_id()).expect("physical id").to_owned()
}

/// Waits until the function's log group has a line containing `needle`.
async fn wait_for_log(logs: &aws_sdk_cloudwatchlogs::Client, function: &str, needle: &str) {
    let group = format!("/aws/lambda/{function}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(out) = logs.filter_log_events().log_group_name(&group).send().await
            && out.events().iter().any(|e| e.message().unwrap_or_default().contains(needle))
        {
            return;
        }
        assert!(Instant::now() < deadline, "{function} never logged {needle:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Creates a stack from a SAM template (with the capabilities SAM needs), waits for it to be
/// complete and returns its outputs.
async fn create_sam_stack(
    server: &Server,
    name: &str,
    template: &str,
) -> std::collections::BTreeMap<String, String> {
    let cfn = server.cloudformation().await;
    cfn.create_stack()
        .stack_name(name)
        .template_body(template)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityAutoExpand)
        .send()
        .await
        .expect("create");
    let (status, reason) = wait_for_status(&cfn, name).await;
    assert_eq!(status, StackStatus::CreateComplete, "{reason:?}");
    outputs(&cfn, name).await
}

pub(crate) async fn wait_for_status(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> (StackStatus, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let d = cfn.describe_stacks().stack_name(stack).send().await.expect("describe stack");
        let s = &d.stacks()[0];
        let status = s.stack_status().cloned().expect("status");
        if !status.as_str().ends_with("_IN_PROGRESS") {
            return (status, s.stack_status_reason().map(str::to_owned));
        }
        assert!(Instant::now() < deadline, "stack {stack} stuck in {status:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn write_app(dir: &Path, hello_version: &str) {
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::create_dir_all(dir.join("hello")).expect("mkdir");
    std::fs::write(dir.join("template.yaml"), SAM_TEMPLATE).expect("write template");
    std::fs::write(dir.join("src/app.py"), APP_CODE).expect("write code");
    std::fs::write(dir.join("hello/app.py"), hello_code(hello_version)).expect("write code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sam_application_deploys_runs_updates_one_function_and_deletes() {
    let server = Server::ephemeral();
    let dir = tempfile::tempdir().expect("tempdir");
    write_app(dir.path(), "v1");
    let (ok, stdout) = nimbus(&server, dir.path(), &["deploy", "--stack-name", "app"]);
    assert!(ok, "deploy failed");
    assert!(stdout.contains("Stack app: CREATE_COMPLETE"), "{stdout}");
    assert!(stdout.contains("ApiId = "), "outputs are printed: {stdout}");

    let cfn = server.cloudformation().await;
    let out = outputs(&cfn, "app").await;
    let http = server.http();
    let hello = http.get(server.execute_api(&out["ApiId"], "/Prod/hello")).send().await.expect("GET /hello");
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.text().await.expect("body"), r#"{"hello": "v1"}"#);
    let created = http
        .post(server.execute_api(&out["ApiId"], "/Prod/items"))
        .body("{\"n\":1}")
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status(), 201);
    assert_eq!(created.text().await.expect("body"), "{\"n\":1}");

    // Every trigger reaches its function.
    let s3 = server.s3("test", "us-east-1").await;
    s3.put_object()
        .bucket(&out["Bucket"])
        .key("in/photo.jpg")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("put");
    server
        .events("test", "us-east-1")
        .await
        .put_events()
        .entries(
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source("app.orders")
                .detail_type("OrderPlaced")
                .detail(r#"{"order":7}"#)
                .build(),
        )
        .send()
        .await
        .expect("put events");
    let sqs = server.sqs("test", "us-east-1").await;
    sqs.send_message().queue_url(&out["QueueUrl"]).message_body("order-42").send().await.expect("send");
    let ddb = server.dynamodb("test", "us-east-1").await;
    ddb.put_item()
        .table_name(&out["Table"])
        .item("id", aws_sdk_dynamodb::types::AttributeValue::S("item-9".into()))
        .send()
        .await
        .expect("put item");
    let logs = server.logs("test", "us-east-1").await;
    for (logical, needle) in [
        ("UploadFunction", "GOT s3 in/photo.jpg"),
        ("EventFunction", "GOT event app.orders {\"order\": 7}"),
        ("MessageFunction", "GOT sqs order-42"),
        ("ChangeFunction", "GOT stream INSERT item-9"),
    ] {
        let function = physical_id(&cfn, "app", logical).await;
        wait_for_log(&logs, &function, needle).await;
    }
    let tick_rule = physical_id(&cfn, "app", "TickFunctionTick").await;
    let rule =
        server.events("test", "us-east-1").await.describe_rule().name(&tick_rule).send().await.expect("rule");
    assert_eq!(rule.schedule_expression(), Some("rate(1 hour)"));
    let schedule = physical_id(&cfn, "app", "TickFunctionNightly").await;
    let scheduler = aws_sdk_scheduler::Client::new(&server.sdk_config("test", "us-east-1").await);
    let got = scheduler.get_schedule().name(&schedule).send().await.expect("the schedule exists");
    assert_eq!(got.schedule_expression(), Some("cron(0 3 * * ? *)"));
    assert_eq!(got.schedule_expression_timezone(), Some("Europe/Paris"));

    // The client commands around a stack: invoke by logical id, logs of a function.
    let (ok, stdout) =
        nimbus(&server, dir.path(), &["invoke", "HelloFunction", "--stack-name", "app", "-e", "{}"]);
    assert!(ok && stdout.contains(r#"\"hello\": \"v1\""#), "{stdout}");
    let (ok, stdout) = nimbus(&server, dir.path(), &["logs", "UploadFunction", "--stack-name", "app"]);
    assert!(ok && stdout.contains("GOT s3 in/photo.jpg"), "{stdout}");
    // What that traffic would cost: one row per function that ran, the invoked one included.
    let (ok, stdout) = nimbus(&server, dir.path(), &["cost", "--since", "1h"]);
    assert!(ok && stdout.starts_with("FUNCTION"), "{stdout}");
    let hello = physical_id(&cfn, "app", "HelloFunction").await;
    let row = stdout.lines().find(|l| l.starts_with(&hello)).unwrap_or_else(|| panic!("{hello} in {stdout}"));
    let requests: u64 = row.split_whitespace().nth(2).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(requests >= 1, "{row}");
    assert!(stdout.lines().last().is_some_and(|l| l.starts_with("total: ")), "{stdout}");
    // And the metered resources: the upload's bucket among them.
    assert!(
        stdout.lines().any(|l| l.starts_with("s3 ") && l.contains("PUT, COPY, POST, LIST requests")),
        "{stdout}"
    );

    // A change to one function's code updates that function and nothing else.
    let before: BTreeSet<String> = stack_event_ids(&cfn, "app").await;
    write_app(dir.path(), "v2");
    let (ok, stdout) = nimbus(&server, dir.path(), &["deploy", "--stack-name", "app"]);
    assert!(ok && stdout.contains("Stack app: UPDATE_COMPLETE"), "{stdout}");
    let touched: BTreeSet<String> = cfn
        .describe_stack_events()
        .stack_name("app")
        .send()
        .await
        .expect("events")
        .stack_events()
        .iter()
        .filter(|e| !before.contains(e.event_id().unwrap_or_default()))
        .filter(|e| e.resource_type() != Some("AWS::CloudFormation::Stack"))
        .map(|e| e.logical_resource_id().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(touched, BTreeSet::from(["HelloFunction".to_owned()]));
    let hello = http.get(server.execute_api(&out["ApiId"], "/Prod/hello")).send().await.expect("GET /hello");
    assert_eq!(hello.text().await.expect("body"), r#"{"hello": "v2"}"#);
    let (ok, stdout) = nimbus(&server, dir.path(), &["deploy", "--stack-name", "app"]);
    assert!(ok && stdout.contains("No changes to deploy"), "{stdout}");

    // `nimbus stacks` lists it; `nimbus delete` removes every resource (a bucket must be empty,
    // as in AWS).
    let (ok, stdout) = nimbus(&server, dir.path(), &["stacks"]);
    assert!(ok && stdout.contains("app") && stdout.contains("UPDATE_COMPLETE"), "{stdout}");
    s3.delete_object().bucket(&out["Bucket"]).key("in/photo.jpg").send().await.expect("empty the bucket");
    let functions: Vec<String> = {
        let mut v = Vec::new();
        for logical in ["HelloFunction", "UploadFunction", "ChangeFunction"] {
            v.push(physical_id(&cfn, "app", logical).await);
        }
        v
    };
    let (ok, stdout) = nimbus(&server, dir.path(), &["delete", "app"]);
    assert!(ok && stdout.contains("DELETE_COMPLETE"), "{stdout}");
    let lambda = server.lambda("test", "us-east-1").await;
    for f in functions {
        assert!(lambda.get_function().function_name(&f).send().await.is_err(), "{f} is gone");
    }
    assert!(
        sqs.get_queue_attributes().queue_url(&out["QueueUrl"]).send().await.is_err(),
        "the queue is gone"
    );
    assert!(ddb.describe_table().table_name(&out["Table"]).send().await.is_err(), "the table is gone");
    assert!(s3.head_bucket().bucket(&out["Bucket"]).send().await.is_err(), "the bucket is gone");
    let apis = server.apigateway().await.get_rest_apis().send().await.expect("apis");
    assert!(apis.items().is_empty(), "the API is gone");
    let err = cfn.describe_stacks().stack_name("app").send().await.expect_err("the stack is gone");
    assert!(format!("{err:?}").contains("Stack with id app does not exist"), "{err:?}");
}

async fn stack_event_ids(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> BTreeSet<String> {
    let events = cfn.describe_stack_events().stack_name(stack).send().await.expect("events");
    events.stack_events().iter().filter_map(|e| e.event_id().map(str::to_owned)).collect()
}

const QUEUES: &str = r#"{
  "Resources": {
    "First": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "first-queue"}},
    "Policy": {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "First"}],
      "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*"}]}}},
    "Kept": {"Type": "AWS::SQS::Queue", "DeletionPolicy": "Retain", "Properties": {"QueueName": "kept-queue"}},
    "Broken": {"Type": "AWS::SQS::Queue", "DependsOn": ["Policy", "Kept"], "Properties": {"VisibilityTimeout": 99999}}
  }
}"#;

#[tokio::test]
async fn templates_with_errors_fail_precisely_and_roll_back() {
    let server = Server::ephemeral();
    let cfn = server.cloudformation().await;

    let bad_ref = r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["Nope", "Arn"]}}}}}}"#;
    let err =
        cfn.create_stack().stack_name("bad-ref").template_body(bad_ref).send().await.expect_err("refused");
    let e = err.into_service_error();
    assert_eq!(e.meta().code(), Some("ValidationError"));
    assert_eq!(
        e.meta().message(),
        Some("Template error: instance of Fn::GetAtt references undefined resource Nope")
    );
    let bad_ref =
        r#"{"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nope"}}}}}"#;
    let err =
        cfn.create_stack().stack_name("bad-ref").template_body(bad_ref).send().await.expect_err("refused");
    assert_eq!(
        err.into_service_error().meta().message(),
        Some(
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        )
    );

    let unsupported = r#"{"Resources": {"Vm": {"Type": "AWS::EC2::Instance", "Properties": {}}}}"#;
    let err = cfn
        .create_stack()
        .stack_name("bad-type")
        .template_body(unsupported)
        .send()
        .await
        .expect_err("refused");
    let e = err.into_service_error();
    assert_eq!(
        e.meta().message(),
        Some("Template format error: Unrecognized resource types: [AWS::EC2::Instance]")
    );

    let role =
        r#"{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}}}}"#;
    let err =
        cfn.create_stack().stack_name("needs-iam").template_body(role).send().await.expect_err("refused");
    let e = err.into_service_error();
    assert_eq!(e.meta().code(), Some("InsufficientCapabilitiesException"));
    assert_eq!(e.meta().message(), Some("Requires capabilities : [CAPABILITY_IAM]"));

    // A property the service refuses fails that resource; what was created is deleted.
    cfn.create_stack().stack_name("queues").template_body(QUEUES).send().await.expect("accepted");
    let (status, _) = wait_for_status(&cfn, "queues").await;
    assert_eq!(status, StackStatus::RollbackComplete);
    let events = cfn.describe_stack_events().stack_name("queues").send().await.expect("events");
    let failed = events
        .stack_events()
        .iter()
        .find(|e| e.resource_status().map(|s| s.as_str()) == Some("CREATE_FAILED"))
        .expect("a CREATE_FAILED event");
    assert_eq!(failed.logical_resource_id(), Some("Broken"));
    assert!(failed.resource_status_reason().unwrap_or_default().contains("VisibilityTimeout"), "{failed:?}");
    let rollback = events
        .stack_events()
        .iter()
        .find(|e| e.resource_status().map(|s| s.as_str()) == Some("ROLLBACK_IN_PROGRESS"))
        .expect("a rollback event");
    assert_eq!(
        rollback.resource_status_reason(),
        Some("The following resource(s) failed to create: [Broken]. Rollback requested by user.")
    );
    let first_deleted = events.stack_events().iter().any(|e| {
        e.logical_resource_id() == Some("First")
            && e.resource_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE")
    });
    assert!(first_deleted, "the queue created before the failure is deleted");
    // Dependents go first: the policy on First is deleted before First itself.
    let deleted: Vec<&str> = events
        .stack_events()
        .iter()
        .rev()
        .filter(|e| e.resource_status().map(|s| s.as_str()) == Some("DELETE_COMPLETE"))
        .filter_map(|e| e.logical_resource_id())
        .collect();
    let at =
        |id: &str| deleted.iter().position(|d| *d == id).unwrap_or_else(|| panic!("{id} in {deleted:?}"));
    assert!(at("Policy") < at("First"), "{deleted:?}");
    let kept = events.stack_events().iter().any(|e| {
        e.logical_resource_id() == Some("Kept")
            && e.resource_status().map(|s| s.as_str()) == Some("DELETE_SKIPPED")
    });
    assert!(kept, "DeletionPolicy Retain keeps a resource through a creation rollback");
    let sqs = server.sqs("test", "us-east-1").await;
    let queues = sqs.list_queues().send().await.expect("list");
    assert_eq!(queues.queue_urls().len(), 1, "only the retained queue is left: {:?}", queues.queue_urls());
    assert!(queues.queue_urls()[0].ends_with("/kept-queue"), "{:?}", queues.queue_urls());
    sqs.delete_queue().queue_url(&queues.queue_urls()[0]).send().await.expect("delete kept queue");
    // A stack in ROLLBACK_COMPLETE can only be deleted.
    let err =
        cfn.update_stack().stack_name("queues").template_body(QUEUES).send().await.expect_err("refused");
    assert!(format!("{err:?}").contains("is in ROLLBACK_COMPLETE state and can not be updated"), "{err:?}");
    cfn.delete_stack().stack_name("queues").send().await.expect("delete");
    let summaries = cfn.list_stacks().send().await.expect("list stacks");
    let statuses: Vec<&str> =
        summaries.stack_summaries().iter().filter_map(|s| s.stack_status().map(|s| s.as_str())).collect();
    assert!(
        statuses.contains(&"DELETE_COMPLETE") || statuses.contains(&"DELETE_IN_PROGRESS"),
        "{statuses:?}"
    );
}

const EXPORTER: &str = r#"
Parameters:
  Suffix: {Type: String, Default: one}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "shared-${Suffix}"
Outputs:
  TopicArn:
    Value: !Ref Topic
    Export: {Name: shared-topic-arn}
"#;

const IMPORTER: &str = r#"
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Sub:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !ImportValue shared-topic-arn
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
      RawMessageDelivery: "true"
Outputs:
  Url: {Value: !Ref Queue}
"#;

#[tokio::test]
async fn change_sets_exports_and_imports_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let cfn = server.cloudformation().await;
    let cs = cfn
        .create_change_set()
        .stack_name("exporter")
        .change_set_name("first")
        .change_set_type(aws_sdk_cloudformation::types::ChangeSetType::Create)
        .template_body(EXPORTER)
        .send()
        .await
        .expect("change set");
    let described =
        cfn.describe_change_set().change_set_name(cs.id().expect("id")).send().await.expect("describe");
    assert_eq!(described.status().map(|s| s.as_str()), Some("CREATE_COMPLETE"));
    let adds: Vec<&str> =
        described.changes().iter().filter_map(|c| c.resource_change()?.logical_resource_id()).collect();
    assert_eq!(adds, vec!["Topic"]);
    cfn.execute_change_set().change_set_name(cs.id().expect("id")).send().await.expect("execute");
    assert_eq!(wait_for_status(&cfn, "exporter").await.0, StackStatus::CreateComplete);
    let exports = cfn.list_exports().send().await.expect("exports");
    assert_eq!(exports.exports()[0].name(), Some("shared-topic-arn"));
    assert_eq!(exports.exports()[0].value(), Some("arn:aws:sns:us-east-1:000000000000:shared-one"));

    cfn.create_stack()
        .stack_name("importer")
        .template_body(IMPORTER)
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .expect("create");
    assert_eq!(wait_for_status(&cfn, "importer").await.0, StackStatus::CreateComplete);
    let err = cfn.delete_stack().stack_name("exporter").send().await.expect_err("export in use");
    assert!(
        format!("{err:?}").contains("Export shared-topic-arn cannot be deleted as it is in use by importer"),
        "{err:?}"
    );

    // The stacks and what they wired are there after a kill -9.
    server.kill9();
    server.restart();
    let cfn = server.cloudformation().await;
    assert_eq!(wait_for_status(&cfn, "importer").await.0, StackStatus::CreateComplete);
    let url = outputs(&cfn, "importer").await["Url"].clone();
    let sns = server.sns("test", "us-east-1").await;
    sns.publish()
        .topic_arn("arn:aws:sns:us-east-1:000000000000:shared-one")
        .message("through the stacks")
        .send()
        .await
        .expect("publish");
    let got = crate::harness::receive(&server.sqs("test", "us-east-1").await, &url, 1).await;
    assert_eq!(got[0].body(), Some("through the stacks"));

    // An update that would change an export another stack imports is rolled back: the topic it
    // replaced is deleted again and the original one keeps working.
    cfn.update_stack()
        .stack_name("exporter")
        .use_previous_template(true)
        .parameters(
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("Suffix")
                .parameter_value("two")
                .build(),
        )
        .send()
        .await
        .expect("the update is accepted");
    assert_eq!(wait_for_status(&cfn, "exporter").await.0, StackStatus::UpdateRollbackComplete);
    let events = cfn.describe_stack_events().stack_name("exporter").send().await.expect("events");
    let reason = events
        .stack_events()
        .iter()
        .find(|e| e.resource_status().map(|s| s.as_str()) == Some("UPDATE_ROLLBACK_IN_PROGRESS"))
        .and_then(|e| e.resource_status_reason())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(reason, "Cannot update export shared-topic-arn as it is in use by importer");
    let topics = sns.list_topics().send().await.expect("topics");
    let arns: Vec<&str> = topics.topics().iter().filter_map(|t| t.topic_arn()).collect();
    assert_eq!(arns, vec!["arn:aws:sns:us-east-1:000000000000:shared-one"]);
    let template = cfn.get_template().stack_name("importer").send().await.expect("template");
    assert!(template.template_body().unwrap_or_default().contains("ImportValue"));
}

const HTTP_API_WITH_AUTH: &str = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      AccessLogSettings:
        DestinationArn: !GetAtt AccessLogs.Arn
        Format: $context.requestId $context.routeKey $context.status
      Auth:
        DefaultAuthorizer: Gate
        Authorizers:
          Gate:
            FunctionArn: !GetAtt GateFunction.Arn
            EnableSimpleResponses: true
            AuthorizerPayloadFormatVersion: "2.0"
  GateFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            return {"isAuthorized": event.get("headers", {}).get("x-pass") == "yes", "context": {"who": "tester"}}
  PingFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        import json
        def handler(event, context):
            return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"]["lambda"])}
      Events:
        Ping: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /ping, Method: get}}
  AccessLogs:
    Type: AWS::Logs::LogGroup
    Properties: {LogGroupName: gated-access}
Outputs:
  ApiId: {Value: !Ref Api}
"#;

#[tokio::test]
async fn an_http_api_with_a_lambda_authorizer_from_sam() {
    let server = Server::ephemeral();
    let api = create_sam_stack(&server, "gated", HTTP_API_WITH_AUTH).await["ApiId"].clone();
    let http = server.http();
    let denied =
        http.get(server.execute_api(&api, "/ping")).header("x-pass", "no").send().await.expect("GET");
    assert_eq!(denied.status(), 403);
    let allowed =
        http.get(server.execute_api(&api, "/ping")).header("x-pass", "yes").send().await.expect("GET");
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.text().await.expect("body"), r#"{"who": "tester"}"#);

    // The stage's access log settings came from the template: both requests are logged.
    let logs = server.logs("test", "us-east-1").await;
    let mut lines = Vec::new();
    for _ in 0..50 {
        let out = logs.filter_log_events().log_group_name("gated-access").send().await.expect("filter");
        lines = out.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect::<Vec<_>>();
        if lines.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ends: Vec<&str> = lines.iter().map(|l| l.split_once(' ').map_or("", |(_, rest)| rest)).collect();
    assert_eq!(ends, ["GET /ping 403", "GET /ping 200"]);
}

const REST_API_WITH_AUTH: &str = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      Auth:
        DefaultAuthorizer: Tokens
        Authorizers:
          Tokens:
            FunctionArn: !GetAtt TokenFunction.Arn
            Identity:
              Header: X-Token
              ReauthorizeEvery: 0
  TokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        def handler(event, context):
            effect = "Allow" if event["authorizationToken"] == "open-sesame" else "Deny"
            return {"principalId": "caller", "context": {"tier": "gold"}, "policyDocument": {"Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]}}
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      InlineCode: |
        import json
        def handler(event, context):
            return {"statusCode": 200, "body": json.dumps(event["requestContext"].get("authorizer"))}
      Events:
        Hello: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /hello, Method: get}}
        Public: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /public, Method: get, Auth: {Authorizer: NONE}}}
        Keyed: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /keyed, Method: get, Auth: {Authorizer: NONE, ApiKeyRequired: true}}}
Outputs:
  ApiId: {Value: !Ref Api}
"#;

/// A SAM REST API's `Auth` reaches the API through its OpenAPI body: the TOKEN authorizer
/// guards the default routes (401 without the header, 403 when it denies), `Authorizer: NONE`
/// opens a route, and `ApiKeyRequired` demands a key.
#[tokio::test]
async fn a_rest_api_with_a_token_authorizer_and_an_api_key_from_sam() {
    let server = Server::ephemeral();
    let api = create_sam_stack(&server, "guarded-rest", REST_API_WITH_AUTH).await["ApiId"].clone();
    let http = server.http();
    let url = |path: &str| server.execute_api(&api, &format!("/dev{path}"));
    let missing = http.get(url("/hello")).send().await.expect("GET");
    assert_eq!(missing.status(), 401);
    let denied = http.get(url("/hello")).header("x-token", "wrong").send().await.expect("GET");
    assert_eq!(denied.status(), 403);
    let allowed = http.get(url("/hello")).header("x-token", "open-sesame").send().await.expect("GET");
    assert_eq!(allowed.status(), 200);
    let context: serde_json::Value =
        serde_json::from_str(&allowed.text().await.expect("body")).expect("json");
    assert_eq!((context["principalId"].as_str(), context["tier"].as_str()), (Some("caller"), Some("gold")));
    let open = http.get(url("/public")).send().await.expect("GET");
    assert_eq!(open.status(), 200);
    let keyless = http.get(url("/keyed")).send().await.expect("GET");
    assert_eq!(keyless.status(), 403);
}
