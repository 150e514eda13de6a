//! Connections (CreateConnection, DescribeConnection, ListConnections, UpdateConnection,
//! DeleteConnection, DeauthorizeConnection) and API destinations (Create/Describe/List/Update/
//! DeleteApiDestination): one record each in the store, written under the service's write lock.
//!
//! States as AWS reports them (LocalStack's AWS-validated snapshots): a Basic or API key
//! connection is AUTHORIZED at once; an OAuth one is AUTHORIZING until its authorization endpoint
//! answers (AUTHORIZED, or DEAUTHORIZED with a StateReason); DeleteConnection answers DELETING,
//! DeauthorizeConnection DEAUTHORIZING. An API destination is ACTIVE while its connection is
//! AUTHORIZED, INACTIVE otherwise, computed when it is shown. Secrets live in the connection's
//! record (Nimbus has no Secrets Manager); `SecretArn` has the shape AWS gives it,
//! `arn:aws:secretsmanager:REGION:ACCOUNT:secret:events!connection/NAME/UUID-XXXXXX`, and
//! names nothing.

use std::sync::Arc;

use protocol::{RequestContext, Response};
use serde_json::{Value, json};
use storage::KeyRange;
use types::Scope;

use crate::buses::{paged, paginate};
use crate::error::Error;
use crate::model::{
    self, AuthParameters, CONNECTIONS, ConnectionHttpParameters, ConnectionRecord, DESTINATIONS,
    DestinationRecord, SCHEMA_VERSION,
};
use crate::operation::{ConnectionInput, DestinationInput, Page};
use crate::{Inner, epoch_seconds, lock, ok};

/// The highest InvocationRateLimitPerSecond (an EventBridge quota).
pub const MAX_RATE: i64 = 300;
pub const DEFAULT_RATE: u32 = 300;

pub fn connection_not_found(name: &str) -> Error {
    Error::ResourceNotFoundException(format!(
        "Failed to describe the connection(s). Connection '{name}' does not exist."
    ))
}

pub fn destination_not_found(name: &str) -> Error {
    Error::ResourceNotFoundException(format!(
        "Failed to describe the api-destination(s). An api-destination '{name}' does not exist."
    ))
}

fn load_connection(svc: &Inner, scope: &Scope, name: &str) -> Result<Option<ConnectionRecord>, Error> {
    Ok(svc.kv.get(CONNECTIONS, &model::named_key(scope, name))?.map(|raw| model::decode(&raw)).transpose()?)
}

fn load_destination(svc: &Inner, scope: &Scope, name: &str) -> Result<Option<DestinationRecord>, Error> {
    Ok(svc
        .kv
        .get(DESTINATIONS, &model::named_key(scope, name))?
        .map(|raw| model::decode(&raw))
        .transpose()?)
}

fn save_connection(svc: &Inner, scope: &Scope, c: &ConnectionRecord) -> Result<(), Error> {
    Ok(svc.kv.put(CONNECTIONS, &model::named_key(scope, &c.name), &model::encode(c))?)
}

fn save_destination(svc: &Inner, scope: &Scope, d: &DestinationRecord) -> Result<(), Error> {
    Ok(svc.kv.put(DESTINATIONS, &model::named_key(scope, &d.name), &model::encode(d))?)
}

/// A fresh secret name, `events!connection/NAME/UUID-XXXXXX` (Secrets Manager adds six random
/// characters to a secret's name in its ARN).
fn secret_name(name: &str) -> String {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    format!("events!connection/{name}/{}-{suffix}", uuid::Uuid::new_v4())
}

/// Whether the auth parameters hold what `kind` needs, secrets included; the message names what
/// is missing (wording not verified against AWS).
fn complete(kind: &str, auth: &AuthParameters) -> Result<(), Error> {
    let missing = |what: &str| {
        Err(Error::validation(format!("{what} must be specified for authorization type {kind}.")))
    };
    match kind {
        "BASIC" => match &auth.basic_auth_parameters {
            Some(b) if b.username.is_some() && b.password.is_some() => Ok(()),
            _ => missing("BasicAuthParameters (Username and Password)"),
        },
        "API_KEY" => match &auth.api_key_auth_parameters {
            Some(k) if k.api_key_name.is_some() && k.api_key_value.is_some() => Ok(()),
            _ => missing("ApiKeyAuthParameters (ApiKeyName and ApiKeyValue)"),
        },
        _ => match &auth.oauth_parameters {
            Some(o)
                if o.authorization_endpoint.is_some()
                    && o.http_method.is_some()
                    && o.client_parameters
                        .as_ref()
                        .is_some_and(|c| c.client_id.is_some() && c.client_secret.is_some()) =>
            {
                Ok(())
            }
            _ => missing("OAuthParameters (ClientParameters, AuthorizationEndpoint and HttpMethod)"),
        },
    }
}

