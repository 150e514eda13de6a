//! The console's view of traces: recent traces as a list (what started each, how many hops,
//! how long) and one trace as a waterfall — its spans in the order they started, each with its
//! offset from the trace's start and its depth under its parent. Pure once the spans are read
//! through `ports::TraceReader`.

use std::collections::HashMap;

use ports::{TracePage, TraceSummary};
use serde_json::{Value, json};
use types::trace::{Outcome, Span, SpanId};

/// Traces looked at for the writes functions make.
const OBSERVED_TRACES: usize = 200;

/// Adds to the graph the writes the recent traces saw functions make: each span whose parent is
/// an invocation is something that function did.
pub fn observed_writes(
    reader: &dyn ports::TraceReader,
    scope: &types::Scope,
    inventory: &mut crate::graph::Inventory,
) {
    for t in reader.recent(scope, None, OBSERVED_TRACES).traces {
        let Some(spans) = reader.spans(scope, t.trace) else { continue };
        let invocations: HashMap<SpanId, &str> =
            spans.iter().filter(|s| s.execution.is_some()).map(|s| (s.id, s.resource.as_str())).collect();
        for s in &spans {
            if let Some(function) = s.parent.and_then(|p| invocations.get(&p)) {
                inventory.observed(function, &s.service, &s.operation, &s.resource);
            }
        }
    }
}

/// A page of recent traces.
pub fn page(page: &TracePage) -> Value {
    let traces: Vec<Value> = page.traces.iter().map(summary).collect();
    json!({ "traces": traces, "next": page.next })
}

fn summary(t: &TraceSummary) -> Value {
    json!({
        "id": t.trace.to_string(),
        "root": label(&t.root),
        "spans": t.spans,
        "errors": t.errors,
        "startUs": t.start_us,
        "durationUs": t.duration_us,
    })
}

fn label(s: &Span) -> Value {
    json!({ "service": s.service, "operation": s.operation, "resource": s.resource })
}

/// One trace, its spans in the order they started (as the store returns them).
pub fn waterfall(spans: &[Span]) -> Value {
    let start = spans.iter().map(|s| s.start_us).min().unwrap_or_default();
    let end = spans.iter().map(Span::end_us).max().unwrap_or(start);
    let depth = depths(spans);
    let rows: Vec<Value> = spans
        .iter()
        .map(|s| {
            let (outcome, error) = match &s.outcome {
                Outcome::Ok => ("ok", None),
                Outcome::Error(e) => ("error", Some(e.as_str())),
            };
            json!({
                "id": s.id.to_string(),
                "parent": s.parent.map(|p| p.to_string()),
                "depth": depth.get(&s.id).copied().unwrap_or(0),
                "service": s.service,
                "operation": s.operation,
                "resource": s.resource,
                "startUs": s.start_us,
                "offsetUs": s.start_us - start,
                "durationUs": s.duration_us,
                "outcome": outcome,
                "error": error,
                "requestId": s.execution.as_ref().map(|e| e.request_id.as_str()),
                "coldStart": s.execution.as_ref().map(|e| e.cold_start),
            })
        })
        .collect();
    json!({
        "id": spans.first().map(|s| s.trace.to_string()),
        "startUs": start,
        "durationUs": end - start,
        "spans": rows,
    })
}

/// How deep each span sits under the spans of this trace that are its ancestors; a span whose
/// parent was not recorded (a caller outside Nimbus) starts at 0.
fn depths(spans: &[Span]) -> HashMap<SpanId, usize> {
    let parents: HashMap<SpanId, Option<SpanId>> = spans.iter().map(|s| (s.id, s.parent)).collect();
    spans
        .iter()
        .map(|s| {
            let mut depth = 0;
            let mut at = s.parent;
            // Bounded by the span count, so a cycle in what callers claimed cannot loop.
            while let Some(p) = at.filter(|p| parents.contains_key(p)) {
                depth += 1;
                if depth > spans.len() {
                    break;
                }
                at = parents[&p];
            }
            (s.id, depth)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::Scope;
    use types::trace::{Execution, TraceId};

    fn span(id: u64, parent: Option<u64>, start_us: i64, duration_us: u64) -> Span {
        Span {
            trace: TraceId::new(0x6500_0000, 7),
            id: SpanId::new(id),
            parent: parent.map(SpanId::new),
            scope: Scope::default(),
            service: "lambda".to_owned(),
            operation: "Invoke".to_owned(),
            resource: "arn:aws:lambda:us-east-1:000000000000:function:f".to_owned(),
            start_us,
            duration_us,
            outcome: if id == 3 { Outcome::Error("Unhandled".to_owned()) } else { Outcome::Ok },
            execution: (id == 2).then(|| Execution { request_id: "r-1".to_owned(), cold_start: true }),
        }
    }

    #[test]
    fn waterfalls_offset_and_nest_the_spans() {
        // Span 1's caller (99) is outside Nimbus; 4 names a parent that never came.
        let spans = [
            span(1, Some(99), 1_000, 500),
            span(2, Some(1), 1_100, 300),
            span(3, Some(2), 1_200, 50),
            span(4, Some(42), 1_300, 900),
        ];
        let w = waterfall(&spans);
        assert_eq!(w["id"], "1-65000000-000000000000000000000007");
        assert_eq!((w["startUs"].as_i64(), w["durationUs"].as_i64()), (Some(1_000), Some(1_200)));
        let rows = w["spans"].as_array().expect("rows");
        let depth: Vec<i64> = rows.iter().filter_map(|r| r["depth"].as_i64()).collect();
        assert_eq!(depth, [0, 1, 2, 0]);
        assert_eq!(rows[1]["offsetUs"], 100);
        assert_eq!(
            (rows[1]["requestId"].as_str(), rows[1]["coldStart"].as_bool()),
            (Some("r-1"), Some(true))
        );
        assert_eq!(
            (rows[2]["outcome"].as_str(), rows[2]["error"].as_str()),
            (Some("error"), Some("Unhandled"))
        );
        assert_eq!(rows[0]["parent"], "0000000000000063");
    }

    #[test]
    fn cycles_in_claimed_parents_end() {
        let spans = [span(1, Some(2), 0, 1), span(2, Some(1), 0, 1)];
        let w = waterfall(&spans);
        assert_eq!(w["spans"].as_array().map(Vec::len), Some(2));
    }
}
