//! Where traces live: the spans of the most recent traces, in memory, bounded (the oldest
//! trace goes first), so recording costs one short lock and a push and a restart forgets them.
//! Also the hops that ports carry: a message sent, a message published, an event put on a bus
//! on a request's behalf gets its span here, around the port call, so no service records them.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ports::{
    BusEvent, EventPublisher, Invoked, PortError, QueueMessageAttribute, QueueSender, TopicMessage,
    TopicPublisher, TracePage, TraceReader, TraceRecorder, TraceSummary,
};
use types::trace::{Outcome, Span, SpanId, TraceHeader, TraceId};
use types::{AccountId, Region, Scope};

/// How much the store keeps.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub traces: usize,
    /// Spans over all traces; the oldest traces go until the rest fit.
    pub spans: usize,
    /// Spans of one trace; more are counted, not kept (a fan-out of thousands).
    pub spans_per_trace: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { traces: 2_000, spans: 50_000, spans_per_trace: 1_000 }
    }
}

/// The trace store; implements both ports.
pub struct TraceStore {
    limits: Limits,
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    traces: HashMap<TraceId, Trace>,
    /// Traces by their first span's arrival, oldest first, with that arrival's number.
    order: VecDeque<(u64, TraceId)>,
    next: u64,
    spans: usize,
    /// The trace of each invocation kept, by its request id.
    invocations: HashMap<String, TraceId>,
    /// The latest invocations with their arrival numbers (from 1), for those following along.
    latest: VecDeque<(u64, Span)>,
    invocations_seen: u64,
}

/// Invocations listed for followers (the console's live updates poll about once a second).
const LATEST_INVOCATIONS: usize = 512;

struct Trace {
    seq: u64,
    spans: Vec<Span>,
}

impl TraceStore {
    pub fn new(limits: Limits) -> TraceStore {
        TraceStore { limits, inner: Mutex::default() }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The span `id` of `trace`, while the trace is kept.
    pub fn span(&self, trace: TraceId, id: SpanId) -> Option<Span> {
        let kept = self.kept();
        kept.traces.get(&trace)?.spans.iter().find(|s| s.id == id).cloned()
    }
}

impl TraceRecorder for TraceStore {
    fn record(&self, span: Span) {
        let mut kept = self.kept();
        let kept = &mut *kept;
        let id = span.trace;
        let invocation = span.execution.as_ref().map(|e| e.request_id.clone());
        match kept.traces.get_mut(&id) {
            Some(t) if t.spans.len() >= self.limits.spans_per_trace => return,
            Some(t) => t.spans.push(span),
            None => {
                let seq = kept.next;
                kept.next += 1;
                kept.traces.insert(id, Trace { seq, spans: vec![span] });
                kept.order.push_back((seq, id));
            }
        }
        kept.spans += 1;
        if let Some(request_id) = invocation {
            kept.invocations.insert(request_id, id);
            kept.invocations_seen += 1;
            if kept.latest.len() == LATEST_INVOCATIONS {
                kept.latest.pop_front();
            }
            if let Some(t) = kept.traces.get(&id)
                && let Some(span) = t.spans.last()
            {
                kept.latest.push_back((kept.invocations_seen, span.clone()));
            }
        }
        while kept.traces.len() > self.limits.traces || kept.spans > self.limits.spans {
            let Some((_, oldest)) = kept.order.pop_front() else { break };
            if let Some(t) = kept.traces.remove(&oldest) {
                kept.spans -= t.spans.len();
                for e in t.spans.iter().filter_map(|s| s.execution.as_ref()) {
                    kept.invocations.remove(&e.request_id);
                }
            }
        }
    }
}

impl TraceReader for TraceStore {
    fn recent(&self, scope: &Scope, after: Option<u64>, limit: usize) -> TracePage {
        let kept = self.kept();
        let mut page = TracePage::default();
        let mut last = None;
        for (seq, id) in kept.order.iter().rev() {
            if after.is_some_and(|a| *seq >= a) {
                continue;
            }
            let Some(t) = kept.traces.get(id) else { continue };
            if !t.spans.iter().any(|s| &s.scope == scope) {
                continue;
            }
            if page.traces.len() == limit {
                page.next = last;
                break;
            }
            page.traces.push(summary(*id, &t.spans));
            last = Some(t.seq);
        }
        page
    }

