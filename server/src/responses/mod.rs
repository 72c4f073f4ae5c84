//! `POST /v1/responses`, `GET` and `DELETE /v1/responses/{id}`: the Responses API on the
//! chat pipeline. A request is translated into a chat request
//! ([`crate::openai::responses`]), answered by [`crate::chat::complete`] (guardrails,
//! retrieval, tools, output policy: everything chat does), and the answer is re-shaped as a
//! `response` object, or its chat stream as Responses events ([`events`]).
//!
//! `store` (default true, as OpenAI): a response is kept only when the exchange has the
//! patient's consent (the training log's rule), and then de-identified as the training log
//! is: its texts (content, arguments, outputs, instructions) with identifiers replaced. The
//! stored conversation (chat messages through this answer) is what `previous_response_id`
//! continues from. Only the key that created a response may read, continue or delete it.

mod events;
mod shape;

use axum::body::to_bytes;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openai::responses::{responses_param, ResponsesRequest};
use crate::store::{blocking, StoredResponse};

use shape::Echo;

/// Largest chat answer body read back.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Renames the chat field an error names to the Responses field it came from.
fn rename(e: ApiError, origin: &[String]) -> ApiError {
    match e {
        ApiError::InvalidRequest {
            message,
            param: Some(p),
            code,
        } => ApiError::InvalidRequest {
            message,
            param: Some(responses_param(&p, origin)),
            code,
        },
        other => other,
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no stored response `{id}` for this key (responses are stored only with consent)"
    ))
}

/// The stored response `id` if this key owns it.
async fn owned(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<StoredResponse, ApiError> {
    let key = id.to_string();
    let found = blocking(state.store(), move |s| s.response(&key)).await?;
    match found {
        Some(r) if r.owner == principal.actor.key_id => Ok(r),
        _ => Err(not_found(id)),
    }
}

/// Whether and how the answer is kept (`medserve.stored`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Keep {
    /// Store it.
    Yes,
    /// Not stored, for this reason.
    No(&'static str),
}

/// `POST /v1/responses`.
pub async fn create(
    state: AppState,
    principal: Principal,
    req: ResponsesRequest,
) -> Result<Response, ApiError> {
    let history = match &req.previous_response_id {
        None => Vec::new(),
        Some(id) => {
            let prev = owned(&state, &principal, id).await.map_err(|_| {
                ApiError::invalid("previous_response_id", not_found(id).body().error.message)
            })?;
            prev.conversation.as_array().cloned().unwrap_or_default()
        }
    };
    let echo = Echo::of(&req);
    let t = req.translate(history)?;
    let consent = t
        .chat
        .medserve
        .as_ref()
        .and_then(|m| m.consent)
        .unwrap_or(principal.settings.consent);
    let keep = match (t.store, consent) {
        (false, _) => Keep::No("store_false"),
        (true, false) => Keep::No("no_consent"),
        (true, true) => Keep::Yes,
    };
    let ctx = shape::Ctx {
        echo,
        logprobs: t.logprobs,
        messages: t.messages,
        owner: principal.actor.key_id.clone(),
    };
    let answer = crate::chat::complete(state.clone(), principal, t.chat)
        .await
        .map_err(|e| rename(e, &t.origin))?;
    if t.stream {
        return Ok(events::stream(state, answer, ctx, keep));
    }
    let body = to_bytes(answer.into_body(), MAX_ANSWER_BYTES)
        .await
        .map_err(|e| ApiError::Internal(format!("chat answer: {e}")))?;
    let chat: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Internal(format!("chat answer: {e}")))?;
    let choice = &chat["choices"][0];
    let built = shape::Built {
        output: shape::output_items(&choice["message"], &choice["logprobs"], ctx.logprobs),
        finish_reason: choice["finish_reason"]
            .as_str()
            .unwrap_or("stop")
            .to_string(),
        usage: chat["usage"].clone(),
        medserve: chat["medserve"].clone(),
    };
    let v = finish(&state, &ctx, built, keep).await;
    Ok(Json(v).into_response())
}

/// The final response object; stores it first when it is to be kept.
async fn finish(state: &AppState, ctx: &shape::Ctx, built: shape::Built, keep: Keep) -> Value {
    let mut v = ctx
        .echo
        .object("completed", built.output.clone(), Some(&built.usage));
    shape::set_status(&mut v, &built.finish_reason);
    let mut medserve = built.medserve.clone();
    let stored = match keep {
        Keep::No(reason) => json!({"stored": false, "reason": reason}),
        Keep::Yes => {
            let mut conversation = ctx.messages.clone();
            conversation.push(shape::assistant_message(&built.output));
            let record = StoredResponse {
                id: ctx.echo.id.clone(),
                owner: ctx.owner.clone(),
                created_at: crate::store::now_ms(),
                body: crate::care::training::deidentify_texts(&{
                    let mut b = v.clone();
                    b["store"] = json!(true);
                    b
                }),
                conversation: crate::care::training::deidentify_texts(&Value::Array(conversation)),
            };
            match blocking(state.store(), move |s| s.save_response(&record)).await {
                Ok(()) => json!({"stored": true}),
                Err(e) => {
                    tracing::warn!(error = %e.body().error.message, "stored response not saved");
                    state.metrics().inc(
                        "medserve_store_failures_total",
                        vec![("record", "response".into())],
                    );
                    json!({"stored": false, "reason": "store_unavailable"})
                }
            }
        }
    };
    v["store"] = json!(stored["stored"] == true);
    if medserve.is_object() {
        medserve["stored"] = stored;
    }
    v["medserve"] = medserve;
    v
}

/// `GET /v1/responses/{id}`: a stored response of this key (as stored: de-identified).
pub async fn get(state: AppState, principal: Principal, id: String) -> Result<Response, ApiError> {
    let r = owned(&state, &principal, &id).await?;
    Ok(Json(r.body).into_response())
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete(
    state: AppState,
    principal: Principal,
    id: String,
) -> Result<Response, ApiError> {
    owned(&state, &principal, &id).await?;
    let key = id.clone();
    blocking(state.store(), move |s| s.delete_response(&key)).await?;
    Ok(Json(json!({"id": id, "object": "response", "deleted": true})).into_response())
}
