//! What recorded traffic would cost on AWS, priced with the list prices kept as data in
//! `prices/` (sources and dates inside the file): Lambda requests and GB-seconds (by the
//! architecture each invocation ran on) from the invocation summaries, which add up the REPORT
//! lines' figures, and what the usage meter counted for every other
//! resource — API Gateway requests, EventBridge events, S3 requests and storage, DynamoDB
//! request units — per function or resource and in total.

use std::collections::BTreeMap;

use ports::{FunctionSummary, ResourceKind, ResourceUsage, Unit};
use serde::{Deserialize, Serialize};

/// The price table shipped in the binary.
const US_EAST_1: &str = include_str!("../prices/us-east-1.json");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Prices {
    pub schema: u32,
    pub region: String,
    pub currency: String,
    pub source: String,
    pub retrieved: String,
    pub notes: String,
    pub lambda: LambdaPrices,
    pub apigateway: ApiGatewayPrices,
    pub events: EventsPrices,
    pub s3: S3Prices,
    pub dynamodb: DynamoDbPrices,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LambdaPrices {
    /// Per request.
    pub request: f64,
    /// Per GB-second, by architecture (`x86_64`, `arm64`).
    pub gb_second: BTreeMap<String, f64>,
    pub notes: String,
    pub provisioned: ProvisionedPrices,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionedPrices {
    pub source: String,
    pub retrieved: String,
    /// Per GB-second an environment is provisioned, by architecture.
    pub concurrency_gb_second: BTreeMap<String, f64>,
    /// Per GB-second of invocations provisioned environments serve, by architecture.
    pub duration_gb_second: BTreeMap<String, f64>,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiGatewayPrices {
    pub source: String,
    pub retrieved: String,
    pub rest_request: f64,
    /// Per 512 KB increment of a request.
    pub http_request: f64,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventsPrices {
    pub source: String,
    pub retrieved: String,
    /// Per 64 KB chunk of a custom event.
    pub custom_event: f64,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S3Prices {
    pub source: String,
    pub retrieved: String,
    pub tier1_request: f64,
    pub tier2_request: f64,
    pub gb_month: f64,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DynamoDbPrices {
    pub source: String,
    pub retrieved: String,
    pub write_request_unit: f64,
    pub read_request_unit: f64,
    pub notes: String,
}

impl Prices {
    /// The table for `region`. Only US East (N. Virginia) is kept so far; other regions are
    /// priced with it, and the answer names the table used.
    pub fn for_region(_region: &str) -> Result<Prices, String> {
        serde_json::from_str(US_EAST_1).map_err(|e| format!("prices/us-east-1.json: {e}"))
    }

    pub fn gb_second(&self, architecture: &str) -> f64 {
        by_architecture(&self.lambda.gb_second, architecture).unwrap_or_default()
    }

    /// What a provisioned environment costs per GB-second it is kept.
    pub fn provisioned_gb_second(&self, architecture: &str) -> f64 {
        by_architecture(&self.lambda.provisioned.concurrency_gb_second, architecture).unwrap_or_default()
    }

    /// Duration per GB-second on a provisioned environment; the on-demand rate where the table
    /// has none for the architecture (its notes say why).
    pub fn provisioned_duration_gb_second(&self, architecture: &str) -> f64 {
        self.lambda
            .provisioned
            .duration_gb_second
            .get(architecture)
            .copied()
            .unwrap_or_else(|| self.gb_second(architecture))
    }
}

/// A figure for `architecture`, or for `x86_64` when the table has none for it.
fn by_architecture(table: &BTreeMap<String, f64>, architecture: &str) -> Option<f64> {
    table.get(architecture).or_else(|| table.get("x86_64")).copied()
}

/// A month as AWS's calculator counts one for storage: 730 hours.
const MONTH_MS: f64 = 730.0 * 3_600_000.0;
const GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One priced quantity of a resource's bill.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// What is billed, as the price table names it.
    pub item: &'static str,
    pub quantity: f64,
    pub unit_price: f64,
    pub cost: f64,
}

impl Line {
    fn new(item: &'static str, quantity: f64, unit_price: f64) -> Line {
        Line { item, quantity, unit_price, cost: quantity * unit_price }
    }
}

/// What the cost page calls the S3 requests of no bucket.
pub const ACCOUNT_REQUESTS: &str = "(account: ListBuckets)";

/// What one metered resource (bucket, table, bus, API) would cost.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResourceCost {
    pub service: &'static str,
    pub kind: &'static str,
    pub name: String,
    pub lines: Vec<Line>,
    pub total: f64,
    /// What a bucket stores now, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_bytes: Option<i64>,
}

/// Prices what the meter counted for one resource; `None` for counts that are not billed
/// (the gateway's requests per service).
pub fn resource_cost(prices: &Prices, usage: &ResourceUsage) -> Option<ResourceCost> {
    let n = |unit: Unit| usage.get(unit) as f64;
    let (service, lines) = match usage.kind? {
        ResourceKind::Service => return None,
        ResourceKind::Bucket => (
            "s3",
            vec![
                Line::new("PUT, COPY, POST, LIST requests", n(Unit::S3Tier1), prices.s3.tier1_request),
                Line::new("GET and other requests", n(Unit::S3Tier2), prices.s3.tier2_request),
                Line::new("storage (GB-months)", usage.byte_ms / GB / MONTH_MS, prices.s3.gb_month),
            ],
        ),
        ResourceKind::Table => (
            "dynamodb",
            vec![
                Line::new("write request units", n(Unit::WriteUnits), prices.dynamodb.write_request_unit),
                Line::new(
                    "read request units",
                    n(Unit::ReadHalfUnits) / 2.0,
                    prices.dynamodb.read_request_unit,
                ),
            ],
        ),
        ResourceKind::Bus => (
            "events",
            vec![Line::new("custom events (64 KB chunks)", n(Unit::EventChunks), prices.events.custom_event)],
        ),
        ResourceKind::Api => (
            "apigateway",
            vec![
                Line::new("REST API requests", n(Unit::RestApiRequests), prices.apigateway.rest_request),
                Line::new(
                    "HTTP API requests (512 KB increments)",
                    n(Unit::HttpApiRequests),
                    prices.apigateway.http_request,
                ),
            ],
        ),
    };
    let lines: Vec<Line> = lines.into_iter().filter(|l| l.quantity > 0.0).collect();
    // S3 counts the requests of no bucket (ListBuckets) under the empty name: they are the
    // account's, and billed as LIST requests.
    let (kind, name) = match (usage.kind, usage.name.as_str()) {
        (Some(ResourceKind::Bucket), "") => ("account", ACCOUNT_REQUESTS.to_owned()),
        (kind, name) => (kind.map_or("", ResourceKind::name), name.to_owned()),
    };
    Some(ResourceCost {
        service,
        kind,
        name,
        stored_bytes: (usage.kind == Some(ResourceKind::Bucket) && !usage.name.is_empty())
            .then_some(usage.bytes),
        total: lines.iter().map(|l| l.cost).sum(),
        lines,
    })
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionCost {
    pub function: String,
    pub architecture: String,
    pub requests: u64,
    pub cold_starts: u64,
    pub billed_ms: u64,
    pub gb_seconds: f64,
    pub request_cost: f64,
    pub duration_cost: f64,
    pub total: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CostReport {
    pub since: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
    pub currency: String,
    pub prices: Prices,
    pub functions: Vec<FunctionCost>,
    /// Lambda invocations in the window.
    pub requests: u64,
    pub gb_seconds: f64,
    pub lambda_total: f64,
    /// Every other metered resource, most expensive first.
    pub resources: Vec<ResourceCost>,
    pub resources_total: f64,
    /// Requests each service's API answered (informational: most are not billed per request).
    pub service_requests: BTreeMap<String, u64>,
    /// Lambda and every resource.
    pub total: f64,
}

/// Prices one function's invocations; `architecture` is the function's now, each invocation's
/// duration is priced at the rate of the architecture it ran on.
pub fn function_cost(
    prices: &Prices,
    function: &str,
    architecture: &str,
    summary: &FunctionSummary,
) -> FunctionCost {
    let requests = summary.invocations;
    let request_cost = requests as f64 * prices.lambda.request;
    let duration_cost =
        summary.billing.iter().map(|b| b.gb_seconds() * prices.gb_second(b.architecture.name())).sum();
    FunctionCost {
        function: function.to_owned(),
        architecture: architecture.to_owned(),
        requests,
        cold_starts: summary.cold_starts,
        billed_ms: summary.billed_ms(),
        gb_seconds: summary.gb_seconds(),
        request_cost,
        duration_cost,
        total: request_cost + duration_cost,
    }
}

/// The whole bill: functions and resources most expensive first.
pub fn report(
    prices: Prices,
    since: i64,
    until: Option<i64>,
    mut functions: Vec<FunctionCost>,
    usage: &[ResourceUsage],
) -> CostReport {
    functions.sort_by(|a, b| b.total.total_cmp(&a.total).then_with(|| a.function.cmp(&b.function)));
    let mut resources: Vec<ResourceCost> = usage.iter().filter_map(|u| resource_cost(&prices, u)).collect();
    resources.sort_by(|a, b| {
        b.total.total_cmp(&a.total).then_with(|| (a.service, &a.name).cmp(&(b.service, &b.name)))
    });
    let service_requests = usage
        .iter()
        .filter(|u| u.kind == Some(ResourceKind::Service))
        .map(|u| (u.name.clone(), u.get(Unit::Requests)))
        .collect();
    let lambda_total: f64 = functions.iter().map(|f| f.total).sum();
    let resources_total: f64 = resources.iter().map(|r| r.total).sum();
    CostReport {
        since,
        until,
        currency: prices.currency.clone(),
        requests: functions.iter().map(|f| f.requests).sum(),
        gb_seconds: functions.iter().map(|f| f.gb_seconds).sum(),
        lambda_total,
        total: lambda_total + resources_total,
        resources_total,
        resources,
        service_requests,
        prices,
        functions,
    }
}

#[cfg(test)]
mod tests {
    use ports::{Architecture, InvocationRecord};
    use types::Scope;
    use types::trace::TraceId;

    use super::*;

    fn r(memory: u32, billed: u64, cold: bool, arch: Architecture) -> InvocationRecord {
        InvocationRecord {
            scope: Scope::default(),
            function: "f".into(),
            request_id: "r".into(),
            version: "$LATEST".into(),
            architecture: arch,
            started_ms: 0,
            ended_ms: 0,
            duration_ms_x100: billed * 100,
            billed_ms: billed,
            memory_mb: memory,
            max_memory_used_mb: 10,
            init_ms_x100: cold.then_some(10_000),
            outcome: ports::InvocationOutcome::Ok,
            concurrency: 1,
            log_group: String::new(),
            log_stream: String::new(),
            trace: TraceId::new(1, 1),
            caller: None,
            trigger: None,
        }
    }

    fn summary(records: &[InvocationRecord]) -> FunctionSummary {
        let mut s = FunctionSummary::default();
        for r in records {
            s.add(r);
        }
        s
    }

    #[test]
    fn the_shipped_table_parses_and_names_its_source() {
        let p = Prices::for_region("us-east-1").expect("prices");
        assert_eq!(p.region, "us-east-1");
        assert!(p.source.starts_with("https://aws.amazon.com/lambda/pricing"));
        assert_eq!(p.lambda.request, 0.0000002);
        assert_eq!(p.gb_second("x86_64"), 0.0000166667);
        assert_eq!(p.gb_second("arm64"), 0.0000133334);
    }

    #[test]
    fn requests_and_gb_seconds_by_architecture() {
        let p = Prices::for_region("us-east-1").expect("prices");
        let (a, b) = (r(1024, 1000, true, Architecture::X86_64), r(512, 200, false, Architecture::X86_64));
        let x86 = function_cost(&p, "f", "x86_64", &summary(&[a, b]));
        assert_eq!((x86.requests, x86.cold_starts, x86.billed_ms), (2, 1, 1200));
        assert!((x86.gb_seconds - 1.1).abs() < 1e-12);
        assert!((x86.duration_cost - 1.1 * 0.0000166667).abs() < 1e-15);
        assert!((x86.request_cost - 2.0 * 0.0000002).abs() < 1e-15);
        let arm = function_cost(&p, "g", "arm64", &summary(&[r(1024, 1000, true, Architecture::Arm64)]));
        assert!((arm.duration_cost - 0.0000133334).abs() < 1e-15);
        let bill = report(p.clone(), 0, None, vec![arm.clone(), x86.clone()], &[]);
        assert_eq!(bill.functions[0].function, "f");
        assert_eq!(bill.requests, 3);
        assert!((bill.total - (arm.total + x86.total)).abs() < 1e-15);
        // A function moved to arm64: what ran on x86_64 is still priced at x86_64's rate.
        let moved =
            summary(&[r(1024, 1000, false, Architecture::X86_64), r(1024, 1000, false, Architecture::Arm64)]);
        let moved = function_cost(&p, "h", "arm64", &moved);
        assert!((moved.duration_cost - (0.0000166667 + 0.0000133334)).abs() < 1e-15);
    }

    fn usage(kind: ResourceKind, name: &str, counts: &[(Unit, u64)], byte_ms: f64) -> ResourceUsage {
        let mut u =
            ResourceUsage { kind: Some(kind), name: name.to_owned(), byte_ms, ..ResourceUsage::default() };
        for (unit, n) in counts {
            u.units[unit.index()] = *n;
        }
        u
    }

    #[test]
    fn the_other_services_are_counts_times_their_list_prices() {
        let p = Prices::for_region("us-east-1").expect("prices");
        assert_eq!((p.s3.tier1_request, p.s3.tier2_request, p.s3.gb_month), (0.000005, 0.0000004, 0.023));
        assert_eq!((p.dynamodb.write_request_unit, p.dynamodb.read_request_unit), (0.000000625, 0.000000125));
        assert_eq!(p.events.custom_event, 0.000001);
        assert_eq!((p.apigateway.rest_request, p.apigateway.http_request), (0.0000035, 0.000001));
        for source in [&p.s3.source, &p.dynamodb.source, &p.events.source, &p.apigateway.source] {
            assert!(source.starts_with("https://aws.amazon.com/"), "{source}");
        }
        // 10 GiB stored for a whole 730-hour month is 10 GB-months.
        let bucket = usage(
            ResourceKind::Bucket,
            "b",
            &[(Unit::S3Tier1, 3), (Unit::S3Tier2, 10)],
            10.0 * GB * MONTH_MS,
        );
        let table = usage(ResourceKind::Table, "t", &[(Unit::WriteUnits, 4), (Unit::ReadHalfUnits, 3)], 0.0);
        let bus = usage(ResourceKind::Bus, "default", &[(Unit::Events, 2), (Unit::EventChunks, 5)], 0.0);
        let api =
            usage(ResourceKind::Api, "a1", &[(Unit::RestApiRequests, 7), (Unit::HttpApiRequests, 2)], 0.0);
        let calls = usage(ResourceKind::Service, "s3", &[(Unit::Requests, 99)], 0.0);
        let bill = report(p.clone(), 0, None, vec![], &[bucket, table, bus, api, calls]);
        let cost = |name: &str| bill.resources.iter().find(|r| r.name == name).expect(name).clone();
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        close(cost("b").total, 3.0 * 0.000005 + 10.0 * 0.0000004 + 10.0 * 0.023);
        close(cost("t").total, 4.0 * 0.000000625 + 1.5 * 0.000000125);
        close(cost("default").total, 5.0 * 0.000001);
        close(cost("a1").total, 7.0 * 0.0000035 + 2.0 * 0.000001);
        assert_eq!(cost("t").lines[1], Line::new("read request units", 1.5, 0.000000125));
        assert_eq!(bill.resources.len(), 4, "request counts per service are not billed");
        assert_eq!(bill.service_requests.get("s3"), Some(&99));
        assert_eq!(bill.resources[0].name, "b", "most expensive first");
        close(bill.total, bill.resources.iter().map(|r| r.total).sum());
        // Nothing counted, nothing listed.
        let idle = usage(ResourceKind::Table, "idle", &[], 0.0);
        assert!(resource_cost(&p, &idle).is_some_and(|r| r.lines.is_empty() && r.total == 0.0));
    }
}
