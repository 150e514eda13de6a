//! IAM through its `AwsService` face, on the in-memory store: query requests in, XML documents
//! and AWS-worded errors out.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use protocol::{AwsService, RequestContext, Response};
use storage::Store;
use time::macros::datetime;
use types::{AccountId, FixedClock, Region, Scope};

use super::*;

const ACCOUNT: &str = "111122223333";
const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
const PERMS: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
const LAMBDA_BASIC: &str = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

struct Iam {
    service: IamService,
}

impl Iam {
    fn new() -> Iam {
        let clock = Arc::new(FixedClock(datetime!(2026-11-27 06:56:34 UTC)));
        Iam { service: IamService::new(Store::memory(), clock) }
    }

    /// Calls the service as `account` in `region` with form-encoded `pairs`.
    fn call_in(&self, account: &str, region: &str, pairs: &[(&str, &str)]) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let req = http::Request::builder()
            .method("POST")
            .uri("/")
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(Bytes::from(body))
            .expect("request");
        let scope = Scope {
            account: AccountId::parse(account).expect("12 digits"),
            region: Region::parse(region).expect("region"),
        };
        Reply(block_on(self.service.call(RequestContext::new(scope, account), req)))
    }

    fn call(&self, pairs: &[(&str, &str)]) -> Reply {
        self.call_in(ACCOUNT, "us-east-1", pairs)
    }

    /// Calls and insists on success.
    fn ok(&self, pairs: &[(&str, &str)]) -> String {
        let reply = self.call(pairs);
        assert_eq!(reply.0.status(), StatusCode::OK, "{pairs:?}: {}", reply.body());
        reply.body()
    }

    fn create_role(&self, name: &str) -> String {
        self.ok(&[("Action", "CreateRole"), ("RoleName", name), ("AssumeRolePolicyDocument", TRUST)])
    }

    fn create_policy(&self, name: &str) -> String {
        self.ok(&[("Action", "CreatePolicy"), ("PolicyName", name), ("PolicyDocument", PERMS)])
    }
}

fn policy_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
}

struct Reply(Response);

impl Reply {
    fn body(&self) -> String {
        String::from_utf8(self.0.body().to_vec()).expect("utf8")
    }

    /// Asserts an error's status, code and message.
    fn error(&self, status: StatusCode, code: &str, message: &str) {
        let body = self.body();
        assert_eq!(self.0.status(), status, "{body}");
        assert_eq!(element(&body, "Code").as_deref(), Some(code), "{body}");
        assert_eq!(element(&body, "Message").as_deref(), Some(message), "{body}");
    }
}

/// The service future never awaits anything, so one poll finishes it.
fn block_on<F: Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the IAM service future is synchronous"),
    }
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of the first `<name>` element, unescaped.
fn element(body: &str, name: &str) -> Option<String> {
    elements(body, name).into_iter().next()
}

/// The texts of every `<name>` element, in document order.
fn elements(body: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    out
}

/// The body with its random ids and request id replaced, for whole-document comparisons.
fn normalized(body: &str) -> String {
    let mut out = body.to_owned();
    for name in ["RoleId", "PolicyId", "RequestId"] {
        for value in elements(body, name) {
            out = out.replace(&format!("<{name}>{value}</{name}>"), &format!("<{name}>…</{name}>"));
        }
    }
    out
}

const TRUST_ENCODED: &str = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Principal%22%3A%20%7B%22Service%22%3A%20%22lambda.amazonaws.com%22%7D%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D%5D%7D";

