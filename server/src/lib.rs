//! medserve's HTTP server: an OpenAI-compatible API in front of a model engine.
//!
//! `app(state)` builds the router and `run(listener, state, shutdown)` serves it with a
//! graceful drain, so tests can start a real server on `127.0.0.1:0` without a process.

#![deny(missing_docs)]

pub mod auth;
pub mod care;
pub mod chat;
pub mod config;
pub mod embeddings;
pub mod error;
pub mod eval_guard;
pub mod eval_phi;
pub mod eval_store;
pub mod eval_tools;
pub mod exchange;
pub mod guard;
pub mod limits;
pub mod listener;
pub mod metrics;
pub mod openai;
pub mod output;
pub mod retrieval;
pub mod store;
pub mod toolcall;
pub mod tools;
pub mod training;
pub mod triage;
pub mod turns;
pub mod work;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use medserve_models::Engine;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Build identity: crate version and git commit, set by `build.rs`.
pub const BUILD: &str = concat!(env!("CARGO_PKG_VERSION"), "-", env!("MEDSERVE_GIT_HASH"));

/// Server-wide settings that handlers need.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Requests admitted at once (running plus queued); beyond it, 429.
    pub max_inflight: usize,
    /// SSE keep-alive comment interval.
    pub keep_alive: Duration,
    /// Whom the emergency answer tells people to call.
    pub emergency_numbers: String,
    /// Output-policy hold-back bound, characters.
    pub holdback_chars: usize,
    /// Keys or open mode (the library default is open, for tests on loopback; `medserve
    /// serve` defaults to keys).
    pub auth: auth::AuthMode,
    /// Per-key limits where a key sets none.
    pub limits: auth::LimitDefaults,
    /// The input guard: learned detectors (when loaded) and the guardrails policy.
    pub guard: Arc<medserve_guardrails::input::Guard>,
    /// Connection cap and timeouts of the listener.
    pub conn: listener::ConnLimits,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            max_inflight: 40,
            keep_alive: Duration::from_secs(15),
            emergency_numbers: medserve_guardrails::emergency::DEFAULT_NUMBERS.to_string(),
            holdback_chars: 300,
            auth: auth::AuthMode::Open,
            limits: auth::LimitDefaults::default(),
            guard: Arc::new(medserve_guardrails::input::Guard::rules_only()),
            conn: listener::ConnLimits::default(),
        }
    }
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: OnceLock<Arc<dyn Engine>>,
    retriever: OnceLock<Arc<retrieval::Retriever>>,
    slots: Arc<Semaphore>,
    draining: AtomicBool,
    settings: ServerSettings,
    metrics: metrics::Metrics,
    store: Arc<dyn store::Store>,
    limits: auth::Limits,
    summaries: OnceLock<tokio::sync::mpsc::Sender<triage::SummaryJob>>,
}

impl AppState {
    /// State with no engine yet: `/health` answers, `/ready` says 503 until
    /// [`AppState::set_engine`] is called.
    pub fn new(settings: ServerSettings, store: Arc<dyn store::Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                engine: OnceLock::new(),
                retriever: OnceLock::new(),
                slots: Arc::new(Semaphore::new(settings.max_inflight)),
                draining: AtomicBool::new(false),
                settings,
                metrics: metrics::Metrics::default(),
                store,
                limits: auth::Limits::default(),
                summaries: OnceLock::new(),
            }),
        }
    }

    /// State with a loaded engine.
    pub fn with_engine(
        settings: ServerSettings,
        engine: Arc<dyn Engine>,
        store: Arc<dyn store::Store>,
    ) -> Self {
        let s = Self::new(settings, store);
        s.set_engine(engine);
        s
    }

    /// Installs the engine once it is loaded.
    pub fn set_engine(&self, engine: Arc<dyn Engine>) {
        let _ = self.inner.engine.set(engine);
    }

    /// Installs the guideline index and its embedder (retrieval, `/v1/embeddings`).
    pub fn set_retriever(&self, retriever: Arc<retrieval::Retriever>) {
        let _ = self.inner.retriever.set(retriever);
    }

    /// The retriever, if an index is loaded.
    pub fn retriever(&self) -> Option<&Arc<retrieval::Retriever>> {
        self.inner.retriever.get()
    }

    /// The engine, or 503 while loading.
    pub fn engine(&self) -> Result<&Arc<dyn Engine>, ApiError> {
        self.inner
            .engine
            .get()
            .ok_or(ApiError::Unavailable("the model is still loading"))
    }

    /// Settings.
    pub fn settings(&self) -> &ServerSettings {
        &self.inner.settings
    }

    /// The metrics registry (`GET /metrics`).
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// The care-workflow store.
    pub fn store(&self) -> &Arc<dyn store::Store> {
        &self.inner.store
    }

    /// The queue of report summaries for the model (one worker, at most
    /// [`triage::SUMMARY_QUEUE`] waiting). Started on first use, on the current runtime.
    pub fn summaries(&self) -> &tokio::sync::mpsc::Sender<triage::SummaryJob> {
        self.inner.summaries.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(triage::SUMMARY_QUEUE);
            tokio::spawn(triage::summary_worker(self.clone(), rx));
            tx
        })
    }

    /// Per-key limits.
    pub fn limits(&self) -> &auth::Limits {
        &self.inner.limits
    }

    /// The engine if it is loaded.
    pub fn engine_if_ready(&self) -> Option<Arc<dyn Engine>> {
        self.inner.engine.get().cloned()
    }

    /// Admission semaphore (permits move into response streams).
    pub fn slots(&self) -> &Arc<Semaphore> {
        &self.inner.slots
    }

    /// `system_fingerprint`: model file hash and build.
    pub fn fingerprint(&self) -> String {
        let sha = self
            .inner
            .engine
            .get()
            .map(|e| e.info().sha256.clone())
            .unwrap_or_default();
        format!("fp_{}_{}", &sha[..sha.len().min(12)], BUILD)
    }

    fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }
}

