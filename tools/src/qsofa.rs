//! qSOFA (quick Sequential Organ Failure Assessment): bedside prompt for sepsis risk.
//!
//! Source: Singer M, Deutschman CS, Seymour CW, et al. The Third International Consensus
//! Definitions for Sepsis and Septic Shock (Sepsis-3). JAMA 2016;315(8):801-810.
//! One point each for respiratory rate ≥22/min, systolic BP ≤100 mmHg and altered
//! mentation (GCS <15); a score ≥2 in suspected infection identifies higher risk of a
//! poor outcome.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{bool_prop, check_range, num_prop, object_schema, plural, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "qsofa";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Respiratory rate, breaths/min.
    pub respiratory_rate: f64,
    /// Systolic blood pressure, mmHg.
    pub systolic_bp_mmhg: f64,
    /// Altered mentation (any GCS below 15 or new confusion).
    pub altered_mentation: bool,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// qSOFA score, 0–3.
    pub score: u32,
    /// `true` when the score is 2 or more.
    pub high_risk: bool,
    /// What the score means and what to do next.
    pub interpretation: String,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "qSOFA (Sepsis-3, Singer et al. JAMA 2016) for adults with suspected infection: one \
         point each for respiratory rate >=22/min, systolic BP <=100 mmHg and altered \
         mentation; score >=2 flags higher risk of poor outcome.",
        object_schema(
            json!({
                "respiratory_rate": num_prop("Respiratory rate in breaths/min.", 0.0, 80.0),
                "systolic_bp_mmhg": num_prop("Systolic blood pressure in mmHg.", 0.0, 300.0),
                "altered_mentation": bool_prop("true if mentation is altered (GCS below 15 or new confusion)."),
            }),
            &["respiratory_rate", "systolic_bp_mmhg", "altered_mentation"],
        ),
    )
}

/// Computes qSOFA.
pub fn run(args: Args) -> Result<Output> {
    check_range(
        NAME,
        "respiratory_rate",
        args.respiratory_rate,
        0.0,
        80.0,
        "breaths/min",
    )?;
    check_range(
        NAME,
        "systolic_bp_mmhg",
        args.systolic_bp_mmhg,
        0.0,
        300.0,
        "mmHg",
    )?;

    let criteria = [
        (
            args.respiratory_rate >= 22.0,
            format!(
                "Respiratory rate {} breaths/min (>=22 scores 1)",
                args.respiratory_rate
            ),
        ),
        (
            args.systolic_bp_mmhg <= 100.0,
            format!(
                "Systolic BP {} mmHg (<=100 scores 1)",
                args.systolic_bp_mmhg
            ),
        ),
        (
            args.altered_mentation,
            format!(
                "Altered mentation: {}",
                if args.altered_mentation { "yes" } else { "no" }
            ),
        ),
    ];
    let mut score = 0u32;
    let mut explanation = Vec::with_capacity(criteria.len() + 1);
    for (met, text) in criteria {
        let points = u32::from(met);
        score += points;
        explanation.push(format!(
            "{text}: {points} point{}",
            plural(i64::from(points))
        ));
    }
    let high_risk = score >= 2;
    explanation.push(format!("qSOFA = {score}/3"));
    let interpretation = if high_risk {
        "qSOFA >=2: higher risk of death or prolonged ICU stay if infection is present. \
         Assess for organ dysfunction (full SOFA, lactate), consider sepsis and escalate care."
    } else {
        "qSOFA <2: does not rule out sepsis. Continue monitoring, reassess if the patient \
         deteriorates, and use clinical judgement (qSOFA is not a diagnostic test)."
    };
    Ok(Output {
        score,
        high_risk,
        interpretation: interpretation.to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn args(rr: f64, sbp: f64, altered: bool) -> Args {
        Args {
            respiratory_rate: rr,
            systolic_bp_mmhg: sbp,
            altered_mentation: altered,
        }
    }

    #[test]
    fn scores_and_boundaries() {
        // (RR, SBP, altered, expected score)
        let table: &[(f64, f64, bool, u32)] = &[
            (21.0, 101.0, false, 0),
            (21.9, 100.1, false, 0),
            (22.0, 101.0, false, 1),
            (21.0, 100.0, false, 1),
            (21.0, 120.0, true, 1),
            (22.0, 100.0, false, 2),
            (30.0, 90.0, true, 3),
        ];
        for &(rr, sbp, altered, expected) in table {
            let out = run(args(rr, sbp, altered)).unwrap();
            assert_eq!(out.score, expected, "rr {rr} sbp {sbp} altered {altered}");
            assert_eq!(out.high_risk, expected >= 2);
        }
    }

    #[test]
    fn explanation_lists_each_criterion() {
        let out = run(args(24.0, 95.0, false)).unwrap();
        assert_eq!(
            out.explanation[0],
            "Respiratory rate 24 breaths/min (>=22 scores 1): 1 point"
        );
        assert_eq!(
            out.explanation[1],
            "Systolic BP 95 mmHg (<=100 scores 1): 1 point"
        );
        assert_eq!(out.explanation[2], "Altered mentation: no: 0 points");
    }

    #[test]
    fn rejects_out_of_range() {
        assert_eq!(
            run(args(20.0, 400.0, false)).unwrap_err(),
            Error::invalid(
                NAME,
                "systolic_bp_mmhg: must be between 0 and 300 mmHg, got 400"
            )
        );
    }
}
