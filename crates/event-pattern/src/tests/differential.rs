//! Generated rules and events: the compiled matcher must name exactly the rules the direct
//! evaluator accepts one by one; and no input, however broken, may panic either of them.

use crate::{Matcher, Pattern};

/// xorshift64*: deterministic, dependency-free randomness for generated cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[r#""x""#, r#""y""#, r#""xy""#, r#""X""#, r#""""#, r#""10.1.2.3""#, r#""yx.png""#];
const NUMBERS: &[&str] = &["1", "1.0", "2", "-0", "0", "1e2", "100", "-7.5", "123456789012345678901"];
const AFFIXES: &[&str] = &[r#""x""#, r#""y""#, r#""X""#, r#""xy""#];

fn condition(rng: &mut Rng) -> String {
    let s = rng.pick(STRINGS);
    let n = rng.pick(NUMBERS);
    let a = rng.pick(AFFIXES);
    match rng.below(22) {
        0 | 1 => s.to_owned(),
        2 | 3 => n.to_owned(),
        4 => rng.pick(&["true", "false", "null"]).to_owned(),
        5 => format!(r#"{{"prefix":{a}}}"#),
        6 => format!(r#"{{"suffix":{a}}}"#),
        7 => format!(r#"{{"prefix":{{"equals-ignore-case":{a}}}}}"#),
        8 => format!(r#"{{"suffix":{{"equals-ignore-case":{a}}}}}"#),
        9 => format!(r#"{{"equals-ignore-case":{a}}}"#),
        10 => format!(
            r#"{{"wildcard":{}}}"#,
            rng.pick(&[r#""x*""#, r#""*y""#, r#""*""#, r#""x*y""#, r#""*.png""#])
        ),
        11 => format!(r#"{{"anything-but":{s}}}"#),
        12 => format!(r#"{{"anything-but":[{n},2]}}"#),
        13 => format!(r#"{{"anything-but":{{"prefix":[{a},"q"]}}}}"#),
        14 => format!(r#"{{"anything-but":{{"suffix":{a}}}}}"#),
        15 => format!(r#"{{"anything-but":{{"equals-ignore-case":[{a}]}}}}"#),
        16 => format!(r#"{{"anything-but":{{"wildcard":"*{}"}}}}"#, rng.pick(&["x", "y", ".png"])),
        17 => format!(
            r#"{{"numeric":["{}",{}]}}"#,
            rng.pick(&["=", "<", "<=", ">", ">="]),
            rng.pick(&["0", "1", "2", "100"])
        ),
        18 => format!(
            r#"{{"numeric":[">",{},"<=",{}]}}"#,
            rng.pick(&["-10", "0", "0.5"]),
            rng.pick(&["1", "2", "100"])
        ),
        19 => format!(r#"{{"exists":{}}}"#, rng.pick(&["true", "false"])),
        20 => r#"{"cidr":"10.0.0.0/8"}"#.to_owned(),
        _ => r#"{"anything-but":{"prefix":"1"}}"#.to_owned(),
    }
}

fn value(rng: &mut Rng) -> String {
    let items: Vec<String> = (0..1 + rng.below(3)).map(|_| condition(rng)).collect();
    format!("[{}]", items.join(","))
}

/// The fields of one object level: top-level scalars, and `c.d` / `c.e` nested or dot-joined.
fn fields(rng: &mut Rng, depth: usize) -> String {
    let mut parts = Vec::new();
    for _ in 0..1 + rng.below(3) {
        parts.push(match rng.below(6) {
            0 => format!(r#""a":{}"#, value(rng)),
            1 => format!(r#""b":{}"#, value(rng)),
            2 => format!(r#""c":{{"d":{}}}"#, value(rng)),
            3 => format!(r#""c.e":{}"#, value(rng)),
            4 => format!(r#""c":{{"d":{},"e":{}}}"#, value(rng), value(rng)),
            _ if depth == 0 => format!(r#""$or":[{{{}}},{{{}}}]"#, fields(rng, 1), fields(rng, 1)),
            _ => format!(r#""f":{}"#, value(rng)),
        });
    }
    parts.join(",")
}

fn pattern(rng: &mut Rng) -> String {
    format!("{{{}}}", fields(rng, 0))
}

fn scalar(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => rng.pick(NUMBERS).to_owned(),
        1 => rng.pick(&["true", "false", "null"]).to_owned(),
        _ => rng
            .pick(&[
                r#""x""#,
                r#""y""#,
                r#""xy""#,
                r#""X""#,
                r#""""#,
                r#""10.1.2.3""#,
                r#""11.0.0.1""#,
                r#""xYx""#,
                r#""q.png""#,
                r#""1x""#,
            ])
            .to_owned(),
    }
}

fn event_value(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => format!("[{}]", (0..rng.below(3)).map(|_| scalar(rng)).collect::<Vec<_>>().join(",")),
        _ => scalar(rng),
    }
}

fn c_object(rng: &mut Rng) -> String {
    let mut parts = Vec::new();
    if rng.below(4) > 0 {
        parts.push(format!(r#""d":{}"#, event_value(rng)));
    }
    if rng.below(4) > 0 {
        parts.push(format!(r#""e":{}"#, event_value(rng)));
    }
    format!("{{{}}}", parts.join(","))
}

fn event(rng: &mut Rng) -> String {
    let mut parts = Vec::new();
    for key in ["a", "b", "f"] {
        if rng.below(3) > 0 {
            parts.push(format!(r#""{key}":{}"#, event_value(rng)));
        }
    }
    match rng.below(4) {
        0 => {}
        1 => parts.push(format!(r#""c":{}"#, c_object(rng))),
        2 => parts.push(format!(r#""c":[{},{}]"#, c_object(rng), c_object(rng))),
        _ => parts.push(format!(r#""c.d":{}"#, event_value(rng))),
    }
    format!("{{{}}}", parts.join(","))
}

#[test]
fn compiled_matcher_agrees_with_the_direct_evaluator() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut matched_somewhere = 0;
    for round in 0..40 {
        let patterns: Vec<(usize, Pattern)> = (0..60)
            .filter_map(|i| {
                let text = pattern(&mut rng);
                // A few generated patterns are invalid on purpose (e.g. "Bottom must be less
                // than top"); the others must parse.
                Pattern::parse(&text).ok().map(|p| (i, p))
            })
            .collect();
        assert!(patterns.len() > 40, "round {round}: too few valid patterns");
        let matcher = Matcher::with_rules(patterns.iter().cloned());
        for _ in 0..60 {
            let ev = event(&mut rng);
            let expected: Vec<usize> = patterns
                .iter()
                .filter(|(_, p)| p.matches(&ev).expect("generated events are JSON"))
                .map(|(i, _)| *i)
                .collect();
            let got: Vec<usize> =
                matcher.matches(&ev).expect("generated events are JSON").into_iter().copied().collect();
            assert_eq!(got, expected, "event {ev}");
            matched_somewhere += got.len();
        }
    }
    assert!(matched_somewhere > 1000, "the generator should produce matches: {matched_somewhere}");
}

#[test]
fn removing_rules_keeps_the_matcher_in_step() {
    let mut rng = Rng(42);
    let patterns: Vec<(usize, Pattern)> =
        (0..80).filter_map(|i| Pattern::parse(&pattern(&mut rng)).ok().map(|p| (i, p))).collect();
    let mut matcher = Matcher::with_rules(patterns.iter().cloned());
    let kept: Vec<&(usize, Pattern)> = patterns.iter().filter(|(i, _)| i % 3 != 0).collect();
    for (i, _) in patterns.iter().filter(|(i, _)| i % 3 == 0) {
        assert!(matcher.remove(i));
    }
    for _ in 0..200 {
        let ev = event(&mut rng);
        let expected: Vec<usize> =
            kept.iter().filter(|(_, p)| p.matches(&ev).expect("json")).map(|(i, _)| *i).collect();
        let got: Vec<usize> = matcher.matches(&ev).expect("json").into_iter().copied().collect();
        assert_eq!(got, expected, "event {ev}");
    }
}

/// Random text from JSON's own alphabet, and mutations of valid patterns and events: neither
/// parsing nor matching may panic, whatever comes in.
#[test]
fn garbage_never_panics() {
    const ALPHABET: &[u8] = br#"{}[]:,"\ -+.0123456789eEtruefalsn$or*xabcprefixnumericexists/u\x01"#;
    let mut rng = Rng(7);
    let valid: Vec<(usize, Pattern)> =
        (0..30).filter_map(|i| Pattern::parse(&pattern(&mut rng)).ok().map(|p| (i, p))).collect();
    let matcher = Matcher::with_rules(valid.iter().cloned());
    for round in 0..20_000 {
        let text = if round % 2 == 0 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let mut base = if round % 4 == 1 { pattern(&mut rng) } else { event(&mut rng) }.into_bytes();
            for _ in 0..1 + rng.below(3) {
                if base.is_empty() {
                    break;
                }
                let at = rng.below(base.len());
                match rng.below(3) {
                    0 => {
                        base.remove(at);
                    }
                    1 => base.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                    _ => base[at] = ALPHABET[rng.below(ALPHABET.len())],
                }
            }
            String::from_utf8_lossy(&base).into_owned()
        };
        if let Ok(p) = Pattern::parse(&text) {
            let _ = p.matches(&event(&mut rng));
            let _ = Matcher::with_rules([(0, p)]).matches(&text);
        }
        let _ = matcher.matches(&text);
        for (_, p) in &valid[..3] {
            let _ = p.matches(&text);
        }
    }
}
