//! The application state every layer above the store shares: settings, the engine (set
//! once it has loaded), the store, the retriever, admission slots, metrics and the
//! report-summary worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use medserve_models::Engine;
use tokio::sync::Semaphore;

use crate::build_info::BUILD;
use crate::care::triage;
use crate::error::ApiError;
use crate::{auth, listener, metrics, retrieval, store};
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
    exports: Arc<Semaphore>,
    draining: AtomicBool,
    settings: ServerSettings,
    metrics: metrics::Metrics,
    store: Arc<dyn store::Store>,
    limits: auth::Limits,
    key_cache: auth::KeyCache,
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
                exports: Arc::new(Semaphore::new(1)),
                draining: AtomicBool::new(false),
                settings,
                metrics: metrics::Metrics::default(),
                store,
                limits: auth::Limits::default(),
                key_cache: auth::KeyCache::default(),
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
            tokio::spawn(summary_worker(self.clone(), rx));
            tx
        })
    }

    /// Per-key limits.
    pub fn limits(&self) -> &auth::Limits {
        &self.inner.limits
    }

    /// Keys verified recently (used only while the database is unreachable).
    pub fn key_cache(&self) -> &auth::KeyCache {
        &self.inner.key_cache
    }

    /// The engine if it is loaded.
    pub fn engine_if_ready(&self) -> Option<Arc<dyn Engine>> {
        self.inner.engine.get().cloned()
    }

    /// Admission semaphore (permits move into response streams).
    pub fn slots(&self) -> &Arc<Semaphore> {
        &self.inner.slots
    }

    /// One training export at a time: an export reads the whole training table on one of
    /// the store's read connections, so concurrent exports could take all of them (and their
    /// memory) from key lookups and the queue.
    pub fn exports(&self) -> &Arc<Semaphore> {
        &self.inner.exports
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

    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Refuses new work from now on (graceful shutdown).
    pub(crate) fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }
}

/// Writes summaries one at a time, so report summaries never take more than one of the
/// engine's sequences away from patients.
async fn summary_worker(
    state: AppState,
    mut jobs: tokio::sync::mpsc::Receiver<triage::SummaryJob>,
) {
    while let Some(job) = jobs.recv().await {
        let Some(engine) = state.engine_if_ready() else {
            continue;
        };
        let summary = triage::fill_summary(engine, job.messages).await;
        store_summary(state.store().clone(), job.assessment_id, summary).await;
    }
}

/// Stores a summary (`None`: failed) as a new revision by the server.
async fn store_summary(store: Arc<dyn store::Store>, assessment_id: String, text: Option<String>) {
    let change = store::Change::Summary { text };
    let res = tokio::task::spawn_blocking(move || {
        store.change_assessment(&assessment_id, change, &crate::store::Actor::system(), None)
    })
    .await;
    if !matches!(res, Ok(Ok(_))) {
        tracing::warn!("assessment summary could not be stored");
    }
}
