//! The AWS::Lambda::* types, through Lambda's rest-json API. Code given as `ZipFile` text is
//! zipped into `index.py`/`index.js` as CloudFormation does; code in S3 is Lambda's to read.

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use http::Method;
use serde_json::{Map, Value, json};

use super::{Created, Cx, Outcome, copy, int, last_segment, required, tag_map, text};
use crate::api::ApiError;
use crate::model::ResourceRecord;

/// Configuration properties that go to CreateFunction/UpdateFunctionConfiguration as they are.
const CONFIG: &[&str] = &[
    "Runtime",
    "Role",
    "Handler",
    "Description",
    "Timeout",
    "MemorySize",
    "Environment",
    "Layers",
    "DeadLetterConfig",
    "TracingConfig",
    "EphemeralStorage",
    "LoggingConfig",
    "KMSKeyArn",
    "ImageConfig",
    "SnapStart",
];

/// A path segment: function names may be ARNs, qualifiers `$LATEST`.
fn seg(s: &str) -> String {
    super::percent_encode(s)
}

async fn call(cx: &Cx<'_>, method: Method, path: &str, body: Option<Value>) -> Result<Value, ApiError> {
    cx.api.rest_json("lambda", method, path, body).await
}

fn err(e: ApiError) -> String {
    e.to_string()
}

/// CloudFormation's `Code`/`Content` shapes → Lambda's, with the zip inline.
fn code(code: &Value, runtime: Option<&str>) -> Outcome<Value> {
    if let Some(source) = code.get("ZipFile").and_then(Value::as_str) {
        let file = if runtime.is_some_and(|r| r.starts_with("nodejs")) { "index.js" } else { "index.py" };
        let zip = zip_one(file, source.as_bytes())?;
        return Ok(json!({"ZipFile": base64::engine::general_purpose::STANDARD.encode(zip)}));
    }
    if code.get("S3Bucket").is_some() || code.get("S3Key").is_some() {
        // Lambda reads code from S3 itself, with its own errors for a missing object.
        let mut m = Map::new();
        copy(code, &["S3Bucket", "S3Key", "S3ObjectVersion"], &mut m);
        return Ok(Value::Object(m));
    }
    if code.get("ImageUri").is_some() {
        return Err("Container image functions (Code.ImageUri) are not supported by Nimbus".to_owned());
    }
    Err("Properties validation failed for resource: Code must have ZipFile, or S3Bucket and S3Key".to_owned())
}

fn zip_one(name: &str, data: &[u8]) -> Outcome<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file(name, options).map_err(|e| e.to_string())?;
    zip.write_all(data).map_err(|e| e.to_string())?;
    zip.finish().map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// Waits for a function to leave `Pending` and any update in progress, as CloudFormation does
/// before it reports the resource complete.
async fn wait_ready(cx: &Cx<'_>, name: &str) -> Outcome<Value> {
    let path = format!("/2015-03-31/functions/{}/configuration", seg(name));
    for _ in 0..300 {
        let c = call(cx, Method::GET, &path, None).await.map_err(err)?;
        let state = c.get("State").and_then(Value::as_str).unwrap_or("Active");
        let update = c.get("LastUpdateStatus").and_then(Value::as_str).unwrap_or("Successful");
        if state == "Failed" {
            return Err(c
                .get("StateReason")
                .and_then(Value::as_str)
                .unwrap_or("The function failed to become active")
                .to_owned());
        }
        if state != "Pending" && update != "InProgress" {
            return Ok(c);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("Function {name} did not become active in time"))
}

pub async fn create_function(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "FunctionName").unwrap_or_else(|| cx.name(64));
    let mut body = Map::new();
    body.insert("FunctionName".into(), json!(name));
    copy(props, CONFIG, &mut body);
    copy(props, &["Architectures", "PackageType", "VpcConfig"], &mut body);
    let runtime = text(props, "Runtime");
    let code_prop = props
        .get("Code")
        .ok_or("Properties validation failed for resource: required key [Code] not found")?;
    body.insert("Code".into(), code(code_prop, runtime.as_deref())?);
    let tags = tag_map(props);
    if tags.as_object().is_some_and(|m| !m.is_empty()) {
        body.insert("Tags".into(), tags);
    }
    let out =
        call(cx, Method::POST, "/2015-03-31/functions", Some(Value::Object(body))).await.map_err(err)?;
    let arn = out.get("FunctionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(n) = int(props, "ReservedConcurrentExecutions") {
        let path = format!("/2017-10-31/functions/{}/concurrency", seg(&name));
        call(cx, Method::PUT, &path, Some(json!({"ReservedConcurrentExecutions": n}))).await.map_err(err)?;
    }
    wait_ready(cx, &name).await?;
    Ok(Created::new(name).with("Arn", arn))
}

