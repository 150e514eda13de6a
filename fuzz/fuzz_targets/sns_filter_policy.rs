//! SNS subscription filter policies: the input is a policy, a message body and attributes
//! (`name=Type=value` lines), NUL-separated. Both scopes parse and match without panicking.
#![no_main]

use event_pattern::{AttributeValue, FilterPolicy, FilterScope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split('\0');
    let policy = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or("{}");
    let attributes: Vec<(&str, AttributeValue<'_>)> = parts
        .next()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once('=')?;
            let (kind, value) = rest.split_once('=')?;
            Some((name, AttributeValue::typed(kind, value)))
        })
        .collect();
    for scope in [FilterScope::MessageAttributes, FilterScope::MessageBody] {
        if let Ok(p) = FilterPolicy::parse(policy, scope) {
            let _ = p.matches(body, &attributes);
        }
    }
});
