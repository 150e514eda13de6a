//! Parsing and planning a 200-resource template (CloudFormation's per-template resource limit
//! was 200 for years, and real stacks sit near it): YAML and JSON parsing alone, the SAM
//! transform, and the whole plan (transform, checks, conditions, order), plus resolving every
//! resource's properties. Run with `cargo bench -p cfn-template`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use cfn_template::{PlanInput, Provisioned, Pseudo, parse_document, plan};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

const TYPES: &[&str] = &[
    "AWS::Lambda::Function",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::SQS::Queue",
    "AWS::DynamoDB::Table",
    "AWS::IAM::Role",
];

/// 40 queues, 40 tables and 40 functions (each with a role, a queue mapping and an API route,
/// so 40 × 3 more resources after the transform), chained so the graph has depth.
fn sam_template() -> String {
    let mut t = String::from(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nParameters:\n  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nGlobals:\n  Function: {Runtime: python3.12, Timeout: 10, MemorySize: 256}\nResources:\n",
    );
    for i in 0..40usize {
        let _ = write!(
            t,
            "  Queue{i}:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub '${{AWS::StackName}}-q{i}'\n      VisibilityTimeout: !If [IsProd, 60, 30]\n  Table{i}:\n    Type: AWS::Serverless::SimpleTable\n  Fn{i}:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: s3://artifacts/fn{i}.zip\n      Handler: app.handler\n      Environment: {{Variables: {{TABLE: !Ref Table{i}, QUEUE: !GetAtt Queue{i}.Arn, PREV: !Join ['-', [a, !Ref Queue{prev}]]}}}}\n      Policies: [{{DynamoDBCrudPolicy: {{TableName: !Ref Table{i}}}}}]\n      Events:\n        Work: {{Type: SQS, Properties: {{Queue: !GetAtt Queue{i}.Arn, BatchSize: 10}}}}\n        Get: {{Type: Api, Properties: {{Path: /fn{i}, Method: get}}}}\n",
            prev = i.saturating_sub(1)
        );
    }
    t.push_str("Outputs:\n  Api: {Value: !Sub 'https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod'}\n");
    t
}

/// 200 plain resources in JSON, each referring to the one before it.
fn json_template() -> String {
    let mut resources = serde_json::Map::new();
    for i in 0..200 {
        let mut props =
            json!({"QueueName": {"Fn::Sub": format!("${{AWS::StackName}}-{i}")}, "DelaySeconds": i % 900});
        if i > 0 {
            props["Tags"] = json!([{"Key": "prev", "Value": {"Fn::GetAtt": [format!("Q{}", i - 1), "Arn"]}}]);
        }
        resources.insert(format!("Q{i}"), json!({"Type": "AWS::SQS::Queue", "Properties": props}));
    }
    json!({"Resources": resources}).to_string()
}

struct All;

impl Provisioned for All {
    fn physical_id(&self, id: &str) -> Option<Value> {
        Some(Value::String(id.to_owned()))
    }
    fn attribute(&self, id: &str, attribute: &str) -> Option<Value> {
        Some(Value::String(format!("{id}.{attribute}")))
    }
    fn export(&self, _: &str) -> Option<Value> {
        None
    }
}

fn planning(c: &mut Criterion) {
    let sam = sam_template();
    let plain = json_template();
    let params = BTreeMap::new();
    let no_ssm = BTreeMap::new();
    let pseudo = Pseudo::new(
        "123456789012",
        "us-east-1",
        "bench",
        "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/1",
    );
    let input = |body| PlanInput {
        template_body: body,
        parameters: &params,
        pseudo: pseudo.clone(),
        known_types: TYPES,
        ssm_parameters: &no_ssm,
    };
    let planned = plan(&input(&sam)).expect("plans");
    eprintln!("SAM template: {} bytes, {} resources after the transform", sam.len(), planned.order.len());

    let mut group = c.benchmark_group("template");
    group.throughput(Throughput::Elements(1));
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(20);
    group.bench_function("parse_yaml_sam_120", |b| {
        b.iter(|| parse_document(black_box(&sam)).expect("parses"))
    });
    group.bench_function("parse_json_200", |b| b.iter(|| parse_document(black_box(&plain)).expect("parses")));
    group.bench_function("plan_sam_to_280", |b| b.iter(|| plan(&input(black_box(&sam))).expect("plans")));
    group.bench_function("plan_json_200", |b| b.iter(|| plan(&input(black_box(&plain))).expect("plans")));
    group.bench_function("resolve_all_280", |b| {
        b.iter(|| {
            for id in &planned.order {
                black_box(planned.resolve_properties(id, &All).expect("resolves"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, planning);
criterion_main!(benches);
