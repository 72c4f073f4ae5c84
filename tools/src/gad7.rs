//! GAD-7 generalised anxiety severity.
//!
//! Source: Spitzer RL, Kroenke K, Williams JBW, Löwe B. A brief measure for assessing
//! generalized anxiety disorder: the GAD-7. Arch Intern Med 2006;166(10):1092-1097.
//! Seven items scored 0–3 (total 0–21); severity 0–4 minimal, 5–9 mild, 10–14 moderate,
//! 15–21 severe; a total ≥10 is the recommended cut-point for further evaluation.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{check_items, itemised, object_schema, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "gad7";

/// Short labels of the seven items, in order.
pub const ITEMS: [&str; 7] = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
];

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Scores of items 1–7 in order, each 0 (not at all) to 3 (nearly every day), over the
    /// last 2 weeks.
    pub items: Vec<u8>,
}

/// Anxiety severity band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 0–4.
    Minimal,
    /// 5–9.
    Mild,
    /// 10–14.
    Moderate,
    /// 15–21.
    Severe,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Total score, 0–21.
    pub total: u32,
    /// Severity band.
    pub severity: Severity,
    /// `true` when total ≥ 10 (further evaluation recommended).
    pub further_evaluation_recommended: bool,
    /// Suggested action for the band.
    pub suggested_action: String,
    /// Per-item scores and the banding.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "GAD-7 anxiety questionnaire (Spitzer et al., 2006): seven item scores 0-3 over the \
         last 2 weeks; total 0-21 with severity (0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 \
         severe); >=10 warrants further evaluation.",
        object_schema(
            json!({
                "items": {
                    "type": "array",
                    "description": "Scores for items 1-7 in order: 0 not at all, 1 several days, 2 more than half the days, 3 nearly every day.",
                    "items": { "type": "integer", "minimum": 0, "maximum": 3 },
                    "minItems": 7,
                    "maxItems": 7
                },
            }),
            &["items"],
        ),
    )
}

/// Severity band of a total.
fn severity(total: u32) -> Severity {
    match total {
        0..=4 => Severity::Minimal,
        5..=9 => Severity::Mild,
        10..=14 => Severity::Moderate,
        _ => Severity::Severe,
    }
}

/// Scores the GAD-7.
pub fn run(args: Args) -> Result<Output> {
    let total = check_items(NAME, &args.items, 7, 3)?;
    let band = severity(total);
    let mut explanation = itemised(&ITEMS, &args.items);
    explanation.push(format!("Total {total}/21: {band:?}"));
    let action = match band {
        Severity::Minimal => "Minimal anxiety: no specific action usually needed.",
        Severity::Mild => "Mild: monitor, offer information and self-help; reassess at follow-up.",
        Severity::Moderate => "Moderate: further clinical evaluation for an anxiety disorder and discussion of treatment options.",
        Severity::Severe => "Severe: further clinical evaluation and active treatment (psychological therapy and/or medication); consider specialist referral.",
    };
    Ok(Output {
        total,
        severity: band,
        further_evaluation_recommended: total >= 10,
        suggested_action: action.to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn severity_boundaries() {
        // (items, total, band)
        let table: &[([u8; 7], u32, Severity)] = &[
            ([0, 0, 0, 0, 0, 0, 0], 0, Severity::Minimal),
            ([1, 1, 1, 1, 0, 0, 0], 4, Severity::Minimal),
            ([1, 1, 1, 1, 1, 0, 0], 5, Severity::Mild),
            ([3, 3, 3, 0, 0, 0, 0], 9, Severity::Mild),
            ([3, 3, 3, 1, 0, 0, 0], 10, Severity::Moderate),
            ([3, 3, 3, 3, 2, 0, 0], 14, Severity::Moderate),
            ([3, 3, 3, 3, 3, 0, 0], 15, Severity::Severe),
            ([3, 3, 3, 3, 3, 3, 3], 21, Severity::Severe),
        ];
        for &(items, total, band) in table {
            let out = run(Args {
                items: items.to_vec(),
            })
            .unwrap();
            assert_eq!(out.total, total, "{items:?}");
            assert_eq!(out.severity, band, "{items:?}");
            assert_eq!(out.further_evaluation_recommended, total >= 10);
        }
    }

    #[test]
    fn rejects_wrong_length() {
        assert_eq!(
            run(Args { items: vec![0; 9] }).unwrap_err(),
            Error::invalid(NAME, "items: expected exactly 7 item scores, got 9")
        );
    }
}
