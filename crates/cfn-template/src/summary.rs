//! What `GetTemplateSummary` and `ValidateTemplate` report about a template: its parameters
//! (NoEcho defaults hidden), resource types, transforms and the capabilities it needs.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::template::Template;

/// One parameter as the summary shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterSummary {
    pub key: String,
    pub parameter_type: String,
    /// The default value; CloudFormation leaves it out for NoEcho parameters.
    pub default: Option<String>,
    pub no_echo: bool,
    pub description: Option<String>,
    pub allowed_values: Vec<String>,
}

/// The shape shared by `GetTemplateSummary` and `ValidateTemplate`.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateSummary {
    pub parameters: Vec<ParameterSummary>,
    pub description: Option<String>,
    pub capabilities: Vec<String>,
    pub capabilities_reason: Option<String>,
    /// Resource types as declared (before transforms), sorted, unique.
    pub resource_types: Vec<String>,
    pub version: Option<String>,
    pub metadata: Option<Value>,
    pub declared_transforms: Vec<String>,
}

/// IAM resource types, and the property that names each (which needs CAPABILITY_NAMED_IAM).
const IAM_TYPES: &[(&str, &str)] = &[
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"),
    ("AWS::IAM::User", "UserName"),
    ("AWS::IAM::Group", "GroupName"),
    ("AWS::IAM::InstanceProfile", "InstanceProfileName"),
    ("AWS::IAM::Policy", ""),
    ("AWS::IAM::AccessKey", ""),
    ("AWS::IAM::UserToGroupAddition", ""),
];

/// Summarises a template body. Transforms are applied (with parameter defaults) to find the
/// capabilities the processed template needs; reference errors are ValidateTemplate's business.
pub fn summarize(body: &str) -> Result<TemplateSummary> {
    let doc = crate::parse::parse_document(body)?;
    let original = Template::from_value(&doc)?;
    let processed = Template::from_value(&crate::plan::process(&doc, &BTreeMap::new())?)?;
    let (mut capabilities, reason) = capabilities(&processed);
    if !original.transform.is_empty() {
        capabilities.insert(0, "CAPABILITY_AUTO_EXPAND".to_owned());
    }
    let resource_types: BTreeSet<String> =
        original.resources.values().map(|r| r.resource_type.clone()).collect();
    Ok(TemplateSummary {
        parameters: original
            .parameters
            .iter()
            .map(|(k, d)| ParameterSummary {
                key: k.clone(),
                parameter_type: d.parameter_type.clone(),
                default: if d.no_echo { None } else { d.default.clone() },
                no_echo: d.no_echo,
                description: d.description.clone(),
                allowed_values: d.allowed_values.clone(),
            })
            .collect(),
        description: original.description.clone(),
        capabilities,
        capabilities_reason: reason,
        resource_types: resource_types.into_iter().collect(),
        version: original.format_version.clone(),
        metadata: original.metadata.clone(),
        declared_transforms: original.transform.clone(),
    })
}

/// ValidateTemplate: the summary, after the static checks a stack operation would make first
/// (references, conditions, parameter declarations).
pub fn validate(body: &str) -> Result<TemplateSummary> {
    let summary = summarize(body)?;
    let doc = crate::parse::parse_document(body)?;
    let processed = Template::from_value(&crate::plan::process(&doc, &BTreeMap::new())?)?;
    crate::graph::check_references(&processed)?;
    Ok(summary)
}

/// The IAM capabilities a processed template needs, and CloudFormation's reason text.
pub fn capabilities(t: &Template) -> (Vec<String>, Option<String>) {
    let mut named = false;
    let mut types = BTreeSet::new();
    for r in t.resources.values() {
        if let Some((ty, name_prop)) = IAM_TYPES.iter().find(|(ty, _)| *ty == r.resource_type) {
            types.insert(*ty);
            if !name_prop.is_empty() && r.properties.contains_key(*name_prop) {
                named = true;
            }
        }
    }
    if types.is_empty() {
        return (Vec::new(), None);
    }
    let cap = if named { "CAPABILITY_NAMED_IAM" } else { "CAPABILITY_IAM" };
    let list: Vec<&str> = types.into_iter().collect();
    (
        vec![cap.to_owned()],
        Some(format!("The following resource(s) require capabilities: [{}]", list.join(", "))),
    )
}

/// Checks that the capabilities a processed template needs were acknowledged (CreateStack,
/// UpdateStack, CreateChangeSet). CAPABILITY_NAMED_IAM also covers unnamed IAM resources.
pub fn check_capabilities(t: &Template, acknowledged: &[String]) -> Result<()> {
    let (needed, _) = capabilities(t);
    let has = |c: &str| acknowledged.iter().any(|a| a == c);
    for cap in needed {
        let ok = has(&cap) || (cap == "CAPABILITY_IAM" && has("CAPABILITY_NAMED_IAM"));
        if !ok {
            return Err(Error::InsufficientCapabilitiesException(cap));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_parameters_types_and_capabilities() {
        let s = summarize(
            "Description: demo\nParameters:\n  Pw: {Type: String, NoEcho: true, Default: secret, Description: the password}\n  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}\nResources:\n  R: {Type: AWS::IAM::Role, Properties: {RoleName: r}}\n  Q: {Type: AWS::SQS::Queue}\n",
        )
        .expect("summary");
        assert_eq!(s.capabilities, vec!["CAPABILITY_NAMED_IAM"]);
        assert_eq!(
            s.capabilities_reason.as_deref(),
            Some("The following resource(s) require capabilities: [AWS::IAM::Role]")
        );
        assert_eq!(s.resource_types, vec!["AWS::IAM::Role", "AWS::SQS::Queue"]);
        assert_eq!(s.parameters[1].key, "Pw");
        assert_eq!(s.parameters[1].default, None);
        assert!(s.parameters[1].no_echo);
        assert_eq!(s.parameters[0].allowed_values, vec!["dev", "prod"]);
        assert_eq!(s.description.as_deref(), Some("demo"));
    }

    #[test]
    fn capability_check() {
        let t = Template::parse("Resources:\n  R: {Type: AWS::IAM::Role}\n").expect("t");
        assert_eq!(
            check_capabilities(&t, &[]).expect_err("needs").to_string(),
            "Requires capabilities : [CAPABILITY_IAM]"
        );
        assert!(check_capabilities(&t, &["CAPABILITY_NAMED_IAM".to_owned()]).is_ok());
        let t = Template::parse("Resources:\n  R: {Type: AWS::IAM::Role, Properties: {RoleName: x}}\n")
            .expect("t");
        assert_eq!(
            check_capabilities(&t, &["CAPABILITY_IAM".to_owned()]).expect_err("needs").to_string(),
            "Requires capabilities : [CAPABILITY_NAMED_IAM]"
        );
    }

    #[test]
    fn validate_reports_reference_errors() {
        let e =
            validate("Resources:\n  Q: {Type: AWS::SQS::Queue, Properties: {N: !Ref X}}\n").expect_err("bad");
        assert_eq!(
            e.to_string(),
            "Template format error: Unresolved resource dependencies [X] in the Resources block of the template"
        );
    }
}
