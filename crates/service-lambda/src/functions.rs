//! The function control plane: create, read, list, update and delete functions; publish and
//! list versions; aliases; reserved concurrency. Configuration is validated here, in Lambda's
//! words, before anything is stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use protocol::{RequestContext, Response, rest::json_response};
use serde_json::{Value, json};
use types::Scope;

use crate::code::{self, Package};
use crate::error::Error;
use crate::model::{
    AliasRecord, CodeRef, FunctionRecord, LoggingConfig, SCHEMA_VERSION, VersionConfig, function_key,
};
use crate::names::{FunctionRef, function_not_found, qualified_arn};
use crate::operation::{
    AliasInput, ConcurrencyInput, ConfigInput, CreateFunctionInput, FunctionCode, Page, PublishInput, Target,
    UpdateCodeInput, missing,
};
use crate::render::{self, Phase};
use crate::s3code::CodeSource;
use crate::{Inner, lock};

/// What a handler works with.
pub(crate) struct Env<'a> {
    pub svc: &'a Inner,
    pub ctx: &'a RequestContext,
    pub scope: &'a Scope,
}

/// Runtimes Lambda has retired: creating or updating a function with one is refused.
const DEPRECATED_RUNTIMES: &[(&str, &str)] = &[
    ("nodejs", "nodejs22.x"),
    ("nodejs4.3", "nodejs22.x"),
    ("nodejs4.3-edge", "nodejs22.x"),
    ("nodejs6.10", "nodejs22.x"),
    ("nodejs8.10", "nodejs22.x"),
    ("nodejs10.x", "nodejs22.x"),
    ("nodejs12.x", "nodejs22.x"),
    ("nodejs14.x", "nodejs22.x"),
    ("nodejs16.x", "nodejs22.x"),
    ("python2.7", "python3.13"),
    ("python3.6", "python3.13"),
    ("python3.7", "python3.13"),
    ("python3.8", "python3.13"),
    ("dotnetcore1.0", "dotnet8"),
    ("dotnetcore2.0", "dotnet8"),
    ("dotnetcore2.1", "dotnet8"),
    ("dotnetcore3.1", "dotnet8"),
    ("dotnet6", "dotnet8"),
    ("go1.x", "provided.al2023"),
    ("ruby2.5", "ruby3.3"),
    ("ruby2.7", "ruby3.3"),
    ("java8", "java21"),
    ("provided", "provided.al2023"),
];

/// Runtimes of the Lambda model Nimbus cannot run yet (no bootstrap for the language).
const UNSUPPORTED_RUNTIMES: &[&str] = &[
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
    "nodejs24.x",
    "python3.14",
];

const RUNTIME_ENUM: &str = "[nodejs, nodejs4.3, nodejs6.10, nodejs8.10, nodejs10.x, nodejs12.x, nodejs14.x, nodejs16.x, java8, java8.al2, java11, python2.7, python3.6, python3.7, python3.8, python3.9, dotnetcore1.0, dotnetcore2.0, dotnetcore2.1, dotnetcore3.1, dotnet6, dotnet8, nodejs4.3-edge, go1.x, ruby2.5, ruby2.7, provided, provided.al2, nodejs18.x, python3.10, java17, ruby3.2, ruby3.3, ruby3.4, python3.11, nodejs20.x, provided.al2023, python3.12, java21, python3.13, nodejs22.x, nodejs24.x, python3.14, java25, dotnet10, ruby4.0]";

const ROLE_PATTERN: &str = "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+";

/// Lambda's limit on the environment variables of one function, as JSON.
const MAX_ENVIRONMENT_BYTES: usize = 4096;

/// Functions a ListFunctions page holds by default (and at most).
const DEFAULT_PAGE: usize = 50;

fn check_runtime(runtime: &str) -> Result<(), Error> {
    if runtime.parse::<runtime::Runtime>().is_ok() {
        return Ok(());
    }
    if let Some((_, newer)) = DEPRECATED_RUNTIMES.iter().find(|(r, _)| *r == runtime) {
        return Err(Error::invalid(format!(
            "The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime ({newer}) while creating or updating functions."
        )));
    }
    if UNSUPPORTED_RUNTIMES.contains(&runtime) {
        return Err(Error::NotImplemented(format!("The {runtime} runtime")));
    }
    Err(Error::validation(
        "runtime",
        runtime,
        &format!("Member must satisfy enum value set: {RUNTIME_ENUM} or be a valid ARN"),
    ))
}

