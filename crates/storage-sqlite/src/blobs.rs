//! [`FileBlobs`]: blobs as files under one directory, each written to a temporary file, fsynced
//! and renamed into place.

use std::fs::{self, File, TryLockError};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use storage::{BlobStore, BlobWriter, StorageError, clamp_range, validate_blob_key};
use tempfile::NamedTempFile;

/// A writer hands the kernel every this many bytes for writeback as it goes, so the fsync at
/// commit waits for the tail only and a large upload streams to the disk while it arrives
/// (otherwise dirty pages pile up in memory until the commit writes them all at once).
const WRITEBACK_STEP: u64 = 8 << 20;

/// Appended to every blob's file name. Keys cannot contain it, so the file of blob `a` (`a~`)
/// never collides with the directory that holds blob `a/b`.
const FILE_SUFFIX: char = '~';

/// A [`BlobStore`] in a directory:
///
/// ```text
/// dir/LOCK          held (flock) while the store is open: one process per directory
/// dir/objects/...   one file per blob, at the path its key names, plus FILE_SUFFIX
/// dir/tmp/          blobs being written; emptied at open
/// ```
///
/// A commit fsyncs the temporary file, renames it over the blob's path and fsyncs the directory,
/// so an acknowledged blob survives a kill and a power loss, and a reader never sees a partial
/// blob. Empty directories left by deletes are kept; they cost an inode each and removing them
/// would race with a concurrent commit into the same directory.
///
/// Keys are case-sensitive, so the directory must be on a case-sensitive file system.
#[derive(Debug)]
pub struct FileBlobs {
    dirs: Arc<Dirs>,
}

#[derive(Debug)]
struct Dirs {
    objects: PathBuf,
    tmp: PathBuf,
    /// Held so that a directory created by one commit is fsynced into its parent before any
    /// other commit can see it and rename a file into it (whose durability depends on it).
    mkdir: Mutex<()>,
    /// The flock lives as long as this open file; `Dirs` is shared with writers, so the lock
    /// is held until the last of them is gone.
    _lock: File,
}

impl FileBlobs {
    /// Opens or creates the store in `dir` and removes the leftovers of writes that were
    /// interrupted (by a crash) in `dir/tmp/`. Fails if another process has the store open,
    /// since that cleanup would delete its writes in progress.
    pub fn open(dir: &Path) -> Result<FileBlobs, StorageError> {
        let io_err = |action: &str, path: &Path| {
            let context = format!("{action} {}", path.display());
            move |e| StorageError::io(context, e)
        };
        fs::create_dir_all(dir).map_err(io_err("creating blob directory", dir))?;
        let lock_path = dir.join("LOCK");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("opening lock file", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StorageError::io(
                    format!(
                        "blob directory {} is in use by another process (is another Nimbus running on this data directory?)",
                        dir.display()
                    ),
                    io::ErrorKind::WouldBlock.into(),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(io_err("locking", &lock_path)(e)),
        }
        let objects = dir.join("objects");
        let tmp = dir.join("tmp");
        fs::create_dir_all(&objects).map_err(io_err("creating blob directory", &objects))?;
        fs::create_dir_all(&tmp).map_err(io_err("creating blob directory", &tmp))?;
        for entry in fs::read_dir(&tmp).map_err(io_err("listing", &tmp))? {
            let path = entry.map_err(io_err("listing", &tmp))?.path();
            let removed = if path.is_dir() { fs::remove_dir_all(&path) } else { fs::remove_file(&path) };
            removed.map_err(io_err("removing interrupted blob write", &path))?;
        }
        sync_dir(dir).map_err(io_err("syncing", dir))?;
        Ok(FileBlobs { dirs: Arc::new(Dirs { objects, tmp, mkdir: Mutex::new(()), _lock: lock }) })
    }
}

impl Dirs {
    /// The one place a blob key becomes a path. [`validate_blob_key`] admits only segments of
    /// `[A-Za-z0-9._-]` that are neither empty, `.` nor `..`, and no leading `/`, so every
    /// segment is a plain name and the path cannot leave `objects/`. The suffix keeps files and
    /// directories apart (see [`FILE_SUFFIX`]).
    fn blob_path(&self, key: &str) -> Result<PathBuf, StorageError> {
        validate_blob_key(key)?;
        let mut path = self.objects.clone();
        path.extend(key.split('/'));
        path.as_mut_os_string().push(FILE_SUFFIX.encode_utf8(&mut [0; 4]));
        Ok(path)
    }

