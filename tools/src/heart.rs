//! HEART score for major adverse cardiac events in emergency chest pain.
//!
//! Source: Six AJ, Backus BE, Kelder JC. Chest pain in the emergency room: value of the
//! HEART score. Neth Heart J 2008;16(6):191-196. History, ECG, Age (<45: 0, 45–64: 1,
//! ≥65: 2, half-open bands), Risk factors and Troponin each score 0–2; 0–3 low (6-week
//! MACE 2.5% in the derivation cohort), 4–6 moderate (20.3%), 7–10 high (72.7%).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{check_range, enum_prop, num_prop, object_schema, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "heart";

/// History: how suspicious the story is for acute coronary syndrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum History {
    /// 0 points.
    #[serde(rename = "slightly_suspicious")]
    Slightly,
    /// 1 point.
    #[serde(rename = "moderately_suspicious")]
    Moderately,
    /// 2 points.
    #[serde(rename = "highly_suspicious")]
    Highly,
}

/// ECG findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Ecg {
    /// Normal: 0 points.
    #[serde(rename = "normal")]
    Normal,
    /// Non-specific repolarisation disturbance (including LBBB, LVH, paced rhythm,
    /// digoxin effect, unchanged known repolarisation changes): 1 point.
    #[serde(rename = "non_specific_repolarisation")]
    NonSpecific,
    /// Significant ST deviation (depression or elevation not due to LBBB/LVH/digoxin):
    /// 2 points.
    #[serde(rename = "significant_st_deviation")]
    SignificantSt,
}

/// Cardiovascular risk factors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RiskFactors {
    /// No known risk factors: 0 points.
    #[serde(rename = "none")]
    None,
    /// One or two risk factors: 1 point.
    #[serde(rename = "one_or_two")]
    OneOrTwo,
    /// Three or more risk factors, or known atherosclerotic disease: 2 points.
    #[serde(rename = "three_or_more_or_atherosclerotic_disease")]
    ThreeOrMore,
}

/// Initial troponin relative to the assay's upper normal limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Troponin {
    /// At or below the normal limit: 0 points.
    #[serde(rename = "normal")]
    Normal,
    /// More than 1 and up to 3 times the normal limit: 1 point.
    #[serde(rename = "one_to_three_times_normal_limit")]
    OneToThree,
    /// More than 3 times the normal limit: 2 points.
    #[serde(rename = "more_than_three_times_normal_limit")]
    MoreThanThree,
}

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// History category.
    pub history: History,
    /// ECG category.
    pub ecg: Ecg,
    /// Age, years.
    pub age_years: f64,
    /// Risk-factor category.
    pub risk_factors: RiskFactors,
    /// Troponin category.
    pub troponin: Troponin,
}

/// Risk band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    /// 0–3.
    Low,
    /// 4–6.
    Moderate,
    /// 7–10.
    High,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// HEART score, 0–10.
    pub score: u32,
    /// Risk band.
    pub risk_band: RiskBand,
    /// 6-week MACE risk reported in the derivation study.
    pub mace_risk: String,
    /// Suggested management.
    pub suggested_management: String,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "HEART score (Six et al., Neth Heart J 2008) for adults with chest pain in the \
         emergency department: History, ECG, Age, Risk factors, Troponin each 0-2. 0-3 low, \
         4-6 moderate, 7-10 high risk of major adverse cardiac events at 6 weeks.",
        object_schema(
            json!({
                "history": enum_prop(
                    "History: slightly_suspicious (0), moderately_suspicious (1) or highly_suspicious (2) for acute coronary syndrome.",
                    &["slightly_suspicious", "moderately_suspicious", "highly_suspicious"]
                ),
                "ecg": enum_prop(
                    "ECG: normal (0); non_specific_repolarisation (1; includes LBBB, LVH, paced rhythm, digoxin effect); significant_st_deviation (2).",
                    &["normal", "non_specific_repolarisation", "significant_st_deviation"]
                ),
                "age_years": num_prop("Age in years (<45: 0, 45-64: 1, >=65: 2).", 18.0, 120.0),
                "risk_factors": enum_prop(
                    "Risk factors (hypercholesterolaemia, hypertension, diabetes, current or recent smoking, family history, obesity): none (0), one_or_two (1), three_or_more_or_atherosclerotic_disease (2; known atherosclerotic disease such as prior MI, revascularisation, stroke or peripheral arterial disease).",
                    &["none", "one_or_two", "three_or_more_or_atherosclerotic_disease"]
                ),
                "troponin": enum_prop(
                    "Initial troponin: normal (<= normal limit, 0), one_to_three_times_normal_limit (1), more_than_three_times_normal_limit (2).",
                    &["normal", "one_to_three_times_normal_limit", "more_than_three_times_normal_limit"]
                ),
            }),
            &["history", "ecg", "age_years", "risk_factors", "troponin"],
        ),
    )
}

/// Age points with half-open bands: <45 → 0, [45, 65) → 1, ≥65 → 2.
fn age_points(age: f64) -> u32 {
    if age < 45.0 {
        0
    } else if age < 65.0 {
        1
    } else {
        2
    }
}

