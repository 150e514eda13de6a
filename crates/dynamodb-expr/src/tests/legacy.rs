use std::collections::BTreeMap;

use serde_json::json;

use super::item;
use crate::legacy::{
    self, AttributeValueUpdate, ConditionalOperator, ExpectedAttributeValue, LegacyCondition,
};
use crate::{Error, KeyAttribute, KeySchema, ScalarType};

fn map<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> BTreeMap<String, T> {
    serde_json::from_value(json).expect("test JSON")
}

fn expected(json: serde_json::Value, op: Option<ConditionalOperator>) -> Result<bool, String> {
    let doc = item(r#"{"a": {"N": "1"}, "s": {"S": "abc"}, "ss": {"SS": ["x"]}}"#);
    let entries: BTreeMap<String, ExpectedAttributeValue> = map(json);
    legacy::expected(&entries, op).map(|c| c.is_none_or(|c| c.evaluate(&doc))).map_err(|e| e.to_string())
}

#[test]
fn expected_translation() {
    let cases = [
        (json!({"a": {"Value": {"N": "1"}}}), true),
        (json!({"a": {"Value": {"N": "2"}}}), false),
        (json!({"a": {"Exists": true, "Value": {"N": "1"}}}), true),
        (json!({"z": {"Exists": false}}), true),
        (json!({"a": {"Exists": false}}), false),
        (json!({"a": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "0"}]}}), true),
        (json!({"a": {"ComparisonOperator": "NE", "Value": {"N": "0"}}}), true),
        (json!({"z": {"ComparisonOperator": "NE", "Value": {"N": "0"}}}), true),
        (json!({"z": {"ComparisonOperator": "NOT_CONTAINS", "Value": {"S": "q"}}}), false),
        (json!({"s": {"ComparisonOperator": "NOT_CONTAINS", "Value": {"S": "q"}}}), true),
        (json!({"ss": {"ComparisonOperator": "CONTAINS", "Value": {"S": "x"}}}), true),
        (json!({"a": {"ComparisonOperator": "NOT_NULL"}, "z": {"ComparisonOperator": "NULL"}}), true),
        (json!({"s": {"ComparisonOperator": "BEGINS_WITH", "Value": {"S": "ab"}}}), true),
        (json!({"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "3"}, {"N": "1"}]}}), true),
        (
            json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "0"}, {"N": "1"}]}}),
            true,
        ),
        (json!({}), true),
    ];
    for (json, result) in cases {
        assert_eq!(expected(json.clone(), None), Ok(result), "{json}");
    }
    let either = json!({"a": {"Value": {"N": "2"}}, "s": {"Value": {"S": "abc"}}});
    assert_eq!(expected(either.clone(), None), Ok(false));
    assert_eq!(expected(either, Some(ConditionalOperator::Or)), Ok(true));
}

