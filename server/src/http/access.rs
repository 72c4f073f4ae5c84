//! The auth middleware: authenticates the bearer key, applies the role matrix with the
//! route's rule from the route table and the key's rate limit, audits refusals, and puts
//! the [`Principal`] in the request's extensions. In open mode it checks the Host header.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::routes;
use crate::app::AppState;
use crate::auth::{allowed, verify, Access, Action, AuthMode, Principal};
use crate::error::ApiError;
use crate::store::{Actor, AuditEvent};

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
    // Every matched route is in the table; anything else would be refused to every key.
    let action = match routes::access(&path) {
        Some(Access::Public) => return next.run(req).await,
        Some(Access::Needs(a)) => Some(a),
        None => None,
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
    let key = match tokio::task::spawn_blocking(move || {
        verify(st.store().as_ref(), st.key_cache(), &token)
    })
    .await
    {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => return e.into_response(),
        Err(e) => return ApiError::Internal(format!("auth task: {e}")).into_response(),
    };
    // The rate limit comes first: refused requests count too, so a key cannot flood the
    // audit log with denials.
    let limits = &state.settings().limits;
    let rpm = limits.share(key.settings.rpm.unwrap_or(limits.rpm));
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
