//! Wells score for deep vein thrombosis (DVT), 2003 two-level version.
//!
//! Source: Wells PS, Anderson DR, Rodger M, et al. Evaluation of D-dimer in the diagnosis
//! of suspected deep-vein thrombosis. N Engl J Med 2003;349(13):1227-1235.
//! One point each for nine features (including previously documented DVT, added in 2003)
//! and −2 when an alternative diagnosis is at least as likely as DVT. Score ≥2: DVT
//! likely; <2: DVT unlikely. The three-level grouping of Wells et al., Lancet
//! 1997;350:1795-1798 (≤0 low, 1–2 moderate, ≥3 high) is also reported. Next steps follow
//! NICE NG158 (2020).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{bool_prop, object_schema, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "wells_dvt";

/// Arguments for [`run`]. All criteria are required so none is silently assumed absent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Active cancer (treatment ongoing, within 6 months, or palliative).
    pub active_cancer: bool,
    /// Paralysis, paresis or recent plaster immobilisation of a leg.
    pub paralysis_paresis_or_leg_cast: bool,
    /// Recently bedridden ≥3 days, or major surgery within 12 weeks under general or
    /// regional anaesthesia.
    pub bedridden_or_major_surgery: bool,
    /// Localised tenderness along the distribution of the deep venous system.
    pub deep_vein_tenderness: bool,
    /// Entire leg swollen.
    pub entire_leg_swollen: bool,
    /// Calf swelling ≥3 cm more than the other leg (10 cm below tibial tuberosity).
    pub calf_swelling_3cm: bool,
    /// Pitting oedema confined to the symptomatic leg.
    pub pitting_oedema_symptomatic_leg: bool,
    /// Collateral superficial (non-varicose) veins.
    pub collateral_superficial_veins: bool,
    /// Previously documented DVT.
    pub previous_dvt: bool,
    /// An alternative diagnosis is at least as likely as DVT (−2).
    pub alternative_diagnosis_as_likely: bool,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Wells DVT score, −2 to 9.
    pub score: i32,
    /// `true` when score ≥ 2.
    pub dvt_likely: bool,
    /// Two-level label.
    pub two_level: String,
    /// Three-level pre-test probability (1997 grouping): low, moderate or high.
    pub three_level: String,
    /// Suggested next diagnostic step.
    pub suggested_next_step: String,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Wells score for deep vein thrombosis (Wells et al., NEJM 2003): +1 each for active \
         cancer, paralysis/leg cast, bedridden >=3 days or major surgery <12 weeks, deep-vein \
         tenderness, entire leg swollen, calf swelling >=3 cm, pitting oedema, collateral \
         superficial veins, previous DVT; -2 if an alternative diagnosis is at least as likely. \
         >=2 DVT likely.",
        object_schema(
            json!({
                "active_cancer": bool_prop("Active cancer (treatment ongoing, within the previous 6 months, or palliative). +1."),
                "paralysis_paresis_or_leg_cast": bool_prop("Paralysis, paresis or recent plaster immobilisation of the leg. +1."),
                "bedridden_or_major_surgery": bool_prop("Recently bedridden for 3 days or more, or major surgery within 12 weeks requiring general or regional anaesthesia. +1."),
                "deep_vein_tenderness": bool_prop("Localised tenderness along the distribution of the deep venous system. +1."),
                "entire_leg_swollen": bool_prop("Entire leg swollen. +1."),
                "calf_swelling_3cm": bool_prop("Calf swelling at least 3 cm larger than the asymptomatic side, measured 10 cm below the tibial tuberosity. +1."),
                "pitting_oedema_symptomatic_leg": bool_prop("Pitting oedema confined to the symptomatic leg. +1."),
                "collateral_superficial_veins": bool_prop("Collateral superficial veins (non-varicose). +1."),
                "previous_dvt": bool_prop("Previously documented DVT. +1."),
                "alternative_diagnosis_as_likely": bool_prop("An alternative diagnosis is at least as likely as DVT. -2."),
            }),
            &[
                "active_cancer",
                "paralysis_paresis_or_leg_cast",
                "bedridden_or_major_surgery",
                "deep_vein_tenderness",
                "entire_leg_swollen",
                "calf_swelling_3cm",
                "pitting_oedema_symptomatic_leg",
                "collateral_superficial_veins",
                "previous_dvt",
                "alternative_diagnosis_as_likely",
            ],
        ),
    )
}

