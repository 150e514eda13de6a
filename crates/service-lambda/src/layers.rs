//! Lambda layers: published, immutable versions of a zip that functions list in `Layers` and
//! find merged under `/opt` at invoke. A layer's versions live in one record
//! (`lambda.layers`, keyed `{account}/{region}/{name}`); its packages share the content-addressed
//! code store with functions.

use std::collections::BTreeMap;

use protocol::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use types::{AccountId, Region, Scope};

use crate::code;
use crate::error::Error;
use crate::functions::{Env, created, last_modified, no_content, ok};
use crate::lock;
use crate::model::{CodeRef, LayerRef, SCHEMA_VERSION, Versioned, decode, encode, scope_prefix};
use crate::operation::{LayerInput, Page, missing};
use crate::s3code::CodeSource;

pub const LAYERS: &str = "lambda.layers";

/// A function may use at most this many layers.
const MAX_LAYERS: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub v: u32,
    pub name: String,
    /// Version numbers are never reused, even after a delete.
    pub last_version: u64,
    pub versions: BTreeMap<u64, LayerVersion>,
}

impl Versioned for LayerRecord {
    fn schema_version(&self) -> u32 {
        self.v
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerVersion {
    pub description: String,
    pub created: String,
    pub code: CodeRef,
    pub compatible_runtimes: Vec<String>,
    pub compatible_architectures: Vec<String>,
    pub license_info: Option<String>,
    /// Who else may use this version (AddLayerVersionPermission); `None` until a statement is
    /// added.
    #[serde(default)]
    pub policy: Option<crate::layer_policy::LayerPolicy>,
}

pub(crate) fn layer_key(scope: &Scope, name: &str) -> Vec<u8> {
    let mut key = scope_prefix(scope);
    key.extend_from_slice(name.as_bytes());
    key
}

pub(crate) fn layer_arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:lambda:{}:{}:layer:{name}", scope.region, scope.account)
}

fn is_layer_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 140 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A `LayerName` member: a name or a layer ARN of the caller's scope.
pub(crate) fn layer_name(scope: &Scope, raw: &str) -> Result<String, Error> {
    let name = raw.strip_prefix(&format!("{}:", layer_arn(scope, "").trim_end_matches(':'))).unwrap_or(raw);
    if is_layer_name(name) {
        Ok(name.to_owned())
    } else {
        Err(Error::validation(
            "layerName",
            raw,
            "Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+",
        ))
    }
}

/// `arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION` into its scope, name and version.
fn parse_version_arn(arn: &str) -> Option<(Scope, String, u64)> {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "layer" {
        return None;
    }
    let scope = Scope { account: AccountId::parse(parts[4])?, region: Region::parse(parts[3])? };
    let version = parts[7].parse().ok()?;
    is_layer_name(parts[6]).then(|| (scope, parts[6].to_owned(), version))
}

fn not_found() -> Error {
    Error::not_found("The resource you requested does not exist.")
}

fn version_json(
    scope: &Scope,
    name: &str,
    number: u64,
    v: &LayerVersion,
    with_content: bool,
    endpoint: &str,
) -> Value {
    let mut body = json!({
        "LayerVersionArn": format!("{}:{number}", layer_arn(scope, name)),
        "Version": number,
        "Description": v.description,
        "CreatedDate": v.created,
        "CompatibleRuntimes": v.compatible_runtimes,
        "CompatibleArchitectures": v.compatible_architectures,
    });
    if let Some(license) = &v.license_info {
        body["LicenseInfo"] = json!(license);
    }
    if with_content {
        body["LayerArn"] = json!(layer_arn(scope, name));
        body["Content"] = json!({
            "Location": format!("{endpoint}/2015-03-31/nimbus-code/{}.zip", v.code.sha256_hex),
            "CodeSha256": code::sha256_base64(&v.code.sha256_hex),
            "CodeSize": v.code.size,
        });
    }
    body
}

impl Env<'_> {
    pub(crate) fn layer(&self, scope: &Scope, name: &str) -> Result<Option<LayerRecord>, Error> {
        match self.svc.kv.get(LAYERS, &layer_key(scope, name))? {
            Some(raw) => Ok(Some(decode(&raw)?)),
            None => Ok(None),
        }
    }

