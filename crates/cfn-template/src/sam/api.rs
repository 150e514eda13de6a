//! REST and HTTP APIs: explicit `AWS::Serverless::Api`/`HttpApi` resources and the implicit
//! `ServerlessRestApi`/`ServerlessHttpApi` that `Api`/`HttpApi` events without an API id create.
//! Routes collected from function events become the OpenAPI body; SAM's deployment, stage and
//! permission resources follow with SAM's logical ids.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::function::Target;
use super::{Attributes, Sam, alnum, check_known, hash_full, hash10, r#ref, tag_list};
use crate::error::{Error, Result, invalid};

const IMPLICIT_REST: &str = "ServerlessRestApi";
const IMPLICIT_HTTP: &str = "ServerlessHttpApi";

/// One route from a function event.
#[derive(Debug, Clone)]
struct Route {
    target: Target,
    event_id: String,
    path: String,
    /// Lower-case method, or `x-amazon-apigateway-any-method`.
    method: String,
    props: Map<String, Value>,
    at: Attributes,
}

#[derive(Debug, Clone)]
struct Declared {
    entry: Value,
    routes: Vec<Route>,
}

/// APIs seen so far and the routes attached to each.
#[derive(Debug, Default)]
pub(crate) struct Apis {
    rest: BTreeMap<String, Declared>,
    http: BTreeMap<String, Declared>,
    implicit_rest: Vec<Route>,
    implicit_http: Vec<Route>,
}

impl Apis {
    pub(crate) fn declare(&mut self, id: &str, ty: &str, entry: Value) -> Result<()> {
        let d = Declared { entry, routes: Vec::new() };
        if ty == "AWS::Serverless::Api" {
            self.rest.insert(id.to_owned(), d);
        } else {
            self.http.insert(id.to_owned(), d);
        }
        Ok(())
    }

    pub(crate) fn rest_route(
        &mut self,
        target: &Target,
        event_id: &str,
        p: &Map<String, Value>,
        at: &Attributes,
    ) -> Result<()> {
        let path = p
            .get("Path")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("Missing required property 'Path'."))?;
        let method = p
            .get("Method")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("Missing required property 'Method'."))?;
        let route = Route::new(target, event_id, path, method, p, at);
        attach(
            route,
            p.get("RestApiId"),
            &mut self.implicit_rest,
            &mut self.rest,
            "RestApiId",
            "AWS::Serverless::Api",
        )
    }

    /// HTTP API events may leave out Path and Method: the route is then `$default`.
    pub(crate) fn http_route(
        &mut self,
        target: &Target,
        event_id: &str,
        p: &Map<String, Value>,
        at: &Attributes,
    ) -> Result<()> {
        let path = p.get("Path").and_then(Value::as_str).unwrap_or("$default");
        let method = p.get("Method").and_then(Value::as_str).unwrap_or("ANY");
        let route = Route::new(target, event_id, path, method, p, at);
        attach(
            route,
            p.get("ApiId"),
            &mut self.implicit_http,
            &mut self.http,
            "ApiId",
            "AWS::Serverless::HttpApi",
        )
    }

    /// Writes every API with its routes. `rest_globals`/`http_globals` are the implicit APIs'
    /// entries (Globals applied).
    pub(crate) fn emit(self, sam: &mut Sam, rest_globals: &Value, http_globals: &Value) -> Result<()> {
        if !self.implicit_rest.is_empty() {
            rest_api(sam, IMPLICIT_REST, rest_globals, &self.implicit_rest, true)
                .map_err(|e| super::resource_error(IMPLICIT_REST, e))?;
        }
        for (id, d) in &self.rest {
            rest_api(sam, id, &d.entry, &d.routes, false).map_err(|e| super::resource_error(id, e))?;
        }
        if !self.implicit_http.is_empty() {
            http_api(sam, IMPLICIT_HTTP, http_globals, &self.implicit_http, true)
                .map_err(|e| super::resource_error(IMPLICIT_HTTP, e))?;
        }
        for (id, d) in &self.http {
            http_api(sam, id, &d.entry, &d.routes, false).map_err(|e| super::resource_error(id, e))?;
        }
        Ok(())
    }
}

