//! Where Lambda invocations live for the console. Two forms, both fed by Lambda through
//! `ports::InvocationRecorder` as each invocation ends:
//!
//! - a [`FunctionSummary`] per function and time slot, in memory — a minute per slot for the
//!   last hour, an hour per slot before, dropped past `--console-retention` — so the function
//!   list, the cold-start analysis and the cost page add up a few slots per function instead
//!   of reading anyone's logs; memory is bounded by functions × (60 + retention hours) slots;
//! - every invocation's record (REPORT figures, trigger, trace, log stream) in the store's
//!   `console.invocations` table, keyed per function newest first, so any page of a function's
//!   invocations is one range scan however many there are. One background thread commits them
//!   in batches (the invoke path only queues), and purges what is past the retention.
//!
//! Persisted rather than rebuilt from CloudWatch Logs at start: the logs do not carry what
//! invoked a function (its caller's span lives in the bounded, in-memory trace store) nor how
//! many invocations were running when it began, and reading one small record per invocation
//! back is cheaper than parsing three or more log lines. So at start a background thread reads
//! the records still within the retention back into the summaries; until it is done the
//! summaries say they are incomplete.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use ports::{
    Architecture, FunctionSummary, InvocationCursor, InvocationOutcome, InvocationPage, InvocationReader,
    InvocationRecord, InvocationRecorder, Summaries, Trigger, TriggerKind,
};
use serde::{Deserialize, Serialize};
use storage::{Batch, KeyRange, Kv};
use types::trace::{SpanId, TraceId};
use types::{AccountId, Region, Scope};

use crate::traces::TraceStore;

/// The table of invocation records.
pub const TABLE: &str = "console.invocations";
const SHARDS: usize = 32;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// The summary name invocations go to once `max_functions` functions have one.
const OVERFLOW: &str = "(other)";
/// Records waiting for the writer at most; past it records are summarised but not kept (a
/// stalled disk must not grow memory without bound).
const MAX_QUEUED: usize = 100_000;
/// Puts in one commit at most.
const MAX_PER_COMMIT: usize = 5_000;
/// How long a record waits for its caller's span to be recorded: a synchronous Invoke's own
/// request is recorded by the gateway only once it has answered, just after the invocation.
const TRIGGER_WAIT_MS: i64 = 2_000;
/// How often the writer looks again for the callers of records that wait for them.
const TRIGGER_POLL: Duration = Duration::from_millis(50);
/// Keys read per scan when reading records back or purging.
const PAGE: usize = 1_024;
/// How long the writer, woken from idle by a record, waits for the records of the invocations
/// running alongside before it commits: a wake-up and a commit per millisecond rather than per
/// invocation at thousands of invocations a second.
const LINGER: Duration = Duration::from_millis(1);

/// How long invocations are kept and for how many functions at most.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub retention_ms: i64,
    pub max_functions: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { retention_ms: 24 * HOUR_MS, max_functions: 100_000 }
    }
}

pub struct InvocationStore {
    limits: Limits,
    kv: Arc<dyn Kv>,
    traces: Arc<TraceStore>,
    shards: [RwLock<HashMap<u64, Vec<Arc<Cell>>>>; SHARDS],
    hasher: std::hash::RandomState,
    cells: AtomicUsize,
    queue: Arc<Shared>,
    /// Records from before this start have been read back.
    loaded: AtomicBool,
    /// When this store was made: records that ended before it were written by an earlier run.
    boot_ms: i64,
}

/// One function's summaries.
struct Cell {
    scope: Scope,
    function: Box<str>,
    /// Oldest first, not overlapping: minute slots, and hour slots once they are an hour old.
    slots: Mutex<VecDeque<Slot>>,
}

