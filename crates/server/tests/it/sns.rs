//! SNS end to end with the official SDK (query protocol): SNS → SQS with a filter policy, raw
//! and wrapped; SNS → Lambda with the SNS event record; a FIFO topic into a FIFO queue; the HTTP
//! confirmation handshake against a tiny endpoint in the test; errors in SNS's words.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::harness::Server;
use crate::lambda::{PY_RECORDER, create_python, wait_for_lines};
use outbound::fixtures::read_request as read_http_request;

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> (String, String) {
    let mut req = sqs.create_queue().queue_name(name);
    if fifo {
        req = req.attributes(QueueAttributeName::FifoQueue, "true");
    }
    let url = req.send().await.expect("create queue").queue_url().expect("url").to_owned();
    (url, format!("arn:aws:sqs:us-east-1:000000000000:{name}"))
}

/// Receives until `n` messages came or 10 s passed; deletes what it got.
async fn receive_n(sqs: &aws_sdk_sqs::Client, url: &str, n: usize) -> Vec<aws_sdk_sqs::types::Message> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().expect("handle"))
                .send()
                .await
                .expect("delete");
            got.push(m.clone());
        }
    }
    got
}

fn string_attr(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().expect("attribute")
}

#[tokio::test]
async fn sqs_gets_matching_messages_wrapped_and_raw() {
    let server = Server::ephemeral();
    let sns = server.sns("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let (wrapped_url, wrapped_arn) = queue(&sqs, "wrapped", false).await;
    let (raw_url, raw_arn) = queue(&sqs, "raw", false).await;
    let topic =
        sns.create_topic().name("orders").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    assert_eq!(topic, "arn:aws:sns:us-east-1:000000000000:orders");
    let wrapped_sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&wrapped_arn)
        .attributes("FilterPolicy", r#"{"color":["red"],"price":[{"numeric":[">=",10]}]}"#)
        .send()
        .await
        .expect("subscribe")
        .subscription_arn()
        .expect("arn")
        .to_owned();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&raw_arn)
        .attributes("RawMessageDelivery", "true")
        .attributes("FilterPolicy", r#"{"color":["red","blue"]}"#)
        .send()
        .await
        .expect("subscribe raw");

    let publish = |color: &'static str, price: &'static str, text: &'static str| {
        sns.publish()
            .topic_arn(&topic)
            .message(text)
            .subject("order")
            .message_attributes("color", string_attr(color))
            .message_attributes(
                "price",
                MessageAttributeValue::builder()
                    .data_type("Number")
                    .string_value(price)
                    .build()
                    .expect("attribute"),
            )
            .send()
    };
    let matching = publish("red", "12", "big red").await.expect("publish");
    publish("red", "3", "small red").await.expect("publish");
    publish("green", "50", "green").await.expect("publish");
    publish("blue", "50", "blue").await.expect("publish");

    let wrapped = receive_n(&sqs, &wrapped_url, 2).await;
    assert_eq!(wrapped.len(), 1, "only the message matching both keys");
    let envelope: Value = serde_json::from_str(wrapped[0].body().expect("body")).expect("envelope is JSON");
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["MessageId"], matching.message_id().expect("id"));
    assert_eq!(envelope["TopicArn"], topic.as_str());
    assert_eq!(envelope["Subject"], "order");
    assert_eq!(envelope["Message"], "big red");
    assert_eq!(envelope["SignatureVersion"], "1");
    assert!(envelope["Timestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24), "{envelope}");
    assert!(envelope["Signature"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(envelope["SigningCertURL"].as_str().is_some_and(|u| u.ends_with(".pem")));
    assert!(envelope["UnsubscribeURL"].as_str().is_some_and(|u| u.contains(&wrapped_sub)));
    assert_eq!(envelope["MessageAttributes"]["color"], serde_json::json!({"Type": "String", "Value": "red"}));
    assert_eq!(envelope["MessageAttributes"]["price"], serde_json::json!({"Type": "Number", "Value": "12"}));

    let raw = receive_n(&sqs, &raw_url, 3).await;
    let mut bodies: Vec<&str> = raw.iter().filter_map(|m| m.body()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["big red", "blue", "small red"]);
    let attrs = raw[0].message_attributes().expect("raw delivery carries SQS attributes");
    assert!(attrs.get("color").and_then(|a| a.string_value()).is_some());
    assert_eq!(attrs.get("price").map(|a| a.data_type()), Some("Number"));

    // The UnsubscribeURL works from any HTTP client.
    let url = envelope["UnsubscribeURL"].as_str().expect("url").to_owned();
    let resp = server.http().get(&url).send().await.expect("unsubscribe");
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap_or_default());
    let subs = sns.list_subscriptions_by_topic().topic_arn(&topic).send().await.expect("list");
    assert_eq!(subs.subscriptions().len(), 1);
    assert_eq!(subs.subscriptions()[0].endpoint(), Some(raw_arn.as_str()));
}

#[tokio::test]
async fn lambda_gets_the_sns_event_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events = dir.path().join("events.jsonl");
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let sns = server.sns("test", "us-east-1").await;
    let function =
        create_python(&lambda, "on-sns", PY_RECORDER, &[("RECORD_TO", events.to_str().expect("utf-8"))])
            .await;
    let topic =
        sns.create_topic().name("uploads").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    let sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("lambda")
        .endpoint(function.function_arn().expect("arn"))
        .send()
        .await
        .expect("subscribe")
        .subscription_arn()
        .expect("arn")
        .to_owned();
    let published = sns
        .publish()
        .topic_arn(&topic)
        .message("image.png uploaded")
        .message_attributes("bucket", string_attr("photos"))
        .send()
        .await
        .expect("publish");
    let lines = wait_for_lines(&events, 1, Duration::from_secs(30)).await;
    assert_eq!(lines.len(), 1, "the function ran once");
    let record = &lines[0]["event"]["Records"][0];
    assert_eq!(record["EventSource"], "aws:sns");
    assert_eq!(record["EventVersion"], "1.0");
    assert_eq!(record["EventSubscriptionArn"], sub.as_str());
    let message = &record["Sns"];
    assert_eq!(message["Type"], "Notification");
    assert_eq!(message["MessageId"], published.message_id().expect("id"));
    assert_eq!(message["TopicArn"], topic.as_str());
    assert_eq!(message["Message"], "image.png uploaded");
    assert!(message["Subject"].is_null());
    assert_eq!(
        message["MessageAttributes"]["bucket"],
        serde_json::json!({"Type": "String", "Value": "photos"})
    );
    assert!(message["UnsubscribeUrl"].as_str().is_some_and(|u| u.contains(&sub)));
}

#[tokio::test]
async fn fifo_topic_into_fifo_queue_keeps_order_and_drops_duplicates() {
    let server = Server::ephemeral();
    let sns = server.sns("test", "us-east-1").await;
    let sqs = server.sqs("test", "us-east-1").await;
    let (url, arn) = queue(&sqs, "events.fifo", true).await;
    let topic = sns
        .create_topic()
        .name("events.fifo")
        .attributes("FifoTopic", "true")
        .attributes("ContentBasedDeduplication", "true")
        .send()
        .await
        .expect("fifo topic")
        .topic_arn()
        .expect("arn")
        .to_owned();
    let e = sns.publish().topic_arn(&topic).message("no group").send().await.expect_err("group required");
    assert_eq!(
        e.into_service_error().meta().message(),
        Some("Invalid parameter: The MessageGroupId parameter is required for FIFO topics")
    );
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .expect("subscribe");
    let mut sequence = Vec::new();
    for i in 1..=5 {
        let out = sns
            .publish()
            .topic_arn(&topic)
            .message(format!("step {i}"))
            .message_group_id("g1")
            .send()
            .await
            .expect("publish");
        sequence.push(out.sequence_number().expect("FIFO topics number their messages").to_owned());
        if i == 2 {
            // The same content again: deduplicated by content.
            sns.publish()
                .topic_arn(&topic)
                .message("step 2")
                .message_group_id("g1")
                .send()
                .await
                .expect("dup");
        }
    }
    assert!(sequence.windows(2).all(|w| w[0] < w[1]), "{sequence:?}");
    let got = receive_n(&sqs, &url, 6).await;
    let bodies: Vec<&str> = got.iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["step 1", "step 2", "step 3", "step 4", "step 5"]);
    assert_eq!(
        got[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            .map(String::as_str),
        Some("g1")
    );
    let batch = sns
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id("a")
                .message("b1")
                .message_group_id("g1")
                .build()
                .expect("entry"),
        )
        .publish_batch_request_entries(
            PublishBatchRequestEntry::builder()
                .id("b")
                .message("b2")
                .message_group_id("g1")
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("batch");
    assert_eq!(batch.successful().len(), 2);
    let got = receive_n(&sqs, &url, 2).await;
    let bodies: Vec<&str> = got.iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["b1", "b2"]);
}

