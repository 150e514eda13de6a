// The console in a real headless Chromium: the graph is drawn from the seeded application
// (seed.py) and the deployed image pipeline (bucket → queue → resize → table, bucket and bus →
// rule → audit), clicking a node shows its details, the Functions tab lists cold and warm
// invocations with their triggers and updates live, the Traces tab draws an upload's trace
// through every hop, the Cold starts tab analyses provisioned concurrency, and the Cost tab
// shows the API's numbers. Screenshots of each tab at 1280×800 go to $SCREENSHOTS (default
// ./screenshots). Run through run.sh, which starts Nimbus, seeds it and deploys the pipeline.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.NIMBUS_URL ?? "http://127.0.0.1:4566";
const SHOTS = process.env.SCREENSHOTS ?? new URL("./screenshots/", import.meta.url).pathname;
const FN = (name) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

let browser, page, profile;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  // A fresh profile each run: nothing cached from an earlier one.
  profile = mkdtempSync(join(tmpdir(), "nimbus-console-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1280, height: 800 },
  });
  page = browser.pages()[0] ?? await browser.newPage();
  page.on("pageerror", (e) => { throw e; });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function api(path) {
  const resp = await fetch(`${BASE}/_nimbus/api/${path}`);
  assert.equal(resp.status, 200);
  return resp.json();
}

test("the graph shows the application's wiring, left to right, without overlaps", async () => {
  await page.goto(`${BASE}/_nimbus/`);
  await page.waitForSelector('#graph[data-state="ready"] svg .node[data-kind="function"]');
  const nodes = await page.$$eval("svg .node", (gs) => gs.map((g) => {
    const box = g.getBoundingClientRect();
    const texts = [...g.querySelectorAll("text")].map((t) => ({ w: t.getComputedTextLength(), s: t.textContent }));
    return { id: g.dataset.id, kind: g.dataset.kind, x: box.x, y: box.y, w: box.width, h: box.height, texts };
  }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const name of ["resize-image", "process-job", "on-image-processed", "api-handler", "notify"]) {
    assert.ok(byId.has(FN(name)), `function ${name} drawn`);
  }
  for (const [id, kind] of [
    ["arn:aws:s3:::uploads", "bucket"],
    ["arn:aws:sqs:us-east-1:000000000000:jobs", "queue"],
    ["arn:aws:events:us-east-1:000000000000:rule/image-processed", "rule"],
    ["arn:aws:sns:us-east-1:000000000000:alerts", "topic"],
  ]) {
    assert.equal(byId.get(id)?.kind, kind, id);
  }
  assert.ok(nodes.some((n) => n.kind === "route"), "an API route is drawn");
  assert.ok(nodes.some((n) => n.kind === "schedule"), "the schedule is drawn");
  // Sources left of the functions they trigger.
  assert.ok(byId.get("arn:aws:s3:::uploads").x < byId.get(FN("resize-image")).x);
  assert.ok(byId.get("arn:aws:sqs:us-east-1:000000000000:jobs").x < byId.get(FN("process-job")).x);
  // The wirings are drawn.
  for (const [from, to] of [
    ["arn:aws:s3:::uploads", FN("resize-image")],
    ["arn:aws:sqs:us-east-1:000000000000:jobs", FN("process-job")],
    ["arn:aws:events:us-east-1:000000000000:rule/image-processed", FN("on-image-processed")],
    ["arn:aws:sns:us-east-1:000000000000:alerts", FN("notify")],
  ]) {
    assert.equal(await page.locator(`path[data-edge="${from} ${to}"]`).count(), 1, `${from} → ${to}`);
  }
  // Clean: no two boxes overlap, and every label fits inside its box.
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
      assert.ok(apart, `${a.id} overlaps ${b.id}`);
    }
    for (const t of a.texts) assert.ok(t.w <= a.w - 16, `label "${t.s}" overflows ${a.id}`);
  }
  await page.screenshot({ path: `${SHOTS}/graph.png` });

  // The image pipeline: bucket → queue → resize → table, processed bucket and bus → rule → audit.
  const graph = await api("graph");
  const named = (kind, prefix) => {
    const n = graph.nodes.find((x) => x.kind === kind && x.name.startsWith(prefix));
    assert.ok(n, `${kind} ${prefix}…`);
    return n.id;
  };
  const uploads = "arn:aws:s3:::images-uploads-000000000000";
  const queue = named("queue", "images-UploadQueue");
  const resize = named("function", "images-ResizeFunction");
  const audit = named("function", "images-AuditFunction");
  const bus = named("bus", "images-events");
  const rule = graph.edges.find((e) => e.from === bus && e.kind === "rule")?.to;
  for (const [from, to, kind] of [
    [uploads, queue, "notification"],
    [queue, resize, "event source"],
    [resize, named("table", "images-ImagesTable"), "writes"],
    [resize, "arn:aws:s3:::images-processed-000000000000", "writes"],
    [resize, bus, "writes"],
    [bus, rule, "rule"],
    [rule, audit, "target"],
  ]) {
    assert.ok(graph.edges.some((e) => e.from === from && e.to === to && e.kind === kind), `${from} → ${to} (${kind})`);
    assert.equal(await page.locator(`path[data-edge="${from} ${to}"]`).count(), 1, `${from} → ${to} drawn`);
  }
  const x = (id) => byId.get(id)?.x;
  assert.ok(x(uploads) < x(queue) && x(queue) < x(resize) && x(resize) < x(bus) && x(bus) < x(rule) && x(rule) < x(audit),
    "the pipeline reads left to right");

  await page.locator(`svg .node[data-id="arn:aws:s3:::uploads"]`).click();
  const details = page.locator("#details");
  await details.locator("h2", { hasText: "uploads" }).waitFor();
  assert.match(await details.innerText(), /notification.*resize-image/);
  await page.screenshot({ path: `${SHOTS}/graph-selected.png` });
});