    fn spans(&self, scope: &Scope, trace: TraceId) -> Option<Vec<Span>> {
        let kept = self.kept();
        let t = kept.traces.get(&trace)?;
        if !t.spans.iter().any(|s| &s.scope == scope) {
            return None;
        }
        let mut spans = t.spans.clone();
        // Stable: spans that started in the same microsecond stay in the order they ended.
        spans.sort_by_key(|s| s.start_us);
        Some(spans)
    }

    fn invocation(&self, scope: &Scope, request_id: &str) -> Option<Invoked> {
        let kept = self.kept();
        let trace = kept.traces.get(kept.invocations.get(request_id)?)?;
        let span = trace.spans.iter().find(|s| {
            &s.scope == scope && s.execution.as_ref().is_some_and(|e| e.request_id == request_id)
        })?;
        let caller = span.parent.and_then(|p| trace.spans.iter().find(|s| s.id == p)).cloned();
        Some(Invoked { span: span.clone(), caller })
    }

    fn invocations_after(&self, scope: &Scope, after: u64) -> (Vec<Span>, u64) {
        let kept = self.kept();
        let spans = kept
            .latest
            .iter()
            .filter(|(seq, s)| *seq > after && &s.scope == scope)
            .map(|(_, s)| s.clone())
            .collect();
        (spans, kept.invocations_seen)
    }
}

fn summary(trace: TraceId, spans: &[Span]) -> TraceSummary {
    // What started the trace: the earliest span, a span without a parent before one with.
    let root = spans.iter().min_by_key(|s| (s.start_us, s.parent.is_some())).cloned();
    let root = root.unwrap_or_else(|| spans[0].clone());
    let start_us = root.start_us;
    let end = spans.iter().map(Span::end_us).max().unwrap_or(start_us);
    TraceSummary {
        trace,
        spans: spans.len(),
        errors: spans.iter().filter(|s| s.outcome != Outcome::Ok).count(),
        start_us,
        duration_us: u64::try_from(end - start_us).unwrap_or_default(),
        root,
    }
}

/// A port that records a span for each call made with a trace: the hop from the caller into
/// `inner` (SQS SendMessage, SNS Publish, EventBridge PutEvents), under the caller's span, and
/// passes the callee the trace with that hop as the parent.
pub struct Hops<T> {
    inner: T,
    traces: Arc<dyn TraceRecorder>,
}

impl<T> Hops<T> {
    pub fn new(inner: T, traces: Arc<dyn TraceRecorder>) -> Hops<T> {
        Hops { inner, traces }
    }

    /// Runs `call` as the hop `service`/`operation` on `arn` when there is a trace.
    fn hop<R>(
        &self,
        trace: Option<TraceHeader>,
        (service, operation, arn): (&str, &str, &str),
        call: impl FnOnce(Option<TraceHeader>) -> Result<R, PortError>,
    ) -> Result<R, PortError> {
        let Some(caller) = trace else { return call(None) };
        let span = SpanId::random();
        let start_us = now_us();
        let started = Instant::now();
        let result = call(Some(caller.child(span)));
        self.traces.record(Span {
            trace: caller.root,
            id: span,
            parent: caller.parent,
            scope: scope_of(arn),
            service: service.to_owned(),
            operation: operation.to_owned(),
            resource: arn.to_owned(),
            start_us,
            duration_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            outcome: match &result {
                Ok(_) => Outcome::Ok,
                Err(e) => Outcome::Error(e.to_string()),
            },
            execution: None,
        });
        result
    }
}

fn now_us() -> i64 {
    types::trace::epoch_us(time::OffsetDateTime::now_utc())
}

/// The account and region an ARN names (`arn:aws:sqs:{region}:{account}:…`).
fn scope_of(arn: &str) -> Scope {
    let mut parts = arn.split(':').skip(3);
    let region = parts.next().and_then(Region::parse).unwrap_or_default();
    let account = parts.next().and_then(AccountId::parse).unwrap_or_default();
    Scope { account, region }
}

impl<T: QueueSender> QueueSender for Hops<T> {
    fn send_message(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        trace: Option<TraceHeader>,
    ) -> Result<String, PortError> {
        self.send_message_deduplicated(queue_arn, body, attributes, group_id, None, trace)
    }

