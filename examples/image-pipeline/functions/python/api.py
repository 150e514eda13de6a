"""The HTTP API (payload format 2.0): list and read image metadata, hand out renditions through
presigned GET URLs, and presigned PUT URLs for uploads."""

import base64
import json
import mimetypes
import uuid

import boto3
from botocore.exceptions import ClientError

from common import IMAGES_TABLE, PROCESSED_BUCKET, UPLOAD_BUCKET, image_id, plain, s3_client

s3 = s3_client()
table = boto3.resource("dynamodb").Table(IMAGES_TABLE)

DEFAULT_PAGE = 20
MAX_PAGE = 100
URL_SECONDS = 900
UPLOAD_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}


def respond(status, body, headers=None):
    h = {"content-type": "application/json"}
    h.update(headers or {})
    return {"statusCode": status, "headers": h, "body": json.dumps(plain(body))}


def handler(event, context):
    route = event.get("routeKey", "")
    params = event.get("pathParameters") or {}
    query = event.get("queryStringParameters") or {}
    if route == "GET /images":
        return list_images(query)
    if route == "GET /images/{id}":
        return get_image(params.get("id", ""))
    if route == "GET /images/{id}/{rendition}":
        return get_rendition(params.get("id", ""), params.get("rendition", ""))
    if route == "POST /uploads":
        return create_upload(event)
    return respond(404, {"message": "Not Found"})


def list_images(query):
    try:
        limit = int(query.get("limit", DEFAULT_PAGE))
    except ValueError:
        return respond(400, {"message": "limit must be a number"})
    if not 1 <= limit <= MAX_PAGE:
        return respond(400, {"message": f"limit must be between 1 and {MAX_PAGE}"})
    args = {"Limit": limit}
    if query.get("next"):
        try:
            args["ExclusiveStartKey"] = json.loads(base64.urlsafe_b64decode(query["next"]))
        except (ValueError, TypeError):
            return respond(400, {"message": "next is not a token this API returned"})
    page = table.scan(**args)
    token = None
    if "LastEvaluatedKey" in page:
        token = base64.urlsafe_b64encode(json.dumps(page["LastEvaluatedKey"]).encode()).decode()
    items = sorted(page.get("Items", []), key=lambda i: i["id"])
    return respond(200, {"items": items, "next": token})


def get_image(id_):
    item = table.get_item(Key={"id": id_}).get("Item")
    if item is None:
        return respond(404, {"message": f"no image {id_}"})
    return respond(200, item)


def get_rendition(id_, name):
    item = table.get_item(Key={"id": id_}).get("Item")
    if item is None:
        return respond(404, {"message": f"no image {id_}"})
    rendition = (item.get("renditions") or {}).get(name)
    if rendition is None:
        return respond(404, {"message": f"image {id_} has no rendition {name} (status {item.get('status')})"})
    url = s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": PROCESSED_BUCKET, "Key": rendition["key"]},
        ExpiresIn=URL_SECONDS,
    )
    return respond(302, {"url": url}, {"location": url})


def create_upload(event):
    raw = event.get("body") or "{}"
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8", "replace")
    try:
        body = json.loads(raw)
    except ValueError:
        return respond(400, {"message": "the body must be JSON"})
    if not isinstance(body, dict):
        return respond(400, {"message": "the body must be a JSON object"})
    filename = str(body.get("filename") or "")
    content_type = body.get("contentType") or mimetypes.guess_type(filename)[0] or ""
    if content_type not in UPLOAD_TYPES:
        return respond(400, {"message": f"contentType must be one of {sorted(UPLOAD_TYPES)}"})
    key = f"uploads/{uuid.uuid4().hex}{UPLOAD_TYPES[content_type]}"
    try:
        url = s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": UPLOAD_BUCKET, "Key": key, "ContentType": content_type},
            ExpiresIn=URL_SECONDS,
        )
    except ClientError as e:
        return respond(500, {"message": str(e)})
    return respond(
        201,
        {
            "id": image_id(key),
            "bucket": UPLOAD_BUCKET,
            "key": key,
            "uploadUrl": url,
            "method": "PUT",
            "headers": {"content-type": content_type},
            "expiresIn": URL_SECONDS,
        },
    )
