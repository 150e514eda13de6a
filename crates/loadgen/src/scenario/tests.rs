//! Scenario names and the names write scenarios make.

use crate::scenario::{Op, Options, Scenario};

#[test]
fn names_round_trip() {
    for scenario in Scenario::ALL {
        assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
    }
    let unknown = "kinesis-put".parse::<Scenario>().expect_err("not a scenario");
    assert!(unknown.contains("iam-get-role"), "{unknown}");
}

#[test]
fn created_role_names_are_unique_and_within_iam_limits() {
    let create = |worker, seq| {
        let call = Scenario::IamCreateDeleteRole.call(
            Op { run: "ffffffff", worker, seq },
            &Options::default(),
            None,
        );
        String::from_utf8(call.body.to_vec()).expect("form bodies are text")
    };
    let longest = create(usize::MAX, u64::MAX);
    let name = longest.split("RoleName=").nth(1).and_then(|s| s.split('&').next()).expect("has a RoleName");
    assert!(name.len() <= 64, "{name} is longer than IAM allows");
    assert_ne!(create(0, 1), create(1, 0));
    assert!(Scenario::IamCreateDeleteRole.has_undo());
    assert!(!Scenario::IamGetRole.has_undo());
}

#[test]
fn lambda_invoke_creates_its_function_with_a_real_package() {
    use base64::Engine as _;
    let setup = Scenario::LambdaInvoke.setup(&Options::default());
    assert_eq!(setup.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&setup[0].call.body).expect("json body");
    assert_eq!(body["FunctionName"], crate::scenario::INVOKE_FUNCTION);
    assert_eq!(body["Runtime"], "python3.12");
    assert_eq!(body["MemorySize"], 128);
    let zip = base64::engine::general_purpose::STANDARD
        .decode(body["Code"]["ZipFile"].as_str().expect("zip"))
        .expect("base64");
    assert!(zip.starts_with(b"PK\x03\x04"), "a zip archive");
    let call = Scenario::LambdaInvoke.call(Op { run: "r", worker: 0, seq: 7 }, &Options::default(), None);
    assert_eq!(call.path_and_query, "/2015-03-31/functions/nimbus-loadgen-fn/invocations");
    assert_eq!(call.body.as_ref(), br#"{"seq":7}"#);
}

#[test]
fn sns_publish_sets_up_a_subscribed_queue() {
    let setup = Scenario::SnsPublish.setup(&Options::default());
    let bodies: Vec<String> = setup
        .iter()
        .map(|s| String::from_utf8(s.call.body.to_vec()).expect("form bodies are text"))
        .collect();
    assert!(bodies[0].starts_with("Action=CreateQueue&Version=2012-11-05"), "{}", bodies[0]);
    assert!(bodies[1].starts_with("Action=CreateTopic&Version=2010-03-31"), "{}", bodies[1]);
    assert!(bodies[2].contains("Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A000000000000%3Animbus-loadgen-sns"));
    let call = Scenario::SnsPublish.call(Op { run: "r", worker: 0, seq: 9 }, &Options::default(), None);
    let body = String::from_utf8(call.body.to_vec()).expect("text");
    assert!(body.starts_with("Action=Publish&Version=2010-03-31&TopicArn="), "{body}");
    assert!(body.ends_with("Message=%7B%22seq%22%3A9%7D"), "{body}");
    assert_eq!(Options::account_of("123456789012"), "123456789012");
    assert_eq!(Options::account_of("test"), "000000000000");
}

#[test]
fn s3_scenarios_write_1_kib_objects_and_clean_up() {
    let op = Op { run: "r", worker: 2, seq: 9 };
    let put = Scenario::S3Put.call(op, &Options::default(), None);
    assert_eq!(put.path_and_query, "/nimbus-loadgen/lg-r-2-9");
    assert_eq!(put.body.len(), 1024);
    assert_eq!(Scenario::S3Put.undo(op).map(|c| c.method), Some(http::Method::DELETE));
    let setup = Scenario::S3Get.setup(&Options::default());
    assert_eq!(setup.len(), 2);
    assert_eq!(setup[1].call.path_and_query, "/nimbus-loadgen/read-1k");
    assert_eq!(Scenario::S3Get.call(op, &Options::default(), None).method, http::Method::GET);
}

#[test]
fn service_scenarios_speak_each_protocol() {
    let options = Options::default();
    let op = Op { run: "r", worker: 1, seq: 2 };
    let target = |s: Scenario| {
        let call = s.call(op, &options, None);
        let target = call
            .headers
            .iter()
            .find(|(n, _)| n == "x-amz-target")
            .map(|(_, v)| v.to_str().unwrap_or("").to_owned());
        (target, serde_json::from_slice::<serde_json::Value>(&call.body).unwrap_or_default())
    };
    let (t, body) = target(Scenario::DynamodbPut);
    assert_eq!(t.as_deref(), Some("DynamoDB_20120810.PutItem"));
    assert_eq!(body["Item"]["sk"]["S"], "lg-r-1-2");
    // The undo deletes exactly the item the operation wrote.
    let undo = Scenario::DynamodbPut.undo(op).expect("put items are deleted");
    let undo: serde_json::Value = serde_json::from_slice(&undo.body).expect("json");
    assert_eq!(undo["Key"]["sk"], body["Item"]["sk"]);
    let (t, body) = target(Scenario::SqsSend);
    assert_eq!(t.as_deref(), Some("AmazonSQS.SendMessage"));
    assert!(body["QueueUrl"].as_str().unwrap_or("").ends_with("/000000000000/nimbus-loadgen-send"), "{body}");
    let (t, body) = target(Scenario::EventsPut);
    assert_eq!(t.as_deref(), Some("AWSEvents.PutEvents"));
    assert_eq!(body["Entries"][0]["Source"], "nimbus.loadgen");
    // The query's partition holds more items than one page returns.
    let (_, body) = target(Scenario::DynamodbQuery);
    assert!(body["Limit"].as_u64().unwrap_or(0) < crate::scenario::QUERY_ITEMS as u64);
}

#[test]
fn apigw_lambda_calls_the_api_its_setup_created() {
    let setup = Scenario::ApigwLambda.setup(&Options::default());
    let create = setup.last().expect("creates an API");
    assert_eq!(create.capture, Some(("api_id", "apiId")));
    let body: serde_json::Value = serde_json::from_slice(&create.call.body).expect("json");
    assert_eq!(body["target"], "arn:aws:lambda:us-east-1:000000000000:function:nimbus-loadgen-fn");
    let mut options = Options::default();
    options.captured.insert("api_id", "abc123".to_owned());
    let call = Scenario::ApigwLambda.call(Op { run: "r", worker: 0, seq: 0 }, &options, None);
    assert_eq!(call.path_and_query, "/_aws/execute-api/abc123/items");
}

#[test]
fn cold_invokes_each_reach_a_function_of_their_own() {
    let options = Options { cold: Some(("r1".to_owned(), 3)), ..Options::default() };
    let setup = Scenario::LambdaInvokeCold.setup(&options);
    let created: Vec<String> = setup
        .iter()
        .map(|s| {
            let body: serde_json::Value = serde_json::from_slice(&s.call.body).expect("json");
            body["FunctionName"].as_str().expect("name").to_owned()
        })
        .collect();
    assert_eq!(created, ["lg-cold-r1-0", "lg-cold-r1-1", "lg-cold-r1-2"]);
    for (seq, name) in created.iter().enumerate() {
        let op = Op { run: "r1", worker: 0, seq: seq as u64 };
        let call = Scenario::LambdaInvokeCold.call(op, &options, None);
        assert_eq!(call.path_and_query, format!("/2015-03-31/functions/{name}/invocations"));
        let undo = Scenario::LambdaInvokeCold.undo(op).expect("deleted afterwards");
        assert_eq!(undo.path_and_query, format!("/2015-03-31/functions/{name}"));
    }
}

#[test]
fn sqs_delete_uses_up_the_receipt_handles_its_restock_received() {
    let options = Options::default();
    let op = Op { run: "r", worker: 0, seq: 3 };
    let restock = Scenario::SqsDelete.restock(op, &options);
    let targets: Vec<_> = restock
        .iter()
        .filter_map(|c| c.headers.iter().find(|(n, _)| n == "x-amz-target"))
        .map(|(_, v)| v.to_str().unwrap_or(""))
        .collect();
    assert_eq!(targets, ["AmazonSQS.SendMessageBatch", "AmazonSQS.ReceiveMessage"]);
    let answer = br#"{"Messages":[{"MessageId":"1","ReceiptHandle":"rh-1"},{"MessageId":"2","ReceiptHandle":"rh-2"}]}"#;
    assert_eq!(Scenario::SqsDelete.stock_items(answer), ["rh-1", "rh-2"]);
    assert!(Scenario::SqsDelete.stock_items(b"{}").is_empty());
    let delete = Scenario::SqsDelete.call(op, &options, Some("rh-2"));
    let body: serde_json::Value = serde_json::from_slice(&delete.body).expect("json");
    assert_eq!(body["ReceiptHandle"], "rh-2");
    // Scenarios without a stock restock nothing.
    assert!(Scenario::SqsSend.restock(op, &options).is_empty());
}