/// The router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(get_model))
        .route("/v1/chat/completions", post(chat::chat_completions))
        .route("/v1/embeddings", post(embeddings::embeddings))
        .route("/v1/tools", get(tools::list_tools))
        .route("/v1/tools/{name}", post(tools::run_tool))
        .route("/metrics", get(metrics::metrics))
        .route("/v1/assessments", get(care::list))
        .route("/v1/assessments/{id}", get(care::get_one))
        .route("/v1/assessments/{id}/revisions", get(care::revisions))
        .route("/v1/assessments/{id}/claim", post(care::claim))
        .route("/v1/assessments/{id}/accept", post(care::accept))
        .route("/v1/assessments/{id}/override", post(care::override_))
        .route("/v1/audit", get(care::audit_log))
        .route("/v1/training/export", get(care::training_export))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Runs after routing (it needs the matched route): keys, roles, rate limits.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn ready(State(state): State<AppState>) -> Response {
    match state.inner.engine.get() {
        Some(_) if state.is_draining() => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        )
            .into_response(),
        Some(e) => Json(json!({"status": "ready", "model": e.info().id})).into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "loading"})),
        )
            .into_response(),
    }
}

fn model_object(state: &AppState, e: &dyn Engine) -> serde_json::Value {
    let info = e.info();
    json!({
        "id": info.id,
        "object": "model",
        "created": info.created,
        "owned_by": "medserve",
        "medserve": {
            "sha256": info.sha256,
            "max_context": info.max_context,
            "guardrails": guard::ids(&state.settings().guard),
        },
    })
}

async fn list_models(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let e = state.engine()?;
    Ok(Json(
        json!({"object": "list", "data": [model_object(&state, e.as_ref())]}),
    ))
}

async fn get_model(
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = state.engine()?;
    if e.info().id != id {
        return Err(ApiError::ModelNotFound(id));
    }
    Ok(Json(model_object(&state, e.as_ref())))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

async fn method_not_allowed() -> Response {
    let mut r = ApiError::InvalidRequest {
        message: "method not allowed on this route".into(),
        param: None,
        code: Some("method_not_allowed"),
    }
    .into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// (streams included) finish for at most `grace`.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (signalled_tx, mut signalled_rx) = tokio::sync::watch::channel(false);
    let st = state.clone();
    let limits = state.settings().conn;
    let rejected = state.clone();
    let server = listener::serve(
        listener,
        app(state),
        limits,
        async move {
            shutdown.await;
            st.inner.draining.store(true, Ordering::SeqCst);
            tracing::info!("shutdown requested: draining in-flight requests");
            let _ = signalled_tx.send(true);
        },
        move || {
            rejected.metrics().inc(
                "medserve_rejections_total",
                vec![("reason", "connection_limit".into())],
            )
        },
    );
    let deadline = async move {
        let _ = signalled_rx.wait_for(|v| *v).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = server => r,
        _ = deadline => {
            tracing::warn!(grace_secs = grace.as_secs_f32(), "drain deadline passed; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
