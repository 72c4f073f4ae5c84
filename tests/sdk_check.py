"""Drives a running medserve with the official OpenAI Python SDK and asserts what it returns.

usage: python sdk_check.py BASE_URL MODEL
"""
import json
import sys

import openai
from openai import OpenAI

base, model = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base + "/v1", api_key="not-needed", max_retries=0)

# Non-streaming.
r = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "What is a normal body temperature?"}],
    temperature=0,
    max_tokens=16,
)
assert r.object == "chat.completion", r
assert r.choices[0].message.role == "assistant"
assert r.choices[0].message.content, r
assert r.choices[0].finish_reason in ("stop", "length"), r
assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
assert r.system_fingerprint.startswith("fp_")
assert r.model_extra["medserve"]["seed"] >= 0
non_stream_text = r.choices[0].message.content

# Streaming, with usage.
chunks = list(
    client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is a normal body temperature?"}],
        temperature=0,
        max_tokens=16,
        stream=True,
        stream_options={"include_usage": True},
    )
)
assert chunks[0].choices[0].delta.role == "assistant"
text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
assert text == non_stream_text, (text, non_stream_text)
finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
assert len(finals) == 1 and finals[0].choices[0].finish_reason == r.choices[0].finish_reason
assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == r.usage.completion_tokens

# A 400 comes back as the SDK's BadRequestError with our fields.
try:
    client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], temperature=5
    )
    raise AssertionError("temperature=5 should fail")
except openai.BadRequestError as e:
    assert e.status_code == 400
    assert e.body["param"] == "temperature", e.body
    assert e.body["type"] == "invalid_request_error"

# Unknown model: NotFoundError.
try:
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "hi"}])
    raise AssertionError("unknown model should fail")
except openai.NotFoundError as e:
    assert e.body["code"] == "model_not_found", e.body

# Embeddings: the SDK asks for base64 by default and decodes it.
e = client.embeddings.create(
    model="all-MiniLM-L6-v2", input=["fever in a baby", "a feverish infant", "tax forms"]
)
assert len(e.data) == 3 and [d.index for d in e.data] == [0, 1, 2]
vecs = [d.embedding for d in e.data]
assert all(len(v) == 384 for v in vecs)
dot = lambda a, b: sum(x * y for x, y in zip(a, b))
assert abs(dot(vecs[0], vecs[0]) - 1) < 1e-3
assert dot(vecs[0], vecs[1]) > dot(vecs[0], vecs[2]), "paraphrases are closer"
assert e.usage.prompt_tokens > 0 and e.usage.total_tokens == e.usage.prompt_tokens
f = client.embeddings.create(model="all-MiniLM-L6-v2", input="fever in a baby", encoding_format="float")
assert max(abs(a - b) for a, b in zip(f.data[0].embedding, vecs[0])) < 1e-5

# Grounded answer: citations as annotations.
g = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "How is the qSOFA score calculated?"}],
    temperature=0,
    max_tokens=8,
)
ann = g.choices[0].message.annotations
assert ann and ann[0].type == "url_citation" and ann[0].url_citation.url.startswith("corpus://"), ann

# Tool calling: a forced call, answered by the client, then the model's answer.
qsofa = {"type": "function", "function": {
    "name": "qsofa", "description": "quick SOFA score",
    "parameters": {"type": "object", "properties": {
        "respiratory_rate": {"type": "number"}, "systolic_bp_mmhg": {"type": "number"},
        "altered_mentation": {"type": "boolean"}},
        "required": ["respiratory_rate", "systolic_bp_mmhg", "altered_mentation"],
        "additionalProperties": False}}}
ask = [{"role": "user", "content": "RR 24, systolic BP 95, confused. Calculate qSOFA."}]
opts = dict(model=model, temperature=0, seed=3, max_tokens=80,
            extra_body={"medserve": {"retrieval": {"enabled": False}}})
t = client.chat.completions.create(messages=ask, tools=[qsofa], tool_choice="required", **opts)
assert t.choices[0].finish_reason == "tool_calls", t
call = t.choices[0].message.tool_calls[0]
assert call.type == "function" and call.function.name == "qsofa" and call.id.startswith("call_")
args = json.loads(call.function.arguments)
assert set(args) == {"respiratory_rate", "systolic_bp_mmhg", "altered_mentation"}, args
# The SDK accumulates the streamed call the same way.
acc = {}
for c in client.chat.completions.create(messages=ask, tools=[qsofa], tool_choice="required", stream=True, **opts):
    for d in (c.choices[0].delta.tool_calls or []) if c.choices else []:
        a = acc.setdefault(d.index, {"id": d.id, "name": d.function.name, "arguments": ""})
        a["arguments"] += d.function.arguments or ""
