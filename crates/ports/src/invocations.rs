//! Lambda invocations as they finish, for the console: Lambda hands each one to an
//! [`InvocationRecorder`] with its REPORT figures, what invoked it and where its log lines are;
//! `server` keeps them (a summary per function and time slot, and the records themselves for
//! paging) and the console reads them through [`InvocationReader`]. The summary holds exactly
//! what the console's function list, cold-start analysis and cost page compute, so none of them
//! reads a log line.

use types::Scope;
use types::trace::{Span, SpanId, TraceId};

/// Concurrency levels the summary keeps apart: the cold-start analysis asks what 1 to this many
/// provisioned environments would have served (beyond it only the peak matters).
pub const TRACKED_CONCURRENCY: u32 = 10;

/// Init durations a summary keeps one by one; past this many, neighbours are merged two by
/// two (a weighted sample, so percentiles become approximate but memory stays bounded).
pub const EXACT_INIT_DURATIONS: usize = 128;

/// The instruction set a function ran on, which sets its GB-second price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Architecture {
    X86_64,
    Arm64,
}

impl Architecture {
    /// `x86_64` or `arm64`, as Lambda spells them; anything else is not an architecture.
    pub fn parse(s: &str) -> Option<Architecture> {
        match s {
            "x86_64" => Some(Architecture::X86_64),
            "arm64" => Some(Architecture::Arm64),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

/// How an invocation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvocationOutcome {
    Ok,
    /// The function failed: an error its handler raised, or one the platform detected (it
    /// exited, ran out of memory, failed to initialise). `error_type` as Invoke reports it.
    Error {
        error_type: String,
    },
    /// It ran past its timeout.
    Timeout,
}

impl InvocationOutcome {
    /// `ok`, `error` or `timeout`.
    pub fn name(&self) -> &'static str {
        match self {
            InvocationOutcome::Ok => "ok",
            InvocationOutcome::Error { .. } => "error",
            InvocationOutcome::Timeout => "timeout",
        }
    }

    pub fn error_type(&self) -> Option<&str> {
        match self {
            InvocationOutcome::Error { error_type } => Some(error_type),
            InvocationOutcome::Timeout => Some("Sandbox.Timedout"),
            InvocationOutcome::Ok => None,
        }
    }
}

/// The kind of caller that invoked a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    S3,
    Sqs,
    EventBridge,
    ApiGateway,
    Sns,
    DynamoDb,
    Scheduler,
    /// Another function's destination.
    Lambda,
    /// The Lambda API (Invoke, InvokeAsync) or a function URL.
    Invoke,
    /// A caller whose request did not belong to a recorded trace: a plain SQS SendMessage, a
    /// client's own trace header.
    Unrecorded,
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 10] = [
        TriggerKind::S3,
        TriggerKind::Sqs,
        TriggerKind::EventBridge,
        TriggerKind::ApiGateway,
        TriggerKind::Sns,
        TriggerKind::DynamoDb,
        TriggerKind::Scheduler,
        TriggerKind::Lambda,
        TriggerKind::Invoke,
        TriggerKind::Unrecorded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::S3 => "S3",
            TriggerKind::Sqs => "SQS",
            TriggerKind::EventBridge => "EventBridge",
            TriggerKind::ApiGateway => "API Gateway",
            TriggerKind::Sns => "SNS",
            TriggerKind::DynamoDb => "DynamoDB",
            TriggerKind::Scheduler => "Scheduler",
            TriggerKind::Lambda => "Lambda",
            TriggerKind::Invoke => "Invoke",
            TriggerKind::Unrecorded => "unrecorded",
        }
    }

    pub fn parse(s: &str) -> Option<TriggerKind> {
        TriggerKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// What invoked a function: the kind, and the caller's span as its trace recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub service: String,
    pub operation: String,
    pub resource: String,
}