pub async fn update_function(cx: &Cx<'_>, name: &str, props: &Value) -> Outcome<()> {
    let runtime = text(props, "Runtime");
    if let Some(code_prop) = props.get("Code") {
        let mut body = code(code_prop, runtime.as_deref())?;
        if let Some(a) = props.get("Architectures") {
            body["Architectures"] = a.clone();
        }
        let path = format!("/2015-03-31/functions/{}/code", seg(name));
        call(cx, Method::PUT, &path, Some(body)).await.map_err(err)?;
        wait_ready(cx, name).await?;
    }
    let mut body = Map::new();
    copy(props, CONFIG, &mut body);
    // Properties left out go back to their defaults, as CloudFormation applies a template.
    for (k, v) in
        [("Description", json!("")), ("Environment", json!({"Variables": {}})), ("Layers", json!([]))]
    {
        body.entry(k).or_insert(v);
    }
    let path = format!("/2015-03-31/functions/{}/configuration", seg(name));
    call(cx, Method::PUT, &path, Some(Value::Object(body))).await.map_err(err)?;
    wait_ready(cx, name).await?;
    let path = format!("/2017-10-31/functions/{}/concurrency", seg(name));
    match int(props, "ReservedConcurrentExecutions") {
        Some(n) => call(cx, Method::PUT, &path, Some(json!({"ReservedConcurrentExecutions": n})))
            .await
            .map_err(err)?,
        None => call(cx, Method::DELETE, &path, None).await.map_err(err)?,
    };
    Ok(())
}

pub async fn delete_function(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/2015-03-31/functions/{}", seg(name)), None).await.map(drop)
}

pub async fn create_permission(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let function = required(props, "FunctionName")?;
    let sid = cx.name(100);
    let mut body = Map::new();
    body.insert("StatementId".into(), json!(sid));
    copy(
        props,
        &[
            "Action",
            "Principal",
            "SourceArn",
            "SourceAccount",
            "EventSourceToken",
            "FunctionUrlAuthType",
            "PrincipalOrgID",
        ],
        &mut body,
    );
    let path = format!("/2015-03-31/functions/{}/policy", seg(&function));
    call(cx, Method::POST, &path, Some(Value::Object(body))).await.map_err(err)?;
    Ok(Created::new(sid.clone()).with("Id", sid))
}

pub async fn delete_permission(cx: &Cx<'_>, sid: &str, props: &Value) -> Result<(), ApiError> {
    let function = text(props, "FunctionName").unwrap_or_default();
    let path = format!("/2015-03-31/functions/{}/policy/{}", seg(&function), seg(sid));
    call(cx, Method::DELETE, &path, None).await.map(drop)
}

