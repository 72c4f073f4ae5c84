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

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
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

const PATTERN_SRC: &[(Sig, &str)] = &[
    // --- Cardiac ---
    (
        Sig::ChestPain,
        r"\b(?:chest|breastbone|sternum) (?:[^ ]+ ){0,3}?(?:pain|pains|painful|hurts|hurt|hurting|ache|aches|aching|pressure|tight|tightness|squeez\w*|crush\w*|heavy|heaviness|burning|discomfort|sore|killing|agony|bursting)\b",
    ),
    (
        Sig::ChestPain,
        r"\b(?:pain|pains|pressure|tightness|tight|heaviness|squeezing|crushing|aching|ache|discomfort|burning|weight|elephant|band) (?:[^ ]+ ){0,3}?(?:chest|breastbone|sternum)\b",
    ),
    (Sig::ChestPain, r"\bheart (?:pain|pains)\b"),
    (
        Sig::HeartAttack,
        r"\b(?:heart attack|heart attacks|cardiac arrest|heart has stopped|heart stopped|cardiac event)\b",
    ),
    (
        Sig::ArmJawPain,
        r"\b(?:jaw|left arm|arm|arms|shoulder|shoulders) (?:[^ ]+ ){0,4}?(?:ache|aches|aching|achy|pain|pains|hurts|hurt|hurting|sore|numb|numbness|tingl\w*|heavy|heaviness)\b",
    ),
    (
        Sig::ArmJawPain,
        r"\b(?:pain|pains|ache|aching|numbness|tingling|heaviness) (?:[^ ]+ ){0,3}?(?:jaw|left arm|arm|arms|shoulder)\b",
    ),
    (
        Sig::Sweating,
        r"\b(?:sweat|sweats|sweating|sweaty|clammy|perspiring|drenched)\b",
    ),
    (
        Sig::Nausea,
        r"\b(?:nausea|nauseous|nauseated|queasy|feel sick|feels sick|feeling sick|felt sick|vomit|vomits|vomited|vomiting|throwing up|threw up|being sick|been sick)\b",
    ),
    (
        Sig::Indigestion,
        r"\b(?:indigestion|heartburn|heart burn)\b",
    ),
    // --- Stroke ---
    (
        Sig::FaceDroop,
        r"\b(?:face|mouth|smile|eyelid) (?:[^ ]+ ){0,4}?(?:droop\w*|dropp\w*|dropped|sagg\w*|lopsided|slump\w*|fallen|twisted|uneven|wonky|slanted|slack|floppy|paralys\w*|paralyz\w*)\b",
    ),
    (
        Sig::FaceDroop,
        r"\b(?:one side of|side of|half of|half) (?:my|his|her|their|the) face (?:[^ ]+ ){0,3}?(?:numb|dead|weak|tingl\w*|heavy|not moving|will not move)\b",
    ),
    (
        Sig::FaceDroop,
        r"\b(?:droop\w*|lopsided|wonky|sagging|slanted) (?:[^ ]+ ){0,2}?(?:face|mouth|smile)\b",
    ),
    (
        Sig::FaceDroop,
        r"\bfacial (?:droop\w*|weakness|palsy|numbness|paralysis)\b",
    ),
    (
        Sig::SpeechProblem,
        r"\b(?:slurr\w*|slured|garbled speech|jumbled speech|gibberish|aphasia|dysphasia)\b",
    ),
    (
        Sig::SpeechProblem,
        r"\b(?:words|speech|talking|speaking) (?:[^ ]+ ){0,3}?(?:wrong|jumbled|garbled|muddled|mixed up|slurred|gibberish|nonsense|not making sense)\b",
    ),
    (
        Sig::SpeechProblem,
        r"\b(?:speech|talking|speaking) (?:is |was |sounds |sounded |has gone |went |gone )?(?:funny|weird|strange|odd|drunk)\b",
    ),
    (
        Sig::SpeechProblem,
        r"\b(?:can not|could not|unable to|struggling to|not able to) (?:speak|talk|get (?:my|his|her|their|the) words out|find (?:the |my |his |her |their )?words|form words|say (?:words|anything))\b",
    ),
    (
        Sig::OneSideWeak,
        r"\b(?:one side|left side|right side|side of (?:my|his|her|their|the) body|half (?:of )?(?:my|his|her|their|the) body|arm and leg|left arm and leg|right arm and leg) (?:[^ ]+ ){0,4}?(?:weak\w*|numb\w*|paralys\w*|paralyz\w*|limp|dead|floppy|heavy|not working|will not move|can not move|useless|gave way)\b",
    ),
    (
        Sig::OneSideWeak,
        r"\b(?:weak\w*|numb\w*|paralys\w*|paralyz\w*|no feeling|can not move|can not lift|can not feel) (?:[^ ]+ ){0,4}?(?:one side|left side|right side|arm and leg|down one side|side of (?:my|his|her|their) (?:body|face))\b",
    ),
    (
        Sig::OneSideWeak,
        r"\b(?:arm|leg|hand) (?:[^ ]+ ){0,2}?(?:suddenly )?(?:went|gone|going|has gone|is|became|feels) (?:weak|limp|floppy|useless)\b",
    ),
    (
        Sig::OneSideWeak,
        r"\b(?:can not|could not|unable to|not able to) (?:lift|raise) (?:my|his|her|their|one|the|either|both) (?:arm|arms|left arm|right arm)\b",
    ),
    (
        Sig::StrokeWord,
        r"\b(?:stroke|strokes|mini stroke|mini strokes|tia|tias|brain bleed|bleed on the brain|bleeding on the brain|brain haemorrhage|brain hemorrhage)\b",
    ),
    (
        Sig::SuddenVision,
        r"\b(?:sudden|suddenly) (?:[^ ]+ ){0,3}?(?:lost|lose|losing|loss of|can not see|blind|double vision|vision)\b",
    ),
    (
        Sig::SuddenVision,
        r"\b(?:lost|losing|loss of|lose) (?:the |all |my |his |her )?(?:vision|sight) (?:in|of|out of) (?:one|my|his|her|their|the|left|right|both)\b",
    ),
    (Sig::SuddenVision, r"\b(?:gone|went|going) blind\b"),
    (
        Sig::Thunderclap,
        r"\bworst (?:[^ ]+ ){0,1}?(?:headache|headaches|head pain|migraine)\b",
    ),
    (Sig::Thunderclap, r"\bthunderclap\b"),
    (
        Sig::Thunderclap,
        r"\b(?:headache|head pain|pain in (?:my|his|her|the) head) (?:[^ ]+ ){0,4}?like (?:i was |being |i had been |someone |i got |he was |she was )?(?:hit|kicked|struck|punched|smacked|whacked|an explosion|a bomb)\b",
    ),
    (
        Sig::Headache,
        r"\b(?:headache|headaches|head pain|head hurts|head is pounding|head is killing|migraine|head ache|pounding head|splitting head|pain in (?:my|his|her|the) head)\b",
    ),
    (
        Sig::SuddenOnset,
        r"\b(?:sudden|suddenly|came on (?:so )?(?:fast|quick|quickly|suddenly|instantly)|out of nowhere|out of the blue|instantly|within seconds|excruciating|explod\w*|unbearable)\b",
    ),
    // --- Breathing ---
    (
        Sig::Breathless,
        r"\b(?:can not|could not|unable to|not able to|struggling to|struggle to|struggled to|struggles to|hard to|difficult to|fighting to|barely|hardly) (?:[^ ]+ ){0,2}?(?:breath|breathing)\b",
    ),
    (
        Sig::Breathless,
        r"\bwheez\w* (?:[^ ]+ ){0,3}?(?:so bad|so badly|badly|really bad|can not (?:speak|talk|breath)|struggling)\b",
    ),
    (
        Sig::Breathless,
        r"\b(?:trouble|difficulty|difficulties|problems|problem|struggling|struggle|hard time|issues|laboured|labored) (?:with )?(?:my |his |her |their |the )?(?:breathing|breath)\b",
    ),
    (Sig::Breathless, r"\b(?:short|shortness|out) of breath\b"),
    (
        Sig::Breathless,
        r"\b(?:breathless\w*|gasping|dyspnoea|dyspnea)\b",
    ),
    (
        Sig::Breathless,
        r"\b(?:gasping|struggling|fighting|desperate|hungry) for (?:air|breath|oxygen)\b",
    ),
    (
        Sig::Breathless,
        r"\b(?:can not|could not|unable to|not able to) (?:get|catch) (?:my |his |her |their |a |enough |any )?(?:air|breath|oxygen)\b",
    ),
    (
        Sig::Breathless,
        r"\bbreathing (?:[^ ]+ ){0,3}?(?:fast|rapid|rapidly|noisy|laboured|labored|weird|strange|shallow|rattly|grunting|funny|struggling|hard|difficult|bad|worse|heavy|heavily|quick)\b",
    ),
    (
        Sig::Breathless,
        r"\b(?:can not|could not|unable to|not able to) (?:finish|complete|say|speak in|talk in|get out) (?:a |full |whole |my |his |her )?(?:sentence|sentences)\b",
    ),
    (
        Sig::Breathless,
        r"\b(?:ribs|chest|tummy|stomach|neck|skin) (?:[^ ]+ ){0,3}?(?:sucking in|caving in|pulling in|sinking in|going in and out)\b",
    ),
    (
        Sig::NotBreathing,
        r"\b(?:not breathing|stopped breathing|stops breathing|has stopped breathing|no pulse|turned blue|turning blue|going blue|gone blue|went blue|turned grey|turning grey)\b",
    ),
    (
        Sig::NotBreathing,
        r"\b(?:lips|lip|face|skin|fingertips|tongue|mouth) (?:[^ ]+ ){0,3}?(?:blue|bluish|blueish|grey|gray|dusky)\b",
    ),
    (
        Sig::NotBreathing,
        r"\b(?:blue|bluish|blueish|grey|gray|dusky) (?:lips|lip|face|tongue|fingertips)\b",
    ),
    (
        Sig::Choking,
        r"\b(?:choking|choked on|choke on|chokes on|something stuck in (?:my|his|her|their|the) (?:throat|windpipe)|food stuck in (?:my|his|her|their|the) (?:throat|windpipe))\b",
    ),
    (Sig::AsthmaSevere, r"\b(?:asthma attack|asthma attacks)\b"),
    (
        Sig::AsthmaSevere,
        r"\b(?:inhaler|inhalers|ventolin|salbutamol|puffer) (?:[^ ]+ ){0,3}?(?:is not|not|does not|did not|has not|will not|are not|no longer|is no longer) (?:working|helping|help|work|helped|worked|doing anything|touching it)\b",
    ),
    (
        Sig::Drowning,
        r"\b(?:drowning|drowned|nearly drowned|near drowning|pulled (?:him|her|them) out of the (?:water|pool|sea|river|bath))\b",
    ),
    (Sig::Wheeze, r"\bwheez\w*\b"),
    // --- Sepsis ---
    (
        Sig::SepsisWord,
        r"\b(?:sepsis|septic|septicaemia|septicemia|blood poisoning|septic shock)\b",
    ),
    (
        Sig::Mottled,
        r"\b(?:mottled|mottling|blotchy blue|blue blotchy)\b",
    ),
    (
        Sig::Mottled,
        r"\bskin (?:[^ ]+ ){0,2}?(?:mottled|blotchy and blue|pale and cold|cold and pale|grey and cold|ashen)\b",
    ),
    (
        Sig::Fever,
        r"\b(?:fever|fevers|feverish|febrile|temperature|temp|temps|high temp|burning up|pyrexia|pyrexial|hot to (?:the )?touch|feels (?:very |really |so )?hot|felt (?:very |really |so )?hot|chills|shivering|shivers|shivery)\b",
    ),
    (
        Sig::Infection,
        r"\b(?:infection|infections|infected|uti|utis|kidney infection|pneumonia|cellulitis|abscess)\b",
    ),
    (
        Sig::Rigors,
        r"\b(?:uncontrollabl\w* (?:shiver\w*|shak\w*)|shaking uncontrollably|shivering uncontrollably|rigors|rigours|teeth (?:are )?chattering)\b",
    ),
    (
        Sig::Dying,
        r"\b(?:never felt this (?:ill|unwell|bad|sick|poorly)|(?:feel|feels|feeling|felt) (?:like )?(?:i am|i m) (?:going to die|dying|gonna die)|(?:feel|feels|feeling) like (?:he is|she is|they are) dying|think (?:i am|he is|she is|they are) dying|something is (?:really |very |seriously )?wrong)\b",
    ),
    (
        Sig::Confusion,
        r"\b(?:confus\w*|disorientat\w*|disoriented|delirious|delirium|not making sense|talking nonsense|not (?:himself|herself|themselves|myself)|does not know where (?:he|she|they) (?:is|are)|does not (?:recognise|recognize|know) (?:me|us|anyone)|very drowsy|really drowsy|so drowsy|extremely drowsy|hard to wake|difficult to wake)\b",
    ),
    (
        Sig::NoUrine,
        r"\b(?:not|has not|have not|had not|did not|no|barely|hardly|can not) (?:[^ ]+ ){0,2}?(?:peed|pee|weed|wee|urinated|urinating|passed urine|passed water|wet nappy|wet nappies|wet diaper|wet diapers)\b",
    ),
    // --- Anaphylaxis ---
    (Sig::AnaphWord, r"\b(?:anaphyla\w*|allergic shock)\b"),
    (
        Sig::AirwaySwelling,
        r"\b(?:lip|lips|tongue|throat|mouth|airway|airways|uvula) (?:[^ ]+ ){0,3}?(?:swell\w*|swollen|puff\w*|closing|closed|tight|tightening|tighter|blowing up|getting bigger|thick)\b",
    ),
    (
        Sig::AirwaySwelling,
        r"\b(?:swell\w*|swollen|puffy|puffed up|tight|tightness|closing) (?:[^ ]+ ){0,2}?(?:lip|lips|tongue|throat|airway)\b",
    ),
    (
        Sig::FaceSwelling,
        r"\b(?:face|cheeks) (?:[^ ]+ ){0,3}?(?:swell\w*|swollen|puff\w*|blowing up|blown up)\b",
    ),
    (
        Sig::FaceSwelling,
        r"\b(?:swollen|puffy|puffed up) (?:face|cheeks)\b",
    ),
    (
        Sig::Hives,
        r"\b(?:hives|welts|urticaria|itchy rash|rash all over|covered in (?:a )?(?:rash|hives|spots|welts|red blotches)|itchy all over|blotchy rash)\b",
    ),
    (
        Sig::Allergen,
        r"\b(?:(?:ate|eaten|eating|eat|had|having|took|taken|taking|started|after|tried|touched|stung by|bitten by|given) (?:[^ ]+ ){0,3}?)?(?:peanut|peanuts|nut|nuts|cashew|cashews|almond|almonds|walnut|walnuts|pistachio|pistachios|hazelnut|hazelnuts|sesame|shellfish|prawn|prawns|shrimp|lobster|crab|mussels|penicillin|amoxicillin|antibiotic|antibiotics|new (?:medication|medicine|tablets|pills|drug)|bee|bees|wasp|wasps|hornet|sting|stung|allergic|allergy|allergies|latex|contrast dye)\b",
    ),
    (
        Sig::EpiPen,
        r"\b(?:used|use|using|gave|give|given|giving|injected|jabbed|administered|did) (?:[^ ]+ ){0,2}?(?:epipen|epipens|epi pen|adrenaline|auto injector|autoinjector|jext|emerade)\b",
    ),
    // --- Meningitis ---
    (
        Sig::MeningWord,
        r"\b(?:meningitis|meningococcal|meningococcus)\b",
    ),
    (
        Sig::NonBlanchRash,
        r"\b(?:rash|spots|blotches|dots) (?:[^ ]+ ){0,5}?(?:does not|did not|will not|not|is not|has not|do not|are not) (?:fade|fades|fading|blanch|blanches|blanching|go white|turn white|go pale|disappear when|disappear under|go away when|go away under)\b",
    ),
    (
        Sig::NonBlanchRash,
        r"\b(?:non blanching|nonblanching|non blanchable)\b",
    ),
    (
        Sig::NonBlanchRash,
        r"\b(?:glass|tumbler) (?:[^ ]+ ){0,8}?(?:still there|still see|still visible|can still see|stays|stayed|does not fade|did not fade|not fading|not fade)\b",
    ),
    (
        Sig::NonBlanchRash,
        r"\b(?:still there|still see|still visible|can still see) (?:[^ ]+ ){0,4}?(?:glass|tumbler)\b",
    ),
    (
        Sig::NonBlanchRash,
        r"\b(?:purple|purplish|dark red|reddish purple|maroon|bruise like) (?:[^ ]+ ){0,2}?(?:spots|rash|blotches|pinpricks|pin pricks|dots)\b",
    ),
    (
        Sig::NonBlanchRash,
        r"\b(?:pinprick|pinpricks|pin prick|pin pricks|petechia\w*|purpura)\b",
    ),
    (Sig::StiffNeck, r"\b(?:stiff|rigid|painful|sore) neck\b"),
    (
        Sig::StiffNeck,
        r"\bneck (?:[^ ]+ ){0,2}?(?:stiff|rigid|stiffness|hurts to bend|hurts to move)\b",
    ),
    (
        Sig::StiffNeck,
        r"\b(?:can not|could not|unable to|not able to) (?:bend|move|touch|put|get) (?:[^ ]+ ){0,3}?(?:neck|chin)\b",
    ),
    (
        Sig::Photophobia,
        r"\b(?:photophobia|sensitive to (?:the )?light|light sensitivity|sensitivity to light|light hurts|lights hurt|can not (?:stand|bear|look at|handle) (?:the )?(?:light|lights|bright))\b",
    ),
    (
        Sig::Photophobia,
        r"\b(?:light|lights) (?:[^ ]+ ){0,3}?(?:hurts|hurt|hurting|painful|unbearable)\b",
    ),
    (Sig::Rash, r"\b(?:rash|rashes|spots|blotches)\b"),
    // --- Self-harm ---
    (
        Sig::SelfHarm,
        r"\b(?:kill|killing|end|ending|take|taking|off) (?:myself|my self|my own life|my life)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:suicid\w*|self harm\w*|selfharm\w*|self injur\w*)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:kill|killing|end|ending|take|taking) (?:himself|herself|themselves|themself|his own life|her own life|their own life|his life|her life|their life)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:harming|cutting|burning|starving) (?:himself|herself|themselves|themself)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:end it all|ending it all|end everything|end it tonight|end it today|end it now|end it soon)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:want|want to|going|going to|planning|plan|thinking about|thought about|tempted|urge|urges|feel like) (?:[^ ]+ ){0,2}?(?:hurt|harm|cut|cutting|hurting|harming|burn|burning) (?:myself|my self|my wrists|my arms|my legs)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:hurting|harming|cutting|burning|hitting|starving) myself\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:cut|cutting|slit|slash|slashing) (?:my|his|her) (?:wrist|wrists|throat)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:want|wants|wanted|wish|wishes|wishing|would rather|ready|prefer|better off) (?:[^ ]+ ){0,2}?(?:die|be dead|dead|not wake up|not be here|not exist|disappear forever|sleep forever|never wake up|not be alive)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:do not|does not|no longer|not|never) (?:want|wish) (?:to )?(?:live|be alive|be here anymore|be here any more|be here any longer|exist|go on living|go on anymore|wake up|carry on|be around anymore)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:no|not any|there is no|what is the) (?:point|reason) (?:in |to |of )?(?:living|live|life|going on|being alive|carrying on|being here)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:do not|does not|can not|could not|not) (?:see|find) (?:the |any )?(?:point|reason) (?:in |to |of )?(?:living|live|life|going on|being alive|carrying on|being here|anything)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:better off|be better off) (?:without me|dead|if i (?:was|were) (?:gone|dead))\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:can not|could not) (?:go on|carry on|take it|live like this|do this|cope) (?:anymore|any more|any longer)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:go to sleep|fall asleep|sleep) and (?:never|not) wake up\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:thinking of|thinking about|going to|want to|planning to|plan to|tempted to) (?:take|taking|swallow|swallowing) (?:all|a load|loads|a bunch|the rest|a whole|a handful|an overdose|too many)\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:hang|hanging|drown|drowning|throw|throwing|shoot|shooting|poison|poisoning) myself\b",
    ),
    (
        Sig::SelfHarm,
        r"\b(?:jump|jumping) (?:off|from|in front of) (?:a |the )?(?:bridge|building|roof|cliff|train|car|bus|balcony|motorway|tower)\b",
    ),
    (
        Sig::HarmBaby,
        r"\b(?:hurt|harm|kill|shake|smother|suffocate|drown) (?:my |the |our )?(?:baby|newborn)\b",
    ),
    // --- Bleeding ---
    (
        Sig::HeavyBleeding,
        r"\b(?:bleed|bleeding|blood|bleeds|nosebleed|nose bleed|cut|wound|gash) (?:[^ ]+ ){0,6}?(?:will not|does not|can not|is not|not|has not|did not|would not) (?:stop|stopping|slow|slowing|ease|easing|clot|clotting)\w*\b",
    ),
    (
        Sig::HeavyBleeding,
        r"\b(?:heavy|heavily|severe|severely|massive|uncontrolled|uncontrollable|profuse|profusely|serious|major|lots of|loads of|so much|a lot of|excessive|arterial) (?:[^ ]+ ){0,1}?(?:bleeding|blood loss|bleed|haemorrhag\w*|hemorrhag\w*)\b",
    ),
    (
        Sig::HeavyBleeding,
        r"\bbleed\w* (?:[^ ]+ ){0,2}?(?:heavily|a lot|badly|everywhere|profusely|like crazy|non stop|nonstop|so much|loads|buckets|really bad|out)\b",
    ),
    (
        Sig::HeavyBleeding,
        r"\b(?:pool|pools|puddle|puddles|lots|loads|tons|so much|a lot|litres|cups|buckets|pints) of blood\b",
    ),
    (
        Sig::HeavyBleeding,
        r"\b(?:spurting|gushing|pouring|pumping|squirting|streaming) (?:out )?(?:of )?(?:blood|bright red blood)\b",
    ),
    (
        Sig::HeavyBleeding,
        r"\bblood (?:[^ ]+ ){0,2}?(?:spurting|gushing|pouring|pumping|everywhere|squirting|streaming|soaking|soaked)\b",
    ),
    (
        Sig::BleedingAny,
        r"\b(?:bleed|bleeding|bleeds|bled|blood|bloody|haemorrhag\w*|hemorrhag\w*|spotting|clots|clot)\b",
    ),
    (
        Sig::Soaking,
        r"\b(?:soak\w*|drenched|through) (?:[^ ]+ ){0,3}?(?:towel|towels|bandage|bandages|pad|pads|dressing|dressings|sheets|cloth|tissue|tissues|plaster)\b",
    ),
    (
        Sig::Soaking,
        r"\b(?:pad|pads|towel|towels) (?:an|every|each|per) (?:hour|half hour)\b",
    ),
    (
        Sig::VomitBlood,
        r"\b(?:vomit\w*|throwing up|threw up|coughing up|coughed up|cough up|coughing|puking|spitting up|sick) (?:[^ ]+ ){0,2}?(?:blood|bright red)\b",
    ),
    (
        Sig::VomitBlood,
        r"\bblood in (?:my |his |her |their |the )?(?:vomit|sick)\b",
    ),
    (
        Sig::VomitBlood,
        r"\b(?:vomit|sick|vomiting) (?:[^ ]+ ){0,3}?coffee grounds\b",
    ),
    (
        Sig::VomitBlood,
        r"\b(?:black|tarry) (?:[^ ]+ ){0,2}?(?:poo|poos|poop|stool|stools|bowel movement|bowel movements)\b",
    ),
    // --- Seizure / collapse ---
    (
        Sig::Seizure,
        r"\b(?:seizure|seizures|seizing|convuls\w*|epileptic fit|grand mal|status epilepticus|tonic clonic)\b",
    ),
    (
        Sig::Seizure,
        r"\b(?:having|had|has had|is having|gone into|went into|having another|had another) (?:a )?fits?\b",
    ),
    (
        Sig::Seizure,
        r"\b(?:is|are|was|started|keeps|been|still|kept) fitting\b",
    ),
    (
        Sig::Seizure,
        r"\b(?:jerking|twitching) (?:[^ ]+ ){0,2}?(?:uncontrollably|all over|and unresponsive)\b",
    ),
    (
        Sig::Seizure,
        r"\beyes (?:[^ ]+ ){0,2}?(?:rolled|rolling) (?:back|up)\b",
    ),
    (
        Sig::Collapse,
        r"\b(?:collapsed|collapse|collapses|collapsing|passed out|pass out|passes out|passing out|fainted|faints|blacked out|blacking out|black out|lost consciousness|losing consciousness|loss of consciousness|unconscious|unresponsive|not responding|will not respond|keeled over|slumped over|went limp|gone limp|out cold|not conscious)\b",
    ),
    (
        Sig::Collapse,
        r"\bfound (?:him|her|them|my [^ ]+|dad|mum|mom|grandad|grandma|nan) (?:[^ ]+ ){0,2}?(?:on the floor|on the ground|on the bathroom floor|unconscious|collapsed)\b",
    ),
    (
        Sig::Unrousable,
        r"\b(?:can not|could not|unable to|will not|hard to|difficult to|impossible to|struggling to|not able to) (?:wake|rouse)\b",
    ),
    (
        Sig::Unrousable,
        r"\b(?:can not|could not|unable to|will not|not able to) be (?:woken|wakened|roused)\b",
    ),
    (
        Sig::Drowsy,
        r"\b(?:drowsy|sleepy|can not stay awake|keeps falling asleep|dazed|groggy|out of it)\b",
    ),
    // --- Poisoning / overdose ---
    (
        Sig::Overdose,
        r"\b(?:overdose|overdosed|overdosing|overdoses|poisoned|poisoning|carbon monoxide|alcohol poisoning)\b",
    ),
    (
        Sig::Overdose,
        r"\b(?:co|carbon monoxide|gas) (?:alarm|detector) (?:[^ ]+ ){0,2}?(?:going off|went off|beeping|sounding|alarming)\b",
    ),
    (
        Sig::ToxicIngestion,
        r"\b(?:swallowed|swallow|swallowing|ate|eaten|eating|drank|drunk|drinking|licked|ingested|chewed|chewing|sucked|got into|inhaled|sniffed|had|has had) (?:[^ ]+ ){0,4}?(?:bleach|poison|poisonous|antifreeze|weedkiller|weed killer|detergent|washing (?:pod|pods|tablet|tablets|liquid|powder)|laundry (?:pod|pods|tablet|tablets|liquid|capsule|capsules)|dishwasher (?:tablet|tablets|pod|pods|powder)|button batter\w*|batteries|battery|magnet|magnets|drain cleaner|oven cleaner|cleaning (?:product|products|fluid|spray|liquid)|white spirit|lighter fluid|petrol|paraffin|kerosene|turps|turpentine|nail polish remover|acetone|e liquid|vape (?:juice|liquid)|rat poison|slug pellets|lamp oil|fabric softener|disinfectant|dettol|toilet cleaner|descaler|caustic|methanol|screenwash|wild mushrooms|unknown berries)\b",
    ),
    (
        Sig::PillIntake,
        r"\b(?:took|taken|take|taking|swallowed|ate|eaten|had|necked|downed|popped|overdosed on) (?:[^ ]+ ){0,5}?(?:pills|pill|tablets|tablet|tabs|capsules|caps|paracetamol|paracetamols|tylenol|acetaminophen|panadol|ibuprofen|nurofen|advil|aspirin|aspirins|co codamol|cocodamol|codeine|tramadol|oxycodone|morphine|insulin|meds|medication|medications|medicine|medicines|painkillers|antidepressants|sertraline|citalopram|fluoxetine|amitriptyline|diazepam|valium|zopiclone|sleeping pills|sleepers|lithium|benzos|opioids|heroin|fentanyl)\b",
    ),
    (
        Sig::ChildIngestion,
        r"\b(?:toddler|child|kid|son|daughter|baby|boy|girl|grandson|granddaughter|nephew|niece|little one|[0-9]+ (?:year|yr|month) old|[0-9]+ yo) (?:[^ ]+ ){0,3}?(?:swallowed|ate|eaten|drank|drunk|got into|chewed|has eaten|has swallowed|sucked|licked) (?:[^ ]+ ){0,4}?(?:pills|pill|tablets|tablet|tabs|capsules|medicine|medication|meds|paracetamol|ibuprofen|calpol|vitamins|iron tablets|gummies|nicotine|cigarette|cigarettes|vape|cannabis|edible|edibles|alcohol|vodka|gin|wine)\b",
    ),
    // --- Trauma ---
    (
        Sig::TraumaEvent,
        r"\b(?:hit|knocked down|knocked over|run over|ran over|struck|mowed down|dragged) by (?:a |an |the )?(?:car|cars|bus|lorry|truck|van|motorbike|motorcycle|train|vehicle|taxi|tram|bike)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:car|motorbike|motorcycle|motor bike|motorway|road|traffic|head on|high speed|rtc|rta) (?:crash|accident|collision|smash|wreck|pile up)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:crashed|rolled|flipped|wrecked) (?:[^ ]+ ){0,2}?(?:car|motorbike|motorcycle|van)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:fell|fallen|falling|fall) (?:[^ ]+ ){0,3}?(?:from|off|down|out of|through) (?:[^ ]+ ){0,3}?(?:ladder|roof|stairs|staircase|balcony|window|height|scaffold\w*|cliff|horse|tree|bunk bed|loft|building|wall|flight of stairs|trampoline)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:stabbed|stab wound|stab wounds|gunshot|gun shot|shot wound|impaled|knife wound|glassed)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:been|was|got|get|getting|is|has been|have been) shot\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:broken|broke|snapped|fractured|break) (?:[^ ]+ ){0,1}?(?:neck|back|spine|femur|thigh|thigh bone|hip|pelvis|skull)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\bbone (?:[^ ]+ ){0,2}?(?:sticking|poking|coming) out\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:open fracture|compound fracture|severe burn|severe burns|major burn|major burns|deep burn|deep burns|large burn|third degree burn|third degree burns|full thickness burn)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:burned|burnt|scalded|scald) (?:[^ ]+ ){0,3}?(?:face|chest|whole body|most of|large|airway|eyes|all over)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:electrocuted|electric shock|electrical shock|crush injury|crushed under|crushed by|trapped under|pinned under|knocked out|knocked unconscious|thrown from)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:amputat\w*|severed|chopped off|cut off|sliced off|ripped off) (?:[^ ]+ ){0,2}?(?:finger|fingers|thumb|hand|toe|toes|foot|arm|leg|ear)\b",
    ),
    (
        Sig::TraumaEvent,
        r"\b(?:finger|fingers|thumb|hand|toe|foot|arm|leg|ear) (?:[^ ]+ ){0,2}?(?:cut off|chopped off|severed|hanging off)\b",
    ),
    (
        Sig::HeadHit,
        r"\b(?:hit|banged|bumped|smashed|whacked|cracked|knocked|bashed|struck|hurt) (?:[^ ]+ ){0,2}?head\b",
    ),
    (
        Sig::HeadHit,
        r"\bhead (?:injury|injuries|trauma|wound|knock|bump)\b",
    ),
    (
        Sig::HeadHit,
        r"\bfell (?:[^ ]+ ){0,4}?(?:head|face first|head first)\b",
    ),
    // --- Obstetric ---
    (
        Sig::Pregnant,
        r"\b(?:pregnant|pregnancy|preg|preggers|preggo|expecting a baby|expecting twins|trimester|my bump|the bump|baby bump|antenatal|foetus|fetus|expectant mother|gestation)\b",
    ),
    (
        Sig::Pregnant,
        r"\b[0-9]+ (?:weeks|wks|wk|week) (?:along|gone)\b",
    ),
    (
        Sig::Postpartum,
        r"\b(?:gave birth|given birth|giving birth|had (?:my |a |the |our )?(?:baby|son|daughter|twins|c section|caesarean|section|little boy|little girl)|delivered (?:my |a |the |our )?(?:baby|son|daughter|twins)|postpartum|post partum|postnatal|post natal|after (?:the |my )?(?:birth|delivery|c section|caesarean))(?: (?:[0-9]+|a|one|two|three|four|five|six|few|couple of) (?:days|weeks|day|week) ago| last week| yesterday| this week| on [a-z]+day)?\b",
    ),
    (
        Sig::BabyNotMoving,
        r"\b(?:baby|bump|babys|fetus|foetus) (?:[^ ]+ ){0,3}?(?:not moving|not moved|has not moved|stopped moving|is not moving|moving less|less active|not kicking|stopped kicking|not as active|much quieter|quieter than usual|gone quiet)\b",
    ),
    (
        Sig::FetalMovement,
        r"\b(?:reduced|fewer|decreased) (?:fetal |foetal |baby |babys )?(?:movements|kicks)\b",
    ),
    (
        Sig::FetalMovement,
        r"\b(?:no|less|not many|not felt any|not feeling any|can not feel any) (?:fetal|foetal|baby|babys) (?:movements|movement|kicks|kicking)\b",
    ),
    (
        Sig::FetalMovement,
        r"\b(?:not|have not|has not|did not|can not|could not) (?:felt|feel|feeling) (?:[^ ]+ ){0,2}?(?:baby|him|her|bump|them) (?:move|moving|kick|kicking)\b",
    ),
    (
        Sig::WatersBroken,
        r"\b(?:waters|water) (?:have |has |just )?(?:broke|broken|gone|went|burst|breaking)\b",
    ),
    (
        Sig::FluidLeak,
        r"\b(?:leaking|leak|gush|gushing|trickle|trickling) (?:[^ ]+ ){0,2}?(?:fluid|water|liquid)\b",
    ),
    (
        Sig::AbdoPain,
        r"\b(?:tummy|stomach|belly|abdominal|abdomen|pelvic|lower back|side|shoulder tip|period like|period type|womb|uterus) (?:[^ ]+ ){0,2}?(?:pain|pains|cramp|cramps|cramping|ache|agony|hurts|hurting|tight|tightening)\b",
    ),
    (
        Sig::AbdoPain,
        r"\b(?:pain|pains|cramp|cramps|cramping) (?:[^ ]+ ){0,3}?(?:tummy|stomach|belly|abdomen|pelvis|side|shoulder tip)\b",
    ),
    (
        Sig::SeverePain,
        r"\b(?:severe|bad|sharp|stabbing|terrible|really bad|awful|intense|constant|excruciating|unbearable|agonising|agonizing|lot of|so much) (?:[^ ]+ ){0,2}?(?:pain|pains|cramps|cramping)\b",
    ),
    (
        Sig::SeverePain,
        r"\b(?:in agony|doubled over|screaming in pain|crying in pain)\b",
    ),
    (
        Sig::Vision,
        r"\b(?:blurred vision|blurry vision|flashing lights|flashes|seeing spots|seeing stars|spots in (?:my|front of my) (?:eyes|vision)|vision (?:[^ ]+ ){0,2}?(?:blurry|blurred|funny|weird|fuzzy|spotty|strange))\b",
    ),
    // --- Paediatric ---
    (
        Sig::BabyWord,
        r"\b(?:baby|babys|newborn|newborns|new born|infant|neonate|little one|bub|bubba)\b",
    ),
    (
        Sig::Newborn,
        r"\b(?:newborn|new born|neonate|neonatal|few days old|few weeks old|couple of weeks old|couple of days old)\b",
    ),
    (
        Sig::ChildContext,
        r"\b(?:baby|babys|newborn|infant|toddler|toddlers|son|daughter|child|kid|little one|boy|girl|grandson|granddaughter|nephew|niece|[0-9]+ (?:year|yr|month|week|day)s? old|[0-9]+ (?:yo|months|weeks))\b",
    ),
    (
        Sig::PaedsDanger,
        r"\b(?:floppy|limp|lethargic|listless|unresponsive|not feeding|will not feed|not eating or drinking|not drinking anything|refusing (?:to feed|feeds|all feeds|the bottle|bottles|to drink|milk|the breast|to eat or drink)|not (?:taking|drinking) (?:any )?(?:milk|feeds|bottle|bottles|fluids)|high pitched (?:cry|crying|scream|screaming)|weak cry|bulging (?:soft spot|fontanelle|fontanel)|sunken (?:soft spot|fontanelle|fontanel)|soft spot (?:[^ ]+ ){0,2}?(?:bulging|sunken)|no wet nappies|dry nappies|not had a wet nappy|no wet nappy|pale and floppy|grunting|very sleepy|not waking|will not wake|can not keep (?:anything|fluids|milk) down|green vomit|vomiting green|projectile)\b",
    ),
];

