//! [`Engine`]: s3s's `S3` trait on the store. s3s has already parsed each request into its
//! operation's input (its closed set of operations is the trait); every method here finds the
//! tenant the gateway resolved, runs the handler of its resource family (`buckets`, `objects`,
//! `list`, `multipart`) and turns an [`Error`] into S3's XML error with the request id.
//! Operations without a handler keep s3s's `NotImplemented` answer.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use protocol::RequestContext;
use s3s::dto::*;
use s3s::{S3, S3Error, S3Request, S3Response, S3Result};
use storage::{BlobStore, Kv, Store};
use time::OffsetDateTime;
use types::Clock;

use crate::error::Error;
use crate::notify::Notifier;
use crate::{acl, buckets, list, multipart, objects, versions};

/// The S3 implementation on a [`Store`]. Clones share everything (the lifecycle sweep holds one).
#[derive(Clone)]
pub struct Engine {
    pub(crate) kv: Arc<dyn Kv>,
    pub(crate) blobs: Arc<dyn BlobStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) notifier: Arc<Notifier>,
    /// Writes to one key take its stripe, so the order of its versions is the order of commits.
    locks: Arc<Vec<Mutex<()>>>,
    /// The last version stamp handed out (microseconds, strictly increasing).
    last_stamp: Arc<AtomicU64>,
    /// Bucket records as last read: every object write needs its bucket's, and reading it from
    /// the store after each commit costs a B-tree walk from disk (SQLite's WAL mode drops a
    /// reader's page cache whenever the database changed).
    pub(crate) buckets: Arc<buckets::Cache>,
    pub(crate) lifecycle: crate::lifecycle::Timing,
    /// Where requests and stored bytes are counted.
    pub(crate) meter: crate::meter::Meter,
}

/// A stripe is held across its commit's fsync, and a PUT that finds its stripe taken blocks
/// its worker thread: with 32 writers, 64 stripes made a third of the PUTs wait for an
/// unrelated key; 4,096 make it about one in a hundred, for 32 KiB.
const LOCK_STRIPES: usize = 4096;

