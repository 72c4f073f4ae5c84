//! What happens to a finished exchange before the response that reports it is sent:
//! the triage report (PAR) when a red flag fired or the session ended, and the
//! de-identified training record when the patient consented. Both are durable (committed
//! to disk) when the client reads their ids in `medserve.assessment` and
//! `medserve.training`.

use medserve_guardrails::input::{RedFlag, Verdict};
use medserve_guardrails::policy::Audience;
use medserve_guardrails::vitals::Vitals;
use medserve_models::ChatMessage;

use crate::app::AppState;
use crate::care::triage::{self, ReportInput, Trigger};
use crate::openai::{AssessmentFacts, AssessmentRef, TrainingFacts};
use crate::toolcall::ToolCall;
use crate::toolcall::ToolRun;

/// The care settings of one request, resolved from the request and the key.
#[derive(Debug, Clone, Default)]
pub struct CareCtx {
    /// Triage session (`medserve.triage` or the key's default).
    pub triage: bool,
    /// `medserve.session_id`.
    pub session_id: Option<String>,
    /// The key that sends this session (`open` in open mode): a session belongs to it.
    pub owner: String,
    /// `medserve.end_session`.
    pub end_session: bool,
    /// `medserve.consent` or the key's default.
    pub consent: bool,
    /// The conversation as sent (kept in memory only).
    pub messages: Vec<ChatMessage>,
    /// `medserve.vitals`.
    pub vitals: Option<Vitals>,
}

/// What the answer was.
pub struct Answer<'a> {
    /// Text the client received.
    pub text: &'a str,
    /// Calls the client received.
    pub calls: &'a [ToolCall],
    /// `finish_reason` sent.
    pub finish_reason: &'a str,
    /// Fixed text from the rules (`true`) or the model's.
    pub rule: bool,
    /// The red flag, if one fired.
    pub red_flag: Option<&'a RedFlag>,
    /// Every verdict.
    pub verdicts: &'a [Verdict],
    /// Built-in tool runs.
    pub tool_runs: &'a [ToolRun],
    /// Retrieval chunk ids in the prompt.
    pub retrieval_ids: Vec<String>,
    /// Output-policy audience.
    pub audience: Audience,
}

/// Stores the report and the training record; never fails the answer (a store failure is
/// logged and reported as not recorded).
pub async fn finish(
    state: &AppState,
    ctx: &CareCtx,
    answer: Answer<'_>,
) -> (Option<AssessmentFacts>, TrainingFacts) {
    let trigger = if answer.red_flag.is_some() {
        Some(Trigger::RedFlag)
    } else if ctx.end_session {
        Some(Trigger::SessionEnd)
    } else {
        None
    };
    let mut assessment = None;
    if let (true, Some(session), Some(trigger)) = (ctx.triage, &ctx.session_id, trigger) {
        let mut new = triage::build_report(&ReportInput {
            session_id: session,
            owner: &ctx.owner,
            messages: &ctx.messages,
            vitals: ctx.vitals.as_ref(),
            red_flag: answer.red_flag,
            trigger,
        });
        // A place in the summary queue is taken before the report is stored, so the
        // stored status is true: pending (the model will write it), skipped or unavailable.
        let slot = match state.engine_if_ready() {
            None => {
                new.report["summary_status"] = "unavailable".into();
                None
            }
            Some(_) => match state.summaries().clone().try_reserve_owned() {
                Ok(slot) => Some(slot),
                Err(_) => {
                    new.report["summary_status"] = "skipped".into();
                    None
                }
            },
        };
        // Storing and queueing run in their own task: a client that disconnects meanwhile
        // cannot leave a stored report without its summary job.
        let st = state.clone();
        let messages = ctx.messages.clone();
        let saved = tokio::spawn(async move {
            let a = crate::store::blocking(st.store(), move |s| s.save_assessment(new)).await?;
            if let Some(slot) = slot {
                slot.send(triage::SummaryJob {
                    assessment_id: a.id.clone(),
                    messages,
                });
            }
            Ok::<_, crate::error::ApiError>(a)
        })
        .await;
        assessment = Some(match saved {
            Ok(Ok(a)) => AssessmentFacts::Stored(AssessmentRef {
                id: a.id,
                version: a.version,
                urgency: a.urgency,
                disposition: a.disposition,
            }),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "assessment report not stored");
                not_stored(state, "assessment")
            }
            Err(e) => {
                tracing::error!(error = %e, "assessment report task failed");
                not_stored(state, "assessment")
            }
        });
    }
    if !ctx.consent {
        return (
            assessment,
            TrainingFacts {
                reason: Some("no_consent"),
                ..Default::default()
            },
        );
    }
    let model = state
        .engine_if_ready()
        .map(|e| (e.info().id.clone(), e.info().sha256.clone()))
        .unwrap_or_default();
    let rec = crate::care::training::record(&crate::care::training::Exchange {
        messages: &ctx.messages,
        answer: answer.text,
        client_calls: answer.calls,
        answer_source: if answer.rule { "rule" } else { "model" },
        finish_reason: answer.finish_reason,
        audience: answer.audience,
        verdicts: answer.verdicts,
        tool_runs: answer.tool_runs,
        retrieval_ids: answer.retrieval_ids,
        model,
        detectors: crate::chat::guard::ids(&state.settings().guard),
        assessment_id: match &assessment {
            Some(AssessmentFacts::Stored(a)) => Some(a.id.clone()),
            _ => None,
        },
    });
    let id = rec.id.clone();
    let training =
        match crate::store::blocking(state.store(), move |s| s.insert_training(&rec)).await {
            Ok(()) => TrainingFacts {
                recorded: true,
                id: Some(id),
                reason: None,
            },
            Err(e) => {
                tracing::error!(error = %e, "training record not stored");
                state.metrics().inc(
                    "medserve_store_failures_total",
                    vec![("record", "training".into())],
                );
                TrainingFacts {
                    reason: Some("store_unavailable"),
                    ..Default::default()
                }
            }
        };
    (assessment, training)
}

/// Counts a report that was due but not stored, and says so to the client.
fn not_stored(state: &AppState, record: &'static str) -> AssessmentFacts {
    state.metrics().inc(
        "medserve_store_failures_total",
        vec![("record", record.into())],
    );
    AssessmentFacts::NotStored {
        stored: false,
        reason: "store_unavailable",
    }
}
