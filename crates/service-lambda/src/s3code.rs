//! Deployment packages and layer contents named by `S3Bucket`/`S3Key`/`S3ObjectVersion`: read
//! through [`ports::ObjectReader`] (Lambda never reaches into S3's store), with S3's refusals
//! quoted in Lambda's `Error occurred while GetObject` wording.

use base64::Engine as _;
use ports::ObjectReadError;
use types::Scope;

use crate::Inner;
use crate::code::MAX_UNZIPPED_BYTES;
use crate::error::Error;

/// Where a package comes from, as the request gave it.
pub struct CodeSource<'a> {
    pub zip_file: Option<&'a str>,
    pub s3_bucket: Option<&'a str>,
    pub s3_key: Option<&'a str>,
    pub s3_object_version: Option<&'a str>,
}

/// The `S3Bucket` constraint of the model: 3 to 63 of `[0-9A-Za-z.-_]`, not ending in a dot.
fn check_bucket(member: &str, bucket: &str) -> Result<(), Error> {
    if bucket.len() < 3 {
        return Err(Error::validation(member, bucket, "Member must have length greater than or equal to 3"));
    }
    if bucket.len() > 63 {
        return Err(Error::validation(member, bucket, "Member must have length less than or equal to 63"));
    }
    let ok =
        bucket.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) && !bucket.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(Error::validation(
            member,
            bucket,
            "Member must satisfy regular expression pattern: [0-9A-Za-z\\.\\-_]*(?<!\\.)",
        ))
    }
}

fn check_length(member: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::validation(member, value, "Member must have length greater than or equal to 1"));
    }
    if value.len() > 1024 {
        return Err(Error::validation(member, value, "Member must have length less than or equal to 1024"));
    }
    Ok(())
}

/// Lambda's message when S3 refused the read.
fn get_object_failed(code: &str, message: &str) -> Error {
    Error::invalid(format!(
        "Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
    ))
}

impl Inner {
    /// The zip a code source names. `prefix` is where the source sits in the request
    /// (`code.` for CreateFunction, `content.` for PublishLayerVersion, empty for
    /// UpdateFunctionCode), for validation messages; `missing` is Lambda's message when no
    /// source is given.
    pub(crate) fn package_bytes(
        &self,
        scope: &Scope,
        source: &CodeSource<'_>,
        prefix: &str,
        missing: &str,
    ) -> Result<Vec<u8>, Error> {
        if let Some(zip) = source.zip_file {
            return base64::engine::general_purpose::STANDARD
                .decode(zip)
                .map_err(|_| Error::SerializationException("ZipFile is not valid base64".to_owned()));
        }
        let (Some(bucket), Some(key)) = (source.s3_bucket, source.s3_key) else {
            return Err(Error::invalid(missing));
        };
        check_bucket(&format!("{prefix}s3Bucket"), bucket)?;
        check_length(&format!("{prefix}s3Key"), key)?;
        if let Some(v) = source.s3_object_version {
            check_length(&format!("{prefix}s3ObjectVersion"), v)?;
        }
        let reader = self
            .object_reader
            .get()
            .ok_or_else(|| Error::NotImplemented("Code from S3 without the S3 service".to_owned()))?;
        let object = reader
            .get_object(scope.account.as_str(), bucket, key, source.s3_object_version, MAX_UNZIPPED_BYTES)
            .map_err(|e| match e {
                ObjectReadError::S3 { code, message } => get_object_failed(&code, &message),
                ObjectReadError::TooLarge { .. } => {
                    Error::invalid(format!("Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"))
                }
                ObjectReadError::Unavailable(why) => {
                    Error::ServiceException(format!("reading s3://{bucket}/{key}: {why}"))
                }
            })?;
        // Lambda reads code only from buckets in the function's own region.
        if object.bucket_region != scope.region.as_str() {
            return Err(get_object_failed(
                "PermanentRedirect",
                &format!(
                    "The bucket is in this region: {}. Please use this region to retry the request",
                    object.bucket_region
                ),
            ));
        }
        Ok(object.bytes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_the_model() {
        assert!(check_bucket("code.s3Bucket", "my-bucket.v2").is_ok());
        assert!(matches!(check_bucket("code.s3Bucket", "ab"), Err(Error::ValidationException(_))));
        assert!(matches!(check_bucket("code.s3Bucket", "bucket."), Err(Error::ValidationException(_))));
        assert!(matches!(check_bucket("code.s3Bucket", "s3://bucket"), Err(Error::ValidationException(_))));
        match check_bucket("code.s3Bucket", &"b".repeat(64)) {
            Err(Error::ValidationException(m)) => {
                assert!(m.contains("at 'code.s3Bucket'"), "{m}");
                assert!(m.contains("less than or equal to 63"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }
}
