//! Output policy for model text: sentence classification and a streaming filter.
//!
//! The model's answer is checked one sentence at a time before any of it reaches the
//! client. [`OutputFilter`] is a pure state machine (no I/O, no clock): each
//! [`OutputFilter::push`] takes a text delta from the model and returns a [`FilterEvent`]
//! with the text that may be sent now; [`OutputFilter::finish`] flushes the rest. Text is
//! held back until its sentence is complete (or until the hold-back bound forces a cut at
//! whitespace), so unsafe text is never emitted before it has been classified. For an
//! audience whose actions never change text (clinicians: allow or append a caution at the
//! end) nothing is held back: text goes out as it arrives and each sentence is still
//! classified when it ends, for the verdicts and the cautions.
//!
//! # Classes
//!
//! [`classify_sentence`] sorts a sentence into zero or more [`PolicyClass`]es with
//! case-insensitive patterns and a few context checks: negation ("do not stop taking your
//! medication"), refusals ("I can't tell you to..."), deferral to a clinician ("ask your
//! doctor whether..."), hedging ("you may have a cold"), conditions ("if you have asthma")
//! and safety-netting ("...unless it gets worse").
//!
//! # Action table
//!
//! | class | patient | clinician |
//! |---|---|---|
//! | `definitive_diagnosis` | rewrite: "It could be X, but only a clinician who examines you can make a diagnosis." | append caution |
//! | `dosing_instruction` | rewrite: follow the label, ask the pharmacist or prescriber | allow |
//! | `medication_change` | rewrite: do not start, stop or change without the prescriber or a pharmacist | allow |
//! | `discouraging_care` | block the rest of the answer | append caution |
//! | `false_certainty` | append caution | append caution |
//!
//! When one sentence falls into several classes the strictest action wins
//! (block > rewrite > append caution > allow); each rewrite template is sent at most once
//! per answer, and each caution is appended at most once, at [`OutputFilter::finish`].

use std::sync::LazyLock;

use crate::tables::{rules_file, Tables};
use regex::{Captures, Regex};
use serde::{Deserialize, Serialize};

/// Value of [`Verdict::stage`] for verdicts made by this module.
pub const STAGE: &str = "output";

/// A fixed, one-sentence disclaimer for answers to patients.
pub const DISCLAIMER: &str = "This is general information, not a diagnosis; if you are worried, \
contact a doctor, nurse or pharmacist, or call emergency services if it is urgent.";

/// What the filter sends instead of an answer that discouraged the patient from seeking care.
pub const BLOCK_MESSAGE: &str = "I can't give advice that might put you off getting care. If you \
are worried about your symptoms, please contact a doctor, nurse or pharmacist, and call your \
local emergency number if it feels urgent or is getting worse quickly.";

/// Replacement for a sentence that tells a patient how much of a medicine to take.
pub const DOSING_TEMPLATE: &str = "For the right dose, please follow the label or leaflet that \
came with the medicine, or ask your pharmacist or the clinician who prescribed it.";

/// Replacement for a sentence that tells a patient to start, stop or change a medicine.
pub const MEDICATION_CHANGE_TEMPLATE: &str = "Please don't start, stop or change a medicine \
without first talking to the clinician who prescribed it or a pharmacist.";

/// Replacement for a definitive diagnosis when the condition could not be extracted.
pub const DIAGNOSIS_FALLBACK: &str = "It could be one of several conditions, but only a clinician \
who examines you can make a diagnosis.";

/// Characters of a force-released segment kept as classification context for the next one.
const CARRY_CHARS: usize = 80;

/// Bytes of text before a match that the context checks look at.
const PRE_WINDOW_BYTES: usize = 80;

/// Who the answer is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// A patient or member of the public.
    Patient,
    /// A clinician (doctor, nurse, pharmacist...).
    Clinician,
}

/// A kind of risky statement in model output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyClass {
    /// States that the reader has a condition ("you have X", "this is definitely X", "you are
    /// suffering from X").
    DefinitiveDiagnosis,
    /// Gives an amount, unit or frequency of a medicine to take or give ("take 500 mg twice
    /// daily", "2 tablets every 4 hours").
    DosingInstruction,
    /// Tells the reader to start, stop, increase, decrease, double, skip or switch a medicine.
    MedicationChange,
    /// Discourages seeking care ("no need to see a doctor", "it's nothing to worry about",
    /// "don't bother calling").
    DiscouragingCare,
    /// Claims certainty no one can have ("definitely nothing serious", "100% safe",
    /// "guaranteed", "there is no chance").
    FalseCertainty,
}

impl PolicyClass {
    /// Every class, in declaration order.
    pub const ALL: [PolicyClass; 5] = [
        PolicyClass::DefinitiveDiagnosis,
        PolicyClass::DosingInstruction,
        PolicyClass::MedicationChange,
        PolicyClass::DiscouragingCare,
        PolicyClass::FalseCertainty,
    ];

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyClass::DefinitiveDiagnosis => "definitive_diagnosis",
            PolicyClass::DosingInstruction => "dosing_instruction",
            PolicyClass::MedicationChange => "medication_change",
            PolicyClass::DiscouragingCare => "discouraging_care",
            PolicyClass::FalseCertainty => "false_certainty",
        }
    }
}

/// What the filter does with a sentence of a given class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Stop the answer and send [`BLOCK_MESSAGE`] instead of the rest.
    Block,
    /// Replace the sentence with a safe template.
    Rewrite,
    /// Send the sentence and append a short caution at the end of the answer.
    AppendCaution,
    /// Send the sentence unchanged.
    Allow,
}

impl Action {
    fn severity(self) -> u8 {
        match self {
            Action::Block => 3,
            Action::Rewrite => 2,
            Action::AppendCaution => 1,
            Action::Allow => 0,
        }
    }
}

