//! Wells score for pulmonary embolism (PE), two-tier and three-tier interpretations.
//!
//! Source: Wells PS, Anderson DR, Rodger M, et al. Derivation of a simple clinical model to
//! categorize patients probability of pulmonary embolism: increasing the models utility
//! with the SimpliRED D-dimer. Thromb Haemost 2000;83(3):416-420.
//! Points: clinical signs of DVT 3; PE the most likely diagnosis 3; heart rate >100 1.5;
//! immobilisation ≥3 days or surgery in the previous 4 weeks 1.5; previous DVT/PE 1.5;
//! haemoptysis 1; malignancy 1. Two-tier: >4 PE likely, ≤4 PE unlikely. Three-tier: <2
//! low, 2–6 moderate, >6 high. Next steps follow NICE NG158 (2020).
//! Points are summed in tenths (integers) so comparisons are exact.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{bool_prop, object_schema, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "wells_pe";

/// Arguments for [`run`]. All criteria are required so none is silently assumed absent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Clinical signs and symptoms of DVT (leg swelling and pain on palpation of deep veins).
    pub clinical_signs_of_dvt: bool,
    /// PE is the most likely diagnosis (an alternative diagnosis is less likely than PE).
    pub pe_most_likely_diagnosis: bool,
    /// Heart rate above 100 beats/min.
    pub heart_rate_over_100: bool,
    /// Immobilisation for 3 or more days, or surgery in the previous 4 weeks.
    pub immobilisation_or_recent_surgery: bool,
    /// Previously objectively diagnosed DVT or PE.
    pub previous_dvt_or_pe: bool,
    /// Haemoptysis.
    pub haemoptysis: bool,
    /// Malignancy (on treatment, treated in the last 6 months, or palliative).
    pub malignancy: bool,
}

/// Three-tier clinical probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreeTier {
    /// Score < 2.
    Low,
    /// Score 2–6.
    Moderate,
    /// Score > 6.
    High,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Wells score, 0–12.5.
    pub score: f64,
    /// Two-tier: `true` when score > 4 ("PE likely").
    pub pe_likely: bool,
    /// Two-tier label.
    pub two_tier: String,
    /// Three-tier probability.
    pub three_tier: ThreeTier,
    /// Suggested next diagnostic step (two-tier).
    pub suggested_next_step: String,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Wells score for pulmonary embolism (Wells et al., Thromb Haemost 2000): DVT signs 3, \
         PE most likely diagnosis 3, HR >100 1.5, immobilisation/surgery 1.5, previous DVT/PE \
         1.5, haemoptysis 1, malignancy 1. Two-tier (>4 PE likely) and three-tier (<2 low, \
         2-6 moderate, >6 high) results with the suggested next test.",
        object_schema(
            json!({
                "clinical_signs_of_dvt": bool_prop("Clinical signs and symptoms of DVT (minimum leg swelling and pain on palpation of the deep veins). 3 points."),
                "pe_most_likely_diagnosis": bool_prop("PE is the most likely diagnosis / an alternative diagnosis is less likely than PE. 3 points."),
                "heart_rate_over_100": bool_prop("Heart rate above 100 beats/min. 1.5 points."),
                "immobilisation_or_recent_surgery": bool_prop("Immobilisation for at least 3 days or surgery in the previous 4 weeks. 1.5 points."),
                "previous_dvt_or_pe": bool_prop("Previous objectively diagnosed DVT or PE. 1.5 points."),
                "haemoptysis": bool_prop("Haemoptysis. 1 point."),
                "malignancy": bool_prop("Malignancy on treatment, treated in the last 6 months, or palliative. 1 point."),
            }),
            &[
                "clinical_signs_of_dvt",
                "pe_most_likely_diagnosis",
                "heart_rate_over_100",
                "immobilisation_or_recent_surgery",
                "previous_dvt_or_pe",
                "haemoptysis",
                "malignancy",
            ],
        ),
    )
}

