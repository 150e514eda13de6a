//! Invocations as the console lists them: the records Lambda kept of them (REPORT figures,
//! trigger, trace; read through `ports::InvocationReader`, a page at a time), with each one's
//! log lines from CloudWatch Logs. The START / END / REPORT lines the runtime writes
//! (`runtime::Report::line`: tab-separated `Key: value` fields, `Init Duration` only on the
//! invocation that started its environment) delimit each request on its log stream, so every
//! line in between is that request's output. Parsing is pure; `read_page_logs` reads only the
//! streams and the time span of one page, so a page costs the same however many invocations
//! came before it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::api::Reader;
use crate::error::Error;

/// Log events read for one page at most (FilterLogEvents pages of 10,000): a function that
/// prints a lot shows the start of each invocation's output.
const MAX_EVENTS: usize = 50_000;
/// Streams one FilterLogEvents call may name (CloudWatch Logs' limit).
const MAX_STREAMS: usize = 100;

/// One log event of a function's group.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub stream: String,
    pub timestamp_ms: i64,
    pub message: String,
}

/// The figures of one REPORT line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub request_id: String,
    pub duration_ms: f64,
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
    /// `timeout` or `error`, when the invocation did not end normally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

impl Report {
    /// `memory × billed duration`, Lambda's billing unit.
    pub fn gb_seconds(&self) -> f64 {
        f64::from(self.memory_size_mb) / 1024.0 * (self.billed_duration_ms as f64 / 1000.0)
    }
}

