//! How the manager is set up: where environments live, which interpreter runs which runtime,
//! how long idle environments are kept, and which sandbox to use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::function::{Runtime, RuntimeFamily};

/// Which mechanism limits and measures an environment's memory, CPU and processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SandboxMode {
    /// cgroup v2 if this process may create delegated child cgroups with the memory controller,
    /// else cgroup v1 (memory, cpu, pids hierarchies), else rlimits plus RSS sampling.
    #[default]
    Auto,
    CgroupV2,
    CgroupV1,
    /// `RLIMIT_DATA` as a backstop, `RLIMIT_NOFILE`, and the process tree's RSS sampled every
    /// few milliseconds while it runs; over the memory size it is killed. No CPU share.
    Rlimit,
}

/// The interpreter each language runtime runs on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interpreters {
    map: BTreeMap<Runtime, PathBuf>,
}

impl Interpreters {
    /// No interpreters: only `provided.*` functions can run.
    pub fn empty() -> Interpreters {
        Interpreters::default()
    }

    /// Finds interpreters on this machine: `python3.X` from pyenv
    /// (`$PYENV_ROOT` or `~/.pyenv`, `versions/3.X.*/bin/python3`, newest patch), else
    /// `python3.X` or `python3` on `PATH` (pyenv's shims are skipped: they are shell scripts that
    /// cost tens of milliseconds per start); `nodejsNN.x` → `node` on `PATH` for every Node runtime.
    pub fn detect() -> Interpreters {
        let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).filter(|d| !is_shim_dir(d)).collect())
            .unwrap_or_default();
        let on_path = |name: &str| path_dirs.iter().map(|d| d.join(name)).find(|p| is_executable(p));
        let pyenv_root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
        let mut map = BTreeMap::new();
        let generic_python = on_path("python3");
        let node = on_path("node");
        for runtime in Runtime::ALL {
            let found = match (runtime.family(), runtime.language_version()) {
                (RuntimeFamily::Python, Some((major, minor))) => pyenv_root
                    .as_deref()
                    .and_then(|root| pyenv_python(root, major, minor))
                    .or_else(|| on_path(&format!("python{major}.{minor}")))
                    .or_else(|| generic_python.clone()),
                (RuntimeFamily::Node, _) => node.clone(),
                _ => None,
            };
            if let Some(path) = found {
                map.insert(runtime, path);
            }
        }
        Interpreters { map }
    }

    pub fn set(&mut self, runtime: Runtime, interpreter: impl Into<PathBuf>) {
        self.map.insert(runtime, interpreter.into());
    }

    pub fn get(&self, runtime: Runtime) -> Option<&Path> {
        self.map.get(&runtime).map(PathBuf::as_path)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Runtime, &Path)> {
        self.map.iter().map(|(r, p)| (*r, p.as_path()))
    }
}

fn is_shim_dir(dir: &Path) -> bool {
    dir.ends_with("shims")
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `ROOT/versions/3.X.P/bin/python3` with the highest patch `P`.
fn pyenv_python(root: &Path, major: u32, minor: u32) -> Option<PathBuf> {
    let prefix = format!("{major}.{minor}.");
    let mut best: Option<(u32, PathBuf)> = None;
    for entry in std::fs::read_dir(root.join("versions")).ok()?.flatten() {
        let name = entry.file_name();
        let Some(patch) =
            name.to_str().and_then(|n| n.strip_prefix(&prefix)).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let bin = entry.path().join("bin").join("python3");
        if is_executable(&bin) && best.as_ref().is_none_or(|(b, _)| patch > *b) {
            best = Some((patch, bin));
        }
    }
    best.map(|(_, p)| p)
}

/// The manager's settings.
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Environments' task roots, `/opt` copies and tmp folders live under `work_dir/envs`, the
    /// bootstraps under `work_dir/runtime` (`LAMBDA_RUNTIME_DIR`). One manager per `work_dir`:
    /// leftovers of a previous run are removed at start.
    pub work_dir: PathBuf,
    pub interpreters: Interpreters,
    /// An environment unused for this long is stopped (provisioned ones are kept).
    pub idle_timeout: Duration,
    pub sandbox: SandboxMode,
    /// Limit each environment's CPU in proportion to its memory (1,769 MB = 1 vCPU), as Lambda
    /// does, once its init phase is over. Only effective with a cgroup sandbox.
    pub cpu_limit: bool,
    /// How long the init phase (process start to the runtime's first `/next`) may take before
    /// the first invoke's own timeout starts counting too, as on Lambda (10 s).
    pub init_timeout: Duration,
    /// `AWS_ENDPOINT_URL` for functions, so the SDKs inside them call Nimbus.
    pub endpoint_url: Option<String>,
    /// Run each function under a uid/gid of its own (`990000 + slot`) where the server may
    /// change uid (root, or CAP_SETUID/CAP_SETGID/CAP_CHOWN/CAP_KILL). Its environments then
    /// live in a folder beside the system temp dir instead of under `work_dir`.
    pub separate_users: bool,
    /// Mount a tmpfs of the function's ephemeral storage size on each environment's `/tmp`
    /// where the server may mount (CAP_SYS_ADMIN); otherwise its usage is sampled. Off by
    /// default: tmpfs pages count against the function's memory cgroup, so a 128 MB function
    /// writing 200 MB to `/tmp` would be killed for memory, which Lambda does not do; sampling
    /// keeps memory and storage apart at the price of stopping (not ENOSPC) an environment
    /// that goes over.
    pub tmpfs: bool,
}

impl RuntimeConfig {
    /// Detected interpreters, a 10-minute idle timeout (LocalStack's keep-alive), automatic
    /// sandbox choice, CPU limits and user separation on where the host allows, sampled `/tmp`.
    pub fn new(work_dir: impl Into<PathBuf>) -> RuntimeConfig {
        RuntimeConfig {
            work_dir: work_dir.into(),
            interpreters: Interpreters::detect(),
            idle_timeout: Duration::from_secs(600),
            sandbox: SandboxMode::Auto,
            cpu_limit: true,
            init_timeout: Duration::from_secs(10),
            endpoint_url: None,
            separate_users: true,
            tmpfs: false,
        }
    }
}
