//! Resource limits: what this host lets us enforce, and the per-environment cgroups or samplers
//! that enforce and measure memory, CPU and process count.
//!
//! Detection order for [`SandboxMode::Auto`]: cgroup v2 (needs a cgroup of ours whose
//! `subtree_control` can hold the memory controller), cgroup v1 (a child of our own `memory`
//! cgroup, plus `cpu` and `pids` when those hierarchies are writable), else rlimits with RSS
//! sampling.
//!
//! The function process is moved into its cgroups right *after* it started, from a blocking
//! thread, not between fork and exec: moving a task takes the kernel's cgroup threadgroup
//! semaphore for writing, which waits for an RCU grace period (~10 ms measured here) whenever
//! no migration happened recently. In the parent that wait overlaps the runtime's own start
//! instead of adding to every cold start. The price is a window of those milliseconds in which
//! the runtime is not limited yet. Its memory from that window stays charged where it was (this
//! kernel no longer moves charges with a task), so the anonymous memory it had when it moved is
//! taken off the cgroup's limit and added to its measured peak: the total stays the function's
//! memory size. Descendants it started meanwhile are moved after it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustix::process::{Pid, Resource, Rlimit, Signal};

use crate::config::SandboxMode;
use crate::error::RuntimeError;
use crate::isolation::Isolation;

/// Lambda's limits that hold in every mode.
const MAX_PROCESSES: u32 = 1024;
const MAX_OPEN_FILES: u64 = 1024;
/// `cpu.cfs_period_us` for the CPU share. Short, so a throttled function waits milliseconds, not
/// a 100 ms period, for its next slice.
const CPU_PERIOD_US: u64 = 20_000;
/// 1,769 MB of memory buys one vCPU.
const MB_PER_VCPU: u64 = 1769;

/// The sandbox in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActiveSandbox {
    CgroupV2,
    CgroupV1,
    Rlimit,
}

/// What the sandbox enforces on this host, for the startup log and the health endpoint.
#[derive(Clone, Debug)]
pub struct SandboxInfo {
    pub mode: ActiveSandbox,
    /// Memory size enforced by the kernel (cgroups); in rlimit mode by sampling RSS and killing.
    pub memory_limit: bool,
    pub cpu_limit: bool,
    pub pids_limit: bool,
    /// Each function runs as a user of its own: other functions' code and `/tmp`, and the
    /// server's data dir, are out of its reach.
    pub separate_users: bool,
    /// `/tmp` is a tmpfs of the function's ephemeral storage size (writes past it fail with
    /// ENOSPC); otherwise its usage is sampled while an invocation runs and an environment over
    /// it is stopped.
    pub tmpfs: bool,
    /// RLIMIT_NPROC on the function's user stands in for a missing pids cgroup.
    pub nproc_limit: bool,
    /// Why this mode (what was tried and failed), in words.
    pub detail: String,
}

pub(crate) struct Sandbox {
    info: SandboxInfo,
    kind: Kind,
}

enum Kind {
    V2 { base: PathBuf },
    V1 { memory: PathBuf, cpu: Option<PathBuf>, pids: Option<PathBuf> },
    Rlimit,
}

impl Sandbox {
    /// Picks the sandbox. `tag` names this manager's cgroups (`nimbus-<pid>-<tag>`).
    pub(crate) fn detect(mode: SandboxMode, tag: &str) -> Result<Sandbox, RuntimeError> {
        let name = format!("nimbus-{}-{tag}", std::process::id());
        let mut tried = Vec::new();
        if matches!(mode, SandboxMode::Auto | SandboxMode::CgroupV2) {
            match v2(&name) {
                Ok(s) => return Ok(s),
                Err(e) if mode == SandboxMode::CgroupV2 => return Err(RuntimeError::SandboxUnavailable(e)),
                Err(e) => tried.push(format!("cgroup v2: {e}")),
            }
        }
        if matches!(mode, SandboxMode::Auto | SandboxMode::CgroupV1) {
            match v1(&name) {
                Ok(mut s) => {
                    if !tried.is_empty() {
                        s.info.detail = format!("{}; {}", tried.join("; "), s.info.detail);
                    }
                    return Ok(s);
                }
                Err(e) if mode == SandboxMode::CgroupV1 => return Err(RuntimeError::SandboxUnavailable(e)),
                Err(e) => tried.push(format!("cgroup v1: {e}")),
            }
        }
        tried.push("rlimits with RSS sampling".to_owned());
        Ok(Sandbox {
            info: SandboxInfo {
                mode: ActiveSandbox::Rlimit,
                memory_limit: true,
                cpu_limit: false,
                pids_limit: false,
                separate_users: false,
                tmpfs: false,
                nproc_limit: false,
                detail: tried.join("; "),
            },
            kind: Kind::Rlimit,
        })
    }

