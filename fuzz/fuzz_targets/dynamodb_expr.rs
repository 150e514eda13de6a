//! DynamoDB expressions: the input is `kind byte, expression, names JSON, values JSON, item JSON`,
//! NUL-separated. Placeholders are read and checked, the expression parsed and resolved, then
//! evaluated (conditions, key conditions), applied (updates) or projected against the item.
#![no_main]

use dynamodb_expr::{ExpressionKind, KeyAttribute, KeySchema, Placeholders, ScalarType, item_from_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let mut parts = text.split('\0');
    let expression = parts.next().unwrap_or_default();
    let json = |s: Option<&str>| s.filter(|s| !s.is_empty()).and_then(|s| serde_json::from_str(s).ok());
    let names: Option<serde_json::Value> = json(parts.next());
    let values: Option<serde_json::Value> = json(parts.next());
    let item =
        json(parts.next()).and_then(|v: serde_json::Value| item_from_json(&v).ok()).unwrap_or_default();
    let Ok(mut placeholders) = Placeholders::from_json(names.as_ref(), values.as_ref()) else { return };
    match kind % 5 {
        0 | 1 => {
            let kind = if kind % 5 == 0 { ExpressionKind::Condition } else { ExpressionKind::Filter };
            if let Ok(condition) = placeholders.condition(kind, expression) {
                let _ = condition.evaluate(&item);
            }
        }
        2 => {
            let schema = KeySchema::new(
                KeyAttribute::new("pk", ScalarType::S),
                Some(KeyAttribute::new("sk", ScalarType::N)),
            );
            if let Ok(key) = placeholders.key_condition(expression, &schema) {
                let _ = key.matches(&item);
            }
        }
        3 => {
            if let Ok(update) = placeholders.update(expression) {
                let _ = update.check_keys_untouched(["pk", "sk"].into_iter());
                if let Ok(outcome) = update.apply(&item) {
                    let _ = dynamodb_expr::size::item_size(&outcome.item);
                    let _ = outcome.updated_attributes();
                    let _ = outcome.updated_old(&item);
                    let _ = outcome.updated_new();
                }
            }
        }
        _ => {
            if let Ok(projection) = placeholders.projection(expression) {
                let _ = projection.apply(&item);
            }
        }
    }
    let _ = placeholders.finish();
});
