//! `kill -9` tests: a child process commits numbered writes and reports each one after its
//! commit returns; the parent kills it mid-stream and checks that every reported write is there.
//!
//! The child is this test binary run again with a filter selecting one of the `child_*` tests
//! and [`CHILD_DIR`] set; without that variable those tests return at once.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use storage::{Batch, BlobStore, Kv};

use crate::{FileBlobs, SqliteKv};

/// Set in the child's environment: the directory it writes into.
const CHILD_DIR: &str = "NIMBUS_STORAGE_CRASH_CHILD_DIR";

/// How many acknowledged writes the parent waits for before it kills the child.
const ACKNOWLEDGED: u64 = 100;

/// A bound on the child in case its parent never kills it (the parent died first).
const CHILD_MAX_WRITES: u64 = 1_000_000;

/// Runs the `child` test in a new process and kills it once it has acknowledged
/// [`ACKNOWLEDGED`] writes; returns their numbers.
fn run_child_until_killed(child: &str, dir: &Path) -> Vec<u64> {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let mut process = Command::new(exe)
        .args([child, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child process starts");
    let stdout = process.stdout.take().expect("the child's stdout is piped");
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("the child's output reads");
        if let Some(n) = line.strip_prefix("committed ") {
            acknowledged.push(n.parse().expect("the child prints numbers"));
            if acknowledged.len() as u64 == ACKNOWLEDGED {
                break;
            }
        }
    }
    // SIGKILL: no destructor, no flush, no checkpoint runs in the child.
    process.kill().expect("the child can be killed");
    let status = process.wait().expect("the child is reaped");
    assert_eq!(acknowledged.len() as u64, ACKNOWLEDGED, "the child stopped early ({status})");
    assert!(status.code().is_none(), "the child was killed by a signal, not finished ({status})");
    acknowledged
}

/// Tells the parent that write `n` was acknowledged; this goes to the real stdout, which the
/// test harness does not capture.
fn acknowledge(n: u64) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "committed {n}").and_then(|()| out.flush()).expect("the parent is still reading");
}

fn blob_bytes(n: u64) -> Vec<u8> {
    // Sizes up to 64 KiB, so some writes are still in flight when the kill lands.
    let len = (n * 7919 % 65_536) as usize;
    (0..len).map(|i| (i as u64 + n) as u8).collect()
}

#[test]
fn child_kv_writes() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let kv = SqliteKv::open(&Path::new(&dir).join("crash.sqlite3")).expect("the child opens the database");
    for n in 0..CHILD_MAX_WRITES {
        // Each batch also moves a "last" marker, so a torn batch would show as a mismatch.
        kv.commit(Batch::new().put("crash", n.to_be_bytes(), n.to_le_bytes()).put(
            "crash.last",
            b"last",
            n.to_be_bytes(),
        ))
        .expect("the child's commit succeeds");
        acknowledge(n);
    }
}

#[test]
fn acknowledged_kv_commits_survive_kill() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let acknowledged = run_child_until_killed("crash_tests::child_kv_writes", dir.path());

    let kv = SqliteKv::open(&dir.path().join("crash.sqlite3")).expect("the database reopens after the kill");
    let last = kv.get("crash.last", b"last").expect("get succeeds").expect("the marker exists");
    let last = u64::from_be_bytes(last.try_into().expect("the marker is 8 bytes"));
    for n in &acknowledged {
        let value = kv.get("crash", &n.to_be_bytes()).expect("get succeeds");
        assert_eq!(value, Some(n.to_le_bytes().to_vec()), "acknowledged write {n} was lost");
    }
    let stored = kv.scan("crash", storage::KeyRange::all(), storage::UNLIMITED).expect("scan succeeds");
    assert_eq!(stored.len() as u64, last + 1, "every batch up to the marker, and none after it");
    assert!(last >= ACKNOWLEDGED - 1);
    let conn = kv.lock_writer();
    let check: String =
        conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity check runs");
    assert_eq!(check, "ok");
}

#[test]
fn child_blob_writes() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
    let blobs = FileBlobs::open(Path::new(&dir)).expect("the child opens the blob directory");
    for n in 0..CHILD_MAX_WRITES {
        blobs.put(&format!("crash/{n}"), &blob_bytes(n)).expect("the child's put succeeds");
        acknowledge(n);
    }
}

#[test]
fn acknowledged_blob_commits_survive_kill() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let acknowledged = run_child_until_killed("crash_tests::child_blob_writes", dir.path());

    // Opening takes the lock the dead child held and clears its interrupted write.
    let blobs = FileBlobs::open(dir.path()).expect("the blob directory reopens after the kill");
    for n in &acknowledged {
        let bytes = blobs.get(&format!("crash/{n}")).expect("get succeeds");
        assert!(bytes == Some(blob_bytes(*n)), "acknowledged blob {n} was lost or torn");
    }
    // The child ran on while the parent read; what it committed since is whole, and so is the
    // write in flight at the kill if it made it at all.
    let mut n = ACKNOWLEDGED;
    while let Some(bytes) = blobs.get(&format!("crash/{n}")).expect("get succeeds") {
        assert!(bytes == blob_bytes(n), "blob {n} is torn");
        n += 1;
    }
    let leftovers = std::fs::read_dir(dir.path().join("tmp")).expect("tmp/ lists").count();
    assert_eq!(leftovers, 0, "the interrupted write was cleaned up");
}
