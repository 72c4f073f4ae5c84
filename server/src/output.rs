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

/// The output policy for one answer.
#[derive(Debug)]
pub struct OutputGuard {
    filter: OutputFilter,
    audience: Audience,
    disclaimer: bool,
}

impl OutputGuard {
    /// A guard for `audience` holding back at most `holdback_chars` characters.
    pub fn new(audience: Audience, holdback_chars: usize) -> Self {
        Self {
            filter: OutputFilter::new(audience, holdback_chars),
            audience,
            disclaimer: false,
        }
    }

    /// Feeds one model delta.
    pub fn push(&mut self, delta: &str) -> Step {
        match self.filter.push(delta) {
            FilterEvent::Emit(t) => Step::Emit(t),
            FilterEvent::Blocked { safe_text, .. } => Step::Blocked(safe_text),
        }
    }

    /// The model finished: the held-back rest, cautions, and the disclaimer (patients only;
    /// a fixed sentence from code, never from the prompt).
    pub fn finish(&mut self) -> String {
        let mut text = match self.filter.finish() {
            FilterEvent::Emit(t) => t,
            FilterEvent::Blocked { safe_text, .. } => safe_text,
        };
        if self.filter.is_blocked() {
            return text;
        }
        if let Some(d) = policy::disclaimer_for(self.audience) {
            text.push_str("\n\n");
            text.push_str(d);
            self.disclaimer = true;
        }
        text
    }

    /// Every output verdict so far (policy matches, then the disclaimer if it was added).
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut out: Vec<Verdict> = self
            .filter
            .verdicts()
            .iter()
            .map(|v| Verdict {
                stage: Stage::Output,
                class: v.class.as_str().to_string(),
                action: action_name(v.action).to_string(),
                evidence: vec![v.matched.clone()],
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
