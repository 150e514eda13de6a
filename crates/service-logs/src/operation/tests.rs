use super::*;

fn parse(op: &str, body: &str) -> Result<Operation, Error> {
    Operation::parse(op, body.as_bytes())
}

fn message(r: Result<Operation, Error>) -> String {
    match r {
        Err(Error::InvalidParameterException(m)) => m,
        other => format!("unexpected: {other:?}"),
    }
}

#[test]
fn parses_group_operations() {
    assert_eq!(
        parse("CreateLogGroup", r#"{"logGroupName":"/aws/lambda/f"}"#).expect("valid"),
        Operation::CreateLogGroup {
            group: "/aws/lambda/f".into(),
            tags: BTreeMap::new(),
            kms_key_id: None,
            class: "STANDARD".into()
        }
    );
    assert_eq!(
        parse("PutRetentionPolicy", r#"{"logGroupName":"g","retentionInDays":3653}"#).expect("valid"),
        Operation::PutRetentionPolicy { group: "g".into(), days: 3653 }
    );
}

#[test]
fn reports_every_violation_at_once() {
    let long = "a".repeat(513);
    let m =
        message(parse("CreateLogStream", &format!(r#"{{"logGroupName":"{long}","logStreamName":"a:b"}}"#)));
    assert!(m.starts_with("2 validation errors detected: "), "{m}");
    assert!(m.contains(
        "at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512"
    ));
    assert!(m.contains("Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"));
}

#[test]
fn group_identifiers() {
    let op = parse(
        "GetLogEvents",
        r#"{"logGroupIdentifier":"arn:aws:logs:eu-west-1:111111111111:log-group:/x:*","logStreamName":"s"}"#,
    )
    .expect("valid");
    let Operation::GetLogEvents(g) = op else { panic!("GetLogEvents") };
    assert_eq!(
        g.group,
        GroupRef { name: "/x".into(), arn_scope: Some(("111111111111".into(), "eu-west-1".into())) }
    );
    assert_eq!(
        message(parse(
            "GetLogEvents",
            r#"{"logGroupName":"a","logGroupIdentifier":"a","logStreamName":"s"}"#
        )),
        "LogGroup name and LogGroup ARN are mutually exclusive parameters."
    );
    assert_eq!(
        message(parse("GetLogEvents", r#"{"logStreamName":"s"}"#)),
        "Should provide either logGroupName or logGroupIdentifier."
    );
}

#[test]
fn tagging_arns_have_no_trailing_star() {
    let ok =
        parse("ListTagsForResource", r#"{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:g"}"#);
    assert!(ok.is_ok());
    let star = parse(
        "ListTagsForResource",
        r#"{"resourceArn":"arn:aws:logs:us-east-1:000000000000:log-group:g:*"}"#,
    );
    assert!(message(star).starts_with("Invalid ARN"));
}

#[test]
fn limits_and_enums() {
    assert!(
        message(parse("GetLogEvents", r#"{"logGroupName":"g","logStreamName":"s","limit":0}"#))
            .contains("Member must have value greater than or equal to 1")
    );
    assert!(
        message(parse("DescribeLogStreams", r#"{"logGroupName":"g","orderBy":"Size"}"#))
            .contains("Member must satisfy enum value set: [LogStreamName, LastEventTime]")
    );
    assert!(message(parse("GetLogEvents", r#"{"logGroupName":"g","logStreamName":"s","nextToken":""}"#))
        .contains("Value '' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 1"));
    assert!(message(parse("PutLogEvents", r#"{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":-1,"message":"m"}]}"#))
        .contains("at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0"));
}

#[test]
fn not_implemented_and_unknown() {
    assert!(matches!(parse("StartLiveTail", "{}"), Err(Error::NotImplemented(op)) if op == "StartLiveTail"));
    assert!(matches!(parse("Bogus", "{}"), Err(Error::UnknownOperationException(_))));
}
