//! Intrinsic functions: `resolve(value, &dyn Context)` replaces every `Ref`, `Fn::*` and
//! `Condition` in a value by what it stands for, with CloudFormation's error texts.
//! `AWS::NoValue` (directly or from `Fn::If`) removes the property or list element it is in.

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{Error, Result, format_error, template_error};
use crate::template::scalar_text;

/// Keys that make a one-key object an intrinsic function.
pub const INTRINSICS: &[&str] = &[
    "Ref",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::ImportValue",
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::Transform",
    "Fn::Length",
    "Fn::ToJsonString",
    "Fn::Contains",
    "Fn::EachMemberEquals",
    "Fn::EachMemberIn",
    "Fn::RefAll",
    "Fn::ValueOf",
    "Fn::ValueOfAll",
];

/// What resolution needs to know: the stack's parameters and conditions, and what exists so far.
pub trait Context {
    /// `Ref` of a parameter or pseudo parameter (not `AWS::NoValue`), if it is one.
    fn parameter(&self, name: &str) -> Option<Value>;
    /// The evaluated value of a condition; an unknown name is an error.
    fn condition(&self, name: &str) -> Result<bool>;
    /// One top-level map of `Mappings`.
    fn mapping(&self, name: &str) -> Option<Value>;
    /// `Ref` of a resource (its physical id, or what its type returns for `Ref`).
    fn resource_ref(&self, logical_id: &str) -> Result<Value>;
    /// `Fn::GetAtt` of a resource.
    fn resource_attribute(&self, logical_id: &str, attribute: &str) -> Result<Value>;
    /// The value of another stack's export, for `Fn::ImportValue`.
    fn export(&self, name: &str) -> Option<Value>;
}

/// Resolves a value; a top-level `AWS::NoValue` becomes `null`.
pub fn resolve(value: &Value, ctx: &dyn Context) -> Result<Value> {
    Ok(resolve_opt(value, ctx)?.unwrap_or(Value::Null))
}

/// If `v` is an intrinsic function call, its name and argument.
pub fn as_intrinsic(v: &Value) -> Option<(&str, &Value)> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    let (k, arg) = obj.iter().next()?;
    if INTRINSICS.contains(&k.as_str()) || (k == "Condition" && arg.is_string()) {
        Some((k.as_str(), arg))
    } else {
        None
    }
}

