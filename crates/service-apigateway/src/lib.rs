//! Amazon API Gateway for Nimbus: REST APIs (v1, `/restapis/...`) and HTTP APIs (v2,
//! `/v2/...`), both on rest-json under the signing name `apigateway`, and the execute-api data
//! plane that turns HTTP requests into Lambda proxy events through [`ports::FunctionInvoker`].
//!
//! Reading order: `operation.rs` (request → [`Operation`]), `http_apis.rs` and `rest_apis.rs`
//! (the two control planes), `authorizers.rs` and `usage_plans.rs` (authorizers, API keys,
//! usage plans), `models.rs` (models, request validators, gateway responses), `domains.rs`
//! (custom domain names and their mappings), `patch.rs` (v1 patch operations), `openapi.rs` (REST APIs from
//! OpenAPI 3 / Swagger 2), `model.rs` (records and keys),
//! then `dataplane/` (`mod.rs` finds the API and stage, `router.rs` picks the route,
//! `event.rs` builds the 1.0/2.0 events, `response.rs` reads what the function returned,
//! `auth.rs` runs Lambda authorizers and `policy.rs` evaluates their policies, `limits.rs` holds
//! token buckets, quotas and the authorizer cache).
//!
//! APIs are cached in memory, write-through, by id: one Nimbus process owns its data dir, so the
//! cache cannot be stale, and the data plane resolves a request without touching the store.
//! Control-plane writes are serialized by one lock; the data plane only reads.

mod access_log;
mod api_key_file;
mod authorizers;
mod dataplane;
mod domains;
mod error;
mod http_apis;
mod http_openapi;
mod model;
mod models;
mod openapi;
mod operation;
mod patch;
mod rest_apis;
mod rest_export;
mod routes;
mod usage_plans;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use http::StatusCode;
use ports::FunctionInvoker;
use protocol::{AwsService, BoxFuture, Protocol, Request, RequestContext, Response};
use storage::{Kv, Store};
use types::Clock;

pub use error::Error;
pub use operation::Operation;

use model::{ApiKey, HttpApi, RestApi, UsagePlan};

/// The API Gateway service. Cheap to clone; shares one state.
#[derive(Clone)]
pub struct ApiGatewayService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiGatewayService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGatewayService").finish_non_exhaustive()
    }
}

/// One API of either kind, as cached.
#[derive(Clone)]
pub(crate) enum Api {
    Http(Arc<HttpApi>),
    Rest(Arc<RestApi>),
}

pub(crate) struct Inner {
    kv: Arc<dyn Kv>,
    clock: Arc<dyn Clock>,
    invoker: Arc<dyn FunctionInvoker>,
    /// SQS, for `AWS` integrations that send messages; set once at wiring.
    queues: std::sync::OnceLock<Arc<dyn ports::QueueSender>>,
    /// Every service's API, for `AWS` integrations with other services (DynamoDB, EventBridge,
    /// SNS, S3, ...); set once at wiring.
    services: std::sync::OnceLock<Arc<dyn ports::ServiceApi>>,
    /// Ships access log lines to CloudWatch Logs in the background.
    access_logs: access_log::Shipper,
    /// Where data-plane requests are counted per API; set once at wiring.
    pub(crate) meter: std::sync::OnceLock<Arc<dyn ports::UsageMeter>>,
    /// Every API of every tenant, by id (ids are random and unique across tenants).
    apis: Mutex<HashMap<String, Api>>,
    /// Every API key and usage plan of every tenant, by id.
    keys: Mutex<HashMap<String, Arc<ApiKey>>>,
    plans: Mutex<HashMap<String, Arc<UsagePlan>>>,
    /// Every custom domain name, by name (one namespace for all tenants, as hosts are global).
    domains: Mutex<HashMap<String, Arc<model::DomainName>>>,
    /// Serializes control-plane read-modify-writes of API, key and plan records.
    writes: Mutex<()>,
    /// The data plane's in-memory state: token buckets, quota counters, authorizer results.
    limits: dataplane::Limits,
}

