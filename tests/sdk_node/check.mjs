// Drives a running medserve with the official OpenAI Node SDK (6.x) and asserts what it
// returns. usage: node check.mjs BASE_URL MODEL
import assert from "node:assert/strict";
import OpenAI from "openai";

const [base, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + "/v1", apiKey: "not-needed", maxRetries: 0 });
const ask = [{ role: "user", content: "What is a normal body temperature?" }];

// Non-streaming.
const r = await client.chat.completions.create({ model, messages: ask, temperature: 0, max_tokens: 16 });
assert.equal(r.object, "chat.completion");
assert.ok(r.choices[0].message.content);
assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
assert.ok(r.medserve.seed >= 0, "the medserve extension is on the response");

// Streaming with usage: the same text as the non-streamed answer.
const stream = await client.chat.completions.create({
  model, messages: ask, temperature: 0, max_tokens: 16, stream: true,
  stream_options: { include_usage: true },
});
let text = "";
let usage = null;
let finish = null;
for await (const chunk of stream) {
  if (chunk.choices.length) {
    text += chunk.choices[0].delta.content || "";
    finish = chunk.choices[0].finish_reason || finish;
  }
  if (chunk.usage) usage = chunk.usage;
}
assert.equal(text, r.choices[0].message.content);
assert.equal(finish, r.choices[0].finish_reason);
assert.equal(usage.completion_tokens, r.usage.completion_tokens);

// The SDK's stream helper (runner) sees the same content.
const runner = client.chat.completions.stream({ model, messages: ask, temperature: 0, max_tokens: 16 });
const final = await runner.finalChatCompletion();
assert.equal(final.choices[0].message.content, r.choices[0].message.content);

// A 400 is the SDK's BadRequestError with our fields.
await assert.rejects(
  client.chat.completions.create({ model, messages: ask, temperature: 5 }),
  (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === "temperature",
);
// Unknown model: NotFoundError.
await assert.rejects(
  client.chat.completions.create({ model: "nope", messages: ask }),
  (e) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found",
);

// An emergency is answered with the fixed text and the red flag, whatever the model.
const em = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "My father collapsed and is not breathing." }],
});
assert.ok(em.medserve.red_flag.categories.length >= 1, JSON.stringify(em.medserve));

// Embeddings, and the model list naming the embedding model.
const emb = await client.embeddings.create({ model: "all-MiniLM-L6-v2", input: ["cough", "fever"] });
assert.equal(emb.data.length, 2);
assert.equal(emb.data[0].embedding.length, 384);
const models = [];
for await (const m of client.models.list()) models.push(m.id);
assert.deepEqual(models, [model, "all-MiniLM-L6-v2"]);

// Moderations from the guardrails.
const mod = await client.moderations.create({
  input: ["I want to end my life tonight, I have the pills ready.", "What is a normal resting heart rate?"],
});
assert.ok(mod.model.startsWith("medserve-guard-"));
assert.equal(mod.results[0].flagged, true);
assert.equal(mod.results[0].categories["self-harm"], true);
assert.equal(mod.results[0].medserve.decision, "emergency");
assert.equal(mod.results[1].flagged, false);

// A forced tool call arrives as a schema-valid call.
const qsofa = {
  type: "function",
  function: {
    name: "qsofa",
    description: "quick SOFA score",
    parameters: {
      type: "object",
      properties: {
        respiratory_rate: { type: "number" },
        systolic_bp_mmhg: { type: "number" },
        altered_mentation: { type: "boolean" },
      },
      required: ["respiratory_rate", "systolic_bp_mmhg", "altered_mentation"],
      additionalProperties: false,
    },
  },
};
const t = await client.chat.completions.create({
  model, temperature: 0, max_tokens: 64, tools: [qsofa], tool_choice: "required",
  messages: [{ role: "user", content: "Respiratory rate 24, systolic 95, confused. Score qSOFA." }],
  medserve: { retrieval: { enabled: false } },
});
const call = t.choices[0].message.tool_calls[0];
assert.equal(call.function.name, "qsofa");
const args = JSON.parse(call.function.arguments);
assert.equal(typeof args.respiratory_rate, "number");
assert.equal(typeof args.altered_mentation, "boolean");

console.log("node sdk checks passed");
