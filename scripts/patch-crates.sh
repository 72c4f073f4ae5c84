#!/usr/bin/env bash
# Prepares the patched dependencies that Cargo.toml's [patch.crates-io] points at:
# the crate source comes from the registry through cargo itself (checksums verified by
# cargo), is copied to .patched/NAME-VERSION (git-ignored) and gets patches/NAME-VERSION.patch.
# Idempotent: a copy is rebuilt only when its patch changed.
#
# Why: see patches/README.md (measured speed-ups; the patches are small and documented).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}

for patch in patches/*.patch; do
    crate=$(basename "$patch" .patch)          # e.g. mistralrs-core-0.8.1
    name=${crate%-*}
    version=${crate##*-}
    dest=.patched/$crate
    stamp="$dest/.medserve-patch-$(sha256sum "$patch" | cut -c1-16)"
    [ -f "$stamp" ] && continue

    src=$(ls -d "$CARGO_HOME"/registry/src/*/"$crate" 2>/dev/null | head -n1 || true)
    if [ -z "$src" ]; then
        echo "fetching $name $version through cargo"
        tmp=$(mktemp -d)
        mkdir -p "$tmp/src"
        : > "$tmp/src/lib.rs"
        printf '[package]\nname = "fetch-%s"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\n%s = "=%s"\n' \
            "$name" "$name" "$version" > "$tmp/Cargo.toml"
        (cd "$tmp" && cargo fetch --quiet)
        rm -rf "$tmp"
        src=$(ls -d "$CARGO_HOME"/registry/src/*/"$crate" | head -n1)
    fi
    rm -rf "$dest"
    mkdir -p .patched
    cp -r "$src" "$dest"
    patch --quiet -p1 -d "$dest" < "$patch"
    touch "$stamp"
    echo "patched $crate"
done
