//! A plan: template text + parameter values → the processed template (transforms applied),
//! validated parameters, evaluated conditions, the resources that will exist and the order to
//! create them in. A plan then resolves each resource's properties and the outputs against
//! what the caller has created so far ([`Provisioned`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::error::{Error, Result, format_error, template_error};
use crate::graph::{Refs, check_references, collect, topological_order, unresolved_error};
use crate::params::{Parameters, Pseudo};
use crate::resolve::{Context, resolve, resolve_opt};
use crate::template::{Resource, Template};

/// The SAM transform's name.
pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// What the caller has provisioned so far: the answers to `Ref` and `Fn::GetAtt` of resources.
pub trait Provisioned {
    /// The value of `Ref` for a created resource (usually its physical id).
    fn physical_id(&self, logical_id: &str) -> Option<Value>;
    /// An attribute of a created resource; `None` if the type has no such attribute.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<Value>;
    /// Exports of other stacks in the same account and region.
    fn export(&self, name: &str) -> Option<Value>;
}

/// What `plan` needs.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub template_body: &'a str,
    pub parameters: &'a BTreeMap<String, String>,
    pub pseudo: Pseudo,
    /// Resource types the caller can provision; any other type fails the plan.
    pub known_types: &'a [&'a str],
    /// Values of the SSM parameters the caller can see, for `AWS::SSM::Parameter::Value<…>`
    /// parameters (CDK's `BootstrapVersion` is one).
    pub ssm_parameters: &'a BTreeMap<String, String>,
}

/// An evaluated template, ready to drive creation.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The processed template (after transforms), every resource included.
    pub template: Template,
    pub parameters: Parameters,
    pub pseudo: Pseudo,
    pub conditions: BTreeMap<String, bool>,
    /// Resources whose condition holds, in creation order.
    pub order: Vec<String>,
    /// For each resource in `order`, the resources it waits for.
    pub dependencies: BTreeMap<String, BTreeSet<String>>,
    /// Outputs whose condition holds.
    pub outputs: Vec<String>,
}

/// One resolved output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputValue {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export_name: Option<String>,
}

/// Parses, transforms and plans a template.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan> {
    let doc = crate::parse::parse_document(input.template_body)?;
    let processed = process(&doc, input.parameters)?;
    Plan::build(
        Template::from_value(&processed)?,
        input.parameters,
        input.pseudo.clone(),
        input.known_types,
        input.ssm_parameters,
    )
}

/// Applies the template's transforms (the SAM one is the only one Nimbus has).
pub fn process(doc: &Value, parameters: &BTreeMap<String, String>) -> Result<Value> {
    let transforms: Vec<String> = match doc.get("Transform") {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(_) => return Err(format_error("Transform must be a string or a list of strings.")),
    };
    let mut doc = doc.clone();
    for t in &transforms {
        match t.as_str() {
            SAM_TRANSFORM => doc = crate::sam::transform(&doc, parameters)?,
            "AWS::LanguageExtensions" | "AWS::Include" | "AWS::CodeDeployBlueGreen" => {
                return Err(Error::NotImplemented(format!("Transform {t} is not supported by Nimbus yet")));
            }
            other => return Err(crate::error::invalid(format!("No transform named {other} found."))),
        }
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("Transform");
    }
    Ok(doc)
}

