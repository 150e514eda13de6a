//! API Gateway models, request validators, gateway responses and custom domain names through
//! the official SDKs (`aws-sdk-apigateway`, `aws-sdk-apigatewayv2`), the data plane over plain
//! HTTP in front of a real Python function, and the same resources from a CloudFormation
//! template.

use aws_sdk_apigateway::types::{GatewayResponseType, IntegrationType};
use aws_sdk_cloudformation::types::StackStatus;
use serde_json::json;

use crate::apigateway::{PY_EVENT_ECHO, json_of, send};
use crate::harness::Server;
use crate::lambda::create_python;

const PET: &str = r#"{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "type": "object",
  "required": ["name"],
  "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}}
}"#;

/// Sends `body` to `url` with extra headers, the `Host` among them if given.
async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &'static str,
) -> (u16, reqwest::header::HeaderMap, String) {
    send(reqwest::Method::POST, url, headers, body).await
}

#[tokio::test]
async fn validated_methods_gateway_responses_and_custom_domains() {
    let server = Server::ephemeral();
    let lambda = server.lambda("test", "us-east-1").await;
    let function = create_python(&lambda, "apigw-models-echo", PY_EVENT_ECHO, &[]).await;
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations",
        function.function_arn().expect("arn")
    );
    let apigw = server.apigateway().await;
    let api = apigw.create_rest_api().name("pets").send().await.expect("create rest api");
    let api_id = api.id().expect("id");
    let root = api.root_resource_id().expect("root");

    let models = apigw.get_models().rest_api_id(api_id).send().await.expect("get models");
    let names: Vec<&str> = models.items().iter().filter_map(|m| m.name()).collect();
    assert_eq!(names, ["Empty", "Error"], "every REST API starts with these two");
    let bad = apigw
        .create_model()
        .rest_api_id(api_id)
        .name("Broken")
        .content_type("application/json")
        .schema("{not json")
        .send()
        .await
        .expect_err("an invalid schema is refused");
    let bad = bad.into_service_error();
    assert!(bad.is_bad_request_exception(), "{bad:?}");
    assert_eq!(
        bad.meta().message(),
        Some(
            "Invalid model specified: Validation Result: warnings : [], errors : [Invalid model schema specified]"
        )
    );
    let pet = apigw
        .create_model()
        .rest_api_id(api_id)
        .name("Pet")
        .content_type("application/json")
        .schema(PET)
        .send()
        .await
        .expect("create model");
    assert_eq!(pet.name(), Some("Pet"));
    let validator = apigw
        .create_request_validator()
        .rest_api_id(api_id)
        .name("body-and-params")
        .validate_request_body(true)
        .validate_request_parameters(true)
        .send()
        .await
        .expect("create validator");
    let validator_id = validator.id().expect("validator id");

    let pets = apigw.create_resource().rest_api_id(api_id).parent_id(root).path_part("pets").send().await;
    let pets = pets.expect("pets").id().expect("id").to_owned();
    let method = apigw
        .put_method()
        .rest_api_id(api_id)
        .resource_id(&pets)
        .http_method("POST")
        .authorization_type("NONE")
        .request_validator_id(validator_id)
        .request_parameters("method.request.querystring.owner", true)
        .request_models("application/json", "Pet")
        .send()
        .await
        .expect("put method");
    assert_eq!(method.request_validator_id(), Some(validator_id));
    apigw
        .put_integration()
        .rest_api_id(api_id)
        .resource_id(&pets)
        .http_method("POST")
        .r#type(IntegrationType::AwsProxy)
        .integration_http_method("POST")
        .uri(&uri)
        .send()
        .await
        .expect("put integration");
    let custom = apigw
        .put_gateway_response()
        .rest_api_id(api_id)
        .response_type(GatewayResponseType::MissingAuthenticationToken)
        .status_code("404")
        .response_parameters("gatewayresponse.header.x-nimbus-why", "'unknown route'")
        .response_templates(
            "application/json",
            r#"{"error": $context.error.messageString, "type": "$context.error.responseType"}"#,
        )
        .send()
        .await
        .expect("put gateway response");
    assert!(!custom.default_response());
    let responses = apigw.get_gateway_responses().rest_api_id(api_id).send().await.expect("list responses");
    assert_eq!(responses.items().len(), 21, "every response type is listed");
    assert!(responses.items().iter().any(|r| r.response_type() == Some(&GatewayResponseType::Throttled)
        && r.status_code() == Some("429")
        && r.default_response()));
    apigw.create_deployment().rest_api_id(api_id).stage_name("dev").send().await.expect("deploy");

    let url = server.execute_api(api_id, "/dev/pets?owner=ann");
    let json_type = ("content-type", "application/json");
    let (status, headers, body) = post(&url, &[json_type], r#"{"name": 7}"#).await;
    assert_eq!((status, body.as_str()), (400, r#"{"message":"Invalid request body"}"#));
    assert_eq!(headers["x-amzn-errortype"], "BadRequestException");
    let (status, _, body) = post(&url, &[json_type], r#"{"name": "rex", "age": -1}"#).await;
    assert_eq!((status, body.as_str()), (400, r#"{"message":"Invalid request body"}"#));
    let (status, _, body) =
        post(&server.execute_api(api_id, "/dev/pets"), &[json_type], r#"{"name":"rex"}"#).await;
    assert_eq!(
        (status, body.as_str()),
        (400, r#"{"message":"Missing required request parameters: [owner]"}"#)
    );
    let (status, _, body) = post(&url, &[json_type], r#"{"name": "rex", "age": 3}"#).await;
    assert_eq!(status, 200, "{body}");
    let event = json_of(&body);
    assert_eq!(event["body"], r#"{"name": "rex", "age": 3}"#);
    assert_eq!(event["queryStringParameters"], json!({"owner": "ann"}));

    let (status, headers, body) = post(&server.execute_api(api_id, "/dev/nowhere"), &[], "").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(headers["x-nimbus-why"], "unknown route");
    assert_eq!(
        json_of(&body),
        json!({"error": "Missing Authentication Token", "type": "MISSING_AUTHENTICATION_TOKEN"})
    );

    // A custom domain: the Host header picks it, the base path the API and stage.
    let domain = apigw
        .create_domain_name()
        .domain_name("pets.example.test")
        .certificate_arn("arn:aws:acm:us-east-1:000000000000:certificate/not-checked")
        .send()
        .await
        .expect("create domain name");
    assert!(domain.distribution_domain_name().is_some_and(|d| d.ends_with(".cloudfront.net")));
    apigw
        .create_base_path_mapping()
        .domain_name("pets.example.test")
        .base_path("api")
        .rest_api_id(api_id)
        .stage("dev")
        .send()
        .await
        .expect("base path mapping");
    let host = [("host", "pets.example.test"), json_type];
    let (status, _, body) =
        post(&format!("{}/api/pets?owner=bo", server.endpoint()), &host, r#"{"name":"fido"}"#).await;
    assert_eq!(status, 200, "{body}");
    let event = json_of(&body);
    assert_eq!(event["path"], "/pets");
    assert_eq!(event["requestContext"]["domainName"], "pets.example.test");
    let (status, _, body) = post(&format!("{}/other/pets", server.endpoint()), &host, "{}").await;
    assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));

    // The HTTP API model sees the same domain and mapping.
    let apigw2 = server.apigatewayv2().await;
    let mappings = apigw2.get_api_mappings().domain_name("pets.example.test").send().await.expect("mappings");
    assert_eq!(mappings.items().len(), 1);
    assert_eq!(mappings.items()[0].api_mapping_key(), Some("api"));
    assert_eq!(mappings.items()[0].api_id(), Some(api_id));
    apigw.delete_domain_name().domain_name("pets.example.test").send().await.expect("delete domain");
    let (status, _, _) = post(&format!("{}/api/pets?owner=bo", server.endpoint()), &host, "{}").await;
    assert_ne!(status, 200, "a deleted domain no longer routes");
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: cfn-models
  Thing:
    Type: AWS::ApiGateway::Resource
    Properties:
      RestApiId: !Ref Api
      ParentId: !GetAtt Api.RootResourceId
      PathPart: thing
  ThingModel:
    Type: AWS::ApiGateway::Model
    Properties:
      RestApiId: !Ref Api
      Name: Thing
      ContentType: application/json
      Schema:
        type: object
        required: [id]
        properties:
          id: {type: string}
  Validator:
    Type: AWS::ApiGateway::RequestValidator
    Properties:
      RestApiId: !Ref Api
      Name: bodies
      ValidateRequestBody: true
      ValidateRequestParameters: false
  PostThing:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Thing
      HttpMethod: POST
      AuthorizationType: NONE
      RequestValidatorId: !Ref Validator
      RequestModels:
        application/json: !Ref ThingModel
      Integration:
        Type: MOCK
        RequestTemplates:
          application/json: '{"statusCode": 200}'
        IntegrationResponses:
          - StatusCode: "200"
            ResponseTemplates:
              application/json: '{"mocked": true}'
  Teapot:
    Type: AWS::ApiGateway::GatewayResponse
    Properties:
      RestApiId: !Ref Api
      ResponseType: BAD_REQUEST_BODY
      StatusCode: "418"
      ResponseParameters:
        gatewayresponse.header.x-teapot: "'yes'"
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [PostThing, Teapot]
    Properties:
      RestApiId: !Ref Api
      StageName: live
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: things.example.test
      RegionalCertificateArn: arn:aws:acm:us-east-1:000000000000:certificate/x
      EndpointConfiguration:
        Types: [REGIONAL]
  Mapping:
    Type: AWS::ApiGateway::BasePathMapping
    DependsOn: [Deployment]
    Properties:
      DomainName: !Ref Domain
      RestApiId: !Ref Api
      Stage: live
  HttpApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: cfn-http
      ProtocolType: HTTP
  HttpStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref HttpApi
      StageName: $default
      AutoDeploy: true
  HttpDomain:
    Type: AWS::ApiGatewayV2::DomainName
    Properties:
      DomainName: http.example.test
      DomainNameConfigurations:
        - CertificateArn: arn:aws:acm:us-east-1:000000000000:certificate/y
          EndpointType: REGIONAL
  HttpMapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    DependsOn: [HttpStage]
    Properties:
      DomainName: !Ref HttpDomain
      ApiId: !Ref HttpApi
      Stage: $default
      ApiMappingKey: v2
Outputs:
  ApiId: {Value: !Ref Api}
  ValidatorId: {Value: !GetAtt Validator.RequestValidatorId}
  ModelName: {Value: !Ref ThingModel}
  Regional: {Value: !GetAtt Domain.RegionalDomainName}
  HttpRegional: {Value: !GetAtt HttpDomain.RegionalDomainName}
  MappingId: {Value: !GetAtt HttpMapping.ApiMappingId}
"#;

#[tokio::test]
async fn the_resources_deploy_from_a_cloudformation_template_and_delete() {
    let server = Server::ephemeral();
    let cfn = server.cloudformation().await;
    cfn.create_stack().stack_name("models").template_body(TEMPLATE).send().await.expect("create stack");
    let (status, reason) = crate::cloudformation::wait_for_status(&cfn, "models").await;
    assert_eq!(status, StackStatus::CreateComplete, "{reason:?}");
    let out = crate::cloudformation::outputs(&cfn, "models").await;
    assert_eq!(out["ModelName"], "Thing");
    assert!(
        out["Regional"].starts_with("d-")
            && out["Regional"].ends_with(".execute-api.us-east-1.amazonaws.com")
    );
    assert!(out["HttpRegional"].starts_with("d-"));
    assert!(!out["MappingId"].is_empty());
    let api_id = &out["ApiId"];
    let apigw = server.apigateway().await;
    let validator = apigw
        .get_request_validator()
        .rest_api_id(api_id)
        .request_validator_id(&out["ValidatorId"])
        .send()
        .await;
    assert!(validator.expect("validator").validate_request_body());

    let url = format!("{}/thing", server.endpoint());
    let host = [("host", "things.example.test"), ("content-type", "application/json")];
    let (status, headers, body) = post(&url, &host, r#"{"nope": 1}"#).await;
    assert_eq!(status, 418, "{body}");
    assert_eq!(headers["x-teapot"], "yes");
    assert_eq!(body, r#"{"message":"Invalid request body"}"#);
    let (status, _, body) = post(&url, &host, r#"{"id": "a"}"#).await;
    assert_eq!((status, body.as_str()), (200, r#"{"mocked": true}"#));

    let apigw2 = server.apigatewayv2().await;
    let mapping = apigw2.get_api_mappings().domain_name("http.example.test").send().await.expect("mappings");
    assert_eq!(mapping.items()[0].api_mapping_key(), Some("v2"));

    cfn.delete_stack().stack_name("models").send().await.expect("delete stack");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let stacks = cfn.list_stacks().send().await.expect("list stacks");
        let status = stacks
            .stack_summaries()
            .iter()
            .find(|s| s.stack_name() == Some("models"))
            .and_then(|s| s.stack_status().cloned());
        match status {
            Some(StackStatus::DeleteComplete) => break,
            Some(StackStatus::DeleteFailed) => panic!("stack deletion failed"),
            _ => {}
        }
        assert!(std::time::Instant::now() < deadline, "stack never deleted: {status:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let gone = apigw.get_domain_name().domain_name("things.example.test").send().await;
    assert!(gone.expect_err("deleted").into_service_error().is_not_found_exception());
    let gone = apigw2.get_domain_name().domain_name("http.example.test").send().await;
    assert!(gone.expect_err("deleted").into_service_error().is_not_found_exception());
}