#[test]
fn create_and_get_role_documents() {
    let iam = Iam::new();
    let created = iam.ok(&[
        ("Action", "CreateRole"),
        ("Version", "2010-05-08"),
        ("RoleName", "lambda-exec"),
        ("Path", "/service/"),
        ("AssumeRolePolicyDocument", TRUST),
        ("Description", "runs functions"),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "core"),
    ]);
    assert_eq!(
        normalized(&created),
        format!(
            "<CreateRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateRoleResult><Role>\
             <Path>/service/</Path><RoleName>lambda-exec</RoleName><RoleId>…</RoleId>\
             <Arn>arn:aws:iam::111122223333:role/service/lambda-exec</Arn><CreateDate>2026-11-27T06:56:34Z</CreateDate>\
             <AssumeRolePolicyDocument>{TRUST_ENCODED}</AssumeRolePolicyDocument>\
             <Tags><member><Key>team</Key><Value>core</Value></member></Tags>\
             </Role></CreateRoleResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></CreateRoleResponse>"
        )
    );
    let role_id = element(&created, "RoleId").expect("id");
    assert!(role_id.starts_with("AROA") && role_id.len() == 21, "{role_id}");

    let got = iam.ok(&[("Action", "GetRole"), ("RoleName", "lambda-exec")]);
    assert_eq!(
        normalized(&got),
        format!(
            "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetRoleResult><Role>\
             <Path>/service/</Path><RoleName>lambda-exec</RoleName><RoleId>…</RoleId>\
             <Arn>arn:aws:iam::111122223333:role/service/lambda-exec</Arn><CreateDate>2026-11-27T06:56:34Z</CreateDate>\
             <AssumeRolePolicyDocument>{TRUST_ENCODED}</AssumeRolePolicyDocument>\
             <Description>runs functions</Description><MaxSessionDuration>3600</MaxSessionDuration>\
             <Tags><member><Key>team</Key><Value>core</Value></member></Tags><RoleLastUsed></RoleLastUsed>\
             </Role></GetRoleResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></GetRoleResponse>"
        )
    );
    assert_eq!(element(&got, "RoleId"), Some(role_id));
}

#[test]
fn role_names_are_unique_regardless_of_case() {
    let iam = Iam::new();
    iam.create_role("MyRole");
    iam.call(&[("Action", "CreateRole"), ("RoleName", "myrole"), ("AssumeRolePolicyDocument", TRUST)]).error(
        StatusCode::CONFLICT,
        "EntityAlreadyExists",
        "Role with name myrole already exists.",
    );
    // Lookups fold case too, and answer the name as created.
    let got = iam.ok(&[("Action", "GetRole"), ("RoleName", "MYROLE")]);
    assert_eq!(element(&got, "RoleName").as_deref(), Some("MyRole"));
}

#[test]
fn missing_roles_are_no_such_entity() {
    let iam = Iam::new();
    for action in ["GetRole", "DeleteRole", "ListRolePolicies", "ListAttachedRolePolicies", "ListRoleTags"] {
        iam.call(&[("Action", action), ("RoleName", "nope")]).error(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            "The role with name nope cannot be found.",
        );
    }
    iam.call(&[("Action", "UpdateRole"), ("RoleName", "nope"), ("Description", "d")]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "The role with name nope cannot be found.",
    );
}

#[test]
fn accounts_and_regions_are_isolated() {
    let iam = Iam::new();
    iam.create_role("shared");
    for (account, region) in [(ACCOUNT, "eu-west-1"), ("444455556666", "us-east-1")] {
        iam.call_in(account, region, &[("Action", "GetRole"), ("RoleName", "shared")]).error(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            "The role with name shared cannot be found.",
        );
        let listed = iam.call_in(account, region, &[("Action", "ListRoles")]).body();
        assert!(elements(&listed, "RoleName").is_empty(), "{listed}");
    }
    // The same name in another region is another role.
    let other = iam.call_in(
        ACCOUNT,
        "eu-west-1",
        &[("Action", "CreateRole"), ("RoleName", "shared"), ("AssumeRolePolicyDocument", TRUST)],
    );
    assert_eq!(other.0.status(), StatusCode::OK, "{}", other.body());
    let here = element(&iam.ok(&[("Action", "GetRole"), ("RoleName", "shared")]), "RoleId");
    assert_ne!(element(&other.body(), "RoleId"), here);
    // Policies too: a policy ARN names nothing in another region.
    iam.create_policy("p");
    iam.call_in(ACCOUNT, "eu-west-1", &[("Action", "GetPolicy"), ("PolicyArn", &policy_arn("p"))]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::111122223333:policy/p was not found.",
    );
}

