//! Keeping functions apart on one host: a user of its own per function (when the server may
//! change uid), the folder modes that keep code and `/tmp` private to that user, a size-limited
//! tmpfs as each environment's `/tmp` (when the server may mount), and killing whatever a
//! function's user still runs once its last environment is gone.
//!
//! Each mechanism is detected once, at start, and falls back on its own: without uid separation
//! every function runs as the server's user (readable code, no per-user process limit); without
//! tmpfs, `/tmp` usage is sampled while an invocation runs.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io;
use std::os::unix::fs::{PermissionsExt, chown};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::mount::{MountFlags, UnmountFlags};
use rustix::process::{Pid, Signal};

use crate::config::RuntimeConfig;
use crate::function::Runtime;

/// Function users are `UID_BASE + slot` (group id the same); no `/etc/passwd` entry is needed.
pub const UID_BASE: u32 = 990_000;
const SLOTS: u32 = 65_536;

/// Capability bits of `CapEff` (linux/capability.h).
const CAP_CHOWN: u32 = 0;
const CAP_KILL: u32 = 5;
const CAP_SETGID: u32 = 6;
const CAP_SETUID: u32 = 7;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_SYS_RESOURCE: u32 = 24;

/// A function's user and group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FnUser {
    pub uid: u32,
    pub gid: u32,
}

/// What this host lets us do, decided once per manager.
pub(crate) struct Isolation {
    /// Each function runs under its own uid/gid.
    pub users: bool,
    /// Each environment's `/tmp` is a tmpfs of the function's ephemeral storage size.
    pub tmpfs: bool,
    /// Runtimes whose interpreter an unprivileged user cannot reach (they run as the server's
    /// user), with the reason.
    pub exempt: Vec<(Runtime, String)>,
    /// Set when this process may not set another user's rlimits (no CAP_SYS_RESOURCE): a
    /// function process then sets its own with `/bin/sh`'s `ulimit` before it execs the runtime.
    pub limits_in_child: bool,
    /// How `/bin/sh` spells the process-count limit (`-u` in bash and busybox, `-p` in dash).
    pub nproc_flag: Option<&'static str>,
    /// What was tried and why something is off, in words.
    pub detail: String,
    registry: Arc<Mutex<Registry>>,
}

#[derive(Default)]
struct Registry {
    /// Function ARN → (slot, live environments).
    by_function: HashMap<String, (u32, usize)>,
    /// Slot → function ARN, to probe past hash collisions.
    taken: HashMap<u32, String>,
}

/// Whether this process may give functions users of their own (and chown their folders, and
/// kill their processes).
pub(crate) fn may_separate_users() -> bool {
    let caps = effective_caps();
    [CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_KILL].iter().all(|c| caps & (1u64 << c) != 0)
}

