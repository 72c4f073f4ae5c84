//! Deterministic safety guardrails: the rules decide, the model explains, a human decides.
//!
//! Input side: emergency red flags, prompt injection, harmful requests, PHI. Output side: a
//! streaming policy filter on model text. Everything here is pure, synchronous and
//! auditable: no model runs in this crate.

pub mod emergency;
pub mod eval;
pub mod harmful;
pub mod injection;
pub mod input;
mod pattern;
pub mod phi;
pub mod policy;
pub mod red_flags;
pub mod red_flags_eval;
pub mod vitals;
