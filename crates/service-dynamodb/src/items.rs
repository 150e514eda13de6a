//! Single-item operations: PutItem, GetItem, UpdateItem, DeleteItem, with their conditions
//! (expressions or the legacy `Expected`), `ReturnValues`, `ReturnValuesOnConditionCheckFailure`
//! and consumed capacity. The request checks shared with batches and transactions live here
//! too: expressions with their placeholders, key checks, `ReturnValues` choices.

use std::collections::BTreeMap;

use dynamodb_expr::legacy::{self, AttributeValueUpdate, ConditionalOperator, ExpectedAttributeValue};
use dynamodb_expr::{
    Condition, ExpressionKind, Item, Placeholders, Projection, UpdateExpression, item_to_json,
};
use serde_json::{Map, Value};
use storage::Batch;

use crate::Env;
use crate::capacity::{self, Mode};
use crate::db::{Step, Table, pin_item, pin_table, write_ops};
use crate::error::Error;
use crate::model;
use crate::operation::{Common, Conditional, DeleteItem, GetItem, PutItem, UpdateItem};

/// Reads an item or key member in DynamoDB JSON.
pub fn parse_item(json: &Value) -> Result<Item, Error> {
    Ok(dynamodb_expr::item_from_json(json)?)
}

/// A legacy map parameter (`Expected`, `AttributeUpdates`, `QueryFilter`, ...) in its typed form.
pub fn parse_legacy<T: serde::de::DeserializeOwned>(json: &Value) -> Result<BTreeMap<String, T>, Error> {
    serde_json::from_value(json.clone()).map_err(|e| Error::SerializationException(e.to_string()))
}

pub fn parse_operator(json: Option<&Value>) -> Result<Option<ConditionalOperator>, Error> {
    json.map(|v| {
        serde_json::from_value(v.clone()).map_err(|_| {
            Error::validation(protocol::validation_message([(
                "conditionalOperator",
                v.as_str().unwrap_or_default(),
                "Member must satisfy enum value set: [AND, OR]",
            )]))
        })
    })
    .transpose()
}

/// `ReturnValues` checked against the model's enum and the operation's subset.
pub fn return_values<'a>(value: Option<&'a str>, allowed: &[&str]) -> Result<&'a str, Error> {
    let value = value.unwrap_or("NONE");
    if !["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"].contains(&value) {
        return Err(Error::validation(protocol::validation_message([(
            "returnValues",
            value,
            "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
        )])));
    }
    if !allowed.contains(&value) {
        return Err(Error::validation("Return values set to invalid value"));
    }
    Ok(value)
}

/// `ReturnValuesOnConditionCheckFailure`: whether to return the old item.
pub fn return_old_on_failure(value: Option<&str>) -> Result<bool, Error> {
    match value {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(Error::validation(protocol::validation_message([(
            "returnValuesOnConditionCheckFailure",
            other,
            "Member must satisfy enum value set: [ALL_OLD, NONE]",
        )]))),
    }
}

/// A write's condition from a ConditionExpression or the legacy Expected.
pub fn write_condition(
    placeholders: &mut Placeholders,
    expression: Option<&str>,
    expected: Option<&Value>,
    operator: Option<&Value>,
) -> Result<Option<Condition>, Error> {
    if let Some(text) = expression {
        return Ok(Some(placeholders.condition(ExpressionKind::Condition, text)?));
    }
    let Some(expected) = expected else {
        if operator.is_some() {
            return Err(Error::validation(
                "ConditionalOperator can only be used when Filter or Expected has two or more elements",
            ));
        }
        return Ok(None);
    };
    let expected: BTreeMap<String, ExpectedAttributeValue> = parse_legacy(expected)?;
    Ok(legacy::expected(&expected, parse_operator(operator)?)?)
}

/// The placeholders of a request, after the checks that do not need its expressions parsed.
pub fn placeholders(
    common: &Common,
    legacy_present: &[&str],
    expressions: &[(&str, bool)],
) -> Result<Placeholders, Error> {
    let used: Vec<&str> = expressions.iter().filter(|(_, p)| *p).map(|(n, _)| *n).collect();
    legacy::check_not_mixed(legacy_present, &used)?;
    legacy::check_placeholders_need_expressions(
        common.expression_attribute_names.is_some(),
        common.expression_attribute_values.is_some(),
        expressions,
    )?;
    Ok(Placeholders::from_json(
        common.expression_attribute_names.as_ref(),
        common.expression_attribute_values.as_ref(),
    )?)
}

/// A read's projection from a ProjectionExpression or the legacy AttributesToGet.
pub fn projection(
    placeholders: &mut Placeholders,
    expression: Option<&str>,
    attributes_to_get: Option<&[String]>,
) -> Result<Option<Projection>, Error> {
    match (expression, attributes_to_get) {
        (Some(text), _) => Ok(Some(placeholders.projection(text)?)),
        (None, Some(names)) => Ok(Some(legacy::attributes_to_get(names)?)),
        (None, None) => Ok(None),
    }
}