impl Trigger {
    /// The trigger of an invocation whose caller's span is `caller` (`None`: not recorded);
    /// `had_parent` says whether the invocation came with a caller at all.
    pub fn of(caller: Option<&Span>, had_parent: bool) -> Trigger {
        let Some(caller) = caller else {
            let kind = if had_parent { TriggerKind::Unrecorded } else { TriggerKind::Invoke };
            return Trigger {
                kind,
                service: String::new(),
                operation: String::new(),
                resource: String::new(),
            };
        };
        let kind = match caller.service.as_str() {
            "s3" => TriggerKind::S3,
            "sqs" => TriggerKind::Sqs,
            "events" => TriggerKind::EventBridge,
            "apigateway" => TriggerKind::ApiGateway,
            "sns" => TriggerKind::Sns,
            "dynamodb" => TriggerKind::DynamoDb,
            "scheduler" => TriggerKind::Scheduler,
            "lambda" if caller.execution.is_some() => TriggerKind::Lambda,
            "lambda" => TriggerKind::Invoke,
            _ => TriggerKind::Unrecorded,
        };
        Trigger {
            kind,
            service: caller.service.clone(),
            operation: caller.operation.clone(),
            resource: caller.resource.clone(),
        }
    }
}

/// One finished invocation, as Lambda records it next to its REPORT line.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationRecord {
    pub scope: Scope,
    /// The function's name (not its ARN).
    pub function: String,
    pub request_id: String,
    /// The version that ran.
    pub version: String,
    pub architecture: Architecture,
    /// When Lambda began it (before an environment was started for it), epoch milliseconds.
    pub started_ms: i64,
    /// When it ended, after its REPORT line was written.
    pub ended_ms: i64,
    /// `Duration` in hundredths of a millisecond: the digits REPORT prints.
    pub duration_ms_x100: u64,
    pub billed_ms: u64,
    pub memory_mb: u32,
    pub max_memory_used_mb: u32,
    /// `Init Duration` in hundredths of a millisecond, on the invocation that started its
    /// environment (a cold start).
    pub init_ms_x100: Option<u64>,
    pub outcome: InvocationOutcome,
    /// Invocations of the function running when it started, itself included (what Lambda's
    /// concurrency accounting counted).
    pub concurrency: u32,
    pub log_group: String,
    pub log_stream: String,
    pub trace: TraceId,
    /// The span of what invoked it, when the invocation came with a trace header.
    pub caller: Option<SpanId>,
    /// What invoked it; the store fills it in from the caller's span.
    pub trigger: Option<Trigger>,
}

impl InvocationRecord {
    pub fn cold(&self) -> bool {
        self.init_ms_x100.is_some()
    }

    /// Memory times billed duration, in MB-milliseconds (whole numbers, so sums are exact).
    pub fn mb_ms(&self) -> u64 {
        u64::from(self.memory_mb).saturating_mul(self.billed_ms)
    }
}

/// Where finished invocations go; implemented by `server`'s invocation store. Called on the
/// invoke path, so it only queues.
pub trait InvocationRecorder: Send + Sync {
    fn finished(&self, invocation: InvocationRecord);
}

/// Billed time at one memory size and architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Billing {
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub requests: u64,
    pub billed_ms: u64,
}

impl Billing {
    /// Lambda's billing unit: memory in GB times billed seconds.
    pub fn gb_seconds(&self) -> f64 {
        mb_ms_to_gb_seconds(u64::from(self.memory_mb).saturating_mul(self.billed_ms))
    }
}

pub fn mb_ms_to_gb_seconds(mb_ms: u64) -> f64 {
    mb_ms as f64 / 1024.0 / 1000.0
}

/// The invocations that ran at one concurrency level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Served {
    pub concurrency: u32,
    pub invocations: u64,
    pub cold_starts: u64,
    pub mb_ms: u64,
}

/// Init durations (hundredths of a millisecond) with their weights, ascending: exact while a
/// summary has seen at most [`EXACT_INIT_DURATIONS`] distinct values, a weighted sample after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitDurations {
    values: Vec<(u64, u64)>,
    /// Alternates which of two merged neighbours is kept, so merging leans neither way.
    odd: bool,
    /// Some values were merged away.
    approximate: bool,
    max: Option<u64>,
}

impl InitDurations {
    pub fn add(&mut self, value: u64) {
        self.max = Some(self.max.map_or(value, |m| m.max(value)));
        match self.values.binary_search_by_key(&value, |(v, _)| *v) {
            Ok(at) => self.values[at].1 += 1,
            Err(at) => self.values.insert(at, (value, 1)),
        }
        self.limit();
    }

