//! Cold starts per function, from the summary of its invocations (`ports::FunctionSummary`):
//! their share, the init durations (p50, p95, max), and what N provisioned environments would
//! have changed over the same traffic — which cold starts would have been warm, and what
//! keeping N environments ready would have cost against what their cheaper duration saves.
//! Pure.
//!
//! The model: provisioned environments serve a function's first N concurrent invocations, as
//! Lambda routes to them before it starts on-demand ones. An invocation that began while fewer
//! than N others were running (itself included: concurrency ≤ N) would have found one ready,
//! so a cold start among those would have been warm, and its duration billed at the
//! provisioned rate. The concurrency is the one Lambda counted as the invocation began.

use ports::{FunctionSummary, TRACKED_CONCURRENCY, mb_ms_to_gb_seconds};
use serde::Serialize;

use crate::cost::Prices;

/// Provisioned sizes the analysis goes up to at most (and never past the peak concurrency,
/// beyond which more environments change nothing): the levels the summary keeps apart.
const MAX_PROVISIONED: u32 = TRACKED_CONCURRENCY;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ColdStarts {
    pub function: String,
    pub architecture: String,
    pub memory_size_mb: u32,
    pub invocations: u64,
    pub cold_starts: u64,
    /// Cold starts over invocations (0 without invocations).
    pub cold_share: f64,
    pub init_p50_ms: Option<f64>,
    pub init_p95_ms: Option<f64>,
    pub init_max_ms: Option<f64>,
    /// The percentiles come from a weighted sample (more cold starts than a summary keeps one
    /// by one); the maximum is always exact.
    pub init_approximate: bool,
    /// The most invocations that were running at once.
    pub peak_concurrency: u32,
    pub window_ms: i64,
    pub provisioned: Vec<Provisioned>,
}

/// What `environments` provisioned environments would have changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provisioned {
    pub environments: u32,
    /// Recorded cold starts that would have found a ready environment.
    pub cold_starts_avoided: u64,
    pub cold_starts_left: u64,
    /// Invocations the provisioned environments would have served.
    pub served: u64,
    /// Keeping the environments for the window.
    pub provisioning_cost: f64,
    /// What the served invocations' duration costs less at the provisioned rate.
    pub duration_saving: f64,
    /// `provisioning_cost - duration_saving`: what provisioning adds to the bill.
    pub extra_cost: f64,
}

fn ms(x100: u64) -> f64 {
    x100 as f64 / 100.0
}

/// Analyses one function's invocations over a window of `window_ms`.
pub fn analyse(
    prices: &Prices,
    function: &str,
    architecture: &str,
    memory_size_mb: u32,
    summary: &FunctionSummary,
    window_ms: i64,
) -> ColdStarts {
    let peak = summary.peak_concurrency;
    let gb = f64::from(memory_size_mb) / 1024.0;
    let on_demand = prices.gb_second(architecture);
    let provisioned_duration = prices.provisioned_duration_gb_second(architecture);
    let provisioned = (1..=peak.min(MAX_PROVISIONED))
        .map(|n| {
            let (served, avoided, mb_ms) = summary.served_up_to(n);
            let provisioning_cost = f64::from(n)
                * gb
                * (window_ms.max(0) as f64 / 1000.0)
                * prices.provisioned_gb_second(architecture);
            let duration_saving = mb_ms_to_gb_seconds(mb_ms) * (on_demand - provisioned_duration);
            Provisioned {
                environments: n,
                cold_starts_avoided: avoided,
                cold_starts_left: summary.cold_starts.saturating_sub(avoided),
                served,
                provisioning_cost,
                duration_saving,
                extra_cost: provisioning_cost - duration_saving,
            }
        })
        .collect();
    let (n, cold) = (summary.invocations, summary.cold_starts);
    ColdStarts {
        function: function.to_owned(),
        architecture: architecture.to_owned(),
        memory_size_mb,
        invocations: n,
        cold_starts: cold,
        cold_share: if n == 0 { 0.0 } else { cold as f64 / n as f64 },
        init_p50_ms: summary.inits.percentile(50).map(ms),
        init_p95_ms: summary.inits.percentile(95).map(ms),
        init_max_ms: summary.inits.max().map(ms),
        init_approximate: !summary.inits.is_exact(),
        peak_concurrency: peak,
        window_ms,
        provisioned,
    }
}

