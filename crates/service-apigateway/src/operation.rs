//! Request → [`Operation`]: the route tables of both models pick the operation by method and
//! path; the labels and the JSON body become a typed input. No IO here, and nothing is acted on
//! until the whole request has been read.

use std::collections::BTreeMap;

use http::Method;
use protocol::Request;
use protocol::rest::match_template;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::model::{ApiStage, Cors, JwtConfiguration, Quota, RouteSettings, Throttle};
use crate::routes::{HTTP_API_ROUTES, REST_API_ROUTES, RouteRow};

/// CreateApi / UpdateApi input; `target`, `routeKey` and `credentialsArn` are quick create's.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiInput {
    pub name: Option<String>,
    pub protocol_type: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub route_selection_expression: Option<String>,
    pub api_key_selection_expression: Option<String>,
    pub disable_execute_api_endpoint: Option<bool>,
    pub cors_configuration: Option<Cors>,
    pub tags: Option<BTreeMap<String, String>>,
    pub target: Option<String>,
    pub route_key: Option<String>,
    pub credentials_arn: Option<String>,
}

/// CreateRoute / UpdateRoute input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteInput {
    pub route_key: Option<String>,
    pub target: Option<String>,
    pub authorization_type: Option<String>,
    pub api_key_required: Option<bool>,
    pub operation_name: Option<String>,
    pub authorizer_id: Option<String>,
    pub authorization_scopes: Option<Vec<String>>,
}

/// ImportApi / ReimportApi input: the document travels as a string member.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ImportInput {
    pub body: Option<String>,
}

impl ImportInput {
    fn document(self) -> Result<String, Error> {
        self.body.filter(|b| !b.trim().is_empty()).ok_or_else(|| Error::bad("Body is required"))
    }
}

/// CreateIntegration / UpdateIntegration input (HTTP APIs).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationInput {
    pub integration_type: Option<String>,
    pub integration_subtype: Option<String>,
    pub credentials_arn: Option<String>,
    pub integration_uri: Option<String>,
    pub integration_method: Option<String>,
    pub payload_format_version: Option<String>,
    pub connection_type: Option<String>,
    pub timeout_in_millis: Option<i64>,
    pub description: Option<String>,
    pub request_parameters: Option<BTreeMap<String, String>>,
    pub response_parameters: Option<BTreeMap<String, BTreeMap<String, String>>>,
}

/// CreateStage / UpdateStage input (HTTP APIs).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageInput {
    pub stage_name: Option<String>,
    pub auto_deploy: Option<bool>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub stage_variables: Option<BTreeMap<String, String>>,
    pub tags: Option<BTreeMap<String, String>>,
    pub default_route_settings: Option<RouteSettings>,
    pub route_settings: Option<BTreeMap<String, RouteSettings>>,
    pub access_log_settings: Option<crate::model::AccessLogSettings>,
}

/// CreateAuthorizer input (REST APIs).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestAuthorizerInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(rename = "providerARNs")]
    pub provider_arns: Option<Vec<String>>,
    pub auth_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials: Option<String>,
    pub identity_source: Option<String>,
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
}

/// CreateAuthorizer / UpdateAuthorizer input (HTTP APIs).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpAuthorizerInput {
    pub name: Option<String>,
    pub authorizer_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials_arn: Option<String>,
    pub authorizer_payload_format_version: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<i64>,
    pub enable_simple_responses: Option<bool>,
    pub identity_source: Option<Vec<String>>,
    pub identity_validation_expression: Option<String>,
    pub jwt_configuration: Option<JwtConfiguration>,
}

/// TestInvokeAuthorizer input: the request to authorize.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TestInvokeAuthorizerInput {
    pub headers: Option<BTreeMap<String, String>>,
    pub multi_value_headers: Option<BTreeMap<String, Vec<String>>>,
    pub path_with_query_string: Option<String>,
    pub body: Option<String>,
    pub stage_variables: Option<BTreeMap<String, String>>,
    pub additional_context: Option<BTreeMap<String, String>>,
}

/// CreateApiKey input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub generate_distinct_id: Option<bool>,
    pub value: Option<String>,
    pub stage_keys: Option<Vec<StageKey>>,
    pub customer_id: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageKey {
    pub rest_api_id: Option<String>,
    pub stage_name: Option<String>,
}

/// CreateUsagePlan input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub api_stages: Option<Vec<ApiStage>>,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateUsagePlanKey input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlanKeyInput {
    pub key_id: Option<String>,
    pub key_type: Option<String>,
}

