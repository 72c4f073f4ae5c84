//! Nothing acknowledged is lost: the real `medserve` binary is killed with SIGKILL while it
//! writes assessment reports and training records under load, 20 times over one database;
//! every record whose id a client received is there after the last restart.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medserve_server::store::sqlite::SqliteStore;
use medserve_server::store::Store;
use medserve_tests::*;
use serde_json::json;

/// SIGKILLs per run: 20 in `make test`; `MEDSERVE_KILLS=100` for the campaign
/// (`benches/kills.sh`).
fn kills() -> usize {
    std::env::var("MEDSERVE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}
const CLIENTS: usize = 8;

/// Starts `medserve serve` on 127.0.0.1:0 and returns the child and its address.
fn start(db: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(medserve_bin())
        .args([
            "serve",
            "--auth",
            "open",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ])
        .arg("--db")
        .arg(db)
        .arg("--model")
        .arg(model_path())
        .args(["--retrieval", "false"])
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("medserve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            // Strip colour codes in case the logger adds them.
            let plain: String = line
                .split('\u{1b}')
                .map(|p| p.split_once('m').map_or(p, |(_, rest)| rest))
                .collect();
            if let Some(i) = plain.find("addr=") {
                let addr: String = plain[i + 5..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                    .collect();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(addr);
                }
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the server logs its address");
    (child, addr)
}

/// Waits until the model is loaded and returns its id: the chats below need it (routine
/// answers wait for their records; emergency answers, which need no model, do not, and
/// acknowledge nothing).
fn wait_ready(addr: &str) -> String {
    runtime().block_on(async {
        for _ in 0..600 {
            if let Ok(r) = client().get(format!("http://{addr}/ready")).send().await {
                if r.status() == 200 {
                    let (_, _, models) = call(
                        reqwest::Method::GET,
                        &format!("http://{addr}/v1/models"),
                        None,
                        None,
                    )
                    .await;
                    return models["data"][0]["id"].as_str().unwrap().to_string();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server never became ready");
    })
}

#[test]
fn acknowledged_records_survive_sigkill_under_load() {
    let db = temp_db_path();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut per_kill = Vec::new();
    for cycle in 0..kills() {
        let (mut child, addr) = start(&db);
        let model = wait_ready(&addr);
        let url = format!("http://{addr}/v1/chat/completions");
        let before = acked.lock().unwrap().len();
        let stop_at = {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            Duration::from_millis(400 + seed % 900)
        };
        runtime().block_on(async {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let tasks: Vec<_> = (0..CLIENTS)
                .map(|c| {
                    let (client, url, acked) = (client.clone(), url.clone(), acked.clone());
                    let model = model.clone();
                    tokio::spawn(async move {
                        for i in 0.. {
                            let body = json!({
                                "model": model,
                                "messages": [{"role": "user", "content":
                                    "I have had a mild sore throat and a runny nose for two days."}],
                                "max_tokens": 2,
                                "medserve": {"triage": true, "consent": true, "end_session": true,
                                             "session_id": format!("crash-{cycle}-{c}-{i}")},
                            });
                            let Ok(resp) = client.post(&url).json(&body).send().await else {
                                break;
                            };
                            if resp.status() != 200 {
                                break;
                            }
                            let Ok(v) = resp.json::<serde_json::Value>().await else {
                                break;
                            };
                            // Acknowledged: the client holds both ids.
                            let a = v["medserve"]["assessment"]["id"].as_str().map(str::to_string);
                            let t = v["medserve"]["training"]["id"].as_str().map(str::to_string);
                            match (a, t) {
                                (Some(a), Some(t)) => acked.lock().unwrap().push((a, t)),
                                _ => panic!("an answer without its ids: {v}"),
                            }
                        }
                    })
                })
                .collect();
            // The kill lands at a random point after the first acknowledged write, while
            // the others are being written.
            for _ in 0..600 {
                if acked.lock().unwrap().len() > before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(stop_at).await;
            child.kill().expect("SIGKILL");
            for t in tasks {
                t.await.expect("client task");
            }
        });
        let _ = child.wait();
        per_kill.push(acked.lock().unwrap().len() - before);
        assert!(
            per_kill[cycle] > 0,
            "cycle {cycle}: no write was acknowledged before the kill"
        );
    }
    // A last start runs recovery exactly as production would, then we read the file.
    let (mut child, _) = start(&db);
    child.kill().unwrap();
    let _ = child.wait();

    let store = SqliteStore::open(&db).unwrap();
    let training: HashSet<String> = store
        .training_records()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let acked = acked.lock().unwrap();
    let mut missing = 0usize;
    for (a, t) in acked.iter() {
        if store.assessment(a).unwrap().is_none() || !training.contains(t) {
            missing += 1;
        }
    }
    let ids: HashSet<&String> = acked.iter().map(|(a, _)| a).collect();
    assert_eq!(ids.len(), acked.len(), "ids are unique");
    let conn = rusqlite_check(&db);
    println!(
        "durability: {} SIGKILLs, {} acknowledged reports + training records \
         (per kill: min {}, max {}), {} stored records, {missing} missing, integrity {conn}",
        kills(),
        acked.len(),
        per_kill.iter().min().unwrap(),
        per_kill.iter().max().unwrap(),
        training.len()
    );
    assert_eq!(missing, 0, "acknowledged records were lost");
    assert!(training.len() >= acked.len());
    assert_eq!(conn, "ok");
}

/// `PRAGMA integrity_check` on the database file.
fn rusqlite_check(db: &std::path::Path) -> String {
    medserve_server::store::sqlite::integrity_check(db).unwrap_or_else(|e| e.to_string())
}
