"""Each protocol's error shape as real clients parse it, for operations not implemented yet too."""

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import make_client


@pytest.mark.parametrize(
    "service,call",
    [
        ("dynamodb", lambda c: c.create_backup(TableName="compat-t", BackupName="compat-b")),  # awsJson 1.0
        ("events", lambda c: c.list_endpoints()),  # awsJson 1.1
        ("lambda", lambda c: c.list_code_signing_configs()),  # rest-json
        ("s3", lambda c: c.get_bucket_website(Bucket="compat-website")),  # rest-xml
        ("sns", lambda c: c.list_platform_applications()),  # query
    ],
)
def test_unimplemented_operations_answer_not_implemented_in_their_protocol(server, service, call):
    with pytest.raises(ClientError) as e:
        call(make_client(server, service))
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_unknown_query_action(server):
    r = requests.post(server.endpoint, data={"Action": "Nope", "Version": "2011-06-15"})
    assert r.status_code == 400
    assert "<Code>InvalidAction</Code>" in r.text
    assert r.headers["x-amzn-RequestId"] in r.text


def test_health(server):
    for path in ("/_nimbus/health", "/_localstack/health"):
        r = requests.get(server.endpoint + path)
        assert r.status_code == 200
        assert r.json()["services"]["iam"] == "running"
