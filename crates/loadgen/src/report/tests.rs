//! Histogram merging, percentiles and their formatting, and the refusal of runs with errors.

use std::time::Duration;

use crate::report::{self, Errors, Report, table};

fn report(latencies_us: &[u64], elapsed_ms: u64) -> Report {
    let mut latency = report::histogram();
    for us in latencies_us {
        latency.record(us * 1000).expect("in range");
    }
    Report {
        scenario: "iam-get-role".to_owned(),
        concurrency: 2,
        elapsed: Duration::from_millis(elapsed_ms),
        ok: latencies_us.len() as u64,
        errors: Errors::default(),
        latency,
        first_error: None,
        reconnects: 0,
        cleanup_failures: 0,
    }
}

#[test]
fn merged_workers_give_percentiles_of_the_whole() {
    // Worker one is fast, worker two slow: the merged p50 sits between, p99 in the slow tail.
    let mut merged = report(&[100; 90], 1000);
    merged.merge(&report(&[10_000; 10], 1002));
    let figures = merged.figures(false).expect("no errors");
    assert_eq!(figures.ok, 100);
    assert_eq!(figures.elapsed, Duration::from_millis(1002));
    expect_test::expect![[r#"
        scenario   iam-get-role (concurrency 2, 1.00 s timed)
        requests   100 ok, 0 errors
        ops/s      99.8
        latency ms p50 0.100  p90 0.100  p99 10.002  max 10.002"#]]
    .assert_eq(&figures.to_string());
    expect_test::expect![[r#"{"concurrency":2,"elapsed_s":1.002,"errors":0,"max_ms":10.002,"ok":100,"ops_per_sec":99.8,"p50_ms":0.1,"p90_ms":0.1,"p99_ms":10.002,"reconnects":0,"scenario":"iam-get-role"}"#]]
    .assert_eq(&figures.to_json().to_string());
    expect_test::expect![[r#"
        | scenario | concurrency | ops/s | p50 ms | p90 ms | p99 ms | max ms |
        |---|---:|---:|---:|---:|---:|---:|
        | iam-get-role | 2 | 100 | 0.100 | 0.100 | 10.002 | 10.002 |"#]]
    .assert_eq(&table(&[figures]));
}

#[test]
fn errors_refuse_the_figures_unless_allowed() {
    let mut failed = report(&[200; 10], 1000);
    let mut other = report(&[], 1000);
    other.errors.status.insert(501, 3);
    other.errors.transport = 1;
    other.first_error = Some("HTTP 501: NotImplemented".to_owned());
    failed.merge(&other);

    let refused = failed.figures(false).expect_err("errors refuse");
    expect_test::expect![[r#"4 of 14 requests failed (3× HTTP 501, 1× transport); refusing to report figures (--allow-errors reports them anyway); first: HTTP 501: NotImplemented"#]]
    .assert_eq(&refused.to_string());

    let allowed = failed.figures(true).expect("allowed");
    assert_eq!((allowed.ok, allowed.errors), (10, 4));
}

#[test]
fn a_run_without_errors_is_reported() {
    assert!(report(&[1], 1).figures(false).is_ok());
}

#[test]
fn a_run_that_measured_nothing_is_refused_even_with_errors_allowed() {
    let empty = report(&[], 1000);
    assert!(matches!(empty.figures(false), Err(crate::Refused::NothingMeasured)));
    assert!(matches!(empty.figures(true), Err(crate::Refused::NothingMeasured)));
}
