//! The chat pipeline, top to bottom: request validation (off the async workers) →
//! care settings → input guard (emergencies, refusals: fixed answers, no model) →
//! admission → retrieval → budget → turns (model, tools) → output policy and the JSON or
//! SSE writer (`answer`) → care records (`finish`).

mod answer;
pub mod budget;
pub mod choices;
pub mod finish;
pub mod guard;
pub mod output;
pub mod tools;
pub mod turns;
pub mod work;

use std::time::Instant;

use axum::response::Response;
use futures::StreamExt;
use medserve_models::{Grammar, Role};
use serde_json::{json, Value};
use tokio::sync::OwnedSemaphorePermit;

use self::finish::{Answer, CareCtx};
use self::turns::{Piece, PieceStream};
use crate::app::AppState;
use crate::auth::Principal;
use crate::chat::budget::Budget;
use crate::chat::output::OutputGuard;
use crate::error::ApiError;
use crate::grounding::{self, GroundingMode, GroundingReport};
use crate::metrics::Metrics;
use crate::openai::{ChatCompletionRequest, ChatJob, MedserveFacts, UsageBody};
use crate::retrieval::{self, RetrievalFacts};
use crate::toolcall::ToolRun;
use crate::toolcall::{self, FunctionTool, ToolCall, ToolSet};
use medserve_guardrails::injection::Source;
use medserve_guardrails::input::{self, Decision, RedFlag, Verdict};
use medserve_guardrails::policy::Audience;
use medserve_rag::Hit;

/// Facts shared by every chunk of one response.
#[derive(Clone)]
struct Meta {
    id: String,
    created: u64,
    model: String,
    fingerprint: String,
    seed: i64,
    started: Instant,
    red_flag: Option<RedFlag>,
    audience: Audience,
    /// Verdicts of the input stage; the output stage adds its own at the end.
    verdicts: Vec<Verdict>,
    retrieval: Option<RetrievalFacts>,
    /// Passages in the prompt, cited as annotations.
    hits: Vec<Hit>,
    /// Grounding mode of the request.
    grounding: GroundingMode,
    /// Set when verbatim mode found no relevant passage.
    no_vetted: bool,
    /// Triage and consent for this exchange.
    care: CareCtx,
}

impl Meta {
    fn facts(
        &self,
        ttft: Option<Instant>,
        output: Vec<Verdict>,
        tool_runs: Vec<ToolRun>,
    ) -> MedserveFacts {
        let mut guardrails = self.verdicts.clone();
        guardrails.extend(output);
        // What a client sees of a built-in tool's result passes its audience's policy.
        let tool_runs = tool_runs
            .into_iter()
            .map(|mut r| {
                r.result = crate::chat::output::screen_tool_result(self.audience, r.result);
                r
            })
            .collect();
        MedserveFacts {
            red_flag: self.red_flag.clone(),
            audience: self.audience,
            guardrails,
            retrieval: self.retrieval.clone(),
            grounding_report: self.no_vetted.then(|| GroundingReport {
                mode: self.grounding,
                no_vetted_information: true,
                ..GroundingReport::default()
            }),
            tool_runs,
            seed: self.seed,
            ttft_ms: ttft.map(|t| t.duration_since(self.started).as_millis() as u64),
            total_ms: self.started.elapsed().as_millis() as u64,
            assessment: None,
            training: Default::default(),
        }
    }

    /// Stores the exchange's report and training record (durably) and notes them in
    /// `facts`; called before the response carrying `facts` is sent.
    async fn finish_care(
        &self,
        state: &AppState,
        facts: &mut MedserveFacts,
        text: &str,
        calls: &[ToolCall],
        finish_reason: &str,
        rule: bool,
    ) {
        let retrieval_ids = facts
            .retrieval
            .as_ref()
            .map(|r| r.chunks.iter().map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        let (assessment, training) = finish::finish(
            state,
            &self.care,
            Answer {
                text,
                calls,
                finish_reason,
                rule,
                red_flag: facts.red_flag.as_ref(),
                verdicts: &facts.guardrails,
                tool_runs: &facts.tool_runs,
                retrieval_ids,
                audience: facts.audience,
            },
        )
        .await;
        facts.assessment = assessment;
        facts.training = training;
    }

    /// A whole `chat.completion` body with one choice.
    fn completion(
        &self,
        choice: Value,
        usage: medserve_models::Usage,
        facts: MedserveFacts,
    ) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "service_tier": "default",
            "choices": [choice],
            "usage": UsageBody::from(usage),
            "medserve": facts,
        })
    }

    fn chunk(&self, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
            "service_tier": "default",
            "choices": choices,
        })
    }
}

