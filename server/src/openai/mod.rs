//! OpenAI Chat Completions wire types, the JSON extractor and request validation.
//!
//! Every field of the OpenAI request is declared here: it is either honoured or rejected
//! with a 400 naming it. Unknown fields (also inside `medserve`) are rejected too.

pub mod completions;
pub mod limits;
pub mod responses;
pub mod sampling;
pub mod sse;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use medserve_guardrails::input::{RedFlag, Verdict};
use medserve_guardrails::policy::Audience;
use medserve_guardrails::vitals::Vitals;

use crate::retrieval::{RetrievalFacts, RetrievalOptions};
use medserve_models::{ChatMessage, Role, Sampling, TokenLogprob};

use crate::error::ApiError;

/// JSON body extractor whose failures come back in the OpenAI error shape, naming the
/// offending field.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.starts_with("application/json"))
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::InvalidRequest {
                message: "expected a JSON body with `Content-Type: application/json`".into(),
                param: None,
                code: None,
            });
        }
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|e| ApiError::InvalidRequest {
                    message: format!("could not read the request body: {e}"),
                    param: None,
                    code: None,
                })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses JSON, turning serde's message into one that names the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::InvalidRequest {
                message: format!("the body is not valid JSON: {inner}"),
                param: None,
                code: Some("invalid_json"),
            };
        }
        let msg = inner.to_string();
        // serde: "unknown field `foo`, expected one of ..."
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string);
        let param = match (&unknown, path.as_str()) {
            (Some(f), ".") | (Some(f), "") => f.clone(),
            (Some(f), p) if p.ends_with(f.as_str()) => p.to_string(),
            (Some(f), p) => format!("{p}.{f}"),
            (None, p) => p.to_string(),
        };
        let message = match unknown {
            Some(f) => format!("unrecognized request argument supplied: {f}"),
            None => format!("invalid value for `{param}`: {}", strip_position(&msg)),
        };
        ApiError::InvalidRequest {
            message,
            param: (!param.is_empty() && param != ".").then_some(param),
            code: None,
        }
    })
}

fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}

/// `POST /v1/chat/completions` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatCompletionRequest {
    /// Model name (see `GET /v1/models`).
    pub model: String,
    /// Conversation.
    pub messages: Vec<RequestMessage>,
    /// Stream over SSE.
    pub stream: Option<bool>,
    /// Streaming options.
    pub stream_options: Option<StreamOptions>,
    /// Sampling temperature in [0, 2].
    pub temperature: Option<f32>,
    /// Nucleus sampling mass in [0, 1].
    pub top_p: Option<f32>,
    /// Number of choices, 1-8 (see `crate::chat::choices`).
    pub n: Option<u32>,
    /// Up to 4 stop sequences.
    pub stop: Option<Stop>,
    /// Deprecated alias of `max_completion_tokens`.
    pub max_tokens: Option<u32>,
    /// Completion budget.
    pub max_completion_tokens: Option<u32>,
    /// Presence penalty in [-2, 2].
    pub presence_penalty: Option<f32>,
    /// Frequency penalty in [-2, 2].
    pub frequency_penalty: Option<f32>,
    /// Token id (as string) to bias in [-100, 100].
    pub logit_bias: Option<HashMap<String, f32>>,
    /// Return logprobs of the chosen tokens.
    pub logprobs: Option<bool>,
    /// Alternatives per position, 0..=20 (needs `logprobs`).
    pub top_logprobs: Option<u32>,
    /// Seed of the per-request sampler.
    pub seed: Option<i64>,
    /// End-user id: accepted, kept only in trace-level logs.
    pub user: Option<String>,
    /// End-user id for abuse tracking: accepted, kept only in trace-level logs.
    pub safety_identifier: Option<String>,
    /// Cache hint: accepted; prefix caching here is automatic for every request.
    pub prompt_cache_key: Option<String>,
    /// `auto` or `default` only.
    pub service_tier: Option<String>,
    /// `false` only: this server does not store completions for OpenAI-style retrieval.
    pub store: Option<bool>,
    /// Only meaningful with `store`: rejected.
    pub metadata: Option<Value>,
    /// `["text"]` only.
    pub modalities: Option<Vec<String>>,
    /// Function tools the model may call (see [`crate::toolcall`]).
    pub tools: Option<Value>,
    /// `none`, `auto` (default with tools), `required` or `{"type":"function","function":{"name"}}`.
    pub tool_choice: Option<Value>,
    /// Allow several calls in one turn (default true).
    pub parallel_tool_calls: Option<Value>,
    /// Deprecated functions API: not supported.
    pub functions: Option<Value>,
    /// Deprecated functions API: not supported.
    pub function_call: Option<Value>,
    /// `text`, `json_object` or `json_schema` (constrained decoding).
    pub response_format: Option<Value>,
    /// Audio output: not supported.
    pub audio: Option<Value>,
    /// Predicted outputs: not supported.
    pub prediction: Option<Value>,
    /// Reasoning models only: not supported.
    pub reasoning_effort: Option<Value>,
    /// Not supported.
    pub verbosity: Option<Value>,
    /// Web search: not supported.
    pub web_search_options: Option<Value>,
    /// medserve extensions.
    pub medserve: Option<MedserveOptions>,
}

