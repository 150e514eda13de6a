//! Customer managed policies, their versions and tags, and attaching managed policies (customer
//! or AWS managed) to roles.
//!
//! Nimbus has no catalogue of AWS managed policies: an `arn:aws:iam::aws:policy/…` ARN attaches
//! and detaches by name alone (SAM templates attach `AWSLambdaBasicExecutionRole` everywhere),
//! but `GetPolicy` does not know it and `ListPolicies` lists none.

use protocol::Response;
use protocol::xml::XmlWriter;
use storage::Batch;

use crate::db::{Loaded, Step};
use crate::error::Error;
use crate::model::{self, AttachedPolicy, POLICIES, PolicyRecord, ROLES, VersionRecord, version_id};
use crate::operation::{CreatePolicy, ListPolicies, PolicyArn, PolicyOwner, PolicyScope, PolicyUsage};
use crate::tags::{self, Keys};
use crate::validate::{Page, Tag};
use crate::{Env, ids, render};

/// Versions a managed policy may hold at once.
const MAX_VERSIONS: usize = 5;

/// Managed policies a role may have attached (AWS's default quota).
const MAX_ATTACHED: usize = 10;

/// Which members a response shows of a policy (recorded against AWS: CreatePolicy leaves out
/// the description, GetPolicy always has `Tags`, ListPolicies has neither).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PolicyView {
    Create,
    Get,
    List,
}

fn policy_arn(account: &str, p: &PolicyRecord) -> String {
    format!("arn:aws:iam::{account}:policy{}{}", p.path, p.name)
}

fn write_policy(w: &mut XmlWriter, account: &str, p: &PolicyRecord, view: PolicyView) {
    w.leaf("PolicyName", &p.name);
    w.leaf("PolicyId", &p.id);
    w.leaf("Arn", &policy_arn(account, p));
    w.leaf("Path", &p.path);
    w.leaf("DefaultVersionId", &version_id(p.default_version));
    w.leaf("AttachmentCount", &p.attachment_count.to_string());
    w.leaf("PermissionsBoundaryUsageCount", &p.boundary_count.to_string());
    w.leaf("IsAttachable", "true");
    if view == PolicyView::Get {
        w.opt_leaf("Description", p.description.as_deref());
    }
    w.leaf("CreateDate", &render::timestamp(p.created));
    w.leaf("UpdateDate", &render::timestamp(p.updated));
    match view {
        PolicyView::Get => render::tags(w, &p.tags),
        PolicyView::Create if !p.tags.is_empty() => render::tags(w, &p.tags),
        PolicyView::Create | PolicyView::List => {}
    }
}

fn write_version(w: &mut XmlWriter, p: &PolicyRecord, v: &VersionRecord, with_document: bool) {
    if with_document {
        w.leaf("Document", &render::document(&v.document));
    }
    w.leaf("VersionId", &version_id(v.number));
    w.leaf("IsDefaultVersion", render::boolean(v.number == p.default_version));
    w.leaf("CreateDate", &render::timestamp(v.created));
}

fn not_found(arn: &PolicyArn) -> Error {
    Error::NoSuchEntity(format!("Policy {} was not found.", arn.arn))
}

fn no_such_version(arn: &PolicyArn, version: &str) -> Error {
    Error::NoSuchEntity(format!("Policy {} version {version} does not exist or is not attachable.", arn.arn))
}

