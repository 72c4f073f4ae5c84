//! The real engine: a GGUF model run by mistral.rs on the CPU in F32.
//!
//! Requests always run in mistral.rs streaming mode, even when the HTTP client asked for
//! one JSON answer: mistral.rs cancels a sequence only when sending a chunk fails, so this
//! is what lets a dropped client stop its generation.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use either::Either;
use futures::future::BoxFuture;
use futures::FutureExt;
use indexmap::IndexMap;
use mistralrs_core::{
    AutoDeviceMapParams, Constraint, DefaultSchedulerMethod, DeviceMapSetting, GGUFLoaderBuilder,
    GGUFSpecificConfig, MistralRs, MistralRsBuilder, ModelDType, NormalRequest, Request,
    RequestMessage, Response, SamplingParams, SchedulerConfig, StopTokens, TokenSource,
    TokenizationRequest,
};
use tokio::sync::mpsc;

use crate::sampling::{Records, RequestSampler};
use crate::{
    ChatMessage, CompleteRequest, Engine, Error, Event, EventStream, FinishReason, GenerateRequest,
    Grammar, ModelInfo, Result, TokenLogprob, TopLogprob, Usage,
};

/// How to run the model.
#[derive(Debug, Clone)]
pub struct MistralOptions {
    /// GGUF weights file.
    pub model_path: PathBuf,
    /// Name clients use in `model` (defaults to the file stem).
    pub model_id: Option<String>,
    /// Sequences decoded together by continuous batching.
    pub max_num_seqs: usize,
    /// Keep KV caches of finished prompts for reuse by later requests.
    pub prefix_cache: bool,
    /// How many prefixes the cache keeps.
    pub prefix_cache_n: usize,
    /// Most bytes of KV data the prefix cache keeps (oldest evicted first). Engines loaded
    /// one after another keep their own; two loads at once may swap them.
    pub prefix_cache_bytes: usize,
}

/// mistral.rs behind the [`Engine`] trait.
pub struct MistralEngine {
    runner: Arc<MistralRs>,
    info: ModelInfo,
    running: Arc<AtomicUsize>,
    /// Control-token strings of the tokenizer, escaped in every message.
    control_tokens: Vec<String>,
    /// Token ids llguidance may take as the end of a grammar (its tokenizer adapter picks
    /// `</s>`, `<|endoftext|>`, ... as EOS). mistral.rs stops only on the chat template's
    /// end tokens, so a finished grammar would otherwise force that token forever: these
    /// are stop tokens for constrained requests.
    grammar_eos: Vec<u32>,
    /// The tokenizer's facts from the GGUF header.
    tokenizer: Arc<crate::tokenizer::TokenizerFacts>,
    /// Generations hold it shared while they run; a prompt scoring pass
    /// ([`Engine::prompt_logprobs`]) holds it alone, so its prompt step is never batched with
    /// another (mistral.rs steps raw-logit prompts one at a time).
    gate: Arc<tokio::sync::RwLock<()>>,
}

/// Longest a prompt scoring pass waits for the generations running before it to end.
const SCORING_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Special tokens llguidance's tokenizer adapter (toktrie_hf_tokenizers) treats as EOS.
const LLG_EOS_NAMES: &[&str] = &["</s>", "<|endoftext|>", "<|end_of_text|>", "<eos>"];

fn model_dir_and_file(path: &Path) -> Result<(String, String)> {
    let canon = path.canonicalize().map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let dir = canon
        .parent()
        .ok_or_else(|| Error::Load(format!("{} has no parent directory", canon.display())))?;
    let file = canon
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| Error::Load(format!("{} is not a UTF-8 file name", canon.display())))?;
    Ok((dir.display().to_string(), file.to_string()))
}

