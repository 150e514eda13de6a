//! The `nimbus` binary: parses the command line, sets up tracing, and runs the chosen command.

mod config;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = config::Cli::parse();
    init_tracing();
    let result = match cli.command {
        config::Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line a person can act on; the chain carries the cause (address, path, errno).
            eprintln!("nimbus: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so stdout stays for what scripts read (`Ready.`). `NIMBUS_LOG` (or
/// `RUST_LOG`) takes an `EnvFilter` directive; the default shows startup and warnings.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("NIMBUS_LOG")
        .ok()
        .and_then(|d| EnvFilter::try_new(d).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
