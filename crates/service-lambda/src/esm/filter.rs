//! FilterCriteria: a mapping's filters are EventBridge patterns (`event-pattern`) applied to
//! each record as Lambda sees it; a record passes if any filter matches it.

use event_pattern::{Pattern, PatternError};
use serde_json::Value;

#[derive(Debug, Default)]
pub struct Filter {
    patterns: Vec<Pattern>,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        Pattern::parse(text)
    }

    /// The mapping's filters; patterns were checked when the mapping was written.
    pub fn new(texts: Option<&[String]>) -> Filter {
        Filter { patterns: texts.unwrap_or_default().iter().filter_map(|t| Pattern::parse(t).ok()).collect() }
    }

    /// No filters: every record passes.
    pub fn passes(&self, record: &Value) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| p.matches_value(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_filter_passes_a_record() {
        let f = Filter::new(Some(&[
            r#"{"body":{"kind":["a"]}}"#.to_owned(),
            r#"{"eventName":["REMOVE"]}"#.to_owned(),
        ]));
        assert!(f.passes(&json!({"body": {"kind": "a"}})));
        assert!(f.passes(&json!({"eventName": "REMOVE"})));
        assert!(!f.passes(&json!({"body": {"kind": "b"}})));
        assert!(Filter::new(None).passes(&json!({})));
        assert!(Filter::parse("{nope").is_err());
    }
}
