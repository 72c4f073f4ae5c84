//! Nothing acknowledged is lost: the real `medserve` binary is killed with SIGKILL while it
//! writes assessment reports and training records under load, 20 times over one SQLite
//! database, and 10 times as one of two replicas on one PostgreSQL database (the other
//! replica serving throughout); every record whose id a client received is there after.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use medserve_server::store::postgres::PgStore;
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
fn start(db: &str) -> (std::process::Child, String) {
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
        .args(["--db", db])
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

/// Acknowledged (report id, training id) pairs.
type Acked = Arc<Mutex<Vec<(String, String)>>>;

/// Sends routine triage chats from `CLIENTS` clients until a request fails; records each
/// acknowledged pair.
fn load(url: &str, model: &str, tag: &str, acked: &Acked) -> Vec<tokio::task::JoinHandle<()>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    (0..CLIENTS)
        .map(|c| {
            let (client, url, acked) = (client.clone(), url.to_string(), acked.clone());
            let (model, tag) = (model.to_string(), tag.to_string());
            tokio::spawn(async move {
                for i in 0.. {
                    let body = json!({
                        "model": model,
                        "messages": [{"role": "user", "content":
                            "I have had a mild sore throat and a runny nose for two days."}],
                        "max_tokens": 2,
                        "medserve": {"triage": true, "consent": true, "end_session": true,
                                     "session_id": format!("crash-{tag}-{c}-{i}")},
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
                    let a = v["medserve"]["assessment"]["id"]
                        .as_str()
                        .map(str::to_string);
                    let t = v["medserve"]["training"]["id"].as_str().map(str::to_string);
                    match (a, t) {
                        (Some(a), Some(t)) => acked.lock().unwrap().push((a, t)),
                        _ => panic!("an answer without its ids: {v}"),
                    }
                }
            })
        })
        .collect()
}

/// `kills` cycles of: start a server on `db`, load it, SIGKILL it at a random point after
/// its first acknowledged write. Returns the acknowledged writes per kill.
fn kill_cycles(db: &str, kills: usize, tag: &str, acked: &Acked) -> Vec<usize> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut per_kill = Vec::new();
    for cycle in 0..kills {
        let (mut child, addr) = start(db);
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
            let tasks = load(&url, &model, &format!("{tag}{cycle}"), acked);
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
    per_kill
}

/// Counts acknowledged pairs missing from `store`.
fn missing(store: &dyn Store, acked: &Acked) -> (usize, usize) {
    let training: HashSet<String> = store
        .training_records()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let acked = acked.lock().unwrap();
    let ids: HashSet<&String> = acked.iter().map(|(a, _)| a).collect();
    assert_eq!(ids.len(), acked.len(), "ids are unique");
    let lost = acked
        .iter()
        .filter(|(a, t)| store.assessment(a).unwrap().is_none() || !training.contains(t))
        .count();
    (lost, training.len())
}

#[test]
fn acknowledged_records_survive_sigkill_under_load() {
    let db = temp_db_path();
    let db_arg = db.to_string_lossy().to_string();
    let acked: Acked = Arc::default();
    let per_kill = kill_cycles(&db_arg, kills(), "s", &acked);
    // A last start runs recovery exactly as production would, then we read the file.
    let (mut child, _) = start(&db_arg);
    child.kill().unwrap();
    let _ = child.wait();

    let store = SqliteStore::open(&db).unwrap();
    let (lost, stored) = missing(&store, &acked);
    let conn = rusqlite_check(&db);
    println!(
        "durability: {} SIGKILLs, {} acknowledged reports + training records \
         (per kill: min {}, max {}), {stored} stored records, {lost} missing, integrity {conn}",
        kills(),
        acked.lock().unwrap().len(),
        per_kill.iter().min().unwrap(),
        per_kill.iter().max().unwrap(),
    );
    assert_eq!(lost, 0, "acknowledged records were lost");
    assert!(stored >= acked.lock().unwrap().len());
    assert_eq!(conn, "ok");
}

#[test]
fn acknowledged_records_survive_sigkill_of_a_replica_on_postgres() {
    let pg = Postgres::start();
    let url = pg.database("durability");
    let acked: Acked = Arc::default();
    // The other replica serves the whole time.
    let (mut steady, addr) = start(&url);
    let model = wait_ready(&addr);
    let steady_acked: Acked = Arc::default();
    let steady_tasks = runtime().block_on(async {
        load(
            &format!("http://{addr}/v1/chat/completions"),
            &model,
            "steady",
            &steady_acked,
        )
    });
    let per_kill = kill_cycles(&url, 10, "p", &acked);
    steady.kill().unwrap();
    let _ = steady.wait();
    runtime().block_on(async {
        for t in steady_tasks {
            t.await.expect("client task");
        }
    });
    let store = PgStore::open(&url).unwrap();
    let steady = steady_acked.lock().unwrap().len();
    assert!(steady > 0, "the other replica served meanwhile");
    acked
        .lock()
        .unwrap()
        .extend(steady_acked.lock().unwrap().drain(..));
    let (lost, stored) = missing(&store, &acked);
    println!(
        "durability (postgres, two replicas): 10 SIGKILLs, {} acknowledged ({steady} by the replica never killed; per kill: min {}, max {}), {stored} stored, {lost} missing",
        acked.lock().unwrap().len(),
        per_kill.iter().min().unwrap(),
        per_kill.iter().max().unwrap(),
    );
    assert_eq!(lost, 0, "acknowledged records were lost");
}

/// `PRAGMA integrity_check` on the database file.
fn rusqlite_check(db: &std::path::Path) -> String {
    medserve_server::store::sqlite::integrity_check(db).unwrap_or_else(|e| e.to_string())
}
