//! The tenant of a request: an account and a region, and the id that names one request.

use std::fmt;

/// The account used when an access key id does not name one.
pub const DEFAULT_ACCOUNT: &str = "000000000000";
/// The region used when a request carries no SigV4 credential scope.
pub const DEFAULT_REGION: &str = "us-east-1";

/// A 12-digit AWS account id.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// The account an access key id selects: a key that is exactly 12 ASCII digits names that
    /// account (the LocalStack-era convention tests rely on); any other key maps to the default.
    pub fn from_access_key(access_key_id: &str) -> AccountId {
        if is_account_id(access_key_id) { AccountId(access_key_id.to_owned()) } else { AccountId::default() }
    }

    /// Parses a 12-digit account id; `None` for anything else.
    pub fn parse(s: &str) -> Option<AccountId> {
        is_account_id(s).then(|| AccountId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Default for AccountId {
    fn default() -> Self {
        AccountId(DEFAULT_ACCOUNT.to_owned())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

/// An AWS region name such as `us-east-1`. Nimbus accepts any name a client signs with, as the
/// SDKs do for regions they do not know yet; it only rejects names that could not be one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

impl Region {
    /// Parses a region name: 1 to 32 characters of lowercase ASCII letters, digits and `-`.
    pub fn parse(s: &str) -> Option<Region> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Region(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Region {
    fn default() -> Self {
        Region(DEFAULT_REGION.to_owned())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Region({})", self.0)
    }
}

/// Where a resource lives. Resources of one scope are invisible from every other scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub account: AccountId,
    pub region: Region,
}

/// The id AWS returns in `x-amzn-RequestId` / `x-amz-request-id`: a random UUID, as most
/// services use.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    pub fn new() -> RequestId {
        RequestId(uuid::Uuid::new_v4().to_string())
    }

    /// A new id and the random bits behind it, so a request's other ids (its trace and span)
    /// can be cut from them instead of drawing fresh randomness on every request.
    pub fn with_bits() -> (RequestId, u128) {
        let uuid = uuid::Uuid::new_v4();
        (RequestId(uuid.to_string()), uuid.as_u128())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        RequestId::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_digit_key_selects_account() {
        assert_eq!(AccountId::from_access_key("111111111111").as_str(), "111111111111");
        assert_eq!(AccountId::from_access_key("AKIAIOSFODNN7EXAMPLE").as_str(), DEFAULT_ACCOUNT);
        assert_eq!(AccountId::from_access_key("11111111111").as_str(), DEFAULT_ACCOUNT);
        assert_eq!(AccountId::from_access_key("1111111111111").as_str(), DEFAULT_ACCOUNT);
        assert_eq!(AccountId::from_access_key("11111111111a").as_str(), DEFAULT_ACCOUNT);
    }

    #[test]
    fn region_names() {
        assert!(Region::parse("eu-west-3").is_some());
        assert!(Region::parse("").is_none());
        assert!(Region::parse("EU-WEST-3").is_none());
        assert!(Region::parse("us east").is_none());
    }

    #[test]
    fn request_ids_are_unique_uuids() {
        let a = RequestId::new();
        let b = RequestId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 36);
    }
}
