//! Where metered usage lives: one cell of atomic counters per (tenant, resource), found through
//! a sharded map, so metering a request costs a hash, a shared lock of one shard and an atomic
//! add. Once a minute [`UsageStore::roll`] moves the counters into the cell's history, a
//! minute per slot for the last hour and an hour per slot after that, and drops what is older
//! than the retention; so memory stays bounded by resources × retention in hours. In memory: a
//! restart forgets the history; the bytes buckets store come back at start, when S3 counts
//! what it holds (`service-s3`'s `Meter::seed`).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use ports::{ResourceKind, ResourceUsage, Unit, UsageMeter, UsageReader};
use types::Scope;

const UNITS: usize = Unit::ALL.len();
/// Shards of the map: enough that two busy resources rarely share a lock word.
const SHARDS: usize = 32;
const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
/// The name counts go to once the store holds `max_resources`: a client inventing bucket or
/// table names cannot grow it without bound.
const OVERFLOW: &str = "(other)";

/// How long usage is kept and how many resources at most.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub retention_ms: i64,
    pub max_resources: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { retention_ms: 24 * HOUR_MS, max_resources: 100_000 }
    }
}

pub struct UsageStore {
    limits: Limits,
    shards: [RwLock<HashMap<u64, Vec<Arc<Cell>>>>; SHARDS],
    hasher: std::hash::RandomState,
    cells: AtomicUsize,
    /// When [`UsageStore::roll`] last ran: a cell made after it counts from then.
    rolled_ms: AtomicI64,
}

struct Cell {
    scope: Scope,
    kind: ResourceKind,
    name: Box<str>,
    /// Counts since the last roll.
    current: [AtomicU64; UNITS],
    bytes: AtomicI64,
    history: Mutex<History>,
}

struct History {
    /// Oldest first; minutes, then (once an hour old) hours.
    slots: VecDeque<Slot>,
    /// When the counters were last moved into a slot (0: never).
    rolled_ms: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Slot {
    start_ms: i64,
    end_ms: i64,
    units: [u64; UNITS],
    byte_ms: f64,
}

impl Slot {
    fn is_empty(&self) -> bool {
        self.byte_ms == 0.0 && self.units.iter().all(|u| *u == 0)
    }

    fn absorb(&mut self, other: &Slot) {
        self.end_ms = self.end_ms.max(other.end_ms);
        for (a, b) in self.units.iter_mut().zip(other.units) {
            *a += b;
        }
        self.byte_ms += other.byte_ms;
    }
}

impl UsageStore {
    pub fn new(limits: Limits) -> UsageStore {
        UsageStore {
            limits,
            shards: std::array::from_fn(|_| RwLock::default()),
            hasher: std::hash::RandomState::new(),
            cells: AtomicUsize::new(0),
            rolled_ms: AtomicI64::new(0),
        }
    }

    fn hash(&self, scope: &Scope, kind: ResourceKind, name: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        scope.hash(&mut h);
        kind.hash(&mut h);
        name.hash(&mut h);
        h.finish()
    }

    /// Runs `f` on the cell of a resource, making the cell on first use.
    fn with_cell(&self, scope: &Scope, kind: ResourceKind, name: &str, f: impl Fn(&Cell)) {
        let hash = self.hash(scope, kind, name);
        let shard = &self.shards[(hash as usize) % SHARDS];
        let matches = |c: &Arc<Cell>| c.kind == kind && &*c.name == name && c.scope == *scope;
        {
            let map = shard.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(cell) = map.get(&hash).and_then(|v| v.iter().find(|c| matches(c))) {
                f(cell);
                return;
            }
        }
        if self.cells.load(Ordering::Relaxed) >= self.limits.max_resources && name != OVERFLOW {
            return self.with_cell(scope, kind, OVERFLOW, f);
        }
        let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
        let list = map.entry(hash).or_default();
        if let Some(cell) = list.iter().find(|c| matches(c)) {
            f(cell);
            return;
        }
        let cell = Arc::new(Cell {
            scope: scope.clone(),
            kind,
            name: name.into(),
            current: std::array::from_fn(|_| AtomicU64::new(0)),
            bytes: AtomicI64::new(0),
            history: Mutex::new(History {
                slots: VecDeque::new(),
                rolled_ms: self.rolled_ms.load(Ordering::Relaxed),
            }),
        });
        f(&cell);
        list.push(cell);
        self.cells.fetch_add(1, Ordering::Relaxed);
    }

