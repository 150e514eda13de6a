//! The load generator behind `nimbus-loadgen`: it drives a server the way SDK clients do —
//! SigV4-signed requests, one keep-alive connection per worker, N workers — for a fixed time or
//! request count, and reports throughput and latency percentiles, refusing to report a run that
//! had errors unless asked.
//!
//! Reading order: [`scenario`] (what is sent, and how to add a scenario), [`sign`] (SigV4 on
//! top of our `sigv4` building blocks), [`client`] (one HTTP/1.1 connection), [`run`] (workers,
//! warmup, timing), [`report`] (histograms, figures, the refusal rule), [`selftest`] (the
//! client's own ceiling against a trivial server).

pub mod client;
pub mod report;
pub mod run;
pub mod scenario;
pub mod selftest;
pub mod sign;

mod error;

pub use error::Error;
pub use report::{Figures, Refused, Report};
pub use run::{Plan, Stop, run};
pub use scenario::Scenario;
pub use sign::Signer;

/// Parses `10s`, `500ms`, `2m`, or a bare number of seconds (`1.5`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 =
        number.trim().parse().map_err(|_| format!("{text:?} is not a duration like 10s or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("{text:?}: unit must be ms, s or m")),
    };
    std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{text:?} is not a positive duration"))
}

#[cfg(test)]
mod tests;
