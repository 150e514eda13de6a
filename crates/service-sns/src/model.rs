//! SNS's records and key layout. Records are JSON with a schema version `v`; every key starts
//! with the tenant (`{account}/{region}/`), so tenants never see each other.
//!
//! - `sns.topics`: `{account}/{region}/{topic}` → [`TopicRecord`]
//! - `sns.subscriptions`: `{account}/{region}/{topic}/{id}` → [`SubscriptionRecord`]
//! - `sns.deliveries`: `{due ms:016}/{seq:020}` → [`Delivery`], the durable delivery queue;
//!   keys sort by due time, then by publish order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use storage::StorageError;
use types::Scope;

pub const TOPICS: &str = "sns.topics";
pub const SUBSCRIPTIONS: &str = "sns.subscriptions";
pub const DELIVERIES: &str = "sns.deliveries";
/// FIFO topics' deduplication ids: `{topic key}\0{id}` → the end of its window (Unix ms, as
/// 8 big-endian bytes), committed with the message's deliveries so a restart keeps the window.
pub const DEDUP: &str = "sns.dedup";

pub fn dedup_key(topic_key: &[u8], id: &str) -> Vec<u8> {
    let mut key = topic_key.to_vec();
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicRecord {
    pub v: u32,
    pub name: String,
    /// The attributes a client set (DisplayName, Policy, DeliveryPolicy, FifoTopic,
    /// ContentBasedDeduplication, KmsMasterKeyId …), as given.
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub created_ms: i64,
    /// How many subscriptions were removed (the `SubscriptionsDeleted` attribute).
    #[serde(default)]
    pub deleted_subscriptions: u64,
}

impl TopicRecord {
    pub fn fifo(&self) -> bool {
        self.attributes.get("FifoTopic").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn content_based_dedup(&self) -> bool {
        self.attributes.get("ContentBasedDeduplication").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    pub v: u32,
    pub id: String,
    pub topic: String,
    pub protocol: String,
    pub endpoint: String,
    /// The account that subscribed.
    pub owner: String,
    /// RawMessageDelivery, FilterPolicy, FilterPolicyScope, RedrivePolicy, DeliveryPolicy …
    pub attributes: BTreeMap<String, String>,
    /// HTTP/HTTPS subscriptions wait for ConfirmSubscription with this token.
    pub pending: bool,
    pub token: Option<String>,
    pub created_ms: i64,
}

impl SubscriptionRecord {
    pub fn raw(&self) -> bool {
        self.attributes.get("RawMessageDelivery").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The dead-letter queue of the subscription's RedrivePolicy, if it names one.
    pub fn dead_letter_queue(&self) -> Option<String> {
        let policy: serde_json::Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        policy.get("deadLetterTargetArn")?.as_str().map(str::to_owned)
    }
}

/// Where one delivery goes, with everything the target needs already rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Target {
    Sqs {
        queue_arn: String,
        /// (name, SQS data type, value; Binary values base64) for raw delivery.
        attributes: Vec<(String, String, String)>,
        group_id: Option<String>,
        dedup_id: Option<String>,
    },
    Lambda {
        function_arn: String,
    },
    Http {
        url: String,
        /// `Notification` or `SubscriptionConfirmation`, the `x-amz-sns-message-type` header.
        message_type: String,
        message_id: String,
        topic_arn: String,
        raw: bool,
    },
}

/// One (message, subscription) pair on its way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub v: u32,
    pub seq: u64,
    pub subscription_arn: String,
    pub target: Target,
    /// What the target receives: the envelope, the raw message or the Lambda event.
    pub body: String,
    /// The envelope a dead-letter queue receives when delivery fails for good.
    pub dead_letter: Option<(String, String)>,
    pub attempts: u32,
    pub max_attempts: u32,
    pub accepted_ms: i64,
    /// The publisher's trace (`Root=…;Parent=…`), handed to SQS and Lambda targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

pub fn encode<T: Serialize>(record: &T) -> Vec<u8> {
    // Serializing these plain structs cannot fail.
    serde_json::to_vec(record).unwrap_or_default()
}

pub fn decode<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, StorageError> {
    serde_json::from_slice(raw).map_err(|e| StorageError::Corrupt(format!("sns record: {e}")))
}

pub fn tenant(scope: &Scope) -> String {
    format!("{}/{}/", scope.account.as_str(), scope.region.as_str())
}

pub fn topic_key(scope: &Scope, topic: &str) -> Vec<u8> {
    format!("{}{topic}", tenant(scope)).into_bytes()
}

pub fn subscription_key(scope: &Scope, topic: &str, id: &str) -> Vec<u8> {
    format!("{}{topic}/{id}", tenant(scope)).into_bytes()
}

pub fn delivery_key(due_ms: i64, seq: u64) -> Vec<u8> {
    format!("{:016}/{seq:020}", due_ms.max(0)).into_bytes()
}

pub fn topic_arn(scope: &Scope, topic: &str) -> String {
    format!("arn:aws:sns:{}:{}:{topic}", scope.region.as_str(), scope.account.as_str())
}

pub fn subscription_arn(scope: &Scope, topic: &str, id: &str) -> String {
    format!("{}:{id}", topic_arn(scope, topic))
}
