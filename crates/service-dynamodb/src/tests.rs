//! DynamoDB through its request handler on the in-memory store: JSON requests in, DynamoDB's
//! answers and errors out. Covers the table lifecycle, conditional writes, paging, index
//! maintenance and transactions.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use storage::{KeyRange, Store};
use types::{AccountId, FixedClock, Region, Scope};

use super::*;

struct Db {
    service: DynamoDbService,
    store: Store,
}

impl Db {
    fn new() -> Db {
        let clock = Arc::new(FixedClock(time::OffsetDateTime::UNIX_EPOCH));
        let store = Store::memory();
        Db { service: DynamoDbService::new(store.clone(), clock), store }
    }

    fn call_in(&self, account: &str, op: &str, body: Value) -> (u16, Value) {
        self.call_target(account, &format!("DynamoDB_20120810.{op}"), body)
    }

    fn call_target(&self, account: &str, target: &str, body: Value) -> (u16, Value) {
        let req = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("x-amz-target", target)
            .body(Bytes::from(body.to_string()))
            .expect("request");
        let scope = Scope {
            account: AccountId::parse(account).expect("account"),
            region: Region::parse("us-east-1").expect("region"),
        };
        let resp = self.service.handle(&RequestContext::new(scope, "test"), &req);
        let value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
        (resp.status().as_u16(), value)
    }

    fn call(&self, op: &str, body: Value) -> (u16, Value) {
        self.call_in("111122223333", op, body)
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        let (status, value) = self.call(op, body);
        assert_eq!(status, 200, "{op}: {value}");
        value
    }

    fn err(&self, op: &str, body: Value) -> (String, String) {
        let (status, value) = self.call(op, body);
        assert_ne!(status, 200, "{op} should fail: {value}");
        (
            value["__type"].as_str().unwrap_or_default().to_owned(),
            value["message"].as_str().unwrap_or_default().to_owned(),
        )
    }