/// Reads a REPORT line; `None` for any other line.
pub fn parse_report(line: &str) -> Option<Report> {
    let rest = line.trim_end().strip_prefix("REPORT ")?;
    let mut fields: BTreeMap<&str, &str> = BTreeMap::new();
    for field in rest.split('\t') {
        if let Some((k, v)) = field.split_once(": ") {
            fields.insert(k.trim(), v.trim());
        }
    }
    let number =
        |k: &str, unit: &str| -> Option<f64> { fields.get(k)?.strip_suffix(unit)?.trim().parse().ok() };
    Some(Report {
        request_id: (*fields.get("RequestId")?).to_owned(),
        duration_ms: number("Duration", "ms")?,
        billed_duration_ms: fields.get("Billed Duration")?.strip_suffix("ms")?.trim().parse().ok()?,
        memory_size_mb: fields.get("Memory Size")?.strip_suffix("MB")?.trim().parse().ok()?,
        max_memory_used_mb: fields.get("Max Memory Used")?.strip_suffix("MB")?.trim().parse().ok()?,
        init_duration_ms: number("Init Duration", "ms"),
        status: fields.get("Status").map(|s| (*s).to_owned()),
        error_type: fields.get("Error Type").map(|s| (*s).to_owned()),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invocation {
    pub request_id: String,
    /// When Lambda began it (the START line's time when read from logs alone).
    pub started_ms: i64,
    pub ended_ms: i64,
    pub cold: bool,
    /// `ok`, `timeout` or `error`.
    pub outcome: String,
    #[serde(flatten)]
    pub report: Report,
    pub log_stream: String,
    pub logs: Vec<Value>,
    /// What invoked it, recorded with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Invocations of the function running when it began, itself included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Invocation {
    /// An invocation as Lambda recorded it, before its log lines are read.
    pub fn of_record(r: &ports::InvocationRecord) -> Invocation {
        let (status, error_type) = match &r.outcome {
            ports::InvocationOutcome::Ok => (None, None),
            ports::InvocationOutcome::Timeout => (Some("timeout"), None),
            ports::InvocationOutcome::Error { error_type } => (Some("error"), Some(error_type.clone())),
        };
        Invocation {
            request_id: r.request_id.clone(),
            started_ms: r.started_ms,
            ended_ms: r.ended_ms,
            cold: r.cold(),
            outcome: r.outcome.name().to_owned(),
            report: Report {
                request_id: r.request_id.clone(),
                duration_ms: r.duration_ms_x100 as f64 / 100.0,
                billed_duration_ms: r.billed_ms,
                memory_size_mb: r.memory_mb,
                max_memory_used_mb: r.max_memory_used_mb,
                init_duration_ms: r.init_ms_x100.map(|i| i as f64 / 100.0),
                status: status.map(str::to_owned),
                error_type,
            },
            log_stream: r.log_stream.clone(),
            logs: Vec::new(),
            trigger: r.trigger.as_ref().map(Trigger::from),
            trace_id: Some(r.trace.to_string()),
            concurrency: Some(r.concurrency),
            version: Some(r.version.clone()),
        }
    }
}

/// The caller of an invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trigger {
    /// `S3`, `SQS`, `EventBridge`, `API Gateway`, `SNS`, `DynamoDB`, `Scheduler`, `Invoke`
    /// (the Lambda API or a function URL), `Lambda` (another function's destination) or
    /// `unrecorded` (a caller whose request did not belong to a recorded trace: a plain SQS
    /// SendMessage, a client's own trace).
    pub kind: &'static str,
    pub service: String,
    pub operation: String,
    pub resource: String,
}

impl From<&ports::Trigger> for Trigger {
    fn from(t: &ports::Trigger) -> Trigger {
        Trigger {
            kind: t.kind.name(),
            service: t.service.clone(),
            operation: t.operation.clone(),
            resource: t.resource.clone(),
        }
    }
}

impl Trigger {
    /// Reads the caller off an invocation's trace.
    pub fn of(invoked: &ports::Invoked) -> Trigger {
        Trigger::from(&ports::Trigger::of(invoked.caller.as_ref(), invoked.span.parent.is_some()))
    }
}

/// Where a page of invocations continues: after the invocation that started at `started_ms`
/// with `request_id` (the list is newest first, request ids breaking ties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub started_ms: i64,
    pub request_id: String,
}

impl Cursor {
    /// `{started_ms}:{request_id}`, as a page's `next` writes it.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (ms, id) = text.split_once(':')?;
        if id.is_empty() || id.len() > 128 {
            return None;
        }
        Some(Cursor { started_ms: ms.parse().ok()?, request_id: id.to_owned() })
    }

    pub fn of(c: &ports::InvocationCursor) -> String {
        format!("{}:{}", c.started_ms, c.request_id)
    }

    pub fn to_port(&self) -> ports::InvocationCursor {
        ports::InvocationCursor { started_ms: self.started_ms, request_id: self.request_id.clone() }
    }
}

/// Gives each invocation of a page its lines: on each stream, the lines since the previous
/// REPORT (INIT_START and module-level prints included, for a cold start) up to its own.
/// Lines of invocations not on the page are read past.
pub fn attach_logs(page: &mut [Invocation], lines: &[LogLine]) {
    let mut by_stream: BTreeMap<&str, Vec<&LogLine>> = BTreeMap::new();
    for l in lines {
        by_stream.entry(&l.stream).or_default().push(l);
    }
    let wanted: BTreeMap<&str, usize> =
        page.iter().enumerate().map(|(i, inv)| (inv.request_id.as_str(), i)).collect();
    let mut found: Vec<(usize, Vec<Value>)> = Vec::new();
    for (_, mut lines) in by_stream {
        lines.sort_by_key(|l| l.timestamp_ms);
        let mut pending: Vec<&LogLine> = Vec::new();
        for l in lines {
            let msg = l.message.trim_end_matches('\n');
            pending.push(l);
            if let Some(report) = parse_report(msg) {
                if let Some(i) = wanted.get(report.request_id.as_str()) {
                    let logs = pending
                        .iter()
                        .map(|p| json!({ "timestamp": p.timestamp_ms, "message": p.message.trim_end_matches('\n') }))
                        .collect();
                    found.push((*i, logs));
                }
                pending.clear();
            }
        }
    }
    for (i, logs) in found {
        page[i].logs = logs;
    }
}

