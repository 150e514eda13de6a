//! The SAM transform (`AWS::Serverless-2016-10-31`) as a pure function template → template:
//! Globals are merged in, each `AWS::Serverless::*` resource becomes the CloudFormation
//! resources SAM generates, with SAM's logical ids (`{Function}Role`, `ServerlessRestApi`,
//! `{Function}{Event}Permission`, ...), so what SAM users write (`!GetAtt MyFunctionRole.Arn`,
//! `!Ref ServerlessRestApi`, `MyFunction.Alias`) resolves. Everything else passes through.

mod api;
mod events;
mod function;
mod policies;

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result, invalid};

/// Serverless types and what Globals section applies to them.
const GLOBALS: &[(&str, &str)] = &[
    ("Function", "AWS::Serverless::Function"),
    ("Api", "AWS::Serverless::Api"),
    ("HttpApi", "AWS::Serverless::HttpApi"),
    ("SimpleTable", "AWS::Serverless::SimpleTable"),
    ("LayerVersion", "AWS::Serverless::LayerVersion"),
];

/// Expands the serverless resources of `doc` into the CloudFormation resources SAM generates.
/// `parameters` (supplied values; declared defaults fill the rest) let SAM read the few
/// properties it needs as literals, such as `AutoPublishAlias` and `StageName`.
pub fn transform(doc: &Value, parameters: &BTreeMap<String, String>) -> Result<Value> {
    let top = doc.as_object().ok_or_else(|| crate::error::format_error("unsupported structure."))?;
    let mut params = parameters.clone();
    if let Some(Value::Object(decls)) = top.get("Parameters") {
        for (k, d) in decls {
            if let Some(default) = d.get("Default") {
                params.entry(k.clone()).or_insert_with(|| crate::template::scalar_text(default));
            }
        }
    }
    let globals = read_globals(top.get("Globals"))?;
    let resources = match top.get("Resources") {
        Some(Value::Object(r)) => r.clone(),
        _ => Map::new(),
    };
    let mut sam = Sam {
        params,
        out: Map::new(),
        apis: api::Apis::default(),
        buckets: BTreeMap::new(),
        renames: BTreeMap::new(),
        conditions: Map::new(),
    };
    // Explicit APIs first: function events attach routes to them.
    for (id, entry) in &resources {
        let ty = entry.get("Type").and_then(Value::as_str).unwrap_or_default();
        if matches!(ty, "AWS::Serverless::Api" | "AWS::Serverless::HttpApi") {
            let entry = with_globals(entry, ty, &globals);
            sam.apis.declare(id, ty, entry)?;
        }
    }
    for (id, entry) in &resources {
        let ty = entry.get("Type").and_then(Value::as_str).unwrap_or_default();
        let entry = with_globals(entry, ty, &globals);
        let at = Attributes::of(&entry);
        match ty {
            "AWS::Serverless::Function" => {
                function::function(&mut sam, id, props(&entry), &at).map_err(|e| resource_error(id, e))?
            }
            "AWS::Serverless::SimpleTable" => {
                simple_table(&mut sam, id, props(&entry), &at).map_err(|e| resource_error(id, e))?
            }
            "AWS::Serverless::LayerVersion" => {
                layer(&mut sam, id, props(&entry), &at).map_err(|e| resource_error(id, e))?
            }
            "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" => {}
            t if t.starts_with("AWS::Serverless::") => {
                return Err(Error::NotImplemented(format!(
                    "Resource type {t} is not supported by Nimbus yet"
                )));
            }
            _ => {
                sam.out.insert(id.clone(), entry.clone());
            }
        }
    }
    let implicit_globals = |ty: &str| with_globals(&json!({"Type": ty}), ty, &globals);
    let apis = std::mem::take(&mut sam.apis);
    apis.emit(
        &mut sam,
        &implicit_globals("AWS::Serverless::Api"),
        &implicit_globals("AWS::Serverless::HttpApi"),
    )?;
    apply_bucket_notifications(&mut sam)?;

    let mut doc = top.clone();
    doc.remove("Globals");
    if !sam.conditions.is_empty() {
        let c = doc.entry("Conditions").or_insert_with(|| json!({}));
        if let Some(c) = c.as_object_mut() {
            c.extend(std::mem::take(&mut sam.conditions));
        }
    }
    doc.insert("Resources".into(), Value::Object(std::mem::take(&mut sam.out)));
    let mut doc = Value::Object(doc);
    rewrite_refs(&mut doc, &sam.renames);
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("Transform");
    }
    Ok(doc)
}