#[cfg(test)]
mod tests {
    use ports::{Architecture, InvocationOutcome, InvocationRecord};
    use types::Scope;
    use types::trace::TraceId;

    use super::*;
    use crate::invocations::{Invocation, Report};

    /// The analysis as it was computed from the invocations the REPORT lines told, before the
    /// summaries: the figures the summary path must reproduce.
    mod from_logs {
        use super::*;

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
            let provisioned = (1..=peak.min(10))
                .map(|n| {
                    let served: Vec<&Invocation> = invocations
                        .iter()
                        .zip(&concurrency)
                        .filter(|(_, c)| **c <= n)
                        .map(|(i, _)| i)
                        .collect();
                    let avoided = served.iter().filter(|i| i.cold).count();
                    let served_gb_s: f64 = served.iter().map(|i| i.report.gb_seconds()).sum();
                    let provisioning_cost = n as f64
                        * gb
                        * (window_ms.max(0) as f64 / 1000.0)
                        * prices.provisioned_gb_second(architecture);
                    let duration_saving = served_gb_s * (on_demand - provisioned_duration);
                    Provisioned {
                        environments: n as u32,
                        cold_starts_avoided: avoided as u64,
                        cold_starts_left: (inits.len() - avoided) as u64,
                        served: served.len() as u64,
                        provisioning_cost,
                        duration_saving,
                        extra_cost: provisioning_cost - duration_saving,
                    }
                })
                .collect();
            let n = invocations.len();
            ColdStarts {
                function: function.to_owned(),
                architecture: architecture.to_owned(),
                memory_size_mb,
                invocations: n as u64,
                cold_starts: inits.len() as u64,
                cold_share: if n == 0 { 0.0 } else { inits.len() as f64 / n as f64 },
                init_p50_ms: percentile(&inits, 50),
                init_p95_ms: percentile(&inits, 95),
                init_max_ms: inits.last().copied(),
                init_approximate: false,
                peak_concurrency: peak as u32,
                window_ms,
                provisioned,
            }
        }

        fn percentile(sorted: &[f64], p: usize) -> Option<f64> {
            if sorted.is_empty() {
                return None;
            }
            let rank = (p * sorted.len()).div_ceil(100).max(1);
            sorted.get(rank - 1).copied()
        }

