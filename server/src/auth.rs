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
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;
use crate::store::{now_ms, Actor, ApiKey, KeyRole, KeySettings, Store, StoreError};
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
    /// Replicas sharing the database; each enforces its share of a key's limits.
    pub replicas: u32,
}

impl LimitDefaults {
    /// This replica's share of a key's limit: `limit / replicas`, rounded up (never 0).
    /// With a load balancer spreading requests evenly the replicas together admit the
    /// limit (plus at most `replicas - 1` from the rounding); a balancer that sends one
    /// key everywhere else admits less, never more.
    pub fn share(&self, limit: u32) -> u32 {
        limit.div_ceil(self.replicas.max(1)).max(1)
    }
}

impl Default for LimitDefaults {
    fn default() -> Self {
        Self {
            rpm: 120,
            max_streams: 4,
            replicas: 1,
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
    /// `/v1/admin/keys...`: list, create and revoke keys.
    ManageKeys,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 9] = [
        Action::Catalogue,
        Action::Chat,
        Action::Embeddings,
        Action::RunTool,
        Action::Metrics,
        Action::Assessments,
        Action::Audit,
        Action::TrainingExport,
        Action::ManageKeys,
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
            | (Admin, Metrics | Audit | ManageKeys)
            | (Ml, Metrics | Embeddings | TrainingExport)
    )
}

impl Action {
    /// The audit action recorded when a role is refused this.
    pub(crate) fn audit_name(self) -> Option<&'static str> {
        match self {
            Action::Assessments => Some("assessment.access"),
            Action::Audit => Some("audit.read"),
            Action::TrainingExport => Some("training.export"),
            Action::ManageKeys => Some("key.manage"),
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

/// How long a key checked against the store may be accepted from memory while the
/// database cannot be reached.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// Keys this replica verified against the store, with when. Consulted only while the
/// database is unreachable, so revocation (which needs the database) is honoured on the
/// next request whenever the database is up, and emergency answers still reach a key that
/// was in use when the database went down.
#[derive(Default)]
pub struct KeyCache {
    seen: Mutex<HashMap<String, (ApiKey, Instant)>>,
}

impl KeyCache {
    fn remember(&self, key: &ApiKey) {
        if let Ok(mut m) = self.seen.lock() {
            m.insert(key.id.clone(), (key.clone(), Instant::now()));
        }
    }

    fn recall(&self, id: &str) -> Option<ApiKey> {
        let m = self.seen.lock().ok()?;
        let (key, at) = m.get(id)?;
        (at.elapsed() < KEY_CACHE_TTL).then(|| key.clone())
    }
}

/// Checks a bearer token against the store (and, while the database is unreachable,
/// against the keys verified in the last [`KEY_CACHE_TTL`]).
pub fn verify(store: &dyn Store, cache: &KeyCache, token: &str) -> Result<ApiKey, ApiError> {
    let invalid = || ApiError::Unauthorized {
        message: "Incorrect API key provided.".into(),
        code: "invalid_api_key",
    };
    let id = token_id(token).ok_or_else(invalid)?;
    let key = match store.key(id) {
        Ok(k) => k.ok_or_else(invalid)?,
        Err(StoreError::Unavailable(e)) => match cache.recall(id) {
            Some(k) => {
                tracing::warn!(key = %id, error = %e, "database unavailable: key accepted from this replica's last check");
                k
            }
            None => return Err(StoreError::Unavailable(e).into()),
        },
        Err(e) => return Err(e.into()),
    };
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
    cache.remember(&key);
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
                &[
                    Action::Catalogue,
                    Action::Metrics,
                    Action::Audit,
                    Action::ManageKeys,
                ],
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
