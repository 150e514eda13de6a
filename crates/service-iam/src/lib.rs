//! AWS Identity and Access Management for Nimbus, on the query protocol: roles (with their
//! tags, trust policy and permissions boundary), inline role policies, customer managed
//! policies with versions and tags, and attaching managed policies to roles.
//!
//! A request is parsed into an [`Operation`] (all validation, no IO), then acted on against the
//! store; see `model` for the records and keys. Every account *and region* has its own IAM:
//! the same role name in two regions is two roles, a Nimbus product decision (real IAM is
//! global per account); ARNs keep IAM's empty region.
//!
//! Nimbus does not enforce IAM yet: roles and policies are stored and returned, never
//! evaluated. Any action of the IAM model not listed in [`Operation`] answers `NotImplemented`.

mod db;
mod error;
mod ids;
mod model;
mod operation;
mod policies;
mod render;
mod role_policies;
mod roles;
mod tags;
mod validate;

use std::sync::Arc;

use protocol::xml::XmlWriter;
use protocol::{
    AwsService, BoxFuture, Protocol, Request, RequestContext, Response, ServiceError, error_response, query,
};
use storage::Store;
use types::{Clock, Scope};

pub use error::Error;
pub use operation::Operation;

use db::Db;

/// IAM's XML namespace, on every response document.
pub const XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// The IAM service. Cheap to share; all state is in the store.
#[derive(Debug, Clone)]
pub struct IamService {
    db: Db,
    clock: Arc<dyn Clock>,
}

/// What a handler works with: the store, the request and the time it is served at.
pub(crate) struct Env<'a> {
    db: &'a Db,
    ctx: &'a RequestContext,
    /// Unix seconds, read once per request so every timestamp of one request agrees.
    now: i64,
}

impl Env<'_> {
    fn scope(&self) -> &Scope {
        &self.ctx.scope
    }

    fn account(&self) -> &str {
        self.ctx.scope.account.as_str()
    }

    /// A response whose result `write` fills; it is given the account id for ARNs.
    pub fn respond(&self, action: &str, write: impl FnOnce(&mut XmlWriter, &str)) -> Response {
        let account = self.account();
        query::response(self.ctx, action, XMLNS, |w| write(w, account))
    }

    /// The response of an action without output.
    pub fn empty(&self, action: &str) -> Response {
        query::response(self.ctx, action, XMLNS, |_| {})
    }
}

impl IamService {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> IamService {
        IamService { db: Db::new(store.kv), clock }
    }

    fn handle(&self, ctx: &RequestContext, req: &Request) -> Response {
        match self.serve(ctx, req) {
            Ok(resp) => resp,
            Err(e) => {
                if let Error::Internal(source) = &e {
                    tracing::error!(error = %source, "iam request failed in the store");
                }
                error_response(Protocol::Query, ctx, &e.to_wire())
            }
        }
    }

    fn serve(&self, ctx: &RequestContext, req: &Request) -> Result<Response, Error> {
        let params = query::params(req)?;
        let op = Operation::parse(&params)?;
        let env = Env { db: &self.db, ctx, now: self.clock.now().unix_timestamp() };
        act(&env, op)
    }
}

/// The one dispatch from operation to handler.
fn act(env: &Env<'_>, op: Operation) -> Result<Response, Error> {
    match op {
        Operation::CreateRole(input) => env.create_role(*input),
        Operation::GetRole { role_name } => env.get_role(&role_name),
        Operation::ListRoles { path_prefix, page } => env.list_roles(&path_prefix, &page),
        Operation::DeleteRole { role_name } => env.delete_role(&role_name),
        Operation::UpdateAssumeRolePolicy { role_name, policy_document } => {
            env.update_assume_role_policy(&role_name, &policy_document)
        }
        Operation::UpdateRole { role_name, description, max_session_duration } => {
            env.update_role_fields(&role_name, description.as_deref(), max_session_duration)
        }
        Operation::UpdateRoleDescription { role_name, description } => {
            env.update_role_description(&role_name, &description)
        }
        Operation::TagRole { role_name, tags } => env.tag_role(&role_name, tags),
        Operation::UntagRole { role_name, tag_keys } => env.untag_role(&role_name, &tag_keys),
        Operation::ListRoleTags { role_name, page } => env.list_role_tags(&role_name, &page),
        Operation::PutRolePermissionsBoundary { role_name, boundary } => {
            env.put_permissions_boundary(&role_name, &boundary)
        }
        Operation::DeleteRolePermissionsBoundary { role_name } => env.delete_permissions_boundary(&role_name),
        Operation::PutRolePolicy { role_name, policy_name, policy_document } => {
            env.put_role_policy(&role_name, &policy_name, &policy_document)
        }
        Operation::GetRolePolicy { role_name, policy_name } => env.get_role_policy(&role_name, &policy_name),
        Operation::DeleteRolePolicy { role_name, policy_name } => {
            env.delete_role_policy(&role_name, &policy_name)
        }
        Operation::ListRolePolicies { role_name, page } => env.list_role_policies(&role_name, &page),
        Operation::CreatePolicy(input) => env.create_policy(*input),
        Operation::GetPolicy { policy_arn } => env.get_policy(&policy_arn),
        Operation::DeletePolicy { policy_arn } => env.delete_policy(&policy_arn),
        Operation::ListPolicies(input) => env.list_policies(&input),
        Operation::CreatePolicyVersion { policy_arn, policy_document, set_as_default } => {
            env.create_policy_version(&policy_arn, &policy_document, set_as_default)
        }
        Operation::GetPolicyVersion { policy_arn, version_id } => {
            env.get_policy_version(&policy_arn, &version_id)
        }
        Operation::ListPolicyVersions { policy_arn, page } => env.list_policy_versions(&policy_arn, &page),
        Operation::DeletePolicyVersion { policy_arn, version_id } => {
            env.delete_policy_version(&policy_arn, &version_id)
        }
        Operation::SetDefaultPolicyVersion { policy_arn, version_id } => {
            env.set_default_policy_version(&policy_arn, &version_id)
        }
        Operation::TagPolicy { policy_arn, tags } => env.tag_policy(&policy_arn, tags),
        Operation::UntagPolicy { policy_arn, tag_keys } => env.untag_policy(&policy_arn, &tag_keys),
        Operation::ListPolicyTags { policy_arn, page } => env.list_policy_tags(&policy_arn, &page),
        Operation::AttachRolePolicy { role_name, policy_arn } => {
            env.attach_role_policy(&role_name, &policy_arn)
        }
        Operation::DetachRolePolicy { role_name, policy_arn } => {
            env.detach_role_policy(&role_name, &policy_arn)
        }
        Operation::ListAttachedRolePolicies { role_name, path_prefix, page } => {
            env.list_attached_role_policies(&role_name, &path_prefix, &page)
        }
    }
}

impl AwsService for IamService {
    fn signing_name(&self) -> &'static str {
        "iam"
    }

    fn protocol(&self) -> Protocol {
        Protocol::Query
    }

    fn call(&self, ctx: RequestContext, req: Request) -> BoxFuture<'_, Response> {
        // The store is synchronous and fast (memory, or SQLite's WAL); the gateway already runs
        // each request in its own task.
        Box::pin(async move { self.handle(&ctx, &req) })
    }
}

#[cfg(test)]
mod tests;
