//! `POST /v1/chat/completions`.

use axum::extract::State;
use axum::response::Response;

use crate::app::AppState;
use crate::auth::Principal;
use crate::chat;
use crate::error::ApiError;
use crate::openai::{ApiJson, ChatCompletionRequest};

/// Reads the request and runs the chat pipeline.
pub async fn chat_completions(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ChatCompletionRequest>,
) -> Result<Response, ApiError> {
    match req.n {
        // Range errors come from the request's own validation.
        Some(n) if n > 1 && n <= crate::openai::MAX_CHOICES => {
            chat::choices::complete_n(state, principal, req, n).await
        }
        _ => chat::complete(state, principal, req).await,
    }
}
