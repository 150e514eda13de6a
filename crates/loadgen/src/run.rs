//! A run: setup, N workers with one connection each through a warmup and a timed phase, then
//! the untimed cleanup of what the operations created.
//!
//! Each worker records into its own histogram and counters, merged once at the end, so the
//! hot loop shares nothing but the request budget of `--requests` (one atomic).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Error;
use crate::client::{Connection, Response, Target};
use crate::report::{self, Errors, Report};
use crate::scenario::{Op, Options, Scenario};
use crate::sign::Signer;

/// When the timed phase ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    After(Duration),
    Requests(u64),
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: Scenario,
    pub concurrency: usize,
    pub warmup: Duration,
    pub stop: Stop,
    pub options: Options,
    /// Makes the names write scenarios create unique to this run.
    pub run_id: String,
    /// Operations per second across all workers, or as fast as they go. A paced worker that
    /// falls behind its schedule does not burst to catch up: the load stays steady, and the
    /// shortfall shows as a lower ops/s.
    pub rate: Option<f64>,
}

/// A run id from the clock and the process, so that runs against one server (which may keep
/// what a run that was interrupted before its cleanup created) do not collide.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or_default();
    format!("{:08x}", nanos ^ std::process::id().rotate_left(16))
}

/// Runs `plan` against `target`. Connection and setup failures are errors; failed requests are
/// counted in the [`Report`], which refuses its figures if there were any.
pub async fn run(target: &Target, plan: &Plan, signer: &Signer) -> Result<Report, Error> {
    let mut signer = signer.clone();
    let mut plan = plan.clone();
    let mut setup_connection = Connection::new(target.clone());
    for setup in plan.scenario.setup(&plan.options) {
        let response = setup_connection.send(&setup.call, &mut signer).await?;
        if !setup.accept.contains(&response.status) {
            return Err(Error::Setup { scenario: plan.scenario.name(), detail: describe(&response) });
        }
        if let Some((name, field)) = setup.capture {
            let value = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get(field).and_then(|f| f.as_str()).map(str::to_owned))
                .ok_or_else(|| Error::Setup {
                    scenario: plan.scenario.name(),
                    detail: format!("no {field} in the answer: {}", describe(&response)),
                })?;
            plan.options.captured.insert(name, value);
        }
    }
    drop(setup_connection);
    let plan = &plan;

    let concurrency = plan.concurrency.max(1);
    // Connect every worker before the clock starts, as a warmed SDK pool would be.
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let mut connection = Connection::new(target.clone());
        connection.connect().await?;
        connections.push(connection);
    }
    let start = Instant::now();
    let shared = Arc::new(Shared {
        plan: plan.clone(),
        timed_from: start + plan.warmup,
        budget: AtomicU64::new(match plan.stop {
            Stop::Requests(n) => n,
            Stop::After(_) => u64::MAX,
        }),
    });
    let mut tasks = Vec::with_capacity(concurrency);
    for (worker, connection) in connections.into_iter().enumerate() {
        let shared = Arc::clone(&shared);
        let signer = signer.clone();
        tasks.push(tokio::spawn(work(worker, connection, signer, shared)));
    }
    let mut report = Report {
        scenario: plan.scenario.name().to_owned(),
        concurrency,
        elapsed: Duration::ZERO,
        ok: 0,
        errors: Errors::default(),
        latency: report::histogram(),
        first_error: None,
        reconnects: 0,
        cleanup_failures: 0,
    };
    let mut leftovers = Vec::new();
    for task in tasks {
        // A worker that panicked is a bug of ours, not a measurement; say so loudly.
        let (part, leftover) = task.await.expect("workers do not panic");
        report.merge(&part);
        leftovers.push(leftover);
    }

    // The cleanup is untimed and runs with the same parallelism as the load.
    let mut cleanups = Vec::new();
    for leftover in leftovers.into_iter().filter(|l| !l.done.is_empty()) {
        let (plan, mut signer) = (plan.clone(), signer.clone());
        cleanups.push(tokio::spawn(async move {
            let Leftover { worker, mut connection, done } = leftover;
            let mut failures = 0;
            for seq in done {
                let op = Op { run: &plan.run_id, worker, seq };
                let Some(call) = plan.scenario.undo(op) else { continue };
                match connection.send(&call, &mut signer).await {
                    Ok(r) if r.status.is_success() => {}
                    _ => failures += 1,
                }
            }
            failures
        }));
    }
    for cleanup in cleanups {
        report.cleanup_failures += cleanup.await.expect("cleanups do not panic");
    }
    Ok(report)
}

struct Shared {
    plan: Plan,
    timed_from: Instant,
    budget: AtomicU64,
}

/// What a worker leaves for the cleanup: its connection and the operations to undo.
struct Leftover {
    worker: usize,
    connection: Connection,
    done: Vec<u64>,
}

