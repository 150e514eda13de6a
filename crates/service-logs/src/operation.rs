//! CloudWatch Logs requests parsed into a closed [`Operation`]: the target resolved, the body
//! decoded, every member checked against the model's constraints (reported together, in AWS's
//! `N validation errors detected` form) and the service's own rules, before anything touches
//! the store. Parsing does no IO.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::filter::Pattern;

/// The operations Nimbus serves.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    CreateLogGroup {
        group: String,
        tags: BTreeMap<String, String>,
        kms_key_id: Option<String>,
        class: String,
    },
    DeleteLogGroup {
        group: String,
    },
    DescribeLogGroups(DescribeLogGroups),
    CreateLogStream {
        group: String,
        stream: String,
    },
    DeleteLogStream {
        group: String,
        stream: String,
    },
    DescribeLogStreams(DescribeLogStreams),
    PutLogEvents {
        group: String,
        stream: String,
        events: Vec<(i64, String)>,
    },
    GetLogEvents(GetLogEvents),
    FilterLogEvents(Box<FilterLogEvents>),
    PutRetentionPolicy {
        group: String,
        days: u32,
    },
    DeleteRetentionPolicy {
        group: String,
    },
    TagLogGroup {
        group: String,
        tags: BTreeMap<String, String>,
    },
    UntagLogGroup {
        group: String,
        keys: Vec<String>,
    },
    ListTagsLogGroup {
        group: String,
    },
    TagResource {
        arn: GroupArn,
        tags: BTreeMap<String, String>,
    },
    UntagResource {
        arn: GroupArn,
        keys: Vec<String>,
    },
    ListTagsForResource {
        arn: GroupArn,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeLogGroups {
    pub prefix: Option<String>,
    /// A case-sensitive substring; when set, only name, ARN and creation time are answered.
    pub pattern: Option<String>,
    pub limit: usize,
    pub next_token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderBy {
    LogStreamName,
    LastEventTime,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescribeLogStreams {
    pub group: GroupRef,
    pub prefix: Option<String>,
    pub order_by: OrderBy,
    pub descending: bool,
    pub limit: usize,
    pub next_token: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetLogEvents {
    pub group: GroupRef,
    pub stream: String,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub next_token: Option<String>,
    pub limit: Option<usize>,
    pub start_from_head: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FilterLogEvents {
    pub group: GroupRef,
    pub streams: StreamSelection,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub pattern: Pattern,
    pub next_token: Option<String>,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamSelection {
    All,
    Names(Vec<String>),
    Prefix(String),
}

/// A log group named by `logGroupName`, or by `logGroupIdentifier` (a name or an ARN).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRef {
    pub name: String,
    /// The account and region an ARN named; the group is only found in the caller's own.
    pub arn_scope: Option<(String, String)>,
}

/// `arn:aws:logs:{region}:{account}:log-group:{name}`, the form the tagging API takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupArn {
    pub arn: String,
    pub region: String,
    pub account: String,
    pub name: String,
}

impl GroupArn {
    /// Parses a log group ARN; `trailing_star` accepts the `:*` form DescribeLogGroups' `arn`
    /// member has (logGroupIdentifier takes both, the tagging API only the bare one).
    fn parse(s: &str, trailing_star: bool) -> Option<GroupArn> {
        let arn: types::Arn = s.parse().ok()?;
        let mut name = arn.resource.strip_prefix("log-group:")?;
        if trailing_star && let Some(bare) = name.strip_suffix(":*") {
            name = bare;
        }
        if arn.service != "logs" || arn.partition.is_empty() || !is_group_name(name) {
            return None;
        }
        Some(GroupArn { arn: s.to_owned(), region: arn.region, account: arn.account, name: name.to_owned() })
    }
}

/// The retention periods PutRetentionPolicy accepts.
pub const RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/// Every operation of the CloudWatch Logs model, so that a real operation Nimbus lacks answers
/// `NotImplemented` while a misspelt one answers `UnknownOperationException`.
const MODEL_OPERATIONS: &[&str] = &[
    "AssociateKmsKey",
    "AssociateSourceToS3TableIntegration",
    "CancelExportTask",
    "CancelImportTask",
    "CreateDelivery",
    "CreateExportTask",
    "CreateImportTask",
    "CreateLogAnomalyDetector",
    "CreateLogGroup",
    "CreateLogStream",
    "CreateLookupTable",
    "CreateScheduledQuery",
    "DeleteAccountPolicy",
    "DeleteDataProtectionPolicy",
    "DeleteDelivery",
    "DeleteDeliveryDestination",
    "DeleteDeliveryDestinationPolicy",
    "DeleteDeliverySource",
    "DeleteDestination",
    "DeleteIndexPolicy",
    "DeleteIntegration",
    "DeleteLogAnomalyDetector",
    "DeleteLogGroup",
    "DeleteLogStream",
    "DeleteLookupTable",
    "DeleteMetricFilter",
    "DeleteQueryDefinition",
    "DeleteResourcePolicy",
    "DeleteRetentionPolicy",
    "DeleteScheduledQuery",
    "DeleteSubscriptionFilter",
    "DeleteTransformer",
    "DescribeAccountPolicies",
    "DescribeConfigurationTemplates",
    "DescribeDeliveries",
    "DescribeDeliveryDestinations",
    "DescribeDeliverySources",
    "DescribeDestinations",
    "DescribeExportTasks",
    "DescribeFieldIndexes",
    "DescribeImportTaskBatches",
    "DescribeImportTasks",
    "DescribeIndexPolicies",
    "DescribeLogGroups",
    "DescribeLogStreams",
    "DescribeLookupTables",
    "DescribeMetricFilters",
    "DescribeQueries",
    "DescribeQueryDefinitions",
    "DescribeResourcePolicies",
    "DescribeSubscriptionFilters",
    "DisassociateKmsKey",
    "DisassociateSourceFromS3TableIntegration",
    "FilterLogEvents",
    "GetDataProtectionPolicy",
    "GetDelivery",
    "GetDeliveryDestination",
    "GetDeliveryDestinationPolicy",
    "GetDeliverySource",
    "GetIntegration",
    "GetLogAnomalyDetector",
    "GetLogEvents",
    "GetLogFields",
    "GetLogGroupFields",
    "GetLogObject",
    "GetLogRecord",
    "GetLookupTable",
    "GetQueryResults",
    "GetScheduledQuery",
    "GetScheduledQueryHistory",
    "GetTransformer",
    "ListAggregateLogGroupSummaries",
    "ListAnomalies",
    "ListIntegrations",
    "ListLogAnomalyDetectors",
    "ListLogGroups",
    "ListLogGroupsForQuery",
    "ListScheduledQueries",
    "ListSourcesForS3TableIntegration",
    "ListTagsForResource",
    "ListTagsLogGroup",
    "PutAccountPolicy",
    "PutBearerTokenAuthentication",
    "PutDataProtectionPolicy",
    "PutDeliveryDestination",
    "PutDeliveryDestinationPolicy",
    "PutDeliverySource",
    "PutDestination",
    "PutDestinationPolicy",
    "PutIndexPolicy",
    "PutIntegration",
    "PutLogEvents",
    "PutLogGroupDeletionProtection",
    "PutMetricFilter",
    "PutQueryDefinition",
    "PutResourcePolicy",
    "PutRetentionPolicy",
    "PutSubscriptionFilter",
    "PutTransformer",
    "StartLiveTail",
    "StartQuery",
    "StopQuery",
    "TagLogGroup",
    "TagResource",
    "TestMetricFilter",
    "TestTransformer",
    "UntagLogGroup",
    "UntagResource",
    "UpdateAnomaly",
    "UpdateDeliveryConfiguration",
    "UpdateLogAnomalyDetector",
    "UpdateLookupTable",
    "UpdateScheduledQuery",
];

const GROUP_PATTERN: &str = r"[\.\-_/#A-Za-z0-9]+";
const STREAM_PATTERN: &str = "[^:*]*";
const MAX_BATCH_BYTES: usize = 1_048_576;
/// What PutLogEvents counts per event on top of its message, as AWS documents.
pub const EVENT_OVERHEAD: usize = 26;

pub fn is_group_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'#'))
}

/// Collects model violations in member order; AWS reports them together in one message.
#[derive(Default)]
struct Violations {
    items: Vec<(String, String, String)>,
}

impl Violations {
    fn push(&mut self, member: &str, value: impl Into<String>, constraint: impl Into<String>) {
        self.items.push((member.to_owned(), value.into(), constraint.into()));
    }

    fn length(&mut self, member: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(value) = value else { return };
        let n = value.chars().count();
        if n < min {
            self.push(member, value, format!("Member must have length greater than or equal to {min}"));
        }
        if n > max {
            self.push(member, value, format!("Member must have length less than or equal to {max}"));
        }
    }

    fn group_name(&mut self, member: &str, value: Option<&str>) {
        if let Some(v) = value
            && !is_group_name(v)
        {
            self.push(member, v, format!("Member must satisfy regular expression pattern: {GROUP_PATTERN}"));
        }
        self.length(member, value, 1, 512);
    }

    fn stream_name(&mut self, member: &str, value: Option<&str>) {
        if let Some(v) = value
            && v.contains([':', '*'])
        {
            self.push(member, v, format!("Member must satisfy regular expression pattern: {STREAM_PATTERN}"));
        }
        self.length(member, value, 1, 512);
    }

    fn range(&mut self, member: &str, value: Option<i64>, min: i64, max: i64) {
        let Some(v) = value else { return };
        if v < min {
            self.push(
                member,
                v.to_string(),
                format!("Member must have value greater than or equal to {min}"),
            );
        }
        if v > max {
            self.push(member, v.to_string(), format!("Member must have value less than or equal to {max}"));
        }
    }

    fn tags(&mut self, member: &str, tags: Option<&BTreeMap<String, String>>, min: usize) {
        let Some(tags) = tags else { return };
        if tags.len() < min || tags.len() > 50 {
            let bound = if tags.len() < min {
                format!("greater than or equal to {min}")
            } else {
                "less than or equal to 50".to_owned()
            };
            self.push(member, format!("{tags:?}"), format!("Map value must have length {bound}"));
        }
        for (k, v) in tags {
            if k.is_empty() || k.chars().count() > 128 || !k.chars().all(is_tag_char) {
                self.push(
                    &format!("{member}.{k}.member.key"),
                    k.as_str(),
                    r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$",
                );
            }
            if v.chars().count() > 256 || !v.chars().all(is_tag_char) {
                self.push(
                    &format!("{member}.{k}.member.value"),
                    v.as_str(),
                    r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
                );
            }
        }
    }

    fn finish(self) -> Result<(), Error> {
        if self.items.is_empty() {
            return Ok(());
        }
        Err(Error::InvalidParameterException(protocol::validation_message(
            self.items.iter().map(|(m, v, c)| (m.as_str(), v.as_str(), c.as_str())),
        )))
    }
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

fn invalid(message: &str) -> Error {
    Error::InvalidParameterException(message.to_owned())
}

fn decode<T: DeserializeOwned>(body: &[u8], required: &[&str]) -> Result<T, Error> {
    Ok(protocol::json::decode(body, required)?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    log_group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateGroupInput {
    log_group_name: String,
    kms_key_id: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    log_group_class: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamInput {
    log_group_name: String,
    log_stream_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeGroupsInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeStreamsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
struct InputEvent {
    timestamp: Option<i64>,
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutEventsInput {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetentionInput {
    log_group_name: String,
    retention_in_days: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagGroupInput {
    log_group_name: String,
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UntagGroupInput {
    log_group_name: String,
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceInput {
    resource_arn: String,
    tags: Option<BTreeMap<String, String>>,
    tag_keys: Option<Vec<String>>,
}

impl Operation {
    /// Parses the request named `op` (the part of `X-Amz-Target` after `Logs_20140328.`).
    pub fn parse(op: &str, body: &[u8]) -> Result<Operation, Error> {
        match op {
            "CreateLogGroup" => {
                let i: CreateGroupInput = decode(body, &["logGroupName"])?;
                let mut v = Violations::default();
                v.group_name("logGroupName", Some(&i.log_group_name));
                v.length("kmsKeyId", i.kms_key_id.as_deref(), 0, 256);
                v.tags("tags", i.tags.as_ref(), 1);
                let class = i.log_group_class.unwrap_or_else(|| "STANDARD".to_owned());
                if !matches!(class.as_str(), "STANDARD" | "INFREQUENT_ACCESS" | "DELIVERY") {
                    v.push(
                        "logGroupClass",
                        class.as_str(),
                        "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]",
                    );
                }
                v.finish()?;
                Ok(Operation::CreateLogGroup {
                    group: i.log_group_name,
                    tags: i.tags.unwrap_or_default(),
                    kms_key_id: i.kms_key_id,
                    class,
                })
            }
            "DeleteLogGroup" => Ok(Operation::DeleteLogGroup { group: group_only(body)? }),
            "DeleteRetentionPolicy" => Ok(Operation::DeleteRetentionPolicy { group: group_only(body)? }),
            "ListTagsLogGroup" => Ok(Operation::ListTagsLogGroup { group: group_only(body)? }),
            "DescribeLogGroups" => parse_describe_groups(body),
            "CreateLogStream" => {
                let (group, stream) = group_and_stream(body)?;
                Ok(Operation::CreateLogStream { group, stream })
            }
            "DeleteLogStream" => {
                let (group, stream) = group_and_stream(body)?;
                Ok(Operation::DeleteLogStream { group, stream })
            }
            "DescribeLogStreams" => parse_describe_streams(body),
            "PutLogEvents" => parse_put_events(body),
            "GetLogEvents" => parse_get_events(body),
            "FilterLogEvents" => parse_filter_events(body),
            "PutRetentionPolicy" => {
                let i: RetentionInput = decode(body, &["logGroupName", "retentionInDays"])?;
                let mut v = Violations::default();
                v.group_name("logGroupName", Some(&i.log_group_name));
                let days = u32::try_from(i.retention_in_days).ok().filter(|d| RETENTION_DAYS.contains(d));
                if days.is_none() {
                    let set: Vec<String> = RETENTION_DAYS.iter().map(u32::to_string).collect();
                    v.push(
                        "retentionInDays",
                        i.retention_in_days.to_string(),
                        format!("Member must satisfy enum value set: [{}]", set.join(", ")),
                    );
                }
                v.finish()?;
                Ok(Operation::PutRetentionPolicy { group: i.log_group_name, days: days.unwrap_or_default() })
            }
            "TagLogGroup" => {
                let i: TagGroupInput = decode(body, &["logGroupName", "tags"])?;
                let mut v = Violations::default();
                v.group_name("logGroupName", Some(&i.log_group_name));
                v.tags("tags", Some(&i.tags), 1);
                v.finish()?;
                Ok(Operation::TagLogGroup { group: i.log_group_name, tags: i.tags })
            }
            "UntagLogGroup" => {
                let i: UntagGroupInput = decode(body, &["logGroupName", "tags"])?;
                let mut v = Violations::default();
                v.group_name("logGroupName", Some(&i.log_group_name));
                if i.tags.is_empty() {
                    v.push("tags", "[]", "Member must have length greater than or equal to 1");
                }
                v.finish()?;
                Ok(Operation::UntagLogGroup { group: i.log_group_name, keys: i.tags })
            }
            "TagResource" => {
                let i: ResourceInput = decode(body, &["resourceArn", "tags"])?;
                let mut v = Violations::default();
                v.tags("tags", i.tags.as_ref(), 1);
                v.finish()?;
                Ok(Operation::TagResource {
                    arn: resource_arn(&i.resource_arn)?,
                    tags: i.tags.unwrap_or_default(),
                })
            }
            "UntagResource" => {
                let i: ResourceInput = decode(body, &["resourceArn", "tagKeys"])?;
                let keys = i.tag_keys.unwrap_or_default();
                let mut v = Violations::default();
                if keys.len() > 50 {
                    v.push(
                        "tagKeys",
                        format!("{keys:?}"),
                        "Member must have length less than or equal to 50",
                    );
                }
                v.finish()?;
                Ok(Operation::UntagResource { arn: resource_arn(&i.resource_arn)?, keys })
            }
            "ListTagsForResource" => {
                let i: ResourceInput = decode(body, &["resourceArn"])?;
                Ok(Operation::ListTagsForResource { arn: resource_arn(&i.resource_arn)? })
            }
            other if MODEL_OPERATIONS.contains(&other) => Err(Error::NotImplemented(other.to_owned())),
            other => Err(Error::UnknownOperationException(other.to_owned())),
        }
    }
}

fn group_only(body: &[u8]) -> Result<String, Error> {
    let i: GroupInput = decode(body, &["logGroupName"])?;
    let mut v = Violations::default();
    v.group_name("logGroupName", Some(&i.log_group_name));
    v.finish()?;
    Ok(i.log_group_name)
}

fn group_and_stream(body: &[u8]) -> Result<(String, String), Error> {
    let i: StreamInput = decode(body, &["logGroupName", "logStreamName"])?;
    let mut v = Violations::default();
    v.group_name("logGroupName", Some(&i.log_group_name));
    v.stream_name("logStreamName", Some(&i.log_stream_name));
    v.finish()?;
    Ok((i.log_group_name, i.log_stream_name))
}

fn resource_arn(arn: &str) -> Result<GroupArn, Error> {
    GroupArn::parse(arn, false).ok_or_else(|| Error::InvalidParameterException(format!("Invalid ARN: {arn}")))
}

/// Resolves `logGroupName` / `logGroupIdentifier`: exactly one of them must be given.
fn group_ref(
    v: &mut Violations,
    name: Option<String>,
    identifier: Option<String>,
) -> Result<GroupRef, Error> {
    v.group_name("logGroupName", name.as_deref());
    v.length("logGroupIdentifier", identifier.as_deref(), 1, 2048);
    match (name, identifier) {
        (Some(_), Some(_)) => {
            Err(invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters."))
        }
        (None, None) => Err(invalid("Should provide either logGroupName or logGroupIdentifier.")),
        (Some(name), None) => Ok(GroupRef { name, arn_scope: None }),
        (None, Some(id)) if id.starts_with("arn:") => match GroupArn::parse(&id, true) {
            Some(arn) => Ok(GroupRef { name: arn.name, arn_scope: Some((arn.account, arn.region)) }),
            None => Err(Error::InvalidParameterException(format!("Invalid ARN: {id}"))),
        },
        (None, Some(id)) => {
            v.group_name("logGroupIdentifier", Some(&id));
            Ok(GroupRef { name: id, arn_scope: None })
        }
    }
}

fn parse_describe_groups(body: &[u8]) -> Result<Operation, Error> {
    let i: DescribeGroupsInput = decode(body, &[])?;
    let mut v = Violations::default();
    v.group_name("logGroupNamePrefix", i.log_group_name_prefix.as_deref());
    if let Some(p) = &i.log_group_name_pattern
        && !p.is_empty()
        && !is_group_name(p)
    {
        v.push(
            "logGroupNamePattern",
            p.as_str(),
            r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*",
        );
    }
    v.length("logGroupNamePattern", i.log_group_name_pattern.as_deref(), 0, 512);
    v.length("nextToken", i.next_token.as_deref(), 1, usize::MAX);
    v.range("limit", i.limit, 1, 50);
    v.finish()?;
    if i.log_group_name_prefix.is_some() && i.log_group_name_pattern.is_some() {
        return Err(invalid("LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters."));
    }
    Ok(Operation::DescribeLogGroups(DescribeLogGroups {
        prefix: i.log_group_name_prefix,
        pattern: i.log_group_name_pattern,
        limit: limit_or(i.limit, 50),
        next_token: i.next_token,
    }))
}

fn limit_or(limit: Option<i64>, default: usize) -> usize {
    limit.and_then(|l| usize::try_from(l).ok()).unwrap_or(default)
}

fn parse_describe_streams(body: &[u8]) -> Result<Operation, Error> {
    let i: DescribeStreamsInput = decode(body, &[])?;
    let mut v = Violations::default();
    let group = group_ref(&mut v, i.log_group_name, i.log_group_identifier);
    v.stream_name("logStreamNamePrefix", i.log_stream_name_prefix.as_deref());
    let order_by = match i.order_by.as_deref() {
        None | Some("LogStreamName") => OrderBy::LogStreamName,
        Some("LastEventTime") => OrderBy::LastEventTime,
        Some(other) => {
            v.push("orderBy", other, "Member must satisfy enum value set: [LogStreamName, LastEventTime]");
            OrderBy::LogStreamName
        }
    };
    v.length("nextToken", i.next_token.as_deref(), 1, usize::MAX);
    v.range("limit", i.limit, 1, 50);
    v.finish()?;
    let group = group?;
    if order_by == OrderBy::LastEventTime && i.log_stream_name_prefix.is_some() {
        return Err(invalid("Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    Ok(Operation::DescribeLogStreams(DescribeLogStreams {
        group,
        prefix: i.log_stream_name_prefix,
        order_by,
        descending: i.descending.unwrap_or(false),
        limit: limit_or(i.limit, 50),
        next_token: i.next_token,
    }))
}

fn parse_put_events(body: &[u8]) -> Result<Operation, Error> {
    let i: PutEventsInput = decode(body, &["logGroupName", "logStreamName", "logEvents"])?;
    let mut v = Violations::default();
    v.group_name("logGroupName", Some(&i.log_group_name));
    v.stream_name("logStreamName", Some(&i.log_stream_name));
    let n = i.log_events.len();
    if n == 0 {
        v.push("logEvents", "[]", "Member must have length greater than or equal to 1");
    }
    if n > 10_000 {
        v.push("logEvents", format!("[{n} events]"), "Member must have length less than or equal to 10000");
    }
    let mut events = Vec::with_capacity(n);
    for (index, e) in i.log_events.into_iter().enumerate() {
        let member = |m: &str| format!("logEvents.{}.member.{m}", index + 1);
        match e.timestamp {
            None => v.push(&member("timestamp"), "null", "Member must not be null"),
            Some(t) if t < 0 => {
                v.push(
                    &member("timestamp"),
                    t.to_string(),
                    "Member must have value greater than or equal to 0",
                );
            }
            Some(_) => {}
        }
        match &e.message {
            None => v.push(&member("message"), "null", "Member must not be null"),
            Some(m) if m.is_empty() => {
                v.push(&member("message"), "", "Member must have length greater than or equal to 1");
            }
            Some(_) => {}
        }
        if let (Some(t), Some(m)) = (e.timestamp, e.message) {
            events.push((t, m));
        }
    }
    v.finish()?;
    let bytes: usize = events.iter().map(|(_, m)| m.len() + EVENT_OVERHEAD).sum();
    if bytes > MAX_BATCH_BYTES {
        return Err(Error::InvalidParameterException(format!(
            "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
        )));
    }
    if events.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(invalid("Log events in a single PutLogEvents request must be in chronological order."));
    }
    Ok(Operation::PutLogEvents { group: i.log_group_name, stream: i.log_stream_name, events })
}

fn parse_get_events(body: &[u8]) -> Result<Operation, Error> {
    let i: GetEventsInput = decode(body, &["logStreamName"])?;
    let mut v = Violations::default();
    let group = group_ref(&mut v, i.log_group_name, i.log_group_identifier);
    v.stream_name("logStreamName", Some(&i.log_stream_name));
    v.range("startTime", i.start_time, 0, i64::MAX);
    v.range("endTime", i.end_time, 0, i64::MAX);
    v.length("nextToken", i.next_token.as_deref(), 1, usize::MAX);
    v.range("limit", i.limit, 1, 10_000);
    v.finish()?;
    Ok(Operation::GetLogEvents(GetLogEvents {
        group: group?,
        stream: i.log_stream_name,
        start_time: i.start_time,
        end_time: i.end_time,
        next_token: i.next_token,
        limit: i.limit.and_then(|l| usize::try_from(l).ok()),
        start_from_head: i.start_from_head.unwrap_or(false),
    }))
}

fn parse_filter_events(body: &[u8]) -> Result<Operation, Error> {
    let i: FilterEventsInput = decode(body, &[])?;
    let mut v = Violations::default();
    let group = group_ref(&mut v, i.log_group_name, i.log_group_identifier);
    if let Some(names) = &i.log_stream_names {
        if names.is_empty() {
            v.push("logStreamNames", "[]", "Member must have length greater than or equal to 1");
        }
        if names.len() > 100 {
            v.push(
                "logStreamNames",
                format!("{names:?}"),
                "Member must have length less than or equal to 100",
            );
        }
    }
    v.stream_name("logStreamNamePrefix", i.log_stream_name_prefix.as_deref());
    v.range("startTime", i.start_time, 0, i64::MAX);
    v.range("endTime", i.end_time, 0, i64::MAX);
    v.length("filterPattern", i.filter_pattern.as_deref(), 0, 1024);
    v.length("nextToken", i.next_token.as_deref(), 1, usize::MAX);
    v.range("limit", i.limit, 1, 10_000);
    v.finish()?;
    let group = group?;
    let streams = match (i.log_stream_names, i.log_stream_name_prefix) {
        (Some(_), Some(_)) => {
            return Err(invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters."));
        }
        (Some(names), None) => StreamSelection::Names(names),
        (None, Some(prefix)) => StreamSelection::Prefix(prefix),
        (None, None) => StreamSelection::All,
    };
    let pattern = Pattern::parse(i.filter_pattern.as_deref().unwrap_or(""))?;
    Ok(Operation::FilterLogEvents(Box::new(FilterLogEvents {
        group,
        streams,
        start_time: i.start_time,
        end_time: i.end_time,
        pattern,
        next_token: i.next_token,
        limit: limit_or(i.limit, 10_000),
    })))
}

#[cfg(test)]
mod tests;
