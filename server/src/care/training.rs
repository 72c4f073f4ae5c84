//! The de-identified training log and its exports.
//!
//! A consented exchange is written as one record: every message and the answer passed
//! through the PHI redaction (Safe Harbor identifiers replaced by typed placeholders,
//! dates reduced to the year, ages over 89 capped as `[AGE:90+]`), the guardrail verdicts
//! (evidence redacted too), the tools used, the retrieval chunk ids, the model and prompt
//! template versions and the facts behind the quality score. Raw text never reaches the
//! store. Nurse labels are joined at export time from the linked assessment.
//!
//! Quality, in [0, 1]: the weighted mean of `no_intervention` (weight 0.5: no output
//! guardrail blocked, rewrote or dropped anything), `complete` (0.3: the answer ended by
//! itself, not at `max_tokens`), and, when a nurse has closed the linked assessment,
//! `nurse_agreement` (0.2: accepted = 1, overridden = 0). Unlabelled records are scored
//! over the first two weights only.

use std::collections::BTreeMap;

use medserve_guardrails::input::{Stage, Verdict};
use medserve_guardrails::phi;
use medserve_models::{ChatMessage, Role};
use serde::Serialize;
use serde_json::{json, Value};

use crate::care::model::{now_ms, Assessment, TrainingRecord};
use crate::toolcall::ToolCall;
use crate::toolcall::ToolRun;

/// Version of the prompt the server builds around the client's messages (system sections
/// for tools and guideline references). Bump it when that layout changes.
pub const PROMPT_TEMPLATE_VERSION: &str = "medserve-prompt-v1";

/// Layout version of a training record.
pub const RECORD_VERSION: &str = "training-v1";

/// Output-stage actions that count as an intervention.
const INTERVENTIONS: &[&str] = &["block", "rewrite", "drop", "withhold", "refuse"];

/// What one finished exchange consisted of (raw: de-identified by [`record`]).
pub struct Exchange<'a> {
    /// The request's messages.
    pub messages: &'a [ChatMessage],
    /// The text the client received.
    pub answer: &'a str,
    /// Calls sent to the client.
    pub client_calls: &'a [ToolCall],
    /// `model`, or `rule` for the fixed emergency and refusal answers.
    pub answer_source: &'static str,
    /// `finish_reason` sent.
    pub finish_reason: &'a str,
    /// Audience of the output policy.
    pub audience: medserve_guardrails::policy::Audience,
    /// Every verdict.
    pub verdicts: &'a [Verdict],
    /// Built-in tools run.
    pub tool_runs: &'a [ToolRun],
    /// Retrieval chunk ids in the prompt.
    pub retrieval_ids: Vec<String>,
    /// Served model id and file SHA-256.
    pub model: (String, String),
    /// The guardrail weights and policy in use ([`crate::chat::guard::ids`]).
    pub detectors: Value,
    /// Linked triage assessment.
    pub assessment_id: Option<String>,
}

/// Counts of identifiers replaced, by kind.
#[derive(Debug, Default, Serialize)]
struct Replaced(BTreeMap<&'static str, usize>);

impl Replaced {
    fn redact(&mut self, text: &str) -> String {
        self.redact_except(text, &[])
    }

    /// Redacts all but the `fixed` texts (see [`phi::detect_phi_except`]).
    fn redact_except(&mut self, text: &str, fixed: &[&str]) -> String {
        let spans = phi::detect_phi_except(text, fixed);
        for span in &spans {
            *self.0.entry(span.kind.tag()).or_default() += 1;
        }
        phi::redact_spans(text, &spans)
    }
}

fn role_name(r: Role) -> &'static str {
    match r {
        // Fine-tuning data has one instruction role.
        Role::System | Role::Developer => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    }
}

