//! Legacy completions (`POST /v1/completions`): raw text continuation, no chat template.
//!
//! Pipeline: validation → token ids of every prompt (text through the model's tokenizer with
//! its special tokens; ids checked against the vocabulary) → input guard on each prompt's
//! text (an emergency or a refusal answers that prompt with its fixed text, no model) →
//! admission (the server's and the key's generation slots, held for the whole request) →
//! per prompt: the prompt's own logprobs when `echo` and `logprobs` are asked (one scoring
//! pass, shared by its choices), then each of its `n` choices in order (seed + i), each
//! through the output policy of the key's audience → the JSON or SSE writer ([`write`]).
//!
//! Completions are not conversations: no retrieval, no tools, no triage report and no
//! training record.

mod logprobs;
mod write;

use std::sync::Arc;
use std::time::Instant;

use axum::response::Response;
use futures::StreamExt;
use medserve_guardrails::input::{Decision, RedFlag, Verdict};
use medserve_guardrails::policy::Audience;
use medserve_models::{CompleteRequest, Engine, FinishReason, TokenLogprob};
use serde::Serialize;

use self::logprobs::Legacy;
use crate::app::AppState;
use crate::auth::Principal;
use crate::chat::guard;
use crate::chat::output::{OutputGuard, Step};
use crate::error::ApiError;
use crate::openai::completions::{CompletionJob, CompletionRequest, PromptIn};

/// One prompt, ready to run.
struct Prompt {
    /// Token ids sent to the model.
    ids: Vec<u32>,
    /// The text echoed back (the prompt as sent, or its ids decoded).
    text: String,
    /// The input guard's fixed answer, when it decided one.
    fixed: Option<String>,
    /// Facts of its input stage.
    facts: PromptFacts,
}

/// `medserve.prompts[i]`: what the input stage decided for prompt `i`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct PromptFacts {
    /// Emergency red flag found in the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub red_flag: Option<RedFlag>,
    /// Input verdicts, then each choice's output verdicts.
    pub guardrails: Vec<Verdict>,
}

/// What the writers receive, in order: each choice's pieces, then the end.
#[derive(Debug)]
pub(crate) enum Out {
    /// Text of choice `index`, with the legacy logprobs of its tokens when asked for.
    Text {
        index: usize,
        text: String,
        logprobs: Option<Legacy>,
    },
    /// Choice `index` is complete.
    Finish {
        index: usize,
        reason: &'static str,
        /// The policy changed the generated text: its logprobs do not describe it.
        changed: bool,
        /// The choice is the input guard's fixed answer: no logprobs (`null`).
        fixed: bool,
    },
    /// Every choice is done.
    Done {
        prompt_tokens: usize,
        completion_tokens: usize,
        facts: Facts,
    },
    /// Generation failed; nothing follows.
    Error(ApiError),
}

/// The response's `medserve` object.
#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    /// Output policy in force.
    pub audience: Audience,
    /// Seed of choice 0 of each prompt (choice i used seed + i).
    pub seed: i64,
    /// Per prompt, in order.
    pub prompts: Vec<PromptFacts>,
    /// Milliseconds from the request to the end.
    pub total_ms: u64,
}

/// Shared by every chunk.
#[derive(Clone)]
pub(crate) struct Meta {
    id: String,
    created: u64,
    model: String,
    fingerprint: String,
}

/// The handler.
pub async fn complete(
    state: AppState,
    principal: Principal,
    req: CompletionRequest,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    let engine = state.engine()?.clone();
    if req.model != engine.info().id {
        return Err(ApiError::ModelNotFound(req.model));
    }
    let meta = Meta {
        id: format!("cmpl-{}", uuid::Uuid::new_v4().simple()),
        created: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: req.model.clone(),
        fingerprint: state.fingerprint(),
    };
    let job = crate::chat::work::run("request validation", move || req.validate()).await??;
    let audience = principal.audience(job.audience_requested)?;
    let budget = job.sampling.max_tokens.unwrap_or(0);
    let mut prompts = Vec::with_capacity(job.prompts.len());
    for (i, p) in job.prompts.iter().enumerate() {
        prompts.push(prepare(&state, engine.as_ref(), i, p, budget).await?);
    }
    let permit = crate::chat::admit(&state, &principal)?;
    let out = run(
        state.clone(),
        engine,
        job.clone(),
        audience,
        prompts,
        started,
        permit,
    );
    if job.stream {
        Ok(write::sse(&state, out, meta, job.include_usage))
    } else {
        write::json(out, &meta, job.logprobs.is_some()).await
    }
}

