// Drives medserve's pages in headless Chromium (Debian's, through playwright-core).
// Started by tests/pages.rs, which runs the servers and passes URLs and keys in
// MEDSERVE_PAGES (JSON). Exits non-zero with the failed check on stderr.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

const cfg = JSON.parse(process.env.MEDSERVE_PAGES);
const shots = process.env.MEDSERVE_SCREENSHOTS || "";
const T = 120_000;

const browser = await chromium.launch({
  executablePath: cfg.chromium || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});

async function page(base, key, viewport) {
  const ctx = await browser.newContext({ viewport: viewport || { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  p.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  p.errors = errors;
  p.base = base;
  p.login = async (path) => {
    await p.goto(base + path);
    await p.fill("#key", key);
    // Done when the first call made with the key has answered.
    await Promise.all([
      p.waitForResponse((r) => r.request().headers()["authorization"] === "Bearer " + key),
      p.click("#key-form button[type=submit]"),
    ]);
  };
  return p;
}

async function lastAnswer(p) {
  await p.waitForFunction(() => {
    const li = [...document.querySelectorAll("#log li.assistant")].pop();
    return li && li.getAttribute("aria-busy") === "false";
  }, null, { timeout: T });
  return p.evaluate(() => [...document.querySelectorAll("#log li.assistant")].pop().innerText);
}

async function send(p, text) {
  await p.fill("#message", text);
  await p.click("#send");
}

function step(name) { console.log("ok: " + name); }

// The model's summary of a report may land between opening it and acting on it (a new
// version): the page explains the 409 ("Not changed ...") and shows the new version, and the
// nurse, who has now seen it, acts again. Clicks `button` until the report shows `done`;
// `between` checks the report after a refused attempt.
async function actUntil(p, button, done, between = () => {}) {
  for (let attempt = 0; attempt < 3; attempt++) {
    await p.click(button);
    await p.waitForFunction((done) => {
      const notice = document.getElementById("notice");
      return document.getElementById("report").innerText.includes(done)
        || (!notice.classList.contains("hidden") && notice.innerText.startsWith("Not changed"));
    }, done, { timeout: T });
    const report = await p.innerText("#report");
    if (report.includes(done)) return;
    between(report);
  }
  const report = await p.innerText("#report");
  assert.ok(report.includes(done), report);
}

// --- Patient page on the real model: a streamed answer with citations.
const patient = await page(cfg.real, cfg.keys.patient);
await patient.login("/");
const csp = (await patient.request.get(cfg.real + "/")).headers()["content-security-policy"];
assert.match(csp, /script-src 'self'/);
assert.doesNotMatch(csp, /unsafe-inline[^;]*;?\s*script|script-src[^;]*unsafe/);
await send(patient, "What is the difference between a reliever inhaler and a preventer inhaler?");
const answer = await lastAnswer(patient);
assert.ok(answer.length > 20, answer);
const cites = patient.locator("#log li.assistant .citations a");
assert.ok((await cites.count()) >= 1, "citations under the answer, as links");
const href = await cites.first().getAttribute("href");
assert.match(href, /^\/guidelines\/[^/]+#chunk-\d+$/);
const guideline = await patient.request.get(cfg.real + href.split("#")[0]);
assert.equal(guideline.status(), 200);
assert.match(await guideline.text(), /<section id="chunk-/);
assert.ok(answer.includes("not a diagnosis"), "the disclaimer");
step("patient: streamed answer, citations, disclaimer");
if (shots) await patient.screenshot({ path: shots + "/patient-desktop.png" });

// The text streams (it is on the page while the answer is still open), and Stop aborts it.
await send(patient, "Tell me everything about managing type 2 diabetes day to day, in detail.");
await patient.waitForFunction(() => {
  const li = [...document.querySelectorAll("#log li.assistant")].pop();
  return li && li.getAttribute("aria-busy") === "true" && li.innerText.length > 0;
}, null, { timeout: T });
await patient.click("#stop");
const stopped = await lastAnswer(patient);
assert.ok(stopped.endsWith("(stopped)"), stopped);
assert.equal(await patient.isEnabled("#send"), true);
step("patient: stop button aborts the stream");

// Keyboard: Enter in the message field sends; every control has a label.
const unlabelled = await patient.evaluate(() => [...document.querySelectorAll("input, textarea, select")]
  .filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
assert.deepEqual(unlabelled, []);
assert.equal(await patient.locator("[aria-live]").count() >= 1, true);
await patient.focus("#message");
await patient.keyboard.type("Thank you.");
await patient.keyboard.press("Enter");
await lastAnswer(patient);
assert.equal(await patient.locator("#log li.user").count(), 3);
step("patient: keyboard use, labels, live region");

// The emergency banner, and nothing else competing with it.
const emergency = await page(cfg.real, cfg.keys.patient);
await emergency.login("/");
await send(emergency, "I have crushing chest pain spreading to my left arm and I feel sweaty.");
await emergency.waitForSelector("#emergency:not(.hidden)", { timeout: T });
assert.equal(await emergency.isVisible("#chat"), false, "the chat is hidden");
const banner = await emergency.innerText("#emergency");
assert.ok(banner.includes(cfg.emergency_number), banner);
assert.equal(await emergency.evaluate(() => document.activeElement.id), "emergency");
step("patient: emergency banner with the number to call");
if (shots) await emergency.screenshot({ path: shots + "/patient-emergency.png" });

// --- A triage chat becomes a report on the nurse page, without reload.
const nurse1 = await page(cfg.real, cfg.keys.nurse1);
await nurse1.login("/nurse");
await nurse1.waitForSelector("#queue-updated:has-text('checked')", { timeout: T });
const triage = await page(cfg.real, cfg.keys.patient, { width: 360, height: 740 });
await triage.login("/");
const width = await triage.evaluate(() => document.documentElement.scrollWidth);
assert.ok(width <= 360, "fits 360 px: " + width);
await triage.check("#consent");
await send(triage, "I have had a cough and a mild fever for three days.");
await lastAnswer(triage);
await triage.click("#end");
await triage.waitForSelector("#notice:not(.hidden)", { timeout: T });
const reference = (await triage.innerText("#notice")).match(/par_[0-9a-f]+/);
assert.ok(reference, await triage.innerText("#notice"));
const reportId = reference[0];
if (shots) await triage.screenshot({ path: shots + "/patient-phone.png" });
await nurse1.waitForSelector(`#queue tr[data-id="${reportId}"]`, { timeout: 30_000 });
step("nurse: the report appeared without a reload");

// Claim and override with a required note.
await nurse1.click(`#queue tr[data-id="${reportId}"]`);
await nurse1.waitForSelector("#detail:not(.hidden)");
assert.ok((await nurse1.innerText("#report")).includes("Chief complaint"));
await actUntil(nurse1, "#claim", "claimed by");
await nurse1.selectOption("#ov-urgency", "urgent");
await nurse1.click("#override");
assert.ok((await nurse1.innerText("#error")).includes("note"), "the note is required");
await nurse1.fill("#ov-note", "Spoke to the patient by phone; see GP today.");
await actUntil(nurse1, "#override", "overridden",
  (report) => assert.ok(report.includes("claimed by"), report));
const history = await nurse1.innerText("#revisions");
assert.ok(history.includes("claim") && history.includes("override"), history);
step("nurse: claim and override with a note; revision history");
if (shots) await nurse1.screenshot({ path: shots + "/nurse-desktop.png" });

// A second nurse opens a report, the first claims it, the second's claim gets the 409 path.
const emergencyId = cfg.emergency_report;
const nurse2 = await page(cfg.real, cfg.keys.nurse2);
await nurse2.login("/nurse");
await nurse2.waitForSelector(`#queue tr[data-id="${emergencyId}"]`, { timeout: T });
await nurse2.click(`#queue tr[data-id="${emergencyId}"]`);
await nurse2.waitForSelector("#detail:not(.hidden)");
const claim = await nurse1.request.post(cfg.real + `/v1/assessments/${emergencyId}/claim`, {
  headers: { Authorization: "Bearer " + cfg.keys.nurse1 }, data: {},
});
assert.equal(claim.status(), 200);
await nurse2.click("#claim");
await nurse2.waitForSelector("#notice:not(.hidden)", { timeout: T });
assert.match(await nurse2.innerText("#notice"), /Not changed/);
await nurse2.waitForFunction((k) => document.getElementById("report").innerText.includes("claimed by " + k), cfg.keys.nurse1_id, { timeout: T });
step("nurse: a second nurse sees the 409 explained and the view refreshed");
const nursePhone = await page(cfg.real, cfg.keys.nurse2, { width: 360, height: 740 });
await nursePhone.login("/nurse");
await nursePhone.waitForSelector("#queue tr", { timeout: T });
if (shots) await nursePhone.screenshot({ path: shots + "/nurse-phone.png", fullPage: true });

// --- Admin: create a key (secret shown once), revoke it, the revoked key is refused.
const admin = await page(cfg.real, cfg.keys.admin);
await admin.login("/admin");
await admin.waitForSelector("#keys tr", { timeout: T });
await admin.fill("#k-name", "kiosk in the waiting room");
await admin.selectOption("#k-role", "patient_app");
await admin.click("#create");
await admin.waitForSelector("#secret-box:not(.hidden)");
const secret = (await admin.innerText("#secret")).trim();
assert.match(secret, /^msk_/);
const newId = secret.split("_")[1];
const ok = await admin.request.get(cfg.real + "/v1/models", { headers: { Authorization: "Bearer " + secret } });
assert.equal(ok.status(), 200);
await admin.click(`#keys tr[data-key="${newId}"] button`);
await admin.waitForFunction((id) => document.querySelector(`#keys tr[data-key="${id}"]`).innerText.includes("revoked"), newId, { timeout: T });
const refused = await admin.request.get(cfg.real + "/v1/models", { headers: { Authorization: "Bearer " + secret } });
assert.equal(refused.status(), 401);
await admin.fill("#a-action", "key.revoke");
await admin.click("#audit-form button");
await admin.waitForFunction((id) => document.getElementById("audit").innerText.includes(id), newId, { timeout: T });
await admin.waitForSelector("#charts figure svg", { timeout: T });
step("admin: key created, shown once, revoked and refused; audit filter; metrics charts");
if (shots) {
  await admin.fill("#a-action", "");
  await admin.click("#audit-form button");
  await admin.screenshot({ path: shots + "/admin-desktop.png", fullPage: true });
  const adminPhone = await page(cfg.real, cfg.keys.admin, { width: 360, height: 740 });
  await adminPhone.login("/admin");
  await adminPhone.waitForSelector("#charts figure svg", { timeout: T });
  await adminPhone.screenshot({ path: shots + "/admin-phone.png" });
}

// --- Markup from the model and from a patient renders inert (scripted engine).
const xss = await page(cfg.scripted, cfg.keys.scripted_patient);
await xss.login("/");
await send(xss, "hello <img src=x onerror=\"window.__xss='patient'\"> <script>window.__xss='patient2'</script>");
const inert = await lastAnswer(xss);
assert.ok(inert.includes("<script>") && inert.includes("onerror"), inert);
assert.equal(await xss.evaluate(() => window.__xss), undefined);
assert.equal(await xss.locator("#log img, #log script").count(), 0);
assert.ok((await xss.innerText("#log li.user")).includes("<img src=x"));
await xss.click("#end");
await xss.waitForSelector("#notice:not(.hidden)", { timeout: T });
const xssNurse = await page(cfg.scripted, cfg.keys.scripted_nurse);
await xssNurse.login("/nurse");
await xssNurse.waitForSelector("#queue tr", { timeout: T });
await xssNurse.click("#queue tr");
await xssNurse.waitForSelector("#detail:not(.hidden)");
assert.equal(await xssNurse.evaluate(() => window.__xss), undefined);
assert.equal(await xssNurse.locator("#report img, #queue img, script:not([src])").count(), 0);
step("markup from the model and from a patient message renders as text");

// A 429 is shown with the time to retry.
const limited = await page(cfg.scripted, cfg.keys.scripted_limited);
const seen = [];
limited.on("response", (r) => seen.push(r.status() + " " + new URL(r.url()).pathname));
await limited.login("/");
await limited.waitForSelector("#error", { state: "hidden", timeout: T });
for (let i = 0; i < 4 && !(await limited.isVisible("#error")); i++) {
  await send(limited, "Is it fine to take paracetamol with food? " + i);
  await limited.waitForFunction(() => !document.getElementById("send").disabled, null, { timeout: T });
}
const limitText = await limited.innerText("#error");
assert.match(limitText, /retry in \d+ s/, limitText + " after " + seen.join(", "));
step("patient: a 429 shows the retry time");

for (const p of [patient, emergency, triage, nurse1, nurse2, admin, xss, xssNurse]) {
  const real = p.errors.filter((e) => !/status of (4\d\d|503)/.test(e));
  assert.deepEqual(real, [], "no script errors on " + p.url());
}
await browser.close();
console.log("all page checks passed");
