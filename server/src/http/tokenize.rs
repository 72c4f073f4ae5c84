//! The served model's tokenizer, in the shapes vLLM gives it (and lm-evaluation-harness's
//! remote tokenizer reads): `POST /tokenize`, `POST /detokenize`, `GET /tokenizer_info`.
//!
//! `/tokenize` with `messages` renders exactly the messages given through the model's chat
//! template; the chat route adds its own system text and reference passages, so its
//! `usage.prompt_tokens` is larger.

use axum::extract::State;
use axum::Json;
use medserve_models::{ChatMessage, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::error::ApiError;
use crate::openai::limits::{check_texts, MAX_MESSAGES, MAX_REQUEST_CHARS};
use crate::openai::ApiJson;

/// Most token ids `/detokenize` takes.
pub const MAX_DETOKENIZE: usize = 131_072;

fn check_model(state: &AppState, model: Option<&str>) -> Result<(), ApiError> {
    match model {
        Some(m) if m != state.engine()?.info().id => Err(ApiError::ModelNotFound(m.to_string())),
        _ => Ok(()),
    }
}

/// `POST /tokenize`: `prompt` (a string) or `messages` (chat messages with string
/// content), `add_special_tokens` (default: true for a prompt, false for messages, as the
/// template adds them), `add_generation_prompt` (messages only, default true),
/// `return_token_strs`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenizeRequest {
    /// Optional; must name the served model.
    pub model: Option<String>,
    /// Plain text.
    pub prompt: Option<String>,
    /// Chat messages.
    pub messages: Option<Vec<TokenizeMessage>>,
    /// Whether to add the tokenizer's special tokens (BOS).
    pub add_special_tokens: Option<bool>,
    /// Whether to end with the assistant's turn opening (messages only).
    pub add_generation_prompt: Option<bool>,
    /// Whether to return each token's vocabulary string.
    #[serde(default)]
    pub return_token_strs: bool,
}

/// A chat message for `/tokenize`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenizeMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: Role,
    /// Text.
    pub content: String,
    /// Accepted and ignored by the template (tool messages).
    pub tool_call_id: Option<String>,
    /// Accepted and ignored by the template.
    pub name: Option<String>,
}

/// The handler.
pub async fn tokenize(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TokenizeRequest>,
) -> Result<Json<Value>, ApiError> {
    check_model(&state, req.model.as_deref())?;
    let engine = state.engine()?.clone();
    let tokens = match (req.prompt, req.messages) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "prompt",
                "send either `prompt` or `messages`, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "prompt",
                "`prompt` or `messages` is required",
            ))
        }
        (Some(prompt), None) => {
            if req.add_generation_prompt.is_some() {
                return Err(ApiError::invalid(
                    "add_generation_prompt",
                    "`add_generation_prompt` applies to `messages` only",
                ));
            }
            let n = prompt.chars().count();
            if n > MAX_REQUEST_CHARS {
                return Err(ApiError::invalid(
                    "prompt",
                    format!("`prompt` may have at most {MAX_REQUEST_CHARS} characters, got {n}"),
                ));
            }
            engine
                .tokenize(&prompt, req.add_special_tokens.unwrap_or(true))
                .await?
        }
        (None, Some(messages)) => {
            if messages.is_empty() || messages.len() > MAX_MESSAGES {
                return Err(ApiError::invalid(
                    "messages",
                    format!("`messages` must hold 1 to {MAX_MESSAGES} messages"),
                ));
            }
            if req.add_special_tokens == Some(true) {
                return Err(ApiError::unsupported(
                    "add_special_tokens",
                    "the chat template adds the special tokens of `messages`",
                ));
            }
            check_texts(
                "messages",
                messages.iter().map(|m| m.content.as_str()),
                |i| format!("messages[{i}].content"),
            )?;
            let messages: Vec<ChatMessage> = messages
                .into_iter()
                .map(|m| ChatMessage::new(m.role, m.content))
                .collect();
            engine
                .tokenize_chat(&messages, req.add_generation_prompt.unwrap_or(true))
                .await
                .map_err(|e| match e {
                    medserve_models::Error::Invalid(m) => ApiError::invalid("messages", m),
                    e => e.into(),
                })?
        }
    };
    let mut body = json!({
        "count": tokens.len(),
        "max_model_len": engine.info().max_context,
        "tokens": tokens,
    });
    if req.return_token_strs {
        let vocab = &engine.tokenizer().vocab;
        let strs: Vec<&str> = tokens
            .iter()
            .map(|t| vocab.get(*t as usize).map_or("", String::as_str))
            .collect();
        body["token_strs"] = json!(strs);
    }
    Ok(Json(body))
}

/// `POST /detokenize`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetokenizeRequest {
    /// Optional; must name the served model.
    pub model: Option<String>,
    /// Token ids.
    pub tokens: Vec<i64>,
}

/// The handler.
pub async fn detokenize(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DetokenizeRequest>,
) -> Result<Json<Value>, ApiError> {
    check_model(&state, req.model.as_deref())?;
    let engine = state.engine()?.clone();
    if req.tokens.len() > MAX_DETOKENIZE {
        return Err(ApiError::invalid(
            "tokens",
            format!("at most {MAX_DETOKENIZE} tokens, got {}", req.tokens.len()),
        ));
    }
    let vocab = engine.tokenizer().vocab.len();
    let ids = req
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            u32::try_from(*t)
                .ok()
                .filter(|t| (*t as usize) < vocab)
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("tokens[{i}]"),
                        format!("token id {t} is outside the vocabulary of {vocab} tokens"),
                    )
                })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    let prompt = engine.detokenize(&ids, false).await?;
    Ok(Json(json!({ "prompt": prompt })))
}

/// `GET /tokenizer_info`: the tokenizer's configuration as in a `tokenizer_config.json`
/// (`tokenizer_class`, special tokens, `chat_template`, `model_max_length`), read from the
/// GGUF file.
pub async fn tokenizer_info(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = state.engine()?;
    let t = engine.tokenizer();
    Ok(Json(json!({
        "tokenizer_class": t.class(),
        "model": t.model,
        "vocab_size": t.vocab.len(),
        "model_max_length": engine.info().max_context,
        "bos_token": t.bos_token,
        "eos_token": t.eos_token,
        "pad_token": t.pad_token,
        "unk_token": t.unk_token,
        "bos_token_id": t.bos_token_id,
        "eos_token_id": t.eos_token_id,
        "add_bos_token": t.add_bos_token,
        "chat_template": t.chat_template,
    })))
}
