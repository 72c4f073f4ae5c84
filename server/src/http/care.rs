//! The nurse queue, the audit log and the training export over HTTP.
//!
//! `GET /v1/assessments` lists the queue (most urgent first, then oldest);
//! `GET /v1/assessments/{id}` and `.../revisions` read one; `POST .../claim`, `.../accept`
//! and `.../override` change it, each change a new version with who, when, before and
//! after. Every read and change is audited, refusals included. `GET /v1/audit` (admin)
//! pages through the audit log; `GET /v1/training/export` (ml) returns an export as JSON
//! lines.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::openai::parse_json;
use crate::store::{
    Actor, AuditEvent, AuditFilter, Change, Disposition, QueueFilter, Status, Store, StoreError,
    Urgency,
};
use medserve_guardrails::phi;

/// Runs a store call off the async workers.
async fn blocking<R: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
) -> Result<R, ApiError> {
    crate::store::blocking(state.store(), f).await
}

/// Appends an audit event; a store failure fails the request (an unaudited change is not
/// acknowledged).
async fn audit(state: &AppState, event: AuditEvent) -> Result<(), ApiError> {
    blocking(state, move |s| s.append_audit(event))
        .await
        .map(|_| ())
}

/// Rejects query keys outside `known`.
fn check_query(q: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            k.clone(),
            format!("unknown query parameter `{k}`; known: {}", known.join(", ")),
        ));
    }
    Ok(())
}

/// The query, or a 400 in our error shape.
fn query_of(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(q)| q).map_err(|e| ApiError::InvalidRequest {
        message: format!("invalid query string: {}", e.body_text()),
        param: None,
        code: None,
    })
}

/// A well-formed assessment id (`par_` and 32 hex digits), or a 404 in our error shape.
/// Malformed ids never reach the store or the audit log as targets.
fn id_of(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let not_found = || ApiError::NotFound("no such assessment".into());
    let Path(id) = p.map_err(|_| not_found())?;
    let ok = id
        .strip_prefix("par_")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(id)
    } else {
        Err(not_found())
    }
}

/// Audits a request refused before it reached the store (bad query, body or id), then
/// returns the refusal.
async fn refused<T>(
    state: &AppState,
    principal: &Principal,
    action: &str,
    target: Option<&str>,
    r: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if let Err(e) = &r {
        let result = match e {
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::InvalidRequest { .. } => "invalid",
            _ => return r,
        };
        let param = match e {
            ApiError::InvalidRequest { param, .. } => param.clone(),
            _ => None,
        };
        audit(
            state,
            AuditEvent::new(&principal.actor, action, target, result)
                .detail(json!({"param": param})),
        )
        .await?;
    }
    r
}

fn parse_limit(q: &HashMap<String, String>, max: usize) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(0),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                "limit",
                format!("`limit` must be an integer from 1 to {max}"),
            )),
        },
    }
}

fn enum_value<T: serde::de::DeserializeOwned>(param: &str, v: &str) -> Result<T, ApiError> {
    serde_json::from_value(Value::String(v.to_string()))
        .map_err(|_| ApiError::invalid(param, format!("`{param}` has no value {v:?}")))
}

/// `GET /v1/assessments`: `status` (comma list of open, claimed, closed; default
/// open,claimed), `urgency`, `mine=true`, `limit` (1-500, default 50). The answer carries
/// an `ETag`; a request whose `If-None-Match` names the current one gets 304 with no body
/// (and no audit event: nothing was disclosed), so a dashboard can poll cheaply.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let seen = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let r = list_inner(&state, &principal, q, seen).await;
    refused(&state, &principal, "assessment.list", None, r).await
}

