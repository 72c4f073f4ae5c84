//! Preliminary assessment reports (PAR) for triage sessions.
//!
//! Every structured field comes from deterministic rules: the chief complaint and
//! symptoms (with onset and duration) from a lexicon over the patient's messages, red
//! flags from the red-flag detector, scores from the NEWS2 and qSOFA tools when vitals
//! were given, urgency from fixed thresholds, and the disposition from the urgency. The
//! model only writes the free-text summary, through constrained JSON, after the report is
//! stored. Every text field is de-identified before it is written; the transcript itself
//! is referenced by session, message count and SHA-256, never stored.

use std::sync::{Arc, LazyLock};

use futures::StreamExt;
use medserve_guardrails::input::RedFlag;
use medserve_guardrails::phi;
use medserve_guardrails::red_flags;
use medserve_guardrails::vitals::{self, Vitals};
use medserve_models::{ChatMessage, Engine, Event, GenerateRequest, Grammar, Role, Sampling};
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::care::model::{Disposition, NewAssessment, Urgency};

/// Version of the report layout (in every report).
pub const REPORT_VERSION: &str = "par-v1";

/// One symptom found in the patient's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symptom {
    /// Canonical name, e.g. `chest pain`.
    pub name: String,
    /// `sudden`, `gradual`, or a de-identified phrase such as `since yesterday`.
    pub onset: Option<String>,
    /// E.g. `3 days`.
    pub duration: Option<String>,
}

/// Why the report exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A red flag fired.
    RedFlag,
    /// The client ended the session (`medserve.end_session`).
    SessionEnd,
}

/// The inputs of a report.
pub struct ReportInput<'a> {
    /// Session id.
    pub session_id: &'a str,
    /// The key the session belongs to.
    pub owner: &'a str,
    /// The conversation as sent (raw: only hashed and de-identified here).
    pub messages: &'a [ChatMessage],
    /// Vitals from the request.
    pub vitals: Option<&'a Vitals>,
    /// The red flag of this request, if it fired.
    pub red_flag: Option<&'a RedFlag>,
    /// What triggered the report.
    pub trigger: Trigger,
}

const SYMPTOMS: &[(&str, &str)] = &[
    (
        "chest pain",
        r"chest (?:pain|tightness|pressure)|pain in (?:my|the) chest",
    ),
    (
        "shortness of breath",
        r"short(?:ness)? of breath|breathless|can'?t breathe|difficulty breathing|trouble breathing",
    ),
    ("headache", r"headaches?|migraines?"),
    (
        "fever",
        r"fevers?|temperature of|high temperature|feverish|pyrexi\w*",
    ),
    ("cough", r"cough(?:s|ing)?"),
    ("sore throat", r"sore throat|throat (?:is )?(?:sore|pain)"),
    (
        "abdominal pain",
        r"(?:abdominal|stomach|belly|tummy) (?:pain|ache|cramps?)|stomach ?ache|pain in (?:my|the) (?:stomach|abdomen|belly)",
    ),
    ("nausea", r"nause\w*|feel(?:ing)? sick"),
    ("vomiting", r"vomit\w*|throwing up|threw up"),
    ("diarrhoea", r"diarrh\w*|loose stools?"),
    ("dizziness", r"dizz\w*|light-?headed\w*|vertigo"),
    ("fainting", r"faint(?:ed|ing)?|passed out|blacked out"),
    (
        "palpitations",
        r"palpitations?|heart (?:is )?(?:racing|pounding|fluttering)",
    ),
    ("rash", r"rash(?:es)?|hives"),
    ("back pain", r"back (?:pain|ache)|backache"),
    ("fatigue", r"fatigue|tired(?:ness)?|exhaust\w*|no energy"),
    (
        "joint pain",
        r"joint (?:pain|ache)s?|(?:knee|hip|shoulder|ankle|wrist) (?:pain|is swollen)",
    ),
    (
        "leg swelling",
        r"(?:leg|ankle|calf) (?:swelling|is swollen|swollen)|swollen (?:leg|ankle|calf)",
    ),
    (
        "urinary symptoms",
        r"burning (?:when|on) (?:i )?(?:pee|urinat\w*)|pain(?:ful)? (?:when )?urinat\w*|peeing (?:a lot|often)",
    ),
    ("confusion", r"confus\w*|disorient\w*"),
    ("weakness", r"weak(?:ness)?|numb(?:ness)?"),
    ("bleeding", r"bleed(?:ing)?|blood in"),
    ("ear pain", r"ear ?ache|ear pain|pain in (?:my|the) ear"),
    ("runny nose", r"runny nose|blocked nose|congest\w*"),
    (
        "low mood",
        r"low mood|depress\w*|feel(?:ing)? (?:down|hopeless)",
    ),
    ("anxiety", r"anxi\w*|panic attacks?"),
    ("insomnia", r"can'?t sleep|insomnia|trouble sleeping"),
    ("wheezing", r"wheez\w*"),
];

