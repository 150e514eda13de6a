//! The JSONPath subset mapping templates use in `$input.json`/`$input.path` (and parameter
//! mappings' `method.request.body.X`): `$`, `.name`, `['name']`, `[n]` (negative from the
//! end), `[*]`, `.*` and `..name`. As in Jayway JsonPath, a definite path selects one node
//! (or none) and a path with a wildcard or `..` selects a list.

use crate::value::Value as Json;

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
    Wild,
    Descend(String),
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

impl JsonPath {
    pub fn parse(path: &str) -> Result<JsonPath, String> {
        let p: Vec<char> = path.trim().chars().collect();
        let bad = |what: &str| format!("Invalid JSONPath '{path}': {what}");
        if p.first() != Some(&'$') {
            return Err(bad("must start with $"));
        }
        let mut i = 1;
        let mut steps = Vec::new();
        let name = |i: &mut usize| {
            let start = *i;
            while *i < p.len() && !matches!(p[*i], '.' | '[') {
                *i += 1;
            }
            p[start..*i].iter().collect::<String>()
        };
        while i < p.len() {
            match p[i] {
                '.' if p.get(i + 1) == Some(&'.') => {
                    i += 2;
                    let n = name(&mut i);
                    if n.is_empty() {
                        return Err(bad("expected a name after .."));
                    }
                    steps.push(Step::Descend(n));
                }
                '.' => {
                    i += 1;
                    let n = name(&mut i);
                    steps.push(match n.as_str() {
                        "" => return Err(bad("expected a name after .")),
                        "*" => Step::Wild,
                        _ => Step::Key(n),
                    });
                }
                '[' => {
                    let close = p[i..].iter().position(|c| *c == ']').ok_or_else(|| bad("unclosed ["))?;
                    let inner: String = p[i + 1..i + close].iter().collect();
                    let inner = inner.trim();
                    i += close + 1;
                    steps.push(if inner == "*" {
                        Step::Wild
                    } else if let Some(q) = inner
                        .strip_prefix('\'')
                        .and_then(|s| s.strip_suffix('\''))
                        .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                    {
                        Step::Key(q.to_owned())
                    } else {
                        Step::Index(inner.parse().map_err(|_| bad("unsupported selector"))?)
                    });
                }
                _ => return Err(bad("unexpected character")),
            }
        }
        Ok(JsonPath { steps })
    }

    /// Whether the path selects at most one node.
    pub fn is_definite(&self) -> bool {
        self.steps.iter().all(|s| matches!(s, Step::Key(_) | Step::Index(_)))
    }

    /// The selected node: `Some(node)` for a definite path that exists, a list of every match
    /// for an indefinite one, `None` when a definite path leads nowhere.
    pub fn select(&self, doc: &Json) -> Option<Json> {
        if self.is_definite() {
            let mut cur = doc;
            for step in &self.steps {
                cur = match (step, cur) {
                    (Step::Key(k), Json::Map(o)) => o.get(k)?,
                    (Step::Index(n), Json::List(a)) => {
                        let n = if *n < 0 { a.len() as i64 + n } else { *n };
                        a.get(usize::try_from(n).ok()?)?
                    }
                    _ => return None,
                };
            }
            return Some(cur.clone());
        }
        let mut nodes = vec![doc];
        for step in &self.steps {
            let mut next = Vec::new();
            for node in nodes {
                match (step, node) {
                    (Step::Key(k), Json::Map(o)) => next.extend(o.get(k)),
                    (Step::Index(n), Json::List(a)) => {
                        let n = if *n < 0 { a.len() as i64 + n } else { *n };
                        next.extend(usize::try_from(n).ok().and_then(|n| a.get(n)));
                    }
                    (Step::Wild, Json::Map(o)) => next.extend(o.iter().map(|(_, v)| v)),
                    (Step::Wild, Json::List(a)) => next.extend(a.iter()),
                    (Step::Descend(k), _) => descend(node, k, &mut next),
                    _ => {}
                }
            }
            nodes = next;
        }
        Some(Json::List(nodes.into_iter().cloned().collect()))
    }
}

/// Every value under `key` at any depth, in document order (parsed documents are at most
/// 128 deep, so recursion is bounded).
fn descend<'a>(node: &'a Json, key: &str, out: &mut Vec<&'a Json>) {
    match node {
        Json::Map(o) => {
            for (k, v) in o.iter() {
                if k == key {
                    out.push(v);
                }
                descend(v, key, out);
            }
        }
        Json::List(a) => a.iter().for_each(|v| descend(v, key, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json {
        Json::parse_json(text).expect("json")
    }

    fn sel(path: &str, doc: &Json) -> Option<String> {
        JsonPath::parse(path).expect("path").select(doc).map(|v| v.to_json_text())
    }

    #[test]
    fn definite_paths_select_one_node() {
        let doc = json(r#"{"a": {"b": [10, 20, {"c": "x"}]}, "k y": 1}"#);
        assert_eq!(sel("$", &doc).as_deref(), Some(r#"{"a":{"b":[10,20,{"c":"x"}]},"k y":1}"#));
        assert_eq!(sel("$.a.b[1]", &doc).as_deref(), Some("20"));
        assert_eq!(sel("$.a.b[-1].c", &doc).as_deref(), Some(r#""x""#));
        assert_eq!(sel("$['k y']", &doc).as_deref(), Some("1"));
        assert_eq!(sel("$.a[\"b\"][0]", &doc).as_deref(), Some("10"));
        assert_eq!(sel("$.missing.deeper", &doc), None);
    }

    #[test]
    fn wildcards_and_descent_select_lists() {
        let doc = json(r#"{"items": [{"id": 1}, {"id": 2, "sub": {"id": 3}}]}"#);
        assert_eq!(sel("$.items[*].id", &doc).as_deref(), Some("[1,2]"));
        assert_eq!(sel("$..id", &doc).as_deref(), Some("[1,2,3]"));
        assert_eq!(sel("$.items[0].*", &doc).as_deref(), Some("[1]"));
    }

    #[test]
    fn malformed_paths_are_refused() {
        for p in ["a.b", "$[", "$.", "$..", "$[abc]", "$x"] {
            assert!(JsonPath::parse(p).is_err(), "{p}");
        }
    }
}
