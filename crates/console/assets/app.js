// The Nimbus console: five tabs over /_nimbus/api/*. While "Live" is on, the server's event
// stream (api/events) says what changed and only the view it concerns is refreshed; polling is
// the fallback when the stream cannot be opened. No framework: the DOM is built with
// createElement/textContent so resource names are never parsed as HTML.
"use strict";

const POLL_MS = 3000;
const NODE_W = 184, NODE_H = 46, COL_GAP = 72, ROW_GAP = 16, PAD = 28, TOP = 34;
const KINDS = ["api", "route", "schedule", "bucket", "topic", "queue", "bus", "rule", "table", "function", "external"];

const state = {
  tab: "graph", graph: null, functions: null, selected: null, stack: null, fn: null, trace: null, timer: null,
  // The invocation pages visited back from the newest: cursors, "" for the first page.
  pages: [""], cold: null, source: null, pending: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const svg = ["svg", "g", "rect", "text", "path", "title", "tspan", "defs", "marker"].includes(tag);
  const e = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "on") for (const [ev, f] of Object.entries(v)) e.addEventListener(ev, f);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function query(extra) {
  const p = new URLSearchParams({ account: $("account").value.trim(), region: $("region").value.trim() });
  const w = Number($("window").value);
  if (w > 0) p.set("since", String(Date.now() - w));
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  return p.toString();
}

async function api(path, extra) {
  const resp = await fetch(`api/${path}?${query(extra)}`, { cache: "no-store" });
  const body = await resp.json();
  if (!resp.ok) throw new Error(body.message || resp.statusText);
  return body;
}

function ms(v) { return v === null || v === undefined ? "–" : `${Number(v).toFixed(v < 10 ? 2 : 1)} ms`; }
function when(t) { return t ? new Date(t).toLocaleTimeString() : "–"; }
function usd(v) { return `$${Number(v).toFixed(10).replace(/0+$/, "").replace(/\.$/, ".00")}`; }
function fit(text, max) { return text.length > max ? `${text.slice(0, max - 1)}…` : text; }

/// Shortens an SVG label until its rendered width fits `width`: character counts alone let wide
/// names (digits, capitals) spill out of their box.
function clip(textEl, width) {
  let text = textEl.textContent;
  while (text.length > 4 && textEl.getComputedTextLength() > width) {
    text = text.slice(0, -2);
    textEl.textContent = `${text}…`;
  }
}

// ---------------------------------------------------------------- graph

async function refreshGraph() {
  const [graph, functions] = await Promise.all([api("graph"), api("functions").catch(() => null)]);
  state.graph = graph;
  state.functions = functions;
  drawGraph();
}

/// Orders each column by the mean position of its neighbours in the previous column, a few
/// sweeps each way: enough to untangle the usual fan-in/fan-out of serverless apps.
function order(columns, edges) {
  const pos = new Map();
  const index = () => columns.forEach((c) => c.forEach((n, i) => pos.set(n.id, i)));
  index();
  const preds = new Map(), succs = new Map();
  for (const e of edges) {
    (preds.get(e.to) || preds.set(e.to, []).get(e.to)).push(e.from);
    (succs.get(e.from) || succs.set(e.from, []).get(e.from)).push(e.to);
  }
  const mean = (ids, fallback) => {
    const xs = (ids || []).filter((id) => pos.has(id)).map((id) => pos.get(id));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : fallback;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const range = down ? columns.map((_, i) => i).slice(1) : columns.map((_, i) => i).reverse().slice(1);
    for (const i of range) {
      const col = columns[i];
      const key = new Map(col.map((n, j) => [n.id, mean((down ? preds : succs).get(n.id), j)]));
      col.sort((a, b) => key.get(a.id) - key.get(b.id));
      index();
    }
  }
}

