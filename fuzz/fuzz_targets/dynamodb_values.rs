//! DynamoDB JSON values and numbers, as every item-carrying request sends them. Properties:
//! an accepted item survives `item_to_json` → `item_from_json` unchanged; an accepted number
//! prints back to the same number, and `n - n == 0`, `n + 0 == n`, `-(-n) == n`.
#![no_main]

use dynamodb_expr::{Number, item_from_json, item_to_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(n) = Number::parse(text) {
        let printed = n.to_string();
        assert_eq!(Number::parse(&printed).ok().as_ref(), Some(&n), "{text} printed as {printed}");
        assert!(n.checked_sub(&n).is_ok_and(|z| z.is_zero()), "{text} - itself");
        assert_eq!(n.checked_add(&Number::zero()).ok().as_ref(), Some(&n), "{text} + 0");
        assert_eq!(n.negated().negated(), n, "--{text}");
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(text) else { return };
    let Ok(item) = item_from_json(&json) else { return };
    let _ = dynamodb_expr::size::item_size(&item);
    let back = item_from_json(&item_to_json(&item));
    assert!(back.as_ref().is_ok_and(|b| *b == item), "item does not round-trip: {text}");
});
