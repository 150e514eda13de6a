//! The Java methods templates call on values: `String`, `List`, `Map`, numbers. An unknown
//! method has no value (the reference then prints as written); a known one given bad
//! arguments is an error, as Java's exception would be.

use crate::render::{as_int, equal};
use crate::value::{Map, Value};

const MUTATORS: &[&str] = &["add", "addAll", "put", "putAll", "remove", "set", "clear"];

pub(crate) fn is_mutator(name: &str) -> bool {
    MUTATORS.contains(&name)
}

fn index(args: &[Value], i: usize) -> Result<i64, String> {
    args.get(i).and_then(as_int).ok_or_else(|| "expected an integer argument".to_owned())
}

fn string_arg(args: &[Value], i: usize) -> Result<String, String> {
    match args.get(i) {
        Some(Value::Null) | None => Err("expected a string argument".into()),
        Some(v) => Ok(v.to_java_string()),
    }
}

fn position(i: i64, len: usize, inclusive_end: bool) -> Result<usize, String> {
    let limit = if inclusive_end { len } else { len.saturating_sub(1) };
    usize::try_from(i)
        .ok()
        .filter(|i| *i <= limit)
        .ok_or_else(|| format!("index {i} out of range for length {len}"))
}

/// A method that changes its receiver; `None` when `name` is none for this kind of value.
pub(crate) fn mutate(target: &mut Value, name: &str, args: &[Value]) -> Result<Option<Value>, String> {
    if !is_mutator(name) {
        return Ok(None);
    }
    Ok(Some(match (target, name, args) {
        (Value::List(items), "add", [v]) => {
            items.push(v.clone());
            Value::Bool(true)
        }
        (Value::List(items), "add", [i, v]) => {
            let len = items.len();
            let i = position(as_int(i).ok_or("expected an integer index")?, len, true)?;
            items.insert(i, v.clone());
            Value::Null
        }
        (Value::List(items), "addAll", [Value::List(more)]) => {
            items.extend(more.iter().cloned());
            Value::Bool(!more.is_empty())
        }
        (Value::List(items), "set", [i, v]) => {
            let len = items.len();
            let i = position(as_int(i).ok_or("expected an integer index")?, len, false)?;
            std::mem::replace(&mut items[i], v.clone())
        }
        (Value::List(items), "remove", [Value::Int(i)]) => {
            let len = items.len();
            let i = position(*i, len, false)?;
            items.remove(i)
        }
        (Value::List(items), "remove", [v]) => match items.iter().position(|x| equal(x, v)) {
            Some(i) => {
                items.remove(i);
                Value::Bool(true)
            }
            None => Value::Bool(false),
        },
        (Value::List(items), "clear", []) => {
            items.clear();
            Value::Null
        }
        (Value::Map(m), "put", [k, v]) => m.insert(k.to_java_string(), v.clone()).unwrap_or(Value::Null),
        (Value::Map(m), "putAll", [Value::Map(more)]) => {
            for (k, v) in more.iter() {
                m.insert(k.clone(), v.clone());
            }
            Value::Null
        }
        (Value::Map(m), "remove", [k]) => m.remove(&k.to_java_string()).unwrap_or(Value::Null),
        (Value::Map(m), "clear", []) => {
            *m = Map::new();
            Value::Null
        }
        _ => return Ok(None),
    }))
}

