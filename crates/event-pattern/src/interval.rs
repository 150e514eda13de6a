//! The numeric ranges of one field: a centred interval tree, built on first use after a change,
//! so that finding every range that holds a value costs O(log n + matches) instead of a scan of
//! every range that starts below it (10,000 numeric rules on one field would otherwise cost
//! 10,000 comparisons per number in the event).

use std::sync::OnceLock;

use crate::number::Range;

#[derive(Debug, Default, Clone)]
pub(crate) struct Intervals {
    items: Vec<(Range, u32)>,
    tree: OnceLock<Vec<Node>>,
}

#[derive(Debug, Clone)]
struct Node {
    center: f64,
    /// The node's ranges (indexes into `items`) by ascending start.
    by_start: Vec<u32>,
    /// The same ranges by descending end.
    by_end: Vec<u32>,
    /// Ranges wholly below / above `center`.
    left: Option<u32>,
    right: Option<u32>,
}

fn end(r: &Range) -> f64 {
    r.high.map_or(f64::INFINITY, |b| b.value)
}

impl Intervals {
    pub(crate) fn add(&mut self, range: Range, hit: u32) {
        self.items.push((range, hit));
        self.tree = OnceLock::new();
    }

    /// Adds to `out` the hit of every range that contains `v`.
    pub(crate) fn query(&self, v: f64, out: &mut Vec<u32>) {
        if self.items.is_empty() {
            return;
        }
        let tree = self.tree.get_or_init(|| {
            let mut nodes = Vec::new();
            build(&self.items, (0..self.items.len() as u32).collect(), &mut nodes);
            nodes
        });
        let mut at = Some(0u32);
        while let Some(i) = at {
            let node = &tree[i as usize];
            let item = |k: &u32| &self.items[*k as usize];
            if v < node.center {
                for (range, hit) in node.by_start.iter().map(item).take_while(|(r, _)| r.start() <= v) {
                    if range.contains(v) {
                        out.push(*hit);
                    }
                }
                at = node.left;
            } else if v > node.center {
                for (range, hit) in node.by_end.iter().map(item).take_while(|(r, _)| end(r) >= v) {
                    if range.contains(v) {
                        out.push(*hit);
                    }
                }
                at = node.right;
            } else {
                out.extend(
                    node.by_start.iter().map(item).filter(|(r, _)| r.contains(v)).map(|(_, hit)| *hit),
                );
                at = None;
            }
        }
    }
}

/// Builds the subtree of `members` into `nodes`; returns its index. The centre is the median of
/// the members' finite end points, which some member contains, so every node holds at least one
/// range and each side gets at most half of them.
fn build(items: &[(Range, u32)], members: Vec<u32>, nodes: &mut Vec<Node>) -> u32 {
    let mut points: Vec<f64> = members
        .iter()
        .flat_map(|&k| {
            let r = &items[k as usize].0;
            [r.start(), end(r)]
        })
        .filter(|p| p.is_finite())
        .collect();
    points.sort_by(f64::total_cmp);
    let center = points.get(points.len() / 2).copied().unwrap_or(0.0);
    let (mut left, mut right, mut here) = (Vec::new(), Vec::new(), Vec::new());
    for k in members {
        let r = &items[k as usize].0;
        if end(r) < center {
            left.push(k);
        } else if r.start() > center {
            right.push(k);
        } else {
            here.push(k);
        }
    }
    let mut by_start = here.clone();
    by_start.sort_by(|a, b| items[*a as usize].0.start().total_cmp(&items[*b as usize].0.start()));
    let mut by_end = here;
    by_end.sort_by(|a, b| end(&items[*b as usize].0).total_cmp(&end(&items[*a as usize].0)));
    let at = nodes.len() as u32;
    nodes.push(Node { center, by_start, by_end, left: None, right: None });
    if !left.is_empty() {
        let l = build(items, left, nodes);
        nodes[at as usize].left = Some(l);
    }
    if !right.is_empty() {
        let r = build(items, right, nodes);
        nodes[at as usize].right = Some(r);
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Bound;

    fn range(low: Option<(f64, bool)>, high: Option<(f64, bool)>) -> Range {
        let b = |(value, inclusive)| Bound { value, inclusive };
        Range { low: low.map(b), high: high.map(b) }
    }

    /// The tree answers exactly what checking every range would, on many ranges and values.
    #[test]
    fn agrees_with_a_scan() {
        let mut ranges = Vec::new();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) % 200) as f64 / 4.0 - 25.0
        };
        for i in 0..600 {
            let (a, b) = (next(), next());
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            ranges.push(match i % 5 {
                0 => range(Some((lo, true)), Some((hi, false))),
                1 => range(Some((lo, false)), Some((hi, true))),
                2 => range(Some((lo, false)), None),
                3 => range(None, Some((hi, true))),
                _ => range(Some((lo, true)), Some((lo, true))),
            });
        }
        let mut index = Intervals::default();
        for (i, r) in ranges.iter().enumerate() {
            index.add(*r, i as u32);
        }
        for k in -120..=120 {
            let v = f64::from(k) / 4.0;
            let mut got = Vec::new();
            index.query(v, &mut got);
            got.sort_unstable();
            let want: Vec<u32> =
                ranges.iter().enumerate().filter(|(_, r)| r.contains(v)).map(|(i, _)| i as u32).collect();
            assert_eq!(got, want, "at {v}");
        }
        // A range added later is seen: the tree is rebuilt after a change.
        index.add(range(Some((100.0, true)), None), 9999);
        let mut got = Vec::new();
        index.query(150.0, &mut got);
        assert!(got.contains(&9999));
    }
}
