//! Dependencies between resources (from `Ref`, `Fn::GetAtt`, `Fn::Sub` variables and
//! `DependsOn`), the static reference checks CloudFormation makes before anything runs, and a
//! deterministic topological order with cycle detection.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{Result, format_error, invalid, template_error};
use crate::resolve::{SubPart, as_intrinsic, get_att_parts, sub_parts};
use crate::template::{Template, scalar_text};

/// Names a value refers to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refs {
    /// `Ref` targets and `Fn::Sub` variables without a dot (parameters or resources).
    pub refs: BTreeSet<String>,
    /// `Fn::GetAtt` targets and `Fn::Sub` `${Resource.Attribute}` resources.
    pub attrs: BTreeSet<String>,
    /// Conditions named by `Fn::If` and `Condition`.
    pub conditions: BTreeSet<String>,
    /// (resource, attribute) of every `Fn::GetAtt` whose attribute is literal text.
    pub attributes: BTreeSet<(String, String)>,
}

impl Refs {
    /// Every name that could be a resource, pseudo parameters left out.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.refs.iter().chain(&self.attrs).filter(|n| !n.starts_with("AWS::"))
    }
}

/// Collects references in `value`. With `conditions`, only the `Fn::If` branch taken counts (the
/// dependencies of a plan); without, both do (the static checks).
pub fn collect(value: &Value, conditions: Option<&BTreeMap<String, bool>>, out: &mut Refs) {
    if let Some((name, arg)) = as_intrinsic(value) {
        match name {
            "Ref" => {
                if let Value::String(s) = arg {
                    out.refs.insert(s.clone());
                }
            }
            "Condition" => {
                out.conditions.insert(scalar_text(arg));
            }
            "Fn::GetAtt" => match get_att_parts(arg) {
                Some((resource, attribute)) => {
                    if let Value::String(a) = &attribute {
                        out.attributes.insert((resource.clone(), a.clone()));
                    }
                    out.attrs.insert(resource);
                    collect(&attribute, conditions, out);
                }
                None => collect(arg, conditions, out),
            },
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (Some(s.as_str()), None),
                    Value::Array(items) => {
                        (items.first().and_then(Value::as_str), items.get(1).and_then(Value::as_object))
                    }
                    _ => (None, None),
                };
                if let Some(vars) = vars {
                    for v in vars.values() {
                        collect(v, conditions, out);
                    }
                }
                for part in sub_parts(text.unwrap_or_default()) {
                    if let SubPart::Var(var) = part {
                        if vars.is_some_and(|m| m.contains_key(var)) {
                            continue;
                        }
                        match var.split_once('.') {
                            Some((resource, attribute)) => {
                                out.attributes.insert((resource.to_owned(), attribute.to_owned()));
                                out.attrs.insert(resource.to_owned())
                            }
                            None => out.refs.insert(var.to_owned()),
                        };
                    }
                }
            }
            "Fn::If" => {
                if let Value::Array(items) = arg
                    && items.len() == 3
                {
                    let cond = scalar_text(&items[0]);
                    out.conditions.insert(cond.clone());
                    match conditions.and_then(|c| c.get(&cond)) {
                        Some(true) => collect(&items[1], conditions, out),
                        Some(false) => collect(&items[2], conditions, out),
                        None => {
                            collect(&items[1], conditions, out);
                            collect(&items[2], conditions, out);
                        }
                    }
                } else {
                    collect(arg, conditions, out);
                }
            }
            _ => collect(arg, conditions, out),
        }
        return;
    }
    match value {
        Value::Object(obj) => obj.values().for_each(|v| collect(v, conditions, out)),
        Value::Array(items) => items.iter().for_each(|v| collect(v, conditions, out)),
        _ => {}
    }
}

/// The static checks: every `Ref`, `Fn::GetAtt`, `Fn::Sub` variable, `DependsOn` and condition
/// name points at something the template declares (conditions not yet evaluated).
pub fn check_references(t: &Template) -> Result<()> {
    let known =
        |n: &str| n.starts_with("AWS::") || t.parameters.contains_key(n) || t.resources.contains_key(n);
    let check_condition = |c: &str| {
        if t.conditions.contains_key(c) {
            Ok(())
        } else {
            Err(template_error(format!("unresolved condition dependency {c} in Fn::If")))
        }
    };
    let mut unresolved = BTreeSet::new();
    for r in t.resources.values() {
        let mut refs = Refs::default();
        for v in r.properties.values() {
            collect(v, None, &mut refs);
        }
        if let Some(undefined) = refs.attrs.iter().find(|a| !t.resources.contains_key(*a)) {
            return Err(template_error(format!(
                "instance of Fn::GetAtt references undefined resource {undefined}"
            )));
        }
        unresolved.extend(refs.refs.iter().filter(|n| !known(n)).cloned());
        unresolved.extend(r.depends_on.iter().filter(|d| !t.resources.contains_key(*d)).cloned());
        for c in refs.conditions.iter().chain(r.condition.iter()) {
            check_condition(c)?;
        }
    }
    if !unresolved.is_empty() {
        return Err(unresolved_error(&unresolved, "Resources"));
    }
    let mut unresolved = BTreeSet::new();
    for output in t.outputs.values() {
        let mut refs = Refs::default();
        collect(&output.value, None, &mut refs);
        if let Some(e) = &output.export_name {
            collect(e, None, &mut refs);
        }
        if let Some(undefined) = refs.attrs.iter().find(|r| !t.resources.contains_key(*r)) {
            return Err(template_error(format!(
                "instance of Fn::GetAtt references undefined resource {undefined}"
            )));
        }
        unresolved.extend(refs.refs.iter().filter(|r| !known(r)).cloned());
        for c in refs.conditions.iter().chain(output.condition.iter()) {
            check_condition(c)?;
        }
    }
    if !unresolved.is_empty() {
        return Err(unresolved_error(&unresolved, "Outputs"));
    }
    // Conditions may reference parameters and other conditions, never resources.
    for cond in t.conditions.values() {
        let mut refs = Refs::default();
        collect(cond, None, &mut refs);
        if let Some(r) = refs.names().find(|r| t.resources.contains_key(*r)) {
            return Err(crate::resolve::resource_in_conditions(r));
        }
        if let Some(r) = refs.refs.iter().find(|r| !known(r)) {
            return Err(format_error(format!(
                "Unresolved dependencies [{r}]. Cannot reference resources in the Conditions block of the template"
            )));
        }
        for c in &refs.conditions {
            check_condition(c)?;
        }
    }
    Ok(())
}

