//! Reading the invocation event, without IO: the S3 records in an SQS batch (or direct S3
//! notification records), the object key as S3 encodes it in notifications, and an upload's id.

use serde_json::Value;

/// One uploaded object, as a notification record describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    /// The size the record states (the object is not looked at before the size policy).
    pub size: u64,
    /// The record's `eventTime`, when it has one.
    pub event_time: Option<String>,
}

/// The S3 records of one entry of the event's `Records`: an SQS message carries a whole S3
/// notification in its body (S3's own `s3:TestEvent` has no records); an entry with an `s3`
/// member is a direct notification record, so the function also works as the bucket's target.
pub fn s3_records(message: &Value) -> Result<Vec<Value>, String> {
    if message.get("s3").is_some() {
        return Ok(vec![message.clone()]);
    }
    let body = message.get("body").and_then(Value::as_str).filter(|b| !b.is_empty()).unwrap_or("{}");
    let notification: Value = serde_json::from_str(body).map_err(|e| format!("the message body: {e}"))?;
    Ok(match notification.get("Records") {
        Some(Value::Array(records)) => records.clone(),
        _ => Vec::new(),
    })
}

/// The upload a record names; a record without a bucket or key is an error worth a retry.
pub fn upload(record: &Value) -> Result<Upload, String> {
    let s3 = &record["s3"];
    let text =
        |v: &Value, what: &str| v.as_str().map(str::to_owned).ok_or_else(|| format!("no {what} in {record}"));
    let bucket = text(&s3["bucket"]["name"], "s3.bucket.name")?;
    let key = unquote_plus(&text(&s3["object"]["key"], "s3.object.key")?);
    let size = match &s3["object"]["size"] {
        Value::Null => 0,
        Value::String(s) => s.trim().parse().map_err(|_| format!("s3.object.size {s:?} is not a number"))?,
        n => n.as_u64().ok_or_else(|| format!("s3.object.size {n} is not a number"))?,
    };
    let event_time =
        record.get("eventTime").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
    Ok(Upload { bucket, key, size, event_time })
}

/// Keys in S3 notifications are form-encoded: `+` is a space, `%xx` a byte.
pub fn unquote_plus(key: &str) -> String {
    percent_encoding::percent_decode_str(&key.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// The id an upload is known by in the API: its key, with anything unsafe in a URL path
/// segment replaced by '_' ('in/cat 1.png' -> 'in_cat_1.png'), as `common.py` derives it.
pub fn image_id(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(key: &str, size: Value) -> Value {
        json!({"eventTime": "2026-11-27T17:08:14.707Z", "s3": {"bucket": {"name": "up"}, "object": {"key": key, "size": size}}})
    }

    #[test]
    fn sqs_messages_carry_s3_notifications_and_direct_records_pass_through() {
        let direct = record("a.png", json!(10));
        assert_eq!(s3_records(&direct), Ok(vec![direct.clone()]));
        let body = json!({"Records": [record("a.png", json!(1)), record("b.png", json!(2))]}).to_string();
        let message = json!({"messageId": "m1", "body": body});
        assert_eq!(s3_records(&message).map(|r| r.len()), Ok(2));
        let test_event =
            json!({"messageId": "m2", "body": r#"{"Service":"Amazon S3","Event":"s3:TestEvent"}"#});
        assert_eq!(s3_records(&test_event), Ok(Vec::new()));
        assert_eq!(s3_records(&json!({"messageId": "m3"})), Ok(Vec::new()));
        assert!(s3_records(&json!({"messageId": "m4", "body": "not json"})).is_err());
    }

    #[test]
    fn uploads_are_read_from_records() {
        assert_eq!(
            upload(&record("in/cat+1%21.png", json!(88068))),
            Ok(Upload {
                bucket: "up".into(),
                key: "in/cat 1!.png".into(),
                size: 88068,
                event_time: Some("2026-11-27T17:08:14.707Z".into())
            })
        );
        assert_eq!(upload(&record("a", json!("12"))).map(|u| u.size), Ok(12));
        assert_eq!(upload(&record("a", Value::Null)).map(|u| u.size), Ok(0));
        assert!(upload(&record("a", json!("x"))).is_err());
        assert!(upload(&json!({"s3": {"object": {"key": "a"}}})).is_err());
        assert_eq!(
            upload(&json!({"s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}})).map(|u| u.event_time),
            Ok(None)
        );
    }

    #[test]
    fn keys_decode_and_ids_are_url_safe() {
        assert_eq!(unquote_plus("caf%C3%A9+au+lait.jpg"), "café au lait.jpg");
        assert_eq!(unquote_plus("100%25.png"), "100%.png");
        assert_eq!(image_id("in/cat 1.png"), "in_cat_1.png");
        assert_eq!(image_id("café.jpg"), "caf_.jpg");
        assert_eq!(image_id("A-z_0.9"), "A-z_0.9");
    }
}
