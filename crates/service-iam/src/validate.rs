//! IAM's input validation, worded as IAM words it.
//!
//! Two layers, in AWS's order. First the model's constraints (required, length, range, enum,
//! most patterns), all reported together: `2 validation errors detected: Value at 'roleName'
//! failed to satisfy constraint: …; …`. IAM, unlike STS, no longer echoes the offending value
//! (AWS recordings of 2026: `Value at 'versionId' failed to satisfy constraint`). Then IAM's own
//! checks of names and paths, one message each: `The specified value for roleName is invalid.
//! It must contain only alphanumeric characters and/or the following: +=,.@_-`.

use std::fmt::Display;

use protocol::query::QueryParams;

use crate::error::Error;

pub const NAME_CHARS: &str = "It must contain only alphanumeric characters and/or the following: +=,.@_-";
pub const PATH_MESSAGE: &str = "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.";
pub const DOCUMENT_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u00FF]+";
pub const ROLE_DESCRIPTION_PATTERN: &str = r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*";
pub const TAG_KEY_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+";
pub const TAG_VALUE_PATTERN: &str = r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*";
pub const VERSION_ID_PATTERN: &str = r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?";
pub const ROLE_PATH_PREFIX_PATTERN: &str = r"\u002F[\u0021-\u007F]*";
pub const POLICY_PATH_PATTERN: &str = r"((/[A-Za-z0-9\.,\+@=_-]+)*)/";

/// The model's message for a list of (member, constraint), members named as on the wire.
pub fn message<'a>(items: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let parts: Vec<String> = items
        .into_iter()
        .map(|(member, constraint)| {
            format!("Value at '{}' failed to satisfy constraint: {constraint}", lower_first(member))
        })
        .collect();
    let n = parts.len();
    let noun = if n == 1 { "error" } else { "errors" };
    format!("{n} validation {noun} detected: {}", parts.join("; "))
}

