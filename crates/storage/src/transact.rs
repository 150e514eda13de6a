//! Optimistic read-modify-write over a [`Kv`]: an attempt reads, decides, and returns a batch
//! whose preconditions pin what it read; a failed precondition means another writer got there
//! first, so the attempt runs again on fresh state. Every service's mutations go through this.

use crate::{Batch, CommitError, Kv, StorageError};

/// What one attempt decided.
#[derive(Debug)]
pub enum Step<T> {
    /// Write this batch (whose preconditions pin what the attempt read), then answer `T`.
    Commit(Batch, T),
    /// Nothing to write.
    Done(T),
}

/// Why [`transact`] gave up.
#[derive(Debug)]
pub enum TransactError<E> {
    /// The attempt itself failed (a service error: not found, invalid, …).
    Attempt(E),
    /// The store failed.
    Storage(StorageError),
    /// Other writers changed the records every time, `max_attempts` times in a row.
    Contended,
}

/// Runs `attempt` until its batch commits, at most `max_attempts` times.
pub fn transact<T, E>(
    kv: &dyn Kv,
    max_attempts: usize,
    mut attempt: impl FnMut() -> Result<Step<T>, E>,
) -> Result<T, TransactError<E>> {
    for _ in 0..max_attempts {
        match attempt().map_err(TransactError::Attempt)? {
            Step::Done(out) => return Ok(out),
            Step::Commit(batch, out) => match kv.commit(batch) {
                Ok(()) => return Ok(out),
                Err(CommitError::ConditionFailed { .. }) => continue,
                Err(CommitError::Storage(e)) => return Err(TransactError::Storage(e)),
            },
        }
    }
    Err(TransactError::Contended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Condition, Store};

    #[test]
    fn a_lost_race_runs_the_attempt_again() {
        let store = Store::memory();
        let kv = store.kv.as_ref();
        let mut runs = 0;
        let out: Result<u32, TransactError<()>> = transact(kv, 5, || {
            runs += 1;
            let current = kv.get("t", b"k").map_err(|_| ())?;
            if runs == 1 {
                // Another writer changes the record between this attempt's read and its commit.
                kv.put("t", b"k", b"theirs").map_err(|_| ())?;
            }
            let pin = match current {
                Some(v) => Condition::Value(v),
                None => Condition::Absent,
            };
            Ok(Step::Commit(
                Batch::new().expect("t", b"k".to_vec(), pin).put("t", b"k".to_vec(), b"ours".to_vec()),
                runs,
            ))
        });
        assert_eq!(out.ok(), Some(2));
        assert_eq!(kv.get("t", b"k").ok().flatten().as_deref(), Some(&b"ours"[..]));
        let gave_up: Result<(), TransactError<()>> =
            transact(kv, 3, || Ok(Step::Commit(Batch::new().expect_present("t", b"never".to_vec()), ())));
        assert!(matches!(gave_up, Err(TransactError::Contended)));
    }
}