/// CreateDeployment input, both models: v2 names a stage `stageName`, v1 too, and v1 adds
/// `stageDescription` and `variables` for the stage it creates or updates.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInput {
    pub stage_name: Option<String>,
    pub description: Option<String>,
    pub stage_description: Option<String>,
    pub variables: Option<BTreeMap<String, String>>,
}

/// CreateRestApi input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestApiInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub version: Option<String>,
    pub api_key_source: Option<String>,
    pub binary_media_types: Option<Vec<String>>,
    pub disable_execute_api_endpoint: Option<bool>,
    pub endpoint_configuration: Option<EndpointConfiguration>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct EndpointConfiguration {
    pub types: Option<Vec<String>>,
}

/// PutMethod input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodInput {
    pub authorization_type: Option<String>,
    pub api_key_required: Option<bool>,
    pub authorizer_id: Option<String>,
    pub operation_name: Option<String>,
    pub request_parameters: Option<BTreeMap<String, bool>>,
    pub request_models: Option<BTreeMap<String, String>>,
    pub request_validator_id: Option<String>,
}

/// CreateModel input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub schema: Option<String>,
    pub content_type: Option<String>,
}

/// CreateRequestValidator input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestValidatorInput {
    pub name: Option<String>,
    pub validate_request_body: Option<bool>,
    pub validate_request_parameters: Option<bool>,
}

/// PutGatewayResponse input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayResponseInput {
    pub status_code: Option<String>,
    pub response_parameters: Option<BTreeMap<String, String>>,
    pub response_templates: Option<BTreeMap<String, String>>,
}

/// CreateDomainName input (REST APIs' model).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainNameInput {
    pub domain_name: Option<String>,
    pub certificate_name: Option<String>,
    pub certificate_arn: Option<String>,
    pub regional_certificate_name: Option<String>,
    pub regional_certificate_arn: Option<String>,
    pub endpoint_configuration: Option<EndpointConfiguration>,
    pub security_policy: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// CreateDomainName / UpdateDomainName input (HTTP APIs' model).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDomainNameInput {
    pub domain_name: Option<String>,
    pub domain_name_configurations: Option<Vec<DomainNameConfiguration>>,
    pub tags: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainNameConfiguration {
    pub certificate_arn: Option<String>,
    pub certificate_name: Option<String>,
    pub endpoint_type: Option<String>,
    pub security_policy: Option<String>,
}

/// CreateBasePathMapping input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasePathMappingInput {
    pub base_path: Option<String>,
    pub rest_api_id: Option<String>,
    pub stage: Option<String>,
}

/// CreateApiMapping / UpdateApiMapping input.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMappingInput {
    pub api_id: Option<String>,
    pub api_mapping_key: Option<String>,
    pub stage: Option<String>,
}

/// PutIntegration input (REST APIs).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestIntegrationInput {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The wire name is `httpMethod` (the model's `integrationHttpMethod`).
    #[serde(rename = "httpMethod")]
    pub integration_http_method: Option<String>,
    pub uri: Option<String>,
    pub passthrough_behavior: Option<String>,
    pub timeout_in_millis: Option<i64>,
    pub request_templates: Option<BTreeMap<String, String>>,
    pub request_parameters: Option<BTreeMap<String, String>>,
    pub cache_namespace: Option<String>,
    pub cache_key_parameters: Option<Vec<String>>,
}

/// CreateStage input (REST APIs).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestStageInput {
    pub stage_name: Option<String>,
    pub deployment_id: Option<String>,
    pub description: Option<String>,
    pub variables: Option<BTreeMap<String, String>>,
    pub tags: Option<BTreeMap<String, String>>,
}

