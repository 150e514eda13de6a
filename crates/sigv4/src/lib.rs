//! AWS Signature Version 4, sans IO: requests in, verdicts out.
//!
//! Three levels, cheapest first:
//! - [`credential_scope`] reads who signed and for which region and service, never failing,
//!   for routing and tenancy on every request;
//! - [`parse`] reads the whole signature (header or presigned) and refuses malformed ones with
//!   the [`SigError`] AWS would answer;
//! - [`verify`] recomputes the signature with the caller's secret and checks the clock.
//!
//! The caller owns everything that needs state: which access keys exist (and their secrets),
//! whether unsigned requests are allowed, which regions and services are valid, and hashing the
//! body. Streaming (`aws-chunked`) chunk signatures are not verified here yet.

mod canonical;
mod date;
mod encoding;
mod error;
mod parse;
mod scope;
mod sign;
mod verify;

pub use canonical::{
    canonical_query, canonical_request, canonical_uri, signature, signing_key, string_to_sign,
};
/// `20150830T123600Z`: the `X-Amz-Date` form of a time, for signers.
pub use date::basic as amz_date;
pub use error::{
    INVALID_CLIENT_TOKEN_ID, MAX_SKEW, MISSING_AUTHENTICATION_TOKEN, Mismatch, S3_INVALID_ACCESS_KEY_ID,
    S3_SIGNATURE_MISMATCH, S3Rejection, SIGNATURE_MISMATCH, SigError,
};
pub use parse::{MAX_EXPIRES, SignedRequest, parse};
pub use scope::{ALGORITHM, CredentialScope, credential_scope};
pub use sign::{Signer, Signing};
pub use verify::{check_clock, verify, verify_parsed};

#[cfg(test)]
mod tests;
