//! `POST /v1/chat/completions`: admission, context check, and the JSON or SSE answer.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use medserve_models::{ChatMessage, Event, EventStream, GenerateRequest, Role, TokenLogprob};
use serde_json::{json, Value};
use tokio::sync::OwnedSemaphorePermit;

use crate::error::ApiError;
use crate::openai::{
    ApiJson, ChatCompletionRequest, ChatJob, LogprobsBody, MedserveFacts, RedFlagFacts, UsageBody,
};
use crate::AppState;

/// Facts shared by every chunk of one response.
struct Meta {
    id: String,
    created: u64,
    model: String,
    fingerprint: String,
    seed: i64,
    started: Instant,
    red_flag: Option<RedFlagFacts>,
}

impl Meta {
    fn facts(&self, ttft: Option<Instant>) -> MedserveFacts {
        MedserveFacts {
            red_flag: self.red_flag.clone(),
            seed: self.seed,
            ttft_ms: ttft.map(|t| t.duration_since(self.started).as_millis() as u64),
            total_ms: self.started.elapsed().as_millis() as u64,
        }
    }

    fn chunk(&self, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "service_tier": "default",
            "choices": choices,
        })
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The handler.
#[tracing::instrument(skip_all, fields(stream))]
pub async fn chat_completions(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let engine = state.engine()?.clone();
    if req.model != engine.info().id {
        return Err(ApiError::ModelNotFound(req.model));
    }
    let mut job: ChatJob = req.validate()?;
    tracing::Span::current().record("stream", job.stream);
    let mut meta = Meta {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: now_secs(),
        model: engine.info().id.clone(),
        fingerprint: state.fingerprint(),
        seed: job.seed,
        started,
        red_flag: None,
    };

    // Rules decide emergencies before any model runs.
    if let Some(rf) = red_flags(&job.messages) {
        tracing::info!(categories = ?rf.categories, "red flag: fixed emergency answer");
        let text = emergency_message(&rf, &state.settings().emergency_numbers);
        meta.red_flag = Some(rf);
        return Ok(fixed_answer(&state, meta, text, &job));
    }

    let permit = state
        .slots()
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::Overloaded)?;

    let max_ctx = engine.info().max_context;
    let prompt = engine.count_prompt_tokens(&job.messages).await?;
    let completion = match job.sampling.max_tokens {
        Some(m) => m,
        None => max_ctx.saturating_sub(prompt),
    };
    if prompt + completion.max(1) > max_ctx {
        return Err(medserve_models::Error::ContextLength {
            max: max_ctx,
            prompt,
            completion: if job.explicit_max_tokens {
                completion
            } else {
                1
            },
        }
        .into());
    }
    job.sampling.max_tokens = Some(completion);

    let want_logprobs = job.sampling.logprobs;
    let events = engine
        .generate(GenerateRequest {
            messages: job.messages,
            sampling: job.sampling,
        })
        .await?;
    tracing::debug!(
        prompt_tokens = prompt,
        max_tokens = completion,
        "generation started"
    );

    if job.stream {
        Ok(stream_response(
            state,
            events,
            meta,
            Some(permit),
            job.include_usage,
            want_logprobs,
        ))
    } else {
        let body = collect(events, &meta, want_logprobs).await?;
        drop(permit);
        Ok(Json(body).into_response())
    }
}

/// Checks the latest user message for emergency red flags.
fn red_flags(messages: &[ChatMessage]) -> Option<RedFlagFacts> {
    let last_user = messages.iter().rev().find(|m| m.role == Role::User)?;
    let d = medserve_guardrails::red_flags::detect(&last_user.content);
    if !d.is_emergency() {
        return None;
    }
    Some(RedFlagFacts {
        categories: d
            .categories
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        matched: d.matched.iter().map(|m| m.phrase.clone()).collect(),
        action: "emergency".into(),
    })
}

fn emergency_message(rf: &RedFlagFacts, numbers: &str) -> String {
    let cats: Vec<_> = medserve_guardrails::red_flags::Category::ALL
        .into_iter()
        .filter(|c| rf.categories.iter().any(|n| n == c.as_str()))
        .collect();
    medserve_guardrails::emergency::emergency_message(&cats, numbers)
}

