//! The architecture graph of one tenant: every resource the console can list is a node, every
//! wiring it can read back from the services' own APIs is an edge (S3 notifications, event
//! source mappings, rule targets, API integrations, subscriptions, Lambda destinations and
//! dead-letter queues, schedule targets). `collect` reads; `Inventory::graph` is pure, so the
//! layout and the edge rules are tested on canned answers.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::api::{Element, Reader, enc};
use crate::error::Error;

/// Pages read per listing at most: the console shows a bounded view rather than hanging.
const MAX_PAGES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Api,
    Route,
    Schedule,
    Bucket,
    Topic,
    Queue,
    Bus,
    Rule,
    Table,
    Function,
    Stack,
    /// Something a wiring points at that the console cannot list (another account, an HTTP
    /// endpoint, a deleted resource).
    External,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Node {
    pub id: String,
    pub kind: Kind,
    pub name: String,
    /// Column in the layered drawing: sources left, sinks right.
    pub layer: usize,
    /// The stack that created it, when a stack lists it among its resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    pub details: Value,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// What the wiring is: `notification`, `event source`, `rule`, `target`, `route`,
    /// `integration`, `subscription`, `on success`, `on failure`, `dead-letter`, `schedule`, or
    /// `writes` (a function writing to a resource, as traces saw it).
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Graph {
    pub account: String,
    pub region: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Listings that failed; the graph shows the rest.
    pub warnings: Vec<String>,
}

/// What was read, before it becomes a graph.
#[derive(Debug, Default)]
pub struct Inventory {
    account: String,
    region: String,
    nodes: BTreeMap<String, Node>,
    edges: BTreeSet<Edge>,
    /// (stack name, physical ids of its resources)
    stacks: Vec<(String, Vec<String>)>,
    warnings: Vec<String>,
}

impl Inventory {
    fn node(&mut self, id: String, kind: Kind, name: impl Into<String>, details: Value) {
        self.nodes.insert(id.clone(), Node { id, kind, name: name.into(), layer: 0, stack: None, details });
    }

    fn edge(&mut self, from: &str, to: &str, kind: &str, label: impl Into<String>) {
        if from.is_empty() || to.is_empty() {
            return;
        }
        self.edges.insert(Edge {
            from: from.to_owned(),
            to: to.to_owned(),
            kind: kind.to_owned(),
            label: label.into(),
        });
    }

    /// A write traces saw a function make (a DynamoDB item, an S3 object, PutEvents on a bus, a
    /// message, a publish): a `writes` edge from the function to that resource, drawn when both
    /// are resources of this tenant. Reads are left out: they do not move data downstream, and
    /// would draw a function back to the bucket it was notified by.
    pub fn observed(&mut self, function_arn: &str, service: &str, operation: &str, resource: &str) {
        let reads = ["Get", "Head", "List", "Query", "Scan", "Describe", "Receive"];
        if reads.iter().any(|r| operation.starts_with(r)) || resource.is_empty() {
            return;
        }
        let named = |inv: &Inventory, kind: &str, name: &str| {
            if name.starts_with("arn:") {
                canonical(name)
            } else {
                inv.arn(service, &format!("{kind}{name}"))
            }
        };
        let to = match service {
            "dynamodb" => named(self, "table/", resource),
            "events" => named(self, "event-bus/", resource),
            "s3" => format!("arn:aws:s3:::{}", resource.split('/').next().unwrap_or_default()),
            "sqs" => named(self, "", resource.rsplit('/').next().unwrap_or_default()),
            "sns" => resource.to_owned(),
            _ => return,
        };
        let from = canonical(function_arn);
        if self.nodes.contains_key(&from) && self.nodes.contains_key(&to) {
            self.edge(&from, &to, "writes", "");
        }
    }

    fn warn(&mut self, what: &str, e: &Error) {
        self.warnings.push(format!("{what}: {e}"));
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{}:{}:{resource}", self.region, self.account)
    }

    /// Resolves what a wiring names to a node id: qualified function ARNs (`:alias`, `:3`)
    /// become the function, stream ARNs their table; anything unknown becomes an external node.
    fn resolve(&mut self, target: &str) -> String {
        let id = canonical(target);
        if !self.nodes.contains_key(&id) {
            let name = id.rsplit([':', '/']).next().unwrap_or(&id).to_owned();
            let details = json!({ "arn": target, "note": "not a resource of this account and region" });
            self.node(id.clone(), Kind::External, if name.is_empty() { id.clone() } else { name }, details);
        }
        id
    }

    /// The graph: edges to unknown ends get external nodes, nodes get their layer and stack.
    pub fn graph(mut self) -> Graph {
        let ids: Vec<String> = self.nodes.keys().cloned().collect();
        let names: BTreeMap<String, String> =
            self.nodes.values().map(|n| (n.name.clone(), n.id.clone())).collect();
        for (stack, physical) in std::mem::take(&mut self.stacks) {
            for p in physical {
                // Physical ids are names (buckets, functions, tables, rules), ARNs (topics) or
                // URLs (queues); match on any of them.
                let by_url = p.rsplit('/').next().unwrap_or(&p).to_owned();
                let id = if self.nodes.contains_key(&p) {
                    Some(p.clone())
                } else {
                    names.get(&p).or_else(|| names.get(&by_url)).cloned()
                };
                if let Some(n) = id.and_then(|id| self.nodes.get_mut(&id))
                    && n.kind != Kind::Stack
                {
                    n.stack = Some(stack.clone());
                }
            }
        }
        let layers = layers(&ids, &self.edges, &self.nodes);
        let mut nodes: Vec<Node> = self.nodes.into_values().collect();
        for n in &mut nodes {
            n.layer = layers.get(&n.id).copied().unwrap_or(0);
        }
        nodes.sort_by(|a, b| (a.layer, a.kind, &a.name, &a.id).cmp(&(b.layer, b.kind, &b.name, &b.id)));
        Graph {
            account: self.account,
            region: self.region,
            nodes,
            edges: self.edges.into_iter().collect(),
            warnings: self.warnings,
        }
    }
}

/// Longest path from a source, so every edge points right. A cycle (a function publishing to
/// the bus whose rule invokes it) cannot push a node past the node count.
fn layers(ids: &[String], edges: &BTreeSet<Edge>, nodes: &BTreeMap<String, Node>) -> BTreeMap<String, usize> {
    let mut layer: BTreeMap<String, usize> = ids.iter().map(|id| (id.clone(), 0)).collect();
    let cap = ids.len();
    for _ in 0..cap {
        let mut changed = false;
        for e in edges {
            let from = layer.get(&e.from).copied().unwrap_or(0);
            if let Some(to) = layer.get_mut(&e.to)
                && *to < from + 1
                && from < cap
            {
                *to = from + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // Unwired functions sit in the functions' usual column, unwired tables with the sinks.
    let wired: BTreeSet<&str> = edges.iter().flat_map(|e| [e.from.as_str(), e.to.as_str()]).collect();
    for (id, n) in nodes {
        if !wired.contains(id.as_str()) {
            let l = match n.kind {
                Kind::Function => 1,
                Kind::Table => 2,
                _ => 0,
            };
            layer.insert(id.clone(), l);
        }
    }
    layer
}

/// A function ARN without its qualifier; a DynamoDB stream ARN as its table's ARN.
pub fn canonical(arn: &str) -> String {
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() == 8 && parts[2] == "lambda" && parts[5] == "function" {
        return parts[..7].join(":");
    }
    if parts.len() >= 6
        && parts[2] == "dynamodb"
        && let Some(i) = arn.find("/stream/")
    {
        return arn[..i].to_owned();
    }
    arn.to_owned()
}

/// The function ARN inside an API Gateway Lambda integration URI
/// (`arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations`), or the
/// URI itself when it is a function ARN already (HTTP APIs accept both).
pub fn integration_function(uri: &str) -> Option<String> {
    if let Some((_, rest)) = uri.split_once("/functions/") {
        let arn = rest.strip_suffix("/invocations").unwrap_or(rest);
        return Some(canonical(arn));
    }
    uri.contains(":lambda:").then(|| canonical(uri)).filter(|a| a.contains(":function:"))
}

/// Reads every resource and wiring of the reader's tenant.
pub async fn collect(api: Reader<'_>) -> Inventory {
    let scope = api.scope();
    let mut inv = Inventory {
        account: scope.account.as_str().to_owned(),
        region: scope.region.as_str().to_owned(),
        ..Inventory::default()
    };
    // Listings first, so wirings resolve to the nodes they name.
    let functions = functions(api, &mut inv).await;
    tables(api, &mut inv).await;
    queues(api, &mut inv).await;
    topics(api, &mut inv).await;
    let buckets = buckets(api, &mut inv).await;
    let rules = buses_and_rules(api, &mut inv).await;
    let apis = apis(api, &mut inv).await;
    schedules(api, &mut inv).await;
    stacks(api, &mut inv).await;
    // Then the wirings.
    for name in buckets {
        notifications(api, &mut inv, &name).await;
    }
    mappings(api, &mut inv).await;
    for (name, arn) in &functions {
        destinations(api, &mut inv, name, arn).await;
    }
    for (bus, rule, rule_arn) in rules {
        targets(api, &mut inv, &bus, &rule, &rule_arn).await;
    }
    integrations(api, &mut inv, apis).await;
    subscriptions(api, &mut inv).await;
    let schedule_targets: Vec<(String, String)> = inv
        .nodes
        .values()
        .filter(|n| n.kind == Kind::Schedule)
        .filter_map(|n| n.details["Target"]["Arn"].as_str().map(|t| (n.id.clone(), t.to_owned())))
        .collect();
    for (id, target) in schedule_targets {
        let to = inv.resolve(&target);
        inv.edge(&id, &to, "schedule", "");
    }
    inv
}

/// Functions, with their dead-letter queues; returns (name, ARN).
async fn functions(api: Reader<'_>, inv: &mut Inventory) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &marker {
            Some(m) => format!("/2015-03-31/functions/?Marker={}", enc(m)),
            None => "/2015-03-31/functions/".to_owned(),
        };
        let page = match api.get_json("lambda", &path).await {
            Ok(p) => p,
            Err(e) => {
                inv.warn("Lambda ListFunctions", &e);
                break;
            }
        };
        for f in page["Functions"].as_array().into_iter().flatten() {
            let (Some(name), Some(arn)) = (f["FunctionName"].as_str(), f["FunctionArn"].as_str()) else {
                continue;
            };
            let details = json!({
                "arn": arn,
                "runtime": f["Runtime"],
                "handler": f["Handler"],
                "memorySize": f["MemorySize"],
                "timeout": f["Timeout"],
                "architectures": f["Architectures"],
                "lastModified": f["LastModified"],
            });
            inv.node(canonical(arn), Kind::Function, name, details);
            out.push((name.to_owned(), canonical(arn)));
        }
        for f in page["Functions"].as_array().into_iter().flatten() {
            if let (Some(arn), Some(dlq)) =
                (f["FunctionArn"].as_str(), f["DeadLetterConfig"]["TargetArn"].as_str())
            {
                let to = inv.resolve(dlq);
                inv.edge(&canonical(arn), &to, "dead-letter", "");
            }
        }
        marker = page["NextMarker"].as_str().filter(|m| !m.is_empty()).map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    out
}

async fn tables(api: Reader<'_>, inv: &mut Inventory) {
    let mut start: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let body = match &start {
            Some(s) => json!({ "ExclusiveStartTableName": s }),
            None => json!({}),
        };
        let page = match api.json("dynamodb", "1.0", "DynamoDB_20120810.ListTables", body).await {
            Ok(p) => p,
            Err(e) => return inv.warn("DynamoDB ListTables", &e),
        };
        for name in page["TableNames"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let arn = inv.arn("dynamodb", &format!("table/{name}"));
            inv.node(arn.clone(), Kind::Table, name, json!({ "arn": arn }));
        }
        start = page["LastEvaluatedTableName"].as_str().map(str::to_owned);
        if start.is_none() {
            return;
        }
    }
}

async fn queues(api: Reader<'_>, inv: &mut Inventory) {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut body = json!({ "MaxResults": 1000 });
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = match api.json("sqs", "1.0", "AmazonSQS.ListQueues", body).await {
            Ok(p) => p,
            Err(e) => return inv.warn("SQS ListQueues", &e),
        };
        for url in page["QueueUrls"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let name = url.rsplit('/').next().unwrap_or(url);
            let arn = inv.arn("sqs", name);
            inv.node(arn.clone(), Kind::Queue, name, json!({ "arn": arn, "url": url }));
        }
        token = page["NextToken"].as_str().map(str::to_owned);
        if token.is_none() {
            return;
        }
    }
}

/// Reads a query-protocol listing page by page; `each` gets every page's result element.
async fn query_pages(
    api: Reader<'_>,
    inv: &mut Inventory,
    (service, version, action): (&str, &str, &str),
    base: &[(&str, &str)],
    mut each: impl FnMut(&mut Inventory, &Element),
) {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut params: Vec<(&str, &str)> = base.to_vec();
        if let Some(t) = &token {
            params.push(("NextToken", t));
        }
        let doc = match api.query(service, version, action, &params).await {
            Ok(d) => d,
            Err(e) => return inv.warn(&format!("{service} {action}"), &e),
        };
        let result = doc.find_all(&format!("{action}Result")).into_iter().next().cloned().unwrap_or_default();
        each(inv, &result);
        token = result.text_of("NextToken").filter(|t| !t.is_empty()).map(str::to_owned);
        if token.is_none() {
            return;
        }
    }
}