/// Parameters as DescribeConnection shows them: secret values left out.
fn public_params(p: &ConnectionHttpParameters) -> Value {
    let list = |l: &Option<Vec<model::Parameter>>| {
        l.as_ref().map(|items| {
            items
                .iter()
                .map(|p| {
                    let secret = p.is_value_secret.unwrap_or(false);
                    let mut v = json!({ "Key": p.key, "IsValueSecret": secret });
                    if !secret {
                        v["Value"] = json!(p.value);
                    }
                    v
                })
                .collect::<Vec<_>>()
        })
    };
    let mut out = json!({});
    for (member, items) in [
        ("HeaderParameters", list(&p.header_parameters)),
        ("QueryStringParameters", list(&p.query_string_parameters)),
        ("BodyParameters", list(&p.body_parameters)),
    ] {
        if let Some(items) = items {
            out[member] = json!(items);
        }
    }
    out
}

fn public_auth(c: &ConnectionRecord) -> Value {
    let mut out = json!({});
    let a = &c.auth;
    match c.authorization_type.as_str() {
        "BASIC" => {
            if let Some(b) = &a.basic_auth_parameters {
                out["BasicAuthParameters"] = json!({ "Username": b.username });
            }
        }
        "API_KEY" => {
            if let Some(k) = &a.api_key_auth_parameters {
                out["ApiKeyAuthParameters"] = json!({ "ApiKeyName": k.api_key_name });
            }
        }
        _ => {
            if let Some(o) = &a.oauth_parameters {
                let mut oauth = json!({
                    "AuthorizationEndpoint": o.authorization_endpoint,
                    "HttpMethod": o.http_method,
                    "ClientParameters": { "ClientID": o.client_parameters.as_ref().and_then(|c| c.client_id.clone()) },
                });
                if let Some(p) = &o.o_auth_http_parameters {
                    oauth["OAuthHttpParameters"] = public_params(p);
                }
                out["OAuthParameters"] = oauth;
            }
        }
    }
    if let Some(p) = &a.invocation_http_parameters {
        out["InvocationHttpParameters"] = public_params(p);
    }
    out
}

fn times(out: &mut Value, c: &ConnectionRecord) {
    out["CreationTime"] = epoch_seconds(c.created_ms);
    out["LastModifiedTime"] = epoch_seconds(c.modified_ms);
    if let Some(t) = c.authorized_ms {
        out["LastAuthorizedTime"] = epoch_seconds(t);
    }
}

/// A connection as ListConnections shows it.
fn summary(scope: &Scope, c: &ConnectionRecord) -> Value {
    let mut out = json!({
        "ConnectionArn": model::connection_arn(scope, &c.name, &c.uuid),
        "Name": c.name,
        "ConnectionState": c.state,
        "AuthorizationType": c.authorization_type,
    });
    if let Some(r) = &c.state_reason {
        out["StateReason"] = json!(r);
    }
    times(&mut out, c);
    out
}

/// Starts what authorizing means for the connection's type: AUTHORIZED at once, or AUTHORIZING
/// while its token is fetched.
fn authorize(c: &mut ConnectionRecord, now: i64) {
    c.state = if c.authorization_type == "OAUTH_CLIENT_CREDENTIALS" { "AUTHORIZING" } else { "AUTHORIZED" }
        .to_owned();
    c.state_reason = None;
    c.authorized_ms = Some(now);
    if c.secret.is_none() {
        c.secret = Some(secret_name(&c.name));
    }
}

fn start_oauth(svc: &Arc<Inner>, scope: &Scope, c: &ConnectionRecord) {
    let arn = model::connection_arn(scope, &c.name, &c.uuid);
    svc.api_destinations.tokens.forget(&arn);
    if c.state == "AUTHORIZING" {
        crate::apidest::authorize_in_background(svc, arn, c.clone());
    }
}