const NUMBER: &str = r"\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|a couple of|several";

static SYMPTOM_RES: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    SYMPTOMS
        .iter()
        .map(|(name, re)| {
            let re = Regex::new(&format!(r"(?i)\b(?:{re})\b"))
                .unwrap_or_else(|e| panic!("symptom pattern {name}: {e}"));
            (*name, re)
        })
        .collect()
});

static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?:for|over|during)\s+(?:the\s+)?(?:past\s+|last\s+)?(?P<n>{NUMBER})\s+(?P<u>minute|hour|day|week|month|year)s?\b"
    ))
    .unwrap_or_else(|e| panic!("duration pattern: {e}"))
});

static ONSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)\b(?P<kind>sudden(?:ly)?|abrupt(?:ly)?|gradual(?:ly)?|out of nowhere)\b|\b(?P<since>(?:since|started|began|starting)\s+(?:yesterday|today|this morning|this afternoon|this evening|last night|tonight|last week|(?:on\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|(?:{NUMBER})\s+(?:minute|hour|day|week|month)s?\s+ago))\b"
    ))
    .unwrap_or_else(|e| panic!("onset pattern: {e}"))
});

/// Splits text into sentences (with their byte ranges).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(['.', '!', '?', '\n', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Symptoms in the patient's messages, each with the onset and duration stated in the
/// same sentence (first mention wins).
pub fn extract_symptoms(user_texts: &[&str]) -> Vec<Symptom> {
    let mut out: Vec<Symptom> = Vec::new();
    for text in user_texts {
        for sentence in sentences(text) {
            let duration = DURATION.captures(sentence).map(|c| {
                let n = c.name("n").map_or("", |m| m.as_str()).to_lowercase();
                let u = c.name("u").map_or("", |m| m.as_str()).to_lowercase();
                let plural = !matches!(n.as_str(), "1" | "a" | "an" | "one");
                format!("{n} {u}{}", if plural { "s" } else { "" })
            });
            let onset = ONSET.captures(sentence).map(|c| {
                if let Some(k) = c.name("kind") {
                    let k = k.as_str().to_lowercase();
                    if k.starts_with("gradual") {
                        "gradual".to_string()
                    } else {
                        "sudden".to_string()
                    }
                } else {
                    phi::redact(&c.name("since").map_or("", |m| m.as_str()).to_lowercase())
                }
            });
            for (name, re) in SYMPTOM_RES.iter() {
                if !re.is_match(sentence) {
                    continue;
                }
                match out.iter_mut().find(|s| s.name == *name) {
                    Some(s) => {
                        if s.onset.is_none() {
                            s.onset = onset.clone();
                        }
                        if s.duration.is_none() {
                            s.duration = duration.clone();
                        }
                    }
                    None => out.push(Symptom {
                        name: name.to_string(),
                        onset: onset.clone(),
                        duration: duration.clone(),
                    }),
                }
            }
        }
    }
    out
}