/// One JSON Patch-like operation of the REST API's Update* calls.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct PatchOp {
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub path: String,
    pub value: Option<String>,
    pub from: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatchInput {
    #[serde(default)]
    patch_operations: Vec<PatchOp>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
struct TagsInput {
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceInput {
    path_part: Option<String>,
}

/// A REST API method address: API, resource, HTTP method.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodAddr {
    pub api: String,
    pub resource: String,
    pub method: String,
}

/// Every operation Nimbus serves, fully parsed.
#[derive(Clone, Debug, PartialEq)]
pub enum Operation {
    // HTTP APIs (v2).
    CreateApi(Box<ApiInput>),
    /// ImportApi: the OpenAPI document (the request's `body` member).
    ImportApi(String),
    /// ReimportApi: the API and the OpenAPI document.
    ReimportApi(String, String),
    /// ExportApi: the API, the specification, JSON or YAML, extensions, the stage.
    ExportApi {
        api: String,
        specification: String,
        yaml: bool,
        extensions: bool,
        stage: Option<String>,
    },
    GetApi(String),
    GetApis,
    UpdateApi(String, Box<ApiInput>),
    DeleteApi(String),
    DeleteCorsConfiguration(String),
    CreateRoute(String, RouteInput),
    GetRoute(String, String),
    GetRoutes(String),
    UpdateRoute(String, String, RouteInput),
    DeleteRoute(String, String),
    CreateIntegration(String, IntegrationInput),
    GetIntegration(String, String),
    GetIntegrations(String),
    UpdateIntegration(String, String, IntegrationInput),
    DeleteIntegration(String, String),
    CreateStage(String, StageInput),
    GetStage(String, String),
    GetStages(String),
    UpdateStage(String, String, StageInput),
    DeleteAccessLogSettings(String, String),
    DeleteStage(String, String),
    CreateDeployment(String, DeploymentInput),
    GetDeployment(String, String),
    GetDeployments(String),
    DeleteDeployment(String, String),
    // REST APIs (v1).
    CreateRestApi(RestApiInput),
    /// ImportRestApi: the OpenAPI / Swagger document as sent.
    ImportRestApi(bytes::Bytes),
    /// GetExport (REST): the API, the stage, the format, YAML (by `Accept`) and extensions.
    GetRestExport {
        api: String,
        stage: String,
        spec: crate::rest_export::Spec,
        yaml: bool,
        extensions: crate::rest_export::Extensions,
    },
    /// PutRestApi: the API, `mode` (`merge` unless `overwrite`) and the document.
    PutRestApi {
        api: String,
        overwrite: bool,
        body: bytes::Bytes,
    },
    GetRestApi(String),
    GetRestApis,
    UpdateRestApi(String, Vec<PatchOp>),
    DeleteRestApi(String),
    GetResources {
        api: String,
        embed_methods: bool,
    },
    GetResource(String, String),
    CreateResource {
        api: String,
        parent: String,
        path_part: Option<String>,
    },
    DeleteResource(String, String),
    PutMethod(MethodAddr, MethodInput),
    GetMethod(MethodAddr),
    UpdateMethod(MethodAddr, Vec<PatchOp>),
    DeleteMethod(MethodAddr),
    PutRestIntegration(MethodAddr, RestIntegrationInput),
    GetRestIntegration(MethodAddr),
    DeleteRestIntegration(MethodAddr),
    PutMethodResponse(MethodAddr, String, serde_json::Value),
    GetMethodResponse(MethodAddr, String),
    PutIntegrationResponse(MethodAddr, String, serde_json::Value),
    GetIntegrationResponse(MethodAddr, String),
    CreateRestDeployment(String, DeploymentInput),
    GetRestDeployment(String, String),
    GetRestDeployments(String),
    DeleteRestDeployment(String, String),
    CreateRestStage(String, RestStageInput),
    GetRestStage(String, String),
    GetRestStages(String),
    UpdateRestStage(String, String, Vec<PatchOp>),
    DeleteRestStage(String, String),
    // Tags, both models: by resource ARN.
    TagResource(String, BTreeMap<String, String>),
    UntagResource(String, Vec<String>),
    GetTags(String),
    // Authorizers: REST (patched) and HTTP (merged) APIs.
    CreateAuthorizer(String, RestAuthorizerInput),
    GetAuthorizer(String, String),
    GetAuthorizers(String),
    UpdateAuthorizer(String, String, Vec<PatchOp>),
    DeleteAuthorizer(String, String),
    TestInvokeAuthorizer(String, String, TestInvokeAuthorizerInput),
    /// FlushStageAuthorizersCache (REST) and ResetAuthorizersCache (HTTP): API and stage.
    FlushAuthorizersCache {
        api: String,
        stage: String,
        http: bool,
    },
    CreateHttpAuthorizer(String, HttpAuthorizerInput),
    GetHttpAuthorizer(String, String),
    GetHttpAuthorizers(String),
    UpdateHttpAuthorizer(String, String, HttpAuthorizerInput),
    DeleteHttpAuthorizer(String, String),
    // API keys and usage plans (REST APIs), per account.
    CreateApiKey(ApiKeyInput),
    GetApiKey {
        id: String,
        include_value: bool,
    },
    GetApiKeys {
        include_values: bool,
        name: Option<String>,
        customer_id: Option<String>,
    },
    UpdateApiKey(String, Vec<PatchOp>),
    DeleteApiKey(String),
    CreateUsagePlan(UsagePlanInput),
    GetUsagePlan(String),
    GetUsagePlans {
        key_id: Option<String>,
    },
    UpdateUsagePlan(String, Vec<PatchOp>),
    DeleteUsagePlan(String),
    CreateUsagePlanKey(String, UsagePlanKeyInput),
    GetUsagePlanKey(String, String),
    /// GetUsage: the plan, one key or all, the first and last day (`yyyy-MM-dd`).
    GetUsage {
        plan: String,
        key_id: Option<String>,
        start: String,
        end: String,
    },
    /// ImportApiKeys: the CSV file and `failonwarnings`.
    ImportApiKeys {
        body: bytes::Bytes,
        fail_on_warnings: bool,
    },
    /// UpdateUsage: the plan, the key, `replace /remaining`.
    UpdateUsage(String, String, Vec<PatchOp>),
    GetUsagePlanKeys(String),
    DeleteUsagePlanKey(String, String),
    // Models, request validators and gateway responses (REST APIs): API, then name, id or type.
    CreateModel(String, ModelInput),
    GetModel(String, String),
    GetModels(String),
    UpdateModel(String, String, Vec<PatchOp>),
    DeleteModel(String, String),
    GetModelTemplate(String, String),
    CreateRequestValidator(String, RequestValidatorInput),
    GetRequestValidator(String, String),
    GetRequestValidators(String),
    UpdateRequestValidator(String, String, Vec<PatchOp>),
    DeleteRequestValidator(String, String),
    PutGatewayResponse(String, String, GatewayResponseInput),
    GetGatewayResponse(String, String),
    GetGatewayResponses(String),
    UpdateGatewayResponse(String, String, Vec<PatchOp>),
    DeleteGatewayResponse(String, String),
    // Custom domain names, both models: domain name, then base path or mapping id.
    CreateDomainName(DomainNameInput),
    GetDomainName(String),
    GetDomainNames,
    UpdateDomainName(String, Vec<PatchOp>),
    DeleteDomainName(String),
    CreateBasePathMapping(String, BasePathMappingInput),
    GetBasePathMapping(String, String),
    GetBasePathMappings(String),
    UpdateBasePathMapping(String, String, Vec<PatchOp>),
    DeleteBasePathMapping(String, String),
    CreateHttpDomainName(HttpDomainNameInput),
    GetHttpDomainName(String),
    GetHttpDomainNames,
    UpdateHttpDomainName(String, HttpDomainNameInput),
    DeleteHttpDomainName(String),
    CreateApiMapping(String, ApiMappingInput),
    GetApiMapping(String, String),
    GetApiMappings(String),
    UpdateApiMapping(String, String, ApiMappingInput),
    DeleteApiMapping(String, String),
    /// An operation of the models that Nimbus does not serve yet.
    NotImplemented(&'static str),
}

impl Operation {
    pub fn parse(req: &Request) -> Result<Operation, Error> {
        let path = req.uri().path();
        let query = req.uri().query().unwrap_or_default();
        let table = if path.starts_with("/v2/") { HTTP_API_ROUTES } else { REST_API_ROUTES };
        let (name, labels) =
            find(table, req.method(), path, query).ok_or(Error::UnknownOperationException)?;
        let label =
            |n: &str| labels.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()).unwrap_or_default();
        let body = req.body();
        let v2 = path.starts_with("/v2/");
        let api = || if path.starts_with("/v2/") { label("apiId") } else { label("restapi_id") };
        let addr = || MethodAddr { api: api(), resource: label("resource_id"), method: label("http_method") };
        let op = match name {
            "CreateApi" => Operation::CreateApi(Box::new(json(body)?)),
            "ImportApi" => Operation::ImportApi(json::<ImportInput>(body)?.document()?),
            "ReimportApi" => Operation::ReimportApi(api(), json::<ImportInput>(body)?.document()?),
            "ExportApi" => Operation::ExportApi {
                api: api(),
                specification: label("specification"),
                yaml: match param(query, "outputType").as_deref() {
                    Some("YAML") => true,
                    Some("JSON") => false,
                    _ => return Err(Error::bad("OutputType must be JSON or YAML")),
                },
                extensions: param(query, "includeExtensions")
                    .is_none_or(|v| !v.eq_ignore_ascii_case("false")),
                stage: param(query, "stageName"),
            },
            "GetApi" => Operation::GetApi(api()),
            "GetApis" => Operation::GetApis,
            "UpdateApi" => Operation::UpdateApi(api(), Box::new(json(body)?)),
            "DeleteApi" => Operation::DeleteApi(api()),
            "DeleteCorsConfiguration" => Operation::DeleteCorsConfiguration(api()),
            "CreateRoute" => Operation::CreateRoute(api(), json(body)?),
            "GetRoute" => Operation::GetRoute(api(), label("routeId")),
            "GetRoutes" => Operation::GetRoutes(api()),
            "UpdateRoute" => Operation::UpdateRoute(api(), label("routeId"), json(body)?),
            "DeleteRoute" => Operation::DeleteRoute(api(), label("routeId")),
            "CreateIntegration" => Operation::CreateIntegration(api(), json(body)?),
            "GetIntegration" if path.starts_with("/v2/") => {
                Operation::GetIntegration(api(), label("integrationId"))
            }
            "GetIntegrations" => Operation::GetIntegrations(api()),
            "UpdateIntegration" if path.starts_with("/v2/") => {
                Operation::UpdateIntegration(api(), label("integrationId"), json(body)?)
            }
            "DeleteIntegration" if path.starts_with("/v2/") => {
                Operation::DeleteIntegration(api(), label("integrationId"))
            }
            "CreateStage" if path.starts_with("/v2/") => Operation::CreateStage(api(), json(body)?),
            "GetStage" if path.starts_with("/v2/") => Operation::GetStage(api(), label("stageName")),
            "GetStages" if path.starts_with("/v2/") => Operation::GetStages(api()),
            "UpdateStage" if path.starts_with("/v2/") => {
                Operation::UpdateStage(api(), label("stageName"), json(body)?)
            }
            "DeleteStage" if path.starts_with("/v2/") => Operation::DeleteStage(api(), label("stageName")),
            "DeleteAccessLogSettings" => Operation::DeleteAccessLogSettings(api(), label("stageName")),
            "CreateDeployment" if path.starts_with("/v2/") => Operation::CreateDeployment(api(), json(body)?),
            "GetDeployment" if path.starts_with("/v2/") => {
                Operation::GetDeployment(api(), label("deploymentId"))
            }
            "GetDeployments" if path.starts_with("/v2/") => Operation::GetDeployments(api()),
            "DeleteDeployment" if path.starts_with("/v2/") => {
                Operation::DeleteDeployment(api(), label("deploymentId"))
            }
            "TagResource" => {
                let input: TagsInput = json(body)?;
                Operation::TagResource(tag_arn(&labels), input.tags)
            }
            "UntagResource" => {
                let keys = form_urlencoded::parse(query.as_bytes())
                    .filter(|(k, _)| k == "tagKeys")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                Operation::UntagResource(tag_arn(&labels), keys)
            }
            "GetTags" => Operation::GetTags(tag_arn(&labels)),
            "CreateAuthorizer" if path.starts_with("/v2/") => {
                Operation::CreateHttpAuthorizer(api(), json(body)?)
            }
            "GetAuthorizer" if path.starts_with("/v2/") => {
                Operation::GetHttpAuthorizer(api(), label("authorizerId"))
            }
            "GetAuthorizers" if path.starts_with("/v2/") => Operation::GetHttpAuthorizers(api()),
            "UpdateAuthorizer" if path.starts_with("/v2/") => {
                Operation::UpdateHttpAuthorizer(api(), label("authorizerId"), json(body)?)
            }
            "DeleteAuthorizer" if path.starts_with("/v2/") => {
                Operation::DeleteHttpAuthorizer(api(), label("authorizerId"))
            }
            "CreateAuthorizer" => Operation::CreateAuthorizer(api(), json(body)?),
            "GetAuthorizer" => Operation::GetAuthorizer(api(), label("authorizer_id")),
            "GetAuthorizers" => Operation::GetAuthorizers(api()),
            "UpdateAuthorizer" => Operation::UpdateAuthorizer(api(), label("authorizer_id"), patch(body)?),
            "DeleteAuthorizer" => Operation::DeleteAuthorizer(api(), label("authorizer_id")),
            "TestInvokeAuthorizer" => {
                Operation::TestInvokeAuthorizer(api(), label("authorizer_id"), json(body)?)
            }
            "FlushStageAuthorizersCache" => {
                Operation::FlushAuthorizersCache { api: api(), stage: label("stage_name"), http: false }
            }
            "ResetAuthorizersCache" => {
                Operation::FlushAuthorizersCache { api: api(), stage: label("stageName"), http: true }
            }
            "CreateApiKey" => Operation::CreateApiKey(json(body)?),
            "GetApiKey" => {
                Operation::GetApiKey { id: label("api_Key"), include_value: flag(query, "includeValue") }
            }
            "GetApiKeys" => Operation::GetApiKeys {
                include_values: flag(query, "includeValues"),
                name: param(query, "name"),
                customer_id: param(query, "customerId"),
            },
            "UpdateApiKey" => Operation::UpdateApiKey(label("api_Key"), patch(body)?),
            "DeleteApiKey" => Operation::DeleteApiKey(label("api_Key")),
            "CreateUsagePlan" => Operation::CreateUsagePlan(json(body)?),
            "GetUsagePlan" => Operation::GetUsagePlan(label("usageplanId")),
            "GetUsagePlans" => Operation::GetUsagePlans { key_id: param(query, "keyId") },
            "UpdateUsagePlan" => Operation::UpdateUsagePlan(label("usageplanId"), patch(body)?),
            "DeleteUsagePlan" => Operation::DeleteUsagePlan(label("usageplanId")),
            "CreateUsagePlanKey" => Operation::CreateUsagePlanKey(label("usageplanId"), json(body)?),
            "GetUsagePlanKey" => Operation::GetUsagePlanKey(label("usageplanId"), label("keyId")),
            "GetUsage" => Operation::GetUsage {
                plan: label("usageplanId"),
                key_id: param(query, "keyId"),
                start: param(query, "startDate").unwrap_or_default(),
                end: param(query, "endDate").unwrap_or_default(),
            },
            "ImportApiKeys" => {
                if !param(query, "format").is_some_and(|f| f.eq_ignore_ascii_case("csv")) {
                    return Err(Error::bad("Invalid format specified. Only 'csv' is supported."));
                }
                Operation::ImportApiKeys {
                    body: body.clone(),
                    fail_on_warnings: flag(query, "failonwarnings"),
                }
            }
            "UpdateUsage" => Operation::UpdateUsage(label("usageplanId"), label("keyId"), patch(body)?),
            "GetUsagePlanKeys" => Operation::GetUsagePlanKeys(label("usageplanId")),
            "DeleteUsagePlanKey" => Operation::DeleteUsagePlanKey(label("usageplanId"), label("keyId")),
            "CreateRestApi" => Operation::CreateRestApi(json(body)?),
            "ImportRestApi" => Operation::ImportRestApi(body.clone()),
            "GetExport" => Operation::GetRestExport {
                api: api(),
                stage: label("stage_name"),
                spec: crate::rest_export::Spec::parse(&label("export_type"))?,
                yaml: req
                    .headers()
                    .get(http::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("yaml")),
                extensions: crate::rest_export::Extensions::parse(param(query, "extensions").as_deref())?,
            },
            "PutRestApi" => Operation::PutRestApi {
                api: api(),
                overwrite: form_urlencoded::parse(query.as_bytes())
                    .any(|(k, v)| k == "mode" && v == "overwrite"),
                body: body.clone(),
            },
            "GetRestApi" => Operation::GetRestApi(api()),
            "GetRestApis" => Operation::GetRestApis,
            "UpdateRestApi" => Operation::UpdateRestApi(api(), patch(body)?),
            "DeleteRestApi" => Operation::DeleteRestApi(api()),
            "GetResources" => {
                let embed_methods = form_urlencoded::parse(query.as_bytes())
                    .any(|(k, v)| k == "embed" && v.split(',').any(|e| e == "methods"));
                Operation::GetResources { api: api(), embed_methods }
            }
            "GetResource" => Operation::GetResource(api(), label("resource_id")),
            "CreateResource" => {
                let input: ResourceInput = json(body)?;
                Operation::CreateResource {
                    api: api(),
                    parent: label("parent_id"),
                    path_part: input.path_part,
                }
            }
            "DeleteResource" => Operation::DeleteResource(api(), label("resource_id")),
            "PutMethod" => Operation::PutMethod(addr(), json(body)?),
            "GetMethod" => Operation::GetMethod(addr()),
            "UpdateMethod" => Operation::UpdateMethod(addr(), patch(body)?),
            "DeleteMethod" => Operation::DeleteMethod(addr()),
            "PutIntegration" => Operation::PutRestIntegration(addr(), json(body)?),
            "GetIntegration" => Operation::GetRestIntegration(addr()),
            "DeleteIntegration" => Operation::DeleteRestIntegration(addr()),
            "PutMethodResponse" => Operation::PutMethodResponse(addr(), label("status_code"), json(body)?),
            "GetMethodResponse" => Operation::GetMethodResponse(addr(), label("status_code")),
            "PutIntegrationResponse" => {
                Operation::PutIntegrationResponse(addr(), label("status_code"), json(body)?)
            }
            "GetIntegrationResponse" => Operation::GetIntegrationResponse(addr(), label("status_code")),
            "CreateDeployment" => Operation::CreateRestDeployment(api(), json(body)?),
            "GetDeployment" => Operation::GetRestDeployment(api(), label("deployment_id")),
            "GetDeployments" => Operation::GetRestDeployments(api()),
            "DeleteDeployment" => Operation::DeleteRestDeployment(api(), label("deployment_id")),
            "CreateStage" => Operation::CreateRestStage(api(), json(body)?),
            "GetStage" => Operation::GetRestStage(api(), label("stage_name")),
            "GetStages" => Operation::GetRestStages(api()),
            "UpdateStage" => Operation::UpdateRestStage(api(), label("stage_name"), patch(body)?),
            "DeleteStage" => Operation::DeleteRestStage(api(), label("stage_name")),
            // HTTP APIs' models (`/v2/apis/{apiId}/models`) are not served yet.
            "CreateModel" | "GetModel" | "GetModels" | "UpdateModel" | "DeleteModel" | "GetModelTemplate"
                if v2 =>
            {
                Operation::NotImplemented(name)
            }
            "CreateModel" => Operation::CreateModel(api(), json(body)?),
            "GetModel" => Operation::GetModel(api(), label("model_name")),
            "GetModels" => Operation::GetModels(api()),
            "UpdateModel" => Operation::UpdateModel(api(), label("model_name"), patch(body)?),
            "DeleteModel" => Operation::DeleteModel(api(), label("model_name")),
            "GetModelTemplate" => Operation::GetModelTemplate(api(), label("model_name")),
            "CreateRequestValidator" => Operation::CreateRequestValidator(api(), json(body)?),
            "GetRequestValidator" => Operation::GetRequestValidator(api(), label("requestvalidator_id")),
            "GetRequestValidators" => Operation::GetRequestValidators(api()),
            "UpdateRequestValidator" => {
                Operation::UpdateRequestValidator(api(), label("requestvalidator_id"), patch(body)?)
            }
            "DeleteRequestValidator" => {
                Operation::DeleteRequestValidator(api(), label("requestvalidator_id"))
            }
            "PutGatewayResponse" => Operation::PutGatewayResponse(api(), label("response_type"), json(body)?),
            "GetGatewayResponse" => Operation::GetGatewayResponse(api(), label("response_type")),
            "GetGatewayResponses" => Operation::GetGatewayResponses(api()),
            "UpdateGatewayResponse" => {
                Operation::UpdateGatewayResponse(api(), label("response_type"), patch(body)?)
            }
            "DeleteGatewayResponse" => Operation::DeleteGatewayResponse(api(), label("response_type")),
            "CreateDomainName" if v2 => Operation::CreateHttpDomainName(json(body)?),
            "GetDomainName" if v2 => Operation::GetHttpDomainName(label("domainName")),
            "GetDomainNames" if v2 => Operation::GetHttpDomainNames,
            "UpdateDomainName" if v2 => Operation::UpdateHttpDomainName(label("domainName"), json(body)?),
            "DeleteDomainName" if v2 => Operation::DeleteHttpDomainName(label("domainName")),
            "CreateApiMapping" => Operation::CreateApiMapping(label("domainName"), json(body)?),
            "GetApiMapping" => Operation::GetApiMapping(label("domainName"), label("apiMappingId")),
            "GetApiMappings" => Operation::GetApiMappings(label("domainName")),
            "UpdateApiMapping" => {
                Operation::UpdateApiMapping(label("domainName"), label("apiMappingId"), json(body)?)
            }
            "DeleteApiMapping" => Operation::DeleteApiMapping(label("domainName"), label("apiMappingId")),
            "CreateDomainName" => Operation::CreateDomainName(json(body)?),
            "GetDomainName" => Operation::GetDomainName(label("domain_name")),
            "GetDomainNames" => Operation::GetDomainNames,
            "UpdateDomainName" => Operation::UpdateDomainName(label("domain_name"), patch(body)?),
            "DeleteDomainName" => Operation::DeleteDomainName(label("domain_name")),
            "CreateBasePathMapping" => Operation::CreateBasePathMapping(label("domain_name"), json(body)?),
            "GetBasePathMapping" => Operation::GetBasePathMapping(label("domain_name"), label("base_path")),
            "GetBasePathMappings" => Operation::GetBasePathMappings(label("domain_name")),
            "UpdateBasePathMapping" => {
                Operation::UpdateBasePathMapping(label("domain_name"), label("base_path"), patch(body)?)
            }
            "DeleteBasePathMapping" => {
                Operation::DeleteBasePathMapping(label("domain_name"), label("base_path"))
            }
            other => Operation::NotImplemented(other),
        };
        Ok(op)
    }
}

/// The first row of `table` whose method, template and query marker fit.
fn find(
    table: &'static [RouteRow],
    method: &Method,
    path: &str,
    query: &str,
) -> Option<(&'static str, protocol::rest::Labels)> {
    table.iter().find_map(|(m, template, marker, name)| {
        if m != method {
            return None;
        }
        if let Some((key, value)) = marker
            && !form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == *key && v == *value)
        {
            return None;
        }
        match_template(template, path).map(|labels| (*name, labels))
    })
}

