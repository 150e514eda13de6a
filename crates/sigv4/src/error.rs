//! Why a request's signature was refused, and how AWS words each refusal.
//!
//! AWS answers the same failure in two dialects: the query and JSON services (IAM, STS, SQS,
//! DynamoDB, Lambda, ...) share one set of codes, and S3 has its own codes and texts. A
//! [`SigError`] carries what both renderings need, because the failure is often found before the
//! credential scope (and so the service) is known; the caller picks the dialect by the service it
//! routed to: [`SigError::code`]/[`SigError::message`]/[`SigError::status`] or the `s3_*` trio.
//!
//! The texts were checked against responses quoted from real services in public issue trackers
//! and SDK test suites; see the crate's report for the sources of each.

use std::fmt::Write as _;

use time::OffsetDateTime;

use crate::date;

/// How far the request time may be from the server's clock, either way.
pub const MAX_SKEW: time::Duration = time::Duration::minutes(15);

/// The message every query/JSON service gives when the recomputed signature differs.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you \
provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// S3's shorter wording of the same mismatch.
pub const S3_SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your key and signing method.";

/// The message for a request that carries no signature where one is required.
pub const MISSING_AUTHENTICATION_TOKEN: &str = "Request is missing Authentication Token";

/// The message for an access key id the caller does not know (`InvalidClientTokenId`).
pub const INVALID_CLIENT_TOKEN_ID: &str = "The security token included in the request is invalid.";

/// S3's message for an access key id it does not know (`InvalidAccessKeyId`).
pub const S3_INVALID_ACCESS_KEY_ID: &str =
    "The AWS Access Key Id you provided does not exist in our records.";

/// A refusal rendered for S3: its error code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Rejection {
    pub code: &'static str,
    pub message: String,
}

impl S3Rejection {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> S3Rejection {
        S3Rejection { code, message: message.into() }
    }
}

/// What a recomputed signature was computed from, so the error can show the client the strings
/// the server signed, as AWS does; comparing them with its own is how a client finds its bug.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    pub access_key_id: String,
    pub signature_provided: String,
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// A signature refused. Variants map onto AWS error codes; see the methods for the rendering.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// No signature at all, where the caller requires one.
    #[error("request is missing an authentication token")]
    MissingAuthenticationToken,

    /// An `Authorization` header of another scheme (`Bearer`, `Basic`, SigV2's `AWS key:sig`) or
    /// SigV2 query parameters. The query services answer this as a missing token.
    #[error("unsupported authorization scheme")]
    UnsupportedAuthorization {
        /// The header value, or empty for SigV2 query parameters.
        authorization: String,
        /// Whether it is Signature Version 2, which S3 refuses with its own message.
        sigv2: bool,
    },

    /// The `Authorization` header or the presigned parameters are malformed: a part missing, a
    /// bad date, an algorithm other than AWS4-HMAC-SHA256, a credential of the wrong shape.
    #[error("incomplete signature: {message}")]
    IncompleteSignature { message: String, s3: S3Rejection },

    /// Well-formed, but refused before any arithmetic: the credential scope disagrees with the
    /// request, `host` is not signed, or both signature mechanisms are used at once.
    #[error("invalid signature: {message}")]
    InvalidSignature { message: String, s3: S3Rejection },

    /// The recomputed signature differs from the one provided.
    #[error("the signature does not match")]
    SignatureDoesNotMatch(Box<Mismatch>),

    /// S3 only: `x-amz-*` headers that the signature does not cover.
    #[error("headers not signed: {headers}")]
    HeadersNotSigned { headers: String },

    /// The `x-amz-content-sha256` header names another body than the one received.
    #[error("x-amz-content-sha256 is {provided} but the body hashes to {computed}")]
    ContentSha256Mismatch { provided: String, computed: String },

    /// A header-signed request older than [`MAX_SKEW`].
    #[error("signature expired: {} is more than 15 minutes before {}", date::basic(*request_time), date::basic(*server_time))]
    Expired { request_time: OffsetDateTime, server_time: OffsetDateTime },

    /// A header-signed request more than [`MAX_SKEW`] in the future.
    #[error("signature not yet current: {} is more than 15 minutes after {}", date::basic(*request_time), date::basic(*server_time))]
    NotYetCurrent { request_time: OffsetDateTime, server_time: OffsetDateTime },

    /// A presigned request used after `X-Amz-Date + X-Amz-Expires`.
    #[error("presigned request expired {expires_in} s after {}", date::basic(*request_time))]
    PresignedExpired { request_time: OffsetDateTime, expires_in: u32, server_time: OffsetDateTime },

    /// A presigned request whose `X-Amz-Date` is more than [`MAX_SKEW`] in the future.
    #[error("presigned request not yet valid: {} is in the future", date::basic(*request_time))]
    PresignedNotYetValid { request_time: OffsetDateTime, server_time: OffsetDateTime },

    /// The access key id is unknown. Only the caller can decide this, so this crate never returns
    /// it; the variant exists so that callers render it like every other refusal.
    #[error("unknown access key id {access_key_id}")]
    InvalidClientTokenId { access_key_id: String },
}

