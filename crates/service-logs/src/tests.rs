//! The service through its one entry point: requests in, awsJson responses out, on the memory
//! store with a fixed clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use serde_json::{Value, json};
use storage::{Batch, CommitError, Entry, KeyRange, Kv, StorageError, Store};
use time::OffsetDateTime;
use types::{AccountId, FixedClock, Region, Scope};

use super::*;

/// 2023-11-14T22:13:20Z.
const NOW: i64 = 1_700_000_000_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

struct Harness {
    service: LogsService,
    store: Store,
}

fn clock() -> Arc<dyn Clock> {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(NOW) * 1_000_000).expect("valid instant");
    Arc::new(FixedClock(at))
}

fn harness() -> Harness {
    let store = Store::memory();
    Harness { service: LogsService::new(store.clone(), clock()), store }
}

fn scope(account: &str, region: &str) -> Scope {
    Scope {
        account: AccountId::parse(account).expect("account"),
        region: Region::parse(region).expect("region"),
    }
}

impl Harness {
    fn call_in(&self, scope: &Scope, op: &str, body: Value) -> (u16, Value) {
        let req = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("x-amz-target", format!("Logs_20140328.{op}"))
            .body(Bytes::from(body.to_string()))
            .expect("request");
        let ctx = RequestContext::new(scope.clone(), "test");
        let resp = self.service.handle(&ctx, &req);
        let json = serde_json::from_slice(resp.body()).expect("json body");
        (resp.status().as_u16(), json)
    }

    fn call(&self, op: &str, body: Value) -> (u16, Value) {
        self.call_in(&Scope::default(), op, body)
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.call(op, body);
        assert_eq!(status, 200, "{op}: {v}");
        v
    }

    /// The error code and message of a failing call.
    fn err(&self, op: &str, body: Value) -> (String, String) {
        let (status, v) = self.call(op, body);
        assert_ne!(status, 200, "{op} should fail: {v}");
        (v["__type"].as_str().unwrap_or("").to_owned(), v["message"].as_str().unwrap_or("").to_owned())
    }

    fn group_with_stream(&self, group: &str, stream: &str) {
        self.ok("CreateLogGroup", json!({"logGroupName": group}));
        self.ok("CreateLogStream", json!({"logGroupName": group, "logStreamName": stream}));
    }

    fn put(&self, group: &str, stream: &str, events: &[(i64, &str)]) -> Value {
        let events: Vec<Value> = events.iter().map(|(t, m)| json!({"timestamp": t, "message": m})).collect();
        self.ok("PutLogEvents", json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}))
    }
}

/// The `field` of every item of the list `list` in a response.
fn column(v: &Value, list: &str, field: &str) -> Vec<String> {
    v[list].as_array().expect("list").iter().map(|e| e[field].as_str().unwrap_or("").to_owned()).collect()
}

fn messages(v: &Value) -> Vec<String> {
    column(v, "events", "message")
}

