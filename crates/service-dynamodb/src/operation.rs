//! Parsing a request into [`Operation`]: the target names the operation, the body is decoded
//! into that operation's input (required members and JSON types checked as DynamoDB checks
//! them). No IO. Items and keys stay DynamoDB JSON here and are validated by the handlers,
//! which know the table's key schema and report errors in DynamoDB's order.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

/// The `X-Amz-Target` prefix of DynamoDB.
pub const TARGET: &str = "DynamoDB_20120810";
/// The `X-Amz-Target` prefix of DynamoDB Streams.
pub const STREAMS_TARGET: &str = "DynamoDBStreams_20120810";

/// Every operation Nimbus serves.
#[derive(Debug)]
pub enum Operation {
    CreateTable(Box<CreateTable>),
    DescribeTable(TableName),
    ListTables(ListTables),
    DeleteTable(TableName),
    UpdateTable(Box<UpdateTable>),
    DescribeEndpoints,
    DescribeLimits,
    TagResource(TagResource),
    UntagResource(UntagResource),
    ListTagsOfResource(ResourceArn),
    UpdateTimeToLive(UpdateTimeToLive),
    DescribeTimeToLive(TableName),
    PutItem(Box<PutItem>),
    GetItem(Box<GetItem>),
    UpdateItem(Box<UpdateItem>),
    DeleteItem(Box<DeleteItem>),
    Query(Box<Query>),
    Scan(Box<Scan>),
    BatchGetItem(Box<BatchGetItem>),
    BatchWriteItem(Box<BatchWriteItem>),
    TransactGetItems(Box<TransactGetItems>),
    TransactWriteItems(Box<TransactWriteItems>),
    ListStreams(ListStreams),
    DescribeStream(DescribeStream),
    GetShardIterator(GetShardIterator),
    GetRecords(GetRecords),
    ExecuteStatement(Box<ExecuteStatement>),
    BatchExecuteStatement(Box<BatchExecuteStatement>),
    ExecuteTransaction(Box<ExecuteTransaction>),
}

