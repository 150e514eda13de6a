"""EventBridge through boto3 and the AWS CLI: buses, rules, targets, PutEvents results, and
`aws events test-event-pattern` agreeing with our own verdicts on a handful of cases."""

import json

import botocore.exceptions
import pytest

from conftest import make_client, run_aws

EVENT = {
    "id": "1",
    "account": "000000000000",
    "source": "com.shop.orders",
    "time": "2024-05-01T12:00:00Z",
    "region": "us-east-1",
    "detail-type": "OrderPlaced",
    "resources": [],
    "detail": {"total": 300.0, "email": "Alice@Example.com", "ip": "10.0.0.7", "tags": ["a", "b"]},
}

# (pattern, verdict) pairs from EventBridge's documented semantics.
CASES = [
    ({"source": ["com.shop.orders"]}, True),
    ({"source": ["com.shop.other"]}, False),
    ({"detail": {"total": [300]}}, True),
    ({"detail": {"total": [{"numeric": [">", 0, "<=", 300]}]}}, True),
    ({"detail": {"total": [{"numeric": ["<", 300]}]}}, False),
    ({"detail": {"email": [{"equals-ignore-case": "alice@example.com"}]}}, True),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, True),
    ({"detail": {"tags": ["b"]}}, True),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"detail-type": [{"anything-but": ["OrderPlaced"]}]}, False),
    ({"$or": [{"source": ["x"]}, {"detail": {"tags": ["a"]}}]}, True),
]


@pytest.fixture
def events(server):
    return make_client(server, "events")


@pytest.mark.parametrize("pattern,verdict", CASES)
def test_cli_test_event_pattern_agrees(server, pattern, verdict):
    out = run_aws(
        server,
        "events",
        "test-event-pattern",
        "--event-pattern",
        json.dumps(pattern),
        "--event",
        json.dumps(EVENT),
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Result"] is verdict


def test_cli_reports_invalid_patterns(server):
    out = run_aws(server, "events", "test-event-pattern", "--event-pattern", '{"source": "x"}', "--event", json.dumps(EVENT))
    assert out.returncode != 0
    assert "InvalidEventPatternException" in out.stderr
    assert 'Event pattern is not valid. Reason: \\"source\\" must be an object or an array' in out.stderr or (
        'Reason: "source" must be an object or an array' in out.stderr
    )


def test_boto3_bus_rule_target_lifecycle(events):
    events.create_event_bus(Name="compat-orders")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.create_event_bus(Name="compat-orders")
    assert e.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    arn = events.put_rule(
        Name="placed", EventBusName="compat-orders", EventPattern=json.dumps({"detail-type": ["OrderPlaced"]})
    )["RuleArn"]
    assert arn.endswith(":rule/compat-orders/placed")
    put = events.put_targets(
        Rule="placed",
        EventBusName="compat-orders",
        Targets=[
            {"Id": "f", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:nobody"},
            {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"},
        ],
    )
    assert put["FailedEntryCount"] == 1
    assert put["FailedEntries"][0]["TargetId"] == "q"
    assert events.list_rule_names_by_target(
        TargetArn="arn:aws:lambda:us-east-1:000000000000:function:nobody", EventBusName="compat-orders"
    )["RuleNames"] == ["placed"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.delete_rule(Name="placed", EventBusName="compat-orders")
    assert e.value.response["Error"]["Message"] == "Rule can't be deleted since it has targets."
    events.remove_targets(Rule="placed", EventBusName="compat-orders", Ids=["f"])
    events.delete_rule(Name="placed", EventBusName="compat-orders")
    events.delete_event_bus(Name="compat-orders")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_event_bus(Name="compat-orders")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_boto3_put_events_entry_results(events):
    out = events.put_events(
        Entries=[
            {"Source": "s", "DetailType": "d", "Detail": "{}"},
            {"DetailType": "d", "Detail": "{}"},
            {"Source": "s", "DetailType": "d", "Detail": "not json"},
        ]
    )
    assert out["FailedEntryCount"] == 2
    assert "EventId" in out["Entries"][0]
    assert out["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert out["Entries"][2] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}


def test_unimplemented_operations_say_so(events):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.list_archives()
    assert e.value.response["Error"]["Code"] == "NotImplemented"