/// Token ids, echo text and the input stage's decision for prompt `i`.
async fn prepare(
    state: &AppState,
    engine: &dyn Engine,
    i: usize,
    p: &PromptIn,
    budget: usize,
) -> Result<Prompt, ApiError> {
    let param = format!("prompt[{i}]");
    let (ids, text, guarded) = match p {
        PromptIn::Text(s) => (engine.tokenize(s, true).await?, s.clone(), s.clone()),
        PromptIn::Tokens(ids) => {
            let vocab = engine.tokenizer().vocab.len();
            if let Some(j) = ids.iter().position(|&t| t as usize >= vocab) {
                return Err(ApiError::invalid(
                    format!("{param}[{j}]"),
                    format!("token id {} is not in the vocabulary of {vocab}", ids[j]),
                ));
            }
            let text = engine.detokenize(ids, false).await?;
            let plain = engine.detokenize(ids, true).await?;
            (ids.clone(), text, plain)
        }
    };
    if ids.is_empty() {
        return Err(ApiError::invalid(param, "the prompt has no tokens"));
    }
    let max = engine.info().max_context;
    if ids.len() + budget > max {
        return Err(ApiError::invalid(
            if ids.len() > max { param } else { "max_tokens".to_string() },
            format!(
                "this model's maximum context length is {max} tokens, but prompt {i} has {} tokens and {budget} were requested for the completion",
                ids.len()
            ),
        ));
    }
    let report = guard::check(
        state.settings().guard.clone(),
        state.settings().emergency_numbers.clone(),
        guard::InputText {
            latest_user: guarded,
            ..Default::default()
        },
    )
    .await?;
    let mut facts = PromptFacts {
        red_flag: None,
        guardrails: report.verdicts,
    };
    let fixed = match report.decision {
        Decision::Emergency { red_flag, text } => {
            tracing::info!(categories = ?red_flag.categories, "red flag in a completion prompt: fixed emergency answer");
            for c in &red_flag.categories {
                state.metrics().inc(
                    "medserve_red_flag_escalations_total",
                    vec![("category", c.clone())],
                );
            }
            facts.red_flag = Some(red_flag);
            Some(text)
        }
        Decision::Refuse { text } => {
            tracing::info!("input guardrail on a completion prompt: fixed refusal");
            Some(text)
        }
        Decision::Proceed => None,
    };
    Ok(Prompt {
        ids,
        text,
        fixed,
        facts,
    })
}

/// Runs every choice of every prompt in order, as [`Out`] events.
fn run(
    state: AppState,
    engine: Arc<dyn Engine>,
    job: CompletionJob,
    audience: Audience,
    prompts: Vec<Prompt>,
    started: Instant,
    permit: crate::chat::Permit,
) -> futures::stream::BoxStream<'static, Out> {
    Box::pin(async_stream::stream! {
        let _permit = permit;
        let holdback = state.settings().holdback_chars;
        let mut prompt_tokens = 0usize;
        let mut completion_tokens = 0usize;
        let mut facts = Vec::with_capacity(prompts.len());
        for (p_i, prompt) in prompts.into_iter().enumerate() {
            let mut pf = prompt.facts.clone();
            if let Some(fixed) = &prompt.fixed {
                for c in 0..job.n {
                    let index = p_i * job.n + c;
                    yield Out::Text { index, text: fixed.clone(), logprobs: None };
                    yield Out::Finish { index, reason: "stop", changed: false, fixed: true };
                }
                facts.push(pf);
                continue;
            }
            prompt_tokens += prompt.ids.len();
            // The prompt's own logprobs, once for all its choices.
            let scored: Option<Vec<Option<TokenLogprob>>> = match (job.echo, job.logprobs) {
                (true, Some(top)) => match engine.prompt_logprobs(&prompt.ids, top).await {
                    Ok(s) => Some(s),
                    Err(e) => {
                        yield Out::Error(e.into());
                        return;
                    }
                },
                _ => None,
            };
            for c in 0..job.n {
                let index = p_i * job.n + c;
                let mut offsets = logprobs::Offsets::default();
                if job.echo {
                    let lp = scored
                        .as_ref()
                        .map(|s| offsets.prompt(&prompt.text, &prompt.ids, s, engine.tokenizer()));
                    offsets.past(&prompt.text);
                    yield Out::Text { index, text: prompt.text.clone(), logprobs: lp };
                }
                let mut sampling = job.sampling.clone();
                sampling.seed = Some(job.seed.wrapping_add(c as i64) as u64);
                if sampling.max_tokens == Some(0) {
                    yield Out::Finish { index, reason: "length", changed: false, fixed: false };
                    continue;
                }
                let mut events = match engine
                    .complete(CompleteRequest { prompt: prompt.ids.clone(), sampling })
                    .await
                {
                    Ok(s) => s,
                    Err(e) => {
                        yield Out::Error(e.into());
                        return;
                    }
                };
                let mut guard = OutputGuard::new(audience, holdback);
                let mut blocked = false;
                let mut reason = "stop";
                while let Some(ev) = events.next().await {
                    match ev {
                        Ok(medserve_models::Event::Delta { text, logprobs, .. }) => {
                            let lp = job.logprobs.map(|_| offsets.generated(&logprobs));
                            match guard.push(&text) {
                                Step::Emit(t) => {
                                    yield Out::Text { index, text: t, logprobs: lp };
                                }
                                Step::Blocked(t) => {
                                    yield Out::Text { index, text: t, logprobs: None };
                                    blocked = true;
                                    break;
                                }
                            }
                        }
                        Ok(medserve_models::Event::Done { finish_reason, usage }) => {
                            completion_tokens += usage.completion_tokens;
                            reason = match finish_reason {
                                FinishReason::Length => "length",
                                _ => "stop",
                            };
                            break;
                        }
                        Err(e) => {
                            yield Out::Error(e.into());
                            return;
                        }
                    }
                }
                if blocked {
                    reason = "content_filter";
                } else {
                    match guard.finish() {
                        Step::Emit(t) => {
                            if !t.is_empty() {
                                yield Out::Text { index, text: t, logprobs: None };
                            }
                        }
                        Step::Blocked(t) => {
                            yield Out::Text { index, text: t, logprobs: None };
                            reason = "content_filter";
                        }
                    }
                }
                pf.guardrails.extend(guard.verdicts());
                yield Out::Finish { index, reason, changed: guard.changed_text(), fixed: false };
            }
            facts.push(pf);
        }
        let m = state.metrics();
        m.add("medserve_tokens_total", vec![("kind", "prompt".into())], prompt_tokens as u64);
        m.add("medserve_tokens_total", vec![("kind", "completion".into())], completion_tokens as u64);
        yield Out::Done {
            prompt_tokens,
            completion_tokens,
            facts: Facts {
                audience,
                seed: job.seed,
                prompts: facts,
                total_ms: started.elapsed().as_millis() as u64,
            },
        };
    })
}