/// The action for a class and audience (see the table in the module docs).
pub fn action_for(class: PolicyClass, audience: Audience) -> Action {
    match (audience, class) {
        (Audience::Patient, PolicyClass::DiscouragingCare) => Action::Block,
        (Audience::Patient, PolicyClass::DosingInstruction) => Action::Rewrite,
        (Audience::Patient, PolicyClass::MedicationChange) => Action::Rewrite,
        (Audience::Patient, PolicyClass::DefinitiveDiagnosis) => Action::Rewrite,
        (Audience::Patient, PolicyClass::FalseCertainty) => Action::AppendCaution,
        (Audience::Clinician, PolicyClass::DosingInstruction) => Action::Allow,
        (Audience::Clinician, PolicyClass::MedicationChange) => Action::Allow,
        (Audience::Clinician, PolicyClass::DefinitiveDiagnosis) => Action::AppendCaution,
        (Audience::Clinician, PolicyClass::DiscouragingCare) => Action::AppendCaution,
        (Audience::Clinician, PolicyClass::FalseCertainty) => Action::AppendCaution,
    }
}

/// The disclaimer to show an audience: `Some(DISCLAIMER)` for patients, `None` for clinicians.
pub fn disclaimer_for(audience: Audience) -> Option<&'static str> {
    match audience {
        Audience::Patient => Some(DISCLAIMER),
        Audience::Clinician => None,
    }
}

/// The caution appended at the end of an answer that had a sentence of `class`.
pub fn caution_text(class: PolicyClass, audience: Audience) -> &'static str {
    match (audience, class) {
        (Audience::Patient, PolicyClass::FalseCertainty) => {
            "Please note: no one can be completely certain without examining you, so contact a \
             clinician if your symptoms change or you are worried."
        }
        (Audience::Patient, PolicyClass::DefinitiveDiagnosis) => {
            "Please note: only a clinician who examines you can make a diagnosis."
        }
        (Audience::Patient, PolicyClass::DiscouragingCare) => {
            "Please note: if you are worried or your symptoms get worse, contact a clinician."
        }
        (Audience::Patient, PolicyClass::DosingInstruction) => {
            "Please note: check doses against the label or with a pharmacist."
        }
        (Audience::Patient, PolicyClass::MedicationChange) => {
            "Please note: don't change a medicine without talking to the prescriber."
        }
        (Audience::Clinician, PolicyClass::DefinitiveDiagnosis) => {
            "Caution: diagnostic statements above are model-generated and unverified; confirm \
             them clinically."
        }
        (Audience::Clinician, PolicyClass::DiscouragingCare) => {
            "Caution: advice above against seeking care is model-generated; check it against \
             local triage guidance."
        }
        (Audience::Clinician, PolicyClass::FalseCertainty) => {
            "Caution: statements of certainty above are model-generated; weigh the residual \
             uncertainty."
        }
        (Audience::Clinician, PolicyClass::DosingInstruction) => {
            "Caution: verify doses against a current formulary."
        }
        (Audience::Clinician, PolicyClass::MedicationChange) => {
            "Caution: verify medication changes against current guidance."
        }
    }
}

/// One decision of the output policy, for logs and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Which guardrail stage made the decision; always [`STAGE`] (`"output"`) here.
    pub stage: &'static str,
    /// The class the text fell into.
    pub class: PolicyClass,
    /// The action taken for the filter's audience.
    pub action: Action,
    /// The text that matched the class's pattern.
    pub matched: String,
}

/// The result of feeding text to an [`OutputFilter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterEvent {
    /// Text that is safe to send now (may be empty while a sentence is held back).
    Emit(String),
    /// The answer was stopped. Send `safe_text` and end the stream.
    Blocked {
        /// Text to send instead of the rest of the answer: any text approved earlier in the
        /// same call (so nothing already approved is lost), the blocked sentence's leading
        /// whitespace, then [`BLOCK_MESSAGE`]. The text sent in total is therefore the same
        /// however the answer was split into deltas.
        safe_text: String,
        /// The verdicts for the sentence that caused the block.
        verdicts: Vec<Verdict>,
    },
}

/// A streaming filter that applies the output policy to a model's answer.
///
/// Text is held back until a sentence ends ('.', '!' or '?' followed by whitespace, or a
/// newline) or until more than `max_holdback_chars` characters are pending, in which case
/// the pending text is cut after its last whitespace, classified and released. Every
/// released piece is classified before it is sent, so the bound never lets unsafe text
/// through unclassified; a pattern split by a forced cut is still recognised in the next
/// piece (the tail of the previous piece is kept as context), but the words before the cut
/// have already been sent.
///
/// When no class's action changes text for the audience ([`Action::Allow`] or
/// [`Action::AppendCaution`] only: clinicians), text is sent as it arrives; sentences are
/// classified at the same points, for the verdicts and the cautions.
///
/// The outcome depends only on the text, not on how it was split into deltas.
#[derive(Debug, Clone)]
pub struct OutputFilter {
    audience: Audience,
    max_holdback_chars: usize,
    buf: String,
    carry: String,
    /// Whether some class's action changes text for this audience; if not, text is sent as
    /// it arrives (`released` bytes of `buf` are already out).
    alters_text: bool,
    released: usize,
    verdicts: Vec<Verdict>,
    cautions: Vec<PolicyClass>,
    templates_sent: Vec<String>,
    blocked: bool,
    finished: bool,
}

impl OutputFilter {
    /// A filter for `audience` that holds back at most `max_holdback_chars` characters
    /// (values below about 40 cut most sentences and weaken detection).
    pub fn new(audience: Audience, max_holdback_chars: usize) -> Self {
        OutputFilter {
            audience,
            max_holdback_chars,
            buf: String::new(),
            carry: String::new(),
            alters_text: PolicyClass::ALL
                .into_iter()
                .any(|c| matches!(action_for(c, audience), Action::Rewrite | Action::Block)),
            released: 0,
            verdicts: Vec::new(),
            cautions: Vec::new(),
            templates_sent: Vec::new(),
            blocked: false,
            finished: false,
        }
    }