/// Computes the Wells PE score.
pub fn run(args: Args) -> Result<Output> {
    // (present, points in tenths, label)
    let criteria: [(bool, u32, &str); 7] = [
        (args.clinical_signs_of_dvt, 30, "Clinical signs of DVT"),
        (
            args.pe_most_likely_diagnosis,
            30,
            "PE the most likely diagnosis",
        ),
        (args.heart_rate_over_100, 15, "Heart rate >100"),
        (
            args.immobilisation_or_recent_surgery,
            15,
            "Immobilisation >=3 days or surgery <4 weeks",
        ),
        (args.previous_dvt_or_pe, 15, "Previous DVT/PE"),
        (args.haemoptysis, 10, "Haemoptysis"),
        (args.malignancy, 10, "Malignancy"),
    ];
    let mut tenths = 0u32;
    let mut explanation = Vec::new();
    for (present, points, label) in criteria {
        let got = if present { points } else { 0 };
        tenths += got;
        explanation.push(format!(
            "{label}: {} ({})",
            if present { "yes" } else { "no" },
            f64::from(got) / 10.0
        ));
    }
    let score = f64::from(tenths) / 10.0;
    let pe_likely = tenths > 40;
    let three_tier = if tenths < 20 {
        ThreeTier::Low
    } else if tenths <= 60 {
        ThreeTier::Moderate
    } else {
        ThreeTier::High
    };
    let (two_tier, next) = if pe_likely {
        (
            "PE likely (score >4)",
            "Immediate CT pulmonary angiography (or V/Q scan if CTPA unsuitable); give interim \
             anticoagulation if imaging is delayed, unless contraindicated.",
        )
    } else {
        (
            "PE unlikely (score <=4)",
            "D-dimer test: if negative, PE is unlikely and other diagnoses should be considered; \
             if positive, CT pulmonary angiography.",
        )
    };
    explanation.push(format!(
        "Wells PE score = {score}: {two_tier}; three-tier {three_tier:?}"
    ));
    Ok(Output {
        score,
        pe_likely,
        two_tier: two_tier.to_string(),
        three_tier,
        suggested_next_step: next.to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds args from flags in the order of the criteria table.
    fn args(f: [bool; 7]) -> Args {
        Args {
            clinical_signs_of_dvt: f[0],
            pe_most_likely_diagnosis: f[1],
            heart_rate_over_100: f[2],
            immobilisation_or_recent_surgery: f[3],
            previous_dvt_or_pe: f[4],
            haemoptysis: f[5],
            malignancy: f[6],
        }
    }

    #[test]
    fn sums_and_tiers() {
        const T: bool = true;
        const F: bool = false;
        // (flags, expected score, PE likely, three-tier)
        let table: &[([bool; 7], f64, bool, ThreeTier)] = &[
            ([F, F, F, F, F, F, F], 0.0, false, ThreeTier::Low),
            ([F, F, T, F, F, F, F], 1.5, false, ThreeTier::Low),
            // 1.5 + 1.5 = 3.0
            ([F, F, T, T, F, F, F], 3.0, false, ThreeTier::Moderate),
            // 3 + 1 = 4.0: boundary, still unlikely
            ([T, F, F, F, F, T, F], 4.0, false, ThreeTier::Moderate),
            // 3 + 1.5 = 4.5
            ([T, F, T, F, F, F, F], 4.5, true, ThreeTier::Moderate),
            // 3 + 1.5 + 1 = 5.5
            ([F, T, F, F, T, T, F], 5.5, true, ThreeTier::Moderate),
            // 3 + 3 = 6.0: top of moderate
            ([T, T, F, F, F, F, F], 6.0, true, ThreeTier::Moderate),
            // 3 + 3 + 1 = 7.0
            ([T, T, F, F, F, F, T], 7.0, true, ThreeTier::High),
            // 3 + 3 + 1.5 = 7.5
            ([T, T, T, F, F, F, F], 7.5, true, ThreeTier::High),
            // 1.5 + 1.5 + 1.5 + 1 + 1 = 6.5 -> high
            ([F, F, T, T, T, T, T], 6.5, true, ThreeTier::High),
            // all: 3 + 3 + 1.5 x 3 + 1 + 1 = 12.5
            ([T, T, T, T, T, T, T], 12.5, true, ThreeTier::High),
            // 1 + 1 = 2.0: bottom of moderate
            ([F, F, F, F, F, T, T], 2.0, false, ThreeTier::Moderate),
        ];
        for &(flags, score, likely, tier) in table {
            let out = run(args(flags)).unwrap();
            assert_eq!(out.score, score, "{flags:?}");
            assert_eq!(out.pe_likely, likely, "{flags:?}");
            assert_eq!(out.three_tier, tier, "{flags:?}");
        }
    }

    #[test]
    fn next_step_text() {
        let out = run(args([false; 7])).unwrap();
        assert!(out.suggested_next_step.starts_with("D-dimer"));
        let out = run(args([true; 7])).unwrap();
        assert!(out
            .suggested_next_step
            .starts_with("Immediate CT pulmonary angiography"));
    }
}