impl Isolation {
    /// Decides uid separation (config allows it and we hold CAP_SETUID, CAP_SETGID, CAP_CHOWN
    /// and CAP_KILL) and tmpfs `/tmp` (config allows it, CAP_SYS_ADMIN, and a probe mount in
    /// `probe_dir` works).
    pub(crate) fn detect(config: &RuntimeConfig, probe_dir: &Path) -> Isolation {
        let caps = effective_caps();
        let has = |cap: u32| caps & (1u64 << cap) != 0;
        let mut notes = Vec::new();
        let users = if !config.separate_users {
            notes.push("uid separation: off by configuration".to_owned());
            false
        } else if may_separate_users() {
            notes.push(format!(
                "uid separation: one user per function from uid {UID_BASE}, Runtime API clients checked through {}",
                crate::peer::method()
            ));
            true
        } else {
            notes.push(
                "uid separation: unavailable (needs root or CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_KILL); functions run as the server's user"
                    .to_owned(),
            );
            false
        };
        let tmpfs = if !config.tmpfs {
            notes.push("/tmp: usage sampled (tmpfs off by configuration)".to_owned());
            false
        } else if !has(CAP_SYS_ADMIN) {
            notes.push("/tmp: usage sampled (mounting a tmpfs needs CAP_SYS_ADMIN)".to_owned());
            false
        } else {
            match probe_tmpfs(probe_dir) {
                Ok(()) => {
                    notes.push("/tmp: a tmpfs of the function's ephemeral storage size".to_owned());
                    true
                }
                Err(e) => {
                    notes.push(format!("/tmp: usage sampled (cannot mount a tmpfs: {e})"));
                    false
                }
            }
        };
        let limits_in_child = users && !has(CAP_SYS_RESOURCE);
        let nproc_flag = if limits_in_child { shell_nproc_flag() } else { None };
        if limits_in_child {
            notes.push(format!(
                "rlimits: set by the function process through /bin/sh's ulimit (no CAP_SYS_RESOURCE{})",
                if nproc_flag.is_none() { "; this shell cannot limit processes" } else { "" }
            ));
        }
        let mut exempt = Vec::new();
        if users {
            for (runtime, path) in config.interpreters.iter() {
                if let Err(why) = reachable_by_others(path) {
                    exempt.push((runtime, why));
                }
            }
            if !exempt.is_empty() {
                let list: Vec<String> = exempt.iter().map(|(r, why)| format!("{r} ({why})")).collect();
                notes.push(format!(
                    "runtimes that run as the server's user because their interpreter is out of a function user's reach: {}",
                    list.join(", ")
                ));
            }
        }
        Isolation {
            users,
            tmpfs,
            exempt,
            limits_in_child,
            nproc_flag,
            detail: notes.join("; "),
            registry: Arc::default(),
        }
    }

    /// The user an environment of `function_arn` runs as, or `None` (no separation, or its
    /// runtime is exempt). Hold the lease as long as the environment lives.
    pub(crate) fn lease(&self, function_arn: &str, runtime: Runtime) -> Option<UserLease> {
        if !self.users || self.exempt.iter().any(|(r, _)| *r == runtime) {
            return None;
        }
        let mut reg = lock(&self.registry);
        let slot = match reg.by_function.get_mut(function_arn) {
            Some((slot, live)) => {
                *live += 1;
                *slot
            }
            None => {
                // A stable slot (the same function gets the same uid in every run), moved on
                // past slots another function holds.
                let mut slot = stable_hash(function_arn) % SLOTS;
                while reg.taken.contains_key(&slot) {
                    slot = (slot + 1) % SLOTS;
                }
                reg.taken.insert(slot, function_arn.to_owned());
                reg.by_function.insert(function_arn.to_owned(), (slot, 1));
                slot
            }
        };
        let id = UID_BASE + slot;
        Some(UserLease {
            user: FnUser { uid: id, gid: id },
            function_arn: function_arn.to_owned(),
            registry: self.registry.clone(),
        })
    }
}

/// An environment's claim on its function's user. When the function's last environment lets
/// go, every process still running as that user is killed: a daemon that left the process
/// group and (in rlimit mode) was never in a cgroup cannot outlive its environments.
pub(crate) struct UserLease {
    pub user: FnUser,
    function_arn: String,
    registry: Arc<Mutex<Registry>>,
}

impl Drop for UserLease {
    fn drop(&mut self) {
        let mut reg = lock(&self.registry);
        let last = match reg.by_function.get_mut(&self.function_arn) {
            Some((_, live)) => {
                *live = live.saturating_sub(1);
                *live == 0
            }
            None => false,
        };
        if last {
            // Under the lock, so a new environment of the function cannot start meanwhile and
            // lose its processes to this sweep.
            kill_user(self.user.uid);
        }
    }
}

/// SIGKILL to every process whose real or effective uid is `uid`, until none is left (a fork
/// bomb refills the list while it is killed; its user's process limit makes it converge).
pub(crate) fn kill_user(uid: u32) {
    for round in 0..50 {
        let pids = processes_of(uid);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
        if round > 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    tracing::warn!(uid, "processes of a function user survived the sweep");
}

fn processes_of(uid: u32) -> Vec<Pid> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(status) = fs::read_to_string(entry.path().join("status")) else { continue };
        let owned = status.lines().find_map(|l| l.strip_prefix("Uid:")).is_some_and(|ids| {
            ids.split_whitespace().take(2).filter_map(|v| v.parse::<u32>().ok()).any(|v| v == uid)
        });
        if owned && let Some(pid) = Pid::from_raw(pid) {
            out.push(pid);
        }
    }
    out
}

