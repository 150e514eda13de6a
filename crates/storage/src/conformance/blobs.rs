//! The blob-store cases: the contract of [`BlobStore`] and of [`crate::validate_blob_key`].

use std::io::{Read, Write};

use crate::{BlobStore, MAX_BLOB_KEY_LEN, MAX_BLOB_KEY_SEGMENT_LEN, StorageError};

fn get(blobs: &dyn BlobStore, key: &str) -> Option<Vec<u8>> {
    blobs.get(key).expect("get succeeds")
}

fn put(blobs: &dyn BlobStore, key: &str, bytes: &[u8]) {
    blobs.put(key, bytes).expect("put succeeds");
}

fn read_range(blobs: &dyn BlobStore, key: &str, range: std::ops::Range<u64>) -> Vec<u8> {
    let mut reader = blobs.read(key, Some(range.clone())).expect("read succeeds").expect("the blob exists");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).expect("reading the blob succeeds");
    bytes
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

pub fn put_get_roundtrip(blobs: &dyn BlobStore) {
    let bytes = pattern(10_000);
    put(blobs, "code/fn-1/v1.zip", &bytes);
    assert_eq!(get(blobs, "code/fn-1/v1.zip"), Some(bytes.clone()));
    assert_eq!(blobs.len("code/fn-1/v1.zip").expect("len succeeds"), Some(10_000));
    put(blobs, "b", b"\x00\xff binary");
    assert_eq!(get(blobs, "b").as_deref(), Some(&b"\x00\xff binary"[..]));
    assert_eq!(get(blobs, "code/fn-1/v1.zip"), Some(bytes), "another blob is untouched");
}

pub fn absent_keys(blobs: &dyn BlobStore) {
    assert_eq!(get(blobs, "absent"), None);
    assert!(blobs.read("absent", None).expect("read succeeds").is_none());
    assert!(blobs.read("absent", Some(0..1)).expect("read succeeds").is_none());
    assert_eq!(blobs.len("absent").expect("len succeeds"), None);
    assert!(!blobs.delete("absent").expect("delete succeeds"));
    assert!(!blobs.delete("absent/nested/deeper").expect("delete succeeds"));
    put(blobs, "dir/file", b"x");
    assert_eq!(get(blobs, "dir"), None, "a key's parent is not a blob");
    assert_eq!(get(blobs, "dir/file/child"), None, "a blob has no children");
    assert_eq!(get(blobs, "dir/fil"), None);
}

pub fn replace_overwrites(blobs: &dyn BlobStore) {
    put(blobs, "obj", &pattern(5000));
    put(blobs, "obj", b"short");
    assert_eq!(get(blobs, "obj").as_deref(), Some(&b"short"[..]), "a shorter blob leaves no old tail");
    assert_eq!(blobs.len("obj").expect("len succeeds"), Some(5));
    put(blobs, "obj", &pattern(7000));
    assert_eq!(get(blobs, "obj"), Some(pattern(7000)));
}

pub fn delete_removes(blobs: &dyn BlobStore) {
    put(blobs, "a/b", b"1");
    put(blobs, "a/c", b"2");
    assert!(blobs.delete("a/b").expect("delete succeeds"));
    assert_eq!(get(blobs, "a/b"), None);
    assert_eq!(blobs.len("a/b").expect("len succeeds"), None);
    assert!(!blobs.delete("a/b").expect("delete succeeds"), "a second delete finds nothing");
    assert_eq!(get(blobs, "a/c").as_deref(), Some(&b"2"[..]), "a sibling is untouched");
    put(blobs, "a/b", b"3");
    assert_eq!(get(blobs, "a/b").as_deref(), Some(&b"3"[..]), "a deleted key can be written again");
}

pub fn ranged_reads(blobs: &dyn BlobStore) {
    let bytes = pattern(100_000);
    put(blobs, "ranged", &bytes);
    assert_eq!(read_range(blobs, "ranged", 0..100_000), bytes);
    assert_eq!(read_range(blobs, "ranged", 0..1), bytes[..1].to_vec());
    assert_eq!(read_range(blobs, "ranged", 10..20), bytes[10..20].to_vec());
    assert_eq!(read_range(blobs, "ranged", 65_536..70_000), bytes[65_536..70_000].to_vec());
    assert_eq!(read_range(blobs, "ranged", 99_999..100_000), bytes[99_999..].to_vec());
    assert_eq!(read_range(blobs, "ranged", 99_000..200_000), bytes[99_000..].to_vec(), "clamped to the end");
    assert_eq!(read_range(blobs, "ranged", 100_000..100_010), Vec::<u8>::new(), "past the end is empty");
    assert_eq!(read_range(blobs, "ranged", 500_000..600_000), Vec::<u8>::new());
    assert_eq!(read_range(blobs, "ranged", 50..50), Vec::<u8>::new());
    #[expect(clippy::reversed_empty_ranges, reason = "an inverted range must read as empty, not fail")]
    let inverted = 60..50;
    assert_eq!(read_range(blobs, "ranged", inverted), Vec::<u8>::new());
    assert_eq!(read_range(blobs, "ranged", 0..u64::MAX), bytes);
}

