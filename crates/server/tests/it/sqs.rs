//! SQS end to end with the official SDK (awsJson 1.0): send/receive/delete, long polling,
//! visibility timeouts, dead-letter redrive, FIFO order, and durability across kill -9.

use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};

use crate::harness::Server;

async fn queue(sqs: &Client, name: &str, attrs: &[(QueueAttributeName, &str)]) -> String {
    let mut req = sqs.create_queue().queue_name(name);
    for (k, v) in attrs {
        req = req.attributes(k.clone(), *v);
    }
    req.send().await.expect("create queue").queue_url().expect("url").to_owned()
}

async fn receive(sqs: &Client, url: &str, wait: i32) -> Vec<aws_sdk_sqs::types::Message> {
    sqs.receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(wait)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .expect("receive")
        .messages()
        .to_vec()
}

#[tokio::test]
async fn send_receive_delete_with_attributes() {
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let url = queue(&sqs, "orders", &[]).await;
    assert!(url.ends_with("/000000000000/orders"), "{url}");
    assert_eq!(
        sqs.get_queue_url().queue_name("orders").send().await.expect("url").queue_url(),
        Some(url.as_str())
    );
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("This is a test message")
        .message_attributes(
            "timestamp",
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value("1493147359900")
                .build()
                .expect("attr"),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(sent.md5_of_message_body(), Some("fafb00f5732ab283681e124bf8747ed1"));
    assert_eq!(sent.md5_of_message_attributes(), Some("235c5c510d26fb653d073faed50ae77c"));
    let got = receive(&sqs, &url, 0).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.body(), Some("This is a test message"));
    assert_eq!(m.message_id(), sent.message_id());
    assert_eq!(
        m.attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        m.message_attributes().and_then(|a| a.get("timestamp")).and_then(|v| v.string_value()),
        Some("1493147359900")
    );
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().expect("handle"))
        .send()
        .await
        .expect("delete");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attributes");
    let attrs = attrs.attributes().expect("attributes");
    assert_eq!(attrs.get(&QueueAttributeName::ApproximateNumberOfMessages).map(String::as_str), Some("0"));
    assert_eq!(
        attrs.get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible).map(String::as_str),
        Some("0")
    );
    // A queue that is not there, as SDKs see the error.
    let err = sqs.get_queue_url().queue_name("nope").send().await.expect_err("no queue");
    assert!(err.into_service_error().is_queue_does_not_exist());
}

#[tokio::test]
async fn long_poll_returns_as_soon_as_a_message_arrives() {
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let url = queue(&sqs, "poll", &[]).await;
    let (sqs2, url2) = (sqs.clone(), url.clone());
    let started = Instant::now();
    let poll = tokio::spawn(async move { receive(&sqs2, &url2, 20).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    sqs.send_message().queue_url(&url).message_body("wake").send().await.expect("send");
    let got = poll.await.expect("join");
    assert_eq!(got.len(), 1);
    assert!(started.elapsed() < Duration::from_secs(5), "returned after {:?}", started.elapsed());
}

#[tokio::test]
async fn unacknowledged_message_comes_back_after_visibility_timeout() {
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let url = queue(&sqs, "vt", &[(QueueAttributeName::VisibilityTimeout, "1")]).await;
    sqs.send_message().queue_url(&url).message_body("again").send().await.expect("send");
    let first = receive(&sqs, &url, 0).await;
    assert_eq!(first.len(), 1);
    assert!(receive(&sqs, &url, 0).await.is_empty(), "in flight");
    let again = receive(&sqs, &url, 5).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str),
        Some("2")
    );
    // The first receipt handle is stale now: deleting with it does not delete the message.
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(first[0].receipt_handle().expect("h"))
        .send()
        .await
        .expect("stale ok");
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(again[0].receipt_handle().expect("h"))
        .send()
        .await
        .expect("delete");
}

#[tokio::test]
async fn dead_letter_queue_gets_the_message_after_max_receive_count() {
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let dlq = queue(&sqs, "dlq", &[]).await;
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":2}}"#);
    let src = queue(
        &sqs,
        "src",
        &[(QueueAttributeName::RedrivePolicy, &policy), (QueueAttributeName::VisibilityTimeout, "0")],
    )
    .await;
    sqs.send_message().queue_url(&src).message_body("poison").send().await.expect("send");
    assert_eq!(receive(&sqs, &src, 0).await.len(), 1);
    assert_eq!(receive(&sqs, &src, 0).await.len(), 1);
    assert!(receive(&sqs, &src, 0).await.is_empty(), "the third receive moves it away");
    let dead = receive(&sqs, &dlq, 0).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body(), Some("poison"));
}

