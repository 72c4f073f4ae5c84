//! `POST /v1/chat/completions`: admission, context check, and the JSON or SSE answer.

use std::convert::Infallible;
use std::time::Instant;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use medserve_models::{Grammar, Role, TokenLogprob};
use serde_json::{json, Value};
use tokio::sync::OwnedSemaphorePermit;

use crate::auth::Principal;
use crate::error::ApiError;
use crate::exchange::{self, Answer, CareCtx};
use crate::guard;
use crate::metrics::{Metrics, TokenTimer};
use crate::openai::{
    ApiJson, ChatCompletionRequest, ChatJob, LogprobsBody, MedserveFacts, UsageBody,
};
use crate::output::{OutputGuard, Step};
use crate::retrieval::{self, RetrievalFacts};
use crate::toolcall::{self, FunctionTool, ToolCall, ToolSet};
use crate::turns::{self, Piece, PieceStream, ToolRun};
use crate::AppState;
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
                r.result = crate::output::screen_tool_result(self.audience, r.result);
                r
            })
            .collect();
        MedserveFacts {
            red_flag: self.red_flag.clone(),
            audience: self.audience,
            guardrails,
            retrieval: self.retrieval.clone(),
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
        let (assessment, training) = exchange::finish(
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
    let catalogue = crate::tools::catalogue(state);
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
            let hint = if name == crate::tools::GUIDELINE_SEARCH {
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
pub async fn chat_completions(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ChatCompletionRequest>,
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
    let mut job: ChatJob = crate::work::run("request validation", move || req.validate()).await??;
    job.audience = principal.audience(job.audience_requested)?;
    let care = resolve_care(&principal, &job)?;
    let tool_req = std::mem::take(&mut job.tools);
    let builtin = builtin_tools(&state, &tool_req.builtin)?;
    let tool_set: Option<ToolSet> = crate::work::run("tool grammar", move || {
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
        care,
    };
    let retrieval_plan = retrieval::plan(job.retrieval.as_ref(), state.retriever().is_some())?;

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
            return Ok(fixed_answer(&state, meta, text, &job).await);
        }
        Decision::Refuse { text } => {
            tracing::info!("input guardrail: fixed refusal");
            return Ok(fixed_answer(&state, meta, text, &job).await);
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
            let max = principal
                .settings
                .max_streams
                .unwrap_or(state.settings().limits.max_streams);
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
    let permit = Permit {
        _slot: permit,
        _key: key_permit,
    };

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
        if prompt + min_completion <= max_ctx || meta.hits.is_empty() {
            break (messages, prompt);
        }
        meta.hits.pop();
        if let Some(f) = meta.retrieval.as_mut() {
            f.chunks.truncate(meta.hits.len());
        }
    };
    let completion = match job.sampling.max_tokens {
        Some(m) => m,
        None => max_ctx.saturating_sub(prompt),
    };
    if prompt + completion.max(1) > max_ctx {
        return Err(medserve_models::Error::ContextLength {
            max: max_ctx,
            prompt,
            completion: if job.explicit_max_tokens {
                completion
            } else {
                1
            },
        }
        .into());
    }
    // With tools the budget covers every turn; without, it is this one turn's.
    job.sampling.max_tokens = Some(completion);

    let want_logprobs = job.sampling.logprobs;
    let structured = job.response_format.schema();
    let guard = if structured.is_some() {
        OutputGuard::structured(job.audience)
    } else {
        OutputGuard::new(job.audience, state.settings().holdback_chars)
    };
    tracing::debug!(
        prompt_tokens = prompt,
        max_tokens = completion,
        tools = tool_set.as_ref().map_or(0, |t| t.tools.len()),
        "generation started"
    );
    let pieces = turns::drive(turns::Plan {
        engine,
        messages,
        sampling: job.sampling,
        tools: tool_set,
        max_rounds: tool_req.max_rounds,
        grammar: structured.map(Grammar::JsonSchema),
        retriever: state.retriever().cloned(),
        emergency_numbers: state.settings().emergency_numbers.clone(),
        guard: state.settings().guard.clone(),
        audience: job.audience,
    });

    if job.stream {
        Ok(stream_response(
            state,
            pieces,
            meta,
            Some(permit),
            Output {
                guard: Some(guard),
                include_usage: job.include_usage,
                want_logprobs,
            },
        ))
    } else {
        let body = collect(pieces, meta, guard, want_logprobs, &state).await?;
        drop(permit);
        Ok(Json(body).into_response())
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

/// Both admission permits, held until the answer ends: the server's slot and the key's
/// generation slot.
struct Permit {
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
async fn fixed_answer(state: &AppState, meta: Meta, text: String, job: &ChatJob) -> Response {
    let usage = medserve_models::Usage::default();
    if !job.stream {
        let mut facts = meta.facts(None, Vec::new(), Vec::new());
        // The records are written by their own task. An emergency answer waits for them at
        // most EMERGENCY_STORE_WAIT: past it the answer goes out and the records follow
        // (a failure is counted in `medserve_store_failures_total`).
        let task = {
            let (state, meta, mut facts, text) =
                (state.clone(), meta.clone(), facts.clone(), text.clone());
            tokio::spawn(async move {
                meta.finish_care(&state, &mut facts, &text, &[], "stop", true)
                    .await;
                facts
            })
        };
        let wait = if meta.red_flag.is_some() {
            EMERGENCY_STORE_WAIT
        } else {
            std::time::Duration::from_secs(3600)
        };
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(stored)) => facts = stored,
            Ok(Err(e)) => tracing::error!(error = %e, "care record task failed"),
            Err(_) => {
                tracing::warn!("emergency answer sent before its records were stored");
                if meta.care.triage {
                    facts.assessment = Some(exchange::AssessmentFacts::NotStored {
                        stored: false,
                        reason: "pending",
                    });
                }
                facts.training.reason = Some("pending");
            }
        }
        record(state.metrics(), &facts, usage, &[]);
        let body = meta.completion(
            json!({
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": null, "annotations": []},
                "logprobs": null,
                "finish_reason": "stop",
            }),
            usage,
            facts,
        );
        return Json(body).into_response();
    }
    let output = Output {
        guard: None,
        include_usage: job.include_usage,
        want_logprobs: false,
    };
    stream_response(state.clone(), turns::fixed(text), meta, None, output)
}

/// Longest an emergency answer waits for its report and training record to be stored.
const EMERGENCY_STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

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

/// Runs a whole answer through the output guard: the same steps as a stream, so the
/// outcome (text, calls, verdicts, finish reason) is identical.
async fn collect(
    mut pieces: PieceStream,
    mut meta: Meta,
    mut guard: OutputGuard,
    want_logprobs: bool,
    state: &AppState,
) -> Result<Value, ApiError> {
    let metrics = state.metrics();
    let mut timer = TokenTimer::new(meta.started);
    let mut text = String::new();
    let mut logprobs: Vec<TokenLogprob> = Vec::new();
    let mut ttft = None;
    let mut got = Gathered::default();
    let mut blocked = false;
    let (finish_reason, usage) = loop {
        match pieces.next().await {
            Some(Ok(Piece::Text {
                text: t,
                logprobs: lp,
                usage,
            })) => {
                ttft.get_or_insert_with(Instant::now);
                timer.delta(metrics);
                logprobs.extend(lp);
                match guard.push(&t) {
                    Step::Emit(safe) => text.push_str(&safe),
                    Step::Blocked(safe) => {
                        // Dropping `pieces` (on return) stops the generation.
                        text.push_str(&safe);
                        blocked = true;
                        break ("content_filter", usage);
                    }
                }
            }
            Some(Ok(Piece::Done {
                finish_reason,
                usage,
            })) => {
                let ends_turn = !got.calls.is_empty() || got.emergency.is_some();
                let step = if ends_turn {
                    guard.finish_without_disclaimer()
                } else {
                    guard.finish()
                };
                match step {
                    Step::Emit(rest) => text.push_str(&rest),
                    // The last sentence is only classified at the end: it can still be
                    // blocked.
                    Step::Blocked(safe) => {
                        text.push_str(&safe);
                        blocked = true;
                        break ("content_filter", usage);
                    }
                }
                if let Some(e) = got.emergency.take() {
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    text.push_str(&e);
                    break ("stop", usage);
                }
                break (finish_reason.as_str(), usage);
            }
            // The rest (verdicts, tool runs, calls, an emergency) is kept for the end.
            Some(Ok(p)) => got.keep(&mut meta, p),
            Some(Err(e)) => return Err(e),
            None => {
                return Err(ApiError::Internal(
                    "generation ended without a finish event".into(),
                ))
            }
        }
    };
    if blocked {
        got.calls.clear();
    }
    let tool_calls: Option<Vec<Value>> =
        (!got.calls.is_empty()).then(|| got.calls.iter().map(ToolCall::to_openai).collect());
    let content = if text.is_empty() && tool_calls.is_some() {
        Value::Null
    } else {
        Value::String(text.clone())
    };
    let mut message = json!({
        "role": "assistant",
        "content": content,
        "refusal": null,
        "annotations": if finish_reason == "content_filter" {
            json!([])
        } else {
            retrieval::annotations(&meta.hits, &text)
        },
    });
    if let Some(calls) = tool_calls {
        message["tool_calls"] = Value::Array(calls);
    }
    let choice = json!({
        "index": 0,
        "message": message,
        // Token logprobs describe the model's text: withheld when the policy changed it.
        "logprobs": want_logprobs.then(|| LogprobsBody {
            content: if guard.changed_text() { Vec::new() } else { logprobs },
            refusal: None,
        }),
        "finish_reason": finish_reason,
    });
    let verdicts = got.output_verdicts(Some(&guard));
    let tool_runs = std::mem::take(&mut got.tool_runs);
    let mut facts = meta.facts(ttft, verdicts, tool_runs);
    meta.finish_care(state, &mut facts, &text, &got.calls, finish_reason, false)
        .await;
    record(metrics, &facts, usage, &got.calls);
    Ok(meta.completion(choice, usage, facts))
}

fn data(v: &Value) -> SseEvent {
    SseEvent::default().data(v.to_string())
}

/// How a stream's model output is post-processed.
struct Output {
    /// The output policy (`None` for text the server wrote itself).
    guard: Option<OutputGuard>,
    include_usage: bool,
    want_logprobs: bool,
}

/// The SSE deltas of client tool calls: the first fragment of each call carries `index`,
/// `id`, `type` and `name`; the arguments follow in a second fragment.
fn call_deltas(calls: &[ToolCall]) -> Vec<Value> {
    let mut out = Vec::with_capacity(calls.len() * 2);
    for (i, c) in calls.iter().enumerate() {
        out.push(
            json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
            "function": {"name": c.name, "arguments": ""}}]}),
        );
        out.push(json!({"tool_calls": [{"index": i, "function": {"arguments": c.arguments}}]}));
    }
    out
}

