"""API Gateway with boto3 and the AWS CLI, and the data plane with `requests`: a REST API with
`/users` and `/products/{id}` deployed to two stages with different stage variables, and an HTTP
API quick-created in front of the same Python function, which echoes the event it gets."""

import io
import json
import zipfile

import botocore.exceptions
import pytest
import requests

from conftest import make_client, run_aws

ECHO = """
import json

def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""


def _zip(source):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("app.py", source)
    return buf.getvalue()


@pytest.fixture(scope="module")
def function_arn(server):
    lam = make_client(server, "lambda")
    out = lam.create_function(
        FunctionName="apigw-compat-echo",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/r",
        Handler="app.handler",
        Code={"ZipFile": _zip(ECHO)},
    )
    return out["FunctionArn"]


def _cli(server, *args):
    proc = run_aws(server, *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_cli_rest_api_with_two_stages(server, function_arn):
    api = _cli(server, "apigateway", "create-rest-api", "--name", "compat-shop")
    api_id, root = api["id"], api["rootResourceId"]
    users = _cli(server, "apigateway", "create-resource", "--rest-api-id", api_id, "--parent-id", root, "--path-part", "users")
    products = _cli(server, "apigateway", "create-resource", "--rest-api-id", api_id, "--parent-id", root, "--path-part", "products")
    product = _cli(server, "apigateway", "create-resource", "--rest-api-id", api_id, "--parent-id", products["id"], "--path-part", "{id}")
    assert product["path"] == "/products/{id}"
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    for resource, methods in ((users["id"], ("GET", "POST")), (product["id"], ("GET", "PUT", "DELETE"))):
        for method in methods:
            _cli(server, "apigateway", "put-method", "--rest-api-id", api_id, "--resource-id", resource,
                 "--http-method", method, "--authorization-type", "NONE")
            _cli(server, "apigateway", "put-integration", "--rest-api-id", api_id, "--resource-id", resource,
                 "--http-method", method, "--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", uri)
    _cli(server, "apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", "dev",
         "--variables", "env=dev")
    _cli(server, "apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", "prod",
         "--variables", "env=prod")
    stage = _cli(server, "apigateway", "update-stage", "--rest-api-id", api_id, "--stage-name", "prod",
                 "--patch-operations", "op=replace,path=/variables/tier,value=gold")
    assert stage["variables"] == {"env": "prod", "tier": "gold"}

    for stage_name, variables in (("dev", {"env": "dev"}), ("prod", {"env": "prod", "tier": "gold"})):
        resp = requests.put(f"{server.endpoint}/_aws/execute-api/{api_id}/{stage_name}/products/9?q=1", data="x")
        assert resp.status_code == 200, resp.text
        event = resp.json()
        assert event["resource"] == "/products/{id}"
        assert event["path"] == "/products/9"
        assert event["httpMethod"] == "PUT"
        assert event["pathParameters"] == {"id": "9"}
        assert event["queryStringParameters"] == {"q": "1"}
        assert event["multiValueQueryStringParameters"] == {"q": ["1"]}
        assert event["stageVariables"] == variables
        assert event["body"] == "x"
        assert event["requestContext"]["stage"] == stage_name
        assert event["requestContext"]["resourcePath"] == "/products/{id}"

    host = {"Host": f"{api_id}.execute-api.localhost:{server.port}"}
    resp = requests.get(f"{server.endpoint}/dev/users", headers=host)
    assert resp.status_code == 200 and resp.json()["resource"] == "/users"
    miss = requests.get(f"{server.endpoint}/dev/nowhere", headers=host)
    assert (miss.status_code, miss.json()) == (403, {"message": "Missing Authentication Token"})

    proc = run_aws(server, "apigateway", "get-rest-api", "--rest-api-id", "missing0000")
    assert proc.returncode != 0
    assert "NotFoundException" in proc.stderr
    assert "Invalid API identifier specified 000000000000:missing0000" in proc.stderr


def test_boto3_http_api_quick_create_and_routes(server, function_arn):
    v2 = make_client(server, "apigatewayv2")
    api = v2.create_api(Name="compat-quick", ProtocolType="HTTP", Target=function_arn)
    api_id = api["ApiId"]
    assert len(api_id) == 10
    assert [s["StageName"] for s in v2.get_stages(ApiId=api_id)["Items"]] == ["$default"]

    resp = requests.post(f"{server.endpoint}/_aws/execute-api/{api_id}/a/b?x=1&x=2", data="hi",
                         headers={"Cookie": "k=v", "Content-Type": "text/plain"})
    assert resp.status_code == 200, resp.text
    event = resp.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/a/b"
    assert event["rawQueryString"] == "x=1&x=2"
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["k=v"]
    assert event["body"] == "hi"
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "POST"

    # A literal route beats the $default route quick create made.
    integration = v2.get_integrations(ApiId=api_id)["Items"][0]
    v2.create_route(ApiId=api_id, RouteKey="GET /items/{id}", Target=f"integrations/{integration['IntegrationId']}")
    event = requests.get(f"{server.endpoint}/_aws/execute-api/{api_id}/items/5").json()
    assert (event["routeKey"], event["pathParameters"]) == ("GET /items/{id}", {"id": "5"})

    with pytest.raises(botocore.exceptions.ClientError) as e:
        v2.get_api(ApiId="nope")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
    v2.delete_api(ApiId=api_id)
    gone = requests.get(f"{server.endpoint}/_aws/execute-api/{api_id}/items/5")
    assert gone.status_code == 404


AUTHORIZER = """
def handler(event, context):
    token = event["authorizationToken"]
    if token == "Bearer raise":
        raise Exception("Unauthorized")
    effect = "Allow" if token == "Bearer good" else "Deny"
    return {
        "principalId": "compat-user",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}
        ]},
        "context": {"plan": "gold", "seats": 3},
    }
