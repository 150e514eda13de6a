//! Reading and writing IAM records: typed gets, scope scans for the list operations, and the
//! optimistic read-modify-write loop every mutation goes through.

use std::ops::Bound;
use std::sync::Arc;

use storage::{KeyRange, Kv};
use types::Scope;

use crate::error::Error;
use crate::model::{self, Record};

/// How often a read-modify-write is retried when another request changed its records first.
const MAX_ATTEMPTS: usize = 32;

/// How many entries a list operation reads from the store at a time.
const SCAN_CHUNK: usize = 256;

/// A record with the exact bytes it was read as, which the write's precondition compares.
#[derive(Debug)]
pub struct Loaded<R> {
    pub raw: Vec<u8>,
    pub record: R,
}

pub use storage::Step;

#[derive(Clone, Debug)]
pub struct Db {
    kv: Arc<dyn Kv>,
}

impl Db {
    pub fn new(kv: Arc<dyn Kv>) -> Db {
        Db { kv }
    }

    pub fn get<R: Record>(&self, table: &str, key: &[u8]) -> Result<Option<Loaded<R>>, Error> {
        match self.kv.get(table, key)? {
            Some(raw) => {
                let record = model::decode(&raw)?;
                Ok(Some(Loaded { raw, record }))
            }
            None => Ok(None),
        }
    }

    /// Runs `attempt` until its batch commits. A failed precondition means another request
    /// changed what the attempt read, so it runs again on fresh state; the attempt itself
    /// turns "it is gone" or "it exists now" into the right AWS error on that rerun.
    pub fn transact<T>(&self, attempt: impl FnMut() -> Result<Step<T>, Error>) -> Result<T, Error> {
        storage::transact(self.kv.as_ref(), MAX_ATTEMPTS, attempt).map_err(|e| match e {
            storage::TransactError::Attempt(e) => e,
            storage::TransactError::Storage(e) => Error::Internal(e),
            storage::TransactError::Contended => Error::ConcurrentModification(
                "Could not complete the request because the entity kept changing; retry the request."
                    .to_owned(),
            ),
        })
    }

    /// Up to `max` records of `scope` that `keep` accepts, in key order, starting after the
    /// record whose name is `after`; the flag says whether more would follow.
    pub fn scan<R: Record>(
        &self,
        table: &str,
        scope: &Scope,
        after: Option<&str>,
        mut keep: impl FnMut(&R) -> bool,
        max: usize,
    ) -> Result<(Vec<R>, bool), Error> {
        let whole = KeyRange::prefix(model::scope_prefix(scope));
        let mut start = match after {
            Some(name) => Bound::Excluded(model::key(scope, name)),
            None => whole.start.clone(),
        };
        let mut out = Vec::new();
        loop {
            let chunk = self.kv.scan(table, KeyRange::new(start.clone(), whole.end.clone()), SCAN_CHUNK)?;
            let full = chunk.len() == SCAN_CHUNK;
            for (key, raw) in chunk {
                let record: R = model::decode(&raw)?;
                start = Bound::Excluded(key);
                if keep(&record) {
                    if out.len() == max {
                        return Ok((out, true));
                    }
                    out.push(record);
                }
            }
            if !full {
                return Ok((out, false));
            }
        }
    }
}