impl ApiGatewayService {
    /// Builds the service and loads every API into the cache.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        invoker: Arc<dyn FunctionInvoker>,
    ) -> Result<ApiGatewayService, Error> {
        let inner = Inner {
            kv: store.kv,
            clock,
            invoker,
            queues: std::sync::OnceLock::new(),
            services: std::sync::OnceLock::new(),
            access_logs: access_log::Shipper::default(),
            meter: std::sync::OnceLock::new(),
            apis: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
            plans: Mutex::new(HashMap::new()),
            domains: Mutex::new(HashMap::new()),
            writes: Mutex::new(()),
            limits: dataplane::Limits::default(),
        };
        inner.load()?;
        inner.load_usage_plans()?;
        inner.load_domains()?;
        Ok(ApiGatewayService { inner: Arc::new(inner) })
    }

    /// Where each data-plane request is counted against its API (REST or HTTP, as billed).
    pub fn set_usage_meter(&self, meter: Arc<dyn ports::UsageMeter>) {
        let _ = self.inner.meter.set(meter);
    }

    /// Lets `AWS` integrations with an SQS URI send messages (`SendMessage`).
    pub fn set_queue_sender(&self, queues: Arc<dyn ports::QueueSender>) {
        let _ = self.inner.queues.set(queues);
    }

    /// Lets `AWS` integrations call other services' actions and paths, as API Gateway calls
    /// them with the integration's role.
    pub fn set_service_api(&self, services: Arc<dyn ports::ServiceApi>) {
        let _ = self.inner.services.set(services);
    }

    async fn handle(&self, ctx: RequestContext, req: Request) -> Response {
        if let Some(target) = dataplane::target(&req) {
            return dataplane::handle(&self.inner, &ctx, target, req).await;
        }
        match domains::route(&self.inner, &req) {
            Some(Ok(target)) => return dataplane::handle(&self.inner, &ctx, target, req).await,
            Some(Err(refused)) => return refused,
            None => {}
        }
        let result = match Operation::parse(&req) {
            // The one control-plane operation that waits on a function.
            Ok(Operation::TestInvokeAuthorizer(api, id, input)) => {
                authorizers::test_invoke(&self.inner, &ctx, &api, &id, input).await
            }
            Ok(op) => self.inner.act(&ctx, op),
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| e.into_response(&ctx))
    }
}