/// Non-OpenAI request options, all under one `medserve` object.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MedserveOptions {
    /// Keep only the k most likely tokens when sampling (>= 1).
    pub top_k: Option<u32>,
    /// Drop tokens below `min_p` times the most likely one's probability, in [0, 1].
    pub min_p: Option<f32>,
    /// Who the answer is for: `patient` (default) or `clinician`. Sets the output policy
    /// (what is blocked, rewritten or cautioned) and whether the disclaimer is appended.
    pub audience: Option<Audience>,
    /// Structured vital signs (NEWS2 fields, plus `altered_mentation` for qSOFA). NEWS2 ≥ 7,
    /// any single NEWS2 parameter scoring 3, or qSOFA ≥ 2 gives the fixed emergency answer.
    pub vitals: Option<Vitals>,
    /// Guideline retrieval: `{"enabled", "top_k", "mode"}` (see [`RetrievalOptions`]).
    pub retrieval: Option<RetrievalOptions>,
    /// `generative` (default: the model writes the answer from the passages) or
    /// `verbatim` (the answer is only whole sentences of the vetted passages).
    pub grounding: Option<crate::grounding::GroundingMode>,
    /// Built-in tools (`GET /v1/tools`) the server runs itself when the model calls them;
    /// results go back to the model and the client gets the final answer.
    pub tools: Option<Vec<String>>,
    /// Most model turns of the server-side tool loop that may end in built-in calls, 1-8
    /// (default 4); one more turn, with no tools offered, gives the answer.
    pub max_tool_rounds: Option<u32>,
    /// This conversation is a triage session (default: the key's setting, else false).
    /// A red flag, or `end_session`, produces an assessment report for the nurse queue.
    pub triage: Option<bool>,
    /// The triage session's id (1-128 characters of `A-Z a-z 0-9 . _ : -`); required with
    /// `triage`, refused without it.
    pub session_id: Option<String>,
    /// The triage session ends with this exchange: produce its assessment report.
    pub end_session: Option<bool>,
    /// The patient consents to this exchange being logged, de-identified, for training and
    /// evaluation (default: the key's setting, else false). No consent, no record.
    pub consent: Option<bool>,
}

/// `stream_options`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    /// Send a final usage chunk.
    pub include_usage: Option<bool>,
    /// Obfuscation padding: only `false` is supported.
    pub include_obfuscation: Option<bool>,
}

/// `stop`: one string or a list.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Stop {
    /// One sequence.
    One(String),
    /// Several sequences.
    Many(Vec<String>),
}

/// One message of the request.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestMessage {
    /// Author.
    pub role: Role,
    /// Text, or an array of content parts.
    pub content: Option<Content>,
    /// Participant name: not supported by the chat template.
    pub name: Option<String>,
    /// Assistant tool calls from an earlier turn (answered by later `tool` messages).
    pub tool_calls: Option<Value>,
    /// For `tool` messages: the call answered.
    pub tool_call_id: Option<String>,
    /// Assistant refusal text from an earlier turn.
    pub refusal: Option<String>,
    /// Audio reference: not supported.
    pub audio: Option<Value>,
    /// Deprecated: not supported.
    pub function_call: Option<Value>,
    /// Citations of an earlier assistant answer (as SDKs send a response message back):
    /// accepted on `assistant` messages; they describe that answer, not the prompt.
    pub annotations: Option<Value>,
}