    /// A table `tbl` keyed by (pk S, sk N) with an LSI on `lsk` and a GSI on (`g`, `sk`).
    fn with_table() -> Db {
        let db = Db::new();
        db.ok(
            "CreateTable",
            json!({
                "TableName": "tbl",
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "N"},
                    {"AttributeName": "lsk", "AttributeType": "S"},
                    {"AttributeName": "g", "AttributeType": "S"}
                ],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "LocalSecondaryIndexes": [{"IndexName": "by-lsk", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lsk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
                "GlobalSecondaryIndexes": [{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
                "BillingMode": "PAY_PER_REQUEST"
            }),
        );
        db
    }

    fn put(&self, item: Value) {
        self.ok("PutItem", json!({"TableName": "tbl", "Item": item}));
    }

    fn index_entries(&self) -> usize {
        self.store.kv.scan(model::INDEX, KeyRange::all(), usize::MAX).expect("scan").len()
    }
}

fn sks(answer: &Value) -> Vec<String> {
    answer["Items"]
        .as_array()
        .map(|items| items.iter().map(|i| i["sk"]["N"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn table_lifecycle_and_validation() {
    let db = Db::with_table();
    let described = db.ok("DescribeTable", json!({"TableName": "tbl"}));
    assert_eq!(described["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(described["Table"]["TableArn"], "arn:aws:dynamodb:us-east-1:111122223333:table/tbl");
    assert_eq!(described["Table"]["GlobalSecondaryIndexes"][0]["IndexStatus"], "ACTIVE");
    let (code, message) = db.err(
        "CreateTable",
        json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
    );
    assert_eq!((code.as_str(), message.as_str()), ("ResourceInUseException", "Table already exists: tbl"));
    let (_, message) = db.err(
        "CreateTable",
        json!({"TableName": "uuu", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
    );
    assert_eq!(
        message,
        "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions"
    );
    let (_, message) = db.err(
        "CreateTable",
        json!({"TableName": "uuu", "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
               "KeySchema": [{"AttributeName": "nope", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"}),
    );
    assert_eq!(message, "Invalid KeySchema: Some index key attribute have no definition");
    // Other tenants see nothing.
    let (_, listed) = db.call_in("444455556666", "ListTables", json!({}));
    assert_eq!(listed["TableNames"], json!([]));
    assert_eq!(db.ok("ListTables", json!({}))["TableNames"], json!(["tbl"]));
    db.ok("DeleteTable", json!({"TableName": "tbl"}));
    let (code, message) =
        db.err("GetItem", json!({"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}));
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", "Requested resource not found")
    );
}

#[test]
fn conditional_writes_and_return_values() {
    let db = Db::with_table();
    let key = json!({"pk": {"S": "a"}, "sk": {"N": "1"}});
    db.put(json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "n": {"N": "5"}}));
    let (code, _) = db.err(
        "PutItem",
        json!({"TableName": "tbl", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}),
    );
    assert_eq!(code, "ConditionalCheckFailedException");
    let (_, failed) = db.call(
        "DeleteItem",
        json!({"TableName": "tbl", "Key": key, "ConditionExpression": "n = :v", "ExpressionAttributeValues": {":v": {"N": "6"}},
               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}),
    );
    assert_eq!(failed["Item"]["n"]["N"], "5");
    assert_eq!(failed["message"], "The conditional request failed");
    let updated = db.ok(
        "UpdateItem",
        json!({"TableName": "tbl", "Key": key, "UpdateExpression": "SET n = n + :one, s = :s", "ExpressionAttributeValues": {":one": {"N": "1"}, ":s": {"S": "x"}},
               "ReturnValues": "UPDATED_NEW", "ReturnConsumedCapacity": "TOTAL"}),
    );
    assert_eq!(updated["Attributes"], json!({"n": {"N": "6"}, "s": {"S": "x"}}));
    assert_eq!(updated["ConsumedCapacity"]["CapacityUnits"], 1.0);
    let old = db.ok(
        "UpdateItem",
        json!({"TableName": "tbl", "Key": key, "UpdateExpression": "REMOVE s", "ReturnValues": "ALL_OLD"}),
    );
    assert_eq!(old["Attributes"]["s"]["S"], "x");
    // Upsert starts from the key.
    let new = db.ok(
        "UpdateItem",
        json!({"TableName": "tbl", "Key": {"pk": {"S": "b"}, "sk": {"N": "2"}}, "UpdateExpression": "ADD c :one",
               "ExpressionAttributeValues": {":one": {"N": "1"}}, "ReturnValues": "ALL_NEW"}),
    );
    assert_eq!(new["Attributes"], json!({"pk": {"S": "b"}, "sk": {"N": "2"}, "c": {"N": "1"}}));
    let (_, message) =
        db.err("PutItem", json!({"TableName": "tbl", "Item": {"pk": {"N": "1"}, "sk": {"N": "1"}}}));
    assert_eq!(
        message,
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
    );
    let got = db.ok("GetItem", json!({"TableName": "tbl", "Key": key, "ProjectionExpression": "n"}));
    assert_eq!(got["Item"], json!({"n": {"N": "6"}}));
    let deleted = db.ok("DeleteItem", json!({"TableName": "tbl", "Key": key, "ReturnValues": "ALL_OLD"}));
    assert_eq!(deleted["Attributes"]["n"]["N"], "6");
    assert_eq!(db.ok("GetItem", json!({"TableName": "tbl", "Key": key})), json!({}));
}

#[test]
fn query_orders_numbers_and_pages() {
    let db = Db::with_table();
    for sk in ["10", "-3", "2.5", "0", "100", "-20", "7"] {
        db.put(json!({"pk": {"S": "p"}, "sk": {"N": sk}, "odd": {"BOOL": sk == "7" || sk == "-3"}}));
    }
    db.put(json!({"pk": {"S": "other"}, "sk": {"N": "1"}}));
    let all = db.ok("Query", json!({"TableName": "tbl", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}}));
    assert_eq!(sks(&all), ["-20", "-3", "0", "2.5", "7", "10", "100"]);
    let backwards = db.ok(
        "Query",
        json!({"TableName": "tbl", "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b", "ScanIndexForward": false,
               "ExpressionAttributeValues": {":p": {"S": "p"}, ":a": {"N": "-3"}, ":b": {"N": "10"}}}),
    );
    assert_eq!(sks(&backwards), ["10", "7", "2.5", "0", "-3"]);
    // Pages of 3, resumed from LastEvaluatedKey; the filter runs after the page.
    let mut seen = Vec::new();
    let mut start: Option<Value> = None;
    let mut pages = 0;
    loop {
        let mut req = json!({"TableName": "tbl", "KeyConditionExpression": "pk = :p", "Limit": 3,
                             "FilterExpression": "odd = :f", "ExpressionAttributeValues": {":p": {"S": "p"}, ":f": {"BOOL": false}}});
        if let Some(s) = &start {
            req["ExclusiveStartKey"] = s.clone();
        }
        let page = db.ok("Query", req);
        assert_eq!(page["ScannedCount"], 3.min(7 - pages * 3));
        seen.extend(sks(&page));
        pages += 1;
        match page.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["-20", "0", "2.5", "10", "100"]);
    let count = db.ok(
        "Query",
        json!({"TableName": "tbl", "KeyConditionExpression": "pk = :p AND sk > :z", "Select": "COUNT",
                                       "ExpressionAttributeValues": {":p": {"S": "p"}, ":z": {"N": "0"}}}),
    );
    assert_eq!(count["Count"], 4);
    assert!(count.get("Items").is_none());
}

#[test]
fn indexes_follow_every_write() {
    let db = Db::with_table();
    db.put(
        json!({"pk": {"S": "p"}, "sk": {"N": "1"}, "g": {"S": "red"}, "lsk": {"S": "b"}, "x": {"S": "1"}}),
    );
    db.put(json!({"pk": {"S": "p"}, "sk": {"N": "2"}, "g": {"S": "red"}, "lsk": {"S": "a"}}));
    db.put(json!({"pk": {"S": "p"}, "sk": {"N": "3"}}));
    assert_eq!(db.index_entries(), 4);
    let red = db.ok("Query", json!({"TableName": "tbl", "IndexName": "by-g", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "red"}}}));
    assert_eq!(sks(&red), ["1", "2"]);
    let lsi = db.ok("Query", json!({"TableName": "tbl", "IndexName": "by-lsk", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}}));
    assert_eq!(sks(&lsi), ["2", "1"]);
    // KEYS_ONLY: the LSI holds only keys.
    assert!(lsi["Items"][1].get("x").is_none());
    // Moving an item to another GSI key removes the old entry in the same batch.
    db.ok("UpdateItem", json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"N": "1"}}, "UpdateExpression": "SET g = :b", "ExpressionAttributeValues": {":b": {"S": "blue"}}}));
    let red = db.ok("Query", json!({"TableName": "tbl", "IndexName": "by-g", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "red"}}}));
    assert_eq!(sks(&red), ["2"]);
    db.ok("DeleteItem", json!({"TableName": "tbl", "Key": {"pk": {"S": "p"}, "sk": {"N": "2"}}}));
    assert_eq!(db.index_entries(), 2);
    let (_, message) = db.err("Query", json!({"TableName": "tbl", "IndexName": "by-g", "ConsistentRead": true, "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "red"}}}));
    assert_eq!(message, "Consistent reads are not supported on global secondary indexes");
    // A GSI created later is backfilled.
    db.ok("UpdateTable", json!({"TableName": "tbl", "AttributeDefinitions": [{"AttributeName": "lsk", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by-lsk-g", "KeySchema": [{"AttributeName": "lsk", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}));
    let b = db.ok("Query", json!({"TableName": "tbl", "IndexName": "by-lsk-g", "KeyConditionExpression": "lsk = :l", "ExpressionAttributeValues": {":l": {"S": "b"}}}));
    assert_eq!(sks(&b), ["1"]);
}

#[test]
fn transactions_are_all_or_nothing() {
    let db = Db::with_table();
    db.put(json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"N": "1"}}));
    let (_, cancelled) = db.call(
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "v = :two",
                                "ExpressionAttributeValues": {":two": {"N": "2"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}
        ]}),
    );
    assert_eq!(cancelled["__type"], "TransactionCanceledException");
    assert_eq!(cancelled["CancellationReasons"][0]["Code"], "None");
    assert_eq!(cancelled["CancellationReasons"][1]["Code"], "ConditionalCheckFailed");
    assert_eq!(cancelled["CancellationReasons"][1]["Item"]["v"]["N"], "1");
    assert_eq!(
        db.ok("GetItem", json!({"TableName": "tbl", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}})),
        json!({})
    );
    db.ok(
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}, "g": {"S": "x"}}}},
            {"Update": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET v = v + :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}
        ]}),
    );
    let got = db.ok(
        "TransactGetItems",
        json!({"TransactItems": [
            {"Get": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
            {"Get": {"TableName": "tbl", "Key": {"pk": {"S": "zz"}, "sk": {"N": "1"}}}}
        ]}),
    );
    assert_eq!(got["Responses"][0]["Item"]["v"]["N"], "2");
    assert_eq!(got["Responses"][1], json!({}));
    let (_, message) = db.err(
        "TransactWriteItems",
        json!({"TransactItems": [
            {"Delete": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
            {"Delete": {"TableName": "tbl", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}}
        ]}),
    );
    assert_eq!(message, "Transaction request cannot include multiple operations on one item");
}

#[test]
fn batches_check_limits_and_duplicates() {
    let db = Db::with_table();
    let puts: Vec<Value> = (0..3)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": i.to_string()}}}}))
        .collect();
    db.ok("BatchWriteItem", json!({"RequestItems": {"tbl": puts}}));
    let dup = vec![json!({"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"N": "1"}}}}); 2];
    let (_, message) = db.err("BatchWriteItem", json!({"RequestItems": {"tbl": dup}}));
    assert_eq!(message, "Provided list of item keys contains duplicates");
    let too_many: Vec<Value> = (0..26)
        .map(|i| json!({"PutRequest": {"Item": {"pk": {"S": "q"}, "sk": {"N": i.to_string()}}}}))
        .collect();
    let (code, _) = db.err("BatchWriteItem", json!({"RequestItems": {"tbl": too_many}}));
    assert_eq!(code, "ValidationException");
    let got = db.ok("BatchGetItem", json!({"RequestItems": {"tbl": {"Keys": [
        {"pk": {"S": "p"}, "sk": {"N": "0"}}, {"pk": {"S": "p"}, "sk": {"N": "2"}}, {"pk": {"S": "p"}, "sk": {"N": "9"}}
    ]}}}));
    assert_eq!(got["Responses"]["tbl"].as_array().map(Vec::len), Some(2));
    assert_eq!(got["UnprocessedKeys"], json!({}));
    let scan = db.ok("Scan", json!({"TableName": "tbl", "Segment": 0, "TotalSegments": 2}));
    let scan2 = db.ok("Scan", json!({"TableName": "tbl", "Segment": 1, "TotalSegments": 2}));
    assert_eq!(scan["Count"].as_u64().unwrap_or(0) + scan2["Count"].as_u64().unwrap_or(0), 3);
}

#[test]
fn unknown_and_unimplemented_operations() {
    let db = Db::new();
    let (status, body) = db.call("CreateBackup", json!({"TableName": "t", "BackupName": "b"}));
    assert_eq!((status, body["__type"].as_str()), (501, Some("NotImplemented")));
    let (status, body) = db.call("Frobnicate", json!({}));
    assert_eq!((status, body["__type"].as_str()), (400, Some("UnknownOperationException")));
}

impl Db {
    fn streams(&self, op: &str, body: Value) -> (u16, Value) {
        self.call_target("111122223333", &format!("DynamoDBStreams_20120810.{op}"), body)
    }

    fn streams_ok(&self, op: &str, body: Value) -> Value {
        let (status, value) = self.streams(op, body);
        assert_eq!(status, 200, "{op}: {value}");
        value
    }
}

fn streamed_table(view: &str) -> (Db, String) {
    let db = Db::new();
    let out = db.ok(
        "CreateTable",
        json!({
            "TableName": "str",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": view}
        }),
    );
    let arn = out["TableDescription"]["LatestStreamArn"].as_str().expect("stream arn").to_owned();
    (db, arn)
}

fn all_records(db: &Db, arn: &str) -> Vec<Value> {
    let shard = db.streams_ok("DescribeStream", json!({"StreamArn": arn}))["StreamDescription"]["Shards"][0]
        ["ShardId"]
        .as_str()
        .expect("shard")
        .to_owned();
    let it = db.streams_ok(
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let out = db.streams_ok("GetRecords", json!({"ShardIterator": it["ShardIterator"]}));
    out["Records"].as_array().cloned().unwrap_or_default()
}

#[test]
fn every_kind_of_write_appends_its_stream_record() {
    let (db, arn) = streamed_table("NEW_AND_OLD_IMAGES");
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}));
    // Writing the same item again changes nothing, and DynamoDB writes no record for it.
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}));
    db.ok(
        "UpdateItem",
        json!({"TableName": "str", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET v = :v",
               "ExpressionAttributeValues": {":v": {"N": "2"}}}),
    );
    db.ok("DeleteItem", json!({"TableName": "str", "Key": {"pk": {"S": "a"}}}));
    // Deleting what is not there changes nothing either.
    db.ok("DeleteItem", json!({"TableName": "str", "Key": {"pk": {"S": "zz"}}}));
    db.ok("BatchWriteItem", json!({"RequestItems": {"str": [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]}}));
    db.ok(
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": "str", "Item": {"pk": {"S": "c"}}}}]}),
    );
    let records = all_records(&db, &arn);
    let names: Vec<&str> = records.iter().map(|r| r["eventName"].as_str().unwrap_or_default()).collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE", "INSERT", "INSERT"]);
    let modify = &records[1];
    assert_eq!(modify["dynamodb"]["OldImage"]["v"]["N"], "1");
    assert_eq!(modify["dynamodb"]["NewImage"]["v"]["N"], "2");
    assert_eq!(modify["dynamodb"]["Keys"], json!({"pk": {"S": "a"}}));
    assert_eq!(modify["eventSource"], "aws:dynamodb");
    assert_eq!(modify["eventVersion"], "1.1");
    assert_eq!(modify["awsRegion"], "us-east-1");
    assert!(records[2]["dynamodb"].get("NewImage").is_none());
    let seqs: Vec<&str> =
        records.iter().map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs.iter().all(|s| s.len() >= 21));
}