/// A revision of a session's report: the new report, keeping the clinical content of the
/// old one that the new one lacks. Red flags and symptoms are the union of both, scores
/// and the chief complaint are kept when the new report has none, and the urgency
/// reasons of both are listed. A later request can add to what a nurse reads, never take
/// away from it.
pub fn merge_reports(old: &Value, new: Value) -> Value {
    let mut out = new;
    for key in ["red_flags", "symptoms", "urgency_reasons"] {
        let mut items: Vec<Value> = old[key].as_array().cloned().unwrap_or_default();
        for v in out[key].as_array().cloned().unwrap_or_default() {
            if !items.contains(&v) {
                items.push(v);
            }
        }
        out[key] = Value::Array(items);
    }
    if let (Some(old_scores), Some(new_scores)) =
        (old["scores"].as_object(), out["scores"].as_object_mut())
    {
        for (k, v) in old_scores {
            if new_scores.get(k).is_none_or(Value::is_null) {
                new_scores.insert(k.clone(), v.clone());
            }
        }
    } else if out["scores"].is_null() {
        out["scores"] = old["scores"].clone();
    }
    if out["chief_complaint"].is_null() || out["chief_complaint"] == "" {
        out["chief_complaint"] = old["chief_complaint"].clone();
    }
    out
}

/// The report's structured part and the urgency and disposition it implies.
pub fn build_report(input: &ReportInput<'_>) -> NewAssessment {
    let user: Vec<&str> = input
        .messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| m.content.as_str())
        .collect();
    // Every text field comes from the de-identified messages: whole messages are redacted
    // first, so the rules that need context ("Mr. Okafor", "a.b@c.org") see it.
    let redacted: Vec<String> = user.iter().map(|t| phi::redact(t)).collect();
    let redacted_refs: Vec<&str> = redacted.iter().map(String::as_str).collect();
    // The chief complaint: the first sentence of the patient's that names a symptom (a
    // greeting is not a complaint), else their first sentence.
    let all_sentences: Vec<&str> = redacted_refs.iter().flat_map(|t| sentences(t)).collect();
    let chief = all_sentences
        .iter()
        .find(|s| SYMPTOM_RES.iter().any(|(_, re)| re.is_match(s)))
        .or(all_sentences.first())
        .map(|first| {
            let mut s: String = first.chars().take(200).collect();
            if first.chars().count() > 200 {
                s.push('…');
            }
            s
        })
        .unwrap_or_default();
    let symptoms = extract_symptoms(&redacted_refs);

    // Red flags over the whole conversation (the request's own, plus earlier turns'),
    // detected on the words as written. A matched phrase is kept only if it survives
    // de-identification unchanged.
    let mut flags: Vec<Value> = Vec::new();
    let mut push_flag = |category: &str, phrase: &str| {
        let phrase = if redacted.iter().any(|r| r.contains(phrase)) {
            phrase
        } else {
            "[REDACTED]"
        };
        if !flags
            .iter()
            .any(|f| f["category"] == category && f["matched"] == phrase)
        {
            flags.push(json!({"category": category, "matched": phrase}));
        }
    };
    for t in &user {
        for m in red_flags::detect(t).matched {
            push_flag(m.category.as_str(), &m.phrase);
        }
    }
    if let Some(rf) = input.red_flag {
        for (i, c) in rf.categories.iter().enumerate() {
            let matched = rf.matched.get(i).or(rf.matched.first()).map_or("", |s| s);
            push_flag(c, matched);
        }
    }

    let mut reasons: Vec<String> = Vec::new();
    let mut urgency = Urgency::Routine;
    if !flags.is_empty() {
        urgency = Urgency::Emergency;
        reasons.push("red flag present (any red flag forces emergency)".into());
    }
    let scores = input.vitals.and_then(|v| vitals::assess(v).ok()).map(|a| {
        let n = &a.news2;
        let news_total = n.total.unwrap_or(n.partial_total);
        if a.alarm.is_some() {
            urgency = Urgency::Emergency;
            reasons.extend(
                a.alarm
                    .as_ref()
                    .map(|al| al.reasons.clone())
                    .unwrap_or_default(),
            );
        } else if news_total >= 5 && urgency > Urgency::Urgent {
            // RCP NEWS2: an aggregate of 5-6 is the key threshold for an urgent response.
            urgency = Urgency::Urgent;
            reasons.push(format!("NEWS2 {news_total} (5-6: urgent clinical review)"));
        }
        json!({
            "news2": {
                "total": n.total,
                "partial_total": n.partial_total,
                "complete": n.complete,
                "missing": n.missing,
                "single_parameter_score_3": n.single_parameter_score_3,
                "risk": n.risk,
            },
            "qsofa": a.qsofa.as_ref().map(|q| json!({"score": q.score, "complete": q.complete})),
        })
    });
    if reasons.is_empty() {
        reasons.push("no red flag and no score above its threshold".into());
    }
    let disposition = match urgency {
        Urgency::Emergency => Disposition::EmergencyServices,
        Urgency::Urgent => Disposition::UrgentReview,
        Urgency::Routine => Disposition::PrimaryCare,
    };
    let transcript: Vec<Value> = input
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content}))
        .collect();
    let sha = hex::encode(Sha256::digest(
        serde_json::to_string(&transcript)
            .unwrap_or_default()
            .as_bytes(),
    ));
    NewAssessment {
        session_id: input.session_id.to_string(),
        owner: input.owner.to_string(),
        urgency,
        disposition,
        report: json!({
            "report_version": REPORT_VERSION,
            "trigger": input.trigger,
            "chief_complaint": chief,
            "symptoms": symptoms,
            "red_flags": flags,
            "scores": scores,
            "urgency": urgency,
            "urgency_reasons": reasons,
            "disposition": disposition,
            "transcript": {
                "session_id": input.session_id,
                "messages": input.messages.len(),
                "sha256": sha,
            },
            "summary": null,
            "summary_status": "pending",
        }),
    }
}