#[test]
fn list_roles_pages_and_filters_by_path() {
    let iam = Iam::new();
    for i in 0..5 {
        iam.ok(&[
            ("Action", "CreateRole"),
            ("RoleName", &format!("role-{i}")),
            ("Path", if i % 2 == 0 { "/even/" } else { "/" }),
            ("AssumeRolePolicyDocument", TRUST),
        ]);
    }
    let first = iam.ok(&[("Action", "ListRoles"), ("MaxItems", "2")]);
    assert_eq!(elements(&first, "RoleName"), ["role-0", "role-1"]);
    assert_eq!(element(&first, "IsTruncated").as_deref(), Some("true"));
    assert_eq!(elements(&first, "MaxSessionDuration"), ["3600", "3600"]);
    assert!(!first.contains("<RoleLastUsed>"), "ListRoles leaves out RoleLastUsed");
    let mut names = elements(&first, "RoleName");
    let mut marker = element(&first, "Marker").expect("marker");
    loop {
        let page = iam.ok(&[("Action", "ListRoles"), ("MaxItems", "2"), ("Marker", &marker)]);
        names.extend(elements(&page, "RoleName"));
        match element(&page, "Marker") {
            Some(m) => marker = m,
            None => {
                assert_eq!(element(&page, "IsTruncated").as_deref(), Some("false"));
                break;
            }
        }
    }
    assert_eq!(names, ["role-0", "role-1", "role-2", "role-3", "role-4"]);
    let even = iam.ok(&[("Action", "ListRoles"), ("PathPrefix", "/even/")]);
    assert_eq!(elements(&even, "RoleName"), ["role-0", "role-2", "role-4"]);
    assert_eq!(element(&even, "IsTruncated").as_deref(), Some("false"));
    assert_eq!(element(&even, "Marker"), None);
}

#[test]
fn deleting_a_role_needs_its_policies_gone() {
    let iam = Iam::new();
    iam.create_role("r");
    iam.ok(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "r"),
        ("PolicyName", "inline"),
        ("PolicyDocument", PERMS),
    ]);
    iam.ok(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", LAMBDA_BASIC)]);
    iam.call(&[("Action", "DeleteRole"), ("RoleName", "r")]).error(
        StatusCode::CONFLICT,
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    );
    iam.ok(&[("Action", "DetachRolePolicy"), ("RoleName", "r"), ("PolicyArn", LAMBDA_BASIC)]);
    iam.call(&[("Action", "DeleteRole"), ("RoleName", "r")]).error(
        StatusCode::CONFLICT,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    );
    iam.ok(&[("Action", "DeleteRolePolicy"), ("RoleName", "r"), ("PolicyName", "inline")]);
    iam.ok(&[("Action", "DeleteRole"), ("RoleName", "r")]);
    iam.call(&[("Action", "GetRole"), ("RoleName", "r")]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "The role with name r cannot be found.",
    );
    // The name is free again.
    iam.create_role("R");
}

