//! EventBridge patterns: the input is a pattern and an event, split at the first NUL byte.
//! `Pattern::parse` never panics; for a valid pattern, one rule's `Pattern::matches` and the
//! bus-wide `Matcher` agree on every event.
#![no_main]

use event_pattern::{Matcher, Pattern};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pattern, event) = text.split_once('\0').unwrap_or((text, "{}"));
    let Ok(parsed) = Pattern::parse(pattern) else { return };
    let _ = parsed.uses_wildcard();
    let single = parsed.matches(event);
    let matcher = Matcher::with_rules([(1u8, parsed)]);
    let machine = matcher.matches(event);
    if let (Ok(single), Ok(machine)) = (&single, &machine) {
        assert_eq!(*single, machine.contains(&&1), "Pattern and Matcher disagree on {pattern} / {event}");
    }
    assert_eq!(single.is_ok(), machine.is_ok(), "one of Pattern and Matcher refused the event {event}");
});
