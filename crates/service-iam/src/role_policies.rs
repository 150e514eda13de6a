//! Inline policies: permissions policies embedded in one role, named per role.

use protocol::Response;

use crate::error::Error;
use crate::model::InlinePolicy;
use crate::validate::Page;
use crate::{Env, render};

fn no_such_policy(name: &str) -> Error {
    Error::NoSuchEntity(format!("The role policy with name {name} cannot be found."))
}

/// Inline policy names compare like other IAM names: without regard to case.
fn same_name(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

impl Env<'_> {
    /// Creates or replaces an inline policy.
    pub fn put_role_policy(&self, role: &str, name: &str, document: &str) -> Result<Response, Error> {
        self.update_role(role, |r| {
            let policy = InlinePolicy { name: name.to_owned(), document: document.to_owned() };
            match r.inline_policies.iter_mut().find(|p| same_name(&p.name, name)) {
                Some(existing) => *existing = policy,
                None => {
                    r.inline_policies.push(policy);
                    r.inline_policies.sort_by_key(|p| p.name.to_ascii_lowercase());
                }
            }
            Ok(())
        })?;
        Ok(self.empty("PutRolePolicy"))
    }

    pub fn get_role_policy(&self, role: &str, name: &str) -> Result<Response, Error> {
        let record = self.load_role(role)?.record;
        let policy = record
            .inline_policies
            .iter()
            .find(|p| same_name(&p.name, name))
            .ok_or_else(|| no_such_policy(name))?;
        Ok(self.respond("GetRolePolicy", |w, _| {
            w.leaf("RoleName", &record.name);
            w.leaf("PolicyName", &policy.name);
            w.leaf("PolicyDocument", &render::document(&policy.document));
        }))
    }

    pub fn delete_role_policy(&self, role: &str, name: &str) -> Result<Response, Error> {
        self.update_role(role, |r| {
            let before = r.inline_policies.len();
            r.inline_policies.retain(|p| !same_name(&p.name, name));
            if r.inline_policies.len() == before { Err(no_such_policy(name)) } else { Ok(()) }
        })?;
        Ok(self.empty("DeleteRolePolicy"))
    }

    pub fn list_role_policies(&self, role: &str, page: &Page) -> Result<Response, Error> {
        let record = self.load_role(role)?.record;
        let names: Vec<String> = record.inline_policies.into_iter().map(|p| p.name).collect();
        let (names, marker) = render::paginate(names, page, |n| n.to_ascii_lowercase());
        Ok(self.respond("ListRolePolicies", |w, _| {
            render::strings(w, "PolicyNames", names.iter().map(String::as_str));
            render::truncation(w, marker.as_deref());
        }))
    }
}
