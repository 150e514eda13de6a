//! The crate's one error type: a refused pattern (with AWS's reason) or an event that is not JSON.

/// Why a pattern or an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern is not valid. Display is the message of EventBridge's
    /// `InvalidEventPatternException`; [`PatternError::reason`] is the part after `Reason: `.
    #[error("Event pattern is not valid. Reason: {0}")]
    InvalidPattern(String),
    /// The event is not valid JSON. Display is TestEventPattern's `ValidationException` message;
    /// the reason says what the JSON reader found.
    #[error("Parameter Event is not valid.")]
    InvalidEvent(String),
}

impl PatternError {
    /// The reason alone, e.g. `Empty arrays are not allowed`.
    pub fn reason(&self) -> &str {
        match self {
            PatternError::InvalidPattern(r) | PatternError::InvalidEvent(r) => r,
        }
    }
}
