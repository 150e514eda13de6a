//! The JSON shapes Lambda answers with: `FunctionConfiguration`, `AliasConfiguration`,
//! `FunctionEventInvokeConfig`. Members appear as the SDKs expect them; absent optional members
//! are left out, as Lambda does.

use serde_json::{Map, Value, json};
use types::Scope;

use crate::code::sha256_base64;
use crate::model::{AliasRecord, EventInvokeConfig, VersionConfig};
use crate::names::{function_arn, qualified_arn};

/// What the state members say: a fresh function is `Pending` in the CreateFunction answer and
/// `Active` afterwards; an update is `InProgress` in its own answer, `Successful` afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Settled,
    Creating,
    Updating,
}

pub fn function_configuration(scope: &Scope, name: &str, c: &VersionConfig, phase: Phase) -> Value {
    let arn = if c.version == "$LATEST" {
        function_arn(scope, name)
    } else {
        qualified_arn(scope, name, &c.version)
    };
    let mut m = Map::new();
    m.insert("FunctionName".into(), json!(name));
    m.insert("FunctionArn".into(), json!(arn));
    m.insert("Runtime".into(), json!(c.runtime));
    m.insert("Role".into(), json!(c.role));
    m.insert("Handler".into(), json!(c.handler));
    m.insert("CodeSize".into(), json!(c.code.size));
    m.insert("Description".into(), json!(c.description));
    m.insert("Timeout".into(), json!(c.timeout));
    m.insert("MemorySize".into(), json!(c.memory_size));
    m.insert("LastModified".into(), json!(c.last_modified));
    m.insert("CodeSha256".into(), json!(sha256_base64(&c.code.sha256_hex)));
    m.insert("Version".into(), json!(c.version));
    if let Some(vars) = &c.environment {
        m.insert("Environment".into(), json!({ "Variables": vars }));
    }
    m.insert("TracingConfig".into(), json!({ "Mode": c.tracing_mode }));
    if let Some(target) = &c.dead_letter_target {
        m.insert("DeadLetterConfig".into(), json!({ "TargetArn": target }));
    }
    if let Some(kms) = &c.kms_key_arn {
        m.insert("KMSKeyArn".into(), json!(kms));
    }
    m.insert("RevisionId".into(), json!(c.revision_id));
    if !c.layers.is_empty() {
        let layers: Vec<Value> =
            c.layers.iter().map(|l| json!({ "Arn": l.arn, "CodeSize": l.code_size })).collect();
        m.insert("Layers".into(), Value::Array(layers));
    }
    match phase {
        Phase::Creating => {
            m.insert("State".into(), json!("Pending"));
            m.insert("StateReason".into(), json!("The function is being created."));
            m.insert("StateReasonCode".into(), json!("Creating"));
        }
        Phase::Settled | Phase::Updating => {
            m.insert("State".into(), json!("Active"));
        }
    }
    match phase {
        Phase::Updating => {
            m.insert("LastUpdateStatus".into(), json!("InProgress"));
            m.insert("LastUpdateStatusReason".into(), json!("The function is being created."));
            m.insert("LastUpdateStatusReasonCode".into(), json!("Creating"));
        }
        Phase::Creating | Phase::Settled => {
            m.insert("LastUpdateStatus".into(), json!("Successful"));
        }
    }
    m.insert("PackageType".into(), json!("Zip"));
    m.insert("Architectures".into(), json!(c.architectures));
    m.insert("EphemeralStorage".into(), json!({ "Size": c.ephemeral_storage }));
    m.insert("SnapStart".into(), json!({ "ApplyOn": "None", "OptimizationStatus": "Off" }));
    m.insert(
        "RuntimeVersionConfig".into(),
        json!({ "RuntimeVersionArn": runtime_version_arn(scope, &c.runtime) }),
    );
    let mut logging = Map::new();
    logging.insert("LogFormat".into(), json!(c.logging.log_format));
    if let Some(level) = &c.logging.application_log_level {
        logging.insert("ApplicationLogLevel".into(), json!(level));
    }
    if let Some(level) = &c.logging.system_log_level {
        logging.insert("SystemLogLevel".into(), json!(level));
    }
    logging.insert("LogGroup".into(), json!(c.logging.log_group));
    m.insert("LoggingConfig".into(), Value::Object(logging));
    Value::Object(m)
}

/// Lambda names the runtime build a function runs on; Nimbus has one build per runtime.
fn runtime_version_arn(scope: &Scope, runtime: &str) -> String {
    format!("arn:aws:lambda:{}::runtime:nimbus-{runtime}", scope.region)
}

pub fn alias(scope: &Scope, function: &str, a: &AliasRecord) -> Value {
    let mut m = Map::new();
    m.insert("AliasArn".into(), json!(qualified_arn(scope, function, &a.name)));
    m.insert("Name".into(), json!(a.name));
    m.insert("FunctionVersion".into(), json!(a.function_version));
    m.insert("Description".into(), json!(a.description));
    if !a.routing.is_empty() {
        m.insert("RoutingConfig".into(), json!({ "AdditionalVersionWeights": a.routing }));
    }
    m.insert("RevisionId".into(), json!(a.revision_id));
    Value::Object(m)
}

pub fn event_invoke_config(scope: &Scope, function: &str, qualifier: &str, c: &EventInvokeConfig) -> Value {
    let mut m = Map::new();
    m.insert("LastModified".into(), json!(c.last_modified));
    m.insert("FunctionArn".into(), json!(qualified_arn(scope, function, qualifier)));
    if let Some(n) = c.maximum_retry_attempts {
        m.insert("MaximumRetryAttempts".into(), json!(n));
    }
    if let Some(n) = c.maximum_event_age_seconds {
        m.insert("MaximumEventAgeInSeconds".into(), json!(n));
    }
    let dest = |d: &Option<String>| match d {
        Some(arn) => json!({ "Destination": arn }),
        None => json!({}),
    };
    m.insert(
        "DestinationConfig".into(),
        json!({ "OnSuccess": dest(&c.on_success), "OnFailure": dest(&c.on_failure) }),
    );
    Value::Object(m)
}
