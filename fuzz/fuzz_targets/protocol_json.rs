//! awsJson / rest-json request bodies: `protocol::json::object` and `decode` never panic, and a
//! body `object` accepts decodes the same way when its required members are present.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let object = protocol::json::object(data);
    let decoded = protocol::json::decode::<serde_json::Map<String, serde_json::Value>>(data, &[]);
    assert_eq!(object.is_ok(), decoded.is_ok(), "object and decode disagree on {data:?}");
    let _ = protocol::json::decode::<std::collections::BTreeMap<String, String>>(data, &["Name", "Tags"]);
});
