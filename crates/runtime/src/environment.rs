//! One execution environment: its folders, its process (in its own process group and cgroups),
//! its Runtime API server and its log task; the init phase, one invocation at a time, and the
//! kill that ends it after a timeout, a crash or an out-of-memory kill.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use crate::api::{ApiServer, Event, Piece, RuntimeMsg};
use crate::config::RuntimeConfig;
use crate::error::RuntimeError;
use crate::fsutil::link_tree;
use crate::function::{FunctionConfig, Invocation, RESERVED_ENV_VARS, RuntimeFamily};
use crate::isolation::{
    FnUser, Isolation, TmpMount, UserLease, protect_env_root, unmount_below, usage, with_shell_limits,
};
use crate::logs::{LogSink, LogWriter, iso_now, now_ms, stream_name};
use crate::outcome::{
    EnvironmentId, ErrorOrigin, FunctionError, InvokeOutcome, InvokeResult, Report, ReportStatus, Response,
    billed,
};
use crate::sandbox::{EnvSandbox, Sandbox};
use tokio::sync::mpsc;

/// How often the rlimit sandbox samples a running environment's memory.
const SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// How often `/tmp` usage is sampled where it is not a size-limited tmpfs.
const TMP_SAMPLE_EVERY: Duration = Duration::from_millis(50);

/// What every environment of a manager shares.
pub(crate) struct EnvContext {
    pub config: RuntimeConfig,
    pub runtime_dir: PathBuf,
    pub envs_dir: PathBuf,
    pub sandbox: Sandbox,
    pub isolation: Isolation,
    /// The folder beside the system temp dir that holds `runtime_dir` and `envs_dir` when
    /// functions have users of their own; removed with the last reference.
    pub shared_base: Option<PathBuf>,
    pub sink: Arc<dyn LogSink>,
}

impl Drop for EnvContext {
    fn drop(&mut self) {
        if let Some(base) = &self.shared_base {
            unmount_below(base);
            let _ = std::fs::remove_dir_all(base);
        }
    }
}

/// Why an environment could not be started.
pub(crate) enum StartFailure {
    /// The platform failed (no interpreter, IO errors).
    Platform(RuntimeError),
    /// The function cannot start (no bootstrap, not executable): an invocation error.
    Function { id: EnvironmentId, stream: String, error: FunctionError, message: String },
}

enum InitState {
    /// Started at this instant; the runtime has not called `/next` yet.
    Pending { spawned: Instant },
    /// Init is over; `report` is the Init Duration the next invocation reports (cold start).
    Done { report: Option<Duration> },
}

pub(crate) struct Environment {
    pub id: EnvironmentId,
    pub config: Arc<FunctionConfig>,
    pub generation: u64,
    pub provisioned: bool,
    pub stream: String,
    pub last_used: Instant,
    child: Child,
    pgid: ProcessGroup,
    api: ApiServer,
    logs: LogWriter,
    limits: EnvSandbox,
    root: PathBuf,
    init: InitState,
    cpu_shared: bool,
    /// The environment's `/tmp`; sampled against `tmp_limit` bytes when `tmp_mount` is none.
    tmp: PathBuf,
    tmp_limit: u64,
    tmp_over: bool,
    /// When `/tmp` was last walked: a warm environment invoked thousands of times a second
    /// is walked at most once per sampling period, not at the start of every invoke.
    tmp_checked: Option<Instant>,
    // Dropped after `limits` (whose drop kills the cgroups' processes): unmount, then the
    // sweep of the function user's processes if this was its last environment.
    tmp_mount: Option<TmpMount>,
    lease: Option<UserLease>,
}

/// How an invocation (or init) ended, before it is turned into an outcome.
enum Ended {
    Response(Response),
    Error(FunctionError),
    /// Over this many bytes.
    TooLarge(usize),
    Timeout,
    Exited(Option<ExitStatus>),
}

/// How a failed init phase ended.
enum InitEnded {
    Error(FunctionError),
    Timeout,
    Exited(Option<ExitStatus>),
}

/// A failed init phase.
struct InitFailure {
    error: FunctionError,
    status: ReportStatus,
    /// The platform's line for the log, if any.
    line: Option<String>,
}

