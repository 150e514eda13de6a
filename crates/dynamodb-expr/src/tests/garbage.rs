//! Random input must never panic: expressions built from the languages' own tokens (so that
//! many of them get deep into the parser and evaluator), raw bytes, numbers and JSON values.

use serde_json::{Value, json};

use super::{item, placeholders};
use crate::{AttributeValue, ExpressionKind, Item, KeyAttribute, KeySchema, Number, ScalarType};

/// xorshift64*: deterministic, no dependency.
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

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

const TOKENS: &[&str] = &[
    "a",
    "b",
    "c",
    "l",
    "m",
    "#n",
    "#x",
    ":s",
    ":n",
    ":l",
    ":ss",
    ":m",
    ":x",
    "(",
    ")",
    "(",
    ")",
    "[",
    "]",
    "[0]",
    "[1]",
    "[99999999999]",
    ".",
    ",",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "size",
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "if_not_exists",
    "list_append",
    "status",
    "4",
    "@",
    "\"",
    "é",
    " ",
    "  ",
];

fn random_expression(rng: &mut Rng) -> String {
    let len = 1 + rng.below(24);
    (0..len).map(|_| rng.pick(TOKENS)).collect::<Vec<_>>().join(if rng.below(2) == 0 { " " } else { "" })
}

/// Expressions that are mostly well formed, so that the evaluators see many of them.
fn plausible_expression(rng: &mut Rng) -> String {
    const OPERANDS: &[&str] = &[
        "a", "b", "c.x", "l[0]", "l[3]", "m.a", "m.x[1]", "#n", ":s", ":n", ":l", ":ss", ":m", "size(a)",
        "size(l)",
    ];
    const PATHS: &[&str] = &["a", "b", "c", "c.x", "l[0]", "l[2]", "m.a", "m.b.c", "x", "#n"];
    match rng.below(3) {
        0 => {
            let mut parts = Vec::new();
            for i in 0..1 + rng.below(4) {
                if i > 0 {
                    parts.push(rng.pick(&["AND", "OR", "AND NOT"]).to_owned());
                }
                let (x, y, z) = (rng.pick(OPERANDS), rng.pick(OPERANDS), rng.pick(OPERANDS));
                parts.push(match rng.below(6) {
                    0 => format!("{x} {} {y}", rng.pick(&["=", "<>", "<", "<=", ">", ">="])),
                    1 => format!("{x} BETWEEN {y} AND {z}"),
                    2 => format!("{x} IN ({y}, {z})"),
                    3 => format!("{}({x}, {y})", rng.pick(&["begins_with", "contains", "attribute_type"])),
                    4 => format!(
                        "{}({})",
                        rng.pick(&["attribute_exists", "attribute_not_exists"]),
                        rng.pick(PATHS)
                    ),
                    _ => format!("(a = {x} OR {y} < {z})"),
                });
            }
            parts.join(" ")
        }
        1 => {
            let mut clauses = Vec::new();
            let mut paths: Vec<&str> = PATHS.to_vec();
            for keyword in ["SET", "REMOVE", "ADD", "DELETE"] {
                if rng.below(2) == 0 || paths.is_empty() {
                    continue;
                }
                let path = paths.remove(rng.below(paths.len()));
                let (x, y) = (
                    rng.pick(OPERANDS).replace("size(a)", "a").replace("size(l)", "l"),
                    rng.pick(&[":n", ":l", ":ss", ":s"]),
                );
                clauses.push(match keyword {
                    "SET" => match rng.below(4) {
                        0 => format!("SET {path} = {x} + {y}"),
                        1 => format!("SET {path} = list_append({x}, {y})"),
                        2 => format!("SET {path} = if_not_exists({path}, {y})"),
                        _ => format!("SET {path} = {x}"),
                    },
                    "REMOVE" => format!("REMOVE {path}"),
                    other => format!("{other} {path} {y}"),
                });
            }
            if clauses.is_empty() { "REMOVE a".to_owned() } else { clauses.join(" ") }
        }
        _ => (0..1 + rng.below(4)).map(|_| rng.pick(PATHS)).collect::<Vec<_>>().join(", "),
    }
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let choice = if depth > 3 { rng.below(6) } else { rng.below(9) };
    match choice {
        0 => json!({"S": rng.pick(&["", "a", "abc", "é"])}),
        1 => {
            json!({"N": rng.pick(&["0", "1", "-1.5", "1e125", "9.9999999999999999999999999999999999999E+125", "1e-130", "12345678901234567890123456789012345678"])})
        }
        2 => json!({"B": rng.pick(&["", "YQ==", "AAEC"])}),
        3 => json!({"BOOL": rng.below(2) == 0}),
        4 => json!({"NULL": true}),
        5 => json!({"SS": ["a", "b"]}),
        6 => json!({"NS": ["1", "2"]}),
        7 => json!({"L": (0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect::<Vec<_>>()}),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                map.insert(rng.pick(&["a", "b", "c", "x"]).to_owned(), random_value(rng, depth + 1));
            }
            json!({"M": map})
        }
    }
}