#[test]
fn groups_are_created_described_and_deleted() {
    let h = harness();
    h.ok("CreateLogGroup", json!({"logGroupName": "/aws/lambda/f", "tags": {"team": "a"}}));
    assert_eq!(
        h.err("CreateLogGroup", json!({"logGroupName": "/aws/lambda/f"})),
        ("ResourceAlreadyExistsException".into(), "The specified log group already exists".into())
    );
    let d = h.ok("DescribeLogGroups", json!({}));
    let g = &d["logGroups"][0];
    assert_eq!(g["logGroupName"], "/aws/lambda/f");
    assert_eq!(g["creationTime"], NOW);
    assert_eq!(g["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f:*");
    assert_eq!(g["logGroupArn"], "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f");
    assert_eq!(g["storedBytes"], 0);
    assert!(g.get("retentionInDays").is_none());
    h.ok("DeleteLogGroup", json!({"logGroupName": "/aws/lambda/f"}));
    assert_eq!(
        h.err("DeleteLogGroup", json!({"logGroupName": "/aws/lambda/f"})),
        ("ResourceNotFoundException".into(), "The specified log group does not exist.".into())
    );
}

#[test]
fn describe_groups_filters_and_pages() {
    let h = harness();
    for name in ["a/1", "a/2", "a/3", "b/1", "xa/9"] {
        h.ok("CreateLogGroup", json!({"logGroupName": name}));
    }
    let names = |v: &Value| column(v, "logGroups", "logGroupName");
    assert_eq!(names(&h.ok("DescribeLogGroups", json!({"logGroupNamePrefix": "a/"}))), ["a/1", "a/2", "a/3"]);
    let p = h.ok("DescribeLogGroups", json!({"logGroupNamePattern": "a/"}));
    assert_eq!(names(&p), ["a/1", "a/2", "a/3", "xa/9"]);
    assert!(p["logGroups"][0].get("storedBytes").is_none(), "a pattern answers name, arn and time only");
    let first = h.ok("DescribeLogGroups", json!({"limit": 2}));
    assert_eq!(names(&first), ["a/1", "a/2"]);
    let second = h.ok("DescribeLogGroups", json!({"limit": 2, "nextToken": first["nextToken"]}));
    assert_eq!(names(&second), ["a/3", "b/1"]);
    let third = h.ok("DescribeLogGroups", json!({"limit": 2, "nextToken": second["nextToken"]}));
    assert_eq!(names(&third), ["xa/9"]);
    assert!(third.get("nextToken").is_none());
    assert_eq!(
        h.err("DescribeLogGroups", json!({"logGroupNamePrefix": "a", "logGroupNamePattern": "b"})).0,
        "InvalidParameterException"
    );
    assert_eq!(
        h.err("DescribeLogGroups", json!({"nextToken": "zz"})),
        ("InvalidParameterException".into(), "The specified nextToken is invalid.".into())
    );
}

#[test]
fn validation_messages_are_aws_shaped() {
    let h = harness();
    assert_eq!(
        h.err("CreateLogGroup", json!({"logGroupName": "bad:name"})),
        (
            "InvalidParameterException".into(),
            r"1 validation error detected: Value 'bad:name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+".into()
        )
    );
    assert_eq!(
        h.err("CreateLogStream", json!({"logGroupName": "g"})).1,
        "1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: Member must not be null"
    );
    let (code, message) = h.err("DescribeLogGroups", json!({"limit": 51}));
    assert_eq!(code, "InvalidParameterException");
    assert!(message.ends_with("Member must have value less than or equal to 50"), "{message}");
    assert_eq!(h.err("CreateLogGroup", json!({"logGroupName": 5})).0, "SerializationException");
    let (code, message) = h.err("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 4}));
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("Member must satisfy enum value set: [1, 3, 5, 7, 14, 30"), "{message}");
}

#[test]
fn other_operations_are_not_implemented() {
    let h = harness();
    let (status, v) = h.call("StartQuery", json!({}));
    assert_eq!((status, v["__type"].as_str()), (501, Some("NotImplemented")));
    let (status, v) = h.call("NoSuchThing", json!({}));
    assert_eq!((status, v["__type"].as_str()), (400, Some("UnknownOperationException")));
}

#[test]
fn streams_are_described_in_either_order() {
    let h = harness();
    h.ok("CreateLogGroup", json!({"logGroupName": "g"}));
    for (stream, ts) in [("b", NOW - 3000), ("a", NOW - 1000), ("c", NOW - 2000)] {
        h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": stream}));
        h.put("g", stream, &[(ts, "x")]);
    }
    assert_eq!(
        h.err("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "a"})),
        ("ResourceAlreadyExistsException".into(), "The specified log stream already exists".into())
    );
    let names = |v: &Value| column(v, "logStreams", "logStreamName");
    assert_eq!(names(&h.ok("DescribeLogStreams", json!({"logGroupName": "g"}))), ["a", "b", "c"]);
    let by_time = json!({"logGroupName": "g", "orderBy": "LastEventTime", "descending": true, "limit": 2});
    let first = h.ok("DescribeLogStreams", by_time.clone());
    assert_eq!(names(&first), ["a", "c"]);
    let mut next = by_time;
    next["nextToken"] = first["nextToken"].clone();
    assert_eq!(names(&h.ok("DescribeLogStreams", next)), ["b"]);
    let s = &h.ok("DescribeLogStreams", json!({"logGroupName": "g", "logStreamNamePrefix": "a"}))["logStreams"]
        [0];
    assert_eq!(s["firstEventTimestamp"], NOW - 1000);
    assert_eq!(s["lastEventTimestamp"], NOW - 1000);
    assert_eq!(s["lastIngestionTime"], NOW);
    assert_eq!(s["storedBytes"], 0);
    assert_eq!(s["arn"], "arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:a");
    assert_eq!(
        h.err(
            "DescribeLogStreams",
            json!({"logGroupName": "g", "orderBy": "LastEventTime", "logStreamNamePrefix": "a"})
        ),
        (
            "InvalidParameterException".into(),
            "Cannot order by LastEventTime with a logStreamNamePrefix.".into()
        )
    );
    let arn = json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g"});
    assert_eq!(names(&h.ok("DescribeLogStreams", arn)), ["a", "b", "c"]);
    assert_eq!(h.err("DescribeLogStreams", json!({})).0, "InvalidParameterException");
    assert_eq!(h.ok("DescribeLogGroups", json!({}))["logGroups"][0]["storedBytes"], 3);
}

#[test]
fn put_log_events_reports_rejected_events() {
    let h = harness();
    h.group_with_stream("g", "s");
    let v = h.put("g", "s", &[(NOW - 15 * DAY, "old"), (NOW - HOUR, "ok"), (NOW + 3 * HOUR, "new")]);
    assert_eq!(
        v["rejectedLogEventsInfo"],
        json!({"tooOldLogEventEndIndex": 0, "tooNewLogEventStartIndex": 2})
    );
    assert!(v["nextSequenceToken"].is_string());
    h.ok("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 1}));
    let v = h.put("g", "s", &[(NOW - 2 * DAY, "expired"), (NOW, "ok2")]);
    assert_eq!(v["rejectedLogEventsInfo"], json!({"expiredLogEventEndIndex": 0}));
    let all = h.ok("GetLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true}));
    assert_eq!(messages(&all), ["ok", "ok2"]);
    // Sequence tokens are accepted and ignored.
    let e = json!([{"timestamp": NOW, "message": "m"}]);
    h.ok(
        "PutLogEvents",
        json!({"logGroupName": "g", "logStreamName": "s", "logEvents": e, "sequenceToken": "bogus"}),
    );
}

#[test]
fn put_log_events_refuses_bad_batches() {
    let h = harness();
    h.group_with_stream("g", "s");
    let put = |events: Value| {
        h.err("PutLogEvents", json!({"logGroupName": "g", "logStreamName": "s", "logEvents": events}))
    };
    assert_eq!(
        put(json!([{"timestamp": NOW, "message": "b"}, {"timestamp": NOW - 1, "message": "a"}])).1,
        "Log events in a single PutLogEvents request must be in chronological order."
    );
    assert_eq!(
        put(json!([{"timestamp": NOW - 25 * HOUR, "message": "a"}, {"timestamp": NOW, "message": "b"}])).1,
        "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
    );
    let big = "x".repeat(600_000);
    assert_eq!(
        put(json!([{"timestamp": NOW, "message": big}, {"timestamp": NOW, "message": big}])).1,
        "Upload too large: 1200052 bytes exceeds limit of 1048576"
    );
    let many: Vec<Value> = (0..10_001).map(|_| json!({"timestamp": NOW, "message": "m"})).collect();
    assert!(put(Value::Array(many)).1.contains("Member must have length less than or equal to 10000"));
    assert!(put(json!([{"timestamp": NOW, "message": ""}])).1.contains("'logEvents.1.member.message'"));
    assert_eq!(put(json!([])).0, "InvalidParameterException");
    assert_eq!(
        h.err("PutLogEvents", json!({"logGroupName": "g", "logStreamName": "nope", "logEvents": [{"timestamp": NOW, "message": "m"}]})),
        ("ResourceNotFoundException".into(), "The specified log stream does not exist.".into())
    );
}

#[test]
fn get_log_events_pages_both_ways_and_repeats_the_token_at_the_end() {
    let h = harness();
    h.group_with_stream("g", "s");
    let events: Vec<(i64, String)> = (0..5).map(|i| (NOW - 5000 + i * 1000, format!("m{i}"))).collect();
    let refs: Vec<(i64, &str)> = events.iter().map(|(t, m)| (*t, m.as_str())).collect();
    h.put("g", "s", &refs);
    let base = json!({"logGroupName": "g", "logStreamName": "s", "limit": 2});

    let mut req = base.clone();
    req["startFromHead"] = json!(true);
    let p1 = h.ok("GetLogEvents", req.clone());
    assert_eq!(messages(&p1), ["m0", "m1"]);
    let f1 = p1["nextForwardToken"].as_str().expect("token").to_owned();
    assert!(f1.starts_with("f/") && f1.ends_with("/s"));
    req["nextToken"] = json!(f1);
    let p2 = h.ok("GetLogEvents", req.clone());
    assert_eq!(messages(&p2), ["m2", "m3"]);
    req["nextToken"] = p2["nextForwardToken"].clone();
    let p3 = h.ok("GetLogEvents", req.clone());
    assert_eq!(messages(&p3), ["m4"]);
    req["nextToken"] = p3["nextForwardToken"].clone();
    let end = h.ok("GetLogEvents", req.clone());
    assert_eq!(messages(&end), Vec::<String>::new());
    assert_eq!(end["nextForwardToken"], p3["nextForwardToken"], "the same token comes back at the end");

    // A new event shows up behind that same token (what `tail --follow`-style readers rely on).
    h.put("g", "s", &[(NOW, "m5")]);
    assert_eq!(messages(&h.ok("GetLogEvents", req)), ["m5"]);

    // From the tail (the default) and backwards.
    let last = h.ok("GetLogEvents", base.clone());
    assert_eq!(messages(&last), ["m4", "m5"]);
    let mut back = base.clone();
    back["nextToken"] = last["nextBackwardToken"].clone();
    let before = h.ok("GetLogEvents", back);
    assert_eq!(messages(&before), ["m2", "m3"]);

    // A time window: start inclusive, end exclusive.
    let mut window = base;
    window["startTime"] = json!(NOW - 4000);
    window["endTime"] = json!(NOW - 2000);
    window["startFromHead"] = json!(true);
    assert_eq!(messages(&h.ok("GetLogEvents", window.clone())), ["m1", "m2"]);
    window["nextToken"] = json!("f/garbage");
    assert_eq!(h.err("GetLogEvents", window).1, "The specified nextToken is invalid.");
}

#[test]
fn empty_stream_returns_stable_tokens() {
    let h = harness();
    h.group_with_stream("g", "s");
    let req = json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true});
    let first = h.ok("GetLogEvents", req.clone());
    let mut again = req;
    again["nextToken"] = first["nextForwardToken"].clone();
    let second = h.ok("GetLogEvents", again);
    assert_eq!(first["nextForwardToken"], second["nextForwardToken"]);
}

#[test]
fn filter_log_events_interleaves_filters_and_pages() {
    let h = harness();
    h.ok("CreateLogGroup", json!({"logGroupName": "g"}));
    for s in ["s1", "s2", "other"] {
        h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": s}));
    }
    h.put("g", "s1", &[(NOW - 5000, "ERROR one"), (NOW - 3000, "INFO two"), (NOW - 1000, "ERROR three")]);
    h.put("g", "s2", &[(NOW - 4000, "ERROR four"), (NOW - 3000, "ERROR five")]);
    h.put("g", "other", &[(NOW - 2000, "ERROR six")]);

    let all = h.ok("FilterLogEvents", json!({"logGroupName": "g"}));
    assert_eq!(
        messages(&all),
        ["ERROR one", "ERROR four", "INFO two", "ERROR five", "ERROR six", "ERROR three"]
    );
    assert_eq!(all["searchedLogStreams"], json!([]));
    assert!(all.get("nextToken").is_none());
    assert_eq!(all["events"][1]["logStreamName"], "s2");
    assert!(all["events"][0]["eventId"].as_str().is_some_and(|id| id.len() == 56));

    let errors =
        json!({"logGroupName": "g", "filterPattern": "ERROR", "logStreamNamePrefix": "s", "limit": 2});
    let p1 = h.ok("FilterLogEvents", errors.clone());
    assert_eq!(messages(&p1), ["ERROR one", "ERROR four"]);
    let mut next = errors;
    next["nextToken"] = p1["nextToken"].clone();
    let p2 = h.ok("FilterLogEvents", next.clone());
    assert_eq!(messages(&p2), ["ERROR five", "ERROR three"]);
    next["nextToken"] = p2["nextToken"].clone();
    if p2.get("nextToken").is_some() {
        assert_eq!(messages(&h.ok("FilterLogEvents", next)), Vec::<String>::new());
    }

    let named = json!({"logGroupName": "g", "logStreamNames": ["other", "s2"], "startTime": NOW - 3000, "endTime": NOW - 2000});
    assert_eq!(messages(&h.ok("FilterLogEvents", named)), ["ERROR five", "ERROR six"]);
    assert_eq!(
        h.err(
            "FilterLogEvents",
            json!({"logGroupName": "g", "logStreamNames": ["a"], "logStreamNamePrefix": "a"})
        )
        .0,
        "InvalidParameterException"
    );
    assert_eq!(
        h.err("FilterLogEvents", json!({"logGroupName": "g", "filterPattern": "[a, b]"})),
        ("InvalidParameterException".into(), "Invalid filter pattern".into())
    );
}

#[test]
fn retention_hides_and_purges_expired_events() {
    let h = harness();
    h.group_with_stream("g", "s");
    h.put("g", "s", &[(NOW - 10 * DAY, "old"), (NOW - 9 * DAY, "older-ish")]);
    h.put("g", "s", &[(NOW - HOUR, "fresh")]);
    let stored = |h: &Harness| h.ok("DescribeLogGroups", json!({}))["logGroups"][0]["storedBytes"].clone();
    assert_eq!(stored(&h), json!(3 + 9 + 5));
    h.ok("PutRetentionPolicy", json!({"logGroupName": "g", "retentionInDays": 7}));
    assert_eq!(h.ok("DescribeLogGroups", json!({}))["logGroups"][0]["retentionInDays"], 7);
    let get = json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true});
    assert_eq!(messages(&h.ok("GetLogEvents", get.clone())), ["fresh"]);
    assert_eq!(messages(&h.ok("FilterLogEvents", json!({"logGroupName": "g"}))), ["fresh"]);

    writer::purge_all(&h.service.db, NOW).expect("purge");
    assert_eq!(stored(&h), json!(5));
    assert_eq!(h.store.kv.scan(model::EVENTS, KeyRange::all(), storage::UNLIMITED).expect("scan").len(), 1);

    h.ok("DeleteRetentionPolicy", json!({"logGroupName": "g"}));
    assert!(h.ok("DescribeLogGroups", json!({}))["logGroups"][0].get("retentionInDays").is_none());
}