/// `RoleName` → `roleName`; nested paths (`Tags.1.member.Key`) lower every segment's first
/// letter, as AWS writes `tags.1.member.key`.
fn lower_first(member: &str) -> String {
    member
        .split('.')
        .map(|seg| {
            let mut chars = seg.chars();
            match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A tag as given, before the duplicate checks that depend on the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// Collects the model's violations for one request, in member order.
#[derive(Debug, Default)]
pub struct Checks {
    violations: Vec<(String, String)>,
    /// A member that could not even be read as its type (`MaxItems=x`); reported alone.
    malformed: Option<Error>,
}

impl Checks {
    pub fn new() -> Checks {
        Checks::default()
    }

    pub fn violation(&mut self, member: &str, constraint: impl Display) {
        self.violations.push((member.to_owned(), constraint.to_string()));
    }

    /// A string member with the model's length bounds (in characters).
    pub fn string<'a>(
        &mut self,
        p: &'a QueryParams,
        member: &str,
        required: bool,
        min: usize,
        max: usize,
    ) -> Option<&'a str> {
        let value = p.get(member);
        match value {
            None if required => self.violation(member, "Member must not be null"),
            None => {}
            Some(v) => self.length(member, v.chars().count(), min, max),
        }
        value
    }

    pub fn length(&mut self, member: &str, n: usize, min: usize, max: usize) {
        if n < min {
            self.violation(member, format!("Member must have length greater than or equal to {min}"));
        } else if n > max {
            self.violation(member, format!("Member must have length less than or equal to {max}"));
        }
    }

    /// A model pattern, checked only when the member is present.
    pub fn pattern(&mut self, member: &str, value: Option<&str>, ok: impl Fn(&str) -> bool, pattern: &str) {
        if value.is_some_and(|v| !ok(v)) {
            self.violation(member, format!("Member must satisfy regular expression pattern: {pattern}"));
        }
    }

    pub fn one_of(&mut self, member: &str, value: Option<&str>, allowed: &[&str]) {
        if value.is_some_and(|v| !allowed.contains(&v)) {
            self.violation(member, format!("Member must satisfy enum value set: [{}]", allowed.join(", ")));
        }
    }

    /// An optional integer member within `min..=max`.
    pub fn int(&mut self, p: &QueryParams, member: &str, min: i64, max: i64) -> Option<i64> {
        let value = match p.int(member) {
            Ok(v) => v,
            Err(e) => {
                self.malformed.get_or_insert(e.into());
                return None;
            }
        };
        if let Some(v) = value {
            if v < min {
                self.violation(member, format!("Member must have value greater than or equal to {min}"));
            } else if v > max {
                self.violation(member, format!("Member must have value less than or equal to {max}"));
            }
        }
        value
    }

    pub fn bool(&mut self, p: &QueryParams, member: &str) -> Option<bool> {
        match p.bool(member) {
            Ok(v) => v,
            Err(e) => {
                self.malformed.get_or_insert(e.into());
                None
            }
        }
    }

    /// A policy document: the model's length and character set.
    pub fn document<'a>(&mut self, p: &'a QueryParams, member: &str, required: bool) -> Option<&'a str> {
        let doc = self.string(p, member, required, 1, 131_072);
        self.pattern(member, doc, |d| d.chars().all(is_document_char), DOCUMENT_PATTERN);
        doc
    }

    /// A list of `Tag` structures (`Tags.member.N.Key` / `.Value`), at most 50.
    pub fn tags(&mut self, p: &QueryParams, member: &str, required: bool) -> Vec<Tag> {
        let items = p.structs(member);
        if items.is_empty() && required && !has_list(p, member) {
            self.violation(member, "Member must not be null");
        }
        if items.len() > 50 {
            self.violation(member, "Member must have length less than or equal to 50");
        }
        let mut tags = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = |field: &str| format!("{member}.{}.member.{field}", i + 1);
            let key = item.get("Key");
            let value = item.get("Value");
            match key {
                None => self.violation(&at("Key"), "Member must not be null"),
                Some(k) => {
                    self.length(&at("Key"), k.chars().count(), 1, 128);
                    self.pattern(&at("Key"), Some(k), |k| k.chars().all(is_tag_char), TAG_KEY_PATTERN);
                }
            }
            match value {
                None => self.violation(&at("Value"), "Member must not be null"),
                Some(v) => {
                    self.length(&at("Value"), v.chars().count(), 0, 256);
                    self.pattern(&at("Value"), Some(v), |v| v.chars().all(is_tag_char), TAG_VALUE_PATTERN);
                }
            }
            tags.push(Tag {
                key: key.unwrap_or_default().to_owned(),
                value: value.unwrap_or_default().to_owned(),
            });
        }
        tags
    }

    /// A list of tag keys (`TagKeys.member.N`), at most 50. AWS reports a bad element with every
    /// constraint of the element at once.
    pub fn tag_keys(&mut self, p: &QueryParams, member: &str) -> Vec<String> {
        let keys = p.list(member);
        if keys.is_empty() && !has_list(p, member) {
            self.violation(member, "Member must not be null");
        }
        if keys.len() > 50 {
            self.violation(member, "Member must have length less than or equal to 50");
        }
        let bad = |k: &&str| {
            let n = k.chars().count();
            !(1..=128).contains(&n) || !k.chars().all(is_tag_char)
        };
        if keys.iter().any(bad) {
            self.violation(
                member,
                format!(
                    "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}, Member must not be null]"
                ),
            );
        }
        keys.into_iter().map(str::to_owned).collect()
    }

    /// `Marker` and `MaxItems`, which every IAM list operation takes.
    pub fn page(&mut self, p: &QueryParams) -> Page {
        let marker = self.string(p, "Marker", false, 1, 320);
        self.pattern(
            "Marker",
            marker,
            |m| m.chars().all(|c| ('\u{20}'..='\u{ff}').contains(&c)),
            r"[\u0020-\u00FF]+",
        );
        let max_items = self.int(p, "MaxItems", 1, 1000);
        Page {
            marker: marker.map(str::to_owned),
            // Range-checked above; the fallback only serves requests that fail anyway.
            max_items: max_items.and_then(|n| usize::try_from(n).ok()).unwrap_or(100),
        }
    }

    /// The model-level verdict: the first unreadable member, else every violation at once.
    pub fn finish(self) -> Result<(), Error> {
        if let Some(e) = self.malformed {
            return Err(e);
        }
        if self.violations.is_empty() {
            return Ok(());
        }
        Err(Error::ValidationError(message(self.violations.iter().map(|(m, c)| (m.as_str(), c.clone())))))
    }
}

/// Whether the request carries the list at all: the SDKs send `Tags=` for an empty list.
fn has_list(p: &QueryParams, member: &str) -> bool {
    p.get(member).is_some()
}

/// Where a list operation starts and how much it returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub marker: Option<String>,
    pub max_items: usize,
}

/// `[\w+=,.@-]+` for role and policy names; `\w` is ASCII in AWS's (Java) patterns.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-'))
}

/// IAM's own name check, after the model's length check.
pub fn name(member: &str, value: &str) -> Result<(), Error> {
    if is_name(value) {
        Ok(())
    } else {
        Err(Error::ValidationError(format!(
            "The specified value for {} is invalid. {NAME_CHARS}",
            lower_first(member)
        )))
    }
}

