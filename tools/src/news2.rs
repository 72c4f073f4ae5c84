//! NEWS2 (National Early Warning Score 2): acute-illness severity score for adults.
//!
//! Source: Royal College of Physicians. National Early Warning Score (NEWS) 2:
//! Standardising the assessment of acute-illness severity in the NHS. Updated report of a
//! working party. London: RCP, 2017.
//!
//! Bands are applied as chains of inclusive upper bounds (`x <= upper`), so a decimal
//! value between two printed integer bands (e.g. temperature 36.05 °C) falls in the next
//! band up and can never fall into a gap. A missing observation is never scored as 0:
//! the result is marked incomplete and the missing fields are listed.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{bool_prop, check_range, enum_prop, num_prop, object_schema, plural};
use crate::{Error, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "news2";

/// Level of consciousness on the ACVPU scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Consciousness {
    /// Alert (0 points).
    Alert,
    /// New-onset confusion, disorientation or agitation (3 points).
    NewConfusion,
    /// Responds to voice only (3 points).
    Voice,
    /// Responds to pain only (3 points).
    Pain,
    /// Unresponsive (3 points).
    Unresponsive,
}

/// Arguments for [`run`]. Every observation is optional so that unmeasured ones can be
/// reported as missing; the score is then incomplete.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Respiration rate, breaths/min.
    #[serde(default)]
    pub respiratory_rate: Option<f64>,
    /// Peripheral oxygen saturation (SpO2), %.
    #[serde(default)]
    pub spo2_percent: Option<f64>,
    /// SpO2 scale: 1 (default) or 2 (prescribed target 88–92%, e.g. hypercapnic
    /// respiratory failure).
    #[serde(default)]
    pub spo2_scale: Option<u8>,
    /// `true` if receiving supplemental oxygen, `false` if breathing room air.
    #[serde(default)]
    pub supplemental_oxygen: Option<bool>,
    /// Systolic blood pressure, mmHg.
    #[serde(default)]
    pub systolic_bp_mmhg: Option<f64>,
    /// Pulse rate, beats/min.
    #[serde(default)]
    pub pulse_bpm: Option<f64>,
    /// Level of consciousness (ACVPU).
    #[serde(default)]
    pub consciousness: Option<Consciousness>,
    /// Temperature, °C.
    #[serde(default)]
    pub temperature_c: Option<f64>,
}

/// Points contributed by one NEWS2 parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    /// Parameter name as on the RCP chart.
    pub parameter: String,
    /// Points (0–3), or `None` if the parameter could not be scored.
    pub points: Option<u32>,
}

/// NEWS2 clinical risk band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Aggregate 0–4 with no single parameter scoring 3.
    Low,
    /// A single parameter scoring 3 with aggregate below 5.
    LowMedium,
    /// Aggregate 5–6.
    Medium,
    /// Aggregate 7 or more.
    High,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// `true` only if all seven parameters were scored.
    pub complete: bool,
    /// Aggregate score 0–20, or `None` (JSON null) if incomplete.
    pub total: Option<u32>,
    /// Argument names of the missing observations.
    pub missing: Vec<String>,
    /// Sum of the parameters that could be scored (a lower bound when incomplete).
    pub partial_total: u32,
    /// Whether any single parameter scored 3.
    pub single_parameter_score_3: bool,
    /// Risk band, if complete.
    pub risk: Option<Risk>,
    /// Minimum frequency of monitoring recommended by the RCP, if complete.
    pub monitoring_frequency: Option<String>,
    /// Recommended clinical response, if complete.
    pub clinical_response: Option<String>,
    /// SpO2 scale used (1 or 2).
    pub spo2_scale: u8,
    /// Per-parameter points.
    pub components: Vec<Component>,
    /// How each point was reached.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "National Early Warning Score 2 (NEWS2, Royal College of Physicians 2017) for adults \
         (not children or pregnancy). Scores respiration rate, SpO2 (scale 1, or scale 2 for \
         hypercapnic respiratory failure with target 88-92%), air/oxygen, systolic BP, pulse, \
         consciousness (ACVPU) and temperature; returns total, risk band, clinical response \
         and monitoring frequency. Omit observations that were not measured: the result is \
         then incomplete and lists them (they are never scored as 0).",
        object_schema(
            json!({
                "respiratory_rate": num_prop("Respiration rate in breaths/min.", 0.0, 80.0),
                "spo2_percent": num_prop("Peripheral oxygen saturation SpO2 in %.", 0.0, 100.0),
                "spo2_scale": {
                    "type": "integer",
                    "enum": [1, 2],
                    "default": 1,
                    "description": "SpO2 scale: 1 (default) or 2 (only for patients with a prescribed target of 88-92%, e.g. hypercapnic respiratory failure)."
                },
                "supplemental_oxygen": bool_prop("true if receiving supplemental oxygen, false if breathing room air."),
                "systolic_bp_mmhg": num_prop("Systolic blood pressure in mmHg.", 0.0, 300.0),
                "pulse_bpm": num_prop("Pulse rate in beats/min.", 0.0, 300.0),
                "consciousness": enum_prop(
                    "Level of consciousness (ACVPU): alert, new_confusion (new confusion, disorientation or agitation), voice, pain or unresponsive.",
                    &["alert", "new_confusion", "voice", "pain", "unresponsive"]
                ),
                "temperature_c": num_prop("Temperature in degrees Celsius.", 25.0, 45.0),
            }),
            &[],
        ),
    )
}