/// Message content.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts (only `text` parts are supported).
    Parts(Vec<Value>),
}

/// The validated, internal form of a chat request.
#[derive(Debug)]
pub struct ChatJob {
    /// Messages flattened to text.
    pub messages: Vec<ChatMessage>,
    /// The seed as the client sent it (or the one drawn), for the response.
    pub seed: i64,
    /// Sampling parameters (seed always set).
    pub sampling: Sampling,
    /// Whether the client wants SSE.
    pub stream: bool,
    /// Whether a usage chunk is wanted at the end of the stream.
    pub include_usage: bool,
    /// Whether `max_tokens` was given (otherwise the rest of the context is the budget).
    pub explicit_max_tokens: bool,
    /// Output-policy audience.
    pub audience: Audience,
    /// Structured vital signs, already validated.
    pub vitals: Option<Vitals>,
    /// Retrieval options as sent.
    pub retrieval: Option<RetrievalOptions>,
    /// Grounding mode (default generative).
    pub grounding: crate::grounding::GroundingMode,
    /// Tool settings as sent (the tool set is built by the handler, which knows the
    /// built-in catalogue).
    pub tools: ToolRequest,
    /// Function name answered by each `tool` message, by message index.
    pub tool_names: HashMap<usize, String>,
    /// Structured output wanted.
    pub response_format: ResponseFormat,
    /// `medserve.audience` as sent (the key's role may override the default).
    pub audience_requested: Option<Audience>,
    /// Triage and consent options as sent (resolved against the key by the handler).
    pub care: CareRequest,
}

/// `medserve.triage`, `session_id`, `end_session` and `consent` as sent.
#[derive(Debug, Default, Clone)]
pub struct CareRequest {
    /// `medserve.triage`.
    pub triage: Option<bool>,
    /// `medserve.session_id`, validated.
    pub session_id: Option<String>,
    /// `medserve.end_session`.
    pub end_session: bool,
    /// `medserve.consent`.
    pub consent: Option<bool>,
}

/// The tool part of a request, validated except for what needs the catalogue.
#[derive(Debug, Default)]
pub struct ToolRequest {
    /// The client's function tools.
    pub client: Vec<crate::toolcall::FunctionTool>,
    /// Built-in tool names from `medserve.tools`.
    pub builtin: Vec<String>,
    /// `tool_choice` as sent.
    pub choice: Option<Value>,
    /// `parallel_tool_calls` as sent.
    pub parallel: Option<Value>,
    /// Bound on model turns of the server-side loop.
    pub max_rounds: usize,
}

/// `response_format`.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ResponseFormat {
    /// Free text.
    #[default]
    Text,
    /// Any JSON object.
    JsonObject,
    /// JSON matching this schema.
    JsonSchema(Value),
}

impl ResponseFormat {
    /// The schema decoding is constrained to (`None` for text).
    pub fn schema(&self) -> Option<Value> {
        match self {
            ResponseFormat::Text => None,
            ResponseFormat::JsonObject => Some(serde_json::json!({"type": "object"})),
            ResponseFormat::JsonSchema(s) => Some(s.clone()),
        }
    }
}

/// Most choices (`n`) per request.
pub const MAX_CHOICES: u32 = 8;

/// Default bound on model turns of the server-side tool loop.
pub const DEFAULT_TOOL_ROUNDS: usize = 4;

