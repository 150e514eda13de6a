"""S3 versioning, ACLs and CORS with boto3: versions listed through boto3's paginator, reads
by version id, delete markers and their errors in S3's words, the suspended `null` version,
DeleteObjects by version, ACLs under ownership controls, and versions surviving kill -9."""

import pytest
import requests

from conftest import error_of, make_client


def enable(s3, bucket, status="Enabled"):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def test_versions_markers_and_paging(s3):
    s3.create_bucket(Bucket="compat-versions")
    assert "Status" not in s3.get_bucket_versioning(Bucket="compat-versions")
    enable(s3, "compat-versions")
    assert s3.get_bucket_versioning(Bucket="compat-versions")["Status"] == "Enabled"
    ids = [s3.put_object(Bucket="compat-versions", Key="k", Body=f"v{i}".encode())["VersionId"] for i in range(5)]
    assert len(set(ids)) == 5
    pages = s3.get_paginator("list_object_versions").paginate(Bucket="compat-versions", PaginationConfig={"PageSize": 2})
    listed = [v["VersionId"] for page in pages for v in page.get("Versions", [])]
    assert listed == list(reversed(ids))
    assert s3.get_object(Bucket="compat-versions", Key="k", VersionId=ids[1])["Body"].read() == b"v1"

    marker = s3.delete_object(Bucket="compat-versions", Key="k")
    assert marker["DeleteMarker"] is True
    assert error_of(lambda: s3.get_object(Bucket="compat-versions", Key="k")) == ("NoSuchKey", 404)
    assert error_of(lambda: s3.head_object(Bucket="compat-versions", Key="k"))[1] == 404
    assert error_of(
        lambda: s3.get_object(Bucket="compat-versions", Key="k", VersionId=marker["VersionId"])
    ) == ("MethodNotAllowed", 405)
    assert error_of(lambda: s3.get_object(Bucket="compat-versions", Key="k", VersionId="nope")) == (
        "InvalidArgument",
        400,
    )
    assert s3.list_objects_v2(Bucket="compat-versions")["KeyCount"] == 0
    assert error_of(lambda: s3.delete_bucket(Bucket="compat-versions")) == ("BucketNotEmpty", 409)

    objects = [{"Key": "k", "VersionId": v} for v in ids] + [{"Key": "k", "VersionId": marker["VersionId"]}]
    out = s3.delete_objects(Bucket="compat-versions", Delete={"Objects": objects})
    assert len(out["Deleted"]) == 6 and "Errors" not in out
    s3.delete_bucket(Bucket="compat-versions")


def test_suspended_bucket_keeps_one_null_version(s3):
    s3.create_bucket(Bucket="compat-suspended")
    enable(s3, "compat-suspended")
    kept = s3.put_object(Bucket="compat-suspended", Key="k", Body=b"kept")["VersionId"]
    enable(s3, "compat-suspended", "Suspended")
    s3.put_object(Bucket="compat-suspended", Key="k", Body=b"a")
    s3.put_object(Bucket="compat-suspended", Key="k", Body=b"b")
    versions = s3.list_object_versions(Bucket="compat-suspended")["Versions"]
    assert [v["VersionId"] for v in versions] == ["null", kept]
    assert [v["IsLatest"] for v in versions] == [True, False]
    got = s3.get_object(Bucket="compat-suspended", Key="k", VersionId="null")
    assert got["Body"].read() == b"b" and got["VersionId"] == "null"


def test_acls_and_cors(server, s3):
    s3.create_bucket(Bucket="compat-acl")
    acl = s3.get_bucket_acl(Bucket="compat-acl")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"]["ID"] == acl["Owner"]["ID"]
    s3.put_bucket_acl(Bucket="compat-acl", ACL="private")
    assert error_of(lambda: s3.put_bucket_acl(Bucket="compat-acl", ACL="public-read")) == (
        "AccessControlListNotSupported",
        400,
    )
    controls = s3.get_bucket_ownership_controls(Bucket="compat-acl")["OwnershipControls"]
    assert controls["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    url = f"{server.endpoint}/compat-acl/file"
    headers = {"Origin": "https://web.example.org", "Access-Control-Request-Method": "GET"}
    assert requests.options(url, headers=headers).status_code == 403
    s3.put_bucket_cors(
        Bucket="compat-acl",
        CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET"]}]},
    )
    ok = requests.options(url, headers=headers)
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "https://web.example.org"
    denied = requests.options(url, headers={**headers, "Origin": "https://other.test"})
    assert denied.status_code == 403 and "This CORS request is not allowed" in denied.text


def test_versions_survive_kill9(durable_server):
    s3 = make_client(durable_server, "s3")
    s3.create_bucket(Bucket="compat-durable-versions")
    enable(s3, "compat-durable-versions")
    first = s3.put_object(Bucket="compat-durable-versions", Key="k", Body=b"one")["VersionId"]
    s3.put_object(Bucket="compat-durable-versions", Key="k", Body=b"two")
    before = s3.list_object_versions(Bucket="compat-durable-versions")["Versions"]
    durable_server.kill9()
    durable_server.start()
    s3 = make_client(durable_server, "s3")
    after = s3.list_object_versions(Bucket="compat-durable-versions")["Versions"]
    assert [v["VersionId"] for v in after] == [v["VersionId"] for v in before]
    assert s3.get_object(Bucket="compat-durable-versions", Key="k", VersionId=first)["Body"].read() == b"one"
