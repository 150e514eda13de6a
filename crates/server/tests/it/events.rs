//! EventBridge through the Rust SDK: a custom bus, a rule fanning an `OrderPlaced` event out to
//! three real Python functions (one through an InputTransformer), errors in EventBridge's words,
//! an acknowledged event delivered after a SIGKILL and a restart, and API destinations: HTTPS
//! endpoints in the test (trusted through `SSL_CERT_FILE`) get the request an event becomes,
//! with API key and OAuth connections, retries and the dead-letter queue.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_eventbridge::types::{
    ApiDestinationHttpMethod, ApiDestinationState, ConnectionAuthorizationType, ConnectionHeaderParameter,
    ConnectionHttpParameters, ConnectionOAuthHttpMethod, ConnectionQueryStringParameter, ConnectionState,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
    CreateConnectionOAuthClientRequestParameters, CreateConnectionOAuthRequestParameters, HttpParameters,
    InputTransformer, PutEventsRequestEntry, Target,
};
use serde_json::{Value, json};

use crate::harness::{Server, receive};
use crate::lambda::{PY_RECORDER, create_python, lines_of, wait_for_lines};

fn order(detail_type: &str, bus: &str) -> PutEventsRequestEntry {
    PutEventsRequestEntry::builder()
        .source("com.shop.orders")
        .detail_type(detail_type)
        .detail(r#"{"orderId": "o-1", "total": 42.5, "customer": {"email": "a@example.com"}}"#)
        .event_bus_name(bus)
        .build()
}

/// A recording function per name, each writing to its own file under `dir`.
async fn recorders(server: &Server, dir: &Path, names: &[&str]) -> Vec<String> {
    let lambda = server.lambda("test", "us-east-1").await;
    let mut arns = Vec::new();
    for name in names {
        let file = dir.join(format!("{name}.jsonl"));
        let f =
            create_python(&lambda, name, PY_RECORDER, &[("RECORD_TO", file.to_str().expect("utf-8"))]).await;
        arns.push(f.function_arn().expect("arn").to_owned());
    }
    arns
}

#[tokio::test]
async fn order_placed_fans_out_to_three_functions() {
    let server = Server::ephemeral();
    let out = tempfile::tempdir().expect("tempdir");
    let arns = recorders(&server, out.path(), &["inventory", "email", "fraud"]).await;
    let events = server.events("test", "us-east-1").await;

    events.create_event_bus().name("orders").send().await.expect("create bus");
    let rule = events
        .put_rule()
        .name("order-placed")
        .event_bus_name("orders")
        .event_pattern(r#"{"source":["com.shop.orders"],"detail-type":["OrderPlaced"],"detail":{"total":[{"numeric":[">",0]}]}}"#)
        .send()
        .await
        .expect("put rule");
    assert_eq!(rule.rule_arn(), Some("arn:aws:events:us-east-1:000000000000:rule/orders/order-placed"));
    let transformer = InputTransformer::builder()
        .input_paths_map("order", "$.detail.orderId")
        .input_paths_map("email", "$.detail.customer.email")
        .input_template(
            r#"{"to": <email>, "subject": "Order <order> placed", "rule": <aws.events.rule-name>}"#,
        )
        .build()
        .expect("transformer");
    let put = events
        .put_targets()
        .rule("order-placed")
        .event_bus_name("orders")
        .targets(Target::builder().id("inventory").arn(&arns[0]).build().expect("target"))
        .targets(
            Target::builder()
                .id("email")
                .arn(&arns[1])
                .input_transformer(transformer)
                .build()
                .expect("target"),
        )
        .targets(Target::builder().id("fraud").arn(&arns[2]).input_path("$.detail").build().expect("target"))
        .send()
        .await
        .expect("put targets");
    assert_eq!(put.failed_entry_count(), 0);

    let sent = events
        .put_events()
        .entries(order("OrderPlaced", "orders"))
        .entries(order("OrderShipped", "orders"))
        .send()
        .await
        .expect("put events");
    assert_eq!(sent.failed_entry_count(), 0);
    let placed_id = sent.entries()[0].event_id().expect("event id").to_owned();

    let inventory = wait_for_lines(&out.path().join("inventory.jsonl"), 1, Duration::from_secs(30)).await;
    let email = wait_for_lines(&out.path().join("email.jsonl"), 1, Duration::from_secs(30)).await;
    let fraud = wait_for_lines(&out.path().join("fraud.jsonl"), 1, Duration::from_secs(30)).await;
    let event = &inventory.first().expect("inventory got the event")["event"];
    assert_eq!(event["id"], placed_id.as_str());
    assert_eq!(event["detail-type"], "OrderPlaced");
    assert_eq!(event["source"], "com.shop.orders");
    assert_eq!(event["account"], "000000000000");
    assert_eq!(event["region"], "us-east-1");
    assert_eq!(event["version"], "0");
    assert_eq!(event["resources"], json!([]));
    assert_eq!(event["detail"]["total"], 42.5);
    assert_eq!(
        email.first().expect("email got the event")["event"],
        json!({"to": "a@example.com", "subject": "Order o-1 placed", "rule": "order-placed"})
    );
    assert_eq!(fraud.first().expect("fraud got the detail")["event"]["orderId"], "o-1");

    // The non-matching OrderShipped reached nobody: give it time, then count again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for name in ["inventory", "email", "fraud"] {
        let lines: Vec<Value> = lines_of(&out.path().join(format!("{name}.jsonl")));
        assert_eq!(lines.len(), 1, "{name} got only OrderPlaced: {lines:?}");
    }

    let e = events
        .delete_rule()
        .name("order-placed")
        .event_bus_name("orders")
        .send()
        .await
        .expect_err("has targets");
    assert_eq!(
        e.as_service_error().and_then(|e| e.meta().message()),
        Some("Rule can't be deleted since it has targets.")
    );
    let e = events.describe_rule().name("order-placed").send().await.expect_err("not on default");
    assert!(e.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()));
    let e =
        events.put_rule().name("bad").event_pattern(r#"{"source":"x"}"#).send().await.expect_err("invalid");
    assert!(e.as_service_error().is_some_and(|e| e.is_invalid_event_pattern_exception()));
    assert_eq!(
        e.as_service_error().and_then(|e| e.meta().message()),
        Some("Event pattern is not valid. Reason: \"source\" must be an object or an array")
    );
    let tested = events
        .test_event_pattern()
        .event_pattern(r#"{"detail":{"n":[{"numeric":[">=",300]}]}}"#)
        .event(r#"{"id":"1","account":"1","source":"s","time":"2024-01-01T00:00:00Z","region":"r","detail-type":"d","detail":{"n":300.0}}"#)
        .send()
        .await
        .expect("test pattern");
    assert!(tested.result());
}

#[tokio::test]
async fn an_acknowledged_event_is_delivered_after_sigkill() {
    let data = tempfile::tempdir().expect("tempdir");
    let out = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(data.path());
    let arns = recorders(&server, out.path(), &["durable"]).await;
    let events = server.events("test", "us-east-1").await;
    events
        .put_rule()
        .name("all")
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("put rule");
    events
        .put_targets()
        .rule("all")
        .targets(Target::builder().id("d").arn(&arns[0]).build().expect("target"))
        .send()
        .await
        .expect("put targets");
    // Acknowledged, then killed at once: whether the worker got to it or not, the event must
    // reach the function, after the restart if not before.
    let sent = events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");
    assert_eq!(sent.failed_entry_count(), 0);
    server.kill9();
    server.restart();
    let lines = wait_for_lines(&out.path().join("durable.jsonl"), 1, Duration::from_secs(30)).await;
    assert!(
        lines.iter().any(|l| l["event"]["detail"]["orderId"] == "o-1"),
        "the acknowledged event was delivered: {lines:?}"
    );
    // The rule survived the restart too.
    let rules = server.events("test", "us-east-1").await.list_rules().send().await.expect("list");
    assert_eq!(rules.rules().len(), 1);
}

#[tokio::test]
async fn queues_buses_and_dead_letter_queues_as_targets() {
    let server = Server::ephemeral();
    let events = server.events("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let mut urls = Vec::new();
    for name in ["orders-q", "dlq", "audit-q"] {
        urls.push(crate::harness::create_queue(&sqs, name).await);
    }
    let arn = |name: &str| format!("arn:aws:sqs:us-east-1:000000000000:{name}");
    events.create_event_bus().name("audit").send().await.expect("bus");
    for (bus, rule) in [("default", "orders"), ("audit", "audit")] {
        events
            .put_rule()
            .name(rule)
            .event_bus_name(bus)
            .event_pattern(r#"{"source":["com.shop.orders"]}"#)
            .send()
            .await
            .expect("put rule");
    }
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:does-not-exist";
    let put = events
        .put_targets()
        .rule("orders")
        .targets(Target::builder().id("q").arn(arn("orders-q")).input_path("$.detail").build().expect("t"))
        .targets(
            Target::builder()
                .id("gone")
                .arn(missing)
                .dead_letter_config(
                    aws_sdk_eventbridge::types::DeadLetterConfig::builder().arn(arn("dlq")).build(),
                )
                .build()
                .expect("t"),
        )
        .targets(
            Target::builder()
                .id("bus")
                .arn("arn:aws:events:us-east-1:000000000000:event-bus/audit")
                .build()
                .expect("t"),
        )
        .send()
        .await
        .expect("put targets");
    assert_eq!(put.failed_entry_count(), 0, "{put:?}");
    events
        .put_targets()
        .rule("audit")
        .event_bus_name("audit")
        .targets(Target::builder().id("q").arn(arn("audit-q")).build().expect("t"))
        .send()
        .await
        .expect("put targets");
    events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");

    let got = receive(&sqs, &urls[0], 1).await;
    assert_eq!(got.len(), 1);
    let detail: Value = serde_json::from_str(got[0].body().expect("body")).expect("json");
    assert_eq!(detail["orderId"], "o-1", "InputPath applied");

    let dead = receive(&sqs, &urls[1], 1).await;
    assert_eq!(dead.len(), 1, "the missing function's event is in its DLQ");
    let event: Value = serde_json::from_str(dead[0].body().expect("body")).expect("json");
    assert_eq!(event["detail-type"], "OrderPlaced", "the DLQ gets the event itself");
    let attr = |name: &str| {
        dead[0]
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .map(str::to_owned)
    };
    assert_eq!(attr("ERROR_CODE").as_deref(), Some("NO_RESOURCE"));
    assert_eq!(attr("TARGET_ARN").as_deref(), Some(missing));
    assert_eq!(attr("RULE_ARN").as_deref(), Some("arn:aws:events:us-east-1:000000000000:rule/orders"));
    assert_eq!(attr("RETRY_ATTEMPTS").as_deref(), Some("0"));

    let audited = receive(&sqs, &urls[2], 1).await;
    assert_eq!(audited.len(), 1, "the event went on to the audit bus and its rule");
    let event: Value = serde_json::from_str(audited[0].body().expect("body")).expect("json");
    assert_eq!(event["source"], "com.shop.orders");
}

#[tokio::test]
async fn an_archive_replays_its_events_with_the_replay_name() {
    let server = Server::ephemeral();
    let events = server.events("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let url = crate::harness::create_queue(&sqs, "replayed").await;
    let bus = "arn:aws:events:us-east-1:000000000000:event-bus/default";
    events
        .create_archive()
        .archive_name("orders")
        .event_source_arn(bus)
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("create archive");
    events
        .put_rule()
        .name("all")
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("all")
        .targets(
            Target::builder().id("q").arn("arn:aws:sqs:us-east-1:000000000000:replayed").build().expect("t"),
        )
        .send()
        .await
        .expect("targets");
    events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");
    let first = receive(&sqs, &url, 1).await;
    assert_eq!(first.len(), 1);
    for m in &first {
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().expect("rh"))
            .send()
            .await
            .expect("delete");
    }
    let archive = events.describe_archive().archive_name("orders").send().await.expect("describe");
    assert_eq!(archive.event_count(), 1);

    let now = std::time::SystemTime::now();
    let started = events
        .start_replay()
        .replay_name("again")
        .event_source_arn("arn:aws:events:us-east-1:000000000000:archive/orders")
        .event_start_time(aws_sdk_eventbridge::primitives::DateTime::from(now - Duration::from_secs(3600)))
        .event_end_time(aws_sdk_eventbridge::primitives::DateTime::from(now + Duration::from_secs(60)))
        .destination(aws_sdk_eventbridge::types::ReplayDestination::builder().arn(bus).build().expect("dest"))
        .send()
        .await
        .expect("start replay");
    assert_eq!(started.state().map(|s| s.as_str()), Some("STARTING"));
    let replayed = receive(&sqs, &url, 1).await;
    assert_eq!(replayed.len(), 1, "the archived event came back");
    let event: Value = serde_json::from_str(replayed[0].body().expect("body")).expect("json");
    assert_eq!(event["replay-name"], "again");
    assert_eq!(event["detail"]["orderId"], "o-1");
    let replay = events.describe_replay().replay_name("again").send().await.expect("describe replay");
    assert_eq!(replay.state().map(|s| s.as_str()), Some("COMPLETED"));
    let e = events
        .start_replay()
        .replay_name("elsewhere")
        .event_source_arn("arn:aws:events:us-east-1:000000000000:archive/nope")
        .event_start_time(aws_sdk_eventbridge::primitives::DateTime::from(now - Duration::from_secs(3600)))
        .event_end_time(aws_sdk_eventbridge::primitives::DateTime::from(now))
        .destination(aws_sdk_eventbridge::types::ReplayDestination::builder().arn(bus).build().expect("dest"))
        .send()
        .await
        .expect_err("no such archive");
    assert_eq!(
        e.as_service_error().and_then(|e| e.meta().message()),
        Some("Parameter EventSourceArn is not valid. Reason: Archive nope does not exist.")
    );
}

#[tokio::test]
async fn a_topic_target_reaches_the_topics_subscribers() {
    let server = Server::ephemeral();
    let events = server.events("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let sns = server.sns("test", "us-east-1").await;
    let url = crate::harness::create_queue(&sqs, "alerts-q").await;
    let topic =
        sns.create_topic().name("alerts").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:000000000000:alerts-q")
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    events
        .put_rule()
        .name("alerts")
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("alerts")
        .targets(Target::builder().id("t").arn(&topic).input_path("$.detail").build().expect("t"))
        .send()
        .await
        .expect("targets");
    events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");
    let got = receive(&sqs, &url, 1).await;
    assert_eq!(got.len(), 1, "EventBridge → SNS → SQS");
    let detail: Value = serde_json::from_str(got[0].body().expect("body")).expect("json");
    assert_eq!(detail["orderId"], "o-1");
}

/// A rule may target another account's bus, which takes the event only once that bus's
/// policy (PutPermission) lets the sending account in; RemovePermission takes it away again.
#[tokio::test]
async fn another_accounts_bus_needs_its_permission() {
    let server = Server::ephemeral();
    let (sender, receiver) = ("111111111111", "222222222222");
    let sender_events = server.events(sender, "us-east-1").await;
    let receiver_events = server.events(receiver, "us-east-1").await;
    let receiver_sqs = server.sqs(receiver, "us-east-1").await;
    let url = crate::harness::create_queue(&receiver_sqs, "inbox").await;
    receiver_events
        .put_rule()
        .name("from-partners")
        .event_pattern(r#"{"source":["com.partner"]}"#)
        .send()
        .await
        .expect("receiver rule");
    receiver_events
        .put_targets()
        .rule("from-partners")
        .targets(
            Target::builder()
                .id("q")
                .arn(format!("arn:aws:sqs:us-east-1:{receiver}:inbox"))
                .build()
                .expect("t"),
        )
        .send()
        .await
        .expect("receiver target");
    sender_events
        .put_rule()
        .name("to-partner")
        .event_pattern(r#"{"source":["com.partner"]}"#)
        .send()
        .await
        .expect("sender rule");
    let receiver_bus = format!("arn:aws:events:us-east-1:{receiver}:event-bus/default");
    sender_events
        .put_targets()
        .rule("to-partner")
        .targets(Target::builder().id("bus").arn(&receiver_bus).build().expect("t"))
        .send()
        .await
        .expect("sender target");
    let send = |n: u32| {
        let events = sender_events.clone();
        async move {
            let entry = PutEventsRequestEntry::builder()
                .source("com.partner")
                .detail_type("Ping")
                .detail(format!(r#"{{"n": {n}}}"#))
                .build();
            let out = events.put_events().entries(entry).send().await.expect("put");
            assert_eq!(out.failed_entry_count(), 0);
        }
    };

    // No policy yet: the receiver's bus refuses the sender's event.
    send(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let early = receiver_sqs.receive_message().queue_url(&url).send().await.expect("receive");
    assert!(early.messages().is_empty(), "{:?}", early.messages());

    receiver_events
        .put_permission()
        .action("events:PutEvents")
        .principal(sender)
        .statement_id("partner")
        .send()
        .await
        .expect("put permission");
    let bus = receiver_events.describe_event_bus().send().await.expect("describe");
    let policy: Value = serde_json::from_str(bus.policy().expect("a policy")).expect("json");
    assert_eq!(policy["Statement"][0]["Sid"], "partner");
    assert_eq!(policy["Statement"][0]["Principal"]["AWS"], format!("arn:aws:iam::{sender}:root"));
    assert_eq!(policy["Statement"][0]["Resource"], receiver_bus);

    send(2).await;
    let got = receive(&receiver_sqs, &url, 1).await;
    assert_eq!(got.len(), 1);
    let event: Value = serde_json::from_str(got[0].body().unwrap_or_default()).expect("event");
    assert_eq!(event["detail"], json!({"n": 2}));
    assert_eq!(event["account"], sender);

    receiver_events.remove_permission().statement_id("partner").send().await.expect("remove");
    let bus = receiver_events.describe_event_bus().send().await.expect("describe");
    assert_eq!(bus.policy(), None, "the last statement gone, no policy is left");
    let err = receiver_events.remove_permission().statement_id("partner").send().await.expect_err("gone");
    assert_eq!(err.into_service_error().meta().code(), Some("ResourceNotFoundException"));
    let err = receiver_events
        .put_permission()
        .action("events:PutEvents")
        .principal("12345")
        .statement_id("bad")
        .send()
        .await
        .expect_err("refused");
    assert_eq!(err.into_service_error().meta().code(), Some("ValidationException"));
}

/// A local HTTPS endpoint: `/token` answers an OAuth token; any other path answers the next
/// status of `statuses` (200 once they run out). Every request (head, body) is recorded.
async fn https_endpoint(statuses: Vec<u16>) -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let mut statuses = statuses.into_iter();
    outbound::fixtures::recording_endpoint(move |(head, _)| {
        if head.split_whitespace().nth(1).is_some_and(|p| p.starts_with("/token")) {
            (200, r#"{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"#.to_owned())
        } else {
            (statuses.next().unwrap_or(200), String::new())
        }
    })
    .await
}

/// Waits until the endpoint has recorded `n` requests (10 s at most) and takes them.
async fn requests(got: &Arc<Mutex<Vec<(String, String)>>>, n: usize) -> Vec<(String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if got.lock().expect("lock").len() >= n {
            return std::mem::take(&mut *got.lock().expect("lock"));
        }
        assert!(std::time::Instant::now() < deadline, "the endpoint got {:?}", got.lock().expect("lock"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn https_server() -> Server {
    Server::start_with_env(None, &["--ephemeral"], &[("SSL_CERT_FILE", outbound::fixtures::CA_FILE)])
}

async fn api_key_connection(events: &aws_sdk_eventbridge::Client, name: &str) -> String {
    let params = ConnectionHttpParameters::builder()
        .header_parameters(ConnectionHeaderParameter::builder().key("x-team").value("payments").build())
        .query_string_parameters(ConnectionQueryStringParameter::builder().key("v").value("2").build())
        .build();
    let created = events
        .create_connection()
        .name(name)
        .authorization_type(ConnectionAuthorizationType::ApiKey)
        .auth_parameters(
            CreateConnectionAuthRequestParameters::builder()
                .api_key_auth_parameters(
                    CreateConnectionApiKeyAuthRequestParameters::builder()
                        .api_key_name("x-api-key")
                        .api_key_value("s3cret")
                        .build()
                        .expect("api key"),
                )
                .invocation_http_parameters(params)
                .build(),
        )
        .send()
        .await
        .expect("create connection");
    assert_eq!(created.connection_state(), Some(&ConnectionState::Authorized));
    created.connection_arn().expect("arn").to_owned()
}

#[tokio::test]
async fn a_rule_sends_the_event_to_an_api_destination() {
    let server = https_server();
    let events = server.events("test", "us-east-1").await;
    let (port, got) = https_endpoint(Vec::new()).await;
    let conn = api_key_connection(&events, "shop-api").await;
    let described = events.describe_connection().name("shop-api").send().await.expect("describe");
    assert!(
        described.secret_arn().is_some_and(|a| a
            .starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/shop-api/")),
        "{described:?}"
    );
    assert_eq!(
        described.auth_parameters().and_then(|a| a.api_key_auth_parameters()).and_then(|k| k.api_key_name()),
        Some("x-api-key")
    );
    let dest = events
        .create_api_destination()
        .name("orders-api")
        .connection_arn(&conn)
        .invocation_endpoint(format!("https://localhost:{port}/orders/*/events"))
        .http_method(ApiDestinationHttpMethod::Put)
        .send()
        .await
        .expect("create api destination");
    assert_eq!(dest.api_destination_state(), Some(&ApiDestinationState::Active));
    let dest_arn = dest.api_destination_arn().expect("arn").to_owned();
    assert!(dest_arn.starts_with("arn:aws:events:us-east-1:000000000000:api-destination/orders-api/"));

    events
        .put_rule()
        .name("to-api")
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("rule");
    let http = HttpParameters::builder()
        .path_parameter_values("o-1")
        .header_parameters("x-trace", "t-9")
        .header_parameters("x-team", "overridden")
        .query_string_parameters("mode", "fast")
        .build();
    let transformer = InputTransformer::builder()
        .input_paths_map("order", "$.detail.orderId")
        .input_template(r#"{"order": <order>, "rule": <aws.events.rule-name>}"#)
        .build()
        .expect("transformer");
    let put = events
        .put_targets()
        .rule("to-api")
        .targets(
            Target::builder()
                .id("api")
                .arn(&dest_arn)
                .http_parameters(http)
                .input_transformer(transformer)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");
    assert_eq!(put.failed_entry_count(), 0, "{put:?}");
    events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");

    let got = requests(&got, 1).await;
    let (head, body) = &got[0];
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("put /orders/o-1/events?mode=fast&v=2 http/1.1"), "{head}");
    for h in [
        "x-api-key: s3cret",
        "x-team: payments",
        "x-trace: t-9",
        "user-agent: amazon/eventbridge/apidestinations",
        "content-type: application/json; charset=utf-8",
    ] {
        assert!(lower.contains(h), "{h} in {head}");
    }
    assert_eq!(serde_json::from_str::<Value>(body).expect("json"), json!({"order": "o-1", "rule": "to-api"}));

    // The connection's secrets never come back; unknown names are refused in EventBridge's words.
    let e = events.describe_connection().name("nope").send().await.expect_err("missing").into_service_error();
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some("Failed to describe the connection(s). Connection 'nope' does not exist.")
    );
    let listed = events.list_api_destinations().connection_arn(&conn).send().await.expect("list");
    assert_eq!(listed.api_destinations().len(), 1);
}

#[tokio::test]
async fn refused_events_reach_the_dlq_and_failing_endpoints_are_retried() {
    let server = https_server();
    let events = server.events("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let dlq_url = crate::harness::create_queue(&sqs, "api-dlq").await;
    let dlq = "arn:aws:sqs:us-east-1:000000000000:api-dlq";
    let (bad_port, bad) = https_endpoint(vec![400]).await;
    let (flaky_port, flaky) = https_endpoint(vec![500, 200]).await;
    let conn = api_key_connection(&events, "c").await;
    let mut arns = Vec::new();
    for (name, port) in [("bad", bad_port), ("flaky", flaky_port)] {
        let dest = events
            .create_api_destination()
            .name(name)
            .connection_arn(&conn)
            .invocation_endpoint(format!("https://localhost:{port}/hook"))
            .http_method(ApiDestinationHttpMethod::Post)
            .send()
            .await
            .expect("destination");
        arns.push(dest.api_destination_arn().expect("arn").to_owned());
    }
    events
        .put_rule()
        .name("r")
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("rule");
    let dead_letter = aws_sdk_eventbridge::types::DeadLetterConfig::builder().arn(dlq).build();
    events
        .put_targets()
        .rule("r")
        .targets(
            Target::builder()
                .id("bad")
                .arn(&arns[0])
                .dead_letter_config(dead_letter.clone())
                .build()
                .expect("t"),
        )
        .targets(
            Target::builder().id("flaky").arn(&arns[1]).dead_letter_config(dead_letter).build().expect("t"),
        )
        .send()
        .await
        .expect("put targets");
    events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");

    let dead = receive(&sqs, &dlq_url, 1).await;
    assert_eq!(dead.len(), 1, "the 400 goes to the DLQ, without retries");
    let event: Value = serde_json::from_str(dead[0].body().expect("body")).expect("json");
    assert_eq!(event["detail-type"], "OrderPlaced");
    let attr = |name: &str| {
        dead[0]
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .map(str::to_owned)
    };
    assert_eq!(attr("ERROR_CODE").as_deref(), Some("ERROR_FROM_TARGET"));
    assert_eq!(attr("TARGET_ARN").as_deref(), Some(arns[0].as_str()));
    assert_eq!(attr("RULE_ARN").as_deref(), Some("arn:aws:events:us-east-1:000000000000:rule/r"));
    assert_eq!(attr("RETRY_ATTEMPTS").as_deref(), Some("0"));
    assert!(attr("ERROR_MESSAGE").is_some_and(|m| m.contains("400")), "{:?}", attr("ERROR_MESSAGE"));
    assert_eq!(requests(&bad, 1).await.len(), 1);

    // 500, then 200 on the retry: the same event, twice, and nothing in the DLQ.
    let tries = requests(&flaky, 2).await;
    assert_eq!(tries.len(), 2);
    assert_eq!(tries[0].1, tries[1].1);
    let event: Value = serde_json::from_str(&tries[1].1).expect("the event");
    assert_eq!(event["detail"]["orderId"], "o-1");
    assert!(receive(&sqs, &dlq_url, 1).await.is_empty());
}

#[tokio::test]
async fn an_oauth_connection_fetches_its_token_and_sends_it() {
    let server = https_server();
    let events = server.events("test", "us-east-1").await;
    let (port, got) = https_endpoint(Vec::new()).await;
    let oauth = CreateConnectionOAuthRequestParameters::builder()
        .client_parameters(
            CreateConnectionOAuthClientRequestParameters::builder()
                .client_id("my-client")
                .client_secret("my-secret")
                .build()
                .expect("client"),
        )
        .authorization_endpoint(format!("https://localhost:{port}/token"))
        .http_method(ConnectionOAuthHttpMethod::Post)
        .o_auth_http_parameters(
            ConnectionHttpParameters::builder()
                .body_parameters(
                    aws_sdk_eventbridge::types::ConnectionBodyParameter::builder()
                        .key("grant_type")
                        .value("client_credentials")
                        .build(),
                )
                .build(),
        )
        .build()
        .expect("oauth");
    let created = events
        .create_connection()
        .name("oauth")
        .authorization_type(ConnectionAuthorizationType::OauthClientCredentials)
        .auth_parameters(CreateConnectionAuthRequestParameters::builder().o_auth_parameters(oauth).build())
        .send()
        .await
        .expect("create connection");
    assert_eq!(created.connection_state(), Some(&ConnectionState::Authorizing));
    let conn = created.connection_arn().expect("arn").to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let d = events.describe_connection().name("oauth").send().await.expect("describe");
        if d.connection_state() == Some(&ConnectionState::Authorized) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{d:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token_request = requests(&got, 1).await;
    let (head, body) = &token_request[0];
    let lower = head.to_ascii_lowercase();
    assert!(lower.starts_with("post /token http/1.1"), "{head}");
    let basic = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "my-client:my-secret");
    assert!(lower.contains(&format!("authorization: basic {}", basic.to_ascii_lowercase())), "{head}");
    assert_eq!(body, "grant_type=client_credentials");

    let dest = events
        .create_api_destination()
        .name("partner")
        .connection_arn(&conn)
        .invocation_endpoint(format!("https://localhost:{port}/partner"))
        .http_method(ApiDestinationHttpMethod::Post)
        .send()
        .await
        .expect("destination");
    assert_eq!(dest.api_destination_state(), Some(&ApiDestinationState::Active));
    events
        .put_rule()
        .name("r")
        .event_pattern(r#"{"source":["com.shop.orders"]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule("r")
        .targets(Target::builder().id("p").arn(dest.api_destination_arn().expect("arn")).build().expect("t"))
        .send()
        .await
        .expect("put targets");
    events.put_events().entries(order("OrderPlaced", "default")).send().await.expect("put events");
    let sent = requests(&got, 1).await;
    assert!(sent[0].0.to_ascii_lowercase().starts_with("post /partner http/1.1"), "{sent:?}");
    assert!(sent[0].0.to_ascii_lowercase().contains("authorization: bearer tok-1"), "{sent:?}");
}
