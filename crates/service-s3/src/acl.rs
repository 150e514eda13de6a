//! ACLs and Object Ownership, as far as SDKs rely on them: every bucket and object is owned by
//! its account, which has FULL_CONTROL; a canned ACL is stored and shown as its grants.
//! Ownership controls are stored on the bucket (`BucketOwnerEnforced` for new buckets, as S3
//! does since 2023); while ACLs are disabled that way, only ACLs that grant the owner alone are
//! accepted. Nimbus checks no permissions, so ACLs change what is shown, not who may read.

use s3s::dto::*;

use crate::buckets::{self, owner};
use crate::engine::{Cx, Engine};
use crate::error::{Error, Result};
use crate::model::BucketRecord;
use crate::versions;

const ENFORCED: &str = "BucketOwnerEnforced";
const OWNER_ONLY: &[&str] = &["private", "bucket-owner-full-control"];
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

fn grant_group(uri: &str, permission: &str) -> Grant {
    Grant {
        grantee: Some(Grantee {
            type_: Type::from("Group".to_owned()),
            uri: Some(uri.to_owned()),
            display_name: None,
            email_address: None,
            id: None,
        }),
        permission: Some(Permission::from(permission.to_owned())),
    }
}

/// The grants a canned ACL stands for.
fn grants(cx: &Cx, canned: Option<&str>) -> Grants {
    let me = owner(cx);
    let mut out = vec![Grant {
        grantee: Some(Grantee {
            type_: Type::from("CanonicalUser".to_owned()),
            id: me.id.clone(),
            display_name: me.display_name.clone(),
            email_address: None,
            uri: None,
        }),
        permission: Some(Permission::from("FULL_CONTROL".to_owned())),
    }];
    match canned {
        Some("public-read") => out.push(grant_group(ALL_USERS, "READ")),
        Some("public-read-write") => {
            out.push(grant_group(ALL_USERS, "READ"));
            out.push(grant_group(ALL_USERS, "WRITE"));
        }
        Some("authenticated-read") => out.push(grant_group(AUTHENTICATED, "READ")),
        _ => {}
    }
    out
}

fn enforced(b: &BucketRecord) -> bool {
    b.configs.get("ownership").is_some_and(|o| o == ENFORCED)
}

/// The canned ACL a PutBucketAcl/PutObjectAcl asks for, checked against the bucket's ownership.
/// An explicit policy or grant headers count as `private` when they grant the owner alone.
fn wanted(
    b: &BucketRecord,
    cx: &Cx,
    canned: Option<&str>,
    policy: Option<&AccessControlPolicy>,
    grant_headers: bool,
) -> Result<String> {
    let acl = match (canned, policy) {
        (Some(c), _) => c.to_owned(),
        (None, Some(p)) => {
            let me = owner(cx).id;
            let only_owner = p.grants.iter().flatten().all(|g| {
                g.grantee.as_ref().is_some_and(|x| x.id.is_some() && x.id == me)
                    && g.permission.as_ref().is_some_and(|p| p.as_str() == "FULL_CONTROL")
            });
            if only_owner { "private".to_owned() } else { "custom".to_owned() }
        }
        (None, None) if grant_headers => "custom".to_owned(),
        (None, None) => "private".to_owned(),
    };
    if enforced(b) && !OWNER_ONLY.contains(&acl.as_str()) {
        return Err(Error::AccessControlListNotSupported);
    }
    Ok(acl)
}

pub async fn get_bucket(e: &Engine, cx: &Cx, input: GetBucketAclInput) -> Result<GetBucketAclOutput> {
    let b = buckets::load(e, cx, &input.bucket)?;
    let canned = b.configs.get("acl").cloned();
    Ok(GetBucketAclOutput { grants: Some(grants(cx, canned.as_deref())), owner: Some(owner(cx)) })
}

pub async fn put_bucket(e: &Engine, cx: &Cx, input: PutBucketAclInput) -> Result<PutBucketAclOutput> {
    let b = buckets::load(e, cx, &input.bucket)?;
    let headers = input.grant_full_control.is_some()
        || input.grant_read.is_some()
        || input.grant_read_acp.is_some()
        || input.grant_write.is_some()
        || input.grant_write_acp.is_some();
    let acl = wanted(
        &b,
        cx,
        input.acl.as_ref().map(BucketCannedACL::as_str),
        input.access_control_policy.as_ref(),
        headers,
    )?;
    buckets::update(e, cx, &input.bucket, |b| {
        b.configs.insert("acl".to_owned(), acl.clone());
    })?;
    Ok(PutBucketAclOutput {})
}

