//! SAM policy templates (`DynamoDBCrudPolicy: {TableName: ..}` and friends) → IAM statements.
//! The common ones; any other name is refused by name.

use serde_json::{Value, json};

use crate::error::{Result, invalid};

/// A table and its indexes.
const DYNAMODB_TABLE: &[&str] = &[
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${p}",
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${p}/index/*",
];

/// A bucket and its objects.
const S3_BUCKET: &[&str] = &["arn:${AWS::Partition}:s3:::${p}", "arn:${AWS::Partition}:s3:::${p}/*"];

/// (template, parameter, ARN pattern with `${p}` for the parameter, actions)
const TEMPLATES: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "DynamoDBCrudPolicy",
        "TableName",
        DYNAMODB_TABLE,
        &[
            "dynamodb:GetItem",
            "dynamodb:DeleteItem",
            "dynamodb:PutItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
            "dynamodb:ConditionCheckItem",
        ],
    ),
    (
        "DynamoDBReadPolicy",
        "TableName",
        DYNAMODB_TABLE,
        &[
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
            "dynamodb:DescribeTable",
        ],
    ),
    (
        "DynamoDBWritePolicy",
        "TableName",
        DYNAMODB_TABLE,
        &["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"],
    ),
    (
        "S3ReadPolicy",
        "BucketName",
        S3_BUCKET,
        &[
            "s3:GetObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetObjectVersion",
            "s3:GetLifecycleConfiguration",
        ],
    ),
    (
        "S3WritePolicy",
        "BucketName",
        S3_BUCKET,
        &["s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration"],
    ),
    (
        "S3CrudPolicy",
        "BucketName",
        S3_BUCKET,
        &[
            "s3:GetObject",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetObjectVersion",
            "s3:PutObject",
            "s3:PutObjectAcl",
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:DeleteObject",
        ],
    ),
    (
        "SQSPollerPolicy",
        "QueueName",
        &["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${p}"],
        &[
            "sqs:ChangeMessageVisibility",
            "sqs:ChangeMessageVisibilityBatch",
            "sqs:DeleteMessage",
            "sqs:DeleteMessageBatch",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
        ],
    ),
    (
        "SQSSendMessagePolicy",
        "QueueName",
        &["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${p}"],
        &["sqs:SendMessage*"],
    ),
    (
        "SNSPublishMessagePolicy",
        "TopicName",
        &["arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${p}"],
        &["sns:Publish"],
    ),
    (
        "LambdaInvokePolicy",
        "FunctionName",
        &["arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${p}*"],
        &["lambda:InvokeFunction"],
    ),
    (
        "EventBridgePutEventsPolicy",
        "EventBusName",
        &["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${p}"],
        &["events:PutEvents"],
    ),
    (
        "SSMParameterReadPolicy",
        "ParameterName",
        &["arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${p}"],
        &["ssm:DescribeParameters", "ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"],
    ),
    ("AWSSecretsManagerGetSecretValuePolicy", "SecretArn", &["${p}"], &["secretsmanager:GetSecretValue"]),
    (
        "StepFunctionsExecutionPolicy",
        "StateMachineName",
        &["arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${p}"],
        &["states:StartExecution"],
    ),
    (
        "KinesisStreamReadPolicy",
        "StreamName",
        &["arn:${AWS::Partition}:kinesis:${AWS::Region}:${AWS::AccountId}:stream/${p}"],
        &[
            "kinesis:ListStreams",
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
        ],
    ),
];

/// The statements of a policy template with its argument map.
pub(crate) fn template(name: &str, args: &Value) -> Result<Value> {
    if name == "CloudWatchPutMetricPolicy" {
        return Ok(json!([{"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": "*"}]));
    }
    let Some((_, param, arns, actions)) = TEMPLATES.iter().find(|(n, ..)| *n == name) else {
        return Err(invalid(format!("Invalid policy template name {name}.")));
    };
    let value = args
        .get(param)
        .cloned()
        .ok_or_else(|| invalid(format!("Missing parameter(s) ['{param}'] for policy template {name}.")))?;
    let resources: Vec<Value> = arns
        .iter()
        .map(|arn| json!({"Fn::Sub": [arn.replace("${p}", "${__p__}"), {"__p__": value}]}))
        .collect();
    Ok(json!([{"Effect": "Allow", "Action": actions, "Resource": resources}]))
}
