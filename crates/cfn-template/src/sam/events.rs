//! A function's `Events`: each type becomes what SAM generates for it — API routes (collected
//! for the API resources), `{F}{E}` rules, schedules, subscriptions and event source mappings,
//! `{F}{E}Permission` for push sources, S3 notifications on the bucket.

use serde_json::{Map, Value, json};

use super::function::{Role, Target, as_map, assume_role};
use super::{Attributes, Sam, get_att, r#ref};
use crate::error::{Error, Result, invalid};

pub(crate) fn event(
    sam: &mut Sam,
    target: &Target,
    event_id: &str,
    event: &Value,
    role: Option<&mut Role>,
    at: &Attributes,
) -> Result<()> {
    let ty = event
        .get("Type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Missing required property 'Type'."))?;
    let empty = Map::new();
    let p = event.get("Properties").and_then(Value::as_object).unwrap_or(&empty);
    let f = &target.function_id;
    let id = format!("{f}{event_id}");
    match ty {
        "Api" => sam.apis.rest_route(target, event_id, p, at)?,
        "HttpApi" => sam.apis.http_route(target, event_id, p, at)?,
        "S3" => {
            let bucket = match p.get("Bucket").and_then(|b| crate::resolve::as_intrinsic(b)) {
                Some(("Ref", Value::String(b))) => b.clone(),
                _ => return Err(invalid("S3 events must reference an S3 bucket in the same template.")),
            };
            let events = match p.get("Events") {
                Some(Value::Array(items)) => items.clone(),
                Some(one) => vec![one.clone()],
                None => return Err(invalid("Missing required property 'Events'.")),
            };
            let permission = format!("{id}Permission");
            permission_resource(
                sam,
                &permission,
                target,
                "s3.amazonaws.com",
                None,
                Some(r#ref("AWS::AccountId")),
                at,
            );
            let entry = sam.buckets.entry(bucket).or_default();
            for e in events {
                let mut c = Map::new();
                c.insert("Event".into(), e);
                c.insert("Function".into(), target.arn.clone());
                if let Some(filter) = p.get("Filter") {
                    c.insert("Filter".into(), filter.clone());
                }
                entry.0.push(Value::Object(c));
            }
            entry.1.push(permission);
        }
        "EventBridgeRule" | "CloudWatchEvent" => {
            let mut r = Map::new();
            r.insert(
                "EventPattern".into(),
                p.get("Pattern").cloned().ok_or_else(|| invalid("Missing required property 'Pattern'."))?,
            );
            copy(p, &mut r, &[("EventBusName", "EventBusName"), ("RuleName", "Name"), ("State", "State")]);
            let mut t = Map::new();
            t.insert("Arn".into(), target.arn.clone());
            t.insert(
                "Id".into(),
                p.get("Target")
                    .and_then(|t| t.get("Id"))
                    .cloned()
                    .unwrap_or_else(|| json!(format!("{id}LambdaTarget"))),
            );
            copy(
                p,
                &mut t,
                &[
                    ("Input", "Input"),
                    ("InputPath", "InputPath"),
                    ("InputTransformer", "InputTransformer"),
                    ("RetryPolicy", "RetryPolicy"),
                ],
            );
            if let Some(dlc) = p.get("DeadLetterConfig").and_then(|d| d.get("Arn")) {
                t.insert("DeadLetterConfig".into(), json!({"Arn": dlc}));
            }
            rule(sam, &id, r, t, target, at);
        }
        "Schedule" => {
            let mut r = Map::new();
            r.insert(
                "ScheduleExpression".into(),
                p.get("Schedule").cloned().ok_or_else(|| invalid("Missing required property 'Schedule'."))?,
            );
            copy(p, &mut r, &[("Name", "Name"), ("Description", "Description"), ("State", "State")]);
            if p.get("Enabled") == Some(&json!(false)) {
                r.insert("State".into(), json!("DISABLED"));
            } else if p.get("Enabled") == Some(&json!(true)) {
                r.insert("State".into(), json!("ENABLED"));
            }
            let mut t = Map::new();
            t.insert("Arn".into(), target.arn.clone());
            t.insert("Id".into(), json!(format!("{id}LambdaTarget")));
            copy(p, &mut t, &[("Input", "Input")]);
            rule(sam, &id, r, t, target, at);
        }
        "ScheduleV2" => {
            let mut s = Map::new();
            s.insert(
                "ScheduleExpression".into(),
                p.get("ScheduleExpression")
                    .cloned()
                    .ok_or_else(|| invalid("Missing required property 'ScheduleExpression'."))?,
            );
            s.insert(
                "FlexibleTimeWindow".into(),
                p.get("FlexibleTimeWindow").cloned().unwrap_or_else(|| json!({"Mode": "OFF"})),
            );
            if p.get("OmitName") != Some(&json!(true)) {
                s.insert("Name".into(), p.get("Name").cloned().unwrap_or_else(|| json!(id)));
            }
            copy(
                p,
                &mut s,
                &[
                    ("ScheduleExpressionTimezone", "ScheduleExpressionTimezone"),
                    ("GroupName", "GroupName"),
                    ("State", "State"),
                    ("StartDate", "StartDate"),
                    ("EndDate", "EndDate"),
                    ("Description", "Description"),
                    ("KmsKeyArn", "KmsKeyArn"),
                ],
            );
            let role_arn = match p.get("RoleArn") {
                Some(arn) => arn.clone(),
                None => {
                    let role_id = format!("{id}Role");
                    let policy = json!({
                        "PolicyName": format!("{id}LambdaPolicy"),
                        "PolicyDocument": {"Statement": [{"Action": "lambda:InvokeFunction", "Effect": "Allow", "Resource": target.arn}]},
                    });
                    let role = json!({
                        "AssumeRolePolicyDocument": assume_role("scheduler.amazonaws.com"),
                        "Policies": [policy],
                    });
                    sam.add(&role_id, at.resource("AWS::IAM::Role", as_map(role)));
                    get_att(&role_id, "Arn")
                }
            };
            let mut t = Map::new();
            t.insert("Arn".into(), target.arn.clone());
            t.insert("RoleArn".into(), role_arn);
            copy(
                p,
                &mut t,
                &[
                    ("Input", "Input"),
                    ("RetryPolicy", "RetryPolicy"),
                    ("DeadLetterConfig", "DeadLetterConfig"),
                ],
            );
            s.insert("Target".into(), Value::Object(t));
            sam.add(&id, at.resource("AWS::Scheduler::Schedule", s));
        }
        "SQS" | "DynamoDB" | "Kinesis" => {
            let (source, policy) = match ty {
                "SQS" => ("Queue", "AWSLambdaSQSQueueExecutionRole"),
                "DynamoDB" => ("Stream", "AWSLambdaDynamoDBExecutionRole"),
                _ => ("Stream", "AWSLambdaKinesisExecutionRole"),
            };
            let mut m = Map::new();
            m.insert(
                "EventSourceArn".into(),
                p.get(source)
                    .cloned()
                    .ok_or_else(|| invalid(format!("Missing required property '{source}'.")))?,
            );
            m.insert("FunctionName".into(), target.name.clone());
            const MAPPING: &[&str] = &[
                "BatchSize",
                "Enabled",
                "MaximumBatchingWindowInSeconds",
                "FilterCriteria",
                "FunctionResponseTypes",
                "ScalingConfig",
                "StartingPosition",
                "StartingPositionTimestamp",
                "MaximumRetryAttempts",
                "BisectBatchOnFunctionError",
                "MaximumRecordAgeInSeconds",
                "ParallelizationFactor",
                "DestinationConfig",
                "TumblingWindowInSeconds",
                "KmsKeyArn",
                "MetricsConfig",
            ];
            for key in MAPPING {
                if let Some(v) = p.get(*key) {
                    m.insert((*key).to_owned(), v.clone());
                }
            }
            if ty != "SQS" && !m.contains_key("StartingPosition") {
                return Err(invalid("Missing required property 'StartingPosition'."));
            }
            let mut r = at.resource("AWS::Lambda::EventSourceMapping", m);
            if let (Some(role), Some(role_id)) = (role, &target.role) {
                role.add_managed(policy);
                // The mapping checks the role can read the source when it is created.
                r["DependsOn"] = json!([role_id]);
            }
            sam.add(&id, r);
        }
        "SNS" => {
            let topic =
                p.get("Topic").cloned().ok_or_else(|| invalid("Missing required property 'Topic'."))?;
            if p.contains_key("SqsSubscription") {
                return Err(Error::NotImplemented(
                    "SNS events with SqsSubscription are not supported by Nimbus yet".into(),
                ));
            }
            let mut s = Map::new();
            s.insert("Endpoint".into(), target.arn.clone());
            s.insert("Protocol".into(), json!("lambda"));
            s.insert("TopicArn".into(), topic.clone());
            copy(
                p,
                &mut s,
                &[
                    ("FilterPolicy", "FilterPolicy"),
                    ("FilterPolicyScope", "FilterPolicyScope"),
                    ("Region", "Region"),
                    ("RedrivePolicy", "RedrivePolicy"),
                ],
            );
            sam.add(&id, at.resource("AWS::SNS::Subscription", s));
            permission_resource(
                sam,
                &format!("{id}Permission"),
                target,
                "sns.amazonaws.com",
                Some(topic),
                None,
                at,
            );
        }
        other => {
            return Err(Error::NotImplemented(format!(
                "Event source type {other} is not supported by Nimbus yet"
            )));
        }
    }
    Ok(())
}

/// An `AWS::Events::Rule` with its one Lambda target, and the permission for EventBridge.
fn rule(
    sam: &mut Sam,
    id: &str,
    mut r: Map<String, Value>,
    t: Map<String, Value>,
    target: &Target,
    at: &Attributes,
) {
    r.insert("Targets".into(), json!([t]));
    sam.add(id, at.resource("AWS::Events::Rule", r));
    let arn = Some(get_att(id, "Arn"));
    permission_resource(sam, &format!("{id}Permission"), target, "events.amazonaws.com", arn, None, at);
}

/// `AWS::Lambda::Permission` letting a service invoke the function (or its alias).
pub(crate) fn permission_resource(
    sam: &mut Sam,
    id: &str,
    target: &Target,
    principal: &str,
    source_arn: Option<Value>,
    source_account: Option<Value>,
    at: &Attributes,
) {
    let mut p = Map::new();
    p.insert("Action".into(), json!("lambda:InvokeFunction"));
    p.insert("FunctionName".into(), target.name.clone());
    p.insert("Principal".into(), json!(principal));
    if let Some(arn) = source_arn {
        p.insert("SourceArn".into(), arn);
    }
    if let Some(account) = source_account {
        p.insert("SourceAccount".into(), account);
    }
    sam.add(id, at.resource("AWS::Lambda::Permission", p));
}

/// Copies `from` keys of `p` into `to` under new names.
fn copy(p: &Map<String, Value>, to: &mut Map<String, Value>, keys: &[(&str, &str)]) {
    for (from, name) in keys {
        if let Some(v) = p.get(*from) {
            to.insert((*name).to_owned(), v.clone());
        }
    }
}
