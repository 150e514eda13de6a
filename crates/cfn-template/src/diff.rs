//! Change-set diffing: which logical ids an update adds, modifies or removes, and for a
//! modification which properties changed — directly, or because a parameter they use changed.
//! This is what `sam deploy` shows before executing, and what keeps an update to one function
//! from touching the others.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::graph::{Refs, collect};
use crate::plan::Plan;

/// What happens to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Add,
    Modify,
    Remove,
}

impl Action {
    /// The spelling in DescribeChangeSet.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "Add",
            Action::Modify => "Modify",
            Action::Remove => "Remove",
        }
    }
}

/// One entry of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub logical_id: String,
    pub resource_type: String,
    pub action: Action,
    /// For `Modify`: the property names that changed (top level), sorted.
    pub changed_properties: Vec<String>,
    /// For `Modify`: the type changed, so the resource is replaced.
    pub replacement: bool,
}

/// Compares the resources that exist under `old` with those that will exist under `new`.
/// Changes come in `new`'s creation order, removals last in `old`'s deletion order.
pub fn diff(old: &Plan, new: &Plan) -> Vec<ResourceChange> {
    let changed_params: BTreeSet<&str> = old
        .parameters
        .raw
        .iter()
        .filter(|(k, v)| new.parameters.raw.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .chain(new.parameters.raw.keys().filter(|k| !old.parameters.raw.contains_key(*k)).map(String::as_str))
        .collect();
    let existed: BTreeSet<&str> = old.order.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for id in &new.order {
        let n = &new.template.resources[id];
        if !existed.contains(id.as_str()) {
            out.push(change(id, &n.resource_type, Action::Add, Vec::new(), false));
            continue;
        }
        let o = &old.template.resources[id];
        if o.resource_type != n.resource_type {
            out.push(change(id, &n.resource_type, Action::Modify, Vec::new(), true));
            continue;
        }
        let keys: BTreeSet<&String> = o.properties.keys().chain(n.properties.keys()).collect();
        let mut changed = Vec::new();
        for key in keys {
            let (ov, nv) = (o.properties.get(key), n.properties.get(key));
            if ov != nv || nv.is_some_and(|v| uses_changed_parameter(v, &changed_params, new)) {
                changed.push(key.clone());
            }
        }
        let attributes_changed = o.metadata != n.metadata || o.depends_on != n.depends_on;
        if !changed.is_empty() || attributes_changed {
            out.push(change(id, &n.resource_type, Action::Modify, changed, false));
        }
    }
    let staying: BTreeSet<&str> = new.order.iter().map(String::as_str).collect();
    for id in old.deletion_order() {
        if !staying.contains(id.as_str()) {
            let t = &old.template.resources[&id].resource_type;
            out.push(change(&id, t, Action::Remove, Vec::new(), false));
        }
    }
    out
}

fn change(
    id: &str,
    t: &str,
    action: Action,
    changed_properties: Vec<String>,
    replacement: bool,
) -> ResourceChange {
    ResourceChange {
        logical_id: id.to_owned(),
        resource_type: t.to_owned(),
        action,
        changed_properties,
        replacement,
    }
}

fn uses_changed_parameter(v: &Value, changed: &BTreeSet<&str>, plan: &Plan) -> bool {
    if changed.is_empty() {
        return false;
    }
    let mut refs = Refs::default();
    collect(v, Some(&plan.conditions), &mut refs);
    refs.refs.iter().any(|r| changed.contains(r.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Pseudo;
    use crate::plan::{PlanInput, plan};
    use std::collections::BTreeMap;

    const TYPES: &[&str] = &["AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Lambda::Function"];

    fn p(body: &str, params: &[(&str, &str)]) -> Plan {
        let params: BTreeMap<String, String> =
            params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        plan(&PlanInput {
            template_body: body,
            parameters: &params,
            pseudo: Pseudo::new("1", "us-east-1", "s", "id"),
            known_types: TYPES,
            ssm_parameters: &BTreeMap::new(),
        })
        .expect("plans")
    }

    fn summary(changes: &[ResourceChange]) -> Vec<String> {
        changes
            .iter()
            .map(|c| {
                format!(
                    "{} {} {:?}{}",
                    c.action.as_str(),
                    c.logical_id,
                    c.changed_properties,
                    if c.replacement { " replace" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn add_modify_remove() {
        let old = p(
            "Parameters: {Size: {Type: Number, Default: 128}}\nResources:\n  A: {Type: AWS::Lambda::Function, Properties: {Code: v1, MemorySize: !Ref Size}}\n  B: {Type: AWS::Lambda::Function, Properties: {Code: v1}}\n  Gone: {Type: AWS::SNS::Topic}\n  Same: {Type: AWS::SQS::Queue}\n",
            &[],
        );
        let new = p(
            "Parameters: {Size: {Type: Number, Default: 128}}\nResources:\n  A: {Type: AWS::Lambda::Function, Properties: {Code: v1, MemorySize: !Ref Size}}\n  B: {Type: AWS::Lambda::Function, Properties: {Code: v2, Timeout: 3}}\n  New: {Type: AWS::SNS::Topic}\n  Same: {Type: AWS::SNS::Topic}\n",
            &[],
        );
        expect_test::expect![[r#"
            [
                "Modify B [\"Code\", \"Timeout\"]",
                "Add New []",
                "Modify Same [] replace",
                "Remove Gone []",
            ]
        "#]]
        .assert_debug_eq(&summary(&diff(&old, &new)));
        // Only the parameter changed: the function using it is modified, nothing else.
        let bigger = p(
            "Parameters: {Size: {Type: Number, Default: 128}}\nResources:\n  A: {Type: AWS::Lambda::Function, Properties: {Code: v1, MemorySize: !Ref Size}}\n  B: {Type: AWS::Lambda::Function, Properties: {Code: v1}}\n  Gone: {Type: AWS::SNS::Topic}\n  Same: {Type: AWS::SQS::Queue}\n",
            &[("Size", "256")],
        );
        assert_eq!(summary(&diff(&old, &bigger)), vec!["Modify A [\"MemorySize\"]"]);
        assert!(diff(&old, &old).is_empty());
    }
}
