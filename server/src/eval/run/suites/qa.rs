//! Question answering on PubMedQA's 500-question test split: each question asked twice,
//! with its abstract as context and without, greedy; the first `yes`, `no` or `maybe` in
//! the answer is the prediction (none: unparsed, counted wrong). Accuracy for both, by
//! gold label, and the majority-class baseline in the notes.

use std::collections::BTreeMap;

use regex::Regex;
use serde::Deserialize;

use super::Ctx;
use crate::eval::run::client::content;
use crate::eval::run::report::SuiteReport;
use crate::eval::run::stats::{Better, Figure};

const SYSTEM: &str =
    "You answer biomedical research questions. Reply with exactly one word: yes, no, or maybe.";

#[derive(Debug, Clone, Deserialize)]
struct Item {
    question: String,
    context: String,
    answer: String,
}

fn prompt(item: &Item, with_context: bool) -> String {
    if with_context {
        format!(
            "Abstract: {}\n\nQuestion: {}\nAnswer with one word (yes, no or maybe):",
            item.context, item.question
        )
    } else {
        format!(
            "Question: {}\nAnswer with one word (yes, no or maybe):",
            item.question
        )
    }
}

/// The first yes/no/maybe in `text`.
fn prediction(text: &str) -> Option<&'static str> {
    static RE: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"(?i)\b(yes|no|maybe)\b").expect("valid"));
    let m = RE.find(text)?;
    match m.as_str().to_lowercase().as_str() {
        "yes" => Some("yes"),
        "no" => Some("no"),
        _ => Some("maybe"),
    }
}

/// Runs the suite.
pub async fn run(ctx: &Ctx) -> anyhow::Result<SuiteReport> {
    let mut r = SuiteReport::ran("qa");
    let mut items: Vec<Item> = Vec::new();
    for spec in ctx.sets.of("qa") {
        let (rows, used) = ctx.sets.load::<Item>(&spec.name, ctx.limit, ctx.seed)?;
        items.extend(rows);
        r.sets.push(used);
    }
    let mut labels: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &items {
        *labels.entry(i.answer.as_str()).or_default() += 1;
    }
    if let Some((label, n)) = labels.iter().max_by_key(|(_, n)| **n) {
        r.notes.push(format!(
            "majority-class baseline: always \"{label}\" scores {:.3} ({n}/{})",
            *n as f64 / items.len().max(1) as f64,
            items.len()
        ));
    }
    for (with_context, tag, label) in [
        (true, "with_context", "with the abstract"),
        (false, "without_context", "question only"),
    ] {
        let answers = ctx
            .client
            .each(&format!("qa {tag}"), items.clone(), |item| async move {
                let body = ctx.chat(Some(SYSTEM), &prompt(&item, with_context), 4);
                ctx.complete(&body)
                    .await
                    .map(|a| prediction(content(&a.body)))
            })
            .await;
        r.requests += answers.len();
        let mut right = 0;
        let mut unparsed = 0;
        let mut n = 0;
        let mut by_label: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for (item, a) in items.iter().zip(&answers) {
            let Some(pred) = a else {
                r.errors += 1;
                continue;
            };
            n += 1;
            let ok = *pred == Some(item.answer.as_str());
            right += usize::from(ok);
            unparsed += usize::from(pred.is_none());
            let t = by_label.entry(item.answer.clone()).or_default();
            t.0 += usize::from(ok);
            t.1 += 1;
        }
        r.figures.push(Figure::proportion(
            &format!("qa.accuracy.{tag}"),
            &format!("accuracy, {label}"),
            "accuracy",
            right,
            n,
            Better::Higher,
        ));
        r.figures.push(Figure::proportion(
            &format!("qa.unparsed.{tag}"),
            &format!("no yes/no/maybe, {label}"),
            "unparsed answers",
            unparsed,
            n,
            Better::Lower,
        ));
        for (gold, (k, m)) in &by_label {
            r.figures.push(Figure::proportion(
                &format!("qa.accuracy.{tag}.gold_{gold}"),
                &format!("{label}, gold {gold}"),
                "accuracy by gold label",
                *k,
                *m,
                Better::Higher,
            ));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_decision_word_is_the_prediction() {
        assert_eq!(prediction("Yes."), Some("yes"));
        assert_eq!(prediction("Maybe, but no."), Some("maybe"));
        assert_eq!(prediction("The answer is NO"), Some("no"));
        assert_eq!(prediction("nothing known"), None);
        assert_eq!(prediction("yesterday"), None);
    }
}