"""


def test_boto3_token_authorizer_and_api_key(server, function_arn):
    lam = make_client(server, "lambda")
    authorizer_arn = lam.create_function(
        FunctionName="apigw-compat-authorizer",
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/r",
        Handler="app.handler",
        Code={"ZipFile": _zip(AUTHORIZER)},
    )["FunctionArn"]
    apigw = make_client(server, "apigateway")
    api = apigw.create_rest_api(name="compat-guarded")
    api_id, root = api["id"], api["rootResourceId"]
    authorizer = apigw.create_authorizer(
        restApiId=api_id, name="tokens", type="TOKEN",
        authorizerUri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{authorizer_arn}/invocations",
        identitySource="method.request.header.Authorization", authorizerResultTtlInSeconds=0,
    )
    assert apigw.get_authorizer(restApiId=api_id, authorizerId=authorizer["id"])["type"] == "TOKEN"
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="secret")
    apigw.put_method(restApiId=api_id, resourceId=resource["id"], httpMethod="GET", authorizationType="CUSTOM",
                     authorizerId=authorizer["id"], apiKeyRequired=True)
    apigw.put_integration(
        restApiId=api_id, resourceId=resource["id"], httpMethod="GET", type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    key = apigw.create_api_key(name="compat-key", enabled=True)
    plan = apigw.create_usage_plan(name="compat-plan", apiStages=[{"apiId": api_id, "stage": "dev"}],
                                   quota={"limit": 100, "period": "DAY"})
    apigw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    assert apigw.get_api_key(apiKey=key["id"], includeValue=True)["value"] == key["value"]

    url = f"{server.endpoint}/_aws/execute-api/{api_id}/dev/secret"
    missing = requests.get(url, headers={"x-api-key": key["value"]})
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    raised = requests.get(url, headers={"Authorization": "Bearer raise", "x-api-key": key["value"]})
    assert raised.status_code == 401
    denied = requests.get(url, headers={"Authorization": "Bearer bad", "x-api-key": key["value"]})
    assert denied.status_code == 403
    assert denied.json() == {"Message": "User is not authorized to access this resource with an explicit deny"}
    no_key = requests.get(url, headers={"Authorization": "Bearer good"})
    assert (no_key.status_code, no_key.json()) == (403, {"message": "Forbidden"})
    ok = requests.get(url, headers={"Authorization": "Bearer good", "x-api-key": key["value"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["requestContext"]["authorizer"]["principalId"] == "compat-user"
    assert ok.json()["requestContext"]["authorizer"]["seats"] == "3"


def test_unimplemented_operations_say_so(server):
    apigw = make_client(server, "apigateway")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        apigw.get_vpc_links()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


GREETER = """
def handler(event, context):
    if event.get("fail"):
        raise Exception("BadInput: " + event["fail"])
    return {"greeting": "hello " + event["who"], "n": event["n"] * 2}
