//! Reading tables and items, and the optimistic loop every write goes through: read what the
//! write depends on, decide, then commit one batch whose preconditions pin those exact bytes
//! (the table record and each item). Another request that got there first makes the commit
//! fail, and the attempt runs again on fresh state, so conditions are always evaluated against
//! the state the write replaces. An item's index entries are written in the same batch.

use std::ops::Bound;

use dynamodb_expr::Item;
use storage::{Batch, KeyRange, Op};

use crate::Env;
use crate::error::Error;
use crate::model::{self, INDEX, ITEMS, TABLES, TableRecord};

/// How often a write is retried when another request changed what it read.
const MAX_ATTEMPTS: usize = 64;

/// A table record with the exact bytes it was read as.
#[derive(Debug, Clone)]
pub struct Table {
    pub raw: Vec<u8>,
    pub record: TableRecord,
    /// The store prefix of its items.
    pub prefix: Vec<u8>,
}

/// An item with the exact bytes it was read as.
#[derive(Debug, Clone)]
pub struct Stored {
    pub raw: Vec<u8>,
    pub item: Item,
}

pub use storage::Step;

/// Table names: 3 to 255 of `[a-zA-Z0-9_.-]`, checked as the model checks them.
pub fn check_table_name(name: &str, member: &str) -> Result<(), Error> {
    let mut problems = Vec::new();
    if name.len() < 3 {
        problems.push("Member must have length greater than or equal to 3");
    }
    if name.len() > 255 {
        problems.push("Member must have length less than or equal to 255");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
        problems.push("Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::validation(protocol::validation_message(problems.into_iter().map(|p| (member, name, p)))))
}

impl Env<'_> {
    pub fn find_table(&self, name: &str) -> Result<Option<Table>, Error> {
        check_table_name(name, "tableName")?;
        let Some(raw) = self.kv.get(TABLES, &model::table_key(self.scope, name))? else {
            return Ok(None);
        };
        let record = model::decode_table(&raw)?;
        let prefix = model::items_prefix(self.scope, &record.id);
        Ok(Some(Table { raw, record, prefix }))
    }

    pub fn table(&self, name: &str) -> Result<Table, Error> {
        self.find_table(name)?.ok_or_else(Error::table_not_found)
    }

    pub fn load_item(&self, table: &Table, key: &Item) -> Result<Option<Stored>, Error> {
        let key = model::item_key(&table.prefix, &table.record.keys, key);
        self.load_at(&key)
    }

    pub fn load_at(&self, key: &[u8]) -> Result<Option<Stored>, Error> {
        match self.kv.get(ITEMS, key)? {
            Some(raw) => {
                let item = model::decode_item(&raw)?;
                Ok(Some(Stored { raw, item }))
            }
            None => Ok(None),
        }
    }

    /// Runs `attempt` until its batch commits; a record that keeps changing ends in
    /// `TransactionConflictException`.
    pub fn transact<T>(&self, attempt: impl FnMut() -> Result<Step<T>, Error>) -> Result<T, Error> {
        let result = storage::transact(self.kv, MAX_ATTEMPTS, attempt);
        self.release_sequence();
        result.map_err(|e| match e {
            storage::TransactError::Attempt(e) => e,
            storage::TransactError::Storage(e) => Error::InternalServerError(e),
            storage::TransactError::Contended => Error::TransactionConflictException,
        })
    }

    /// Every entry of a table or index range, in `chunk`-sized reads; `f` returns false to stop.
    pub fn for_each(
        &self,
        table: &str,
        range: KeyRange,
        chunk: usize,
        mut f: impl FnMut(&[u8], &[u8]) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        let mut range = range;
        loop {
            let entries = self.kv.scan(table, range.clone(), chunk)?;
            let Some(last) = entries.last().map(|(k, _)| k.clone()) else {
                return Ok(());
            };
            for (k, v) in &entries {
                if !f(k, v)? {
                    return Ok(());
                }
            }
            if entries.len() < chunk {
                return Ok(());
            }
            if range.reverse {
                range.end = Bound::Excluded(last);
            } else {
                range.start = Bound::Excluded(last);
            }
        }
    }
}

/// Pins the table record: a write commits only if the table (its indexes above all) is as read.
pub fn pin_table(batch: &mut Batch, env: &Env<'_>, table: &Table) {
    batch.push(Op::Expect {
        table: TABLES.to_owned(),
        key: model::table_key(env.scope, &table.record.name),
        condition: storage::Condition::Value(table.raw.clone()),
    });
}

/// Pins an item: present with the bytes read, or absent.
pub fn pin_item(batch: &mut Batch, key: &[u8], old: Option<&Stored>) {
    let condition = match old {
        Some(s) => storage::Condition::Value(s.raw.clone()),
        None => storage::Condition::Absent,
    };
    batch.push(Op::Expect { table: ITEMS.to_owned(), key: key.to_vec(), condition });
}

/// The writes that replace `old` by `new` (`None`: delete) at `key`, index entries included.
pub fn write_ops(
    batch: &mut Batch,
    env: &Env<'_>,
    table: &Table,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) {
    let record = &table.record;
    for index in record.indexes() {
        let prefix = model::index_prefix(env.scope, &record.id, &index.name);
        let old_key = old.and_then(|o| model::index_key(&prefix, &index.keys, &record.keys, o));
        let new_key = new.and_then(|n| model::index_key(&prefix, &index.keys, &record.keys, n));
        if let Some(old_key) = old_key
            && new_key.as_ref() != Some(&old_key)
        {
            batch.push(Op::Delete { table: INDEX.to_owned(), key: old_key });
        }
        if let (Some(new_key), Some(item)) = (new_key, new) {
            let projected = index.project(&record.keys, item);
            batch.push(Op::Put {
                table: INDEX.to_owned(),
                key: new_key,
                value: model::encode_item(&projected),
            });
        }
    }
    crate::streams::append(batch, env, record, old, new);
    match new {
        Some(item) => batch.push(Op::Put {
            table: ITEMS.to_owned(),
            key: key.to_vec(),
            value: model::encode_item(item),
        }),
        None => batch.push(Op::Delete { table: ITEMS.to_owned(), key: key.to_vec() }),
    };
}
