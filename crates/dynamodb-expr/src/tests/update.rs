use super::{item, placeholders};
use crate::{Error, Item, KeyAttribute, KeySchema, ScalarType, UpdateOutcome};

const VALUES: &str = r#"{":one": {"N": "1"}, ":n": {"N": "5"}, ":s": {"S": "x"}, ":l": {"L": [{"S": "z"}]},
    ":ss": {"SS": ["b", "c"]}, ":ns": {"NS": ["2"]}, ":m": {"M": {}}, ":big": {"N": "9.9999999999999999999999999999999999999E+125"}}"#;

fn parse_error(expression: &str) -> String {
    let mut p = placeholders(&[("#a", "a")], VALUES);
    match p.update(expression) {
        Ok(_) => "ok".to_owned(),
        Err(e) => e.to_string(),
    }
}

fn apply(before: &str, expression: &str) -> Result<UpdateOutcome, Error> {
    let mut p = placeholders(&[("#st", "status")], VALUES);
    p.update(expression).expect("valid update").apply(&item(before))
}

fn after(before: &str, expression: &str) -> Item {
    apply(before, expression).expect("applies").item
}

#[test]
fn parse_errors() {
    let cases = [
        ("SET a = :one", "ok"),
        ("set a = :one remove b add c :one delete d :ss", "ok"),
        ("SET a = :one, b = a + :one, c = if_not_exists(c, :one) - :one, d = list_append(:l, d)", "ok"),
        ("SET", r#"Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET""#),
        ("SET a", r#"Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "a""#),
        ("SET a = ", r#"Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "= ""#),
        ("a = :one", r#"Invalid UpdateExpression: Syntax error; token: "a", near: "a =""#),
        ("SET a = :one b = :one", r#"Invalid UpdateExpression: Syntax error; token: "b", near: ":one b =""#),
        (
            "SET a = :one + :one + :one",
            r#"Invalid UpdateExpression: Syntax error; token: "+", near: ":one + :one""#,
        ),
        ("ADD a b", r#"Invalid UpdateExpression: Syntax error; token: "b", near: "a b""#),
        (
            "SET a = :one SET b = :one",
            r#"Invalid UpdateExpression: The "SET" section can only be used once in an update expression;"#,
        ),
        (
            "SET a = :one, a.b = :one",
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]",
        ),
        (
            "SET a = :one REMOVE a",
            "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
        ),
        (
            "SET a[1] = :one REMOVE a.b",
            "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [1]], path two: [a, b]",
        ),
        ("SET a[1] = :one REMOVE a[2]", "ok"),
        (
            "SET status = :one",
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        (
            "SET a = :nope",
            "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
        ),
        (
            "SET #b = :one",
            "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #b",
        ),
        ("SET a = foo(b)", "Invalid UpdateExpression: Invalid function name; function: foo"),
        (
            "SET a = size(b)",
            "Invalid UpdateExpression: The function is not allowed in a update expression; function: size",
        ),
        (
            "SET a = if_not_exists(:one, :one)",
            "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists",
        ),
        (
            "SET a = list_append(:s, b)",
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S",
        ),
        (
            "SET a = list_append(b)",
            "Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1",
        ),
        (
            "SET a = b + :s",
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S",
        ),
        (
            "ADD a :s",
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND",
        ),
        (
            "DELETE a :one",
            "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND",
        ),
        ("ADD a :ss", "ok"),
        // Ranking: the reserved word wins over an undefined value before it.
        (
            "SET a = :nope, status = :one",
            "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: status",
        ),
        ("", "Invalid UpdateExpression: The expression can not be empty;"),
    ];
    for (expression, expected) in cases {
        assert_eq!(parse_error(expression), expected, "{expression}");
    }
}

#[test]
fn set_semantics() {
    assert_eq!(after("{}", "SET a = :one"), item(r#"{"a": {"N": "1"}}"#));
    assert_eq!(after(r#"{"a": {"N": "1"}}"#, "SET a = a + :n"), item(r#"{"a": {"N": "6"}}"#));
    assert_eq!(after(r#"{"a": {"N": "1"}}"#, "SET a = :one - a"), item(r#"{"a": {"N": "0"}}"#));
    assert_eq!(after("{}", "SET a = if_not_exists(a, :one) + :n"), item(r#"{"a": {"N": "6"}}"#));
    assert_eq!(after(r#"{"a": {"N": "2"}}"#, "SET a = if_not_exists(a, :one)"), item(r#"{"a": {"N": "2"}}"#));
    assert_eq!(
        after(r#"{"l": {"L": [{"S": "a"}]}}"#, "SET l = list_append(l, :l), m = list_append(:l, l)"),
        item(r#"{"l": {"L": [{"S": "a"}, {"S": "z"}]}, "m": {"L": [{"S": "z"}, {"S": "a"}]}}"#)
    );
    // Every operand reads the item before the update: a swap works.
    assert_eq!(
        after(r#"{"a": {"N": "1"}, "b": {"N": "5"}}"#, "SET a = b, b = a"),
        item(r#"{"a": {"N": "5"}, "b": {"N": "1"}}"#)
    );
    assert_eq!(
        after(r#"{"m": {"M": {"x": {"N": "1"}}}}"#, "SET m.y = :s, m.x = m.x + :one"),
        item(r#"{"m": {"M": {"x": {"N": "2"}, "y": {"S": "x"}}}}"#)
    );
    // An index past the end appends.
    assert_eq!(
        after(r#"{"l": {"L": [{"S": "a"}, {"S": "b"}]}}"#, "SET l[1] = :s, l[10] = :one"),
        item(r#"{"l": {"L": [{"S": "a"}, {"S": "x"}, {"N": "1"}]}}"#)
    );
    assert_eq!(after(r#"{"status": {"S": "x"}}"#, "SET #st = :one"), item(r#"{"status": {"N": "1"}}"#));
}

#[test]
fn evaluation_errors() {
    let cases = [
        ("{}", "SET a = b", Error::MissingAttribute),
        ("{}", "SET a = b + :one", Error::MissingAttribute),
        (r#"{"b": {"S": "x"}}"#, "SET a = b + :one", Error::IncorrectOperandType),
        (r#"{"b": {"S": "x"}}"#, "SET a = list_append(b, :l)", Error::IncorrectOperandType),
        ("{}", "SET a.b = :one", Error::InvalidUpdatePath),
        (r#"{"a": {"S": "x"}}"#, "SET a.b = :one", Error::InvalidUpdatePath),
        (r#"{"a": {"M": {}}}"#, "SET a[0] = :one", Error::InvalidUpdatePath),
        (r#"{"a": {"S": "x"}}"#, "ADD a :one", Error::IncorrectOperandType),
        (r#"{"a": {"SS": ["x"]}}"#, "ADD a :ns", Error::IncorrectOperandType),
        (r#"{"a": {"NS": ["1"]}}"#, "DELETE a :ss", Error::IncorrectOperandType),
        (
            r#"{"a": {"N": "9.9999999999999999999999999999999999999E+125"}}"#,
            "SET a = a + :big",
            Error::NumberOverflow,
        ),
        (r#"{"a": {"N": "1"}}"#, "SET a = a + :big", Error::NumberPrecision),
        ("{}", "REMOVE a.b", Error::InvalidUpdatePath),
    ];
    for (before, expression, expected) in cases {
        assert_eq!(apply(before, expression).map(|o| o.item), Err(expected), "{before} {expression}");
    }
}

#[test]
fn remove_add_delete() {
    assert_eq!(
        after(r#"{"a": {"N": "1"}, "b": {"N": "2"}}"#, "REMOVE a, absent"),
        item(r#"{"b": {"N": "2"}}"#)
    );
    // Indexes refer to the original list.
    assert_eq!(
        after(r#"{"l": {"L": [{"N": "0"}, {"N": "1"}, {"N": "2"}, {"N": "3"}]}}"#, "REMOVE l[1], l[3], l[9]"),
        item(r#"{"l": {"L": [{"N": "0"}, {"N": "2"}]}}"#)
    );
    assert_eq!(after(r#"{"m": {"M": {"x": {"N": "1"}}}}"#, "REMOVE m.x, m.y"), item(r#"{"m": {"M": {}}}"#));
    assert_eq!(after("{}", "ADD n :n, s :ss"), item(r#"{"n": {"N": "5"}, "s": {"SS": ["b", "c"]}}"#));
    assert_eq!(after(r#"{"n": {"N": "-5"}}"#, "ADD n :n"), item(r#"{"n": {"N": "0"}}"#));
    assert_eq!(after(r#"{"s": {"SS": ["a", "b"]}}"#, "ADD s :ss"), item(r#"{"s": {"SS": ["a", "b", "c"]}}"#));
    assert_eq!(after(r#"{"s": {"SS": ["a", "b"]}}"#, "DELETE s :ss"), item(r#"{"s": {"SS": ["a"]}}"#));
    assert_eq!(
        after(r#"{"s": {"SS": ["b"]}, "x": {"N": "1"}}"#, "DELETE s :ss"),
        item(r#"{"x": {"N": "1"}}"#)
    );
    assert_eq!(after("{}", "DELETE s :ss"), item("{}"));
}

#[test]
fn updated_attributes_and_return_values() {
    let before = item(
        r#"{"pk": {"S": "k"}, "a": {"N": "1"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}, "gone": {"S": "g"}}"#,
    );
    let mut p = placeholders(&[], VALUES);
    let outcome =
        p.update("SET a = a + :one, m.x = :n REMOVE gone").expect("valid").apply(&before).expect("applies");
    assert_eq!(outcome.updated_attributes().into_iter().collect::<Vec<_>>(), ["a", "gone", "m"]);
    assert_eq!(
        outcome.updated_old(&before),
        item(r#"{"a": {"N": "1"}, "m": {"M": {"x": {"N": "1"}}}, "gone": {"S": "g"}}"#)
    );
    assert_eq!(outcome.updated_new(), item(r#"{"a": {"N": "2"}, "m": {"M": {"x": {"N": "5"}}}}"#));

    let schema = KeySchema::new(KeyAttribute::new("pk", ScalarType::S), None);
    let update = p.update("SET pk = :s").expect("valid");
    assert_eq!(
        update.check_keys_untouched(schema.names()).expect_err("key").to_string(),
        "Cannot update attribute pk. This attribute is part of the key"
    );
}
