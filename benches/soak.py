#!/usr/bin/env python3
"""Soak test: many concurrent SSE clients, some hostile, for a fixed time.

Starts `medserve serve` (open mode, a throwaway database), then for --minutes runs:
  * --clients streaming chat clients back to back; a quarter of them misbehave: they read
    slowly (a few bytes every second), or disconnect at a random point;
  * one client of short non-stream requests, one every second.
Measured: errors (HTTP >= 500, error events, connection failures) of the well-behaved
clients; the largest gap between two text events of a well-behaved stream (this includes the
output policy holding back an unfinished sentence, up to `holdback_chars`); the engine's
gaps between deltas of every stream, from the server's `medserve_inter_token_latency_seconds`
histogram (the time a stream waited for the engine after its previous delta was delivered,
so a stall caused by another client and not by the policy or the stream's own reader); and
the server's RSS over time (flat = no leak). Prints a table.

Standard library only.  Example (after `make setup`):
    python3 benches/soak.py --minutes 10 --clients 64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
# The served model's id, read from /v1/models once the server is ready.
MODEL_ID = ["model"]


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def request(port: int, body: dict, behaviour: str, stats: dict, rng: random.Random,
                  deadline: float) -> None:
    """One chat request; `behaviour` is good, slow or drop. A slow reader gives up at the
    deadline (it could otherwise take longer than the run to drain a finished stream)."""
    payload = json.dumps(body).encode()
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
    except OSError:
        stats["conn_fail"] += behaviour == "good"
        return
    writer.write(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    drop_after = rng.randint(1, 40)
    sent = last = time.monotonic()
    started = False
    events = 0
    try:
        status_line = await asyncio.wait_for(reader.readline(), 120)
        status = int(status_line.split()[1]) if status_line else 0
        if status != 200:
            if behaviour == "good":
                stats["rejected" if status == 429 else "errors"] += 1
            return
        buf = b""
        while True:
            if behaviour == "slow":
                if time.monotonic() > deadline:
                    break
                chunk = await reader.read(16)
                await asyncio.sleep(1.0)
            else:
                chunk = await asyncio.wait_for(reader.read(4096), 120)
            if not chunk:
                break
            now = time.monotonic()
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                if ev.startswith(b":"):
                    continue  # keep-alive comment
                events += 1
                if behaviour == "good":
                    # Gaps between events that carry text, from the first one on: the wait
                    # for an engine slot before it is queueing, reported apart.
                    if b'"content":"' in ev and b'"content":""' not in ev:
                        if started:
                            stats["max_gap"] = max(stats["max_gap"], now - last)
                            stats["gaps_over_2s"] += (now - last) > 2.0
                        else:
                            stats["first_text"].append(now - sent)
                            started = True
                        last = now
                    if b'"error"' in ev:
                        stats["errors"] += 1
            if behaviour == "drop" and events >= drop_after:
                break
        stats["done"][behaviour] += 1
    except (asyncio.TimeoutError, OSError, ValueError, IndexError):
        stats["errors"] += behaviour == "good"
    finally:
        writer.close()


async def client(port: int, idx: int, deadline: float, stats: dict, seed: int, hostile: bool) -> None:
    rng = random.Random(seed + idx)
    behaviour = "good" if idx % 4 or not hostile else rng.choice(["slow", "drop"])
    while time.monotonic() < deadline:
        body = {
            "model": MODEL_ID[0],
            "messages": [{"role": "user", "content": rng.choice([
                "What helps a sore throat?", "How much water should I drink a day?",
                "Tips for better sleep please", "Why do I sneeze in bright light?"])}],
            "stream": True,
            "max_tokens": rng.randint(16, 96),
            "temperature": 0,
            "medserve": {"retrieval": {"enabled": False}},
        }
        await request(port, body, behaviour, stats, rng, deadline)


async def short_requests(port: int, deadline: float, stats: dict) -> None:
    rng = random.Random(1)
    while time.monotonic() < deadline:
        t = time.monotonic()
        body = {"model": MODEL_ID[0], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4,
                "medserve": {"retrieval": {"enabled": False}}}
        payload = json.dumps(body).encode()
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 120)
            writer.close()
            status = int(data.split(b" ", 2)[1])
            stats["short"].append(time.monotonic() - t)
            stats["short_errors"] += status not in (200, 429)
            stats["short_429"] += status == 429
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            stats["short_errors"] += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - t)))


async def itl_buckets(port: int) -> dict:
    """The server's inter-token latency histogram: {upper bound: cumulative count}."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    await writer.drain()
    raw = (await reader.read()).decode()
    writer.close()
    out = {}
    for line in raw.splitlines():
        if line.startswith("medserve_inter_token_latency_seconds_bucket{le=\""):
            le = line.split('"')[1]
            out[float("inf") if le == "+Inf" else float(le)] = int(line.rsplit(" ", 1)[1])
    return out