assert acc[0]["name"] == "qsofa" and acc[0]["arguments"] == call.function.arguments, (acc, call)
# The client runs the tool and sends the result back.
history = ask + [t.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": '{"score": 1, "high_risk": false}'}]
a = client.chat.completions.create(messages=history, tools=[qsofa], **opts)
assert a.choices[0].finish_reason in ("stop", "length", "tool_calls"), a
# A tool message answering no call is a 400 naming it.
try:
    client.chat.completions.create(messages=ask + [{"role": "tool", "tool_call_id": "nope", "content": "{}"}], **opts)
    raise AssertionError("an unmatched tool message should fail")
except openai.BadRequestError as e:
    assert e.body["param"] == "messages[1].tool_call_id", e.body
# The server runs a built-in tool itself.
b = client.chat.completions.create(messages=ask, tool_choice="required",
    **{**opts, "extra_body": {"medserve": {"retrieval": {"enabled": False}, "tools": ["qsofa"]}}})
runs = b.model_extra["medserve"]["tool_runs"]
assert runs and runs[0]["name"] == "qsofa", b
assert b.choices[0].message.tool_calls is None
# Structured output.
j = client.chat.completions.create(messages=[{"role": "user", "content": "Is a cold urgent? Answer as JSON."}],
    response_format={"type": "json_schema", "json_schema": {"name": "u", "strict": True, "schema": {
        "type": "object", "properties": {"urgent": {"type": "boolean"}}, "required": ["urgent"],
        "additionalProperties": False}}},
    **{**opts, "extra_body": {"medserve": {"retrieval": {"enabled": False}, "audience": "clinician"}}})
assert isinstance(json.loads(j.choices[0].message.content)["urgent"], bool), j

models = client.models.list()
# The chat model, then the embedding model (its name is what /v1/embeddings takes).
assert [m.id for m in models.data] == [model, "all-MiniLM-L6-v2"], models
assert client.models.retrieve("all-MiniLM-L6-v2").id == "all-MiniLM-L6-v2"
# Moderations from the guardrails, parsed by the SDK's own types.
mod = client.moderations.create(input=[
    "I want to end my life tonight, I have the pills ready.",
    "What is a normal resting heart rate?",
])
assert mod.model.startswith("medserve-guard-"), mod
harm, benign = mod.results
assert harm.flagged and harm.categories.self_harm and harm.categories.self_harm_intent, harm
assert harm.category_scores.self_harm > 0.5, harm
assert harm.model_extra["medserve"]["decision"] == "emergency", harm
assert not benign.flagged and benign.model_extra["medserve"]["decision"] == "proceed", benign
assert client.moderations.create(input="hello", model="omni-moderation-latest").results[0].flagged is False
try:
    client.moderations.create(input=[])
    raise AssertionError("an empty input should fail")
except openai.BadRequestError as e:
    assert e.body["param"] == "input", e.body
# Legacy completions: text, echo with prompt logprobs, streaming, n, and a 400.
clin = {"medserve": {"audience": "clinician"}}
c = client.completions.create(model=model, prompt="Aspirin is a medicine that", max_tokens=8,
    temperature=0, extra_body=clin)
assert c.object == "text_completion" and c.choices[0].text, c
assert c.usage.completion_tokens >= 1 and c.usage.prompt_tokens >= 4, c
e = client.completions.create(model=model, prompt="Aspirin is a medicine that", max_tokens=1,
    temperature=0, echo=True, logprobs=1, extra_body=clin)
lp = e.choices[0].logprobs
assert e.choices[0].text.startswith("Aspirin is a medicine that"), e
assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None, lp
assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.text_offset) == c.usage.prompt_tokens + 1, lp
assert all(x < 0 or x == 0 for x in lp.token_logprobs[1:]), lp
parts = list(client.completions.create(model=model, prompt=["One", "Two"], max_tokens=4, n=2,
    temperature=0.7, seed=3, stream=True, extra_body=clin))
assert sorted({ch.index for p in parts for ch in p.choices}) == [0, 1, 2, 3], parts
assert parts[-1].choices == [] and parts[-1].model_extra["medserve"]["seed"] == 3, parts[-1]
try:
    client.completions.create(model=model, prompt="hi", suffix="there")
    raise AssertionError("suffix should fail")
except openai.BadRequestError as err:
    assert err.body["param"] == "suffix", err.body
print("sdk checks passed")
