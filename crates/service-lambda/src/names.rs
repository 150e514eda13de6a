//! Function references as Lambda accepts them (`name`, `name:qualifier`, `ACCOUNT:function:name`,
//! full ARNs), qualifiers, ARNs and the name rules. Pure functions, no IO.

use types::Scope;

use crate::error::Error;

/// A function reference resolved against the caller's scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    /// The qualifier that came inside the reference (`name:alias`, `arn:…:name:3`).
    pub qualifier: Option<String>,
}

const NAME_PATTERN: &str = "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?";

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `$LATEST`, a version number or an alias name.
pub fn is_qualifier(s: &str) -> bool {
    s == "$LATEST" || (is_name(s) && s.len() <= 128)
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

impl FunctionRef {
    /// Parses the `FunctionName` member (path label or body) in any of its forms. `max_len` is
    /// the model's limit for this operation (140, or 256 for namespaced names).
    pub fn parse(raw: &str, max_len: usize) -> Result<FunctionRef, Error> {
        let bad_pattern = || {
            Error::validation(
                "functionName",
                raw,
                &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
            )
        };
        if raw.len() > max_len {
            return Err(Error::validation(
                "functionName",
                raw,
                &format!("Member must have length less than or equal to {max_len}"),
            ));
        }
        let mut parts: Vec<&str> = raw.split(':').collect();
        // Strip the ARN prefix: `arn:aws:lambda:REGION:`.
        if parts.first() == Some(&"arn") {
            if parts.len() < 7 || !parts[1].starts_with("aws") || parts[2] != "lambda" || !is_region(parts[3])
            {
                return Err(bad_pattern());
            }
            parts.drain(..4);
        }
        if parts.len() >= 3 && parts[0].len() == 12 && parts[0].bytes().all(|b| b.is_ascii_digit()) {
            if parts[1] != "function" {
                return Err(bad_pattern());
            }
            parts.drain(..2);
        } else if parts.first() == Some(&"function") {
            parts.remove(0);
        }
        let (name, qualifier) = match parts.as_slice() {
            [name] => (*name, None),
            [name, q] => (*name, Some((*q).to_owned())),
            _ => return Err(bad_pattern()),
        };
        if !is_name(name) || qualifier.as_deref().is_some_and(|q| !is_qualifier(q)) {
            return Err(bad_pattern());
        }
        if name.len() > 64 {
            // The pattern allows any length; Lambda's own limit on the name part is 64.
            return Err(Error::validation(
                "functionName",
                raw,
                "Member must have length less than or equal to 64",
            ));
        }
        Ok(FunctionRef { name: name.to_owned(), qualifier })
    }

    /// Combines the qualifier in the reference with the `Qualifier` parameter: they must agree.
    pub fn with_qualifier(self, param: Option<String>) -> Result<(String, Option<String>), Error> {
        if let Some(q) = &param
            && !is_qualifier(q)
        {
            return Err(Error::validation(
                "qualifier",
                q,
                "Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
            ));
        }
        match (self.qualifier, param) {
            (Some(a), Some(b)) if a != b => Err(Error::invalid(
                "The derived qualifier from the function name does not match the specified qualifier.",
            )),
            (a, b) => Ok((self.name, a.or(b))),
        }
    }
}

pub fn function_arn(scope: &Scope, name: &str) -> String {
    format!("arn:aws:lambda:{}:{}:function:{name}", scope.region, scope.account)
}

pub fn qualified_arn(scope: &Scope, name: &str, qualifier: &str) -> String {
    format!("{}:{qualifier}", function_arn(scope, name))
}

/// `Function not found: ARN`, Lambda's message for a missing function or version.
pub fn function_not_found(scope: &Scope, name: &str, qualifier: Option<&str>) -> Error {
    let arn = match qualifier {
        Some(q) => qualified_arn(scope, name, q),
        None => function_arn(scope, name),
    };
    Error::not_found(format!("Function not found: {arn}"))
}

/// Parses a taggable resource ARN of this scope into a function name (tags live on functions).
pub fn tagged_function(scope: &Scope, arn: &str) -> Result<String, Error> {
    let prefix = format!("arn:aws:lambda:{}:{}:function:", scope.region, scope.account);
    match arn.strip_prefix(&prefix) {
        Some(name) if is_name(name) => Ok(name.to_owned()),
        Some(rest) if rest.split_once(':').is_some_and(|(n, q)| is_name(n) && is_qualifier(q)) => {
            Err(Error::invalid("Tags are not supported on function versions or aliases."))
        }
        _ if arn.starts_with("arn:aws:lambda:") && arn.contains(":function:") => {
            Err(Error::not_found(format!("Function not found: {arn}")))
        }
        _ => Err(Error::validation(
            "resource",
            arn,
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FunctionRef, Error> {
        FunctionRef::parse(s, 140)
    }

    #[test]
    fn every_form_of_a_reference() {
        let plain = FunctionRef { name: "my-fn".into(), qualifier: None };
        let q = FunctionRef { name: "my-fn".into(), qualifier: Some("live".into()) };
        assert_eq!(parse("my-fn").ok(), Some(plain.clone()));
        assert_eq!(parse("my-fn:live").ok(), Some(q.clone()));
        assert_eq!(parse("123456789012:function:my-fn").ok(), Some(plain.clone()));
        assert_eq!(parse("arn:aws:lambda:us-east-1:123456789012:function:my-fn").ok(), Some(plain));
        assert_eq!(parse("arn:aws:lambda:eu-west-2:123456789012:function:my-fn:live").ok(), Some(q));
        assert_eq!(parse("my-fn:$LATEST").ok().and_then(|r| r.qualifier), Some("$LATEST".into()));
    }

    #[test]
    fn bad_references_are_validation_errors() {
        for bad in
            ["", "a b", "fn:a:b", "arn:aws:s3:::bucket", "fn:$NOPE", "arn:aws:lambda:us-east-1:1:function:x"]
        {
            assert!(matches!(parse(bad), Err(Error::ValidationException(_))), "{bad:?}");
        }
        let long = "f".repeat(65);
        match parse(&long) {
            Err(Error::ValidationException(m)) => assert!(m.contains("less than or equal to 64"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn qualifiers_must_agree() {
        let r = parse("f:1").unwrap_or_else(|e| panic!("{e}"));
        assert!(r.clone().with_qualifier(Some("1".into())).is_ok());
        assert!(matches!(r.with_qualifier(Some("2".into())), Err(Error::InvalidParameterValueException(_))));
    }
}
