//! Retrieval on MedQuAD through `/v1/embeddings`: a seeded sample of question-answer pairs
//! (one per source document); every answer is embedded, and each question must rank its
//! own answer first among all of them (cosine similarity). Recall@1/5/10 and MRR.

use serde::Deserialize;
use serde_json::json;

use super::Ctx;
use crate::eval::run::report::SuiteReport;
use crate::eval::run::stats::{Better, Figure};

/// Inputs per embeddings request.
const BATCH: usize = 16;

#[derive(Debug, Clone, Deserialize)]
struct Pair {
    question: String,
    answer: String,
}

fn normalise(mut v: Vec<f64>) -> Vec<f64> {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

/// Embeds `texts` in batches; `None` for a batch that failed.
async fn embed(
    ctx: &Ctx,
    model: &str,
    key: Option<&str>,
    label: &str,
    texts: Vec<String>,
) -> (Vec<Option<Vec<f64>>>, usize) {
    let batches: Vec<Vec<String>> = texts.chunks(BATCH).map(<[String]>::to_vec).collect();
    let n = batches.len();
    let answers = ctx
        .client
        .each(label, batches, |batch| async move {
            let len = batch.len();
            let body = json!({"model": model, "input": batch});
            let reply = ctx.client.post("/v1/embeddings", &body, key).await.ok();
            let vecs: Option<Vec<Vec<f64>>> = reply.filter(|r| r.status == 200).and_then(|r| {
                let data = r.body["data"].as_array()?.clone();
                let mut out = vec![Vec::new(); len];
                for d in data {
                    let i = d["index"].as_u64()? as usize;
                    let v: Vec<f64> = d["embedding"]
                        .as_array()?
                        .iter()
                        .filter_map(|x| x.as_f64())
                        .collect();
                    *out.get_mut(i)? = normalise(v);
                }
                out.iter().all(|v| !v.is_empty()).then_some(out)
            });
            match vecs {
                Some(v) => v.into_iter().map(Some).collect::<Vec<_>>(),
                None => vec![None; len],
            }
        })
        .await;
    (answers.into_iter().flatten().collect(), n)
}

/// 1-based rank of `own` among `candidates` by dot product with `q`.
fn rank(q: &[f64], candidates: &[Option<Vec<f64>>], own: usize) -> Option<usize> {
    let score = |c: &Vec<f64>| q.iter().zip(c).map(|(a, b)| a * b).sum::<f64>();
    let own_score = score(candidates[own].as_ref()?);
    Some(
        1 + candidates
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != own && c.as_ref().is_some_and(|c| score(c) > own_score))
            .count(),
    )
}

/// Runs the suite.
pub async fn run(ctx: &Ctx) -> anyhow::Result<SuiteReport> {
    let Some(model) = ctx.client.target.embedding_model.clone() else {
        return Ok(SuiteReport::skipped(
            "retrieval",
            "the server lists no embedding model in /v1/models",
        ));
    };
    let mut r = SuiteReport::ran("retrieval");
    // The chat key may not be allowed to embed (medserve: patient apps); the export key
    // (an ML key) is tried next.
    let probe = json!({"model": model, "input": ["probe"]});
    let mut key = None;
    for candidate in [None, ctx.export_key.as_deref()] {
        match ctx.client.post("/v1/embeddings", &probe, candidate).await {
            Ok(reply) if reply.status == 200 => {
                key = Some(candidate);
                break;
            }
            Ok(reply) => r.notes.push(format!(
                "/v1/embeddings with the {} key: {} {}",
                if candidate.is_some() {
                    "export"
                } else {
                    "chat"
                },
                reply.status,
                reply.body["error"]["message"].as_str().unwrap_or("")
            )),
            Err(e) => r.notes.push(format!("/v1/embeddings: {e}")),
        }
        if ctx.export_key.is_none() {
            break;
        }
    }
    let Some(key) = key else {
        return Ok(SuiteReport {
            status: crate::eval::run::report::Status::Skipped,
            ..r
        });
    };
    r.notes.clear();
    r.notes.push(format!(
        "dense retrieval with the server's embedding model {model}: each question against every answer of the sample"
    ));
    let mut pairs: Vec<Pair> = Vec::new();
    for spec in ctx.sets.of("retrieval") {
        let (rows, used) = ctx.sets.load::<Pair>(&spec.name, ctx.limit, ctx.seed)?;
        pairs.extend(rows);
        r.sets.push(used);
    }
    let (answers, n1) = embed(
        ctx,
        &model,
        key,
        "answers",
        pairs.iter().map(|p| p.answer.clone()).collect(),
    )
    .await;
    let (questions, n2) = embed(
        ctx,
        &model,
        key,
        "questions",
        pairs.iter().map(|p| p.question.clone()).collect(),
    )
    .await;
    r.requests = n1 + n2 + 1;
    let mut ranks = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        match q.as_ref().and_then(|q| rank(q, &answers, i)) {
            Some(rk) => ranks.push(rk),
            None => r.errors += 1,
        }
    }
    let n = ranks.len();
    for k in [1, 5, 10] {
        let hits = ranks.iter().filter(|&&rk| rk <= k).count();
        r.figures.push(Figure::proportion(
            &format!("retrieval.recall_at_{k}"),
            &format!("recall@{k}"),
            "MedQuAD retrieval",
            hits,
            n,
            Better::Higher,
        ));
    }
    let rr: Vec<f64> = ranks.iter().map(|&rk| 1.0 / rk as f64).collect();
    r.figures.push(Figure::mean(
        "retrieval.mrr",
        "MRR",
        "MedQuAD retrieval",
        &rr,
        "ratio",
        Better::Higher,
    ));
    r.notes
        .push(format!("{} candidates per question", pairs.len()));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_better_candidates_only() {
        let c = vec![
            Some(vec![1.0, 0.0]),
            Some(vec![0.0, 1.0]),
            None,
            Some(vec![0.6, 0.8]),
        ];
        assert_eq!(rank(&[1.0, 0.0], &c, 0), Some(1));
        assert_eq!(rank(&[0.0, 1.0], &c, 3), Some(2));
        assert_eq!(rank(&[0.0, 1.0], &c, 2), None);
    }
}
