//! Test harness: the real model loaded once per test binary, real servers on 127.0.0.1:0,
//! and an SSE reader that parses streams the way a client would.

#![allow(missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use medserve_models::{Engine, MistralEngine, MistralOptions};
use medserve_server::retrieval::Retriever;
use medserve_server::{AppState, ServerSettings};
use serde_json::Value;

/// The model file under test: `MEDSERVE_MODEL` or the default fetched by `make models`.
/// Missing model = failed test, never a skip.
pub fn model_path() -> PathBuf {
    let p = std::env::var_os("MEDSERVE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../models/SmolLM2-135M-Instruct.Q8_0.gguf")
        });
    assert!(
        p.exists(),
        "model file {} is missing: run `make models` (tests need the real model)",
        p.display()
    );
    p
}

/// The original Q4_1 file from the registry package.
pub fn q4_1_path() -> PathBuf {
    let p = model_path().with_file_name("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(p.exists(), "{} is missing: run `make models`", p.display());
    p
}

/// A runtime that outlives every test of the binary: servers and the engine live here.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Loads a GGUF with the real engine (on the shared runtime).
pub fn load_engine(path: PathBuf, max_num_seqs: usize) -> Arc<dyn Engine> {
    load_engine_with(path, max_num_seqs, true)
}

/// Loads a GGUF with the real engine, with or without the prefix cache.
pub fn load_engine_with(path: PathBuf, max_num_seqs: usize, prefix_cache: bool) -> Arc<dyn Engine> {
    load_engine_cached(path, max_num_seqs, prefix_cache, 512 << 20)
}

/// Loads a GGUF with the real engine and a prefix cache of at most `prefix_cache_bytes`.
pub fn load_engine_cached(
    path: PathBuf,
    max_num_seqs: usize,
    prefix_cache: bool,
    prefix_cache_bytes: usize,
) -> Arc<dyn Engine> {
    runtime().block_on(async move {
        let e = MistralEngine::load(MistralOptions {
            model_path: path,
            model_id: Some("smollm2".into()),
            max_num_seqs,
            prefix_cache,
            prefix_cache_n: 16,
            prefix_cache_bytes,
        })
        .await
        .expect("model loads");
        Arc::new(e) as Arc<dyn Engine>
    })
}

/// The real default model, loaded once per test binary.
pub fn engine() -> Arc<dyn Engine> {
    static E: OnceLock<Arc<dyn Engine>> = OnceLock::new();
    E.get_or_init(|| load_engine(model_path(), 8)).clone()
}

/// The embedding model fetched by `make models` (missing = failed test, never a skip).
pub fn embedder_dir() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/embed");
    assert!(
        p.join("model.onnx").exists(),
        "{} is missing: run `make models` (tests need the real embedding model)",
        p.display()
    );
    p
}

/// Builds a real index of `docs_dir` (guideline Markdown) into a fresh temporary folder.
pub fn build_retriever(docs_dir: &std::path::Path) -> Arc<Retriever> {
    let embedder = medserve_rag::Embedder::load(&embedder_dir()).expect("embedder loads");
    let docs = medserve_rag::load_corpus_dir(docs_dir).expect("corpus loads");
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "medserve-test-index-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let (index, _) = medserve_rag::Index::build(
        &docs,
        &embedder,
        &medserve_rag::IndexParams::default(),
        &dir,
        None,
        |_, _, _| {},
    )
    .expect("index builds");
    Arc::new(Retriever {
        embedder: Arc::new(embedder),
        index: Arc::new(index),
        guard: Arc::new(medserve_guardrails::input::Guard::rules_only()),
    })
}

