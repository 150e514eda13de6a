//! CloudWatch Logs through the Rust SDK: groups, streams, events, paginators, durability and
//! tenant isolation against a real server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{InputLogEvent, OrderBy};

use crate::harness::Server;

fn now_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970");
    i64::try_from(since.as_millis()).expect("fits")
}

fn event(timestamp: i64, message: &str) -> InputLogEvent {
    InputLogEvent::builder().timestamp(timestamp).message(message).build().expect("event")
}

async fn group_with_stream(logs: &Client, group: &str, stream: &str) {
    logs.create_log_group().log_group_name(group).send().await.expect("create group");
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .expect("create stream");
}

async fn put(logs: &Client, group: &str, stream: &str, events: Vec<InputLogEvent>) {
    let out = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put log events");
    assert!(out.rejected_log_events_info().is_none(), "{out:?}");
}

#[tokio::test]
async fn events_round_trip_and_paginators_end() {
    let server = Server::ephemeral();
    let logs = server.logs("test", "us-east-1").await;
    group_with_stream(&logs, "/aws/lambda/fn", "stream-a").await;
    let now = now_ms();
    let events: Vec<InputLogEvent> =
        (0..25).map(|i| event(now - 25_000 + i * 1000, &format!("line {i}"))).collect();
    put(&logs, "/aws/lambda/fn", "stream-a", events).await;

    // GetLogEvents' paginator follows nextForwardToken and stops when the same token comes back.
    let pages = tokio::time::timeout(
        Duration::from_secs(20),
        logs.get_log_events()
            .log_group_name("/aws/lambda/fn")
            .log_stream_name("stream-a")
            .start_from_head(true)
            .limit(10)
            .into_paginator()
            .send()
            .collect::<Vec<_>>(),
    )
    .await
    .expect("the paginator terminates");
    let messages: Vec<String> = pages
        .into_iter()
        .flat_map(|p| p.expect("page").events.unwrap_or_default())
        .filter_map(|e| e.message)
        .collect();
    assert_eq!(messages.len(), 25);
    assert_eq!(messages[0], "line 0");
    assert_eq!(messages[24], "line 24");

    let filtered = logs
        .filter_log_events()
        .log_group_name("/aws/lambda/fn")
        .filter_pattern("\"line 1\"")
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    let found: Vec<String> = filtered
        .into_iter()
        .flat_map(|p| p.expect("page").events.unwrap_or_default())
        .filter_map(|e| e.message)
        .collect();
    assert_eq!(found.len(), 11, "line 1 and line 10..19: {found:?}");

    let group =
        logs.describe_log_groups().log_group_name_prefix("/aws/lambda/").send().await.expect("describe");
    let g = &group.log_groups()[0];
    assert_eq!(g.arn(), Some("arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/fn:*"));
    assert_eq!(g.log_group_arn(), Some("arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/fn"));
    let expected: i64 = (0..25).map(|i| format!("line {i}").len() as i64).sum();
    assert_eq!(g.stored_bytes(), Some(expected));

    let streams = logs
        .describe_log_streams()
        .log_group_name("/aws/lambda/fn")
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .expect("describe streams");
    let s = &streams.log_streams()[0];
    assert_eq!(s.first_event_timestamp(), Some(now - 25_000));
    assert_eq!(s.last_event_timestamp(), Some(now - 1000));
}