impl Route {
    fn new(
        target: &Target,
        event_id: &str,
        path: &str,
        method: &str,
        p: &Map<String, Value>,
        at: &Attributes,
    ) -> Route {
        Route {
            target: target.clone(),
            event_id: event_id.to_owned(),
            path: path.to_owned(),
            method: method_key(method),
            props: p.clone(),
            at: at.clone(),
        }
    }
}

/// Routes without an API id go to the implicit API; with one, to that declared API.
fn attach(
    route: Route,
    api: Option<&Value>,
    implicit: &mut Vec<Route>,
    declared: &mut BTreeMap<String, Declared>,
    property: &str,
    ty: &str,
) -> Result<()> {
    match api {
        None => implicit.push(route),
        Some(api) => match ref_target(api).and_then(|id| declared.get_mut(&id)) {
            Some(d) => d.routes.push(route),
            None => {
                return Err(invalid(format!(
                    "{property} must be a valid reference to an '{ty}' resource in same template."
                )));
            }
        },
    }
    Ok(())
}

/// A conditional function's operation is present only when its condition holds, so the API
/// does not refer to a function that does not exist.
fn guarded(route: &Route, op: Value) -> Value {
    match &route.at.condition {
        Some(c) => json!({"Fn::If": [c, op, {"Ref": "AWS::NoValue"}]}),
        None => op,
    }
}

/// An implicit API exists when any of its functions does: when every route is conditional, the
/// API takes their condition (one), or `{Api}Condition`, their `Fn::Or` (several), as SAM does.
fn implicit_attributes(sam: &mut Sam, id: &str, routes: &[Route]) -> Attributes {
    let conditions: Option<Vec<Value>> = routes.iter().map(|r| r.at.condition.clone()).collect();
    let Some(mut conditions) = conditions else { return Attributes::default() };
    conditions.sort_by_key(Value::to_string);
    conditions.dedup();
    let condition = match conditions.as_slice() {
        [] => return Attributes::default(),
        [one] => one.clone(),
        many => {
            let name = format!("{id}Condition");
            // Fn::Or takes 2 to 10 conditions: nest beyond ten.
            let mut terms: Vec<Value> = many.iter().map(|c| json!({"Condition": c})).collect();
            while terms.len() > 10 {
                let rest = terms.split_off(9);
                terms.push(json!({"Fn::Or": rest}));
            }
            sam.conditions.insert(name.clone(), json!({"Fn::Or": terms}));
            json!(name)
        }
    };
    Attributes { condition: Some(condition), ..Attributes::default() }
}

fn ref_target(v: &Value) -> Option<String> {
    match crate::resolve::as_intrinsic(v) {
        Some(("Ref", Value::String(id))) => Some(id.clone()),
        _ => None,
    }
}

fn method_key(method: &str) -> String {
    let m = method.to_ascii_lowercase();
    if m == "any" { "x-amazon-apigateway-any-method".to_owned() } else { m }
}

/// The method and path as they appear in an execute-api ARN: `ANY` is `*`, path parameters `*`.
fn arn_route(route: &Route) -> String {
    let method =
        if route.method.starts_with("x-amazon") { "*".to_owned() } else { route.method.to_ascii_uppercase() };
    let path: Vec<String> = route
        .path
        .split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { "*".to_owned() } else { seg.to_owned() })
        .collect();
    format!("{method}{}", path.join("/"))
}

fn integration_uri(target: &Target) -> Value {
    json!({"Fn::Sub": format!(
        "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{}}}/invocations",
        target.sub_arn
    )})
}

fn execute_api_arn(api_id: &str, rest: &str) -> Value {
    json!({"Fn::Sub": [
        format!("arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{__ApiId__}}/${{__Stage__}}/{rest}"),
        {"__ApiId__": {"Ref": api_id}, "__Stage__": "*"},
    ]})
}

fn paths_of(body: &mut Value) -> Result<&mut Map<String, Value>> {
    let obj = body.as_object_mut().ok_or_else(|| invalid("'DefinitionBody' must be a map."))?;
    let paths = obj.entry("paths").or_insert_with(|| json!({}));
    paths.as_object_mut().ok_or_else(|| invalid("'DefinitionBody' paths must be a map."))
}

