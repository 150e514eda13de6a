//! The binary end to end: `--self-test` starts its trivial server, drives it at every level
//! and prints one JSON line per level with non-zero throughput.

use std::process::Command;

#[test]
fn self_test_reports_every_level() {
    let output = Command::new(env!("CARGO_BIN_EXE_nimbus-loadgen"))
        .args(["--self-test", "--duration", "300ms", "--warmup", "100ms", "--json"])
        .output()
        .expect("nimbus-loadgen runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let levels: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    let concurrency: Vec<u64> = levels.iter().filter_map(|l| l["concurrency"].as_u64()).collect();
    assert_eq!(concurrency, [1, 8, 32]);
    for level in &levels {
        assert_eq!(level["errors"], 0, "{level}");
        assert!(level["ops_per_sec"].as_f64().is_some_and(|ops| ops > 100.0), "{level}");
    }
}

#[test]
fn errors_exit_non_zero_without_figures() {
    // Nothing listens on port 9 of loopback: the run cannot start, and says so on stderr only.
    let output = Command::new(env!("CARGO_BIN_EXE_nimbus-loadgen"))
        .args(["--endpoint", "http://127.0.0.1:9", "--duration", "200ms", "--warmup", "0s", "--json"])
        .output()
        .expect("nimbus-loadgen runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "printed figures: {}", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn a_rate_paces_the_load() {
    // Unpaced, the trivial server takes thousands of requests per second at every level (the
    // test above); paced at 200/s, every level stays near 200 however many workers share it.
    let output = Command::new(env!("CARGO_BIN_EXE_nimbus-loadgen"))
        .args(["--self-test", "--rate", "200", "--duration", "2s", "--warmup", "200ms", "--json"])
        .output()
        .expect("nimbus-loadgen runs");
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let level: serde_json::Value = serde_json::from_str(line).expect("one JSON object per line");
        let ops = level["ops_per_sec"].as_f64().expect("ops_per_sec");
        assert!((120.0..260.0).contains(&ops), "{level}");
    }
}
