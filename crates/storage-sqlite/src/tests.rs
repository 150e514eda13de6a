//! `open`: the data directory as the server sees it.

use storage::StorageError;

use super::{BLOB_DIR, DATABASE_FILE, open};

#[test]
fn open_creates_the_data_directory_and_both_stores() {
    let root = tempfile::tempdir().expect("a temporary directory can be created");
    let data_dir = root.path().join("nested").join(".nimbus");
    {
        let store = open(&data_dir).expect("the data directory is created");
        store.kv.put("t", b"k", b"v").expect("put succeeds");
        store.blobs.put("b", b"bytes").expect("put succeeds");
        store.flush().expect("flush succeeds");
    }
    assert!(data_dir.join(DATABASE_FILE).is_file());
    assert!(data_dir.join(BLOB_DIR).is_dir());
    let store = open(&data_dir).expect("the data directory reopens");
    assert_eq!(store.kv.get("t", b"k").expect("get succeeds").as_deref(), Some(&b"v"[..]));
    assert_eq!(store.blobs.get("b").expect("get succeeds").as_deref(), Some(&b"bytes"[..]));
}

#[test]
fn a_data_directory_that_cannot_be_created_is_named_in_the_error() {
    let root = tempfile::tempdir().expect("a temporary directory can be created");
    let file = root.path().join("a-file");
    std::fs::write(&file, b"").expect("the file is written");
    let data_dir = file.join("data");
    match open(&data_dir) {
        Err(error @ StorageError::Io { .. }) => {
            assert!(error.to_string().contains(&data_dir.display().to_string()), "{error}");
        }
        other => panic!("expected an IO error, got {other:?}"),
    }
}

#[cfg(unix)]
#[test]
fn an_unwritable_data_directory_is_named_in_the_error() {
    use std::os::unix::fs::PermissionsExt;

    let root = tempfile::tempdir().expect("a temporary directory can be created");
    let data_dir = root.path().join("read-only");
    std::fs::create_dir(&data_dir).expect("the directory is created");
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o555)).expect("permissions change");
    // Root writes through permission bits; there the directory *is* writable and open must work.
    let writable = std::fs::write(data_dir.join("probe"), b"").is_ok();
    let result = open(&data_dir);
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).expect("permissions change");
    match (writable, result) {
        (true, result) => drop(result.expect("a writable directory opens")),
        (false, Err(error @ StorageError::Io { .. })) => {
            let message = error.to_string();
            assert!(message.contains("not writable") && message.contains("read-only"), "{message}");
        }
        (false, other) => panic!("expected an IO error, got {other:?}"),
    }
}

#[test]
fn a_data_directory_in_use_is_refused() {
    let root = tempfile::tempdir().expect("a temporary directory can be created");
    let _first = open(root.path()).expect("the data directory opens");
    let error = open(root.path()).expect_err("a second open is refused");
    assert!(error.to_string().contains("in use"), "{error}");
}
