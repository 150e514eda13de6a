//! Amazon Resource Names: `arn:partition:service:region:account:resource`.

use std::fmt;
use std::str::FromStr;

/// A parsed ARN. `region` and `account` are empty for global resources (IAM has no region).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArnError {
    #[error("an ARN starts with 'arn:'")]
    MissingPrefix,
    #[error("an ARN has six ':'-separated parts")]
    TooFewParts,
}

impl Arn {
    pub fn new(service: &str, region: &str, account: &str, resource: &str) -> Arn {
        Arn {
            partition: "aws".to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

impl FromStr for Arn {
    type Err = ArnError;

    fn from_str(s: &str) -> Result<Arn, ArnError> {
        let rest = s.strip_prefix("arn:").ok_or(ArnError::MissingPrefix)?;
        // The resource part may itself contain ':' (e.g. `function:name:alias`), so split only
        // the first four separators.
        let mut parts = rest.splitn(5, ':');
        let mut next = || parts.next().ok_or(ArnError::TooFewParts);
        let partition = next()?.to_owned();
        let service = next()?.to_owned();
        let region = next()?.to_owned();
        let account = next()?.to_owned();
        let resource = next()?.to_owned();
        Ok(Arn { partition, service, region, account, resource })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_colons_in_resource() {
        let s = "arn:aws:lambda:us-east-1:000000000000:function:f:live";
        let arn: Arn = s.parse().expect("valid arn");
        assert_eq!(arn.resource, "function:f:live");
        assert_eq!(arn.to_string(), s);
    }

    #[test]
    fn global_resources_have_empty_region() {
        let arn = Arn::new("iam", "", "000000000000", "role/r");
        assert_eq!(arn.to_string(), "arn:aws:iam::000000000000:role/r");
    }

    #[test]
    fn rejects_non_arns() {
        assert_eq!("aws:x".parse::<Arn>(), Err(ArnError::MissingPrefix));
        assert_eq!("arn:aws:s3".parse::<Arn>(), Err(ArnError::TooFewParts));
    }
}