    pub(crate) fn info(&self) -> &SandboxInfo {
        &self.info
    }

    /// Adds what [`Isolation`] found to the report.
    pub(crate) fn report_isolation(&mut self, iso: &Isolation) {
        self.info.separate_users = iso.users;
        self.info.tmpfs = iso.tmpfs;
        self.info.nproc_limit = iso.users && !self.info.pids_limit;
        self.info.detail = format!("{}; {}", self.info.detail, iso.detail);
        if self.info.nproc_limit {
            self.info.detail.push_str("; processes: RLIMIT_NPROC per function user (no pids cgroup)");
        }
    }

    /// Creates the environment's cgroups (none in rlimit mode) with its memory and process limits.
    /// `cpu_limit`: whether [`EnvSandbox::limit_cpu`] applies a share at all.
    /// `own_user`: the environment runs as its function's user (RLIMIT_NPROC applies to it
    /// when there is no pids cgroup).
    pub(crate) fn create(
        &self,
        env_id: &str,
        memory_mb: u32,
        cpu_limit: bool,
        own_user: bool,
    ) -> io::Result<EnvSandbox> {
        let limit = u64::from(memory_mb) * 1024 * 1024;
        let cgroups = match &self.kind {
            Kind::Rlimit => None,
            Kind::V2 { base } => {
                let dir = base.join(env_id);
                mkdir(&dir)?;
                let cg = EnvCgroups { v2: true, memory: dir.clone(), cpu: None, pids: None };
                let setup = (|| {
                    write(&dir.join("memory.max"), &limit.to_string())?;
                    let _ = write(&dir.join("memory.swap.max"), "0");
                    let _ = write(&dir.join("pids.max"), &MAX_PROCESSES.to_string());
                    io::Result::Ok(())
                })();
                if let Err(e) = setup {
                    cg.remove_now();
                    return Err(e);
                }
                Some(cg)
            }
            Kind::V1 { memory, cpu, pids } => {
                let mem = memory.join(env_id);
                mkdir(&mem)?;
                let mut cg = EnvCgroups { v2: false, memory: mem.clone(), cpu: None, pids: None };
                let setup = (|| {
                    write(&mem.join("memory.limit_in_bytes"), &limit.to_string())?;
                    // No swap either (fails harmlessly where swap accounting is off).
                    let _ = write(&mem.join("memory.memsw.limit_in_bytes"), &limit.to_string());
                    if let Some(cpu) = cpu {
                        let dir = cpu.join(env_id);
                        mkdir(&dir)?;
                        cg.cpu = Some(dir);
                    }
                    if let Some(pids) = pids {
                        let dir = pids.join(env_id);
                        mkdir(&dir)?;
                        write(&dir.join("pids.max"), &MAX_PROCESSES.to_string())?;
                        cg.pids = Some(dir);
                    }
                    io::Result::Ok(())
                })();
                if let Err(e) = setup {
                    cg.remove_now();
                    return Err(e);
                }
                Some(cg)
            }
        };
        Ok(EnvSandbox {
            cgroups,
            limit_bytes: limit,
            sampled_peak: 0,
            sampled_over: false,
            pid: None,
            cpu_limit,
            nproc: own_user && !self.info.pids_limit,
            before_attach: Arc::new(AtomicU64::new(0)),
            counters: Counters::default(),
        })
    }

    /// Removes this manager's cgroup folders (the environments' must be gone already).
    pub(crate) fn cleanup(&self) {
        let dirs: Vec<&PathBuf> = match &self.kind {
            Kind::V2 { base } => vec![base],
            Kind::V1 { memory, cpu, pids } => std::iter::once(memory).chain(cpu).chain(pids).collect(),
            Kind::Rlimit => Vec::new(),
        };
        for d in dirs {
            let _ = fs::remove_dir(d);
        }
    }
}

