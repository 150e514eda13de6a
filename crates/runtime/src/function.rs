//! What the caller tells us about a function version and one invocation of it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use types::{AccountId, Region, Scope};

/// The runtimes Nimbus runs. A closed set: the control plane rejects any other identifier with
/// `InvalidParameterValueException` before it gets here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    Python39,
    Python310,
    Python311,
    Python312,
    Python313,
    Nodejs18,
    Nodejs20,
    Nodejs22,
    ProvidedAl2,
    ProvidedAl2023,
}

/// How a runtime is started: the language decides the bootstrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeFamily {
    Python,
    Node,
    /// `provided.*`: the package's own `bootstrap` executable.
    Provided,
}

impl Runtime {
    pub const ALL: [Runtime; 10] = [
        Runtime::Python39,
        Runtime::Python310,
        Runtime::Python311,
        Runtime::Python312,
        Runtime::Python313,
        Runtime::Nodejs18,
        Runtime::Nodejs20,
        Runtime::Nodejs22,
        Runtime::ProvidedAl2,
        Runtime::ProvidedAl2023,
    ];

    /// The identifier AWS uses (`python3.12`, `nodejs20.x`, `provided.al2023`).
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Python39 => "python3.9",
            Runtime::Python310 => "python3.10",
            Runtime::Python311 => "python3.11",
            Runtime::Python312 => "python3.12",
            Runtime::Python313 => "python3.13",
            Runtime::Nodejs18 => "nodejs18.x",
            Runtime::Nodejs20 => "nodejs20.x",
            Runtime::Nodejs22 => "nodejs22.x",
            Runtime::ProvidedAl2 => "provided.al2",
            Runtime::ProvidedAl2023 => "provided.al2023",
        }
    }

    pub fn family(self) -> RuntimeFamily {
        match self {
            Runtime::Python39
            | Runtime::Python310
            | Runtime::Python311
            | Runtime::Python312
            | Runtime::Python313 => RuntimeFamily::Python,
            Runtime::Nodejs18 | Runtime::Nodejs20 | Runtime::Nodejs22 => RuntimeFamily::Node,
            Runtime::ProvidedAl2 | Runtime::ProvidedAl2023 => RuntimeFamily::Provided,
        }
    }

    /// `(3, 12)` for `python3.12`, `(18, 0)` for `nodejs18.x`; `None` for `provided.*`.
    pub fn language_version(self) -> Option<(u32, u32)> {
        match self {
            Runtime::Python39 => Some((3, 9)),
            Runtime::Python310 => Some((3, 10)),
            Runtime::Python311 => Some((3, 11)),
            Runtime::Python312 => Some((3, 12)),
            Runtime::Python313 => Some((3, 13)),
            Runtime::Nodejs18 => Some((18, 0)),
            Runtime::Nodejs20 => Some((20, 0)),
            Runtime::Nodejs22 => Some((22, 0)),
            Runtime::ProvidedAl2 | Runtime::ProvidedAl2023 => None,
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A runtime identifier that is not one of [`Runtime::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown runtime {0:?}")]
pub struct UnknownRuntime(pub String);

impl FromStr for Runtime {
    type Err = UnknownRuntime;

    fn from_str(s: &str) -> Result<Runtime, UnknownRuntime> {
        Runtime::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| UnknownRuntime(s.to_owned()))
    }
}

/// The role credentials a function sees in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` /
/// `AWS_SESSION_TOKEN`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Default for Credentials {
    /// Placeholders until STS issues role sessions for functions: Nimbus accepts any
    /// credentials by default, so SDK calls from a function work with these.
    fn default() -> Self {
        Credentials {
            access_key_id: "ASIANIMBUSFUNCTION00".to_owned(),
            secret_access_key: "nimbus-function-secret-access-key".to_owned(),
            session_token: Some("nimbus-function-session-token".to_owned()),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// Everything needed to start an execution environment for one function version. Environments
/// are pooled by [`FunctionConfig::qualified_arn`]; a config that differs from the one a pool was
/// started with replaces that pool's environments (so a stale environment is never reused even if
/// the caller forgets to [`evict`](crate::RuntimeManager::evict)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionConfig {
    pub account: AccountId,
    pub region: Region,
    pub function_name: String,
    /// `$LATEST` or a published version number.
    pub version: String,
    /// The version's ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME:VERSION`): the pool key.
    /// An alias invoke passes the alias ARN in [`Invocation::invoked_function_arn`] instead.
    pub qualified_arn: String,
    pub runtime: Runtime,
    /// `module.function` (Python), `file.export` (Node); passed to `provided` bootstraps as
    /// `_HANDLER` and otherwise unused.
    pub handler: String,
    /// The unpacked deployment package. Each environment gets its own hard-linked (or copied)
    /// tree of it as `LAMBDA_TASK_ROOT`; the directory itself is never written to.
    pub code_dir: PathBuf,
    /// Unpacked layers in order; merged (later ones win) into each environment's `/opt`.
    pub layers: Vec<PathBuf>,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// The function's own variables. Reserved names ([`RESERVED_ENV_VARS`]) are ignored here;
    /// the control plane rejects them at CreateFunction as AWS does.
    pub environment: BTreeMap<String, String>,
    pub ephemeral_storage_mb: u32,
    /// `/aws/lambda/NAME` unless the function configures another group.
    pub log_group: String,
    pub credentials: Credentials,
}

impl FunctionConfig {
    /// A `$LATEST` config with AWS's defaults: 128 MB, 3 s, 512 MB of `/tmp`,
    /// log group `/aws/lambda/NAME`.
    pub fn new(
        account: AccountId,
        region: Region,
        function_name: &str,
        runtime: Runtime,
        handler: &str,
        code_dir: impl Into<PathBuf>,
    ) -> FunctionConfig {
        let qualified_arn = format!("arn:aws:lambda:{region}:{account}:function:{function_name}:$LATEST");
        FunctionConfig {
            account,
            region,
            function_name: function_name.to_owned(),
            version: "$LATEST".to_owned(),
            qualified_arn,
            runtime,
            handler: handler.to_owned(),
            code_dir: code_dir.into(),
            layers: Vec::new(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            environment: BTreeMap::new(),
            ephemeral_storage_mb: 512,
            log_group: format!("/aws/lambda/{function_name}"),
            credentials: Credentials::default(),
        }
    }

    /// The tenant the function belongs to.
    pub fn scope(&self) -> Scope {
        Scope { account: self.account.clone(), region: self.region.clone() }
    }

    /// The unqualified function ARN (`…:function:NAME`).
    pub fn function_arn(&self) -> String {
        format!("arn:aws:lambda:{}:{}:function:{}", self.region, self.account, self.function_name)
    }
}

/// Variables a function may not set because Lambda sets them (AWS's reserved list). The control
/// plane rejects them at CreateFunction/UpdateFunctionConfiguration; the runtime ignores them.
pub const RESERVED_ENV_VARS: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// One invocation as the Invoke API received it.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The request id the caller returned in `x-amzn-RequestId`; the function sees it as
    /// `Lambda-Runtime-Aws-Request-Id`. Async retries keep the same id.
    pub request_id: String,
    pub payload: Bytes,
    /// The ARN the caller invoked (an alias ARN, say); defaults to the config's qualified ARN.
    pub invoked_function_arn: Option<String>,
    /// The client context as JSON text (already base64-decoded from `X-Amz-Client-Context`).
    pub client_context: Option<String>,
    /// The Cognito identity as JSON text.
    pub cognito_identity: Option<String>,
    /// `Root=1-…;Parent=…;Sampled=…`; one is generated when absent, as X-Ray does.
    pub trace_id: Option<String>,
    /// Keep this invocation's log lines in [`InvokeOutcome::logs`](crate::InvokeOutcome) (for
    /// `X-Amz-Log-Type: Tail`). They always go to the [`LogSink`](crate::LogSink).
    pub tail_logs: bool,
}

impl Invocation {
    pub fn new(request_id: impl Into<String>, payload: impl Into<Bytes>) -> Invocation {
        Invocation {
            request_id: request_id.into(),
            payload: payload.into(),
            invoked_function_arn: None,
            client_context: None,
            cognito_identity: None,
            trace_id: None,
            tail_logs: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_ids_round_trip() {
        for r in Runtime::ALL {
            assert_eq!(r.as_str().parse::<Runtime>(), Ok(r));
        }
        assert!("python2.7".parse::<Runtime>().is_err());
        assert_eq!(Runtime::Nodejs20.family(), RuntimeFamily::Node);
    }

    #[test]
    fn default_config_names() {
        let c = FunctionConfig::new(
            AccountId::default(),
            Region::default(),
            "f",
            Runtime::Python312,
            "app.handler",
            "/code",
        );
        assert_eq!(c.qualified_arn, "arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST");
        assert_eq!(c.function_arn(), "arn:aws:lambda:us-east-1:000000000000:function:f");
        assert_eq!(c.log_group, "/aws/lambda/f");
    }
}
