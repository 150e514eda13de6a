//! Gateway responses of REST APIs: every error the gateway itself answers (not the
//! integration's) is tagged with its response type where it is built ([`tag`]), and [`apply`]
//! is the one place that turns a tagged response into what the API's deployed gateway
//! responses ask for: the type's own customization, else `DEFAULT_4XX`/`DEFAULT_5XX` by status
//! class, else the default as built. A customization sets the status, adds
//! `gatewayresponse.header.*` headers from literals, request parameters, stage variables or
//! `$context`, and renders a body template.
//!
//! Templates are rendered by plain substitution of `$context.*` and `$stageVariables.*`
//! references ([`render`]): that is the seam where the VTL engine plugs in once it lands.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use protocol::Response;

use crate::model::{GatewayResponse, RestApi};

/// What the gateway said, carried in the response's extensions until [`apply`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GatewayError {
    pub response_type: &'static str,
    pub message: String,
    /// `$context.error.validationErrorString`.
    pub validation: String,
}

/// The gateway response type and message of a response the gateway built.
pub(crate) fn error_of(resp: &Response) -> Option<(&'static str, &str)> {
    resp.extensions().get::<GatewayError>().map(|e| (e.response_type, e.message.as_str()))
}

/// Marks a response the gateway built as a gateway response of `response_type`.
pub(crate) fn tag(mut resp: Response, response_type: &'static str, message: &str) -> Response {
    resp.extensions_mut().insert(GatewayError {
        response_type,
        message: message.to_owned(),
        validation: String::new(),
    });
    resp
}

/// Marks a request validation failure (`BAD_REQUEST_PARAMETERS`, `BAD_REQUEST_BODY`).
pub(crate) fn tag_validation(mut resp: Response, invalid: super::validate::Invalid) -> Response {
    resp.extensions_mut().insert(GatewayError {
        response_type: invalid.response_type,
        message: invalid.message,
        validation: invalid.details,
    });
    resp
}

/// The request as gateway response mappings may read it.
pub(crate) struct Request<'a> {
    pub headers: &'a HeaderMap,
    pub query: &'a str,
    pub stage: &'a str,
    pub request_id: &'a str,
    pub domain_name: &'a str,
    pub http_method: &'a str,
    pub path: &'a str,
}

/// Applies the API's deployed gateway responses (of `stage`) to a tagged response; untagged
/// responses (the integration's) pass as they are.
pub(crate) fn apply(mut resp: Response, api: &RestApi, req: &Request<'_>) -> Response {
    // The tag stays on the response: access logs read `$context.error.*` from it.
    let Some(error) = resp.extensions().get::<GatewayError>().cloned() else { return resp };
    let deployment = api.stages.get(req.stage).and_then(|s| api.deployments.get(&s.deployment_id));
    let Some(responses) = deployment.map(|d| &d.gateway_responses) else { return resp };
    let fallback = if resp.status().is_server_error() { "DEFAULT_5XX" } else { "DEFAULT_4XX" };
    let Some(custom) = responses.get(error.response_type).or_else(|| responses.get(fallback)) else {
        return resp;
    };
    let stage_vars = api.stages.get(req.stage).map(|s| &s.variables);
    let lookup = |name: &str| -> Option<String> {
        if let Some(var) = name.strip_prefix("stageVariables.") {
            return stage_vars.and_then(|v| v.get(var)).cloned();
        }
        let key = name.strip_prefix("context.")?;
        Some(match key {
            "error.message" => error.message.clone(),
            "error.messageString" => serde_json::Value::String(error.message.clone()).to_string(),
            "error.responseType" => error.response_type.to_owned(),
            "error.validationErrorString" => error.validation.clone(),
            "requestId" | "extendedRequestId" => req.request_id.to_owned(),
            "apiId" => api.id.clone(),
            "accountId" => api.owner.account.clone(),
            "stage" => req.stage.to_owned(),
            "domainName" => req.domain_name.to_owned(),
            "httpMethod" => req.http_method.to_owned(),
            "path" => req.path.to_owned(),
            _ => return None,
        })
    };
    customize(&mut resp, custom, &lookup, req);
    resp
}