    /// Adds every value of `other` (call [`InitDurations::limit`] after a run of merges).
    pub fn merge(&mut self, other: &InitDurations) {
        if other.values.is_empty() {
            return;
        }
        let mut all = std::mem::take(&mut self.values);
        all.extend_from_slice(&other.values);
        all.sort_unstable_by_key(|(v, _)| *v);
        for (v, w) in all {
            match self.values.last_mut() {
                Some(last) if last.0 == v => last.1 += w,
                _ => self.values.push((v, w)),
            }
        }
        self.max = self.max.max(other.max);
        self.approximate |= other.approximate;
    }

    /// Merges neighbours two by two until at most [`EXACT_INIT_DURATIONS`] values are kept.
    pub fn limit(&mut self) {
        while self.values.len() > EXACT_INIT_DURATIONS {
            self.approximate = true;
            let keep_second = self.odd;
            self.odd = !self.odd;
            self.values = self
                .values
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => (if keep_second { b.0 } else { a.0 }, a.1 + b.1),
                    [a] => *a,
                    _ => (0, 0),
                })
                .collect();
        }
    }

    /// How many durations were added.
    pub fn count(&self) -> u64 {
        self.values.iter().map(|(_, w)| w).sum()
    }

    /// Whether every duration added is still kept as it was.
    pub fn is_exact(&self) -> bool {
        !self.approximate
    }

    pub fn max(&self) -> Option<u64> {
        self.max
    }

    /// The nearest-rank percentile `p` (0 to 100).
    pub fn percentile(&self, p: u64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = (p.min(100) * total).div_ceil(100).max(1);
        let mut seen = 0;
        for (v, w) in &self.values {
            seen += w;
            if seen >= rank {
                return Some(*v);
            }
        }
        self.max
    }
}

/// What a function's invocations add up to over some time: every figure the console's
/// function list, cold-start analysis and cost page need. Adding records and merging summaries
/// give the same result in any order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FunctionSummary {
    pub invocations: u64,
    pub cold_starts: u64,
    /// Invocations that did not end `ok` (timeouts included).
    pub errors: u64,
    pub timeouts: u64,
    pub duration_ms_x100: u64,
    pub init_ms_x100: u64,
    pub first_started_ms: Option<i64>,
    pub last_started_ms: Option<i64>,
    /// By architecture and memory size, in that order.
    pub billing: Vec<Billing>,
    pub inits: InitDurations,
    /// By concurrency, 1 to [`TRACKED_CONCURRENCY`], ascending; levels with nothing are left out.
    pub served: Vec<Served>,
    pub peak_concurrency: u32,
}

impl FunctionSummary {
    pub fn add(&mut self, r: &InvocationRecord) {
        self.invocations += 1;
        self.errors += u64::from(r.outcome != InvocationOutcome::Ok);
        self.timeouts += u64::from(r.outcome == InvocationOutcome::Timeout);
        self.duration_ms_x100 = self.duration_ms_x100.saturating_add(r.duration_ms_x100);
        if let Some(init) = r.init_ms_x100 {
            self.cold_starts += 1;
            self.init_ms_x100 = self.init_ms_x100.saturating_add(init);
            self.inits.add(init);
        }
        self.first_started_ms = Some(self.first_started_ms.map_or(r.started_ms, |f| f.min(r.started_ms)));
        self.last_started_ms = Some(self.last_started_ms.map_or(r.started_ms, |l| l.max(r.started_ms)));
        self.bill(Billing {
            architecture: r.architecture,
            memory_mb: r.memory_mb,
            requests: 1,
            billed_ms: r.billed_ms,
        });
        self.peak_concurrency = self.peak_concurrency.max(r.concurrency);
        if (1..=TRACKED_CONCURRENCY).contains(&r.concurrency) {
            self.serve(Served {
                concurrency: r.concurrency,
                invocations: 1,
                cold_starts: u64::from(r.cold()),
                mb_ms: r.mb_ms(),
            });
        }
    }

    fn bill(&mut self, b: Billing) {
        let key = |x: &Billing| (x.architecture, x.memory_mb);
        match self.billing.binary_search_by_key(&key(&b), key) {
            Ok(at) => {
                let e = &mut self.billing[at];
                e.requests += b.requests;
                e.billed_ms = e.billed_ms.saturating_add(b.billed_ms);
            }
            Err(at) => self.billing.insert(at, b),
        }
    }

    fn serve(&mut self, s: Served) {
        match self.served.binary_search_by_key(&s.concurrency, |x| x.concurrency) {
            Ok(at) => {
                let e = &mut self.served[at];
                e.invocations += s.invocations;
                e.cold_starts += s.cold_starts;
                e.mb_ms = e.mb_ms.saturating_add(s.mb_ms);
            }
            Err(at) => self.served.insert(at, s),
        }
    }