/// Redacts every string inside a JSON value.
fn redact_json(v: &Value, r: &mut Replaced) -> Value {
    match v {
        Value::String(s) => Value::String(r.redact(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| redact_json(x, r)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), redact_json(x, r)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Fields whose strings are free text (what a stored response de-identifies).
const TEXT_FIELDS: &[&str] = &[
    "content",
    "text",
    "arguments",
    "output",
    "instructions",
    "refusal",
];

/// `v` with every string under a free-text field de-identified as the training log is
/// (the disclaimer, the server's own text, kept); ids, names of tools and other fields are
/// kept as they are.
pub fn deidentify_texts(v: &Value) -> Value {
    fn walk(v: &Value, text: bool, r: &mut Replaced) -> Value {
        match v {
            Value::String(s) if text => {
                Value::String(r.redact_except(s, &[medserve_guardrails::policy::DISCLAIMER]))
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, text, r)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        (
                            k.clone(),
                            walk(x, text || TEXT_FIELDS.contains(&k.as_str()), r),
                        )
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(v, false, &mut Replaced::default())
}

/// The de-identified record of an exchange.
pub fn record(ex: &Exchange<'_>) -> TrainingRecord {
    let mut r = Replaced::default();
    let mut messages: Vec<Value> = ex
        .messages
        .iter()
        .map(|m| json!({"role": role_name(m.role), "content": r.redact(&m.content)}))
        .collect();
    // The server's own texts are never redacted: a fixed answer (emergency text, refusal)
    // is kept whole, and the disclaimer after model text is protected.
    let answer_text = if ex.answer_source == "rule" {
        ex.answer.to_string()
    } else {
        r.redact_except(ex.answer, &[medserve_guardrails::policy::DISCLAIMER])
    };
    let mut answer = json!({"role": "assistant", "content": answer_text});
    if !ex.client_calls.is_empty() {
        let calls: Vec<Value> = ex
            .client_calls
            .iter()
            .map(|c| json!({"name": c.name, "arguments": r.redact(&c.arguments)}))
            .collect();
        answer["tool_calls"] = Value::Array(calls);
    }
    messages.push(answer);
    let verdicts: Vec<Value> = ex
        .verdicts
        .iter()
        .map(|v| {
            json!({
                "stage": v.stage,
                "class": v.class,
                "action": v.action,
                "evidence": v.evidence.iter().map(|e| r.redact(e)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let tools: Vec<Value> = ex
        .tool_runs
        .iter()
        .map(|t| {
            json!({"round": t.round, "name": t.name, "ok": t.ok,
                   "arguments": redact_json(&t.arguments, &mut r)})
        })
        .collect();
    let no_intervention = !ex
        .verdicts
        .iter()
        .any(|v| v.stage == Stage::Output && INTERVENTIONS.contains(&v.action.as_str()));
    let complete = matches!(ex.finish_reason, "stop" | "tool_calls");
    TrainingRecord {
        id: format!("tr_{}", uuid::Uuid::new_v4().simple()),
        created_at: now_ms(),
        assessment_id: ex.assessment_id.clone(),
        record: json!({
            "record_version": RECORD_VERSION,
            "messages": messages,
            "answer_source": ex.answer_source,
            "finish_reason": ex.finish_reason,
            "audience": ex.audience,
            "guardrails": verdicts,
            "tools": tools,
            "retrieval_ids": ex.retrieval_ids,
            "model": {"id": ex.model.0, "sha256": ex.model.1},
            "detectors": ex.detectors,
            "prompt_template": PROMPT_TEMPLATE_VERSION,
            "build": crate::build_info::BUILD,
            "quality": {"no_intervention": no_intervention, "complete": complete},
            "deidentified": r.0,
        }),
    }
}

/// The nurse label of a closed assessment: 1 accepted, 0 overridden.
pub(crate) fn nurse_agreement(a: &Assessment) -> Option<f64> {
    match a.outcome.as_deref() {
        Some("accepted") => Some(1.0),
        Some("overridden") => Some(0.0),
        _ => None,
    }
}

/// The quality score of a record (see the module docs).
pub fn quality(record: &Value, agreement: Option<f64>) -> f64 {
    let flag = |k: &str| {
        if record["quality"][k].as_bool().unwrap_or(false) {
            1.0
        } else {
            0.0
        }
    };
    let base = 0.5 * flag("no_intervention") + 0.3 * flag("complete");
    match agreement {
        Some(n) => base + 0.2 * n,
        None => base / 0.8,
    }
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenAI fine-tuning JSONL: `{"messages": [...]}` per line, model answers only.
    ChatJsonl,
    /// Nurse-labelled triage cases: report, prediction and label per line.
    EvalJsonl,
}

impl Format {
    /// Parses `chat-jsonl` or `eval-jsonl`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "chat-jsonl" => Some(Format::ChatJsonl),
            "eval-jsonl" => Some(Format::EvalJsonl),
            _ => None,
        }
    }

    /// The format's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::ChatJsonl => "chat-jsonl",
            Format::EvalJsonl => "eval-jsonl",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medserve_guardrails::policy::Audience;

    #[test]
    fn records_hold_no_identifier_and_score_quality() {
        let msgs = [ChatMessage::new(
            Role::User,
            "I'm Sarah Johnson, born 12/03/1931, I am 93 years old, call me on 415-555-0199.",
        )];
        let out = Verdict {
            stage: Stage::Output,
            class: "diagnosis".into(),
            action: "rewrite".into(),
            evidence: vec!["you have pneumonia".into()],
        };
        let rec = record(&Exchange {
            messages: &msgs,
            answer: "Thank you Sarah, a clinician will call 415-555-0199.",
            client_calls: &[],
            answer_source: "model",
            finish_reason: "stop",
            audience: Audience::Patient,
            verdicts: &[out],
            tool_runs: &[],
            retrieval_ids: vec!["c1".into()],
            model: ("m".into(), "sha".into()),
            detectors: Value::Null,
            assessment_id: None,
        });
        let text = rec.record.to_string();
        for leaked in ["Sarah", "Johnson", "12/03", "93 years", "555-0199"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert!(
            text.contains("[DATE:1931]") && text.contains("[AGE:90+]"),
            "{text}"
        );
        assert_eq!(rec.record["quality"]["no_intervention"], false);
        assert!((quality(&rec.record, None) - 0.375).abs() < 1e-9);
        assert!((quality(&rec.record, Some(1.0)) - 0.5).abs() < 1e-9);
        let clean = json!({"quality": {"no_intervention": true, "complete": true}});
        assert_eq!(quality(&clean, None), 1.0);
        assert!((quality(&clean, Some(0.0)) - 0.8).abs() < 1e-9);
    }
}