    /// The layer versions a function configuration lists, checked to exist.
    pub(crate) fn resolve_layers(&self, arns: &[String]) -> Result<Vec<LayerRef>, Error> {
        if arns.len() > MAX_LAYERS {
            return Err(Error::invalid(format!("Cannot reference more than {MAX_LAYERS} layers.")));
        }
        let mut out = Vec::new();
        for arn in arns {
            let missing_layer = || Error::invalid(format!("Layer version {arn} does not exist."));
            let (scope, name, number) = parse_version_arn(arn).ok_or_else(|| {
                Error::validation(
                    "layers",
                    arn,
                    "Member must satisfy constraint: [Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]",
                )
            })?;
            let record = self.layer(&scope, &name)?.ok_or_else(missing_layer)?;
            let version = record.versions.get(&number).ok_or_else(missing_layer)?;
            out.push(LayerRef {
                arn: arn.clone(),
                code_size: version.code.size,
                sha256_hex: version.code.sha256_hex.clone(),
            });
        }
        Ok(out)
    }

    pub fn publish_layer_version(&self, raw_name: &str, input: LayerInput) -> Result<Response, Error> {
        let name = layer_name(self.scope, raw_name)?;
        let content = input.content.ok_or_else(|| missing("content"))?;
        let source = CodeSource {
            zip_file: content.zip_file.as_deref(),
            s3_bucket: content.s3_bucket.as_deref(),
            s3_key: content.s3_key.as_deref(),
            s3_object_version: content.s3_object_version.as_deref(),
        };
        let zip = self.svc.package_bytes(
            self.scope,
            &source,
            "content.",
            "Please provide a source for layer content.",
        )?;
        let package = code::inspect(&zip)?;
        self.svc.code.store(&package)?;
        let version = LayerVersion {
            description: input.description.unwrap_or_default(),
            created: last_modified(self.svc.now_ms()),
            code: package.code,
            compatible_runtimes: input.compatible_runtimes.unwrap_or_default(),
            compatible_architectures: input.compatible_architectures.unwrap_or_default(),
            license_info: input.license_info,
            policy: None,
        };
        let _guard = lock(&self.svc.writes);
        let mut record = self.layer(self.scope, &name)?.unwrap_or(LayerRecord {
            v: SCHEMA_VERSION,
            name: name.clone(),
            last_version: 0,
            versions: BTreeMap::new(),
        });
        record.last_version += 1;
        let number = record.last_version;
        record.versions.insert(number, version.clone());
        self.svc.kv.put(LAYERS, &layer_key(self.scope, &name), &encode(&record))?;
        let body = version_json(self.scope, &name, number, &version, true, &self.svc.config.endpoint_url);
        Ok(created(&body, self.ctx))
    }

    pub fn get_layer_version(&self, raw_name: &str, number: u64) -> Result<Response, Error> {
        let name = layer_name(self.scope, raw_name)?;
        self.layer_version_response(self.scope, &name, number)
    }

    fn layer_version_response(&self, scope: &Scope, name: &str, number: u64) -> Result<Response, Error> {
        let record = self.layer(scope, name)?.ok_or_else(not_found)?;
        let version = record.versions.get(&number).ok_or_else(not_found)?;
        Ok(ok(&version_json(scope, name, number, version, true, &self.svc.config.endpoint_url), self.ctx))
    }

    pub fn get_layer_version_by_arn(&self, arn: &str) -> Result<Response, Error> {
        let (scope, name, number) = parse_version_arn(arn).ok_or_else(|| {
            Error::validation("arn", arn, "Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+")
        })?;
        self.layer_version_response(&scope, &name, number)
    }