/// Idioms and figurative speech. A cue overlapping one of these is ignored.
const IDIOM_SRC: &[&str] = &[
    r"\b(?:nearly|almost|practically|about to|going to|will|would|could|you will) (?:have |had |give |gave |giving |get )?(?:me |him |her |them |us |you )?(?:a )?heart attacks?\b",
    r"\b(?:gave|give|giving|gives) (?:me|him|her|us|them|you) (?:a )?heart attack\b",
    r"\bheart attack (?:on a plate|waiting to happen|burger|food|meal)\b",
    r"\b(?:traffic|work|job|boss|kids|heat|suspense|waiting|wait|exam|exams|commute|this|that|you|homework|deadline|deadlines|bill|bills|rent|shoes|queue|noise|neighbours|neighbors|it) (?:is |are |was |were )?killing me\b",
    r"\bdying (?:to|for)\b",
    r"\b(?:die|died|dying|dead) (?:of|from|with) (?:embarrassment|shame|boredom|laughter|laughing|cringe|heat|hunger|thirst|curiosity|envy|jealousy)\b",
    r"\b(?:want|wanted|going|gonna) (?:to )?die of\b",
    r"\b(?:die|dying|died|dead) laughing\b",
    r"\bdead (?:tired|on my feet|bored|serious|funny|easy|on time|set)\b",
    r"\brather die than\b",
    r"\bwould die for\b",
    r"\bheart (?:skipped|skips|skipping|skip) a beat\b",
    r"\bheart (?:sank|sinks|broke|breaks|melted|melts|stopped when|stopped for a second|is in my mouth|was in my mouth|goes out|went out)\b",
    r"\bbreath ?taking\b",
    r"\b(?:took|takes|take|taking) (?:my|your|his|her|our|their) breath away\b",
    r"\b(?:under|save|waste of|wasting) (?:my |your |his |her |their )?breath\b",
    r"\bbreath of fresh air\b",
    r"\bbated breath\b",
    r"\b(?:bleed|bleeding|bled) (?:me|us|them|him|her|you) dry\b",
    r"\bbleeding (?:heart|edge)\b",
    r"\bkill (?:myself|me) laughing\b",
    r"\bkilled myself laughing\b",
    r"\bkilling myself (?:laughing|at work)\b",
    r"\b(?:shoot|shot|shooting) (?:myself|yourself|himself|herself) in the foot\b",
    r"\bswallow me (?:up|whole)\b",
    r"\b(?:nearly|almost) (?:fainted|passed out|died|collapsed|had a stroke|had a seizure|had a fit) (?:when|at|from|because)\b",
    r"\b(?:fainted|passed out|collapsed) (?:when i saw|at the price|at the bill|laughing)\b",
    r"\b(?:collapsed|collapse|collapsing) (?:in|with|into) (?:laughter|giggles|tears|bed)\b",
    r"\bso (?:tired|hungry|bored|hot|full|sleepy|happy|relieved) (?:that )?i (?:could|might|am going to|will|nearly|almost) (?:pass out|collapse|faint|die|drop|cry)\b",
    r"\b(?:choked|choke|choking) (?:up|back)\b",
    r"\bdrowning in\b",
    r"\b(?:face|jaw) (?:dropped|fell) when\b",
    r"\bseizure of\b",
    r"\bpoison(?:ed|ing|s)? (?:the|my|his|her|their) (?:mind|minds|relationship|atmosphere|well)\b",
    r"\b(?:overdose|overdosed|overdosing) on (?:coffee|caffeine|chocolate|sugar|netflix|tv|sun|sunshine|christmas|cake|love)\b",
    r"\bpain in the (?:neck|butt|bum|arse|ass|backside)\b",
    r"\bcost (?:me |us |you )?an arm and a leg\b",
    r"\b(?:have|having|had|throw|threw|throwing|pitch|pitched) a (?:fit|hissy fit|wobbly) (?:about|over|when|because|if|at)\b",
    r"\bmy heart is (?:full|heavy|broken)\b",
    r"\bstroke of (?:luck|genius|midnight|brilliance|fortune|the pen)\b",
    r"\bsick (?:and tired|to death) of\b",
];

