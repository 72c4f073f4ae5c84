//! The care-workflow store: API keys, assessment reports and their revisions, the
//! de-identified training log and the append-only audit log.
//!
//! [`Store`] is a small synchronous trait (async callers use `spawn_blocking`), so a
//! PostgreSQL backend can follow for multi-replica deployments. The default is
//! [`sqlite::SqliteStore`]: SQLite in WAL mode with `synchronous=FULL` and group commit,
//! where a write returns only after the transaction holding it is on disk. Nothing the
//! store holds is raw patient text: callers de-identify before they write.

pub mod sqlite;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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

/// Who did something, for revisions and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Key id, `open` in open mode, `cli` for the command line, `system` for the server.
    pub key_id: String,
    /// Role name (`open`, `cli`, `system` for the non-key actors).
    pub role: String,
}

impl Actor {
    /// The server itself (report creation, summaries).
    pub fn system() -> Self {
        Self {
            key_id: "system".into(),
            role: "system".into(),
        }
    }

    /// The local operator running the command line.
    pub fn cli() -> Self {
        Self {
            key_id: "cli".into(),
            role: "cli".into(),
        }
    }
}

/// Urgency of an assessment (order: most urgent first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Call emergency services now.
    Emergency,
    /// Same-day clinical review.
    Urgent,
    /// Routine care.
    Routine,
}

impl Urgency {
    /// Queue rank: 0 first.
    pub fn rank(self) -> i64 {
        self as i64
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Emergency => "emergency",
            Urgency::Urgent => "urgent",
            Urgency::Routine => "routine",
        }
    }
}

/// Suggested disposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Emergency services / emergency department now.
    EmergencyServices,
    /// Clinical review the same day.
    UrgentReview,
    /// An appointment with primary care.
    PrimaryCare,
    /// Self-care with safety-netting advice.
    SelfCare,
}

/// Where an assessment is in the nurse workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a nurse.
    Open,
    /// A nurse is reviewing it.
    Claimed,
    /// Accepted or overridden.
    Closed,
}

impl Status {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Claimed => "claimed",
            Status::Closed => "closed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Claimed, Status::Closed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// An assessment report with its workflow state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Id (`par_...`).
    pub id: String,
    /// The triage session it belongs to (`medserve.session_id`).
    pub session_id: String,
    /// Revision number, 1 on creation.
    pub version: i64,
    /// Workflow state.
    pub status: Status,
    /// Current urgency (the report's, or a nurse's override).
    pub urgency: Urgency,
    /// Current disposition.
    pub disposition: Disposition,
    /// Key id of the nurse who claimed it.
    pub claimed_by: Option<String>,
    /// `accepted` or `overridden` once closed.
    pub outcome: Option<String>,
    /// The nurse's de-identified note.
    pub note: Option<String>,
    /// The report (see `crate::triage::Report`), as generated; overrides do not change it.
    pub report: Value,
    /// Creation time, ms.
    pub created_at: i64,
    /// Last change, ms.
    pub updated_at: Option<i64>,
}

/// One change to an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Assessment.
    pub assessment_id: String,
    /// Version this change produced.
    pub version: i64,
    /// What was done: `create`, `update`, `summary`, `claim`, `accept`, `override`.
    pub action: String,
    /// Who.
    pub actor: Actor,
    /// When, ms.
    pub at: i64,
    /// Workflow fields before (`null` on creation).
    pub before: Value,
    /// Workflow fields after.
    pub after: Value,
}

/// A nurse's (or the server's) change to an assessment.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Take it for review (open → claimed).
    Claim,
    /// Agree with the report (claimed by this nurse → closed).
    Accept {
        /// Optional de-identified note.
        note: Option<String>,
    },
    /// Change urgency and/or disposition (claimed by this nurse → closed).
    Override {
        /// New urgency.
        urgency: Option<Urgency>,
        /// New disposition.
        disposition: Option<Disposition>,
        /// De-identified reason (required).
        note: String,
    },
    /// The model's free-text summary arrived (or failed: `None`).
    Summary {
        /// De-identified summary.
        text: Option<String>,
    },
}

impl Change {
    /// Revision action name.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Claim => "claim",
            Change::Accept { .. } => "accept",
            Change::Override { .. } => "override",
            Change::Summary { .. } => "summary",
        }
    }
}

/// A new or refreshed report for a session.
#[derive(Debug, Clone)]
pub struct NewAssessment {
    /// Session.
    pub session_id: String,
    /// The key the session belongs to: another key's request with the same session id
    /// opens a report of its own and never touches this one.
    pub owner: String,
    /// Urgency from the rules.
    pub urgency: Urgency,
    /// Disposition from the rules.
    pub disposition: Disposition,
    /// The report.
    pub report: Value,
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

/// One de-identified training record. Everything in `record` has passed the PHI
/// redaction; the id links nurse labels through `assessment_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// Id (`tr_...`).
    pub id: String,
    /// Creation time, ms (kept for retention; never exported).
    pub created_at: i64,
    /// The triage assessment the exchange belongs to.
    pub assessment_id: Option<String>,
    /// The record itself (see `crate::training::Exchange`).
    pub record: Value,
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Sequence number (assigned by the store).
    pub id: i64,
    /// When, ms.
    pub at: i64,
    /// Who.
    pub actor: Actor,
    /// What: `assessment.read`, `assessment.list`, `assessment.claim`, `key.create`, ...
    pub action: String,
    /// The record acted on, if any.
    pub target: Option<String>,
    /// `ok`, `denied`, `not_found`, `conflict`, `invalid`.
    pub result: String,
    /// Facts without content (counts, filters, versions).
    pub detail: Value,
}

impl AuditEvent {
    /// An event to append (id and time are set by the store).
    pub fn new(actor: &Actor, action: &str, target: Option<&str>, result: &str) -> Self {
        Self {
            id: 0,
            at: 0,
            actor: actor.clone(),
            action: action.into(),
            target: target.map(str::to_string),
            result: result.into(),
            detail: Value::Null,
        }
    }

    /// With facts.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
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

    /// Appends an audit event; returns its sequence number.
    fn append_audit(&self, event: AuditEvent) -> StoreResult<i64>;
    /// Reads the audit log, oldest first.
    fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>>;
}
