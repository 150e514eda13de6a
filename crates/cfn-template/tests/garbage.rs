//! No panic on client input: mangled templates (tokens swapped, lines dropped, intrinsics fed
//! the wrong shapes) go through every entry point; each must answer Ok or an Error.

use std::collections::BTreeMap;

use cfn_template::{PlanInput, Provisioned, Pseudo, plan, summarize, validate};
use serde_json::Value;

const SEED_TEMPLATES: &[&str] = &[
    r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod], AllowedPattern: '[a-z]+'}
  Size: {Type: Number, Default: 128, MinValue: 64}
  Ids: {Type: CommaDelimitedList, Default: 'a,b'}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  Both: !And [!Condition IsProd, !Not [!Condition IsProd]]
Mappings:
  M: {us-east-1: {ami: x}}
Globals:
  Function: {Runtime: python3.12, Timeout: 3}
Resources:
  Q: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub '${AWS::StackName}-${Env}', Delay: !Select [1, !Ref Ids]}}
  T: {Type: AWS::Serverless::SimpleTable}
  F:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties:
      CodeUri: s3://b/k.zip
      Handler: h
      MemorySize: !Ref Size
      AutoPublishAlias: live
      Policies: [{DynamoDBCrudPolicy: {TableName: !Ref T}}, AWSLambdaExecute]
      Environment: {Variables: {A: !FindInMap [M, !Ref 'AWS::Region', ami], B: !Join [',', !GetAZs ''], C: !Base64 x, D: !Select [0, !Cidr [10.0.0.0/16, 2, 8]]}}
      Events:
        Api: {Type: Api, Properties: {Path: /x, Method: get}}
        Http: {Type: HttpApi}
        Q: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
        S: {Type: Schedule, Properties: {Schedule: rate(1 minute)}}
Outputs:
  O: {Value: !If [IsProd, !GetAtt F.Arn, !Ref Q], Export: {Name: !Sub '${AWS::StackName}-o'}}
"#,
    r#"{"Resources": {"A": {"Type": "AWS::SQS::Queue", "Properties": {"X": {"Fn::Join": ["-", [{"Ref": "AWS::Region"}, {"Fn::GetAtt": ["B", "Arn"]}]]}}}, "B": {"Type": "AWS::SNS::Topic", "DependsOn": ["C"]}, "C": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"X": {"Value": {"Fn::ImportValue": "e"}}}}"#,
];

const TOKENS: &[&str] = &[
    "!Ref",
    "!GetAtt",
    "!Sub",
    "!If",
    "!Select",
    "!Split",
    "!Join",
    "!Cidr",
    "!FindInMap",
    "!Equals",
    "!Not",
    "!And",
    "!Condition",
    "!Base64",
    "!GetAZs",
    "!ImportValue",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    "'",
    "\"",
    "\n",
    "  ",
    "-1",
    "999",
    "${",
    "}",
    "${!x}",
    "AWS::NoValue",
    "Type",
    "Properties",
    "Events",
    "Fn::If",
    "Ref",
    "&a",
    "*a",
    "<<",
    "null",
    "~",
];

struct All;

impl Provisioned for All {
    fn physical_id(&self, id: &str) -> Option<Value> {
        Some(Value::String(id.to_owned()))
    }
    fn attribute(&self, id: &str, a: &str) -> Option<Value> {
        (a != "Nope").then(|| Value::String(format!("{id}.{a}")))
    }
    fn export(&self, _: &str) -> Option<Value> {
        Some(Value::Array(vec![]))
    }
}

const TYPES: &[&str] = &[
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Lambda::Function",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::IAM::Role",
    "AWS::DynamoDB::Table",
    "AWS::Events::Rule",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
];

