//! SigV4 header signing the way the SDKs do it, from this crate's own building blocks
//! (canonical request, string to sign, signing key), so signers (the load generator, the
//! server's in-process calls between services) and the verifier share one definition of the
//! canonical form.
//!
//! Every header the request carries is signed, as botocore and aws-sigv4 do, except
//! `user-agent` (both leave it out). S3 requests also carry and sign `x-amz-content-sha256`;
//! other services sign the body's hash without sending it.

use crate::{ALGORITHM, CredentialScope, SignedRequest};
use http::HeaderValue;
use http::header::{AUTHORIZATION, HeaderName};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Credentials and region, plus the last signing key, which only changes with the day and the
/// service (recomputing it is four HMACs per request that an SDK also caches).
#[derive(Clone, Debug)]
pub struct Signer {
    access_key_id: String,
    secret_access_key: String,
    region: String,
    cached_key: Option<(String, &'static str, [u8; 32])>,
}

/// How a request is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    /// Not signed, as a health probe or a browser would send it.
    Unsigned,
    /// Signed for a service other than S3: the body's hash is signed but not sent.
    Service(&'static str),
    /// Signed for S3: `x-amz-content-sha256` is sent and signed.
    S3,
}

impl Signer {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Signer {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            region: region.into(),
            cached_key: None,
        }
    }

    /// Signs `parts` (whose headers must already include `host` and every header to be sent
    /// but `content-length`) for a body of `body`, at `now`: adds `x-amz-date`, for S3
    /// `x-amz-content-sha256`, and `authorization`.
    pub fn sign(
        &mut self,
        parts: &mut http::request::Parts,
        signing: Signing,
        body: &[u8],
        now: OffsetDateTime,
    ) {
        if signing == Signing::Unsigned {
            return;
        }
        self.sign_hashed(parts, signing, &hex::encode(Sha256::digest(body)), now);
    }

    /// [`Signer::sign`] for a body whose SHA-256 (lower-case hex) is already known: a client
    /// sending one large object many times hashes it once.
    pub fn sign_hashed(
        &mut self,
        parts: &mut http::request::Parts,
        signing: Signing,
        payload_hash: &str,
        now: OffsetDateTime,
    ) {
        let service = match signing {
            Signing::Unsigned => return,
            Signing::Service(service) => service,
            Signing::S3 => "s3",
        };
        let amz_date = crate::amz_date(now);
        let date = &amz_date[..8];
        parts.headers.insert(X_AMZ_DATE, header_value(&amz_date));
        if signing == Signing::S3 {
            parts.headers.insert(X_AMZ_CONTENT_SHA256, header_value(payload_hash));
        }
        // `http` keeps header names in lower case already; AWS wants them sorted.
        let mut signed_headers: Vec<String> = parts
            .headers
            .keys()
            .filter(|name| *name != http::header::USER_AGENT && *name != AUTHORIZATION)
            .map(|name| name.as_str().to_owned())
            .collect();
        signed_headers.sort_unstable();
        signed_headers.dedup();
        let scope = CredentialScope {
            access_key_id: self.access_key_id.clone(),
            date: date.to_owned(),
            region: self.region.clone(),
            service: service.to_owned(),
        };
        let key = self.signing_key(&scope, service);
        let request = SignedRequest {
            scope,
            signed_headers,
            signature: String::new(),
            timestamp: now,
            amz_date: amz_date.clone(),
            presigned: false,
            expires_in: None,
            security_token: None,
        };
        let canonical = crate::canonical_request(parts, &request, payload_hash);
        let string_to_sign = crate::string_to_sign(&amz_date, &request.scope, &canonical);
        let signature = crate::signature(&key, &string_to_sign);
        let authorization = format!(
            "{ALGORITHM} Credential={}/{date}/{}/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
            self.access_key_id,
            self.region,
            request.signed_headers.join(";"),
        );
        parts.headers.insert(AUTHORIZATION, header_value(&authorization));
    }

    fn signing_key(&mut self, scope: &CredentialScope, service: &'static str) -> [u8; 32] {
        if let Some((date, cached_service, key)) = &self.cached_key
            && *date == scope.date
            && *cached_service == service
        {
            return *key;
        }
        let key = crate::signing_key(&self.secret_access_key, scope);
        self.cached_key = Some((scope.date.clone(), service, key));
        key
    }
}

const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");

fn header_value(text: &str) -> HeaderValue {
    // Dates, hex digests, the key id and region come from us or from the command line; a key
    // id with bytes a header cannot carry could not be signed with by any client either.
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}
