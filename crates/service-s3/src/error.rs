//! S3's errors: one variant per error code this service answers, with S3's own wording, mapped
//! to s3s's wire error (code, status, XML) in one exhaustive match.

use s3s::{S3Error, S3ErrorCode};
use storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such bucket")]
    NoSuchBucket,
    #[error("no such key")]
    NoSuchKey,
    #[error("no such upload")]
    NoSuchUpload,
    #[error("no such version")]
    NoSuchVersion,
    #[error("illegal versioning configuration")]
    IllegalVersioningConfigurationException,
    /// The key's latest version is a delete marker (holds its version id): `NoSuchKey`, with
    /// the marker's headers.
    #[error("latest version is a delete marker")]
    DeleteMarker(String),
    /// A request named a delete marker by version id where only objects go (holds the id).
    #[error("method not allowed on a delete marker")]
    MethodNotAllowed(String),
    #[error("ACLs are not supported")]
    AccessControlListNotSupported,
    #[error("no ownership controls")]
    OwnershipControlsNotFoundError,
    #[error("bucket already owned by you")]
    BucketAlreadyOwnedByYou,
    #[error("bucket not empty")]
    BucketNotEmpty,
    #[error("invalid bucket name")]
    InvalidBucketName,
    /// A LocationConstraint that does not fit the endpoint's region; holds the constraint.
    #[error("illegal location constraint {0}")]
    IllegalLocationConstraintException(String),
    #[error("invalid location constraint")]
    InvalidLocationConstraint,
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("invalid range")]
    InvalidRange,
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("not modified")]
    NotModified,
    /// The Content-MD5 or a flexible checksum did not match the body; holds the message.
    #[error("bad digest: {0}")]
    BadDigest(String),
    #[error("invalid digest")]
    InvalidDigest,
    #[error("entity too small")]
    EntityTooSmall,
    #[error("invalid part")]
    InvalidPart,
    #[error("invalid part order")]
    InvalidPartOrder,
    #[error("malformed XML")]
    MalformedXML,
    #[error("malformed policy")]
    MalformedPolicy,
    /// An operation or option Nimbus does not implement; holds what.
    #[error("{0} is not implemented")]
    NotImplemented(String),
    #[error("no such tag set")]
    NoSuchTagSet,
    #[error("no such CORS configuration")]
    NoSuchCORSConfiguration,
    #[error("no such bucket policy")]
    NoSuchBucketPolicy,
    #[error("no such lifecycle configuration")]
    NoSuchLifecycleConfiguration,
    /// The body ended before its declared length, or its stream failed.
    #[error("incomplete body: {0}")]
    IncompleteBody(String),
    /// An aws-chunked chunk or trailer signature did not verify.
    #[error("signature does not match")]
    SignatureDoesNotMatch,
    #[error("invalid storage class")]
    InvalidStorageClass,
    /// The store failed or held a record this version cannot read. Logged, never shown.
    #[error("internal error: {0}")]
    InternalError(String),
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Error {
        Error::InternalError(e.to_string())
    }
}

