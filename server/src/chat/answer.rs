//! One answer, two writers. [`produce`] runs the model's pieces through the output policy
//! in its own task and sends [`AnswerEvent`]s; the SSE writer ([`sse`]) turns each event
//! into a chunk as it comes, the JSON writer ([`json`]) folds the same events into one
//! `chat.completion`. So a streamed and a non-streamed answer have the same text, calls,
//! verdicts, finish reason and records by construction.
//!
//! The producer is not driven by the client: when the client leaves (or stops reading past
//! the listener's write timeout) the generation is cancelled and the answer still ends
//! normally ("cancelled"), so its care records are committed.

use std::convert::Infallible;
use std::time::Instant;

use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use medserve_models::{TokenLogprob, Usage};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::output::{OutputGuard, Step};
use super::turns::{Piece, PieceStream};
use super::{record, Gathered, Meta, Permit};
use crate::app::AppState;
use crate::error::ApiError;
use crate::grounding;
use crate::metrics::TokenTimer;
use crate::openai::{AssessmentFacts, LogprobsBody, MedserveFacts, UsageBody};
use crate::toolcall::ToolCall;

/// What an answer produces, in order.
pub(super) enum AnswerEvent {
    /// Text that passed the output policy, with the logprobs released with it (only at
    /// the end: held-back text is unchecked, and none when the policy changed the text).
    Content {
        text: String,
        logprobs: Vec<TokenLogprob>,
    },
    /// The answer ended. `calls`: the client's tool calls; `annotations`: citations of the
    /// text sent; `facts`: `medserve` before the care records are stored.
    Finish {
        reason: &'static str,
        usage: Usage,
        calls: Vec<ToolCall>,
        annotations: Value,
        facts: MedserveFacts,
    },
    /// The care records are stored: the final `medserve` facts.
    Stored(MedserveFacts),
    /// The generation failed.
    Error(ApiError),
}

/// How the model's output is post-processed.
pub(super) struct Output {
    /// The output policy (`None` for text the server wrote itself).
    pub guard: Option<OutputGuard>,
    /// Admission permits, held until the answer ends.
    pub permit: Option<Permit>,
}

