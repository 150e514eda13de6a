//! SQS as Lambda's event source mappings poll it: [`ports::QueueReceiver`] by queue ARN, on the
//! same receive, delete and visibility paths as the API (so redrive to a dead-letter queue,
//! FIFO group order and long polling behave exactly as for any consumer).

use base64::Engine;
use ports::{BoxFuture, PortError, QueueInfo, QueueMessageAttribute, QueueReceiver, ReceivedMessage};
use protocol::ServiceError;

use crate::error::Error;
use crate::model::MessageRecord;
use crate::{Queue, SqsService, messages};

fn port_error(arn: &str, e: Error) -> PortError {
    match e {
        Error::QueueDoesNotExist => PortError::NotFound(arn.to_owned()),
        Error::InternalError(e) => PortError::Unavailable(e.to_string()),
        other => PortError::Invalid(other.to_wire().message),
    }
}

/// A message as a poller sees it: every system attribute, every message attribute.
fn received(queue: &Queue, m: MessageRecord) -> ReceivedMessage {
    let mut attributes = vec![
        ("ApproximateReceiveCount".to_owned(), m.receive_count.to_string()),
        ("SentTimestamp".to_owned(), m.sent_ms.to_string()),
        ("SenderId".to_owned(), m.sender_id.clone()),
        ("ApproximateFirstReceiveTimestamp".to_owned(), m.first_receive_ms.unwrap_or(m.sent_ms).to_string()),
    ];
    if let Some(trace) = &m.trace_header {
        attributes.push(("AWSTraceHeader".to_owned(), trace.clone()));
    }
    if queue.record.fifo() {
        attributes.push(("SequenceNumber".to_owned(), format!("{:020}", m.seq)));
        if let Some(group) = &m.group {
            attributes.push(("MessageGroupId".to_owned(), group.clone()));
        }
        if let Some(dedup) = &m.dedup_id {
            attributes.push(("MessageDeduplicationId".to_owned(), dedup.clone()));
        }
    }
    let message_attributes = m
        .attributes
        .iter()
        .map(|(name, a)| {
            let value = match (&a.string_value, &a.binary_value) {
                (Some(s), _) => s.clone().into_bytes(),
                (None, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b).unwrap_or_default(),
                (None, None) => Vec::new(),
            };
            (name.clone(), QueueMessageAttribute { data_type: a.data_type.clone(), value: value.into() })
        })
        .collect();
    ReceivedMessage {
        message_id: m.id.clone(),
        receipt_handle: messages::receipt_handle(m.seq, m.token.as_deref().unwrap_or_default()),
        body: m.body,
        md5_of_body: m.md5_body,
        md5_of_message_attributes: m.md5_attributes,
        attributes,
        message_attributes,
    }
}

impl SqsService {
    fn port_queue(&self, arn: &str) -> Result<Queue, PortError> {
        self.inner.find_arn(arn).ok_or_else(|| PortError::NotFound(arn.to_owned()))
    }
}

impl QueueReceiver for SqsService {
    fn queue_info(&self, queue_arn: &str) -> Result<QueueInfo, PortError> {
        let queue = self.port_queue(queue_arn)?;
        Ok(QueueInfo {
            visibility_timeout: u32::try_from(queue.record.num("VisibilityTimeout")).unwrap_or(30),
            fifo: queue.record.fifo(),
        })
    }

    fn receive(
        &self,
        queue_arn: &str,
        max: u32,
        visibility_timeout: Option<u32>,
        wait_seconds: u32,
    ) -> BoxFuture<'_, Result<Vec<ReceivedMessage>, PortError>> {
        let arn = queue_arn.to_owned();
        Box::pin(async move {
            let queue = self.port_queue(&arn)?;
            let max = usize::try_from(max.clamp(1, 10)).unwrap_or(1);
            let visibility = visibility_timeout
                .map_or_else(|| queue.record.num("VisibilityTimeout"), i64::from)
                .min(43_200);
            let wait = i64::from(wait_seconds.min(20));
            let records = messages::receive_records(&self.inner, &queue, max, visibility, wait)
                .await
                .map_err(|e| port_error(&arn, e))?;
            Ok(records.into_iter().map(|m| received(&queue, m)).collect())
        })
    }

    fn delete_messages(&self, queue_arn: &str, receipt_handles: &[String]) -> Result<(), PortError> {
        let queue = self.port_queue(queue_arn)?;
        for handle in receipt_handles {
            messages::delete(&self.inner, &queue, handle).map_err(|e| port_error(queue_arn, e))?;
        }
        Ok(())
    }

    fn change_visibility(
        &self,
        queue_arn: &str,
        receipt_handle: &str,
        timeout: u32,
    ) -> Result<(), PortError> {
        let queue = self.port_queue(queue_arn)?;
        messages::change_visibility(&self.inner, &queue, receipt_handle, i64::from(timeout))
            .map_err(|e| port_error(queue_arn, e))
    }
}
