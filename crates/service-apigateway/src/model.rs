//! API Gateway's persisted records and where they live in the key-value store.
//!
//! - `apigateway.httpapis`, keyed `{account}/{region}/{apiId}`: one [`HttpApi`] holding the
//!   API with its routes, integrations, stages and deployments.
//! - `apigateway.restapis`, keyed the same way: one [`RestApi`] holding the resource tree with
//!   its methods and integrations, stages and deployments.
//!
//! - `apigateway.apikeys` and `apigateway.usageplans`, keyed `{account}/{region}/{id}`: one
//!   [`ApiKey`] or [`UsagePlan`] each (a plan lists the ids of its keys); both are per account,
//!   not per API, as in AWS.
//!
//! - `apigateway.domainnames`, keyed `{account}/{region}/{domainName}`: one [`DomainName`]
//!   with its base path (v1) / API (v2) mappings; both models share the one namespace, as in
//!   AWS, so a mapping made through either shows in both.
//!
//! One record per API keeps every change atomic (a route can never point at a half-written
//! integration) and lets the data plane resolve a request from one cached value. A deployment
//! freezes what it deploys (routes and integrations, or the resource tree) inside itself, so
//! later edits reach callers only through the next deployment (or `autoDeploy`).
//!
//! Records are JSON with a schema version `v`, their members in the wire's camelCase, so that a
//! record minus its bookkeeping is what the Get operations answer.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

pub const HTTP_APIS: &str = "apigateway.httpapis";
pub const REST_APIS: &str = "apigateway.restapis";
pub const API_KEYS: &str = "apigateway.apikeys";
pub const USAGE_PLANS: &str = "apigateway.usageplans";
pub const DOMAIN_NAMES: &str = "apigateway.domainnames";

/// The schema version this code writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// API Gateway's ids: ten lowercase alphanumerics (`a1b2c3d4e5`), for APIs and resources alike.
pub fn new_id() -> String {
    types::ids::random_chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 10)
}

/// Route, integration and deployment ids of HTTP APIs are seven characters in AWS.
pub fn short_id() -> String {
    types::ids::random_chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 7)
}

pub fn api_key(account: &str, region: &str, id: &str) -> Vec<u8> {
    format!("{account}/{region}/{id}").into_bytes()
}

/// Unix ms as the REST API model's timestamps: rest-json's default, epoch seconds.
pub fn epoch_seconds(ms: i64) -> serde_json::Value {
    serde_json::json!(ms / 1000)
}

/// Unix ms as the ISO-8601 timestamp the HTTP API model asks for (`timestampFormat: iso8601`),
/// to the second as AWS writes it.
pub fn iso(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Which tenant owns an API; the data plane finds APIs by id alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub account: String,
    pub region: String,
}

impl Owner {
    pub fn of(scope: &Scope) -> Owner {
        Owner { account: scope.account.to_string(), region: scope.region.to_string() }
    }

    pub fn owns(&self, scope: &Scope) -> bool {
        self.account == scope.account.as_str() && self.region == scope.region.as_str()
    }
}

// ---- HTTP APIs (v2) ------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApi {
    pub v: u32,
    pub owner: Owner,
    pub api_id: String,
    pub name: String,
    pub protocol_type: String,
    pub route_selection_expression: String,
    pub api_key_selection_expression: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    pub disable_execute_api_endpoint: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cors_configuration: Option<Cors>,
    pub created_ms: i64,
    pub tags: BTreeMap<String, String>,
    pub routes: BTreeMap<String, Route>,
    pub integrations: BTreeMap<String, Integration>,
    pub stages: BTreeMap<String, Stage>,
    pub deployments: BTreeMap<String, Deployment>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, HttpAuthorizer>,
}

/// A Lambda (`REQUEST`) or `JWT` authorizer of an HTTP API, in its wire shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpAuthorizer {
    pub authorizer_id: String,
    pub name: String,
    pub authorizer_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_credentials_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_payload_format_version: Option<String>,
    pub authorizer_result_ttl_in_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub enable_simple_responses: Option<bool>,
    pub identity_source: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub identity_validation_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jwt_configuration: Option<JwtConfiguration>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtConfiguration {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub audience: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub issuer: Option<String>,
}

