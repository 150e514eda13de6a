"""DynamoDB Streams and Lambda event source mappings through boto3 and the AWS CLI: the streams
API (iterators, paging, errors) and an SQS queue driving a real Python function."""

import io
import json
import os
import tempfile
import time
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import make_client, run_aws

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

RECORDER = """
import os, json

def handler(event, context):
    with open(os.environ["RECORD_TO"], "a") as f:
        f.write(json.dumps(event) + "\\n")
    return {"batchItemFailures": []}
"""


def zipped(source):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", source)
    return buf.getvalue()


def streamed_table(ddb, name):
    out = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return out["TableDescription"]["LatestStreamArn"]


def test_streams_api_with_boto3(server):
    ddb = make_client(server, "dynamodb")
    streams = make_client(server, "dynamodbstreams")
    arn = streamed_table(ddb, "compat-streamed")
    ddb.put_item(TableName="compat-streamed", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    ddb.update_item(
        TableName="compat-streamed",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "2"}},
    )
    ddb.delete_item(TableName="compat-streamed", Key={"pk": {"S": "a"}})

    listed = streams.list_streams(TableName="compat-streamed")["Streams"]
    assert [s["StreamArn"] for s in listed] == [arn]
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED"
    assert desc["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    shard = desc["Shards"][0]["ShardId"]

    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = streams.get_records(ShardIterator=it, Limit=1)
    assert [r["eventName"] for r in first["Records"]] == ["INSERT"]
    rest = streams.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["eventName"] for r in rest["Records"]] == ["MODIFY", "REMOVE"]
    modify = rest["Records"][0]["dynamodb"]
    assert modify["OldImage"]["n"] == {"N": "1"} and modify["NewImage"]["n"] == {"N": "2"}
    assert len(modify["SequenceNumber"]) >= 21
    # botocore parses the creation time as a timestamp.
    assert modify["ApproximateCreationDateTime"].year >= 2024

    with pytest.raises(ClientError) as e:
        streams.get_records(ShardIterator=it, Limit=1001)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        streams.describe_stream(StreamArn=arn + "0")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="SIDEWAYS")
    assert e.value.response["Error"]["Code"] == "ValidationException"


def test_sqs_mapping_drives_a_function(server):
    lam = make_client(server, "lambda")
    sqs = make_client(server, "sqs")
    record_to = os.path.join(tempfile.mkdtemp(prefix="nimbus-esm-"), "events.jsonl")
    lam.create_function(
        FunctionName="compat-consumer",
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": zipped(RECORDER)},
        Environment={"Variables": {"RECORD_TO": record_to}},
    )
    url = sqs.create_queue(QueueName="compat-esm")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    created = lam.create_event_source_mapping(
        FunctionName="compat-consumer",
        EventSourceArn=arn,
        BatchSize=5,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert created["State"] == "Creating"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    uuid = created["UUID"]
    deadline = time.time() + 10
    while lam.get_event_source_mapping(UUID=uuid)["State"] != "Enabled":
        assert time.time() < deadline, "mapping never enabled"
        time.sleep(0.05)

    sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "greeting"}},
    )
    deadline = time.time() + 15
    while not os.path.exists(record_to):
        assert time.time() < deadline, "the function never ran"
        time.sleep(0.05)
    with open(record_to) as f:
        event = json.loads(f.readline())
    record = event["Records"][0]
    assert record["body"] == "hello"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["messageAttributes"]["kind"]["stringValue"] == "greeting"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"

    # The AWS CLI lists and disables it.
    out = run_aws(server, "lambda", "list-event-source-mappings", "--function-name", "compat-consumer")
    assert out.returncode == 0, out.stderr
    assert [m["UUID"] for m in json.loads(out.stdout)["EventSourceMappings"]] == [uuid]
    out = run_aws(server, "lambda", "update-event-source-mapping", "--uuid", uuid, "--no-enabled")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["State"] == "Disabling"
    deadline = time.time() + 10
    while lam.get_event_source_mapping(UUID=uuid)["State"] != "Disabled":
        assert time.time() < deadline, "mapping never disabled"
        time.sleep(0.05)

    with pytest.raises(ClientError) as e:
        lam.create_event_source_mapping(FunctionName="compat-consumer", EventSourceArn=arn)
    assert e.value.response["Error"]["Code"] == "ResourceConflictException"
    with pytest.raises(ClientError) as e:
        lam.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.delete_event_source_mapping(UUID=uuid)["State"] == "Deleting"