fn stream_response(
    state: AppState,
    pieces: PieceStream,
    mut meta: Meta,
    permit: Option<Permit>,
    output: Output,
) -> Response {
    let keep_alive = state.settings().keep_alive;
    let Output {
        mut guard,
        include_usage,
        want_logprobs,
    } = output;
    let with_usage = move |mut v: Value| {
        if include_usage {
            v["usage"] = Value::Null;
        }
        v
    };
    // The answer is produced by its own task, not by the client's reads: when the client
    // leaves (or stops reading past the listener's write timeout) the generation is
    // cancelled, and the answer still ends normally, so its care records are committed.
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut pieces = until_cancelled(pieces, cancel.clone());
    let cancelled = cancel.clone();
    let body = async_stream::stream! {
        // The permit lives as long as the stream: a dropped client frees its slot.
        let _permit = permit;
        let mut ttft = None;
        // Logprobs of tokens whose text is still held back by the output guard.
        let mut pending_lp: Vec<TokenLogprob> = Vec::new();
        // Characters of content sent, for the citations' `end_index`.
        let mut sent_chars = 0usize;
        // The text sent, for the training record.
        let mut sent = String::new();
        let mut got = Gathered::default();
        let mut timer = TokenTimer::new(meta.started);
        let mut last_usage = medserve_models::Usage::default();
        yield Ok::<_, Infallible>(data(&with_usage(meta.chunk(json!([{
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": null},
            "logprobs": null,
            "finish_reason": null,
        }])))));
        let delta_chunk = |delta: Value, lp: Vec<TokenLogprob>, meta: &Meta| {
            let lp = want_logprobs.then(|| LogprobsBody { content: lp, refusal: None });
            data(&with_usage(meta.chunk(json!([{
                "index": 0,
                "delta": delta,
                "logprobs": lp,
                "finish_reason": null,
            }]))))
        };
        let end: Option<(&str, medserve_models::Usage)> = loop {
            match pieces.next().await {
                Some(Ok(Piece::Text { text, logprobs, usage })) => {
                    last_usage = usage;
                    if guard.is_some() {
                        // Only model text has a first token; fixed answers report `null`.
                        ttft.get_or_insert_with(Instant::now);
                        timer.delta(state.metrics());
                    }
                    pending_lp.extend(logprobs);
                    let step = match guard.as_mut() {
                        Some(g) => g.push(&text),
                        None => Step::Emit(text),
                    };
                    match step {
                        Step::Emit(safe) => {
                            if !safe.is_empty() {
                                sent_chars += safe.chars().count();
                                sent.push_str(&safe);
                                // Logprobs wait for the end: held-back text is unchecked.
                                yield Ok(delta_chunk(json!({"content": safe}), Vec::new(), &meta));
                            }
                        }
                        Step::Blocked(safe) => {
                            if !safe.is_empty() {
                                sent_chars += safe.chars().count();
                                sent.push_str(&safe);
                                yield Ok(delta_chunk(json!({"content": safe}), Vec::new(), &meta));
                            }
                            // Dropping the pieces stream stops the generation.
                            break Some(("content_filter", usage));
                        }
                    }
                }
                Some(Ok(Piece::Done { finish_reason, usage })) => {
                    let ends_turn = !got.calls.is_empty() || got.emergency.is_some();
                    let step = match guard.as_mut() {
                        Some(g) if ends_turn => g.finish_without_disclaimer(),
                        Some(g) => g.finish(),
                        None => Step::Emit(String::new()),
                    };
                    // Every token's text has now been checked; its logprobs go out unless
                    // the policy changed the text.
                    let lp = if guard.as_ref().is_some_and(OutputGuard::changed_text) {
                        Vec::new()
                    } else {
                        std::mem::take(&mut pending_lp)
                    };
                    let (rest, reason) = match step {
                        Step::Emit(rest) => (rest, finish_reason.as_str()),
                        Step::Blocked(safe) => {
                            got.calls.clear();
                            got.emergency = None;
                            (safe, "content_filter")
                        }
                    };
                    if !rest.is_empty() || !lp.is_empty() {
                        sent_chars += rest.chars().count();
                        sent.push_str(&rest);
                        yield Ok(delta_chunk(json!({"content": rest}), lp, &meta));
                    }
                    if let Some(e) = got.emergency.take() {
                        let e = if sent_chars > 0 { format!("\n\n{e}") } else { e };
                        sent_chars += e.chars().count();
                        sent.push_str(&e);
                        yield Ok(delta_chunk(json!({"content": e}), Vec::new(), &meta));
                        break Some(("stop", usage));
                    }
                    for d in call_deltas(&got.calls) {
                        yield Ok(delta_chunk(d, Vec::new(), &meta));
                    }
                    break Some((reason, usage));
                }
                // The rest (verdicts, tool runs, calls, an emergency) is kept for the end.
                Some(Ok(p)) => got.keep(&mut meta, p),
                Some(Err(err)) => {
                    yield Ok(data(&serde_json::to_value(err.body()).unwrap_or(Value::Null)));
                    break None;
                }
                None if cancelled.is_cancelled() => break Some(("cancelled", last_usage)),
                None => {
                    let err = ApiError::Internal("generation ended without a finish event".into());
                    yield Ok(data(&serde_json::to_value(err.body()).unwrap_or(Value::Null)));
                    break None;
                }
            }
        };
        drop(pieces);
        if let Some((finish_reason, usage)) = end {
            // Citations ride on the final chunk (none for a blocked answer).
            let delta = if meta.hits.is_empty() || finish_reason == "content_filter" {
                json!({})
            } else {
                let annotations = retrieval::annotations(&meta.hits, "");
                let annotations: Vec<Value> = annotations
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let mut a = a.clone();
                        a["url_citation"]["end_index"] = json!(sent_chars);
                        a
                    })
                    .collect();
                json!({"annotations": annotations})
            };
            let mut last = with_usage(meta.chunk(json!([{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish_reason,
            }])));
            let verdicts = got.output_verdicts(guard.as_ref());
            let runs = std::mem::take(&mut got.tool_runs);
            let mut facts = meta.facts(ttft, verdicts, runs);
            meta.finish_care(&state, &mut facts, &sent, &got.calls, finish_reason, guard.is_none())
                .await;
            record(state.metrics(), &facts, usage, &got.calls);
            last["medserve"] = serde_json::to_value(facts).unwrap_or(Value::Null);
            yield Ok(data(&last));
            if include_usage {
                let mut u = meta.chunk(json!([]));
                u["usage"] = serde_json::to_value(UsageBody::from(usage)).unwrap_or(Value::Null);
                yield Ok(data(&u));
            }
        }
        yield Ok(SseEvent::default().data("[DONE]"));
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<SseEvent, Infallible>>(32);
    tokio::spawn(async move {
        let mut body = std::pin::pin!(body);
        while let Some(ev) = body.next().await {
            if !cancel.is_cancelled() && tx.send(ev).await.is_err() {
                cancel.cancel();
            }
        }
    });
    let mut resp = Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response();
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    resp
}
