//! SNS subscription filter policies, sans IO: the same language as EventBridge patterns (SNS runs
//! the same Ruler underneath, so the refusal reasons are Ruler's), plus SNS's own limits and
//! the way a policy sees a message: its message attributes by type (`FilterPolicyScope`
//! `MessageAttributes`, the default) or its JSON body (`MessageBody`).
//!
//! Matching on attributes turns them into a flat JSON object, so every operator behaves as it
//! does on a body: `String` values are strings, `Number` values numbers, a `String.Array` is
//! the array it spells (a field matches when any element does), `Binary` is never matched.

use crate::Pattern;

/// SNS's limit on the combinations of values a policy may spell out: the product of the
/// number of values of each key, summed over the `$or` branches.
pub const MAX_COMBINATIONS: usize = 150;
/// SNS's limit on the keys (leaf attribute names or body paths) of one policy.
pub const MAX_KEYS: usize = 5;

/// What a filter policy is applied to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FilterScope {
    #[default]
    MessageAttributes,
    MessageBody,
}

impl FilterScope {
    /// The scope as `FilterPolicyScope` spells it.
    pub fn parse(text: &str) -> Option<FilterScope> {
        match text {
            "MessageAttributes" => Some(FilterScope::MessageAttributes),
            "MessageBody" => Some(FilterScope::MessageBody),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FilterScope::MessageAttributes => "MessageAttributes",
            FilterScope::MessageBody => "MessageBody",
        }
    }
}

/// Why SNS refuses a filter policy. Display is the text after `Invalid parameter: ` that SNS
/// words the `InvalidParameter` error with, minus the `FilterPolicy: ` prefix that the caller
/// adds (Subscribe says `Attributes Reason: FilterPolicy: …`, SetSubscriptionAttributes
/// `FilterPolicy: …`), except for [`FilterPolicyError::Nested`], which SNS words on its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterPolicyError {
    /// A policy the language refuses, with Ruler's reason.
    #[error("{0}")]
    Invalid(String),
    #[error("Filter policy can not have more than {MAX_KEYS} keys")]
    TooManyKeys,
    #[error("Filter policy is too complex")]
    TooComplex,
    /// A nested object in a policy whose scope is `MessageAttributes`.
    #[error("Filter policy scope MessageAttributes does not support nested filter policy")]
    Nested,
}

