//! Offline evaluation on MedQuAD: HNSW recall and latency against exact search, embedding
//! throughput, index build time and size, and retrieval quality for each [`Mode`].
//!
//! Retrieval quality: every sampled question is a query and the chunks of *its own answer*
//! are the relevant set. `recall@5` is answer-level: a query counts as retrieved when any
//! chunk of its answer is in the top 5 (returning one chunk of the answer is enough to cite
//! it). `MRR@10` uses the rank of the first chunk of the answer (0 when not in the top 10).
//! MedQuAD has near-duplicate answers under different questions, so these numbers are a
//! lower bound on usefulness; they are for comparing modes and parameters.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::error::Result;
use crate::index::{BuildReport, Index, IndexParams, Mode, Stage};
use crate::medquad::load_medquad_pairs;

/// What to measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Index at most this many MedQuAD answers (evenly spaced sample); `None` = all.
    pub max_docs: Option<usize>,
    /// Number of questions used as queries (evenly spaced sample of the indexed answers).
    pub max_queries: usize,
    /// `k` for HNSW recall@k against exact search.
    pub recall_k: usize,
    /// `ef_search` values to sweep.
    pub ef_search: Vec<usize>,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            max_docs: None,
            max_queries: 500,
            recall_k: 10,
            ef_search: vec![16, 32, 64, 128, 256],
        }
    }
}

/// A query with the document that answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalQuery {
    /// The question.
    pub text: String,
    /// Id of the answering document.
    pub doc_id: String,
}

/// HNSW quality and speed at one `ef_search`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnRow {
    /// `ef_search` used.
    pub ef_search: usize,
    /// Mean fraction of the exact top-k found by HNSW.
    pub recall: f64,
    /// Median query latency (ms), dense search only (no embedding).
    pub p50_ms: f64,
    /// 99th-percentile latency (ms).
    pub p99_ms: f64,
}

/// Retrieval quality of one mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityRow {
    /// The mode.
    pub mode: Mode,
    /// Answer-level recall@5.
    pub recall_at_5: f64,
    /// MRR@10 of the first chunk of the answer.
    pub mrr_at_10: f64,
    /// Median end-to-end search latency (ms, excluding query embedding).
    pub p50_ms: f64,
}

/// Everything [`eval_medquad`] measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Indexed documents (answers).
    pub documents: usize,
    /// Indexed chunks.
    pub chunks: usize,
    /// Vector dimension.
    pub dim: usize,
    /// The build's report (times, counts).
    pub build: BuildReport,
    /// Bytes on disk in the index directory.
    pub index_bytes: u64,
    /// Chunk texts embedded per second during the build.
    pub chunk_embed_per_sec: f64,
    /// Short query texts embedded per second (batched).
    pub query_embed_per_sec: f64,
    /// Number of queries.
    pub queries: usize,
    /// `k` of the recall rows.
    pub recall_k: usize,
    /// Median latency of exact (brute-force) search (ms).
    pub exact_p50_ms: f64,
    /// HNSW rows, one per `ef_search`.
    pub ann: Vec<AnnRow>,
    /// Quality rows, Dense, Lexical, Hybrid.
    pub quality: Vec<QualityRow>,
}

impl EvalReport {
    /// The report as Markdown tables.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "MedQuAD: {} answers, {} chunks, dim {}, {} queries\n",
            self.documents, self.chunks, self.dim, self.queries
        );
        let _ = writeln!(s, "| build | value |\n|---|---|");
        let _ = writeln!(s, "| embed time | {:.1} s |", self.build.embed_secs);
        let _ = writeln!(s, "| HNSW build time | {:.1} s |", self.build.hnsw_secs);
        let _ = writeln!(s, "| total build time | {:.1} s |", self.build.total_secs);
        let _ = writeln!(
            s,
            "| index size | {:.1} MiB |",
            self.index_bytes as f64 / 1048576.0
        );
        let _ = writeln!(
            s,
            "| chunk embedding | {:.1} chunks/s |",
            self.chunk_embed_per_sec
        );
        let _ = writeln!(
            s,
            "| query embedding | {:.1} queries/s |",
            self.query_embed_per_sec
        );
        let _ = writeln!(s, "| exact search p50 | {:.3} ms |\n", self.exact_p50_ms);
        let _ = writeln!(
            s,
            "| ef_search | recall@{} vs exact | p50 ms | p99 ms |\n|---|---|---|---|",
            self.recall_k
        );
        for r in &self.ann {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.3} | {:.3} |",
                r.ef_search, r.recall, r.p50_ms, r.p99_ms
            );
        }
        let _ = writeln!(
            s,
            "\n| mode | recall@5 | MRR@10 | p50 ms |\n|---|---|---|---|"
        );
        for r in &self.quality {
            let _ = writeln!(
                s,
                "| {:?} | {:.4} | {:.4} | {:.3} |",
                r.mode, r.recall_at_5, r.mrr_at_10, r.p50_ms
            );
        }
        s
    }
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_markdown())
    }
}

