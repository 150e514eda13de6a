//! The REST API (v1) control plane: REST APIs, the resource tree, methods with their
//! integrations and responses, deployments (frozen resource trees) and stages with their
//! variables. Each handler is one read-modify-write of the API's record.

use std::collections::BTreeMap;

use http::StatusCode;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};

use crate::error::Error;
use crate::model::{self, Method, Owner, Resource, RestApi, RestDeployment, RestIntegration, RestStage};
use crate::operation::{
    DeploymentInput, MethodAddr, MethodInput, Operation, RestApiInput, RestIntegrationInput, RestStageInput,
};
use crate::{Api, Inner, empty, ok, openapi, patch};

const METHODS: &[&str] = &["ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

pub(crate) fn act(inner: &Inner, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    let created = StatusCode::CREATED;
    match op {
        Operation::CreateRestApi(input) => {
            let api = new_rest_api(ctx, input, inner.now_ms())?;
            let _writes = crate::lock(&inner.writes);
            let api = inner.save_rest(api)?;
            ok(ctx, created, &api_view(&api))
        }
        Operation::ImportRestApi(body) => {
            let doc = openapi::parse(&body)?;
            let mut api = new_rest_api(ctx, openapi::api_input(&doc)?, inner.now_ms())?;
            openapi::apply(&mut api, &doc)?;
            let _writes = crate::lock(&inner.writes);
            let api = inner.save_rest(api)?;
            ok(ctx, created, &api_view(&api))
        }
        Operation::PutRestApi { api, overwrite, body } => {
            let doc = openapi::parse(&body)?;
            let api = inner.update_rest(ctx, &api, |api| {
                if overwrite {
                    // The root resource keeps its id; everything below it is replaced.
                    let root_id = api.root_resource_id.clone();
                    api.resources.retain(|id, _| *id == root_id);
                    if let Some(root) = api.resources.get_mut(&root_id) {
                        root.methods.clear();
                    }
                }
                openapi::apply(api, &doc)?;
                Ok(api.clone())
            })?;
            ok(ctx, StatusCode::OK, &api_view(&api))
        }
        Operation::GetRestExport { api, stage, spec, yaml, extensions } => {
            let api = inner.rest_api(ctx, &api)?;
            let doc = crate::rest_export::export(&api, &stage, spec, extensions)?;
            let (body, content_type, ext) = if yaml {
                (openapi::to_yaml(&doc), "application/yaml", "yaml")
            } else {
                (serde_json::to_string_pretty(&doc).unwrap_or_default(), "application/json", "json")
            };
            let kind = if spec == crate::rest_export::Spec::Oas30 { "oas30" } else { "swagger" };
            let mut resp = http::Response::new(bytes::Bytes::from(body));
            let headers = resp.headers_mut();
            headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            let disposition = format!("attachment; filename=\"{kind}_{}.{ext}\"", model::iso(inner.now_ms()));
            if let Ok(v) = http::HeaderValue::from_str(&disposition) {
                headers.insert(http::header::CONTENT_DISPOSITION, v);
            }
            protocol::rest::set_request_id(headers, protocol::Protocol::RestJson, ctx.request_id.as_str());
            Ok(resp)
        }
        Operation::GetRestApi(id) => ok(ctx, StatusCode::OK, &api_view(&*inner.rest_api(ctx, &id)?)),
        Operation::GetRestApis => {
            let mut apis = inner.list(ctx, |a| if let Api::Rest(r) = a { Some(r.clone()) } else { None });
            apis.sort_by_key(|a| a.created_ms);
            let items: Vec<Value> = apis.iter().map(|a| api_view(a)).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateRestApi(id, ops) => {
            let api = inner.update_rest(ctx, &id, |api| {
                patch::rest_api(api, &ops)?;
                Ok(api.clone())
            })?;
            ok(ctx, StatusCode::OK, &api_view(&api))
        }
        Operation::DeleteRestApi(id) => {
            let api = inner.rest_api(ctx, &id)?;
            inner.delete_api(model::REST_APIS, &api.owner.account, &api.owner.region, &id)?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::GetResources { api, embed_methods } => {
            let api = inner.rest_api(ctx, &api)?;
            let mut resources: Vec<&Resource> = api.resources.values().collect();
            resources.sort_by(|a, b| a.path.cmp(&b.path));
            let items: Vec<Value> = resources.into_iter().map(|r| resource_view(r, embed_methods)).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::GetResource(api, resource) => {
            let api = inner.rest_api(ctx, &api)?;
            let found = api.resources.get(&resource).ok_or_else(no_resource)?;
            ok(ctx, StatusCode::OK, &resource_view(found, true))
        }
        Operation::CreateResource { api, parent, path_part } => {
            let resource = inner.update_rest(ctx, &api, |api| create_resource(api, &parent, path_part))?;
            ok(ctx, created, &resource_view(&resource, false))
        }
        Operation::DeleteResource(api, resource) => {
            inner.update_rest(ctx, &api, |api| {
                if resource == api.root_resource_id {
                    return Err(Error::bad("Cannot delete root resource"));
                }
                if !api.resources.contains_key(&resource) {
                    return Err(no_resource());
                }
                // The resource and everything below it.
                let mut doomed = vec![resource.clone()];
                while let Some(id) = doomed.pop() {
                    api.resources.remove(&id);
                    doomed.extend(
                        api.resources
                            .values()
                            .filter(|r| r.parent_id.as_deref() == Some(&id))
                            .map(|r| r.id.clone()),
                    );
                }
                Ok(())
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::PutMethod(addr, input) => {
            let method = inner.update_rest(ctx, &addr.api, |api| put_method(api, &addr, input))?;
            ok(ctx, created, &method_view(&method))
        }
        Operation::GetMethod(addr) => {
            let api = inner.rest_api(ctx, &addr.api)?;
            ok(ctx, StatusCode::OK, &method_view(method_of(&api, &addr)?))
        }
        Operation::UpdateMethod(addr, ops) => {
            let method = inner.update_rest(ctx, &addr.api, |api| {
                let mut method = method_mut(api, &addr)?.clone();
                patch::method(&mut method, &ops)?;
                check_authorization(api, &method.authorization_type, method.authorizer_id.as_deref())?;
                crate::models::check_method_refs(
                    api,
                    method.request_validator_id.as_deref(),
                    method.request_models.as_ref(),
                )?;
                let slot = method_mut(api, &addr)?;
                *slot = method.clone();
                Ok(method)
            })?;
            ok(ctx, StatusCode::OK, &method_view(&method))
        }
        Operation::DeleteMethod(addr) => {
            inner.update_rest(ctx, &addr.api, |api| {
                let resource = api.resources.get_mut(&addr.resource).ok_or_else(no_resource)?;
                resource.methods.remove(&addr.method).map(drop).ok_or_else(no_method)
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::PutRestIntegration(addr, input) => {
            let integration = inner.update_rest(ctx, &addr.api, |api| {
                let integration = integration_of(&addr, input)?;
                method_mut(api, &addr)?.method_integration = Some(integration.clone());
                Ok(integration)
            })?;
            ok(ctx, created, &integration_view(&integration))
        }
        Operation::GetRestIntegration(addr) => {
            let api = inner.rest_api(ctx, &addr.api)?;
            let integration =
                method_of(&api, &addr)?.method_integration.as_ref().ok_or_else(no_integration)?;
            ok(ctx, StatusCode::OK, &integration_view(integration))
        }
        Operation::DeleteRestIntegration(addr) => {
            inner.update_rest(ctx, &addr.api, |api| {
                method_mut(api, &addr)?.method_integration.take().map(drop).ok_or_else(no_integration)
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::PutMethodResponse(addr, status, body) => {
            let response = with_status(&status, body)?;
            inner.update_rest(ctx, &addr.api, |api| {
                method_mut(api, &addr)?.method_responses.insert(status.clone(), response.clone());
                Ok(())
            })?;
            ok(ctx, created, &response)
        }
        Operation::GetMethodResponse(addr, status) => {
            let api = inner.rest_api(ctx, &addr.api)?;
            let found = method_of(&api, &addr)?
                .method_responses
                .get(&status)
                .ok_or_else(|| Error::not_found("Invalid Response status code specified"))?;
            ok(ctx, StatusCode::OK, found)
        }
        Operation::PutIntegrationResponse(addr, status, body) => {
            let response = with_status(&status, body)?;
            inner.update_rest(ctx, &addr.api, |api| {
                let integration =
                    method_mut(api, &addr)?.method_integration.as_mut().ok_or_else(no_integration)?;
                integration.integration_responses.insert(status.clone(), response.clone());
                Ok(())
            })?;
            ok(ctx, created, &response)
        }
        Operation::GetIntegrationResponse(addr, status) => {
            let api = inner.rest_api(ctx, &addr.api)?;
            let integration =
                method_of(&api, &addr)?.method_integration.as_ref().ok_or_else(no_integration)?;
            let found = integration
                .integration_responses
                .get(&status)
                .ok_or_else(|| Error::not_found("Invalid Response status code specified"))?;
            ok(ctx, StatusCode::OK, found)
        }
        Operation::CreateRestDeployment(api, input) => {
            let now = inner.now_ms();
            let deployment = inner.update_rest(ctx, &api, |api| create_deployment(api, input, now))?;
            ok(ctx, created, &deployment_view(&deployment))
        }
        Operation::GetRestDeployment(api, id) => {
            let api = inner.rest_api(ctx, &api)?;
            ok(ctx, StatusCode::OK, &deployment_view(api.deployments.get(&id).ok_or_else(no_deployment)?))
        }
        Operation::GetRestDeployments(api) => {
            let api = inner.rest_api(ctx, &api)?;
            let items: Vec<Value> = api.deployments.values().map(deployment_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::DeleteRestDeployment(api, id) => {
            inner.update_rest(ctx, &api, |api| {
                if api.stages.values().any(|s| s.deployment_id == id) {
                    return Err(Error::bad(
                        "Active stages pointing to this deployment must be moved or deleted",
                    ));
                }
                api.deployments.remove(&id).map(drop).ok_or_else(no_deployment)
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::CreateRestStage(api, input) => {
            let now = inner.now_ms();
            let stage = inner.update_rest(ctx, &api, |api| create_stage(api, input, now))?;
            ok(ctx, created, &stage_view(&stage))
        }
        Operation::GetRestStage(api, name) => {
            let api = inner.rest_api(ctx, &api)?;
            ok(ctx, StatusCode::OK, &stage_view(api.stages.get(&name).ok_or_else(no_stage)?))
        }
        Operation::GetRestStages(api) => {
            let api = inner.rest_api(ctx, &api)?;
            let items: Vec<Value> = api.stages.values().map(stage_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateRestStage(api, name, ops) => {
            let now = inner.now_ms();
            let stage = inner.update_rest(ctx, &api, |api| {
                let mut stage = api.stages.get(&name).cloned().ok_or_else(no_stage)?;
                patch::stage(&mut stage, &ops)?;
                if let Some(settings) = &stage.access_log_settings {
                    crate::access_log::check(settings)?;
                }
                if !api.deployments.contains_key(&stage.deployment_id) {
                    return Err(no_deployment());
                }
                stage.updated_ms = now;
                api.stages.insert(name.clone(), stage.clone());
                Ok(stage)
            })?;
            ok(ctx, StatusCode::OK, &stage_view(&stage))
        }
        Operation::DeleteRestStage(api, name) => {
            inner.update_rest(ctx, &api, |api| api.stages.remove(&name).map(drop).ok_or_else(no_stage))?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        _ => Err(Error::UnknownOperationException),
    }
}

/// A new REST API with its root resource.
fn new_rest_api(ctx: &RequestContext, input: RestApiInput, now: i64) -> Result<RestApi, Error> {
    let name = input.name.ok_or_else(|| Error::bad("Name is required"))?;
    let root = Resource { id: model::new_id(), path: "/".to_owned(), ..Resource::default() };
    Ok(RestApi {
        v: model::SCHEMA_VERSION,
        owner: Owner::of(&ctx.scope),
        id: model::new_id(),
        name,
        description: input.description,
        version: input.version,
        api_key_source: input.api_key_source.unwrap_or_else(|| "HEADER".to_owned()),
        endpoint_types: input
            .endpoint_configuration
            .and_then(|e| e.types)
            .unwrap_or_else(|| vec!["EDGE".to_owned()]),
        binary_media_types: input.binary_media_types.unwrap_or_default(),
        disable_execute_api_endpoint: input.disable_execute_api_endpoint.unwrap_or(false),
        root_resource_id: root.id.clone(),
        created_ms: now,
        tags: input.tags.unwrap_or_default(),
        resources: BTreeMap::from([(root.id.clone(), root)]),
        stages: BTreeMap::new(),
        deployments: BTreeMap::new(),
        authorizers: BTreeMap::new(),
        models: crate::models::default_models(),
        request_validators: BTreeMap::new(),
        gateway_responses: BTreeMap::new(),
    })
}

pub(crate) fn create_resource(
    api: &mut RestApi,
    parent: &str,
    path_part: Option<String>,
) -> Result<Resource, Error> {
    let parent = api.resources.get(parent).ok_or_else(no_resource)?;
    if parent.path_part.as_deref().is_some_and(|p| p.ends_with("+}")) {
        return Err(Error::bad("Cannot create a child of a resource with a greedy path variable"));
    }
    let part = path_part
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Error::bad("Resource's path part must be specified"))?;
    let variable = part.starts_with('{') && part.ends_with('}');
    let valid = if variable {
        let name = part.trim_start_matches('{').trim_end_matches('}').trim_end_matches('+');
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    } else {
        part.chars().all(|c| c.is_ascii_alphanumeric() || "-._~:@!$&'()*,;=".contains(c))
    };
    if !valid {
        return Err(Error::bad(
            "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.",
        ));
    }
    let siblings: Vec<&Resource> =
        api.resources.values().filter(|r| r.parent_id.as_deref() == Some(parent.id.as_str())).collect();
    if siblings.iter().any(|r| r.path_part.as_deref() == Some(part.as_str())) {
        return Err(Error::ConflictException(format!(
            "Another resource with the same parent already has this name: {part}"
        )));
    }
    if variable
        && let Some(other) =
            siblings.iter().find(|r| r.path_part.as_deref().is_some_and(|p| p.starts_with('{')))
    {
        return Err(Error::bad(format!(
            "A sibling ({}) of this resource already has a variable path part -- only one is allowed",
            other.id
        )));
    }
    let path = if parent.path == "/" { format!("/{part}") } else { format!("{}/{part}", parent.path) };
    let resource = Resource {
        id: model::new_id(),
        parent_id: Some(parent.id.clone()),
        path_part: Some(part),
        path,
        methods: BTreeMap::new(),
    };
    api.resources.insert(resource.id.clone(), resource.clone());
    Ok(resource)
}

pub(crate) fn put_method(api: &mut RestApi, addr: &MethodAddr, input: MethodInput) -> Result<Method, Error> {
    if !METHODS.contains(&addr.method.as_str()) {
        return Err(Error::bad(format!(
            "Invalid HttpMethod specified. Valid options are {}",
            METHODS.join(",")
        )));
    }
    let authorization_type =
        input.authorization_type.ok_or_else(|| Error::bad("Authorization type must be specified"))?;
    check_authorization(api, &authorization_type, input.authorizer_id.as_deref())?;
    crate::models::check_method_refs(
        api,
        input.request_validator_id.as_deref(),
        input.request_models.as_ref(),
    )?;
    let resource = api.resources.get_mut(&addr.resource).ok_or_else(no_resource)?;
    if resource.methods.contains_key(&addr.method) {
        return Err(Error::ConflictException("Method already exists for this resource".to_owned()));
    }
    let method = Method {
        http_method: addr.method.clone(),
        authorization_type,
        api_key_required: input.api_key_required.unwrap_or(false),
        authorizer_id: input.authorizer_id,
        operation_name: input.operation_name,
        request_parameters: input.request_parameters,
        request_models: input.request_models,
        request_validator_id: input.request_validator_id,
        ..Method::default()
    };
    resource.methods.insert(addr.method.clone(), method.clone());
    Ok(method)
}

/// A method's authorization: `NONE`, or `CUSTOM` with one of the API's authorizers.
fn check_authorization(api: &RestApi, kind: &str, authorizer: Option<&str>) -> Result<(), Error> {
    match kind {
        "NONE" | "AWS_IAM" => Ok(()),
        "CUSTOM" => match authorizer.and_then(|id| api.authorizers.get(id)) {
            Some(_) => Ok(()),
            None => Err(Error::bad(
                "Invalid authorizer ID specified. Setting the authorization type to CUSTOM requires a valid authorizer.",
            )),
        },
        other => Err(Error::NotImplemented(format!("API Gateway method authorization type {other}"))),
    }
}

pub(crate) fn integration_of(
    addr: &MethodAddr,
    input: RestIntegrationInput,
) -> Result<RestIntegration, Error> {
    let kind =
        input.kind.ok_or_else(|| Error::bad("Enumeration value for IntegrationType must be non-empty"))?;
    match kind.as_str() {
        "AWS_PROXY" | "HTTP_PROXY" | "AWS" | "HTTP" => {
            if input.integration_http_method.is_none() {
                return Err(Error::bad("Enumeration value for HttpMethod must be non-empty"));
            }
            if input.uri.is_none() {
                return Err(Error::bad(format!("Integrations of type '{kind}' must contain a URI")));
            }
        }
        "MOCK" => {}
        _ => return Err(Error::bad(format!("Invalid integration type specified: {kind}"))),
    }
    if kind == "AWS_PROXY" && input.uri.as_deref().and_then(crate::dataplane::lambda_arn_of_uri).is_none() {
        return Err(Error::bad(
            "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.",
        ));
    }
    let timeout = input.timeout_in_millis.unwrap_or(29_000);
    if !(50..=29_000).contains(&timeout) {
        return Err(Error::bad("Timeout should be between 50 ms and 29000 ms"));
    }
    Ok(RestIntegration {
        kind,
        http_method: input.integration_http_method,
        uri: input.uri,
        passthrough_behavior: input.passthrough_behavior.unwrap_or_else(|| "WHEN_NO_MATCH".to_owned()),
        timeout_in_millis: timeout,
        cache_namespace: input.cache_namespace.unwrap_or_else(|| addr.resource.clone()),
        cache_key_parameters: input.cache_key_parameters.unwrap_or_default(),
        request_templates: input.request_templates,
        request_parameters: input.request_parameters,
        integration_responses: BTreeMap::new(),
    })
}

/// A method or integration response body with its status code set, as AWS echoes it.
fn with_status(status: &str, body: Value) -> Result<Value, Error> {
    if !(status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Error::bad(format!("Invalid status code specified: {status}")));
    }
    let mut body = if body.is_object() { body } else { json!({}) };
    if let Value::Object(m) = &mut body {
        m.insert("statusCode".into(), json!(status));
    }
    Ok(body)
}

fn create_deployment(api: &mut RestApi, input: DeploymentInput, now: i64) -> Result<RestDeployment, Error> {
    if api.resources.values().all(|r| r.methods.is_empty()) {
        return Err(Error::bad("The REST API doesn't contain any methods"));
    }
    if let Some(resource) =
        api.resources.values().find(|r| r.methods.values().any(|m| m.method_integration.is_none()))
    {
        return Err(Error::bad(format!("No integration defined for method on resource {}", resource.path)));
    }
    let deployment = RestDeployment {
        id: model::new_id(),
        description: input.description,
        created_ms: now,
        resources: api.resources.clone(),
        authorizers: api.authorizers.clone(),
        models: api.models.clone(),
        request_validators: api.request_validators.clone(),
        gateway_responses: api.gateway_responses.clone(),
    };
    api.deployments.insert(deployment.id.clone(), deployment.clone());
    if let Some(name) = input.stage_name.filter(|n| !n.is_empty()) {
        let stage = api.stages.entry(name.clone()).or_insert_with(|| RestStage {
            stage_name: name,
            created_ms: now,
            ..RestStage::default()
        });
        stage.deployment_id = deployment.id.clone();
        stage.updated_ms = now;
        if input.stage_description.is_some() {
            stage.description = input.stage_description;
        }
        if let Some(vars) = input.variables {
            stage.variables.extend(vars);
        }
    }
    Ok(deployment)
}

fn create_stage(api: &mut RestApi, input: RestStageInput, now: i64) -> Result<RestStage, Error> {
    let name = input.stage_name.ok_or_else(|| Error::bad("Stage name must be specified"))?;
    let deployment_id = input.deployment_id.ok_or_else(|| Error::bad("Deployment id must be specified"))?;
    if !api.deployments.contains_key(&deployment_id) {
        return Err(no_deployment());
    }
    if api.stages.contains_key(&name) {
        return Err(Error::ConflictException("Stage already exists".to_owned()));
    }
    let stage = RestStage {
        stage_name: name,
        deployment_id,
        description: input.description,
        variables: input.variables.unwrap_or_default(),
        created_ms: now,
        updated_ms: now,
        tags: input.tags.unwrap_or_default(),
        method_settings: BTreeMap::new(),
        // REST CreateStage takes none: they are set by UpdateStage.
        access_log_settings: None,
    };
    api.stages.insert(stage.stage_name.clone(), stage.clone());
    Ok(stage)
}

fn method_of<'a>(api: &'a RestApi, addr: &MethodAddr) -> Result<&'a Method, Error> {
    let resource = api.resources.get(&addr.resource).ok_or_else(no_resource)?;
    resource.methods.get(&addr.method).ok_or_else(no_method)
}

fn method_mut<'a>(api: &'a mut RestApi, addr: &MethodAddr) -> Result<&'a mut Method, Error> {
    let resource = api.resources.get_mut(&addr.resource).ok_or_else(no_resource)?;
    resource.methods.get_mut(&addr.method).ok_or_else(no_method)
}

fn no_resource() -> Error {
    Error::not_found("Invalid Resource identifier specified")
}

fn no_method() -> Error {
    Error::not_found("Invalid Method identifier specified")
}

fn no_integration() -> Error {
    Error::not_found("Invalid Integration identifier specified")
}

fn no_stage() -> Error {
    Error::not_found("Invalid Stage identifier specified")
}

fn no_deployment() -> Error {
    Error::not_found("Invalid Deployment identifier specified")
}

fn api_view(api: &RestApi) -> Value {
    let mut v = json!({
        "id": api.id,
        "name": api.name,
        "createdDate": model::epoch_seconds(api.created_ms),
        "apiKeySource": api.api_key_source,
        "endpointConfiguration": { "types": api.endpoint_types },
        "disableExecuteApiEndpoint": api.disable_execute_api_endpoint,
        "rootResourceId": api.root_resource_id,
        "tags": api.tags,
    });
    if let Value::Object(m) = &mut v {
        if let Some(d) = &api.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(ver) = &api.version {
            m.insert("version".into(), json!(ver));
        }
        if !api.binary_media_types.is_empty() {
            m.insert("binaryMediaTypes".into(), json!(api.binary_media_types));
        }
    }
    v
}

/// A resource; without `embed`, each method is listed as `{}` the way GetResources does.
pub(crate) fn resource_view(r: &Resource, embed: bool) -> Value {
    let mut v = json!({ "id": r.id, "path": r.path });
    if let Value::Object(m) = &mut v {
        if let Some(p) = &r.parent_id {
            m.insert("parentId".into(), json!(p));
        }
        if let Some(p) = &r.path_part {
            m.insert("pathPart".into(), json!(p));
        }
        if !r.methods.is_empty() {
            let methods: serde_json::Map<String, Value> = r
                .methods
                .iter()
                .map(|(k, meth)| (k.clone(), if embed { method_view(meth) } else { json!({}) }))
                .collect();
            m.insert("resourceMethods".into(), Value::Object(methods));
        }
    }
    v
}

fn method_view(m: &Method) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Value::Object(map) = &mut v
        && let Some(integration) = &m.method_integration
    {
        map.insert("methodIntegration".into(), integration_view(integration));
    }
    v
}

fn integration_view(i: &RestIntegration) -> Value {
    serde_json::to_value(i).unwrap_or_default()
}

fn deployment_view(d: &RestDeployment) -> Value {
    let mut v = json!({ "id": d.id, "createdDate": model::epoch_seconds(d.created_ms) });
    if let (Value::Object(m), Some(desc)) = (&mut v, &d.description) {
        m.insert("description".into(), json!(desc));
    }
    v
}

fn stage_view(s: &RestStage) -> Value {
    let mut v = json!({
        "stageName": s.stage_name,
        "deploymentId": s.deployment_id,
        "createdDate": model::epoch_seconds(s.created_ms),
        "lastUpdatedDate": model::epoch_seconds(s.updated_ms),
        "methodSettings": s.method_settings,
        "cacheClusterEnabled": false,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "tracingEnabled": false,
        "tags": s.tags,
    });
    if let Value::Object(m) = &mut v {
        if let Some(d) = &s.description {
            m.insert("description".into(), json!(d));
        }
        if let Some(settings) = &s.access_log_settings {
            m.insert("accessLogSettings".into(), json!(settings));
        }
        if !s.variables.is_empty() {
            m.insert("variables".into(), json!(s.variables));
        }
    }
    v
}
