//! Wildcard patterns: `*` matches any run of characters (including none); `\*` is a literal star
//! and `\\` a literal backslash; any other escape, and two stars in a row, are errors.
//!
//! Matching is the classic greedy glob walk (linear in the value for a single pattern). The
//! complexity check stands in for Ruler's `MachineComplexityEvaluator`: it bounds how many
//! automaton states one adversarial value can keep alive at once.

use std::collections::{HashMap, VecDeque};

/// Patterns that can keep more states alive than this are "too complex". Chosen so that the
/// AWS-refused `*:*:*:*:*:event-bus/*` is refused while the AWS-accepted
/// `/Users/*/dir/dir/dir/dir/dir/doc.txt` is accepted; AWS's exact metric is not published.
pub(crate) const MAX_COMPLEXITY: usize = 10;

pub(crate) const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Wildcard {
    /// The literal pieces between stars, unescaped; one more than the number of stars.
    segments: Vec<String>,
}

impl Wildcard {
    /// Parses the pattern text, with Ruler's messages. Ruler parses the value with its JSON
    /// quote in front, so `pos` is the byte offset plus one.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bytes = text.as_bytes();
        let mut segments = vec![Vec::new()];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'*' => {
                    if bytes.get(i + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                    }
                    segments.push(Vec::new());
                }
                b'\\' => match bytes.get(i + 1) {
                    Some(&next @ (b'*' | b'\\')) => {
                        segments.last_mut().expect("never empty").push(next);
                        i += 1;
                    }
                    _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
                },
                b => segments.last_mut().expect("never empty").push(b),
            }
            i += 1;
        }
        // Every split happened at an ASCII byte of valid UTF-8, so each piece is valid UTF-8.
        let segments = segments.into_iter().map(|s| String::from_utf8_lossy(&s).into_owned()).collect();
        Ok(Wildcard { segments })
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        let (first, rest) = self.segments.split_first().expect("never empty");
        let Some((last, middle)) = rest.split_last() else {
            return value == first;
        };
        if value.len() < first.len() + last.len()
            || !value.starts_with(first.as_str())
            || !value.ends_with(last.as_str())
        {
            return false;
        }
        let mut hay = &value.as_bytes()[first.len()..value.len() - last.len()];
        for seg in middle {
            match find(hay, seg.as_bytes()) {
                Some(at) => hay = &hay[at + seg.len()..],
                None => return false,
            }
        }
        true
    }

    /// The most automaton states one value can keep alive at once (capped at `cap`).
    pub(crate) fn complexity(&self, cap: usize) -> usize {
        if self.segments.len() == 1 {
            return 1;
        }
        // Tokens: Some(byte) is a literal, None a star. State i = "tokens[..i] are matched".
        let mut tokens: Vec<Option<u8>> = Vec::new();
        for (k, seg) in self.segments.iter().enumerate() {
            if k > 0 {
                tokens.push(None);
            }
            tokens.extend(seg.bytes().map(Some));
        }
        let m = tokens.len();
        let closure = |set: &mut Vec<bool>| {
            for i in 0..m {
                if set[i] && tokens[i].is_none() {
                    set[i + 1] = true;
                }
            }
        };
        let mut alphabet: Vec<u8> = tokens.iter().flatten().copied().collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        // One byte the pattern never mentions stands for every other byte.
        if let Some(other) = (0u8..=255).find(|b| alphabet.binary_search(b).is_err()) {
            alphabet.push(other);
        }
        let mut start = vec![false; m + 1];
        start[0] = true;
        closure(&mut start);
        let mut seen: HashMap<Vec<bool>, ()> = HashMap::new();
        let mut queue = VecDeque::from([start]);
        let mut worst = 0;
        // Exploring every reachable state set is exponential in the worst case; a bounded
        // exploration is enough to find the sets that make a pattern too complex.
        while let Some(set) = queue.pop_front() {
            if seen.len() > 5_000 || worst >= cap {
                break;
            }
            if seen.insert(set.clone(), ()).is_some() {
                continue;
            }
            worst = worst.max(set.iter().filter(|&&s| s).count());
            for &b in &alphabet {
                let mut next = vec![false; m + 1];
                for i in 0..m {
                    if set[i] {
                        match tokens[i] {
                            None => next[i] = true,
                            Some(t) if t == b => next[i + 1] = true,
                            Some(_) => {}
                        }
                    }
                }
                closure(&mut next);
                if next.iter().any(|&s| s) && !seen.contains_key(&next) {
                    queue.push_back(next);
                }
            }
        }
        worst.min(cap)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Wildcard {
        Wildcard::parse(s).expect(s)
    }

    #[test]
    fn stars_match_any_run() {
        assert!(w("dir/*.png").matches("dir/a.png"));
        assert!(w("dir/*.png").matches("dir/.png"));
        assert!(!w("dir/*.png").matches("dir/a.jpg"));
        assert!(w("*").matches(""));
        assert!(w("a*b*c").matches("abc"));
        assert!(w("a*b*c").matches("axxbyybzc"));
        assert!(!w("a*b*c").matches("acb"));
        assert!(!w("ab*ba").matches("aba"), "the prefix and suffix must not overlap");
        assert!(w("").matches(""));
        assert!(!w("").matches("x"));
        assert!(w("é*ü").matches("éàü"));
    }

    #[test]
    fn escapes() {
        assert!(w(r"a\*b").matches("a*b"));
        assert!(!w(r"a\*b").matches("axb"));
        assert!(w(r"a\\*").matches(r"a\anything"));
        assert!(w(r"\\\*").matches(r"\*"));
        assert_eq!(Wildcard::parse(r"a\b"), Err("Invalid escape character at pos 2".to_owned()));
        assert_eq!(Wildcard::parse("abc\\"), Err("Invalid escape character at pos 4".to_owned()));
        assert_eq!(
            Wildcard::parse("arn:aws:events:us-east-1:**:event-bus/*"),
            Err("Consecutive wildcard characters at pos 26".to_owned()),
            "AWS's own answer for this pattern"
        );
    }

    #[test]
    fn complexity_separates_the_aws_examples() {
        let refused = w("*:*:*:*:*:event-bus/*").complexity(100);
        let accepted = w("/Users/*/dir/dir/dir/dir/dir/doc.txt").complexity(100);
        assert!(refused > MAX_COMPLEXITY, "{refused}");
        assert!(accepted <= MAX_COMPLEXITY, "{accepted}");
        assert!(w("arn:aws:events:*:*:event-bus/*").complexity(100) <= MAX_COMPLEXITY);
        assert_eq!(w("plain").complexity(100), 1);
    }
}