/// State of one transform run.
pub(crate) struct Sam {
    /// Parameter values (supplied, else defaults), to read literals out of `!Ref`s.
    params: BTreeMap<String, String>,
    /// The resources of the output template.
    out: Map<String, Value>,
    apis: api::Apis,
    /// S3 bucket id → (LambdaConfigurations to add, permission ids it must wait for).
    buckets: BTreeMap<String, (Vec<Value>, Vec<String>)>,
    /// References to rewrite: `Layer` → `Layer{hash}`, `Fn.Alias` → `FnAliaslive`, ...
    renames: BTreeMap<String, String>,
    /// Conditions SAM adds (an implicit API that exists only when one of its functions does).
    conditions: Map<String, Value>,
}

impl Sam {
    /// A property's value as a literal string: itself, or a `!Ref` to a parameter with a value.
    fn literal(&self, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => match crate::resolve::as_intrinsic(v) {
                Some(("Ref", Value::String(p))) => self.params.get(p).cloned(),
                _ => None,
            },
        }
    }

    fn add(&mut self, id: &str, resource: Value) {
        self.out.insert(id.to_owned(), resource);
    }
}

/// Resource attributes of a serverless resource that carry over to what it generates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Attributes {
    pub(crate) condition: Option<Value>,
    depends_on: Option<Value>,
    deletion_policy: Option<Value>,
    update_replace_policy: Option<Value>,
    metadata: Option<Value>,
}

impl Attributes {
    fn of(entry: &Value) -> Attributes {
        Attributes {
            condition: entry.get("Condition").cloned(),
            depends_on: entry.get("DependsOn").cloned(),
            deletion_policy: entry.get("DeletionPolicy").cloned(),
            update_replace_policy: entry.get("UpdateReplacePolicy").cloned(),
            metadata: entry.get("Metadata").cloned(),
        }
    }

    /// A generated resource: the condition follows every one of them.
    fn resource(&self, ty: &str, properties: Map<String, Value>) -> Value {
        let mut r = Map::new();
        r.insert("Type".into(), Value::String(ty.to_owned()));
        r.insert("Properties".into(), Value::Object(properties));
        if let Some(c) = &self.condition {
            r.insert("Condition".into(), c.clone());
        }
        Value::Object(r)
    }

    /// The main generated resource also takes DependsOn, the policies and Metadata.
    fn main_resource(&self, ty: &str, properties: Map<String, Value>) -> Value {
        let mut r = self.resource(ty, properties);
        if let Some(obj) = r.as_object_mut() {
            for (k, v) in [
                ("DependsOn", &self.depends_on),
                ("DeletionPolicy", &self.deletion_policy),
                ("UpdateReplacePolicy", &self.update_replace_policy),
                ("Metadata", &self.metadata),
            ] {
                if let Some(v) = v {
                    obj.insert(k.into(), v.clone());
                }
            }
        }
        r
    }
}

