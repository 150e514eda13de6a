//! X-Ray's trace header — `X-Amzn-Trace-Id` on requests, SQS's `AWSTraceHeader`, Lambda's
//! `_X_AMZN_TRACE_ID` — and the spans Nimbus records for each hop of a trace. Values only:
//! parsing, formatting and ids; where spans are kept is `ports::TraceRecorder`'s business.

use std::fmt;
use std::str::FromStr;

use crate::Scope;

/// The 96 random bits of a trace id.
const UNIQUE_MASK: u128 = (1 << 96) - 1;
/// Longer headers are refused rather than read: X-Ray's own are under 100 characters, and the
/// value is copied into records and function environments.
const MAX_HEADER_LEN: usize = 1024;

/// A trace: `1-{epoch seconds, 8 hex}-{96 random bits, 24 hex}`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId {
    epoch: u32,
    unique: u128,
}

impl TraceId {
    /// A trace started at `epoch_secs`; only the low 96 bits of `random` are kept.
    pub fn new(epoch_secs: u32, random: u128) -> TraceId {
        TraceId { epoch: epoch_secs, unique: random & UNIQUE_MASK }
    }

    /// A new trace started now-ish (`epoch_secs`), with the operating system's randomness.
    pub fn random(epoch_secs: u32) -> TraceId {
        TraceId::new(epoch_secs, uuid::Uuid::new_v4().as_u128())
    }

    pub fn epoch_secs(&self) -> u32 {
        self.epoch
    }

    /// `1-5759e988-bd862e3fe1be46a994272793`; `None` for anything else.
    pub fn parse(s: &str) -> Option<TraceId> {
        let rest = s.strip_prefix("1-")?;
        let (epoch, unique) = rest.split_once('-')?;
        if epoch.len() != 8 || unique.len() != 24 || !is_hex(epoch) || !is_hex(unique) {
            return None;
        }
        let epoch = u32::from_str_radix(epoch, 16).ok()?;
        let unique = u128::from_str_radix(unique, 16).ok()?;
        Some(TraceId { epoch, unique })
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1-{:08x}-{:024x}", self.epoch, self.unique)
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}

/// One hop (X-Ray's segment): 64 bits, written as 16 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(u64);

impl SpanId {
    pub fn new(raw: u64) -> SpanId {
        SpanId(raw)
    }

    pub fn random() -> SpanId {
        // The high half of a v4 UUID holds only its version nibble fixed; 60 random bits are
        // plenty for ids that need to be unique within one trace.
        SpanId((uuid::Uuid::new_v4().as_u128() >> 64) as u64)
    }

    pub fn parse(s: &str) -> Option<SpanId> {
        (s.len() == 16 && is_hex(s)).then(|| u64::from_str_radix(s, 16).ok().map(SpanId)).flatten()
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// The `Sampled` field: whether the caller records the trace (`1`), does not (`0`), or asks
/// the callee to decide (`?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampling {
    Sampled,
    NotSampled,
    Requested,
}

impl Sampling {
    fn parse(s: &str) -> Option<Sampling> {
        match s {
            "1" => Some(Sampling::Sampled),
            "0" => Some(Sampling::NotSampled),
            "?" => Some(Sampling::Requested),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Sampling::Sampled => "1",
            Sampling::NotSampled => "0",
            Sampling::Requested => "?",
        }
    }
}

/// `Root=1-…;Parent=…;Sampled=…`, as X-Ray writes it. Fields other than these three (`Self`,
/// `Lineage`, …) are not kept: Nimbus neither adds to them nor acts on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceHeader {
    pub root: TraceId,
    /// The span of whoever made this call; absent when the caller started the trace without
    /// recording a span of its own.
    pub parent: Option<SpanId>,
    pub sampled: Option<Sampling>,
}

/// Why a trace header was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceHeaderError {
    #[error("the trace header has no Root")]
    NoRoot,
    #[error("the trace header's {0} is malformed")]
    Malformed(&'static str),
    #[error("the trace header is longer than {MAX_HEADER_LEN} characters")]
    TooLong,
}

impl TraceHeader {
    pub fn parse(s: &str) -> Result<TraceHeader, TraceHeaderError> {
        if s.len() > MAX_HEADER_LEN {
            return Err(TraceHeaderError::TooLong);
        }
        let (mut root, mut parent, mut sampled) = (None, None, None);
        for field in s.split(';') {
            let Some((key, value)) = field.split_once('=') else { continue };
            let value = value.trim();
            match key.trim() {
                k if k.eq_ignore_ascii_case("Root") => {
                    root = Some(TraceId::parse(value).ok_or(TraceHeaderError::Malformed("Root"))?);
                }
                k if k.eq_ignore_ascii_case("Parent") => {
                    parent = Some(SpanId::parse(value).ok_or(TraceHeaderError::Malformed("Parent"))?);
                }
                // An unknown sampling decision is no decision, as the X-Ray SDKs read it.
                k if k.eq_ignore_ascii_case("Sampled") => sampled = Sampling::parse(value),
                _ => {}
            }
        }
        Ok(TraceHeader { root: root.ok_or(TraceHeaderError::NoRoot)?, parent, sampled })
    }

