//! Model engines behind one small trait: mistral.rs for real, a scripted fake for tests.
//!
//! The server holds an `Arc<dyn Engine>` and never sees mistral.rs types. An engine turns a
//! [`GenerateRequest`] into a stream of [`Event`]s: text deltas (with optional logprobs) and
//! one final [`Event::Done`] carrying the finish reason and exact token usage. Dropping the
//! stream cancels the generation.

#![deny(missing_docs)]

#[cfg(test)]
mod attention_tests;
pub mod fake;
pub mod gguf;
pub mod mistral;
mod sampling;
pub mod scoring;
pub mod synth;
pub mod tokenizer;

use std::collections::HashMap;
use std::pin::Pin;

use futures::future::BoxFuture;
use futures::Stream;
use serde::{Deserialize, Serialize};

pub use fake::FakeEngine;
pub use mistral::{MistralEngine, MistralOptions};
pub use tokenizer::TokenizerFacts;

/// Errors an engine reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is well formed but the engine cannot run it (bad sampling value, ...).
    #[error("{0}")]
    Invalid(String),
    /// Prompt plus requested completion exceed the model context.
    #[error("this model's maximum context length is {max} tokens, but {prompt} tokens were given in the messages and {completion} requested for the completion")]
    ContextLength {
        /// Context window of the model, in tokens.
        max: usize,
        /// Tokens in the rendered prompt.
        prompt: usize,
        /// Tokens requested for the completion.
        completion: usize,
    },
    /// Loading a model failed.
    #[error("model load failed: {0}")]
    Load(String),
    /// The engine could not take the request in time (it waits for other work to end).
    #[error("{0}")]
    Busy(String),
    /// Anything else: a bug or a broken engine. The message is for logs, not clients.
    #[error("internal engine error: {0}")]
    Internal(String),
    /// I/O on model files.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// File involved.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Operator instructions.
    System,
    /// OpenAI's newer name for operator instructions; rendered as `system`.
    Developer,
    /// The person chatting.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
}

impl Role {
    /// The role name given to the chat template.
    pub fn template_name(self) -> &'static str {
        match self {
            Role::System | Role::Developer => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One message of the conversation, already flattened to text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author role.
    pub role: Role,
    /// Text content.
    pub content: String,
}

impl ChatMessage {
    /// Convenience constructor.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// Sampling parameters, already validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// 0 means greedy.
    pub temperature: f32,
    /// Nucleus mass in (0, 1].
    pub top_p: f32,
    /// Keep the k most likely tokens (None: all).
    pub top_k: Option<usize>,
    /// Drop tokens whose probability is below `min_p` times the top one.
    pub min_p: Option<f32>,
    /// Seed for the per-request random generator; None draws a fresh one.
    pub seed: Option<u64>,
    /// Stop sequences; the matched text is not returned.
    pub stop: Vec<String>,
    /// Completion budget in tokens (None: the rest of the context).
    pub max_tokens: Option<usize>,
    /// OpenAI presence penalty, in [-2, 2].
    pub presence_penalty: f32,
    /// OpenAI frequency penalty, in [-2, 2].
    pub frequency_penalty: f32,
    /// Additive biases on token logits.
    pub logit_bias: HashMap<u32, f32>,
    /// Return the chosen token's log-probability.
    pub logprobs: bool,
    /// How many alternatives to return per position (0..=20).
    pub top_logprobs: usize,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_p: 1.0,
            top_k: None,
            min_p: None,
            seed: None,
            stop: Vec::new(),
            max_tokens: None,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            logit_bias: HashMap::new(),
            logprobs: false,
            top_logprobs: 0,
        }
    }
}

/// A grammar the generated text must follow (constrained decoding). Tokens that would
/// leave the grammar are masked before sampling; the end of sequence is allowed only where
/// the grammar may end.
#[derive(Debug, Clone, PartialEq)]
pub enum Grammar {
    /// An llguidance Lark grammar (may embed JSON schemas with `%json {...}`).
    Lark(String),
    /// A JSON schema the whole output must match.
    JsonSchema(serde_json::Value),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// Conversation so far.
    pub messages: Vec<ChatMessage>,
    /// Sampling parameters.
    pub sampling: Sampling,
    /// Constrain the output to a grammar (`None`: free text).
    pub grammar: Option<Grammar>,
}

/// What to generate from a prompt given as token ids (no chat template: `/v1/completions`).
#[derive(Debug, Clone)]
pub struct CompleteRequest {
    /// Prompt token ids, used as they are.
    pub prompt: Vec<u32>,
    /// Sampling parameters.
    pub sampling: Sampling,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// End of sequence token or a stop sequence.
    Stop,
    /// `max_tokens` or the context limit reached.
    Length,
    /// A guardrail ended the answer.
    ContentFilter,
    /// The model called tools.
    ToolCalls,
}

