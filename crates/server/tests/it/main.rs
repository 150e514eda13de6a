//! End-to-end tests: a real `nimbus` process, driven through the official AWS SDK for Rust and
//! raw HTTP for what the SDKs never send (malformed requests).

mod apigateway;
mod apigateway_auth;
mod apigateway_models;
mod apigateway_vtl;
mod cloudformation;
mod console;
mod dynamodb;
mod esm;
mod events;
mod harness;
mod health;
mod iam;
mod image_pipeline;
mod lambda;
mod lambda_more;
mod lifecycle;
mod logs;
mod malformed;
mod protocols;
mod s3;
mod s3_versioning;
mod scheduler;
mod sigv4;
mod sns;
mod sqs;
mod sts;
mod traces;