/// Runs `pieces` through the output policy in its own task; the answer's events arrive on
/// the returned channel. Dropping the receiver cancels the generation (the care records
/// of what was produced are still stored).
pub(super) fn produce(
    state: AppState,
    pieces: PieceStream,
    mut meta: Meta,
    output: Output,
) -> mpsc::Receiver<AnswerEvent> {
    let (tx, rx) = mpsc::channel(32);
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut pieces = super::until_cancelled(pieces, cancel.clone());
    tokio::spawn(async move {
        let Output { mut guard, permit } = output;
        let _permit = permit;
        let send = |ev: AnswerEvent| {
            let (tx, cancel) = (tx.clone(), cancel.clone());
            async move {
                if !cancel.is_cancelled() && tx.send(ev).await.is_err() {
                    cancel.cancel();
                }
            }
        };
        let mut ttft = None;
        // Logprobs of tokens whose text is still held back by the output guard.
        let mut pending_lp: Vec<TokenLogprob> = Vec::new();
        // The text sent, for the citations and the training record.
        let mut sent = String::new();
        let mut got = Gathered::default();
        let mut timer = TokenTimer::new(meta.started);
        let mut last_usage = Usage::default();
        let end: Option<(&'static str, Usage)> = loop {
            timer.waiting();
            match pieces.next().await {
                Some(Ok(Piece::Text {
                    text,
                    logprobs,
                    usage,
                })) => {
                    last_usage = usage;
                    if guard.is_some() {
                        // Only model text has a first token; fixed answers report `null`.
                        ttft.get_or_insert_with(Instant::now);
                        timer.delta(state.metrics());
                    }
                    pending_lp.extend(logprobs);
                    let step = match guard.as_mut() {
                        Some(g) => g.push(&text),
                        None => Step::Emit(text),
                    };
                    let (safe, blocked) = match step {
                        Step::Emit(safe) => (safe, false),
                        Step::Blocked(safe) => (safe, true),
                    };
                    if !safe.is_empty() {
                        sent.push_str(&safe);
                        send(AnswerEvent::Content {
                            text: safe,
                            logprobs: Vec::new(),
                        })
                        .await;
                    }
                    if blocked {
                        // Dropping the pieces stream stops the generation.
                        got.calls.clear();
                        break Some(("content_filter", usage));
                    }
                }
                Some(Ok(Piece::Done {
                    finish_reason,
                    usage,
                })) => {
                    let ends_turn = !got.calls.is_empty() || got.emergency.is_some();
                    let step = match guard.as_mut() {
                        Some(g) if ends_turn => g.finish_without_disclaimer(),
                        Some(g) => g.finish(),
                        None => Step::Emit(String::new()),
                    };
                    // Every token's text has now been checked; its logprobs go out unless
                    // the policy changed the text.
                    let lp = if guard.as_ref().is_some_and(OutputGuard::changed_text) {
                        Vec::new()
                    } else {
                        std::mem::take(&mut pending_lp)
                    };
                    let (rest, reason) = match step {
                        Step::Emit(rest) => (rest, finish_reason.as_str()),
                        // The last sentence is only classified at the end: it can still be
                        // blocked.
                        Step::Blocked(safe) => {
                            got.calls.clear();
                            got.emergency = None;
                            (safe, "content_filter")
                        }
                    };
                    if !rest.is_empty() || !lp.is_empty() {
                        sent.push_str(&rest);
                        send(AnswerEvent::Content {
                            text: rest,
                            logprobs: lp,
                        })
                        .await;
                    }
                    if let Some(e) = got.emergency.take() {
                        // The emergency text ends the answer: no calls for the client.
                        got.calls.clear();
                        let e = if sent.is_empty() {
                            e
                        } else {
                            format!("\n\n{e}")
                        };
                        sent.push_str(&e);
                        send(AnswerEvent::Content {
                            text: e,
                            logprobs: Vec::new(),
                        })
                        .await;
                        break Some(("stop", usage));
                    }
                    break Some((reason, usage));
                }
                // The rest (verdicts, tool runs, calls, an emergency) is kept for the end.
                Some(Ok(p)) => got.keep(&mut meta, p),
                Some(Err(err)) => {
                    send(AnswerEvent::Error(err)).await;
                    break None;
                }
                None if cancel.is_cancelled() => break Some(("cancelled", last_usage)),
                None => {
                    send(AnswerEvent::Error(ApiError::Internal(
                        "generation ended without a finish event".into(),
                    )))
                    .await;
                    break None;
                }
            }
        };
        drop(pieces);
        let Some((reason, usage)) = end else {
            return;
        };
        // Citations: each sentence of the text sent to the passage that supports it (none
        // for a blocked answer).
        let (annotations, report) = if reason == "content_filter" || meta.hits.is_empty() {
            (json!([]), None)
        } else {
            let (a, r) = grounding::annotations(&meta.hits, &sent, meta.grounding);
            (a, Some(r))
        };
        let verdicts = got.output_verdicts(guard.as_ref());
        let runs = std::mem::take(&mut got.tool_runs);
        let mut facts = meta.facts(ttft, verdicts, runs);
        if report.is_some() {
            facts.grounding_report = report;
        }
        send(AnswerEvent::Finish {
            reason,
            usage,
            calls: got.calls.clone(),
            annotations,
            facts: facts.clone(),
        })
        .await;
        meta.finish_care(
            &state,
            &mut facts,
            &sent,
            &got.calls,
            reason,
            guard.is_none(),
        )
        .await;
        record(state.metrics(), &facts, usage, &got.calls);
        send(AnswerEvent::Stored(facts)).await;
    });
    rx
}

/// How long a non-streamed emergency answer waits for its report and training record: not
/// at all. Records already stored are reported; otherwise the answer says `pending`, goes
/// out, and the records follow (a failure is counted in `medserve_store_failures_total`).
const EMERGENCY_STORE_WAIT: std::time::Duration = std::time::Duration::ZERO;