const REST_KNOWN: &[&str] = &[
    "StageName",
    "DefinitionBody",
    "DefinitionUri",
    "Cors",
    "Auth",
    "Name",
    "Description",
    "EndpointConfiguration",
    "BinaryMediaTypes",
    "MinimumCompressionSize",
    "Variables",
    "MethodSettings",
    "TracingEnabled",
    "CacheClusterEnabled",
    "CacheClusterSize",
    "AccessLogSetting",
    "Tags",
    "OpenApiVersion",
    "DisableExecuteApiEndpoint",
    "Mode",
    "ApiKeySourceType",
    "GatewayResponses",
    "Models",
    "Domain",
    "CanarySetting",
    "AlwaysDeploy",
    "PropagateTags",
];

/// An API's properties, checked: unknown ones refused as SAM refuses them, known ones Nimbus
/// cannot honour yet answered with NotImplemented.
fn api_properties<'a>(
    entry: &'a Value,
    empty: &'a Map<String, Value>,
    known: &[&str],
    unsupported: &[&str],
    ty: &str,
) -> Result<&'a Map<String, Value>> {
    let p = entry.get("Properties").and_then(Value::as_object).unwrap_or(empty);
    check_known(p, known, ty)?;
    if let Some(u) = unsupported.iter().find(|u| p.contains_key(**u)) {
        return Err(Error::NotImplemented(format!("{ty} property {u} is not supported by Nimbus yet")));
    }
    Ok(p)
}