#[test]
fn policy_documents_must_be_json_objects() {
    let iam = Iam::new();
    iam.call(&[
        ("Action", "CreateRole"),
        ("RoleName", "r"),
        ("AssumeRolePolicyDocument", "file://trust.json"),
    ])
    .error(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", "This policy contains invalid Json");
    iam.create_role("r");
    iam.call(&[("Action", "UpdateAssumeRolePolicy"), ("RoleName", "r"), ("PolicyDocument", "[1]")]).error(
        StatusCode::BAD_REQUEST,
        "MalformedPolicyDocument",
        "This policy contains invalid Json",
    );
    iam.call(&[("Action", "PutRolePolicy"), ("RoleName", "r"), ("PolicyName", "p"), ("PolicyDocument", "{")])
        .error(StatusCode::BAD_REQUEST, "MalformedPolicyDocument", "Syntax errors in policy.");
    iam.call(&[("Action", "CreatePolicy"), ("PolicyName", "p"), ("PolicyDocument", "nope")]).error(
        StatusCode::BAD_REQUEST,
        "MalformedPolicyDocument",
        "Syntax errors in policy.",
    );
}

#[test]
fn validation_errors_use_iam_wording() {
    let iam = Iam::new();
    iam.call(&[("Action", "CreateRole")]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "2 validation errors detected: Value at 'roleName' failed to satisfy constraint: Member must not be null; Value at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null",
    );
    iam.call(&[("Action", "CreateRole"), ("RoleName", "bad name"), ("AssumeRolePolicyDocument", TRUST)]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
    );
    iam.call(&[("Action", "CreateRole"), ("RoleName", &"r".repeat(65)), ("AssumeRolePolicyDocument", TRUST)]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "1 validation error detected: Value at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64",
    );
    iam.call(&[
        ("Action", "CreateRole"),
        ("RoleName", "r"),
        ("AssumeRolePolicyDocument", TRUST),
        ("MaxSessionDuration", "100"),
    ])
    .error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "1 validation error detected: Value at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600",
    );
    iam.call(&[("Action", "CreateRole"), ("RoleName", "r"), ("Path", "bad"), ("AssumeRolePolicyDocument", TRUST)]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
    );
    iam.call(&[("Action", "ListRoles"), ("MaxItems", "0")]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    iam.call(&[("Action", "PutRolePolicy"), ("RoleName", "r"), ("PolicyName", "a/b"), ("PolicyDocument", PERMS)]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "The specified value for policyName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
    );
}

#[test]
fn inline_role_policies() {
    let iam = Iam::new();
    iam.call(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "r"),
        ("PolicyName", "p"),
        ("PolicyDocument", PERMS),
    ])
    .error(StatusCode::NOT_FOUND, "NoSuchEntity", "The role with name r cannot be found.");
    iam.create_role("r");
    iam.ok(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "r"),
        ("PolicyName", "zeta"),
        ("PolicyDocument", PERMS),
    ]);
    iam.ok(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "r"),
        ("PolicyName", "Alpha"),
        ("PolicyDocument", "{}"),
    ]);
    // Putting again replaces.
    iam.ok(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "r"),
        ("PolicyName", "Alpha"),
        ("PolicyDocument", PERMS),
    ]);
    let got = iam.ok(&[("Action", "GetRolePolicy"), ("RoleName", "r"), ("PolicyName", "Alpha")]);
    assert_eq!(element(&got, "RoleName").as_deref(), Some("r"));
    assert_eq!(element(&got, "PolicyName").as_deref(), Some("Alpha"));
    assert_eq!(element(&got, "PolicyDocument").as_deref(), Some(render::document(PERMS).as_str()));
    let listed = iam.ok(&[("Action", "ListRolePolicies"), ("RoleName", "r")]);
    assert!(listed.contains("<PolicyNames><member>Alpha</member><member>zeta</member></PolicyNames><IsTruncated>false</IsTruncated>"), "{listed}");
    let first = iam.ok(&[("Action", "ListRolePolicies"), ("RoleName", "r"), ("MaxItems", "1")]);
    assert_eq!(elements(&first, "member"), ["Alpha"]);
    let marker = element(&first, "Marker").expect("marker");
    let second =
        iam.ok(&[("Action", "ListRolePolicies"), ("RoleName", "r"), ("MaxItems", "1"), ("Marker", &marker)]);
    assert_eq!(elements(&second, "member"), ["zeta"]);
    iam.ok(&[("Action", "DeleteRolePolicy"), ("RoleName", "r"), ("PolicyName", "zeta")]);
    for action in ["GetRolePolicy", "DeleteRolePolicy"] {
        iam.call(&[("Action", action), ("RoleName", "r"), ("PolicyName", "zeta")]).error(
            StatusCode::NOT_FOUND,
            "NoSuchEntity",
            "The role policy with name zeta cannot be found.",
        );
    }
}