impl FinishReason {
    /// The OpenAI string.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolCalls => "tool_calls",
        }
    }
}

/// Exact token counts of one generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the rendered prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub completion_tokens: usize,
    /// Prompt tokens whose KV came from the prefix cache instead of a prefill (0 when
    /// unknown).
    #[serde(default)]
    pub cached_prompt_tokens: usize,
}

/// One alternative token at a position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLogprob {
    /// Token text.
    pub token: String,
    /// Natural-log probability.
    pub logprob: f32,
    /// UTF-8 bytes of the token text.
    pub bytes: Vec<u8>,
}

/// The chosen token at one position, with alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    /// Token text.
    pub token: String,
    /// Natural-log probability under the model (after penalties and biases, before
    /// temperature).
    pub logprob: f32,
    /// UTF-8 bytes of the token text.
    pub bytes: Vec<u8>,
    /// Most likely tokens at this position, best first.
    pub top_logprobs: Vec<TopLogprob>,
}

/// What a generation stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// New text (may be empty when only logprobs arrive).
    Delta {
        /// Text to append.
        text: String,
        /// Per-token logprobs for the tokens behind this text, when requested.
        logprobs: Vec<TokenLogprob>,
        /// Completion tokens generated so far, this delta included (exact usage for a
        /// generation the server stops early, e.g. on an output-policy block).
        completion_tokens: usize,
    },
    /// The last event of a successful generation.
    Done {
        /// Why it ended.
        finish_reason: FinishReason,
        /// Exact token counts.
        usage: Usage,
    },
}

/// A stream of generation events; dropping it cancels the generation.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<Event>> + Send>>;

/// Facts about the loaded model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// Name clients use in `model`.
    pub id: String,
    /// Path of the weights file.
    pub path: String,
    /// SHA-256 of the weights file (hex).
    pub sha256: String,
    /// Context window in tokens.
    pub max_context: usize,
    /// Unix time the model was loaded.
    pub created: u64,
}

/// An inference engine the server can hold as `Arc<dyn Engine>`.
pub trait Engine: Send + Sync {
    /// Facts about the served model.
    fn info(&self) -> &ModelInfo;

    /// Exact number of prompt tokens the messages render to (chat template applied,
    /// generation prompt added).
    fn count_prompt_tokens<'a>(
        &'a self,
        messages: &'a [ChatMessage],
    ) -> BoxFuture<'a, Result<usize>>;

    /// Starts a generation. Errors before the first token come back here; later ones
    /// arrive in the stream.
    fn generate(&self, request: GenerateRequest) -> BoxFuture<'_, Result<EventStream>>;

    /// Starts a generation from token ids (no chat template). Errors as for
    /// [`Engine::generate`].
    fn complete(&self, request: CompleteRequest) -> BoxFuture<'_, Result<EventStream>>;

    /// The natural-log probability of each prompt token given the tokens before it, with
    /// the `top` most likely tokens at its position; the first token has no context and
    /// gets `None`. One forward pass over the whole prompt, run alone in the engine.
    fn prompt_logprobs<'a>(
        &'a self,
        prompt: &'a [u32],
        top: usize,
    ) -> BoxFuture<'a, Result<Vec<Option<TokenLogprob>>>>;

    /// Number of generations currently running inside the engine.
    fn running(&self) -> usize;

    /// The tokenizer's facts (vocabulary, special tokens, chat template).
    fn tokenizer(&self) -> &TokenizerFacts;

    /// Token ids of plain text; `add_special` adds what the tokenizer adds to a prompt
    /// (BOS). Control-token strings in the text are recognised as such.
    fn tokenize<'a>(&'a self, text: &'a str, add_special: bool) -> BoxFuture<'a, Result<Vec<u32>>>;

    /// Token ids of messages rendered by the chat template, with the assistant's turn
    /// opened when `add_generation_prompt`.
    fn tokenize_chat<'a>(
        &'a self,
        messages: &'a [ChatMessage],
        add_generation_prompt: bool,
    ) -> BoxFuture<'a, Result<Vec<u32>>>;

    /// Text of token ids (every id must be in the vocabulary).
    fn detokenize<'a>(
        &'a self,
        ids: &'a [u32],
        skip_special: bool,
    ) -> BoxFuture<'a, Result<String>>;
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &std::path::Path) -> Result<String> {
    use sha2::Digest;
    use std::io::Read;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}
