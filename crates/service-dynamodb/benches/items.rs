//! The per-request cost of DynamoDB's hot paths on the in-memory store, without HTTP: encoding
//! an item key, PutItem (also into a table with a NEW_AND_OLD_IMAGES stream, whose record is
//! written in the same batch), GetItem, and a Query of one 100-item partition.
//! Run with `cargo bench -p service-dynamodb`.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use dynamodb_expr::AttributeValue;
use protocol::RequestContext;
use serde_json::{Value, json};
use service_dynamodb::{DynamoDbService, encode_key_value};
use storage::Store;
use types::{Scope, SystemClock};

fn call(service: &DynamoDbService, op: &str, body: &Value) -> u16 {
    let req = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("x-amz-target", format!("DynamoDB_20120810.{op}"))
        .body(Bytes::from(body.to_string()))
        .expect("request");
    service.handle(&RequestContext::new(Scope::default(), "test"), &req).status().as_u16()
}

fn bench(c: &mut Criterion) {
    let number = AttributeValue::n("-12345.678901234567890123456789");
    let string = AttributeValue::s("user#000042/orders/2026-11-27");
    c.bench_function("encode_key/number", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(32);
            encode_key_value(&mut out, black_box(&number));
            out
        })
    });
    c.bench_function("encode_key/string", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(48);
            encode_key_value(&mut out, black_box(&string));
            out
        })
    });

    let service = DynamoDbService::new(Store::memory(), Arc::new(SystemClock));
    let created = call(
        &service,
        "CreateTable",
        &json!({"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]}),
    );
    assert_eq!(created, 200);
    for i in 0..100 {
        let item = json!({"TableName": "bench", "Item": {"pk": {"S": "hot"}, "sk": {"N": i.to_string()}, "payload": {"S": "x".repeat(200)}}});
        assert_eq!(call(&service, "PutItem", &item), 200);
    }
    let mut i = 0u64;
    c.bench_function("put_item", |b| {
        b.iter(|| {
            i += 1;
            let item = json!({"TableName": "bench", "Item": {"pk": {"S": format!("p{}", i % 1000)}, "sk": {"N": "1"}, "payload": {"S": "x".repeat(200)}}});
            call(&service, "PutItem", &item)
        })
    });
    // Every put changes the item (a write that changes nothing writes no stream record), on a
    // table without and with a stream, to see what the stream record costs.
    let created = call(
        &service,
        "CreateTable",
        &json!({"TableName": "streamed", "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}}),
    );
    assert_eq!(created, 200);
    for (name, table) in [("put_item/changing", "bench"), ("put_item/changing_streamed", "streamed")] {
        c.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                let item = json!({"TableName": table, "Item": {"pk": {"S": format!("p{}", i % 1000)}, "sk": {"N": "1"}, "v": {"N": i.to_string()}, "payload": {"S": "x".repeat(200)}}});
                call(&service, "PutItem", &item)
            })
        });
    }
    let get = json!({"TableName": "bench", "Key": {"pk": {"S": "hot"}, "sk": {"N": "42"}}});
    c.bench_function("get_item", |b| b.iter(|| call(&service, "GetItem", black_box(&get))));
    let query = json!({"TableName": "bench", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "hot"}}});
    c.bench_function("query_100_items", |b| b.iter(|| call(&service, "Query", black_box(&query))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
