//! CloudFormation query requests parsed into a closed [`Operation`]: every member read and
//! checked for shape before any stack is looked at. Parsing does no IO.

use std::collections::BTreeMap;

use protocol::query::QueryParams;

use crate::error::{Error, invalid};

/// The stack operations Nimbus serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateStack(StackInput),
    UpdateStack(StackInput),
    DeleteStack {
        stack: String,
        retain: Vec<String>,
    },
    DescribeStacks {
        stack: Option<String>,
        next_token: Option<String>,
    },
    ListStacks {
        filter: Vec<String>,
        next_token: Option<String>,
    },
    DescribeStackEvents {
        stack: String,
        next_token: Option<String>,
    },
    DescribeStackResource {
        stack: String,
        logical_id: String,
    },
    DescribeStackResources {
        stack: Option<String>,
        logical_id: Option<String>,
        physical_id: Option<String>,
    },
    ListStackResources {
        stack: String,
        next_token: Option<String>,
    },
    GetTemplate {
        stack: Option<String>,
        change_set: Option<String>,
        stage: Option<String>,
    },
    GetTemplateSummary {
        template_body: Option<String>,
        template_url: Option<String>,
        stack: Option<String>,
    },
    ValidateTemplate {
        template_body: Option<String>,
        template_url: Option<String>,
    },
    CreateChangeSet {
        input: StackInput,
        change_set_name: String,
        change_set_type: String,
        description: Option<String>,
    },
    DescribeChangeSet {
        change_set: String,
        stack: Option<String>,
    },
    ExecuteChangeSet {
        change_set: String,
        stack: Option<String>,
        disable_rollback: Option<bool>,
    },
    DeleteChangeSet {
        change_set: String,
        stack: Option<String>,
    },
    ListChangeSets {
        stack: String,
    },
    ListExports {
        next_token: Option<String>,
    },
    ListImports {
        export_name: String,
    },
    NotImplemented(String),
}

/// What CreateStack, UpdateStack and CreateChangeSet share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StackInput {
    pub stack_name: String,
    pub template_body: Option<String>,
    /// An S3 URL of the template; fetched (into `template_body`) before the operation runs.
    pub template_url: Option<String>,
    pub use_previous_template: bool,
    /// Supplied values; `None` for `UsePreviousValue=true`.
    pub parameters: BTreeMap<String, Option<String>>,
    pub capabilities: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub disable_rollback: bool,
    /// `ROLLBACK` (the default), `DELETE` or `DO_NOTHING`.
    pub on_failure: Option<String>,
}

/// CloudFormation actions Nimbus knows but does not serve (StackSets, drift, type registry …).
const NOT_IMPLEMENTED: &[&str] = &[
    "CancelUpdateStack",
    "ContinueUpdateRollback",
    "CreateStackSet",
    "CreateStackInstances",
    "DescribeStackSet",
    "ListStackSets",
    "DetectStackDrift",
    "DetectStackResourceDrift",
    "DescribeStackDriftDetectionStatus",
    "DescribeStackResourceDrifts",
    "EstimateTemplateCost",
    "SetStackPolicy",
    "GetStackPolicy",
    "SignalResource",
    "UpdateTerminationProtection",
    "RegisterType",
    "DescribeType",
    "ListTypes",
    "ActivateType",
    "CreateGeneratedTemplate",
    "StartResourceScan",
    "RollbackStack",
    "DescribeStackInstance",
    "ListStackInstances",
    "DescribeAccountLimits",
];

/// Stack and change set names: `[a-zA-Z][-a-zA-Z0-9]*`, at most 128 characters; `member` is
/// the name's member in the validation message (`stackName`, `changeSetName`).
fn check_name(name: &str, member: &str) -> Result<(), Error> {
    let ok = name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )))
    }
}

fn opt(p: &QueryParams, name: &str) -> Option<String> {
    p.get(name).map(str::to_owned)
}

