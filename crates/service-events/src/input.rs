//! What a target receives: the whole event, a constant `Input`, the value at an `InputPath`, or
//! an `InputTransformer`'s template filled from the event. Pure: values in, text out.
//!
//! Templates follow the EventBridge user guide ("Transforming target input"): a placeholder
//! inside a JSON string gets the raw value (strings unquoted and, as AWS says, not escaped);
//! outside a string it gets the JSON value (strings quoted). A template that is not JSON at all
//! (`<instance> is in state <status>`) is plain text and gets raw values. A variable whose path
//! is missing from the event "isn't created and won't appear in the output": it renders empty.
//! `<aws.events.event>` is the event without `detail`, with AWS's camelCase `detailType`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::Target;

/// The reserved variables every template may use.
pub const RESERVED: [&str; 5] = [
    "aws.events.rule-arn",
    "aws.events.rule-name",
    "aws.events.event.ingestion-time",
    "aws.events.event",
    "aws.events.event.json",
];

/// One event as a rule's targets see it.
pub struct Matched<'a> {
    pub rule_arn: &'a str,
    pub rule_name: &'a str,
    /// ISO-8601, e.g. `2024-05-01T12:00:03Z`.
    pub ingestion_time: &'a str,
    /// The envelope as delivered.
    pub event_text: &'a str,
    pub event: &'a Value,
}

/// The payload for `target`.
pub fn render(target: &Target, m: &Matched<'_>) -> String {
    if let Some(input) = &target.input {
        return input.clone();
    }
    if let Some(path) = &target.input_path {
        // A path the event does not have sends JSON null (not verified against AWS).
        return select(m.event, path).map_or_else(|| "null".to_owned(), Value::to_string);
    }
    if let Some(t) = &target.input_transformer {
        let mut vars: BTreeMap<&str, Value> = BTreeMap::new();
        for (name, path) in t.input_paths_map.iter().flatten() {
            if let Some(v) = select(m.event, path) {
                vars.insert(name, v.clone());
            }
        }
        vars.insert("aws.events.rule-arn", Value::String(m.rule_arn.to_owned()));
        vars.insert("aws.events.rule-name", Value::String(m.rule_name.to_owned()));
        vars.insert("aws.events.event.ingestion-time", Value::String(m.ingestion_time.to_owned()));
        vars.insert("aws.events.event", event_without_detail(m.event));
        let json = serde_json::from_str(m.event_text).unwrap_or(Value::Null);
        vars.insert("aws.events.event.json", json);
        return fill(&t.input_template, &vars);
    }
    m.event_text.to_owned()
}

/// The placeholders of a template that are neither in `paths` nor reserved (PutTargets refuses
/// those).
pub fn unknown_placeholders<'t>(template: &'t str, paths: Option<&BTreeMap<String, String>>) -> Vec<&'t str> {
    placeholders(template)
        .filter(|name| !RESERVED.contains(name) && paths.is_none_or(|p| !p.contains_key(*name)))
        .collect()
}

fn is_var_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// `<name>` occurrences with a plausible variable name.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template.split('<').skip(1).filter_map(|rest| {
        let (name, _) = rest.split_once('>')?;
        (!name.is_empty() && name.chars().all(is_var_char)).then_some(name)
    })
}