impl Plan {
    /// Plans an already processed template (e.g. the one stored with a stack, for updates).
    pub fn build(
        template: Template,
        supplied: &BTreeMap<String, String>,
        pseudo: Pseudo,
        known_types: &[&str],
        ssm_parameters: &BTreeMap<String, String>,
    ) -> Result<Plan> {
        let unknown: BTreeSet<&str> = template
            .resources
            .values()
            .map(|r| r.resource_type.as_str())
            .filter(|t| !known_types.contains(t) && !t.starts_with("Custom::"))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<&str> = unknown.into_iter().collect();
            return Err(format_error(format!("Unrecognized resource types: [{}]", list.join(", "))));
        }
        check_references(&template)?;
        let parameters = Parameters::resolve_with_ssm(&template.parameters, supplied, ssm_parameters)?;
        let conditions = evaluate_conditions(&template, &parameters, &pseudo)?;
        crate::rules::check(&template, &parameters, &pseudo)?;
        let holds =
            |c: &Option<String>| c.as_ref().is_none_or(|c| conditions.get(c).copied().unwrap_or(false));
        let kept: BTreeSet<&str> =
            template.resources.iter().filter(|(_, r)| holds(&r.condition)).map(|(k, _)| k.as_str()).collect();
        let mut dependencies = BTreeMap::new();
        let mut unresolved = BTreeSet::new();
        for id in &kept {
            let r = &template.resources[*id];
            let mut refs = Refs::default();
            for v in r.properties.values() {
                collect(v, Some(&conditions), &mut refs);
            }
            let mut deps: BTreeSet<String> =
                refs.names().filter(|n| template.resources.contains_key(*n)).cloned().collect();
            deps.extend(r.depends_on.iter().cloned());
            // A resource whose condition is false does not exist: referring to it is an error.
            unresolved.extend(deps.iter().filter(|d| !kept.contains(d.as_str())).cloned());
            dependencies.insert((*id).to_owned(), deps);
        }
        if !unresolved.is_empty() {
            return Err(unresolved_error(&unresolved, "Resources"));
        }
        let order = topological_order(&dependencies)?;
        let outputs: Vec<String> =
            template.outputs.iter().filter(|(_, o)| holds(&o.condition)).map(|(k, _)| k.clone()).collect();
        // Outputs may not refer to resources whose condition is false either.
        for key in &outputs {
            let o = &template.outputs[key];
            let mut refs = Refs::default();
            collect(&o.value, Some(&conditions), &mut refs);
            if let Some(e) = &o.export_name {
                collect(e, Some(&conditions), &mut refs);
            }
            unresolved.extend(
                refs.names()
                    .filter(|n| template.resources.contains_key(*n) && !kept.contains(n.as_str()))
                    .cloned(),
            );
        }
        if !unresolved.is_empty() {
            return Err(unresolved_error(&unresolved, "Outputs"));
        }
        Ok(Plan { template, parameters, pseudo, conditions, order, dependencies, outputs })
    }

    /// Checks every `Fn::GetAtt` (and `${Resource.Attribute}`) of the resources and outputs that
    /// will exist against the attributes their types have, before anything is created, as
    /// CloudFormation does. `supports(type, attribute)` is the caller's knowledge of its types.
    pub fn check_attributes(&self, supports: &dyn Fn(&str, &str) -> bool) -> Result<()> {
        let mut refs = Refs::default();
        for id in &self.order {
            for v in self.template.resources[id].properties.values() {
                collect(v, Some(&self.conditions), &mut refs);
            }
        }
        for key in &self.outputs {
            collect(&self.template.outputs[key].value, Some(&self.conditions), &mut refs);
        }
        for (resource, attribute) in &refs.attributes {
            if let Some(r) = self.template.resources.get(resource)
                && !supports(&r.resource_type, attribute)
            {
                return Err(template_error(format!(
                    "resource {resource} does not support attribute type {attribute} in Fn::GetAtt"
                )));
            }
        }
        Ok(())
    }

    /// Deletion order: the reverse of creation order.
    pub fn deletion_order(&self) -> Vec<String> {
        self.order.iter().rev().cloned().collect()
    }

    /// Creation in waves: every resource of a wave depends only on earlier waves, so a caller
    /// may create a wave's resources concurrently. Each wave is in creation order.
    pub fn waves(&self) -> Vec<Vec<String>> {
        let mut level: BTreeMap<&str, usize> = BTreeMap::new();
        let mut waves: Vec<Vec<String>> = Vec::new();
        for id in &self.order {
            let deps = self.dependencies.get(id).into_iter().flatten();
            let l = deps.filter_map(|d| level.get(d.as_str())).map(|l| l + 1).max().unwrap_or(0);
            level.insert(id, l);
            if waves.len() <= l {
                waves.resize_with(l + 1, Vec::new);
            }
            waves[l].push(id.clone());
        }
        waves
    }

    /// A resource of the processed template.
    pub fn resource(&self, logical_id: &str) -> Option<&Resource> {
        self.template.resources.get(logical_id)
    }

    /// Resolves one resource's properties; everything it depends on must be provisioned.
    pub fn resolve_properties(&self, logical_id: &str, provisioned: &dyn Provisioned) -> Result<Value> {
        let r = self
            .resource(logical_id)
            .ok_or_else(|| unresolved_error(&[logical_id.to_owned()].into(), "Resources"))?;
        let ctx = StackContext { plan: self, provisioned };
        Ok(resolve_opt(&Value::Object(r.properties.clone()), &ctx)?.unwrap_or(Value::Null))
    }

    /// Resolves any value (e.g. a resource's Metadata) in the stack's context.
    pub fn resolve_value(&self, value: &Value, provisioned: &dyn Provisioned) -> Result<Value> {
        resolve(value, &StackContext { plan: self, provisioned })
    }

    /// Resolves the outputs whose condition holds. Values are text, as DescribeStacks shows them
    /// (a list becomes comma-separated).
    pub fn resolve_outputs(&self, provisioned: &dyn Provisioned) -> Result<Vec<OutputValue>> {
        let ctx = StackContext { plan: self, provisioned };
        let text = |v: Value| match v {
            Value::Array(items) => {
                items.iter().map(crate::template::scalar_text).collect::<Vec<_>>().join(",")
            }
            other => crate::template::scalar_text(&other),
        };
        let mut out = Vec::with_capacity(self.outputs.len());
        for key in &self.outputs {
            let o = &self.template.outputs[key];
            out.push(OutputValue {
                key: key.clone(),
                value: text(resolve(&o.value, &ctx)?),
                description: o.description.as_ref().map(|d| resolve(d, &ctx).map(text)).transpose()?,
                export_name: o.export_name.as_ref().map(|e| resolve(e, &ctx).map(text)).transpose()?,
            });
        }
        Ok(out)
    }

    fn parameter(&self, name: &str) -> Option<Value> {
        if name.starts_with("AWS::") {
            return self.pseudo.get(name);
        }
        self.parameters.values.get(name).map(crate::params::ParamValue::to_json)
    }
}