pub fn create_connection(
    svc: &Arc<Inner>,
    ctx: &RequestContext,
    input: ConnectionInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let kind = input.authorization_type.unwrap_or_default();
    let auth = input.auth.unwrap_or_default();
    complete(&kind, &auth)?;
    let record = {
        let _w = lock(&svc.writes);
        if load_connection(svc, scope, &input.name)?.is_some() {
            // Wording not verified against AWS.
            return Err(Error::ResourceAlreadyExistsException(format!(
                "Connection {} already exists.",
                input.name
            )));
        }
        let now = svc.now_ms();
        let mut record = ConnectionRecord {
            v: SCHEMA_VERSION,
            name: input.name,
            uuid: uuid::Uuid::new_v4().to_string(),
            description: input.description,
            authorization_type: kind,
            auth,
            state: String::new(),
            state_reason: None,
            created_ms: now,
            modified_ms: now,
            authorized_ms: None,
            secret: None,
        };
        authorize(&mut record, now);
        save_connection(svc, scope, &record)?;
        record
    };
    start_oauth(svc, scope, &record);
    ok(
        ctx,
        &json!({
            "ConnectionArn": model::connection_arn(scope, &record.name, &record.uuid),
            "ConnectionState": record.state,
            "CreationTime": epoch_seconds(record.created_ms),
            "LastModifiedTime": epoch_seconds(record.modified_ms),
        }),
    )
}

pub fn describe_connection(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let c = load_connection(svc, scope, name)?.ok_or_else(|| connection_not_found(name))?;
    let mut out = summary(scope, &c);
    if let Some(d) = &c.description {
        out["Description"] = json!(d);
    }
    if let Some(secret) = &c.secret {
        out["SecretArn"] =
            json!(format!("arn:aws:secretsmanager:{}:{}:secret:{secret}", scope.region, scope.account));
    }
    out["AuthParameters"] = public_auth(&c);
    ok(ctx, &out)
}

pub fn list_connections(
    svc: &Inner,
    ctx: &RequestContext,
    prefix: Option<&str>,
    state: Option<&str>,
    page: &Page,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let mut all: Vec<ConnectionRecord> = Vec::new();
    for (_, raw) in svc.kv.scan(CONNECTIONS, KeyRange::prefix(model::named_key(scope, "")), usize::MAX)? {
        all.push(model::decode(&raw)?);
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let selected = all
        .iter()
        .filter(|c| prefix.is_none_or(|p| c.name.starts_with(p)) && state.is_none_or(|s| c.state == s));
    let (items, next) = paginate(selected, page, |c| c.name.as_str());
    ok(ctx, &paged("Connections", items.into_iter().map(|c| summary(scope, c)).collect(), next))
}

/// Fills `into` with what `from` gives: members given replace those stored.
fn merge_auth(into: &mut AuthParameters, from: AuthParameters) {
    if let Some(b) = from.basic_auth_parameters {
        let cur = into.basic_auth_parameters.get_or_insert_with(Default::default);
        cur.username = b.username.or(cur.username.take());
        cur.password = b.password.or(cur.password.take());
    }
    if let Some(k) = from.api_key_auth_parameters {
        let cur = into.api_key_auth_parameters.get_or_insert_with(Default::default);
        cur.api_key_name = k.api_key_name.or(cur.api_key_name.take());
        cur.api_key_value = k.api_key_value.or(cur.api_key_value.take());
    }
    if let Some(o) = from.oauth_parameters {
        let cur = into.oauth_parameters.get_or_insert_with(Default::default);
        if let Some(c) = o.client_parameters {
            let cc = cur.client_parameters.get_or_insert_with(Default::default);
            cc.client_id = c.client_id.or(cc.client_id.take());
            cc.client_secret = c.client_secret.or(cc.client_secret.take());
        }
        cur.authorization_endpoint = o.authorization_endpoint.or(cur.authorization_endpoint.take());
        cur.http_method = o.http_method.or(cur.http_method.take());
        if o.o_auth_http_parameters.is_some() {
            cur.o_auth_http_parameters = o.o_auth_http_parameters;
        }
    }
    if from.invocation_http_parameters.is_some() {
        into.invocation_http_parameters = from.invocation_http_parameters;
    }
}

fn connection_times(scope: &Scope, c: &ConnectionRecord, state: &str) -> Value {
    let mut out = json!({
        "ConnectionArn": model::connection_arn(scope, &c.name, &c.uuid),
        "ConnectionState": state,
    });
    times(&mut out, c);
    out
}

pub fn update_connection(
    svc: &Arc<Inner>,
    ctx: &RequestContext,
    input: ConnectionInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let record = {
        let _w = lock(&svc.writes);
        let mut c =
            load_connection(svc, scope, &input.name)?.ok_or_else(|| connection_not_found(&input.name))?;
        let reauthorize = input.authorization_type.is_some() || input.auth.is_some();
        if let Some(d) = input.description {
            c.description = Some(d);
        }
        if let Some(kind) = input.authorization_type {
            c.authorization_type = kind;
        }
        if let Some(auth) = input.auth {
            merge_auth(&mut c.auth, auth);
        }
        let now = svc.now_ms();
        if reauthorize {
            complete(&c.authorization_type, &c.auth)?;
            authorize(&mut c, now);
        }
        c.modified_ms = now;
        save_connection(svc, scope, &c)?;
        c
    };
    start_oauth(svc, scope, &record);
    ok(ctx, &connection_times(scope, &record, &record.state))
}

pub fn delete_connection(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let c = load_connection(svc, scope, name)?.ok_or_else(|| connection_not_found(name))?;
    svc.kv.delete(CONNECTIONS, &model::named_key(scope, name))?;
    svc.api_destinations.tokens.forget(&model::connection_arn(scope, &c.name, &c.uuid));
    ok(ctx, &connection_times(scope, &c, "DELETING"))
}

/// Removes the connection's secrets; UpdateConnection with new ones authorizes it again.
pub fn deauthorize_connection(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let mut c = load_connection(svc, scope, name)?.ok_or_else(|| connection_not_found(name))?;
    if let Some(b) = c.auth.basic_auth_parameters.as_mut() {
        b.password = None;
    }
    if let Some(k) = c.auth.api_key_auth_parameters.as_mut() {
        k.api_key_value = None;
    }
    if let Some(cp) = c.auth.oauth_parameters.as_mut().and_then(|o| o.client_parameters.as_mut()) {
        cp.client_secret = None;
    }
    c.state = "DEAUTHORIZED".to_owned();
    c.state_reason = None;
    c.secret = None;
    c.modified_ms = svc.now_ms();
    save_connection(svc, scope, &c)?;
    svc.api_destinations.tokens.forget(&model::connection_arn(scope, &c.name, &c.uuid));
    ok(ctx, &connection_times(scope, &c, "DEAUTHORIZING"))
}

/// The connection an API destination names, which must exist in the caller's scope.
fn named_connection(svc: &Inner, scope: &Scope, arn: &str) -> Result<ConnectionRecord, Error> {
    let name =
        model::parse_connection_arn(arn).filter(|(s, _, _)| s == scope).map(|(_, name, uuid)| (name, uuid));
    let Some((name, uuid)) = name else { return Err(connection_not_found(arn)) };
    load_connection(svc, scope, &name)?.filter(|c| c.uuid == uuid).ok_or_else(|| connection_not_found(&name))
}

fn destination_state(svc: &Inner, d: &DestinationRecord) -> &'static str {
    match crate::apidest::load_connection(svc, &d.connection_arn) {
        Some(c) if c.state == "AUTHORIZED" => "ACTIVE",
        _ => "INACTIVE",
    }
}

