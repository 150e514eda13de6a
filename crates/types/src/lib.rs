//! Identity and naming values shared by every Nimbus crate: who is calling (account, region),
//! what a request is called (request id, trace), how resources are named (ARNs). No IO, no async.

mod arn;
mod clock;
pub mod ids;
mod scope;
pub mod timefmt;
pub mod trace;

pub use arn::{Arn, ArnError};
pub use clock::{Clock, FixedClock, SystemClock};
pub use scope::{AccountId, DEFAULT_ACCOUNT, DEFAULT_REGION, Region, RequestId, Scope};