/// Medical words used in harmless senses. A cue overlapping one of these is ignored.
const HARMLESS_SRC: &[&str] = &[
    r"\bblood (?:test|tests|tested|testing|result|results|work|works|pressure|pressures|sugar|sugars|glucose|donation|donations|donor|donors|bank|type|group|count|counts|cells|sample|samples|draw|drawn|panel|level|levels|orange|oranges|thinner|thinners|vessel|vessels|form|forms|report|transfusion|transfusions)\b",
    r"\bchest (?:of drawers|x ray|x rays|xray|xrays|infection|infections|hair|freezer|press|presses|day|workout|exercise|exercises|muscle|muscles|expansion|fly|flies|strap)\b",
    r"\bsore throats?\b",
    r"\bswollen (?:glands|gland|tonsils|tonsil|lymph nodes|lymph node|ankles|ankle|feet|foot|legs|knee|knees|finger|fingers|toe|toes|gums|gum)\b",
    r"\bstroke (?:risk|risks|prevention|rehab|rehabilitation|recovery|survivor|survivors|clinic|unit|nurse|awareness|association|ward|care|support|service|services|team|patient|patients|medication|meds|research|scale)\b",
    r"\b(?:swimming|back|breast|heat|brush|brushes|master|paint|pen|golf|finishing|piston|butterfly|freestyle|single|key) strokes?\b",
    r"\b(?:risk|risks|chance|chances|odds|likelihood|prevent|preventing|prevention) (?:of )?(?:a |having a |another |getting a )?(?:stroke|strokes|heart attack|heart attacks|seizure|seizures|sepsis|anaphylaxis|overdose|meningitis|suicide)\b",
    r"\b(?:since|after|before|from|post) (?:my|his|her|their|the|a) (?:stroke|heart attack|tia|mini stroke|cardiac arrest|overdose|seizure)\b",
    r"\bstroke (?:the |my |his |her |a )?(?:cat|dog|hair|beard|puppy|kitten|horse)\b",
    r"\bseptic (?:tank|tanks|arthritis|system)\b",
    r"\bsepsis (?:awareness|training|screening|guidelines|campaign|trust|six|pathway)\b",
    r"\bmeningitis (?:b |c |acwy )?(?:vaccine|vaccines|vaccination|vaccinations|jab|jabs|immunisation|immunization|shot|booster)\b",
    r"\bsuicid\w* (?:rate|rates|prevention|squad|statistics|awareness|hotline|helpline|line|bomber|bombers|doors|mission)\b",
    r"\bseizure (?:medication|meds|medicine|tablets|threshold|diary|plan|action plan|free|alert dog|dog)\b",
    r"\bfitting (?:room|rooms|in|for|a|the|new|together|well|nicely|perfectly|properly)\b",
    r"\bfood poisoning\b",
    r"\bhay fever\b",
    r"\bnot responding to\b",
    r"\b(?:app|phone|website|computer|system|screen|server|page|laptop|site|printer) (?:is )?not responding\b",
    r"\b(?:company|business|deal|market|talks|economy|marriage|relationship|plan|plans|government|team|project|sofa|chair|tent|cake|souffle|stock|currency) (?:[^ ]+ ){0,1}?collaps\w*\b",
    r"\bconfus\w* (?:about|by|with|as to|over|what|which|how|why|whether|if|on)\b",
    r"\bcan not (?:talk|speak) (?:right now|now|at the moment|long|for long|much|to|french|spanish|english|german|italian|the language|very well)\b",
    r"\bwake up (?:in the mornings?|early|on time|for work|for school)\b",
    r"\b(?:cutting|hurting|cut|hurt) (?:myself|himself|herself|themselves) (?:shaving|cooking|on|by accident|accidentally|while|when|lifting|playing|at the gym|at work|exercising|doing|chopping)\b",
    r"\bdrowning in (?:work|paperwork|debt|emails|homework|bills|admin|stress|deadlines)\b",
    r"\bbaby (?:aspirin|shower|food|wipes|oil|monitor|carrots|spinach|powder|steps|blues|teeth|sling|clothes)\b",
    r"\bchok\w* (?:hazard|hazards)\b",
    r"\bsick (?:note|leave|day|days|pay)\b",
    r"\bfever (?:dream|tree|pitch)\b",
    r"\bbreath (?:through|thru) (?:my|his|her|the|their) nose\b",
    r"\b(?:bad|morning|fresh|garlic) breath\b",
    r"\bbreath (?:mint|mints|freshener|test|tests)\b",
    r"\btongue (?:tie|tied|twister|in cheek)\b",
    r"\bblack ?out (?:curtains|blinds|blind)\b",
    r"\bfell asleep\b",
    r"\bcarbon monoxide (?:detector|detectors|alarm|alarms) (?:for|to buy|recommend\w*|install\w*|test\w*|fitted|in (?:my|the|our) (?:house|home|flat))\b",
    r"\b(?:heavy|heavily) (?:[^ ]+ ){0,2}?periods?\b",
    r"\bheart (?:rate|rates|healthy|health|monitor|shaped|felt|warming|of gold)\b",
    r"\b(?:get|gets|getting) (?:a bit |a little |slightly )?(?:out of breath|short of breath|breathless) (?:when|after|while|if|on|going|climbing|walking|running|doing)\b",
    r"\b(?:stops|stopped|stop) breathing (?:for a few seconds|for a second|for seconds|in (?:his|her|my|their) sleep|at night|while (?:he|she|i|they) (?:sleeps|sleep|is asleep))\b",
];

