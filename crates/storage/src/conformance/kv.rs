//! The key-value cases: the contract of [`Kv`] checked against a model (sorted vectors).

use std::ops::Bound;

use crate::{Batch, CommitError, Entry, KeyRange, Kv, UNLIMITED};

const T: &str = "conformance.kv";

type Entries = Vec<Entry>;

fn get(kv: &dyn Kv, table: &str, key: &[u8]) -> Option<Vec<u8>> {
    kv.get(table, key).expect("get succeeds")
}

fn put(kv: &dyn Kv, table: &str, key: &[u8], value: &[u8]) {
    kv.put(table, key, value).expect("put succeeds");
}

fn commit(kv: &dyn Kv, batch: Batch) {
    kv.commit(batch).expect("batch without failing preconditions commits");
}

fn scan(kv: &dyn Kv, table: &str, range: KeyRange, limit: usize) -> Entries {
    kv.scan(table, range, limit).expect("scan succeeds")
}

fn scan_keys(kv: &dyn Kv, table: &str, range: KeyRange, limit: usize) -> Vec<Vec<u8>> {
    scan(kv, table, range, limit).into_iter().map(|(k, _)| k).collect()
}

fn all(kv: &dyn Kv, table: &str) -> Entries {
    scan(kv, table, KeyRange::all(), UNLIMITED)
}

/// Stores every key with a value derived from it, in one batch, in the order given (so that
/// insertion order differs from key order).
fn fill(kv: &dyn Kv, table: &str, keys: &[Vec<u8>]) {
    let mut batch = Batch::new();
    for key in keys {
        batch = batch.put(table, key.clone(), value_for(key));
    }
    commit(kv, batch);
}

fn value_for(key: &[u8]) -> Vec<u8> {
    let mut value = b"v:".to_vec();
    value.extend_from_slice(key);
    value
}

fn sorted(keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut keys = keys.to_vec();
    // Slices compare lexicographically by unsigned bytes: exactly the order the trait promises.
    keys.sort();
    keys.dedup();
    keys
}

/// Keys that catch signed-byte comparison, NUL handling and prefix ordering.
fn tricky_keys() -> Vec<Vec<u8>> {
    vec![
        b"b".to_vec(),
        vec![0xff, 0xff],
        vec![0x80],
        b"abc".to_vec(),
        vec![0x00],
        vec![0x7f, 0xff],
        vec![0xff],
        b"ab".to_vec(),
        vec![0x80, 0x00],
        vec![0x00, 0x00],
        vec![0x01],
        vec![0xfe],
        b"a".to_vec(),
        vec![0x7f],
        vec![0xff, 0x00],
        vec![0xc3, 0xa9],
        b"a\x00".to_vec(),
        b"a\xff".to_vec(),
    ]
}

fn condition_failed(result: Result<(), CommitError>) -> usize {
    match result {
        Err(CommitError::ConditionFailed { index }) => index,
        Ok(()) => panic!("batch committed although a precondition fails"),
        Err(CommitError::Storage(e)) => panic!("expected a failed precondition, got a storage error: {e}"),
    }
}

pub fn get_put_overwrite_delete(kv: &dyn Kv) {
    assert_eq!(get(kv, T, b"k"), None);
    put(kv, T, b"k", b"one");
    assert_eq!(get(kv, T, b"k").as_deref(), Some(&b"one"[..]));
    put(kv, T, b"k", b"two");
    assert_eq!(get(kv, T, b"k").as_deref(), Some(&b"two"[..]));
    assert_eq!(all(kv, T), vec![(b"k".to_vec(), b"two".to_vec())], "an overwrite leaves one entry");
    kv.delete(T, b"k").expect("delete succeeds");
    assert_eq!(get(kv, T, b"k"), None);
    assert_eq!(all(kv, T), Vec::new());
}

