//! The training export: de-identified records as JSON lines, filtered by quality, with
//! the nurse's label when the exchange's assessment was closed. Every export is audited.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Actor, Assessment, AuditEvent, Store, StoreError, StoreResult, TrainingRecord};
use crate::care::training::{nurse_agreement, quality, Format};

/// Writes an export as JSON lines; returns the number of lines. The export is audited.
pub fn export(
    store: &dyn Store,
    format: Format,
    min_quality: f64,
    actor: &Actor,
    out: &mut dyn std::io::Write,
) -> StoreResult<usize> {
    let records = store.training_records()?;
    let mut labels: BTreeMap<String, Option<Assessment>> = BTreeMap::new();
    for id in records.iter().filter_map(|r| r.assessment_id.clone()) {
        if !labels.contains_key(&id) {
            let a = store.assessment(&id)?;
            labels.insert(id, a);
        }
    }
    let label_of = |r: &TrainingRecord| {
        r.assessment_id
            .as_ref()
            .and_then(|id| labels.get(id).cloned().flatten())
    };
    let mut n = 0usize;
    let mut write = |v: Value, out: &mut dyn std::io::Write| -> StoreResult<()> {
        writeln!(out, "{v}").map_err(|e| StoreError::Commit(e.to_string()))?;
        n += 1;
        Ok(())
    };
    match format {
        Format::ChatJsonl => {
            for r in &records {
                let a = label_of(r);
                let q = quality(&r.record, a.as_ref().and_then(nurse_agreement));
                let last = r.record["messages"].as_array().and_then(|m| m.last());
                let text_answer = last.is_some_and(|m| m.get("tool_calls").is_none());
                if r.record["answer_source"] != "model" || !text_answer || q < min_quality {
                    continue;
                }
                let messages: Vec<Value> = r.record["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m["role"] != "tool")
                    .map(|m| json!({"role": m["role"], "content": m["content"]}))
                    .collect();
                write(json!({"messages": messages}), out)?;
            }
        }
        Format::EvalJsonl => {
            // The latest consented exchange of each nurse-closed assessment.
            let mut latest: BTreeMap<String, &TrainingRecord> = BTreeMap::new();
            for r in &records {
                if let Some(id) = &r.assessment_id {
                    latest.insert(id.clone(), r);
                }
            }
            for (id, r) in latest {
                let Some(a) = labels.get(&id).cloned().flatten() else {
                    continue;
                };
                let Some(agree) = nurse_agreement(&a) else {
                    continue;
                };
                if quality(&r.record, Some(agree)) < min_quality {
                    continue;
                }
                let rep = &a.report;
                write(
                    json!({
                        "assessment_id": a.id,
                        "messages": r.record["messages"],
                        "report": {
                            "chief_complaint": rep["chief_complaint"],
                            "symptoms": rep["symptoms"],
                            "red_flags": rep["red_flags"],
                            "scores": rep["scores"],
                        },
                        "predicted": {"urgency": rep["urgency"], "disposition": rep["disposition"]},
                        "label": {
                            "urgency": a.urgency,
                            "disposition": a.disposition,
                            "outcome": a.outcome,
                            "note": a.note,
                        },
                    }),
                    out,
                )?;
            }
        }
    }
    store.append_audit(
        AuditEvent::new(actor, "training.export", None, "ok").detail(json!({
            "format": format.as_str(), "min_quality": min_quality, "lines": n,
        })),
    )?;
    Ok(n)
}