pub(crate) fn unresolved_error(names: &BTreeSet<String>, block: &str) -> crate::error::Error {
    let list: Vec<&str> = names.iter().map(String::as_str).collect();
    format_error(format!(
        "Unresolved resource dependencies [{}] in the {block} block of the template",
        list.join(", ")
    ))
}

/// Creation order: dependencies first, ties broken by logical id so the order is deterministic.
/// `deps[x]` are the resources `x` needs; every one of them must be a key of `deps`.
pub fn topological_order(deps: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>> {
    let mut remaining: BTreeMap<&str, usize> = deps.iter().map(|(k, d)| (k.as_str(), d.len())).collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, ds) in deps {
        for d in ds {
            dependents.entry(d.as_str()).or_default().push(k.as_str());
        }
    }
    let mut ready: BTreeSet<&str> = remaining.iter().filter(|(_, n)| **n == 0).map(|(k, _)| *k).collect();
    let mut order = Vec::with_capacity(deps.len());
    while let Some(next) = ready.pop_first() {
        remaining.remove(next);
        order.push(next.to_owned());
        for d in dependents.get(next).into_iter().flatten() {
            if let Some(n) = remaining.get_mut(d) {
                *n -= 1;
                if *n == 0 {
                    ready.insert(d);
                }
            }
        }
    }
    if remaining.is_empty() {
        return Ok(order);
    }
    // What is left is on a cycle or waits for one; keep only what is on (or between) cycles by
    // peeling off, repeatedly, nodes that nothing left depends on.
    let mut stuck: BTreeSet<&str> = remaining.keys().copied().collect();
    loop {
        let leaf = stuck
            .iter()
            .copied()
            .find(|n| !dependents.get(n).into_iter().flatten().any(|d| stuck.contains(d)));
        match leaf {
            Some(n) => {
                stuck.remove(n);
            }
            None => break,
        }
    }
    let names: Vec<&str> = stuck.into_iter().collect();
    Err(invalid(format!("Circular dependency between resources: [{}]", names.join(", "))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges.iter().map(|(k, ds)| ((*k).to_owned(), ds.iter().map(|d| (*d).to_owned()).collect())).collect()
    }

    #[test]
    fn order_is_dependencies_first_then_by_name() {
        let g = graph(&[
            ("Fn", &["Role", "Table"]),
            ("Role", &[]),
            ("Table", &[]),
            ("Api", &["Fn"]),
            ("Zed", &[]),
        ]);
        assert_eq!(topological_order(&g).expect("acyclic"), vec!["Role", "Table", "Fn", "Api", "Zed"]);
    }

    #[test]
    fn cycles_name_only_the_resources_on_them() {
        let g = graph(&[("A", &["B"]), ("B", &["A"]), ("C", &["A"]), ("D", &[])]);
        assert_eq!(
            topological_order(&g).expect_err("cycle").to_string(),
            "Circular dependency between resources: [A, B]"
        );
        let g = graph(&[("A", &["A"])]);
        assert_eq!(
            topological_order(&g).expect_err("cycle").to_string(),
            "Circular dependency between resources: [A]"
        );
    }

    #[test]
    fn order_property_every_edge_respected_and_stable() {
        // A small deterministic generator: many random DAGs (edges only to lower-numbered nodes,
        // so acyclic), each ordered twice from differently built maps.
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200 {
            let n = (next() % 40) as usize + 1;
            let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for i in 0..n {
                let mut ds = BTreeSet::new();
                for j in 0..i {
                    if next() % 4 == 0 {
                        ds.insert(format!("R{j}"));
                    }
                }
                g.insert(format!("R{i}"), ds);
            }
            let order = topological_order(&g).expect("acyclic");
            assert_eq!(order.len(), n);
            let pos: BTreeMap<&str, usize> = order.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
            for (k, ds) in &g {
                for d in ds {
                    assert!(pos[d.as_str()] < pos[k.as_str()], "{d} must come before {k}");
                }
            }
            let rebuilt: BTreeMap<_, _> = g.clone().into_iter().rev().collect();
            assert_eq!(topological_order(&rebuilt).expect("acyclic"), order);
        }
    }

    #[test]
    fn collects_refs_from_every_form() {
        let mut r = Refs::default();
        collect(
            &json!({"a": {"Ref": "P"}, "b": {"Fn::GetAtt": ["R1", "Arn"]}, "c": {"Fn::Sub": ["${R2}-${R3.Arn}-${x}-${!Lit}-${AWS::Region}", {"x": {"Ref": "R4"}}]},
                    "d": {"Fn::If": ["C", {"Ref": "Yes"}, {"Ref": "No"}]}}),
            Some(&[("C".to_owned(), false)].into()),
            &mut r,
        );
        assert_eq!(r.refs, ["AWS::Region", "No", "P", "R2", "R4"].iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(r.attrs, ["R1", "R3"].iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(r.conditions, ["C".to_owned()].into());
    }
}