/// A tiny HTTP endpoint: records each request (head and body) and answers 200.
async fn endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    endpoint_answering(Arc::new(AtomicU16::new(200))).await
}

/// An endpoint that records each request and answers with the status `status` holds then.
async fn endpoint_answering(status: Arc<AtomicU16>) -> (String, Arc<Mutex<Vec<String>>>) {
    endpoint_over(None, status).await
}

/// `endpoint_answering` over plain HTTP, or over HTTPS at `https://localhost:PORT/sns` when
/// given a TLS acceptor.
async fn endpoint_over(
    tls: Option<tokio_rustls::TlsAcceptor>,
    status: Arc<AtomicU16>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let url = match tls {
        Some(_) => format!("https://localhost:{port}/sns"),
        None => format!("http://127.0.0.1:{port}/sns"),
    };
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let code = status.load(Ordering::SeqCst);
            match &tls {
                Some(acceptor) => {
                    let Ok(mut stream) = acceptor.accept(socket).await else { continue };
                    answer_once(&mut stream, &sink, code).await;
                }
                None => answer_once(&mut socket, &sink, code).await,
            }
        }
    });
    (url, received)
}

async fn answer_once<S>(stream: &mut S, sink: &Mutex<Vec<String>>, code: u16)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some((head, body)) = read_http_request(stream).await else { return };
    sink.lock().expect("lock").push(format!("{head}\r\n\r\n{body}"));
    let answer = format!("HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn next_request(received: &Arc<Mutex<Vec<String>>>) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(r) = {
            let mut v = received.lock().expect("lock");
            (!v.is_empty()).then(|| v.remove(0))
        } {
            return r;
        }
        assert!(Instant::now() < deadline, "the endpoint got no request");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn body_of(request: &str) -> Value {
    serde_json::from_str(request.split_once("\r\n\r\n").map_or("", |(_, b)| b)).expect("JSON body")
}

