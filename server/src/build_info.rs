//! Build identity.

/// Build identity: crate version and git commit, set by `build.rs`.
pub const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "-", env!("MEDSERVE_GIT_HASH"));
