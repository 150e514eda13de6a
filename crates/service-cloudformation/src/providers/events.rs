//! AWS::Events::EventBus, AWS::Events::Rule (with its targets) and AWS::Events::Archive,
//! through EventBridge's awsJson API.

use serde_json::{Map, Value, json};

use super::{Created, Cx, Outcome, copy, document, required, tags, text};
use crate::api::{ApiError, Json};
use crate::model::ResourceRecord;

async fn call(cx: &Cx<'_>, op: &str, body: Value) -> Result<Value, ApiError> {
    cx.api.json("events", Json::V1_1, &format!("AWSEvents.{op}"), body).await
}

fn err(e: ApiError) -> String {
    e.to_string()
}

pub async fn create_bus(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = required(props, "Name")?;
    let mut body = json!({"Name": name});
    copy(
        props,
        &["Description", "EventSourceName", "KmsKeyIdentifier", "DeadLetterConfig"],
        body.as_object_mut().expect("object"),
    );
    let t: Vec<Value> = tags(props).into_iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect();
    if !t.is_empty() {
        body["Tags"] = Value::Array(t);
    }
    let out = call(cx, "CreateEventBus", body).await.map_err(err)?;
    let arn = out.get("EventBusArn").cloned().unwrap_or(Value::Null);
    Ok(Created::new(name.clone()).with("Arn", arn).with("Name", name))
}

pub async fn delete_bus(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, "DeleteEventBus", json!({"Name": name})).await.map(drop)
}

/// The bus part of a rule's `EventBusName` (a name or an ARN).
fn bus_name(props: &Value) -> Option<String> {
    text(props, "EventBusName").map(|b| b.rsplit('/').next().unwrap_or(&b).to_owned())
}

fn targets(props: &Value) -> Vec<Value> {
    props.get("Targets").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn target_ids(props: &Value) -> Vec<String> {
    targets(props).iter().filter_map(|t| text(t, "Id")).collect()
}

/// PutRule and PutTargets; on update, targets the template dropped are removed.
pub async fn put_rule(cx: &Cx<'_>, props: &Value, old: Option<&ResourceRecord>) -> Outcome<Created> {
    let name = match (old, text(props, "Name")) {
        (Some(o), _) => {
            o.attributes.get("Name").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
                o.physical_id.clone().unwrap_or_default().rsplit('|').next().unwrap_or_default().to_owned()
            })
        }
        (None, Some(n)) => n,
        (None, None) => cx.name(64),
    };
    let bus = bus_name(props);
    let mut body = Map::new();
    body.insert("Name".into(), json!(name));
    if let Some(b) = &bus {
        body.insert("EventBusName".into(), json!(b));
    }
    copy(props, &["ScheduleExpression", "State", "Description", "RoleArn"], &mut body);
    if let Some(p) = props.get("EventPattern") {
        body.insert("EventPattern".into(), json!(document(p)));
    }
    let out = call(cx, "PutRule", Value::Object(body)).await.map_err(err)?;
    let arn = out.get("RuleArn").cloned().unwrap_or(Value::Null);
    let bus_field = bus.clone().map(|b| json!(b));
    if let Some(o) = old {
        let keep = target_ids(props);
        let dropped: Vec<String> =
            target_ids(&o.properties).into_iter().filter(|id| !keep.contains(id)).collect();
        if !dropped.is_empty() {
            let mut b = json!({"Rule": name, "Ids": dropped});
            if let Some(bus) = &bus_field {
                b["EventBusName"] = bus.clone();
            }
            call(cx, "RemoveTargets", b).await.map_err(err)?;
        }
    }
    let t = targets(props);
    if !t.is_empty() {
        let mut b = json!({"Rule": name, "Targets": t});
        if let Some(bus) = &bus_field {
            b["EventBusName"] = bus.clone();
        }
        let out = call(cx, "PutTargets", b).await.map_err(err)?;
        if let Some(failed) = out.get("FailedEntries").and_then(Value::as_array).and_then(|f| f.first()) {
            return Err(format!(
                "{} (Target {})",
                failed.get("ErrorMessage").and_then(Value::as_str).unwrap_or("PutTargets failed"),
                failed.get("TargetId").and_then(Value::as_str).unwrap_or_default()
            ));
        }
    }
    // Ref is the rule's name on the default bus, `bus|name` on another.
    let physical = match bus.as_deref() {
        Some(b) if b != "default" => format!("{b}|{name}"),
        _ => name.clone(),
    };
    Ok(Created::new(physical).with("Arn", arn).with("Name", name))
}

pub async fn delete_rule(cx: &Cx<'_>, r: &ResourceRecord) -> Result<(), ApiError> {
    let physical = r.physical_id.clone().unwrap_or_default();
    let name = physical.rsplit('|').next().unwrap_or_default().to_owned();
    let bus = bus_name(&r.properties);
    let with_bus = |mut b: Value| {
        if let Some(bus) = &bus {
            b["EventBusName"] = json!(bus);
        }
        b
    };
    let listed = call(cx, "ListTargetsByRule", with_bus(json!({"Rule": name}))).await?;
    let ids: Vec<Value> = listed
        .get("Targets")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(|x| x.get("Id").cloned()).collect())
        .unwrap_or_default();
    if !ids.is_empty() {
        call(cx, "RemoveTargets", with_bus(json!({"Rule": name, "Ids": ids}))).await?;
    }
    call(cx, "DeleteRule", with_bus(json!({"Name": name}))).await.map(drop)
}

pub async fn create_archive(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "ArchiveName").unwrap_or_else(|| cx.name(48));
    let mut body = Map::new();
    body.insert("ArchiveName".into(), json!(name));
    copy(props, &["SourceArn", "Description", "RetentionDays"], &mut body);
    if let Some(src) = body.remove("SourceArn") {
        body.insert("EventSourceArn".into(), src);
    }
    if let Some(p) = props.get("EventPattern") {
        body.insert("EventPattern".into(), json!(document(p)));
    }
    let out = call(cx, "CreateArchive", Value::Object(body)).await.map_err(err)?;
    let arn = out.get("ArchiveArn").cloned().unwrap_or(Value::Null);
    Ok(Created::new(name.clone()).with("Arn", arn).with("ArchiveName", name))
}

pub async fn delete_archive(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, "DeleteArchive", json!({"ArchiveName": name})).await.map(drop)
}
