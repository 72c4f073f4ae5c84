//! Deterministic emergency red-flag detection for messages written by patients and caregivers.
//!
//! The detector is rule based and favours recall: a message that might describe an
//! emergency happening now should be flagged so the server can show urgent-care advice
//! before anything else. It never calls a model and always gives the same answer for the
//! same input.
//!
//! Pipeline:
//!
//! 1. **Tokenise and normalise.** Words are lower-cased, apostrophes dropped, possessive
//!    `'s` removed, contractions expanded (`cant` → `can not`, `im` → `i am`) and common
//!    misspellings mapped to one spelling (`chesst` → `chest`, `hart` → `heart`,
//!    `breathe`/`breth` → `breath`, `siezure` → `seizure`). Every word keeps the byte
//!    offsets of the original text so matches can be reported against the input.
//! 2. **Split** into sentences (`. ! ? ;` and line breaks) and clauses (`,`, dashes,
//!    `but`/`however`/`although`/`though`/`whereas`, and `and now`).
//! 3. **Cue patterns** (regexes over the normalised clause) produce signals. Some signals
//!    map straight to a [`Category`]; others are components that only count in
//!    combination (for example arm or jaw pain together with sweating or nausea).
//! 4. **Filters** drop a cue when it overlaps an idiom or a harmless phrase ("blood test",
//!    "chest of drawers"), sits in an information-seeking sentence, is negated within a
//!    few words before it in the same clause, or is described as history without a
//!    nearer recency cue.
//! 5. **Numeric rules** read infant ages, temperatures and oxygen saturations.
//! 6. **Combination rules** turn component signals into categories.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use crate::tables::{rules_file, Tables};
use serde::{Deserialize, Serialize};

/// Emergency category raised by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Possible heart attack or cardiac arrest.
    Cardiac,
    /// Possible stroke, TIA or bleed in the brain.
    Stroke,
    /// Difficulty breathing, choking, blue lips, not breathing.
    RespiratoryDistress,
    /// Possible sepsis: infection or fever together with signs of organ dysfunction.
    Sepsis,
    /// Possible anaphylaxis.
    Anaphylaxis,
    /// Possible meningitis or meningococcal disease.
    Meningitis,
    /// Suicidal thoughts, intent or self-harm.
    SelfHarm,
    /// Bleeding that is heavy, uncontrolled, or blood in vomit.
    SevereBleeding,
    /// Seizure, collapse, fainting or loss of consciousness.
    SeizureCollapse,
    /// Poisoning, overdose or a child swallowing something dangerous.
    PoisoningOverdose,
    /// Serious injury: road traffic collisions, falls from height, stabbing, severe burns.
    MajorTrauma,
    /// Emergency in pregnancy or shortly after birth.
    Obstetric,
    /// Danger signs in a baby or young child, including fever under 3 months.
    PaediatricDanger,
}

impl Category {
    /// All categories in declaration order.
    pub const ALL: [Category; 13] = [
        Category::Cardiac,
        Category::Stroke,
        Category::RespiratoryDistress,
        Category::Sepsis,
        Category::Anaphylaxis,
        Category::Meningitis,
        Category::SelfHarm,
        Category::SevereBleeding,
        Category::SeizureCollapse,
        Category::PoisoningOverdose,
        Category::MajorTrauma,
        Category::Obstetric,
        Category::PaediatricDanger,
    ];

    /// The snake_case name, identical to the serde representation.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Cardiac => "cardiac",
            Category::Stroke => "stroke",
            Category::RespiratoryDistress => "respiratory_distress",
            Category::Sepsis => "sepsis",
            Category::Anaphylaxis => "anaphylaxis",
            Category::Meningitis => "meningitis",
            Category::SelfHarm => "self_harm",
            Category::SevereBleeding => "severe_bleeding",
            Category::SeizureCollapse => "seizure_collapse",
            Category::PoisoningOverdose => "poisoning_overdose",
            Category::MajorTrauma => "major_trauma",
            Category::Obstetric => "obstetric",
            Category::PaediatricDanger => "paediatric_danger",
        }
    }

    /// Looks a category up by its snake_case name.
    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.iter().copied().find(|c| c.as_str() == name)
    }
}

/// One piece of evidence behind a detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Category this evidence supports.
    pub category: Category,
    /// The matched span, copied from the original text.
    pub phrase: String,
    /// Byte offset of the span start in the original text.
    pub start: usize,
    /// Byte offset one past the span end in the original text.
    pub end: usize,
}

/// Result of [`detect`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detection {
    /// Categories raised, without duplicates, in declaration order.
    pub categories: Vec<Category>,
    /// Evidence spans, sorted by position.
    pub matched: Vec<Match>,
    /// Cues the filters dropped, by reason: what the rules know that a sentence embedding
    /// does not (the learned head reads these as features).
    #[serde(default)]
    pub filtered: Filtered,
}

/// Counts of cue matches dropped by each filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filtered {
    /// Cues that kept none of the filters: accepted signals.
    pub accepted: usize,
    /// Inside a harmless phrase or idiom ("blood test", "killing me").
    pub harmless: usize,
    /// In an information-seeking sentence or after a topic word.
    pub info: usize,
    /// Negated within a few words.
    pub negated: usize,
    /// Described as history without a nearer recency cue.
    pub historical: usize,
}

impl Filtered {
    /// Number of features [`Filtered::features`] gives.
    pub const FEATURES: usize = 6;

    /// Features for a learned head, with whether the rules raised an emergency: each a
    /// 0/1 indicator.
    pub fn features(&self, raised: bool) -> [f32; Self::FEATURES] {
        let b = |n: usize| if n > 0 { 1.0 } else { 0.0 };
        [
            if raised { 1.0 } else { 0.0 },
            b(self.accepted),
            b(self.harmless),
            b(self.info),
            b(self.negated),
            b(self.historical),
        ]
    }
}

impl Detection {
    /// True when at least one emergency category was raised.
    pub fn is_emergency(&self) -> bool {
        !self.categories.is_empty()
    }
}

/// Runs the red-flag detector over one message.
pub fn detect(text: &str) -> Detection {
    let pieces = tokenize(text);
    let clauses = build_clauses(&pieces);
    let sentences = sentence_contexts(&clauses);
    let mut hits: Vec<Hit> = Vec::new();
    let mut filtered = Filtered::default();
    let mut prev_open = false;
    for (idx, clause) in clauses.iter().enumerate() {
        let same_sentence = idx > 0 && clauses[idx - 1].sentence == clause.sentence;
        let inherit = same_sentence && prev_open && inherits_negation(&clause.text);
        let ctx = &sentences[clause.sentence];
        prev_open = scan_clause(clause, inherit, ctx, &mut hits, &mut filtered);
    }
    numeric_signals(&clauses, &sentences, &mut hits);
    let matched = apply_rules(text, &hits);
    let categories: Vec<Category> = matched
        .iter()
        .map(|m| m.category)
        .collect::<BTreeSet<Category>>()
        .into_iter()
        .collect();
    Detection {
        categories,
        matched,
        filtered,
    }
}

// ---------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------

