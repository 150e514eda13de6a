"""Lambda through boto3 and the AWS CLI: a function created from an S3 object, the event stream
of InvokeWithResponseStream as botocore decodes it, and layer version permissions."""

import io
import json
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import make_client, run_aws

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

ECHO = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("no thanks")
    return {"got": event}
"""


def zipped(name, source):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, source)
    return buf.getvalue()


def test_code_from_s3_with_the_cli_and_its_errors(server):
    s3 = make_client(server, "s3")
    s3.create_bucket(Bucket="compat-code")
    s3.put_object(Bucket="compat-code", Key="echo.zip", Body=zipped("app.py", ECHO))
    r = run_aws(
        server, "lambda", "create-function", "--function-name", "compat-s3-echo",
        "--runtime", "python3.12", "--role", ROLE, "--handler", "app.handler",
        "--code", "S3Bucket=compat-code,S3Key=echo.zip",
    )
    assert r.returncode == 0, r.stderr
    lam = make_client(server, "lambda")
    out = lam.invoke(FunctionName="compat-s3-echo", Payload=b'{"a": 1}')
    assert json.loads(out["Payload"].read()) == {"got": {"a": 1}}

    with pytest.raises(ClientError) as e:
        lam.update_function_code(FunctionName="compat-s3-echo", S3Bucket="compat-code", S3Key="gone.zip")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert e.value.response["Error"]["Message"] == (
        "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."
    )
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_invoke_with_response_stream_decodes_in_botocore(server):
    lam = make_client(server, "lambda")
    lam.create_function(
        FunctionName="compat-stream", Runtime="python3.12", Role=ROLE, Handler="app.handler",
        Code={"ZipFile": zipped("app.py", ECHO)},
    )
    out = lam.invoke_with_response_stream(FunctionName="compat-stream", Payload=b'{"b": 2}', LogType="Tail")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert out["ExecutedVersion"] == "$LATEST"
    chunks, complete = [], None
    for event in out["EventStream"]:
        if "PayloadChunk" in event:
            chunks.append(event["PayloadChunk"]["Payload"])
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    assert json.loads(b"".join(chunks)) == {"got": {"b": 2}}
    assert complete is not None and "ErrorCode" not in complete
    assert "LogResult" in complete

    out = lam.invoke_with_response_stream(FunctionName="compat-stream", Payload=b'{"fail": true}')
    events = list(out["EventStream"])
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "ValueError"
    assert events[-1]["InvokeComplete"]["ErrorDetails"] == "no thanks"


def test_layer_version_permissions(server):
    lam = make_client(server, "lambda")
    lam.publish_layer_version(LayerName="compat-layer", Content={"ZipFile": zipped("python/x.py", "X = 1\n")})
    added = lam.add_layer_version_permission(
        LayerName="compat-layer", VersionNumber=1, StatementId="all", Action="lambda:GetLayerVersion", Principal="*"
    )
    assert json.loads(added["Statement"])["Principal"] == "*"
    policy = json.loads(lam.get_layer_version_policy(LayerName="compat-layer", VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["all"]
    lam.remove_layer_version_permission(LayerName="compat-layer", VersionNumber=1, StatementId="all")
    with pytest.raises(ClientError) as e:
        lam.get_layer_version_policy(LayerName="compat-layer", VersionNumber=1)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
