//! The result of a run: per-worker latency histograms merged into one, the counts, and the
//! rule that a run with failed requests reports no figures unless the caller allows it —
//! throughput of error responses is not throughput.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in nanoseconds, from 1 ns to a minute, to 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("the bounds are valid and constant")
}

/// Failed requests by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errors {
    /// Responses with another status than the scenario expects, by status.
    pub status: BTreeMap<u16, u64>,
    /// Requests that got no response (connection refused, reset, closed mid-response).
    pub transport: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.status.values().sum::<u64>() + self.transport
    }

    pub fn merge(&mut self, other: &Errors) {
        for (status, n) in &other.status {
            *self.status.entry(*status).or_default() += n;
        }
        self.transport += other.transport;
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.status.iter().map(|(s, n)| format!("{n}× HTTP {s}")).collect();
        if self.transport > 0 {
            parts.push(format!("{}× transport", self.transport));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Everything a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    pub scenario: String,
    pub concurrency: usize,
    /// From the end of the warmup to the last timed response.
    pub elapsed: Duration,
    /// Timed operations that got the expected status.
    pub ok: u64,
    /// Every failed operation of the run, warmup included.
    pub errors: Errors,
    /// Latency of the timed successful operations, in nanoseconds.
    pub latency: Histogram<u64>,
    /// The first unexpected response or transport error, to say why a run failed.
    pub first_error: Option<String>,
    /// Connections opened during the timed phase: the server closed keep-alive connections.
    pub reconnects: u64,
    /// Cleanup requests (after the timed phase) that failed; the figures are unaffected.
    pub cleanup_failures: u64,
}

/// The figures of a run that had no errors (or whose errors were allowed).
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub scenario: String,
    pub concurrency: usize,
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub ops_per_sec: f64,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Connections the server closed and the client reopened (see [`Report::reconnects`]).
    pub reconnects: u64,
}

/// Why a run reports no figures.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error(
        "{failed} of {total} requests failed ({detail}); refusing to report figures (--allow-errors reports them anyway){first}"
    )]
    Errors { failed: u64, total: u64, detail: Errors, first: String },
    /// Not one request both started and finished in the timed phase: the server took longer
    /// than the warmup and the run together (a lazily loaded service, say). Zero ops/s would
    /// be a figure about the run's length, not the server.
    #[error("no request completed in the timed phase; lengthen --warmup or --duration")]
    NothingMeasured,
}

impl Report {
    /// Folds `other` (another worker's share of the same run) into this report.
    pub fn merge(&mut self, other: &Report) {
        self.ok += other.ok;
        self.errors.merge(&other.errors);
        // Both histograms come from `histogram()`, whose bounds auto-resize cannot exceed.
        let _ = self.latency.add(&other.latency);
        self.elapsed = self.elapsed.max(other.elapsed);
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.reconnects += other.reconnects;
        self.cleanup_failures += other.cleanup_failures;
    }

    /// The figures, or [`Refused`] if any request failed and `allow_errors` is false, or if
    /// nothing was measured.
    pub fn figures(&self, allow_errors: bool) -> Result<Figures, Refused> {
        let failed = self.errors.total();
        if failed > 0 && !allow_errors {
            return Err(Refused::Errors {
                failed,
                total: failed + self.ok,
                detail: self.errors.clone(),
                first: self.first_error.as_deref().map(|e| format!("; first: {e}")).unwrap_or_default(),
            });
        }
        if self.ok == 0 {
            return Err(Refused::NothingMeasured);
        }
        let at = |q: f64| Duration::from_nanos(self.latency.value_at_quantile(q));
        let seconds = self.elapsed.as_secs_f64();
        Ok(Figures {
            scenario: self.scenario.clone(),
            concurrency: self.concurrency,
            ok: self.ok,
            errors: failed,
            elapsed: self.elapsed,
            ops_per_sec: if seconds > 0.0 { self.ok as f64 / seconds } else { 0.0 },
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: Duration::from_nanos(self.latency.max()),
            reconnects: self.reconnects,
        })
    }
}

/// Milliseconds with three decimals (microsecond resolution), the unit every table uses.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

impl Figures {
    /// One JSON object on one line, for scripts (`--json`). Latencies in milliseconds.
    pub fn to_json(&self) -> serde_json::Value {
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        serde_json::json!({
            "scenario": self.scenario,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "errors": self.errors,
            "elapsed_s": (self.elapsed.as_secs_f64() * 1e3).round() / 1e3,
            "ops_per_sec": (self.ops_per_sec * 10.0).round() / 10.0,
            "p50_ms": ms(self.p50),
            "p90_ms": ms(self.p90),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
            "reconnects": self.reconnects,
        })
    }
}

impl fmt::Display for Figures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "scenario   {} (concurrency {}, {:.2} s timed)",
            self.scenario,
            self.concurrency,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "requests   {} ok, {} errors", self.ok, self.errors)?;
        writeln!(f, "ops/s      {:.1}", self.ops_per_sec)?;
        write!(
            f,
            "latency ms p50 {}  p90 {}  p99 {}  max {}",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.max)
        )
    }
}

/// A markdown table of several runs, one row each.
pub fn table(rows: &[Figures]) -> String {
    let mut out = String::from(
        "| scenario | concurrency | ops/s | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|",
    );
    for r in rows {
        out.push_str(&format!(
            "\n| {} | {} | {:.0} | {} | {} | {} | {} |",
            r.scenario,
            r.concurrency,
            r.ops_per_sec,
            ms(r.p50),
            ms(r.p90),
            ms(r.p99),
            ms(r.max)
        ));
    }
    out
}

#[cfg(test)]
mod tests;