function drawGraph() {
  const g = state.graph;
  const svg = $("svg");
  svg.replaceChildren();
  const nodes = g.nodes.filter((n) => n.kind !== "stack");
  const stacks = g.nodes.filter((n) => n.kind === "stack");
  drawStacks(stacks);
  $("warnings").replaceChildren(...g.warnings.map((w) => el("li", {}, w)));
  if (!nodes.length) {
    svg.setAttribute("width", 600); svg.setAttribute("height", 120);
    svg.append(el("text", { x: PAD, y: 60, class: "sub" }, "No resources in this account and region yet."));
    return;
  }
  const layers = Math.max(...nodes.map((n) => n.layer)) + 1;
  const columns = Array.from({ length: layers }, () => []);
  for (const n of nodes) columns[n.layer].push(n);
  columns.forEach((c) => c.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || a.name.localeCompare(b.name)));
  order(columns, g.edges);
  const at = new Map();
  columns.forEach((col, i) => col.forEach((n, j) => at.set(n.id, { x: PAD + i * (NODE_W + COL_GAP), y: TOP + j * (NODE_H + ROW_GAP) })));
  const rows = Math.max(...columns.map((c) => c.length));
  svg.setAttribute("width", PAD * 2 + layers * NODE_W + (layers - 1) * COL_GAP);
  svg.setAttribute("height", TOP + rows * (NODE_H + ROW_GAP) + PAD);

  const traffic = new Map();
  for (const f of (state.functions && state.functions.functions) || []) traffic.set(f.arn, f);
  const related = state.selected ? neighbours(state.selected, g.edges) : null;

  const edgeLayer = el("g", {});
  for (const e of g.edges) {
    const a = at.get(e.from), b = at.get(e.to);
    if (!a || !b) continue;
    const back = b.x <= a.x;
    const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
    const d = back
      ? `M${x1},${y1} C${x1 + 60},${y1 + 70} ${x2 - 60},${y2 + 70} ${x2},${y2}`
      : `M${x1},${y1} C${x1 + COL_GAP / 2},${y1} ${x2 - COL_GAP / 2},${y2} ${x2},${y2}`;
    const t = traffic.get(e.to);
    const hot = t && t.lastInvokedMs && Date.now() - t.lastInvokedMs < 60000;
    const width = t && t.invocations ? Math.min(1.5 + Math.log2(1 + t.invocations), 6) : 1.5;
    const cls = ["edge", hot ? "hot" : "", back ? "back" : "", related && !(related.has(e.from) && related.has(e.to)) ? "dim" : ""].join(" ");
    edgeLayer.append(el("path", { d, class: cls, "stroke-width": width, "marker-end": "url(#arrow)", "data-edge": `${e.from} ${e.to}` },
      el("title", {}, `${e.kind}${e.label ? ` · ${e.label}` : ""}`)));
  }
  svg.append(el("defs", {}), edgeLayer);
  svg.firstChild.innerHTML = '<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#9aa5b4"/></marker>';

  for (const n of nodes) {
    const p = at.get(n.id);
    const t = traffic.get(n.id);
    const sub = n.kind === "function" && t
      ? `${t.invocations} inv · ${t.coldStarts} cold${t.errors ? ` · ${t.errors} err` : ""}`
      : n.kind + (n.stack ? ` · ${n.stack}` : "");
    const dim = (related && !related.has(n.id)) || (state.stack && n.stack !== state.stack);
    const group = el("g", {
      class: `node${state.selected === n.id ? " selected" : ""}${dim ? " dim" : ""}`,
      transform: `translate(${p.x},${p.y})`, "data-id": n.id, "data-kind": n.kind, tabindex: 0,
      on: { click: () => select(n.id), keydown: (ev) => { if (ev.key === "Enter") select(n.id); } },
    },
    el("title", {}, `${n.kind}: ${n.name}\n${n.id}`),
    el("rect", { class: "box", width: NODE_W, height: NODE_H }),
    el("rect", { class: "band", width: 5, height: NODE_H, style: `fill: var(--${n.kind})` }),
    el("text", { x: 14, y: 19 }, fit(n.name, 25)),
    el("text", { x: 14, y: 35, class: "sub" }, fit(sub, 30)));
    svg.append(group);
    for (const t of group.querySelectorAll("text")) clip(t, NODE_W - 22);
  }
  drawLegend(nodes);
  if (state.selected) showDetails(g.nodes.find((n) => n.id === state.selected));
}

function neighbours(id, edges) {
  const set = new Set([id]);
  for (const e of edges) {
    if (e.from === id) set.add(e.to);
    if (e.to === id) set.add(e.from);
  }
  return set;
}

function drawStacks(stacks) {
  $("stacks").replaceChildren(...stacks.map((s) => el("button", {
    class: "chip", "aria-pressed": String(state.stack === s.name),
    on: { click: () => { state.stack = state.stack === s.name ? null : s.name; showDetails(s); drawGraph(); } },
  }, `stack ${s.name} · ${s.details.status || ""}`)));
}

function drawLegend(nodes) {
  const present = KINDS.filter((k) => nodes.some((n) => n.kind === k));
  $("legend").replaceChildren(...present.map((k) => el("span", { style: `--c: var(--${k})` }, k)));
}