fn rest_api(sam: &mut Sam, id: &str, entry: &Value, routes: &[Route], implicit: bool) -> Result<()> {
    let empty = Map::new();
    let p = api_properties(
        entry,
        &empty,
        REST_KNOWN,
        &["DefinitionUri", "Domain", "GatewayResponses", "Models", "CanarySetting"],
        "AWS::Serverless::Api",
    )?;
    let at = if implicit { implicit_attributes(sam, id, routes) } else { Attributes::of(entry) };
    let stage = if implicit {
        "Prod".to_owned()
    } else {
        let v = p.get("StageName").ok_or_else(|| invalid("Missing required property 'StageName'."))?;
        sam.literal(v)
            .ok_or_else(|| invalid("'StageName' must be a string or a Ref to a template parameter."))?
    };
    let mut body = match p.get("DefinitionBody") {
        Some(b) => b.clone(),
        None => {
            let title = p.get("Name").cloned().unwrap_or_else(|| r#ref("AWS::StackName"));
            json!({"swagger": "2.0", "info": {"version": "1.0", "title": title}, "paths": {}})
        }
    };
    let auth = p.get("Auth").and_then(Value::as_object).cloned().unwrap_or_default();
    let default_authorizer = auth.get("DefaultAuthorizer").and_then(Value::as_str).map(str::to_owned);
    let api_key_default = auth.get("ApiKeyRequired") == Some(&json!(true));
    let mut uses_api_key = false;
    {
        let paths = paths_of(&mut body)?;
        for route in routes {
            let mut op = Map::new();
            op.insert(
                "x-amazon-apigateway-integration".into(),
                json!({"type": "aws_proxy", "httpMethod": "POST", "uri": integration_uri(&route.target)}),
            );
            op.insert("responses".into(), json!({}));
            let route_auth = route.props.get("Auth");
            let authorizer = match route_auth.and_then(|a| a.get("Authorizer")).and_then(Value::as_str) {
                Some("NONE") => None,
                Some(name) => Some(name.to_owned()),
                None => default_authorizer.clone(),
            };
            let mut security = Vec::new();
            if let Some(name) = authorizer {
                security.push(json!({name: []}));
            }
            let api_key = route_auth
                .and_then(|a| a.get("ApiKeyRequired"))
                .map_or(api_key_default, |v| v == &json!(true));
            if api_key {
                uses_api_key = true;
                security.push(json!({"api_key": []}));
            }
            if !security.is_empty() {
                op.insert("security".into(), Value::Array(security));
            }
            let path = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
            if let Some(path) = path.as_object_mut() {
                path.insert(route.method.clone(), guarded(route, Value::Object(op)));
            }
        }
        if let Some(cors) = p.get("Cors") {
            add_cors(paths, cors);
        }
    }
    let mut security_definitions = Map::new();
    if let Some(Value::Object(authorizers)) = auth.get("Authorizers") {
        for (name, a) in authorizers {
            security_definitions.insert(name.clone(), authorizer_definition(sam, id, name, a, &at)?);
        }
    }
    if uses_api_key {
        security_definitions
            .insert("api_key".into(), json!({"type": "apiKey", "name": "x-api-key", "in": "header"}));
    }
    if let Some(obj) = body.as_object_mut() {
        if !security_definitions.is_empty() {
            obj.insert("securityDefinitions".into(), Value::Object(security_definitions));
        }
        if let Some(types) = p.get("BinaryMediaTypes") {
            let fixed = match types {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|t| t.as_str().map_or_else(|| t.clone(), |s| json!(s.replace("~1", "/"))))
                        .collect(),
                ),
                other => other.clone(),
            };
            obj.insert("x-amazon-apigateway-binary-media-types".into(), fixed);
        }
    }

    let mut api = Map::new();
    api.insert("Body".into(), body.clone());
    for key in [
        "Name",
        "Description",
        "MinimumCompressionSize",
        "DisableExecuteApiEndpoint",
        "Mode",
        "ApiKeySourceType",
    ] {
        if let Some(v) = p.get(key) {
            api.insert(key.into(), v.clone());
        }
    }
    if let Some(ec) = p.get("EndpointConfiguration") {
        let types = match ec {
            Value::Object(o) => o.get("Type").cloned().unwrap_or(Value::Null),
            other => other.clone(),
        };
        api.insert("EndpointConfiguration".into(), json!({"Types": [types]}));
    }
    if let Some(tags) = p.get("Tags") {
        api.insert("Tags".into(), tag_list(tags, false));
    }
    sam.add(id, at.main_resource("AWS::ApiGateway::RestApi", api));

    // A new body is a new deployment: the hash in the id makes CloudFormation create it.
    let deployment_id = format!("{id}Deployment{}", hash10(&body));
    let deployment = json!({
        "RestApiId": r#ref(id),
        "Description": format!("RestApi deployment id: {}", hash_full(&body)),
        "StageName": "Stage",
    });
    sam.add(&deployment_id, at.resource("AWS::ApiGateway::Deployment", super::function::as_map(deployment)));
    let stage_id = format!("{id}{}Stage", alnum(&stage));
    let mut s = Map::new();
    s.insert("DeploymentId".into(), r#ref(&deployment_id));
    s.insert("RestApiId".into(), r#ref(id));
    s.insert("StageName".into(), json!(stage));
    for key in [
        "Variables",
        "MethodSettings",
        "TracingEnabled",
        "CacheClusterEnabled",
        "CacheClusterSize",
        "AccessLogSetting",
    ] {
        if let Some(v) = p.get(key) {
            s.insert(key.into(), v.clone());
        }
    }
    if let Some(tags) = p.get("Tags") {
        s.insert("Tags".into(), tag_list(tags, false));
    }
    sam.add(&stage_id, at.resource("AWS::ApiGateway::Stage", s));
    sam.renames.insert(format!("{id}.Stage"), stage_id);
    sam.renames.insert(format!("{id}.Deployment"), deployment_id);

    let suffix = if implicit { "Prod".to_owned() } else { alnum(&stage) };
    for route in routes {
        let perm_id = format!("{}{}Permission{suffix}", route.target.function_id, route.event_id);
        super::events::permission_resource(
            sam,
            &perm_id,
            &route.target,
            "apigateway.amazonaws.com",
            Some(execute_api_arn(id, &arn_route(route))),
            None,
            &route.at,
        );
    }
    Ok(())
}

/// A Lambda or Cognito authorizer as a swagger security definition (plus, for Lambda, the
/// permission API Gateway needs to call it).
fn authorizer_definition(
    sam: &mut Sam,
    api_id: &str,
    name: &str,
    a: &Value,
    at: &Attributes,
) -> Result<Value> {
    let header = a
        .get("Identity")
        .and_then(|i| i.get("Header"))
        .and_then(Value::as_str)
        .unwrap_or("Authorization")
        .to_owned();
    if let Some(pool) = a.get("UserPoolArn") {
        let pools = if pool.is_array() { pool.clone() } else { json!([pool]) };
        return Ok(json!({
            "type": "apiKey", "name": header, "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools",
            "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": pools},
        }));
    }
    let arn = a
        .get("FunctionArn")
        .cloned()
        .ok_or_else(|| invalid(format!("Authorizer {name} must have a FunctionArn or UserPoolArn.")))?;
    let request = a.get("FunctionPayloadType").and_then(Value::as_str) == Some("REQUEST");
    let uri = json!({"Fn::Sub": [
        "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${__FunctionArn__}/invocations",
        {"__FunctionArn__": arn},
    ]});
    let mut authorizer = Map::new();
    authorizer.insert("type".into(), json!(if request { "request" } else { "token" }));
    authorizer.insert("authorizerUri".into(), uri);
    let identity = a.get("Identity");
    if request {
        // Identity's Headers, QueryStrings, StageVariables and Context, in that order.
        let mut sources = Vec::new();
        for (key, prefix) in [
            ("Headers", "method.request.header."),
            ("QueryStrings", "method.request.querystring."),
            ("StageVariables", "stageVariables."),
            ("Context", "context."),
        ] {
            let names = identity.and_then(|i| i.get(key)).and_then(Value::as_array).into_iter().flatten();
            sources.extend(names.filter_map(Value::as_str).map(|n| format!("{prefix}{n}")));
        }
        if !sources.is_empty() {
            authorizer.insert("identitySource".into(), json!(sources.join(", ")));
        }
    } else {
        authorizer.insert("identitySource".into(), json!(format!("method.request.header.{header}")));
        if let Some(expr) = identity.and_then(|i| i.get("ValidationExpression")) {
            authorizer.insert("identityValidationExpression".into(), expr.clone());
        }
    }
    if let Some(ttl) = identity.and_then(|i| i.get("ReauthorizeEvery")) {
        authorizer.insert("authorizerResultTtlInSeconds".into(), ttl.clone());
    }
    let perm = json!({
        "Action": "lambda:InvokeFunction",
        "FunctionName": arn,
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": {"Fn::Sub": [
            "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${__ApiId__}/authorizers/*",
            {"__ApiId__": {"Ref": api_id}},
        ]},
    });
    sam.add(
        &format!("{api_id}{name}AuthorizerPermission"),
        at.resource("AWS::Lambda::Permission", super::function::as_map(perm)),
    );
    Ok(json!({
        "type": "apiKey", "name": header, "in": "header",
        "x-amazon-apigateway-authtype": "custom",
        "x-amazon-apigateway-authorizer": Value::Object(authorizer),
    }))
}

