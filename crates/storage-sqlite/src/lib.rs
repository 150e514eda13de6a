//! Nimbus's embedded default storage engine: [`SqliteKv`] (the key-value store in one SQLite file)
//! and [`FileBlobs`] (blobs as files), opened together under a data directory by [`open`].
//!
//! Both pass `storage`'s conformance suite, and both keep the design's promise that a write
//! acknowledged to a client survives a `kill -9` of the server (see `crash_tests`).

mod blobs;
mod kv;

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::Path;
use std::sync::Arc;

pub use blobs::FileBlobs;
pub use kv::SqliteKv;
use storage::{StorageError, Store};

/// The key-value database inside a data directory.
pub const DATABASE_FILE: &str = "nimbus.sqlite3";

/// The blob directory inside a data directory.
pub const BLOB_DIR: &str = "blobs";

/// Opens (creating it if missing) the state kept in `data_dir`: `nimbus.sqlite3` and `blobs/`.
///
/// Fails with [`StorageError::Io`] naming the directory if it cannot be created or written, and
/// if another process has it open.
pub fn open(data_dir: &Path) -> Result<Store, StorageError> {
    fs::create_dir_all(data_dir)
        .map_err(|e| StorageError::io(format!("cannot create data directory {}", data_dir.display()), e))?;
    // Probing with a real file gives one clear error up front, where SQLite would report an
    // unwritable directory as a vague "unable to open database file".
    tempfile::Builder::new()
        .prefix(".write-check")
        .tempfile_in(data_dir)
        .map_err(|e| StorageError::io(format!("data directory {} is not writable", data_dir.display()), e))?;
    // Blobs first: their lock tells a second server on the same directory to stop before it
    // touches anything.
    let blobs = FileBlobs::open(&data_dir.join(BLOB_DIR))?;
    let kv = SqliteKv::open(&data_dir.join(DATABASE_FILE))?;
    Ok(Store { kv: Arc::new(kv), blobs: Arc::new(blobs) })
}
