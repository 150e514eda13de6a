//! Query and Scan: one range scan over the table's items or an index's entries, paged as
//! DynamoDB pages. A page ends at `Limit` evaluated items or once 1 MB of items was read; the
//! filter runs on that page afterwards (so `Count` ≤ `ScannedCount`, and a page may come back
//! empty with a `LastEvaluatedKey`), then the projection or `Select` shapes what is returned.
//!
//! A key condition becomes key bounds thanks to `keycode`'s order-preserving encoding: the
//! partition's prefix, narrowed by the sort-key condition, narrowed by `ExclusiveStartKey`.

use std::collections::BTreeMap;
use std::ops::Bound;

use dynamodb_expr::legacy::{self, LegacyCondition};
use dynamodb_expr::{
    Comparator, Condition, ExpressionKind, Item, Placeholders, Projection, SortCondition, item_to_json,
};
use serde_json::{Map, Value, json};
use storage::KeyRange;

use crate::Env;
use crate::capacity::{self, Mode};
use crate::db::Table;
use crate::error::Error;
use crate::items::{parse_item, parse_legacy, parse_operator, placeholders, projection};
use crate::keycode::{encode_prefix, encode_value};
use crate::model::{self, INDEX, ITEMS, IndexRecord, KeyDefs};
use crate::operation::{Query, Read, Scan};

/// The most item bytes one page reads.
pub const PAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Select {
    All,
    AllProjected,
    Specific,
    Count,
}

/// Everything a Query or Scan decided before touching items.
struct Plan {
    table: Table,
    index: Option<(IndexRecord, bool)>,
    range: KeyRange,
    limit: usize,
    filter: Option<Condition>,
    projection: Option<Projection>,
    select: Select,
    segment: Option<(u64, u64)>,
    consistent: bool,
    mode: Mode,
}

impl Plan {
    /// The key attributes of the table, then of the index: what `LastEvaluatedKey` holds.
    fn key_defs(&self) -> Vec<&KeyDefs> {
        let mut defs = vec![&self.table.record.keys];
        if let Some((index, _)) = &self.index {
            defs.push(&index.keys);
        }
        defs
    }

    /// The store key `ExclusiveStartKey` stands for.
    fn start_key(&self, base: &[u8], start: &Item) -> Result<Vec<u8>, Error> {
        let invalid = || {
            Error::validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            )
        };
        let table_keys = &self.table.record.keys;
        let mut key = base.to_vec();
        if let Some((index, _)) = &self.index
            && !model::append_key(&mut key, &index.keys, start)
        {
            return Err(invalid());
        }
        if !model::append_key(&mut key, table_keys, start) {
            return Err(invalid());
        }
        let expected: usize =
            self.key_defs().iter().flat_map(|d| d.names()).collect::<std::collections::BTreeSet<_>>().len();
        if start.len() != expected {
            return Err(invalid());
        }
        Ok(key)
    }
}

fn parse_select(value: Option<&str>) -> Result<Option<Select>, Error> {
    Ok(Some(match value {
        None => return Ok(None),
        Some("ALL_ATTRIBUTES") => Select::All,
        Some("ALL_PROJECTED_ATTRIBUTES") => Select::AllProjected,
        Some("SPECIFIC_ATTRIBUTES") => Select::Specific,
        Some("COUNT") => Select::Count,
        Some(other) => {
            return Err(Error::validation(protocol::validation_message([(
                "select",
                other,
                "Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]",
            )])));
        }
    }))
}

/// The bounds of one partition narrowed by a sort-key condition.
fn sort_range(partition: Vec<u8>, sort: Option<&SortCondition>) -> KeyRange {
    let all = KeyRange::prefix(partition.clone());
    let enc = |v| {
        let mut k = partition.clone();
        encode_value(&mut k, v);
        k
    };
    // The first key past every key that starts with `enc(v)`.
    let past = |v| KeyRange::prefix(enc(v)).end;
    let starting_past = |v| match past(v) {
        Bound::Excluded(k) => Bound::Included(k),
        _ => Bound::Excluded(vec![0xff; 8]),
    };
    match sort {
        None | Some(SortCondition::Compare(Comparator::Ne, _)) => all,
        Some(SortCondition::Compare(Comparator::Eq, v)) => KeyRange::prefix(enc(v)),
        Some(SortCondition::Compare(Comparator::Lt, v)) => KeyRange::new(all.start, Bound::Excluded(enc(v))),
        Some(SortCondition::Compare(Comparator::Le, v)) => KeyRange::new(all.start, past(v)),
        Some(SortCondition::Compare(Comparator::Gt, v)) => KeyRange::new(starting_past(v), all.end),
        Some(SortCondition::Compare(Comparator::Ge, v)) => KeyRange::new(Bound::Included(enc(v)), all.end),
        Some(SortCondition::Between(low, high)) => KeyRange::new(Bound::Included(enc(low)), past(high)),
        Some(SortCondition::BeginsWith(p)) => {
            let mut k = partition.clone();
            encode_prefix(&mut k, p);
            KeyRange::prefix(k)
        }
    }
}