#[test]
fn keys_only_streams_carry_no_images_and_a_failed_condition_writes_nothing() {
    let (db, arn) = streamed_table("KEYS_ONLY");
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "a"}, "v": {"N": "1"}}}));
    let (code, _) = db.err(
        "PutItem",
        json!({"TableName": "str", "Item": {"pk": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(pk)"}),
    );
    assert_eq!(code, "ConditionalCheckFailedException");
    let records = all_records(&db, &arn);
    assert_eq!(records.len(), 1);
    assert!(records[0]["dynamodb"].get("NewImage").is_none());
    assert_eq!(records[0]["dynamodb"]["StreamViewType"], "KEYS_ONLY");
}

#[test]
fn iterators_page_and_latest_starts_after_the_newest() {
    let (db, arn) = streamed_table("NEW_IMAGE");
    for i in 0..5 {
        db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": format!("k{i}")}}}));
    }
    let desc = db.streams_ok("DescribeStream", json!({"StreamArn": arn}));
    assert_eq!(desc["StreamDescription"]["StreamStatus"], "ENABLED");
    assert_eq!(desc["StreamDescription"]["KeySchema"][0]["AttributeName"], "pk");
    let shard = desc["StreamDescription"]["Shards"][0]["ShardId"].as_str().expect("shard").to_owned();
    let it = db.streams_ok(
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let page = db.streams_ok("GetRecords", json!({"ShardIterator": it["ShardIterator"], "Limit": 2}));
    assert_eq!(page["Records"].as_array().map(Vec::len), Some(2));
    let third = page["Records"][1]["dynamodb"]["SequenceNumber"].clone();
    let page = db.streams_ok("GetRecords", json!({"ShardIterator": page["NextShardIterator"], "Limit": 10}));
    assert_eq!(page["Records"].as_array().map(Vec::len), Some(3));
    let at = db.streams_ok(
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": third}),
    );
    let page = db.streams_ok("GetRecords", json!({"ShardIterator": at["ShardIterator"]}));
    assert_eq!(page["Records"].as_array().map(Vec::len), Some(4));
    let latest = db.streams_ok(
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "LATEST"}),
    );
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "new"}}}));
    let page = db.streams_ok("GetRecords", json!({"ShardIterator": latest["ShardIterator"]}));
    assert_eq!(page["Records"][0]["dynamodb"]["Keys"]["pk"]["S"], "new");
    assert_eq!(page["Records"].as_array().map(Vec::len), Some(1));

    let (status, e) = db.streams("GetRecords", json!({"ShardIterator": "nonsense"}));
    assert_eq!((status, e["__type"].as_str()), (400, Some("ValidationException")), "{e}");
    let (status, e) = db.streams("GetRecords", json!({"ShardIterator": it["ShardIterator"], "Limit": 1001}));
    assert_eq!(status, 400);
    assert!(e["message"].as_str().unwrap_or_default().contains("less than or equal to 1000"), "{e}");
    let (status, e) = db.streams("DescribeStream", json!({"StreamArn": format!("{arn}x")}));
    assert_eq!(status, 400);
    assert!(e["__type"].as_str().unwrap_or_default().ends_with("ResourceNotFoundException"), "{e}");

    let listed = db.streams_ok("ListStreams", json!({"TableName": "str"}));
    assert_eq!(listed["Streams"][0]["StreamArn"], json!(arn));
    // A second streamed table: ListStreams pages through both.
    db.ok(
        "CreateTable",
        json!({
            "TableName": "str2",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}
        }),
    );
    let page = db.streams_ok("ListStreams", json!({"Limit": 1}));
    assert_eq!(page["Streams"].as_array().map(Vec::len), Some(1));
    let last = page["LastEvaluatedStreamArn"].clone();
    assert!(last.is_string(), "{page}");
    let page = db.streams_ok("ListStreams", json!({"Limit": 1, "ExclusiveStartStreamArn": last}));
    assert_eq!(page["Streams"][0]["TableName"], "str2");
    assert!(page.get("LastEvaluatedStreamArn").is_none());
}

