//! CloudFormation and SAM templates: JSON or YAML text through `parse_document`, then the whole
//! plan (transforms, parameters, conditions, dependency order) and the resolution of every
//! resource's properties and the outputs against stand-in physical ids.
#![no_main]

use std::collections::BTreeMap;

use cfn_template::{PlanInput, Provisioned, Pseudo};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const TYPES: &[&str] = &[
    "AWS::S3::Bucket",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::DynamoDB::Table",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::LayerVersion",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Url",
    "AWS::Events::Rule",
    "AWS::Events::EventBus",
    "AWS::Logs::LogGroup",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
];

struct Everything;

impl Provisioned for Everything {
    fn physical_id(&self, logical_id: &str) -> Option<Value> {
        Some(json!(format!("{logical_id}-id")))
    }
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<Value> {
        (attribute != "Missing")
            .then(|| json!(format!("arn:aws:x:us-east-1:123456789012:{logical_id}/{attribute}")))
    }
    fn export(&self, name: &str) -> Option<Value> {
        Some(json!(format!("export-{name}")))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = cfn_template::parse_document(text);
    let _ = cfn_template::validate(text);
    let parameters: BTreeMap<String, String> = [("Env".to_owned(), "dev".to_owned())].into();
    let ssm = BTreeMap::new();
    let input = PlanInput {
        template_body: text,
        parameters: &parameters,
        pseudo: Pseudo::new(
            "123456789012",
            "us-east-1",
            "fuzz",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/fuzz/1",
        ),
        known_types: TYPES,
        ssm_parameters: &ssm,
    };
    let Ok(plan) = cfn_template::plan(&input) else { return };
    let _ = plan.waves();
    let _ = plan.deletion_order();
    for id in &plan.order {
        let _ = plan.resolve_properties(id, &Everything);
    }
    let _ = plan.resolve_outputs(&Everything);
});