/// Scores the observations; see the module docs for the banding rules.
pub fn run(args: Args) -> Result<Output> {
    validate(&args)?;
    let scale = args.spo2_scale.unwrap_or(1);
    let mut tally = Tally::default();

    tally.record(
        "Respiration rate",
        "respiratory_rate",
        args.respiratory_rate
            .map(|v| (format!("{v} breaths/min"), score_respiration(v))),
    );
    match args.spo2_percent {
        None => tally.record("SpO2", "spo2_percent", None),
        Some(s) if scale == 1 => tally.record(
            "SpO2",
            "spo2_percent",
            Some((format!("{s}% (scale 1)"), score_spo2_scale1(s))),
        ),
        Some(s) => match args.supplemental_oxygen {
            Some(on_oxygen) => {
                let how = if on_oxygen { "on oxygen" } else { "on air" };
                tally.record(
                    "SpO2",
                    "spo2_percent",
                    Some((
                        format!("{s}% {how} (scale 2)"),
                        score_spo2_scale2(s, on_oxygen),
                    )),
                );
            }
            None if s <= 92.0 => tally.record(
                "SpO2",
                "spo2_percent",
                Some((format!("{s}% (scale 2)"), score_spo2_scale2(s, false))),
            ),
            None => tally.unscorable(
                "SpO2",
                format!(
                    "SpO2 {s}% on scale 2 cannot be scored without knowing whether the patient \
                     is on oxygen (supplemental_oxygen)"
                ),
            ),
        },
    }
    tally.record(
        "Air or oxygen",
        "supplemental_oxygen",
        args.supplemental_oxygen.map(|o| {
            if o {
                ("oxygen".to_string(), 2)
            } else {
                ("air".to_string(), 0)
            }
        }),
    );
    tally.record(
        "Systolic blood pressure",
        "systolic_bp_mmhg",
        args.systolic_bp_mmhg
            .map(|v| (format!("{v} mmHg"), score_systolic(v))),
    );
    tally.record(
        "Pulse",
        "pulse_bpm",
        args.pulse_bpm
            .map(|v| (format!("{v} beats/min"), score_pulse(v))),
    );
    tally.record(
        "Consciousness",
        "consciousness",
        args.consciousness.map(|c| {
            let points = if c == Consciousness::Alert { 0 } else { 3 };
            (format!("{c:?}"), points)
        }),
    );
    tally.record(
        "Temperature",
        "temperature_c",
        args.temperature_c
            .map(|v| (format!("{v} °C"), score_temperature(v))),
    );

    let partial_total: u32 = tally.components.iter().filter_map(|c| c.points).sum();
    let single_3 = tally.components.iter().any(|c| c.points == Some(3));
    let complete = tally.components.iter().all(|c| c.points.is_some());
    let Tally {
        components,
        missing,
        mut explanation,
    } = tally;

    let (total, risk, monitoring_frequency, clinical_response) = if complete {
        let risk = risk_band(partial_total, single_3);
        let (frequency, response) = response_for(risk, partial_total);
        explanation.push(format!(
            "Total NEWS2 = {partial_total}{}; risk band {risk:?}",
            if single_3 {
                " (a single parameter scores 3)"
            } else {
                ""
            }
        ));
        (
            Some(partial_total),
            Some(risk),
            Some(frequency.to_string()),
            Some(response.to_string()),
        )
    } else {
        explanation.push(format!(
            "Incomplete: missing {}. The scored parameters sum to {partial_total}, which is only \
             a lower bound; obtain the missing observations to complete NEWS2.",
            missing.join(", ")
        ));
        if partial_total >= 5 || single_3 {
            explanation.push(format!(
                "Warning: the parameters already scored reach at least the {:?} band; respond \
                 at that level without waiting for the missing observations.",
                risk_band(partial_total, single_3)
            ));
        }
        (None, None, None, None)
    };

    Ok(Output {
        complete,
        total,
        missing,
        partial_total,
        single_parameter_score_3: single_3,
        risk,
        monitoring_frequency,
        clinical_response,
        spo2_scale: scale,
        components,
        explanation,
    })
}