/// The folders of one environment, private to its user: the root `0750 root:<gid>` (the
/// function reads its task root and `/opt` through it, nobody else gets in), `tmp` owned by the
/// user, `0700`. Without a user the root is `0700` (the server's user only).
pub(crate) fn protect_env_root(root: &Path, tmp: &Path, user: Option<FnUser>) -> io::Result<()> {
    match user {
        Some(u) => {
            chown(root, Some(0), Some(u.gid))?;
            fs::set_permissions(root, fs::Permissions::from_mode(0o750))?;
            chown(tmp, Some(u.uid), Some(u.gid))?;
        }
        None => fs::set_permissions(root, fs::Permissions::from_mode(0o700))?,
    }
    fs::set_permissions(tmp, fs::Permissions::from_mode(0o700))
}

/// A tmpfs mounted on an environment's tmp folder; unmounted when dropped.
pub(crate) struct TmpMount {
    path: PathBuf,
}

impl TmpMount {
    /// Mounts a tmpfs of `size_mb` on `path`, owned by `user` (else by us), mode `0700`. Its
    /// pages are charged to the memory cgroup of whoever writes them.
    pub(crate) fn mount(path: &Path, size_mb: u32, user: Option<FnUser>) -> io::Result<TmpMount> {
        let mut data = format!("size={size_mb}m,mode=0700");
        if let Some(u) = user {
            data.push_str(&format!(",uid={},gid={}", u.uid, u.gid));
        }
        let data = CString::new(data).map_err(io::Error::other)?;
        rustix::mount::mount(
            "nimbus-tmp",
            path,
            "tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            Some(data.as_c_str()),
        )?;
        Ok(TmpMount { path: path.to_owned() })
    }
}

impl Drop for TmpMount {
    fn drop(&mut self) {
        // Detached: a process of the environment that is still dying cannot keep it busy.
        if let Err(e) = rustix::mount::unmount(&self.path, UnmountFlags::DETACH) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot unmount an environment's /tmp");
        }
    }
}

/// Unmounts our tmpfs `/tmp`s below `dir` (a killed server leaves them), deepest first, so
/// that removing the folder never descends into a mounted file system.
pub(crate) fn unmount_below(dir: &Path) {
    let Ok(text) = fs::read_to_string("/proc/self/mountinfo") else { return };
    let mut points: Vec<PathBuf> = text
        .lines()
        .filter(|l| l.contains(" - tmpfs nimbus-tmp "))
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(p.replace("\\040", " ").replace("\\134", "\\")))
        .filter(|p| p.starts_with(dir) && p != dir)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in points {
        let _ = rustix::mount::unmount(&p, UnmountFlags::DETACH);
    }
}

/// Bytes used by the files under `dir` (at most 100,000 entries are looked at).
pub(crate) fn usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > 100_000 {
                return total;
            }
            let Ok(meta) = entry.path().symlink_metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

/// Where a manager's environments live when functions have users of their own: a folder
/// beside the system temp dir that every user may traverse, because the server's data dir
/// (where `work_dir` usually is) is `0700`.
pub(crate) fn shared_base(work_dir: &Path) -> PathBuf {
    std::env::temp_dir().join(format!("nimbus-envs-{:016x}", stable_hash(&work_dir.display().to_string())))
}

/// Sets the modes of the shared layout: the base and `envs` traversable but not listable
/// (`0711`), the bootstraps readable (`0755`, files `0644`).
pub(crate) fn open_layout(base: &Path, runtime_dir: &Path, envs_dir: &Path) -> io::Result<()> {
    fs::set_permissions(base, fs::Permissions::from_mode(0o711))?;
    fs::set_permissions(envs_dir, fs::Permissions::from_mode(0o711))?;
    fs::set_permissions(runtime_dir, fs::Permissions::from_mode(0o755))?;
    for entry in fs::read_dir(runtime_dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o644))?;
        }
    }
    Ok(())
}

