#!/usr/bin/env python3
"""Forced tool calls at the default temperature: how often the answer is a schema-valid call.

Starts `medserve serve` (open mode, throwaway database, retrieval off) and sends --trials
requests with `tool_choice: "required"` (and as many with a named tool), the client's
default sampling (temperature 1, no seed), `max_tokens` --max-tokens, one of three
function schemas in turn. A trial counts when the answer carries at least one tool call
whose name is offered and whose arguments parse as JSON and have every required property
of the right JSON type. Prints a table. Standard library only.

    python3 benches/forced_tools.py --trials 100 --max-tokens 64
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request

from served import served

TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city.",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                    "required": ["city", "unit"], "additionalProperties": False}}},
    {"type": "function", "function": {"name": "book_appointment", "description": "Book a GP appointment.",
     "parameters": {"type": "object", "properties": {"reason": {"type": "string"},
                    "days_from_now": {"type": "integer"}, "urgent": {"type": "boolean"}},
                    "required": ["reason", "days_from_now", "urgent"], "additionalProperties": False}}},
    {"type": "function", "function": {"name": "log_symptoms", "description": "Record symptoms.",
     "parameters": {"type": "object", "properties": {"symptoms": {"type": "array", "items": {"type": "string"}},
                    "note": {"type": "string"}}, "required": ["symptoms"], "additionalProperties": False}}},
]
PROMPTS = ["What's the weather like in Leeds?", "I need to see a GP about my cough next week.",
           "Please note that I have a headache and a runny nose."]
TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict, "number": (int, float)}


def post(port: int, body: dict) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def valid(call: dict, tool: dict) -> bool:
    f = tool["function"]
    if call.get("function", {}).get("name") != f["name"]:
        return False
    try:
        args = json.loads(call["function"]["arguments"])
    except (ValueError, KeyError):
        return False
    props = f["parameters"]["properties"]
    return isinstance(args, dict) and all(
        k in args and isinstance(args[k], TYPES[props[k]["type"]]) and not (props[k]["type"] == "integer" and isinstance(args[k], bool))
        for k in f["parameters"]["required"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.expanduser("~/.cache/medserve/target/release/medserve"))
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q8_0.gguf")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--port", type=int, default=18096)
    a = ap.parse_args()
    with served(a.bin, a.model, a.port, "--retrieval", "false") as model:
        print(f"| tool_choice | trials | schema-valid call | finish_reason length | content with no call | misses by tool | max_tokens {a.max_tokens}, temperature 1 |")
        print("|---|---|---|---|---|---|---|")
        for choice in ("required", "named"):
            ok = length = empty = 0
            missed = {t["function"]["name"]: 0 for t in TOOLS}
            for i in range(a.trials):
                tool = TOOLS[i % 3]
                tc = "required" if choice == "required" else {"type": "function", "function": {"name": tool["function"]["name"]}}
                v = post(a.port, {"model": model, "max_tokens": a.max_tokens, "tools": [tool], "tool_choice": tc,
                                  "messages": [{"role": "user", "content": PROMPTS[i % 3]}]})
                c = v.get("choices", [{}])[0]
                calls = (c.get("message") or {}).get("tool_calls") or []
                hit = any(valid(x, tool) for x in calls)
                ok += hit
                missed[tool["function"]["name"]] += not hit
                if not hit and os.environ.get("FORCED_TOOLS_SHOW"):
                    print(json.dumps(c)[:600])
                length += c.get("finish_reason") == "length"
                empty += not calls and bool((c.get("message") or {}).get("content"))
            by_tool = ", ".join(f"{k} {v}" for k, v in missed.items())
            print(f"| {choice} | {a.trials} | **{ok / a.trials:.2f}** ({ok}) | {length} | {empty} | {by_tool} | |")


if __name__ == "__main__":
    main()