impl Drop for Sandbox {
    /// Removes this manager's cgroup folders once the environments' are gone (they may still be
    /// going away on their own threads).
    fn drop(&mut self) {
        self.cleanup();
        let dirs: Vec<PathBuf> = match &self.kind {
            Kind::V2 { base } => vec![base.clone()],
            Kind::V1 { memory, cpu, pids } => {
                std::iter::once(memory).chain(cpu).chain(pids).cloned().collect()
            }
            Kind::Rlimit => Vec::new(),
        };
        if dirs.iter().any(|d| d.exists()) {
            std::thread::spawn(move || {
                for _ in 0..150 {
                    for d in &dirs {
                        let _ = fs::remove_dir(d);
                    }
                    if dirs.iter().all(|d| !d.exists()) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
    }
}

/// One environment's limits.
pub(crate) struct EnvSandbox {
    cgroups: Option<EnvCgroups>,
    limit_bytes: u64,
    /// Rlimit mode: the highest tree RSS seen, bytes.
    sampled_peak: u64,
    /// Rlimit mode: the sampler saw the tree over its memory size and killed it.
    sampled_over: bool,
    pid: Option<u32>,
    cpu_limit: bool,
    /// Limit the processes of the function's user with RLIMIT_NPROC (no pids cgroup).
    nproc: bool,
    /// Anonymous memory the process had when it moved into its cgroup (charged elsewhere).
    before_attach: Arc<AtomicU64>,
    /// The files read after every invoke, kept open.
    counters: Counters,
}

/// The kernel files read after every invoke (the runtime's `statm`, its `status` when that
/// can have changed, and the cgroup's peak), opened once and re-read from offset 0: at
/// thousands of invokes a second, a path walk, an open and a close per read cost more than
/// the read itself.
#[derive(Default)]
struct Counters {
    statm: Option<fs::File>,
    status: Option<fs::File>,
    peak: Option<fs::File>,
    /// The runtime's `VmHWM` when last read, bytes.
    hwm: u64,
    /// The cgroup's charge (peak) when `VmHWM` was last read.
    charged: u64,
}

impl Counters {
    /// The runtime's peak resident set, bytes. `status` is costly for the kernel to write
    /// (every field of the process), so it is read only when the peak can have moved: the
    /// current resident set (from `statm`) is above the last peak read, or the cgroup's
    /// peak charge grew since (a peak that came and went between two reads).
    fn vm_hwm(&mut self, pid: u32, charged: u64) -> u64 {
        let rss = reread(&mut self.statm, format!("/proc/{pid}/statm"))
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|pages| pages * rustix::param::page_size() as u64);
        if self.hwm == 0 || charged > self.charged || rss.is_none_or(|rss| rss > self.hwm) {
            self.charged = charged;
            let read = reread(&mut self.status, format!("/proc/{pid}/status"))
                .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:").map(kb)));
            self.hwm = self.hwm.max(read.unwrap_or(0)).max(rss.unwrap_or(0));
        }
        self.hwm
    }
}

/// Reads a procfs or cgroupfs file through `slot` (opened on first use, dropped when a read
/// fails, e.g. once its process is gone). These files are generated on each read from
/// offset 0, so a kept descriptor always gives the current figures.
fn reread(slot: &mut Option<fs::File>, path: impl AsRef<Path>) -> Option<String> {
    use std::os::unix::fs::FileExt;
    if slot.is_none() {
        *slot = fs::File::open(path).ok();
    }
    let file = slot.as_ref()?;
    let mut out = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        match file.read_at(&mut chunk, out.len() as u64) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                *slot = None;
                return None;
            }
        }
        // Every file read here is a few lines; a runaway one is not ours to parse.
        if out.len() > 64 * 1024 {
            break;
        }
    }
    String::from_utf8(out).ok()
}

struct EnvCgroups {
    v2: bool,
    /// The memory cgroup (v1), or the one cgroup (v2).
    memory: PathBuf,
    cpu: Option<PathBuf>,
    pids: Option<PathBuf>,
}

impl EnvCgroups {
    fn dirs(&self) -> impl Iterator<Item = &PathBuf> {
        std::iter::once(&self.memory).chain(&self.cpu).chain(&self.pids)
    }

