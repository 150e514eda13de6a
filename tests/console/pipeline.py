"""Uploads the image pipeline's samples (examples/image-pipeline, deployed as stack `images`) and
waits until the audit function has seen each processed image, so the console has the whole
flow to show: bucket -> queue -> resize -> table, bucket and bus -> rule -> audit.
Usage: pipeline.py ENDPOINT SAMPLES_DIR"""

import os
import sys
import time

import boto3

ENDPOINT, SAMPLES = sys.argv[1], sys.argv[2]
BUCKET = "images-uploads-000000000000"
# The three real pictures; the fake .jpg is recorded as failed and announces nothing.
IMAGES = ("sunset.jpg", "sideways.jpg", "sunset.webp")


def client(name):
    return boto3.client(name, endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def main():
    s3, cfn, ddb = client("s3"), client("cloudformation"), client("dynamodb")
    for name in IMAGES:
        with open(os.path.join(SAMPLES, name), "rb") as f:
            s3.put_object(Bucket=BUCKET, Key=name, Body=f.read())
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="images")["Stacks"][0]["Outputs"]}
    deadline = time.time() + 180
    while time.time() < deadline:
        audited = ddb.scan(TableName=outputs["AuditTable"], Select="COUNT")["Count"]
        if audited >= len(IMAGES):
            print("pipeline processed", audited, "images")
            return
        time.sleep(0.5)
    sys.exit(f"the pipeline audited {audited} of {len(IMAGES)} uploads")


if __name__ == "__main__":
    main()