/// Records what one answer did (never its content).
fn record(
    m: &Metrics,
    facts: &MedserveFacts,
    usage: medserve_models::Usage,
    client_calls: &[ToolCall],
) {
    m.add(
        "medserve_tokens_total",
        vec![("kind", "prompt".into())],
        usage.prompt_tokens as u64,
    );
    m.add(
        "medserve_tokens_total",
        vec![("kind", "completion".into())],
        usage.completion_tokens as u64,
    );
    for v in &facts.guardrails {
        let stage = serde_json::to_value(v.stage)
            .ok()
            .and_then(|s| s.as_str().map(str::to_string))
            .unwrap_or_default();
        m.inc(
            "medserve_guardrail_verdicts_total",
            vec![
                ("stage", stage),
                ("class", v.class.clone()),
                ("action", v.action.clone()),
            ],
        );
    }
    if let Some(rf) = &facts.red_flag {
        for c in &rf.categories {
            m.inc(
                "medserve_red_flag_escalations_total",
                vec![("category", c.clone())],
            );
        }
    }
    for r in &facts.tool_runs {
        m.inc(
            "medserve_tool_calls_total",
            vec![("tool", r.name.clone()), ("ran", "server".into())],
        );
    }
    // Client tools are named by the client: one fixed label for all of them, so metric
    // labels come from a fixed set (and never carry what a client wrote).
    for _ in client_calls {
        m.inc(
            "medserve_tool_calls_total",
            vec![("tool", "client_defined".into()), ("ran", "client".into())],
        );
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The built-in tools a request asked the server to run, as function tools.
fn builtin_tools(state: &AppState, names: &[String]) -> Result<Vec<FunctionTool>, ApiError> {
    let catalogue = crate::chat::tools::catalogue(state);
    let mut out: Vec<FunctionTool> = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let param = format!("medserve.tools[{i}]");
        if out.iter().any(|t| &t.name == name) {
            return Err(ApiError::invalid(
                param,
                format!("`{name}` is listed twice"),
            ));
        }
        let def = catalogue.iter().find(|d| &d.name == name).ok_or_else(|| {
            let hint = if name == crate::chat::tools::GUIDELINE_SEARCH {
                " (no guideline index is loaded)"
            } else {
                ""
            };
            ApiError::invalid(
                &param,
                format!("no built-in tool named `{name}`{hint}; see GET /v1/tools"),
            )
        })?;
        out.push(FunctionTool::new(
            &param,
            def.name.clone(),
            def.description.clone(),
            def.parameters.clone(),
            true,
            true,
        )?);
    }
    Ok(out)
}

/// The handler.
#[tracing::instrument(skip_all, fields(stream))]
pub async fn complete(
    state: AppState,
    principal: Principal,
    req: ChatCompletionRequest,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    // While the model loads, the deterministic answers (emergencies, refusals) still work:
    // a chest-pain message must not get a 503.
    let engine = state.engine().ok().cloned();
    if let Some(e) = &engine {
        if req.model != e.info().id {
            return Err(ApiError::ModelNotFound(req.model));
        }
    }
    let model_name = req.model.clone();
    // Schema checks and grammar compiles are CPU work: off the async workers.
    let mut job: ChatJob =
        crate::chat::work::run("request validation", move || req.validate()).await??;
    job.audience = principal.audience(job.audience_requested)?;
    let care = resolve_care(&principal, &job)?;
    let tool_req = std::mem::take(&mut job.tools);
    let builtin = builtin_tools(&state, &tool_req.builtin)?;
    let tool_set: Option<ToolSet> = crate::chat::work::run("tool grammar", move || {
        toolcall::tool_set(
            tool_req.client,
            builtin,
            tool_req.choice.as_ref(),
            tool_req.parallel.as_ref(),
        )
    })
    .await??;
    tracing::Span::current().record("stream", job.stream);
    let mut meta = Meta {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        created: now_secs(),
        model: model_name,
        fingerprint: state.fingerprint(),
        seed: job.seed,
        started,
        red_flag: None,
        audience: job.audience,
        verdicts: Vec::new(),
        retrieval: None,
        hits: Vec::new(),
        grounding: job.grounding,
        no_vetted: false,
        care,
    };
    let retrieval_plan = retrieval::plan(job.retrieval.as_ref(), state.retriever().is_some())?;
    if job.grounding == GroundingMode::Verbatim {
        let conflict = if retrieval_plan.is_none() {
            Some("needs guideline retrieval (it is off for this request or no index is loaded)")
        } else if tool_set.is_some() {
            Some("cannot be combined with tools")
        } else if job.response_format.schema().is_some() {
            Some("cannot be combined with a structured `response_format`")
        } else {
            None
        };
        if let Some(why) = conflict {
            return Err(ApiError::invalid(
                "medserve.grounding",
                format!("`medserve.grounding: \"verbatim\"` {why}"),
            ));
        }
    }

    // The guardrails decide before any model runs: emergencies, injection, harmful requests.
    let latest_user = job
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(|m| m.content.clone())
        .unwrap_or_default();
    // Tool results after the latest user turn (a client running the score tools).
    let last_user_at = job.messages.iter().rposition(|m| m.role == Role::User);
    let tool_results: Vec<String> = job
        .messages
        .iter()
        .skip(last_user_at.map_or(0, |i| i + 1))
        .filter(|m| m.role == Role::Tool)
        .map(|m| m.content.clone())
        .collect();
    // Earlier user turns: the server keeps no state, so a jailbreak planted earlier in the
    // history is checked again on every request.
    let earlier_user: Vec<String> = job
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.clone())
        .rev()
        .skip(1)
        .collect();
    let report = guard::check(
        state.settings().guard.clone(),
        state.settings().emergency_numbers.clone(),
        guard::InputText {
            latest_user,
            earlier_user,
            vitals: job.vitals.clone(),
            tool_results,
        },
    )
    .await?;
    meta.verdicts = report.verdicts;
    match report.decision {
        Decision::Emergency { red_flag, text } => {
            tracing::info!(categories = ?red_flag.categories, "red flag: fixed emergency answer");
            meta.red_flag = Some(red_flag);
            return fixed_answer(&state, meta, text, &job).await;
        }
        Decision::Refuse { text } => {
            tracing::info!("input guardrail: fixed refusal");
            return fixed_answer(&state, meta, text, &job).await;
        }
        Decision::Proceed => {}
    }
    let engine = engine.ok_or(ApiError::Unavailable("the model is still loading"))?;
    // Tool results in the history are data: instruction-like sentences are removed, and
    // the rest is fenced for the model.
    for (i, m) in job.messages.iter_mut().enumerate() {
        if m.role != Role::Tool {
            continue;
        }
        let (clean, verdict) =
            input::screen_data(&state.settings().guard, Source::Tool, &m.content);
        if let Some(v) = verdict {
            meta.verdicts.push(v);
        }
        let name = job.tool_names.get(&i).map(String::as_str).unwrap_or("tool");
        m.content = toolcall::tool_response_text(name, &clean);
    }

    let permit = admit(&state, &principal)?;

    // Guideline passages for the prompt (screened as data) and the citations.
    if let (Some((top_k, mode)), Some(r)) = (retrieval_plan, state.retriever()) {
        let r = r.clone();
        let query = retrieval::query_for(&job.messages);
        let g = tokio::task::spawn_blocking(move || retrieval::retrieve(&r, &query, top_k, mode))
            .await
            .map_err(|e| ApiError::Internal(format!("retrieval task: {e}")))?
            .map_err(|e| ApiError::Internal(format!("retrieval: {e}")))?;
        meta.verdicts.extend(g.verdicts);
        meta.retrieval = Some(g.facts);
        meta.hits = g.hits;
    }
    // Verbatim: only passages relevant enough are answered from (the grammar is built from
    // those still in the prompt after the budget below).
    let best_similarity = meta
        .hits
        .iter()
        .filter_map(|h| h.dense_score)
        .fold(0.0f32, f32::max);
    if job.grounding == GroundingMode::Verbatim {
        meta.hits = grounding::relevant(&meta.hits);
        if let Some(f) = meta.retrieval.as_mut() {
            let kept: Vec<String> = meta.hits.iter().map(|h| h.chunk_id.clone()).collect();
            f.chunks.retain(|c| kept.contains(&c.id));
        }
    }

    let max_ctx = engine.info().max_context;
    let min_completion = job.sampling.max_tokens.unwrap_or(1).max(1);
    let tools_section = tool_set.as_ref().and_then(|t| t.system_prompt(&t.choice));
    // Fit the passages to the context budget: drop the weakest until the prompt fits.
    let (messages, prompt) = loop {
        let messages = retrieval::with_references(&job.messages, &meta.hits);
        let mut counted = messages.clone();
        if let Some(section) = &tools_section {
            toolcall::with_system_section(&mut counted, section);
        }
        let prompt = engine.count_prompt_tokens(&counted).await?;
        if Budget::fits(max_ctx, prompt, min_completion) || meta.hits.is_empty() {
            break (messages, prompt);
        }
        meta.hits.pop();
        if let Some(f) = meta.retrieval.as_mut() {
            f.chunks.truncate(meta.hits.len());
        }
    };
    // With no vetted sentence to answer from, a fixed answer points to a clinician instead
    // of a guess.
    let verbatim_grammar = match job.grounding {
        GroundingMode::Generative => None,
        GroundingMode::Verbatim => {
            match grounding::verbatim_grammar(&grounding::candidates(&meta.hits)) {
                Some(g) => Some(g),
                None => {
                    drop(permit);
                    return no_vetted_answer(&state, meta, best_similarity, &job).await;
                }
            }
        }
    };
    let budget = Budget::new(
        max_ctx,
        prompt,
        job.sampling.max_tokens,
        job.explicit_max_tokens,
    )?;

    let want_logprobs = job.sampling.logprobs;
    // With max_tokens, a structured answer is generated from a schema bounded to fit it.
    let any_object = matches!(
        job.response_format,
        crate::openai::ResponseFormat::JsonObject
    );
    let structured = job.response_format.schema().map(|s| {
        toolcall::structured_within(
            &s,
            job.explicit_max_tokens.then_some(budget.total),
            any_object,
        )
    });
    let guard = if structured.is_some() {
        OutputGuard::structured(job.audience)
    } else {
        OutputGuard::new(job.audience, state.settings().holdback_chars)
    };
    tracing::debug!(
        prompt_tokens = prompt,
        max_tokens = budget.total,
        tools = tool_set.as_ref().map_or(0, |t| t.tools.len()),
        "generation started"
    );
    let pieces = turns::drive(turns::Plan {
        engine,
        messages,
        sampling: job.sampling,
        budget,
        tools: tool_set,
        max_rounds: tool_req.max_rounds,
        grammar: structured
            .map(Grammar::JsonSchema)
            .or(verbatim_grammar.map(Grammar::Lark)),
        retriever: state.retriever().cloned(),
        emergency_numbers: state.settings().emergency_numbers.clone(),
        guard: state.settings().guard.clone(),
        audience: job.audience,
    });

    let events = answer::produce(
        state.clone(),
        pieces,
        meta.clone(),
        answer::Output {
            guard: Some(guard),
            permit: Some(permit),
        },
    );
    if job.stream {
        Ok(answer::sse(
            &state,
            events,
            meta,
            job.include_usage,
            want_logprobs,
        ))
    } else {
        answer::json(events, &meta, want_logprobs).await
    }
}