/// The resolution context of a stack operation.
struct StackContext<'a> {
    plan: &'a Plan,
    provisioned: &'a dyn Provisioned,
}

impl Context for StackContext<'_> {
    fn parameter(&self, name: &str) -> Option<Value> {
        self.plan.parameter(name)
    }

    fn condition(&self, name: &str) -> Result<bool> {
        self.plan
            .conditions
            .get(name)
            .copied()
            .ok_or_else(|| template_error(format!("unresolved condition dependency {name} in Fn::If")))
    }

    fn mapping(&self, name: &str) -> Option<Value> {
        self.plan.template.mappings.get(name).cloned()
    }

    fn resource_ref(&self, id: &str) -> Result<Value> {
        if !self.plan.template.resources.contains_key(id) {
            return Err(unresolved_error(&[id.to_owned()].into(), "Resources"));
        }
        self.provisioned.physical_id(id).ok_or_else(|| not_created(id))
    }

    fn resource_attribute(&self, id: &str, attribute: &str) -> Result<Value> {
        if !self.plan.template.resources.contains_key(id) {
            return Err(template_error(format!("instance of Fn::GetAtt references undefined resource {id}")));
        }
        if self.provisioned.physical_id(id).is_none() {
            return Err(not_created(id));
        }
        self.provisioned.attribute(id, attribute).ok_or_else(|| {
            template_error(format!("resource {id} does not support attribute type {attribute} in Fn::GetAtt"))
        })
    }

    fn export(&self, name: &str) -> Option<Value> {
        self.provisioned.export(name)
    }
}

/// The caller asked for a value of a resource it has not created: its ordering bug, reported
/// rather than panicked on.
fn not_created(id: &str) -> Error {
    template_error(format!("resource {id} has not been created yet"))
}