/// Negation cues; their scope runs forward up to [`NEG_WINDOW`] words in the clause.
const NEGATION_SRC: &str = r"\b(?:no|not|never|denies|denied|deny|denying|without|none|nor|neither|free of|negative for|absence of|ruled out)\b";

/// Phrases that contain a negation word without negating a following symptom.
const HEDGE_SRC: &str = r"\b(?:not sure|not certain|not know|not knowing|do not know|no idea|no clue|not feeling (?:well|good|great|right|myself|too good)|not well|not good|not great|not right|not normal|not okay|not ok|not himself|not herself|not themselves|not myself|no one|nobody|not stop|not stopping|not going away|not go away|not getting better|not improving|not helping|not working|not help|no better|not better|not responding|not breathing|not moving|not waking|not feeding|not making sense|not long ago|not able|can not|could not|not only|not just|not even)\b";

/// Explicit past-time cues: dates, "years ago", "history of", "used to".
const HIST_STRONG_SRC: &str = r"\b(?:used to|history of|hx of|in (?:19|20)[0-9][0-9]|(?:[0-9]+|a|one|two|three|four|five|six|seven|eight|nine|ten|few|couple of|many|several) (?:years?|yrs?|months?|weeks?|decades?) (?:ago|back)|years ago|months ago|weeks ago|last (?:year|month|week|summer|winter|spring|autumn|fall|christmas|time)|as a (?:child|kid|baby|teenager|teen|toddler)|when i was (?:young|little|a child|a kid|younger|a teenager|a teen|pregnant|[0-9]+)|previous|previously|prior|in the past|survivor|recovered from|since (?:my|his|her|their) (?:stroke|heart attack|tia|seizure|overdose|op|operation|surgery)|after (?:my|his|her|their) (?:stroke|heart attack|tia|seizure)|back in|once before|years back|ages ago)\b";

