//! The route table: every path the server answers, its handlers and its access rule, in
//! one place. The router is built from it and the auth layer reads the rule from it, so a
//! route cannot exist without a rule.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::routing::{get, post, MethodRouter};

use super::{care, chat, embeddings, health, metrics, tools};
use crate::app::AppState;
use crate::auth::{Access, Action};

/// One route.
pub(crate) struct Route {
    /// Path template, as axum matches it.
    pub(crate) path: &'static str,
    /// Who may call it.
    pub(crate) access: Access,
    /// Its handlers by method.
    pub(crate) handler: MethodRouter<AppState>,
}

fn route(path: &'static str, access: Access, handler: MethodRouter<AppState>) -> Route {
    Route {
        path,
        access,
        handler,
    }
}

/// Every route.
pub(crate) fn table() -> Vec<Route> {
    use Access::{Needs, Public};
    vec![
        route("/health", Public, get(health::health)),
        route("/ready", Public, get(health::ready)),
        route(
            "/v1/models",
            Needs(Action::Catalogue),
            get(health::list_models),
        ),
        route(
            "/v1/models/{id}",
            Needs(Action::Catalogue),
            get(health::get_model),
        ),
        route(
            "/v1/chat/completions",
            Needs(Action::Chat),
            post(chat::chat_completions),
        ),
        route(
            "/v1/embeddings",
            Needs(Action::Embeddings),
            post(embeddings::embeddings),
        ),
        route(
            "/v1/tools",
            Needs(Action::Catalogue),
            get(tools::list_tools),
        ),
        route(
            "/v1/tools/{name}",
            Needs(Action::RunTool),
            post(tools::run_tool),
        ),
        route("/metrics", Needs(Action::Metrics), get(metrics::metrics)),
        route(
            "/v1/assessments",
            Needs(Action::Assessments),
            get(care::list),
        ),
        route(
            "/v1/assessments/{id}",
            Needs(Action::Assessments),
            get(care::get_one),
        ),
        route(
            "/v1/assessments/{id}/revisions",
            Needs(Action::Assessments),
            get(care::revisions),
        ),
        route(
            "/v1/assessments/{id}/claim",
            Needs(Action::Assessments),
            post(care::claim),
        ),
        route(
            "/v1/assessments/{id}/accept",
            Needs(Action::Assessments),
            post(care::accept),
        ),
        route(
            "/v1/assessments/{id}/override",
            Needs(Action::Assessments),
            post(care::override_),
        ),
        route("/v1/audit", Needs(Action::Audit), get(care::audit_log)),
        route(
            "/v1/training/export",
            Needs(Action::TrainingExport),
            get(care::training_export),
        ),
    ]
}

/// The access rule of a route template of [`table`] (`None`: not a route of the table).
pub(crate) fn access(path: &str) -> Option<Access> {
    static RULES: LazyLock<HashMap<&'static str, Access>> =
        LazyLock::new(|| table().into_iter().map(|r| (r.path, r.access)).collect());
    RULES.get(path).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::allowed;
    use crate::store::KeyRole;

    #[test]
    fn paths_are_unique_and_every_rule_admits_some_role() {
        let table = table();
        let mut seen = std::collections::HashSet::new();
        for r in &table {
            assert!(seen.insert(r.path), "{} twice", r.path);
            if let Access::Needs(a) = r.access {
                assert!(
                    KeyRole::ALL.iter().any(|&role| allowed(role, a)),
                    "no role may call {}",
                    r.path
                );
            }
            assert_eq!(access(r.path), Some(r.access));
        }
        assert_eq!(access("/v1/unknown"), None);
    }
}