impl Cell {
    /// The slots that overlap `[since, until)`, merged.
    fn summary(&self, since_ms: i64, until_ms: Option<i64>) -> FunctionSummary {
        let until = until_ms.unwrap_or(i64::MAX);
        let slots = lock(&self.slots);
        let mut sum = FunctionSummary::default();
        for s in slots.iter().filter(|s| s.end_ms > since_ms && s.start_ms < until) {
            sum.merge(&s.summary);
        }
        sum
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Slot {
    start_ms: i64,
    end_ms: i64,
    summary: FunctionSummary,
}

struct Shared {
    state: Mutex<Queue>,
    work: Condvar,
    done: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Records not yet handed to a commit, oldest first.
    pending: Vec<InvocationRecord>,
    /// Records in the commit under way: still shown to readers until it is done.
    inflight: Vec<InvocationRecord>,
    submitted: u64,
    committed: u64,
    dropped: u64,
    shutdown: bool,
    /// The writer thread could not start: nothing will be committed.
    dead: bool,
    /// The writer waits for work: only then does a new record need to wake it.
    idle: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InvocationStore {
    pub fn new(kv: Arc<dyn Kv>, traces: Arc<TraceStore>, limits: Limits, now_ms: i64) -> InvocationStore {
        InvocationStore {
            limits,
            kv,
            traces,
            shards: std::array::from_fn(|_| RwLock::default()),
            hasher: std::hash::RandomState::new(),
            cells: AtomicUsize::new(0),
            queue: Arc::new(Shared { state: Mutex::default(), work: Condvar::new(), done: Condvar::new() }),
            loaded: AtomicBool::new(false),
            boot_ms: now_ms,
        }
    }

    /// Starts the writer thread and reads the records of earlier runs back, in the background.
    pub fn start(self: &Arc<Self>) {
        self.start_writer();
        self.start_loading();
    }

    fn start_writer(self: &Arc<Self>) {
        let store = self.clone();
        let writer = std::thread::Builder::new().name("invocations-writer".to_owned()).spawn(move || {
            store.write_loop();
        });
        if let Err(e) = writer {
            tracing::error!(error = %e, "cannot start the invocation writer; invocations are summarised but not kept");
            lock(&self.queue.state).dead = true;
        }
    }

    fn start_loading(self: &Arc<Self>) {
        let store = self.clone();
        let reader = std::thread::Builder::new().name("invocations-load".to_owned()).spawn(move || {
            let now = now_ms();
            match store.load(now) {
                Ok(n) => tracing::info!(invocations = n, "console: invocations of earlier runs read back"),
                Err(e) => tracing::error!(error = %e, "console: reading invocations back failed"),
            }
            store.loaded.store(true, Ordering::Release);
        });
        if let Err(e) = reader {
            tracing::error!(error = %e, "cannot read invocations of earlier runs back");
            self.loaded.store(true, Ordering::Release);
        }
    }

    fn hash(&self, scope: &Scope, function: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        scope.hash(&mut h);
        function.hash(&mut h);
        h.finish()
    }

    /// The cell of a function, made on first use (or the overflow cell past the limit).
    fn cell(&self, scope: &Scope, function: &str) -> Arc<Cell> {
        let hash = self.hash(scope, function);
        let shard = &self.shards[(hash as usize) % SHARDS];
        let matches = |c: &Arc<Cell>| &*c.function == function && c.scope == *scope;
        {
            let map = shard.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = map.get(&hash).and_then(|v| v.iter().find(|c| matches(c))) {
                return cell.clone();
            }
        }
        if self.cells.load(Ordering::Relaxed) >= self.limits.max_functions && function != OVERFLOW {
            return self.cell(scope, OVERFLOW);
        }
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        let list = map.entry(hash).or_default();
        if let Some(cell) = list.iter().find(|c| matches(c)) {
            return cell.clone();
        }
        let cell =
            Arc::new(Cell { scope: scope.clone(), function: function.into(), slots: Mutex::default() });
        list.push(cell.clone());
        self.cells.fetch_add(1, Ordering::Relaxed);
        cell
    }

    fn all(&self) -> Vec<Arc<Cell>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let map = shard.read().unwrap_or_else(PoisonError::into_inner);
            out.extend(map.values().flatten().cloned());
        }
        out
    }

    /// Adds a record to its function's summary.
    fn summarise(&self, r: &InvocationRecord) {
        let cell = self.cell(&r.scope, &r.function);
        let mut slots = lock(&cell.slots);
        add_to_slots(&mut slots, r);
    }

    /// Compacts every summary as of `now_ms`, forgets functions left with nothing, and purges
    /// stored records past the retention. Runs once a minute, off the async workers.
    pub fn roll(&self, now_ms: i64) {
        for cell in self.all() {
            compact(&mut lock(&cell.slots), now_ms, self.limits.retention_ms);
        }
        for shard in &self.shards {
            let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
            let before: usize = map.values().map(Vec::len).sum();
            map.retain(|_, cells| {
                cells.retain(|c| !lock(&c.slots).is_empty());
                !cells.is_empty()
            });
            let after: usize = map.values().map(Vec::len).sum();
            self.cells.fetch_sub(before - after, Ordering::Relaxed);
        }
        match self.purge(now_ms - self.limits.retention_ms) {
            Ok(0) => {}
            Ok(n) => tracing::debug!(records = n, "console: invocations past the retention purged"),
            Err(e) => tracing::warn!(error = %e, "console: purging old invocations failed"),
        }
    }

    /// Deletes the records of invocations that started before `cutoff_ms`: for each function
    /// in the table (found by jumping from one function's keys to the next), the keys past the
    /// cutoff, which sort last.
    fn purge(&self, cutoff_ms: i64) -> Result<usize, storage::StorageError> {
        let mut removed = 0;
        if cutoff_ms <= 0 {
            return Ok(0);
        }
        let mut from = Bound::Unbounded;
        loop {
            let first = self.kv.scan(TABLE, KeyRange::new(from, Bound::Unbounded), 1)?;
            let Some((key, _)) = first.into_iter().next() else { return Ok(removed) };
            let Some(end) = key.iter().position(|b| *b == 0) else {
                // Not a key this module wrote; step over it.
                from = Bound::Excluded(key);
                continue;
            };
            let prefix = key[..=end].to_vec();
            let mut old = prefix.clone();
            // Started before the cutoff ⇔ at or past the keys of the millisecond before it.
            old.extend_from_slice(inverted(cutoff_ms - 1).as_bytes());
            let range = KeyRange { start: Bound::Included(old), ..KeyRange::prefix(prefix.clone()) };
            loop {
                let keys = self.kv.scan(TABLE, range.clone(), PAGE)?;
                if keys.is_empty() {
                    break;
                }
                let mut batch = Batch::new();
                for (k, _) in &keys {
                    batch = batch.delete(TABLE, k.clone());
                }
                removed += keys.len();
                if let Err(e) = self.kv.commit(batch) {
                    return Err(storage::StorageError::Engine(e.to_string()));
                }
                if keys.len() < PAGE {
                    break;
                }
            }
            from = match KeyRange::prefix(prefix).end {
                Bound::Excluded(e) => Bound::Included(e),
                _ => return Ok(removed),
            };
        }
    }

    /// Reads back the records of earlier runs still within the retention; returns how many.
    fn load(&self, now_ms: i64) -> Result<usize, storage::StorageError> {
        let cutoff = now_ms - self.limits.retention_ms;
        let mut range = KeyRange::all();
        let mut loaded = 0;
        loop {
            let page = self.kv.scan(TABLE, range.clone(), PAGE)?;
            for (_, value) in &page {
                let Some(r) = decode(value) else { continue };
                if r.started_ms >= cutoff && r.ended_ms < self.boot_ms {
                    self.summarise(&r);
                    loaded += 1;
                }
            }
            match page.last() {
                Some((last, _)) if page.len() == PAGE => range.start = Bound::Excluded(last.clone()),
                _ => break,
            }
        }
        for cell in self.all() {
            compact(&mut lock(&cell.slots), now_ms, self.limits.retention_ms);
        }
        Ok(loaded)
    }

    /// Blocks until every record queued before the call is committed (at shutdown, in tests).
    pub fn flush(&self) {
        let mut state = lock(&self.queue.state);
        let target = state.submitted;
        while state.committed < target && !state.dead {
            state = self.queue.done.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Stops the writer once it has committed what is queued.
    pub fn shutdown(&self) {
        lock(&self.queue.state).shutdown = true;
        self.queue.work.notify_all();
        self.flush();
    }

    /// The trigger of a record, if its caller's span is recorded (or it had no caller).
    fn resolve(&self, r: &InvocationRecord) -> Option<Trigger> {
        match r.caller {
            None => Some(Trigger::of(None, false)),
            Some(id) => self.traces.span(r.trace, id).map(|s| Trigger::of(Some(&s), true)),
        }
    }

    /// Commits queued records in batches: everything queued while a commit runs goes into the
    /// next one. A record whose caller's span is not recorded yet waits for it a little.
    fn write_loop(&self) {
        loop {
            let (mut batch, shutdown) = {
                let mut state = lock(&self.queue.state);
                let mut waited = false;
                while state.pending.is_empty() && !state.shutdown {
                    state.idle = true;
                    waited = true;
                    state = self.queue.work.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
                state.idle = false;
                if waited && !state.shutdown {
                    drop(state);
                    std::thread::sleep(LINGER);
                    state = lock(&self.queue.state);
                }
                let batch = std::mem::take(&mut state.pending);
                // Readers still see them while they are being committed.
                state.inflight = batch.clone();
                (batch, state.shutdown)
            };
            let now = now_ms();
            let mut waiting = Vec::new();
            let mut ready = Vec::with_capacity(batch.len());
            for mut r in batch.drain(..) {
                if r.trigger.is_none() {
                    r.trigger = self.resolve(&r);
                }
                if r.trigger.is_none() {
                    if !shutdown && now - r.ended_ms < TRIGGER_WAIT_MS {
                        waiting.push(r);
                        continue;
                    }
                    r.trigger = Some(Trigger::of(None, true));
                }
                ready.push(r);
            }
            for chunk in ready.chunks(MAX_PER_COMMIT) {
                let mut batch = Batch::new();
                for r in chunk {
                    batch = batch.put(TABLE, key(r), encode(r));
                }
                if let Err(e) = self.kv.commit(batch) {
                    tracing::error!(error = %e, "console: committing invocation records failed");
                }
            }
            let (stop, only_waiting) = {
                let mut state = lock(&self.queue.state);
                state.inflight.clear();
                let still = waiting.len();
                // Those that wait for their caller are older than whatever came meanwhile.
                waiting.append(&mut state.pending);
                state.pending = waiting;
                state.committed += ready.len() as u64;
                (state.shutdown && state.pending.is_empty(), still > 0 && state.pending.len() == still)
            };
            self.queue.done.notify_all();
            if stop {
                return;
            }
            if only_waiting {
                std::thread::sleep(TRIGGER_POLL);
            }
        }
    }

    /// Records still in memory (queued or being committed) of one function.
    fn unflushed(&self, scope: &Scope, function: &str) -> Vec<InvocationRecord> {
        let state = lock(&self.queue.state);
        state
            .pending
            .iter()
            .chain(&state.inflight)
            .filter(|r| r.scope == *scope && r.function == function)
            .cloned()
            .collect()
    }
}

/// Adds a record to the slot of the minute it ended in (or the hour slot that holds that
/// minute), keeping the slots in order.
fn add_to_slots(slots: &mut VecDeque<Slot>, r: &InvocationRecord) {
    let at = r.ended_ms;
    let mut i = slots.len();
    while i > 0 {
        let s = &mut slots[i - 1];
        if s.start_ms <= at && at < s.end_ms {
            s.summary.add(r);
            return;
        }
        if s.end_ms <= at {
            break;
        }
        i -= 1;
    }
    let start = at.div_euclid(MINUTE_MS) * MINUTE_MS;
    let mut summary = FunctionSummary::default();
    summary.add(r);
    slots.insert(i, Slot { start_ms: start, end_ms: start + MINUTE_MS, summary });
}

/// Drops slots past the retention and merges minute slots that are an hour old into hour
/// slots.
fn compact(slots: &mut VecDeque<Slot>, now_ms: i64, retention_ms: i64) {
    while slots.front().is_some_and(|s| s.end_ms <= now_ms - retention_ms) {
        slots.pop_front();
    }
    let mut merged: VecDeque<Slot> = VecDeque::with_capacity(slots.len());
    for slot in slots.drain(..) {
        if slot.end_ms > now_ms - HOUR_MS {
            merged.push_back(slot);
            continue;
        }
        let hour = slot.start_ms.div_euclid(HOUR_MS) * HOUR_MS;
        match merged.back_mut() {
            Some(last) if last.start_ms == hour && last.end_ms == hour + HOUR_MS => {
                last.summary.merge(&slot.summary);
                last.summary.limit();
            }
            _ => merged.push_back(Slot { start_ms: hour, end_ms: hour + HOUR_MS, summary: slot.summary }),
        }
    }
    *slots = merged;
}

impl InvocationRecorder for InvocationStore {
    fn finished(&self, mut invocation: InvocationRecord) {
        self.summarise(&invocation);
        invocation.trigger = self.resolve(&invocation);
        let mut state = lock(&self.queue.state);
        if state.dead || state.pending.len() >= MAX_QUEUED {
            state.dropped += 1;
            if state.dropped.is_power_of_two() {
                tracing::warn!(
                    dropped = state.dropped,
                    "console: the invocation writer is behind; records dropped"
                );
            }
            return;
        }
        state.pending.push(invocation);
        state.submitted += 1;
        // A busy writer takes this record with its next batch; waking it costs a syscall.
        let wake = state.idle;
        drop(state);
        if wake {
            self.queue.work.notify_one();
        }
    }
}

impl InvocationReader for InvocationStore {
    fn summaries(&self, scope: &Scope, since_ms: i64, until_ms: Option<i64>) -> Summaries {
        let mut functions = Vec::new();
        for cell in self.all().into_iter().filter(|c| c.scope == *scope) {
            let sum = cell.summary(since_ms, until_ms);
            if sum.invocations > 0 {
                functions.push((cell.function.to_string(), sum));
            }
        }
        functions.sort_by(|a, b| a.0.cmp(&b.0));
        Summaries { functions, complete: self.loaded.load(Ordering::Acquire) }
    }

    fn summary(
        &self,
        scope: &Scope,
        function: &str,
        since_ms: i64,
        until_ms: Option<i64>,
    ) -> FunctionSummary {
        let hash = self.hash(scope, function);
        let shard = self.shards[(hash as usize) % SHARDS].read().unwrap_or_else(PoisonError::into_inner);
        let cell = shard
            .get(&hash)
            .and_then(|v| v.iter().find(|c| &*c.function == function && c.scope == *scope))
            .cloned();
        drop(shard);
        cell.map(|c| c.summary(since_ms, until_ms)).unwrap_or_default()
    }

    fn page(
        &self,
        scope: &Scope,
        function: &str,
        since_ms: i64,
        until_ms: Option<i64>,
        after: Option<&InvocationCursor>,
        limit: usize,
    ) -> InvocationPage {
        let prefix = function_prefix(scope, function);
        let window = window_range(&prefix, since_ms, until_ms);
        let mut range = window.clone();
        if let Some(c) = after {
            let mut k = prefix.clone();
            k.extend_from_slice(inverted(c.started_ms).as_bytes());
            k.extend_from_slice(c.request_id.as_bytes());
            let later = match &range.start {
                Bound::Included(s) | Bound::Excluded(s) => k > *s,
                Bound::Unbounded => true,
            };
            if later {
                range.start = Bound::Excluded(k);
            }
        }
        // The queue is read before the store: a record leaves the queue only once it is
        // committed, so whatever the writer does in between, each record is in one of the two.
        let unflushed = self.unflushed(scope, function);
        let stored = match self.kv.scan(TABLE, range.clone(), limit.saturating_add(1)) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(error = %e, "console: reading invocations failed");
                Vec::new()
            }
        };
        let mut list: Vec<(Vec<u8>, InvocationRecord)> =
            stored.iter().filter_map(|(k, v)| Some((k.clone(), decode(v)?))).collect();
        for mut r in unflushed {
            let k = key(&r);
            if range.contains(&k) && !list.iter().any(|(_, x)| x.request_id == r.request_id) {
                if r.trigger.is_none() {
                    r.trigger = self.resolve(&r);
                }
                list.push((k, r));
            }
        }
        list.sort_by(|a, b| a.0.cmp(&b.0));
        let more = list.len() > limit;
        list.truncate(limit);
        let next = if more {
            list.last()
                .map(|(_, r)| InvocationCursor { started_ms: r.started_ms, request_id: r.request_id.clone() })
        } else {
            None
        };
        InvocationPage { invocations: list.into_iter().map(|(_, r)| r).collect(), next }
    }
}

/// `{account}/{region}/{function}\0`: the prefix of one function's records.
fn function_prefix(scope: &Scope, function: &str) -> Vec<u8> {
    format!("{}/{}/{function}\0", scope.account, scope.region).into_bytes()
}

/// The start time inverted and in fixed-width hex, so newer records sort first.
fn inverted(started_ms: i64) -> String {
    format!("{:016x}", u64::MAX - u64::try_from(started_ms.max(0)).unwrap_or(0))
}

fn key(r: &InvocationRecord) -> Vec<u8> {
    let mut k = function_prefix(&r.scope, &r.function);
    k.extend_from_slice(inverted(r.started_ms).as_bytes());
    k.extend_from_slice(r.request_id.as_bytes());
    k
}

/// The keys of invocations that started in `[since, until)`.
fn window_range(prefix: &[u8], since_ms: i64, until_ms: Option<i64>) -> KeyRange {
    let whole = KeyRange::prefix(prefix.to_vec());
    let with = |ms: i64| {
        let mut k = prefix.to_vec();
        k.extend_from_slice(inverted(ms).as_bytes());
        k
    };
    // Started before `until` ⇔ at or after the keys of `until - 1` (all its request ids).
    let start = match until_ms {
        Some(u) if u > 0 => Bound::Included(with(u - 1)),
        Some(_) => return KeyRange { start: whole.end.clone(), ..whole },
        None => whole.start.clone(),
    };
    // Started at or after `since` ⇔ before the keys of `since - 1`.
    let end = if since_ms > 0 { Bound::Excluded(with(since_ms - 1)) } else { whole.end.clone() };
    KeyRange::new(start, end)
}

/// A record as it is stored: its fields under short names (JSON, versioned like every record).
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    account: String,
    region: String,
    function: String,
    id: String,
    version: String,
    arch: String,
    start: i64,
    end: i64,
    dur: u64,
    billed: u64,
    mem: u32,
    max_mem: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    init: Option<u64>,
    outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_type: Option<String>,
    conc: u32,
    group: String,
    stream: String,
    trace: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    trigger: Option<(String, String, String, String)>,
}

fn encode(r: &InvocationRecord) -> Vec<u8> {
    let stored = Stored {
        v: 1,
        account: r.scope.account.to_string(),
        region: r.scope.region.to_string(),
        function: r.function.clone(),
        id: r.request_id.clone(),
        version: r.version.clone(),
        arch: r.architecture.name().to_owned(),
        start: r.started_ms,
        end: r.ended_ms,
        dur: r.duration_ms_x100,
        billed: r.billed_ms,
        mem: r.memory_mb,
        max_mem: r.max_memory_used_mb,
        init: r.init_ms_x100,
        outcome: r.outcome.name().to_owned(),
        error_type: match &r.outcome {
            InvocationOutcome::Error { error_type } => Some(error_type.clone()),
            _ => None,
        },
        conc: r.concurrency,
        group: r.log_group.clone(),
        stream: r.log_stream.clone(),
        trace: r.trace.to_string(),
        caller: r.caller.map(|c| c.to_string()),
        trigger: r
            .trigger
            .as_ref()
            .map(|t| (t.kind.name().to_owned(), t.service.clone(), t.operation.clone(), t.resource.clone())),
    };
    serde_json::to_vec(&stored).unwrap_or_default()
}

/// A stored record; `None` for one that does not read as this version wrote it.
fn decode(raw: &[u8]) -> Option<InvocationRecord> {
    let s: Stored = serde_json::from_slice(raw).ok()?;
    let outcome = match (s.outcome.as_str(), s.error_type) {
        ("ok", _) => InvocationOutcome::Ok,
        ("timeout", _) => InvocationOutcome::Timeout,
        ("error", error_type) => InvocationOutcome::Error { error_type: error_type.unwrap_or_default() },
        _ => return None,
    };
    Some(InvocationRecord {
        scope: Scope { account: AccountId::parse(&s.account)?, region: Region::parse(&s.region)? },
        function: s.function,
        request_id: s.id,
        version: s.version,
        architecture: Architecture::parse(&s.arch)?,
        started_ms: s.start,
        ended_ms: s.end,
        duration_ms_x100: s.dur,
        billed_ms: s.billed,
        memory_mb: s.mem,
        max_memory_used_mb: s.max_mem,
        init_ms_x100: s.init,
        outcome,
        concurrency: s.conc,
        log_group: s.group,
        log_stream: s.stream,
        trace: TraceId::parse(&s.trace)?,
        caller: match s.caller {
            Some(c) => Some(SpanId::parse(&c)?),
            None => None,
        },
        trigger: match s.trigger {
            Some((kind, service, operation, resource)) => {
                Some(Trigger { kind: TriggerKind::parse(&kind)?, service, operation, resource })
            }
            None => None,
        },
    })
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use ports::TraceRecorder as _;
    use types::trace::{Execution, Outcome, Span};

    use super::*;

    fn record(function: &str, id: &str, started_ms: i64, init: Option<u64>) -> InvocationRecord {
        InvocationRecord {
            scope: Scope::default(),
            function: function.to_owned(),
            request_id: id.to_owned(),
            version: "$LATEST".to_owned(),
            architecture: Architecture::X86_64,
            started_ms,
            ended_ms: started_ms + 5,
            duration_ms_x100: 412,
            billed_ms: 5,
            memory_mb: 128,
            max_memory_used_mb: 30,
            init_ms_x100: init,
            outcome: InvocationOutcome::Ok,
            concurrency: 1,
            log_group: format!("/aws/lambda/{function}"),
            log_stream: "2026/01/01/[$LATEST]abc".to_owned(),
            trace: TraceId::new(1, 7),
            caller: None,
            trigger: None,
        }
    }

    fn store(kv: Arc<dyn Kv>, retention_ms: i64, boot_ms: i64) -> Arc<InvocationStore> {
        let traces = Arc::new(TraceStore::new(crate::traces::Limits::default()));
        Arc::new(InvocationStore::new(kv, traces, Limits { retention_ms, max_functions: 100 }, boot_ms))
    }

    fn summary<'a>(s: &'a Summaries, name: &str) -> &'a FunctionSummary {
        &s.functions.iter().find(|(n, _)| n == name).expect(name).1
    }

    #[test]
    fn slots_are_minutes_then_hours_and_go_past_the_retention() {
        let s = store(storage::Store::memory().kv, 3 * HOUR_MS, 0);
        let t0 = 100 * HOUR_MS;
        // One invocation a minute for two hours, every tenth cold.
        let mut direct = FunctionSummary::default();
        for m in 0..120 {
            let r = record(
                "f",
                &format!("r{m:03}"),
                t0 + m * MINUTE_MS,
                (m % 10 == 0).then_some(10_000 + m as u64),
            );
            direct.add(&r);
            s.summarise(&r);
        }
        let now = t0 + 120 * MINUTE_MS;
        s.roll(now);
        let cells = s.all();
        let slots = lock(&cells[0].slots).clone();
        assert!(slots.len() <= 62, "{} slots", slots.len());
        assert_eq!(slots.iter().filter(|x| x.end_ms - x.start_ms == HOUR_MS).count(), 1);
        let all = s.summaries(&Scope::default(), 0, None);
        let f = summary(&all, "f");
        assert_eq!(f, &direct, "compaction changes no figure");
        assert_eq!((f.invocations, f.cold_starts, f.billed_ms()), (120, 12, 600));
        // The last quarter hour is four-ish minute slots' worth; the minute slots cut by the
        // window count whole.
        let recent = s.summaries(&Scope::default(), now - 15 * MINUTE_MS, None);
        assert_eq!(summary(&recent, "f").invocations, 15);
        // Past the retention, nothing is left and the function is forgotten.
        s.roll(now + 4 * HOUR_MS);
        assert!(s.summaries(&Scope::default(), 0, None).functions.is_empty());
        assert!(s.all().is_empty());
    }

    #[test]
    fn records_page_newest_first_survive_a_restart_and_are_purged_past_the_retention() {
        let kv = storage::Store::memory().kv;
        let t0 = 1_000 * HOUR_MS;
        let first = store(kv.clone(), 2 * HOUR_MS, t0);
        first.start_writer();
        for i in 0..250 {
            first.finished(record("f", &format!("r{i:03}"), t0 + i * 1_000, (i == 0).then_some(9_000)));
        }
        first.finished(record("g", "other", t0, None));
        // Before the writer commits, a page shows the queued records too.
        let page = first.page(&Scope::default(), "f", 0, None, None, 10);
        assert_eq!(page.invocations.len(), 10);
        first.shutdown();
        let before = first.summaries(&Scope::default(), 0, None);

        // A new run on the same store reads them back.
        let second = store(kv.clone(), 2 * HOUR_MS, t0 + HOUR_MS);
        assert_eq!(second.load(t0 + HOUR_MS).expect("load"), 251);
        let after = second.summaries(&Scope::default(), 0, None);
        assert_eq!(summary(&after, "f"), summary(&before, "f"));
        assert_eq!(summary(&after, "f").cold_starts, 1);

        // Pages of 100, newest first, each continuing after the last.
        let mut seen = Vec::new();
        let mut after_cursor = None;
        loop {
            let page = second.page(&Scope::default(), "f", 0, None, after_cursor.as_ref(), 100);
            seen.extend(page.invocations.iter().map(|r| r.request_id.clone()));
            match page.next {
                Some(c) => after_cursor = Some(c),
                None => break,
            }
        }
        let want: Vec<String> = (0..250).rev().map(|i| format!("r{i:03}")).collect();
        assert_eq!(seen, want);
        let stored = second.page(&Scope::default(), "f", 0, None, None, 1).invocations;
        assert_eq!(stored[0].trigger.as_ref().map(|t| t.kind), Some(TriggerKind::Invoke));
        // A window selects by start time: [t0 + 10 s, t0 + 20 s).
        let window = second.page(&Scope::default(), "f", t0 + 10_000, Some(t0 + 20_000), None, 100);
        let ids: Vec<&str> = window.invocations.iter().map(|r| r.request_id.as_str()).collect();
        assert_eq!(ids, (10..20).rev().map(|i| format!("r{i:03}")).collect::<Vec<_>>());

        // Past the retention the records go, every function's.
        assert_eq!(second.purge(t0 + 100_000).expect("purge"), 101);
        assert_eq!(second.page(&Scope::default(), "f", 0, None, None, 1000).invocations.len(), 150);
        assert!(second.page(&Scope::default(), "g", 0, None, None, 10).invocations.is_empty());
    }

    #[test]
    fn a_trigger_is_read_off_the_callers_span_even_when_it_is_recorded_after_the_invocation() {
        let kv = storage::Store::memory().kv;
        let traces = Arc::new(TraceStore::new(crate::traces::Limits::default()));
        let s = Arc::new(InvocationStore::new(kv, traces.clone(), Limits::default(), 0));
        s.start_writer();
        let trace = TraceId::new(1, 42);
        let caller = SpanId::new(9);
        let mut r = record("f", "sync", now_ms(), None);
        r.trace = trace;
        r.caller = Some(caller);
        s.finished(r);
        // The caller's request span arrives once it has answered.
        std::thread::sleep(Duration::from_millis(120));
        traces.record(Span {
            trace,
            id: caller,
            parent: None,
            scope: Scope::default(),
            service: "s3".to_owned(),
            operation: "PutObject".to_owned(),
            resource: "uploads/cat.jpg".to_owned(),
            start_us: 0,
            duration_us: 1,
            outcome: Outcome::Ok,
            execution: None::<Execution>,
        });
        s.flush();
        // The trace store forgets; the record keeps its trigger.
        let empty = Arc::new(TraceStore::new(crate::traces::Limits::default()));
        let reread = InvocationStore::new(s.kv.clone(), empty, Limits::default(), i64::MAX);
        let page = reread.page(&Scope::default(), "f", 0, None, None, 10);
        let t = page.invocations[0].trigger.clone().expect("trigger");
        assert_eq!((t.kind, t.resource.as_str()), (TriggerKind::S3, "uploads/cat.jpg"));
        // A caller never recorded is "unrecorded" once the wait is over.
        let mut lost = record("f", "lost", now_ms() - 10 * TRIGGER_WAIT_MS, None);
        lost.caller = Some(SpanId::new(77));
        s.finished(lost);
        s.flush();
        let page = reread.page(&Scope::default(), "f", 0, None, None, 10);
        let lost = page.invocations.iter().find(|r| r.request_id == "lost").expect("lost");
        assert_eq!(lost.trigger.as_ref().map(|t| t.kind), Some(TriggerKind::Unrecorded));
    }

    #[test]
    fn stored_records_read_back_as_written() {
        let mut r = record("f", "x", 5, Some(123));
        r.outcome = InvocationOutcome::Error { error_type: "ValueError".to_owned() };
        r.caller = Some(SpanId::new(3));
        r.architecture = Architecture::Arm64;
        r.trigger = Some(Trigger {
            kind: TriggerKind::ApiGateway,
            service: "apigateway".to_owned(),
            operation: "GET /".to_owned(),
            resource: "abc".to_owned(),
        });
        assert_eq!(decode(&encode(&r)), Some(r));
        assert_eq!(decode(b"{\"v\":1}"), None);
        assert_eq!(decode(b"not json"), None);
    }
}
