//! The pools: per function version (qualified ARN) a set of warm environments, reused most
//! recently used first (provisioned ones before on-demand ones), new ones started when none is
//! free, idle ones reaped, broken ones (timeout, crash, out of memory, failed init) thrown away.
//!
//! Every invocation runs in its own task, so a caller that stops waiting (a client that hung
//! up) cannot leave an environment half way through an invocation: the task finishes it and
//! puts the environment back.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::api::Piece;
use crate::config::RuntimeConfig;
use crate::environment::{EnvContext, Environment, StartFailure};
use crate::error::RuntimeError;
use crate::fsutil::write_atomic;
use crate::function::{FunctionConfig, Invocation};
use crate::isolation::{self, Isolation};
use crate::logs::{LogEvent, LogSink, now_ms};
use crate::outcome::{EnvironmentId, FunctionError, InvokeOutcome, InvokeResult, Report, ReportStatus};
use crate::sandbox::{Sandbox, SandboxInfo};
use crate::stream::{STREAM_BUFFER, Streamed};

const PYTHON_BOOTSTRAP: &str = include_str!("../bootstrap/bootstrap.py");
const PYTHON_RUNTIME: &str = include_str!("../bootstrap/nimbus_runtime.py");
const NODE_BOOTSTRAP: &str = include_str!("../bootstrap/bootstrap.cjs");

/// How many environments of a version exist, for the control plane (provisioned concurrency
/// status) and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Initialised and waiting for an invocation.
    pub idle: usize,
    /// Running an invocation, or starting for one.
    pub busy: usize,
    /// Provisioned environments alive or starting.
    pub provisioned: usize,
    /// The provisioned concurrency asked for with [`RuntimeManager::prewarm`].
    pub provisioned_target: usize,
}

/// Runs invocations on pooled execution environments. Cheap to share behind an `Arc`; must be
/// created inside a tokio runtime (it starts the idle reaper).
pub struct RuntimeManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RuntimeManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeManager")
            .field("sandbox", &self.inner.ctx.sandbox.info().mode)
            .finish_non_exhaustive()
    }
}