    /// Adds everything `other` counted.
    pub fn merge(&mut self, other: &FunctionSummary) {
        self.invocations += other.invocations;
        self.cold_starts += other.cold_starts;
        self.errors += other.errors;
        self.timeouts += other.timeouts;
        self.duration_ms_x100 = self.duration_ms_x100.saturating_add(other.duration_ms_x100);
        self.init_ms_x100 = self.init_ms_x100.saturating_add(other.init_ms_x100);
        self.first_started_ms = match (self.first_started_ms, other.first_started_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_started_ms = self.last_started_ms.max(other.last_started_ms);
        for b in &other.billing {
            self.bill(*b);
        }
        self.inits.merge(&other.inits);
        for s in &other.served {
            self.serve(*s);
        }
        self.peak_concurrency = self.peak_concurrency.max(other.peak_concurrency);
    }

    /// Keeps the sample of init durations within its bound (after merges).
    pub fn limit(&mut self) {
        self.inits.limit();
    }

    pub fn billed_ms(&self) -> u64 {
        self.billing.iter().map(|b| b.billed_ms).sum()
    }

    /// Total GB-seconds at every memory size and architecture.
    pub fn gb_seconds(&self) -> f64 {
        mb_ms_to_gb_seconds(
            self.billing.iter().map(|b| u64::from(b.memory_mb).saturating_mul(b.billed_ms)).sum(),
        )
    }

    /// What invocations that found at most `n` running (themselves included) add up to:
    /// (invocations, cold starts, MB-milliseconds).
    pub fn served_up_to(&self, n: u32) -> (u64, u64, u64) {
        self.served
            .iter()
            .filter(|s| s.concurrency <= n)
            .fold((0, 0, 0), |(i, c, m), s| (i + s.invocations, c + s.cold_starts, m.saturating_add(s.mb_ms)))
    }
}

/// The summaries of a tenant's functions over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summaries {
    /// By function name, ascending.
    pub functions: Vec<(String, FunctionSummary)>,
    /// `false` while the store is still reading back what was recorded before a restart.
    pub complete: bool,
}

/// Where a page of a function's invocations continues (newest first, request ids breaking
/// ties in ascending order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvocationCursor {
    pub started_ms: i64,
    pub request_id: String,
}

/// One page of a function's invocations, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvocationPage {
    pub invocations: Vec<InvocationRecord>,
    pub next: Option<InvocationCursor>,
}

/// Reading recorded invocations; implemented by `server`'s invocation store, read by the
/// console. Windows are `[since_ms, until_ms)` in epoch milliseconds (`None`: up to now).
pub trait InvocationReader: Send + Sync {
    /// Each function of `scope` with invocations that ended in the window, summarised. The
    /// store keeps time in slots (minutes for the last hour, hours before), and a slot the
    /// window only partly covers counts whole.
    fn summaries(&self, scope: &Scope, since_ms: i64, until_ms: Option<i64>) -> Summaries;

    /// One function's summary over the window, as [`InvocationReader::summaries`] counts it.
    fn summary(&self, scope: &Scope, function: &str, since_ms: i64, until_ms: Option<i64>)
    -> FunctionSummary;

    /// `function`'s invocations that started in the window, newest first, after `after`, at
    /// most `limit`.
    fn page(
        &self,
        scope: &Scope,
        function: &str,
        since_ms: i64,
        until_ms: Option<i64>,
        after: Option<&InvocationCursor>,
        limit: usize,
    ) -> InvocationPage;
}

/// A recorder that keeps nothing and a reader that has nothing.
pub struct NoInvocations;

impl InvocationRecorder for NoInvocations {
    fn finished(&self, _invocation: InvocationRecord) {}
}

impl InvocationReader for NoInvocations {
    fn summaries(&self, _scope: &Scope, _since_ms: i64, _until_ms: Option<i64>) -> Summaries {
        Summaries { functions: Vec::new(), complete: true }
    }

    fn summary(
        &self,
        _scope: &Scope,
        _function: &str,
        _since_ms: i64,
        _until_ms: Option<i64>,
    ) -> FunctionSummary {
        FunctionSummary::default()
    }