/// An HTTP API stage's route settings (`defaultRouteSettings`, `routeSettings[routeKey]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteSettings {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub data_trace_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detailed_metrics_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub logging_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throttling_burst_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throttling_rate_limit: Option<f64>,
}

/// CORS as HTTP APIs configure it; absent lists mean "none".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allow_credentials: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allow_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allow_methods: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub allow_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expose_headers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_age: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub route_id: String,
    pub route_key: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target: Option<String>,
    pub authorization_type: String,
    pub api_key_required: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorization_scopes: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub integration_id: String,
    pub integration_type: String,
    /// An AWS service action (`SQS-SendMessage`, ...) instead of a URI: see `dataplane/service.rs`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub integration_subtype: Option<String>,
    /// The role API Gateway would call the service with; kept, never evaluated.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub credentials_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub integration_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub integration_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub payload_format_version: Option<String>,
    pub connection_type: String,
    pub timeout_in_millis: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_parameters: Option<BTreeMap<String, String>>,
    /// Response parameter mappings by the backend's status code.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_parameters: Option<BTreeMap<String, BTreeMap<String, String>>>,
    /// True for the integration quick create made; AWS reports it and refuses some edits.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub api_gateway_managed: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    pub stage_name: String,
    pub auto_deploy: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub deployment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub stage_variables: BTreeMap<String, String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub tags: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub api_gateway_managed: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_route_settings: Option<RouteSettings>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub route_settings: BTreeMap<String, RouteSettings>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_log_settings: Option<AccessLogSettings>,
}

/// Where a stage's access log lines go and what they say (`$context` variables).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogSettings {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub format: Option<String>,
}

/// What a deployment of an HTTP API froze.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub deployment_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub auto_deployed: bool,
    pub created_ms: i64,
    pub routes: BTreeMap<String, Route>,
    pub integrations: BTreeMap<String, Integration>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, HttpAuthorizer>,
}

// ---- REST APIs (v1) ------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApi {
    pub v: u32,
    pub owner: Owner,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
    pub api_key_source: String,
    pub endpoint_types: Vec<String>,
    pub binary_media_types: Vec<String>,
    pub disable_execute_api_endpoint: bool,
    pub root_resource_id: String,
    pub created_ms: i64,
    pub tags: BTreeMap<String, String>,
    pub resources: BTreeMap<String, Resource>,
    pub stages: BTreeMap<String, RestStage>,
    pub deployments: BTreeMap<String, RestDeployment>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, RestAuthorizer>,
    /// Models by name (`Empty` and `Error` come with every new API).
    #[serde(default)]
    pub models: BTreeMap<String, RestModel>,
    #[serde(default)]
    pub request_validators: BTreeMap<String, RequestValidator>,
    /// Customized gateway responses by response type; types not here answer their defaults.
    #[serde(default)]
    pub gateway_responses: BTreeMap<String, GatewayResponse>,
}

/// A model: a JSON Schema (draft 4) for a content type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestModel {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub schema: Option<String>,
    pub content_type: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestValidator {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    pub validate_request_body: bool,
    pub validate_request_parameters: bool,
}

/// A customized gateway response (PutGatewayResponse); `status_code` absent keeps the type's own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponse {
    pub response_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub response_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub response_templates: BTreeMap<String, String>,
}

/// A custom domain name, shared by both models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainName {
    pub v: u32,
    pub owner: Owner,
    pub domain_name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub regional_certificate_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub regional_certificate_name: Option<String>,
    /// `EDGE` or `REGIONAL`.
    pub endpoint_type: String,
    pub security_policy: String,
    /// The random part of the AWS-side names (`d-{id}.execute-api…`, `{id}.cloudfront.net`).
    pub alias_id: String,
    pub created_ms: i64,
    pub tags: BTreeMap<String, String>,
    pub mappings: Vec<DomainMapping>,
}

/// A base path mapping (v1) is an API mapping (v2): `key` is the base path, empty for the root
/// (v1's `(none)`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainMapping {
    pub id: String,
    pub api_id: String,
    pub stage: String,
    pub key: String,
}

/// A REST API authorizer in its wire shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestAuthorizer {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "providerARNs", skip_serializing_if = "Option::is_none", default)]
    pub provider_arns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_credentials: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub identity_source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: i64,
}