/// Evaluates every condition once, from parameters and pseudo parameters only.
pub fn evaluate_conditions(
    template: &Template,
    parameters: &Parameters,
    pseudo: &Pseudo,
) -> Result<BTreeMap<String, bool>> {
    let ctx = ConditionContext {
        template,
        parameters,
        pseudo,
        done: RefCell::default(),
        visiting: RefCell::default(),
    };
    for name in template.conditions.keys() {
        ctx.condition(name)?;
    }
    Ok(ctx.done.into_inner())
}

/// Resolution where only parameters, pseudo parameters, mappings and other conditions exist:
/// the Conditions (and Rules) sections.
pub(crate) struct ConditionContext<'a> {
    template: &'a Template,
    parameters: &'a Parameters,
    pseudo: &'a Pseudo,
    done: RefCell<BTreeMap<String, bool>>,
    visiting: RefCell<BTreeSet<String>>,
}

impl<'a> ConditionContext<'a> {
    pub(crate) fn new(template: &'a Template, parameters: &'a Parameters, pseudo: &'a Pseudo) -> Self {
        ConditionContext {
            template,
            parameters,
            pseudo,
            done: RefCell::default(),
            visiting: RefCell::default(),
        }
    }
}

impl Context for ConditionContext<'_> {
    fn parameter(&self, name: &str) -> Option<Value> {
        if name.starts_with("AWS::") {
            return self.pseudo.get(name);
        }
        self.parameters.values.get(name).map(crate::params::ParamValue::to_json)
    }

    fn condition(&self, name: &str) -> Result<bool> {
        if let Some(b) = self.done.borrow().get(name) {
            return Ok(*b);
        }
        let Some(expr) = self.template.conditions.get(name) else {
            return Err(template_error(format!("unresolved condition dependency {name} in Fn::If")));
        };
        if !self.visiting.borrow_mut().insert(name.to_owned()) {
            return Err(format_error(format!("Circular dependency between conditions: [{name}]")));
        }
        let value = match resolve(expr, self)? {
            Value::Bool(b) => b,
            _ => return Err(template_error(format!("Condition {name} must evaluate to a boolean"))),
        };
        self.visiting.borrow_mut().remove(name);
        self.done.borrow_mut().insert(name.to_owned(), value);
        Ok(value)
    }

    fn mapping(&self, name: &str) -> Option<Value> {
        self.template.mappings.get(name).cloned()
    }

    fn resource_ref(&self, id: &str) -> Result<Value> {
        Err(crate::resolve::resource_in_conditions(id))
    }

    fn resource_attribute(&self, id: &str, _attribute: &str) -> Result<Value> {
        Err(crate::resolve::resource_in_conditions(id))
    }

    fn export(&self, _name: &str) -> Option<Value> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) const TYPES: &[&str] =
        &["AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::S3::Bucket", "AWS::Lambda::Function"];

    /// A fake provisioner: physical id = lower-cased logical id, `Arn` = `arn:{id}`.
    pub(crate) struct Created(pub BTreeSet<String>);

    impl Provisioned for Created {
        fn physical_id(&self, id: &str) -> Option<Value> {
            self.0.contains(id).then(|| json!(id.to_lowercase()))
        }
        fn attribute(&self, id: &str, attribute: &str) -> Option<Value> {
            (self.0.contains(id) && attribute == "Arn").then(|| json!(format!("arn:{id}")))
        }
        fn export(&self, name: &str) -> Option<Value> {
            (name == "net").then(|| json!("vpc-1"))
        }
    }

    fn plan_of(body: &str, params: &[(&str, &str)]) -> Result<Plan> {
        let params: BTreeMap<String, String> =
            params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        plan(&PlanInput {
            template_body: body,
            parameters: &params,
            pseudo: Pseudo::new("123456789012", "us-east-1", "st", "arn:stack/st/1"),
            known_types: TYPES,
            ssm_parameters: &BTreeMap::new(),
        })
    }

    const APP: &str = r#"