    fn page(
        &self,
        _scope: &Scope,
        _function: &str,
        _since_ms: i64,
        _until_ms: Option<i64>,
        _after: Option<&InvocationCursor>,
        _limit: usize,
    ) -> InvocationPage {
        InvocationPage::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_durations_are_exact_until_the_bound_then_a_weighted_sample() {
        let mut d = InitDurations::default();
        assert_eq!((d.percentile(50), d.max(), d.is_exact()), (None, None, true));
        for v in [300, 100, 200, 400, 200] {
            d.add(v);
        }
        assert_eq!(
            (d.count(), d.percentile(50), d.percentile(95), d.max()),
            (5, Some(200), Some(400), Some(400))
        );
        assert!(d.is_exact());
        let mut big = InitDurations::default();
        for v in 0..1000u64 {
            big.add(v * 7 % 1000);
        }
        assert!(!big.is_exact());
        assert!(big.values.len() <= EXACT_INIT_DURATIONS);
        assert_eq!((big.count(), big.max()), (1000, Some(999)));
        let p50 = big.percentile(50).expect("p50");
        assert!((490..=510).contains(&p50), "{p50}");
        // Merging keeps counts and the maximum; merging two exact sets stays exact.
        let mut a = InitDurations::default();
        a.add(5);
        let mut b = InitDurations::default();
        b.add(5);
        b.add(1);
        a.merge(&b);
        assert_eq!((a.count(), a.percentile(0), a.max(), a.is_exact()), (3, Some(1), Some(5), true));
        a.merge(&big);
        assert!(!a.is_exact());
        assert_eq!(a.count(), 1003);
    }

    fn record(concurrency: u32, init: Option<u64>, billed: u64, memory: u32) -> InvocationRecord {
        InvocationRecord {
            scope: Scope::default(),
            function: "f".into(),
            request_id: format!("r{billed}"),
            version: "$LATEST".into(),
            architecture: Architecture::X86_64,
            started_ms: i64::try_from(billed).unwrap_or_default(),
            ended_ms: 0,
            duration_ms_x100: billed * 100,
            billed_ms: billed,
            memory_mb: memory,
            max_memory_used_mb: 1,
            init_ms_x100: init,
            outcome: InvocationOutcome::Ok,
            concurrency,
            log_group: String::new(),
            log_stream: String::new(),
            trace: TraceId::new(1, 1),
            caller: None,
            trigger: None,
        }
    }

    #[test]
    fn adding_and_merging_give_the_same_summary() {
        let records = [
            record(1, Some(10_000), 10, 128),
            record(2, None, 20, 128),
            record(12, Some(5_000), 30, 1024),
            record(1, None, 40, 128),
        ];
        let mut all = FunctionSummary::default();
        for r in &records {
            all.add(r);
        }
        let (mut left, mut right) = (FunctionSummary::default(), FunctionSummary::default());
        left.add(&records[2]);
        left.add(&records[0]);
        right.add(&records[3]);
        right.add(&records[1]);
        right.merge(&left);
        assert_eq!(all.billing, right.billing);
        assert_eq!(all.served, right.served);
        assert_eq!(
            (all.invocations, all.cold_starts, all.peak_concurrency, all.billed_ms()),
            (right.invocations, right.cold_starts, right.peak_concurrency, right.billed_ms())
        );
        assert_eq!(all.inits.percentile(50), right.inits.percentile(50));
        assert_eq!((all.first_started_ms, all.last_started_ms), (Some(10), Some(40)));
        // Concurrency 12 is past the tracked levels: only the peak knows it.
        assert_eq!(all.served_up_to(TRACKED_CONCURRENCY), (3, 1, 128 * 70));
        assert_eq!(all.served_up_to(1), (2, 1, 128 * 50));
        assert_eq!(all.peak_concurrency, 12);
        assert!((all.gb_seconds() - (128.0 * 70.0 + 1024.0 * 30.0) / 1024.0 / 1000.0).abs() < 1e-15);
    }

    #[test]
    fn triggers_name_their_callers() {
        assert_eq!(Trigger::of(None, false).kind, TriggerKind::Invoke);
        assert_eq!(Trigger::of(None, true).kind, TriggerKind::Unrecorded);
        for k in TriggerKind::ALL {
            assert_eq!(TriggerKind::parse(k.name()), Some(k));
        }
        assert_eq!(Architecture::parse("arm64"), Some(Architecture::Arm64));
        assert_eq!(Architecture::parse("sparc"), None);
    }
}
