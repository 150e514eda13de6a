//! Parsing STS requests: what becomes which operation, with which defaults.

use protocol::query::QueryParams;

use super::*;

fn parse(pairs: &[(&str, &str)]) -> Result<Operation, Error> {
    Operation::parse(&QueryParams::from_pairs(pairs.iter().copied()))
}

#[test]
fn assume_role_members_and_defaults() {
    let op = parse(&[
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::000000000000:role/r"),
        ("RoleSessionName", "a.b@c=d,e+f-g_h"),
    ])
    .expect("valid");
    let Operation::AssumeRole(input) = op else { panic!("not AssumeRole: {op:?}") };
    assert_eq!(input.role_arn.resource, "role/r");
    assert_eq!(input.role_session_name, "a.b@c=d,e+f-g_h");
    assert_eq!(input.duration_seconds, 3600);
    assert_eq!(input.source_identity, None);
}

#[test]
fn session_name_bounds() {
    let base = [("Action", "AssumeRole"), ("RoleArn", "arn:aws:iam::000000000000:role/r")];
    let with = |name: &str| {
        let mut pairs = base.to_vec();
        pairs.push(("RoleSessionName", name));
        parse(&pairs)
    };
    assert!(with("ab").is_ok());
    assert!(with(&"a".repeat(64)).is_ok());
    assert!(matches!(with("a"), Err(Error::ValidationError(m)) if m.contains("greater than or equal to 2")));
    assert!(matches!(with("a b"), Err(Error::ValidationError(m)) if m.contains("regular expression")));
}

#[test]
fn duration_must_be_an_integer_in_range() {
    let base = [
        ("Action", "AssumeRole"),
        ("RoleArn", "arn:aws:iam::000000000000:role/r"),
        ("RoleSessionName", "s1"),
    ];
    for (value, ok) in [("900", true), ("43200", true), ("899", false), ("43201", false), ("x", false)] {
        let mut pairs = base.to_vec();
        pairs.push(("DurationSeconds", value));
        assert_eq!(parse(&pairs).is_ok(), ok, "{value}");
    }
    let op = parse(&[("Action", "GetSessionToken"), ("DurationSeconds", "129600")]).expect("valid");
    assert_eq!(op, Operation::GetSessionToken { duration_seconds: 129_600 });
}

#[test]
fn actions_outside_the_model_are_invalid() {
    assert!(matches!(parse(&[("Action", "GetCallerIdentity")]), Ok(Operation::GetCallerIdentity)));
    assert!(matches!(parse(&[("Action", "AssumeRoot")]), Err(Error::NotImplemented("AssumeRoot"))));
    assert!(matches!(parse(&[("Action", "assumerole")]), Err(Error::InvalidAction { .. })));
    assert!(matches!(parse(&[]), Err(Error::InvalidAction { action, .. }) if action.is_empty()));
}
