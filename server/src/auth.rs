//! API keys, roles and per-key limits.
//!
//! A key is `msk_<id>_<secret>`. Only the SHA-256 of the whole key is stored; a request's
//! key is looked up by its id and its hash compared in constant time. The role decides
//! every route ([`allowed`] is the one matrix) and the guardrail audience of chats. Limits
//! are per key: requests per minute (`governor`, GCRA) and concurrent generations.
//!
//! Open mode (`--auth open`) is for local development only: no keys, every action allowed,
//! no limits, and the server refuses to bind a non-loopback address in it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::store::{now_ms, Actor, ApiKey, AuditEvent, KeyRole, KeySettings};
use crate::AppState;
use medserve_guardrails::policy::Audience;

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Bearer API keys with roles (the default of `medserve serve`).
    Keys,
    /// No keys: local development only (loopback addresses).
    #[default]
    Open,
}

/// Default per-key limits (a key's own settings override them).
#[derive(Debug, Clone, Copy)]
pub struct LimitDefaults {
    /// Requests per minute per key.
    pub rpm: u32,
    /// Concurrent chat generations per key.
    pub max_streams: u32,
}

impl Default for LimitDefaults {
    fn default() -> Self {
        Self {
            rpm: 120,
            max_streams: 4,
        }
    }
}

