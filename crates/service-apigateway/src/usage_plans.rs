//! API keys, usage plans and usage plan keys (REST APIs). They belong to the account, not to an
//! API: one record each, cached by id and written through under the control-plane write lock,
//! so the data plane finds a key by its value and the plans that hold it without the store.

use std::collections::BTreeSet;
use std::sync::Arc;

use http::StatusCode;
use protocol::{RequestContext, Response};
use serde_json::{Value, json};
use storage::{Batch, CommitError, StorageError};

use crate::error::Error;
use crate::model::{self, ApiKey, Owner, UsagePlan};
use crate::operation::{ApiKeyInput, Operation, UsagePlanInput, UsagePlanKeyInput};
use crate::{Api, Inner, empty, lock, ok, patch};

pub(crate) fn act(inner: &Inner, ctx: &RequestContext, op: Operation) -> Result<Response, Error> {
    match op {
        Operation::CreateApiKey(input) => {
            let key = create_key(inner, ctx, input)?;
            ok(ctx, StatusCode::CREATED, &key_view(&key, true))
        }
        Operation::GetApiKey { id, include_value } => {
            let key = inner.api_key(ctx, &id)?;
            ok(ctx, StatusCode::OK, &key_view(&key, include_value))
        }
        Operation::GetApiKeys { include_values, name, customer_id } => {
            let mut keys: Vec<Arc<ApiKey>> = lock(&inner.keys)
                .values()
                .filter(|k| k.owner.owns(&ctx.scope))
                .filter(|k| {
                    name.as_deref().is_none_or(|n| k.name.as_deref().is_some_and(|kn| kn.starts_with(n)))
                })
                .filter(|k| customer_id.as_deref().is_none_or(|c| k.customer_id.as_deref() == Some(c)))
                .cloned()
                .collect();
            keys.sort_by_key(|k| k.created_ms);
            let items: Vec<Value> = keys.iter().map(|k| key_view(k, include_values)).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateApiKey(id, ops) => {
            let now = inner.now_ms();
            let _writes = lock(&inner.writes);
            let mut key = (*inner.api_key(ctx, &id)?).clone();
            patch::api_key(&mut key, &ops)?;
            key.updated_ms = now;
            let key = inner.commit_key(key)?;
            ok(ctx, StatusCode::OK, &key_view(&key, false))
        }
        Operation::DeleteApiKey(id) => {
            let _writes = lock(&inner.writes);
            let key = inner.api_key(ctx, &id)?;
            // The key leaves every plan that held it in the same batch.
            let plans: Vec<UsagePlan> = lock(&inner.plans)
                .values()
                .filter(|p| p.owner.owns(&ctx.scope) && p.keys.contains(&id))
                .map(|p| {
                    let mut p = (**p).clone();
                    p.keys.remove(&id);
                    p
                })
                .collect();
            let mut batch = Batch::new().delete(model::API_KEYS, record_key(&key.owner, &key.id));
            for plan in &plans {
                batch = batch.put(model::USAGE_PLANS, record_key(&plan.owner, &plan.id), model::encode(plan));
            }
            commit(inner, batch)?;
            lock(&inner.keys).remove(&id);
            let mut cached = lock(&inner.plans);
            for plan in plans {
                cached.insert(plan.id.clone(), Arc::new(plan));
            }
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::CreateUsagePlan(input) => {
            let _writes = lock(&inner.writes);
            let plan = new_plan(inner, ctx, input)?;
            let plan = inner.commit_plan(plan)?;
            ok(ctx, StatusCode::CREATED, &plan_view(&plan))
        }
        Operation::GetUsagePlan(id) => {
            let plan = inner.usage_plan(ctx, &id)?;
            ok(ctx, StatusCode::OK, &plan_view(&plan))
        }
        Operation::GetUsagePlans { key_id } => {
            let mut plans: Vec<Arc<UsagePlan>> = lock(&inner.plans)
                .values()
                .filter(|p| p.owner.owns(&ctx.scope))
                .filter(|p| key_id.as_deref().is_none_or(|k| p.keys.contains(k)))
                .cloned()
                .collect();
            plans.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
            let items: Vec<Value> = plans.iter().map(|p| plan_view(p)).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::UpdateUsagePlan(id, ops) => {
            let _writes = lock(&inner.writes);
            let mut plan = (*inner.usage_plan(ctx, &id)?).clone();
            patch::usage_plan(&mut plan, &ops)?;
            check_plan(inner, ctx, &plan)?;
            let plan = inner.commit_plan(plan)?;
            ok(ctx, StatusCode::OK, &plan_view(&plan))
        }
        Operation::DeleteUsagePlan(id) => {
            let _writes = lock(&inner.writes);
            let plan = inner.usage_plan(ctx, &id)?;
            inner.kv.delete(model::USAGE_PLANS, &record_key(&plan.owner, &plan.id))?;
            lock(&inner.plans).remove(&id);
            empty(ctx, StatusCode::ACCEPTED)
        }
        Operation::CreateUsagePlanKey(plan_id, UsagePlanKeyInput { key_id, key_type }) => {
            let _writes = lock(&inner.writes);
            let mut plan = (*inner.usage_plan(ctx, &plan_id)?).clone();
            if key_type.as_deref() != Some("API_KEY") {
                return Err(Error::bad(format!(
                    "Invalid key type specified: {}",
                    key_type.as_deref().unwrap_or_default()
                )));
            }
            let key_id = key_id.unwrap_or_default();
            let key = inner.api_key(ctx, &key_id)?;
            if !plan.keys.insert(key_id.clone()) {
                return Err(Error::ConflictException(format!(
                    "Usage Plan {plan_id} already contains API Key {key_id}"
                )));
            }
            inner.commit_plan(plan)?;
            ok(ctx, StatusCode::CREATED, &plan_key_view(&key))
        }
        Operation::ImportApiKeys { body, fail_on_warnings } => {
            let text =
                std::str::from_utf8(&body).map_err(|_| Error::bad("The API key file is not UTF-8 text"))?;
            let (rows, mut warnings) = crate::api_key_file::parse(text)?;
            let _writes = lock(&inner.writes);
            let owner = Owner::of(&ctx.scope);
            let mut plans: Vec<UsagePlan> = Vec::new();
            let mut accepted = Vec::new();
            for row in rows {
                let mut ok_plans = Vec::new();
                for id in &row.usage_plan_ids {
                    match lock(&inner.plans).get(id) {
                        Some(p) if p.owner.owns(&ctx.scope) => ok_plans.push(id.clone()),
                        _ => warnings.push(format!("Line {}: usage plan {id} does not exist", row.line)),
                    }
                }
                accepted.push((row, ok_plans));
            }
            if fail_on_warnings && !warnings.is_empty() {
                return Err(Error::bad(format!("The API key file has warnings: {}", warnings.join("; "))));
            }
            let now = inner.now_ms();
            let mut ids = Vec::new();
            for (row, plan_ids) in accepted {
                // A key imported again is the same key: the latest file's fields win.
                let existing =
                    lock(&inner.keys).values().find(|k| k.owner == owner && k.value == row.key).cloned();
                let mut key = match existing {
                    Some(k) => (*k).clone(),
                    None => ApiKey {
                        v: model::SCHEMA_VERSION,
                        owner: owner.clone(),
                        id: model::new_id(),
                        value: row.key.clone(),
                        name: None,
                        customer_id: None,
                        description: None,
                        enabled: true,
                        created_ms: now,
                        updated_ms: now,
                        stage_keys: Vec::new(),
                        tags: Default::default(),
                    },
                };
                key.name = Some(row.name);
                key.description = Some(row.description);
                key.enabled = row.enabled;
                key.updated_ms = now;
                let key = inner.commit_key(key)?;
                for id in plan_ids {
                    let index = match plans.iter().position(|p| p.id == id) {
                        Some(i) => i,
                        None => {
                            let plan = inner.usage_plan(ctx, &id)?;
                            plans.push((*plan).clone());
                            plans.len() - 1
                        }
                    };
                    plans[index].keys.insert(key.id.clone());
                }
                ids.push(key.id.clone());
            }
            for plan in plans {
                inner.commit_plan(plan)?;
            }
            ok(ctx, StatusCode::CREATED, &json!({ "ids": ids, "warnings": warnings }))
        }
        Operation::GetUsage { plan, key_id, start, end } => {
            let plan = inner.usage_plan(ctx, &plan)?;
            let (from, to) = (day_of(&start, "start")?, day_of(&end, "end")?);
            if to < from {
                return Err(Error::bad("The end date must not be before the start date"));
            }
            if (to - from) / DAY_MS >= 90 {
                return Err(Error::bad("The usage data can be requested for at most 90 days"));
            }
            let keys: Vec<&String> =
                plan.keys.iter().filter(|k| key_id.as_ref().is_none_or(|id| id == *k)).collect();
            let values: serde_json::Map<String, Value> =
                keys.into_iter().map(|k| (k.clone(), daily(inner, &plan, k, from, to))).collect();
            ok(
                ctx,
                StatusCode::OK,
                &json!({"usagePlanId": plan.id, "startDate": start, "endDate": end, "values": values}),
            )
        }
        Operation::UpdateUsage(plan_id, key_id, ops) => {
            let plan = inner.usage_plan(ctx, &plan_id)?;
            if !plan.keys.contains(&key_id) {
                return Err(no_plan_key(&key_id));
            }
            let Some(quota) = &plan.quota else {
                return Err(Error::bad(format!("Usage plan {plan_id} has no quota to extend")));
            };
            for op in &ops {
                let remaining = match (op.op.as_str(), op.path.as_str()) {
                    ("replace", "/remaining") => op.value.as_deref().and_then(|v| v.parse::<i64>().ok()),
                    _ => None,
                };
                let Some(remaining) = remaining.filter(|r| *r >= 0) else {
                    return Err(Error::bad(format!(
                        "Invalid patch operation specified. Must be 'replace' on '/remaining' with a number: {} {}",
                        op.op, op.path
                    )));
                };
                let key = crate::dataplane::usage_key(&plan.id, &key_id);
                inner.limits.set_remaining(&key, quota, remaining, inner.now_ms());
            }
            let today = inner.now_ms().div_euclid(DAY_MS) * DAY_MS;
            let date = model::iso(today)[..10].to_owned();
            let values = json!({ key_id.clone(): daily(inner, &plan, &key_id, today, today) });
            ok(
                ctx,
                StatusCode::OK,
                &json!({"usagePlanId": plan.id, "startDate": date, "endDate": date, "values": values}),
            )
        }
        Operation::GetUsagePlanKey(plan_id, key_id) => {
            let plan = inner.usage_plan(ctx, &plan_id)?;
            if !plan.keys.contains(&key_id) {
                return Err(no_plan_key(&key_id));
            }
            let key = inner.api_key(ctx, &key_id)?;
            ok(ctx, StatusCode::OK, &plan_key_view(&key))
        }
        Operation::GetUsagePlanKeys(plan_id) => {
            let plan = inner.usage_plan(ctx, &plan_id)?;
            let keys = lock(&inner.keys);
            let items: Vec<Value> =
                plan.keys.iter().filter_map(|id| keys.get(id)).map(|k| plan_key_view(k)).collect();
            ok(ctx, StatusCode::OK, &json!({ "item": items }))
        }
        Operation::DeleteUsagePlanKey(plan_id, key_id) => {
            let _writes = lock(&inner.writes);
            let mut plan = (*inner.usage_plan(ctx, &plan_id)?).clone();
            if !plan.keys.remove(&key_id) {
                return Err(no_plan_key(&key_id));
            }
            inner.commit_plan(plan)?;
            empty(ctx, StatusCode::ACCEPTED)
        }
        _ => Err(Error::UnknownOperationException),
    }
}

pub(crate) fn record_key(owner: &Owner, id: &str) -> Vec<u8> {
    model::api_key(&owner.account, &owner.region, id)
}

fn commit(inner: &Inner, batch: Batch) -> Result<(), Error> {
    inner.kv.commit(batch).map_err(|e| match e {
        CommitError::Storage(e) => Error::InternalFailure(e),
        CommitError::ConditionFailed { index } => {
            Error::InternalFailure(StorageError::Engine(format!("unexpected failed precondition {index}")))
        }
    })
}

fn create_key(inner: &Inner, ctx: &RequestContext, input: ApiKeyInput) -> Result<Arc<ApiKey>, Error> {
    let now = inner.now_ms();
    let value = match input.value {
        Some(v) => v,
        // AWS generates 40 alphanumerics.
        None => {
            types::ids::random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 40)
        }
    };
    let stage_keys = input
        .stage_keys
        .unwrap_or_default()
        .into_iter()
        .map(|k| format!("{}/{}", k.rest_api_id.unwrap_or_default(), k.stage_name.unwrap_or_default()))
        .collect();
    let key = ApiKey {
        v: model::SCHEMA_VERSION,
        owner: Owner::of(&ctx.scope),
        id: model::new_id(),
        value,
        name: input.name,
        customer_id: input.customer_id,
        description: input.description,
        enabled: input.enabled.unwrap_or(false),
        created_ms: now,
        updated_ms: now,
        stage_keys,
        tags: input.tags.unwrap_or_default(),
    };
    let _writes = lock(&inner.writes);
    if lock(&inner.keys).values().any(|k| k.owner == key.owner && k.value == key.value) {
        return Err(Error::ConflictException("API Key already exists".to_owned()));
    }
    inner.commit_key(key)
}

fn new_plan(inner: &Inner, ctx: &RequestContext, input: UsagePlanInput) -> Result<UsagePlan, Error> {
    let plan = UsagePlan {
        v: model::SCHEMA_VERSION,
        owner: Owner::of(&ctx.scope),
        id: model::short_id(),
        name: input.name.unwrap_or_default(),
        description: input.description,
        api_stages: input.api_stages.unwrap_or_default(),
        throttle: input.throttle,
        quota: input.quota,
        product_code: None,
        tags: input.tags.unwrap_or_default(),
        keys: BTreeSet::new(),
    };
    check_plan(inner, ctx, &plan)?;
    Ok(plan)
}

/// A plan's name, quota and API stages as CreateUsagePlan and UpdateUsagePlan check them.
fn check_plan(inner: &Inner, ctx: &RequestContext, plan: &UsagePlan) -> Result<(), Error> {
    if plan.name.is_empty() {
        return Err(Error::bad("Usage Plan name must be specified"));
    }
    if let Some(q) = &plan.quota {
        if !["DAY", "WEEK", "MONTH"].contains(&q.period.as_str()) {
            return Err(Error::bad(format!("Invalid quota period specified: {}", q.period)));
        }
        if q.limit < 0 {
            return Err(Error::bad("Quota limit must be a positive number"));
        }
    }
    for s in &plan.api_stages {
        let known = match inner.api(&s.api_id) {
            Some(Api::Rest(api)) => api.owner.owns(&ctx.scope) && api.stages.contains_key(&s.stage),
            _ => false,
        };
        if !known {
            return Err(Error::bad(format!(
                "Invalid API Stage {{api: {}, stage: {}}} specified for usageplan {}",
                s.api_id, s.stage, plan.id
            )));
        }
    }
    Ok(())
}

const DAY_MS: i64 = 86_400_000;

/// A `yyyy-MM-dd` date as the start of its UTC day, Unix ms.
fn day_of(date: &str, which: &str) -> Result<i64, Error> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(date, &format)
        .map(|d| d.midnight().assume_utc().unix_timestamp() * 1000)
        .map_err(|_| Error::bad(format!("Invalid {which} date specified: {date:?}; expected yyyy-MM-dd")))
}

/// `[used, remaining]` for each day from `from` to `to`: remaining is what the plan's quota had
/// left at the end of that day (0 for a plan without a quota). In the current period it is
/// counted back from the live counter, so an UpdateUsage extension shows.
fn daily(inner: &Inner, plan: &UsagePlan, key_id: &str, from: i64, to: i64) -> Value {
    let key = crate::dataplane::usage_key(&plan.id, key_id);
    let now = inner.now_ms();
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    // Only the days the data plane keeps (90 back from today) can hold requests.
    let history = inner.limits.used_per_day(&key, today - 92 * DAY_MS, today);
    let used_on = |d: i64| history.iter().find(|(day, _)| *day == d).map_or(0, |(_, n)| *n);
    let rows: Vec<Value> = (0..)
        .map(|i| from + i * DAY_MS)
        .take_while(|d| *d <= to)
        .map(|d| {
            let used = used_on(d);
            let remaining = match &plan.quota {
                None => 0,
                Some(q) if crate::dataplane::same_period(&q.period, d, now) => {
                    let after: i64 =
                        history.iter().filter(|(day, _)| *day > d && *day <= today).map(|(_, n)| n).sum();
                    inner.limits.remaining(&key, q, now) + after
                }
                Some(q) => {
                    let start = crate::dataplane::period_start(&q.period, d);
                    let before: i64 =
                        history.iter().filter(|(day, _)| *day >= start && *day <= d).map(|(_, n)| n).sum();
                    q.limit - before
                }
            };
            json!([used, remaining])
        })
        .collect();
    Value::Array(rows)
}

fn no_plan_key(id: &str) -> Error {
    Error::not_found(format!("Invalid Usage Plan Key identifier specified {id}"))
}

fn key_view(k: &ApiKey, include_value: bool) -> Value {
    let mut v = json!({
        "id": k.id,
        "enabled": k.enabled,
        "createdDate": model::epoch_seconds(k.created_ms),
        "lastUpdatedDate": model::epoch_seconds(k.updated_ms),
        "stageKeys": k.stage_keys,
        "tags": k.tags,
    });
    if let Value::Object(m) = &mut v {
        for (name, value) in
            [("name", &k.name), ("customerId", &k.customer_id), ("description", &k.description)]
        {
            if let Some(value) = value {
                m.insert(name.into(), json!(value));
            }
        }
        if include_value {
            m.insert("value".into(), json!(k.value));
        }
    }
    v
}

fn plan_view(p: &UsagePlan) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        for internal in ["v", "owner", "keys"] {
            m.remove(internal);
        }
    }
    v
}

