//! Latency as a client sees it: streamed chats (64 tokens at most, greedy) of consumer
//! health questions, first one at a time, then `--concurrency` at once. Time to the first
//! content delta, gaps between deltas, decode tokens/s per stream
//! (`usage.completion_tokens` ÷ time after the first delta) and the aggregate rate.

use std::time::Instant;

use serde::Deserialize;

use super::Ctx;
use crate::eval::run::client::{ms, Streamed};
use crate::eval::run::report::SuiteReport;
use crate::eval::run::stats::{mean_ci, Better, Figure};

const MAX_TOKENS: u32 = 64;

#[derive(Debug, Clone, Deserialize)]
struct Prompt {
    text: String,
}

async fn stream_all(
    ctx: &Ctx,
    prompts: &[Prompt],
    concurrency: usize,
    label: &str,
) -> (Vec<Streamed>, usize, f64) {
    let mut client = ctx.client.clone();
    client.concurrency = concurrency;
    let start = Instant::now();
    let out = client
        .each(label, prompts.to_vec(), |p| {
            let body = ctx.chat(None, &p.text, MAX_TOKENS);
            let client = client.clone();
            async move {
                client
                    .chat_stream(body)
                    .await
                    .ok()
                    .filter(|s| s.status == 200)
            }
        })
        .await;
    let wall = ms(start.elapsed());
    let failed = out.iter().filter(|s| s.is_none()).count();
    (out.into_iter().flatten().collect(), failed, wall)
}

fn rate(s: &Streamed) -> Option<f64> {
    let tokens = s.completion_tokens? as f64;
    let decode_ms = s.total_ms - s.ttft_ms?;
    (tokens > 1.0 && decode_ms > 0.0).then(|| (tokens - 1.0) / (decode_ms / 1000.0))
}

/// Runs the suite.
pub async fn run(ctx: &Ctx) -> anyhow::Result<SuiteReport> {
    let mut r = SuiteReport::ran("latency");
    let mut prompts: Vec<Prompt> = Vec::new();
    for spec in ctx.sets.of("latency") {
        let (rows, used) = ctx.sets.load::<Prompt>(&spec.name, ctx.limit, ctx.seed)?;
        prompts.extend(rows);
        r.sets.push(used);
    }
    let (one, failed, _) = stream_all(ctx, &prompts, 1, "latency c1").await;
    r.requests += prompts.len();
    r.errors += failed;
    let ttft: Vec<f64> = one.iter().filter_map(|s| s.ttft_ms).collect();
    let gaps: Vec<f64> = one.iter().flat_map(|s| s.gaps_ms.iter().copied()).collect();
    let rates: Vec<f64> = one.iter().filter_map(rate).collect();
    for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
        r.figures.push(Figure::percentile(
            &format!("latency.ttft_ms.{name}"),
            &format!("time to first token {name}"),
            "time to first token (one stream)",
            &ttft,
            q,
            "ms",
            Better::Lower,
        ));
    }
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        r.figures.push(Figure::percentile(
            &format!("latency.itl_ms.{name}"),
            &format!("gap between deltas {name}"),
            "gap between deltas (one stream)",
            &gaps,
            q,
            "ms",
            Better::Lower,
        ));
    }
    r.figures.push(Figure::mean(
        "latency.decode_tok_s.c1",
        "decode tokens/s, one stream",
        "tokens/s",
        &rates,
        "tok/s",
        Better::Higher,
    ));
    let c = ctx.client.concurrency;
    if c > 1 {
        let (many, failed, wall) = stream_all(ctx, &prompts, c, &format!("latency c{c}")).await;
        r.requests += prompts.len();
        r.errors += failed;
        let rates: Vec<f64> = many.iter().filter_map(rate).collect();
        r.figures.push(Figure::mean(
            &format!("latency.decode_tok_s.c{c}"),
            &format!("decode tokens/s per stream, {c} at once"),
            "tokens/s",
            &rates,
            "tok/s",
            Better::Higher,
        ));
        let tokens: u64 = many.iter().filter_map(|s| s.completion_tokens).sum();
        let aggregate = tokens as f64 / (wall / 1000.0);
        // The interval of the per-stream mean, scaled to the aggregate.
        let (m, lo, hi) = mean_ci(&rates);
        let scale = |x: f64| {
            if m > 0.0 {
                aggregate * x / m
            } else {
                aggregate
            }
        };
        r.figures.push(Figure {
            id: format!("latency.aggregate_tok_s.c{c}"),
            label: format!("aggregate tokens/s, {c} streams"),
            value: aggregate,
            n: many.len(),
            ci95: [scale(lo), scale(hi)],
            unit: "tok/s".into(),
            better: Better::Higher,
            group: "tokens/s".into(),
        });
        let ttft: Vec<f64> = many.iter().filter_map(|s| s.ttft_ms).collect();
        r.figures.push(Figure::percentile(
            &format!("latency.ttft_ms.c{c}.p50"),
            &format!("time to first token p50, {c} at once"),
            "time to first token (concurrent)",
            &ttft,
            0.5,
            "ms",
            Better::Lower,
        ));
        r.notes.push(format!(
            "the aggregate rate's interval is the per-stream mean's, scaled ({} tokens in {:.1} s)",
            tokens,
            wall / 1000.0
        ));
    }
    Ok(r)
}