/// JSON schema of the model's only contribution.
pub fn summary_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"summary": {"type": "string", "minLength": 1, "maxLength": 300}},
        "required": ["summary"],
        "additionalProperties": false,
    })
}

/// Summaries waiting for the model at most; beyond it a report is stored with
/// `summary_status: "skipped"` (the structured fields never wait for the model).
pub const SUMMARY_QUEUE: usize = 64;

/// One report waiting for its summary.
#[derive(Debug)]
pub struct SummaryJob {
    /// Assessment.
    pub assessment_id: String,
    /// The conversation (in memory only).
    pub messages: Vec<ChatMessage>,
}

/// Asks the model for the free-text summary (constrained JSON, greedy) over the
/// de-identified patient messages; returns it de-identified (`None`: failed).
pub async fn fill_summary(engine: Arc<dyn Engine>, messages: Vec<ChatMessage>) -> Option<String> {
    let patient: Vec<String> = messages
        .iter()
        .filter(|m| m.role == Role::User)
        .map(|m| format!("- {}", phi::redact(&m.content)))
        .collect();
    let prompt = vec![
        ChatMessage::new(
            Role::System,
            "You write a short, factual summary of a patient's triage messages for the \
             nurse who reviews them. Report what the patient said. Do not diagnose. Answer \
             as JSON: {\"summary\": \"...\"}.",
        ),
        ChatMessage::new(
            Role::User,
            format!("Patient messages:\n{}", patient.join("\n")),
        ),
    ];
    let request = GenerateRequest {
        messages: prompt,
        sampling: Sampling {
            temperature: 0.0,
            max_tokens: Some(160),
            seed: Some(0),
            ..Sampling::default()
        },
        grammar: Some(Grammar::JsonSchema(summary_schema())),
    };
    let mut text = String::new();
    let mut ok = false;
    match engine.generate(request).await {
        Ok(mut events) => {
            while let Some(ev) = events.next().await {
                match ev {
                    Ok(Event::Delta { text: t, .. }) => text.push_str(&t),
                    Ok(Event::Done { .. }) => {
                        ok = true;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "assessment summary failed");
                        break;
                    }
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "assessment summary did not start"),
    }
    ok.then(|| serde_json::from_str::<Value>(&text).ok())
        .flatten()
        .and_then(|v| v["summary"].as_str().map(phi::redact))
        .filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(t: &str) -> ChatMessage {
        ChatMessage::new(Role::User, t)
    }

    #[test]
    fn symptoms_carry_onset_and_duration_from_their_sentence() {
        let s = extract_symptoms(&[
            "I've had a bad cough for 5 days and a fever since yesterday.",
            "The headache came on suddenly. Also my cough is worse at night.",
        ]);
        let get = |n: &str| s.iter().find(|x| x.name == n).cloned();
        assert_eq!(get("cough").unwrap().duration.as_deref(), Some("5 days"));
        assert_eq!(
            get("fever").unwrap().onset.as_deref(),
            Some("since yesterday")
        );
        assert_eq!(get("headache").unwrap().onset.as_deref(), Some("sudden"));
        assert!(get("rash").is_none());
    }

    #[test]
    fn any_red_flag_forces_emergency_and_text_is_deidentified() {
        let msgs = [
            user("Hi, my name is John Smith and I have had a headache for 2 days."),
            user("Now I have crushing chest pain spreading to my left arm."),
        ];
        let r = build_report(&ReportInput {
            session_id: "s1",
            owner: "k_test",
            messages: &msgs,
            vitals: None,
            red_flag: None,
            trigger: Trigger::SessionEnd,
        });
        assert_eq!(r.urgency, Urgency::Emergency);
        assert_eq!(r.disposition, Disposition::EmergencyServices);
        let text = r.report.to_string();
        assert!(!text.contains("John") && !text.contains("Smith"), "{text}");
        assert!(r.report["red_flags"][0]["category"].is_string());
        assert_eq!(r.report["transcript"]["messages"], 2);
        assert_eq!(r.report["transcript"]["sha256"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn context_rules_see_whole_messages_before_sentences_are_split() {
        let msgs = [user(
            "Mr. Okafor has had a cough for 4 days. Email john.smith@example.org please.",
        )];
        let r = build_report(&ReportInput {
            session_id: "s2",
            owner: "k_test",
            messages: &msgs,
            vitals: None,
            red_flag: None,
            trigger: Trigger::SessionEnd,
        });
        let text = r.report.to_string();
        assert!(
            !text.contains("Okafor") && !text.contains("smith"),
            "{text}"
        );
        assert_eq!(r.report["symptoms"][0]["duration"], "4 days");
    }

    #[test]
    fn news2_five_is_urgent_and_no_flag_is_routine() {
        let msgs = [user("I have a sore throat for 3 days.")];
        let base = ReportInput {
            owner: "k_test",
            session_id: "s",
            messages: &msgs,
            vitals: None,
            red_flag: None,
            trigger: Trigger::SessionEnd,
        };
        let r = build_report(&base);
        assert_eq!(
            (r.urgency, r.disposition),
            (Urgency::Routine, Disposition::PrimaryCare)
        );
        // RR 22 (2), SpO2 95 (1), temp 38.5 (1), pulse 105 (1): NEWS2 5, no single 3.
        let v = Vitals {
            respiratory_rate: Some(22.0),
            spo2_percent: Some(95.0),
            supplemental_oxygen: Some(false),
            systolic_bp_mmhg: Some(125.0),
            pulse_bpm: Some(105.0),
            consciousness: Some(medserve_tools::news2::Consciousness::Alert),
            temperature_c: Some(38.5),
            ..Default::default()
        };
        let r = build_report(&ReportInput {
            vitals: Some(&v),
            ..base
        });
        assert_eq!(r.report["scores"]["news2"]["total"], 5);
        assert_eq!(
            (r.urgency, r.disposition),
            (Urgency::Urgent, Disposition::UrgentReview)
        );
    }
}
