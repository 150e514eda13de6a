//! Behaviour tests: every operator, the exact refusal messages, arrays, and the compiled matcher
//! checked against the direct evaluator on generated rules and events.

mod differential;
mod errors;
mod operators;
