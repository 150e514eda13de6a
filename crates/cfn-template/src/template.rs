//! The template model: sections and resources as CloudFormation defines them, read from the
//! JSON value `parse` produced and checked for the structural errors CloudFormation reports
//! before anything is evaluated.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Result, format_error, invalid};
use crate::params::ParameterDecl;

/// Top-level sections CloudFormation knows.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Rules",
    "Hooks",
];

/// Attributes a resource entry may have besides its properties.
const RESOURCE_KEYS: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
    "Version",
];

/// A parsed template. Values keep their intrinsic functions (`{"Ref": ..}`) unresolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub format_version: Option<String>,
    pub description: Option<String>,
    pub metadata: Option<Value>,
    pub parameters: BTreeMap<String, ParameterDecl>,
    pub mappings: Map<String, Value>,
    pub conditions: BTreeMap<String, Value>,
    /// Transform names, in order (`Transform` may be a string or a list).
    pub transform: Vec<String>,
    pub resources: BTreeMap<String, Resource>,
    pub outputs: BTreeMap<String, Output>,
    pub rules: Option<Value>,
}

/// One entry of `Resources`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub resource_type: String,
    /// The `Properties` object (empty when absent).
    pub properties: Map<String, Value>,
    pub depends_on: Vec<String>,
    pub condition: Option<String>,
    pub deletion_policy: Option<String>,
    pub update_replace_policy: Option<String>,
    pub metadata: Option<Value>,
}

/// One entry of `Outputs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub value: Value,
    pub description: Option<Value>,
    /// `Export.Name`, unresolved.
    pub export_name: Option<Value>,
    pub condition: Option<String>,
}

impl Template {
    /// Parses template text (JSON or YAML) into the model.
    pub fn parse(text: &str) -> Result<Template> {
        Template::from_value(&crate::parse::parse_document(text)?)
    }

    /// Reads the model from a template's JSON value (e.g. the output of the SAM transform).
    pub fn from_value(doc: &Value) -> Result<Template> {
        let top = doc.as_object().ok_or_else(|| format_error("unsupported structure."))?;
        // `Globals` belongs to SAM: allowed while the SAM transform is still to run.
        let sam = match top.get("Transform") {
            Some(Value::String(t)) => t == crate::plan::SAM_TRANSFORM,
            Some(Value::Array(ts)) => ts.iter().any(|t| t == crate::plan::SAM_TRANSFORM),
            _ => false,
        };
        let unknown: Vec<&str> = top
            .keys()
            .map(String::as_str)
            .filter(|k| !(SECTIONS.contains(k) || (sam && *k == "Globals")))
            .collect();
        if !unknown.is_empty() {
            return Err(format_error(format!(
                "Invalid template property or properties [{}]",
                unknown.join(", ")
            )));
        }
        let format_version = top.get("AWSTemplateFormatVersion").map(scalar_text);
        if let Some(v) = &format_version
            && v != "2010-09-09"
        {
            return Err(format_error(format!("'{v}' is not a valid AWSTemplateFormatVersion")));
        }
        let description = match top.get("Description") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(format_error("Every Description member must be a string.")),
        };
        let transform = match top.get("Transform") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().map(scalar_text).collect(),
            Some(Value::Object(o)) => match o.get("Name") {
                Some(name) => vec![scalar_text(name)],
                None => return Err(format_error("Transform must be a string or a list of strings.")),
            },
            Some(_) => return Err(format_error("Transform must be a string or a list of strings.")),
        };
        let mut parameters = BTreeMap::new();
        for (name, decl) in section(top, "Parameters")? {
            parameters.insert(name.clone(), ParameterDecl::from_value(name, decl)?);
        }
        let mut mappings = Map::new();
        for (name, map) in section(top, "Mappings")? {
            if !map.as_object().is_some_and(|m| m.values().all(Value::is_object)) {
                return Err(format_error(format!("Every Mappings member {name} must be a map")));
            }
            mappings.insert(name.clone(), map.clone());
        }
        let conditions = section(top, "Conditions")?.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let resources_section = section(top, "Resources")?;
        if resources_section.is_empty() {
            return Err(format_error("At least one Resources member must be defined."));
        }
        let mut resources = BTreeMap::new();
        for (name, entry) in resources_section {
            check_logical_id(name, "Resource")?;
            resources.insert(name.clone(), Resource::from_value(entry)?);
        }
        let mut outputs = BTreeMap::new();
        for (name, entry) in section(top, "Outputs")? {
            check_logical_id(name, "Output")?;
            outputs.insert(name.clone(), Output::from_value(entry)?);
        }
        Ok(Template {
            format_version,
            description,
            metadata: top.get("Metadata").cloned(),
            parameters,
            mappings,
            conditions,
            transform,
            resources,
            outputs,
            rules: top.get("Rules").cloned(),
        })
    }

    /// The template as JSON again (what GetTemplate would return for the processed template).
    pub fn to_value(&self) -> Value {
        let mut top = Map::new();
        if let Some(v) = &self.format_version {
            top.insert("AWSTemplateFormatVersion".into(), Value::String(v.clone()));
        }
        if let Some(d) = &self.description {
            top.insert("Description".into(), Value::String(d.clone()));
        }
        if let Some(m) = &self.metadata {
            top.insert("Metadata".into(), m.clone());
        }
        match self.transform.as_slice() {
            [] => {}
            [one] => {
                top.insert("Transform".into(), Value::String(one.clone()));
            }
            many => {
                top.insert(
                    "Transform".into(),
                    Value::Array(many.iter().cloned().map(Value::String).collect()),
                );
            }
        }
        if !self.parameters.is_empty() {
            let p = self.parameters.iter().map(|(k, d)| (k.clone(), d.raw.clone())).collect();
            top.insert("Parameters".into(), Value::Object(p));
        }
        if !self.mappings.is_empty() {
            top.insert("Mappings".into(), Value::Object(self.mappings.clone()));
        }
        if !self.conditions.is_empty() {
            let c = self.conditions.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            top.insert("Conditions".into(), Value::Object(c));
        }
        if let Some(r) = &self.rules {
            top.insert("Rules".into(), r.clone());
        }
        let r = self.resources.iter().map(|(k, r)| (k.clone(), r.to_value())).collect();
        top.insert("Resources".into(), Value::Object(r));
        if !self.outputs.is_empty() {
            let o = self.outputs.iter().map(|(k, o)| (k.clone(), o.to_value())).collect();
            top.insert("Outputs".into(), Value::Object(o));
        }
        Value::Object(top)
    }
}