function select(id) {
  state.selected = state.selected === id ? null : id;
  drawGraph();
  if (!state.selected) $("details").replaceChildren(el("p", { class: "hint" }, "Click a resource to see its details."));
  $("details").hidden = !state.selected && !state.stack;
}

function showDetails(n) {
  if (!n) return;
  const g = state.graph;
  const box = $("details");
  box.hidden = false;
  const rows = [];
  for (const [k, v] of Object.entries(n.details || {})) {
    if (v === null || v === undefined || typeof v === "object") continue;
    rows.push(el("dt", {}, k), el("dd", {}, String(v)));
  }
  if (n.stack) rows.push(el("dt", {}, "stack"), el("dd", {}, n.stack));
  const nameOf = (id) => (g.nodes.find((x) => x.id === id) || { name: id }).name;
  const ins = g.edges.filter((e) => e.to === n.id).map((e) => el("li", {}, `${nameOf(e.from)} — ${e.kind}${e.label ? ` (${e.label})` : ""}`));
  const outs = g.edges.filter((e) => e.from === n.id).map((e) => el("li", {}, `${e.kind}${e.label ? ` (${e.label})` : ""} → ${nameOf(e.to)}`));
  const nested = Object.entries(n.details || {}).filter(([, v]) => v && typeof v === "object");
  const t = n.kind === "function" && state.functions && state.functions.functions.find((f) => f.arn === n.id);
  const parts = [
    el("div", { class: "kind" }, n.kind), el("h2", {}, n.name),
    el("dl", {}, rows),
    t ? el("p", {}, `${t.invocations} invocations, ${t.coldStarts} cold (avg init ${ms(t.avgInitDurationMs)}), avg ${ms(t.avgDurationMs)}. `,
      el("a", { href: "#", on: { click: (ev) => { ev.preventDefault(); state.fn = n.name; state.pages = [""]; switchTab("functions"); } } }, "Invocations →")) : null,
    ins.length ? el("div", {}, el("b", {}, "In"), el("ul", {}, ins)) : null,
    outs.length ? el("div", {}, el("b", {}, "Out"), el("ul", {}, outs)) : null,
    ...nested.map(([k, v]) => el("div", {}, el("b", {}, k), el("pre", {}, JSON.stringify(v, null, 2)))),
  ];
  box.replaceChildren(...parts.filter(Boolean));
}

// ---------------------------------------------------------------- functions

/// Says so while the server is still reading back what was recorded before it restarted.
function partial(data) {
  if (data.complete === false) $("warnings").replaceChildren(el("li", {}, "Reading back the invocations recorded before the last restart: the figures are still growing."));
}

async function refreshFunctions() {
  const data = await api("functions");
  partial(data);
  state.functions = data;
  const body = $("function-table").tBodies[0];
  body.replaceChildren(...data.functions.map((f) => el("tr", {
    class: `clickable${state.fn === f.name ? " selected" : ""}`, "data-function": f.name,
    on: { click: () => { state.fn = f.name; state.pages = [""]; refreshFunctions(); } },
  },
  el("td", {}, f.name), el("td", {}, f.runtime || ""), el("td", { class: "num" }, `${f.memorySize} MB`),
  el("td", { class: "num" }, f.invocations), el("td", { class: "num" }, f.coldStarts), el("td", { class: "num" }, f.errors),
  el("td", { class: "num" }, ms(f.avgDurationMs)), el("td", { class: "num" }, ms(f.avgInitDurationMs)), el("td", {}, when(f.lastInvokedMs)))));
  if (!data.functions.length) body.append(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "No functions in this account and region.")));
  if (!state.fn && data.functions.length) state.fn = data.functions[0].name;
  if (state.fn) await refreshInvocations(state.fn);
}

