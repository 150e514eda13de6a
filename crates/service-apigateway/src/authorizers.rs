//! The authorizers of both models: REST API Lambda authorizers (`TOKEN`, `REQUEST`), changed by
//! patch operations, and HTTP API Lambda `REQUEST` authorizers, changed by merging. Each handler is
//! one read-modify-write of the API's record; the data plane reads the authorizers a deployment
//! froze (`dataplane/auth.rs`).

use http::StatusCode;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};

use crate::error::Error;
use crate::model::{self, HttpAuthorizer, RestApi, RestAuthorizer};
use crate::operation::{HttpAuthorizerInput, Operation, RestAuthorizerInput, TestInvokeAuthorizerInput};
use crate::{Inner, empty, ok, patch};

pub(crate) fn act(inner: &Inner, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    match op {
        Operation::CreateAuthorizer(api, input) => {
            let authorizer = inner.update_rest(ctx, &api, |api| {
                let authorizer = new_rest(input)?;
                api.authorizers.insert(authorizer.id.clone(), authorizer.clone());
                Ok(authorizer)
            })?;
            ok(ctx, StatusCode::CREATED, &view(&authorizer))
        }
        Operation::GetAuthorizer(api, id) => {
            let api = inner.rest_api(ctx, &api)?;
            ok(ctx, StatusCode::OK, &view(api.authorizers.get(&id).ok_or_else(|| no_rest_authorizer(&id))?))
        }
        Operation::GetAuthorizers(api) => {
            let api = inner.rest_api(ctx, &api)?;
            let items: Vec<Value> = api.authorizers.values().map(view).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateAuthorizer(api, id, ops) => {
            let authorizer = inner.update_rest(ctx, &api, |api| {
                let mut authorizer =
                    api.authorizers.get(&id).cloned().ok_or_else(|| no_rest_authorizer(&id))?;
                patch::authorizer(&mut authorizer, &ops)?;
                check_rest(&authorizer)?;
                api.authorizers.insert(id.clone(), authorizer.clone());
                Ok(authorizer)
            })?;
            ok(ctx, StatusCode::OK, &view(&authorizer))
        }
        Operation::DeleteAuthorizer(api, id) => {
            inner.update_rest(ctx, &api, |api| {
                let authorizer = api.authorizers.get(&id).ok_or_else(|| no_rest_authorizer(&id))?;
                if let Some(user) = rest_user(api, &id) {
                    return Err(Error::ConflictException(format!(
                        "Cannot delete authorizer '{}', is referenced in method: {user}",
                        authorizer.name
                    )));
                }
                api.authorizers.remove(&id);
                Ok(())
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::FlushAuthorizersCache { api, stage, http } => {
            let known = if http {
                inner.http_api(ctx, &api)?.stages.contains_key(&stage)
            } else {
                inner.rest_api(ctx, &api)?.stages.contains_key(&stage)
            };
            if !known {
                return Err(Error::not_found(format!("Invalid stage identifier specified {stage}")));
            }
            inner.limits.forget(&api);
            empty(ctx, if http { StatusCode::NO_CONTENT } else { StatusCode::ACCEPTED })
        }
        Operation::CreateHttpAuthorizer(api, input) => {
            let authorizer = inner.update_http(ctx, &api, |api| {
                let mut authorizer =
                    HttpAuthorizer { authorizer_id: model::short_id(), ..HttpAuthorizer::default() };
                merge_http(&mut authorizer, input);
                check_http(&authorizer)?;
                api.authorizers.insert(authorizer.authorizer_id.clone(), authorizer.clone());
                Ok(authorizer)
            })?;
            ok(ctx, StatusCode::CREATED, &view(&authorizer))
        }
        Operation::GetHttpAuthorizer(api, id) => {
            let api = inner.http_api(ctx, &api)?;
            ok(ctx, StatusCode::OK, &view(api.authorizers.get(&id).ok_or_else(|| no_http_authorizer(&id))?))
        }
        Operation::GetHttpAuthorizers(api) => {
            let api = inner.http_api(ctx, &api)?;
            let items: Vec<Value> = api.authorizers.values().map(view).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::UpdateHttpAuthorizer(api, id, input) => {
            let authorizer = inner.update_http(ctx, &api, |api| {
                let mut authorizer =
                    api.authorizers.get(&id).cloned().ok_or_else(|| no_http_authorizer(&id))?;
                merge_http(&mut authorizer, input);
                check_http(&authorizer)?;
                api.authorizers.insert(id.clone(), authorizer.clone());
                Ok(authorizer)
            })?;
            ok(ctx, StatusCode::OK, &view(&authorizer))
        }
        Operation::DeleteHttpAuthorizer(api, id) => {
            inner.update_http(ctx, &api, |api| {
                if !api.authorizers.contains_key(&id) {
                    return Err(no_http_authorizer(&id));
                }
                if let Some(route) = api.routes.values().find(|r| r.authorizer_id.as_deref() == Some(&id)) {
                    return Err(Error::ConflictException(format!(
                        "Cannot delete authorizer {id}, it is referenced by route {}",
                        route.route_key
                    )));
                }
                api.authorizers.remove(&id);
                Ok(())
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        _ => Err(Error::UnknownOperationException),
    }
}

/// TestInvokeAuthorizer: runs the authorizer on the described request and reports what it
/// answered, without the cache.
pub(crate) async fn test_invoke(
    inner: &Inner,
    ctx: &RequestContext,
    api_id: &str,
    id: &str,
    input: TestInvokeAuthorizerInput,
) -> Result<Response, Error> {
    let api = inner.rest_api(ctx, api_id)?;
    let authorizer = api.authorizers.get(id).cloned().ok_or_else(|| no_rest_authorizer(id))?;
    let out = crate::dataplane::test_invoke(inner, &api, &authorizer, input).await;
    let mut body = json!({
        "clientStatus": out.client_status,
        "log": format!("Execution log for request test-request\nClient status: {}", out.client_status),
        "latency": out.latency_ms,
    });
    if let Value::Object(m) = &mut body {
        if let Some(p) = out.principal_id {
            m.insert("principalId".into(), json!(p));
        }
        if let Some(policy) = out.policy {
            m.insert("policy".into(), json!(policy.to_string()));
        }
    }
    ok(ctx, StatusCode::OK, &body)
}

pub(crate) fn new_rest(input: RestAuthorizerInput) -> Result<RestAuthorizer, Error> {
    let authorizer = RestAuthorizer {
        id: model::short_id(),
        name: input.name.unwrap_or_default(),
        kind: input.kind.unwrap_or_default(),
        provider_arns: input.provider_arns,
        auth_type: input.auth_type,
        authorizer_uri: input.authorizer_uri,
        authorizer_credentials: input.authorizer_credentials,
        identity_source: input.identity_source,
        identity_validation_expression: input.identity_validation_expression,
        authorizer_result_ttl_in_seconds: input.authorizer_result_ttl_in_seconds.unwrap_or(300),
    };
    check_rest(&authorizer)?;
    Ok(authorizer)
}

/// What CreateAuthorizer and UpdateAuthorizer refuse on a REST API.
fn check_rest(a: &RestAuthorizer) -> Result<(), Error> {
    if a.name.is_empty() {
        return Err(Error::bad("Authorizer name must be specified"));
    }
    match a.kind.as_str() {
        "TOKEN" | "REQUEST" => {}
        "COGNITO_USER_POOLS" => {
            return Err(Error::NotImplemented("API Gateway COGNITO_USER_POOLS authorizers".to_owned()));
        }
        other => return Err(Error::bad(format!("Invalid authorizer type specified: {other}"))),
    }
    let uri = a.authorizer_uri.as_deref().ok_or_else(|| Error::bad("Authorizer URI must be specified"))?;
    if crate::dataplane::lambda_arn_of_uri(uri).is_none() {
        return Err(Error::bad(format!("Invalid Authorizer URI specified: {uri}")));
    }
    if !(0..=3600).contains(&a.authorizer_result_ttl_in_seconds) {
        return Err(Error::bad("Authorizer TTL must be between 0 and 3600 seconds"));
    }
    let sources = a.identity_source.as_deref().unwrap_or_default();
    if a.kind == "TOKEN" {
        let header = sources.strip_prefix("method.request.header.").filter(|h| !h.is_empty());
        if header.is_none() || sources.contains(',') {
            return Err(Error::bad(format!("Invalid identity source specified: {sources}")));
        }
    } else {
        if sources.trim().is_empty() && a.authorizer_result_ttl_in_seconds > 0 {
            return Err(Error::bad("Identity source must be specified when caching is enabled"));
        }
        for source in sources.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let known =
                ["method.request.header.", "method.request.querystring.", "stageVariables.", "context."]
                    .iter()
                    .any(|p| source.strip_prefix(p).is_some_and(|n| !n.is_empty()));
            if !known {
                return Err(Error::bad(format!("Invalid identity source specified: {source}")));
            }
        }
    }
    if let Some(expr) = &a.identity_validation_expression
        && regex_lite::Regex::new(expr).is_err()
    {
        return Err(Error::bad(format!("Invalid identity validation expression specified: {expr}")));
    }
    Ok(())
}

/// The first method (`GET:/path`) that names authorizer `id`.
fn rest_user(api: &RestApi, id: &str) -> Option<String> {
    api.resources.values().find_map(|r| {
        r.methods
            .values()
            .find(|m| m.authorizer_id.as_deref() == Some(id))
            .map(|m| format!("{}:{}", m.http_method, r.path))
    })
}

pub(crate) fn merge_http(a: &mut HttpAuthorizer, input: HttpAuthorizerInput) {
    if let Some(name) = input.name {
        a.name = name;
    }
    if let Some(t) = input.authorizer_type {
        a.authorizer_type = t;
    }
    if input.authorizer_uri.is_some() {
        a.authorizer_uri = input.authorizer_uri;
    }
    if input.authorizer_credentials_arn.is_some() {
        a.authorizer_credentials_arn = input.authorizer_credentials_arn;
    }
    if input.authorizer_payload_format_version.is_some() {
        a.authorizer_payload_format_version = input.authorizer_payload_format_version;
    }
    if let Some(ttl) = input.authorizer_result_ttl_in_seconds {
        a.authorizer_result_ttl_in_seconds = ttl;
    }
    if input.enable_simple_responses.is_some() {
        a.enable_simple_responses = input.enable_simple_responses;
    }
    if let Some(sources) = input.identity_source {
        a.identity_source = sources;
    }
    if input.identity_validation_expression.is_some() {
        a.identity_validation_expression = input.identity_validation_expression;
    }
    if input.jwt_configuration.is_some() {
        a.jwt_configuration = input.jwt_configuration;
    }
}

/// What CreateAuthorizer and UpdateAuthorizer refuse on an HTTP API.
pub(crate) fn check_http(a: &HttpAuthorizer) -> Result<(), Error> {
    if a.name.is_empty() {
        return Err(Error::bad("Name is required"));
    }
    match a.authorizer_type.as_str() {
        "REQUEST" => {}
        "JWT" => return check_jwt(a),
        other => return Err(Error::bad(format!("Invalid authorizer type: {other}"))),
    }
    let uri = a.authorizer_uri.as_deref().ok_or_else(|| Error::bad("AuthorizerUri is required"))?;
    if crate::dataplane::lambda_arn_of_uri(uri).is_none() {
        return Err(Error::bad(format!("Invalid authorizer URI: {uri}")));
    }
    match a.authorizer_payload_format_version.as_deref() {
        Some("1.0" | "2.0") => {}
        None => return Err(Error::bad("AuthorizerPayloadFormatVersion is required for REQUEST authorizers")),
        Some(other) => return Err(Error::bad(format!("Invalid authorizer payload format version: {other}"))),
    }
    if a.enable_simple_responses == Some(true)
        && a.authorizer_payload_format_version.as_deref() != Some("2.0")
    {
        return Err(Error::bad(
            "EnableSimpleResponses is only supported for authorizer payload format version 2.0",
        ));
    }
    if !(0..=3600).contains(&a.authorizer_result_ttl_in_seconds) {
        return Err(Error::bad("AuthorizerResultTtlInSeconds must be between 0 and 3600"));
    }
    if a.authorizer_result_ttl_in_seconds > 0 && a.identity_source.is_empty() {
        return Err(Error::bad("IdentitySource is required when caching is enabled"));
    }
    for source in &a.identity_source {
        let known = ["$request.header.", "$request.querystring.", "$context.", "$stageVariables."]
            .iter()
            .any(|p| source.strip_prefix(p).is_some_and(|n| !n.is_empty()));
        if !known {
            return Err(Error::bad(format!("Invalid identity source: {source}")));
        }
    }
    Ok(())
}

/// A JWT authorizer: an issuer, at least one audience, one identity source.
fn check_jwt(a: &HttpAuthorizer) -> Result<(), Error> {
    let config = a.jwt_configuration.as_ref();
    if config.and_then(|c| c.issuer.as_deref()).is_none_or(str::is_empty) {
        return Err(Error::bad("JwtConfiguration.Issuer is required for JWT authorizers"));
    }
    if config.and_then(|c| c.audience.as_ref()).is_none_or(Vec::is_empty) {
        return Err(Error::bad("JwtConfiguration.Audience is required for JWT authorizers"));
    }
    if a.identity_source.len() != 1 {
        return Err(Error::bad("JWT authorizers take exactly one identity source"));
    }
    if a.authorizer_uri.is_some() {
        return Err(Error::bad("AuthorizerUri is not supported for JWT authorizers"));
    }
    Ok(())
}

fn no_rest_authorizer(id: &str) -> Error {
    Error::not_found(format!("Invalid Authorizer identifier specified {id}"))
}

fn no_http_authorizer(id: &str) -> Error {
    Error::not_found(format!("Invalid Authorizer identifier specified {id}"))
}

fn view<T: serde::Serialize>(record: &T) -> Value {
    serde_json::to_value(record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(sources: &str) -> RestAuthorizerInput {
        RestAuthorizerInput {
            name: Some("a".into()),
            kind: Some("TOKEN".into()),
            authorizer_uri: Some("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations".into()),
            identity_source: Some(sources.into()),
            ..RestAuthorizerInput::default()
        }
    }

    #[test]
    fn rest_authorizers_are_checked() {
        let a = new_rest(token("method.request.header.Authorization")).expect("valid");
        assert_eq!(a.authorizer_result_ttl_in_seconds, 300);
        assert_eq!(view(&a)["type"], "TOKEN");
        assert!(new_rest(token("method.request.querystring.t")).is_err());
        assert!(new_rest(token("")).is_err());
        let mut req = token("method.request.header.a, method.request.querystring.b, context.c");
        req.kind = Some("REQUEST".into());
        assert!(new_rest(req.clone()).is_ok());
        req.identity_source = Some("method.request.path.id".into());
        assert!(new_rest(req).is_err());
        let mut bad_uri = token("method.request.header.Authorization");
        bad_uri.authorizer_uri = Some("https://example.com".into());
        assert!(new_rest(bad_uri).is_err());
    }

    #[test]
    fn http_authorizers_need_a_payload_format() {
        let mut a = HttpAuthorizer::default();
        merge_http(
            &mut a,
            HttpAuthorizerInput {
                name: Some("a".into()),
                authorizer_type: Some("REQUEST".into()),
                authorizer_uri: Some("arn:aws:lambda:us-east-1:000000000000:function:f".into()),
                identity_source: Some(vec!["$request.header.Authorization".into()]),
                ..HttpAuthorizerInput::default()
            },
        );
        assert!(check_http(&a).is_err());
        a.authorizer_payload_format_version = Some("1.0".into());
        assert!(check_http(&a).is_ok());
        a.enable_simple_responses = Some(true);
        assert!(check_http(&a).is_err());
        a.authorizer_payload_format_version = Some("2.0".into());
        assert!(check_http(&a).is_ok());
        a.identity_source = vec!["$request.path.id".into()];
        assert!(check_http(&a).is_err());
    }
}
