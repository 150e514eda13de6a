//! The table control plane: CreateTable (with DynamoDB's key schema, attribute definition,
//! billing and index validation), DescribeTable, ListTables, UpdateTable (billing, streams, GSI
//! create with backfill and delete), DeleteTable, tags, time to live, limits and endpoints.
//!
//! Tables are ready as soon as they are written: CreateTable answers `CREATING` as DynamoDB
//! does, every later read says `ACTIVE`, so SDK waiters pass on their first poll.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde_json::{Value, json};
use storage::{Batch, KeyRange, Op};

use crate::db::{Step, Table, check_table_name, pin_table};
use crate::error::Error;
use crate::model::{
    self, INDEX, ITEMS, IndexRecord, KeyDef, KeyDefs, StreamSpec, TABLES, TableRecord, Throughput,
};
use crate::operation::{
    AttributeDefinition, CreateTable, IndexInput, KeySchemaElement, ListTables, ProvisionedThroughput,
    StreamSpecification, TagResource, UntagResource, UpdateTable, UpdateTimeToLive,
};
use crate::streams::STREAM;
use crate::{Env, render};

const MAX_LSIS: usize = 5;
const MAX_GSIS: usize = 20;
const MAX_TAGS: usize = 50;

fn invalid(message: impl std::fmt::Display) -> Error {
    Error::validation(format!("One or more parameter values were invalid: {message}"))
}

fn enum_check(member: &str, value: &str, allowed: &[&str]) -> Result<(), Error> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let constraint = format!("Member must satisfy enum value set: [{}]", allowed.join(", "));
    Err(Error::validation(protocol::validation_message([(member, value, constraint.as_str())])))
}

