//! DynamoDB's output shapes for tables: `TableDescription` with its indexes, throughput,
//! billing, stream and class summaries, as the SDKs parse them.

use serde_json::{Map, Value, json};
use types::Scope;

use crate::model::{IndexRecord, KeyDefs, TableRecord, Throughput};

pub fn key_schema(keys: &KeyDefs) -> Value {
    let mut out = vec![json!({ "AttributeName": keys.partition.name, "KeyType": "HASH" })];
    if let Some(sort) = &keys.sort {
        out.push(json!({ "AttributeName": sort.name, "KeyType": "RANGE" }));
    }
    Value::Array(out)
}

fn throughput(t: Option<&Throughput>) -> Value {
    let (read, write) = t.map_or((0, 0), |t| (t.read, t.write));
    json!({ "NumberOfDecreasesToday": 0, "ReadCapacityUnits": read, "WriteCapacityUnits": write })
}

fn projection(index: &IndexRecord) -> Value {
    let mut p = json!({ "ProjectionType": index.projection });
    if !index.non_key.is_empty() {
        p["NonKeyAttributes"] = json!(index.non_key);
    }
    p
}

/// A table's description; `stats` is (ItemCount, TableSizeBytes); `index_status` overrides the
/// GSIs' `ACTIVE` (a table being created has its indexes being created too).
pub fn table(
    scope: &Scope,
    t: &TableRecord,
    status: &str,
    stats: (u64, u64),
    index_status: Option<&str>,
) -> Value {
    let arn = t.arn(scope);
    let mut out = Map::new();
    let attributes: Vec<Value> =
        t.attributes.iter().map(|a| json!({ "AttributeName": a.name, "AttributeType": a.kind })).collect();
    out.insert("AttributeDefinitions".into(), Value::Array(attributes));
    out.insert("TableName".into(), json!(t.name));
    out.insert("KeySchema".into(), key_schema(&t.keys));
    out.insert("TableStatus".into(), json!(status));
    out.insert("CreationDateTime".into(), json!(t.created));
    out.insert("ProvisionedThroughput".into(), throughput(t.throughput.as_ref()));
    out.insert("TableSizeBytes".into(), json!(stats.1));
    out.insert("ItemCount".into(), json!(stats.0));
    out.insert("TableArn".into(), json!(arn));
    out.insert("TableId".into(), json!(t.id));
    if t.billing_mode == "PAY_PER_REQUEST" {
        out.insert(
            "BillingModeSummary".into(),
            json!({ "BillingMode": t.billing_mode, "LastUpdateToPayPerRequestDateTime": t.created }),
        );
    }
    // Index sizes and counts are not tracked per index; DynamoDB itself refreshes them only
    // every few hours, and no client relies on them.
    let index = |i: &IndexRecord| {
        json!({
            "IndexName": i.name,
            "KeySchema": key_schema(&i.keys),
            "Projection": projection(i),
            "IndexSizeBytes": 0,
            "ItemCount": 0,
            "IndexArn": format!("{arn}/index/{}", i.name),
        })
    };
    if !t.lsis.is_empty() {
        out.insert("LocalSecondaryIndexes".into(), t.lsis.iter().map(index).collect());
    }
    if !t.gsis.is_empty() {
        let gsis = t.gsis.iter().map(|i| {
            let mut g = index(i);
            g["IndexStatus"] = json!(index_status.unwrap_or("ACTIVE"));
            g["ProvisionedThroughput"] = throughput(i.throughput.as_ref());
            g
        });
        out.insert("GlobalSecondaryIndexes".into(), gsis.collect());
    }
    if let Some(stream) = &t.stream {
        let mut spec = json!({ "StreamEnabled": stream.enabled });
        if stream.enabled
            && let Some(view) = &stream.view_type
        {
            spec["StreamViewType"] = json!(view);
        }
        out.insert("StreamSpecification".into(), spec);
        if let Some(label) = &stream.label {
            out.insert("LatestStreamLabel".into(), json!(label));
            out.insert("LatestStreamArn".into(), json!(format!("{arn}/stream/{label}")));
        }
    }
    if let Some(class) = &t.table_class {
        out.insert("TableClassSummary".into(), json!({ "TableClass": class }));
    }
    out.insert("DeletionProtectionEnabled".into(), json!(t.deletion_protection));
    Value::Object(out)
}
