//! AWS::IAM::Role, AWS::IAM::Policy and AWS::IAM::ManagedPolicy, through IAM's query API.

use serde_json::Value;

use super::{Created, Cx, Outcome, document, int, tags, text};
use crate::api::{ApiError, xml_text, xml_texts};
use crate::model::ResourceRecord;

const VERSION: &str = "2010-05-08";

async fn call(cx: &Cx<'_>, action: &str, params: Vec<(String, String)>) -> Result<String, ApiError> {
    cx.api.query("iam", VERSION, action, &params).await
}

fn p(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

/// `Policies: [{PolicyName, PolicyDocument}]`.
fn inline_policies(props: &Value) -> Vec<(String, String)> {
    props
        .get("Policies")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|x| Some((text(x, "PolicyName")?, x.get("PolicyDocument").map(document)?)))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(props: &Value, key: &str) -> Vec<String> {
    props
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub async fn create_role(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "RoleName").unwrap_or_else(|| cx.name(64));
    let trust = props.get("AssumeRolePolicyDocument").map(document).ok_or(
        "Properties validation failed for resource: required key [AssumeRolePolicyDocument] not found",
    )?;
    let mut params = vec![p("RoleName", &name), p("AssumeRolePolicyDocument", trust)];
    for (k, key) in
        [("Path", "Path"), ("Description", "Description"), ("PermissionsBoundary", "PermissionsBoundary")]
    {
        if let Some(v) = text(props, key) {
            params.push(p(k, v));
        }
    }
    if let Some(d) = int(props, "MaxSessionDuration") {
        params.push(p("MaxSessionDuration", d.to_string()));
    }
    for (i, (k, v)) in tags(props).into_iter().enumerate() {
        params.push(p(&format!("Tags.member.{}.Key", i + 1), k));
        params.push(p(&format!("Tags.member.{}.Value", i + 1), v));
    }
    let xml = call(cx, "CreateRole", params).await.map_err(|e| e.to_string())?;
    let arn = xml_text(&xml, "Arn").unwrap_or_default();
    let role_id = xml_text(&xml, "RoleId").unwrap_or_default();
    let created = Created::new(name.clone()).with("Arn", arn).with("RoleId", role_id);
    for (policy, doc) in inline_policies(props) {
        call(
            cx,
            "PutRolePolicy",
            vec![p("RoleName", &name), p("PolicyName", policy), p("PolicyDocument", doc)],
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    for arn in strings(props, "ManagedPolicyArns") {
        call(cx, "AttachRolePolicy", vec![p("RoleName", &name), p("PolicyArn", arn)])
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(created)
}

pub async fn update_role(cx: &Cx<'_>, old: &ResourceRecord, props: &Value) -> Outcome<Created> {
    let name = old.physical_id.clone().unwrap_or_default();
    let err = |e: ApiError| e.to_string();
    if let Some(trust) = props.get("AssumeRolePolicyDocument").map(document) {
        call(cx, "UpdateAssumeRolePolicy", vec![p("RoleName", &name), p("PolicyDocument", trust)])
            .await
            .map_err(err)?;
    }
    let new_policies = inline_policies(props);
    for (policy, _) in inline_policies(&old.properties) {
        if !new_policies.iter().any(|(n, _)| *n == policy) {
            call(cx, "DeleteRolePolicy", vec![p("RoleName", &name), p("PolicyName", policy)])
                .await
                .map_err(err)?;
        }
    }
    for (policy, doc) in new_policies {
        call(
            cx,
            "PutRolePolicy",
            vec![p("RoleName", &name), p("PolicyName", policy), p("PolicyDocument", doc)],
        )
        .await
        .map_err(err)?;
    }
    let (before, after) =
        (strings(&old.properties, "ManagedPolicyArns"), strings(props, "ManagedPolicyArns"));
    for arn in before.iter().filter(|a| !after.contains(a)) {
        call(cx, "DetachRolePolicy", vec![p("RoleName", &name), p("PolicyArn", arn)]).await.map_err(err)?;
    }
    for arn in after.iter().filter(|a| !before.contains(a)) {
        call(cx, "AttachRolePolicy", vec![p("RoleName", &name), p("PolicyArn", arn)]).await.map_err(err)?;
    }
    Ok(Created { physical_id: name, attributes: old.attributes.clone() })
}

pub async fn delete_role(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    let xml = call(cx, "ListRolePolicies", vec![p("RoleName", name)]).await?;
    for policy in xml_texts(&xml, "member") {
        call(cx, "DeleteRolePolicy", vec![p("RoleName", name), p("PolicyName", policy)]).await?;
    }
    let xml = call(cx, "ListAttachedRolePolicies", vec![p("RoleName", name)]).await?;
    for arn in xml_texts(&xml, "PolicyArn") {
        call(cx, "DetachRolePolicy", vec![p("RoleName", name), p("PolicyArn", arn)]).await?;
    }
    call(cx, "DeleteRole", vec![p("RoleName", name)]).await.map(drop)
}

fn refuse_users_and_groups(props: &Value) -> Outcome<()> {
    for key in ["Users", "Groups"] {
        if !strings(props, key).is_empty() {
            return Err(format!(
                "IAM policies attached to {key} are not supported by Nimbus (IAM has roles only)"
            ));
        }
    }
    Ok(())
}

pub async fn create_policy(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    refuse_users_and_groups(props)?;
    let name = text(props, "PolicyName")
        .ok_or("Properties validation failed for resource: required key [PolicyName] not found")?;
    let doc = props.get("PolicyDocument").map(document).unwrap_or_default();
    for role in strings(props, "Roles") {
        call(
            cx,
            "PutRolePolicy",
            vec![p("RoleName", role), p("PolicyName", &name), p("PolicyDocument", &doc)],
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    let id = cx.name(128);
    Ok(Created::new(id.clone()).with("Id", id))
}

pub async fn update_policy(cx: &Cx<'_>, old: &ResourceRecord, props: &Value) -> Outcome<()> {
    delete_policy(cx, &old.properties).await.map_err(|e| e.to_string())?;
    create_policy(cx, props).await.map(drop)
}

pub async fn delete_policy(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    let name = text(props, "PolicyName").unwrap_or_default();
    for role in strings(props, "Roles") {
        match call(cx, "DeleteRolePolicy", vec![p("RoleName", role), p("PolicyName", &name)]).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

pub async fn create_managed_policy(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    refuse_users_and_groups(props)?;
    let name = text(props, "ManagedPolicyName").unwrap_or_else(|| cx.name(128));
    let doc = props.get("PolicyDocument").map(document).unwrap_or_default();
    let mut params = vec![p("PolicyName", &name), p("PolicyDocument", doc)];
    for k in ["Path", "Description"] {
        if let Some(v) = text(props, k) {
            params.push(p(k, v));
        }
    }
    let xml = call(cx, "CreatePolicy", params).await.map_err(|e| e.to_string())?;
    let arn = xml_text(&xml, "Arn").unwrap_or_default();
    let id = xml_text(&xml, "PolicyId").unwrap_or_default();
    for role in strings(props, "Roles") {
        call(cx, "AttachRolePolicy", vec![p("RoleName", role), p("PolicyArn", &arn)])
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(Created::new(arn.clone()).with("PolicyArn", arn).with("PolicyId", id))
}

pub async fn delete_managed_policy(cx: &Cx<'_>, r: &ResourceRecord) -> Result<(), ApiError> {
    let arn = r.physical_id.clone().unwrap_or_default();
    for role in strings(&r.properties, "Roles") {
        match call(cx, "DetachRolePolicy", vec![p("RoleName", role), p("PolicyArn", &arn)]).await {
            Err(e) if !e.is_not_found() => return Err(e),
            _ => {}
        }
    }
    call(cx, "DeletePolicy", vec![p("PolicyArn", arn)]).await.map(drop)
}