#[test]
fn seed_templates_plan_unmangled() {
    let prod: BTreeMap<String, String> = [("Env".to_owned(), "prod".to_owned())].into();
    for (t, params) in [
        (SEED_TEMPLATES[0], &BTreeMap::new()),
        (SEED_TEMPLATES[0], &prod),
        (SEED_TEMPLATES[1], &BTreeMap::new()),
    ] {
        let p = plan(&PlanInput {
            template_body: t,
            parameters: params,
            pseudo: Pseudo::new("123456789012", "us-east-1", "s", "id"),
            known_types: TYPES,
            ssm_parameters: &BTreeMap::new(),
        })
        .expect("plans");
        for id in &p.order {
            p.resolve_properties(id, &All).expect("resolves");
        }
        p.resolve_outputs(&All).expect("outputs");
    }
}

#[test]
fn mangled_templates_never_panic() {
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let types = TYPES;
    let mut outcomes = [0usize; 2];
    for round in 0..2000 {
        let base = SEED_TEMPLATES[round % SEED_TEMPLATES.len()];
        let mut text = base.to_owned();
        for _ in 0..(next() % 2 + 1) {
            let mut at = (next() as usize) % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match next() % 3 {
                0 => text.insert_str(at, TOKENS[(next() as usize) % TOKENS.len()]),
                1 => {
                    let mut end = (at + (next() as usize) % 12).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                    text.replace_range(line_start..line_end, "");
                }
            }
        }
        let params: BTreeMap<String, String> =
            if next() % 2 == 0 { BTreeMap::new() } else { [("Env".to_owned(), "prod".to_owned())].into() };
        let _ = summarize(&text);
        let _ = validate(&text);
        let result = plan(&PlanInput {
            template_body: &text,
            parameters: &params,
            pseudo: Pseudo::new("123456789012", "us-east-1", "s", "id"),
            known_types: types,
            ssm_parameters: &BTreeMap::new(),
        });
        if let Ok(p) = &result {
            for id in &p.order {
                let _ = p.resolve_properties(id, &All);
            }
            let _ = p.resolve_outputs(&All);
        }
        outcomes[usize::from(result.is_ok())] += 1;
    }
    // Both paths were exercised: some mangled templates still plan, most do not.
    assert!(outcomes[0] > 100 && outcomes[1] > 10, "{outcomes:?}");
}

#[test]
fn intrinsics_with_wrong_shapes_are_errors() {
    let shapes = [
        "1",
        "\"s\"",
        "[]",
        "[1]",
        "[1, 2]",
        "[1, 2, 3]",
        "{}",
        "{\"a\": 1}",
        "null",
        "true",
        "[[]]",
        "[\"a\", {}]",
        "[\"10.0.0.0/8\", 300, 2]",
        "[\"::/0\", 1, 128]",
        "[\"1.2.3.4/40\", 1, 1]",
        "[-1, [1]]",
        "[\"x\", \"y\", \"z\"]",
    ];
    let functions = [
        "Ref",
        "Fn::GetAtt",
        "Fn::Sub",
        "Fn::Join",
        "Fn::Select",
        "Fn::Split",
        "Fn::If",
        "Fn::Equals",
        "Fn::And",
        "Fn::Or",
        "Fn::Not",
        "Fn::FindInMap",
        "Fn::GetAZs",
        "Fn::ImportValue",
        "Fn::Base64",
        "Fn::Cidr",
        "Fn::Length",
        "Fn::Transform",
    ];
    let params = BTreeMap::new();
    for f in functions {
        for s in shapes {
            let body = format!(
                r#"{{"Conditions": {{"C": {{"Fn::Equals": [1, 1]}}}}, "Mappings": {{"x": {{"y": {{"z": 1}}}}}}, "Resources": {{"A": {{"Type": "AWS::SQS::Queue", "Properties": {{"P": {{"{f}": {s}}}}}}}}}}}"#
            );
            let result = plan(&PlanInput {
                template_body: &body,
                parameters: &params,
                pseudo: Pseudo::new("1", "us-east-1", "s", "i"),
                known_types: &["AWS::SQS::Queue"],
                ssm_parameters: &BTreeMap::new(),
            });
            if let Ok(p) = result {
                let _ = p.resolve_properties("A", &All);
            }
        }
    }
}