/// Whether a user other than the owner may execute `path`: every folder on the way (of the
/// path and of what it resolves to) has `o+x`, and the file too.
fn reachable_by_others(path: &Path) -> Result<(), String> {
    let real = fs::canonicalize(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for p in [path, real.as_path()] {
        for dir in p.ancestors().skip(1) {
            if let Ok(meta) = fs::metadata(dir)
                && meta.permissions().mode() & 0o001 == 0
            {
                return Err(format!("{} is not searchable by other users", dir.display()));
            }
        }
    }
    let mode = fs::metadata(&real).map_err(|e| e.to_string())?.permissions().mode();
    if mode & 0o001 == 0 {
        return Err(format!("{} is not executable by other users", real.display()));
    }
    Ok(())
}

/// Which `ulimit` flag of `/bin/sh` sets the process count, tried by setting it to its value.
fn shell_nproc_flag() -> Option<&'static str> {
    ["-u", "-p"].into_iter().find(|flag| {
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("ulimit {flag} \"$(ulimit {flag})\""))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// The command line that sets `limits` on itself with `/bin/sh`'s `ulimit`, then execs
/// `program args`.
pub(crate) fn with_shell_limits(
    program: PathBuf,
    args: Vec<std::ffi::OsString>,
    limits: &[(rustix::process::Resource, u64)],
    nproc_flag: Option<&str>,
) -> (PathBuf, Vec<std::ffi::OsString>) {
    use rustix::process::Resource;
    let mut script = String::new();
    for (resource, value) in limits {
        let (flag, value) = match resource {
            Resource::Nofile => ("-n", *value),
            Resource::Core => ("-c", *value),
            // In KiB.
            Resource::Data => ("-d", value / 1024),
            Resource::Nproc => match nproc_flag {
                Some(f) => (f, *value),
                None => continue,
            },
            _ => continue,
        };
        script.push_str(&format!("ulimit {flag} {value} 2>/dev/null; "));
    }
    script.push_str("exec \"$@\"");
    let mut out: Vec<std::ffi::OsString> = vec!["-c".into(), script.into(), "sh".into(), program.into()];
    out.extend(args);
    (PathBuf::from("/bin/sh"), out)
}

fn probe_tmpfs(dir: &Path) -> io::Result<()> {
    let probe = dir.join(".tmpfs-probe");
    fs::create_dir_all(&probe)?;
    let result = TmpMount::mount(&probe, 1, None).map(drop);
    let _ = fs::remove_dir(&probe);
    result
}

/// `CapEff` of this process (all bits set for root without a bounding set).
fn effective_caps() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:").and_then(|v| u64::from_str_radix(v.trim(), 16).ok()))
        })
        .unwrap_or(0)
}

/// FNV-1a: the same value in every run and build (std's hasher promises neither).
fn stable_hash(s: &str) -> u32 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    s.hash(&mut h);
    let v = h.finish();
    (v ^ (v >> 32)) as u32
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_stable_and_distinct() {
        assert_eq!(stable_hash("arn:a"), stable_hash("arn:a"));
        let iso = Isolation {
            users: true,
            tmpfs: false,
            exempt: Vec::new(),
            limits_in_child: false,
            nproc_flag: None,
            detail: String::new(),
            registry: Arc::default(),
        };
        let a = iso.lease("arn:a", Runtime::ProvidedAl2023).expect("lease");
        let a2 = iso.lease("arn:a", Runtime::ProvidedAl2023).expect("lease");
        let b = iso.lease("arn:b", Runtime::ProvidedAl2023).expect("lease");
        assert_eq!(a.user, a2.user);
        assert_ne!(a.user, b.user);
        assert!(a.user.uid >= UID_BASE && a.user.uid < UID_BASE + SLOTS);
    }

    #[test]
    fn others_cannot_reach_into_a_private_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("tool");
        fs::write(&bin, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(reachable_by_others(&bin).is_err());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711)).expect("chmod");
        assert_eq!(reachable_by_others(&bin), Ok(()));
    }
}
