//! Metering what Nimbus served, in the units AWS bills by: the gateway counts requests, and the
//! services whose unit needs their knowledge count it themselves (DynamoDB its request units as
//! it computes ConsumedCapacity, EventBridge the 64 KB chunks of what PutEvents took, API
//! Gateway each data-plane request by API kind, S3 its request classes and the bytes it stores).
//! `server` keeps the counts; the console prices them. Metering happens on hot paths, so a
//! call takes borrowed names and returns nothing.

use types::Scope;

/// A billable quantity, counted per resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Requests to a service's API, any operation (counted by the gateway).
    Requests,
    /// S3 PUT, COPY, POST and LIST requests, S3's dearer request class.
    S3Tier1,
    /// S3 GET, HEAD and the other requests but DELETE (which S3 does not charge).
    S3Tier2,
    /// DynamoDB read request units in halves: an eventually consistent read of up to 4 KB is
    /// one, so the count stays whole.
    ReadHalfUnits,
    /// DynamoDB write request units.
    WriteUnits,
    /// Events PutEvents accepted onto a bus.
    Events,
    /// Those events in 64 KB chunks, EventBridge's billing unit.
    EventChunks,
    /// Data-plane requests to a REST API (API Gateway v1).
    RestApiRequests,
    /// Data-plane requests to an HTTP API (API Gateway v2).
    HttpApiRequests,
}

impl Unit {
    pub const ALL: [Unit; 9] = [
        Unit::Requests,
        Unit::S3Tier1,
        Unit::S3Tier2,
        Unit::ReadHalfUnits,
        Unit::WriteUnits,
        Unit::Events,
        Unit::EventChunks,
        Unit::RestApiRequests,
        Unit::HttpApiRequests,
    ];

    /// Its position in [`Unit::ALL`], for counters kept in arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Unit::Requests => "requests",
            Unit::S3Tier1 => "s3Tier1Requests",
            Unit::S3Tier2 => "s3Tier2Requests",
            Unit::ReadHalfUnits => "readHalfUnits",
            Unit::WriteUnits => "writeUnits",
            Unit::Events => "events",
            Unit::EventChunks => "eventChunks",
            Unit::RestApiRequests => "restApiRequests",
            Unit::HttpApiRequests => "httpApiRequests",
        }
    }
}

/// What kind of resource a count belongs to, so names of different kinds never mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// A whole service (the gateway's request counts), named by its signing name.
    Service,
    Bucket,
    Table,
    Bus,
    /// An API Gateway API, named by its id.
    Api,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Service => "service",
            ResourceKind::Bucket => "bucket",
            ResourceKind::Table => "table",
            ResourceKind::Bus => "bus",
            ResourceKind::Api => "api",
        }
    }
}

/// Where counts go; implemented by `server`'s usage store.
pub trait UsageMeter: Send + Sync {
    /// Adds `amount` of `unit` to the resource `name` of `kind` in `scope`.
    fn add(&self, scope: &Scope, kind: ResourceKind, name: &str, unit: Unit, amount: u64);

    /// Moves the bytes `bucket` stores by `delta` (storage is billed by GB-month: bytes over
    /// time).
    fn stored(&self, scope: &Scope, bucket: &str, delta: i64);
}

/// One resource's usage over a window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceUsage {
    pub kind: Option<ResourceKind>,
    pub name: String,
    /// Indexed by [`Unit::index`].
    pub units: [u64; Unit::ALL.len()],
    /// Bytes stored times milliseconds within the window (S3 storage).
    pub byte_ms: f64,
    /// Bytes stored now.
    pub bytes: i64,
}

impl ResourceUsage {
    pub fn get(&self, unit: Unit) -> u64 {
        self.units[unit.index()]
    }
}

/// Reading what was metered; implemented by `server`'s usage store, read by the console.
pub trait UsageReader: Send + Sync {
    /// Every resource of `scope` with usage in `[since_ms, until_ms)` (epoch milliseconds;
    /// `None`: up to now), or bytes stored.
    fn usage(&self, scope: &Scope, since_ms: i64, until_ms: Option<i64>) -> Vec<ResourceUsage>;
}

/// A meter that keeps nothing and a reader that has nothing, for what was not handed the store.
pub struct NoUsage;

impl UsageMeter for NoUsage {
    fn add(&self, _scope: &Scope, _kind: ResourceKind, _name: &str, _unit: Unit, _amount: u64) {}

    fn stored(&self, _scope: &Scope, _bucket: &str, _delta: i64) {}
}

impl UsageReader for NoUsage {
    fn usage(&self, _scope: &Scope, _since_ms: i64, _until_ms: Option<i64>) -> Vec<ResourceUsage> {
        Vec::new()
    }
}
