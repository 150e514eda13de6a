//! The resize function in Rust, a `provided.al2023` bootstrap on `lambda_runtime`: S3 upload
//! notifications in (through SQS, in batches), renditions and a metadata item out for each,
//! then an ImageProcessed event on the pipeline's bus — what `functions/python/resize.py` does,
//! item for item.
//!
//! Bad input is a result, not an error: a corrupt or non-image upload is recorded as `failed`
//! and an oversize one as `rejected`, and the message is done. Only unexpected errors (a service
//! unavailable) report the message as a batch item failure, for SQS to hand out again.

mod records;
mod resize;

use std::collections::HashMap;
use std::io::Write;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::records::Upload;
use crate::resize::Refusal;

/// What the function reads from its environment once, at start.
struct Settings {
    max_image_bytes: u64,
    max_image_pixels: u64,
    images_table: String,
    processed_bucket: String,
    event_bus_name: String,
}

impl Settings {
    fn from_env() -> Result<Settings, Error> {
        let number = |name: &str, default: u64| -> Result<u64, Error> {
            match std::env::var(name) {
                Ok(v) => v.trim().parse().map_err(|_| format!("{name}={v:?} is not a whole number").into()),
                Err(_) => Ok(default),
            }
        };
        let text = |name: &str| std::env::var(name).unwrap_or_default();
        Ok(Settings {
            max_image_bytes: number("MAX_IMAGE_BYTES", 20 * 1024 * 1024)?,
            max_image_pixels: number("MAX_IMAGE_PIXELS", 50_000_000)?,
            images_table: text("IMAGES_TABLE"),
            processed_bucket: text("PROCESSED_BUCKET"),
            event_bus_name: text("EVENT_BUS_NAME"),
        })
    }
}

struct Pipeline {
    settings: Settings,
    s3: aws_sdk_s3::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    events: aws_sdk_eventbridge::Client,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let settings = Settings::from_env()?;
    // Region, credentials and endpoint (`AWS_ENDPOINT_URL`, which Nimbus sets for its
    // functions) come from the environment, as for any SDK inside Lambda.
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    // Path-style addressing: an endpoint such as `http://127.0.0.1:4566` has no bucket
    // subdomains.
    let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
    let pipeline = Pipeline {
        settings,
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        events: aws_sdk_eventbridge::Client::new(&config),
    };
    let pipeline = &pipeline;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| pipeline.handle(event.payload))).await
}

impl Pipeline {
    async fn handle(&self, event: Value) -> Result<Value, Error> {
        let mut failures = Vec::new();
        let messages = event.get("Records").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for message in messages {
            if let Err(e) = self.message(message).await {
                log(&json!({"message": message.get("messageId"), "error": e.to_string()}));
                failures.push(json!({"itemIdentifier": message.get("messageId")}));
            }
        }
        Ok(json!({"batchItemFailures": failures}))
    }

    async fn message(&self, message: &Value) -> Result<(), Error> {
        for record in records::s3_records(message)? {
            let upload = records::upload(&record)?;
            self.process(upload).await?;
        }
        Ok(())
    }

