//! AWS Security Token Service for Nimbus, on the query protocol: `GetCallerIdentity`,
//! `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetSessionToken` and `GetAccessKeyInfo`.
//!
//! The service is stateless. Nimbus does not enforce IAM yet, so `AssumeRole` grants any role
//! ARN, existing or not, and the credentials it returns are not remembered: the gateway accepts
//! any key, and an `ASIA…` key maps to the default account like every key that is not 12 digits.
//! Callers are always the account's root (`arn:aws:iam::{account}:root`).

mod error;
mod operation;
mod sessions;

use std::sync::Arc;

use protocol::{
    AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError, error_response, query,
};
use types::{AccountId, Clock, SystemClock};

pub use error::Error;
pub use operation::{AssumeRole, Operation};

use sessions::{AssumedRoleUser, Credentials};

/// STS's XML namespace, on every response document.
pub const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The STS service. Cheap to share; holds only its clock.
#[derive(Debug, Clone)]
pub struct StsService {
    clock: Arc<dyn Clock>,
}

impl Default for StsService {
    fn default() -> Self {
        StsService::new()
    }
}

impl StsService {
    pub fn new() -> StsService {
        StsService::with_clock(Arc::new(SystemClock))
    }

    /// A service whose credential expirations are computed from `clock` (tests fix it).
    pub fn with_clock(clock: Arc<dyn Clock>) -> StsService {
        StsService { clock }
    }

    fn handle(&self, ctx: &RequestContext, req: &Request) -> Response {
        match self.serve(ctx, req) {
            Ok(resp) => resp,
            Err(e) => error_response(Protocol::Query, ctx, &e.to_wire()),
        }
    }

    fn serve(&self, ctx: &RequestContext, req: &Request) -> Result<Response, Error> {
        let params = query::params(req)?;
        let op = Operation::parse(&params)?;
        Ok(self.act(ctx, op))
    }

    fn act(&self, ctx: &RequestContext, op: Operation) -> Response {
        let action = op.action();
        let account = &ctx.scope.account;
        match op {
            Operation::GetCallerIdentity => query::response(ctx, action, XMLNS, |w| {
                // Root credentials: the user id of the root user is the account id itself.
                w.leaf("UserId", account.as_str());
                w.leaf("Account", account.as_str());
                w.leaf("Arn", &format!("arn:aws:iam::{account}:root"));
            }),
            Operation::AssumeRole(input) | Operation::AssumeRoleWithWebIdentity(input) => {
                let credentials = Credentials::issue(self.clock.now(), input.duration_seconds);
                let user = AssumedRoleUser::new(account, &input);
                query::response(ctx, action, XMLNS, |w| {
                    credentials.write(w);
                    user.write(w);
                    w.opt_leaf("SourceIdentity", input.source_identity.as_deref());
                })
            }
            Operation::GetSessionToken { duration_seconds } => {
                let credentials = Credentials::issue(self.clock.now(), duration_seconds);
                query::response(ctx, action, XMLNS, |w| credentials.write(w))
            }
            Operation::GetAccessKeyInfo { access_key_id } => {
                let owner = AccountId::from_access_key(&access_key_id);
                query::response(ctx, action, XMLNS, |w| w.leaf("Account", owner.as_str()))
            }
        }
    }
}

impl AwsService for StsService {
    fn signing_name(&self) -> &'static str {
        "sts"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        Box::pin(async move { self.handle(&ctx, &req) })
    }
}

#[cfg(test)]
mod tests;
