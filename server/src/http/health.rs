//! `GET /health`, `GET /ready` and the model list (`GET /v1/models`, `/v1/models/{id}`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use medserve_models::Engine;
use serde_json::json;

use crate::app::AppState;
use crate::chat::guard;
use crate::error::ApiError;

pub(crate) async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    match state.engine_if_ready() {
        Some(_) if state.is_draining() => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response(),
        Some(e) => Json(json!({"status": "ready", "model": e.info().id})).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "loading"})),
        )
            .into_response(),
    }
}

fn model_object(state: &AppState, e: &dyn Engine) -> serde_json::Value {
    let info = e.info();
    json!({
        "id": info.id,
        "object": "model",
        "created": info.created,
        "owned_by": "medserve",
        "medserve": {
            "endpoints": ["/v1/chat/completions", "/v1/completions"],
            "sha256": info.sha256,
            "max_context": info.max_context,
            "guardrails": guard::ids(&state.settings().guard),
        },
    })
}

/// The sentence encoder of retrieval and `/v1/embeddings`, when an index is loaded.
fn embedding_model_object(state: &AppState, created: u64) -> Option<serde_json::Value> {
    let r = state.retriever()?;
    Some(json!({
        "id": super::embeddings::EMBEDDING_MODEL,
        "object": "model",
        "created": created,
        "owned_by": "medserve",
        "medserve": {
            "endpoints": ["/v1/embeddings"],
            "dimensions": r.embedder.dim(),
            "weights": r.embedder.model_id(),
        },
    }))
}

pub(crate) async fn list_models(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = state.engine()?;
    let mut data = vec![model_object(&state, e.as_ref())];
    data.extend(embedding_model_object(&state, e.info().created));
    Ok(Json(json!({"object": "list", "data": data})))
}

pub(crate) async fn get_model(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = state.engine()?;
    if e.info().id == id {
        return Ok(Json(model_object(&state, e.as_ref())));
    }
    embedding_model_object(&state, e.info().created)
        .filter(|m| m["id"] == id.as_str())
        .map(Json)
        .ok_or(ApiError::ModelNotFound(id))
}