/// Weak past-time cue ("had"); outweighed by a recency cue anywhere in the sentence.
const HIST_WEAK_SRC: &str = r"\b(?:had)\b";

/// Uses of "had" that do not mark history.
const HIST_IGNORE_SRC: &str = r"\b(?:had to|had enough|had better|not had|had not)\b";

/// Recency cues that override history cues.
const RECENCY_SRC: &str = r"\b(?:today|tonight|now|right now|just|just now|still|currently|at the moment|at present|this (?:morning|afternoon|evening)|earlier today|earlier this (?:morning|afternoon|evening)|last night|yesterday|moments? ago|(?:[0-9]+|a|an|one|two|three|four|five|ten|fifteen|twenty|thirty|forty|few|couple of|several) (?:seconds?|minutes?|mins?|hours?|hrs?|days?) ago|for (?:the (?:last|past) )?(?:[0-9]+|a|an|one|two|three|four|five|ten|fifteen|twenty|thirty|forty|few|couple of|several) (?:seconds?|minutes?|mins?|hours?|hrs?)|since (?:this morning|last night|yesterday|lunch|lunchtime|breakfast|earlier|then))\b";

/// Sentence openers of information-seeking questions.
const OPENER_SRC: &str = r"^(?:(?:hi|hello|hey|hiya|ok|okay|so|um|umm|please|quick question|question|sorry|thanks|doctor|doc|dr|there|good morning|good evening|just|random question|general question) )*(?:what|whats|how|hows|why|when|which|who|where|can you|could you|would you|will you|can u|could u|please explain|explain|describe|define|tell me|is it|is there|are there|is that|is this|are they|are these|does|do (?:i|you|we|people|babies|children|kids|they|women|men|all)|should (?:i|we|you|people|someone|a|an)|would (?:you|u|it|this|a|an|i)|could (?:you|u|it|this|that|a|an|i|anxiety|stress)|can (?:a|an|you|u|i|anxiety|stress|people|someone|it|babies|children|kids|men|women|dehydration|caffeine|this|that|too)|(?:can|could) (?:[^ n][^ ]*|n[^o ][^ ]*|no[^t ][^ ]*|not[^ ]+) (?:[^ ]+ ){0,1}?(?:be|cause|make|lead|give|spread|pass|happen|affect|kill|get|catch|trigger)|if (?:someone|somebody|a person|a child|a baby|you|people|one|anyone|a|an)|when (?:someone|somebody|a person|you)|people|patients|someone|somebody|anyone|a person|symptoms|signs|causes|the signs|the symptoms|difference between|i (?:want|would like|wanted) to (?:know|learn|understand|ask)|i am (?:curious|wondering|interested|studying|writing|reading|learning)|i was (?:wondering|reading|curious)|wondering|curious|info|information|is (?:[^ ]+ ){0,3}?(?:normal|ok|okay|common|serious|dangerous|safe))\b";

