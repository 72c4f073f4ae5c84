//! `report.json`: the versioned schema, and `--compare` against an older report.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::data::SetUsed;
use super::stats::Figure;

/// The schema id written in every report; bumped when a field changes meaning.
pub const SCHEMA: &str = "medserve.eval.report/1";

/// What ran against which server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// UTC time the run started, RFC 3339.
    pub created: String,
    /// Seconds the whole run took.
    pub seconds: f64,
    /// The server under test.
    pub target: TargetInfo,
    /// The evaluator's own build and options.
    pub evaluator: EvaluatorInfo,
    /// Each suite asked for, in order.
    pub suites: Vec<SuiteReport>,
    /// Filled when `--compare` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// The server under test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Base URL.
    pub base_url: String,
    /// Chat model id.
    pub model: String,
    /// SHA-256 of the model file (medserve lists it; null elsewhere).
    pub model_sha256: Option<String>,
    /// Hashes of the guardrail weights and policy (medserve; null elsewhere).
    pub guardrails: Value,
    /// `system_fingerprint` of a chat answer (medserve: `fp_<sha>_<version>-<commit>`).
    pub system_fingerprint: Option<String>,
    /// The embedding model used by the retrieval suite.
    pub embedding_model: Option<String>,
    /// Whether medserve's extension objects were present.
    pub medserve_extensions: bool,
}

/// The evaluator's build and options.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluatorInfo {
    /// `medserve` build that ran the evaluation.
    pub build: String,
    /// Items per set at most (null: all).
    pub limit: Option<usize>,
    /// Sampling seed of the set samples.
    pub seed: u64,
    /// Requests in flight at most.
    pub concurrency: usize,
}

/// Whether a suite ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Ran; its figures are below.
    Ran,
    /// Not run; the note says why.
    Skipped,
    /// Started and could not finish; the note says why.
    Failed,
}

/// One suite's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteReport {
    /// `triage`, `safety`, `phi`, `tools`, `retrieval`, `qa` or `latency`.
    pub name: String,
    /// Ran, skipped or failed.
    pub status: Status,
    /// Why it was skipped, or what to know when reading its figures.
    pub notes: Vec<String>,
    /// Seconds it took.
    pub seconds: f64,
    /// The sets it read.
    pub sets: Vec<SetUsed>,
    /// HTTP requests sent.
    pub requests: usize,
    /// Requests that failed after retries or answered with an unexpected status; their
    /// items are left out of the figures.
    pub errors: usize,
    /// The figures.
    pub figures: Vec<Figure>,
}

impl SuiteReport {
    /// A suite that ran.
    pub fn ran(name: &str) -> Self {
        Self {
            name: name.into(),
            status: Status::Ran,
            notes: Vec::new(),
            seconds: 0.0,
            sets: Vec::new(),
            requests: 0,
            errors: 0,
            figures: Vec::new(),
        }
    }

    /// A suite not run, with the reason.
    pub fn skipped(name: &str, why: impl Into<String>) -> Self {
        Self {
            status: Status::Skipped,
            notes: vec![why.into()],
            ..Self::ran(name)
        }
    }
}

/// Each figure of the new report beside the same figure of the old one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    /// The old report's path.
    pub against: String,
    /// Its creation time.
    pub against_created: String,
    /// Its model and fingerprint.
    pub against_model: String,
    /// Figures present in both.
    pub rows: Vec<CompareRow>,
    /// Figures flagged as regressions.
    pub regressions: usize,
}

/// One figure, old and new.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CompareRow {
    /// Figure id.
    pub id: String,
    /// The old figure.
    pub old: Figure,
    /// New value minus old value.
    pub delta: f64,
    /// The new interval lies entirely on the worse side of the old one.
    pub regression: bool,
}

/// Compares `new` with `old` (figures matched by id).
pub fn compare(new: &Report, old: &Report, old_path: &str) -> Comparison {
    let olds: std::collections::HashMap<&str, &Figure> = old
        .suites
        .iter()
        .flat_map(|s| s.figures.iter())
        .map(|f| (f.id.as_str(), f))
        .collect();
    let mut rows = Vec::new();
    for f in new.suites.iter().flat_map(|s| s.figures.iter()) {
        if let Some(o) = olds.get(f.id.as_str()) {
            rows.push(CompareRow {
                id: f.id.clone(),
                old: (*o).clone(),
                delta: f.value - o.value,
                regression: f.regressed_from(o),
            });
        }
    }
    Comparison {
        against: old_path.into(),
        against_created: old.created.clone(),
        against_model: format!(
            "{} {}",
            old.target.model,
            old.target.model_sha256.as_deref().unwrap_or("")
        ),
        regressions: rows.iter().filter(|r| r.regression).count(),
        rows,
    }
}

/// The report's text summary: one line per figure (and the old value when compared).
pub fn text(r: &Report) -> String {
    let old: std::collections::HashMap<&str, &CompareRow> = r
        .comparison
        .iter()
        .flat_map(|c| c.rows.iter())
        .map(|row| (row.id.as_str(), row))
        .collect();
    let mut out = String::new();
    for s in &r.suites {
        out.push_str(&format!(
            "== {} ({:?}, {:.0}s, {} requests, {} errors)\n",
            s.name, s.status, s.seconds, s.requests, s.errors
        ));
        for n in &s.notes {
            out.push_str(&format!("   note: {n}\n"));
        }
        for f in &s.figures {
            out.push_str(&format!(
                "   {:<52} {:>9} [{} – {}] n={}",
                f.id,
                value(f.value, &f.unit),
                value(f.ci95[0], &f.unit),
                value(f.ci95[1], &f.unit),
                f.n
            ));
            if let Some(row) = old.get(f.id.as_str()) {
                out.push_str(&format!(
                    "  was {}{}",
                    value(row.old.value, &row.old.unit),
                    if row.regression { "  REGRESSION" } else { "" }
                ));
            }
            out.push('\n');
        }
    }
    if let Some(c) = &r.comparison {
        out.push_str(&format!(
            "compared with {} ({}): {} figures, {} regressions\n",
            c.against,
            c.against_created,
            c.rows.len(),
            c.regressions
        ));
    }
    out
}

/// A value formatted for its unit.
pub fn value(v: f64, unit: &str) -> String {
    match unit {
        "ratio" => format!("{v:.3}"),
        "count" => format!("{v:.0}"),
        _ => format!("{v:.1}"),
    }
}
