"""SNS through boto3 and the AWS CLI (query protocol): topics, subscriptions with filter
policies, delivery to SQS wrapped and raw, FIFO topics, batches and errors in SNS's words."""

import json
import time

import pytest

from conftest import make_client, run_aws


@pytest.fixture
def sns(server):
    return make_client(server, "sns")


@pytest.fixture
def sqs(server):
    return make_client(server, "sqs")


def queue(sqs, name, **attrs):
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, n, within=10):
    got = []
    deadline = time.time() + within
    while len(got) < n and time.time() < deadline:
        out = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"], AttributeNames=["All"]
        )
        for m in out.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            got.append(m)
    return got


def test_boto3_topic_lifecycle(sns):
    arn = sns.create_topic(Name="compat-topic", Attributes={"DisplayName": "Compat"}, Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:000000000000:compat-topic"
    assert sns.create_topic(Name="compat-topic", Attributes={"DisplayName": "Compat"})["TopicArn"] == arn
    with pytest.raises(sns.exceptions.InvalidParameterException) as e:
        sns.create_topic(Name="compat-topic", Attributes={"DisplayName": "Other"})
    assert e.value.response["Error"]["Message"] == "Invalid parameter: Attributes Reason: Topic already exists with different attributes"
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Compat"
    assert attrs["TopicArn"] == arn
    assert attrs["Owner"] == "000000000000"
    assert attrs["SubscriptionsConfirmed"] == "0"
    assert json.loads(attrs["Policy"])["Statement"][0]["Resource"] == arn
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Renamed")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Renamed"
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(sns.exceptions.NotFoundException) as e:
        sns.get_topic_attributes(TopicArn=arn)
    assert e.value.response["Error"]["Message"] == "Topic does not exist"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_boto3_list_topics_pages(sns):
    for i in range(105):
        sns.create_topic(Name=f"compat-page-{i:03}")
    names = []
    for page in sns.get_paginator("list_topics").paginate():
        assert len(page["Topics"]) <= 100
        names += [t["TopicArn"].rsplit(":", 1)[1] for t in page["Topics"]]
    assert len([n for n in names if n.startswith("compat-page-")]) == 105
    for i in range(105):
        sns.delete_topic(TopicArn=f"arn:aws:sns:us-east-1:000000000000:compat-page-{i:03}")


def test_boto3_filter_policy_wrapped_and_raw(sns, sqs):
    wrapped_url, wrapped_arn = queue(sqs, "compat-sns-wrapped")
    raw_url, raw_arn = queue(sqs, "compat-sns-raw")
    topic = sns.create_topic(Name="compat-filter")["TopicArn"]
    sub = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=wrapped_arn,
        Attributes={"FilterPolicy": json.dumps({"kind": [{"prefix": "img"}], "size": [{"numeric": ["<", 100]}]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    sub_attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert sub_attrs["FilterPolicyScope"] == "MessageAttributes"
    assert sub_attrs["PendingConfirmation"] == "false"

    def publish(kind, size, text):
        return sns.publish(
            TopicArn=topic,
            Message=text,
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": kind},
                "size": {"DataType": "Number", "StringValue": str(size)},
            },
        )["MessageId"]

    match = publish("img/png", 10, "a picture")
    publish("img/png", 500, "too big")
    publish("text/plain", 1, "a text")
    wrapped = receive(sqs, wrapped_url, 2, within=5)
    assert len(wrapped) == 1
    body = json.loads(wrapped[0]["Body"])
    assert body["Type"] == "Notification"
    assert body["MessageId"] == match
    assert body["Message"] == "a picture"
    assert body["TopicArn"] == topic
    assert body["MessageAttributes"]["size"] == {"Type": "Number", "Value": "10"}
    assert set(body) >= {"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"}

    raw = receive(sqs, raw_url, 3)
    assert sorted(m["Body"] for m in raw) == ["a picture", "a text", "too big"]
    assert raw[0]["MessageAttributes"]["size"]["DataType"] == "Number"

    with pytest.raises(sns.exceptions.InvalidParameterException) as e:
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"a": "b"}')
    assert e.value.response["Error"]["Message"] == 'Invalid parameter: FilterPolicy: "a" must be an object or an array'


def test_boto3_fifo_topic_and_batches(sns, sqs):
    url, arn = queue(sqs, "compat-sns.fifo", FifoQueue="true")
    topic = sns.create_topic(Name="compat-sns.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    with pytest.raises(sns.exceptions.InvalidParameterException) as e:
        sns.publish(TopicArn=topic, Message="x", MessageGroupId="g")
    assert "ContentBasedDeduplication" in e.value.response["Error"]["Message"]
    out = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": f"e{i}", "Message": f"m{i}", "MessageGroupId": "g", "MessageDeduplicationId": f"d{i}"} for i in range(5)
        ]
        + [{"Id": "dup", "Message": "m0 again", "MessageGroupId": "g", "MessageDeduplicationId": "d0"}],
    )
    assert [s["Id"] for s in out["Successful"]] == ["e0", "e1", "e2", "e3", "e4", "dup"]
    assert all("SequenceNumber" in s for s in out["Successful"])
    got = receive(sqs, url, 6, within=5)
    assert [m["Body"] for m in got] == ["m0", "m1", "m2", "m3", "m4"]
    assert got[0]["Attributes"]["MessageDeduplicationId"] == "d0"

    std = sns.create_topic(Name="compat-std")["TopicArn"]
    out = sns.publish_batch(
        TopicArn=std, PublishBatchRequestEntries=[{"Id": "ok", "Message": "fine"}, {"Id": "bad", "Message": ""}]
    )
    assert [s["Id"] for s in out["Successful"]] == ["ok"]
    assert out["Failed"] == [
        {"Id": "bad", "Code": "InvalidParameter", "Message": "Invalid parameter: Empty message", "SenderFault": True}
    ]
    with pytest.raises(sns.exceptions.BatchEntryIdsNotDistinctException):
        sns.publish_batch(TopicArn=std, PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}])


