"""The resize function: S3 upload notifications in (through SQS, in batches), renditions and a
metadata item out for each, then an ImageProcessed event on the pipeline's bus.

Bad input is a result, not an exception: a corrupt or non-image upload is recorded as `failed`
with Pillow's reason and an oversize one as `rejected`, and the message is done, so nothing
retries what can never succeed. Only unexpected errors (a service unavailable) report the
message as a batch item failure: SQS hands it out again, and after three receives it goes to
the dead-letter queue.
"""

import io
import json
import os
import urllib.parse
import warnings
from datetime import datetime, timezone

import boto3
from PIL import Image, ImageOps, UnidentifiedImageError

from common import EVENT_BUS_NAME, IMAGES_TABLE, PROCESSED_BUCKET, image_id, s3_client

MAX_IMAGE_BYTES = int(os.environ.get("MAX_IMAGE_BYTES", str(20 * 1024 * 1024)))
MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", "50000000"))

# Longest side of each rendition, in pixels. Smaller originals are not enlarged.
RENDITIONS = {"thumb": 128, "large": 1024}

# Input format -> (format written, extension, content type). GIFs become PNGs of their first
# frame: a resized animation is a different product.
OUTPUTS = {
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "PNG": ("PNG", "png", "image/png"),
    "WEBP": ("WEBP", "webp", "image/webp"),
    "GIF": ("PNG", "png", "image/png"),
}

# Anything over the limit is refused before decoding; Pillow only warns between 1x and 2x.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

s3 = s3_client()
table = boto3.resource("dynamodb").Table(IMAGES_TABLE)
events = boto3.client("events")


class Rejected(Exception):
    """The upload breaks a policy (size, pixel count); it is not an error of the pipeline."""


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def handler(event, context):
    failures = []
    for message in event.get("Records", []):
        try:
            for record in s3_records(message):
                bucket = record["s3"]["bucket"]["name"]
                key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
                size = int(record["s3"]["object"].get("size", 0))
                process(bucket, key, size, record.get("eventTime") or now())
        except Exception as e:  # noqa: BLE001 - any failure here is worth another try
            print(json.dumps({"message": message.get("messageId"), "error": f"{type(e).__name__}: {e}"}))
            failures.append({"itemIdentifier": message.get("messageId")})
    return {"batchItemFailures": failures}


def s3_records(message):
    """The S3 records of an SQS message (S3's own `s3:TestEvent` has none), or of a direct S3
    notification record, so the function also works as the bucket's direct target."""
    if "s3" in message:
        return [message]
    return json.loads(message.get("body") or "{}").get("Records", [])


def process(bucket, key, size, uploaded_at):
    item = {
        "id": image_id(key),
        "bucket": bucket,
        "key": key,
        "size": size,
        "uploadedAt": uploaded_at,
    }
    try:
        if size > MAX_IMAGE_BYTES:
            raise Rejected(f"{size} bytes is over the limit of {MAX_IMAGE_BYTES} bytes")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        item.update(resize(item["id"], body))
        item["status"] = "processed"
    except Rejected as e:
        item.update(status="rejected", reason=str(e))
    except Image.DecompressionBombError as e:
        item.update(status="rejected", reason=str(e))
    except Image.DecompressionBombWarning as e:
        item.update(status="rejected", reason=str(e))
    except UnidentifiedImageError:
        item.update(status="failed", reason="cannot identify image file: not a JPEG, PNG, WebP or GIF image")
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        # What Pillow raises for unidentifiable, truncated or malformed files.
        item.update(status="failed", reason=f"{type(e).__name__}: {e}")
    item["processedAt"] = now()
    table.put_item(Item=item)
    print(json.dumps({"image": item["id"], "status": item["status"], "reason": item.get("reason")}))
    if item["status"] == "processed":
        detail = {k: item[k] for k in ("id", "bucket", "key", "format", "width", "height", "renditions")}
        out = events.put_events(
            Entries=[
                {
                    "Source": "image-pipeline",
                    "DetailType": "ImageProcessed",
                    "Detail": json.dumps(detail),
                    "EventBusName": EVENT_BUS_NAME,
                }
            ]
        )
        if out.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents failed: {out['Entries']}")


def resize(id_, body):
    with Image.open(io.BytesIO(body)) as original:
        fmt = original.format
        if fmt not in OUTPUTS:
            raise ValueError(f"unsupported image format {fmt}")
        stored_w, stored_h = original.size
        orientation = original.getexif().get(0x0112, 1)
        # JPEGs decode at the smallest DCT scale still >= the largest rendition: much faster.
        if fmt == "JPEG":
            biggest = max(RENDITIONS.values())
            original.draft("RGB", (biggest, biggest))
        original.load()
        upright = ImageOps.exif_transpose(original)
    # Dimensions as the image is meant to be seen (a portrait photo stored sideways is portrait).
    width, height = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    out_format, ext, content_type = OUTPUTS[fmt]
    renditions = {}
    for name, longest in RENDITIONS.items():
        copy = upright.copy()
        copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
        if out_format == "JPEG" and copy.mode not in ("RGB", "L"):
            copy = copy.convert("RGB")
        if out_format == "PNG" and copy.mode == "P":
            copy = copy.convert("RGBA")
        buf = io.BytesIO()
        copy.save(buf, out_format, **({"quality": 85} if out_format == "JPEG" else {}))
        data = buf.getvalue()
        rendition_key = f"{id_}/{name}.{ext}"
        s3.put_object(Bucket=PROCESSED_BUCKET, Key=rendition_key, Body=data, ContentType=content_type)
        renditions[name] = {
            "key": rendition_key,
            "width": copy.width,
            "height": copy.height,
            "size": len(data),
            "contentType": content_type,
        }
    return {
        "format": fmt,
        "width": width,
        "height": height,
        "orientation": orientation,
        "renditions": renditions,
    }