/// An answer written by the server, not the model (no tokens were processed: usage is 0),
/// as JSON or as a normal stream with `medserve` on the final chunk.
fn fixed_answer(state: &AppState, meta: Meta, text: String, job: &ChatJob) -> Response {
    let usage = medserve_models::Usage::default();
    if !job.stream {
        let body = json!({
            "id": meta.id,
            "object": "chat.completion",
            "created": meta.created,
            "model": meta.model,
            "system_fingerprint": meta.fingerprint,
            "service_tier": "default",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop",
            }],
            "usage": UsageBody::from(usage),
            "medserve": meta.facts(None),
        });
        return Json(body).into_response();
    }
    let events: EventStream = Box::pin(futures::stream::iter([
        Ok(Event::Delta {
            text,
            logprobs: Vec::new(),
        }),
        Ok(Event::Done {
            finish_reason: medserve_models::FinishReason::Stop,
            usage,
        }),
    ]));
    stream_response(state.clone(), events, meta, None, job.include_usage, false)
}

async fn collect(
    mut events: EventStream,
    meta: &Meta,
    want_logprobs: bool,
) -> Result<Value, ApiError> {
    let mut text = String::new();
    let mut logprobs: Vec<TokenLogprob> = Vec::new();
    let mut ttft = None;
    while let Some(ev) = events.next().await {
        match ev? {
            Event::Delta {
                text: t,
                logprobs: lp,
            } => {
                ttft.get_or_insert_with(Instant::now);
                text.push_str(&t);
                logprobs.extend(lp);
            }
            Event::Done {
                finish_reason,
                usage,
            } => {
                return Ok(json!({
                    "id": meta.id,
                    "object": "chat.completion",
                    "created": meta.created,
                    "model": meta.model,
                    "system_fingerprint": meta.fingerprint,
                    "service_tier": "default",
                    "choices": [{
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": text,
                            "refusal": null,
                            "annotations": [],
                        },
                        "logprobs": want_logprobs.then(|| LogprobsBody { content: logprobs.clone(), refusal: None }),
                        "finish_reason": finish_reason.as_str(),
                    }],
                    "usage": UsageBody::from(usage),
                    "medserve": meta.facts(ttft),
                }));
            }
        }
    }
    Err(ApiError::Internal(
        "generation ended without a finish event".into(),
    ))
}

fn data(v: &Value) -> SseEvent {
    SseEvent::default().data(v.to_string())
}

fn stream_response(
    state: AppState,
    mut events: EventStream,
    meta: Meta,
    permit: Option<OwnedSemaphorePermit>,
    include_usage: bool,
    want_logprobs: bool,
) -> Response {
    let keep_alive = state.settings().keep_alive;
    let with_usage = move |mut v: Value| {
        if include_usage {
            v["usage"] = Value::Null;
        }
        v
    };
    let body = async_stream::stream! {
        // The permit lives as long as the stream: a dropped client frees its slot.
        let _permit = permit;
        let mut ttft = None;
        yield Ok::<_, Infallible>(data(&with_usage(meta.chunk(json!([{
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": null},
            "logprobs": null,
            "finish_reason": null,
        }])))));
        loop {
            match events.next().await {
                Some(Ok(Event::Delta { text, logprobs })) => {
                    ttft.get_or_insert_with(Instant::now);
                    let lp = want_logprobs.then(|| LogprobsBody { content: logprobs, refusal: None });
                    yield Ok(data(&with_usage(meta.chunk(json!([{
                        "index": 0,
                        "delta": {"content": text},
                        "logprobs": lp,
                        "finish_reason": null,
                    }])))));
                }
                Some(Ok(Event::Done { finish_reason, usage })) => {
                    let mut last = with_usage(meta.chunk(json!([{
                        "index": 0,
                        "delta": {},
                        "logprobs": null,
                        "finish_reason": finish_reason.as_str(),
                    }])));
                    last["medserve"] = serde_json::to_value(meta.facts(ttft)).unwrap_or(Value::Null);
                    yield Ok(data(&last));
                    if include_usage {
                        let mut u = meta.chunk(json!([]));
                        u["usage"] = serde_json::to_value(UsageBody::from(usage)).unwrap_or(Value::Null);
                        yield Ok(data(&u));
                    }
                    break;
                }
                Some(Err(e)) => {
                    let err: ApiError = e.into();
                    yield Ok(data(&serde_json::to_value(err.body()).unwrap_or(Value::Null)));
                    break;
                }
                None => {
                    let err = ApiError::Internal("generation ended without a finish event".into());
                    yield Ok(data(&serde_json::to_value(err.body()).unwrap_or(Value::Null)));
                    break;
                }
            }
        }
        yield Ok(SseEvent::default().data("[DONE]"));
    };
    let mut resp = Sse::new(body)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response();
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    resp
}
