//! The built-in tools: the medical calculators of `medserve-tools` plus `guideline_search`
//! over the loaded index. The chat loop runs them for `medserve.tools`; `http::tools`
//! lists and runs them over HTTP.

use medserve_rag::Mode;
use medserve_tools::ToolDefinition;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::retrieval::{self, Retriever};

/// Name of the retrieval tool.
pub const GUIDELINE_SEARCH: &str = "guideline_search";

/// Most passages `guideline_search` returns.
pub const GUIDELINE_SEARCH_MAX: u32 = 5;

/// `guideline_search` arguments.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    top_k: Option<u32>,
}

fn guideline_search_definition() -> ToolDefinition {
    ToolDefinition::new(
        GUIDELINE_SEARCH,
        "Searches the clinical guidance library (hybrid dense + keyword search) and returns \
         the best passages with their title and source URL. Use it to ground an answer in \
         guidance.",
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": 500,
                          "description": "What to look up, in plain words."},
                "top_k": {"type": "integer", "minimum": 1, "maximum": GUIDELINE_SEARCH_MAX,
                          "description": "Passages to return (default 3)."}
            },
            "required": ["query"],
            "additionalProperties": false
        }),
    )
}

/// Every built-in tool this server can run (`guideline_search` only with an index).
pub fn catalogue(state: &AppState) -> Vec<ToolDefinition> {
    let mut all = medserve_tools::catalogue();
    if state.retriever().is_some() {
        all.push(guideline_search_definition());
    }
    all
}

fn search(r: &Retriever, args: &Value) -> Result<Value, medserve_tools::Error> {
    let invalid = |m: String| medserve_tools::Error::invalid(GUIDELINE_SEARCH, m);
    let a: SearchArgs = serde_json::from_value(args.clone()).map_err(|e| invalid(e.to_string()))?;
    let query = a.query.trim();
    if query.is_empty() || query.chars().count() > 500 {
        return Err(invalid("query: must be 1 to 500 characters".into()));
    }
    let top_k = a.top_k.unwrap_or(3);
    if !(1..=GUIDELINE_SEARCH_MAX).contains(&top_k) {
        return Err(invalid(format!(
            "top_k: must be between 1 and {GUIDELINE_SEARCH_MAX}, got {top_k}"
        )));
    }
    let g = retrieval::retrieve(r, query, top_k as usize, Mode::Hybrid).map_err(|e| {
        medserve_tools::Error::Internal {
            tool: GUIDELINE_SEARCH.into(),
            message: e.to_string(),
        }
    })?;
    let passages: Vec<Value> = g
        .hits
        .iter()
        .map(|h| {
            json!({"id": h.chunk_id, "title": h.title, "heading": h.heading.join(" > "),
                   "url": h.url, "score": h.fused_score, "text": h.text})
        })
        .collect();
    Ok(json!({
        "query": query,
        "passages": passages,
        "explanation": format!("{} passages from the guidance library, best first (hybrid search).", passages.len()),
    }))
}

/// Runs a built-in tool (blocking for `guideline_search`: call from `spawn_blocking`).
pub fn run_builtin(
    retriever: Option<&Retriever>,
    name: &str,
    args: &Value,
) -> Result<Value, medserve_tools::Error> {
    if name == GUIDELINE_SEARCH {
        return match retriever {
            Some(r) => search(r, args),
            None => Err(medserve_tools::Error::UnknownTool(name.into())),
        };
    }
    medserve_tools::call(name, args)
}