        /// For each invocation, how many were running when it started, itself included.
        pub fn concurrency_at_start(invocations: &[Invocation]) -> Vec<usize> {
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
    }

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
            concurrency: None,
            version: None,
        }
    }

    /// What Lambda would have recorded of the invocations the logs tell, with the concurrency
    /// the logs show.
    pub fn summary_of(list: &[Invocation]) -> FunctionSummary {
        let concurrency = from_logs::concurrency_at_start(list);
        let mut s = FunctionSummary::default();
        for (i, c) in list.iter().zip(concurrency) {
            s.add(&InvocationRecord {
                scope: Scope::default(),
                function: "f".to_owned(),
                request_id: i.request_id.clone(),
                version: "$LATEST".to_owned(),
                architecture: Architecture::X86_64,
                started_ms: i.started_ms,
                ended_ms: i.ended_ms,
                duration_ms_x100: (i.report.duration_ms * 100.0).round() as u64,
                billed_ms: i.report.billed_duration_ms,
                memory_mb: i.report.memory_size_mb,
                max_memory_used_mb: i.report.max_memory_used_mb,
                init_ms_x100: i.report.init_duration_ms.map(|d| (d * 100.0).round() as u64),
                outcome: InvocationOutcome::Ok,
                concurrency: u32::try_from(c).unwrap_or(u32::MAX),
                log_group: String::new(),
                log_stream: i.log_stream.clone(),
                trace: TraceId::new(1, 1),
                caller: None,
                trigger: None,
            });
        }
        s
    }

    /// The summary path and the log path agree, field by field (sums within float rounding).
    fn same(list: &[Invocation], arch: &str, window_ms: i64) -> ColdStarts {
        let p = Prices::for_region("us-east-1").expect("prices");
        let new = analyse(&p, "f", arch, 1024, &summary_of(list), window_ms);
        let old = from_logs::analyse(&p, "f", arch, 1024, list, window_ms);
        let close = |a: f64, b: f64| assert!((a - b).abs() <= 1e-12 * a.abs().max(1.0), "{a} vs {b}");
        assert_eq!(new.provisioned.len(), old.provisioned.len());
        for (a, b) in new.provisioned.iter().zip(&old.provisioned) {
            assert_eq!(
                (a.environments, a.cold_starts_avoided, a.cold_starts_left, a.served),
                (b.environments, b.cold_starts_avoided, b.cold_starts_left, b.served)
            );
            close(a.provisioning_cost, b.provisioning_cost);
            close(a.duration_saving, b.duration_saving);
            close(a.extra_cost, b.extra_cost);
        }
        let strip = |c: &ColdStarts| ColdStarts { provisioned: Vec::new(), ..c.clone() };
        assert_eq!(strip(&new), strip(&old));
        new
    }

    #[test]
    fn cold_share_and_init_percentiles() {
        let mut list: Vec<Invocation> =
            (0..20).map(|i| inv(&format!("r{i}"), i * 1000, i * 1000 + 10, None, 10)).collect();
        for (i, init) in [(0, 300.0), (5, 100.0), (10, 200.0), (15, 400.0)] {
            list[i] = inv(&format!("c{i}"), i as i64 * 1000, i as i64 * 1000 + 10, Some(init), 10);
        }
        let c = same(&list, "x86_64", 60_000);
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
        // Three overlap (all cold: a burst), then one warm alone, then one ending as the next
        // starts (no overlap).
        let list = vec![
            inv("a", 0, 100, Some(50.0), 100),
            inv("b", 10, 100, Some(60.0), 90),
            inv("c", 20, 100, Some(70.0), 80),
            inv("d", 200, 210, None, 10),
            inv("e", 210, 220, Some(80.0), 10),
        ];
        let c = same(&list, "arm64", 1_000);
        assert_eq!(c.peak_concurrency, 3);
        let avoided: Vec<(u32, u64)> =
            c.provisioned.iter().map(|n| (n.environments, n.cold_starts_avoided)).collect();
        assert_eq!(avoided, [(1, 2), (2, 3), (3, 4)]);
        assert_eq!(c.provisioned[0].cold_starts_left, 2);
        // arm64 has no provisioned duration figure: no saving is claimed.
        assert_eq!(c.provisioned[2].duration_saving, 0.0);
        assert!(c.provisioned[2].provisioning_cost > 0.0);
        assert_eq!(same(&[], "x86_64", 1_000).provisioned, Vec::new());
    }

    #[test]
    fn a_busy_function_gives_the_figures_its_logs_gave() {
        // 2,000 invocations in bursts of up to 14 at once (past the tracked levels), a cold
        // start at the head of each burst, init and billed durations all different.
        let mut list = Vec::new();
        let mut t = 0;
        for burst in 0..120i64 {
            let width = 1 + (burst * 5 % 14);
            for k in 0..width {
                let id = format!("b{burst}-{k}");
                let billed = 100 + (burst * 31 + k * 17) as u64 % 300;
                let init = (k == 0 || burst % 5 == 0).then(|| 80.0 + ((burst * 13 + k) % 97) as f64 * 1.37);
                let init = init.map(|i| (i * 100.0f64).round() / 100.0);
                list.push(inv(&id, t + k, t + k + billed as i64, init, billed));
            }
            t += 500;
            if list.len() >= 2_000 {
                break;
            }
        }
        let c = same(&list, "x86_64", 3_600_000);
        assert!(c.peak_concurrency > TRACKED_CONCURRENCY, "{}", c.peak_concurrency);
        assert_eq!(c.provisioned.len(), 10);
        // More cold starts than the sample keeps one by one, but fewer distinct durations: the
        // percentiles stay exact.
        assert!(c.cold_starts > EXACT && !c.init_approximate, "{c:?}");
    }

    const EXACT: u64 = ports::EXACT_INIT_DURATIONS as u64;
}