impl Resource {
    fn from_value(entry: &Value) -> Result<Resource> {
        let obj =
            entry.as_object().ok_or_else(|| format_error("Every Resources member must be an object."))?;
        if let Some(bad) = obj.keys().find(|k| !RESOURCE_KEYS.contains(&k.as_str())) {
            return Err(invalid(format!("Invalid template resource property '{bad}'")));
        }
        let resource_type = match obj.get("Type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => {
                return Err(format_error(
                    "Every Resources object must contain a Type member of type string.",
                ));
            }
            None => return Err(format_error("Every Resources object must contain a Type member.")),
        };
        let properties = match obj.get("Properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(_) => return Err(format_error("Every Properties member must be an object.")),
        };
        let depends_on = match obj.get("DependsOn") {
            None => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                items.iter().map(scalar_text).collect()
            }
            Some(_) => return Err(format_error("DependsOn must be a string or list of strings.")),
        };
        let text = |key: &str| -> Result<Option<String>> {
            match obj.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format_error(format!("Every {key} member must be a string."))),
            }
        };
        Ok(Resource {
            resource_type,
            properties,
            depends_on,
            condition: text("Condition")?,
            deletion_policy: text("DeletionPolicy")?,
            update_replace_policy: text("UpdateReplacePolicy")?,
            metadata: obj.get("Metadata").cloned(),
        })
    }

    /// A resource of `resource_type` with these properties and no attributes.
    pub fn new(resource_type: &str, properties: Map<String, Value>) -> Resource {
        Resource {
            resource_type: resource_type.to_owned(),
            properties,
            depends_on: Vec::new(),
            condition: None,
            deletion_policy: None,
            update_replace_policy: None,
            metadata: None,
        }
    }

    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("Type".into(), Value::String(self.resource_type.clone()));
        if !self.properties.is_empty() {
            m.insert("Properties".into(), Value::Object(self.properties.clone()));
        }
        match self.depends_on.as_slice() {
            [] => {}
            [one] => {
                m.insert("DependsOn".into(), Value::String(one.clone()));
            }
            many => {
                m.insert("DependsOn".into(), Value::Array(many.iter().cloned().map(Value::String).collect()));
            }
        }
        for (key, v) in [
            ("Condition", &self.condition),
            ("DeletionPolicy", &self.deletion_policy),
            ("UpdateReplacePolicy", &self.update_replace_policy),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), Value::String(v.clone()));
            }
        }
        if let Some(md) = &self.metadata {
            m.insert("Metadata".into(), md.clone());
        }
        Value::Object(m)
    }
}

