//! Resource providers: for each resource type Nimbus can provision, how its properties become
//! calls to the owning service's API (create, update in place or ask for replacement, delete)
//! and which `Fn::GetAtt` attributes it answers. One module per service; this one is the
//! closed table of types and the dispatch.
//!
//! A provider's error is the reason a stack event shows: the service's own message where the
//! service refused, so a bad property reads as the service would report it.

mod apigateway;
mod apigatewayv2;
mod dynamodb;
mod events;
mod iam;
mod lambda;
mod logs;
mod s3;
mod scheduler;
mod sns;
mod sqs;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api::Api;
use crate::model::ResourceRecord;

/// Every resource type Nimbus provisions, with the attributes `Fn::GetAtt` can read.
const TABLE: &[(&str, &[&str])] = &[
    ("AWS::IAM::Role", &["Arn", "RoleId"]),
    ("AWS::IAM::Policy", &["Id"]),
    ("AWS::IAM::ManagedPolicy", &["PolicyArn", "PolicyId"]),
    ("AWS::Lambda::Function", &["Arn"]),
    ("AWS::Lambda::Permission", &["Id"]),
    ("AWS::Lambda::Version", &["Version", "FunctionArn"]),
    ("AWS::Lambda::Alias", &["AliasArn"]),
    ("AWS::Lambda::EventSourceMapping", &["Id", "EventSourceMappingArn"]),
    ("AWS::Lambda::Url", &["FunctionArn", "FunctionUrl"]),
    ("AWS::Lambda::EventInvokeConfig", &[]),
    ("AWS::Lambda::LayerVersion", &["LayerVersionArn"]),
    ("AWS::SQS::Queue", &["Arn", "QueueName", "QueueUrl"]),
    ("AWS::SQS::QueuePolicy", &["Id"]),
    ("AWS::SNS::Topic", &["TopicArn", "TopicName"]),
    ("AWS::SNS::Subscription", &["Arn"]),
    ("AWS::SNS::TopicPolicy", &["Id"]),
    ("AWS::DynamoDB::Table", &["Arn", "StreamArn"]),
    ("AWS::S3::Bucket", &["Arn", "DomainName", "RegionalDomainName", "WebsiteURL", "DualStackDomainName"]),
    ("AWS::S3::BucketPolicy", &[]),
    ("AWS::Events::EventBus", &["Arn", "Name"]),
    ("AWS::Events::Rule", &["Arn"]),
    ("AWS::Events::Archive", &["Arn", "ArchiveName"]),
    ("AWS::Logs::LogGroup", &["Arn"]),
    ("AWS::ApiGateway::RestApi", &["RestApiId", "RootResourceId"]),
    ("AWS::ApiGateway::Resource", &["ResourceId"]),
    ("AWS::ApiGateway::Method", &[]),
    ("AWS::ApiGateway::Deployment", &["DeploymentId"]),
    ("AWS::ApiGateway::Stage", &[]),
    ("AWS::ApiGateway::Authorizer", &["AuthorizerId"]),
    ("AWS::ApiGateway::ApiKey", &["APIKeyId"]),
    ("AWS::ApiGateway::UsagePlan", &["Id"]),
    ("AWS::ApiGateway::UsagePlanKey", &["Id"]),
    ("AWS::ApiGateway::Model", &[]),
    ("AWS::ApiGateway::RequestValidator", &["RequestValidatorId"]),
    ("AWS::ApiGateway::GatewayResponse", &["Id"]),
    (
        "AWS::ApiGateway::DomainName",
        &[
            "DistributionDomainName",
            "DistributionHostedZoneId",
            "RegionalDomainName",
            "RegionalHostedZoneId",
            "DomainNameArn",
        ],
    ),
    ("AWS::ApiGateway::BasePathMapping", &[]),
    ("AWS::ApiGatewayV2::Api", &["ApiEndpoint", "ApiId"]),
    ("AWS::ApiGatewayV2::Integration", &["IntegrationId"]),
    ("AWS::ApiGatewayV2::Route", &["RouteId"]),
    ("AWS::ApiGatewayV2::Stage", &[]),
    ("AWS::ApiGatewayV2::Deployment", &["DeploymentId"]),
    ("AWS::ApiGatewayV2::Authorizer", &["AuthorizerId"]),
    ("AWS::ApiGatewayV2::DomainName", &["RegionalDomainName", "RegionalHostedZoneId", "DomainNameArn"]),
    ("AWS::ApiGatewayV2::ApiMapping", &["ApiMappingId"]),
    ("AWS::Scheduler::Schedule", &["Arn"]),
    ("AWS::Scheduler::ScheduleGroup", &["Arn", "State"]),
];