pub fn absent_keys(kv: &dyn Kv) {
    assert_eq!(get(kv, "conformance.never-written", b"k"), None);
    assert_eq!(all(kv, "conformance.never-written"), Vec::new());
    kv.delete("conformance.never-written", b"k").expect("deleting in an absent table is not an error");
    put(kv, T, b"a", b"1");
    assert_eq!(get(kv, T, b"a\x00"), None, "a longer key is a different key");
    assert_eq!(get(kv, T, b""), None, "a shorter key is a different key");
    assert_eq!(get(kv, T, b"A"), None, "keys are case-sensitive bytes");
    kv.delete(T, b"b").expect("deleting an absent key is not an error");
    assert_eq!(all(kv, T), vec![(b"a".to_vec(), b"1".to_vec())]);
}

pub fn tables_are_isolated(kv: &dyn Kv) {
    // Names that collide if an engine concatenated table and key, or matched tables by prefix.
    let tables = ["iso", "iso2", "iso.sub", "is", "ISO", "iso/x"];
    for (i, table) in tables.iter().enumerate() {
        put(kv, table, b"shared", format!("{i}").as_bytes());
        put(kv, table, format!("own-{i}").as_bytes(), b"x");
    }
    put(kv, "a", b"bc", b"a+bc");
    put(kv, "ab", b"c", b"ab+c");
    for (i, table) in tables.iter().enumerate() {
        assert_eq!(get(kv, table, b"shared"), Some(format!("{i}").into_bytes()), "table {table}");
        let keys: Vec<Vec<u8>> = all(kv, table).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![format!("own-{i}").into_bytes(), b"shared".to_vec()], "table {table}");
    }
    assert_eq!(all(kv, "a"), vec![(b"bc".to_vec(), b"a+bc".to_vec())]);
    assert_eq!(all(kv, "ab"), vec![(b"c".to_vec(), b"ab+c".to_vec())]);
    assert_eq!(get(kv, "a", b"c"), None);
    kv.delete("iso", b"shared").expect("delete succeeds");
    assert_eq!(get(kv, "iso", b"shared"), None);
    assert_eq!(get(kv, "iso2", b"shared").as_deref(), Some(&b"1"[..]), "a delete stays in its table");
}

pub fn scan_orders_keys_bytewise(kv: &dyn Kv) {
    let keys = tricky_keys();
    fill(kv, T, &keys);
    let expected: Entries = sorted(&keys).into_iter().map(|k| (k.clone(), value_for(&k))).collect();
    assert_eq!(all(kv, T), expected);
}

pub fn scan_bounds_of_every_kind(kv: &dyn Kv) {
    let keys = tricky_keys();
    fill(kv, T, &keys);
    let model = sorted(&keys);
    // Present keys, absent keys between them, and keys outside both ends.
    let probes: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        b"a".to_vec(),
        b"aa".to_vec(),
        vec![0x7f, 0xff],
        vec![0x80, 0x01],
        vec![0xff],
        vec![0xff, 0xff, 0xff],
    ];
    let mut bounds = vec![Bound::Unbounded];
    for p in &probes {
        bounds.push(Bound::Included(p.clone()));
        bounds.push(Bound::Excluded(p.clone()));
    }
    for start in &bounds {
        for end in &bounds {
            let range = KeyRange::new(start.clone(), end.clone());
            let expected: Vec<Vec<u8>> = model.iter().filter(|k| range.contains(k)).cloned().collect();
            assert_eq!(scan_keys(kv, T, range.clone(), UNLIMITED), expected, "{range:?}");
            let mut descending = expected.clone();
            descending.reverse();
            assert_eq!(scan_keys(kv, T, range.clone().rev(), UNLIMITED), descending, "{range:?} reversed");
            assert_eq!(range.is_empty(), expected.is_empty() && !bounds_may_hold_a_key(&range), "{range:?}");
        }
    }
}

/// Whether some key could lie in `range` (brute force over keys near the bounds), to check
/// [`KeyRange::is_empty`] on the same ranges the scans use.
fn bounds_may_hold_a_key(range: &KeyRange) -> bool {
    let mut candidates = vec![vec![], vec![0xff; 8]];
    for b in [&range.start, &range.end] {
        if let Bound::Included(k) | Bound::Excluded(k) = b {
            candidates.push(k.clone());
            let mut next = k.clone();
            next.push(0);
            candidates.push(next);
        }
    }
    candidates.iter().any(|k| range.contains(k))
}

