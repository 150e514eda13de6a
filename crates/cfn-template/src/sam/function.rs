//! `AWS::Serverless::Function` → `AWS::Lambda::Function` plus what its properties ask for:
//! the execution role `{F}Role` (managed policies, inline statements, policy templates),
//! `AutoPublishAlias` (`{F}Version{hash}`, `{F}Alias{alias}`), `FunctionUrlConfig` (`{F}Url`),
//! `EventInvokeConfig` (`{F}EventInvokeConfig`) and every event source (see `events.rs`).

use serde_json::{Map, Value, json};

use super::{Attributes, Sam, check_known, get_att, hash10, r#ref, s3_location, tag_list};
use crate::error::{Result, invalid};

/// Properties SAM interprets itself (everything else it knows is passed through).
const INTERPRETED: &[&str] = &[
    "CodeUri",
    "InlineCode",
    "ImageUri",
    "Role",
    "RolePath",
    "PermissionsBoundary",
    "AssumeRolePolicyDocument",
    "Policies",
    "Tags",
    "Tracing",
    "DeadLetterQueue",
    "AutoPublishAlias",
    "AutoPublishCodeSha256",
    "AutoPublishAliasAllProperties",
    "VersionDescription",
    "ProvisionedConcurrencyConfig",
    "FunctionUrlConfig",
    "EventInvokeConfig",
    "Events",
    "DeploymentPreference",
    "PropagateTags",
];

/// Passed through to `AWS::Lambda::Function` unchanged.
const PASS_THROUGH: &[&str] = &[
    "Handler",
    "Runtime",
    "MemorySize",
    "Timeout",
    "Description",
    "Environment",
    "Layers",
    "ReservedConcurrentExecutions",
    "Architectures",
    "FunctionName",
    "KmsKeyArn",
    "VpcConfig",
    "EphemeralStorage",
    "LoggingConfig",
    "FileSystemConfigs",
    "SnapStart",
    "RuntimeManagementConfig",
    "CodeSigningConfigArn",
    "RecursiveLoop",
    "ImageConfig",
    "PackageType",
];

/// How events and configurations point at the function: through its alias when
/// `AutoPublishAlias` is set, as SAM does.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub function_id: String,
    /// `FunctionName` for permissions and mappings (`Ref` of the function or alias).
    pub name: Value,
    /// The ARN for integrations, rules and subscriptions.
    pub arn: Value,
    /// The id `Fn::Sub` strings use for the ARN (`${F.Arn}` or `${FAliaslive}`).
    pub sub_arn: String,
    /// The generated role, when SAM made one (event sources add managed policies to it).
    pub role: Option<String>,
}

