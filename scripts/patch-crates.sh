#!/usr/bin/env bash
# Prepares the patched dependencies: for each directory patches/NAME-VERSION/, the crate
# source comes from the registry through cargo itself (checksums verified by cargo), is
# copied to .patched/NAME-VERSION (git-ignored) and gets the directory's patches in order
# (NN-*.patch), each applied with no fuzz and no offset: a patch that no longer fits
# exactly stops the build instead of landing somewhere else. Then .cargo/config.toml is
# written from scripts/cargo-config.toml plus a [patch.crates-io] table pointing at the
# copies (medserve-models' build script refuses to build without it).
# Idempotent: a copy is rebuilt only when its patches changed.
#
# Why each patch: patches/README.md (one entry per file: what, measured effect, test).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}

table=""
for dir in patches/*/; do
    crate=$(basename "$dir")                   # e.g. mistralrs-core-0.8.1
    name=${crate%-*}
    version=${crate##*-}
    dest=.patched/$crate
    table+="$name = { path = \"$dest\" }"$'\n'
    # The stamp holds the patches themselves: medserve-models' build script compares it.
    if [ -f "$dest/.medserve-patches" ] && cmp -s "$dest/.medserve-patches" <(cat "$dir"/*.patch); then
        continue
    fi

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
    for patch in "$dir"*.patch; do
        if ! out=$(patch --fuzz=0 --forward --batch -p1 -d "$dest" < "$patch" 2>&1) \
            || grep -qiE "offset|fuzz|reject" <<< "$out"; then
            echo "$out" >&2
            echo "error: $patch does not apply exactly to $crate (see patches/README.md)" >&2
            rm -rf "$dest"
            exit 1
        fi
    done
    cat "$dir"/*.patch > "$dest/.medserve-patches"
    echo "patched $crate ($(ls "$dir"*.patch | wc -l) patches)"
done

config=$( { cat scripts/cargo-config.toml; printf '\n# Written by scripts/patch-crates.sh: the patched copies (patches/README.md).\n[patch.crates-io]\n%s' "$table"; } )
if [ ! -f .cargo/config.toml ] || [ "$(cat .cargo/config.toml)" != "$config" ]; then
    mkdir -p .cargo
    printf '%s\n' "$config" > .cargo/config.toml
fi
