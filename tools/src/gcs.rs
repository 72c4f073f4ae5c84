//! Glasgow Coma Scale (GCS) with support for non-testable components.
//!
//! Sources: Teasdale G, Jennett B. Assessment of coma and impaired consciousness: a
//! practical scale. Lancet 1974;2(7872):81-84; Teasdale G, Maas A, Lecky F, et al. The
//! Glasgow Coma Scale at 40 years: standing the test of time. Lancet Neurol
//! 2014;13(8):844-854 (current descriptors and "NT", not testable).
//!
//! When any component is not testable the total is not computed; the components are
//! reported individually, e.g. `E3 V(NT) M5`. Severity bands of the total: 13–15 mild,
//! 9–12 moderate, 3–8 severe (conventional head-injury grading).

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{json, Value};

use crate::{object_schema, Error, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "gcs";

/// Arguments for [`run`]. Each component is an integer or the string `"NT"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Eye opening, 1–4 or "NT".
    pub eye: Value,
    /// Verbal response, 1–5 or "NT".
    pub verbal: Value,
    /// Motor response, 1–6 or "NT".
    pub motor: Value,
}

/// One GCS component: a score or not testable. Serialises as a number or `"NT"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// Scored component.
    Score(u8),
    /// Not testable (e.g. eyes closed by swelling, intubated, paralysed).
    NotTestable,
}

impl Serialize for Component {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Component::Score(v) => serializer.serialize_u8(*v),
            Component::NotTestable => serializer.serialize_str("NT"),
        }
    }
}

/// Severity band of a complete GCS total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 13–15.
    Mild,
    /// 9–12.
    Moderate,
    /// 3–8.
    Severe,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Eye component.
    pub eye: Component,
    /// Verbal component.
    pub verbal: Component,
    /// Motor component.
    pub motor: Component,
    /// Standard notation, e.g. `E3 V4 M5` or `E3 V(NT) M5`.
    pub notation: String,
    /// `true` if all three components were testable.
    pub complete: bool,
    /// Total 3–15, or `None` (JSON null) when any component is NT.
    pub total: Option<u8>,
    /// Severity band of the total, if computed.
    pub severity: Option<Severity>,
    /// Descriptor for each component and how the result was reached.
    pub explanation: Vec<String>,
}

const EYE: [&str; 4] = ["none", "to pressure", "to sound", "spontaneous"];
const VERBAL: [&str; 5] = ["none", "sounds", "words", "confused", "orientated"];
const MOTOR: [&str; 6] = [
    "none",
    "extension",
    "abnormal flexion",
    "normal flexion (withdrawal)",
    "localising",
    "obeys commands",
];

fn component_schema(description: &str, max: u8) -> Value {
    json!({
        "description": description,
        "anyOf": [
            { "type": "integer", "minimum": 1, "maximum": max },
            { "type": "string", "enum": ["NT"] }
        ]
    })
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Glasgow Coma Scale (Teasdale & Jennett 1974; Teasdale et al. 2014). Eye 1-4, verbal \
         1-5, motor 1-6; any component may be \"NT\" (not testable), in which case the total \
         is not computed and the components are reported (e.g. E3 V(NT) M5). Severity: 13-15 \
         mild, 9-12 moderate, 3-8 severe.",
        object_schema(
            json!({
                "eye": component_schema("Eye opening: 4 spontaneous, 3 to sound, 2 to pressure, 1 none, or \"NT\" (e.g. eyes closed by swelling).", 4),
                "verbal": component_schema("Verbal response: 5 orientated, 4 confused, 3 words, 2 sounds, 1 none, or \"NT\" (e.g. intubated).", 5),
                "motor": component_schema("Best motor response: 6 obeys commands, 5 localising, 4 normal flexion, 3 abnormal flexion, 2 extension, 1 none, or \"NT\" (e.g. paralysed).", 6),
            }),
            &["eye", "verbal", "motor"],
        ),
    )
}

/// Parses one component from a JSON integer (or integer-valued number or numeric string)
/// or `"NT"`.
fn parse_component(field: &str, value: &Value, max: u8) -> Result<Component> {
    let parsed = match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f <= f64::from(max))
            .map(|f| Component::Score(f as u8)),
        Value::String(s) => {
            let t = s.trim();
            if t.eq_ignore_ascii_case("nt") || t.eq_ignore_ascii_case("not testable") {
                Some(Component::NotTestable)
            } else {
                t.parse::<u8>()
                    .ok()
                    .filter(|v| (1..=max).contains(v))
                    .map(Component::Score)
            }
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        Error::invalid(
            NAME,
            format!("{field}: must be an integer from 1 to {max} or \"NT\", got {value}"),
        )
    })
}

