use super::{item, placeholders, value};
use crate::{Comparator, KeyAttribute, KeyCondition, KeySchema, ScalarType, SortCondition};

fn schema() -> KeySchema {
    KeySchema::new(KeyAttribute::new("a", ScalarType::S), Some(KeyAttribute::new("b", ScalarType::N)))
}

const VALUES: &str = r#"{":s": {"S": "x"}, ":n": {"N": "1"}, ":m": {"N": "9"}}"#;

fn key(expression: &str) -> Result<KeyCondition, String> {
    placeholders(&[("#b", "b")], VALUES).key_condition(expression, &schema()).map_err(|e| e.to_string())
}

#[test]
fn accepted_forms() {
    let s = value(r#"{"S": "x"}"#);
    let n = value(r#"{"N": "1"}"#);
    let m = value(r#"{"N": "9"}"#);
    let cases = [
        ("a = :s", None),
        (":s = a", None),
        ("a = :s AND b = :n", Some(SortCondition::Compare(Comparator::Eq, n.clone()))),
        ("b < :n AND a = :s", Some(SortCondition::Compare(Comparator::Lt, n.clone()))),
        ("a = :s AND :n < #b", Some(SortCondition::Compare(Comparator::Gt, n.clone()))),
        ("a = :s AND b >= :n", Some(SortCondition::Compare(Comparator::Ge, n.clone()))),
        ("(a = :s) AND (b BETWEEN :n AND :m)", Some(SortCondition::Between(n.clone(), m.clone()))),
    ];
    for (expression, sort) in cases {
        let expected =
            KeyCondition { partition: ("a".to_owned(), s.clone()), sort: sort.map(|c| ("b".to_owned(), c)) };
        assert_eq!(key(expression), Ok(expected), "{expression}");
    }
    let strings =
        KeySchema::new(KeyAttribute::new("a", ScalarType::S), Some(KeyAttribute::new("b", ScalarType::S)));
    let condition =
        placeholders(&[], VALUES).key_condition("a = :s AND begins_with(b, :s)", &strings).expect("valid");
    assert!(condition.matches(&item(r#"{"a": {"S": "x"}, "b": {"S": "xyz"}}"#)));
    assert!(!condition.matches(&item(r#"{"a": {"S": "x"}, "b": {"S": "yz"}}"#)));
    assert!(!condition.matches(&item(r#"{"a": {"S": "y"}, "b": {"S": "xyz"}}"#)));
}

#[test]
fn refusals_in_dynamodb_order() {
    let cases = [
        ("a = :s OR b > :n", "Invalid operator used in KeyConditionExpression: OR"),
        ("a > :s and size(b) > :n or a > :s", "Invalid operator used in KeyConditionExpression: OR"),
        ("a IN (:s)", "Invalid operator used in KeyConditionExpression: IN"),
        ("attribute_exists(a)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("contains(a, :s)", "Invalid operator used in KeyConditionExpression: contains"),
        ("NOT a = :s", "Invalid operator used in KeyConditionExpression: NOT"),
        ("a <> :s", "Invalid operator used in KeyConditionExpression: <>"),
        ("size(b) > a AND a.b > b", "KeyConditionExpressions cannot contain nested operations"),
        ("a BETWEEN size(b) AND size(a)", "KeyConditionExpressions cannot contain nested operations"),
        (
            "b > a.b",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            "begins_with(a, b)",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        ("a.d > :s", "KeyConditionExpressions cannot have conditions on nested attributes"),
        ("b[0] > :n", "KeyConditionExpressions cannot have conditions on nested attributes"),
        (":s > :n AND a < :s", "Invalid condition in KeyConditionExpression: No key attribute specified"),
        (
            ":s BETWEEN a AND :s",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "begins_with(:s, a)",
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
        ),
        (
            "b > :n AND b < :m AND c = :n AND d = :n",
            "KeyConditionExpressions must only contain one condition per key",
        ),
        (":s = a AND b = :n AND :s = c", "Conditions can be of length 1 or 2 only"),
        ("b = :n", "Query condition missed key schema element: a"),
        ("a = :s AND c = :n", "Query key condition not supported"),
        ("a > :s", "Query key condition not supported"),
        (
            "a = :n",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            "a = :s AND b = :s",
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ),
        (
            "a = :s AND b BETWEEN :m AND :n",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:9}, upper bound operand: AttributeValue: {N:1}",
        ),
        ("a > 4", r#"Invalid KeyConditionExpression: Syntax error; token: "4", near: "> 4""#),
    ];
    for (expression, expected) in cases {
        assert_eq!(key(expression), Err(expected.to_owned()), "{expression}");
    }
}
