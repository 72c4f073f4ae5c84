//! How an answer rests on the vetted guideline passages: the grounding mode of a request,
//! the grammar of a verbatim answer (whole passage sentences only), sentence-level
//! attribution and citations, and the "no vetted information" answer.
//!
//! Attribution is lexical: an answer sentence is supported by a passage when most of its
//! content words occur in it ([`SUPPORT_MIN`]); a sentence copied from a passage scores 1.

use std::collections::HashSet;

use medserve_rag::Hit;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// `medserve.grounding`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroundingMode {
    /// The model writes the answer with the passages in its prompt.
    #[default]
    Generative,
    /// The answer is made only of whole sentences of the retrieved passages: decoding is
    /// constrained to them, the model chooses and orders.
    Verbatim,
}

/// The fixed answer when no passage is relevant enough to answer from.
pub const NO_VETTED_INFORMATION: &str = "I don't have vetted information on that, so I can't \
answer it reliably. Please ask a doctor, nurse or pharmacist, who can look at your situation. \
If you feel very unwell or think it could be an emergency, call your local emergency number.";

/// Least cosine similarity between the query and a passage for the passage to be answered
/// from in verbatim mode (the dense score of the hybrid search). Chosen with
/// `benches/grounding.py` on 35 labelled questions: the best passage of on-topic questions
/// scored 0.62–0.84, of off-topic ones 0.13–0.39; 0.50 is the middle of that gap.
pub const MIN_RELEVANCE: f32 = 0.50;

/// Least share of an answer sentence's content words found in a passage for the passage to
/// support it.
pub const SUPPORT_MIN: f32 = 0.6;

/// Most candidate sentences offered to the verbatim grammar.
const MAX_CANDIDATES: usize = 48;

/// Most sentences in a verbatim answer.
pub const MAX_VERBATIM_SENTENCES: usize = 4;

/// `medserve.grounding_report`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GroundingReport {
    /// The mode used.
    pub mode: GroundingMode,
    /// Sentences of the answer (the server's own fixed texts excluded).
    pub sentences: usize,
    /// Of these, sentences a passage supports (each has its own citation).
    pub supported: usize,
    /// The sentences no passage supports.
    pub unsupported: Vec<String>,
    /// No passage was relevant enough: the answer is the fixed "no vetted information" text.
    pub no_vetted_information: bool,
}

/// Byte ranges of the sentences of `text`: split after `.`, `!` or `?` followed by
/// whitespace, and at line ends; trimmed, list markers dropped, empty pieces skipped.
pub fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let bytes = text.as_bytes();
    let push = |s: usize, e: usize, out: &mut Vec<(usize, usize)>| {
        let piece = &text[s..e];
        let lead = piece.len() - piece.trim_start().len();
        let mut s = s + lead;
        let e = s + text[s..e].trim_end().len();
        // List markers: "- ", "* ", "• ", "1. ", "2) ".
        let t = &text[s..e];
        if let Some(rest) = t
            .strip_prefix("- ")
            .or_else(|| t.strip_prefix("* "))
            .or_else(|| t.strip_prefix("• "))
        {
            s = e - rest.len();
        } else {
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && digits < 3 && matches!(t.as_bytes().get(digits), Some(b'.' | b')')) {
                if t.as_bytes().get(digits + 1) == Some(&b' ') {
                    s += digits + 2;
                }
            }
        }
        if s < e {
            out.push((s, e));
        }
    };
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        let end_here = match b {
            b'\n' => Some(i),
            // Not after a list number ("2. See a GP").
            b'.' if {
                let before = text[start..i].trim();
                !before.is_empty() && before.len() < 3 && before.bytes().all(|c| c.is_ascii_digit())
            } =>
            {
                None
            }
            b'.' | b'!' | b'?' => bytes
                .get(i + 1)
                .is_none_or(|n| n.is_ascii_whitespace())
                .then_some(i + 1),
            _ => None,
        };
        if let Some(e) = end_here {
            push(start, e, &mut out);
            start = e;
        }
        i += 1;
    }
    if start < text.len() {
        push(start, text.len(), &mut out);
    }
    out
}