impl SigError {
    /// The refusal for an access key id the caller does not know.
    pub fn invalid_client_token_id(access_key_id: impl Into<String>) -> SigError {
        SigError::InvalidClientTokenId { access_key_id: access_key_id.into() }
    }

    /// The error code of the query protocol services (IAM, STS, SQS, SNS, ...): `<Code>`.
    pub fn code(&self) -> &'static str {
        match self {
            SigError::MissingAuthenticationToken | SigError::UnsupportedAuthorization { .. } => {
                "MissingAuthenticationToken"
            }
            SigError::IncompleteSignature { .. } => "IncompleteSignature",
            SigError::InvalidSignature { .. }
            | SigError::SignatureDoesNotMatch(_)
            | SigError::HeadersNotSigned { .. }
            | SigError::ContentSha256Mismatch { .. }
            | SigError::Expired { .. }
            | SigError::NotYetCurrent { .. }
            | SigError::PresignedExpired { .. }
            | SigError::PresignedNotYetValid { .. } => "SignatureDoesNotMatch",
            SigError::InvalidClientTokenId { .. } => "InvalidClientTokenId",
        }
    }

    /// The `__type` the awsJson services (DynamoDB, Lambda, ...) use for the same refusal; they
    /// name these exceptions differently from the query services.
    pub fn json_code(&self) -> &'static str {
        match self.code() {
            "MissingAuthenticationToken" => "MissingAuthenticationTokenException",
            "IncompleteSignature" => "IncompleteSignatureException",
            "InvalidClientTokenId" => "UnrecognizedClientException",
            _ => "InvalidSignatureException",
        }
    }

    /// The HTTP status the query services answer with. The awsJson services differ per service
    /// (DynamoDB answers 400 for all of these), so a caller rendering JSON may override it.
    pub fn status(&self) -> u16 {
        match self {
            SigError::IncompleteSignature { .. } => 400,
            _ => 403,
        }
    }

    /// The message of the query and JSON services.
    pub fn message(&self) -> String {
        match self {
            SigError::MissingAuthenticationToken | SigError::UnsupportedAuthorization { .. } => {
                MISSING_AUTHENTICATION_TOKEN.to_owned()
            }
            SigError::IncompleteSignature { message, .. } | SigError::InvalidSignature { message, .. } => {
                message.clone()
            }
            SigError::SignatureDoesNotMatch(m) => format!(
                "{SIGNATURE_MISMATCH}\n\nThe Canonical String for this request should have been\n'{}'\n\n\
                 The String-to-Sign should have been\n'{}'\n",
                m.canonical_request, m.string_to_sign
            ),
            SigError::HeadersNotSigned { .. } | SigError::ContentSha256Mismatch { .. } => {
                SIGNATURE_MISMATCH.to_owned()
            }
            SigError::Expired { request_time, server_time } => expired(*request_time, *server_time, MAX_SKEW),
            SigError::PresignedExpired { request_time, expires_in, server_time } => {
                expired(*request_time, *server_time, time::Duration::seconds(i64::from(*expires_in)))
            }
            SigError::NotYetCurrent { request_time, server_time }
            | SigError::PresignedNotYetValid { request_time, server_time } => {
                let limit = server_time.checked_add(MAX_SKEW).unwrap_or(*server_time);
                format!(
                    "Signature not yet current: {} is still later than {} ({} + 15 min.)",
                    date::basic(*request_time),
                    date::basic(limit),
                    date::basic(*server_time)
                )
            }
            SigError::InvalidClientTokenId { .. } => INVALID_CLIENT_TOKEN_ID.to_owned(),
        }
    }

    /// S3's error code for the same refusal.
    pub fn s3_code(&self) -> &'static str {
        match self {
            SigError::MissingAuthenticationToken
            | SigError::HeadersNotSigned { .. }
            | SigError::PresignedExpired { .. }
            | SigError::PresignedNotYetValid { .. } => "AccessDenied",
            SigError::UnsupportedAuthorization { sigv2: true, .. } => "InvalidRequest",
            SigError::UnsupportedAuthorization { sigv2: false, .. } => "InvalidArgument",
            SigError::IncompleteSignature { s3, .. } | SigError::InvalidSignature { s3, .. } => s3.code,
            SigError::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            SigError::ContentSha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
            SigError::Expired { .. } | SigError::NotYetCurrent { .. } => "RequestTimeTooSkewed",
            SigError::InvalidClientTokenId { .. } => "InvalidAccessKeyId",
        }
    }

    /// The HTTP status S3 answers with.
    pub fn s3_status(&self) -> u16 {
        match self.s3_code() {
            "AuthorizationHeaderMalformed"
            | "AuthorizationQueryParametersError"
            | "InvalidArgument"
            | "InvalidRequest"
            | "XAmzContentSHA256Mismatch" => 400,
            _ => 403,
        }
    }

    /// S3's message for the same refusal.
    pub fn s3_message(&self) -> String {
        match self {
            SigError::MissingAuthenticationToken => "Access Denied".to_owned(),
            SigError::UnsupportedAuthorization { sigv2: true, .. } => {
                "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
                    .to_owned()
            }
            SigError::UnsupportedAuthorization { sigv2: false, .. } => {
                "Unsupported Authorization Type".to_owned()
            }
            SigError::IncompleteSignature { s3, .. } | SigError::InvalidSignature { s3, .. } => {
                s3.message.clone()
            }
            SigError::SignatureDoesNotMatch(_) => S3_SIGNATURE_MISMATCH.to_owned(),
            SigError::HeadersNotSigned { .. } => {
                "There were headers present in the request which were not signed".to_owned()
            }
            SigError::ContentSha256Mismatch { .. } => {
                "The provided 'x-amz-content-sha256' header does not match what was computed.".to_owned()
            }
            SigError::Expired { .. } | SigError::NotYetCurrent { .. } => {
                "The difference between the request time and the current time is too large.".to_owned()
            }
            SigError::PresignedExpired { .. } => "Request has expired".to_owned(),
            SigError::PresignedNotYetValid { .. } => "Request is not yet valid".to_owned(),
            SigError::InvalidClientTokenId { .. } => S3_INVALID_ACCESS_KEY_ID.to_owned(),
        }
    }

    /// The extra elements S3 puts in its `<Error>` document beside `Code` and `Message`, in
    /// order; SDKs and people debugging a signer read them.
    pub fn s3_fields(&self) -> Vec<(&'static str, String)> {
        match self {
            SigError::UnsupportedAuthorization { authorization, sigv2: false } => {
                vec![("ArgumentName", "Authorization".to_owned()), ("ArgumentValue", authorization.clone())]
            }
            SigError::SignatureDoesNotMatch(m) => vec![
                ("AWSAccessKeyId", m.access_key_id.clone()),
                ("StringToSign", m.string_to_sign.clone()),
                ("SignatureProvided", m.signature_provided.clone()),
                ("StringToSignBytes", spaced_hex(m.string_to_sign.as_bytes())),
                ("CanonicalRequest", m.canonical_request.clone()),
                ("CanonicalRequestBytes", spaced_hex(m.canonical_request.as_bytes())),
            ],
            SigError::HeadersNotSigned { headers } => vec![("HeadersNotSigned", headers.clone())],
            SigError::ContentSha256Mismatch { provided, computed } => vec![
                ("ClientComputedContentSHA256", provided.clone()),
                ("S3ComputedContentSHA256", computed.clone()),
            ],
            SigError::Expired { request_time, server_time }
            | SigError::NotYetCurrent { request_time, server_time } => vec![
                ("RequestTime", date::basic(*request_time)),
                ("ServerTime", date::extended(*server_time)),
                ("MaxAllowedSkewMilliseconds", MAX_SKEW.whole_milliseconds().to_string()),
            ],
            SigError::PresignedExpired { request_time, expires_in, server_time } => {
                let window = time::Duration::seconds(i64::from(*expires_in));
                let expires = request_time.checked_add(window).unwrap_or(*request_time);
                vec![
                    ("X-Amz-Expires", expires_in.to_string()),
                    ("Expires", date::extended(expires)),
                    ("ServerTime", date::extended(*server_time)),
                ]
            }
            SigError::PresignedNotYetValid { request_time, server_time } => {
                vec![("X-Amz-Date", date::basic(*request_time)), ("ServerTime", date::extended(*server_time))]
            }
            SigError::InvalidClientTokenId { access_key_id } => {
                vec![("AWSAccessKeyId", access_key_id.clone())]
            }
            _ => Vec::new(),
        }
    }
}

/// "Signature expired: T is now earlier than NOW-W (NOW - W.)", AWS's wording with the window
/// `W` spelt the way it spells 15 minutes.
fn expired(request_time: OffsetDateTime, server_time: OffsetDateTime, window: time::Duration) -> String {
    let seconds = window.whole_seconds();
    let spelt = if seconds > 0 && seconds % 60 == 0 {
        format!("{} min.", seconds / 60)
    } else {
        format!("{seconds} sec.")
    };
    format!(
        "Signature expired: {} is now earlier than {} ({} - {spelt})",
        date::basic(request_time),
        date::basic(server_time.checked_sub(window).unwrap_or(server_time)),
        date::basic(server_time)
    )
}

/// Bytes as S3 lists them in `StringToSignBytes`: two hex digits each, space separated.
fn spaced_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}
