//! The web pages: `/` patient chat, `/nurse` the review dashboard, `/admin` keys, audit
//! and metrics. Static files compiled into the binary (`server/pages/`, no build step, no
//! CDN); they hold no data and call only the public API with the user's own key, so the
//! routes are public and add no way around the roles. Every page is served with a strict
//! Content-Security-Policy: scripts and styles only from this origin, no inline script,
//! no framing.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::ApiError;

/// The policy of every page and asset.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// Name, content type and content of each file.
const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../pages/index.html"),
    ),
    (
        "nurse.html",
        "text/html; charset=utf-8",
        include_str!("../../pages/nurse.html"),
    ),
    (
        "admin.html",
        "text/html; charset=utf-8",
        include_str!("../../pages/admin.html"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../pages/app.css"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_str!("../../pages/common.js"),
    ),
    (
        "chat.js",
        "text/javascript; charset=utf-8",
        include_str!("../../pages/chat.js"),
    ),
    (
        "nurse.js",
        "text/javascript; charset=utf-8",
        include_str!("../../pages/nurse.js"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../pages/admin.js"),
    ),
];

fn serve(name: &str) -> Response {
    let Some((_, kind, body)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return ApiError::NotFound(format!("no page asset {name:?}")).into_response();
    };
    let mut resp = (StatusCode::OK, *body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `GET /`.
pub(crate) async fn patient() -> Response {
    serve("index.html")
}

/// `GET /nurse`.
pub(crate) async fn nurse() -> Response {
    serve("nurse.html")
}

/// `GET /admin`.
pub(crate) async fn admin() -> Response {
    serve("admin.html")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /guidelines/{doc_id}`: a guideline document of the index as a page, each passage
/// under an anchor `#chunk-N`, so a citation (`corpus://doc#N`) can be a link. The
/// documents are the public guidance the answers quote; nothing else is served here.
pub(crate) async fn guideline(State(state): State<AppState>, Path(doc): Path<String>) -> Response {
    let Some(r) = state.retriever() else {
        return ApiError::NotFound("no guideline index is loaded".into()).into_response();
    };
    let chunks: Vec<_> = r
        .index
        .chunks()
        .iter()
        .filter(|c| c.doc_id == doc)
        .collect();
    let Some(first) = chunks.first() else {
        return ApiError::NotFound(format!("no guideline {doc:?}")).into_response();
    };
    let mut html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{0}</title><link rel=\"stylesheet\" href=\"/assets/app.css\"></head>\
         <body><main><h1>{0}</h1><p class=\"muted\">Guideline document <code>{1}</code> of this \
         service's index.</p>",
        escape(&first.title),
        escape(&doc)
    );
    for c in &chunks {
        html.push_str(&format!(
            "<section id=\"chunk-{}\"><h2>{}</h2><p class=\"passage\">{}</p></section>",
            c.index,
            escape(&c.heading.join(" — ")),
            escape(&c.text)
        ));
    }
    html.push_str("</main></body></html>");
    let mut resp = serve("index.html");
    *resp.body_mut() = axum::body::Body::from(html);
    resp
}

/// `GET /assets/{name}`: the pages' scripts and style sheet.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    if name.ends_with(".html") {
        return ApiError::NotFound(format!("no page asset {name:?}")).into_response();
    }
    serve(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_no_inline_script_and_load_only_local_assets() {
        for (name, _, body) in FILES {
            if name.ends_with(".html") {
                for (i, _) in body.match_indices("<script") {
                    let tag = &body[i..i + body[i..].find('>').unwrap()];
                    assert!(
                        tag.contains("src=\"/assets/"),
                        "{name}: inline or foreign script {tag}"
                    );
                }
                assert!(
                    !body.contains(" on") || !body.contains("onclick="),
                    "{name}: inline handler"
                );
                assert!(
                    !body.contains("http://") && !body.contains("https://"),
                    "{name}: external resource"
                );
                assert!(
                    !body.contains("style=\""),
                    "{name}: inline style (blocked by the CSP)"
                );
            } else if name.ends_with(".js") {
                assert!(
                    !body.contains("innerHTML")
                        && !body.contains("outerHTML")
                        && !body.contains("insertAdjacentHTML")
                        && !body.contains("document.write"),
                    "{name}: HTML from strings"
                );
                assert!(
                    !body.contains("eval(") && !body.contains("new Function"),
                    "{name}: eval"
                );
                assert!(
                    !body.contains("localStorage"),
                    "{name}: the key stays in sessionStorage"
                );
            }
        }
    }
}