pub fn zero_length_blob(blobs: &dyn BlobStore) {
    put(blobs, "empty", b"");
    assert_eq!(get(blobs, "empty"), Some(Vec::new()), "an empty blob exists");
    assert_eq!(blobs.len("empty").expect("len succeeds"), Some(0));
    assert_eq!(read_range(blobs, "empty", 0..10), Vec::<u8>::new());
    let writer = blobs.writer().expect("writer opens");
    assert_eq!(writer.commit("empty2").expect("commit succeeds"), 0);
    assert_eq!(blobs.len("empty2").expect("len succeeds"), Some(0));
    assert!(blobs.delete("empty").expect("delete succeeds"));
    assert_eq!(get(blobs, "empty"), None);
}

pub fn writer_streams_many_chunks(blobs: &dyn BlobStore) {
    let bytes = pattern(3 << 20);
    let mut writer = blobs.writer().expect("writer opens");
    for chunk in bytes.chunks(8191) {
        writer.write_all(chunk).expect("write succeeds");
    }
    writer.flush().expect("flush succeeds");
    assert_eq!(writer.commit("big/blob").expect("commit succeeds"), bytes.len() as u64);
    assert_eq!(blobs.len("big/blob").expect("len succeeds"), Some(bytes.len() as u64));
    assert!(get(blobs, "big/blob") == Some(bytes), "the streamed bytes read back unchanged");
}

pub fn writer_dropped_without_commit_leaves_nothing(blobs: &dyn BlobStore) {
    let mut writer = blobs.writer().expect("writer opens");
    writer.write_all(&pattern(1000)).expect("write succeeds");
    drop(writer);
    assert_eq!(get(blobs, "dropped"), None);

    put(blobs, "kept", b"old");
    let mut writer = blobs.writer().expect("writer opens");
    writer.write_all(b"new").expect("write succeeds");
    drop(writer);
    assert_eq!(get(blobs, "kept").as_deref(), Some(&b"old"[..]), "an abandoned writer replaces nothing");

    let mut writer = blobs.writer().expect("writer opens");
    writer.write_all(b"bytes").expect("write succeeds");
    assert!(matches!(writer.commit("bad//key"), Err(StorageError::InvalidKey { .. })));
    assert_eq!(get(blobs, "bad/key"), None);
}

pub fn bytes_invisible_until_commit(blobs: &dyn BlobStore) {
    put(blobs, "visible", b"old");
    let mut writer = blobs.writer().expect("writer opens");
    writer.write_all(b"new bytes").expect("write succeeds");
    writer.flush().expect("flush succeeds");
    assert_eq!(get(blobs, "visible").as_deref(), Some(&b"old"[..]));
    assert_eq!(get(blobs, "fresh"), None);
    assert_eq!(writer.commit("visible").expect("commit succeeds"), 9);
    assert_eq!(get(blobs, "visible").as_deref(), Some(&b"new bytes"[..]));
}

pub fn last_commit_wins(blobs: &dyn BlobStore) {
    let mut first = blobs.writer().expect("writer opens");
    let mut second = blobs.writer().expect("writer opens");
    first.write_all(b"first").expect("write succeeds");
    second.write_all(b"second").expect("write succeeds");
    second.commit("race").expect("commit succeeds");
    first.commit("race").expect("commit succeeds");
    assert_eq!(get(blobs, "race").as_deref(), Some(&b"first"[..]));

    std::thread::scope(|s| {
        for t in 0..4u8 {
            s.spawn(move || {
                for i in 0..10u8 {
                    put(blobs, &format!("threads/{t}"), &[t, i]);
                    put(blobs, "threads/shared", &[t; 1000]);
                }
            });
        }
    });
    for t in 0..4u8 {
        assert_eq!(get(blobs, &format!("threads/{t}")), Some(vec![t, 9]));
    }
    let shared = get(blobs, "threads/shared").expect("the shared blob exists");
    assert!(shared.len() == 1000 && shared.iter().all(|b| *b == shared[0]), "one writer's bytes, whole");
}

