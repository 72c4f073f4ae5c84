//! `n > 1`: several answers to one request, each a whole pass through the pipeline
//! ([`super::complete`]: guardrails, retrieval, model, output policy) with its own seed —
//! the request's `seed + i` when it gave one, else one drawn per choice — merged into one
//! `chat.completion` whose choices carry their index.
//!
//! Choices run one after another: each takes the server's and the key's generation slot
//! like a request of its own, so `n` never needs more streams than the key may hold.
//! Streamed, each choice's chunks follow the one before's, with their `index`; a usage
//! chunk (when asked) sums them all, then one `[DONE]`.
//! Not combined with what is about one conversation's single answer (400 naming `n`):
//! triage sessions (one assessment report per exchange), the consented training log (one
//! record per exchange), and server-run tools.

use axum::body::to_bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openai::ChatCompletionRequest;

/// Largest answer body read back from one choice.
const MAX_CHOICE_BYTES: usize = 16 * 1024 * 1024;

fn refuse(what: &str) -> ApiError {
    ApiError::invalid("n", format!("`n` > 1 cannot be combined with {what}"))
}

/// Checks that `n` choices can be given for this request.
fn check(principal: &Principal, req: &ChatCompletionRequest) -> Result<(), ApiError> {
    let m = req.medserve.clone().unwrap_or_default();
    if m.triage.unwrap_or(principal.settings.triage) {
        return Err(refuse("a triage session (one report per exchange)"));
    }
    if m.consent.unwrap_or(principal.settings.consent) {
        return Err(refuse(
            "consent to the training log (one record per exchange)",
        ));
    }
    if m.tools.is_some_and(|t| !t.is_empty()) {
        return Err(refuse("server-run tools (`medserve.tools`)"));
    }
    Ok(())
}

/// Answers `req` with `n` choices.
pub async fn complete_n(
    state: AppState,
    principal: Principal,
    req: ChatCompletionRequest,
    n: u32,
) -> Result<Response, ApiError> {
    check(&principal, &req)?;
    if req.stream == Some(true) {
        return Ok(stream_n(state, principal, req, n));
    }
    let mut merged: Option<Value> = None;
    let mut choices = Vec::with_capacity(n as usize);
    let mut facts = Vec::with_capacity(n as usize);
    let mut completion_tokens = 0u64;
    for i in 0..n {
        let mut one = req.clone();
        one.n = None;
        one.seed = req.seed.map(|s| s.wrapping_add(i64::from(i)));
        let resp = super::complete(state.clone(), principal.clone(), one).await?;
        let body = to_bytes(resp.into_body(), MAX_CHOICE_BYTES)
            .await
            .map_err(|e| ApiError::Internal(format!("choice {i}: {e}")))?;
        let mut v: Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Internal(format!("choice {i}: {e}")))?;
        let mut choice = v["choices"][0].take();
        choice["index"] = json!(i);
        choices.push(choice);
        completion_tokens += v["usage"]["completion_tokens"].as_u64().unwrap_or(0);
        facts.push(v["medserve"].clone());
        merged.get_or_insert(v);
    }
    let mut v = merged.unwrap_or(Value::Null);
    let prompt_tokens = v["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
    v["choices"] = Value::Array(choices);
    v["usage"]["completion_tokens"] = json!(completion_tokens);
    v["usage"]["total_tokens"] = json!(prompt_tokens + completion_tokens);
    // The request's facts are the first choice's; each choice's own (seed, guardrail
    // verdicts, timings) are listed in order.
    v["medserve"]["choices"] = Value::Array(facts);
    Ok(Json(v).into_response())
}

/// The choices streamed one after another (see the module text). A choice that fails
/// before its stream starts ends the stream with its error.
fn stream_n(state: AppState, principal: Principal, req: ChatCompletionRequest, n: u32) -> Response {
    use axum::response::sse::Event;
    use futures::StreamExt;
    let keep_alive = state.settings().keep_alive;
    let include_usage = req
        .stream_options
        .as_ref()
        .and_then(|o| o.include_usage)
        .unwrap_or(false);
    let body = async_stream::stream! {
        let mut prompt_tokens = 0u64;
        let mut completion_tokens = 0u64;
        let mut prompt_details = Value::Null;
        let mut last: Option<Value> = None;
        for i in 0..n {
            let mut one = req.clone();
            one.n = None;
            one.seed = req.seed.map(|s| s.wrapping_add(i64::from(i)));
            let resp = match super::complete(state.clone(), principal.clone(), one).await {
                Ok(r) => r,
                Err(e) => {
                    let v = serde_json::to_value(e.body()).unwrap_or(Value::Null);
                    yield Ok::<_, std::convert::Infallible>(Event::default().data(v.to_string()));
                    break;
                }
            };
            let mut lines = crate::openai::sse::DataLines::default();
            let mut chunks = resp.into_body().into_data_stream();
            let mut failed = false;
            while let Some(Ok(bytes)) = chunks.next().await {
                for data in lines.push(&bytes) {
                    if data == "[DONE]" {
                        continue;
                    }
                    let Ok(mut v) = serde_json::from_str::<Value>(&data) else { continue };
                    failed |= v.get("error").is_some();
                    if v["choices"].as_array().is_some_and(|c| c.is_empty()) && v["usage"].is_object() {
                        // The choice's own usage chunk: summed into one at the end.
                        prompt_tokens = v["usage"]["prompt_tokens"].as_u64().unwrap_or(0);
                        completion_tokens += v["usage"]["completion_tokens"].as_u64().unwrap_or(0);
                        // The prompt counts once, with the first choice's cache figure (as
                        // the non-streamed answer reports it).
                        if prompt_details.is_null() {
                            prompt_details = v["usage"]["prompt_tokens_details"].take();
                        }
                        last = Some(v);
                        continue;
                    }
                    for c in v["choices"].as_array_mut().into_iter().flatten() {
                        c["index"] = json!(i);
                    }
                    yield Ok(Event::default().data(v.to_string()));
                }
            }
            if failed {
                break;
            }
        }
        if include_usage {
            if let Some(mut u) = last {
                u["usage"] = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                    "prompt_tokens_details": prompt_details});
                yield Ok(Event::default().data(u.to_string()));
            }
        }
        yield Ok(Event::default().data("[DONE]"));
    };
    crate::openai::sse::response(body, keep_alive)
}
