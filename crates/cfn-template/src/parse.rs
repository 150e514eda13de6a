//! Template text → one JSON value: JSON or YAML, with YAML's short-form tags (`!Ref`,
//! `!GetAtt a.b`, `!Sub`, ...) rewritten to the long forms (`{"Ref": ..}`, `{"Fn::GetAtt": ..}`)
//! so everything after this module sees one shape. Syntax errors carry line and column in
//! CloudFormation's wording.

use serde_json::{Map, Number, Value};
use serde_yaml_ng::Value as Yaml;

use crate::error::{Result, format_error, invalid};

/// The largest template CloudFormation accepts (from S3; a TemplateBody is capped lower by the
/// API layer, which is not this crate's concern).
pub const MAX_TEMPLATE_BYTES: usize = 1_000_000;

/// Tags that map to `Fn::{tag}`.
const FN_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "If",
    "Equals",
    "And",
    "Or",
    "Not",
    "Length",
    "ToJsonString",
];

/// Parses a template body (JSON or YAML) into a JSON object. JSON is recognised the way
/// CloudFormation does: the first non-blank character is `{`.
pub fn parse_document(text: &str) -> Result<Value> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(invalid(format!("Template may not exceed {MAX_TEMPLATE_BYTES} bytes in size.")));
    }
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Value>(text).map_err(|e| {
            format_error(format!("JSON not well-formed. (line {}, column {})", e.line(), e.column()))
        })?
    } else {
        // Anchors and aliases are expanded by the parser. Merge keys (`<<: *anchor`) are not
        // applied: CloudFormation documents "hash merges" as unsupported, so `<<` stays a
        // literal key and fails where CloudFormation would.
        let yaml: Yaml = serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
            Some(at) => {
                format_error(format!("YAML not well-formed. (line {}, column {})", at.line(), at.column()))
            }
            None => format_error(format!("YAML not well-formed. ({e})")),
        })?;
        yaml_to_json(yaml)?
    };
    if !value.is_object() {
        return Err(format_error("unsupported structure."));
    }
    Ok(value)
}

fn yaml_to_json(yaml: Yaml) -> Result<Value> {
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => yaml_number(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect::<Result<_>>()?),
        Yaml::Mapping(mapping) => {
            let mut out = Map::new();
            for (k, v) in mapping {
                out.insert(scalar_key(k)?, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!').to_owned();
            let inner = yaml_to_json(tagged.value)?;
            short_form(&name, inner)?
        }
    })
}

fn yaml_number(n: &serde_yaml_ng::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        // NaN and infinities have no JSON spelling; CloudFormation would treat them as text.
        n.as_f64().and_then(Number::from_f64).map_or_else(|| Value::String(n.to_string()), Value::Number)
    }
}

/// Mapping keys become strings, as they do when CloudFormation reads YAML (`80: x` → `"80"`).
fn scalar_key(key: Yaml) -> Result<String> {
    match key {
        Yaml::String(s) => Ok(s),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Null => Ok("null".to_owned()),
        _ => Err(format_error("YAML not well-formed. (mapping keys must be scalars)")),
    }
}

/// `!Tag value` → its long form.
fn short_form(tag: &str, value: Value) -> Result<Value> {
    let long = match tag {
        "Ref" => "Ref".to_owned(),
        "Condition" => "Condition".to_owned(),
        "GetAtt" => {
            // `!GetAtt a.b.c` splits at the first dot: resource `a`, attribute `b.c`
            // (nested-stack outputs are `Outputs.Name`).
            let value = match value {
                Value::String(s) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.to_owned()),
                        Value::String(attribute.to_owned()),
                    ]),
                    None => Value::String(s),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", value));
        }
        t if FN_TAGS.contains(&t) => format!("Fn::{t}"),
        other => return Err(format_error(format!("YAML not well-formed. (unknown tag !{other})"))),
    };
    Ok(single(&long, value))
}

