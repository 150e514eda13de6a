//! The durable store as the async services see it: its commits wait for an fsync, and that
//! wait must not stall the async workers.

use std::sync::Arc;

use storage::{Batch, CommitError, Entry, KeyRange, Kv, StorageError};
use tokio::runtime::{Handle, RuntimeFlavor};

/// A [`Kv`] whose commits step off the async worker while they wait.
///
/// Services commit from async handlers, and a durable commit blocks until its group's fsync
/// (0.1 ms on a quiet disk, milliseconds on a busy one). With two workers, two waiting commits
/// would stop every other request, and the group commit could never group more than two
/// batches. `block_in_place` hands the worker's queue to another thread for the wait instead,
/// so requests keep flowing and the waiting commits pile up into one fsync. Reads stay inline:
/// they do not wait for the disk's flush.
#[derive(Debug)]
pub struct OffWorker(pub Arc<dyn Kv>);

impl Kv for OffWorker {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.0.get(table, key)
    }

    fn scan(&self, table: &str, range: KeyRange, limit: usize) -> Result<Vec<Entry>, StorageError> {
        self.0.scan(table, range, limit)
    }

    fn commit(&self, batch: Batch) -> Result<(), CommitError> {
        // `block_in_place` exists only on the multi-threaded runtime (it panics elsewhere); off
        // a runtime, or on a blocking-pool thread, the wait blocks nobody else.
        let on_worker = Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
        if on_worker { tokio::task::block_in_place(|| self.0.commit(batch)) } else { self.0.commit(batch) }
    }

    fn flush(&self) -> Result<(), StorageError> {
        self.0.flush()
    }
}