async fn list_inner(
    state: &AppState,
    principal: &Principal,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
    seen: Option<String>,
) -> Result<Response, ApiError> {
    let q = query_of(q)?;
    check_query(&q, &["status", "urgency", "mine", "limit"])?;
    let mut filter = QueueFilter {
        limit: parse_limit(&q, 500)?,
        ..Default::default()
    };
    if let Some(s) = q.get("status") {
        for part in s.split(',') {
            filter
                .status
                .push(Status::parse(part.trim()).ok_or_else(|| {
                    ApiError::invalid("status", format!("`status` has no value {part:?}"))
                })?);
        }
    }
    if let Some(u) = q.get("urgency") {
        filter.urgency = Some(enum_value::<Urgency>("urgency", u)?);
    }
    match q.get("mine").map(String::as_str) {
        None | Some("false") => {}
        Some("true") => filter.claimed_by = Some(principal.actor.key_id.clone()),
        Some(_) => return Err(ApiError::invalid("mine", "`mine` must be true or false")),
    }
    let items = blocking(state, move |s| s.queue(&filter)).await?;
    let body = json!({"object": "list", "data": items});
    let etag = {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(body.to_string().as_bytes());
        format!("\"{}\"", hex::encode(&digest[..12]))
    };
    if seen.as_deref() == Some(etag.as_str()) {
        return Ok((axum::http::StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let actor = principal.actor.clone();
    let detail = json!({"filter": {"status": q.get("status"), "urgency": q.get("urgency"), "mine": q.get("mine")},
        "count": items_len(&body)});
    audit(
        state,
        AuditEvent::new(&actor, "assessment.list", None, "ok").detail(detail),
    )
    .await?;
    Ok(([(header::ETAG, etag)], Json(body)).into_response())
}

fn items_len(body: &Value) -> usize {
    body["data"].as_array().map_or(0, Vec::len)
}

/// `GET /v1/assessments/{id}`.
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = refused(&state, &principal, "assessment.read", None, id_of(id)).await?;
    let actor = principal.actor.clone();
    let found = blocking(&state, move |s| {
        let a = s.assessment(&id)?;
        let result = if a.is_some() { "ok" } else { "not_found" };
        s.append_audit(AuditEvent::new(
            &actor,
            "assessment.read",
            Some(&id),
            result,
        ))?;
        Ok(a)
    })
    .await?;
    match found {
        Some(a) => Ok(Json(serde_json::to_value(a).unwrap_or(Value::Null))),
        None => Err(ApiError::NotFound("no such assessment".into())),
    }
}

/// `GET /v1/assessments/{id}/revisions`: every version, oldest first.
pub async fn revisions(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = refused(&state, &principal, "assessment.revisions", None, id_of(id)).await?;
    let actor = principal.actor.clone();
    let revs = blocking(&state, move |s| {
        let exists = s.assessment(&id)?.is_some();
        let revs = if exists {
            s.revisions(&id)?
        } else {
            Vec::new()
        };
        let result = if exists { "ok" } else { "not_found" };
        s.append_audit(AuditEvent::new(
            &actor,
            "assessment.revisions",
            Some(&id),
            result,
        ))?;
        Ok(exists.then_some(revs))
    })
    .await?;
    match revs {
        Some(r) => Ok(Json(json!({"object": "list", "data": r}))),
        None => Err(ApiError::NotFound("no such assessment".into())),
    }
}

/// The body of claim, accept and override (may be empty for claim and accept).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeBody {
    /// Refuse the change unless the assessment is at this version.
    expected_version: Option<i64>,
    /// Why (required to override): free text, stored de-identified, at most 2,000 characters.
    note: Option<String>,
    /// Override: the new urgency.
    urgency: Option<Urgency>,
    /// Override: the new disposition.
    disposition: Option<Disposition>,
}

fn body_of(bytes: &Bytes) -> Result<ChangeBody, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(ChangeBody::default());
    }
    parse_json(bytes)
}

/// Notes are free text from nurses: stored de-identified, at most 2,000 characters.
fn note_of(note: Option<String>, required: bool) -> Result<Option<String>, ApiError> {
    match note {
        Some(n) if n.chars().count() > 2000 => Err(ApiError::invalid(
            "note",
            "`note` must be at most 2000 characters",
        )),
        Some(n) if !n.trim().is_empty() => Ok(Some(phi::redact(n.trim()))),
        _ if required => Err(ApiError::invalid(
            "note",
            "an override needs a `note` saying why",
        )),
        _ => Ok(None),
    }
}

/// The change a request body asks for.
fn change_of(
    bytes: Result<Bytes, BytesRejection>,
    kind: &str,
) -> Result<(Change, Option<i64>), ApiError> {
    let bytes = bytes.map_err(|e| ApiError::InvalidRequest {
        message: format!("could not read the request body: {}", e.body_text()),
        param: None,
        code: None,
    })?;
    let body = body_of(&bytes)?;
    let change = match kind {
        "claim" => {
            if let Some(f) = [
                ("note", body.note.is_some()),
                ("urgency", body.urgency.is_some()),
                ("disposition", body.disposition.is_some()),
            ]
            .iter()
            .find(|(_, set)| *set)
            {
                return Err(ApiError::invalid(
                    f.0,
                    format!("`{}` is not part of a claim", f.0),
                ));
            }
            Change::Claim
        }
        "accept" => {
            if body.urgency.is_some() || body.disposition.is_some() {
                return Err(ApiError::invalid(
                    if body.urgency.is_some() {
                        "urgency"
                    } else {
                        "disposition"
                    },
                    "accepting keeps the report's urgency and disposition; use override",
                ));
            }
            Change::Accept {
                note: note_of(body.note, false)?,
            }
        }
        _ => {
            if body.urgency.is_none() && body.disposition.is_none() {
                return Err(ApiError::invalid(
                    "urgency",
                    "an override changes `urgency`, `disposition` or both",
                ));
            }
            Change::Override {
                urgency: body.urgency,
                disposition: body.disposition,
                note: note_of(body.note, true)?.unwrap_or_default(),
            }
        }
    };
    Ok((change, body.expected_version))
}

