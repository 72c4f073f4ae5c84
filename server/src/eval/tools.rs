//! `medserve eval tools`: tool-call validity of the real model with and without
//! constrained decoding, and what the constraint costs per token.
//!
//! Each case is a clinical request with the tool a clinician would use. The model gets
//! that tool and `distractors` others from the built-in catalogue (rotating, so every tool
//! is a distractor as often as any other) as function tools with `tool_choice: required`
//! (so it must pick one), and greedy sampling. The whole catalogue is ~17k characters of
//! definitions (~5k tokens), which this 2-core machine prefills in about a minute per
//! request; 4 tools keep a run of 56 cases x 2 modes near a quarter of an hour. A case is *valid* when the first call names the expected tool
//! and its arguments pass the tool's JSON Schema (the server's own parser and validator,
//! as in the HTTP path). The same prompt runs twice: with the llguidance grammar and with
//! free decoding.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use medserve_models::{ChatMessage, Engine, Event, GenerateRequest, Grammar, Role, Sampling};
use serde::{Deserialize, Serialize};

use medserve_server::toolcall::{self, CallSplitter, FunctionTool, ToolChoice, ToolSet};

/// One labelled request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The tool that answers it.
    pub tool: String,
    /// The user's message.
    pub message: String,
}

/// Results of one decoding mode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModeReport {
    /// Cases run.
    pub cases: usize,
    /// Right tool and schema-valid arguments.
    pub valid: usize,
    /// Some call parsed and passed its schema (any tool).
    pub schema_valid_call: usize,
    /// The first valid call named the expected tool.
    pub right_tool: usize,
    /// No schema-valid call at all.
    pub no_call: usize,
    /// Completion tokens generated.
    pub tokens: usize,
    /// Decode time after the first token, summed, ms.
    pub decode_ms: f64,
    /// Time to the first token, summed, ms.
    pub first_token_ms: f64,
}

impl ModeReport {
    /// Valid calls / cases.
    pub fn validity(&self) -> f64 {
        self.valid as f64 / self.cases.max(1) as f64
    }

    /// Mean decode time per token after the first, ms.
    pub fn ms_per_token(&self) -> f64 {
        self.decode_ms / (self.tokens.saturating_sub(self.cases)).max(1) as f64
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// With the grammar.
    pub constrained: ModeReport,
    /// Free decoding.
    pub unconstrained: ModeReport,
    /// Tools offered per request.
    pub tools_offered: usize,
    /// Prompt tokens of the first case (tools section included).
    pub prompt_tokens: usize,
    /// Per case: (expected tool, constrained call name, unconstrained call name).
    pub per_case: Vec<(String, Option<String>, Option<String>)>,
}

/// Reads the cases (JSON lines).
pub fn load_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1)))
        .collect()
}