async fn topics(api: Reader<'_>, inv: &mut Inventory) {
    query_pages(api, inv, ("sns", "2010-03-31", "ListTopics"), &[], |inv, result| {
        for arn in result.find_all("TopicArn") {
            let name = arn.text.rsplit(':').next().unwrap_or(&arn.text).to_owned();
            inv.node(arn.text.clone(), Kind::Topic, name, json!({ "arn": arn.text }));
        }
    })
    .await;
}

async fn subscriptions(api: Reader<'_>, inv: &mut Inventory) {
    query_pages(api, inv, ("sns", "2010-03-31", "ListSubscriptions"), &[], |inv, result| {
        for m in result.find_all("member") {
            let (Some(topic), Some(endpoint)) = (m.text_of("TopicArn"), m.text_of("Endpoint")) else {
                continue;
            };
            let protocol = m.text_of("Protocol").unwrap_or_default();
            let topic = inv.resolve(topic);
            let to = inv.resolve(endpoint);
            inv.edge(&topic, &to, "subscription", protocol);
        }
    })
    .await;
}

async fn stacks(api: Reader<'_>, inv: &mut Inventory) {
    let mut found: Vec<(String, String, String)> = Vec::new();
    query_pages(api, inv, ("cloudformation", "2010-05-15", "DescribeStacks"), &[], |_, result| {
        for m in result.find_all("member") {
            if let (Some(id), Some(name)) = (m.text_of("StackId"), m.text_of("StackName")) {
                found.push((
                    id.to_owned(),
                    name.to_owned(),
                    m.text_of("StackStatus").unwrap_or_default().to_owned(),
                ));
            }
        }
    })
    .await;
    for (id, name, status) in found {
        let mut resources = Vec::new();
        let mut physical = Vec::new();
        query_pages(
            api,
            inv,
            ("cloudformation", "2010-05-15", "ListStackResources"),
            &[("StackName", &name)],
            |_, r| {
                for m in r.find_all("member") {
                    let p = m.text_of("PhysicalResourceId").unwrap_or_default().to_owned();
                    resources.push(json!({
                        "logicalId": m.text_of("LogicalResourceId"),
                        "type": m.text_of("ResourceType"),
                        "physicalId": p,
                        "status": m.text_of("ResourceStatus"),
                    }));
                    if !p.is_empty() {
                        physical.push(p);
                    }
                }
            },
        )
        .await;
        inv.node(
            id.clone(),
            Kind::Stack,
            name.clone(),
            json!({ "arn": id, "status": status, "resources": resources }),
        );
        inv.stacks.push((name, physical));
    }
}

