"""EventBridge Scheduler through boto3: a one-time schedule delivered to a real queue,
ActionAfterCompletion, groups and their tags, paging, and errors as botocore parses them."""

import datetime
import json
import time

import botocore.exceptions
import pytest

from conftest import make_client

ROLE = "arn:aws:iam::000000000000:role/scheduler"
OFF = {"Mode": "OFF"}


@pytest.fixture
def scheduler(server):
    return make_client(server, "scheduler")


@pytest.fixture
def sqs(server):
    return make_client(server, "sqs")


def at_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return f"at({t.strftime('%Y-%m-%dT%H:%M:%S')})"


def test_a_one_time_schedule_sends_its_input_to_a_queue_and_deletes_itself(scheduler, sqs):
    url = sqs.create_queue(QueueName="compat-scheduled")["QueueUrl"]
    arn = "arn:aws:sqs:us-east-1:000000000000:compat-scheduled"
    out = scheduler.create_schedule(
        Name="compat-once",
        ScheduleExpression=at_in(2),
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow=OFF,
        ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": ROLE, "Input": json.dumps({"hello": "<aws.scheduler.schedule-arn>"})},
    )
    assert out["ScheduleArn"] == "arn:aws:scheduler:us-east-1:000000000000:schedule/default/compat-once"
    got = scheduler.get_schedule(Name="compat-once")
    assert got["ActionAfterCompletion"] == "DELETE"
    assert isinstance(got["CreationDate"], datetime.datetime)

    messages = []
    deadline = time.time() + 15
    while not messages and time.time() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"]) == {"hello": out["ScheduleArn"]}

    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            scheduler.get_schedule(Name="compat-once")
            time.sleep(0.1)
        except scheduler.exceptions.ResourceNotFoundException:
            break
    else:
        pytest.fail("the completed schedule was not deleted")


def test_groups_tags_and_paging(scheduler):
    arn = scheduler.create_schedule_group(Name="compat-group", Tags=[{"Key": "team", "Value": "a"}])["ScheduleGroupArn"]
    for i in range(3):
        scheduler.create_schedule(
            Name=f"compat-{i}",
            GroupName="compat-group",
            ScheduleExpression="cron(0 9 ? * MON *)",
            ScheduleExpressionTimezone="Europe/Berlin",
            StartDate=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1),
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
            Target={"Arn": "arn:aws:lambda:us-east-1:000000000000:function:f", "RoleArn": ROLE},
        )
    pages = scheduler.get_paginator("list_schedules").paginate(GroupName="compat-group", PaginationConfig={"PageSize": 2})
    names = [s["Name"] for page in pages for s in page["Schedules"]]
    assert names == ["compat-0", "compat-1", "compat-2"]
    got = scheduler.get_schedule(Name="compat-1", GroupName="compat-group")
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["StartDate"] > datetime.datetime.now(datetime.timezone.utc)

    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "ci"}])
    scheduler.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "ci"}]

    scheduler.delete_schedule_group(Name="compat-group")
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException):
        scheduler.get_schedule(Name="compat-1", GroupName="compat-group")


def test_errors_are_modeled_exceptions(scheduler):
    with pytest.raises(scheduler.exceptions.ResourceNotFoundException) as e:
        scheduler.get_schedule(Name="compat-nope")
    assert e.value.response["Error"]["Message"] == "Schedule compat-nope does not exist."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    target = {"Arn": "arn:aws:sqs:us-east-1:000000000000:q", "RoleArn": ROLE}
    with pytest.raises(scheduler.exceptions.ValidationException) as e:
        scheduler.create_schedule(Name="compat-bad", ScheduleExpression="rate(2 minute)", FlexibleTimeWindow=OFF, Target=target)
    assert e.value.response["Error"]["Message"] == "Invalid Schedule Expression rate(2 minute)"

    scheduler.create_schedule(Name="compat-dup", ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF, Target=target, State="DISABLED")
    with pytest.raises(scheduler.exceptions.ConflictException):
        scheduler.create_schedule(Name="compat-dup", ScheduleExpression="rate(1 day)", FlexibleTimeWindow=OFF, Target=target)

    with pytest.raises(scheduler.exceptions.ValidationException):
        scheduler.delete_schedule_group(Name="default")

    with pytest.raises(botocore.exceptions.ClientError) as e:
        scheduler.create_schedule(
            Name="compat-universal",
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow=OFF,
            Target={"Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": ROLE},
        )
    assert e.value.response["Error"]["Code"] == "NotImplemented"
