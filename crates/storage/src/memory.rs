//! The in-memory engine: [`MemoryKv`] and [`MemoryBlobs`], for `--ephemeral` runs and tests.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::{
    Batch, BlobStore, BlobWriter, CommitError, Entry, KeyRange, Kv, Op, StorageError, clamp_range,
    validate_blob_key,
};

type Table = BTreeMap<Vec<u8>, Vec<u8>>;

/// A [`Kv`] held in a `BTreeMap` per table; one lock makes every commit atomic.
#[derive(Debug, Default)]
pub struct MemoryKv {
    tables: RwLock<HashMap<String, Table>>,
}

impl MemoryKv {
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }

    // A panic while the lock was held cannot have left a half-applied batch: commit checks every
    // precondition before its first write, and the writes themselves cannot fail. So the data
    // behind a poisoned lock is consistent and is used as is.
    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Table>> {
        self.tables.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Table>> {
        self.tables.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Kv for MemoryKv {
    fn get(&self, table: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.read().get(table).and_then(|t| t.get(key)).cloned())
    }

    fn scan(&self, table: &str, range: KeyRange, limit: usize) -> Result<Vec<Entry>, StorageError> {
        if range.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let tables = self.read();
        let Some(table) = tables.get(table) else {
            return Ok(Vec::new());
        };
        let entries = table.range::<[u8], _>(range.bounds());
        let clone = |(k, v): (&Vec<u8>, &Vec<u8>)| (k.clone(), v.clone());
        Ok(if range.reverse {
            entries.rev().take(limit).map(clone).collect()
        } else {
            entries.take(limit).map(clone).collect()
        })
    }

    fn commit(&self, batch: Batch) -> Result<(), CommitError> {
        let mut tables = self.write();
        for (index, table, key, condition) in batch.conditions() {
            let current = tables.get(table).and_then(|t| t.get(key));
            if !condition.holds(current.map(Vec::as_slice)) {
                return Err(CommitError::ConditionFailed { index });
            }
        }
        for op in batch.into_ops() {
            match op {
                Op::Put { table, key, value } => {
                    tables.entry(table).or_default().insert(key, value);
                }
                Op::Delete { table, key } => {
                    if let Some(t) = tables.get_mut(&table) {
                        t.remove(&key);
                        // Empty tables are dropped so that a service creating and deleting
                        // many short-lived tables doesn't leak their names.
                        if t.is_empty() {
                            tables.remove(&table);
                        }
                    }
                }
                Op::Expect { .. } => {}
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

type BlobMap = HashMap<String, Arc<[u8]>>;

/// A [`BlobStore`] in a map; readers share the bytes through an `Arc`, so a replaced blob stays
/// readable by whoever opened it.
#[derive(Debug, Default)]
pub struct MemoryBlobs {
    blobs: Arc<RwLock<BlobMap>>,
}

impl MemoryBlobs {
    pub fn new() -> MemoryBlobs {
        MemoryBlobs::default()
    }

    fn read_map(&self) -> RwLockReadGuard<'_, BlobMap> {
        // Each update of the map is a single insert or remove, so poisoning cannot hide a torn one.
        self.blobs.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_blob(&self, key: &str) -> Result<Option<Arc<[u8]>>, StorageError> {
        validate_blob_key(key)?;
        Ok(self.read_map().get(key).cloned())
    }
}

impl BlobStore for MemoryBlobs {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, StorageError> {
        Ok(Box::new(MemoryBlobWriter { blobs: Arc::clone(&self.blobs), bytes: Vec::new() }))
    }

    fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Option<Box<dyn Read + Send>>, StorageError> {
        let Some(bytes) = self.get_blob(key)? else {
            return Ok(None);
        };
        let range = clamp_range(range, bytes.len() as u64);
        // Both ends are clamped to the length of an in-memory slice, so they fit in usize.
        let (pos, end) = (to_usize(range.start), to_usize(range.end));
        Ok(Some(Box::new(SliceReader { bytes, pos, end })))
    }

    fn len(&self, key: &str) -> Result<Option<u64>, StorageError> {
        Ok(self.get_blob(key)?.map(|b| b.len() as u64))
    }

    fn delete(&self, key: &str) -> Result<bool, StorageError> {
        validate_blob_key(key)?;
        Ok(self.blobs.write().unwrap_or_else(PoisonError::into_inner).remove(key).is_some())
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

struct MemoryBlobWriter {
    blobs: Arc<RwLock<BlobMap>>,
    bytes: Vec<u8>,
}

impl Write for MemoryBlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter for MemoryBlobWriter {
    fn commit(self: Box<Self>, key: &str) -> Result<u64, StorageError> {
        validate_blob_key(key)?;
        let len = self.bytes.len() as u64;
        self.blobs.write().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned(), self.bytes.into());
        Ok(len)
    }
}

/// Reads `bytes[pos..end]` without copying the blob.
struct SliceReader {
    bytes: Arc<[u8]>,
    pos: usize,
    end: usize,
}

impl Read for SliceReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.bytes.get(self.pos..self.end).unwrap_or_default();
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
