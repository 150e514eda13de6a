//! The SAM transform on real-world-shaped applications: the resources generated (ids and
//! types, snapshotted), the wiring between them, and that the result plans and resolves.

use std::collections::{BTreeMap, BTreeSet};

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use crate::{PlanInput, Provisioned, Pseudo, plan};

/// The resource types Nimbus provisions (what service-cloudformation will pass in).
const TYPES: &[&str] = &[
    "AWS::Lambda::Function",
    "AWS::Lambda::Version",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Permission",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::LayerVersion",
    "AWS::Lambda::Url",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Events::Rule",
    "AWS::Scheduler::Schedule",
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
    "AWS::IAM::Role",
];

fn expand(yaml: &str) -> Value {
    let doc = crate::parse_document(yaml).expect("parses");
    super::transform(&doc, &BTreeMap::new()).expect("transforms")
}

fn expand_err(yaml: &str) -> String {
    let doc = crate::parse_document(yaml).expect("parses");
    super::transform(&doc, &BTreeMap::new()).expect_err("should fail").to_string()
}

/// `Id: Type` of every generated resource, sorted.
fn inventory(doc: &Value, expect: Expect) {
    let lines: Vec<String> = doc["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .map(|(id, r)| format!("{id}: {}", r["Type"].as_str().unwrap_or("?")))
        .collect();
    expect.assert_eq(&(lines.join("\n") + "\n"));
}

/// Every resource "created": physical id = logical id, any attribute = `{id}.{attr}`.
struct All;

impl Provisioned for All {
    fn physical_id(&self, id: &str) -> Option<Value> {
        Some(json!(id))
    }
    fn attribute(&self, id: &str, attribute: &str) -> Option<Value> {
        Some(json!(format!("{id}.{attribute}")))
    }
    fn export(&self, _: &str) -> Option<Value> {
        None
    }
}

/// Plans the template end to end and resolves every resource and output.
fn plans(yaml: &str) -> crate::Plan {
    let params = BTreeMap::new();
    let p = plan(&PlanInput {
        template_body: yaml,
        parameters: &params,
        pseudo: Pseudo::new(
            "123456789012",
            "us-east-1",
            "app",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1",
        ),
        known_types: TYPES,
        ssm_parameters: &BTreeMap::new(),
    })
    .expect("plans");
    for id in &p.order {
        p.resolve_properties(id, &All).expect("resolves");
    }
    p.resolve_outputs(&All).expect("outputs resolve");
    p
}

const HELLO: &str = r#"
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: hello-world
Globals:
  Function:
    Timeout: 3
    Environment: {Variables: {STAGE: prod}}
Resources:
  HelloWorldFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://artifacts/hello.zip
      Handler: app.lambda_handler
      Runtime: python3.12
      Environment: {Variables: {GREETING: hi}}
      Events:
        HelloWorld:
          Type: Api
          Properties: {Path: /hello, Method: get}
Outputs:
  HelloWorldApi:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/hello/"
  HelloWorldFunction:
    Value: !GetAtt HelloWorldFunction.Arn
  HelloWorldFunctionIamRole:
    Value: !GetAtt HelloWorldFunctionRole.Arn
"#;

#[test]
fn hello_world_api() {
    let doc = expand(HELLO);
    let hash = doc["Resources"]
        .as_object()
        .and_then(|r| r.keys().find(|k| k.starts_with("ServerlessRestApiDeployment")).cloned())
        .expect("deployment");
    assert_eq!(hash.len(), "ServerlessRestApiDeployment".len() + 10);
    let text = doc.to_string().replace(&hash, "ServerlessRestApiDeploymentHASH");
    let doc: Value = serde_json::from_str(&text).expect("json");
    inventory(
        &doc,
        expect![[r#"
            HelloWorldFunction: AWS::Lambda::Function
            HelloWorldFunctionHelloWorldPermissionProd: AWS::Lambda::Permission
            HelloWorldFunctionRole: AWS::IAM::Role
            ServerlessRestApi: AWS::ApiGateway::RestApi
            ServerlessRestApiDeploymentHASH: AWS::ApiGateway::Deployment
            ServerlessRestApiProdStage: AWS::ApiGateway::Stage
        "#]],
    );
    let f = &doc["Resources"]["HelloWorldFunction"]["Properties"];
    assert_eq!(f["Code"], json!({"S3Bucket": "artifacts", "S3Key": "hello.zip"}));
    assert_eq!(f["Timeout"], json!(3));
    assert_eq!(f["Environment"], json!({"Variables": {"STAGE": "prod", "GREETING": "hi"}}));
    assert_eq!(f["Role"], json!({"Fn::GetAtt": ["HelloWorldFunctionRole", "Arn"]}));
    assert_eq!(f["Tags"], json!([{"Key": "lambda:createdBy", "Value": "SAM"}]));
    let role = &doc["Resources"]["HelloWorldFunctionRole"]["Properties"];
    assert_eq!(
        role["ManagedPolicyArns"],
        json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}])
    );
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
        json!({"Service": ["lambda.amazonaws.com"]})
    );
    let body = &doc["Resources"]["ServerlessRestApi"]["Properties"]["Body"];
    assert_eq!(
        body["paths"]["/hello"]["get"]["x-amazon-apigateway-integration"],
        json!({"type": "aws_proxy", "httpMethod": "POST", "uri": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${HelloWorldFunction.Arn}/invocations"}})
    );
    assert_eq!(
        doc["Resources"]["ServerlessRestApiProdStage"]["Properties"],
        json!({"DeploymentId": {"Ref": "ServerlessRestApiDeploymentHASH"}, "RestApiId": {"Ref": "ServerlessRestApi"}, "StageName": "Prod"})
    );
    assert_eq!(
        doc["Resources"]["HelloWorldFunctionHelloWorldPermissionProd"]["Properties"]["SourceArn"]["Fn::Sub"]
            [0],
        json!(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/${__Stage__}/GET/hello"
        )
    );
    assert!(doc.get("Globals").is_none() && doc.get("Transform").is_none());

    let p = plans(HELLO);
    // The role before the function, the function before the API that integrates it.
    let pos = |id: &str| p.order.iter().position(|x| x == id).expect(id);
    assert!(pos("HelloWorldFunctionRole") < pos("HelloWorldFunction"));
    assert!(pos("HelloWorldFunction") < pos("ServerlessRestApi"));
    assert!(pos("ServerlessRestApi") < pos("ServerlessRestApiProdStage"));
    let outputs = p.resolve_outputs(&All).expect("outputs");
    assert_eq!(outputs[0].value, "https://ServerlessRestApi.execute-api.us-east-1.amazonaws.com/Prod/hello/");
    assert_eq!(outputs[2].value, "HelloWorldFunctionRole.Arn");
    // The same template expands the same way every time.
    assert_eq!(expand(HELLO), expand(HELLO));
}

const THUMBNAILS: &str = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  SourceBucket:
    Type: AWS::S3::Bucket
    Properties: {BucketName: !Sub "${AWS::StackName}-source"}
  ThumbnailBucket:
    Type: AWS::S3::Bucket
  ThumbnailFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {Bucket: artifacts, Key: thumbs.zip, Version: "3"}
      Handler: index.handler
      Runtime: nodejs20.x
      MemorySize: 1024
      Environment: {Variables: {DEST: !Ref ThumbnailBucket}}
      Policies:
        - S3ReadPolicy: {BucketName: !Sub "${AWS::StackName}-source"}
        - S3CrudPolicy: {BucketName: !Ref ThumbnailBucket}
        - AmazonS3ReadOnlyAccess
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref SourceBucket
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: suffix, Value: .jpg}]}}
"#;

