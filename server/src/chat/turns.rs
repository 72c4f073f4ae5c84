//! The model's turns for one request: each generation, the tool calls parsed out of it, and
//! the server-side tool loop for `medserve.tools`.
//!
//! The driver turns engine events into [`Piece`]s that the JSON and SSE writers consume
//! the same way: content text (before the output policy), calls for the client, the
//! built-in tool runs, and one final `Done`. A built-in call is executed, its result goes
//! back to the model fenced as data, and the model runs again, up to a bound. Dropping the
//! stream drops the running generation, which stops it.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use futures::{Stream, StreamExt};
use medserve_guardrails::injection::Source;
use medserve_guardrails::input::{self, Decision, InputCheck, RedFlag, Stage, Verdict};
use medserve_guardrails::policy::{self, Action, Audience};
use medserve_models::{
    ChatMessage, Engine, Event, FinishReason, GenerateRequest, Grammar, Role, Sampling,
    TokenLogprob, Usage,
};
use serde_json::{json, Value};

use crate::chat::budget::{Budget, Turn};
use crate::error::ApiError;
use crate::retrieval::Retriever;
use crate::toolcall::{self, CallSplitter, ToolCall, ToolChoice, ToolRun, ToolSet};

/// One thing the driver reports.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Model content (not yet through the output policy).
    Text {
        /// The text.
        text: String,
        /// Logprobs of the tokens behind it.
        logprobs: Vec<TokenLogprob>,
        /// Usage so far, all turns: what a generation stopped now has cost.
        usage: Usage,
    },
    /// Calls the client must run: the answer ends with `finish_reason: "tool_calls"`.
    Calls(Vec<ToolCall>),
    /// A built-in tool the server ran.
    ToolRun(ToolRun),
    /// A guardrail verdict made while the turns ran (a dropped call, a stripped result).
    Verdict(Verdict),
    /// A tool result crossed an emergency threshold: the answer becomes the fixed emergency
    /// text (written by the server, not the model).
    Emergency {
        /// For `medserve.red_flag`.
        red_flag: RedFlag,
        /// The fixed text.
        text: String,
    },
    /// The end: why, and exact usage summed over every turn.
    Done {
        /// Finish reason of the last turn.
        finish_reason: FinishReason,
        /// All turns.
        usage: Usage,
    },
}

/// Pieces of one answer.
pub type PieceStream = Pin<Box<dyn Stream<Item = Result<Piece, ApiError>> + Send>>;

/// Everything the driver needs.
pub struct Plan {
    /// The engine.
    pub engine: Arc<dyn Engine>,
    /// The conversation as the model reads it (references added, tool results fenced).
    pub messages: Vec<ChatMessage>,
    /// Sampling (its `max_tokens` is replaced per turn by what the budget allows).
    pub sampling: Sampling,
    /// The completion budget over all turns.
    pub budget: Budget,
    /// Tools, if the request has any.
    pub tools: Option<ToolSet>,
    /// Most turns that may end in built-in calls.
    pub max_rounds: usize,
    /// `response_format` grammar (never together with tools).
    pub grammar: Option<Grammar>,
    /// For `guideline_search`.
    pub retriever: Option<Arc<Retriever>>,
    /// For the emergency text.
    pub emergency_numbers: String,
    /// The input guard (tool results are screened and scored by it).
    pub guard: std::sync::Arc<medserve_guardrails::input::Guard>,
    /// Whose output policy applies to the arguments of calls sent to the client.
    pub audience: Audience,
}

/// The policy class of a client call's arguments that the audience's policy would rewrite
/// or block: such a call is dropped (arguments cannot be rewritten in place).
fn unsafe_arguments(arguments: &str, audience: Audience) -> Option<&'static str> {
    fn strings<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    let v: Value = serde_json::from_str(arguments).ok()?;
    let mut texts = Vec::new();
    strings(&v, &mut texts);
    texts
        .iter()
        .flat_map(|t| policy::classify_sentence(t))
        .find(|c| {
            matches!(
                policy::action_for(*c, audience),
                Action::Rewrite | Action::Block
            )
        })
        .map(|c| c.as_str())
}

/// What each turn's tools look like: turn 0 follows the request's `tool_choice`; later
/// turns (after built-in results) are `auto`; the turn after the bound offers no tools, so
/// the model must answer.
fn choice_for(set: &ToolSet, round: usize, max_rounds: usize) -> ToolChoice {
    if round == 0 {
        set.choice.clone()
    } else if round < max_rounds {
        ToolChoice::Auto
    } else {
        ToolChoice::None
    }
}

fn add(a: Usage, b: Usage) -> Usage {
    Usage {
        prompt_tokens: a.prompt_tokens + b.prompt_tokens,
        completion_tokens: a.completion_tokens + b.completion_tokens,
        cached_prompt_tokens: a.cached_prompt_tokens + b.cached_prompt_tokens,
    }
}

