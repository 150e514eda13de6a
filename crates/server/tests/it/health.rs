//! The health endpoints.

use crate::harness::Server;

#[tokio::test]
async fn health_lists_services_on_both_paths() {
    let server = Server::ephemeral();
    for path in ["/_nimbus/health", "/_localstack/health"] {
        let resp = server.http().get(format!("{}{path}", server.endpoint())).send().await.expect("get");
        assert_eq!(resp.status(), 200);
        let v: serde_json::Value = serde_json::from_str(&resp.text().await.expect("body")).expect("json");
        assert_eq!(v["services"]["iam"], "running");
        assert_eq!(v["services"]["sts"], "running");
        let services = [
            "dynamodb",
            "lambda",
            "events",
            "logs",
            "sqs",
            "sns",
            "apigateway",
            "s3",
            "cloudformation",
            "scheduler",
        ];
        for service in services {
            assert_eq!(v["services"][service], "running", "{service}");
        }
        // Every service Nimbus routes to is served now (one it did not would be `disabled`).
        let listed = v["services"].as_object().expect("a map of services");
        assert!(listed.values().all(|s| s == "running"), "{listed:?}");
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    }
}
