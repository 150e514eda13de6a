// The console in a real headless Chromium: the graph is drawn from the seeded application
// (seed.py), clicking a node shows its details, the Functions tab lists cold and warm
// invocations, the Traces tab draws the upload's trace as a waterfall, and the Cost tab shows
// the API's numbers. Screenshots of each tab at 1280×800
// go to $SCREENSHOTS (default ./screenshots). Run through run.sh, which starts Nimbus and seeds it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const BASE = process.env.NIMBUS_URL ?? "http://127.0.0.1:4566";
const SHOTS = process.env.SCREENSHOTS ?? new URL("./screenshots/", import.meta.url).pathname;
const FN = (name) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

let browser, page;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => { throw e; });
});

after(async () => { await browser?.close(); });

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
  await page.locator("#invocations details summary").first().click();
  assert.match(await page.locator("#invocations details pre").first().innerText(), /REPORT RequestId: /);
  await page.screenshot({ path: `${SHOTS}/functions.png` });
});

test("the traces tab follows the upload into its function, one row per hop, in time order", async () => {
  const list = await api("traces");
  const upload = list.traces.find((t) => t.root.operation === "PutObject");
  assert.ok(upload, JSON.stringify(list));
  await page.click('#tabs button[data-tab="traces"]');
  await page.locator(`#trace-table tr[data-trace="${upload.id}"]`).click();
  await page.waitForFunction(() => document.querySelectorAll("#waterfall .span-row").length >= 2);
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

test("the cost tab shows what the API computed from the recorded GB-seconds", async () => {
  await page.click('#tabs button[data-tab="cost"]');
  await page.waitForSelector('#cost-table tbody tr[data-function="resize-image"]');
  const bill = await api("cost?since=0");
  const gbS = bill.functions.reduce((s, f) => s + f.gb_seconds, 0);
  const price = bill.prices.lambda.gb_second.x86_64;
  const want = gbS * price + bill.requests * bill.prices.lambda.request;
  assert.ok(Math.abs(bill.total - want) < 1e-15, `${bill.total} vs ${want}`);
  const shown = await page.locator("#cost-total").innerText();
  assert.ok(Math.abs(Number(shown.replace("$", "")) - bill.total) < 1e-9, `${shown} vs ${bill.total}`);
  await page.screenshot({ path: `${SHOTS}/cost.png` });
});
