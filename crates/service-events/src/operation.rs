//! Parsing an awsJson 1.1 request (`X-Amz-Target: AWSEvents.X`) into an EventBridge
//! [`Operation`]. Model constraints (lengths, name alphabets, ranges, enums) are checked here
//! with AWS's validation messages; everything that needs state happens in the handlers.

use std::collections::BTreeMap;

use protocol::Request;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::archives::{ArchiveInput, ReplayInput};
use crate::error::Error;
use crate::model::{AuthParameters, ConnectionHttpParameters, DEFAULT_BUS, Target};

/// One EventBridge request, parsed.
#[derive(Debug)]
pub enum Operation {
    CreateEventBus {
        name: String,
        description: Option<String>,
        tags: Vec<Tag>,
    },
    DescribeEventBus(String),
    ListEventBuses {
        prefix: Option<String>,
        page: Page,
    },
    DeleteEventBus(String),
    PutRule(Box<PutRuleInput>),
    DescribeRule(RuleRef),
    ListRules {
        bus: String,
        prefix: Option<String>,
        page: Page,
    },
    /// EnableRule (`true`) and DisableRule (`false`).
    SetRuleState(RuleRef, bool),
    DeleteRule(RuleRef),
    PutTargets(RuleRef, Vec<Target>),
    RemoveTargets(RuleRef, Vec<String>),
    ListTargetsByRule(RuleRef, Page),
    ListRuleNamesByTarget {
        bus: String,
        target_arn: String,
        page: Page,
    },
    PutEvents(Vec<EventEntry>),
    CreateArchive(ArchiveInput),
    UpdateArchive(ArchiveInput),
    DescribeArchive(String),
    ListArchives(ListFilter, Page),
    DeleteArchive(String),
    StartReplay(Box<ReplayInput>),
    DescribeReplay(String),
    ListReplays(ListFilter, Page),
    CancelReplay(String),
    TestEventPattern {
        pattern: String,
        event: String,
    },
    TagResource(String, Vec<Tag>),
    UntagResource(String, Vec<String>),
    ListTagsForResource(String),
    PutPermission(String, crate::buses::Permission),
    RemovePermission {
        bus: String,
        statement_id: Option<String>,
        all: bool,
    },
    CreateConnection(Box<ConnectionInput>),
    UpdateConnection(Box<ConnectionInput>),
    DescribeConnection(String),
    ListConnections {
        prefix: Option<String>,
        state: Option<String>,
        page: Page,
    },
    DeleteConnection(String),
    DeauthorizeConnection(String),
    CreateApiDestination(DestinationInput),
    UpdateApiDestination(DestinationInput),
    DescribeApiDestination(String),
    ListApiDestinations {
        prefix: Option<String>,
        connection_arn: Option<String>,
        page: Page,
    },
    DeleteApiDestination(String),
    /// An operation of the EventBridge model that Nimbus does not serve yet.
    NotImplemented(&'static str),
}

/// CreateConnection's and UpdateConnection's input (Update leaves out what it does not change).
#[derive(Debug, Default)]
pub struct ConnectionInput {
    pub name: String,
    pub description: Option<String>,
    pub authorization_type: Option<String>,
    pub auth: Option<AuthParameters>,
}

/// CreateApiDestination's and UpdateApiDestination's input.
#[derive(Debug, Default)]
pub struct DestinationInput {
    pub name: String,
    pub description: Option<String>,
    pub connection_arn: Option<String>,
    pub endpoint: Option<String>,
    pub http_method: Option<String>,
    pub rate: Option<i64>,
}

/// A rule, by bus and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    pub bus: String,
    pub name: String,
}

/// ListArchives' and ListReplays' filters.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub prefix: Option<String>,
    pub source_arn: Option<String>,
    pub state: Option<String>,
}