async fn work(
    worker: usize,
    mut connection: Connection,
    mut signer: Signer,
    shared: Arc<Shared>,
) -> (Report, Leftover) {
    let plan = &shared.plan;
    let scenario = plan.scenario;
    let expected = scenario.expected_status();
    let keep_done = scenario.has_undo();
    let deadline = match plan.stop {
        Stop::After(d) => Some(shared.timed_from + d),
        Stop::Requests(_) => None,
    };
    let mut latency = report::histogram();
    let mut errors = Errors::default();
    let mut first_error = None;
    let mut ok = 0;
    let mut last_done = shared.timed_from;
    let mut done = Vec::new();
    let restocks = !scenario.restock(Op { run: &plan.run_id, worker, seq: 0 }, &plan.options).is_empty();
    let mut stock: Vec<String> = Vec::new();
    let mut untimed = Duration::ZERO;
    // Connections opened before the timed phase (the first one, warmup reconnects) are not
    // the timed phase's reconnects.
    let mut opened_untimed = None;
    // Workers start their schedules staggered across one interval, so that a paced load
    // arrives evenly rather than in bursts of `concurrency` requests.
    let interval =
        plan.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(plan.concurrency.max(1) as f64 / r));
    let mut next_slot =
        interval.map(|i| Instant::now() + i.mul_f64(worker as f64 / plan.concurrency.max(1) as f64));
    for seq in 0.. {
        if let (Some(slot), Some(interval)) = (next_slot.as_mut(), interval) {
            tokio::time::sleep_until(tokio::time::Instant::from_std(*slot)).await;
            *slot = (*slot + interval).max(Instant::now());
        }
        let started = Instant::now();
        if deadline.is_some_and(|d| started >= d) {
            break;
        }
        let timed = started >= shared.timed_from;
        if timed
            && matches!(plan.stop, Stop::Requests(_))
            && shared.budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err()
        {
            break;
        }
        if timed && opened_untimed.is_none() {
            opened_untimed = Some(connection.opened);
        }
        let op = Op { run: &plan.run_id, worker, seq };
        let mut started = started;
        let item = if restocks {
            if stock.is_empty() {
                match restock(scenario, op, &plan.options, &mut connection, &mut signer).await {
                    Ok(items) => stock = items,
                    Err(e) => {
                        errors.transport += 1;
                        first_error.get_or_insert(e);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                }
                // The restock is untimed: the operation starts now, and the time is not
                // the timed phase's either (ops/s counts the operations' own time).
                let now = Instant::now();
                if started >= shared.timed_from {
                    untimed += now - started;
                }
                started = now;
            }
            stock.pop()
        } else {
            None
        };
        let call = scenario.call(op, &plan.options, item.as_deref());
        let outcome = connection.send(&call, &mut signer).await;
        let finished = Instant::now();
        match outcome {
            Ok(response) if response.status == expected => {
                if timed {
                    ok += 1;
                    let nanos = u64::try_from((finished - started).as_nanos()).unwrap_or(u64::MAX);
                    latency.saturating_record(nanos);
                    last_done = finished;
                }
                if keep_done {
                    done.push(seq);
                }
            }
            Ok(response) => {
                *errors.status.entry(response.status.as_u16()).or_default() += 1;
                first_error.get_or_insert_with(|| describe(&response));
            }
            Err(e) => {
                errors.transport += 1;
                first_error.get_or_insert_with(|| e.to_string());
                // A server that is gone would otherwise be hammered with connects; pause a
                // little, and let the deadline or the budget end the run.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    let report = Report {
        scenario: scenario.name().to_owned(),
        concurrency: plan.concurrency,
        elapsed: last_done.saturating_duration_since(shared.timed_from).saturating_sub(untimed),
        ok,
        errors,
        latency,
        first_error,
        reconnects: connection.opened.saturating_sub(opened_untimed.unwrap_or(connection.opened)),
        cleanup_failures: 0,
    };
    (report, Leftover { worker, connection, done })
}

/// Runs the scenario's untimed restock requests; the items are in the last one's answer.
async fn restock(
    scenario: Scenario,
    op: Op<'_>,
    options: &Options,
    connection: &mut Connection,
    signer: &mut Signer,
) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    for call in scenario.restock(op, options) {
        let response = connection.send(&call, signer).await.map_err(|e| format!("restock: {e}"))?;
        if !response.status.is_success() {
            return Err(format!("restock: {}", describe(&response)));
        }
        items = scenario.stock_items(&response.body);
    }
    if items.is_empty() {
        return Err("restock: the answer held no items".to_owned());
    }
    Ok(items)
}

/// `HTTP 409: <first 300 bytes of the body>`.
fn describe(response: &Response) -> String {
    let body = String::from_utf8_lossy(&response.body[..response.body.len().min(300)]);
    let body: Vec<&str> = body.split_whitespace().collect();
    format!("HTTP {}: {}", response.status.as_u16(), body.join(" "))
}
