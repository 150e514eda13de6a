use super::{item, placeholders};
use crate::{ExpressionKind, Placeholders};

const VALUES: &str = r#"{":s": {"S": "abc"}, ":n": {"N": "5"}, ":one": {"N": "1"}, ":b": {"B": "YQ=="},
    ":t": {"S": "N"}, ":bool": {"BOOL": true}, ":l": {"L": [{"S": "x"}]}}"#;

/// Parses with all of `VALUES` and `#st=status`, `#a=a`; returns the error text or `ok`.
fn check(expression: &str) -> String {
    let mut p = placeholders(&[("#st", "status"), ("#a", "a")], VALUES);
    match p.condition(ExpressionKind::Condition, expression) {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn syntax_errors_quote_token_and_neighbours() {
    let cases = [
        ("a = ", r#"Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "= ""#),
        ("a", r#"Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "a""#),
        ("a > 4", r#"Invalid ConditionExpression: Syntax error; token: "4", near: "> 4""#),
        ("attribute_exists()", r#"Invalid ConditionExpression: Syntax error; token: ")", near: "()""#),
        ("l[a] = :n", r#"Invalid ConditionExpression: Syntax error; token: "a", near: "[a]""#),
        ("a = :n AND", r#"Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "AND""#),
        ("a = = :n", r#"Invalid ConditionExpression: Syntax error; token: "=", near: "= = :n""#),
        ("a @ :n", r#"Invalid ConditionExpression: Syntax error; token: "@", near: "a @ :n""#),
        ("(a = :n", r#"Invalid ConditionExpression: Syntax error; token: "<EOF>", near: ":n""#),
        ("a AND b = :n", r#"Invalid ConditionExpression: Syntax error; token: "AND", near: "a AND b""#),
        ("(a = :n) = :n", r#"Invalid ConditionExpression: Syntax error; token: "=", near: ") = :n""#),
        ("a = :n and = :n", r#"Invalid ConditionExpression: Syntax error; token: "=", near: "and = :n""#),
        ("a BETWEEN :n :n", r#"Invalid ConditionExpression: Syntax error; token: ":n", near: ":n :n""#),
        (
            "things are not gonna be ok",
            r#"Invalid ConditionExpression: Syntax error; token: "are", near: "things are not""#,
        ),
    ];
    for (expression, expected) in cases {
        assert_eq!(check(expression), expected, "{expression}");
    }
}

#[test]
fn semantic_errors_with_dynamodb_ranking() {
    let cases = [
        ("", "Invalid ConditionExpression: The expression can not be empty;"),
        (
            "status = :n",
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        ("#st = :n", "ok"),
        (
            "#nope = :n",
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope",
        ),
        (
            "a = :nope",
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        ("foo(a)", "Invalid ConditionExpression: Invalid function name; function: foo"),
        (
            "size(a)",
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size",
        ),
        (
            "attribute_exists(a) = :n",
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists",
        ),
        (
            "begins_with(a)",
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1",
        ),
        (
            "begins_with(a, :n)",
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
        ),
        (
            "attribute_exists(:n)",
            "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists",
        ),
        (
            "attribute_type(a, :n)",
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N",
        ),
        (
            "attribute_type(a, :s)",
            "Invalid ConditionExpression: Invalid attribute type name found; type: abc, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}",
        ),
        (
            "size(:n) > :n",
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N",
        ),
        (
            "a = a",
            "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]",
        ),
        (
            "contains(a.b, a.b)",
            "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [a, b]",
        ),
        (
            "a BETWEEN :n AND :s",
            "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:abc}",
        ),
        (
            "a BETWEEN :n AND :one",
            "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}",
        ),
        ("((a = :n))", "Invalid ConditionExpression: The expression has redundant parentheses;"),
        ("(a = :n) AND ((b = :n))", "Invalid ConditionExpression: The expression has redundant parentheses;"),
        ("(a) = :n", "ok"),
        // Ranking: the undefined value is reported before the bad operand type that precedes it.
        (
            "begins_with(a, :n) AND b = :nope",
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        // Ranking: an unknown function beats a reserved word that comes first.
        ("status = :n AND foo(a)", "Invalid ConditionExpression: Invalid function name; function: foo"),
        ("NOT a = :n AND (b < :n OR c >= :n) AND attribute_not_exists(#a) AND contains(l, :s)", "ok"),
        ("a IN (:n, :one, :s) and a.b[2].c <> :n", "ok"),
    ];
    for (expression, expected) in cases {
        assert_eq!(check(expression), expected, "{expression}");
    }
    let long = format!("a = :n{}", " ".repeat(4096));
    assert_eq!(
        check(&long),
        "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4102"
    );
}

#[test]
fn unused_and_invalid_placeholders() {
    let mut p =
        placeholders(&[("#a", "a"), ("#b", "b"), ("#c", "c")], r#"{":x": {"N": "1"}, ":y": {"N": "2"}}"#);
    p.condition(ExpressionKind::Condition, "#a = :x").expect("valid");
    assert_eq!(
        p.finish().expect_err("unused").to_string(),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b, #c}"
    );
    let mut p = placeholders(&[], r#"{":x": {"N": "1"}, ":y": {"N": "2"}}"#);
    p.condition(ExpressionKind::Filter, "a = :x").expect("valid");
    assert_eq!(
        p.finish().expect_err("unused").to_string(),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:y}"
    );
    // Placeholders shared between expressions of one request count once used anywhere.
    let mut p = placeholders(&[("#a", "a")], r#"{":x": {"N": "1"}}"#);
    p.condition(ExpressionKind::Condition, "attribute_exists(#a)").expect("valid");
    p.update("SET b = :x").expect("valid");
    assert_eq!(p.finish(), Ok(()));

    let refusal = |names: Option<serde_json::Value>, values: Option<serde_json::Value>| {
        Placeholders::from_json(names.as_ref(), values.as_ref()).expect_err("invalid").to_string()
    };
    use serde_json::json;
    assert_eq!(refusal(Some(json!({})), None), "ExpressionAttributeNames must not be empty");
    assert_eq!(refusal(None, Some(json!({}))), "ExpressionAttributeValues must not be empty");
    assert_eq!(
        refusal(Some(json!({"a": "a"})), None),
        r#"ExpressionAttributeNames contains invalid key: Syntax error; key: "a""#
    );
    assert_eq!(
        refusal(None, Some(json!({"a": {"S": "b"}}))),
        r#"ExpressionAttributeValues contains invalid key: Syntax error; key: "a""#
    );
    assert_eq!(
        refusal(None, Some(json!({":a": {"SS": []}}))),
        "ExpressionAttributeValues contains invalid value: One or more parameter values were invalid: An string set  may not be empty for key :a"
    );
}

/// Evaluates `expression` against one fixed item.
fn eval(expression: &str) -> bool {
    let doc = item(
        r#"{"s": {"S": "abcdef"}, "n": {"N": "5"}, "b": {"B": "YWJj"}, "t": {"BOOL": true}, "z": {"NULL": true},
        "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1", "2"]}, "l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]},
        "m": {"M": {"deep": {"N": "10"}, "s": {"S": "abc"}}}, "status": {"S": "on"}, "five": {"N": "5.0"}}"#,
    );
    let mut p = placeholders(
        &[("#st", "status")],
        r#"{":s": {"S": "abc"}, ":n": {"N": "5"}, ":two": {"N": "2"}, ":ten": {"N": "10"}, ":x": {"S": "x"}, ":one": {"N": "1"},
        ":b": {"B": "YWI="}, ":type_n": {"S": "N"}, ":type_ss": {"S": "SS"}, ":on": {"S": "on"}, ":str5": {"S": "5"},
        ":l": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"k": {"S": "v"}}}]}, ":m": {"M": {"k": {"S": "v"}}}, ":three": {"N": "3"}}"#,
    );
    p.condition(ExpressionKind::Condition, expression)
        .unwrap_or_else(|e| panic!("{expression}: {e}"))
        .evaluate(&doc)
}

#[test]
fn evaluation_semantics() {
    let cases = [
        ("n = :n", true),
        ("five = :n", true),
        ("n = five", true),
        ("n = :str5", false),
        ("n <> :str5", true),
        ("absent = :n", false),
        ("absent <> :n", true),
        ("n < :ten", true),
        ("n < :str5", false),
        ("absent < :ten", false),
        ("s > :s", true),
        ("b > :b", true),
        ("t < :n", false),
        ("n BETWEEN :two AND :ten", true),
        ("n BETWEEN :n AND :n", true),
        ("n BETWEEN :two AND :three", false),
        ("s BETWEEN :one AND :ten", false),
        ("n IN (:one, :two, :n)", true),
        ("n IN (:one, :two)", false),
        ("absent IN (:one)", false),
        ("attribute_exists(m.deep)", true),
        ("attribute_exists(m.nope)", false),
        ("attribute_not_exists(m.nope)", true),
        ("attribute_exists(l[2].k)", true),
        ("attribute_exists(l[3])", false),
        ("attribute_exists(s[0])", false),
        ("attribute_type(n, :type_n)", true),
        ("attribute_type(ss, :type_ss)", true),
        ("attribute_type(s, :type_n)", false),
        ("attribute_type(absent, :type_n)", false),
        ("begins_with(s, :s)", true),
        ("begins_with(b, :b)", true),
        ("begins_with(m.s, :s)", true),
        ("begins_with(n, :s)", false),
        ("contains(s, :s)", true),
        ("contains(ss, :x)", true),
        ("contains(ns, :one)", true),
        ("contains(ns, :x)", false),
        ("contains(l, :x)", true),
        ("contains(l, :m)", true),
        ("contains(n, :n)", false),
        ("size(ss) = :two", true),
        ("size(l) = :three", true),
        ("size(m) = :two", true),
        ("size(b) = :three", true),
        ("size(n) = :one", false),
        ("size(absent) < :ten", false),
        ("l = :l", true),
        ("m.deep = :ten", true),
        ("#st = :on", true),
        ("NOT n = :n", false),
        ("NOT absent = :n", true),
        ("n = :n AND s = :s", false),
        ("n = :n OR s = :s", true),
        ("n = :one OR n = :two OR n = :n", true),
        ("n = :one OR n = :n AND s = :s", false),
        ("(n = :one OR n = :n) AND NOT s = :s", true),
        ("NOT (n = :one OR n = :two)", true),
    ];
    for (expression, expected) in cases {
        assert_eq!(eval(expression), expected, "{expression}");
    }
}
