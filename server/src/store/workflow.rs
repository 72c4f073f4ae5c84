//! The workflow rules every backend applies the same way: what a change does to a report,
//! how a session's next report is formed, and what a revision records.

use serde_json::{json, Value};

use super::{Actor, Assessment, Change, NewAssessment, Status, StoreError, StoreResult};

/// The workflow fields a revision records.
pub(crate) fn workflow(a: &Assessment) -> Value {
    json!({
        "version": a.version,
        "status": a.status,
        "urgency": a.urgency,
        "disposition": a.disposition,
        "claimed_by": a.claimed_by,
        "outcome": a.outcome,
        "note": a.note,
        "summary": a.report.get("summary").cloned().unwrap_or(Value::Null),
    })
}

/// Applies `change` to `a` (the workflow rules), or says why it cannot be applied.
pub(crate) fn apply(a: &mut Assessment, change: &Change, actor: &Actor) -> StoreResult<()> {
    let mine = a.claimed_by.as_deref() == Some(actor.key_id.as_str());
    match change {
        Change::Claim => match a.status {
            Status::Open => {
                a.status = Status::Claimed;
                a.claimed_by = Some(actor.key_id.clone());
            }
            Status::Claimed if mine => {}
            Status::Claimed => {
                return Err(StoreError::Conflict(format!(
                    "assessment {} is already claimed by another nurse",
                    a.id
                )))
            }
            Status::Closed => {
                return Err(StoreError::Conflict(format!(
                    "assessment {} is closed",
                    a.id
                )))
            }
        },
        Change::Accept { note } => {
            if a.status != Status::Claimed || !mine {
                return Err(StoreError::Conflict(format!(
                    "assessment {} must be claimed by you before it is accepted",
                    a.id
                )));
            }
            a.status = Status::Closed;
            a.outcome = Some("accepted".into());
            a.note = note.clone();
        }
        Change::Override {
            urgency,
            disposition,
            note,
        } => {
            if a.status != Status::Claimed || !mine {
                return Err(StoreError::Conflict(format!(
                    "assessment {} must be claimed by you before it is overridden",
                    a.id
                )));
            }
            if let Some(u) = urgency {
                a.urgency = *u;
            }
            if let Some(d) = disposition {
                a.disposition = *d;
            }
            a.status = Status::Closed;
            a.outcome = Some("overridden".into());
            a.note = Some(note.clone());
        }
        Change::Summary { text } => {
            if let Some(obj) = a.report.as_object_mut() {
                obj.insert(
                    "summary".into(),
                    text.clone().map(Value::String).unwrap_or(Value::Null),
                );
                obj.insert(
                    "summary_status".into(),
                    json!(if text.is_some() { "done" } else { "failed" }),
                );
            }
        }
    }
    Ok(())
}

/// The report a session's new findings produce: the revision of its open report
/// (`existing`), or a new one. Returns the report, the revision action (`create` or
/// `update`) and the workflow state before.
pub(crate) fn next_assessment(
    existing: Option<Assessment>,
    new: NewAssessment,
    now: i64,
) -> (Assessment, &'static str, Value) {
    match existing {
        Some(old) => {
            let before = workflow(&old);
            let mut a = old;
            a.version += 1;
            // A later trigger in the same session never lowers the urgency a nurse or an
            // earlier red flag set.
            if new.urgency < a.urgency {
                a.urgency = new.urgency;
                a.disposition = new.disposition;
            }
            a.report = crate::care::triage::merge_reports(&a.report, new.report);
            a.updated_at = Some(now);
            (a, "update", before)
        }
        None => (
            Assessment {
                id: format!("par_{}", uuid::Uuid::new_v4().simple()),
                session_id: new.session_id,
                version: 1,
                status: Status::Open,
                urgency: new.urgency,
                disposition: new.disposition,
                claimed_by: None,
                outcome: None,
                note: None,
                report: new.report,
                created_at: now,
                updated_at: None,
            },
            "create",
            Value::Null,
        ),
    }
}
