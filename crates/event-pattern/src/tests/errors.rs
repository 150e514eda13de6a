//! Every refusal, with the reason EventBridge gives (AWS-recorded where AWS was asked; Ruler's
//! compiler text otherwise).

use crate::{Pattern, PatternError};

fn reason(pattern: &str) -> String {
    match Pattern::parse(pattern) {
        Ok(p) => panic!("{pattern} was accepted: {p:?}"),
        Err(PatternError::InvalidPattern(r)) => r,
        Err(other) => panic!("{pattern}: wrong kind {other:?}"),
    }
}

fn table(rows: &[(&str, &str)]) {
    for (pattern, expected) in rows {
        assert_eq!(reason(pattern), *expected, "pattern {pattern}");
    }
}

#[test]
fn display_is_the_invalid_event_pattern_message() {
    let err = Pattern::parse(r#"{"resources": []}"#).expect_err("empty array");
    assert_eq!(err.to_string(), "Event pattern is not valid. Reason: Empty arrays are not allowed");
    assert_eq!(err.reason(), "Empty arrays are not allowed");
}

#[test]
fn structure() {
    table(&[
        (r#"{"resources": []}"#, "Empty arrays are not allowed"),
        (r#"{"int": 42}"#, r#""int" must be an object or an array"#),
        (r#"{"string": "my-value"}"#, r#""string" must be an object or an array"#),
        (r#"{"a": null}"#, r#""a" must be an object or an array"#),
        (r#"["not", "a", "dict", "but valid json"]"#, "Filter is not an object"),
        (r#""text""#, "Filter is not an object"),
        ("{}", "Empty objects are not allowed"),
        (r#"{"a": {}}"#, "Empty objects are not allowed"),
        (r#"{"a": [[1]]}"#, "Match value must be String, number, true, false, or null"),
        (r#"{"a": [{}]}"#, "Match expression name not found"),
        (r#"{"my_key": [{"EXISTS": true}]}"#, "Unrecognized match type EXISTS"),
        (r#"{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}"#, "Unrecognized match type NUMERIC"),
        (r#"{"a": [{"contains": "x"}]}"#, "Unrecognized match type contains"),
        (r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#, "Only one key allowed in match expression"),
        (r#"{"a": [{"exists": true, "x": 1}]}"#, "Only one key allowed in match expression"),
        // The first error in document order wins, even in a key a later duplicate replaces.
        (r#"{"a": [], "a": ["x"]}"#, "Empty arrays are not allowed"),
    ]);
}

#[test]
fn malformed_json_reports_what_the_reader_found() {
    table(&[
        (
            "this is valid json but not a dict",
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        ),
        (
            "{'bad': 'quotation'}",
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
        ),
        (
            r#"{"not": closed mark""#,
            "Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        ),
        ("", "No content to map due to end-of-input"),
        (r#"{"a": ["x"]"#, "Unexpected end-of-input: expected close marker for Object"),
        (r#"{"a": [01]}"#, "Invalid numeric value: Leading zeroes not allowed"),
    ]);
}

#[test]
fn string_operators_want_strings() {
    table(&[
        (r#"{"time": [{"prefix": ["2022-07-13"]}]}"#, "prefix match pattern must be a string"),
        (r#"{"time": [{"prefix": 123}]}"#, "prefix match pattern must be a string"),
        (r#"{"FileName": [{"suffix": 123}]}"#, "suffix match pattern must be a string"),
        (r#"{"FileName": [{"suffix": [".png"]}]}"#, "suffix match pattern must be a string"),
        (
            r#"{"detail-type": [{"equals-ignore-case": ["ec2 instance state-change notification"]}]}"#,
            "equals-ignore-case match pattern must be a string",
        ),
        (
            r#"{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}"#,
            "equals-ignore-case match pattern must be a string",
        ),
        (
            r#"{"a": [{"prefix": {"equals-ignore-case": 5}}]}"#,
            "equals-ignore-case match pattern must be a string",
        ),
        (r#"{"a": [{"prefix": {"exactly": "x"}}]}"#, "Unsupported prefix pattern: exactly"),
        (r#"{"a": [{"suffix": {"prefix": "x"}}]}"#, "Unsupported suffix pattern: prefix"),
        (r#"{"a": [{"prefix": {}}]}"#, "Prefix expression name not found"),
        (r#"{"a": [{"suffix": {}}]}"#, "Suffix expression name not found"),
        (
            r#"{"a": [{"prefix": {"equals-ignore-case": "x", "y": 1}}]}"#,
            "Only one key allowed in match expression",
        ),
        (r#"{"a": [{"exactly": 5}]}"#, "exact match pattern must be a string"),
        (r#"{"EventBusArn": [{"wildcard": 123}]}"#, "wildcard match pattern must be a string"),
        (r#"{"EventBusArn": [{"wildcard": ["arn:*"]}]}"#, "wildcard match pattern must be a string"),
    ]);
}

#[test]
fn wildcard_refusals() {
    table(&[
        (
            r#"{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}"#,
            "Consecutive wildcard characters at pos 26",
        ),
        (r#"{"a": [{"wildcard": "a\\b"}]}"#, "Invalid escape character at pos 2"),
        (
            r#"{"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}"#,
            "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
        ),
        (r#"{"a": [{"anything-but": {"wildcard": "x**"}}]}"#, "Consecutive wildcard characters at pos 2"),
    ]);
}

#[test]
fn anything_but_refusals() {
    table(&[
        (
            r#"{"a": [{"anything-but": null}]}"#,
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            r#"{"a": [{"anything-but": true}]}"#,
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            r#"{"a": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}"#,
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            r#"{"a": [{"anything-but": {"suffix": {"equals-ignore-case": ".png"}}}]}"#,
            "Value of anything-but must be an array or single string/number value.",
        ),
        (
            r#"{"a": [{"anything-but": ["a", null]}]}"#,
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            r#"{"a": [{"anything-but": [true]}]}"#,
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            r#"{"a": [{"anything-but": [["a"]]}]}"#,
            "Inside anything but list, start|null|boolean is not supported.",
        ),
        (
            r#"{"a": [{"anything-but": ["a", 1]}]}"#,
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
        (
            r#"{"a": [{"anything-but": []}]}"#,
            "Inside anything but list, either all values are number or string, mixed type is not supported",
        ),
        (
            r#"{"a": [{"anything-but": {"equals-ignore-case": 123}}]}"#,
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
        ),
        (
            r#"{"a": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}"#,
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
        ),
        (r#"{"a": [{"anything-but": {"prefix": 123}}]}"#, "prefix/suffix match pattern must be a string"),
        (
            r#"{"a": [{"anything-but": {"prefix": [123, "test"]}}]}"#,
            "prefix/suffix match pattern must be a string",
        ),
        (
            r#"{"a": [{"anything-but": {"suffix": [123, ".txt"]}}]}"#,
            "prefix/suffix match pattern must be a string",
        ),
        (r#"{"a": [{"anything-but": {"wildcard": 123}}]}"#, "wildcard match pattern must be a string"),
        (
            r#"{"a": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}"#,
            "wildcard match pattern must be a string",
        ),
        (r#"{"a": [{"anything-but": {"prefix": ""}}]}"#, "Null prefix/suffix not allowed"),
        (r#"{"a": [{"anything-but": {"suffix": ["x", ""]}}]}"#, "Null prefix/suffix not allowed"),
        (r#"{"a": [{"anything-but": {"exists": true}}]}"#, "Unsupported anything-but pattern: exists"),
        (r#"{"a": [{"anything-but": {}}]}"#, "Anything-But expression name not found"),
        (r#"{"a": [{"anything-but": "x", "b": 1}]}"#, "Too many elements in numeric expression"),
        (r#"{"a": [{"anything-but": {"prefix": "x", "b": 1}}]}"#, "Too many elements in numeric expression"),
        (r#"{"a": [{"anything-but": 1e400}]}"#, "Cannot compare number : 1e400"),
    ]);
}

#[test]
fn numeric_refusals() {
    table(&[
        (r#"{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}"#, "Bad numeric range operator: >"),
        (r#"{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}"#, "Value of < must be numeric"),
        (r#"{"a": [{"numeric": 5}]}"#, "Value of numeric must be an array."),
        (r#"{"a": [{"numeric": []}]}"#, "Invalid member in numeric match: ]"),
        (r#"{"a": [{"numeric": [5]}]}"#, "Invalid member in numeric match: 5"),
        (r#"{"a": [{"numeric": ["!=", 5]}]}"#, "Unrecognized numeric range operator: !="),
        (r#"{"a": [{"numeric": ["=", "5"]}]}"#, "Value of equals must be numeric"),
        (r#"{"a": [{"numeric": ["=", 5, 6]}]}"#, "Too many elements in numeric expression"),
        (r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#, "Too many elements in numeric expression"),
        (r#"{"a": [{"numeric": [">=", "x"]}]}"#, "Value of >= must be numeric"),
        (r#"{"a": [{"numeric": [">", 1, 2]}]}"#, "Bad value in numeric range: 2"),
        (r#"{"a": [{"numeric": [">", 1, "<", 5, "x"]}]}"#, "Too many terms in numeric range expression"),
        (r#"{"a": [{"numeric": [">", 5, "<", 1]}]}"#, "Bottom must be less than top"),
        (r#"{"a": [{"numeric": [">", 1e400]}]}"#, "Cannot compare number : 1e400"),
        (
            r#"{"a": [{"numeric": ["<", 0.30000000000000001]}]}"#,
            "Cannot compare number : 0.30000000000000001",
        ),
        (r#"{"a": [{"numeric": ["=", 5], "x": 1}]}"#, "Too many elements in numeric expression"),
    ]);
}

#[test]
fn exists_and_cidr_refusals() {
    table(&[
        (r#"{"a": [{"exists": "true"}]}"#, "exists match pattern must be either true or false."),
        (r#"{"a": [{"exists": null}]}"#, "exists match pattern must be either true or false."),
        (r#"{"ip": [{"cidr": "10.0.0.0"}]}"#, "Malformed CIDR, one '/' required"),
        (r#"{"ip": [{"cidr": "10.0.0.0/xx"}]}"#, "Malformed CIDR, mask bits must be an integer"),
        (r#"{"ip": [{"cidr": "xx.11.xx/24"}]}"#, "Nonstandard IP address: xx.11.xx"),
        (r#"{"ip": [{"cidr": "xxxx:db8:1234:1a00::/64"}]}"#, "Nonstandard IP address: xxxx:db8:1234:1a00::"),
        (r#"{"ip": [{"cidr": ["bad-type"]}]}"#, "prefix match pattern must be a string"),
        (r#"{"ip": [{"cidr": "10.0.0.0/32"}]}"#, "IPv4 mask bits must be < 32"),
    ]);
}

#[test]
fn or_refusals() {
    table(&[
        (r#"{"$or": [{"a": ["1"]}]}"#, "There must have at least 2 Objects in $or relationship."),
        (r#"{"$or": []}"#, "There must have at least 2 Objects in $or relationship."),
        (r#"{"$or": {"a": ["1"]}}"#, "It must be an Array followed with $or."),
        (r#"{"$or": [{"a": ["1"]}, "b"]}"#, "Only JSON object is allowed in array of $or relationship."),
        (r#"{"$or": [{"a": ["1"]}, {}]}"#, "Empty objects are not allowed"),
        (
            r#"{"$or": [{"a": ["1"]}, {"prefix": ["x"]}]}"#,
            "prefix is Ruler reserved fieldName which cannot be used inside $or.",
        ),
        (
            r#"{"$or": [{"a": ["1"]}, {"b": {"numeric": ["x"]}}]}"#,
            "numeric is Ruler reserved fieldName which cannot be used inside $or.",
        ),
    ]);
    // 11 × 10 × 10 branches is over the limit of 1000 combinations.
    let wide = |n: usize| {
        format!("[{}]", (0..n).map(|i| format!(r#"{{"f{i}":["x"]}}"#)).collect::<Vec<_>>().join(","))
    };
    let pattern =
        format!(r#"{{"a":{{"$or":{}}},"b":{{"$or":{}}},"c":{{"$or":{}}}}}"#, wide(11), wide(10), wide(10));
    assert!(reason(&pattern).contains("1000"));
    let fits =
        format!(r#"{{"a":{{"$or":{}}},"b":{{"$or":{}}},"c":{{"$or":{}}}}}"#, wide(10), wide(10), wide(10));
    assert!(Pattern::parse(&fits).is_ok());
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}{}", r#"{"a":"#.repeat(5000), "}".repeat(5000));
    assert!(Pattern::parse(&deep).is_err());
    let event = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let p = Pattern::parse(r#"{"a":["x"]}"#).expect("valid");
    assert!(p.matches(&event).is_err());
}
