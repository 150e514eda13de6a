"""Deploys a small event-driven application on a running Nimbus and drives traffic through it,
so the console has something to draw: bucket -> function, queue -> function, rule -> function,
HTTP API route -> function, topic -> function, schedule -> queue. Usage: seed.py ENDPOINT"""

import io
import json
import sys
import time
import zipfile

import boto3

ENDPOINT = sys.argv[1]
ACCOUNT, REGION = "000000000000", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/console-test"
HANDLER = """
import json

def handler(event, context):
    print("handled", context.function_name, json.dumps(event)[:60])
    return {"statusCode": 200, "body": "ok"}
"""


def client(name):
    return boto3.client(name, endpoint_url=ENDPOINT, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test")


def package():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", HANDLER)
    return buf.getvalue()


def main():
    lam, s3, sqs, events, sns = (client(n) for n in ("lambda", "s3", "sqs", "events", "sns"))
    arns = {}
    for name in ("resize-image", "process-job", "on-image-processed", "api-handler", "notify"):
        f = lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": package()})
        arns[name] = f["FunctionArn"]
    s3.create_bucket(Bucket="uploads")
    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arns["resize-image"], "Events": ["s3:ObjectCreated:*"]}]})
    queue = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    lam.create_event_source_mapping(FunctionName="process-job", EventSourceArn=f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs",
                                    BatchSize=1)
    events.put_rule(Name="image-processed", EventPattern=json.dumps({"source": ["images"]}))
    events.put_targets(Rule="image-processed", Targets=[{"Id": "fn", "Arn": arns["on-image-processed"]}])
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arns["notify"])
    client("apigatewayv2").create_api(Name="images-api", ProtocolType="HTTP", Target=arns["api-handler"])
    client("scheduler").create_schedule(
        Name="nightly-cleanup", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs", "RoleArn": ROLE})

    s3.put_object(Bucket="uploads", Key="cat.jpg", Body=b"image")
    sqs.send_message(QueueUrl=queue, MessageBody="job-1")
    events.put_events(Entries=[{"Source": "images", "DetailType": "ImageProcessed", "Detail": "{}"}])
    sns.publish(TopicArn=topic, Message="hello")
    wait_for_reports({"resize-image": 1, "process-job": 1, "on-image-processed": 1, "notify": 1})
    # Once the upload's invocation is over, these reuse its environment: warm.
    for _ in range(2):
        lam.invoke(FunctionName="resize-image", Payload=b"{}")
    print("seeded", json.dumps(wait_for_reports({"resize-image": 3})))


def wait_for_reports(want):
    logs = client("logs")
    deadline = time.time() + 60
    while time.time() < deadline:
        got = {}
        for name in want:
            try:
                ev = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="REPORT")["events"]
            except logs.exceptions.ResourceNotFoundException:
                ev = []
            got[name] = len(ev)
        if all(got[n] >= want[n] for n in want):
            return got
        time.sleep(0.3)
    sys.exit(f"traffic never reached the logs: {got}")


if __name__ == "__main__":
    main()
