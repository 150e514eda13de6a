//! EventBridge Scheduler through the Rust SDK: one-time schedules a few seconds ahead delivered
//! to a real SQS queue and a real Python function, ActionAfterCompletion DELETE, a dead-letter
//! queue for a missing function, a firing that fell due while the server was killed, groups,
//! tags and paging, and errors in Scheduler's words.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::primitives::{DateTime, DateTimeFormat};
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, DeadLetterConfig, FlexibleTimeWindow, FlexibleTimeWindowMode, ScheduleState,
    SqsParameters, Tag, Target,
};
use serde_json::{Value, json};

use crate::harness::{Server, create_queue, receive};
use crate::lambda::{PY_RECORDER, create_python, wait_for_lines};

const ROLE: &str = "arn:aws:iam::000000000000:role/scheduler";

async fn client(server: &Server) -> aws_sdk_scheduler::Client {
    aws_sdk_scheduler::Client::new(&server.sdk_config("test", "us-east-1").await)
}

/// `at(…)` for `seconds` from now, in UTC.
fn at_in(seconds: u64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    let text = DateTime::from_secs(i64::try_from(now + seconds).expect("fits"))
        .fmt(DateTimeFormat::DateTime)
        .expect("formats");
    format!("at({})", text.trim_end_matches('Z'))
}

fn off() -> FlexibleTimeWindow {
    FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().expect("window")
}

fn target(arn: &str) -> aws_sdk_scheduler::types::builders::TargetBuilder {
    Target::builder().arn(arn).role_arn(ROLE)
}

