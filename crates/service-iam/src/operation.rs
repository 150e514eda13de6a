//! IAM requests parsed into a closed [`Operation`]: every member read, validated against the
//! model and IAM's naming rules, and typed, before anything touches the store. Parsing does no
//! IO.

use protocol::query::QueryParams;

use crate::error::Error;
use crate::validate::{self, Checks, Page, Tag};

/// The IAM operations Nimbus serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    CreateRole(Box<CreateRole>),
    GetRole { role_name: String },
    ListRoles { path_prefix: String, page: Page },
    DeleteRole { role_name: String },
    UpdateAssumeRolePolicy { role_name: String, policy_document: String },
    UpdateRole { role_name: String, description: Option<String>, max_session_duration: Option<i64> },
    UpdateRoleDescription { role_name: String, description: String },
    TagRole { role_name: String, tags: Vec<Tag> },
    UntagRole { role_name: String, tag_keys: Vec<String> },
    ListRoleTags { role_name: String, page: Page },
    PutRolePermissionsBoundary { role_name: String, boundary: PolicyArn },
    DeleteRolePermissionsBoundary { role_name: String },

    PutRolePolicy { role_name: String, policy_name: String, policy_document: String },
    GetRolePolicy { role_name: String, policy_name: String },
    DeleteRolePolicy { role_name: String, policy_name: String },
    ListRolePolicies { role_name: String, page: Page },

    CreatePolicy(Box<CreatePolicy>),
    GetPolicy { policy_arn: PolicyArn },
    DeletePolicy { policy_arn: PolicyArn },
    ListPolicies(ListPolicies),
    CreatePolicyVersion { policy_arn: PolicyArn, policy_document: String, set_as_default: bool },
    GetPolicyVersion { policy_arn: PolicyArn, version_id: String },
    ListPolicyVersions { policy_arn: PolicyArn, page: Page },
    DeletePolicyVersion { policy_arn: PolicyArn, version_id: String },
    SetDefaultPolicyVersion { policy_arn: PolicyArn, version_id: String },
    TagPolicy { policy_arn: PolicyArn, tags: Vec<Tag> },
    UntagPolicy { policy_arn: PolicyArn, tag_keys: Vec<String> },
    ListPolicyTags { policy_arn: PolicyArn, page: Page },

    AttachRolePolicy { role_name: String, policy_arn: PolicyArn },
    DetachRolePolicy { role_name: String, policy_arn: PolicyArn },
    ListAttachedRolePolicies { role_name: String, path_prefix: String, page: Page },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRole {
    pub role_name: String,
    pub path: String,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    pub max_session_duration: i64,
    pub permissions_boundary: Option<PolicyArn>,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatePolicy {
    pub policy_name: String,
    pub path: String,
    pub policy_document: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListPolicies {
    pub scope: PolicyScope,
    pub only_attached: bool,
    pub path_prefix: String,
    pub usage: Option<PolicyUsage>,
    pub page: Page,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyScope {
    All,
    Aws,
    Local,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyUsage {
    PermissionsPolicy,
    PermissionsBoundary,
}

/// A managed policy ARN: `arn:aws:iam::{account}:policy{path}{name}`, or an AWS managed one,
/// whose account is `aws` (`arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyArn {
    /// The ARN exactly as the client sent it, for messages and attachments.
    pub arn: String,
    pub owner: PolicyOwner,
    pub path: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyOwner {
    /// An AWS managed policy. Nimbus has no catalogue of them: they attach and detach by ARN.
    Aws,
    /// A customer managed policy of this account id.
    Account(String),
}

/// Which error code a malformed policy ARN gets: attach and detach answer `ValidationError`,
/// the rest `InvalidInput` (both recorded against AWS with `ARN {arn} is not valid.`).
#[derive(Clone, Copy)]
enum BadArn {
    Validation,
    Input,
}

impl PolicyArn {
    /// An ARN this service stored itself (a role's permissions boundary).
    pub fn parse_stored(s: &str) -> Result<PolicyArn, Error> {
        PolicyArn::parse(s, BadArn::Input)
    }

    fn parse(s: &str, bad: BadArn) -> Result<PolicyArn, Error> {
        let invalid = || {
            let message = format!("ARN {s} is not valid.");
            match bad {
                BadArn::Validation => Error::ValidationError(message),
                BadArn::Input => Error::InvalidInput(message),
            }
        };
        let arn: types::Arn = s.parse().map_err(|_| invalid())?;
        let rest = arn.resource.strip_prefix("policy/").ok_or_else(invalid)?;
        if arn.partition.is_empty() || arn.service != "iam" || !arn.region.is_empty() {
            return Err(invalid());
        }
        let owner = match arn.account.as_str() {
            "aws" => PolicyOwner::Aws,
            account if types::AccountId::parse(account).is_some() => PolicyOwner::Account(account.to_owned()),
            _ => return Err(invalid()),
        };
        let (dirs, name) = match rest.rsplit_once('/') {
            Some((dirs, name)) => (Some(dirs), name),
            None => (None, rest),
        };
        if name.is_empty() || dirs.is_some_and(|d| d.split('/').any(str::is_empty)) {
            return Err(invalid());
        }
        let path = dirs.map_or_else(|| "/".to_owned(), |d| format!("/{d}/"));
        Ok(PolicyArn { arn: s.to_owned(), owner, path, name: name.to_owned() })
    }
}

/// Every action of the IAM model, so that a real action Nimbus lacks answers `NotImplemented`
/// while a misspelt one answers `InvalidAction`.
const MODEL_ACTIONS: &[&str] = &[
    "AcceptDelegationRequest",
    "AddClientIDToOpenIDConnectProvider",
    "AddRoleToInstanceProfile",
    "AddUserToGroup",
    "AssociateDelegationRequest",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "ChangePassword",
    "CreateAccessKey",
    "CreateAccountAlias",
    "CreateDelegationRequest",
    "CreateGroup",
    "CreateInstanceProfile",
    "CreateLoginProfile",
    "CreateOpenIDConnectProvider",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateRole",
    "CreateSAMLProvider",
    "CreateServiceLinkedRole",
    "CreateServiceSpecificCredential",
    "CreateUser",
    "CreateVirtualMFADevice",
    "DeactivateMFADevice",
    "DeleteAccessKey",
    "DeleteAccountAlias",
    "DeleteAccountPasswordPolicy",
    "DeleteGroup",
    "DeleteGroupPolicy",
    "DeleteInstanceProfile",
    "DeleteLoginProfile",
    "DeleteOpenIDConnectProvider",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DeleteSAMLProvider",
    "DeleteSSHPublicKey",
    "DeleteServerCertificate",
    "DeleteServiceLinkedRole",
    "DeleteServiceSpecificCredential",
    "DeleteSigningCertificate",
    "DeleteUser",
    "DeleteUserPermissionsBoundary",
    "DeleteUserPolicy",
    "DeleteVirtualMFADevice",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "DisableOrganizationsRootCredentialsManagement",
    "DisableOrganizationsRootSessions",
    "DisableOutboundWebIdentityFederation",
    "EnableMFADevice",
    "EnableOrganizationsRootCredentialsManagement",
    "EnableOrganizationsRootSessions",
    "EnableOutboundWebIdentityFederation",
    "GenerateCredentialReport",
    "GenerateOrganizationsAccessReport",
    "GenerateServiceLastAccessedDetails",
    "GetAccessKeyLastUsed",
    "GetAccountAuthorizationDetails",
    "GetAccountPasswordPolicy",
    "GetAccountSummary",
    "GetContextKeysForCustomPolicy",
    "GetContextKeysForPrincipalPolicy",
    "GetCredentialReport",
    "GetDelegationRequest",
    "GetGroup",
    "GetGroupPolicy",
    "GetHumanReadableSummary",
    "GetInstanceProfile",
    "GetLoginProfile",
    "GetMFADevice",
    "GetOpenIDConnectProvider",
    "GetOrganizationsAccessReport",
    "GetOutboundWebIdentityFederationInfo",
    "GetPolicy",
    "GetPolicyVersion",
    "GetRole",
    "GetRolePolicy",
    "GetSAMLProvider",
    "GetSSHPublicKey",
    "GetServerCertificate",
    "GetServiceLastAccessedDetails",
    "GetServiceLastAccessedDetailsWithEntities",
    "GetServiceLinkedRoleDeletionStatus",
    "GetUser",
    "GetUserPolicy",
    "ListAccessKeys",
    "ListAccountAliases",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListAttachedUserPolicies",
    "ListDelegationRequests",
    "ListEntitiesForPolicy",
    "ListGroupPolicies",
    "ListGroups",
    "ListGroupsForUser",
    "ListInstanceProfileTags",
    "ListInstanceProfiles",
    "ListInstanceProfilesForRole",
    "ListMFADeviceTags",
    "ListMFADevices",
    "ListOpenIDConnectProviderTags",
    "ListOpenIDConnectProviders",
    "ListOrganizationsFeatures",
    "ListPolicies",
    "ListPoliciesGrantingServiceAccess",
    "ListPolicyTags",
    "ListPolicyVersions",
    "ListRolePolicies",
    "ListRoleTags",
    "ListRoles",
    "ListSAMLProviderTags",
    "ListSAMLProviders",
    "ListSSHPublicKeys",
    "ListServerCertificateTags",
    "ListServerCertificates",
    "ListServiceSpecificCredentials",
    "ListSigningCertificates",
    "ListUserPolicies",
    "ListUserTags",
    "ListUsers",
    "ListVirtualMFADevices",
    "PutGroupPolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "PutUserPermissionsBoundary",
    "PutUserPolicy",
    "RejectDelegationRequest",
    "RemoveClientIDFromOpenIDConnectProvider",
    "RemoveRoleFromInstanceProfile",
    "RemoveUserFromGroup",
    "ResetServiceSpecificCredential",
    "ResyncMFADevice",
    "SendDelegationToken",
    "SetDefaultPolicyVersion",
    "SetSecurityTokenServicePreferences",
    "SimulateCustomPolicy",
    "SimulatePrincipalPolicy",
    "TagInstanceProfile",
    "TagMFADevice",
    "TagOpenIDConnectProvider",
    "TagPolicy",
    "TagRole",
    "TagSAMLProvider",
    "TagServerCertificate",
    "TagUser",
    "UntagInstanceProfile",
    "UntagMFADevice",
    "UntagOpenIDConnectProvider",
    "UntagPolicy",
    "UntagRole",
    "UntagSAMLProvider",
    "UntagServerCertificate",
    "UntagUser",
    "UpdateAccessKey",
    "UpdateAccountPasswordPolicy",
    "UpdateAssumeRolePolicy",
    "UpdateDelegationRequest",
    "UpdateGroup",
    "UpdateLoginProfile",
    "UpdateOpenIDConnectProviderThumbprint",
    "UpdateRole",
    "UpdateRoleDescription",
    "UpdateSAMLProvider",
    "UpdateSSHPublicKey",
    "UpdateServerCertificate",
    "UpdateServiceSpecificCredential",
    "UpdateSigningCertificate",
    "UpdateUser",
    "UploadSSHPublicKey",
    "UploadServerCertificate",
    "UploadSigningCertificate",
];

impl Operation {
    /// The action name, as the response element is named.
    pub fn action(&self) -> &'static str {
        match self {
            Operation::CreateRole(_) => "CreateRole",
            Operation::GetRole { .. } => "GetRole",
            Operation::ListRoles { .. } => "ListRoles",
            Operation::DeleteRole { .. } => "DeleteRole",
            Operation::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
            Operation::UpdateRole { .. } => "UpdateRole",
            Operation::UpdateRoleDescription { .. } => "UpdateRoleDescription",
            Operation::TagRole { .. } => "TagRole",
            Operation::UntagRole { .. } => "UntagRole",
            Operation::ListRoleTags { .. } => "ListRoleTags",
            Operation::PutRolePermissionsBoundary { .. } => "PutRolePermissionsBoundary",
            Operation::DeleteRolePermissionsBoundary { .. } => "DeleteRolePermissionsBoundary",
            Operation::PutRolePolicy { .. } => "PutRolePolicy",
            Operation::GetRolePolicy { .. } => "GetRolePolicy",
            Operation::DeleteRolePolicy { .. } => "DeleteRolePolicy",
            Operation::ListRolePolicies { .. } => "ListRolePolicies",
            Operation::CreatePolicy(_) => "CreatePolicy",
            Operation::GetPolicy { .. } => "GetPolicy",
            Operation::DeletePolicy { .. } => "DeletePolicy",
            Operation::ListPolicies(_) => "ListPolicies",
            Operation::CreatePolicyVersion { .. } => "CreatePolicyVersion",
            Operation::GetPolicyVersion { .. } => "GetPolicyVersion",
            Operation::ListPolicyVersions { .. } => "ListPolicyVersions",
            Operation::DeletePolicyVersion { .. } => "DeletePolicyVersion",
            Operation::SetDefaultPolicyVersion { .. } => "SetDefaultPolicyVersion",
            Operation::TagPolicy { .. } => "TagPolicy",
            Operation::UntagPolicy { .. } => "UntagPolicy",
            Operation::ListPolicyTags { .. } => "ListPolicyTags",
            Operation::AttachRolePolicy { .. } => "AttachRolePolicy",
            Operation::DetachRolePolicy { .. } => "DetachRolePolicy",
            Operation::ListAttachedRolePolicies { .. } => "ListAttachedRolePolicies",
        }
    }

    pub fn parse(p: &QueryParams) -> Result<Operation, Error> {
        let version = p.get("Version").map(str::to_owned);
        let action = p
            .action()
            .map_err(|_| Error::InvalidAction { action: String::new(), version: version.clone() })?;
        let mut c = Checks::new();
        let op = match action {
            "CreateRole" => {
                let path = c.string(p, "Path", false, 1, 512);
                let role_name = role_name(&mut c, p);
                let document = c.document(p, "AssumeRolePolicyDocument", true);
                let description = role_description(&mut c, p, false);
                let max_session_duration = c.int(p, "MaxSessionDuration", 3600, 43_200);
                let boundary = c.string(p, "PermissionsBoundary", false, 20, 2048);
                let tags = c.tags(p, "Tags", false);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                let path = path.unwrap_or("/");
                validate::path(path, validate::is_role_path)?;
                validate::trust_policy(owned_ref(document))?;
                Operation::CreateRole(Box::new(CreateRole {
                    role_name,
                    path: path.to_owned(),
                    assume_role_policy_document: owned(document),
                    description: description.map(str::to_owned),
                    max_session_duration: max_session_duration.unwrap_or(3600),
                    permissions_boundary: boundary.map(|b| PolicyArn::parse(b, BadArn::Input)).transpose()?,
                    tags,
                }))
            }
            "GetRole" | "DeleteRole" | "DeleteRolePermissionsBoundary" => {
                let role_name = role_name(&mut c, p);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                match action {
                    "GetRole" => Operation::GetRole { role_name },
                    "DeleteRole" => Operation::DeleteRole { role_name },
                    _ => Operation::DeleteRolePermissionsBoundary { role_name },
                }
            }
            "ListRoles" => {
                let prefix = c.string(p, "PathPrefix", false, 1, 512);
                c.pattern("PathPrefix", prefix, is_role_path_prefix, validate::ROLE_PATH_PREFIX_PATTERN);
                let page = c.page(p);
                c.finish()?;
                Operation::ListRoles { path_prefix: prefix.unwrap_or("/").to_owned(), page }
            }
            "UpdateAssumeRolePolicy" => {
                let role_name = role_name(&mut c, p);
                let document = c.document(p, "PolicyDocument", true);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                validate::trust_policy(owned_ref(document))?;
                Operation::UpdateAssumeRolePolicy { role_name, policy_document: owned(document) }
            }
            "UpdateRole" => {
                let role_name = role_name(&mut c, p);
                let description = role_description(&mut c, p, false);
                let max_session_duration = c.int(p, "MaxSessionDuration", 3600, 43_200);
                c.finish()?;
                Operation::UpdateRole {
                    role_name: checked_name("RoleName", role_name)?,
                    description: description.map(str::to_owned),
                    max_session_duration,
                }
            }
            "UpdateRoleDescription" => {
                let role_name = role_name(&mut c, p);
                let description = role_description(&mut c, p, true);
                c.finish()?;
                Operation::UpdateRoleDescription {
                    role_name: checked_name("RoleName", role_name)?,
                    description: owned(description),
                }
            }
            "TagRole" => {
                let role_name = role_name(&mut c, p);
                let tags = c.tags(p, "Tags", true);
                c.finish()?;
                Operation::TagRole { role_name: checked_name("RoleName", role_name)?, tags }
            }
            "UntagRole" => {
                let role_name = role_name(&mut c, p);
                let tag_keys = c.tag_keys(p, "TagKeys");
                c.finish()?;
                Operation::UntagRole { role_name: checked_name("RoleName", role_name)?, tag_keys }
            }
            "ListRoleTags" | "ListRolePolicies" => {
                let role_name = role_name(&mut c, p);
                let page = c.page(p);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                if action == "ListRoleTags" {
                    Operation::ListRoleTags { role_name, page }
                } else {
                    Operation::ListRolePolicies { role_name, page }
                }
            }
            "PutRolePermissionsBoundary" => {
                let role_name = role_name(&mut c, p);
                let boundary = c.string(p, "PermissionsBoundary", true, 20, 2048);
                c.finish()?;
                Operation::PutRolePermissionsBoundary {
                    role_name: checked_name("RoleName", role_name)?,
                    boundary: PolicyArn::parse(boundary.unwrap_or_default(), BadArn::Input)?,
                }
            }
            "PutRolePolicy" => {
                let role_name = role_name(&mut c, p);
                let policy_name = policy_name(&mut c, p);
                let document = c.document(p, "PolicyDocument", true);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                let policy_name = checked_name("PolicyName", policy_name)?;
                validate::permissions_policy(owned_ref(document))?;
                Operation::PutRolePolicy { role_name, policy_name, policy_document: owned(document) }
            }
            "GetRolePolicy" | "DeleteRolePolicy" => {
                let role_name = role_name(&mut c, p);
                let policy_name = policy_name(&mut c, p);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                let policy_name = checked_name("PolicyName", policy_name)?;
                if action == "GetRolePolicy" {
                    Operation::GetRolePolicy { role_name, policy_name }
                } else {
                    Operation::DeleteRolePolicy { role_name, policy_name }
                }
            }
            "CreatePolicy" => {
                let policy_name = policy_name(&mut c, p);
                let path = c.string(p, "Path", false, 1, 512);
                let document = c.document(p, "PolicyDocument", true);
                let description = c.string(p, "Description", false, 0, 1000);
                let tags = c.tags(p, "Tags", false);
                c.finish()?;
                let policy_name = checked_name("PolicyName", policy_name)?;
                let path = path.unwrap_or("/");
                validate::path(path, validate::is_policy_path)?;
                validate::permissions_policy(owned_ref(document))?;
                Operation::CreatePolicy(Box::new(CreatePolicy {
                    policy_name,
                    path: path.to_owned(),
                    policy_document: owned(document),
                    description: description.map(str::to_owned),
                    tags,
                }))
            }
            "GetPolicy" | "DeletePolicy" => {
                let arn = policy_arn(&mut c, p);
                c.finish()?;
                let policy_arn = PolicyArn::parse(arn.unwrap_or_default(), BadArn::Input)?;
                if action == "GetPolicy" {
                    Operation::GetPolicy { policy_arn }
                } else {
                    Operation::DeletePolicy { policy_arn }
                }
            }
            "ListPolicies" => {
                let scope = p.get("Scope");
                c.one_of("Scope", scope, &["All", "AWS", "Local"]);
                let only_attached = c.bool(p, "OnlyAttached");
                let prefix = c.string(p, "PathPrefix", false, 1, 512);
                c.pattern("PathPrefix", prefix, validate::is_policy_path, validate::POLICY_PATH_PATTERN);
                let usage = p.get("PolicyUsageFilter");
                c.one_of("PolicyUsageFilter", usage, &["PermissionsPolicy", "PermissionsBoundary"]);
                let page = c.page(p);
                c.finish()?;
                Operation::ListPolicies(ListPolicies {
                    scope: match scope {
                        Some("AWS") => PolicyScope::Aws,
                        Some("Local") => PolicyScope::Local,
                        _ => PolicyScope::All,
                    },
                    only_attached: only_attached.unwrap_or(false),
                    path_prefix: prefix.unwrap_or("/").to_owned(),
                    usage: match usage {
                        Some("PermissionsPolicy") => Some(PolicyUsage::PermissionsPolicy),
                        Some("PermissionsBoundary") => Some(PolicyUsage::PermissionsBoundary),
                        _ => None,
                    },
                    page,
                })
            }
            "CreatePolicyVersion" => {
                let arn = policy_arn(&mut c, p);
                let document = c.document(p, "PolicyDocument", true);
                let set_as_default = c.bool(p, "SetAsDefault");
                c.finish()?;
                validate::permissions_policy(owned_ref(document))?;
                Operation::CreatePolicyVersion {
                    policy_arn: PolicyArn::parse(arn.unwrap_or_default(), BadArn::Input)?,
                    policy_document: owned(document),
                    set_as_default: set_as_default.unwrap_or(false),
                }
            }
            "GetPolicyVersion" | "DeletePolicyVersion" | "SetDefaultPolicyVersion" => {
                let arn = policy_arn(&mut c, p);
                let version_id = c.string(p, "VersionId", true, 0, usize::MAX);
                c.pattern("VersionId", version_id, validate::is_version_id, validate::VERSION_ID_PATTERN);
                c.finish()?;
                let policy_arn = PolicyArn::parse(arn.unwrap_or_default(), BadArn::Input)?;
                let version_id = owned(version_id);
                match action {
                    "GetPolicyVersion" => Operation::GetPolicyVersion { policy_arn, version_id },
                    "DeletePolicyVersion" => Operation::DeletePolicyVersion { policy_arn, version_id },
                    _ => Operation::SetDefaultPolicyVersion { policy_arn, version_id },
                }
            }
            "ListPolicyVersions" | "ListPolicyTags" => {
                let arn = policy_arn(&mut c, p);
                let page = c.page(p);
                c.finish()?;
                let policy_arn = PolicyArn::parse(arn.unwrap_or_default(), BadArn::Input)?;
                if action == "ListPolicyVersions" {
                    Operation::ListPolicyVersions { policy_arn, page }
                } else {
                    Operation::ListPolicyTags { policy_arn, page }
                }
            }
            "TagPolicy" => {
                let arn = policy_arn(&mut c, p);
                let tags = c.tags(p, "Tags", true);
                c.finish()?;
                Operation::TagPolicy {
                    policy_arn: PolicyArn::parse(arn.unwrap_or_default(), BadArn::Input)?,
                    tags,
                }
            }
            "UntagPolicy" => {
                let arn = policy_arn(&mut c, p);
                let tag_keys = c.tag_keys(p, "TagKeys");
                c.finish()?;
                Operation::UntagPolicy {
                    policy_arn: PolicyArn::parse(arn.unwrap_or_default(), BadArn::Input)?,
                    tag_keys,
                }
            }
            "AttachRolePolicy" | "DetachRolePolicy" => {
                let role_name = role_name(&mut c, p);
                let arn = policy_arn(&mut c, p);
                c.finish()?;
                let role_name = checked_name("RoleName", role_name)?;
                let policy_arn = PolicyArn::parse(arn.unwrap_or_default(), BadArn::Validation)?;
                if action == "AttachRolePolicy" {
                    Operation::AttachRolePolicy { role_name, policy_arn }
                } else {
                    Operation::DetachRolePolicy { role_name, policy_arn }
                }
            }
            "ListAttachedRolePolicies" => {
                let role_name = role_name(&mut c, p);
                let prefix = c.string(p, "PathPrefix", false, 1, 512);
                c.pattern("PathPrefix", prefix, validate::is_policy_path, validate::POLICY_PATH_PATTERN);
                let page = c.page(p);
                c.finish()?;
                Operation::ListAttachedRolePolicies {
                    role_name: checked_name("RoleName", role_name)?,
                    path_prefix: prefix.unwrap_or("/").to_owned(),
                    page,
                }
            }
            other => {
                return Err(match MODEL_ACTIONS.iter().find(|a| **a == other) {
                    Some(known) => Error::NotImplemented(known),
                    None => Error::InvalidAction { action: other.to_owned(), version },
                });
            }
        };
        Ok(op)
    }
}

fn role_name<'a>(c: &mut Checks, p: &'a QueryParams) -> Option<&'a str> {
    c.string(p, "RoleName", true, 1, 64)
}

fn policy_name<'a>(c: &mut Checks, p: &'a QueryParams) -> Option<&'a str> {
    c.string(p, "PolicyName", true, 1, 128)
}