fn customize(
    resp: &mut Response,
    custom: &GatewayResponse,
    lookup: &dyn Fn(&str) -> Option<String>,
    req: &Request<'_>,
) {
    if let Some(status) = custom.status_code.as_deref().and_then(|s| s.parse::<u16>().ok())
        && let Ok(status) = StatusCode::from_u16(status)
    {
        *resp.status_mut() = status;
    }
    for (target, source) in &custom.response_parameters {
        let Some(name) = target.strip_prefix("gatewayresponse.header.") else { continue };
        let Some(value) = parameter(source, lookup, req) else { continue };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            resp.headers_mut().insert(n, v);
        }
    }
    // A customization without templates keeps the default body.
    let template = custom
        .response_templates
        .get_key_value("application/json")
        .or_else(|| custom.response_templates.iter().next());
    if let Some((content_type, template)) = template {
        *resp.body_mut() = Bytes::from(render(template, lookup));
        if let Ok(v) = HeaderValue::from_str(content_type) {
            resp.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
}

/// A response parameter's value: `'literal'`, `method.request.{header,querystring}.X`,
/// `stageVariables.X` or `context.X`.
fn parameter(source: &str, lookup: &dyn Fn(&str) -> Option<String>, req: &Request<'_>) -> Option<String> {
    if let Some(literal) = source.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(literal.to_owned());
    }
    if let Some(name) = source.strip_prefix("method.request.header.") {
        return req.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    }
    if let Some(name) = source.strip_prefix("method.request.querystring.") {
        return form_urlencoded::parse(req.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned());
    }
    lookup(source)
}

/// Renders a gateway response template by substituting `$context.x`, `${context.x}`,
/// `$stageVariables.x` (and their `$!` forms); unknown references render empty. Not Velocity:
/// API Gateway documents gateway response templates as simple substitution, unprocessed by VTL.
pub(crate) fn render(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let after = after.strip_prefix('!').unwrap_or(after);
        let (braced, body) = match after.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, after),
        };
        let len = body
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.' || *c == '-'))
            .map_or(body.len(), |(i, _)| i);
        let name = body[..len].trim_end_matches('.');
        let known = name.starts_with("context.") || name.starts_with("stageVariables.");
        let closes = !braced || body[name.len()..].starts_with('}');
        if !known || !closes {
            out.push('$');
            rest = &rest[at + 1..];
            continue;
        }
        out.push_str(&lookup(name).unwrap_or_default());
        let consumed = name.len() + usize::from(braced) * 2;
        let bang = usize::from(rest[at + 1..].starts_with('!'));
        rest = &rest[at + 1 + bang + consumed..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "context.error.message" => Some("Missing Authentication Token".into()),
            "context.error.messageString" => Some("\"Missing Authentication Token\"".into()),
            "context.requestId" => Some("req-1".into()),
            "stageVariables.env" => Some("dev".into()),
            _ => None,
        }
    }

    #[test]
    fn renders_context_references() {
        assert_eq!(
            render(r#"{"error":$context.error.messageString,"id":"${context.requestId}"}"#, &lookup),
            r#"{"error":"Missing Authentication Token","id":"req-1"}"#
        );
        assert_eq!(
            render("$!context.error.message in $stageVariables.env.", &lookup),
            "Missing Authentication Token in dev."
        );
        assert_eq!(render("cost: $5 and $context.nope!", &lookup), "cost: $5 and !");
        assert_eq!(render("${context.requestId", &lookup), "${context.requestId");
    }

    #[test]
    fn customizes_status_headers_and_body() {
        let mut resp = http::Response::new(Bytes::from_static(b"{\"message\":\"x\"}"));
        *resp.status_mut() = StatusCode::FORBIDDEN;
        let headers =
            HeaderMap::from_iter([(HeaderName::from_static("x-in"), HeaderValue::from_static("v"))]);
        let req = Request {
            headers: &headers,
            query: "q=1",
            stage: "dev",
            request_id: "req-1",
            domain_name: "d",
            http_method: "GET",
            path: "/",
        };
        let custom = GatewayResponse {
            response_type: "MISSING_AUTHENTICATION_TOKEN".into(),
            status_code: Some("404".into()),
            response_parameters: [
                ("gatewayresponse.header.x-lit".to_owned(), "'yes'".to_owned()),
                ("gatewayresponse.header.x-echo".to_owned(), "method.request.header.x-in".to_owned()),
                ("gatewayresponse.header.x-q".to_owned(), "method.request.querystring.q".to_owned()),
            ]
            .into(),
            response_templates: [(
                "application/json".to_owned(),
                "{\"m\":$context.error.messageString}".to_owned(),
            )]
            .into(),
        };
        customize(&mut resp, &custom, &lookup, &req);
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers()["x-lit"], "yes");
        assert_eq!(resp.headers()["x-echo"], "v");
        assert_eq!(resp.headers()["x-q"], "1");
        assert_eq!(resp.body().as_ref(), br#"{"m":"Missing Authentication Token"}"#);
    }
}