/// Accumulates per-parameter points, missing fields and explanation lines.
#[derive(Default)]
struct Tally {
    components: Vec<Component>,
    missing: Vec<String>,
    explanation: Vec<String>,
}

impl Tally {
    fn record(&mut self, parameter: &str, field: &str, scored: Option<(String, u32)>) {
        match scored {
            Some((value, points)) => {
                self.explanation.push(format!(
                    "{parameter} {value}: {points} point{}",
                    plural(i64::from(points))
                ));
                self.components.push(Component {
                    parameter: parameter.to_string(),
                    points: Some(points),
                });
            }
            None => {
                self.missing.push(field.to_string());
                self.explanation
                    .push(format!("{parameter}: not provided ({field}); not scored"));
                self.components.push(Component {
                    parameter: parameter.to_string(),
                    points: None,
                });
            }
        }
    }

    fn unscorable(&mut self, parameter: &str, reason: String) {
        self.explanation.push(reason);
        self.components.push(Component {
            parameter: parameter.to_string(),
            points: None,
        });
    }
}

fn validate(args: &Args) -> Result<()> {
    if let Some(v) = args.respiratory_rate {
        check_range(NAME, "respiratory_rate", v, 0.0, 80.0, "breaths/min")?;
    }
    if let Some(v) = args.spo2_percent {
        check_range(NAME, "spo2_percent", v, 0.0, 100.0, "%")?;
    }
    if let Some(s) = args.spo2_scale {
        if s != 1 && s != 2 {
            return Err(Error::invalid(
                NAME,
                format!("spo2_scale: must be 1 or 2, got {s}"),
            ));
        }
    }
    if let Some(v) = args.systolic_bp_mmhg {
        check_range(NAME, "systolic_bp_mmhg", v, 0.0, 300.0, "mmHg")?;
    }
    if let Some(v) = args.pulse_bpm {
        check_range(NAME, "pulse_bpm", v, 0.0, 300.0, "beats/min")?;
    }
    if let Some(v) = args.temperature_c {
        check_range(NAME, "temperature_c", v, 25.0, 45.0, "°C")?;
    }
    Ok(())
}

/// ≤8: 3; 9–11: 1; 12–20: 0; 21–24: 2; ≥25: 3.
fn score_respiration(v: f64) -> u32 {
    if v <= 8.0 {
        3
    } else if v <= 11.0 {
        1
    } else if v <= 20.0 {
        0
    } else if v <= 24.0 {
        2
    } else {
        3
    }
}

/// Scale 1: ≤91: 3; 92–93: 2; 94–95: 1; ≥96: 0.
fn score_spo2_scale1(v: f64) -> u32 {
    if v <= 91.0 {
        3
    } else if v <= 93.0 {
        2
    } else if v <= 95.0 {
        1
    } else {
        0
    }
}

/// Scale 2: ≤83: 3; 84–85: 2; 86–87: 1; 88–92 or ≥93 on air: 0;
/// on oxygen 93–94: 1, 95–96: 2, ≥97: 3.
fn score_spo2_scale2(v: f64, on_oxygen: bool) -> u32 {
    if v <= 83.0 {
        3
    } else if v <= 85.0 {
        2
    } else if v <= 87.0 {
        1
    } else if v <= 92.0 || !on_oxygen {
        0
    } else if v <= 94.0 {
        1
    } else if v <= 96.0 {
        2
    } else {
        3
    }
}

/// ≤90: 3; 91–100: 2; 101–110: 1; 111–219: 0; ≥220: 3.
fn score_systolic(v: f64) -> u32 {
    if v <= 90.0 {
        3
    } else if v <= 100.0 {
        2
    } else if v <= 110.0 {
        1
    } else if v <= 219.0 {
        0
    } else {
        3
    }
}

