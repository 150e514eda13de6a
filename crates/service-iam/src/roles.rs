//! Roles: create, read, list, update, tag and delete, and their permissions boundary.

use protocol::Response;
use protocol::xml::XmlWriter;
use storage::Batch;

use crate::db::{Loaded, Step};
use crate::error::Error;
use crate::model::{self, PolicyRecord, ROLES, RoleRecord};
use crate::operation::{CreateRole, PolicyArn, PolicyOwner};
use crate::tags::{self, Keys};
use crate::validate::{Page, Tag};
use crate::{Env, ids, render};

/// Which members a response shows of a role: IAM's operations differ (recorded against AWS:
/// CreateRole leaves out the description and session duration, ListRoles the tags and the
/// boundary, and only GetRole says when the role was last used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleView {
    Create,
    Get,
    List,
    UpdateDescription,
}

pub fn role_arn(account: &str, role: &RoleRecord) -> String {
    format!("arn:aws:iam::{account}:role{}{}", role.path, role.name)
}

pub fn write_role(w: &mut XmlWriter, account: &str, role: &RoleRecord, view: RoleView) {
    w.leaf("Path", &role.path);
    w.leaf("RoleName", &role.name);
    w.leaf("RoleId", &role.id);
    w.leaf("Arn", &role_arn(account, role));
    w.leaf("CreateDate", &render::timestamp(role.created));
    w.leaf("AssumeRolePolicyDocument", &render::document(&role.assume_role_policy));
    if view != RoleView::Create {
        w.opt_leaf("Description", role.description.as_deref());
    }
    if matches!(view, RoleView::Get | RoleView::List) {
        w.leaf("MaxSessionDuration", &role.max_session_duration.to_string());
    }
    if matches!(view, RoleView::Create | RoleView::Get) {
        if let Some(boundary) = &role.permissions_boundary {
            w.open("PermissionsBoundary");
            // AWS answers `Policy` here, not the model's enum value `PermissionsBoundaryPolicy`.
            w.leaf("PermissionsBoundaryType", "Policy");
            w.leaf("PermissionsBoundaryArn", boundary);
            w.close("PermissionsBoundary");
        }
        if !role.tags.is_empty() {
            render::tags(w, &role.tags);
        }
    }
    if view == RoleView::Get {
        // Nimbus does not track role use; an empty element is what AWS sends for an unused role.
        w.open("RoleLastUsed");
        w.close("RoleLastUsed");
    }
}

