//! The ordered key-value trait, its key ranges and its atomic batches with preconditions.

use std::fmt;
use std::ops::Bound;

use crate::{CommitError, StorageError};

/// A `limit` for [`Kv::scan`] that returns every entry in the range.
pub const UNLIMITED: usize = usize::MAX;

/// A key and its value, as [`Kv::scan`] returns them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered key-value store with named tables.
///
/// A table is a namespace chosen by a service (`"iam.roles"`); tables never see each other's
/// keys, and a table exists as long as it holds a key. Keys and values are arbitrary bytes (the
/// empty key and empty values included). Keys are ordered by unsigned byte comparison (memcmp,
/// then shorter first), which is the order services rely on when they encode sort keys.
///
/// Engines are shared between threads; every method is a complete, atomic step.
pub trait Kv: Send + Sync + fmt::Debug {
    /// The value stored under `key` in `table`.
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;

    /// Up to `limit` entries of `table` whose keys lie in `range`, in ascending key order, or in
    /// descending order when `range.reverse` is set (then `limit` counts from the high end).
    ///
    /// `limit` is a count: 0 returns nothing and [`UNLIMITED`] (`usize::MAX`) returns everything.
    /// The result is one consistent snapshot of the table.
    fn scan(&self, table: &str, range: KeyRange, limit: usize) -> Result<Vec<Entry>, StorageError>;

    /// Applies every op of `batch` atomically, or none of them.
    ///
    /// All preconditions are evaluated against the state *before* the batch, whatever their
    /// position among the writes; if any fails the result is [`CommitError::ConditionFailed`]
    /// with the lowest failing index and nothing is written. Writes are then applied in order,
    /// so a later write to the same key wins. Once this returns `Ok` the batch is durable to the
    /// engine's promise (the embedded engine: it survives a kill of the process).
    fn commit(&self, batch: Batch) -> Result<(), CommitError>;

    /// Makes everything committed so far durable and compact now; called at graceful shutdown.
    fn flush(&self) -> Result<(), StorageError>;

    /// Stores `value` under `key`, replacing any older value.
    fn put(&self, table: &str, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        unconditional(self.commit(Batch::new().put(table, key, value)))
    }

    /// Removes `key`; removing an absent key is not an error.
    fn delete(&self, table: &str, key: &[u8]) -> Result<(), StorageError> {
        unconditional(self.commit(Batch::new().delete(table, key)))
    }

    /// Stores `value` only if `key` is absent (create-if-absent); `false` if it already existed.
    fn insert_new(&self, table: &str, key: &[u8], value: &[u8]) -> Result<bool, StorageError> {
        match self.commit(Batch::new().expect_absent(table, key).put(table, key, value)) {
            Ok(()) => Ok(true),
            Err(CommitError::ConditionFailed { .. }) => Ok(false),
            Err(CommitError::Storage(e)) => Err(e),
        }
    }

    /// Up to `limit` entries whose keys start with `prefix`, in ascending order.
    fn scan_prefix(&self, table: &str, prefix: &[u8], limit: usize) -> Result<Vec<Entry>, StorageError> {
        self.scan(table, KeyRange::prefix(prefix), limit)
    }

    /// Every entry in `range` (in its direction), read page by page so no single scan is
    /// unbounded. For tables a service keeps small (its resources, not its data).
    fn scan_all(&self, table: &str, range: KeyRange) -> Result<Vec<Entry>, StorageError> {
        const PAGE: usize = 256;
        let mut out: Vec<Entry> = Vec::new();
        let mut range = range;
        loop {
            let page = self.scan(table, range.clone(), PAGE)?;
            let full = page.len() == PAGE;
            out.extend(page);
            match out.last() {
                Some((last, _)) if full && range.reverse => range.end = Bound::Excluded(last.clone()),
                Some((last, _)) if full => range.start = Bound::Excluded(last.clone()),
                _ => return Ok(out),
            }
        }
    }
}

/// A batch without preconditions cannot fail one; an engine saying otherwise is broken, and
/// that is reported as an engine error rather than a panic.
fn unconditional(result: Result<(), CommitError>) -> Result<(), StorageError> {
    match result {
        Ok(()) => Ok(()),
        Err(CommitError::Storage(e)) => Err(e),
        Err(CommitError::ConditionFailed { index }) => Err(StorageError::Engine(format!(
            "engine reported failed precondition {index} in a batch without preconditions"
        ))),
    }
}

/// A set of keys for [`Kv::scan`]: bounds on both ends and a direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    pub start: Bound<Vec<u8>>,
    pub end: Bound<Vec<u8>>,
    /// Scan from the high end down (DynamoDB `ScanIndexForward=false`).
    pub reverse: bool,
}

