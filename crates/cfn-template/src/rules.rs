//! The `Rules` section: assertions over parameter values, checked after the parameters resolve
//! and before anything is created. A rule applies when its `RuleCondition` holds (or it has
//! none); a false `Assert` refuses the operation with its `AssertDescription`.

use serde_json::Value;

use crate::error::{Result, format_error, invalid};
use crate::params::{Parameters, Pseudo};
use crate::plan::ConditionContext;
use crate::resolve::resolve;
use crate::template::Template;

pub(crate) fn check(t: &Template, parameters: &Parameters, pseudo: &Pseudo) -> Result<()> {
    let Some(Value::Object(rules)) = &t.rules else { return Ok(()) };
    let ctx = ConditionContext::new(t, parameters, pseudo);
    for (name, rule) in rules {
        if let Some(condition) = rule.get("RuleCondition")
            && !truth(&resolve(condition, &ctx)?, name)?
        {
            continue;
        }
        let Some(Value::Array(assertions)) = rule.get("Assertions") else {
            return Err(format_error(format!("Every Rules member {name} must contain an Assertions list")));
        };
        for assertion in assertions {
            let assert = assertion.get("Assert").ok_or_else(|| {
                format_error(format!("Every Assertions member of rule {name} must contain an Assert"))
            })?;
            if !truth(&resolve(assert, &ctx)?, name)? {
                let description = assertion
                    .get("AssertDescription")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("Assertion failed for rule {name}"), str::to_owned);
                return Err(invalid(description));
            }
        }
    }
    Ok(())
}

fn truth(v: &Value, rule: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
        _ => Err(format_error(format!("Rule {rule} must evaluate to a boolean"))),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::{PlanInput, Pseudo, plan};

    /// The rule CDK puts in every synthesized template.
    const CDK: &str = r#"{
      "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version"},
                     "Env": {"Type": "String", "Default": "dev"}},
      "Rules": {
        "CheckBootstrapVersion": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
          "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI."}]},
        "ProdOnly": {"RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
          "Assertions": [{"Assert": {"Fn::EachMemberIn": [["prod"], ["prod", "staging"]]}}, {"Assert": {"Fn::EachMemberEquals": [["a", "b"], "a"]}}]}
      },
      "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}
    }"#;

    fn run(version: &str, env: &str) -> Result<crate::Plan, crate::Error> {
        let params: BTreeMap<String, String> = [("Env".to_owned(), env.to_owned())].into();
        let ssm: BTreeMap<String, String> =
            [("/cdk-bootstrap/hnb659fds/version".to_owned(), version.to_owned())].into();
        plan(&PlanInput {
            template_body: CDK,
            parameters: &params,
            pseudo: Pseudo::new("1", "us-east-1", "s", "i"),
            known_types: &["AWS::SQS::Queue"],
            ssm_parameters: &ssm,
        })
    }

    /// The shape `cdk synth` produces: asset parameters gone (v2), CDKMetadata behind a region
    /// condition, Metadata on every resource, roles referenced by GetAtt.
    #[test]
    fn cdk_synthesized_template_plans() {
        let body = r#"{
          "Resources": {
            "HandlerServiceRoleFCDC14AE": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}], "Version": "2012-10-17"},
              "ManagedPolicyArns": [{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]]}]},
              "Metadata": {"aws:cdk:path": "App/Handler/ServiceRole/Resource"}},
            "Handler886CB40B": {"Type": "AWS::Lambda::Function", "Properties": {"Code": {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}, "S3Key": "abc.zip"},
              "Role": {"Fn::GetAtt": ["HandlerServiceRoleFCDC14AE", "Arn"]}, "Handler": "index.handler", "Runtime": "nodejs20.x"},
              "DependsOn": ["HandlerServiceRoleFCDC14AE"], "Metadata": {"aws:cdk:path": "App/Handler/Resource", "aws:asset:path": "asset.abc"}},
            "CDKMetadata": {"Type": "AWS::CDK::Metadata", "Properties": {"Analytics": "v2:deflate64:xyz"}, "Condition": "CDKMetadataAvailable"}
          },
          "Outputs": {"FnName": {"Value": {"Ref": "Handler886CB40B"}}},
          "Conditions": {"CDKMetadataAvailable": {"Fn::Or": [
            {"Fn::Or": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "af-south-1"]}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]},
            {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-west-2"]}]}},
          "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version",
            "Description": "Version of the CDK Bootstrap resources in this environment, automatically retrieved from SSM Parameter Store. [cdk:skip]"}},
          "Rules": {"CheckBootstrapVersion": {"Assertions": [{"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
            "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI."}]}}
        }"#;
        let ssm: BTreeMap<String, String> =
            [("/cdk-bootstrap/hnb659fds/version".to_owned(), "21".to_owned())].into();
        let p = plan(&PlanInput {
            template_body: body,
            parameters: &BTreeMap::new(),
            pseudo: Pseudo::new("123456789012", "us-east-1", "App", "i"),
            known_types: &["AWS::IAM::Role", "AWS::Lambda::Function", "AWS::CDK::Metadata"],
            ssm_parameters: &ssm,
        })
        .expect("plans");
        assert_eq!(p.order, vec!["CDKMetadata", "HandlerServiceRoleFCDC14AE", "Handler886CB40B"]);
        assert!(p.conditions["CDKMetadataAvailable"]);
    }

    #[test]
    fn cdk_bootstrap_rule_and_conditional_rules() {
        assert!(run("21", "dev").is_ok());
        assert_eq!(
            run("4", "dev").expect_err("old bootstrap").to_string(),
            "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI."
        );
        assert_eq!(
            run("21", "prod").expect_err("rule applies").to_string(),
            "Assertion failed for rule ProdOnly"
        );
    }
}