pub fn no_such_role(name: &str) -> Error {
    Error::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

impl Env<'_> {
    pub fn load_role(&self, name: &str) -> Result<Loaded<RoleRecord>, Error> {
        self.db.get(ROLES, &model::key(self.scope(), name))?.ok_or_else(|| no_such_role(name))
    }

    /// Changes one role with a compare-and-set on its record, retried on conflicts.
    pub fn update_role(
        &self,
        name: &str,
        mut change: impl FnMut(&mut RoleRecord) -> Result<(), Error>,
    ) -> Result<RoleRecord, Error> {
        let key = model::key(self.scope(), name);
        self.db.transact(|| {
            let Loaded { raw, mut record } = self.load_role(name)?;
            change(&mut record)?;
            let batch = Batch::new().expect_value(ROLES, key.clone(), raw).put(
                ROLES,
                key.clone(),
                model::encode(&record),
            );
            Ok(Step::Commit(batch, record))
        })
    }

    /// The policy a permissions boundary names, which must exist unless AWS manages it.
    fn boundary_policy(&self, arn: &PolicyArn) -> Result<Option<Loaded<PolicyRecord>>, Error> {
        if arn.owner == PolicyOwner::Aws {
            return Ok(None);
        }
        match self.load_policy(arn)? {
            Some(p) => Ok(Some(p)),
            None => Err(Error::NoSuchEntity(format!(
                "Scope ARN: {} does not exist or is not attachable.",
                arn.arn
            ))),
        }
    }

    pub fn create_role(&self, input: CreateRole) -> Result<Response, Error> {
        let tags = tags::distinct(input.tags, Keys::CaseInsensitive)?;
        let key = model::key(self.scope(), &input.role_name);
        let role = self.db.transact(|| {
            if self.db.get::<RoleRecord>(ROLES, &key)?.is_some() {
                return Err(Error::EntityAlreadyExists(format!(
                    "Role with name {} already exists.",
                    input.role_name
                )));
            }
            let boundary =
                input.permissions_boundary.as_ref().map(|b| self.boundary_policy(b)).transpose()?.flatten();
            let role = RoleRecord {
                v: model::SCHEMA_VERSION,
                name: input.role_name.clone(),
                id: ids::role_id(),
                path: input.path.clone(),
                created: self.now,
                assume_role_policy: input.assume_role_policy_document.clone(),
                description: input.description.clone(),
                max_session_duration: input.max_session_duration,
                permissions_boundary: input.permissions_boundary.as_ref().map(|b| b.arn.clone()),
                tags: tags.clone(),
                inline_policies: Vec::new(),
                attached_policies: Vec::new(),
            };
            let mut batch =
                Batch::new().expect_absent(ROLES, key.clone()).put(ROLES, key.clone(), model::encode(&role));
            if let Some(policy) = boundary {
                batch = self.adjust_policy(batch, policy, |p| p.boundary_count += 1);
            }
            Ok(Step::Commit(batch, role))
        })?;
        Ok(self.respond("CreateRole", |w, account| {
            w.open("Role");
            write_role(w, account, &role, RoleView::Create);
            w.close("Role");
        }))
    }

    pub fn get_role(&self, name: &str) -> Result<Response, Error> {
        let role = self.load_role(name)?.record;
        Ok(self.respond("GetRole", |w, account| {
            w.open("Role");
            write_role(w, account, &role, RoleView::Get);
            w.close("Role");
        }))
    }

    pub fn list_roles(&self, path_prefix: &str, page: &Page) -> Result<Response, Error> {
        let (roles, more) = self.db.scan::<RoleRecord>(
            ROLES,
            self.scope(),
            page.marker.as_deref(),
            |r| r.path.starts_with(path_prefix),
            page.max_items,
        )?;
        let marker = more.then(|| roles.last().map(|r| r.name.to_ascii_lowercase())).flatten();
        Ok(self.respond("ListRoles", |w, account| {
            w.open("Roles");
            for role in &roles {
                w.open("member");
                write_role(w, account, role, RoleView::List);
                w.close("member");
            }
            w.close("Roles");
            render::truncation(w, marker.as_deref());
        }))
    }

    pub fn delete_role(&self, name: &str) -> Result<Response, Error> {
        let key = model::key(self.scope(), name);
        self.db.transact(|| {
            let Loaded { raw, record } = self.load_role(name)?;
            if !record.attached_policies.is_empty() {
                return Err(Error::DeleteConflict(
                    "Cannot delete entity, must detach all policies first.".to_owned(),
                ));
            }
            if !record.inline_policies.is_empty() {
                return Err(Error::DeleteConflict(
                    "Cannot delete entity, must delete policies first.".to_owned(),
                ));
            }
            let mut batch = Batch::new().expect_value(ROLES, key.clone(), raw).delete(ROLES, key.clone());
            if let Some(policy) = self.current_boundary(&record)? {
                batch = self
                    .adjust_policy(batch, policy, |p| p.boundary_count = p.boundary_count.saturating_sub(1));
            }
            Ok(Step::Commit(batch, ()))
        })?;
        Ok(self.empty("DeleteRole"))
    }

    /// The customer managed policy that bounds `role` now, if any. A boundary policy cannot
    /// be deleted while it bounds a role, so a missing one only means an AWS managed boundary.
    fn current_boundary(&self, role: &RoleRecord) -> Result<Option<Loaded<PolicyRecord>>, Error> {
        let Some(arn) = &role.permissions_boundary else { return Ok(None) };
        let Ok(arn) = PolicyArn::parse_stored(arn) else { return Ok(None) };
        self.load_policy(&arn)
    }

    pub fn update_assume_role_policy(&self, name: &str, document: &str) -> Result<Response, Error> {
        self.update_role(name, |r| {
            r.assume_role_policy = document.to_owned();
            Ok(())
        })?;
        Ok(self.empty("UpdateAssumeRolePolicy"))
    }

    pub fn update_role_fields(
        &self,
        name: &str,
        description: Option<&str>,
        max_session_duration: Option<i64>,
    ) -> Result<Response, Error> {
        self.update_role(name, |r| {
            if let Some(d) = description {
                r.description = Some(d.to_owned());
            }
            if let Some(m) = max_session_duration {
                r.max_session_duration = m;
            }
            Ok(())
        })?;
        Ok(self.empty("UpdateRole"))
    }

    pub fn update_role_description(&self, name: &str, description: &str) -> Result<Response, Error> {
        let role = self.update_role(name, |r| {
            r.description = Some(description.to_owned());
            Ok(())
        })?;
        Ok(self.respond("UpdateRoleDescription", |w, account| {
            w.open("Role");
            write_role(w, account, &role, RoleView::UpdateDescription);
            w.close("Role");
        }))
    }

    pub fn tag_role(&self, name: &str, new: Vec<Tag>) -> Result<Response, Error> {
        let new = tags::distinct(new, Keys::CaseInsensitive)?;
        self.update_role(name, |r| {
            tags::merge(&mut r.tags, new.clone(), Keys::CaseInsensitive, "TagsPerRole")
        })?;
        Ok(self.empty("TagRole"))
    }

    pub fn untag_role(&self, name: &str, keys: &[String]) -> Result<Response, Error> {
        self.update_role(name, |r| {
            tags::remove(&mut r.tags, keys, Keys::CaseInsensitive);
            Ok(())
        })?;
        Ok(self.empty("UntagRole"))
    }

    pub fn list_role_tags(&self, name: &str, page: &Page) -> Result<Response, Error> {
        let role = self.load_role(name)?.record;
        let (tags, marker) = render::paginate(tags::sorted(&role.tags), page, |t| t.key.clone());
        Ok(self.respond("ListRoleTags", |w, _| {
            render::tags(w, &tags);
            render::truncation(w, marker.as_deref());
        }))
    }

    pub fn put_permissions_boundary(&self, name: &str, boundary: &PolicyArn) -> Result<Response, Error> {
        let key = model::key(self.scope(), name);
        self.db.transact(|| {
            let Loaded { raw, mut record } = self.load_role(name)?;
            let new = self.boundary_policy(boundary)?;
            let old = self.current_boundary(&record)?;
            record.permissions_boundary = Some(boundary.arn.clone());
            let mut batch = Batch::new().expect_value(ROLES, key.clone(), raw).put(
                ROLES,
                key.clone(),
                model::encode(&record),
            );
            let same = matches!((&old, &new), (Some(o), Some(n)) if o.record.id == n.record.id);
            if !same {
                if let Some(old) = old {
                    batch = self
                        .adjust_policy(batch, old, |p| p.boundary_count = p.boundary_count.saturating_sub(1));
                }
                if let Some(new) = new {
                    batch = self.adjust_policy(batch, new, |p| p.boundary_count += 1);
                }
            }
            Ok(Step::Commit(batch, ()))
        })?;
        Ok(self.empty("PutRolePermissionsBoundary"))
    }

    pub fn delete_permissions_boundary(&self, name: &str) -> Result<Response, Error> {
        let key = model::key(self.scope(), name);
        self.db.transact(|| {
            let Loaded { raw, mut record } = self.load_role(name)?;
            let old = self.current_boundary(&record)?;
            record.permissions_boundary = None;
            let mut batch = Batch::new().expect_value(ROLES, key.clone(), raw).put(
                ROLES,
                key.clone(),
                model::encode(&record),
            );
            if let Some(old) = old {
                batch =
                    self.adjust_policy(batch, old, |p| p.boundary_count = p.boundary_count.saturating_sub(1));
            }
            Ok(Step::Commit(batch, ()))
        })?;
        Ok(self.empty("DeleteRolePermissionsBoundary"))
    }
}
