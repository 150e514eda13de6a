//! AWS::Logs::LogGroup, through CloudWatch Logs' awsJson API.

use serde_json::{Value, json};

use super::{Created, Cx, Outcome, int, tags, text};
use crate::api::{ApiError, Json};

async fn call(cx: &Cx<'_>, op: &str, body: Value) -> Result<Value, ApiError> {
    cx.api.json("logs", Json::V1_1, &format!("Logs_20140328.{op}"), body).await
}

pub async fn create_group(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "LogGroupName").unwrap_or_else(|| cx.name(512));
    let mut body = json!({"logGroupName": name});
    let t: serde_json::Map<String, Value> = tags(props).into_iter().map(|(k, v)| (k, json!(v))).collect();
    if !t.is_empty() {
        body["tags"] = Value::Object(t);
    }
    call(cx, "CreateLogGroup", body).await.map_err(|e| e.to_string())?;
    configure(cx, &name, props).await?;
    let arn = format!("arn:aws:logs:{}:{}:log-group:{name}:*", cx.region(), cx.account());
    Ok(Created::new(name).with("Arn", arn))
}

pub async fn configure(cx: &Cx<'_>, name: &str, props: &Value) -> Outcome<()> {
    let result = match int(props, "RetentionInDays") {
        Some(days) => {
            call(cx, "PutRetentionPolicy", json!({"logGroupName": name, "retentionInDays": days})).await
        }
        None => call(cx, "DeleteRetentionPolicy", json!({"logGroupName": name})).await,
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() && int(props, "RetentionInDays").is_none() => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

pub async fn delete_group(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, "DeleteLogGroup", json!({"logGroupName": name})).await.map(drop)
}