/// The types, as the planner wants them.
pub const TYPES: &[&str] = &{
    let mut out = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = TABLE[i].0;
        i += 1;
    }
    out
};

/// Whether `Fn::GetAtt` of `attribute` works on a resource of `resource_type`.
pub fn supports(resource_type: &str, attribute: &str) -> bool {
    TABLE.iter().any(|(t, attrs)| *t == resource_type && attrs.contains(&attribute))
}

/// What a provider reports of a resource it created or updated.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    /// `Ref`'s answer.
    pub physical_id: String,
    pub attributes: BTreeMap<String, Value>,
}

impl Created {
    pub fn new(physical_id: impl Into<String>) -> Created {
        Created { physical_id: physical_id.into(), attributes: BTreeMap::new() }
    }

    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Created {
        self.attributes.insert(name.to_owned(), value.into());
        self
    }
}

/// Where a provider works: the APIs, and the names CloudFormation derives physical names from.
pub struct Cx<'a> {
    pub api: Api<'a>,
    pub stack_name: &'a str,
    pub logical_id: &'a str,
}

impl Cx<'_> {
    /// A physical name as CloudFormation generates one, `{stack}-{logical id}-{random}`, cut to
    /// `max` characters.
    pub fn name(&self, max: usize) -> String {
        generated_name(self.stack_name, self.logical_id, max)
    }

    pub fn account(&self) -> &str {
        self.api.scope().account.as_str()
    }

    pub fn region(&self) -> &str {
        self.api.scope().region.as_str()
    }
}

pub fn generated_name(stack: &str, logical: &str, max: usize) -> String {
    const SUFFIX: usize = 12;
    let suffix = types::ids::random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", SUFFIX);
    let room = max.saturating_sub(SUFFIX + 2);
    let (mut s, mut l) = (stack.len(), logical.len());
    while s + l > room {
        if s >= l { s -= 1 } else { l -= 1 }
    }
    format!("{}-{}-{suffix}", &stack[..s], &logical[..l])
}

pub type Outcome<T> = Result<T, String>;

pub async fn create(cx: &Cx<'_>, resource_type: &str, props: &Value) -> Outcome<Created> {
    match resource_type {
        "AWS::IAM::Role" => iam::create_role(cx, props).await,
        "AWS::IAM::Policy" => iam::create_policy(cx, props).await,
        "AWS::IAM::ManagedPolicy" => iam::create_managed_policy(cx, props).await,
        "AWS::Lambda::Function" => lambda::create_function(cx, props).await,
        "AWS::Lambda::Permission" => lambda::create_permission(cx, props).await,
        "AWS::Lambda::Version" => lambda::create_version(cx, props).await,
        "AWS::Lambda::Alias" => lambda::create_alias(cx, props).await,
        "AWS::Lambda::EventSourceMapping" => lambda::create_mapping(cx, props).await,
        "AWS::Lambda::Url" => lambda::create_url(cx, props).await,
        "AWS::Lambda::EventInvokeConfig" => lambda::put_invoke_config(cx, props).await,
        "AWS::Lambda::LayerVersion" => lambda::create_layer_version(cx, props).await,
        "AWS::SQS::Queue" => sqs::create_queue(cx, props).await,
        "AWS::SQS::QueuePolicy" => sqs::put_policy(cx, props).await,
        "AWS::SNS::Topic" => sns::create_topic(cx, props).await,
        "AWS::SNS::Subscription" => sns::subscribe(cx, props).await,
        "AWS::SNS::TopicPolicy" => sns::put_policy(cx, props).await,
        "AWS::DynamoDB::Table" => dynamodb::create_table(cx, props).await,
        "AWS::S3::Bucket" => s3::create_bucket(cx, props).await,
        "AWS::S3::BucketPolicy" => s3::put_policy(cx, props).await,
        "AWS::Events::EventBus" => events::create_bus(cx, props).await,
        "AWS::Events::Rule" => events::put_rule(cx, props, None).await,
        "AWS::Events::Archive" => events::create_archive(cx, props).await,
        "AWS::Logs::LogGroup" => logs::create_group(cx, props).await,
        "AWS::ApiGateway::RestApi" => apigateway::create_rest_api(cx, props).await,
        "AWS::ApiGateway::Resource" => apigateway::create_resource(cx, props).await,
        "AWS::ApiGateway::Method" => apigateway::put_method(cx, props).await,
        "AWS::ApiGateway::Deployment" => apigateway::create_deployment(cx, props).await,
        "AWS::ApiGateway::Stage" => apigateway::create_stage(cx, props).await,
        "AWS::ApiGateway::Authorizer" => apigateway::create_authorizer(cx, props).await,
        "AWS::ApiGateway::ApiKey" => apigateway::create_api_key(cx, props).await,
        "AWS::ApiGateway::UsagePlan" => apigateway::create_usage_plan(cx, props).await,
        "AWS::ApiGateway::UsagePlanKey" => apigateway::create_usage_plan_key(cx, props).await,
        "AWS::ApiGateway::Model" => apigateway::create_model(cx, props).await,
        "AWS::ApiGateway::RequestValidator" => apigateway::create_request_validator(cx, props).await,
        "AWS::ApiGateway::GatewayResponse" => apigateway::put_gateway_response(cx, props).await,
        "AWS::ApiGateway::DomainName" => apigateway::create_domain_name(cx, props).await,
        "AWS::ApiGateway::BasePathMapping" => apigateway::create_base_path_mapping(cx, props).await,
        "AWS::ApiGatewayV2::DomainName" => apigatewayv2::create_domain_name(cx, props).await,
        "AWS::ApiGatewayV2::ApiMapping" => apigatewayv2::create_api_mapping(cx, props).await,
        "AWS::ApiGatewayV2::Authorizer" => apigatewayv2::create_authorizer(cx, props).await,
        "AWS::ApiGatewayV2::Api" => apigatewayv2::create_api(cx, props).await,
        "AWS::ApiGatewayV2::Integration" => apigatewayv2::create_integration(cx, props).await,
        "AWS::ApiGatewayV2::Route" => apigatewayv2::create_route(cx, props).await,
        "AWS::ApiGatewayV2::Stage" => apigatewayv2::create_stage(cx, props).await,
        "AWS::ApiGatewayV2::Deployment" => apigatewayv2::create_deployment(cx, props).await,
        "AWS::Scheduler::Schedule" => scheduler::create_schedule(cx, props).await,
        "AWS::Scheduler::ScheduleGroup" => scheduler::create_group(cx, props).await,
        other => Err(format!("Resource type {other} is not supported by Nimbus")),
    }
}

