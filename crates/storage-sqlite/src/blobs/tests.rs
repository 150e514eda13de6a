//! `FileBlobs` against the conformance suite, plus its on-disk layout, its temporary files and
//! its lock.

use std::io::Write;
use std::path::Path;

use storage::conformance::BlobFixture;
use storage::{BlobStore, StorageError};
use tempfile::TempDir;

use super::FileBlobs;

/// The store and the directory it lives in, dropped in that order.
struct Fixture {
    blobs: FileBlobs,
    _dir: TempDir,
}

impl BlobFixture for Fixture {
    fn blobs(&self) -> &dyn BlobStore {
        &self.blobs
    }
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let blobs = FileBlobs::open(dir.path()).expect("a fresh blob directory opens");
    Fixture { blobs, _dir: dir }
}

mod conformance {
    use super::*;
    storage::blob_conformance!(fixture());
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory lists")
        .map(|e| e.expect("the entry reads").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn keys_map_to_files_that_never_collide_with_directories() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let blobs = FileBlobs::open(dir.path()).expect("the blob directory opens");
    blobs.put("a", b"1").expect("put succeeds");
    blobs.put("a/b", b"2").expect("put succeeds");
    assert_eq!(entries(dir.path()), ["LOCK", "objects", "tmp"]);
    assert_eq!(entries(&dir.path().join("objects")), ["a", "a~"]);
    assert_eq!(std::fs::read(dir.path().join("objects/a/b~")).expect("the blob file reads"), b"2");
}

#[test]
fn blobs_survive_reopen() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    {
        let blobs = FileBlobs::open(dir.path()).expect("the blob directory opens");
        blobs.put("code/f/1.zip", b"zip bytes").expect("put succeeds");
    }
    let blobs = FileBlobs::open(dir.path()).expect("the blob directory reopens");
    assert_eq!(blobs.get("code/f/1.zip").expect("get succeeds").as_deref(), Some(&b"zip bytes"[..]));
}

#[test]
fn writers_leave_no_temporary_files() {
    let fixture = fixture();
    let tmp = fixture._dir.path().join("tmp");
    let mut dropped = fixture.blobs.writer().expect("writer opens");
    dropped.write_all(b"abandoned").expect("write succeeds");
    assert_eq!(entries(&tmp).len(), 1, "the writer streams into tmp/");
    drop(dropped);
    fixture.blobs.put("k", b"committed").expect("put succeeds");
    assert_eq!(entries(&tmp), Vec::<String>::new());
}

#[test]
fn interrupted_writes_are_cleaned_up_at_open() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    drop(FileBlobs::open(dir.path()).expect("the blob directory opens"));
    let tmp = dir.path().join("tmp");
    std::fs::write(tmp.join(".tmpLEFTOVER"), b"half a blob").expect("the leftover is written");
    std::fs::create_dir(tmp.join("odd-dir")).expect("the leftover directory is created");
    let blobs = FileBlobs::open(dir.path()).expect("the blob directory reopens");
    assert_eq!(entries(&tmp), Vec::<String>::new());
    blobs.put("after", b"ok").expect("put succeeds");
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().expect("a temporary directory can be created");
    let first = FileBlobs::open(dir.path()).expect("the blob directory opens");
    let writer = first.writer().expect("writer opens");
    match FileBlobs::open(dir.path()) {
        Err(StorageError::Io { context, .. }) => assert!(context.contains("in use"), "{context}"),
        other => panic!("expected the second open to be refused, got {other:?}"),
    }
    drop(first);
    assert!(FileBlobs::open(dir.path()).is_err(), "an open writer still holds the directory");
    drop(writer);
    FileBlobs::open(dir.path()).expect("the directory opens once the first store is gone");
}

/// A blob larger than a few writeback steps reads back byte for byte: handing pages to the
/// kernel early changes when they reach the disk, not what the blob holds.
#[test]
fn a_large_blob_handed_over_in_steps_reads_back_whole() {
    use std::io::Read;
    let f = fixture();
    let chunk: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8).collect();
    let mut writer = f.blobs.writer().expect("writer");
    for round in 0..20u8 {
        let mut piece = chunk.clone();
        piece[0] = round;
        writer.write_all(&piece).expect("write");
    }
    assert_eq!(writer.commit("big").expect("commit"), 20 << 20);
    let mut got = Vec::new();
    f.blobs
        .read("big", None)
        .expect("read")
        .expect("the blob exists")
        .read_to_end(&mut got)
        .expect("read all");
    assert_eq!(got.len(), 20 << 20);
    for round in 0..20usize {
        let at = round << 20;
        assert_eq!(got[at], round as u8);
        assert_eq!(&got[at + 1..at + (1 << 20)], &chunk[1..]);
    }
}
