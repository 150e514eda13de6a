//! The command line, resolved once into typed settings.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Nimbus: AWS serverless applications on one machine, from one binary.
#[derive(Debug, Parser)]
#[command(name = "nimbus", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve every AWS service on one port.
    Serve(ServeArgs),
    /// Deploy a SAM or CloudFormation template: package local code, create or update the stack,
    /// show its events, print its outputs.
    Deploy(crate::cli::DeployArgs),
    /// Delete a stack and everything it created.
    Delete(crate::cli::DeleteArgs),
    /// List the stacks.
    Stacks(crate::cli::StacksArgs),
    /// Invoke a function and print its result (its log tail goes to stderr).
    Invoke(crate::cli::InvokeArgs),
    /// Print a function's logs; `-f` follows them.
    Logs(crate::cli::LogsArgs),
    /// What the recorded traffic would cost on AWS: Lambda per function, the rest per resource.
    Cost(crate::cli::CostArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "NIMBUS_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Port for every service.
    #[arg(long, env = "NIMBUS_PORT", default_value_t = 4566)]
    pub port: u16,

    /// Where state is kept.
    #[arg(long, env = "NIMBUS_DATA_DIR", default_value = ".nimbus")]
    pub data_dir: PathBuf,

    /// Keep nothing: state lives in memory and is gone when the server stops.
    #[arg(long, env = "NIMBUS_EPHEMERAL")]
    pub ephemeral: bool,

    /// Verify SigV4 signatures (header and presigned) against the configured key pairs.
    #[arg(long, env = "NIMBUS_ENFORCE_SIGV4")]
    pub enforce_sigv4: bool,

    /// A key pair `ACCESS_KEY_ID:SECRET_ACCESS_KEY` accepted under --enforce-sigv4; repeatable
    /// (env: comma-separated). Without any, the conventional local pair `test:test` is used.
    #[arg(long = "access-key", env = "NIMBUS_ACCESS_KEYS", value_delimiter = ',', value_parser = parse_key_pair)]
    pub access_keys: Vec<(String, String)>,

    /// Seconds a connection may take to send a complete request head; an idle kept-alive
    /// connection is closed after as long. Longer than the SDKs' own 60-second read timeout,
    /// so a client waiting on a connection gives up (and retries) before the server closes it.
    #[arg(long, env = "NIMBUS_HEADER_TIMEOUT", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,

    /// Lambda: concurrent executions per account and region.
    #[arg(long, env = "NIMBUS_LAMBDA_CONCURRENCY", default_value_t = 1000)]
    pub lambda_concurrency: u32,

    /// Lambda: an asynchronous invocation that failed is retried after n × this many
    /// milliseconds (n = 1, 2). Lambda waits about a minute; tests want less.
    #[arg(long, env = "NIMBUS_LAMBDA_RETRY_BASE_MS", default_value_t = 60_000)]
    pub lambda_retry_base_ms: u64,

    /// Lambda: mount a tmpfs of the function's ephemeral storage size on each environment's
    /// `/tmp` (needs CAP_SYS_ADMIN): writes past it fail with ENOSPC as on Lambda, but its
    /// pages count against the function's memory. Without it `/tmp` usage is sampled.
    #[arg(long, env = "NIMBUS_LAMBDA_TMPFS")]
    pub lambda_tmpfs: bool,

    /// Lambda: an execution environment idle for this many seconds is stopped.
    #[arg(long, env = "NIMBUS_LAMBDA_IDLE_TIMEOUT", default_value_t = 600)]
    pub lambda_idle_timeout: u64,

    /// Console: hours of history kept for the console — metered usage (requests, request
    /// units, events, stored bytes) and Lambda invocations (their per-function summaries in
    /// memory, their records in the store); older history is dropped, and what is over an hour
    /// old is summarised per hour rather than per minute.
    #[arg(long, env = "NIMBUS_CONSOLE_RETENTION", default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub console_retention: u64,
}

fn parse_key_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok((id.to_owned(), secret.to_owned())),
        _ => Err("expected ACCESS_KEY_ID:SECRET_ACCESS_KEY".to_owned()),
    }
}
