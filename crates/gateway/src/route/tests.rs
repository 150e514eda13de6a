use super::*;
use http::HeaderValue;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

fn name(d: Destination) -> Option<(&'static str, Protocol)> {
    match d {
        Destination::Service { spec, protocol } => Some((spec.name, protocol)),
        // Data planes answer in their service's protocol.
        Destination::DataPlane { spec } => Some((spec.name, spec.protocol)),
        _ => None,
    }
}

fn head(method: Method, uri: &str, h: &HeaderMap, scope: Option<&str>) -> Destination {
    route_head(&method, &uri.parse().expect("uri"), h, scope)
}

#[test]
fn internal_paths() {
    let h = HeaderMap::new();
    assert_eq!(head(Method::GET, "/_nimbus/health", &h, None), Destination::Internal(Internal::Health));
    assert_eq!(head(Method::GET, "/_localstack/health", &h, None), Destination::Internal(Internal::Health));
    assert_eq!(head(Method::GET, "/_nimbus/nope", &h, None), Destination::Internal(Internal::Console));
    assert_eq!(head(Method::GET, "/_nimbus", &h, None), Destination::Internal(Internal::Console));
    assert_eq!(
        head(Method::GET, "/_nimbus/api/graph", &h, Some("s3")),
        Destination::Internal(Internal::Console)
    );
    assert_eq!(head(Method::GET, "/_localstack/nope", &h, None), Destination::Internal(Internal::NotFound));
    // A bucket whose name merely starts the same way is still S3's.
    assert_eq!(name(head(Method::GET, "/_nimbusx/key", &h, None)), Some(("s3", Protocol::RestXml)));
}

#[test]
fn target_wins_over_everything() {
    let h = headers(&[("x-amz-target", "DynamoDB_20120810.ListTables")]);
    assert_eq!(name(head(Method::POST, "/", &h, Some("sts"))), Some(("dynamodb", Protocol::AwsJson1_0)));
    let h = headers(&[("x-amz-target", "AWSEvents.PutEvents")]);
    assert_eq!(name(head(Method::POST, "/", &h, None)), Some(("events", Protocol::AwsJson1_1)));
    let h = headers(&[("x-amz-target", "AmazonSQS.SendMessage")]);
    assert_eq!(name(head(Method::POST, "/", &h, None)), Some(("sqs", Protocol::AwsJson1_0)));
}

#[test]
fn scope_names_the_service() {
    let form = headers(&[("content-type", "application/x-www-form-urlencoded; charset=utf-8")]);
    assert_eq!(name(head(Method::POST, "/", &form, Some("sts"))), Some(("sts", Protocol::Query)));
    assert_eq!(name(head(Method::POST, "/", &form, Some("sqs"))), Some(("sqs", Protocol::Query)));
    let json = headers(&[("content-type", "application/json")]);
    assert_eq!(
        name(head(Method::GET, "/2015-03-31/functions/", &json, Some("lambda"))),
        Some(("lambda", Protocol::RestJson))
    );
    assert_eq!(name(head(Method::GET, "/bucket/key", &json, Some("s3"))), Some(("s3", Protocol::RestXml)));
    assert_eq!(
        name(head(Method::GET, "/v2/apis", &json, Some("apigateway"))),
        Some(("apigateway", Protocol::RestJson))
    );
}

#[test]
fn unsigned_requests_route_by_shape() {
    let h = HeaderMap::new();
    assert_eq!(
        name(head(Method::GET, "/?Action=GetCallerIdentity&Version=2011-06-15", &h, None)),
        Some(("sts", Protocol::Query))
    );
    assert_eq!(
        head(Method::GET, "/?Action=X&Version=1999-01-01", &h, None),
        Destination::UnknownQueryVersion
    );
    assert_eq!(
        name(head(Method::GET, "/2015-03-31/functions", &h, None)),
        Some(("lambda", Protocol::RestJson))
    );
    assert_eq!(name(head(Method::GET, "/restapis", &h, None)), Some(("apigateway", Protocol::RestJson)));
    assert_eq!(name(head(Method::PUT, "/my-bucket", &h, None)), Some(("s3", Protocol::RestXml)));
    let form = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    assert_eq!(head(Method::POST, "/", &form, None), Destination::NeedsBody);
    assert_eq!(name(route_body(b"Action=ListRoles&Version=2010-05-08")), Some(("iam", Protocol::Query)));
    assert_eq!(route_body(b"Action=ListRoles"), Destination::UnknownQueryVersion);
    assert_eq!(name(route_body(b"key=value")), Some(("s3", Protocol::RestXml)));
}