    /// Creates `dir` (inside `objects/`) and its missing parents, fsyncing each new entry into
    /// its parent so the directory survives a power loss along with the blob renamed into it.
    fn create_dir_durably(&self, dir: &Path) -> io::Result<()> {
        let _guard = self.mkdir.lock().unwrap_or_else(PoisonError::into_inner);
        let mut missing = Vec::new();
        let mut current = dir;
        while current != self.objects && !current.is_dir() {
            missing.push(current);
            current = match current.parent() {
                Some(parent) => parent,
                None => break,
            };
        }
        for dir in missing.into_iter().rev() {
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(())
    }
}

impl BlobStore for FileBlobs {
    fn writer(&self) -> Result<Box<dyn BlobWriter>, StorageError> {
        let temp = NamedTempFile::new_in(&self.dirs.tmp).map_err(|e| {
            StorageError::io(format!("creating a temporary file in {}", self.dirs.tmp.display()), e)
        })?;
        Ok(Box::new(FileBlobWriter {
            dirs: Arc::clone(&self.dirs),
            file: BufWriter::new(temp),
            len: 0,
            handed: 0,
        }))
    }

    fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<Option<Box<dyn Read + Send>>, StorageError> {
        let path = self.dirs.blob_path(key)?;
        let context = || format!("reading blob {key:?} at {}", path.display());
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StorageError::io(context(), e)),
        };
        let len = file.metadata().map_err(|e| StorageError::io(context(), e))?.len();
        let range = clamp_range(range, len);
        if range.start > 0 {
            file.seek(SeekFrom::Start(range.start)).map_err(|e| StorageError::io(context(), e))?;
        }
        // The open file keeps reading these bytes even if the blob is replaced (a rename onto
        // the path) or deleted (an unlink) meanwhile, as the trait promises.
        Ok(Some(Box::new(file.take(range.end - range.start))))
    }

    fn len(&self, key: &str) -> Result<Option<u64>, StorageError> {
        let path = self.dirs.blob_path(key)?;
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::io(format!("reading blob {key:?} at {}", path.display()), e)),
        }
    }

    fn delete(&self, key: &str) -> Result<bool, StorageError> {
        let path = self.dirs.blob_path(key)?;
        let context = || format!("deleting blob {key:?} at {}", path.display());
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(StorageError::io(context(), e)),
        }
        // Without this the unlink could be undone by a power loss after we acknowledged it.
        if let Some(parent) = path.parent() {
            sync_dir(parent).map_err(|e| StorageError::io(context(), e))?;
        }
        Ok(true)
    }
}

/// Streams into a temporary file in `tmp/`; dropping it deletes the file.
struct FileBlobWriter {
    dirs: Arc<Dirs>,
    file: BufWriter<NamedTempFile>,
    len: u64,
    /// Bytes already handed to the kernel for writeback.
    handed: u64,
}

impl FileBlobWriter {
    /// Starts writeback of what was written since the last step, without waiting for it.
    /// `POSIX_FADV_DONTNEED` is the safe call that does this on Linux (dirty pages in the range
    /// are queued for writeback, clean ones dropped from the cache); it is advice, so a failure
    /// changes nothing but speed.
    fn hand_over(&mut self) -> io::Result<()> {
        self.file.flush()?;
        let len = std::num::NonZeroU64::new(self.len - self.handed);
        let _ = rustix::fs::fadvise(
            self.file.get_ref().as_file(),
            self.handed,
            len,
            rustix::fs::Advice::DontNeed,
        );
        self.handed = self.len;
        Ok(())
    }
}

impl Write for FileBlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.len += n as u64;
        if self.len - self.handed >= WRITEBACK_STEP {
            self.hand_over()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobWriter for FileBlobWriter {
    fn commit(self: Box<Self>, key: &str) -> Result<u64, StorageError> {
        let FileBlobWriter { dirs, file, len, .. } = *self;
        let path = dirs.blob_path(key)?;
        let context = || format!("writing blob {key:?} at {}", path.display());
        let temp = file.into_inner().map_err(|e| StorageError::io(context(), e.into_error()))?;
        // Data and metadata reach the disk before the rename publishes them; otherwise a power
        // loss could leave the new name pointing at a hole.
        temp.as_file().sync_all().map_err(|e| StorageError::io(context(), e))?;
        let parent = path.parent().unwrap_or(&dirs.objects);
        dirs.create_dir_durably(parent).map_err(|e| StorageError::io(context(), e))?;
        temp.persist(&path).map_err(|e| StorageError::io(context(), e.error))?;
        sync_dir(parent).map_err(|e| StorageError::io(context(), e))?;
        Ok(len)
    }
}

/// Makes the entries of `dir` (a rename, a new file, an unlink) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
