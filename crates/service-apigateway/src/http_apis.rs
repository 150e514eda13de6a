//! The HTTP API (v2) control plane: APIs (with quick create), routes, integrations, stages,
//! deployments and CORS. Each handler is one read-modify-write of the API's record.

use std::collections::BTreeMap;

use http::StatusCode;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};

use crate::error::Error;
use crate::model::{self, Deployment, HttpApi, Integration, Owner, Route, Stage};
use crate::operation::{ApiInput, DeploymentInput, IntegrationInput, Operation, RouteInput, StageInput};
use crate::{Api, Inner, empty, ok};

/// The methods a route key may name.
const ROUTE_METHODS: &[&str] = &["ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

pub(crate) fn act(inner: &Inner, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    let created = StatusCode::CREATED;
    match op {
        Operation::CreateApi(input) => create_api(inner, ctx, *input),
        Operation::ImportApi(document) => import_api(inner, ctx, &document),
        Operation::ReimportApi(id, document) => {
            let doc = crate::openapi::parse(document.as_bytes())?;
            let api = inner.update_http(ctx, &id, |api| {
                crate::http_openapi::apply(api, &doc)?;
                Ok(api.clone())
            })?;
            ok(ctx, created, &api_view(&api))
        }
        Operation::ExportApi { api, specification, yaml, extensions, stage } => {
            if specification != "OAS30" {
                return Err(Error::bad(format!("Invalid specification: {specification}")));
            }
            let api = inner.http_api(ctx, &api)?;
            let doc = crate::http_openapi::export(&api, stage.as_deref(), extensions)?;
            let (body, content_type) = if yaml {
                (crate::openapi::to_yaml(&doc), "application/yaml")
            } else {
                (serde_json::to_string_pretty(&doc).unwrap_or_default(), "application/json")
            };
            let mut resp = http::Response::new(bytes::Bytes::from(body));
            resp.headers_mut()
                .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            protocol::rest::set_request_id(
                resp.headers_mut(),
                protocol::Protocol::RestJson,
                ctx.request_id.as_str(),
            );
            Ok(resp)
        }
        Operation::GetApi(id) => ok(ctx, StatusCode::OK, &api_view(&*inner.http_api(ctx, &id)?)),
        Operation::GetApis => {
            let mut apis = inner.list(ctx, |a| if let Api::Http(h) = a { Some(h.clone()) } else { None });
            apis.sort_by_key(|a| a.created_ms);
            let items: Vec<Value> = apis.iter().map(|a| api_view(a)).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::UpdateApi(id, input) => {
            let api = inner.update_http(ctx, &id, |api| {
                update_api(api, *input)?;
                Ok(api.clone())
            })?;
            ok(ctx, StatusCode::OK, &api_view(&api))
        }
        Operation::DeleteApi(id) => {
            let api = inner.http_api(ctx, &id)?;
            inner.delete_api(model::HTTP_APIS, &api.owner.account, &api.owner.region, &id)?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::DeleteCorsConfiguration(id) => {
            inner.update_http(ctx, &id, |api| {
                api.cors_configuration = None;
                Ok(())
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::CreateRoute(id, input) => {
            let route = inner.update_http(ctx, &id, |api| {
                let key = input.route_key.clone().ok_or_else(|| Error::bad("RouteKey is required"))?;
                let mut route = Route {
                    route_id: model::short_id(),
                    route_key: key,
                    authorization_type: "NONE".to_owned(),
                    ..Route::default()
                };
                apply_route(api, &mut route, input)?;
                api.routes.insert(route.route_id.clone(), route.clone());
                Ok(route)
            })?;
            ok(ctx, created, &view(&route))
        }
        Operation::GetRoute(id, route) => {
            let api = inner.http_api(ctx, &id)?;
            ok(ctx, StatusCode::OK, &view(api.routes.get(&route).ok_or_else(|| no_route(&route))?))
        }
        Operation::GetRoutes(id) => {
            let api = inner.http_api(ctx, &id)?;
            ok(ctx, StatusCode::OK, &json!({ "items": api.routes.values().map(view).collect::<Vec<_>>() }))
        }
        Operation::UpdateRoute(id, route_id, input) => {
            let route = inner.update_http(ctx, &id, |api| {
                let mut route = api.routes.get(&route_id).cloned().ok_or_else(|| no_route(&route_id))?;
                if let Some(key) = &input.route_key {
                    route.route_key.clone_from(key);
                }
                apply_route(api, &mut route, input)?;
                api.routes.insert(route.route_id.clone(), route.clone());
                Ok(route)
            })?;
            ok(ctx, StatusCode::OK, &view(&route))
        }
        Operation::DeleteRoute(id, route_id) => {
            inner.update_http(ctx, &id, |api| {
                api.routes.remove(&route_id).map(drop).ok_or_else(|| no_route(&route_id))
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::CreateIntegration(id, input) => {
            let integration = inner.update_http(ctx, &id, |api| {
                let mut integration = Integration {
                    integration_id: model::short_id(),
                    connection_type: "INTERNET".to_owned(),
                    timeout_in_millis: 30_000,
                    ..Integration::default()
                };
                apply_integration(&mut integration, input)?;
                api.integrations.insert(integration.integration_id.clone(), integration.clone());
                Ok(integration)
            })?;
            ok(ctx, created, &view(&integration))
        }
        Operation::GetIntegration(id, integration) => {
            let api = inner.http_api(ctx, &id)?;
            let found = api.integrations.get(&integration).ok_or_else(|| no_integration(&integration))?;
            ok(ctx, StatusCode::OK, &view(found))
        }
        Operation::GetIntegrations(id) => {
            let api = inner.http_api(ctx, &id)?;
            let items: Vec<Value> = api.integrations.values().map(view).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::UpdateIntegration(id, integration_id, input) => {
            let integration = inner.update_http(ctx, &id, |api| {
                let integration = api
                    .integrations
                    .get_mut(&integration_id)
                    .ok_or_else(|| no_integration(&integration_id))?;
                apply_integration(integration, input)?;
                Ok(integration.clone())
            })?;
            ok(ctx, StatusCode::OK, &view(&integration))
        }
        Operation::DeleteIntegration(id, integration_id) => {
            inner.update_http(ctx, &id, |api| {
                api.integrations
                    .remove(&integration_id)
                    .map(drop)
                    .ok_or_else(|| no_integration(&integration_id))
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::CreateStage(id, input) => {
            let now = inner.now_ms();
            let stage = inner.update_http(ctx, &id, |api| {
                let name = input.stage_name.clone().ok_or_else(|| Error::bad("StageName is required"))?;
                if api.stages.contains_key(&name) {
                    return Err(Error::ConflictException("Stage already exists".to_owned()));
                }
                let mut stage = Stage { stage_name: name, created_ms: now, ..Stage::default() };
                apply_stage(api, &mut stage, input, now)?;
                api.stages.insert(stage.stage_name.clone(), stage.clone());
                Ok(stage)
            })?;
            ok(ctx, created, &stage_view(&stage))
        }
        Operation::GetStage(id, name) => {
            let api = inner.http_api(ctx, &id)?;
            ok(ctx, StatusCode::OK, &stage_view(api.stages.get(&name).ok_or_else(|| no_stage(&name))?))
        }
        Operation::GetStages(id) => {
            let api = inner.http_api(ctx, &id)?;
            let items: Vec<Value> = api.stages.values().map(stage_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::UpdateStage(id, name, input) => {
            let now = inner.now_ms();
            let stage = inner.update_http(ctx, &id, |api| {
                let mut stage = api.stages.get(&name).cloned().ok_or_else(|| no_stage(&name))?;
                apply_stage(api, &mut stage, input, now)?;
                api.stages.insert(name.clone(), stage.clone());
                Ok(stage)
            })?;
            ok(ctx, StatusCode::OK, &stage_view(&stage))
        }
        Operation::DeleteAccessLogSettings(id, name) => {
            inner.update_http(ctx, &id, |api| {
                let stage = api.stages.get_mut(&name).ok_or_else(|| no_stage(&name))?;
                stage.access_log_settings = None;
                Ok(())
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::DeleteStage(id, name) => {
            inner.update_http(ctx, &id, |api| {
                api.stages.remove(&name).map(drop).ok_or_else(|| no_stage(&name))
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::CreateDeployment(id, input) => {
            let now = inner.now_ms();
            let deployment = inner.update_http(ctx, &id, |api| create_deployment(api, input, now))?;
            ok(ctx, created, &deployment_view(&deployment))
        }
        Operation::GetDeployment(id, deployment) => {
            let api = inner.http_api(ctx, &id)?;
            let found = api.deployments.get(&deployment).ok_or_else(|| no_deployment(&deployment))?;
            ok(ctx, StatusCode::OK, &deployment_view(found))
        }
        Operation::GetDeployments(id) => {
            let api = inner.http_api(ctx, &id)?;
            let items: Vec<Value> = api.deployments.values().map(deployment_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::DeleteDeployment(id, deployment) => {
            inner.update_http(ctx, &id, |api| {
                api.deployments.remove(&deployment).map(drop).ok_or_else(|| no_deployment(&deployment))
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        _ => Err(Error::UnknownOperationException),
    }
}

fn create_api(inner: &Inner, ctx: &RequestContext, input: ApiInput) -> Result<Response, Error> {
    let name = input.name.clone().ok_or_else(|| Error::bad("Name is required"))?;
    let protocol = input.protocol_type.clone().ok_or_else(|| Error::bad("ProtocolType is required"))?;
    match protocol.as_str() {
        "HTTP" => {}
        "WEBSOCKET" => return Err(Error::NotImplemented("API Gateway WebSocket APIs".to_owned())),
        other => return Err(Error::bad(format!("Invalid protocol type: {other}"))),
    }
    let now = inner.now_ms();
    let mut api = new_api(ctx, name, now);
    let quick = input.target.clone();
    let route_key = input.route_key.clone();
    update_api(&mut api, input)?;
    if let Some(target) = quick {
        quick_create(&mut api, &target, route_key.as_deref().unwrap_or("$default"), now)?;
    } else if route_key.is_some() {
        return Err(Error::bad("RouteKey can only be specified together with Target"));
    }
    let _writes = crate::lock(&inner.writes);
    let api = inner.save_http(api)?;
    ok(ctx, StatusCode::CREATED, &api_view(&api))
}

/// ImportApi: a new HTTP API as an OpenAPI document describes it.
fn import_api(inner: &Inner, ctx: &RequestContext, document: &str) -> Result<Response, Error> {
    let doc = crate::openapi::parse(document.as_bytes())?;
    let mut api = new_api(ctx, String::new(), inner.now_ms());
    crate::http_openapi::apply(&mut api, &doc)?;
    let _writes = crate::lock(&inner.writes);
    let api = inner.save_http(api)?;
    ok(ctx, StatusCode::CREATED, &api_view(&api))
}

/// An HTTP API with nothing in it yet.
pub(crate) fn new_api(ctx: &RequestContext, name: String, now: i64) -> HttpApi {
    HttpApi {
        v: model::SCHEMA_VERSION,
        owner: Owner::of(&ctx.scope),
        api_id: model::new_id(),
        name,
        protocol_type: "HTTP".to_owned(),
        route_selection_expression: "$request.method $request.path".to_owned(),
        api_key_selection_expression: "$request.header.x-api-key".to_owned(),
        description: None,
        version: None,
        disable_execute_api_endpoint: false,
        cors_configuration: None,
        created_ms: now,
        tags: BTreeMap::new(),
        routes: BTreeMap::new(),
        integrations: BTreeMap::new(),
        stages: BTreeMap::new(),
        deployments: BTreeMap::new(),
        authorizers: BTreeMap::new(),
    }
}

/// Quick create: one integration for the target, one route to it and an auto-deployed
/// `$default` stage, all marked as managed by API Gateway.
fn quick_create(api: &mut HttpApi, target: &str, route_key: &str, now: i64) -> Result<(), Error> {
    let lambda = target.starts_with("arn:aws:lambda:") || target.contains(":function:");
    let integration = Integration {
        integration_id: model::short_id(),
        integration_type: if lambda { "AWS_PROXY" } else { "HTTP_PROXY" }.to_owned(),
        integration_uri: Some(target.to_owned()),
        integration_method: Some(if lambda { "POST" } else { "ANY" }.to_owned()),
        payload_format_version: Some(if lambda { "2.0" } else { "1.0" }.to_owned()),
        connection_type: "INTERNET".to_owned(),
        timeout_in_millis: 30_000,
        api_gateway_managed: true,
        ..Integration::default()
    };
    check_route_key(route_key)?;
    let route = Route {
        route_id: model::short_id(),
        route_key: route_key.to_owned(),
        target: Some(format!("integrations/{}", integration.integration_id)),
        authorization_type: "NONE".to_owned(),
        ..Route::default()
    };
    api.routes.insert(route.route_id.clone(), route);
    api.integrations.insert(integration.integration_id.clone(), integration);
    let stage = Stage {
        stage_name: "$default".to_owned(),
        auto_deploy: true,
        created_ms: now,
        updated_ms: now,
        api_gateway_managed: true,
        ..Stage::default()
    };
    api.stages.insert(stage.stage_name.clone(), stage);
    Ok(())
}

fn update_api(api: &mut HttpApi, input: ApiInput) -> Result<(), Error> {
    if let Some(name) = input.name {
        api.name = name;
    }
    if input.description.is_some() {
        api.description = input.description;
    }
    if input.version.is_some() {
        api.version = input.version;
    }
    if let Some(e) = input.route_selection_expression {
        api.route_selection_expression = e;
    }
    if let Some(e) = input.api_key_selection_expression {
        api.api_key_selection_expression = e;
    }
    if let Some(d) = input.disable_execute_api_endpoint {
        api.disable_execute_api_endpoint = d;
    }
    if let Some(cors) = input.cors_configuration {
        api.cors_configuration = Some(cors);
    }
    if let Some(tags) = input.tags {
        api.tags.extend(tags);
    }
    Ok(())
}

/// Checks a route key: `$default`, or a method and a path starting with `/`.
pub(crate) fn check_route_key(key: &str) -> Result<(), Error> {
    if key == "$default" {
        return Ok(());
    }
    let valid = key.split_once(' ').is_some_and(|(method, path)| {
        ROUTE_METHODS.contains(&method) && path.starts_with('/') && !path.contains(' ')
    });
    if valid {
        Ok(())
    } else {
        Err(Error::bad(format!("Unable to create route {key}. Route key is invalid.")))
    }
}

pub(crate) fn apply_route(api: &HttpApi, route: &mut Route, input: RouteInput) -> Result<(), Error> {
    check_route_key(&route.route_key)?;
    if api.routes.values().any(|r| r.route_key == route.route_key && r.route_id != route.route_id) {
        return Err(Error::ConflictException(format!(
            "Unable to create route {}. A route with the same route key already exists",
            route.route_key
        )));
    }
    if let Some(target) = input.target {
        let integration = target.strip_prefix("integrations/").unwrap_or_default();
        if !api.integrations.contains_key(integration) {
            return Err(Error::bad(format!("Invalid integration target specified: {target}")));
        }
        route.target = Some(target);
    }
    if let Some(t) = input.authorization_type {
        route.authorization_type = t;
    }
    if let Some(k) = input.api_key_required {
        route.api_key_required = k;
    }
    if input.operation_name.is_some() {
        route.operation_name = input.operation_name;
    }
    if input.authorizer_id.is_some() {
        route.authorizer_id = input.authorizer_id;
    }
    if input.authorization_scopes.is_some() {
        route.authorization_scopes = input.authorization_scopes;
    }
    match route.authorization_type.as_str() {
        "NONE" | "AWS_IAM" => Ok(()),
        "CUSTOM" => {
            let authorizer = route.authorizer_id.as_ref().and_then(|id| api.authorizers.get(id));
            match authorizer {
                Some(a) if a.authorizer_type == "REQUEST" => Ok(()),
                _ => Err(Error::bad(format!(
                    "Unable to create route {}. A valid REQUEST authorizer is required for authorization type CUSTOM.",
                    route.route_key
                ))),
            }
        }
        "JWT" => {
            let authorizer = route.authorizer_id.as_ref().and_then(|id| api.authorizers.get(id));
            match authorizer {
                Some(a) if a.authorizer_type == "JWT" => Ok(()),
                _ => Err(Error::bad(format!(
                    "Unable to create route {}. A valid JWT authorizer is required for authorization type JWT.",
                    route.route_key
                ))),
            }
        }
        t => Err(Error::NotImplemented(format!("API Gateway route authorization type {t}"))),
    }
}

pub(crate) fn apply_integration(integration: &mut Integration, input: IntegrationInput) -> Result<(), Error> {
    if let Some(t) = input.integration_type {
        integration.integration_type = t;
    }
    if input.integration_subtype.is_some() {
        integration.integration_subtype = input.integration_subtype;
    }
    if input.credentials_arn.is_some() {
        integration.credentials_arn = input.credentials_arn;
    }
    if input.integration_uri.is_some() {
        integration.integration_uri = input.integration_uri;
    }
    if input.integration_method.is_some() {
        integration.integration_method = input.integration_method;
    }
    if input.payload_format_version.is_some() {
        integration.payload_format_version = input.payload_format_version;
    }
    if let Some(c) = input.connection_type {
        integration.connection_type = c;
    }
    if let Some(t) = input.timeout_in_millis {
        if !(50..=30_000).contains(&t) {
            return Err(Error::bad("Timeout must be between 50 milliseconds and 30 seconds."));
        }
        integration.timeout_in_millis = t;
    }
    if input.description.is_some() {
        integration.description = input.description;
    }
    // A subtype's request parameters are its action's members, not header/query/path maps.
    let request_maps =
        if integration.integration_subtype.is_some() { None } else { input.request_parameters.as_ref() };
    crate::dataplane::check_mappings(request_maps, input.response_parameters.as_ref()).map_err(Error::bad)?;
    if input.request_parameters.is_some() {
        integration.request_parameters = input.request_parameters;
    }
    if input.response_parameters.is_some() {
        integration.response_parameters = input.response_parameters;
    }
    if integration.integration_subtype.is_some() {
        crate::dataplane::check_subtype(integration)?;
        // Subtypes take no URI and speak payload format 1.0 only.
        match integration.payload_format_version.get_or_insert_with(|| "1.0".to_owned()).as_str() {
            "1.0" => {}
            other => return Err(Error::bad(format!("Invalid payload format version: {other}"))),
        }
        return Ok(());
    }
    match integration.integration_type.as_str() {
        "AWS_PROXY" => {
            if integration.payload_format_version.is_none() {
                integration.payload_format_version = Some("2.0".to_owned());
            }
            if integration.integration_method.is_none() {
                integration.integration_method = Some("POST".to_owned());
            }
        }
        "HTTP_PROXY" => {
            if integration.payload_format_version.is_none() {
                integration.payload_format_version = Some("1.0".to_owned());
            }
            if integration.integration_method.is_none() {
                return Err(Error::bad("IntegrationMethod is required for HTTP_PROXY integrations"));
            }
        }
        "" => return Err(Error::bad("IntegrationType is required")),
        other => return Err(Error::NotImplemented(format!("API Gateway HTTP API integration type {other}"))),
    }
    if integration.integration_uri.is_none() {
        return Err(Error::bad("IntegrationUri is required"));
    }
    match integration.payload_format_version.as_deref() {
        Some("1.0" | "2.0") => Ok(()),
        other => Err(Error::bad(format!("Invalid payload format version: {}", other.unwrap_or_default()))),
    }
}

fn apply_stage(api: &HttpApi, stage: &mut Stage, input: StageInput, now: i64) -> Result<(), Error> {
    if let Some(d) = input.deployment_id {
        if !api.deployments.contains_key(&d) {
            return Err(no_deployment(&d));
        }
        stage.deployment_id = Some(d);
    }
    if let Some(a) = input.auto_deploy {
        stage.auto_deploy = a;
    }
    if input.description.is_some() {
        stage.description = input.description;
    }
    if let Some(vars) = input.stage_variables {
        stage.stage_variables = vars;
    }
    if let Some(tags) = input.tags {
        stage.tags.extend(tags);
    }
    if input.default_route_settings.is_some() {
        stage.default_route_settings = input.default_route_settings;
    }
    if let Some(settings) = input.route_settings {
        stage.route_settings = settings;
    }
    if let Some(settings) = input.access_log_settings {
        crate::access_log::check(&settings)?;
        stage.access_log_settings = Some(settings);
    }
    stage.updated_ms = now;
    Ok(())
}

fn create_deployment(api: &mut HttpApi, input: DeploymentInput, now: i64) -> Result<Deployment, Error> {
    if let Some(name) = &input.stage_name
        && !api.stages.contains_key(name)
    {
        return Err(no_stage(name));
    }
    let deployment = Deployment {
        deployment_id: model::short_id(),
        description: input.description,
        auto_deployed: false,
        created_ms: now,
        routes: api.routes.clone(),
        integrations: api.integrations.clone(),
        authorizers: api.authorizers.clone(),
    };
    api.deployments.insert(deployment.deployment_id.clone(), deployment.clone());
    if let Some(stage) = input.stage_name.and_then(|n| api.stages.get_mut(&n)) {
        stage.deployment_id = Some(deployment.deployment_id.clone());
        stage.updated_ms = now;
    }
    Ok(deployment)
}

fn no_route(id: &str) -> Error {
    Error::not_found(format!("Invalid Route identifier specified {id}"))
}

fn no_integration(id: &str) -> Error {
    Error::not_found(format!("Invalid Integration identifier specified {id}"))
}

fn no_stage(name: &str) -> Error {
    Error::not_found(format!("Invalid stage identifier specified {name}"))
}

fn no_deployment(id: &str) -> Error {
    Error::not_found(format!("Invalid Deployment identifier specified {id}"))
}

/// A record in its wire shape.
fn view<T: serde::Serialize>(record: &T) -> Value {
    serde_json::to_value(record).unwrap_or_default()
}

fn api_view(api: &HttpApi) -> Value {
    let mut v = view(api);
    if let Value::Object(m) = &mut v {
        for internal in
            ["v", "owner", "createdMs", "routes", "integrations", "stages", "deployments", "authorizers"]
        {
            m.remove(internal);
        }
        m.insert("createdDate".into(), json!(model::iso(api.created_ms)));
        m.insert(
            "apiEndpoint".into(),
            json!(format!("https://{}.execute-api.{}.amazonaws.com", api.api_id, api.owner.region)),
        );
    }
    v
}

fn stage_view(stage: &Stage) -> Value {
    let mut v = view(stage);
    if let Value::Object(m) = &mut v {
        m.remove("createdMs");
        m.remove("updatedMs");
        m.insert("createdDate".into(), json!(model::iso(stage.created_ms)));
        m.insert("lastUpdatedDate".into(), json!(model::iso(stage.updated_ms)));
        let default = stage.default_route_settings.clone().unwrap_or_default();
        let mut default = view(&default);
        if let Value::Object(d) = &mut default {
            d.entry("detailedMetricsEnabled").or_insert(json!(false));
        }
        m.insert("defaultRouteSettings".into(), default);
        m.insert("routeSettings".into(), json!(stage.route_settings));
    }
    v
}

fn deployment_view(d: &Deployment) -> Value {
    let mut v = json!({
        "deploymentId": d.deployment_id,
        "deploymentStatus": "DEPLOYED",
        "autoDeployed": d.auto_deployed,
        "createdDate": model::iso(d.created_ms),
    });
    if let (Value::Object(m), Some(desc)) = (&mut v, &d.description) {
        m.insert("description".into(), json!(desc));
    }
    v
}