/// Internal signal produced by a cue pattern or a numeric rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sig {
    // Cardiac
    ChestPain,
    HeartAttack,
    ArmJawPain,
    Sweating,
    Nausea,
    Indigestion,
    // Stroke
    FaceDroop,
    SpeechProblem,
    OneSideWeak,
    StrokeWord,
    SuddenVision,
    Thunderclap,
    Headache,
    SuddenOnset,
    // Breathing
    Breathless,
    NotBreathing,
    Choking,
    AsthmaSevere,
    Drowning,
    Wheeze,
    LowSats,
    // Sepsis
    SepsisWord,
    Mottled,
    Fever,
    Infection,
    Rigors,
    Dying,
    Confusion,
    NoUrine,
    // Anaphylaxis
    AnaphWord,
    AirwaySwelling,
    FaceSwelling,
    Hives,
    Allergen,
    EpiPen,
    // Meningitis
    MeningWord,
    NonBlanchRash,
    StiffNeck,
    Photophobia,
    Rash,
    // Self-harm
    SelfHarm,
    HarmBaby,
    // Bleeding
    HeavyBleeding,
    BleedingAny,
    Soaking,
    VomitBlood,
    // Seizure / collapse
    Seizure,
    Collapse,
    Unrousable,
    Drowsy,
    // Poisoning
    Overdose,
    ToxicIngestion,
    ChildIngestion,
    PillIntake,
    // Trauma
    TraumaEvent,
    HeadHit,
    // Obstetric
    Pregnant,
    Postpartum,
    BabyNotMoving,
    FetalMovement,
    WatersBroken,
    FluidLeak,
    AbdoPain,
    SeverePain,
    Vision,
    // Paediatric
    BabyWord,
    Newborn,
    ChildContext,
    PaedsDanger,
    // Numeric
    TempFever,
    TempHigh,
    TempNormal,
    AgeUnder3m,
    Age3to6m,
    AgeOlder,
}

impl Sig {
    /// The signal named in the rules file (the variant in snake case).
    fn from_name(name: &str) -> Sig {
        match name {
            "chest_pain" => Sig::ChestPain,
            "heart_attack" => Sig::HeartAttack,
            "arm_jaw_pain" => Sig::ArmJawPain,
            "sweating" => Sig::Sweating,
            "nausea" => Sig::Nausea,
            "indigestion" => Sig::Indigestion,
            "face_droop" => Sig::FaceDroop,
            "speech_problem" => Sig::SpeechProblem,
            "one_side_weak" => Sig::OneSideWeak,
            "stroke_word" => Sig::StrokeWord,
            "sudden_vision" => Sig::SuddenVision,
            "thunderclap" => Sig::Thunderclap,
            "headache" => Sig::Headache,
            "sudden_onset" => Sig::SuddenOnset,
            "breathless" => Sig::Breathless,
            "not_breathing" => Sig::NotBreathing,
            "choking" => Sig::Choking,
            "asthma_severe" => Sig::AsthmaSevere,
            "drowning" => Sig::Drowning,
            "wheeze" => Sig::Wheeze,
            "low_sats" => Sig::LowSats,
            "sepsis_word" => Sig::SepsisWord,
            "mottled" => Sig::Mottled,
            "fever" => Sig::Fever,
            "infection" => Sig::Infection,
            "rigors" => Sig::Rigors,
            "dying" => Sig::Dying,
            "confusion" => Sig::Confusion,
            "no_urine" => Sig::NoUrine,
            "anaph_word" => Sig::AnaphWord,
            "airway_swelling" => Sig::AirwaySwelling,
            "face_swelling" => Sig::FaceSwelling,
            "hives" => Sig::Hives,
            "allergen" => Sig::Allergen,
            "epi_pen" => Sig::EpiPen,
            "mening_word" => Sig::MeningWord,
            "non_blanch_rash" => Sig::NonBlanchRash,
            "stiff_neck" => Sig::StiffNeck,
            "photophobia" => Sig::Photophobia,
            "rash" => Sig::Rash,
            "self_harm" => Sig::SelfHarm,
            "harm_baby" => Sig::HarmBaby,
            "heavy_bleeding" => Sig::HeavyBleeding,
            "bleeding_any" => Sig::BleedingAny,
            "soaking" => Sig::Soaking,
            "vomit_blood" => Sig::VomitBlood,
            "seizure" => Sig::Seizure,
            "collapse" => Sig::Collapse,
            "unrousable" => Sig::Unrousable,
            "drowsy" => Sig::Drowsy,
            "overdose" => Sig::Overdose,
            "toxic_ingestion" => Sig::ToxicIngestion,
            "child_ingestion" => Sig::ChildIngestion,
            "pill_intake" => Sig::PillIntake,
            "trauma_event" => Sig::TraumaEvent,
            "head_hit" => Sig::HeadHit,
            "pregnant" => Sig::Pregnant,
            "postpartum" => Sig::Postpartum,
            "baby_not_moving" => Sig::BabyNotMoving,
            "fetal_movement" => Sig::FetalMovement,
            "waters_broken" => Sig::WatersBroken,
            "fluid_leak" => Sig::FluidLeak,
            "abdo_pain" => Sig::AbdoPain,
            "severe_pain" => Sig::SeverePain,
            "vision" => Sig::Vision,
            "baby_word" => Sig::BabyWord,
            "newborn" => Sig::Newborn,
            "child_context" => Sig::ChildContext,
            "paeds_danger" => Sig::PaedsDanger,
            "temp_fever" => Sig::TempFever,
            "temp_high" => Sig::TempHigh,
            "temp_normal" => Sig::TempNormal,
            "age_under3m" => Sig::AgeUnder3m,
            "age3to6m" => Sig::Age3to6m,
            "age_older" => Sig::AgeOlder,
            other => panic!("guardrails/rules/red_flags.rules: unknown signal {other:?}"),
        }
    }
}

impl Sig {
    /// Category raised by this signal on its own, if any.
    fn direct(self) -> Option<Category> {
        use Category as C;
        match self {
            Sig::ChestPain | Sig::HeartAttack => Some(C::Cardiac),
            Sig::FaceDroop
            | Sig::SpeechProblem
            | Sig::OneSideWeak
            | Sig::StrokeWord
            | Sig::SuddenVision
            | Sig::Thunderclap => Some(C::Stroke),
            Sig::Breathless
            | Sig::NotBreathing
            | Sig::Choking
            | Sig::AsthmaSevere
            | Sig::Drowning
            | Sig::LowSats => Some(C::RespiratoryDistress),
            Sig::SepsisWord | Sig::Mottled => Some(C::Sepsis),
            Sig::AnaphWord | Sig::AirwaySwelling | Sig::EpiPen => Some(C::Anaphylaxis),
            Sig::MeningWord | Sig::NonBlanchRash => Some(C::Meningitis),
            Sig::SelfHarm | Sig::HarmBaby => Some(C::SelfHarm),
            Sig::HeavyBleeding | Sig::VomitBlood => Some(C::SevereBleeding),
            Sig::Seizure | Sig::Collapse | Sig::Unrousable => Some(C::SeizureCollapse),
            Sig::Overdose | Sig::ToxicIngestion | Sig::ChildIngestion | Sig::PillIntake => {
                Some(C::PoisoningOverdose)
            }
            Sig::TraumaEvent => Some(C::MajorTrauma),
            Sig::FetalMovement | Sig::WatersBroken => Some(C::Obstetric),
            _ => None,
        }
    }

    /// Context signals that describe a situation rather than an acute event; history
    /// cues do not suppress them.
    fn history_exempt(self) -> bool {
        matches!(
            self,
            Sig::Pregnant
                | Sig::Postpartum
                | Sig::Allergen
                | Sig::HeadHit
                | Sig::BabyWord
                | Sig::ChildContext
                | Sig::Newborn
        )
    }

    /// Context signals whose own wording contains time words ("had my baby last week",
    /// "had peanuts", "hit his head"); history cues inside them are ignored.
    fn cancels_history(self) -> bool {
        matches!(self, Sig::Postpartum | Sig::Allergen | Sig::HeadHit)
    }
}

/// An accepted signal with its span in the original text.
#[derive(Debug, Clone, Copy)]
struct Hit {
    sig: Sig,
    start: usize,
    end: usize,
}

