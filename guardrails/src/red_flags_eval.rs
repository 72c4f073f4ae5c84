//! Labelled messages for measuring the red-flag detector, and the evaluation routine.
//!
//! [`LABELLED`] holds hand-written patient and caregiver messages. About half are
//! emergencies spread over every [`Category`] (with typos, indirect phrasing and
//! third-party descriptions); the rest are non-emergencies, mostly hard negatives:
//! negated symptoms, past history, information questions, idioms and medical words in
//! harmless senses. The labels describe what the message means, not what the detector
//! happens to output.

use std::sync::LazyLock;

use serde::Serialize;

use crate::red_flags::{detect, Category};

/// The hand-labelled messages, from `data/train/red_flags_rules_set.jsonl` (embedded at
/// build time): `(text, Some(category_snake_case))` for emergencies, `(text, None)` for
/// messages that are not emergencies.
pub static LABELLED: LazyLock<Vec<(String, Option<String>)>> = LazyLock::new(|| {
    include_str!("../data/train/red_flags_rules_set.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<crate::learned::data::RedFlagExample>(l).ok())
        .map(|e| (e.text, if e.emergency { e.category } else { None }))
        .collect()
});

/// Recall for one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryRecall {
    /// The labelled category.
    pub category: Category,
    /// Messages labelled with this category.
    pub total: usize,
    /// Of those, messages whose detection includes this category.
    pub detected: usize,
    /// `detected / total` (0 when there are none).
    pub recall: f64,
}

/// One evaluated message that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalCase {
    /// The message text.
    pub text: String,
    /// The label (`None` for a non-emergency).
    pub expected: Option<Category>,
    /// Categories the detector raised.
    pub detected: Vec<Category>,
}

/// Figures from [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    /// Number of labelled messages.
    pub total: usize,
    /// Messages labelled as emergencies.
    pub emergencies: usize,
    /// Messages labelled as non-emergencies.
    pub non_emergencies: usize,
    /// Fraction of emergencies flagged as an emergency (any category).
    pub recall: f64,
    /// Fraction of emergencies whose labelled category was among those detected.
    pub category_recall: f64,
    /// Fraction of non-emergencies flagged as an emergency.
    pub false_alarm_rate: f64,
    /// Recall per labelled category, in [`Category::ALL`] order.
    pub per_category: Vec<CategoryRecall>,
    /// Emergencies not flagged at all.
    pub misses: Vec<EvalCase>,
    /// Emergencies flagged, but without the labelled category.
    pub wrong_category: Vec<EvalCase>,
    /// Non-emergencies that were flagged.
    pub false_alarms: Vec<EvalCase>,
    /// Labels that are not a known category name (should be empty).
    pub invalid_labels: Vec<String>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Runs [`detect`] over [`LABELLED`] and summarises the results.
pub fn evaluate() -> EvalReport {
    let mut emergencies = 0usize;
    let mut flagged = 0usize;
    let mut right_category = 0usize;
    let mut non_emergencies = 0usize;
    let mut false_alarm_count = 0usize;
    let mut totals = [0usize; 13];
    let mut hits = [0usize; 13];
    let mut misses = Vec::new();
    let mut wrong_category = Vec::new();
    let mut false_alarms = Vec::new();
    let mut invalid_labels = Vec::new();

    for (text, label) in LABELLED.iter() {
        let text = text.as_str();
        let label = label.as_deref();
        let detection = detect(text);
        let case = |expected: Option<Category>| EvalCase {
            text: text.to_string(),
            expected,
            detected: detection.categories.clone(),
        };
        match label {
            None => {
                non_emergencies += 1;
                if detection.is_emergency() {
                    false_alarm_count += 1;
                    false_alarms.push(case(None));
                }
            }
            Some(name) => {
                let Some(category) = Category::from_name(name) else {
                    invalid_labels.push(name.to_string());
                    continue;
                };
                let idx = Category::ALL
                    .iter()
                    .position(|c| *c == category)
                    .unwrap_or(0);
                emergencies += 1;
                totals[idx] += 1;
                if detection.is_emergency() {
                    flagged += 1;
                } else {
                    misses.push(case(Some(category)));
                }
                if detection.categories.contains(&category) {
                    right_category += 1;
                    hits[idx] += 1;
                } else if detection.is_emergency() {
                    wrong_category.push(case(Some(category)));
                }
            }
        }
    }

    let per_category = Category::ALL
        .iter()
        .enumerate()
        .map(|(i, &category)| CategoryRecall {
            category,
            total: totals[i],
            detected: hits[i],
            recall: ratio(hits[i], totals[i]),
        })
        .collect();

    EvalReport {
        total: LABELLED.len(),
        emergencies,
        non_emergencies,
        recall: ratio(flagged, emergencies),
        category_recall: ratio(right_category, emergencies),
        false_alarm_rate: ratio(false_alarm_count, non_emergencies),
        per_category,
        misses,
        wrong_category,
        false_alarms,
        invalid_labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_shape() {
        assert!(
            LABELLED.len() >= 160,
            "only {} labelled messages",
            LABELLED.len()
        );
        let report = evaluate();
        assert!(
            report.invalid_labels.is_empty(),
            "{:?}",
            report.invalid_labels
        );
        assert!(report.emergencies * 10 >= report.total * 4);
        assert!(report.non_emergencies * 10 >= report.total * 4);
        for c in &report.per_category {
            assert!(
                c.total >= 5,
                "{:?} has only {} examples",
                c.category,
                c.total
            );
        }
    }

    #[test]
    fn detector_meets_targets() {
        let report = evaluate();
        let summary = serde_json::to_string_pretty(&report).unwrap_or_default();
        assert!(
            report.recall >= 0.99,
            "recall {}:\n{summary}",
            report.recall
        );
        assert!(
            report.false_alarm_rate <= 0.10,
            "false-alarm rate {}:\n{summary}",
            report.false_alarm_rate
        );
        assert!(
            report.category_recall >= 0.90,
            "category recall {}:\n{summary}",
            report.category_recall
        );
    }
}