fn describe(letter: &str, name: &str, component: Component, labels: &[&str]) -> (String, String) {
    match component {
        Component::Score(v) => (
            format!("{letter}{v}"),
            format!("{name} {v}: {}", labels[usize::from(v) - 1]),
        ),
        Component::NotTestable => (
            format!("{letter}(NT)"),
            format!("{name} NT: not testable, not scored"),
        ),
    }
}

/// Computes the GCS.
pub fn run(args: Args) -> Result<Output> {
    let eye = parse_component("eye", &args.eye, 4)?;
    let verbal = parse_component("verbal", &args.verbal, 5)?;
    let motor = parse_component("motor", &args.motor, 6)?;

    let parts = [
        describe("E", "Eye opening", eye, &EYE),
        describe("V", "Verbal response", verbal, &VERBAL),
        describe("M", "Motor response", motor, &MOTOR),
    ];
    let notation = parts
        .iter()
        .map(|(code, _)| code.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut explanation: Vec<String> = parts.iter().map(|(_, line)| line.clone()).collect();

    let (total, severity) = match (eye, verbal, motor) {
        (Component::Score(e), Component::Score(v), Component::Score(m)) => {
            let total = e + v + m;
            let severity = if total >= 13 {
                Severity::Mild
            } else if total >= 9 {
                Severity::Moderate
            } else {
                Severity::Severe
            };
            explanation.push(format!("GCS {total}/15 ({notation}): {severity:?}"));
            (Some(total), Some(severity))
        }
        _ => {
            explanation.push(format!(
                "Total not computed because a component is not testable; report as {notation}"
            ));
            (None, None)
        }
    };

    Ok(Output {
        eye,
        verbal,
        motor,
        notation,
        complete: total.is_some(),
        total,
        severity,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcs(eye: Value, verbal: Value, motor: Value) -> Result<Output> {
        run(Args { eye, verbal, motor })
    }

    #[test]
    fn totals_and_severity_bands() {
        // (E, V, M, total, severity)
        let table: &[(u8, u8, u8, u8, Severity)] = &[
            (4, 5, 6, 15, Severity::Mild),
            (3, 4, 6, 13, Severity::Mild),
            (3, 4, 5, 12, Severity::Moderate),
            (2, 2, 5, 9, Severity::Moderate),
            (2, 2, 4, 8, Severity::Severe),
            (1, 1, 1, 3, Severity::Severe),
        ];
        for &(e, v, m, total, severity) in table {
            let out = gcs(json!(e), json!(v), json!(m)).unwrap();
            assert_eq!(out.total, Some(total));
            assert_eq!(out.severity, Some(severity));
            assert!(out.complete);
            assert_eq!(out.notation, format!("E{e} V{v} M{m}"));
        }
    }

    #[test]
    fn not_testable_withholds_total() {
        let out = gcs(json!(3), json!("NT"), json!(5)).unwrap();
        assert_eq!(out.notation, "E3 V(NT) M5");
        assert_eq!(out.total, None);
        assert_eq!(out.severity, None);
        assert!(!out.complete);
        assert_eq!(out.verbal, Component::NotTestable);
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["verbal"], "NT");
        assert_eq!(json["eye"], 3);
        assert!(json["total"].is_null());
    }

    #[test]
    fn lenient_forms_are_accepted() {
        let out = gcs(json!("4"), json!(" nt "), json!(6.0)).unwrap();
        assert_eq!(out.notation, "E4 V(NT) M6");
    }

    #[test]
    fn invalid_components_name_the_field() {
        assert_eq!(
            gcs(json!(5), json!(5), json!(6)).unwrap_err(),
            Error::invalid(NAME, "eye: must be an integer from 1 to 4 or \"NT\", got 5")
        );
        assert_eq!(
            gcs(json!(4), json!(0), json!(6)).unwrap_err(),
            Error::invalid(
                NAME,
                "verbal: must be an integer from 1 to 5 or \"NT\", got 0"
            )
        );
        assert!(gcs(json!(4), json!(5), json!(5.5)).is_err());
        assert!(gcs(json!(4), json!(5), json!(null)).is_err());
    }
}