/// `pieces` until `cancel` fires; then the inner stream is dropped (which cancels the
/// generation) and the stream ends.
fn until_cancelled(
    mut pieces: PieceStream,
    cancel: tokio_util::sync::CancellationToken,
) -> PieceStream {
    Box::pin(async_stream::stream! {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                p = pieces.next() => match p {
                    Some(p) => yield p,
                    None => break,
                },
            }
        }
    })
}

/// Admission: the server's generation slot (429 `server_overloaded` when none is free) and
/// the key's own bound on concurrent generations (none in open mode), held until the
/// answer ends.
pub(crate) fn admit(state: &AppState, principal: &Principal) -> Result<Permit, ApiError> {
    let permit = state.slots().clone().try_acquire_owned().map_err(|_| {
        state.metrics().inc(
            "medserve_rejections_total",
            vec![("reason", "server_overloaded".into())],
        );
        ApiError::Overloaded
    })?;
    // The key's own bound on concurrent generations (none in open mode).
    let key_permit = match principal.role {
        Some(_) => {
            let limits = &state.settings().limits;
            let max = limits.share(principal.settings.max_streams.unwrap_or(limits.max_streams));
            Some(
                state
                    .limits()
                    .stream_permit(&principal.actor.key_id, max)
                    .inspect_err(|_| {
                        state.metrics().inc(
                            "medserve_rejections_total",
                            vec![("reason", "concurrency_limit".into())],
                        );
                    })?,
            )
        }
        None => None,
    };
    Ok(Permit {
        _slot: permit,
        _key: key_permit,
    })
}