fn check_role(role: &str) -> Result<(), Error> {
    // `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`, checked on bytes so no input can split a
    // multi-byte character.
    let ok =
        role.strip_prefix("arn:").and_then(|r| r.split_once(":iam::")).is_some_and(|(partition, rest)| {
            let (account, name) = rest.as_bytes().split_at_checked(12).unwrap_or((b"", b""));
            let name = name.strip_prefix(b":role").unwrap_or(b"");
            let name = name.iter().position(|b| *b != b'/').map_or(&b""[..], |start| &name[start..]);
            (partition.is_empty() || partition.starts_with("aws"))
                && account.len() == 12
                && account.iter().all(u8::is_ascii_digit)
                && rest.as_bytes().get(12..17) == Some(b":role")
                && !name.is_empty()
                && name.iter().all(|b| b.is_ascii_alphanumeric() || b"+=,.@-_/".contains(b))
        });
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "role",
            role,
            &format!("Member must satisfy regular expression pattern: {ROLE_PATTERN}"),
        ))
    }
}

fn check_environment(vars: &BTreeMap<String, String>) -> Result<(), Error> {
    let reserved: Vec<&str> =
        vars.keys().map(String::as_str).filter(|k| runtime::RESERVED_ENV_VARS.contains(k)).collect();
    if !reserved.is_empty() {
        return Err(Error::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
            reserved.join(", ")
        )));
    }
    for key in vars.keys() {
        let mut chars = key.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && key.len() >= 2
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::validation(
                "environment.variables",
                "[sensitive]",
                "Member must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]",
            ));
        }
    }
    let measured = serde_json::to_string(vars).unwrap_or_default();
    if measured.len() > MAX_ENVIRONMENT_BYTES {
        return Err(Error::invalid(format!(
            "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )));
    }
    Ok(())
}

fn in_range(member: &str, value: i64, min: i64, max: i64) -> Result<u32, Error> {
    if value < min {
        return Err(Error::validation(
            member,
            &value.to_string(),
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(Error::validation(
            member,
            &value.to_string(),
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    u32::try_from(value)
        .map_err(|_| Error::validation(member, &value.to_string(), "Member must be a 32-bit integer"))
}

/// Applies the configuration members of a CreateFunction/UpdateFunctionConfiguration request
/// to `c`, validating each as Lambda does.
fn apply_config(c: &mut VersionConfig, input: ConfigInput) -> Result<(), Error> {
    if let Some(runtime) = input.runtime {
        check_runtime(&runtime)?;
        c.runtime = runtime;
    }
    if let Some(role) = input.role {
        check_role(&role)?;
        c.role = role;
    }
    if let Some(handler) = input.handler {
        if handler.len() > 128 {
            return Err(Error::validation(
                "handler",
                &handler,
                "Member must have length less than or equal to 128",
            ));
        }
        if handler.is_empty() || handler.chars().any(char::is_whitespace) {
            return Err(Error::validation(
                "handler",
                &handler,
                "Member must satisfy regular expression pattern: [^\\s]+",
            ));
        }
        c.handler = handler;
    }
    if let Some(d) = input.description {
        if d.chars().count() > 256 {
            return Err(Error::validation(
                "description",
                &d,
                "Member must have length less than or equal to 256",
            ));
        }
        c.description = d;
    }
    if let Some(t) = input.timeout {
        c.timeout = in_range("timeout", t, 1, 900)?;
    }
    if let Some(m) = input.memory_size {
        c.memory_size = in_range("memorySize", m, 128, 10_240)?;
    }
    if let Some(env) = input.environment {
        let vars = env.variables.unwrap_or_default();
        check_environment(&vars)?;
        c.environment = Some(vars);
    }
    if let Some(storage) = input.ephemeral_storage {
        let size = storage.size.ok_or_else(|| missing("ephemeralStorage.size"))?;
        c.ephemeral_storage = in_range("ephemeralStorage.size", i64::from(size), 512, 10_240)?;
    }
    if let Some(tracing) = input.tracing_config {
        match tracing.mode.as_deref() {
            None => {}
            Some(m @ ("Active" | "PassThrough")) => c.tracing_mode = m.to_owned(),
            Some(other) => {
                return Err(Error::validation(
                    "tracingConfig.mode",
                    other,
                    "Member must satisfy enum value set: [Active, PassThrough]",
                ));
            }
        }
    }
    if let Some(dlq) = input.dead_letter_config {
        c.dead_letter_target = dlq.target_arn.filter(|t| !t.is_empty());
        if let Some(target) = &c.dead_letter_target {
            if !target.starts_with("arn:") {
                return Err(Error::invalid("Invalid dead letter ARN: ARNs must start with 'arn:'"));
            }
            if !matches!(target.split(':').nth(2), Some("sqs" | "sns")) {
                // Wording not verified against AWS; the constraint (SQS or SNS) is documented.
                return Err(Error::invalid(format!(
                    "Invalid dead letter ARN: {target} is not an Amazon SQS queue or Amazon SNS topic"
                )));
            }
        }
    }
    if let Some(kms) = input.kms_key_arn {
        c.kms_key_arn = Some(kms).filter(|k| !k.is_empty());
    }
    if let Some(logging) = input.logging_config {
        apply_logging(&mut c.logging, logging)?;
    }
    let has_items = |v: &Option<Value>, member: &str| {
        v.as_ref().and_then(|v| v.get(member)).and_then(Value::as_array).is_some_and(|a| !a.is_empty())
    };
    if has_items(&input.vpc_config, "SubnetIds") {
        return Err(Error::NotImplemented("VPC configuration (VpcConfig)".to_owned()));
    }
    if input.file_system_configs.as_ref().and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
        return Err(Error::NotImplemented("EFS file systems (FileSystemConfigs)".to_owned()));
    }
    if input.image_config.is_some() {
        return Err(Error::NotImplemented("Container image functions (ImageConfig)".to_owned()));
    }
    Ok(())
}

fn apply_logging(l: &mut LoggingConfig, input: crate::operation::LoggingInput) -> Result<(), Error> {
    if let Some(format) = input.log_format {
        if format != "JSON" && format != "Text" {
            return Err(Error::validation(
                "loggingConfig.logFormat",
                &format,
                "Member must satisfy enum value set: [JSON, Text]",
            ));
        }
        l.log_format = format;
    }
    if let Some(level) = input.application_log_level {
        l.application_log_level = Some(level);
    }
    if let Some(level) = input.system_log_level {
        l.system_log_level = Some(level);
    }
    if let Some(group) = input.log_group {
        l.log_group = group;
    }
    if l.log_format == "Text" && (l.application_log_level.is_some() || l.system_log_level.is_some()) {
        return Err(Error::invalid(
            "Log levels can only be set when the log format is JSON. Change the log format to JSON and try again.",
        ));
    }
    Ok(())
}

fn architectures(input: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    match input {
        None => Ok(vec!["x86_64".to_owned()]),
        Some(list) => {
            if list.len() != 1 {
                return Err(Error::validation(
                    "architectures",
                    &format!("[{}]", list.join(", ")),
                    "Member must have length less than or equal to 1",
                ));
            }
            if list[0] != "x86_64" && list[0] != "arm64" {
                return Err(Error::validation(
                    "architectures",
                    &format!("[{}]", list[0]),
                    "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
                ));
            }
            Ok(list)
        }
    }
}

/// Where the package of a code input comes from; container images are not served.
fn code_source(code: &FunctionCode) -> Result<CodeSource<'_>, Error> {
    if code.image_uri.is_some() {
        return Err(Error::NotImplemented("Container image functions (ImageUri)".to_owned()));
    }
    Ok(CodeSource {
        zip_file: code.zip_file.as_deref(),
        s3_bucket: code.s3_bucket.as_deref(),
        s3_key: code.s3_key.as_deref(),
        s3_object_version: code.s3_object_version.as_deref(),
    })
}

const NO_CODE_SOURCE: &str = "Please provide a source for function code.";

fn revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `2024-05-01T12:00:03.013+0000`, Lambda's `LastModified`.
pub(crate) fn last_modified(ms: i64) -> String {
    types::timefmt::iso_millis(ms, "+0000")
}

fn check_revision(given: Option<&str>, current: &str) -> Result<(), Error> {
    match given {
        Some(r) if r != current => Err(Error::PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// The part of a version that decides whether publishing makes a new one.
fn same_content(a: &VersionConfig, b: &VersionConfig) -> bool {
    let strip = |c: &VersionConfig| {
        let mut c = c.clone();
        c.version.clear();
        c.description.clear();
        c.last_modified.clear();
        c.revision_id.clear();
        c
    };
    strip(a) == strip(b)
}

fn tags_check(tags: &BTreeMap<String, String>) -> Result<(), Error> {
    if tags.len() > 50 {
        return Err(Error::invalid("Number of tags exceeds resource tag limit."));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 || k.starts_with("aws:") {
            return Err(Error::invalid(format!("The tag {k} is not valid.")));
        }
    }
    Ok(())
}

pub(crate) fn created(body: &Value, ctx: &RequestContext) -> Response {
    json_response(StatusCode::CREATED, body, ctx.request_id.as_str())
}

pub(crate) fn ok(body: &Value, ctx: &RequestContext) -> Response {
    json_response(StatusCode::OK, body, ctx.request_id.as_str())
}

pub(crate) fn no_content(ctx: &RequestContext) -> Response {
    let mut resp = json_response(StatusCode::NO_CONTENT, &Value::Null, ctx.request_id.as_str());
    *resp.body_mut() = Bytes::new();
    resp
}

/// Serves a deployment package by its hash: the `Code.Location` of GetFunction. The SHA-256
/// of the package is the capability, as a presigned S3 URL is on Lambda.
pub(crate) fn code_download(svc: &Inner, ctx: &RequestContext, path: &str) -> Option<Response> {
    let hex_digest = path.strip_prefix("/2015-03-31/nimbus-code/")?.strip_suffix(".zip")?;
    if hex_digest.len() != 64 || !hex_digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = svc.code.read(&CodeRef { sha256_hex: hex_digest.to_owned(), size: 0 }).ok()??;
    let mut resp = ok(&Value::Null, ctx);
    *resp.body_mut() = Bytes::from(bytes);
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/zip"));
    Some(resp)
}

impl Env<'_> {
    fn key(&self, name: &str) -> String {
        String::from_utf8_lossy(&function_key(self.scope, name)).into_owned()
    }

    pub(crate) fn function(&self, name: &str) -> Result<Arc<FunctionRecord>, Error> {
        self.svc.load(self.scope, name)?.ok_or_else(|| function_not_found(self.scope, name, None))
    }

    /// The version a qualifier names (an alias resolves to its primary version).
    fn resolve<'r>(
        &self,
        f: &'r FunctionRecord,
        qualifier: Option<&str>,
    ) -> Result<&'r VersionConfig, Error> {
        let q = qualifier.unwrap_or("$LATEST");
        let version = match f.aliases.get(q) {
            Some(alias) => alias.function_version.as_str(),
            None => q,
        };
        f.version(version).ok_or_else(|| function_not_found(self.scope, &f.name, Some(q)))
    }

    /// Read-modify-write of one function under the write lock; `change` returns the answer.
    pub(crate) fn modify<T>(
        &self,
        name: &str,
        change: impl FnOnce(&mut FunctionRecord) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _guard = lock(&self.svc.writes);
        let current = self.function(name)?;
        let mut record = (*current).clone();
        let out = change(&mut record)?;
        self.svc.save(self.scope, record)?;
        Ok(out)
    }

    /// Checks and stores a package, and unpacks it so the first invoke does not pay for that.
    fn take_package(&self, bytes: &[u8]) -> Result<CodeRef, Error> {
        let package: Package<'_> = code::inspect(bytes)?;
        self.svc.code.store(&package)?;
        self.svc.code.unpacked(&package.code)?;
        Ok(package.code)
    }

    pub fn create_function(&self, input: CreateFunctionInput) -> Result<Response, Error> {
        let raw_name = input.function_name.ok_or_else(|| missing("functionName"))?;
        let fref = FunctionRef::parse(&raw_name, 140)?;
        if fref.qualifier.is_some() {
            return Err(Error::invalid("Function name cannot contain a qualifier."));
        }
        let name = fref.name;
        if input.config.role.is_none() {
            return Err(missing("role"));
        }
        let code_input = input.code.ok_or_else(|| missing("code"))?;
        if input.package_type.as_deref() == Some("Image") {
            return Err(Error::NotImplemented("Container image functions (PackageType Image)".to_owned()));
        }
        if input.config.runtime.is_none() || input.config.handler.is_none() {
            return Err(Error::invalid(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
            ));
        }
        let tags = input.tags.unwrap_or_default();
        tags_check(&tags)?;
        let now = self.svc.now_ms();
        let mut latest = VersionConfig {
            version: "$LATEST".to_owned(),
            description: String::new(),
            runtime: String::new(),
            role: String::new(),
            handler: String::new(),
            code: CodeRef { sha256_hex: String::new(), size: 0 },
            timeout: 3,
            memory_size: 128,
            environment: None,
            ephemeral_storage: 512,
            architectures: architectures(input.architectures)?,
            layers: Vec::new(),
            logging: LoggingConfig {
                log_format: "Text".to_owned(),
                application_log_level: None,
                system_log_level: None,
                log_group: format!("/aws/lambda/{name}"),
            },
            tracing_mode: "PassThrough".to_owned(),
            dead_letter_target: None,
            kms_key_arn: None,
            last_modified: last_modified(now),
            revision_id: revision(),
        };
        let mut config = input.config;
        let layers = config.layers.take().map(|arns| self.resolve_layers(&arns)).transpose()?;
        apply_config(&mut latest, config)?;
        latest.layers = layers.unwrap_or_default();
        let zip = self.svc.package_bytes(self.scope, &code_source(&code_input)?, "code.", NO_CODE_SOURCE)?;
        latest.code = self.take_package(&zip)?;

        let _guard = lock(&self.svc.writes);
        if self.svc.load(self.scope, &name)?.is_some() {
            return Err(Error::ResourceConflictException(format!("Function already exist: {name}")));
        }
        let mut record = FunctionRecord {
            v: SCHEMA_VERSION,
            name: name.clone(),
            latest,
            versions: Vec::new(),
            last_version: 0,
            aliases: BTreeMap::new(),
            reserved_concurrency: None,
            event_invoke_configs: BTreeMap::new(),
            policies: BTreeMap::new(),
            tags,
            provisioned: BTreeMap::new(),
            urls: BTreeMap::new(),
        };
        let shown =
            if input.publish == Some(true) { publish(&mut record, None, now) } else { record.latest.clone() };
        self.svc.save(self.scope, record)?;
        Ok(created(&render::function_configuration(self.scope, &name, &shown, Phase::Creating), self.ctx))
    }

    pub fn get_function(&self, t: &Target) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let c = self.resolve(&f, t.qualifier.as_deref())?;
        let location =
            format!("{}/2015-03-31/nimbus-code/{}.zip", self.svc.config.endpoint_url, c.code.sha256_hex);
        let mut body = json!({
            "Configuration": render::function_configuration(self.scope, &f.name, c, Phase::Settled),
            "Code": { "RepositoryType": "S3", "Location": location },
        });
        if !f.tags.is_empty() {
            body["Tags"] = json!(f.tags);
        }
        if let Some(n) = f.reserved_concurrency {
            body["Concurrency"] = json!({ "ReservedConcurrentExecutions": n });
        }
        Ok(ok(&body, self.ctx))
    }

    pub fn get_function_configuration(&self, t: &Target) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let c = self.resolve(&f, t.qualifier.as_deref())?;
        Ok(ok(&render::function_configuration(self.scope, &f.name, c, Phase::Settled), self.ctx))
    }

    pub fn list_functions(&self, page: &Page) -> Result<Response, Error> {
        let prefix = crate::model::scope_prefix(self.scope);
        let start = match &page.marker {
            Some(m) => {
                let mut k = prefix.clone();
                k.extend_from_slice(m.as_bytes());
                std::ops::Bound::Excluded(k)
            }
            None => std::ops::Bound::Included(prefix.clone()),
        };
        let max = page.max_items.unwrap_or(DEFAULT_PAGE).min(DEFAULT_PAGE);
        let end = storage::KeyRange::prefix(prefix.clone()).bounds().1.map(<[u8]>::to_vec);
        let entries =
            self.svc.kv.scan(crate::model::FUNCTIONS, storage::KeyRange::new(start, end), max + 1)?;
        let more = entries.len() > max;
        let mut functions = Vec::new();
        let mut last = None;
        for e in entries.iter().take(max) {
            let f: FunctionRecord = crate::model::decode(&e.1)?;
            functions.push(render::function_configuration(self.scope, &f.name, &f.latest, Phase::Settled));
            if page.all_versions {
                for v in &f.versions {
                    functions.push(render::function_configuration(self.scope, &f.name, v, Phase::Settled));
                }
            }
            last = Some(f.name);
        }
        let mut body = json!({ "Functions": functions });
        if more && let Some(last) = last {
            body["NextMarker"] = json!(last);
        }
        Ok(ok(&body, self.ctx))
    }

    pub fn delete_function(&self, t: &Target) -> Result<Response, Error> {
        match t.qualifier.as_deref() {
            None => {
                let _guard = lock(&self.svc.writes);
                let f = self.function(&t.name)?;
                self.svc.remove(self.scope, &t.name)?;
                for c in f.urls.values() {
                    lock(&self.svc.urls).remove(&c.url_id);
                }
                self.svc.concurrency.reserve(&self.key(&t.name), None);
                let arn = crate::names::function_arn(self.scope, &t.name);
                self.svc.runtime.evict_function(&arn);
                self.svc.usage.forget(&arn);
            }
            Some("$LATEST") => {
                return Err(Error::invalid(
                    "$LATEST version cannot be deleted without deleting the function.",
                ));
            }
            Some(q) => {
                let q = q.to_owned();
                self.modify(&t.name, |f| {
                    if f.aliases.contains_key(&q) {
                        return Err(Error::invalid(
                            "Deletion of aliases is not supported by DeleteFunction. Use DeleteAlias.",
                        ));
                    }
                    let Some(pos) = f.versions.iter().position(|v| v.version == q) else {
                        return Err(function_not_found(self.scope, &f.name, Some(&q)));
                    };
                    let users: Vec<&str> = f
                        .aliases
                        .values()
                        .filter(|a| a.function_version == q || a.routing.contains_key(&q))
                        .map(|a| a.name.as_str())
                        .collect();
                    if !users.is_empty() {
                        return Err(Error::ResourceConflictException(format!(
                            "Unable to delete version because the following aliases reference it: [{}]",
                            users.join(", ")
                        )));
                    }
                    f.versions.remove(pos);
                    f.event_invoke_configs.remove(&q);
                    f.policies.remove(&q);
                    Ok(())
                })?;
                self.svc.runtime.evict(&qualified_arn(self.scope, &t.name, &q));
            }
        }
        Ok(no_content(self.ctx))
    }

    pub fn update_function_code(&self, t: &Target, input: UpdateCodeInput) -> Result<Response, Error> {
        if t.qualifier.is_some() {
            return Err(Error::invalid("Please do not provide a qualifier when updating the function code."));
        }
        let zip = self.svc.package_bytes(self.scope, &code_source(&input.code)?, "", NO_CODE_SOURCE)?;
        let archs = input.architectures.map(|a| architectures(Some(a))).transpose()?;
        if input.dry_run == Some(true) {
            let package = code::inspect(&zip)?;
            let f = self.function(&t.name)?;
            let mut shown = f.latest.clone();
            shown.code = package.code;
            return Ok(ok(
                &render::function_configuration(self.scope, &f.name, &shown, Phase::Settled),
                self.ctx,
            ));
        }
        let code = self.take_package(&zip)?;
        let now = self.svc.now_ms();
        let shown = self.modify(&t.name, |f| {
            check_revision(input.revision_id.as_deref(), &f.latest.revision_id)?;
            f.latest.code = code;
            if let Some(a) = archs {
                f.latest.architectures = a;
            }
            f.latest.last_modified = last_modified(now);
            f.latest.revision_id = revision();
            Ok(if input.publish == Some(true) { publish(f, None, now) } else { f.latest.clone() })
        })?;
        self.svc.runtime.evict(&qualified_arn(self.scope, &t.name, "$LATEST"));
        Ok(ok(&render::function_configuration(self.scope, &t.name, &shown, Phase::Updating), self.ctx))
    }

    pub fn update_function_configuration(&self, t: &Target, input: ConfigInput) -> Result<Response, Error> {
        if t.qualifier.is_some() {
            return Err(Error::invalid(
                "Please do not provide a qualifier when updating the function configuration.",
            ));
        }
        let now = self.svc.now_ms();
        let shown = self.modify(&t.name, |f| {
            check_revision(input.revision_id.as_deref(), &f.latest.revision_id)?;
            apply_config(&mut f.latest, input)?;
            f.latest.last_modified = last_modified(now);
            f.latest.revision_id = revision();
            Ok(f.latest.clone())
        })?;
        self.svc.runtime.evict(&qualified_arn(self.scope, &t.name, "$LATEST"));
        Ok(ok(&render::function_configuration(self.scope, &t.name, &shown, Phase::Updating), self.ctx))
    }

    pub fn publish_version(&self, t: &Target, input: PublishInput) -> Result<Response, Error> {
        if input.description.as_ref().is_some_and(|d| d.chars().count() > 256) {
            return Err(Error::validation(
                "description",
                "…",
                "Member must have length less than or equal to 256",
            ));
        }
        let now = self.svc.now_ms();
        let shown = self.modify(&t.name, |f| {
            check_revision(input.revision_id.as_deref(), &f.latest.revision_id)?;
            if let Some(sha) = &input.code_sha256 {
                let current = code::sha256_base64(&f.latest.code.sha256_hex);
                if *sha != current {
                    return Err(Error::invalid(format!(
                        "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({current}). Please try again with the current CodeSHA256."
                    )));
                }
            }
            Ok(publish(f, input.description, now))
        })?;
        Ok(created(&render::function_configuration(self.scope, &t.name, &shown, Phase::Settled), self.ctx))
    }

    pub fn list_versions(&self, t: &Target, page: &Page) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let all: Vec<&VersionConfig> = std::iter::once(&f.latest).chain(f.versions.iter()).collect();
        let start = match &page.marker {
            Some(m) => all.iter().position(|v| v.version == *m).map_or(all.len(), |p| p + 1),
            None => 0,
        };
        let max = page.max_items.unwrap_or(DEFAULT_PAGE).min(DEFAULT_PAGE);
        let slice: Vec<&VersionConfig> = all.iter().skip(start).take(max).copied().collect();
        let versions: Vec<Value> = slice
            .iter()
            .map(|v| render::function_configuration(self.scope, &f.name, v, Phase::Settled))
            .collect();
        let mut body = json!({ "Versions": versions });
        if start + slice.len() < all.len()
            && let Some(last) = slice.last()
        {
            body["NextMarker"] = json!(last.version);
        }
        Ok(ok(&body, self.ctx))
    }

    pub fn create_alias(&self, t: &Target, input: AliasInput) -> Result<Response, Error> {
        let name = input.name.clone().ok_or_else(|| missing("name"))?;
        check_alias_name(&name)?;
        let version = input.function_version.clone().ok_or_else(|| missing("functionVersion"))?;
        let alias = self.modify(&t.name, |f| {
            if f.aliases.contains_key(&name) {
                return Err(Error::ResourceConflictException(format!(
                    "Alias already exists: {}",
                    qualified_arn(self.scope, &f.name, &name)
                )));
            }
            let routing = check_routing(
                self.scope,
                f,
                &version,
                input.routing_config.and_then(|r| r.additional_version_weights),
            )?;
            let alias = AliasRecord {
                name: name.clone(),
                function_version: version.clone(),
                description: input.description.unwrap_or_default(),
                routing,
                revision_id: revision(),
            };
            f.aliases.insert(name.clone(), alias.clone());
            Ok(alias)
        })?;
        Ok(created(&render::alias(self.scope, &t.name, &alias), self.ctx))
    }

    fn alias_not_found(&self, function: &str, alias: &str) -> Error {
        Error::not_found(format!("Alias not found: {}", qualified_arn(self.scope, function, alias)))
    }

    pub fn get_alias(&self, t: &Target, name: &str) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let alias = f.aliases.get(name).ok_or_else(|| self.alias_not_found(&f.name, name))?;
        Ok(ok(&render::alias(self.scope, &f.name, alias), self.ctx))
    }

    pub fn update_alias(&self, t: &Target, name: &str, input: AliasInput) -> Result<Response, Error> {
        let alias = self.modify(&t.name, |f| {
            let current = f.aliases.get(name).cloned().ok_or_else(|| self.alias_not_found(&f.name, name))?;
            check_revision(input.revision_id.as_deref(), &current.revision_id)?;
            let version = input.function_version.clone().unwrap_or(current.function_version.clone());
            let routing = match input.routing_config {
                Some(r) => check_routing(self.scope, f, &version, r.additional_version_weights)?,
                None => current.routing.clone(),
            };
            let alias = AliasRecord {
                name: name.to_owned(),
                function_version: version,
                description: input.description.unwrap_or(current.description),
                routing,
                revision_id: revision(),
            };
            f.aliases.insert(name.to_owned(), alias.clone());
            Ok(alias)
        })?;
        Ok(ok(&render::alias(self.scope, &t.name, &alias), self.ctx))
    }

    pub fn delete_alias(&self, t: &Target, name: &str) -> Result<Response, Error> {
        self.modify(&t.name, |f| {
            // Deleting an alias that is not there succeeds, as on Lambda. Its URL goes with it.
            f.aliases.remove(name);
            f.event_invoke_configs.remove(name);
            f.policies.remove(name);
            f.provisioned.remove(name);
            Ok(f.urls.remove(name))
        })?
        .map(|url| lock(&self.svc.urls).remove(&url.url_id));
        Ok(no_content(self.ctx))
    }

    pub fn list_aliases(&self, t: &Target, version: Option<&str>, page: &Page) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let all: Vec<&AliasRecord> =
            f.aliases.values().filter(|a| version.is_none_or(|v| a.function_version == v)).collect();
        let start = match &page.marker {
            Some(m) => all.iter().position(|a| a.name == *m).map_or(all.len(), |p| p + 1),
            None => 0,
        };
        let max = page.max_items.unwrap_or(DEFAULT_PAGE).min(DEFAULT_PAGE);
        let slice: Vec<&AliasRecord> = all.iter().skip(start).take(max).copied().collect();
        let aliases: Vec<Value> = slice.iter().map(|a| render::alias(self.scope, &f.name, a)).collect();
        let mut body = json!({ "Aliases": aliases });
        if start + slice.len() < all.len()
            && let Some(last) = slice.last()
        {
            body["NextMarker"] = json!(last.name);
        }
        Ok(ok(&body, self.ctx))
    }

    pub fn put_concurrency(&self, t: &Target, input: ConcurrencyInput) -> Result<Response, Error> {
        if t.qualifier.is_some() {
            return Err(Error::invalid("Reserved concurrency can only be set on the unqualified function."));
        }
        let n =
            input.reserved_concurrent_executions.ok_or_else(|| missing("reservedConcurrentExecutions"))?;
        let n = in_range("reservedConcurrentExecutions", n, 0, i64::from(u32::MAX))?;
        let key = self.key(&t.name);
        self.modify(&t.name, |f| {
            if !self.svc.concurrency.can_reserve(&key, n) {
                return Err(Error::invalid(format!(
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{}].",
                    crate::concurrency::MIN_UNRESERVED
                )));
            }
            f.reserved_concurrency = Some(n);
            Ok(())
        })?;
        self.svc.concurrency.reserve(&key, Some(n));
        Ok(ok(&json!({ "ReservedConcurrentExecutions": n }), self.ctx))
    }

    pub fn get_concurrency(&self, t: &Target) -> Result<Response, Error> {
        let f = self.function(&t.name)?;
        let body = match f.reserved_concurrency {
            Some(n) => json!({ "ReservedConcurrentExecutions": n }),
            None => json!({}),
        };
        Ok(ok(&body, self.ctx))
    }

    pub fn delete_concurrency(&self, t: &Target) -> Result<Response, Error> {
        self.modify(&t.name, |f| {
            f.reserved_concurrency = None;
            Ok(())
        })?;
        self.svc.concurrency.reserve(&self.key(&t.name), None);
        Ok(no_content(self.ctx))
    }
}

