//! The suites of `medserve eval run`. Each reads its sets, sends them through the public
//! HTTP API with a bounded number in flight, and returns figures with counts and 95%
//! intervals. A suite that needs medserve's extension objects says so and is skipped on
//! other servers.

pub mod latency;
pub mod phi;
pub mod qa;
pub mod retrieval;
pub mod safety;
pub mod tools;
pub mod triage;

use serde_json::{json, Value};

use super::client::{Client, Reply};
use super::data::Sets;

/// What every suite gets.
pub struct Ctx {
    /// The client for the server under test.
    pub client: Client,
    /// The sets.
    pub sets: Sets,
    /// Items per set at most.
    pub limit: Option<usize>,
    /// Sample seed.
    pub seed: u64,
    /// Key allowed to read the training export (phi suite).
    pub export_key: Option<String>,
}

impl Ctx {
    /// A greedy chat request of one user message (and an optional system message).
    pub fn chat(&self, system: Option<&str>, user: &str, max_tokens: u32) -> Value {
        let mut messages = Vec::new();
        if let Some(s) = system {
            messages.push(json!({"role": "system", "content": s}));
        }
        messages.push(json!({"role": "user", "content": user}));
        json!({
            "model": self.client.target.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
        })
    }

    /// POSTs a chat request; `None` when it failed after retries or was not a 200.
    pub async fn complete(&self, body: &Value) -> Option<Reply> {
        match self.client.post("/v1/chat/completions", body, None).await {
            Ok(r) if r.status == 200 => Some(r),
            Ok(r) => {
                tracing::debug!(status = r.status, "eval request answered with an error");
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, "eval request failed");
                None
            }
        }
    }
}

/// The input-stage guardrail verdicts of a medserve answer, as `(class, action)`.
pub fn verdicts(body: &Value) -> Vec<(String, String)> {
    body["medserve"]["guardrails"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|v| {
                    (
                        v["class"].as_str().unwrap_or("").to_string(),
                        v["action"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
