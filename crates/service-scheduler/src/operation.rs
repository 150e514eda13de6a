//! Request → [`Operation`]: method and path pick the operation (botocore
//! `scheduler/2021-06-30`), labels, query and JSON body become a typed input, and the model's
//! constraints on names, enums and page sizes are checked here. No IO, nothing acted on.

use http::Method;
use protocol::Request;
use protocol::rest::match_template;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::model::{FlexibleTimeWindow, Target};

/// CreateSchedule / UpdateSchedule input (both take the whole schedule).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleInput {
    pub action_after_completion: Option<String>,
    pub client_token: Option<String>,
    pub description: Option<String>,
    /// Epoch seconds, rest-json's timestamp format.
    pub end_date: Option<f64>,
    pub flexible_time_window: Option<FlexibleTimeWindow>,
    pub group_name: Option<String>,
    pub kms_key_arn: Option<String>,
    pub schedule_expression: Option<String>,
    pub schedule_expression_timezone: Option<String>,
    pub start_date: Option<f64>,
    pub state: Option<String>,
    pub target: Option<Target>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsBody {
    tags: Option<Vec<Tag>>,
}

/// The query of ListSchedules and ListScheduleGroups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListFilter {
    pub group: Option<String>,
    pub name_prefix: Option<String>,
    /// `Some(true)` for ENABLED, `Some(false)` for DISABLED.
    pub enabled: Option<bool>,
    pub max_results: usize,
    pub next_token: Option<String>,
}

/// Every operation of the model, fully parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    CreateSchedule(String, Box<ScheduleInput>),
    UpdateSchedule(String, Box<ScheduleInput>),
    GetSchedule { name: String, group: Option<String> },
    DeleteSchedule { name: String, group: Option<String> },
    ListSchedules(ListFilter),
    CreateScheduleGroup(String, Vec<Tag>),
    GetScheduleGroup(String),
    DeleteScheduleGroup(String),
    ListScheduleGroups(ListFilter),
    TagResource(String, Vec<Tag>),
    UntagResource(String, Vec<String>),
    ListTagsForResource(String),
}

/// `(method, template, operation)`, in the model's words.
const ROUTES: &[(Method, &str, &str)] = &[
    (Method::POST, "/schedules/{Name}", "CreateSchedule"),
    (Method::GET, "/schedules/{Name}", "GetSchedule"),
    (Method::PUT, "/schedules/{Name}", "UpdateSchedule"),
    (Method::DELETE, "/schedules/{Name}", "DeleteSchedule"),
    (Method::GET, "/schedules", "ListSchedules"),
    (Method::POST, "/schedule-groups/{Name}", "CreateScheduleGroup"),
    (Method::GET, "/schedule-groups/{Name}", "GetScheduleGroup"),
    (Method::DELETE, "/schedule-groups/{Name}", "DeleteScheduleGroup"),
    (Method::GET, "/schedule-groups", "ListScheduleGroups"),
    // Greedy, so an ARN sent with its `/` unescaped still reads whole.
    (Method::POST, "/tags/{ResourceArn+}", "TagResource"),
    (Method::GET, "/tags/{ResourceArn+}", "ListTagsForResource"),
    (Method::DELETE, "/tags/{ResourceArn+}", "UntagResource"),
];

const NAME_PATTERN: &str = "^[0-9a-zA-Z-_.]+$";