/// The operations of the models (DynamoDB, DynamoDB Streams) that answer `NotImplemented`.
const NOT_IMPLEMENTED: &[&str] = &[
    "CreateBackup",
    "CreateGlobalTable",
    "DeleteBackup",
    "DeleteResourcePolicy",
    "DescribeBackup",
    "DescribeContinuousBackups",
    "DescribeContributorInsights",
    "DescribeExport",
    "DescribeGlobalTable",
    "DescribeGlobalTableSettings",
    "DescribeImport",
    "DescribeKinesisStreamingDestination",
    "DescribeTableReplicaAutoScaling",
    "DisableKinesisStreamingDestination",
    "EnableKinesisStreamingDestination",
    "ExportTableToPointInTime",
    "GetResourcePolicy",
    "ImportTable",
    "ListBackups",
    "ListContributorInsights",
    "ListExports",
    "ListGlobalTables",
    "ListImports",
    "PutResourcePolicy",
    "RestoreTableFromBackup",
    "RestoreTableToPointInTime",
    "UpdateContinuousBackups",
    "UpdateContributorInsights",
    "UpdateGlobalTable",
    "UpdateGlobalTableSettings",
    "UpdateKinesisStreamingDestination",
    "UpdateTableReplicaAutoScaling",
];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreams {
    pub table_name: Option<String>,
    pub limit: Option<i64>,
    pub exclusive_start_stream_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStream {
    pub stream_arn: String,
    pub limit: Option<i64>,
    pub exclusive_start_shard_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIterator {
    pub stream_arn: String,
    pub shard_id: String,
    pub shard_iterator_type: String,
    pub sequence_number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecords {
    pub shard_iterator: String,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableName {
    pub table_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceArn {
    pub resource_arn: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisionedThroughput {
    pub read_capacity_units: Option<i64>,
    pub write_capacity_units: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    pub projection_type: Option<String>,
    pub non_key_attributes: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexInput {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(default)]
    pub projection: Projection,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpecification {
    pub stream_enabled: bool,
    pub stream_view_type: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTable {
    pub table_name: String,
    pub attribute_definitions: Vec<AttributeDefinition>,
    pub key_schema: Vec<KeySchemaElement>,
    pub local_secondary_indexes: Option<Vec<IndexInput>>,
    pub global_secondary_indexes: Option<Vec<IndexInput>>,
    pub billing_mode: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub stream_specification: Option<StreamSpecification>,
    pub table_class: Option<String>,
    pub deletion_protection_enabled: Option<bool>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTables {
    pub exclusive_start_table_name: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GsiUpdate {
    pub create: Option<IndexInput>,
    pub delete: Option<IndexName>,
    pub update: Option<GsiThroughputUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexName {
    pub index_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GsiThroughputUpdate {
    pub index_name: String,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTable {
    pub table_name: String,
    pub attribute_definitions: Option<Vec<AttributeDefinition>>,
    pub billing_mode: Option<String>,
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    pub global_secondary_index_updates: Option<Vec<GsiUpdate>>,
    pub stream_specification: Option<StreamSpecification>,
    pub table_class: Option<String>,
    pub deletion_protection_enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResource {
    pub resource_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResource {
    pub resource_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TimeToLiveSpecification {
    pub enabled: bool,
    pub attribute_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTimeToLive {
    pub table_name: String,
    pub time_to_live_specification: TimeToLiveSpecification,
}

/// The members every item request may carry besides its own: placeholders and capacity.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Common {
    pub expression_attribute_names: Option<Value>,
    pub expression_attribute_values: Option<Value>,
    pub return_consumed_capacity: Option<String>,
}

/// The members every single-item write carries: its condition and what to return.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Conditional {
    pub condition_expression: Option<String>,
    pub expected: Option<Value>,
    pub conditional_operator: Option<Value>,
    pub return_values: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutItem {
    pub table_name: String,
    pub item: Value,
    #[serde(flatten)]
    pub write: Conditional,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetItem {
    pub table_name: String,
    pub key: Value,
    pub consistent_read: Option<bool>,
    pub projection_expression: Option<String>,
    pub attributes_to_get: Option<Vec<String>>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateItem {
    pub table_name: String,
    pub key: Value,
    pub update_expression: Option<String>,
    pub attribute_updates: Option<Value>,
    #[serde(flatten)]
    pub write: Conditional,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteItem {
    pub table_name: String,
    pub key: Value,
    #[serde(flatten)]
    pub write: Conditional,
}

/// The members Query and Scan share.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Read {
    pub table_name: String,
    pub index_name: Option<String>,
    pub select: Option<String>,
    pub limit: Option<i64>,
    pub consistent_read: Option<bool>,
    pub exclusive_start_key: Option<Value>,
    pub projection_expression: Option<String>,
    pub filter_expression: Option<String>,
    pub attributes_to_get: Option<Vec<String>>,
    pub conditional_operator: Option<Value>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Query {
    pub key_condition_expression: Option<String>,
    pub key_conditions: Option<Value>,
    pub query_filter: Option<Value>,
    pub scan_index_forward: Option<bool>,
    #[serde(flatten)]
    pub read: Read,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Scan {
    pub scan_filter: Option<Value>,
    pub segment: Option<i64>,
    pub total_segments: Option<i64>,
    #[serde(flatten)]
    pub read: Read,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeysAndAttributes {
    pub keys: Vec<Value>,
    pub consistent_read: Option<bool>,
    pub projection_expression: Option<String>,
    pub attributes_to_get: Option<Vec<String>>,
    pub expression_attribute_names: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetItem {
    pub request_items: BTreeMap<String, KeysAndAttributes>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRequest {
    pub item: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteRequest {
    pub key: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WriteRequest {
    pub put_request: Option<PutRequest>,
    pub delete_request: Option<DeleteRequest>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchWriteItem {
    pub request_items: BTreeMap<String, Vec<WriteRequest>>,
    pub return_consumed_capacity: Option<String>,
}

/// One action of a transaction (the members of Put, Update, Delete and ConditionCheck).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactAction {
    pub table_name: String,
    pub key: Option<Value>,
    pub item: Option<Value>,
    pub update_expression: Option<String>,
    pub condition_expression: Option<String>,
    pub projection_expression: Option<String>,
    pub return_values_on_condition_check_failure: Option<String>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItem {
    pub condition_check: Option<TransactAction>,
    pub put: Option<TransactAction>,
    pub delete: Option<TransactAction>,
    pub update: Option<TransactAction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItem {
    pub get: Option<TransactAction>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactGetItems {
    pub transact_items: Vec<TransactGetItem>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TransactWriteItems {
    pub transact_items: Vec<TransactWriteItem>,
    pub client_request_token: Option<String>,
    pub return_consumed_capacity: Option<String>,
}

/// One PartiQL statement with its parameters (ExecuteStatement's own members, a batch's
/// statements and a transaction's share these).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PartiqlStatement {
    pub statement: String,
    pub parameters: Option<Vec<Value>>,
    pub consistent_read: Option<bool>,
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteStatement {
    #[serde(flatten)]
    pub statement: PartiqlStatement,
    pub next_token: Option<String>,
    pub limit: Option<i64>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchExecuteStatement {
    pub statements: Vec<PartiqlStatement>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecuteTransaction {
    pub transact_statements: Vec<PartiqlStatement>,
    pub client_request_token: Option<String>,
    pub return_consumed_capacity: Option<String>,
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8], required: &[&str]) -> Result<T, Error> {
    Ok(protocol::json::decode(body, required)?)
}

impl Operation {
    /// The operation of a request, from its target prefix, operation name and body.
    pub fn parse(prefix: &str, name: &str, body: &[u8]) -> Result<Operation, Error> {
        if prefix == STREAMS_TARGET {
            return Ok(match name {
                "ListStreams" => Operation::ListStreams(decode(body, &[])?),
                "DescribeStream" => Operation::DescribeStream(decode(body, &["StreamArn"])?),
                "GetShardIterator" => {
                    Operation::GetShardIterator(decode(body, &["StreamArn", "ShardId", "ShardIteratorType"])?)
                }
                "GetRecords" => Operation::GetRecords(decode(body, &["ShardIterator"])?),
                other => return Err(Error::UnknownOperationException(other.to_owned())),
            });
        }
        let table = &["TableName"];
        Ok(match name {
            "CreateTable" => Operation::CreateTable(Box::new(decode(
                body,
                &["AttributeDefinitions", "TableName", "KeySchema"],
            )?)),
            "DescribeTable" => Operation::DescribeTable(decode(body, table)?),
            "ListTables" => Operation::ListTables(decode(body, &[])?),
            "DeleteTable" => Operation::DeleteTable(decode(body, table)?),
            "UpdateTable" => Operation::UpdateTable(Box::new(decode(body, table)?)),
            // No members, but the body must still be a JSON object, as for every operation.
            "DescribeEndpoints" => {
                decode::<serde::de::IgnoredAny>(body, &[])?;
                Operation::DescribeEndpoints
            }
            "DescribeLimits" => {
                decode::<serde::de::IgnoredAny>(body, &[])?;
                Operation::DescribeLimits
            }
            "TagResource" => Operation::TagResource(decode(body, &["ResourceArn", "Tags"])?),
            "UntagResource" => Operation::UntagResource(decode(body, &["ResourceArn", "TagKeys"])?),
            "ListTagsOfResource" => Operation::ListTagsOfResource(decode(body, &["ResourceArn"])?),
            "UpdateTimeToLive" => {
                Operation::UpdateTimeToLive(decode(body, &["TableName", "TimeToLiveSpecification"])?)
            }
            "DescribeTimeToLive" => Operation::DescribeTimeToLive(decode(body, table)?),
            "PutItem" => Operation::PutItem(Box::new(decode(body, &["TableName", "Item"])?)),
            "GetItem" => Operation::GetItem(Box::new(decode(body, &["TableName", "Key"])?)),
            "UpdateItem" => Operation::UpdateItem(Box::new(decode(body, &["TableName", "Key"])?)),
            "DeleteItem" => Operation::DeleteItem(Box::new(decode(body, &["TableName", "Key"])?)),
            "Query" => Operation::Query(Box::new(decode(body, table)?)),
            "Scan" => Operation::Scan(Box::new(decode(body, table)?)),
            "BatchGetItem" => Operation::BatchGetItem(Box::new(decode(body, &["RequestItems"])?)),
            "BatchWriteItem" => Operation::BatchWriteItem(Box::new(decode(body, &["RequestItems"])?)),
            "TransactGetItems" => Operation::TransactGetItems(Box::new(decode(body, &["TransactItems"])?)),
            "TransactWriteItems" => {
                Operation::TransactWriteItems(Box::new(decode(body, &["TransactItems"])?))
            }
            "ExecuteStatement" => Operation::ExecuteStatement(Box::new(decode(body, &["Statement"])?)),
            "BatchExecuteStatement" => {
                Operation::BatchExecuteStatement(Box::new(decode(body, &["Statements"])?))
            }
            "ExecuteTransaction" => {
                Operation::ExecuteTransaction(Box::new(decode(body, &["TransactStatements"])?))
            }
            other => match NOT_IMPLEMENTED.iter().find(|n| **n == other) {
                Some(n) => return Err(Error::NotImplemented(n)),
                None => return Err(Error::UnknownOperationException(other.to_owned())),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert!(matches!(
            Operation::parse(TARGET, "GetItem", br#"{"TableName":"t","Key":{"k":{"S":"a"}}}"#),
            Ok(Operation::GetItem(_))
        ));
        let missing = Operation::parse(TARGET, "GetItem", br#"{"TableName":"t"}"#);
        assert!(matches!(missing, Err(Error::ValidationException(m)) if m.contains("'key'")));
        assert!(matches!(Operation::parse(TARGET, "CreateBackup", b"{}"), Err(Error::NotImplemented(_))));
        assert!(matches!(
            Operation::parse(TARGET, "ExecuteStatement", b"{}"),
            Err(Error::ValidationException(_))
        ));
        assert!(matches!(Operation::parse(TARGET, "Nope", b"{}"), Err(Error::UnknownOperationException(_))));
        assert!(matches!(
            Operation::parse(STREAMS_TARGET, "ListStreams", b"{}"),
            Ok(Operation::ListStreams(_))
        ));
        assert!(matches!(
            Operation::parse(STREAMS_TARGET, "GetRecords", b"{}"),
            Err(Error::ValidationException(m)) if m.contains("shardIterator")
        ));
    }

    #[test]
    fn operations_without_members_still_refuse_a_malformed_body() {
        for op in ["DescribeEndpoints", "DescribeLimits"] {
            assert!(Operation::parse(TARGET, op, b"").is_ok());
            assert!(Operation::parse(TARGET, op, b"{}").is_ok());
            for body in [&b"{\"x\":"[..], b"[{}]", b"{\"\xff\":1}"] {
                let err = Operation::parse(TARGET, op, body);
                assert!(matches!(err, Err(Error::SerializationException(_))), "{op} {body:?}: {err:?}");
            }
        }
    }
}