/// First-person or caregiver present-tense statements ("I have", "my dad is").
const PERSONAL_SRC: &str = r"\b(?:i am|i have|i feel|i felt|i think i|i can not|i could not|i keep|i just|i got|i started|i took|i ate|i woke|i fell|i hit|i cut|i suddenly|my (?:[^ ]+ ){0,3}?(?:is|are|has|have|had|hurts|hurt|feels|feel|keeps|went|started|will not|can not|could not|looks|seems|just|suddenly|collapsed|fell|fainted|passed|took|ate|swallowed|stopped|got)|(?:he|she|they) (?:is|are|has|have|keeps|just|can not|will not|suddenly|started|looks|seems|went|collapsed|fell|fainted|passed|took|swallowed|stopped)|(?:it is|its) (?:hurting|bleeding|swelling|happening|getting worse))\b";

/// Care-seeking phrases: the writer is deciding what to do about a real situation.
const CARE_SRC: &str = r"\b(?:should i (?:go|call|get|ring|phone|use|give|take (?:him|her|them|my))|should we (?:go|call|ring)|do i (?:need to|have to) (?:go|call|ring|see)|do we (?:need to|have to) (?:go|call|ring)|call (?:an )?ambulance|ring (?:an )?ambulance|ambulance|999|911|112|a e|a and e|emergency room|emergency department|go to (?:the )?(?:hospital|er|emergency)|please help|urgent|urgently|how (?:do|can|should) (?:i|we) (?:stop|slow|help|treat|control))\b";

