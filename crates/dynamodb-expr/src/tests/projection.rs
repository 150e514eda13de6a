use super::{item, placeholders};

fn project(expression: &str) -> Result<crate::Item, String> {
    let doc = item(
        r#"{"a": {"N": "1"}, "b": {"M": {"c": {"S": "x"}, "d": {"L": [{"N": "0"}, {"N": "1"}, {"M": {"e": {"S": "y"}, "f": {"S": "z"}}}, {"N": "3"}]}}},
        "l": {"L": [{"S": "l0"}, {"S": "l1"}, {"S": "l2"}, {"S": "l3"}]}, "status": {"S": "on"}}"#,
    );
    let mut p = placeholders(&[("#st", "status"), ("#b", "b")], "");
    p.projection(expression).map(|proj| proj.apply(&doc)).map_err(|e| e.to_string())
}

#[test]
fn shapes() {
    let cases = [
        ("a", r#"{"a": {"N": "1"}}"#),
        ("a, absent", r#"{"a": {"N": "1"}}"#),
        ("b.c", r#"{"b": {"M": {"c": {"S": "x"}}}}"#),
        ("#b.c, #st", r#"{"b": {"M": {"c": {"S": "x"}}}, "status": {"S": "on"}}"#),
        ("l[3], l[1]", r#"{"l": {"L": [{"S": "l1"}, {"S": "l3"}]}}"#),
        ("l[7]", "{}"),
        ("b.d[2].e, b.c", r#"{"b": {"M": {"c": {"S": "x"}, "d": {"L": [{"M": {"e": {"S": "y"}}}]}}}}"#),
        ("b.nope.x, a.x, l.x", "{}"),
    ];
    for (expression, expected) in cases {
        assert_eq!(project(expression), Ok(item(expected)), "{expression}");
    }
}

#[test]
fn refusals() {
    let cases = [
        (
            "status",
            "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "a, a",
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "b, b.c",
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [b], path two: [b, c]",
        ),
        (
            "l[0], l.x",
            "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [l, [0]], path two: [l, x]",
        ),
        ("a,", r#"Invalid ProjectionExpression: Syntax error; token: "<EOF>", near: ",""#),
        ("a = b", r#"Invalid ProjectionExpression: Syntax error; token: "=", near: "a = b""#),
        (
            "#x",
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #x",
        ),
        ("", "Invalid ProjectionExpression: The expression can not be empty;"),
    ];
    for (expression, expected) in cases {
        assert_eq!(project(expression), Err(expected.to_owned()), "{expression}");
    }
}
