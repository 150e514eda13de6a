//! The fallback sandbox, forced: rlimits plus RSS sampling must enforce memory as well.

use runtime::{ActiveSandbox, Runtime, SandboxMode};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_mode_is_reported() {
    let h = harness();
    let info = h.manager.sandbox().clone();
    eprintln!("sandbox on this host: {:?} ({})", info.mode, info.detail);
    assert!(info.memory_limit);
    if info.mode != ActiveSandbox::Rlimit {
        assert!(info.pids_limit || info.cpu_limit || info.mode == ActiveSandbox::CgroupV2, "{info:?}");
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rlimit_mode_enforces_memory_by_sampling() {
    if !have(Runtime::Python312) {
        return;
    }
    let h = harness_with(|c| c.sandbox = SandboxMode::Rlimit);
    assert_eq!(h.manager.sandbox().mode, ActiveSandbox::Rlimit);
    let f = function("rlimit-echo", Runtime::Python312, "app.handler", "python");
    let out = h.manager.invoke(&f, invocation(r#"{"n": 1}"#)).await.expect("invoke");
    assert_eq!(ok_json(&out)["event"]["n"], 1);
    assert!(out.report.max_memory_used_mb > 5, "measured from /proc: {}", out.report.max_memory_used_mb);

    let f = function("rlimit-oom", Runtime::Python312, "app.hog", "python");
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let (ty, doc) = err_json(&out);
    assert_eq!(ty, "Runtime.OutOfMemory", "{doc}");
    h.shutdown().await;
}

/// Where `pid` is in the v1 hierarchy of `controller` (from `/proc/<pid>/cgroup`).
fn cgroup_of(pid: i64, controller: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        ctrls.split(',').any(|c| c == controller).then(|| path.to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cgroup_v1_limits_are_in_place() {
    if !have(Runtime::Python312) {
        return;
    }
    let h = harness();
    if h.manager.sandbox().mode != ActiveSandbox::CgroupV1 {
        eprintln!("SKIPPED: this host's sandbox is {:?}, not cgroup v1", h.manager.sandbox().mode);
        h.shutdown().await;
        return;
    }
    let f = function("cgroup-v1", Runtime::Python312, "app.handler", "python");
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let pid = ok_json(&out)["pid"].as_i64().expect("pid");
    let env = out.environment_id.as_str().to_owned();
    // The move into the cgroups runs beside the runtime's start; it is over within milliseconds.
    let info = h.manager.sandbox().clone();
    let controllers: Vec<&str> = [("memory", true), ("cpu", info.cpu_limit), ("pids", info.pids_limit)]
        .into_iter()
        .filter_map(|(c, on)| on.then_some(c))
        .collect();
    let inside = |c: &str| cgroup_of(pid, c).is_some_and(|p| p.ends_with(&env));
    for _ in 0..200 {
        if controllers.iter().all(|c| inside(c)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    for c in &controllers {
        assert!(inside(c), "the function runs in its {c} cgroup");
    }
    let memory = cgroup_of(pid, "memory").expect("memory cgroup");
    let read = |controller: &str, path: &str, file: &str| {
        let dir = format!("/sys/fs/cgroup/{controller}{path}");
        std::fs::read_to_string(format!("{dir}/{file}"))
            .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
            .trim()
            .to_owned()
    };
    // 128 MB less what the runtime had before it moved in (charged where it started).
    let limit: u64 = read("memory", &memory, "memory.limit_in_bytes").parse().expect("limit");
    assert!((100 << 20..=128 << 20).contains(&limit), "{limit}");
    if h.manager.sandbox().pids_limit {
        let pids = cgroup_of(pid, "pids").expect("pids cgroup");
        assert!(pids.ends_with(&env), "{pids}");
        assert_eq!(read("pids", &pids, "pids.max"), "1024");
    }
    if h.manager.sandbox().cpu_limit {
        let cpu = cgroup_of(pid, "cpu").expect("cpu cgroup");
        assert!(cpu.ends_with(&env), "{cpu}");
        // After the first invocation: 128 / 1769 of a CPU, over a 20 ms period.
        assert_eq!(read("cpu", &cpu, "cpu.cfs_period_us"), "20000");
        assert_eq!(read("cpu", &cpu, "cpu.cfs_quota_us"), "1447");
    }
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_manager_kills_and_cleans_up() {
    if !have(Runtime::Python312) {
        return;
    }
    let h = harness();
    let f = function("drop-cleanup", Runtime::Python312, "app.handler", "python");
    let out = h.manager.invoke(&f, invocation("{}")).await.expect("invoke");
    let pid = ok_json(&out)["pid"].as_i64().expect("pid");
    let detail = h.manager.sandbox().detail.clone();
    let mode = h.manager.sandbox().mode;
    drop(h);
    let mut gone = false;
    for _ in 0..150 {
        let base_gone = match mode {
            // "... memory under <dir>, cpu ..."
            ActiveSandbox::CgroupV1 => detail
                .split("memory under ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .is_some_and(|dir| !std::path::Path::new(dir).exists()),
            _ => true,
        };
        let zombie_or_gone = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |s| s.split_whitespace().nth(2) == Some("Z"));
        if base_gone && zombie_or_gone {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the function process and the manager's cgroups are gone ({detail})");
}