pub async fn create_version(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let function = required(props, "FunctionName")?;
    let mut body = Map::new();
    copy(props, &["Description", "CodeSha256"], &mut body);
    let path = format!("/2015-03-31/functions/{}/versions", seg(&function));
    let out = call(cx, Method::POST, &path, Some(Value::Object(body))).await.map_err(err)?;
    let arn = out.get("FunctionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    let version = out.get("Version").and_then(Value::as_str).unwrap_or_default().to_owned();
    if let Some(pc) =
        props.get("ProvisionedConcurrencyConfig").and_then(|c| int(c, "ProvisionedConcurrentExecutions"))
    {
        let path =
            format!("/2019-09-30/functions/{}/provisioned-concurrency?Qualifier={version}", seg(&function));
        call(cx, Method::PUT, &path, Some(json!({"ProvisionedConcurrentExecutions": pc})))
            .await
            .map_err(err)?;
    }
    let function_arn = arn.rsplit_once(':').map(|(f, _)| f.to_owned()).unwrap_or_default();
    Ok(Created::new(arn).with("Version", version).with("FunctionArn", function_arn))
}

pub async fn delete_version(cx: &Cx<'_>, arn: &str) -> Result<(), ApiError> {
    let Some((function, version)) = arn.rsplit_once(':') else { return Ok(()) };
    let path = format!("/2015-03-31/functions/{}?Qualifier={}", seg(function), seg(version));
    call(cx, Method::DELETE, &path, None).await.map(drop)
}

/// CloudFormation's `RoutingConfig.AdditionalVersionWeights` list → Lambda's map.
fn alias_body(props: &Value) -> Value {
    let mut body = Map::new();
    copy(props, &["FunctionVersion", "Description"], &mut body);
    if let Some(weights) =
        props.get("RoutingConfig").and_then(|r| r.get("AdditionalVersionWeights")).and_then(Value::as_array)
    {
        let map: Map<String, Value> = weights
            .iter()
            .filter_map(|w| {
                let v = text(w, "FunctionVersion")?;
                let weight =
                    w.get("FunctionWeight").and_then(|x| x.as_f64().or_else(|| x.as_str()?.parse().ok()))?;
                Some((v, json!(weight)))
            })
            .collect();
        body.insert("RoutingConfig".into(), json!({"AdditionalVersionWeights": map}));
    }
    Value::Object(body)
}

async fn alias_concurrency(cx: &Cx<'_>, function: &str, alias: &str, props: &Value) -> Outcome<()> {
    let path =
        format!("/2019-09-30/functions/{}/provisioned-concurrency?Qualifier={}", seg(function), seg(alias));
    match props.get("ProvisionedConcurrencyConfig").and_then(|c| int(c, "ProvisionedConcurrentExecutions")) {
        Some(n) => call(cx, Method::PUT, &path, Some(json!({"ProvisionedConcurrentExecutions": n})))
            .await
            .map(drop)
            .map_err(err),
        None => match call(cx, Method::DELETE, &path, None).await {
            Err(e) if !e.is_not_found() => Err(err(e)),
            _ => Ok(()),
        },
    }
}

pub async fn create_alias(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let function = required(props, "FunctionName")?;
    let name = required(props, "Name")?;
    let mut body = alias_body(props);
    body["Name"] = json!(name);
    let path = format!("/2015-03-31/functions/{}/aliases", seg(&function));
    let out = call(cx, Method::POST, &path, Some(body)).await.map_err(err)?;
    let arn = out.get("AliasArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    if props.get("ProvisionedConcurrencyConfig").is_some() {
        alias_concurrency(cx, &function, &name, props).await?;
    }
    Ok(Created::new(arn.clone()).with("AliasArn", arn))
}

pub async fn update_alias(cx: &Cx<'_>, old: &ResourceRecord, props: &Value) -> Outcome<()> {
    let function = required(props, "FunctionName")?;
    let name = required(props, "Name")?;
    let path = format!("/2015-03-31/functions/{}/aliases/{}", seg(&function), seg(&name));
    let mut body = alias_body(props);
    if body.get("RoutingConfig").is_none() {
        body["RoutingConfig"] = json!({"AdditionalVersionWeights": {}});
    }
    call(cx, Method::PUT, &path, Some(body)).await.map_err(err)?;
    if old.properties.get("ProvisionedConcurrencyConfig") != props.get("ProvisionedConcurrencyConfig") {
        alias_concurrency(cx, &function, &name, props).await?;
    }
    Ok(())
}

pub async fn delete_alias(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    let function = text(props, "FunctionName").unwrap_or_default();
    let name = text(props, "Name").unwrap_or_default();
    call(
        cx,
        Method::DELETE,
        &format!("/2015-03-31/functions/{}/aliases/{}", seg(&function), seg(&name)),
        None,
    )
    .await
    .map(drop)
}

const MAPPING: &[&str] = &[
    "BatchSize",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "Enabled",
    "FilterCriteria",
    "FunctionResponseTypes",
    "MaximumBatchingWindowInSeconds",
    "MaximumRecordAgeInSeconds",
    "MaximumRetryAttempts",
    "ParallelizationFactor",
    "ScalingConfig",
    "TumblingWindowInSeconds",
];

pub async fn create_mapping(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let mut body = Map::new();
    copy(props, MAPPING, &mut body);
    copy(
        props,
        &["EventSourceArn", "FunctionName", "StartingPosition", "StartingPositionTimestamp"],
        &mut body,
    );
    let out = call(cx, Method::POST, "/2015-03-31/event-source-mappings", Some(Value::Object(body)))
        .await
        .map_err(err)?;
    let uuid = out.get("UUID").and_then(Value::as_str).unwrap_or_default().to_owned();
    let arn =
        out.get("EventSourceMappingArn").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
            format!("arn:aws:lambda:{}:{}:event-source-mapping:{uuid}", cx.region(), cx.account())
        });
    Ok(Created::new(uuid.clone()).with("Id", uuid).with("EventSourceMappingArn", arn))
}

