use serde_json::json;

use super::{item, value};
use crate::size::{MAX_ITEM_SIZE, check_item_size, item_size, value_size};
use crate::{AttributeValue, Error, Item, KeyAttribute, KeySchema, ScalarType, item_to_json};

fn refusal(json: serde_json::Value) -> String {
    AttributeValue::from_json(&json).expect_err("invalid").to_string()
}

#[test]
fn json_round_trip_normalizes_numbers() {
    let json = json!({
        "s": {"S": "x"}, "n": {"N": "01.50"}, "b": {"B": "AAEC"}, "t": {"BOOL": true}, "z": {"NULL": true},
        "m": {"M": {"k": {"L": [{"S": "a"}, {"N": "1e2"}]}}},
        "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2.0"]}, "bs": {"BS": ["YQ==", "Yg=="]}
    });
    let parsed = crate::item_from_json(&json).expect("valid");
    assert_eq!(parsed["b"], AttributeValue::B(vec![0, 1, 2]));
    let back = item_to_json(&parsed);
    assert_eq!(back["n"], json!({"N": "1.5"}));
    assert_eq!(back["m"], json!({"M": {"k": {"L": [{"S": "a"}, {"N": "100"}]}}}));
    assert_eq!(back["ns"], json!({"NS": ["1", "2"]}));
    assert_eq!(crate::item_from_json(&back).expect("valid"), parsed);
    // serde goes through the same forms.
    let via_serde: AttributeValue = serde_json::from_value(json!({"N": "1.0"})).expect("valid");
    assert_eq!(serde_json::to_value(&via_serde).expect("serializable"), json!({"N": "1"}));
}

