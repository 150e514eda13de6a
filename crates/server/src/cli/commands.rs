//! `nimbus deploy`, `delete`, `stacks`, `invoke` and `logs`.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use http::Method;
use protocol::xml::{xml_text, xml_texts};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::client::{Client, Target, p};
use super::package::Deployment;

/// Capabilities a local deploy acknowledges: the user is deploying their own template to their
/// own machine, as `sam deploy --capabilities` would be told.
const CAPABILITIES: &[&str] = &["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"];

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// The SAM or CloudFormation template (YAML or JSON).
    #[arg(default_value = "template.yaml")]
    pub template: PathBuf,
    /// The stack to create or update (default: the template's folder name).
    #[arg(long)]
    pub stack_name: Option<String>,
    /// Parameter values, `Key=Value`.
    #[arg(long, num_args = 1..)]
    pub parameter_overrides: Vec<String>,
    /// Do not roll back a failed creation (its resources stay for inspection).
    #[arg(long)]
    pub disable_rollback: bool,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    /// The stack to delete.
    pub stack_name: String,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, clap::Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub target: Target,
    /// The window: invocations of the last `30m`, `24h`, `7d`… (default: everything kept).
    #[arg(long)]
    pub since: Option<String>,
    /// The account (default: the one the console shows, `000000000000`).
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct StacksArgs {
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// A function name or ARN, or a logical id of the stack given with --stack-name.
    pub function: String,
    /// The event, as JSON text.
    #[arg(long, short = 'e', default_value = "{}")]
    pub event: String,
    /// Read the event from a file instead.
    #[arg(long)]
    pub event_file: Option<PathBuf>,
    /// Resolve FUNCTION as a logical id of this stack.
    #[arg(long)]
    pub stack_name: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// A function name, or a logical id of the stack given with --stack-name.
    pub function: String,
    /// Keep printing new log lines.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Resolve FUNCTION as a logical id of this stack.
    #[arg(long)]
    pub stack_name: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

fn fail(e: &super::client::AwsError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

/// The stack's status, or `None` when it does not exist (or only awaits a first change set).
async fn stack_status(client: &Client, name: &str) -> anyhow::Result<Option<String>> {
    match client.cloudformation("DescribeStacks", &[p("StackName", name)]).await? {
        Ok(xml) => Ok(xml_text(&xml, "StackStatus").filter(|s| s != "REVIEW_IN_PROGRESS")),
        Err(e) if e.message.contains("does not exist") => Ok(None),
        Err(e) => Err(fail(&e)),
    }
}

/// The parameter values a stack has now; `None` when one is a masked NoEcho value, which the
/// client cannot know.
async fn stack_parameters(client: &Client, name: &str) -> anyhow::Result<Option<BTreeMap<String, String>>> {
    let xml =
        client.cloudformation("DescribeStacks", &[p("StackName", name)]).await?.map_err(|e| fail(&e))?;
    let values = xml_texts(&xml, "ParameterValue");
    if values.iter().any(|v| v == "****") {
        return Ok(None);
    }
    Ok(Some(xml_texts(&xml, "ParameterKey").into_iter().zip(values).collect()))
}

pub async fn deploy(args: DeployArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.target)?;
    let text = std::fs::read_to_string(&args.template)
        .with_context(|| format!("cannot read the template {}", args.template.display()))?;
    let stack = match &args.stack_name {
        Some(s) => s.clone(),
        None => std::fs::canonicalize(&args.template)
            .ok()
            .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()))
            .map(|n| n.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect())
            .context("give the stack a name with --stack-name")?,
    };
    let overrides: BTreeMap<String, String> = args
        .parameter_overrides
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .context(format!("'{kv}' is not Key=Value"))
        })
        .collect::<anyhow::Result<_>>()?;
    let existing = stack_status(&client, &stack).await?;
    let parameters = match existing {
        Some(_) => stack_parameters(&client, &stack).await?.map(|mut kept| {
            kept.extend(overrides.clone());
            kept
        }),
        None => Some(overrides.clone()),
    };
    let account = client.account();
    let deployment = Deployment { stack: &stack, account: &account, region: &args.target.region, parameters };
    let body = super::package::package(&client, &args.template, &text, &deployment).await?;
    let mut params = vec![
        p("StackName", &stack),
        p("TemplateBody", &body),
        p("ChangeSetName", format!("nimbus-deploy-{}", OffsetDateTime::now_utc().unix_timestamp_nanos())),
        p("ChangeSetType", if existing.is_some() { "UPDATE" } else { "CREATE" }),
    ];
    for (i, c) in CAPABILITIES.iter().enumerate() {
        params.push(p(format!("Capabilities.member.{}", i + 1), *c));
    }
    // Parameters not given keep the stack's values, as `aws cloudformation deploy` does.
    let mut n = 0;
    let declared: Vec<String> = cfn_template::parse_document(&body)
        .ok()
        .and_then(|d| d.get("Parameters").and_then(Value::as_object).map(|m| m.keys().cloned().collect()))
        .unwrap_or_default();
    for key in &declared {
        n += 1;
        params.push(p(format!("Parameters.member.{n}.ParameterKey"), key));
        match overrides.get(key) {
            Some(v) => params.push(p(format!("Parameters.member.{n}.ParameterValue"), v)),
            None if existing.is_some() => {
                params.push(p(format!("Parameters.member.{n}.UsePreviousValue"), "true"))
            }
            None => {
                n -= 1;
                params.truncate(params.len() - 1);
            }
        }
    }
    if let Some(key) = overrides.keys().find(|k| !declared.contains(k)) {
        bail!("parameter {key} is not declared in {}", args.template.display());
    }
    let created = client.cloudformation("CreateChangeSet", &params).await?.map_err(|e| fail(&e))?;
    let change_set = xml_text(&created, "Id").unwrap_or_default();
    // Followed by id: a stack that ends deleted (OnFailure) is no longer found by name.
    let stack_id = xml_text(&created, "StackId").unwrap_or_else(|| stack.clone());
    let described = loop {
        let xml = client
            .cloudformation("DescribeChangeSet", &[p("ChangeSetName", &change_set)])
            .await?
            .map_err(|e| fail(&e))?;
        match xml_text(&xml, "Status").as_deref() {
            Some("CREATE_PENDING" | "CREATE_IN_PROGRESS") => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            _ => break xml,
        }
    };
    if xml_text(&described, "Status").as_deref() == Some("FAILED") {
        let reason = xml_text(&described, "StatusReason").unwrap_or_default();
        if reason.contains("didn't contain changes") {
            out(&format!("No changes to deploy. Stack {stack} is up to date."));
            print_outputs(&client, &stack).await?;
            return Ok(ExitCode::SUCCESS);
        }
        bail!("the change set failed: {reason}");
    }
    out(&format!("Deploying stack {stack} ({} changes):", xml_texts(&described, "LogicalResourceId").len()));
    let actions = xml_texts(&described, "Action");
    let ids = xml_texts(&described, "LogicalResourceId");
    let types = xml_texts(&described, "ResourceType");
    for ((a, id), ty) in actions.iter().zip(&ids).zip(&types) {
        out(&format!("  {a:<8} {id:<40} {ty}"));
    }
    let mut exec = vec![p("ChangeSetName", &change_set)];
    if args.disable_rollback {
        exec.push(p("DisableRollback", "true"));
    }
    let seen = past_events(&client, &stack_id).await?;
    client.cloudformation("ExecuteChangeSet", &exec).await?.map_err(|e| fail(&e))?;
    let status = follow_events(&client, &stack_id, seen).await?;
    let ok = status == "CREATE_COMPLETE" || status == "UPDATE_COMPLETE";
    if ok {
        out(&format!("Stack {stack}: {status}"));
        print_outputs(&client, &stack).await?;
        Ok(ExitCode::SUCCESS)
    } else {
        out(&format!("Stack {stack}: {status}"));
        Ok(ExitCode::FAILURE)
    }
}

