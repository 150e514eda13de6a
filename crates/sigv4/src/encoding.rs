//! Percent-encoding the way SigV4 defines it, and query strings split the way the SDK signers
//! split them.
//!
//! SigV4's "URI-encode" escapes every byte except the RFC 3986 unreserved characters
//! (`A-Z a-z 0-9 - . _ ~`), with upper-case hex. That is stricter than what a URL may carry, so
//! a server must re-encode what it received before comparing: `!`, `*`, `(`, `:` and friends
//! travel raw but are signed escaped.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Everything but the unreserved characters.
const URI_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The same, keeping `/`: paths are encoded segment by segment.
const URI_ENCODE_PATH: &AsciiSet = &URI_ENCODE.remove(b'/');

/// Appends `bytes` URI-encoded, `/` included.
pub(crate) fn encode(out: &mut String, bytes: &[u8]) {
    out.extend(percent_encoding::percent_encode(bytes, URI_ENCODE));
}

/// Appends `bytes` URI-encoded, leaving `/` as it is.
pub(crate) fn encode_path(out: &mut String, bytes: &[u8]) {
    out.extend(percent_encoding::percent_encode(bytes, URI_ENCODE_PATH));
}

/// Decodes `%XX` escapes. A `%` without two hex digits after it stays as it is, as the SDKs and
/// AWS's servers both do, so a stray `%` re-encodes as `%25` instead of failing the request.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, [u8]> {
    percent_encoding::percent_decode(bytes).into()
}

/// Splits a raw query string into decoded name/value pairs the way `application/x-www-form-
/// urlencoded` does, which is how the SDK signers read a URL's query: `+` is a space, a name
/// without `=` has an empty value, and empty pieces (`a=1&&b=2`) are skipped.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    query.split('&').filter(|piece| !piece.is_empty()).map(|piece| {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        (form_decode(name), form_decode(value))
    })
}

/// The decoded value of the first query parameter whose name matches `name` ignoring ASCII case:
/// S3 accepts `x-amz-credential` as well as `X-Amz-Credential`, and being as lenient costs nothing.
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let query = query?;
    query_pairs(query)
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
}

fn form_decode(s: &str) -> Vec<u8> {
    if s.contains('+') {
        let spaced = s.replace('+', " ");
        decode(spaced.as_bytes()).into_owned()
    } else {
        decode(s.as_bytes()).into_owned()
    }
}
