//! Parsing IAM requests: which operation, which defaults, and which rejections, before any IO.

use protocol::query::QueryParams;

use super::*;

fn parse(pairs: &[(&str, &str)]) -> Result<Operation, Error> {
    Operation::parse(&QueryParams::from_pairs(pairs.iter().copied()))
}

fn validation_message(pairs: &[(&str, &str)]) -> String {
    match parse(pairs) {
        Err(Error::ValidationError(m)) => m,
        other => panic!("expected a ValidationError, got {other:?}"),
    }
}

#[test]
fn create_role_defaults() {
    let op = parse(&[("Action", "CreateRole"), ("RoleName", "r"), ("AssumeRolePolicyDocument", "{}")])
        .expect("valid");
    let Operation::CreateRole(input) = op else { panic!("not CreateRole: {op:?}") };
    assert_eq!(input.path, "/");
    assert_eq!(input.max_session_duration, 3600);
    assert_eq!(input.description, None);
    assert_eq!(input.permissions_boundary, None);
    assert!(input.tags.is_empty());
}

#[test]
fn list_defaults() {
    let op = parse(&[("Action", "ListRoles")]).expect("valid");
    assert_eq!(
        op,
        Operation::ListRoles { path_prefix: "/".into(), page: Page { marker: None, max_items: 100 } }
    );
    let op = parse(&[("Action", "ListPolicies")]).expect("valid");
    let Operation::ListPolicies(input) = op else { panic!("not ListPolicies") };
    assert_eq!((input.scope, input.only_attached, input.usage), (PolicyScope::All, false, None));
}

#[test]
fn max_items_bounds_and_types() {
    for (value, ok) in [("1", true), ("1000", true), ("0", false), ("1001", false)] {
        assert_eq!(parse(&[("Action", "ListRoles"), ("MaxItems", value)]).is_ok(), ok, "{value}");
    }
    assert_eq!(
        validation_message(&[("Action", "ListRoles"), ("MaxItems", "1001")]),
        "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"
    );
    assert!(matches!(
        parse(&[("Action", "ListRoles"), ("MaxItems", "many")]),
        Err(Error::ValidationError(_))
    ));
    assert!(matches!(
        parse(&[("Action", "ListPolicies"), ("OnlyAttached", "yes")]),
        Err(Error::ValidationError(_))
    ));
}