#[tokio::test]
async fn describe_paginators_walk_every_page() {
    let server = Server::ephemeral();
    let logs = server.logs("test", "us-east-1").await;
    for i in 0..7 {
        logs.create_log_group().log_group_name(format!("group-{i}")).send().await.expect("create");
        logs.create_log_stream()
            .log_group_name("group-0")
            .log_stream_name(format!("s-{i}"))
            .send()
            .await
            .expect("stream");
    }
    let groups: Vec<String> = logs
        .describe_log_groups()
        .limit(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .filter_map(|g| g.expect("group").log_group_name)
        .collect();
    assert_eq!(groups, (0..7).map(|i| format!("group-{i}")).collect::<Vec<_>>());
    let streams = logs
        .describe_log_streams()
        .log_group_name("group-0")
        .limit(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(streams.len(), 7);
}

#[tokio::test]
async fn errors_come_back_as_the_sdk_expects() {
    let server = Server::ephemeral();
    let logs = server.logs("test", "us-east-1").await;
    let err = logs.describe_log_streams().log_group_name("missing").send().await.expect_err("no group");
    let err = err.into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert_eq!(err.meta().message(), Some("The specified log group does not exist."));

    logs.create_log_group().log_group_name("g").send().await.expect("create");
    let err =
        logs.create_log_group().log_group_name("g").send().await.expect_err("exists").into_service_error();
    assert!(err.is_resource_already_exists_exception(), "{err:?}");

    let err = logs
        .put_retention_policy()
        .log_group_name("g")
        .retention_in_days(2)
        .send()
        .await
        .expect_err("bad days");
    assert!(err.into_service_error().is_invalid_parameter_exception());

    let err = logs
        .describe_log_streams()
        .log_group_name("g")
        .order_by(OrderBy::LastEventTime)
        .log_stream_name_prefix("x")
        .send()
        .await
        .expect_err("prefix with LastEventTime")
        .into_service_error();
    assert_eq!(err.meta().message(), Some("Cannot order by LastEventTime with a logStreamNamePrefix."));

    let err = logs.start_query().log_group_name("g").query_string("x").start_time(0).end_time(1).send().await;
    let err = err.expect_err("not implemented").into_service_error();
    assert_eq!(err.meta().code(), Some("NotImplemented"));
}

#[tokio::test]
async fn acknowledged_events_survive_sigkill_and_tags_survive_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let logs = server.logs("test", "us-east-1").await;
    group_with_stream(&logs, "durable", "s").await;
    put(&logs, "durable", "s", vec![event(now_ms(), "kept")]).await;
    logs.tag_resource()
        .resource_arn("arn:aws:logs:us-east-1:000000000000:log-group:durable")
        .tags("team", "core")
        .send()
        .await
        .expect("tag");

    server.kill9();
    server.restart();
    let logs = server.logs("test", "us-east-1").await;
    let got = logs.get_log_events().log_group_name("durable").log_stream_name("s").send().await.expect("get");
    assert_eq!(got.events()[0].message(), Some("kept"));

    let status = server.terminate();
    assert!(status.success());
    server.restart();
    let logs = server.logs("test", "us-east-1").await;
    let tags = logs
        .list_tags_for_resource()
        .resource_arn("arn:aws:logs:us-east-1:000000000000:log-group:durable")
        .send()
        .await
        .expect("tags");
    assert_eq!(tags.tags().and_then(|t| t.get("team")).map(String::as_str), Some("core"));
}

#[tokio::test]
async fn accounts_and_regions_are_isolated() {
    let server = Server::ephemeral();
    let a = server.logs("111111111111", "us-east-1").await;
    let b = server.logs("222222222222", "us-east-1").await;
    let c = server.logs("111111111111", "eu-west-1").await;
    a.create_log_group().log_group_name("shared").send().await.expect("a");
    b.create_log_group().log_group_name("shared").send().await.expect("b may use the name too");
    assert!(c.describe_log_groups().send().await.expect("c").log_groups().is_empty());
    let arn =
        b.describe_log_groups().send().await.expect("b").log_groups()[0].log_group_arn().map(str::to_owned);
    assert_eq!(arn.as_deref(), Some("arn:aws:logs:us-east-1:222222222222:log-group:shared"));
    a.delete_log_group().log_group_name("shared").send().await.expect("delete in a");
    assert_eq!(b.describe_log_groups().send().await.expect("b").log_groups().len(), 1);
}
