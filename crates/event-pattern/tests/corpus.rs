//! The pattern corpus (`corpus.json`): pattern, event and EventBridge's verdict or refusal
//! reason, written from the documented and AWS-verified semantics. The same file drives the
//! compatibility suite's `aws events test-event-pattern` run against Nimbus, so the crate and
//! the service are held to one list.

use event_pattern::{Matcher, Pattern};
use serde_json::Value;

#[test]
fn every_corpus_case_gets_its_verdict() {
    let corpus: Value = serde_json::from_str(include_str!("corpus.json")).expect("corpus is JSON");
    let base = corpus["event"].to_string();
    let cases = corpus["cases"].as_array().expect("cases");
    assert!(cases.len() >= 200, "the corpus keeps at least 200 cases");
    let mut failures = Vec::new();
    let mut matcher = Matcher::default();
    let mut expected_names = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().expect("name");
        let pattern = case["pattern"].as_str().expect("pattern text");
        let event = case.get("event").map_or(base.clone(), Value::to_string);
        let got = match Pattern::parse(pattern) {
            Err(e) => format!("error: {}", e.reason()),
            Ok(p) => {
                let verdict = p.matches(&event).expect("the event is valid");
                if case.get("event").is_none() {
                    matcher.add(n, p);
                    if verdict {
                        expected_names.push(n);
                    }
                }
                verdict.to_string()
            }
        };
        let want = match &case["result"] {
            Value::Bool(b) => b.to_string(),
            Value::String(s) => s.clone(),
            other => panic!("case {name}: bad result {other}"),
        };
        if got != want {
            failures.push(format!("{name}: pattern {pattern} gave {got}, expected {want}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    // All valid patterns compiled into one matcher agree with their one-by-one verdicts.
    let matched: Vec<usize> = matcher.matches(&base).expect("event").into_iter().copied().collect();
    assert_eq!(matched, expected_names);
}
