#!/usr/bin/env python3
"""Generative vs verbatim grounding, measured through the public API.

Starts `medserve serve` (open mode, a throwaway database, the guideline index), then asks
  * `benches/grounding_questions.jsonl`: consumer-style questions labelled on-topic (the
    corpus covers them) or off-topic (it does not);
  * --medquad N MedQuAD questions (../shared/data/medquad, CC BY 4.0) with their reference
    answers. MedQuAD is not in the index, so every reference answer is held out of it.
in both modes, temperature 0, and prints per set and mode: answered (not "no vetted
information"), relevance to the reference answer (ROUGE-L F1 on words, and cosine
similarity of the server's own sentence encoder via /v1/embeddings), the share of answer
sentences a passage supports (`medserve.grounding_report`), output-policy interventions,
and latency. Then the relevance floor of verbatim mode: the best passage's dense similarity
of each labelled question, and the accuracy of "answer iff similarity >= t" for several t.

Standard library only.  Example (after `make setup`):
    python3 benches/grounding.py --medquad 30
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import random
import re
import urllib.request
import xml.etree.ElementTree as ET

from served import served

DISCLAIMER_START = "This is general information, not a diagnosis"


def post(port: int, path: str, body: dict) -> dict:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def rouge_l(candidate: str, reference: str) -> float:
    a, b = words(candidate), words(reference)
    if not a or not b:
        return 0.0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    p, r = lcs / len(a), lcs / len(b)
    return 2 * p * r / (p + r)


def cosine(u: list[float], v: list[float]) -> float:
    dot = sum(x * y for x, y in zip(u, v))
    nu, nv = math.sqrt(sum(x * x for x in u)), math.sqrt(sum(y * y for y in v))
    return dot / (nu * nv) if nu and nv else 0.0


def medquad(data: str, n: int, seed: int) -> list[dict]:
    pairs = []
    for f in sorted(glob.glob(os.path.join(data, "medquad", "*", "*.xml")) +
                    glob.glob(os.path.join(data, "medquad", "*", "*", "*.xml"))):
        try:
            root = ET.parse(f).getroot()
        except ET.ParseError:
            continue
        for qa in root.iter("QAPair"):
            q, a = qa.findtext("Question"), qa.findtext("Answer")
            if q and a and len(a.split()) >= 20:
                pairs.append({"text": q.strip(), "reference": " ".join(a.split()[:200])})
    random.Random(seed).shuffle(pairs)
    return pairs[:n]


def body_of(content: str) -> str:
    i = content.find(DISCLAIMER_START)
    return (content[:i] if i >= 0 else content).strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.expanduser("~/.cache/medserve/target/release/medserve"))
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q8_0.gguf")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--medquad", type=int, default=30)
    ap.add_argument("--max-tokens", type=int, default=120)
    ap.add_argument("--port", type=int, default=18095)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--modes", default="generative,verbatim", help="comma-separated modes to run")
    a = ap.parse_args()
    with served(a.bin, a.model, a.port) as model:
        own = [json.loads(l) for l in open("benches/grounding_questions.jsonl")]
        sets = {"own (on-topic)": [q for q in own if q["on_topic"]],
                "own (off-topic)": [q for q in own if not q["on_topic"]],
                "MedQuAD": medquad(a.data, a.medquad, a.seed)}
        rows, best_sim = [], []
        for name, qs in sets.items():
            for mode in a.modes.split(","):
                acc = {"n": 0, "answered": 0, "rouge": [], "sim": [], "sentences": 0, "supported": 0,
                       "interventions": 0, "ms": []}
                for q in qs:
                    v = post(a.port, "/v1/chat/completions", {
                        "model": model, "temperature": 0, "max_tokens": a.max_tokens,
                        "messages": [{"role": "user", "content": q["text"]}],
                        "medserve": {"grounding": mode}})
                    ms = v.get("medserve", {})
                    content = v["choices"][0]["message"]["content"] or ""
                    rep = ms.get("grounding_report") or {}
                    acc["n"] += 1
                    acc["ms"].append(ms.get("total_ms", 0))
                    if mode == "generative" and name.startswith("own"):
                        chunks = (ms.get("retrieval") or {}).get("chunks") or []
                        best = max([c.get("dense_score") or 0.0 for c in chunks] or [0.0])
                        best_sim.append((best, q["on_topic"]))
                    if rep.get("no_vetted_information") or ms.get("red_flag"):
                        continue
                    acc["answered"] += 1
                    acc["sentences"] += rep.get("sentences", 0)
                    acc["supported"] += rep.get("supported", 0)
                    acc["interventions"] += sum(1 for g in ms.get("guardrails", [])
                                                if g["stage"] == "output" and g["class"] != "disclaimer")
                    if "reference" in q:
                        text = body_of(content)
                        acc["rouge"].append(rouge_l(text, q["reference"]))
                        emb = post(a.port, "/v1/embeddings", {"model": "all-MiniLM-L6-v2",
                                                              "input": [text or ".", q["reference"]]})
                        acc["sim"].append(cosine(emb["data"][0]["embedding"], emb["data"][1]["embedding"]))
                rows.append((name, mode, acc))
        mean = lambda xs: f"{sum(xs) / len(xs):.3f}" if xs else "—"
        print("| set | mode | n | answered | ROUGE-L F1 | encoder similarity | supported sentences | policy interventions | latency p50 ms |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, mode, c in rows:
            ms = sorted(c["ms"]) or [0]
            sup = f"{c['supported'] / c['sentences']:.3f} ({c['supported']}/{c['sentences']})" if c["sentences"] else "—"
            print(f"| {name} | {mode} | {c['n']} | {c['answered']} | {mean(c['rouge'])} | {mean(c['sim'])} | {sup} | "
                  f"{c['interventions']} | {ms[len(ms) // 2]} |")
        print()
        print("| relevance floor t | on-topic answered | off-topic refused | accuracy |")
        print("|---|---|---|---|")
        on = [s for s, t in best_sim if t]
        off = [s for s, t in best_sim if not t]
        for t in (0.30, 0.35, 0.40, 0.45, 0.50, 0.55):
            a_on = sum(s >= t for s in on)
            r_off = sum(s < t for s in off)
            print(f"| {t:.2f} | {a_on}/{len(on)} | {r_off}/{len(off)} | {(a_on + r_off) / max(1, len(on) + len(off)):.3f} |")
        print()
        print("best dense similarity, on-topic:", " ".join(f"{s:.2f}" for s in sorted(on)))
        print("best dense similarity, off-topic:", " ".join(f"{s:.2f}" for s in sorted(off)))


if __name__ == "__main__":
    main()