impl Output {
    fn from_value(entry: &Value) -> Result<Output> {
        let obj = entry.as_object().ok_or_else(|| format_error("Every Outputs member must be an object."))?;
        let value = obj
            .get("Value")
            .cloned()
            .ok_or_else(|| format_error("Every Outputs member must contain a Value object"))?;
        let export_name = match obj.get("Export") {
            None => None,
            Some(e) => Some(
                e.get("Name")
                    .cloned()
                    .ok_or_else(|| format_error("Every Export member must contain a Name object"))?,
            ),
        };
        Ok(Output {
            value,
            description: obj.get("Description").cloned(),
            export_name,
            condition: obj.get("Condition").map(scalar_text),
        })
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        if let Some(d) = &self.description {
            m.insert("Description".into(), d.clone());
        }
        m.insert("Value".into(), self.value.clone());
        if let Some(e) = &self.export_name {
            m.insert("Export".into(), crate::parse::single("Name", e.clone()));
        }
        if let Some(c) = &self.condition {
            m.insert("Condition".into(), Value::String(c.clone()));
        }
        Value::Object(m)
    }
}

fn section<'a>(top: &'a Map<String, Value>, name: &str) -> Result<&'a Map<String, Value>> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    match top.get(name) {
        None | Some(Value::Null) => Ok(EMPTY.get_or_init(Map::new)),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(format_error(format!("{name} must be an object."))),
    }
}

/// Logical ids are alphanumeric in CloudFormation.
fn check_logical_id(name: &str, what: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) || name.len() > 255 {
        return Err(format_error(format!("{what} name {name} is non alphanumeric.")));
    }
    Ok(())
}

/// A scalar as the text CloudFormation would see (`5` → `"5"`, `true` → `"true"`).
pub(crate) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Template::parse(text).expect_err("should fail").to_string()
    }

    #[test]
    fn reads_every_section() {
        let t = Template::parse(
            "AWSTemplateFormatVersion: '2010-09-09'\nDescription: d\nTransform: AWS::Serverless-2016-10-31\nParameters:\n  P: {Type: String, Default: x}\nMappings:\n  M: {a: {b: c}}\nConditions:\n  C: !Equals [a, a]\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    DependsOn: R\n    Condition: C\n    DeletionPolicy: Retain\n    UpdateReplacePolicy: Delete\n    Metadata: {m: 1}\n    Properties: {QueueName: q}\n  R: {Type: AWS::SNS::Topic}\nOutputs:\n  O:\n    Value: !Ref Q\n    Export: {Name: e}\n",
        )
        .expect("valid");
        assert_eq!(t.transform, vec!["AWS::Serverless-2016-10-31"]);
        assert_eq!(t.description.as_deref(), Some("d"));
        let q = &t.resources["Q"];
        assert_eq!(q.resource_type, "AWS::SQS::Queue");
        assert_eq!(q.depends_on, vec!["R"]);
        assert_eq!(q.condition.as_deref(), Some("C"));
        assert_eq!(q.deletion_policy.as_deref(), Some("Retain"));
        assert_eq!(q.update_replace_policy.as_deref(), Some("Delete"));
        assert_eq!(t.outputs["O"].export_name, Some(Value::String("e".into())));
        // Round trip through to_value keeps the model.
        assert_eq!(Template::from_value(&t.to_value()).expect("round trip"), t);
    }

    #[test]
    fn structural_errors_in_cloudformation_words() {
        assert_eq!(
            err("Description: x\n"),
            "Template format error: At least one Resources member must be defined."
        );
        assert_eq!(
            err("Resources:\n  A: {Properties: {}}\n"),
            "Template format error: Every Resources object must contain a Type member."
        );
        assert_eq!(
            err("Resources:\n  A: 3\n"),
            "Template format error: Every Resources member must be an object."
        );
        assert_eq!(
            err("Resources:\n  A: {Type: X, Propertes: {}}\n"),
            "Invalid template resource property 'Propertes'"
        );
        assert_eq!(
            err("Resourcs: {}\nFoo: 1\nResources: {A: {Type: X}}\n"),
            "Template format error: Invalid template property or properties [Foo, Resourcs]"
        );
        assert_eq!(
            err("Resources:\n  A-b: {Type: X}\n"),
            "Template format error: Resource name A-b is non alphanumeric."
        );
        assert_eq!(
            err("Resources: {A: {Type: X}}\nOutputs:\n  O: {Description: x}\n"),
            "Template format error: Every Outputs member must contain a Value object"
        );
    }
}