#[test]
fn validation_messages() {
    let cases = [
        (json!({}), "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
        (
            json!({"S": null}),
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
        ),
        (
            json!({"S": "a", "N": "1"}),
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
        ),
        (json!({"S": "a", "N": "b"}), "The parameter cannot be converted to a numeric value: b"),
        (
            json!({"NULL": false}),
            "One or more parameter values were invalid: Null attribute value types must have the value of true",
        ),
        (json!({"SS": []}), "One or more parameter values were invalid: An string set  may not be empty"),
        (json!({"NS": []}), "One or more parameter values were invalid: An number set  may not be empty"),
        (json!({"BS": []}), "One or more parameter values were invalid: Binary sets should not be empty"),
        (
            json!({"SS": ["a", "a"]}),
            "One or more parameter values were invalid: Input collection [a, a] contains duplicates.",
        ),
        (
            json!({"BS": ["Yg==", "Yg=="]}),
            "One or more parameter values were invalid: Input collection [Yg==, Yg==]of type BS contains duplicates.",
        ),
        (json!({"NS": ["1", "1.0"]}), "Input collection contains duplicates"),
        (json!({"NS": ["1", ""]}), "The parameter cannot be converted to a numeric value"),
        (
            json!({"N": "1e126"}),
            "Number overflow. Attempting to store a number with magnitude larger than supported range",
        ),
        (json!({"S": 5}), "NUMBER_VALUE or BOOLEAN cannot be converted to String"),
        (json!({"L": {}}), "Start of structure or map found where not expected."),
    ];
    for (input, expected) in cases {
        assert_eq!(refusal(input.clone()), expected, "{input}");
    }
    assert_eq!(
        AttributeValue::from_json(&json!({"S": 5})).expect_err("bad").code(),
        "SerializationException"
    );
}

#[test]
fn nesting_limit() {
    let mut json = json!({"S": "leaf"});
    for _ in 0..32 {
        json = json!({"L": [json]});
    }
    assert!(AttributeValue::from_json(&json).is_ok());
    let deeper = json!({"M": {"x": json}});
    assert_eq!(refusal(deeper), "Nesting Levels have exceeded supported limits");
}

#[test]
fn sets_compare_as_sets() {
    assert_eq!(value(r#"{"SS": ["a", "b"]}"#), value(r#"{"SS": ["b", "a"]}"#));
    assert_ne!(value(r#"{"L": [{"S": "a"}, {"S": "b"}]}"#), value(r#"{"L": [{"S": "b"}, {"S": "a"}]}"#));
    assert_ne!(value(r#"{"S": "1"}"#), value(r#"{"N": "1"}"#));
}

#[test]
fn sizes_follow_the_documented_formula() {
    let cases = [
        (r#"{"S": "héllo"}"#, 6),
        (r#"{"B": "AAEC"}"#, 3),
        (r#"{"N": "1"}"#, 2),
        (r#"{"N": "12"}"#, 2),
        (r#"{"N": "123"}"#, 3),
        (r#"{"N": "1000"}"#, 2),
        (r#"{"N": "0"}"#, 2),
        (r#"{"BOOL": false}"#, 1),
        (r#"{"NULL": true}"#, 1),
        (r#"{"L": []}"#, 3),
        (r#"{"M": {}}"#, 3),
        (r#"{"L": [{"S": "ab"}, {"NULL": true}]}"#, 3 + 3 + 2),
        (r#"{"M": {"ab": {"S": "cd"}}}"#, 3 + 1 + 2 + 2),
        (r#"{"SS": ["a", "bc"]}"#, 3),
    ];
    for (json, size) in cases {
        assert_eq!(value_size(&value(json)), size, "{json}");
    }
    assert_eq!(item_size(&item(r#"{"pk": {"S": "abc"}, "n": {"N": "12"}}"#)), 2 + 3 + 1 + 2);
    let big: Item = [("a".to_owned(), AttributeValue::s("x".repeat(MAX_ITEM_SIZE - 1)))].into();
    assert_eq!(check_item_size(&big, false), Ok(()));
    let too_big: Item = [("ab".to_owned(), AttributeValue::s("x".repeat(MAX_ITEM_SIZE - 1)))].into();
    assert_eq!(check_item_size(&too_big, false), Err(Error::ItemTooLarge));
    assert_eq!(check_item_size(&too_big, true), Err(Error::UpdatedItemTooLarge));
}

#[test]
fn key_checks() {
    let schema =
        KeySchema::new(KeyAttribute::new("pk", ScalarType::S), Some(KeyAttribute::new("sk", ScalarType::N)));
    assert_eq!(schema.check_item(&item(r#"{"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": ""}}"#)), Ok(()));
    let refusals = [
        (
            r#"{"pk": {"S": "a"}}"#,
            "One or more parameter values were invalid: Missing the key sk in the item",
        ),
        (
            r#"{"pk": {"N": "1"}, "sk": {"N": "1"}}"#,
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            r#"{"pk": {"S": ""}, "sk": {"N": "1"}}"#,
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
        ),
    ];
    for (json, message) in refusals {
        assert_eq!(schema.check_item(&item(json)).expect_err("refused").to_string(), message, "{json}");
    }
    let long_pk: Item =
        [("pk".to_owned(), AttributeValue::s("x".repeat(2049))), ("sk".to_owned(), AttributeValue::n("1"))]
            .into();
    assert_eq!(schema.check_item(&long_pk), Err(Error::HashKeyTooLarge));
    let bin =
        KeySchema::new(KeyAttribute::new("pk", ScalarType::S), Some(KeyAttribute::new("sk", ScalarType::B)));
    let long_sk: Item =
        [("pk".to_owned(), AttributeValue::s("p")), ("sk".to_owned(), AttributeValue::B(vec![0; 1025]))]
            .into();
    assert_eq!(bin.check_item(&long_sk), Err(Error::RangeKeyTooLarge));
    assert_eq!(schema.check_key(&item(r#"{"pk": {"S": "a"}}"#)), Err(Error::KeyDoesNotMatchSchema));
    assert_eq!(
        schema.check_key(&item(r#"{"pk": {"S": "a"}, "sk": {"S": "1"}}"#)),
        Err(Error::KeyDoesNotMatchSchema)
    );
    assert_eq!(
        schema.key_of(&item(r#"{"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}}"#)),
        Some(item(r#"{"pk": {"S": "a"}, "sk": {"N": "1"}}"#))
    );
}
