//! A scripted engine for tests of the server's own logic (never a stand-in for the model).
//!
//! It "generates" a fixed list of text pieces, one every `delay`, honouring `max_tokens`
//! (one piece = one token) and stop sequences, and counts prompt tokens as words. With
//! [`FakeEngine::with_scripts`] successive generations play successive scripts (for the
//! server-side tool loop); it records each prompt and grammar it was given.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::{
    ChatMessage, CompleteRequest, Engine, Event, EventStream, FinishReason, GenerateRequest,
    Grammar, ModelInfo, Result, TokenLogprob, Usage,
};

/// The scripted engine.
pub struct FakeEngine {
    info: ModelInfo,
    scripts: Vec<Vec<String>>,
    delay: Duration,
    fail_after: Option<usize>,
    running: Arc<AtomicUsize>,
    calls: AtomicUsize,
    history: Arc<std::sync::Mutex<Vec<(Vec<ChatMessage>, Option<Grammar>)>>>,
    tokenizer: crate::tokenizer::TokenizerFacts,
}

impl FakeEngine {
    /// An engine that answers every request with `pieces`, one per `delay`.
    pub fn new(pieces: &[&str], delay: Duration, max_context: usize) -> Self {
        Self {
            info: ModelInfo {
                id: "fake".into(),
                path: "fake".into(),
                sha256: "0".repeat(64),
                max_context,
                created: 0,
            },
            scripts: vec![pieces.iter().map(|s| s.to_string()).collect()],
            delay,
            fail_after: None,
            running: Arc::new(AtomicUsize::new(0)),
            calls: AtomicUsize::new(0),
            history: Arc::default(),
            tokenizer: crate::tokenizer::TokenizerFacts::bytes(),
        }
    }

    /// An engine whose n-th generation plays `scripts[n]` (the last one repeats).
    pub fn with_scripts(scripts: &[&[&str]], delay: Duration, max_context: usize) -> Self {
        let mut e = Self::new(&[], delay, max_context);
        e.scripts = scripts
            .iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect();
        e
    }

    /// The messages of the latest generation, as the engine received them (after the
    /// server added reference material and screened data).
    pub fn last_prompt(&self) -> Vec<ChatMessage> {
        self.prompts().pop().unwrap_or_default()
    }