impl ListFilter {
    pub fn keeps(&self, name: &str, source_arn: &str, state: &str) -> bool {
        self.prefix.as_deref().is_none_or(|p| name.starts_with(p))
            && self.source_arn.as_deref().is_none_or(|a| a == source_arn)
            && self.state.as_deref().is_none_or(|s| s == state)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Page {
    pub next_token: Option<String>,
    pub limit: Option<usize>,
}

#[derive(Debug)]
pub struct PutRuleInput {
    pub rule: RuleRef,
    pub event_pattern: Option<String>,
    pub schedule_expression: Option<String>,
    pub state: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One PutEvents entry; every member is optional on the wire, and a missing one fails only its
/// entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EventEntry {
    /// Epoch seconds, as awsJson sends timestamps.
    pub time: Option<f64>,
    pub source: Option<String>,
    pub resources: Option<Vec<String>>,
    pub detail_type: Option<String>,
    pub detail: Option<String>,
    pub event_bus_name: Option<String>,
    pub trace_header: Option<String>,
}

/// The operations of the model Nimbus answers with NotImplemented.
const NOT_IMPLEMENTED: &[&str] = &[
    "ActivateEventSource",
    "CreateEndpoint",
    "CreatePartnerEventSource",
    "DeactivateEventSource",
    "DeleteEndpoint",
    "DeletePartnerEventSource",
    "DescribeEndpoint",
    "DescribeEventSource",
    "DescribePartnerEventSource",
    "ListEndpoints",
    "ListEventSources",
    "ListPartnerEventSourceAccounts",
    "ListPartnerEventSources",
    "PutPartnerEvents",
    "UpdateEndpoint",
    "UpdateEventBus",
];

const NAME_PATTERN: &str = r"[\.\-_A-Za-z0-9]+";
const AUTH_TYPES: [&str; 3] = ["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"];
/// In the order AWS's message lists them (not the model's).
const DESTINATION_METHODS: [&str; 7] = ["HEAD", "POST", "PATCH", "DELETE", "PUT", "GET", "OPTIONS"];
const CONNECTION_STATES: [&str; 9] = [
    "CREATING",
    "UPDATING",
    "DELETING",
    "AUTHORIZED",
    "DEAUTHORIZED",
    "AUTHORIZING",
    "DEAUTHORIZING",
    "ACTIVE",
    "FAILED_CONNECTIVITY",
];
const CONNECTION_ARN_PATTERN: &str =
    r"^arn:aws([a-z]|\-)*:events:([a-z]|\d|\-)*:([0-9]{12})?:connection\/[\.\-_A-Za-z0-9]+\/[\-A-Za-z0-9]+$";
const HTTPS_ENDPOINT_PATTERN: &str =
    r"^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$";
const AUTH_HEADER_PATTERN: &str = r"^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$";
const HEADER_KEY_PATTERN: &str = r"^[!#$%&'*+-.^_`|~0-9a-zA-Z]+$";
const HEADER_VALUE_PATTERN: &str = r"^[ \t]*[\x20-\x7E]+([ \t]+[\x20-\x7E]+)*[ \t]*$";
const BUS_PATTERN: &str = r"[/\.\-_A-Za-z0-9]+";

impl Operation {
    pub fn parse(req: &Request) -> Result<Operation, Error> {
        let name = protocol::json::target(req.headers(), "AWSEvents")?;
        let body = req.body();
        let op = match name {
            "CreateEventBus" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                    event_source_name: Option<String>,
                    description: Option<String>,
                    tags: Option<Vec<Tag>>,
                }
                let i: In = decode(body, &["Name"])?;
                check_name("name", &i.name, 256, BUS_PATTERN, is_bus_char)?;
                if i.event_source_name.is_some() {
                    return Err(Error::NotImplemented("EventBridge partner event buses".to_owned()));
                }
                check_len("description", i.description.as_deref(), 0, 512)?;
                Operation::CreateEventBus {
                    name: i.name,
                    description: i.description,
                    tags: i.tags.unwrap_or_default(),
                }
            }
            "DescribeEventBus" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: Option<String>,
                }
                let i: In = decode(body, &[])?;
                Operation::DescribeEventBus(bus_name("name", i.name)?)
            }
            "ListEventBuses" => {
                let i: ListIn = decode(body, &[])?;
                Operation::ListEventBuses { prefix: i.name_prefix.clone(), page: i.page()? }
            }
            "DeleteEventBus" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                }
                let i: In = decode(body, &["Name"])?;
                check_name("name", &i.name, 256, BUS_PATTERN, is_bus_char)?;
                Operation::DeleteEventBus(i.name)
            }
            "PutRule" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                    schedule_expression: Option<String>,
                    event_pattern: Option<String>,
                    state: Option<String>,
                    description: Option<String>,
                    role_arn: Option<String>,
                    tags: Option<Vec<Tag>>,
                    event_bus_name: Option<String>,
                }
                let i: In = decode(body, &["Name"])?;
                let rule = rule_ref(&i.name, i.event_bus_name)?;
                check_len("scheduleExpression", i.schedule_expression.as_deref(), 0, 256)?;
                check_len("eventPattern", i.event_pattern.as_deref(), 0, 4096)?;
                check_len("description", i.description.as_deref(), 0, 512)?;
                check_len("roleArn", i.role_arn.as_deref(), 1, 1600)?;
                if let Some(state) = &i.state {
                    const STATES: [&str; 3] =
                        ["ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"];
                    if !STATES.contains(&state.as_str()) {
                        return Err(Error::constraint(
                            "state",
                            state,
                            "Member must satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]",
                        ));
                    }
                }
                Operation::PutRule(Box::new(PutRuleInput {
                    rule,
                    event_pattern: i.event_pattern,
                    schedule_expression: i.schedule_expression,
                    state: i.state,
                    description: i.description,
                    role_arn: i.role_arn,
                    tags: i.tags.unwrap_or_default(),
                }))
            }
            "DescribeRule" | "EnableRule" | "DisableRule" | "DeleteRule" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                    event_bus_name: Option<String>,
                }
                let i: In = decode(body, &["Name"])?;
                let rule = rule_ref(&i.name, i.event_bus_name)?;
                match name {
                    "DescribeRule" => Operation::DescribeRule(rule),
                    "EnableRule" => Operation::SetRuleState(rule, true),
                    "DisableRule" => Operation::SetRuleState(rule, false),
                    _ => Operation::DeleteRule(rule),
                }
            }
            "ListRules" => {
                let i: ListIn = decode(body, &[])?;
                if let Some(p) = &i.name_prefix {
                    check_name("namePrefix", p, 64, NAME_PATTERN, is_name_char)?;
                }
                Operation::ListRules {
                    bus: bus_name("eventBusName", i.event_bus_name.clone())?,
                    prefix: i.name_prefix.clone(),
                    page: i.page()?,
                }
            }
            "PutTargets" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    rule: String,
                    event_bus_name: Option<String>,
                    targets: Vec<Target>,
                }
                let i: In = decode(body, &["Rule", "Targets"])?;
                let rule = rule_ref_member("rule", &i.rule, i.event_bus_name)?;
                if i.targets.is_empty() || i.targets.len() > 100 {
                    let c = if i.targets.is_empty() {
                        "greater than or equal to 1"
                    } else {
                        "less than or equal to 100"
                    };
                    return Err(Error::constraint(
                        "targets",
                        "[...]",
                        &format!("Member must have length {c}"),
                    ));
                }
                for (n, t) in i.targets.iter().enumerate() {
                    let member = format!("targets.{}.member.id", n + 1);
                    check_name(&member, &t.id, 64, NAME_PATTERN, is_name_char)?;
                    check_len(&format!("targets.{}.member.arn", n + 1), Some(&t.arn), 1, 1600)?;
                    check_len(&format!("targets.{}.member.input", n + 1), t.input.as_deref(), 0, 8192)?;
                    check_len(
                        &format!("targets.{}.member.inputPath", n + 1),
                        t.input_path.as_deref(),
                        0,
                        256,
                    )?;
                    if let Some(h) = &t.http_parameters {
                        let mut c = Checks::default();
                        c.http_parameters(&format!("targets.{}.member.httpParameters", n + 1), h);
                        c.done()?;
                    }
                    if let Some(r) = &t.retry_policy {
                        if r.maximum_retry_attempts.is_some_and(|n| n > 185) {
                            return Err(Error::constraint(
                                &format!("targets.{}.member.retryPolicy.maximumRetryAttempts", n + 1),
                                &r.maximum_retry_attempts.unwrap_or_default().to_string(),
                                "Member must have value less than or equal to 185",
                            ));
                        }
                        if let Some(age) =
                            r.maximum_event_age_in_seconds.filter(|a| !(60..=86_400).contains(a))
                        {
                            let c = if age < 60 {
                                "greater than or equal to 60"
                            } else {
                                "less than or equal to 86400"
                            };
                            return Err(Error::constraint(
                                &format!("targets.{}.member.retryPolicy.maximumEventAgeInSeconds", n + 1),
                                &age.to_string(),
                                &format!("Member must have value {c}"),
                            ));
                        }
                    }
                }
                Operation::PutTargets(rule, i.targets)
            }
            "RemoveTargets" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    rule: String,
                    event_bus_name: Option<String>,
                    ids: Vec<String>,
                }
                let i: In = decode(body, &["Rule", "Ids"])?;
                let rule = rule_ref_member("rule", &i.rule, i.event_bus_name)?;
                if i.ids.is_empty() || i.ids.len() > 100 {
                    let c = if i.ids.is_empty() {
                        "greater than or equal to 1"
                    } else {
                        "less than or equal to 100"
                    };
                    return Err(Error::constraint("ids", "[...]", &format!("Member must have length {c}")));
                }
                Operation::RemoveTargets(rule, i.ids)
            }
            "ListTargetsByRule" => {
                let i: ListIn = decode(body, &["Rule"])?;
                let rule =
                    rule_ref_member("rule", i.rule.as_deref().unwrap_or_default(), i.event_bus_name.clone())?;
                Operation::ListTargetsByRule(rule, i.page()?)
            }
            "ListRuleNamesByTarget" => {
                let i: ListIn = decode(body, &["TargetArn"])?;
                Operation::ListRuleNamesByTarget {
                    bus: bus_name("eventBusName", i.event_bus_name.clone())?,
                    target_arn: i.target_arn.clone().unwrap_or_default(),
                    page: i.page()?,
                }
            }
            "PutEvents" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    entries: Vec<EventEntry>,
                    endpoint_id: Option<String>,
                }
                let i: In = decode(body, &["Entries"])?;
                if i.endpoint_id.is_some() {
                    return Err(Error::NotImplemented("EventBridge global endpoints".to_owned()));
                }
                if i.entries.is_empty() || i.entries.len() > 10 {
                    let c = if i.entries.is_empty() {
                        "greater than or equal to 1"
                    } else {
                        "less than or equal to 10"
                    };
                    return Err(Error::constraint(
                        "entries",
                        "[...]",
                        &format!("Member must have length {c}"),
                    ));
                }
                Operation::PutEvents(i.entries)
            }
            "TestEventPattern" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    event_pattern: String,
                    event: String,
                }
                let i: In = decode(body, &["EventPattern", "Event"])?;
                check_len("eventPattern", Some(&i.event_pattern), 0, 4096)?;
                Operation::TestEventPattern { pattern: i.event_pattern, event: i.event }
            }
            "PutPermission" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    event_bus_name: Option<String>,
                    action: Option<String>,
                    principal: Option<String>,
                    statement_id: Option<String>,
                    condition: Option<serde_json::Value>,
                    policy: Option<String>,
                }
                let i: In = decode(body, &[])?;
                let bus = bus_name("eventBusName", i.event_bus_name)?;
                // The texts of the refusals below were not verified against AWS (the model
                // makes every member optional; the SDKs send one form or the other).
                let permission = match i.policy {
                    Some(policy) => {
                        if i.action.is_some() || i.principal.is_some() || i.statement_id.is_some() {
                            return Err(Error::validation(
                                "Policy cannot be specified together with Action, Principal, StatementId or Condition.",
                            ));
                        }
                        let doc: serde_json::Value = serde_json::from_str(&policy)
                            .ok()
                            .filter(|d: &serde_json::Value| d.get("Statement").is_some())
                            .ok_or_else(|| Error::validation("Policy is not a valid policy document."))?;
                        crate::buses::Permission::Policy(doc)
                    }
                    None => {
                        let (Some(action), Some(principal), Some(statement_id)) =
                            (i.action, i.principal, i.statement_id)
                        else {
                            return Err(Error::validation(
                                "Action, Principal and StatementId are required when Policy is not given.",
                            ));
                        };
                        check_name("action", &action, 64, "events:[a-zA-Z]+", |c| {
                            c.is_ascii_alphanumeric() || c == ':'
                        })?;
                        if action != "events:PutEvents" {
                            return Err(Error::validation(
                                "Provided value in parameter 'action' is not supported.",
                            ));
                        }
                        let principal_ok = principal == "*"
                            || (principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()));
                        if !principal_ok {
                            return Err(Error::constraint(
                                "principal",
                                &principal,
                                r"Member must satisfy regular expression pattern: (\d{12}|\*)",
                            ));
                        }
                        check_name("statementId", &statement_id, 64, "[a-zA-Z0-9-_]+", |c| {
                            c.is_ascii_alphanumeric() || c == '-' || c == '_'
                        })?;
                        if let Some(c) = &i.condition {
                            let ok = ["Type", "Key", "Value"]
                                .iter()
                                .all(|k| c.get(*k).is_some_and(|v| v.is_string()));
                            if !ok {
                                return Err(Error::validation("Condition must contain Type, Key and Value."));
                            }
                        }
                        crate::buses::Permission::Statement {
                            statement_id,
                            principal,
                            condition: i.condition,
                        }
                    }
                };
                Operation::PutPermission(bus, permission)
            }
            "RemovePermission" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    event_bus_name: Option<String>,
                    statement_id: Option<String>,
                    remove_all_permissions: Option<bool>,
                }
                let i: In = decode(body, &[])?;
                let bus = bus_name("eventBusName", i.event_bus_name)?;
                Operation::RemovePermission {
                    bus,
                    statement_id: i.statement_id,
                    all: i.remove_all_permissions.unwrap_or(false),
                }
            }
            "TagResource" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    #[serde(rename = "ResourceARN")]
                    resource_arn: String,
                    tags: Vec<Tag>,
                }
                let i: In = decode(body, &["ResourceARN", "Tags"])?;
                check_tags(&i.tags)?;
                Operation::TagResource(i.resource_arn, i.tags)
            }
            "UntagResource" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    #[serde(rename = "ResourceARN")]
                    resource_arn: String,
                    tag_keys: Vec<String>,
                }
                let i: In = decode(body, &["ResourceARN", "TagKeys"])?;
                Operation::UntagResource(i.resource_arn, i.tag_keys)
            }
            "ListTagsForResource" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    #[serde(rename = "ResourceARN")]
                    resource_arn: String,
                }
                let i: In = decode(body, &["ResourceARN"])?;
                Operation::ListTagsForResource(i.resource_arn)
            }
            "CreateArchive" | "UpdateArchive" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    archive_name: String,
                    event_source_arn: Option<String>,
                    description: Option<String>,
                    event_pattern: Option<String>,
                    retention_days: Option<i64>,
                    kms_key_identifier: Option<String>,
                }
                let create = name == "CreateArchive";
                let i: In =
                    decode(body, if create { &["ArchiveName", "EventSourceArn"] } else { &["ArchiveName"] })?;
                check_name("archiveName", &i.archive_name, 48, NAME_PATTERN, is_name_char)?;
                check_len("description", i.description.as_deref(), 0, 512)?;
                check_len("eventPattern", i.event_pattern.as_deref(), 0, 4096)?;
                if i.kms_key_identifier.is_some() {
                    return Err(Error::NotImplemented(
                        "EventBridge archives encrypted with a KMS key".to_owned(),
                    ));
                }
                let retention_days = match i.retention_days {
                    Some(n) if n < 0 => {
                        return Err(Error::constraint(
                            "retentionDays",
                            &n.to_string(),
                            "Member must have value greater than or equal to 0",
                        ));
                    }
                    n => n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                };
                let input = ArchiveInput {
                    name: i.archive_name,
                    source_arn: i.event_source_arn,
                    description: i.description,
                    event_pattern: i.event_pattern,
                    retention_days,
                };
                if create { Operation::CreateArchive(input) } else { Operation::UpdateArchive(input) }
            }
            "DescribeArchive" | "DeleteArchive" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    archive_name: String,
                }
                let i: In = decode(body, &["ArchiveName"])?;
                check_name("archiveName", &i.archive_name, 48, NAME_PATTERN, is_name_char)?;
                if name == "DescribeArchive" {
                    Operation::DescribeArchive(i.archive_name)
                } else {
                    Operation::DeleteArchive(i.archive_name)
                }
            }
            "ListArchives" | "ListReplays" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    event_source_arn: Option<String>,
                    state: Option<String>,
                    #[serde(flatten)]
                    list: ListIn,
                }
                let i: In = decode(body, &[])?;
                let filter = ListFilter {
                    prefix: i.list.name_prefix.clone(),
                    source_arn: i.event_source_arn,
                    state: i.state,
                };
                let page = i.list.page()?;
                if name == "ListArchives" {
                    Operation::ListArchives(filter, page)
                } else {
                    Operation::ListReplays(filter, page)
                }
            }
            "StartReplay" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct Destination {
                    arn: String,
                    #[serde(default)]
                    filter_arns: Vec<String>,
                }
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    replay_name: String,
                    description: Option<String>,
                    event_source_arn: String,
                    event_start_time: f64,
                    event_end_time: f64,
                    destination: Destination,
                }
                let i: In = decode(
                    body,
                    &["ReplayName", "EventSourceArn", "EventStartTime", "EventEndTime", "Destination"],
                )?;
                check_name("replayName", &i.replay_name, 64, NAME_PATTERN, is_name_char)?;
                check_len("description", i.description.as_deref(), 0, 512)?;
                Operation::StartReplay(Box::new(ReplayInput {
                    name: i.replay_name,
                    description: i.description,
                    source_arn: i.event_source_arn,
                    start_ms: (i.event_start_time * 1000.0) as i64,
                    end_ms: (i.event_end_time * 1000.0) as i64,
                    destination_arn: i.destination.arn,
                    filter_arns: i.destination.filter_arns,
                }))
            }
            "DescribeReplay" | "CancelReplay" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    replay_name: String,
                }
                let i: In = decode(body, &["ReplayName"])?;
                check_name("replayName", &i.replay_name, 64, NAME_PATTERN, is_name_char)?;
                if name == "DescribeReplay" {
                    Operation::DescribeReplay(i.replay_name)
                } else {
                    Operation::CancelReplay(i.replay_name)
                }
            }
            "CreateConnection" | "UpdateConnection" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                    description: Option<String>,
                    authorization_type: Option<String>,
                    auth_parameters: Option<AuthParameters>,
                    invocation_connectivity_parameters: Option<serde_json::Value>,
                    kms_key_identifier: Option<String>,
                }
                let create = name == "CreateConnection";
                let required: &[&str] =
                    if create { &["Name", "AuthorizationType", "AuthParameters"] } else { &["Name"] };
                let i: In = decode(body, required)?;
                let mut c = Checks::default();
                c.name("name", &i.name, 64);
                c.len("description", i.description.as_deref(), 0, 512);
                c.one_of("authorizationType", i.authorization_type.as_deref(), &AUTH_TYPES);
                if let Some(a) = &i.auth_parameters {
                    c.auth(a);
                }
                c.done()?;
                let private = i.invocation_connectivity_parameters.is_some()
                    || i.auth_parameters.as_ref().is_some_and(|a| a.connectivity_parameters.is_some());
                if private {
                    return Err(Error::NotImplemented("EventBridge connections to private APIs".to_owned()));
                }
                if i.kms_key_identifier.is_some() {
                    return Err(Error::NotImplemented(
                        "EventBridge connections encrypted with a KMS key".to_owned(),
                    ));
                }
                let input = Box::new(ConnectionInput {
                    name: i.name,
                    description: i.description,
                    authorization_type: i.authorization_type,
                    auth: i.auth_parameters,
                });
                if create { Operation::CreateConnection(input) } else { Operation::UpdateConnection(input) }
            }
            "DescribeConnection"
            | "DeleteConnection"
            | "DeauthorizeConnection"
            | "DescribeApiDestination"
            | "DeleteApiDestination" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                }
                let i: In = decode(body, &["Name"])?;
                let mut c = Checks::default();
                c.name("name", &i.name, 64);
                c.done()?;
                match name {
                    "DescribeConnection" => Operation::DescribeConnection(i.name),
                    "DeleteConnection" => Operation::DeleteConnection(i.name),
                    "DeauthorizeConnection" => Operation::DeauthorizeConnection(i.name),
                    "DescribeApiDestination" => Operation::DescribeApiDestination(i.name),
                    _ => Operation::DeleteApiDestination(i.name),
                }
            }
            "ListConnections" | "ListApiDestinations" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    connection_state: Option<String>,
                    connection_arn: Option<String>,
                    #[serde(flatten)]
                    list: ListIn,
                }
                let i: In = decode(body, &[])?;
                let mut c = Checks::default();
                if let Some(p) = &i.list.name_prefix {
                    c.name("namePrefix", p, 64);
                }
                c.one_of("connectionState", i.connection_state.as_deref(), &CONNECTION_STATES);
                if let Some(arn) = &i.connection_arn {
                    c.connection_arn(arn);
                }
                c.done()?;
                let page = i.list.page()?;
                let prefix = i.list.name_prefix;
                if name == "ListConnections" {
                    Operation::ListConnections { prefix, state: i.connection_state, page }
                } else {
                    Operation::ListApiDestinations { prefix, connection_arn: i.connection_arn, page }
                }
            }
            "CreateApiDestination" | "UpdateApiDestination" => {
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct In {
                    name: String,
                    description: Option<String>,
                    connection_arn: Option<String>,
                    invocation_endpoint: Option<String>,
                    http_method: Option<String>,
                    invocation_rate_limit_per_second: Option<i64>,
                }
                let create = name == "CreateApiDestination";
                let required: &[&str] = if create {
                    &["Name", "ConnectionArn", "InvocationEndpoint", "HttpMethod"]
                } else {
                    &["Name"]
                };
                let i: In = decode(body, required)?;
                let mut c = Checks::default();
                c.name("name", &i.name, 64);
                c.len("description", i.description.as_deref(), 0, 512);
                if let Some(arn) = &i.connection_arn {
                    c.connection_arn(arn);
                }
                if let Some(e) = &i.invocation_endpoint {
                    c.endpoint("invocationEndpoint", e);
                }
                c.one_of("httpMethod", i.http_method.as_deref(), &DESTINATION_METHODS);
                if let Some(r) = i.invocation_rate_limit_per_second.filter(|r| *r < 1) {
                    c.fail(
                        "invocationRateLimitPerSecond",
                        &r.to_string(),
                        "Member must have value greater than or equal to 1",
                    );
                }
                c.done()?;
                let input = DestinationInput {
                    name: i.name,
                    description: i.description,
                    connection_arn: i.connection_arn,
                    endpoint: i.invocation_endpoint,
                    http_method: i.http_method,
                    rate: i.invocation_rate_limit_per_second,
                };
                if create {
                    Operation::CreateApiDestination(input)
                } else {
                    Operation::UpdateApiDestination(input)
                }
            }
            other => match NOT_IMPLEMENTED.iter().find(|n| **n == other) {
                Some(n) => Operation::NotImplemented(n),
                None => return Err(Error::UnknownOperationException),
            },
        };
        Ok(op)
    }
}