/// Both admission permits, held until the answer ends: the server's slot and the key's
/// generation slot.
pub(crate) struct Permit {
    _slot: OwnedSemaphorePermit,
    _key: Option<OwnedSemaphorePermit>,
}

/// Triage and consent from the request, with the key's defaults.
fn resolve_care(principal: &Principal, job: &ChatJob) -> Result<CareCtx, ApiError> {
    let c = &job.care;
    let triage = c.triage.unwrap_or(principal.settings.triage);
    if triage && c.session_id.is_none() {
        return Err(ApiError::invalid(
            "medserve.session_id",
            "a triage session needs `medserve.session_id`",
        ));
    }
    if !triage && c.session_id.is_some() {
        return Err(ApiError::invalid(
            "medserve.session_id",
            "`medserve.session_id` is only used by triage sessions (`medserve.triage: true`)",
        ));
    }
    if !triage && c.end_session {
        return Err(ApiError::invalid(
            "medserve.end_session",
            "`medserve.end_session` ends a triage session; this is not one",
        ));
    }
    let consent = c.consent.unwrap_or(principal.settings.consent);
    Ok(CareCtx {
        triage,
        session_id: c.session_id.clone(),
        owner: principal.actor.key_id.clone(),
        end_session: c.end_session,
        consent,
        // The conversation is kept (in memory) only when a report or record may need it.
        messages: if triage || consent {
            job.messages.clone()
        } else {
            Vec::new()
        },
        vitals: job.vitals.clone(),
    })
}