/// Resolves a value; `None` means `AWS::NoValue` (the enclosing property is removed).
pub fn resolve_opt(value: &Value, ctx: &dyn Context) -> Result<Option<Value>> {
    if let Some((name, arg)) = as_intrinsic(value) {
        return call(name, arg, ctx);
    }
    Ok(Some(match value {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                if let Some(v) = resolve_opt(v, ctx)? {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for v in items {
                if let Some(v) = resolve_opt(v, ctx)? {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        other => other.clone(),
    }))
}

fn call(name: &str, arg: &Value, ctx: &dyn Context) -> Result<Option<Value>> {
    let v = match name {
        "Ref" => return reference(arg, ctx),
        "Condition" => Value::Bool(ctx.condition(&scalar_text(arg))?),
        "Fn::GetAtt" => get_att(arg, ctx)?,
        "Fn::Sub" => Value::String(sub(arg, ctx)?),
        "Fn::Join" => join(arg, ctx)?,
        "Fn::Select" => select(arg, ctx)?,
        "Fn::Split" => split(arg, ctx)?,
        "Fn::If" => return if_(arg, ctx),
        "Fn::Equals" => equals(arg, ctx)?,
        "Fn::And" | "Fn::Or" => and_or(name, arg, ctx)?,
        "Fn::Not" => not(arg, ctx)?,
        "Fn::FindInMap" => find_in_map(arg, ctx)?,
        "Fn::GetAZs" => get_azs(arg, ctx)?,
        "Fn::ImportValue" => {
            let export = text_of(&resolve(arg, ctx)?)
                .ok_or_else(|| template_error("Fn::ImportValue requires a string export name"))?;
            ctx.export(&export)
                .ok_or_else(|| crate::error::invalid(format!("No export named {export} found.")))?
        }
        "Fn::Base64" => {
            let text = text_of(&resolve(arg, ctx)?)
                .ok_or_else(|| template_error("every Fn::Base64 object requires a string parameter"))?;
            Value::String(base64::engine::general_purpose::STANDARD.encode(text))
        }
        "Fn::Cidr" => cidr(arg, ctx)?,
        "Fn::Length" => match resolve(arg, ctx)? {
            Value::Array(items) => Value::from(items.len()),
            _ => return Err(template_error("Fn::Length requires a list")),
        },
        "Fn::ToJsonString" => Value::String(resolve(arg, ctx)?.to_string()),
        "Fn::Contains" | "Fn::EachMemberEquals" | "Fn::EachMemberIn" => {
            Value::Bool(membership(name, arg, ctx)?)
        }
        // Macros run in Lambda functions of the caller's account; Nimbus has no macro registry.
        _ => return Err(Error::NotImplemented(format!("{name} is not supported by Nimbus yet"))),
    };
    Ok(Some(v))
}

/// The Rules functions over lists: `Fn::Contains [list, x]`, `Fn::EachMemberEquals [list, x]`,
/// `Fn::EachMemberIn [list, list]`; values compare as text.
fn membership(name: &str, arg: &Value, ctx: &dyn Context) -> Result<bool> {
    let bad = || template_error(format!("every {name} object requires two parameters"));
    let Value::Array(items) = arg else { return Err(bad()) };
    let [a, b] = items.as_slice() else { return Err(bad()) };
    let texts = |v: Value| -> Vec<Option<String>> {
        match v {
            Value::Array(items) => items.iter().map(text_of).collect(),
            other => vec![text_of(&other)],
        }
    };
    let (list, other) = (texts(resolve(a, ctx)?), resolve(b, ctx)?);
    Ok(match name {
        "Fn::Contains" => list.contains(&text_of(&other)),
        "Fn::EachMemberEquals" => list.iter().all(|x| *x == text_of(&other)),
        _ => {
            let allowed = texts(other);
            list.iter().all(|x| allowed.contains(x))
        }
    })
}

fn reference(arg: &Value, ctx: &dyn Context) -> Result<Option<Value>> {
    let Value::String(name) = arg else {
        return Err(template_error("Unsupported structure in Ref: the argument must be a string"));
    };
    if name == "AWS::NoValue" {
        return Ok(None);
    }
    if let Some(v) = ctx.parameter(name) {
        return Ok(Some(v));
    }
    ctx.resource_ref(name).map(Some)
}

/// `[resource, attribute]` of a `Fn::GetAtt` (list or `"a.b"` string form).
pub fn get_att_parts(arg: &Value) -> Option<(String, Value)> {
    match arg {
        Value::Array(items) if items.len() == 2 => match &items[0] {
            Value::String(r) if !r.is_empty() => Some((r.clone(), items[1].clone())),
            _ => None,
        },
        Value::String(s) => {
            let (r, a) = s.split_once('.')?;
            (!r.is_empty() && !a.is_empty()).then(|| (r.to_owned(), Value::String(a.to_owned())))
        }
        _ => None,
    }
}

fn get_att(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let bad = || {
        template_error(
            "every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute",
        )
    };
    let (resource, attribute) = get_att_parts(arg).ok_or_else(bad)?;
    let attribute = text_of(&resolve(&attribute, ctx)?).filter(|a| !a.is_empty()).ok_or_else(bad)?;
    ctx.resource_attribute(&resource, &attribute)
}

/// A piece of an `Fn::Sub` string.
#[derive(Debug, PartialEq, Eq)]
pub enum SubPart<'a> {
    Text(&'a str),
    /// `${!Literal}`: written out as `${Literal}`.
    Literal(&'a str),
    /// `${Name}` or `${Resource.Attribute}`.
    Var(&'a str),
}

/// Splits an `Fn::Sub` template into text and variables.
pub fn sub_parts(template: &str) -> Vec<SubPart<'_>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else { break };
        if start > 0 {
            parts.push(SubPart::Text(&rest[..start]));
        }
        let inner = &rest[start + 2..start + 2 + len];
        match inner.strip_prefix('!') {
            Some(lit) => parts.push(SubPart::Literal(lit)),
            None => parts.push(SubPart::Var(inner.trim())),
        }
        rest = &rest[start + 3 + len..];
    }
    if !rest.is_empty() {
        parts.push(SubPart::Text(rest));
    }
    parts
}

fn sub(arg: &Value, ctx: &dyn Context) -> Result<String> {
    let (template, vars) = match arg {
        Value::String(s) => (s.as_str(), None),
        Value::Array(items) if items.len() == 2 => match (&items[0], &items[1]) {
            (Value::String(s), Value::Object(vars)) => (s.as_str(), Some(vars)),
            _ => return Err(sub_shape()),
        },
        _ => return Err(sub_shape()),
    };
    let mut out = String::with_capacity(template.len());
    for part in sub_parts(template) {
        match part {
            SubPart::Text(t) => out.push_str(t),
            SubPart::Literal(l) => {
                out.push_str("${");
                out.push_str(l);
                out.push('}');
            }
            SubPart::Var(name) => {
                let value = if let Some(v) = vars.and_then(|vars| vars.get(name)) {
                    resolve(v, ctx)?
                } else if let Some(v) = ctx.parameter(name) {
                    v
                } else if let Some((resource, attribute)) = name.split_once('.') {
                    ctx.resource_attribute(resource, attribute)?
                } else {
                    ctx.resource_ref(name)?
                };
                let text = text_of(&value).ok_or_else(|| {
                    template_error(format!(
                        "variable {name} in Fn::Sub expression does not resolve to a string"
                    ))
                })?;
                out.push_str(&text);
            }
        }
    }
    Ok(out)
}

fn sub_shape() -> Error {
    template_error(
        "One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify a string as first argument, and an optional second argument to specify a mapping of values to replace in the string",
    )
}

fn join(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let bad = || {
        template_error(
            "every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.",
        )
    };
    let Value::Array(items) = arg else { return Err(bad()) };
    if items.len() != 2 {
        return Err(bad());
    }
    let delimiter = text_of(&resolve(&items[0], ctx)?).ok_or_else(bad)?;
    let Value::Array(list) = resolve(&items[1], ctx)? else { return Err(bad()) };
    let parts: Option<Vec<String>> = list.iter().map(text_of).collect();
    Ok(Value::String(parts.ok_or_else(bad)?.join(&delimiter)))
}

fn select(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let bad = || {
        template_error(
            "every Fn::Select object requires two parameters, (1) an index and (2) a list or a function that returns a list",
        )
    };
    let Value::Array(items) = arg else { return Err(bad()) };
    if items.len() != 2 {
        return Err(bad());
    }
    let index = text_of(&resolve(&items[0], ctx)?).ok_or_else(bad)?;
    let index: i64 =
        index.trim().parse().map_err(|_| template_error("Fn::Select requires an integer index"))?;
    let Value::Array(list) = resolve(&items[1], ctx)? else { return Err(bad()) };
    usize::try_from(index)
        .ok()
        .and_then(|i| list.get(i).cloned())
        .ok_or_else(|| template_error(format!("Fn::Select cannot select nonexistent value at index {index}")))
}

fn split(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let bad = || {
        template_error(
            "every Fn::Split object requires two parameters, (1) a string delimiter and (2) a string to be split or a function that returns a string to be split.",
        )
    };
    let Value::Array(items) = arg else { return Err(bad()) };
    if items.len() != 2 {
        return Err(bad());
    }
    let delimiter = text_of(&resolve(&items[0], ctx)?).filter(|d| !d.is_empty()).ok_or_else(bad)?;
    let source = text_of(&resolve(&items[1], ctx)?).ok_or_else(bad)?;
    Ok(Value::Array(source.split(delimiter.as_str()).map(|s| Value::String(s.to_owned())).collect()))
}

fn if_(arg: &Value, ctx: &dyn Context) -> Result<Option<Value>> {
    let Value::Array(items) = arg else {
        return Err(template_error(
            "Fn::If requires a list argument with three elements: a condition name, a value if true and a value if false",
        ));
    };
    let [cond, yes, no] = items.as_slice() else {
        return Err(template_error(
            "Fn::If requires a list argument with three elements: a condition name, a value if true and a value if false",
        ));
    };
    let name = scalar_text(cond);
    // Only the branch taken is resolved: the other may name resources that do not exist.
    let taken = if ctx.condition(&name)? { yes } else { no };
    resolve_opt(taken, ctx)
}

fn equals(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let Value::Array(items) = arg else {
        return Err(template_error("Fn::Equals requires a list of two values"));
    };
    let [a, b] = items.as_slice() else {
        return Err(template_error("Fn::Equals requires a list of two values"));
    };
    let (a, b) = (resolve(a, ctx)?, resolve(b, ctx)?);
    // CloudFormation compares scalars as text: `!Equals [true, "true"]` holds.
    let same = match (text_of(&a), text_of(&b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    };
    Ok(Value::Bool(same))
}

fn boolean(v: &Value, function: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        _ => Err(template_error(format!("every {function} member must be a condition or a boolean"))),
    }
}

fn and_or(name: &str, arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let Value::Array(items) = arg else {
        return Err(template_error(format!("every {name} object requires a list of 2 to 10 conditions")));
    };
    if !(2..=10).contains(&items.len()) {
        return Err(template_error(format!("every {name} object requires a list of 2 to 10 conditions")));
    }
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        values.push(boolean(&resolve(item, ctx)?, name)?);
    }
    Ok(Value::Bool(if name == "Fn::And" { values.iter().all(|b| *b) } else { values.iter().any(|b| *b) }))
}

fn not(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    match arg {
        Value::Array(items) if items.len() == 1 => {
            Ok(Value::Bool(!boolean(&resolve(&items[0], ctx)?, "Fn::Not")?))
        }
        _ => Err(template_error("Fn::Not requires a list argument with one condition")),
    }
}

fn find_in_map(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let bad = || {
        template_error(
            "every Fn::FindInMap object requires three parameters, the map name, map key and the attribute for return value",
        )
    };
    let Value::Array(items) = arg else { return Err(bad()) };
    if items.len() != 3 {
        return Err(bad());
    }
    let mut keys = Vec::with_capacity(3);
    for item in items {
        keys.push(text_of(&resolve(item, ctx)?).ok_or_else(bad)?);
    }
    let map = ctx.mapping(&keys[0]).ok_or_else(|| {
        template_error(format!(
            "Mapping named '{}' is not present in the 'Mappings' section of template.",
            keys[0]
        ))
    })?;
    map.get(&keys[1]).and_then(|second| second.get(&keys[2])).cloned().ok_or_else(|| {
        template_error(format!("Unable to get mapping for {}::{}::{}", keys[0], keys[1], keys[2]))
    })
}

fn get_azs(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let region = match text_of(&resolve(arg, ctx)?) {
        Some(r) if !r.is_empty() => r,
        _ => ctx.parameter("AWS::Region").as_ref().and_then(text_of).unwrap_or_default(),
    };
    // One machine, three pretend zones: enough for templates that pick `!Select [0, !GetAZs '']`.
    Ok(Value::Array(["a", "b", "c"].iter().map(|z| Value::String(format!("{region}{z}"))).collect()))
}

fn cidr(arg: &Value, ctx: &dyn Context) -> Result<Value> {
    let bad = || {
        template_error(
            "every Fn::Cidr object requires three parameters, (1) an ipBlock, (2) a count and (3) cidrBits",
        )
    };
    let Value::Array(items) = arg else { return Err(bad()) };
    if items.len() != 3 {
        return Err(bad());
    }
    let mut texts = Vec::with_capacity(3);
    for item in items {
        texts.push(text_of(&resolve(item, ctx)?).ok_or_else(bad)?);
    }
    let count: u32 = texts[1].trim().parse().map_err(|_| bad())?;
    let bits: u32 = texts[2].trim().parse().map_err(|_| bad())?;
    Ok(Value::Array(cidr_blocks(&texts[0], count, bits)?.into_iter().map(Value::String).collect()))
}

/// `count` consecutive subnets with `bits` host bits each, from the start of `block`.
pub fn cidr_blocks(block: &str, count: u32, bits: u32) -> Result<Vec<String>> {
    let invalid = || template_error(format!("Fn::Cidr: invalid ipBlock {block}"));
    let (addr, prefix) = block.split_once('/').ok_or_else(invalid)?;
    let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
    let (start, width, v6) = if let Ok(a) = addr.parse::<Ipv4Addr>() {
        (u128::from(u32::from(a)), 32u32, false)
    } else if let Ok(a) = addr.parse::<Ipv6Addr>() {
        (u128::from(a), 128u32, true)
    } else {
        return Err(invalid());
    };
    if prefix > width || !(1..=256).contains(&count) || bits == 0 || bits > width - prefix {
        return Err(template_error(format!(
            "Fn::Cidr cannot make {count} subnets of {bits} host bits from {block}"
        )));
    }
    let available: u128 = 1u128.checked_shl(width - prefix - bits).unwrap_or(u128::MAX);
    if u128::from(count) > available {
        return Err(template_error(format!(
            "Fn::Cidr cannot make {count} subnets of {bits} host bits from {block}"
        )));
    }
    let mask_bits = width - prefix;
    let network = if mask_bits >= 128 { 0 } else { start >> mask_bits << mask_bits };
    // bits == 128 leaves room for one block only, so the step is never used.
    let step = 1u128.checked_shl(bits).unwrap_or(0);
    Ok((0..u128::from(count))
        .map(|i| {
            let a = network + i * step;
            let addr = if v6 { Ipv6Addr::from(a).to_string() } else { Ipv4Addr::from(a as u32).to_string() };
            format!("{addr}/{}", width - bits)
        })
        .collect())
}

/// A scalar as text for string-building functions; lists and objects have none.
pub fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Conditions may not reference resources: the error CloudFormation gives when they do.
pub(crate) fn resource_in_conditions(name: &str) -> Error {
    format_error(format!(
        "Unresolved dependencies [{name}]. Cannot reference resources in the Conditions block of the template"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    struct Fake {
        params: BTreeMap<&'static str, Value>,
        conditions: BTreeMap<&'static str, bool>,
    }

    impl Context for Fake {
        fn parameter(&self, name: &str) -> Option<Value> {
            self.params.get(name).cloned()
        }
        fn condition(&self, name: &str) -> Result<bool> {
            self.conditions
                .get(name)
                .copied()
                .ok_or_else(|| template_error(format!("unresolved condition dependency {name} in Fn::If")))
        }
        fn mapping(&self, name: &str) -> Option<Value> {
            (name == "M").then(|| json!({"us-east-1": {"ami": "ami-1"}}))
        }
        fn resource_ref(&self, id: &str) -> Result<Value> {
            match id {
                "Bucket" => Ok(json!("my-bucket")),
                _ => Err(format_error(format!(
                    "Unresolved resource dependencies [{id}] in the Resources block of the template"
                ))),
            }
        }
        fn resource_attribute(&self, id: &str, attr: &str) -> Result<Value> {
            match (id, attr) {
                ("Bucket", "Arn") => Ok(json!("arn:aws:s3:::my-bucket")),
                ("Bucket", _) => Err(template_error(format!(
                    "resource {id} does not support attribute type {attr} in Fn::GetAtt"
                ))),
                _ => {
                    Err(template_error(format!("instance of Fn::GetAtt references undefined resource {id}")))
                }
            }
        }
        fn export(&self, name: &str) -> Option<Value> {
            (name == "shared-vpc").then(|| json!("vpc-123"))
        }
    }

    fn ctx() -> Fake {
        Fake {
            params: [
                ("Env", json!("prod")),
                ("AWS::Region", json!("eu-west-1")),
                ("List", json!(["a", "b"])),
            ]
            .into(),
            conditions: [("IsProd", true), ("IsDev", false)].into(),
        }
    }

    fn ok(v: Value) -> Value {
        resolve(&v, &ctx()).expect("resolves")
    }

    fn err(v: Value) -> String {
        resolve(&v, &ctx()).expect_err("fails").to_string()
    }

    #[test]
    fn refs_getatt_and_sub() {
        assert_eq!(ok(json!({"Ref": "Env"})), json!("prod"));
        assert_eq!(ok(json!({"Ref": "Bucket"})), json!("my-bucket"));
        assert_eq!(ok(json!({"Fn::GetAtt": ["Bucket", "Arn"]})), json!("arn:aws:s3:::my-bucket"));
        assert_eq!(ok(json!({"Fn::GetAtt": "Bucket.Arn"})), json!("arn:aws:s3:::my-bucket"));
        assert_eq!(
            ok(json!({"Fn::Sub": "${Env}-${Bucket}-${Bucket.Arn}-${!Literal}-${AWS::Region}"})),
            json!("prod-my-bucket-arn:aws:s3:::my-bucket-${Literal}-eu-west-1")
        );
        assert_eq!(
            ok(json!({"Fn::Sub": ["${x}/${Env}", {"x": {"Ref": "Bucket"}}]})),
            json!("my-bucket/prod")
        );
        assert_eq!(
            err(json!({"Fn::GetAtt": ["Nope", "Arn"]})),
            "Template error: instance of Fn::GetAtt references undefined resource Nope"
        );
        assert_eq!(
            err(json!({"Fn::GetAtt": ["Bucket"]})),
            "Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute"
        );
        assert_eq!(
            err(json!({"Ref": "Nope"})),
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        );
    }

    #[test]
    fn list_functions() {
        assert_eq!(ok(json!({"Fn::Join": ["-", ["a", 1, {"Ref": "Env"}]]})), json!("a-1-prod"));
        assert_eq!(ok(json!({"Fn::Join": [",", {"Ref": "List"}]})), json!("a,b"));
        assert_eq!(ok(json!({"Fn::Select": ["1", {"Fn::Split": [",", "x,y,z"]}]})), json!("y"));
        assert_eq!(
            err(json!({"Fn::Select": [5, ["a"]]})),
            "Template error: Fn::Select cannot select nonexistent value at index 5"
        );
        assert!(
            err(json!({"Fn::Join": ["-"]}))
                .starts_with("Template error: every Fn::Join object requires two parameters")
        );
        assert_eq!(ok(json!({"Fn::GetAZs": ""})), json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"]));
        assert_eq!(ok(json!({"Fn::GetAZs": "us-east-2"})), json!(["us-east-2a", "us-east-2b", "us-east-2c"]));
        assert_eq!(ok(json!({"Fn::Base64": "hello"})), json!("aGVsbG8="));
    }

    #[test]
    fn mappings_imports_and_errors() {
        assert_eq!(ok(json!({"Fn::FindInMap": ["M", "us-east-1", "ami"]})), json!("ami-1"));
        assert_eq!(
            err(json!({"Fn::FindInMap": ["M", "eu-west-1", "ami"]})),
            "Template error: Unable to get mapping for M::eu-west-1::ami"
        );
        assert_eq!(
            err(json!({"Fn::FindInMap": ["X", "a", "b"]})),
            "Template error: Mapping named 'X' is not present in the 'Mappings' section of template."
        );
        assert_eq!(ok(json!({"Fn::ImportValue": "shared-vpc"})), json!("vpc-123"));
        assert_eq!(err(json!({"Fn::ImportValue": "other"})), "No export named other found.");
    }

    #[test]
    fn conditions_and_novalue() {
        assert_eq!(ok(json!({"A": {"Fn::If": ["IsProd", "big", "small"]}})), json!({"A": "big"}));
        assert_eq!(
            ok(json!({"A": {"Fn::If": ["IsDev", "x", {"Ref": "AWS::NoValue"}]}, "B": 1})),
            json!({"B": 1})
        );
        assert_eq!(ok(json!(["a", {"Ref": "AWS::NoValue"}, "b"])), json!(["a", "b"]));
        // The branch not taken may reference things that do not exist.
        assert_eq!(ok(json!({"Fn::If": ["IsProd", "ok", {"Ref": "Nope"}]})), json!("ok"));
        assert_eq!(ok(json!({"Fn::Equals": [{"Ref": "Env"}, "prod"]})), json!(true));
        assert_eq!(ok(json!({"Fn::Equals": [true, "true"]})), json!(true));
        assert_eq!(
            ok(json!({"Fn::And": [{"Condition": "IsProd"}, {"Fn::Not": [{"Condition": "IsDev"}]}]})),
            json!(true)
        );
        assert_eq!(ok(json!({"Fn::Or": [{"Condition": "IsDev"}, {"Condition": "IsDev"}]})), json!(false));
        assert_eq!(
            err(json!({"Fn::If": ["Nope", 1, 2]})),
            "Template error: unresolved condition dependency Nope in Fn::If"
        );
        // A policy statement's Condition block is not the Condition function.
        assert_eq!(
            ok(json!({"Condition": {"Bool": {"aws:SecureTransport": false}}})),
            json!({"Condition": {"Bool": {"aws:SecureTransport": false}}})
        );
    }

    #[test]
    fn cidr_as_aws_computes_it() {
        assert_eq!(
            ok(json!({"Fn::Cidr": ["192.168.0.0/24", 6, 5]})),
            json!([
                "192.168.0.0/27",
                "192.168.0.32/27",
                "192.168.0.64/27",
                "192.168.0.96/27",
                "192.168.0.128/27",
                "192.168.0.160/27"
            ])
        );
        assert_eq!(ok(json!({"Fn::Cidr": ["10.0.0.0/16", "2", "8"]})), json!(["10.0.0.0/24", "10.0.1.0/24"]));
        assert_eq!(
            ok(json!({"Fn::Cidr": ["2001:db8::/56", 2, 64]})),
            json!(["2001:db8::/64", "2001:db8:0:1::/64"])
        );
        assert!(
            err(json!({"Fn::Cidr": ["10.0.0.0/24", 3, 7]}))
                .starts_with("Template error: Fn::Cidr cannot make 3 subnets")
        );
    }

    #[test]
    fn sub_parts_split_text_vars_and_literals() {
        assert_eq!(
            sub_parts("a${B}c${!D}${E.F}${unclosed"),
            vec![
                SubPart::Text("a"),
                SubPart::Var("B"),
                SubPart::Text("c"),
                SubPart::Literal("D"),
                SubPart::Var("E.F"),
                SubPart::Text("${unclosed")
            ]
        );
    }
}