fn stack_input(p: &QueryParams, creating: bool) -> Result<StackInput, Error> {
    let stack_name = p.required("StackName")?.to_owned();
    if creating {
        check_name(&stack_name, "stackName")?;
    }
    if p.get("TemplateURL").is_some() && p.get("TemplateBody").is_some() {
        return Err(invalid("Specify exactly one of TemplateBody or TemplateUrl."));
    }
    let mut parameters = BTreeMap::new();
    for s in p.structs("Parameters") {
        let key = s.get("ParameterKey").unwrap_or_default().to_owned();
        let previous = s.get("UsePreviousValue").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let value =
            if previous { None } else { Some(s.get("ParameterValue").unwrap_or_default().to_owned()) };
        parameters.insert(key, value);
    }
    let tags = p
        .structs("Tags")
        .iter()
        .map(|t| (t.get("Key").unwrap_or_default().to_owned(), t.get("Value").unwrap_or_default().to_owned()))
        .collect();
    Ok(StackInput {
        stack_name,
        template_body: opt(p, "TemplateBody"),
        template_url: opt(p, "TemplateURL"),
        use_previous_template: p.bool("UsePreviousTemplate")?.unwrap_or(false),
        parameters,
        capabilities: p.list("Capabilities").into_iter().map(str::to_owned).collect(),
        tags,
        disable_rollback: p.bool("DisableRollback")?.unwrap_or(false),
        on_failure: opt(p, "OnFailure"),
    })
}