#[test]
fn s3_thumbnail_app() {
    let doc = expand(THUMBNAILS);
    inventory(
        &doc,
        expect![[r#"
            SourceBucket: AWS::S3::Bucket
            ThumbnailBucket: AWS::S3::Bucket
            ThumbnailFunction: AWS::Lambda::Function
            ThumbnailFunctionRole: AWS::IAM::Role
            ThumbnailFunctionUploadPermission: AWS::Lambda::Permission
        "#]],
    );
    let bucket = &doc["Resources"]["SourceBucket"];
    assert_eq!(bucket["DependsOn"], json!(["ThumbnailFunctionUploadPermission"]));
    assert_eq!(
        bucket["Properties"]["NotificationConfiguration"],
        json!({"LambdaConfigurations": [{"Event": "s3:ObjectCreated:*", "Function": {"Fn::GetAtt": ["ThumbnailFunction", "Arn"]}, "Filter": {"S3Key": {"Rules": [{"Name": "suffix", "Value": ".jpg"}]}}}]})
    );
    let perm = &doc["Resources"]["ThumbnailFunctionUploadPermission"]["Properties"];
    assert_eq!(perm["Principal"], json!("s3.amazonaws.com"));
    assert_eq!(perm["SourceAccount"], json!({"Ref": "AWS::AccountId"}));
    assert_eq!(
        doc["Resources"]["ThumbnailFunction"]["Properties"]["Code"],
        json!({"S3Bucket": "artifacts", "S3Key": "thumbs.zip", "S3ObjectVersion": "3"})
    );
    let role = &doc["Resources"]["ThumbnailFunctionRole"]["Properties"];
    assert_eq!(role["Policies"][0]["PolicyName"], json!("ThumbnailFunctionRolePolicy0"));
    assert_eq!(role["Policies"][1]["PolicyName"], json!("ThumbnailFunctionRolePolicy1"));
    assert_eq!(
        role["Policies"][1]["PolicyDocument"]["Statement"][0]["Resource"][0],
        json!({"Fn::Sub": ["arn:${AWS::Partition}:s3:::${__p__}", {"__p__": {"Ref": "ThumbnailBucket"}}]})
    );
    assert_eq!(
        role["ManagedPolicyArns"][1],
        json!({"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonS3ReadOnlyAccess"})
    );
    let p = plans(THUMBNAILS);
    let pos = |id: &str| p.order.iter().position(|x| x == id).expect(id);
    assert!(pos("ThumbnailFunctionUploadPermission") < pos("SourceBucket"));
}

const QUEUE_WORKER: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Alias: {Type: String, Default: live}
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {RedrivePolicy: {deadLetterTargetArn: !GetAtt JobsDlq.Arn, maxReceiveCount: 3}}
  JobsDlq:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      InlineCode: "def handler(e, c): return len(e['Records'])"
      Handler: index.handler
      Runtime: python3.12
      AutoPublishAlias: !Ref Alias
      ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 1}
      ReservedConcurrentExecutions: 5
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt JobsDlq.Arn}
      Policies:
        - SQSPollerPolicy: {QueueName: !GetAtt Jobs.QueueName}
        - Statement: [{Effect: Allow, Action: ["logs:*"], Resource: "*"}]
      Events:
        Batch:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 10, FunctionResponseTypes: [ReportBatchItemFailures]}