impl Environment {
    /// Prepares the folders, starts the Runtime API server and the process. The init phase runs
    /// from here on; [`Environment::wait_init`] or the first [`Environment::invoke`] waits for it.
    pub(crate) async fn start(
        ctx: &Arc<EnvContext>,
        config: Arc<FunctionConfig>,
        generation: u64,
        provisioned: bool,
    ) -> Result<Environment, StartFailure> {
        let id = EnvironmentId::new();
        let stream = stream_name(&config.version, id.as_str());
        let root = ctx.envs_dir.join(id.as_str());
        let (task, opt, tmp) = (root.join("task"), root.join("opt"), root.join("tmp"));
        let lease = ctx.isolation.lease(&config.function_arn(), config.runtime);
        let user = lease.as_ref().map(|l| l.user);
        prepare_dirs(&config, &task, &opt, &tmp, user).await.map_err(StartFailure::Platform)?;

        let platform = |e: RuntimeError, root: &Path| {
            let _ = std::fs::remove_dir_all(root);
            StartFailure::Platform(e)
        };
        let (program, args) = match command_line(ctx, &config, &task, &opt) {
            Ok(c) => c,
            Err(CommandLineError::Platform(e)) => return Err(platform(e, &root)),
            Err(CommandLineError::Entrypoint(message)) => {
                let _ = std::fs::remove_dir_all(&root);
                let error = FunctionError::platform("Runtime.InvalidEntrypoint", &message);
                return Err(StartFailure::Function { id, stream, error, message });
            }
        };
        let api = match ApiServer::start(user.map(|u| u.uid)).await {
            Ok(a) => a,
            Err(e) => return Err(platform(RuntimeError::ApiServer(e), &root)),
        };
        let limits =
            match ctx.sandbox.create(id.as_str(), config.memory_mb, ctx.config.cpu_limit, user.is_some()) {
                Ok(l) => l,
                Err(e) => {
                    return Err(platform(RuntimeError::Prepare { path: root.clone(), source: e }, &root));
                }
            };
        let vars = environment_variables(ctx, &config, &stream, &api, &task, &opt, &tmp, provisioned);

        // stdout and stderr share one pipe so their lines stay in the order they were written.
        let (reader, writer) = match std::io::pipe() {
            Ok(p) => p,
            Err(e) => return Err(platform(RuntimeError::Spawn(e), &root)),
        };
        let stderr = match writer.try_clone() {
            Ok(w) => w,
            Err(e) => return Err(platform(RuntimeError::Spawn(e), &root)),
        };
        let receiver = match pipe::Receiver::from_owned_fd(std::os::fd::OwnedFd::from(reader)) {
            Ok(r) => r,
            Err(e) => return Err(platform(RuntimeError::Spawn(e), &root)),
        };
        let logs = LogWriter::start(
            receiver,
            ctx.sink.clone(),
            config.scope(),
            config.log_group.clone(),
            stream.clone(),
        );
        logs.line(format!(
            "INIT_START Runtime Version: nimbus:{runtime}\tRuntime Version ARN: arn:aws:lambda:{region}::runtime:nimbus-{runtime}",
            runtime = config.runtime,
            region = config.region,
        ));

        // Without CAP_SYS_RESOURCE we may not set another user's rlimits: it sets its own.
        let limits_in_child = user.is_some() && ctx.isolation.limits_in_child;
        // The shell would turn a bootstrap that cannot be exec'd into an exit status: check it
        // here so it stays Runtime.InvalidEntrypoint.
        let precheck = if limits_in_child { executable(&program) } else { Ok(()) };
        let shown = program.clone();
        let (program, args) = if limits_in_child {
            with_shell_limits(program, args, &limits.rlimits(), ctx.isolation.nproc_flag)
        } else {
            (program, args)
        };
        let tmp_mount = match mount_tmp(&ctx.isolation, &tmp, config.ephemeral_storage_mb, user) {
            Ok(m) => m,
            Err(e) => {
                limits.remove().await;
                return Err(platform(RuntimeError::Prepare { path: tmp.clone(), source: e }, &root));
            }
        };
        let mut cmd = Command::new(&program);
        if let Some(u) = user {
            // std drops supplementary groups (setgroups([])) when root changes uid.
            cmd.uid(u.uid).gid(u.gid);
        }
        cmd.args(&args)
            .env_clear()
            .envs(vars)
            .current_dir(&task)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::from(stderr))
            .process_group(0)
            .kill_on_drop(true);
        let spawned = Instant::now();
        let spawn = precheck.and_then(|()| cmd.spawn());
        // The command holds our copies of the pipe's write end: close them, or EOF never comes.
        drop(cmd);
        let child = match spawn {
            Ok(c) => c,
            Err(e) => {
                limits.remove().await;
                drop(tmp_mount);
                let _ = std::fs::remove_dir_all(&root);
                return Err(match e.kind() {
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound => {
                        let message = format!("fork/exec {}: {}", shown.display(), exec_error_text(&e));
                        let error = FunctionError::platform("Runtime.InvalidEntrypoint", &message);
                        StartFailure::Function { id, stream, error, message }
                    }
                    _ if e.raw_os_error() == Some(rustix::io::Errno::NOEXEC.raw_os_error()) => {
                        let message = format!("fork/exec {}: exec format error", shown.display());
                        let error = FunctionError::platform("Runtime.InvalidEntrypoint", &message);
                        StartFailure::Function { id, stream, error, message }
                    }
                    _ => StartFailure::Platform(RuntimeError::Spawn(e)),
                });
            }
        };
        let mut limits = limits;
        let pid = child.id();
        if let Some(attach) = pid.and_then(|pid| limits.started(pid, limits_in_child)) {
            // Not awaited: the move overlaps the runtime's start (see sandbox.rs).
            tokio::task::spawn_blocking(attach);
        }
        let pgid = ProcessGroup(pid.and_then(|p| i32::try_from(p).ok()).and_then(Pid::from_raw));
        let tmp_limit = u64::from(config.ephemeral_storage_mb) * 1024 * 1024;
        tracing::debug!(env = %id, function = %config.qualified_arn, ?pid, "environment started");
        Ok(Environment {
            id,
            config,
            generation,
            provisioned,
            stream,
            last_used: Instant::now(),
            child,
            pgid,
            api,
            logs,
            limits,
            root,
            init: InitState::Pending { spawned },
            cpu_shared: false,
            tmp_limit,
            tmp,
            tmp_over: false,
            tmp_checked: None,
            tmp_mount,
            lease,
        })
    }

    /// Whether the process is still there (an idle environment's runtime may have exited).
    pub(crate) fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the init phase of a provisioned environment. On failure the environment is
    /// dead and must be destroyed; the error says why.
    pub(crate) async fn wait_provisioned(&mut self, limit: Duration) -> Result<(), FunctionError> {
        let InitState::Pending { spawned } = self.init else { return Ok(()) };
        match self.wait_init(None, spawned + limit).await {
            Ok(_) => {
                // Provisioned environments report no Init Duration.
                self.init = InitState::Done { report: None };
                self.share_cpu();
                Ok(())
            }
            Err(f) => {
                if let Some(line) = f.line {
                    self.logs.line(line);
                }
                Err(f.error)
            }
        }
    }

    async fn wait_init(
        &mut self,
        request_id: Option<&str>,
        deadline: Instant,
    ) -> Result<Duration, InitFailure> {
        let InitState::Pending { spawned } = self.init else { return Ok(Duration::ZERO) };
        let sampling = self.limits.needs_sampling();
        let mut sampler = tokio::time::interval(SAMPLE_EVERY);
        let ended = loop {
            tokio::select! {
                msg = self.api.msgs.recv() => match msg {
                    Some(RuntimeMsg::Next) => {
                        let took = spawned.elapsed();
                        self.init = InitState::Done { report: Some(took) };
                        return Ok(took);
                    }
                    Some(RuntimeMsg::InitError { error_type, body }) => {
                        break InitEnded::Error(runtime_error(error_type, body, ErrorOrigin::Init));
                    }
                    Some(_) => {}
                    None => break InitEnded::Exited(None),
                },
                status = self.child.wait() => {
                    // An init error posted just before exiting wins over the exit.
                    let mut posted = None;
                    while let Ok(msg) = self.api.msgs.try_recv() {
                        if let RuntimeMsg::InitError { error_type, body } = msg {
                            posted = Some(runtime_error(error_type, body, ErrorOrigin::Init));
                        }
                    }
                    break match posted {
                        Some(e) => InitEnded::Error(e),
                        None => InitEnded::Exited(status.ok()),
                    };
                }
                () = tokio::time::sleep_until(deadline.into()) => break InitEnded::Timeout,
                _ = sampler.tick(), if sampling => {
                    if self.limits.sample() {
                        self.kill();
                    }
                }
            }
        };
        self.kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let rid = request_id.unwrap_or("");
        Err(match ended {
            InitEnded::Error(error) => {
                let status = ReportStatus::Error(error.error_type.clone());
                InitFailure { error, status, line: None }
            }
            InitEnded::Timeout => {
                let secs = self.config.timeout.as_secs_f64();
                let error = FunctionError::platform(
                    "Sandbox.Timedout",
                    &format!("RequestId: {rid} Error: Task timed out after {secs:.2} seconds"),
                );
                let line = format!("{} {rid} Task timed out after {secs:.2} seconds", iso_now());
                InitFailure { error, status: ReportStatus::Timeout, line: Some(line) }
            }
            InitEnded::Exited(status) => {
                let (error, line) = self.exit_error(rid, status, false);
                let status = ReportStatus::Error(error.error_type.clone());
                InitFailure { error, status, line: Some(line) }
            }
        })
    }

    /// Runs one invocation. Returns the outcome and whether the environment may be reused. A
    /// streamed response goes to `sink` as it is written, when there is one.
    pub(crate) async fn invoke(
        &mut self,
        inv: Invocation,
        init_timeout: Duration,
        sink: Option<mpsc::Sender<Piece>>,
    ) -> (InvokeOutcome, bool) {
        let request_id = inv.request_id.clone();
        let config = self.config.clone();
        let mut cold = false;
        let mut on_demand_init = None;
        if let InitState::Pending { spawned } = self.init {
            cold = true;
            let deadline = spawned + init_timeout + config.timeout;
            if let Err(f) = self.wait_init(Some(&request_id), deadline).await {
                let init = spawned.elapsed();
                return (self.failed_init(&inv, f, init).await, false);
            }
        }
        if let InitState::Done { report } = &mut self.init {
            on_demand_init = report.take();
        }
        self.logs
            .begin(format!("START RequestId: {} Version: {}", request_id, config.version), inv.tail_logs)
            .await;

        let timeout = config.timeout;
        let dispatched = Instant::now();
        let deadline = dispatched + timeout;
        let deadline_ms = now_ms() + i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let event = Event {
            request_id: request_id.clone(),
            payload: inv.payload,
            deadline_ms,
            invoked_function_arn: inv.invoked_function_arn.unwrap_or_else(|| config.qualified_arn.clone()),
            trace_id: inv.trace_id.unwrap_or_else(new_trace_id),
            client_context: inv.client_context,
            cognito_identity: inv.cognito_identity,
            sink,
        };
        let mut delivered = None;
        let ended = if self.api.events.send(event).await.is_err() {
            Ended::Exited(None)
        } else {
            let sampling = self.limits.needs_sampling();
            let mut sampler = tokio::time::interval(SAMPLE_EVERY);
            let tmp_sampling = self.tmp_mount.is_none();
            let mut tmp_sampler = tokio::time::interval(TMP_SAMPLE_EVERY);
            loop {
                tokio::select! {
                    msg = self.api.msgs.recv() => match msg {
                        Some(msg) => {
                            if let Some(ended) = answer(msg, &request_id, &mut delivered) {
                                break ended;
                            }
                        }
                        None => break Ended::Exited(None),
                    },
                    status = self.child.wait() => {
                        // An answer posted just before the exit wins over the exit.
                        let mut posted = None;
                        while let Ok(msg) = self.api.msgs.try_recv() {
                            if let Some(ended) = answer(msg, &request_id, &mut delivered) {
                                posted = Some(ended);
                            }
                        }
                        break posted.unwrap_or(Ended::Exited(status.ok()));
                    }
                    () = tokio::time::sleep_until(deadline.into()) => break Ended::Timeout,
                    _ = sampler.tick(), if sampling => {
                        if self.limits.sample() {
                            self.kill();
                        }
                    }
                    _ = tmp_sampler.tick(), if tmp_sampling && !self.tmp_over => {
                        if self.tmp_checked.is_some_and(|t| t.elapsed() < TMP_SAMPLE_EVERY) {
                            continue;
                        }
                        self.tmp_checked = Some(Instant::now());
                        if usage(&self.tmp) > self.tmp_limit {
                            self.tmp_over = true;
                            self.kill();
                        }
                    }
                }
            }
        };
        let finished = Instant::now();
        let duration = finished - delivered.unwrap_or(dispatched).min(finished);

        let mut lines = Vec::new();
        let mut status = None;
        let mut reusable = true;
        let result = match ended {
            Ended::Response(r) => InvokeResult::Response(r),
            Ended::Error(e) => InvokeResult::Error(e),
            Ended::TooLarge(limit) => InvokeResult::Error(FunctionError::platform(
                "Function.ResponseSizeTooLarge",
                &format!("Response payload size exceeded maximum allowed payload size ({limit} bytes)."),
            )),
            Ended::Timeout => {
                reusable = false;
                self.kill();
                let secs = timeout.as_secs_f64();
                self.logs.line(format!("{} {request_id} Task timed out after {secs:.2} seconds", iso_now()));
                status = Some(ReportStatus::Timeout);
                InvokeResult::Error(FunctionError::platform(
                    "Sandbox.Timedout",
                    &format!("RequestId: {request_id} Error: Task timed out after {secs:.2} seconds"),
                ))
            }
            Ended::Exited(exit) => {
                reusable = false;
                self.kill();
                let exit = match exit {
                    Some(s) => Some(s),
                    None => tokio::time::timeout(Duration::from_secs(2), self.child.wait())
                        .await
                        .ok()
                        .and_then(Result::ok),
                };
                // Read the last output first: V8's heap-exhaustion message decides the type.
                let heap_oom = self.logs.sync().await;
                let (error, line) = self.exit_error(&request_id, exit, heap_oom);
                lines.push(line);
                status = Some(ReportStatus::Error(error.error_type.clone()));
                InvokeResult::Error(error)
            }
        };
        let out_of_memory = matches!(&status, Some(ReportStatus::Error(t)) if t == "Runtime.OutOfMemory");
        let mut max_memory = mb_ceil(self.limits.peak_bytes());
        if out_of_memory {
            max_memory = max_memory.max(config.memory_mb);
        }
        let billed_duration = billed(duration + on_demand_init.unwrap_or_default());
        let report = Report {
            request_id: request_id.clone(),
            duration,
            billed_duration,
            memory_size_mb: config.memory_mb,
            max_memory_used_mb: max_memory.min(config.memory_mb),
            init_duration: on_demand_init,
            status,
        };
        lines.push(format!("END RequestId: {request_id}"));
        lines.push(report.line());
        let logs = self.logs.finish(lines).await;
        self.last_used = Instant::now();
        if reusable {
            self.share_cpu();
        }
        let outcome = InvokeOutcome {
            request_id,
            result,
            report,
            cold_start: cold,
            environment_id: self.id.clone(),
            log_group: config.log_group.clone(),
            log_stream: self.stream.clone(),
            logs: logs.events,
        };
        (outcome, reusable)
    }

    async fn failed_init(&mut self, inv: &Invocation, f: InitFailure, init: Duration) -> InvokeOutcome {
        let config = self.config.clone();
        let rid = &inv.request_id;
        self.logs.begin(format!("START RequestId: {rid} Version: {}", config.version), inv.tail_logs).await;
        let mut lines = Vec::new();
        if let Some(line) = f.line {
            lines.push(line);
        }
        let report = Report {
            request_id: rid.clone(),
            duration: Duration::ZERO,
            billed_duration: billed(init),
            memory_size_mb: config.memory_mb,
            max_memory_used_mb: mb_ceil(self.limits.peak_bytes()),
            init_duration: Some(init),
            status: Some(f.status),
        };
        lines.push(format!("END RequestId: {rid}"));
        lines.push(report.line());
        let logs = self.logs.finish(lines).await;
        InvokeOutcome {
            request_id: rid.clone(),
            result: InvokeResult::Error(f.error),
            report,
            cold_start: true,
            environment_id: self.id.clone(),
            log_group: config.log_group.clone(),
            log_stream: self.stream.clone(),
            logs: logs.events,
        }
    }

    /// `Runtime.OutOfMemory` when the kernel or the sampler killed it for memory (or V8 ran
    /// out of heap), else `Runtime.ExitError` with the exit status. Returns the error and the
    /// platform's log line.
    fn exit_error(
        &self,
        request_id: &str,
        status: Option<ExitStatus>,
        heap_oom: bool,
    ) -> (FunctionError, String) {
        use std::os::unix::process::ExitStatusExt as _;
        let reason = match status {
            _ if self.tmp_over => format!(
                "Runtime exited with error: signal: killed (/tmp went over its {} MB of ephemeral storage)",
                self.config.ephemeral_storage_mb
            ),
            Some(s) if s.code() == Some(0) => "Runtime exited without providing a reason".to_owned(),
            Some(s) if s.code().is_some() => {
                format!("Runtime exited with error: exit status {}", s.code().unwrap_or_default())
            }
            Some(s) => match s.signal() {
                Some(sig) => format!("Runtime exited with error: signal: {}", signal_name(sig)),
                None => "Runtime exited without providing a reason".to_owned(),
            },
            None => "Runtime exited without providing a reason".to_owned(),
        };
        let error_type =
            if self.limits.oom_kills() > 0 || heap_oom { "Runtime.OutOfMemory" } else { "Runtime.ExitError" };
        let message = format!("RequestId: {request_id} Error: {reason}");
        let line = format!("{message}\n{error_type}");
        (FunctionError::platform(error_type, &message), line)
    }

    /// Gives the environment its CPU share (memory / 1,769 MB of a vCPU) from now on. Until then
    /// — the init phase and the first invocation of an on-demand environment — it runs with the
    /// machine's CPU: Lambda gives init burst CPU, and the first invocation here also pays the
    /// runtime's own first-call costs (lazy compilation, first JSON parse), which would otherwise
    /// stretch a 128 MB cold start several times over.
    fn share_cpu(&mut self) {
        if !self.cpu_shared {
            self.cpu_shared = true;
            self.limits.limit_cpu(self.config.memory_mb);
        }
    }

    /// Kills the whole process group and everything left in the cgroups, at once.
    fn kill(&mut self) {
        self.pgid.kill();
        self.limits.kill_all();
    }

    /// Stops the environment and removes everything it had.
    pub(crate) async fn destroy(mut self) {
        self.kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        let Environment { api, logs, limits, root, id, tmp_mount, lease, .. } = self;
        drop(api);
        drop(logs);
        limits.remove().await;
        let _ = tokio::task::spawn_blocking(move || {
            drop(lease);
            drop(tmp_mount);
            std::fs::remove_dir_all(root)
        })
        .await;
        tracing::debug!(env = %id, "environment stopped");
    }
}