/// Study, writing or fiction contexts: the whole sentence is informational.
const STRONG_INFO_SRC: &str = r"\b(?:essay|article|assignment|homework|revising|revision|lecture|presentation|research paper|dissertation|thesis|textbook|documentary|podcast|trivia|quiz|exam question|first aid course|reading about|read about|reading up on|learning about|learn about|studying|hypothetically|hypothetical|in general|generally speaking|for a story|novel|screenplay|my character)\b";

/// Topic phrases that make a following cue informational unless the sentence is personal.
const INLINE_INFO_SRC: &str = r"\b(?:signs|sign|symptoms|symptom|causes|cause of|risk factors|types|treatment|treatments|treat|diagnosis|definition|meaning|difference between|information|info|facts|learn|know more|tell me about|explain|explanation|what is|what are|what does|how does|how do|how is|how can|recognise|recognize|spot|identify|prevent)\b";

/// Topic phrases that make a following cue informational even in a personal sentence.
const INLINE_STRONG_SRC: &str = r"\b(?:question|questions|query|queries) (?:about|on|regarding)\b";

/// Mentions of a child, used to accept "is 6 weeks" as an age.
const CHILD_SRC: &str = r"\b(?:baby|babys|newborn|infant|toddler|son|daughter|child|kid|little one|boy|girl|grandson|granddaughter|nephew|niece)\b";

/// Words a negation scope may cover. Beyond this the cue is treated as affirmed.
const NEG_WINDOW: usize = 6;
/// Longest clause scanned as one (words); longer runs without punctuation are cut.
const MAX_CLAUSE_WORDS: usize = 48;
/// Words allowed between an inline topic phrase and the cue it qualifies.
const INFO_WINDOW: usize = 4;

/// Words that end a negation scope.
const SCOPE_BREAKERS: &[&str] = &[
    "now",
    "suddenly",
    "then",
    "except",
    "until",
    "however",
    "yet",
    "although",
    "though",
    "apart",
    "instead",
    "whereas",
    "today",
    "tonight",
    "currently",
];
/// After "and", these words start a new statement and end a negation scope.
const SUBJECTS: &[&str] = &[
    "i", "my", "he", "she", "they", "it", "its", "we", "his", "her", "their", "our", "now",
    "suddenly", "have", "has", "am", "is", "are", "then", "the", "this", "also", "baby", "mum",
    "mom", "dad",
];
/// A clause starting with one of these does not inherit negation from the previous clause.
const START_SUBJECTS: &[&str] = &[
    "i", "my", "he", "she", "they", "it", "its", "we", "his", "her", "their", "our", "now", "and",
    "then", "suddenly", "also", "plus", "the", "this", "that", "baby", "mum", "mom", "dad",
    "today", "so", "yes", "still", "just", "which", "who", "there", "you", "your", "me",
];
/// Possessives that tie a topic phrase to a real person ("signs of my stroke").
const POSSESSIVES: &[&str] = &["my", "his", "her", "their", "our"];

/// Words that turn "took ... pills" into an overdose.
const QUANTITY_WORDS: &[&str] = &[
    "whole", "entire", "too", "lots", "loads", "load", "handful", "handfuls", "bottle", "bottles",
    "packet", "packets", "pack", "packs", "box", "boxes", "strip", "strips", "bunch", "double",
    "triple", "many", "dozens", "hundreds", "rest", "overdose",
];
/// A number followed by one of these is a dose, not a count of tablets.
const DOSE_UNITS: &[&str] = &[
    "mg",
    "mcg",
    "g",
    "ml",
    "mls",
    "units",
    "unit",
    "micrograms",
    "milligrams",
    "iu",
    "grams",
    "percent",
];
/// Words that mark a nearby number as a body temperature.
const TEMP_CONTEXT: &[&str] = &[
    "temp",
    "temps",
    "temperature",
    "temperatures",
    "fever",
    "fevers",
    "thermometer",
    "reading",
    "readings",
    "measured",
    "febrile",
    "pyrexia",
    "pyrexial",
    "spiked",
    "spiking",
    "hit",
    "reached",
    "running",
    "ran",
];
/// Words that mark a nearby number as an oxygen saturation.
const SATS_CONTEXT: &[&str] = &[
    "sats",
    "sat",
    "saturation",
    "saturations",
    "saturating",
    "oxygen",
    "o2",
    "spo2",
    "oximeter",
    "ox",
];

fn compile(src: &str) -> Regex {
    match Regex::new(src) {
        Ok(re) => re,
        Err(err) => panic!("invalid red-flag pattern {src:?}: {err}"),
    }
}

