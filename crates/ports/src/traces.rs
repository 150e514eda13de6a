//! Recording the hops of traces and reading them back: services and the gateway record spans
//! (`server` wires them to one store), the console reads traces. Recording must stay cheap —
//! it happens on request paths — so it takes a finished span and returns nothing.

use types::Scope;
use types::trace::{Span, TraceId};

/// Where spans go; implemented by `server`'s trace store.
pub trait TraceRecorder: Send + Sync {
    fn record(&self, span: Span);
}

/// A recorder that keeps nothing (and a reader that has nothing), for whatever was not handed
/// the store.
pub struct NoTraces;

impl TraceRecorder for NoTraces {
    fn record(&self, _span: Span) {}
}

impl TraceReader for NoTraces {
    fn recent(&self, _scope: &Scope, _after: Option<u64>, _limit: usize) -> TracePage {
        TracePage::default()
    }

    fn spans(&self, _scope: &Scope, _trace: TraceId) -> Option<Vec<Span>> {
        None
    }

    fn invocation(&self, _scope: &Scope, _request_id: &str) -> Option<Invoked> {
        None
    }

    fn invocations_after(&self, _scope: &Scope, after: u64) -> (Vec<Span>, u64) {
        (Vec::new(), after)
    }
}

/// A Lambda invocation as its trace tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invoked {
    /// The invocation's own span.
    pub span: Span,
    /// The span that caused it (an upload, a PutEvents, an Invoke call), when it was recorded.
    pub caller: Option<Span>,
}

/// One trace in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceSummary {
    pub trace: TraceId,
    /// The earliest span: what started the trace, as far as Nimbus saw it.
    pub root: Span,
    pub spans: usize,
    /// Spans that ended in an error.
    pub errors: usize,
    pub start_us: i64,
    /// From the first span's start to the last span's end.
    pub duration_us: u64,
}

/// A page of traces, newest first; `next` continues the listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TracePage {
    pub traces: Vec<TraceSummary>,
    pub next: Option<u64>,
}

/// Reading recorded traces; implemented by `server`'s trace store, read by the console.
pub trait TraceReader: Send + Sync {
    /// The traces with a span in `scope`, newest first, starting after the cursor `after`
    /// (a page's `next`), at most `limit`.
    fn recent(&self, scope: &Scope, after: Option<u64>, limit: usize) -> TracePage;

    /// The spans of one trace in the order they started; `None` when no span of it is in
    /// `scope` (or it is no longer kept).
    fn spans(&self, scope: &Scope, trace: TraceId) -> Option<Vec<Span>>;

    /// The invocation Lambda ran as `request_id` in `scope`, while its trace is kept.
    fn invocation(&self, scope: &Scope, request_id: &str) -> Option<Invoked>;

    /// The invocations of `scope` recorded after the cursor `after` (0: from the oldest still
    /// listed), oldest first, and the cursor to continue from. Meant for following along: only
    /// the latest few hundred are listed. A cursor from the future (`u64::MAX`) lists nothing
    /// and returns the present one.
    fn invocations_after(&self, scope: &Scope, after: u64) -> (Vec<Span>, u64);
}