    /// The audience this filter was built for.
    pub fn audience(&self) -> Audience {
        self.audience
    }

    /// Feed the next piece of model text. Returns the text that may be sent now, or
    /// [`FilterEvent::Blocked`]. After a block or after [`finish`](Self::finish) it returns
    /// an empty [`FilterEvent::Emit`].
    pub fn push(&mut self, delta: &str) -> FilterEvent {
        if self.blocked || self.finished {
            return FilterEvent::Emit(String::new());
        }
        self.buf.push_str(delta);
        let mut out = String::new();
        loop {
            let (end, forced) = if let Some(end) = sentence_end(&self.buf, self.max_holdback_chars)
            {
                (end, false)
            } else if self.buf.chars().count() > self.max_holdback_chars {
                (forced_cut(&self.buf, self.max_holdback_chars), true)
            } else {
                break;
            };
            let segment: String = self.buf.drain(..end).collect();
            let released = self.released.min(end);
            self.released -= released;
            if let Some(event) = self.process(&segment, forced, released, &mut out) {
                return event;
            }
        }
        if !self.alters_text {
            out.push_str(&self.buf[self.released..]);
            self.released = self.buf.len();
        }
        FilterEvent::Emit(out)
    }

    /// End of the answer: classify and release what is held back, then append the cautions
    /// collected along the way (each once, after a blank line).
    pub fn finish(&mut self) -> FilterEvent {
        if self.blocked || self.finished {
            return FilterEvent::Emit(String::new());
        }
        self.finished = true;
        let mut out = String::new();
        let rest = std::mem::take(&mut self.buf);
        let released = std::mem::take(&mut self.released);
        if !rest.is_empty() {
            if let Some(event) = self.process(&rest, false, released, &mut out) {
                return event;
            }
        }
        for class in &self.cautions {
            out.push_str("\n\n");
            out.push_str(caution_text(*class, self.audience));
        }
        FilterEvent::Emit(out)
    }

    /// Every verdict so far, in order.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// Whether the answer was blocked.
    pub fn is_blocked(&self) -> bool {
        self.blocked
    }

    /// How many characters are currently held back (never more than `max_holdback_chars`
    /// after a call returns).
    pub fn held_chars(&self) -> usize {
        self.buf[self.released..].chars().count()
    }

    /// Classify one segment (its first `released` bytes already sent, which happens only
    /// when no action changes text) and append what may be sent to `out`. Returns an event
    /// when the segment blocks the answer.
    fn process(
        &mut self,
        segment: &str,
        forced: bool,
        released: usize,
        out: &mut String,
    ) -> Option<FilterEvent> {
        let context_len = self.carry.len();
        let mut text = String::with_capacity(context_len + segment.len());
        text.push_str(&self.carry);
        text.push_str(segment);
        let hits = detect_after(&text, context_len);
        self.carry = if forced {
            tail_chars(&text, CARRY_CHARS).to_owned()
        } else {
            String::new()
        };

        let mut segment_verdicts: Vec<Verdict> = Vec::new();
        let mut replacements: Vec<String> = Vec::new();
        let mut worst = Action::Allow;
        for hit in &hits {
            if segment_verdicts.iter().any(|v| v.class == hit.class) {
                continue;
            }
            let action = action_for(hit.class, self.audience);
            if action.severity() > worst.severity() {
                worst = action;
            }
            match action {
                Action::Rewrite => {
                    replacements.push(rewrite_text(hit.class, hit.subject.as_deref()))
                }
                Action::AppendCaution => {
                    if !self.cautions.contains(&hit.class) {
                        self.cautions.push(hit.class);
                    }
                }
                Action::Block | Action::Allow => {}
            }
            segment_verdicts.push(Verdict {
                stage: STAGE,
                class: hit.class,
                action,
                matched: text[hit.start..hit.end].to_owned(),
            });
        }
        self.verdicts.extend(segment_verdicts.iter().cloned());

        match worst {
            Action::Block => {
                self.blocked = true;
                self.buf.clear();
                self.carry.clear();
                // Keep the blocked segment's leading whitespace so the text sent is the same
                // however the answer was split into deltas.
                let lead_len = segment.len() - segment.trim_start().len();
                let mut safe_text = std::mem::take(out);
                safe_text.push_str(&segment[..lead_len]);
                safe_text.push_str(BLOCK_MESSAGE);
                Some(FilterEvent::Blocked {
                    safe_text,
                    verdicts: segment_verdicts,
                })
            }
            Action::Rewrite => {
                let body = segment.trim();
                let (lead, trail) = if body.is_empty() {
                    (segment, "")
                } else {
                    let lead_len = segment.len() - segment.trim_start().len();
                    let trail_start = segment.trim_end().len();
                    (&segment[..lead_len], &segment[trail_start..])
                };
                let mut fresh: Vec<String> = Vec::new();
                for template in replacements {
                    if !self.templates_sent.contains(&template) && !fresh.contains(&template) {
                        fresh.push(template);
                    }
                }
                if !fresh.is_empty() {
                    out.push_str(lead);
                    out.push_str(&fresh.join(" "));
                    out.push_str(trail);
                    self.templates_sent.extend(fresh);
                }
                None
            }
            Action::AppendCaution | Action::Allow => {
                out.push_str(&segment[released..]);
                None
            }
        }
    }
}

/// The classes a sentence falls into, in [`PolicyClass::ALL`] order, without duplicates.
pub fn classify_sentence(sentence: &str) -> Vec<PolicyClass> {
    let hits = detect(sentence);
    PolicyClass::ALL
        .into_iter()
        .filter(|class| hits.iter().any(|h| h.class == *class))
        .collect()
}