    fn all(&self) -> Vec<Arc<Cell>> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let map = shard.read().unwrap_or_else(PoisonError::into_inner);
            out.extend(map.values().flatten().cloned());
        }
        out
    }

    /// Moves every cell's counters into its history as of `now_ms`, compacts what is an hour
    /// old into hours, drops what is past the retention and forgets resources left with
    /// nothing.
    pub fn roll(&self, now_ms: i64) {
        self.rolled_ms.store(now_ms, Ordering::Relaxed);
        for cell in self.all() {
            let mut history = cell.history.lock().unwrap_or_else(PoisonError::into_inner);
            let start = if history.rolled_ms == 0 { now_ms } else { history.rolled_ms };
            let mut slot = Slot { start_ms: start, end_ms: now_ms, ..Slot::default() };
            for (i, c) in cell.current.iter().enumerate() {
                slot.units[i] = c.swap(0, Ordering::Relaxed);
            }
            slot.byte_ms = cell.bytes.load(Ordering::Relaxed).max(0) as f64 * (now_ms - start) as f64;
            history.rolled_ms = now_ms;
            if !slot.is_empty() {
                history.slots.push_back(slot);
            }
            compact(&mut history.slots, now_ms, self.limits.retention_ms);
        }
        self.forget_idle();
    }

    fn forget_idle(&self) {
        for shard in &self.shards {
            let mut map = shard.write().unwrap_or_else(PoisonError::into_inner);
            let before: usize = map.values().map(Vec::len).sum();
            map.retain(|_, cells| {
                cells.retain(|c| {
                    let history = c.history.lock().unwrap_or_else(PoisonError::into_inner);
                    !history.slots.is_empty()
                        || c.bytes.load(Ordering::Relaxed) != 0
                        || c.current.iter().any(|u| u.load(Ordering::Relaxed) != 0)
                });
                !cells.is_empty()
            });
            let after: usize = map.values().map(Vec::len).sum();
            self.cells.fetch_sub(before - after, Ordering::Relaxed);
        }
    }

    /// [`UsageReader::usage`] as of `now_ms`.
    pub fn usage_at(
        &self,
        scope: &Scope,
        since_ms: i64,
        until_ms: Option<i64>,
        now_ms: i64,
    ) -> Vec<ResourceUsage> {
        let until = until_ms.unwrap_or(i64::MAX);
        let mut out = Vec::new();
        for cell in self.all().into_iter().filter(|c| &c.scope == scope) {
            let history = cell.history.lock().unwrap_or_else(PoisonError::into_inner);
            let bytes = cell.bytes.load(Ordering::Relaxed);
            let mut usage = ResourceUsage {
                kind: Some(cell.kind),
                name: cell.name.to_string(),
                bytes,
                ..ResourceUsage::default()
            };
            for slot in history.slots.iter().filter(|s| s.end_ms > since_ms && s.start_ms < until) {
                for (a, b) in usage.units.iter_mut().zip(slot.units) {
                    *a += b;
                }
                // Storage is spread evenly over its slot, so a window cutting one takes its share.
                let span = (slot.end_ms - slot.start_ms).max(1) as f64;
                let inside = (slot.end_ms.min(until) - slot.start_ms.max(since_ms)).max(0) as f64;
                usage.byte_ms += slot.byte_ms * (inside / span).min(1.0);
            }
            // What was counted since the last roll happened between it and now.
            let rolled = if history.rolled_ms == 0 { now_ms } else { history.rolled_ms };
            if now_ms >= since_ms && rolled < until {
                for (a, c) in usage.units.iter_mut().zip(&cell.current) {
                    *a += c.load(Ordering::Relaxed);
                }
                let from = rolled.max(since_ms);
                let to = now_ms.min(until);
                usage.byte_ms += bytes.max(0) as f64 * (to - from).max(0) as f64;
            }
            if usage.units.iter().any(|u| *u != 0) || usage.byte_ms != 0.0 || usage.bytes != 0 {
                out.push(usage);
            }
        }
        out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        out
    }
}

