//! What invocations cost: per function, totals (invocations, errors, throttles, billed
//! milliseconds, GB-seconds) and the most recent invocations with their REPORT figures, for the
//! console and the cost report. In memory: figures describe this server's run, as a metrics
//! backend would, and cost nothing on the invoke path but one short lock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use runtime::InvokeOutcome;

use crate::lock;

/// How many recent invocations are kept per function.
const RECENT: usize = 100;

/// One invocation as the console lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationRecord {
    pub request_id: String,
    /// Unix milliseconds when it ended.
    pub ended_ms: i64,
    pub version: String,
    pub duration_ms: f64,
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    pub max_memory_used_mb: u32,
    /// Set on a cold start.
    pub init_duration_ms: Option<f64>,
    /// `None` on success, else the error type (`Sandbox.Timedout`, `ValueError`, …).
    pub error: Option<String>,
    pub gb_seconds: f64,
    /// `Event` invocations come from the async queue.
    pub asynchronous: bool,
}

/// A function's totals and recent invocations.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionUsage {
    pub function_arn: String,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub cold_starts: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    /// Oldest first.
    pub recent: VecDeque<InvocationRecord>,
}

#[derive(Debug, Default)]
pub struct Usage {
    functions: Mutex<HashMap<String, FunctionUsage>>,
}

impl Usage {
    pub fn record(
        &self,
        function_arn: &str,
        version: &str,
        outcome: &InvokeOutcome,
        ended_ms: i64,
        asynchronous: bool,
    ) {
        let report = &outcome.report;
        let record = InvocationRecord {
            request_id: outcome.request_id.clone(),
            ended_ms,
            version: version.to_owned(),
            duration_ms: report.duration.as_secs_f64() * 1000.0,
            billed_duration_ms: u64::try_from(report.billed_duration.as_millis()).unwrap_or(u64::MAX),
            memory_size_mb: report.memory_size_mb,
            max_memory_used_mb: report.max_memory_used_mb,
            init_duration_ms: report.init_duration.map(|d| d.as_secs_f64() * 1000.0),
            error: outcome.error().map(|e| e.error_type.clone()),
            gb_seconds: report.billed_gb_seconds(),
            asynchronous,
        };
        let mut functions = lock(&self.functions);
        let usage = functions.entry(function_arn.to_owned()).or_insert_with(|| FunctionUsage {
            function_arn: function_arn.to_owned(),
            ..FunctionUsage::default()
        });
        usage.invocations += 1;
        usage.errors += u64::from(record.error.is_some());
        usage.cold_starts += u64::from(outcome.cold_start);
        usage.billed_ms += record.billed_duration_ms;
        usage.gb_seconds += record.gb_seconds;
        if usage.recent.len() == RECENT {
            usage.recent.pop_front();
        }
        usage.recent.push_back(record);
    }

    pub fn throttled(&self, function_arn: &str) {
        let mut functions = lock(&self.functions);
        functions
            .entry(function_arn.to_owned())
            .or_insert_with(|| FunctionUsage {
                function_arn: function_arn.to_owned(),
                ..FunctionUsage::default()
            })
            .throttles += 1;
    }

    /// Every function whose ARN starts with `prefix` (`arn:aws:lambda:REGION:ACCOUNT:function:`).
    pub fn snapshot(&self, prefix: &str) -> Vec<FunctionUsage> {
        let functions = lock(&self.functions);
        let mut out: Vec<FunctionUsage> =
            functions.values().filter(|u| u.function_arn.starts_with(prefix)).cloned().collect();
        out.sort_by(|a, b| a.function_arn.cmp(&b.function_arn));
        out
    }

    pub fn forget(&self, function_arn: &str) {
        lock(&self.functions).remove(function_arn);
    }
}