/// The template that replaces a sentence of `class` for a patient.
fn rewrite_text(class: PolicyClass, subject: Option<&str>) -> String {
    match class {
        PolicyClass::DosingInstruction => DOSING_TEMPLATE.to_owned(),
        PolicyClass::MedicationChange => MEDICATION_CHANGE_TEMPLATE.to_owned(),
        PolicyClass::DefinitiveDiagnosis => match subject.and_then(clean_subject) {
            Some(x) => format!(
                "It could be {x}, but only a clinician who examines you can make a diagnosis."
            ),
            None => DIAGNOSIS_FALLBACK.to_owned(),
        },
        PolicyClass::DiscouragingCare => BLOCK_MESSAGE.to_owned(),
        PolicyClass::FalseCertainty => caution_text(class, Audience::Patient).to_owned(),
    }
}

/// Shorten an extracted condition to a short noun phrase, or `None` if nothing usable is left.
fn clean_subject(raw: &str) -> Option<String> {
    let mut s = raw.trim();
    let lower = s.to_ascii_lowercase();
    let mut cut = s.len();
    for stop in [
        " and ",
        " but ",
        " so ",
        " which ",
        " because ",
        " that ",
        " who ",
        " - ",
        " – ",
        " or ",
    ] {
        if let Some(i) = lower.find(stop) {
            cut = cut.min(i);
        }
    }
    s = s[..cut].trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
    let words = s.split_whitespace().count();
    if s.is_empty() || words > 8 {
        return None;
    }
    Some(s.to_owned())
}

// ---------------------------------------------------------------------------------------
// Sentence boundaries and the hold-back bound.

/// Byte offset just past the first complete sentence among the first
/// `max_chars + 1` characters of `buf`, if there is one.
fn sentence_end(buf: &str, max_chars: usize) -> Option<usize> {
    let visible = max_chars.saturating_add(1);
    let chars: Vec<(usize, char)> = buf.char_indices().take(visible).collect();
    let n = chars.len();
    let mut i = 0;
    while i < n {
        let (pos, c) = chars[i];
        if c == '\n' {
            return Some(pos + c.len_utf8());
        }
        if matches!(c, '.' | '!' | '?') {
            let mut j = i + 1;
            while j < n && is_closer(chars[j].1) {
                j += 1;
            }
            if j == n {
                // The character after the terminator has not arrived yet.
                return None;
            }
            let (next_pos, next) = chars[j];
            if next.is_whitespace() && !(c == '.' && ends_with_abbreviation(&buf[..pos])) {
                return Some(next_pos);
            }
        }
        i += 1;
    }
    None
}

/// Where to cut a buffer that holds more than `max_chars` characters: after the last
/// whitespace among its first `max_chars + 1` characters, or after those characters when
/// they hold no whitespace.
fn forced_cut(buf: &str, max_chars: usize) -> usize {
    let visible = max_chars.saturating_add(1);
    let mut last_ws_end: Option<usize> = None;
    let mut window_end = buf.len();
    for (count, (pos, c)) in buf.char_indices().enumerate() {
        if count == visible {
            window_end = pos;
            break;
        }
        if c.is_whitespace() {
            last_ws_end = Some(pos + c.len_utf8());
        }
    }
    last_ws_end.unwrap_or(window_end)
}

fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '’' | '”' | ')' | ']' | '*' | '_')
}

fn ends_with_abbreviation(before_dot: &str) -> bool {
    let word = before_dot
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .to_ascii_lowercase();
    matches!(
        word.as_str(),
        "e.g" | "i.e" | "dr" | "mr" | "mrs" | "ms" | "prof" | "vs" | "approx" | "cf" | "fig" | "st"
    )
}

/// The last `n` characters of `s` (all of `s` if shorter).
fn tail_chars(s: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    match s.char_indices().rev().nth(n - 1) {
        Some((i, _)) => &s[i..],
        None => s,
    }
}

// ---------------------------------------------------------------------------------------
// Patterns. Every pattern is compiled case-insensitively; `@NAME@` is replaced by the
// fragment of that name first.

/// The rule tables (`guardrails/rules/policy.rules`).
static TABLES: LazyLock<Tables> = LazyLock::new(|| rules_file!("policy"));

static FRAGMENTS: LazyLock<Vec<(&'static str, &'static str)>> =
    LazyLock::new(|| TABLES.pairs("fragments"));

/// How strictly a rule's match is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Only the class's own checks (negation, deferral, safety-netting...).
    Strict,
    /// Also rejected when hedged ("may", "sounds like") or conditional ("if", "do you"),
    /// unless the match carries an intensifier (`int` group: "definitely", "clearly"...).
    Hedged,
}

static RULES: LazyLock<Vec<(PolicyClass, Check, &'static str)>> = LazyLock::new(|| {
    TABLES
        .rows::<3>("rules")
        .into_iter()
        .map(|[class, check, pattern]| {
            let check = match check {
                "strict" => Check::Strict,
                "hedged" => Check::Hedged,
                other => panic!("guardrails/rules/policy.rules: @rules: unknown check {other:?}"),
            };
            (TABLES.named("rules", class), check, pattern)
        })
        .collect()
});

fn compile(pattern: &str) -> Regex {
    crate::pattern::compile(pattern, &FRAGMENTS)
}

struct Rule {
    class: PolicyClass,
    check: Check,
    re: Regex,
}

static COMPILED: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|(class, check, pattern)| Rule {
            class: *class,
            check: *check,
            re: compile(pattern),
        })
        .collect()
});

/// Negation just before a match (same clause).
static NEG: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("neg")));

/// A refusal or meta statement just before a match ("I can't tell you to...").
static META: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("meta")));

/// A condition, question or generalisation just before a hedged match.
static COND_PRE: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("cond_pre")));

/// Hedging anywhere in the sentence outside the match.
static HEDGE: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("hedge")));

/// Urgent-care advice in the sentence: a diagnosis next to it is not rewritten.
static URGENT: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("urgent")));

/// Words in an extracted condition that show it is not a diagnosis ("you have had...",
/// "you have a family history of...").
static DIAG_STOP: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("diag_stop")));

