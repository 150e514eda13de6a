//! Event source mappings and DynamoDB Streams end to end: real Python functions driven by SQS
//! queues and DynamoDB streams through Lambda's pollers (batch item failures, dead-letter
//! redrive, filters, INSERT/MODIFY/REMOVE images, restarts), and the DynamoDB Streams API
//! through `aws-sdk-dynamodbstreams`.

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_lambda::types::{EventSourcePosition, Filter, FilterCriteria, FunctionResponseType};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use crate::harness::Server;
use crate::lambda::{create_python, lines_of, wait_for_lines};

/// Records every event (one JSON line per invocation) and reports as failed the SQS messages
/// whose body contains "fail".
const PY_CONSUMER: &str = r#"
import os, json

def handler(event, context):
    with open(os.environ["RECORD_TO"], "a") as f:
        f.write(json.dumps(event) + "\n")
    failed = [{"itemIdentifier": r["messageId"]} for r in event.get("Records", []) if "fail" in r.get("body", "")]
    return {"batchItemFailures": failed}
"#;

/// Every record the function received, across invocations, in order.
fn records(path: &Path) -> Vec<Value> {
    lines_of(path).iter().flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default()).collect()
}

async fn wait_for_records(path: &Path, n: usize, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let r = records(path);
        if r.len() >= n || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attrs: &[(QueueAttributeName, &str)],
) -> (String, String) {
    let mut req = sqs.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), *v);
    }
    let url = req.send().await.expect("create queue").queue_url.expect("url");
    (url, format!("arn:aws:sqs:us-east-1:000000000000:{name}"))
}