async function refreshInvocations(name) {
  const after = state.pages[state.pages.length - 1];
  const data = await api("invocations", after ? { function: name, limit: "25", after } : { function: name, limit: "25" });
  const open = new Set([...document.querySelectorAll("#invocations details[open]")].map((d) => d.dataset.id));
  const rows = data.invocations.map((i) => el("details", { "data-id": i.request_id, open: open.has(i.request_id) ? "" : null },
    el("summary", {},
      el("span", { class: `badge ${i.cold ? "cold" : "warm"}` }, i.cold ? `cold · init ${ms(i.init_duration_ms)}` : "warm"), " ",
      el("span", { class: `badge ${i.outcome}` }, i.outcome), " ",
      el("span", { class: "badge trigger", title: i.trigger ? `${i.trigger.service} ${i.trigger.operation} ${i.trigger.resource}` : "not recorded" },
        i.trigger ? i.trigger.kind : "?"), " ",
      `${when(i.started_ms)}  ${i.request_id}  ${ms(i.duration_ms)} (billed ${i.billed_duration_ms} ms)  ${i.max_memory_used_mb}/${i.memory_size_mb} MB  `,
      i.trace_id ? el("a", { href: "#traces", class: "trace-link", on: { click: (ev) => { ev.preventDefault(); state.trace = i.trace_id; switchTab("traces"); } } }, "trace →") : null),
    el("pre", { class: "logs" }, i.logs.map((l) => l.message).join("\n"))));
  const page = state.pages.length;
  const pager = el("div", { class: "pager" },
    el("button", { disabled: page === 1 ? "" : null, on: { click: () => { state.pages.pop(); refreshInvocations(name); } } }, "← Newer"),
    el("span", {}, `page ${page}`),
    el("button", { disabled: data.next ? null : "", on: { click: () => { state.pages.push(data.next); refreshInvocations(name); } } }, "Older →"));
  $("invocations").replaceChildren(el("h2", {}, `${name}: ${data.total} invocation${data.total === 1 ? "" : "s"}`),
    ...(rows.length ? rows : [el("p", { class: "empty" }, "No invocations in this window.")]), pager);
}

// ---------------------------------------------------------------- traces

function us(v) { return v < 1000 ? `${v} µs` : ms(v / 1000); }
function hop(s) { return `${s.service} ${s.operation}`; }
function shortName(resource) { return resource ? resource.split(/[:/]/).pop() : ""; }

async function refreshTraces() {
  const data = await api("traces", { limit: "50" });
  const body = $("trace-table").tBodies[0];
  body.replaceChildren(...data.traces.map((t) => el("tr", {
    class: `clickable${state.trace === t.id ? " selected" : ""}`, "data-trace": t.id,
    on: { click: () => { state.trace = t.id; refreshTraces(); } },
  },
  el("td", {}, when(t.startUs / 1000)), el("td", { class: "mono" }, t.id),
  el("td", {}, `${hop(t.root)} ${shortName(t.root.resource)}`), el("td", { class: "num" }, t.spans),
  el("td", { class: "num" }, t.errors), el("td", { class: "num" }, us(t.durationUs)))));
  if (!data.traces.length) {
    body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" },
      "No traces yet: an upload, message, event or invocation that sets off other work starts one, as does any request with an X-Amzn-Trace-Id header.")));
  }
  if (!state.trace && data.traces.length) state.trace = data.traces[0].id;
  if (state.trace) await drawWaterfall(state.trace);
  else $("waterfall").replaceChildren();
}

/// One row per hop: its label on the left (indented under its parent), its bar on a shared time
/// axis on the right, placed by offset and sized by duration (at least a sliver, so instant hops
/// stay visible).
async function drawWaterfall(id) {
  const t = await api(`traces/${encodeURIComponent(id)}`);
  const total = Math.max(t.durationUs, 1);
  const rows = t.spans.map((s) => {
    const left = (100 * s.offsetUs) / total;
    const width = Math.max((100 * s.durationUs) / total, 0.4);
    const badges = [];
    if (s.coldStart !== null) badges.push(el("span", { class: `badge ${s.coldStart ? "cold" : "warm"}` }, s.coldStart ? "cold" : "warm"));
    if (s.outcome !== "ok") badges.push(el("span", { class: "badge error" }, s.error || "error"));
    const title = `${hop(s)} ${s.resource}\n+${us(s.offsetUs)}, ${us(s.durationUs)}${s.requestId ? `\nrequest ${s.requestId}` : ""}`;
    return el("div", { class: "span-row", "data-span": s.id, title },
      el("div", { class: "span-label", style: `padding-left:${8 + 14 * s.depth}px` },
        el("span", { class: `svc svc-${s.service}` }, s.service), ` ${s.operation} `, el("span", { class: "res" }, shortName(s.resource)), " ", ...badges),
      el("div", { class: "span-track" },
        el("div", { class: `span-bar${s.outcome === "ok" ? "" : " failed"}`, style: `left:${left}%;width:${Math.min(width, 100 - left)}%` }),
        el("span", { class: "span-time", style: left > 70 ? `right:${100 - left}%` : `left:calc(${left + width}% + 6px)` }, us(s.durationUs))));
  });
  $("waterfall").replaceChildren(
    el("h2", {}, `Trace ${t.id}: ${t.spans.length} hop${t.spans.length === 1 ? "" : "s"} in ${us(t.durationUs)}`),
    el("div", { class: "waterfall" }, ...rows));
}

