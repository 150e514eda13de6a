"""CloudWatch Logs with boto3 and the AWS CLI: groups, streams, events, paginators, filter
patterns, and `aws logs tail` (AWS CLI v2 only; $AWS_CLI_V2, which .ci/run installs)."""

import json
import os
import subprocess
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import aws_env, run_aws

AWS_CLI_V2 = os.environ.get("AWS_CLI_V2", "/usr/bin/aws")


def now_ms():
    return int(time.time() * 1000)


def fresh_group(logs, stream="s"):
    group = f"/compat/{uuid.uuid4().hex[:12]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    return group


def put(logs, group, stream, messages, start=None):
    start = now_ms() if start is None else start
    events = [{"timestamp": start + i, "message": m} for i, m in enumerate(messages)]
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def test_group_lifecycle_and_errors(client):
    logs = client("logs")
    group = fresh_group(logs)
    with pytest.raises(ClientError) as e:
        logs.create_log_group(logGroupName=group)
    assert e.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    described = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert described["arn"].endswith(f":log-group:{group}:*")
    assert described["logGroupArn"].endswith(f":log-group:{group}")
    logs.put_retention_policy(logGroupName=group, retentionInDays=14)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 14
    with pytest.raises(ClientError) as e:
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    logs.delete_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as e:
        logs.describe_log_streams(logGroupName=group)
    assert e.value.response["Error"]["Message"] == "The specified log group does not exist."


def test_put_get_and_rejected_events(client):
    logs = client("logs")
    group = fresh_group(logs)
    old = now_ms() - 15 * 86_400_000
    out = logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": old, "message": "too old"}, {"timestamp": now_ms(), "message": "kept"}],
        sequenceToken="ignored-as-aws-does-now",
    )
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 0}
    got = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
    assert [e["message"] for e in got["events"]] == ["kept"]
    assert got["nextForwardToken"].startswith("f/")
    assert got["nextBackwardToken"].startswith("b/")
    again = logs.get_log_events(
        logGroupName=group, logStreamName="s", startFromHead=True, nextToken=got["nextForwardToken"]
    )
    assert again["events"] == []
    assert again["nextForwardToken"] == got["nextForwardToken"]


def test_paginators(client):
    logs = client("logs")
    prefix = f"/pages/{uuid.uuid4().hex[:8]}/"
    for i in range(5):
        logs.create_log_group(logGroupName=f"{prefix}{i}")
    pages = list(
        logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=prefix, PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 3
    assert [g["logGroupName"] for p in pages for g in p["logGroups"]] == [f"{prefix}{i}" for i in range(5)]

    group = f"{prefix}0"
    for stream in ("a", "b"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        put(logs, group, stream, [f"{stream} ERROR {i}" for i in range(30)] + [f"{stream} INFO"])
    events = [
        e
        for p in logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern="ERROR", PaginationConfig={"PageSize": 7}
        )
        for e in p["events"]
    ]
    assert len(events) == 60
    assert len({e["eventId"] for e in events}) == 60
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)


def test_filter_patterns(client):
    logs = client("logs")
    group = fresh_group(logs)
    put(
        logs,
        group,
        "s",
        [
            json.dumps({"level": "ERROR", "latency": 1200}),
            json.dumps({"level": "INFO", "latency": 20}),
            "WARN disk almost full",
            "ERROR timeout talking to db",
        ],
    )

    def matching(pattern):
        return [e["message"] for e in logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]]

    assert matching('{ $.level = "ERROR" }') == ['{"level": "ERROR", "latency": 1200}']
    assert matching("{ $.latency < 100 }") == ['{"level": "INFO", "latency": 20}']
    assert matching("?WARN ?timeout") == ["WARN disk almost full", "ERROR timeout talking to db"]
    assert matching("ERROR -timeout") == ['{"level": "ERROR", "latency": 1200}']
    with pytest.raises(ClientError) as e:
        matching("[ip, user]")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_cli_v1_describe_and_get(server):
    group = f"/cli/{uuid.uuid4().hex[:12]}"
    assert run_aws(server, "logs", "create-log-group", "--log-group-name", group).returncode == 0
    assert run_aws(server, "logs", "create-log-stream", "--log-group-name", group, "--log-stream-name", "s").returncode == 0
    events = json.dumps([{"timestamp": now_ms(), "message": "from the cli"}])
    put_out = run_aws(server, "logs", "put-log-events", "--log-group-name", group, "--log-stream-name", "s", "--log-events", events)
    assert put_out.returncode == 0, put_out.stderr
    got = run_aws(server, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "s")
    assert got.returncode == 0, got.stderr
    assert [e["message"] for e in json.loads(got.stdout)["events"]] == ["from the cli"]
    missing = run_aws(server, "logs", "describe-log-streams", "--log-group-name", group + "-missing")
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


def tail_cmd(server, group, *extra):
    return [AWS_CLI_V2, "--endpoint-url", server.endpoint, "logs", "tail", group, *extra]


def tail_env():
    env = aws_env()
    # The CLI is Python: make it write each line as it goes, so a stopped `--follow` has shown
    # everything it received.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_cli_v2_logs_tail(client, server):
    logs = client("logs")
    group = fresh_group(logs)
    put(logs, group, "s", ["first line", "second line"])
    out = subprocess.run(tail_cmd(server, group), env=tail_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2, out.stdout
    assert lines[0].endswith(" s first line")
    assert lines[1].endswith(" s second line")


def test_cli_v2_logs_tail_follow_sees_new_events(client, server):
    logs = client("logs")
    group = fresh_group(logs)
    put(logs, group, "s", ["before following"])
    proc = subprocess.Popen(
        tail_cmd(server, group, "--follow", "--format", "short"),
        env=tail_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(2)
        put(logs, group, "s", ["added while following"])
        # The CLI polls every 5 seconds; give it one round and a margin.
        try:
            proc.communicate(timeout=8)
        except subprocess.TimeoutExpired:
            pass
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=10)
    assert "before following" in stdout, (stdout, stderr)
    assert "added while following" in stdout, (stdout, stderr)
    assert stdout.count("before following") == 1, "no event is shown twice"
