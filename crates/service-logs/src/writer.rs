//! The ingest path for Lambda's function logs, and the background work of the service.
//!
//! [`LogWriter::put`] only queues: Lambda calls it on its invoke path and must never wait for a
//! disk. One background thread drains the whole queue at once and commits it with
//! [`Db::append`], so every line queued while a commit runs lands in the *next* single commit:
//! batches grow with the load instead of commits multiplying with it, and each touched stream
//! record is rewritten once per batch. The queue is bounded: if the thread falls far behind
//! (a stalled disk), new lines are dropped and counted in a rate-limited warning rather than
//! letting memory grow without bound — losing function logs beats taking the server down.
//!
//! The same thread purges: events of deleted streams (tombstones in `logs.purge`) and events
//! past their group's retention, every [`PURGE_INTERVAL`] or sooner when nudged.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use storage::{Batch, KeyRange};
use types::{Clock, Scope};

use crate::db::{Append, Db};
use crate::error::Error;
use crate::model::{self, EVENTS, GROUPS, GroupRecord, PURGE, Position, STREAMS, StreamRecord};

/// At most this many events wait in the queue (about 10 s of a busy Lambda host)...
const MAX_QUEUED_EVENTS: usize = 200_000;
/// ... and at most this many message bytes.
const MAX_QUEUED_BYTES: usize = 64 * 1024 * 1024;
/// One commit holds at most this many events, so one huge backlog is not one huge transaction.
const MAX_EVENTS_PER_COMMIT: usize = 20_000;
/// How often retention and deleted streams are purged without a nudge.
const PURGE_INTERVAL: Duration = Duration::from_secs(60);
/// How many keys one purge commit deletes.
const PURGE_CHUNK: usize = 1_000;
/// Drops are logged at most this often.
const DROP_WARN_INTERVAL: Duration = Duration::from_secs(10);
/// How long the thread, woken from idle by a put, waits for the puts of the invokes running
/// alongside it before it commits: at thousands of invokes a second this turns a wake-up and
/// a commit per invoke into one per millisecond.
const LINGER: Duration = Duration::from_millis(1);

/// A handle to queue function log lines; cheap to clone, shared between threads.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
    /// Dropped with the last handle, which tells the thread to finish.
    _owner: Arc<Owner>,
}

impl std::fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogWriter")
    }
}

struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_all();
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when there is work for the thread.
    work: Condvar,
    /// Signalled when a batch has been committed.
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind; keep going with them.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Default)]
struct State {
    queue: Vec<Item>,
    queued_events: usize,
    queued_bytes: usize,
    /// Puts accepted so far, and how many of them are committed (or given up on).
    submitted: u64,
    committed: u64,
    dropped_events: u64,
    last_drop_warning: Option<Instant>,
    purge_requested: bool,
    shutdown: bool,
    /// The thread waits for work: only then does a put need to wake it.
    idle: bool,
    /// Callers blocked in `flush`, to be woken after each commit.
    flushers: usize,
    /// The thread is gone (it could not start); nothing will ever be committed.
    dead: bool,
}

struct Item {
    scope: Scope,
    group: String,
    stream: String,
    events: Vec<(i64, String)>,
}