impl MistralEngine {
    /// Loads the GGUF file (tokenizer and chat template come from the file itself).
    pub async fn load(opts: MistralOptions) -> Result<Self> {
        let sha256 = {
            let p = opts.model_path.clone();
            tokio::task::spawn_blocking(move || crate::sha256_file(&p))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??
        };
        let control_tokens = {
            let p = opts.model_path.clone();
            tokio::task::spawn_blocking(move || crate::gguf::control_tokens(&p))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??
        };
        let tokenizer = {
            let p = opts.model_path.clone();
            Arc::new(
                tokio::task::spawn_blocking(move || crate::tokenizer::TokenizerFacts::read(&p))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))??,
            )
        };
        let (dir, file) = model_dir_and_file(&opts.model_path)?;
        let id = opts.model_id.clone().unwrap_or_else(|| {
            opts.model_path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("model")
                .to_string()
        });
        let max_num_seqs = NonZeroUsize::new(opts.max_num_seqs)
            .ok_or_else(|| Error::Invalid("max_num_seqs must be at least 1".into()))?;

        let loader = GGUFLoaderBuilder::new(
            None,
            None,
            dir,
            vec![file],
            GGUFSpecificConfig { topology: None },
            false,
            None,
        )
        .build();
        let pipeline = tokio::task::spawn_blocking(move || {
            loader.load_model_from_hf(
                None,
                TokenSource::None,
                &ModelDType::F32,
                &candle_core::Device::Cpu,
                true,
                DeviceMapSetting::Auto(AutoDeviceMapParams::default_text()),
                None,
                None,
            )
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Load(format!("{e:#}")))?;

        let scheduler = SchedulerConfig::DefaultScheduler {
            method: DefaultSchedulerMethod::Fixed(max_num_seqs),
        };
        mistralrs_core::set_prefix_cache_max_bytes(opts.prefix_cache_bytes);
        let runner = MistralRsBuilder::new(pipeline, scheduler, false, None)
            .with_model_id(id.clone())
            .with_no_prefix_cache(!opts.prefix_cache)
            .with_prefix_cache_n(opts.prefix_cache_n)
            .build()
            .await;
        let max_context = runner
            .max_sequence_length(None)
            .map_err(|e| Error::Load(e.to_string()))?
            .ok_or_else(|| Error::Load("model reports no context length".into()))?;
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut engine = Self {
            runner,
            info: ModelInfo {
                id,
                path: opts.model_path.display().to_string(),
                sha256,
                max_context,
                created,
            },
            running: Arc::new(AtomicUsize::new(0)),
            grammar_eos: Vec::new(),
            control_tokens,
            tokenizer,
            gate: Arc::default(),
        };
        for name in LLG_EOS_NAMES {
            let toks = engine.tokenize_text(name, false).await?;
            if let [id] = toks[..] {
                engine.grammar_eos.push(id);
            }
        }
        Ok(engine)
    }

    /// Token ids of a plain string (special tokens recognised, BOS added if asked).
    async fn tokenize_text(&self, text: &str, add_special: bool) -> Result<Vec<u32>> {
        self.tokenize_request(Either::Right(text.to_string()), false, add_special)
            .await
    }

    /// Token ids of messages through the chat template (client text escaped).
    async fn template_tokens(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        let text = Either::Left(to_template(messages, &self.control_tokens));
        self.tokenize_request(text, add_generation_prompt, true)
            .await
    }

    /// One request to the engine's tokenizer. A chat template that rejects the messages
    /// (roles out of order, a role it does not know) is the client's error.
    async fn tokenize_request(
        &self,
        text: Either<Vec<IndexMap<String, mistralrs_core::MessageContent>>, String>,
        add_generation_prompt: bool,
        add_special_tokens: bool,
    ) -> Result<Vec<u32>> {
        let templated = text.is_left();
        let answer = self
            .ask(|response| {
                Request::Tokenize(TokenizationRequest {
                    text,
                    tools: None,
                    add_generation_prompt,
                    add_special_tokens,
                    enable_thinking: None,
                    reasoning_effort: None,
                    response,
                })
            })
            .await?;
        answer.map_err(|e| match templated {
            true => Error::Invalid(format!(
                "the chat template cannot render these messages: {e:#}"
            )),
            false => Error::Internal(format!("tokenize: {e:#}")),
        })
    }

    /// Sends a request that answers on a channel and waits for the answer. The engine
    /// replies with `expect` on that channel (it panics, and restarts with every generation
    /// in flight lost, if the receiver is gone), so the receiver lives in a task of its own
    /// until the answer comes, even when the caller's client has left.
    async fn ask<M: Send + 'static>(
        &self,
        request: impl FnOnce(mpsc::Sender<M>) -> Request,
    ) -> Result<M> {
        let (tx, mut rx) = mpsc::channel(1);
        self.send(request(tx))?;
        tokio::spawn(async move { rx.recv().await })
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .ok_or_else(|| Error::Internal("the engine dropped the request".into()))
    }

    /// Sends one generation request (streaming mode) and adapts its responses.
    /// `prompt_tokens` is the prompt's length where it is needed (stop sequences).
    async fn start(
        &self,
        message: RequestMessage,
        prompt_tokens: usize,
        s: &crate::Sampling,
        grammar: Option<&Grammar>,
    ) -> Result<EventStream> {
        let own_usage = matches!(message, RequestMessage::CompletionTokens(_));
        // Held until the generation's stream ends (see `gate`).
        let shared = self.gate.clone().read_owned().await;
        let sampler = Arc::new(RequestSampler::new(s));
        let records = sampler.records.clone();
        let params = SamplingParams {
            // mistral.rs reads `None` as 1.0; 0 makes it take the argmax of what our
            // sampler hands it, i.e. our choice.
            temperature: Some(0.0),
            top_k: None,
            top_p: None,
            min_p: None,
            // Always at least 1: every chunk then names its token, which keeps the
            // completion count exact when we end a generation on a stop sequence.
            top_n_logprobs: s.top_logprobs + 1,
            frequency_penalty: (s.frequency_penalty != 0.0).then_some(s.frequency_penalty),
            presence_penalty: (s.presence_penalty != 0.0).then_some(s.presence_penalty),
            repetition_penalty: None,
            stop_toks: (grammar.is_some() && !self.grammar_eos.is_empty())
                .then(|| StopTokens::Ids(self.grammar_eos.clone())),
            max_len: s.max_tokens,
            logits_bias: None,
            n_choices: 1,
            dry_params: None,
        };
        // Room for every chunk the sequence can produce: mistral.rs awaits this send
        // inside its step, so a client that stops reading must never fill it (that
        // would stall every other sequence). Memory stays bounded by the token budget.
        let budget = s
            .max_tokens
            .unwrap_or(self.info.max_context)
            .min(self.info.max_context);
        let (tx, rx) = mpsc::channel(budget + 16);
        let id = self.runner.next_request_id();
        let mut req = NormalRequest::new_simple(message, params, tx, id, None, None);
        req.is_streaming = true;
        req.return_logprobs = true;
        req.constraint = match grammar {
            None => Constraint::None,
            Some(Grammar::Lark(g)) => Constraint::Lark(g.clone()),
            Some(Grammar::JsonSchema(v)) => Constraint::JsonSchema(v.clone()),
        };
        req.logits_processors = Some(vec![sampler]);
        self.send(Request::Normal(Box::new(req)))?;
        let guard = RunningGuard::new(self.running.clone(), shared);
        let plan = StreamPlan {
            records,
            want_logprobs: s.logprobs,
            top_n: s.top_logprobs,
            stop: s.stop.clone(),
            prompt_tokens,
            own_usage,
            stop_token_vocab: own_usage.then(|| self.tokenizer.clone()),
        };
        Ok(response_stream(rx, plan, guard))
    }

    /// [`Engine::prompt_logprobs`]: one prompt step that returns the logits of every
    /// position (mistral.rs `return_raw_logits`; patch 10 keeps it alone and uncached),
    /// run when no generation is (see `gate`).
    async fn score(&self, prompt: &[u32], top: usize) -> Result<Vec<Option<TokenLogprob>>> {
        let vocab = self.tokenizer.vocab.len();
        let text = |id: u32| self.tokenizer.token_text(id);
        if prompt.len() < 2 {
            return Ok(crate::scoring::score_prompt(&[], vocab, prompt, top, &text));
        }
        let _alone = tokio::time::timeout(SCORING_WAIT, self.gate.clone().write_owned())
            .await
            .map_err(|_| {
                Error::Busy(format!(
                    "prompt scoring waited {} s for running generations to end",
                    SCORING_WAIT.as_secs()
                ))
            })?;
        let params = SamplingParams {
            max_len: Some(1),
            ..SamplingParams::deterministic()
        };
        let answer = self
            .ask(|tx| {
                let id = self.runner.next_request_id();
                let mut req = NormalRequest::new_simple(
                    RequestMessage::CompletionTokens(prompt.to_vec()),
                    params,
                    tx,
                    id,
                    None,
                    None,
                );
                req.return_raw_logits = true;
                Request::Normal(Box::new(req))
            })
            .await?;
        let logits = match answer {
            Response::Raw { logits_chunks, .. } => logits_chunks,
            Response::ValidationError(e) => return Err(Error::Invalid(e.to_string())),
            Response::InternalError(e) => return Err(Error::Internal(e.to_string())),
            Response::ModelError(e, _) => return Err(Error::Internal(e)),
            _ => {
                return Err(Error::Internal(
                    "prompt scoring: unexpected response".into(),
                ))
            }
        };
        let prompt = prompt.to_vec();
        let tok = self.tokenizer.clone();
        tokio::task::spawn_blocking(move || {
            let rows = candle_core::Tensor::cat(&logits, 0)
                .and_then(|t| t.to_dtype(candle_core::DType::F32))
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| Error::Internal(format!("prompt logits: {e}")))?;
            if rows.len() < (prompt.len() - 1) * vocab {
                return Err(Error::Internal(format!(
                    "prompt logits: {} values for {} positions of {vocab}",
                    rows.len(),
                    prompt.len()
                )));
            }
            let text = |id: u32| tok.token_text(id);
            Ok(crate::scoring::score_prompt(
                &rows, vocab, &prompt, top, &text,
            ))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    fn send(&self, request: Request) -> Result<()> {
        let sender = self
            .runner
            .get_sender(None)
            .map_err(|e| Error::Internal(e.to_string()))?;
        sender
            .try_send(request)
            .map_err(|e| Error::Internal(format!("engine queue: {e}")))
    }
}

/// Messages for the chat template; content has control-token strings escaped
/// ([`crate::gguf::escape_control_tokens`]), so text is always tokenised as text.
fn to_template(
    messages: &[ChatMessage],
    control: &[String],
) -> Vec<IndexMap<String, mistralrs_core::MessageContent>> {
    messages
        .iter()
        .map(|m| {
            let mut map = IndexMap::new();
            map.insert(
                "role".to_string(),
                Either::Left(m.role.template_name().to_string()),
            );
            map.insert(
                "content".to_string(),
                Either::Left(crate::gguf::escape_control_tokens(&m.content, control)),
            );
            map
        })
        .collect()
}

impl Engine for MistralEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn count_prompt_tokens<'a>(
        &'a self,
        messages: &'a [ChatMessage],
    ) -> BoxFuture<'a, Result<usize>> {
        async move { Ok(self.template_tokens(messages, true).await?.len()) }.boxed()
    }

    fn tokenizer(&self) -> &crate::tokenizer::TokenizerFacts {
        &self.tokenizer
    }

    fn tokenize<'a>(&'a self, text: &'a str, add_special: bool) -> BoxFuture<'a, Result<Vec<u32>>> {
        self.tokenize_text(text, add_special).boxed()
    }

    fn tokenize_chat<'a>(
        &'a self,
        messages: &'a [ChatMessage],
        add_generation_prompt: bool,
    ) -> BoxFuture<'a, Result<Vec<u32>>> {
        self.template_tokens(messages, add_generation_prompt)
            .boxed()
    }

    fn detokenize<'a>(
        &'a self,
        ids: &'a [u32],
        skip_special: bool,
    ) -> BoxFuture<'a, Result<String>> {
        async move {
            self.ask(|response| {
                Request::Detokenize(mistralrs_core::DetokenizationRequest {
                    tokens: ids.to_vec(),
                    skip_special_tokens: skip_special,
                    response,
                })
            })
            .await?
            .map_err(|e| Error::Internal(format!("detokenize: {e:#}")))
        }
        .boxed()
    }

    fn generate(&self, request: GenerateRequest) -> BoxFuture<'_, Result<EventStream>> {
        async move {
            let prompt_tokens = if request.sampling.stop.is_empty() {
                0
            } else {
                self.count_prompt_tokens(&request.messages).await?
            };
            let message = RequestMessage::Chat {
                messages: to_template(&request.messages, &self.control_tokens),
                enable_thinking: None,
                reasoning_effort: None,
            };
            self.start(
                message,
                prompt_tokens,
                &request.sampling,
                request.grammar.as_ref(),
            )
            .await
        }
        .boxed()
    }

    fn complete(&self, request: CompleteRequest) -> BoxFuture<'_, Result<EventStream>> {
        async move {
            let n = request.prompt.len();
            let message = RequestMessage::CompletionTokens(request.prompt);
            self.start(message, n, &request.sampling, None).await
        }
        .boxed()
    }

    fn prompt_logprobs<'a>(
        &'a self,
        prompt: &'a [u32],
        top: usize,
    ) -> BoxFuture<'a, Result<Vec<Option<TokenLogprob>>>> {
        self.score(prompt, top).boxed()
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