static PATTERNS: LazyLock<Vec<(Sig, Regex)>> = LazyLock::new(|| {
    PATTERN_SRC
        .iter()
        .map(|&(sig, src)| (sig, compile(src)))
        .collect()
});
static SUPPRESSORS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    IDIOM_SRC
        .iter()
        .chain(HARMLESS_SRC.iter())
        .map(|src| compile(src))
        .collect()
});
static NEGATION: LazyLock<Regex> = LazyLock::new(|| compile(NEGATION_SRC));
static HEDGE: LazyLock<Regex> = LazyLock::new(|| compile(HEDGE_SRC));
static HIST_STRONG: LazyLock<Regex> = LazyLock::new(|| compile(HIST_STRONG_SRC));
static HIST_WEAK: LazyLock<Regex> = LazyLock::new(|| compile(HIST_WEAK_SRC));
static HIST_IGNORE: LazyLock<Regex> = LazyLock::new(|| compile(HIST_IGNORE_SRC));
static RECENCY: LazyLock<Regex> = LazyLock::new(|| compile(RECENCY_SRC));
static OPENER: LazyLock<Regex> = LazyLock::new(|| compile(OPENER_SRC));
static PERSONAL: LazyLock<Regex> = LazyLock::new(|| compile(PERSONAL_SRC));
static CARE: LazyLock<Regex> = LazyLock::new(|| compile(CARE_SRC));
static STRONG_INFO: LazyLock<Regex> = LazyLock::new(|| compile(STRONG_INFO_SRC));
static INLINE_INFO: LazyLock<Regex> = LazyLock::new(|| compile(INLINE_INFO_SRC));
static INLINE_STRONG: LazyLock<Regex> = LazyLock::new(|| compile(INLINE_STRONG_SRC));
static CHILD: LazyLock<Regex> = LazyLock::new(|| compile(CHILD_SRC));

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
    let fixed = match word {
        // contractions
        "dont" | "dnt" | "doent" => "do not",
        "doesnt" | "dosnt" | "doesent" | "dosent" | "doesn" => "does not",
        "didnt" | "didint" | "didn" => "did not",
        "isnt" | "isn" | "aint" => "is not",
        "arent" => "are not",
        "wasnt" => "was not",
        "werent" => "were not",
        "cant" | "cannot" | "carnt" | "cnt" => "can not",
        "couldnt" | "couldn" | "cudnt" | "couldent" => "could not",
        "wont" | "wnt" => "will not",
        "wouldnt" => "would not",
        "shouldnt" => "should not",
        "havent" | "havnt" => "have not",
        "hasnt" | "hasn" => "has not",
        "hadnt" => "had not",
        "im" | "iam" => "i am",
        "ive" => "i have",
        "hes" => "he is",
        "shes" => "she is",
        "theyre" => "they are",
        "youre" => "you are",
        "whats" => "what is",
        "thats" => "that is",
        "theres" => "there is",
        "hows" => "how is",
        "wheres" => "where is",
        "u" => "you",
        "ur" => "your",
        "pls" | "plz" => "please",
        "gonna" => "going to",
        "wanna" => "want to",
        "dunno" => "do not know",
        // breathing
        "breathe" | "breth" | "brethe" | "breathh" | "breeth" | "braeth" | "breathes"
        | "breate" | "breahte" => "breath",
        "breathin" | "breating" | "brething" | "breathng" | "breahting" | "breathign"
        | "breething" => "breathing",
        "shortnes" | "shortniss" => "shortness",
        "diffculty" | "dificulty" | "difficulity" => "difficulty",
        "asma" | "asthama" | "athsma" | "asthmer" | "azma" => "asthma",
        "inhailer" | "inhalor" | "inhaller" | "inhealer" => "inhaler",
        "choaking" | "chocking" => "choking",
        "choaked" => "choked",
        // cardiac
        "chesst" | "chst" | "chect" | "cheast" | "chets" | "chesr" | "chestt" => "chest",
        "hart" | "haert" => "heart",
        "attak" | "atack" | "attck" | "attac" | "atak" => "attack",
        "pian" | "painn" => "pain",
        "sweatin" | "swetting" | "sweeting" | "sweatting" => "sweating",
        "swety" => "sweaty",
        // stroke
        "stoke" | "strok" | "storke" | "strock" | "stroek" => "stroke",
        "slured" => "slurred",
        "sluring" | "slurrin" => "slurring",
        "droping" => "drooping",
        "dropy" => "droopy",
        "headach" | "hedache" | "headake" | "headace" | "hedake" | "headahce" | "headche" => {
            "headache"
        }
        // seizure / collapse
        "siezure" | "seizre" | "seisure" | "sezure" | "seazure" | "seizsure" | "seziure"
        | "siezur" => "seizure",
        "siezures" | "seizres" | "seisures" => "seizures",
        "unconcious" | "unconsious" | "unconcsious" | "uncounscious" | "unconscience" => {
            "unconscious"
        }
        "unresponsve" | "unresposive" | "unrespnsive" => "unresponsive",
        "colapsed" | "collasped" | "collpased" | "colapse" => "collapsed",
        "faintd" => "fainted",
        "passd" | "pased" => "passed",
        "conciousness" | "consciousnes" | "conscousness" => "consciousness",
        "concious" => "conscious",
        // self-harm
        "suicde" | "sucide" | "suiside" | "suacide" | "suiscide" => "suicide",
        "sucidal" | "suicdal" | "suisidal" | "suacidal" | "suicidle" => "suicidal",
        "kil" => "kill",
        "myslef" | "mysef" | "myselfe" => "myself",
        // bleeding / vomiting
        "bleading" | "bleeing" | "bleding" | "bleedin" | "bledding" => "bleeding",
        "blead" => "bleed",
        "vomitting" | "vommiting" | "vommitting" | "vomitin" | "vomming" | "puking" => "vomiting",
        "vommited" | "vomitted" | "puked" => "vomited",
        "puke" | "vomet" => "vomit",
        // allergy / swelling
        "swolen" | "swollon" | "swallen" | "swolled" => "swollen",
        "sweling" | "swellling" | "sweeling" => "swelling",
        "tounge" | "toungue" | "tung" | "tonge" => "tongue",
        "thraot" | "throta" | "throath" => "throat",
        "alergic" | "allergc" | "alergik" | "allergick" => "allergic",
        "alergy" | "allergie" => "allergy",
        "alergies" => "allergies",
        "anaphalaxis" | "anafalaxis" | "anaphylaxsis" | "anaphylaxia" | "anaphlaxis"
        | "anaphilaxis" => "anaphylaxis",
        "anaphalactic" | "anafylactic" | "anaphilactic" => "anaphylactic",
        // infection / fever
        "temprature" | "temperture" | "tempreture" | "temperatur" | "tempature" | "temparature" => {
            "temperature"
        }
        "fevor" | "feaver" | "fevre" | "fver" => "fever",
        "menengitis" | "meningitus" | "menigitis" | "menningitis" | "meningitas" => "meningitis",
        "confussed" | "confued" | "confsed" => "confused",
        "stif" => "stiff",
        "stiffnes" => "stiffness",
        // pregnancy / baby
        "pregnent" | "preganant" | "pregant" | "prgnant" | "pragnant" | "pregnat" | "pegnant" => {
            "pregnant"
        }
        "babby" | "baybee" => "baby",
        "nappys" => "nappies",
        // poisoning
        "overdoes" | "overdoze" | "overdos" => "overdose",
        "overdossed" | "oded" => "overdosed",
        "od" => "overdose",
        "pils" => "pills",
        "tabets" | "tablests" | "tablits" => "tablets",
        "parcetamol" | "paracetomol" | "paracetemol" | "paracetamo" | "parecetamol" => {
            "paracetamol"
        }
        // misc
        "ambulence" | "ambulnce" => "ambulance",
        "hospitol" => "hospital",
        _ => return None,
    };
    Some(fixed)
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
        assert_eq!(PATTERNS.len(), PATTERN_SRC.len());
        assert_eq!(SUPPRESSORS.len(), IDIOM_SRC.len() + HARMLESS_SRC.len());
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
            ],
        );
        assert_quiet(&[
            "denies shortness of breath",
            "what a breathtaking view",
            "that film took my breath away",
            "is it normal to feel short of breath when you have a cold?",
            "I can't breathe through my nose with this cold",
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
