//! The `nimbus` binary: parses the command line, sets up tracing, and runs the chosen command.

mod cli;
mod config;
mod durable;
mod invocations;
mod loopback;
mod serve;
mod traces;
mod usage;

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc took about a third of the server's CPU on the API Gateway → Lambda path
/// (many small JSON values per request, across worker threads); mimalloc's thread-local free
/// lists make those allocations cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages on its arena: each thread's heap then holds
    // whole 2 MiB pages, and resident memory grows in steps with the blocking pool (a soak
    // showed 36 MiB of the server's 61 MiB anonymous memory in huge pages). Small pages keep
    // RSS what the heap uses. Function processes inherit the flag; their runtimes do not ask
    // for huge pages anyway.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let cli = config::Cli::parse();
    init_tracing();
    let result = match cli.command {
        config::Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        config::Command::Deploy(args) => cli::run(cli::deploy(args)),
        config::Command::Delete(args) => cli::run(cli::delete(args)),
        config::Command::Stacks(args) => cli::run(cli::stacks(args)),
        config::Command::Invoke(args) => cli::run(cli::invoke(args)),
        config::Command::Logs(args) => cli::run(cli::logs(args)),
        config::Command::Cost(args) => cli::run(cli::cost(args)),
    };
    match result {
        Ok(code) => code,
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
    let directives = std::env::var("NIMBUS_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_default();
    let mut filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    if directives.is_empty() {
        filter = EnvFilter::new("info");
    }
    // s3s logs every error it answers (NoSuchKey, a bad signature) at ERROR: those are client
    // mistakes, not faults of the server, so it is silent unless asked for by name.
    if !directives.contains("s3s")
        && let Ok(off) = "s3s=off".parse()
    {
        filter = filter.add_directive(off);
    }
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}