// ---------------------------------------------------------------- cold starts

function pct(v) { return `${(100 * v).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`; }

async function refreshColdStarts() {
  const data = await api("coldstarts");
  partial(data);
  const fns = data.functions;
  if (!state.cold || !fns.some((f) => f.function === state.cold)) state.cold = (fns.find((f) => f.coldStarts) || fns[0] || {}).function || null;
  $("cold-table").tBodies[0].replaceChildren(...fns.map((f) => el("tr", {
    class: `clickable${state.cold === f.function ? " selected" : ""}`, "data-function": f.function,
    on: { click: () => { state.cold = f.function; refreshColdStarts(); } },
  },
  el("td", {}, f.function), el("td", {}, `${f.memorySizeMb} MB`), el("td", { class: "num" }, f.invocations),
  el("td", { class: "num" }, f.coldStarts), el("td", { class: "num" }, f.invocations ? pct(f.coldShare) : "–"),
  el("td", { class: "num", title: f.initApproximate ? "from a sample of the init durations" : null }, `${f.initApproximate ? "≈ " : ""}${ms(f.initP50Ms)}`),
  el("td", { class: "num", title: f.initApproximate ? "from a sample of the init durations" : null }, `${f.initApproximate ? "≈ " : ""}${ms(f.initP95Ms)}`),
  el("td", { class: "num" }, ms(f.initMaxMs)),
  el("td", { class: "num" }, f.peakConcurrency))));
  if (!fns.length) $("cold-table").tBodies[0].append(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "No functions in this account and region.")));
  const f = fns.find((x) => x.function === state.cold);
  if (!f) { $("provisioned").replaceChildren(); return; }
  const hours = f.windowMs / 3600000;
  const rows = f.provisioned.map((p) => el("tr", { "data-environments": p.environments },
    el("td", { class: "num" }, p.environments), el("td", { class: "num" }, p.coldStartsAvoided), el("td", { class: "num" }, p.coldStartsLeft),
    el("td", { class: "num" }, p.served), el("td", { class: "num" }, usd(p.provisioningCost)), el("td", { class: "num" }, usd(p.durationSaving)),
    el("td", { class: "num" }, usd(p.extraCost))));
  $("provisioned").replaceChildren(
    el("h2", {}, `${f.function}: what provisioned concurrency would have changed`),
    el("p", { class: "hint" }, `Over the last ${hours < 1 ? `${Math.round(hours * 60)} minutes` : `${hours.toFixed(1)} hours`} of traffic, ` +
      `${f.invocations} invocations reached ${f.peakConcurrency} at once. N provisioned environments serve the first N concurrent invocations: ` +
      "the cold starts among those would have been warm, and their duration billed at the provisioned rate."),
    rows.length ? el("table", { id: "provisioned-table", class: "grid" },
      el("thead", {}, el("tr", {}, ...["Environments", "Cold starts avoided", "Cold starts left", "Invocations served", "Provisioning $", "Duration saved $", "Extra cost $"].map((h) => el("th", { class: "num" }, h)))),
      el("tbody", {}, rows)) : el("p", { class: "empty" }, "No invocations in this window."));
}

// ---------------------------------------------------------------- cost

/// Whole counts as they are; fractions (half read units, GB-months of a few bytes) in plain
/// decimals, as the dollar figures are, never in exponent notation.
function qty(v) {
  if (Number.isInteger(v)) return String(v);
  return v >= 0.001 ? String(Number(v.toPrecision(4))) : v.toFixed(14).replace(/0+$/, "");
}

