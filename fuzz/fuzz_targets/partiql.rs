//! PartiQL statements: the input is `statement, parameters JSON`, NUL-separated. The statement is
//! parsed with its parameters bound, and its conditions and updates rendered back as DynamoDB
//! expressions, which are then parsed as the item operations would parse them.
#![no_main]

use dynamodb_expr::partiql::{self, Rendering, Statement};
use dynamodb_expr::{AttributeValue, ExpressionKind, Placeholders};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.split('\0');
    let statement = parts.next().unwrap_or_default();
    let parameters: Vec<AttributeValue> = parts
        .next()
        .and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(s).ok())
        .map(|list| list.iter().filter_map(|v| AttributeValue::from_json(v).ok()).collect())
        .unwrap_or_default();
    let Ok(statement) = partiql::parse(statement, &parameters) else { return };
    let mut r = Rendering::default();
    let (condition, update) = match &statement {
        Statement::Select(s) | Statement::Exists(s) => (s.filter.as_ref().map(|f| f.render(&mut r)), None),
        Statement::Insert(_) => (None, None),
        Statement::Update(u) => (Some(u.filter.render(&mut r)), Some(partiql::render_actions(&u.actions, &mut r))),
        Statement::Delete(d) => (Some(d.filter.render(&mut r)), None),
    };
    let names = serde_json::to_value(r.names()).ok();
    let values: serde_json::Map<String, serde_json::Value> =
        r.values().iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    let values = (!values.is_empty()).then_some(serde_json::Value::Object(values));
    let names = names.filter(|n| n.as_object().is_some_and(|m| !m.is_empty()));
    let Ok(mut placeholders) = Placeholders::from_json(names.as_ref(), values.as_ref()) else { return };
    if let Some(condition) = condition {
        let _ = placeholders.condition(ExpressionKind::Condition, &condition);
    }
    if let Some(update) = update {
        let _ = placeholders.update(&update);
    }
});