pub fn scan_empty_and_inverted_ranges(kv: &dyn Kv) {
    fill(kv, T, &[b"a".to_vec(), b"a\x00".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    let (a, b, c) = (b"a".to_vec(), b"b".to_vec(), b"c".to_vec());
    let empty = [
        KeyRange::new(Bound::Included(c.clone()), Bound::Included(a.clone())),
        KeyRange::new(Bound::Excluded(c.clone()), Bound::Excluded(a.clone())),
        KeyRange::new(Bound::Excluded(b.clone()), Bound::Excluded(b.clone())),
        KeyRange::new(Bound::Included(b.clone()), Bound::Excluded(b.clone())),
        KeyRange::new(Bound::Excluded(b.clone()), Bound::Included(b.clone())),
        KeyRange::new(Bound::Excluded(a.clone()), Bound::Excluded(b"a\x00".to_vec())),
    ];
    for range in empty {
        assert!(range.is_empty(), "{range:?}");
        assert_eq!(scan(kv, T, range.clone(), UNLIMITED), Vec::new(), "{range:?}");
        assert_eq!(scan(kv, T, range.clone().rev(), UNLIMITED), Vec::new(), "{range:?} reversed");
    }
    let single = KeyRange::new(Bound::Included(b.clone()), Bound::Included(b.clone()));
    assert!(!single.is_empty());
    assert_eq!(scan_keys(kv, T, single, UNLIMITED), vec![b]);
}

pub fn scan_prefix(kv: &dyn Kv) {
    let keys: Vec<Vec<u8>> = ["user#", "user#1", "user#10", "user#2", "user$", "use", "user", "group#1", "v"]
        .map(Vec::from)
        .to_vec();
    fill(kv, T, &keys);
    let keys_of = |entries: Entries| entries.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(
        keys_of(kv.scan_prefix(T, b"user#", UNLIMITED).expect("scan succeeds")),
        ["user#", "user#1", "user#10", "user#2"].map(Vec::from).to_vec()
    );
    assert_eq!(
        scan_keys(kv, T, KeyRange::prefix(b"user#".to_vec()).rev(), 2),
        ["user#2", "user#10"].map(Vec::from).to_vec(),
    );
    assert_eq!(keys_of(kv.scan_prefix(T, b"nope", UNLIMITED).expect("scan succeeds")), Vec::<Vec<u8>>::new());
    assert_eq!(keys_of(kv.scan_prefix(T, b"", UNLIMITED).expect("scan succeeds")), sorted(&keys));
}

pub fn scan_prefix_ending_in_ff(kv: &dyn Kv) {
    let keys: Vec<Vec<u8>> = vec![
        vec![0x01],
        vec![0x01, 0xfe],
        vec![0x01, 0xfe, 0xff],
        vec![0x01, 0xff],
        vec![0x01, 0xff, 0x00],
        vec![0x01, 0xff, 0xff],
        vec![0x01, 0xff, 0xff, 0xff, 0x05],
        vec![0x02],
        vec![0x02, 0x00],
        vec![0xff],
        vec![0xff, 0xff],
        vec![0xff, 0xff, 0x01],
    ];
    fill(kv, T, &keys);
    let prefixes: [&[u8]; 7] =
        [&[0x01], &[0x01, 0xff], &[0x01, 0xff, 0xff], &[0xff], &[0xff, 0xff], &[0x01, 0xfe], &[]];
    for prefix in prefixes {
        let expected: Vec<Vec<u8>> = sorted(&keys).into_iter().filter(|k| k.starts_with(prefix)).collect();
        assert_eq!(scan_keys(kv, T, KeyRange::prefix(prefix), UNLIMITED), expected, "prefix {prefix:02x?}");
        let mut descending = expected;
        descending.reverse();
        assert_eq!(
            scan_keys(kv, T, KeyRange::prefix(prefix).rev(), UNLIMITED),
            descending,
            "prefix {prefix:02x?} reversed"
        );
    }
}

pub fn scan_limits(kv: &dyn Kv) {
    let keys: Vec<Vec<u8>> = (0u8..10).map(|i| vec![b'k', i]).collect();
    fill(kv, T, &keys);
    assert_eq!(scan(kv, T, KeyRange::all(), 0), Vec::new(), "limit 0 returns nothing");
    assert_eq!(scan_keys(kv, T, KeyRange::all(), 1), keys[..1].to_vec());
    assert_eq!(scan_keys(kv, T, KeyRange::all(), 3), keys[..3].to_vec());
    assert_eq!(scan_keys(kv, T, KeyRange::all(), 10), keys);
    assert_eq!(scan_keys(kv, T, KeyRange::all(), 11), keys);
    assert_eq!(scan_keys(kv, T, KeyRange::all(), UNLIMITED), keys);
    assert_eq!(
        scan_keys(kv, T, KeyRange::all().rev(), 3),
        vec![keys[9].clone(), keys[8].clone(), keys[7].clone()]
    );
    assert_eq!(
        scan_keys(kv, T, KeyRange::from(Bound::Excluded(keys[4].clone())), 2),
        keys[5..7].to_vec(),
        "the limit counts from the start bound"
    );
    assert_eq!(
        scan_keys(kv, T, KeyRange::until(Bound::Excluded(keys[4].clone())).rev(), 2),
        vec![keys[3].clone(), keys[2].clone()],
        "a reverse limit counts from the end bound"
    );
    let entries = scan(kv, T, KeyRange::all(), 2);
    assert_eq!(entries[1], (keys[1].clone(), value_for(&keys[1])), "values come with their keys");
}

pub fn scan_reverse(kv: &dyn Kv) {
    let keys = tricky_keys();
    fill(kv, T, &keys);
    let mut descending = sorted(&keys);
    descending.reverse();
    let entries = scan(kv, T, KeyRange::all().rev(), UNLIMITED);
    let expected: Entries = descending.iter().map(|k| (k.clone(), value_for(k))).collect();
    assert_eq!(entries, expected);
    assert!(!KeyRange::all().rev().rev().reverse, "rev twice scans forward again");
    assert_eq!(scan_keys(kv, T, KeyRange::all().rev().rev(), 2), sorted(&keys)[..2].to_vec());
}

pub fn scan_pages_through_many_keys(kv: &dyn Kv) {
    let keys: Vec<Vec<u8>> = (0u32..1000).map(|i| (i * 7919 % 1000).to_be_bytes().to_vec()).collect();
    fill(kv, T, &keys);
    let model = sorted(&keys);
    assert_eq!(model.len(), 1000);

    let mut forward = Vec::new();
    let mut range = KeyRange::all();
    loop {
        let page = scan_keys(kv, T, range, 37);
        let Some(last) = page.last().cloned() else { break };
        forward.extend(page);
        range = KeyRange::from(Bound::Excluded(last));
    }
    assert_eq!(forward, model);

    let mut backward = Vec::new();
    let mut range = KeyRange::all().rev();
    loop {
        let page = scan_keys(kv, T, range, 41);
        let Some(last) = page.last().cloned() else { break };
        backward.extend(page);
        range = KeyRange::until(Bound::Excluded(last)).rev();
    }
    backward.reverse();
    assert_eq!(backward, model);
}

pub fn scan_all_reads_past_one_page(kv: &dyn Kv) {
    let keys: Vec<Vec<u8>> = (0u32..700).map(|i| (i * 7919 % 700).to_be_bytes().to_vec()).collect();
    fill(kv, T, &keys);
    let model = sorted(&keys);
    let keys_of = |entries: Vec<(Vec<u8>, Vec<u8>)>| entries.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(keys_of(kv.scan_all(T, KeyRange::all()).expect("scan_all")), model);
    let mut backward = keys_of(kv.scan_all(T, KeyRange::all().rev()).expect("scan_all rev"));
    backward.reverse();
    assert_eq!(backward, model);
    let from = KeyRange::from(Bound::Excluded(model[299].clone()));
    assert_eq!(keys_of(kv.scan_all(T, from).expect("scan_all from")), model[300..].to_vec());
}

pub fn batch_applies_every_op(kv: &dyn Kv) {
    put(kv, T, b"stays", b"s");
    put(kv, T, b"goes", b"g");
    put(kv, T, b"changes", b"old");
    commit(
        kv,
        Batch::new()
            .expect_present(T, b"stays")
            .put(T, b"new", b"n")
            .delete(T, b"goes")
            .expect_value(T, b"changes", b"old")
            .put(T, b"changes", b"new")
            .expect_absent(T, b"never")
            .delete(T, b"never"),
    );
    assert_eq!(
        all(kv, T),
        vec![
            (b"changes".to_vec(), b"new".to_vec()),
            (b"new".to_vec(), b"n".to_vec()),
            (b"stays".to_vec(), b"s".to_vec()),
        ]
    );
}

pub fn batch_spans_tables(kv: &dyn Kv) {
    put(kv, "conformance.a", b"k", b"1");
    commit(
        kv,
        Batch::new()
            .expect_value("conformance.a", b"k", b"1")
            .expect_absent("conformance.b", b"k")
            .delete("conformance.a", b"k")
            .put("conformance.b", b"k", b"1"),
    );
    assert_eq!(get(kv, "conformance.a", b"k"), None);
    assert_eq!(get(kv, "conformance.b", b"k").as_deref(), Some(&b"1"[..]));
    // The same precondition now fails, and the move must not happen a second time.
    let index = condition_failed(kv.commit(Batch::new().expect_value("conformance.a", b"k", b"1").put(
        "conformance.c",
        b"k",
        b"1",
    )));
    assert_eq!(index, 0);
    assert_eq!(get(kv, "conformance.c", b"k"), None);
}

pub fn failed_precondition_at_any_position_writes_nothing(kv: &dyn Kv) {
    put(kv, T, b"existing", b"e");
    put(kv, "conformance.other", b"existing", b"o");
    let before = (all(kv, T), all(kv, "conformance.other"));
    let writes = [
        |b: Batch| b.put(T, b"w1", b"1"),
        |b: Batch| b.delete(T, b"existing"),
        |b: Batch| b.put("conformance.other", b"w2", b"2"),
        |b: Batch| b.put(T, b"existing", b"changed"),
        |b: Batch| b.delete("conformance.other", b"existing"),
    ];
    for position in 0..=writes.len() {
        let mut batch = Batch::new();
        for (i, write) in writes.iter().enumerate() {
            if i == position {
                batch = batch.expect_absent(T, b"existing");
            }
            batch = write(batch);
        }
        if position == writes.len() {
            batch = batch.expect_absent(T, b"existing");
        }
        assert_eq!(condition_failed(kv.commit(batch)), position);
        assert_eq!((all(kv, T), all(kv, "conformance.other")), before, "precondition at {position}");
    }
}

pub fn lowest_failing_precondition_is_reported(kv: &dyn Kv) {
    put(kv, T, b"x", b"1");
    let batch = Batch::new()
        .expect_present(T, b"x")
        .put(T, b"y", b"2")
        .expect_absent(T, b"x")
        .expect_value(T, b"x", b"2");
    assert_eq!(condition_failed(kv.commit(batch)), 2);
    assert_eq!(get(kv, T, b"y"), None);
}

pub fn every_precondition_kind(kv: &dyn Kv) {
    put(kv, T, b"present", b"1");
    put(kv, T, b"empty", b"");
    let cases: Vec<(Batch, bool)> = vec![
        (Batch::new().expect_absent(T, b"absent"), true),
        (Batch::new().expect_absent(T, b"present"), false),
        (Batch::new().expect_absent(T, b"empty"), false),
        (Batch::new().expect_present(T, b"present"), true),
        (Batch::new().expect_present(T, b"empty"), true),
        (Batch::new().expect_present(T, b"absent"), false),
        (Batch::new().expect_value(T, b"present", b"1"), true),
        (Batch::new().expect_value(T, b"present", b"2"), false),
        (Batch::new().expect_value(T, b"present", b"1\x00"), false),
        (Batch::new().expect_value(T, b"present", b""), false),
        (Batch::new().expect_value(T, b"empty", b""), true),
        (Batch::new().expect_value(T, b"absent", b""), false),
        (Batch::new().expect_value(T, b"absent", b"1"), false),
        (Batch::new().expect_present("conformance.other", b"present"), false),
    ];
    for (i, (batch, holds)) in cases.into_iter().enumerate() {
        let marker = format!("marker-{i}");
        let description = format!("{:?}", batch.ops()[0]);
        let result = kv.commit(batch.put(T, marker.as_bytes(), b"m"));
        if holds {
            result.unwrap_or_else(|e| panic!("{description} should hold: {e}"));
            assert!(get(kv, T, marker.as_bytes()).is_some(), "{description}");
        } else {
            assert_eq!(condition_failed(result), 0, "{description}");
            assert_eq!(get(kv, T, marker.as_bytes()), None, "{description}");
        }
    }
}

pub fn preconditions_see_state_before_batch(kv: &dyn Kv) {
    let batch = Batch::new().put(T, b"k", b"v").expect_value(T, b"k", b"v");
    assert_eq!(condition_failed(kv.commit(batch)), 1, "an earlier put in the batch is not visible");
    assert_eq!(get(kv, T, b"k"), None);

    put(kv, T, b"k", b"v");
    commit(kv, Batch::new().delete(T, b"k").expect_present(T, b"k"));
    assert_eq!(get(kv, T, b"k"), None, "the delete applied after the precondition passed");
}

pub fn later_write_in_batch_wins(kv: &dyn Kv) {
    commit(kv, Batch::new().put(T, b"a", b"1").put(T, b"a", b"2"));
    assert_eq!(get(kv, T, b"a").as_deref(), Some(&b"2"[..]));
    commit(kv, Batch::new().put(T, b"a", b"3").delete(T, b"a"));
    assert_eq!(get(kv, T, b"a"), None);
    commit(kv, Batch::new().delete(T, b"a").put(T, b"a", b"4"));
    assert_eq!(get(kv, T, b"a").as_deref(), Some(&b"4"[..]));
}

pub fn empty_batch(kv: &dyn Kv) {
    commit(kv, Batch::new());
    put(kv, T, b"k", b"v");
    commit(kv, Batch::new().expect_present(T, b"k"));
    assert_eq!(condition_failed(kv.commit(Batch::new().expect_absent(T, b"k"))), 0);
    assert_eq!(all(kv, T), vec![(b"k".to_vec(), b"v".to_vec())]);
}

pub fn empty_values(kv: &dyn Kv) {
    put(kv, T, b"k", b"");
    assert_eq!(get(kv, T, b"k"), Some(Vec::new()), "an empty value is present, not absent");
    assert_eq!(all(kv, T), vec![(b"k".to_vec(), Vec::new())]);
    assert!(!kv.insert_new(T, b"k", b"x").expect("insert_new succeeds"));
    put(kv, T, b"k", b"x");
    put(kv, T, b"k", b"");
    assert_eq!(get(kv, T, b"k"), Some(Vec::new()));
}

pub fn empty_key(kv: &dyn Kv) {
    put(kv, T, b"a", b"1");
    put(kv, T, b"", b"0");
    assert_eq!(get(kv, T, b"").as_deref(), Some(&b"0"[..]));
    assert_eq!(scan_keys(kv, T, KeyRange::all(), UNLIMITED), vec![b"".to_vec(), b"a".to_vec()]);
    assert_eq!(scan_keys(kv, T, KeyRange::prefix(b"".to_vec()), 1), vec![b"".to_vec()]);
    assert_eq!(scan_keys(kv, T, KeyRange::from(Bound::Excluded(Vec::new())), UNLIMITED), vec![b"a".to_vec()]);
    kv.delete(T, b"").expect("delete succeeds");
    assert_eq!(get(kv, T, b""), None);
}

pub fn large_values_and_keys(kv: &dyn Kv) {
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(31) % 251) as u8).collect();
    put(kv, T, b"big", &big);
    assert_eq!(get(kv, T, b"big").as_deref(), Some(big.as_slice()));
    let mut bigger = big.clone();
    bigger.extend_from_slice(b"tail");
    commit(kv, Batch::new().expect_value(T, b"big", big.clone()).put(T, b"big", bigger.clone()));
    assert_eq!(get(kv, T, b"big").as_deref(), Some(bigger.as_slice()));

    // DynamoDB's largest composite key (2 KiB partition + 1 KiB sort key) with room to spare.
    let long_key: Vec<u8> = (0..4096u32).map(|i| (i % 256) as u8).collect();
    put(kv, T, &long_key, b"long");
    assert_eq!(get(kv, T, &long_key).as_deref(), Some(&b"long"[..]));
    assert_eq!(scan(kv, T, KeyRange::prefix(long_key[..4000].to_vec()), UNLIMITED).len(), 1);
}

