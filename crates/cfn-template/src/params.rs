//! Parameters: declarations (type, default, constraints, NoEcho) and the values a stack
//! operation supplies, validated with CloudFormation's messages; plus the pseudo parameters.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{Error, Result, format_error, invalid};
use crate::template::scalar_text;

/// One entry of `Parameters`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterDecl {
    pub parameter_type: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
    pub allowed_pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_value: Option<f64>,
    pub max_value: Option<f64>,
    pub no_echo: bool,
    pub description: Option<String>,
    pub constraint_description: Option<String>,
    /// The declaration as written, for GetTemplate.
    pub raw: Value,
}

/// A resolved parameter value: `Ref` to a list type yields a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    String(String),
    List(Vec<String>),
}

impl ParamValue {
    pub fn to_json(&self) -> Value {
        match self {
            ParamValue::String(s) => Value::String(s.clone()),
            ParamValue::List(items) => Value::Array(items.iter().cloned().map(Value::String).collect()),
        }
    }
}

/// The kinds of parameter type, as far as evaluation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Number,
    NumberList,
    StringList,
    Ssm,
}

fn kind(parameter_type: &str) -> Option<Kind> {
    match parameter_type {
        "String" => Some(Kind::String),
        "Number" => Some(Kind::Number),
        "List<Number>" => Some(Kind::NumberList),
        "CommaDelimitedList" => Some(Kind::StringList),
        // SSM parameter names are passed through as strings; resolving their values needs SSM.
        "AWS::SSM::Parameter::Name" => Some(Kind::String),
        t if t.starts_with("AWS::SSM::Parameter::Value<") => Some(Kind::Ssm),
        t if t.starts_with("List<AWS::") && t.ends_with('>') => Some(Kind::StringList),
        // AWS-specific types (AWS::EC2::KeyPair::KeyName, ...) are strings, validated loosely.
        t if t.starts_with("AWS::") => Some(Kind::String),
        _ => None,
    }
}

impl ParameterDecl {
    pub(crate) fn from_value(name: &str, v: &Value) -> Result<ParameterDecl> {
        let obj = v
            .as_object()
            .ok_or_else(|| format_error("Every Parameters object must contain a Type member."))?;
        let parameter_type = match obj.get("Type") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(format_error("Every Parameters object must contain a Type member.")),
        };
        if kind(&parameter_type).is_none() {
            return Err(format_error(format!("Unrecognized parameter type: {parameter_type}")));
        }
        let number = |key: &str| -> Result<Option<f64>> {
            match obj.get(key) {
                None => Ok(None),
                Some(v) => scalar_text(v).trim().parse::<f64>().map(Some).map_err(|_| {
                    format_error(format!("Invalid {key} value for parameter {name}: must be a number"))
                }),
            }
        };
        let allowed_values = match obj.get("AllowedValues") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(scalar_text).collect(),
            Some(_) => {
                return Err(format_error(format!(
                    "Every AllowedValues member of parameter {name} must be a list"
                )));
            }
        };
        let decl = ParameterDecl {
            default: obj.get("Default").map(|d| match d {
                // A list default (YAML `[a, b]`) is the comma-joined text CloudFormation stores.
                Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
                other => scalar_text(other),
            }),
            allowed_values,
            allowed_pattern: obj.get("AllowedPattern").map(scalar_text),
            min_length: number("MinLength")?.map(|n| n as u64),
            max_length: number("MaxLength")?.map(|n| n as u64),
            min_value: number("MinValue")?,
            max_value: number("MaxValue")?,
            no_echo: obj.get("NoEcho").is_some_and(|v| scalar_text(v).eq_ignore_ascii_case("true")),
            description: obj.get("Description").map(scalar_text),
            constraint_description: obj.get("ConstraintDescription").map(scalar_text),
            parameter_type,
            raw: v.clone(),
        };
        if let Some(pattern) = &decl.allowed_pattern {
            compile(pattern)
                .map_err(|_| format_error(format!("Invalid AllowedPattern for parameter {name}")))?;
        }
        Ok(decl)
    }

    /// Checks one supplied (or default) value against the declaration.
    fn check(&self, name: &str, value: &str) -> Result<ParamValue> {
        let fail = |reason: String| -> Error {
            match &self.constraint_description {
                Some(d) => invalid(format!("Parameter {name} failed to satisfy constraint: {d}")),
                None => invalid(reason),
            }
        };
        let k = kind(&self.parameter_type).unwrap_or(Kind::String);
        let items: Vec<String> = match k {
            Kind::NumberList | Kind::StringList => {
                if value.is_empty() {
                    Vec::new()
                } else {
                    value.split(',').map(|s| s.trim().to_owned()).collect()
                }
            }
            _ => vec![value.to_owned()],
        };
        for item in &items {
            if !self.allowed_values.is_empty() && !self.allowed_values.contains(item) {
                return Err(fail(format!("Parameter '{name}' must be one of AllowedValues")));
            }
            if matches!(k, Kind::Number | Kind::NumberList) {
                let n: f64 =
                    item.trim().parse().map_err(|_| fail(format!("Parameter '{name}' must be a number.")))?;
                if let Some(min) = self.min_value
                    && n < min
                {
                    return Err(fail(format!(
                        "Parameter '{name}' must be a number not less than {}",
                        num(min)
                    )));
                }
                if let Some(max) = self.max_value
                    && n > max
                {
                    return Err(fail(format!(
                        "Parameter '{name}' must be a number not greater than {}",
                        num(max)
                    )));
                }
            } else {
                // The pattern is reported before the lengths when both fail, as CloudFormation does.
                if let Some(pattern) = &self.allowed_pattern
                    && !compile(pattern).is_ok_and(|re| re.is_match(item))
                {
                    return Err(fail(format!("Parameter '{name}' must match pattern {pattern}")));
                }
                let len = item.chars().count() as u64;
                if let Some(min) = self.min_length
                    && len < min
                {
                    return Err(fail(format!("Parameter '{name}' must contain at least {min} characters")));
                }
                if let Some(max) = self.max_length
                    && len > max
                {
                    return Err(fail(format!("Parameter '{name}' must contain at most {max} characters")));
                }
            }
        }
        Ok(match k {
            Kind::NumberList | Kind::StringList => ParamValue::List(items),
            _ => ParamValue::String(value.to_owned()),
        })
    }
}

