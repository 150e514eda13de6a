//! The per-request cost of the expression languages: parsing (with placeholder resolution) and
//! evaluating a typical conditional write, and parsing and applying a typical update.
//! Run with `cargo bench -p dynamodb-expr`.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dynamodb_expr::{AttributeValue, ExpressionKind, Item, Placeholders, item_from_json};

const ITEM: &str = r#"{"pk": {"S": "user#42"}, "sk": {"S": "profile"}, "status": {"S": "active"},
    "version": {"N": "7"}, "visits": {"N": "1234"}, "tags": {"SS": ["a", "b", "c"]},
    "address": {"M": {"city": {"S": "Lyon"}, "zip": {"S": "69001"}}},
    "history": {"L": [{"S": "login"}, {"S": "logout"}]}}"#;

const CONDITION: &str = "attribute_exists(pk) AND #st = :active AND version = :v AND (size(tags) > :zero OR NOT contains(tags, :banned))";
const UPDATE: &str = "SET version = version + :one, visits = if_not_exists(visits, :zero) + :one, \
    history = list_append(history, :event), address.city = :city REMOVE legacy ADD tags :new";

fn placeholders() -> Placeholders {
    let names = HashMap::from([("#st".to_owned(), "status".to_owned())]);
    let values: HashMap<String, AttributeValue> = [
        (":active", AttributeValue::s("active")),
        (":v", AttributeValue::n("7")),
        (":zero", AttributeValue::n("0")),
        (":one", AttributeValue::n("1")),
        (":banned", AttributeValue::s("x")),
        (":event", AttributeValue::L(vec![AttributeValue::s("purchase")])),
        (":city", AttributeValue::s("Paris")),
        (":new", AttributeValue::SS(vec!["d".to_owned()])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Placeholders::new(Some(names), Some(values)).expect("valid placeholders")
}

fn item() -> Item {
    item_from_json(&serde_json::from_str(ITEM).expect("valid JSON")).expect("valid item")
}

fn bench(c: &mut Criterion) {
    let item = item();
    let base = placeholders();

    c.bench_function("condition/parse", |b| {
        b.iter(|| base.clone().condition(ExpressionKind::Condition, black_box(CONDITION)).expect("valid"))
    });
    let condition = base.clone().condition(ExpressionKind::Condition, CONDITION).expect("valid");
    assert!(condition.evaluate(&item));
    c.bench_function("condition/evaluate", |b| b.iter(|| black_box(&condition).evaluate(black_box(&item))));
    c.bench_function("condition/parse+evaluate", |b| {
        b.iter(|| {
            let condition =
                base.clone().condition(ExpressionKind::Condition, black_box(CONDITION)).expect("valid");
            condition.evaluate(black_box(&item))
        })
    });

    c.bench_function("update/parse", |b| b.iter(|| base.clone().update(black_box(UPDATE)).expect("valid")));
    let update = base.clone().update(UPDATE).expect("valid");
    c.bench_function("update/apply", |b| {
        b.iter(|| black_box(&update).apply(black_box(&item)).expect("applies"))
    });
    c.bench_function("update/parse+apply", |b| {
        b.iter(|| {
            base.clone().update(black_box(UPDATE)).expect("valid").apply(black_box(&item)).expect("applies")
        })
    });

    let json: serde_json::Value = serde_json::from_str(ITEM).expect("valid JSON");
    c.bench_function("item/from_json", |b| b.iter(|| item_from_json(black_box(&json)).expect("valid")));
}

criterion_group!(benches, bench);
criterion_main!(benches);
