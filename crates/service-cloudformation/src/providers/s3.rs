//! AWS::S3::Bucket (versioning, CORS, lifecycle, ownership controls, tags, notifications) and
//! AWS::S3::BucketPolicy, through S3's rest-xml API.

use bytes::Bytes;
use http::Method;
use protocol::xml::XmlWriter;
use serde_json::Value;

use super::{Created, Cx, Outcome, document, required, tags, text};
use crate::api::ApiError;

const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

async fn put(cx: &Cx<'_>, path: &str, body: Vec<u8>) -> Result<(), ApiError> {
    cx.api.rest_xml("s3", Method::PUT, path, &[], Bytes::from(body)).await.map(drop)
}

fn err(e: ApiError) -> String {
    e.to_string()
}

pub async fn create_bucket(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let name = text(props, "BucketName").unwrap_or_else(|| cx.name(63).to_ascii_lowercase());
    let body = if cx.region() == "us-east-1" {
        Vec::new()
    } else {
        let mut w = XmlWriter::new();
        w.open_ns("CreateBucketConfiguration", XMLNS);
        w.leaf("LocationConstraint", cx.region());
        w.close("CreateBucketConfiguration");
        w.finish()
    };
    put(cx, &format!("/{name}"), body).await.map_err(err)?;
    configure(cx, &name, props).await?;
    let region = cx.region();
    Ok(Created::new(name.clone())
        .with("Arn", format!("arn:aws:s3:::{name}"))
        .with("DomainName", format!("{name}.s3.amazonaws.com"))
        .with("RegionalDomainName", format!("{name}.s3.{region}.amazonaws.com"))
        .with("DualStackDomainName", format!("{name}.s3.dualstack.{region}.amazonaws.com"))
        .with("WebsiteURL", format!("http://{name}.s3-website-{region}.amazonaws.com")))
}

/// Applies the bucket's sub-configurations. Notifications are always written (an empty
/// configuration clears them), the others only when the template has them.
pub async fn configure(cx: &Cx<'_>, name: &str, props: &Value) -> Outcome<()> {
    if let Some(status) = props.get("VersioningConfiguration").and_then(|v| text(v, "Status")) {
        let mut w = XmlWriter::new();
        w.open_ns("VersioningConfiguration", XMLNS);
        w.leaf("Status", &status);
        w.close("VersioningConfiguration");
        put(cx, &format!("/{name}?versioning"), w.finish()).await.map_err(err)?;
    }
    let t = tags(props);
    if !t.is_empty() {
        let mut w = XmlWriter::new();
        w.open_ns("Tagging", XMLNS);
        w.open("TagSet");
        for (k, v) in &t {
            w.open("Tag");
            w.leaf("Key", k);
            w.leaf("Value", v);
            w.close("Tag");
        }
        w.close("TagSet");
        w.close("Tagging");
        put(cx, &format!("/{name}?tagging"), w.finish()).await.map_err(err)?;
    }
    if let Some(rules) =
        props.get("CorsConfiguration").and_then(|c| c.get("CorsRules")).and_then(Value::as_array)
    {
        put(cx, &format!("/{name}?cors"), cors_xml(rules)).await.map_err(err)?;
    }
    if let Some(rules) =
        props.get("LifecycleConfiguration").and_then(|c| c.get("Rules")).and_then(Value::as_array)
    {
        put(cx, &format!("/{name}?lifecycle"), lifecycle_xml(rules)).await.map_err(err)?;
    }
    let ownership = props
        .get("OwnershipControls")
        .map(|o| list(o, "Rules").filter_map(|r| text(r, "ObjectOwnership")).collect::<Vec<_>>())
        .unwrap_or_default();
    if let Some(o) = ownership.first() {
        let mut w = XmlWriter::new();
        w.open_ns("OwnershipControls", XMLNS);
        w.open("Rule");
        w.leaf("ObjectOwnership", o);
        w.close("Rule");
        w.close("OwnershipControls");
        put(cx, &format!("/{name}?ownershipControls"), w.finish()).await.map_err(err)?;
    }
    let notifications = notification_xml(props.get("NotificationConfiguration").unwrap_or(&Value::Null));
    put(cx, &format!("/{name}?notification"), notifications).await.map_err(err)?;
    Ok(())
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn cors_xml(rules: &[Value]) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.open_ns("CORSConfiguration", XMLNS);
    for r in rules {
        w.open("CORSRule");
        if let Some(id) = text(r, "Id") {
            w.leaf("ID", &id);
        }
        for (key, element) in [
            ("AllowedHeaders", "AllowedHeader"),
            ("AllowedMethods", "AllowedMethod"),
            ("AllowedOrigins", "AllowedOrigin"),
            ("ExposedHeaders", "ExposeHeader"),
        ] {
            for v in list(r, key).filter_map(Value::as_str) {
                w.leaf(element, v);
            }
        }
        if let Some(age) = text(r, "MaxAge") {
            w.leaf("MaxAgeSeconds", &age);
        }
        w.close("CORSRule");
    }
    w.close("CORSConfiguration");
    w.finish()
}

