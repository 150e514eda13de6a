//! Cold starts per function, from the invocations the REPORT lines tell: their share, the init
//! durations (p50, p95, max), and what N provisioned environments would have changed over the
//! same traffic — which cold starts would have been warm, and what keeping N environments
//! ready would have cost against what their cheaper duration saves. Pure.
//!
//! The model: provisioned environments serve a function's first N concurrent invocations, as
//! Lambda routes to them before it starts on-demand ones. An invocation that began while fewer
//! than N others were running (itself included: concurrency ≤ N) would have found one ready,
//! so a cold start among those would have been warm, and its duration billed at the
//! provisioned rate.

use serde::Serialize;

use crate::cost::Prices;
use crate::invocations::Invocation;

/// Provisioned sizes the analysis goes up to at most (and never past the peak concurrency,
/// beyond which more environments change nothing).
const MAX_PROVISIONED: usize = 10;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ColdStarts {
    pub function: String,
    pub architecture: String,
    pub memory_size_mb: u32,
    pub invocations: usize,
    pub cold_starts: usize,
    /// Cold starts over invocations (0 without invocations).
    pub cold_share: f64,
    pub init_p50_ms: Option<f64>,
    pub init_p95_ms: Option<f64>,
    pub init_max_ms: Option<f64>,
    /// The most invocations that were running at once.
    pub peak_concurrency: usize,
    pub window_ms: i64,
    pub provisioned: Vec<Provisioned>,
}

/// What `environments` provisioned environments would have changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    pub environments: usize,
    /// Recorded cold starts that would have found a ready environment.
    pub cold_starts_avoided: usize,
    pub cold_starts_left: usize,
    /// Invocations the provisioned environments would have served.
    pub served: usize,
    /// Keeping the environments for the window.
    pub provisioning_cost: f64,
    /// What the served invocations' duration costs less at the provisioned rate.
    pub duration_saving: f64,
    /// `provisioning_cost - duration_saving`: what provisioning adds to the bill.
    pub extra_cost: f64,
}