/// A passage sentence a verbatim answer may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The sentence, exactly as in the passage.
    pub text: String,
    /// Index of its passage in the hits.
    pub hit: usize,
}

/// The passages relevant enough to answer from (see [`MIN_RELEVANCE`]), best first.
pub fn relevant(hits: &[Hit]) -> Vec<Hit> {
    hits.iter()
        .filter(|h| h.dense_score.is_some_and(|s| s >= MIN_RELEVANCE))
        .cloned()
        .collect()
}

/// The sentences of `hits` a verbatim answer may use: whole sentences of 4 to 60 words,
/// each once, in passage order, at most [`MAX_CANDIDATES`].
pub fn candidates(hits: &[Hit]) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        for (s, e) in sentences(&h.text) {
            let t = &h.text[s..e];
            let words = t.split_whitespace().count();
            if !(4..=60).contains(&words) || t.ends_with(':') || !seen.insert(t.to_string()) {
                continue;
            }
            out.push(Candidate {
                text: t.to_string(),
                hit: i,
            });
            if out.len() == MAX_CANDIDATES {
                return out;
            }
        }
    }
    out
}

/// The llguidance Lark grammar of a verbatim answer: one to [`MAX_VERBATIM_SENTENCES`] of
/// the candidate sentences, separated by a space. `None` when there is no candidate.
pub fn verbatim_grammar(candidates: &[Candidate]) -> Option<String> {
    if candidates.is_empty() {
        return None;
    }
    let alternatives: Vec<String> = candidates
        .iter()
        .map(|c| serde_json::to_string(&c.text).unwrap_or_else(|_| "\"\"".into()))
        .collect();
    Some(format!(
        "start: sentence (\" \" sentence){{0,{}}}\nsentence: {}\n",
        MAX_VERBATIM_SENTENCES - 1,
        alternatives.join("\n    | ")
    ))
}

/// Lower-case words of at least three letters, minus common function words.
fn content_words(text: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "the", "and", "for", "are", "but", "not", "you", "your", "with", "this", "that", "can",
        "may", "from", "have", "has", "had", "was", "were", "will", "would", "should", "could",
        "their", "they", "them", "its", "any", "all", "more", "most", "than", "then", "there",
        "these", "those", "what", "when", "which", "who", "how", "why", "into", "out", "about",
        "also", "some", "such", "very", "just", "been", "being", "does", "did", "our", "his",
        "her", "she", "him", "one",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()))
        .collect()
}

/// The share of `sentence`'s content words found in `passage` (1 when it is copied whole);
/// `None` for a sentence of fewer than three content words (too short to judge).
pub fn support(sentence: &str, passage: &str) -> Option<f32> {
    if passage.contains(sentence) {
        return Some(1.0);
    }
    let words = content_words(sentence);
    if words.len() < 3 {
        return None;
    }
    let have: HashSet<String> = content_words(passage).into_iter().collect();
    let found = words.iter().filter(|w| have.contains(*w)).count();
    Some(found as f32 / words.len() as f32)
}

/// Texts the server itself adds to answers (never attributed, never "unsupported").
fn is_server_text(sentence: &str) -> bool {
    use medserve_guardrails::policy as p;
    [
        p::DISCLAIMER,
        p::BLOCK_MESSAGE,
        p::DOSING_TEMPLATE,
        p::MEDICATION_CHANGE_TEMPLATE,
        p::DIAGNOSIS_FALLBACK,
        NO_VETTED_INFORMATION,
    ]
    .iter()
    .any(|t| t.contains(sentence))
}

/// The citation title of a passage: document title, heading path, and its last review.
fn title(h: &Hit) -> String {
    let mut t = if h.heading.is_empty() {
        h.title.clone()
    } else {
        format!("{} > {}", h.title, h.heading.join(" > "))
    };
    if let Some(date) = &h.last_reviewed {
        t.push_str(&format!(" (last reviewed {date})"));
    }
    t
}