/// `AWS::SSM::Parameter::Value<T>` → `T`.
fn ssm_value_type(parameter_type: &str) -> Option<&str> {
    parameter_type.strip_prefix("AWS::SSM::Parameter::Value<")?.strip_suffix('>')
}

/// The whole value must match, as CloudFormation applies AllowedPattern.
fn compile(pattern: &str) -> Result<regex_lite::Regex, regex_lite::Error> {
    regex_lite::Regex::new(&format!("^(?:{pattern})$"))
}

fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

/// Parameter values of one stack operation, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parameters {
    pub values: BTreeMap<String, ParamValue>,
    /// The raw text of every value (what DescribeStacks reports before masking).
    pub raw: BTreeMap<String, String>,
    pub no_echo: Vec<String>,
    /// For SSM parameter types: the value fetched (DescribeStacks' `ResolvedValue`).
    pub resolved: BTreeMap<String, String>,
}

impl Parameters {
    /// Validates `supplied` against the declarations: unknown names, missing values, then each
    /// value's constraints, in the order CloudFormation reports them.
    pub fn resolve(
        decls: &BTreeMap<String, ParameterDecl>,
        supplied: &BTreeMap<String, String>,
    ) -> Result<Parameters> {
        Parameters::resolve_with_ssm(decls, supplied, &BTreeMap::new())
    }