    fn remove_now(&self) {
        for d in self.dirs() {
            let _ = fs::remove_dir(d);
        }
    }
}

impl EnvSandbox {
    /// The rlimits the environment's process gets (bytes, or counts).
    pub(crate) fn rlimits(&self) -> Vec<(Resource, u64)> {
        let mut limits = vec![(Resource::Nofile, MAX_OPEN_FILES), (Resource::Core, 0)];
        if self.nproc {
            // Counted per user, so across the function's environments: a fallback only.
            limits.push((Resource::Nproc, u64::from(MAX_PROCESSES)));
        }
        if self.cgroups.is_none() {
            // Backstop only: the sampler kills at the memory size. Private writable mappings
            // include thread stacks and V8's committed reservations, so the backstop is loose.
            limits.push((Resource::Data, (self.limit_bytes * 2).max(self.limit_bytes + 512 * 1024 * 1024)));
        }
        limits
    }

    /// Applies the rlimits to a started process (unless `set_by_child`: the process set them
    /// itself before exec) and returns the work that moves it (and what it started meanwhile)
    /// into the cgroups, to run on a blocking thread.
    pub(crate) fn started(&mut self, pid: u32, set_by_child: bool) -> Option<impl FnOnce() + Send + 'static> {
        self.pid = Some(pid);
        let raw = Pid::from_raw(i32::try_from(pid).ok()?)?;
        let limits = if set_by_child { Vec::new() } else { self.rlimits() };
        for (resource, value) in limits {
            let limit = Rlimit { current: Some(value), maximum: Some(value) };
            if let Err(e) = rustix::process::prlimit(Some(raw), resource, limit) {
                tracing::debug!(error = %e, ?resource, "cannot set an rlimit");
            }
        }
        let cg = self.cgroups.as_ref()?;
        let procs: Vec<PathBuf> = cg.dirs().map(|d| d.join("cgroup.procs")).collect();
        let limit_file = cg.memory.join(if cg.v2 { "memory.max" } else { "memory.limit_in_bytes" });
        let (limit, before) = (self.limit_bytes, self.before_attach.clone());
        Some(move || {
            if !attach(&procs, pid) {
                return;
            }
            let anon = rss_anon(pid);
            before.store(anon, Ordering::Relaxed);
            // Keep at least a little room: a limit at zero would kill it at once.
            let rest = limit.saturating_sub(anon).max(limit / 4);
            if let Err(e) = write(&limit_file, &rest.to_string()) {
                tracing::debug!(error = %e, "cannot adjust the memory limit");
            }
        })
    }

    /// Whether the caller must call [`EnvSandbox::sample`] periodically while the function runs.
    pub(crate) fn needs_sampling(&self) -> bool {
        self.cgroups.is_none()
    }

    /// Gives the environment its CPU share: `memory / 1769` vCPUs (at least 1 ms per period).
    pub(crate) fn limit_cpu(&self, memory_mb: u32) {
        let Some(cg) = self.cgroups.as_ref().filter(|_| self.cpu_limit) else { return };
        let quota = (CPU_PERIOD_US * u64::from(memory_mb) / MB_PER_VCPU).max(1000);
        let result = if cg.v2 {
            write(&cg.memory.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))
        } else if let Some(cpu) = &cg.cpu {
            write(&cpu.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())
                .and_then(|()| write(&cpu.join("cpu.cfs_quota_us"), &quota.to_string()))
        } else {
            Ok(())
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "cannot set the cpu share");
        }
    }

    /// Rlimit mode: measures the process tree; kills it (returns true) when over the memory size.
    pub(crate) fn sample(&mut self) -> bool {
        let Some(pid) = self.pid else { return false };
        let (rss, hwm) = tree_memory(pid);
        self.sampled_peak = self.sampled_peak.max(rss).max(hwm);
        if rss > self.limit_bytes && !self.sampled_over {
            self.sampled_over = true;
            return true;
        }
        false
    }

    /// The environment's peak memory so far, bytes: what its cgroup was charged (plus what it
    /// had before it moved in), or its runtime's peak RSS if that is more — the cgroup is not
    /// charged for library pages that other processes loaded first, which RSS counts.
    pub(crate) fn peak_bytes(&mut self) -> u64 {
        let counters = &mut self.counters;
        let parse = |text: Option<String>| text.and_then(|t| t.trim().parse::<u64>().ok());
        let charged = match &self.cgroups {
            Some(cg) if cg.v2 => {
                // `memory.peak` is newer than cgroup v2 itself (Linux 5.19).
                parse(reread(&mut counters.peak, cg.memory.join("memory.peak")))
                    .or_else(|| read_u64(&cg.memory.join("memory.current")))
                    .unwrap_or(0)
                    + self.before_attach.load(Ordering::Relaxed)
            }
            Some(cg) => {
                parse(reread(&mut counters.peak, cg.memory.join("memory.max_usage_in_bytes"))).unwrap_or(0)
                    + self.before_attach.load(Ordering::Relaxed)
            }
            None => {
                if let Some(pid) = self.pid {
                    let (rss, hwm) = tree_memory(pid);
                    self.sampled_peak = self.sampled_peak.max(rss).max(hwm);
                }
                return self.sampled_peak;
            }
        };
        let hwm = match self.pid {
            Some(pid) => counters.vm_hwm(pid, charged),
            None => 0,
        };
        charged.max(hwm)
    }

    /// How many processes of the environment the kernel (or the sampler) killed for memory.
    pub(crate) fn oom_kills(&self) -> u64 {
        match &self.cgroups {
            Some(cg) => {
                let (file, key) =
                    if cg.v2 { ("memory.events", "oom_kill") } else { ("memory.oom_control", "oom_kill") };
                fs::read_to_string(cg.memory.join(file))
                    .ok()
                    .and_then(|text| {
                        text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse::<u64>().ok())
                    })
                    .unwrap_or(0)
            }
            None => u64::from(self.sampled_over),
        }
    }

    /// Kills every process in the environment's cgroup (those that left the process group too).
    pub(crate) fn kill_all(&self) {
        let Some(cg) = &self.cgroups else { return };
        if cg.v2 && write(&cg.memory.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        if let Ok(text) = fs::read_to_string(cg.memory.join("cgroup.procs")) {
            kill_listed(&text);
        }
    }

    /// Removes the cgroups, waiting for their last processes to be reaped.
    pub(crate) async fn remove(mut self) {
        let Some(cg) = self.cgroups.take() else { return };
        for dir in cg.dirs() {
            for attempt in 0..100 {
                match fs::remove_dir(dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) => {
                        if attempt == 99 {
                            tracing::warn!(dir = %dir.display(), error = %e, "cannot remove an environment cgroup");
                        } else {
                            if attempt % 10 == 0 {
                                cg.kill_procs_in(dir);
                            }
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }
        }
    }
}

impl Drop for EnvSandbox {
    /// An environment dropped without `remove` (the manager itself was dropped): kill what is
    /// left and remove the cgroups from a thread, once their processes are gone.
    fn drop(&mut self) {
        let Some(cg) = self.cgroups.take() else { return };
        std::thread::spawn(move || {
            for _ in 0..100 {
                for d in cg.dirs() {
                    cg.kill_procs_in(d);
                }
                cg.remove_now();
                if cg.dirs().all(|d| !d.exists()) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
}

impl EnvCgroups {
    fn kill_procs_in(&self, dir: &Path) {
        if let Ok(text) = fs::read_to_string(dir.join("cgroup.procs")) {
            kill_listed(&text);
        }
    }
}

/// SIGKILL to every pid of a `cgroup.procs` listing.
fn kill_listed(procs: &str) {
    for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()).filter_map(Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
}

/// Moves `pid` into each cgroup (`cgroup.procs` files, memory first), then the descendants it
/// may have started before it was moved. Runs on a blocking thread: see the module docs.
/// False when the process is already gone.
fn attach(procs: &[PathBuf], pid: u32) -> bool {
    for file in procs {
        if let Err(e) = fs::write(file, pid.to_string()) {
            // ESRCH: it already exited, nothing to limit.
            tracing::debug!(file = %file.display(), error = %e, "cannot move a function process into its cgroup");
            return false;
        }
    }
    let mut stack = children(pid);
    let mut moved = 0;
    while let Some(child) = stack.pop() {
        moved += 1;
        if moved > 1024 {
            break;
        }
        for file in procs {
            let _ = fs::write(file, child.to_string());
        }
        stack.extend(children(child));
    }
    true
}

/// `RssAnon` of a process, bytes.
fn rss_anon(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("RssAnon:").map(kb)))
        .unwrap_or(0)
}

fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = fs::read_to_string(task.path().join("children")) {
            out.extend(list.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    out
}

/// `(current RSS of the tree, peak RSS of its root)` in bytes, from `/proc`.
fn tree_memory(root: u32) -> (u64, u64) {
    let mut rss = 0;
    let mut hwm = 0;
    let mut stack = vec![root];
    let mut seen = 0;
    while let Some(pid) = stack.pop() {
        seen += 1;
        if seen > 256 {
            break;
        }
        if let Ok(status) = fs::read_to_string(format!("/proc/{pid}/status")) {
            for line in status.lines() {
                if let Some(v) = line.strip_prefix("VmRSS:") {
                    rss += kb(v);
                } else if pid == root
                    && let Some(v) = line.strip_prefix("VmHWM:")
                {
                    hwm = kb(v);
                }
            }
        }
        if let Ok(children) = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            stack.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    (rss, hwm)
}

fn kb(field: &str) -> u64 {
    field.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap_or(0) * 1024
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    fs::write(path, value).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

fn mkdir(path: &Path) -> io::Result<()> {
    match fs::create_dir(path) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}

/// `(hierarchy id, controllers, path)` lines of `/proc/self/cgroup`.
fn own_cgroups() -> Vec<(String, Vec<String>, String)> {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let id = parts.next()?.to_owned();
            let controllers = parts.next()?.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect();
            let path = parts.next()?.to_owned();
            Some((id, controllers, path))
        })
        .collect()
}

/// Cgroup mounts from `/proc/self/mountinfo`: `(fstype, mount root, mount point, super options)`.
fn cgroup_mounts() -> Vec<(String, String, PathBuf, Vec<String>)> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        // id parent major:minor root mountpoint options [optional fields] - fstype source superopts
        let Some((left, right)) = line.split_once(" - ") else { continue };
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        if left.len() < 5 || right.len() < 3 {
            continue;
        }
        let fstype = right[0];
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let opts = right[2].split(',').map(str::to_owned).collect();
        out.push((fstype.to_owned(), left[3].to_owned(), PathBuf::from(unescape_mount(left[4])), opts));
    }
    out
}

fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// The directory of our own cgroup in a hierarchy mounted at `mount` with root `root`.
fn own_dir(mount: &Path, root: &str, path: &str) -> PathBuf {
    let rel = if root != "/" { path.strip_prefix(root).unwrap_or(path) } else { path };
    mount.join(rel.trim_start_matches('/'))
}

/// Removes cgroups left by managers of processes that no longer exist.
fn remove_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = name.strip_prefix("nimbus-").and_then(|r| r.split('-').next()) else { continue };
        if Path::new("/proc").join(pid).exists() {
            continue;
        }
        if let Ok(children) = fs::read_dir(entry.path()) {
            for child in children.flatten() {
                if child.path().is_dir() {
                    if let Ok(text) = fs::read_to_string(child.path().join("cgroup.procs")) {
                        kill_listed(&text);
                    }
                    let _ = fs::remove_dir(child.path());
                }
            }
        }
        let _ = fs::remove_dir(entry.path());
    }
}

fn v2(name: &str) -> Result<Sandbox, String> {
    let own = own_cgroups();
    let Some((_, _, path)) = own.iter().find(|(id, c, _)| id == "0" && c.is_empty()) else {
        return Err("no unified hierarchy in /proc/self/cgroup".to_owned());
    };
    let Some((_, root, mount, _)) = cgroup_mounts().into_iter().find(|m| m.0 == "cgroup2") else {
        return Err("no cgroup2 mount".to_owned());
    };
    let dir = own_dir(&mount, &root, path);
    let controllers =
        fs::read_to_string(dir.join("cgroup.controllers")).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !controllers.split_whitespace().any(|c| c == "memory") {
        return Err(format!("the memory controller is not delegated to {}", dir.display()));
    }
    let subtree = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
    if !subtree.split_whitespace().any(|c| c == "memory") {
        // Fails with EBUSY when our cgroup holds processes (ours) and is not the root.
        write(&dir.join("cgroup.subtree_control"), "+memory")
            .map_err(|e| format!("cannot enable the memory controller below {}: {e}", dir.display()))?;
    }
    for extra in ["+cpu", "+pids"] {
        let _ = write(&dir.join("cgroup.subtree_control"), extra);
    }
    remove_stale(&dir);
    let base = dir.join(name);
    mkdir(&base).map_err(|e| e.to_string())?;
    let available = fs::read_to_string(base.join("cgroup.controllers")).unwrap_or_default();
    let mut enabled = Vec::new();
    for c in ["memory", "cpu", "pids"] {
        if available.split_whitespace().any(|a| a == c)
            && write(&base.join("cgroup.subtree_control"), &format!("+{c}")).is_ok()
        {
            enabled.push(c);
        }
    }
    if !enabled.contains(&"memory") {
        let _ = fs::remove_dir(&base);
        return Err(format!("cannot enable the memory controller in {}", base.display()));
    }
    let cpu = enabled.contains(&"cpu");
    let pids = enabled.contains(&"pids");
    Ok(Sandbox {
        info: SandboxInfo {
            mode: ActiveSandbox::CgroupV2,
            memory_limit: true,
            cpu_limit: cpu,
            pids_limit: pids,
            separate_users: false,
            tmpfs: false,
            nproc_limit: false,
            detail: format!("cgroup v2 under {} (controllers: {})", base.display(), enabled.join(", ")),
        },
        kind: Kind::V2 { base },
    })
}

fn v1(name: &str) -> Result<Sandbox, String> {
    let own = own_cgroups();
    let mounts = cgroup_mounts();
    let hierarchy = |controller: &str| -> Option<PathBuf> {
        let (_, _, path) = own.iter().find(|(_, c, _)| c.iter().any(|x| x == controller))?;
        let (_, root, mount, _) =
            mounts.iter().find(|m| m.0 == "cgroup" && m.3.iter().any(|o| o == controller))?;
        Some(own_dir(mount, root, path))
    };
    let probe = |dir: &Path, file: &str, value: &str| -> Result<PathBuf, String> {
        remove_stale(dir);
        let base = dir.join(name);
        mkdir(&base).map_err(|e| e.to_string())?;
        let test = base.join("probe");
        let result = mkdir(&test).and_then(|()| write(&test.join(file), value));
        let _ = fs::remove_dir(&test);
        match result {
            Ok(()) => Ok(base),
            Err(e) => {
                let _ = fs::remove_dir(&base);
                Err(e.to_string())
            }
        }
    };
    let mem_dir = hierarchy("memory").ok_or("no memory hierarchy for this process")?;
    let memory = probe(&mem_dir, "memory.limit_in_bytes", "134217728")?;
    let cpu = hierarchy("cpu").and_then(|d| probe(&d, "cpu.cfs_quota_us", "-1").ok());
    let pids = hierarchy("pids").and_then(|d| probe(&d, "pids.max", "1024").ok());
    let detail = format!(
        "cgroup v1: memory under {}, cpu {}, pids {}",
        memory.display(),
        cpu.as_ref().map_or("unavailable".to_owned(), |p| format!("under {}", p.display())),
        pids.as_ref().map_or("unavailable".to_owned(), |p| format!("under {}", p.display())),
    );
    Ok(Sandbox {
        info: SandboxInfo {
            mode: ActiveSandbox::CgroupV1,
            memory_limit: true,
            cpu_limit: cpu.is_some(),
            pids_limit: pids.is_some(),
            separate_users: false,
            tmpfs: false,
            nproc_limit: false,
            detail,
        },
        kind: Kind::V1 { memory, cpu, pids },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_dir_strips_the_mount_root() {
        assert_eq!(
            own_dir(Path::new("/sys/fs/cgroup/memory"), "/", "/a/b"),
            PathBuf::from("/sys/fs/cgroup/memory/a/b")
        );
        assert_eq!(own_dir(Path::new("/sys/fs/cgroup"), "/a", "/a/b"), PathBuf::from("/sys/fs/cgroup/b"));
    }

    #[test]
    fn kb_fields() {
        assert_eq!(kb("    1234 kB"), 1234 * 1024);
        assert_eq!(kb("junk"), 0);
    }
}