pub fn convenience_methods(kv: &dyn Kv) {
    assert!(kv.insert_new(T, b"u#1", b"first").expect("insert_new succeeds"));
    assert!(!kv.insert_new(T, b"u#1", b"second").expect("insert_new succeeds"));
    assert_eq!(get(kv, T, b"u#1").as_deref(), Some(&b"first"[..]), "a refused insert_new writes nothing");
    put(kv, T, b"u#2", b"2");
    put(kv, T, b"v#1", b"3");
    let found = kv.scan_prefix(T, b"u#", UNLIMITED).expect("scan_prefix succeeds");
    assert_eq!(found, vec![(b"u#1".to_vec(), b"first".to_vec()), (b"u#2".to_vec(), b"2".to_vec())]);
    assert_eq!(kv.scan_prefix(T, b"u#", 1).expect("scan_prefix succeeds").len(), 1);
    kv.delete(T, b"u#1").expect("delete succeeds");
    assert!(
        kv.insert_new(T, b"u#1", b"again").expect("insert_new succeeds"),
        "a deleted key can be created again"
    );
}

pub fn flush_keeps_data(kv: &dyn Kv) {
    put(kv, T, b"k", b"v");
    kv.flush().expect("flush succeeds");
    assert_eq!(get(kv, T, b"k").as_deref(), Some(&b"v"[..]));
    put(kv, T, b"after", b"flush");
    kv.flush().expect("a second flush succeeds");
    assert_eq!(all(kv, T).len(), 2);
}

