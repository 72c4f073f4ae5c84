#!/usr/bin/env python3
"""Time to first token of requests that carry every built-in tool (`medserve.tools`), one
after another with different questions, against a running server: the first pays the
prefill of the tool definitions, the next reuse it from the prefix cache. Prints a table.

    python3 benches/tools_prefix.py http://127.0.0.1:8080
"""
import json, sys, time, urllib.request
base = sys.argv[1]
def get(p): return json.load(urllib.request.urlopen(base+p))
def post(path, body):
    r = urllib.request.Request(base+path, json.dumps(body).encode(), {"content-type":"application/json"})
    return json.load(urllib.request.urlopen(r, timeout=900))
m = get("/v1/models")["data"][0]["id"]
tools = [t["function"]["name"] for t in get("/v1/tools")["data"]]
for q in ["What is a normal heart rate?", "How much water should I drink a day?", "What helps with a cold?"]:
    body = {"model": m, "max_tokens": 8, "temperature": 0, "messages": [{"role": "user", "content": q}],
            "medserve": {"tools": tools, "audience": "clinician"}}
    t = time.time(); v = post("/v1/chat/completions", body); dt = time.time() - t
    print(f"| {q} | {len(tools)} | {v['usage']['prompt_tokens']} | {v['medserve'].get('ttft_ms')} | {dt:.1f} |", flush=True)
