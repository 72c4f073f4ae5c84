//! The output stage: the policy filter between the model and the client, plus the fixed
//! disclaimer. Streams and non-stream answers go through the same steps, so their outcome
//! is identical.

use medserve_guardrails::input::{Stage, Verdict};
use medserve_guardrails::policy::{self, Audience, FilterEvent, OutputFilter};

/// What to send after one model delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Text that passed the policy (may be empty while a sentence is held back).
    Emit(String),
    /// The answer was stopped: send this text, then end with `content_filter`.
    Blocked(String),
}

/// What a structured (JSON) answer is replaced with when the policy would change it: a
/// rewrite or an appended caution would break the JSON, so none of it is sent.
pub const STRUCTURED_WITHHELD: &str = "This structured answer was withheld by the safety \
policy (see medserve.guardrails). Please ask a clinician or pharmacist.";

/// Text of a built-in tool's result as shown to a client in `medserve.tool_runs`: every
/// string passes the audience's output policy, and one the policy would change is replaced
/// by [`STRUCTURED_WITHHELD`] (a patient app never receives advice from a tool that the
/// patient policy would rewrite). Numbers, booleans and keys are kept.
pub fn screen_tool_result(audience: Audience, v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(text) => {
            let mut g = OutputGuard::structured(audience);
            let _ = g.push(&text);
            match g.finish_without_disclaimer() {
                Step::Emit(t) => Value::String(t),
                Step::Blocked(withheld) => Value::String(withheld),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|x| screen_tool_result(audience, x))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, x)| (k, screen_tool_result(audience, x)))
                .collect(),
        ),
        other => other,
    }
}

/// The output policy for one answer.
#[derive(Debug)]
pub struct OutputGuard {
    filter: OutputFilter,
    audience: Audience,
    disclaimer: bool,
    /// JSON answers: the whole text is checked at the end and sent unchanged or withheld.
    structured: Option<String>,
    withheld: bool,
    /// Whether any visible text has been released: a disclaimer on an empty answer (say,
    /// a tool call that did not fit the budget and was dropped) would be all the client gets.
    released_text: bool,
}

impl OutputGuard {
    /// A guard for `audience` holding back at most `holdback_chars` characters.
    pub fn new(audience: Audience, holdback_chars: usize) -> Self {
        Self {
            filter: OutputFilter::new(audience, holdback_chars),
            audience,
            disclaimer: false,
            structured: None,
            withheld: false,
            released_text: false,
        }
    }

    /// A guard for a JSON answer (`response_format`): nothing is sent until the whole
    /// text has been classified; then it goes out unchanged, or is withheld
    /// ([`STRUCTURED_WITHHELD`], `content_filter`) if the policy would change any of it.
    /// No disclaimer is added (it would break the JSON).
    pub fn structured(audience: Audience) -> Self {
        let mut g = Self::new(audience, 4000);
        g.structured = Some(String::new());
        g
    }

    /// Feeds one model delta.
    pub fn push(&mut self, delta: &str) -> Step {
        if let Some(buf) = self.structured.as_mut() {
            buf.push_str(delta);
            return Step::Emit(String::new());
        }
        match self.filter.push(delta) {
            FilterEvent::Emit(t) => {
                self.released_text |= !t.trim().is_empty();
                Step::Emit(t)
            }
            FilterEvent::Blocked { safe_text, .. } => Step::Blocked(safe_text),
        }
    }

    /// The model finished: the held-back rest, cautions, and the disclaimer (patients only,
    /// and only after some text; a fixed sentence from code, never from the prompt). The last
    /// sentence is classified here, so this can still be a block.
    pub fn finish(&mut self) -> Step {
        self.finish_with(true)
    }

    /// The turn ended in tool calls or a fixed answer: the held-back rest, classified,
    /// without the disclaimer (the answer is not the model's last word).
    pub fn finish_without_disclaimer(&mut self) -> Step {
        self.finish_with(false)
    }

    fn finish_with(&mut self, disclaimer: bool) -> Step {
        if let Some(buf) = self.structured.take() {
            let _ = self.filter.push(&buf);
            let _ = self.filter.finish();
            let intervened = self
                .filter
                .verdicts()
                .iter()
                .any(|v| v.action != policy::Action::Allow);
            if intervened {
                self.withheld = true;
                return Step::Blocked(STRUCTURED_WITHHELD.to_string());
            }
            return Step::Emit(buf);
        }
        let mut text = match self.filter.finish() {
            FilterEvent::Emit(t) => t,
            FilterEvent::Blocked { safe_text, .. } => return Step::Blocked(safe_text),
        };
        if self.filter.is_blocked() {
            return Step::Blocked(text);
        }
        self.released_text |= !text.trim().is_empty();
        let disclaimer = disclaimer && self.released_text;
        if let Some(d) = policy::disclaimer_for(self.audience).filter(|_| disclaimer) {
            text.push_str("\n\n");
            text.push_str(d);
            self.disclaimer = true;
        }
        Step::Emit(text)
    }

    /// Whether the policy changed the model's text (a rewrite or a block): the per-token
    /// logprobs then no longer describe what the client received, and are withheld.
    pub fn changed_text(&self) -> bool {
        self.withheld
            || self
                .filter
                .verdicts()
                .iter()
                .any(|v| matches!(v.action, policy::Action::Rewrite | policy::Action::Block))
    }

    /// Every output verdict so far (policy matches, then the disclaimer if it was added).
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut out: Vec<Verdict> = self
            .filter
            .verdicts()
            .iter()
            .map(|v| {
                // The matched model text is never echoed: a blocked or rewritten phrase must
                // not reach the client through the verdict list.
                tracing::trace!(class = v.class.as_str(), matched = %v.matched, "output verdict");
                Verdict {
                    stage: Stage::Output,
                    class: v.class.as_str().to_string(),
                    action: action_name(v.action).to_string(),
                    evidence: Vec::new(),
                }
            })
            .collect();
        if self.disclaimer {
            out.push(Verdict {
                stage: Stage::Output,
                class: "disclaimer".into(),
                action: "append".into(),
                evidence: Vec::new(),
            });
        }
        out
    }
}

fn action_name(a: policy::Action) -> &'static str {
    match a {
        policy::Action::Block => "block",
        policy::Action::Rewrite => "rewrite",
        policy::Action::AppendCaution => "append_caution",
        policy::Action::Allow => "allow",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_empty_answer_gets_no_disclaimer() {
        let mut g = OutputGuard::new(Audience::Patient, 300);
        assert!(matches!(g.push("   "), Step::Emit(_)));
        match g.finish() {
            Step::Emit(t) => assert_eq!(t.trim(), ""),
            Step::Blocked(t) => panic!("blocked: {t}"),
        }
        let mut g = OutputGuard::new(Audience::Patient, 300);
        let _ = g.push("Rest and drink fluids.");
        match g.finish() {
            Step::Emit(t) => assert!(t.ends_with(policy::DISCLAIMER), "{t}"),
            Step::Blocked(t) => panic!("blocked: {t}"),
        }
    }

    #[test]
    fn a_tool_result_shown_to_a_patient_passes_the_patient_policy() {
        let r = json!({"severity": "major", "score": 3, "advice": "Stop taking warfarin and take 300 mg aspirin daily."});
        let p = screen_tool_result(Audience::Patient, r.clone());
        assert_eq!(p["score"], 3);
        assert_eq!(p["severity"], "major");
        assert_eq!(p["advice"], STRUCTURED_WITHHELD);
        let c = screen_tool_result(Audience::Clinician, r);
        assert_eq!(c["score"], 3);
    }
}
