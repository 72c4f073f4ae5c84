//! The two writers of a completions answer, both folds of the same [`Out`] events: one
//! `text_completion` JSON body, or server-sent `text_completion` chunks ending in `[DONE]`.

use std::convert::Infallible;

use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::stream::BoxStream;
use futures::StreamExt;
use serde_json::{json, Value};

use super::logprobs::Legacy;
use super::{Meta, Out};
use crate::app::AppState;
use crate::error::ApiError;
use crate::openai::UsageBody;

impl Meta {
    fn body(&self, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "choices": choices,
        })
    }
}

fn usage(prompt_tokens: usize, completion_tokens: usize) -> Value {
    serde_json::to_value(UsageBody::from(medserve_models::Usage {
        prompt_tokens,
        completion_tokens,
        cached_prompt_tokens: 0,
    }))
    .unwrap_or(Value::Null)
}

/// One choice being gathered.
#[derive(Default)]
struct Choice {
    text: String,
    logprobs: Legacy,
    reason: Option<&'static str>,
    changed: bool,
    /// The text is the server's fixed answer (no model tokens to describe).
    fixed: bool,
}

/// The whole answer as one JSON body. Logprobs of a choice whose text the output policy
/// changed are withheld (`null`): they would not describe the text sent.
pub(super) async fn json(
    mut out: BoxStream<'static, Out>,
    meta: &Meta,
    want_logprobs: bool,
) -> Result<Response, ApiError> {
    let mut choices: Vec<Choice> = Vec::new();
    let slot = |choices: &mut Vec<Choice>, i: usize| {
        if choices.len() <= i {
            choices.resize_with(i + 1, Choice::default);
        }
    };
    while let Some(ev) = out.next().await {
        match ev {
            Out::Text {
                index,
                text,
                logprobs,
            } => {
                slot(&mut choices, index);
                choices[index].text.push_str(&text);
                if let Some(l) = logprobs {
                    choices[index].logprobs.extend(l);
                }
            }
            Out::Finish {
                index,
                reason,
                changed,
                fixed,
            } => {
                slot(&mut choices, index);
                choices[index].reason = Some(reason);
                choices[index].changed = changed;
                choices[index].fixed = fixed;
            }
            Out::Error(e) => return Err(e),
            Out::Done {
                prompt_tokens,
                completion_tokens,
                facts,
            } => {
                let list: Vec<Value> = choices
                    .into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        json!({
                            "text": c.text,
                            "index": i,
                            "logprobs": (want_logprobs && !c.changed && !c.fixed).then_some(c.logprobs),
                            "finish_reason": c.reason,
                        })
                    })
                    .collect();
                let mut body = meta.body(Value::Array(list));
                body["usage"] = usage(prompt_tokens, completion_tokens);
                body["medserve"] = serde_json::to_value(facts).unwrap_or(Value::Null);
                return Ok(Json(body).into_response());
            }
        }
    }
    Err(ApiError::Internal(
        "completion ended without its last event".into(),
    ))
}

fn data(v: &Value) -> SseEvent {
    SseEvent::default().data(v.to_string())
}

/// Server-sent chunks as the events come: text pieces with their index (choices one after
/// another), a chunk with each choice's `finish_reason`, then one chunk with no choices
/// carrying `medserve` (and `usage` when `include_usage`), then `[DONE]`. Logprobs stream
/// with their tokens.
pub(super) fn sse(
    state: &AppState,
    mut out: BoxStream<'static, Out>,
    meta: Meta,
    include_usage: bool,
) -> Response {
    let keep_alive = state.settings().keep_alive;
    let body = async_stream::stream! {
        while let Some(ev) = out.next().await {
            match ev {
                Out::Text { index, text, logprobs } => {
                    yield Ok::<_, Infallible>(data(&meta.body(json!([{
                        "text": text,
                        "index": index,
                        "logprobs": logprobs,
                        "finish_reason": null,
                    }]))));
                }
                Out::Finish { index, reason, .. } => {
                    yield Ok(data(&meta.body(json!([{
                        "text": "",
                        "index": index,
                        "logprobs": null,
                        "finish_reason": reason,
                    }]))));
                }
                Out::Done { prompt_tokens, completion_tokens, facts } => {
                    let mut last = meta.body(json!([]));
                    if include_usage {
                        last["usage"] = usage(prompt_tokens, completion_tokens);
                    }
                    last["medserve"] = serde_json::to_value(facts).unwrap_or(Value::Null);
                    yield Ok(data(&last));
                    break;
                }
                Out::Error(e) => {
                    yield Ok(data(&serde_json::to_value(e.body()).unwrap_or(Value::Null)));
                    break;
                }
            }
        }
        yield Ok(SseEvent::default().data("[DONE]"));
    };
    crate::openai::sse::response(body, keep_alive)
}
