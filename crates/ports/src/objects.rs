//! Reading S3 objects from another service: Lambda takes deployment packages and layer
//! contents from `S3Bucket`/`S3Key`, CloudFormation takes templates and code from S3 URLs.
//! Implemented by `service-s3` on its own store, as GetObject reads it.

use bytes::Bytes;

/// An object's bytes, with the region of the bucket that holds it (callers that insist on a
/// bucket in their own region, as Lambda does, check it themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub bytes: Bytes,
    pub bucket_region: String,
}

/// Why an object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectReadError {
    /// S3 refused as GetObject would: its error code (`NoSuchBucket`, `NoSuchKey`,
    /// `NoSuchVersion`) and message, which Lambda and CloudFormation quote in their own errors.
    #[error("{code}: {message}")]
    S3 { code: String, message: String },
    /// The object is larger than the caller's limit; nothing was read.
    #[error("the object has {size} bytes")]
    TooLarge { size: u64 },
    /// The store failed; worth retrying.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Reading whole objects by account, bucket and key.
pub trait ObjectReader: Send + Sync {
    /// The bytes of `key` in `bucket` of `account` (12 digits), at `version` when given
    /// (`"null"` names the unversioned object). Objects over `max_len` bytes are
    /// [`ObjectReadError::TooLarge`]. Blocking: the bytes are read from disk.
    fn get_object(
        &self,
        account: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        max_len: u64,
    ) -> Result<StoredObject, ObjectReadError>;
}