pub(crate) fn function(sam: &mut Sam, id: &str, p: &Map<String, Value>, at: &Attributes) -> Result<()> {
    let known: Vec<&str> = PASS_THROUGH.iter().chain(INTERPRETED).copied().collect();
    check_known(p, &known, "AWS::Serverless::Function")?;
    let mut f = Map::new();
    for key in PASS_THROUGH {
        if let Some(v) = p.get(*key) {
            f.insert((*key).to_owned(), v.clone());
        }
    }
    let code = match (p.get("CodeUri"), p.get("InlineCode"), p.get("ImageUri")) {
        (Some(_), Some(_), _) => return Err(invalid("Only one of 'InlineCode' or 'CodeUri' can be set.")),
        (Some(uri), None, _) => s3_location(Some(uri), "CodeUri")?.unwrap_or_default(),
        (None, Some(code), _) => json!({"ZipFile": code}),
        (None, None, Some(image)) => {
            f.insert("PackageType".into(), json!("Image"));
            json!({"ImageUri": image})
        }
        (None, None, None) => return Err(invalid("Either 'InlineCode' or 'CodeUri' must be set.")),
    };
    f.insert("Code".into(), code.clone());
    if let Some(mode) = p.get("Tracing") {
        f.insert("TracingConfig".into(), json!({"Mode": mode}));
    }
    if let Some(dlq) = p.get("DeadLetterQueue") {
        let arn = dlq
            .get("TargetArn")
            .cloned()
            .ok_or_else(|| invalid("'DeadLetterQueue' requires a 'TargetArn'."))?;
        f.insert("DeadLetterConfig".into(), json!({"TargetArn": arn}));
    }
    f.insert("Tags".into(), tag_list(p.get("Tags").unwrap_or(&Value::Null), true));

    let role_id = format!("{id}Role");
    let generated_role = !p.contains_key("Role");
    let role = match p.get("Role") {
        Some(r) => r.clone(),
        None => get_att(&role_id, "Arn"),
    };
    f.insert("Role".into(), role);

    let alias = match p.get("AutoPublishAlias") {
        None => None,
        Some(v) => Some(sam.literal(v).filter(|a| !a.is_empty()).ok_or_else(|| {
            invalid("'AutoPublishAlias' must be a string or a Ref to a template parameter")
        })?),
    };
    let target = match &alias {
        Some(a) => {
            let alias_id = format!("{id}Alias{}", super::alnum(a));
            Target {
                function_id: id.to_owned(),
                name: r#ref(&alias_id),
                arn: r#ref(&alias_id),
                sub_arn: alias_id,
                role: generated_role.then(|| role_id.clone()),
            }
        }
        None => Target {
            function_id: id.to_owned(),
            name: r#ref(id),
            arn: get_att(id, "Arn"),
            sub_arn: format!("{id}.Arn"),
            role: generated_role.then(|| role_id.clone()),
        },
    };

    let mut role = generated_role.then(|| Role::new(sam, id, p)).transpose()?;
    if let (Some(role), Some(dlq)) = (role.as_mut(), p.get("DeadLetterQueue")) {
        let (action, ty) = match dlq.get("Type").and_then(Value::as_str) {
            Some("SNS") => ("sns:Publish", "SNS"),
            Some("SQS") => ("sqs:SendMessage", "SQS"),
            _ => return Err(invalid("'DeadLetterQueue' Type must be SNS or SQS.")),
        };
        let arn = dlq.get("TargetArn").cloned().unwrap_or(Value::Null);
        role.inline_named(
            &format!("{id}RoleDeadLetterQueue{ty}Policy"),
            json!({"Version": "2012-10-17", "Statement": [{"Action": action, "Effect": "Allow", "Resource": arn}]}),
        );
    }

    sam.add(id, at.main_resource("AWS::Lambda::Function", f));

    if let Some(alias) = &alias {
        let mut hashed = json!({"Code": code});
        if let Some(sha) = p.get("AutoPublishCodeSha256") {
            hashed["Sha"] = sha.clone();
        }
        if p.get("AutoPublishAliasAllProperties").and_then(Value::as_bool) == Some(true) {
            hashed["Properties"] = Value::Object(p.clone());
        }
        let version_id = format!("{id}Version{}", hash10(&hashed));
        let mut v = Map::new();
        v.insert("FunctionName".into(), r#ref(id));
        if let Some(d) = p.get("VersionDescription") {
            v.insert("Description".into(), d.clone());
        }
        let mut version = at.resource("AWS::Lambda::Version", v);
        // Old versions stay, as SAM leaves them: aliases and event mappings may still use them.
        version["DeletionPolicy"] = json!("Retain");
        sam.add(&version_id, version);
        let mut a = Map::new();
        a.insert("Name".into(), json!(alias));
        a.insert("FunctionName".into(), r#ref(id));
        a.insert("FunctionVersion".into(), get_att(&version_id, "Version"));
        if let Some(pc) = p.get("ProvisionedConcurrencyConfig") {
            a.insert("ProvisionedConcurrencyConfig".into(), pc.clone());
        }
        let alias_id = target.sub_arn.clone();
        sam.add(&alias_id, at.resource("AWS::Lambda::Alias", a));
        sam.renames.insert(format!("{id}.Alias"), alias_id);
        sam.renames.insert(format!("{id}.Version"), version_id);
    } else if p.contains_key("ProvisionedConcurrencyConfig") {
        return Err(invalid(
            "To set ProvisionedConcurrencyConfig AutoPublishALias must be defined on the function",
        ));
    }

    if let Some(url) = p.get("FunctionUrlConfig") {
        function_url(sam, id, url, &alias, &target, at)?;
    }
    if let Some(config) = p.get("EventInvokeConfig") {
        event_invoke_config(sam, id, config, &alias, role.as_mut(), at)?;
    }
    if let Some(events) = p.get("Events") {
        let Value::Object(events) = events else {
            return Err(invalid("'Events' must be a map of event sources."));
        };
        for (event_id, event) in events {
            super::events::event(sam, &target, event_id, event, role.as_mut(), at)
                .map_err(|e| prefix(e, &format!("Event with id [{event_id}] is invalid. ")))?;
        }
    }
    if let Some(role) = role {
        sam.add(&role_id, at.resource("AWS::IAM::Role", role.into_properties(p)));
    }
    Ok(())
}

fn prefix(e: crate::error::Error, p: &str) -> crate::error::Error {
    match e {
        crate::error::Error::ValidationError(m) => invalid(format!("{p}{m}")),
        other => other,
    }
}

fn function_url(
    sam: &mut Sam,
    id: &str,
    url: &Value,
    alias: &Option<String>,
    target: &Target,
    at: &Attributes,
) -> Result<()> {
    let auth =
        url.get("AuthType").cloned().ok_or_else(|| invalid("'FunctionUrlConfig' requires an 'AuthType'."))?;
    let mut u = Map::new();
    u.insert("AuthType".into(), auth.clone());
    u.insert("TargetFunctionArn".into(), r#ref(id));
    if let Some(a) = alias {
        u.insert("Qualifier".into(), json!(a));
    }
    for key in ["Cors", "InvokeMode"] {
        if let Some(v) = url.get(key) {
            u.insert(key.into(), v.clone());
        }
    }
    sam.add(&format!("{id}Url"), at.resource("AWS::Lambda::Url", u));
    if auth == json!("NONE") {
        let perm = json!({
            "Action": "lambda:InvokeFunctionUrl",
            "FunctionName": target.name,
            "FunctionUrlAuthType": "NONE",
            "Principal": "*",
        });
        sam.add(&format!("{id}UrlPublicPermissions"), at.resource("AWS::Lambda::Permission", as_map(perm)));
    }
    Ok(())
}

fn event_invoke_config(
    sam: &mut Sam,
    id: &str,
    config: &Value,
    alias: &Option<String>,
    mut role: Option<&mut Role>,
    at: &Attributes,
) -> Result<()> {
    let mut c = Map::new();
    c.insert("FunctionName".into(), r#ref(id));
    c.insert("Qualifier".into(), json!(alias.as_deref().unwrap_or("$LATEST")));
    for key in ["MaximumEventAgeInSeconds", "MaximumRetryAttempts"] {
        if let Some(v) = config.get(key) {
            c.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Object(dest)) = config.get("DestinationConfig") {
        let mut out = Map::new();
        for (kind, d) in dest {
            let ty = d.get("Type").and_then(Value::as_str).unwrap_or_default();
            // Without a Destination, SAM creates the queue or topic: `{F}OnSuccessQueue`, ...
            let arn = match (d.get("Destination"), ty) {
                (Some(arn), _) => arn.clone(),
                (None, "SQS") => {
                    let qid = format!("{id}{kind}Queue");
                    sam.add(&qid, at.resource("AWS::SQS::Queue", Map::new()));
                    sam.renames.insert(format!("{id}.DestinationQueue"), qid.clone());
                    get_att(&qid, "Arn")
                }
                (None, "SNS") => {
                    let tid = format!("{id}{kind}Topic");
                    sam.add(&tid, at.resource("AWS::SNS::Topic", Map::new()));
                    sam.renames.insert(format!("{id}.DestinationTopic"), tid.clone());
                    r#ref(&tid)
                }
                _ => return Err(invalid(format!("'{kind}' requires a 'Destination' for Type {ty}"))),
            };
            if let Some(role) = role.as_deref_mut() {
                let action = match ty {
                    "SQS" => "sqs:SendMessage",
                    "SNS" => "sns:publish",
                    "Lambda" => "lambda:InvokeFunction",
                    "EventBridge" => "events:PutEvents",
                    _ => "",
                };
                if !action.is_empty() {
                    role.inline_named(
                        &format!("{id}EventInvokeConfig{kind}{}Policy", alnum_ty(ty)),
                        json!({"Version": "2012-10-17", "Statement": [{"Action": action, "Effect": "Allow", "Resource": arn}]}),
                    );
                }
            }
            out.insert(kind.clone(), json!({"Destination": arn}));
        }
        c.insert("DestinationConfig".into(), Value::Object(out));
    }
    sam.add(&format!("{id}EventInvokeConfig"), at.resource("AWS::Lambda::EventInvokeConfig", c));
    Ok(())
}

fn alnum_ty(ty: &str) -> String {
    super::alnum(ty)
}

pub(crate) fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The generated execution role, filled in as properties and events are read.
pub(crate) struct Role {
    managed: Vec<Value>,
    inline: Vec<Value>,
}

impl Role {
    fn new(sam: &Sam, id: &str, p: &Map<String, Value>) -> Result<Role> {
        let mut role = Role { managed: vec![managed_arn("AWSLambdaBasicExecutionRole")], inline: Vec::new() };
        if p.get("Tracing").and_then(|t| sam.literal(t)).as_deref() == Some("Active") {
            role.add_managed("AWSXrayWriteOnlyAccess");
        }
        let policies = match p.get("Policies") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(other) => vec![other.clone()],
        };
        for (index, policy) in policies.iter().enumerate() {
            match policy {
                Value::String(name) => {
                    role.managed.push(if name.starts_with("arn:") { json!(name) } else { managed_arn(name) })
                }
                Value::Object(o) if o.contains_key("Statement") => {
                    role.inline.push(
                        json!({"PolicyName": format!("{id}RolePolicy{index}"), "PolicyDocument": policy}),
                    );
                }
                Value::Object(o) if crate::resolve::as_intrinsic(policy).is_some() => {
                    let _ = o;
                    role.managed.push(policy.clone());
                }
                Value::Object(o) if o.len() == 1 => {
                    let (name, args) = o.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap_or_default();
                    let statements = super::policies::template(name, args)?;
                    role.inline.push(json!({
                        "PolicyName": format!("{id}RolePolicy{index}"),
                        "PolicyDocument": {"Statement": statements},
                    }));
                }
                _ => {
                    return Err(invalid(
                        "'Policies' must be a managed policy name or ARN, a policy document, or a policy template.",
                    ));
                }
            }
        }
        Ok(role)
    }

    /// Adds an AWS managed policy by name, once.
    pub(crate) fn add_managed(&mut self, name: &str) {
        let arn = managed_arn(name);
        if !self.managed.contains(&arn) {
            self.managed.push(arn);
        }
    }

    pub(crate) fn inline_named(&mut self, name: &str, document: Value) {
        self.inline.push(json!({"PolicyName": name, "PolicyDocument": document}));
    }

    fn into_properties(self, p: &Map<String, Value>) -> Map<String, Value> {
        let mut r = Map::new();
        r.insert(
            "AssumeRolePolicyDocument".into(),
            p.get("AssumeRolePolicyDocument").cloned().unwrap_or_else(|| assume_role("lambda.amazonaws.com")),
        );
        r.insert("ManagedPolicyArns".into(), Value::Array(self.managed));
        if !self.inline.is_empty() {
            r.insert("Policies".into(), Value::Array(self.inline));
        }
        if let Some(b) = p.get("PermissionsBoundary") {
            r.insert("PermissionsBoundary".into(), b.clone());
        }
        if let Some(path) = p.get("RolePath") {
            r.insert("Path".into(), path.clone());
        }
        r.insert("Tags".into(), tag_list(&Value::Null, true));
        r
    }
}

/// The trust policy of a role a service assumes.
pub(crate) fn assume_role(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": [service]}}],
    })
}

/// AWS managed policies live under `service-role/` for a few of the Lambda ones.
fn managed_arn(name: &str) -> Value {
    const SERVICE_ROLE: &[&str] = &[
        "AWSLambdaBasicExecutionRole",
        "AWSLambdaSQSQueueExecutionRole",
        "AWSLambdaDynamoDBExecutionRole",
        "AWSLambdaKinesisExecutionRole",
        "AWSLambdaVPCAccessExecutionRole",
        "AWSLambdaRole",
        "AWSLambdaENIManagementAccess",
        "AWSLambdaMSKExecutionRole",
    ];
    let path = if SERVICE_ROLE.contains(&name) { "service-role/" } else { "" };
    json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:iam::aws:policy/{path}{name}")})
}