fn lifecycle_xml(rules: &[Value]) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.open_ns("LifecycleConfiguration", XMLNS);
    for r in rules {
        w.open("Rule");
        if let Some(id) = text(r, "Id") {
            w.leaf("ID", &id);
        }
        lifecycle_filter(&mut w, r);
        w.leaf("Status", &text(r, "Status").unwrap_or_else(|| "Enabled".to_owned()));
        let days = text(r, "ExpirationInDays");
        let date = text(r, "ExpirationDate");
        let marker = text(r, "ExpiredObjectDeleteMarker");
        if days.is_some() || date.is_some() || marker.is_some() {
            w.open("Expiration");
            if let Some(d) = &days {
                w.leaf("Days", d);
            }
            if let Some(d) = &date {
                w.leaf("Date", d);
            }
            if let Some(m) = &marker {
                w.leaf("ExpiredObjectDeleteMarker", m);
            }
            w.close("Expiration");
        }
        let noncurrent = r.get("NoncurrentVersionExpiration");
        let noncurrent_days = noncurrent
            .and_then(|n| text(n, "NoncurrentDays"))
            .or_else(|| text(r, "NoncurrentVersionExpirationInDays"));
        if let Some(d) = noncurrent_days {
            w.open("NoncurrentVersionExpiration");
            w.leaf("NoncurrentDays", &d);
            if let Some(n) = noncurrent.and_then(|n| text(n, "NewerNoncurrentVersions")) {
                w.leaf("NewerNoncurrentVersions", &n);
            }
            w.close("NoncurrentVersionExpiration");
        }
        if let Some(days) =
            r.get("AbortIncompleteMultipartUpload").and_then(|a| text(a, "DaysAfterInitiation"))
        {
            w.open("AbortIncompleteMultipartUpload");
            w.leaf("DaysAfterInitiation", &days);
            w.close("AbortIncompleteMultipartUpload");
        }
        w.close("Rule");
    }
    w.close("LifecycleConfiguration");
    w.finish()
}

/// A rule's Prefix, TagFilters and ObjectSize bounds as S3's `<Filter>` (`<And>` for several).
fn lifecycle_filter(w: &mut XmlWriter, r: &Value) {
    let prefix = text(r, "Prefix");
    let tags: Vec<(String, String)> = list(r, "TagFilters")
        .map(|t| (text(t, "Key").unwrap_or_default(), text(t, "Value").unwrap_or_default()))
        .collect();
    let greater = text(r, "ObjectSizeGreaterThan");
    let less = text(r, "ObjectSizeLessThan");
    let parts = usize::from(prefix.is_some())
        + tags.len()
        + usize::from(greater.is_some())
        + usize::from(less.is_some());
    w.open("Filter");
    if parts > 1 {
        w.open("And");
    }
    if parts == 0 || prefix.is_some() {
        w.leaf("Prefix", &prefix.unwrap_or_default());
    }
    for (k, v) in &tags {
        w.open("Tag");
        w.leaf("Key", k);
        w.leaf("Value", v);
        w.close("Tag");
    }
    if let Some(g) = &greater {
        w.leaf("ObjectSizeGreaterThan", g);
    }
    if let Some(l) = &less {
        w.leaf("ObjectSizeLessThan", l);
    }
    if parts > 1 {
        w.close("And");
    }
    w.close("Filter");
}

