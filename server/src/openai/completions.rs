//! Legacy OpenAI Completions (`POST /v1/completions`) wire types and validation. Every
//! field OpenAI defines is honoured or refused with a 400 naming it; unknown fields too.

use std::collections::HashMap;

use medserve_guardrails::policy::Audience;
use medserve_models::Sampling;
use serde::Deserialize;
use serde_json::Value;

use super::sampling::SamplingFields;
use super::{limits, reject_if_present, Stop, StreamOptions};
use crate::error::ApiError;

/// Most prompts in one request.
pub const MAX_PROMPTS: usize = 64;
/// Most choices (prompts × `n`) in one request.
pub const MAX_COMPLETION_CHOICES: usize = 64;
/// Most alternatives per position with `logprobs` (OpenAI allows 5; vLLM 20).
pub const MAX_LOGPROBS: u32 = 20;
/// `max_tokens` when the request does not say (OpenAI's default).
pub const DEFAULT_MAX_TOKENS: u32 = 16;

/// The shapes `prompt` may take (documentation of the field; it is read as JSON and
/// checked by hand so that an error names the element).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PromptShape {
    /// One prompt.
    Text(String),
    /// Several prompts.
    Texts(Vec<String>),
    /// One prompt as token ids.
    Tokens(Vec<u32>),
    /// Several prompts as token ids.
    TokenLists(Vec<Vec<u32>>),
}

/// `POST /v1/completions` body.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionRequest {
    /// Model name (see `GET /v1/models`).
    pub model: String,
    /// A string, an array of strings, an array of token ids or an array of such arrays.
    #[schemars(with = "PromptShape")]
    pub prompt: Value,
    /// Completion budget in tokens (default 16; 0 with `echo` scores the prompt only).
    pub max_tokens: Option<u32>,
    /// Sampling temperature in [0, 2].
    pub temperature: Option<f32>,
    /// Nucleus sampling mass in [0, 1].
    pub top_p: Option<f32>,
    /// Completions per prompt, 1-8.
    pub n: Option<u32>,
    /// Must equal `n` when given (the server returns every sample it draws).
    pub best_of: Option<u32>,
    /// Stream over SSE.
    pub stream: Option<bool>,
    /// Streaming options.
    pub stream_options: Option<StreamOptions>,
    /// Log-probabilities of the chosen tokens and this many alternatives (0-20).
    pub logprobs: Option<u32>,
    /// Return the prompt before the completion (with its logprobs when asked).
    pub echo: Option<bool>,
    /// Up to 4 stop sequences.
    pub stop: Option<Stop>,
    /// Presence penalty in [-2, 2].
    pub presence_penalty: Option<f32>,
    /// Frequency penalty in [-2, 2].
    pub frequency_penalty: Option<f32>,
    /// Token id (as string) to bias in [-100, 100].
    pub logit_bias: Option<HashMap<String, f32>>,
    /// Seed of the sampler (choice `i` of a prompt uses `seed + i`).
    pub seed: Option<i64>,
    /// Text after the insertion point: not supported (400).
    pub suffix: Option<Value>,
    /// End-user id: accepted, kept only in trace-level logs.
    pub user: Option<String>,
    /// medserve extensions.
    pub medserve: Option<CompletionOptions>,
}

/// The `medserve` object of a completions request.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionOptions {
    /// Keep only the k most likely tokens when sampling (>= 1).
    pub top_k: Option<u32>,
    /// Drop tokens below `min_p` times the most likely one's probability, in [0, 1].
    pub min_p: Option<f32>,
    /// Who the text is for: `patient` (default) or `clinician` (the output policy).
    pub audience: Option<Audience>,
}

/// One prompt as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptIn {
    /// Text (tokenised without special tokens... see the handler).
    Text(String),
    /// Token ids, used as they are.
    Tokens(Vec<u32>),
}

