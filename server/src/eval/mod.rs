//! `medserve eval ...`: evaluations of the input guard, the PHI redaction through the
//! store, store durability under load, and tool calling; and `eval run`, every suite
//! through the HTTP API of a running server. Part of the binary only: the
//! serving library does not contain them.

pub mod guard;
pub mod phi;
pub mod run;
pub mod store;
pub mod tools;