// ---------------------------------------------------------------------------
// Pattern tables (regexes over the normalised clause text: lower case, single spaces)
// ---------------------------------------------------------------------------

/// Words a negation scope may cover. Beyond this the cue is treated as affirmed.
const NEG_WINDOW: usize = 6;
/// Longest clause scanned as one (words); longer runs without punctuation are cut.
const MAX_CLAUSE_WORDS: usize = 48;
/// Words allowed between an inline topic phrase and the cue it qualifies.
const INFO_WINDOW: usize = 4;

/// Words that end a negation scope.
static SCOPE_BREAKERS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| TABLES.list("scope_breakers"));
/// After "and", these words start a new statement and end a negation scope.
static SUBJECTS: LazyLock<Vec<&'static str>> = LazyLock::new(|| TABLES.list("subjects"));
/// A clause starting with one of these does not inherit negation from the previous clause.
static START_SUBJECTS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| TABLES.list("start_subjects"));
/// Possessives that tie a topic phrase to a real person ("signs of my stroke").
static POSSESSIVES: LazyLock<Vec<&'static str>> = LazyLock::new(|| TABLES.list("possessives"));

/// Words that turn "took ... pills" into an overdose.
static QUANTITY_WORDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| TABLES.list("quantity_words"));
/// A number followed by one of these is a dose, not a count of tablets.
static DOSE_UNITS: LazyLock<Vec<&'static str>> = LazyLock::new(|| TABLES.list("dose_units"));
/// Words that mark a nearby number as a body temperature.
static TEMP_CONTEXT: LazyLock<Vec<&'static str>> = LazyLock::new(|| TABLES.list("temp_context"));
/// Words that mark a nearby number as an oxygen saturation.
static SATS_CONTEXT: LazyLock<Vec<&'static str>> = LazyLock::new(|| TABLES.list("sats_context"));

fn compile(src: &str) -> Regex {
    match Regex::new(src) {
        Ok(re) => re,
        Err(err) => panic!("invalid red-flag pattern {src:?}: {err}"),
    }
}

/// The rule tables (`guardrails/rules/red_flags.rules`).
static TABLES: LazyLock<Tables> = LazyLock::new(|| rules_file!("red_flags"));

/// Cue patterns, each with the signal it raises (`@pattern`).
static PATTERNS: LazyLock<Vec<(Sig, Regex)>> = LazyLock::new(|| {
    TABLES
        .rows::<2>("pattern")
        .into_iter()
        .map(|[sig, src]| (Sig::from_name(sig), compile(src)))
        .collect()
});
/// Idioms and figurative speech (`@idiom`) and medical words in harmless senses
/// (`@harmless`): a cue overlapping one of these is ignored.
static SUPPRESSORS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    TABLES
        .lines("idiom")
        .iter()
        .chain(TABLES.lines("harmless"))
        .map(|src| compile(src))
        .collect()
});
static NEGATION: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("negation")));
static HEDGE: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("hedge")));
static HIST_STRONG: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("hist_strong")));
static HIST_WEAK: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("hist_weak")));
static HIST_IGNORE: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("hist_ignore")));
static RECENCY: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("recency")));
static OPENER: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("opener")));
static PERSONAL: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("personal")));
static CARE: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("care")));
static STRONG_INFO: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("strong_info")));
static INLINE_INFO: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("inline_info")));
static INLINE_STRONG: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("inline_strong")));
static CHILD: LazyLock<Regex> = LazyLock::new(|| compile(TABLES.one("child")));

// ---------------------------------------------------------------------------
// Tokenising and normalising
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Brk {
    Clause,
    Sentence,
}

#[derive(Debug, Clone)]
enum Piece {
    Word {
        canon: String,
        start: usize,
        end: usize,
    },
    Break(Brk),
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{02BC}')
}

fn push_break(out: &mut Vec<Piece>, kind: Brk) {
    if let Some(Piece::Break(prev)) = out.last_mut() {
        if kind == Brk::Sentence {
            *prev = Brk::Sentence;
        }
        return;
    }
    out.push(Piece::Break(kind));
}