    /// The messages of every generation so far, oldest first.
    pub fn prompts(&self) -> Vec<Vec<ChatMessage>> {
        self.history
            .lock()
            .map(|h| h.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default()
    }

    /// The grammar of every generation so far, oldest first.
    pub fn grammars(&self) -> Vec<Option<Grammar>> {
        self.history
            .lock()
            .map(|h| h.iter().map(|(_, g)| g.clone()).collect())
            .unwrap_or_default()
    }

    /// Makes every generation fail with an internal error after `n` pieces.
    pub fn failing_after(mut self, n: usize) -> Self {
        self.fail_after = Some(n);
        self
    }
}

fn count(messages: &[ChatMessage]) -> usize {
    messages
        .iter()
        .map(|m| m.content.split_whitespace().count() + 4)
        .sum::<usize>()
        + 2
}

impl Engine for FakeEngine {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn count_prompt_tokens<'a>(
        &'a self,
        messages: &'a [ChatMessage],
    ) -> BoxFuture<'a, Result<usize>> {
        async move { Ok(count(messages)) }.boxed()
    }

    /// A byte tokenizer: one token per UTF-8 byte, BOS 256, EOS 257.
    fn tokenizer(&self) -> &crate::tokenizer::TokenizerFacts {
        &self.tokenizer
    }

    fn tokenize<'a>(&'a self, text: &'a str, add_special: bool) -> BoxFuture<'a, Result<Vec<u32>>> {
        let mut ids: Vec<u32> = if add_special { vec![256] } else { Vec::new() };
        ids.extend(text.bytes().map(u32::from));
        async move { Ok(ids) }.boxed()
    }

    fn tokenize_chat<'a>(
        &'a self,
        messages: &'a [ChatMessage],
        add_generation_prompt: bool,
    ) -> BoxFuture<'a, Result<Vec<u32>>> {
        let mut text: String = messages
            .iter()
            .map(|m| format!("{}: {}\n", m.role.template_name(), m.content))
            .collect();
        if add_generation_prompt {
            text.push_str("assistant: ");
        }
        async move { Ok(text.bytes().map(u32::from).collect()) }.boxed()
    }

    fn detokenize<'a>(
        &'a self,
        ids: &'a [u32],
        skip_special: bool,
    ) -> BoxFuture<'a, Result<String>> {
        let mut bytes = Vec::new();
        let mut text = String::new();
        for id in ids {
            match *id {
                b @ 0..=255 => bytes.push(b as u8),
                s @ (256 | 257) if !skip_special => {
                    text.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
                    text.push_str(&self.tokenizer.vocab[s as usize]);
                }
                256 | 257 => {}
                other => {
                    return async move {
                        Err(crate::Error::Invalid(format!(
                            "token id {other} is not in the vocabulary"
                        )))
                    }
                    .boxed()
                }
            }
        }
        text.push_str(&String::from_utf8_lossy(&bytes));
        async move { Ok(text) }.boxed()
    }

    fn generate(&self, request: GenerateRequest) -> BoxFuture<'_, Result<EventStream>> {
        let prompt_tokens = count(&request.messages);
        if let Ok(mut h) = self.history.lock() {
            h.push((request.messages.clone(), request.grammar.clone()));
        }
        let max = request.sampling.max_tokens.unwrap_or(usize::MAX);
        let stop = request.sampling.stop.clone();
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let pieces = self
            .scripts
            .get(n)
            .or(self.scripts.last())
            .cloned()
            .unwrap_or_default();
        let delay = self.delay;
        let running = self.running.clone();
        let fail_after = self.fail_after;
        async move {
            running.fetch_add(1, Ordering::SeqCst);
            struct Dec(Arc<AtomicUsize>);
            impl Drop for Dec {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let dec = Dec(running);
            let stream = futures::stream::unfold(
                (0usize, String::new(), false, dec),
                move |(i, mut text, done, dec)| {
                    let pieces = pieces.clone();
                    let stop = stop.clone();
                    async move {
                        if done {
                            return None;
                        }
                        tokio::time::sleep(delay).await;
                        let finish = |reason, n| Event::Done {
                            finish_reason: reason,
                            usage: Usage {
                                prompt_tokens,
                                completion_tokens: n,
                                cached_prompt_tokens: 0,
                            },
                        };
                        if fail_after == Some(i) {
                            let e = crate::Error::Internal("scripted failure".into());
                            return Some((Err(e), (i, text, true, dec)));
                        }
                        if i >= max {
                            return Some((
                                Ok(finish(FinishReason::Length, i)),
                                (i, text, true, dec),
                            ));
                        }
                        let Some(piece) = pieces.get(i) else {
                            return Some((Ok(finish(FinishReason::Stop, i)), (i, text, true, dec)));
                        };
                        text.push_str(piece);
                        if stop.iter().any(|s| text.contains(s.as_str())) {
                            return Some((
                                Ok(finish(FinishReason::Stop, i + 1)),
                                (i, text, true, dec),
                            ));
                        }
                        let ev = Event::Delta {
                            text: piece.clone(),
                            logprobs: Vec::new(),
                            completion_tokens: i + 1,
                        };
                        Some((Ok(ev), (i + 1, text, false, dec)))
                    }
                },
            );
            Ok(Box::pin(stream) as EventStream)
        }
        .boxed()
    }

    /// Plays the script like [`Engine::generate`], the prompt's bytes as one user message.
    fn complete(&self, request: CompleteRequest) -> BoxFuture<'_, Result<EventStream>> {
        let bytes: Vec<u8> = request
            .prompt
            .iter()
            .filter_map(|&id| u8::try_from(id).ok())
            .collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.generate(GenerateRequest {
            messages: vec![ChatMessage::new(crate::Role::User, text)],
            sampling: request.sampling,
            grammar: None,
        })
    }

    /// A uniform model over the 258 byte-level tokens: every token has log(1/258); the
    /// alternatives are the lowest ids.
    fn prompt_logprobs<'a>(
        &'a self,
        prompt: &'a [u32],
        top: usize,
    ) -> BoxFuture<'a, Result<Vec<Option<TokenLogprob>>>> {
        let vocab = self.tokenizer.vocab.len();
        let logits = vec![0.0f32; vocab * prompt.len().saturating_sub(1)];
        let text = |id: u32| self.tokenizer.token_text(id);
        let out = crate::scoring::score_prompt(&logits, vocab, prompt, top, &text);
        async move { Ok(out) }.boxed()
    }

    fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}
