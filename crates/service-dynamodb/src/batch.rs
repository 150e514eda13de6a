//! Multi-item operations: BatchGetItem and BatchWriteItem (independent reads and writes, with
//! DynamoDB's request limits and duplicate-key check), TransactGetItems (one snapshot, checked
//! by a batch of preconditions only) and TransactWriteItems (every condition checked, then every
//! write committed in one Kv batch pinned on everything read: all or nothing).

use std::collections::BTreeSet;

use dynamodb_expr::{Condition, Item, Projection, UpdateExpression, item_to_json};
use serde_json::{Map, Value, json};
use storage::Batch;

use crate::Env;
use crate::capacity::{self, Mode};
use crate::db::{Step, Table, pin_item, pin_table, write_ops};
use crate::error::{CONDITION_FAILED, Error};
use crate::items::{
    apply_update, check_condition, parse_item, placeholders, projection, return_old_on_failure, update_of,
    write_condition,
};
use crate::model;
use crate::operation::{BatchGetItem, BatchWriteItem, TransactAction, TransactGetItems, TransactWriteItems};

const MAX_BATCH_GET_KEYS: usize = 100;
const MAX_BATCH_WRITES: usize = 25;
const MAX_TRANSACT_ITEMS: usize = 100;
/// The most bytes of items one BatchGetItem answer carries; the rest is `UnprocessedKeys`.
const MAX_BATCH_GET_BYTES: usize = 16 * 1024 * 1024;

fn duplicates() -> Error {
    Error::validation("Provided list of item keys contains duplicates")
}

/// What one transaction write does to its item.
enum Change {
    Check,
    Put(Item),
    Delete,
    Update(UpdateExpression),
}

/// A transaction action, checked before anything is read.
struct Action {
    table: Table,
    key: Item,
    change: Change,
    condition: Option<Condition>,
    return_old: bool,
}

