//! What recorded Lambda traffic would cost on AWS: requests and GB-seconds (by architecture)
//! from the REPORT lines, priced with the list prices kept as data in `prices/` (source and
//! date inside the file), per function and in total.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::invocations::Report;

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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LambdaPrices {
    /// Per request.
    pub request: f64,
    /// Per GB-second, by architecture (`x86_64`, `arm64`).
    pub gb_second: BTreeMap<String, f64>,
}

impl Prices {
    /// The table for `region`. Only US East (N. Virginia) is kept so far; other regions are
    /// priced with it, and the answer names the table used.
    pub fn for_region(_region: &str) -> Result<Prices, String> {
        serde_json::from_str(US_EAST_1).map_err(|e| format!("prices/us-east-1.json: {e}"))
    }

    fn gb_second(&self, architecture: &str) -> f64 {
        self.lambda
            .gb_second
            .get(architecture)
            .or_else(|| self.lambda.gb_second.get("x86_64"))
            .copied()
            .unwrap_or_default()
    }
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
    pub requests: u64,
    pub gb_seconds: f64,
    pub total: f64,
}

/// Prices one function's invocations.
pub fn function_cost(
    prices: &Prices,
    function: &str,
    architecture: &str,
    reports: &[&Report],
) -> FunctionCost {
    let requests = reports.len() as u64;
    let gb_seconds: f64 = reports.iter().map(|r| r.gb_seconds()).sum();
    let request_cost = requests as f64 * prices.lambda.request;
    let duration_cost = gb_seconds * prices.gb_second(architecture);
    FunctionCost {
        function: function.to_owned(),
        architecture: architecture.to_owned(),
        requests,
        cold_starts: reports.iter().filter(|r| r.init_duration_ms.is_some()).count() as u64,
        billed_ms: reports.iter().map(|r| r.billed_duration_ms).sum(),
        gb_seconds,
        request_cost,
        duration_cost,
        total: request_cost + duration_cost,
    }
}

/// The whole bill: functions most expensive first.
pub fn report(
    prices: Prices,
    since: i64,
    until: Option<i64>,
    mut functions: Vec<FunctionCost>,
) -> CostReport {
    functions.sort_by(|a, b| b.total.total_cmp(&a.total).then_with(|| a.function.cmp(&b.function)));
    CostReport {
        since,
        until,
        currency: prices.currency.clone(),
        requests: functions.iter().map(|f| f.requests).sum(),
        gb_seconds: functions.iter().map(|f| f.gb_seconds).sum(),
        total: functions.iter().map(|f| f.total).sum(),
        prices,
        functions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(memory: u32, billed: u64, cold: bool) -> Report {
        Report {
            request_id: "r".into(),
            duration_ms: billed as f64,
            billed_duration_ms: billed,
            memory_size_mb: memory,
            max_memory_used_mb: 10,
            init_duration_ms: cold.then_some(100.0),
            status: None,
            error_type: None,
        }
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
        let (a, b) = (r(1024, 1000, true), r(512, 200, false));
        let x86 = function_cost(&p, "f", "x86_64", &[&a, &b]);
        assert_eq!((x86.requests, x86.cold_starts, x86.billed_ms), (2, 1, 1200));
        assert!((x86.gb_seconds - 1.1).abs() < 1e-12);
        assert!((x86.duration_cost - 1.1 * 0.0000166667).abs() < 1e-15);
        assert!((x86.request_cost - 2.0 * 0.0000002).abs() < 1e-15);
        let arm = function_cost(&p, "g", "arm64", &[&a]);
        assert!((arm.duration_cost - 0.0000133334).abs() < 1e-15);
        let bill = report(p, 0, None, vec![arm.clone(), x86.clone()]);
        assert_eq!(bill.functions[0].function, "f");
        assert_eq!(bill.requests, 3);
        assert!((bill.total - (arm.total + x86.total)).abs() < 1e-15);
    }
}