pub async fn get_object(e: &Engine, cx: &Cx, input: GetObjectAclInput) -> Result<GetObjectAclOutput> {
    let r = versions::read(e, cx, &input.bucket, &input.key, input.version_id.as_deref())?;
    Ok(GetObjectAclOutput {
        grants: Some(grants(cx, r.acl.as_deref())),
        owner: Some(owner(cx)),
        request_charged: None,
    })
}

pub async fn put_object(e: &Engine, cx: &Cx, input: PutObjectAclInput) -> Result<PutObjectAclOutput> {
    let b = buckets::load(e, cx, &input.bucket)?;
    let headers = input.grant_full_control.is_some()
        || input.grant_read.is_some()
        || input.grant_read_acp.is_some()
        || input.grant_write_acp.is_some();
    let acl = wanted(
        &b,
        cx,
        input.acl.as_ref().map(ObjectCannedACL::as_str),
        input.access_control_policy.as_ref(),
        headers,
    )?;
    let stored = (acl != "private").then_some(acl);
    versions::update(e, cx, &input.bucket, &input.key, input.version_id.as_deref(), |r| {
        r.acl = stored.clone()
    })?;
    Ok(PutObjectAclOutput { request_charged: None })
}

pub async fn put_ownership(
    e: &Engine,
    cx: &Cx,
    input: PutBucketOwnershipControlsInput,
) -> Result<PutBucketOwnershipControlsOutput> {
    let rules = &input.ownership_controls.rules;
    if rules.len() != 1 {
        return Err(Error::MalformedXML);
    }
    let ownership = rules[0].object_ownership.as_str();
    if !["BucketOwnerPreferred", "ObjectWriter", ENFORCED].contains(&ownership) {
        return Err(Error::MalformedXML);
    }
    let ownership = ownership.to_owned();
    buckets::update(e, cx, &input.bucket, |b| {
        b.configs.insert("ownership".to_owned(), ownership.clone());
    })?;
    Ok(PutBucketOwnershipControlsOutput {})
}

pub async fn get_ownership(
    e: &Engine,
    cx: &Cx,
    input: GetBucketOwnershipControlsInput,
) -> Result<GetBucketOwnershipControlsOutput> {
    let b = buckets::load(e, cx, &input.bucket)?;
    let o = b.configs.get("ownership").ok_or(Error::OwnershipControlsNotFoundError)?;
    Ok(GetBucketOwnershipControlsOutput { ownership_controls: Some(controls(o)) })
}

pub async fn delete_ownership(
    e: &Engine,
    cx: &Cx,
    input: DeleteBucketOwnershipControlsInput,
) -> Result<DeleteBucketOwnershipControlsOutput> {
    buckets::delete_config(e, cx, &input.bucket, "ownership")?;
    Ok(DeleteBucketOwnershipControlsOutput {})
}

fn controls(ownership: &str) -> OwnershipControls {
    OwnershipControls {
        rules: vec![OwnershipControlsRule { object_ownership: ObjectOwnership::from(ownership.to_owned()) }],
    }
}

/// The ownership a new bucket starts with (`x-amz-object-ownership`, else enforced), as stored
/// in its `ownership` configuration.
pub fn initial(ownership: Option<&ObjectOwnership>) -> String {
    ownership.map_or(ENFORCED, ObjectOwnership::as_str).to_owned()
}

/// The ACL a new object is written with (`x-amz-acl` on PUT and copy), refused as S3 does when
/// the bucket has ACLs disabled; `None` is `private`.
pub fn for_new_object(b: &BucketRecord, canned: Option<&ObjectCannedACL>) -> Result<Option<String>> {
    let Some(acl) = canned.map(ObjectCannedACL::as_str) else { return Ok(None) };
    if enforced(b) && !OWNER_ONLY.contains(&acl) {
        return Err(Error::AccessControlListNotSupported);
    }
    Ok((acl != "private").then(|| acl.to_owned()))
}
