//! [`ports::ObjectReader`]: whole objects for other services (Lambda code and layer contents,
//! CloudFormation templates), read from the same records and blobs GetObject streams.

use std::io::Read as _;

use bytes::Bytes;
use ports::{ObjectReadError, ObjectReader, StoredObject};
use s3s::S3Error;

use crate::S3Service;
use crate::engine::Cx;
use crate::error::Error;
use crate::model::{self, BUCKETS, BucketRecord, ObjectRecord};
use crate::versions;

/// How often a read starts over when an overwrite removed the blobs it was reading.
const ATTEMPTS: usize = 3;

/// S3's code and message for an error, in the words its API answers them.
fn s3_error(e: Error) -> ObjectReadError {
    if let Error::InternalError(detail) = e {
        return ObjectReadError::Unavailable(detail);
    }
    let wire = S3Error::from(e);
    ObjectReadError::S3 {
        code: wire.code().as_str().to_owned(),
        message: wire.message().unwrap_or_default().to_owned(),
    }
}

impl ObjectReader for S3Service {
    fn get_object(
        &self,
        account: &str,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        max_len: u64,
    ) -> Result<StoredObject, ObjectReadError> {
        let kv = self.store.kv.as_ref();
        let bucket_record: BucketRecord = model::get(kv, BUCKETS, &model::bucket_key(account, bucket))
            .map_err(s3_error)?
            .ok_or_else(|| s3_error(Error::NoSuchBucket))?;
        let cx = Cx {
            account: account.to_owned(),
            region: bucket_record.region.clone(),
            request_id: String::new(),
            principal: "lambda.amazonaws.com".to_owned(),
            trace: None,
        };
        let mut last_failure = String::new();
        for _ in 0..ATTEMPTS {
            let record: ObjectRecord =
                versions::read(&self.engine, &cx, bucket, key, version).map_err(s3_error)?;
            if record.size > max_len {
                return Err(ObjectReadError::TooLarge { size: record.size });
            }
            match read_pieces(self, &record) {
                Ok(bytes) => {
                    return Ok(StoredObject { bytes, bucket_region: bucket_record.region });
                }
                Err(why) => last_failure = why,
            }
        }
        Err(ObjectReadError::Unavailable(last_failure))
    }
}

/// The object's bytes; an error when a blob is gone (the object was overwritten meanwhile).
fn read_pieces(s3: &S3Service, record: &ObjectRecord) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(usize::try_from(record.size).unwrap_or(0));
    for piece in &record.pieces {
        if let Some(bytes) = &piece.inline {
            out.extend_from_slice(bytes);
            continue;
        }
        let reader = s3.store.blobs.read(&piece.blob, None).map_err(|e| e.to_string())?;
        let mut reader = reader.ok_or_else(|| format!("blob {} is gone", piece.blob))?;
        let before = out.len();
        reader.by_ref().take(piece.len).read_to_end(&mut out).map_err(|e| e.to_string())?;
        if (out.len() - before) as u64 != piece.len {
            return Err(format!("blob {} is shorter than its record", piece.blob));
        }
    }
    Ok(Bytes::from(out))
}