Outputs:
  WorkerAlias: {Value: !Ref Worker.Alias}
  WorkerVersion: {Value: !Ref Worker.Version}
"#;

#[test]
fn queue_worker_with_alias() {
    let doc = expand(QUEUE_WORKER);
    let version = doc["Resources"]
        .as_object()
        .and_then(|r| r.keys().find(|k| k.starts_with("WorkerVersion")).cloned())
        .expect("version");
    let doc: Value =
        serde_json::from_str(&doc.to_string().replace(&version, "WorkerVersionHASH")).expect("json");
    inventory(
        &doc,
        expect![[r#"
            Jobs: AWS::SQS::Queue
            JobsDlq: AWS::SQS::Queue
            Worker: AWS::Lambda::Function
            WorkerAliaslive: AWS::Lambda::Alias
            WorkerBatch: AWS::Lambda::EventSourceMapping
            WorkerRole: AWS::IAM::Role
            WorkerVersionHASH: AWS::Lambda::Version
        "#]],
    );
    let r = &doc["Resources"];
    assert_eq!(
        r["Worker"]["Properties"]["Code"],
        json!({"ZipFile": "def handler(e, c): return len(e['Records'])"})
    );
    assert_eq!(
        r["Worker"]["Properties"]["DeadLetterConfig"],
        json!({"TargetArn": {"Fn::GetAtt": ["JobsDlq", "Arn"]}})
    );
    assert_eq!(r["WorkerVersionHASH"]["DeletionPolicy"], json!("Retain"));
    assert_eq!(
        r["WorkerAliaslive"]["Properties"],
        json!({"Name": "live", "FunctionName": {"Ref": "Worker"}, "FunctionVersion": {"Fn::GetAtt": ["WorkerVersionHASH", "Version"]}, "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 1}})
    );
    // Events go to the alias, not $LATEST.
    assert_eq!(r["WorkerBatch"]["Properties"]["FunctionName"], json!({"Ref": "WorkerAliaslive"}));
    assert_eq!(r["WorkerBatch"]["DependsOn"], json!(["WorkerRole"]));
    let managed = &r["WorkerRole"]["Properties"]["ManagedPolicyArns"];
    assert_eq!(
        managed[1],
        json!({"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"})
    );
    let policies = r["WorkerRole"]["Properties"]["Policies"].as_array().expect("policies");
    let names: Vec<&str> = policies.iter().filter_map(|p| p["PolicyName"].as_str()).collect();
    assert_eq!(names, vec!["WorkerRolePolicy0", "WorkerRolePolicy1", "WorkerRoleDeadLetterQueueSQSPolicy"]);
    assert_eq!(doc["Outputs"]["WorkerAlias"]["Value"], json!({"Ref": "WorkerAliaslive"}));
    assert_eq!(doc["Outputs"]["WorkerVersion"]["Value"], json!({"Ref": "WorkerVersionHASH"}));

    // New code, new version id; same code, same id (so an unrelated change keeps the version).
    let changed = expand(&QUEUE_WORKER.replace("len(e['Records'])", "0"));
    assert!(changed["Resources"].get(&version).is_none());
    assert!(
        expand(&QUEUE_WORKER.replace("BatchSize: 10", "BatchSize: 5"))["Resources"].get(&version).is_some()
    );
    plans(QUEUE_WORKER);
}

const STREAM: &str = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
  Processor:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://artifacts/proc.zip?versionId=v7
      Handler: app.handler
      Runtime: python3.12
      Tracing: Active
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 100
            MaximumRetryAttempts: 2
"#;

#[test]
fn stream_processor() {
    let doc = expand(STREAM);
    inventory(
        &doc,
        expect![[r#"
            Orders: AWS::DynamoDB::Table
            Processor: AWS::Lambda::Function
            ProcessorChanges: AWS::Lambda::EventSourceMapping
            ProcessorRole: AWS::IAM::Role
        "#]],
    );
    let r = &doc["Resources"];
    assert_eq!(r["Processor"]["Properties"]["Code"]["S3ObjectVersion"], json!("v7"));
    assert_eq!(r["Processor"]["Properties"]["TracingConfig"], json!({"Mode": "Active"}));
    assert_eq!(
        r["ProcessorChanges"]["Properties"],
        json!({"EventSourceArn": {"Fn::GetAtt": ["Orders", "StreamArn"]}, "FunctionName": {"Ref": "Processor"}, "StartingPosition": "TRIM_HORIZON", "BatchSize": 100, "MaximumRetryAttempts": 2})
    );
    let managed: Vec<String> = r["ProcessorRole"]["Properties"]["ManagedPolicyArns"]
        .as_array()
        .expect("managed")
        .iter()
        .map(|m| m["Fn::Sub"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        managed,
        vec!["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaDynamoDBExecutionRole"]
    );
    plans(STREAM);
    let err = expand_err(&STREAM.replace("StartingPosition: TRIM_HORIZON", "BatchSize2: 1"));
    assert_eq!(
        err,
        "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. Number of errors found: 1. Resource with id [Processor] is invalid. Event with id [Changes] is invalid. Missing required property 'StartingPosition'."
    );
}

const CRUD: &str = r#"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: nodejs20.x
    CodeUri: s3://artifacts/crud.zip
    Environment: {Variables: {TABLE: !Ref Items}}
  Api:
    Cors: "'*'"
Resources:
  Items:
    Type: AWS::Serverless::SimpleTable
  Keyed:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey: {Name: sku, Type: Number}
      ProvisionedThroughput: {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
      TableName: keyed
      Tags: {team: shop}
  GetItem:
    Type: AWS::Serverless::Function
    Properties:
      Handler: get.handler
      Policies: [{DynamoDBCrudPolicy: {TableName: !Ref Items}}]
      Events:
        Get: {Type: Api, Properties: {Path: "/items/{id}", Method: get}}
  PutItem:
    Type: AWS::Serverless::Function
    Properties:
      Handler: put.handler
      Policies: [{DynamoDBCrudPolicy: {TableName: !Ref Items}}]
      Events:
        Put: {Type: Api, Properties: {Path: /items, Method: post}}
        Any: {Type: Api, Properties: {Path: "/items/{proxy+}", Method: any}}
Outputs:
  Endpoint: {Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/Prod"}
"#;

#[test]
fn crud_api_with_simple_table() {
    let doc = expand(CRUD);
    let r = &doc["Resources"];
    assert_eq!(
        r["Items"]["Properties"],
        json!({"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST"})
    );
    assert_eq!(
        r["Keyed"]["Properties"],
        json!({"AttributeDefinitions": [{"AttributeName": "sku", "AttributeType": "N"}], "KeySchema": [{"AttributeName": "sku", "KeyType": "HASH"}], "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}, "TableName": "keyed", "Tags": [{"Key": "team", "Value": "shop"}]})
    );
    let body = &r["ServerlessRestApi"]["Properties"]["Body"];
    let mut routes: Vec<String> = Vec::new();
    for (path, ops) in body["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("ops").keys() {
            routes.push(format!("{method} {path}"));
        }
    }
    expect![[r#"
        [
            "options /items",
            "post /items",
            "get /items/{id}",
            "options /items/{id}",
            "options /items/{proxy+}",
            "x-amazon-apigateway-any-method /items/{proxy+}",
        ]
    "#]]
    .assert_debug_eq(&routes);
    assert_eq!(
        body["paths"]["/items"]["options"]["x-amazon-apigateway-integration"]["responses"]["default"]["responseParameters"],
        json!({"method.response.header.Access-Control-Allow-Origin": "'*'", "method.response.header.Access-Control-Allow-Methods": "'OPTIONS,POST'"})
    );
    assert_eq!(
        r["PutItemAnyPermissionProd"]["Properties"]["SourceArn"]["Fn::Sub"][0],
        json!(
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/${__Stage__}/*/items/*"
        )
    );
    assert_eq!(r["GetItem"]["Properties"]["Environment"], json!({"Variables": {"TABLE": {"Ref": "Items"}}}));
    assert_eq!(r["GetItemRole"]["Properties"]["Policies"][0]["PolicyName"], json!("GetItemRolePolicy0"));
    let p = plans(CRUD);
    let outputs = p.resolve_outputs(&All).expect("outputs");
    assert_eq!(outputs[0].value, "https://ServerlessRestApi.execute-api.us-east-1.amazonaws.com/Prod");
    let pos = |id: &str| p.order.iter().position(|x| x == id).expect(id);
    assert!(pos("Items") < pos("GetItemRole"));
}

const EVENTS: &str = r#"
Transform: AWS::Serverless-2016-10-31
Resources:
  Alerts: {Type: AWS::SNS::Topic}
  Bus: {Type: AWS::Events::EventBus}
  Handler:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://artifacts/h.zip
      Handler: h.handler
      Runtime: python3.12
      Role: arn:aws:iam::123456789012:role/existing
      FunctionUrlConfig: {AuthType: NONE, Cors: {AllowOrigins: ["*"]}}
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS}
          OnSuccess: {Type: SNS, Destination: !Ref Alerts}
      Events:
        Http: {Type: HttpApi, Properties: {Path: /ping, Method: GET}}
        Fallback: {Type: HttpApi}
        Orders:
          Type: EventBridgeRule
          Properties: {Pattern: {source: [shop]}, EventBusName: !Ref Bus}
        Legacy:
          Type: CloudWatchEvent
          Properties: {Pattern: {source: [aws.ec2]}}
        Nightly:
          Type: Schedule
          Properties: {Schedule: rate(1 day), Enabled: false, Input: '{"k": 1}'}
        Hourly:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour)}
        Notify:
          Type: SNS
          Properties: {Topic: !Ref Alerts, FilterPolicy: {kind: [a]}}
Outputs:
  HttpUrl: {Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/"}
  FailureQueue: {Value: !Ref Handler.DestinationQueue}
"#;

#[test]
fn every_other_event_source() {
    let doc = expand(EVENTS);
    inventory(
        &doc,
        expect![[r#"
            Alerts: AWS::SNS::Topic
            Bus: AWS::Events::EventBus
            Handler: AWS::Lambda::Function
            HandlerEventInvokeConfig: AWS::Lambda::EventInvokeConfig
            HandlerFallbackPermission: AWS::Lambda::Permission
            HandlerHourly: AWS::Scheduler::Schedule
            HandlerHourlyRole: AWS::IAM::Role
            HandlerHttpPermission: AWS::Lambda::Permission
            HandlerLegacy: AWS::Events::Rule
            HandlerLegacyPermission: AWS::Lambda::Permission
            HandlerNightly: AWS::Events::Rule
            HandlerNightlyPermission: AWS::Lambda::Permission
            HandlerNotify: AWS::SNS::Subscription
            HandlerNotifyPermission: AWS::Lambda::Permission
            HandlerOnFailureQueue: AWS::SQS::Queue
            HandlerOrders: AWS::Events::Rule
            HandlerOrdersPermission: AWS::Lambda::Permission
            HandlerUrl: AWS::Lambda::Url
            HandlerUrlPublicPermissions: AWS::Lambda::Permission
            ServerlessHttpApi: AWS::ApiGatewayV2::Api
            ServerlessHttpApiApiGatewayDefaultStage: AWS::ApiGatewayV2::Stage
        "#]],
    );
    let r = &doc["Resources"];
    assert_eq!(r["Handler"]["Properties"]["Role"], json!("arn:aws:iam::123456789012:role/existing"));
    assert_eq!(
        r["HandlerOrders"]["Properties"],
        json!({"EventPattern": {"source": ["shop"]}, "EventBusName": {"Ref": "Bus"}, "Targets": [{"Arn": {"Fn::GetAtt": ["Handler", "Arn"]}, "Id": "HandlerOrdersLambdaTarget"}]})
    );
    assert_eq!(
        r["HandlerOrdersPermission"]["Properties"]["SourceArn"],
        json!({"Fn::GetAtt": ["HandlerOrders", "Arn"]})
    );
    assert_eq!(r["HandlerNightly"]["Properties"]["State"], json!("DISABLED"));
    assert_eq!(r["HandlerNightly"]["Properties"]["ScheduleExpression"], json!("rate(1 day)"));
    assert_eq!(r["HandlerNightly"]["Properties"]["Targets"][0]["Input"], json!("{\"k\": 1}"));
    assert_eq!(
        r["HandlerHourly"]["Properties"]["Target"],
        json!({"Arn": {"Fn::GetAtt": ["Handler", "Arn"]}, "RoleArn": {"Fn::GetAtt": ["HandlerHourlyRole", "Arn"]}})
    );
    assert_eq!(r["HandlerHourly"]["Properties"]["FlexibleTimeWindow"], json!({"Mode": "OFF"}));
    assert_eq!(
        r["HandlerHourlyRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        json!(["scheduler.amazonaws.com"])
    );
    assert_eq!(
        r["HandlerNotify"]["Properties"],
        json!({"Endpoint": {"Fn::GetAtt": ["Handler", "Arn"]}, "Protocol": "lambda", "TopicArn": {"Ref": "Alerts"}, "FilterPolicy": {"kind": ["a"]}})
    );
    assert_eq!(
        r["HandlerUrl"]["Properties"],
        json!({"AuthType": "NONE", "TargetFunctionArn": {"Ref": "Handler"}, "Cors": {"AllowOrigins": ["*"]}})
    );
    assert_eq!(r["HandlerUrlPublicPermissions"]["Properties"]["Action"], json!("lambda:InvokeFunctionUrl"));
    assert_eq!(
        r["HandlerEventInvokeConfig"]["Properties"],
        json!({"FunctionName": {"Ref": "Handler"}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 1, "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["HandlerOnFailureQueue", "Arn"]}}, "OnSuccess": {"Destination": {"Ref": "Alerts"}}}})
    );
    let paths = &r["ServerlessHttpApi"]["Properties"]["Body"]["paths"];
    assert_eq!(
        paths["/ping"]["get"]["x-amazon-apigateway-integration"]["payloadFormatVersion"],
        json!("2.0")
    );
    assert!(paths["$default"]["x-amazon-apigateway-any-method"].is_object());
    assert_eq!(
        r["ServerlessHttpApiApiGatewayDefaultStage"]["Properties"],
        json!({"ApiId": {"Ref": "ServerlessHttpApi"}, "StageName": "$default", "AutoDeploy": true, "Tags": {"httpapi:createdBy": "SAM"}})
    );
    assert_eq!(doc["Outputs"]["FailureQueue"]["Value"], json!({"Ref": "HandlerOnFailureQueue"}));
    let params = BTreeMap::new();
    let types: Vec<&str> = TYPES.iter().copied().chain(["AWS::Events::EventBus"]).collect();
    let p = plan(&PlanInput {
        template_body: EVENTS,
        parameters: &params,
        pseudo: Pseudo::new("1", "us-east-1", "s", "i"),
        known_types: &types,
        ssm_parameters: &BTreeMap::new(),
    })
    .expect("plans");
    assert_eq!(p.order.len(), 21);
}

const EXPLICIT_APIS: &str = r#"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: v1}
Resources:
  Authorizer:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: s3://a/auth.zip, Handler: a.h, Runtime: python3.12}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Auth:
        DefaultAuthorizer: Token
        Authorizers:
          Token: {FunctionArn: !GetAtt Authorizer.Arn}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: beta
      CorsConfiguration: true
  Shared:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: s3://a/layer.zip, CompatibleRuntimes: [python3.12], RetentionPolicy: Delete}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://a/fn.zip
      Handler: f.h
      Runtime: python3.12
      Layers: [!Ref Shared]
      Events:
        Secure: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /secure, Method: get}}
        Open: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /open, Method: get, Auth: {Authorizer: NONE}}}
        Beta: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /b, Method: post}}
Outputs:
  Stage: {Value: !Ref Api.Stage}
  Layer: {Value: !Ref Shared}
"#;

#[test]
fn explicit_apis_auth_and_layers() {
    let doc = expand(EXPLICIT_APIS);
    let ids: BTreeSet<String> = doc["Resources"].as_object().expect("r").keys().cloned().collect();
    for id in [
        "Api",
        "Apiv1Stage",
        "ApiTokenAuthorizerPermission",
        "FnSecurePermissionv1",
        "FnOpenPermissionv1",
        "Http",
        "HttpbetaStage",
        "FnBetaPermission",
    ] {
        assert!(ids.contains(id), "{id} missing from {ids:?}");
    }
    let layer = ids.iter().find(|i| i.starts_with("Shared")).expect("layer");
    assert_eq!(layer.len(), "Shared".len() + 10);
    let r = &doc["Resources"];
    assert_eq!(r[layer]["DeletionPolicy"], json!("Delete"));
    assert_eq!(r[layer]["Properties"]["Content"], json!({"S3Bucket": "a", "S3Key": "layer.zip"}));
    assert_eq!(r["Fn"]["Properties"]["Layers"], json!([{"Ref": layer}]));
    assert_eq!(doc["Outputs"]["Layer"]["Value"], json!({"Ref": layer}));
    assert_eq!(doc["Outputs"]["Stage"]["Value"], json!({"Ref": "Apiv1Stage"}));
    let body = &r["Api"]["Properties"]["Body"];
    assert_eq!(body["paths"]["/secure"]["get"]["security"], json!([{"Token": []}]));
    assert!(body["paths"]["/open"]["get"].get("security").is_none());
    assert_eq!(body["securityDefinitions"]["Token"]["x-amazon-apigateway-authtype"], json!("custom"));
    assert_eq!(
        r["Http"]["Properties"]["Body"]["x-amazon-apigateway-cors"],
        json!({"allowOrigins": ["*"], "allowHeaders": ["*"], "allowMethods": ["*"]})
    );
    assert_eq!(r["HttpbetaStage"]["Properties"]["StageName"], json!("beta"));
    plans(EXPLICIT_APIS);
}

#[test]
fn conditions_and_attributes_follow_generated_resources() {
    let doc = expand(
        "Transform: AWS::Serverless-2016-10-31\nConditions:\n  IsOn: !Equals [a, a]\nResources:\n  Q: {Type: AWS::SQS::Queue}\n  F:\n    Type: AWS::Serverless::Function\n    Condition: IsOn\n    DependsOn: Q\n    Metadata: {BuildMethod: makefile}\n    Properties:\n      InlineCode: x\n      Handler: i.h\n      Runtime: python3.12\n      Events:\n        S: {Type: Schedule, Properties: {Schedule: rate(5 minutes)}}\n",
    );
    let r = &doc["Resources"];
    for id in ["F", "FRole", "FS", "FSPermission"] {
        assert_eq!(r[id]["Condition"], json!("IsOn"), "{id}");
    }
    assert_eq!(r["F"]["DependsOn"], json!("Q"));
    assert_eq!(r["F"]["Metadata"], json!({"BuildMethod": "makefile"}));
    assert!(r["FRole"].get("DependsOn").is_none());
}

#[test]
fn an_implicit_api_exists_only_with_its_conditional_functions() {
    let f = |id: &str, cond: &str| {
        format!(
            "  {id}:\n    Type: AWS::Serverless::Function\n    Condition: {cond}\n    Properties: {{InlineCode: x, Handler: h, Runtime: python3.12, Events: {{E: {{Type: Api, Properties: {{Path: /{id}, Method: get}}}}}}}}\n"
        )
    };
    let head = "Transform: AWS::Serverless-2016-10-31\nParameters: {On: {Type: String, Default: 'no'}}\nConditions:\n  A: !Equals [!Ref On, 'yes']\n  B: !Equals [!Ref On, 'no']\nResources:\n";
    let one = expand(&format!("{head}{}", f("F", "A")));
    assert_eq!(one["Resources"]["ServerlessRestApi"]["Condition"], json!("A"));
    assert_eq!(one["Resources"]["ServerlessRestApiProdStage"]["Condition"], json!("A"));
    assert_eq!(
        one["Resources"]["ServerlessRestApi"]["Properties"]["Body"]["paths"]["/F"]["get"]["Fn::If"][2],
        json!({"Ref": "AWS::NoValue"})
    );
    let two = format!("{head}{}{}", f("F", "A"), f("G", "B"));
    let doc = expand(&two);
    assert_eq!(doc["Resources"]["ServerlessRestApi"]["Condition"], json!("ServerlessRestApiCondition"));
    assert_eq!(
        doc["Conditions"]["ServerlessRestApiCondition"],
        json!({"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]})
    );
    // With On=no only G exists: the API is planned, its body has G's route only.
    let p = plans(&two);
    assert!(p.order.contains(&"ServerlessRestApi".to_owned()) && !p.order.contains(&"F".to_owned()));
    let api = p.resolve_properties("ServerlessRestApi", &All).expect("resolves");
    assert_eq!(api["Body"]["paths"]["/F"], json!({}));
    assert!(api["Body"]["paths"]["/G"]["get"].is_object());
}

#[test]
fn transform_errors_in_sam_words() {
    let prefix = "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. Number of errors found: 1. ";
    let f = |props: &str| {
        format!(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {{Handler: h, Runtime: python3.12, {props}}}\n"
        )
    };
    assert_eq!(
        expand_err(&f("CodeUri: ./src")),
        format!(
            "{prefix}Resource with id [F] is invalid. 'CodeUri' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter."
        )
    );
    assert_eq!(
        expand_err(&f("MemorySize: 128")),
        format!("{prefix}Resource with id [F] is invalid. Either 'InlineCode' or 'CodeUri' must be set.")
    );
    assert_eq!(
        expand_err(&f("InlineCode: x, Colour: red")),
        format!(
            "{prefix}Resource with id [F] is invalid. property Colour not defined for resource of type AWS::Serverless::Function"
        )
    );
    assert_eq!(
        expand_err(&f(
            "InlineCode: x, Events: {E: {Type: Api, Properties: {Path: /x, Method: get, RestApiId: !Ref Nope}}}"
        )),
        format!(
            "{prefix}Resource with id [F] is invalid. Event with id [E] is invalid. RestApiId must be a valid reference to an 'AWS::Serverless::Api' resource in same template."
        )
    );
    assert_eq!(
        expand_err(&f("InlineCode: x, Policies: [{NoSuchPolicy: {}}]")),
        format!("{prefix}Resource with id [F] is invalid. Invalid policy template name NoSuchPolicy.")
    );
    assert_eq!(
        expand_err(
            "Transform: AWS::Serverless-2016-10-31\nGlobals: {Functions: {}}\nResources: {Q: {Type: AWS::SQS::Queue}}\n"
        ),
        format!(
            "{prefix}'Globals' section is invalid. 'Functions' is not supported. Must be one of the following values - [Function, Api, HttpApi, SimpleTable, LayerVersion]"
        )
    );
    assert_eq!(
        expand_err(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  A: {Type: AWS::Serverless::Api, Properties: {}}\n"
        ),
        format!("{prefix}Resource with id [A] is invalid. Missing required property 'StageName'.")
    );
    assert_eq!(
        expand_err(
            "Transform: AWS::Serverless-2016-10-31\nGlobals: {Function: {Policies: [AWSLambdaExecute]}}\nResources: {Q: {Type: AWS::SQS::Queue}}\n"
        ),
        format!(
            "{prefix}'Globals' section is invalid. 'Policies' is not a supported property of 'Function'."
        )
    );
    let e = crate::parse_document(&f("InlineCode: x, Events: {E: {Type: IoTRule, Properties: {Sql: x}}}"))
        .and_then(|d| super::transform(&d, &BTreeMap::new()))
        .expect_err("unsupported");
    assert_eq!(e.code(), "NotImplemented");
    let e = crate::parse_document(
        "Transform: AWS::Serverless-2016-10-31\nResources: {S: {Type: AWS::Serverless::StateMachine}}\n",
    )
    .and_then(|d| super::transform(&d, &BTreeMap::new()))
    .expect_err("unsupported");
    assert_eq!(e.to_string(), "Resource type AWS::Serverless::StateMachine is not supported by Nimbus yet");
}

#[test]
fn serverless_types_without_the_transform_are_unrecognized() {
    let params = BTreeMap::new();
    let e = plan(&PlanInput {
        template_body: "Resources:\n  F: {Type: AWS::Serverless::Function}\n",
        parameters: &params,
        pseudo: Pseudo::new("1", "us-east-1", "s", "i"),
        known_types: TYPES,
        ssm_parameters: &BTreeMap::new(),
    })
    .expect_err("no transform");
    assert_eq!(
        e.to_string(),
        "Template format error: Unrecognized resource types: [AWS::Serverless::Function]"
    );
}

#[test]
fn summary_of_a_sam_template() {
    let s = crate::summarize(HELLO).expect("summary");
    assert_eq!(s.capabilities, vec!["CAPABILITY_AUTO_EXPAND", "CAPABILITY_IAM"]);
    assert_eq!(s.resource_types, vec!["AWS::Serverless::Function"]);
    assert_eq!(s.declared_transforms, vec!["AWS::Serverless-2016-10-31"]);
}

#[test]
fn only_the_changed_function_is_modified() {
    let two = |code_a: &str| {
        format!(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Type: AWS::Serverless::Function\n    Properties: {{CodeUri: 's3://b/{code_a}', Handler: h, Runtime: python3.12, Events: {{E: {{Type: Api, Properties: {{Path: /a, Method: get}}}}}}}}\n  B:\n    Type: AWS::Serverless::Function\n    Properties: {{CodeUri: 's3://b/b.zip', Handler: h, Runtime: python3.12, Events: {{E: {{Type: Api, Properties: {{Path: /b, Method: get}}}}}}}}\n"
        )
    };
    let params = BTreeMap::new();
    let p = |body: &str| {
        plan(&PlanInput {
            template_body: body,
            parameters: &params,
            pseudo: Pseudo::new("1", "us-east-1", "s", "i"),
            known_types: TYPES,
            ssm_parameters: &BTreeMap::new(),
        })
        .expect("plans")
    };
    let old = p(&two("a1.zip"));
    let new = p(&two("a2.zip"));
    let changes: Vec<String> = crate::diff(&old, &new)
        .iter()
        .map(|c| format!("{} {} {:?}", c.action.as_str(), c.logical_id, c.changed_properties))
        .collect();
    assert_eq!(changes, vec!["Modify A [\"Code\"]"]);
}