impl From<Error> for S3Error {
    fn from(e: Error) -> S3Error {
        let marker = match &e {
            Error::DeleteMarker(id) | Error::MethodNotAllowed(id) => Some(id.clone()),
            _ => None,
        };
        let (code, message): (S3ErrorCode, String) = match e {
            Error::IllegalVersioningConfigurationException => (
                S3ErrorCode::IllegalVersioningConfigurationException,
                "The versioning configuration specified in the request is invalid.".into(),
            ),
            Error::NoSuchVersion => {
                (S3ErrorCode::NoSuchVersion, "The specified version does not exist.".into())
            }
            Error::DeleteMarker(_) => (S3ErrorCode::NoSuchKey, "The specified key does not exist.".into()),
            Error::MethodNotAllowed(_) => (
                S3ErrorCode::MethodNotAllowed,
                "The specified method is not allowed against this resource.".into(),
            ),
            Error::AccessControlListNotSupported => {
                (S3ErrorCode::AccessControlListNotSupported, "The bucket does not allow ACLs".into())
            }
            Error::OwnershipControlsNotFoundError => (
                S3ErrorCode::OwnershipControlsNotFoundError,
                "The bucket ownership controls were not found".into(),
            ),
            Error::NoSuchBucket => (S3ErrorCode::NoSuchBucket, "The specified bucket does not exist".into()),
            Error::NoSuchKey => (S3ErrorCode::NoSuchKey, "The specified key does not exist.".into()),
            Error::NoSuchUpload => (
                S3ErrorCode::NoSuchUpload,
                "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.".into(),
            ),
            Error::BucketAlreadyOwnedByYou => (
                S3ErrorCode::BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it.".into(),
            ),
            Error::BucketNotEmpty => {
                (S3ErrorCode::BucketNotEmpty, "The bucket you tried to delete is not empty".into())
            }
            Error::InvalidBucketName => (S3ErrorCode::InvalidBucketName, "The specified bucket is not valid.".into()),
            Error::IllegalLocationConstraintException(constraint) => (
                S3ErrorCode::IllegalLocationConstraintException,
                format!(
                    "The {constraint} location constraint is incompatible for the region specific endpoint this request was sent to."
                ),
            ),
            Error::InvalidLocationConstraint => {
                (S3ErrorCode::InvalidLocationConstraint, "The specified location-constraint is not valid".into())
            }
            Error::InvalidArgument(m) => (S3ErrorCode::InvalidArgument, m),
            Error::InvalidRequest(m) => (S3ErrorCode::InvalidRequest, m),
            Error::InvalidRange => (S3ErrorCode::InvalidRange, "The requested range is not satisfiable".into()),
            Error::PreconditionFailed => (
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold".into(),
            ),
            Error::NotModified => (S3ErrorCode::NotModified, "Not Modified".into()),
            Error::BadDigest(m) => (S3ErrorCode::BadDigest, m),
            Error::InvalidDigest => (S3ErrorCode::InvalidDigest, "The Content-MD5 you specified is not valid.".into()),
            Error::EntityTooSmall => (
                S3ErrorCode::EntityTooSmall,
                "Your proposed upload is smaller than the minimum allowed object size.".into(),
            ),
            Error::InvalidPart => (
                S3ErrorCode::InvalidPart,
                "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.".into(),
            ),
            Error::InvalidPartOrder => (
                S3ErrorCode::InvalidPartOrder,
                "The list of parts was not in ascending order. The parts list must be specified in order by part number.".into(),
            ),
            Error::MalformedXML => (
                S3ErrorCode::MalformedXML,
                "The XML you provided was not well-formed or did not validate against our published schema".into(),
            ),
            Error::MalformedPolicy => (
                S3ErrorCode::MalformedPolicy,
                "Policies must be valid JSON and the first byte must be '{'".into(),
            ),
            Error::NotImplemented(what) => {
                (S3ErrorCode::NotImplemented, format!("{what} is not implemented by Nimbus"))
            }
            Error::NoSuchTagSet => (S3ErrorCode::NoSuchTagSet, "The TagSet does not exist".into()),
            Error::NoSuchCORSConfiguration => {
                (S3ErrorCode::NoSuchCORSConfiguration, "The CORS configuration does not exist".into())
            }
            Error::NoSuchBucketPolicy => (S3ErrorCode::NoSuchBucketPolicy, "The bucket policy does not exist".into()),
            Error::NoSuchLifecycleConfiguration => {
                (S3ErrorCode::NoSuchLifecycleConfiguration, "The lifecycle configuration does not exist".into())
            }
            Error::IncompleteBody(_) => (
                S3ErrorCode::IncompleteBody,
                "You did not provide the number of bytes specified by the Content-Length HTTP header".into(),
            ),
            Error::SignatureDoesNotMatch => (
                S3ErrorCode::SignatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.".into(),
            ),
            Error::InvalidStorageClass => {
                (S3ErrorCode::InvalidStorageClass, "The storage class you specified is not valid".into())
            }
            Error::InternalError(detail) => {
                tracing::error!(%detail, "s3 internal error");
                (S3ErrorCode::InternalError, "We encountered an internal error. Please try again.".into())
            }
        };
        let mut err = S3Error::with_message(code, message);
        if let Some(id) = marker {
            let mut headers = http::HeaderMap::new();
            headers.insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
            if let Ok(v) = http::HeaderValue::from_str(&id) {
                headers.insert("x-amz-version-id", v);
            }
            err.set_headers(headers);
        }
        err
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
