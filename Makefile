# medserve: `make setup` installs what the project needs, `make serve` serves,
# `make test` runs every test. See README.md.
HOST ?= 127.0.0.1
PORT ?= 8080
# `make serve` is for local development: open mode (no keys, loopback only). Serve with
# keys and roles with `make serve AUTH=keys` (see README, Care workflow).
AUTH ?= open
export CARGO_TARGET_DIR ?= $(HOME)/.cache/medserve/target
BIN := $(CARGO_TARGET_DIR)/release/medserve
MODEL := models/SmolLM2-135M-Instruct.Q8_0.gguf
PY_VENV := $(HOME)/.cache/medserve/venv
PY_AGENTS_VENV := $(HOME)/.cache/medserve/venv-agents

.PHONY: setup postgres browser build build-portable models serve test test-rust test-sdk bench clean-models

setup: build models $(PY_VENV)/.installed $(PY_AGENTS_VENV)/.installed postgres browser

# Debian's Chromium and playwright-core for the page tests (tests/pages.rs), and the
# official OpenAI Node SDK (tests/sdk.rs).
browser:
	scripts/install-browser.sh

# Debian's PostgreSQL server binaries (tests start a throwaway cluster of their own).
postgres:
	scripts/install-postgres.sh

build:
	scripts/patch-crates.sh
	cargo build --release --workspace --all-targets

# A binary for any x86-64 CPU (slower: candle's AVX2 kernels are compiled out).
build-portable:
	scripts/patch-crates.sh
	RUSTFLAGS="" cargo build --release -p medserve-server

# The LLM (and its Q8_0 requantisation), the embedding model with ONNX Runtime, and the
# guideline index built from corpus/ (incremental: only changed documents are re-embedded).
models: build
	scripts/fetch-models.sh $(BIN)
	scripts/fetch-embedder.sh
	$(BIN) index build --corpus corpus --out models/index

$(MODEL) models/index/index.json:
	$(MAKE) models

# The test venv: the official OpenAI SDK, LangChain's OpenAI client, lm-evaluation-harness
# (its API models only: no torch) and an independent OpenAPI validator. Reinstalled when
# this list changes.
PY_DEPS := openai==1.* httpx openapi-spec-validator==0.7.* langchain-openai==1.1.* lm-eval[api]==0.4.13
$(PY_VENV)/.installed: Makefile
	python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install --quiet $(PY_DEPS)
	touch $@

# The OpenAI Agents SDK and inspect_ai need openai 3.x (the venv above keeps the 1.x SDK
# that langchain-openai 1.1 supports): a venv of their own. Reinstalled when this list changes.
PY_AGENTS_DEPS := openai-agents==0.24.* inspect-ai==0.3.285
$(PY_AGENTS_VENV)/.installed: Makefile
	python3 -m venv $(PY_AGENTS_VENV)
	$(PY_AGENTS_VENV)/bin/pip install --quiet $(PY_AGENTS_DEPS)
	touch $@

serve: build $(MODEL) models/index/index.json
	$(BIN) serve --host $(HOST) --port $(PORT) --model $(MODEL) --auth $(AUTH)

test: setup
	MEDSERVE_MODEL=$(CURDIR)/$(MODEL) MEDSERVE_PYTHON=$(PY_VENV)/bin/python \
		MEDSERVE_AGENTS_PYTHON=$(PY_AGENTS_VENV)/bin/python \
		cargo test --release --workspace --no-fail-fast -- --test-threads=1

bench: setup
	$(PY_VENV)/bin/python benches/load.py

clean-models:
	rm -f models/*.gguf