pub fn open_reader_survives_replace_and_delete(blobs: &dyn BlobStore) {
    put(blobs, "live", b"original bytes");
    let mut reader = blobs.read("live", None).expect("read succeeds").expect("the blob exists");
    let mut ranged = blobs.read("live", Some(9..14)).expect("read succeeds").expect("the blob exists");
    put(blobs, "live", b"replacement");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).expect("reading the blob succeeds");
    assert_eq!(bytes, b"original bytes");
    assert!(blobs.delete("live").expect("delete succeeds"));
    let mut bytes = Vec::new();
    ranged.read_to_end(&mut bytes).expect("reading the blob succeeds");
    assert_eq!(bytes, b"bytes");
}

pub fn invalid_keys_rejected(blobs: &dyn BlobStore) {
    let too_long = "a".repeat(MAX_BLOB_KEY_LEN + 1);
    let long_segment = format!("a/{}", "b".repeat(MAX_BLOB_KEY_SEGMENT_LEN + 1));
    let invalid = [
        "",
        "/",
        "/abs",
        "trailing/",
        "a//b",
        ".",
        "..",
        "a/./b",
        "a/../b",
        "../escape",
        "a/..",
        "space here",
        "back\\slash",
        "colon:",
        "per%cent",
        "tilde~",
        "plus+",
        "nul\0",
        "new\nline",
        "é",
        too_long.as_str(),
        long_segment.as_str(),
    ];
    for key in invalid {
        let rejected = |r: Result<(), StorageError>| matches!(r, Err(StorageError::InvalidKey { .. }));
        assert!(rejected(crate::validate_blob_key(key)), "validate {key:?}");
        assert!(rejected(blobs.put(key, b"x")), "put {key:?}");
        assert!(rejected(blobs.get(key).map(drop)), "get {key:?}");
        assert!(rejected(blobs.read(key, None).map(drop)), "read {key:?}");
        assert!(rejected(blobs.len(key).map(drop)), "len {key:?}");
        assert!(rejected(blobs.delete(key).map(drop)), "delete {key:?}");
        let writer = blobs.writer().expect("writer opens");
        assert!(rejected(writer.commit(key).map(drop)), "commit {key:?}");
    }
}

pub fn valid_keys_accepted(blobs: &dyn BlobStore) {
    let longest = format!("{}/{}/{}", "a".repeat(200), "b".repeat(200), "c".repeat(MAX_BLOB_KEY_LEN - 402));
    assert_eq!(longest.len(), MAX_BLOB_KEY_LEN);
    let valid = [
        "a",
        "A",
        "0",
        "-",
        "_",
        "...",
        ".hidden",
        "a..b",
        "s3/bucket-1/obj.v2_final",
        "UPPER/lower/123",
        "tmp",
        "tmp/x",
        "objects/x",
        longest.as_str(),
    ];
    for (i, key) in valid.iter().enumerate() {
        crate::validate_blob_key(key).unwrap_or_else(|e| panic!("{key:?} is valid: {e}"));
        put(blobs, key, &[i as u8]);
    }
    for (i, key) in valid.iter().enumerate() {
        assert_eq!(get(blobs, key), Some(vec![i as u8]), "{key:?}");
    }
    assert_eq!(get(blobs, "a").as_deref(), Some(&[0][..]));
    assert_eq!(get(blobs, "A").as_deref(), Some(&[1][..]), "keys are case-sensitive");
}

pub fn key_and_nested_key_coexist(blobs: &dyn BlobStore) {
    put(blobs, "a", b"parent");
    put(blobs, "a/b", b"child");
    put(blobs, "a/b/c", b"grandchild");
    put(blobs, "x/y/z", b"deep first");
    put(blobs, "x/y", b"then shallow");
    put(blobs, "x", b"then root");
    for (key, bytes) in [
        ("a", &b"parent"[..]),
        ("a/b", b"child"),
        ("a/b/c", b"grandchild"),
        ("x/y/z", b"deep first"),
        ("x/y", b"then shallow"),
        ("x", b"then root"),
    ] {
        assert_eq!(get(blobs, key).as_deref(), Some(bytes), "{key}");
    }
    assert!(blobs.delete("a/b").expect("delete succeeds"));
    assert_eq!(get(blobs, "a/b/c").as_deref(), Some(&b"grandchild"[..]), "deleting a key keeps its children");
    assert_eq!(get(blobs, "a").as_deref(), Some(&b"parent"[..]));
}
