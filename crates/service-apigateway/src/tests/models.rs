//! Service-level tests of models, request validators, gateway responses and custom domain
//! names: control plane and data plane together.

use serde_json::{Value, json};

use super::{Env, FN};

/// A REST API `/pets` (POST, Lambda proxy) validated by a `Pet` model and a validator that
/// checks parameters and body, with `MISSING_AUTHENTICATION_TOKEN` customized; deployed to `dev`.
async fn validated_api(env: &Env) -> String {
    let (_, api) = env.call("POST", "/restapis", json!({"name": "pets"})).await;
    let id = api["id"].as_str().expect("id").to_owned();
    let root = api["rootResourceId"].as_str().expect("root").to_owned();
    let schema = json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}, "tag": {"$ref": format!("https://apigateway.amazonaws.com/restapis/{id}/models/Tag")}},
    });
    let tag = json!({"type": "string", "maxLength": 3});
    let (status, model) = env
        .call(
            "POST",
            &format!("/restapis/{id}/models"),
            json!({"name": "Tag", "contentType": "application/json", "schema": tag.to_string()}),
        )
        .await;
    assert_eq!(status, 201, "{model}");
    let (status, _) = env
        .call(
            "POST",
            &format!("/restapis/{id}/models"),
            json!({"name": "Pet", "contentType": "application/json", "schema": schema.to_string()}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, validator) = env
        .call(
            "POST",
            &format!("/restapis/{id}/requestvalidators"),
            json!({"name": "all", "validateRequestBody": true, "validateRequestParameters": true}),
        )
        .await;
    assert_eq!(status, 201, "{validator}");
    let validator = validator["id"].as_str().expect("validator id");
    let (_, pets) =
        env.call("POST", &format!("/restapis/{id}/resources/{root}"), json!({"pathPart": "pets"})).await;
    let pets = pets["id"].as_str().expect("resource id");
    let method = format!("/restapis/{id}/resources/{pets}/methods/POST");
    let (status, m) = env
        .call(
            "PUT",
            &method,
            json!({
                "authorizationType": "NONE",
                "requestValidatorId": validator,
                "requestParameters": {"method.request.querystring.owner": true, "method.request.header.x-opt": false},
                "requestModels": {"application/json": "Pet"},
            }),
        )
        .await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(m["requestValidatorId"], validator);
    let uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations");
    env.call(
        "PUT",
        &format!("{method}/integration"),
        json!({"type": "AWS_PROXY", "httpMethod": "POST", "uri": uri}),
    )
    .await;
    let (status, gr) = env
        .call(
            "PUT",
            &format!("/restapis/{id}/gatewayresponses/MISSING_AUTHENTICATION_TOKEN"),
            json!({
                "statusCode": "404",
                "responseParameters": {"gatewayresponse.header.x-why": "'no such route'", "gatewayresponse.header.x-echo": "method.request.header.x-in"},
                "responseTemplates": {"application/json": "{\"error\":$context.error.messageString,\"type\":\"$context.error.responseType\",\"id\":\"$context.requestId\"}"},
            }),
        )
        .await;
    assert_eq!((status, &gr["defaultResponse"]), (201, &json!(false)), "{gr}");
    let (status, _) =
        env.call("POST", &format!("/restapis/{id}/deployments"), json!({"stageName": "dev"})).await;
    assert_eq!(status, 201);
    id
}