fn plan_key_view(k: &ApiKey) -> Value {
    let mut v = json!({ "id": k.id, "type": "API_KEY", "value": k.value });
    if let (Value::Object(m), Some(name)) = (&mut v, &k.name) {
        m.insert("name".into(), json!(name));
    }
    v
}

impl Inner {
    /// The caller's API key `id`.
    pub(crate) fn api_key(&self, ctx: &RequestContext, id: &str) -> Result<Arc<ApiKey>, Error> {
        match lock(&self.keys).get(id) {
            Some(k) if k.owner.owns(&ctx.scope) => Ok(k.clone()),
            _ => Err(Error::not_found("Invalid API Key identifier specified")),
        }
    }

    /// The caller's usage plan `id`.
    pub(crate) fn usage_plan(&self, ctx: &RequestContext, id: &str) -> Result<Arc<UsagePlan>, Error> {
        match lock(&self.plans).get(id) {
            Some(p) if p.owner.owns(&ctx.scope) => Ok(p.clone()),
            _ => Err(Error::not_found(format!("Invalid Usage Plan ID specified: {id}"))),
        }
    }

    /// Writes a key through to the store, then the cache. Callers hold the write lock.
    fn commit_key(&self, key: ApiKey) -> Result<Arc<ApiKey>, Error> {
        self.kv.put(model::API_KEYS, &record_key(&key.owner, &key.id), &model::encode(&key))?;
        let key = Arc::new(key);
        lock(&self.keys).insert(key.id.clone(), key.clone());
        Ok(key)
    }

