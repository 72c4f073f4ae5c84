//! The evaluator's HTTP client: OpenAI routes of any compatible server, with retries on
//! 429/503 (honouring `Retry-After`), a bounded number of requests in flight, and a
//! progress bar per suite.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};

/// Attempts of one request before it counts as failed.
const ATTEMPTS: usize = 6;
/// Longest wait between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// What the target server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URL, without a trailing slash (`http://host:port`).
    pub base: String,
    /// Bearer key for chat, embeddings and the model list.
    pub key: Option<String>,
    /// Chat model id.
    pub model: String,
    /// Embedding model id, when the server lists one.
    pub embedding_model: Option<String>,
    /// Whether the server is medserve (its `medserve` extension objects are present).
    pub medserve: bool,
    /// The chat model entry of `/v1/models`.
    pub model_entry: Value,
}

/// Client with a concurrency bound.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The server under test.
    pub target: Arc<Target>,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Progress bars are hidden (tests, non-terminal output).
    pub quiet: bool,
}

/// A failed request after its retries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CallError(pub String);

/// One non-streamed HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body as JSON (a string value when it was not JSON).
    pub body: Value,
    /// Body as received.
    pub text: String,
    /// Whole request time.
    pub elapsed: Duration,
}

/// One streamed chat answer, timed at the client.
#[derive(Debug, Clone, Default)]
pub struct Streamed {
    /// Status code.
    pub status: u16,
    /// Time to the first content delta, ms (none: no content came).
    pub ttft_ms: Option<f64>,
    /// Gaps between content deltas, ms.
    pub gaps_ms: Vec<f64>,
    /// Whole request, ms.
    pub total_ms: f64,
    /// `usage.completion_tokens` of the last chunk (include_usage).
    pub completion_tokens: Option<u64>,
    /// The text.
    pub text: String,
}

impl Client {
    /// Discovers the target: its model list, the chat model and embedding model, and
    /// whether it is medserve.
    pub async fn connect(
        base: &str,
        key: Option<String>,
        model: Option<String>,
        concurrency: usize,
        quiet: bool,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .build()?;
        let base = base
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .to_string();
        let mut req = http.get(format!("{base}/v1/models"));
        if let Some(k) = &key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let list: Value = resp.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "GET {base}/v1/models: {status} {list}");
        let models = list["data"].as_array().cloned().unwrap_or_default();
        let serves = |m: &Value, route: &str| {
            m["medserve"]["endpoints"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x == route))
        };
        let chat = match &model {
            Some(id) => models
                .iter()
                .find(|m| m["id"] == id.as_str())
                .cloned()
                .unwrap_or_else(|| json!({"id": id})),
            None => models
                .iter()
                .find(|m| m.get("medserve").is_none() || serves(m, "/v1/chat/completions"))
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{base}/v1/models lists no model"))?,
        };
        let medserve = chat.get("medserve").is_some_and(Value::is_object);
        let embedding_model = models
            .iter()
            .find(|m| serves(m, "/v1/embeddings"))
            .or_else(|| {
                models.iter().find(|m| {
                    m["id"]
                        .as_str()
                        .is_some_and(|id| id.contains("embed") || id.contains("MiniLM"))
                })
            })
            .and_then(|m| m["id"].as_str().map(str::to_string));
        let target = Target {
            base,
            key,
            model: chat["id"].as_str().unwrap_or_default().to_string(),
            embedding_model,
            medserve,
            model_entry: chat,
        };
        Ok(Self {
            http,
            target: Arc::new(target),
            concurrency: concurrency.max(1),
            quiet,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.target.base)
    }

    /// POST `body` to `path` (JSON), retrying 429/503 and connection errors.
    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Result<Reply, CallError> {
        self.send(reqwest::Method::POST, path, Some(body), key)
            .await
    }

    /// GET `path`.
    pub async fn get(&self, path: &str, key: Option<&str>) -> Result<Reply, CallError> {
        self.send(reqwest::Method::GET, path, None, key).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<Reply, CallError> {
        let key = key.or(self.target.key.as_deref());
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            let start = Instant::now();
            let mut req = self.http.request(method.clone(), self.url(path));
            if let Some(k) = key {
                req = req.bearer_auth(k);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let wait = retry_after(&resp);
                    let text = resp.text().await.unwrap_or_default();
                    if waited(status, wait, &text, attempt, &mut last).await {
                        continue;
                    }
                    let body =
                        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
                    return Ok(Reply {
                        status,
                        body,
                        text,
                        elapsed: start.elapsed(),
                    });
                }
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        Err(CallError(format!("{method} {path}: {last}")))
    }

    /// Streams a chat completion (`stream: true`, usage requested) and times its deltas.
    pub async fn chat_stream(&self, mut body: Value) -> Result<Streamed, CallError> {
        body["stream"] = json!(true);
        body["stream_options"] = json!({"include_usage": true});
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            let start = Instant::now();
            let mut req = self.http.post(self.url("/v1/chat/completions")).json(&body);
            if let Some(k) = &self.target.key {
                req = req.bearer_auth(k);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    last = e.to_string();
                    tokio::time::sleep(backoff(attempt)).await;
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if status != 200 {
                let wait = retry_after(&resp);
                let text = resp.text().await.unwrap_or_default();
                if waited(status, wait, &text, attempt, &mut last).await {
                    continue;
                }
                return Ok(Streamed {
                    status,
                    total_ms: ms(start.elapsed()),
                    ..Default::default()
                });
            }
            return Ok(read_sse(status, start, resp.bytes_stream()).await);
        }
        Err(CallError(format!(
            "POST /v1/chat/completions (stream): {last}"
        )))
    }

    /// A progress bar for `len` items of `suite` (hidden when quiet).
    pub fn bar(&self, suite: &str, len: usize) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(len as u64);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:32}] {pos}/{len} {elapsed} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(suite.to_string());
        bar
    }

    /// Runs `f` over `items` with at most `concurrency` in flight, in input order, ticking
    /// a progress bar.
    pub async fn each<T, R, F, Fut>(&self, suite: &str, items: Vec<T>, f: F) -> Vec<R>
    where
        F: Fn(T) -> Fut,
        Fut: std::future::Future<Output = R>,
    {
        let bar = self.bar(suite, items.len());
        let out = futures::stream::iter(items.into_iter().map(|t| {
            let fut = f(t);
            let bar = bar.clone();
            async move {
                let r = fut.await;
                bar.inc(1);
                r
            }
        }))
        .buffered(self.concurrency)
        .collect()
        .await;
        bar.finish_and_clear();
        out
    }
}