pub async fn update_mapping(cx: &Cx<'_>, uuid: &str, props: &Value) -> Outcome<()> {
    let mut body = Map::new();
    copy(props, MAPPING, &mut body);
    copy(props, &["FunctionName"], &mut body);
    call(
        cx,
        Method::PUT,
        &format!("/2015-03-31/event-source-mappings/{}", seg(uuid)),
        Some(Value::Object(body)),
    )
    .await
    .map(drop)
    .map_err(err)
}

pub async fn delete_mapping(cx: &Cx<'_>, uuid: &str) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &format!("/2015-03-31/event-source-mappings/{}", seg(uuid)), None)
        .await
        .map(drop)
}

fn url_path(props: &Value) -> String {
    let function = text(props, "TargetFunctionArn").unwrap_or_default();
    let mut path = format!("/2021-10-31/functions/{}/url", seg(&function));
    if let Some(q) = text(props, "Qualifier") {
        path.push_str(&format!("?Qualifier={}", seg(&q)));
    }
    path
}

pub async fn create_url(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    required(props, "TargetFunctionArn")?;
    let mut body = Map::new();
    copy(props, &["AuthType", "Cors", "InvokeMode"], &mut body);
    let out = call(cx, Method::POST, &url_path(props), Some(Value::Object(body))).await.map_err(err)?;
    let url = out.get("FunctionUrl").and_then(Value::as_str).unwrap_or_default().to_owned();
    let arn = out.get("FunctionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(arn.clone()).with("FunctionArn", arn).with("FunctionUrl", url))
}

pub async fn delete_url(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &url_path(props), None).await.map(drop)
}

fn invoke_config_path(props: &Value) -> String {
    let function = text(props, "FunctionName").unwrap_or_default();
    let qualifier = text(props, "Qualifier").unwrap_or_else(|| "$LATEST".to_owned());
    format!("/2019-09-25/functions/{}/event-invoke-config?Qualifier={}", seg(&function), seg(&qualifier))
}

pub async fn put_invoke_config(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    required(props, "FunctionName")?;
    let mut body = Map::new();
    copy(props, &["MaximumEventAgeInSeconds", "MaximumRetryAttempts", "DestinationConfig"], &mut body);
    call(cx, Method::PUT, &invoke_config_path(props), Some(Value::Object(body))).await.map_err(err)?;
    let function = text(props, "FunctionName").unwrap_or_default();
    let id = format!("{}|{}", last_segment(&function, ':'), text(props, "Qualifier").unwrap_or_default());
    Ok(Created::new(id))
}

pub async fn delete_invoke_config(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    call(cx, Method::DELETE, &invoke_config_path(props), None).await.map(drop)
}

pub async fn create_layer_version(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "LayerName").unwrap_or_else(|| cx.name(64));
    let content = props
        .get("Content")
        .ok_or("Properties validation failed for resource: required key [Content] not found")?;
    let mut body = Map::new();
    copy(props, &["CompatibleRuntimes", "CompatibleArchitectures", "Description", "LicenseInfo"], &mut body);
    body.insert("Content".into(), code(content, None)?);
    let out = call(
        cx,
        Method::POST,
        &format!("/2018-10-31/layers/{}/versions", seg(&name)),
        Some(Value::Object(body)),
    )
    .await
    .map_err(err)?;
    let arn = out.get("LayerVersionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Created::new(arn.clone()).with("LayerVersionArn", arn))
}

pub async fn delete_layer_version(cx: &Cx<'_>, arn: &str) -> Result<(), ApiError> {
    // arn:aws:lambda:{region}:{account}:layer:{name}:{version}
    let parts: Vec<&str> = arn.split(':').collect();
    let (Some(name), Some(version)) = (parts.get(6), parts.get(7)) else { return Ok(()) };
    call(cx, Method::DELETE, &format!("/2018-10-31/layers/{}/versions/{}", seg(name), seg(version)), None)
        .await
        .map(drop)
}
