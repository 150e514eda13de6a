//! How IAM writes its values into response XML: timestamps, URL-encoded policy documents,
//! tags, booleans and paged lists.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use protocol::xml::XmlWriter;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::TagRecord;
use crate::validate::Page;

/// RFC 3986's unreserved characters stay as they are; everything else is percent-encoded, as
/// IAM encodes policy documents (`%7B%22Version%22%3A%222012-10-17%22…`, a space as `%20`).
const DOCUMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A policy document as IAM returns it: URL-encoded. The SDKs decode it; the AWS CLI shows it
/// decoded.
pub fn document(doc: &str) -> String {
    utf8_percent_encode(doc, DOCUMENT).to_string()
}

/// ISO 8601 in UTC with whole seconds: `2026-11-27T06:56:34Z`.
pub fn timestamp(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub fn boolean(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

pub fn tags(w: &mut XmlWriter, tags: &[TagRecord]) {
    w.open("Tags");
    for t in tags {
        w.open("member");
        w.leaf("Key", &t.key);
        w.leaf("Value", &t.value);
        w.close("member");
    }
    w.close("Tags");
}

/// A list of strings: `<{name}><member>…</member>…</{name}>`.
pub fn strings<'a>(w: &mut XmlWriter, name: &str, items: impl IntoIterator<Item = &'a str>) {
    w.open(name);
    for item in items {
        w.leaf("member", item);
    }
    w.close(name);
}

/// `IsTruncated`, and `Marker` when there is more.
pub fn truncation(w: &mut XmlWriter, marker: Option<&str>) {
    w.leaf("IsTruncated", boolean(marker.is_some()));
    w.opt_leaf("Marker", marker);
}

/// One page of a list held in a record: the items after `page.marker` (compared by `key`), at
/// most `page.max_items`, and the marker of the next page. Items must be sorted by `key`.
pub fn paginate<T>(items: Vec<T>, page: &Page, key: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = match &page.marker {
        Some(m) => items.into_iter().filter(|i| key(i).as_str() > m.as_str()).collect(),
        None => items,
    };
    if rest.len() <= page.max_items {
        return (rest, None);
    }
    rest.truncate(page.max_items);
    let marker = rest.last().map(&key);
    (rest, marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_url_encoded_like_iam() {
        assert_eq!(
            document(r#"{"Version": "2012-10-17", "Action": "sts:AssumeRole"}"#),
            "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D"
        );
        assert_eq!(document("é~"), "%C3%A9~");
    }

    #[test]
    fn timestamps_are_whole_seconds_utc() {
        assert_eq!(timestamp(1_795_762_594), "2026-11-27T06:56:34Z");
    }

    #[test]
    fn pagination_resumes_after_the_marker() {
        let page = |marker: Option<&str>, max| Page { marker: marker.map(str::to_owned), max_items: max };
        let items = || vec!["a", "b", "c"];
        let key = |s: &&str| (*s).to_owned();
        assert_eq!(paginate(items(), &page(None, 2), key), (vec!["a", "b"], Some("b".to_owned())));
        assert_eq!(paginate(items(), &page(Some("b"), 2), key), (vec!["c"], None));
        assert_eq!(paginate(items(), &page(None, 3), key), (vec!["a", "b", "c"], None));
        assert_eq!(paginate(items(), &page(Some("z"), 3), key), (vec![], None));
    }
}
