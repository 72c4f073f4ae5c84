#!/usr/bin/env bash
# The SIGKILL durability campaign: 100 kills of `medserve serve` under load, then every
# acknowledged report and training record must be in the store. Prints the durability line.
# Run after `make setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medserve/target}"
export MEDSERVE_MODEL="$PWD/models/SmolLM2-135M-Instruct.Q8_0.gguf"
MEDSERVE_KILLS="${MEDSERVE_KILLS:-100}" cargo test --release --workspace --test durability -- --nocapture 2>&1 | grep -E "durability:|test result|panicked"
