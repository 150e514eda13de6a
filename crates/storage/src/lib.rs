//! Storage traits every Nimbus service writes through, the in-memory engine and the conformance suite.
//!
//! Two traits cover all state:
//!
//! - [`Kv`]: an ordered, byte-oriented key-value store with named tables, range scans in both
//!   directions and atomic batches with preconditions. Services own their record encoding and
//!   schema versions; the store only sees bytes.
//! - [`BlobStore`]: object and code bytes, streamed in and made visible atomically at commit.
//!
//! Engines implement the traits (`memory` here, `storage-sqlite` for the embedded default) and
//! must pass the same conformance suite (feature `conformance`: [`kv_conformance!`] and
//! [`blob_conformance!`]). Nothing in this crate does IO.

mod blob;
mod error;
mod kv;
pub mod memory;
mod transact;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

use std::sync::Arc;

pub use blob::{
    BlobStore, BlobWriter, MAX_BLOB_KEY_LEN, MAX_BLOB_KEY_SEGMENT_LEN, clamp_range, validate_blob_key,
};
pub use error::{CommitError, StorageError};
pub use kv::{Batch, Condition, Entry, KeyRange, Kv, Op, UNLIMITED};
pub use transact::{Step, TransactError, transact};

/// The state of one Nimbus node: every service gets a clone and keeps its own tables and blob key
/// prefixes inside it.
#[derive(Clone, Debug)]
pub struct Store {
    pub kv: Arc<dyn Kv>,
    pub blobs: Arc<dyn BlobStore>,
}

impl Store {
    /// A store that keeps nothing after the process ends (`--ephemeral`, tests).
    pub fn memory() -> Store {
        Store { kv: Arc::new(memory::MemoryKv::new()), blobs: Arc::new(memory::MemoryBlobs::new()) }
    }

    /// Makes every acknowledged write durable now; called at graceful shutdown.
    ///
    /// Blobs are durable when their writer commits, so only the key-value store has work to do.
    pub fn flush(&self) -> Result<(), StorageError> {
        self.kv.flush()
    }
}