/// A word right after a condition showing it is part of something else ("flu shot").
static DIAG_NEXT: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("diag_next")));

/// Emergency first aid whose doses come from guidance and are not rewritten: reliever
/// inhalers, adrenaline auto-injectors, GTN, naloxone.
static DOSE_EMERGENCY: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("dose_emergency")));

/// Food given for a low blood sugar: not a medicine dose.
static DOSE_FOOD: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("dose_food")));

/// Deferral to a clinician before a medication change ("ask your doctor whether to stop").
static DEFER: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("defer")));

/// Safety-netting or another care route next to reassurance.
static SAFETY: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("safety")));

/// A detected match: class, byte range and (for diagnoses) the condition named.
#[derive(Debug, Clone)]
struct Hit {
    class: PolicyClass,
    start: usize,
    end: usize,
    subject: Option<String>,
}

/// All accepted matches in `text`, at most one per rule.
fn detect(text: &str) -> Vec<Hit> {
    detect_after(text, 0)
}

/// Like [`detect`], ignoring matches that end at or before byte `min_end` (text that was
/// only given as context).
fn detect_after(text: &str, min_end: usize) -> Vec<Hit> {
    let mut hits = Vec::new();
    for rule in COMPILED.iter() {
        for caps in rule.re.captures_iter(text) {
            let Some(m) = caps.get(0) else { continue };
            if m.end() <= min_end || m.as_str().trim().is_empty() {
                continue;
            }
            if accepts(rule, text, m.start(), m.end(), &caps) {
                hits.push(Hit {
                    class: rule.class,
                    start: m.start(),
                    end: m.end(),
                    subject: caps.name("x").map(|x| x.as_str().to_owned()),
                });
                break;
            }
        }
    }
    hits
}

/// The text before `start`, at most [`PRE_WINDOW_BYTES`], from the start of its clause.
fn pre_window(text: &str, start: usize) -> &str {
    let mut from = start.saturating_sub(PRE_WINDOW_BYTES);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let window = &text[from..start];
    let lower = window.to_ascii_lowercase();
    let mut cut = 0;
    for sep in [
        ",", ";", ":", "(", ")", "—", "–", " but ", " and ", " so ", " then ",
    ] {
        if let Some(i) = lower.rfind(sep) {
            cut = cut.max(i + sep.len());
        }
    }
    &window[cut..]
}

