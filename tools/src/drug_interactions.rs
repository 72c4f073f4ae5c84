//! Pairwise drug–drug interaction screening against a small curated table.
//!
//! Sources: the ONC high-priority drug–drug interaction list (Phansalkar S, Desai AA,
//! Bell D, et al. High-priority drug–drug interactions for use in electronic health
//! records. J Am Med Inform Assoc 2012;19(5):735-743) plus public product labelling and
//! regulator safety communications; each reported interaction names its source.
//!
//! Names are matched case-insensitively after normalisation (apostrophes, dots and
//! trademark signs removed; `_ , / ( ) +` treated as spaces), through a brand/synonym
//! map, and by the longest leading run of words (so "sertraline 50 mg" is recognised).
//! Drugs map to class tags and rules are written between tags. Unrecognised names are
//! always reported, never dropped. The table is deliberately small: the absence of a
//! reported interaction does not mean a combination is safe.

mod table;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{object_schema, Error, Result, ToolDefinition};
use table::{Drug, Rule, DRUGS, RULES, SYNONYMS};

/// Tool name used by the dispatcher.
pub const NAME: &str = "drug_interactions";

/// Minimum number of drug names accepted.
pub const MIN_DRUGS: usize = 2;
/// Maximum number of drug names accepted.
pub const MAX_DRUGS: usize = 20;
/// Maximum length of one drug name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Interaction severity; orders from most to least severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The combination should not be used.
    Contraindicated,
    /// Potentially serious; usually avoid or manage actively.
    Major,
    /// Clinically relevant; monitor or adjust.
    Moderate,
}

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// 2–20 drug names (generic or brand, case-insensitive).
    pub drugs: Vec<String>,
}

/// A recognised input and its generic name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecognisedDrug {
    /// The name as given (trimmed).
    pub input: String,
    /// Generic name.
    pub generic: String,
    /// Class tags used for matching.
    pub classes: Vec<String>,
}

/// One interaction between two of the listed drugs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interaction {
    /// Generic names of the two drugs.
    pub drugs: [String; 2],
    /// The two names as given.
    pub inputs: [String; 2],
    /// Severity.
    pub severity: Severity,
    /// The rule that matched, as `tag + tag`.
    pub rule: String,
    /// One-line mechanism.
    pub mechanism: String,
    /// One-line advice.
    pub advice: String,
    /// Source of the fact.
    pub source: String,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    /// Interactions found, most severe first.
    pub interactions: Vec<Interaction>,
    /// Most severe severity found, if any.
    pub highest_severity: Option<Severity>,
    /// Inputs that were recognised.
    pub recognised: Vec<RecognisedDrug>,
    /// Inputs that were not recognised and therefore NOT checked.
    pub unrecognised: Vec<String>,
    /// Drugs listed more than once (checked once).
    pub duplicates: Vec<String>,
    /// Summary and caveats.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Checks 2-20 drugs pairwise against a small curated interaction table (ONC \
         high-priority list, Phansalkar et al. JAMIA 2012, and product labelling): MAOIs with \
         serotonergic drugs, PDE5 inhibitors with nitrates, anticoagulant bleeding risks, \
         statin myopathy, hyperkalaemia, lithium toxicity, QT prolongation, opioid with \
         sedatives and more. Returns each interaction with severity (contraindicated/major/\
         moderate), mechanism and advice, and lists unrecognised names. Not exhaustive.",
        object_schema(
            json!({
                "drugs": {
                    "type": "array",
                    "description": "Drug names, generic or brand (e.g. \"sildenafil\", \"Viagra\"), one per entry.",
                    "items": { "type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS },
                    "minItems": MIN_DRUGS,
                    "maxItems": MAX_DRUGS
                },
            }),
            &["drugs"],
        ),
    )
}

/// Normalises a drug name for lookup: lowercase, drops apostrophes, dots and trademark
/// signs, turns `_ , / ( ) +` into spaces and collapses whitespace.
pub fn normalise(name: &str) -> String {
    let mut cleaned = String::with_capacity(name.len());
    for ch in name.chars().flat_map(char::to_lowercase) {
        match ch {
            '\'' | '\u{2019}' | '.' | '\u{ae}' | '\u{2122}' => {}
            '_' | ',' | '/' | '(' | ')' | '+' => cleaned.push(' '),
            c => cleaned.push(c),
        }
    }
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Returns the generic name for a drug or brand name, if known.
pub fn resolve_generic(name: &str) -> Option<&'static str> {
    lookup(&normalise(name)).map(|drug| drug.name)
}