fn props(entry: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    entry.get("Properties").and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn read_globals(v: Option<&Value>) -> Result<BTreeMap<String, Map<String, Value>>> {
    let mut out = BTreeMap::new();
    let Some(v) = v else { return Ok(out) };
    let Value::Object(sections) = v else {
        return Err(sam_error("'Globals' section is invalid. Globals must be an object."));
    };
    for (name, section) in sections {
        let Some((_, ty)) = GLOBALS.iter().find(|(n, _)| n == name) else {
            return Err(sam_error(format!(
                "'Globals' section is invalid. '{name}' is not supported. Must be one of the following values - [{}]",
                GLOBALS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )));
        };
        let Value::Object(props) = section else {
            return Err(sam_error(format!(
                "'Globals' section is invalid. Value of '{name}' must be a dictionary."
            )));
        };
        // SAM refuses these in Globals on purpose (hard to read, or a security risk).
        let refused: &[&str] = match name.as_str() {
            "Function" => &["Role", "Policies", "FunctionName", "Events"],
            "Api" => &["StageName", "DefinitionBody"],
            "HttpApi" => &["StageName", "DefinitionBody", "DefinitionUri"],
            _ => &[],
        };
        if let Some(bad) = props.keys().find(|k| refused.contains(&k.as_str())) {
            return Err(sam_error(format!(
                "'Globals' section is invalid. '{bad}' is not a supported property of '{name}'."
            )));
        }
        out.insert((*ty).to_owned(), props.clone());
    }
    Ok(out)
}

/// A resource with its type's Globals merged under its own properties.
fn with_globals(entry: &Value, ty: &str, globals: &BTreeMap<String, Map<String, Value>>) -> Value {
    let Some(g) = globals.get(ty) else { return entry.clone() };
    let mut entry = entry.clone();
    let own = entry.get("Properties").cloned().unwrap_or_else(|| json!({}));
    let merged = merge(&Value::Object(g.clone()), &own);
    if let Some(obj) = entry.as_object_mut() {
        obj.insert("Properties".into(), merged);
    }
    entry
}

/// SAM's Globals merge: maps merge key by key, lists concatenate (globals first), anything
/// else — including intrinsic functions — is overridden by the resource's own value.
fn merge(global: &Value, own: &Value) -> Value {
    let intrinsic = |v: &Value| crate::resolve::as_intrinsic(v).is_some();
    match (global, own) {
        (Value::Object(g), Value::Object(o)) if !intrinsic(global) && !intrinsic(own) => {
            let mut out = g.clone();
            for (k, v) in o {
                let merged = match g.get(k) {
                    Some(gv) => merge(gv, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(g), Value::Array(o)) => Value::Array(g.iter().chain(o).cloned().collect()),
        _ => own.clone(),
    }
}

fn simple_table(sam: &mut Sam, id: &str, p: &Map<String, Value>, at: &Attributes) -> Result<()> {
    const KNOWN: &[&str] = &[
        "PrimaryKey",
        "ProvisionedThroughput",
        "TableName",
        "Tags",
        "SSESpecification",
        "PointInTimeRecoverySpecification",
    ];
    check_known(p, KNOWN, "AWS::Serverless::SimpleTable")?;
    let (name, ty) = match p.get("PrimaryKey") {
        None => (json!("id"), "S"),
        Some(pk) => {
            let name = pk
                .get("Name")
                .cloned()
                .ok_or_else(|| invalid("'PrimaryKey' is missing required property 'Name'."))?;
            let ty = match pk.get("Type").and_then(Value::as_str) {
                Some("String") => "S",
                Some("Number") => "N",
                Some("Binary") => "B",
                _ => return Err(invalid("'PrimaryKey' Type must be one of String, Number or Binary.")),
            };
            (name, ty)
        }
    };
    let mut t = Map::new();
    t.insert("AttributeDefinitions".into(), json!([{"AttributeName": name, "AttributeType": ty}]));
    t.insert("KeySchema".into(), json!([{"AttributeName": name, "KeyType": "HASH"}]));
    match p.get("ProvisionedThroughput") {
        Some(pt) => {
            t.insert("ProvisionedThroughput".into(), pt.clone());
        }
        None => {
            t.insert("BillingMode".into(), json!("PAY_PER_REQUEST"));
        }
    }
    for key in ["TableName", "SSESpecification", "PointInTimeRecoverySpecification"] {
        if let Some(v) = p.get(key) {
            t.insert(key.into(), v.clone());
        }
    }
    if let Some(tags) = p.get("Tags") {
        t.insert("Tags".into(), tag_list(tags, false));
    }
    sam.add(id, at.main_resource("AWS::DynamoDB::Table", t));
    Ok(())
}

fn layer(sam: &mut Sam, id: &str, p: &Map<String, Value>, at: &Attributes) -> Result<()> {
    const KNOWN: &[&str] = &[
        "ContentUri",
        "LayerName",
        "Description",
        "CompatibleRuntimes",
        "CompatibleArchitectures",
        "LicenseInfo",
        "RetentionPolicy",
        "PublishLambdaVersion",
    ];
    check_known(p, KNOWN, "AWS::Serverless::LayerVersion")?;
    let content = s3_location(p.get("ContentUri"), "ContentUri")?
        .ok_or_else(|| invalid("Missing required property 'ContentUri'."))?;
    let mut l = Map::new();
    l.insert("Content".into(), content);
    l.insert("LayerName".into(), p.get("LayerName").cloned().unwrap_or_else(|| json!(id)));
    for key in ["Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"] {
        if let Some(v) = p.get(key) {
            l.insert(key.into(), v.clone());
        }
    }
    let retention = match p.get("RetentionPolicy").and_then(|v| sam.literal(v)) {
        None => "Retain".to_owned(),
        Some(r) if r.eq_ignore_ascii_case("retain") => "Retain".to_owned(),
        Some(r) if r.eq_ignore_ascii_case("delete") => "Delete".to_owned(),
        Some(_) => {
            return Err(invalid(
                "'RetentionPolicy' must be one of the following options: ['Retain', 'Delete'].",
            ));
        }
    };
    // A new content location is a new layer version: the logical id changes with it, and
    // every reference to the layer follows.
    let new_id = format!("{id}{}", hash10(&Value::Object(l.clone())));
    let mut r = at.main_resource("AWS::Lambda::LayerVersion", l);
    if let Some(obj) = r.as_object_mut() {
        obj.insert("DeletionPolicy".into(), Value::String(retention));
    }
    sam.renames.insert(id.to_owned(), new_id.clone());
    sam.add(&new_id, r);
    Ok(())
}

/// SAM's S3 location: `s3://bucket/key[?versionId=v]` or `{Bucket, Key, Version}`.
pub(crate) fn s3_location(v: Option<&Value>, what: &str) -> Result<Option<Value>> {
    let Some(v) = v else { return Ok(None) };
    let bad = || {
        invalid(format!(
            "'{what}' is not a valid S3 Uri of the form 's3://bucket/key' with optional versionId query parameter."
        ))
    };
    match v {
        Value::String(s) => {
            let rest = s.strip_prefix("s3://").ok_or_else(bad)?;
            let (path, version) = match rest.split_once("?versionId=") {
                Some((p, v)) => (p, Some(v)),
                None => (rest, None),
            };
            let (bucket, key) =
                path.split_once('/').filter(|(b, k)| !b.is_empty() && !k.is_empty()).ok_or_else(bad)?;
            let mut m = Map::new();
            m.insert("S3Bucket".into(), json!(bucket));
            m.insert("S3Key".into(), json!(key));
            if let Some(v) = version {
                m.insert("S3ObjectVersion".into(), json!(v));
            }
            Ok(Some(Value::Object(m)))
        }
        Value::Object(o) if crate::resolve::as_intrinsic(v).is_none() => {
            let mut m = Map::new();
            m.insert("S3Bucket".into(), o.get("Bucket").cloned().ok_or_else(bad)?);
            m.insert("S3Key".into(), o.get("Key").cloned().ok_or_else(bad)?);
            if let Some(ver) = o.get("Version") {
                m.insert("S3ObjectVersion".into(), ver.clone());
            }
            Ok(Some(Value::Object(m)))
        }
        _ => Err(bad()),
    }
}

/// S3 events add their LambdaConfigurations to the bucket, which then waits for the
/// permissions (S3 checks it may invoke the function when the notification is set).
fn apply_bucket_notifications(sam: &mut Sam) -> Result<()> {
    for (bucket, (configs, permissions)) in std::mem::take(&mut sam.buckets) {
        let Some(Value::Object(b)) = sam.out.get_mut(&bucket) else {
            return Err(invalid(format!(
                "S3 events must reference an S3 bucket in the same template: {bucket}"
            )));
        };
        let props = b.entry("Properties").or_insert_with(|| json!({}));
        let Some(props) = props.as_object_mut() else { continue };
        let nc = props.entry("NotificationConfiguration").or_insert_with(|| json!({}));
        let Some(nc) = nc.as_object_mut() else { continue };
        let lc = nc.entry("LambdaConfigurations").or_insert_with(|| json!([]));
        if let Some(list) = lc.as_array_mut() {
            list.extend(configs);
        }
        let mut depends: Vec<Value> = match b.get("DependsOn") {
            Some(Value::String(s)) => vec![json!(s)],
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        depends.extend(permissions.into_iter().map(Value::String));
        b.insert("DependsOn".into(), Value::Array(depends));
    }
    Ok(())
}

/// Rewrites references to renamed or SAM-referenceable ids (`Layer`, `Fn.Alias`, `Api.Stage`)
/// in `Ref`, `Fn::GetAtt`, `Fn::Sub` and `DependsOn`.
fn rewrite_refs(v: &mut Value, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    match v {
        Value::Object(obj) => {
            if obj.len() == 1 {
                if let Some(Value::String(target)) = obj.get_mut("Ref")
                    && let Some(new) = renames.get(target.as_str())
                {
                    *target = new.clone();
                    return;
                }
                if let Some(Value::Array(parts)) = obj.get_mut("Fn::GetAtt")
                    && let Some(Value::String(target)) = parts.first_mut()
                    && let Some(new) = renames.get(target.as_str())
                {
                    *target = new.clone();
                    return;
                }
                if let Some(sub) = obj.get_mut("Fn::Sub") {
                    let text = match sub {
                        Value::String(s) => Some(s),
                        Value::Array(items) => items.first_mut().and_then(|t| match t {
                            Value::String(s) => Some(s),
                            _ => None,
                        }),
                        _ => None,
                    };
                    if let Some(text) = text {
                        for (old, new) in renames {
                            *text = text.replace(&format!("${{{old}}}"), &format!("${{{new}}}"));
                            if !old.contains('.') {
                                *text = text.replace(&format!("${{{old}."), &format!("${{{new}."));
                            }
                        }
                    }
                }
            }
            if let Some(deps) = obj.get_mut("DependsOn") {
                match deps {
                    Value::String(s) => {
                        if let Some(new) = renames.get(s.as_str()) {
                            *s = new.clone();
                        }
                    }
                    Value::Array(items) => {
                        for item in items {
                            if let Value::String(s) = item
                                && let Some(new) = renames.get(s.as_str())
                            {
                                *s = new.clone();
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (_, child) in obj.iter_mut() {
                rewrite_refs(child, renames);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rewrite_refs(c, renames)),
        _ => {}
    }
}

/// SAM tags: a map becomes a CloudFormation tag list, with `lambda:createdBy: SAM` first for
/// the resources SAM tags that way.
pub(crate) fn tag_list(tags: &Value, created_by: bool) -> Value {
    let mut out = Vec::new();
    if created_by {
        out.push(json!({"Key": "lambda:createdBy", "Value": "SAM"}));
    }
    if let Value::Object(m) = tags {
        for (k, v) in m {
            out.push(json!({"Key": k, "Value": v}));
        }
    }
    Value::Array(out)
}

/// Ten hex digits of a content hash: SAM's suffix for versions, deployments and layers.
pub(crate) fn hash10(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    hex::encode(&digest[..5])
}

/// The full hash (deployment descriptions carry it).
pub(crate) fn hash_full(v: &Value) -> String {
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// Logical ids are alphanumeric: SAM drops everything else from names it builds ids from.
pub(crate) fn alnum(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

pub(crate) fn check_known(p: &Map<String, Value>, known: &[&str], ty: &str) -> Result<()> {
    match p.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(invalid(format!("property {k} not defined for resource of type {ty}"))),
        None => Ok(()),
    }
}

pub(crate) fn r#ref(id: &str) -> Value {
    json!({"Ref": id})
}

pub(crate) fn get_att(id: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [id, attribute]})
}

fn sam_error(detail: impl std::fmt::Display) -> Error {
    invalid(format!(
        "Transform AWS::Serverless-2016-10-31 failed with: Invalid Serverless Application Specification document. Number of errors found: 1. {detail}"
    ))
}

/// Wraps a problem with one resource in SAM's document-level message.
fn resource_error(id: &str, e: Error) -> Error {
    match e {
        Error::ValidationError(m) => sam_error(format!("Resource with id [{id}] is invalid. {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests;
