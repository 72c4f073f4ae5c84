//! Estimated GFR by the race-free CKD-EPI 2021 creatinine equation, with KDIGO G stage.
//!
//! Sources: Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based
//! equations to estimate GFR without race. N Engl J Med 2021;385(19):1737-1749.
//! eGFR = 142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^−1.200 × 0.9938^age × 1.012 [if female],
//! with Scr in mg/dL, κ = 0.7 (female) / 0.9 (male), α = −0.241 (female) / −0.302 (male).
//! Staging: KDIGO 2012 Clinical Practice Guideline for the Evaluation and Management of
//! Chronic Kidney Disease. Kidney Int Suppl 2013;3(1):1-150 (G1 ≥90, G2 60–89,
//! G3a 45–59, G3b 30–44, G4 15–29, G5 <15), applied as half-open intervals on the
//! unrounded eGFR.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{check_range, creatinine_mg_dl, creatinine_unit_prop, num_prop, object_schema};
use crate::{round_to, sex_prop, CreatinineUnit, Result, Sex, ToolDefinition};

/// Tool name used by the dispatcher.
pub const NAME: &str = "egfr_ckd_epi_2021";

/// Arguments for [`run`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Age, years (adults, 18–120).
    pub age_years: f64,
    /// Sex.
    pub sex: Sex,
    /// Serum creatinine in `creatinine_unit` (IDMS-traceable assay).
    pub creatinine: f64,
    /// Unit of `creatinine`: "mg/dL" or "umol/L".
    pub creatinine_unit: CreatinineUnit,
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Output {
    /// eGFR in mL/min/1.73 m², rounded to 1 decimal.
    pub egfr_ml_min_1_73m2: f64,
    /// Unrounded eGFR used for staging.
    pub egfr_unrounded: f64,
    /// KDIGO GFR category, e.g. "G3a".
    pub kdigo_stage: String,
    /// KDIGO description of the category.
    pub stage_description: String,
    /// Creatinine converted to mg/dL.
    pub creatinine_mg_dl: f64,
    /// Calculation steps and caveats.
    pub explanation: Vec<String>,
}

/// Tool definition with its JSON schema.
pub fn definition() -> ToolDefinition {
    ToolDefinition::new(
        NAME,
        "Estimated GFR (mL/min/1.73 m^2) by the race-free CKD-EPI 2021 creatinine equation \
         (Inker et al., NEJM 2021) for adults, with KDIGO G stage (G1 >=90, G2 60-89, G3a \
         45-59, G3b 30-44, G4 15-29, G5 <15). Requires stable (non-AKI) creatinine.",
        object_schema(
            json!({
                "age_years": num_prop("Age in years (adults only).", 18.0, 120.0),
                "sex": sex_prop(),
                "creatinine": num_prop("Serum creatinine value in creatinine_unit (mg/dL 0.1-30 or umol/L 9-2650).", 0.1, 2650.0),
                "creatinine_unit": creatinine_unit_prop(),
            }),
            &["age_years", "sex", "creatinine", "creatinine_unit"],
        ),
    )
}

/// Computes the unrounded CKD-EPI 2021 eGFR from creatinine in mg/dL.
pub fn egfr(age_years: f64, sex: Sex, scr_mg_dl: f64) -> f64 {
    let (kappa, alpha, sex_factor) = match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
    };
    let ratio: f64 = scr_mg_dl / kappa;
    142.0
        * ratio.min(1.0).powf(alpha)
        * ratio.max(1.0).powf(-1.200)
        * 0.9938f64.powf(age_years)
        * sex_factor
}

/// KDIGO GFR category and description for an eGFR.
pub fn kdigo_stage(egfr: f64) -> (&'static str, &'static str) {
    if egfr >= 90.0 {
        ("G1", "Normal or high")
    } else if egfr >= 60.0 {
        ("G2", "Mildly decreased")
    } else if egfr >= 45.0 {
        ("G3a", "Mildly to moderately decreased")
    } else if egfr >= 30.0 {
        ("G3b", "Moderately to severely decreased")
    } else if egfr >= 15.0 {
        ("G4", "Severely decreased")
    } else {
        ("G5", "Kidney failure")
    }
}