impl AwsService for ApiGatewayService {
    fn signing_name(&self) -> &'static str {
        "apigateway"
    }

    fn protocol(&self) -> Protocol {
        Protocol::RestJson
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(self.handle(ctx, req))
    }

    fn claims_host(&self, host: &str) -> bool {
        domains::claims(&self.inner, host)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A rest-json success response with `status`.
pub(crate) fn ok(
    ctx: &RequestContext,
    status: StatusCode,
    body: &serde_json::Value,
) -> Result<Response, Error> {
    Ok(protocol::rest::json_response(status, body, ctx.request_id.as_str()))
}

/// A success response without a body (Delete*, Untag*).
pub(crate) fn empty(ctx: &RequestContext, status: StatusCode) -> Result<Response, Error> {
    let mut resp = http::Response::new(bytes::Bytes::new());
    *resp.status_mut() = status;
    protocol::rest::set_request_id(resp.headers_mut(), Protocol::RestJson, ctx.request_id.as_str());
    Ok(resp)
}

impl Inner {
    /// The one dispatch from operation to handler.
    fn act(&self, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
        use Operation as O;
        match op {
            O::CreateApi(_)
            | O::ImportApi(_)
            | O::ReimportApi(..)
            | O::ExportApi { .. }
            | O::GetApi(_)
            | O::GetApis
            | O::UpdateApi(..)
            | O::DeleteApi(_)
            | O::DeleteCorsConfiguration(_)
            | O::CreateRoute(..)
            | O::GetRoute(..)
            | O::GetRoutes(_)
            | O::UpdateRoute(..)
            | O::DeleteRoute(..)
            | O::CreateIntegration(..)
            | O::GetIntegration(..)
            | O::GetIntegrations(_)
            | O::UpdateIntegration(..)
            | O::DeleteIntegration(..)
            | O::CreateStage(..)
            | O::GetStage(..)
            | O::GetStages(_)
            | O::UpdateStage(..)
            | O::DeleteAccessLogSettings(..)
            | O::DeleteStage(..)
            | O::CreateDeployment(..)
            | O::GetDeployment(..)
            | O::GetDeployments(_)
            | O::DeleteDeployment(..) => http_apis::act(self, ctx, op),
            O::TagResource(..) | O::UntagResource(..) | O::GetTags(_) => self.tags(ctx, op),
            O::CreateAuthorizer(..)
            | O::GetAuthorizer(..)
            | O::GetAuthorizers(_)
            | O::UpdateAuthorizer(..)
            | O::DeleteAuthorizer(..)
            | O::CreateHttpAuthorizer(..)
            | O::GetHttpAuthorizer(..)
            | O::GetHttpAuthorizers(_)
            | O::UpdateHttpAuthorizer(..)
            | O::DeleteHttpAuthorizer(..)
            | O::TestInvokeAuthorizer(..)
            | O::FlushAuthorizersCache { .. } => authorizers::act(self, ctx, op),
            O::CreateApiKey(_)
            | O::GetApiKey { .. }
            | O::GetApiKeys { .. }
            | O::UpdateApiKey(..)
            | O::DeleteApiKey(_)
            | O::CreateUsagePlan(_)
            | O::GetUsagePlan(_)
            | O::GetUsagePlans { .. }
            | O::UpdateUsagePlan(..)
            | O::DeleteUsagePlan(_)
            | O::CreateUsagePlanKey(..)
            | O::GetUsagePlanKey(..)
            | O::GetUsage { .. }
            | O::ImportApiKeys { .. }
            | O::UpdateUsage(..)
            | O::GetUsagePlanKeys(_)
            | O::DeleteUsagePlanKey(..) => usage_plans::act(self, ctx, op),
            O::CreateModel(..)
            | O::GetModel(..)
            | O::GetModels(_)
            | O::UpdateModel(..)
            | O::DeleteModel(..)
            | O::GetModelTemplate(..)
            | O::CreateRequestValidator(..)
            | O::GetRequestValidator(..)
            | O::GetRequestValidators(_)
            | O::UpdateRequestValidator(..)
            | O::DeleteRequestValidator(..)
            | O::PutGatewayResponse(..)
            | O::GetGatewayResponse(..)
            | O::GetGatewayResponses(_)
            | O::UpdateGatewayResponse(..)
            | O::DeleteGatewayResponse(..) => models::act(self, ctx, op),
            O::CreateDomainName(_)
            | O::GetDomainName(_)
            | O::GetDomainNames
            | O::UpdateDomainName(..)
            | O::DeleteDomainName(_)
            | O::CreateBasePathMapping(..)
            | O::GetBasePathMapping(..)
            | O::GetBasePathMappings(_)
            | O::UpdateBasePathMapping(..)
            | O::DeleteBasePathMapping(..)
            | O::CreateHttpDomainName(_)
            | O::GetHttpDomainName(_)
            | O::GetHttpDomainNames
            | O::UpdateHttpDomainName(..)
            | O::DeleteHttpDomainName(_)
            | O::CreateApiMapping(..)
            | O::GetApiMapping(..)
            | O::GetApiMappings(_)
            | O::UpdateApiMapping(..)
            | O::DeleteApiMapping(..) => domains::act(self, ctx, op),
            O::NotImplemented(name) => Err(Error::NotImplemented(format!("API Gateway {name}"))),
            _ => rest_apis::act(self, ctx, op),
        }
    }

    /// Both kinds of API from the store into the cache.
    fn load(&self) -> Result<(), Error> {
        let mut apis = lock(&self.apis);
        for (key, raw) in self.kv.scan(model::HTTP_APIS, storage::KeyRange::all(), storage::UNLIMITED)? {
            let api: HttpApi = model::decode(&raw)?;
            tracing::trace!(key = %String::from_utf8_lossy(&key), "loaded HTTP API");
            apis.insert(api.api_id.clone(), Api::Http(Arc::new(api)));
        }
        for (_, raw) in self.kv.scan(model::REST_APIS, storage::KeyRange::all(), storage::UNLIMITED)? {
            let api: RestApi = model::decode(&raw)?;
            apis.insert(api.id.clone(), Api::Rest(Arc::new(api)));
        }
        Ok(())
    }

    pub(crate) fn now_ms(&self) -> i64 {
        i64::try_from(self.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    /// Any API by id, for the data plane (which knows no tenant).
    pub(crate) fn api(&self, id: &str) -> Option<Api> {
        lock(&self.apis).get(id).cloned()
    }

    /// The caller's HTTP API `id`.
    pub(crate) fn http_api(&self, ctx: &RequestContext, id: &str) -> Result<Arc<HttpApi>, Error> {
        match self.api(id) {
            Some(Api::Http(api)) if api.owner.owns(&ctx.scope) => Ok(api),
            _ => Err(Error::no_api(ctx, id)),
        }
    }

    /// The caller's REST API `id`.
    pub(crate) fn rest_api(&self, ctx: &RequestContext, id: &str) -> Result<Arc<RestApi>, Error> {
        match self.api(id) {
            Some(Api::Rest(api)) if api.owner.owns(&ctx.scope) => Ok(api),
            _ => Err(Error::no_api(ctx, id)),
        }
    }

    /// Every API of the caller of one kind, by creation time.
    pub(crate) fn list<T>(&self, ctx: &RequestContext, pick: impl Fn(&Api) -> Option<Arc<T>>) -> Vec<Arc<T>> {
        let apis = lock(&self.apis);
        apis.values()
            .filter(|a| match a {
                Api::Http(h) => h.owner.owns(&ctx.scope),
                Api::Rest(r) => r.owner.owns(&ctx.scope),
            })
            .filter_map(pick)
            .collect()
    }

    pub(crate) fn save_http(&self, api: HttpApi) -> Result<Arc<HttpApi>, Error> {
        let key = model::api_key(&api.owner.account, &api.owner.region, &api.api_id);
        self.kv.put(model::HTTP_APIS, &key, &model::encode(&api))?;
        let api = Arc::new(api);
        lock(&self.apis).insert(api.api_id.clone(), Api::Http(api.clone()));
        Ok(api)
    }

    pub(crate) fn save_rest(&self, api: RestApi) -> Result<Arc<RestApi>, Error> {
        let key = model::api_key(&api.owner.account, &api.owner.region, &api.id);
        self.kv.put(model::REST_APIS, &key, &model::encode(&api))?;
        let api = Arc::new(api);
        lock(&self.apis).insert(api.id.clone(), Api::Rest(api.clone()));
        Ok(api)
    }

    /// Read-modify-write of the caller's API `id` under the write lock.
    fn update<A: Record, T>(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: impl FnOnce(&mut A) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let _writes = lock(&self.writes);
        let mut api = (*A::find(self, ctx, id)?).clone();
        let out = change(&mut api)?;
        api.save(self)?;
        Ok(out)
    }

    pub(crate) fn update_http<T>(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: impl FnOnce(&mut HttpApi) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.update(ctx, id, change)
    }

    pub(crate) fn update_rest<T>(
        &self,
        ctx: &RequestContext,
        id: &str,
        change: impl FnOnce(&mut RestApi) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.update(ctx, id, change)
    }

    /// Deletes an API of either kind from the store and the cache.
    pub(crate) fn delete_api(&self, table: &str, account: &str, region: &str, id: &str) -> Result<(), Error> {
        let _writes = lock(&self.writes);
        self.kv.delete(table, &model::api_key(account, region, id))?;
        lock(&self.apis).remove(id);
        Ok(())
    }

    /// TagResource, UntagResource and GetTags of both models: the ARN names the API
    /// (`arn:aws:apigateway:REGION::/apis/ID` or `…::/restapis/ID`), or one of its stages
    /// (`…/stages/NAME`).
    fn tags(&self, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
        use std::collections::BTreeMap;
        enum Change {
            Add(BTreeMap<String, String>),
            Remove(Vec<String>),
            List,
        }
        let (arn, change) = match op {
            Operation::TagResource(arn, tags) => (arn, Change::Add(tags)),
            Operation::UntagResource(arn, keys) => (arn, Change::Remove(keys)),
            Operation::GetTags(arn) => (arn, Change::List),
            _ => return Err(Error::UnknownOperationException),
        };
        let path = arn.split_once("::").map(|(_, p)| p).unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (kind, id, stage) = match parts.as_slice() {
            [kind, id] => (*kind, *id, None),
            [kind, id, "stages", stage] => (*kind, *id, Some(*stage)),
            _ => return Err(Error::bad(format!("Invalid ARN specified in the request: {arn}"))),
        };
        let apply = |tags: &mut BTreeMap<String, String>| -> BTreeMap<String, String> {
            match &change {
                Change::Add(new) => tags.extend(new.clone()),
                Change::Remove(keys) => keys.iter().for_each(|k| {
                    tags.remove(k);
                }),
                Change::List => {}
            }
            tags.clone()
        };
        let stage_missing = || Error::not_found("Invalid stage identifier specified");
        let tags = match kind {
            "apis" => self.update_http(ctx, id, |api| match stage {
                None => Ok(apply(&mut api.tags)),
                Some(s) => api.stages.get_mut(s).map(|st| apply(&mut st.tags)).ok_or_else(stage_missing),
            })?,
            "restapis" => self.update_rest(ctx, id, |api| match stage {
                None => Ok(apply(&mut api.tags)),
                Some(s) => api.stages.get_mut(s).map(|st| apply(&mut st.tags)).ok_or_else(stage_missing),
            })?,
            _ => return Err(Error::bad(format!("Invalid ARN specified in the request: {arn}"))),
        };
        match change {
            Change::List => ok(ctx, StatusCode::OK, &serde_json::json!({ "tags": tags })),
            Change::Add(_) if kind == "apis" => ok(ctx, StatusCode::CREATED, &serde_json::json!({})),
            _ => empty(ctx, StatusCode::NO_CONTENT),
        }
    }
}

/// An API record of either kind, as the read-modify-write helper needs it.
trait Record: Clone {
    fn find(inner: &Inner, ctx: &RequestContext, id: &str) -> Result<Arc<Self>, Error>;
    fn save(self, inner: &Inner) -> Result<Arc<Self>, Error>;
}

impl Record for HttpApi {
    fn find(inner: &Inner, ctx: &RequestContext, id: &str) -> Result<Arc<Self>, Error> {
        inner.http_api(ctx, id)
    }

    fn save(self, inner: &Inner) -> Result<Arc<Self>, Error> {
        inner.save_http(self)
    }
}

impl Record for RestApi {
    fn find(inner: &Inner, ctx: &RequestContext, id: &str) -> Result<Arc<Self>, Error> {
        inner.rest_api(ctx, id)
    }

    fn save(self, inner: &Inner) -> Result<Arc<Self>, Error> {
        inner.save_rest(self)
    }
}

#[cfg(test)]
mod tests;
