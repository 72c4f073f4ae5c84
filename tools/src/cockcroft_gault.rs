//! Cockcroft–Gault creatinine clearance with an explicit body-weight rule.
//!
//! Sources: Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum
//! creatinine. Nephron 1976;16(1):31-41:
//! CrCl (mL/min) = (140 − age) × weight (kg) × [0.85 if female] / (72 × Scr mg/dL).
//! Ideal body weight: Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm
//! 1974;8:650-655 (50 kg male / 45.5 kg female + 2.3 kg per inch over 5 feet).
//! Adjusted body weight = IBW + 0.4 × (actual − IBW).
//!
//! Weight rule used here (a common pharmacy convention; local policy may differ):
//! without height, actual body weight (ABW); with height, ABW if ABW < IBW, IBW if
//! IBW ≤ ABW ≤ 1.2 × IBW, adjusted body weight if ABW > 1.2 × IBW.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{check_range, creatinine_mg_dl, creatinine_unit_prop, num_prop, object_schema};
use crate::{round_to, sex_prop, CreatinineUnit, Result, Sex, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "cockcroft_gault";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Age, years (adults, 18–120).
    pub age_years: f64,
    /// Sex.
    pub sex: Sex,
    /// Actual body weight, kg.
    pub weight_kg: f64,
    /// Height, cm. Optional; when given, ideal and adjusted body weights are used per the
    /// module's weight rule.
    #[serde(default)]
    pub height_cm: Option<f64>,
    /// Serum creatinine in `creatinine_unit`.
    pub creatinine: f64,
    /// Unit of `creatinine`: "mg/dL" or "umol/L".
    pub creatinine_unit: CreatinineUnit,
}

/// Which body weight was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightKind {
    /// Actual (total) body weight.
    Actual,
    /// Ideal body weight (Devine).
    Ideal,
    /// Adjusted body weight (IBW + 0.4 × excess).
    Adjusted,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// Estimated creatinine clearance, mL/min (not normalised to body surface area),
    /// rounded to 1 decimal.
    pub crcl_ml_min: f64,
    /// Weight used in the equation, kg (1 decimal).
    pub weight_used_kg: f64,
    /// Which weight was used.
    pub weight_kind: WeightKind,
    /// Actual body weight, kg.
    pub actual_body_weight_kg: f64,
    /// Ideal body weight, kg (1 decimal), if height was given.
    pub ideal_body_weight_kg: Option<f64>,
    /// Adjusted body weight, kg (1 decimal), if height was given.
    pub adjusted_body_weight_kg: Option<f64>,
    /// Creatinine in mg/dL.
    pub creatinine_mg_dl: f64,
    /// Calculation steps and the weight rule applied.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Cockcroft-Gault creatinine clearance (mL/min) = (140 - age) x weight x 0.85 if \
         female / (72 x Scr mg/dL), for drug dosing in adults. Without height uses actual \
         weight; with height computes ideal (Devine) and adjusted body weight and uses actual \
         if below IBW, IBW if up to 120% of IBW, adjusted weight above that. Reports the \
         weight used.",
        object_schema(
            json!({
                "age_years": num_prop("Age in years (adults only).", 18.0, 120.0),
                "sex": sex_prop(),
                "weight_kg": num_prop("Actual body weight in kilograms.", 20.0, 400.0),
                "height_cm": num_prop("Height in centimetres (optional; enables ideal/adjusted body weight).", 120.0, 250.0),
                "creatinine": num_prop("Serum creatinine value in creatinine_unit (mg/dL 0.1-30 or umol/L 9-2650).", 0.1, 2650.0),
                "creatinine_unit": creatinine_unit_prop(),
            }),
            &[
                "age_years",
                "sex",
                "weight_kg",
                "creatinine",
                "creatinine_unit",
            ],
        ),
    )
}

/// Devine ideal body weight in kg for a height in cm.
pub fn ideal_body_weight_kg(sex: Sex, height_cm: f64) -> f64 {
    let base = match sex {
        Sex::Female => 45.5,
        Sex::Male => 50.0,
    };
    base + 2.3 * (height_cm / 2.54 - 60.0)
}

