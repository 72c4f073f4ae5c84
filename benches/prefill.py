#!/usr/bin/env python3
"""Prefill side by side: each server in turn on the same GGUF, the same long prompts
(~--prompt-tokens tokens, each opening with different words so no prefix cache can skip
them), `max_tokens` 1, greedy, non-streaming, one request at a time. Prints per target the
prompt tokens, time to first token (the whole request: what a client waits before the answer
starts) and prefill rate (prompt tokens / that time), then the ratios of the same run.

llama-server gets `cache_prompt: false` and reports its own prefill time (`timings.prompt_ms`),
shown beside. medserve's figure includes its input guardrails (they run before the engine).

    python3 benches/prefill.py --model-path FILE.gguf --prompt-tokens 500 \
      --target medserve="medserve serve --model {model} --port {port} --auth open --retrieval false" \
      --target llama="llama-server -m {model} --port {port} -t 2 -np 1 -c 4096"

With `--interleave` all targets are started together and each prompt is sent to every
target in turn (the order alternating from prompt to prompt), so a drift of the machine's
speed during the run affects every target alike; the servers stay idle while another one
works. Use it for ratios on a shared machine.

Standard library only; reuses load.py's server handling.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402

# Plain consumer-health prose (no emergency, no identifiers), cycled to the wanted length.
FILLER = (
    "Blood pressure is the force of blood pushing against the walls of the arteries. "
    "It is written as two numbers: the pressure when the heart beats and the pressure "
    "when it rests between beats. Regular exercise, less salt, limited alcohol and a "
    "healthy weight all help to keep it in a normal range. Many people with raised blood "
    "pressure feel well, which is why it is checked at routine visits. Medicines such as "
    "ACE inhibitors, calcium channel blockers and thiazide diuretics lower it in different "
    "ways, and the choice depends on age, other conditions and side effects. Home monitors "
    "can help people and their clinicians see how readings change over weeks. "
)
OPENINGS = [
    "I have been reading about blood pressure and want to understand it better.",
    "My family keeps talking about blood pressure, so here is what I found.",
    "For a school project on heart health I collected the following notes.",
    "Could you summarise this text about blood pressure in two sentences?",
    "Here is a leaflet from my pharmacy that I would like explained simply.",
    "What are the key points of the passage below about blood pressure?",
    "I copied this from a health website and have a question about it.",
    "Please read these notes on hypertension and tell me the main idea.",
]


def prompt(i: int, words: int) -> str:
    body = (FILLER * (words // len(FILLER.split()) + 1)).split()[:words]
    return f"{OPENINGS[i % len(OPENINGS)]} (note {i})\n\n" + " ".join(body) + "\n\nThanks."


async def post(port: int, payload: dict, timeout: float) -> tuple[float, dict]:
    body = json.dumps(payload).encode()

    async def go():
        t0 = time.perf_counter()
        reader, writer = await load._open(port, "POST", "/v1/chat/completions", body)
        try:
            status, headers = await load._read_head(reader)
            chunks = [c async for c in load._iter_body(reader, headers)]
        finally:
            writer.close()
        dt = time.perf_counter() - t0
        obj = json.loads(b"".join(chunks))
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {json.dumps(obj)[:300]}")
        return dt, obj

    return await asyncio.wait_for(go(), timeout)


def payload(model: str, llama: bool, i: int, words: int) -> dict:
    p = {
        "model": model,
        "messages": [{"role": "user", "content": prompt(i, words)}],
        "temperature": 0,
        "max_tokens": 1,
    }
    if llama:
        p["cache_prompt"] = False
    return p


async def measure(port: int, p: dict, timeout: float) -> dict:
    dt, obj = await post(port, p, timeout)
    usage = obj.get("usage") or {}
    t = obj.get("timings") or {}
    ms = obj.get("medserve") or {}
    return {
        "prompt_tokens": usage.get("prompt_tokens"),
        "request_s": dt,
        "engine_ttft_s": (ms.get("ttft_ms") or 0) / 1000 or None,
        "server_prompt_s": (t.get("prompt_ms") / 1000) if t.get("prompt_ms") else None,
        "server_prompt_n": t.get("prompt_n"),
    }


async def run_target(name: str, cmd: str, port: int, a, logdir: str) -> dict:
    srv = load.Server(name, cmd, port, logdir)
    llama = load.is_llama_server(cmd)
    rows = []
    try:
        srv.start()
        model = await srv.wait_ready(a.startup_timeout)
        words = int(a.prompt_tokens * 0.75)
        for i in range(a.warmup + a.prompts):
            row = await measure(port, payload(model, llama, i, words), a.timeout)
            if i < a.warmup:
                continue
            rows.append(row)
            load.log(f"{name}: {row}")
        return {"name": name, "rows": rows, "rss_mib": srv.peak_rss()["peak_kib"] / 1024}
    finally:
        srv.stop()


async def run_interleaved(targets: list[tuple[str, str, int]], a, logdir: str) -> list[dict]:
    """All servers up at once; prompt i goes to every target in turn, the order reversed on
    every other prompt."""
    servers = [load.Server(name, cmd, port, logdir) for name, cmd, port in targets]
    rows: dict[str, list] = {name: [] for name, _, _ in targets}
    try:
        models = []
        for srv in servers:
            srv.start()
            models.append(await srv.wait_ready(a.startup_timeout))
        words = int(a.prompt_tokens * 0.75)
        order = list(range(len(servers)))
        for i in range(a.warmup + a.prompts):
            for j in order if i % 2 == 0 else order[::-1]:
                srv = servers[j]
                p = payload(models[j], load.is_llama_server(srv.cmd), i, words)
                row = await measure(srv.port, p, a.timeout)
                if i >= a.warmup:
                    rows[srv.name].append(row)
                    load.log(f"{srv.name}: {row}")
        return [
            {"name": srv.name, "rows": rows[srv.name], "rss_mib": srv.peak_rss()["peak_kib"] / 1024}
            for srv in servers
        ]
    finally:
        for srv in servers:
            srv.stop()


def summary(r: dict) -> dict:
    rows = r["rows"]
    med = lambda k: statistics.median([x[k] for x in rows if x.get(k)]) if any(x.get(k) for x in rows) else None
    tok = med("prompt_tokens")
    req = med("request_s")
    return {
        "prompt_tokens": tok,
        "request_s": req,
        "rate": tok / req if tok and req else None,
        "server_prompt_s": med("server_prompt_s"),
        "server_rate": (med("server_prompt_n") / med("server_prompt_s")) if med("server_prompt_s") else None,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--target", action="append", required=True, metavar="NAME=CMD")
    p.add_argument("--model-path", required=True)
    p.add_argument("--prompt-tokens", type=int, default=500)
    p.add_argument("--prompts", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--port-base", type=int, default=18180)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--startup-timeout", type=float, default=300.0)
    p.add_argument("--interleave", action="store_true",
                   help="start all targets together and alternate their requests")
    a = p.parse_args()
    logdir = tempfile.mkdtemp(prefix="medserve-prefill-")
    targets = []
    for i, t in enumerate(a.target):
        name, tmpl = t.split("=", 1)
        cmd = tmpl.replace("{port}", str(a.port_base + i)).replace("{model}", shlex.quote(a.model_path))
        targets.append((name, cmd, a.port_base + i))
    if a.interleave:
        results = asyncio.run(run_interleaved(targets, a, logdir))
    else:
        results = [asyncio.run(run_target(name, cmd, port, a, logdir)) for name, cmd, port in targets]
    mode = "interleaved" if a.interleave else "one target after the other"
    print(f"\nprefill, ~{a.prompt_tokens}-token prompts, {a.prompts} requests each (medians), max_tokens 1, {mode}")
    print(f"{'target':<16}{'prompt tok':>11}{'TTFT s':>9}{'tok/s':>9}{'server prefill s':>18}{'server tok/s':>14}{'peak RSS MiB':>14}")
    sums = [summary(r) for r in results]
    f = lambda v, d=2: "-" if v is None else f"{v:.{d}f}"
    for r, s in zip(results, sums):
        print(f"{r['name']:<16}{f(s['prompt_tokens'], 0):>11}{f(s['request_s']):>9}{f(s['rate'], 1):>9}"
              f"{f(s['server_prompt_s']):>18}{f(s['server_rate'], 1):>14}{r['rss_mib']:>14.0f}")
    if len(sums) >= 2 and sums[0]["rate"] and sums[1]["rate"]:
        print(f"{'ratio':<16}{'':>11}{sums[0]['request_s'] / sums[1]['request_s']:>8.2f}x"
              f"{sums[0]['rate'] / sums[1]['rate']:>8.2f}x   (prefill rate {results[0]['name']}/{results[1]['name']}; higher is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
