"""STS and IAM through the AWS CLI and boto3."""

import json
import shutil
import tempfile

import pytest
from botocore.exceptions import ClientError

from conftest import NimbusServer, make_client, run_aws

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_cli_get_caller_identity_default_account(server):
    out = run_aws(server, "sts", "get-caller-identity")
    assert out.returncode == 0, out.stderr
    ident = json.loads(out.stdout)
    assert ident["Account"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:root"


def test_cli_get_caller_identity_twelve_digit_key(server):
    out = run_aws(server, "sts", "get-caller-identity", access_key="111111111111")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Account"] == "111111111111"


def test_cli_role_survives_kill9_and_ephemeral_forgets():
    data_dir = tempfile.mkdtemp(prefix="nimbus-compat-")
    try:
        s = NimbusServer(data_dir=data_dir).start()
        out = run_aws(s, "iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document", TRUST)
        assert out.returncode == 0, out.stderr
        s.kill9()
        s.start()
        out = run_aws(s, "iam", "get-role", "--role-name", "cli-role")
        assert out.returncode == 0, out.stderr
        role = json.loads(out.stdout)["Role"]
        assert role["Arn"] == "arn:aws:iam::000000000000:role/cli-role"
        # The CLI shows the trust policy decoded, as it does against AWS.
        assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
        s.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    e = NimbusServer().start()
    try:
        out = run_aws(e, "iam", "create-role", "--role-name", "tmp", "--assume-role-policy-document", TRUST)
        assert out.returncode == 0, out.stderr
        e.kill9()
        e.start()
        out = run_aws(e, "iam", "get-role", "--role-name", "tmp")
        assert out.returncode != 0
        assert "NoSuchEntity" in out.stderr
    finally:
        e.stop()


def test_boto3_roles_isolated_by_account_and_region(server):
    a = make_client(server, "iam", access_key="333333333333")
    b = make_client(server, "iam", access_key="444444444444")
    c = make_client(server, "iam", access_key="333333333333", region="ap-southeast-2")
    for client, desc in ((a, "a"), (b, "b"), (c, "c")):
        client.create_role(RoleName="same", AssumeRolePolicyDocument=TRUST, Description=desc)
    for client, desc in ((a, "a"), (b, "b"), (c, "c")):
        assert client.get_role(RoleName="same")["Role"]["Description"] == desc


def test_boto3_iam_errors(server):
    iam = make_client(server, "iam", access_key="555555555555")
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="nope")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    iam.create_role(RoleName="twice", AssumeRolePolicyDocument=TRUST)
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="twice", AssumeRolePolicyDocument=TRUST)
    assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_boto3_policies(server):
    iam = make_client(server, "iam", access_key="666666666666")
    iam.create_role(RoleName="fn", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="fn", PolicyName="inline", PolicyDocument='{"Version":"2012-10-17","Statement":[]}')
    doc = iam.get_role_policy(RoleName="fn", PolicyName="inline")["PolicyDocument"]
    assert doc == {"Version": "2012-10-17", "Statement": []}
    arn = iam.create_policy(PolicyName="p", PolicyDocument='{"Version":"2012-10-17","Statement":[]}')["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="fn", PolicyArn=arn)
    iam.attach_role_policy(RoleName="fn", PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    attached = iam.list_attached_role_policies(RoleName="fn")["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AWSLambdaBasicExecutionRole", "p"]
    roles = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 1}) for r in page["Roles"]]
    assert roles == ["fn"]