fn accepts(rule: &Rule, text: &str, start: usize, end: usize, caps: &Captures<'_>) -> bool {
    let pre = pre_window(text, start);
    if META.is_match(pre) {
        return false;
    }
    let outside = format!("{} {}", &text[..start], &text[end..]);
    let intensified = caps.name("int").is_some();
    if rule.check == Check::Hedged
        && !intensified
        && (COND_PRE.is_match(pre) || HEDGE.is_match(&outside))
    {
        return false;
    }
    match rule.class {
        PolicyClass::DefinitiveDiagnosis => {
            if NEG.is_match(pre) || URGENT.is_match(text) {
                return false;
            }
            if let Some(x) = caps.name("x") {
                if DIAG_STOP.is_match(x.as_str()) || DIAG_NEXT.is_match(&text[x.end()..]) {
                    return false;
                }
            }
            true
        }
        PolicyClass::DosingInstruction => {
            let mut food_end = (end + 40).min(text.len());
            while !text.is_char_boundary(food_end) {
                food_end -= 1;
            }
            !(DOSE_EMERGENCY.is_match(text) || DOSE_FOOD.is_match(&text[start..food_end]))
        }
        PolicyClass::MedicationChange => !(NEG.is_match(pre) || DEFER.is_match(pre)),
        PolicyClass::DiscouragingCare => !(NEG.is_match(pre) || SAFETY.is_match(&outside)),
        PolicyClass::FalseCertainty => !NEG.is_match(pre),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_table_loads_and_compiles() {
        // `guardrails/rules/policy.rules`: a malformed line or pattern panics here.
        LazyLock::force(&COMPILED);
        LazyLock::force(&NEG);
        LazyLock::force(&META);
        LazyLock::force(&COND_PRE);
        LazyLock::force(&HEDGE);
        LazyLock::force(&URGENT);
        LazyLock::force(&DIAG_STOP);
        LazyLock::force(&DIAG_NEXT);
        LazyLock::force(&DOSE_EMERGENCY);
        LazyLock::force(&DOSE_FOOD);
        LazyLock::force(&DEFER);
        LazyLock::force(&SAFETY);
    }

    fn classes(s: &str) -> Vec<PolicyClass> {
        classify_sentence(s)
    }

    fn has(s: &str, class: PolicyClass) -> bool {
        classes(s).contains(&class)
    }

    /// Push `deltas` then finish; returns (all text sent, blocked, verdicts).
    fn run(audience: Audience, max: usize, deltas: &[&str]) -> (String, bool, Vec<Verdict>) {
        let mut filter = OutputFilter::new(audience, max);
        let mut sent = String::new();
        let mut blocked = false;
        for d in deltas {
            match filter.push(d) {
                FilterEvent::Emit(s) => sent.push_str(&s),
                FilterEvent::Blocked { safe_text, .. } => {
                    sent.push_str(&safe_text);
                    blocked = true;
                }
            }
            assert!(filter.held_chars() <= max, "hold-back bound exceeded");
        }
        match filter.finish() {
            FilterEvent::Emit(s) => sent.push_str(&s),
            FilterEvent::Blocked { safe_text, .. } => {
                sent.push_str(&safe_text);
                blocked = true;
            }
        }
        (sent, blocked, filter.verdicts().to_vec())
    }

    fn chars_of(s: &str) -> Vec<String> {
        s.chars().map(String::from).collect()
    }

    #[test]
    fn action_table() {
        use Action::*;
        use PolicyClass::*;
        let p = Audience::Patient;
        let c = Audience::Clinician;
        assert_eq!(action_for(DiscouragingCare, p), Block);
        assert_eq!(action_for(DosingInstruction, p), Rewrite);
        assert_eq!(action_for(MedicationChange, p), Rewrite);
        assert_eq!(action_for(DefinitiveDiagnosis, p), Rewrite);
        assert_eq!(action_for(FalseCertainty, p), AppendCaution);
        assert_eq!(action_for(DosingInstruction, c), Allow);
        assert_eq!(action_for(MedicationChange, c), Allow);
        assert_eq!(action_for(DefinitiveDiagnosis, c), AppendCaution);
        assert_eq!(action_for(DiscouragingCare, c), AppendCaution);
        assert_eq!(action_for(FalseCertainty, c), AppendCaution);
    }

    #[test]
    fn disclaimer_only_for_patients() {
        assert_eq!(disclaimer_for(Audience::Patient), Some(DISCLAIMER));
        assert_eq!(disclaimer_for(Audience::Clinician), None);
        assert!(DISCLAIMER.contains("not a diagnosis"));
    }

    #[test]
    fn serde_names_are_snake_case() {
        let v = Verdict {
            stage: STAGE,
            class: PolicyClass::DosingInstruction,
            action: Action::AppendCaution,
            matched: "x".into(),
        };
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.contains("\"stage\":\"output\""), "{json}");
        assert!(json.contains("\"class\":\"dosing_instruction\""), "{json}");
        assert!(json.contains("\"action\":\"append_caution\""), "{json}");
        let a: Audience = serde_json::from_str("\"clinician\"").unwrap();
        assert_eq!(a, Audience::Clinician);
        for class in PolicyClass::ALL {
            let json = serde_json::to_string(&class).unwrap();
            assert_eq!(json, format!("\"{}\"", class.as_str()));
        }
    }

    #[test]
    fn definitive_diagnosis_positive() {
        for s in [
            "You have strep throat.",
            "You've got a urinary tract infection.",
            "This is definitely shingles.",
            "It's clearly a migraine.",
            "You are suffering from anxiety.",
            "You definitely have the flu.",
        ] {
            assert!(has(s, PolicyClass::DefinitiveDiagnosis), "{s}");
        }
    }

    #[test]
    fn definitive_diagnosis_negative() {
        for s in [
            "You may have a cold, but only a doctor can say.",
            "This is not a diagnosis.",
            "If you have asthma, keep your inhaler with you.",
            "Do you have diabetes?",
            "It sounds like you have a migraine.",
            "You have had a stroke before, so your risk is higher.",
            "You have a family history of heart disease.",
            "Green mucus does not by itself mean you have a bacterial infection.",
            "You got a flu shot last year.",
            "This is definitely not cancer.",
            "I can't tell you that you have diabetes.",
        ] {
            assert!(!has(s, PolicyClass::DefinitiveDiagnosis), "{s}");
        }
    }

    #[test]
    fn dosing_positive() {
        for s in [
            "Take 500 mg twice daily.",
            "Give 5 ml every 4 hours.",
            "Take 2 tablets with water.",
            "Use two puffs of your inhaler every 4 to 6 hours.",
            "The usual dose of paracetamol is 1 g.",
            "Do not take more than 8 tablets in 24 hours.",
            "Take it twice a day.",
        ] {
            assert!(has(s, PolicyClass::DosingInstruction), "{s}");
        }
    }

    #[test]
    fn dosing_negative() {
        for s in [
            "Paracetamol can ease fever and aches; follow the label.",
            "Tablets contain 500 mg of paracetamol.",
            "Most sore throats get better in about 7 days.",
            "Call 999 if symptoms last more than 2 hours.",
            "I can't recommend a dose of 500 mg for you.",
        ] {
            assert!(!has(s, PolicyClass::DosingInstruction), "{s}");
        }
    }

    #[test]
    fn medication_change_positive() {
        for s in [
            "Stop taking your blood pressure tablets.",
            "You should start taking ibuprofen.",
            "Double your dose tonight.",
            "Increase your insulin by two units.",
            "Switch to naproxen instead.",
            "You should stop your antidepressants.",
            "Skip your evening dose.",
        ] {
            assert!(has(s, PolicyClass::MedicationChange), "{s}");
        }
    }

    #[test]
    fn medication_change_negative() {
        for s in [
            "I can't tell you to stop your medication.",
            "Do not stop taking your medication without talking to your doctor.",
            "Never double your dose if you miss one.",
            "Ask your doctor whether you should stop your medication.",
            "Talk to your pharmacist before you stop taking it.",
            "Your doctor may increase your dose.",
            "See a doctor if it gets worse.",
        ] {
            assert!(!has(s, PolicyClass::MedicationChange), "{s}");
        }
    }

    #[test]
    fn discouraging_care_positive() {
        for s in [
            "There is no need to see a doctor.",
            "You don't need to go to hospital.",
            "It's nothing to worry about.",
            "Don't bother calling your GP.",
            "You would be wasting the doctor's time.",
            "You can skip your follow-up appointment.",
        ] {
            assert!(has(s, PolicyClass::DiscouragingCare), "{s}");
        }
    }

    #[test]
    fn discouraging_care_negative() {
        for s in [
            "See a doctor if it gets worse.",
            "You don't need to go to A&E; call 111 or see your GP instead.",
            "There's no need to see a doctor unless the pain gets worse.",
            "It is nothing to worry about if it settles within a few days.",
            "Please see a doctor today.",
            "I wouldn't say it's nothing to worry about.",
        ] {
            assert!(!has(s, PolicyClass::DiscouragingCare), "{s}");
        }
    }

    #[test]
    fn false_certainty_positive() {
        for s in [
            "It is definitely nothing serious.",
            "This medicine is 100% safe.",
            "This treatment is guaranteed to work.",
            "There is no chance this is cancer.",
            "It's completely safe in pregnancy.",
            "It's nothing serious.",
        ] {
            assert!(has(s, PolicyClass::FalseCertainty), "{s}");
        }
    }

    #[test]
    fn false_certainty_negative() {
        for s in [
            "No medicine is 100% safe.",
            "I can't guarantee that it will help.",
            "There is no guarantee it will work.",
            "It's probably nothing serious, but see a GP if it lasts.",
            "The risk is small but real.",
        ] {
            assert!(!has(s, PolicyClass::FalseCertainty), "{s}");
        }
    }

    #[test]
    fn safe_text_is_unchanged() {
        let text = "Colds usually get better on their own. Rest and drink fluids.\n\
                    See a doctor if it gets worse.";
        let (sent, blocked, verdicts) = run(Audience::Patient, 200, &[text]);
        assert!(!blocked);
        assert!(verdicts.is_empty(), "{verdicts:?}");
        assert_eq!(sent, text);
    }

    #[test]
    fn rewrite_dosing_for_patients_allow_for_clinicians() {
        let text = "Rest well. Take 500 mg twice daily. Drink fluids.";
        let (sent, _, verdicts) = run(Audience::Patient, 200, &[text]);
        assert!(!sent.contains("500"), "{sent}");
        assert!(sent.contains(DOSING_TEMPLATE), "{sent}");
        assert!(sent.starts_with("Rest well. "), "{sent}");
        assert!(sent.ends_with(" Drink fluids."), "{sent}");
        assert_eq!(verdicts.len(), 1);
        assert_eq!(verdicts[0].stage, "output");
        assert_eq!(verdicts[0].class, PolicyClass::DosingInstruction);
        assert_eq!(verdicts[0].action, Action::Rewrite);

        let (sent, _, verdicts) = run(Audience::Clinician, 200, &[text]);
        assert_eq!(sent, text);
        assert_eq!(verdicts[0].action, Action::Allow);
    }

    #[test]
    fn rewrite_diagnosis_names_the_condition() {
        let (sent, _, _) = run(Audience::Patient, 200, &["You have strep throat. Rest."]);
        assert!(
            sent.starts_with(
                "It could be strep throat, but only a clinician who examines you can make a diagnosis."
            ),
            "{sent}"
        );
        assert!(!sent.contains("You have"), "{sent}");
    }

    #[test]
    fn template_sent_once() {
        let text = "Take 2 tablets now. Then take 1 tablet every 4 hours. Rest.";
        let (sent, _, verdicts) = run(Audience::Patient, 200, &[text]);
        assert_eq!(sent.matches(DOSING_TEMPLATE).count(), 1, "{sent}");
        assert_eq!(verdicts.len(), 2);
    }

    #[test]
    fn caution_appended_at_finish() {
        let text = "It is definitely nothing serious. Rest.";
        let mut filter = OutputFilter::new(Audience::Patient, 200);
        let FilterEvent::Emit(first) = filter.push(text) else {
            panic!("unexpected block")
        };
        assert_eq!(first, "It is definitely nothing serious.");
        let FilterEvent::Emit(last) = filter.finish() else {
            panic!("unexpected block")
        };
        assert!(last.starts_with(" Rest.\n\n"), "{last}");
        assert!(
            last.ends_with(caution_text(PolicyClass::FalseCertainty, Audience::Patient)),
            "{last}"
        );
    }

    #[test]
    fn block_stops_the_stream() {
        let mut filter = OutputFilter::new(Audience::Patient, 200);
        let event = filter.push("Colds are common. There is no need to see a doctor. More text.");
        match event {
            FilterEvent::Blocked {
                safe_text,
                verdicts,
            } => {
                assert_eq!(safe_text, format!("Colds are common. {BLOCK_MESSAGE}"));
                assert_eq!(verdicts.len(), 1);
                assert_eq!(verdicts[0].class, PolicyClass::DiscouragingCare);
                assert_eq!(verdicts[0].action, Action::Block);
            }
            other => panic!("expected a block, got {other:?}"),
        }
        assert!(filter.is_blocked());
        assert_eq!(
            filter.push("Anything else."),
            FilterEvent::Emit(String::new())
        );
        assert_eq!(filter.finish(), FilterEvent::Emit(String::new()));
    }

    #[test]
    fn clinician_discouraging_care_is_cautioned_not_blocked() {
        let text = "There is no need to see a doctor.";
        let (sent, blocked, _) = run(Audience::Clinician, 200, &[text]);
        assert!(!blocked);
        assert!(sent.starts_with(text));
        assert!(sent.ends_with(caution_text(
            PolicyClass::DiscouragingCare,
            Audience::Clinician
        )));
    }

    #[test]
    fn clinician_text_goes_out_as_it_arrives_and_is_still_classified() {
        let text = "There is no need to see a doctor. Take 500 mg twice daily";
        let mut filter = OutputFilter::new(Audience::Clinician, 300);
        let mut sent = String::new();
        for piece in chars_of(text) {
            let FilterEvent::Emit(s) = filter.push(&piece) else {
                panic!("unexpected block")
            };
            // Nothing is held back: every character is out as soon as it arrives.
            assert_eq!(s, piece);
            sent.push_str(&s);
            assert_eq!(filter.held_chars(), 0);
        }
        let FilterEvent::Emit(rest) = filter.finish() else {
            panic!("unexpected block")
        };
        assert_eq!(sent, text);
        assert_eq!(
            rest,
            format!(
                "\n\n{}",
                caution_text(PolicyClass::DiscouragingCare, Audience::Clinician)
            )
        );
        let classes: Vec<_> = filter.verdicts().iter().map(|v| v.class).collect();
        assert_eq!(
            classes,
            [
                PolicyClass::DiscouragingCare,
                PolicyClass::DosingInstruction
            ]
        );
        // The same text for a patient is held, then blocked.
        let mut filter = OutputFilter::new(Audience::Patient, 300);
        assert_eq!(
            filter.push("There is no need"),
            FilterEvent::Emit(String::new())
        );
    }

    #[test]
    fn unsafe_sentence_split_into_tiny_deltas_never_leaks() {
        let unsafe_sentence = "Stop taking your blood pressure tablets today.";
        let text = format!("Thanks for asking. {unsafe_sentence} Rest and drink water.");
        let mut filter = OutputFilter::new(Audience::Patient, 200);
        let mut sent = String::new();
        for piece in chars_of(&text) {
            match filter.push(&piece) {
                FilterEvent::Emit(s) => sent.push_str(&s),
                FilterEvent::Blocked { .. } => panic!("unexpected block"),
            }
            for word in ["Stop", "taking", "pressure", "tablets"] {
                assert!(!sent.contains(word), "leaked {word:?}: {sent:?}");
            }
        }
        if let FilterEvent::Emit(s) = filter.finish() {
            sent.push_str(&s);
        }
        assert!(sent.starts_with("Thanks for asking. "), "{sent}");
        assert!(sent.contains(MEDICATION_CHANGE_TEMPLATE), "{sent}");
        assert!(!sent.contains("Stop taking"), "{sent}");
        assert!(sent.ends_with("Rest and drink water."), "{sent}");
    }

    #[test]
    fn blocked_sentence_split_into_tiny_deltas_never_leaks() {
        let text = "Good question. It's nothing to worry about at all. Bye.";
        let (sent, blocked, _) = run(
            Audience::Patient,
            200,
            &chars_of(text)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(blocked);
        assert!(!sent.contains("worry"), "{sent}");
        assert_eq!(sent, format!("Good question. {BLOCK_MESSAGE}"));
    }

    #[test]
    fn holdback_is_bounded() {
        let long = "word ".repeat(100);
        let max = 30;
        let mut filter = OutputFilter::new(Audience::Patient, max);
        let mut sent = String::new();
        for piece in chars_of(&long) {
            if let FilterEvent::Emit(s) = filter.push(&piece) {
                sent.push_str(&s);
            }
            assert!(filter.held_chars() <= max);
        }
        // Released at whitespace: never a partial word.
        assert!(sent.len() >= long.len() - max - 1, "{}", sent.len());
        assert!(sent.is_empty() || sent.ends_with(' '));
        if let FilterEvent::Emit(s) = filter.finish() {
            sent.push_str(&s);
        }
        assert_eq!(sent, long);

        // One big push obeys the same bound.
        let mut filter = OutputFilter::new(Audience::Patient, max);
        let _ = filter.push(&long);
        assert!(filter.held_chars() <= max);

        // A single huge token is released too.
        let mut filter = OutputFilter::new(Audience::Patient, 10);
        let _ = filter.push(&"x".repeat(50));
        assert!(filter.held_chars() <= 10);
    }

    #[test]
    fn forced_segments_are_still_classified() {
        // A run-on sentence longer than the bound with a dosing instruction in it.
        let text = format!(
            "{}take 2 tablets every 4 hours and {}",
            "and so on ".repeat(6),
            "rest ".repeat(8)
        );
        let (sent, _, verdicts) = run(
            Audience::Patient,
            40,
            &chars_of(&text)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(!sent.contains("2 tablets"), "{sent}");
        assert!(verdicts
            .iter()
            .any(|v| v.class == PolicyClass::DosingInstruction));
    }

    #[test]
    fn same_outcome_for_one_push_and_char_by_char() {
        let texts = [
            "Hello. You have strep throat. Take 500 mg twice daily. It is definitely nothing serious.\nRest. e.g. fluids help. Dose: 2.5 ml.",
            "Thanks. Stop taking your pills. There is no need to see a doctor. More.",
            "A very long run-on sentence without any full stop that keeps going and going and you should start taking ibuprofen now and then more words follow",
            "Short",
            "",
        ];
        for max in [20, 64, 400] {
            for audience in [Audience::Patient, Audience::Clinician] {
                for text in texts {
                    let whole = run(audience, max, &[text]);
                    let pieces = chars_of(text);
                    let by_char = run(
                        audience,
                        max,
                        &pieces.iter().map(String::as_str).collect::<Vec<_>>(),
                    );
                    assert_eq!(
                        whole, by_char,
                        "max={max} audience={audience:?} text={text:?}"
                    );
                    let mut chunks: Vec<&str> = Vec::new();
                    let mut rest = text;
                    while !rest.is_empty() {
                        let mut k = rest.len().min(7);
                        while !rest.is_char_boundary(k) {
                            k += 1;
                        }
                        chunks.push(&rest[..k]);
                        rest = &rest[k..];
                    }
                    assert_eq!(whole, run(audience, max, &chunks), "chunks of 7, max={max}");
                }
            }
        }
    }

    #[test]
    fn sentence_boundaries() {
        assert_eq!(sentence_end("One. Two", 100), Some(4));
        assert_eq!(sentence_end("One.", 100), None);
        assert_eq!(sentence_end("Take 2.5 ml", 100), None);
        assert_eq!(sentence_end("e.g. this", 100), None);
        assert_eq!(sentence_end("Line\nNext", 100), Some(5));
        assert_eq!(sentence_end("Really?\" Yes", 100), Some(8));
        assert_eq!(forced_cut("aaa bbb ccc", 5), 4);
        assert_eq!(forced_cut("aaaaaaaaaa", 5), 6);
    }

    #[test]
    fn multibyte_text_is_safe() {
        let text = "Ça va… “You have asthma.” Très bien — 2 µg. Ünïcödé ✓ words ".repeat(3);
        let pieces = chars_of(&text);
        for max in [5, 17, 300] {
            let whole = run(Audience::Patient, max, &[text.as_str()]);
            let by_char = run(
                Audience::Patient,
                max,
                &pieces.iter().map(String::as_str).collect::<Vec<_>>(),
            );
            assert_eq!(whole, by_char);
        }
    }
}
