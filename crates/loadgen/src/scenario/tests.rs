//! Scenario names and the names write scenarios make.

use crate::scenario::{Op, Options, Scenario};

#[test]
fn names_round_trip() {
    for scenario in Scenario::ALL {
        assert_eq!(scenario.name().parse::<Scenario>(), Ok(scenario));
    }
    let unknown = "sqs-send".parse::<Scenario>().expect_err("not a scenario yet");
    assert!(unknown.contains("iam-get-role"), "{unknown}");
}

#[test]
fn created_role_names_are_unique_and_within_iam_limits() {
    let create = |worker, seq| {
        let call =
            Scenario::IamCreateDeleteRole.call(Op { run: "ffffffff", worker, seq }, &Options::default());
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
    let call = Scenario::LambdaInvoke.call(Op { run: "r", worker: 0, seq: 7 }, &Options::default());
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
    let call = Scenario::SnsPublish.call(Op { run: "r", worker: 0, seq: 9 }, &Options::default());
    let body = String::from_utf8(call.body.to_vec()).expect("text");
    assert!(body.starts_with("Action=Publish&Version=2010-03-31&TopicArn="), "{body}");
    assert!(body.ends_with("Message=%7B%22seq%22%3A9%7D"), "{body}");
    assert_eq!(Options::account_of("123456789012"), "123456789012");
    assert_eq!(Options::account_of("test"), "000000000000");
}

#[test]
fn s3_scenarios_write_1_kib_objects_and_clean_up() {
    let op = Op { run: "r", worker: 2, seq: 9 };
    let put = Scenario::S3Put.call(op, &Options::default());
    assert_eq!(put.path_and_query, "/nimbus-loadgen/lg-r-2-9");
    assert_eq!(put.body.len(), 1024);
    assert_eq!(Scenario::S3Put.undo(op).map(|c| c.method), Some(http::Method::DELETE));
    let setup = Scenario::S3Get.setup(&Options::default());
    assert_eq!(setup.len(), 2);
    assert_eq!(setup[1].call.path_and_query, "/nimbus-loadgen/read-1k");
    assert_eq!(Scenario::S3Get.call(op, &Options::default()).method, http::Method::GET);
}
