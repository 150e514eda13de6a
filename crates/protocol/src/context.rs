//! What the gateway learned about a request before a service sees it.

use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;
use types::trace::{Sampling, SpanId, TraceHeader, TraceId};
use types::{RequestId, Scope};

/// The caller and the request's identity, resolved once by the gateway.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: RequestId,
    /// The account and region the request acts in.
    pub scope: Scope,
    /// The access key id the request was signed with; empty for unsigned requests.
    pub access_key_id: String,
    /// When the gateway received the request.
    pub received_at: OffsetDateTime,
    /// What the gateway made of the signature of a request to a public data plane (a function
    /// URL, an invoke URL), whose resource decides what auth it needs. API calls that reach a
    /// service were checked before (under `--enforce-sigv4`) and say `Unsigned` or `Accepted`.
    pub signature: SignatureCheck,
    /// The request's place in a trace.
    pub trace: TraceContext,
    /// Whether it counts as the tenant's traffic in the usage meter. Requests Nimbus makes to
    /// itself to show the tenant something (the console's reads) do not: looking at the bill
    /// must not change it.
    pub metered: bool,
}

/// Marks a request made in-process that the usage meter must not count: an extension of the
/// `http::Request` the gateway is handed, which no request from the wire can carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unmetered;

/// The outcome of the gateway's look at a request's SigV4 signature.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No `Authorization` header and no presigned query.
    #[default]
    Unsigned,
    /// Signed, and verified under `--enforce-sigv4` (taken as it is otherwise).
    Accepted,
    /// Signed, and the signature failed verification: AWS's code and message.
    Rejected { code: String, message: String },
}

impl RequestContext {
    /// A request that starts a new trace (see [`TraceContext::continue_from`] for one that
    /// carried a header).
    pub fn new(scope: Scope, access_key_id: impl Into<String>) -> RequestContext {
        let (request_id, bits) = RequestId::with_bits();
        let received_at = OffsetDateTime::now_utc();
        let epoch = u32::try_from(received_at.unix_timestamp()).unwrap_or_default();
        RequestContext {
            request_id,
            scope,
            access_key_id: access_key_id.into(),
            received_at,
            signature: SignatureCheck::Unsigned,
            trace: TraceContext::fresh(epoch, bits),
            metered: true,
        }
    }
}

/// Where a request stands in a trace, in X-Ray's model: the trace it belongs to, its own span
/// (what anything it sets off names as `Parent`), its caller's span. Every request has one —
/// an id is cheap — but only some are recorded: those that came with an `X-Amzn-Trace-Id`,
/// and those whose service [noted](TraceContext::note) that it set off work Nimbus carries on
/// (a notification, a delivery, an invocation). Plain reads and writes cost no recording.
#[derive(Clone, Debug)]
pub struct TraceContext {
    pub root: TraceId,
    pub span: SpanId,
    /// The caller's span, when its header named one.
    pub parent: Option<SpanId>,
    pub sampled: Option<Sampling>,
    /// The request carried a trace header: it is recorded whatever it does.
    pub incoming: bool,
    /// Shared by the clones the gateway and the service hold, so a note the service makes is
    /// seen by the gateway when it records the request.
    note: Arc<Mutex<Option<Note>>>,
}

/// How a recorded request is labelled, by its service or by the gateway's guess.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub operation: String,
    pub resource: String,
    /// Written by the service (which marks the request for recording), not guessed by the gateway.
    pub by_service: bool,
}

impl TraceContext {
    /// A new trace cut from `bits` (a request id's randomness): the high 64 bits make the span,
    /// the low 96 the trace.
    pub fn fresh(epoch_secs: u32, bits: u128) -> TraceContext {
        TraceContext {
            root: TraceId::new(epoch_secs, bits),
            span: SpanId::new((bits >> 64) as u64),
            parent: None,
            sampled: None,
            incoming: false,
            note: Arc::default(),
        }
    }

    /// Joins the trace of a header the request carried, keeping this request's own span.
    pub fn continue_from(&mut self, header: TraceHeader) {
        self.root = header.root;
        self.parent = header.parent;
        self.sampled = header.sampled;
        self.incoming = true;
    }

    /// The header what this request sets off carries (an SQS message's `AWSTraceHeader`, an
    /// invocation's `_X_AMZN_TRACE_ID`): this trace, this request's span as the parent.
    pub fn downstream(&self) -> TraceHeader {
        TraceHeader { root: self.root, parent: Some(self.span), sampled: self.sampled }
    }

    /// Marks the request as the start of work Nimbus carries on, so the gateway records it,
    /// labelled with `operation` and `resource`.
    pub fn note(&self, operation: impl Into<String>, resource: impl Into<String>) {
        let note = Note { operation: operation.into(), resource: resource.into(), by_service: true };
        *self.note.lock().unwrap_or_else(PoisonError::into_inner) = Some(note);
    }

    /// The gateway's own label for a request it records anyway; a service's note wins.
    pub fn guess(&self, operation: String, resource: String) {
        let mut slot = self.note.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(Note { operation, resource, by_service: false });
        }
    }

    /// The label, if the request is to be recorded.
    pub fn recorded(&self) -> Option<Note> {
        let note = self.note.lock().unwrap_or_else(PoisonError::into_inner).clone();
        match note {
            Some(n) if n.by_service || self.incoming => Some(n),
            _ => None,
        }
    }
}