/// The list operations' common members.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListIn {
    name_prefix: Option<String>,
    event_bus_name: Option<String>,
    rule: Option<String>,
    target_arn: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

impl ListIn {
    fn page(&self) -> Result<Page, Error> {
        if let Some(n) = self.limit.filter(|n| !(1..=100).contains(n)) {
            let c = if n < 1 { "greater than or equal to 1" } else { "less than or equal to 100" };
            return Err(Error::constraint("limit", &n.to_string(), &format!("Member must have value {c}")));
        }
        Ok(Page {
            next_token: self.next_token.clone(),
            limit: self.limit.and_then(|n| usize::try_from(n).ok()),
        })
    }
}

/// Model constraints broken by one request, collected in member order: AWS reports them all in
/// one `N validation errors detected: …` message.
#[derive(Default)]
struct Checks(Vec<(String, String, String)>);

impl Checks {
    fn fail(&mut self, member: &str, value: &str, constraint: &str) {
        self.0.push((member.to_owned(), value.to_owned(), constraint.to_owned()));
    }

    fn len(&mut self, member: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(v) = value else { return };
        let n = v.chars().count();
        if n < min {
            self.fail(member, v, &format!("Member must have length greater than or equal to {min}"));
        } else if n > max {
            self.fail(member, v, &format!("Member must have length less than or equal to {max}"));
        }
    }

