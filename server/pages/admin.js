// The admin page: keys (list, create showing the secret once, revoke) through
// /v1/admin/keys, the audit log with filters, and a metrics summary drawn from /metrics.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

async function loadKeys() {
  const { data } = await api("GET", "/v1/admin/keys");
  const body = $("keys");
  clear(body);
  for (const k of data.data || []) {
    const revoke = el("button", { type: "button", text: "Revoke", "aria-label": "Revoke key " + k.id, disabled: k.revoked_at !== null });
    revoke.addEventListener("click", async () => {
      try {
        await api("POST", "/v1/admin/keys/" + encodeURIComponent(k.id) + "/revoke", {});
        await loadKeys();
      } catch (e) { showError($("error"), e); }
    });
    body.append(el("tr", { "data-key": k.id },
      el("td", { text: k.id }), el("td", { text: k.name }), el("td", { text: k.role }),
      el("td", { text: when(k.created_at) }),
      el("td", { text: k.revoked_at ? "revoked " + when(k.revoked_at) : "active" }),
      el("td", {}, revoke)));
  }
}

async function createKey(ev) {
  ev.preventDefault();
  hideError($("error"));
  const body = { name: $("k-name").value.trim(), role: $("k-role").value, consent: $("k-consent").checked, triage: $("k-triage").checked };
  if ($("k-rpm").value) body.rpm = Number($("k-rpm").value);
  if ($("k-streams").value) body.max_streams = Number($("k-streams").value);
  try {
    const { data } = await api("POST", "/v1/admin/keys", body);
    $("secret").textContent = data.secret;
    $("secret-box").classList.remove("hidden");
    $("create-form").reset();
    await loadKeys();
  } catch (e) { showError($("error"), e); }
}

async function loadAudit(ev) {
  if (ev) ev.preventDefault();
  const q = new URLSearchParams({ limit: "200" });
  if ($("a-action").value.trim()) q.set("action", $("a-action").value.trim());
  if ($("a-actor").value.trim()) q.set("actor", $("a-actor").value.trim());
  if ($("a-after").value) q.set("after_id", $("a-after").value);
  try {
    const { data } = await api("GET", "/v1/audit?" + q.toString());
    const body = $("audit");
    clear(body);
    for (const e of data.data || []) {
      body.append(el("tr", {}, el("td", { text: e.id }), el("td", { text: when(e.at) }), el("td", { text: e.actor.key_id + " (" + e.actor.role + ")" }), el("td", { text: e.action }), el("td", { text: e.target || "" }), el("td", { text: e.result })));
    }
  } catch (e) { showError($("error"), e); }
}

// Prometheus text -> [{name, labels, value}].
function parseMetrics(text) {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const part of (m[3] || "").match(/[a-zA-Z_]+="[^"]*"/g) || []) {
      const i = part.indexOf("=");
      labels[part.slice(0, i)] = part.slice(i + 2, -1);
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

// A small horizontal bar chart (SVG built with DOM calls; labels are text nodes).
function barChart(title, rows, unit) {
  const fig = el("figure", { class: "chart" }, el("figcaption", { text: title }));
  if (rows.length === 0) {
    fig.append(el("p", { class: "muted", text: "no data yet" }));
    return fig;
  }
  const max = Math.max(...rows.map((r) => r[1]), 1e-9);
  const h = 20 * rows.length + 4;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 300 " + h);
  svg.setAttribute("width", "100%");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  rows.forEach(([label, v], i) => {
    const y = 2 + 20 * i;
    const t = document.createElementNS(SVG, "text");
    t.setAttribute("x", "0"); t.setAttribute("y", String(y + 13)); t.setAttribute("font-size", "10");
    t.textContent = label.length > 26 ? label.slice(0, 25) + "…" : label;
    const r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", "140"); r.setAttribute("y", String(y + 2)); r.setAttribute("height", "14");
    r.setAttribute("width", String(Math.max(1, 120 * v / max))); r.setAttribute("fill", "#0969da");
    const n = document.createElementNS(SVG, "text");
    n.setAttribute("x", String(144 + 120 * v / max)); n.setAttribute("y", String(y + 13)); n.setAttribute("font-size", "10");
    n.textContent = (Number.isInteger(v) ? v : v.toFixed(2)) + (unit || "");
    svg.append(t, r, n);
  });
  fig.append(svg);
  return fig;
}

// The p-quantile of a Prometheus histogram (upper bound of the bucket reaching it).
function quantile(buckets, p) {
  const sorted = buckets.filter((b) => b.le !== "+Inf").sort((a, b) => a.le - b.le);
  const total = buckets.find((b) => b.le === "+Inf");
  if (!total || total.count === 0) return null;
  for (const b of sorted) if (b.count >= p * total.count) return b.le;
  return Infinity;
}

async function loadMetrics() {
  try {
    const { data } = await api("GET", "/metrics");
    const ms = parseMetrics(data);
    const sum = (name, key) => {
      const by = {};
      for (const m of ms.filter((m) => m.name === name)) {
        const k = key(m.labels);
        by[k] = (by[k] || 0) + m.value;
      }
      return Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 10);
    };
    const buckets = ms.filter((m) => m.name === "medserve_time_to_first_token_seconds_bucket")
      .map((m) => ({ le: m.labels.le === "+Inf" ? "+Inf" : Number(m.labels.le), count: m.value }));
    const ttft = [["p50", 0.5], ["p90", 0.9], ["p99", 0.99]]
      .map(([n, p]) => [n, quantile(buckets, p)]).filter(([, v]) => v !== null && isFinite(v));
    const charts = $("charts");
    clear(charts);
    charts.append(
      barChart("Requests by route and status", sum("medserve_http_requests_total", (l) => l.route + " " + l.status)),
      barChart("Time to first token (s, bucket bound)", ttft, " s"),
      barChart("Input guardrail verdicts", sum("medserve_guardrail_verdicts_total", (l) => l.stage === "input" ? l.class + " " + l.action : null).filter(([k]) => k !== "null")),
      barChart("Emergency escalations", sum("medserve_red_flag_escalations_total", (l) => Object.values(l).join(" ") || "all")));
    $("metrics-note").textContent = "From /metrics at " + new Date().toLocaleTimeString() + ".";
  } catch (e) { showError($("error"), e); }
}

async function loadAll() {
  hideError($("error"));
  try { await loadKeys(); } catch (e) { showError($("error"), e); return; }
  await loadAudit();
  await loadMetrics();
}

document.addEventListener("DOMContentLoaded", () => {
  keyForm($("key-form"), $("key"), loadAll);
  $("create-form").addEventListener("submit", createKey);
  $("audit-form").addEventListener("submit", loadAudit);
  if (getKey()) loadAll();
});