/// SAM's CORS: an `options` mock method on every path answering the CORS headers.
fn add_cors(paths: &mut Map<String, Value>, cors: &Value) {
    let (origin, headers, methods, max_age, credentials) = match cors {
        Value::Object(c) => (
            c.get("AllowOrigin").cloned().unwrap_or(Value::Null),
            c.get("AllowHeaders").cloned(),
            c.get("AllowMethods").cloned(),
            c.get("MaxAge").cloned(),
            c.get("AllowCredentials") == Some(&json!(true)),
        ),
        other => (other.clone(), None, None, None, false),
    };
    for (_, ops) in paths.iter_mut() {
        let Some(ops) = ops.as_object_mut() else { continue };
        if ops.contains_key("options") {
            continue;
        }
        let allow_methods = methods.clone().unwrap_or_else(|| {
            let mut names: Vec<String> = ops
                .keys()
                .map(|m| {
                    if m.starts_with("x-amazon") {
                        "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT".to_owned()
                    } else {
                        m.to_ascii_uppercase()
                    }
                })
                .collect();
            names.push("OPTIONS".to_owned());
            names.sort();
            names.dedup();
            json!(format!("'{}'", names.join(",")))
        });
        let mut params = Map::new();
        params.insert("method.response.header.Access-Control-Allow-Origin".into(), origin.clone());
        params.insert("method.response.header.Access-Control-Allow-Methods".into(), allow_methods);
        if let Some(h) = &headers {
            params.insert("method.response.header.Access-Control-Allow-Headers".into(), h.clone());
        }
        if let Some(m) = &max_age {
            params.insert("method.response.header.Access-Control-Max-Age".into(), m.clone());
        }
        if credentials {
            params.insert("method.response.header.Access-Control-Allow-Credentials".into(), json!("'true'"));
        }
        let header_names: Map<String, Value> = params
            .keys()
            .map(|k| (k.trim_start_matches("method.response.header.").to_owned(), json!({"type": "string"})))
            .collect();
        ops.insert(
            "options".into(),
            json!({
                "summary": "CORS support",
                "consumes": ["application/json"],
                "produces": ["application/json"],
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\n  \"statusCode\" : 200\n}\n"},
                    "responses": {"default": {"statusCode": "200", "responseParameters": params, "responseTemplates": {"application/json": "{}\n"}}},
                },
                "responses": {"200": {"description": "Default response for CORS method", "headers": header_names}},
            }),
        );
    }
}

