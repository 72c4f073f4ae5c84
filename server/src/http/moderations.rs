//! `POST /v1/moderations` in OpenAI's shape, from the input guardrails
//! ([`medserve_guardrails::moderation`]): OpenAI's categories where a detector exists, the
//! medical findings (red flags, harmful requests, injection, PHI kinds) under `medserve`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::openai::limits::check_texts;
use crate::openai::ApiJson;

/// Most inputs per request.
pub const MAX_INPUTS: usize = 32;

/// Model names a client may send: OpenAI's current and legacy moderation models are
/// accepted as aliases of medserve's guard (clients send them by default).
const ALIASES: [&str; 4] = [
    "omni-moderation-latest",
    "omni-moderation-2024-09-26",
    "text-moderation-latest",
    "text-moderation-stable",
];

/// The model name in answers.
pub fn guard_model(state: &AppState) -> String {
    let g = &state.settings().guard;
    match g.learned.as_ref() {
        Some(l) => format!("medserve-guard-{}", &l.sha256()[..12.min(l.sha256().len())]),
        None => "medserve-guard-rules".to_string(),
    }
}

/// The request body. Unknown fields are a 400.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerationRequest {
    /// A string, an array of strings, or an array of `{"type": "text", "text": ...}`.
    pub input: Value,
    /// Optional: an OpenAI moderation model name or medserve's guard.
    pub model: Option<String>,
}

/// The texts of `input`, and whether it was an array (errors then name `input[i]`).
fn texts(input: Value) -> Result<(Vec<String>, bool), ApiError> {
    let items = match input {
        Value::String(s) => return Ok((vec![s], false)),
        Value::Array(items) if items.is_empty() => {
            return Err(ApiError::invalid(
                "input",
                "`input` must not be an empty array",
            ))
        }
        Value::Array(items) => items,
        _ => {
            return Err(ApiError::invalid(
                "input",
                "`input` must be a string, an array of strings or an array of text parts",
            ))
        }
    };
    if items.len() > MAX_INPUTS {
        return Err(ApiError::invalid(
            "input",
            format!(
                "at most {MAX_INPUTS} inputs per request, got {}",
                items.len()
            ),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::String(s) => Ok(s),
            Value::Object(o) => match (o.get("type").and_then(Value::as_str), o.get("text")) {
                (Some("text"), Some(Value::String(t))) if o.len() == 2 => Ok(t.clone()),
                (Some("image_url"), _) => Err(ApiError::unsupported(
                    &format!("input[{i}]"),
                    "image inputs are not supported: medserve moderates text",
                )),
                _ => Err(ApiError::invalid(
                    format!("input[{i}]"),
                    "a part must be {\"type\": \"text\", \"text\": \"...\"}",
                )),
            },
            _ => Err(ApiError::invalid(
                format!("input[{i}]"),
                "each input must be a string or a text part",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|t| (t, true))
}

/// The handler.
pub async fn moderations(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ModerationRequest>,
) -> Result<Json<Value>, ApiError> {
    let model = guard_model(&state);
    if let Some(m) = &req.model {
        if *m != model && !ALIASES.contains(&m.as_str()) {
            return Err(ApiError::ModelNotFound(m.clone()));
        }
    }
    let (inputs, array) = texts(req.input)?;
    check_texts("input", inputs.iter().map(String::as_str), |i| {
        if array {
            format!("input[{i}]")
        } else {
            "input".to_string()
        }
    })?;
    let guard = state.settings().guard.clone();
    let numbers = state.settings().emergency_numbers.clone();
    let results = crate::chat::work::run("moderation", move || {
        inputs
            .iter()
            .map(|t| medserve_guardrails::moderation::moderate(&guard, t, &numbers))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?
    .map_err(|e| ApiError::Internal(format!("moderation: {e}")))?;
    for r in &results {
        state.metrics().inc(
            "medserve_moderations_total",
            vec![
                ("flagged", r.flagged.to_string()),
                ("decision", r.medserve.decision.to_string()),
            ],
        );
    }
    let results: Vec<Value> = results
        .into_iter()
        .map(|r| {
            let applied: serde_json::Map<String, Value> = r
                .categories
                .keys()
                .map(|k| (k.to_string(), json!(["text"])))
                .collect();
            let mut v = serde_json::to_value(&r).unwrap_or(Value::Null);
            v["category_applied_input_types"] = Value::Object(applied);
            v
        })
        .collect();
    Ok(Json(json!({
        "id": format!("modr-{}", uuid::Uuid::new_v4().simple()),
        "model": model,
        "results": results,
    })))
}
