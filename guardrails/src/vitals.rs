//! Vital signs given in structured form (`medserve.vitals`) trigger the emergency path when
//! the early-warning scores cross a threshold. What the guidelines say, and medserve's
//! policy on top of it:
//!
//! - NEWS2 aggregate ≥ 7: the "emergency response" threshold (Royal College of Physicians,
//!   *National Early Warning Score (NEWS) 2*, 2017).
//! - A single NEWS2 parameter scoring 3: RCP calls this low–medium risk needing an *urgent
//!   ward-based response*, not an emergency response.
//! - qSOFA ≥ 2: in suspected infection, high risk of poor outcome and a prompt to assess for
//!   organ dysfunction (Seymour et al., JAMA 2016; Singer et al., Sepsis-3, JAMA 2016).
//!
//! medserve deliberately over-triages: outside a ward nobody is there to give the urgent
//! review, so a patient-facing server escalates all three to the fixed emergency answer
//! (a false alarm costs a call; a miss can kill). The reasons state which rule fired.
//!
//! The scores come from the same calculators as the tools (`medserve-tools`). Missing
//! observations are never scored as normal in the result: a partial NEWS2 sum is a lower
//! bound, so a partial sum of 7 already meets the threshold; qSOFA criteria that were not
//! given count 0 and the result says the score is a lower bound.

use medserve_tools::news2::{self, Consciousness};
use medserve_tools::qsofa;
use serde::Deserialize;

/// Structured observations (`medserve.vitals`). Every field is optional; units are in the
/// names.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vitals {
    /// Respiration rate, breaths/min.
    pub respiratory_rate: Option<f64>,
    /// Peripheral oxygen saturation, %.
    pub spo2_percent: Option<f64>,
    /// NEWS2 SpO2 scale: 1 (default) or 2 (prescribed target 88–92%).
    pub spo2_scale: Option<u8>,
    /// Receiving supplemental oxygen.
    pub supplemental_oxygen: Option<bool>,
    /// Systolic blood pressure, mmHg.
    pub systolic_bp_mmhg: Option<f64>,
    /// Pulse, beats/min.
    pub pulse_bpm: Option<f64>,
    /// ACVPU: `alert`, `new_confusion`, `voice`, `pain`, `unresponsive`.
    pub consciousness: Option<Consciousness>,
    /// Temperature, °C.
    pub temperature_c: Option<f64>,
    /// Altered mentation for qSOFA (GCS < 15). Defaults to "consciousness is not alert" when
    /// consciousness is given.
    pub altered_mentation: Option<bool>,
}

/// Why the vital signs call for the emergency path.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalsAlarm {
    /// Evidence, e.g. `"NEWS2 8 (>= 7)"`, `"NEWS2 respiratory rate scored 3"`, `"qSOFA 2"`.
    pub reasons: Vec<String>,
    /// One plain sentence for the emergency answer.
    pub summary: String,
}

/// The scores computed from the vital signs, whether or not they raise an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct VitalsAssessment {
    /// NEWS2 (possibly incomplete: see `news2.complete` and `news2.missing`).
    pub news2: news2::Output,
    /// qSOFA, if at least one of its criteria was given.
    pub qsofa: Option<QsofaBound>,
    /// Set when the scores meet an emergency threshold.
    pub alarm: Option<VitalsAlarm>,
}

/// A qSOFA score computed from the criteria that were given.
#[derive(Debug, Clone, PartialEq)]
pub struct QsofaBound {
    /// Score 0–3 (a lower bound if `complete` is false).
    pub score: u32,
    /// All three criteria were given.
    pub complete: bool,
}