fn destination_summary(svc: &Inner, scope: &Scope, d: &DestinationRecord) -> Value {
    json!({
        "ApiDestinationArn": model::destination_arn(scope, &d.name, &d.uuid),
        "Name": d.name,
        "ApiDestinationState": destination_state(svc, d),
        "ConnectionArn": d.connection_arn,
        "InvocationEndpoint": d.endpoint,
        "HttpMethod": d.http_method,
        "InvocationRateLimitPerSecond": d.rate_per_second,
        "CreationTime": epoch_seconds(d.created_ms),
        "LastModifiedTime": epoch_seconds(d.modified_ms),
    })
}

fn destination_times(svc: &Inner, scope: &Scope, d: &DestinationRecord) -> Value {
    json!({
        "ApiDestinationArn": model::destination_arn(scope, &d.name, &d.uuid),
        "ApiDestinationState": destination_state(svc, d),
        "CreationTime": epoch_seconds(d.created_ms),
        "LastModifiedTime": epoch_seconds(d.modified_ms),
    })
}

/// EventBridge calls only `https://` endpoints ("The URL must use HTTPS", the user guide's
/// "Create an API destination"). Nimbus keeps that rule: a local endpoint is reached over TLS
/// with a certificate from a CA named in `SSL_CERT_FILE` (see `outbound`). Wording not verified.
fn check_endpoint(endpoint: &str, action: &str) -> Result<(), Error> {
    let host =
        endpoint.strip_prefix("https://").map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !h.contains('@') && !h.contains('*') => Ok(()),
        _ => Err(Error::validation(format!(
            "Failed to {action} the api-destination(s). Parameter InvocationEndpoint is not valid. Reason: Endpoint '{endpoint}' is invalid, please provide a valid HTTPS endpoint URL."
        ))),
    }
}