impl Env<'_> {
    pub fn batch_get(&self, input: BatchGetItem) -> Result<Value, Error> {
        let mode = Mode::parse(input.return_consumed_capacity.as_deref())?;
        if input.request_items.is_empty() {
            return Err(Error::validation(protocol::validation_message([(
                "requestItems",
                "{}",
                "Member must have length greater than or equal to 1",
            )])));
        }
        let total: usize = input.request_items.values().map(|r| r.keys.len()).sum();
        if total > MAX_BATCH_GET_KEYS {
            return Err(Error::validation("Too many items requested for the BatchGetItem call"));
        }
        let mut responses = Map::new();
        let mut unprocessed = Map::new();
        let mut capacities = Vec::new();
        let mut bytes = 0usize;
        for (name, request) in &input.request_items {
            let common = crate::operation::Common {
                expression_attribute_names: request.expression_attribute_names.clone(),
                ..Default::default()
            };
            let legacy: Vec<&str> =
                request.attributes_to_get.as_ref().map(|_| "AttributesToGet").into_iter().collect();
            let mut ph = placeholders(
                &common,
                &legacy,
                &[("ProjectionExpression", request.projection_expression.is_some())],
            )?;
            let projection: Option<Projection> = projection(
                &mut ph,
                request.projection_expression.as_deref(),
                request.attributes_to_get.as_deref(),
            )?;
            ph.finish()?;
            let table = self.table(name)?;
            let schema = table.record.keys.schema();
            let mut seen = BTreeSet::new();
            let mut found = Vec::new();
            let mut left = Vec::new();
            let mut units = 0.0;
            let consistent = request.consistent_read.unwrap_or(false);
            for key in &request.keys {
                let key_item = parse_item(key)?;
                schema.check_key(&key_item)?;
                if !seen.insert(model::item_key(&[], &table.record.keys, &key_item)) {
                    return Err(duplicates());
                }
                if bytes >= MAX_BATCH_GET_BYTES {
                    left.push(key.clone());
                    continue;
                }
                if let Some(stored) = self.load_item(&table, &key_item)? {
                    let size = dynamodb_expr::size::item_size(&stored.item);
                    bytes += size;
                    units += capacity::read_units(size, consistent);
                    let item = projection.as_ref().map_or(stored.item.clone(), |p| p.apply(&stored.item));
                    found.push(item_to_json(&item));
                }
            }
            if !left.is_empty() {
                let mut rest = json!({ "Keys": left });
                if let Some(p) = &request.projection_expression {
                    rest["ProjectionExpression"] = json!(p);
                }
                unprocessed.insert(name.clone(), rest);
            }
            responses.insert(name.clone(), Value::Array(found));
            if let Some(c) = self.consumed(mode, name, units, false, &[]) {
                capacities.push(c);
            }
        }
        let mut out = json!({ "Responses": responses, "UnprocessedKeys": unprocessed });
        if mode != Mode::None {
            out["ConsumedCapacity"] = Value::Array(capacities);
        }
        Ok(out)
    }

    pub fn batch_write(&self, input: BatchWriteItem) -> Result<Value, Error> {
        let mode = Mode::parse(input.return_consumed_capacity.as_deref())?;
        let total: usize = input.request_items.values().map(Vec::len).sum();
        if input.request_items.is_empty()
            || total > MAX_BATCH_WRITES
            || input.request_items.values().any(Vec::is_empty)
        {
            return Err(Error::validation(protocol::validation_message([(
                "requestItems",
                "{...}",
                "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            )])));
        }
        // Everything is checked before anything is written, as DynamoDB refuses a bad batch whole.
        let mut writes = Vec::new();
        for (name, requests) in &input.request_items {
            let table = self.table(name)?;
            let schema = table.record.keys.schema();
            let mut seen = BTreeSet::new();
            for request in requests {
                let (key, item) = match (&request.put_request, &request.delete_request) {
                    (Some(put), None) => {
                        let item = parse_item(&put.item)?;
                        schema.check_item(&item)?;
                        dynamodb_expr::size::check_item_size(&item, false)?;
                        (schema.key_of(&item).unwrap_or_default(), Some(item))
                    }
                    (None, Some(delete)) => {
                        let key = parse_item(&delete.key)?;
                        schema.check_key(&key)?;
                        (key, None)
                    }
                    _ => {
                        return Err(Error::validation(
                            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                        ));
                    }
                };
                if !seen.insert(model::item_key(&[], &table.record.keys, &key)) {
                    return Err(duplicates());
                }
                writes.push((name.clone(), key, item));
            }
        }
        let mut units: Vec<(String, f64)> = Vec::new();
        for (name, key, item) in writes {
            let written = self.write_one(&name, &key, None, false, |_, _| Ok(item.clone()))?;
            match units.iter_mut().find(|(n, _)| *n == name) {
                Some((_, u)) => *u += written.write_units(),
                None => units.push((name, written.write_units())),
            }
        }
        let mut out = json!({ "UnprocessedItems": {} });
        let c: Vec<Value> = units.iter().filter_map(|(n, u)| self.consumed(mode, n, *u, true, &[])).collect();
        if mode != Mode::None {
            out["ConsumedCapacity"] = Value::Array(c);
        }
        Ok(out)
    }

    pub fn transact_get(&self, input: TransactGetItems) -> Result<Value, Error> {
        let mode = Mode::parse(input.return_consumed_capacity.as_deref())?;
        check_count(input.transact_items.len())?;
        let mut gets = Vec::new();
        for entry in &input.transact_items {
            let Some(get) = &entry.get else {
                return Err(Error::validation(protocol::validation_message([(
                    "transactItems.member.get",
                    "null",
                    "Member must not be null",
                )])));
            };
            let mut ph = placeholders(
                &get.common,
                &[],
                &[("ProjectionExpression", get.projection_expression.is_some())],
            )?;
            let projection = projection(&mut ph, get.projection_expression.as_deref(), None)?;
            ph.finish()?;
            let table = self.table(&get.table_name)?;
            let key = parse_item(get.key.as_ref().unwrap_or(&Value::Null))?;
            table.record.keys.schema().check_key(&key)?;
            let store_key = model::item_key(&table.prefix, &table.record.keys, &key);
            gets.push((table.record.name.clone(), store_key, projection));
        }
        // Read everything, then let the store confirm in one atomic step that nothing changed.
        let responses = self.transact(|| {
            let mut batch = Batch::new();
            let mut responses = Vec::new();
            for (_, store_key, projection) in &gets {
                let stored = self.load_at(store_key)?;
                pin_item(&mut batch, store_key, stored.as_ref());
                responses.push(match stored {
                    Some(s) => json!({ "Item": item_to_json(&projection.as_ref().map_or(s.item.clone(), |p| p.apply(&s.item))) }),
                    None => json!({}),
                });
            }
            Ok(Step::Commit(batch, responses))
        })?;
        let mut out = json!({ "Responses": responses });
        let c: Vec<Value> =
            gets.iter().filter_map(|(n, _, _)| self.consumed(mode, n, 2.0, false, &[])).collect();
        if mode != Mode::None {
            out["ConsumedCapacity"] = Value::Array(c);
        }
        Ok(out)
    }

    fn transact_action(&self, action: &TransactAction, change: &str) -> Result<Action, Error> {
        let is_update = change == "Update";
        let mut ph = placeholders(
            &action.common,
            &[],
            &[
                ("UpdateExpression", action.update_expression.is_some()),
                ("ConditionExpression", action.condition_expression.is_some()),
            ],
        )?;
        let update = if is_update {
            if action.update_expression.is_none() {
                return Err(Error::validation(protocol::validation_message([(
                    "transactItems.member.update.updateExpression",
                    "null",
                    "Member must not be null",
                )])));
            }
            Some(update_of(&mut ph, action.update_expression.as_deref(), None)?)
        } else {
            None
        };
        let condition = write_condition(&mut ph, action.condition_expression.as_deref(), None, None)?;
        ph.finish()?;
        if change == "ConditionCheck" && condition.is_none() {
            return Err(Error::validation(protocol::validation_message([(
                "transactItems.member.conditionCheck.conditionExpression",
                "null",
                "Member must not be null",
            )])));
        }
        let return_old = return_old_on_failure(action.return_values_on_condition_check_failure.as_deref())?;
        let table = self.table(&action.table_name)?;
        let schema = table.record.keys.schema();
        let (key, change) = if change == "Put" {
            let item = parse_item(action.item.as_ref().unwrap_or(&Value::Null))?;
            schema.check_item(&item)?;
            dynamodb_expr::size::check_item_size(&item, false)?;
            (schema.key_of(&item).unwrap_or_default(), Change::Put(item))
        } else {
            let key = parse_item(action.key.as_ref().unwrap_or(&Value::Null))?;
            schema.check_key(&key)?;
            let change = match update {
                Some(u) => {
                    u.check_keys_untouched(schema.names())?;
                    Change::Update(u)
                }
                None if change == "Delete" => Change::Delete,
                None => Change::Check,
            };
            (key, change)
        };
        Ok(Action { table, key, change, condition, return_old })
    }

    pub fn transact_write(&self, input: TransactWriteItems) -> Result<Value, Error> {
        let mode = Mode::parse(input.return_consumed_capacity.as_deref())?;
        check_count(input.transact_items.len())?;
        if let Some(token) = &input.client_request_token
            && (token.is_empty() || token.len() > 36)
        {
            return Err(Error::validation(protocol::validation_message([(
                "clientRequestToken",
                token.as_str(),
                "Member must have length less than or equal to 36",
            )])));
        }
        let mut actions = Vec::new();
        let mut seen = BTreeSet::new();
        for entry in &input.transact_items {
            let parts = [
                ("ConditionCheck", &entry.condition_check),
                ("Put", &entry.put),
                ("Delete", &entry.delete),
                ("Update", &entry.update),
            ];
            let mut present = parts.iter().filter_map(|(n, a)| a.as_ref().map(|a| (*n, a)));
            let (Some((change, action)), None) = (present.next(), present.next()) else {
                return Err(Error::validation(
                    "TransactItems can only contain one of Check, Put, Update or Delete",
                ));
            };
            let action = self.transact_action(action, change)?;
            if !seen.insert((
                action.table.record.id.clone(),
                model::item_key(&[], &action.table.record.keys, &action.key),
            )) {
                return Err(Error::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
            actions.push(action);
        }
        // A token used within the last ten minutes with the same items replays: nothing is
        // written again. The token record commits in the transaction's own batch, so a crash
        // cannot separate the writes from the record of them.
        let token = input
            .client_request_token
            .as_deref()
            .map(|t| (model::token_key(self.scope, t), fingerprint(&input)));
        let (units, replayed) = self.transact(|| {
            let mut batch = Batch::new();
            if let Some((key, fingerprint)) = &token {
                let raw = self.kv.get(model::TOKENS, key)?;
                let live = raw
                    .as_deref()
                    .and_then(|r| serde_json::from_slice::<model::TokenRecord>(r).ok())
                    .filter(|r| self.now_nanos - r.done_nanos < TOKEN_WINDOW_NANOS);
                let condition = match &raw {
                    Some(r) => storage::Condition::Value(r.clone()),
                    None => storage::Condition::Absent,
                };
                batch.push(storage::Op::Expect {
                    table: model::TOKENS.to_owned(),
                    key: key.clone(),
                    condition,
                });
                match live {
                    Some(r) if r.fingerprint == *fingerprint => {
                        return Ok(Step::Done((replay_units(&actions), true)));
                    }
                    Some(_) => return Err(Error::IdempotentParameterMismatchException),
                    None => {
                        let record = model::TokenRecord {
                            fingerprint: fingerprint.clone(),
                            done_nanos: self.now_nanos,
                        };
                        batch = batch.put(
                            model::TOKENS,
                            key.clone(),
                            serde_json::to_vec(&record).unwrap_or_default(),
                        );
                    }
                }
            }
            let mut reasons = Vec::new();
            let mut failed = false;
            let mut units: Vec<(String, f64)> = Vec::new();
            let mut pinned = BTreeSet::new();
            for action in &actions {
                let table = self.table(&action.table.record.name)?;
                if table.record.id != action.table.record.id {
                    return Err(Error::table_not_found());
                }
                if pinned.insert(table.record.id.clone()) {
                    pin_table(&mut batch, self, &table);
                }
                let store_key = model::item_key(&table.prefix, &table.record.keys, &action.key);
                let old = self.load_at(&store_key)?;
                let old_item = old.as_ref().map(|s| &s.item);
                match check_condition(action.condition.as_ref(), old_item, action.return_old) {
                    Ok(()) => reasons.push(json!({ "Code": "None" })),
                    Err(Error::ConditionalCheckFailedException { item }) => {
                        failed = true;
                        let mut reason =
                            json!({ "Code": "ConditionalCheckFailed", "Message": CONDITION_FAILED });
                        if let Some(item) = item {
                            reason["Item"] = item;
                        }
                        reasons.push(reason);
                        continue;
                    }
                    Err(other) => return Err(other),
                }
                let new = match &action.change {
                    Change::Check => {
                        pin_item(&mut batch, &store_key, old.as_ref());
                        continue;
                    }
                    Change::Put(item) => Some(item.clone()),
                    Change::Delete => None,
                    Change::Update(update) => Some(apply_update(update, &action.key, old_item)?),
                };
                let size = |i: Option<&Item>| i.map_or(0, dynamodb_expr::size::item_size);
                // Transactional writes cost twice a standard write.
                let u = 2.0 * capacity::write_units(size(old_item).max(size(new.as_ref())));
                match units.iter_mut().find(|(n, _)| *n == table.record.name) {
                    Some((_, t)) => *t += u,
                    None => units.push((table.record.name.clone(), u)),
                }
                pin_item(&mut batch, &store_key, old.as_ref());
                write_ops(&mut batch, self, &table, &store_key, old_item, new.as_ref());
            }
            if failed {
                return Err(Error::TransactionCanceledException { reasons });
            }
            Ok(Step::Commit(batch, (units, false)))
        })?;
        let mut out = json!({});
        // A replay reads the items instead of writing them, and says so in its units.
        let write = !replayed;
        let c: Vec<Value> =
            units.iter().filter_map(|(n, u)| self.consumed(mode, n, *u, write, &[])).collect();
        if mode != Mode::None {
            out["ConsumedCapacity"] = Value::Array(c);
        }
        Ok(out)
    }
}

/// How long a ClientRequestToken keeps its transaction from running again.
const TOKEN_WINDOW_NANOS: i128 = 10 * 60 * 1_000_000_000;

/// What a token's repeat must match: the transaction's items (not its token or capacity mode).
fn fingerprint(input: &TransactWriteItems) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(format!("{:?}", input.transact_items).as_bytes()))
}

/// The read units a replay reports: a transactional read of each item (2 units per 4 KB item;
/// the items are not read again, so their size is not known here and each counts once).
fn replay_units(actions: &[Action]) -> Vec<(String, f64)> {
    let mut units: Vec<(String, f64)> = Vec::new();
    for a in actions {
        let name = &a.table.record.name;
        match units.iter_mut().find(|(n, _)| n == name) {
            Some((_, u)) => *u += 2.0,
            None => units.push((name.clone(), 2.0)),
        }
    }
    units
}

fn check_count(n: usize) -> Result<(), Error> {
    if n == 0 || n > MAX_TRANSACT_ITEMS {
        let constraint = if n == 0 {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 100"
        };
        return Err(Error::validation(protocol::validation_message([(
            "transactItems",
            "[...]",
            constraint,
        )])));
    }
    Ok(())
}