#[tokio::test]
async fn http_endpoint_confirms_through_the_subscribe_url() {
    let server = Server::ephemeral();
    let sns = server.sns("test", "us-east-1").await;
    let (url, received) = endpoint().await;
    let topic =
        sns.create_topic().name("web").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    let out =
        sns.subscribe().topic_arn(&topic).protocol("http").endpoint(&url).send().await.expect("subscribe");
    assert_eq!(out.subscription_arn(), Some("pending confirmation"));

    let request = next_request(&received).await;
    let head = request.to_ascii_lowercase();
    assert!(head.starts_with("post /sns http/1.1"), "{request}");
    assert!(head.contains("x-amz-sns-message-type: subscriptionconfirmation"), "{request}");
    assert!(head.contains(&format!("x-amz-sns-topic-arn: {}", topic.to_ascii_lowercase())));
    let confirmation = body_of(&request);
    assert_eq!(confirmation["Type"], "SubscriptionConfirmation");
    assert_eq!(confirmation["TopicArn"], topic.as_str());
    let token = confirmation["Token"].as_str().expect("token").to_owned();
    let subscribe_url = confirmation["SubscribeURL"].as_str().expect("SubscribeURL").to_owned();
    assert!(subscribe_url.starts_with(&server.endpoint()), "{subscribe_url}");
    assert!(subscribe_url.contains(&token));

    let listed = sns.list_subscriptions_by_topic().topic_arn(&topic).send().await.expect("list");
    assert_eq!(listed.subscriptions()[0].subscription_arn(), Some("PendingConfirmation"));

    // Visiting the SubscribeURL, unsigned, confirms.
    let resp = server.http().get(&subscribe_url).send().await.expect("confirm");
    assert_eq!(resp.status(), 200);
    let xml = resp.text().await.expect("body");
    assert!(xml.contains("<ConfirmSubscriptionResponse"), "{xml}");
    let listed = sns.list_subscriptions_by_topic().topic_arn(&topic).send().await.expect("list");
    let arn = listed.subscriptions()[0].subscription_arn().expect("arn").to_owned();
    assert!(arn.starts_with(&format!("{topic}:")), "{arn}");
    assert!(xml.contains(&arn));
    // Confirming again is idempotent.
    let again =
        sns.confirm_subscription().topic_arn(&topic).token(&token).send().await.expect("confirm again");
    assert_eq!(again.subscription_arn(), Some(arn.as_str()));

    sns.publish().topic_arn(&topic).message("hello endpoint").send().await.expect("publish");
    let request = next_request(&received).await;
    let head = request.to_ascii_lowercase();
    assert!(head.contains("x-amz-sns-message-type: notification"), "{request}");
    assert!(head.contains(&format!("x-amz-sns-subscription-arn: {}", arn.to_ascii_lowercase())));
    let note = body_of(&request);
    assert_eq!(note["Type"], "Notification");
    assert_eq!(note["Message"], "hello endpoint");
}