/// Fails a write whose condition does not hold on `old` (an absent item is the empty item).
pub fn check_condition(
    condition: Option<&Condition>,
    old: Option<&Item>,
    return_old: bool,
) -> Result<(), Error> {
    let Some(condition) = condition else { return Ok(()) };
    let empty = Item::new();
    if condition.evaluate(old.unwrap_or(&empty)) {
        return Ok(());
    }
    Err(Error::ConditionalCheckFailedException { item: old.filter(|_| return_old).map(item_to_json) })
}

/// What a single-item write did.
pub struct Written {
    pub table: Table,
    pub old: Option<Item>,
    pub new: Option<Item>,
}

impl Written {
    pub fn write_units(&self) -> f64 {
        let size = |i: &Option<Item>| i.as_ref().map_or(0, dynamodb_expr::size::item_size);
        capacity::write_units(size(&self.old).max(size(&self.new)))
    }

    /// The units charged to each index the write touched, for `INDEXES`.
    pub fn index_units(&self) -> Vec<(String, bool, f64)> {
        let record = &self.table.record;
        let in_index = |keys: &model::KeyDefs, item: &Option<Item>| {
            item.as_ref().is_some_and(|i| model::append_key(&mut Vec::new(), keys, i))
        };
        record
            .gsis
            .iter()
            .map(|i| (i, true))
            .chain(record.lsis.iter().map(|i| (i, false)))
            .filter(|(i, _)| in_index(&i.keys, &self.old) || in_index(&i.keys, &self.new))
            .map(|(i, global)| (i.name.clone(), global, self.write_units()))
            .collect()
    }

    fn capacity(&self, env: &Env<'_>, mode: Mode) -> Option<Value> {
        env.consumed(mode, &self.table.record.name, self.write_units(), true, &self.index_units())
    }
}

/// What a single-item write request asked for, checked before the table is read.
struct WritePlan {
    mode: Mode,
    condition: Option<Condition>,
    return_old: bool,
    return_values: String,
}

impl WritePlan {
    /// Checks the members in DynamoDB's order: mixed styles, placeholders, the update (for
    /// UpdateItem), the condition, unused placeholders, then the return choices.
    fn parse(
        write: &Conditional,
        allowed: &[&str],
        update: Option<(Option<&str>, Option<&Value>)>,
    ) -> Result<(WritePlan, Option<UpdateExpression>), Error> {
        let mode = Mode::parse(write.common.return_consumed_capacity.as_deref())?;
        let mut legacy_present = Vec::new();
        let mut expressions = Vec::new();
        if let Some((expression, attribute_updates)) = update {
            if attribute_updates.is_some() {
                legacy_present.push("AttributeUpdates");
            }
            expressions.push(("UpdateExpression", expression.is_some()));
        }
        if write.expected.is_some() {
            legacy_present.push("Expected");
        }
        expressions.push(("ConditionExpression", write.condition_expression.is_some()));
        let mut ph = placeholders(&write.common, &legacy_present, &expressions)?;
        let update = update.map(|(e, a)| update_of(&mut ph, e, a)).transpose()?;
        let condition = write_condition(
            &mut ph,
            write.condition_expression.as_deref(),
            write.expected.as_ref(),
            write.conditional_operator.as_ref(),
        )?;
        ph.finish()?;
        let return_values = return_values(write.return_values.as_deref(), allowed)?.to_owned();
        let return_old = return_old_on_failure(write.return_values_on_condition_check_failure.as_deref())?;
        Ok((WritePlan { mode, condition, return_old, return_values }, update))
    }

    /// The answer: `Attributes` when asked for and not empty, `ConsumedCapacity` when asked for.
    fn answer(&self, env: &Env<'_>, written: &Written, attributes: Option<Item>) -> Value {
        let mut out = Map::new();
        if self.return_values != "NONE"
            && let Some(attributes) = attributes.filter(|a| !a.is_empty())
        {
            out.insert("Attributes".into(), item_to_json(&attributes));
        }
        if let Some(c) = written.capacity(env, self.mode) {
            out.insert("ConsumedCapacity".into(), c);
        }
        Value::Object(out)
    }
}

