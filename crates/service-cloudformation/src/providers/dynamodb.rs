//! AWS::DynamoDB::Table, through DynamoDB's awsJson API: CloudFormation's table properties are
//! CreateTable's shapes, plus TTL and stream settings applied after the table is active.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Created, Cx, Outcome, copy, tags, text};
use crate::api::{ApiError, Json};
use crate::model::ResourceRecord;

async fn call(cx: &Cx<'_>, op: &str, body: Value) -> Result<Value, ApiError> {
    cx.api.json("dynamodb", Json::V1_0, &format!("DynamoDB_20120810.{op}"), body).await
}

fn err(e: ApiError) -> String {
    e.to_string()
}

/// StreamSpecification in CloudFormation has only the view type; enabled is implied.
fn stream_spec(props: &Value) -> Option<Value> {
    let view = props.get("StreamSpecification").and_then(|s| text(s, "StreamViewType"))?;
    Some(json!({"StreamEnabled": true, "StreamViewType": view}))
}

async fn wait_active(cx: &Cx<'_>, name: &str) -> Outcome<Value> {
    for _ in 0..600 {
        let out = call(cx, "DescribeTable", json!({"TableName": name})).await.map_err(err)?;
        let table = out.get("Table").cloned().unwrap_or(Value::Null);
        let busy_index = table.get("GlobalSecondaryIndexes").and_then(Value::as_array).is_some_and(|g| {
            g.iter().any(|i| i.get("IndexStatus").and_then(Value::as_str) != Some("ACTIVE"))
        });
        if table.get("TableStatus").and_then(Value::as_str) == Some("ACTIVE") && !busy_index {
            return Ok(table);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("Table {name} did not become active in time"))
}

fn created(name: &str, table: &Value) -> Created {
    let mut c = Created::new(name).with("Arn", table.get("TableArn").cloned().unwrap_or(Value::Null));
    if let Some(stream) = table.get("LatestStreamArn") {
        c = c.with("StreamArn", stream.clone());
    }
    c
}

async fn ttl(cx: &Cx<'_>, name: &str, props: &Value, old: Option<&Value>) -> Outcome<()> {
    let spec = props.get("TimeToLiveSpecification");
    if spec == old.and_then(|o| o.get("TimeToLiveSpecification")) {
        return Ok(());
    }
    let (enabled, attribute) = match spec {
        Some(s) => (
            s.get("Enabled")
                .and_then(|v| v.as_bool().or_else(|| v.as_str().map(|t| t == "true")))
                .unwrap_or(false),
            text(s, "AttributeName"),
        ),
        None => {
            (false, old.and_then(|o| o.get("TimeToLiveSpecification")).and_then(|s| text(s, "AttributeName")))
        }
    };
    let Some(attribute) = attribute else { return Ok(()) };
    let body = json!({"TableName": name, "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute}});
    call(cx, "UpdateTimeToLive", body).await.map(drop).map_err(err)
}

pub async fn create_table(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "TableName").unwrap_or_else(|| cx.name(255));
    let mut body = Map::new();
    body.insert("TableName".into(), json!(name));
    copy(
        props,
        &[
            "AttributeDefinitions",
            "KeySchema",
            "LocalSecondaryIndexes",
            "GlobalSecondaryIndexes",
            "BillingMode",
            "ProvisionedThroughput",
            "TableClass",
            "SSESpecification",
            "DeletionProtectionEnabled",
            "OnDemandThroughput",
        ],
        &mut body,
    );
    if let Some(s) = stream_spec(props) {
        body.insert("StreamSpecification".into(), s);
    }
    let t: Vec<Value> = tags(props).into_iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    if !t.is_empty() {
        body.insert("Tags".into(), Value::Array(t));
    }
    call(cx, "CreateTable", Value::Object(body)).await.map_err(err)?;
    let table = wait_active(cx, &name).await?;
    ttl(cx, &name, props, None).await?;
    Ok(created(&name, &table))
}

pub async fn update_table(cx: &Cx<'_>, name: &str, old: &ResourceRecord, props: &Value) -> Outcome<Created> {
    let before = &old.properties;
    let mut body = Map::new();
    if before.get("BillingMode") != props.get("BillingMode")
        || before.get("ProvisionedThroughput") != props.get("ProvisionedThroughput")
    {
        copy(props, &["BillingMode", "ProvisionedThroughput"], &mut body);
    }
    if before.get("StreamSpecification") != props.get("StreamSpecification") {
        let spec = stream_spec(props).unwrap_or_else(|| json!({"StreamEnabled": false}));
        body.insert("StreamSpecification".into(), spec);
    }
    // Indexes: one create or delete per UpdateTable call, as DynamoDB allows.
    let names = |v: &Value| -> Vec<(String, Value)> {
        v.get("GlobalSecondaryIndexes")
            .and_then(Value::as_array)
            .map(|g| g.iter().filter_map(|i| Some((text(i, "IndexName")?, i.clone()))).collect())
            .unwrap_or_default()
    };
    let (old_gsis, new_gsis) = (names(before), names(props));
    let mut index_updates = Vec::new();
    for (n, _) in old_gsis.iter().filter(|(n, _)| !new_gsis.iter().any(|(m, _)| m == n)) {
        index_updates.push(json!({"Delete": {"IndexName": n}}));
    }
    for (n, spec) in new_gsis.iter().filter(|(n, _)| !old_gsis.iter().any(|(m, _)| m == n)) {
        let _ = n;
        index_updates.push(json!({"Create": spec}));
    }
    if !body.is_empty()
        || !index_updates.is_empty()
        || before.get("AttributeDefinitions") != props.get("AttributeDefinitions")
    {
        let mut first = true;
        let updates: Vec<Option<Value>> =
            if index_updates.is_empty() { vec![None] } else { index_updates.into_iter().map(Some).collect() };
        for update in updates {
            let mut b = if first { body.clone() } else { Map::new() };
            first = false;
            b.insert("TableName".into(), json!(name));
            copy(props, &["AttributeDefinitions"], &mut b);
            if let Some(u) = update {
                b.insert("GlobalSecondaryIndexUpdates".into(), json!([u]));
            }
            if b.len() > 2 || b.contains_key("GlobalSecondaryIndexUpdates") {
                call(cx, "UpdateTable", Value::Object(b)).await.map_err(err)?;
                wait_active(cx, name).await?;
            }
        }
    }
    ttl(cx, name, props, Some(before)).await?;
    let table = wait_active(cx, name).await?;
    Ok(created(name, &table))
}

pub async fn delete_table(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, "DeleteTable", json!({"TableName": name})).await.map(drop)
}