fn random_item(rng: &mut Rng) -> Item {
    let mut map = serde_json::Map::new();
    for name in ["a", "b", "c", "l", "m", "status", "x"] {
        if rng.below(3) > 0 {
            map.insert(name.to_owned(), random_value(rng, 0));
        }
    }
    item(&Value::Object(map).to_string())
}

#[test]
fn random_expressions_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let values = r#"{":s": {"S": "x"}, ":n": {"N": "1e125"}, ":l": {"L": [{"N": "1"}]}, ":ss": {"SS": ["a"]}, ":m": {"M": {}}}"#;
    let schema =
        KeySchema::new(KeyAttribute::new("a", ScalarType::S), Some(KeyAttribute::new("b", ScalarType::N)));
    let mut accepted = 0;
    for _ in 0..30_000 {
        let text =
            if rng.below(2) == 0 { random_expression(&mut rng) } else { plausible_expression(&mut rng) };
        let doc = random_item(&mut rng);
        let mut p = placeholders(&[("#n", "a")], values);
        if let Ok(condition) = p.condition(ExpressionKind::Filter, &text) {
            accepted += 1;
            condition.evaluate(&doc);
        }
        if let Ok(update) = p.update(&text) {
            accepted += 1;
            if let Ok(outcome) = update.apply(&doc) {
                outcome.updated_new();
                outcome.updated_old(&doc);
            }
        }
        if let Ok(projection) = p.projection(&text) {
            accepted += 1;
            projection.apply(&doc);
        }
        if let Ok(key) = p.key_condition(&text, &schema) {
            accepted += 1;
            key.matches(&doc);
        }
        let _ = p.finish();
    }
    // The generator is meant to reach the evaluators, not only the syntax errors.
    assert!(accepted > 5_000, "only {accepted} random expressions parsed");
}

#[test]
fn random_bytes_and_deep_nesting_never_panic() {
    let mut rng = Rng(42);
    let mut p = placeholders(&[], r#"{":s": {"S": "x"}}"#);
    for _ in 0..5_000 {
        let bytes: Vec<u8> = (0..rng.below(40)).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = p.condition(ExpressionKind::Condition, &text);
        let _ = p.update(&text);
        let _ = p.projection(&text);
    }
    for text in [
        "(".repeat(4000),
        "NOT ".repeat(1000) + "a = :s",
        "size(".repeat(1000),
        "a".to_owned() + &".a".repeat(2000),
    ] {
        let _ = p.condition(ExpressionKind::Condition, &text);
        let _ = p.update(&format!("SET a = {text}"));
        let _ = p.projection(&text);
    }
}

#[test]
fn random_numbers_and_values_never_panic() {
    let mut rng = Rng(7);
    let pieces =
        ["0", "1", "9", ".", "e", "E", "-", "+", "00000", "99999999999999999999", "e-130", "e125", "x"];
    let mut numbers = Vec::new();
    for _ in 0..20_000 {
        let text: String = (0..1 + rng.below(8)).map(|_| rng.pick(&pieces)).collect();
        if let Ok(n) = Number::parse(&text) {
            assert_eq!(Number::parse(&n.to_string()).as_ref(), Ok(&n), "{text} round-trips");
            numbers.push(n);
        }
    }
    for pair in numbers.windows(2) {
        if let Ok(sum) = pair[0].checked_add(&pair[1]) {
            assert_eq!(sum.checked_sub(&pair[1]).as_ref(), Ok(&pair[0]));
        }
        let _ = pair[0].checked_sub(&pair[1]);
        let _ = pair[0].cmp(&pair[1]);
    }
    for _ in 0..2_000 {
        let json = random_value(&mut rng, 0);
        let value = AttributeValue::from_json(&json).expect("generated values are valid");
        assert_eq!(AttributeValue::from_json(&value.to_json()).as_ref(), Ok(&value));
    }
    for junk in [
        json!(null),
        json!(1),
        json!("S"),
        json!([]),
        json!({"SS": [1]}),
        json!({"B": "***"}),
        json!({"M": []}),
        json!({"L": [{}]}),
        json!({"BOOL": "true"}),
    ] {
        assert!(AttributeValue::from_json(&junk).is_err(), "{junk}");
    }
}