impl LogWriter {
    pub(crate) fn start(db: Db, clock: Arc<dyn Clock>) -> LogWriter {
        let shared = Arc::new(Shared { state: Mutex::default(), work: Condvar::new(), done: Condvar::new() });
        let thread_shared = shared.clone();
        let started = std::thread::Builder::new()
            .name("logs-writer".to_owned())
            .spawn(move || run(&thread_shared, &db, clock.as_ref()));
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the CloudWatch Logs writer thread; function logs are dropped");
            shared.lock().dead = true;
        }
        LogWriter { _owner: Arc::new(Owner { shared: shared.clone() }), shared }
    }

    /// Non-blocking: queues the events; a background thread commits them in batches. Creates
    /// the group and stream if missing (Lambda's behaviour). Timestamps are ms since the epoch.
    pub fn put(&self, scope: &Scope, log_group: &str, log_stream: &str, events: Vec<(i64, String)>) {
        if events.is_empty() {
            return;
        }
        let bytes: usize = events.iter().map(|(_, m)| m.len()).sum();
        let mut state = self.shared.lock();
        if state.dead
            || state.queued_events + events.len() > MAX_QUEUED_EVENTS
            || state.queued_bytes + bytes > MAX_QUEUED_BYTES
        {
            state.dropped_events += events.len() as u64;
            let now = Instant::now();
            if state.last_drop_warning.is_none_or(|t| now.duration_since(t) >= DROP_WARN_INTERVAL) {
                state.last_drop_warning = Some(now);
                tracing::warn!(
                    dropped_total = state.dropped_events,
                    queued = state.queued_events,
                    "CloudWatch Logs writer is behind; dropping function log lines"
                );
            }
            return;
        }
        state.queued_events += events.len();
        state.queued_bytes += bytes;
        state.submitted += 1;
        state.queue.push(Item {
            scope: scope.clone(),
            group: log_group.to_owned(),
            stream: log_stream.to_owned(),
            events,
        });
        // A busy thread takes this item with its next drain; waking it costs a syscall.
        let wake = state.idle;
        drop(state);
        if wake {
            self.shared.work.notify_one();
        }
    }

    /// Blocks until everything queued before the call is committed (used at shutdown and by
    /// tests).
    pub fn flush(&self) {
        let mut state = self.shared.lock();
        let target = state.submitted;
        state.flushers += 1;
        while state.committed < target && !state.dead {
            state = self.shared.done.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.flushers -= 1;
    }

    /// Asks for a purge soon (a stream was deleted, a retention policy set).
    pub(crate) fn nudge_purge(&self) {
        self.shared.lock().purge_requested = true;
        self.shared.work.notify_one();
    }

    /// How many events `put` has dropped so far.
    pub fn dropped_events(&self) -> u64 {
        self.shared.lock().dropped_events
    }
}

fn now_ms(clock: &dyn Clock) -> i64 {
    crate::now_ms(clock)
}

fn run(shared: &Shared, db: &Db, clock: &dyn Clock) {
    let mut next_purge = Instant::now() + PURGE_INTERVAL;
    loop {
        let mut state = shared.lock();
        let mut waited = false;
        while state.queue.is_empty()
            && !state.purge_requested
            && !state.shutdown
            && Instant::now() < next_purge
        {
            state.idle = true;
            waited = true;
            let wait = next_purge.saturating_duration_since(Instant::now());
            state = shared.work.wait_timeout(state, wait).unwrap_or_else(|p| p.into_inner()).0;
        }
        state.idle = false;
        if waited && !state.queue.is_empty() && !state.shutdown && state.flushers == 0 {
            drop(state);
            std::thread::sleep(LINGER);
            state = shared.lock();
        }
        let items = std::mem::take(&mut state.queue);
        let target = state.submitted;
        state.queued_events = 0;
        state.queued_bytes = 0;
        let purge = state.purge_requested || Instant::now() >= next_purge;
        state.purge_requested = false;
        let shutdown = state.shutdown;
        drop(state);

        if !items.is_empty() {
            commit(db, now_ms(clock), items);
        }
        let flushers = {
            let mut state = shared.lock();
            state.committed = state.committed.max(target);
            state.flushers
        };
        if flushers > 0 {
            shared.done.notify_all();
        }
        if purge {
            if let Err(e) = purge_all(db, now_ms(clock)) {
                tracing::error!(error = %e, "purging CloudWatch Logs events failed");
            }
            next_purge = Instant::now() + PURGE_INTERVAL;
        }
        if shutdown && shared.lock().queue.is_empty() {
            return;
        }
    }
}

