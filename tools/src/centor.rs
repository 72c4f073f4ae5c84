//! Centor score and McIsaac (age-modified) score for streptococcal pharyngitis.
//!
//! Sources: Centor RM, Witherspoon JM, Dalton HP, et al. The diagnosis of strep throat in
//! adults in the emergency room. Med Decis Making 1981;1(3):239-246 (one point each:
//! tonsillar exudate, tender anterior cervical lymphadenopathy, history of fever, absence
//! of cough). McIsaac WJ, White D, Tannenbaum D, Low DE. A clinical score to reduce
//! unnecessary antibiotic use in patients with sore throat. CMAJ 1998;158(1):75-83 (fever
//! >38 °C; age 3–14 +1, 15–44 0, ≥45 −1). Age bands are half-open: [3, 15), [15, 45), ≥45.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{bool_prop, check_range, num_prop, object_schema, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "centor";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Tonsillar exudate or swelling.
    pub tonsillar_exudate_or_swelling: bool,
    /// Tender and/or swollen anterior cervical lymph nodes.
    pub tender_anterior_cervical_nodes: bool,
    /// Temperature above 38 °C, measured or by history.
    pub fever_over_38c: bool,
    /// Cough is absent.
    pub cough_absent: bool,
    /// Age, years. Optional; required for the McIsaac score (validated from age 3).
    #[serde(default)]
    pub age_years: Option<f64>,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Original Centor score, 0–4.
    pub centor_score: u32,
    /// Age adjustment (+1, 0 or −1), if age was given and ≥3 years.
    pub age_points: Option<i32>,
    /// McIsaac score, −1 to 5, if computable.
    pub mcisaac_score: Option<i32>,
    /// Suggested action (based on McIsaac when available, otherwise Centor).
    pub suggested_action: String,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Centor (1981) and McIsaac (1998) scores for group A streptococcal pharyngitis: \
         tonsillar exudate/swelling, tender anterior cervical nodes, fever >38 C, absence of \
         cough, plus McIsaac age adjustment (3-14 +1, 15-44 0, >=45 -1). Returns both scores \
         and a suggested testing/antibiotic action.",
        object_schema(
            json!({
                "tonsillar_exudate_or_swelling": bool_prop("Tonsillar exudate or swelling present."),
                "tender_anterior_cervical_nodes": bool_prop("Tender and/or swollen anterior cervical lymph nodes."),
                "fever_over_38c": bool_prop("Temperature above 38 degrees C (measured or history of fever)."),
                "cough_absent": bool_prop("true if the patient has NO cough."),
                "age_years": num_prop("Age in years (needed for the McIsaac score; McIsaac applies from age 3).", 0.0, 120.0),
            }),
            &[
                "tonsillar_exudate_or_swelling",
                "tender_anterior_cervical_nodes",
                "fever_over_38c",
                "cough_absent",
            ],
        ),
    )
}

/// McIsaac age adjustment, or `None` below 3 years.
fn age_adjustment(age: f64) -> Option<i32> {
    if age < 3.0 {
        None
    } else if age < 15.0 {
        Some(1)
    } else if age < 45.0 {
        Some(0)
    } else {
        Some(-1)
    }
}

fn action(score: i32) -> &'static str {
    if score <= 1 {
        "Low probability of streptococcal pharyngitis: no throat swab/rapid antigen test and \
         no antibiotic are usually needed; symptomatic treatment."
    } else if score <= 3 {
        "Intermediate probability: consider a rapid antigen test and/or throat culture and \
         give antibiotics only if positive (or per local guidance, e.g. a back-up prescription)."
    } else {
        "High probability: test and treat if positive, or consider empirical antibiotics per \
         local guidance (e.g. NICE NG84 suggests considering an immediate antibiotic at \
         Centor 3-4)."
    }
}