/// A dead-letter queue lists its sources, and a message move task (the console's "redrive")
/// puts its messages back where they came from, as fresh messages.
#[tokio::test]
async fn a_move_task_redrives_the_dead_letter_queue_to_its_source() {
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let dlq = queue(&sqs, "redrive-dlq", &[]).await;
    let dlq_arn = "arn:aws:sqs:us-east-1:000000000000:redrive-dlq";
    let policy = format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":1}}"#);
    let src = queue(
        &sqs,
        "redrive-src",
        &[(QueueAttributeName::RedrivePolicy, &policy), (QueueAttributeName::VisibilityTimeout, "0")],
    )
    .await;
    let sources = sqs.list_dead_letter_source_queues().queue_url(&dlq).send().await.expect("sources");
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&src));
    for body in ["a", "b", "c"] {
        sqs.send_message().queue_url(&src).message_body(body).send().await.expect("send");
    }
    // One receive each uses up maxReceiveCount; the next receive moves them away.
    let mut received = 0;
    while received < 3 {
        received += receive(&sqs, &src, 0).await.len();
    }
    assert!(receive(&sqs, &src, 0).await.is_empty());

    let err = sqs.start_message_move_task().source_arn("arn:aws:sqs:us-east-1:000000000000:redrive-src");
    let err = err.send().await.expect_err("not a dead-letter queue").into_service_error();
    assert_eq!(err.meta().code(), Some("InvalidParameterValue"));

    let task = sqs.start_message_move_task().source_arn(dlq_arn).send().await.expect("start");
    assert!(task.task_handle().is_some());
    let deadline = Instant::now() + Duration::from_secs(10);
    let done = loop {
        let tasks = sqs.list_message_move_tasks().source_arn(dlq_arn).send().await.expect("list");
        let t = tasks.results()[0].clone();
        if t.status() == Some("COMPLETED") || Instant::now() > deadline {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(done.status(), Some("COMPLETED"));
    assert_eq!(done.approximate_number_of_messages_moved(), 3);
    assert_eq!(done.approximate_number_of_messages_to_move(), Some(3));
    assert_eq!(done.task_handle(), None, "only running tasks show their handle");

    let mut back: Vec<String> = Vec::new();
    for m in receive(&sqs, &src, 1).await {
        let count = m.attributes().and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount));
        assert_eq!(count.map(String::as_str), Some("1"), "a redriven message starts afresh");
        back.extend(m.body().map(str::to_owned));
    }
    back.sort();
    assert_eq!(back, ["a", "b", "c"]);
    let err = sqs.cancel_message_move_task().task_handle("no-such-task").send().await.expect_err("unknown");
    assert_eq!(err.into_service_error().meta().code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn fifo_keeps_group_order_and_drops_duplicates() {
    let server = Server::ephemeral();
    let sqs = server.sqs("test", "us-east-1").await;
    let url = queue(
        &sqs,
        "jobs.fifo",
        &[(QueueAttributeName::FifoQueue, "true"), (QueueAttributeName::ContentBasedDeduplication, "true")],
    )
    .await;
    for body in ["a1", "a2", "a3", "a1"] {
        sqs.send_message()
            .queue_url(&url)
            .message_body(body)
            .message_group_id("a")
            .send()
            .await
            .expect("send");
    }
    let first = sqs.receive_message().queue_url(&url).max_number_of_messages(1).send().await.expect("recv");
    assert_eq!(first.messages()[0].body(), Some("a1"));
    // The group is blocked while a1 is in flight.
    assert!(receive(&sqs, &url, 0).await.is_empty());
    sqs.delete_message()
        .queue_url(&url)
        .receipt_handle(first.messages()[0].receipt_handle().expect("h"))
        .send()
        .await
        .expect("delete");
    let rest: Vec<_> =
        receive(&sqs, &url, 0).await.iter().map(|m| m.body().unwrap_or_default().to_owned()).collect();
    assert_eq!(rest, ["a2", "a3"], "the duplicate a1 was dropped");
}

#[tokio::test]
async fn sent_and_in_flight_messages_survive_kill9() {
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(data.path());
    let sqs = server.sqs("test", "us-east-1").await;
    let url = queue(&sqs, "durable", &[(QueueAttributeName::VisibilityTimeout, "2")]).await;
    sqs.send_message().queue_url(&url).message_body("in-flight").send().await.expect("send");
    assert_eq!(receive(&sqs, &url, 0).await.len(), 1);
    sqs.send_message().queue_url(&url).message_body("waiting").send().await.expect("send");
    server.kill9();
    server.restart();
    let sqs = server.sqs("test", "us-east-1").await;
    let mut bodies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while bodies.len() < 2 && Instant::now() < deadline {
        for m in receive(&sqs, &url, 2).await {
            bodies.push(m.body().unwrap_or_default().to_owned());
            sqs.delete_message()
                .queue_url(&url)
                .receipt_handle(m.receipt_handle().expect("h"))
                .send()
                .await
                .expect("delete");
        }
    }
    bodies.sort();
    assert_eq!(bodies, ["in-flight", "waiting"]);
}
