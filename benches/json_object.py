#!/usr/bin/env python3
"""json_object answers under a max_tokens budget at the default temperature: how many parse as
JSON objects. usage: python3 benches/json_object.py BASE_URL N MAX_TOKENS (a server in open mode
serving the default model, e.g. `make serve`)."""
import json, sys, urllib.request
base, n, max_tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ok = 0; fin = {}
for i in range(n):
    body = {"model": "SmolLM2-135M-Instruct.Q8_0", "max_tokens": max_tokens, "seed": i,
            "response_format": {"type": "json_object"},
            "messages": [{"role": "user", "content": ["List three symptoms of flu as JSON.", "Describe a fever as a JSON object.", "Give me a JSON object about asthma."][i % 3]}],
            "medserve": {"retrieval": {"enabled": False}}}
    req = urllib.request.Request(base + "/v1/chat/completions", json.dumps(body).encode(), {"content-type": "application/json"})
    r = json.load(urllib.request.urlopen(req, timeout=300))
    c = r["choices"][0]
    fin[c["finish_reason"]] = fin.get(c["finish_reason"], 0) + 1
    try:
        v = json.loads(c["message"]["content"]); ok += isinstance(v, dict)
    except Exception:
        pass
print(f"json_object max_tokens={max_tokens} default temperature: {ok}/{n} parseable objects; finish reasons {fin}")