/// Runs the turns.
pub fn drive(plan: Plan) -> PieceStream {
    Box::pin(async_stream::stream! {
        let Plan { engine, mut messages, sampling, budget, tools, max_rounds, grammar, retriever, emergency_numbers, guard, audience } = plan;
        let max_ctx = budget.max_ctx;
        let mut used = Usage::default();
        // Content already produced: a later turn's text is set off from it.
        let mut content_so_far = false;
        for round in 0..=max_rounds {
            let choice = tools.as_ref().map(|t| choice_for(t, round, max_rounds));
            let mut prompt_msgs = messages.clone();
            let mut turn_grammar = grammar.clone();
            if let (Some(set), Some(choice)) = (&tools, &choice) {
                if let Some(section) = set.system_prompt(choice) {
                    toolcall::with_system_section(&mut prompt_msgs, &section);
                }
            }
            let prompt = match engine.count_prompt_tokens(&prompt_msgs).await {
                Ok(p) => p,
                Err(e) => { yield Err(e.into()); return; }
            };
            let max_tokens = match budget.turn(prompt, used.completion_tokens) {
                Turn::Generate(n) => n,
                Turn::Spent => {
                    yield Ok(Piece::Done { finish_reason: FinishReason::Length, usage: used });
                    return;
                }
                Turn::ContextFull if round == 0 => {
                    yield Err(medserve_models::Error::ContextLength { max: max_ctx, prompt, completion: 1 }.into());
                    return;
                }
                Turn::ContextFull => {
                    // Tool results filled the context: the answer ends here, as a length stop.
                    yield Ok(Piece::Done { finish_reason: FinishReason::Length, usage: used });
                    return;
                }
            };
            if let (Some(set), Some(choice)) = (&tools, &choice) {
                turn_grammar = set.grammar_within(choice, Some(max_tokens)).map(Grammar::Lark);
            }
            let mut s = sampling.clone();
            s.max_tokens = Some(max_tokens);
            // Call text is split off even on a turn that offers no tools: it is never content.
            let offers_tools = tools.is_some();
            let mut events = match engine.generate(GenerateRequest { messages: prompt_msgs, sampling: s, grammar: turn_grammar }).await {
                Ok(ev) => ev,
                Err(e) => { yield Err(e.into()); return; }
            };
            let mut splitter = CallSplitter::default();
            let mut turn_text = String::new();
            let (finish_reason, turn_usage) = loop {
                match events.next().await {
                    Some(Ok(Event::Delta { text, mut logprobs, completion_tokens })) => {
                        let mut content = if offers_tools { splitter.push(&text) } else { text };
                        // Call tokens are not content: their logprobs are not sent either.
                        if splitter.in_call() {
                            logprobs.clear();
                        }
                        if round > 0 && content_so_far && turn_text.is_empty() && !content.trim().is_empty() {
                            content = format!("\n\n{}", content.trim_start());
                        }
                        turn_text.push_str(&content);
                        content_so_far |= !content.trim().is_empty();
                        let so_far = add(used, Usage { prompt_tokens: prompt, completion_tokens, cached_prompt_tokens: 0 });
                        // Also when empty (call text): the writers time the first token.
                        yield Ok(Piece::Text { text: content, logprobs, usage: so_far });
                    }
                    Some(Ok(Event::Done { finish_reason, usage })) => break (finish_reason, usage),
                    Some(Err(e)) => { yield Err(e.into()); return; }
                    None => {
                        yield Err(ApiError::Internal("generation ended without a finish event".into()));
                        return;
                    }
                }
            };
            drop(events);
            used = add(used, turn_usage);
            let (rest, region) = splitter.finish();
            if !rest.is_empty() {
                turn_text.push_str(&rest);
                yield Ok(Piece::Text { text: rest, logprobs: Vec::new(), usage: used });
            }
            let (Some(set), Some(choice), Some(region)) = (&tools, &choice, region) else {
                yield Ok(Piece::Done { finish_reason, usage: used });
                return;
            };
            let parsed = toolcall::parse_calls(&region, set, choice);
            for r in &parsed.rejected {
                tracing::trace!(detail = %r.detail, "tool call dropped");
                yield Ok(Piece::Verdict(Verdict {
                    stage: Stage::Output,
                    class: "invalid_tool_call".into(),
                    action: "drop".into(),
                    evidence: vec![r.kind.to_string()],
                }));
            }
            if parsed.calls.is_empty() {
                let reason = if finish_reason == FinishReason::Length { FinishReason::Length } else { FinishReason::Stop };
                yield Ok(Piece::Done { finish_reason: reason, usage: used });
                return;
            }
            // Any call the client must run ends the answer. The client gets only its own
            // tools' calls (built-in calls of a mixed turn are dropped: the client does not
            // know those tools), and none whose arguments the output policy would change.
            let is_builtin = |c: &ToolCall| set.get(&c.name).is_some_and(|t| t.builtin);
            if parsed.calls.iter().any(|c| !is_builtin(c)) {
                let mut client = Vec::new();
                for c in parsed.calls {
                    let dropped = if is_builtin(&c) {
                        Some(("invalid_tool_call", "builtin_in_client_turn".to_string()))
                    } else {
                        unsafe_arguments(&c.arguments, audience).map(|class| (class, "tool_arguments".to_string()))
                    };
                    match dropped {
                        Some((class, evidence)) => yield Ok(Piece::Verdict(Verdict {
                            stage: Stage::Output,
                            class: class.into(),
                            action: "drop".into(),
                            evidence: vec![evidence],
                        })),
                        None => client.push(c),
                    }
                }
                if client.is_empty() {
                    yield Ok(Piece::Done { finish_reason: FinishReason::Stop, usage: used });
                } else {
                    yield Ok(Piece::Calls(client));
                    yield Ok(Piece::Done { finish_reason: FinishReason::ToolCalls, usage: used });
                }
                return;
            }
            // Built-in calls: run them, feed the results back, let the model go on.
            let call_text: Vec<String> = parsed.calls.iter().map(ToolCall::to_model_text).collect();
            let mut assistant = turn_text.trim_end().to_string();
            if !assistant.is_empty() {
                assistant.push('\n');
            }
            assistant.push_str(&call_text.join("\n"));
            messages.push(ChatMessage::new(Role::Assistant, assistant));
            let mut alarm_results = Vec::new();
            for call in parsed.calls {
                let args: Value = serde_json::from_str(&call.arguments).unwrap_or(json!({}));
                let started = Instant::now();
                let r = retriever.clone();
                let (name, a) = (call.name.clone(), args.clone());
                let outcome = tokio::task::spawn_blocking(move || crate::chat::tools::run_builtin(r.as_deref(), &name, &a)).await;
                let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
                let (result, ok) = match outcome {
                    Ok(Ok(v)) => (v, true),
                    // A tool error is a result the model reads, not a failed request; internal
                    // detail stays in the log.
                    Ok(Err(medserve_tools::Error::Internal { message, .. })) => {
                        tracing::error!(error = %message, "built-in tool failed");
                        (json!({"error": "the tool failed to run"}), false)
                    }
                    Ok(Err(e)) => (json!({"error": e.to_string()}), false),
                    Err(e) => {
                        tracing::error!(error = %e, "tool task failed");
                        (json!({"error": "the tool failed to run"}), false)
                    }
                };
                let text = result.to_string();
                if ok && medserve_guardrails::vitals::tool_result_alarm(&text).is_some() {
                    alarm_results.push(text.clone());
                }
                let (clean, verdict) = input::screen_data(&guard, Source::Tool, &text);
                if let Some(v) = verdict {
                    yield Ok(Piece::Verdict(v));
                }
                messages.push(ChatMessage::new(Role::Tool, toolcall::tool_response_text(&call.name, &clean)));
                yield Ok(Piece::ToolRun(ToolRun { round, id: call.id, name: call.name, arguments: args, result, ok, duration_ms }));
            }
            if !alarm_results.is_empty() {
                // The rules decide: a score over the emergency threshold gets the fixed
                // emergency answer, whatever the model would say next.
                let refs: Vec<&str> = alarm_results.iter().map(String::as_str).collect();
                let report = input::check_input(InputCheck {
                    latest_user: "",
                    earlier_user: &[],
                    vitals: None,
                    tool_results: &refs,
                    emergency_numbers: &emergency_numbers,
                    guard: &guard,
                });
                if let Ok(r) = report {
                    if let Decision::Emergency { red_flag, text } = r.decision {
                        yield Ok(Piece::Emergency { red_flag, text });
                        yield Ok(Piece::Done { finish_reason: FinishReason::Stop, usage: used });
                        return;
                    }
                }
            }
        }
        // Unreachable in practice: the last turn offers no tools, so it cannot end in calls.
        yield Ok(Piece::Done { finish_reason: FinishReason::Stop, usage: used });
    })
}

/// A fixed answer (emergency text, refusal) as pieces: no model ran, usage 0.
pub fn fixed(text: String) -> PieceStream {
    Box::pin(futures::stream::iter([
        Ok(Piece::Text {
            text,
            logprobs: Vec::new(),
            usage: Usage::default(),
        }),
        Ok(Piece::Done {
            finish_reason: FinishReason::Stop,
            usage: Usage::default(),
        }),
    ]))
}
