//! Deployment packages: checking a zip as Lambda does, storing it once per content hash as a
//! blob, and unpacking it (with its exec bits) into the folder environments are started from.
//!
//! The unpacked tree is a cache of the blob: after a restart, or when the folder was removed,
//! it is unpacked again on the next invoke. Unpacking goes to a temporary folder that is renamed
//! into place, so a half-unpacked package is never run.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use storage::BlobStore;

use crate::error::Error;
use crate::model::{CodeRef, code_blob};

/// Lambda's limit on the unzipped size of a function and its layers.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;

/// A deployment package that passed the checks, ready to store.
pub struct Package<'a> {
    pub bytes: &'a [u8],
    pub code: CodeRef,
}

/// The `CodeSha256` Lambda reports: base64 of the SHA-256 of the zip.
pub fn sha256_base64(hex_digest: &str) -> String {
    let raw = hex::decode(hex_digest).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(raw)
}

/// Checks that `bytes` is a zip Lambda would accept: readable, and under the unzipped limit.
pub fn inspect(bytes: &[u8]) -> Result<Package<'_>, Error> {
    let unreadable =
        || Error::invalid("Could not unzip uploaded file. Please check your file, then try to upload again.");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| unreadable())?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|_| unreadable())?;
        total = total.saturating_add(entry.size());
    }
    if total > MAX_UNZIPPED_BYTES {
        return Err(Error::invalid(format!("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")));
    }
    let sha256_hex = hex::encode(Sha256::digest(bytes));
    Ok(Package { bytes, code: CodeRef { sha256_hex, size: bytes.len() as u64 } })
}

/// Where packages are kept (blobs) and unpacked (a folder under the service's work dir).
#[derive(Debug, Clone)]
pub struct CodeStore {
    blobs: Arc<dyn BlobStore>,
    dir: PathBuf,
}

impl CodeStore {
    pub fn new(blobs: Arc<dyn BlobStore>, dir: PathBuf) -> CodeStore {
        CodeStore { blobs, dir }
    }

    /// Stores the package unless a package with the same bytes is there already.
    pub fn store(&self, package: &Package<'_>) -> Result<(), Error> {
        let key = code_blob(&package.code.sha256_hex);
        if self.blobs.len(&key)?.is_none() {
            self.blobs.put(&key, package.bytes)?;
        }
        Ok(())
    }

    /// The zip itself, for `GetFunction`'s download location.
    pub fn read(&self, code: &CodeRef) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.blobs.get(&code_blob(&code.sha256_hex))?)
    }

    /// The unpacked tree of a package, unpacking it first if needed. Blocking: call it from a
    /// blocking-friendly context for large packages.
    pub fn unpacked(&self, code: &CodeRef) -> Result<PathBuf, Error> {
        let target = self.dir.join(&code.sha256_hex);
        if target.is_dir() {
            return Ok(target);
        }
        let bytes = self.read(code)?.ok_or_else(|| {
            Error::ServiceException(format!(
                "deployment package {} is missing from the store",
                code.sha256_hex
            ))
        })?;
        let tmp = self.dir.join(format!(".unpack-{}", uuid::Uuid::new_v4().simple()));
        let result = unpack(&bytes, &tmp).and_then(|()| match std::fs::rename(&tmp, &target) {
            Ok(()) => Ok(()),
            // Another invoke unpacked the same package first.
            Err(_) if target.is_dir() => {
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(())
            }
            Err(e) => Err(format!("moving the unpacked package into place: {e}")),
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(Error::ServiceException(format!("unpacking {}: {e}", code.sha256_hex)));
        }
        Ok(target)
    }
}

/// Unpacks a zip into `dest` (created), keeping Unix permission bits; entries whose path would
/// leave `dest` are skipped, as are symlinks pointing outside it.
pub fn unpack(bytes: &[u8], dest: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;

    std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut budget = MAX_UNZIPPED_BYTES;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let Some(rel) = entry.enclosed_name() else { continue };
        let path = dest.join(&rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        if entry.is_symlink() {
            let mut target = String::new();
            entry.read_to_string(&mut target).map_err(|e| e.to_string())?;
            if symlink_stays_inside(&rel, &target) {
                let _ = std::os::unix::fs::symlink(&target, &path);
            }
            continue;
        }
        let mut out =
            std::fs::File::create(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        // The header's size may lie: never write more than the whole package may hold.
        let written = std::io::copy(&mut (&mut entry).take(budget + 1), &mut out)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        if written > budget {
            return Err(format!("unzipped size is over {MAX_UNZIPPED_BYTES} bytes"));
        }
        budget -= written;
        // Zips made without Unix modes (on Windows, say) get rw-r--r--, as Lambda does.
        let mode = entry.unix_mode().map_or(0o644, |m| m & 0o777) | 0o400;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("setting permissions of {}: {e}", path.display()))?;
    }
    Ok(())
}

/// A relative symlink at `link` (relative to the root) whose target stays under the root.
fn symlink_stays_inside(link: &Path, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth: i64 = link.components().count() as i64 - 1;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write as _;

    use super::*;

    /// A zip with the given `(path, mode, contents)` entries.
    pub(crate) fn zip_of(files: &[(&str, u32, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, mode, body) in files {
            let opts = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
            w.start_file(*name, opts).unwrap_or_else(|e| panic!("{e}"));
            w.write_all(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        }
        w.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
    }

    #[test]
    fn unpacks_with_exec_bits_and_hashes_as_lambda_reports() {
        use std::os::unix::fs::PermissionsExt as _;
        let bytes = zip_of(&[("bootstrap", 0o755, "#!/bin/sh\n"), ("lib/app.py", 0o644, "x = 1\n")]);
        let pkg = inspect(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pkg.code.size, bytes.len() as u64);
        assert_eq!(sha256_base64(&pkg.code.sha256_hex).len(), 44);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        unpack(&bytes, &dir.path().join("t")).unwrap_or_else(|e| panic!("{e}"));
        let mode = std::fs::metadata(dir.path().join("t/bootstrap")).map(|m| m.permissions().mode());
        assert_eq!(mode.ok().map(|m| m & 0o777), Some(0o755));
        let text = std::fs::read_to_string(dir.path().join("t/lib/app.py")).ok();
        assert_eq!(text.as_deref(), Some("x = 1\n"));
    }

    #[test]
    fn garbage_is_refused_with_lambdas_message() {
        match inspect(b"not a zip") {
            Err(Error::InvalidParameterValueException(m)) => assert!(m.starts_with("Could not unzip"), "{m}"),
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn symlinks_may_not_escape() {
        assert!(symlink_stays_inside(Path::new("a/b"), "c"));
        assert!(symlink_stays_inside(Path::new("a/b"), "../c"));
        assert!(!symlink_stays_inside(Path::new("a/b"), "../../c"));
        assert!(!symlink_stays_inside(Path::new("b"), "/etc/passwd"));
    }

    #[test]
    fn the_store_unpacks_once_and_again_after_removal() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = CodeStore::new(storage::Store::memory().blobs, dir.path().to_path_buf());
        let bytes = zip_of(&[("index.py", 0o644, "def handler(e, c): return e\n")]);
        let pkg = inspect(&bytes).unwrap_or_else(|e| panic!("{e}"));
        store.store(&pkg).unwrap_or_else(|e| panic!("{e}"));
        let path = store.unpacked(&pkg.code).unwrap_or_else(|e| panic!("{e}"));
        assert!(path.join("index.py").is_file());
        std::fs::remove_dir_all(&path).unwrap_or_else(|e| panic!("{e}"));
        let again = store.unpacked(&pkg.code).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.join("index.py").is_file());
    }
}