/// Commits queued puts, merging those of the same stream, in commits of bounded size.
fn commit(db: &Db, now: i64, items: Vec<Item>) {
    let mut merged: HashMap<(Scope, String, String), Vec<(i64, String)>> = HashMap::new();
    let mut order = Vec::new();
    for item in items {
        let key = (item.scope, item.group, item.stream);
        match merged.get_mut(&key) {
            Some(events) => events.extend(item.events),
            None => {
                order.push(key.clone());
                merged.insert(key, item.events);
            }
        }
    }
    let mut appends = Vec::new();
    let mut in_commit = 0;
    for key in &order {
        let Some(events) = merged.get(key) else { continue };
        for chunk in events.chunks(MAX_EVENTS_PER_COMMIT) {
            if in_commit + chunk.len() > MAX_EVENTS_PER_COMMIT && !appends.is_empty() {
                store(db, now, &appends);
                appends.clear();
                in_commit = 0;
            }
            appends.push(Append {
                scope: &key.0,
                group: &key.1,
                stream: &key.2,
                events: chunk,
                create: true,
            });
            in_commit += chunk.len();
        }
    }
    if !appends.is_empty() {
        store(db, now, &appends);
    }
}

fn store(db: &Db, now: i64, appends: &[Append<'_>]) {
    if let Err(e) = db.append(now, appends) {
        let lost: usize = appends.iter().map(|a| a.events.len()).sum();
        tracing::error!(error = %e, lost, "committing function log lines failed");
    }
}

/// Removes the events of deleted streams and those past their group's retention.
pub(crate) fn purge_all(db: &Db, now: i64) -> Result<(), Error> {
    for (tombstone, _) in db.kv.scan(PURGE, KeyRange::all(), storage::UNLIMITED)? {
        delete_events(db, KeyRange::prefix(tombstone.clone()))?;
        db.kv.delete(PURGE, &tombstone)?;
    }
    for (gkey, raw) in db.kv.scan(GROUPS, KeyRange::all(), storage::UNLIMITED)? {
        let group: GroupRecord = model::decode(&raw)?;
        let Some(cutoff) = group.retention_cutoff(now) else { continue };
        // The group key is `{scope}{name}`: the scope prefix is what precedes the name.
        let scope_prefix = &gkey[..gkey.len().saturating_sub(group.name.len())];
        let mut streams_prefix = gkey.clone();
        streams_prefix.push(0);
        for (skey, sraw) in db.kv.scan(STREAMS, KeyRange::prefix(streams_prefix), storage::UNLIMITED)? {
            let stream: StreamRecord = model::decode(&sraw)?;
            if stream.first_event.is_none_or(|f| f >= cutoff) {
                continue;
            }
            let mut prefix = scope_prefix.to_vec();
            prefix.extend_from_slice(&stream.id_bytes()?);
            let expired = KeyRange::new(
                Bound::Included(model::event_key(&prefix, Position::MIN)),
                Bound::Excluded(model::event_key(&prefix, Position::at(u64::try_from(cutoff).unwrap_or(0)))),
            );
            let freed = delete_events(db, expired)?;
            db.transact(|| {
                let Some(raw) = db.kv.get(STREAMS, &skey)? else { return Ok((Batch::new(), ())) };
                let mut s: StreamRecord = model::decode(&raw)?;
                s.stored_bytes = s.stored_bytes.saturating_sub(freed);
                s.first_event = s.first_event.map(|f| f.max(cutoff));
                let batch = Batch::new().expect_value(STREAMS, skey.clone(), raw).put(
                    STREAMS,
                    skey.clone(),
                    model::encode(&s),
                );
                Ok((batch, ()))
            })?;
        }
    }
    Ok(())
}

/// Deletes every event in `range`, a chunk per commit; returns the message bytes freed.
fn delete_events(db: &Db, range: KeyRange) -> Result<u64, Error> {
    let mut freed = 0u64;
    loop {
        let chunk = db.kv.scan(EVENTS, range.clone(), PURGE_CHUNK)?;
        let mut batch = Batch::new();
        for (key, value) in &chunk {
            freed += value.len().saturating_sub(9) as u64;
            batch.push(storage::Op::Delete { table: EVENTS.to_owned(), key: key.clone() });
        }
        if !batch.is_empty() {
            db.kv.commit(batch).map_err(|e| match e {
                storage::CommitError::Storage(e) => Error::Internal(e),
                storage::CommitError::ConditionFailed { .. } => {
                    Error::Internal(storage::StorageError::Engine("unexpected precondition".to_owned()))
                }
            })?;
        }
        if chunk.len() < PURGE_CHUNK {
            return Ok(freed);
        }
    }
}
