//! Request signing: the `sigv4` crate's signer, which the server's verifier shares its canonical
//! form with, so a disagreement shows up as a failed run rather than as two bugs that cancel out.

pub use sigv4::{Signer, Signing, amz_date};

#[cfg(test)]
mod tests;
