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
        assert_eq!(v["services"]["dynamodb"], "disabled");
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    }
}