#[test]
fn a_disabled_stream_closes_its_shard() {
    let (db, arn) = streamed_table("NEW_IMAGE");
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "a"}}}));
    db.ok("UpdateTable", json!({"TableName": "str", "StreamSpecification": {"StreamEnabled": false}}));
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "b"}}}));
    let desc = db.streams_ok("DescribeStream", json!({"StreamArn": arn}));
    assert_eq!(desc["StreamDescription"]["StreamStatus"], "DISABLED");
    assert!(
        desc["StreamDescription"]["Shards"][0]["SequenceNumberRange"]["EndingSequenceNumber"].is_string()
    );
    let shard = desc["StreamDescription"]["Shards"][0]["ShardId"].clone();
    let it = db.streams_ok(
        "GetShardIterator",
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    );
    let page = db.streams_ok("GetRecords", json!({"ShardIterator": it["ShardIterator"]}));
    assert_eq!(page["Records"].as_array().map(Vec::len), Some(1));
    assert!(page.get("NextShardIterator").is_none(), "{page}");
    assert_eq!(desc["StreamDescription"]["StreamViewType"], "NEW_IMAGE");

    // Enabling a stream again starts a new one; the old one and its records are gone.
    let out = db.ok(
        "UpdateTable",
        json!({"TableName": "str", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    );
    let new_arn = out["TableDescription"]["LatestStreamArn"].as_str().expect("arn").to_owned();
    assert_ne!(new_arn, arn);
    let (status, _) = db.streams("DescribeStream", json!({"StreamArn": arn}));
    assert_eq!(status, 400);
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "c"}}}));
    assert_eq!(all_records(&db, &new_arn).len(), 1);
    let stored = |db: &Db| db.store.kv.scan(streams::STREAM, KeyRange::all(), 100).expect("scan").len();
    assert_eq!(stored(&db), 1);
    db.ok("DeleteTable", json!({"TableName": "str"}));
    assert_eq!(stored(&db), 0, "a deleted table's stream records go with it");
}