/// The rate limit quota; over it is LimitExceededException (wording not verified).
fn check_rate(rate: Option<i64>, name: &str, action: &str) -> Result<Option<u32>, Error> {
    match rate {
        Some(r) if r > MAX_RATE => Err(Error::LimitExceededException(format!(
            "Failed to {action} the api-destination(s). Invalid Invocation Rate Limit: Rate specified '{r}' for '{name}' exceeds maximum allowed of '{MAX_RATE}'."
        ))),
        r => Ok(r.and_then(|r| u32::try_from(r).ok())),
    }
}

pub fn create_destination(
    svc: &Inner,
    ctx: &RequestContext,
    input: DestinationInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let endpoint = input.endpoint.unwrap_or_default();
    check_endpoint(&endpoint, "create")?;
    let rate = check_rate(input.rate, &input.name, "create")?.unwrap_or(DEFAULT_RATE);
    let _w = lock(&svc.writes);
    if load_destination(svc, scope, &input.name)?.is_some() {
        // Wording not verified against AWS.
        return Err(Error::ResourceAlreadyExistsException(format!(
            "An api-destination '{}' already exists.",
            input.name
        )));
    }
    let connection_arn = input.connection_arn.unwrap_or_default();
    named_connection(svc, scope, &connection_arn)?;
    let now = svc.now_ms();
    let record = DestinationRecord {
        v: SCHEMA_VERSION,
        name: input.name,
        uuid: uuid::Uuid::new_v4().to_string(),
        description: input.description,
        connection_arn,
        endpoint,
        http_method: input.http_method.unwrap_or_default(),
        rate_per_second: rate,
        created_ms: now,
        modified_ms: now,
    };
    save_destination(svc, scope, &record)?;
    ok(ctx, &destination_times(svc, scope, &record))
}

pub fn describe_destination(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let d = load_destination(svc, scope, name)?.ok_or_else(|| destination_not_found(name))?;
    let mut out = destination_summary(svc, scope, &d);
    if let Some(desc) = &d.description {
        out["Description"] = json!(desc);
    }
    ok(ctx, &out)
}

pub fn list_destinations(
    svc: &Inner,
    ctx: &RequestContext,
    prefix: Option<&str>,
    connection_arn: Option<&str>,
    page: &Page,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let mut all: Vec<DestinationRecord> = Vec::new();
    for (_, raw) in svc.kv.scan(DESTINATIONS, KeyRange::prefix(model::named_key(scope, "")), usize::MAX)? {
        all.push(model::decode(&raw)?);
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let selected = all.iter().filter(|d| {
        prefix.is_none_or(|p| d.name.starts_with(p)) && connection_arn.is_none_or(|a| d.connection_arn == a)
    });
    let (items, next) = paginate(selected, page, |d| d.name.as_str());
    let shown = items.into_iter().map(|d| destination_summary(svc, scope, d)).collect();
    ok(ctx, &paged("ApiDestinations", shown, next))
}

pub fn update_destination(
    svc: &Inner,
    ctx: &RequestContext,
    input: DestinationInput,
) -> Result<Response, Error> {
    let scope = &ctx.scope;
    if let Some(e) = &input.endpoint {
        check_endpoint(e, "update")?;
    }
    let rate = check_rate(input.rate, &input.name, "update")?;
    let _w = lock(&svc.writes);
    let mut d =
        load_destination(svc, scope, &input.name)?.ok_or_else(|| destination_not_found(&input.name))?;
    if let Some(arn) = input.connection_arn {
        named_connection(svc, scope, &arn)?;
        d.connection_arn = arn;
    }
    if let Some(desc) = input.description {
        d.description = Some(desc);
    }
    if let Some(e) = input.endpoint {
        d.endpoint = e;
    }
    if let Some(m) = input.http_method {
        d.http_method = m;
    }
    if let Some(r) = rate {
        d.rate_per_second = r;
    }
    d.modified_ms = svc.now_ms();
    save_destination(svc, scope, &d)?;
    ok(ctx, &destination_times(svc, scope, &d))
}

pub fn delete_destination(svc: &Inner, ctx: &RequestContext, name: &str) -> Result<Response, Error> {
    let scope = &ctx.scope;
    let _w = lock(&svc.writes);
    let d = load_destination(svc, scope, name)?.ok_or_else(|| destination_not_found(name))?;
    svc.kv.delete(DESTINATIONS, &model::named_key(scope, name))?;
    svc.api_destinations.limiter.forget(&model::destination_arn(scope, &d.name, &d.uuid));
    ok(ctx, &json!({}))
}