/// Scores the vital signs. Out-of-range values are an error naming the field (the tools'
/// validation), never a silent zero.
pub fn assess(v: &Vitals) -> Result<VitalsAssessment, medserve_tools::Error> {
    let n = news2::run(news2::Args {
        respiratory_rate: v.respiratory_rate,
        spo2_percent: v.spo2_percent,
        spo2_scale: v.spo2_scale,
        supplemental_oxygen: v.supplemental_oxygen,
        systolic_bp_mmhg: v.systolic_bp_mmhg,
        pulse_bpm: v.pulse_bpm,
        consciousness: v.consciousness,
        temperature_c: v.temperature_c,
    })?;

    let mentation = v
        .altered_mentation
        .or(v.consciousness.map(|c| c != Consciousness::Alert));
    let qsofa =
        if v.respiratory_rate.is_some() || v.systolic_bp_mmhg.is_some() || mentation.is_some() {
            // Absent criteria are filled with values that score 0: the score is a lower bound.
            let out = qsofa::run(qsofa::Args {
                respiratory_rate: v.respiratory_rate.unwrap_or(12.0),
                systolic_bp_mmhg: v.systolic_bp_mmhg.unwrap_or(120.0),
                altered_mentation: mentation.unwrap_or(false),
            })?;
            Some(QsofaBound {
                score: out.score,
                complete: v.respiratory_rate.is_some()
                    && v.systolic_bp_mmhg.is_some()
                    && mentation.is_some(),
            })
        } else {
            None
        };

    let mut reasons = Vec::new();
    let news_total = n.total.unwrap_or(n.partial_total);
    if news_total >= 7 {
        reasons.push(if n.complete {
            format!("NEWS2 {news_total} (>= 7)")
        } else {
            format!("NEWS2 at least {news_total} (>= 7, incomplete)")
        });
    }
    for c in &n.components {
        if c.points == Some(3) {
            reasons.push(format!(
                "NEWS2 {} scored 3 (RCP: urgent clinical review)",
                c.parameter.to_lowercase()
            ));
        }
    }
    if let Some(q) = &qsofa {
        if q.score >= 2 {
            reasons.push(format!(
                "qSOFA {} (>= 2: high risk if infection is suspected)",
                q.score
            ));
        }
    }
    let alarm = (!reasons.is_empty()).then(|| VitalsAlarm {
        summary: format!(
            "The vital signs given ({}) call for urgent assessment by a clinician now; this \
             service escalates them as an emergency.",
            reasons.join("; ")
        ),
        reasons,
    });
    Ok(VitalsAssessment {
        news2: n,
        qsofa,
        alarm,
    })
}

