//! Who is calling: the tenant from the credential scope, and, when enforced, proof that the
//! caller holds the secret key it claims.

use std::collections::HashMap;

use http::StatusCode;
use protocol::{ErrorInfo, Protocol};
use time::OffsetDateTime;
use types::{AccountId, Region, Scope};

/// Whether signatures are checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigV4Mode {
    /// Any credentials are accepted, as local tooling expects; the scope still picks the tenant.
    #[default]
    Accept,
    /// Header and presigned signatures are verified against [`Credentials`].
    Enforce,
}

/// The key pairs `--enforce-sigv4` verifies against: access key id → secret access key.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    keys: HashMap<String, String>,
}

impl Credentials {
    pub fn new() -> Credentials {
        Credentials::default()
    }

    pub fn insert(&mut self, access_key_id: impl Into<String>, secret: impl Into<String>) {
        self.keys.insert(access_key_id.into(), secret.into());
    }

    pub fn secret(&self, access_key_id: &str) -> Option<&str> {
        self.keys.get(access_key_id).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Every key pair: services that verify their own signatures (S3) get the same keys.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The tenant a request acts in: the account from a 12-digit access key id, the region from the
/// scope. Unsigned requests and unparseable regions fall back to the defaults.
pub fn scope_of(credential: Option<&sigv4::CredentialScope>) -> (Scope, String) {
    match credential {
        Some(c) => {
            let scope = Scope {
                account: AccountId::from_access_key(&c.access_key_id),
                region: Region::parse(&c.region).unwrap_or_default(),
            };
            (scope, c.access_key_id.clone())
        }
        None => (Scope::default(), String::new()),
    }
}

/// Verifies a request's signature under [`SigV4Mode::Enforce`], answering the error AWS gives
/// in the wording of the request's protocol. The checks run in AWS's order: shape, clock, key,
/// signature.
pub fn verify(
    parts: &http::request::Parts,
    body: &[u8],
    credentials: &Credentials,
    service: &str,
    protocol: Protocol,
    now: OffsetDateTime,
) -> Result<(), ErrorInfo> {
    let reject = |e: sigv4::SigError| sig_error(&e, service, protocol);
    let signed = sigv4::parse(parts)
        .map_err(reject)?
        .ok_or_else(|| reject(sigv4::SigError::MissingAuthenticationToken))?;
    sigv4::check_clock(&signed, now).map_err(reject)?;
    let Some(secret) = credentials.secret(&signed.scope.access_key_id) else {
        return Err(reject(sigv4::SigError::invalid_client_token_id(signed.scope.access_key_id.clone())));
    };
    let payload = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(body))
    };
    sigv4::verify_parsed(parts, &signed, &payload, secret, now).map_err(reject)
}

fn sig_error(e: &sigv4::SigError, service: &str, protocol: Protocol) -> ErrorInfo {
    let (code, status, message) = if service == "s3" {
        (e.s3_code(), e.s3_status(), e.s3_message())
    } else if matches!(protocol, Protocol::AwsJson1_0 | Protocol::AwsJson1_1 | Protocol::RestJson) {
        (e.json_code(), e.status(), e.message())
    } else {
        (e.code(), e.status(), e.message())
    };
    ErrorInfo::new(code, StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN), message)
}
