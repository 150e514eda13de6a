//! The client commands (`deploy`, `delete`, `stacks`, `invoke`, `logs`, `cost`): thin clients of the
//! server's own AWS APIs, signed like any SDK request, so they work against any running
//! `nimbus serve` (and show what a user's own scripts would see).

mod client;
mod commands;
mod package;

pub use commands::{
    CostArgs, DeleteArgs, DeployArgs, InvokeArgs, LogsArgs, StacksArgs, cost, delete, deploy, invoke, logs,
    stacks,
};

/// Runs a client command to completion on a small runtime; the exit code says how it went.
pub fn run<F>(future: F) -> anyhow::Result<std::process::ExitCode>
where
    F: Future<Output = anyhow::Result<std::process::ExitCode>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the async runtime: {e}"))?;
    runtime.block_on(future)
}