/// The ids of the events a stack has so far: what [`follow_events`] does not print again.
async fn past_events(client: &Client, stack: &str) -> anyhow::Result<HashSet<String>> {
    Ok(match client.cloudformation("DescribeStackEvents", &[p("StackName", stack)]).await? {
        Ok(xml) => xml_texts(&xml, "EventId").into_iter().collect(),
        Err(_) => HashSet::new(),
    })
}

/// Prints the stack's events as they happen until the stack settles; returns its final status.
async fn follow_events(client: &Client, stack: &str, mut seen: HashSet<String>) -> anyhow::Result<String> {
    loop {
        let xml = client
            .cloudformation("DescribeStackEvents", &[p("StackName", stack)])
            .await?
            .map_err(|e| fail(&e))?;
        let mut fresh = Vec::new();
        let ids = xml_texts(&xml, "EventId");
        let members = split_members(&xml, "StackEvents");
        for (id, member) in ids.iter().zip(members) {
            if seen.insert(id.clone()) {
                fresh.push(member);
            }
        }
        for m in fresh.iter().rev() {
            let reason = xml_text(m, "ResourceStatusReason").unwrap_or_default();
            out(&format!(
                "  {:<24} {:<36} {:<32} {}",
                xml_text(m, "ResourceStatus").unwrap_or_default(),
                xml_text(m, "LogicalResourceId").unwrap_or_default(),
                xml_text(m, "ResourceType").unwrap_or_default(),
                reason
            ));
        }
        let status = client
            .cloudformation("DescribeStacks", &[p("StackName", stack)])
            .await?
            .ok()
            .and_then(|x| xml_text(&x, "StackStatus"))
            .context("the stack disappeared")?;
        if !status.ends_with("_IN_PROGRESS") {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// The `<member>` documents of a list element, as text.
fn split_members(xml: &str, list: &str) -> Vec<String> {
    let Some(start) = xml.find(&format!("<{list}>")) else { return Vec::new() };
    let Some(end) = xml.find(&format!("</{list}>")) else { return Vec::new() };
    xml[start..end].split("<member>").skip(1).map(|m| format!("<member>{m}")).collect()
}

async fn print_outputs(client: &Client, stack: &str) -> anyhow::Result<()> {
    let xml =
        client.cloudformation("DescribeStacks", &[p("StackName", stack)]).await?.map_err(|e| fail(&e))?;
    let members = split_members(&xml, "Outputs");
    if members.is_empty() {
        return Ok(());
    }
    out("Outputs:");
    for m in members {
        out(&format!(
            "  {} = {}",
            xml_text(&m, "OutputKey").unwrap_or_default(),
            xml_text(&m, "OutputValue").unwrap_or_default()
        ));
    }
    Ok(())
}

pub async fn delete(args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.target)?;
    let xml = match client.cloudformation("DescribeStacks", &[p("StackName", &args.stack_name)]).await? {
        Ok(xml) => xml,
        Err(e) => bail!("{}", e.message),
    };
    let stack_id = xml_text(&xml, "StackId").unwrap_or_else(|| args.stack_name.clone());
    let seen = past_events(&client, &stack_id).await?;
    client.cloudformation("DeleteStack", &[p("StackName", &stack_id)]).await?.map_err(|e| fail(&e))?;
    let status = follow_events(&client, &stack_id, seen).await?;
    out(&format!("Stack {}: {status}", args.stack_name));
    Ok(if status == "DELETE_COMPLETE" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub async fn stacks(args: StacksArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.target)?;
    let xml = client.cloudformation("DescribeStacks", &[]).await?.map_err(|e| fail(&e))?;
    let members = split_members(&xml, "Stacks");
    if members.is_empty() {
        out("No stacks.");
    }
    for m in members {
        let updated =
            xml_text(&m, "LastUpdatedTime").or_else(|| xml_text(&m, "CreationTime")).unwrap_or_default();
        out(&format!(
            "{:<32} {:<28} {}",
            xml_text(&m, "StackName").unwrap_or_default(),
            xml_text(&m, "StackStatus").unwrap_or_default(),
            updated
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// A function name, or the physical id of a stack's logical id.
async fn function_name(client: &Client, function: &str, stack: Option<&str>) -> anyhow::Result<String> {
    let Some(stack) = stack else { return Ok(function.to_owned()) };
    let xml = client
        .cloudformation("DescribeStackResource", &[p("StackName", stack), p("LogicalResourceId", function)])
        .await?
        .map_err(|e| fail(&e))?;
    xml_text(&xml, "PhysicalResourceId").context("the resource has no physical id yet")
}

fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub async fn invoke(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.target)?;
    let name = function_name(&client, &args.function, args.stack_name.as_deref()).await?;
    let event = match &args.event_file {
        Some(f) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        None => args.event.clone().into_bytes(),
    };
    let path = format!("/2015-03-31/functions/{}/invocations", segment(&name));
    let headers = [("x-amz-log-type", "Tail"), ("content-type", "application/json")];
    let (status, headers, body) = client.send("lambda", Method::POST, &path, &headers, event.into()).await?;
    if let Some(log) = headers.get("x-amz-log-result").and_then(|v| v.to_str().ok())
        && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(log)
    {
        let mut stderr = std::io::stderr().lock();
        let _ = stderr.write_all(&bytes);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&body);
    let _ = writeln!(stdout);
    let failed = status >= 300 || headers.contains_key("x-amz-function-error");
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub async fn logs(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.target)?;
    let name = function_name(&client, &args.function, args.stack_name.as_deref()).await?;
    let group = format!("/aws/lambda/{}", name.rsplit(':').next().unwrap_or(&name));
    let mut start = 0i64;
    let mut seen = HashSet::new();
    loop {
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"logGroupName": group, "startTime": start});
            if let Some(t) = &token {
                body["nextToken"] = json!(t);
            }
            let answer = client
                .json("logs", Method::POST, "/", Some("Logs_20140328.FilterLogEvents"), Some(&body))
                .await?;
            let (_, v) = match answer {
                Ok(x) => x,
                Err(e) if e.code == "ResourceNotFoundException" && args.follow => {
                    (http::HeaderMap::new(), json!({}))
                }
                Err(e) => return Err(fail(&e)),
            };
            for e in v.get("events").and_then(Value::as_array).into_iter().flatten() {
                let id = e.get("eventId").and_then(Value::as_str).unwrap_or_default().to_owned();
                if !seen.insert(id) {
                    continue;
                }
                let ts = e.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
                start = start.max(ts);
                let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
                let stream = e.get("logStreamName").and_then(Value::as_str).unwrap_or_default();
                let mut stdout = std::io::stdout().lock();
                let _ = write!(stdout, "{} {stream} {message}", types::timefmt::iso_millis(ts, "Z"));
                if !message.ends_with('\n') {
                    let _ = writeln!(stdout);
                }
            }
            token = v.get("nextToken").and_then(Value::as_str).map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        if !args.follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `nimbus cost`: what the recorded Lambda traffic would cost on AWS at list prices, per
/// function, from the console's cost API.
pub async fn cost(args: CostArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.target)?;
    let mut query = format!("cost?region={}", args.target.region);
    if let Some(account) = &args.account {
        query.push_str(&format!("&account={account}"));
    }
    if let Some(since) = &args.since {
        let window_ms =
            duration_ms(since).with_context(|| format!("--since {since}: expected 30m, 24h, 7d…"))?;
        let now_ms = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        query.push_str(&format!("&since={}", now_ms - window_ms));
    }
    let (status, body) = client.console(&query).await?;
    if status == 404 {
        bail!("the console is off on this server (it is under --enforce-sigv4)");
    }
    let bill: Value =
        serde_json::from_slice(&body).context("the cost API answered something other than JSON")?;
    if status != 200 {
        bail!("the cost API answered {status}: {}", bill["message"].as_str().unwrap_or("?"));
    }
    let currency = bill["currency"].as_str().unwrap_or("USD");
    out(&format!(
        "{:<40} {:>6} {:>9} {:>5} {:>12} {:>12} {:>12}",
        "FUNCTION", "ARCH", "REQUESTS", "COLD", "BILLED MS", "GB-S", currency
    ));
    for f in bill["functions"].as_array().into_iter().flatten() {
        out(&format!(
            "{:<40} {:>6} {:>9} {:>5} {:>12} {:>12.3} {:>12.8}",
            f["function"].as_str().unwrap_or("?"),
            f["architecture"].as_str().unwrap_or("?"),
            f["requests"].as_u64().unwrap_or(0),
            f["cold_starts"].as_u64().unwrap_or(0),
            f["billed_ms"].as_u64().unwrap_or(0),
            f["gb_seconds"].as_f64().unwrap_or(0.0),
            f["total"].as_f64().unwrap_or(0.0),
        ));
    }
    out(&format!(
        "lambda: {} requests, {:.3} GB-s, {:.8} {currency}",
        bill["requests"].as_u64().unwrap_or(0),
        bill["gb_seconds"].as_f64().unwrap_or(0.0),
        bill["lambda_total"].as_f64().unwrap_or(0.0),
    ));
    let resources = bill["resources"].as_array().map(Vec::as_slice).unwrap_or_default();
    if !resources.is_empty() {
        out("");
        out(&format!(
            "{:<12} {:<40} {:<38} {:>14} {:>12}",
            "SERVICE", "RESOURCE", "ITEM", "QUANTITY", currency
        ));
    }
    for r in resources {
        for line in r["lines"].as_array().into_iter().flatten() {
            out(&format!(
                "{:<12} {:<40} {:<38} {:>14.4} {:>12.8}",
                r["service"].as_str().unwrap_or("?"),
                r["name"].as_str().unwrap_or("?"),
                line["item"].as_str().unwrap_or("?"),
                line["quantity"].as_f64().unwrap_or(0.0),
                line["cost"].as_f64().unwrap_or(0.0),
            ));
        }
    }
    out(&format!(
        "total: {:.8} {currency} at {} list prices (no free tier, no data transfer)",
        bill["total"].as_f64().unwrap_or(0.0),
        args.target.region,
    ));
    Ok(ExitCode::SUCCESS)
}

/// `30s`, `30m`, `24h`, `7d` in milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let (n, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}
