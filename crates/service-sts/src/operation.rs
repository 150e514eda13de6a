//! STS requests parsed into a closed [`Operation`]: every member read, validated against the
//! model and typed before anything runs. Parsing does no IO.

use protocol::query::QueryParams;
use protocol::validation_message;
use types::Arn;

use crate::error::Error;

/// The STS operations Nimbus serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    GetCallerIdentity,
    AssumeRole(AssumeRole),
    /// The web identity token is required but not verified: Nimbus trusts every caller.
    AssumeRoleWithWebIdentity(AssumeRole),
    GetSessionToken {
        duration_seconds: i64,
    },
    GetAccessKeyInfo {
        access_key_id: String,
    },
}

/// The members AssumeRole and AssumeRoleWithWebIdentity share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumeRole {
    pub role_arn: Arn,
    pub role_session_name: String,
    pub duration_seconds: i64,
    pub source_identity: Option<String>,
}

/// Every action of the STS model, so that a real action Nimbus lacks answers `NotImplemented`
/// while a misspelt one answers `InvalidAction`, as the client expects.
const MODEL_ACTIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "AssumeRoot",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetDelegatedAccessToken",
    "GetFederationToken",
    "GetSessionToken",
    "GetWebIdentityToken",
];

/// `[\w+=,.@-]`: the characters of role session names and source identities. `\w` is ASCII
/// in AWS's (Java) patterns.
fn is_session_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

const SESSION_NAME_PATTERN: &str = r"Member must satisfy regular expression pattern: [\w+=,.@-]*";

/// Collects model violations in member order; AWS reports them together in one message.
#[derive(Default)]
struct Violations {
    items: Vec<(String, String, String)>,
}

impl Violations {
    fn push(&mut self, member: &str, value: &str, constraint: impl Into<String>) {
        self.items.push((member.to_owned(), value.to_owned(), constraint.into()));
    }

    fn required<'a>(&mut self, p: &'a QueryParams, member: &str) -> Option<&'a str> {
        let value = p.get(member);
        if value.is_none() {
            self.push(member, "null", "Member must not be null");
        }
        value
    }

    fn length(&mut self, member: &str, value: Option<&str>, min: usize, max: usize) {
        let Some(value) = value else { return };
        let n = value.chars().count();
        if n < min {
            self.push(member, value, format!("Member must have length greater than or equal to {min}"));
        } else if n > max {
            self.push(member, value, format!("Member must have length less than or equal to {max}"));
        }
    }

    fn session_name(&mut self, member: &str, value: Option<&str>) {
        self.length(member, value, 2, 64);
        if let Some(value) = value.filter(|v| !v.chars().all(is_session_char)) {
            self.push(member, value, SESSION_NAME_PATTERN);
        }
    }

    fn range(&mut self, member: &str, p: &QueryParams, min: i64, max: i64) -> Result<Option<i64>, Error> {
        let value = p.int(member)?;
        if let Some(v) = value {
            let shown = v.to_string();
            if v < min {
                self.push(member, &shown, format!("Member must have value greater than or equal to {min}"));
            } else if v > max {
                self.push(member, &shown, format!("Member must have value less than or equal to {max}"));
            }
        }
        Ok(value)
    }

    fn finish(self) -> Result<(), Error> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = self.items.iter().map(|(m, v, c)| (m.as_str(), v.as_str(), c.as_str()));
        Err(Error::ValidationError(validation_message(items)))
    }
}

impl Operation {
    /// The action name, as the response element is named.
    pub fn action(&self) -> &'static str {
        match self {
            Operation::GetCallerIdentity => "GetCallerIdentity",
            Operation::AssumeRole(_) => "AssumeRole",
            Operation::AssumeRoleWithWebIdentity(_) => "AssumeRoleWithWebIdentity",
            Operation::GetSessionToken { .. } => "GetSessionToken",
            Operation::GetAccessKeyInfo { .. } => "GetAccessKeyInfo",
        }
    }

    pub fn parse(p: &QueryParams) -> Result<Operation, Error> {
        let version = p.get("Version").map(str::to_owned);
        let action = p
            .action()
            .map_err(|_| Error::InvalidAction { action: String::new(), version: version.clone() })?;
        match action {
            "GetCallerIdentity" => Ok(Operation::GetCallerIdentity),
            "AssumeRole" => parse_assume_role(p, false).map(Operation::AssumeRole),
            "AssumeRoleWithWebIdentity" => {
                parse_assume_role(p, true).map(Operation::AssumeRoleWithWebIdentity)
            }
            "GetSessionToken" => {
                let mut v = Violations::default();
                let duration = v.range("DurationSeconds", p, 900, 129_600)?;
                v.finish()?;
                Ok(Operation::GetSessionToken { duration_seconds: duration.unwrap_or(43_200) })
            }
            "GetAccessKeyInfo" => {
                let mut v = Violations::default();
                let key = v.required(p, "AccessKeyId");
                v.length("AccessKeyId", key, 16, 128);
                v.finish()?;
                Ok(Operation::GetAccessKeyInfo { access_key_id: key.unwrap_or_default().to_owned() })
            }
            other => match MODEL_ACTIONS.iter().find(|a| **a == other) {
                Some(known) => Err(Error::NotImplemented(known)),
                None => Err(Error::InvalidAction { action: other.to_owned(), version }),
            },
        }
    }
}

fn parse_assume_role(p: &QueryParams, web_identity: bool) -> Result<AssumeRole, Error> {
    let mut v = Violations::default();
    let role_arn = v.required(p, "RoleArn");
    v.length("RoleArn", role_arn, 20, 2048);
    let session = v.required(p, "RoleSessionName");
    v.session_name("RoleSessionName", session);
    if web_identity {
        // The token is sensitive, so only its presence is checked; Nimbus does not verify it.
        v.required(p, "WebIdentityToken");
    }
    let duration = v.range("DurationSeconds", p, 900, 43_200)?;
    let source_identity = p.get("SourceIdentity");
    if !web_identity {
        v.session_name("SourceIdentity", source_identity);
    }
    v.finish()?;
    let role_arn = role_arn.unwrap_or_default();
    Ok(AssumeRole {
        role_arn: parse_role_arn(role_arn)?,
        role_session_name: session.unwrap_or_default().to_owned(),
        duration_seconds: duration.unwrap_or(3600),
        source_identity: source_identity.filter(|_| !web_identity).map(str::to_owned),
    })
}

/// AWS accepts any well-formed ARN here (the role's existence is checked later, which Nimbus
/// does not do); a malformed one is `{arn} is invalid`.
fn parse_role_arn(s: &str) -> Result<Arn, Error> {
    let invalid = || Error::ValidationError(format!("{s} is invalid"));
    let arn: Arn = s.parse().map_err(|_| invalid())?;
    if arn.partition.is_empty() || arn.service.is_empty() || arn.resource.is_empty() {
        return Err(invalid());
    }
    Ok(arn)
}

#[cfg(test)]
mod tests;