/// Analyses one function's invocations over a window of `window_ms`.
pub fn analyse(
    prices: &Prices,
    function: &str,
    architecture: &str,
    memory_size_mb: u32,
    invocations: &[Invocation],
    window_ms: i64,
) -> ColdStarts {
    let mut inits: Vec<f64> = invocations.iter().filter_map(|i| i.report.init_duration_ms).collect();
    inits.sort_by(f64::total_cmp);
    let concurrency = concurrency_at_start(invocations);
    let peak = concurrency.iter().copied().max().unwrap_or(0);
    let gb = f64::from(memory_size_mb) / 1024.0;
    let on_demand = prices.gb_second(architecture);
    let provisioned_duration = prices.provisioned_duration_gb_second(architecture);
    let provisioned = (1..=peak.min(MAX_PROVISIONED))
        .map(|n| {
            let served: Vec<&Invocation> =
                invocations.iter().zip(&concurrency).filter(|(_, c)| **c <= n).map(|(i, _)| i).collect();
            let avoided = served.iter().filter(|i| i.cold).count();
            let served_gb_s: f64 = served.iter().map(|i| i.report.gb_seconds()).sum();
            let provisioning_cost = n as f64
                * gb
                * (window_ms.max(0) as f64 / 1000.0)
                * prices.provisioned_gb_second(architecture);
            let duration_saving = served_gb_s * (on_demand - provisioned_duration);
            Provisioned {
                environments: n,
                cold_starts_avoided: avoided,
                cold_starts_left: inits.len() - avoided,
                served: served.len(),
                provisioning_cost,
                duration_saving,
                extra_cost: provisioning_cost - duration_saving,
            }
        })
        .collect();
    ColdStarts {
        function: function.to_owned(),
        architecture: architecture.to_owned(),
        memory_size_mb,
        invocations: invocations.len(),
        cold_starts: inits.len(),
        cold_share: if invocations.is_empty() { 0.0 } else { inits.len() as f64 / invocations.len() as f64 },
        init_p50_ms: percentile(&inits, 50),
        init_p95_ms: percentile(&inits, 95),
        init_max_ms: inits.last().copied(),
        peak_concurrency: peak,
        window_ms,
        provisioned,
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// For each invocation, how many were running when it started, itself included. An
/// invocation that ended at the very millisecond another started does not overlap it (its
/// environment was free again).
fn concurrency_at_start(invocations: &[Invocation]) -> Vec<usize> {
    // Ends sort before starts at the same instant; starts carry their index.
    let mut edges: Vec<(i64, u8, usize)> = Vec::with_capacity(invocations.len() * 2);
    for (i, inv) in invocations.iter().enumerate() {
        edges.push((inv.started_ms, 1, i));
        edges.push((inv.ended_ms.max(inv.started_ms), 0, i));
    }
    edges.sort_unstable();
    let mut running = 0usize;
    let mut out = vec![0; invocations.len()];
    for (_, start, i) in edges {
        if start == 1 {
            running += 1;
            out[i] = running;
        } else {
            running = running.saturating_sub(1);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invocations::Report;

    fn inv(id: &str, start: i64, end: i64, init: Option<f64>, billed: u64) -> Invocation {
        Invocation {
            request_id: id.to_owned(),
            started_ms: start,
            ended_ms: end,
            cold: init.is_some(),
            outcome: "ok".to_owned(),
            report: Report {
                request_id: id.to_owned(),
                duration_ms: billed as f64,
                billed_duration_ms: billed,
                memory_size_mb: 1024,
                max_memory_used_mb: 50,
                init_duration_ms: init,
                status: None,
                error_type: None,
            },
            log_stream: "s".to_owned(),
            logs: Vec::new(),
            trigger: None,
            trace_id: None,
        }
    }

    #[test]
    fn cold_share_and_init_percentiles() {
        let p = Prices::for_region("us-east-1").expect("prices");
        let mut list: Vec<Invocation> =
            (0..20).map(|i| inv(&format!("r{i}"), i * 1000, i * 1000 + 10, None, 10)).collect();
        for (i, init) in [(0, 300.0), (5, 100.0), (10, 200.0), (15, 400.0)] {
            list[i] = inv(&format!("c{i}"), i as i64 * 1000, i as i64 * 1000 + 10, Some(init), 10);
        }
        let c = analyse(&p, "f", "x86_64", 1024, &list, 60_000);
        assert_eq!((c.invocations, c.cold_starts), (20, 4));
        assert_eq!(c.cold_share, 0.2);
        assert_eq!((c.init_p50_ms, c.init_p95_ms, c.init_max_ms), (Some(200.0), Some(400.0), Some(400.0)));
        assert_eq!(c.peak_concurrency, 1);
        // One environment would have served everything: every cold start avoided.
        assert_eq!(c.provisioned.len(), 1);
        let one = &c.provisioned[0];
        assert_eq!((one.cold_starts_avoided, one.cold_starts_left, one.served), (4, 0, 20));
        // 1 GB kept 60 s, against 20 × 10 ms × 1 GB at the cheaper rate.
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        close(one.provisioning_cost, 60.0 * 0.0000041667);
        close(one.duration_saving, 0.2 * (0.0000166667 - 0.0000097222));
        close(one.extra_cost, one.provisioning_cost - one.duration_saving);
    }

    #[test]
    fn only_the_first_n_concurrent_invocations_find_a_provisioned_environment() {
        let p = Prices::for_region("us-east-1").expect("prices");
        // Three overlap (all cold: a burst), then one warm alone, then one ending as the next
        // starts (no overlap).
        let list = vec![
            inv("a", 0, 100, Some(50.0), 100),
            inv("b", 10, 100, Some(60.0), 90),
            inv("c", 20, 100, Some(70.0), 80),
            inv("d", 200, 210, None, 10),
            inv("e", 210, 220, Some(80.0), 10),
        ];
        let c = analyse(&p, "f", "arm64", 1024, &list, 1_000);
        assert_eq!(c.peak_concurrency, 3);
        let avoided: Vec<(usize, usize)> =
            c.provisioned.iter().map(|n| (n.environments, n.cold_starts_avoided)).collect();
        assert_eq!(avoided, [(1, 2), (2, 3), (3, 4)]);
        assert_eq!(c.provisioned[0].cold_starts_left, 2);
        // arm64 has no provisioned duration figure: no saving is claimed.
        assert_eq!(c.provisioned[2].duration_saving, 0.0);
        assert!(c.provisioned[2].provisioning_cost > 0.0);
        assert_eq!(analyse(&p, "g", "x86_64", 128, &[], 1_000).provisioned, Vec::new());
    }
}
