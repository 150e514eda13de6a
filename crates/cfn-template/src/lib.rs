//! CloudFormation and SAM templates, sans IO: values in, values out.
//!
//! - [`parse_document`] reads JSON or YAML (short-form tags become long forms); [`Template`]
//!   is the model, checked for CloudFormation's structural errors.
//! - [`Parameters::resolve`] validates parameter values; [`Pseudo`] holds the pseudo parameters.
//! - [`plan`] applies transforms ([`sam::transform`] for `AWS::Serverless-2016-10-31`),
//!   evaluates conditions, checks references and types, and orders the resources; a [`Plan`]
//!   then resolves properties and outputs against what the caller has [`Provisioned`].
//! - [`resolve`] evaluates intrinsic functions against any [`Context`].
//! - [`summarize`]/[`validate`] answer GetTemplateSummary/ValidateTemplate; [`diff`] compares two
//!   plans for a change set.
//!
//! Every refusal is an [`Error`] whose text is CloudFormation's. Nothing here panics on client
//! input (`tests/garbage.rs` feeds it mangled templates). Start reading at `plan.rs`, then
//! `resolve.rs` and `sam/mod.rs`.
//!
//! Known differences from CloudFormation: plain YAML scalars resolve as YAML 1.1 (`yes`/`Off`
//! are booleans, as CloudFormation reads them) except that numbers with leading zeros, `1e5`-style
//! floats without a dot, hex/octal/sexagesimal numbers and underscores stay text; merge keys are
//! not applied (CloudFormation documents them as unsupported) but aliases are expanded;
//! `Fn::RefAll`/`Fn::ValueOf`/`Fn::ValueOfAll` in Rules answer `NotImplemented`; SAM's hash
//! suffixes are ours, not SAM's.

mod diff;
mod error;
mod graph;
mod params;
mod parse;
mod plan;
mod resolve;
mod rules;
pub mod sam;
mod summary;
mod template;

pub use diff::{Action, ResourceChange, diff};
pub use error::{Error, Result};
pub use graph::topological_order;
pub use params::{ParamValue, ParameterDecl, Parameters, Pseudo};
pub use parse::{MAX_TEMPLATE_BYTES, parse_document};
pub use plan::{
    OutputValue, Plan, PlanInput, Provisioned, SAM_TRANSFORM, evaluate_conditions, plan, process,
};
pub use resolve::{Context, resolve};
pub use summary::{ParameterSummary, TemplateSummary, capabilities, check_capabilities, summarize, validate};
pub use template::{Output, Resource, Template};