#[test]
fn policy_arns() {
    let arn = |s: &str| match parse(&[("Action", "GetPolicy"), ("PolicyArn", s)]) {
        Ok(Operation::GetPolicy { policy_arn }) => Ok(policy_arn),
        Ok(other) => panic!("not GetPolicy: {other:?}"),
        Err(e) => Err(e),
    };
    let aws = arn("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole").expect("aws managed");
    assert_eq!(
        (aws.owner, aws.path.as_str(), aws.name.as_str()),
        (PolicyOwner::Aws, "/service-role/", "AWSLambdaBasicExecutionRole")
    );
    let mine = arn("arn:aws:iam::111122223333:policy/p").expect("customer");
    assert_eq!(
        (mine.owner, mine.path.as_str(), mine.name.as_str()),
        (PolicyOwner::Account("111122223333".into()), "/", "p")
    );
    for bad in [
        "arn:aws:iam::111122223333:role/not-a-policy",
        "arn:aws:s3:::bucket/policy/x",
        "arn:aws:iam::111122223333:policy/",
        "arn:aws:iam::111122223333:policy/a//b",
        "arn:aws:iam::notanaccount:policy/p",
        "arn:aws:iam:us-east-1:111122223333:policy/p",
        "longpolicynamebutnoarn",
    ] {
        assert!(
            matches!(arn(bad), Err(Error::InvalidInput(m)) if m == format!("ARN {bad} is not valid.")),
            "{bad}"
        );
    }
    // Attach and detach word the same problem as a ValidationError.
    assert!(matches!(
        parse(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", "longpolicynamebutnoarn")]),
        Err(Error::ValidationError(_))
    ));
    assert_eq!(
        validation_message(&[("Action", "GetPolicy"), ("PolicyArn", "short")]),
        "1 validation error detected: Value at 'policyArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
    );
}

#[test]
fn tags_are_read_and_validated() {
    let op = parse(&[
        ("Action", "TagRole"),
        ("RoleName", "r"),
        ("Tags.member.2.Key", "b"),
        ("Tags.member.2.Value", ""),
        ("Tags.member.1.Key", "a"),
        ("Tags.member.1.Value", "1"),
    ])
    .expect("valid");
    assert_eq!(
        op,
        Operation::TagRole {
            role_name: "r".into(),
            tags: vec![
                Tag { key: "a".into(), value: "1".into() },
                Tag { key: "b".into(), value: String::new() }
            ],
        }
    );
    assert_eq!(
        validation_message(&[("Action", "TagRole"), ("RoleName", "r")]),
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must not be null"
    );
    let long_key = "k".repeat(129);
    assert_eq!(
        validation_message(&[
            ("Action", "TagRole"),
            ("RoleName", "r"),
            ("Tags.member.1.Key", &long_key),
            ("Tags.member.1.Value", "v")
        ]),
        "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"
    );
    let pairs: Vec<(String, String)> = (1..=51)
        .flat_map(|i| {
            [
                (format!("Tags.member.{i}.Key"), format!("k{i}")),
                (format!("Tags.member.{i}.Value"), String::new()),
            ]
        })
        .collect();
    let mut all: Vec<(&str, &str)> = vec![("Action", "TagRole"), ("RoleName", "r")];
    all.extend(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert_eq!(
        validation_message(&all),
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50"
    );
    assert_eq!(
        validation_message(&[("Action", "UntagRole"), ("RoleName", "r"), ("TagKeys.member.1", "a*b")]),
        r"1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+, Member must not be null]"
    );
}

#[test]
fn documents_are_checked_when_parsed() {
    assert!(matches!(
        parse(&[("Action", "CreateRole"), ("RoleName", "r"), ("AssumeRolePolicyDocument", "not json")]),
        Err(Error::MalformedPolicyDocument(m)) if m == "This policy contains invalid Json"
    ));
    assert!(matches!(
        parse(&[("Action", "CreatePolicyVersion"), ("PolicyArn", "arn:aws:iam::111122223333:policy/p"), ("PolicyDocument", "[]")]),
        Err(Error::MalformedPolicyDocument(m)) if m == "Syntax errors in policy."
    ));
    assert_eq!(
        validation_message(&[
            ("Action", "CreatePolicy"),
            ("PolicyName", "p"),
            ("PolicyDocument", "{\"a\":\"東\"}")
        ]),
        r"1 validation error detected: Value at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"
    );
}

#[test]
fn model_checks_come_before_name_checks() {
    // A bad name and a missing document: the model's complaint wins, as on AWS.
    assert_eq!(
        validation_message(&[("Action", "CreateRole"), ("RoleName", "bad name")]),
        "1 validation error detected: Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        validation_message(&[
            ("Action", "CreatePolicy"),
            ("PolicyName", "p"),
            ("PolicyDocument", "{}"),
            ("Path", "/a//b/")
        ]),
        "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."
    );
}

#[test]
fn actions_outside_the_model_are_invalid() {
    assert!(matches!(
        parse(&[("Action", "CreateUser"), ("UserName", "u")]),
        Err(Error::NotImplemented("CreateUser"))
    ));
    assert!(
        matches!(parse(&[("Action", "createrole")]), Err(Error::InvalidAction { action, .. }) if action == "createrole")
    );
    assert!(
        matches!(parse(&[("Version", "2010-05-08")]), Err(Error::InvalidAction { action, version }) if action.is_empty() && version.as_deref() == Some("2010-05-08"))
    );
}