test("the functions tab lists invocations, cold and warm, with their logs", async () => {
  await page.click('#tabs button[data-tab="functions"]');
  await page.locator('#function-table tr[data-function="resize-image"]').click();
  await page.waitForSelector("#invocations details .badge.cold");
  const summaries = await page.$$eval("#invocations details summary", (s) => s.map((x) => x.textContent));
  assert.equal(summaries.length, 3, summaries.join("\n"));
  assert.equal(summaries.filter((s) => s.startsWith("cold")).length, 1, summaries.join("\n"));
  assert.equal(summaries.filter((s) => s.startsWith("warm")).length, 2, summaries.join("\n"));
  // Each names what invoked it: the upload's notification, then two direct invokes.
  const triggers = await page.$$eval("#invocations details .badge.trigger", (b) => b.map((x) => x.textContent));
  assert.deepEqual(triggers, ["Invoke", "Invoke", "S3"]);
  await page.locator("#invocations details summary").first().click();
  assert.match(await page.locator("#invocations details pre").first().innerText(), /REPORT RequestId: /);
  await page.screenshot({ path: `${SHOTS}/functions.png` });

  // Live: an invocation made now shows up without a reload.
  await page.waitForSelector('#live-state[data-ok="yes"]');
  const resp = await fetch(`${BASE}/2015-03-31/functions/resize-image/invocations`, { method: "POST", body: "{}" });
  assert.equal(resp.status, 200);
  await page.locator("#invocations h2", { hasText: "resize-image: 4 invocations" }).waitFor({ timeout: 15000 });
});

test("one pipeline upload's trace shows every hop, in order", async () => {
  const list = await api("traces?limit=200");
  const uploads = list.traces.filter((t) => t.root.operation === "PutObject" && t.root.resource.startsWith("images-uploads"));
  assert.equal(uploads.length, 3, JSON.stringify(list.traces.map((t) => t.root)));
  // The queue hands resize a batch: the invocation continues the trace of one upload of it.
  const traces = await Promise.all(uploads.map((t) => api(`traces/${t.id}`)));
  const trace = traces.find((t) => t.spans.some((s) => s.service === "lambda" && /AuditFunction/.test(s.resource)));
  assert.ok(trace, traces.map((t) => t.spans.length).join(", "));
  const upload = uploads.find((t) => t.id === trace.id);
  const hops = trace.spans.map((s) => `${s.service} ${s.operation} ${s.resource.split(/[:/]/).pop()}`);
  // Each hop is looked for after the one before it.
  let from = -1;
  const at = (re) => { const i = hops.findIndex((h, k) => k > from && re.test(h)); if (i >= 0) from = i; return i; };
  const order = [/^s3 PutObject /, /^sqs SendMessage images-UploadQueue/, /^lambda Invoke images-ResizeFunction/, /^s3 GetObject /, /^s3 PutObject /, /^dynamodb PutItem /, /^events PutEvents /, /^lambda Invoke images-AuditFunction/];
  const found = order.map(at);
  assert.ok(found.every((i) => i >= 0), `missing or out of order:\n${hops.join("\n")}`);
  await page.click('#tabs button[data-tab="traces"]');
  await page.locator(`#trace-table tr[data-trace="${upload.id}"]`).click();
  await page.locator("#waterfall h2", { hasText: trace.id }).waitFor();
  assert.equal(await page.locator("#waterfall .span-row").count(), trace.spans.length);
  await page.screenshot({ path: `${SHOTS}/trace-pipeline.png` });
});

