//! HTTP API parameter mapping: an integration's `requestParameters` (`append|overwrite|remove:
//! header.X`, `…:querystring.X`, `overwrite:path`) change the request before it reaches the
//! backend, its `responseParameters` (per backend status: headers and `overwrite:statuscode`)
//! change the answer. Keys parse into [`Mapping`]s (also when the integration is written, to
//! refuse bad ones as API Gateway does); values are text with `$request.*`, `$response.*`,
//! `$context.*` and `$stageVariables.*` references (`${…}` braces optional) filled at the call.

use std::collections::BTreeMap;

/// What a mapping does to its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Append,
    Overwrite,
    Remove,
}

/// What a mapping changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Header(String),
    QueryString(String),
    Path,
    StatusCode,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub action: Action,
    pub target: Target,
    pub value: String,
}

/// Which side of the integration a map applies to: the targets each allows differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Request,
    Response,
}

/// Headers API Gateway keeps for itself: no mapping may set or remove them.
fn reserved(header: &str) -> bool {
    let h = header.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "authorization",
        "connection",
        "content-encoding",
        "content-length",
        "content-location",
        "forwarded",
        "keep-alive",
        "origin",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "via",
    ];
    EXACT.contains(&h.as_str())
        || ["access-control-", "apigw-", "x-amz-", "x-amzn-"].iter().any(|p| h.starts_with(p))
}

/// API Gateway's refusal of a mapping key, in its words.
fn invalid(key: &str) -> String {
    format!(
        "Invalid mapping expression specified: Validation Result: warnings : [], errors : [Invalid mapping expression parameter specified: {key}]"
    )
}

/// Parses one key of a request or response map.
pub(crate) fn parse(side: Side, key: &str, value: &str) -> Result<Mapping, String> {
    let (action, target) = key.split_once(':').ok_or_else(|| invalid(key))?;
    let action = match action {
        "append" => Action::Append,
        "overwrite" => Action::Overwrite,
        "remove" => Action::Remove,
        _ => return Err(invalid(key)),
    };
    let target = if let Some(name) = target.strip_prefix("header.") {
        if name.is_empty() || reserved(name) || http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(invalid(key));
        }
        Target::Header(name.to_owned())
    } else if let Some(name) = target.strip_prefix("querystring.").filter(|_| side == Side::Request) {
        if name.is_empty() {
            return Err(invalid(key));
        }
        Target::QueryString(name.to_owned())
    } else if target == "path" && side == Side::Request && action == Action::Overwrite {
        Target::Path
    } else if target == "statuscode" && side == Side::Response && action == Action::Overwrite {
        Target::StatusCode
    } else {
        return Err(invalid(key));
    };
    Ok(Mapping { action, target, value: value.to_owned() })
}

/// Checks an integration's maps as CreateIntegration/UpdateIntegration do.
pub(crate) fn check(
    request: Option<&BTreeMap<String, String>>,
    response: Option<&BTreeMap<String, BTreeMap<String, String>>>,
) -> Result<(), String> {
    for (k, v) in request.into_iter().flatten() {
        parse(Side::Request, k, v)?;
    }
    for (status, map) in response.into_iter().flatten() {
        if !status.parse::<u16>().is_ok_and(|s| (200..=599).contains(&s)) {
            return Err(invalid(status));
        }
        for (k, v) in map {
            parse(Side::Response, k, v)?;
        }
    }
    Ok(())
}