struct Inner {
    // Before `ctx`: environments go before the folder they live in.
    pools: Mutex<HashMap<String, Pool>>,
    ctx: Arc<EnvContext>,
    generations: AtomicU64,
    shut_down: AtomicBool,
    reaper: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

struct Pool {
    config: Arc<FunctionConfig>,
    /// Environments of another generation (an older config) are not put back.
    generation: u64,
    /// Most recently used last.
    idle: Vec<Environment>,
    busy: usize,
    provisioned_target: usize,
    provisioned_live: usize,
}

impl RuntimeManager {
    /// Writes the bootstraps, clears leftovers of a previous run under `work_dir`, picks the
    /// sandbox (logged once at info level) and starts the idle reaper.
    pub fn new(config: RuntimeConfig, sink: Arc<dyn LogSink>) -> Result<RuntimeManager, RuntimeError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            RuntimeError::Internal("RuntimeManager::new must run inside a tokio runtime".to_owned())
        })?;
        // Functions with users of their own cannot get into the server's data dir (0700), where
        // `work_dir` usually is: their environments live beside the system temp dir instead.
        let shared_base = (config.separate_users && isolation::may_separate_users())
            .then(|| isolation::shared_base(&config.work_dir));
        let base = shared_base.clone().unwrap_or_else(|| config.work_dir.clone());
        let runtime_dir = base.join("runtime");
        let envs_dir = base.join("envs");
        let prepare = |path: &Path, r: std::io::Result<()>| {
            r.map_err(|source| RuntimeError::Prepare { path: path.to_owned(), source })
        };
        prepare(&runtime_dir, std::fs::create_dir_all(&runtime_dir))?;
        let py = runtime_dir.join("bootstrap.py");
        prepare(&py, write_atomic(&py, PYTHON_BOOTSTRAP.as_bytes()))?;
        let py = runtime_dir.join("nimbus_runtime.py");
        prepare(&py, write_atomic(&py, PYTHON_RUNTIME.as_bytes()))?;
        let js = runtime_dir.join("bootstrap.cjs");
        prepare(&js, write_atomic(&js, NODE_BOOTSTRAP.as_bytes()))?;
        let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
        isolation::unmount_below(&base);
        prepare(&envs_dir, clear_leftover_envs(&base, &envs_dir, tag))?;
        prepare(&envs_dir, std::fs::create_dir_all(&envs_dir))?;
        if shared_base.is_some() {
            prepare(&base, isolation::open_layout(&base, &runtime_dir, &envs_dir))?;
        }
        let isolation = Isolation::detect(&config, &envs_dir);
        let mut sandbox = Sandbox::detect(config.sandbox, tag)?;
        sandbox.report_isolation(&isolation);
        let info = sandbox.info();
        tracing::info!(
            mode = ?info.mode,
            memory_limit = info.memory_limit,
            cpu_limit = info.cpu_limit && config.cpu_limit,
            pids_limit = info.pids_limit,
            separate_users = info.separate_users,
            tmpfs = info.tmpfs,
            nproc_limit = info.nproc_limit,
            detail = %info.detail,
            "function sandbox"
        );
        let idle_timeout = config.idle_timeout;
        let ctx =
            Arc::new(EnvContext { config, runtime_dir, envs_dir, sandbox, isolation, shared_base, sink });
        let inner = Arc::new(Inner {
            pools: Mutex::new(HashMap::new()),
            ctx,
            generations: AtomicU64::new(1),
            shut_down: AtomicBool::new(false),
            reaper: Mutex::new(None),
        });
        let reaper = handle.spawn(reap(Arc::downgrade(&inner), idle_timeout));
        *lock(&inner.reaper) = Some(reaper);
        Ok(RuntimeManager { inner })
    }

    /// What the sandbox enforces on this host.
    pub fn sandbox(&self) -> &SandboxInfo {
        self.inner.ctx.sandbox.info()
    }

    /// `LAMBDA_RUNTIME_DIR`: where the Python and Node bootstraps are.
    pub fn runtime_dir(&self) -> &Path {
        &self.inner.ctx.runtime_dir
    }

    /// Runs one invocation: on a warm environment of `config.qualified_arn` if one is free, else
    /// on a new one (a cold start). Function failures of every kind are an `Ok` outcome with
    /// [`InvokeResult::Error`]; `Err` means the platform could not run the function at all.
    /// Concurrent calls run on separate environments.
    pub async fn invoke(
        &self,
        config: &FunctionConfig,
        invocation: Invocation,
    ) -> Result<InvokeOutcome, RuntimeError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(RuntimeError::ShutDown);
        }
        let (checkout, stale) = self.inner.checkout(config);
        destroy_all(stale);
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.run(checkout, invocation, None).await })
            .await
            .map_err(|e| RuntimeError::Internal(format!("invocation task failed: {e}")))?
    }

    /// [`invoke`](Self::invoke), but a response the function streams (Node's
    /// `awslambda.streamifyResponse`, `Lambda-Runtime-Function-Response-Mode: streaming`) is
    /// handed over as it is written, up to Lambda's 200 MB, instead of once it ended. The
    /// invocation runs in a task of its own: a caller that goes away frees the environment
    /// once the function ends (or times out), as usual.
    pub async fn invoke_streaming(
        &self,
        config: &FunctionConfig,
        invocation: Invocation,
    ) -> Result<Streamed, RuntimeError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(RuntimeError::ShutDown);
        }
        let (checkout, stale) = self.inner.checkout(config);
        destroy_all(stale);
        let inner = self.inner.clone();
        let (sink, pieces) = tokio::sync::mpsc::channel(STREAM_BUFFER);
        let task = tokio::spawn(async move { inner.run(checkout, invocation, Some(sink)).await });
        crate::stream::started(pieces, task).await
    }

    /// Provisioned concurrency: keeps `n` initialised environments of this version (they are
    /// never reaped, and their invocations report no Init Duration). Starts the missing ones and
    /// waits for their init; stops surplus idle ones (busy ones when they finish). An init
    /// failure is returned as [`RuntimeError::InitFailed`].
    pub async fn prewarm(&self, config: &FunctionConfig, n: usize) -> Result<(), RuntimeError> {
        if self.inner.shut_down.load(Ordering::Acquire) {
            return Err(RuntimeError::ShutDown);
        }
        let (config, generation, missing, stale) = {
            let mut pools = lock(&self.inner.pools);
            let (pool, mut stale) = self.inner.pool_for(&mut pools, config);
            pool.provisioned_target = n;
            while pool.provisioned_live > n {
                let Some(pos) = pool.idle.iter().position(|e| e.provisioned) else { break };
                stale.push(pool.idle.remove(pos));
                pool.provisioned_live -= 1;
            }
            let missing = n.saturating_sub(pool.provisioned_live);
            pool.provisioned_live += missing;
            (pool.config.clone(), pool.generation, missing, stale)
        };
        destroy_all(stale);
        self.inner.clone().provision(config, generation, missing).await
    }

    /// Throws away the environments of one version (its code or configuration changed): idle
    /// ones now, busy ones when their invocation ends. Also drops its provisioned target.
    pub fn evict(&self, qualified_arn: &str) {
        let pool = lock(&self.inner.pools).remove(qualified_arn);
        if let Some(pool) = pool {
            destroy_all(pool.idle);
        }
    }

    /// [`evict`](Self::evict) for every version of a function (`arn:…:function:NAME`).
    pub fn evict_function(&self, function_arn: &str) {
        let prefix = format!("{function_arn}:");
        let removed: Vec<Pool> = {
            let mut pools = lock(&self.inner.pools);
            let keys: Vec<String> =
                pools.keys().filter(|k| *k == function_arn || k.starts_with(&prefix)).cloned().collect();
            keys.iter().filter_map(|k| pools.remove(k)).collect()
        };
        for pool in removed {
            destroy_all(pool.idle);
        }
    }

    pub fn status(&self, qualified_arn: &str) -> PoolStatus {
        let pools = lock(&self.inner.pools);
        pools
            .get(qualified_arn)
            .map(|p| PoolStatus {
                idle: p.idle.len(),
                busy: p.busy,
                provisioned: p.provisioned_live,
                provisioned_target: p.provisioned_target,
            })
            .unwrap_or_default()
    }

    /// Stops every environment and the reaper; later calls fail with [`RuntimeError::ShutDown`].
    /// Environments busy with an invocation are stopped when it ends.
    pub async fn shutdown(&self) {
        self.inner.shut_down.store(true, Ordering::Release);
        if let Some(reaper) = lock(&self.inner.reaper).take() {
            reaper.abort();
        }
        let pools: Vec<Pool> = lock(&self.inner.pools).drain().map(|(_, p)| p).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for pool in pools {
            for env in pool.idle {
                tasks.spawn(env.destroy());
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

impl Drop for RuntimeManager {
    fn drop(&mut self) {
        if let Some(reaper) = lock(&self.inner.reaper).take() {
            reaper.abort();
        }
    }
}

/// What `checkout` found.
struct Checkout {
    config: Arc<FunctionConfig>,
    generation: u64,
    env: Option<Environment>,
}

impl Inner {
    /// The pool for `config`, replacing its environments if the config changed. Returns the
    /// environments to destroy.
    fn pool_for<'a>(
        &self,
        pools: &'a mut HashMap<String, Pool>,
        config: &FunctionConfig,
    ) -> (&'a mut Pool, Vec<Environment>) {
        let mut stale = Vec::new();
        let pool = pools.entry(config.qualified_arn.clone()).or_insert_with(|| Pool {
            config: Arc::new(config.clone()),
            generation: self.generations.fetch_add(1, Ordering::Relaxed),
            idle: Vec::new(),
            busy: 0,
            provisioned_target: 0,
            provisioned_live: 0,
        });
        if *pool.config != *config {
            pool.config = Arc::new(config.clone());
            pool.generation = self.generations.fetch_add(1, Ordering::Relaxed);
            stale.append(&mut pool.idle);
            pool.busy = 0;
            pool.provisioned_target = 0;
            pool.provisioned_live = 0;
        }
        (pool, stale)
    }

    /// Takes a warm environment (provisioned first, then the most recently used) or reserves a
    /// slot for a new one.
    fn checkout(&self, config: &FunctionConfig) -> (Checkout, Vec<Environment>) {
        let mut pools = lock(&self.pools);
        let (pool, mut stale) = self.pool_for(&mut pools, config);
        pool.busy += 1;
        loop {
            let pick =
                pool.idle.iter().rposition(|e| e.provisioned).or_else(|| pool.idle.len().checked_sub(1));
            let Some(pos) = pick else { break };
            let mut env = pool.idle.remove(pos);
            if env.is_alive() {
                let c = Checkout { config: pool.config.clone(), generation: pool.generation, env: Some(env) };
                return (c, stale);
            }
            if env.provisioned {
                pool.provisioned_live = pool.provisioned_live.saturating_sub(1);
            }
            stale.push(env);
        }
        (Checkout { config: pool.config.clone(), generation: pool.generation, env: None }, stale)
    }

    /// Puts an environment back after an invocation, or destroys it. Starts a replacement for a
    /// provisioned environment that was lost.
    fn checkin(self: &Arc<Self>, env: Environment, reusable: bool) {
        let mut replace = None;
        let doomed = {
            let mut pools = lock(&self.pools);
            match pools.get_mut(&env.config.qualified_arn) {
                Some(pool) if pool.generation == env.generation => {
                    pool.busy = pool.busy.saturating_sub(1);
                    let surplus = env.provisioned && pool.provisioned_live > pool.provisioned_target;
                    if reusable && !surplus && !self.shut_down.load(Ordering::Acquire) {
                        let mut env = env;
                        env.last_used = Instant::now();
                        pool.idle.push(env);
                        None
                    } else {
                        if env.provisioned {
                            pool.provisioned_live = pool.provisioned_live.saturating_sub(1);
                            if pool.provisioned_live < pool.provisioned_target {
                                pool.provisioned_live += 1;
                                replace = Some((pool.config.clone(), pool.generation));
                            }
                        }
                        Some(env)
                    }
                }
                _ => Some(env),
            }
        };
        if let Some(env) = doomed {
            tokio::spawn(env.destroy());
        }
        if let Some((config, generation)) = replace {
            let inner = self.clone();
            tokio::spawn(async move {
                if let Err(e) = inner.provision(config, generation, 1).await {
                    tracing::warn!(error = %e, "cannot replace a provisioned environment");
                }
            });
        }
    }

    /// Releases a slot reserved by `checkout` for an environment that never started.
    fn release_slot(&self, qualified_arn: &str, generation: u64) {
        let mut pools = lock(&self.pools);
        if let Some(pool) = pools.get_mut(qualified_arn)
            && pool.generation == generation
        {
            pool.busy = pool.busy.saturating_sub(1);
        }
    }

    async fn run(
        self: Arc<Self>,
        checkout: Checkout,
        invocation: Invocation,
        sink: Option<tokio::sync::mpsc::Sender<Piece>>,
    ) -> Result<InvokeOutcome, RuntimeError> {
        let Checkout { config, generation, env } = checkout;
        let mut env = match env {
            Some(env) => env,
            None => match Environment::start(&self.ctx, config.clone(), generation, false).await {
                Ok(env) => env,
                Err(StartFailure::Platform(e)) => {
                    self.release_slot(&config.qualified_arn, generation);
                    return Err(e);
                }
                Err(StartFailure::Function { id, stream, message, .. }) => {
                    self.release_slot(&config.qualified_arn, generation);
                    return Ok(self.entrypoint_failure(&config, invocation, id, stream, &message));
                }
            },
        };
        let (outcome, reusable) = env.invoke(invocation, self.ctx.config.init_timeout, sink).await;
        self.checkin(env, reusable);
        Ok(outcome)
    }

    /// Starts `count` provisioned environments and waits for their init.
    async fn provision(
        self: Arc<Self>,
        config: Arc<FunctionConfig>,
        generation: u64,
        count: usize,
    ) -> Result<(), RuntimeError> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..count {
            let ctx = self.ctx.clone();
            let config = config.clone();
            let init_timeout = self.ctx.config.init_timeout;
            tasks.spawn(async move {
                let mut env = match Environment::start(&ctx, config, generation, true).await {
                    Ok(env) => env,
                    Err(StartFailure::Platform(e)) => return Err(e),
                    Err(StartFailure::Function { error, .. }) => {
                        return Err(init_failed(&error));
                    }
                };
                match env.wait_provisioned(init_timeout).await {
                    Ok(()) => Ok(env),
                    Err(error) => {
                        env.destroy().await;
                        Err(init_failed(&error))
                    }
                }
            });
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.unwrap_or_else(|e| Err(RuntimeError::Internal(e.to_string())));
            let mut pools = lock(&self.pools);
            let pool = pools.get_mut(&config.qualified_arn).filter(|p| p.generation == generation);
            match (result, pool) {
                (Ok(env), Some(pool)) if !self.shut_down.load(Ordering::Acquire) => pool.idle.push(env),
                (Ok(env), _) => {
                    drop(pools);
                    tokio::spawn(env.destroy());
                }
                (Err(e), pool) => {
                    if let Some(pool) = pool {
                        pool.provisioned_live = pool.provisioned_live.saturating_sub(1);
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The outcome of an invocation whose environment could not even start its process (no
    /// bootstrap, not executable): `Runtime.InvalidEntrypoint`, with its log lines.
    fn entrypoint_failure(
        &self,
        config: &FunctionConfig,
        inv: Invocation,
        id: EnvironmentId,
        stream: String,
        message: &str,
    ) -> InvokeOutcome {
        let rid = inv.request_id;
        let error = FunctionError::platform(
            "Runtime.InvalidEntrypoint",
            &format!("RequestId: {rid} Error: {message}"),
        );
        let report = Report {
            request_id: rid.clone(),
            duration: Duration::ZERO,
            billed_duration: Duration::ZERO,
            memory_size_mb: config.memory_mb,
            max_memory_used_mb: 0,
            init_duration: None,
            status: Some(ReportStatus::Error("Runtime.InvalidEntrypoint".to_owned())),
        };
        let lines = [
            format!("START RequestId: {rid} Version: {}", config.version),
            format!("RequestId: {rid} Error: {message}\nRuntime.InvalidEntrypoint"),
            format!("END RequestId: {rid}"),
            report.line(),
        ];
        let events: Vec<LogEvent> =
            lines.into_iter().map(|message| LogEvent { timestamp_ms: now_ms(), message }).collect();
        self.ctx.sink.put(&config.scope(), &config.log_group, &stream, events.clone());
        InvokeOutcome {
            request_id: rid,
            result: InvokeResult::Error(error),
            report,
            cold_start: true,
            environment_id: id,
            log_group: config.log_group.clone(),
            log_stream: stream,
            logs: if inv.tail_logs { events } else { Vec::new() },
        }
    }
}

fn init_failed(error: &FunctionError) -> RuntimeError {
    RuntimeError::InitFailed {
        error_type: error.error_type.clone(),
        message: error.message().unwrap_or_else(|| String::from_utf8_lossy(&error.payload).into_owned()),
    }
}

/// Clears the environments of a previous run. After a SIGKILL of the server its function
/// processes outlive it for a moment (they stop once their Runtime API is gone) and may still be
/// writing into their environments, so deleting the tree in place can fail with "Directory not
/// empty". Moving it aside is atomic and cannot race them; the moved trees are then deleted
/// best-effort, now or at a later start.
fn clear_leftover_envs(work_dir: &Path, envs_dir: &Path, tag: &str) -> std::io::Result<()> {
    if envs_dir.exists() {
        std::fs::rename(envs_dir, work_dir.join(format!("envs.stale-{tag}")))?;
    }
    for entry in std::fs::read_dir(work_dir)?.flatten() {
        if entry.file_name().to_string_lossy().starts_with("envs.stale-")
            && let Err(e) = std::fs::remove_dir_all(entry.path())
        {
            tracing::debug!(path = %entry.path().display(), error = %e, "leftover environments not removed yet");
        }
    }
    Ok(())
}

fn destroy_all(envs: Vec<Environment>) {
    for env in envs {
        tokio::spawn(env.destroy());
    }
}

/// Stops on-demand environments idle for `idle_timeout`; ends when the manager is gone.
async fn reap(inner: Weak<Inner>, idle_timeout: Duration) {
    let tick = (idle_timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(10));
    loop {
        tokio::time::sleep(tick).await;
        let Some(inner) = inner.upgrade() else { return };
        let expired: Vec<Environment> = {
            let mut pools = lock(&inner.pools);
            let mut expired = Vec::new();
            for pool in pools.values_mut() {
                let mut i = 0;
                while i < pool.idle.len() {
                    let env = &pool.idle[i];
                    if !env.provisioned && env.last_used.elapsed() >= idle_timeout {
                        expired.push(pool.idle.remove(i));
                    } else {
                        i += 1;
                    }
                }
            }
            pools.retain(|_, p| !p.idle.is_empty() || p.busy > 0 || p.provisioned_target > 0);
            expired
        };
        if !expired.is_empty() {
            tracing::debug!(count = expired.len(), "reaping idle environments");
        }
        destroy_all(expired);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftover_environments_are_moved_aside_and_removed() {
        let work = tempfile::tempdir().expect("tempdir");
        let envs = work.path().join("envs");
        std::fs::create_dir_all(envs.join("f-1/task/__pycache__")).expect("mkdir");
        std::fs::write(envs.join("f-1/task/__pycache__/app.pyc"), b"x").expect("write");
        std::fs::create_dir_all(work.path().join("envs.stale-older/f-2")).expect("mkdir");
        std::fs::create_dir_all(work.path().join("runtime")).expect("mkdir");
        clear_leftover_envs(work.path(), &envs, "t1").expect("cleared");
        let mut left: Vec<String> = std::fs::read_dir(work.path())
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["runtime"]);
        // A first start has nothing to clear.
        clear_leftover_envs(work.path(), &envs, "t2").expect("nothing to clear");
    }
}