/// The project's guideline corpus, indexed once per test binary.
pub fn corpus_retriever() -> Arc<Retriever> {
    static R: OnceLock<Arc<Retriever>> = OnceLock::new();
    R.get_or_init(|| build_retriever(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpus")))
        .clone()
}

/// A fresh SQLite store in its own temporary folder.
pub fn temp_store() -> Arc<medserve_server::store::sqlite::SqliteStore> {
    Arc::new(
        medserve_server::store::sqlite::SqliteStore::open(&temp_db_path()).expect("store opens"),
    )
}

/// A path for a new database file in a fresh temporary folder.
pub fn temp_db_path() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "medserve-test-db-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("medserve.db")
}

fn uuid_like() -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1:0 around `engine`.
    pub fn start(engine: Arc<dyn Engine>, settings: ServerSettings, grace: Duration) -> Self {
        Self::start_with_store(engine, settings, grace, temp_store())
    }

    /// Starts a server on 127.0.0.1:0 around `engine` and `store`.
    pub fn start_with_store(
        engine: Arc<dyn Engine>,
        settings: ServerSettings,
        grace: Duration,
        store: Arc<dyn medserve_server::store::Store>,
    ) -> Self {
        let state = AppState::with_engine(settings, engine, store);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let (addr, done) = runtime().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let done = tokio::spawn(medserve_server::run(
                listener,
                st,
                async move {
                    let _ = rx.await;
                },
                grace,
            ));
            (addr, done)
        });
        TestServer {
            addr,
            state,
            shutdown: Some(tx),
            done: Some(done),
        }
    }

    /// The shared real-model server with default settings and the real guideline index.
    pub fn shared() -> &'static TestServer {
        static S: OnceLock<TestServer> = OnceLock::new();
        S.get_or_init(|| {
            let s = TestServer::start(engine(), real_settings(), Duration::from_secs(30));
            s.state.set_retriever(corpus_retriever());
            s
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends SIGTERM-equivalent: begins the graceful drain.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The repository root: `medserve serve` started from here finds its default encoder,
/// guardrail weights and policy.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The server's input guard as `medserve serve` loads it: the real sentence encoder and the
/// committed guardrail weights (loaded once per test binary).
pub fn real_guard() -> Arc<medserve_guardrails::input::Guard> {
    static G: OnceLock<Arc<medserve_guardrails::input::Guard>> = OnceLock::new();
    G.get_or_init(|| {
        let embedder =
            Arc::new(medserve_rag::Embedder::load(&embedder_dir()).expect("embedder loads"));
        let weights = repo_root().join(medserve_guardrails::learned::DEFAULT_WEIGHTS);
        Arc::new(
            medserve_server::chat::guard::load(embedder, &weights, None)
                .expect("guardrail weights load"),
        )
    })
    .clone()
}

/// Default settings with the real input guard.
pub fn real_settings() -> ServerSettings {
    ServerSettings {
        guard: real_guard(),
        ..ServerSettings::default()
    }
}

/// The `medserve` binary built by `make build` (next to the test binaries' `deps/`).
pub fn medserve_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("medserve"))
        .expect("target folder");
    assert!(
        bin.exists(),
        "{} is missing: run `make build` (this test drives the real binary)",
        bin.display()
    );
    bin
}

/// Any HTTP call, with an optional bearer key and JSON body. The body comes back as JSON,
/// or as a JSON string when it is not JSON.
pub async fn call(
    method: reqwest::Method,
    url: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut r = client().request(method, url);
    if let Some(k) = key {
        r = r.bearer_auth(k);
    }
    if let Some(b) = body {
        r = r.json(b);
    }
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, v)
}

