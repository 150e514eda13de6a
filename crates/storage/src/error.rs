//! The errors every storage engine reports, so services handle one set whatever the engine.

/// A storage operation failed. None of these are caused by a client's request except
/// [`StorageError::InvalidKey`], which a service should have prevented by choosing valid keys.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The operating system refused a file operation; `context` names the action and the path.
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The engine failed for a reason of its own (a database error, a full disk, a lock timeout).
    #[error("storage engine error: {0}")]
    Engine(String),
    /// Stored data could not be read back as written.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A blob key outside the documented alphabet or shape (see [`crate::validate_blob_key`]).
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
}

impl StorageError {
    /// Wraps an IO error with what was being done, which the bare `io::Error` never says.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> StorageError {
        StorageError::Io { context: context.into(), source }
    }
}

/// [`crate::Kv::commit`] did not apply its batch.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The precondition at `index` (a position in the batch's ops) did not hold, so nothing was
    /// written. When several fail, `index` is the lowest of them.
    #[error("precondition {index} of the batch failed")]
    ConditionFailed { index: usize },
    #[error(transparent)]
    Storage(#[from] StorageError),
}