/// Counts a generation as running, and holds the engine's gate shared, until its stream
/// is dropped or finished.
struct RunningGuard(
    Arc<AtomicUsize>,
    #[allow(dead_code)] tokio::sync::OwnedRwLockReadGuard<()>,
);

impl RunningGuard {
    fn new(c: Arc<AtomicUsize>, shared: tokio::sync::OwnedRwLockReadGuard<()>) -> Self {
        c.fetch_add(1, Ordering::SeqCst);
        Self(c, shared)
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "length" => FinishReason::Length,
        "tool_calls" => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// What the response adapter needs to know about the request.
struct StreamPlan {
    records: Records,
    want_logprobs: bool,
    top_n: usize,
    /// Stop sequences, matched on text here (mistral.rs 0.8.1 matches single-token stop
    /// strings as token ids, so "days" never matches " days", and returns text past the
    /// match for multi-token ones).
    stop: Vec<String>,
    /// Prompt tokens, for the usage of a generation we end ourselves on a stop sequence.
    prompt_tokens: usize,
    /// The engine reports no usage (completions from token ids): count it here.
    own_usage: bool,
    /// Completions list the token that ended the text (end of sequence) with its logprob,
    /// as OpenAI's legacy completions do (lm-evaluation-harness counts on one entry per
    /// generated token); its text comes from this vocabulary.
    stop_token_vocab: Option<Arc<crate::tokenizer::TokenizerFacts>>,
}

/// One streamed piece, from a chat or a completion chunk.
struct Piece {
    text: String,
    logprobs: Option<mistralrs_core::ResponseLogprob>,
    finish_reason: Option<String>,
}

/// Text held back until it can no longer be the start of a stop sequence.
struct StopMatcher {
    stop: Vec<String>,
    held: String,
    hold: usize,
}

impl StopMatcher {
    fn new(stop: Vec<String>) -> Self {
        let hold = stop
            .iter()
            .map(|s| s.len())
            .max()
            .unwrap_or(1)
            .saturating_sub(1);
        Self {
            stop,
            held: String::new(),
            hold,
        }
    }

    /// Adds text; returns what may be released and whether a stop sequence matched (in
    /// which case the released text ends right before it).
    fn push(&mut self, text: &str) -> (String, bool) {
        self.held.push_str(text);
        let first = self
            .stop
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = first {
            let out = self.held[..at].to_string();
            self.held.clear();
            return (out, true);
        }
        let mut cut = self.held.len().saturating_sub(self.hold);
        while !self.held.is_char_boundary(cut) {
            cut -= 1;
        }
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        (out, false)
    }

    fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

fn response_stream(
    mut rx: mpsc::Receiver<Response>,
    plan: StreamPlan,
    guard: RunningGuard,
) -> EventStream {
    let stream = async_stream(move |yield_tx| async move {
        let _guard = guard;
        let mut matcher = StopMatcher::new(plan.stop.clone());
        let mut generated = 0usize;
        let send = |ev: Result<Event>| {
            let tx = yield_tx.clone();
            async move { tx.send(ev).await.is_ok() }
        };
        while let Some(resp) = rx.recv().await {
            // Chat requests stream `Chunk`s (usage on the last); completions from token ids
            // stream `CompletionChunk`s without usage (counted here).
            let (choice, usage) = match resp {
                Response::Chunk(chunk) => {
                    let Some(c) = chunk.choices.into_iter().next() else {
                        continue;
                    };
                    let usage = chunk.usage.map(|u| Usage {
                        prompt_tokens: u.prompt_tokens,
                        completion_tokens: u.completion_tokens,
                        cached_prompt_tokens: u.cached_prompt_tokens.min(u.prompt_tokens),
                    });
                    let piece = Piece {
                        text: c.delta.content.unwrap_or_default(),
                        logprobs: c.logprobs,
                        finish_reason: c.finish_reason,
                    };
                    (piece, usage)
                }
                Response::CompletionChunk(chunk) => {
                    let Some(c) = chunk.choices.into_iter().next() else {
                        continue;
                    };
                    let piece = Piece {
                        text: c.text,
                        logprobs: c.logprobs,
                        finish_reason: c.finish_reason,
                    };
                    (piece, None)
                }
                Response::Done(_) | Response::CompletionDone(_) => continue,
                Response::ValidationError(e) => {
                    send(Err(Error::Invalid(e.to_string()))).await;
                    return;
                }
                Response::InternalError(e) => {
                    send(Err(Error::Internal(e.to_string()))).await;
                    return;
                }
                Response::ModelError(e, _) => {
                    send(Err(Error::Internal(e))).await;
                    return;
                }
                _ => {
                    send(Err(Error::Internal("unexpected response kind".into()))).await;
                    return;
                }
            };
            let (logprobs, n) = take_logprobs(
                &plan.records,
                choice.logprobs,
                plan.top_n,
                plan.stop_token_vocab.as_deref(),
            );
            generated += n;
            let logprobs = if plan.want_logprobs {
                logprobs
            } else {
                Vec::new()
            };
            let (text, stopped) = matcher.push(&choice.text);
            let finished = choice.finish_reason.is_some() || stopped;
            let text = if finished && !stopped {
                text + &matcher.flush()
            } else {
                text
            };
            if (!text.is_empty() || !logprobs.is_empty())
                && !send(Ok(Event::Delta {
                    text,
                    logprobs,
                    completion_tokens: generated,
                }))
                .await
            {
                return;
            }
            if stopped {
                // Dropping `rx` when we return cancels the sequence inside mistral.rs.
                send(Ok(Event::Done {
                    finish_reason: FinishReason::Stop,
                    usage: Usage {
                        prompt_tokens: plan.prompt_tokens,
                        completion_tokens: generated,
                        cached_prompt_tokens: 0,
                    },
                }))
                .await;
                return;
            }
            if let Some(reason) = choice.finish_reason {
                let counted = plan.own_usage.then_some(Usage {
                    prompt_tokens: plan.prompt_tokens,
                    completion_tokens: generated,
                    cached_prompt_tokens: 0,
                });
                let ev = match usage.or(counted) {
                    Some(usage) => Ok(Event::Done {
                        finish_reason: finish_reason(&reason),
                        usage,
                    }),
                    None => Err(Error::Internal(format!(
                        "finished ({reason}) without usage"
                    ))),
                };
                send(ev).await;
                return;
            }
        }
        send(Err(Error::Internal(
            "engine closed the stream early".into(),
        )))
        .await;
    });
    Box::pin(stream)
}

/// Pairs mistral.rs's per-chunk logprob entry (which gives token texts) with the values
/// our sampler recorded (which are correct natural-log probabilities). Returns the entries
/// and how many sampled tokens this chunk accounts for (a chunk can cover several tokens
/// when mistral.rs held back an incomplete UTF-8 sequence).
fn take_logprobs(
    records: &Records,
    entry: Option<mistralrs_core::ResponseLogprob>,
    top_n: usize,
    stop_token_vocab: Option<&crate::tokenizer::TokenizerFacts>,
) -> (Vec<TokenLogprob>, usize) {
    let Some(entry) = entry else {
        // A chunk without an entry ends the text on a stop token: listed only for
        // completions, from the sampler's record of it.
        let Some(vocab) = stop_token_vocab else {
            return (Vec::new(), 1);
        };
        let mut q = records.lock().unwrap_or_else(|e| e.into_inner());
        let entry = |id: u32, logprob: f32| {
            let t = vocab.token_text(id);
            (t.as_bytes().to_vec(), t, logprob)
        };
        let out: Vec<TokenLogprob> = q
            .drain(..)
            .map(|rec| {
                let (bytes, token, logprob) = entry(rec.token, rec.logprob);
                TokenLogprob {
                    bytes,
                    token,
                    logprob,
                    top_logprobs: rec
                        .top
                        .iter()
                        .take(top_n)
                        .map(|&(id, lp)| {
                            let (bytes, token, logprob) = entry(id, lp);
                            TopLogprob {
                                token,
                                logprob,
                                bytes,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let n = out.len().max(1);
        return (out, n);
    };
    let texts: std::collections::HashMap<u32, String> = entry
        .top_logprobs
        .iter()
        .map(|t| (t.token, t.bytes.clone().unwrap_or_default()))
        .collect();
    let chosen = entry.top_logprobs.first().map(|t| t.token);
    let mut q = records.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    while let Some(rec) = q.pop_front() {
        let text = |id: u32| texts.get(&id).cloned().unwrap_or_default();
        // The alternatives' texts keep a token's leading space (" Paris"); mistral.rs's
        // text of the chosen token drops it ("Paris"), so it is the fallback only.
        let token = match texts.get(&rec.token) {
            Some(t) => t.clone(),
            None if Some(rec.token) == chosen => entry.token.clone(),
            None => String::new(),
        };
        out.push(TokenLogprob {
            bytes: token.as_bytes().to_vec(),
            token,
            logprob: rec.logprob,
            top_logprobs: rec
                .top
                .iter()
                .take(top_n)
                .map(|&(id, lp)| {
                    let t = text(id);
                    TopLogprob {
                        bytes: t.as_bytes().to_vec(),
                        token: t,
                        logprob: lp,
                    }
                })
                .collect(),
        });
        if Some(rec.token) == chosen {
            break;
        }
    }
    let n = out.len().max(1);
    (out, n)
}

/// A tiny generator-to-stream bridge: the closure gets a sender; the stream ends when the
/// closure returns. Dropping the stream drops the receiver, which the closure sees as a
/// send error, and the mistral.rs receiver is dropped with the task.
fn async_stream<F, Fut>(f: F) -> impl futures::Stream<Item = Result<Event>> + Send
where
    F: FnOnce(mpsc::Sender<Result<Event>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(16);
    let task = tokio::spawn(f(tx));
    let abort = AbortOnDrop(task);
    futures::stream::unfold((rx, abort), |(mut rx, abort)| async move {
        rx.recv().await.map(|item| (item, (rx, abort)))
    })
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::StopMatcher;

    #[test]
    fn stop_matcher_holds_back_partial_matches_and_cuts_before_the_stop() {
        let mut m = StopMatcher::new(vec!["days".into(), "\n\n".into()]);
        assert_eq!(m.push("Here are the d"), ("Here are th".into(), false));
        assert_eq!(m.push("a"), ("e".into(), false));
        assert_eq!(m.push("ys of"), (" ".into(), true));
        let mut m = StopMatcher::new(vec!["xyz".into()]);
        assert_eq!(m.push("abc"), ("a".into(), false));
        assert_eq!(m.flush(), "bc");
        // Multi-byte text is never split inside a character.
        let mut m = StopMatcher::new(vec!["abcd".into()]);
        let (out, _) = m.push("é€");
        assert!(out.is_empty() || out == "é");
    }
}
