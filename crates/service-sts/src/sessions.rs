//! What STS hands out: temporary credentials and the identities they stand for.
//!
//! Nimbus does not enforce IAM yet, so nothing here consults IAM: any role ARN can be assumed,
//! whether or not the role exists, and credentials are not remembered. The gateway accepts
//! every key anyway; the values only have to look like AWS's so that clients and SDKs accept
//! them.

use protocol::xml::XmlWriter;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use types::{AccountId, Arn};

use crate::operation::AssumeRole;

use types::ids::{UPPER_ALNUM, random_chars};
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A set of temporary credentials, as `<Credentials>` carries them.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub expiration: OffsetDateTime,
}

impl Credentials {
    /// Fresh random credentials valid for `duration_seconds` from `now`. Temporary keys start
    /// with `ASIA`, which is how AWS tells them from long-term `AKIA` keys.
    pub fn issue(now: OffsetDateTime, duration_seconds: i64) -> Credentials {
        Credentials {
            access_key_id: format!("ASIA{}", random_chars(UPPER_ALNUM, 16)),
            secret_access_key: random_chars(BASE64, 40),
            session_token: random_chars(BASE64, 356),
            expiration: now + time::Duration::seconds(duration_seconds),
        }
    }

    pub fn write(&self, w: &mut XmlWriter) {
        w.open("Credentials");
        w.leaf("AccessKeyId", &self.access_key_id);
        w.leaf("SecretAccessKey", &self.secret_access_key);
        w.leaf("SessionToken", &self.session_token);
        w.leaf("Expiration", &timestamp(self.expiration));
        w.close("Credentials");
    }
}

/// The identity behind assumed-role credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumedRoleUser {
    pub assumed_role_id: String,
    pub arn: String,
}

impl AssumedRoleUser {
    /// `arn:aws:sts::{account}:assumed-role/{role name}/{session}`: the role's path is dropped,
    /// as AWS does, and the account is the role's (a cross-account role is assumed into its own
    /// account). A role ARN without a 12-digit account falls back to the caller's.
    pub fn new(caller: &AccountId, input: &AssumeRole) -> AssumedRoleUser {
        let role = &input.role_arn;
        let account = AccountId::parse(&role.account).unwrap_or_else(|| caller.clone());
        let role_name = role.resource.rsplit('/').next().unwrap_or(&role.resource);
        let session = &input.role_session_name;
        let arn = Arn::new("sts", "", account.as_str(), &format!("assumed-role/{role_name}/{session}"));
        AssumedRoleUser {
            assumed_role_id: format!("{}:{session}", role_id(role)),
            arn: Arn { partition: role.partition.clone(), ..arn }.to_string(),
        }
    }

    pub fn write(&self, w: &mut XmlWriter) {
        w.open("AssumedRoleUser");
        w.leaf("AssumedRoleId", &self.assumed_role_id);
        w.leaf("Arn", &self.arn);
        w.close("AssumedRoleUser");
    }
}

/// A role id (`AROA` + 17 characters) derived from the role ARN, so that every session of one
/// role shows the same id, as on AWS. It is not the id IAM gave the role: services do not read
/// each other's state.
fn role_id(role: &Arn) -> String {
    let digest = Sha256::digest(role.to_string().as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| char::from(UPPER_ALNUM[usize::from(*b) % UPPER_ALNUM.len()]))
        .collect();
    format!("AROA{tail}")
}

/// ISO 8601 in UTC with whole seconds, the way STS writes timestamps: `2026-11-27T07:56:34Z`.
pub fn timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn credentials_look_like_aws() {
        let c = Credentials::issue(datetime!(2026-11-27 06:56:34.5 UTC), 3600);
        assert_eq!(c.access_key_id.len(), 20);
        assert!(c.access_key_id.starts_with("ASIA"));
        assert!(c.access_key_id.bytes().all(|b| UPPER_ALNUM.contains(&b)));
        assert_eq!(c.secret_access_key.len(), 40);
        assert!(!c.session_token.is_empty());
        assert_eq!(timestamp(c.expiration), "2026-11-27T07:56:34Z");
    }

    #[test]
    fn role_id_is_stable_per_role() {
        let a: Arn = "arn:aws:iam::000000000000:role/a".parse().expect("arn");
        let b: Arn = "arn:aws:iam::000000000000:role/b".parse().expect("arn");
        assert_eq!(role_id(&a), role_id(&a));
        assert_ne!(role_id(&a), role_id(&b));
        assert_eq!(role_id(&a).len(), 21);
    }
}
