"""A throwaway `medserve serve` for the benchmark scripts (standard library only)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
import urllib.request


@contextlib.contextmanager
def served(binary: str, model: str, port: int, *extra: str):
    """Starts `medserve serve` in open mode on `port` with a throwaway database, waits until
    the model is loaded, yields the served model's id, and stops the server afterwards."""
    db = tempfile.mkdtemp(prefix="medserve-bench-") + "/bench.db"
    proc = subprocess.Popen([binary, "serve", "--auth", "open", "--port", str(port), "--model", model,
                             "--db", db, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as r:
                    if r.status == 200:
                        break
            except Exception:
                pass
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=60) as r:
            yield json.loads(r.read())["data"][0]["id"]
    finally:
        proc.terminate()
        proc.wait(timeout=60)
