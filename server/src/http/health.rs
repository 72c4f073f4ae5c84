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
            "sha256": info.sha256,
            "max_context": info.max_context,
            "guardrails": guard::ids(&state.settings().guard),
        },
    })
}

pub(crate) async fn list_models(
    State(state): State<AppState>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = state.engine()?;
    Ok(Json(
        json!({"object": "list", "data": [model_object(&state, e.as_ref())]}),
    ))
}

pub(crate) async fn get_model(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = state.engine()?;
    if e.info().id != id {
        return Err(ApiError::ModelNotFound(id));
    }
    Ok(Json(model_object(&state, e.as_ref())))
}
