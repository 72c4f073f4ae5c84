//! `POST /v1/completions`.

use axum::extract::State;
use axum::response::Response;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openai::completions::CompletionRequest;
use crate::openai::ApiJson;

/// Reads the request and runs the completions pipeline.
pub async fn completions(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<CompletionRequest>,
) -> Result<Response, ApiError> {
    crate::completions::complete(state, principal, req).await
}