/// FNV-1a, a stable hash that spreads partitions over parallel-scan segments.
fn segment_of(item: &Item, keys: &KeyDefs, total: u64) -> u64 {
    let mut bytes = Vec::new();
    if let Some(v) = item.get(&keys.partition.name) {
        encode_value(&mut bytes, v);
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % total
}

impl Env<'_> {
    /// The checks Query and Scan share, up to a plan without a key range.
    fn plan(
        &self,
        read: &Read,
        ph: &mut Placeholders,
        legacy_filter: Option<(&Value, &str)>,
        key_schema_check: impl FnOnce(&mut Placeholders, &KeyDefs) -> Result<(), Error>,
    ) -> Result<(Plan, Vec<u8>), Error> {
        let mode = Mode::parse(read.common.return_consumed_capacity.as_deref())?;
        let select = parse_select(read.select.as_deref())?;
        if let Some(limit) = read.limit
            && limit < 1
        {
            return Err(Error::validation(protocol::validation_message([(
                "limit",
                limit.to_string().as_str(),
                "Member must have value greater than or equal to 1",
            )])));
        }
        let table = self.table(&read.table_name)?;
        let index = match &read.index_name {
            Some(name) => Some(table.record.index(name).map(|(i, g)| (i.clone(), g)).ok_or_else(|| {
                Error::validation(format!("The table does not have the specified index: {name}"))
            })?),
            None => None,
        };
        let consistent = read.consistent_read.unwrap_or(false);
        if consistent && index.as_ref().is_some_and(|(_, global)| *global) {
            return Err(Error::validation("Consistent reads are not supported on global secondary indexes"));
        }
        let keys = index.as_ref().map_or(&table.record.keys, |(i, _)| &i.keys).clone();
        key_schema_check(ph, &keys)?;
        let filter = match (read.filter_expression.as_deref(), legacy_filter) {
            (Some(text), _) => Some(ph.condition(ExpressionKind::Filter, text)?),
            (None, Some((json, _))) => {
                let conditions: BTreeMap<String, LegacyCondition> = parse_legacy(json)?;
                legacy::filter(&conditions, parse_operator(read.conditional_operator.as_ref())?)?
            }
            (None, None) => None,
        };
        let projection =
            projection(ph, read.projection_expression.as_deref(), read.attributes_to_get.as_deref())?;
        ph.finish()?;
        let select = match (select, &projection) {
            (None, Some(_)) => Select::Specific,
            (None, None) if index.is_some() => Select::AllProjected,
            (None, None) => Select::All,
            (Some(s), Some(_)) if s != Select::Specific => {
                let member = if read.projection_expression.is_some() {
                    "ProjectionExpression"
                } else {
                    "AttributesToGet"
                };
                let name = read.select.as_deref().unwrap_or_default();
                return Err(Error::validation(format!(
                    "Cannot specify the {member} when choosing to get {name}"
                )));
            }
            (Some(Select::Specific), None) => {
                return Err(Error::validation(
                    "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
                ));
            }
            (Some(s), _) => s,
        };
        if select == Select::AllProjected && index.is_none() {
            return Err(Error::validation(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            ));
        }
        if let (Select::All, Some((i, true))) = (select, &index)
            && i.projection != "ALL"
        {
            return Err(Error::validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                i.name
            )));
        }
        let base = match &index {
            Some((i, _)) => model::index_prefix(self.scope, &table.record.id, &i.name),
            None => table.prefix.clone(),
        };
        let plan = Plan {
            table,
            index,
            range: KeyRange::all(),
            limit: read.limit.map_or(usize::MAX, |l| l as usize),
            filter,
            projection,
            select,
            segment: None,
            consistent,
            mode,
        };
        Ok((plan, base))
    }

    pub fn query(&self, input: Query) -> Result<Value, Error> {
        let read = &input.read;
        let mut legacy_present = Vec::new();
        for (name, present) in [
            ("AttributesToGet", read.attributes_to_get.is_some()),
            ("KeyConditions", input.key_conditions.is_some()),
            ("QueryFilter", input.query_filter.is_some()),
        ] {
            if present {
                legacy_present.push(name);
            }
        }
        let mut ph = placeholders(
            &read.common,
            &legacy_present,
            &[
                ("ProjectionExpression", read.projection_expression.is_some()),
                ("FilterExpression", read.filter_expression.is_some()),
                ("KeyConditionExpression", input.key_condition_expression.is_some()),
            ],
        )?;
        let mut key_condition = None;
        let (mut plan, base) = self.plan(read, &mut ph, input.query_filter.as_ref().map(|f| (f, "QueryFilter")), |ph, keys| {
            let schema = keys.schema();
            key_condition = Some(match (&input.key_condition_expression, &input.key_conditions) {
                (Some(text), _) => ph.key_condition(text, &schema)?,
                (None, Some(json)) => {
                    let conditions: BTreeMap<String, LegacyCondition> = parse_legacy(json)?;
                    legacy::key_conditions(&conditions, &schema)?
                }
                (None, None) => {
                    return Err(Error::validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request."));
                }
            });
            Ok(())
        })?;
        let Some(key_condition) = key_condition else {
            return Err(Error::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        };
        let mut partition = base.clone();
        encode_value(&mut partition, &key_condition.partition.1);
        plan.range = sort_range(partition, key_condition.sort.as_ref().map(|(_, c)| c));
        if !input.scan_index_forward.unwrap_or(true) {
            plan.range = plan.range.rev();
        }
        if let Some(start) = &read.exclusive_start_key {
            let start = parse_item(start)?;
            let key = plan.start_key(&base, &start)?;
            if plan.range.reverse {
                plan.range.end = Bound::Excluded(key);
            } else {
                plan.range.start = Bound::Excluded(key);
            }
        }
        self.run(&plan)
    }

    pub fn scan(&self, input: Scan) -> Result<Value, Error> {
        let read = &input.read;
        let mut legacy_present = Vec::new();
        for (name, present) in [
            ("AttributesToGet", read.attributes_to_get.is_some()),
            ("ScanFilter", input.scan_filter.is_some()),
        ] {
            if present {
                legacy_present.push(name);
            }
        }
        let segment = match (input.segment, input.total_segments) {
            (None, None) => None,
            (Some(s), Some(t)) => {
                if !(1..=1_000_000).contains(&t) {
                    return Err(Error::validation(protocol::validation_message([(
                        "totalSegments",
                        t.to_string().as_str(),
                        "Member must have value less than or equal to 1000000",
                    )])));
                }
                if s < 0 || s >= t {
                    return Err(Error::validation(format!(
                        "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is out of bounds for TotalSegments: {t}"
                    )));
                }
                Some((s as u64, t as u64))
            }
            (Some(_), None) => {
                return Err(Error::validation(
                    "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::validation(
                    "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
                ));
            }
        };
        let mut ph = placeholders(
            &read.common,
            &legacy_present,
            &[
                ("ProjectionExpression", read.projection_expression.is_some()),
                ("FilterExpression", read.filter_expression.is_some()),
            ],
        )?;
        let (mut plan, base) =
            self.plan(read, &mut ph, input.scan_filter.as_ref().map(|f| (f, "ScanFilter")), |_, _| Ok(()))?;
        plan.segment = segment;
        plan.range = KeyRange::prefix(base.clone());
        if let Some(start) = &read.exclusive_start_key {
            let start = parse_item(start)?;
            plan.range.start = Bound::Excluded(plan.start_key(&base, &start)?);
        }
        self.run(&plan)
    }

    /// Reads one page of the plan and renders the answer.
    fn run(&self, plan: &Plan) -> Result<Value, Error> {
        let kv_table = if plan.index.is_some() { INDEX } else { ITEMS };
        let chunk = plan.limit.min(256);
        let (mut scanned, mut bytes, mut count) = (0usize, 0usize, 0usize);
        let mut items = Vec::new();
        let mut last: Option<Item> = None;
        let mut stopped = false;
        let fetch_full =
            plan.select == Select::All && plan.index.as_ref().is_some_and(|(i, _)| i.projection != "ALL");
        self.for_each(kv_table, plan.range.clone(), chunk, |_, raw| {
            let mut item = model::decode_item(raw)?;
            if let Some((segment, total)) = plan.segment
                && segment_of(&item, &plan.table.record.keys, total) != segment
            {
                return Ok(true);
            }
            if fetch_full {
                let key = model::item_key(&plan.table.prefix, &plan.table.record.keys, &item);
                if let Some(stored) = self.load_at(&key)? {
                    item = stored.item;
                }
            }
            scanned += 1;
            bytes += dynamodb_expr::size::item_size(&item);
            let mut key = Item::new();
            for defs in plan.key_defs() {
                model::key_attributes(defs, &item, &mut key);
            }
            last = Some(key);
            if plan.filter.as_ref().is_none_or(|f| f.evaluate(&item)) {
                count += 1;
                if plan.select != Select::Count {
                    let shaped = match &plan.projection {
                        Some(p) => p.apply(&item),
                        None => item,
                    };
                    items.push(item_to_json(&shaped));
                }
            }
            if scanned >= plan.limit || bytes >= PAGE_BYTES {
                stopped = true;
                return Ok(false);
            }
            Ok(true)
        })?;
        let mut out = Map::new();
        if plan.select != Select::Count {
            out.insert("Items".into(), Value::Array(items));
        }
        out.insert("Count".into(), json!(count));
        out.insert("ScannedCount".into(), json!(scanned));
        if stopped && let Some(key) = last {
            out.insert("LastEvaluatedKey".into(), item_to_json(&key));
        }
        let units = capacity::read_units(bytes, plan.consistent);
        let indexes: Vec<(String, bool, f64)> =
            plan.index.iter().map(|(i, global)| (i.name.clone(), *global, units)).collect();
        let table_units = if plan.index.is_some() { 0.0 } else { units };
        if let Some(c) = self.consumed(plan.mode, &plan.table.record.name, table_units, false, &indexes) {
            out.insert("ConsumedCapacity".into(), c);
        }
        Ok(Value::Object(out))
    }
}
