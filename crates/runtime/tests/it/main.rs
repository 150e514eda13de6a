//! Real processes, real interpreters: every test starts a `RuntimeManager` on a temporary work
//! folder and runs the fixtures in `tests/fixtures` through it.

mod common;
mod isolation;
mod limits;
mod node;
mod pool;
mod provided;
mod python;
mod ric;
mod rust_fn;
mod streaming;