/// Computes the Wells DVT score.
pub fn run(args: Args) -> Result<Output> {
    let criteria: [(bool, i32, &str); 10] = [
        (args.active_cancer, 1, "Active cancer"),
        (
            args.paralysis_paresis_or_leg_cast,
            1,
            "Paralysis, paresis or leg cast",
        ),
        (
            args.bedridden_or_major_surgery,
            1,
            "Bedridden >=3 days or major surgery <12 weeks",
        ),
        (args.deep_vein_tenderness, 1, "Deep-vein tenderness"),
        (args.entire_leg_swollen, 1, "Entire leg swollen"),
        (args.calf_swelling_3cm, 1, "Calf swelling >=3 cm"),
        (
            args.pitting_oedema_symptomatic_leg,
            1,
            "Pitting oedema (symptomatic leg)",
        ),
        (
            args.collateral_superficial_veins,
            1,
            "Collateral superficial veins",
        ),
        (args.previous_dvt, 1, "Previously documented DVT"),
        (
            args.alternative_diagnosis_as_likely,
            -2,
            "Alternative diagnosis at least as likely",
        ),
    ];
    let mut score = 0i32;
    let mut explanation = Vec::new();
    for (present, points, label) in criteria {
        let got = if present { points } else { 0 };
        score += got;
        explanation.push(format!(
            "{label}: {} ({got:+})",
            if present { "yes" } else { "no" }
        ));
    }
    let dvt_likely = score >= 2;
    let three_level = if score <= 0 {
        "low"
    } else if score <= 2 {
        "moderate"
    } else {
        "high"
    };
    let (two_level, next) = if dvt_likely {
        (
            "DVT likely (score >=2)",
            "Proximal leg vein ultrasound within 4 hours (if not possible: D-dimer and interim \
             anticoagulation, with ultrasound within 24 hours); if negative, D-dimer.",
        )
    } else {
        (
            "DVT unlikely (score <2)",
            "D-dimer test: if negative, DVT is unlikely; if positive, proximal leg vein \
             ultrasound (within 4 hours, or interim anticoagulation and scan within 24 hours).",
        )
    };
    explanation.push(format!(
        "Wells DVT score = {score}: {two_level}; three-level (1997) {three_level}"
    ));
    Ok(Output {
        score,
        dvt_likely,
        two_level: two_level.to_string(),
        three_level: three_level.to_string(),
        suggested_next_step: next.to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds args from flags in the order of the criteria table.
    fn args(f: [bool; 10]) -> Args {
        Args {
            active_cancer: f[0],
            paralysis_paresis_or_leg_cast: f[1],
            bedridden_or_major_surgery: f[2],
            deep_vein_tenderness: f[3],
            entire_leg_swollen: f[4],
            calf_swelling_3cm: f[5],
            pitting_oedema_symptomatic_leg: f[6],
            collateral_superficial_veins: f[7],
            previous_dvt: f[8],
            alternative_diagnosis_as_likely: f[9],
        }
    }

    #[test]
    fn sums_and_categories() {
        const T: bool = true;
        const F: bool = false;
        // (flags, score, DVT likely, three-level)
        let table: &[([bool; 10], i32, bool, &str)] = &[
            ([F, F, F, F, F, F, F, F, F, F], 0, false, "low"),
            ([F, F, F, F, F, F, F, F, F, T], -2, false, "low"),
            ([T, F, F, F, F, F, F, F, F, F], 1, false, "moderate"),
            // calf swelling + pitting oedema = 2
            ([F, F, F, F, F, T, T, F, F, F], 2, true, "moderate"),
            // cancer + tenderness + whole leg = 3
            ([T, F, F, T, T, F, F, F, F, F], 3, true, "high"),
            // 3 features - 2 = 1
            ([T, F, F, T, T, F, F, F, F, T], 1, false, "moderate"),
            // cancer - 2 = -1
            ([T, F, F, F, F, F, F, F, F, T], -1, false, "low"),
            // all nine features = 9
            ([T, T, T, T, T, T, T, T, T, F], 9, true, "high"),
            // nine features - 2 = 7
            ([T, T, T, T, T, T, T, T, T, T], 7, true, "high"),
        ];
        for &(flags, score, likely, level) in table {
            let out = run(args(flags)).unwrap();
            assert_eq!(out.score, score, "{flags:?}");
            assert_eq!(out.dvt_likely, likely, "{flags:?}");
            assert_eq!(out.three_level, level, "{flags:?}");
        }
    }

    #[test]
    fn next_step_text() {
        let out = run(args([false; 10])).unwrap();
        assert!(out.suggested_next_step.starts_with("D-dimer"));
        assert_eq!(out.explanation.len(), 11);
    }
}