    fn send_message_deduplicated(
        &self,
        queue_arn: &str,
        body: &str,
        attributes: &[(String, QueueMessageAttribute)],
        group_id: Option<&str>,
        dedup_id: Option<&str>,
        trace: Option<TraceHeader>,
    ) -> Result<String, PortError> {
        self.hop(trace, ("sqs", "SendMessage", queue_arn), |trace| {
            self.inner.send_message_deduplicated(queue_arn, body, attributes, group_id, dedup_id, trace)
        })
    }
}

impl<T: TopicPublisher> TopicPublisher for Hops<T> {
    fn publish(&self, topic_arn: &str, mut message: TopicMessage) -> Result<String, PortError> {
        self.hop(message.trace, ("sns", "Publish", topic_arn), |trace| {
            message.trace = trace;
            self.inner.publish(topic_arn, message)
        })
    }
}

impl<T: EventPublisher> EventPublisher for Hops<T> {
    fn put_event(&self, mut event: BusEvent) -> Result<String, PortError> {
        let bus = event.bus_arn.clone();
        self.hop(event.trace, ("events", "PutEvents", &bus), |trace| {
            event.trace = trace;
            self.inner.put_event(event)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: TraceId, id: u64, parent: Option<u64>, start_us: i64, scope: &Scope) -> Span {
        Span {
            trace,
            id: SpanId::new(id),
            parent: parent.map(SpanId::new),
            scope: scope.clone(),
            service: "s3".to_owned(),
            operation: format!("op{id}"),
            resource: String::new(),
            start_us,
            duration_us: 10,
            outcome: if id == 3 { Outcome::Error("boom".to_owned()) } else { Outcome::Ok },
            execution: None,
        }
    }

    fn other_scope() -> Scope {
        Scope { account: AccountId::parse("111111111111").expect("account"), region: Region::default() }
    }

    #[test]
    fn traces_list_newest_first_with_their_root_and_spans_in_order() {
        let store = TraceStore::new(Limits::default());
        let scope = Scope::default();
        let (a, b) = (TraceId::new(1, 1), TraceId::new(1, 2));
        // A child may arrive before its parent: recorded when it ended, not when it started.
        store.record(span(a, 2, Some(1), 150, &scope));
        store.record(span(a, 1, None, 100, &scope));
        store.record(span(b, 9, None, 300, &scope));
        store.record(span(a, 3, Some(2), 200, &scope));
        let page = store.recent(&scope, None, 10);
        assert_eq!(page.traces.iter().map(|t| t.trace).collect::<Vec<_>>(), vec![b, a]);
        let sa = &page.traces[1];
        assert_eq!(
            (sa.root.id, sa.spans, sa.errors, sa.start_us, sa.duration_us),
            (SpanId::new(1), 3, 1, 100, 110)
        );
        let spans = store.spans(&scope, a).expect("kept");
        assert_eq!(spans.iter().map(|s| s.operation.as_str()).collect::<Vec<_>>(), ["op1", "op2", "op3"]);
        assert_eq!(store.spans(&other_scope(), a), None, "another tenant sees nothing");
        assert!(store.recent(&other_scope(), None, 10).traces.is_empty());
    }

    #[test]
    fn pages_continue_where_they_stopped() {
        let store = TraceStore::new(Limits::default());
        let scope = Scope::default();
        for i in 0..5 {
            store.record(span(TraceId::new(1, i), 1, None, i64::try_from(i).unwrap_or_default(), &scope));
        }
        let first = store.recent(&scope, None, 2);
        assert_eq!(first.traces.iter().map(|t| t.start_us).collect::<Vec<_>>(), [4, 3]);
        let second = store.recent(&scope, first.next, 2);
        assert_eq!(second.traces.iter().map(|t| t.start_us).collect::<Vec<_>>(), [2, 1]);
        let last = store.recent(&scope, second.next, 2);
        assert_eq!(last.traces.iter().map(|t| t.start_us).collect::<Vec<_>>(), [0]);
        assert_eq!(last.next, None);
    }

    #[test]
    fn the_oldest_traces_go_first_and_big_traces_stop_growing() {
        let store = TraceStore::new(Limits { traces: 3, spans: 5, spans_per_trace: 2 });
        let scope = Scope::default();
        for i in 0..4 {
            store.record(span(TraceId::new(1, i), 1, None, 0, &scope));
        }
        assert!(store.spans(&scope, TraceId::new(1, 0)).is_none(), "over the trace count");
        for id in 2..5 {
            store.record(span(TraceId::new(1, 3), id, Some(1), 0, &scope));
        }
        assert_eq!(store.spans(&scope, TraceId::new(1, 3)).map(|s| s.len()), Some(2));
        // 2 + 1 + 1 spans fit in 5; one more trace pushes the oldest out.
        store.record(span(TraceId::new(1, 7), 1, None, 0, &scope));
        store.record(span(TraceId::new(1, 7), 2, Some(1), 0, &scope));
        assert!(store.spans(&scope, TraceId::new(1, 1)).is_none(), "over the span budget");
        assert!(store.spans(&scope, TraceId::new(1, 7)).is_some());
    }

    #[test]
    fn invocations_are_found_by_request_id_with_their_caller_until_their_trace_goes() {
        let store = TraceStore::new(Limits { traces: 1, spans: 10, spans_per_trace: 10 });
        let scope = Scope::default();
        let t = TraceId::new(1, 1);
        let mut invoke = span(t, 2, Some(1), 10, &scope);
        invoke.service = "lambda".to_owned();
        invoke.execution = Some(types::trace::Execution { request_id: "r-1".to_owned(), cold_start: true });
        store.record(invoke.clone());
        store.record(span(t, 1, None, 0, &scope));
        let found = store.invocation(&scope, "r-1").expect("kept");
        assert_eq!(found.span, invoke);
        assert_eq!(found.caller.map(|c| c.operation), Some("op1".to_owned()));
        assert!(store.invocation(&other_scope(), "r-1").is_none(), "another tenant's");
        assert!(store.invocation(&scope, "r-2").is_none());
        let (latest, cursor) = store.invocations_after(&scope, 0);
        assert_eq!((latest.len(), cursor), (1, 1));
        assert_eq!(latest[0].execution.as_ref().map(|e| e.request_id.as_str()), Some("r-1"));
        assert_eq!(store.invocations_after(&scope, cursor), (Vec::new(), 1), "nothing new");
        assert!(store.invocations_after(&other_scope(), 0).0.is_empty());
        store.record(span(TraceId::new(1, 2), 1, None, 0, &scope));
        assert!(store.invocation(&scope, "r-1").is_none(), "gone with its trace");
        assert!(store.kept().invocations.is_empty());
    }

    struct Sink(Mutex<Vec<Option<TraceHeader>>>);

    impl QueueSender for Sink {
        fn send_message(
            &self,
            _queue_arn: &str,
            _body: &str,
            _attributes: &[(String, QueueMessageAttribute)],
            _group_id: Option<&str>,
            trace: Option<TraceHeader>,
        ) -> Result<String, PortError> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).push(trace);
            Ok("id".to_owned())
        }
    }

    #[test]
    fn hops_record_a_span_and_pass_themselves_on_as_the_parent() {
        let store = Arc::new(TraceStore::new(Limits::default()));
        let hops = Hops::new(Sink(Mutex::default()), store.clone());
        let arn = "arn:aws:sqs:eu-west-1:111111111111:q";
        hops.send_message(arn, "x", &[], None, None).expect("sent");
        let caller = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8")
            .expect("header");
        hops.send_message(arn, "x", &[], None, Some(caller)).expect("sent");
        let scope = scope_of(arn);
        assert_eq!(scope.region.as_str(), "eu-west-1");
        let spans = store.spans(&scope, caller.root).expect("recorded");
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].service.as_str(), spans[0].operation.as_str()), ("sqs", "SendMessage"));
        assert_eq!(spans[0].parent, caller.parent);
        let passed = hops.inner.0.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(passed[0], None, "no trace, no span, nothing passed");
        assert_eq!(passed[1], Some(caller.child(spans[0].id)));
    }
}