    fn name(&mut self, member: &str, value: &str, max: usize) {
        self.len(member, Some(value), 1, max);
        if !value.chars().all(is_name_char) {
            self.fail(
                member,
                value,
                &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
            );
        }
    }

    fn one_of(&mut self, member: &str, value: Option<&str>, set: &[&str]) {
        if let Some(v) = value.filter(|v| !set.contains(v)) {
            self.fail(member, v, &format!("Member must satisfy enum value set: [{}]", set.join(", ")));
        }
    }

    fn pattern(&mut self, member: &str, value: &str, ok: bool, pattern: &str) {
        if !ok {
            self.fail(member, value, &format!("Member must satisfy regular expression pattern: {pattern}"));
        }
    }

    fn connection_arn(&mut self, arn: &str) {
        self.len("connectionArn", Some(arn), 1, 1600);
        let ok = crate::model::parse_connection_arn(arn).is_some();
        self.pattern("connectionArn", arn, ok, CONNECTION_ARN_PATTERN);
    }

    fn endpoint(&mut self, member: &str, value: &str) {
        self.len(member, Some(value), 1, 2048);
        self.pattern(member, value, is_https_endpoint_text(value), HTTPS_ENDPOINT_PATTERN);
    }

    /// An auth header part (user name, password, key, client id or secret): 1 to 512 characters,
    /// no control characters and no colon.
    fn auth_text(&mut self, member: &str, value: Option<&str>) {
        let Some(v) = value else { return };
        self.len(member, Some(v), 1, 512);
        let ok = !v.trim().is_empty() && !v.chars().any(|c| c == ':' || c.is_ascii_control());
        self.pattern(member, v, ok, AUTH_HEADER_PATTERN);
    }

