//! `medserve eval run`: every suite through the public HTTP API of any OpenAI-compatible
//! server, into `report.json` (schema [`report::SCHEMA`]) and a self-contained
//! `report.html`; with `--compare OLD_DIR`, each figure beside the old one and an exit code
//! of 3 when a figure regressed beyond its interval.

pub mod client;
pub mod data;
pub mod html;
pub mod report;
pub mod stats;
pub mod suites;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use client::Client;
use report::{EvaluatorInfo, Report, Status, SuiteReport, TargetInfo};
use suites::Ctx;

/// Every suite, in run order.
pub const SUITES: [&str; 7] = [
    "triage",
    "safety",
    "phi",
    "tools",
    "retrieval",
    "qa",
    "latency",
];

/// Exit code of a run with a flagged regression.
pub const REGRESSION_EXIT: i32 = 3;

/// Options of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server base URL.
    pub base_url: String,
    /// Bearer key for chat, embeddings and models.
    pub key: Option<String>,
    /// Key allowed to read the training export (phi suite).
    pub export_key: Option<String>,
    /// Chat model (default: the first the server lists).
    pub model: Option<String>,
    /// `all` or names from [`SUITES`].
    pub suites: Vec<String>,
    /// Output folder.
    pub out: PathBuf,
    /// An older run's folder to compare with.
    pub compare: Option<PathBuf>,
    /// The set manifest.
    pub sets: PathBuf,
    /// The shared data folder (MedQuAD, PubMedQA).
    pub shared_data: PathBuf,
    /// Items per set at most.
    pub limit: Option<usize>,
    /// Sample seed.
    pub seed: u64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// No progress bars.
    pub quiet: bool,
}

/// The suites named by `--suite` (comma-separated, or `all`), in run order.
pub fn chosen(names: &[String]) -> anyhow::Result<Vec<&'static str>> {
    let names: Vec<&str> = names
        .iter()
        .flat_map(|n| n.split(','))
        .map(str::trim)
        .collect();
    if names.contains(&"all") {
        return Ok(SUITES.to_vec());
    }
    for n in &names {
        anyhow::ensure!(
            SUITES.contains(n),
            "--suite: unknown suite {n:?} (all, {})",
            SUITES.join(", ")
        );
    }
    Ok(SUITES
        .iter()
        .copied()
        .filter(|s| names.contains(s))
        .collect())
}

/// Runs the evaluation and writes the report; returns it.
pub async fn run(opts: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let created = rfc3339(SystemTime::now());
    let suites = chosen(&opts.suites)?;
    let old = match &opts.compare {
        Some(dir) => Some(read_report(dir)?),
        None => None,
    };
    std::fs::create_dir_all(&opts.out)?;
    let client = Client::connect(
        &opts.base_url,
        opts.key.clone(),
        opts.model.clone(),
        opts.concurrency,
        opts.quiet,
    )
    .await?;
    let target = target_info(&client).await;
    let ctx = Ctx {
        client,
        sets: data::Sets::open(&opts.sets, &opts.shared_data, &opts.out)?,
        limit: opts.limit,
        seed: opts.seed,
        export_key: opts.export_key.clone(),
    };
    let mut results = Vec::new();
    for name in suites {
        let t = Instant::now();
        let r = match name {
            "triage" => suites::triage::run(&ctx).await,
            "safety" => suites::safety::run(&ctx).await,
            "phi" => suites::phi::run(&ctx).await,
            "tools" => suites::tools::run(&ctx).await,
            "retrieval" => suites::retrieval::run(&ctx).await,
            "qa" => suites::qa::run(&ctx).await,
            _ => suites::latency::run(&ctx).await,
        };
        let mut r = r.unwrap_or_else(|e| SuiteReport {
            status: Status::Failed,
            notes: vec![format!("{e:#}")],
            ..SuiteReport::ran(name)
        });
        r.seconds = t.elapsed().as_secs_f64();
        if !opts.quiet {
            eprintln!("{name}: {:?} in {:.0} s", r.status, r.seconds);
        }
        results.push(r);
    }
    let mut report = Report {
        schema: report::SCHEMA.into(),
        created,
        seconds: started.elapsed().as_secs_f64(),
        target,
        evaluator: EvaluatorInfo {
            build: medserve_server::BUILD.into(),
            limit: opts.limit,
            seed: opts.seed,
            concurrency: opts.concurrency,
        },
        suites: results,
        comparison: None,
    };
    if let (Some(old), Some(dir)) = (&old, &opts.compare) {
        report.comparison = Some(report::compare(&report, old, &dir.display().to_string()));
    }
    std::fs::write(
        opts.out.join("report.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    std::fs::write(opts.out.join("report.html"), html::render(&report))?;
    Ok(report)
}

/// Reads `DIR/report.json` (or a report file), checking its schema.
pub fn read_report(path: &Path) -> anyhow::Result<Report> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let v: Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    anyhow::ensure!(
        v["schema"] == report::SCHEMA,
        "{}: schema {} is not {}",
        file.display(),
        v["schema"],
        report::SCHEMA
    );
    Ok(serde_json::from_value(v)?)
}

async fn target_info(client: &Client) -> TargetInfo {
    let t = &client.target;
    let ms = &t.model_entry["medserve"];
    // One short chat for the fingerprint (medserve: model hash and build).
    let probe = serde_json::json!({
        "model": t.model,
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 1,
        "temperature": 0,
    });
    let fingerprint = client
        .post("/v1/chat/completions", &probe, None)
        .await
        .ok()
        .and_then(|r| r.body["system_fingerprint"].as_str().map(str::to_string));
    TargetInfo {
        base_url: t.base.clone(),
        model: t.model.clone(),
        model_sha256: ms["sha256"].as_str().map(str::to_string),
        guardrails: ms["guardrails"].clone(),
        system_fingerprint: fingerprint,
        embedding_model: t.embedding_model.clone(),
        medserve_extensions: t.medserve,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a time (UTC).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_suite_names() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_796_342_400 + 3_723);
        assert_eq!(rfc3339(t), "2026-12-04T01:02:03Z");
        assert_eq!(chosen(&["all".into()]).unwrap().len(), SUITES.len());
        assert_eq!(chosen(&["qa,triage".into()]).unwrap(), vec!["triage", "qa"]);
        assert!(chosen(&["nope".into()]).is_err());
    }
}