impl Engine {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        notifier: Arc<Notifier>,
        lifecycle: crate::lifecycle::Timing,
    ) -> Engine {
        Engine {
            kv: store.kv,
            blobs: store.blobs,
            clock,
            notifier,
            locks: Arc::new((0..LOCK_STRIPES).map(|_| Mutex::new(())).collect()),
            last_stamp: Arc::new(AtomicU64::new(0)),
            buckets: Arc::default(),
            lifecycle,
            meter: crate::meter::Meter::default(),
        }
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Serializes the writers of one object key (held across a read and its commit, never
    /// across an await).
    pub(crate) fn lock(&self, account: &str, bucket: &str, key: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (account, bucket, key).hash(&mut h);
        let stripe = &self.locks[(h.finish() as usize) % LOCK_STRIPES];
        stripe.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A fresh version stamp: the clock in microseconds, bumped past the last one handed out.
    pub(crate) fn next_stamp(&self) -> u64 {
        let now = u64::try_from(self.now().unix_timestamp_nanos() / 1000).unwrap_or(0);
        let mut last = self.last_stamp.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_stamp.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }
}

/// The caller of one request: the tenant and the request id the gateway assigned.
#[derive(Debug, Clone)]
pub struct Cx {
    pub account: String,
    pub region: String,
    pub request_id: String,
    /// The access key id the request was signed with (`anonymous` when unsigned).
    pub principal: String,
    /// The request's trace; `None` for work S3 does by itself (lifecycle expirations).
    pub trace: Option<protocol::TraceContext>,
}

impl Cx {
    fn of<T>(req: &S3Request<T>) -> S3Result<Cx> {
        let ctx = req
            .extensions
            .get::<RequestContext>()
            .ok_or_else(|| S3Error::with_message(s3s::S3ErrorCode::InternalError, "no request context"))?;
        Ok(Cx {
            account: ctx.scope.account.as_str().to_owned(),
            region: ctx.scope.region.as_str().to_owned(),
            request_id: ctx.request_id.as_str().to_owned(),
            principal: if ctx.access_key_id.is_empty() {
                "anonymous".to_owned()
            } else {
                ctx.access_key_id.clone()
            },
            trace: Some(ctx.trace.clone()),
        })
    }

    fn fail(&self, e: Error) -> S3Error {
        let mut e = S3Error::from(e);
        e.set_request_id(self.request_id.clone());
        e
    }
}

/// Runs a handler that takes the input alone.
macro_rules! input_op {
    ($self:ident, $req:ident, $handler:path) => {{
        let cx = Cx::of(&$req)?;
        $handler($self, &cx, $req.input).await.map(S3Response::new).map_err(|e| cx.fail(e))
    }};
}

/// Runs a handler that needs the whole request (headers, trailers) and answers a response.
macro_rules! request_op {
    ($self:ident, $req:ident, $handler:path) => {{
        let cx = Cx::of(&$req)?;
        $handler($self, &cx, $req).await.map_err(|e| cx.fail(e))
    }};
}

#[async_trait::async_trait]
impl S3 for Engine {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        input_op!(self, req, buckets::create)
    }

    async fn head_bucket(&self, req: S3Request<HeadBucketInput>) -> S3Result<S3Response<HeadBucketOutput>> {
        input_op!(self, req, buckets::head)
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        input_op!(self, req, buckets::list)
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        input_op!(self, req, buckets::delete)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        input_op!(self, req, buckets::location)
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        input_op!(self, req, buckets::put_tagging)
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        input_op!(self, req, buckets::get_tagging)
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        input_op!(self, req, buckets::delete_tagging)
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        input_op!(self, req, buckets::put_cors)
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        input_op!(self, req, buckets::get_cors)
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        input_op!(self, req, buckets::delete_cors)
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        input_op!(self, req, buckets::put_policy)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        input_op!(self, req, buckets::get_policy)
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        input_op!(self, req, buckets::delete_policy)
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        input_op!(self, req, buckets::put_lifecycle)
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        input_op!(self, req, buckets::get_lifecycle)
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        input_op!(self, req, buckets::delete_lifecycle)
    }

    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        input_op!(self, req, buckets::put_notification)
    }

    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        input_op!(self, req, buckets::get_notification)
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        input_op!(self, req, buckets::get_versioning)
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        input_op!(self, req, buckets::put_versioning)
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        input_op!(self, req, versions::list)
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        input_op!(self, req, acl::get_bucket)
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        input_op!(self, req, acl::put_bucket)
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        input_op!(self, req, acl::get_object)
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        input_op!(self, req, acl::put_object)
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        input_op!(self, req, acl::put_ownership)
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        input_op!(self, req, acl::get_ownership)
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        input_op!(self, req, acl::delete_ownership)
    }

    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        request_op!(self, req, objects::put)
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        request_op!(self, req, objects::get)
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        request_op!(self, req, objects::head)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        input_op!(self, req, objects::delete)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        input_op!(self, req, objects::delete_many)
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        input_op!(self, req, objects::copy)
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        input_op!(self, req, objects::put_tagging)
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        input_op!(self, req, objects::get_tagging)
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        input_op!(self, req, objects::delete_tagging)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        input_op!(self, req, list::v1)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        input_op!(self, req, list::v2)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        input_op!(self, req, multipart::create)
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        request_op!(self, req, multipart::upload_part)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        input_op!(self, req, multipart::upload_part_copy)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        input_op!(self, req, multipart::complete)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        input_op!(self, req, multipart::abort)
    }

    async fn list_parts(&self, req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
        input_op!(self, req, multipart::list_parts)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        input_op!(self, req, multipart::list_uploads)
    }
}
