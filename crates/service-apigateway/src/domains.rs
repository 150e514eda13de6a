//! Custom domain names and their mappings, in both models: REST APIs' DomainName and
//! BasePathMapping, HTTP APIs' DomainName and ApiMapping. AWS keeps one namespace for both, so
//! one record serves both views: a base path mapping is an API mapping whose key is the base
//! path (`(none)` is the empty key). Certificates are recorded as given, never checked.
//!
//! The data plane reaches an API through a domain when the request's `Host` is a registered
//! name: the longest mapping key that prefixes the path picks the API and stage.

use std::sync::Arc;

use http::{StatusCode, header};
use protocol::{Request, RequestContext, Response};
use serde_json::{Value, json};

use crate::dataplane::Target;
use crate::error::Error;
use crate::model::{self, DomainMapping, DomainName, Owner};
use crate::operation::{DomainNameInput, HttpDomainNameInput, Operation, PatchOp};
use crate::{Api, Inner, empty, lock, ok};

/// The hosted zone ids AWS reports for CloudFront and for regional endpoints.
const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";
const REGIONAL_ZONE: &str = "Z1UJRXOUMOOFQ8";

pub(crate) fn act(inner: &Inner, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    let created = StatusCode::CREATED;
    match op {
        Operation::CreateDomainName(input) => {
            let domain = create_v1(inner, ctx, input)?;
            ok(ctx, created, &v1_view(&domain))
        }
        Operation::CreateHttpDomainName(input) => {
            let domain = create_v2(inner, ctx, input)?;
            ok(ctx, created, &v2_view(&domain))
        }
        Operation::GetDomainName(name) => ok(ctx, StatusCode::OK, &v1_view(&*find(inner, ctx, &name)?)),
        Operation::GetHttpDomainName(name) => ok(ctx, StatusCode::OK, &v2_view(&*find(inner, ctx, &name)?)),
        Operation::GetDomainNames => {
            let items: Vec<Value> = mine(inner, ctx).iter().map(|d| v1_view(d)).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::GetHttpDomainNames => {
            let items: Vec<Value> = mine(inner, ctx).iter().map(|d| v2_view(d)).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::UpdateDomainName(name, ops) => {
            let domain = update(inner, ctx, &name, |d| patch_v1(d, &ops))?;
            ok(ctx, StatusCode::OK, &v1_view(&domain))
        }
        Operation::UpdateHttpDomainName(name, input) => {
            let domain = update(inner, ctx, &name, |d| {
                if let Some(config) = input.domain_name_configurations.and_then(|c| c.into_iter().next()) {
                    if config.certificate_arn.is_some() {
                        d.regional_certificate_arn = config.certificate_arn;
                    }
                    if config.certificate_name.is_some() {
                        d.regional_certificate_name = config.certificate_name;
                    }
                    if let Some(policy) = config.security_policy {
                        d.security_policy = policy;
                    }
                }
                Ok(())
            })?;
            ok(ctx, StatusCode::OK, &v2_view(&domain))
        }
        Operation::DeleteDomainName(name) => {
            delete(inner, ctx, &name)?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::DeleteHttpDomainName(name) => {
            delete(inner, ctx, &name)?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        Operation::CreateBasePathMapping(name, input) => {
            let api = input
                .rest_api_id
                .filter(|a| !a.is_empty())
                .ok_or_else(|| Error::bad("Invalid REST API identifier specified"))?;
            let key = base_path_key(input.base_path.as_deref().unwrap_or_default());
            let stage = input.stage.unwrap_or_default();
            check_target(inner, ctx, &api, &stage, false)?;
            let mapping = DomainMapping { id: model::short_id(), api_id: api, stage, key };
            update(inner, ctx, &name, |d| add_mapping(d, mapping.clone()))?;
            ok(ctx, created, &base_path_view(&mapping))
        }
        Operation::CreateApiMapping(name, input) => {
            let api =
                input.api_id.filter(|a| !a.is_empty()).ok_or_else(|| Error::bad("ApiId is required"))?;
            let stage =
                input.stage.filter(|s| !s.is_empty()).ok_or_else(|| Error::bad("Stage is required"))?;
            check_target(inner, ctx, &api, &stage, true)?;
            let key = input.api_mapping_key.unwrap_or_default().trim_matches('/').to_owned();
            let mapping = DomainMapping { id: model::short_id(), api_id: api, stage, key };
            update(inner, ctx, &name, |d| add_mapping(d, mapping.clone()))?;
            ok(ctx, created, &api_mapping_view(&mapping))
        }
        Operation::GetBasePathMapping(name, base_path) => {
            let domain = find(inner, ctx, &name)?;
            let key = base_path_key(&base_path);
            let mapping = domain.mappings.iter().find(|m| m.key == key).ok_or_else(no_base_path)?;
            ok(ctx, StatusCode::OK, &base_path_view(mapping))
        }
        Operation::GetApiMapping(name, id) => {
            let domain = find(inner, ctx, &name)?;
            let mapping = domain.mappings.iter().find(|m| m.id == id).ok_or_else(no_api_mapping)?;
            ok(ctx, StatusCode::OK, &api_mapping_view(mapping))
        }
        Operation::GetBasePathMappings(name) => {
            let domain = find(inner, ctx, &name)?;
            let items: Vec<Value> = domain.mappings.iter().map(base_path_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::GetApiMappings(name) => {
            let domain = find(inner, ctx, &name)?;
            let items: Vec<Value> = domain.mappings.iter().map(api_mapping_view).collect();
            ok(ctx, StatusCode::OK, &json!({ "items": items }))
        }
        Operation::UpdateBasePathMapping(name, base_path, ops) => {
            let key = base_path_key(&base_path);
            let mut mapping = find(inner, ctx, &name)?
                .mappings
                .iter()
                .find(|m| m.key == key)
                .cloned()
                .ok_or_else(no_base_path)?;
            patch_base_path(&mut mapping, &ops)?;
            check_target(inner, ctx, &mapping.api_id, &mapping.stage, false)?;
            update(inner, ctx, &name, |d| replace_mapping(d, mapping.clone()))?;
            ok(ctx, StatusCode::OK, &base_path_view(&mapping))
        }
        Operation::UpdateApiMapping(name, id, input) => {
            let mut mapping = find(inner, ctx, &name)?
                .mappings
                .iter()
                .find(|m| m.id == id)
                .cloned()
                .ok_or_else(no_api_mapping)?;
            if let Some(api) = input.api_id {
                mapping.api_id = api;
            }
            if let Some(stage) = input.stage {
                mapping.stage = stage;
            }
            if let Some(key) = input.api_mapping_key {
                mapping.key = key.trim_matches('/').to_owned();
            }
            check_target(inner, ctx, &mapping.api_id, &mapping.stage, true)?;
            update(inner, ctx, &name, |d| replace_mapping(d, mapping.clone()))?;
            ok(ctx, StatusCode::OK, &api_mapping_view(&mapping))
        }
        Operation::DeleteBasePathMapping(name, base_path) => {
            let key = base_path_key(&base_path);
            update(inner, ctx, &name, |d| {
                let before = d.mappings.len();
                d.mappings.retain(|m| m.key != key);
                if d.mappings.len() == before { Err(no_base_path()) } else { Ok(()) }
            })?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::DeleteApiMapping(name, id) => {
            update(inner, ctx, &name, |d| {
                let before = d.mappings.len();
                d.mappings.retain(|m| m.id != id);
                if d.mappings.len() == before { Err(no_api_mapping()) } else { Ok(()) }
            })?;
            empty(ctx, StatusCode::NO_CONTENT)
        }
        _ => Err(Error::UnknownOperationException),
    }
}

/// The data-plane target of a request whose `Host` is a registered domain name: `None` when
/// the host is not one, `Err` with API Gateway's answer when no mapping takes the path.
pub(crate) fn route(inner: &Inner, req: &Request) -> Option<Result<Target, Response>> {
    let host = host_name(req)?;
    let domain = lock(&inner.domains).get(&host).cloned()?;
    let path = req.uri().path();
    let trimmed = path.trim_start_matches('/');
    let mapping = domain
        .mappings
        .iter()
        .filter(|m| {
            m.key.is_empty()
                || trimmed == m.key
                || trimmed.strip_prefix(m.key.as_str()).is_some_and(|rest| rest.starts_with('/'))
        })
        .max_by_key(|m| m.key.len());
    let Some(mapping) = mapping else {
        return Some(Err(crate::dataplane::forbidden()));
    };
    let rest = format!("/{}", trimmed[mapping.key.len()..].trim_start_matches('/'));
    // A mapping without a stage (REST APIs allow it) leaves the stage in the path.
    let path = if mapping.stage.is_empty() || mapping.stage == "$default" {
        rest
    } else {
        format!("/{}{rest}", mapping.stage)
    };
    Some(Ok(Target { api_id: mapping.api_id.clone(), path, domain_name: host }))
}

/// Whether `host` is a registered domain name (for the gateway's routing by host).
pub(crate) fn claims(inner: &Inner, host: &str) -> bool {
    lock(&inner.domains).contains_key(host)
}

fn host_name(req: &Request) -> Option<String> {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok())?;
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    Some(name.to_ascii_lowercase())
}

impl Inner {
    /// Every domain name from the store into the cache.
    pub(crate) fn load_domains(&self) -> Result<(), Error> {
        let mut domains = lock(&self.domains);
        for (_, raw) in self.kv.scan(model::DOMAIN_NAMES, storage::KeyRange::all(), storage::UNLIMITED)? {
            let domain: DomainName = model::decode(&raw)?;
            domains.insert(domain.domain_name.clone(), Arc::new(domain));
        }
        Ok(())
    }

    fn save_domain(&self, domain: DomainName) -> Result<Arc<DomainName>, Error> {
        let key = model::api_key(&domain.owner.account, &domain.owner.region, &domain.domain_name);
        self.kv.put(model::DOMAIN_NAMES, &key, &model::encode(&domain))?;
        let domain = Arc::new(domain);
        lock(&self.domains).insert(domain.domain_name.clone(), domain.clone());
        Ok(domain)
    }
}

fn new_domain(ctx: &RequestContext, name: Option<String>, now: i64) -> Result<DomainName, Error> {
    let name = name.filter(|n| !n.is_empty()).ok_or_else(|| Error::bad("Domain name must be specified"))?;
    Ok(DomainName {
        v: model::SCHEMA_VERSION,
        owner: Owner::of(&ctx.scope),
        domain_name: name.to_ascii_lowercase(),
        certificate_arn: None,
        certificate_name: None,
        regional_certificate_arn: None,
        regional_certificate_name: None,
        endpoint_type: "EDGE".to_owned(),
        security_policy: "TLS_1_2".to_owned(),
        alias_id: model::new_id(),
        created_ms: now,
        tags: Default::default(),
        mappings: Vec::new(),
    })
}

fn insert_new(inner: &Inner, domain: DomainName) -> Result<Arc<DomainName>, Error> {
    let _writes = lock(&inner.writes);
    // One namespace across tenants: the data plane finds domains by host alone.
    if lock(&inner.domains).contains_key(&domain.domain_name) {
        return Err(Error::ConflictException("The domain name you provided already exists.".to_owned()));
    }
    inner.save_domain(domain)
}

fn create_v1(inner: &Inner, ctx: &RequestContext, input: DomainNameInput) -> Result<Arc<DomainName>, Error> {
    let mut domain = new_domain(ctx, input.domain_name, inner.now_ms())?;
    domain.endpoint_type = input
        .endpoint_configuration
        .and_then(|e| e.types)
        .and_then(|t| t.into_iter().next())
        .unwrap_or_else(|| "EDGE".to_owned());
    if !matches!(domain.endpoint_type.as_str(), "EDGE" | "REGIONAL") {
        return Err(Error::bad(format!("Invalid endpoint type specified: {}", domain.endpoint_type)));
    }
    domain.certificate_arn = input.certificate_arn;
    domain.certificate_name = input.certificate_name;
    domain.regional_certificate_arn = input.regional_certificate_arn;
    domain.regional_certificate_name = input.regional_certificate_name;
    if let Some(policy) = input.security_policy {
        domain.security_policy = policy;
    }
    domain.tags = input.tags.unwrap_or_default();
    insert_new(inner, domain)
}

fn create_v2(
    inner: &Inner,
    ctx: &RequestContext,
    input: HttpDomainNameInput,
) -> Result<Arc<DomainName>, Error> {
    let mut domain = new_domain(ctx, input.domain_name, inner.now_ms())?;
    domain.endpoint_type = "REGIONAL".to_owned();
    if let Some(config) = input.domain_name_configurations.and_then(|c| c.into_iter().next()) {
        domain.regional_certificate_arn = config.certificate_arn;
        domain.regional_certificate_name = config.certificate_name;
        if let Some(policy) = config.security_policy {
            domain.security_policy = policy;
        }
    }
    domain.tags = input.tags.unwrap_or_default();
    insert_new(inner, domain)
}

fn find(inner: &Inner, ctx: &RequestContext, name: &str) -> Result<Arc<DomainName>, Error> {
    match lock(&inner.domains).get(&name.to_ascii_lowercase()) {
        Some(d) if d.owner.owns(&ctx.scope) => Ok(d.clone()),
        _ => Err(Error::not_found("Invalid domain name identifier specified")),
    }
}

fn mine(inner: &Inner, ctx: &RequestContext) -> Vec<Arc<DomainName>> {
    let mut out: Vec<Arc<DomainName>> =
        lock(&inner.domains).values().filter(|d| d.owner.owns(&ctx.scope)).cloned().collect();
    out.sort_by(|a, b| a.domain_name.cmp(&b.domain_name));
    out
}

fn update(
    inner: &Inner,
    ctx: &RequestContext,
    name: &str,
    change: impl FnOnce(&mut DomainName) -> Result<(), Error>,
) -> Result<Arc<DomainName>, Error> {
    let _writes = lock(&inner.writes);
    let mut domain = (*find(inner, ctx, name)?).clone();
    change(&mut domain)?;
    inner.save_domain(domain)
}

fn delete(inner: &Inner, ctx: &RequestContext, name: &str) -> Result<(), Error> {
    let _writes = lock(&inner.writes);
    let domain = find(inner, ctx, name)?;
    let key = model::api_key(&domain.owner.account, &domain.owner.region, &domain.domain_name);
    inner.kv.delete(model::DOMAIN_NAMES, &key)?;
    lock(&inner.domains).remove(&domain.domain_name);
    Ok(())
}

/// The mapping's API and stage must be the caller's; v2 mappings need a stage.
fn check_target(inner: &Inner, ctx: &RequestContext, api: &str, stage: &str, v2: bool) -> Result<(), Error> {
    let has_stage = match inner.api(api) {
        Some(Api::Rest(r)) if r.owner.owns(&ctx.scope) => r.stages.contains_key(stage),
        Some(Api::Http(h)) if h.owner.owns(&ctx.scope) => h.stages.contains_key(stage),
        _ if v2 => {
            return Err(Error::not_found(format!(
                "Invalid API identifier specified {}:{api}",
                ctx.scope.account
            )));
        }
        _ => return Err(Error::bad("Invalid REST API identifier specified")),
    };
    if (v2 || !stage.is_empty()) && !has_stage {
        return Err(Error::bad("Invalid stage identifier specified"));
    }
    Ok(())
}

fn add_mapping(domain: &mut DomainName, mapping: DomainMapping) -> Result<(), Error> {
    if domain.mappings.iter().any(|m| m.key == mapping.key) {
        return Err(Error::ConflictException("Base path already exists for this domain name".to_owned()));
    }
    domain.mappings.push(mapping);
    Ok(())
}

fn replace_mapping(domain: &mut DomainName, mapping: DomainMapping) -> Result<(), Error> {
    if domain.mappings.iter().any(|m| m.key == mapping.key && m.id != mapping.id) {
        return Err(Error::ConflictException("Base path already exists for this domain name".to_owned()));
    }
    let slot = domain.mappings.iter_mut().find(|m| m.id == mapping.id).ok_or_else(no_api_mapping)?;
    *slot = mapping;
    Ok(())
}

/// v1's base path as a mapping key: `(none)` and the empty path are the root.
fn base_path_key(base_path: &str) -> String {
    let key = base_path.trim_matches('/');
    if key == "(none)" { String::new() } else { key.to_owned() }
}

fn patch_v1(domain: &mut DomainName, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        if op.op != "replace" {
            return Err(invalid_patch(op));
        }
        let value = op.value.clone();
        match op.path.as_str() {
            "/certificateArn" => domain.certificate_arn = value,
            "/certificateName" => domain.certificate_name = value,
            "/regionalCertificateArn" => domain.regional_certificate_arn = value,
            "/regionalCertificateName" => domain.regional_certificate_name = value,
            "/securityPolicy" => domain.security_policy = value.unwrap_or_default(),
            "/endpointConfiguration/types/0" => {
                let kind = value.unwrap_or_default();
                if !matches!(kind.as_str(), "EDGE" | "REGIONAL") {
                    return Err(Error::bad(format!("Invalid endpoint type specified: {kind}")));
                }
                domain.endpoint_type = kind;
            }
            _ => return Err(invalid_patch(op)),
        }
    }
    Ok(())
}

fn patch_base_path(mapping: &mut DomainMapping, ops: &[PatchOp]) -> Result<(), Error> {
    for op in ops {
        if op.op != "replace" {
            return Err(invalid_patch(op));
        }
        let value = op.value.clone().unwrap_or_default();
        match op.path.as_str() {
            "/basePath" => mapping.key = base_path_key(&value),
            "/restapiId" | "/restApiId" => mapping.api_id = value,
            "/stage" => mapping.stage = value,
            _ => return Err(invalid_patch(op)),
        }
    }
    Ok(())
}

fn invalid_patch(op: &PatchOp) -> Error {
    Error::bad(format!("Invalid patch path '{}' specified for op '{}'.", op.path, op.op))
}

fn no_base_path() -> Error {
    Error::not_found("Invalid base path mapping identifier specified")
}

fn no_api_mapping() -> Error {
    Error::not_found("Invalid api mapping identifier specified")
}

fn regional_name(d: &DomainName) -> String {
    format!("d-{}.execute-api.{}.amazonaws.com", d.alias_id, d.owner.region)
}

fn v1_view(d: &DomainName) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("domainName".into(), json!(d.domain_name));
    for (k, v) in [
        ("certificateArn", &d.certificate_arn),
        ("certificateName", &d.certificate_name),
        ("regionalCertificateArn", &d.regional_certificate_arn),
        ("regionalCertificateName", &d.regional_certificate_name),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if d.endpoint_type == "EDGE" {
        m.insert("distributionDomainName".into(), json!(format!("{}.cloudfront.net", d.alias_id)));
        m.insert("distributionHostedZoneId".into(), json!(CLOUDFRONT_ZONE));
    } else {
        m.insert("regionalDomainName".into(), json!(regional_name(d)));
        m.insert("regionalHostedZoneId".into(), json!(REGIONAL_ZONE));
    }
    m.insert("certificateUploadDate".into(), model::epoch_seconds(d.created_ms));
    m.insert("endpointConfiguration".into(), json!({ "types": [d.endpoint_type] }));
    m.insert("domainNameStatus".into(), json!("AVAILABLE"));
    m.insert("securityPolicy".into(), json!(d.security_policy));
    m.insert("tags".into(), json!(d.tags));
    Value::Object(m)
}

fn v2_view(d: &DomainName) -> Value {
    let mut config = json!({
        "apiGatewayDomainName": regional_name(d),
        "domainNameStatus": "AVAILABLE",
        "endpointType": "REGIONAL",
        "hostedZoneId": REGIONAL_ZONE,
        "securityPolicy": d.security_policy,
    });
    if let Value::Object(c) = &mut config {
        let arn = d.regional_certificate_arn.as_ref().or(d.certificate_arn.as_ref());
        if let Some(arn) = arn {
            c.insert("certificateArn".into(), json!(arn));
        }
        let name = d.regional_certificate_name.as_ref().or(d.certificate_name.as_ref());
        if let Some(name) = name {
            c.insert("certificateName".into(), json!(name));
        }
    }
    json!({
        "domainName": d.domain_name,
        "apiMappingSelectionExpression": "$request.basepath",
        "domainNameConfigurations": [config],
        "tags": d.tags,
    })
}

fn base_path_view(m: &DomainMapping) -> Value {
    let mut v = json!({
        "basePath": if m.key.is_empty() { "(none)" } else { m.key.as_str() },
        "restApiId": m.api_id,
    });
    if let (Value::Object(o), false) = (&mut v, m.stage.is_empty()) {
        o.insert("stage".into(), json!(m.stage));
    }
    v
}

fn api_mapping_view(m: &DomainMapping) -> Value {
    json!({ "apiId": m.api_id, "apiMappingId": m.id, "apiMappingKey": m.key, "stage": m.stage })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_keys() {
        assert_eq!(base_path_key("(none)"), "");
        assert_eq!(base_path_key(""), "");
        assert_eq!(base_path_key("/v1/"), "v1");
        let m = DomainMapping { id: "i".into(), api_id: "a".into(), stage: "dev".into(), key: String::new() };
        assert_eq!(base_path_view(&m)["basePath"], "(none)");
        assert_eq!(api_mapping_view(&m)["apiMappingKey"], "");
    }
}