    fn parameters(&mut self, member: &str, p: &ConnectionHttpParameters) {
        for (list, name, header) in [
            (&p.header_parameters, "headerParameters", true),
            (&p.query_string_parameters, "queryStringParameters", false),
            (&p.body_parameters, "bodyParameters", false),
        ] {
            let Some(items) = list else { continue };
            if items.len() > 100 {
                self.fail(
                    &format!("{member}.{name}"),
                    "[...]",
                    "Member must have length less than or equal to 100",
                );
            }
            if header {
                for (n, item) in items.iter().enumerate() {
                    self.header(&format!("{member}.{name}.{}.member", n + 1), &item.key, &item.value);
                }
            }
        }
    }

    fn header(&mut self, member: &str, key: &str, value: &str) {
        self.len(&format!("{member}.key"), Some(key), 0, 512);
        self.pattern(
            &format!("{member}.key"),
            key,
            !key.is_empty() && key.chars().all(is_token_char),
            HEADER_KEY_PATTERN,
        );
        self.len(&format!("{member}.value"), Some(value), 0, 512);
        let ok = !value.trim().is_empty() && value.chars().all(|c| c == '\t' || (' '..='~').contains(&c));
        self.pattern(&format!("{member}.value"), value, ok, HEADER_VALUE_PATTERN);
    }

