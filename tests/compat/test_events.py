"""EventBridge through boto3 and the AWS CLI: buses, rules, targets, PutEvents results,
connections and API destinations, and `aws events test-event-pattern` giving the corpus's verdict
for every one of its cases."""

import concurrent.futures
import json
import pathlib

import botocore.exceptions
import pytest

from conftest import make_client, run_aws

# The pattern corpus shared with the event-pattern crate's own test (crates/event-pattern/tests).
CORPUS = json.loads((pathlib.Path(__file__).parents[2] / "crates/event-pattern/tests/corpus.json").read_text())


@pytest.fixture
def events(server):
    return make_client(server, "events")


def cli_verdict(server, case):
    """What `aws events test-event-pattern` says of one corpus case: true, false or the refusal."""
    event = json.dumps(case.get("event", CORPUS["event"]))
    out = run_aws(server, "events", "test-event-pattern", "--event-pattern", case["pattern"], "--event", event)
    if out.returncode == 0:
        return json.loads(out.stdout)["Result"]
    return out.stderr


def test_cli_test_event_pattern_agrees_with_the_corpus(server):
    cases = CORPUS["cases"]
    assert len(cases) >= 200
    # The CLI starts in about half a second; four at a time keep the run short.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda c: cli_verdict(server, c), cases))
    wrong = []
    for case, got in zip(cases, verdicts):
        want = case["result"]
        if isinstance(want, bool):
            ok = got is want
        else:
            reason = want.removeprefix("error: ")
            # The CLI may print the message's quotes escaped.
            shown = (reason, reason.replace('"', '\\"'))
            ok = isinstance(got, str) and "InvalidEventPatternException" in got and any(r in got for r in shown)
        if not ok:
            wrong.append(f"{case['name']}: {case['pattern']} -> {got!r}, expected {want!r}")
    assert not wrong, "\n".join(wrong)


def test_cli_reports_invalid_patterns(server):
    out = run_aws(server, "events", "test-event-pattern", "--event-pattern", '{"source": "x"}', "--event", json.dumps(CORPUS["event"]))
    assert out.returncode != 0
    assert "InvalidEventPatternException" in out.stderr
    assert 'Reason: "source" must be an object or an array' in out.stderr or (
        'Reason: \\"source\\" must be an object or an array' in out.stderr
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
            {"Id": "q", "Arn": "arn:aws:kinesis:us-east-1:000000000000:stream/q"},
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
        events.list_endpoints()
    assert e.value.response["Error"]["Code"] == "NotImplemented"


def test_boto3_connection_and_api_destination_lifecycle(events):
    created = events.create_connection(
        Name="compat-conn",
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"},
            "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-team", "Value": "compat"}]},
        },
    )
    assert created["ConnectionState"] == "AUTHORIZED"
    conn_arn = created["ConnectionArn"]
    assert conn_arn.startswith("arn:aws:events:us-east-1:000000000000:connection/compat-conn/")
    described = events.describe_connection(Name="compat-conn")
    assert described["AuthorizationType"] == "API_KEY"
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
    assert described["SecretArn"].startswith(
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:events!connection/compat-conn/"
    )
    assert "s3cret" not in json.dumps(described, default=str)
    names = [c["Name"] for c in events.list_connections(NamePrefix="compat-")["Connections"]]
    assert names == ["compat-conn"]

    dest = events.create_api_destination(
        Name="compat-dest",
        ConnectionArn=conn_arn,
        InvocationEndpoint="https://example.com/orders/*",
        HttpMethod="POST",
    )
    assert dest["ApiDestinationState"] == "ACTIVE"
    got = events.describe_api_destination(Name="compat-dest")
    assert got["InvocationRateLimitPerSecond"] == 300
    assert got["ConnectionArn"] == conn_arn
    listed = events.list_api_destinations(NamePrefix="compat-")["ApiDestinations"]
    assert [d["Name"] for d in listed] == ["compat-dest"]

    events.delete_api_destination(Name="compat-dest")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_api_destination(Name="compat-dest")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert events.delete_connection(Name="compat-conn")["ConnectionState"] == "DELETING"


def test_boto3_api_destination_needs_its_connection(events):
    missing = "arn:aws:events:us-east-1:000000000000:connection/compat-missing/00000000-0000-0000-0000-000000000000"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.create_api_destination(
            Name="compat-orphan", ConnectionArn=missing, InvocationEndpoint="https://example.com/", HttpMethod="POST"
        )
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        events.describe_connection(Name="compat-missing")
    assert e.value.response["Error"]["Message"] == (
        "Failed to describe the connection(s). Connection 'compat-missing' does not exist."
    )