/// Evenly spaced sample of at most `max` items (deterministic; all items if fewer).
pub fn sample<T: Clone>(items: &[T], max: usize) -> Vec<T> {
    if max >= items.len() {
        return items.to_vec();
    }
    let step = items.len() as f64 / max as f64;
    (0..max)
        .filter_map(|i| items.get((i as f64 * step) as usize).cloned())
        .collect()
}

/// Loads MedQuAD from `medquad_dir`, builds a fresh index in `index_dir` (anything there is
/// replaced), and runs every measurement.
pub fn eval_medquad<P>(
    medquad_dir: &Path,
    embedder: &Embedder,
    index_dir: &Path,
    params: &IndexParams,
    config: &EvalConfig,
    progress: P,
) -> Result<EvalReport>
where
    P: FnMut(Stage, usize, usize),
{
    let mut pairs = load_medquad_pairs(medquad_dir)?;
    if let Some(max) = config.max_docs {
        pairs = sample(&pairs, max);
    }
    let docs: Vec<_> = pairs.iter().map(|p| p.document.clone()).collect();
    let (mut index, build) = Index::build(&docs, embedder, params, index_dir, None, progress)?;
    let index_bytes = dir_size(index_dir);

    let queries: Vec<EvalQuery> = sample(&pairs, config.max_queries)
        .into_iter()
        .map(|p| EvalQuery {
            text: p.question,
            doc_id: p.document.id,
        })
        .collect();
    let texts: Vec<&str> = queries.iter().map(|q| q.text.as_str()).collect();
    let started = Instant::now();
    let vectors = embedder.embed(&texts)?;
    let query_secs = started.elapsed().as_secs_f64();

    let (exact_p50_ms, ann) = ann_sweep(&mut index, &vectors, config)?;
    let quality = quality(&index, &queries, &vectors)?;
    Ok(EvalReport {
        documents: index.documents(),
        chunks: index.len(),
        dim: index.dim(),
        chunk_embed_per_sec: per_sec(build.chunks_embedded, build.embed_secs),
        build,
        index_bytes,
        query_embed_per_sec: per_sec(queries.len(), query_secs),
        queries: queries.len(),
        recall_k: config.recall_k,
        exact_p50_ms,
        ann,
        quality,
    })
}

/// HNSW recall@k against exact search and latency for each `ef_search` in `config`;
/// returns the exact-search median latency too. Restores the index's `ef_search`.
pub fn ann_sweep(
    index: &mut Index,
    query_vectors: &[Vec<f32>],
    config: &EvalConfig,
) -> Result<(f64, Vec<AnnRow>)> {
    let k = config.recall_k.max(1);
    let mut exact = Vec::with_capacity(query_vectors.len());
    let mut exact_times = Vec::with_capacity(query_vectors.len());
    for q in query_vectors {
        let t = Instant::now();
        let top = index.exact_dense_search(q, k)?;
        exact_times.push(t.elapsed());
        exact.push(top.into_iter().map(|s| s.index).collect::<Vec<_>>());
    }
    let original = index.params().hnsw.ef_search;
    let mut rows = Vec::new();
    for &ef in &config.ef_search {
        index.set_ef_search(ef);
        let mut times = Vec::with_capacity(query_vectors.len());
        let mut recall_sum = 0.0;
        for (q, truth) in query_vectors.iter().zip(&exact) {
            let t = Instant::now();
            let approx = index.dense_search(q, k)?;
            times.push(t.elapsed());
            if !truth.is_empty() {
                let found = approx.iter().filter(|s| truth.contains(&s.index)).count();
                recall_sum += found as f64 / truth.len() as f64;
            }
        }
        rows.push(AnnRow {
            ef_search: ef,
            recall: recall_sum / query_vectors.len().max(1) as f64,
            p50_ms: percentile_ms(&mut times, 50.0),
            p99_ms: percentile_ms(&mut times, 99.0),
        });
    }
    index.set_ef_search(original);
    Ok((percentile_ms(&mut exact_times, 50.0), rows))
}