    fn auth(&mut self, a: &AuthParameters) {
        let m = "authParameters";
        if let Some(b) = &a.basic_auth_parameters {
            self.auth_text(&format!("{m}.basicAuthParameters.username"), b.username.as_deref());
            self.auth_text(&format!("{m}.basicAuthParameters.password"), b.password.as_deref());
        }
        if let Some(k) = &a.api_key_auth_parameters {
            self.auth_text(&format!("{m}.apiKeyAuthParameters.apiKeyName"), k.api_key_name.as_deref());
            self.auth_text(&format!("{m}.apiKeyAuthParameters.apiKeyValue"), k.api_key_value.as_deref());
        }
        if let Some(o) = &a.oauth_parameters {
            let m = format!("{m}.oAuthParameters");
            if let Some(cp) = &o.client_parameters {
                self.auth_text(&format!("{m}.clientParameters.clientID"), cp.client_id.as_deref());
                self.auth_text(&format!("{m}.clientParameters.clientSecret"), cp.client_secret.as_deref());
            }
            if let Some(e) = &o.authorization_endpoint {
                self.endpoint(&format!("{m}.authorizationEndpoint"), e);
            }
            self.one_of(&format!("{m}.httpMethod"), o.http_method.as_deref(), &["GET", "POST", "PUT"]);
            if let Some(p) = &o.o_auth_http_parameters {
                self.parameters(&format!("{m}.oAuthHttpParameters"), p);
            }
        }
        if let Some(p) = &a.invocation_http_parameters {
            self.parameters(&format!("{m}.invocationHttpParameters"), p);
        }
    }