/// Sentence-level `url_citation` annotations for `content` (character indices, as OpenAI)
/// and the grounding report: each answer sentence is cited to the passage that supports it
/// best, if any does.
pub fn annotations(hits: &[Hit], content: &str, mode: GroundingMode) -> (Value, GroundingReport) {
    let mut report = GroundingReport {
        mode,
        ..GroundingReport::default()
    };
    let mut out = Vec::new();
    for (s, e) in sentences(content) {
        let sentence = &content[s..e];
        if is_server_text(sentence) {
            continue;
        }
        report.sentences += 1;
        let best = hits
            .iter()
            .enumerate()
            .filter_map(|(i, h)| support(sentence, &h.text).map(|x| (i, x)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, score)) if score >= SUPPORT_MIN => {
                report.supported += 1;
                let h = &hits[i];
                let start = content[..s].chars().count();
                let end = start + sentence.chars().count();
                out.push(json!({"type": "url_citation", "url_citation": {
                    "url": h.url, "title": title(h), "start_index": start, "end_index": end,
                }}));
            }
            _ => report.unsupported.push(sentence.to_string()),
        }
    }
    (Value::Array(out), report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str, score: f32) -> Hit {
        Hit {
            chunk_id: "doc#0".into(),
            doc_id: "doc".into(),
            title: "Doc".into(),
            url: "corpus://doc#0".into(),
            heading: vec!["Part".into()],
            text: text.into(),
            dense_rank: Some(1),
            dense_score: Some(score),
            lexical_rank: None,
            lexical_score: None,
            fused_score: 0.03,
            last_reviewed: Some("2026-11-22".into()),
            reviewed_by: None,
        }
    }

    #[test]
    fn sentences_split_at_ends_lines_and_list_markers() {
        let t = "Drink water. Rest well!\n- Take paracetamol if needed\n2. See a GP in 3.5 days?";
        let got: Vec<&str> = sentences(t).into_iter().map(|(s, e)| &t[s..e]).collect();
        assert_eq!(
            got,
            vec![
                "Drink water.",
                "Rest well!",
                "Take paracetamol if needed",
                "See a GP in 3.5 days?"
            ]
        );
    }

    #[test]
    fn the_verbatim_grammar_offers_each_sentence_once_escaped() {
        let hits = vec![hit(
            "A normal blood pressure is below 120/80 mmHg. Say \"stop\" if it hurts. Short.",
            0.7,
        )];
        let c = candidates(&hits);
        assert_eq!(c.len(), 2, "{c:?}");
        let g = verbatim_grammar(&c).unwrap();
        assert!(g.contains(r#""Say \"stop\" if it hurts.""#), "{g}");
        assert!(
            g.starts_with("start: sentence (\" \" sentence){0,3}"),
            "{g}"
        );
        assert_eq!(verbatim_grammar(&[]), None);
    }

    #[test]
    fn sentences_are_cited_to_their_passage_with_exact_indices() {
        let hits = vec![
            hit("Asthma attacks need a reliever inhaler straight away.", 0.6),
            hit("A normal blood pressure is below 120/80 mmHg.", 0.6),
        ];
        let content = format!(
            "Ünïcode first. A normal blood pressure is below 120/80 mmHg. Cats like fish sauce \
             on Tuesdays.\n\n{}",
            medserve_guardrails::policy::DISCLAIMER
        );
        let (a, r) = annotations(&hits, &content, GroundingMode::Generative);
        let a = a.as_array().unwrap();
        assert_eq!(a.len(), 1, "{a:?}");
        let c = &a[0]["url_citation"];
        let chars: Vec<char> = content.chars().collect();
        let cited: String = chars[c["start_index"].as_u64().unwrap() as usize
            ..c["end_index"].as_u64().unwrap() as usize]
            .iter()
            .collect();
        assert_eq!(cited, "A normal blood pressure is below 120/80 mmHg.");
        assert_eq!(c["title"], "Doc > Part (last reviewed 2026-11-22)");
        // "Ünïcode first." has too few content words to judge; the disclaimer is the
        // server's own text.
        assert_eq!(r.sentences, 3);
        assert_eq!(r.supported, 1);
        assert_eq!(
            r.unsupported,
            vec!["Ünïcode first.", "Cats like fish sauce on Tuesdays."]
        );
    }

    #[test]
    fn only_passages_above_the_relevance_floor_are_answered_from() {
        let hits = vec![hit("a", 0.8), hit("b", 0.1)];
        let r = relevant(&hits);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].text, "a");
    }
}