/// What a route does, for the role matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `GET /v1/models`, `GET /v1/tools`: the catalogue.
    Catalogue,
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/tools/{name}`: run a calculator directly.
    RunTool,
    /// `GET /metrics`.
    Metrics,
    /// Read and change assessments: the nurse queue.
    Assessments,
    /// `GET /v1/audit`.
    Audit,
    /// `GET /v1/training/export`.
    TrainingExport,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 8] = [
        Action::Catalogue,
        Action::Chat,
        Action::Embeddings,
        Action::RunTool,
        Action::Metrics,
        Action::Assessments,
        Action::Audit,
        Action::TrainingExport,
    ];
}

/// The role matrix: whether `role` may perform `action`. Nothing else is allowed.
pub fn allowed(role: KeyRole, action: Action) -> bool {
    use Action::*;
    use KeyRole::*;
    matches!(
        (role, action),
        (_, Catalogue)
            | (PatientApp, Chat)
            | (Nurse, Chat | Embeddings | RunTool | Assessments)
            | (Admin, Metrics | Audit)
            | (Ml, Metrics | Embeddings | TrainingExport)
    )
}

impl Action {
    /// The audit action recorded when a role is refused this.
    fn audit_name(self) -> Option<&'static str> {
        match self {
            Action::Assessments => Some("assessment.access"),
            Action::Audit => Some("audit.read"),
            Action::TrainingExport => Some("training.export"),
            _ => None,
        }
    }
}

/// Who may reach a matched route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No key needed.
    Public,
    /// A key whose role allows this action.
    Needs(Action),
    /// A route with no rule: refused to every key (a new route must be given one).
    Unlisted,
}

/// The access rule of a matched route.
pub fn access_for(method: &Method, path: &str) -> Access {
    Access::Needs(match (method.as_str(), path) {
        ("GET" | "HEAD", "/health" | "/ready") => return Access::Public,
        (_, "/v1/models" | "/v1/models/{id}" | "/v1/tools") => Action::Catalogue,
        (_, "/v1/chat/completions") => Action::Chat,
        (_, "/v1/embeddings") => Action::Embeddings,
        (_, "/v1/tools/{name}") => Action::RunTool,
        (_, "/metrics") => Action::Metrics,
        (_, p) if p.starts_with("/v1/assessments") => Action::Assessments,
        (_, "/v1/audit") => Action::Audit,
        (_, "/v1/training/export") => Action::TrainingExport,
        _ => return Access::Unlisted,
    })
}

/// Whether the Host header names this machine's loopback (any port).
fn loopback_host(headers: &axum::http::HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        // HTTP/1.0 without Host, or HTTP/2 (authority checked by the peer): loopback only
        // reaches us anyway; a browser always sends Host.
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    )
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    /// For revisions and the audit log.
    pub actor: Actor,
    /// The key's role (`None` in open mode).
    pub role: Option<KeyRole>,
    /// The key's settings (defaults in open mode).
    pub settings: KeySettings,
}

impl Principal {
    /// The open-mode caller.
    pub fn open() -> Self {
        Self {
            actor: Actor {
                key_id: "open".into(),
                role: "open".into(),
            },
            role: None,
            settings: KeySettings::default(),
        }
    }

    /// The guardrail audience for a chat: the role's, and a stricter one may be asked
    /// for; open mode takes the request's (patient by default).
    pub fn audience(&self, requested: Option<Audience>) -> Result<Audience, ApiError> {
        match (self.role, requested) {
            (None, r) => Ok(r.unwrap_or(Audience::Patient)),
            (Some(KeyRole::Nurse), r) => Ok(r.unwrap_or(Audience::Clinician)),
            (Some(_), Some(Audience::Clinician)) => Err(ApiError::Forbidden {
                message: format!(
                    "role `{}` may not ask for the clinician audience",
                    self.actor.role
                ),
                param: Some("medserve.audience".into()),
            }),
            (Some(_), _) => Ok(Audience::Patient),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Internal("route without the auth layer".into()))
    }
}

/// A new key and its secret (shown once, never stored).
pub fn generate_key(role: KeyRole, name: &str, settings: KeySettings) -> (ApiKey, String) {
    let mut rng = rand::rng();
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id = format!("k{}", hex::encode(id));
    let token = format!("msk_{id}_{}", hex::encode(secret));
    let key = ApiKey {
        id,
        name: name.to_string(),
        role,
        secret_sha256: hex::encode(Sha256::digest(token.as_bytes())),
        created_at: now_ms(),
        revoked_at: None,
        settings,
    };
    (key, token)
}

/// The key id inside a token, if it has the right shape.
fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("msk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 13 && secret.len() == 64).then_some(id)
}

/// Checks a bearer token against the store.
pub fn verify(state: &AppState, token: &str) -> Result<ApiKey, ApiError> {
    let invalid = || ApiError::Unauthorized {
        message: "Incorrect API key provided.".into(),
        code: "invalid_api_key",
    };
    let id = token_id(token).ok_or_else(invalid)?;
    let key = state.store().key(id)?.ok_or_else(invalid)?;
    let presented = Sha256::digest(token.as_bytes());
    let stored = hex::decode(&key.secret_sha256).map_err(|_| invalid())?;
    if !bool::from(presented.as_slice().ct_eq(&stored)) {
        return Err(invalid());
    }
    if key.revoked_at.is_some() {
        return Err(ApiError::Unauthorized {
            message: "This API key has been revoked.".into(),
            code: "invalid_api_key",
        });
    }
    Ok(key)
}

/// Per-key request-rate and concurrency limits.
#[derive(Default)]
pub struct Limits {
    rate: Mutex<HashMap<String, (u32, Arc<DefaultDirectRateLimiter>)>>,
    streams: Mutex<HashMap<String, (u32, Arc<Semaphore>)>>,
}

impl Limits {
    /// Counts one request against the key's per-minute quota.
    pub fn check_rate(&self, key_id: &str, rpm: u32) -> Result<(), ApiError> {
        let rpm = NonZeroU32::new(rpm.max(1)).unwrap_or(NonZeroU32::MIN);
        let limiter = {
            let mut map = self
                .rate
                .lock()
                .map_err(|_| ApiError::Internal("rate limiter lock".into()))?;
            let entry = map.entry(key_id.to_string()).or_insert_with(|| {
                (
                    0,
                    Arc::new(DefaultDirectRateLimiter::direct(Quota::per_minute(rpm))),
                )
            });
            if entry.0 != rpm.get() {
                *entry = (
                    rpm.get(),
                    Arc::new(DefaultDirectRateLimiter::direct(Quota::per_minute(rpm))),
                );
            }
            entry.1.clone()
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::RateLimited {
                message: format!(
                    "Rate limit reached for this key: {rpm} requests per minute. Retry in {:.1}s.",
                    wait.as_secs_f64()
                ),
                code: "rate_limit_exceeded",
                retry_after: wait.as_secs_f64().ceil() as u64,
            }
        })
    }

    /// Takes one of the key's concurrent-generation slots (held as long as the permit).
    pub fn stream_permit(&self, key_id: &str, max: u32) -> Result<OwnedSemaphorePermit, ApiError> {
        let sem = {
            let mut map = self
                .streams
                .lock()
                .map_err(|_| ApiError::Internal("stream limiter lock".into()))?;
            let entry = map
                .entry(key_id.to_string())
                .or_insert_with(|| (max, Arc::new(Semaphore::new(max as usize))));
            if entry.0 != max {
                // A changed setting starts a fresh count; generations in flight keep theirs.
                *entry = (max, Arc::new(Semaphore::new(max as usize)));
            }
            entry.1.clone()
        };
        sem.try_acquire_owned().map_err(|_| ApiError::RateLimited {
            message: format!(
                "This key already has {max} generations in progress; wait for one to finish."
            ),
            code: "concurrency_limit_exceeded",
            retry_after: 1,
        })
    }
}

/// Middleware: authenticates, applies the role matrix and the key's rate limit, and puts
/// the [`Principal`] in the request's extensions.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    // Unmatched requests have no route: they go on to the 404 fallback.
    let Some(path) = path else {
        return next.run(req).await;
    };
    // Open mode listens on loopback only; a page elsewhere that rebinds its own host name
    // to 127.0.0.1 (DNS rebinding) still sends its own name as Host, and is refused.
    if state.settings().auth == AuthMode::Open && !loopback_host(req.headers()) {
        return ApiError::Forbidden {
            message: "open mode answers only requests addressed to localhost, 127.0.0.1 or [::1] (Host header)".into(),
            param: None,
        }
        .into_response();
    }
    let action = match access_for(req.method(), &path) {
        Access::Public => return next.run(req).await,
        Access::Needs(a) => Some(a),
        Access::Unlisted => None,
    };
    if state.settings().auth == AuthMode::Open {
        req.extensions_mut().insert(Principal::open());
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let Some(token) = token else {
        return ApiError::Unauthorized {
            message: "You didn't provide an API key. Send it as `Authorization: Bearer <key>`."
                .into(),
            code: "missing_api_key",
        }
        .into_response();
    };
    let st = state.clone();
    let key = match tokio::task::spawn_blocking(move || verify(&st, &token)).await {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return ApiError::Internal(format!("auth task: {e}")).into_response(),
    };
    // The rate limit comes first: refused requests count too, so a key cannot flood the
    // audit log with denials.
    let rpm = key.settings.rpm.unwrap_or(state.settings().limits.rpm);
    if let Err(e) = state.limits().check_rate(&key.id, rpm) {
        state.metrics().inc(
            "medserve_rejections_total",
            vec![("reason", "rate_limit".into())],
        );
        return e.into_response();
    }
    let principal = Principal {
        actor: Actor {
            key_id: key.id.clone(),
            role: key.role.as_str().into(),
        },
        role: Some(key.role),
        settings: key.settings.clone(),
    };
    if !action.is_some_and(|a| allowed(key.role, a)) {
        if let Some(name) = action.and_then(Action::audit_name) {
            let event = AuditEvent::new(&principal.actor, name, None, "denied")
                .detail(serde_json::json!({"route": path, "method": req.method().as_str()}));
            let st = state.clone();
            if !matches!(
                tokio::task::spawn_blocking(move || st.store().append_audit(event)).await,
                Ok(Ok(_))
            ) {
                tracing::error!("a denied request could not be audited");
            }
        }
        return ApiError::Forbidden {
            message: format!(
                "role `{}` may not use {} {path}",
                key.role.as_str(),
                req.method()
            ),
            param: None,
        }
        .into_response();
    }
    req.extensions_mut().insert(principal);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_shape_and_hash_to_the_stored_value() {
        let (key, token) = generate_key(KeyRole::Nurse, "ward", KeySettings::default());
        assert_eq!(token_id(&token), Some(key.id.as_str()));
        assert_eq!(
            hex::encode(Sha256::digest(token.as_bytes())),
            key.secret_sha256
        );
        assert!(!key.secret_sha256.contains(&token[18..]));
        assert_eq!(token_id("msk_short_abc"), None);
        assert_eq!(token_id("sk-proj-abc"), None);
    }

    #[test]
    fn the_matrix_allows_exactly_the_documented_pairs() {
        let expected: &[(KeyRole, &[Action])] = &[
            (KeyRole::PatientApp, &[Action::Catalogue, Action::Chat]),
            (
                KeyRole::Nurse,
                &[
                    Action::Catalogue,
                    Action::Chat,
                    Action::Embeddings,
                    Action::RunTool,
                    Action::Assessments,
                ],
            ),
            (
                KeyRole::Admin,
                &[Action::Catalogue, Action::Metrics, Action::Audit],
            ),
            (
                KeyRole::Ml,
                &[
                    Action::Catalogue,
                    Action::Embeddings,
                    Action::Metrics,
                    Action::TrainingExport,
                ],
            ),
        ];
        for (role, actions) in expected {
            for a in Action::ALL {
                assert_eq!(allowed(*role, a), actions.contains(&a), "{role:?} {a:?}");
            }
        }
    }

    #[test]
    fn every_route_of_the_router_has_an_access_rule() {
        for (m, p) in [
            (Method::GET, "/v1/models"),
            (Method::GET, "/v1/models/{id}"),
            (Method::POST, "/v1/chat/completions"),
            (Method::POST, "/v1/embeddings"),
            (Method::GET, "/v1/tools"),
            (Method::POST, "/v1/tools/{name}"),
            (Method::GET, "/metrics"),
            (Method::GET, "/v1/assessments"),
            (Method::GET, "/v1/assessments/{id}"),
            (Method::GET, "/v1/assessments/{id}/revisions"),
            (Method::POST, "/v1/assessments/{id}/claim"),
            (Method::POST, "/v1/assessments/{id}/accept"),
            (Method::POST, "/v1/assessments/{id}/override"),
            (Method::GET, "/v1/audit"),
            (Method::GET, "/v1/training/export"),
        ] {
            assert!(matches!(access_for(&m, p), Access::Needs(_)), "{m} {p}");
        }
        assert_eq!(access_for(&Method::GET, "/health"), Access::Public);
        assert_eq!(access_for(&Method::GET, "/v1/new-thing"), Access::Unlisted);
    }

    #[test]
    fn the_role_sets_the_audience() {
        let mut p = Principal::open();
        p.role = Some(KeyRole::PatientApp);
        assert_eq!(p.audience(None).unwrap(), Audience::Patient);
        assert!(p.audience(Some(Audience::Clinician)).is_err());
        p.role = Some(KeyRole::Nurse);
        assert_eq!(p.audience(None).unwrap(), Audience::Clinician);
        assert_eq!(
            p.audience(Some(Audience::Patient)).unwrap(),
            Audience::Patient
        );
    }
}