    /// As [`Parameters::resolve`], with the values of the SSM parameters the caller can see:
    /// an `AWS::SSM::Parameter::Value<…>` parameter's value is an SSM parameter name, resolved
    /// here; names not in `ssm` fail as they do when Parameter Store has no such parameter.
    pub fn resolve_with_ssm(
        decls: &BTreeMap<String, ParameterDecl>,
        supplied: &BTreeMap<String, String>,
        ssm: &BTreeMap<String, String>,
    ) -> Result<Parameters> {
        let unknown: Vec<&str> =
            supplied.keys().map(String::as_str).filter(|k| !decls.contains_key(*k)).collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "Parameters: [{}] do not exist in the template",
                unknown.join(", ")
            )));
        }
        let missing: Vec<&str> = decls
            .iter()
            .filter(|(k, d)| d.default.is_none() && !supplied.contains_key(*k))
            .map(|(k, _)| k.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(invalid(format!("Parameters: [{}] must have values", missing.join(", "))));
        }
        let text_of = |name: &String, decl: &ParameterDecl| {
            supplied.get(name).or(decl.default.as_ref()).cloned().unwrap_or_default()
        };
        let unfetched: Vec<String> = decls
            .iter()
            .filter(|(_, d)| kind(&d.parameter_type) == Some(Kind::Ssm))
            .map(|(k, d)| text_of(k, d))
            .filter(|n| !ssm.contains_key(n))
            .collect();
        if !unfetched.is_empty() {
            return Err(invalid(format!(
                "Unable to fetch parameters [{}] from parameter store for this account.",
                unfetched.join(", ")
            )));
        }
        let mut out = Parameters::default();
        for (name, decl) in decls {
            let text = text_of(name, decl);
            let value = match ssm_value_type(&decl.parameter_type) {
                Some(inner) => {
                    let resolved = ssm.get(&text).cloned().unwrap_or_default();
                    out.resolved.insert(name.clone(), resolved.clone());
                    if inner.starts_with("List<") || inner == "CommaDelimitedList" {
                        ParamValue::List(resolved.split(',').map(|s| s.trim().to_owned()).collect())
                    } else {
                        ParamValue::String(resolved)
                    }
                }
                None => decl.check(name, &text)?,
            };
            out.values.insert(name.clone(), value);
            out.raw.insert(name.clone(), text);
            if decl.no_echo {
                out.no_echo.push(name.clone());
            }
        }
        Ok(out)
    }

    /// Parameter values as DescribeStacks shows them: NoEcho values masked.
    pub fn described(&self) -> Vec<(String, String)> {
        self.raw
            .iter()
            .map(|(k, v)| {
                let shown = if self.no_echo.contains(k) { "****".to_owned() } else { v.clone() };
                (k.clone(), shown)
            })
            .collect()
    }
}

/// Values of the pseudo parameters, supplied by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pseudo {
    pub account_id: String,
    pub region: String,
    pub stack_name: String,
    pub stack_id: String,
    pub partition: String,
    pub url_suffix: String,
    pub notification_arns: Vec<String>,
}

impl Pseudo {
    /// Pseudo parameters for a stack; partition and URL suffix follow from the region.
    pub fn new(account_id: &str, region: &str, stack_name: &str, stack_id: &str) -> Pseudo {
        let (partition, url_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        };
        Pseudo {
            account_id: account_id.to_owned(),
            region: region.to_owned(),
            stack_name: stack_name.to_owned(),
            stack_id: stack_id.to_owned(),
            partition: partition.to_owned(),
            url_suffix: url_suffix.to_owned(),
            notification_arns: Vec::new(),
        }
    }

