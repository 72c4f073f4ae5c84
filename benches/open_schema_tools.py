#!/usr/bin/env python3
"""Forced tool calls with a schema that names its properties but leaves
`additionalProperties` unset (as LangChain's pydantic tools do), at the client's default
sampling and a small budget: how often a valid call arrives. The same tool with
`additionalProperties: true` written out is what the grammar did before budgeted objects
were closed to unnamed keys (an explicit choice is kept), so both rows come from one run of
one binary. usage: python3 benches/open_schema_tools.py BASE_URL MODEL TRIALS MAX_TOKENS
"""
import json
import sys
import urllib.request

base, model, trials, max_tokens = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
PARAMS = {"type": "object", "required": ["respiratory_rate", "systolic_bp_mmhg", "altered_mentation"],
          "properties": {"respiratory_rate": {"type": "number", "description": "breaths per minute"},
                         "systolic_bp_mmhg": {"type": "number", "description": "systolic blood pressure"},
                         "altered_mentation": {"type": "boolean", "description": "new confusion"}}}
ASK = "Respiratory rate 24, systolic 95, and she is confused. Score qSOFA."


def trial(params, choice, seed):
    tool = {"type": "function", "function": {"name": "Qsofa", "description": "Quick SOFA score.",
                                             "parameters": params}}
    body = {"model": model, "max_tokens": max_tokens, "seed": seed, "tools": [tool],
            "tool_choice": choice, "messages": [{"role": "user", "content": ASK}],
            "medserve": {"retrieval": {"enabled": False}}}
    req = urllib.request.Request(base + "/v1/chat/completions", json.dumps(body).encode(),
                                 {"content-type": "application/json"})
    r = json.load(urllib.request.urlopen(req, timeout=300))
    calls = r["choices"][0]["message"].get("tool_calls") or []
    if not calls:
        return False
    try:
        args = json.loads(calls[0]["function"]["arguments"])
    except ValueError:
        return False
    return (isinstance(args.get("respiratory_rate"), (int, float))
            and isinstance(args.get("systolic_bp_mmhg"), (int, float))
            and isinstance(args.get("altered_mentation"), bool))


print(f"| schema | tool_choice | valid calls of {trials} (max_tokens {max_tokens}, temperature 1) |")
print("|---|---|---|")
named = {"type": "function", "function": {"name": "Qsofa"}}
for label, params in [("additionalProperties: true (before)", {**PARAMS, "additionalProperties": True}),
                      ("additionalProperties unset (after)", PARAMS)]:
    for cname, choice in [("required", "required"), ("named", named)]:
        ok = sum(trial(params, choice, 1000 + i) for i in range(trials))
        print(f"| {label} | {cname} | {ok} |")