/// Merges minute slots older than an hour into hour slots and drops slots past the retention.
fn compact(slots: &mut VecDeque<Slot>, now_ms: i64, retention_ms: i64) {
    while slots.front().is_some_and(|s| s.end_ms <= now_ms - retention_ms) {
        slots.pop_front();
    }
    let mut merged: VecDeque<Slot> = VecDeque::with_capacity(slots.len());
    for slot in slots.drain(..) {
        let old = slot.end_ms <= now_ms - HOUR_MS;
        match merged.back_mut() {
            Some(last) if old && last.start_ms.div_euclid(HOUR_MS) == slot.start_ms.div_euclid(HOUR_MS) => {
                last.absorb(&slot)
            }
            _ => merged.push_back(slot),
        }
    }
    *slots = merged;
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl UsageMeter for UsageStore {
    fn add(&self, scope: &Scope, kind: ResourceKind, name: &str, unit: Unit, amount: u64) {
        self.with_cell(scope, kind, name, |c| {
            c.current[unit.index()].fetch_add(amount, Ordering::Relaxed);
        });
    }

    fn stored(&self, scope: &Scope, bucket: &str, delta: i64) {
        self.with_cell(scope, ResourceKind::Bucket, bucket, |c| {
            c.bytes.fetch_add(delta, Ordering::Relaxed);
        });
    }
}

impl UsageReader for UsageStore {
    fn usage(&self, scope: &Scope, since_ms: i64, until_ms: Option<i64>) -> Vec<ResourceUsage> {
        self.usage_at(scope, since_ms, until_ms, now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{AccountId, Region};

    fn other() -> Scope {
        Scope { account: AccountId::parse("111111111111").expect("account"), region: Region::default() }
    }

    fn get<'a>(u: &'a [ResourceUsage], name: &str) -> &'a ResourceUsage {
        u.iter().find(|r| r.name == name).expect(name)
    }

    #[test]
    fn counts_are_kept_per_tenant_resource_and_unit() {
        let store = UsageStore::new(Limits::default());
        let s = Scope::default();
        store.add(&s, ResourceKind::Table, "t", Unit::WriteUnits, 3);
        store.add(&s, ResourceKind::Table, "t", Unit::WriteUnits, 2);
        store.add(&s, ResourceKind::Table, "t", Unit::ReadHalfUnits, 1);
        store.add(&s, ResourceKind::Bucket, "t", Unit::S3Tier1, 7);
        store.add(&other(), ResourceKind::Table, "t", Unit::WriteUnits, 100);
        let u = store.usage_at(&s, 0, None, 1_000);
        assert_eq!(u.len(), 2, "a bucket and a table of one name are two resources");
        let table = u.iter().find(|r| r.kind == Some(ResourceKind::Table)).expect("table");
        assert_eq!((table.get(Unit::WriteUnits), table.get(Unit::ReadHalfUnits)), (5, 1));
        assert_eq!(store.usage_at(&other(), 0, None, 1_000)[0].get(Unit::WriteUnits), 100);
    }

    #[test]
    fn windows_select_the_slots_they_cover() {
        let store = UsageStore::new(Limits::default());
        let s = Scope::default();
        let t0 = 10 * HOUR_MS;
        store.roll(t0);
        store.add(&s, ResourceKind::Bus, "b", Unit::Events, 4);
        store.roll(t0 + MINUTE_MS);
        store.add(&s, ResourceKind::Bus, "b", Unit::Events, 6);
        store.roll(t0 + 2 * MINUTE_MS);
        store.add(&s, ResourceKind::Bus, "b", Unit::Events, 1);
        let now = t0 + 2 * MINUTE_MS + 5_000;
        assert_eq!(get(&store.usage_at(&s, 0, None, now), "b").get(Unit::Events), 11);
        assert_eq!(get(&store.usage_at(&s, t0 + MINUTE_MS, None, now), "b").get(Unit::Events), 7);
        let first = store.usage_at(&s, t0, Some(t0 + MINUTE_MS), now);
        assert_eq!(get(&first, "b").get(Unit::Events), 4, "the unrolled counts are not in a past window");
    }

    #[test]
    fn storage_integrates_bytes_over_time() {
        let store = UsageStore::new(Limits::default());
        let s = Scope::default();
        let t0 = HOUR_MS;
        store.roll(t0);
        store.stored(&s, "b", 1_000);
        store.roll(t0 + MINUTE_MS);
        store.stored(&s, "b", -400);
        // 1,000 bytes for a minute, then 600 for half a minute (not rolled yet).
        let u = store.usage_at(&s, 0, None, t0 + MINUTE_MS + 30_000);
        let b = get(&u, "b");
        assert_eq!(b.bytes, 600);
        assert_eq!(b.byte_ms, 1_000.0 * 60_000.0 + 600.0 * 30_000.0);
        // Half of the first minute.
        let half = store.usage_at(&s, t0 + 30_000, Some(t0 + MINUTE_MS), t0 + MINUTE_MS + 30_000);
        assert_eq!(get(&half, "b").byte_ms, 1_000.0 * 30_000.0);
    }

    #[test]
    fn history_is_compacted_into_hours_and_dropped_past_the_retention() {
        let store = UsageStore::new(Limits { retention_ms: 3 * HOUR_MS, max_resources: 10 });
        let s = Scope::default();
        let mut t = 100 * HOUR_MS;
        store.roll(t);
        for _ in 0..120 {
            store.add(&s, ResourceKind::Service, "dynamodb", Unit::Requests, 1);
            t += MINUTE_MS;
            store.roll(t);
        }
        let cells = store.all();
        let slots = cells[0].history.lock().expect("history").slots.len();
        // 60 minute slots of the last hour, the hour before it as one slot (plus the partial
        // hour the first minutes fell in).
        assert!(slots <= 62, "{slots} slots");
        assert_eq!(get(&store.usage_at(&s, 0, None, t), "dynamodb").get(Unit::Requests), 120);
        t += 4 * HOUR_MS;
        store.roll(t);
        assert!(store.usage_at(&s, 0, None, t).is_empty(), "everything is past the retention");
        assert!(store.all().is_empty(), "and the resource is forgotten");
    }

    #[test]
    fn resources_past_the_limit_share_one_cell() {
        let store = UsageStore::new(Limits { retention_ms: HOUR_MS, max_resources: 2 });
        let s = Scope::default();
        for name in ["a", "b", "c", "d"] {
            store.add(&s, ResourceKind::Bucket, name, Unit::S3Tier2, 1);
        }
        let u = store.usage_at(&s, 0, None, 1);
        let names: Vec<&str> = u.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["(other)", "a", "b"]);
        assert_eq!(get(&u, OVERFLOW).get(Unit::S3Tier2), 2);
    }
}