/// A checked completions request.
#[derive(Debug, Clone)]
pub struct CompletionJob {
    /// The prompts, in order.
    pub prompts: Vec<PromptIn>,
    /// Sampling, with `max_tokens` set and the seed of choice 0.
    pub sampling: Sampling,
    /// The seed of choice 0 of each prompt.
    pub seed: i64,
    /// Choices per prompt.
    pub n: usize,
    /// Return the prompt first.
    pub echo: bool,
    /// Alternatives per position, when logprobs were asked for.
    pub logprobs: Option<usize>,
    /// Stream over SSE.
    pub stream: bool,
    /// A final usage chunk.
    pub include_usage: bool,
    /// `medserve.audience`.
    pub audience_requested: Option<Audience>,
}

fn token_id(param: &str, v: &Value) -> Result<u32, ApiError> {
    v.as_u64()
        .and_then(|x| u32::try_from(x).ok())
        .ok_or_else(|| ApiError::invalid(param, "token ids must be non-negative integers"))
}

fn token_ids(param: &str, items: &[Value]) -> Result<Vec<u32>, ApiError> {
    if items.is_empty() {
        return Err(ApiError::invalid(param, "a prompt must not be empty"));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| token_id(&format!("{param}[{i}]"), v))
        .collect()
}

/// The prompts of `prompt`, each named by its path in errors.
fn prompts(v: Value) -> Result<Vec<PromptIn>, ApiError> {
    const SHAPE: &str = "`prompt` must be a string, an array of strings, an array of token ids or an array of arrays of token ids";
    let items = match v {
        Value::String(s) => return Ok(vec![PromptIn::Text(s)]),
        Value::Array(items) => items,
        _ => return Err(ApiError::invalid("prompt", SHAPE)),
    };
    if items.is_empty() {
        return Err(ApiError::invalid("prompt", "`prompt` must not be empty"));
    }
    if items.iter().all(Value::is_number) {
        return Ok(vec![PromptIn::Tokens(token_ids("prompt", &items)?)]);
    }
    if items.len() > MAX_PROMPTS {
        return Err(ApiError::invalid(
            "prompt",
            format!(
                "at most {MAX_PROMPTS} prompts per request, got {}",
                items.len()
            ),
        ));
    }
    let strings = items[0].is_string();
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let param = format!("prompt[{i}]");
            match item {
                Value::String(s) if strings => Ok(PromptIn::Text(s)),
                Value::Array(ids) if !strings => Ok(PromptIn::Tokens(token_ids(&param, &ids)?)),
                _ => Err(ApiError::invalid(param, SHAPE)),
            }
        })
        .collect()
}

