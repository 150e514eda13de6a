use super::*;
use crate::RequestContext;
use types::Scope;

fn ctx() -> RequestContext {
    RequestContext::new(Scope::default(), "test")
}

fn body(r: &Response) -> String {
    String::from_utf8(r.body().to_vec()).expect("utf8")
}

fn err() -> ErrorInfo {
    ErrorInfo::new("NoSuchEntity", StatusCode::NOT_FOUND, "The role with name r cannot be found.")
}

#[test]
fn aws_json_error_shape() {
    let c = ctx();
    for p in [Protocol::AwsJson1_0, Protocol::AwsJson1_1] {
        let r = error_response(p, &c, &err());
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers()["content-type"], p.content_type());
        assert_eq!(r.headers()["x-amzn-requestid"], c.request_id.as_str());
        let v: serde_json::Value = serde_json::from_str(&body(&r)).expect("json");
        assert_eq!(v["__type"], "NoSuchEntity");
        assert_eq!(v["message"], "The role with name r cannot be found.");
    }
}

#[test]
fn rest_json_error_shape() {
    let c = ctx();
    let r = error_response(Protocol::RestJson, &c, &err());
    assert_eq!(r.headers()["x-amzn-errortype"], "NoSuchEntity");
    let v: serde_json::Value = serde_json::from_str(&body(&r)).expect("json");
    assert_eq!(v["Type"], "User");
    assert_eq!(v["message"], "The role with name r cannot be found.");
    let r = error_response(Protocol::RestJson, &c, &ErrorInfo::internal());
    let v: serde_json::Value = serde_json::from_str(&body(&r)).expect("json");
    assert_eq!(v["Type"], "Service");
}

#[test]
fn rest_xml_error_shape() {
    let c = ctx();
    let r = error_response(Protocol::RestXml, &c, &err());
    assert_eq!(r.headers()["x-amz-request-id"], c.request_id.as_str());
    let b = body(&r);
    assert!(b.starts_with("<?xml"), "{b}");
    assert!(
        b.contains(
            "<Error><Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message>"
        ),
        "{b}"
    );
    crate::xml::check_well_formed(b.as_bytes()).expect("well formed");
}

#[test]
fn query_error_shape() {
    let c = ctx();
    let r = error_response(Protocol::Query, &c, &err());
    let b = body(&r);
    let want = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        c.request_id
    );
    assert_eq!(b, want);
    assert_eq!(r.headers()["x-amzn-requestid"], c.request_id.as_str());
}

#[test]
fn validation_messages_match_aws_wording() {
    assert_eq!(
        validation_message([("RoleName", "null", "Member must not be null")]),
        "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"
    );
    assert_eq!(
        validation_message([
            ("RoleName", "null", "Member must not be null"),
            (
                "Path",
                "x",
                "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
            ),
        ]),
        "2 validation errors detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null; Value 'x' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"
    );
}

#[test]
fn protocol_rejections_per_protocol() {
    let unknown = ProtocolError::UnknownOperation("Foo".into());
    assert_eq!(unknown.default_wire(Protocol::Query).code, "InvalidAction");
    assert_eq!(unknown.default_wire(Protocol::AwsJson1_0).code, "UnknownOperationException");
    assert_eq!(unknown.default_wire(Protocol::RestJson).status, StatusCode::NOT_FOUND);
    let ser = ProtocolError::Serialization("bad".into());
    assert_eq!(ser.default_wire(Protocol::AwsJson1_1).code, "SerializationException");
    assert_eq!(ser.default_wire(Protocol::RestXml).code, "MalformedXML");
    let missing = ProtocolError::MissingMembers(vec!["TableName".into()]);
    assert_eq!(missing.default_wire(Protocol::AwsJson1_0).code, "ValidationException");
    assert_eq!(missing.default_wire(Protocol::Query).code, "ValidationError");
    assert!(missing.default_wire(Protocol::Query).message.contains("'tableName'"));
}