async function refreshCost() {
  const c = await api("cost");
  partial(c);
  $("cost-summary").replaceChildren(
    el("div", {}, el("b", { id: "cost-total" }, usd(c.total)), el("span", {}, "total for the window")),
    el("div", {}, el("b", { id: "cost-lambda" }, usd(c.lambda_total)), el("span", {}, `Lambda · ${c.requests} requests · ${c.gb_seconds.toFixed(4)} GB-s`)),
    el("div", {}, el("b", { id: "cost-resources" }, usd(c.resources_total)), el("span", {}, `${c.resources.length} other resources`)));
  $("cost-table").tBodies[0].replaceChildren(...c.functions.map((f) => el("tr", { "data-function": f.function },
    el("td", {}, f.function), el("td", {}, f.architecture), el("td", { class: "num" }, f.requests), el("td", { class: "num" }, f.cold_starts),
    el("td", { class: "num" }, f.billed_ms), el("td", { class: "num" }, f.gb_seconds.toFixed(6)),
    el("td", { class: "num" }, usd(f.request_cost)), el("td", { class: "num" }, usd(f.duration_cost)), el("td", { class: "num" }, usd(f.total)))));
  const lines = c.resources.flatMap((r) => r.lines.map((l, i) => el("tr", { "data-resource": r.name, "data-item": l.item },
    el("td", {}, i === 0 ? r.service : ""), el("td", { title: r.name }, i === 0 ? fit(r.name, 40) : ""), el("td", {}, l.item),
    el("td", { class: "num" }, qty(l.quantity)), el("td", { class: "num" }, usd(l.unit_price)), el("td", { class: "num" }, usd(l.cost)))));
  $("resource-table").tBodies[0].replaceChildren(...(lines.length ? lines
    : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No S3, DynamoDB, EventBridge or API Gateway usage metered in this window."))]));
  const p = c.prices;
  const src = (name, s) => el("li", {}, `${name}: `, el("a", { href: s.source, rel: "noreferrer" }, s.source), `, read ${s.retrieved || p.retrieved}.`);
  $("cost-source").replaceChildren(
    el("p", {}, `List prices for ${p.region} in ${p.currency}: ${usd(p.lambda.request * 1e6)} per million Lambda requests, ` +
      Object.entries(p.lambda.gb_second).map(([a, v]) => `${usd(v)} per GB-s (${a})`).join(", ") + `. ${p.notes}`),
    el("ul", {}, src("Lambda", p), src("API Gateway", p.apigateway), src("EventBridge", p.events), src("S3", p.s3), src("DynamoDB", p.dynamodb)));
}

// ---------------------------------------------------------------- shell

const refreshers = { graph: refreshGraph, functions: refreshFunctions, traces: refreshTraces, coldstarts: refreshColdStarts, cost: refreshCost };

async function refresh() {
  const tab = state.tab;
  const section = $(tab);
  try {
    await refreshers[tab]();
    section.dataset.state = "ready";
  } catch (e) {
    section.dataset.state = "error";
    $("warnings").replaceChildren(el("li", {}, `Could not load ${tab}: ${e.message}`));
  }
}

function switchTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
  for (const s of document.querySelectorAll("section.tab")) s.hidden = s.id !== tab;
  location.hash = tab;
  refresh();
}

// Which tabs each kind of change concerns.
const CONCERNS = {
  invocation: ["graph", "functions", "coldstarts", "cost"],
  traces: ["traces"],
  graph: ["graph"],
  usage: ["cost"],
};

/// Refreshes the open tab at most once a second however many changes arrive.
function changed(kind) {
  if (!CONCERNS[kind].includes(state.tab) || document.hidden || state.pending) return;
  state.pending = setTimeout(() => { state.pending = null; refresh(); }, 1000);
}

function setLive(text, ok) {
  const dot = $("live-state");
  dot.title = text;
  dot.dataset.ok = ok ? "yes" : "no";
}

function schedule() {
  clearInterval(state.timer);
  if (state.source) { state.source.close(); state.source = null; }
  setLive("off", false);
  if (!$("live").checked) return;
  if (!window.EventSource) {
    state.timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
    return;
  }
  const p = new URLSearchParams({ account: $("account").value.trim(), region: $("region").value.trim() });
  const source = new EventSource(`api/events?${p}`);
  state.source = source;
  source.onopen = () => { clearInterval(state.timer); setLive("live updates", true); };
  // The browser reconnects by itself; meanwhile the page polls.
  source.onerror = () => {
    setLive("reconnecting", false);
    clearInterval(state.timer);
    state.timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  };
  for (const kind of Object.keys(CONCERNS)) source.addEventListener(kind, () => changed(kind));
}

for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => switchTab(b.dataset.tab));
$("tenant").addEventListener("change", () => {
  state.selected = null; state.fn = null; state.stack = null; state.trace = null; state.cold = null; state.pages = [""];
  refresh(); schedule();
});
$("tenant").addEventListener("submit", (e) => e.preventDefault());
const initial = location.hash.slice(1);
switchTab(refreshers[initial] ? initial : "graph");
schedule();