impl Operation {
    pub fn parse(req: &Request) -> Result<Operation, Error> {
        let path = req.uri().path();
        let query: Vec<(String, String)> =
            form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let (name, labels) = ROUTES
            .iter()
            .filter(|(m, _, _)| m == req.method())
            .find_map(|(_, template, name)| match_template(template, path).map(|labels| (*name, labels)))
            .ok_or(Error::UnknownOperationException)?;
        let label = labels.first().map(|(_, v)| v.clone()).unwrap_or_default();
        let body = req.body();
        let op = match name {
            "CreateSchedule" | "UpdateSchedule" => {
                check_name("name", &label)?;
                let input: ScheduleInput = json(body)?;
                if let Some(g) = &input.group_name {
                    check_name("groupName", g)?;
                }
                if name == "CreateSchedule" {
                    Operation::CreateSchedule(label, Box::new(input))
                } else {
                    Operation::UpdateSchedule(label, Box::new(input))
                }
            }
            "GetSchedule" | "DeleteSchedule" => {
                check_name("name", &label)?;
                let group = param("groupName");
                if let Some(g) = &group {
                    check_name("groupName", g)?;
                }
                if name == "GetSchedule" {
                    Operation::GetSchedule { name: label, group }
                } else {
                    Operation::DeleteSchedule { name: label, group }
                }
            }
            "ListSchedules" | "ListScheduleGroups" => {
                let schedules = name == "ListSchedules";
                let group = if schedules { param("ScheduleGroup") } else { None };
                if let Some(g) = &group {
                    check_name("groupName", g)?;
                }
                let name_prefix = param("NamePrefix");
                if let Some(p) = &name_prefix {
                    check_name("namePrefix", p)?;
                }
                let enabled = match param("State").filter(|_| schedules).as_deref() {
                    None => None,
                    Some("ENABLED") => Some(true),
                    Some("DISABLED") => Some(false),
                    Some(other) => {
                        return Err(Error::constraint(
                            "state",
                            other,
                            "Member must satisfy enum value set: [ENABLED, DISABLED]",
                        ));
                    }
                };
                let max_results = match param("MaxResults") {
                    None => 100,
                    Some(text) => match text.parse::<i64>() {
                        Ok(n) if n < 1 => {
                            return Err(Error::constraint(
                                "maxResults",
                                &text,
                                "Member must have value greater than or equal to 1",
                            ));
                        }
                        Ok(n) if n > 100 => {
                            return Err(Error::constraint(
                                "maxResults",
                                &text,
                                "Member must have value less than or equal to 100",
                            ));
                        }
                        Ok(n) => usize::try_from(n).unwrap_or(100),
                        Err(_) => {
                            return Err(Error::validation(format!("Invalid value for MaxResults: {text}")));
                        }
                    },
                };
                let filter =
                    ListFilter { group, name_prefix, enabled, max_results, next_token: param("NextToken") };
                if schedules {
                    Operation::ListSchedules(filter)
                } else {
                    Operation::ListScheduleGroups(filter)
                }
            }
            "CreateScheduleGroup" => {
                check_name("name", &label)?;
                let tags: TagsBody = json(body)?;
                Operation::CreateScheduleGroup(label, tags.tags.unwrap_or_default())
            }
            "GetScheduleGroup" => {
                check_name("name", &label)?;
                Operation::GetScheduleGroup(label)
            }
            "DeleteScheduleGroup" => {
                check_name("name", &label)?;
                Operation::DeleteScheduleGroup(label)
            }
            "TagResource" => {
                let tags: TagsBody = json(body)?;
                let tags =
                    tags.tags.ok_or_else(|| Error::constraint("tags", "null", "Member must not be null"))?;
                Operation::TagResource(label, tags)
            }
            "UntagResource" => {
                let keys = query.iter().filter(|(k, _)| k == "TagKeys").map(|(_, v)| v.clone()).collect();
                Operation::UntagResource(label, keys)
            }
            _ => Operation::ListTagsForResource(label),
        };
        Ok(op)
    }
}

/// A schedule or group name (or prefix): 1–64 of `[0-9a-zA-Z-_.]`.
pub fn check_name(member: &str, value: &str) -> Result<(), Error> {
    if value.chars().count() > 64 {
        return Err(Error::constraint(member, value, "Member must have length less than or equal to 64"));
    }
    if value.is_empty() {
        return Err(Error::constraint(member, value, "Member must have length greater than or equal to 1"));
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
        let constraint = format!("Member must satisfy regular expression pattern: {NAME_PATTERN}");
        return Err(Error::constraint(member, value, &constraint));
    }
    Ok(())
}

/// A JSON body as `T`; an empty body is `T::default()`.
fn json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Error::validation(format!("Could not read the request body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(method: Method, uri: &str, body: &str) -> Result<Operation, Error> {
        let req = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(bytes::Bytes::from(body.to_owned()))
            .expect("valid request");
        Operation::parse(&req)
    }

    #[test]
    fn picks_operations_by_method_and_path() {
        assert_eq!(
            parse(Method::GET, "/schedules/nightly?groupName=ops", "").ok(),
            Some(Operation::GetSchedule { name: "nightly".into(), group: Some("ops".into()) })
        );
        assert!(matches!(
            parse(Method::POST, "/schedules/nightly", r#"{"ScheduleExpression":"rate(1 hour)"}"#),
            Ok(Operation::CreateSchedule(n, i)) if n == "nightly" && i.schedule_expression.as_deref() == Some("rate(1 hour)")
        ));
        assert!(matches!(parse(Method::PUT, "/schedules/n", "{}"), Ok(Operation::UpdateSchedule(..))));
        assert_eq!(
            parse(Method::GET, "/schedule-groups?NamePrefix=o&MaxResults=5", "").ok(),
            Some(Operation::ListScheduleGroups(ListFilter {
                name_prefix: Some("o".into()),
                max_results: 5,
                ..ListFilter::default()
            }))
        );
        assert_eq!(
            parse(
                Method::DELETE,
                "/tags/arn%3Aaws%3Ascheduler%3Aus-east-1%3A000000000000%3Aschedule-group%2Fops?TagKeys=a&TagKeys=b",
                ""
            )
            .ok(),
            Some(Operation::UntagResource(
                "arn:aws:scheduler:us-east-1:000000000000:schedule-group/ops".into(),
                vec!["a".into(), "b".into()]
            ))
        );
        assert!(matches!(parse(Method::PATCH, "/schedules/n", ""), Err(Error::UnknownOperationException)));
    }

    #[test]
    fn refuses_what_the_model_refuses() {
        let Err(Error::ValidationException(m)) = parse(Method::GET, "/schedules/bad%20name", "") else {
            panic!("a space is not in the name pattern")
        };
        assert_eq!(
            m,
            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$"
        );
        let Err(Error::ValidationException(m)) = parse(Method::GET, "/schedules?MaxResults=101", "") else {
            panic!("101 is over the page size")
        };
        assert!(m.ends_with("Member must have value less than or equal to 100"), "{m}");
        assert!(matches!(
            parse(Method::GET, "/schedules?State=PAUSED", ""),
            Err(Error::ValidationException(_))
        ));
        assert!(matches!(parse(Method::POST, "/schedules/n", "{"), Err(Error::ValidationException(_))));
    }
}
