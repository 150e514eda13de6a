"""SQS through boto3 (awsJson 1.0, its default), through the query protocol (form-encoded
requests with XML answers, as older SDKs send them, signed with botocore's SigV4) and through
the AWS CLI: the same behaviour whichever way a client talks."""

import json
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import make_client, run_aws

NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"


@pytest.fixture
def sqs(server):
    return make_client(server, "sqs")


def query(server, action, **params):
    """A signed query-protocol request; returns (status, parsed XML root)."""
    body = urllib.parse.urlencode({"Action": action, "Version": "2012-11-05", **params})
    req = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials("test", "test"), "sqs", "us-east-1").add_auth(req)
    http_req = urllib.request.Request(req.url, data=body.encode(), headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(http_req) as resp:
            return resp.status, ET.fromstring(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, ET.fromstring(e.read())


def test_boto3_send_receive_delete(sqs):
    url = sqs.create_queue(QueueName="compat-json", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    assert url.endswith("/000000000000/compat-json")
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="This is a test message",
        MessageAttributes={"timestamp": {"DataType": "Number", "StringValue": "1493147359900"}},
    )
    assert sent["MD5OfMessageBody"] == "fafb00f5732ab283681e124bf8747ed1"
    assert sent["MD5OfMessageAttributes"] == "235c5c510d26fb653d073faed50ae77c"
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])["Messages"]
    assert got[0]["Body"] == "This is a test message"
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert got[0]["MessageAttributes"]["timestamp"]["StringValue"] == "1493147359900"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["VisibilityTimeout"] == "5"
    assert url in sqs.list_queues(QueueNamePrefix="compat-")["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)


def test_boto3_errors_carry_the_query_codes(sqs):
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as e:
        sqs.get_queue_url(QueueName="compat-missing")
    assert e.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    url = sqs.create_queue(QueueName="compat-errs")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError) as e:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.ClientError) as e:
        sqs.create_queue(QueueName="compat-errs", Attributes={"VisibilityTimeout": "7"})
    assert e.value.response["Error"]["Code"] == "QueueAlreadyExists"


def test_boto3_batches_and_fifo(sqs):
    url = sqs.create_queue(
        QueueName="compat.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    out = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g"} for i in range(3)],
    )
    assert [s["Id"] for s in out["Successful"]] == ["0", "1", "2"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    )
    assert len(deleted["Successful"]) == 3


def test_query_protocol_round_trip(server):
    status, root = query(server, "CreateQueue", QueueName="compat-query", **{"Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "0"})
    assert status == 200
    url = root.find(f"{NS}CreateQueueResult/{NS}QueueUrl").text
    status, root = query(
        server,
        "SendMessage",
        QueueUrl=url,
        MessageBody="hello",
        **{
            "MessageAttribute.1.Name": "timestamp",
            "MessageAttribute.1.Value.DataType": "Number",
            "MessageAttribute.1.Value.StringValue": "1493147359900",
        },
    )
    assert status == 200
    assert root.find(f"{NS}SendMessageResult/{NS}MD5OfMessageAttributes").text == "235c5c510d26fb653d073faed50ae77c"
    status, root = query(server, "ReceiveMessage", QueueUrl=url, **{"AttributeName.1": "All", "MessageAttributeName.1": "All"})
    assert status == 200
    msg = root.find(f"{NS}ReceiveMessageResult/{NS}Message")
    assert msg.find(f"{NS}Body").text == "hello"
    names = [a.find(f"{NS}Name").text for a in msg.findall(f"{NS}Attribute")]
    assert "ApproximateReceiveCount" in names
    handle = msg.find(f"{NS}ReceiptHandle").text
    status, _ = query(server, "DeleteMessage", QueueUrl=url, ReceiptHandle=handle)
    assert status == 200
    status, root = query(server, "GetQueueUrl", QueueName="compat-query-missing")
    assert status == 400
    assert root.find(f"{NS}Error/{NS}Code").text == "AWS.SimpleQueueService.NonExistentQueue"


def test_cli_send_and_receive(server):
    out = run_aws(server, "sqs", "create-queue", "--queue-name", "compat-cli")
    assert out.returncode == 0, out.stderr
    url = json.loads(out.stdout)["QueueUrl"]
    out = run_aws(server, "sqs", "send-message", "--queue-url", url, "--message-body", "from the cli")
    assert out.returncode == 0, out.stderr
    out = run_aws(server, "sqs", "receive-message", "--queue-url", url)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Messages"][0]["Body"] == "from the cli"
    out = run_aws(server, "sqs", "get-queue-url", "--queue-name", "compat-cli-missing")
    assert out.returncode != 0
    assert "NonExistentQueue" in out.stderr or "QueueDoesNotExist" in out.stderr


def test_boto3_permissions_edit_the_queue_policy(sqs, server):
    url = sqs.create_queue(QueueName="compat-perms")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="partner", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Sid"] == "partner"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}
    assert statement["Action"] == "SQS:SendMessage"
    with pytest.raises(sqs.exceptions.ClientError) as e:
        sqs.add_permission(QueueUrl=url, Label="partner", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    assert e.value.response["Error"]["Code"] in ("InvalidParameterValue", "AWS.SimpleQueueService.InvalidParameterValue")
    # The query protocol's flattened lists name the same members.
    status, _ = query(server, "AddPermission", QueueUrl=url, Label="ops", **{"AWSAccountId.1": "222222222222", "ActionName.1": "ReceiveMessage", "ActionName.2": "DeleteMessage"})
    assert status == 200
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["partner", "ops"]
    assert policy["Statement"][1]["Action"] == ["SQS:ReceiveMessage", "SQS:DeleteMessage"]
    sqs.remove_permission(QueueUrl=url, Label="partner")
    sqs.remove_permission(QueueUrl=url, Label="ops")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.remove_permission(QueueUrl=url, Label="ops")


def test_boto3_dead_letter_source_queues_in_both_protocols(sqs, server):
    dlq = sqs.create_queue(QueueName="compat-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})
    sources = [sqs.create_queue(QueueName=f"compat-src-{i}", Attributes={"RedrivePolicy": policy})["QueueUrl"] for i in range(3)]
    sqs.create_queue(QueueName="compat-unrelated")
    assert sorted(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sorted(sources)
    page = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2)
    assert len(page["queueUrls"]) == 2 and "NextToken" in page
    rest = sqs.list_dead_letter_source_queues(QueueUrl=dlq, MaxResults=2, NextToken=page["NextToken"])
    assert sorted(page["queueUrls"] + rest["queueUrls"]) == sorted(sources)
    assert sqs.list_dead_letter_source_queues(QueueUrl=sources[0])["queueUrls"] == []
    status, root = query(server, "ListDeadLetterSourceQueues", QueueUrl=dlq)
    assert status == 200
    urls = [e.text for e in root.findall(f"{NS}ListDeadLetterSourceQueuesResult/{NS}QueueUrl")]
    assert sorted(urls) == sorted(sources)