/// The environment's process group, killed when the environment is dropped without
/// [`Environment::destroy`] (a last resort: `kill_on_drop` only kills the leader).
struct ProcessGroup(Option<Pid>);

impl ProcessGroup {
    fn kill(&self) {
        if let Some(pgid) = self.0 {
            let _ = kill_process_group(pgid, Signal::KILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Matches a runtime message against the invocation in flight.
fn answer(msg: RuntimeMsg, request_id: &str, delivered: &mut Option<Instant>) -> Option<Ended> {
    match msg {
        RuntimeMsg::Delivered { request_id: id, at } if id == request_id => {
            *delivered = Some(at);
            None
        }
        RuntimeMsg::Response { request_id: id, body, content_type, streamed } if id == request_id => {
            Some(Ended::Response(Response { payload: body, content_type, streamed }))
        }
        RuntimeMsg::StreamError { request_id: id, error_type, body, streamed } if id == request_id => {
            let error = runtime_error(Some(error_type), body, ErrorOrigin::Function);
            Some(Ended::Error(FunctionError { streamed, ..error }))
        }
        RuntimeMsg::TooLarge { request_id: id, limit } if id == request_id => Some(Ended::TooLarge(limit)),
        RuntimeMsg::Error { request_id: id, error_type, body } if id == request_id => {
            Some(Ended::Error(runtime_error(error_type, body, ErrorOrigin::Function)))
        }
        // A runtime that fails its init again mid-invoke (it should not).
        RuntimeMsg::InitError { error_type, body } => {
            Some(Ended::Error(runtime_error(error_type, body, ErrorOrigin::Init)))
        }
        _ => None,
    }
}

/// The error a runtime posted: its body as is when it is a JSON object, else wrapped in AWS's
/// shape. The type is the body's `errorType`, else the header, else `Unhandled`.
fn runtime_error(header_type: Option<String>, body: Bytes, origin: ErrorOrigin) -> FunctionError {
    let parsed: Option<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&body).ok();
    match parsed {
        Some(obj) => {
            let error_type = obj
                .get("errorType")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .or(header_type)
                .unwrap_or_else(|| "Unhandled".to_owned());
            FunctionError { error_type, payload: body, origin, streamed: Bytes::new() }
        }
        None => {
            let error_type = header_type.unwrap_or_else(|| "Unhandled".to_owned());
            let message = String::from_utf8_lossy(&body).into_owned();
            FunctionError { origin, ..FunctionError::platform(&error_type, &message) }
        }
    }
}

fn mb_ceil(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024 * 1024)).unwrap_or(u32::MAX)
}

/// Go's names for signals, which Lambda's messages use (`signal: killed`).
fn signal_name(sig: i32) -> String {
    let names = [
        (Signal::KILL, "killed"),
        (Signal::ABORT, "aborted"),
        (Signal::SEGV, "segmentation fault"),
        (Signal::TERM, "terminated"),
        (Signal::BUS, "bus error"),
        (Signal::ILL, "illegal instruction"),
        (Signal::FPE, "floating point exception"),
        (Signal::INT, "interrupt"),
        (Signal::HUP, "hangup"),
        (Signal::PIPE, "broken pipe"),
        (Signal::XCPU, "CPU time limit exceeded"),
        (Signal::XFSZ, "file size limit exceeded"),
    ];
    names
        .iter()
        .find(|(s, _)| s.as_raw() == sig)
        .map_or_else(|| format!("signal {sig}"), |(_, n)| (*n).to_owned())
}

/// NotFound, or PermissionDenied when no execute bit is set.
fn executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o111 == 0 {
        return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
    }
    Ok(())
}