/// An `https://` endpoint whose certificate chains to a CA Nimbus trusts (`SSL_CERT_FILE`) gets
/// the handshake and the notifications, as a plain one does.
#[tokio::test]
async fn https_endpoint_with_a_trusted_certificate() {
    let server =
        Server::start_with_env(None, &["--ephemeral"], &[("SSL_CERT_FILE", outbound::fixtures::CA_FILE)]);
    let sns = server.sns("test", "us-east-1").await;
    let (url, received) =
        endpoint_over(Some(outbound::fixtures::tls_acceptor()), Arc::new(AtomicU16::new(200))).await;
    assert!(url.starts_with("https://"));
    let topic =
        sns.create_topic().name("secure").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    sns.subscribe().topic_arn(&topic).protocol("https").endpoint(&url).send().await.expect("subscribe");
    let request = next_request(&received).await;
    assert!(request.to_ascii_lowercase().starts_with("post /sns http/1.1"), "{request}");
    let confirmation = body_of(&request);
    assert_eq!(confirmation["Type"], "SubscriptionConfirmation");
    let token = confirmation["Token"].as_str().expect("token");
    let arn = sns
        .confirm_subscription()
        .topic_arn(&topic)
        .token(token)
        .send()
        .await
        .expect("confirm")
        .subscription_arn()
        .expect("arn")
        .to_owned();
    sns.publish().topic_arn(&topic).message("over TLS").send().await.expect("publish");
    let request = next_request(&received).await;
    assert!(
        request
            .to_ascii_lowercase()
            .contains(&format!("x-amz-sns-subscription-arn: {}", arn.to_ascii_lowercase()))
    );
    assert_eq!(body_of(&request)["Message"], "over TLS");
}

