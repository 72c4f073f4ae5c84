//! Emergency red flags: every message of the triage sets as a one-turn chat; an emergency
//! is detected when the answer carries `medserve.red_flag`. Recall by category and by kind
//! of wording, false alarms on the hard negatives by kind, and how long emergency answers
//! took (they are decided before any model runs).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Ctx;
use crate::eval::run::client::ms;
use crate::eval::run::report::SuiteReport;
use crate::eval::run::stats::{Better, Figure};

#[derive(Debug, Clone, Deserialize)]
struct Item {
    text: String,
    emergency: bool,
    category: Option<String>,
    kind: Option<String>,
}

#[derive(Default)]
struct Tally {
    k: usize,
    n: usize,
}

impl Tally {
    fn add(&mut self, hit: bool) {
        self.n += 1;
        self.k += usize::from(hit);
    }
}

/// Runs the suite.
pub async fn run(ctx: &Ctx) -> anyhow::Result<SuiteReport> {
    let mut r = SuiteReport::ran("triage");
    if !ctx.client.target.medserve {
        return Ok(SuiteReport::skipped(
            "triage",
            "needs medserve.red_flag in the answer (the server is not medserve)",
        ));
    }
    let mut items: Vec<(String, Item)> = Vec::new();
    for spec in ctx.sets.of("triage") {
        let (rows, used) = ctx.sets.load::<Item>(&spec.name, ctx.limit, ctx.seed)?;
        items.extend(rows.into_iter().map(|i| (spec.name.clone(), i)));
        r.sets.push(used);
    }
    let answers = ctx
        .client
        .each("triage", items.clone(), |(_, item)| async move {
            let body = ctx.chat(None, &item.text, 8);
            ctx.complete(&body).await
        })
        .await;
    r.requests = answers.len();
    let mut recall = Tally::default();
    let mut false_alarms = Tally::default();
    let mut per_set: BTreeMap<String, (Tally, Tally)> = BTreeMap::new();
    let mut by_category: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut fa_by_kind: BTreeMap<String, Tally> = BTreeMap::new();
    let mut emergency_ms = Vec::new();
    for ((set, item), answer) in items.iter().zip(&answers) {
        let Some(answer) = answer else {
            r.errors += 1;
            continue;
        };
        let flagged = !answer.body["medserve"]["red_flag"].is_null();
        let kind = item.kind.clone().unwrap_or_else(|| "unlabelled".into());
        let s = per_set.entry(set.clone()).or_default();
        if item.emergency {
            recall.add(flagged);
            s.0.add(flagged);
            let cat = item.category.clone().unwrap_or_else(|| "unlabelled".into());
            by_category.entry(cat).or_default().add(flagged);
            by_kind.entry(kind).or_default().add(flagged);
        } else {
            false_alarms.add(flagged);
            s.1.add(flagged);
            fa_by_kind.entry(kind).or_default().add(flagged);
        }
        if flagged {
            emergency_ms.push(ms(answer.elapsed));
        }
    }
    let p = |id: &str, label: &str, group: &str, t: &Tally, b: Better| {
        Figure::proportion(&format!("triage.{id}"), label, group, t.k, t.n, b)
    };
    r.figures.push(p(
        "recall",
        "emergencies detected",
        "overall",
        &recall,
        Better::Higher,
    ));
    r.figures.push(p(
        "false_alarms",
        "hard negatives flagged",
        "overall",
        &false_alarms,
        Better::Lower,
    ));
    for (set, (rc, fa)) in &per_set {
        r.figures.push(p(
            &format!("recall.set.{set}"),
            &format!("recall, {set}"),
            "by set",
            rc,
            Better::Higher,
        ));
        r.figures.push(p(
            &format!("false_alarms.set.{set}"),
            &format!("false alarms, {set}"),
            "by set",
            fa,
            Better::Lower,
        ));
    }
    for (c, t) in &by_category {
        r.figures.push(p(
            &format!("recall.category.{c}"),
            c,
            "recall by category",
            t,
            Better::Higher,
        ));
    }
    for (k, t) in &by_kind {
        r.figures.push(p(
            &format!("recall.kind.{k}"),
            k,
            "recall by kind of wording",
            t,
            Better::Higher,
        ));
    }
    for (k, t) in &fa_by_kind {
        r.figures.push(p(
            &format!("false_alarms.kind.{k}"),
            k,
            "false alarms by kind",
            t,
            Better::Lower,
        ));
    }
    if !emergency_ms.is_empty() {
        for (q, name) in [(0.5, "p50"), (0.9, "p90")] {
            r.figures.push(Figure::percentile(
                &format!("triage.emergency_answer_ms.{name}"),
                &format!("emergency answer time {name}"),
                "emergency answer time",
                &emergency_ms,
                q,
                "ms",
                Better::Lower,
            ));
        }
    }
    Ok(r)
}
