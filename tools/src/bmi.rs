//! Body mass index (BMI) with the WHO adult classification.
//!
//! Source: World Health Organization. Obesity: preventing and managing the global
//! epidemic. Report of a WHO consultation. WHO Technical Report Series 894. Geneva: WHO,
//! 2000. BMI = weight (kg) / height (m)².
//!
//! Classes use half-open intervals on the unrounded BMI so no value falls in a gap:
//! <18.5 underweight; [18.5, 25) normal; [25, 30) overweight; [30, 35) obese class I;
//! [35, 40) obese class II; ≥40 obese class III.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{check_range, num_prop, object_schema, round_to, Result, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "bmi";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Body weight, kg.
    pub weight_kg: f64,
    /// Height, cm.
    pub height_cm: f64,
}

/// WHO adult BMI class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WhoClass {
    /// BMI < 18.5.
    #[serde(rename = "underweight")]
    Underweight,
    /// 18.5 ≤ BMI < 25.
    #[serde(rename = "normal")]
    Normal,
    /// 25 ≤ BMI < 30.
    #[serde(rename = "overweight")]
    Overweight,
    /// 30 ≤ BMI < 35.
    #[serde(rename = "obese_class_1")]
    ObeseClass1,
    /// 35 ≤ BMI < 40.
    #[serde(rename = "obese_class_2")]
    ObeseClass2,
    /// BMI ≥ 40.
    #[serde(rename = "obese_class_3")]
    ObeseClass3,
}

impl WhoClass {
    /// Human-readable label with the interval.
    pub fn label(self) -> &'static str {
        match self {
            WhoClass::Underweight => "Underweight (<18.5)",
            WhoClass::Normal => "Normal weight (18.5 to <25)",
            WhoClass::Overweight => "Overweight / pre-obese (25 to <30)",
            WhoClass::ObeseClass1 => "Obese class I (30 to <35)",
            WhoClass::ObeseClass2 => "Obese class II (35 to <40)",
            WhoClass::ObeseClass3 => "Obese class III (>=40)",
        }
    }
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// BMI in kg/m², rounded to 1 decimal.
    pub bmi_kg_m2: f64,
    /// Unrounded BMI used for classification.
    pub bmi_unrounded: f64,
    /// WHO class.
    pub who_class: WhoClass,
    /// Label of the WHO class.
    pub class_label: String,
    /// Calculation steps and caveats.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Body mass index = weight (kg) / height (m)^2 with WHO adult classes (underweight \
         <18.5, normal 18.5-<25, overweight 25-<30, obese I 30-<35, II 35-<40, III >=40). \
         Adults only; not for children or pregnancy.",
        object_schema(
            json!({
                "weight_kg": num_prop("Body weight in kilograms.", 1.0, 700.0),
                "height_cm": num_prop("Height in centimetres.", 30.0, 280.0),
            }),
            &["weight_kg", "height_cm"],
        ),
    )
}

/// Classifies an unrounded BMI.
fn classify(bmi: f64) -> WhoClass {
    if bmi < 18.5 {
        WhoClass::Underweight
    } else if bmi < 25.0 {
        WhoClass::Normal
    } else if bmi < 30.0 {
        WhoClass::Overweight
    } else if bmi < 35.0 {
        WhoClass::ObeseClass1
    } else if bmi < 40.0 {
        WhoClass::ObeseClass2
    } else {
        WhoClass::ObeseClass3
    }
}

/// Computes BMI and the WHO class.
pub fn run(args: Args) -> Result<Output> {
    check_range(NAME, "weight_kg", args.weight_kg, 1.0, 700.0, "kg")?;
    check_range(NAME, "height_cm", args.height_cm, 30.0, 280.0, "cm")?;
    let height_m = args.height_cm / 100.0;
    let bmi = args.weight_kg / (height_m * height_m);
    let who_class = classify(bmi);
    let explanation = vec![
        format!(
            "BMI = {} kg / ({height_m} m)^2 = {bmi:.2} kg/m^2",
            args.weight_kg
        ),
        format!(
            "WHO class (from the unrounded value): {}",
            who_class.label()
        ),
        "Adult classification; not valid for children, pregnancy or to judge body-fat \
         distribution. Lower action points are used for some Asian populations (WHO 2004)."
            .to_string(),
    ];
    Ok(Output {
        bmi_kg_m2: round_to(bmi, 1),
        bmi_unrounded: bmi,
        who_class,
        class_label: who_class.label().to_string(),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn class_boundaries_are_half_open() {
        let table: &[(f64, WhoClass)] = &[
            (15.0, WhoClass::Underweight),
            (18.49, WhoClass::Underweight),
            (18.5, WhoClass::Normal),
            (24.9, WhoClass::Normal),
            (24.95, WhoClass::Normal),
            (24.999, WhoClass::Normal),
            (25.0, WhoClass::Overweight),
            (29.95, WhoClass::Overweight),
            (30.0, WhoClass::ObeseClass1),
            (34.99, WhoClass::ObeseClass1),
            (35.0, WhoClass::ObeseClass2),
            (39.99, WhoClass::ObeseClass2),
            (40.0, WhoClass::ObeseClass3),
            (55.0, WhoClass::ObeseClass3),
        ];
        for &(bmi, expected) in table {
            assert_eq!(classify(bmi), expected, "bmi {bmi}");
        }
    }

    #[test]
    fn worked_examples() {
        // 70 / 1.75^2 = 70 / 3.0625 = 22.857 -> 22.9, normal.
        let out = run(Args {
            weight_kg: 70.0,
            height_cm: 175.0,
        })
        .unwrap();
        assert_eq!(out.bmi_kg_m2, 22.9);
        assert_eq!(out.who_class, WhoClass::Normal);
        // 95 / 1.80^2 = 95 / 3.24 = 29.32 -> 29.3, overweight.
        let out = run(Args {
            weight_kg: 95.0,
            height_cm: 180.0,
        })
        .unwrap();
        assert_eq!(out.bmi_kg_m2, 29.3);
        assert_eq!(out.who_class, WhoClass::Overweight);
        // 120 / 1.65^2 = 120 / 2.7225 = 44.08 -> 44.1, obese class III.
        let out = run(Args {
            weight_kg: 120.0,
            height_cm: 165.0,
        })
        .unwrap();
        assert_eq!(out.bmi_kg_m2, 44.1);
        assert_eq!(out.who_class, WhoClass::ObeseClass3);
        // 50 / 1.70^2 = 50 / 2.89 = 17.30 -> 17.3, underweight.
        let out = run(Args {
            weight_kg: 50.0,
            height_cm: 170.0,
        })
        .unwrap();
        assert_eq!(out.bmi_kg_m2, 17.3);
        assert_eq!(out.who_class, WhoClass::Underweight);
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["who_class"], "underweight");
    }

    #[test]
    fn rejects_implausible_height() {
        assert_eq!(
            run(Args {
                weight_kg: 70.0,
                height_cm: 1.75
            })
            .unwrap_err(),
            Error::invalid(NAME, "height_cm: must be between 30 and 280 cm, got 1.75")
        );
    }
}
