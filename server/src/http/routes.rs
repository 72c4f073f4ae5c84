//! The route table: every path the server answers, its handlers and its access rule, in
//! one place. The router is built from it and the auth layer reads the rule from it, so a
//! route cannot exist without a rule.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::routing::{get, post, MethodRouter};

use super::openapi::{body, op_delete, op_get, op_post, Op};
use super::{
    admin, care, chat, completions, embeddings, health, metrics, moderations, openapi, pages,
    responses, tokenize, tools,
};
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
    /// Its operations, for `/openapi.json` (a test checks them against the router).
    pub(crate) ops: Vec<Op>,
}

fn route(
    path: &'static str,
    access: Access,
    handler: MethodRouter<AppState>,
    ops: Vec<Op>,
) -> Route {
    Route {
        path,
        access,
        handler,
        ops,
    }
}

const HTML: &[&str] = &["text/html"];

/// Every route.
pub(crate) fn table() -> Vec<Route> {
    use crate::openai::ChatCompletionRequest;
    use Access::{Needs, Public};
    vec![
        route("/", Public, get(pages::patient), vec![op_get("The patient chat page.").producing(HTML)]),
        route("/nurse", Public, get(pages::nurse), vec![op_get("The nurse dashboard page.").producing(HTML)]),
        route("/admin", Public, get(pages::admin), vec![op_get("The admin page.").producing(HTML)]),
        route(
            "/assets/{name}",
            Public,
            get(pages::asset),
            vec![op_get("A page's script or style sheet.").producing(&["text/javascript", "text/css"])],
        ),
        route(
            "/guidelines/{doc}",
            Public,
            get(pages::guideline),
            vec![op_get("A guideline document of the index, each passage at #chunk-N.").producing(HTML)],
        ),
        route("/health", Public, get(health::health), vec![op_get("Liveness: 200 while the process runs.")]),
        route("/ready", Public, get(health::ready), vec![op_get("Readiness: 200 once the model is loaded, 503 while loading or draining.")]),
        route("/openapi.json", Public, get(openapi::openapi), vec![op_get("This document.")]),
        route(
            "/v1/models",
            Needs(Action::Catalogue),
            get(health::list_models),
            vec![op_get("The served models (chat and embedding) and the endpoints serving each.")],
        ),
        route(
            "/v1/models/{id}",
            Needs(Action::Catalogue),
            get(health::get_model),
            vec![op_get("One served model.")],
        ),
        route(
            "/v1/chat/completions",
            Needs(Action::Chat),
            post(chat::chat_completions),
            vec![op_post(
                "OpenAI Chat Completions, JSON or server-sent events, behind the guardrails.",
                Some(body::<ChatCompletionRequest>),
            )
            .producing(&["application/json", "text/event-stream"])],
        ),
        route(
            "/v1/completions",
            Needs(Action::Chat),
            post(completions::completions),
            vec![op_post(
                "OpenAI (legacy) Completions: raw text continuation with echo and prompt logprobs, JSON or server-sent events, behind the guardrails.",
                Some(body::<crate::openai::completions::CompletionRequest>),
            )
            .producing(&["application/json", "text/event-stream"])],
        ),
        route(
            "/v1/responses",
            Needs(Action::Chat),
            post(responses::create),
            vec![op_post(
                "OpenAI Responses on the chat pipeline, JSON or server-sent events; stored (with consent, de-identified) for previous_response_id.",
                Some(body::<crate::openai::responses::ResponsesRequest>),
            )
            .producing(&["application/json", "text/event-stream"])],
        ),
        route(
            "/v1/responses/{id}",
            Needs(Action::Chat),
            get(responses::get).delete(responses::delete),
            vec![
                op_get("A stored response of the calling key (as stored: de-identified)."),
                op_delete("Deletes a stored response of the calling key."),
            ],
        ),
        route(
            "/v1/embeddings",
            Needs(Action::Embeddings),
            post(embeddings::embeddings),
            vec![op_post("OpenAI Embeddings on the retrieval encoder.", Some(body::<embeddings::EmbeddingRequest>))],
        ),
        route(
            "/v1/moderations",
            Needs(Action::Chat),
            post(moderations::moderations),
            vec![op_post("OpenAI Moderations from the input guardrails.", Some(body::<moderations::ModerationRequest>))],
        ),
        route(
            "/tokenize",
            Needs(Action::Chat),
            post(tokenize::tokenize),
            vec![op_post("Token ids of a prompt or of chat messages (vLLM's shape).", Some(body::<tokenize::TokenizeRequest>))],
        ),
        route(
            "/detokenize",
            Needs(Action::Chat),
            post(tokenize::detokenize),
            vec![op_post("Text of token ids (vLLM's shape).", Some(body::<tokenize::DetokenizeRequest>))],
        ),
        route(
            "/tokenizer_info",
            Needs(Action::Catalogue),
            get(tokenize::tokenizer_info),
            vec![op_get("The tokenizer's configuration, read from the GGUF file.")],
        ),
        route(
            "/v1/tools",
            Needs(Action::Catalogue),
            get(tools::list_tools),
            vec![op_get("The built-in tools as OpenAI function tool definitions.")],
        ),
        route(
            "/v1/tools/{name}",
            Needs(Action::RunTool),
            post(tools::run_tool),
            vec![op_post(
                "Runs one built-in tool; the body is its arguments, as its definition's parameters schema says.",
                Some(body::<serde_json::Map<String, serde_json::Value>>),
            )],
        ),
        route(
            "/metrics",
            Needs(Action::Metrics),
            get(metrics::metrics),
            vec![op_get("Prometheus text exposition.").producing(&["text/plain"])],
        ),
        route(
            "/v1/assessments",
            Needs(Action::Assessments),
            get(care::list),
            vec![op_get("The nurse queue, most urgent first (ETag; 304 on If-None-Match).")],
        ),
        route(
            "/v1/assessments/{id}",
            Needs(Action::Assessments),
            get(care::get_one),
            vec![op_get("One assessment report.")],
        ),
        route(
            "/v1/assessments/{id}/revisions",
            Needs(Action::Assessments),
            get(care::revisions),
            vec![op_get("Every version of an assessment report.")],
        ),
        route(
            "/v1/assessments/{id}/claim",
            Needs(Action::Assessments),
            post(care::claim),
            vec![op_post("Claims a report for review (409 if another nurse holds it).", Some(body::<care::ChangeBody>))],
        ),
        route(
            "/v1/assessments/{id}/accept",
            Needs(Action::Assessments),
            post(care::accept),
            vec![op_post("Accepts a report as it stands.", Some(body::<care::ChangeBody>))],
        ),
        route(
            "/v1/assessments/{id}/override",
            Needs(Action::Assessments),
            post(care::override_),
            vec![op_post("Overrides a report's urgency or disposition, with a required note.", Some(body::<care::ChangeBody>))],
        ),
        route(
            "/v1/audit",
            Needs(Action::Audit),
            get(care::audit_log),
            vec![op_get("The append-only audit log, filtered.")],
        ),
        route(
            "/v1/admin/keys",
            Needs(Action::ManageKeys),
            get(admin::list).post(admin::create),
            vec![
                op_get("Every key (never a secret)."),
                op_post("Creates a key; its secret is in this answer only.", Some(body::<admin::NewKey>)),
            ],
        ),
        route(
            "/v1/admin/keys/{id}/revoke",
            Needs(Action::ManageKeys),
            post(admin::revoke),
            vec![op_post("Revokes a key.", None)],
        ),
        route(
            "/v1/training/export",
            Needs(Action::TrainingExport),
            get(care::training_export),
            vec![op_get("The de-identified training log as JSON lines.").producing(&["application/jsonl"])],
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
