//! Key management over HTTP (admin role): `GET /v1/admin/keys` lists keys (never their
//! secrets), `POST /v1/admin/keys` creates one and returns its secret once, `POST
//! /v1/admin/keys/{id}/revoke` revokes one (effective on the key's next request, on every
//! replica). Each is audited by the store in the same transaction as the change.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::{generate_key, Principal};
use crate::error::ApiError;
use crate::openai::parse_json;
use crate::store::{ApiKey, KeyRole, KeySettings};

fn key_json(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "object": "api_key",
        "name": k.name,
        "role": k.role,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
        "settings": k.settings,
    })
}

/// `GET /v1/admin/keys`.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Value>, ApiError> {
    let actor = principal.actor.clone();
    let keys = crate::store::blocking(state.store(), move |s| s.keys(&actor)).await?;
    Ok(Json(
        json!({"object": "list", "data": keys.iter().map(key_json).collect::<Vec<_>>()}),
    ))
}

/// `POST /v1/admin/keys` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// A label for people (no secrets, no patient data).
    name: String,
    /// `patient_app`, `nurse`, `admin` or `ml`.
    role: String,
    /// Default consent of this key's chats to the training log.
    #[serde(default)]
    consent: bool,
    /// Whether this key's chats are triage sessions by default.
    #[serde(default)]
    triage: bool,
    /// Requests per minute (default: the server's).
    rpm: Option<u32>,
    /// Concurrent streams (default: the server's).
    max_streams: Option<u32>,
}

/// `POST /v1/admin/keys`: `{name, role, consent?, triage?, rpm?, max_streams?}`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let bytes = body.map_err(|e| ApiError::invalid("body", e.body_text()))?;
    let req: NewKey = parse_json(&bytes)?;
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "name",
            "`name` must have 1 to 100 characters",
        ));
    }
    let role = KeyRole::parse(&req.role).ok_or_else(|| {
        ApiError::invalid("role", "`role` must be patient_app, nurse, admin or ml")
    })?;
    for (field, v) in [("rpm", req.rpm), ("max_streams", req.max_streams)] {
        if v == Some(0) || v.is_some_and(|v| v > 1_000_000) {
            return Err(ApiError::invalid(
                field,
                format!("`{field}` must be 1 to 1000000"),
            ));
        }
    }
    let (key, secret) = generate_key(
        role,
        &name,
        KeySettings {
            consent: req.consent,
            triage: req.triage,
            rpm: req.rpm,
            max_streams: req.max_streams,
        },
    );
    let actor = principal.actor.clone();
    let stored = key.clone();
    crate::store::blocking(state.store(), move |s| s.insert_key(&stored, &actor)).await?;
    let mut body = key_json(&key);
    body["secret"] = json!(secret);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `POST /v1/admin/keys/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::invalid("id", e.body_text()))?;
    let actor = principal.actor.clone();
    let target = id.clone();
    let done =
        crate::store::blocking(state.store(), move |s| s.revoke_key(&target, &actor)).await?;
    if !done {
        return Err(ApiError::NotFound(format!("no active key with id {id}")));
    }
    Ok(Json(
        json!({"id": id, "object": "api_key", "revoked": true}),
    ))
}