/// A delivery the endpoint refused is retried from the durable queue, across a kill -9.
#[tokio::test]
async fn a_refused_delivery_survives_kill9_and_is_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let sns = server.sns("test", "us-east-1").await;
    let status = Arc::new(AtomicU16::new(200));
    let (url, received) = endpoint_answering(status.clone()).await;
    let topic =
        sns.create_topic().name("durable").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    sns.subscribe().topic_arn(&topic).protocol("http").endpoint(&url).send().await.expect("subscribe");
    let token = body_of(&next_request(&received).await)["Token"].as_str().expect("token").to_owned();
    sns.confirm_subscription().topic_arn(&topic).token(&token).send().await.expect("confirm");

    status.store(503, Ordering::SeqCst);
    sns.publish().topic_arn(&topic).message("keep me").send().await.expect("publish");
    let refused = body_of(&next_request(&received).await);
    assert_eq!(refused["Message"], "keep me");
    server.kill9();
    status.store(200, Ordering::SeqCst);
    server.restart();
    let retried = body_of(&next_request(&received).await);
    assert_eq!(retried["Message"], "keep me");
    assert_eq!(retried["MessageId"], refused["MessageId"], "the same message, delivered again");
}

#[tokio::test]
async fn errors_are_in_sns_words() {
    let server = Server::ephemeral();
    let sns = server.sns("test", "us-east-1").await;
    let missing = "arn:aws:sns:us-east-1:000000000000:missing";
    let e = sns.get_topic_attributes().topic_arn(missing).send().await.expect_err("missing topic");
    let e = e.into_service_error();
    assert!(e.is_not_found_exception(), "{e:?}");
    assert_eq!(e.meta().message(), Some("Topic does not exist"));

    let topic =
        sns.create_topic().name("t").send().await.expect("topic").topic_arn().expect("arn").to_owned();
    let e = sns.create_topic().name("bad name").send().await.expect_err("bad name").into_service_error();
    assert!(e.is_invalid_parameter_exception());
    assert_eq!(e.meta().message(), Some("Invalid parameter: Topic Name"));
    let e = sns.publish().topic_arn(&topic).message("").send().await.expect_err("empty").into_service_error();
    assert_eq!(e.meta().message(), Some("Invalid parameter: Empty message"));
    let subscribe_error = |protocol: &'static str, endpoint: &'static str, attributes: &[(&str, &str)]| {
        let mut req = sns.subscribe().topic_arn(&topic).protocol(protocol).endpoint(endpoint);
        for (k, v) in attributes {
            req = req.attributes(*k, *v);
        }
        async move {
            req.send().await.expect_err("refused").into_service_error().meta().message().map(str::to_owned)
        }
    };
    assert_eq!(
        subscribe_error("carrier-pigeon", "x", &[]).await.as_deref(),
        Some("Invalid parameter: Amazon SNS does not support this protocol string: carrier-pigeon")
    );
    let policy = [("FilterPolicy", r#"{"key":[{"suffix":100}]}"#)];
    assert_eq!(
        subscribe_error("sqs", "arn:aws:sqs:us-east-1:000000000000:q", &policy).await.as_deref(),
        Some("Invalid parameter: Attributes Reason: FilterPolicy: suffix match pattern must be a string")
    );
    assert_eq!(
        subscribe_error("http", "https://example.com/", &[]).await.as_deref(),
        Some("Invalid parameter: Endpoint must match the specified protocol")
    );
    let e =
        sns.confirm_subscription().topic_arn(&topic).token("not-a-token").send().await.expect_err("token");
    assert_eq!(e.into_service_error().meta().message(), Some("Invalid parameter: Token"));
    let entry = |id: &str| PublishBatchRequestEntry::builder().id(id).message("m").build().expect("entry");
    let e = sns
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(entry("a"))
        .publish_batch_request_entries(entry("a"))
        .send()
        .await
        .expect_err("duplicate ids")
        .into_service_error();
    assert!(e.is_batch_entry_ids_not_distinct_exception(), "{e:?}");
    let e = sns
        .create_platform_application()
        .name("app")
        .platform("GCM")
        .set_attributes(Some(Default::default()))
        .send()
        .await
        .expect_err("not implemented");
    assert_eq!(e.into_service_error().meta().code(), Some("NotImplemented"));
}
