//! The care domain: its types, the triage rules that turn a conversation into an
//! assessment report, and the de-identified training record. Below the store (which
//! persists these types) and above nothing but the tool-call types.

pub mod model;
pub mod training;
pub mod triage;
