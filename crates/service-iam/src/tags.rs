//! Tag sets of roles and managed policies: IAM treats role tag keys as case-insensitive and
//! policy tag keys as case-sensitive (both recorded against AWS), and caps both at 50.

use crate::error::Error;
use crate::model::TagRecord;
use crate::validate::Tag;

/// How a resource compares tag keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// Roles: `Env` and `env` are one key.
    CaseInsensitive,
    /// Managed policies: `a` and `A` are two keys.
    CaseSensitive,
}

impl Keys {
    fn same(self, a: &str, b: &str) -> bool {
        match self {
            Keys::CaseInsensitive => a.to_lowercase() == b.to_lowercase(),
            Keys::CaseSensitive => a == b,
        }
    }

    fn duplicate_message(self) -> &'static str {
        match self {
            Keys::CaseInsensitive => {
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            }
            Keys::CaseSensitive => "Duplicate tag keys found.",
        }
    }
}

/// A request's tags, refused when two of them share a key.
pub fn distinct(tags: Vec<Tag>, keys: Keys) -> Result<Vec<TagRecord>, Error> {
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].iter().any(|earlier| keys.same(&earlier.key, &t.key)) {
            return Err(Error::InvalidInput(keys.duplicate_message().to_owned()));
        }
    }
    Ok(tags.into_iter().map(TagRecord::from).collect())
}

/// Adds or overwrites `new` in `current` (new keys go last), within the quota of 50.
pub fn merge(
    current: &mut Vec<TagRecord>,
    new: Vec<TagRecord>,
    keys: Keys,
    quota_name: &str,
) -> Result<(), Error> {
    let mut merged = current.clone();
    for tag in new {
        match merged.iter_mut().find(|t| keys.same(&t.key, &tag.key)) {
            Some(existing) => *existing = tag,
            None => merged.push(tag),
        }
    }
    if merged.len() > 50 {
        return Err(Error::LimitExceeded(format!("Cannot exceed quota for {quota_name}: 50")));
    }
    *current = merged;
    Ok(())
}

/// Removes every tag whose key is in `remove`; keys that are not there are ignored.
pub fn remove(current: &mut Vec<TagRecord>, remove: &[String], keys: Keys) {
    current.retain(|t| !remove.iter().any(|k| keys.same(&t.key, k)));
}

/// Tags in the order the list operations return them: by key.
pub fn sorted(tags: &[TagRecord]) -> Vec<TagRecord> {
    let mut out = tags.to_vec();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { key: k.into(), value: v.into() }
    }

    #[test]
    fn duplicates_depend_on_the_resource() {
        assert!(distinct(vec![tag("a", "1"), tag("A", "2")], Keys::CaseSensitive).is_ok());
        let err = distinct(vec![tag("a", "1"), tag("A", "2")], Keys::CaseInsensitive).expect_err("dup");
        assert!(matches!(err, Error::InvalidInput(m) if m.ends_with("case insensitive.")));
        assert!(
            matches!(distinct(vec![tag("a", "1"), tag("a", "2")], Keys::CaseSensitive), Err(Error::InvalidInput(m)) if m == "Duplicate tag keys found.")
        );
    }

    #[test]
    fn merge_overwrites_and_caps() {
        let mut current = vec![TagRecord { key: "Env".into(), value: "dev".into() }];
        merge(
            &mut current,
            vec![TagRecord { key: "env".into(), value: "prod".into() }],
            Keys::CaseInsensitive,
            "TagsPerRole",
        )
        .expect("merge");
        assert_eq!(current, vec![TagRecord { key: "env".into(), value: "prod".into() }]);
        let many: Vec<TagRecord> =
            (0..50).map(|i| TagRecord { key: format!("k{i}"), value: String::new() }).collect();
        let err = merge(&mut current, many, Keys::CaseInsensitive, "TagsPerRole").expect_err("quota");
        assert!(matches!(err, Error::LimitExceeded(m) if m == "Cannot exceed quota for TagsPerRole: 50"));
        assert_eq!(current.len(), 1, "a refused merge changes nothing");
        remove(&mut current, &["ENV".to_owned()], Keys::CaseInsensitive);
        assert!(current.is_empty());
    }
}
