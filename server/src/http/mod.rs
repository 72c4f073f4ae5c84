//! The HTTP layer: the router built from the route table, the auth middleware, and the
//! handlers that read requests, call the layers below and write responses.

pub mod access;
pub mod admin;
pub mod care;
pub mod chat;
pub mod completions;
pub mod embeddings;
pub mod health;
pub mod metrics;
pub mod moderations;
pub mod openapi;
pub mod pages;
pub mod responses;
pub mod routes;
pub mod tokenize;
pub mod tools;

use std::future::Future;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;

use crate::app::AppState;
use crate::error::ApiError;
use crate::listener;

/// The router: every route of [`routes::table`], behind the auth layer (keys, roles, rate
/// limits; it reads each route's rule from the same table) and the request counter.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new();
    for r in routes::table() {
        router = router.route(r.path, r.handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Runs after routing (it needs the matched route).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::authorize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {}", uri.path()))
}

async fn method_not_allowed() -> Response {
    let mut r = ApiError::InvalidRequest {
        message: "method not allowed on this route".into(),
        param: None,
        code: Some("method_not_allowed"),
    }
    .into_response();
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests
/// (streams included) finish for at most `grace`.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let (signalled_tx, mut signalled_rx) = tokio::sync::watch::channel(false);
    let st = state.clone();
    let limits = state.settings().conn;
    let rejected = state.clone();
    let server = listener::serve(
        listener,
        app(state),
        limits,
        async move {
            shutdown.await;
            st.start_draining();
            tracing::info!("shutdown requested: draining in-flight requests");
            let _ = signalled_tx.send(true);
        },
        move || {
            rejected.metrics().inc(
                "medserve_rejections_total",
                vec![("reason", "connection_limit".into())],
            )
        },
    );
    let deadline = async move {
        let _ = signalled_rx.wait_for(|v| *v).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        r = server => r,
        _ = deadline => {
            tracing::warn!(grace_secs = grace.as_secs_f32(), "drain deadline passed; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