/// Optimistic read-modify-write from several threads: an engine that checks preconditions
/// outside the atomic step of its writes loses increments here.
pub fn concurrent_increments_never_lose_updates(kv: &dyn Kv) {
    const THREADS: u64 = 4;
    const INCREMENTS: u64 = 50;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..INCREMENTS {
                    increment(kv);
                }
            });
        }
    });
    let value = get(kv, T, b"counter").expect("the counter exists");
    let value = u64::from_be_bytes(value.try_into().expect("the counter is 8 bytes"));
    assert_eq!(value, THREADS * INCREMENTS);
}

fn increment(kv: &dyn Kv) {
    loop {
        let current = get(kv, T, b"counter");
        let batch = match &current {
            None => Batch::new().expect_absent(T, b"counter").put(T, b"counter", 1u64.to_be_bytes()),
            Some(bytes) => {
                let n = u64::from_be_bytes(bytes.as_slice().try_into().expect("the counter is 8 bytes"));
                Batch::new().expect_value(T, b"counter", bytes.clone()).put(
                    T,
                    b"counter",
                    (n + 1).to_be_bytes(),
                )
            }
        };
        match kv.commit(batch) {
            Ok(()) => return,
            Err(CommitError::ConditionFailed { index: 0 }) => continue,
            Err(e) => panic!("increment failed: {e}"),
        }
    }
}

/// A batch writes two keys with the same number; a scan or pair of gets that sees them differ
/// has seen half a batch.
pub fn concurrent_readers_never_see_half_a_batch(kv: &dyn Kv) {
    const ROUNDS: u32 = 100;
    commit(kv, Batch::new().put(T, b"a", 0u32.to_be_bytes()).put(T, b"b", 0u32.to_be_bytes()));
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut scans = 0u32;
                while !done.load(std::sync::atomic::Ordering::Acquire) || scans == 0 {
                    let entries = all(kv, T);
                    assert_eq!(entries.len(), 2, "both keys are always present");
                    assert_eq!(entries[0].1, entries[1].1, "a scan saw half a batch");
                    scans += 1;
                }
            });
        }
        for i in 1..=ROUNDS {
            commit(kv, Batch::new().put(T, b"a", i.to_be_bytes()).put(T, b"b", i.to_be_bytes()));
        }
        done.store(true, std::sync::atomic::Ordering::Release);
    });
    assert_eq!(get(kv, T, b"a"), Some(ROUNDS.to_be_bytes().to_vec()));
}
