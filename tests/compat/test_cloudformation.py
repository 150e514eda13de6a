"""CloudFormation through the AWS CLI and boto3: `aws cloudformation deploy` of a plain template
(no SAM) with an HTTP API, S3-, EventBridge-, schedule-, SQS- and stream-triggered functions;
its resources working, then `delete-stack`."""

import json
import time
import urllib.request

from conftest import run_aws

TEMPLATE = r"""
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Greeting: {Type: String, Default: hello}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}]
      ManagedPolicyArns: ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Environment: {Variables: {GREETING: !Ref Greeting}}
      Code:
        ZipFile: |
          import json, os
          def handler(event, context):
              if "requestContext" in event:
                  return {"statusCode": 200, "body": json.dumps({"greeting": os.environ["GREETING"]})}
              for r in event.get("Records", []):
                  src = r.get("eventSource") or r.get("EventSource")
                  print("GOT", src, json.dumps(r.get("s3", {}).get("object", {}).get("key") or r.get("body") or r.get("eventName")))
              if "detail-type" in event:
                  print("GOT events", event["source"])
              return {"ok": True}
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: compat-http, ProtocolType: HTTP}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !GetAtt Fn.Arn
      PayloadFormatVersion: "2.0"
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: GET /greet
      Target: !Sub integrations/${Integration}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: $default, AutoDeploy: true}
  ApiPermission:
    Type: AWS::Lambda::Permission
    Properties: {FunctionName: !Ref Fn, Action: "lambda:InvokeFunction", Principal: apigateway.amazonaws.com}
  BucketPermission:
    Type: AWS::Lambda::Permission
    Properties: {FunctionName: !Ref Fn, Action: "lambda:InvokeFunction", Principal: s3.amazonaws.com}
  Bucket:
    Type: AWS::S3::Bucket
    DependsOn: BucketPermission
    Properties:
      NotificationConfiguration:
        LambdaConfigurations: [{Event: "s3:ObjectCreated:*", Function: !GetAtt Fn.Arn}]
  Rule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [compat.cfn]}
      Targets: [{Id: fn, Arn: !GetAtt Fn.Arn}]
  Tick:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(1 hour)
      Targets: [{Id: fn, Arn: !GetAtt Fn.Arn}]
  Queue:
    Type: AWS::SQS::Queue
  QueueMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Queue.Arn, FunctionName: !Ref Fn, BatchSize: 1}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: KEYS_ONLY}
  StreamMapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Table.StreamArn, FunctionName: !Ref Fn, StartingPosition: TRIM_HORIZON}
Outputs:
  ApiId: {Value: !Ref Api}
  Bucket: {Value: !Ref Bucket}
  QueueUrl: {Value: !Ref Queue}
  Table: {Value: !Ref Table}
  Function: {Value: !Ref Fn}
"""


def _wait_log(logs, function, needle):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
            if any(needle in e["message"] for e in events):
                return
        except logs.exceptions.ResourceNotFoundException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{function} never logged {needle!r}")


def test_aws_cloudformation_deploy_a_plain_template(server, client, tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    out = run_aws(server, "cloudformation", "deploy", "--template-file", str(path), "--stack-name", "compat-plain",
                  "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", "Greeting=hi")
    assert out.returncode == 0, out.stderr + out.stdout
    assert "Successfully created/updated stack - compat-plain" in out.stdout

    cfn = client("cloudformation")
    stack = cfn.describe_stacks(StackName="compat-plain")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {"ParameterKey": "Greeting", "ParameterValue": "hi"} in stack["Parameters"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    with urllib.request.urlopen(f"{server.endpoint}/_aws/execute-api/{outputs['ApiId']}/greet") as r:
        assert json.loads(r.read()) == {"greeting": "hi"}
    client("s3").put_object(Bucket=outputs["Bucket"], Key="up.txt", Body=b"x")
    client("events").put_events(Entries=[{"Source": "compat.cfn", "DetailType": "t", "Detail": "{}"}])
    client("sqs").send_message(QueueUrl=outputs["QueueUrl"], MessageBody="via-sqs")
    client("dynamodb").put_item(TableName=outputs["Table"], Item={"id": {"S": "k1"}})
    logs = client("logs")
    for needle in ['"up.txt"', "GOT events compat.cfn", '"via-sqs"', '"INSERT"']:
        _wait_log(logs, outputs["Function"], needle)
    rules = client("events").list_rules()["Rules"]
    assert any(r.get("ScheduleExpression") == "rate(1 hour)" for r in rules)

    resources = cfn.list_stack_resources(StackName="compat-plain")["StackResourceSummaries"]
    assert {r["ResourceStatus"] for r in resources} == {"CREATE_COMPLETE"}
    assert len(resources) == 15

    # A second deploy without changes is recognised as such by the CLI (which exits 255 for it
    # unless told --no-fail-on-empty-changeset): the change set's reason is CloudFormation's.
    again = run_aws(server, "cloudformation", "deploy", "--template-file", str(path), "--stack-name", "compat-plain",
                    "--capabilities", "CAPABILITY_IAM", "--parameter-overrides", "Greeting=hi")
    assert again.returncode == 255, again.stderr
    assert "No changes to deploy. Stack compat-plain is up to date" in again.stderr
    # The CLI names its change sets after the epoch second, and the empty one above stays (FAILED)
    # as it would on AWS: a deploy within the same second would collide with it there too.
    second = int(time.time())
    while int(time.time()) == second:
        time.sleep(0.05)
    again = run_aws(server, "cloudformation", "deploy", "--template-file", str(path), "--stack-name", "compat-plain",
                    "--capabilities", "CAPABILITY_IAM", "--no-fail-on-empty-changeset")
    assert again.returncode == 0, again.stderr

    client("s3").delete_object(Bucket=outputs["Bucket"], Key="up.txt")
    gone = run_aws(server, "cloudformation", "delete-stack", "--stack-name", "compat-plain")
    assert gone.returncode == 0, gone.stderr
    waited = run_aws(server, "cloudformation", "wait", "stack-delete-complete", "--stack-name", "compat-plain")
    assert waited.returncode == 0, waited.stderr
    assert client("lambda").list_functions()["Functions"] == [] or all(
        f["FunctionName"] != outputs["Function"] for f in client("lambda").list_functions()["Functions"])
    assert client("apigatewayv2").get_apis()["Items"] == [] or all(
        a["ApiId"] != outputs["ApiId"] for a in client("apigatewayv2").get_apis()["Items"])


def test_validation_errors_in_cloudformations_words(client):
    cfn = client("cloudformation")
    err = None
    try:
        cfn.create_stack(StackName="bad", TemplateBody='{"Resources": {"X": {"Type": "AWS::Nope::Thing"}}}')
    except cfn.exceptions.ClientError as e:
        err = e.response["Error"]
    assert err == {"Type": "Sender", "Code": "ValidationError",
                   "Message": "Template format error: Unrecognized resource types: [AWS::Nope::Thing]"}
    try:
        cfn.describe_stacks(StackName="missing")
        raise AssertionError("expected an error")
    except cfn.exceptions.ClientError as e:
        assert e.response["Error"]["Message"] == "Stack with id missing does not exist"
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    summary = cfn.get_template_summary(TemplateBody="Parameters:\n  P: {Type: String, Default: a}\nResources:\n  Q: {Type: AWS::SQS::Queue}\n")
    assert summary["ResourceTypes"] == ["AWS::SQS::Queue"]
    assert summary["Parameters"][0]["ParameterKey"] == "P"