impl Operation {
    pub fn parse(p: &QueryParams) -> Result<Operation, Error> {
        let action = p.action()?;
        Ok(match action {
            "CreateStack" => {
                let input = stack_input(p, true)?;
                if input.template_body.is_none() && input.template_url.is_none() {
                    return Err(invalid("Either Template URL or Template Body must be specified."));
                }
                Operation::CreateStack(input)
            }
            "UpdateStack" => Operation::UpdateStack(stack_input(p, false)?),
            "DeleteStack" => Operation::DeleteStack {
                stack: p.required("StackName")?.to_owned(),
                retain: p.list("RetainResources").into_iter().map(str::to_owned).collect(),
            },
            "DescribeStacks" => {
                Operation::DescribeStacks { stack: opt(p, "StackName"), next_token: opt(p, "NextToken") }
            }
            "ListStacks" => Operation::ListStacks {
                filter: p.list("StackStatusFilter").into_iter().map(str::to_owned).collect(),
                next_token: opt(p, "NextToken"),
            },
            "DescribeStackEvents" => Operation::DescribeStackEvents {
                stack: p.required("StackName")?.to_owned(),
                next_token: opt(p, "NextToken"),
            },
            "DescribeStackResource" => Operation::DescribeStackResource {
                stack: p.required("StackName")?.to_owned(),
                logical_id: p.required("LogicalResourceId")?.to_owned(),
            },
            "DescribeStackResources" => Operation::DescribeStackResources {
                stack: opt(p, "StackName"),
                logical_id: opt(p, "LogicalResourceId"),
                physical_id: opt(p, "PhysicalResourceId"),
            },
            "ListStackResources" => Operation::ListStackResources {
                stack: p.required("StackName")?.to_owned(),
                next_token: opt(p, "NextToken"),
            },
            "GetTemplate" => Operation::GetTemplate {
                stack: opt(p, "StackName"),
                change_set: opt(p, "ChangeSetName"),
                stage: opt(p, "TemplateStage"),
            },
            "GetTemplateSummary" => Operation::GetTemplateSummary {
                template_body: opt(p, "TemplateBody"),
                template_url: opt(p, "TemplateURL"),
                stack: opt(p, "StackName"),
            },
            "ValidateTemplate" => {
                let (template_body, template_url) = (opt(p, "TemplateBody"), opt(p, "TemplateURL"));
                if template_body.is_none() && template_url.is_none() {
                    return Err(invalid("Either Template URL or Template Body must be specified."));
                }
                Operation::ValidateTemplate { template_body, template_url }
            }
            "CreateChangeSet" => {
                let change_set_name = p.required("ChangeSetName")?.to_owned();
                check_name(&change_set_name, "changeSetName")?;
                let change_set_type = p.get("ChangeSetType").unwrap_or("UPDATE").to_owned();
                if !matches!(change_set_type.as_str(), "CREATE" | "UPDATE" | "IMPORT") {
                    return Err(invalid(format!(
                        "1 validation error detected: Value '{change_set_type}' at 'changeSetType' failed to satisfy constraint: Member must satisfy enum value set: [IMPORT, UPDATE, CREATE]"
                    )));
                }
                if change_set_type == "IMPORT" {
                    return Err(Error::NotImplemented("Change sets of type IMPORT".to_owned()));
                }
                let input = stack_input(p, change_set_type == "CREATE")?;
                if input.template_body.is_none()
                    && input.template_url.is_none()
                    && !input.use_previous_template
                {
                    return Err(invalid("Either Template URL or Template Body must be specified."));
                }
                Operation::CreateChangeSet {
                    input,
                    change_set_name,
                    change_set_type,
                    description: opt(p, "Description"),
                }
            }
            "DescribeChangeSet" => Operation::DescribeChangeSet {
                change_set: p.required("ChangeSetName")?.to_owned(),
                stack: opt(p, "StackName"),
            },
            "ExecuteChangeSet" => Operation::ExecuteChangeSet {
                change_set: p.required("ChangeSetName")?.to_owned(),
                stack: opt(p, "StackName"),
                disable_rollback: p.bool("DisableRollback")?,
            },
            "DeleteChangeSet" => Operation::DeleteChangeSet {
                change_set: p.required("ChangeSetName")?.to_owned(),
                stack: opt(p, "StackName"),
            },
            "ListChangeSets" => Operation::ListChangeSets { stack: p.required("StackName")?.to_owned() },
            "ListExports" => Operation::ListExports { next_token: opt(p, "NextToken") },
            "ListImports" => Operation::ListImports { export_name: p.required("ExportName")?.to_owned() },
            a if NOT_IMPLEMENTED.contains(&a) => Operation::NotImplemented(a.to_owned()),
            other => {
                return Err(Error::InvalidAction { action: other.to_owned(), version: opt(p, "Version") });
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Operation, Error> {
        Operation::parse(&QueryParams::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn create_stack_reads_parameters_tags_and_capabilities() {
        let op = parse(&[
            ("Action", "CreateStack"),
            ("StackName", "app"),
            ("TemplateBody", "{}"),
            ("Parameters.member.1.ParameterKey", "Env"),
            ("Parameters.member.1.ParameterValue", "prod"),
            ("Parameters.member.2.ParameterKey", "Old"),
            ("Parameters.member.2.UsePreviousValue", "true"),
            ("Capabilities.member.1", "CAPABILITY_IAM"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "a"),
        ])
        .expect("parses");
        let Operation::CreateStack(input) = op else { panic!("not CreateStack") };
        assert_eq!(input.parameters.get("Env"), Some(&Some("prod".to_owned())));
        assert_eq!(input.parameters.get("Old"), Some(&None));
        assert_eq!(input.capabilities, vec!["CAPABILITY_IAM".to_owned()]);
        assert_eq!(input.tags, vec![("team".to_owned(), "a".to_owned())]);
    }

    #[test]
    fn refuses_bad_names_and_missing_templates() {
        let e = parse(&[("Action", "CreateStack"), ("StackName", "1bad"), ("TemplateBody", "{}")])
            .expect_err("bad");
        assert!(e.to_string().contains("Member must satisfy regular expression pattern"));
        let e = parse(&[("Action", "CreateStack"), ("StackName", "ok")]).expect_err("no body");
        assert_eq!(e.to_string(), "Either Template URL or Template Body must be specified.");
        assert!(matches!(parse(&[("Action", "Nope")]), Err(Error::InvalidAction { .. })));
        assert!(matches!(parse(&[("Action", "CreateStackSet")]), Ok(Operation::NotImplemented(_))));
    }
}