const HTTP_KNOWN: &[&str] = &[
    "StageName",
    "DefinitionBody",
    "DefinitionUri",
    "CorsConfiguration",
    "Auth",
    "StageVariables",
    "DefaultRouteSettings",
    "RouteSettings",
    "AccessLogSettings",
    "Tags",
    "Description",
    "DisableExecuteApiEndpoint",
    "FailOnWarnings",
    "Name",
    "Domain",
    "PropagateTags",
];

fn http_api(sam: &mut Sam, id: &str, entry: &Value, routes: &[Route], implicit: bool) -> Result<()> {
    let empty = Map::new();
    let p =
        api_properties(entry, &empty, HTTP_KNOWN, &["DefinitionUri", "Domain"], "AWS::Serverless::HttpApi")?;
    let at = if implicit { implicit_attributes(sam, id, routes) } else { Attributes::of(entry) };
    let mut body = match p.get("DefinitionBody") {
        Some(b) => b.clone(),
        None => {
            let title = p.get("Name").cloned().unwrap_or_else(|| r#ref("AWS::StackName"));
            json!({
                "openapi": "3.0.1",
                "info": {"title": title, "version": "1.0"},
                "paths": {},
                "tags": [{"name": "httpapi:createdBy", "x-amazon-apigateway-tag-value": "SAM"}],
            })
        }
    };
    let auth = p.get("Auth").and_then(Value::as_object).cloned().unwrap_or_default();
    let default_authorizer = auth.get("DefaultAuthorizer").and_then(Value::as_str).map(str::to_owned);
    {
        let paths = paths_of(&mut body)?;
        for route in routes {
            let mut integration = Map::new();
            integration.insert("type".into(), json!("aws_proxy"));
            integration.insert("httpMethod".into(), json!("POST"));
            integration.insert("uri".into(), integration_uri(&route.target));
            integration.insert(
                "payloadFormatVersion".into(),
                route.props.get("PayloadFormatVersion").cloned().unwrap_or_else(|| json!("2.0")),
            );
            if let Some(t) = route.props.get("TimeoutInMillis") {
                integration.insert("timeoutInMillis".into(), t.clone());
            }
            let mut op = Map::new();
            op.insert("x-amazon-apigateway-integration".into(), Value::Object(integration));
            op.insert("responses".into(), json!({}));
            let authorizer =
                match route.props.get("Auth").and_then(|a| a.get("Authorizer")).and_then(Value::as_str) {
                    Some("NONE") => None,
                    Some(name) => Some(name.to_owned()),
                    None => default_authorizer.clone(),
                };
            if let Some(name) = authorizer {
                let scopes = route
                    .props
                    .get("Auth")
                    .and_then(|a| a.get("AuthorizationScopes"))
                    .cloned()
                    .unwrap_or_else(|| json!([]));
                op.insert("security".into(), json!([{name: scopes}]));
            }
            let path = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
            if let Some(path) = path.as_object_mut() {
                path.insert(route.method.clone(), guarded(route, Value::Object(op)));
            }
        }
    }
    if let Some(obj) = body.as_object_mut() {
        if let Some(Value::Object(authorizers)) = auth.get("Authorizers") {
            let mut schemes = Map::new();
            for (name, a) in authorizers {
                schemes.insert(name.clone(), http_authorizer(a));
            }
            let components = obj.entry("components").or_insert_with(|| json!({}));
            if let Some(c) = components.as_object_mut() {
                c.insert("securitySchemes".into(), Value::Object(schemes));
            }
        }
        if let Some(cors) = p.get("CorsConfiguration") {
            obj.insert("x-amazon-apigateway-cors".into(), http_cors(cors));
        }
        if let Some(d) = p.get("Description")
            && let Some(info) = obj.get_mut("info").and_then(Value::as_object_mut)
        {
            info.insert("description".into(), d.clone());
        }
    }
    let mut api = Map::new();
    api.insert("Body".into(), body);
    for key in ["DisableExecuteApiEndpoint", "FailOnWarnings"] {
        if let Some(v) = p.get(key) {
            api.insert(key.into(), v.clone());
        }
    }
    sam.add(id, at.main_resource("AWS::ApiGatewayV2::Api", api));

    let (stage_id, stage_name) = match p.get("StageName") {
        None => (format!("{id}ApiGatewayDefaultStage"), "$default".to_owned()),
        Some(v) => {
            let s = sam
                .literal(v)
                .ok_or_else(|| invalid("'StageName' must be a string or a Ref to a template parameter."))?;
            if s == "$default" {
                (format!("{id}ApiGatewayDefaultStage"), s)
            } else {
                (format!("{id}{}Stage", alnum(&s)), s)
            }
        }
    };
    let mut tags = Map::new();
    tags.insert("httpapi:createdBy".into(), json!("SAM"));
    if let Some(Value::Object(user)) = p.get("Tags") {
        tags.extend(user.clone());
    }
    let mut s = Map::new();
    s.insert("ApiId".into(), r#ref(id));
    s.insert("StageName".into(), json!(stage_name));
    s.insert("AutoDeploy".into(), json!(true));
    s.insert("Tags".into(), Value::Object(tags));
    for key in ["StageVariables", "DefaultRouteSettings", "RouteSettings", "AccessLogSettings"] {
        if let Some(v) = p.get(key) {
            s.insert(key.into(), v.clone());
        }
    }
    sam.add(&stage_id, at.resource("AWS::ApiGatewayV2::Stage", s));
    sam.renames.insert(format!("{id}.Stage"), stage_id);

    for route in routes {
        let perm_id = format!("{}{}Permission", route.target.function_id, route.event_id);
        let rest = if route.path == "$default" { "*".to_owned() } else { arn_route(route) };
        super::events::permission_resource(
            sam,
            &perm_id,
            &route.target,
            "apigateway.amazonaws.com",
            Some(execute_api_arn(id, &rest)),
            None,
            &route.at,
        );
    }
    Ok(())
}

/// HTTP API authorizers: JWT (`JwtConfiguration`) or Lambda (`FunctionArn`).
fn http_authorizer(a: &Value) -> Value {
    if let Some(jwt) = a.get("JwtConfiguration") {
        let mut cfg = Map::new();
        if let Some(i) = jwt.get("issuer").or_else(|| jwt.get("Issuer")) {
            cfg.insert("issuer".into(), i.clone());
        }
        if let Some(aud) = jwt.get("audience").or_else(|| jwt.get("Audience")) {
            cfg.insert("audience".into(), aud.clone());
        }
        return json!({
            "type": "oauth2",
            "x-amazon-apigateway-authorizer": {
                "type": "jwt",
                "jwtConfiguration": cfg,
                "identitySource": a.get("IdentitySource").cloned().unwrap_or_else(|| json!("$request.header.Authorization")),
            },
        });
    }
    let arn = a.get("FunctionArn").cloned().unwrap_or(Value::Null);
    json!({
        "type": "apiKey", "name": "Authorization", "in": "header",
        "x-amazon-apigateway-authorizer": {
            "type": "request",
            "authorizerUri": {"Fn::Sub": [
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${__FunctionArn__}/invocations",
                {"__FunctionArn__": arn},
            ]},
            "authorizerPayloadFormatVersion": a.get("AuthorizerPayloadFormatVersion").cloned().unwrap_or_else(|| json!("2.0")),
            "enableSimpleResponses": a.get("EnableSimpleResponses").cloned().unwrap_or(json!(false)),
        },
    })
}

/// `CorsConfiguration: true` allows everything; a map is renamed to the OpenAPI extension's keys.
fn http_cors(cors: &Value) -> Value {
    match cors {
        Value::Bool(true) => json!({"allowOrigins": ["*"], "allowHeaders": ["*"], "allowMethods": ["*"]}),
        Value::Object(c) => {
            let mut out = Map::new();
            for (k, v) in c {
                let mut chars = k.chars();
                let key = match chars.next() {
                    Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                    None => continue,
                };
                out.insert(key, v.clone());
            }
            Value::Object(out)
        }
        _ => json!({}),
    }
}