pub(crate) fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), value);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let v = parse_document(
            "Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref P\n      G1: !GetAtt B.Arn\n      G2: !GetAtt [B, Arn]\n      G3: !GetAtt S.Outputs.Url\n      S1: !Sub 'x-${P}'\n      S2: !Sub ['${a}', {a: !Ref P}]\n      J: !Join [',', [a, !Select [0, !Split [',', 'x,y']]]]\n      I: !If [C, !Base64 abc, !Ref 'AWS::NoValue']\n      C: !Cidr [10.0.0.0/16, 2, 8]\n      Z: !GetAZs ''\n      M: !FindInMap [M, a, b]\n      V: !ImportValue E\nConditions:\n  C: !And [!Equals [a, b], !Not [!Condition D], !Or [!Condition D, !Condition D]]\n",
        )
        .expect("parses");
        let p = &v["Resources"]["A"]["Properties"];
        assert_eq!(p["R"], json!({"Ref": "P"}));
        assert_eq!(p["G1"], json!({"Fn::GetAtt": ["B", "Arn"]}));
        assert_eq!(p["G2"], json!({"Fn::GetAtt": ["B", "Arn"]}));
        assert_eq!(p["G3"], json!({"Fn::GetAtt": ["S", "Outputs.Url"]}));
        assert_eq!(p["S1"], json!({"Fn::Sub": "x-${P}"}));
        assert_eq!(p["S2"], json!({"Fn::Sub": ["${a}", {"a": {"Ref": "P"}}]}));
        assert_eq!(
            p["J"],
            json!({"Fn::Join": [",", ["a", {"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]}]]})
        );
        assert_eq!(p["I"], json!({"Fn::If": ["C", {"Fn::Base64": "abc"}, {"Ref": "AWS::NoValue"}]}));
        assert_eq!(p["C"], json!({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}));
        assert_eq!(p["Z"], json!({"Fn::GetAZs": ""}));
        assert_eq!(p["M"], json!({"Fn::FindInMap": ["M", "a", "b"]}));
        assert_eq!(p["V"], json!({"Fn::ImportValue": "E"}));
        assert_eq!(
            v["Conditions"]["C"],
            json!({"Fn::And": [{"Fn::Equals": ["a", "b"]}, {"Fn::Not": [{"Condition": "D"}]}, {"Fn::Or": [{"Condition": "D"}, {"Condition": "D"}]}]})
        );
    }

    #[test]
    fn yaml_errors_carry_line_and_column() {
        let err = parse_document("Resources:\n  A:\n    Type: [x\n").expect_err("bad");
        assert!(err.to_string().starts_with("Template format error: YAML not well-formed. (line "), "{err}");
        let err = parse_document("a: b\n  c: d\n").expect_err("bad");
        assert_eq!(err.to_string(), "Template format error: YAML not well-formed. (line 2, column 4)");
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = parse_document("{\n  \"Resources\": {,\n}").expect_err("bad");
        assert_eq!(err.to_string(), "Template format error: JSON not well-formed. (line 2, column 17)");
    }

    #[test]
    fn scalars_anchors_dates_and_non_objects() {
        let v = parse_document(
            "AWSTemplateFormatVersion: 2010-09-09\nBase: &b {Type: 'AWS::SQS::Queue'}\nResources:\n  Q: *b\n  R:\n    <<: *b\n    Properties: {N: 80, F: 1.5, T: true, Y: yes, 443: port}\n",
        )
        .expect("parses");
        assert_eq!(v["AWSTemplateFormatVersion"], json!("2010-09-09"));
        assert_eq!(v["Resources"]["Q"], json!({"Type": "AWS::SQS::Queue"}));
        assert_eq!(v["Resources"]["R"]["<<"], json!({"Type": "AWS::SQS::Queue"}));
        let merged =
            crate::Template::parse("Base: &b {Type: 'AWS::SQS::Queue'}\nResources:\n  R:\n    <<: *b\n");
        assert!(merged.is_err(), "merge keys are not applied");
        let p = &v["Resources"]["R"]["Properties"];
        assert_eq!(p, &json!({"N": 80, "F": 1.5, "T": true, "Y": "yes", "443": "port"}));
        assert_eq!(
            parse_document("- a\n").expect_err("list").to_string(),
            "Template format error: unsupported structure."
        );
        let err = parse_document("A: !Bogus x\n").expect_err("tag");
        assert_eq!(err.to_string(), "Template format error: YAML not well-formed. (unknown tag !Bogus)");
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_position() {
        let err = parse_document("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n").expect_err("duplicate");
        assert!(err.to_string().starts_with("Template format error: YAML not well-formed."), "{err}");
    }

    #[test]
    fn size_limit() {
        let big = format!("Description: '{}'\n", "x".repeat(MAX_TEMPLATE_BYTES));
        assert_eq!(
            parse_document(&big).expect_err("big").to_string(),
            "Template may not exceed 1000000 bytes in size."
        );
    }
}