/// Computes the Centor and McIsaac scores.
pub fn run(args: Args) -> Result<Output> {
    if let Some(age) = args.age_years {
        check_range(NAME, "age_years", age, 0.0, 120.0, "years")?;
    }
    let criteria = [
        (
            args.tonsillar_exudate_or_swelling,
            "Tonsillar exudate or swelling",
        ),
        (
            args.tender_anterior_cervical_nodes,
            "Tender/swollen anterior cervical nodes",
        ),
        (args.fever_over_38c, "Fever >38 C"),
        (args.cough_absent, "Absence of cough"),
    ];
    let mut centor = 0u32;
    let mut explanation = Vec::new();
    for (met, label) in criteria {
        centor += u32::from(met);
        explanation.push(format!(
            "{label}: {}",
            if met { "present, +1" } else { "absent, 0" }
        ));
    }
    explanation.push(format!("Centor score = {centor}/4"));

    let age_points = args.age_years.and_then(age_adjustment);
    let mcisaac = age_points.map(|p| centor as i32 + p);
    match (args.age_years, age_points, mcisaac) {
        (Some(age), Some(p), Some(m)) => {
            explanation.push(format!("Age {age} years: {p:+}"));
            explanation.push(format!("McIsaac score = {centor} {p:+} = {m}"));
        }
        (Some(age), _, _) => explanation.push(format!(
            "Age {age} years: McIsaac score not applicable below 3 years"
        )),
        (None, _, _) => explanation.push("Age not given: McIsaac score not computed".to_string()),
    }
    let basis = mcisaac.unwrap_or(centor as i32);
    Ok(Output {
        centor_score: centor,
        age_points,
        mcisaac_score: mcisaac,
        suggested_action: action(basis).to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn args(n_criteria: usize, age: Option<f64>) -> Args {
        Args {
            tonsillar_exudate_or_swelling: n_criteria >= 1,
            tender_anterior_cervical_nodes: n_criteria >= 2,
            fever_over_38c: n_criteria >= 3,
            cough_absent: n_criteria >= 4,
            age_years: age,
        }
    }

    #[test]
    fn centor_and_mcisaac() {
        // (criteria met, age, Centor, McIsaac)
        let table: &[(usize, Option<f64>, u32, Option<i32>)] = &[
            (4, Some(10.0), 4, Some(5)),
            (4, Some(50.0), 4, Some(3)),
            (0, Some(50.0), 0, Some(-1)),
            (2, Some(30.0), 2, Some(2)),
            (3, Some(14.9), 3, Some(4)),
            (3, Some(15.0), 3, Some(3)),
            (3, Some(44.9), 3, Some(3)),
            (3, Some(45.0), 3, Some(2)),
            (3, Some(3.0), 3, Some(4)),
            (3, Some(2.5), 3, None),
            (3, None, 3, None),
        ];
        for &(n, age, centor, mcisaac) in table {
            let out = run(args(n, age)).unwrap();
            assert_eq!(out.centor_score, centor, "{n} criteria, age {age:?}");
            assert_eq!(out.mcisaac_score, mcisaac, "{n} criteria, age {age:?}");
        }
    }

    #[test]
    fn action_follows_mcisaac_when_available() {
        // Centor 2 but age 50 -> McIsaac 1 -> low-probability advice.
        let out = run(args(2, Some(50.0))).unwrap();
        assert!(out.suggested_action.starts_with("Low probability"));
        // Centor 4, no age -> high-probability advice.
        let out = run(args(4, None)).unwrap();
        assert!(out.suggested_action.starts_with("High probability"));
        let out = run(args(3, Some(30.0))).unwrap();
        assert!(out.suggested_action.starts_with("Intermediate probability"));
    }

    #[test]
    fn rejects_bad_age() {
        assert_eq!(
            run(args(1, Some(-2.0))).unwrap_err(),
            Error::invalid(NAME, "age_years: must be between 0 and 120 years, got -2")
        );
    }
}
