//! Refuses to build against unpatched dependencies: medserve's patches to mistral.rs and
//! candle (patches/README.md) fix wrong answers in batched decoding, not only speed, so a
//! plain `cargo build` on a fresh clone must stop early with the command that prepares
//! them instead of silently building the registry crates.

use std::path::Path;

fn main() {
    // Read at run time: a build-script binary compiled for a checkout at another path may
    // be reused from a shared target directory.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("..");
    let patches = root.join("patches");
    let config = root.join(".cargo/config.toml");
    println!("cargo:rerun-if-changed={}", patches.display());
    println!("cargo:rerun-if-changed={}", config.display());
    let config_text = std::fs::read_to_string(&config).unwrap_or_default();
    let mut crates: Vec<_> = std::fs::read_dir(&patches)
        .expect("patches/ directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .collect();
    crates.sort_by_key(|e| e.file_name());
    for dir in crates {
        let crate_dir = dir.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("patch directory")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "patch"))
            .collect();
        files.sort();
        let mut expected = Vec::new();
        for f in &files {
            println!("cargo:rerun-if-changed={}", f.display());
            expected.extend(std::fs::read(f).expect("patch file"));
        }
        let stamp = root
            .join(".patched")
            .join(&crate_dir)
            .join(".medserve-patches");
        println!("cargo:rerun-if-changed={}", stamp.display());
        let applied = std::fs::read(&stamp).unwrap_or_default();
        let wired = config_text.contains(&format!("path = \".patched/{crate_dir}\""));
        if applied != expected || !wired {
            panic!(
                "\n\nmedserve builds against patched copies of its dependencies and {crate_dir} is \
                 not prepared (or its patches changed).\nRun `make build` (or \
                 `scripts/patch-crates.sh`) once; plain `cargo build` works after that.\n\
                 Why: patches/README.md\n"
            );
        }
    }
}
