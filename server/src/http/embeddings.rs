//! `POST /v1/embeddings` in the OpenAI shape, on the retrieval embedder.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::openai::ApiJson;

/// The name clients put in `model`.
pub const EMBEDDING_MODEL: &str = "all-MiniLM-L6-v2";

/// Most inputs per request (OpenAI's limit).
const MAX_INPUTS: usize = 2048;
/// Inputs embedded between two checks of whether the client is still there.
const BATCH: usize = 16;

/// Set when the handler's future is dropped (the client left) before the work ended.
#[derive(Default)]
struct LeftGuard(Arc<AtomicBool>);

impl Drop for LeftGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The request body. Unknown fields are a 400.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingRequest {
    /// A string or an array of strings (token arrays are rejected: the token ids of another
    /// tokenizer would mean nothing to this model).
    pub input: Value,
    /// Must be [`EMBEDDING_MODEL`].
    pub model: String,
    /// `float` (default) or `base64` (little-endian f32).
    pub encoding_format: Option<String>,
    /// Only the model's own dimension (384) is possible.
    pub dimensions: Option<u32>,
    /// End-user id: kept only in trace-level logs.
    pub user: Option<String>,
}

/// The handler.
pub async fn embeddings(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EmbeddingRequest>,
) -> Result<Json<Value>, ApiError> {
    let Some(retriever) = state.retriever() else {
        return Err(ApiError::ModelNotFound(req.model));
    };
    if req.model != EMBEDDING_MODEL {
        return Err(ApiError::ModelNotFound(req.model));
    }
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "encoding_format",
                format!("`encoding_format` must be `float` or `base64`, got {other:?}"),
            ))
        }
    };
    let dim = retriever.embedder.dim();
    if let Some(d) = req.dimensions {
        if d as usize != dim {
            return Err(ApiError::invalid(
                "dimensions",
                format!("this model only produces {dim} dimensions, got {d}"),
            ));
        }
    }
    tracing::trace!(user = ?req.user, "embedding request identifiers");
    let inputs: Vec<String> = match req.input {
        Value::String(s) => vec![s],
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ApiError::invalid(
                    "input",
                    "`input` must not be an empty array",
                ));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    Value::Number(_) | Value::Array(_) => Err(ApiError::unsupported(
                        "input",
                        "token-id input is not supported: send text",
                    )),
                    _ => Err(ApiError::invalid(
                        format!("input[{i}]"),
                        "each input must be a string",
                    )),
                })
                .collect::<Result<_, _>>()?
        }
        _ => {
            return Err(ApiError::invalid(
                "input",
                "`input` must be a string or an array of strings",
            ))
        }
    };
    if inputs.len() > MAX_INPUTS {
        return Err(ApiError::invalid(
            "input",
            format!("at most {MAX_INPUTS} inputs per request"),
        ));
    }
    if let Some(i) = inputs.iter().position(|s| s.trim().is_empty()) {
        return Err(ApiError::invalid(
            if inputs.len() == 1 {
                "input".to_string()
            } else {
                format!("input[{i}]")
            },
            "`input` must not be empty",
        ));
    }
    let permit = state
        .slots()
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::Overloaded)?;
    let embedder = retriever.embedder.clone();
    // The work runs in batches and stops at the next batch once the client has left (the
    // handler's future is dropped with `left`); the slot is held until the work ends, so
    // abandoned requests cannot pile up CPU work beyond the admission limit.
    let left = LeftGuard::default();
    let gone = left.0.clone();
    let work = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let tokens: usize = embedder.count_tokens(&refs)?.iter().sum();
        let mut vectors = Vec::with_capacity(refs.len());
        for batch in refs.chunks(BATCH) {
            if gone.load(Ordering::Relaxed) {
                return Ok(None);
            }
            vectors.extend(embedder.embed(batch)?);
        }
        Ok::<_, medserve_rag::Error>(Some((vectors, tokens)))
    });
    let (vectors, tokens) = work
        .await
        .map_err(|e| ApiError::Internal(format!("embedding task: {e}")))?
        .map_err(|e| ApiError::Internal(format!("embedding: {e}")))?
        .ok_or_else(|| ApiError::Internal("embedding cancelled".into()))?;
    drop(left);

    let data: Vec<Value> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": EMBEDDING_MODEL,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    })))
}
