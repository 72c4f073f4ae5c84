// Shared by the pages: the key (sessionStorage only, never the URL), calls to the public
// API with OpenAI-shaped errors, and DOM helpers that only ever set text.
"use strict";

const KEY_ITEM = "medserve.key";

function getKey() {
  return sessionStorage.getItem(KEY_ITEM) || "";
}

function setKey(k) {
  if (k) sessionStorage.setItem(KEY_ITEM, k);
  else sessionStorage.removeItem(KEY_ITEM);
}

// Builds an element; text is always text (never parsed as HTML).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const k = getKey();
  if (k) h["Authorization"] = "Bearer " + k;
  return h;
}

// A failed call as one sentence, with the retry time of a 429 or 503.
async function describeError(resp) {
  let msg = resp.status + " " + resp.statusText;
  try {
    const body = await resp.json();
    if (body && body.error && body.error.message) msg = body.error.message;
  } catch (_) { /* not JSON */ }
  const retry = resp.headers.get("Retry-After");
  if ((resp.status === 429 || resp.status === 503) && retry) {
    msg += " (retry in " + retry + " s)";
  }
  return { status: resp.status, message: msg, retryAfter: retry ? Number(retry) : null };
}

class ApiError extends Error {
  constructor(info) {
    super(info.message);
    this.status = info.status;
    this.retryAfter = info.retryAfter;
  }
}

async function api(method, path, body, extraHeaders) {
  const init = { method, headers: headers(extraHeaders) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 304) return { notModified: true, resp };
  if (!resp.ok) throw new ApiError(await describeError(resp));
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.text();
  return { data, resp };
}

function showError(box, err) {
  box.textContent = err && err.message ? err.message : String(err);
  box.classList.remove("hidden");
}

function hideError(box) {
  box.textContent = "";
  box.classList.add("hidden");
}

// Wires the key form of a page: the field starts with the stored key.
function keyForm(form, input, onChange) {
  input.value = getKey();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setKey(input.value.trim());
    onChange();
  });
}

function when(ms) {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toLocaleString();
}
