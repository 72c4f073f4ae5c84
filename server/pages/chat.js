// The patient chat: streamed answers over SSE (fetch + a reader, so the key goes in a
// header), citations as links, the emergency answer as a banner with nothing else beside
// it, a triage session ended by "End conversation", and a stop button.
"use strict";

// Longest answer the page asks for: a chat answer, not an essay (and a bound on how long a
// small model may ramble before the patient can read the end).
const MAX_TOKENS = 400;
const state = { messages: [], session: null, model: null, controller: null, busy: false };
const $ = (id) => document.getElementById(id);

function newSession() {
  state.session = "web-" + crypto.randomUUID();
  state.messages = [];
}

// Loads in flight: only the latest one's outcome is shown (the page's first load, without a
// key, may answer after the one the key form started).
let modelLoads = 0;

async function loadModel() {
  const mine = ++modelLoads;
  // A new attempt (the key form was sent) clears the last attempt's error at once.
  hideError($("error"));
  try {
    const { data } = await api("GET", "/v1/models");
    if (mine !== modelLoads) return;
    const chat = (data.data || []).find((m) => !m.medserve || (m.medserve.endpoints || []).includes("/v1/chat/completions"));
    state.model = chat ? chat.id : null;
    hideError($("error"));
  } catch (e) {
    if (mine !== modelLoads) return;
    state.model = null;
    showError($("error"), e);
  }
}

function setBusy(busy) {
  state.busy = busy;
  $("send").disabled = busy;
  $("stop").disabled = !busy;
  $("end").disabled = busy || state.messages.length === 0;
  $("status").textContent = busy ? "Answering…" : "";
}

// A citation's link: guideline passages (`corpus://doc#n`) open this server's guideline
// page; web sources open as they are; anything else is shown as text.
function sourceHref(url) {
  const m = /^corpus:\/\/([A-Za-z0-9._-]+)#(\d+)$/.exec(url || "");
  if (m) return "/guidelines/" + encodeURIComponent(m[1]) + "#chunk-" + m[2];
  return /^https?:\/\//i.test(url || "") ? url : null;
}

// Sentence citations of the answer (`annotations`), or else the passages it was given
// (`medserve.retrieval.chunks`), one link per source.
function citationList(annotations, retrieval) {
  let sources = (annotations || [])
    .filter((a) => a && a.type === "url_citation" && a.url_citation)
    .map((a) => ({ url: a.url_citation.url, title: a.url_citation.title }));
  let label = "Sources quoted";
  if (sources.length === 0 && retrieval && retrieval.chunks) {
    sources = retrieval.chunks.map((c) => ({ url: c.url, title: c.title || c.doc_id }));
    label = "Guidance this answer was given";
  }
  if (sources.length === 0) return null;
  const seen = new Set();
  const list = el("ol", { class: "citations", "aria-label": label });
  for (const c of sources) {
    if (seen.has(c.url)) continue;
    seen.add(c.url);
    const href = sourceHref(c.url);
    const title = c.title || c.url;
    list.append(el("li", {}, href ? el("a", { href, rel: "noopener noreferrer", target: "_blank", text: title }) : el("span", { text: title + " (" + c.url + ")" })));
  }
  return el("div", {}, el("p", { class: "muted", text: label + ":" }), list);
}

function showEmergency(text) {
  $("chat").classList.add("hidden");
  $("emergency-text").textContent = text;
  $("emergency").classList.remove("hidden");
  $("emergency").focus();
}

// Reads an SSE body; calls onEvent with each parsed `data:` JSON.
async function readSse(resp, onEvent) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        try { onEvent(JSON.parse(data)); } catch (_) { /* keep-alive or partial */ }
      }
    }
  }
}

async function ask(text, endSession) {
  if (state.busy) return;
  hideError($("error"));
  if (state.model === null) await loadModel();
  if (state.model === null) return;
  state.messages.push({ role: "user", content: text });
  $("log").append(el("li", { class: "user", text }));
  const answer = el("li", { class: "assistant", "aria-busy": "true" });
  const body = el("div");
  answer.append(body);
  $("log").append(answer);
  setBusy(true);
  state.controller = new AbortController();
  let textSoFar = "";
  let facts = null;
  let annotations = null;
  try {
    const resp = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      signal: state.controller.signal,
      body: JSON.stringify({
        model: state.model,
        messages: state.messages,
        stream: true,
        max_tokens: MAX_TOKENS,
        medserve: { triage: true, session_id: state.session, consent: $("consent").checked, end_session: endSession },
      }),
    });
    if (!resp.ok) throw new ApiError(await describeError(resp));
    await readSse(resp, (chunk) => {
      const choice = (chunk.choices || [])[0];
      if (choice && choice.delta) {
        if (typeof choice.delta.content === "string") {
          textSoFar += choice.delta.content;
          body.textContent = textSoFar;
        }
        if (choice.delta.annotations) annotations = choice.delta.annotations;
      }
      if (chunk.medserve) facts = chunk.medserve;
    });
    state.messages.push({ role: "assistant", content: textSoFar });
    const cites = citationList(annotations, facts && facts.retrieval);
    if (cites) answer.append(cites);
    $("announce").textContent = textSoFar;
    if (facts && facts.red_flag) {
      showEmergency(textSoFar);
    } else if (endSession) {
      const a = facts && facts.assessment;
      $("notice").textContent = a && a.id
        ? "Thank you. A nurse will review this conversation (reference " + a.id + ")."
        : "Thank you. This conversation has ended.";
      $("notice").classList.remove("hidden");
      $("composer").classList.add("hidden");
    }
  } catch (e) {
    if (e.name === "AbortError") {
      body.textContent = textSoFar + (textSoFar ? " " : "") + "(stopped)";
      state.messages.push({ role: "assistant", content: textSoFar });
    } else {
      state.messages.pop();
      answer.remove();
      showError($("error"), e);
    }
  } finally {
    answer.setAttribute("aria-busy", "false");
    state.controller = null;
    setBusy(false);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  newSession();
  keyForm($("key-form"), $("key"), loadModel);
  $("composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("message").value.trim();
    if (!text) return;
    $("message").value = "";
    ask(text, false);
  });
  $("message").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("stop").addEventListener("click", () => state.controller && state.controller.abort());
  $("end").addEventListener("click", () => ask("I would like to end the conversation now.", true));
  loadModel();
  setBusy(false);
});
