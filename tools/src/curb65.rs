//! CURB-65 (or CRB-65 when urea is unavailable): severity of community-acquired pneumonia.
//!
//! Sources: Lim WS, van der Eerden MM, Laing R, et al. Defining community acquired
//! pneumonia severity on presentation to hospital: an international derivation and
//! validation study. Thorax 2003;58(5):377-382 (criteria and the 30-day mortality of the
//! three CURB-65 groups: 1.5%, 9.2%, 22%). CRB-65 groups as in Lim WS, Baudouin SV,
//! George RC, et al. BTS guidelines for the management of community acquired pneumonia in
//! adults: update 2009. Thorax 2009;64(Suppl 3):iii1-55.
//!
//! One point each: Confusion (new), Urea >7 mmol/L, Respiratory rate ≥30/min, low Blood
//! pressure (systolic <90 or diastolic ≤60 mmHg; one point even if both), age ≥65.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{bool_prop, check_range, num_prop, object_schema, plural, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "curb65";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// New mental confusion (e.g. abbreviated mental test score ≤8 or new disorientation).
    pub confusion: bool,
    /// Serum urea, mmol/L. Omit if unavailable: CRB-65 is then computed instead.
    /// (From BUN in mg/dL: urea mmol/L = BUN / 2.8.)
    #[serde(default)]
    pub urea_mmol_l: Option<f64>,
    /// Respiratory rate, breaths/min.
    pub respiratory_rate: f64,
    /// Systolic blood pressure, mmHg.
    pub systolic_bp_mmhg: f64,
    /// Diastolic blood pressure, mmHg.
    pub diastolic_bp_mmhg: f64,
    /// Age, years.
    pub age_years: f64,
}

/// Risk group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskGroup {
    /// CURB-65 0–1 or CRB-65 0.
    Low,
    /// CURB-65 2 or CRB-65 1–2.
    Intermediate,
    /// CURB-65 3–5 or CRB-65 3–4.
    High,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// `"CURB-65"` when urea was given, otherwise `"CRB-65"`.
    pub variant: String,
    /// Score (0–5 for CURB-65, 0–4 for CRB-65).
    pub score: u32,
    /// Maximum possible score for the variant.
    pub max_score: u32,
    /// Risk group.
    pub risk_group: RiskGroup,
    /// Suggested management for the risk group.
    pub management: String,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "CURB-65 severity score for community-acquired pneumonia in adults (Lim et al., Thorax \
         2003): confusion, urea >7 mmol/L, respiratory rate >=30, systolic BP <90 or \
         diastolic <=60 mmHg, age >=65. If urea is omitted, CRB-65 is computed and labelled \
         as such. Returns risk group and suggested management.",
        object_schema(
            json!({
                "confusion": bool_prop("New mental confusion (e.g. new disorientation in person, place or time)."),
                "urea_mmol_l": num_prop("Serum urea in mmol/L (from BUN mg/dL: divide by 2.8). Omit if not available to get CRB-65.", 0.0, 150.0),
                "respiratory_rate": num_prop("Respiratory rate in breaths/min.", 0.0, 80.0),
                "systolic_bp_mmhg": num_prop("Systolic blood pressure in mmHg.", 0.0, 300.0),
                "diastolic_bp_mmhg": num_prop("Diastolic blood pressure in mmHg.", 0.0, 200.0),
                "age_years": num_prop("Age in years.", 0.0, 130.0),
            }),
            &[
                "confusion",
                "respiratory_rate",
                "systolic_bp_mmhg",
                "diastolic_bp_mmhg",
                "age_years",
            ],
        ),
    )
}