/// Looks up a normalised name exactly, via the synonym map.
fn lookup_exact(key: &str) -> Option<&'static Drug> {
    let generic = SYNONYMS
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |&(_, generic)| generic);
    DRUGS.iter().find(|drug| drug.name == generic)
}

/// Looks up a normalised name, falling back to its longest recognised leading words.
fn lookup(key: &str) -> Option<&'static Drug> {
    let words: Vec<&str> = key.split(' ').collect();
    (1..=words.len())
        .rev()
        .find_map(|n| lookup_exact(&words[..n].join(" ")))
}

fn has_tag(drug: &Drug, tag: &str) -> bool {
    drug.name == tag || drug.classes.iter().any(|class| *class == tag)
}

fn rule_matches(rule: &Rule, a: &Drug, b: &Drug) -> bool {
    (has_tag(a, rule.left) && has_tag(b, rule.right))
        || (has_tag(a, rule.right) && has_tag(b, rule.left))
}

/// Checks every pair of recognised drugs.
pub fn run(args: Args) -> Result<Output> {
    let count = args.drugs.len();
    if !(MIN_DRUGS..=MAX_DRUGS).contains(&count) {
        return Err(Error::invalid(
            NAME,
            format!("drugs: must list between {MIN_DRUGS} and {MAX_DRUGS} drug names, got {count}"),
        ));
    }

    let mut recognised = Vec::new();
    let mut unrecognised = Vec::new();
    let mut duplicates = Vec::new();
    let mut resolved: Vec<(&str, &'static Drug)> = Vec::new();
    for (i, raw) in args.drugs.iter().enumerate() {
        let input = raw.trim();
        if input.chars().count() > MAX_NAME_CHARS {
            return Err(Error::invalid(
                NAME,
                format!("drugs[{i}]: must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        let key = normalise(input);
        if key.is_empty() {
            return Err(Error::invalid(
                NAME,
                format!("drugs[{i}]: must be a non-empty drug name"),
            ));
        }
        let Some(drug) = lookup(&key) else {
            unrecognised.push(input.to_string());
            continue;
        };
        recognised.push(RecognisedDrug {
            input: input.to_string(),
            generic: drug.name.to_string(),
            classes: drug.classes.iter().map(|c| c.to_string()).collect(),
        });
        let earlier: Option<String> = resolved
            .iter()
            .find(|(_, seen)| seen.name == drug.name)
            .map(|(first, _)| first.to_string());
        match earlier {
            Some(first) => duplicates.push(format!(
                "{} listed more than once (\"{first}\" and \"{input}\"); checked once",
                drug.name
            )),
            None => resolved.push((input, drug)),
        }
    }

    let mut interactions = Vec::new();
    for (i, &(input_a, a)) in resolved.iter().enumerate() {
        for &(input_b, b) in &resolved[i + 1..] {
            let mut groups_hit: Vec<&str> = Vec::new();
            for rule in RULES {
                if groups_hit.contains(&rule.group) || !rule_matches(rule, a, b) {
                    continue;
                }
                groups_hit.push(rule.group);
                interactions.push(Interaction {
                    drugs: [a.name.to_string(), b.name.to_string()],
                    inputs: [input_a.to_string(), input_b.to_string()],
                    severity: rule.severity,
                    rule: format!("{} + {}", rule.left, rule.right),
                    mechanism: rule.mechanism.to_string(),
                    advice: rule.advice.to_string(),
                    source: rule.source.to_string(),
                });
            }
        }
    }
    interactions.sort_by(|x, y| {
        x.severity
            .cmp(&y.severity)
            .then_with(|| x.drugs.cmp(&y.drugs))
    });
    let highest_severity = interactions.iter().map(|x| x.severity).min();

    let n = resolved.len();
    let mut explanation = vec![format!(
        "Checked {n} recognised drug(s), {} pair(s), against {} curated rules.",
        n * n.saturating_sub(1) / 2,
        RULES.len()
    )];
    for x in &interactions {
        explanation.push(format!(
            "{} + {}: {:?}. {}",
            x.drugs[0], x.drugs[1], x.severity, x.mechanism
        ));
    }
    if interactions.is_empty() {
        explanation.push("No interaction found in this table.".to_string());
    }
    if !unrecognised.is_empty() {
        explanation.push(format!(
            "Not recognised and NOT checked: {}. Check these manually.",
            unrecognised.join(", ")
        ));
    }
    explanation.push(
        "This small curated table is not a complete interaction reference: absence of a \
         listed interaction does not mean a combination is safe. Confirm with a full \
         reference (e.g. BNF, product labelling) or a pharmacist."
            .to_string(),
    );

    Ok(Output {
        interactions,
        highest_severity,
        recognised,
        unrecognised,
        duplicates,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(names: &[&str]) -> Output {
        run(Args {
            drugs: names.iter().map(|s| s.to_string()).collect(),
        })
        .unwrap()
    }

    /// (drugs, expected single interaction severity, expected rule)
    #[test]
    fn single_pair_table() {
        use super::Severity::{Contraindicated as C, Major as Ma, Moderate as Mo};
        let table: &[([&str; 2], Severity, &str)] = &[
            (["Viagra", "GTN"], C, "pde5_inhibitor + nitrate"),
            (
                ["tadalafil", "isosorbide mononitrate"],
                C,
                "pde5_inhibitor + nitrate",
            ),
            (["phenelzine", "fluoxetine"], C, "maoi + serotonergic"),
            (["linezolid", "sertraline"], C, "maoi + serotonergic"),
            (
                ["tranylcypromine", "pseudoephedrine"],
                C,
                "maoi + sympathomimetic",
            ),
            (["Prozac", "tramadol"], Ma, "ssri_snri + tramadol"),
            (
                ["sertraline", "sumatriptan"],
                Mo,
                "serotonergic + serotonergic",
            ),
            (["warfarin", "ibuprofen"], Ma, "anticoagulant + nsaid"),
            (["warfarin", "aspirin"], Ma, "anticoagulant + antiplatelet"),
            (
                ["warfarin", "fluconazole"],
                Ma,
                "vka + azole_cyp2c9_inhibitor",
            ),
            (["warfarin", "metronidazole"], Ma, "vka + metronidazole"),
            (
                ["methotrexate", "Bactrim"],
                Ma,
                "methotrexate + trimethoprim",
            ),
            (
                ["simvastatin", "clarithromycin"],
                C,
                "statin_cyp3a4 + strong_cyp3a4_inhibitor",
            ),
            (
                ["simvastatin", "itraconazole"],
                C,
                "statin_cyp3a4 + strong_cyp3a4_inhibitor",
            ),
            (
                ["lisinopril", "spironolactone"],
                Ma,
                "raas_inhibitor + potassium_sparing_diuretic",
            ),
            (
                ["losartan", "potassium chloride"],
                Ma,
                "raas_inhibitor + potassium_supplement",
            ),
            (["lithium", "naproxen"], Ma, "lithium + nsaid"),
            (["lithium", "bendroflumethiazide"], Ma, "lithium + thiazide"),
            (["lithium", "ramipril"], Ma, "lithium + raas_inhibitor"),
            (
                ["citalopram", "clarithromycin"],
                Ma,
                "qt_prolonging + qt_prolonging",
            ),
            (
                ["clopidogrel", "omeprazole"],
                Mo,
                "clopidogrel + cyp2c19_inhibiting_ppi",
            ),
            (["oxycodone", "diazepam"], Ma, "opioid + sedative_hypnotic"),
            (
                ["azathioprine", "allopurinol"],
                Ma,
                "allopurinol + thiopurine",
            ),
            (
                ["tizanidine", "ciprofloxacin"],
                C,
                "tizanidine + strong_cyp1a2_inhibitor",
            ),
            (
                ["apixaban", "rifampicin"],
                Ma,
                "doac + strong_cyp3a4_inducer",
            ),
        ];
        for (names, severity, rule) in table {
            let out = check(names);
            assert_eq!(
                out.interactions.len(),
                1,
                "{names:?}: {:?}",
                out.interactions
            );
            assert_eq!(out.interactions[0].severity, *severity, "{names:?}");
            assert_eq!(out.interactions[0].rule, *rule, "{names:?}");
            assert_eq!(out.highest_severity, Some(*severity));
            assert!(out.unrecognised.is_empty());
        }
    }

    #[test]
    fn brands_are_mapped_and_reported() {
        let out = check(&["  VIAGRA ", "glyceryl trinitrate"]);
        assert_eq!(
            out.interactions[0].drugs,
            ["sildenafil".to_string(), "glyceryl trinitrate".to_string()]
        );
        assert_eq!(out.interactions[0].inputs[0], "VIAGRA");
        assert_eq!(resolve_generic("St. John's Wort"), Some("st johns wort"));
        assert_eq!(
            resolve_generic("sertraline 50 mg tablets"),
            Some("sertraline")
        );
        assert_eq!(
            resolve_generic("Trimethoprim/Sulfamethoxazole"),
            Some("co-trimoxazole")
        );
        assert_eq!(resolve_generic("meperidine"), Some("pethidine"));
        assert_eq!(resolve_generic("unobtainium"), None);
    }

    #[test]
    fn unknown_names_are_listed_not_dropped() {
        let out = check(&["warfarin", "foobarol", "ibuprofen", "omeprazole"]);
        assert_eq!(out.unrecognised, vec!["foobarol".to_string()]);
        assert_eq!(out.recognised.len(), 3);
        assert_eq!(out.interactions.len(), 1);
        assert!(out
            .explanation
            .iter()
            .any(|l| l.contains("NOT checked: foobarol")));
    }

    #[test]
    fn duplicates_are_checked_once() {
        let out = check(&["Prozac", "fluoxetine", "tramadol"]);
        assert_eq!(out.duplicates.len(), 1);
        assert!(out.duplicates[0].starts_with("fluoxetine listed more than once"));
        assert_eq!(out.interactions.len(), 1);
    }

    #[test]
    fn several_pairs_sorted_most_severe_first() {
        // sertraline+sumatriptan moderate; phenelzine with each: contraindicated.
        let out = check(&["sertraline", "sumatriptan", "phenelzine"]);
        let severities: Vec<Severity> = out.interactions.iter().map(|x| x.severity).collect();
        assert_eq!(
            severities,
            vec![
                Severity::Contraindicated,
                Severity::Contraindicated,
                Severity::Moderate
            ]
        );
        assert_eq!(out.highest_severity, Some(Severity::Contraindicated));
        // Different mechanisms for one pair are both reported: methadone + citalopram.
        let out = check(&["methadone", "citalopram"]);
        assert_eq!(out.interactions.len(), 2);
        assert_eq!(out.interactions[0].severity, Severity::Major);
        assert_eq!(out.interactions[1].severity, Severity::Moderate);
        // No interaction in the table.
        let out = check(&["paracetamol", "metformin"]);
        assert!(out.interactions.is_empty());
        assert_eq!(out.highest_severity, None);
    }

    #[test]
    fn argument_validation() {
        let one = run(Args {
            drugs: vec!["warfarin".to_string()],
        })
        .unwrap_err();
        assert_eq!(
            one,
            Error::invalid(NAME, "drugs: must list between 2 and 20 drug names, got 1")
        );
        let many = run(Args {
            drugs: vec!["aspirin".to_string(); 21],
        })
        .unwrap_err();
        assert!(matches!(many, Error::InvalidArguments { .. }));
        let blank = run(Args {
            drugs: vec!["warfarin".to_string(), "  ".to_string()],
        })
        .unwrap_err();
        assert_eq!(
            blank,
            Error::invalid(NAME, "drugs[1]: must be a non-empty drug name")
        );
    }

    #[test]
    fn table_is_consistent() {
        assert!(RULES.len() >= 25, "only {} rules", RULES.len());
        for (i, drug) in DRUGS.iter().enumerate() {
            assert_eq!(normalise(drug.name), drug.name, "drug name not normalised");
            assert!(
                DRUGS[i + 1..].iter().all(|other| other.name != drug.name),
                "duplicate drug {}",
                drug.name
            );
        }
        for (alias, generic) in SYNONYMS {
            assert_eq!(normalise(alias), *alias, "synonym not normalised");
            assert!(
                DRUGS.iter().any(|d| d.name == *generic),
                "{alias} -> unknown {generic}"
            );
            assert!(
                DRUGS.iter().all(|d| d.name != *alias),
                "synonym {alias} shadows a drug"
            );
        }
        for rule in RULES {
            for tag in [rule.left, rule.right] {
                assert!(
                    DRUGS.iter().any(|d| has_tag(d, tag)),
                    "rule tag {tag} matches no drug"
                );
            }
        }
    }
}