#[tokio::test]
async fn models_validators_and_gateway_responses_in_the_control_plane() {
    let env = Env::new();
    let id = validated_api(&env).await;
    let (_, models) = env.call("GET", &format!("/restapis/{id}/models"), Value::Null).await;
    let names: Vec<&str> =
        models["item"].as_array().expect("items").iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["Empty", "Error", "Pet", "Tag"]);
    let (status, err) = env
        .call(
            "POST",
            &format!("/restapis/{id}/models"),
            json!({"name": "Bad", "contentType": "application/json", "schema": "{not json"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        err["message"],
        "Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]"
    );
    let (status, _) = env.call("DELETE", &format!("/restapis/{id}/models/Pet"), Value::Null).await;
    assert_eq!(status, 400, "a model in use cannot be deleted");
    let (status, patched) = env
        .call(
            "PATCH",
            &format!("/restapis/{id}/models/Tag"),
            json!({"patchOperations": [{"op": "replace", "path": "/description", "value": "short"}]}),
        )
        .await;
    assert_eq!((status, &patched["description"]), (200, &json!("short")));
    let (status, template) =
        env.call("GET", &format!("/restapis/{id}/models/Pet/default_template"), Value::Null).await;
    assert_eq!(status, 200);
    assert!(template["value"].as_str().is_some_and(|t| t.contains("$inputRoot.name")), "{template}");

    let (_, validators) = env.call("GET", &format!("/restapis/{id}/requestvalidators"), Value::Null).await;
    let vid = validators["item"][0]["id"].as_str().expect("validator").to_owned();
    let (status, v) = env
        .call(
            "PATCH",
            &format!("/restapis/{id}/requestvalidators/{vid}"),
            json!({"patchOperations": [{"op": "replace", "path": "/validateRequestBody", "value": "false"}]}),
        )
        .await;
    assert_eq!((status, &v["validateRequestBody"]), (200, &json!(false)));

    let (_, responses) = env.call("GET", &format!("/restapis/{id}/gatewayresponses"), Value::Null).await;
    let items = responses["item"].as_array().expect("items");
    assert_eq!(items.len(), 21);
    let custom: Vec<&Value> = items.iter().filter(|r| r["defaultResponse"] == json!(false)).collect();
    assert_eq!(custom.len(), 1);
    assert_eq!(custom[0]["statusCode"], "404");
    let (status, throttled) =
        env.call("GET", &format!("/restapis/{id}/gatewayresponses/THROTTLED"), Value::Null).await;
    assert_eq!(
        (status, &throttled["statusCode"], &throttled["defaultResponse"]),
        (200, &json!("429"), &json!(true))
    );
    let (status, _) =
        env.call("DELETE", &format!("/restapis/{id}/gatewayresponses/THROTTLED"), Value::Null).await;
    assert_eq!(status, 404, "a default response has nothing to delete");
    let (status, _) = env.call("GET", &format!("/restapis/{id}/gatewayresponses/NOPE"), Value::Null).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_data_plane_validates_and_shapes_its_errors() {
    let env = Env::new();
    let id = validated_api(&env).await;
    let host = format!("{id}.execute-api.localhost:4566");
    let json_type = [("content-type", "application/json")];

    let (status, headers, body) =
        env.with_headers("POST", &host, "/dev/pets?owner=me", r#"{"name": 5}"#, &json_type).await;
    assert_eq!((status, body.as_str()), (400, r#"{"message":"Invalid request body"}"#));
    assert_eq!(headers["x-amzn-errortype"], "BadRequestException");
    let (status, _, body) = env
        .with_headers("POST", &host, "/dev/pets?owner=me", r#"{"name":"rex","tag":"toolong"}"#, &json_type)
        .await;
    assert_eq!((status, body.as_str()), (400, r#"{"message":"Invalid request body"}"#), "referenced model");
    let (status, _, body) =
        env.with_headers("POST", &host, "/dev/pets", r#"{"name":"rex"}"#, &json_type).await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"message":"Missing required request parameters: [owner]"}"#)
    );
    assert!(env.last_event().is_null(), "nothing reached the function");

    let (status, _, body) = env
        .with_headers("POST", &host, "/dev/pets?owner=me", r#"{"name":"rex","tag":"dog"}"#, &json_type)
        .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(env.last_event()["body"], r#"{"name":"rex","tag":"dog"}"#);

    let (status, headers, body) =
        env.with_headers("GET", &host, "/dev/nowhere", "", &[("x-in", "hello")]).await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-why"], "no such route");
    assert_eq!(headers["x-echo"], "hello");
    let body: Value = serde_json::from_str(&body).expect("json body");
    assert_eq!(body["error"], "Missing Authentication Token");
    assert_eq!(body["type"], "MISSING_AUTHENTICATION_TOKEN");
    assert!(body["id"].as_str().is_some_and(|i| !i.is_empty()));

    // DEFAULT_4XX stands in for types without their own customization, once deployed.
    env.call(
        "PUT",
        &format!("/restapis/{id}/gatewayresponses/DEFAULT_4XX"),
        json!({"responseParameters": {"gatewayresponse.header.access-control-allow-origin": "'*'"}}),
    )
    .await;
    let (_, headers, _) = env.with_headers("POST", &host, "/dev/pets", "{}", &json_type).await;
    assert!(!headers.contains_key("access-control-allow-origin"), "not deployed yet");
    env.call("POST", &format!("/restapis/{id}/deployments"), json!({"stageName": "dev"})).await;
    let (status, headers, body) = env.with_headers("POST", &host, "/dev/pets", "{}", &json_type).await;
    assert_eq!(status, 400);
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(body, r#"{"message":"Missing required request parameters: [owner]"}"#, "default body kept");
}

#[tokio::test]
async fn custom_domain_names_route_by_host_and_base_path() {
    let env = Env::new();
    let id = validated_api(&env).await;
    let (status, domain) = env
        .call("POST", "/domainnames", json!({"domainName": "API.Example.com", "certificateArn": "arn:aws:acm:us-east-1:000000000000:certificate/x"}))
        .await;
    assert_eq!(status, 201, "{domain}");
    assert_eq!(domain["domainName"], "api.example.com");
    assert_eq!(domain["distributionHostedZoneId"], "Z2FDTNDATAQYW2");
    let (status, _) = env.call("POST", "/domainnames", json!({"domainName": "api.example.com"})).await;
    assert_eq!(status, 409);
    let (status, mapping) = env
        .call(
            "POST",
            "/domainnames/api.example.com/basepathmappings",
            json!({"basePath": "v1", "restApiId": id, "stage": "dev"}),
        )
        .await;
    assert_eq!((status, &mapping["basePath"]), (201, &json!("v1")), "{mapping}");
    let (status, _) = env
        .call(
            "POST",
            "/domainnames/api.example.com/basepathmappings",
            json!({"basePath": "v1", "restApiId": id, "stage": "dev"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = env
        .call(
            "POST",
            "/domainnames/api.example.com/basepathmappings",
            json!({"restApiId": id, "stage": "nope"}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(env.svc.inner.domains.lock().expect("lock").contains_key("api.example.com"));
    assert!(protocol::AwsService::claims_host(&env.svc, "api.example.com"));
    assert!(!protocol::AwsService::claims_host(&env.svc, "other.example.com"));

    let json_type = [("content-type", "application/json")];
    let (status, _, body) = env
        .with_headers("POST", "api.example.com:4566", "/v1/pets?owner=me", r#"{"name":"rex"}"#, &json_type)
        .await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let event = env.last_event();
    assert_eq!(event["path"], "/pets");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert_eq!(event["requestContext"]["domainName"], "api.example.com");
    let (status, _, body) = env.raw("GET", "api.example.com", "/v2/pets", "").await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));

    // The HTTP API view of the same domain sees the mapping as an API mapping.
    let (status, mappings) =
        env.call("GET", "/v2/domainnames/api.example.com/apimappings", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(mappings["items"][0]["apiMappingKey"], "v1");
    let mapping_id = mappings["items"][0]["apiMappingId"].as_str().expect("mapping id").to_owned();
    let (status, updated) = env
        .call(
            "PATCH",
            &format!("/v2/domainnames/api.example.com/apimappings/{mapping_id}"),
            json!({"apiMappingKey": ""}),
        )
        .await;
    assert_eq!((status, &updated["apiMappingKey"]), (200, &json!("")));
    let (status, _, _) =
        env.with_headers("POST", "api.example.com", "/pets?owner=me", r#"{"name":"rex"}"#, &json_type).await;
    assert_eq!(status, 200, "the root mapping takes every path");
    let (_, listed) = env.call("GET", "/domainnames/api.example.com/basepathmappings", Value::Null).await;
    assert_eq!(listed["item"][0]["basePath"], "(none)");

    let (status, _) =
        env.call("DELETE", "/domainnames/api.example.com/basepathmappings/(none)", Value::Null).await;
    assert_eq!(status, 202);
    let (status, _) = env.call("DELETE", "/v2/domainnames/api.example.com", Value::Null).await;
    assert_eq!(status, 204);
    assert!(!protocol::AwsService::claims_host(&env.svc, "api.example.com"));
    let (status, _) = env.call("GET", "/domainnames/api.example.com", Value::Null).await;
    assert_eq!(status, 404);
}