/// Groups a function's log lines into invocations, newest first. Lines before a START on the
/// same stream (INIT_START, module-level prints) belong to the invocation that started the
/// environment.
pub fn invocations(lines: &[LogLine]) -> Vec<Invocation> {
    let mut by_stream: BTreeMap<&str, Vec<&LogLine>> = BTreeMap::new();
    for l in lines {
        by_stream.entry(&l.stream).or_default().push(l);
    }
    let mut out = Vec::new();
    for (stream, mut lines) in by_stream {
        lines.sort_by_key(|l| l.timestamp_ms);
        let mut pending: Vec<&LogLine> = Vec::new();
        let mut started: Option<i64> = None;
        for l in lines {
            let msg = l.message.trim_end_matches('\n');
            if msg.starts_with("START RequestId: ") && started.is_none() {
                started = Some(l.timestamp_ms);
            }
            pending.push(l);
            if let Some(report) = parse_report(msg) {
                let outcome = match report.status.as_deref() {
                    None => "ok",
                    Some("timeout") => "timeout",
                    Some(_) => "error",
                };
                out.push(Invocation {
                    request_id: report.request_id.clone(),
                    started_ms: started.unwrap_or(l.timestamp_ms),
                    ended_ms: l.timestamp_ms,
                    cold: report.init_duration_ms.is_some(),
                    outcome: outcome.to_owned(),
                    report,
                    log_stream: stream.to_owned(),
                    trigger: None,
                    trace_id: None,
                    concurrency: None,
                    version: None,
                    logs: pending
                        .drain(..)
                        .map(|p| json!({ "timestamp": p.timestamp_ms, "message": p.message.trim_end_matches('\n') }))
                        .collect(),
                });
                started = None;
            }
        }
    }
    out.sort_by(|a, b| b.started_ms.cmp(&a.started_ms).then_with(|| a.request_id.cmp(&b.request_id)));
    out
}

