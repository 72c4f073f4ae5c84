//! `GET /v1/tools` and `POST /v1/tools/{name}`: the built-in medical tool catalogue, and
//! running one tool directly on JSON arguments (for dashboards and evals).

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::Path;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::openai::parse_json;

/// The catalogue as OpenAI tool definitions.
pub async fn list_tools() -> Json<Value> {
    let data: Vec<Value> = medserve_tools::catalogue()
        .iter()
        .map(|t| t.to_openai())
        .collect();
    Json(json!({"object": "list", "data": data}))
}

/// Runs one tool. Unknown tool: 404; invalid arguments: 400 naming the field.
pub async fn run_tool(Path(name): Path<String>, body: Bytes) -> Result<Json<Value>, ApiError> {
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
    let result = medserve_tools::call(&name, &args).map_err(|e| match e {
        medserve_tools::Error::UnknownTool(n) => ApiError::NotFound(format!("no tool named `{n}`")),
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
