//! A byte trie that reports every stored key that is a prefix of a probe: the index behind
//! prefix, suffix (keys stored reversed) and their ignore-case forms, so that thousands of
//! prefix rules cost one walk over the value.

#[derive(Debug, Default, Clone)]
pub(crate) struct Trie {
    nodes: Vec<Node>,
}

#[derive(Debug, Default, Clone)]
struct Node {
    /// Sorted by byte.
    edges: Vec<(u8, u32)>,
    hits: Vec<u32>,
}

impl Trie {
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub(crate) fn insert(&mut self, key: impl Iterator<Item = u8>, hit: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        let mut at = 0usize;
        for b in key {
            at = match self.nodes[at].edges.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => self.nodes[at].edges[i].1 as usize,
                Err(i) => {
                    let next = self.nodes.len();
                    self.nodes.push(Node::default());
                    self.nodes[at].edges.insert(i, (b, next as u32));
                    next
                }
            };
        }
        self.nodes[at].hits.push(hit);
    }

    /// Adds to `out` the hits of every stored key that is a prefix of `probe`.
    pub(crate) fn walk(&self, probe: impl Iterator<Item = u8>, out: &mut Vec<u32>) {
        let Some(root) = self.nodes.first() else { return };
        out.extend_from_slice(&root.hits);
        let mut node = root;
        for b in probe {
            match node.edges.binary_search_by_key(&b, |e| e.0) {
                Ok(i) => node = &self.nodes[node.edges[i].1 as usize],
                Err(_) => return,
            }
            out.extend_from_slice(&node.hits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_prefix_of_the_probe() {
        let mut t = Trie::default();
        t.insert("".bytes(), 0);
        t.insert("ab".bytes(), 1);
        t.insert("abc".bytes(), 2);
        t.insert("b".bytes(), 3);
        let mut out = Vec::new();
        t.walk("abcd".bytes(), &mut out);
        assert_eq!(out, [0, 1, 2]);
        out.clear();
        t.walk("a".bytes(), &mut out);
        assert_eq!(out, [0]);
    }
}