"""


def test_boto3_mapping_templates_mock_and_lambda_non_proxy(server):
    """VTL request/response templates on a MOCK and a Lambda non-proxy (`AWS`) integration, as
    boto3 sets them up: the request template picks the MOCK's status, the Lambda error message
    selects the 400 response."""
    lam = make_client(server, "lambda")
    fn = lam.create_function(
        FunctionName="apigw-compat-greeter", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
        Handler="app.handler", Code={"ZipFile": _zip(GREETER)},
    )["FunctionArn"]
    apigw = make_client(server, "apigateway")
    api = apigw.create_rest_api(name="compat-vtl")
    api_id, root = api["id"], api["rootResourceId"]

    status = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="status")["id"]
    apigw.put_method(restApiId=api_id, resourceId=status, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id, resourceId=status, httpMethod="GET", type="MOCK",
        requestTemplates={"application/json": '{"statusCode": $input.params("code")}'},
    )
    for code in ("200", "404"):
        apigw.put_method_response(restApiId=api_id, resourceId=status, httpMethod="GET", statusCode=code)
    apigw.put_integration_response(
        restApiId=api_id, resourceId=status, httpMethod="GET", statusCode="200",
        responseTemplates={"application/json": '#set($l = ["a", "b"]){"items": [#foreach($i in $l)"$i$foreach.count"#if($foreach.hasNext),#end#end]}'},
    )
    apigw.put_integration_response(
        restApiId=api_id, resourceId=status, httpMethod="GET", statusCode="404", selectionPattern="404",
        responseTemplates={"application/json": '{"missing": "$util.escapeJavaScript($input.params(\'what\'))"}'},
    )

    greet = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="greet")["id"]
    apigw.put_method(restApiId=api_id, resourceId=greet, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id, resourceId=greet, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{fn}/invocations",
        requestTemplates={"application/json": '#set($b = $input.path(\'$\')){"who": "$b.name", "n": $b.n#if($b.fail), "fail": "$b.fail"#end}'},
    )
    for code in ("200", "400"):
        apigw.put_method_response(restApiId=api_id, resourceId=greet, httpMethod="POST", statusCode=code)
    apigw.put_integration_response(
        restApiId=api_id, resourceId=greet, httpMethod="POST", statusCode="200",
        responseTemplates={"application/json": '{"message": "$input.path(\'$.greeting\')", "double": $input.json(\'$.n\')}'},
    )
    apigw.put_integration_response(
        restApiId=api_id, resourceId=greet, httpMethod="POST", statusCode="400", selectionPattern="BadInput:.*",
        responseTemplates={"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'},
    )
    got = apigw.get_integration_response(restApiId=api_id, resourceId=greet, httpMethod="POST", statusCode="400")
    assert got["selectionPattern"] == "BadInput:.*"
    apigw.create_deployment(restApiId=api_id, stageName="test")

    base = f"{server.endpoint}/_aws/execute-api/{api_id}/test"
    r = requests.get(f"{base}/status?code=200")
    assert (r.status_code, r.json()) == (200, {"items": ["a1", "b2"]})
    r = requests.get(f"{base}/status?code=404&what=it's")
    assert r.status_code == 404
    assert r.text == '{"missing": "it\\\'s"}'

    r = requests.post(f"{base}/greet", json={"name": "Bo", "n": 4})
    assert (r.status_code, r.json()) == (200, {"message": "hello Bo", "double": 8})
    r = requests.post(f"{base}/greet", json={"name": "Bo", "n": 1, "fail": "nope"})
    assert (r.status_code, r.json()) == (400, {"error": "BadInput: nope"})


SERVICE_STACK = """
Resources:
  Orders:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: compat-service
      ProtocolType: HTTP
  SendOrder:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationSubtype: SQS-SendMessage
      PayloadFormatVersion: "1.0"
      CredentialsArn: arn:aws:iam::000000000000:role/api-to-sqs
      RequestParameters:
        QueueUrl: !Ref Orders
        MessageBody: $request.body.order
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: POST /orders
      Target: !Sub integrations/${SendOrder}
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: $default
      AutoDeploy: true