    async fn process(&self, upload: Upload) -> Result<(), Error> {
        let id = records::image_id(&upload.key);
        let mut item = HashMap::from([
            ("id".to_owned(), s(&id)),
            ("bucket".to_owned(), s(&upload.bucket)),
            ("key".to_owned(), s(&upload.key)),
            ("size".to_owned(), n(upload.size)),
            ("uploadedAt".to_owned(), s(&upload.event_time.clone().unwrap_or_else(now))),
        ]);
        let outcome = if upload.size > self.settings.max_image_bytes {
            Err(Refusal::Rejected(format!(
                "{} bytes is over the limit of {} bytes",
                upload.size, self.settings.max_image_bytes
            )))
        } else {
            let body = self.download(&upload).await?;
            let max_pixels = self.settings.max_image_pixels;
            // Decoding and encoding are seconds of CPU for a big photo: off the async thread.
            tokio::task::spawn_blocking(move || resize::resize(&body, max_pixels)).await?
        };
        let (status, reason, detail) = match outcome {
            Ok(resized) => ("processed", None, Some(self.store(&id, &upload, resized, &mut item).await?)),
            Err(Refusal::Rejected(reason)) => ("rejected", Some(reason), None),
            Err(Refusal::Failed(reason)) => ("failed", Some(reason), None),
        };
        item.insert("status".to_owned(), s(status));
        if let Some(reason) = &reason {
            item.insert("reason".to_owned(), s(reason));
        }
        item.insert("processedAt".to_owned(), s(&now()));
        self.dynamodb
            .put_item()
            .table_name(&self.settings.images_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        log(&json!({"image": id, "status": status, "reason": reason}));
        if let Some(detail) = detail {
            self.announce(detail).await?;
        }
        Ok(())
    }

    async fn download(&self, upload: &Upload) -> Result<Vec<u8>, Error> {
        let object = self
            .s3
            .get_object()
            .bucket(&upload.bucket)
            .key(&upload.key)
            .send()
            .await
            .map_err(|e| sdk_error("GetObject", e))?;
        let body = object.body.collect().await.map_err(|e| format!("reading {}: {e}", upload.key))?;
        Ok(body.to_vec())
    }

    /// Writes the renditions, adds what they are to the item and returns the event's detail.
    async fn store(
        &self,
        id: &str,
        upload: &Upload,
        resized: resize::Resized,
        item: &mut HashMap<String, AttributeValue>,
    ) -> Result<Value, Error> {
        let mut renditions = HashMap::new();
        let mut described = serde_json::Map::new();
        for r in resized.renditions {
            let key = format!("{id}/{}.{}", r.name, r.extension);
            let size = r.data.len() as u64;
            self.s3
                .put_object()
                .bucket(&self.settings.processed_bucket)
                .key(&key)
                .body(r.data.into())
                .content_type(r.content_type)
                .send()
                .await
                .map_err(|e| sdk_error("PutObject", e))?;
            renditions.insert(
                r.name.to_owned(),
                AttributeValue::M(HashMap::from([
                    ("key".to_owned(), s(&key)),
                    ("width".to_owned(), n(r.width)),
                    ("height".to_owned(), n(r.height)),
                    ("size".to_owned(), n(size)),
                    ("contentType".to_owned(), s(r.content_type)),
                ])),
            );
            described.insert(
                r.name.to_owned(),
                json!({"key": key, "width": r.width, "height": r.height, "size": size, "contentType": r.content_type}),
            );
        }
        item.insert("format".to_owned(), s(resized.format));
        item.insert("width".to_owned(), n(resized.width));
        item.insert("height".to_owned(), n(resized.height));
        item.insert("orientation".to_owned(), n(resized.orientation));
        item.insert("renditions".to_owned(), AttributeValue::M(renditions));
        Ok(json!({
            "id": id,
            "bucket": upload.bucket,
            "key": upload.key,
            "format": resized.format,
            "width": resized.width,
            "height": resized.height,
            "renditions": described,
        }))
    }

    async fn announce(&self, detail: Value) -> Result<(), Error> {
        let entry = PutEventsRequestEntry::builder()
            .source("image-pipeline")
            .detail_type("ImageProcessed")
            .detail(detail.to_string())
            .event_bus_name(&self.settings.event_bus_name)
            .build();
        let out =
            self.events.put_events().entries(entry).send().await.map_err(|e| sdk_error("PutEvents", e))?;
        if out.failed_entry_count() > 0 {
            return Err(format!("PutEvents failed: {:?}", out.entries()).into());
        }
        Ok(())
    }
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_owned())
}

fn n(number: impl Into<u64>) -> AttributeValue {
    AttributeValue::N(number.into().to_string())
}

/// An SDK error with its causes: the error's own `Display` is only its kind.
fn sdk_error(operation: &str, e: impl std::error::Error) -> Error {
    format!("{operation}: {}", aws_sdk_s3::error::DisplayErrorContext(e)).into()
}

/// UTC with milliseconds and a `Z`, as `resize.py` writes times.
fn now() -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc().format(format).unwrap_or_default()
}

/// One JSON line in the function's log (its stdout, which the runtime ships to CloudWatch Logs).
fn log(line: &Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}
