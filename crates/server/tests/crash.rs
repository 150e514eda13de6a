//! The crash harness: a mixed load through the official SDKs while the server is killed with
//! SIGKILL at random moments and restarted on the same data dir; afterwards every write the client
//! saw acknowledged must be there, whole, and every acknowledged message, event and asynchronous
//! invoke must have been delivered at least once.
//!
//! `cargo test -p server --test crash` runs the short form (5 rounds). `NIMBUS_CRASH_ROUNDS=200`
//! runs the long form; `NIMBUS_CRASH_SEED=<n>` replays the kill schedule of a printed seed.

#[allow(dead_code)]
#[path = "it/harness.rs"]
mod harness;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, Put, ScalarAttributeType, TransactWriteItem,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{DestinationConfig, FunctionCode, InvocationType, OnSuccess, Runtime};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;

use harness::Server;

const REGION: &str = "us-east-1";
const BUCKET: &str = "crash";
const TABLE: &str = "crash";
const GSI: &str = "by-g";
const FUNCTION: &str = "crash-fn";
const DIRECT_QUEUE: &str = "crash-direct";
const EVENTS_QUEUE: &str = "crash-events";
const LAMBDA_QUEUE: &str = "crash-lambda";
const SOURCE: &str = "crash.test";
/// About a third of the objects are this big, so a kill often lands while a body streams in.
const BIG: usize = 1 << 20;

const PY_FUNCTION: &str = r#"
def handler(event, context):
    return {"id": event.get("id")}
"#;

/// SplitMix64: a tiny seeded generator, so a printed seed replays the same kill schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The bytes of an object, derived from its key so the check needs no copy of them.
fn body_of(key: &str, len: usize) -> Vec<u8> {
    let seed =
        key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let mut rng = Rng(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// What the clients tried and what they saw acknowledged, by id.
#[derive(Default)]
struct Ledger {
    /// key → length, for every PutObject sent.
    objects_tried: BTreeMap<String, usize>,
    objects_acked: BTreeSet<String>,
    items_tried: BTreeSet<String>,
    items_acked: BTreeSet<String>,
    /// Transaction ids; each wrote `t-{id}-a`, `-b` and `-c`.
    txs_tried: BTreeSet<String>,
    txs_acked: BTreeSet<String>,
    messages_acked: BTreeSet<String>,
    events_acked: BTreeSet<String>,
    invokes_acked: BTreeSet<String>,
    /// Errors seen while the server was known to be up: each one is a failure.
    unexpected: Vec<String>,
}

type Shared = Arc<Mutex<Ledger>>;

fn ledger(shared: &Shared) -> std::sync::MutexGuard<'_, Ledger> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn item_key(id: &str) -> String {
    format!("i-{id}")
}

fn tx_keys(id: &str) -> [String; 3] {
    [format!("t-{id}-a"), format!("t-{id}-b"), format!("t-{id}-c")]
}

/// Clients for the load: no retries (a request to a killed server fails at once and is simply not
/// acknowledged) and a bounded time per operation, so a hung server fails the run.
async fn load_config(server: &Server) -> SdkConfig {
    server
        .sdk_config("test", REGION)
        .await
        .into_builder()
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_secs(20)).build())
        .build()
}

struct Clients {
    s3: aws_sdk_s3::Client,
    ddb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    lambda: aws_sdk_lambda::Client,
}

impl Clients {
    fn new(config: &SdkConfig) -> Clients {
        let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(true).build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            ddb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
        }
    }
}

fn zip_of(name: &str, body: &str) -> Vec<u8> {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    w.start_file(name, opts).expect("zip entry");
    w.write_all(body.as_bytes()).expect("zip write");
    w.finish().expect("zip finish").into_inner()
}

