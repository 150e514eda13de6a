//! The blob store trait for object and code bytes, and the one rule for blob keys.

use std::fmt;
use std::io::{Read, Write};
use std::ops::Range;

use crate::StorageError;

/// The longest valid blob key, in bytes.
pub const MAX_BLOB_KEY_LEN: usize = 512;

/// The longest valid segment (text between `/`) of a blob key, in bytes. File-based engines map
/// segments to file names, and file systems cap a name at 255 bytes; the margin leaves room for
/// an engine's suffixes.
pub const MAX_BLOB_KEY_SEGMENT_LEN: usize = 200;

/// Immutable byte sequences under string keys (S3 object bodies, function code packages).
///
/// Bytes are streamed into a [`BlobWriter`] and become visible under a key only when the writer
/// commits, atomically replacing an older blob of that key. A writer dropped without commit
/// leaves nothing behind. Readers that opened a blob keep reading the bytes they opened, even if
/// it is replaced or deleted meanwhile.
///
/// Keys are chosen by services and must pass [`validate_blob_key`]; every method rejects other
/// keys with [`StorageError::InvalidKey`]. A key and its "directory" may coexist (`a` and `a/b`).
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// A writer for a new blob; its key is given at [`BlobWriter::commit`].
    fn writer(&self) -> Result<Box<dyn BlobWriter>, StorageError>;

    /// Reads the blob under `key`, or only the bytes in `range` of it.
    ///
    /// The range is clamped to the blob's length: a range past the end yields the bytes up to
    /// the end, and an empty or wholly out-of-bounds range yields no bytes. Services that must
    /// reject unsatisfiable ranges (S3 `InvalidRange`) check against [`BlobStore::len`] first.
    fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Option<Box<dyn Read + Send>>, StorageError>;

    /// The length in bytes of the blob under `key`.
    fn len(&self, key: &str) -> Result<Option<u64>, StorageError>;

    /// Removes the blob under `key`; `false` if there was none.
    fn delete(&self, key: &str) -> Result<bool, StorageError>;

    /// Stores `bytes` under `key` in one step.
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        // Checked first so an invalid key costs no temporary copy of the bytes.
        validate_blob_key(key)?;
        let mut writer = self.writer()?;
        writer.write_all(bytes).map_err(|e| StorageError::io(format!("writing blob {key:?}"), e))?;
        writer.commit(key)?;
        Ok(())
    }

    /// The whole blob under `key`, in memory.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(mut reader) = self.read(key, None)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|e| StorageError::io(format!("reading blob {key:?}"), e))?;
        Ok(Some(bytes))
    }
}

/// Receives a blob's bytes; see [`BlobStore`].
pub trait BlobWriter: Write + Send {
    /// Makes the bytes written so far visible under `key`, durably, and returns their count.
    fn commit(self: Box<Self>, key: &str) -> Result<u64, StorageError>;
}

/// Checks that `key` is a valid blob key:
///
/// - 1 to [`MAX_BLOB_KEY_LEN`] bytes, drawn from `A-Z a-z 0-9 . _ / -`;
/// - `/` separates segments; no segment is empty (so no leading, trailing or doubled `/`),
///   none is `.` or `..`, and none is longer than [`MAX_BLOB_KEY_SEGMENT_LEN`] bytes.
///
/// This is what lets file-based engines turn a key into a path under their directory without
/// ever escaping it; services encode anything else (S3 object keys) into this alphabet.
pub fn validate_blob_key(key: &str) -> Result<(), StorageError> {
    let invalid = |reason| Err(StorageError::InvalidKey { key: truncate_for_message(key), reason });
    if key.is_empty() {
        return invalid("empty");
    }
    if key.len() > MAX_BLOB_KEY_LEN {
        return invalid("longer than 512 bytes");
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-')) {
        return invalid("only A-Z a-z 0-9 . _ / - are allowed");
    }
    for segment in key.split('/') {
        match segment {
            "" => return invalid("empty path segment"),
            "." | ".." => return invalid("`.` and `..` segments are not allowed"),
            s if s.len() > MAX_BLOB_KEY_SEGMENT_LEN => return invalid("path segment longer than 200 bytes"),
            _ => {}
        }
    }
    Ok(())
}

/// Invalid keys can be arbitrarily long; an error message needs only their start.
fn truncate_for_message(key: &str) -> String {
    const SHOWN: usize = 600;
    if key.len() <= SHOWN {
        return key.to_owned();
    }
    let mut end = SHOWN;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &key[..end])
}

/// Clamps a requested range to a blob of `len` bytes, the way [`BlobStore::read`] promises;
/// shared so every engine clamps alike.
pub fn clamp_range(range: Option<Range<u64>>, len: u64) -> Range<u64> {
    match range {
        None => 0..len,
        Some(r) => {
            let end = r.end.min(len);
            r.start.min(end)..end
        }
    }
}