async fn change(
    state: AppState,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
    kind: &'static str,
) -> Result<Json<Value>, ApiError> {
    let action = format!("assessment.{kind}");
    let id = refused(&state, &principal, &action, None, id_of(id)).await?;
    let (change, expected) = refused(
        &state,
        &principal,
        &action,
        Some(&id),
        change_of(bytes, kind),
    )
    .await?;
    let actor: Actor = principal.actor.clone();
    let target = id.clone();
    let res = blocking(&state, move |s| {
        s.change_assessment(&target, change, &actor, expected)
    })
    .await
    .map_err(|e| match e {
        ApiError::NotFound(_) => ApiError::NotFound("no such assessment".into()),
        other => other,
    });
    // The store rolled back a refused change with its audit row: record the refusal.
    let a = refused(&state, &principal, &action, Some(&id), res).await?;
    Ok(Json(serde_json::to_value(a).unwrap_or(Value::Null)))
}

/// `POST /v1/assessments/{id}/claim` (`{"expected_version"}` optional).
pub async fn claim(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change(state, principal, id, bytes, "claim").await
}

/// `POST /v1/assessments/{id}/accept` (`{"note", "expected_version"}` optional).
pub async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change(state, principal, id, bytes, "accept").await
}

/// `POST /v1/assessments/{id}/override`: `{"urgency"?, "disposition"?, "note",
/// "expected_version"?}`.
pub async fn override_(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    change(state, principal, id, bytes, "override").await
}

/// `GET /v1/audit`: `action`, `actor`, `after_id`, `limit` (1-1000, default 100).
pub async fn audit_log(
    State(state): State<AppState>,
    principal: Principal,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let r = audit_inner(&state, &principal, q).await;
    refused(&state, &principal, "audit.read", None, r).await
}

async fn audit_inner(
    state: &AppState,
    principal: &Principal,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query_of(q)?;
    check_query(&q, &["action", "actor", "after_id", "limit"])?;
    let after_id = match q.get("after_id") {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("after_id", "`after_id` must be an integer"))?,
    };
    let filter = AuditFilter {
        action: q.get("action").cloned(),
        actor: q.get("actor").cloned(),
        after_id,
        limit: parse_limit(&q, 1000)?,
    };
    let actor = principal.actor.clone();
    let events = blocking(state, move |s| {
        let events = s.audit(&filter)?;
        s.append_audit(
            AuditEvent::new(&actor, "audit.read", None, "ok")
                .detail(json!({"count": events.len(), "after_id": filter.after_id})),
        )?;
        Ok(events)
    })
    .await?;
    Ok(Json(json!({"object": "list", "data": events})))
}

/// `GET /v1/training/export?format=chat-jsonl|eval-jsonl&min_quality=0.8`: the whole
/// export as one JSON-lines body (defaults as the command line: chat-jsonl, 0.8).
pub async fn training_export(
    State(state): State<AppState>,
    principal: Principal,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let r = export_inner(&state, &principal, q).await;
    refused(&state, &principal, "training.export", None, r).await
}

async fn export_inner(
    state: &AppState,
    principal: &Principal,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query_of(q)?;
    check_query(&q, &["format", "min_quality"])?;
    let format = q.get("format").map_or("chat-jsonl", String::as_str);
    let format = crate::care::training::Format::parse(format)
        .ok_or_else(|| ApiError::invalid("format", "`format` must be chat-jsonl or eval-jsonl"))?;
    let min_quality = match q.get("min_quality") {
        None => 0.8,
        Some(v) => match v.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => x,
            _ => {
                return Err(ApiError::invalid(
                    "min_quality",
                    "`min_quality` must be a number from 0 to 1",
                ))
            }
        },
    };
    let actor = principal.actor.clone();
    let permit =
        state
            .exports()
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::RateLimited {
                message: "another training export is running; retry when it has finished".into(),
                code: "export_in_progress",
                retry_after: 5,
            })?;
    let body = blocking(state, move |s| {
        let _permit = permit;
        let mut buf = Vec::new();
        crate::store::export::export(s, format, min_quality, &actor, &mut buf)?;
        Ok(buf)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}