/// Splits text into normalised words and clause/sentence breaks, keeping byte offsets.
fn tokenize(text: &str) -> Vec<Piece> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let n = chars.len();
    let byte_at = |j: usize| if j < n { chars[j].0 } else { text.len() };
    let mut out: Vec<Piece> = Vec::new();
    let mut i = 0;
    while i < n {
        let (pos, c) = chars[i];
        if c.is_ascii_digit() {
            let mut j = i + 1;
            while j < n {
                let cj = chars[j].1;
                if cj.is_ascii_digit() {
                    j += 1;
                } else if cj == '.' && j + 1 < n && chars[j + 1].1.is_ascii_digit() {
                    j += 2;
                } else {
                    break;
                }
            }
            let end = byte_at(j);
            out.push(Piece::Word {
                canon: text[pos..end].to_string(),
                start: pos,
                end,
            });
            i = j;
        } else if c.is_alphanumeric() {
            let mut raw = String::new();
            // Byte offset in `raw` where the last (dropped) apostrophe stood.
            let mut apos_at: Option<usize> = None;
            let mut j = i;
            while j < n {
                let cj = chars[j].1;
                if cj.is_alphanumeric() {
                    raw.extend(cj.to_lowercase());
                    j += 1;
                } else if is_apostrophe(cj) && j + 1 < n && chars[j + 1].1.is_alphabetic() {
                    apos_at = Some(raw.len());
                    j += 1;
                } else {
                    break;
                }
            }
            let end = byte_at(j);
            let canon = canonical_word(&raw, apos_at);
            if matches!(
                canon.as_str(),
                "but" | "however" | "although" | "though" | "whereas"
            ) {
                push_break(&mut out, Brk::Clause);
            } else {
                out.push(Piece::Word {
                    canon,
                    start: pos,
                    end,
                });
            }
            i = j;
        } else {
            match c {
                '.' | '!' | '?' | ';' | '\n' | '\r' => push_break(&mut out, Brk::Sentence),
                ',' | '\u{2013}' | '\u{2014}' => push_break(&mut out, Brk::Clause),
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// Normalises one lower-cased word: possessive/contraction handling and respelling.
/// `apos_at` is where an apostrophe stood inside `raw`, if there was one.
fn canonical_word(raw: &str, apos_at: Option<usize>) -> String {
    let mut word = raw;
    let suffix = apos_at.and_then(|at| raw.get(at..)).unwrap_or("");
    let base = apos_at.and_then(|at| raw.get(..at)).unwrap_or("");
    let expansion = match suffix {
        "ll" => Some("will"),
        "ve" => Some("have"),
        "re" => Some("are"),
        "d" => Some("would"),
        "m" => Some("am"),
        _ => None,
    };
    if let (Some(expanded), false) = (expansion, base.is_empty()) {
        let head = match respell(base) {
            Some(fixed) => fixed,
            None => base,
        };
        return format!("{head} {expanded}");
    }
    if suffix == "s" {
        if let Some(base) = raw.strip_suffix('s') {
            if matches!(
                base,
                "he" | "she"
                    | "it"
                    | "that"
                    | "what"
                    | "who"
                    | "there"
                    | "here"
                    | "where"
                    | "how"
                    | "everything"
                    | "something"
                    | "nothing"
                    | "someone"
                    | "everyone"
            ) {
                return format!("{base} is");
            }
            word = base;
        }
    }
    match respell(word) {
        Some(fixed) => fixed.to_string(),
        None => word.to_string(),
    }
}

/// Contractions written without apostrophes, text-speak and common misspellings.
fn respell(word: &str) -> Option<&'static str> {
    static RESPELL: LazyLock<HashMap<&'static str, &'static str>> =
        LazyLock::new(|| TABLES.aliases("respell"));
    RESPELL.get(word).copied()
}

// ---------------------------------------------------------------------------
// Clauses and sentences
// ---------------------------------------------------------------------------

/// A clause of normalised words. `spans` holds, per word token, its byte range in
/// `text` and its byte range in the original message.
#[derive(Debug, Clone)]
struct Clause {
    text: String,
    spans: Vec<(usize, usize, usize, usize)>,
    sentence: usize,
}

impl Clause {
    fn empty(sentence: usize) -> Clause {
        Clause {
            text: String::new(),
            spans: Vec::new(),
            sentence,
        }
    }
}

fn build_clauses(pieces: &[Piece]) -> Vec<Clause> {
    let mut clauses: Vec<Clause> = Vec::new();
    let mut sentence = 0usize;
    let mut cur = Clause::empty(sentence);
    for piece in pieces {
        match piece {
            Piece::Word { canon, start, end } => {
                // "... and now ..." starts a new clause so that history before it does not
                // leak into what is happening now. A clause never grows past
                // MAX_CLAUSE_WORDS, which keeps the per-clause filters (quadratic in the
                // clause) linear in the message.
                let full = cur.spans.len() >= MAX_CLAUSE_WORDS;
                if full
                    || canon.as_str() == "now" && (cur.text == "and" || cur.text.ends_with(" and"))
                {
                    let done = std::mem::replace(&mut cur, Clause::empty(sentence));
                    clauses.push(done);
                }
                if !cur.text.is_empty() {
                    cur.text.push(' ');
                }
                let cs = cur.text.len();
                cur.text.push_str(canon);
                let ce = cur.text.len();
                cur.spans.push((cs, ce, *start, *end));
            }
            Piece::Break(kind) => {
                if *kind == Brk::Sentence {
                    sentence += 1;
                }
                if !cur.text.is_empty() || *kind == Brk::Sentence {
                    let done = std::mem::replace(&mut cur, Clause::empty(sentence));
                    if !done.text.is_empty() {
                        clauses.push(done);
                    }
                }
            }
        }
    }
    if !cur.text.is_empty() {
        clauses.push(cur);
    }
    clauses
}

/// Sentence-level facts used by the clause filters.
#[derive(Debug, Clone, Copy)]
struct SentenceCtx {
    /// Information-seeking or study context: cues here are ignored.
    info: bool,
    /// First-person or caregiver present-tense statement.
    personal: bool,
    /// Contains a recency cue.
    recent: bool,
    /// Mentions a child.
    child: bool,
}

fn sentence_contexts(clauses: &[Clause]) -> Vec<SentenceCtx> {
    let count = clauses.iter().map(|c| c.sentence + 1).max().unwrap_or(0);
    let mut texts: Vec<String> = vec![String::new(); count];
    for c in clauses {
        let t = &mut texts[c.sentence];
        if !t.is_empty() {
            t.push(' ');
        }
        t.push_str(&c.text);
    }
    texts
        .iter()
        .map(|text| {
            let personal = PERSONAL.is_match(text);
            let care = CARE.is_match(text);
            let opener = OPENER.is_match(text);
            let strong = STRONG_INFO.is_match(text);
            SentenceCtx {
                info: strong || (opener && !personal && !care),
                personal,
                recent: RECENCY.is_match(text),
                child: CHILD.is_match(text),
            }
        })
        .collect()
}

/// A short "X or Y" clause right after a negated clause continues the negated list
/// ("no fever, rash or stiff neck").
fn inherits_negation(text: &str) -> bool {
    let words: Vec<&str> = text.split(' ').collect();
    let first = words.first().copied().unwrap_or("");
    words.len() <= 5
        && words.iter().any(|w| *w == "or" || *w == "nor")
        && !START_SUBJECTS.contains(&first)
}

// ---------------------------------------------------------------------------
// Clause scanning and filters
// ---------------------------------------------------------------------------

fn spans(re: &Regex, t: &str) -> Vec<(usize, usize)> {
    re.find_iter(t).map(|m| (m.start(), m.end())).collect()
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Number of words strictly between two spans (0 when they touch or overlap).
fn word_gap(t: &str, a: (usize, usize), b: (usize, usize)) -> usize {
    if a.1 <= b.0 {
        t[a.1..b.0].split_whitespace().count()
    } else if b.1 <= a.0 {
        t[b.1..a.0].split_whitespace().count()
    } else {
        0
    }
}

fn breaks_scope(words: &[&str]) -> bool {
    words.iter().enumerate().any(|(k, w)| {
        SCOPE_BREAKERS.contains(w)
            || (*w == "and" && words.get(k + 1).is_some_and(|next| SUBJECTS.contains(next)))
    })
}

/// Every match of every cue pattern, including overlapping ones: after each match the
/// search restarts at the next word, so a suppressed long match cannot hide a shorter
/// genuine one.
fn raw_matches(t: &str) -> Vec<(Sig, usize, usize)> {
    let mut raws = Vec::new();
    for (sig, re) in PATTERNS.iter() {
        let mut pos = 0usize;
        while pos < t.len() {
            let Some(m) = re.find_at(t, pos) else { break };
            raws.push((*sig, m.start(), m.end()));
            match t[m.start()..].find(' ') {
                Some(k) => pos = m.start() + k + 1,
                None => break,
            }
        }
    }
    raws
}

fn negated(t: &str, cue_start: usize, negs: &[(usize, usize)], inherit: bool) -> bool {
    let in_scope = |from: usize| {
        let words: Vec<&str> = t[from..cue_start].split_whitespace().collect();
        words.len() <= NEG_WINDOW && !breaks_scope(&words)
    };
    negs.iter().any(|&(_, e)| e <= cue_start && in_scope(e)) || (inherit && in_scope(0))
}

fn negation_open(t: &str, negs: &[(usize, usize)], inherit: bool) -> bool {
    let open_from = |from: usize| {
        let words: Vec<&str> = t[from..].split_whitespace().collect();
        words.len() <= NEG_WINDOW && !breaks_scope(&words)
    };
    negs.iter().any(|&(_, e)| open_from(e)) || (inherit && open_from(0))
}

/// True when a topic phrase ends shortly before the cue with no possessive in between.
fn topic_before(t: &str, cue_start: usize, topics: &[(usize, usize)]) -> bool {
    topics.iter().any(|&(_, e)| {
        if e > cue_start {
            return false;
        }
        let words: Vec<&str> = t[e..cue_start].split_whitespace().collect();
        words.len() <= INFO_WINDOW && !words.iter().any(|w| POSSESSIVES.contains(w))
    })
}

/// History filter: the nearest history cue is closer than the nearest recency cue.
fn historical(
    t: &str,
    cue: (usize, usize),
    strong: &[(usize, usize)],
    weak: &[(usize, usize)],
    recency: &[(usize, usize)],
    sentence_recent: bool,
) -> bool {
    let nearest_hist = |list: &[(usize, usize)]| {
        list.iter()
            .filter(|h| !overlaps(**h, cue))
            .map(|h| word_gap(t, cue, *h))
            .min()
    };
    let d_strong = nearest_hist(strong);
    let d_weak = nearest_hist(weak);
    let d_hist = match (d_strong, d_weak) {
        (None, None) => return false,
        (a, b) => a.unwrap_or(usize::MAX).min(b.unwrap_or(usize::MAX)),
    };
    let d_recent = recency.iter().map(|r| word_gap(t, cue, *r)).min();
    if d_recent.is_some_and(|d| d <= d_hist) {
        return false;
    }
    if d_strong.is_none() && sentence_recent {
        return false;
    }
    true
}

fn number_value(w: &str) -> Option<f64> {
    if w.starts_with(|c: char| c.is_ascii_digit()) {
        return w.parse::<f64>().ok();
    }
    let v = match w {
        "one" => 1.0,
        "two" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "eleven" => 11.0,
        "twelve" | "dozen" => 12.0,
        "thirteen" => 13.0,
        "fourteen" => 14.0,
        "fifteen" => 15.0,
        "sixteen" => 16.0,
        "seventeen" => 17.0,
        "eighteen" => 18.0,
        "nineteen" => 19.0,
        "twenty" => 20.0,
        "thirty" => 30.0,
        "forty" => 40.0,
        "fifty" => 50.0,
        "sixty" => 60.0,
        "hundred" => 100.0,
        _ => return None,
    };
    Some(v)
}

/// "took ... pills" only counts when the phrase carries an overdose-sized quantity.
fn pill_quantity_ok(phrase: &str) -> bool {
    let words: Vec<&str> = phrase.split(' ').collect();
    for (k, w) in words.iter().enumerate().skip(1) {
        let next = words.get(k + 1).copied().unwrap_or("");
        if QUANTITY_WORDS.contains(w) || (*w == "all" && (next == "of" || next == "the")) {
            return true;
        }
        if let Some(v) = number_value(w) {
            if v >= 10.0 && !DOSE_UNITS.contains(&next) {
                return true;
            }
        }
    }
    false
}

fn orig_span(clause: &Clause, cs: usize, ce: usize) -> Option<(usize, usize)> {
    let first = clause.spans.iter().position(|s| s.1 > cs)?;
    let last = clause.spans.iter().rposition(|s| s.0 < ce)?;
    if last < first {
        return None;
    }
    Some((clause.spans[first].2, clause.spans[last].3))
}

/// Scans one clause, pushes accepted signals, and reports whether a negation scope is
/// still open at the end of the clause.
fn scan_clause(
    clause: &Clause,
    inherit: bool,
    ctx: &SentenceCtx,
    hits: &mut Vec<Hit>,
    filtered: &mut Filtered,
) -> bool {
    let t = clause.text.as_str();
    // A clause can open an information question of its own ("..., is heavy bleeding
    // normal?") even when the sentence began with a personal statement.
    let clause_info = OPENER.is_match(t) && !PERSONAL.is_match(t) && !CARE.is_match(t);
    let mut suppress: Vec<(usize, usize)> = Vec::new();
    for re in SUPPRESSORS.iter() {
        suppress.extend(spans(re, t));
    }
    let hedges = spans(&HEDGE, t);
    let negs: Vec<(usize, usize)> = spans(&NEGATION, t)
        .into_iter()
        .filter(|n| !hedges.iter().any(|h| h.0 <= n.0 && n.1 <= h.1))
        .collect();
    let inline_info = spans(&INLINE_INFO, t);
    let inline_strong = spans(&INLINE_STRONG, t);
    let recency = spans(&RECENCY, t);
    let hist_ignore = spans(&HIST_IGNORE, t);
    let raws = raw_matches(t);
    let exempt: Vec<(usize, usize)> = raws
        .iter()
        .filter(|r| r.0.cancels_history())
        .map(|r| (r.1, r.2))
        .collect();
    let keep_hist = |h: &(usize, usize)| {
        !hist_ignore.iter().any(|g| overlaps(*g, *h)) && !exempt.iter().any(|e| overlaps(*e, *h))
    };
    let strong: Vec<(usize, usize)> = spans(&HIST_STRONG, t)
        .into_iter()
        .filter(|h| keep_hist(h))
        .collect();
    let weak: Vec<(usize, usize)> = spans(&HIST_WEAK, t)
        .into_iter()
        .filter(|h| keep_hist(h))
        .collect();

    for &(sig, cs, ce) in &raws {
        let span = (cs, ce);
        if suppress.iter().any(|s| overlaps(*s, span)) {
            filtered.harmless += 1;
            continue;
        }
        if ctx.info
            || clause_info
            || topic_before(t, cs, &inline_strong)
            || (!ctx.personal && topic_before(t, cs, &inline_info))
        {
            filtered.info += 1;
            continue;
        }
        if negated(t, cs, &negs, inherit) {
            filtered.negated += 1;
            continue;
        }
        if !sig.history_exempt() && historical(t, span, &strong, &weak, &recency, ctx.recent) {
            filtered.historical += 1;
            continue;
        }
        filtered.accepted += 1;
        if sig == Sig::PillIntake && !pill_quantity_ok(&t[cs..ce]) {
            continue;
        }
        if let Some((start, end)) = orig_span(clause, cs, ce) {
            hits.push(Hit { sig, start, end });
        }
    }
    negation_open(t, &negs, inherit)
}

// ---------------------------------------------------------------------------
// Numeric rules: infant age, temperature, oxygen saturation
// ---------------------------------------------------------------------------

struct FlatWord<'a> {
    w: &'a str,
    start: usize,
    end: usize,
    sentence: usize,
}

fn numeric_signals(clauses: &[Clause], sentences: &[SentenceCtx], hits: &mut Vec<Hit>) {
    let mut words: Vec<FlatWord<'_>> = Vec::new();
    for c in clauses {
        for &(cs, ce, os, oe) in &c.spans {
            for w in c.text[cs..ce].split(' ') {
                words.push(FlatWord {
                    w,
                    start: os,
                    end: oe,
                    sentence: c.sentence,
                });
            }
        }
    }
    for i in 0..words.len() {
        if sentences[words[i].sentence].info {
            continue;
        }
        age_signal(&words, i, sentences, hits);
        temp_signal(&words, i, hits);
        sats_signal(&words, i, hits);
    }
}

/// "6 weeks old", "my 10 day old", "she is 2 months": classifies the child's age.
fn age_signal(words: &[FlatWord<'_>], i: usize, sentences: &[SentenceCtx], hits: &mut Vec<Hit>) {
    let Some(unit) = words.get(i + 1) else { return };
    let days_per: f64 = match unit.w {
        "day" | "days" => 1.0,
        "week" | "weeks" | "wk" | "wks" => 7.0,
        "month" | "months" | "mo" | "mos" | "mth" | "mths" | "mnth" | "mnths" => 30.44,
        "year" | "years" | "yr" | "yrs" | "yo" => 365.25,
        _ => return,
    };
    let next = words.get(i + 2).map(|w| w.w);
    let prev = if i > 0 { Some(words[i - 1].w) } else { None };
    let count: f64 = match words[i].w {
        "a" | "an" if next == Some("old") => 1.0,
        w => match number_value(w) {
            Some(v) => v,
            None => return,
        },
    };
    if matches!(
        next,
        Some(
            "pregnant"
                | "preg"
                | "along"
                | "gone"
                | "gestation"
                | "postpartum"
                | "pp"
                | "ago"
                | "later"
                | "after"
                | "before"
                | "since"
                | "into"
                | "until"
                | "till"
                | "of"
                | "early"
                | "late"
                | "overdue"
        )
    ) {
        return;
    }
    let noun_next = matches!(
        next,
        Some("old" | "baby" | "babys" | "newborn" | "son" | "daughter" | "boy" | "girl" | "infant")
    );
    let prev_ok = matches!(
        prev,
        Some("is" | "aged" | "age" | "only" | "just" | "turned" | "was" | "being")
    ) && sentences[words[i].sentence].child;
    if !(noun_next || unit.w == "yo" || prev_ok) {
        return;
    }
    let days = count * days_per;
    let sig = if days < 91.0 {
        Sig::AgeUnder3m
    } else if days < 183.0 {
        Sig::Age3to6m
    } else {
        Sig::AgeOlder
    };
    let end = if next == Some("old") {
        words[i + 2].end
    } else {
        unit.end
    };
    hits.push(Hit {
        sig,
        start: words[i].start,
        end,
    });
}

/// Body temperature in °C or °F next to a temperature word or unit.
fn temp_signal(words: &[FlatWord<'_>], i: usize, hits: &mut Vec<Hit>) {
    let w = words[i].w;
    if !w.starts_with(|c: char| c.is_ascii_digit()) {
        return;
    }
    let Ok(x) = w.parse::<f64>() else { return };
    let next = words.get(i + 1).map(|n| n.w);
    let unit_f = matches!(
        next,
        Some("f" | "fahrenheit" | "farenheit" | "fahrenheight")
    );
    let unit_c = matches!(next, Some("c" | "celsius" | "celcius" | "centigrade"));
    let degrees = matches!(next, Some("degrees" | "degree" | "deg" | "degs"));
    let lo = i.saturating_sub(4);
    let context = words[lo..i].iter().any(|p| TEMP_CONTEXT.contains(&p.w));
    if !(unit_f || unit_c || degrees || context) {
        return;
    }
    let celsius_range = (34.0..=45.0).contains(&x);
    let fahrenheit_range = (93.0..=113.0).contains(&x);
    let is_f = if unit_f && fahrenheit_range {
        true
    } else if unit_c && celsius_range {
        false
    } else if !unit_f && !unit_c && celsius_range {
        false
    } else if !unit_f && !unit_c && fahrenheit_range {
        true
    } else {
        return;
    };
    let (fever, high) = if is_f {
        (x >= 100.4 - 1e-9, x >= 102.2 - 1e-9)
    } else {
        (x >= 38.0 - 1e-9, x >= 39.0 - 1e-9)
    };
    let end = if unit_f || unit_c || degrees {
        words[i + 1].end
    } else {
        words[i].end
    };
    let start = words[i].start;
    if fever {
        hits.push(Hit {
            sig: Sig::TempFever,
            start,
            end,
        });
        if high {
            hits.push(Hit {
                sig: Sig::TempHigh,
                start,
                end,
            });
        }
    } else {
        hits.push(Hit {
            sig: Sig::TempNormal,
            start,
            end,
        });
    }
}

/// Oxygen saturation of 92% or less.
fn sats_signal(words: &[FlatWord<'_>], i: usize, hits: &mut Vec<Hit>) {
    let w = words[i].w;
    if !w.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    let Ok(x) = w.parse::<f64>() else { return };
    if !(50.0..=92.0).contains(&x) {
        return;
    }
    let lo = i.saturating_sub(3);
    if !words[lo..i].iter().any(|p| SATS_CONTEXT.contains(&p.w)) {
        return;
    }
    hits.push(Hit {
        sig: Sig::LowSats,
        start: words[i].start,
        end: words[i].end,
    });
}

// ---------------------------------------------------------------------------
// Combination rules
// ---------------------------------------------------------------------------

fn push_matches(out: &mut Vec<Match>, text: &str, hits: &[Hit], category: Category, sigs: &[Sig]) {
    for h in hits.iter().filter(|h| sigs.contains(&h.sig)) {
        out.push(Match {
            category,
            phrase: text[h.start..h.end].to_string(),
            start: h.start,
            end: h.end,
        });
    }
}

fn has_sig(hits: &[Hit], sig: Sig) -> bool {
    hits.iter().any(|h| h.sig == sig)
}

fn has_any(hits: &[Hit], sigs: &[Sig]) -> bool {
    sigs.iter().any(|&s| has_sig(hits, s))
}

fn apply_rules(text: &str, hits: &[Hit]) -> Vec<Match> {
    use Category as C;
    use Sig as S;
    let has = |s: Sig| has_sig(hits, s);
    let mut out: Vec<Match> = Vec::new();

    for h in hits {
        if let Some(category) = h.sig.direct() {
            out.push(Match {
                category,
                phrase: text[h.start..h.end].to_string(),
                start: h.start,
                end: h.end,
            });
        }
    }

    // Cardiac: radiating pain with autonomic symptoms; "indigestion" with sweating.
    if has(S::ArmJawPain) && has_any(hits, &[S::Sweating, S::Nausea, S::Breathless]) {
        let sigs = [S::ArmJawPain, S::Sweating, S::Nausea, S::Breathless];
        push_matches(&mut out, text, hits, C::Cardiac, &sigs);
    }
    if has(S::Indigestion) && has(S::Sweating) {
        push_matches(
            &mut out,
            text,
            hits,
            C::Cardiac,
            &[S::Indigestion, S::Sweating],
        );
    }

    // Stroke: sudden-onset headache.
    if has(S::Headache) && has(S::SuddenOnset) {
        push_matches(
            &mut out,
            text,
            hits,
            C::Stroke,
            &[S::Headache, S::SuddenOnset],
        );
    }

    // Sepsis: infection or fever with a sign of organ dysfunction.
    let fever_like = [S::Fever, S::TempFever, S::Infection];
    let dysfunction = [S::Confusion, S::NoUrine, S::Rigors, S::Dying, S::Mottled];
    if has_any(hits, &fever_like) && has_any(hits, &dysfunction) {
        let sigs = [
            S::Fever,
            S::TempFever,
            S::Infection,
            S::Confusion,
            S::NoUrine,
            S::Rigors,
            S::Dying,
        ];
        push_matches(&mut out, text, hits, C::Sepsis, &sigs);
    }

    // Anaphylaxis: allergen or hives with face swelling, breathing trouble or collapse.
    if has_any(hits, &[S::Allergen, S::Hives])
        && has_any(
            hits,
            &[
                S::FaceSwelling,
                S::Breathless,
                S::Wheeze,
                S::Collapse,
                S::NotBreathing,
            ],
        )
    {
        let sigs = [
            S::Allergen,
            S::Hives,
            S::FaceSwelling,
            S::Breathless,
            S::Wheeze,
            S::Collapse,
            S::NotBreathing,
        ];
        push_matches(&mut out, text, hits, C::Anaphylaxis, &sigs);
    }

    // Meningitis: neck stiffness with fever/rash/photophobia/confusion, or the classic
    // headache + fever + (photophobia or rash) triad.
    let fever_any = [S::Fever, S::TempFever];
    if has(S::StiffNeck)
        && has_any(
            hits,
            &[
                S::Fever,
                S::TempFever,
                S::Rash,
                S::Photophobia,
                S::Confusion,
            ],
        )
    {
        let sigs = [
            S::StiffNeck,
            S::Fever,
            S::TempFever,
            S::Rash,
            S::Photophobia,
            S::Confusion,
        ];
        push_matches(&mut out, text, hits, C::Meningitis, &sigs);
    }
    if has(S::Headache) && has_any(hits, &fever_any) && has_any(hits, &[S::Photophobia, S::Rash]) {
        let sigs = [S::Headache, S::Fever, S::TempFever, S::Photophobia, S::Rash];
        push_matches(&mut out, text, hits, C::Meningitis, &sigs);
    }

    // Severe bleeding: soaking through dressings.
    if has(S::Soaking) && has(S::BleedingAny) {
        push_matches(
            &mut out,
            text,
            hits,
            C::SevereBleeding,
            &[S::Soaking, S::BleedingAny],
        );
    }

    // Major trauma: head injury with neurological or bleeding signs.
    let head_signs = [
        S::Collapse,
        S::Confusion,
        S::Nausea,
        S::Seizure,
        S::Unrousable,
        S::Drowsy,
        S::HeavyBleeding,
        S::BleedingAny,
        S::SpeechProblem,
    ];
    if has(S::HeadHit) && has_any(hits, &head_signs) {
        let mut sigs = vec![S::HeadHit];
        sigs.extend_from_slice(&head_signs);
        push_matches(&mut out, text, hits, C::MajorTrauma, &sigs);
    }

    // Obstetric.
    let pregnant = has(S::Pregnant);
    let preg_signs = [
        S::BleedingAny,
        S::HeavyBleeding,
        S::Soaking,
        S::AbdoPain,
        S::SeverePain,
        S::BabyNotMoving,
        S::FluidLeak,
        S::Vision,
        S::Seizure,
        S::Collapse,
        S::Breathless,
        S::ChestPain,
    ];
    if pregnant && has_any(hits, &preg_signs) {
        let mut sigs = vec![S::Pregnant];
        sigs.extend_from_slice(&preg_signs);
        push_matches(&mut out, text, hits, C::Obstetric, &sigs);
    }
    if pregnant
        && has(S::Headache)
        && has_any(hits, &[S::FaceSwelling, S::SuddenOnset, S::Thunderclap])
    {
        let sigs = [S::Pregnant, S::Headache, S::FaceSwelling, S::SuddenOnset];
        push_matches(&mut out, text, hits, C::Obstetric, &sigs);
    }
    let postpartum_signs = [
        S::BleedingAny,
        S::HeavyBleeding,
        S::Soaking,
        S::Fever,
        S::TempFever,
        S::Breathless,
        S::ChestPain,
        S::Confusion,
        S::HarmBaby,
        S::SeverePain,
        S::Collapse,
        S::Seizure,
    ];
    if has(S::Postpartum) && has_any(hits, &postpartum_signs) {
        let mut sigs = vec![S::Postpartum];
        sigs.extend_from_slice(&postpartum_signs);
        push_matches(&mut out, text, hits, C::Obstetric, &sigs);
    }
    if has(S::BabyNotMoving) {
        let category = if pregnant {
            C::Obstetric
        } else {
            C::PaediatricDanger
        };
        push_matches(&mut out, text, hits, category, &[S::BabyNotMoving]);
    }

    // Paediatric: fever under 3 months (NICE NG143 red), ≥39 °C at 3–6 months, any
    // fever in a "baby" of unknown age, and danger signs in a child.
    let temp_fever = has(S::TempFever);
    let normal_only = has(S::TempNormal) && !temp_fever;
    let feverish = temp_fever || (has(S::Fever) && !normal_only);
    let under3 = has(S::AgeUnder3m) || has(S::Newborn);
    if under3 && feverish {
        let sigs = [S::AgeUnder3m, S::Newborn, S::Fever, S::TempFever];
        push_matches(&mut out, text, hits, C::PaediatricDanger, &sigs);
    }
    if has(S::Age3to6m) && has(S::TempHigh) {
        push_matches(
            &mut out,
            text,
            hits,
            C::PaediatricDanger,
            &[S::Age3to6m, S::TempHigh],
        );
    }
    let older_known = has(S::Age3to6m) || has(S::AgeOlder);
    if has(S::BabyWord) && !pregnant && !older_known && feverish {
        let sigs = [S::BabyWord, S::Fever, S::TempFever];
        push_matches(&mut out, text, hits, C::PaediatricDanger, &sigs);
    }
    if has(S::PaedsDanger) && has(S::ChildContext) {
        push_matches(&mut out, text, hits, C::PaediatricDanger, &[S::PaedsDanger]);
    }

    merge_matches(text, out)
}

/// Merges overlapping spans of the same category and sorts by position.
fn merge_matches(text: &str, mut matches: Vec<Match>) -> Vec<Match> {
    matches.sort_by(|a, b| (a.category, a.start, a.end).cmp(&(b.category, b.start, b.end)));
    let mut merged: Vec<Match> = Vec::new();
    for m in matches {
        if let Some(last) = merged.last_mut() {
            if last.category == m.category && m.start < last.end {
                if m.end > last.end {
                    last.end = m.end;
                    last.phrase = text[last.start..last.end].to_string();
                }
                continue;
            }
        }
        merged.push(m);
    }
    merged.sort_by(|a, b| (a.start, a.end, a.category).cmp(&(b.start, b.end, b.category)));
    merged
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn has(text: &str, category: Category) -> bool {
        detect(text).categories.contains(&category)
    }

    fn assert_fires(category: Category, texts: &[&str]) {
        for text in texts {
            let d = detect(text);
            assert!(
                d.categories.contains(&category),
                "expected {category:?} for {text:?}, got {:?}",
                d.categories
            );
        }
    }

    fn assert_quiet(texts: &[&str]) {
        for text in texts {
            let d = detect(text);
            assert!(
                !d.is_emergency(),
                "expected no emergency for {text:?}, got {:?} from {:?}",
                d.categories,
                d.matched
            );
        }
    }

    #[test]
    fn all_patterns_compile() {
        assert_eq!(PATTERNS.len(), TABLES.lines("pattern").len());
        assert_eq!(
            SUPPRESSORS.len(),
            TABLES.lines("idiom").len() + TABLES.lines("harmless").len()
        );
        assert_eq!(respell("dont"), Some("do not"));
        for list in [
            &*SCOPE_BREAKERS,
            &*SUBJECTS,
            &*START_SUBJECTS,
            &*POSSESSIVES,
            &*QUANTITY_WORDS,
            &*DOSE_UNITS,
            &*TEMP_CONTEXT,
            &*SATS_CONTEXT,
        ] {
            assert!(!list.is_empty());
        }
        for re in [
            &*NEGATION,
            &*HEDGE,
            &*HIST_STRONG,
            &*HIST_WEAK,
            &*HIST_IGNORE,
            &*RECENCY,
            &*OPENER,
            &*PERSONAL,
            &*CARE,
            &*STRONG_INFO,
            &*INLINE_INFO,
            &*INLINE_STRONG,
            &*CHILD,
        ] {
            assert!(!re.as_str().is_empty());
        }
    }

    #[test]
    fn category_names_round_trip() {
        for c in Category::ALL {
            assert_eq!(Category::from_name(c.as_str()), Some(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Category::from_name("nope"), None);
    }

    #[test]
    fn normalisation() {
        assert_eq!(canonical_word("cant", None), "can not");
        assert_eq!(canonical_word("cant", Some(3)), "can not");
        assert_eq!(canonical_word("chesst", None), "chest");
        assert_eq!(canonical_word("breathe", None), "breath");
        assert_eq!(canonical_word("dads", Some(3)), "dad");
        assert_eq!(canonical_word("hes", Some(2)), "he is");
        assert_eq!(canonical_word("ill", Some(1)), "i will");
        assert_eq!(canonical_word("ill", None), "ill");
        assert_eq!(canonical_word("theyve", Some(4)), "they have");
        let pieces = tokenize("I can't breathe, it's 38.5°C");
        let words: Vec<String> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Word { canon, .. } => Some(canon.clone()),
                Piece::Break(_) => None,
            })
            .collect();
        assert_eq!(words, vec!["i", "can not", "breath", "it is", "38.5", "c"]);
    }

    #[test]
    fn offsets_point_into_original_text() {
        let text = "Hi doc. My dad’s face is drooping!";
        let d = detect(text);
        assert!(d.categories.contains(&Category::Stroke));
        for m in &d.matched {
            assert_eq!(&text[m.start..m.end], m.phrase);
        }
        assert!(d
            .matched
            .iter()
            .any(|m| m.phrase.contains("face is drooping")));
    }

    #[test]
    fn empty_and_plain_text() {
        assert!(!detect("").is_emergency());
        assert!(!detect("   ").is_emergency());
        assert!(!detect("Thanks, that was helpful!").is_emergency());
    }

    #[test]
    fn cardiac() {
        assert_fires(
            Category::Cardiac,
            &[
                "my jaw and left arm ache and I'm sweating",
                "crushing chest pain for 20 mins",
                "chesst feels tight",
                "I think I'm having a hart attack",
                "pain in my chest going into my arm",
                "its like indigestion but im sweating buckets",
                "my chest is killing me",
            ],
        );
        assert_quiet(&[
            "no chest pain at all",
            "last year I had a heart attack",
            "how do I know if someone is having a heart attack?",
            "I nearly had a heart attack when I saw the bill",
            "my heart skipped a beat when I saw him",
            "my chest of drawers is so heavy",
            "chest muscles sore after the gym",
            "got my flu jab and my arm is sore",
            "I'm scared I'll have a heart attack before the exam",
        ]);
    }

    #[test]
    fn stroke() {
        assert_fires(
            Category::Stroke,
            &[
                "my face is droopy and words come out wrong",
                "my dad is slurring his words and his face is drooping",
                "worst headache of my life came on suddenly",
                "sudden headache out of nowhere",
                "mum cant lift her right arm",
                "I had a stroke in 2019 and now my face is drooping again",
            ],
        );
        assert_quiet(&[
            "I had a stroke in 2019",
            "what are the signs of a stroke?",
            "I'm a stroke survivor looking for exercise tips",
            "my back stroke is rubbish",
            "I don't have a headache",
        ]);
    }

    #[test]
    fn respiratory() {
        assert_fires(
            Category::RespiratoryDistress,
            &[
                "cant breath properly",
                "his lips are going blue",
                "struggling to breathe and my inhaler isnt helping",
                "I can't catch my breath",
                "he's choking on a grape",
                "my oxygen is 88 on the monitor",
                "mum's asthma is bad and she's exhausted from breathing, keeps nodding off",
                "too tired to talk, the nebuliser did nothing",
                "the paramedic on the phone asked if he has a silent chest and he does",
            ],
        );
        assert_quiet(&[
            "denies shortness of breath",
            "what a breathtaking view",
            "that film took my breath away",
            "is it normal to feel short of breath when you have a cold?",
            "I can't breathe through my nose with this cold",
            "I get tired from breathing exercises at yoga",
            "what is a silent chest in asthma?",
        ]);
    }

    #[test]
    fn sepsis() {
        assert_fires(
            Category::Sepsis,
            &[
                "I think I have sepsis",
                "fever and she's not making sense",
                "uti and now shivering uncontrollably",
                "wound is infected and I feel like I'm going to die",
            ],
        );
        assert_quiet(&[
            "what is sepsis?",
            "our septic tank smells",
            "I have a fever",
        ]);
    }

    #[test]
    fn anaphylaxis() {
        assert_fires(
            Category::Anaphylaxis,
            &[
                "lips swelling after peanuts",
                "my throat feels like its closing",
                "used my epipen",
                "covered in hives and struggling to breathe",
            ],
        );
        assert_quiet(&[
            "can you explain anaphylaxis",
            "I had anaphylaxis to wasps as a child",
            "allergic to penicillin, what else can I take?",
            "sore throat and swollen glands",
        ]);
    }

    #[test]
    fn meningitis() {
        assert_fires(
            Category::Meningitis,
            &[
                "stiff neck and a rash that doesnt fade",
                "purple spots on his legs",
                "fever and a stiff neck",
                "headache, temperature and the light hurts my eyes",
            ],
        );
        assert_quiet(&[
            "I have a stiff neck from sleeping funny",
            "no fever, rash or stiff neck",
            "booked her meningitis b jab",
            "what does a non blanching rash look like",
        ]);
    }

    #[test]
    fn self_harm() {
        assert_fires(
            Category::SelfHarm,
            &[
                "I want to end it all",
                "I don't want to be here anymore",
                "thinking about killing myself",
                "i feel suicidal",
                "everyone would be better off without me",
                "my friend said she wants to die",
                "my son told me he wanted to kill himself",
            ],
        );
        assert_quiet(&[
            "I'm not suicidal, just tired",
            "I could kill myself laughing at that",
            "I'm dying to see the new film",
            "I wanted to die of embarrassment",
            "this traffic is killing me",
            "I don't want to die, I'm scared of the operation",
            "he cut himself shaving this morning",
        ]);
    }

    #[test]
    fn bleeding() {
        assert_fires(
            Category::SevereBleeding,
            &[
                "bleeding wont stop soaking through towels",
                "blood is spurting out of the cut",
                "throwing up blood",
                "nosebleed for 40 minutes and it won't stop",
            ],
        );
        assert_quiet(&[
            "without any bleeding",
            "my blood test results are back",
            "the cut has stopped bleeding",
        ]);
    }

    #[test]
    fn seizure_collapse() {
        assert_fires(
            Category::SeizureCollapse,
            &[
                "I had a seizure an hour ago",
                "my son is having a fit",
                "grandma collapsed and isn't responding",
                "he passed out and we can't wake him",
                "my son had a seizure, now he's sleeping",
            ],
        );
        assert_quiet(&[
            "history of seizures, none recently",
            "never had a seizure",
            "I almost fainted when I saw the price",
            "my phone app is not responding",
            "the fitting room was tiny",
        ]);
    }

    #[test]
    fn poisoning() {
        assert_fires(
            Category::PoisoningOverdose,
            &[
                "I took 30 of my sleeping pills",
                "my toddler drank some bleach",
                "took a whole packet of paracetamol",
                "my 2 year old swallowed a button battery",
                "I think he overdosed",
            ],
        );
        assert_quiet(&[
            "I took two paracetamol for my headache",
            "I take 20mg of citalopram every morning",
            "can you overdose on vitamin D?",
            "I think I have food poisoning",
            "I overdosed years ago and I'm in recovery now",
        ]);
    }

    #[test]
    fn trauma() {
        assert_fires(
            Category::MajorTrauma,
            &[
                "my brother was hit by a car",
                "fell off a ladder",
                "he's been stabbed",
                "banged his head and now he's drowsy and being sick",
            ],
        );
        assert_quiet(&[
            "I was in a car accident 10 years ago",
            "stabbing pain in my foot when I walk",
            "my son fell off his scooter and grazed his knee",
        ]);
    }

    #[test]
    fn obstetric() {
        assert_fires(
            Category::Obstetric,
            &[
                "pregnant and heavy bleeding with pain",
                "33 weeks pregnant and baby hasn't moved all day",
                "my waters broke",
                "had my baby 4 days ago and bleeding through a pad every hour",
            ],
        );
        assert_quiet(&[
            "I'm 20 weeks pregnant, can I eat soft cheese?",
            "I'm pregnant and there's no bleeding or pain",
            "I'm 38 weeks pregnant and feeling fine",
        ]);
    }

    #[test]
    fn paediatric() {
        assert_fires(
            Category::PaediatricDanger,
            &[
                "baby is 6 weeks old and has a temp of 38.2",
                "my 10 day old has a temperature of 100.6F",
                "newborn has a temperature",
                "baby has a fever",
                "my 2 month old is floppy and won't feed",
                "my 5 month old has a temp of 39.3",
            ],
        );
        assert_quiet(&[
            "my 8 month old has a temperature of 38.4 but is playing",
            "my 4 week old's temperature is 36.9, is that normal?",
            "my 6 week old has a cough but no fever",
            "if a baby has a temperature when should I worry?",
            "I'm 6 weeks pregnant",
        ]);
    }

    #[test]
    fn caregiver_and_question_mix() {
        assert!(has(
            "What are the signs of a stroke? My dad's face is drooping.",
            Category::Stroke
        ));
        assert!(has(
            "should I go to A&E with chest pain?",
            Category::Cardiac
        ));
        assert!(!has(
            "can anxiety cause chest tightness?",
            Category::Cardiac
        ));
    }
}