Parameters:
  Env: {Type: String, AllowedValues: [dev, prod], Default: dev}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Topic: {Type: AWS::SNS::Topic}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub '${AWS::StackName}-${Env}-q'
      Tags: [{Key: topic, Value: !Ref Topic}]
      Extra: !If [IsProd, big, !Ref AWS::NoValue]
  Alarm:
    Type: AWS::SNS::Topic
    Condition: IsProd
    Properties: {DisplayName: !GetAtt Queue.Arn}
  Fn:
    Type: AWS::Lambda::Function
    DependsOn: Topic
    Properties: {Env: !If [IsProd, !GetAtt Alarm.Arn, none], Vpc: !ImportValue net}
Outputs:
  QueueUrl: {Value: !Ref Queue, Export: {Name: !Sub '${AWS::StackName}-queue'}}
  AlarmArn: {Condition: IsProd, Value: !GetAtt Alarm.Arn}
  Azs: {Value: !GetAZs ''}
"#;

    #[test]
    fn plans_conditions_order_and_resolution() {
        let p = plan_of(APP, &[]).expect("plans");
        assert_eq!(p.conditions, [("IsProd".to_owned(), false), ("NotProd".to_owned(), true)].into());
        assert_eq!(p.order, vec!["Topic", "Fn", "Queue"]);
        assert_eq!(p.deletion_order(), vec!["Queue", "Fn", "Topic"]);
        assert_eq!(p.outputs, vec!["Azs", "QueueUrl"]);
        let created = Created(["Topic".to_owned()].into());
        assert_eq!(
            p.resolve_properties("Queue", &created).expect("resolves"),
            json!({"QueueName": "st-dev-q", "Tags": [{"Key": "topic", "Value": "topic"}]})
        );
        assert_eq!(
            p.resolve_properties("Fn", &created).expect("resolves"),
            json!({"Env": "none", "Vpc": "vpc-1"})
        );
        let all = Created(p.order.iter().cloned().collect());
        let outs = p.resolve_outputs(&all).expect("outputs");
        assert_eq!(
            outs[0],
            OutputValue {
                key: "Azs".into(),
                value: "us-east-1a,us-east-1b,us-east-1c".into(),
                description: None,
                export_name: None
            }
        );
        assert_eq!(outs[1].export_name.as_deref(), Some("st-queue"));
        assert_eq!(outs[1].value, "queue");

        let p = plan_of(APP, &[("Env", "prod")]).expect("plans");
        assert_eq!(p.order, vec!["Topic", "Queue", "Alarm", "Fn"]);
        let created = Created(["Topic", "Queue", "Alarm"].iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(p.resolve_properties("Queue", &created).expect("resolves")["Extra"], json!("big"));
        assert_eq!(p.resolve_properties("Fn", &created).expect("resolves")["Env"], json!("arn:Alarm"));
        assert_eq!(p.outputs, vec!["AlarmArn", "Azs", "QueueUrl"]);
        assert_eq!(p.waves(), vec![vec!["Topic"], vec!["Queue"], vec!["Alarm"], vec!["Fn"]]);
        let p = plan_of(APP, &[]).expect("plans");
        assert_eq!(p.waves(), vec![vec!["Topic"], vec!["Fn", "Queue"]]);
    }

    fn fails(body: &str) -> String {
        plan_of(body, &[]).expect_err("should fail").to_string()
    }

    #[test]
    fn plan_errors_in_cloudformation_words() {
        assert_eq!(
            fails("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {X: !Ref Nope, Y: !Ref Other}}\n"),
            "Template format error: Unresolved resource dependencies [Nope, Other] in the Resources block of the template"
        );
        assert_eq!(
            fails("Resources:\n  A: {Type: AWS::SQS::Queue, DependsOn: [Ghost]}\n"),
            "Template format error: Unresolved resource dependencies [Ghost] in the Resources block of the template"
        );
        assert_eq!(
            fails("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {X: !Sub '${Nope.Arn}'}}\n"),
            "Template error: instance of Fn::GetAtt references undefined resource Nope"
        );
        assert_eq!(
            fails("Resources:\n  A: {Type: AWS::SQS::Queue}\nOutputs:\n  O: {Value: !Ref B}\n"),
            "Template format error: Unresolved resource dependencies [B] in the Outputs block of the template"
        );
        assert_eq!(
            fails(
                "Resources:\n  A: {Type: AWS::Foo::Bar}\n  B: {Type: AWS::SQS::Queue}\n  C: {Type: AWS::Baz::Qux}\n"
            ),
            "Template format error: Unrecognized resource types: [AWS::Baz::Qux, AWS::Foo::Bar]"
        );
        assert_eq!(
            fails(
                "Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {X: !GetAtt B.Arn}}\n  B: {Type: AWS::SQS::Queue, Properties: {X: !Ref A}}\n"
            ),
            "Circular dependency between resources: [A, B]"
        );
        assert_eq!(
            fails("Conditions:\n  C: !Equals [!Ref A, x]\nResources:\n  A: {Type: AWS::SQS::Queue}\n"),
            "Template format error: Unresolved dependencies [A]. Cannot reference resources in the Conditions block of the template"
        );
        assert_eq!(
            fails(
                "Conditions:\n  C: !Equals [a, b]\nResources:\n  A: {Type: AWS::SQS::Queue, Condition: C}\n  B: {Type: AWS::SQS::Queue, Properties: {Q: !Ref A}}\n"
            ),
            "Template format error: Unresolved resource dependencies [A] in the Resources block of the template"
        );
        assert_eq!(
            fails(
                "Conditions:\n  C: !Equals [a, b]\nResources:\n  A: {Type: AWS::SQS::Queue, Condition: C}\n  B: {Type: AWS::SQS::Queue}\nOutputs:\n  O: {Value: !GetAtt A.Arn}\n"
            ),
            "Template format error: Unresolved resource dependencies [A] in the Outputs block of the template"
        );
        assert_eq!(
            fails("Resources:\n  A: {Type: AWS::SQS::Queue, Properties: {Q: !If [Nope, a, b]}}\n"),
            "Template error: unresolved condition dependency Nope in Fn::If"
        );
        assert_eq!(
            fails("Transform: Acme::Macro\nResources:\n  A: {Type: AWS::SQS::Queue}\n"),
            "No transform named Acme::Macro found."
        );
    }

    #[test]
    fn attributes_are_checked_before_anything_is_created() {
        let p = plan_of(
            "Resources:\n  A: {Type: AWS::SQS::Queue}\n  B: {Type: AWS::SQS::Queue, Properties: {X: !GetAtt A.Arn, Y: !Sub '${A.QueueUrl}'}}\nOutputs:\n  O: {Value: !GetAtt B.Nope}\n",
            &[],
        )
        .expect("plans");
        let sqs = |t: &str, a: &str| t == "AWS::SQS::Queue" && ["Arn", "QueueName", "QueueUrl"].contains(&a);
        assert_eq!(
            p.check_attributes(&sqs).expect_err("Nope").to_string(),
            "Template error: resource B does not support attribute type Nope in Fn::GetAtt"
        );
        let anything = |_: &str, _: &str| true;
        assert!(p.check_attributes(&anything).is_ok());
    }

    #[test]
    fn missing_attribute_and_uncreated_resource_are_errors_not_panics() {
        let p = plan_of("Resources:\n  A: {Type: AWS::SQS::Queue}\n  B: {Type: AWS::SQS::Queue, Properties: {X: !GetAtt A.Nope}}\n", &[]).expect("plans");
        let none = Created(BTreeSet::new());
        assert_eq!(
            p.resolve_properties("B", &none).expect_err("not created").to_string(),
            "Template error: resource A has not been created yet"
        );
        let a = Created(["A".to_owned()].into());
        assert_eq!(
            p.resolve_properties("B", &a).expect_err("attr").to_string(),
            "Template error: resource A does not support attribute type Nope in Fn::GetAtt"
        );
    }
}
