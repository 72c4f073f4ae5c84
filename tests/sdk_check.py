"""Drives a running medserve with the official OpenAI Python SDK and asserts what it returns.

usage: python sdk_check.py BASE_URL MODEL
"""
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

models = client.models.list()
assert [m.id for m in models.data] == [model]
print("sdk checks passed")
