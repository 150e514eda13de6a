//! The per-request cost of a mapping template: parsing one (done once per deployment) and
//! rendering it for a request (done on every request), for a typical API Gateway request
//! template that reshapes a JSON body with `$input.path`, `#foreach` and `$util`.
//! Run with `cargo bench -p vtl`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use vtl::Template;
use vtl::apigw::{self, ContextVars, Params, Request};

const TEMPLATE: &str = r#"#set($order = $input.path('$'))
{
  "orderId": "$util.escapeJavaScript($order.id)",
  "customer": "$input.params('customer')",
  "stage": "$context.stage",
  "total": $order.total,
  "items": [
#foreach($item in $order.items)
    {"sku": "$item.sku", "qty": $item.qty, "note": "$util.escapeJavaScript($item.note)"}#if($foreach.hasNext),#end
#end
  ]
}"#;

fn request() -> Request {
    let items: Vec<String> = (0..10)
        .map(|i| format!(r#"{{"sku": "sku-{i}", "qty": {i}, "note": "it's \"fragile\" #{i}"}}"#))
        .collect();
    Request {
        body: format!(r#"{{"id": "o-42", "total": 99.5, "items": [{}]}}"#, items.join(",")),
        params: Params {
            path: vec![("id".into(), "o-42".into())],
            querystring: vec![("customer".into(), "ann".into())],
            header: vec![("Content-Type".into(), "application/json".into())],
        },
        context: ContextVars { request_id: "r-1".into(), stage: "prod".into(), ..Default::default() }
            .to_map(),
        stage_variables: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    c.bench_function("vtl: parse a request template", |b| {
        b.iter(|| Template::parse(black_box(TEMPLATE)).expect("valid template"))
    });
    let template = Template::parse(TEMPLATE).expect("valid template");
    let request = request();
    c.bench_function("vtl: render it for a 10-item order", |b| {
        b.iter(|| apigw::render(black_box(&template), black_box(&request)).expect("renders"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
