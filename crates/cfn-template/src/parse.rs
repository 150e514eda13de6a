//! Template text → one JSON value: JSON or YAML, with YAML's short-form tags (`!Ref`,
//! `!GetAtt a.b`, `!Sub`, ...) rewritten to the long forms (`{"Ref": ..}`, `{"Fn::GetAtt": ..}`)
//! so everything after this module sees one shape. Syntax errors carry line and column in
//! CloudFormation's wording.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

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
        Yaml { parser: Parser::new_from_str(text), anchors: HashMap::new() }.document()?
    };
    if !value.is_object() {
        return Err(format_error("unsupported structure."));
    }
    Ok(value)
}

/// Builds JSON from the YAML event stream of the first document. Anchors and aliases are
/// expanded; merge keys (`<<`) are not applied (CloudFormation documents "hash merges" as
/// unsupported, so `<<` stays a literal key and fails where CloudFormation would); a repeated key
/// keeps its last value, as CloudFormation (and JSON parsing) accepts it.
struct Yaml<'a> {
    parser: Parser<std::str::Chars<'a>>,
    anchors: HashMap<usize, Value>,
}

impl Yaml<'_> {
    fn next(&mut self) -> Result<(Event, Marker)> {
        self.parser.next_token().map_err(|e| not_well_formed(e.marker()))
    }

    fn document(&mut self) -> Result<Value> {
        loop {
            match self.next()? {
                (Event::StreamStart | Event::DocumentStart | Event::Nothing, _) => {}
                (Event::StreamEnd | Event::DocumentEnd, _) => return Ok(Value::Null),
                (ev, mark) => return self.node(ev, mark),
            }
        }
    }

    fn node(&mut self, ev: Event, mark: Marker) -> Result<Value> {
        let (value, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let v = match tag {
                    None if style == TScalarStyle::Plain => plain_scalar(text),
                    None => Value::String(text),
                    Some(tag) => tagged(&tag, Value::String(text), mark)?,
                };
                (v, anchor)
            }
            Event::SequenceStart(anchor, tag) => {
                let mut items = Vec::new();
                loop {
                    match self.next()? {
                        (Event::SequenceEnd, _) => break,
                        (ev, m) => items.push(self.node(ev, m)?),
                    }
                }
                let v = Value::Array(items);
                (
                    match tag {
                        Some(tag) => tagged(&tag, v, mark)?,
                        None => v,
                    },
                    anchor,
                )
            }
            Event::MappingStart(anchor, tag) => {
                let mut map = Map::new();
                loop {
                    let key = match self.next()? {
                        (Event::MappingEnd, _) => break,
                        (Event::Scalar(text, ..), _) => text,
                        (_, m) => return Err(not_well_formed(&m)),
                    };
                    let (ev, m) = self.next()?;
                    let value = self.node(ev, m)?;
                    map.insert(key, value);
                }
                let v = Value::Object(map);
                (
                    match tag {
                        Some(tag) => tagged(&tag, v, mark)?,
                        None => v,
                    },
                    anchor,
                )
            }
            Event::Alias(id) => {
                return self.anchors.get(&id).cloned().ok_or_else(|| not_well_formed(&mark));
            }
            _ => return Err(not_well_formed(&mark)),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, value.clone());
        }
        Ok(value)
    }
}

/// CloudFormation's wording for a YAML syntax error, with the 1-based line and column.
fn not_well_formed(at: &Marker) -> crate::error::Error {
    format_error(format!("YAML not well-formed. (line {}, column {})", at.line(), at.col() + 1))
}

/// A plain (unquoted) scalar, resolved as CloudFormation's YAML 1.1 reader does: the 1.1
/// booleans (`yes`, `Off`, ...), nulls, decimal integers and floats. Anything else — including
/// dates (CloudFormation has no timestamp type) and numbers with leading zeros such as account
/// ids — stays text.
fn plain_scalar(text: String) -> Value {
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
    let integer = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if integer {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.trim_start_matches('+').parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if is_float(digits)
        && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text)
}

/// `1.5`, `.5`, `1.`, `1.5e3` (a dot is required, as in YAML 1.1), without a leading zero run.
fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let Some((int, frac)) = mantissa.split_once('.') else { return false };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    (!int.is_empty() || !frac.is_empty())
        && digits(int)
        && digits(frac)
        && (int.len() <= 1 || !int.starts_with('0'))
        && exponent_ok
}

/// A tagged node: the CloudFormation short forms (`!Ref`, ...) or a core YAML tag (`!!str`).
fn tagged(tag: &Tag, value: Value, at: Marker) -> Result<Value> {
    if tag.handle == "!" {
        return short_form(&tag.suffix, value);
    }
    match (tag.suffix.as_str(), value) {
        ("str", v) => Ok(v),
        ("int" | "float" | "bool" | "null", Value::String(s)) => Ok(plain_scalar(s)),
        ("map" | "seq", v) => Ok(v),
        _ => Err(format_error(format!(
            "YAML not well-formed. (unsupported tag {}{} at line {}, column {})",
            tag.handle,
            tag.suffix,
            at.line(),
            at.col() + 1
        ))),
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
        assert_eq!(v["Resources"]["R"]["Properties"]["Y"], json!(true));
        let merged =
            crate::Template::parse("Base: &b {Type: 'AWS::SQS::Queue'}\nResources:\n  R:\n    <<: *b\n");
        assert!(merged.is_err(), "merge keys are not applied");
        let p = &v["Resources"]["R"]["Properties"];
        assert_eq!(p, &json!({"N": 80, "F": 1.5, "T": true, "Y": true, "443": "port"}));
        assert_eq!(
            parse_document("- a\n").expect_err("list").to_string(),
            "Template format error: unsupported structure."
        );
        let err = parse_document("A: !Bogus x\n").expect_err("tag");
        assert_eq!(err.to_string(), "Template format error: YAML not well-formed. (unknown tag !Bogus)");
    }

    #[test]
    fn repeated_keys_keep_the_last_value() {
        let v = parse_document("Resources:\n  A: {Type: X}\n  A: {Type: Y}\n").expect("accepted");
        assert_eq!(v["Resources"]["A"]["Type"], json!("Y"));
    }

    #[test]
    fn yaml_1_1_scalars_as_cloudformation_reads_them() {
        let v = parse_document(
            "a: yes\nb: 'yes'\nc: Off\nd: \"on\"\ne: NO\nf: y\ng: 012345678901\nh: 0\ni: -42\nj: 1.50\nk: .5\nl: 1e5\nm: ~\nn:\no: 2010-09-09\np: !!str 12\nq: 0x1F\nr: 1_000\ns: |\n  yes\nt: 18446744073709551615\n",
        )
        .expect("parses");
        assert_eq!(
            v,
            json!({"a": true, "b": "yes", "c": false, "d": "on", "e": false, "f": "y", "g": "012345678901", "h": 0, "i": -42,
                   "j": 1.5, "k": 0.5, "l": "1e5", "m": null, "n": null, "o": "2010-09-09", "p": "12", "q": "0x1F", "r": "1_000",
                   "s": "yes\n", "t": 18446744073709551615u64})
        );
        let err = parse_document("a: !!binary aGk=\n").expect_err("binary");
        assert!(
            err.to_string().starts_with("Template format error: YAML not well-formed. (unsupported tag"),
            "{err}"
        );
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