fn exec_error_text(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied",
        std::io::ErrorKind::NotFound => "no such file or directory",
        _ => "exec error",
    }
}

/// `Root=1-<8 hex time>-<24 hex>;Parent=<16 hex>;Sampled=0`, X-Ray's trace header.
fn new_trace_id() -> String {
    let secs = u64::try_from(now_ms() / 1000).unwrap_or_default();
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{secs:08x}-{};Parent={};Sampled=0", &a[..24], &b[..16])
}

async fn prepare_dirs(
    config: &FunctionConfig,
    task: &Path,
    opt: &Path,
    tmp: &Path,
    user: Option<FnUser>,
) -> Result<(), RuntimeError> {
    let code = config.code_dir.clone();
    let layers = config.layers.clone();
    let root = task.parent().map(Path::to_path_buf);
    let (task, opt, tmp) = (task.to_owned(), opt.to_owned(), tmp.to_owned());
    let job = move || -> Result<(), RuntimeError> {
        let prep = |path: &Path, r: std::io::Result<()>| {
            r.map_err(|source| RuntimeError::Prepare { path: path.to_owned(), source })
        };
        prep(&code, link_tree(&code, &task))?;
        prep(&opt, std::fs::create_dir_all(&opt))?;
        for layer in &layers {
            prep(layer, link_tree(layer, &opt))?;
        }
        prep(&tmp, std::fs::create_dir_all(&tmp))?;
        if let Some(root) = tmp.parent() {
            prep(root, protect_env_root(root, &tmp, user))?;
        }
        Ok(())
    };
    let result = tokio::task::spawn_blocking(job).await.map_err(|e| RuntimeError::Internal(e.to_string()))?;
    if result.is_err()
        && let Some(root) = root
    {
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(root)).await;
    }
    result
}