#[test]
fn the_stream_reader_port_reads_from_checkpoints() {
    use ports::{StreamPosition, StreamReader};
    let (db, arn) = streamed_table("NEW_IMAGE");
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "a"}}}));
    let latest = db.service.checkpoint(&arn, &StreamPosition::Latest).expect("checkpoint");
    assert!(latest.is_some());
    db.ok("PutItem", json!({"TableName": "str", "Item": {"pk": {"S": "b"}}}));
    let from_start = db.service.read(&arn, None, 10).expect("read");
    assert_eq!(from_start.len(), 2);
    let after = db.service.read(&arn, latest.as_deref(), 10).expect("read");
    assert_eq!(after.len(), 1);
    let record: Value = serde_json::from_slice(&after[0].data).expect("json");
    assert_eq!(record["eventSourceARN"], json!(arn));
    assert_eq!(record["dynamodb"]["NewImage"]["pk"]["S"], "b");
    assert!(matches!(
        db.service.checkpoint(&format!("{arn}0"), &StreamPosition::TrimHorizon),
        Err(ports::PortError::NotFound(_))
    ));
}

#[test]
fn the_ttl_sweep_deletes_expired_items_and_marks_their_stream_records() {
    let now = time::macros::datetime!(2026-01-01 00:00 UTC);
    let store = Store::memory();
    let db = Db { service: DynamoDbService::new(store.clone(), Arc::new(FixedClock(now))), store };
    let out = db.ok(
        "CreateTable",
        json!({
            "TableName": "ttl",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "OLD_IMAGE"}
        }),
    );
    let arn = out["TableDescription"]["LatestStreamArn"].as_str().expect("arn").to_owned();
    db.ok(
        "UpdateTimeToLive",
        json!({"TableName": "ttl", "TimeToLiveSpecification": {"Enabled": true, "AttributeName": "exp"}}),
    );
    let t = now.unix_timestamp();
    let items = [
        ("past", json!({"N": (t - 10).to_string()})),
        ("future", json!({"N": (t + 1000).to_string()})),
        ("ancient", json!({"N": (t - 6 * 365 * 86_400).to_string()})),
        ("text", json!({"S": "0"})),
        ("none", Value::Null),
    ];
    for (pk, exp) in items {
        let mut item = json!({"pk": {"S": pk}});
        if !exp.is_null() {
            item["exp"] = exp;
        }
        db.ok("PutItem", json!({"TableName": "ttl", "Item": item}));
    }
    assert_eq!(db.service.sweep_ttl().expect("sweep"), 1);
    let (_, got) = db.call("GetItem", json!({"TableName": "ttl", "Key": {"pk": {"S": "past"}}}));
    assert!(got.get("Item").is_none(), "{got}");
    let scanned = db.ok("Scan", json!({"TableName": "ttl"}));
    assert_eq!(scanned["Count"], 4);
    let records = all_records(&db, &arn);
    let remove = records.last().expect("a record");
    assert_eq!(remove["eventName"], "REMOVE");
    assert_eq!(remove["userIdentity"], json!({"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}));
    // Lambda's event spells the identity in camel case.
    let read = ports::StreamReader::read(&db.service, &arn, None, 10).expect("read");
    let last: Value = serde_json::from_slice(&read[read.len() - 1].data).expect("json");
    assert_eq!(last["userIdentity"], json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}));
    assert_eq!(remove["dynamodb"]["OldImage"]["pk"]["S"], "past");
    assert!(records[0].get("userIdentity").is_none());
    // Nothing left to expire.
    assert_eq!(db.service.sweep_ttl().expect("sweep"), 0);
}

