"""S3 with boto3 and both AWS CLIs: managed transfers with multipart thresholds lowered, list
pagination, errors in S3's words, and `aws s3 cp`/`sync`/`ls` round-tripping a folder tree with a
file of 100 MiB or more (multipart) byte for byte."""

import filecmp
import hashlib
import json
import os
import subprocess

import boto3.s3.transfer
import pytest

from conftest import aws_env, error_of, make_client

CLIS = [
    pytest.param(os.environ.get("AWS_CLI", "aws"), id="cli-v1"),
    pytest.param(os.environ.get("AWS_CLI_V2", "/usr/bin/aws"), id="cli-v2"),
]


def test_managed_transfers_with_lowered_thresholds(s3, tmp_path):
    s3.create_bucket(Bucket="compat-transfer")
    src = tmp_path / "src.bin"
    data = os.urandom(12 * 1024 * 1024 + 123)
    src.write_bytes(data)
    config = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(str(src), "compat-transfer", "up/src.bin", Config=config)
    head = s3.head_object(Bucket="compat-transfer", Key="up/src.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"'), head["ETag"]
    dst = tmp_path / "dst.bin"
    s3.download_file("compat-transfer", "up/src.bin", str(dst), Config=config)
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    # Below the threshold: one PUT with boto3's default checksum.
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello world")
    s3.upload_file(str(small), "compat-transfer", "small.txt", Config=config)
    got = s3.get_object(Bucket="compat-transfer", Key="small.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"hello world"


def test_list_pagination_and_errors(server, s3):
    s3.create_bucket(Bucket="compat-list")
    for i in range(25):
        s3.put_object(Bucket="compat-list", Key=f"p/{i:02d} file.txt", Body=b"x")
    s3.put_object(Bucket="compat-list", Key="q/one", Body=b"y")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="compat-list", Prefix="p/", PaginationConfig={"PageSize": 10})
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert keys == [f"p/{i:02d} file.txt" for i in range(25)]
    pages = list(s3.get_paginator("list_objects").paginate(Bucket="compat-list", Delimiter="/", PaginationConfig={"PageSize": 1}))
    prefixes = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    assert prefixes == ["p/", "q/"]

    assert error_of(lambda: s3.get_object(Bucket="compat-list", Key="missing")) == ("NoSuchKey", 404)
    assert error_of(lambda: s3.get_object(Bucket="compat-none", Key="k")) == ("NoSuchBucket", 404)
    assert error_of(lambda: s3.delete_bucket(Bucket="compat-list")) == ("BucketNotEmpty", 409)
    assert error_of(lambda: s3.get_object(Bucket="compat-list", Key="q/one", Range="bytes=5-9")) == ("InvalidRange", 416)
    assert error_of(lambda: s3.get_object(Bucket="compat-list", Key="q/one", IfMatch='"nope"')) == ("PreconditionFailed", 412)
    eu = make_client(server, "s3", region="eu-west-1")
    eu.create_bucket(Bucket="compat-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_of(
        lambda: eu.create_bucket(Bucket="compat-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    ) == ("BucketAlreadyOwnedByYou", 409)
    assert s3.get_bucket_location(Bucket="compat-eu")["LocationConstraint"] == "eu-west-1"
    up = s3.create_multipart_upload(Bucket="compat-list", Key="mp")
    etags = []
    for n in (1, 2):
        part = s3.upload_part(Bucket="compat-list", Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=b"small")
        etags.append({"PartNumber": n, "ETag": part["ETag"]})
    assert error_of(
        lambda: s3.complete_multipart_upload(Bucket="compat-list", Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": etags})
    ) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket="compat-list", Key="mp", UploadId=up["UploadId"])
    assert error_of(lambda: s3.list_parts(Bucket="compat-list", Key="mp", UploadId=up["UploadId"])) == ("NoSuchUpload", 404)


def _tree(root, big_size):
    """A folder tree of small files and one large random file."""
    files = {
        "a.txt": b"alpha\n",
        "docs/readme.md": b"# readme\n",
        "docs/deep/nested/note.txt": os.urandom(3000),
        "img/photo one.jpg": os.urandom(70_000),
        "empty.bin": b"",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    big = root / "big" / "large.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as f:
        left = big_size
        while left:
            n = min(left, 8 * 1024 * 1024)
            f.write(os.urandom(n))
            left -= n
    return sorted([*files, "big/large.bin"])


def _aws(cli, server, *args):
    cmd = [cli, "--endpoint-url", server.endpoint, *args]
    out = subprocess.run(cmd, env=aws_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{cmd}: {out.stderr}"
    return out.stdout


def _same_tree(a, b, names):
    for rel in names:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


@pytest.mark.parametrize("cli", CLIS)
def test_cli_cp_sync_ls_round_trip_a_tree(server, tmp_path, cli):
    bucket = "compat-tree-" + ("v2" if cli.endswith("/usr/bin/aws") else "v1")
    src = tmp_path / "src"
    names = _tree(src, 100 * 1024 * 1024 + 4321)
    _aws(cli, server, "s3", "mb", f"s3://{bucket}")
    _aws(cli, server, "s3", "sync", str(src), f"s3://{bucket}/tree")
    listing = _aws(cli, server, "s3", "ls", "--recursive", f"s3://{bucket}/tree/")
    listed = sorted(line.split(None, 3)[3] for line in listing.splitlines() if line.strip())
    assert listed == [f"tree/{n}" for n in names]
    top = _aws(cli, server, "s3", "ls", f"s3://{bucket}/tree/")
    assert "PRE docs/" in top and "a.txt" in top

    s3 = make_client(server, "s3")
    head = s3.head_object(Bucket=bucket, Key="tree/big/large.bin")
    assert head["ContentLength"] == 100 * 1024 * 1024 + 4321
    assert "-" in head["ETag"], "the large file went up in parts"

    back = tmp_path / "back"
    _aws(cli, server, "s3", "sync", f"s3://{bucket}/tree", str(back))
    _same_tree(src, back, names)

    one = tmp_path / "one.bin"
    _aws(cli, server, "s3", "cp", f"s3://{bucket}/tree/big/large.bin", str(one))
    assert filecmp.cmp(src / "big" / "large.bin", one, shallow=False)
    _aws(cli, server, "s3", "cp", str(src / "a.txt"), f"s3://{bucket}/copied/a.txt")
    assert s3.get_object(Bucket=bucket, Key="copied/a.txt")["Body"].read() == b"alpha\n"
    # A second sync has nothing to do.
    again = _aws(cli, server, "s3", "sync", str(src), f"s3://{bucket}/tree")
    assert "upload:" not in again, again
    _aws(cli, server, "s3", "rm", "--recursive", f"s3://{bucket}")
    _aws(cli, server, "s3", "rb", f"s3://{bucket}")
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_cli_s3api_errors_are_s3s(server):
    out = subprocess.run(
        [os.environ.get("AWS_CLI", "aws"), "--endpoint-url", server.endpoint, "s3api", "head-bucket", "--bucket", "compat-nope"],
        env=aws_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "404" in out.stderr, out.stderr
    out = subprocess.run(
        [os.environ.get("AWS_CLI", "aws"), "--endpoint-url", server.endpoint, "--output", "json", "s3api", "list-buckets"],
        env=aws_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Buckets" in json.loads(out.stdout)