impl CompletionRequest {
    /// Checks every field; sizes first.
    pub fn validate(self) -> Result<CompletionJob, ApiError> {
        let prompts = prompts(self.prompt)?;
        let chars: usize = prompts
            .iter()
            .map(|p| match p {
                PromptIn::Text(s) => s.chars().count(),
                PromptIn::Tokens(_) => 0,
            })
            .sum();
        if chars > limits::MAX_REQUEST_CHARS {
            return Err(ApiError::invalid(
                "prompt",
                format!(
                    "prompts may be at most {} characters together, got {chars}",
                    limits::MAX_REQUEST_CHARS
                ),
            ));
        }
        reject_if_present(
            "suffix",
            &self.suffix,
            "insertion (text after the completion) is not available for this model",
        )?;
        let n = self.n.unwrap_or(1);
        if !(1..=super::MAX_CHOICES).contains(&n) {
            return Err(ApiError::invalid(
                "n",
                format!("`n` must be 1 to {}, got {n}", super::MAX_CHOICES),
            ));
        }
        if let Some(b) = self.best_of {
            if b != n {
                return Err(ApiError::unsupported(
                    "best_of",
                    "`best_of` must equal `n`: every sample drawn is returned",
                ));
            }
        }
        if prompts.len() * n as usize > MAX_COMPLETION_CHOICES {
            return Err(ApiError::invalid(
                "n",
                format!(
                    "prompts × n may be at most {MAX_COMPLETION_CHOICES}, got {} × {n}",
                    prompts.len()
                ),
            ));
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
        if let Some(lp) = self.logprobs {
            if lp > MAX_LOGPROBS {
                return Err(ApiError::invalid(
                    "logprobs",
                    format!("`logprobs` must be between 0 and {MAX_LOGPROBS}, got {lp}"),
                ));
            }
        }
        let ms = self.medserve.unwrap_or_default();
        let (mut sampling, seed) = SamplingFields {
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
        let logprobs = self.logprobs.map(|l| l as usize);
        sampling.max_tokens = Some(self.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS) as usize);
        sampling.logprobs = logprobs.is_some();
        sampling.top_logprobs = logprobs.unwrap_or(0);
        tracing::trace!(user = ?self.user, "request identifiers");
        Ok(CompletionJob {
            prompts,
            sampling,
            seed,
            n: n as usize,
            echo: self.echo.unwrap_or(false),
            logprobs,
            stream,
            include_usage,
            audience_requested: ms.audience,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(v: Value) -> Result<CompletionJob, ApiError> {
        let mut body = json!({"model": "m"});
        body.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value::<CompletionRequest>(body)
            .unwrap()
            .validate()
    }

    fn param(e: ApiError) -> Option<String> {
        e.body().error.param
    }

    #[test]
    fn every_prompt_shape_is_read() {
        assert_eq!(
            req(json!({"prompt": "hi"})).unwrap().prompts,
            vec![PromptIn::Text("hi".into())]
        );
        assert_eq!(req(json!({"prompt": ["a", "b"]})).unwrap().prompts.len(), 2);
        assert_eq!(
            req(json!({"prompt": [1, 2, 3]})).unwrap().prompts,
            vec![PromptIn::Tokens(vec![1, 2, 3])]
        );
        assert_eq!(
            req(json!({"prompt": [[1], [2, 3]]})).unwrap().prompts,
            vec![PromptIn::Tokens(vec![1]), PromptIn::Tokens(vec![2, 3])]
        );
        let job = req(json!({"prompt": "x"})).unwrap();
        assert_eq!(job.sampling.max_tokens, Some(16));
        assert!(!job.echo && job.logprobs.is_none() && job.n == 1);
    }

    #[test]
    fn bad_prompts_and_fields_name_the_field() {
        let cases = [
            (json!({"prompt": []}), "prompt"),
            (json!({"prompt": 3}), "prompt"),
            (json!({"prompt": [1, -2]}), "prompt[1]"),
            (json!({"prompt": ["a", [1]]}), "prompt[1]"),
            (json!({"prompt": [[1], []]}), "prompt[1]"),
            (json!({"prompt": [[1], [0.5]]}), "prompt[1][0]"),
            (json!({"prompt": "a", "suffix": "b"}), "suffix"),
            (json!({"prompt": "a", "best_of": 3}), "best_of"),
            (json!({"prompt": "a", "n": 9}), "n"),
            (json!({"prompt": "a", "logprobs": 21}), "logprobs"),
            (
                json!({"prompt": "a", "stream_options": {"include_usage": true}}),
                "stream_options",
            ),
            (json!({"prompt": "a", "temperature": 3}), "temperature"),
            (json!({"prompt": "a", "stop": ["", "x"]}), "stop"),
            (json!({"prompt": vec!["a"; 9], "n": 8}), "n"),
        ];
        for (body, want) in cases {
            let e = req(body.clone())
                .err()
                .unwrap_or_else(|| panic!("accepted {body}"));
            assert_eq!(param(e).as_deref(), Some(want), "{body}");
        }
        // `suffix: null` is no suffix.
        assert!(req(json!({"prompt": "a", "suffix": null})).is_ok());
        // Unknown fields, also inside `medserve`, are refused by the parser.
        assert!(serde_json::from_value::<CompletionRequest>(
            json!({"model": "m", "prompt": "a", "medserve": {"triage": true}})
        )
        .is_err());
    }
}
