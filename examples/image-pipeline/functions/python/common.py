"""What the three functions share: clients, table names, and how an image id is derived."""

import os
import re
from decimal import Decimal

import boto3
from botocore.config import Config

# Path-style addressing: presigned URLs then work against any endpoint, an IP address included.
S3_CONFIG = Config(s3={"addressing_style": "path"}, signature_version="s3v4")

IMAGES_TABLE = os.environ.get("IMAGES_TABLE", "")
AUDIT_TABLE = os.environ.get("AUDIT_TABLE", "")
UPLOAD_BUCKET = os.environ.get("UPLOAD_BUCKET", "")
PROCESSED_BUCKET = os.environ.get("PROCESSED_BUCKET", "")
EVENT_BUS_NAME = os.environ.get("EVENT_BUS_NAME", "")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def image_id(key):
    """The id an upload is known by in the API: its key, with anything unsafe in a URL path
    segment replaced by '_' ('in/cat 1.png' -> 'in_cat_1.png')."""
    return _UNSAFE.sub("_", key)


def s3_client():
    return boto3.client("s3", config=S3_CONFIG)


def plain(value):
    """DynamoDB's Decimals back to ints and floats, for json.dumps."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
