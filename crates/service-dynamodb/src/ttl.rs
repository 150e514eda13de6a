//! Time to Live: [`DynamoDbService::sweep_ttl`] deletes the items of every TTL-enabled table
//! whose TTL attribute (a Number of Unix seconds) is in the past, through the same
//! read-check-write as DeleteItem (indexes updated in the same batch, the item pinned so a
//! concurrent write that extends its life wins). Stream-enabled tables get a REMOVE record
//! marked as the service's own deletion (`userIdentity`), as DynamoDB marks TTL deletions. As on
//! DynamoDB, values more than five years in the past are not treated as expirations. The
//! server runs the sweep periodically; it is synchronous like the rest of the service.

use dynamodb_expr::{AttributeValue, Item};
use storage::{Batch, KeyRange};
use types::{AccountId, Region, Scope};

use crate::DynamoDbService;
use crate::db::{Step, pin_item, pin_table, write_ops};
use crate::error::Error;
use crate::model::{self, ITEMS, TABLES};

/// DynamoDB ignores TTL values older than five years.
const MAX_PAST_SECONDS: f64 = 5.0 * 365.0 * 86_400.0;
/// Items read per scan of a table.
const CHUNK: usize = 256;

/// Whether `item` has expired at `now` (Unix seconds) by its attribute `attr`.
pub fn expired(item: &Item, attr: &str, now: f64) -> bool {
    let Some(AttributeValue::N(n)) = item.get(attr) else { return false };
    let Ok(at) = n.to_string().parse::<f64>() else { return false };
    at < now && at > now - MAX_PAST_SECONDS
}

/// The scope of a table key `{account}/{region}/{name}`.
fn scope_of(key: &[u8]) -> Option<Scope> {
    let text = std::str::from_utf8(key).ok()?;
    let mut parts = text.splitn(3, '/');
    Some(Scope { account: AccountId::parse(parts.next()?)?, region: Region::parse(parts.next()?)? })
}

impl DynamoDbService {
    /// Deletes every expired item of every table with TTL enabled; returns how many.
    pub fn sweep_ttl(&self) -> Result<usize, Error> {
        let now_nanos = self.now_nanos();
        let now = now_nanos as f64 / 1e9;
        let mut deleted = 0;
        for (key, raw) in self.kv.scan(TABLES, KeyRange::all(), usize::MAX)? {
            let record = model::decode_table(&raw)?;
            let Some(ttl) = record.ttl.clone().filter(|t| t.enabled) else { continue };
            let Some(scope) = scope_of(&key) else { continue };
            let mut env = self.env(&scope, now_nanos, &self.sequencer);
            env.ttl_deletes = true;
            let mut due = Vec::new();
            let prefix = model::items_prefix(&scope, &record.id);
            env.for_each(ITEMS, KeyRange::prefix(prefix), CHUNK, |k, v| {
                if expired(&model::decode_item(v)?, &ttl.attribute, now) {
                    due.push(k.to_vec());
                }
                Ok(true)
            })?;
            for item_key in due {
                let removed = env.transact(|| {
                    let Some(table) = env.find_table(&record.name)? else { return Ok(Step::Done(false)) };
                    if table.record.id != record.id {
                        return Ok(Step::Done(false));
                    }
                    let Some(old) = env.load_at(&item_key)? else { return Ok(Step::Done(false)) };
                    if !expired(&old.item, &ttl.attribute, now) {
                        return Ok(Step::Done(false));
                    }
                    let mut batch = Batch::new();
                    pin_table(&mut batch, &env, &table);
                    pin_item(&mut batch, &item_key, Some(&old));
                    write_ops(&mut batch, &env, &table, &item_key, Some(&old.item), None);
                    Ok(Step::Commit(batch, true))
                })?;
                deleted += usize::from(removed);
            }
        }
        Ok(deleted)
    }
}
