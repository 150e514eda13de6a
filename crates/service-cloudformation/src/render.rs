//! The XML of CloudFormation's answers: stacks, events, resources, change sets, exports.

use protocol::xml::XmlWriter;
use types::timefmt::iso_millis;

use crate::model::{ChangeSetRecord, EventRecord, ResourceRecord, StackRecord};

/// CloudFormation's timestamps: `2024-05-01T12:00:03.013Z`.
pub fn time(ms: i64) -> String {
    iso_millis(ms, "Z")
}

/// Parameters as DescribeStacks shows them (NoEcho values masked by the caller).
pub fn parameters(w: &mut XmlWriter, name: &str, values: &[(String, String)]) {
    w.open(name);
    for (k, v) in values {
        w.open("member");
        w.leaf("ParameterKey", k);
        w.leaf("ParameterValue", v);
        w.close("member");
    }
    w.close(name);
}

pub fn tags(w: &mut XmlWriter, tags: &[(String, String)]) {
    w.open("Tags");
    for (k, v) in tags {
        w.open("member");
        w.leaf("Key", k);
        w.leaf("Value", v);
        w.close("member");
    }
    w.close("Tags");
}

pub fn strings(w: &mut XmlWriter, name: &str, items: &[String]) {
    w.open(name);
    for s in items {
        w.leaf("member", s);
    }
    w.close(name);
}

/// One `Stacks.member` of DescribeStacks.
pub fn stack(w: &mut XmlWriter, s: &StackRecord, described_parameters: &[(String, String)]) {
    w.open("member");
    w.leaf("StackId", &s.id);
    w.leaf("StackName", &s.name);
    w.opt_leaf("ChangeSetId", s.change_set_id.as_deref());
    w.opt_leaf("Description", s.description.as_deref());
    parameters(w, "Parameters", described_parameters);
    w.leaf("CreationTime", &time(s.created_ms));
    if let Some(t) = s.updated_ms {
        w.leaf("LastUpdatedTime", &time(t));
    }
    if let Some(t) = s.deleted_ms {
        w.leaf("DeletionTime", &time(t));
    }
    w.leaf("StackStatus", &s.status);
    w.opt_leaf("StackStatusReason", s.reason.as_deref());
    w.leaf("DisableRollback", if s.disable_rollback { "true" } else { "false" });
    w.open("NotificationARNs");
    w.close("NotificationARNs");
    strings(w, "Capabilities", &s.capabilities);
    w.open("Outputs");
    for o in &s.outputs {
        w.open("member");
        w.leaf("OutputKey", &o.key);
        w.leaf("OutputValue", &o.value);
        w.opt_leaf("Description", o.description.as_deref());
        w.opt_leaf("ExportName", o.export_name.as_deref());
        w.close("member");
    }
    w.close("Outputs");
    tags(w, &s.tags);
    w.leaf("EnableTerminationProtection", "false");
    w.open("DriftInformation");
    w.leaf("StackDriftStatus", "NOT_CHECKED");
    w.close("DriftInformation");
    w.close("member");
}

pub fn event(w: &mut XmlWriter, s: &StackRecord, e: &EventRecord) {
    w.open("member");
    w.leaf("StackId", &s.id);
    w.leaf("EventId", &e.id);
    w.leaf("StackName", &s.name);
    w.leaf("LogicalResourceId", &e.logical_id);
    w.leaf("PhysicalResourceId", &e.physical_id);
    w.leaf("ResourceType", &e.resource_type);
    w.leaf("Timestamp", &time(e.timestamp_ms));
    w.leaf("ResourceStatus", &e.status);
    w.opt_leaf("ResourceStatusReason", e.reason.as_deref());
    w.opt_leaf("ResourceProperties", e.properties.as_deref());
    w.close("member");
}

