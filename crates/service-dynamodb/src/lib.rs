//! Amazon DynamoDB for Nimbus on awsJson 1.0 (`X-Amz-Target: DynamoDB_20120810.*`): tables
//! with local and global secondary indexes, items with the expression languages of
//! `dynamodb-expr`, Query and Scan with DynamoDB's paging, batches and transactions.
//!
//! A request is parsed into an [`Operation`] (no IO), then acted on against the store; see
//! `model` for the records and the key layout, `keycode` for the order-preserving key encoding
//! and `db` for the optimistic read-check-write loop every write goes through (an item and its
//! index entries are one atomic batch, preconditioned on what was read). Every account and
//! region has its own tables. `sweep_ttl` deletes expired items (the server runs it
//! periodically). Every write of a table with a stream also appends its change
//! record in the same batch (`streams`), served by the DynamoDB Streams API
//! (`DynamoDBStreams_20120810.*`) and by [`ports::StreamReader`]. PartiQL statements
//! (`statements`) run as the item operations they stand for. Backups and global tables answer
//! `NotImplemented`.

mod batch;
mod capacity;
mod db;
mod error;
mod items;
mod keycode;
mod model;
mod operation;
mod read;
mod render;
mod statements;
mod streams;
mod tables;
mod ttl;

use std::sync::Arc;

use protocol::{
    AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError, error_response,
};
use serde_json::Value;
use storage::{Kv, Store};
use types::{Clock, Scope};

pub use error::Error;
pub use keycode::encode_value as encode_key_value;
pub use operation::Operation;

/// The DynamoDB service. Cheap to share; all state is in the store.
#[derive(Debug, Clone)]
pub struct DynamoDbService {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    sequencer: Arc<streams::Sequencer>,
    /// Where the request units of each table are counted, once `server` hands a meter over.
    meter: capacity::Meter,
}

/// What a handler works with: the store, the tenant and the time the request is served at.
pub(crate) struct Env<'a> {
    kv: &'a dyn Kv,
    scope: &'a Scope,
    /// Unix seconds with fractions, read once per request.
    now: f64,
    /// The same instant in nanoseconds (stream sequence numbers, iterator ages).
    now_nanos: i128,
    sequencer: &'a streams::Sequencer,
    /// Held from a write's first stream record until its batch committed.
    seq_guard: streams::SequenceGuard<'a>,
    /// Deletions by the TTL sweep: their stream records name the service as the deleter.
    ttl_deletes: bool,
    meter: Option<&'a dyn ports::UsageMeter>,
}

impl DynamoDbService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> DynamoDbService {
        DynamoDbService { kv: store.kv, clock, sequencer: Arc::default(), meter: capacity::Meter::default() }
    }

    /// Where the read and write request units each table consumes are counted (as
    /// ConsumedCapacity reports them, whether or not the request asked for it).
    pub fn set_usage_meter(&self, meter: Arc<dyn ports::UsageMeter>) {
        let _ = self.meter.0.set(meter);
    }

    fn now_nanos(&self) -> i128 {
        self.clock.now().unix_timestamp_nanos()
    }

    fn env<'a>(&'a self, scope: &'a Scope, now_nanos: i128, sequencer: &'a streams::Sequencer) -> Env<'a> {
        Env {
            kv: self.kv.as_ref(),
            scope,
            now: now_nanos as f64 / 1e9,
            now_nanos,
            sequencer,
            seq_guard: std::cell::RefCell::new(None),
            ttl_deletes: false,
            meter: self.meter.0.get().map(|m| m.as_ref()),
        }
    }

    /// Serves one request synchronously (the store is synchronous); the entry point benches use.
    pub fn handle(&self, ctx: &RequestContext, req: &Request) -> Response {
        match self.serve(ctx, req) {
            Ok(output) => protocol::json::response(Protocol::AwsJson1_0, ctx, &output),
            Err(e) => {
                if let Error::InternalServerError(source) = &e {
                    tracing::error!(error = %source, "dynamodb request failed in the store");
                }
                render_error(ctx, &e)
            }
        }
    }

    fn serve(&self, ctx: &RequestContext, req: &Request) -> Result<Value, Error> {
        let (prefix, name) = match protocol::json::target(req.headers(), operation::TARGET) {
            Ok(name) => (operation::TARGET, name),
            Err(_) => {
                (operation::STREAMS_TARGET, protocol::json::target(req.headers(), operation::STREAMS_TARGET)?)
            }
        };
        let op = Operation::parse(prefix, name, req.body())?;
        let env = self.env(&ctx.scope, self.now_nanos(), &self.sequencer);
        act(&env, op)
    }
}

