#!/usr/bin/env bash
# Build llama.cpp's `llama-server` (the comparison baseline for benches/load.py)
# from the llama.cpp source vendored inside the PyPI sdist of llama-cpp-python.
#
# Everything lives in a cache dir outside the repo; nothing from llama.cpp is
# ever committed:
#   ${MEDSERVE_CACHE:-$HOME/.cache/medserve}/llama.cpp/
#     src/      unpacked llama.cpp source
#     build/    cmake build tree
#     bin/llama-server
#     build-avx2/, bin/llama-server-avx2   (LLAMA_ISA=avx2)
#
# Idempotent: if bin/llama-server exists, prints its path and exits.
# The last line printed is always the binary path.
#
# Env knobs: MEDSERVE_CACHE, JOBS (default: nproc), LLAMA_CPP_PY_VERSION,
#            NICE (default 19; set NICE=0 to build at normal priority),
#            LLAMA_ISA (native, the default: GGML_NATIVE, whatever this CPU has;
#            avx2: AVX, AVX2, FMA, F16C and BMI2 only, no AVX-512, to compare with
#            medserve's MEDSERVE_NO_AVX512=1 on a CPU that has AVX-512).
set -euo pipefail

VERSION="${LLAMA_CPP_PY_VERSION:-0.3.36}"
CACHE="${MEDSERVE_CACHE:-$HOME/.cache/medserve}"
ROOT="$CACHE/llama.cpp"
case "${LLAMA_ISA:-native}" in
    native) SUFFIX=""; ISA_FLAGS=(-DGGML_NATIVE=ON) ;;
    avx2) SUFFIX="-avx2"
          ISA_FLAGS=(-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON
                     -DGGML_F16C=ON -DGGML_BMI2=ON -DGGML_AVX512=OFF) ;;
    *) echo "LLAMA_ISA must be native or avx2" >&2; exit 2 ;;
esac
BIN="$ROOT/bin/llama-server$SUFFIX"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
NICE="${NICE:-19}"

if [[ -x "$BIN" ]]; then
    echo "$BIN"
    exit 0
fi

log() { echo "[llama-server.sh] $*" >&2; }

mkdir -p "$ROOT"
PY="${PYTHON:-python3}"

# --- cmake from pip, in a private venv inside the cache --------------------
VENV="$ROOT/venv"
if [[ ! -x "$VENV/bin/cmake" ]]; then
    log "installing cmake (pip) into $VENV"
    "$PY" -m venv "$VENV"
    # scikit-build-core: pip prepares the sdist's metadata even for
    # `pip download`; with --no-binary :all: and build isolation it would try
    # to compile cmake itself from source. Give it the backend up front.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        cmake ninja scikit-build-core
fi
export PATH="$VENV/bin:$PATH"
CMAKE="$VENV/bin/cmake"
"$CMAKE" --version | head -n1 >&2
GENERATOR=()
if [[ -x "$VENV/bin/ninja" ]]; then
    GENERATOR=(-G Ninja -DCMAKE_MAKE_PROGRAM="$VENV/bin/ninja")
fi

# --- source: sdist of llama-cpp-python, vendor/llama.cpp ------------------
SRC="$ROOT/src"
if [[ ! -f "$SRC/CMakeLists.txt" ]]; then
    DL="$ROOT/sdist"
    mkdir -p "$DL"
    TARBALL="$(ls "$DL"/llama_cpp_python-"$VERSION".tar.gz 2>/dev/null || true)"
    if [[ -z "$TARBALL" ]]; then
        log "downloading llama-cpp-python==$VERSION sdist"
        "$VENV/bin/pip" download --quiet --disable-pip-version-check \
            --no-deps --no-binary :all: --no-build-isolation \
            "llama-cpp-python==$VERSION" -d "$DL"
        TARBALL="$(ls "$DL"/llama_cpp_python-"$VERSION".tar.gz)"
    fi
    log "unpacking vendor/llama.cpp from $TARBALL"
    TMP="$(mktemp -d "$ROOT/unpack.XXXXXX")"
    tar -xzf "$TARBALL" -C "$TMP"
    rm -rf "$SRC"
    mv "$TMP/llama_cpp_python-$VERSION/vendor/llama.cpp" "$SRC"
    rm -rf "$TMP"
    # The vendored tree carries a submodule `.git` file pointing into the
    # (absent) parent repo; drop it. cmake's version probe still prints
    # "fatal: not a git repository" and a "Git index not found" warning:
    # harmless, the build number just becomes 0 / commit "unknown".
    rm -f "$SRC/.git"
fi

# --- configure + build only llama-server -----------------------------------
# Offline: no tests/examples, no web-UI download (LLAMA_USE_PREBUILT_UI would
# fetch it from a hub), no TLS, no ccache.
# GCC 12 prints ~800 harmless "'__Y' may be used uninitialized" warnings from
# its own AVX-512 intrinsic headers; they are expected.
BUILD="$ROOT/build$SUFFIX"
log "configuring in $BUILD"
nice -n "$NICE" "$CMAKE" -S "$SRC" -B "$BUILD" "${GENERATOR[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    "${ISA_FLAGS[@]}" \
    -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_TOOLS=ON \
    -DGGML_BUILD_TESTS=OFF \
    -DGGML_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DGGML_CCACHE=OFF \
    >&2

log "building target llama-server with -j $JOBS (nice $NICE)"
start=$(date +%s)
nice -n "$NICE" "$CMAKE" --build "$BUILD" --target llama-server -j "$JOBS" >&2
log "build took $(( $(date +%s) - start )) s"

mkdir -p "$ROOT/bin"
cp "$BUILD/bin/llama-server" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
echo "$BIN"
