//! AWS CloudFormation for Nimbus, on the query protocol (`Version=2010-05-15`): stacks from
//! CloudFormation and SAM templates, change sets (what `aws cloudformation deploy` and
//! `sam deploy` drive), events, resources, outputs and exports.
//!
//! Reading order: `operation.rs` (request → [`Operation`]), `stacks.rs` (the API: validation,
//! records, answers), `engine.rs` (create, update, rollback and delete, run in the background
//! as CloudFormation runs them), `providers/` (one module per service: how each resource type
//! is created, updated and deleted), `api.rs` (the client those providers call other services
//! with), `render.rs` (the XML), `model.rs` (records and keys).
//!
//! Templates are planned by the sans-IO `cfn-template` crate. Resources are provisioned by
//! calling each service's own public API in-process through [`ports::ServiceApi`], exactly as
//! an SDK would, so a stack's resources are indistinguishable from ones a client created and
//! every property is validated by the service that owns it. A stack is one record, rewritten at
//! every step, so a client's view (status, events, resources) survives a restart; an operation
//! cut short by a restart is finished as a failure when the service starts again (see
//! [`CloudFormationService::start`]).

mod api;
mod engine;
mod error;
mod model;
mod operation;
mod providers;
mod render;
mod stacks;
mod template_url;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ports::ServiceApi;
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError, query};
use storage::{Kv, Store};
use types::Clock;

pub use error::Error;
pub use operation::Operation;

use model::StackRecord;

/// CloudFormation's XML namespace, on every response document.
pub const XMLNS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// The CloudFormation service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct CloudFormationService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for CloudFormationService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFormationService").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    api: OnceLock<Arc<dyn ServiceApi>>,
    /// Every stack, deleted ones included (they stay describable by id), by [`model::stack_key`].
    stacks: Mutex<BTreeMap<Vec<u8>, StackRecord>>,
}

impl CloudFormationService {
    /// Builds the service and loads every stack. Hand it the other services' API with
    /// [`CloudFormationService::set_api`], then call [`CloudFormationService::start`].
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Result<CloudFormationService, Error> {
        let inner = Inner { kv: store.kv, clock, api: OnceLock::new(), stacks: Mutex::new(BTreeMap::new()) };
        {
            let mut stacks = lock(&inner.stacks);
            for (key, raw) in inner.kv.scan_all(model::STACKS, storage::KeyRange::all())? {
                stacks.insert(key, model::decode(&raw)?);
            }
        }
        Ok(CloudFormationService { inner: Arc::new(inner) })
    }

    /// The APIs resources are provisioned through.
    pub fn set_api(&self, api: Arc<dyn ServiceApi>) {
        let _ = self.inner.api.set(api);
    }

    /// Finishes the operations a stop cut short: a stack that was being created or rolled back
    /// is rolled back, one being deleted is deleted, one being updated is marked
    /// `UPDATE_ROLLBACK_FAILED` (its resources are as the interrupted update left them). Must be
    /// called inside a tokio runtime, after [`CloudFormationService::set_api`].
    pub fn start(&self) {
        engine::resume(self.inner.clone());
    }

    async fn handle(&self, ctx: &RequestContext, req: &Request) -> Response {
        let mut result = query::params(req).map_err(Error::from).and_then(|p| Operation::parse(&p));
        if let Ok(op) = result {
            result = match self.inner.api.get() {
                Some(port) => template_url::resolve(api::Api::new(port.as_ref(), &ctx.scope), op).await,
                None => Ok(op),
            };
        }
        match result.and_then(|op| stacks::act(&self.inner, ctx, op)) {
            Ok(resp) => resp,
            Err(e) => {
                if let Error::Internal(source) = &e {
                    tracing::error!(error = %source, "cloudformation request failed in the store");
                }
                protocol::error_response(Protocol::Query, ctx, &e.to_wire())
            }
        }
    }
}

impl AwsService for CloudFormationService {
    fn signing_name(&self) -> &'static str {
        "cloudformation"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        // Handlers are synchronous once a TemplateURL is read; stack operations run as tasks
        // they spawn.
        Box::pin(async move { self.handle(&ctx, &req).await })
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Writes a stack record through to the store, then the cache.
    pub(crate) fn save(&self, key: &[u8], record: StackRecord) -> Result<(), Error> {
        let mut stacks = lock(&self.stacks);
        self.kv.put(model::STACKS, key, &model::encode(&record))?;
        stacks.insert(key.to_vec(), record);
        Ok(())
    }

    /// Changes a stack record under the cache lock and writes it through. Returns the new record.
    pub(crate) fn update(
        &self,
        key: &[u8],
        change: impl FnOnce(&mut StackRecord),
    ) -> Result<StackRecord, Error> {
        let mut stacks = lock(&self.stacks);
        let Some(record) = stacks.get(key) else {
            return Err(error::invalid("Stack does not exist"));
        };
        let mut record = record.clone();
        change(&mut record);
        if record.events.len() > model::MAX_EVENTS {
            let excess = record.events.len() - model::MAX_EVENTS;
            record.events.drain(..excess);
        }
        self.kv.put(model::STACKS, key, &model::encode(&record))?;
        stacks.insert(key.to_vec(), record.clone());
        Ok(record)
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<StackRecord> {
        lock(&self.stacks).get(key).cloned()
    }
}