/// A key schema checked against the attribute definitions.
fn key_defs(
    elements: &[KeySchemaElement],
    defs: &[AttributeDefinition],
    index: Option<&str>,
) -> Result<KeyDefs, Error> {
    if elements.is_empty() || elements.len() > 2 {
        let constraint = if elements.is_empty() {
            "Member must have length greater than or equal to 1"
        } else {
            "Member must have length less than or equal to 2"
        };
        return Err(Error::validation(protocol::validation_message([("keySchema", "[...]", constraint)])));
    }
    for e in elements {
        enum_check("keySchema.member.keyType", &e.key_type, &["HASH", "RANGE"])?;
    }
    if elements[0].key_type != "HASH" {
        return Err(Error::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if let Some(second) = elements.get(1) {
        if second.key_type != "RANGE" {
            return Err(Error::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
        if second.attribute_name == elements[0].attribute_name {
            return Err(Error::validation(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
    }
    let def = |e: &KeySchemaElement| -> Result<KeyDef, Error> {
        match defs.iter().find(|d| d.attribute_name == e.attribute_name) {
            Some(d) => Ok(KeyDef { name: d.attribute_name.clone(), kind: d.attribute_type.clone() }),
            None if index.is_none() => {
                Err(Error::validation("Invalid KeySchema: Some index key attribute have no definition"))
            }
            None => Err(invalid(format!(
                "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                elements.iter().map(|e| e.attribute_name.as_str()).collect::<Vec<_>>().join(", "),
                defs.iter().map(|d| d.attribute_name.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    };
    Ok(KeyDefs { partition: def(&elements[0])?, sort: elements.get(1).map(def).transpose()? })
}

fn throughput(pt: Option<&ProvisionedThroughput>) -> Result<Option<Throughput>, Error> {
    let Some(pt) = pt else { return Ok(None) };
    match (pt.read_capacity_units, pt.write_capacity_units) {
        (Some(read), Some(write)) => {
            for (member, v) in [
                ("provisionedThroughput.readCapacityUnits", read),
                ("provisionedThroughput.writeCapacityUnits", write),
            ] {
                if v < 1 {
                    return Err(Error::validation(protocol::validation_message([(
                        member,
                        v.to_string().as_str(),
                        "Member must have value greater than or equal to 1",
                    )])));
                }
            }
            Ok(Some(Throughput { read, write }))
        }
        _ => Err(invalid(
            "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
        )),
    }
}

fn index_record(
    input: &IndexInput,
    defs: &[AttributeDefinition],
    provisioned: bool,
    global: bool,
) -> Result<IndexRecord, Error> {
    check_table_name(&input.index_name, "indexName")?;
    let keys = key_defs(&input.key_schema, defs, Some(&input.index_name))?;
    let projection = input.projection.projection_type.clone().unwrap_or_else(|| "ALL".to_owned());
    enum_check("projection.projectionType", &projection, &["ALL", "KEYS_ONLY", "INCLUDE"])?;
    let non_key = input.projection.non_key_attributes.clone();
    match (projection.as_str(), &non_key) {
        ("INCLUDE", None) => {
            return Err(invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified"));
        }
        ("ALL" | "KEYS_ONLY", Some(_)) => {
            return Err(invalid(format!(
                "ProjectionType is {projection}, but NonKeyAttributes is specified"
            )));
        }
        _ => {}
    }
    let throughput = if global {
        match (provisioned, input.provisioned_throughput.as_ref()) {
            (true, None) => {
                return Err(invalid(format!(
                    "ProvisionedThroughput must be specified for index: {}",
                    input.index_name
                )));
            }
            (true, pt) => throughput(pt)?,
            (false, Some(_)) => {
                return Err(invalid(format!(
                    "ProvisionedThroughput should not be specified for index: {} when BillingMode is PAY_PER_REQUEST",
                    input.index_name
                )));
            }
            (false, None) => None,
        }
    } else {
        None
    };
    Ok(IndexRecord {
        name: input.index_name.clone(),
        keys,
        projection,
        non_key: non_key.unwrap_or_default(),
        throughput,
    })
}

fn stream_spec(spec: &StreamSpecification, label: Option<String>) -> Result<StreamSpec, Error> {
    if let Some(view) = &spec.stream_view_type {
        enum_check(
            "streamSpecification.streamViewType",
            view,
            &["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"],
        )?;
    } else if spec.stream_enabled {
        return Err(invalid("You must specify a StreamViewType when enabling a stream"));
    }
    Ok(StreamSpec { enabled: spec.stream_enabled, view_type: spec.stream_view_type.clone(), label })
}

fn stream_label(now: f64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos((now * 1e9) as i128)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
    );
    t.format(&f).unwrap_or_default()
}

fn check_tags(tags: &[crate::operation::Tag]) -> Result<(), Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::validation("The number of tags exceeds the limit of 50"));
    }
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > 128 {
            return Err(Error::validation(protocol::validation_message([(
                "tags.member.key",
                t.key.as_str(),
                "Member must have length between 1 and 128",
            )])));
        }
    }
    Ok(())
}

fn merge_tags(existing: &mut Vec<model::Tag>, tags: Vec<crate::operation::Tag>) {
    for t in tags {
        match existing.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value,
            None => existing.push(model::Tag { key: t.key, value: t.value }),
        }
    }
}

impl Env<'_> {
    pub fn create_table(&self, input: CreateTable) -> Result<Value, Error> {
        check_table_name(&input.table_name, "tableName")?;
        for d in &input.attribute_definitions {
            enum_check("attributeDefinitions.member.attributeType", &d.attribute_type, &["S", "N", "B"])?;
        }
        let billing_mode = input.billing_mode.clone().unwrap_or_else(|| "PROVISIONED".to_owned());
        enum_check("billingMode", &billing_mode, &["PROVISIONED", "PAY_PER_REQUEST"])?;
        let defs = &input.attribute_definitions;
        let mut seen = BTreeSet::new();
        if let Some(dup) = defs.iter().find(|d| !seen.insert(d.attribute_name.as_str())) {
            return Err(invalid(format!(
                "Duplicate AttributeName in AttributeDefinitions: {}",
                dup.attribute_name
            )));
        }
        let keys = key_defs(&input.key_schema, defs, None)?;
        let provisioned = billing_mode == "PROVISIONED";
        let table_throughput = match (provisioned, input.provisioned_throughput.as_ref()) {
            (true, None) => {
                return Err(Error::validation("No provisioned throughput specified for the table"));
            }
            (true, pt) => throughput(pt)?,
            (false, Some(_)) => {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            (false, None) => None,
        };
        let lsi_inputs = input.local_secondary_indexes.as_deref().unwrap_or_default();
        let gsi_inputs = input.global_secondary_indexes.as_deref().unwrap_or_default();
        if input.local_secondary_indexes.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid("List of LocalSecondaryIndexes is empty"));
        }
        if input.global_secondary_indexes.as_ref().is_some_and(Vec::is_empty) {
            return Err(invalid("List of GlobalSecondaryIndexes is empty"));
        }
        if lsi_inputs.len() > MAX_LSIS {
            return Err(invalid(format!(
                "Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSIS}"
            )));
        }
        if gsi_inputs.len() > MAX_GSIS {
            return Err(Error::LimitExceededException(format!(
                "Subscriber limit exceeded: The number of global secondary indexes exceeds the limit of {MAX_GSIS}"
            )));
        }
        let mut lsis = Vec::new();
        for i in lsi_inputs {
            let index = index_record(i, defs, provisioned, false)?;
            if keys.sort.is_none() {
                return Err(invalid(
                    "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
                ));
            }
            if index.keys.partition.name != keys.partition.name {
                return Err(invalid(format!(
                    "Index KeySchema does not have the same leading hash key as table KeySchema for index: {}. index hash key: {}, table hash key: {}",
                    index.name, index.keys.partition.name, keys.partition.name
                )));
            }
            if index.keys.sort.is_none() {
                return Err(invalid(format!(
                    "Index KeySchema does not have a range key for index: {}",
                    index.name
                )));
            }
            lsis.push(index);
        }
        let mut gsis = Vec::new();
        for i in gsi_inputs {
            gsis.push(index_record(i, defs, provisioned, true)?);
        }
        let mut names = BTreeSet::new();
        if let Some(dup) = lsis.iter().chain(&gsis).find(|i| !names.insert(i.name.as_str())) {
            return Err(invalid(format!("Duplicate index name: {}", dup.name)));
        }
        let used: BTreeSet<&str> =
            keys.names().chain(lsis.iter().chain(&gsis).flat_map(|i| i.keys.names())).collect();
        if defs.len() != used.len() {
            let all = defs.iter().map(|d| d.attribute_name.as_str()).collect::<Vec<_>>().join(", ");
            return Err(if lsis.is_empty() && gsis.is_empty() {
                invalid(
                    "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
                )
            } else {
                invalid(format!(
                    "Some AttributeDefinitions are not used. AttributeDefinitions: [{all}], keys used: [{}]",
                    used.into_iter().collect::<Vec<_>>().join(", ")
                ))
            });
        }
        let stream = input
            .stream_specification
            .as_ref()
            .map(|s| stream_spec(s, s.stream_enabled.then(|| stream_label(self.now))))
            .transpose()?;
        if let Some(class) = &input.table_class {
            enum_check("tableClass", class, &["STANDARD", "STANDARD_INFREQUENT_ACCESS"])?;
        }
        let tags = input.tags.unwrap_or_default();
        check_tags(&tags)?;
        let record = TableRecord {
            v: model::SCHEMA_VERSION,
            name: input.table_name.clone(),
            id: uuid::Uuid::new_v4().to_string(),
            created: self.now,
            keys,
            attributes: defs
                .iter()
                .map(|d| KeyDef { name: d.attribute_name.clone(), kind: d.attribute_type.clone() })
                .collect(),
            billing_mode,
            throughput: table_throughput,
            lsis,
            gsis,
            stream,
            table_class: input.table_class,
            deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
            tags: tags.into_iter().map(|t| model::Tag { key: t.key, value: t.value }).collect(),
            ttl: None,
        };
        let key = model::table_key(self.scope, &record.name);
        if !self.kv.insert_new(TABLES, &key, &model::encode_table(&record))? {
            return Err(Error::ResourceInUseException(format!("Table already exists: {}", record.name)));
        }
        let description = render::table(self.scope, &record, "CREATING", (0, 0), Some("CREATING"));
        Ok(json!({ "TableDescription": description }))
    }

    /// ItemCount and TableSizeBytes of a table (DynamoDB refreshes them every few hours; here
    /// they are exact, read when asked).
    fn table_stats(&self, table: &Table) -> Result<(u64, u64), Error> {
        let (mut count, mut size) = (0u64, 0u64);
        self.for_each(ITEMS, KeyRange::prefix(table.prefix.clone()), 1024, |_, raw| {
            count += 1;
            size += dynamodb_expr::size::item_size(&model::decode_item(raw)?) as u64;
            Ok(true)
        })?;
        Ok((count, size))
    }

    pub fn describe_table(&self, name: &str) -> Result<Value, Error> {
        let table = self.table(name)?;
        let stats = self.table_stats(&table)?;
        Ok(json!({ "Table": render::table(self.scope, &table.record, "ACTIVE", stats, None) }))
    }

    pub fn list_tables(&self, input: &ListTables) -> Result<Value, Error> {
        let limit = input.limit.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            let constraint = if limit < 1 {
                "Member must have value greater than or equal to 1"
            } else {
                "Member must have value less than or equal to 100"
            };
            return Err(Error::validation(protocol::validation_message([(
                "limit",
                limit.to_string().as_str(),
                constraint,
            )])));
        }
        let prefix = model::scope_prefix(self.scope);
        let mut range = KeyRange::prefix(prefix.clone());
        if let Some(start) = &input.exclusive_start_table_name {
            check_table_name(start, "exclusiveStartTableName")?;
            range.start = Bound::Excluded(model::table_key(self.scope, start));
        }
        let limit = limit as usize;
        let entries = self.kv.scan(TABLES, range, limit + 1)?;
        let names: Vec<String> = entries
            .iter()
            .take(limit)
            .map(|(k, _)| String::from_utf8_lossy(&k[prefix.len()..]).into_owned())
            .collect();
        let mut out = json!({ "TableNames": names });
        if entries.len() > limit
            && let Some(last) = names.last()
        {
            out["LastEvaluatedTableName"] = json!(last);
        }
        Ok(out)
    }

    pub fn delete_table(&self, name: &str) -> Result<Value, Error> {
        let table = self.table(name)?;
        if table.record.deletion_protection {
            return Err(Error::validation(
                "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.",
            ));
        }
        let stats = self.table_stats(&table)?;
        let batch = Batch::new()
            .expect_value(TABLES, model::table_key(self.scope, name), table.raw.clone())
            .delete(TABLES, model::table_key(self.scope, name));
        match self.kv.commit(batch) {
            Ok(()) => {}
            Err(storage::CommitError::ConditionFailed { .. }) => {
                return Err(Error::ResourceInUseException(format!(
                    "Attempt to change a resource which is still in use: Table is being updated: {name}"
                )));
            }
            Err(storage::CommitError::Storage(e)) => return Err(e.into()),
        }
        // The items belong to a table id nothing refers to any more; removing them now keeps
        // the store small, and a crash halfway leaves only unreachable keys.
        self.purge(ITEMS, table.prefix.clone())?;
        self.purge(INDEX, table.prefix.clone())?;
        // Its streams go with it (DynamoDB keeps a deleted table's stream readable for a day).
        let mut streams = model::table_key(self.scope, name);
        streams.push(b'/');
        self.purge(STREAM, streams)?;
        let description = render::table(self.scope, &table.record, "DELETING", stats, None);
        Ok(json!({ "TableDescription": description }))
    }

    fn purge(&self, kv_table: &str, prefix: Vec<u8>) -> Result<(), Error> {
        loop {
            let entries = self.kv.scan(kv_table, KeyRange::prefix(prefix.clone()), 1000)?;
            if entries.is_empty() {
                return Ok(());
            }
            let mut batch = Batch::new();
            for (k, _) in entries {
                batch.push(Op::Delete { table: kv_table.to_owned(), key: k });
            }
            self.kv.commit(batch).map_err(|e| match e {
                storage::CommitError::Storage(e) => Error::InternalServerError(e),
                storage::CommitError::ConditionFailed { .. } => Error::TransactionConflictException,
            })?;
        }
    }

    /// Writes a changed table record, pinned on the one read.
    fn save_table(&self, table: &Table, record: &TableRecord) -> Result<(), Error> {
        let mut batch = Batch::new();
        pin_table(&mut batch, self, table);
        batch.push(Op::Put {
            table: TABLES.to_owned(),
            key: model::table_key(self.scope, &record.name),
            value: model::encode_table(record),
        });
        self.transact(|| Ok(Step::Commit(batch.clone(), ()))).map_err(|e| match e {
            Error::TransactionConflictException => Error::ResourceInUseException(format!(
                "Attempt to change a resource which is still in use: Table is being updated: {}",
                record.name
            )),
            other => other,
        })
    }

    pub fn update_table(&self, input: UpdateTable) -> Result<Value, Error> {
        let table = self.table(&input.table_name)?;
        let mut record = table.record.clone();
        let mut created_index = None;
        let mut replaced_stream = None;
        if let Some(mode) = &input.billing_mode {
            enum_check("billingMode", mode, &["PROVISIONED", "PAY_PER_REQUEST"])?;
            record.billing_mode = mode.clone();
            if mode == "PAY_PER_REQUEST" {
                record.throughput = None;
            }
        }
        if let Some(pt) = &input.provisioned_throughput {
            if record.billing_mode == "PAY_PER_REQUEST" {
                return Err(invalid(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            record.throughput = throughput(Some(pt))?;
        }
        if record.billing_mode == "PROVISIONED" && record.throughput.is_none() {
            return Err(invalid("ProvisionedThroughput must be specified when BillingMode is PROVISIONED"));
        }
        let mut defs: Vec<AttributeDefinition> = record
            .attributes
            .iter()
            .map(|d| AttributeDefinition { attribute_name: d.name.clone(), attribute_type: d.kind.clone() })
            .collect();
        for d in input.attribute_definitions.iter().flatten() {
            enum_check("attributeDefinitions.member.attributeType", &d.attribute_type, &["S", "N", "B"])?;
            match defs.iter_mut().find(|e| e.attribute_name == d.attribute_name) {
                Some(e) if e.attribute_type != d.attribute_type => {
                    return Err(invalid(format!(
                        "Cannot change the type of attribute {} which is used in a key",
                        d.attribute_name
                    )));
                }
                Some(_) => {}
                None => defs.push(d.clone()),
            }
        }
        for update in input.global_secondary_index_updates.into_iter().flatten() {
            if let Some(create) = update.create {
                if record.index(&create.index_name).is_some() {
                    return Err(invalid(format!(
                        "Attempting to create an index which already exists: {}",
                        create.index_name
                    )));
                }
                if record.gsis.len() >= MAX_GSIS {
                    return Err(Error::LimitExceededException(format!(
                        "Subscriber limit exceeded: The number of global secondary indexes exceeds the limit of {MAX_GSIS}"
                    )));
                }
                let index = index_record(&create, &defs, record.billing_mode == "PROVISIONED", true)?;
                created_index = Some(index.name.clone());
                record.gsis.push(index);
            } else if let Some(delete) = update.delete {
                let before = record.gsis.len();
                record.gsis.retain(|i| i.name != delete.index_name);
                if before == record.gsis.len() {
                    return Err(Error::ResourceNotFoundException(format!(
                        "Requested resource not found: Index: {} not found for table: {}",
                        delete.index_name, record.name
                    )));
                }
                self.purge(INDEX, model::index_prefix(self.scope, &record.id, &delete.index_name))?;
            } else if let Some(change) = update.update {
                let Some(index) = record.gsis.iter_mut().find(|i| i.name == change.index_name) else {
                    return Err(Error::ResourceNotFoundException(format!(
                        "Requested resource not found: Index: {} not found for table: {}",
                        change.index_name, record.name
                    )));
                };
                index.throughput = throughput(change.provisioned_throughput.as_ref())?;
            }
        }
        // Keep only the definitions some key still uses, as DynamoDB does.
        let used: BTreeSet<String> = record
            .keys
            .names()
            .chain(record.indexes().flat_map(|i| i.keys.names()))
            .map(str::to_owned)
            .collect();
        record.attributes = defs
            .into_iter()
            .filter(|d| used.contains(&d.attribute_name))
            .map(|d| KeyDef { name: d.attribute_name, kind: d.attribute_type })
            .collect();
        if let Some(spec) = &input.stream_specification {
            let currently = record.stream.as_ref().is_some_and(|s| s.enabled);
            if spec.stream_enabled && currently {
                return Err(Error::validation(format!(
                    "Table already has an enabled stream: {}",
                    table.record.arn(self.scope)
                )));
            }
            if !spec.stream_enabled && !currently {
                return Err(Error::validation("Table already has no stream: nothing to disable"));
            }
            let old = record.stream.clone();
            let label = if spec.stream_enabled {
                // Only the latest stream is kept: the records of the one it replaces go.
                replaced_stream = old.as_ref().and_then(|s| s.label.clone());
                let mut label = stream_label(self.now);
                // A new stream within the old one's millisecond still needs its own ARN.
                if replaced_stream.as_ref() == Some(&label) {
                    label = stream_label(self.now + 0.001);
                }
                Some(label)
            } else {
                old.as_ref().and_then(|s| s.label.clone())
            };
            let mut stream = stream_spec(spec, label)?;
            if !spec.stream_enabled {
                // A disabled stream stays readable with the view type it was written with.
                stream.view_type = old.and_then(|s| s.view_type);
            }
            record.stream = Some(stream);
        }
        if let Some(class) = &input.table_class {
            enum_check("tableClass", class, &["STANDARD", "STANDARD_INFREQUENT_ACCESS"])?;
            record.table_class = Some(class.clone());
        }
        if let Some(protect) = input.deletion_protection_enabled {
            record.deletion_protection = protect;
        }
        self.save_table(&table, &record)?;
        if let Some(label) = &replaced_stream {
            self.purge(STREAM, crate::streams::stream_prefix(self.scope, &record.name, label))?;
        }
        if let Some(name) = &created_index {
            self.backfill(&record.name, name)?;
        }
        let stats = self.table_stats(&table)?;
        let mut description = render::table(self.scope, &record, "UPDATING", stats, None);
        if let (Some(name), Some(gsis)) =
            (created_index, description["GlobalSecondaryIndexes"].as_array_mut())
        {
            for g in gsis.iter_mut().filter(|g| g["IndexName"] == json!(name)) {
                g["IndexStatus"] = json!("CREATING");
                g["Backfilling"] = json!(true);
            }
        }
        Ok(json!({ "TableDescription": description }))
    }

    /// Writes the entries of a new index for the items already in the table, a chunk at a time,
    /// each chunk pinned on the items it read (writers that raced it maintain the index
    /// themselves, since the table record they pin already has the index).
    fn backfill(&self, table_name: &str, index_name: &str) -> Result<(), Error> {
        let table = self.table(table_name)?;
        let record = &table.record;
        let Some((index, _)) = record.index(index_name) else { return Ok(()) };
        let prefix = model::index_prefix(self.scope, &record.id, index_name);
        let mut start = Bound::Included(table.prefix.clone());
        loop {
            let range = KeyRange {
                start: start.clone(),
                end: KeyRange::prefix(table.prefix.clone()).end,
                reverse: false,
            };
            let entries = self.kv.scan(ITEMS, range, 256)?;
            let Some((last, _)) = entries.last() else { return Ok(()) };
            let mut batch = Batch::new();
            for (k, raw) in &entries {
                batch = batch.expect_value(ITEMS, k.clone(), raw.clone());
                let item = model::decode_item(raw)?;
                if let Some(key) = model::index_key(&prefix, &index.keys, &record.keys, &item) {
                    batch = batch.put(INDEX, key, model::encode_item(&index.project(&record.keys, &item)));
                }
            }
            match self.kv.commit(batch) {
                Ok(()) if entries.len() < 256 => return Ok(()),
                Ok(()) => start = Bound::Excluded(last.clone()),
                // An item changed under the chunk: read the chunk again.
                Err(storage::CommitError::ConditionFailed { .. }) => {}
                Err(storage::CommitError::Storage(e)) => return Err(e.into()),
            }
        }
    }

    /// The table an ARN names, in this tenant.
    fn table_by_arn(&self, arn: &str) -> Result<Table, Error> {
        let prefix = format!("arn:aws:dynamodb:{}:{}:table/", self.scope.region, self.scope.account);
        let name = arn.strip_prefix(&prefix).ok_or_else(|| {
            Error::validation(format!("Invalid TableArn: Invalid ResourceArn provided as input {arn}"))
        })?;
        match self.find_table(name) {
            Ok(Some(t)) => Ok(t),
            Ok(None) | Err(Error::ValidationException(_)) => Err(Error::ResourceNotFoundException(format!(
                "Requested resource not found: ResourcArn: {arn} not found"
            ))),
            Err(e) => Err(e),
        }
    }

    fn update_record(&self, table: Table, change: impl FnOnce(&mut TableRecord)) -> Result<(), Error> {
        let mut record = table.record.clone();
        change(&mut record);
        self.save_table(&table, &record)
    }

    pub fn tag_resource(&self, input: TagResource) -> Result<Value, Error> {
        check_tags(&input.tags)?;
        let table = self.table_by_arn(&input.resource_arn)?;
        if table.record.tags.len() + input.tags.len() > MAX_TAGS {
            return Err(Error::validation("The number of tags exceeds the limit of 50"));
        }
        self.update_record(table, |r| merge_tags(&mut r.tags, input.tags))?;
        Ok(json!({}))
    }

    pub fn untag_resource(&self, input: UntagResource) -> Result<Value, Error> {
        let table = self.table_by_arn(&input.resource_arn)?;
        self.update_record(table, |r| r.tags.retain(|t| !input.tag_keys.contains(&t.key)))?;
        Ok(json!({}))
    }

    pub fn list_tags(&self, arn: &str) -> Result<Value, Error> {
        let table = self.table_by_arn(arn)?;
        let tags: Vec<Value> =
            table.record.tags.iter().map(|t| json!({ "Key": t.key, "Value": t.value })).collect();
        Ok(json!({ "Tags": tags }))
    }

    pub fn update_ttl(&self, input: UpdateTimeToLive) -> Result<Value, Error> {
        let spec = input.time_to_live_specification;
        if spec.attribute_name.is_empty() {
            return Err(Error::validation(protocol::validation_message([(
                "timeToLiveSpecification.attributeName",
                "",
                "Member must have length greater than or equal to 1",
            )])));
        }
        let table = self.table(&input.table_name)?;
        let current = table.record.ttl.clone().filter(|t| t.enabled);
        match (&current, spec.enabled) {
            (Some(_), true) => return Err(Error::validation("TimeToLive is already enabled")),
            (None, false) => return Err(Error::validation("TimeToLive is already disabled")),
            (Some(t), false) if t.attribute != spec.attribute_name => {
                return Err(Error::validation(
                    "TimeToLive attribute name does not match the enabled attribute",
                ));
            }
            _ => {}
        }
        let ttl = model::TtlSpec { enabled: spec.enabled, attribute: spec.attribute_name.clone() };
        self.update_record(table, |r| r.ttl = Some(ttl))?;
        Ok(
            json!({ "TimeToLiveSpecification": { "Enabled": spec.enabled, "AttributeName": spec.attribute_name } }),
        )
    }

    pub fn describe_ttl(&self, name: &str) -> Result<Value, Error> {
        let table = self.table(name)?;
        let description = match &table.record.ttl {
            Some(t) if t.enabled => json!({ "TimeToLiveStatus": "ENABLED", "AttributeName": t.attribute }),
            _ => json!({ "TimeToLiveStatus": "DISABLED" }),
        };
        Ok(json!({ "TimeToLiveDescription": description }))
    }
}

pub fn describe_endpoints() -> Value {
    json!({ "Endpoints": [{ "Address": "dynamodb.us-east-1.amazonaws.com", "CachePeriodInMinutes": 1440 }] })
}

/// DynamoDB's default quotas.
pub fn describe_limits() -> Value {
    json!({
        "AccountMaxReadCapacityUnits": 80000,
        "AccountMaxWriteCapacityUnits": 80000,
        "TableMaxReadCapacityUnits": 40000,
        "TableMaxWriteCapacityUnits": 40000,
    })
}
