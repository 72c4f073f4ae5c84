// The nurse dashboard. The queue is polled every 3 s with If-None-Match: an unchanged
// queue costs a 304 and no body, and polling works the same behind any replica (the
// database is the only source of truth; a server push would need a channel between
// replicas). A change names the version it was made on; a 409 (another nurse's claim, a
// stale version) is explained and the view reloaded.
"use strict";

const POLL_MS = 3000;
const $ = (id) => document.getElementById(id);
const view = { etag: null, items: [], selected: null, report: null, timer: null };

function describe(v) {
  if (v === null || v === undefined || v === "") return "—";
  if (Array.isArray(v)) return v.length ? v.map(describe).join("; ") : "none";
  if (typeof v === "object") {
    return Object.entries(v)
      .filter(([, x]) => x !== null && x !== undefined && x !== "")
      .map(([k, x]) => k + ": " + describe(x))
      .join(", ");
  }
  return String(v);
}

function badge(urgency) {
  return el("span", { class: "badge " + urgency, text: urgency });
}

function renderQueue() {
  const body = $("queue");
  clear(body);
  for (const a of view.items) {
    const row = el("tr", { tabindex: "0", "data-id": a.id, class: a.id === view.selected ? "selected" : null, "aria-selected": a.id === view.selected ? "true" : "false" },
      el("td", {}, badge(a.urgency)),
      el("td", { text: (a.report && a.report.chief_complaint) || "(none recorded)" }),
      el("td", { text: a.status + (a.claimed_by ? " (" + a.claimed_by + ")" : "") }),
      el("td", { text: when(a.created_at) }));
    row.addEventListener("click", () => select(a.id));
    row.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(a.id); } });
    body.append(row);
  }
  $("queue-empty").classList.toggle("hidden", view.items.length > 0);
}

async function poll() {
  try {
    const extra = view.etag ? { "If-None-Match": view.etag } : {};
    const r = await api("GET", "/v1/assessments?limit=200", undefined, extra);
    if (!r.notModified) {
      view.etag = r.resp.headers.get("ETag");
      view.items = r.data.data || [];
      renderQueue();
    }
    $("queue-updated").textContent = "(checked " + new Date().toLocaleTimeString() + ")";
    hideError($("error"));
  } catch (e) {
    showError($("error"), e);
  }
}

function renderReport(a, revisions) {
  const r = a.report || {};
  const dl = $("report");
  clear(dl);
  const field = (name, value) => dl.append(el("dt", { text: name }), el("dd", { text: value }));
  field("Urgency", a.urgency + " (" + describe(r.urgency_reasons) + ")");
  field("Disposition", a.disposition);
  field("Chief complaint", describe(r.chief_complaint));
  field("Symptoms", describe(r.symptoms));
  field("Red flags", describe((r.red_flags || []).map((f) => f.category + " (\"" + f.matched + "\")")));
  const s = r.scores || {};
  field("NEWS2", s.news2 ? describe({ total: s.news2.total, partial: s.news2.partial_total, risk: s.news2.risk, missing: s.news2.missing }) : "no vital signs given");
  field("qSOFA", s.qsofa ? describe(s.qsofa) : "no vital signs given");
  field("Summary", (r.summary || "—") + " [" + (r.summary_status || "pending") + "]");
  field("Status", a.status + ", version " + a.version + (a.claimed_by ? ", claimed by " + a.claimed_by : "") + (a.outcome ? ", " + a.outcome : ""));
  if (a.note) field("Note", a.note);
  const body = $("revisions");
  clear(body);
  for (const v of revisions) {
    body.append(el("tr", {}, el("td", { text: v.version }), el("td", { text: v.action }), el("td", { text: v.actor.key_id + " (" + v.actor.role + ")" }), el("td", { text: when(v.at) })));
  }
  const closed = a.status === "closed";
  $("claim").disabled = closed;
  $("accept").disabled = closed;
  $("override").disabled = closed;
}

async function select(id) {
  view.selected = id;
  renderQueue();
  try {
    const [{ data: a }, { data: revs }] = await Promise.all([
      api("GET", "/v1/assessments/" + encodeURIComponent(id)),
      api("GET", "/v1/assessments/" + encodeURIComponent(id) + "/revisions"),
    ]);
    view.report = a;
    renderReport(a, revs.data || []);
    $("detail").classList.remove("hidden");
  } catch (e) {
    showError($("error"), e);
  }
}

async function change(kind, body) {
  const a = view.report;
  if (!a) return;
  hideError($("error"));
  $("notice").classList.add("hidden");
  try {
    await api("POST", "/v1/assessments/" + encodeURIComponent(a.id) + "/" + kind, Object.assign({ expected_version: a.version }, body));
    $("notice").textContent = "Done: " + kind + " of version " + a.version + ".";
    $("notice").classList.remove("hidden");
  } catch (e) {
    if (e.status === 409) {
      $("notice").textContent = "Not changed: someone else changed this report or holds its claim (" + e.message + "). The view shows its current state.";
      $("notice").classList.remove("hidden");
    } else {
      showError($("error"), e);
    }
  }
  view.etag = null;
  await Promise.all([select(a.id), poll()]);
}

document.addEventListener("DOMContentLoaded", () => {
  keyForm($("key-form"), $("key"), () => { view.etag = null; poll(); });
  $("claim").addEventListener("click", () => change("claim", {}));
  $("accept").addEventListener("click", () => change("accept", {}));
  $("override-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const note = $("ov-note").value.trim();
    if (!note) {
      showError($("error"), "An override needs a note.");
      $("ov-note").focus();
      return;
    }
    const body = { note };
    if ($("ov-urgency").value) body.urgency = $("ov-urgency").value;
    if ($("ov-disposition").value) body.disposition = $("ov-disposition").value;
    change("override", body);
  });
  poll();
  view.timer = setInterval(poll, POLL_MS);
});
