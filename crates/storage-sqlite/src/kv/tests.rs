//! `SqliteKv` against the conformance suite, plus what only a file-backed engine has: reopening,
//! its pragmas and schema versions.

use storage::conformance::KvFixture;
use storage::{Batch, KeyRange, Kv, StorageError, UNLIMITED};
use tempfile::TempDir;

use super::{SqliteKv, schema_version};

/// The engine and the directory it lives in, dropped in that order.
struct Fixture {
    kv: SqliteKv,
    _dir: TempDir,
}

impl KvFixture for Fixture {
    fn kv(&self) -> &dyn Kv {
        &self.kv
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let kv = SqliteKv::open(&dir.path().join("kv.sqlite3")).expect("a fresh database opens");
    Fixture { kv, _dir: dir }
}

mod conformance {
    use super::*;
    storage::kv_conformance!(fixture());
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let path = dir.path().join("kv.sqlite3");
    {
        let kv = SqliteKv::open(&path).expect("a fresh database opens");
        kv.commit(Batch::new().put("t", b"a", b"1").put("t", b"b", b"2").put("u", b"a", b"3"))
            .expect("the batch commits");
        kv.delete("t", b"b").expect("delete succeeds");
    }
    let kv = SqliteKv::open(&path).expect("the database reopens");
    assert_eq!(
        kv.scan("t", KeyRange::all(), UNLIMITED).expect("scan succeeds"),
        vec![(b"a".to_vec(), b"1".to_vec())]
    );
    assert_eq!(kv.get("u", b"a").expect("get succeeds").as_deref(), Some(&b"3"[..]));
}

#[test]
fn durability_pragmas_and_schema_version_are_set() {
    let fixture = fixture();
    let conn = fixture.kv.lock_writer();
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("pragma reads");
    let synchronous: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).expect("pragma reads");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("pragma reads");
    assert_eq!(mode, "wal");
    assert_eq!(synchronous, 2, "synchronous=FULL");
    assert_eq!(version, schema_version() as i64);
}

#[test]
fn reopening_keeps_the_schema_version() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let path = dir.path().join("kv.sqlite3");
    drop(SqliteKv::open(&path).expect("a fresh database opens"));
    let kv = SqliteKv::open(&path).expect("an up-to-date database reopens without migrating");
    kv.put("t", b"k", b"v").expect("put succeeds");
}

#[test]
fn a_database_from_a_newer_nimbus_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let path = dir.path().join("kv.sqlite3");
    drop(SqliteKv::open(&path).expect("a fresh database opens"));
    let conn = rusqlite::Connection::open(&path).expect("sqlite opens the file");
    conn.pragma_update(None, "user_version", 99).expect("pragma writes");
    drop(conn);
    match SqliteKv::open(&path) {
        Err(StorageError::Engine(message)) => assert!(message.contains("newer Nimbus"), "{message}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_reported_corrupt() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let path = dir.path().join("kv.sqlite3");
    std::fs::write(&path, vec![b'x'; 4096]).expect("the file is written");
    match SqliteKv::open(&path) {
        Err(StorageError::Corrupt(message)) => assert!(message.contains("kv.sqlite3"), "{message}"),
        other => panic!("expected a corruption error, got {other:?}"),
    }
}

#[test]
fn a_missing_directory_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let path = dir.path().join("missing").join("kv.sqlite3");
    let error = SqliteKv::open(&path).expect_err("the directory does not exist");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
}

/// Concurrent commits share transactions (group commit) but keep their own outcomes: a batch
/// whose precondition fails writes nothing and fails alone, the others of its group stay.
#[test]
fn grouped_commits_keep_their_own_outcomes() {
    let f = fixture();
    let kv = std::sync::Arc::new(f.kv);
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let kv = kv.clone();
            std::thread::spawn(move || {
                for i in 0..60u32 {
                    let key = format!("{t}/{i}").into_bytes();
                    let mut batch = Batch::new().put("t", key.clone(), b"v".to_vec()).put(
                        "log",
                        key.clone(),
                        b"x".to_vec(),
                    );
                    if i % 3 == 0 {
                        // Never holds: the whole batch must vanish.
                        batch = batch.expect_present("t", b"missing".to_vec());
                    } else {
                        batch = batch.expect_absent("t", key.clone());
                    }
                    let result = kv.commit(batch);
                    assert_eq!(result.is_ok(), i % 3 != 0, "{t}/{i}: {result:?}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread panicked");
    }
    let written = kv.scan("t", KeyRange::all(), UNLIMITED).expect("scan");
    let logged = kv.scan("log", KeyRange::all(), UNLIMITED).expect("scan");
    assert_eq!(written.len(), 8 * 40);
    assert_eq!(logged.len(), 8 * 40, "a failed batch wrote none of its ops");
    assert!(written.iter().all(|(k, _)| {
        std::str::from_utf8(k)
            .expect("utf-8")
            .rsplit('/')
            .next()
            .and_then(|i| i.parse::<u32>().ok())
            .is_some_and(|i| i % 3 != 0)
    }));
}