#[test]
fn managed_policy_lifecycle() {
    let iam = Iam::new();
    let created = iam.ok(&[
        ("Action", "CreatePolicy"),
        ("PolicyName", "read"),
        ("Path", "/team/"),
        ("PolicyDocument", PERMS),
        ("Description", "reads"),
    ]);
    assert_eq!(
        normalized(&created),
        "<CreatePolicyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreatePolicyResult><Policy>\
         <PolicyName>read</PolicyName><PolicyId>…</PolicyId><Arn>arn:aws:iam::111122223333:policy/team/read</Arn>\
         <Path>/team/</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>0</AttachmentCount>\
         <PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable>\
         <CreateDate>2026-11-27T06:56:34Z</CreateDate><UpdateDate>2026-11-27T06:56:34Z</UpdateDate>\
         </Policy></CreatePolicyResult><ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></CreatePolicyResponse>"
    );
    assert!(element(&created, "PolicyId").is_some_and(|id| id.starts_with("ANPA") && id.len() == 21));
    iam.call(&[("Action", "CreatePolicy"), ("PolicyName", "READ"), ("PolicyDocument", PERMS)]).error(
        StatusCode::CONFLICT,
        "EntityAlreadyExists",
        "A policy called READ already exists. Duplicate names are not allowed.",
    );
    let arn = "arn:aws:iam::111122223333:policy/team/read";
    let got = iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", arn)]);
    assert_eq!(element(&got, "Description").as_deref(), Some("reads"));
    assert!(got.contains("<Tags></Tags>"), "GetPolicy always has Tags: {got}");

    iam.create_role("r");
    iam.ok(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", arn)]);
    iam.ok(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", arn)]);
    iam.ok(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", LAMBDA_BASIC)]);
    let got = iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", arn)]);
    assert_eq!(element(&got, "AttachmentCount").as_deref(), Some("1"), "attaching twice counts once");
    let attached = iam.ok(&[("Action", "ListAttachedRolePolicies"), ("RoleName", "r")]);
    assert_eq!(elements(&attached, "PolicyName"), ["read", "AWSLambdaBasicExecutionRole"]);
    assert_eq!(elements(&attached, "PolicyArn"), [arn, LAMBDA_BASIC]);
    let filtered = iam.ok(&[
        ("Action", "ListAttachedRolePolicies"),
        ("RoleName", "r"),
        ("PathPrefix", "/service-role/"),
    ]);
    assert_eq!(elements(&filtered, "PolicyName"), ["AWSLambdaBasicExecutionRole"]);

    iam.call(&[("Action", "DeletePolicy"), ("PolicyArn", arn)]).error(
        StatusCode::CONFLICT,
        "DeleteConflict",
        "Cannot delete a policy attached to entities.",
    );
    let attached_only = iam.ok(&[("Action", "ListPolicies"), ("OnlyAttached", "true")]);
    assert_eq!(elements(&attached_only, "PolicyName"), ["read"]);
    iam.ok(&[("Action", "DetachRolePolicy"), ("RoleName", "r"), ("PolicyArn", arn)]);
    iam.call(&[("Action", "DetachRolePolicy"), ("RoleName", "r"), ("PolicyArn", arn)]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::111122223333:policy/team/read was not found.",
    );
    let attached_only = iam.ok(&[("Action", "ListPolicies"), ("OnlyAttached", "true")]);
    assert!(elements(&attached_only, "PolicyName").is_empty());
    iam.ok(&[("Action", "DeletePolicy"), ("PolicyArn", arn)]);
    iam.call(&[("Action", "GetPolicy"), ("PolicyArn", arn)]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::111122223333:policy/team/read was not found.",
    );
}

#[test]
fn attach_errors() {
    let iam = Iam::new();
    iam.create_role("r");
    iam.call(&[
        ("Action", "AttachRolePolicy"),
        ("RoleName", "r"),
        ("PolicyArn", &policy_arn("nonexistent-policy")),
    ])
    .error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::111122223333:policy/nonexistent-policy does not exist or is not attachable.",
    );
    iam.call(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", "longpolicynamebutnoarn")])
        .error(StatusCode::BAD_REQUEST, "ValidationError", "ARN longpolicynamebutnoarn is not valid.");
    iam.call(&[
        ("Action", "DetachRolePolicy"),
        ("RoleName", "r"),
        ("PolicyArn", "arn:aws:iam::aws:policy/Nonexistent"),
    ])
    .error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::aws:policy/Nonexistent was not found.",
    );
    iam.call(&[("Action", "AttachRolePolicy"), ("RoleName", "missing"), ("PolicyArn", LAMBDA_BASIC)]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "The role with name missing cannot be found.",
    );
    for i in 0..10 {
        iam.ok(&[
            ("Action", "AttachRolePolicy"),
            ("RoleName", "r"),
            ("PolicyArn", &format!("arn:aws:iam::aws:policy/P{i}")),
        ]);
    }
    iam.call(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", LAMBDA_BASIC)]).error(
        StatusCode::CONFLICT,
        "LimitExceeded",
        "Cannot exceed quota for PoliciesPerRole: 10",
    );
}

#[test]
fn policy_versions() {
    let iam = Iam::new();
    iam.create_policy("p");
    let arn = policy_arn("p");
    let v2 = iam.ok(&[
        ("Action", "CreatePolicyVersion"),
        ("PolicyArn", &arn),
        ("PolicyDocument", "{}"),
        ("SetAsDefault", "true"),
    ]);
    assert!(
        v2.contains("<PolicyVersion><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>2026-11-27T06:56:34Z</CreateDate></PolicyVersion>"),
        "{v2}"
    );
    iam.ok(&[("Action", "CreatePolicyVersion"), ("PolicyArn", &arn), ("PolicyDocument", PERMS)]);
    let listed = iam.ok(&[("Action", "ListPolicyVersions"), ("PolicyArn", &arn)]);
    assert_eq!(elements(&listed, "VersionId"), ["v3", "v2", "v1"]);
    assert_eq!(elements(&listed, "IsDefaultVersion"), ["false", "true", "false"]);
    let page = iam.ok(&[("Action", "ListPolicyVersions"), ("PolicyArn", &arn), ("MaxItems", "2")]);
    assert_eq!(elements(&page, "VersionId"), ["v3", "v2"]);
    let marker = element(&page, "Marker").expect("marker");
    let rest = iam.ok(&[("Action", "ListPolicyVersions"), ("PolicyArn", &arn), ("Marker", &marker)]);
    assert_eq!(elements(&rest, "VersionId"), ["v1"]);

    let v1 = iam.ok(&[("Action", "GetPolicyVersion"), ("PolicyArn", &arn), ("VersionId", "v1")]);
    assert_eq!(element(&v1, "Document"), Some(render::document(PERMS)));
    assert_eq!(
        element(&iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", &arn)]), "DefaultVersionId").as_deref(),
        Some("v2")
    );

    iam.call(&[("Action", "DeletePolicyVersion"), ("PolicyArn", &arn), ("VersionId", "v2")]).error(
        StatusCode::CONFLICT,
        "DeleteConflict",
        "Cannot delete the default version of a policy.",
    );
    iam.call(&[("Action", "GetPolicyVersion"), ("PolicyArn", &arn), ("VersionId", "v9")]).error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::111122223333:policy/p version v9 does not exist or is not attachable.",
    );
    iam.call(&[("Action", "GetPolicyVersion"), ("PolicyArn", &arn), ("VersionId", "1")]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        r"1 validation error detected: Value at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?",
    );
    iam.call(&[("Action", "DeletePolicy"), ("PolicyArn", &arn)]).error(
        StatusCode::CONFLICT,
        "DeleteConflict",
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
    );
    iam.ok(&[("Action", "CreatePolicyVersion"), ("PolicyArn", &arn), ("PolicyDocument", "{}")]);
    iam.ok(&[("Action", "CreatePolicyVersion"), ("PolicyArn", &arn), ("PolicyDocument", "{}")]);
    iam.call(&[("Action", "CreatePolicyVersion"), ("PolicyArn", &arn), ("PolicyDocument", "{}")]).error(
        StatusCode::CONFLICT,
        "LimitExceeded",
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
    );
    iam.ok(&[("Action", "SetDefaultPolicyVersion"), ("PolicyArn", &arn), ("VersionId", "v1")]);
    for v in ["v2", "v3", "v4", "v5"] {
        iam.ok(&[("Action", "DeletePolicyVersion"), ("PolicyArn", &arn), ("VersionId", v)]);
    }
    // Version numbers are never reused.
    let v6 = iam.ok(&[("Action", "CreatePolicyVersion"), ("PolicyArn", &arn), ("PolicyDocument", "{}")]);
    assert_eq!(element(&v6, "VersionId").as_deref(), Some("v6"));
}

#[test]
fn list_policies_scopes_and_pages() {
    let iam = Iam::new();
    for name in ["a", "b", "c"] {
        iam.create_policy(name);
    }
    iam.ok(&[("Action", "CreatePolicy"), ("PolicyName", "d"), ("Path", "/x/"), ("PolicyDocument", PERMS)]);
    let all = iam.ok(&[("Action", "ListPolicies")]);
    assert_eq!(elements(&all, "PolicyName"), ["a", "b", "c", "d"]);
    assert!(!all.contains("<Tags>"), "ListPolicies leaves out tags");
    let aws = iam.ok(&[("Action", "ListPolicies"), ("Scope", "AWS")]);
    assert!(elements(&aws, "PolicyName").is_empty());
    let local = iam.ok(&[("Action", "ListPolicies"), ("Scope", "Local"), ("PathPrefix", "/x/")]);
    assert_eq!(elements(&local, "PolicyName"), ["d"]);
    let first = iam.ok(&[("Action", "ListPolicies"), ("MaxItems", "3")]);
    assert_eq!(elements(&first, "PolicyName"), ["a", "b", "c"]);
    let marker = element(&first, "Marker").expect("marker");
    let rest = iam.ok(&[("Action", "ListPolicies"), ("MaxItems", "3"), ("Marker", &marker)]);
    assert_eq!(elements(&rest, "PolicyName"), ["d"]);
    iam.call(&[("Action", "ListPolicies"), ("Scope", "Mine")]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        "1 validation error detected: Value at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]",
    );
}

#[test]
fn role_tags() {
    let iam = Iam::new();
    iam.create_role("r");
    iam.ok(&[
        ("Action", "TagRole"),
        ("RoleName", "r"),
        ("Tags.member.1.Key", "somekey"),
        ("Tags.member.1.Value", "somevalue"),
        ("Tags.member.2.Key", "Another"),
        ("Tags.member.2.Value", ""),
    ]);
    iam.ok(&[
        ("Action", "TagRole"),
        ("RoleName", "r"),
        ("Tags.member.1.Key", "SOMEKEY"),
        ("Tags.member.1.Value", "v2"),
    ]);
    let listed = iam.ok(&[("Action", "ListRoleTags"), ("RoleName", "r")]);
    assert_eq!(elements(&listed, "Key"), ["Another", "SOMEKEY"]);
    assert_eq!(elements(&listed, "Value"), ["", "v2"]);
    iam.call(&[
        ("Action", "TagRole"),
        ("RoleName", "r"),
        ("Tags.member.1.Key", "dup"),
        ("Tags.member.1.Value", "1"),
        ("Tags.member.2.Key", "DUP"),
        ("Tags.member.2.Value", "2"),
    ])
    .error(
        StatusCode::BAD_REQUEST,
        "InvalidInput",
        "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
    );
    iam.call(&[("Action", "TagRole"), ("RoleName", "r"), ("Tags.member.1.Key", "a*b"), ("Tags.member.1.Value", "1")]).error(
        StatusCode::BAD_REQUEST,
        "ValidationError",
        r"1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+",
    );
    iam.ok(&[("Action", "UntagRole"), ("RoleName", "r"), ("TagKeys.member.1", "somekey")]);
    let listed = iam.ok(&[("Action", "ListRoleTags"), ("RoleName", "r")]);
    assert_eq!(elements(&listed, "Key"), ["Another"]);
}

#[test]
fn policy_tags_are_case_sensitive() {
    let iam = Iam::new();
    let created = iam.ok(&[
        ("Action", "CreatePolicy"),
        ("PolicyName", "p"),
        ("PolicyDocument", PERMS),
        ("Tags.member.1.Key", "a"),
        ("Tags.member.1.Value", "lowercase"),
        ("Tags.member.2.Key", "A"),
        ("Tags.member.2.Value", "uppercase"),
    ]);
    assert_eq!(elements(&created, "Key"), ["a", "A"]);
    let arn = policy_arn("p");
    let listed = iam.ok(&[("Action", "ListPolicyTags"), ("PolicyArn", &arn)]);
    assert_eq!(elements(&listed, "Key"), ["A", "a"]);
    iam.ok(&[("Action", "UntagPolicy"), ("PolicyArn", &arn), ("TagKeys.member.1", "a")]);
    iam.ok(&[
        ("Action", "TagPolicy"),
        ("PolicyArn", &arn),
        ("Tags.member.1.Key", "b"),
        ("Tags.member.1.Value", "1"),
    ]);
    let listed = iam.ok(&[("Action", "ListPolicyTags"), ("PolicyArn", &arn)]);
    assert_eq!(elements(&listed, "Key"), ["A", "b"]);
    iam.call(&[
        ("Action", "TagPolicy"),
        ("PolicyArn", &policy_arn("NotAPolicy")),
        ("Tags.member.1.Key", "b"),
        ("Tags.member.1.Value", "1"),
    ])
    .error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Policy arn:aws:iam::111122223333:policy/NotAPolicy was not found.",
    );
}

#[test]
fn updating_roles() {
    let iam = Iam::new();
    iam.create_role("r");
    iam.ok(&[
        ("Action", "UpdateRole"),
        ("RoleName", "r"),
        ("Description", "first"),
        ("MaxSessionDuration", "7200"),
    ]);
    let desc = iam.ok(&[("Action", "UpdateRoleDescription"), ("RoleName", "r"), ("Description", "second")]);
    assert_eq!(element(&desc, "Description").as_deref(), Some("second"));
    assert!(!desc.contains("MaxSessionDuration"), "{desc}");
    iam.ok(&[
        ("Action", "UpdateAssumeRolePolicy"),
        ("RoleName", "r"),
        ("PolicyDocument", "{\"Statement\":[]}"),
    ]);
    let got = iam.ok(&[("Action", "GetRole"), ("RoleName", "r")]);
    assert_eq!(element(&got, "Description").as_deref(), Some("second"));
    assert_eq!(element(&got, "MaxSessionDuration").as_deref(), Some("7200"));
    assert_eq!(element(&got, "AssumeRolePolicyDocument").as_deref(), Some("%7B%22Statement%22%3A%5B%5D%7D"));
}

#[test]
fn permissions_boundaries_count_and_block_deletes() {
    let iam = Iam::new();
    iam.create_policy("boundary");
    let arn = policy_arn("boundary");
    let created = iam.ok(&[
        ("Action", "CreateRole"),
        ("RoleName", "bounded"),
        ("AssumeRolePolicyDocument", TRUST),
        ("PermissionsBoundary", &arn),
    ]);
    assert!(
        created.contains(&format!(
            "<PermissionsBoundary><PermissionsBoundaryType>Policy</PermissionsBoundaryType><PermissionsBoundaryArn>{arn}</PermissionsBoundaryArn></PermissionsBoundary>"
        )),
        "{created}"
    );
    let got = iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", &arn)]);
    assert_eq!(element(&got, "PermissionsBoundaryUsageCount").as_deref(), Some("1"));
    iam.call(&[("Action", "DeletePolicy"), ("PolicyArn", &arn)]).error(
        StatusCode::CONFLICT,
        "DeleteConflict",
        "Cannot delete a policy attached to entities.",
    );
    iam.ok(&[("Action", "DeleteRolePermissionsBoundary"), ("RoleName", "bounded")]);
    let got = iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", &arn)]);
    assert_eq!(element(&got, "PermissionsBoundaryUsageCount").as_deref(), Some("0"));
    iam.call(&[
        ("Action", "PutRolePermissionsBoundary"),
        ("RoleName", "bounded"),
        ("PermissionsBoundary", &policy_arn("nonexistent-policy")),
    ])
    .error(
        StatusCode::NOT_FOUND,
        "NoSuchEntity",
        "Scope ARN: arn:aws:iam::111122223333:policy/nonexistent-policy does not exist or is not attachable.",
    );
    iam.call(&[
        ("Action", "PutRolePermissionsBoundary"),
        ("RoleName", "bounded"),
        ("PermissionsBoundary", "arn:aws:iam::111122223333:not_a_policy/invalid"),
    ])
    .error(
        StatusCode::BAD_REQUEST,
        "InvalidInput",
        "ARN arn:aws:iam::111122223333:not_a_policy/invalid is not valid.",
    );
    iam.ok(&[
        ("Action", "PutRolePermissionsBoundary"),
        ("RoleName", "bounded"),
        ("PermissionsBoundary", &arn),
    ]);
    iam.ok(&[("Action", "DeleteRole"), ("RoleName", "bounded")]);
    let got = iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", &arn)]);
    assert_eq!(
        element(&got, "PermissionsBoundaryUsageCount").as_deref(),
        Some("0"),
        "deleting the role releases it"
    );
    iam.ok(&[("Action", "DeletePolicy"), ("PolicyArn", &arn)]);
}

#[test]
fn unknown_and_unimplemented_actions() {
    let iam = Iam::new();
    iam.call(&[("Action", "CreateRoles"), ("Version", "2010-05-08")]).error(
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        "Could not find operation CreateRoles for version 2010-05-08",
    );
    iam.call(&[("Version", "2010-05-08")]).error(
        StatusCode::BAD_REQUEST,
        "InvalidAction",
        "Could not find operation  for version 2010-05-08",
    );
    iam.call(&[("Action", "GetUser")]).error(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "GetUser is not implemented by Nimbus yet",
    );
}

#[test]
fn concurrent_creates_of_one_name_have_one_winner() {
    let iam = Arc::new(Iam::new());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let iam = Arc::clone(&iam);
            std::thread::spawn(move || {
                // Different cases of one name: they collide all the same.
                let name = if i % 2 == 0 { "Racer" } else { "racer" };
                iam.call(&[("Action", "CreateRole"), ("RoleName", name), ("AssumeRolePolicyDocument", TRUST)])
                    .0
                    .status()
            })
        })
        .collect();
    let statuses: Vec<StatusCode> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 7, "{statuses:?}");
}

#[test]
fn concurrent_attaches_all_land() {
    let iam = Arc::new(Iam::new());
    iam.create_role("r");
    let names: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
    for name in &names {
        iam.create_policy(name);
    }
    let threads: Vec<_> = names
        .iter()
        .map(|name| {
            let iam = Arc::clone(&iam);
            let arn = policy_arn(name);
            std::thread::spawn(move || {
                iam.call(&[("Action", "AttachRolePolicy"), ("RoleName", "r"), ("PolicyArn", &arn)]).0.status()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("thread"), StatusCode::OK);
    }
    let attached = iam.ok(&[("Action", "ListAttachedRolePolicies"), ("RoleName", "r")]);
    assert_eq!(elements(&attached, "PolicyName").len(), 6, "{attached}");
    for name in &names {
        let got = iam.ok(&[("Action", "GetPolicy"), ("PolicyArn", &policy_arn(name))]);
        assert_eq!(element(&got, "AttachmentCount").as_deref(), Some("1"));
    }
}
