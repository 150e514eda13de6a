//! AWS::Scheduler::Schedule and AWS::Scheduler::ScheduleGroup, through EventBridge Scheduler's
//! rest-json API (its members have the same PascalCase names as CloudFormation's properties).

use http::Method;
use serde_json::{Map, Value, json};

use super::{Created, Cx, Outcome, copy, text};
use crate::api::ApiError;

const SCHEDULE: &[&str] = &[
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "FlexibleTimeWindow",
    "Target",
    "State",
    "Description",
    "GroupName",
    "StartDate",
    "EndDate",
    "KmsKeyArn",
];

async fn call(cx: &Cx<'_>, method: Method, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
    cx.api.rest_json("scheduler", method, path, body).await
}

fn body(props: &Value) -> Value {
    let mut b = Map::new();
    copy(props, SCHEDULE, &mut b);
    b.entry("FlexibleTimeWindow").or_insert(json!({"Mode": "OFF"}));
    Value::Object(b)
}

pub async fn create_schedule(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "Name").unwrap_or_else(|| cx.name(64));
    let out = call(cx, Method::POST, &format!("/schedules/{name}"), Some(body(props)))
        .await
        .map_err(|e| e.to_string())?;
    let arn = out.get("ScheduleArn").cloned().unwrap_or(Value::Null);
    Ok(Created::new(name).with("Arn", arn))
}

pub async fn update_schedule(cx: &Cx<'_>, name: &str, props: &Value) -> Outcome<()> {
    call(cx, Method::PUT, &format!("/schedules/{name}"), Some(body(props)))
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

pub async fn delete_schedule(cx: &Cx<'_>, name: &str, props: &Value) -> Result<(), ApiError> {
    let mut path = format!("/schedules/{name}");
    if let Some(g) = text(props, "GroupName") {
        path.push_str(&format!("?groupName={g}"));
    }
    call(cx, Method::DELETE, &path, None).await.map(drop)
}

pub async fn create_group(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "Name").unwrap_or_else(|| cx.name(64));
    let tags: Vec<Value> =
        super::tags(props).into_iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    let mut b = json!({});
    if !tags.is_empty() {
        b["Tags"] = Value::Array(tags);
    }
    let out = call(cx, Method::POST, &format!("/schedule-groups/{name}"), Some(b))
        .await
        .map_err(|e| e.to_string())?;
    let arn = out.get("ScheduleGroupArn").cloned().unwrap_or(Value::Null);
    Ok(Created::new(name).with("Arn", arn).with("State", "ACTIVE"))
}

pub async fn delete_group(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/schedule-groups/{name}"), None).await.map(drop)
}