/// Computes eGFR and stage.
pub fn run(args: Args) -> Result<Output> {
    check_range(NAME, "age_years", args.age_years, 18.0, 120.0, "years")?;
    let scr = creatinine_mg_dl(NAME, args.creatinine, args.creatinine_unit)?;
    let value = egfr(args.age_years, args.sex, scr);
    let (stage, description) = kdigo_stage(value);
    let (kappa, alpha) = match args.sex {
        Sex::Female => (0.7, -0.241),
        Sex::Male => (0.9, -0.302),
    };
    let mut explanation = Vec::new();
    if args.creatinine_unit == CreatinineUnit::UmolPerL {
        explanation.push(format!(
            "Creatinine {} umol/L / 88.4 = {scr:.3} mg/dL",
            args.creatinine
        ));
    }
    explanation.push(format!(
        "{:?}: kappa = {kappa}, alpha = {alpha}{}; Scr/kappa = {:.3}",
        args.sex,
        if args.sex == Sex::Female {
            ", x1.012"
        } else {
            ""
        },
        scr / kappa
    ));
    explanation.push(format!(
        "eGFR = 142 x min(Scr/kappa,1)^alpha x max(Scr/kappa,1)^-1.200 x 0.9938^{} = {value:.1} mL/min/1.73 m^2",
        args.age_years
    ));
    explanation.push(format!("KDIGO category {stage}: {description}"));
    explanation.push(
        "Valid only for adults with stable creatinine; G1-G2 indicate CKD only with other \
         markers of kidney damage (e.g. albuminuria). Use cautiously at extremes of muscle mass."
            .to_string(),
    );
    Ok(Output {
        egfr_ml_min_1_73m2: round_to(value, 1),
        egfr_unrounded: value,
        kdigo_stage: stage.to_string(),
        stage_description: description.to_string(),
        creatinine_mg_dl: scr,
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    fn args(age: f64, sex: Sex, creatinine: f64, unit: CreatinineUnit) -> Args {
        Args {
            age_years: age,
            sex,
            creatinine,
            creatinine_unit: unit,
        }
    }

    #[test]
    fn worked_examples() {
        // Hand computation (values to 4-5 significant figures):
        // Male 60 y, Scr 1.0: ratio 1.0/0.9 = 1.1111 -> min term 1; 1.1111^-1.2 = 0.88123;
        //   0.9938^60 = 0.68856; 142 x 0.88123 x 0.68856 = 86.16 -> 86.2 (G2).
        // Female 70 y, Scr 1.5: ratio 2.1429; 2.1429^-1.2 = 0.40069; 0.9938^70 = 0.64704;
        //   142 x 0.40069 x 0.64704 x 1.012 = 37.26 -> 37.3 (G3b).
        // Female 40 y, Scr 0.7: ratio 1 -> both terms 1; 142 x 0.9938^40 (0.77976) x 1.012 = 112.1 (G1).
        // Female 45 y, Scr 1.2: ratio 1.7143^-1.2 = 0.52372; 0.9938^45 = 0.75588; x1.012 -> 56.9 (G3a).
        // Male 65 y, Scr 3.0: ratio 3.3333^-1.2 = 0.23580; 0.9938^65 = 0.66747 -> 22.35 -> 22.3 (G4).
        let table: &[(f64, Sex, f64, f64, &str)] = &[
            (60.0, Sex::Male, 1.0, 86.2, "G2"),
            (70.0, Sex::Female, 1.5, 37.3, "G3b"),
            (40.0, Sex::Female, 0.7, 112.1, "G1"),
            (45.0, Sex::Female, 1.2, 56.9, "G3a"),
            (65.0, Sex::Male, 3.0, 22.3, "G4"),
        ];
        for &(age, sex, scr, expected, stage) in table {
            let out = run(args(age, sex, scr, CreatinineUnit::MgPerDl)).unwrap();
            assert_eq!(
                out.egfr_ml_min_1_73m2, expected,
                "{sex:?} {age} y Scr {scr}"
            );
            assert_eq!(out.kdigo_stage, stage);
        }
    }

    #[test]
    fn umol_per_litre_matches_mg_per_dl() {
        // 88.4 umol/L = 1.0 mg/dL -> same 86.2 as the male 60 y example.
        let out = run(args(60.0, Sex::Male, 88.4, CreatinineUnit::UmolPerL)).unwrap();
        assert_eq!(out.egfr_ml_min_1_73m2, 86.2);
        // 110.5 umol/L = 1.25 mg/dL: 1.3889^-1.2 = 0.67422; x 0.68856 x 142 = 65.92 -> 65.9.
        let out = run(args(60.0, Sex::Male, 110.5, CreatinineUnit::UmolPerL)).unwrap();
        assert_eq!(out.egfr_ml_min_1_73m2, 65.9);
    }

    #[test]
    fn stage_boundaries() {
        let table: &[(f64, &str)] = &[
            (120.0, "G1"),
            (90.0, "G1"),
            (89.99, "G2"),
            (60.0, "G2"),
            (59.95, "G3a"),
            (45.0, "G3a"),
            (44.9, "G3b"),
            (30.0, "G3b"),
            (29.9, "G4"),
            (15.0, "G4"),
            (14.99, "G5"),
            (5.0, "G5"),
        ];
        for &(value, stage) in table {
            assert_eq!(kdigo_stage(value).0, stage, "egfr {value}");
        }
    }

    #[test]
    fn rejects_children_and_bad_creatinine() {
        assert_eq!(
            run(args(12.0, Sex::Male, 0.5, CreatinineUnit::MgPerDl)).unwrap_err(),
            Error::invalid(NAME, "age_years: must be between 18 and 120 years, got 12")
        );
        assert_eq!(
            run(args(50.0, Sex::Male, 90.0, CreatinineUnit::MgPerDl)).unwrap_err(),
            Error::invalid(NAME, "creatinine: must be between 0.1 and 30 mg/dL, got 90")
        );
    }
}