/// The JSON writer: folds the events into one `chat.completion`.
pub(super) async fn json(
    mut events: mpsc::Receiver<AnswerEvent>,
    meta: &Meta,
    want_logprobs: bool,
) -> Result<Response, ApiError> {
    let mut text = String::new();
    let mut logprobs: Vec<TokenLogprob> = Vec::new();
    let (reason, usage, calls, annotations, mut facts) = loop {
        match events.recv().await {
            Some(AnswerEvent::Content {
                text: t,
                logprobs: lp,
            }) => {
                text.push_str(&t);
                logprobs.extend(lp);
            }
            Some(AnswerEvent::Finish {
                reason,
                usage,
                calls,
                annotations,
                facts,
            }) => break (reason, usage, calls, annotations, facts),
            Some(AnswerEvent::Error(e)) => return Err(e),
            Some(AnswerEvent::Stored(_)) | None => {
                return Err(ApiError::Internal(
                    "generation ended without a finish event".into(),
                ))
            }
        }
    };
    // An emergency answer does not wait on the store; any other answer reports its stored
    // records.
    let wait = if meta.red_flag.is_some() {
        EMERGENCY_STORE_WAIT
    } else {
        std::time::Duration::from_secs(3600)
    };
    match tokio::time::timeout(wait, events.recv()).await {
        Ok(Some(AnswerEvent::Stored(stored))) => facts = stored,
        Ok(_) => tracing::error!("answer ended without storing its records"),
        Err(_) => {
            tracing::warn!("emergency answer sent before its records were stored");
            if meta.care.triage {
                facts.assessment = Some(AssessmentFacts::NotStored {
                    stored: false,
                    reason: "pending",
                });
            }
            facts.training.reason = Some("pending");
            // The producer goes on and stores them; it must not wait for this reader.
            tokio::spawn(async move { while events.recv().await.is_some() {} });
        }
    }
    let tool_calls: Option<Vec<Value>> =
        (!calls.is_empty()).then(|| calls.iter().map(ToolCall::to_openai).collect());
    let content = if text.is_empty() && tool_calls.is_some() {
        Value::Null
    } else {
        Value::String(text)
    };
    let mut message = json!({
        "role": "assistant",
        "content": content,
        "refusal": null,
        "annotations": annotations,
    });
    if let Some(calls) = tool_calls {
        message["tool_calls"] = Value::Array(calls);
    }
    let choice = json!({
        "index": 0,
        "message": message,
        "logprobs": want_logprobs.then(|| LogprobsBody {
            content: logprobs,
            refusal: None,
        }),
        "finish_reason": reason,
    });
    Ok(Json(meta.completion(choice, usage, facts)).into_response())
}

fn data(v: &Value) -> SseEvent {
    SseEvent::default().data(v.to_string())
}

/// The SSE deltas of client tool calls: the first fragment of each call carries `index`,
/// `id`, `type` and `name`; the arguments follow in a second fragment.
fn call_deltas(calls: &[ToolCall]) -> Vec<Value> {
    let mut out = Vec::with_capacity(calls.len() * 2);
    for (i, c) in calls.iter().enumerate() {
        out.push(
            json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
            "function": {"name": c.name, "arguments": ""}}]}),
        );
        out.push(json!({"tool_calls": [{"index": i, "function": {"arguments": c.arguments}}]}));
    }
    out
}

/// The SSE writer: one chunk per event, as it comes.
pub(super) fn sse(
    state: &AppState,
    mut events: mpsc::Receiver<AnswerEvent>,
    meta: Meta,
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
    let delta_chunk = move |delta: Value, lp: Vec<TokenLogprob>, meta: &Meta| {
        let lp = want_logprobs.then(|| LogprobsBody {
            content: lp,
            refusal: None,
        });
        data(&with_usage(meta.chunk(json!([{
            "index": 0,
            "delta": delta,
            "logprobs": lp,
            "finish_reason": null,
        }]))))
    };
    let body = async_stream::stream! {
        yield Ok::<_, Infallible>(data(&with_usage(meta.chunk(json!([{
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": null},
            "logprobs": null,
            "finish_reason": null,
        }])))));
        let mut end: Option<(&'static str, Usage, Value)> = None;
        while let Some(ev) = events.recv().await {
            match ev {
                AnswerEvent::Content { text, logprobs } => {
                    yield Ok(delta_chunk(json!({"content": text}), logprobs, &meta));
                }
                AnswerEvent::Finish { reason, usage, calls, annotations, .. } => {
                    for d in call_deltas(&calls) {
                        yield Ok(delta_chunk(d, Vec::new(), &meta));
                    }
                    // Citations ride on the final chunk.
                    let delta = if annotations.as_array().is_some_and(|a| !a.is_empty()) {
                        json!({"annotations": annotations})
                    } else {
                        json!({})
                    };
                    end = Some((reason, usage, delta));
                }
                AnswerEvent::Stored(facts) => {
                    let Some((reason, usage, delta)) = end.take() else { break };
                    let mut last = with_usage(meta.chunk(json!([{
                        "index": 0,
                        "delta": delta,
                        "logprobs": null,
                        "finish_reason": reason,
                    }])));
                    last["medserve"] = serde_json::to_value(facts).unwrap_or(Value::Null);
                    yield Ok(data(&last));
                    if include_usage {
                        let mut u = meta.chunk(json!([]));
                        u["usage"] = serde_json::to_value(UsageBody::from(usage)).unwrap_or(Value::Null);
                        yield Ok(data(&u));
                    }
                }
                AnswerEvent::Error(err) => {
                    yield Ok(data(&serde_json::to_value(err.body()).unwrap_or(Value::Null)));
                }
            }
        }
        yield Ok(SseEvent::default().data("[DONE]"));
    };
    crate::openai::sse::response(body, keep_alive)
}