#[test]
fn deleted_streams_and_groups_leave_nothing_behind() {
    let h = harness();
    h.group_with_stream("g", "s");
    h.put("g", "s", &[(NOW, "a")]);
    h.ok("DeleteLogStream", json!({"logGroupName": "g", "logStreamName": "s"}));
    h.ok("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "s"}));
    let get = json!({"logGroupName": "g", "logStreamName": "s", "startFromHead": true});
    assert_eq!(messages(&h.ok("GetLogEvents", get)), Vec::<String>::new(), "a new stream starts empty");
    h.put("g", "s", &[(NOW, "b")]);
    h.ok("DeleteLogGroup", json!({"logGroupName": "g"}));
    writer::purge_all(&h.service.db, NOW).expect("purge");
    for table in [model::EVENTS, model::STREAMS, model::PURGE, model::GROUPS] {
        assert!(
            h.store.kv.scan(table, KeyRange::all(), storage::UNLIMITED).expect("scan").is_empty(),
            "{table}"
        );
    }
}

#[test]
fn tags_through_both_apis() {
    let h = harness();
    h.ok("CreateLogGroup", json!({"logGroupName": "g", "tags": {"a": "1"}}));
    h.ok("TagLogGroup", json!({"logGroupName": "g", "tags": {"b": "2"}}));
    let arn = "arn:aws:logs:us-east-1:000000000000:log-group:g";
    h.ok("TagResource", json!({"resourceArn": arn, "tags": {"c": "3"}}));
    assert_eq!(
        h.ok("ListTagsLogGroup", json!({"logGroupName": "g"}))["tags"],
        json!({"a": "1", "b": "2", "c": "3"})
    );
    h.ok("UntagResource", json!({"resourceArn": arn, "tagKeys": ["a"]}));
    h.ok("UntagLogGroup", json!({"logGroupName": "g", "tags": ["b"]}));
    assert_eq!(h.ok("ListTagsForResource", json!({"resourceArn": arn}))["tags"], json!({"c": "3"}));
    let other = "arn:aws:logs:us-east-1:111111111111:log-group:g";
    assert_eq!(h.err("ListTagsForResource", json!({"resourceArn": other})).0, "ResourceNotFoundException");
    assert_eq!(
        h.err("ListTagsForResource", json!({"resourceArn": "arn:aws:s3:::b"})).0,
        "InvalidParameterException"
    );
    let many: serde_json::Map<String, Value> = (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(h.err("TagResource", json!({"resourceArn": arn, "tags": many})).0, "TooManyTagsException");
}

#[test]
fn tenants_do_not_see_each_other() {
    let h = harness();
    let other = scope("111111111111", "us-east-1");
    let elsewhere = scope("000000000000", "eu-west-1");
    h.ok("CreateLogGroup", json!({"logGroupName": "g"}));
    let (_, v) = h.call_in(&other, "DescribeLogGroups", json!({}));
    assert_eq!(v["logGroups"], json!([]));
    let (status, _) = h.call_in(&elsewhere, "CreateLogGroup", json!({"logGroupName": "g"}));
    assert_eq!(status, 200, "the same name in another region is another group");
    let arn = json!({"logGroupIdentifier": "arn:aws:logs:us-east-1:000000000000:log-group:g", "logStreamName": "s"});
    let (_, v) = h.call_in(&other, "GetLogEvents", arn);
    assert_eq!(v["__type"], "ResourceNotFoundException");
}

/// A memory store whose commits are slow and counted, to see how the writer batches.
#[derive(Debug)]
struct SlowKv {
    inner: storage::memory::MemoryKv,
    commits: AtomicUsize,
}

impl Kv for SlowKv {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(table, key)
    }

    fn scan(&self, table: &str, range: KeyRange, limit: usize) -> Result<Vec<Entry>, StorageError> {
        self.inner.scan(table, range, limit)
    }

    fn commit(&self, batch: Batch) -> Result<(), CommitError> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(20));
        self.inner.commit(batch)
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

#[test]
fn the_writer_batches_many_puts_into_few_commits() {
    let kv = Arc::new(SlowKv { inner: storage::memory::MemoryKv::new(), commits: AtomicUsize::new(0) });
    let store = Store { kv: kv.clone(), blobs: Arc::new(storage::memory::MemoryBlobs::new()) };
    let h = Harness { service: LogsService::new(store.clone(), clock()), store };
    let writer = h.service.writer();
    let s = Scope::default();
    for i in 0..1000 {
        let stream = format!("2023/11/14/[$LATEST]{}", i % 4);
        writer.put(
            &s,
            "/aws/lambda/f",
            &stream,
            vec![(NOW, format!("START {i}")), (NOW, format!("END {i}"))],
        );
    }
    writer.flush();
    let commits = kv.commits.load(Ordering::SeqCst);
    assert!(commits <= 5, "1000 puts took {commits} commits");
    assert_eq!(writer.dropped_events(), 0);
    let streams = h.ok("DescribeLogStreams", json!({"logGroupName": "/aws/lambda/f"}));
    assert_eq!(streams["logStreams"].as_array().map(Vec::len), Some(4));
    let all = h.ok("FilterLogEvents", json!({"logGroupName": "/aws/lambda/f"}));
    assert_eq!(all["events"].as_array().map(Vec::len), Some(2000));
    let get = json!({"logGroupName": "/aws/lambda/f", "logStreamName": "2023/11/14/[$LATEST]1", "startFromHead": true, "limit": 2});
    assert_eq!(messages(&h.ok("GetLogEvents", get)), ["START 1", "END 1"], "one put's lines stay in order");
}
