//! Safety guardrails: the detectors decide, the model explains, a human decides.
//!
//! Input side: emergency red flags, prompt injection, harmful requests, PHI, each a layer of
//! explainable rules beside a small learned detector on the shipped sentence encoder
//! ([`learned`]), with what findings lead to set by a deployment policy ([`deploy`]).
//! Output side: a streaming policy filter on model text. Everything here is synchronous
//! and deterministic; the encoder is passed in by the server.

pub mod deploy;
pub mod emergency;
pub mod eval;
pub mod fold;
pub mod formats;
pub mod harmful;
pub mod injection;
pub mod input;
pub mod learned;
pub mod moderation;
mod pattern;
pub mod phi;
pub mod policy;
pub mod red_flags;
pub mod red_flags_eval;
pub mod tables;
pub mod vitals;