    fn http_parameters(&mut self, member: &str, h: &crate::model::HttpParameters) {
        for (n, v) in h.path_parameter_values.iter().flatten().enumerate() {
            self.pattern(
                &format!("{member}.pathParameterValues.{}.member", n + 1),
                v,
                !v.trim().is_empty(),
                r"^(?!\s*$).+",
            );
        }
        for (k, v) in h.header_parameters.iter().flatten() {
            self.header(&format!("{member}.headerParameters"), k, v);
        }
        for (k, v) in h.query_string_parameters.iter().flatten() {
            self.len(&format!("{member}.queryStringParameters.key"), Some(k), 0, 512);
            self.len(&format!("{member}.queryStringParameters.value"), Some(v), 0, 512);
        }
    }

    fn done(self) -> Result<(), Error> {
        if self.0.is_empty() {
            return Ok(());
        }
        let items = self.0.iter().map(|(m, v, c)| (m.as_str(), v.as_str(), c.as_str()));
        Err(Error::ValidationException(protocol::validation_message(items)))
    }
}

/// RFC 7230 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The HttpsEndpoint pattern: URL characters and `%XX` escapes.
fn is_https_endpoint_text(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || b"-()_.!~*';/?:@&=+$,".contains(&b)) {
            return false;
        }
        i += 1;
    }
    !value.is_empty()
}

