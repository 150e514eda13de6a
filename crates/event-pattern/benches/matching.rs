//! Matching cost against the number of rules: 1, 5, 100 and 10,000 rules of one kind, on synthetic
//! ~900-byte events shaped like the CityLots data event-ruler and quamina benchmark with (its
//! 206,560 features average about 900 bytes).
//! Run with `cargo bench -p event-pattern`; throughput is in events per second.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use event_pattern::{Matcher, Pattern};

const STREETS: usize = 50;

/// A CityLots-like feature: a handful of properties and a polygon of coordinates.
fn event(i: usize) -> String {
    let coords: Vec<String> = (0..16)
        .map(|k| {
            let x = -122.42 + (i * 7 + k) as f64 * 0.000_137;
            let y = 37.80 + (i * 3 + k) as f64 * 0.000_211;
            format!("[{x:.12},{y:.12},0.0]")
        })
        .collect();
    format!(
        r#"{{"type":"Feature","properties":{{"MAPBLKLOT":"{i:07}","BLKLOT":"{i:07}","BLOCK_NUM":"{:04}","LOT_NUM":"{:03}","FROM_ST":"{}","TO_ST":"{}","STREET":"STREET NAME {}","ST_TYPE":"ST","ODD_EVEN":"{}"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
        i % 10_000,
        i % 1000,
        i % 400,
        i % 400 + 20,
        i % STREETS,
        if i.is_multiple_of(2) { "E" } else { "O" },
        coords.join(",")
    )
}

fn rule(kind: &str, i: usize) -> String {
    match kind {
        "exact" => format!(r#"{{"properties":{{"STREET":["STREET NAME {}"]}}}}"#, i),
        "prefix" => format!(r#"{{"properties":{{"MAPBLKLOT":[{{"prefix":"{:04}"}}]}}}}"#, i),
        "anything-but" => {
            format!(r#"{{"properties":{{"STREET":[{{"anything-but":["STREET NAME {}"]}}]}}}}"#, i)
        }
        "numeric" => {
            let low = -122.42 + i as f64 * 0.000_1;
            format!(r#"{{"geometry":{{"coordinates":[{{"numeric":[">",{low},"<",{}]}}]}}}}"#, low + 0.000_05)
        }
        _ => format!(
            r#"{{"type":["Feature"],"properties":{{"ODD_EVEN":["E"],"STREET":[{{"equals-ignore-case":"street name {}"}}]}}}}"#,
            i
        ),
    }
}

fn matching(c: &mut Criterion) {
    let events: Vec<String> = (0..200).map(event).collect();
    let mean = events.iter().map(String::len).sum::<usize>() / events.len();
    eprintln!("mean event size: {mean} bytes");
    let mut group = c.benchmark_group("match");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3)).sample_size(20);
    // The floor: reading the event when no rule wants any of it.
    let empty: Matcher<usize> = Matcher::new();
    group.bench_function("no-rules", |b| {
        b.iter(|| {
            for e in &events {
                black_box(empty.matches(black_box(e)).expect("json"));
            }
        })
    });
    // For scale on this machine: serde_json reading the same events into a Value.
    group.bench_function("serde_json-parse", |b| {
        b.iter(|| {
            for e in &events {
                black_box(serde_json::from_str::<serde_json::Value>(black_box(e)).expect("json"));
            }
        })
    });
    for kind in ["exact", "prefix", "anything-but", "numeric", "multi-field"] {
        for n in [1usize, 5, 100, 10_000] {
            let matcher =
                Matcher::with_rules((0..n).map(|i| (i, Pattern::parse(&rule(kind, i)).expect("valid rule"))));
            let matched: usize = events.iter().map(|e| matcher.matches(e).expect("json").len()).sum();
            eprintln!("{kind} × {n}: {matched} matches over {} events", events.len());
            group.bench_with_input(BenchmarkId::new(kind, n), &matcher, |b, m| {
                b.iter(|| {
                    for e in &events {
                        black_box(m.matches(black_box(e)).expect("json"));
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, matching);
criterion_main!(benches);