/// Updates a resource in place: `Ok(Some(..))` with its (possibly new) identity, or `Ok(None)`
/// when the change needs a new physical resource (which the engine then creates).
pub async fn update(cx: &Cx<'_>, old: &ResourceRecord, props: &Value) -> Outcome<Option<Created>> {
    let id = old.physical_id.clone().unwrap_or_default();
    let same = |k: &str| old.properties.get(k) == props.get(k);
    let keep = || Created { physical_id: id.clone(), attributes: old.attributes.clone() };
    match old.resource_type.as_str() {
        "AWS::IAM::Role" if same("RoleName") && same("Path") => {
            iam::update_role(cx, old, props).await.map(Some)
        }
        "AWS::IAM::Policy" => iam::update_policy(cx, old, props).await.map(|()| Some(keep())),
        "AWS::Lambda::Function" if same("FunctionName") && same("PackageType") => {
            lambda::update_function(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::Lambda::Alias" if same("FunctionName") && same("Name") => {
            lambda::update_alias(cx, old, props).await.map(|()| Some(keep()))
        }
        "AWS::Lambda::EventSourceMapping" if same("EventSourceArn") => {
            lambda::update_mapping(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::Lambda::EventInvokeConfig" if same("FunctionName") && same("Qualifier") => {
            lambda::put_invoke_config(cx, props).await.map(Some)
        }
        "AWS::SQS::Queue" if same("QueueName") && same("FifoQueue") => {
            sqs::set_attributes(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::SQS::QueuePolicy" => sqs::put_policy(cx, props).await.map(Some),
        "AWS::SNS::Topic" if same("TopicName") && same("FifoTopic") => {
            sns::update_topic(cx, &id, old, props).await.map(|()| Some(keep()))
        }
        "AWS::SNS::Subscription" if same("TopicArn") && same("Protocol") && same("Endpoint") => {
            sns::update_subscription(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::SNS::TopicPolicy" => sns::put_policy(cx, props).await.map(Some),
        "AWS::DynamoDB::Table" if same("TableName") && same("KeySchema") => {
            dynamodb::update_table(cx, &id, old, props).await.map(Some)
        }
        "AWS::S3::Bucket" if same("BucketName") => s3::configure(cx, &id, props).await.map(|()| Some(keep())),
        "AWS::S3::BucketPolicy" if same("Bucket") => s3::put_policy(cx, props).await.map(Some),
        "AWS::Events::EventBus" if same("Name") => Ok(Some(keep())),
        "AWS::Events::Rule" if same("Name") && same("EventBusName") => {
            events::put_rule(cx, props, Some(old)).await.map(Some)
        }
        "AWS::Logs::LogGroup" if same("LogGroupName") => {
            logs::configure(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::ApiGateway::RestApi" => {
            apigateway::update_rest_api(cx, &id, props).await.map(|()| Some(keep()))
        }
        // A gateway response is keyed by its type: putting it again updates it in place.
        "AWS::ApiGateway::GatewayResponse" if same("RestApiId") && same("ResponseType") => {
            apigateway::put_gateway_response(cx, props).await.map(|_| Some(keep()))
        }
        "AWS::ApiGateway::Stage" if same("RestApiId") && same("StageName") => {
            apigateway::update_stage(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::ApiGatewayV2::Api" => apigatewayv2::update_api(cx, &id, props).await.map(|()| Some(keep())),
        "AWS::ApiGatewayV2::Stage" if same("ApiId") && same("StageName") => {
            apigatewayv2::update_stage(cx, &id, props).await.map(|()| Some(keep()))
        }
        "AWS::Scheduler::Schedule" if same("Name") && same("GroupName") => {
            scheduler::update_schedule(cx, &id, props).await.map(|()| Some(keep()))
        }
        _ => Ok(None),
    }
}

/// Deletes a resource; one already gone is deleted.
pub async fn delete(cx: &Cx<'_>, r: &ResourceRecord) -> Outcome<()> {
    let id = r.physical_id.clone().unwrap_or_default();
    let p = &r.properties;
    let result = match r.resource_type.as_str() {
        "AWS::IAM::Role" => iam::delete_role(cx, &id).await,
        "AWS::IAM::Policy" => iam::delete_policy(cx, p).await,
        "AWS::IAM::ManagedPolicy" => iam::delete_managed_policy(cx, r).await,
        "AWS::Lambda::Function" => lambda::delete_function(cx, &id).await,
        "AWS::Lambda::Permission" => lambda::delete_permission(cx, &id, p).await,
        "AWS::Lambda::Version" => lambda::delete_version(cx, &id).await,
        "AWS::Lambda::Alias" => lambda::delete_alias(cx, p).await,
        "AWS::Lambda::EventSourceMapping" => lambda::delete_mapping(cx, &id).await,
        "AWS::Lambda::Url" => lambda::delete_url(cx, p).await,
        "AWS::Lambda::EventInvokeConfig" => lambda::delete_invoke_config(cx, p).await,
        "AWS::Lambda::LayerVersion" => lambda::delete_layer_version(cx, &id).await,
        "AWS::SQS::Queue" => sqs::delete_queue(cx, &id).await,
        "AWS::SQS::QueuePolicy" => sqs::delete_policy(cx, p).await,
        "AWS::SNS::Topic" => sns::delete_topic(cx, &id).await,
        "AWS::SNS::Subscription" => sns::unsubscribe(cx, &id).await,
        "AWS::SNS::TopicPolicy" => Ok(()),
        "AWS::DynamoDB::Table" => dynamodb::delete_table(cx, &id).await,
        "AWS::S3::Bucket" => s3::delete_bucket(cx, &id).await,
        "AWS::S3::BucketPolicy" => s3::delete_policy(cx, p).await,
        "AWS::Events::EventBus" => events::delete_bus(cx, &id).await,
        "AWS::Events::Rule" => events::delete_rule(cx, r).await,
        "AWS::Events::Archive" => events::delete_archive(cx, &id).await,
        "AWS::Logs::LogGroup" => logs::delete_group(cx, &id).await,
        "AWS::ApiGateway::RestApi" => apigateway::delete_rest_api(cx, &id).await,
        "AWS::ApiGateway::Resource" => apigateway::delete_resource(cx, &id, p).await,
        "AWS::ApiGateway::Method" => apigateway::delete_method(cx, p).await,
        "AWS::ApiGateway::Deployment" => apigateway::delete_deployment(cx, &id, p).await,
        "AWS::ApiGateway::Stage" => apigateway::delete_stage(cx, &id, p).await,
        "AWS::ApiGateway::Authorizer" => apigateway::delete_authorizer(cx, &id, p).await,
        "AWS::ApiGateway::ApiKey" => apigateway::delete_api_key(cx, &id).await,
        "AWS::ApiGateway::UsagePlan" => apigateway::delete_usage_plan(cx, &id).await,
        "AWS::ApiGateway::UsagePlanKey" => apigateway::delete_usage_plan_key(cx, &id, p).await,
        "AWS::ApiGateway::Model" => apigateway::delete_model(cx, &id, p).await,
        "AWS::ApiGateway::RequestValidator" => apigateway::delete_request_validator(cx, &id, p).await,
        "AWS::ApiGateway::GatewayResponse" => apigateway::delete_gateway_response(cx, p).await,
        "AWS::ApiGateway::DomainName" => apigateway::delete_domain_name(cx, &id).await,
        "AWS::ApiGateway::BasePathMapping" => apigateway::delete_base_path_mapping(cx, p).await,
        "AWS::ApiGatewayV2::DomainName" => apigatewayv2::delete_domain_name(cx, &id).await,
        "AWS::ApiGatewayV2::ApiMapping" => apigatewayv2::delete_api_mapping(cx, &id, p).await,
        "AWS::ApiGatewayV2::Authorizer" => apigatewayv2::delete_child(cx, p, "authorizers", &id).await,
        "AWS::ApiGatewayV2::Api" => apigatewayv2::delete_api(cx, &id).await,
        "AWS::ApiGatewayV2::Integration" => apigatewayv2::delete_child(cx, p, "integrations", &id).await,
        "AWS::ApiGatewayV2::Route" => apigatewayv2::delete_child(cx, p, "routes", &id).await,
        "AWS::ApiGatewayV2::Stage" => apigatewayv2::delete_child(cx, p, "stages", &id).await,
        "AWS::ApiGatewayV2::Deployment" => apigatewayv2::delete_child(cx, p, "deployments", &id).await,
        "AWS::Scheduler::Schedule" => scheduler::delete_schedule(cx, &id, p).await,
        "AWS::Scheduler::ScheduleGroup" => scheduler::delete_group(cx, &id).await,
        _ => Ok(()),
    };
    result.or_else(|e| if e.is_not_found() { Ok(()) } else { Err(e.to_string()) })
}

// Property readers: CloudFormation accepts numbers and booleans as strings too.

pub fn text(props: &Value, key: &str) -> Option<String> {
    match props.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn required(props: &Value, key: &str) -> Outcome<String> {
    text(props, key)
        .ok_or_else(|| format!("Properties validation failed for resource: required key [{key}] not found"))
}

pub fn int(props: &Value, key: &str) -> Option<i64> {
    match props.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn boolean(props: &Value, key: &str) -> Option<bool> {
    match props.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    }
}

/// A JSON document property (policies, patterns) as text: objects serialized, strings as given.
pub fn document(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `Tags: [{Key, Value}]` as pairs.
pub fn tags(props: &Value) -> Vec<(String, String)> {
    props
        .get("Tags")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|t| Some((text(t, "Key")?, text(t, "Value").unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default()
}

/// `Tags` as a JSON map (`{"k": "v"}`), the shape rest-json services take.
pub fn tag_map(props: &Value) -> Value {
    let map: serde_json::Map<String, Value> = tags(props).into_iter().map(|(k, v)| (k, json!(v))).collect();
    Value::Object(map)
}

/// Copies the listed properties that are present into a JSON request body.
pub fn copy(props: &Value, keys: &[&str], body: &mut serde_json::Map<String, Value>) {
    for k in keys {
        if let Some(v) = props.get(*k) {
            body.insert((*k).to_owned(), v.clone());
        }
    }
}

/// Percent-encodes everything but unreserved characters, for path segments.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The last segment of an ARN after `sep` (a function name from its ARN, etc.).
pub fn last_segment(arn: &str, sep: char) -> &str {
    arn.rsplit(sep).next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit_and_keep_their_shape() {
        let n = generated_name("my-stack", "Queue", 80);
        assert!(n.starts_with("my-stack-Queue-"), "{n}");
        assert_eq!(n.len(), "my-stack-Queue-".len() + 12);
        let long = generated_name(&"s".repeat(100), &"L".repeat(100), 64);
        assert_eq!(long.len(), 64);
    }

    #[test]
    fn types_and_attributes() {
        assert!(TYPES.contains(&"AWS::SQS::Queue"));
        assert!(supports("AWS::SQS::Queue", "Arn"));
        assert!(!supports("AWS::SQS::Queue", "Nope"));
        assert!(!supports("AWS::EC2::Instance", "Arn"));
    }
}