fn parse_response_format(rf: &Value) -> Result<ResponseFormat, ApiError> {
    let obj = rf.as_object().ok_or_else(|| {
        ApiError::invalid("response_format", "`response_format` must be an object")
    })?;
    let only = |keys: &[&str]| crate::toolcall::unknown_key("response_format", obj, keys);
    match obj.get("type").and_then(Value::as_str) {
        Some("text") => only(&["type"]).map(|_| ResponseFormat::Text),
        Some("json_object") => only(&["type"]).map(|_| ResponseFormat::JsonObject),
        Some("json_schema") => {
            only(&["type", "json_schema"])?;
            let js = crate::toolcall::object_at(
                "response_format.json_schema",
                obj.get("json_schema"),
                &["name", "description", "schema", "strict"],
                "`json_schema` must be an object with `name` and `schema`",
            )?;
            let name = js.get("name").and_then(Value::as_str).unwrap_or("");
            crate::toolcall::check_name("response_format.json_schema.name", name)?;
            if js
                .get("strict")
                .is_some_and(|v| !v.is_boolean() && !v.is_null())
            {
                return Err(ApiError::invalid(
                    "response_format.json_schema.strict",
                    "`strict` must be a boolean",
                ));
            }
            let schema = js.get("schema").cloned().unwrap_or(serde_json::json!({}));
            crate::toolcall::check_schema("response_format.json_schema.schema", &schema)?;
            Ok(ResponseFormat::JsonSchema(schema))
        }
        _ => Err(ApiError::invalid(
            "response_format.type",
            "`response_format.type` must be text, json_object or json_schema",
        )),
    }
}

fn check_range(param: &str, v: Option<f32>, lo: f32, hi: f32) -> Result<(), ApiError> {
    match v {
        Some(x) if !(x.is_finite() && x >= lo && x <= hi) => Err(ApiError::invalid(
            param,
            format!("`{param}` must be between {lo} and {hi}, got {x}"),
        )),
        _ => Ok(()),
    }
}

fn reject_if_present(param: &str, v: &Option<Value>, what: &str) -> Result<(), ApiError> {
    match v {
        Some(Value::Null) | None => Ok(()),
        Some(_) => Err(ApiError::unsupported(param, what)),
    }
}

fn flatten_content(i: usize, content: Option<Content>, role: Role) -> Result<String, ApiError> {
    let param = format!("messages[{i}].content");
    match content {
        Some(Content::Text(t)) => Ok(t),
        Some(Content::Parts(parts)) => {
            let mut text = String::new();
            for (j, part) in parts.iter().enumerate() {
                let p = format!("{param}[{j}]");
                let kind = part.get("type").and_then(Value::as_str).unwrap_or("");
                match kind {
                    "text" => {
                        let obj = part.as_object().expect("has a type so is an object");
                        if let Some(extra) = obj.keys().find(|k| *k != "type" && *k != "text") {
                            return Err(ApiError::invalid(
                                format!("{p}.{extra}"),
                                format!("unrecognized field `{extra}` in a text part"),
                            ));
                        }
                        let t = obj.get("text").and_then(Value::as_str).ok_or_else(|| {
                            ApiError::invalid(
                                format!("{p}.text"),
                                "a text part needs a string `text`",
                            )
                        })?;
                        if !text.is_empty() {
                            text.push('\n');
                        }
                        text.push_str(t);
                    }
                    "image_url" | "input_audio" | "file" => {
                        return Err(ApiError::unsupported(
                            &format!("{p}.type"),
                            &format!(
                            "`{kind}` parts need a multimodal model; this model reads text only"
                        ),
                        ))
                    }
                    "refusal" if role == Role::Assistant => {}
                    other => {
                        return Err(ApiError::invalid(
                            format!("{p}.type"),
                            format!("unknown content part type {other:?}"),
                        ))
                    }
                }
            }
            Ok(text)
        }
        None if role == Role::Assistant => Ok(String::new()),
        None => Err(ApiError::invalid(
            param,
            "`content` is required for this role",
        )),
    }
}