/// The one dispatch from operation to handler.
fn act(env: &Env<'_>, op: Operation) -> Result<Value, Error> {
    match op {
        Operation::CreateTable(input) => env.create_table(*input),
        Operation::DescribeTable(input) => env.describe_table(&input.table_name),
        Operation::ListTables(input) => env.list_tables(&input),
        Operation::DeleteTable(input) => env.delete_table(&input.table_name),
        Operation::UpdateTable(input) => env.update_table(*input),
        Operation::DescribeEndpoints => Ok(tables::describe_endpoints()),
        Operation::DescribeLimits => Ok(tables::describe_limits()),
        Operation::TagResource(input) => env.tag_resource(input),
        Operation::UntagResource(input) => env.untag_resource(input),
        Operation::ListTagsOfResource(input) => env.list_tags(&input.resource_arn),
        Operation::UpdateTimeToLive(input) => env.update_ttl(input),
        Operation::DescribeTimeToLive(input) => env.describe_ttl(&input.table_name),
        Operation::PutItem(input) => env.put_item(*input),
        Operation::GetItem(input) => env.get_item(*input),
        Operation::UpdateItem(input) => env.update_item(*input),
        Operation::DeleteItem(input) => env.delete_item(*input),
        Operation::Query(input) => env.query(*input),
        Operation::Scan(input) => env.scan(*input),
        Operation::BatchGetItem(input) => env.batch_get(*input),
        Operation::BatchWriteItem(input) => env.batch_write(*input),
        Operation::TransactGetItems(input) => env.transact_get(*input),
        Operation::TransactWriteItems(input) => env.transact_write(*input),
        Operation::ListStreams(input) => env.list_streams(&input),
        Operation::DescribeStream(input) => env.describe_stream(&input),
        Operation::GetShardIterator(input) => env.get_shard_iterator(&input),
        Operation::GetRecords(input) => env.get_records(&input),
        Operation::ExecuteStatement(input) => env.execute_statement(*input),
        Operation::BatchExecuteStatement(input) => env.batch_execute_statement(*input),
        Operation::ExecuteTransaction(input) => env.execute_transaction(*input),
    }
}

/// An error in DynamoDB's JSON shape, with the members some errors carry besides the message.
fn render_error(ctx: &RequestContext, e: &Error) -> Response {
    let info = e.to_wire();
    let mut resp = error_response(Protocol::AwsJson1_0, ctx, &info);
    let extra = e.extra_members();
    if !extra.is_empty() {
        let mut body = serde_json::Map::new();
        body.insert("__type".to_owned(), Value::String(info.code.to_string()));
        body.insert("message".to_owned(), Value::String(info.message.clone()));
        body.extend(extra);
        *resp.body_mut() = bytes::Bytes::from(Value::Object(body).to_string());
    }
    resp
}

impl AwsService for DynamoDbService {
    fn signing_name(&self) -> &'static str {
        "dynamodb"
    }

    fn protocol(&self) -> Protocol {
        Protocol::AwsJson1_0
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        // The store is synchronous and fast (memory, or SQLite's WAL); the gateway already runs
        // each request in its own task.
        Box::pin(async move { self.handle(&ctx, &req) })
    }
}

#[cfg(test)]
mod tests;