/// The environment's `/tmp` as a tmpfs of its ephemeral storage size, where the host allows.
fn mount_tmp(
    isolation: &Isolation,
    tmp: &Path,
    size_mb: u32,
    user: Option<FnUser>,
) -> std::io::Result<Option<TmpMount>> {
    if !isolation.tmpfs {
        return Ok(None);
    }
    TmpMount::mount(tmp, size_mb, user).map(Some)
}

enum CommandLineError {
    Platform(RuntimeError),
    /// The function's own entry point is missing: `Runtime.InvalidEntrypoint`.
    Entrypoint(String),
}

/// The program and arguments that start this function's runtime.
fn command_line(
    ctx: &EnvContext,
    config: &FunctionConfig,
    task: &Path,
    opt: &Path,
) -> Result<(PathBuf, Vec<std::ffi::OsString>), CommandLineError> {
    let interpreter = || {
        ctx.config
            .interpreters
            .get(config.runtime)
            .map(Path::to_path_buf)
            .ok_or(CommandLineError::Platform(RuntimeError::NoInterpreter(config.runtime)))
    };
    let (program, args): (PathBuf, Vec<std::ffi::OsString>) = match config.runtime.family() {
        RuntimeFamily::Python => (
            interpreter()?,
            // -S: no `site` (its .pth hooks belong to the host and cost tens of ms); the
            // bootstrap puts site-packages on the path itself. -u: unbuffered output, so every
            // line is in the pipe before the response is posted.
            vec!["-S".into(), "-u".into(), ctx.runtime_dir.join("bootstrap.py").into(), opt.into()],
        ),
        // No V8 heap flag (`--max-old-space-size`): any V8 flag makes Node reject its built-in
        // code cache and costs ~15-20 ms per start here; the cgroup enforces memory.
        RuntimeFamily::Node => {
            (interpreter()?, vec![ctx.runtime_dir.join("bootstrap.cjs").into(), opt.into()])
        }
        RuntimeFamily::Provided => {
            let candidates = [task.join("bootstrap"), opt.join("bootstrap")];
            match candidates.iter().find(|p| p.is_file()) {
                Some(p) => (p.clone(), Vec::new()),
                None => {
                    return Err(CommandLineError::Entrypoint(format!(
                        "Couldn't find valid bootstrap(s): [{} {}]",
                        candidates[0].display(),
                        candidates[1].display()
                    )));
                }
            }
        }
    };
    // AWS_LAMBDA_EXEC_WRAPPER: a script that gets the runtime's command line and execs it.
    // Layers name it by its Lambda path (`/opt/…`); here /opt and the task root are per
    // environment, so those paths are mapped.
    if config.runtime.family() != RuntimeFamily::Provided
        && let Some(wrapper) = config.environment.get("AWS_LAMBDA_EXEC_WRAPPER")
    {
        let wrapper = if let Some(rest) = wrapper.strip_prefix("/opt/") {
            opt.join(rest)
        } else if let Some(rest) = wrapper.strip_prefix("/var/task/") {
            task.join(rest)
        } else {
            PathBuf::from(wrapper)
        };
        let mut wrapped = vec![program.into_os_string()];
        wrapped.extend(args);
        return Ok((wrapper, wrapped));
    }
    Ok((program, args))
}