    /// Writes a plan through to the store, then the cache. Callers hold the write lock.
    fn commit_plan(&self, plan: UsagePlan) -> Result<Arc<UsagePlan>, Error> {
        self.kv.put(model::USAGE_PLANS, &record_key(&plan.owner, &plan.id), &model::encode(&plan))?;
        let plan = Arc::new(plan);
        lock(&self.plans).insert(plan.id.clone(), plan.clone());
        Ok(plan)
    }

    /// Loads every key and plan into the caches.
    pub(crate) fn load_usage_plans(&self) -> Result<(), Error> {
        let mut keys = lock(&self.keys);
        for (_, raw) in self.kv.scan(model::API_KEYS, storage::KeyRange::all(), storage::UNLIMITED)? {
            let key: ApiKey = model::decode(&raw)?;
            keys.insert(key.id.clone(), Arc::new(key));
        }
        let mut plans = lock(&self.plans);
        for (_, raw) in self.kv.scan(model::USAGE_PLANS, storage::KeyRange::all(), storage::UNLIMITED)? {
            let plan: UsagePlan = model::decode(&raw)?;
            plans.insert(plan.id.clone(), Arc::new(plan));
        }
        Ok(())
    }

    /// The enabled key with `value` of the API's owner, and the plans holding it that cover the
    /// API's `stage`: what an `apiKeyRequired` method checks.
    pub(crate) fn plans_for_key(
        &self,
        owner: &Owner,
        value: &str,
        api_id: &str,
        stage: &str,
    ) -> Option<(Arc<ApiKey>, Vec<Arc<UsagePlan>>)> {
        let key = lock(&self.keys)
            .values()
            .find(|k| &k.owner == owner && k.value == value && k.enabled)
            .cloned()?;
        let plans: Vec<Arc<UsagePlan>> = lock(&self.plans)
            .values()
            .filter(|p| p.keys.contains(&key.id))
            .filter(|p| p.api_stages.iter().any(|s| s.api_id == api_id && s.stage == stage))
            .cloned()
            .collect();
        Some((key, plans))
    }
}