/// Computes the HEART score.
pub fn run(args: Args) -> Result<Output> {
    check_range(NAME, "age_years", args.age_years, 18.0, 120.0, "years")?;
    let h = match args.history {
        History::Slightly => 0,
        History::Moderately => 1,
        History::Highly => 2,
    };
    let e = match args.ecg {
        Ecg::Normal => 0,
        Ecg::NonSpecific => 1,
        Ecg::SignificantSt => 2,
    };
    let a = age_points(args.age_years);
    let r = match args.risk_factors {
        RiskFactors::None => 0,
        RiskFactors::OneOrTwo => 1,
        RiskFactors::ThreeOrMore => 2,
    };
    let t = match args.troponin {
        Troponin::Normal => 0,
        Troponin::OneToThree => 1,
        Troponin::MoreThanThree => 2,
    };
    let score: u32 = h + e + a + r + t;
    let mut explanation = vec![
        format!("History {:?}: {h}", args.history),
        format!("ECG {:?}: {e}", args.ecg),
        format!("Age {} years: {a}", args.age_years),
        format!("Risk factors {:?}: {r}", args.risk_factors),
        format!("Troponin {:?}: {t}", args.troponin),
    ];
    let (risk_band, mace, management) = if score <= 3 {
        (
            RiskBand::Low,
            "Low: 6-week MACE 2.5% in the derivation cohort",
            "Low risk: consider early discharge with outpatient follow-up, provided serial \
             troponin testing per local pathway is negative.",
        )
    } else if score <= 6 {
        (
            RiskBand::Moderate,
            "Moderate: 6-week MACE 20.3% in the derivation cohort",
            "Moderate risk: admit for observation, serial troponins and further evaluation \
             (e.g. non-invasive testing or cardiology review).",
        )
    } else {
        (
            RiskBand::High,
            "High: 6-week MACE 72.7% in the derivation cohort",
            "High risk: urgent cardiology involvement and consideration of early invasive \
             strategy.",
        )
    };
    explanation.push(format!("HEART score = {score}/10: {risk_band:?} risk"));
    Ok(Output {
        score,
        risk_band,
        mace_risk: mace.to_string(),
        suggested_management: management.to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn args(h: History, e: Ecg, age: f64, r: RiskFactors, t: Troponin) -> Args {
        Args {
            history: h,
            ecg: e,
            age_years: age,
            risk_factors: r,
            troponin: t,
        }
    }

    #[test]
    fn age_bands_are_half_open() {
        let table: &[(f64, u32)] = &[
            (30.0, 0),
            (44.9, 0),
            (45.0, 1),
            (64.9, 1),
            (65.0, 2),
            (90.0, 2),
        ];
        for &(age, points) in table {
            assert_eq!(age_points(age), points, "age {age}");
        }
    }

    #[test]
    fn scores_and_bands() {
        use super::{Ecg as E, History as H, RiskFactors as R, Troponin as T};
        // (args, score, band)
        let table: [(Args, u32, RiskBand); 6] = [
            (
                args(H::Slightly, E::Normal, 40.0, R::None, T::Normal),
                0,
                RiskBand::Low,
            ),
            // 1 + 0 + 1 + 1 + 0 = 3
            (
                args(H::Moderately, E::Normal, 55.0, R::OneOrTwo, T::Normal),
                3,
                RiskBand::Low,
            ),
            // 1 + 1 + 1 + 1 + 0 = 4
            (
                args(H::Moderately, E::NonSpecific, 55.0, R::OneOrTwo, T::Normal),
                4,
                RiskBand::Moderate,
            ),
            // 2 + 1 + 2 + 1 + 0 = 6
            (
                args(H::Highly, E::NonSpecific, 70.0, R::OneOrTwo, T::Normal),
                6,
                RiskBand::Moderate,
            ),
            // 2 + 1 + 2 + 1 + 1 = 7
            (
                args(H::Highly, E::NonSpecific, 70.0, R::OneOrTwo, T::OneToThree),
                7,
                RiskBand::High,
            ),
            // all maximal = 10
            (
                args(
                    H::Highly,
                    E::SignificantSt,
                    80.0,
                    R::ThreeOrMore,
                    T::MoreThanThree,
                ),
                10,
                RiskBand::High,
            ),
        ];
        for (a, score, band) in table {
            let label = format!("{a:?}");
            let out = run(a).unwrap();
            assert_eq!(out.score, score, "{label}");
            assert_eq!(out.risk_band, band, "{label}");
        }
    }

    #[test]
    fn schema_enum_values_deserialise() {
        let def = definition();
        for field in ["history", "ecg", "risk_factors", "troponin"] {
            for value in def.parameters["properties"][field]["enum"]
                .as_array()
                .unwrap()
            {
                let mut obj = json!({
                    "history": "slightly_suspicious", "ecg": "normal", "age_years": 50,
                    "risk_factors": "none", "troponin": "normal"
                });
                obj[field] = value.clone();
                let parsed: std::result::Result<Args, _> = serde_json::from_value(obj);
                assert!(parsed.is_ok(), "{field}={value}");
            }
        }
    }

    #[test]
    fn rejects_bad_age() {
        assert_eq!(
            run(args(
                History::Slightly,
                Ecg::Normal,
                150.0,
                RiskFactors::None,
                Troponin::Normal
            ))
            .unwrap_err(),
            Error::invalid(NAME, "age_years: must be between 18 and 120 years, got 150")
        );
    }
}
