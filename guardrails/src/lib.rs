//! medserve guardrails.