/// ≤40: 3; 41–50: 1; 51–90: 0; 91–110: 1; 111–130: 2; ≥131: 3.
fn score_pulse(v: f64) -> u32 {
    if v <= 40.0 {
        3
    } else if v <= 50.0 {
        1
    } else if v <= 90.0 {
        0
    } else if v <= 110.0 {
        1
    } else if v <= 130.0 {
        2
    } else {
        3
    }
}

/// ≤35.0: 3; 35.1–36.0: 1; 36.1–38.0: 0; 38.1–39.0: 1; ≥39.1: 2.
fn score_temperature(v: f64) -> u32 {
    if v <= 35.0 {
        3
    } else if v <= 36.0 {
        1
    } else if v <= 38.0 {
        0
    } else if v <= 39.0 {
        1
    } else {
        2
    }
}

fn risk_band(total: u32, single_3: bool) -> Risk {
    if total >= 7 {
        Risk::High
    } else if total >= 5 {
        Risk::Medium
    } else if single_3 {
        Risk::LowMedium
    } else {
        Risk::Low
    }
}

/// (monitoring frequency, clinical response) per the RCP NEWS2 response tables.
fn response_for(risk: Risk, total: u32) -> (&'static str, &'static str) {
    match risk {
        Risk::Low if total == 0 => ("Minimum 12-hourly", "Continue routine NEWS2 monitoring."),
        Risk::Low => (
            "Minimum 4-6-hourly",
            "Inform a registered nurse, who must assess the patient and decide whether to \
             increase the frequency of monitoring and/or escalate clinical care.",
        ),
        Risk::LowMedium => (
            "Minimum 1-hourly",
            "Urgent ward-based response: the registered nurse informs the medical team caring \
             for the patient, who will review and decide whether escalation of care is needed.",
        ),
        Risk::Medium => (
            "Minimum 1-hourly",
            "Key threshold for urgent response: the registered nurse immediately informs the \
             medical team; urgent assessment by a clinician or team competent in the care of \
             acutely ill patients; provide care in an environment with monitoring facilities.",
        ),
        Risk::High => (
            "Continuous monitoring of vital signs",
            "Emergency response: the registered nurse immediately informs the medical team (at \
             least specialist registrar level); emergency assessment by a team with critical-care \
             competencies, including advanced airway skills; consider transfer to level 2 or 3 \
             care (HDU/ICU).",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal() -> Args {
        Args {
            respiratory_rate: Some(16.0),
            spo2_percent: Some(98.0),
            spo2_scale: None,
            supplemental_oxygen: Some(false),
            systolic_bp_mmhg: Some(120.0),
            pulse_bpm: Some(70.0),
            consciousness: Some(Consciousness::Alert),
            temperature_c: Some(37.0),
        }
    }

    #[test]
    fn respiration_boundaries() {
        let table: &[(f64, u32)] = &[
            (0.0, 3),
            (8.0, 3),
            (8.5, 1),
            (9.0, 1),
            (11.0, 1),
            (11.5, 0),
            (12.0, 0),
            (20.0, 0),
            (20.5, 2),
            (21.0, 2),
            (24.0, 2),
            (24.5, 3),
            (25.0, 3),
            (60.0, 3),
        ];
        for &(v, expected) in table {
            assert_eq!(score_respiration(v), expected, "rr {v}");
        }
    }

    #[test]
    fn spo2_scale1_boundaries() {
        let table: &[(f64, u32)] = &[
            (85.0, 3),
            (91.0, 3),
            (91.5, 2),
            (92.0, 2),
            (93.0, 2),
            (93.5, 1),
            (94.0, 1),
            (95.0, 1),
            (95.5, 0),
            (96.0, 0),
            (100.0, 0),
        ];
        for &(v, expected) in table {
            assert_eq!(score_spo2_scale1(v), expected, "spo2 {v}");
        }
    }

    #[test]
    fn spo2_scale2_boundaries() {
        // (SpO2, on oxygen, points)
        let table: &[(f64, bool, u32)] = &[
            (83.0, false, 3),
            (83.5, false, 2),
            (84.0, false, 2),
            (85.0, false, 2),
            (86.0, false, 1),
            (87.0, false, 1),
            (87.5, false, 0),
            (88.0, false, 0),
            (92.0, false, 0),
            (93.0, false, 0),
            (97.0, false, 0),
            (100.0, false, 0),
            (83.0, true, 3),
            (88.0, true, 0),
            (92.0, true, 0),
            (92.5, true, 1),
            (93.0, true, 1),
            (94.0, true, 1),
            (94.5, true, 2),
            (95.0, true, 2),
            (96.0, true, 2),
            (96.5, true, 3),
            (97.0, true, 3),
            (100.0, true, 3),
        ];
        for &(v, oxygen, expected) in table {
            assert_eq!(
                score_spo2_scale2(v, oxygen),
                expected,
                "spo2 {v} oxygen {oxygen}"
            );
        }
    }

    #[test]
    fn systolic_boundaries() {
        let table: &[(f64, u32)] = &[
            (70.0, 3),
            (90.0, 3),
            (90.5, 2),
            (91.0, 2),
            (100.0, 2),
            (100.5, 1),
            (101.0, 1),
            (110.0, 1),
            (110.5, 0),
            (111.0, 0),
            (219.0, 0),
            (219.5, 3),
            (220.0, 3),
        ];
        for &(v, expected) in table {
            assert_eq!(score_systolic(v), expected, "sbp {v}");
        }
    }

    #[test]
    fn pulse_boundaries() {
        let table: &[(f64, u32)] = &[
            (30.0, 3),
            (40.0, 3),
            (40.5, 1),
            (41.0, 1),
            (50.0, 1),
            (50.5, 0),
            (51.0, 0),
            (90.0, 0),
            (90.5, 1),
            (91.0, 1),
            (110.0, 1),
            (111.0, 2),
            (130.0, 2),
            (130.5, 3),
            (131.0, 3),
        ];
        for &(v, expected) in table {
            assert_eq!(score_pulse(v), expected, "pulse {v}");
        }
    }

    #[test]
    fn temperature_boundaries_and_decimals() {
        let table: &[(f64, u32)] = &[
            (34.0, 3),
            (35.0, 3),
            (35.05, 1),
            (35.1, 1),
            (36.0, 1),
            (36.05, 0),
            (36.1, 0),
            (38.0, 0),
            (38.05, 1),
            (38.1, 1),
            (39.0, 1),
            (39.05, 2),
            (39.1, 2),
            (41.0, 2),
        ];
        for &(v, expected) in table {
            assert_eq!(score_temperature(v), expected, "temp {v}");
        }
    }

    #[test]
    fn all_normal_is_zero_low_risk_12_hourly() {
        let out = run(normal()).unwrap();
        assert!(out.complete);
        assert_eq!(out.total, Some(0));
        assert_eq!(out.risk, Some(Risk::Low));
        assert_eq!(
            out.monitoring_frequency.as_deref(),
            Some("Minimum 12-hourly")
        );
        assert_eq!(out.components.len(), 7);
    }

    #[test]
    fn missing_parameters_make_result_incomplete_not_zero() {
        let mut a = normal();
        a.pulse_bpm = None;
        a.temperature_c = None;
        let out = run(a).unwrap();
        assert!(!out.complete);
        assert_eq!(out.total, None);
        assert_eq!(out.risk, None);
        assert_eq!(
            out.missing,
            vec!["pulse_bpm".to_string(), "temperature_c".to_string()]
        );
        assert_eq!(out.partial_total, 0);
        let json = serde_json::to_value(&out).unwrap();
        assert!(json["total"].is_null());
        assert_eq!(json["complete"], false);
    }

    #[test]
    fn single_parameter_three_is_low_medium() {
        // New confusion alone: 3 points, aggregate 3 -> low-medium, hourly.
        let mut a = normal();
        a.consciousness = Some(Consciousness::NewConfusion);
        let out = run(a).unwrap();
        assert_eq!(out.total, Some(3));
        assert!(out.single_parameter_score_3);
        assert_eq!(out.risk, Some(Risk::LowMedium));
        assert_eq!(
            out.monitoring_frequency.as_deref(),
            Some("Minimum 1-hourly")
        );
    }

    #[test]
    fn aggregate_bands() {
        // RR 22 (2) + oxygen (2) = 4 -> low, 4-6-hourly.
        let mut a = normal();
        a.respiratory_rate = Some(22.0);
        a.supplemental_oxygen = Some(true);
        let out = run(a).unwrap();
        assert_eq!((out.total, out.risk), (Some(4), Some(Risk::Low)));
        assert_eq!(
            out.monitoring_frequency.as_deref(),
            Some("Minimum 4-6-hourly")
        );

        // RR 22 (2) + SpO2 95 (1) + pulse 95 (1) + temp 38.5 (1) = 5 -> medium.
        let mut a = normal();
        a.respiratory_rate = Some(22.0);
        a.spo2_percent = Some(95.0);
        a.pulse_bpm = Some(95.0);
        a.temperature_c = Some(38.5);
        let out = run(a).unwrap();
        assert_eq!((out.total, out.risk), (Some(5), Some(Risk::Medium)));

        // RR 25 (3) + SBP 105 (1) + pulse 95 (1) + temp 38.5 (1) = 6 -> medium, not low-medium.
        let mut a = normal();
        a.respiratory_rate = Some(25.0);
        a.systolic_bp_mmhg = Some(105.0);
        a.pulse_bpm = Some(95.0);
        a.temperature_c = Some(38.5);
        let out = run(a).unwrap();
        assert_eq!((out.total, out.risk), (Some(6), Some(Risk::Medium)));

        // RR 25 (3) + SBP 100 (2) + pulse 111 (2) = 7 -> high.
        let mut a = normal();
        a.respiratory_rate = Some(25.0);
        a.systolic_bp_mmhg = Some(100.0);
        a.pulse_bpm = Some(111.0);
        let out = run(a).unwrap();
        assert_eq!((out.total, out.risk), (Some(7), Some(Risk::High)));
        assert_eq!(
            out.monitoring_frequency.as_deref(),
            Some("Continuous monitoring of vital signs")
        );

        // RR 26 (3) + SpO2 91 (3) + oxygen (2) = 8 -> high.
        let mut a = normal();
        a.respiratory_rate = Some(26.0);
        a.spo2_percent = Some(91.0);
        a.supplemental_oxygen = Some(true);
        let out = run(a).unwrap();
        assert_eq!((out.total, out.risk), (Some(8), Some(Risk::High)));
    }

    #[test]
    fn scale2_depends_on_oxygen() {
        // Scale 2, SpO2 97 on oxygen: SpO2 3 + oxygen 2 = 5 -> medium.
        let mut a = normal();
        a.spo2_scale = Some(2);
        a.spo2_percent = Some(97.0);
        a.supplemental_oxygen = Some(true);
        let out = run(a).unwrap();
        assert_eq!((out.total, out.risk), (Some(5), Some(Risk::Medium)));
        assert_eq!(out.spo2_scale, 2);

        // Scale 2, SpO2 97 on air: 0.
        let mut a = normal();
        a.spo2_scale = Some(2);
        a.spo2_percent = Some(97.0);
        assert_eq!(run(a).unwrap().total, Some(0));

        // Scale 2, SpO2 95 with oxygen status unknown: incomplete, SpO2 unscored.
        let mut a = normal();
        a.spo2_scale = Some(2);
        a.spo2_percent = Some(95.0);
        a.supplemental_oxygen = None;
        let out = run(a).unwrap();
        assert!(!out.complete);
        assert_eq!(out.missing, vec!["supplemental_oxygen".to_string()]);
        assert_eq!(out.components[1].points, None);
    }

    #[test]
    fn incomplete_but_already_high_warns() {
        // RR 26 (3) + SBP 85 (3) + pulse 135 (3) = 9 scored, temperature missing.
        let mut a = normal();
        a.respiratory_rate = Some(26.0);
        a.systolic_bp_mmhg = Some(85.0);
        a.pulse_bpm = Some(135.0);
        a.temperature_c = None;
        let out = run(a).unwrap();
        assert_eq!(out.total, None);
        assert_eq!(out.partial_total, 9);
        assert!(out
            .explanation
            .iter()
            .any(|l| l.contains("at least the High band")));
    }

    #[test]
    fn invalid_values_are_rejected_with_field_name() {
        let mut a = normal();
        a.respiratory_rate = Some(120.0);
        assert_eq!(
            run(a).unwrap_err(),
            Error::invalid(
                NAME,
                "respiratory_rate: must be between 0 and 80 breaths/min, got 120"
            )
        );
        let mut a = normal();
        a.spo2_scale = Some(3);
        assert_eq!(
            run(a).unwrap_err(),
            Error::invalid(NAME, "spo2_scale: must be 1 or 2, got 3")
        );
    }
}