/// CloudFormation's NotificationConfiguration → S3's XML.
fn notification_xml(config: &Value) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.open_ns("NotificationConfiguration", XMLNS);
    for (key, element, target_prop, target_element) in [
        ("TopicConfigurations", "TopicConfiguration", "Topic", "Topic"),
        ("QueueConfigurations", "QueueConfiguration", "Queue", "Queue"),
        ("LambdaConfigurations", "CloudFunctionConfiguration", "Function", "CloudFunction"),
    ] {
        for c in list(config, key) {
            w.open(element);
            w.leaf(target_element, &text(c, target_prop).unwrap_or_default());
            w.leaf("Event", &text(c, "Event").unwrap_or_default());
            let rules: Vec<&Value> = c
                .get("Filter")
                .and_then(|f| f.get("S3Key"))
                .map(|k| list(k, "Rules").collect())
                .unwrap_or_default();
            if !rules.is_empty() {
                w.open("Filter");
                w.open("S3Key");
                for r in rules {
                    w.open("FilterRule");
                    w.leaf("Name", &text(r, "Name").unwrap_or_default());
                    w.leaf("Value", &text(r, "Value").unwrap_or_default());
                    w.close("FilterRule");
                }
                w.close("S3Key");
                w.close("Filter");
            }
            w.close(element);
        }
    }
    let eventbridge = config
        .get("EventBridgeConfiguration")
        .and_then(|e| e.get("EventBridgeEnabled"))
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    if eventbridge {
        w.open("EventBridgeConfiguration");
        w.close("EventBridgeConfiguration");
    }
    w.close("NotificationConfiguration");
    w.finish()
}

/// Reads an object (an API definition in S3).
pub async fn get_object(cx: &Cx<'_>, bucket: &str, key: &str, version: Option<&str>) -> Outcome<Bytes> {
    let key_path: Vec<String> = key.split('/').map(super::percent_encode).collect();
    let mut path = format!("/{}/{}", super::percent_encode(bucket), key_path.join("/"));
    if let Some(v) = version {
        path.push_str(&format!("?versionId={}", super::percent_encode(v)));
    }
    let (_, body) = cx.api.rest_xml("s3", Method::GET, &path, &[], Bytes::new()).await.map_err(|e| {
        format!("Error occurred while GetObject. S3 Error Code: {}. S3 Error Message: {}", e.code, e.message)
    })?;
    Ok(body)
}

pub async fn delete_bucket(cx: &Cx<'_>, name: &str) -> Result<(), ApiError> {
    cx.api.rest_xml("s3", Method::DELETE, &format!("/{name}"), &[], Bytes::new()).await.map(drop)
}

pub async fn put_policy(cx: &Cx<'_>, props: &Value) -> Outcome<Created> {
    let bucket = required(props, "Bucket")?;
    let policy = props.get("PolicyDocument").map(document).unwrap_or_default();
    put(cx, &format!("/{bucket}?policy"), policy.into_bytes()).await.map_err(err)?;
    Ok(Created::new(bucket))
}

pub async fn delete_policy(cx: &Cx<'_>, props: &Value) -> Result<(), ApiError> {
    let bucket = text(props, "Bucket").unwrap_or_default();
    cx.api.rest_xml("s3", Method::DELETE, &format!("/{bucket}?policy"), &[], Bytes::new()).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_become_s3_xml() {
        let config = serde_json::json!({
            "LambdaConfigurations": [{"Event": "s3:ObjectCreated:*", "Function": "arn:aws:lambda:us-east-1:000000000000:function:f",
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "in/"}]}}}],
            "EventBridgeConfiguration": {"EventBridgeEnabled": true}
        });
        let xml = String::from_utf8(notification_xml(&config)).expect("utf-8");
        assert!(xml.contains("<CloudFunctionConfiguration><CloudFunction>arn:aws:lambda:us-east-1:000000000000:function:f</CloudFunction><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>in/</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration>"), "{xml}");
        assert!(xml.contains("<EventBridgeConfiguration></EventBridgeConfiguration>"), "{xml}");
    }

    #[test]
    fn lifecycle_rules_become_s3_xml() {
        let rules = serde_json::json!([
            {"Id": "a", "Prefix": "tmp/", "Status": "Enabled", "ExpirationInDays": 3},
            {"Status": "Enabled", "Prefix": "logs/", "TagFilters": [{"Key": "k", "Value": "v"}],
             "NoncurrentVersionExpiration": {"NoncurrentDays": 5, "NewerNoncurrentVersions": 2}}
        ]);
        let xml = String::from_utf8(lifecycle_xml(rules.as_array().expect("array"))).expect("utf-8");
        assert!(xml.contains("<Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>"), "{xml}");
        assert!(
            xml.contains(
                "<Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>"
            ),
            "{xml}"
        );
        assert!(xml.contains("<NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>"), "{xml}");
    }
}
