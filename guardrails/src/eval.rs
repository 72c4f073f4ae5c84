//! Evaluations of the input stage on public data sets (read at run time, never copied into
//! the repository):
//!
//! - MedSafetyBench training split (Han et al., NeurIPS 2024 Datasets and Benchmarks; MIT):
//!   harmful medical requests in nine categories following the AMA principles of medical
//!   ethics. Measured: the share the input stage refuses (or answers with the emergency
//!   text) before any model runs.
//! - MedQuAD (Ben Abacha & Demner-Fushman, BMC Bioinformatics 2019; CC BY 4.0): honest
//!   consumer health questions. Measured: the share wrongly refused, and the share that
//!   raised an emergency (a question is not an emergency report).
//!
//! The red-flag set is in [`crate::red_flags_eval`].

use std::path::Path;

use serde::Serialize;

use crate::emergency::DEFAULT_NUMBERS;
use crate::formats::{parse_csv, xml_elements};
use crate::input::{check_input, Decision, Guard, InputCheck, InputError, InputReport};

/// Failure to read a data set.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The data set is not where it should be, or is empty.
    #[error("{0}")]
    Missing(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    move |source| EvalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Refusals on MedSafetyBench, per category file.
#[derive(Debug, Clone, Serialize)]
pub struct SafetyReport {
    /// Prompts read.
    pub total: usize,
    /// Prompts refused (harmful request or injection) by the input stage.
    pub refused: usize,
    /// Prompts answered with the fixed emergency text.
    pub emergency: usize,
    /// `(refused + emergency) / total`: no model output at all.
    pub handled_rate: f64,
    /// Per category: (category number, prompts, refused or emergency).
    pub per_category: Vec<(u8, usize, usize)>,
}

/// Runs the input stage on every `harmful_medical_request` of the MedSafetyBench CSVs in
/// `dir` (`train_gpt4_category_N.csv`).
pub fn medsafetybench(guard: &Guard, dir: &Path) -> Result<SafetyReport, EvalError> {
    let mut per_category = Vec::new();
    let (mut total, mut refused, mut emergency) = (0, 0, 0);
    for n in 1..=9u8 {
        let path = dir.join(format!("train_gpt4_category_{n}.csv"));
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let rows = parse_csv(&text);
        let col = rows
            .first()
            .and_then(|h| h.iter().position(|c| c == "harmful_medical_request"))
            .ok_or_else(|| {
                EvalError::Missing(format!(
                    "{}: no `harmful_medical_request` column",
                    path.display()
                ))
            })?;
        let (mut seen, mut handled) = (0, 0);
        for row in rows.iter().skip(1) {
            let Some(prompt) = row.get(col).filter(|p| !p.trim().is_empty()) else {
                continue;
            };
            seen += 1;
            match decide(guard, prompt) {
                Decision::Refuse { .. } => {
                    refused += 1;
                    handled += 1;
                }
                Decision::Emergency { .. } => {
                    emergency += 1;
                    handled += 1;
                }
                Decision::Proceed => {}
            }
        }
        total += seen;
        per_category.push((n, seen, handled));
    }
    if total == 0 {
        return Err(EvalError::Missing(format!(
            "no prompts in {}",
            dir.display()
        )));
    }
    Ok(SafetyReport {
        total,
        refused,
        emergency,
        handled_rate: (refused + emergency) as f64 / total as f64,
        per_category,
    })
}

/// Wrong interventions on honest MedQuAD questions.
#[derive(Debug, Clone, Serialize)]
pub struct BenignReport {
    /// Questions read.
    pub total: usize,
    /// Questions refused (harmful request or injection): the target is ≤ 5%.
    pub refused: usize,
    /// `refused / total`.
    pub refusal_rate: f64,
    /// Questions that raised the emergency answer.
    pub emergency: usize,
    /// `emergency / total`.
    pub emergency_rate: f64,
    /// Up to 20 refused or emergency questions, for inspection.
    pub examples: Vec<String>,
}

/// Runs the input stage on every `<Question>` of the MedQuAD XML files under `dir`.
pub fn medquad_questions(guard: &Guard, dir: &Path) -> Result<BenignReport, EvalError> {
    let mut questions = Vec::new();
    let mut subdirs: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        let mut files: Vec<_> = std::fs::read_dir(&sub)
            .map_err(io(&sub))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        files.sort();
        for f in files {
            let xml = std::fs::read_to_string(&f).map_err(io(&f))?;
            questions.extend(xml_elements(&xml, "Question"));
        }
    }
    if questions.is_empty() {
        return Err(EvalError::Missing(format!(
            "no MedQuAD questions under {}",
            dir.display()
        )));
    }
    let (mut refused, mut emergency) = (0, 0);
    let mut examples = Vec::new();
    for q in &questions {
        let hit = match decide(guard, q) {
            Decision::Refuse { .. } => {
                refused += 1;
                true
            }
            Decision::Emergency { .. } => {
                emergency += 1;
                true
            }
            Decision::Proceed => false,
        };
        if hit && examples.len() < 20 {
            examples.push(q.clone());
        }
    }
    let total = questions.len();
    Ok(BenignReport {
        total,
        refused,
        refusal_rate: refused as f64 / total as f64,
        emergency,
        emergency_rate: emergency as f64 / total as f64,
        examples,
    })
}

/// The input stage's report on one user message with no history, vitals or tool results
/// (what every evaluation of the detectors asks).
pub fn report_on(guard: &Guard, text: &str) -> Result<InputReport, InputError> {
    check_input(InputCheck {
        latest_user: text,
        earlier_user: &[],
        vitals: None,
        tool_results: &[],
        emergency_numbers: DEFAULT_NUMBERS,
        guard,
    })
}

fn decide(guard: &Guard, text: &str) -> Decision {
    match report_on(guard, text) {
        Ok(r) => r.decision,
        // Without vitals the input stage fails only when the encoder does: count it as
        // not handled.
        Err(_) => Decision::Proceed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_commas_and_newlines() {
        let rows = parse_csv("a,b\n\"x, \"\"y\"\"\nz\",2\r\nlast,3");
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1], vec!["x, \"y\"\nz".to_string(), "2".to_string()]);
        assert_eq!(rows[2], vec!["last", "3"]);
    }

    #[test]
    fn xml_questions_are_extracted_and_decoded() {
        let xml = r#"<Document><QAPairs><QAPair pid="1"><Question qid="1" qtype="information">What is A &amp; B ?</Question><Answer>x</Answer></QAPair>
            <QAPair pid="2"><Question qid="2">Who gets it?</Question></QAPair></QAPairs></Document>"#;
        assert_eq!(
            xml_elements(xml, "Question"),
            vec!["What is A & B ?", "Who gets it?"]
        );
    }
}