/// The environment Lambda gives a runtime, built from nothing (the server's own variables never
/// leak in), then the function's own variables (reserved names skipped).
#[allow(clippy::too_many_arguments)]
fn environment_variables(
    ctx: &EnvContext,
    config: &FunctionConfig,
    stream: &str,
    api: &ApiServer,
    task: &Path,
    opt: &Path,
    tmp: &Path,
    provisioned: bool,
) -> BTreeMap<String, String> {
    let runtime_dir = ctx.runtime_dir.display().to_string();
    let (task_s, opt_s, tmp_s) =
        (task.display().to_string(), opt.display().to_string(), tmp.display().to_string());
    let mut v = BTreeMap::new();
    let mut set = |k: &str, val: String| {
        v.insert(k.to_owned(), val);
    };
    set("AWS_LAMBDA_FUNCTION_NAME", config.function_name.clone());
    set("AWS_LAMBDA_FUNCTION_VERSION", config.version.clone());
    set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", config.memory_mb.to_string());
    set("AWS_LAMBDA_FUNCTION_TIMEOUT", config.timeout.as_secs().to_string());
    set("AWS_LAMBDA_LOG_GROUP_NAME", config.log_group.clone());
    set("AWS_LAMBDA_LOG_STREAM_NAME", stream.to_owned());
    set("AWS_LAMBDA_RUNTIME_API", api.addr.to_string());
    set(
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        if provisioned { "provisioned-concurrency" } else { "on-demand" }.to_owned(),
    );
    set("_HANDLER", config.handler.clone());
    set("LAMBDA_TASK_ROOT", task_s.clone());
    set("LAMBDA_RUNTIME_DIR", runtime_dir.clone());
    set("AWS_REGION", config.region.to_string());
    set("AWS_DEFAULT_REGION", config.region.to_string());
    if config.runtime.family() != RuntimeFamily::Provided {
        set("AWS_EXECUTION_ENV", format!("AWS_Lambda_{}", config.runtime));
    }
    set("AWS_ACCESS_KEY_ID", config.credentials.access_key_id.clone());
    set("AWS_SECRET_ACCESS_KEY", config.credentials.secret_access_key.clone());
    if let Some(token) = &config.credentials.session_token {
        set("AWS_SESSION_TOKEN", token.clone());
    }
    if let Some(url) = &ctx.config.endpoint_url {
        set("AWS_ENDPOINT_URL", url.clone());
    }
    set("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR".to_owned());
    set("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000".to_owned());
    set("_AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1".to_owned());
    set("_AWS_XRAY_DAEMON_PORT", "2000".to_owned());
    set("TZ", ":UTC".to_owned());
    set("LANG", "en_US.UTF-8".to_owned());
    let interpreter_bin = match config.runtime.family() {
        RuntimeFamily::Provided => None,
        _ => ctx
            .config
            .interpreters
            .get(config.runtime)
            .and_then(Path::parent)
            .map(|p| p.display().to_string()),
    };
    let mut path = interpreter_bin.map(|b| format!("{b}:")).unwrap_or_default();
    path.push_str(&format!("/usr/local/bin:/usr/bin:/bin:{opt_s}/bin"));
    set("PATH", path);
    set(
        "LD_LIBRARY_PATH",
        format!("/lib64:/usr/lib64:{runtime_dir}:{runtime_dir}/lib:{task_s}:{task_s}/lib:{opt_s}/lib"),
    );
    match (config.runtime.family(), config.runtime.language_version()) {
        (RuntimeFamily::Python, _) => set("PYTHONPATH", runtime_dir.clone()),
        (RuntimeFamily::Node, Some((major, _))) => set(
            "NODE_PATH",
            format!(
                "{opt_s}/nodejs/node{major}/node_modules:{opt_s}/nodejs/node_modules:{runtime_dir}/node_modules:{runtime_dir}:{task_s}"
            ),
        ),
        _ => {}
    }
    set("TMPDIR", tmp_s.clone());
    set("HOME", tmp_s);
    for (k, val) in &config.environment {
        if !RESERVED_ENV_VARS.contains(&k.as_str()) {
            v.insert(k.clone(), val.clone());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posted_errors_keep_their_body() {
        let e = runtime_error(
            Some("Unhandled".into()),
            Bytes::from_static(br#"{"errorMessage":"boom","errorType":"ValueError"}"#),
            ErrorOrigin::Function,
        );
        assert_eq!(e.error_type, "ValueError");
        assert_eq!(&e.payload[..], br#"{"errorMessage":"boom","errorType":"ValueError"}"#);
        let e =
            runtime_error(Some("Runtime.Weird".into()), Bytes::from_static(b"not json"), ErrorOrigin::Init);
        assert_eq!(e.error_type, "Runtime.Weird");
        assert_eq!(&e.payload[..], br#"{"errorType":"Runtime.Weird","errorMessage":"not json"}"#);
        assert_eq!(e.origin, ErrorOrigin::Init);
    }

    #[test]
    fn trace_ids_look_like_xrays() {
        let t = new_trace_id();
        assert!(t.starts_with("Root=1-"), "{t}");
        assert_eq!(
            t.len(),
            "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0".len()
        );
    }
}
