//! The care-workflow store: API keys, assessment reports and their revisions, the
//! de-identified training log and the append-only audit log.
//!
//! [`Store`] is a small synchronous trait (async callers use `spawn_blocking`) with two
//! backends: [`sqlite::SqliteStore`], the embedded default (WAL, `synchronous=FULL`, group
//! commit), and [`postgres::PgStore`] for replicas sharing one database. On both a write
//! returns only after the transaction holding it has committed durably; [`open`] picks the
//! backend from the `--db` value. Nothing the
//! store holds is raw patient text: callers de-identify before they write.

pub mod conformance;
pub mod export;
pub mod postgres;
pub mod sqlite;
mod workflow;

use serde::{Deserialize, Serialize};

pub use crate::care::model::{
    now_ms, Actor, Assessment, AuditEvent, Change, Disposition, NewAssessment, Revision, Status,
    TrainingRecord, Urgency,
};

/// A response kept for `GET /v1/responses/{id}` and `previous_response_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// `resp_...`.
    pub id: String,
    /// Key id that created it (only that key may read or delete it).
    pub owner: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// The response object as sent, its texts de-identified.
    pub body: serde_json::Value,
    /// The conversation through this response as chat messages, de-identified (what a
    /// follow-up with `previous_response_id` continues from).
    pub conversation: serde_json::Value,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused the operation.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON column did not parse (a bug or a hand-edited database).
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The database was written by a newer medserve.
    #[error("the database schema is version {found}, newer than this build's {supported}")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The group transaction holding the write did not commit.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread is gone (the process is shutting down).
    #[error("the store's writer has stopped")]
    Closed,
    /// A change that conflicts with the record's current state.
    #[error("{0}")]
    Conflict(String),
    /// No such record.
    #[error("{0} not found")]
    NotFound(String),
    /// The database cannot be reached (down, restarting, network): retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// PostgreSQL refused the operation.
    #[error("postgres: {0}")]
    Postgres(String),
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// A role: what a key may do and which guardrail audience its chats get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// A patient-facing app: chats with the patient audience.
    PatientApp,
    /// A nurse or clinician: clinician audience, the review queue, the calculators.
    Nurse,
    /// An operator: the audit log and metrics.
    Admin,
    /// The ML team: training and eval exports, metrics.
    Ml,
}

impl KeyRole {
    /// Every role.
    pub const ALL: [KeyRole; 4] = [
        KeyRole::PatientApp,
        KeyRole::Nurse,
        KeyRole::Admin,
        KeyRole::Ml,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::PatientApp => "patient_app",
            KeyRole::Nurse => "nurse",
            KeyRole::Admin => "admin",
            KeyRole::Ml => "ml",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<KeyRole> {
        KeyRole::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Per-key settings: defaults for requests and limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// Default of `medserve.consent` for this key's chats.
    #[serde(default)]
    pub consent: bool,
    /// Default of `medserve.triage` for this key's chats.
    #[serde(default)]
    pub triage: bool,
    /// Requests per minute (server default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Concurrent generations (server default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_streams: Option<u32>,
}

/// A stored API key. The secret itself is never stored: only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiKey {
    /// Public id (part of the secret's prefix, shown in logs and audit).
    pub id: String,
    /// Operator's label.
    pub name: String,
    /// Role.
    pub role: KeyRole,
    /// SHA-256 of the whole secret, hex.
    #[serde(skip)]
    pub secret_sha256: String,
    /// Creation time, ms.
    pub created_at: i64,
    /// Revocation time, ms (`None`: active).
    pub revoked_at: Option<i64>,
    /// Settings.
    pub settings: KeySettings,
}

/// Queue filter for [`Store::queue`].
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only these states (default: open and claimed).
    pub status: Vec<Status>,
    /// Only this urgency.
    pub urgency: Option<Urgency>,
    /// Only claimed by this key.
    pub claimed_by: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: usize,
}

/// Audit log filter.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor key id.
    pub actor: Option<String>,
    /// Only events after this id (paging).
    pub after_id: i64,
    /// At most this many (default 100, at most 1000).
    pub limit: usize,
}

/// The storage the care workflow needs. Every write is durable when it returns.
pub trait Store: Send + Sync {
    /// Adds a key (and audits it in the same transaction).
    fn insert_key(&self, key: &ApiKey, actor: &Actor) -> StoreResult<()>;
    /// A key by id, revoked or not.
    fn key(&self, id: &str) -> StoreResult<Option<ApiKey>>;
    /// Every key (listing is audited).
    fn keys(&self, actor: &Actor) -> StoreResult<Vec<ApiKey>>;
    /// Revokes a key; `false` if it does not exist or was already revoked (audited).
    fn revoke_key(&self, id: &str, actor: &Actor) -> StoreResult<bool>;

    /// Creates the session's report, or revises the session's report that is still open
    /// or claimed. Returns the current state.
    fn save_assessment(&self, new: NewAssessment) -> StoreResult<Assessment>;
    /// One assessment.
    fn assessment(&self, id: &str) -> StoreResult<Option<Assessment>>;
    /// The queue: most urgent first, then oldest first.
    fn queue(&self, filter: &QueueFilter) -> StoreResult<Vec<Assessment>>;
    /// Applies a change with its revision and audit event in one transaction.
    /// `expected_version`, when given, must match the current version.
    fn change_assessment(
        &self,
        id: &str,
        change: Change,
        actor: &Actor,
        expected_version: Option<i64>,
    ) -> StoreResult<Assessment>;
    /// Every revision of an assessment, oldest first.
    fn revisions(&self, id: &str) -> StoreResult<Vec<Revision>>;

    /// Appends a training record.
    fn insert_training(&self, record: &TrainingRecord) -> StoreResult<()>;
    /// Every training record, oldest first.
    fn training_records(&self) -> StoreResult<Vec<TrainingRecord>>;

    /// Keeps a stored response (`/v1/responses` with `store` and consent; de-identified by
    /// the caller).
    fn save_response(&self, response: &StoredResponse) -> StoreResult<()>;
    /// A stored response by id.
    fn response(&self, id: &str) -> StoreResult<Option<StoredResponse>>;
    /// Deletes a stored response; `false` if there was none.
    fn delete_response(&self, id: &str) -> StoreResult<bool>;

    /// Appends an audit event; returns its sequence number.
    fn append_audit(&self, event: AuditEvent) -> StoreResult<i64>;
    /// Reads the audit log, oldest first.
    fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
}

/// Opens the store a `--db` value names: a `postgres://` or `postgresql://` URL, else a
/// SQLite file path.
pub fn open(db: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if postgres::is_url(db) {
        Ok(std::sync::Arc::new(postgres::PgStore::open(db)?))
    } else {
        Ok(std::sync::Arc::new(sqlite::SqliteStore::open(
            std::path::Path::new(db),
        )?))
    }
}

impl From<StoreError> for crate::error::ApiError {
    fn from(e: StoreError) -> Self {
        use crate::error::ApiError;
        match e {
            StoreError::Conflict(m) => ApiError::Conflict(m),
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Unavailable(_) => {
                ApiError::Unavailable("the database is unavailable; retry shortly")
            }
            other => ApiError::Internal(format!("store: {other}")),
        }
    }
}

/// Runs a store call off the async workers; a store error becomes the API error.
pub async fn blocking<R: Send + 'static>(
    store: &std::sync::Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
) -> Result<R, crate::error::ApiError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|e| crate::error::ApiError::Internal(format!("store task: {e}")))?
        .map_err(crate::error::ApiError::from)
}
