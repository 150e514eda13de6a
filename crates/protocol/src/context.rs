//! What the gateway learned about a request before a service sees it.

use time::OffsetDateTime;
use types::{RequestId, Scope};

/// The caller and the request's identity, resolved once by the gateway.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: RequestId,
    /// The account and region the request acts in.
    pub scope: Scope,
    /// The access key id the request was signed with; empty for unsigned requests.
    pub access_key_id: String,
    /// When the gateway received the request.
    pub received_at: OffsetDateTime,
    /// What the gateway made of the signature of a request to a public data plane (a function
    /// URL, an invoke URL), whose resource decides what auth it needs. API calls that reach a
    /// service were checked before (under `--enforce-sigv4`) and say `Unsigned` or `Accepted`.
    pub signature: SignatureCheck,
}

/// The outcome of the gateway's look at a request's SigV4 signature.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No `Authorization` header and no presigned query.
    #[default]
    Unsigned,
    /// Signed, and verified under `--enforce-sigv4` (taken as it is otherwise).
    Accepted,
    /// Signed, and the signature failed verification: AWS's code and message.
    Rejected { code: String, message: String },
}

impl RequestContext {
    pub fn new(scope: Scope, access_key_id: impl Into<String>) -> RequestContext {
        RequestContext {
            request_id: RequestId::new(),
            scope,
            access_key_id: access_key_id.into(),
            received_at: OffsetDateTime::now_utc(),
            signature: SignatureCheck::Unsigned,
        }
    }
}