/// The expected tool plus `distractors` others, in catalogue order.
fn case_set(expected: &str, index: usize, distractors: usize) -> anyhow::Result<ToolSet> {
    let all = medserve_tools::catalogue();
    let others: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].name != expected)
        .collect();
    if others.len() == all.len() {
        anyhow::bail!("no built-in tool named {expected:?}");
    }
    let mut keep: Vec<usize> = (0..distractors.min(others.len()))
        .map(|k| others[(index * distractors + k) % others.len()])
        .collect();
    keep.push(all.iter().position(|d| d.name == expected).unwrap_or(0));
    keep.sort_unstable();
    let tools: Vec<FunctionTool> = keep
        .into_iter()
        .map(|i| {
            let d = &all[i];
            FunctionTool::new(
                "catalogue",
                d.name.clone(),
                d.description.clone(),
                d.parameters.clone(),
                true,
                false,
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    toolcall::tool_set(
        tools,
        Vec::new(),
        Some(&serde_json::json!("required")),
        Some(&serde_json::json!(false)),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .ok_or_else(|| anyhow::anyhow!("empty catalogue"))
}

/// Runs every case in both modes.
pub async fn run(
    engine: Arc<dyn Engine>,
    cases: &[Case],
    max_tokens: usize,
    distractors: usize,
) -> anyhow::Result<Report> {
    let mut constrained = ModeReport::default();
    let mut unconstrained = ModeReport::default();
    let mut per_case = Vec::new();
    let mut prompt_tokens = 0;
    let mut tools_offered = 0;
    for (i, case) in cases.iter().enumerate() {
        let set = case_set(&case.tool, i, distractors)?;
        tools_offered = set.tools.len();
        let section = set
            .system_prompt(&ToolChoice::Required)
            .ok_or_else(|| anyhow::anyhow!("no tools section"))?;
        let grammar = set.grammar(&ToolChoice::Required).map(Grammar::Lark);
        let mut messages = vec![ChatMessage::new(Role::User, case.message.clone())];
        toolcall::with_system_section(&mut messages, &section);
        if i == 0 {
            prompt_tokens = engine.count_prompt_tokens(&messages).await?;
        }
        let mut names = Vec::new();
        for (g, report) in [
            (grammar.clone(), &mut constrained),
            (None, &mut unconstrained),
        ] {
            let sampling = Sampling {
                temperature: 0.0,
                max_tokens: Some(max_tokens),
                seed: Some(1),
                ..Default::default()
            };
            let started = Instant::now();
            let mut events = engine
                .generate(GenerateRequest {
                    messages: messages.clone(),
                    sampling,
                    grammar: g,
                })
                .await?;
            let mut first = None;
            let mut splitter = CallSplitter::default();
            let mut tokens = 0;
            while let Some(ev) = events.next().await {
                match ev? {
                    Event::Delta { text, .. } => {
                        first.get_or_insert_with(Instant::now);
                        splitter.push(&text);
                    }
                    Event::Done { usage, .. } => {
                        tokens = usage.completion_tokens;
                        break;
                    }
                }
            }
            let end = Instant::now();
            let first = first.unwrap_or(end);
            report.cases += 1;
            report.tokens += tokens;
            report.first_token_ms += (first - started).as_secs_f64() * 1000.0;
            report.decode_ms += (end - first).as_secs_f64() * 1000.0;
            let (_, region) = splitter.finish();
            let parsed = region.map(|r| toolcall::parse_calls(&r, &set, &ToolChoice::Required));
            let call = parsed.as_ref().and_then(|p| p.calls.first().cloned());
            match &call {
                None => report.no_call += 1,
                Some(c) => {
                    report.schema_valid_call += 1;
                    if c.name == case.tool {
                        report.right_tool += 1;
                        report.valid += 1;
                    }
                }
            }
            names.push(call.map(|c| c.name));
        }
        let u = names.pop().flatten();
        let c = names.pop().flatten();
        eprintln!(
            "[{}/{}] {:<20} constrained: {:<20} free: {}",
            i + 1,
            cases.len(),
            case.tool,
            c.as_deref().unwrap_or("-"),
            u.as_deref().unwrap_or("-")
        );
        per_case.push((case.tool.clone(), c, u));
    }
    Ok(Report {
        constrained,
        unconstrained,
        tools_offered,
        prompt_tokens,
        per_case,
    })
}

/// The report as a Markdown table.
pub fn table(r: &Report) -> String {
    let mut s = format!(
        "{} cases, {} tools offered (tool_choice required, greedy), prompt {} tokens\n\n",
        r.constrained.cases, r.tools_offered, r.prompt_tokens
    );
    s.push_str("| decoding | valid (right tool + schema-valid args) | schema-valid call, any tool | no valid call | ms/token after first | first token ms (mean) |\n|---|---|---|---|---|---|\n");
    for (name, m) in [
        ("constrained (llguidance)", &r.constrained),
        ("free", &r.unconstrained),
    ] {
        s.push_str(&format!(
            "| {name} | {}/{} = {:.3} | {} | {} | {:.2} | {:.0} |\n",
            m.valid,
            m.cases,
            m.validity(),
            m.schema_valid_call,
            m.no_call,
            m.ms_per_token(),
            m.first_token_ms / m.cases.max(1) as f64,
        ));
    }
    s.push_str(&format!(
        "\nconstrained/free per-token decode time: {:.2}x\n",
        r.constrained.ms_per_token() / r.unconstrained.ms_per_token().max(1e-9)
    ));
    s
}