def test_cli_topic_subscribe_publish(server, sqs):
    url, arn = queue(sqs, "compat-sns-cli")
    out = run_aws(server, "sns", "create-topic", "--name", "compat-cli")
    assert out.returncode == 0, out.stderr
    topic = json.loads(out.stdout)["TopicArn"]
    out = run_aws(
        server, "sns", "subscribe", "--topic-arn", topic, "--protocol", "sqs", "--notification-endpoint", arn,
        "--attributes", '{"RawMessageDelivery":"true"}',
    )
    assert out.returncode == 0, out.stderr
    sub = json.loads(out.stdout)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    out = run_aws(
        server, "sns", "publish", "--topic-arn", topic, "--message", "from the cli",
        "--message-attributes", '{"source":{"DataType":"String","StringValue":"cli"}}',
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["MessageId"]
    got = receive(sqs, url, 1)
    assert got[0]["Body"] == "from the cli"
    assert got[0]["MessageAttributes"]["source"]["StringValue"] == "cli"
    out = run_aws(server, "sns", "list-subscriptions-by-topic", "--topic-arn", topic)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Subscriptions"][0]["SubscriptionArn"] == sub
    out = run_aws(server, "sns", "get-topic-attributes", "--topic-arn", topic + "-missing")
    assert out.returncode != 0
    assert "NotFound" in out.stderr and "Topic does not exist" in out.stderr
    out = run_aws(server, "sns", "subscribe", "--topic-arn", topic, "--protocol", "ftp", "--notification-endpoint", "x")
    assert out.returncode != 0
    assert "Amazon SNS does not support this protocol string: ftp" in out.stderr


def test_unimplemented_operations_say_so(sns):
    with pytest.raises(sns.exceptions.ClientError) as e:
        sns.list_platform_applications()
    assert e.value.response["Error"]["Code"] == "NotImplemented"
    with pytest.raises(sns.exceptions.ClientError) as e:
        sns.publish(PhoneNumber="+15555550100", Message="hi")
    assert e.value.response["Error"]["Code"] == "NotImplemented"


def test_boto3_permissions_edit_the_topic_policy(sns):
    arn = sns.create_topic(Name="compat-perms")["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="partner", AWSAccountId=["111111111111"], ActionName=["Publish", "Subscribe"])
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    sids = [s["Sid"] for s in policy["Statement"]]
    assert sids == ["__default_statement_ID", "partner"]
    added = policy["Statement"][1]
    assert added["Principal"] == {"AWS": ["arn:aws:iam::111111111111:root"]}
    assert added["Action"] == ["SNS:Publish", "SNS:Subscribe"]
    with pytest.raises(sns.exceptions.ClientError) as e:
        sns.add_permission(TopicArn=arn, Label="partner", AWSAccountId=["111111111111"], ActionName=["Publish"])
    assert e.value.response["Error"]["Code"] == "InvalidParameter"
    sns.remove_permission(TopicArn=arn, Label="partner")
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]
