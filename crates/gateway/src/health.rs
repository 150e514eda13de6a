//! `GET /_nimbus/health` (and `/_localstack/health`, which existing tooling polls): each known
//! service's state and the version, in LocalStack's shape so wait-for-ready scripts work.

use serde_json::{Map, Value, json};

use crate::route::SERVICES;

/// The health document. Registered services are `running`; known but unimplemented ones are
/// `disabled`, as LocalStack reports services it does not start.
pub fn document(registered: &dyn Fn(&str) -> bool, version: &str) -> Value {
    let services: Map<String, Value> = SERVICES
        .iter()
        .map(|s| {
            let state = if registered(s.name) { "running" } else { "disabled" };
            (s.name.to_owned(), Value::from(state))
        })
        .collect();
    json!({ "services": services, "edition": "nimbus", "version": version })
}