#[test]
fn unknown_scope_falls_through_to_shape() {
    let h = HeaderMap::new();
    assert_eq!(
        name(head(Method::GET, "/2015-03-31/functions", &h, Some("nosuch"))),
        Some(("lambda", Protocol::RestJson))
    );
}

#[test]
fn unknown_target_is_answered_in_json() {
    let h = headers(&[("x-amz-target", "AWSStepFunctions.ListStateMachines")]);
    assert_eq!(head(Method::POST, "/", &h, None), Destination::UnknownTarget);
    assert_eq!(head(Method::POST, "/", &h, Some("states")), Destination::UnknownTarget);
    // A known signing scope still wins: the service answers its own unknown-operation error.
    assert_eq!(name(head(Method::POST, "/", &h, Some("dynamodb"))), Some(("dynamodb", Protocol::AwsJson1_0)));
}

#[test]
fn execute_api_requests_go_to_apigateway_before_anything_else() {
    let apigw = Some(("apigateway", Protocol::RestJson));
    let host = headers(&[
        ("host", "a1b2c3d4e5.execute-api.localhost:4566"),
        ("x-amz-target", "AWSEvents.PutEvents"),
    ]);
    assert_eq!(name(head(Method::GET, "/dev/users", &host, Some("s3"))), apigw);
    let plain = HeaderMap::new();
    assert_eq!(name(head(Method::POST, "/_aws/execute-api/a1b2c3d4e5/prod/x", &plain, None)), apigw);
    // A bucket named like a path, or a host that merely contains the words, stays with S3.
    assert_eq!(name(head(Method::GET, "/_aws/execute-api", &plain, None)), Some(("s3", Protocol::RestXml)));
    let other = headers(&[("host", "execute-api.localhost")]);
    assert_eq!(name(head(Method::GET, "/b/k", &other, None)), Some(("s3", Protocol::RestXml)));
}

#[test]
fn s3_host_names_route_to_s3() {
    for host in [
        "photos.s3.localhost:4566",
        "my.dotted.bucket.s3.localhost",
        "b.s3.eu-west-1.localhost:4566",
        "s3.localhost",
    ] {
        let h = headers(&[("host", host)]);
        // Even a path that belongs to another service is S3's when the host says so.
        assert_eq!(name(head(Method::GET, "/restapis", &h, None)), Some(("s3", Protocol::RestXml)), "{host}");
    }
    for host in ["localhost:4566", "s3x.localhost", "abc.lambda-url.us-east-1.localhost", "s3.example.com"] {
        assert!(!is_s3_host(host.split(':').next().unwrap_or_default()), "{host}");
    }
    assert!(is_s3_host("b.s3.us-east-1.localhost"));
}

#[test]
fn scheduler_paths_route_to_scheduler_without_stealing_lambda_or_apigateway() {
    let sched = Some(("scheduler", Protocol::RestJson));
    let h = headers(&[("content-type", "application/json")]);
    assert_eq!(name(head(Method::POST, "/schedules/nightly", &h, None)), sched);
    assert_eq!(name(head(Method::GET, "/schedules?ScheduleGroup=ops", &h, None)), sched);
    assert_eq!(name(head(Method::GET, "/schedule-groups/ops", &h, None)), sched);
    let tags = "/tags/arn%3Aaws%3Ascheduler%3Aus-east-1%3A000000000000%3Aschedule-group%2Fops";
    assert_eq!(name(head(Method::GET, tags, &h, Some("scheduler"))), sched);
    // The same tag path signed for API Gateway, and the other REST services' paths, stay theirs.
    let apigw = Some(("apigateway", Protocol::RestJson));
    assert_eq!(
        name(head(Method::GET, "/tags/arn%3Aaws%3Aapigateway%3A%3A%2Frestapis%2Fa", &h, Some("apigateway"))),
        apigw
    );
    assert_eq!(name(head(Method::GET, "/restapis", &h, None)), apigw);
    let lambda = Some(("lambda", Protocol::RestJson));
    assert_eq!(name(head(Method::GET, "/2015-03-31/functions/schedules", &h, None)), lambda);
    assert_eq!(name(head(Method::GET, "/2015-03-31/functions/", &h, Some("lambda"))), lambda);
}
