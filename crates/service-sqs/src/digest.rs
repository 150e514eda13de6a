//! The digests SQS returns and checks: MD5 of the body, MD5 of the message attributes in SQS's
//! documented binary encoding, and SHA-256 of the body for content-based deduplication.
//!
//! The attribute encoding ("Calculating the MD5 message digest for message attributes" in the
//! SQS developer guide): attributes sorted by name; for each, the name, the data type and the
//! value, each as a 4-byte big-endian length then the UTF-8 (or raw) bytes, with one transport
//! byte before the value: 1 for String and Number, 2 for Binary.

use std::collections::BTreeMap;

use base64::Engine;
use md5::{Digest, Md5};

use crate::model::AttributeValue;

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn push_len_prefixed(buf: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// MD5OfMessageAttributes (and MD5OfMessageSystemAttributes): `None` when there are none.
/// A `BTreeMap` iterates in byte order of the names, which is the order SQS sorts by.
pub fn md5_of_attributes(attributes: &BTreeMap<String, AttributeValue>) -> Option<String> {
    if attributes.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    for (name, value) in attributes {
        push_len_prefixed(&mut buf, name.as_bytes());
        push_len_prefixed(&mut buf, value.data_type.as_bytes());
        if let Some(binary) = &value.binary_value {
            buf.push(2);
            let raw = base64::engine::general_purpose::STANDARD.decode(binary).unwrap_or_default();
            push_len_prefixed(&mut buf, &raw);
        } else {
            buf.push(1);
            push_len_prefixed(&mut buf, value.string_value.as_deref().unwrap_or_default().as_bytes());
        }
    }
    Some(md5_hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(data_type: &str, v: &str) -> AttributeValue {
        AttributeValue { data_type: data_type.into(), string_value: Some(v.into()), binary_value: None }
    }

    #[test]
    fn body_digest() {
        // MD5 of "This is a test message" as SQS and every SDK compute it.
        assert_eq!(md5_hex(b"This is a test message"), "fafb00f5732ab283681e124bf8747ed1");
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn attribute_digest_matches_sqs_values() {
        // Digests SQS returned for these attributes, as pinned by moto's SQS test suite.
        for (name, value, digest) in [
            ("timestamp", "1493147359900", "235c5c510d26fb653d073faed50ae77c"),
            ("timestamp", "1493147359901", "994258b45346a2cc3f9cbb611aa7af30"),
            ("SOME_Valid.attribute-Name", "1493147359900", "36655e7e9d7c0e8479fa3f3f42247ae7"),
        ] {
            let mut attrs = BTreeMap::new();
            attrs.insert(name.to_owned(), string("Number", value));
            assert_eq!(md5_of_attributes(&attrs).as_deref(), Some(digest), "{name}");
        }
        assert_eq!(md5_of_attributes(&BTreeMap::new()), None);
    }

    #[test]
    fn encoding_is_length_prefixed_and_typed() {
        // The exact byte string for one String attribute, hashed independently.
        let mut attrs = BTreeMap::new();
        attrs.insert("a".to_owned(), string("String", "b"));
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        expected.extend_from_slice(b"String");
        expected.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(md5_of_attributes(&attrs), Some(md5_hex(&expected)));
        let mut bin = BTreeMap::new();
        bin.insert(
            "a".to_owned(),
            AttributeValue {
                data_type: "Binary".into(),
                string_value: None,
                binary_value: Some("AQI=".into()),
            },
        );
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        expected.extend_from_slice(b"Binary");
        expected.extend_from_slice(&[2, 0, 0, 0, 2, 1, 2]);
        assert_eq!(md5_of_attributes(&bin), Some(md5_hex(&expected)));
    }
}
