//! `POST /v1/responses`, `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`.

use axum::extract::{Path, State};
use axum::response::Response;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openai::responses::ResponsesRequest;
use crate::openai::ApiJson;

/// Reads the request and answers it through the chat pipeline.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ResponsesRequest>,
) -> Result<Response, ApiError> {
    crate::responses::create(state, principal, req).await
}

/// A stored response of the calling key.
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    crate::responses::get(state, principal, id).await
}

/// Deletes a stored response of the calling key.
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    crate::responses::delete(state, principal, id).await
}
