#!/usr/bin/env bash
# The Node-side test tools: Debian's Chromium (when missing) and playwright-core for the page
# tests, and the official OpenAI Node SDK for the SDK tests; npm packages pinned by each
# folder's package-lock.json.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
root="$(dirname "$0")/.."
if [ ! -d "$root/tests/browser/node_modules/playwright-core" ]; then
    (cd "$root/tests/browser" && npm ci --no-audit --no-fund --silent)
fi
if [ ! -d "$root/tests/sdk_node/node_modules/openai" ]; then
    (cd "$root/tests/sdk_node" && npm ci --no-audit --no-fund --silent)
fi
