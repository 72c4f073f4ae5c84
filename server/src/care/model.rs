//! The care domain's types: who acted, assessment reports with their urgency,
//! disposition, workflow status and revisions, training records and audit events. The
//! store persists them; triage and training build them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
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
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The report (see `crate::care::triage::Report`), as generated; overrides do not change it.
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
    /// The record itself (see `crate::care::training::Exchange`).
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