/// A role path: `/` or `/` + printable ASCII + `/` (`(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`).
pub fn is_role_path(s: &str) -> bool {
    s == "/"
        || (s.len() >= 3
            && s.starts_with('/')
            && s.ends_with('/')
            && s.bytes().all(|b| (0x21..=0x7e).contains(&b)))
}

/// A policy path: `((/[A-Za-z0-9\.,\+@=_-]+)*)/`, that is `/` or `/seg/…/seg/` with non-empty
/// segments.
pub fn is_policy_path(s: &str) -> bool {
    if s == "/" {
        return true;
    }
    let Some(inner) = s.strip_prefix('/').and_then(|r| r.strip_suffix('/')) else {
        return false;
    };
    !inner.is_empty()
        && inner.split('/').all(|seg| {
            !seg.is_empty()
                && seg.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '+' | '@' | '=' | '_' | '-')
                })
        })
}

/// A role's trust policy must be a JSON object (recorded against AWS:
/// `MalformedPolicyDocument: This policy contains invalid Json`). Its grammar is not checked.
pub fn trust_policy(doc: &str) -> Result<(), Error> {
    if is_json_object(doc) {
        Ok(())
    } else {
        Err(Error::MalformedPolicyDocument("This policy contains invalid Json".to_owned()))
    }
}

/// A permissions policy (inline or managed) must be a JSON object (recorded against AWS:
/// `MalformedPolicyDocument: Syntax errors in policy.`). Its grammar is not checked.
pub fn permissions_policy(doc: &str) -> Result<(), Error> {
    if is_json_object(doc) {
        Ok(())
    } else {
        Err(Error::MalformedPolicyDocument("Syntax errors in policy.".to_owned()))
    }
}

fn is_json_object(doc: &str) -> bool {
    matches!(serde_json::from_str::<serde_json::Value>(doc), Ok(serde_json::Value::Object(_)))
}

pub fn path(value: &str, ok: fn(&str) -> bool) -> Result<(), Error> {
    if ok(value) { Ok(()) } else { Err(Error::ValidationError(PATH_MESSAGE.to_owned())) }
}

/// `[\u0009\u000A\u000D\u0020-\u00FF]`
pub fn is_document_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}')
}

/// `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]`
pub fn is_role_description_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{a1}'..='\u{ff}')
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`. `char::is_alphabetic` is a little wider than `\p{L}` (it
/// includes a few marks); the difference only matters for exotic tags.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || is_separator(c)
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// `\p{Z}`: space, line and paragraph separators.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '\u{20}' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
pub fn is_version_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else { return false };
    let (number, suffix) = match rest.split_once('.') {
        Some((n, sfx)) => (n, Some(sfx)),
        None => (rest, None),
    };
    let number_ok =
        number.starts_with(|c: char| ('1'..='9').contains(&c)) && number.bytes().all(|b| b.is_ascii_digit());
    number_ok && suffix.is_none_or(|sfx| sfx.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lower_every_segment() {
        assert_eq!(
            message([("Tags.1.member.Key", "Member must not be null".to_owned())]),
            "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must not be null"
        );
        assert_eq!(
            message([("RoleName", "a".to_owned()), ("MaxItems", "b".to_owned())]),
            "2 validation errors detected: Value at 'roleName' failed to satisfy constraint: a; Value at 'maxItems' failed to satisfy constraint: b"
        );
    }

    #[test]
    fn names() {
        assert!(is_name("my-role_1+=,.@"));
        assert!(!is_name("bad name"));
        assert!(!is_name("bad/name"));
        assert!(!is_name("rôle"));
        assert!(!is_name(""));
    }

    #[test]
    fn paths() {
        for ok in ["/", "/a/", "/a/b/", "///"] {
            assert!(is_role_path(ok), "{ok}");
        }
        for bad in ["", "a", "/a", "a/", "//", "/a b/"] {
            assert!(!is_role_path(bad), "{bad}");
        }
        for ok in ["/", "/a/", "/a/b.c/"] {
            assert!(is_policy_path(ok), "{ok}");
        }
        for bad in ["", "//", "/a//b/", "/a", "a/", "/a b/", "/a*/"] {
            assert!(!is_policy_path(bad), "{bad}");
        }
    }

    #[test]
    fn version_ids() {
        for ok in ["v1", "v12", "v1.a-b", "v3."] {
            assert!(is_version_id(ok), "{ok}");
        }
        for bad in ["", "1", "v0", "v01", "va", "v1.a_b"] {
            assert!(!is_version_id(bad), "{bad}");
        }
    }

    #[test]
    fn tag_chars() {
        assert!("env:prod/a=b+c-d@e_f.g".chars().all(is_tag_char));
        assert!("köln 東京".chars().all(is_tag_char));
        assert!(!"a*b".chars().all(is_tag_char));
        assert!(!"a#b".chars().all(is_tag_char));
    }
}