/// The log lines of a page of invocations: one FilterLogEvents per log group (and hundred
/// streams) over the streams they ran on, from the earliest start to the latest end. A group
/// that no longer exists has none.
pub async fn read_page_logs(
    api: Reader<'_>,
    page: &[ports::InvocationRecord],
) -> Result<Vec<LogLine>, Error> {
    let mut groups: BTreeMap<&str, (Vec<&str>, i64, i64)> = BTreeMap::new();
    for r in page {
        let g = groups.entry(r.log_group.as_str()).or_insert((Vec::new(), i64::MAX, i64::MIN));
        if !g.0.contains(&r.log_stream.as_str()) {
            g.0.push(r.log_stream.as_str());
        }
        g.1 = g.1.min(r.started_ms);
        g.2 = g.2.max(r.ended_ms);
    }
    let mut out = Vec::new();
    for (group, (streams, since, until)) in groups {
        for names in streams.chunks(MAX_STREAMS) {
            let mut token: Option<String> = None;
            loop {
                let mut body = json!({
                    "logGroupName": group,
                    "logStreamNames": names,
                    "startTime": since.max(0),
                    "endTime": until.saturating_add(1),
                    "limit": 10000,
                });
                if let Some(t) = &token {
                    body["nextToken"] = json!(t);
                }
                let page = match api.json("logs", "1.1", "Logs_20140328.FilterLogEvents", body).await {
                    Ok(p) => p,
                    Err(Error::Upstream { detail, .. }) if detail.contains("ResourceNotFoundException") => {
                        break;
                    }
                    Err(e) => return Err(e),
                };
                for e in page["events"].as_array().into_iter().flatten() {
                    out.push(LogLine {
                        stream: e["logStreamName"].as_str().unwrap_or_default().to_owned(),
                        timestamp_ms: e["timestamp"].as_i64().unwrap_or_default(),
                        message: e["message"].as_str().unwrap_or_default().to_owned(),
                    });
                }
                token = page["nextToken"].as_str().map(str::to_owned);
                if token.is_none() || out.len() >= MAX_EVENTS {
                    break;
                }
            }
            if out.len() >= MAX_EVENTS {
                return Ok(out);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(stream: &str, ts: i64, message: &str) -> LogLine {
        LogLine { stream: stream.into(), timestamp_ms: ts, message: message.into() }
    }

    #[test]
    fn report_lines_parse_as_the_runtime_writes_them() {
        let r = parse_report(
            "REPORT RequestId: r1\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 37 MB\tInit Duration: 85.23 ms\t",
        )
        .expect("a report");
        assert_eq!(r.request_id, "r1");
        assert!((r.duration_ms - 12.34).abs() < 1e-9);
        assert_eq!((r.billed_duration_ms, r.memory_size_mb, r.max_memory_used_mb), (13, 128, 37));
        assert_eq!(r.init_duration_ms, Some(85.23));
        assert!((r.gb_seconds() - 0.125 * 0.013).abs() < 1e-12);
        let t = parse_report(
            "REPORT RequestId: r2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 256 MB\tMax Memory Used: 40 MB\tStatus: error\tError Type: Runtime.OutOfMemory\t",
        )
        .expect("a report");
        assert_eq!(t.init_duration_ms, None);
        assert_eq!(t.status.as_deref(), Some("error"));
        assert_eq!(t.error_type.as_deref(), Some("Runtime.OutOfMemory"));
        assert_eq!(parse_report("START RequestId: r1 Version: $LATEST"), None);
        assert_eq!(parse_report("REPORT RequestId: r1\tDuration: soon"), None);
    }

    #[test]
    fn lines_between_start_and_report_belong_to_the_request() {
        let lines = vec![
            line("a", 1, "INIT_START Runtime Version: python:3.12"),
            line("a", 2, "START RequestId: r1 Version: $LATEST"),
            line("b", 2, "START RequestId: r3 Version: $LATEST"),
            line("a", 3, "hello from r1\n"),
            line("a", 4, "END RequestId: r1"),
            line(
                "a",
                4,
                "REPORT RequestId: r1\tDuration: 1.00 ms\tBilled Duration: 90 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\tInit Duration: 88.10 ms\t",
            ),
            line("b", 5, "END RequestId: r3"),
            line(
                "b",
                5,
                "REPORT RequestId: r3\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\tStatus: timeout\t",
            ),
            line("a", 10, "START RequestId: r2 Version: $LATEST"),
            line("a", 11, "END RequestId: r2"),
            line(
                "a",
                11,
                "REPORT RequestId: r2\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 31 MB\t",
            ),
        ];
        let got = invocations(&lines);
        let ids: Vec<&str> = got.iter().map(|i| i.request_id.as_str()).collect();
        assert_eq!(ids, ["r2", "r1", "r3"]);
        let r1 = &got[1];
        assert!(r1.cold);
        assert_eq!(r1.started_ms, 2);
        assert_eq!(r1.logs.len(), 5);
        assert_eq!(r1.logs[0]["message"], "INIT_START Runtime Version: python:3.12");
        assert_eq!(r1.logs[2]["message"], "hello from r1");
        assert!(!got[0].cold);
        assert_eq!(got[0].logs.len(), 3);
        assert_eq!(got[2].outcome, "timeout");
        assert_eq!(got[2].log_stream, "b");

        // A page of two of them gets the same lines from the same log, whatever else the
        // log holds.
        let mut page: Vec<Invocation> = got.iter().filter(|i| i.request_id != "r3").cloned().collect();
        let want: Vec<Vec<Value>> = page.iter().map(|i| i.logs.clone()).collect();
        for i in &mut page {
            i.logs.clear();
        }
        attach_logs(&mut page, &lines);
        assert_eq!(page.iter().map(|i| i.logs.clone()).collect::<Vec<_>>(), want);
        assert_eq!(Cursor::parse("x:1"), None);
        assert_eq!(Cursor::parse("12:"), None);
        assert_eq!(Cursor::parse("12:r1"), Some(Cursor { started_ms: 12, request_id: "r1".to_owned() }));
    }
}
