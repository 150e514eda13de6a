//! Reading and writing CloudWatch Logs records: typed gets and scans, the optimistic
//! read-modify-write loop every mutation goes through, and [`Db::append`], the one ingest path
//! PutLogEvents and the Lambda [`crate::LogWriter`] share.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use storage::{Batch, CommitError, KeyRange, Kv};
use types::Scope;

use crate::error::{self, Error};
use crate::model::{self, EVENTS, GROUPS, GroupRecord, Position, STREAMS, StreamRecord};

/// How often a read-modify-write is retried when another request changed its records first.
const MAX_ATTEMPTS: usize = 32;

/// Events of one stream to store in one commit.
#[derive(Debug)]
pub struct Append<'a> {
    pub scope: &'a Scope,
    pub group: &'a str,
    pub stream: &'a str,
    pub events: &'a [(i64, String)],
    /// Create the group and stream when missing (Lambda's behaviour); otherwise a missing one
    /// is `ResourceNotFoundException`.
    pub create: bool,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub kv: Arc<dyn Kv>,
}

impl Db {
    pub fn group(&self, scope: &Scope, name: &str) -> Result<Option<(Vec<u8>, GroupRecord)>, Error> {
        self.record(GROUPS, &model::group_key(scope, name))
    }

    pub fn stream(
        &self,
        scope: &Scope,
        group: &str,
        name: &str,
    ) -> Result<Option<(Vec<u8>, StreamRecord)>, Error> {
        self.record(STREAMS, &model::stream_key(scope, group, name))
    }

    fn record<R: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        key: &[u8],
    ) -> Result<Option<(Vec<u8>, R)>, Error> {
        match self.kv.get(table, key)? {
            Some(raw) => {
                let record = model::decode(&raw)?;
                Ok(Some((raw, record)))
            }
            None => Ok(None),
        }
    }

    /// Every record of `table` under `prefix`, in key order.
    pub fn all<R: serde::de::DeserializeOwned>(&self, table: &str, prefix: Vec<u8>) -> Result<Vec<R>, Error> {
        let entries = self.kv.scan(table, KeyRange::prefix(prefix), storage::UNLIMITED)?;
        entries.iter().map(|(_, raw)| Ok(model::decode(raw)?)).collect()
    }

    /// Runs `attempt` until the batch it returns commits. A failed precondition means another
    /// writer changed what the attempt read, so it runs again on fresh state.
    pub fn transact<T>(&self, mut attempt: impl FnMut() -> Result<(Batch, T), Error>) -> Result<T, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let (batch, out) = attempt()?;
            if batch.is_empty() {
                return Ok(out);
            }
            match self.kv.commit(batch) {
                Ok(()) => return Ok(out),
                Err(CommitError::ConditionFailed { .. }) => continue,
                Err(CommitError::Storage(e)) => return Err(Error::Internal(e)),
            }
        }
        Err(Error::OperationAbortedException(
            "A conflicting operation is currently in progress against this resource. Please try again."
                .to_owned(),
        ))
    }

    /// Stores the events of every append in one commit, rewriting each touched stream record
    /// once (counters, next seq) whatever the number of events. Returns the streams' next seq.
    pub fn append(&self, now_ms: i64, appends: &[Append<'_>]) -> Result<Vec<u64>, Error> {
        self.transact(|| {
            let mut batch = Batch::new();
            let mut groups: HashSet<Vec<u8>> = HashSet::new();
            // Stream key → (the raw record read, if any; the record as it will be written).
            let mut streams: HashMap<Vec<u8>, (Option<Vec<u8>>, StreamRecord)> = HashMap::new();
            let mut order = Vec::with_capacity(appends.len());
            for a in appends {
                let gkey = model::group_key(a.scope, a.group);
                if groups.insert(gkey.clone()) {
                    if self.kv.get(GROUPS, &gkey)?.is_some() {
                        batch = batch.expect_present(GROUPS, gkey.clone());
                    } else if a.create {
                        let group =
                            new_group(a.group, now_ms, Default::default(), None, "STANDARD".to_owned());
                        batch = batch.expect_absent(GROUPS, gkey.clone()).put(
                            GROUPS,
                            gkey.clone(),
                            model::encode(&group),
                        );
                    } else {
                        return Err(error::group_not_found());
                    }
                }
                let skey = model::stream_key(a.scope, a.group, a.stream);
                if !streams.contains_key(&skey) {
                    let entry = match self.record::<StreamRecord>(STREAMS, &skey)? {
                        Some((raw, rec)) => (Some(raw), rec),
                        None if a.create => (None, StreamRecord::new(a.stream, now_ms)),
                        None => return Err(error::stream_not_found()),
                    };
                    streams.insert(skey.clone(), entry);
                }
                let Some((_, rec)) = streams.get_mut(&skey) else { continue };
                let prefix = model::events_prefix(a.scope, &rec.id_bytes()?);
                for (ts, message) in a.events {
                    let at = Position { timestamp: u64::try_from(*ts).unwrap_or(0), seq: rec.next_seq };
                    batch.push(storage::Op::Put {
                        table: EVENTS.to_owned(),
                        key: model::event_key(&prefix, at),
                        value: model::encode_event(now_ms, message),
                    });
                    rec.next_seq += 1;
                    rec.stored_bytes += message.len() as u64;
                    rec.first_event = Some(rec.first_event.map_or(*ts, |f| f.min(*ts)));
                    rec.last_event = Some(rec.last_event.map_or(*ts, |l| l.max(*ts)));
                }
                if !a.events.is_empty() {
                    rec.last_ingestion = Some(now_ms);
                }
                order.push(skey);
            }
            let mut next = Vec::with_capacity(order.len());
            for skey in &order {
                if let Some((_, rec)) = streams.get(skey) {
                    next.push(rec.next_seq);
                }
            }
            for (skey, (raw, rec)) in streams {
                let changed = raw.is_none() || rec.last_ingestion == Some(now_ms);
                if !changed {
                    continue;
                }
                batch = match raw {
                    Some(raw) => batch.expect_value(STREAMS, skey.clone(), raw),
                    None => batch.expect_absent(STREAMS, skey.clone()),
                };
                batch = batch.put(STREAMS, skey, model::encode(&rec));
            }
            // Nothing but preconditions: nothing to write.
            if batch.ops().iter().all(|op| matches!(op, storage::Op::Expect { .. })) {
                batch = Batch::new();
            }
            Ok((batch, next))
        })
    }
}

pub fn new_group(
    name: &str,
    now_ms: i64,
    tags: std::collections::BTreeMap<String, String>,
    kms_key_id: Option<String>,
    class: String,
) -> GroupRecord {
    GroupRecord {
        v: model::SCHEMA_VERSION,
        name: name.to_owned(),
        created: now_ms,
        retention_days: None,
        tags,
        kms_key_id,
        class,
    }
}