/// The queue's (visible, in flight) message counts.
async fn held(sqs: &aws_sdk_sqs::Client, url: &str) -> (u32, u32) {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attributes")
        .attributes
        .unwrap_or_default();
    let count = |name: QueueAttributeName| attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(u32::MAX);
    (
        count(QueueAttributeName::ApproximateNumberOfMessages),
        count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

async fn wait_enabled(lambda: &aws_sdk_lambda::Client, uuid: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = lambda.get_event_source_mapping().uuid(uuid).send().await.expect("get mapping");
        if m.state() == Some("Enabled") {
            return;
        }
        assert!(Instant::now() < deadline, "mapping never enabled: {:?}", m.state());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn streamed_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> String {
    let out = ddb
        .create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attr"),
        )
        .key_schema(
            KeySchemaElement::builder().attribute_name("pk").key_type(KeyType::Hash).build().expect("key"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream"),
        )
        .send()
        .await
        .expect("create table");
    out.table_description.and_then(|t| t.latest_stream_arn).expect("stream arn")
}

async fn put(ddb: &aws_sdk_dynamodb::Client, table: &str, pk: &str, v: &str) {
    ddb.put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.to_owned()))
        .item("v", AttributeValue::N(v.to_owned()))
        .send()
        .await
        .expect("put");
}

#[tokio::test]
async fn sqs_mapping_deletes_successes_and_failed_messages_end_in_the_dlq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "consumer", PY_CONSUMER, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    let (dlq_url, dlq_arn) = queue(&sqs, "esm-dlq", &[]).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"2"}}"#);
    let (url, arn) = queue(
        &sqs,
        "esm-source",
        &[(QueueAttributeName::VisibilityTimeout, "1"), (QueueAttributeName::RedrivePolicy, &policy)],
    )
    .await;

    let created = lambda
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&arn)
        .batch_size(10)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await
        .expect("create mapping");
    assert_eq!(created.state(), Some("Creating"));
    assert_eq!(created.batch_size(), Some(10));
    assert_eq!(created.function_arn(), Some("arn:aws:lambda:us-east-1:000000000000:function:consumer"));
    let uuid = created.uuid().expect("uuid").to_owned();
    wait_enabled(&lambda, &uuid).await;

    // A second mapping of the same queue to the same function is a conflict, in Lambda's words.
    let e = lambda
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&arn)
        .send()
        .await
        .expect_err("duplicate");
    let e = e.into_service_error();
    assert!(e.is_resource_conflict_exception(), "{e:?}");
    assert!(e.meta().message().is_some_and(|m| m.contains(&uuid)), "{e:?}");

    for body in ["ok-1", "ok-2", "fail-3"] {
        sqs.send_message().queue_url(&url).message_body(body).send().await.expect("send");
    }
    // The failing message is delivered twice (maxReceiveCount 2), then SQS moves it to the DLQ.
    let deadline = Instant::now() + Duration::from_secs(30);
    let dead = loop {
        let got = sqs.receive_message().queue_url(&dlq_url).wait_time_seconds(1).send().await.expect("dlq");
        if let Some(m) = got.messages.unwrap_or_default().into_iter().next() {
            break m;
        }
        assert!(Instant::now() < deadline, "nothing reached the DLQ; records: {:?}", records(&log));
    };
    assert_eq!(dead.body(), Some("fail-3"));

    let all = records(&log);
    let bodies: Vec<&str> = all.iter().filter_map(|r| r["body"].as_str()).collect();
    assert_eq!(bodies.iter().filter(|b| **b == "ok-1").count(), 1, "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| **b == "ok-2").count(), 1, "{bodies:?}");
    assert_eq!(bodies.iter().filter(|b| **b == "fail-3").count(), 2, "{bodies:?}");
    let first = &all[0];
    assert_eq!(first["eventSource"], "aws:sqs");
    assert_eq!(first["eventSourceARN"], arn.as_str());
    assert_eq!(first["awsRegion"], "us-east-1");
    assert!(first["receiptHandle"].is_string() && first["messageId"].is_string());
    assert_eq!(first["md5OfBody"].as_str().map(str::len), Some(32));
    assert!(first["attributes"]["SentTimestamp"].is_string());
    let counts: Vec<&str> = all
        .iter()
        .filter(|r| r["body"] == "fail-3")
        .filter_map(|r| r["attributes"]["ApproximateReceiveCount"].as_str())
        .collect();
    assert_eq!(counts, ["1", "2"]);
    // The successes were deleted: the source queue is empty.
    assert_eq!(held(&sqs, &url).await, (0, 0));

    // ESM invocations are ordinary invocations: they are in the function's logs.
    let logs = server.logs("test", "us-east-1").await;
    let events = logs
        .filter_log_events()
        .log_group_name("/aws/lambda/consumer")
        .filter_pattern("REPORT")
        .send()
        .await
        .expect("logs");
    assert!(!events.events().is_empty(), "no REPORT lines for the mapping's invokes");

    let deleted = lambda.delete_event_source_mapping().uuid(&uuid).send().await.expect("delete");
    assert_eq!(deleted.state(), Some("Deleting"));
    let e = lambda.get_event_source_mapping().uuid(&uuid).send().await.expect_err("gone");
    assert!(e.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn filter_criteria_drop_messages_that_do_not_match() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "picky", PY_CONSUMER, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    let (url, arn) = queue(&sqs, "filtered", &[]).await;

    let e = lambda
        .create_event_source_mapping()
        .function_name("picky")
        .event_source_arn(&arn)
        .batch_size(50)
        .send()
        .await
        .expect_err("batch over 10 needs a window");
    let e = e.into_service_error();
    assert!(e.is_invalid_parameter_value_exception(), "{e:?}");
    assert_eq!(
        e.meta().message(),
        Some(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
        )
    );

    let created = lambda
        .create_event_source_mapping()
        .function_name("picky")
        .event_source_arn(&arn)
        .filter_criteria(
            FilterCriteria::builder()
                .filters(Filter::builder().pattern(r#"{"body":{"kind":["keep"]}}"#).build())
                .build(),
        )
        .scaling_config(aws_sdk_lambda::types::ScalingConfig::builder().maximum_concurrency(2).build())
        .send()
        .await
        .expect("create mapping");
    assert!(created.filter_criteria().is_some());
    assert_eq!(created.scaling_config().and_then(|s| s.maximum_concurrency()), Some(2));
    wait_enabled(&lambda, created.uuid().expect("uuid")).await;
    for body in [r#"{"kind":"drop"}"#, "plain text", r#"{"kind":"keep","n":1}"#] {
        sqs.send_message().queue_url(&url).message_body(body).send().await.expect("send");
    }
    let got = wait_for_records(&log, 1, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["body"], r#"{"kind":"keep","n":1}"#);
    // The others were deleted, not left to come back.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let counts = held(&sqs, &url).await;
        if counts == (0, 0) {
            break;
        }
        assert!(Instant::now() < deadline, "filtered messages were not deleted: {counts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(records(&log).len(), 1);

    let listed = lambda.list_event_source_mappings().function_name("picky").send().await.expect("list");
    assert_eq!(listed.event_source_mappings().len(), 1);
    let listed = lambda.list_event_source_mappings().function_name("other").send().await.expect("list");
    assert!(listed.event_source_mappings().is_empty());
}

#[tokio::test]
async fn a_stream_mapping_sees_insert_modify_and_remove_with_their_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let ddb = server.dynamodb("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "watcher", PY_CONSUMER, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    let stream_arn = streamed_table(&ddb, "watched").await;

    let e = lambda
        .create_event_source_mapping()
        .function_name("watcher")
        .event_source_arn(&stream_arn)
        .send()
        .await
        .expect_err("a stream needs a starting position");
    assert!(e.into_service_error().is_invalid_parameter_value_exception());

    let created = lambda
        .create_event_source_mapping()
        .function_name("watcher")
        .event_source_arn(&stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(10)
        .send()
        .await
        .expect("create mapping");
    assert_eq!(created.starting_position(), Some(&EventSourcePosition::TrimHorizon));
    assert_eq!(created.maximum_retry_attempts(), Some(-1));
    wait_enabled(&lambda, created.uuid().expect("uuid")).await;

    put(&ddb, "watched", "a", "1").await;
    ddb.update_item()
        .table_name("watched")
        .key("pk", AttributeValue::S("a".into()))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", AttributeValue::N("2".into()))
        .send()
        .await
        .expect("update");
    ddb.delete_item()
        .table_name("watched")
        .key("pk", AttributeValue::S("a".into()))
        .send()
        .await
        .expect("delete");

    let got = wait_for_records(&log, 3, Duration::from_secs(15)).await;
    let names: Vec<&str> = got.iter().filter_map(|r| r["eventName"].as_str()).collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"]);
    assert!(
        got.iter().all(|r| r["eventSource"] == "aws:dynamodb" && r["eventSourceARN"] == stream_arn.as_str())
    );
    assert_eq!(got[0]["dynamodb"]["NewImage"]["v"]["N"], "1");
    assert!(got[0]["dynamodb"].get("OldImage").is_none());
    assert_eq!(got[1]["dynamodb"]["OldImage"]["v"]["N"], "1");
    assert_eq!(got[1]["dynamodb"]["NewImage"]["v"]["N"], "2");
    assert_eq!(got[2]["dynamodb"]["OldImage"]["v"]["N"], "2");
    assert!(got[2]["dynamodb"].get("NewImage").is_none());
    assert_eq!(got[2]["dynamodb"]["Keys"]["pk"]["S"], "a");
    assert_eq!(got[0]["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    let m = lambda.get_event_source_mapping().uuid(created.uuid().expect("uuid")).send().await.expect("get");
    assert_eq!(m.last_processing_result(), Some("OK"));
}

async fn iterator(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard: &str,
    kind: ShardIteratorType,
    seq: Option<&String>,
) -> String {
    streams
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .set_sequence_number(seq.cloned())
        .send()
        .await
        .expect("iterator")
        .shard_iterator
        .expect("iterator")
}

#[tokio::test]
async fn the_streams_api_pages_iterates_and_expires_iterators() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&server.sdk_config("test", "us-east-1").await);
    let arn = streamed_table(&ddb, "api-table").await;
    let described = ddb.describe_table().table_name("api-table").send().await.expect("describe table");
    let table = described.table.expect("table");
    assert_eq!(table.latest_stream_arn(), Some(arn.as_str()));
    assert!(table.latest_stream_label().is_some_and(|l| arn.ends_with(l)));
    for i in 0..5 {
        put(&ddb, "api-table", &format!("k{i}"), "1").await;
    }

    let listed = streams.list_streams().table_name("api-table").send().await.expect("list streams");
    assert_eq!(listed.streams()[0].stream_arn(), Some(arn.as_str()));
    let desc = streams.describe_stream().stream_arn(&arn).send().await.expect("describe stream");
    let desc = desc.stream_description.expect("description");
    assert_eq!(desc.stream_status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(desc.table_name(), Some("api-table"));
    let shard = desc.shards()[0].shard_id().expect("shard").to_owned();
    assert!(shard.starts_with("shardId-"));

    let it = iterator(&streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let page = streams.get_records().shard_iterator(&it).limit(2).send().await.expect("records");
    assert_eq!(page.records().len(), 2);
    let second_seq = page.records()[1].dynamodb().and_then(|d| d.sequence_number()).expect("seq").to_owned();
    assert!(second_seq.len() >= 21);
    let rest = streams
        .get_records()
        .shard_iterator(page.next_shard_iterator().expect("next"))
        .send()
        .await
        .expect("records");
    assert_eq!(rest.records().len(), 3);
    let record = &rest.records()[0];
    assert_eq!(record.event_name().map(|n| n.as_str()), Some("INSERT"));
    assert_eq!(record.event_source(), Some("aws:dynamodb"));
    assert!(record.dynamodb().and_then(|d| d.new_image()).is_some_and(|i| i.contains_key("v")));

    let after =
        iterator(&streams, &arn, &shard, ShardIteratorType::AfterSequenceNumber, Some(&second_seq)).await;
    assert_eq!(
        streams.get_records().shard_iterator(&after).send().await.expect("records").records().len(),
        3
    );
    let at = iterator(&streams, &arn, &shard, ShardIteratorType::AtSequenceNumber, Some(&second_seq)).await;
    assert_eq!(streams.get_records().shard_iterator(&at).send().await.expect("records").records().len(), 4);
    let latest = iterator(&streams, &arn, &shard, ShardIteratorType::Latest, None).await;
    assert!(
        streams.get_records().shard_iterator(&latest).send().await.expect("records").records().is_empty()
    );
    put(&ddb, "api-table", "late", "1").await;
    let late = streams.get_records().shard_iterator(&latest).send().await.expect("records");
    assert_eq!(late.records().len(), 1);

    // An iterator issued more than 15 minutes ago has expired (its issue time is its last field).
    let (head, _) = it.rsplit_once('|').expect("iterator fields");
    let e = streams.get_records().shard_iterator(format!("{head}|1000")).send().await.expect_err("expired");
    let e = e.into_service_error();
    assert!(e.is_expired_iterator_exception(), "{e:?}");

    let e = streams.describe_stream().stream_arn(format!("{arn}0")).send().await.expect_err("no such stream");
    assert!(e.into_service_error().is_resource_not_found_exception());
}

#[tokio::test]
async fn mappings_and_checkpoints_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = Server::start(&data);
    let sqs_log = dir.path().join("sqs.jsonl");
    let ddb_log = dir.path().join("ddb.jsonl");
    let (url, sqs_uuid, ddb_uuid) = {
        let lambda = server.lambda("test", "us-east-1").await;
        let sqs = server.sqs("test", "us-east-1").await;
        let ddb = server.dynamodb("test", "us-east-1").await;
        create_python(&lambda, "q-fn", PY_CONSUMER, &[("RECORD_TO", sqs_log.to_str().expect("utf-8"))]).await;
        create_python(&lambda, "d-fn", PY_CONSUMER, &[("RECORD_TO", ddb_log.to_str().expect("utf-8"))]).await;
        let (url, arn) = queue(&sqs, "durable", &[]).await;
        let stream_arn = streamed_table(&ddb, "durable-table").await;
        let q = lambda
            .create_event_source_mapping()
            .function_name("q-fn")
            .event_source_arn(&arn)
            .send()
            .await
            .expect("sqs mapping");
        let d = lambda
            .create_event_source_mapping()
            .function_name("d-fn")
            .event_source_arn(&stream_arn)
            .starting_position(EventSourcePosition::Latest)
            .send()
            .await
            .expect("stream mapping");
        wait_enabled(&lambda, q.uuid().expect("uuid")).await;
        wait_enabled(&lambda, d.uuid().expect("uuid")).await;
        put(&ddb, "durable-table", "before", "1").await;
        assert_eq!(wait_for_records(&ddb_log, 1, Duration::from_secs(15)).await.len(), 1);
        (url, q.uuid().expect("uuid").to_owned(), d.uuid().expect("uuid").to_owned())
    };
    // Give the poller a moment to store its checkpoint past the record it delivered.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.terminate();
    server.restart();

    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let ddb = server.dynamodb("test", "us-east-1").await;
    wait_enabled(&lambda, &sqs_uuid).await;
    wait_enabled(&lambda, &ddb_uuid).await;
    // Both are listed, a page at a time.
    let first = lambda.list_event_source_mappings().max_items(1).send().await.expect("list");
    assert_eq!(first.event_source_mappings().len(), 1);
    let marker = first.next_marker().expect("a second page").to_owned();
    let second = lambda.list_event_source_mappings().max_items(1).marker(marker).send().await.expect("list");
    assert_eq!(second.event_source_mappings().len(), 1);
    assert!(second.next_marker().is_none());
    let mut uuids: Vec<&str> = first
        .event_source_mappings()
        .iter()
        .chain(second.event_source_mappings())
        .filter_map(|m| m.uuid())
        .collect();
    uuids.sort_unstable();
    let mut expected = [sqs_uuid.as_str(), ddb_uuid.as_str()];
    expected.sort_unstable();
    assert_eq!(uuids, expected);
    sqs.send_message().queue_url(&url).message_body("after restart").send().await.expect("send");
    let got = wait_for_records(&sqs_log, 1, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["body"], "after restart");
    put(&ddb, "durable-table", "after", "1").await;
    let got = wait_for_records(&ddb_log, 2, Duration::from_secs(15)).await;
    let keys: Vec<&str> = got.iter().filter_map(|r| r["dynamodb"]["Keys"]["pk"]["S"].as_str()).collect();
    assert_eq!(keys, ["before", "after"], "the checkpoint held: nothing delivered twice");
    let _ = wait_for_lines(&ddb_log, 99, Duration::from_millis(300)).await;
    assert_eq!(records(&ddb_log).len(), 2);
}

#[tokio::test]
async fn the_ttl_sweep_deletes_expired_items_as_the_service() {
    let server = Server::ephemeral();
    let ddb = server.dynamodb("test", "us-east-1").await;
    let streams = aws_sdk_dynamodbstreams::Client::new(&server.sdk_config("test", "us-east-1").await);
    let arn = streamed_table(&ddb, "expiring").await;
    ddb.update_time_to_live()
        .table_name("expiring")
        .time_to_live_specification(
            aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("exp")
                .build()
                .expect("ttl"),
        )
        .send()
        .await
        .expect("ttl on");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    for (pk, exp) in [("old", now - 60), ("young", now + 3600)] {
        ddb.put_item()
            .table_name("expiring")
            .item("pk", AttributeValue::S(pk.into()))
            .item("exp", AttributeValue::N(exp.to_string()))
            .send()
            .await
            .expect("put");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got =
            ddb.get_item().table_name("expiring").key("pk", AttributeValue::S("old".into())).send().await;
        if got.expect("get").item.is_none() {
            break;
        }
        assert!(Instant::now() < deadline, "the expired item was never swept");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let young =
        ddb.get_item().table_name("expiring").key("pk", AttributeValue::S("young".into())).send().await;
    assert!(young.expect("get").item.is_some());
    let shard = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .expect("describe")
        .stream_description
        .expect("description")
        .shards()[0]
        .shard_id()
        .expect("shard")
        .to_owned();
    let it = iterator(&streams, &arn, &shard, ShardIteratorType::TrimHorizon, None).await;
    let records = streams.get_records().shard_iterator(it).send().await.expect("records");
    let remove = records.records().last().expect("records");
    assert_eq!(remove.event_name().map(|n| n.as_str()), Some("REMOVE"));
    let who = remove.user_identity().expect("userIdentity");
    assert_eq!((who.r#type(), who.principal_id()), (Some("Service"), Some("dynamodb.amazonaws.com")));
}

#[tokio::test]
async fn on_a_fifo_queue_what_follows_a_failure_is_returned_with_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "ordered", PY_CONSUMER, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    let (dlq_url, dlq_arn) =
        queue(&sqs, "ordered-dlq.fifo", &[(QueueAttributeName::FifoQueue, "true")]).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}"#);
    let (url, arn) = queue(
        &sqs,
        "ordered.fifo",
        &[
            (QueueAttributeName::FifoQueue, "true"),
            (QueueAttributeName::ContentBasedDeduplication, "true"),
            (QueueAttributeName::VisibilityTimeout, "1"),
            (QueueAttributeName::RedrivePolicy, &policy),
        ],
    )
    .await;
    for body in ["a", "fail-b", "c"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .message_group_id("g")
            .send()
            .await
            .expect("send");
    }
    let created = lambda
        .create_event_source_mapping()
        .function_name("ordered")
        .event_source_arn(&arn)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .send()
        .await
        .expect("create mapping");
    wait_enabled(&lambda, created.uuid().expect("uuid")).await;
    let mut dead = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while dead.len() < 2 {
        let got =
            sqs.receive_message().queue_url(&dlq_url).max_number_of_messages(10).wait_time_seconds(1).send();
        for m in got.await.expect("dlq").messages.unwrap_or_default() {
            dead.push(m.body.unwrap_or_default());
        }
        assert!(Instant::now() < deadline, "DLQ got {dead:?}; records {:?}", records(&log));
    }
    // "c" was never processed on its own: it went back with "fail-b", in order.
    assert_eq!(dead, ["fail-b", "c"]);
    let bodies: Vec<String> =
        records(&log).iter().filter_map(|r| r["body"].as_str().map(str::to_owned)).collect();
    assert_eq!(bodies, ["a", "fail-b", "c"]);
}

/// Records every event, and fails any batch holding an item with a `bad` attribute.
const PY_STRICT: &str = r#"
import os, json

def handler(event, context):
    with open(os.environ["RECORD_TO"], "a") as f:
        f.write(json.dumps(event) + "\n")
    if any("bad" in r["dynamodb"].get("NewImage", {}) for r in event["Records"]):
        raise ValueError("bad record")
"#;

#[tokio::test]
async fn a_failing_stream_batch_is_bisected_retried_and_sent_on_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let ddb = server.dynamodb("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "strict", PY_STRICT, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    let (failures_url, failures_arn) = queue(&sqs, "stream-failures", &[]).await;
    let stream_arn = streamed_table(&ddb, "strict-table").await;
    put(&ddb, "strict-table", "ok1", "1").await;
    ddb.put_item()
        .table_name("strict-table")
        .item("pk", AttributeValue::S("bad".into()))
        .item("bad", AttributeValue::Bool(true))
        .send()
        .await
        .expect("put");
    put(&ddb, "strict-table", "ok2", "1").await;

    let created = lambda
        .create_event_source_mapping()
        .function_name("strict")
        .event_source_arn(&stream_arn)
        .starting_position(EventSourcePosition::TrimHorizon)
        .bisect_batch_on_function_error(true)
        .maximum_retry_attempts(1)
        .destination_config(
            aws_sdk_lambda::types::DestinationConfig::builder()
                .on_failure(aws_sdk_lambda::types::OnFailure::builder().destination(&failures_arn).build())
                .build(),
        )
        .send()
        .await
        .expect("create mapping");
    assert_eq!(
        created.destination_config().and_then(|d| d.on_failure()).and_then(|f| f.destination()),
        Some(failures_arn.as_str())
    );
    wait_enabled(&lambda, created.uuid().expect("uuid")).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    let failure = loop {
        let got = sqs
            .receive_message()
            .queue_url(&failures_url)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        if let Some(m) = got.messages.unwrap_or_default().into_iter().next() {
            break serde_json::from_str::<Value>(m.body().unwrap_or_default()).expect("json");
        }
        assert!(Instant::now() < deadline, "no OnFailure record; invocations {:?}", lines_of(&log).len());
    };
    assert_eq!(failure["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert_eq!(failure["version"], "1.0");
    let info = &failure["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["streamArn"], stream_arn.as_str());
    assert!(info["shardId"].as_str().is_some_and(|s| s.starts_with("shardId-")));
    assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"]);
    // The good records were delivered on their own once the batch was split ("ok2" after the
    // failed half gave up).
    let singles = || -> Vec<String> {
        lines_of(&log)
            .iter()
            .filter(|e| e["Records"].as_array().is_some_and(|r| r.len() == 1))
            .filter_map(|e| e["Records"][0]["dynamodb"]["Keys"]["pk"]["S"].as_str().map(str::to_owned))
            .filter(|k| k != "bad")
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while singles().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(singles(), ["ok1", "ok2"]);
    let first = &lines_of(&log)[0];
    assert_eq!(first["Records"].as_array().map(Vec::len), Some(3), "the first batch held all three");
}

#[tokio::test]
async fn a_batching_window_gathers_more_than_one_receive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "batcher", PY_CONSUMER, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    let (url, arn) = queue(&sqs, "batched", &[]).await;
    for i in 0..15 {
        sqs.send_message().queue_url(&url).message_body(format!("m{i}")).send().await.expect("send");
    }
    let created = lambda
        .create_event_source_mapping()
        .function_name("batcher")
        .event_source_arn(&arn)
        .batch_size(20)
        .maximum_batching_window_in_seconds(1)
        .send()
        .await
        .expect("create mapping");
    assert_eq!(created.maximum_batching_window_in_seconds(), Some(1));
    let got = wait_for_records(&log, 15, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 15);
    let sizes: Vec<usize> =
        lines_of(&log).iter().map(|e| e["Records"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(sizes, [15], "one batch gathered over two receives");
}

#[tokio::test]
async fn throttled_invokes_leave_the_messages_for_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let log = dir.path().join("events.jsonl");
    create_python(&lambda, "throttled", PY_CONSUMER, &[("RECORD_TO", log.to_str().expect("utf-8"))]).await;
    lambda
        .put_function_concurrency()
        .function_name("throttled")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .expect("concurrency 0");
    let (url, arn) = queue(&sqs, "throttling", &[(QueueAttributeName::VisibilityTimeout, "1")]).await;
    let created = lambda
        .create_event_source_mapping()
        .function_name("throttled")
        .event_source_arn(&arn)
        .send()
        .await
        .expect("create mapping");
    wait_enabled(&lambda, created.uuid().expect("uuid")).await;
    sqs.send_message().queue_url(&url).message_body("patience").send().await.expect("send");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(records(&log).is_empty(), "a function with no concurrency ran");
    let (visible, hidden) = held(&sqs, &url).await;
    let held = visible + hidden;
    assert_eq!(held, 1, "the throttled message is still in the queue");
    lambda.delete_function_concurrency().function_name("throttled").send().await.expect("unthrottle");
    let got = wait_for_records(&log, 1, Duration::from_secs(30)).await;
    assert_eq!(got.first().and_then(|r| r["body"].as_str()), Some("patience"));
}