async def sample_rss(pid: int, deadline: float, samples: list) -> None:
    start = time.monotonic()
    while time.monotonic() < deadline:
        samples.append((time.monotonic() - start, rss_mib(pid)))
        await asyncio.sleep(10)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.expanduser("~/.cache/medserve/target/release/medserve"))
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q8_0.gguf")
    ap.add_argument("--port", type=int, default=18093)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--control", action="store_true",
                    help="every client well-behaved: the baseline that shows which gaps come from "
                         "sharing the engine (long held-back sentences, 8 sequences decoding at once) "
                         "rather than from a misbehaving client")
    a = ap.parse_args()
    db = tempfile.mkdtemp(prefix="medserve-soak-") + "/soak.db"
    proc = subprocess.Popen(
        [a.bin, "serve", "--auth", "open", "--port", str(a.port), "--model", a.model, "--db", db,
         "--retrieval", "false", "--max-queue", str(a.clients * 2), "--write-timeout-secs", "10"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                r, w = await asyncio.open_connection(HOST, a.port)
                w.write(b"GET /ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                await w.drain()
                line = await r.readline()
                w.close()
                if b" 200 " in line:
                    r, w = await asyncio.open_connection(HOST, a.port)
                    w.write(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    await w.drain()
                    raw = await r.read()
                    w.close()
                    MODEL_ID[0] = json.loads(raw.split(b"\r\n\r\n", 1)[1])["data"][0]["id"]
                    break
            except OSError:
                pass
            await asyncio.sleep(0.5)
        stats = {"errors": 0, "rejected": 0, "conn_fail": 0, "max_gap": 0.0, "gaps_over_2s": 0,
                 "done": {"good": 0, "slow": 0, "drop": 0}, "first_text": [], "short": [], "short_errors": 0, "short_429": 0}
        samples: list = []
        itl_before = await itl_buckets(a.port)
        deadline = time.monotonic() + a.minutes * 60
        await asyncio.gather(
            *(client(a.port, i, deadline, stats, a.seed, not a.control) for i in range(a.clients)),
            short_requests(a.port, deadline, stats),
            sample_rss(proc.pid, deadline, samples),
        )
        itl_after = await itl_buckets(a.port)
        itl = {le: itl_after[le] - itl_before.get(le, 0) for le in itl_after}
        short = sorted(stats["short"]) or [0.0]
        rss = [s[1] for s in samples] or [0.0]
        hostile = 0 if a.control else a.clients // 4
        print(f"| soak | {a.minutes:g} min, {a.clients} SSE clients ({hostile} slow or dropping), 1 short request/s |")
        print("|---|---|")
        print(f"| well-behaved streams completed | {stats['done']['good']} |")
        print(f"| misbehaving streams (slow / dropped) | {stats['done']['slow']} / {stats['done']['drop']} |")
        print(f"| model | {MODEL_ID[0]} |")
        print(f"| errors of well-behaved clients (non-200 other than 429, error events, failed connections) | {stats['errors'] + stats['conn_fail']} |")
        print(f"| 429 (queue full) of well-behaved clients | {stats['rejected']} |")
        first = sorted(stats["first_text"]) or [0.0]
        print(f"| well-behaved streams: first text after p50 / p99 (queueing for an engine slot) | {first[len(first) // 2]:.2f} s / {first[min(len(first) - 1, int(len(first) * 0.99))]:.2f} s |")
        print(f"| largest gap between text events of a well-behaved stream | {stats['max_gap']:.2f} s |")
        print(f"| text-event gaps over 2 s (includes the policy's sentence hold-back) | {stats['gaps_over_2s']} |")
        total = itl.get(float("inf"), 0)
        print(f"| engine gaps between deltas, all streams: n / over 1 s / over 2 s / over 5 s | "
              f"{total} / {total - itl.get(1.0, 0)} / {total - itl.get(2.0, 0)} / {total - itl.get(5.0, 0)} |")
        print(f"| short requests: n / 5xx / 429 / p50 / p99 | {len(stats['short'])} / {stats['short_errors']} / {stats['short_429']} / {short[len(short) // 2]:.2f} s / {short[min(len(short) - 1, int(len(short) * 0.99))]:.2f} s |")
        print(f"| RSS MiB first / last / max | {rss[0]:.0f} / {rss[-1]:.0f} / {max(rss):.0f} |")
        minute = {int(t // 60): r for t, r in samples}
        print("| RSS MiB by minute | " + " ".join(f"{m}:{r:.0f}" for m, r in sorted(minute.items())) + " |")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    asyncio.run(main())