impl Env<'_> {
    /// The one read-check-write of an item: loads the table and the item at `key`, checks the
    /// condition, lets `make` compute the new item (`None`: delete), commits pinned on both.
    pub fn write_one(
        &self,
        table_name: &str,
        key: &Item,
        condition: Option<&Condition>,
        return_old: bool,
        make: impl Fn(&Table, Option<&Item>) -> Result<Option<Item>, Error>,
    ) -> Result<Written, Error> {
        self.transact(|| {
            let table = self.table(table_name)?;
            let store_key = model::item_key(&table.prefix, &table.record.keys, key);
            let old = self.load_at(&store_key)?;
            let old_item = old.as_ref().map(|s| &s.item);
            check_condition(condition, old_item, return_old)?;
            let new = make(&table, old_item)?;
            let written = Written { table: table.clone(), old: old_item.cloned(), new: new.clone() };
            if old.is_none() && new.is_none() {
                return Ok(Step::Done(written));
            }
            let mut batch = Batch::new();
            pin_table(&mut batch, self, &table);
            pin_item(&mut batch, &store_key, old.as_ref());
            write_ops(&mut batch, self, &table, &store_key, old_item, new.as_ref());
            Ok(Step::Commit(batch, written))
        })
    }

    pub fn put_item(&self, input: PutItem) -> Result<Value, Error> {
        let (plan, _) = WritePlan::parse(&input.write, &["NONE", "ALL_OLD"], None)?;
        let item = parse_item(&input.item)?;
        let table = self.table(&input.table_name)?;
        let schema = table.record.keys.schema();
        schema.check_item(&item)?;
        dynamodb_expr::size::check_item_size(&item, false)?;
        let key = schema.key_of(&item).unwrap_or_default();
        let written =
            self.write_one(&input.table_name, &key, plan.condition.as_ref(), plan.return_old, |_, _| {
                Ok(Some(item.clone()))
            })?;
        Ok(plan.answer(self, &written, written.old.clone()))
    }

    pub fn delete_item(&self, input: DeleteItem) -> Result<Value, Error> {
        let (plan, _) = WritePlan::parse(&input.write, &["NONE", "ALL_OLD"], None)?;
        let key = parse_item(&input.key)?;
        let table = self.table(&input.table_name)?;
        table.record.keys.schema().check_key(&key)?;
        let written =
            self.write_one(&input.table_name, &key, plan.condition.as_ref(), plan.return_old, |_, _| {
                Ok(None)
            })?;
        Ok(plan.answer(self, &written, written.old.clone()))
    }

    pub fn update_item(&self, input: UpdateItem) -> Result<Value, Error> {
        let all = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"];
        let (plan, update) = WritePlan::parse(
            &input.write,
            &all,
            Some((input.update_expression.as_deref(), input.attribute_updates.as_ref())),
        )?;
        let update = update.unwrap_or_default();
        let key = parse_item(&input.key)?;
        let table = self.table(&input.table_name)?;
        let schema = table.record.keys.schema();
        schema.check_key(&key)?;
        update.check_keys_untouched(schema.names())?;
        let written =
            self.write_one(&input.table_name, &key, plan.condition.as_ref(), plan.return_old, |_, old| {
                apply_update(&update, &key, old).map(Some)
            })?;
        let attributes = match plan.return_values.as_str() {
            "ALL_OLD" => written.old.clone(),
            "ALL_NEW" => written.new.clone(),
            "UPDATED_OLD" | "UPDATED_NEW" => {
                let base = written.old.clone().unwrap_or_else(|| key.clone());
                let outcome = update.apply(&base)?;
                if plan.return_values == "UPDATED_NEW" {
                    Some(outcome.updated_new())
                } else {
                    written.old.as_ref().map(|old| outcome.updated_old(old))
                }
            }
            _ => None,
        };
        Ok(plan.answer(self, &written, attributes))
    }

    pub fn get_item(&self, input: GetItem) -> Result<Value, Error> {
        let mode = Mode::parse(input.common.return_consumed_capacity.as_deref())?;
        let legacy_present: Vec<&str> =
            input.attributes_to_get.as_ref().map(|_| "AttributesToGet").into_iter().collect();
        let mut ph = placeholders(
            &input.common,
            &legacy_present,
            &[("ProjectionExpression", input.projection_expression.is_some())],
        )?;
        let projection =
            projection(&mut ph, input.projection_expression.as_deref(), input.attributes_to_get.as_deref())?;
        ph.finish()?;
        let key = parse_item(&input.key)?;
        let table = self.table(&input.table_name)?;
        table.record.keys.schema().check_key(&key)?;
        let stored = self.load_item(&table, &key)?;
        let consistent = input.consistent_read.unwrap_or(false);
        let size = stored.as_ref().map_or(0, |s| dynamodb_expr::size::item_size(&s.item));
        let mut out = Map::new();
        if let Some(stored) = stored {
            let item = match &projection {
                Some(p) => p.apply(&stored.item),
                None => stored.item,
            };
            out.insert("Item".into(), item_to_json(&item));
        }
        if let Some(c) =
            self.consumed(mode, &table.record.name, capacity::read_units(size, consistent), false, &[])
        {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }
}

/// An update from an UpdateExpression or the legacy AttributeUpdates (none: an empty update,
/// which still creates the item with its key).
pub fn update_of(
    placeholders: &mut Placeholders,
    expression: Option<&str>,
    attribute_updates: Option<&Value>,
) -> Result<UpdateExpression, Error> {
    match (expression, attribute_updates) {
        (Some(text), _) => Ok(placeholders.update(text)?),
        (None, Some(updates)) => {
            let updates: BTreeMap<String, AttributeValueUpdate> = parse_legacy(updates)?;
            Ok(legacy::attribute_updates(&updates)?)
        }
        (None, None) => Ok(UpdateExpression::default()),
    }
}

/// The item after an update: applied to the old item, or to the key for an upsert.
pub fn apply_update(update: &UpdateExpression, key: &Item, old: Option<&Item>) -> Result<Item, Error> {
    let base = old.cloned().unwrap_or_else(|| key.clone());
    let outcome = update.apply(&base)?;
    dynamodb_expr::size::check_item_size(&outcome.item, true)?;
    Ok(outcome.item)
}