/// Publishes `$LATEST` as the next version, unless the newest version already has the same
/// code and configuration (then that one is returned, as Lambda does).
fn publish(f: &mut FunctionRecord, description: Option<String>, now: i64) -> VersionConfig {
    if let Some(newest) = f.versions.last()
        && same_content(newest, &f.latest)
    {
        return newest.clone();
    }
    f.last_version += 1;
    let mut v = f.latest.clone();
    v.version = f.last_version.to_string();
    if let Some(d) = description {
        v.description = d;
    }
    v.last_modified = last_modified(now);
    v.revision_id = revision();
    f.versions.push(v.clone());
    v
}

fn check_alias_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            "name",
            name,
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        ))
    }
}

/// Checks an alias's version and its weighted routing against the function's versions.
fn check_routing(
    scope: &Scope,
    f: &FunctionRecord,
    version: &str,
    weights: Option<BTreeMap<String, f64>>,
) -> Result<BTreeMap<String, f64>, Error> {
    if f.version(version).is_none() {
        return Err(function_not_found(scope, &f.name, Some(version)));
    }
    let weights = weights.unwrap_or_default();
    if weights.len() > 1 {
        return Err(Error::invalid("Number of items in AdditionalVersionWeights cannot be greater than 1"));
    }
    for (v, w) in &weights {
        if !(0.0..=1.0).contains(w) {
            return Err(Error::validation(
                "routingConfig.additionalVersionWeights",
                &w.to_string(),
                "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0]",
            ));
        }
        if v == version {
            return Err(Error::invalid(format!(
                "Invalid function version {v}. Function version {v} is already included in routing configuration."
            )));
        }
        if v == "$LATEST" || version == "$LATEST" {
            return Err(Error::invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        if f.version(v).is_none() {
            return Err(function_not_found(scope, &f.name, Some(v)));
        }
    }
    Ok(weights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_are_checked_in_lambdas_words() {
        assert!(check_runtime("python3.12").is_ok());
        match check_runtime("python3.7") {
            Err(Error::InvalidParameterValueException(m)) => {
                assert!(m.starts_with("The runtime parameter of python3.7 is no longer supported"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(check_runtime("java21"), Err(Error::NotImplemented(_))));
        match check_runtime("cobol") {
            Err(Error::ValidationException(m)) => {
                assert!(m.starts_with("1 validation error detected: Value 'cobol' at 'runtime'"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn roles_must_be_role_arns() {
        assert!(check_role("arn:aws:iam::123456789012:role/lambda-role").is_ok());
        assert!(check_role("arn:aws:iam::123456789012:role/service-role/x").is_ok());
        for bad in [
            "role",
            "arn:aws:iam::123:role/x",
            "arn:aws:iam::123456789012:user/x",
            "arn:aws:iam::123456789012:role/",
        ] {
            assert!(matches!(check_role(bad), Err(Error::ValidationException(_))), "{bad}");
        }
    }

    #[test]
    fn reserved_and_oversized_environments_are_refused() {
        let mut vars = BTreeMap::new();
        vars.insert("AWS_REGION".to_owned(), "x".to_owned());
        assert!(
            matches!(check_environment(&vars), Err(Error::InvalidParameterValueException(m)) if m.ends_with("AWS_REGION"))
        );
        let mut big = BTreeMap::new();
        big.insert("BIG".to_owned(), "x".repeat(5000));
        assert!(
            matches!(check_environment(&big), Err(Error::InvalidParameterValueException(m)) if m.contains("4KB"))
        );
        let mut ok_vars = BTreeMap::new();
        ok_vars.insert("TABLE_NAME".to_owned(), "t".to_owned());
        assert!(check_environment(&ok_vars).is_ok());
    }

    #[test]
    fn limits_use_the_models_messages() {
        match in_range("memorySize", 10_241, 128, 10_240) {
            Err(Error::ValidationException(m)) => assert_eq!(
                m,
                "1 validation error detected: Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to 10240"
            ),
            other => panic!("{other:?}"),
        }
        assert!(in_range("timeout", 0, 1, 900).is_err());
        assert_eq!(in_range("timeout", 900, 1, 900).ok(), Some(900));
    }

    #[test]
    fn last_modified_is_lambdas_format() {
        assert_eq!(last_modified(1_700_000_000_123), "2023-11-14T22:13:20.123+0000");
    }
}