async fn buckets(api: Reader<'_>, inv: &mut Inventory) -> Vec<String> {
    let path = format!("/?bucket-region={}", enc(&inv.region));
    let doc = match api.get_xml("s3", &path).await {
        Ok(d) => d,
        Err(e) => {
            inv.warn("S3 ListBuckets", &e);
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for b in doc.find_all("Bucket") {
        let Some(name) = b.text_of("Name") else { continue };
        let arn = format!("arn:aws:s3:::{name}");
        inv.node(
            arn.clone(),
            Kind::Bucket,
            name,
            json!({ "arn": arn, "created": b.text_of("CreationDate") }),
        );
        names.push(name.to_owned());
    }
    names
}

async fn notifications(api: Reader<'_>, inv: &mut Inventory, bucket: &str) {
    let doc = match api.get_xml("s3", &format!("/{}?notification", enc(bucket))).await {
        Ok(d) => d,
        Err(e) => return inv.warn(&format!("S3 GetBucketNotificationConfiguration {bucket}"), &e),
    };
    let from = format!("arn:aws:s3:::{bucket}");
    let Some(config) = doc.child("NotificationConfiguration") else { return };
    let wirings = [
        ("CloudFunctionConfiguration", "CloudFunction"),
        ("QueueConfiguration", "Queue"),
        ("TopicConfiguration", "Topic"),
    ];
    for (element, target) in wirings {
        for c in config.all(element) {
            let Some(arn) = c.text_of(target) else { continue };
            let events: Vec<&str> = c.all("Event").map(|e| e.text.as_str()).collect();
            let to = inv.resolve(arn);
            inv.edge(&from, &to, "notification", events.join(", "));
        }
    }
    if config.child("EventBridgeConfiguration").is_some() {
        let bus = inv.arn("events", "event-bus/default");
        let to = inv.resolve(&bus);
        inv.edge(&from, &to, "notification", "all events");
    }
}

async fn mappings(api: Reader<'_>, inv: &mut Inventory) {
    let mut marker: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &marker {
            Some(m) => format!("/2015-03-31/event-source-mappings/?Marker={}", enc(m)),
            None => "/2015-03-31/event-source-mappings/".to_owned(),
        };
        let page = match api.get_json("lambda", &path).await {
            Ok(p) => p,
            Err(e) => return inv.warn("Lambda ListEventSourceMappings", &e),
        };
        for m in page["EventSourceMappings"].as_array().into_iter().flatten() {
            let (Some(source), Some(function)) = (m["EventSourceArn"].as_str(), m["FunctionArn"].as_str())
            else {
                continue;
            };
            let from = inv.resolve(source);
            let to = inv.resolve(function);
            let label = format!("batch {} · {}", m["BatchSize"], m["State"].as_str().unwrap_or("?"));
            inv.edge(&from, &to, "event source", label);
            if let Some(dest) = m["DestinationConfig"]["OnFailure"]["Destination"].as_str() {
                let d = inv.resolve(dest);
                inv.edge(&to, &d, "on failure", "");
            }
        }
        marker = page["NextMarker"].as_str().filter(|m| !m.is_empty()).map(str::to_owned);
        if marker.is_none() {
            return;
        }
    }
}

async fn destinations(api: Reader<'_>, inv: &mut Inventory, name: &str, arn: &str) {
    let path = format!("/2019-09-25/functions/{}/event-invoke-config/list", enc(name));
    let page = match api.get_json("lambda", &path).await {
        Ok(p) => p,
        Err(e) => return inv.warn(&format!("Lambda ListFunctionEventInvokeConfigs {name}"), &e),
    };
    for c in page["FunctionEventInvokeConfigs"].as_array().into_iter().flatten() {
        for (key, kind) in [("OnSuccess", "on success"), ("OnFailure", "on failure")] {
            if let Some(dest) = c["DestinationConfig"][key]["Destination"].as_str() {
                let to = inv.resolve(dest);
                inv.edge(arn, &to, kind, "async");
            }
        }
    }
}

/// Buses and their rules; returns (bus, rule, rule ARN) for reading targets.
async fn buses_and_rules(api: Reader<'_>, inv: &mut Inventory) -> Vec<(String, String, String)> {
    let buses = match api.json("events", "1.1", "AWSEvents.ListEventBuses", json!({})).await {
        Ok(p) => p,
        Err(e) => {
            inv.warn("EventBridge ListEventBuses", &e);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for bus in buses["EventBuses"].as_array().into_iter().flatten() {
        let (Some(name), Some(arn)) = (bus["Name"].as_str(), bus["Arn"].as_str()) else { continue };
        inv.node(arn.to_owned(), Kind::Bus, name, json!({ "arn": arn }));
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut body = json!({ "EventBusName": name });
            if let Some(t) = &token {
                body["NextToken"] = json!(t);
            }
            let page = match api.json("events", "1.1", "AWSEvents.ListRules", body).await {
                Ok(p) => p,
                Err(e) => {
                    inv.warn(&format!("EventBridge ListRules {name}"), &e);
                    break;
                }
            };
            for r in page["Rules"].as_array().into_iter().flatten() {
                let (Some(rule), Some(rule_arn)) = (r["Name"].as_str(), r["Arn"].as_str()) else { continue };
                let details = json!({
                    "arn": rule_arn,
                    "eventPattern": r["EventPattern"],
                    "scheduleExpression": r["ScheduleExpression"],
                    "state": r["State"],
                });
                inv.node(rule_arn.to_owned(), Kind::Rule, rule, details);
                inv.edge(arn, rule_arn, "rule", "");
                out.push((name.to_owned(), rule.to_owned(), rule_arn.to_owned()));
            }
            token = page["NextToken"].as_str().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    out
}

async fn targets(api: Reader<'_>, inv: &mut Inventory, bus: &str, rule: &str, rule_arn: &str) {
    let body = json!({ "Rule": rule, "EventBusName": bus });
    let page = match api.json("events", "1.1", "AWSEvents.ListTargetsByRule", body).await {
        Ok(p) => p,
        Err(e) => return inv.warn(&format!("EventBridge ListTargetsByRule {rule}"), &e),
    };
    for t in page["Targets"].as_array().into_iter().flatten() {
        if let Some(arn) = t["Arn"].as_str() {
            let to = inv.resolve(arn);
            inv.edge(rule_arn, &to, "target", t["Id"].as_str().unwrap_or_default());
        }
    }
}

/// An API Gateway API: REST (`v1`) or HTTP (`v2`), by id and node id.
struct ApiRef {
    id: String,
    node: String,
    v2: bool,
}

async fn apis(api: Reader<'_>, inv: &mut Inventory) -> Vec<ApiRef> {
    let mut out = Vec::new();
    match api.get_json("apigateway", "/restapis?limit=500").await {
        Ok(page) => {
            for a in page["item"].as_array().into_iter().flatten() {
                let Some(id) = a["id"].as_str() else { continue };
                let node = format!("arn:aws:apigateway:{}::/restapis/{id}", inv.region);
                let name = a["name"].as_str().unwrap_or(id);
                inv.node(node.clone(), Kind::Api, name, json!({ "arn": node, "id": id, "type": "REST" }));
                out.push(ApiRef { id: id.to_owned(), node, v2: false });
            }
        }
        Err(e) => inv.warn("API Gateway GetRestApis", &e),
    }
    match api.get_json("apigateway", "/v2/apis").await {
        Ok(page) => {
            for a in page["items"].as_array().into_iter().flatten() {
                let Some(id) = a["apiId"].as_str() else { continue };
                let node = format!("arn:aws:apigateway:{}::/apis/{id}", inv.region);
                let name = a["name"].as_str().unwrap_or(id);
                let details =
                    json!({ "arn": node, "id": id, "type": a["protocolType"], "endpoint": a["apiEndpoint"] });
                inv.node(node.clone(), Kind::Api, name, details);
                out.push(ApiRef { id: id.to_owned(), node, v2: true });
            }
        }
        Err(e) => inv.warn("API Gateway GetApis", &e),
    }
    out
}

async fn integrations(api: Reader<'_>, inv: &mut Inventory, apis: Vec<ApiRef>) {
    for a in apis {
        if a.v2 {
            http_api_routes(api, inv, &a).await;
        } else {
            rest_api_routes(api, inv, &a).await;
        }
    }
}

async fn rest_api_routes(api: Reader<'_>, inv: &mut Inventory, a: &ApiRef) {
    let path = format!("/restapis/{}/resources?embed=methods&limit=500", enc(&a.id));
    let page = match api.get_json("apigateway", &path).await {
        Ok(p) => p,
        Err(e) => return inv.warn(&format!("API Gateway GetResources {}", a.id), &e),
    };
    for r in page["item"].as_array().into_iter().flatten() {
        let (Some(rid), Some(rpath)) = (r["id"].as_str(), r["path"].as_str()) else { continue };
        for (method, m) in r["resourceMethods"].as_object().into_iter().flatten() {
            let route = format!("{}/resources/{rid}/methods/{method}", a.node);
            let key = format!("{method} {rpath}");
            let integration = &m["methodIntegration"];
            let details = json!({ "api": a.id, "route": key, "integration": integration });
            inv.node(route.clone(), Kind::Route, key, details);
            inv.edge(&a.node, &route, "route", "");
            if let Some(f) = integration["uri"].as_str().and_then(integration_function) {
                let to = inv.resolve(&f);
                inv.edge(&route, &to, "integration", integration["type"].as_str().unwrap_or_default());
            }
        }
    }
}

async fn http_api_routes(api: Reader<'_>, inv: &mut Inventory, a: &ApiRef) {
    let integrations =
        match api.get_json("apigateway", &format!("/v2/apis/{}/integrations", enc(&a.id))).await {
            Ok(p) => p,
            Err(e) => return inv.warn(&format!("API Gateway GetIntegrations {}", a.id), &e),
        };
    let by_id: BTreeMap<String, Value> = integrations["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["integrationId"].as_str().map(|id| (id.to_owned(), i.clone())))
        .collect();
    let routes = match api.get_json("apigateway", &format!("/v2/apis/{}/routes", enc(&a.id))).await {
        Ok(p) => p,
        Err(e) => return inv.warn(&format!("API Gateway GetRoutes {}", a.id), &e),
    };
    for r in routes["items"].as_array().into_iter().flatten() {
        let (Some(rid), Some(key)) = (r["routeId"].as_str(), r["routeKey"].as_str()) else { continue };
        let route = format!("{}/routes/{rid}", a.node);
        let integration =
            r["target"].as_str().and_then(|t| t.strip_prefix("integrations/")).and_then(|id| by_id.get(id));
        let details = json!({ "api": a.id, "route": key, "integration": integration });
        inv.node(route.clone(), Kind::Route, key, details);
        inv.edge(&a.node, &route, "route", "");
        if let Some(i) = integration
            && let Some(f) = i["integrationUri"].as_str().and_then(integration_function)
        {
            let to = inv.resolve(&f);
            inv.edge(&route, &to, "integration", i["integrationType"].as_str().unwrap_or_default());
        }
    }
}

async fn schedules(api: Reader<'_>, inv: &mut Inventory) {
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let path = match &token {
            Some(t) => format!("/schedules?MaxResults=100&NextToken={}", enc(t)),
            None => "/schedules?MaxResults=100".to_owned(),
        };
        let page = match api.get_json("scheduler", &path).await {
            Ok(p) => p,
            Err(e) => return inv.warn("Scheduler ListSchedules", &e),
        };
        for s in page["Schedules"].as_array().into_iter().flatten() {
            let (Some(arn), Some(name)) = (s["Arn"].as_str(), s["Name"].as_str()) else { continue };
            let details =
                json!({ "arn": arn, "group": s["GroupName"], "state": s["State"], "Target": s["Target"] });
            inv.node(arn.to_owned(), Kind::Schedule, name, details);
        }
        token = page["NextToken"].as_str().map(str::to_owned);
        if token.is_none() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ids() {
        assert_eq!(
            canonical("arn:aws:lambda:us-east-1:000000000000:function:f:live"),
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert_eq!(
            canonical("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024-01-01T00:00:00.000"),
            "arn:aws:dynamodb:us-east-1:000000000000:table/t"
        );
        assert_eq!(
            integration_function(
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations"
            )
            .as_deref(),
            Some("arn:aws:lambda:us-east-1:000000000000:function:f")
        );
        assert_eq!(integration_function("http://example.com/x"), None);
    }

    #[test]
    fn writes_seen_in_traces_join_functions_to_what_they_write() {
        let mut inv =
            Inventory { account: "000000000000".into(), region: "us-east-1".into(), ..Inventory::default() };
        let f = "arn:aws:lambda:us-east-1:000000000000:function:resize";
        inv.node(f.into(), Kind::Function, "resize", json!({}));
        let table = inv.arn("dynamodb", "table/images");
        let bus = inv.arn("events", "event-bus/app");
        inv.node(table.clone(), Kind::Table, "images", json!({}));
        inv.node(bus.clone(), Kind::Bus, "app", json!({}));
        inv.node("arn:aws:s3:::out".into(), Kind::Bucket, "out", json!({}));
        inv.node("arn:aws:s3:::in".into(), Kind::Bucket, "in", json!({}));
        inv.observed(&format!("{f}:live"), "dynamodb", "PutItem", "images");
        inv.observed(f, "events", "PutEvents", "app");
        inv.observed(f, "s3", "PutObject", "out/a/b.png");
        inv.observed(f, "s3", "GetObject", "in/a.png");
        inv.observed(f, "dynamodb", "PutItem", "not-a-table");
        let g = inv.graph();
        let writes: Vec<&str> =
            g.edges.iter().filter(|e| e.kind == "writes").map(|e| e.to.as_str()).collect();
        assert_eq!(
            writes,
            [
                "arn:aws:dynamodb:us-east-1:000000000000:table/images",
                "arn:aws:events:us-east-1:000000000000:event-bus/app",
                "arn:aws:s3:::out"
            ]
        );
    }
}
