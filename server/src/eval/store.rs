//! Store throughput with durable commits (`medserve eval store`): one writer waiting for
//! each commit, then many writers sharing commits, on SQLite and (with `--postgres URL`, a
//! scratch database: the records stay there) on PostgreSQL, in one run.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use medserve_server::store::sqlite::SqliteStore;
use medserve_server::store::{now_ms, Store, StoreError, TrainingRecord};

fn record(i: usize) -> TrainingRecord {
    // About the size of a real record: a short exchange with verdicts and metadata.
    TrainingRecord {
        id: format!("tr_bench_{i:08}_{}", uuid::Uuid::new_v4().simple()),
        created_at: now_ms(),
        assessment_id: None,
        record: json!({
            "record_version": "training-v1",
            "messages": [
                {"role": "user", "content": "I am [NAME], I have had a cough for 3 days and a mild fever. Should I see someone?"},
                {"role": "assistant", "content": "A cough with a mild fever for a few days is often a viral infection. Rest, fluids and paracetamol can help. See a clinician if you get short of breath, the fever lasts more than 3 days, or you feel worse. This is general information, not a diagnosis."}
            ],
            "answer_source": "model", "finish_reason": "stop", "audience": "patient",
            "guardrails": [{"stage": "input", "class": "phi", "action": "flag", "evidence": ["name"]}],
            "tools": [], "retrieval_ids": ["cough-adult#0", "fever-adult#2"],
            "model": {"id": "smollm2", "sha256": "0".repeat(64)},
            "prompt_template": "medserve-prompt-v1",
            "quality": {"no_intervention": true, "complete": true},
        }),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Run {
    records: usize,
    rate: f64,
    p50: f64,
    p99: f64,
}

fn measure(store: &Arc<dyn Store>, records: usize, writers: usize) -> Result<Run, StoreError> {
    // Every writer writes the same number; the total may round down to a multiple.
    let per = (records / writers).max(1);
    let t = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let s = store.clone();
            std::thread::spawn(move || -> Result<Vec<f64>, StoreError> {
                let mut lat = Vec::with_capacity(per);
                for i in 0..per {
                    let r = record(w * per + i);
                    let t = Instant::now();
                    s.insert_training(&r)?;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().map_err(|_| StoreError::Closed)??);
    }
    let secs = t.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    Ok(Run {
        records: lat.len(),
        rate: lat.len() as f64 / secs,
        p50: percentile(&lat, 0.5),
        p99: percentile(&lat, 0.99),
    })
}

/// One backend's two rows.
fn rows(
    name: &str,
    store: &Arc<dyn Store>,
    records: usize,
    writers: usize,
) -> Result<String, StoreError> {
    // Warm-up: page cache, WAL file, connections.
    measure(store, 100, 1)?;
    let seq = measure(store, records, 1)?;
    let group = measure(store, records, writers)?;
    Ok(format!(
        "| {name} | 1 (a commit per record) | {} | {:.0} | {:.2} | {:.2} |\n\
         | {name} | {writers} at once | {} | {:.0} | {:.2} | {:.2} |\n",
        seq.records, seq.rate, seq.p50, seq.p99, group.records, group.rate, group.p50, group.p99,
    ))
}

/// Runs the measurements on a fresh SQLite database in the system temp folder (and on
/// `postgres`, when given) and returns the table.
pub fn run(records: usize, writers: usize, postgres: Option<&str>) -> Result<String, StoreError> {
    let dir = std::env::temp_dir().join(format!(
        "medserve-eval-store-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("bench.db"))?);
    let mut table = String::from(
        "Store throughput, training records, durable commits (SQLite: WAL, synchronous=FULL, group commit; \
         PostgreSQL: synchronous_commit=on, a transaction per write, pool of MEDSERVE_DB_POOL connections)\n\n\
         | backend | writers | records | records/s | commit latency p50 ms | p99 ms |\n|---|---|---|---|---|---|\n",
    );
    table.push_str(&rows("SQLite", &sqlite, records, writers)?);
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(url) = postgres {
        let pg: Arc<dyn Store> = Arc::new(medserve_server::store::postgres::PgStore::open(url)?);
        table.push_str(&rows("PostgreSQL", &pg, records, writers)?);
    }
    Ok(table)
}