impl Db {
    fn statement(&self, statement: &str, parameters: Value) -> Value {
        let mut body = json!({ "Statement": statement });
        if !parameters.is_null() {
            body["Parameters"] = parameters;
        }
        self.ok("ExecuteStatement", body)
    }

    fn statement_err(&self, statement: &str) -> (String, String) {
        self.err("ExecuteStatement", json!({ "Statement": statement }))
    }
}

#[test]
fn partiql_statements_run_as_the_item_operations() {
    let db = Db::with_table();
    for sk in 1..=4 {
        db.statement(
            &format!("INSERT INTO tbl VALUE {{'pk': 'p', 'sk': {sk}, 'g': 'x', 'tags': <<'a'>>, 'n': ?}}"),
            json!([{ "N": sk.to_string() }]),
        );
    }
    db.statement("INSERT INTO \"tbl\" VALUE {'pk': 'q', 'sk': 1}", Value::Null);
    assert_eq!(
        db.statement_err("INSERT INTO tbl VALUE {'pk': 'p', 'sk': 1}"),
        ("DuplicateItemException".into(), "Duplicate primary key exists in table".into())
    );
    // The partition key fixes a Query: key order, ORDER BY, a sort key range and a filter.
    let got = db.statement("SELECT * FROM tbl WHERE pk = ? ORDER BY sk DESC", json!([{ "S": "p" }]));
    assert_eq!(sks(&got), ["4", "3", "2", "1"]);
    let got =
        db.statement("SELECT sk FROM tbl WHERE pk = 'p' AND sk BETWEEN 2 AND 3 AND n <> 3", Value::Null);
    assert_eq!(got["Items"], json!([{ "sk": { "N": "2" } }]));
    // Without it, a Scan with the WHERE as its filter; an index by "table"."index".
    let got = db.statement("SELECT pk FROM tbl WHERE sk = 1", Value::Null);
    assert_eq!(got["Items"].as_array().map(Vec::len), Some(2));
    let got = db.statement("SELECT * FROM \"tbl\".\"by-g\" WHERE g = 'x' AND sk >= 3", Value::Null);
    assert_eq!(sks(&got), ["3", "4"]);
    // Limit pages with NextToken.
    let first =
        db.ok("ExecuteStatement", json!({ "Statement": "SELECT * FROM tbl WHERE pk = 'p'", "Limit": 3 }));
    assert_eq!(sks(&first), ["1", "2", "3"]);
    let token = first["NextToken"].as_str().expect("a next token").to_owned();
    let rest = db.ok(
        "ExecuteStatement",
        json!({ "Statement": "SELECT * FROM tbl WHERE pk = 'p'", "NextToken": token }),
    );
    assert_eq!(sks(&rest), ["4"]);

    // UPDATE: every action, RETURNING, and the item must exist.
    let got = db.statement(
        "UPDATE tbl SET n = n + 10 SET tags = set_add(tags, <<'b'>>) REMOVE g WHERE pk = 'p' AND sk = 2 RETURNING ALL NEW *",
        Value::Null,
    );
    let item = &got["Items"][0];
    assert_eq!((item["n"]["N"].as_str(), item.get("g")), (Some("12"), None));
    assert_eq!(item["tags"]["SS"].as_array().map(Vec::len), Some(2));
    let (code, _) = db.statement_err("UPDATE tbl SET n = 1 WHERE pk = 'nobody' AND sk = 1");
    assert_eq!(code, "ConditionalCheckFailedException");
    let (code, _) = db.statement_err("UPDATE tbl SET n = 1 WHERE pk = 'p' AND sk = 1 AND n > 100");
    assert_eq!(code, "ConditionalCheckFailedException");
    assert_eq!(
        db.statement_err("UPDATE tbl SET n = 1 WHERE pk = 'p'"),
        (
            "ValidationException".into(),
            "Where clause does not contain a mandatory equality on all key attributes".into()
        )
    );
    // DELETE: a missing item is fine, a failing condition is not.
    db.statement("DELETE FROM tbl WHERE pk = 'nobody' AND sk = 1", Value::Null);
    let (code, message) = db.statement_err("DELETE FROM tbl WHERE pk = 'p' AND sk = 1 AND n = 99");
    assert_eq!(code, "ConditionalCheckFailedException", "{message}");
    let got = db.statement("DELETE FROM tbl WHERE pk = 'p' AND sk = 1 RETURNING ALL OLD *", Value::Null);
    assert_eq!(got["Items"][0]["n"], json!({ "N": "1" }));

    // Refusals in DynamoDB's words.
    assert_eq!(
        db.statement_err("DROP TABLE tbl"),
        (
            "ValidationException".into(),
            "Statement wasn't well formed, can't be processed: Expected data manipulation".into()
        )
    );
    assert_eq!(db.statement_err("SELECT * FROM nope").0, "ResourceNotFoundException");
    assert_eq!(
        db.err("ExecuteStatement", json!({ "Statement": "SELECT * FROM tbl WHERE pk = ?" })).1,
        "Number of parameters in request and statement don't match."
    );
    assert_eq!(
        db.statement_err("SELECT * FROM tbl WHERE sk = 1 ORDER BY sk").1,
        "Must have WHERE clause in the statement when using ORDER BY clause."
    );
}