impl ChatCompletionRequest {
    /// Checks every field and builds the internal job.
    pub fn validate(self) -> Result<ChatJob, ApiError> {
        // Size limits first, before any work that grows with the input.
        limits::check_counts(self.messages.len(), self.tools.as_ref())?;
        reject_if_present("functions", &self.functions, "use `tools`")?;
        reject_if_present("function_call", &self.function_call, "use `tool_choice`")?;
        let client_tools = match &self.tools {
            None | Some(Value::Null) => Vec::new(),
            Some(t) => crate::toolcall::parse_client_tools(t)?,
        };
        reject_if_present("audio", &self.audio, "audio output is not available")?;
        reject_if_present(
            "prediction",
            &self.prediction,
            "predicted outputs are not available",
        )?;
        reject_if_present(
            "reasoning_effort",
            &self.reasoning_effort,
            "the model has no reasoning mode",
        )?;
        reject_if_present("verbosity", &self.verbosity, "not available for this model")?;
        reject_if_present(
            "web_search_options",
            &self.web_search_options,
            "web search is not available",
        )?;
        reject_if_present(
            "metadata",
            &self.metadata,
            "it is only used with `store`, which is not available",
        )?;
        let response_format = match &self.response_format {
            None | Some(Value::Null) => ResponseFormat::Text,
            Some(rf) => parse_response_format(rf)?,
        };
        if self.store == Some(true) {
            return Err(ApiError::unsupported(
                "store",
                "completions are not stored for retrieval",
            ));
        }
        if let Some(m) = &self.modalities {
            if m.iter().any(|x| x != "text") {
                return Err(ApiError::unsupported(
                    "modalities",
                    "only [\"text\"] is available",
                ));
            }
        }
        if let Some(tier) = &self.service_tier {
            if tier != "auto" && tier != "default" {
                return Err(ApiError::unsupported(
                    "service_tier",
                    "only `auto` and `default` are available",
                ));
            }
        }
        if let Some(n) = self.n {
            if !(1..=MAX_CHOICES).contains(&n) {
                return Err(ApiError::invalid(
                    "n",
                    format!("`n` must be 1 to {MAX_CHOICES}, got {n}"),
                ));
            }
        }
        let stream = self.stream.unwrap_or(false);
        let mut include_usage = false;
        if let Some(opts) = &self.stream_options {
            if !stream {
                return Err(ApiError::invalid(
                    "stream_options",
                    "`stream_options` is only allowed when `stream` is true",
                ));
            }
            if opts.include_obfuscation == Some(true) {
                return Err(ApiError::unsupported(
                    "stream_options.include_obfuscation",
                    "obfuscation padding is not available",
                ));
            }
            include_usage = opts.include_usage.unwrap_or(false);
        }

        let max_tokens = match (self.max_tokens, self.max_completion_tokens) {
            (Some(a), Some(b)) if a != b => {
                return Err(ApiError::invalid(
                    "max_tokens",
                    "`max_tokens` and `max_completion_tokens` disagree; send one",
                ))
            }
            (a, b) => a.or(b),
        };
        if max_tokens == Some(0) {
            let p = if self.max_completion_tokens.is_some() {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            return Err(ApiError::invalid(p, format!("`{p}` must be at least 1")));
        }

        let logprobs = self.logprobs.unwrap_or(false);
        let top_logprobs = self.top_logprobs.unwrap_or(0);
        if top_logprobs > 20 {
            return Err(ApiError::invalid(
                "top_logprobs",
                "`top_logprobs` must be between 0 and 20",
            ));
        }
        if self.top_logprobs.is_some() && !logprobs {
            return Err(ApiError::invalid(
                "top_logprobs",
                "`top_logprobs` needs `logprobs: true`",
            ));
        }

        let ms = self.medserve.unwrap_or_default();
        let (mut sampling, seed) = sampling::SamplingFields {
            temperature: self.temperature,
            top_p: self.top_p,
            presence_penalty: self.presence_penalty,
            frequency_penalty: self.frequency_penalty,
            stop: self.stop,
            logit_bias: self.logit_bias,
            seed: self.seed,
            top_k: ms.top_k,
            min_p: ms.min_p,
        }
        .check()?;
        sampling.max_tokens = max_tokens.map(|m| m as usize);
        sampling.logprobs = logprobs;
        sampling.top_logprobs = top_logprobs as usize;
        let max_rounds = match ms.max_tool_rounds {
            None => DEFAULT_TOOL_ROUNDS,
            Some(n @ 1..=8) => n as usize,
            Some(n) => {
                return Err(ApiError::invalid(
                    "medserve.max_tool_rounds",
                    format!("`medserve.max_tool_rounds` must be between 1 and 8, got {n}"),
                ))
            }
        };
        let builtin = ms.tools.clone().unwrap_or_default();
        if response_format != ResponseFormat::Text
            && (!client_tools.is_empty() || !builtin.is_empty())
        {
            return Err(ApiError::unsupported(
                "response_format",
                "structured output together with tools is not available; send one of them",
            ));
        }
        if let Some(v) = &ms.vitals {
            // Out-of-range observations are a 400 naming the field, never a silent zero.
            if let Err(e) = medserve_guardrails::vitals::assess(v) {
                let message = match e {
                    medserve_tools::Error::InvalidArguments { message, .. } => message,
                    other => other.to_string(),
                };
                let field = message.split(':').next().unwrap_or("").trim();
                return Err(ApiError::invalid(
                    format!("medserve.vitals.{field}"),
                    format!("`medserve.vitals`: {message}"),
                ));
            }
        }

        if self.messages.is_empty() {
            return Err(ApiError::invalid(
                "messages",
                "`messages` must not be empty",
            ));
        }
        let mut messages = Vec::with_capacity(self.messages.len());
        let mut request_chars = 0usize;
        let mut history = crate::toolcall::HistoryCalls::default();
        let mut tool_names = HashMap::new();
        for (i, m) in self.messages.into_iter().enumerate() {
            let p = |f: &str| format!("messages[{i}].{f}");
            if m.name.is_some() {
                return Err(ApiError::unsupported(
                    &p("name"),
                    "the chat template has no participant names",
                ));
            }
            let call_text = match &m.tool_calls {
                None | Some(Value::Null) => None,
                Some(_) if m.role != Role::Assistant => {
                    return Err(ApiError::invalid(
                        p("tool_calls"),
                        "`tool_calls` is only for `assistant` messages",
                    ))
                }
                Some(calls) => Some(history.assistant(&p("tool_calls"), calls)?),
            };
            reject_if_present(&p("audio"), &m.audio, "audio is not available")?;
            reject_if_present(
                &p("function_call"),
                &m.function_call,
                "the functions API is not available",
            )?;
            if m.role == Role::Tool && m.tool_call_id.is_none() {
                return Err(ApiError::invalid(
                    p("tool_call_id"),
                    "a `tool` message needs `tool_call_id`",
                ));
            }
            if m.role != Role::Tool && m.tool_call_id.is_some() {
                return Err(ApiError::invalid(
                    p("tool_call_id"),
                    "`tool_call_id` is only for `tool` messages",
                ));
            }
            if m.annotations.is_some() && m.role != Role::Assistant {
                return Err(ApiError::invalid(
                    p("annotations"),
                    "`annotations` are only for `assistant` messages",
                ));
            }
            if m.refusal.is_some() && m.role != Role::Assistant {
                return Err(ApiError::invalid(
                    p("refusal"),
                    "`refusal` is only for `assistant` messages",
                ));
            }
            if let (Role::Tool, Some(id)) = (m.role, &m.tool_call_id) {
                tool_names.insert(i, history.answer(&p("tool_call_id"), id)?);
            }
            let mut content = flatten_content(i, m.content, m.role)?;
            request_chars += limits::check_message(i, &content, request_chars)?;
            if let Some(r) = m.refusal {
                if content.is_empty() {
                    content = r;
                }
            }
            if let Some(calls) = call_text {
                if !content.is_empty() {
                    content.push('\n');
                }
                content.push_str(&calls);
            }
            messages.push(ChatMessage {
                role: m.role,
                content,
            });
        }
        if messages.last().map(|m| m.role) == Some(Role::Assistant) {
            return Err(ApiError::invalid(
                format!("messages[{}].role", messages.len() - 1),
                "the last message must not be from the assistant (prefill is not supported)",
            ));
        }

        tracing::trace!(user = ?self.user, safety_identifier = ?self.safety_identifier, prompt_cache_key = ?self.prompt_cache_key, "request identifiers");

        if let Some(id) = &ms.session_id {
            let ok = (1..=128).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b));
            if !ok {
                return Err(ApiError::invalid(
                    "medserve.session_id",
                    "`medserve.session_id` must be 1-128 characters of A-Z a-z 0-9 . _ : -",
                ));
            }
        }
        let care = CareRequest {
            triage: ms.triage,
            session_id: ms.session_id.clone(),
            end_session: ms.end_session.unwrap_or(false),
            consent: ms.consent,
        };
        Ok(ChatJob {
            seed,
            messages,
            sampling,
            stream,
            include_usage,
            explicit_max_tokens: max_tokens.is_some(),
            audience: ms.audience.unwrap_or(Audience::Patient),
            audience_requested: ms.audience,
            care,
            vitals: ms.vitals,
            retrieval: ms.retrieval,
            grounding: ms.grounding.unwrap_or_default(),
            tools: ToolRequest {
                client: client_tools,
                builtin,
                choice: self.tool_choice,
                parallel: self.parallel_tool_calls,
                max_rounds,
            },
            tool_names,
            response_format,
        })
    }
}