/// Fills a mapping value: `$name` or `${name}` references resolved by `lookup` (`None` for a
/// parameter the request does not have), the rest kept as written. `None` when a reference is
/// missing: such a mapping is skipped rather than sending an empty value.
pub(crate) fn fill(value: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(body) => match body.find('}') {
                Some(end) => (&body[..end], end + 2),
                None => (body, body.len() + 1),
            },
            None => {
                let len = after
                    .char_indices()
                    .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']')))
                    .map_or(after.len(), |(i, _)| i);
                (after[..len].trim_end_matches('.'), len)
            }
        };
        let known =
            ["request.", "response.", "context.", "stageVariables."].iter().any(|p| name.starts_with(p));
        if known {
            out.push_str(&lookup(name)?);
            rest = &after[consumed.min(after.len())..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// The pieces of an outgoing request a request map may change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Outgoing {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// `Some` once `overwrite:path` replaced the backend URL's path.
    pub path: Option<String>,
}

/// Applies a request map to `out`, in key order.
pub(crate) fn apply_request(
    map: &BTreeMap<String, String>,
    out: &mut Outgoing,
    lookup: &dyn Fn(&str) -> Option<String>,
) {
    for (k, v) in map {
        let Ok(m) = parse(Side::Request, k, v) else { continue };
        let value = if m.action == Action::Remove { Some(String::new()) } else { fill(&m.value, lookup) };
        let Some(value) = value else { continue };
        match m.target {
            Target::Header(name) => edit(&mut out.headers, &name, m.action, value, true),
            Target::QueryString(name) => edit(&mut out.query, &name, m.action, value, false),
            Target::Path => out.path = Some(value),
            Target::StatusCode => {}
        }
    }
}

/// Applies the response map for `status` to a backend's answer; returns the status to send.
pub(crate) fn apply_response(
    maps: &BTreeMap<String, BTreeMap<String, String>>,
    status: u16,
    headers: &mut Vec<(String, String)>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> u16 {
    let Some(map) = maps.get(&status.to_string()) else { return status };
    let mut sent = status;
    for (k, v) in map {
        let Ok(m) = parse(Side::Response, k, v) else { continue };
        let value = if m.action == Action::Remove { Some(String::new()) } else { fill(&m.value, lookup) };
        let Some(value) = value else { continue };
        match m.target {
            Target::Header(name) => edit(headers, &name, m.action, value, true),
            Target::StatusCode => {
                if let Ok(code) = value.trim().parse::<u16>()
                    && (100..=599).contains(&code)
                {
                    sent = code;
                }
            }
            Target::QueryString(_) | Target::Path => {}
        }
    }
    sent
}

/// Appends, overwrites or removes `name` in a list of pairs. Header names compare without
/// case (and an appended header value joins the existing one with a comma, as API Gateway
/// combines them); query string names compare exactly and an append adds another pair.
fn edit(pairs: &mut Vec<(String, String)>, name: &str, action: Action, value: String, header: bool) {
    let same = |k: &str| if header { k.eq_ignore_ascii_case(name) } else { k == name };
    match action {
        Action::Remove => pairs.retain(|(k, _)| !same(k)),
        Action::Overwrite => {
            pairs.retain(|(k, _)| !same(k));
            pairs.push((name.to_owned(), value));
        }
        Action::Append if header => match pairs.iter_mut().find(|(k, _)| same(k)) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => pairs.push((name.to_owned(), value)),
        },
        Action::Append => pairs.push((name.to_owned(), value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "request.header.x-user" => Some("ana".into()),
            "request.querystring.page" => Some("2".into()),
            "request.path" => Some("/items/7".into()),
            "request.path.id" => Some("7".into()),
            "context.requestId" => Some("req-1".into()),
            "stageVariables.env" => Some("dev".into()),
            "response.header.x-total" => Some("12".into()),
            _ => None,
        }
    }

    #[test]
    fn keys_parse_into_actions_and_targets_and_bad_ones_are_refused() {
        let m = parse(Side::Request, "append:header.x-tenant", "$request.header.x-user").expect("valid");
        assert_eq!((m.action, m.target), (Action::Append, Target::Header("x-tenant".into())));
        assert_eq!(parse(Side::Request, "overwrite:path", "/v2").expect("valid").target, Target::Path);
        assert_eq!(
            parse(Side::Response, "overwrite:statuscode", "204").expect("valid").target,
            Target::StatusCode
        );
        for (side, bad) in [
            (Side::Request, "overwrite:header.Authorization"),
            (Side::Request, "append:header.x-amzn-trace-id"),
            (Side::Request, "append:path"),
            (Side::Request, "overwrite:statuscode"),
            (Side::Response, "overwrite:querystring.a"),
            (Side::Request, "replace:header.a"),
            (Side::Request, "header.a"),
        ] {
            let e = parse(side, bad, "v").expect_err(bad);
            assert!(e.starts_with("Invalid mapping expression specified") && e.ends_with(&format!("{bad}]")));
        }
        let mut status = BTreeMap::new();
        status.insert("700".to_owned(), BTreeMap::new());
        assert!(check(None, Some(&status)).is_err());
    }

    #[test]
    fn values_fill_references_in_both_forms_and_skip_missing_ones() {
        assert_eq!(fill("$request.header.x-user", &lookup).as_deref(), Some("ana"));
        assert_eq!(
            fill("user=${request.header.x-user}&env=$stageVariables.env", &lookup).as_deref(),
            Some("user=ana&env=dev")
        );
        assert_eq!(fill("/v2$request.path", &lookup).as_deref(), Some("/v2/items/7"));
        assert_eq!(fill("costs $5", &lookup).as_deref(), Some("costs $5"));
        assert_eq!(fill("$request.header.absent", &lookup), None);
    }

    #[test]
    fn request_maps_edit_headers_query_strings_and_the_path() {
        let mut out = Outgoing {
            headers: vec![("X-Tenant".into(), "a".into()), ("x-drop".into(), "1".into())],
            query: vec![("page".into(), "1".into())],
            path: None,
        };
        let map: BTreeMap<String, String> = [
            ("append:header.x-tenant", "$request.header.x-user"),
            ("remove:header.x-drop", ""),
            ("overwrite:header.x-request", "$context.requestId"),
            ("append:querystring.page", "$request.querystring.page"),
            ("overwrite:querystring.env", "$stageVariables.env"),
            ("overwrite:path", "/v2/items/$request.path.id"),
            ("overwrite:header.x-skipped", "$request.header.absent"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        apply_request(&map, &mut out, &lookup);
        assert_eq!(
            out.headers,
            vec![("X-Tenant".to_owned(), "a,ana".to_owned()), ("x-request".to_owned(), "req-1".to_owned())]
        );
        assert_eq!(
            out.query,
            vec![
                ("page".to_owned(), "1".to_owned()),
                ("page".to_owned(), "2".to_owned()),
                ("env".to_owned(), "dev".to_owned())
            ]
        );
        assert_eq!(out.path.as_deref(), Some("/v2/items/7"));
    }

    #[test]
    fn response_maps_apply_to_their_status_only() {
        let mut maps = BTreeMap::new();
        maps.insert(
            "404".to_owned(),
            [("overwrite:statuscode", "204"), ("append:header.x-count", "$response.header.x-total")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect::<BTreeMap<_, _>>(),
        );
        let mut headers = vec![("server".to_owned(), "b".to_owned())];
        assert_eq!(apply_response(&maps, 200, &mut headers, &lookup), 200);
        assert_eq!(headers.len(), 1);
        assert_eq!(apply_response(&maps, 404, &mut headers, &lookup), 204);
        assert!(headers.contains(&("x-count".to_owned(), "12".to_owned())));
    }
}
