//! Log group tags, through both APIs: the deprecated group-name one (TagLogGroup,
//! UntagLogGroup, ListTagsLogGroup) and the ARN one (TagResource, UntagResource,
//! ListTagsForResource). Both edit the same tag map, capped at 50 tags.

use std::collections::BTreeMap;

use protocol::Response;
use serde_json::json;

use crate::Env;
use crate::error::Error;
use crate::operation::GroupArn;

/// Which API asked: they word the over-50 error differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Legacy,
    Resource,
}

const MAX_TAGS: usize = 50;

impl Env<'_> {
    /// The group a tagging ARN names, which must be one of the caller's own.
    pub fn tagged(&self, arn: &GroupArn) -> Result<String, Error> {
        let s = self.scope();
        let missing = || {
            Error::ResourceNotFoundException(format!("The specified resource does not exist: {}", arn.arn))
        };
        if arn.account != s.account.as_str() || arn.region != s.region.as_str() {
            return Err(missing());
        }
        match self.db.group(s, &arn.name)? {
            Some(_) => Ok(arn.name.clone()),
            None => Err(missing()),
        }
    }

    pub fn tag_group(&self, name: &str, new: BTreeMap<String, String>, api: Api) -> Result<Response, Error> {
        self.update_group(name, |g| {
            let mut merged = g.tags.clone();
            merged.extend(new.clone());
            if merged.len() > MAX_TAGS {
                return Err(match api {
                    Api::Legacy => Error::InvalidParameterException(format!(
                        "A resource can have no more than {MAX_TAGS} tags."
                    )),
                    Api::Resource => Error::TooManyTagsException(format!(
                        "A resource can have no more than {MAX_TAGS} tags."
                    )),
                });
            }
            g.tags = merged;
            Ok(())
        })?;
        Ok(self.empty())
    }

    pub fn untag_group(&self, name: &str, keys: &[String]) -> Result<Response, Error> {
        self.update_group(name, |g| {
            for k in keys {
                g.tags.remove(k);
            }
            Ok(())
        })?;
        Ok(self.empty())
    }

    pub fn list_tags(&self, name: &str) -> Result<Response, Error> {
        let (_, group) = self.load_group_named(name)?;
        Ok(self.respond(&json!({ "tags": group.tags })))
    }
}
