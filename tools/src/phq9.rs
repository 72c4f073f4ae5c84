//! PHQ-9 depression severity, with a mandatory safety flag for item 9.
//!
//! Source: Kroenke K, Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression
//! severity measure. J Gen Intern Med 2001;16(9):606-613. Nine items scored 0–3 (total
//! 0–27); severity 0–4 minimal, 5–9 mild, 10–14 moderate, 15–19 moderately severe, 20–27
//! severe. Any non-zero answer to item 9 (thoughts of being better off dead or of
//! self-harm) sets `suicide_risk_flag`, whatever the total.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{check_items, itemised, object_schema, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "phq9";

/// Short labels of the nine items, in order.
pub const ITEMS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself, or that you are a failure",
    "Trouble concentrating",
    "Moving or speaking slowly, or being fidgety/restless",
    "Thoughts that you would be better off dead or of hurting yourself",
];

/// Safety message returned whenever item 9 is non-zero.
pub const SAFETY_MESSAGE: &str = "Item 9 is positive: assess suicide risk directly and the \
    same day (thoughts, plans, intent, access to means, protective factors). Do not leave a \
    person at immediate risk alone; follow the local urgent mental-health/crisis pathway, and \
    contact emergency services if there is immediate danger.";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Scores of items 1–9 in order, each 0 (not at all) to 3 (nearly every day), over the
    /// last 2 weeks.
    pub items: Vec<u8>,
}

/// Depression severity band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 0–4.
    Minimal,
    /// 5–9.
    Mild,
    /// 10–14.
    Moderate,
    /// 15–19.
    ModeratelySevere,
    /// 20–27.
    Severe,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Total score, 0–27.
    pub total: u32,
    /// Severity band.
    pub severity: Severity,
    /// Suggested action for the band.
    pub suggested_action: String,
    /// `true` if item 9 is non-zero.
    pub suicide_risk_flag: bool,
    /// Safety pathway message when the flag is set.
    pub safety_message: Option<String>,
    /// Per-item scores and the banding.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "PHQ-9 depression questionnaire (Kroenke et al., 2001): nine item scores 0-3 over the \
         last 2 weeks; total 0-27 with severity (0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 \
         moderately severe, 20-27 severe). Any non-zero item 9 raises a suicide-risk flag and \
         a safety message regardless of total.",
        object_schema(
            json!({
                "items": {
                    "type": "array",
                    "description": "Scores for items 1-9 in order: 0 not at all, 1 several days, 2 more than half the days, 3 nearly every day. Item 9 is thoughts of being better off dead or of self-harm.",
                    "items": { "type": "integer", "minimum": 0, "maximum": 3 },
                    "minItems": 9,
                    "maxItems": 9
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
        15..=19 => Severity::ModeratelySevere,
        _ => Severity::Severe,
    }
}

/// Scores the PHQ-9.
pub fn run(args: Args) -> Result<Output> {
    let total = check_items(NAME, &args.items, 9, 3)?;
    let band = severity(total);
    let mut explanation = itemised(&ITEMS, &args.items);
    explanation.push(format!("Total {total}/27: {band:?}"));
    let action = match band {
        Severity::Minimal => "Minimal symptoms: no treatment usually needed; reassess if concerns persist.",
        Severity::Mild => "Mild: watchful waiting, support and self-help; repeat PHQ-9 at follow-up.",
        Severity::Moderate => "Moderate: agree a treatment plan (psychological therapy and/or antidepressant) with follow-up.",
        Severity::ModeratelySevere => "Moderately severe: active treatment with antidepressant and/or psychological therapy.",
        Severity::Severe => "Severe: prompt initiation of treatment and referral to a mental-health specialist, especially if impairment is severe or response poor.",
    };
    let suicide_risk_flag = args.items[8] > 0;
    if suicide_risk_flag {
        explanation.push(format!(
            "Item 9 = {}: suicide-risk flag set regardless of the total",
            args.items[8]
        ));
    }
    Ok(Output {
        total,
        severity: band,
        suggested_action: action.to_string(),
        suicide_risk_flag,
        safety_message: suicide_risk_flag.then(|| SAFETY_MESSAGE.to_string()),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    /// Spreads `total` (0–24) over items 1–8, leaving item 9 at 0.
    fn items_with_total(total: u8) -> Vec<u8> {
        let mut items = vec![0u8; 9];
        let mut left = total;
        for item in items.iter_mut().take(8) {
            let v = left.min(3);
            *item = v;
            left -= v;
        }
        assert_eq!(left, 0, "total too large for items 1-8");
        items
    }

    #[test]
    fn severity_boundaries() {
        let table: &[(u8, Severity)] = &[
            (0, Severity::Minimal),
            (4, Severity::Minimal),
            (5, Severity::Mild),
            (9, Severity::Mild),
            (10, Severity::Moderate),
            (14, Severity::Moderate),
            (15, Severity::ModeratelySevere),
            (19, Severity::ModeratelySevere),
            (20, Severity::Severe),
            (24, Severity::Severe),
        ];
        for &(total, band) in table {
            let out = run(Args {
                items: items_with_total(total),
            })
            .unwrap();
            assert_eq!(out.total, u32::from(total));
            assert_eq!(out.severity, band, "total {total}");
            assert!(!out.suicide_risk_flag);
            assert_eq!(out.safety_message, None);
        }
        // All items 3 -> 27, severe, and item 9 flags.
        let out = run(Args { items: vec![3; 9] }).unwrap();
        assert_eq!((out.total, out.severity), (27, Severity::Severe));
        assert!(out.suicide_risk_flag);
    }

    #[test]
    fn item9_flags_even_with_minimal_total() {
        // Only item 9 = 1: total 1 (minimal) but the flag and safety message are set.
        let out = run(Args {
            items: vec![0, 0, 0, 0, 0, 0, 0, 0, 1],
        })
        .unwrap();
        assert_eq!(out.total, 1);
        assert_eq!(out.severity, Severity::Minimal);
        assert!(out.suicide_risk_flag);
        assert_eq!(out.safety_message.as_deref(), Some(SAFETY_MESSAGE));
    }

    #[test]
    fn rejects_wrong_length_and_range() {
        assert_eq!(
            run(Args { items: vec![0; 8] }).unwrap_err(),
            Error::invalid(NAME, "items: expected exactly 9 item scores, got 8")
        );
        assert_eq!(
            run(Args {
                items: vec![0, 0, 0, 4, 0, 0, 0, 0, 0]
            })
            .unwrap_err(),
            Error::invalid(NAME, "items[3] (item 4): must be between 0 and 3, got 4")
        );
    }
}
