//! Template values and how Java would print them (`{a=1, b=x}`, `[1, 2]`, `1.0E10`).

use std::fmt::Write as _;

/// Deepest nesting of lists and maps a render may build. Values this deep are printed,
/// compared and dropped recursively, so the bound keeps every one of those on a small stack.
pub(crate) const MAX_DEPTH: usize = 160;

/// A value as a template sees it: Java's null, Boolean, Integer/Long, Double, String, List
/// and (insertion-ordered) Map.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(Map),
}

/// A map that keeps insertion order, as the `LinkedHashMap` behind Velocity's `{}` literals
/// and API Gateway's JSON objects does. Lookups are linear: template maps are small, and the
/// renderer charges its step budget by size.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<(String, Value)>,
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Sets `key`, keeping its position if present; returns the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => Some(std::mem::replace(slot, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(at).1)
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Map> for Value {
    fn from(m: Map) -> Self {
        Value::Map(m)
    }
}

impl Value {
    /// Velocity 1.7's truth: only null and `false` are false.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Java's `toString()` of the value; null prints as `null` (inside collections).
    pub fn to_java_string(&self) -> String {
        let mut out = String::new();
        self.write_java(&mut out);
        out
    }

    pub(crate) fn write_java(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::String(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_java(out);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    v.write_java(out);
                }
                out.push('}');
            }
        }
    }

    /// A rough size in steps, charged when a value is copied so that doubling a value in a
    /// loop runs out of budget long before it runs out of memory.
    pub(crate) fn weight(&self) -> u64 {
        match self {
            Value::String(s) => 1 + (s.len() as u64 >> 6),
            Value::List(items) => 1 + items.iter().map(Value::weight).sum::<u64>(),
            Value::Map(map) => {
                1 + map.iter().map(|(k, v)| 1 + (k.len() as u64 >> 6) + v.weight()).sum::<u64>()
            }
            _ => 1,
        }
    }

    /// Nesting depth (0 for scalars), giving up once past `MAX_DEPTH`.
    pub(crate) fn depth(&self) -> usize {
        fn go(v: &Value, d: usize) -> usize {
            if d > MAX_DEPTH {
                return d;
            }
            match v {
                Value::List(items) => items.iter().map(|i| go(i, d + 1)).max().unwrap_or(d + 1),
                Value::Map(map) => map.iter().map(|(_, i)| go(i, d + 1)).max().unwrap_or(d + 1),
                _ => d,
            }
        }
        go(self, 0)
    }

    /// Parses JSON text, keeping the order of object members (API Gateway's JSON objects
    /// print their keys as they came).
    pub fn parse_json(text: &str) -> Result<Value, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The value as JSON text (non-finite doubles become null, as JSON has no spelling for
    /// them).
    pub fn to_json_text(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) if f.is_finite() => {
                out.push_str(&serde_json::to_string(f).unwrap_or_else(|_| "null".into()));
            }
            Value::Float(_) => out.push_str("null"),
            Value::String(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_json(out);
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::from(k.as_str()).to_string());
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(i64::try_from(n).map_or(Value::Float(n as f64), Value::Int))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        // Duplicate keys: the last one wins, in the first one's place.
        let mut map = Map::new();
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            map.insert(k, v);
        }
        Ok(Value::Map(map))
    }
}

/// Java's `Double.toString`: the shortest digits that read back to the same double, in plain
/// notation between 10^-3 and 10^7 (always with a fraction digit) and as `d.dddE±n` outside.
pub fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // `{:e}` gives the shortest round-trip digits: "1.2345e6", "5e-4".
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    let abs = f.abs();
    if (1e-3..1e7).contains(&abs) {
        let point = exp + 1; // digits before the decimal point
        let (int, frac) = if point <= 0 {
            ("0".to_owned(), format!("{}{}", "0".repeat((-point) as usize), digits))
        } else if point as usize >= digits.len() {
            (format!("{}{}", digits, "0".repeat(point as usize - digits.len())), String::new())
        } else {
            (digits[..point as usize].to_owned(), digits[point as usize..].to_owned())
        };
        let frac = if frac.is_empty() { "0".to_owned() } else { frac };
        format!("{sign}{int}.{frac}")
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.1), "0.1");
        assert_eq!(java_double(-2.5), "-2.5");
        assert_eq!(java_double(1234567.0), "1234567.0");
        assert_eq!(java_double(1.0e7), "1.0E7");
        assert_eq!(java_double(12345678.9), "1.23456789E7");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(1.5e-10), "1.5E-10");
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(f64::NAN), "NaN");
        assert_eq!(java_double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(java_double(-0.0), "-0.0");
    }

    #[test]
    fn collections_print_like_java() {
        let mut m = Map::new();
        m.insert("a", Value::Int(1));
        m.insert("b", Value::List(vec![Value::from("x"), Value::Null, Value::Float(2.0)]));
        assert_eq!(Value::Map(m).to_java_string(), "{a=1, b=[x, null, 2.0]}");
    }

    #[test]
    fn map_keeps_insertion_order_on_overwrite() {
        let mut m = Map::new();
        m.insert("z", Value::Int(1));
        m.insert("a", Value::Int(2));
        m.insert("z", Value::Int(3));
        assert_eq!(Value::Map(m).to_java_string(), "{z=3, a=2}");
    }

    #[test]
    fn json_keeps_order_and_number_kinds() {
        let v =
            Value::parse_json(r#"{"i": 3, "f": 1.5, "big": 1e300, "u": 18446744073709551615, "s": "a\"b"}"#)
                .expect("json");
        assert_eq!(v.to_java_string(), "{i=3, f=1.5, big=1.0E300, u=1.8446744073709552E19, s=a\"b}");
        assert_eq!(v.to_json_text(), r#"{"i":3,"f":1.5,"big":1e+300,"u":1.8446744073709552e+19,"s":"a\"b"}"#);
    }
}