#[test]
fn partiql_batches_and_transactions() {
    let db = Db::with_table();
    let got = db.ok(
        "BatchExecuteStatement",
        json!({ "Statements": [
            { "Statement": "INSERT INTO tbl VALUE {'pk': 'a', 'sk': 1, 'v': 'one'}" },
            { "Statement": "INSERT INTO tbl VALUE {'pk': 'a', 'sk': 2}" },
            { "Statement": "INSERT INTO tbl VALUE {'pk': 'a', 'sk': 1}" },
            { "Statement": "UPDATE tbl SET v = 'x' WHERE pk = 'a'" },
        ]}),
    );
    let responses = got["Responses"].as_array().expect("responses");
    assert_eq!(responses[0], json!({ "TableName": "tbl" }));
    assert_eq!(responses[2]["Error"]["Code"], "DuplicateItem");
    assert_eq!(responses[3]["Error"]["Code"], "ValidationError");
    let got = db.ok(
        "BatchExecuteStatement",
        json!({ "Statements": [
            { "Statement": "SELECT v FROM tbl WHERE pk = ? AND sk = ?", "Parameters": [{ "S": "a" }, { "N": "1" }] },
            { "Statement": "SELECT * FROM tbl WHERE pk = 'a' AND sk = 9" },
            { "Statement": "SELECT * FROM tbl WHERE pk = 'a'" },
        ]}),
    );
    assert_eq!(got["Responses"][0], json!({ "TableName": "tbl", "Item": { "v": { "S": "one" } } }));
    assert_eq!(got["Responses"][1], json!({ "TableName": "tbl" }));
    assert_eq!(got["Responses"][2]["Error"]["Code"], "ValidationError");

    // A transaction of writes applies all or nothing; an INSERT of an existing key is a
    // DuplicateItem reason.
    let (code, message) = db.err(
        "ExecuteTransaction",
        json!({ "TransactStatements": [
            { "Statement": "UPDATE tbl SET v = 'changed' WHERE pk = 'a' AND sk = 2" },
            { "Statement": "INSERT INTO tbl VALUE {'pk': 'a', 'sk': 1}" },
        ]}),
    );
    assert_eq!(code, "TransactionCanceledException");
    assert!(message.ends_with("[None, DuplicateItem]"), "{message}");
    // EXISTS checks a condition on another item of the transaction.
    let (code, message) = db.err(
        "ExecuteTransaction",
        json!({ "TransactStatements": [
            { "Statement": "EXISTS(SELECT * FROM tbl WHERE pk = 'a' AND sk = 1 AND v = 'two')" },
            { "Statement": "UPDATE tbl SET v = 'changed' WHERE pk = 'a' AND sk = 2" },
        ]}),
    );
    assert_eq!(code, "TransactionCanceledException");
    assert!(message.ends_with("[ConditionalCheckFailed, None]"), "{message}");
    db.ok(
        "ExecuteTransaction",
        json!({ "TransactStatements": [
            { "Statement": "EXISTS(SELECT * FROM tbl WHERE pk = 'a' AND sk = 1 AND v = 'one')" },
            { "Statement": "UPDATE tbl SET v = 'changed' WHERE pk = 'a' AND sk = 2" },
            { "Statement": "INSERT INTO tbl VALUE {'pk': 'b', 'sk': 1}" },
        ]}),
    );
    // One item may appear once per transaction, as in TransactWriteItems.
    let (code, message) = db.err(
        "ExecuteTransaction",
        json!({ "TransactStatements": [
            { "Statement": "EXISTS(SELECT * FROM tbl WHERE pk = 'a' AND sk = 1)" },
            { "Statement": "DELETE FROM tbl WHERE pk = 'a' AND sk = 1" },
        ]}),
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ValidationException", "Transaction request cannot include multiple operations on one item")
    );
    db.ok(
        "ExecuteTransaction",
        json!({ "TransactStatements": [{ "Statement": "DELETE FROM tbl WHERE pk = 'a' AND sk = 1" }] }),
    );
    let got = db.ok(
        "ExecuteTransaction",
        json!({ "TransactStatements": [
            { "Statement": "SELECT v FROM tbl WHERE pk = 'a' AND sk = 2" },
            { "Statement": "SELECT * FROM tbl WHERE pk = 'a' AND sk = 1" },
            { "Statement": "SELECT pk FROM tbl WHERE pk = 'b' AND sk = 1" },
        ]}),
    );
    assert_eq!(
        got["Responses"],
        json!([{ "Item": { "v": { "S": "changed" } } }, {}, { "Item": { "pk": { "S": "b" } } }])
    );
    let (code, _) = db.err(
        "ExecuteTransaction",
        json!({ "TransactStatements": [
            { "Statement": "SELECT * FROM tbl WHERE pk = 'a' AND sk = 2" },
            { "Statement": "DELETE FROM tbl WHERE pk = 'a' AND sk = 2" },
        ]}),
    );
    assert_eq!(code, "ValidationException");
}