/// The report id an emergency answer refers to. A non-streamed emergency answer does not
/// wait on the store: it carries the id when the report was already stored, or
/// `{"stored": false, "reason": "pending"}`; then the report must reach the nurse queue
/// (`base` is the server's URL, `nurse` a key that may read the queue) within 10 s.
pub async fn emergency_report_id(base: &str, nurse: &str, answer: &Value, session: &str) -> String {
    let a = &answer["medserve"]["assessment"];
    if let Some(id) = a["id"].as_str() {
        return id.to_string();
    }
    assert_eq!(a["reason"], "pending", "{answer}");
    for _ in 0..100 {
        let (status, _, q) = call(
            reqwest::Method::GET,
            &format!("{base}/v1/assessments?urgency=emergency"),
            Some(nurse),
            None,
        )
        .await;
        assert_eq!(status, 200, "{q}");
        if let Some(r) = q["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["session_id"] == session)
        {
            return r["id"].as_str().unwrap().to_string();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the emergency report of session {session} never reached the queue");
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// POSTs JSON and returns (status, body as JSON).
pub async fn post_json(url: &str, body: &Value) -> (u16, Value) {
    let r = client().post(url).json(body).send().await.expect("request");
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, v)
}

/// One parsed SSE event: a JSON payload or the `[DONE]` sentinel.
#[derive(Debug, Clone, PartialEq)]
pub enum SseItem {
    Json(Value),
    Done,
}

/// Parses an SSE body incrementally (event-source rules: `data:` lines joined, blank line
/// ends the event, `:` comments ignored).
#[derive(Default)]
pub struct SseParser {
    buf: String,
    data: Vec<String>,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseItem> {
        self.buf.push_str(&String::from_utf8_lossy(bytes));
        let mut out = Vec::new();
        while let Some(pos) = self.buf.find('\n') {
            let line = self.buf[..pos].trim_end_matches('\r').to_string();
            self.buf.drain(..=pos);
            if line.is_empty() {
                if !self.data.is_empty() {
                    let d = self.data.join("\n");
                    self.data.clear();
                    out.push(if d == "[DONE]" {
                        SseItem::Done
                    } else {
                        SseItem::Json(
                            serde_json::from_str(&d)
                                .unwrap_or_else(|e| panic!("bad event {d}: {e}")),
                        )
                    });
                }
            } else if let Some(rest) = line.strip_prefix("data:") {
                self.data
                    .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
            }
        }
        out
    }
}

/// Streams a request to the end; returns the status, headers and every event.
pub async fn post_stream(
    url: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Vec<SseItem>) {
    let r = client().post(url).json(body).send().await.expect("request");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let mut parser = SseParser::default();
    let mut items = Vec::new();
    let mut s = r.bytes_stream();
    while let Some(chunk) = s.next().await {
        items.extend(parser.push(&chunk.expect("body chunk")));
    }
    (status, headers, items)
}

/// The name the shared server's model answers to.
pub fn shared_model() -> String {
    TestServer::shared()
        .state
        .engine()
        .expect("the shared server has its model")
        .info()
        .id
        .clone()
}

/// The JSON events of a stream, `[DONE]` left out.
pub fn sse_json(items: &[SseItem]) -> Vec<&Value> {
    items
        .iter()
        .filter_map(|i| match i {
            SseItem::Json(v) => Some(v),
            SseItem::Done => None,
        })
        .collect()
}

/// Concatenated `delta.content` of a stream.
pub fn stream_text(items: &[SseItem]) -> String {
    items
        .iter()
        .filter_map(|i| match i {
            SseItem::Json(v) => v["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string),
            SseItem::Done => None,
        })
        .collect()
}

/// CPU seconds this process has used (user + system), from /proc.
pub fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A throwaway PostgreSQL cluster from Debian's binaries (`make setup` installs them): its
/// own data folder and a loopback port, started now, stopped and removed on drop. As root
/// it runs as the `postgres` user (initdb refuses root).
pub struct Postgres {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl Postgres {
    /// Creates and starts a cluster.
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|p| p.join("initdb").exists())
                    .max()
            })
            .expect("PostgreSQL server binaries under /usr/lib/postgresql: run `make setup`");
        let dir = std::env::temp_dir().join(format!("medserve-pg-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = Postgres { dir, port, bin };
        if is_root() {
            let ok = std::process::Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of the cluster folder");
        }
        pg.run(
            "initdb",
            &["-A", "trust", "-U", "medserve", "--no-sync", "-D"],
            true,
        );
        pg.start_again();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, tool: &str, args: &[&str], with_data: bool) -> bool {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        cmd.args(args);
        if with_data {
            cmd.arg(self.data());
        }
        let out = cmd.output().expect("PostgreSQL tool runs");
        if !out.status.success() {
            eprintln!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        out.status.success()
    }

    /// Starts the (stopped) cluster; waits until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        let ok = self.run(
            "pg_ctl",
            &[
                "-w",
                "-t",
                "60",
                "-l",
                &log.to_string_lossy(),
                "-o",
                &opts,
                "start",
                "-D",
            ],
            true,
        );
        assert!(ok, "pg_ctl start");
    }

    /// Stops the cluster (fast shutdown: connections are cut).
    pub fn stop(&self) {
        self.run("pg_ctl", &["-w", "-m", "fast", "stop", "-D"], true);
    }

    /// The connection URL.
    pub fn url(&self) -> String {
        format!("postgres://medserve@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh database in this cluster; its URL.
    pub fn database(&self, name: &str) -> String {
        let ok = self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "medserve",
                name,
            ],
            false,
        );
        assert!(ok, "createdb {name}");
        format!("postgres://medserve@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.run("pg_ctl", &["-w", "-m", "immediate", "stop", "-D"], true);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
