//! `medserve eval run` end to end: the real binary evaluates a real server (real model,
//! guard, index and SQLite store, keys mode) through its HTTP API; the report's figures
//! agree with the sets and the answers, the page is self-contained, and `--compare`
//! passes an unchanged run and fails (exit 3) on a regression.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use medserve_server::auth::AuthMode;
use medserve_server::ServerSettings;
use medserve_tests::*;
use serde_json::Value;
use sha2::Digest;

fn create_key(db: &Path, role: &str) -> String {
    let out = Command::new(medserve_bin())
        .args(["keys", "create", "--role", role, "--name", role, "--db"])
        .arg(db)
        .output()
        .expect("medserve runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn eval(
    base: &str,
    key: &str,
    export_key: &str,
    out: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    let root = repo_root();
    let o = Command::new(medserve_bin())
        .args([
            "eval",
            "run",
            "--base-url",
            base,
            "--key",
            key,
            "--export-key",
            export_key,
            "--quiet",
            "--seed",
            "11",
        ])
        .arg("--sets")
        .arg(root.join("benches/eval/sets.toml"))
        .arg("--shared-data")
        .arg(root.join("../shared/data"))
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .expect("medserve runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

fn report(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

fn figure<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["figures"].as_array().unwrap())
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no figure {id}"))
}

fn suite<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["suites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()
}

fn sha256(path: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn eval_run_reports_every_suite_against_a_real_server_and_gates_on_regressions() {
    let db = temp_db_path();
    let key = create_key(&db, "patient_app");
    let ml = create_key(&db, "ml");
    let store = Arc::new(medserve_server::store::sqlite::SqliteStore::open(&db).unwrap());
    let s = TestServer::start_with_store(
        engine(),
        ServerSettings {
            auth: AuthMode::Keys,
            ..real_settings()
        },
        Duration::from_secs(5),
        store,
    );
    s.state.set_retriever(corpus_retriever());
    let base = s.url("");
    let out: PathBuf = temp_db_path().with_file_name("eval-1");
    let (code, stdout, stderr) = eval(
        &base,
        &key,
        &ml,
        &out,
        &["--limit", "4", "--concurrency", "2"],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_eq!(r["schema"], "medserve.eval.report/1");
    assert_eq!(r["target"]["medserve_extensions"], true);
    assert_eq!(r["target"]["model_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        r["target"]["guardrails"]["weights_sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert!(r["target"]["system_fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("fp_"));
    assert!(r["created"].as_str().unwrap().ends_with('Z'));
    for name in [
        "triage",
        "safety",
        "phi",
        "tools",
        "retrieval",
        "qa",
        "latency",
    ] {
        let st = suite(&r, name);
        assert_eq!(st["status"], "ran", "{name}: {st}");
        assert_eq!(st["errors"], 0, "{name}: {st}");
    }
    // Every figure: a count, an interval around its value.
    for f in r["suites"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["figures"].as_array().unwrap())
    {
        let (v, lo, hi) = (
            f["value"].as_f64().unwrap(),
            f["ci95"][0].as_f64().unwrap(),
            f["ci95"][1].as_f64().unwrap(),
        );
        assert!(lo <= v + 1e-9 && v <= hi + 1e-9, "{f}");
        assert!(f["n"].as_u64().is_some(), "{f}");
    }
    // The sets are named by file hash and sampled to the limit.
    let triage = suite(&r, "triage");
    let sets = triage["sets"].as_array().unwrap();
    assert_eq!(
        sets[0]["sha256"],
        sha256(&repo_root().join("guardrails/data/heldout/red_flags.jsonl"))
    );
    assert!(sets.iter().all(|s| s["used"] == 4));
    // Triage: every message answered and judged (emergencies + hard negatives = 8).
    let n = |id: &str| figure(&r, id)["n"].as_u64().unwrap();
    assert_eq!(n("triage.recall") + n("triage.false_alarms"), 8);
    assert!(figure(&r, "triage.recall")["value"].as_f64().unwrap() >= 0.5);
    // Safety: 4 held-out (harmful or hard benign) + 4 MedQuAD questions.
    assert_eq!(n("safety.harmful_refused") + n("safety.benign_refused"), 8);
    // PHI: the consented messages were logged and found in the export.
    assert!(
        n("phi.logged") == 4 && n("phi.matched") >= 1,
        "{}",
        suite(&r, "phi")
    );
    // Retrieval through /v1/embeddings with the ML key: 4 questions, 4 answers.
    assert_eq!(n("retrieval.recall_at_1"), 4);
    assert!(
        figure(&r, "retrieval.recall_at_5")["value"]
            .as_f64()
            .unwrap()
            == 1.0,
        "4 candidates: always in the top 5"
    );
    // QA both ways; latency at one stream and at two.
    assert_eq!(n("qa.accuracy.with_context"), 4);
    assert_eq!(n("qa.accuracy.without_context"), 4);
    assert!(
        figure(&r, "latency.decode_tok_s.c1")["value"]
            .as_f64()
            .unwrap()
            > 1.0
    );
    assert!(
        figure(&r, "latency.aggregate_tok_s.c2")["value"]
            .as_f64()
            .unwrap()
            > 1.0
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains(r["target"]["model_sha256"].as_str().unwrap()));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));
    assert!(stdout.contains("triage.recall"));

    // The same run again, compared: no regression, exit 0.
    let out2 = temp_db_path().with_file_name("eval-2");
    let (code, stdout, stderr) = eval(
        &base,
        &key,
        &ml,
        &out2,
        &[
            "--limit",
            "4",
            "--suite",
            "triage",
            "--compare",
            out.to_str().unwrap(),
        ],
    );
    // Quality figures of the same run are identical; timings (`_ms`) on a shared 2-core
    // machine move between runs, and with a handful of samples a slower minute can put a
    // percentile's whole interval past the old one: only those may differ.
    let r2 = report(&out2);
    let rows = r2["comparison"]["rows"].as_array().unwrap();
    let quality: Vec<&Value> = rows
        .iter()
        .filter(|r| r["regression"] == true && !r["id"].as_str().unwrap().contains("_ms"))
        .collect();
    assert!(quality.is_empty(), "{quality:?}");
    let timing = rows.iter().filter(|r| r["regression"] == true).count();
    assert_eq!(code, if timing == 0 { 0 } else { 3 }, "{stdout}\n{stderr}");
    assert!(r2["comparison"]["rows"].as_array().unwrap().len() >= 4);

    // An old run whose emergency answers were (made) far faster: flagged, exit 3.
    let mut old = report(&out);
    for s in old["suites"].as_array_mut().unwrap() {
        for f in s["figures"].as_array_mut().unwrap() {
            if f["id"] == "triage.emergency_answer_ms.p50" {
                f["value"] = 0.01.into();
                f["ci95"] = serde_json::json!([0.005, 0.02]);
            }
        }
    }
    let old_dir = temp_db_path().with_file_name("eval-old");
    std::fs::create_dir_all(&old_dir).unwrap();
    std::fs::write(old_dir.join("report.json"), old.to_string()).unwrap();
    let out3 = temp_db_path().with_file_name("eval-3");
    let (code, stdout, _) = eval(
        &base,
        &key,
        &ml,
        &out3,
        &[
            "--limit",
            "4",
            "--suite",
            "triage",
            "--compare",
            old_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("REGRESSION"), "{stdout}");
    let r3 = report(&out3);
    let row = r3["comparison"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "triage.emergency_answer_ms.p50")
        .unwrap();
    assert_eq!(row["regression"], true);
    assert!(std::fs::read_to_string(out3.join("report.html"))
        .unwrap()
        .contains("regression"));

    // Bad options: a clear error, no report.
    let out4 = temp_db_path().with_file_name("eval-4");
    let (code, _, stderr) = eval(&base, &key, &ml, &out4, &["--suite", "nonsense"]);
    assert!(code != 0 && stderr.contains("--suite"), "{stderr}");
}