async fn read_sse(
    status: u16,
    start: Instant,
    mut bytes: impl Stream<Item = reqwest::Result<impl AsRef<[u8]>>> + Unpin,
) -> Streamed {
    let mut s = Streamed {
        status,
        ..Default::default()
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut last_delta: Option<Instant> = None;
    while let Some(Ok(chunk)) = bytes.next().await {
        buf.extend_from_slice(chunk.as_ref());
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let raw: Vec<u8> = buf.drain(..end + 2).collect();
            let event = String::from_utf8_lossy(&raw);
            for line in event.lines() {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let data = data.trim();
                if data == "[DONE]" {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(data) else {
                    continue;
                };
                if let Some(t) = v["usage"]["completion_tokens"].as_u64() {
                    s.completion_tokens = Some(t);
                }
                let delta = v["choices"][0]["delta"]["content"].as_str().unwrap_or("");
                if delta.is_empty() {
                    continue;
                }
                let now = Instant::now();
                match last_delta {
                    None => s.ttft_ms = Some(ms(now - start)),
                    Some(prev) => s.gaps_ms.push(ms(now - prev)),
                }
                last_delta = Some(now);
                s.text.push_str(delta);
            }
        }
    }
    s.total_ms = ms(start.elapsed());
    s
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_BACKOFF))
}

/// For a 429 or 503 with attempts left: notes it in `last`, waits (the server's
/// `Retry-After`, else the backoff) and returns true, so the caller tries again.
async fn waited(
    status: u16,
    retry_after: Option<Duration>,
    text: &str,
    attempt: usize,
    last: &mut String,
) -> bool {
    if !matches!(status, 429 | 503) || attempt + 1 >= ATTEMPTS {
        return false;
    }
    *last = format!("{status} {}", first_line(text));
    tokio::time::sleep(retry_after.unwrap_or_else(|| backoff(attempt))).await;
    true
}

fn backoff(attempt: usize) -> Duration {
    (Duration::from_millis(500) * (1u32 << attempt.min(6))).min(MAX_BACKOFF)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

/// Milliseconds as f64.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The assistant text of a non-streamed chat completion.
pub fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or("")
}