/// Reads a tool result (the JSON output of the `news2` or `qsofa` tool, as sent back in a
/// `tool` message) and returns the emergency reasons it carries: NEWS2 total (or partial
/// total) ≥ 7, any single parameter scoring 3, or qSOFA ≥ 2. Anything else (other tools,
/// text, malformed JSON) is `None`: the result is simply not a score.
pub fn tool_result_alarm(content: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(content.trim()).ok()?;
    let obj = v.as_object()?;
    let mut reasons = Vec::new();
    if obj.contains_key("single_parameter_score_3") && obj.contains_key("partial_total") {
        let total = obj
            .get("total")
            .and_then(|t| t.as_u64())
            .or_else(|| obj.get("partial_total").and_then(|t| t.as_u64()))?;
        if total >= 7 {
            reasons.push(format!("NEWS2 {total} (>= 7, computed by the news2 tool)"));
        }
        if obj.get("single_parameter_score_3") == Some(&serde_json::Value::Bool(true)) {
            reasons.push("NEWS2 single parameter scored 3 (news2 tool)".to_string());
        }
    } else if obj.contains_key("high_risk") && obj.contains_key("score") {
        let score = obj.get("score").and_then(|s| s.as_u64())?;
        if score >= 2 {
            reasons.push(format!("qSOFA {score} (>= 2, computed by the qsofa tool)"));
        }
    }
    (!reasons.is_empty()).then_some(reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_with_emergency_scores_raise_an_alarm() {
        // Real tool outputs, not hand-written JSON.
        let high = medserve_tools::call(
            "news2",
            &serde_json::json!({"respiratory_rate": 26, "spo2_percent": 91, "supplemental_oxygen": false,
                "systolic_bp_mmhg": 95, "pulse_bpm": 125, "consciousness": "alert", "temperature_c": 39.5}),
        )
        .unwrap();
        let reasons = tool_result_alarm(&high.to_string()).unwrap();
        assert!(reasons[0].starts_with("NEWS2 "), "{reasons:?}");
        let low = medserve_tools::call(
            "news2",
            &serde_json::json!({"respiratory_rate": 16, "spo2_percent": 97, "supplemental_oxygen": false,
                "systolic_bp_mmhg": 125, "pulse_bpm": 70, "consciousness": "alert", "temperature_c": 37.0}),
        )
        .unwrap();
        assert_eq!(tool_result_alarm(&low.to_string()), None);
        let q = medserve_tools::call(
            "qsofa",
            &serde_json::json!({"respiratory_rate": 24, "systolic_bp_mmhg": 90, "altered_mentation": false}),
        )
        .unwrap();
        assert_eq!(
            tool_result_alarm(&q.to_string()),
            Some(vec![
                "qSOFA 2 (>= 2, computed by the qsofa tool)".to_string()
            ])
        );
        assert_eq!(tool_result_alarm("NEWS2 is 9"), None);
        assert_eq!(tool_result_alarm("{\"bmi\": 31}"), None);
    }

    fn normal() -> Vitals {
        Vitals {
            respiratory_rate: Some(16.0),
            spo2_percent: Some(97.0),
            spo2_scale: None,
            supplemental_oxygen: Some(false),
            systolic_bp_mmhg: Some(125.0),
            pulse_bpm: Some(72.0),
            consciousness: Some(Consciousness::Alert),
            temperature_c: Some(37.0),
            altered_mentation: None,
        }
    }

    #[test]
    fn normal_observations_raise_nothing() {
        let a = assess(&normal()).unwrap();
        assert_eq!(a.news2.total, Some(0));
        assert_eq!(
            a.qsofa,
            Some(QsofaBound {
                score: 0,
                complete: true
            })
        );
        assert!(a.alarm.is_none());
    }

    #[test]
    fn aggregate_of_seven_triggers() {
        // RR 24 (2) + SpO2 93 (2) + pulse 115 (2) + temp 38.5 (1) = 7, no single 3.
        let v = Vitals {
            respiratory_rate: Some(24.0),
            spo2_percent: Some(93.0),
            pulse_bpm: Some(115.0),
            temperature_c: Some(38.5),
            ..normal()
        };
        let a = assess(&v).unwrap();
        assert_eq!(a.news2.total, Some(7));
        let alarm = a.alarm.unwrap();
        assert!(
            alarm.reasons.iter().any(|r| r == "NEWS2 7 (>= 7)"),
            "{alarm:?}"
        );
        // Six points is medium risk, not an emergency.
        let v = Vitals {
            temperature_c: Some(37.0),
            ..v
        };
        assert!(assess(&v).unwrap().alarm.is_none());
    }

    #[test]
    fn a_single_red_score_triggers() {
        let v = Vitals {
            respiratory_rate: Some(8.0),
            ..normal()
        };
        let a = assess(&v).unwrap();
        assert_eq!(a.news2.total, Some(3));
        let alarm = a.alarm.unwrap();
        assert_eq!(alarm.reasons.len(), 1, "{alarm:?}");
        assert!(alarm.reasons[0].contains("scored 3"), "{alarm:?}");
    }

    #[test]
    fn qsofa_two_triggers_even_with_missing_news2_fields() {
        let v = Vitals {
            respiratory_rate: Some(22.0),
            systolic_bp_mmhg: Some(100.0),
            ..Vitals::default()
        };
        let a = assess(&v).unwrap();
        assert!(!a.news2.complete);
        assert_eq!(
            a.qsofa,
            Some(QsofaBound {
                score: 2,
                complete: false
            })
        );
        assert!(a.alarm.unwrap().reasons[0].starts_with("qSOFA 2 (>= 2"));
    }

    #[test]
    fn new_confusion_counts_for_both_scores() {
        let v = Vitals {
            consciousness: Some(Consciousness::NewConfusion),
            ..normal()
        };
        let a = assess(&v).unwrap();
        assert_eq!(a.qsofa.as_ref().map(|q| q.score), Some(1));
        // Confusion scores 3 on NEWS2: a single red score.
        assert!(a.alarm.is_some());
    }

    #[test]
    fn out_of_range_values_are_errors_not_zeros() {
        let v = Vitals {
            respiratory_rate: Some(500.0),
            ..normal()
        };
        let e = assess(&v).unwrap_err();
        assert!(e.to_string().contains("respiratory_rate"), "{e}");
    }
}