/// A resource as DescribeStackResources (`member`), DescribeStackResource
/// (`StackResourceDetail`) or ListStackResources (`member`, `summary`) shows it.
pub fn resource(w: &mut XmlWriter, element: &str, s: &StackRecord, r: &ResourceRecord, summary: bool) {
    w.open(element);
    if !summary {
        w.leaf("StackName", &s.name);
        w.leaf("StackId", &s.id);
    }
    w.leaf("LogicalResourceId", &r.logical_id);
    w.opt_leaf("PhysicalResourceId", r.physical_id.as_deref());
    w.leaf("ResourceType", &r.resource_type);
    let stamp =
        if summary || element == "StackResourceDetail" { "LastUpdatedTimestamp" } else { "Timestamp" };
    w.leaf(stamp, &time(r.updated_ms));
    w.leaf("ResourceStatus", &r.status);
    w.opt_leaf("ResourceStatusReason", r.reason.as_deref());
    w.open("DriftInformation");
    w.leaf("StackResourceDriftStatus", "NOT_CHECKED");
    w.close("DriftInformation");
    w.close(element);
}

pub fn change_set_summary(w: &mut XmlWriter, s: &StackRecord, c: &ChangeSetRecord) {
    w.open("member");
    w.leaf("StackId", &s.id);
    w.leaf("StackName", &s.name);
    w.leaf("ChangeSetId", &c.id);
    w.leaf("ChangeSetName", &c.name);
    w.leaf("ExecutionStatus", &c.execution_status);
    w.leaf("Status", &c.status);
    w.opt_leaf("StatusReason", c.status_reason.as_deref());
    w.leaf("CreationTime", &time(c.created_ms));
    w.opt_leaf("Description", c.description.as_deref());
    w.leaf("IncludeNestedStacks", "false");
    w.close("member");
}

/// The body of DescribeChangeSet's result.
pub fn change_set(
    w: &mut XmlWriter,
    s: &StackRecord,
    c: &ChangeSetRecord,
    described_parameters: &[(String, String)],
) {
    w.leaf("ChangeSetName", &c.name);
    w.leaf("ChangeSetId", &c.id);
    w.leaf("StackId", &s.id);
    w.leaf("StackName", &s.name);
    w.opt_leaf("Description", c.description.as_deref());
    parameters(w, "Parameters", described_parameters);
    w.leaf("CreationTime", &time(c.created_ms));
    w.leaf("ExecutionStatus", &c.execution_status);
    w.leaf("Status", &c.status);
    w.opt_leaf("StatusReason", c.status_reason.as_deref());
    w.open("NotificationARNs");
    w.close("NotificationARNs");
    strings(w, "Capabilities", &c.capabilities);
    tags(w, &c.tags);
    w.open("Changes");
    for ch in &c.changes {
        w.open("member");
        w.leaf("Type", "Resource");
        w.open("ResourceChange");
        w.leaf("Action", &ch.action);
        w.leaf("LogicalResourceId", &ch.logical_id);
        w.opt_leaf("PhysicalResourceId", ch.physical_id.as_deref());
        w.leaf("ResourceType", &ch.resource_type);
        w.opt_leaf("Replacement", ch.replacement.as_deref());
        w.open("Scope");
        if !ch.changed_properties.is_empty() {
            w.leaf("member", "Properties");
        }
        w.close("Scope");
        w.open("Details");
        for p in &ch.changed_properties {
            w.open("member");
            w.open("Target");
            w.leaf("Attribute", "Properties");
            w.leaf("Name", p);
            w.leaf(
                "RequiresRecreation",
                if ch.replacement.as_deref() == Some("True") { "Always" } else { "Never" },
            );
            w.close("Target");
            w.leaf("Evaluation", "Static");
            w.leaf("ChangeSource", "DirectModification");
            w.close("member");
        }
        w.close("Details");
        w.close("ResourceChange");
        w.close("member");
    }
    w.close("Changes");
    w.leaf("IncludeNestedStacks", "false");
}