Outputs:
  ApiId:
    Value: !Ref Api
  QueueUrl:
    Value: !Ref Orders
"""


def test_cloudformation_http_api_sends_to_sqs_through_an_integration_subtype(server):
    cfn = make_client(server, "cloudformation")
    cfn.create_stack(StackName="compat-service", TemplateBody=SERVICE_STACK)
    cfn.get_waiter("stack_create_complete").wait(StackName="compat-service", WaiterConfig={"Delay": 1})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="compat-service")["Stacks"][0]["Outputs"]}
    v2 = make_client(server, "apigatewayv2")
    (integration,) = v2.get_integrations(ApiId=outputs["ApiId"])["Items"]
    assert integration["IntegrationSubtype"] == "SQS-SendMessage"
    assert integration["RequestParameters"] == {"QueueUrl": outputs["QueueUrl"], "MessageBody": "$request.body.order"}

    resp = requests.post(f"{server.endpoint}/_aws/execute-api/{outputs['ApiId']}/orders", json={"order": "one flat white"})
    assert resp.status_code == 200, resp.text
    sent = resp.json()["SendMessageResponse"]["SendMessageResult"]
    sqs = make_client(server, "sqs")
    (message,) = sqs.receive_message(QueueUrl=outputs["QueueUrl"], WaitTimeSeconds=2)["Messages"]
    assert (message["Body"], message["MessageId"]) == ("one flat white", sent["MessageId"])

    with pytest.raises(botocore.exceptions.ClientError) as e:
        v2.create_integration(ApiId=outputs["ApiId"], IntegrationType="AWS_PROXY", IntegrationSubtype="SQS-PurgeQueue",
                              PayloadFormatVersion="1.0", RequestParameters={"QueueUrl": outputs["QueueUrl"], "Oops": "x"})
    assert e.value.response["Error"]["Code"] == "BadRequestException"
    cfn.delete_stack(StackName="compat-service")


def test_cli_exports_a_stage_as_yaml_and_boto3_imports_it_back(server, function_arn, tmp_path):
    api = _cli(server, "apigateway", "create-rest-api", "--name", "compat-export")
    api_id, root = api["id"], api["rootResourceId"]
    orders = _cli(server, "apigateway", "create-resource", "--rest-api-id", api_id, "--parent-id", root, "--path-part", "orders")
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    _cli(server, "apigateway", "put-method", "--rest-api-id", api_id, "--resource-id", orders["id"],
         "--http-method", "GET", "--authorization-type", "NONE")
    _cli(server, "apigateway", "put-integration", "--rest-api-id", api_id, "--resource-id", orders["id"],
         "--http-method", "GET", "--type", "AWS_PROXY", "--integration-http-method", "POST", "--uri", uri)
    _cli(server, "apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", "prod")
    out = tmp_path / "api.yaml"
    _cli(server, "apigateway", "get-export", "--rest-api-id", api_id, "--stage-name", "prod", "--export-type", "oas30",
         "--parameters", "extensions=integrations", "--accepts", "application/yaml", str(out))
    text = out.read_text()
    assert text.startswith("---") and "openapi: 3.0.1" in text and "x-amazon-apigateway-integration:" in text, text

    apigw = make_client(server, "apigateway")
    copy = apigw.import_rest_api(body=text.encode())
    assert copy["name"] == "compat-export"
    apigw.create_deployment(restApiId=copy["id"], stageName="prod")
    event = requests.get(f"{server.endpoint}/_aws/execute-api/{copy['id']}/prod/orders").json()
    assert (event["resource"], event["httpMethod"]) == ("/orders", "GET")
