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
}

impl RequestContext {
    pub fn new(scope: Scope, access_key_id: impl Into<String>) -> RequestContext {
        RequestContext {
            request_id: RequestId::new(),
            scope,
            access_key_id: access_key_id.into(),
            received_at: OffsetDateTime::now_utc(),
        }
    }
}