    pub fn delete_layer_version(&self, raw_name: &str, number: u64) -> Result<Response, Error> {
        let name = layer_name(self.scope, raw_name)?;
        let _guard = lock(&self.svc.writes);
        // Deleting a version that is not there succeeds, as on Lambda. Functions that use the
        // version keep their copy (the package stays in the code store).
        if let Some(mut record) = self.layer(self.scope, &name)?
            && record.versions.remove(&number).is_some()
        {
            self.svc.kv.put(LAYERS, &layer_key(self.scope, &name), &encode(&record))?;
        }
        Ok(no_content(self.ctx))
    }

    pub fn list_layer_versions(
        &self,
        raw_name: &str,
        page: &Page,
        filter: &LayerFilter,
    ) -> Result<Response, Error> {
        let name = layer_name(self.scope, raw_name)?;
        let record = self.layer(self.scope, &name)?;
        let mut items: Vec<Value> = Vec::new();
        if let Some(record) = &record {
            for (n, v) in record.versions.iter().rev() {
                if filter.accepts(v) {
                    items.push(version_json(self.scope, &name, *n, v, false, ""));
                }
            }
        }
        let (slice, next) = paginate(items, page);
        let mut body = json!({ "LayerVersions": slice });
        if let Some(next) = next {
            body["NextMarker"] = json!(next);
        }
        Ok(ok(&body, self.ctx))
    }

    pub fn list_layers(&self, page: &Page, filter: &LayerFilter) -> Result<Response, Error> {
        let entries = self.svc.kv.scan(
            LAYERS,
            storage::KeyRange::prefix(scope_prefix(self.scope)),
            storage::UNLIMITED,
        )?;
        let mut items = Vec::new();
        for (_, raw) in entries {
            let record: LayerRecord = decode(&raw)?;
            if let Some((n, v)) = record.versions.iter().rev().find(|(_, v)| filter.accepts(v)) {
                items.push(json!({
                    "LayerName": record.name,
                    "LayerArn": layer_arn(self.scope, &record.name),
                    "LatestMatchingVersion": version_json(self.scope, &record.name, *n, v, false, ""),
                }));
            }
        }
        let (slice, next) = paginate(items, page);
        let mut body = json!({ "Layers": slice });
        if let Some(next) = next {
            body["NextMarker"] = json!(next);
        }
        Ok(ok(&body, self.ctx))
    }
}

/// `CompatibleRuntime` / `CompatibleArchitecture` filters of the list operations.
#[derive(Debug, Default)]
pub struct LayerFilter {
    pub runtime: Option<String>,
    pub architecture: Option<String>,
}

impl LayerFilter {
    fn accepts(&self, v: &LayerVersion) -> bool {
        self.runtime.as_ref().is_none_or(|r| v.compatible_runtimes.contains(r))
            && self.architecture.as_ref().is_none_or(|a| v.compatible_architectures.contains(a))
    }
}

/// A page of `items` from the offset in the marker; the marker of the next page if any.
fn paginate(items: Vec<Value>, page: &Page) -> (Vec<Value>, Option<String>) {
    let start = page.marker.as_deref().and_then(|m| m.parse::<usize>().ok()).unwrap_or(0);
    let max = page.max_items.unwrap_or(50).min(50);
    let next = (start + max < items.len()).then(|| (start + max).to_string());
    (items.into_iter().skip(start).take(max).collect(), next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_arns_parse() {
        let (scope, name, n) = parse_version_arn("arn:aws:lambda:us-east-1:123456789012:layer:deps:3")
            .unwrap_or_else(|| panic!("parse"));
        assert_eq!((scope.account.as_str(), name.as_str(), n), ("123456789012", "deps", 3));
        assert!(parse_version_arn("arn:aws:lambda:us-east-1:123456789012:layer:deps").is_none());
        assert!(parse_version_arn("arn:aws:lambda:us-east-1:123456789012:function:deps:3").is_none());
    }

    #[test]
    fn names_may_be_arns_of_the_callers_scope() {
        let scope = Scope::default();
        assert_eq!(layer_name(&scope, "deps").ok().as_deref(), Some("deps"));
        assert_eq!(
            layer_name(&scope, "arn:aws:lambda:us-east-1:000000000000:layer:deps").ok().as_deref(),
            Some("deps")
        );
        assert!(layer_name(&scope, "bad name").is_err());
    }
}
