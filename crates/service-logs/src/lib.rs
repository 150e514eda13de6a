//! Amazon CloudWatch Logs for Nimbus, on awsJson 1.1 (`X-Amz-Target: Logs_20140328.*`): log
//! groups and streams, PutLogEvents / GetLogEvents / FilterLogEvents (with filter patterns),
//! retention policies that are applied, and tags. Any other operation of the model answers
//! `NotImplemented`.
//!
//! A request is parsed into an [`Operation`] (all validation, no IO), then acted on against the
//! store; `model` describes the records and the key layout. Lambda writes its function logs
//! through a [`LogWriter`] (see `writer`), which batches lines from many invocations into few
//! commits; its background thread also purges deleted streams and expired events.

mod db;
mod error;
mod events;
mod filter;
mod groups;
mod model;
mod operation;
mod search;
mod streams;
mod tags;
mod token;
mod writer;

use std::sync::Arc;

use protocol::{
    AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError, error_response, json,
};
use serde::Serialize;
use storage::Store;
use types::{Clock, Scope};

pub use error::Error;
pub use operation::Operation;
pub use writer::LogWriter;

use db::Db;

/// The target prefix of every CloudWatch Logs operation.
pub const TARGET_PREFIX: &str = "Logs_20140328";

/// The CloudWatch Logs service. Cheap to share; all state is in the store.
#[derive(Debug, Clone)]
pub struct LogsService {
    db: Db,
    clock: Arc<dyn Clock>,
    writer: LogWriter,
}

/// What a handler works with: the store, the request and the time it is served at.
pub(crate) struct Env<'a> {
    db: &'a Db,
    ctx: &'a RequestContext,
    /// Milliseconds since the epoch, read once per request so every timestamp of one request agrees.
    now: i64,
    writer: &'a LogWriter,
}

impl Env<'_> {
    fn scope(&self) -> &Scope {
        &self.ctx.scope
    }

    fn respond<T: Serialize>(&self, output: &T) -> Response {
        json::response(Protocol::AwsJson1_1, self.ctx, output)
    }

    fn empty(&self) -> Response {
        self.respond(&serde_json::json!({}))
    }

    /// `arn:aws:logs:{region}:{account}:log-group:{name}`.
    fn group_arn(&self, name: &str) -> String {
        let s = self.scope();
        format!("arn:aws:logs:{}:{}:log-group:{name}", s.region, s.account)
    }
}

/// Milliseconds since the epoch of `clock`'s now.
fn now_ms(clock: &dyn Clock) -> i64 {
    i64::try_from(clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl LogsService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> LogsService {
        let db = Db { kv: store.kv };
        let writer = LogWriter::start(db.clone(), clock.clone());
        LogsService { db, clock, writer }
    }

    /// The handle Lambda writes function logs through.
    pub fn writer(&self) -> LogWriter {
        self.writer.clone()
    }

    fn handle(&self, ctx: &RequestContext, req: &Request) -> Response {
        match self.serve(ctx, req) {
            Ok(resp) => resp,
            Err(e) => {
                if let Error::Internal(source) = &e {
                    tracing::error!(error = %source, "logs request failed in the store");
                }
                error_response(Protocol::AwsJson1_1, ctx, &e.to_wire())
            }
        }
    }

    fn serve(&self, ctx: &RequestContext, req: &Request) -> Result<Response, Error> {
        let target = json::target(req.headers(), TARGET_PREFIX)?;
        let op = Operation::parse(target, req.body())?;
        let env = Env { db: &self.db, ctx, now: now_ms(self.clock.as_ref()), writer: &self.writer };
        act(&env, op)
    }
}

/// The one dispatch from operation to handler.
fn act(env: &Env<'_>, op: Operation) -> Result<Response, Error> {
    match op {
        Operation::CreateLogGroup { group, tags, kms_key_id, class } => {
            env.create_log_group(&group, tags, kms_key_id, class)
        }
        Operation::DeleteLogGroup { group } => env.delete_log_group(&group),
        Operation::DescribeLogGroups(input) => env.describe_log_groups(&input),
        Operation::CreateLogStream { group, stream } => env.create_log_stream(&group, &stream),
        Operation::DeleteLogStream { group, stream } => env.delete_log_stream(&group, &stream),
        Operation::DescribeLogStreams(input) => env.describe_log_streams(&input),
        Operation::PutLogEvents { group, stream, events } => env.put_log_events(&group, &stream, events),
        Operation::GetLogEvents(input) => env.get_log_events(&input),
        Operation::FilterLogEvents(input) => env.filter_log_events(&input),
        Operation::PutRetentionPolicy { group, days } => env.put_retention_policy(&group, days),
        Operation::DeleteRetentionPolicy { group } => env.delete_retention_policy(&group),
        Operation::TagLogGroup { group, tags } => env.tag_group(&group, tags, tags::Api::Legacy),
        Operation::UntagLogGroup { group, keys } => env.untag_group(&group, &keys),
        Operation::ListTagsLogGroup { group } => env.list_tags(&group),
        Operation::TagResource { arn, tags } => env.tag_group(&env.tagged(&arn)?, tags, tags::Api::Resource),
        Operation::UntagResource { arn, keys } => env.untag_group(&env.tagged(&arn)?, &keys),
        Operation::ListTagsForResource { arn } => env.list_tags(&env.tagged(&arn)?),
    }
}

impl AwsService for LogsService {
    fn signing_name(&self) -> &'static str {
        "logs"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson1_1
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        // The store is synchronous and fast (memory, or SQLite's WAL); the gateway already runs
        // each request in its own task.
        Box::pin(async move { self.handle(&ctx, &req) })
    }
}

#[cfg(test)]
mod tests;
