//! `GET /v1/tools` lists the built-in tools, `POST /v1/tools/{name}` runs one on JSON
//! arguments (for dashboards and evals).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::chat::tools::{catalogue, run_builtin};
use crate::error::ApiError;
use crate::openai::parse_json;

/// The catalogue as OpenAI tool definitions.
pub async fn list_tools(State(state): State<AppState>) -> Json<Value> {
    let data: Vec<Value> = catalogue(&state).iter().map(|t| t.to_openai()).collect();
    Json(json!({"object": "list", "data": data}))
}

/// Runs one tool. Unknown tool: 404; invalid arguments: 400 naming the field.
pub async fn run_tool(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let args: Value = if body.is_empty() {
        json!({})
    } else {
        parse_json(&body)?
    };
    if !args.is_object() {
        return Err(ApiError::invalid(
            "arguments",
            "tool arguments must be a JSON object",
        ));
    }
    let started = Instant::now();
    let retriever = state.retriever().cloned();
    let tool = name.clone();
    let result =
        tokio::task::spawn_blocking(move || run_builtin(retriever.as_deref(), &tool, &args))
            .await
            .map_err(|e| ApiError::Internal(format!("tool task: {e}")))?
            .map_err(|e| match e {
                medserve_tools::Error::UnknownTool(n) => {
                    ApiError::NotFound(format!("no tool named `{n}`"))
                }
                medserve_tools::Error::InvalidArguments { message, .. } => {
                    // Messages start with the field they are about: `field: why`.
                    let param = message
                        .split_once(':')
                        .map(|(f, _)| f.trim().to_string())
                        .filter(|f| !f.is_empty() && !f.contains(' '));
                    ApiError::InvalidRequest {
                        message,
                        param,
                        code: Some("invalid_tool_arguments"),
                    }
                }
                other => ApiError::Internal(other.to_string()),
            })?;
    Ok(Json(json!({
        "object": "tool.result",
        "tool": name,
        "result": result,
        "duration_us": started.elapsed().as_micros() as u64,
    })))
}
