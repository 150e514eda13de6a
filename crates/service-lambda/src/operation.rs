//! Parsing a rest-json request into a Lambda [`Operation`]: the route (method and path), the
//! path labels, query parameters, headers and the JSON body. All validation that needs no
//! state happens here; acting on the store happens in the handlers.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::Method;
use protocol::Request;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::layers::LayerFilter;
use crate::names::FunctionRef;
use crate::routes::ROUTES;

/// One Lambda request, parsed.
#[derive(Debug)]
pub enum Operation {
    CreateFunction(Box<CreateFunctionInput>),
    GetFunction(Target),
    GetFunctionConfiguration(Target),
    ListFunctions(Page),
    DeleteFunction(Target),
    UpdateFunctionCode(Target, Box<UpdateCodeInput>),
    UpdateFunctionConfiguration(Target, Box<ConfigInput>),
    Invoke(Target, Box<InvokeInput>),
    /// Invoke answered as an event stream; only `RequestResponse` and `DryRun`.
    InvokeWithResponseStream(Target, Box<InvokeInput>),
    /// The deprecated `InvokeAsync` (2014-11-13): an Event invoke answering `{"Status":202}`.
    InvokeAsync(Target, Bytes),
    PublishVersion(Target, PublishInput),
    ListVersionsByFunction(Target, Page),
    CreateAlias(Target, AliasInput),
    GetAlias(Target, String),
    UpdateAlias(Target, String, AliasInput),
    DeleteAlias(Target, String),
    ListAliases(Target, Option<String>, Page),
    PutFunctionConcurrency(Target, ConcurrencyInput),
    GetFunctionConcurrency(Target),
    DeleteFunctionConcurrency(Target),
    /// `replace`: Put replaces the whole config, Update merges into it.
    PutFunctionEventInvokeConfig {
        target: Target,
        input: EventInvokeInput,
        replace: bool,
    },
    GetFunctionEventInvokeConfig(Target),
    DeleteFunctionEventInvokeConfig(Target),
    ListFunctionEventInvokeConfigs(Target, Page),
    AddPermission(Target, Box<PermissionInput>),
    RemovePermission(Target, String, Option<String>),
    GetPolicy(Target),
    TagResource(String, BTreeMap<String, String>),
    UntagResource(String, Vec<String>),
    ListTags(String),
    PutProvisionedConcurrencyConfig(Target, ProvisionedInput),
    GetProvisionedConcurrencyConfig(Target),
    DeleteProvisionedConcurrencyConfig(Target),
    ListProvisionedConcurrencyConfigs(Target, Page),
    PublishLayerVersion(String, LayerInput),
    GetLayerVersion(String, u64),
    GetLayerVersionByArn(String),
    DeleteLayerVersion(String, u64),
    ListLayerVersions(String, Page, LayerFilter),
    ListLayers(Page, LayerFilter),
    AddLayerVersionPermission {
        layer: String,
        version: u64,
        input: LayerPermissionInput,
        revision_id: Option<String>,
    },
    GetLayerVersionPolicy(String, u64),
    RemoveLayerVersionPermission {
        layer: String,
        version: u64,
        statement_id: String,
        revision_id: Option<String>,
    },
    CreateFunctionUrlConfig(Target, UrlInput),
    GetFunctionUrlConfig(Target),
    UpdateFunctionUrlConfig(Target, UrlInput),
    DeleteFunctionUrlConfig(Target),
    ListFunctionUrlConfigs(Target, Page),
    GetAccountSettings,
    CreateEventSourceMapping(Box<crate::esm::MappingInput>),
    GetEventSourceMapping(String),
    UpdateEventSourceMapping(String, Box<crate::esm::MappingInput>),
    DeleteEventSourceMapping(String),
    ListEventSourceMappings {
        function: Option<String>,
        source: Option<String>,
        page: Page,
    },
    /// An operation of the Lambda model that Nimbus does not serve yet.
    NotImplemented(&'static str),
}

/// The function an operation is about, and the qualifier from its name or `Qualifier`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub qualifier: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Page {
    pub marker: Option<String>,
    pub max_items: Option<usize>,
    /// `ListFunctions?FunctionVersion=ALL`.
    pub all_versions: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct FunctionCode {
    /// Base64 in JSON, as the model's blob type.
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
    pub image_uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EnvironmentInput {
    pub variables: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModeInput {
    pub mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TargetArnInput {
    pub target_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SizeInput {
    pub size: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LoggingInput {
    pub log_format: Option<String>,
    pub application_log_level: Option<String>,
    pub system_log_level: Option<String>,
    pub log_group: Option<String>,
}

/// The members CreateFunction and UpdateFunctionConfiguration share.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConfigInput {
    pub role: Option<String>,
    pub handler: Option<String>,
    pub description: Option<String>,
    pub timeout: Option<i64>,
    pub memory_size: Option<i64>,
    pub environment: Option<EnvironmentInput>,
    pub runtime: Option<String>,
    pub dead_letter_config: Option<TargetArnInput>,
    #[serde(rename = "KMSKeyArn")]
    pub kms_key_arn: Option<String>,
    pub tracing_config: Option<ModeInput>,
    pub revision_id: Option<String>,
    pub layers: Option<Vec<String>>,
    pub ephemeral_storage: Option<SizeInput>,
    pub logging_config: Option<LoggingInput>,
    pub vpc_config: Option<serde_json::Value>,
    pub file_system_configs: Option<serde_json::Value>,
    pub image_config: Option<serde_json::Value>,
    pub snap_start: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateFunctionInput {
    pub function_name: Option<String>,
    pub code: Option<FunctionCode>,
    pub publish: Option<bool>,
    pub package_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub architectures: Option<Vec<String>>,
    #[serde(flatten)]
    pub config: ConfigInput,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateCodeInput {
    #[serde(flatten)]
    pub code: FunctionCode,
    pub publish: Option<bool>,
    pub dry_run: Option<bool>,
    pub revision_id: Option<String>,
    pub architectures: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PublishInput {
    pub code_sha256: Option<String>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RoutingInput {
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AliasInput {
    pub name: Option<String>,
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<RoutingInput>,
    pub revision_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConcurrencyInput {
    pub reserved_concurrent_executions: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LayerContentInput {
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LayerInput {
    pub description: Option<String>,
    pub content: Option<LayerContentInput>,
    pub compatible_runtimes: Option<Vec<String>>,
    pub license_info: Option<String>,
    pub compatible_architectures: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LayerPermissionInput {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub organization_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UrlInput {
    pub auth_type: Option<String>,
    pub cors: Option<serde_json::Value>,
    pub invoke_mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ProvisionedInput {
    pub provisioned_concurrent_executions: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DestinationInput {
    pub destination: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DestinationConfigInput {
    pub on_success: Option<DestinationInput>,
    pub on_failure: Option<DestinationInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EventInvokeInput {
    pub maximum_retry_attempts: Option<i64>,
    pub maximum_event_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfigInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PermissionInput {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub event_source_token: Option<String>,
    pub revision_id: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TagsInput {
    tags: Option<BTreeMap<String, String>>,
}

/// `X-Amz-Invocation-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

#[derive(Debug)]
pub struct InvokeInput {
    pub invocation_type: InvocationType,
    pub tail: bool,
    /// Decoded from base64.
    pub client_context: Option<String>,
    pub payload: Bytes,
}

/// `X-Amz-Client-Context` is limited to 3,583 bytes of base64.
const MAX_CLIENT_CONTEXT: usize = 3583;

impl Operation {
    pub fn parse(req: &Request) -> Result<Operation, Error> {
        let path = req.uri().path();
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let (name, labels) = route(req.method(), path, &query)?;
        let label =
            |l: &str| labels.iter().find(|(k, _)| *k == l).map(|(_, v)| v.clone()).unwrap_or_default();
        let target = |max: usize| -> Result<Target, Error> {
            let (name, qualifier) =
                FunctionRef::parse(&label("FunctionName"), max)?.with_qualifier(q("Qualifier"))?;
            Ok(Target { name, qualifier })
        };
        let page = || -> Result<Page, Error> {
            let max_items = match q("MaxItems") {
                None => None,
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if (1..=10_000).contains(&n) => Some(n),
                    _ => {
                        return Err(Error::validation(
                            "maxItems",
                            &v,
                            "Member must have value less than or equal to 10000",
                        ));
                    }
                },
            };
            Ok(Page {
                marker: q("Marker"),
                max_items,
                all_versions: q("FunctionVersion").as_deref() == Some("ALL"),
            })
        };
        let layer_filter =
            || LayerFilter { runtime: q("CompatibleRuntime"), architecture: q("CompatibleArchitecture") };
        let body = req.body();
        Ok(match name {
            "CreateFunction" => Operation::CreateFunction(Box::new(json(body)?)),
            "GetFunction" => Operation::GetFunction(target(256)?),
            "GetFunctionConfiguration" => Operation::GetFunctionConfiguration(target(256)?),
            "ListFunctions" => {
                if let Some(v) = q("FunctionVersion")
                    && v != "ALL"
                {
                    return Err(Error::validation(
                        "functionVersion",
                        &v,
                        "Member must satisfy enum value set: [ALL]",
                    ));
                }
                Operation::ListFunctions(page()?)
            }
            "DeleteFunction" => Operation::DeleteFunction(target(256)?),
            "UpdateFunctionCode" => Operation::UpdateFunctionCode(target(140)?, Box::new(json(body)?)),
            "UpdateFunctionConfiguration" => {
                Operation::UpdateFunctionConfiguration(target(140)?, Box::new(json(body)?))
            }
            "Invoke" => Operation::Invoke(target(256)?, Box::new(invoke_input(req)?)),
            "InvokeWithResponseStream" => {
                if let Some(t) = header(req, "x-amz-invocation-type")
                    && t != "RequestResponse"
                    && t != "DryRun"
                {
                    return Err(Error::validation(
                        "invocationType",
                        t,
                        "Member must satisfy enum value set: [RequestResponse, DryRun]",
                    ));
                }
                Operation::InvokeWithResponseStream(target(256)?, Box::new(invoke_input(req)?))
            }
            "InvokeAsync" => Operation::InvokeAsync(target(256)?, body.clone()),
            "PublishVersion" => Operation::PublishVersion(target(140)?, json(body)?),
            "ListVersionsByFunction" => Operation::ListVersionsByFunction(target(256)?, page()?),
            "CreateAlias" => Operation::CreateAlias(target(140)?, json(body)?),
            "GetAlias" => Operation::GetAlias(target(140)?, label("Name")),
            "UpdateAlias" => Operation::UpdateAlias(target(140)?, label("Name"), json(body)?),
            "DeleteAlias" => Operation::DeleteAlias(target(140)?, label("Name")),
            "ListAliases" => Operation::ListAliases(target(140)?, q("FunctionVersion"), page()?),
            "PutFunctionConcurrency" => Operation::PutFunctionConcurrency(target(140)?, json(body)?),
            "GetFunctionConcurrency" => Operation::GetFunctionConcurrency(target(140)?),
            "DeleteFunctionConcurrency" => Operation::DeleteFunctionConcurrency(target(140)?),
            "PutFunctionEventInvokeConfig" => Operation::PutFunctionEventInvokeConfig {
                target: target(256)?,
                input: json(body)?,
                replace: true,
            },
            "UpdateFunctionEventInvokeConfig" => Operation::PutFunctionEventInvokeConfig {
                target: target(256)?,
                input: json(body)?,
                replace: false,
            },
            "GetFunctionEventInvokeConfig" => Operation::GetFunctionEventInvokeConfig(target(256)?),
            "DeleteFunctionEventInvokeConfig" => Operation::DeleteFunctionEventInvokeConfig(target(256)?),
            "ListFunctionEventInvokeConfigs" => {
                Operation::ListFunctionEventInvokeConfigs(target(256)?, page()?)
            }
            "AddPermission" => Operation::AddPermission(target(256)?, Box::new(json(body)?)),
            "RemovePermission" => {
                Operation::RemovePermission(target(256)?, label("StatementId"), q("RevisionId"))
            }
            "GetPolicy" => Operation::GetPolicy(target(256)?),
            "TagResource" => {
                let input: TagsInput = json(body)?;
                let tags = input.tags.ok_or_else(|| missing("tags"))?;
                Operation::TagResource(label("Resource"), tags)
            }
            "UntagResource" => {
                let keys: Vec<String> =
                    query.iter().filter(|(k, _)| k == "tagKeys").map(|(_, v)| v.clone()).collect();
                if keys.is_empty() {
                    return Err(missing("tagKeys"));
                }
                Operation::UntagResource(label("Resource"), keys)
            }
            "ListTags" => Operation::ListTags(label("Resource")),
            "PutProvisionedConcurrencyConfig" => {
                Operation::PutProvisionedConcurrencyConfig(target(140)?, json(body)?)
            }
            "GetProvisionedConcurrencyConfig" => Operation::GetProvisionedConcurrencyConfig(target(140)?),
            "DeleteProvisionedConcurrencyConfig" => {
                Operation::DeleteProvisionedConcurrencyConfig(target(140)?)
            }
            "ListProvisionedConcurrencyConfigs" => {
                Operation::ListProvisionedConcurrencyConfigs(target(140)?, page()?)
            }
            "PublishLayerVersion" => Operation::PublishLayerVersion(label("LayerName"), json(body)?),
            "GetLayerVersion" => {
                Operation::GetLayerVersion(label("LayerName"), version_number(&label("VersionNumber"))?)
            }
            "GetLayerVersionByArn" => {
                Operation::GetLayerVersionByArn(q("Arn").ok_or_else(|| missing("arn"))?)
            }
            "DeleteLayerVersion" => {
                Operation::DeleteLayerVersion(label("LayerName"), version_number(&label("VersionNumber"))?)
            }
            "ListLayerVersions" => Operation::ListLayerVersions(label("LayerName"), page()?, layer_filter()),
            "ListLayers" => Operation::ListLayers(page()?, layer_filter()),
            "AddLayerVersionPermission" => Operation::AddLayerVersionPermission {
                layer: label("LayerName"),
                version: version_number(&label("VersionNumber"))?,
                input: json(body)?,
                revision_id: q("RevisionId"),
            },
            "GetLayerVersionPolicy" => {
                Operation::GetLayerVersionPolicy(label("LayerName"), version_number(&label("VersionNumber"))?)
            }
            "RemoveLayerVersionPermission" => Operation::RemoveLayerVersionPermission {
                layer: label("LayerName"),
                version: version_number(&label("VersionNumber"))?,
                statement_id: label("StatementId"),
                revision_id: q("RevisionId"),
            },
            "CreateFunctionUrlConfig" => Operation::CreateFunctionUrlConfig(target(140)?, json(body)?),
            "GetFunctionUrlConfig" => Operation::GetFunctionUrlConfig(target(140)?),
            "UpdateFunctionUrlConfig" => Operation::UpdateFunctionUrlConfig(target(140)?, json(body)?),
            "DeleteFunctionUrlConfig" => Operation::DeleteFunctionUrlConfig(target(140)?),
            "ListFunctionUrlConfigs" => Operation::ListFunctionUrlConfigs(target(140)?, page()?),
            "GetAccountSettings" => Operation::GetAccountSettings,
            "CreateEventSourceMapping" => Operation::CreateEventSourceMapping(Box::new(json(body)?)),
            "GetEventSourceMapping" => Operation::GetEventSourceMapping(label("UUID")),
            "UpdateEventSourceMapping" => {
                Operation::UpdateEventSourceMapping(label("UUID"), Box::new(json(body)?))
            }
            "DeleteEventSourceMapping" => Operation::DeleteEventSourceMapping(label("UUID")),
            "ListEventSourceMappings" => Operation::ListEventSourceMappings {
                function: q("FunctionName"),
                source: q("EventSourceArn"),
                page: page()?,
            },
            other => Operation::NotImplemented(other),
        })
    }
}

/// The operation whose route matches, with its path labels. A path that is no route of the
/// model is `UnknownOperationException`.
fn route(
    method: &Method,
    path: &str,
    query: &[(String, String)],
) -> Result<(&'static str, protocol::rest::Labels), Error> {
    for (m, template, marker, name) in ROUTES {
        if m != method {
            continue;
        }
        if let Some((k, v)) = marker
            && !query.iter().any(|(qk, qv)| qk == k && qv == v)
        {
            continue;
        }
        // The SDKs sometimes send a trailing slash on collection paths.
        let trimmed = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        if let Some(labels) = protocol::rest::match_template(template, trimmed) {
            return Ok((name, labels));
        }
    }
    Err(Error::UnknownOperationException)
}

fn version_number(raw: &str) -> Result<u64, Error> {
    raw.parse().map_err(|_| Error::SerializationException(format!("VersionNumber {raw:?} is not a number")))
}

/// `1 validation error detected: Value null at 'member' …`.
pub fn missing(member: &str) -> Error {
    Error::validation(member, "null", "Member must not be null")
}

fn json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    // serde also reads a struct from a JSON array (as a tuple); a request body must be an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Error::SerializationException("Start of list found where not expected".to_owned()));
    }
    serde_json::from_slice(body).map_err(|e| Error::SerializationException(e.to_string()))
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn invoke_input(req: &Request) -> Result<InvokeInput, Error> {
    let invocation_type = match header(req, "x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(Error::validation(
                "invocationType",
                other,
                "Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            ));
        }
    };
    let tail = match header(req, "x-amz-log-type") {
        None | Some("None") => false,
        Some("Tail") => true,
        Some(other) => {
            return Err(Error::validation(
                "logType",
                other,
                "Member must satisfy enum value set: [None, Tail]",
            ));
        }
    };
    let client_context = match header(req, "x-amz-client-context") {
        None => None,
        Some(raw) => {
            use base64::Engine as _;
            if raw.len() > MAX_CLIENT_CONTEXT {
                return Err(Error::invalid("Client context must be 3583 bytes or less."));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|_| Error::invalid("Client context must be a valid Base64-encoded JSON object."))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::invalid("Client context must be a valid Base64-encoded JSON object."))?;
            Some(text)
        }
    };
    Ok(InvokeInput { invocation_type, tail, client_context, payload: req.body().clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: Method, uri: &str, body: &str) -> Request {
        let mut r = http::Request::new(Bytes::from(body.to_owned()));
        *r.method_mut() = method;
        *r.uri_mut() = uri.parse().unwrap_or_else(|e| panic!("{e}"));
        r
    }

    #[test]
    fn routes_pick_the_operation() {
        let op = Operation::parse(&req(Method::GET, "/2015-03-31/functions/f/configuration?Qualifier=3", ""));
        match op {
            Ok(Operation::GetFunctionConfiguration(t)) => {
                assert_eq!(t, Target { name: "f".into(), qualifier: Some("3".into()) });
            }
            other => panic!("{other:?}"),
        }
        let op = Operation::parse(&req(
            Method::GET,
            "/2019-09-30/functions/f/provisioned-concurrency?List=ALL",
            "",
        ));
        assert!(matches!(op, Ok(Operation::ListProvisionedConcurrencyConfigs(..))));
        let op = Operation::parse(&req(
            Method::GET,
            "/2019-09-30/functions/f/provisioned-concurrency?Qualifier=1",
            "",
        ));
        assert!(matches!(op, Ok(Operation::GetProvisionedConcurrencyConfig(..))));
        let op = Operation::parse(&req(Method::POST, "/2018-10-31/layers/l/versions", "{}"));
        assert!(matches!(op, Ok(Operation::PublishLayerVersion(..))));
        let op = Operation::parse(&req(Method::GET, "/2018-10-31/layers?find=LayerVersion&Arn=x", ""));
        assert!(matches!(op, Ok(Operation::GetLayerVersionByArn(arn)) if arn == "x"));
        let op = Operation::parse(&req(Method::GET, "/2018-10-31/layers", ""));
        assert!(matches!(op, Ok(Operation::ListLayers(..))));
        let op = Operation::parse(&req(Method::POST, "/2021-10-31/functions/f/url", "{}"));
        assert!(matches!(op, Ok(Operation::CreateFunctionUrlConfig(..))));
        let op = Operation::parse(&req(Method::GET, "/2015-03-31/event-source-mappings", ""));
        assert!(matches!(op, Ok(Operation::ListEventSourceMappings { .. })));
        assert!(matches!(
            Operation::parse(&req(Method::GET, "/2015-03-31/nothing", "")),
            Err(Error::UnknownOperationException)
        ));
    }

    #[test]
    fn invoke_headers_are_read() {
        let mut r = req(
            Method::POST,
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations",
            "{}",
        );
        r.headers_mut().insert("x-amz-invocation-type", http::HeaderValue::from_static("Event"));
        r.headers_mut().insert("x-amz-log-type", http::HeaderValue::from_static("Tail"));
        match Operation::parse(&r) {
            Ok(Operation::Invoke(t, input)) => {
                assert_eq!(t.name, "f");
                assert_eq!(input.invocation_type, InvocationType::Event);
                assert!(input.tail);
            }
            other => panic!("{other:?}"),
        }
        r.headers_mut().insert("x-amz-invocation-type", http::HeaderValue::from_static("Later"));
        assert!(matches!(Operation::parse(&r), Err(Error::ValidationException(_))));
    }

    #[test]
    fn an_array_body_is_not_read_as_a_struct() {
        for (method, uri) in [
            (Method::PUT, "/2019-09-25/functions/f/event-invoke-config"),
            (Method::POST, "/2015-03-31/functions"),
            (Method::PUT, "/2015-03-31/functions/f/configuration"),
        ] {
            let op = Operation::parse(&req(method, uri, " [1]"));
            assert!(matches!(op, Err(Error::SerializationException(_))), "{uri}: {op:?}");
        }
    }

    #[test]
    fn bodies_of_the_wrong_type_are_serialization_errors() {
        let r = req(Method::POST, "/2015-03-31/functions", r#"{"FunctionName": "f", "MemorySize": "lots"}"#);
        assert!(matches!(Operation::parse(&r), Err(Error::SerializationException(_))));
    }
}