fn fill(template: &str, vars: &BTreeMap<&str, Value>) -> String {
    let trimmed = template.trim_start();
    let json_mode = trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.starts_with('"');
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some((name, after)) = placeholder(rest)
        {
            if let Some(value) = vars.get(name) {
                match value {
                    Value::String(s) if !json_mode || in_string => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
                rest = after;
                continue;
            }
            if !RESERVED.contains(&name) {
                // A variable whose path is missing: it does not appear in the output.
                rest = after;
                continue;
            }
        }
        if json_mode {
            if escaped {
                escaped = false;
            } else if c == '\\' && in_string {
                escaped = true;
            } else if c == '"' {
                in_string = !in_string;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The variable name of a `<name>` at the start of `text`, and the text after it.
fn placeholder(text: &str) -> Option<(&str, &str)> {
    let (name, after) = text.strip_prefix('<')?.split_once('>')?;
    (!name.is_empty() && name.chars().all(is_var_char)).then_some((name, after))
}

fn event_without_detail(event: &Value) -> Value {
    let mut out = Map::new();
    for (key, name) in [
        ("id", "id"),
        ("account", "account"),
        ("detail-type", "detailType"),
        ("time", "time"),
        ("source", "source"),
        ("region", "region"),
        ("resources", "resources"),
        ("version", "version"),
    ] {
        if let Some(v) = event.get(key) {
            out.insert(name.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// The JSONPath subset EventBridge documents: `$`, `$.a.b`, `$.a[0]`, keys with dashes and
/// underscores. Anything else selects nothing.
pub fn select<'v>(event: &'v Value, path: &str) -> Option<&'v Value> {
    let mut rest = path.trim().strip_prefix('$')?;
    let mut at = event;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() {
                return None;
            }
            at = at.get(key)?;
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let (index, tail) = after.split_once(']')?;
            at = at.get(index.parse::<usize>().ok()?)?;
            rest = tail;
        } else {
            return None;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InputTransformer;
    use serde_json::json;

    const EVENT: &str = r#"{"version":"0","id":"7bf7","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],"detail":{"instance-id":"i-0123456789","state":"RUNNING","n":[1,2]}}"#;

    fn transform(template: &str) -> String {
        let event: Value = serde_json::from_str(EVENT).expect("json");
        let paths = BTreeMap::from([
            ("timestamp".to_owned(), "$.time".to_owned()),
            ("instance".to_owned(), "$.detail.instance-id".to_owned()),
            ("state".to_owned(), "$.detail.state".to_owned()),
            ("second".to_owned(), "$.detail.n[1]".to_owned()),
            ("missing".to_owned(), "$.detail.nope".to_owned()),
        ]);
        let target = Target {
            input_transformer: Some(InputTransformer {
                input_paths_map: Some(paths),
                input_template: template.to_owned(),
            }),
            ..Target::default()
        };
        let m = Matched {
            rule_arn: "arn:aws:events:us-east-2:123456789012:rule/example",
            rule_name: "example",
            ingestion_time: "2015-11-11T21:29:55Z",
            event_text: EVENT,
            event: &event,
        };
        render(&target, &m)
    }

    #[test]
    fn templates_render_as_the_user_guide_shows() {
        assert_eq!(
            transform(r#""instance <instance> is in <state>""#),
            r#""instance i-0123456789 is in RUNNING""#
        );
        assert_eq!(
            transform(
                r#"{"instance" : <instance>, "state": "<state>", "s": "instance \"<instance>\" is in <state>"}"#
            ),
            r#"{"instance" : "i-0123456789", "state": "RUNNING", "s": "instance \"i-0123456789\" is in RUNNING"}"#
        );
        assert_eq!(
            transform(r#"{"instance" : <instance>, "state": [ 9, <state>, true ], "n": <second>}"#),
            r#"{"instance" : "i-0123456789", "state": [ 9, "RUNNING", true ], "n": 2}"#
        );
        assert_eq!(transform("<instance> is in state <state>"), "i-0123456789 is in state RUNNING");
        assert_eq!(transform(r#""<aws.events.rule-name> triggered""#), r#""example triggered""#);
        assert_eq!(transform(r#""[<missing>]""#), r#""[]""#);
    }

    #[test]
    fn reserved_variables() {
        let out: Value = serde_json::from_str(&transform(
            r#"{"arn": <aws.events.rule-arn>, "at": <aws.events.event.ingestion-time>, "e": <aws.events.event>, "j": <aws.events.event.json>}"#,
        ))
        .expect("JSON output");
        assert_eq!(out["arn"], "arn:aws:events:us-east-2:123456789012:rule/example");
        assert_eq!(out["at"], "2015-11-11T21:29:55Z");
        assert_eq!(out["e"]["detailType"], "EC2 Instance State-change Notification");
        assert!(out["e"].get("detail").is_none());
        assert_eq!(out["j"]["detail"]["state"], "RUNNING");
    }

    #[test]
    fn input_path_and_constant_input() {
        let event: Value = serde_json::from_str(EVENT).expect("json");
        let m =
            Matched { rule_arn: "a", rule_name: "r", ingestion_time: "t", event_text: EVENT, event: &event };
        let path = |p: &str| render(&Target { input_path: Some(p.to_owned()), ..Target::default() }, &m);
        assert_eq!(path("$.detail.state"), r#""RUNNING""#);
        assert_eq!(path("$.detail.n[0]"), "1");
        assert_eq!(
            path("$.resources[0]"),
            json!("arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111").to_string()
        );
        assert_eq!(path("$.nope.deeper"), "null");
        assert_eq!(serde_json::from_str::<Value>(&path("$")).expect("json"), event);
        let constant = Target { input: Some(r#"{"fixed":true}"#.to_owned()), ..Target::default() };
        assert_eq!(render(&constant, &m), r#"{"fixed":true}"#);
        assert_eq!(render(&Target::default(), &m), EVENT);
    }

    #[test]
    fn unknown_placeholders_are_found() {
        let paths = BTreeMap::from([("a".to_owned(), "$.a".to_owned())]);
        assert_eq!(
            unknown_placeholders("<a> <b> <aws.events.rule-name> <not a var>", Some(&paths)),
            vec!["b"]
        );
    }
}
