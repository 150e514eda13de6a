//! The protocol layer's per-request cost: reading input in each encoding and rendering errors.
//! Run with `cargo bench -p protocol`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use protocol::{ErrorInfo, Protocol, RequestContext, error_response, json, query};

fn query_request() -> protocol::Request {
    let body = "Action=CreateRole&Version=2010-05-08&RoleName=bench-role&Path=%2Fservice%2F\
        &AssumeRolePolicyDocument=%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D\
        &Tags.member.1.Key=team&Tags.member.1.Value=core&Tags.member.2.Key=env&Tags.member.2.Value=dev";
    http::Request::post("/")
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(Bytes::from_static(body.as_bytes()))
        .expect("valid request")
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct PutInput {
    table_name: String,
    item: serde_json::Map<String, serde_json::Value>,
    condition_expression: Option<String>,
}

const JSON_BODY: &[u8] = br#"{"TableName":"images","Item":{"pk":{"S":"img#1"},"sk":{"S":"meta"},"width":{"N":"1024"},"height":{"N":"768"},"format":{"S":"jpeg"},"tags":{"SS":["a","b","c"]}},"ConditionExpression":"attribute_not_exists(pk)"}"#;

fn bench(c: &mut Criterion) {
    let req = query_request();
    c.bench_function("query/params+structs", |b| {
        b.iter(|| {
            let p = query::params(black_box(&req)).expect("parses");
            black_box(p.structs("Tags").len())
        })
    });
    c.bench_function("json/decode", |b| {
        b.iter(|| {
            black_box(
                json::decode::<PutInput>(black_box(JSON_BODY), &["TableName", "Item"]).expect("decodes"),
            )
        })
    });
    let ctx = RequestContext::new(types::Scope::default(), "AKID");
    let err =
        ErrorInfo::new("NoSuchEntity", http::StatusCode::NOT_FOUND, "The role with name r cannot be found.");
    for p in [Protocol::AwsJson1_0, Protocol::RestJson, Protocol::RestXml, Protocol::Query] {
        c.bench_function(&format!("error_response/{p:?}"), |b| {
            b.iter(|| black_box(error_response(p, &ctx, &err)))
        });
    }
    c.bench_function("query/response", |b| {
        b.iter(|| {
            black_box(query::response(
                &ctx,
                "GetCallerIdentity",
                "https://sts.amazonaws.com/doc/2011-06-15/",
                |w| {
                    w.leaf("Arn", "arn:aws:iam::000000000000:root");
                    w.leaf("UserId", "000000000000");
                    w.leaf("Account", "000000000000");
                },
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
