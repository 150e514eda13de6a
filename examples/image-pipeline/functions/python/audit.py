"""The audit function: the EventBridge rule's InputTransformer hands it a small summary of each
ImageProcessed event, which it records in the audit table."""

import json
from datetime import datetime, timezone

import boto3

from common import AUDIT_TABLE

table = boto3.resource("dynamodb").Table(AUDIT_TABLE)


def handler(event, context):
    # event is the rule's InputTemplate, rendered:
    # {"image": ..., "format": ..., "size": "WxH", "processedAt": ...}
    entry = dict(event)
    entry["id"] = event["image"]
    entry["auditedAt"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    entry["requestId"] = context.aws_request_id
    table.put_item(Item=entry)
    print("AUDIT", json.dumps(event, sort_keys=True))
