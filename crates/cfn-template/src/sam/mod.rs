//! The SAM transform (`AWS::Serverless-2016-10-31`) as a pure function template → template.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Result;

/// Expands the serverless resources of `doc` into the CloudFormation resources SAM generates.
pub fn transform(doc: &Value, _parameters: &BTreeMap<String, String>) -> Result<Value> {
    Ok(doc.clone())
}