impl Env<'_> {
    /// The customer managed policy an ARN names in this account and region, if it exists.
    /// AWS managed ARNs and other accounts' ARNs name nothing here.
    pub fn load_policy(&self, arn: &PolicyArn) -> Result<Option<Loaded<PolicyRecord>>, Error> {
        match &arn.owner {
            PolicyOwner::Account(account) if account == self.account() => {
                let loaded = self.db.get::<PolicyRecord>(POLICIES, &model::key(self.scope(), &arn.name))?;
                Ok(loaded.filter(|l| l.record.path == arn.path))
            }
            PolicyOwner::Account(_) | PolicyOwner::Aws => Ok(None),
        }
    }

    /// Adds to `batch` a compare-and-set of a customer managed policy changed by `change`.
    pub fn adjust_policy(
        &self,
        batch: Batch,
        loaded: Loaded<PolicyRecord>,
        change: impl FnOnce(&mut PolicyRecord),
    ) -> Batch {
        let Loaded { raw, mut record } = loaded;
        change(&mut record);
        let key = model::key(self.scope(), &record.name);
        batch.expect_value(POLICIES, key.clone(), raw).put(POLICIES, key, model::encode(&record))
    }

    fn policy_or(
        &self,
        arn: &PolicyArn,
        missing: impl FnOnce() -> Error,
    ) -> Result<Loaded<PolicyRecord>, Error> {
        self.load_policy(arn)?.ok_or_else(missing)
    }

    /// Changes one policy with a compare-and-set on its record, retried on conflicts.
    fn update_policy<T>(
        &self,
        arn: &PolicyArn,
        missing: impl Fn() -> Error,
        mut change: impl FnMut(&mut PolicyRecord) -> Result<T, Error>,
    ) -> Result<(PolicyRecord, T), Error> {
        self.db.transact(|| {
            let Loaded { raw, mut record } = self.policy_or(arn, &missing)?;
            let out = change(&mut record)?;
            let key = model::key(self.scope(), &record.name);
            let batch = Batch::new().expect_value(POLICIES, key.clone(), raw).put(
                POLICIES,
                key,
                model::encode(&record),
            );
            Ok(Step::Commit(batch, (record, out)))
        })
    }

    pub fn create_policy(&self, input: CreatePolicy) -> Result<Response, Error> {
        let tags = tags::distinct(input.tags, Keys::CaseSensitive)?;
        let key = model::key(self.scope(), &input.policy_name);
        let policy = self.db.transact(|| {
            if self.db.get::<PolicyRecord>(POLICIES, &key)?.is_some() {
                return Err(Error::EntityAlreadyExists(format!(
                    "A policy called {} already exists. Duplicate names are not allowed.",
                    input.policy_name
                )));
            }
            let policy = PolicyRecord {
                v: model::SCHEMA_VERSION,
                name: input.policy_name.clone(),
                id: ids::policy_id(),
                path: input.path.clone(),
                description: input.description.clone(),
                created: self.now,
                updated: self.now,
                default_version: 1,
                next_version: 2,
                versions: vec![VersionRecord {
                    number: 1,
                    document: input.policy_document.clone(),
                    created: self.now,
                }],
                attachment_count: 0,
                boundary_count: 0,
                tags: tags.clone(),
            };
            let batch = Batch::new().expect_absent(POLICIES, key.clone()).put(
                POLICIES,
                key.clone(),
                model::encode(&policy),
            );
            Ok(Step::Commit(batch, policy))
        })?;
        Ok(self.respond("CreatePolicy", |w, account| {
            w.open("Policy");
            write_policy(w, account, &policy, PolicyView::Create);
            w.close("Policy");
        }))
    }

    pub fn get_policy(&self, arn: &PolicyArn) -> Result<Response, Error> {
        let policy = self.policy_or(arn, || not_found(arn))?.record;
        Ok(self.respond("GetPolicy", |w, account| {
            w.open("Policy");
            write_policy(w, account, &policy, PolicyView::Get);
            w.close("Policy");
        }))
    }

    pub fn delete_policy(&self, arn: &PolicyArn) -> Result<Response, Error> {
        self.db.transact(|| {
            let Loaded { raw, record } = self.policy_or(arn, || not_found(arn))?;
            if record.attachment_count > 0 || record.boundary_count > 0 {
                return Err(Error::DeleteConflict("Cannot delete a policy attached to entities.".to_owned()));
            }
            if record.versions.len() > 1 {
                return Err(Error::DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
                        .to_owned(),
                ));
            }
            let key = model::key(self.scope(), &record.name);
            // The precondition on the exact record keeps an attach that raced this delete from
            // being lost: either it lands first and this attempt reruns and refuses, or it
            // finds the policy gone.
            Ok(Step::Commit(Batch::new().expect_value(POLICIES, key.clone(), raw).delete(POLICIES, key), ()))
        })?;
        Ok(self.empty("DeletePolicy"))
    }

    pub fn list_policies(&self, input: &ListPolicies) -> Result<Response, Error> {
        let used = |p: &PolicyRecord| match input.usage {
            Some(PolicyUsage::PermissionsPolicy) => p.attachment_count > 0,
            Some(PolicyUsage::PermissionsBoundary) => p.boundary_count > 0,
            None => p.attachment_count > 0 || p.boundary_count > 0,
        };
        let (policies, more) = if input.scope == PolicyScope::Aws {
            // No catalogue of AWS managed policies: the AWS scope is empty.
            (Vec::new(), false)
        } else {
            self.db.scan::<PolicyRecord>(
                POLICIES,
                self.scope(),
                input.page.marker.as_deref(),
                |p| p.path.starts_with(&input.path_prefix) && (!input.only_attached || used(p)),
                input.page.max_items,
            )?
        };
        let marker = more.then(|| policies.last().map(|p| p.name.to_ascii_lowercase())).flatten();
        Ok(self.respond("ListPolicies", |w, account| {
            w.open("Policies");
            for p in &policies {
                w.open("member");
                write_policy(w, account, p, PolicyView::List);
                w.close("member");
            }
            w.close("Policies");
            render::truncation(w, marker.as_deref());
        }))
    }

    pub fn create_policy_version(
        &self,
        arn: &PolicyArn,
        document: &str,
        set_as_default: bool,
    ) -> Result<Response, Error> {
        let now = self.now;
        let (policy, number) = self.update_policy(arn, || not_found(arn), |p| {
            if p.versions.len() >= MAX_VERSIONS {
                return Err(Error::LimitExceeded(
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."
                        .to_owned(),
                ));
            }
            let number = p.next_version;
            p.next_version += 1;
            p.versions.push(VersionRecord { number, document: document.to_owned(), created: now });
            if set_as_default {
                p.default_version = number;
                p.updated = now;
            }
            Ok(number)
        })?;
        Ok(self.respond("CreatePolicyVersion", |w, _| {
            if let Some(v) = policy.versions.iter().find(|v| v.number == number) {
                w.open("PolicyVersion");
                write_version(w, &policy, v, false);
                w.close("PolicyVersion");
            }
        }))
    }

    pub fn get_policy_version(&self, arn: &PolicyArn, version: &str) -> Result<Response, Error> {
        let policy = self.policy_or(arn, || no_such_version(arn, version))?.record;
        let v = policy.version(version).ok_or_else(|| no_such_version(arn, version))?;
        Ok(self.respond("GetPolicyVersion", |w, _| {
            w.open("PolicyVersion");
            write_version(w, &policy, v, true);
            w.close("PolicyVersion");
        }))
    }

    pub fn list_policy_versions(&self, arn: &PolicyArn, page: &Page) -> Result<Response, Error> {
        let policy = self.policy_or(arn, || not_found(arn))?.record;
        // Newest first, as IAM lists them; the key sorts descending numbers ascending.
        let mut versions = policy.versions.clone();
        versions.reverse();
        let (versions, marker) = render::paginate(versions, page, |v| format!("{:010}", u32::MAX - v.number));
        Ok(self.respond("ListPolicyVersions", |w, _| {
            w.open("Versions");
            for v in &versions {
                w.open("member");
                write_version(w, &policy, v, false);
                w.close("member");
            }
            w.close("Versions");
            render::truncation(w, marker.as_deref());
        }))
    }

    pub fn delete_policy_version(&self, arn: &PolicyArn, version: &str) -> Result<Response, Error> {
        self.update_policy(
            arn,
            || no_such_version(arn, version),
            |p| {
                let number = p.version(version).ok_or_else(|| no_such_version(arn, version))?.number;
                if number == p.default_version {
                    return Err(Error::DeleteConflict(
                        "Cannot delete the default version of a policy.".to_owned(),
                    ));
                }
                p.versions.retain(|v| v.number != number);
                Ok(())
            },
        )?;
        Ok(self.empty("DeletePolicyVersion"))
    }

    pub fn set_default_policy_version(&self, arn: &PolicyArn, version: &str) -> Result<Response, Error> {
        let now = self.now;
        self.update_policy(
            arn,
            || no_such_version(arn, version),
            |p| {
                p.default_version = p.version(version).ok_or_else(|| no_such_version(arn, version))?.number;
                p.updated = now;
                Ok(())
            },
        )?;
        Ok(self.empty("SetDefaultPolicyVersion"))
    }

    pub fn tag_policy(&self, arn: &PolicyArn, new: Vec<Tag>) -> Result<Response, Error> {
        let new = tags::distinct(new, Keys::CaseSensitive)?;
        self.update_policy(
            arn,
            || not_found(arn),
            |p| tags::merge(&mut p.tags, new.clone(), Keys::CaseSensitive, "TagsPerPolicy"),
        )?;
        Ok(self.empty("TagPolicy"))
    }

    pub fn untag_policy(&self, arn: &PolicyArn, keys: &[String]) -> Result<Response, Error> {
        self.update_policy(
            arn,
            || not_found(arn),
            |p| {
                tags::remove(&mut p.tags, keys, Keys::CaseSensitive);
                Ok(())
            },
        )?;
        Ok(self.empty("UntagPolicy"))
    }

    pub fn list_policy_tags(&self, arn: &PolicyArn, page: &Page) -> Result<Response, Error> {
        let policy = self.policy_or(arn, || not_found(arn))?.record;
        let (tags, marker) = render::paginate(tags::sorted(&policy.tags), page, |t| t.key.clone());
        Ok(self.respond("ListPolicyTags", |w, _| {
            render::tags(w, &tags);
            render::truncation(w, marker.as_deref());
        }))
    }

    /// Attaches a managed policy; attaching one that is already attached changes nothing, as
    /// on AWS. The role and a customer policy's attachment count change in one batch.
    pub fn attach_role_policy(&self, role: &str, arn: &PolicyArn) -> Result<Response, Error> {
        let key = model::key(self.scope(), role);
        self.db.transact(|| {
            let Loaded { raw, mut record } = self.load_role(role)?;
            let policy = match arn.owner {
                PolicyOwner::Aws => None,
                PolicyOwner::Account(_) => Some(self.policy_or(arn, || {
                    Error::NoSuchEntity(format!("Policy {} does not exist or is not attachable.", arn.arn))
                })?),
            };
            if record.attached_policies.iter().any(|a| a.arn == arn.arn) {
                return Ok(Step::Done(()));
            }
            if record.attached_policies.len() >= MAX_ATTACHED {
                return Err(Error::LimitExceeded(format!(
                    "Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED}"
                )));
            }
            record.attached_policies.push(AttachedPolicy {
                arn: arn.arn.clone(),
                name: arn.name.clone(),
                path: arn.path.clone(),
            });
            let mut batch = Batch::new().expect_value(ROLES, key.clone(), raw).put(
                ROLES,
                key.clone(),
                model::encode(&record),
            );
            if let Some(policy) = policy {
                batch = self.adjust_policy(batch, policy, |p| p.attachment_count += 1);
            }
            Ok(Step::Commit(batch, ()))
        })?;
        Ok(self.empty("AttachRolePolicy"))
    }

    pub fn detach_role_policy(&self, role: &str, arn: &PolicyArn) -> Result<Response, Error> {
        let key = model::key(self.scope(), role);
        self.db.transact(|| {
            let Loaded { raw, mut record } = self.load_role(role)?;
            let before = record.attached_policies.len();
            record.attached_policies.retain(|a| a.arn != arn.arn);
            if record.attached_policies.len() == before {
                return Err(not_found(arn));
            }
            let mut batch = Batch::new().expect_value(ROLES, key.clone(), raw).put(
                ROLES,
                key.clone(),
                model::encode(&record),
            );
            if let Some(policy) = self.load_policy(arn)? {
                batch = self.adjust_policy(batch, policy, |p| {
                    p.attachment_count = p.attachment_count.saturating_sub(1)
                });
            }
            Ok(Step::Commit(batch, ()))
        })?;
        Ok(self.empty("DetachRolePolicy"))
    }

    pub fn list_attached_role_policies(
        &self,
        role: &str,
        path_prefix: &str,
        page: &Page,
    ) -> Result<Response, Error> {
        let record = self.load_role(role)?.record;
        let mut attached: Vec<AttachedPolicy> =
            record.attached_policies.into_iter().filter(|a| a.path.starts_with(path_prefix)).collect();
        attached.sort_by_key(|a| a.arn.to_ascii_lowercase());
        let (attached, marker) = render::paginate(attached, page, |a| a.arn.to_ascii_lowercase());
        Ok(self.respond("ListAttachedRolePolicies", |w, _| {
            w.open("AttachedPolicies");
            for a in &attached {
                w.open("member");
                w.leaf("PolicyName", &a.name);
                w.leaf("PolicyArn", &a.arn);
                w.close("member");
            }
            w.close("AttachedPolicies");
            render::truncation(w, marker.as_deref());
        }))
    }
}
