//! Velocity (VTL) templates as API Gateway uses them: a parser to an AST with line/column
//! errors, a budgeted renderer with Java's output conventions, and `apigw`, the `$input`,
//! `$util`, `$context` and `$stageVariables` of one request. No IO.

pub mod apigw;
pub mod jsonpath;
mod methods;
mod parse;
mod render;
mod value;

pub use parse::{ParseError, Template};
pub use render::{Context, Host, Limits, RenderError, Rendered};
pub use value::{Map, Value};