/// One entry of a REST stage's `methodSettings`, with the values AWS fills in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodSetting {
    pub metrics_enabled: bool,
    pub logging_level: String,
    pub data_trace_enabled: bool,
    pub throttling_burst_limit: i64,
    pub throttling_rate_limit: f64,
    pub caching_enabled: bool,
    pub cache_ttl_in_seconds: i64,
    pub cache_data_encrypted: bool,
    pub require_authorization_for_cache_control: bool,
    pub unauthorized_cache_control_header_strategy: String,
}

impl Default for MethodSetting {
    fn default() -> MethodSetting {
        // The account-level limits: a setting that was never patched does not throttle below them.
        MethodSetting {
            metrics_enabled: false,
            logging_level: "OFF".to_owned(),
            data_trace_enabled: false,
            throttling_burst_limit: 5000,
            throttling_rate_limit: 10000.0,
            caching_enabled: false,
            cache_ttl_in_seconds: 300,
            cache_data_encrypted: false,
            require_authorization_for_cache_control: true,
            unauthorized_cache_control_header_strategy: "SUCCEED_WITH_RESPONSE_HEADER".to_owned(),
        }
    }
}

/// An API key (REST APIs), per account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub v: u32,
    pub owner: Owner,
    pub id: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub enabled: bool,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub stage_keys: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

/// A usage plan with the ids of its API keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub v: u32,
    pub owner: Owner,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub api_stages: Vec<ApiStage>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throttle: Option<Throttle>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub quota: Option<Quota>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub product_code: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub keys: std::collections::BTreeSet<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStage {
    #[serde(default)]
    pub api_id: String,
    #[serde(default)]
    pub stage: String,
    /// Per method (`/pets/GET`), overriding the plan's throttle.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub throttle: Option<BTreeMap<String, Throttle>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttle {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub burst_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rate_limit: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    #[serde(default)]
    pub limit: i64,
    #[serde(default)]
    pub offset: i64,
    #[serde(default)]
    pub period: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path_part: Option<String>,
    pub path: String,
    /// By HTTP method (`GET`, `ANY` …).
    pub methods: BTreeMap<String, Method>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Method {
    pub http_method: String,
    pub authorization_type: String,
    pub api_key_required: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorizer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub operation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_parameters: Option<BTreeMap<String, bool>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_models: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_validator_id: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub method_responses: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub method_integration: Option<RestIntegration>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestIntegration {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub http_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uri: Option<String>,
    pub passthrough_behavior: String,
    pub timeout_in_millis: i64,
    pub cache_namespace: String,
    pub cache_key_parameters: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_templates: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub integration_responses: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestStage {
    pub stage_name: String,
    pub deployment_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub variables: BTreeMap<String, String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub tags: BTreeMap<String, String>,
    /// By `{resourcePath with / as ~1}/{METHOD}`, or `*/*` for every method.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub method_settings: BTreeMap<String, MethodSetting>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_log_settings: Option<AccessLogSettings>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestDeployment {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub description: Option<String>,
    pub created_ms: i64,
    /// The resource tree as it was deployed.
    pub resources: BTreeMap<String, Resource>,
    /// The authorizers as they were deployed.
    #[serde(default)]
    pub authorizers: BTreeMap<String, RestAuthorizer>,
    /// Models, validators and gateway responses as they were deployed.
    #[serde(default)]
    pub models: BTreeMap<String, RestModel>,
    #[serde(default)]
    pub request_validators: BTreeMap<String, RequestValidator>,
    #[serde(default)]
    pub gateway_responses: BTreeMap<String, GatewayResponse>,
}

pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Records are plain structs with string keys: serialising them cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, StorageError> {
    let value: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("apigateway record: {e}")))?;
    if value.get("v").and_then(serde_json::Value::as_u64) != Some(u64::from(SCHEMA_VERSION)) {
        return Err(StorageError::Corrupt("apigateway record of an unknown schema version".to_owned()));
    }
    serde_json::from_value(value).map_err(|e| StorageError::Corrupt(format!("apigateway record: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_aws() {
        let id = new_id();
        assert_eq!(id.len(), 10);
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }
}