#[test]
fn expected_refusals() {
    let prefix = "One or more parameter values were invalid: ";
    let cases = [
        (
            json!({"a": {"Exists": true, "ComparisonOperator": "EQ", "Value": {"N": "1"}}}),
            "Exists and ComparisonOperator cannot be used together for Attribute: a",
        ),
        (
            json!({"a": {"ComparisonOperator": "EQ", "Value": {"N": "1"}, "AttributeValueList": []}}),
            "Value and AttributeValueList cannot be used together for Attribute: a",
        ),
        (
            json!({"a": {"AttributeValueList": []}}),
            "AttributeValueList can only be used with a ComparisonOperator for Attribute: a",
        ),
        (json!({"a": {}}), "Value must be provided when Exists is null for Attribute: a"),
        (json!({"a": {"Exists": true}}), "Value must be provided when Exists is true for Attribute: a"),
        (
            json!({"a": {"Exists": false, "Value": {"N": "1"}}}),
            "Value cannot be used when Exists is false for Attribute: a",
        ),
        (
            json!({"a": {"ComparisonOperator": "EQ"}}),
            "Invalid number of argument(s) for the EQ ComparisonOperator",
        ),
        (
            json!({"a": {"ComparisonOperator": "NULL", "Value": {"N": "1"}}}),
            "Invalid number of argument(s) for the NULL ComparisonOperator",
        ),
        (
            json!({"a": {"ComparisonOperator": "LT", "Value": {"BOOL": true}}}),
            "ComparisonOperator LT is not valid for BOOL AttributeValue type",
        ),
        (
            json!({"a": {"ComparisonOperator": "CONTAINS", "Value": {"SS": ["a"]}}}),
            "ComparisonOperator CONTAINS is not valid for SS AttributeValue type",
        ),
        (
            json!({"a": {"ComparisonOperator": "BEGINS_WITH", "Value": {"N": "1"}}}),
            "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
        ),
        (
            json!({"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "b"}, {"N": "1"}]}}),
            "AttributeValues inside AttributeValueList must be of same type",
        ),
    ];
    for (json, message) in cases {
        assert_eq!(expected(json.clone(), None), Err(format!("{prefix}{message}")), "{json}");
    }
    assert_eq!(
        expected(
            json!({"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "b"}, {"S": "a"}]}}),
            None
        ),
        Err(Error::LegacyBetweenOrder.to_string())
    );
}

#[test]
fn filters_and_key_conditions() {
    let filter: BTreeMap<String, LegacyCondition> =
        map(json!({"s": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "b"}]}}));
    let condition = legacy::filter(&filter, None).expect("valid").expect("one condition");
    assert!(condition.evaluate(&item(r#"{"s": {"S": "abc"}}"#)));

    let schema =
        KeySchema::new(KeyAttribute::new("a", ScalarType::S), Some(KeyAttribute::new("b", ScalarType::N)));
    let key =
        |json: serde_json::Value| legacy::key_conditions(&map(json), &schema).map_err(|e| e.to_string());
    let ok = key(json!({"a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]},
                        "b": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "3"}]}}))
    .expect("valid");
    assert!(ok.matches(&item(r#"{"a": {"S": "x"}, "b": {"N": "2"}}"#)));
    assert!(!ok.matches(&item(r#"{"a": {"S": "x"}, "b": {"N": "4"}}"#)));
    let refusals = [
        (json!({}), "Conditions can be of length 1 or 2 only"),
        (
            json!({"a": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "x"}]}}),
            "Attempted conditional constraint is not an indexable operation",
        ),
        (
            json!({"b": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}}),
            "Query condition missed key schema element: a",
        ),
        (
            json!({"a": {"ComparisonOperator": "EQ"}}),
            "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator",
        ),
    ];
    for (json, message) in refusals {
        assert_eq!(key(json.clone()), Err(message.to_owned()), "{json}");
    }
}

#[test]
fn attribute_updates() {
    let updates: BTreeMap<String, AttributeValueUpdate> = map(json!({
        "put": {"Value": {"S": "x"}},
        "gone": {"Action": "DELETE"},
        "n": {"Action": "ADD", "Value": {"N": "2"}},
        "l": {"Action": "ADD", "Value": {"L": [{"S": "b"}]}},
        "fresh": {"Action": "ADD", "Value": {"L": [{"S": "c"}]}},
        "ss": {"Action": "DELETE", "Value": {"SS": ["a"]}}
    }));
    let update = legacy::attribute_updates(&updates).expect("valid");
    let before =
        item(r#"{"gone": {"N": "1"}, "n": {"N": "1"}, "l": {"L": [{"S": "a"}]}, "ss": {"SS": ["a", "b"]}}"#);
    let after = update.apply(&before).expect("applies").item;
    assert_eq!(
        after,
        item(
            r#"{"put": {"S": "x"}, "n": {"N": "3"}, "l": {"L": [{"S": "a"}, {"S": "b"}]}, "fresh": {"L": [{"S": "c"}]}, "ss": {"SS": ["b"]}}"#
        )
    );
    let refuse =
        |json: serde_json::Value| legacy::attribute_updates(&map(json)).expect_err("invalid").to_string();
    assert_eq!(
        refuse(json!({"a": {"Action": "PUT"}})),
        "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"
    );
    assert_eq!(
        refuse(json!({"a": {"Action": "ADD", "Value": {"S": "x"}}})),
        "One or more parameter values were invalid: ADD action is not supported for the type S"
    );
}

#[test]
fn mixing_rules() {
    assert_eq!(legacy::check_not_mixed(&[], &["ConditionExpression"]), Ok(()));
    assert_eq!(
        legacy::check_not_mixed(&["QueryFilter"], &["KeyConditionExpression"])
            .expect_err("mixed")
            .to_string(),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {QueryFilter} Expression parameters: {KeyConditionExpression}"
    );
    let update_params = [("UpdateExpression", false), ("ConditionExpression", false)];
    assert_eq!(
        legacy::check_placeholders_need_expressions(true, false, &update_params)
            .expect_err("no expr")
            .to_string(),
        "ExpressionAttributeNames can only be specified when using expressions"
    );
    assert_eq!(
        legacy::check_placeholders_need_expressions(false, true, &update_params)
            .expect_err("no expr")
            .to_string(),
        "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression is null"
    );
    assert_eq!(
        legacy::check_placeholders_need_expressions(true, true, &[("ConditionExpression", true)]),
        Ok(())
    );
    assert_eq!(
        legacy::attributes_to_get(&["a".into(), "a".into()]).expect_err("dup").to_string(),
        "One or more parameter values were invalid: Duplicate value in attribute name: a"
    );
}