#[tokio::test]
async fn one_time_schedules_reach_a_queue_and_a_function() {
    let server = Server::ephemeral();
    let out = tempfile::tempdir().expect("tempdir");
    let scheduler = client(&server).await;
    let sqs = server.sqs("test", "us-east-1").await;
    let url = create_queue(&sqs, "jobs").await;
    let lambda = server.lambda("test", "us-east-1").await;
    let record = out.path().join("calls.jsonl");
    let function =
        create_python(&lambda, "nightly", PY_RECORDER, &[("RECORD_TO", record.to_str().expect("utf-8"))])
            .await
            .function_arn()
            .expect("arn")
            .to_owned();

    let created = scheduler
        .create_schedule()
        .name("to-queue")
        .schedule_expression(at_in(3))
        .schedule_expression_timezone("UTC")
        .flexible_time_window(off())
        .target(
            target("arn:aws:sqs:us-east-1:000000000000:jobs")
                .input(r#"{"job":"report","schedule":"<aws.scheduler.schedule-arn>"}"#)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("create");
    assert_eq!(created.schedule_arn(), "arn:aws:scheduler:us-east-1:000000000000:schedule/default/to-queue");
    scheduler
        .create_schedule()
        .name("to-function")
        .schedule_expression(at_in(3))
        .flexible_time_window(off())
        .action_after_completion(ActionAfterCompletion::Delete)
        .target(target(&function).input(r#"{"job":"cleanup"}"#).build().expect("target"))
        .send()
        .await
        .expect("create");

    let got = receive(&sqs, &url, 1).await;
    assert_eq!(got.len(), 1, "the queue got the schedule's input");
    let body: Value = serde_json::from_str(got[0].body().expect("body")).expect("json");
    assert_eq!(body, json!({ "job": "report", "schedule": created.schedule_arn() }));

    let calls = wait_for_lines(&record, 1, Duration::from_secs(20)).await;
    assert_eq!(calls.len(), 1, "the function ran once");
    assert_eq!(calls[0]["event"], json!({ "job": "cleanup" }));

    // ActionAfterCompletion DELETE removed the completed schedule; NONE kept the other one.
    let mut gone = false;
    for _ in 0..20 {
        match scheduler.get_schedule().name("to-function").send().await {
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                gone = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(gone, "the completed schedule deleted itself");
    let kept = scheduler.get_schedule().name("to-queue").send().await.expect("still there");
    assert_eq!(kept.state(), Some(&ScheduleState::Enabled));
}

#[tokio::test]
async fn a_missing_function_sends_the_invocation_to_the_dead_letter_queue() {
    let server = Server::ephemeral();
    let scheduler = client(&server).await;
    let sqs = server.sqs("test", "us-east-1").await;
    let dlq = create_queue(&sqs, "schedule-dlq").await;
    let missing = "arn:aws:lambda:us-east-1:000000000000:function:does-not-exist";
    scheduler
        .create_schedule()
        .name("orphan")
        .schedule_expression(at_in(1))
        .flexible_time_window(off())
        .target(
            target(missing)
                .input(r#"{"n":1}"#)
                .dead_letter_config(
                    DeadLetterConfig::builder()
                        .arn("arn:aws:sqs:us-east-1:000000000000:schedule-dlq")
                        .build(),
                )
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("create");
    let dead = receive(&sqs, &dlq, 1).await;
    assert_eq!(dead.len(), 1, "the failed invocation is in the DLQ");
    assert_eq!(dead[0].body(), Some(r#"{"n":1}"#));
    let attr = |name: &str| {
        dead[0]
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .map(str::to_owned)
    };
    assert_eq!(attr("ERROR_CODE").as_deref(), Some("ResourceNotFoundException"));
    assert_eq!(attr("TARGET_ARN").as_deref(), Some(missing));
    assert_eq!(
        attr("SCHEDULE_ARN").as_deref(),
        Some("arn:aws:scheduler:us-east-1:000000000000:schedule/default/orphan")
    );
    assert_eq!(attr("RETRY_ATTEMPTS").as_deref(), Some("0"));
}

#[tokio::test]
async fn a_firing_due_while_the_server_was_killed_fires_on_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(dir.path());
    let scheduler = client(&server).await;
    let sqs = server.sqs("test", "us-east-1").await;
    let url = create_queue(&sqs, "later").await;
    scheduler
        .create_schedule()
        .name("while-down")
        .schedule_expression(at_in(3))
        .flexible_time_window(off())
        .target(
            target("arn:aws:sqs:us-east-1:000000000000:later").input("fired late").build().expect("target"),
        )
        .send()
        .await
        .expect("create");
    server.kill9();
    tokio::time::sleep(Duration::from_secs(5)).await;
    server.restart();
    let got = receive(&sqs, &url, 1).await;
    assert_eq!(got.len(), 1, "the firing missed while down happened once on start");
    assert_eq!(got[0].body(), Some("fired late"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = sqs.receive_message().queue_url(&url).wait_time_seconds(1).send().await.expect("receive");
    assert!(again.messages().is_empty(), "and only once");
}

#[tokio::test]
async fn groups_tags_paging_and_fifo_parameters() {
    let server = Server::ephemeral();
    let scheduler = client(&server).await;
    let group = scheduler
        .create_schedule_group()
        .name("ops")
        .tags(Tag::builder().key("team").value("platform").build().expect("tag"))
        .send()
        .await
        .expect("create group");
    let group_arn = group.schedule_group_arn().to_owned();
    assert_eq!(group_arn, "arn:aws:scheduler:us-east-1:000000000000:schedule-group/ops");
    for i in 0..5 {
        scheduler
            .create_schedule()
            .name(format!("job-{i}"))
            .group_name("ops")
            .schedule_expression("cron(30 6 ? * MON-FRI *)")
            .schedule_expression_timezone("America/New_York")
            .state(if i % 2 == 0 { ScheduleState::Enabled } else { ScheduleState::Disabled })
            .flexible_time_window(
                FlexibleTimeWindow::builder()
                    .mode(FlexibleTimeWindowMode::Flexible)
                    .maximum_window_in_minutes(15)
                    .build()
                    .expect("window"),
            )
            .target(
                target("arn:aws:sqs:us-east-1:000000000000:jobs.fifo")
                    .sqs_parameters(SqsParameters::builder().message_group_id("g").build())
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("create");
    }
    let got = scheduler.get_schedule().name("job-0").group_name("ops").send().await.expect("get");
    assert_eq!(got.schedule_expression_timezone(), Some("America/New_York"));
    assert_eq!(got.flexible_time_window().and_then(|w| w.maximum_window_in_minutes()), Some(15));
    let t = got.target().expect("target");
    assert_eq!(t.sqs_parameters().and_then(|p| p.message_group_id()), Some("g"));
    let policy = t.retry_policy().expect("the default retry policy is shown");
    assert_eq!(
        (policy.maximum_event_age_in_seconds(), policy.maximum_retry_attempts()),
        (Some(86400), Some(185))
    );

    let pages: Vec<_> = scheduler
        .list_schedules()
        .group_name("ops")
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("pages");
    assert_eq!(pages.len(), 3);
    let names: Vec<String> =
        pages.iter().flat_map(|p| p.schedules().iter().filter_map(|s| s.name().map(str::to_owned))).collect();
    assert_eq!(names, ["job-0", "job-1", "job-2", "job-3", "job-4"]);
    let disabled = scheduler.list_schedules().state(ScheduleState::Disabled).send().await.expect("list");
    assert_eq!(disabled.schedules().len(), 2);

    scheduler
        .tag_resource()
        .resource_arn(&group_arn)
        .tags(Tag::builder().key("env").value("dev").build().expect("tag"))
        .send()
        .await
        .expect("tag");
    scheduler.untag_resource().resource_arn(&group_arn).tag_keys("team").send().await.expect("untag");
    let tags = scheduler.list_tags_for_resource().resource_arn(&group_arn).send().await.expect("tags");
    let tags: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("env", "dev")]);

    let groups = scheduler.list_schedule_groups().send().await.expect("groups");
    let names: Vec<&str> = groups.schedule_groups().iter().filter_map(|g| g.name()).collect();
    assert_eq!(names, ["default", "ops"]);
    scheduler.delete_schedule_group().name("ops").send().await.expect("delete group");
    let left = scheduler.list_schedules().send().await.expect("list");
    assert!(left.schedules().is_empty(), "deleting the group deleted its schedules");
}

#[tokio::test]
async fn errors_in_schedulers_words() {
    let server = Server::ephemeral();
    let scheduler = client(&server).await;
    let create = |name: &str, expr: &str, arn: &str| {
        scheduler
            .create_schedule()
            .name(name)
            .schedule_expression(expr)
            .flexible_time_window(off())
            .target(target(arn).build().expect("target"))
    };
    let queue = "arn:aws:sqs:us-east-1:000000000000:jobs";

    let e = scheduler.get_schedule().name("nope").send().await.expect_err("missing");
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert_eq!(e.message(), Some("Schedule nope does not exist."));
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404));

    create("daily", "rate(1 day)", queue).send().await.expect("create");
    let e = create("daily", "rate(1 day)", queue).send().await.expect_err("conflict");
    assert_eq!(e.code(), Some("ConflictException"));
    assert_eq!(e.message(), Some("Schedule daily already exists."));

    let e = create("bad", "rate(5 minute)", queue).send().await.expect_err("bad expression");
    assert_eq!(e.code(), Some("ValidationException"));
    assert_eq!(e.message(), Some("Invalid Schedule Expression rate(5 minute)"));

    let e = create("tz", "cron(0 8 * * ? *)", queue)
        .schedule_expression_timezone("Mars/Olympus_Mons")
        .send()
        .await
        .expect_err("bad zone");
    assert_eq!(e.code(), Some("ValidationException"));

    let e =
        create("elsewhere", "rate(1 day)", queue).group_name("ghosts").send().await.expect_err("no group");
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert_eq!(e.message(), Some("Schedule group ghosts does not exist."));

    let e = create("bad name!", "rate(1 day)", queue).send().await.expect_err("bad name");
    assert_eq!(e.code(), Some("ValidationException"));

    let e = create("universal", "rate(1 day)", "arn:aws:scheduler:::aws-sdk:s3:listBuckets")
        .send()
        .await
        .expect_err("universal target");
    assert_eq!(e.code(), Some("NotImplemented"));

    let e = scheduler.delete_schedule_group().name("default").send().await.expect_err("default group");
    assert_eq!(e.code(), Some("ValidationException"));
    let e = scheduler.get_schedule_group().name("ghosts").send().await.expect_err("no group");
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    let default = scheduler.get_schedule_group().name("default").send().await.expect("default exists");
    assert_eq!(default.arn(), Some("arn:aws:scheduler:us-east-1:000000000000:schedule-group/default"));
}