/// Computes CURB-65, or CRB-65 when urea is missing.
pub fn run(args: Args) -> Result<Output> {
    if let Some(u) = args.urea_mmol_l {
        check_range(NAME, "urea_mmol_l", u, 0.0, 150.0, "mmol/L")?;
    }
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
    check_range(
        NAME,
        "diastolic_bp_mmhg",
        args.diastolic_bp_mmhg,
        0.0,
        200.0,
        "mmHg",
    )?;
    check_range(NAME, "age_years", args.age_years, 0.0, 130.0, "years")?;

    let mut criteria: Vec<(bool, String)> = vec![(
        args.confusion,
        format!("Confusion: {}", if args.confusion { "yes" } else { "no" }),
    )];
    if let Some(u) = args.urea_mmol_l {
        criteria.push((u > 7.0, format!("Urea {u} mmol/L (>7 scores 1)")));
    }
    criteria.push((
        args.respiratory_rate >= 30.0,
        format!(
            "Respiratory rate {} breaths/min (>=30 scores 1)",
            args.respiratory_rate
        ),
    ));
    criteria.push((
        args.systolic_bp_mmhg < 90.0 || args.diastolic_bp_mmhg <= 60.0,
        format!(
            "Blood pressure {}/{} mmHg (systolic <90 or diastolic <=60 scores 1)",
            args.systolic_bp_mmhg, args.diastolic_bp_mmhg
        ),
    ));
    criteria.push((
        args.age_years >= 65.0,
        format!("Age {} years (>=65 scores 1)", args.age_years),
    ));

    let mut score = 0u32;
    let mut explanation = Vec::new();
    for (met, text) in criteria {
        let points = u32::from(met);
        score += points;
        explanation.push(format!(
            "{text}: {points} point{}",
            plural(i64::from(points))
        ));
    }

    let has_urea = args.urea_mmol_l.is_some();
    let (variant, max_score, risk_group, management) = if has_urea {
        let (group, text) = match score {
            0 | 1 => (
                RiskGroup::Low,
                "Low risk (30-day mortality about 1.5% in the derivation study): likely suitable \
                 for home treatment, subject to clinical judgement and social circumstances.",
            ),
            2 => (
                RiskGroup::Intermediate,
                "Intermediate risk (about 9.2%): consider short-stay inpatient or \
                 hospital-supervised outpatient treatment.",
            ),
            _ => (
                RiskGroup::High,
                "High risk (about 22%): manage in hospital as severe pneumonia; with a score \
                 of 4-5 assess for critical care (HDU/ICU).",
            ),
        };
        ("CURB-65", 5, group, text)
    } else {
        explanation
            .push("Urea not provided: CRB-65 (0-4) computed instead of CURB-65 (0-5).".to_string());
        let (group, text) = match score {
            0 => (
                RiskGroup::Low,
                "Low risk (mortality <1%): likely suitable for home treatment, subject to \
                 clinical judgement.",
            ),
            1 | 2 => (
                RiskGroup::Intermediate,
                "Increased risk (mortality 1-10%): consider referral for hospital assessment.",
            ),
            _ => (
                RiskGroup::High,
                "High risk (mortality >10%): urgent hospital admission.",
            ),
        };
        ("CRB-65", 4, group, text)
    };
    explanation.push(format!("{variant} = {score}/{max_score}"));

    Ok(Output {
        variant: variant.to_string(),
        score,
        max_score,
        risk_group,
        management: management.to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Args {
        Args {
            confusion: false,
            urea_mmol_l: Some(5.0),
            respiratory_rate: 18.0,
            systolic_bp_mmhg: 120.0,
            diastolic_bp_mmhg: 75.0,
            age_years: 40.0,
        }
    }

    #[test]
    fn boundaries_each_criterion() {
        let cases: Vec<(Args, u32)> = vec![
            (base(), 0),
            (
                Args {
                    urea_mmol_l: Some(7.0),
                    ..base()
                },
                0,
            ),
            (
                Args {
                    urea_mmol_l: Some(7.1),
                    ..base()
                },
                1,
            ),
            (
                Args {
                    respiratory_rate: 29.0,
                    ..base()
                },
                0,
            ),
            (
                Args {
                    respiratory_rate: 30.0,
                    ..base()
                },
                1,
            ),
            (
                Args {
                    systolic_bp_mmhg: 90.0,
                    ..base()
                },
                0,
            ),
            (
                Args {
                    systolic_bp_mmhg: 89.0,
                    ..base()
                },
                1,
            ),
            (
                Args {
                    diastolic_bp_mmhg: 61.0,
                    ..base()
                },
                0,
            ),
            (
                Args {
                    diastolic_bp_mmhg: 60.0,
                    ..base()
                },
                1,
            ),
            // Both BP limbs abnormal still give a single point.
            (
                Args {
                    systolic_bp_mmhg: 85.0,
                    diastolic_bp_mmhg: 50.0,
                    ..base()
                },
                1,
            ),
            (
                Args {
                    age_years: 64.9,
                    ..base()
                },
                0,
            ),
            (
                Args {
                    age_years: 65.0,
                    ..base()
                },
                1,
            ),
            (
                Args {
                    confusion: true,
                    ..base()
                },
                1,
            ),
        ];
        for (args, expected) in cases {
            let label = format!("{args:?}");
            assert_eq!(run(args).unwrap().score, expected, "{label}");
        }
    }

    #[test]
    fn curb65_groups() {
        // Age 70 (1) + urea 8 (1) = 2 -> intermediate.
        let out = run(Args {
            age_years: 70.0,
            urea_mmol_l: Some(8.0),
            ..base()
        })
        .unwrap();
        assert_eq!((out.score, out.risk_group), (2, RiskGroup::Intermediate));
        assert_eq!(out.variant, "CURB-65");
        // 1 point -> low.
        let out = run(Args {
            age_years: 70.0,
            ..base()
        })
        .unwrap();
        assert_eq!((out.score, out.risk_group), (1, RiskGroup::Low));
        // All five -> 5 high.
        let out = run(Args {
            confusion: true,
            urea_mmol_l: Some(12.0),
            respiratory_rate: 32.0,
            systolic_bp_mmhg: 85.0,
            diastolic_bp_mmhg: 50.0,
            age_years: 80.0,
        })
        .unwrap();
        assert_eq!(
            (out.score, out.max_score, out.risk_group),
            (5, 5, RiskGroup::High)
        );
    }

    #[test]
    fn missing_urea_gives_crb65() {
        // Age 66 (1) + RR 32 (1) = CRB-65 2 -> intermediate.
        let out = run(Args {
            urea_mmol_l: None,
            age_years: 66.0,
            respiratory_rate: 32.0,
            ..base()
        })
        .unwrap();
        assert_eq!(out.variant, "CRB-65");
        assert_eq!((out.score, out.max_score), (2, 4));
        assert_eq!(out.risk_group, RiskGroup::Intermediate);
        assert!(out
            .explanation
            .iter()
            .any(|l| l.contains("CRB-65 (0-4) computed")));
        // CRB-65 of 0 -> low; 1 -> intermediate (differs from CURB-65 banding).
        let out = run(Args {
            urea_mmol_l: None,
            ..base()
        })
        .unwrap();
        assert_eq!(out.risk_group, RiskGroup::Low);
        let out = run(Args {
            urea_mmol_l: None,
            confusion: true,
            ..base()
        })
        .unwrap();
        assert_eq!(out.risk_group, RiskGroup::Intermediate);
    }
}