    /// The header a call made from within `span` carries: same trace and sampling decision,
    /// `span` as its parent.
    pub fn child(&self, span: SpanId) -> TraceHeader {
        TraceHeader { parent: Some(span), ..*self }
    }
}

impl FromStr for TraceHeader {
    type Err = TraceHeaderError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TraceHeader::parse(s)
    }
}

impl fmt::Display for TraceHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Root={}", self.root)?;
        if let Some(p) = self.parent {
            write!(f, ";Parent={p}")?;
        }
        if let Some(s) = self.sampled {
            write!(f, ";Sampled={}", s.as_str())?;
        }
        Ok(())
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// How a hop ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The error code, HTTP status or function error type.
    Error(String),
}

/// What a function invocation adds to its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    /// The invocation's request id, as in its START/END/REPORT lines.
    pub request_id: String,
    /// The invocation started its execution environment.
    pub cold_start: bool,
}

/// One hop of a trace as Nimbus saw it: a request to a service, or something a service did on
/// a request's behalf (an invocation, a delivery).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub trace: TraceId,
    pub id: SpanId,
    pub parent: Option<SpanId>,
    /// The tenant the hop acted in.
    pub scope: Scope,
    /// The service's signing name: `s3`, `lambda`, `dynamodb`, `events`, …
    pub service: String,
    /// `PutObject`, `Invoke`, `PutItem`, …
    pub operation: String,
    /// The ARN or name of what it acted on, when known.
    pub resource: String,
    /// Epoch microseconds.
    pub start_us: i64,
    pub duration_us: u64,
    pub outcome: Outcome,
    pub execution: Option<Execution>,
}

impl Span {
    /// Epoch microseconds when the hop ended.
    pub fn end_us(&self) -> i64 {
        self.start_us.saturating_add(i64::try_from(self.duration_us).unwrap_or(i64::MAX))
    }
}

/// A moment as spans write it: epoch microseconds.
pub fn epoch_us(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    #[test]
    fn headers_round_trip() {
        let h = TraceHeader::parse(EXAMPLE).expect("parses");
        assert_eq!(h.root.epoch_secs(), 0x5759_e988);
        assert_eq!(h.parent, Some(SpanId::new(0x5399_5c3f_42cd_8ad8)));
        assert_eq!(h.sampled, Some(Sampling::Sampled));
        assert_eq!(h.to_string(), EXAMPLE);
        let bare = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793").expect("parses");
        assert_eq!((bare.parent, bare.sampled), (None, None));
        assert_eq!(bare.to_string(), "Root=1-5759e988-bd862e3fe1be46a994272793");
    }

    #[test]
    fn headers_are_read_leniently_but_roots_strictly() {
        let h =
            TraceHeader::parse(" Sampled=? ; root=1-5759e988-bd862e3fe1be46a994272793;Self=1-x;Lineage=a:1")
                .expect("parses");
        assert_eq!(h.sampled, Some(Sampling::Requested));
        assert_eq!(h.parent, None);
        assert_eq!(TraceHeader::parse("Parent=53995c3f42cd8ad8"), Err(TraceHeaderError::NoRoot));
        assert_eq!(TraceHeader::parse(""), Err(TraceHeaderError::NoRoot));
        for bad in [
            "Root=2-5759e988-bd862e3fe1be46a994272793",
            "Root=1-5759e98-bd862e3fe1be46a994272793",
            "Root=1-5759e988-bd862e3fe1be46a99427279z",
            "Root=abc",
        ] {
            assert_eq!(TraceHeader::parse(bad), Err(TraceHeaderError::Malformed("Root")), "{bad}");
        }
        assert_eq!(
            TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz"),
            Err(TraceHeaderError::Malformed("Parent"))
        );
        assert_eq!(TraceHeader::parse(&"Root=".repeat(300)), Err(TraceHeaderError::TooLong));
        let odd = TraceHeader::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=d").expect("parses");
        assert_eq!(odd.sampled, None);
    }

    #[test]
    fn children_keep_the_root_and_decision() {
        let h = TraceHeader::parse(EXAMPLE).expect("parses");
        let c = h.child(SpanId::new(7));
        assert_eq!(c.root, h.root);
        assert_eq!(c.sampled, h.sampled);
        assert_eq!(
            c.to_string(),
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000007;Sampled=1"
        );
    }

    #[test]
    fn generated_ids_have_xrays_shape() {
        let t = TraceId::random(0x6500_0000);
        let text = t.to_string();
        assert!(text.starts_with("1-65000000-") && text.len() == 35, "{text}");
        assert_eq!(TraceId::parse(&text), Some(t));
        assert_ne!(TraceId::random(1), TraceId::random(1));
        let s = SpanId::random();
        assert_eq!(SpanId::parse(&s.to_string()), Some(s));
        // Only 96 bits of randomness fit in a root.
        assert_eq!(TraceId::new(1, u128::MAX).to_string(), "1-00000001-ffffffffffffffffffffffff");
    }
}