/// `usage` object.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct UsageBody {
    /// Prompt tokens.
    pub prompt_tokens: usize,
    /// Completion tokens.
    pub completion_tokens: usize,
    /// Sum.
    pub total_tokens: usize,
    /// Breakdown of the prompt tokens: `cached_tokens` came from the prefix cache.
    #[serde(default)]
    pub prompt_tokens_details: PromptTokensDetails,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PromptTokensDetails {
    /// Prompt tokens whose KV came from the prefix cache instead of a prefill.
    pub cached_tokens: usize,
}

impl From<medserve_models::Usage> for UsageBody {
    fn from(u: medserve_models::Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.prompt_tokens + u.completion_tokens,
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: u.cached_prompt_tokens,
            },
        }
    }
}

/// `logprobs` object of a choice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogprobsBody {
    /// Per-token entries.
    pub content: Vec<TokenLogprob>,
    /// Refusal tokens (always null here).
    pub refusal: Option<Vec<TokenLogprob>>,
}

/// What the server did, under `medserve` in responses.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MedserveFacts {
    /// `null`: the latest user message (and `medserve.vitals`, if given) was checked for
    /// emergencies and none was found. Otherwise `{categories, matched, action:
    /// "emergency"}` and the answer is the fixed emergency text (no model ran).
    pub red_flag: Option<RedFlag>,
    /// The audience the output policy was applied for.
    pub audience: Audience,
    /// Every guardrail verdict, in order: `{stage, class, action, evidence}`.
    pub guardrails: Vec<Verdict>,
    /// The guideline passages put in the prompt (`null`: retrieval was off or did not run).
    pub retrieval: Option<RetrievalFacts>,
    /// How the answer rests on the passages (`null` when no passage was used): mode,
    /// sentences, supported sentences (each cited), the unsupported ones, and whether the
    /// answer is the fixed "no vetted information" text.
    pub grounding_report: Option<crate::grounding::GroundingReport>,
    /// Built-in tools the server ran for `medserve.tools`, in order: `{round, id, name,
    /// arguments, result, ok, duration_ms}`.
    pub tool_runs: Vec<crate::toolcall::ToolRun>,
    /// The sampler seed used (the request's, or a fresh one): resend it to reproduce.
    pub seed: i64,
    /// Milliseconds from request arrival to the model's first token (`null` when no model
    /// ran). Text may reach the client later: the output policy holds back each sentence
    /// until it is complete.
    pub ttft_ms: Option<u64>,
    /// Milliseconds from request arrival to the end of generation.
    pub total_ms: u64,
    /// The assessment report this exchange created or revised (`null`: none), already
    /// stored: `{id, version, urgency, disposition}`; or, when a report was due but the
    /// store failed, `{"stored": false, "reason": "store_unavailable"}`.
    pub assessment: Option<AssessmentFacts>,
    /// Whether the exchange was logged, de-identified, for training: `{recorded, id}` or
    /// `{recorded: false, reason}`. Stored before this response was sent.
    pub training: TrainingFacts,
}

/// `medserve.assessment`: the report this exchange created or revised.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssessmentRef {
    /// Id for the nurse API.
    pub id: String,
    /// Version after this exchange.
    pub version: i64,
    /// Urgency.
    pub urgency: crate::store::Urgency,
    /// Disposition.
    pub disposition: crate::store::Disposition,
}

/// `medserve.assessment`: the report, or why a report that was due is missing.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum AssessmentFacts {
    /// Stored: `{id, version, urgency, disposition}`.
    Stored(AssessmentRef),
    /// Due but not stored: `{"stored": false, "reason": "store_unavailable"}`.
    NotStored {
        /// Always false.
        stored: bool,
        /// Why.
        reason: &'static str,
    },
}

/// `medserve.training`: whether the exchange was logged for training.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct TrainingFacts {
    /// A de-identified record was stored.
    pub recorded: bool,
    /// Its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Why not: `no_consent` or `store_unavailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}
