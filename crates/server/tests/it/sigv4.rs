//! `--enforce-sigv4`: correctly signed SDK calls pass, wrong secrets and unknown keys are refused
//! with AWS's codes.

use crate::harness::Server;

/// SDK configuration for `server` signing with `AKIDNIMBUS` and `secret` (the harness's own
/// clients sign with the secret `test`).
async fn signing_with(server: &Server, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("AKIDNIMBUS", secret, None, None, "t"))
        .load()
        .await
}

#[tokio::test]
async fn enforced_signatures() {
    let server =
        Server::start_with(None, &["--ephemeral", "--enforce-sigv4", "--access-key", "AKIDNIMBUS:s3cr3t"]);
    let ok = signing_with(&server, "s3cr3t").await;
    let sts = aws_sdk_sts::Client::new(&ok);
    sts.get_caller_identity().send().await.expect("a correctly signed call passes");

    let wrong_secret = signing_with(&server, "nope").await;
    let err =
        aws_sdk_sts::Client::new(&wrong_secret).get_caller_identity().send().await.expect_err("bad secret");
    assert_eq!(err.into_service_error().meta().code(), Some("SignatureDoesNotMatch"));

    let err = server
        .sts("AKIDUNKNOWN", "us-east-1")
        .await
        .get_caller_identity()
        .send()
        .await
        .expect_err("unknown key");
    assert_eq!(err.into_service_error().meta().code(), Some("InvalidClientTokenId"));

    let resp = server
        .http()
        .post(server.endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=GetCallerIdentity&Version=2011-06-15")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 403);
    let body = resp.text().await.expect("body");
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
}

/// An `AWS_IAM` function URL under `--enforce-sigv4`: a request signed with a configured key
/// reaches the function, a wrong secret gets 403 with the signature's reason, an unsigned one
/// 403 `Forbidden`.
#[tokio::test]
async fn aws_iam_function_urls_verify_the_signature() {
    let server =
        Server::start_with(None, &["--ephemeral", "--enforce-sigv4", "--access-key", "AKIDNIMBUS:s3cr3t"]);
    let lambda = server.lambda("AKIDNIMBUS", "us-east-1").await;
    let source = "def handler(event, context):\n    return {'signed': True}\n";
    let lambda = {
        // This server knows only the secret `s3cr3t`.
        let config = signing_with(&server, "s3cr3t").await;
        drop(lambda);
        aws_sdk_lambda::Client::new(&config)
    };
    crate::lambda::create_python(&lambda, "private", source, &[]).await;
    let created = lambda
        .create_function_url_config()
        .function_name("private")
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .expect("create url");
    let url = created.function_url().to_owned();
    let host = url.trim_start_matches("http://").split('/').next().expect("host").to_owned();

    let send = |secret: Option<&'static str>| {
        let (url, host, port) = (url.clone(), host.clone(), server.port);
        async move {
            let (mut parts, ()) =
                http::Request::get(format!("{url}hello")).body(()).expect("request").into_parts();
            parts.headers.insert(http::header::HOST, host.parse().expect("host header"));
            if let Some(secret) = secret {
                let mut signer = sigv4::Signer::new("AKIDNIMBUS", secret, "us-east-1");
                signer.sign(
                    &mut parts,
                    sigv4::Signing::Service("lambda"),
                    b"",
                    time::OffsetDateTime::now_utc(),
                );
            }
            let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
            let name = host.split(':').next().expect("name").to_owned();
            let http = reqwest::Client::builder().resolve(&name, addr).build().expect("client");
            let mut req = http.get(format!("{url}hello"));
            for (k, v) in &parts.headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.expect("url request");
            let status = resp.status().as_u16();
            (status, resp.text().await.expect("body"))
        }
    };
    let (status, body) = send(Some("s3cr3t")).await;
    assert_eq!((status, body.as_str()), (200, r#"{"signed": true}"#));
    let (status, body) = send(Some("wrong")).await;
    assert_eq!(status, 403);
    assert!(body.contains("signature"), "{body}");
    let (status, body) = send(None).await;
    assert_eq!((status, body.as_str()), (403, r#"{"Message":"Forbidden"}"#));
}

/// `AWS_IAM` methods (REST) and routes (HTTP APIs) under `--enforce-sigv4`: a request signed
/// for `execute-api` with a configured key reaches the function, which sees the caller in
/// `requestContext`; an unsigned one gets 403 `Missing Authentication Token` (REST) or
/// `Forbidden` (HTTP), a wrong secret 403 with the signature's reason.
#[tokio::test]
async fn aws_iam_api_methods_and_routes_verify_the_signature() {
    let server =
        Server::start_with(None, &["--ephemeral", "--enforce-sigv4", "--access-key", "AKIDNIMBUS:s3cr3t"]);
    let config = signing_with(&server, "s3cr3t").await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function =
        crate::lambda::create_python(&lambda, "iam-echo", crate::apigateway::PY_EVENT_ECHO, &[]).await;
    let function_arn = function.function_arn().expect("arn").to_owned();
    let uri =
        format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations");

    let rest = aws_sdk_apigateway::Client::new(&config);
    let api = rest.create_rest_api().name("iam").send().await.expect("create");
    let (api_id, root) = (api.id().expect("id").to_owned(), api.root_resource_id().expect("root").to_owned());
    let who = rest.create_resource().rest_api_id(&api_id).parent_id(&root).path_part("who").send().await;
    let who = who.expect("resource").id().expect("id").to_owned();
    rest.put_method()
        .rest_api_id(&api_id)
        .resource_id(&who)
        .http_method("GET")
        .authorization_type("AWS_IAM")
        .send()
        .await
        .expect("method");
    rest.put_integration()
        .rest_api_id(&api_id)
        .resource_id(&who)
        .http_method("GET")
        .r#type(aws_sdk_apigateway::types::IntegrationType::AwsProxy)
        .integration_http_method("POST")
        .uri(uri)
        .send()
        .await
        .expect("integration");
    rest.create_deployment().rest_api_id(&api_id).stage_name("dev").send().await.expect("deploy");

    let http = aws_sdk_apigatewayv2::Client::new(&config);
    let quick = http
        .create_api()
        .name("iam-http")
        .protocol_type(aws_sdk_apigatewayv2::types::ProtocolType::Http)
        .target(&function_arn)
        .send()
        .await
        .expect("quick create");
    let http_id = quick.api_id().expect("id").to_owned();
    let routes = http.get_routes().api_id(&http_id).send().await.expect("routes");
    let route_id = routes.items()[0].route_id().expect("route id").to_owned();
    http.update_route()
        .api_id(&http_id)
        .route_id(route_id)
        .authorization_type(aws_sdk_apigatewayv2::types::AuthorizationType::AwsIam)
        .send()
        .await
        .expect("route to AWS_IAM");

    let get = |url: String, secret: Option<&'static str>| async move {
        let (mut parts, ()) = http::Request::get(&url).body(()).expect("request").into_parts();
        let host = url.trim_start_matches("http://").split('/').next().expect("host").to_owned();
        parts.headers.insert(http::header::HOST, host.parse().expect("host"));
        if let Some(secret) = secret {
            let mut signer = sigv4::Signer::new("AKIDNIMBUS", secret, "us-east-1");
            signer.sign(
                &mut parts,
                sigv4::Signing::Service("execute-api"),
                b"",
                time::OffsetDateTime::now_utc(),
            );
        }
        let mut req = reqwest::Client::new().get(&url);
        for (k, v) in &parts.headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.expect("invoke url request");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    };

    let rest_url = server.execute_api(&api_id, "/dev/who");
    let (status, body) = get(rest_url.clone(), Some("s3cr3t")).await;
    assert_eq!(status, 200, "{body}");
    let identity = crate::apigateway::json_of(&body)["requestContext"]["identity"].clone();
    assert_eq!(identity["accessKey"], "AKIDNIMBUS");
    assert_eq!(identity["accountId"], "000000000000");
    assert_eq!(identity["userArn"], "arn:aws:iam::000000000000:root");
    let (status, body) = get(rest_url.clone(), None).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Missing Authentication Token"}"#));
    let (status, body) = get(rest_url, Some("wrong")).await;
    assert_eq!(status, 403);
    assert!(body.contains("signature"), "{body}");

    let http_url = server.execute_api(&http_id, "/anything");
    let (status, body) = get(http_url.clone(), Some("s3cr3t")).await;
    assert_eq!(status, 200, "{body}");
    let iam = crate::apigateway::json_of(&body)["requestContext"]["authorizer"]["iam"].clone();
    assert_eq!(
        (iam["accessKey"].as_str(), iam["accountId"].as_str()),
        (Some("AKIDNIMBUS"), Some("000000000000"))
    );
    let (status, body) = get(http_url, None).await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
}