/// An answer written by the server, not the model (no tokens were processed: usage is 0),
/// as JSON or as a normal stream with `medserve` on the final chunk.
async fn fixed_answer(
    state: &AppState,
    meta: Meta,
    text: String,
    job: &ChatJob,
) -> Result<Response, ApiError> {
    let events = answer::produce(
        state.clone(),
        turns::fixed(text),
        meta.clone(),
        answer::Output {
            guard: None,
            permit: None,
        },
    );
    if job.stream {
        Ok(answer::sse(state, events, meta, job.include_usage, false))
    } else {
        answer::json(events, &meta, false).await
    }
}

/// The fixed "no vetted information" answer of verbatim grounding (no model runs), counted
/// in the metrics and, as a verdict, in the response and the training record.
async fn no_vetted_answer(
    state: &AppState,
    mut meta: Meta,
    best_similarity: f32,
    job: &ChatJob,
) -> Result<Response, ApiError> {
    if let Some(f) = meta.retrieval.as_mut() {
        f.chunks.clear();
    }
    meta.hits.clear();
    meta.no_vetted = true;
    meta.verdicts.push(Verdict {
        stage: medserve_guardrails::input::Stage::Retrieval,
        class: "no_vetted_information".into(),
        action: "fixed_answer".into(),
        evidence: vec![format!("best passage similarity {best_similarity:.2}")],
    });
    state
        .metrics()
        .inc("medserve_no_vetted_information_total", vec![]);
    fixed_answer(state, meta, grounding::NO_VETTED_INFORMATION.into(), job).await
}

/// What the answer so far has gathered besides its text.
#[derive(Default)]
struct Gathered {
    /// Verdicts made during the turns (dropped calls, stripped tool results).
    verdicts: Vec<Verdict>,
    /// Built-in tools run.
    tool_runs: Vec<ToolRun>,
    /// Calls for the client.
    calls: Vec<ToolCall>,
    /// A tool result raised an emergency: the fixed text ends the answer.
    emergency: Option<String>,
}

impl Gathered {
    /// Keeps a piece that is neither text nor the end (both writers use this).
    fn keep(&mut self, meta: &mut Meta, piece: Piece) {
        match piece {
            Piece::Verdict(v) => self.verdicts.push(v),
            Piece::ToolRun(r) => self.tool_runs.push(r),
            Piece::Calls(c) => self.calls = c,
            Piece::Emergency { red_flag, text } => {
                meta.red_flag = Some(red_flag);
                self.emergency = Some(text);
            }
            Piece::Text { .. } | Piece::Done { .. } => {}
        }
    }

    /// Output verdicts for `medserve.guardrails`: the turns', then the policy's.
    fn output_verdicts(&self, guard: Option<&OutputGuard>) -> Vec<Verdict> {
        let mut v = self.verdicts.clone();
        v.extend(guard.map(OutputGuard::verdicts).unwrap_or_default());
        v
    }
}