    /// `Ref` of a pseudo parameter. `AWS::NoValue` is handled by the resolver (it removes).
    pub fn get(&self, name: &str) -> Option<Value> {
        let s = match name {
            "AWS::AccountId" => &self.account_id,
            "AWS::Region" => &self.region,
            "AWS::StackName" => &self.stack_name,
            "AWS::StackId" => &self.stack_id,
            "AWS::Partition" => &self.partition,
            "AWS::URLSuffix" => &self.url_suffix,
            "AWS::NotificationARNs" => {
                return Some(Value::Array(
                    self.notification_arns.iter().cloned().map(Value::String).collect(),
                ));
            }
            _ => return None,
        };
        Some(Value::String(s.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Template;

    fn decls(yaml: &str) -> BTreeMap<String, ParameterDecl> {
        Template::parse(&format!("Parameters:\n{yaml}Resources: {{A: {{Type: X}}}}\n"))
            .expect("template")
            .parameters
    }

    fn supply(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn fails(yaml: &str, pairs: &[(&str, &str)]) -> String {
        Parameters::resolve(&decls(yaml), &supply(pairs)).expect_err("should fail").to_string()
    }

    #[test]
    fn defaults_lists_and_masking() {
        let d = decls(
            "  S: {Type: String, Default: abc}\n  N: {Type: Number, Default: 5}\n  L: {Type: CommaDelimitedList, Default: 'a, b,c'}\n  NL: {Type: 'List<Number>'}\n  K: {Type: 'AWS::EC2::KeyPair::KeyName', Default: k}\n  Secret: {Type: String, NoEcho: true}\n",
        );
        let p = Parameters::resolve(&d, &supply(&[("NL", "1,2"), ("Secret", "hunter2")])).expect("valid");
        assert_eq!(p.values["S"], ParamValue::String("abc".into()));
        assert_eq!(p.values["N"], ParamValue::String("5".into()));
        assert_eq!(p.values["L"], ParamValue::List(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(p.values["NL"], ParamValue::List(vec!["1".into(), "2".into()]));
        assert_eq!(p.values["Secret"], ParamValue::String("hunter2".into()));
        let shown: BTreeMap<_, _> = p.described().into_iter().collect();
        assert_eq!(shown["Secret"], "****");
        assert_eq!(shown["S"], "abc");
    }

    #[test]
    fn errors_in_cloudformation_words() {
        assert_eq!(
            fails("  A: {Type: String}\n  B: {Type: String}\n", &[]),
            "Parameters: [A, B] must have values"
        );
        assert_eq!(
            fails("  A: {Type: String, Default: x}\n", &[("Z", "1")]),
            "Parameters: [Z] do not exist in the template"
        );
        assert_eq!(
            fails("  A: {Type: String, AllowedValues: [dev, prod]}\n", &[("A", "test")]),
            "Parameter 'A' must be one of AllowedValues"
        );
        assert_eq!(
            fails("  A: {Type: String, AllowedPattern: '[a-z]+'}\n", &[("A", "ab1")]),
            "Parameter 'A' must match pattern [a-z]+"
        );
        assert_eq!(
            fails(
                "  A: {Type: String, AllowedPattern: '[a-z]+', ConstraintDescription: lower case only}\n",
                &[("A", "X")]
            ),
            "Parameter A failed to satisfy constraint: lower case only"
        );
        assert_eq!(fails("  A: {Type: Number}\n", &[("A", "x")]), "Parameter 'A' must be a number.");
        assert_eq!(
            fails("  A: {Type: Number, MaxValue: 10}\n", &[("A", "11")]),
            "Parameter 'A' must be a number not greater than 10"
        );
        assert_eq!(
            fails("  A: {Type: String, MinLength: 3}\n", &[("A", "ab")]),
            "Parameter 'A' must contain at least 3 characters"
        );
        assert_eq!(
            fails("  A: {Type: String, MinLength: 3, AllowedPattern: '[a-z]*'}\n", &[("A", "A")]),
            "Parameter 'A' must match pattern [a-z]*"
        );
        assert_eq!(
            fails("  A: {Type: CommaDelimitedList, AllowedValues: [a, b]}\n", &[("A", "a,c")]),
            "Parameter 'A' must be one of AllowedValues"
        );
        let ssm_decls = decls(
            "  V: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /cdk-bootstrap/hnb659fds/version}\n  L: {Type: 'AWS::SSM::Parameter::Value<List<String>>', Default: /subnets}\n",
        );
        let e = Parameters::resolve(&ssm_decls, &supply(&[])).expect_err("no parameter store");
        assert_eq!(
            e.to_string(),
            "Unable to fetch parameters [/subnets, /cdk-bootstrap/hnb659fds/version] from parameter store for this account."
        );
        let store: BTreeMap<String, String> =
            [("/cdk-bootstrap/hnb659fds/version", "21"), ("/subnets", "a,b")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        let p = Parameters::resolve_with_ssm(&ssm_decls, &supply(&[]), &store).expect("resolved");
        assert_eq!(p.values["V"], ParamValue::String("21".into()));
        assert_eq!(p.values["L"], ParamValue::List(vec!["a".into(), "b".into()]));
        assert_eq!(p.raw["V"], "/cdk-bootstrap/hnb659fds/version");
        assert_eq!(p.resolved["V"], "21");
        let e = Template::parse("Parameters:\n  A: {Type: Strin}\nResources: {A: {Type: X}}\n")
            .expect_err("type");
        assert_eq!(e.to_string(), "Template format error: Unrecognized parameter type: Strin");
    }

    #[test]
    fn pseudo_parameters_follow_the_region() {
        let p = Pseudo::new("123456789012", "cn-north-1", "s", "id");
        assert_eq!(p.get("AWS::Partition"), Some(Value::String("aws-cn".into())));
        assert_eq!(p.get("AWS::URLSuffix"), Some(Value::String("amazonaws.com.cn".into())));
        assert_eq!(p.get("AWS::NotificationARNs"), Some(Value::Array(vec![])));
        assert_eq!(p.get("AWS::Nope"), None);
    }
}
