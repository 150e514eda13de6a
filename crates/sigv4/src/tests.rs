//! Tests: the official AWS signing test suite, the worked examples of the AWS documentation,
//! the AWS SDK's own signer as an oracle, and every refusal rendered as AWS would.

mod documented;
mod oracle;
mod refusals;
mod scope;
mod suite;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::date;

/// The hex SHA-256 of the empty body.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// The head of a request, as the gateway would hand it over.
fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).expect("test requests are well formed").into_parts().0
}

/// `20150830T123600Z` as a time.
fn at(basic: &str) -> OffsetDateTime {
    date::parse_basic(basic).expect("test times are well formed")
}

fn sha256_hex(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}