fn policy_arn<'a>(c: &mut Checks, p: &'a QueryParams) -> Option<&'a str> {
    c.string(p, "PolicyArn", true, 20, 2048)
}

fn role_description<'a>(c: &mut Checks, p: &'a QueryParams, required: bool) -> Option<&'a str> {
    let description = c.string(p, "Description", required, 0, 1000);
    c.pattern(
        "Description",
        description,
        |d| d.chars().all(validate::is_role_description_char),
        validate::ROLE_DESCRIPTION_PATTERN,
    );
    description
}

/// `\u002F[\u0021-\u007F]*`
fn is_role_path_prefix(s: &str) -> bool {
    s.starts_with('/') && s.bytes().all(|b| (0x21..=0x7f).contains(&b))
}

/// A name that passed the model's checks, now held to IAM's character rule. Only reached
/// after `Checks::finish`, so a required name is present.
fn checked_name(member: &str, value: Option<&str>) -> Result<String, Error> {
    let value = value.unwrap_or_default();
    validate::name(member, value)?;
    Ok(value.to_owned())
}

/// A required member after `Checks::finish`, which guarantees it is present.
fn owned(value: Option<&str>) -> String {
    owned_ref(value).to_owned()
}

fn owned_ref(value: Option<&str>) -> &str {
    value.unwrap_or_default()
}

#[cfg(test)]
mod tests;
