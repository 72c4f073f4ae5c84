//! medserve's HTTP server: an OpenAI-compatible API in front of a model engine.
//!
//! `app(state)` builds the router and `run(listener, state, shutdown)` serves it with a
//! graceful drain, so tests can start a real server on `127.0.0.1:0` without a process.
//! Layers, bottom to top (each module imports only from layers below it; see the README's
//! architecture section and `tests/layers.rs`): `error`, `build_info`, `metrics`,
//! `listener`, `limits` → `toolcall`, `retrieval`, `work` → `care` → `store`, `openai` →
//! `auth` → `app` → the chat pipeline → legacy `completions`, `responses` → `http` → `config`.

#![deny(missing_docs)]

pub mod app;
pub mod auth;
pub mod build_info;
pub mod care;
pub mod chat;
pub mod completions;
pub mod config;
pub mod error;
pub mod grounding;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod openai;
pub mod responses;
pub mod retrieval;
pub mod store;
pub mod toolcall;

pub use app::{AppState, ServerSettings};
pub use build_info::BUILD;
pub use http::{app, run, shutdown_signal};