/// A method that only reads its receiver. `max_len` bounds any string it builds.
pub(crate) fn call(recv: &Value, name: &str, args: &[Value], max_len: usize) -> Result<Value, String> {
    // Every object has these.
    match (name, args) {
        ("toString", []) => return Ok(Value::String(recv.to_java_string())),
        ("equals", [other]) => return Ok(Value::Bool(equal(recv, other) && same_kind(recv, other))),
        _ => {}
    }
    match recv {
        Value::String(s) => string_method(s, name, args, max_len),
        Value::List(items) => Ok(match (name, args) {
            ("size", []) => Value::Int(items.len() as i64),
            ("isEmpty", []) => Value::Bool(items.is_empty()),
            ("get", [i]) => {
                let i = as_int(i).ok_or("expected an integer index")?;
                let len = items.len();
                items[position(i, len, false)?].clone()
            }
            ("contains", [v]) => Value::Bool(items.iter().any(|x| equal(x, v))),
            ("indexOf", [v]) => Value::Int(items.iter().position(|x| equal(x, v)).map_or(-1, |i| i as i64)),
            ("subList", [_, _]) => {
                let len = items.len();
                let a = position(index(args, 0)?, len, true)?;
                let b = position(index(args, 1)?, len, true)?;
                if a > b {
                    return Err("subList: start after end".into());
                }
                Value::List(items[a..b].to_vec())
            }
            _ => Value::Null,
        }),
        Value::Map(m) => Ok(match (name, args) {
            ("size", []) => Value::Int(m.len() as i64),
            ("isEmpty", []) => Value::Bool(m.is_empty()),
            ("get", [k]) => m.get(&k.to_java_string()).cloned().unwrap_or(Value::Null),
            ("containsKey", [k]) => Value::Bool(m.contains_key(&k.to_java_string())),
            ("containsValue", [v]) => Value::Bool(m.iter().any(|(_, x)| equal(x, v))),
            ("keySet", []) => Value::List(m.iter().map(|(k, _)| Value::String(k.clone())).collect()),
            ("values", []) => Value::List(m.iter().map(|(_, v)| v.clone()).collect()),
            ("entrySet", []) => Value::List(
                m.iter()
                    .map(|(k, v)| {
                        let mut e = Map::new();
                        e.insert("key", Value::String(k.clone()));
                        e.insert("value", v.clone());
                        Value::Map(e)
                    })
                    .collect(),
            ),
            // Entries from `entrySet()` answer their Java getters.
            ("getKey", []) => m.get("key").cloned().unwrap_or(Value::Null),
            ("getValue", []) => m.get("value").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        }),
        Value::Int(n) => Ok(match (name, args) {
            ("intValue" | "longValue", []) => Value::Int(*n),
            ("doubleValue" | "floatValue", []) => Value::Float(*n as f64),
            _ => Value::Null,
        }),
        Value::Float(f) => Ok(match (name, args) {
            ("intValue" | "longValue", []) => Value::Int(*f as i64),
            ("doubleValue" | "floatValue", []) => Value::Float(*f),
            _ => Value::Null,
        }),
        Value::Bool(b) => Ok(match (name, args) {
            ("booleanValue", []) => Value::Bool(*b),
            _ => Value::Null,
        }),
        Value::Null => Ok(Value::Null),
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Character offsets (Java counts UTF-16 units; templates rarely see the difference).
fn char_to_byte(s: &str, i: usize) -> usize {
    s.char_indices().nth(i).map_or(s.len(), |(b, _)| b)
}

fn regex(pattern: &str) -> Result<regex_lite::Regex, String> {
    regex_lite::Regex::new(pattern).map_err(|e| format!("invalid regular expression: {e}"))
}

fn string_method(s: &str, name: &str, args: &[Value], max_len: usize) -> Result<Value, String> {
    let len = s.chars().count();
    Ok(match (name, args) {
        ("length", []) => Value::Int(len as i64),
        ("isEmpty", []) => Value::Bool(s.is_empty()),
        ("trim", []) => Value::String(s.trim_matches(|c: char| c <= ' ').to_owned()),
        ("toLowerCase", []) => Value::String(s.to_lowercase()),
        ("toUpperCase", []) => Value::String(s.to_uppercase()),
        ("substring", [_]) | ("substring", [_, _]) => {
            let begin = position(index(args, 0)?, len, true)?;
            let end = if args.len() == 2 { position(index(args, 1)?, len, true)? } else { len };
            if begin > end {
                return Err(format!("begin {begin}, end {end}, length {len}"));
            }
            Value::String(s[char_to_byte(s, begin)..char_to_byte(s, end)].to_owned())
        }
        ("charAt", [_]) => {
            let i = position(index(args, 0)?, len, false)?;
            Value::String(s.chars().nth(i).map(String::from).unwrap_or_default())
        }
        ("indexOf", [_]) | ("indexOf", [_, _]) => {
            let needle = string_arg(args, 0)?;
            let from = if args.len() == 2 { index(args, 1)?.clamp(0, len as i64) as usize } else { 0 };
            let start = char_to_byte(s, from);
            Value::Int(
                s[start..].find(&needle).map_or(-1, |b| (from + s[start..start + b].chars().count()) as i64),
            )
        }
        ("lastIndexOf", [_]) => {
            let needle = string_arg(args, 0)?;
            Value::Int(s.rfind(&needle).map_or(-1, |b| s[..b].chars().count() as i64))
        }
        ("contains", [_]) => Value::Bool(s.contains(&string_arg(args, 0)?)),
        ("startsWith", [_]) => Value::Bool(s.starts_with(&string_arg(args, 0)?)),
        ("endsWith", [_]) => Value::Bool(s.ends_with(&string_arg(args, 0)?)),
        ("equalsIgnoreCase", [v]) => {
            Value::Bool(!v.is_null() && s.to_lowercase() == v.to_java_string().to_lowercase())
        }
        ("concat", [_]) => {
            let more = string_arg(args, 0)?;
            bounded(s.len() + more.len(), max_len)?;
            Value::String(format!("{s}{more}"))
        }
        ("replace", [_, _]) => {
            let (from, to) = (string_arg(args, 0)?, string_arg(args, 1)?);
            let count = if from.is_empty() { len + 1 } else { s.matches(&from).count() };
            bounded(s.len() + count.saturating_mul(to.len()), max_len)?;
            Value::String(if from.is_empty() {
                let mut out = to.clone();
                for c in s.chars() {
                    out.push(c);
                    out.push_str(&to);
                }
                out
            } else {
                s.replace(&from, &to)
            })
        }
        ("replaceAll" | "replaceFirst", [_, _]) => {
            let re = regex(&string_arg(args, 0)?)?;
            let to = java_replacement(&string_arg(args, 1)?);
            let count = if name == "replaceFirst" { 1 } else { re.find_iter(s).count() };
            let per = to.len().saturating_add(to.matches('$').count().saturating_mul(s.len()));
            bounded(s.len().saturating_add(count.saturating_mul(per)), max_len)?;
            let out = if name == "replaceFirst" {
                re.replace(s, to.as_str())
            } else {
                re.replace_all(s, to.as_str())
            };
            Value::String(out.into_owned())
        }
        ("matches", [_]) => {
            let re = regex(&format!("^(?:{})$", string_arg(args, 0)?))?;
            Value::Bool(re.is_match(s))
        }
        ("split", [_]) | ("split", [_, _]) => {
            let re = regex(&string_arg(args, 0)?)?;
            let limit = if args.len() == 2 { index(args, 1)? } else { 0 };
            let mut parts: Vec<&str> = if limit > 0 {
                re.splitn(s, usize::try_from(limit).unwrap_or(usize::MAX)).collect()
            } else {
                re.split(s).collect()
            };
            // Java drops a leading empty piece made by a zero-width match at the start…
            if parts.len() > 1
                && parts.first() == Some(&"")
                && re.find(s).is_some_and(|m| m.start() == 0 && m.end() == 0)
            {
                parts.remove(0);
            }
            // …and, without a positive limit, every trailing empty piece.
            if limit == 0 {
                while parts.len() > 1 && parts.last() == Some(&"") {
                    parts.pop();
                }
                if s.is_empty() {
                    parts = vec![""];
                }
            }
            Value::List(parts.into_iter().map(|p| Value::String(p.to_owned())).collect())
        }
        _ => Value::Null,
    })
}

/// Java's replacement syntax (`$1`, `\$`) in regex-lite's (`${1}`, `$$`).
fn java_replacement(java: &str) -> String {
    let mut out = String::new();
    let mut chars = java.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn bounded(len: usize, max: usize) -> Result<(), String> {
    if len > max {
        return Err(format!("string of {len} bytes exceeds the {max} byte limit"));
    }
    Ok(())
}
