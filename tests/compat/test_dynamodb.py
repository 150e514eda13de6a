"""DynamoDB through boto3 (client and resource APIs, paginators) and the AWS CLI."""

import json
import uuid

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from conftest import run_aws


def _resource(server):
    return boto3.resource(
        "dynamodb",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _create(ddb, name):
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def test_resource_api_crud_and_conditions(server):
    ddb = _resource(server)
    name = f"t-{uuid.uuid4().hex[:8]}"
    table = ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    table.put_item(Item={"pk": "a", "n": 1, "tags": {"x", "y"}, "doc": {"k": [1, "two"]}})
    with pytest.raises(ClientError) as e:
        table.put_item(Item={"pk": "a"}, ConditionExpression=Attr("pk").not_exists())
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert e.value.response["Error"]["Message"] == "The conditional request failed"
    out = table.update_item(
        Key={"pk": "a"},
        UpdateExpression="SET n = n + :one ADD tags :z",
        ExpressionAttributeValues={":one": 1, ":z": {"z"}},
        ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"]["n"] == 2
    assert out["Attributes"]["tags"] == {"x", "y", "z"}
    item = table.get_item(Key={"pk": "a"})["Item"]
    assert item["doc"] == {"k": [1, "two"]}
    table.delete_item(Key={"pk": "a"})
    assert "Item" not in table.get_item(Key={"pk": "a"})
    table.delete()


def test_client_query_paginator_and_gsi(client):
    ddb = client("dynamodb")
    name = f"q-{uuid.uuid4().hex[:8]}"
    _create(ddb, name)
    ddb.get_waiter("table_exists").wait(TableName=name)
    for i in range(30):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "g": {"S": "even" if i % 2 == 0 else "odd"}})
    pages = ddb.get_paginator("query").paginate(
        TableName=name,
        KeyConditionExpression="pk = :p AND sk >= :lo",
        ExpressionAttributeValues={":p": {"S": "p"}, ":lo": {"N": "10"}},
        PaginationConfig={"PageSize": 6},
    )
    sks = [int(i["sk"]["N"]) for page in pages for i in page["Items"]]
    assert sks == list(range(10, 30))
    evens = ddb.query(
        TableName=name,
        IndexName="by-g",
        KeyConditionExpression="g = :g",
        ExpressionAttributeValues={":g": {"S": "even"}},
        ScanIndexForward=False,
        Limit=3,
    )
    assert [int(i["sk"]["N"]) for i in evens["Items"]] == [28, 26, 24]
    assert "LastEvaluatedKey" in evens
    scanned = ddb.get_paginator("scan").paginate(TableName=name, PaginationConfig={"PageSize": 7})
    assert sum(p["Count"] for p in scanned) == 30
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName=name, Key={"pk": {"N": "1"}, "sk": {"N": "1"}})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName="does-not-exist")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_resource_query_with_conditions(server):
    ddb = _resource(server)
    name = f"r-{uuid.uuid4().hex[:8]}"
    _create(ddb.meta.client, name)
    table = ddb.Table(name)
    with table.batch_writer() as batch:
        for i in range(12):
            batch.put_item(Item={"pk": "p", "sk": i, "g": "x", "v": i * 10})
    got = table.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").between(3, 6), FilterExpression=Attr("v").gt(40))
    assert [int(i["sk"]) for i in got["Items"]] == [5, 6]
    assert got["ScannedCount"] == 4


def test_transaction_cancelled(client):
    ddb = client("dynamodb")
    name = f"x-{uuid.uuid4().hex[:8]}"
    _create(ddb, name)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}}},
                {"Put": {"TableName": name, "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )
    err = e.value.response
    assert err["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in err["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]


def test_cli_table_and_items(server):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    created = run_aws(
        server, "dynamodb", "create-table", "--table-name", name,
        "--attribute-definitions", "AttributeName=id,AttributeType=S",
        "--key-schema", "AttributeName=id,KeyType=HASH",
        "--billing-mode", "PAY_PER_REQUEST",
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["TableDescription"]["TableName"] == name
    waited = run_aws(server, "dynamodb", "wait", "table-exists", "--table-name", name)
    assert waited.returncode == 0, waited.stderr
    put = run_aws(server, "dynamodb", "put-item", "--table-name", name, "--item", '{"id": {"S": "1"}, "v": {"N": "3"}}')
    assert put.returncode == 0, put.stderr
    got = run_aws(server, "dynamodb", "get-item", "--table-name", name, "--key", '{"id": {"S": "1"}}')
    assert json.loads(got.stdout)["Item"]["v"] == {"N": "3"}
    scanned = run_aws(server, "dynamodb", "scan", "--table-name", name)
    assert json.loads(scanned.stdout)["Count"] == 1
    missing = run_aws(server, "dynamodb", "describe-table", "--table-name", "nope-nope")
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr


def test_partiql_statements(client):
    ddb = client("dynamodb")
    name = f"x-{uuid.uuid4().hex[:8]}"
    _create(ddb, name)
    for sk in range(1, 4):
        ddb.execute_statement(
            Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'a', 'sk': ?, 'g': 'x'}}",
            Parameters=[{"N": str(sk)}],
        )
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'a', 'sk': 1}}")
    assert e.value.response["Error"]["Code"] == "DuplicateItemException"
    pages = []
    token = None
    while True:
        args = {"Statement": f"SELECT sk FROM \"{name}\" WHERE pk = 'a' ORDER BY sk DESC", "Limit": 2}
        if token:
            args["NextToken"] = token
        got = ddb.execute_statement(**args)
        pages.append([i["sk"]["N"] for i in got["Items"]])
        token = got.get("NextToken")
        if not token:
            break
    assert [sk for page in pages for sk in page] == ["3", "2", "1"]
    got = ddb.execute_statement(
        Statement=f"UPDATE \"{name}\" SET n = 1 REMOVE g WHERE pk = 'a' AND sk = 2 RETURNING ALL NEW *"
    )
    assert got["Items"] == [{"pk": {"S": "a"}, "sk": {"N": "2"}, "n": {"N": "1"}}]
    with pytest.raises(ClientError) as e:
        ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET n = 1 WHERE pk = 'a'")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "mandatory equality on all key attributes" in e.value.response["Error"]["Message"]
    got = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"DELETE FROM \"{name}\" WHERE pk = 'a' AND sk = 1"},
            {"Statement": f"INSERT INTO \"{name}\" VALUE {{'pk': 'a', 'sk': 3}}"},
        ]
    )
    assert got["Responses"][1]["Error"]["Code"] == "DuplicateItem"
    got = ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"SELECT * FROM \"{name}\" WHERE pk = 'a' AND sk = 1"},
            {"Statement": f"SELECT sk FROM \"{name}\" WHERE pk = 'a' AND sk = 3"},
        ]
    )
    assert got["Responses"] == [{}, {"Item": {"sk": {"N": "3"}}}]