/// Computes creatinine clearance.
pub fn run(args: Args) -> Result<Output> {
    check_range(NAME, "age_years", args.age_years, 18.0, 120.0, "years")?;
    check_range(NAME, "weight_kg", args.weight_kg, 20.0, 400.0, "kg")?;
    if let Some(h) = args.height_cm {
        check_range(NAME, "height_cm", h, 120.0, 250.0, "cm")?;
    }
    let scr = creatinine_mg_dl(NAME, args.creatinine, args.creatinine_unit)?;
    let abw = args.weight_kg;
    let mut explanation = Vec::new();
    if args.creatinine_unit == CreatinineUnit::UmolPerL {
        explanation.push(format!(
            "Creatinine {} umol/L / 88.4 = {scr:.3} mg/dL",
            args.creatinine
        ));
    }

    let (weight, kind, ibw, adjbw) = match args.height_cm {
        None => {
            explanation.push(format!("No height given: actual body weight {abw} kg used"));
            (abw, WeightKind::Actual, None, None)
        }
        Some(h) => {
            let ibw = ideal_body_weight_kg(args.sex, h);
            let adjbw = ibw + 0.4 * (abw - ibw);
            explanation.push(format!(
                "Ideal body weight (Devine) for {h} cm = {ibw:.1} kg; adjusted body weight = \
                 {ibw:.1} + 0.4 x ({abw} - {ibw:.1}) = {adjbw:.1} kg"
            ));
            if h < 152.4 {
                explanation.push(
                    "Height below 5 ft: the Devine formula is extrapolated and less reliable."
                        .to_string(),
                );
            }
            let (weight, kind, reason) = if abw < ibw {
                (abw, WeightKind::Actual, "actual weight is below IBW")
            } else if abw <= 1.2 * ibw {
                (ibw, WeightKind::Ideal, "actual weight is 100-120% of IBW")
            } else {
                (
                    adjbw,
                    WeightKind::Adjusted,
                    "actual weight exceeds 120% of IBW",
                )
            };
            explanation.push(format!("{kind:?} body weight used because {reason}"));
            (weight, kind, Some(ibw), Some(adjbw))
        }
    };

    let sex_factor = if args.sex == Sex::Female { 0.85 } else { 1.0 };
    let crcl = (140.0 - args.age_years) * weight * sex_factor / (72.0 * scr);
    explanation.push(format!(
        "CrCl = (140 - {}) x {weight:.1} kg{} / (72 x {scr:.2} mg/dL) = {crcl:.1} mL/min",
        args.age_years,
        if args.sex == Sex::Female {
            " x 0.85"
        } else {
            ""
        }
    ));
    explanation.push(
        "Estimate of creatinine clearance in mL/min (not normalised to 1.73 m^2); requires \
         stable renal function. Check the drug's labelling for which estimate to use."
            .to_string(),
    );

    Ok(Output {
        crcl_ml_min: round_to(crcl, 1),
        weight_used_kg: round_to(weight, 1),
        weight_kind: kind,
        actual_body_weight_kg: abw,
        ideal_body_weight_kg: ibw.map(|w| round_to(w, 1)),
        adjusted_body_weight_kg: adjbw.map(|w| round_to(w, 1)),
        creatinine_mg_dl: scr,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn args(sex: Sex, weight: f64, height: Option<f64>) -> Args {
        Args {
            age_years: 60.0,
            sex,
            weight_kg: weight,
            height_cm: height,
            creatinine: 1.0,
            creatinine_unit: CreatinineUnit::MgPerDl,
        }
    }

    #[test]
    fn actual_weight_without_height() {
        // (140 - 60) x 72 / (72 x 1.0) = 80.0; female x 0.85 = 68.0.
        let out = run(args(Sex::Male, 72.0, None)).unwrap();
        assert_eq!(out.crcl_ml_min, 80.0);
        assert_eq!(out.weight_kind, WeightKind::Actual);
        assert_eq!(out.ideal_body_weight_kg, None);
        let out = run(args(Sex::Female, 72.0, None)).unwrap();
        assert_eq!(out.crcl_ml_min, 68.0);
    }

    #[test]
    fn micromolar_creatinine() {
        // 176.8 umol/L = 2.0 mg/dL: 80 x 72 / (72 x 2) = 40.0.
        let mut a = args(Sex::Male, 72.0, None);
        a.creatinine = 176.8;
        a.creatinine_unit = CreatinineUnit::UmolPerL;
        assert_eq!(run(a).unwrap().crcl_ml_min, 40.0);
    }

    #[test]
    fn weight_rule_with_height() {
        // Male 180 cm = 70.866 in: IBW = 50 + 2.3 x 10.866 = 74.99 kg; 1.2 x IBW = 89.99.
        // 100 kg > 89.99 -> adjusted = 74.99 + 0.4 x 25.01 = 85.00 kg;
        //   CrCl = 80 x 84.995 / 72 = 94.44 -> 94.4.
        let out = run(args(Sex::Male, 100.0, Some(180.0))).unwrap();
        assert_eq!(out.weight_kind, WeightKind::Adjusted);
        assert_eq!(out.ideal_body_weight_kg, Some(75.0));
        assert_eq!(out.adjusted_body_weight_kg, Some(85.0));
        assert_eq!(out.weight_used_kg, 85.0);
        assert_eq!(out.crcl_ml_min, 94.4);
        // 80 kg within 100-120% of IBW -> IBW: 80 x 74.992 / 72 = 83.32 -> 83.3.
        let out = run(args(Sex::Male, 80.0, Some(180.0))).unwrap();
        assert_eq!(out.weight_kind, WeightKind::Ideal);
        assert_eq!(out.crcl_ml_min, 83.3);
        // 60 kg below IBW -> actual: 80 x 60 / 72 = 66.67 -> 66.7.
        let out = run(args(Sex::Male, 60.0, Some(180.0))).unwrap();
        assert_eq!(out.weight_kind, WeightKind::Actual);
        assert_eq!(out.crcl_ml_min, 66.7);
        // Female 165 cm = 64.961 in: IBW = 45.5 + 2.3 x 4.961 = 56.91 kg.
        let out = run(args(Sex::Female, 60.0, Some(165.0))).unwrap();
        assert_eq!(out.ideal_body_weight_kg, Some(56.9));
        assert_eq!(out.weight_kind, WeightKind::Ideal);
    }

    #[test]
    fn rejects_out_of_range_weight() {
        assert_eq!(
            run(args(Sex::Male, 5.0, None)).unwrap_err(),
            Error::invalid(NAME, "weight_kg: must be between 20 and 400 kg, got 5")
        );
    }
}