test("the traces tab follows the upload into its function, one row per hop, in time order", async () => {
  const list = await api("traces?limit=200");
  const upload = list.traces.find((t) => t.root.operation === "PutObject" && t.root.resource === "uploads/cat.jpg");
  assert.ok(upload, JSON.stringify(list));
  await page.click('#tabs button[data-tab="traces"]');
  await page.locator(`#trace-table tr[data-trace="${upload.id}"]`).click();
  await page.locator("#waterfall h2", { hasText: upload.id }).waitFor();
  const labels = await page.$$eval("#waterfall .span-label", (ls) => ls.map((l) => l.textContent));
  assert.match(labels[0], /^s3 PutObject cat\.jpg/, labels.join("\n"));
  assert.match(labels[1], /lambda Invoke resize-image/, labels.join("\n"));
  // Bars sit on one time axis: a later hop never starts left of an earlier one, and labels
  // have a row each, so they cannot overlap.
  const lefts = await page.$$eval("#waterfall .span-bar", (bs) => bs.map((b) => b.getBoundingClientRect().left));
  assert.ok(lefts.every((x, i) => i === 0 || x >= lefts[i - 1] - 0.5), lefts.join(", "));
  const rows = await page.$$eval("#waterfall .span-row", (rs) => rs.map((r) => r.getBoundingClientRect()));
  assert.ok(rows.every((r, i) => i === 0 || r.top >= rows[i - 1].bottom - 0.5));
  await page.screenshot({ path: `${SHOTS}/traces.png` });
});

test("the cold starts tab shows each function's cold share and what provisioning would change", async () => {
  await page.click('#tabs button[data-tab="coldstarts"]');
  await page.locator('#cold-table tr[data-function="resize-image"]').click();
  await page.locator("#provisioned h2", { hasText: "resize-image:" }).waitFor();
  const data = await api("coldstarts");
  const f = data.functions.find((x) => x.function === "resize-image");
  assert.equal(f.coldStarts, 1);
  const row = await page.locator('#cold-table tr[data-function="resize-image"]').innerText();
  assert.match(row, new RegExp(`\\b${f.invocations}\\s+1\\s+${Math.round(100 * f.coldShare)}%`), row);
  const avoided = await page.$$eval("#provisioned-table tbody tr", (rs) => rs.map((r) => r.children[1].textContent));
  assert.deepEqual(avoided, f.provisioned.map((p) => String(p.coldStartsAvoided)));
  await page.screenshot({ path: `${SHOTS}/coldstarts.png` });
});

test("the cost tab shows what the API computed: GB-seconds × list price, and every metered resource", async () => {
  await page.click('#tabs button[data-tab="cost"]');
  await page.waitForSelector('#cost-table tbody tr[data-function="resize-image"]');
  await page.waitForSelector('#resource-table tbody tr[data-item="write request units"]');
  const bill = await api("cost");
  const gbS = bill.functions.reduce((s, f) => s + f.gb_seconds, 0);
  const price = bill.prices.lambda.gb_second.x86_64;
  const want = gbS * price + bill.requests * bill.prices.lambda.request;
  assert.ok(Math.abs(bill.lambda_total - want) < 1e-15, `${bill.lambda_total} vs ${want}`);
  for (const r of bill.resources) for (const l of r.lines) assert.ok(Math.abs(l.cost - l.quantity * l.unit_price) < 1e-18, JSON.stringify(l));
  const shown = (id) => page.locator(id).innerText().then((t) => Number(t.replace("$", "")));
  assert.ok(Math.abs(await shown("#cost-lambda") - bill.lambda_total) < 1e-9);
  assert.ok(Math.abs(await shown("#cost-total") - bill.total) < 1e-9, `${await shown("#cost-total")} vs ${bill.total}`);
  const table = bill.resources.find((r) => r.service === "dynamodb" && r.name.startsWith("images-ImagesTable"));
  assert.ok(table.lines.some((l) => l.item === "write request units" && l.quantity >= 3), JSON.stringify(table));
  await page.screenshot({ path: `${SHOTS}/cost.png` });
  await page.locator("#resource-table").scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SHOTS}/cost-resources.png` });
});