impl KeyRange {
    /// Keys between `start` and `end`, ascending.
    pub fn new(start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> KeyRange {
        KeyRange { start, end, reverse: false }
    }

    /// Every key of the table.
    pub fn all() -> KeyRange {
        KeyRange::new(Bound::Unbounded, Bound::Unbounded)
    }

    /// Every key that starts with `prefix`. The empty prefix is every key, and a prefix made of
    /// `0xff` bytes only has no upper bound.
    pub fn prefix(prefix: impl Into<Vec<u8>>) -> KeyRange {
        let prefix = prefix.into();
        let end = prefix_end(&prefix);
        KeyRange::new(Bound::Included(prefix), end)
    }

    /// Every key from `start` up (for paging: `Bound::Excluded(last_key_seen)`).
    pub fn from(start: Bound<Vec<u8>>) -> KeyRange {
        KeyRange::new(start, Bound::Unbounded)
    }

    /// Every key up to `end` (for paging a reverse scan: `Bound::Excluded(last_key_seen)`).
    pub fn until(end: Bound<Vec<u8>>) -> KeyRange {
        KeyRange::new(Bound::Unbounded, end)
    }

    /// The same keys, scanned from the high end down.
    pub fn rev(mut self) -> KeyRange {
        self.reverse = !self.reverse;
        self
    }

    /// Whether `key` lies inside the bounds.
    pub fn contains(&self, key: &[u8]) -> bool {
        let above_start = match &self.start {
            Bound::Included(s) => key >= s.as_slice(),
            Bound::Excluded(s) => key > s.as_slice(),
            Bound::Unbounded => true,
        };
        let below_end = match &self.end {
            Bound::Included(e) => key <= e.as_slice(),
            Bound::Excluded(e) => key < e.as_slice(),
            Bound::Unbounded => true,
        };
        above_start && below_end
    }

    /// Whether no key at all can lie in the range. Engines check this first because some ordered
    /// maps (`BTreeMap::range`) panic on inverted bounds, which a service may well pass.
    pub fn is_empty(&self) -> bool {
        let (start, start_included, end, end_included) = match (&self.start, &self.end) {
            // The empty key is the smallest, so nothing lies below it.
            (_, Bound::Excluded(e)) if e.is_empty() => return true,
            (Bound::Unbounded, _) | (_, Bound::Unbounded) => return false,
            (Bound::Included(s), Bound::Included(e)) => (s, true, e, true),
            (Bound::Included(s), Bound::Excluded(e)) => (s, true, e, false),
            (Bound::Excluded(s), Bound::Included(e)) => (s, false, e, true),
            (Bound::Excluded(s), Bound::Excluded(e)) => (s, false, e, false),
        };
        if start > end {
            return true;
        }
        if start == end {
            return !(start_included && end_included);
        }
        // The smallest key above `start` is `start ++ [0]`, so `(start, start ++ [0])` is empty.
        !start_included
            && !end_included
            && end.len() == start.len() + 1
            && end.starts_with(start)
            && end.last() == Some(&0)
    }

    /// The bounds as borrowed slices, the shape ordered maps take.
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (as_slice_bound(&self.start), as_slice_bound(&self.end))
    }
}

fn as_slice_bound(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(v) => Bound::Included(v.as_slice()),
        Bound::Excluded(v) => Bound::Excluded(v.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The smallest key greater than every key that starts with `prefix`: drop trailing `0xff`
/// bytes (no key with that prefix can be incremented past them) and add one to the last byte.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

/// What a precondition in a [`Batch`] requires of a key's current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    Absent,
    Present,
    /// Present with exactly this value (optimistic read-modify-write).
    Value(Vec<u8>),
}

impl Condition {
    /// Whether the condition holds for a key whose current value is `current`.
    pub fn holds(&self, current: Option<&[u8]>) -> bool {
        match (self, current) {
            (Condition::Absent, current) => current.is_none(),
            (Condition::Present, current) => current.is_some(),
            (Condition::Value(expected), Some(current)) => expected.as_slice() == current,
            (Condition::Value(_), None) => false,
        }
    }
}

/// One step of a [`Batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put {
        table: String,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        table: String,
        key: Vec<u8>,
    },
    /// A precondition: writes nothing, but the whole batch fails unless it holds.
    Expect {
        table: String,
        key: Vec<u8>,
        condition: Condition,
    },
}

/// Writes and preconditions that [`Kv::commit`] applies atomically.
///
/// ```text
/// Batch::new().expect_absent("iam.roles", b"admin").put("iam.roles", b"admin", record)
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    pub fn put(self, table: impl Into<String>, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Batch {
        self.with(Op::Put { table: table.into(), key: key.into(), value: value.into() })
    }

    pub fn delete(self, table: impl Into<String>, key: impl Into<Vec<u8>>) -> Batch {
        self.with(Op::Delete { table: table.into(), key: key.into() })
    }

    pub fn expect_absent(self, table: impl Into<String>, key: impl Into<Vec<u8>>) -> Batch {
        self.expect(table, key, Condition::Absent)
    }

    pub fn expect_present(self, table: impl Into<String>, key: impl Into<Vec<u8>>) -> Batch {
        self.expect(table, key, Condition::Present)
    }

    pub fn expect_value(
        self,
        table: impl Into<String>,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Batch {
        self.expect(table, key, Condition::Value(value.into()))
    }

    pub fn expect(self, table: impl Into<String>, key: impl Into<Vec<u8>>, condition: Condition) -> Batch {
        self.with(Op::Expect { table: table.into(), key: key.into(), condition })
    }

    fn with(mut self, op: Op) -> Batch {
        self.ops.push(op);
        self
    }

    /// Appends an op in place, for batches built in a loop.
    pub fn push(&mut self, op: Op) -> &mut Batch {
        self.ops.push(op);
        self
    }

    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The preconditions with their index among all ops, which is the index
    /// [`CommitError::ConditionFailed`] reports.
    pub fn conditions(&self) -> impl Iterator<Item = (usize, &str, &[u8], &Condition)> {
        self.ops.iter().enumerate().filter_map(|(index, op)| match op {
            Op::Expect { table, key, condition } => Some((index, table.as_str(), key.as_slice(), condition)),
            Op::Put { .. } | Op::Delete { .. } => None,
        })
    }
}