/// The resources the load writes to: a bucket, a table with a GSI, three queues, a rule sending
/// to one of them and a function whose successes go to another.
async fn set_up(server: &Server) {
    let config = server.sdk_config("test", REGION).await;
    let c = Clients::new(&config);
    c.s3.create_bucket().bucket(BUCKET).send().await.expect("create bucket");
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("key")
    };
    c.ddb
        .create_table()
        .table_name(TABLE)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("g"))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(GSI)
                .key_schema(key("g", KeyType::Hash))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("gsi"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table");
    c.ddb
        .wait_until_table_exists()
        .table_name(TABLE)
        .wait(Duration::from_secs(20))
        .await
        .expect("table active");
    for name in [DIRECT_QUEUE, EVENTS_QUEUE, LAMBDA_QUEUE] {
        harness::create_queue(&c.sqs, name).await;
    }
    c.events
        .put_rule()
        .name("crash-rule")
        .event_pattern(format!(r#"{{"source":["{SOURCE}"]}}"#))
        .send()
        .await
        .expect("put rule");
    c.events
        .put_targets()
        .rule("crash-rule")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(format!("arn:aws:sqs:{REGION}:000000000000:{EVENTS_QUEUE}"))
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("put targets");
    c.lambda
        .create_function()
        .function_name(FUNCTION)
        .runtime(Runtime::Python312)
        .role("arn:aws:iam::000000000000:role/lambda-role")
        .handler("app.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip_of("app.py", PY_FUNCTION))).build())
        .send()
        .await
        .expect("create function");
    c.lambda
        .put_function_event_invoke_config()
        .function_name(FUNCTION)
        .destination_config(
            DestinationConfig::builder()
                .on_success(
                    OnSuccess::builder()
                        .destination(format!("arn:aws:sqs:{REGION}:000000000000:{LAMBDA_QUEUE}"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("destination config");
    // One synchronous invoke proves the function runs before the load relies on it.
    let out = c
        .lambda
        .invoke()
        .function_name(FUNCTION)
        .payload(Blob::new(r#"{"id":"warm-up"}"#))
        .send()
        .await
        .expect("warm-up invoke");
    assert_eq!(out.function_error(), None, "warm-up invoke failed");
}

/// Runs `op` with ids `{round}-{n}` until the server goes away. `op` notes in the ledger what it
/// sends and, once answered, what was acknowledged; its first error ends the task, and an error
/// while the server is known to be up is a failure of its own.
async fn drive<F, Fut>(round: u64, kind: &'static str, killed: Arc<AtomicBool>, shared: Shared, mut op: F)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut n = 0_u64;
    loop {
        if killed.load(Ordering::SeqCst) {
            return;
        }
        let id = format!("{round}-{n}");
        n += 1;
        if let Err(e) = op(id.clone()).await {
            if !killed.load(Ordering::SeqCst) {
                ledger(&shared).unexpected.push(format!("{kind} {id}: {e}"));
            }
            return;
        }
    }
}

fn spawn_load(
    round: u64,
    c: &Clients,
    direct_url: &str,
    killed: &Arc<AtomicBool>,
    shared: &Shared,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for worker in 0..2 {
        let (s3, shared2) = (c.s3.clone(), shared.clone());
        tasks.push(tokio::spawn(drive(round, "PutObject", killed.clone(), shared.clone(), move |id| {
            let (s3, shared) = (s3.clone(), shared2.clone());
            async move {
                let key = format!("o-{worker}-{id}");
                let len = if id.ends_with(['0', '4', '8']) { BIG + id.len() } else { 100 + id.len() * 7 };
                ledger(&shared).objects_tried.insert(key.clone(), len);
                s3.put_object()
                    .bucket(BUCKET)
                    .key(&key)
                    .body(ByteStream::from(body_of(&key, len)))
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                ledger(&shared).objects_acked.insert(key);
                Ok(())
            }
        })));
    }
    let (ddb, shared2) = (c.ddb.clone(), shared.clone());
    tasks.push(tokio::spawn(drive(round, "PutItem", killed.clone(), shared.clone(), move |id| {
        let (ddb, shared) = (ddb.clone(), shared2.clone());
        async move {
            let pk = item_key(&id);
            ledger(&shared).items_tried.insert(pk.clone());
            ddb.put_item()
                .table_name(TABLE)
                .item("pk", s(&pk))
                .item("g", s(&format!("G-{pk}")))
                .item("v", s(&id))
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            ledger(&shared).items_acked.insert(pk);
            Ok(())
        }
    })));
    let (ddb, shared2) = (c.ddb.clone(), shared.clone());
    tasks.push(tokio::spawn(drive(round, "TransactWriteItems", killed.clone(), shared.clone(), move |id| {
        let (ddb, shared) = (ddb.clone(), shared2.clone());
        async move {
            ledger(&shared).txs_tried.insert(id.clone());
            let mut call = ddb.transact_write_items();
            for pk in tx_keys(&id) {
                let put = Put::builder()
                    .table_name(TABLE)
                    .item("pk", s(&pk))
                    .item("g", s(&format!("G-{pk}")))
                    .item("v", s(&id))
                    .build()
                    .map_err(|e| e.to_string())?;
                call = call.transact_items(TransactWriteItem::builder().put(put).build());
            }
            call.send().await.map_err(|e| format!("{e:?}"))?;
            ledger(&shared).txs_acked.insert(id);
            Ok(())
        }
    })));
    let (sqs, shared2) = (c.sqs.clone(), shared.clone());
    let url = direct_url.to_owned();
    tasks.push(tokio::spawn(drive(round, "SendMessage", killed.clone(), shared.clone(), move |id| {
        let (sqs, shared, url) = (sqs.clone(), shared2.clone(), url.clone());
        async move {
            sqs.send_message()
                .queue_url(url)
                .message_body(format!("m-{id}"))
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            ledger(&shared).messages_acked.insert(format!("m-{id}"));
            Ok(())
        }
    })));
    let (events, shared2) = (c.events.clone(), shared.clone());
    tasks.push(tokio::spawn(drive(round, "PutEvents", killed.clone(), shared.clone(), move |id| {
        let (events, shared) = (events.clone(), shared2.clone());
        async move {
            let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .source(SOURCE)
                .detail_type("Write")
                .detail(format!(r#"{{"id":"e-{id}"}}"#))
                .build();
            let out = events.put_events().entries(entry).send().await.map_err(|e| format!("{e:?}"))?;
            if out.failed_entry_count() != 0 {
                return Err(format!("failed entries: {:?}", out.entries()));
            }
            ledger(&shared).events_acked.insert(format!("e-{id}"));
            Ok(())
        }
    })));
    let (lambda, shared2) = (c.lambda.clone(), shared.clone());
    tasks.push(tokio::spawn(drive(round, "Invoke", killed.clone(), shared.clone(), move |id| {
        let (lambda, shared) = (lambda.clone(), shared2.clone());
        async move {
            let out = lambda
                .invoke()
                .function_name(FUNCTION)
                .invocation_type(InvocationType::Event)
                .payload(Blob::new(format!(r#"{{"id":"l-{id}"}}"#)))
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            if out.status_code() != 202 {
                return Err(format!("status {}", out.status_code()));
            }
            ledger(&shared).invokes_acked.insert(format!("l-{id}"));
            // Each invoke runs a Python process: keep the backlog small enough to drain quickly.
            tokio::time::sleep(Duration::from_millis(25)).await;
            Ok(())
        }
    })));
    tasks
}

/// Receives and deletes everything on `queue` until every id in `want` was seen (by `id_of` a
/// message body) or `within` passed; returns the ids never seen.
async fn drain(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    want: &BTreeSet<String>,
    within: Duration,
    id_of: fn(&str) -> Option<String>,
) -> BTreeSet<String> {
    let url =
        sqs.get_queue_url().queue_name(queue).send().await.expect("queue url").queue_url.unwrap_or_default();
    let mut missing = want.clone();
    let deadline = Instant::now() + within;
    while !missing.is_empty() && Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        for m in out.messages() {
            if let Some(id) = m.body().and_then(id_of) {
                missing.remove(&id);
            }
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message().queue_url(&url).receipt_handle(handle).send().await.expect("delete");
            }
        }
    }
    missing
}

fn json_at(body: &str, path: &[&str]) -> Option<String> {
    let mut v: Value = serde_json::from_str(body).ok()?;
    for p in path {
        v = v.get(p)?.clone();
    }
    v.as_str().map(str::to_owned)
}

/// Every base item and every GSI entry, by `pk`, with its `g`.
async fn scan_all(ddb: &aws_sdk_dynamodb::Client, index: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(TABLE)
            .set_index_name(index.map(str::to_owned))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let get = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            out.insert(get("pk"), get("g"));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return out;
        }
    }
}

/// Checks everything the ledger says against the running server; returns the failures.
async fn check(server: &Server, led: &Ledger) -> Vec<String> {
    let config = server.sdk_config("test", REGION).await;
    let c = Clients::new(&config);
    let mut failures = Vec::new();

    for (key, len) in &led.objects_tried {
        let acked = led.objects_acked.contains(key);
        match c.s3.get_object().bucket(BUCKET).key(key).send().await {
            Ok(out) => {
                let got = out.body.collect().await.expect("object body").into_bytes();
                if got.as_ref() != body_of(key, *len).as_slice() {
                    failures.push(format!(
                        "S3 {key}: body of {} bytes differs from the {len} bytes sent",
                        got.len()
                    ));
                }
            }
            Err(e) => {
                let e = e.into_service_error();
                if !e.is_no_such_key() {
                    failures.push(format!("S3 {key}: {e:?}"));
                } else if acked {
                    failures.push(format!("S3 {key}: acknowledged object is gone"));
                }
            }
        }
    }

    let base = scan_all(&c.ddb, None).await;
    let index = scan_all(&c.ddb, Some(GSI)).await;
    if base != index {
        let only_base: Vec<_> = base.keys().filter(|k| !index.contains_key(*k)).take(10).collect();
        let only_index: Vec<_> = index.keys().filter(|k| !base.contains_key(*k)).take(10).collect();
        failures.push(format!(
            "DynamoDB: table and GSI disagree (items without an index entry: {only_base:?}; index entries \
             without an item: {only_index:?})"
        ));
    }
    for pk in &led.items_acked {
        if !base.contains_key(pk) {
            failures.push(format!("DynamoDB: acknowledged item {pk} is gone"));
        }
    }
    for id in &led.txs_tried {
        let present = tx_keys(id).iter().filter(|k| base.contains_key(*k)).count();
        if present != 0 && present != 3 {
            failures.push(format!("DynamoDB: transaction {id} is partly applied ({present} of 3 items)"));
        } else if present == 0 && led.txs_acked.contains(id) {
            failures.push(format!("DynamoDB: acknowledged transaction {id} is gone"));
        }
    }
    // A sample of Queries on the GSI, the read path a client uses.
    let tx_items = led.txs_acked.iter().step_by(7).map(|id| tx_keys(id)[1].clone());
    for pk in led.items_acked.iter().step_by(7).cloned().chain(tx_items) {
        let out = c
            .ddb
            .query()
            .table_name(TABLE)
            .index_name(GSI)
            .key_condition_expression("g = :g")
            .expression_attribute_values(":g", s(&format!("G-{pk}")))
            .send()
            .await
            .expect("query gsi");
        let found: Vec<_> =
            out.items().iter().filter_map(|i| i.get("pk").and_then(|v| v.as_s().ok())).collect();
        if found != [&pk] {
            failures.push(format!("DynamoDB: Query on {GSI} for {pk} found {found:?}"));
        }
    }

    let within = Duration::from_secs(60);
    let (messages, events, invokes) = tokio::join!(
        drain(&c.sqs, DIRECT_QUEUE, &led.messages_acked, within, |b| Some(b.to_owned())),
        drain(&c.sqs, EVENTS_QUEUE, &led.events_acked, within, |b| json_at(b, &["detail", "id"])),
        drain(&c.sqs, LAMBDA_QUEUE, &led.invokes_acked, within, |b| json_at(b, &["requestPayload", "id"])),
    );
    for (what, missing) in [("SQS message", messages), ("event", events), ("async invoke", invokes)] {
        if !missing.is_empty() {
            let sample: Vec<_> = missing.iter().take(10).collect();
            failures.push(format!("{} acknowledged {what}s never delivered, e.g. {sample:?}", missing.len()));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_sigkill() {
    let rounds = env_u64("NIMBUS_CRASH_ROUNDS").unwrap_or(5).max(1);
    let seed = env_u64("NIMBUS_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    eprintln!("crash harness: {rounds} rounds, NIMBUS_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let data = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start(data.path());
    set_up(&server).await;

    let direct_url = harness::create_queue(&server.sqs("test", REGION).await, DIRECT_QUEUE).await;
    let shared: Shared = Arc::default();
    for round in 0..rounds {
        let clients = Clients::new(&load_config(&server).await);
        let killed = Arc::new(AtomicBool::new(false));
        let tasks = spawn_load(round, &clients, &direct_url, &killed, &shared);
        // Sometimes a kill right after start-up (recovery interrupted), mostly mid-load.
        let delay = if rng.range(0, 8) == 0 { rng.range(0, 100) } else { rng.range(150, 1500) };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        killed.store(true, Ordering::SeqCst);
        server.kill9();
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .expect("a client hung after the kill")
                .expect("load task panicked");
        }
        // `restart` asserts that the server printed `Ready.` in time: no manual repair.
        server.restart();
        let led = ledger(&shared);
        eprintln!(
            "round {round}: killed after {delay} ms; acknowledged so far: {} objects, {} items, {} transactions, {} \
             messages, {} events, {} invokes",
            led.objects_acked.len(),
            led.items_acked.len(),
            led.txs_acked.len(),
            led.messages_acked.len(),
            led.events_acked.len(),
            led.invokes_acked.len()
        );
    }

    let led = std::mem::take(&mut *ledger(&shared));
    assert!(led.unexpected.is_empty(), "errors while the server was up (seed {seed}): {:#?}", led.unexpected);
    let failures = check(&server, &led).await;
    assert!(failures.is_empty(), "crash harness failed with NIMBUS_CRASH_SEED={seed}: {failures:#?}");
}