fn decode<T: DeserializeOwned>(body: &[u8], required: &[&str]) -> Result<T, Error> {
    Ok(protocol::json::decode(body, required)?)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

fn is_bus_char(c: char) -> bool {
    is_name_char(c) || c == '/'
}

fn check_len(member: &str, value: Option<&str>, min: usize, max: usize) -> Result<(), Error> {
    let Some(value) = value else { return Ok(()) };
    let n = value.chars().count();
    if n < min {
        return Err(Error::constraint(
            member,
            value,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(Error::constraint(
            member,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn check_name(
    member: &str,
    value: &str,
    max: usize,
    pattern: &str,
    ok: fn(char) -> bool,
) -> Result<(), Error> {
    check_len(member, Some(value), 1, max)?;
    if !value.chars().all(ok) {
        return Err(Error::constraint(
            member,
            value,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

fn check_tags(tags: &[Tag]) -> Result<(), Error> {
    for (n, t) in tags.iter().enumerate() {
        check_len(&format!("tags.{}.member.key", n + 1), Some(&t.key), 1, 128)?;
        check_len(&format!("tags.{}.member.value", n + 1), Some(&t.value), 0, 256)?;
    }
    Ok(())
}

/// `EventBusName` as a name or a bus ARN (`arn:aws:events:…:event-bus/NAME`); absent means
/// `default`.
pub fn bus_name(member: &str, value: Option<String>) -> Result<String, Error> {
    let Some(value) = value else { return Ok(DEFAULT_BUS.to_owned()) };
    check_len(member, Some(&value), 1, 1600)?;
    let name = match value.strip_prefix("arn:") {
        Some(_) => match value.split_once(":event-bus/") {
            Some((_, name)) => name.to_owned(),
            None => {
                return Err(Error::constraint(
                    member,
                    &value,
                    r"Member must satisfy regular expression pattern: (arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+",
                ));
            }
        },
        None => value,
    };
    check_name(member, &name, 1600, BUS_PATTERN, is_bus_char)?;
    Ok(name)
}

fn rule_ref(name: &str, bus: Option<String>) -> Result<RuleRef, Error> {
    rule_ref_member("name", name, bus)
}

fn rule_ref_member(member: &str, name: &str, bus: Option<String>) -> Result<RuleRef, Error> {
    check_name(member, name, 64, NAME_PATTERN, is_name_char)?;
    Ok(RuleRef { bus: bus_name("eventBusName", bus)?, name: name.to_owned() })
}

/// Tags as a map; the last of duplicate keys wins.
pub fn tag_map(tags: Vec<Tag>) -> BTreeMap<String, String> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn req(op: &str, body: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .uri("/")
            .header("x-amz-target", format!("AWSEvents.{op}"))
            .body(Bytes::from(body.to_owned()))
            .expect("request")
    }

    fn parse(op: &str, body: &str) -> Result<Operation, Error> {
        Operation::parse(&req(op, body))
    }

    fn message(e: Error) -> String {
        use protocol::ServiceError as _;
        e.to_wire().message
    }

    #[test]
    fn parses_rules_with_bus_names_and_arns() {
        let Ok(Operation::PutRule(input)) = parse(
            "PutRule",
            r#"{"Name":"r","EventPattern":"{}","EventBusName":"arn:aws:events:us-east-1:000000000000:event-bus/orders"}"#,
        ) else {
            panic!("PutRule parses")
        };
        assert_eq!(input.rule, RuleRef { bus: "orders".into(), name: "r".into() });
        let Ok(Operation::SetRuleState(rule, false)) = parse("DisableRule", r#"{"Name":"r"}"#) else {
            panic!("DisableRule parses")
        };
        assert_eq!(rule.bus, "default");
    }

    #[test]
    fn model_constraints_in_aws_words() {
        let e = parse("PutRule", r#"{"Name":"bad name"}"#).err().map(message);
        assert_eq!(
            e.as_deref(),
            Some(
                r"1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+"
            )
        );
        let e = parse("PutRule", r#"{"Name":"r","State":"ON"}"#).err().map(message).unwrap_or_default();
        assert!(e.contains("Member must satisfy enum value set"), "{e}");
        let e = parse("PutRule", "{}").err().map(message).unwrap_or_default();
        assert!(
            e.contains("Value null at 'name' failed to satisfy constraint: Member must not be null"),
            "{e}"
        );
        let e = parse("ListRules", r#"{"Limit":0}"#).err().map(message).unwrap_or_default();
        assert!(e.contains("Member must have value greater than or equal to 1"), "{e}");
        let eleven = format!("{{\"Entries\":[{}]}}", ["{}"; 11].join(","));
        let e = parse("PutEvents", &eleven).err().map(message).unwrap_or_default();
        assert!(e.contains("Member must have length less than or equal to 10"), "{e}");
    }

    #[test]
    fn unknown_and_unimplemented_operations() {
        assert!(matches!(parse("CreateEndpoint", "{}"), Ok(Operation::NotImplemented("CreateEndpoint"))));
        assert!(matches!(parse("Frobnicate", "{}"), Err(Error::UnknownOperationException)));
        assert!(matches!(parse("PutRule", "[1]"), Err(Error::SerializationException(_))));
    }
}
