"""Fixtures for the compatibility suite: a real `nimbus serve` process and clients pointed at it.

The binary comes from $NIMBUS_BIN (set by .ci/run); the suite never mocks Nimbus.
"""

import os
import shutil
import socket
import subprocess
import tempfile

import boto3
import pytest
from botocore.config import Config


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NimbusServer:
    def __init__(self, data_dir=None, extra=()):
        self.port = _free_port()
        self.data_dir = data_dir
        self.extra = list(extra)
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        binary = os.environ.get("NIMBUS_BIN", "target/release/nimbus")
        args = [binary, "serve", "--port", str(self.port), *self.extra]
        args += ["--data-dir", self.data_dir] if self.data_dir else ["--ephemeral"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("NIMBUS_")}
        env["NIMBUS_LOG"] = "warn"
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env, text=True)
        line = self.proc.stdout.readline().strip()
        assert line == "Ready.", f"nimbus printed {line!r} instead of Ready."
        return self

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture(scope="session")
def server():
    s = NimbusServer().start()
    yield s
    s.stop()


@pytest.fixture
def durable_server():
    d = tempfile.mkdtemp(prefix="nimbus-compat-")
    s = NimbusServer(data_dir=d).start()
    yield s
    s.stop()
    shutil.rmtree(d, ignore_errors=True)


def make_client(server, service, access_key="test", region="us-east-1"):
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def client(server):
    return lambda service, **kw: make_client(server, service, **kw)


def aws_env(access_key="test", region="us-east-1"):
    """A clean environment for an AWS CLI process: these credentials and region, no config."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region,
        "AWS_PAGER": "",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def run_aws(server, *args, access_key="test", region="us-east-1"):
    """Runs the AWS CLI against the server; returns the completed process."""
    env = aws_env(access_key, region)
    cmd = [os.environ.get("AWS_CLI", "aws"), "--endpoint-url", server.endpoint, "--output", "json", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def error_of(call):
    """The AWS error code and HTTP status a boto3 call fails with (it must fail)."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(server):
    return make_client(server, "s3")