/// Answer-level recall@5, MRR@10 and median latency for Dense, Lexical and Hybrid.
pub fn quality(
    index: &Index,
    queries: &[EvalQuery],
    query_vectors: &[Vec<f32>],
) -> Result<Vec<QualityRow>> {
    let mut rows = Vec::new();
    for mode in [Mode::Dense, Mode::Lexical, Mode::Hybrid] {
        let mut hits5 = 0usize;
        let mut rr = 0.0;
        let mut times = Vec::with_capacity(queries.len());
        for (q, v) in queries.iter().zip(query_vectors) {
            let t = Instant::now();
            let hits = index.search(v, &q.text, 10, mode)?;
            times.push(t.elapsed());
            if let Some(rank) = hits
                .iter()
                .position(|h| h.doc_id == q.doc_id)
                .map(|r| r + 1)
            {
                rr += 1.0 / rank as f64;
                if rank <= 5 {
                    hits5 += 1;
                }
            }
        }
        let n = queries.len().max(1) as f64;
        rows.push(QualityRow {
            mode,
            recall_at_5: hits5 as f64 / n,
            mrr_at_10: rr / n,
            p50_ms: percentile_ms(&mut times, 50.0),
        });
    }
    Ok(rows)
}

fn per_sec(count: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// Nearest-rank percentile in milliseconds (0 for no samples).
fn percentile_ms(times: &mut [Duration], pct: f64) -> f64 {
    if times.is_empty() {
        return 0.0;
    }
    times.sort();
    let rank = ((pct / 100.0) * times.len() as f64).ceil() as usize;
    let i = rank.clamp(1, times.len()) - 1;
    times[i].as_secs_f64() * 1000.0
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{embedder, medquad_dir, scratch_dir};

    #[test]
    fn sampling_and_percentiles() {
        let items: Vec<usize> = (0..10).collect();
        assert_eq!(sample(&items, 3), vec![0, 3, 6]);
        assert_eq!(sample(&items, 20), items);
        let mut t: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert!((percentile_ms(&mut t, 50.0) - 50.0).abs() < 1e-9);
        assert!((percentile_ms(&mut t, 99.0) - 99.0).abs() < 1e-9);
        assert_eq!(percentile_ms(&mut [], 50.0), 0.0);
    }

    /// A small end-to-end run (200 answers, 40 queries): checks that the pipeline works and
    /// that the numbers are sane, not their exact values.
    #[test]
    fn small_medquad_eval_runs() {
        let dir = scratch_dir("eval-small");
        let config = EvalConfig {
            max_docs: Some(200),
            max_queries: 40,
            recall_k: 10,
            ef_search: vec![10, 64],
        };
        let report = eval_medquad(
            &medquad_dir(),
            embedder(),
            &dir,
            &IndexParams::default(),
            &config,
            |_, _, _| {},
        )
        .expect("eval");
        assert_eq!(report.documents, 200);
        assert!(report.chunks >= 200);
        assert_eq!(report.queries, 40);
        assert!(report.index_bytes > (report.chunks * 384 * 4) as u64);
        assert_eq!(report.ann.len(), 2);
        assert!(report.ann[1].recall >= report.ann[0].recall - 1e-9);
        assert!(report.ann[1].recall > 0.95, "{}", report.to_markdown());
        assert_eq!(report.quality.len(), 3);
        for row in &report.quality {
            assert!(row.recall_at_5 > 0.3, "{}", report.to_markdown());
            assert!(row.mrr_at_10 <= row.recall_at_5 + 0.2);
        }
        assert!(report.to_markdown().contains("| Hybrid |"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