/// The ARN of a tag operation: the v2 label is `resource-arn`, the v1 label `resource_arn`.
fn tag_arn(labels: &protocol::rest::Labels) -> String {
    labels.iter().find(|(k, _)| k.contains("arn")).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// A query parameter's value.
fn param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// A boolean query parameter: present and `true`.
fn flag(query: &str, name: &str) -> bool {
    param(query, name).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A JSON body as `T`; an empty body is `T::default()`, as for operations whose members are all
/// optional.
fn json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Error::bad(format!("Invalid request body: {e}")))
}

fn patch(body: &[u8]) -> Result<Vec<PatchOp>, Error> {
    json::<PatchInput>(body).map(|p| p.patch_operations)
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
    fn picks_operations_of_both_models() {
        assert_eq!(parse(Method::GET, "/v2/apis/abc", "").ok(), Some(Operation::GetApi("abc".into())));
        assert_eq!(parse(Method::GET, "/restapis/abc", "").ok(), Some(Operation::GetRestApi("abc".into())));
        assert_eq!(
            parse(Method::GET, "/v2/apis/a/stages/%24default", "").ok(),
            Some(Operation::GetStage("a".into(), "$default".into()))
        );
        assert_eq!(
            parse(Method::GET, "/restapis/a/stages/dev", "").ok(),
            Some(Operation::GetRestStage("a".into(), "dev".into()))
        );
        assert_eq!(
            parse(Method::POST, "/restapis?mode=import", "{}").ok(),
            Some(Operation::ImportRestApi(bytes::Bytes::from_static(b"{}")))
        );
        assert_eq!(
            parse(Method::GET, "/restapis/a/authorizers", "").ok(),
            Some(Operation::GetAuthorizers("a".into()))
        );
        assert_eq!(
            parse(Method::GET, "/v2/apis/a/authorizers/z", "").ok(),
            Some(Operation::GetHttpAuthorizer("a".into(), "z".into()))
        );
        assert_eq!(
            parse(Method::GET, "/apikeys/k1?includeValue=true", "").ok(),
            Some(Operation::GetApiKey { id: "k1".into(), include_value: true })
        );
        assert!(matches!(
            parse(Method::POST, "/restapis/a/authorizers/z", "{}"),
            Ok(Operation::TestInvokeAuthorizer(..))
        ));
        assert!(matches!(parse(Method::POST, "/restapis", "{}"), Ok(Operation::CreateRestApi(_))));
        assert!(matches!(parse(Method::GET, "/v2/nothing", ""), Err(Error::UnknownOperationException)));
        assert!(matches!(parse(Method::POST, "/v2/apis", "{"), Err(Error::BadRequestException(_))));
    }

    #[test]
    fn reads_patch_operations_and_untag_keys() {
        let op = parse(
            Method::PATCH,
            "/restapis/a/stages/dev",
            r#"{"patchOperations":[{"op":"replace","path":"/variables/x","value":"1"}]}"#,
        );
        let Ok(Operation::UpdateRestStage(_, _, ops)) = op else { panic!("not UpdateStage: {op:?}") };
        assert_eq!(ops[0].path, "/variables/x");
        let op = parse(
            Method::DELETE,
            "/v2/tags/arn%3Aaws%3Aapigateway%3A%3A%2Fapis%2Fa?tagKeys=k1&tagKeys=k2",
            "",
        );
        assert_eq!(
            op.ok(),
            Some(Operation::UntagResource(
                "arn:aws:apigateway::/apis/a".into(),
                vec!["k1".into(), "k2".into()]
            ))
        );
    }
}