/// A message attribute as a filter policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    String(&'a str),
    Number(&'a str),
    /// The JSON text of the array.
    StringArray(&'a str),
    Binary,
}

impl<'a> AttributeValue<'a> {
    /// The attribute of SNS data type `data_type` (`String`, `Number`, `String.Array`,
    /// `Binary`, each with an optional `.custom` suffix) holding `value`.
    pub fn typed(data_type: &str, value: &'a str) -> AttributeValue<'a> {
        if data_type == "String.Array" {
            AttributeValue::StringArray(value)
        } else if data_type.starts_with("Number") {
            AttributeValue::Number(value)
        } else if data_type.starts_with("Binary") {
            AttributeValue::Binary
        } else {
            AttributeValue::String(value)
        }
    }

    fn to_json(self) -> Option<serde_json::Value> {
        match self {
            AttributeValue::String(s) => Some(serde_json::Value::String(s.to_owned())),
            AttributeValue::Number(n) => {
                serde_json::from_str::<serde_json::Value>(n.trim()).ok().filter(serde_json::Value::is_number)
            }
            AttributeValue::StringArray(a) => {
                serde_json::from_str::<serde_json::Value>(a).ok().filter(serde_json::Value::is_array)
            }
            AttributeValue::Binary => None,
        }
    }
}

/// A validated filter policy and the scope it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    pattern: Pattern,
    scope: FilterScope,
}

impl FilterPolicy {
    /// Reads and validates a policy as SNS does when it is set on a subscription.
    pub fn parse(text: &str, scope: FilterScope) -> Result<FilterPolicy, FilterPolicyError> {
        let pattern = Pattern::parse(text).map_err(|e| FilterPolicyError::Invalid(e.reason().to_owned()))?;
        if scope == FilterScope::MessageAttributes && is_nested(text) {
            return Err(FilterPolicyError::Nested);
        }
        if pattern.paths.len() > MAX_KEYS {
            return Err(FilterPolicyError::TooManyKeys);
        }
        let mut combinations = 0usize;
        for branch in &pattern.branches {
            let product =
                branch.fields.iter().fold(1usize, |acc, f| acc.saturating_mul(f.conditions.len().max(1)));
            combinations = combinations.saturating_add(product);
        }
        if combinations > MAX_COMBINATIONS {
            return Err(FilterPolicyError::TooComplex);
        }
        Ok(FilterPolicy { pattern, scope })
    }

    pub fn scope(&self) -> FilterScope {
        self.scope
    }

    /// Whether a message passes the policy: its attributes or its body, by the policy's scope.
    pub fn matches(&self, body: &str, attributes: &[(&str, AttributeValue<'_>)]) -> bool {
        match self.scope {
            FilterScope::MessageAttributes => self.matches_attributes(attributes),
            FilterScope::MessageBody => self.pattern.matches(body).unwrap_or(false),
        }
    }

    /// Whether message attributes pass the policy (scope `MessageAttributes`).
    pub fn matches_attributes(&self, attributes: &[(&str, AttributeValue<'_>)]) -> bool {
        let object: serde_json::Map<String, serde_json::Value> = attributes
            .iter()
            .filter_map(|(name, value)| Some(((*name).to_owned(), value.to_json()?)))
            .collect();
        self.pattern.matches_value(&serde_json::Value::Object(object))
    }
}

/// Whether any key other than `$or` holds an object. The text is valid JSON (the pattern
/// parsed), so serde_json reads it too.
fn is_nested(text: &str) -> bool {
    fn walk(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Object(map) => map.iter().any(|(k, v)| match v {
                serde_json::Value::Object(_) => true,
                serde_json::Value::Array(items) if k == "$or" => items.iter().any(walk),
                _ => false,
            }),
            _ => false,
        }
    }
    serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| walk(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(pairs: &[(&'a str, AttributeValue<'a>)]) -> Vec<(&'a str, AttributeValue<'a>)> {
        pairs.to_vec()
    }

    #[test]
    fn attributes_match_by_type() {
        let p = FilterPolicy::parse(
            r#"{"store":["example_corp"],"price":[{"numeric":[">",0,"<=",100]}],"tags":["red"]}"#,
            FilterScope::MessageAttributes,
        )
        .expect("valid");
        let ok = attrs(&[
            ("store", AttributeValue::String("example_corp")),
            ("price", AttributeValue::Number("99.5")),
            ("tags", AttributeValue::StringArray(r#"["blue","red"]"#)),
        ]);
        assert!(p.matches("not json", &ok));
        let dear = attrs(&[
            ("store", AttributeValue::String("example_corp")),
            ("price", AttributeValue::Number("101")),
            ("tags", AttributeValue::StringArray(r#"["red"]"#)),
        ]);
        assert!(!p.matches("", &dear));
        // A number given as a String attribute is not a number.
        let text = attrs(&[
            ("store", AttributeValue::String("example_corp")),
            ("price", AttributeValue::String("50")),
            ("tags", AttributeValue::StringArray(r#"["red"]"#)),
        ]);
        assert!(!p.matches("", &text));
        assert!(!p.matches("", &[]));
    }

    #[test]
    fn exists_anything_but_and_prefix() {
        let p = FilterPolicy::parse(
            r#"{"a":[{"exists":false}],"b":[{"anything-but":["x"]}],"c":[{"prefix":"im"}]}"#,
            FilterScope::MessageAttributes,
        )
        .expect("valid");
        let m = attrs(&[("b", AttributeValue::String("y")), ("c", AttributeValue::String("image"))]);
        assert!(p.matches_attributes(&m));
        let excluded = attrs(&[("b", AttributeValue::String("x")), ("c", AttributeValue::String("image"))]);
        assert!(!p.matches_attributes(&excluded));
        let present = attrs(&[
            ("a", AttributeValue::Binary),
            ("b", AttributeValue::String("y")),
            ("c", AttributeValue::String("image")),
        ]);
        // Binary attributes are invisible to policies, so `a` still does not exist.
        assert!(p.matches_attributes(&present));
    }

    #[test]
    fn body_scope_matches_nested_json() {
        let p = FilterPolicy::parse(r#"{"object":{"key":[{"prefix":"auto-"}]}}"#, FilterScope::MessageBody)
            .expect("valid");
        assert!(p.matches(r#"{"object":{"key":"auto-test"}}"#, &[]));
        assert!(!p.matches(r#"{"object":{"key":"manual"}}"#, &[]));
        assert!(!p.matches("plain text", &[]));
    }

    #[test]
    fn refusals_in_sns_words() {
        let attrs_scope = |t: &str| FilterPolicy::parse(t, FilterScope::MessageAttributes).map(|_| ());
        assert_eq!(attrs_scope(r#"{"object":{"key":["a"]}}"#), Err(FilterPolicyError::Nested));
        assert_eq!(
            attrs_scope(r#"{"key":[{"wrong-operator":true}]}"#).map_err(|e| e.to_string()),
            Err("Unrecognized match type wrong-operator".to_owned())
        );
        assert_eq!(
            attrs_scope(r#"{"key_a":"value_one"}"#).map_err(|e| e.to_string()),
            Err("\"key_a\" must be an object or an array".to_owned())
        );
        assert_eq!(
            attrs_scope(r#"{"key":[{"numeric":[">",3,"<",1]}]}"#).map_err(|e| e.to_string()),
            Err("Bottom must be less than top".to_owned())
        );
        assert_eq!(
            attrs_scope(r#"{"a":[1],"b":[1],"c":[1],"d":[1],"e":[1],"f":[1]}"#),
            Err(FilterPolicyError::TooManyKeys)
        );
        let many: Vec<String> = (0..151).map(|i| format!("\"v{i}\"")).collect();
        assert_eq!(
            attrs_scope(&format!(r#"{{"a":[{}]}}"#, many.join(","))),
            Err(FilterPolicyError::TooComplex)
        );
        let thirteen: Vec<String> = (0..13).map(|i| format!("\"v{i}\"")).collect();
        let list = thirteen.join(",");
        assert_eq!(
            attrs_scope(&format!(r#"{{"a":[{list}],"b":[{list}]}}"#)),
            Err(FilterPolicyError::TooComplex),
            "13 × 13 = 169 combinations"
        );
        assert!(attrs_scope(&format!(r#"{{"a":[{list}],"b":["x"]}}"#)).is_ok());
    }

    #[test]
    fn scope_names() {
        assert_eq!(FilterScope::parse("MessageBody"), Some(FilterScope::MessageBody));
        assert_eq!(FilterScope::parse("RandomValue"), None);
        assert_eq!(FilterScope::MessageAttributes.as_str(), "MessageAttributes");
    }
}
