//! The retrieval index: chunks, their vectors, an HNSW graph (hnsw_rs, cosine) and BM25,
//! with dense, lexical and hybrid (RRF) search.
//!
//! Distance: hnsw_rs `DistCosine`, not `DistDot`. Our vectors are unit length, so both
//! rank identically, but anndists 0.1.5's scalar `DistDot` asserts `1 - dot >= 0`
//! (`src/dist/distances.rs`, `scalar_dot_f32`), and a vector compared with itself or an
//! identical copy (MedQuAD has 590 duplicate answers) can give `dot = 1.0000001` and panic.
//! `DistCosine` computes in f64 and clamps; at 384 dimensions its extra cost is negligible.

use std::collections::{HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use hnsw_rs::api::AnnT;
use hnsw_rs::prelude::{DistCosine, Hnsw, HnswIo};
use serde::{Deserialize, Serialize};

use crate::chunk::{Chunk, Chunker};
use crate::document::Document;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::fusion::reciprocal_rank_fusion;
pub use crate::fusion::Scored;
use crate::lexical::Bm25;
pub use crate::params::{HnswParams, IndexParams};
use crate::store::{self, EmbedderInfo, Manifest, FORMAT_VERSION};

/// Which retriever(s) to use.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// HNSW over embeddings only.
    Dense,
    /// BM25 only.
    Lexical,
    /// Reciprocal rank fusion of both.
    #[default]
    Hybrid,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// `<doc-id>#<n>`.
    pub chunk_id: String,
    /// Source document id.
    pub doc_id: String,
    /// Document title.
    pub title: String,
    /// Citation URL.
    pub url: String,
    /// Heading path below the title.
    pub heading: Vec<String>,
    /// Chunk body.
    pub text: String,
    /// 1-based rank in the dense list, if the chunk was in it.
    pub dense_rank: Option<usize>,
    /// Cosine similarity to the query, if in the dense list.
    pub dense_score: Option<f32>,
    /// 1-based rank in the BM25 list, if the chunk was in it.
    pub lexical_rank: Option<usize>,
    /// BM25 score, if in the BM25 list.
    pub lexical_score: Option<f32>,
    /// The score this list is ordered by: RRF score (hybrid), cosine (dense) or BM25
    /// (lexical).
    pub fused_score: f32,
    /// The source document's last clinical review (`YYYY-MM-DD`), when known.
    pub last_reviewed: Option<String>,
    /// Who reviewed it, when known.
    pub reviewed_by: Option<String>,
}

/// Build phases reported to the progress callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Splitting documents (`done`/`total` in documents).
    Chunking,
    /// Embedding new or changed chunks (`done`/`total` in chunks to embed).
    Embedding,
    /// Inserting vectors into the HNSW graph (`done`/`total` in chunks).
    Indexing,
}

/// What a build did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    /// Documents not in the previous index.
    pub docs_added: usize,
    /// Documents whose content hash changed.
    pub docs_changed: usize,
    /// Documents of the previous index that are gone.
    pub docs_removed: usize,
    /// Documents with the same content hash as before.
    pub docs_unchanged: usize,
    /// Chunks in the new index.
    pub chunks_total: usize,
    /// Chunk texts sent to the embedding model.
    pub chunks_embedded: usize,
    /// Chunks whose vector was copied from the previous index (same content hash).
    pub chunks_reused: usize,
    /// Chunks identical to another chunk of this build (embedded once).
    pub chunks_deduplicated: usize,
    /// Seconds spent embedding.
    pub embed_secs: f64,
    /// Seconds spent building the HNSW graph.
    pub hnsw_secs: f64,
    /// Seconds for the whole build, including writing files.
    pub total_secs: f64,
}

impl std::fmt::Display for BuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "documents: +{} added, {} changed, {} removed, {} unchanged; chunks: {} total, \
             {} embedded, {} reused, {} duplicates; embed {:.1}s, hnsw {:.1}s, total {:.1}s",
            self.docs_added,
            self.docs_changed,
            self.docs_removed,
            self.docs_unchanged,
            self.chunks_total,
            self.chunks_embedded,
            self.chunks_reused,
            self.chunks_deduplicated,
            self.embed_secs,
            self.hnsw_secs,
            self.total_secs
        )
    }
}

/// A searchable index. `Send + Sync`; searches take `&self`.
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    chunks: Vec<Chunk>,
    by_id: HashMap<String, usize>,
    /// `chunks.len() × dim`, unit-length rows.
    vectors: Vec<f32>,
    /// `None` when there are no chunks.
    hnsw: Option<Hnsw<'static, f32, DistCosine>>,
    bm25: Bm25,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("dir", &self.dir)
            .field("chunks", &self.chunks.len())
            .field("documents", &self.manifest.documents)
            .field("model_id", &self.manifest.embedder.model_id)
            .field("params", &self.manifest.params)
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Builds an index of `docs` into `dir` (created if needed) and returns it with a report.
    ///
    /// With `previous` (normally `Index::open(dir).ok()`), chunks whose content hash is
    /// unchanged reuse its vectors, so only new or edited text is embedded; documents absent
    /// from `docs` drop out. The HNSW graph is always rebuilt from the vectors (hnsw_rs cannot
    /// delete points). Vectors are reused only if `previous` was built by the same model id.
    /// `progress(stage, done, total)` is called as work completes.
    pub fn build<P>(
        docs: &[Document],
        embedder: &Embedder,
        params: &IndexParams,
        dir: &Path,
        previous: Option<&Index>,
        mut progress: P,
    ) -> Result<(Index, BuildReport)>
    where
        P: FnMut(Stage, usize, usize),
    {
        let started = Instant::now();
        params.validate()?;
        let mut seen = HashSet::new();
        for d in docs {
            if !seen.insert(d.id.as_str()) {
                return Err(Error::DuplicateDocument(d.id.clone()));
            }
        }
        let dim = embedder.dim();
        let mut report = BuildReport::default();

        // 1. Chunk.
        let chunker = Chunker::new(params.chunk)?;
        let mut chunks = Vec::new();
        progress(Stage::Chunking, 0, docs.len());
        for (i, d) in docs.iter().enumerate() {
            chunks.extend(chunker.chunk_document(d));
            progress(Stage::Chunking, i + 1, docs.len());
        }
        report.chunks_total = chunks.len();

        // 2. Diff documents against the previous index.
        let old_docs: HashMap<&str, &str> = previous
            .map(|p| {
                p.chunks
                    .iter()
                    .map(|c| (c.doc_id.as_str(), c.doc_hash.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        for d in docs {
            match old_docs.get(d.id.as_str()) {
                None => report.docs_added += 1,
                Some(old) if *old == d.content_hash() => report.docs_unchanged += 1,
                Some(_) => report.docs_changed += 1,
            }
        }
        report.docs_removed = old_docs.keys().filter(|id| !seen.contains(*id)).count();

        // 3. Decide which chunk texts need the model.
        let reusable: HashMap<&str, &[f32]> = match previous {
            Some(p)
                if p.manifest.embedder.model_id == embedder.model_id()
                    && p.manifest.embedder.dim == dim =>
            {
                p.chunks
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| p.vector(i).map(|v| (c.hash.as_str(), v)))
                    .collect()
            }
            _ => HashMap::new(),
        };
        let mut to_embed: Vec<usize> = Vec::new();
        let mut embed_slot: HashMap<&str, usize> = HashMap::new();
        for (i, c) in chunks.iter().enumerate() {
            if reusable.contains_key(c.hash.as_str()) {
                report.chunks_reused += 1;
            } else if embed_slot.contains_key(c.hash.as_str()) {
                report.chunks_deduplicated += 1;
            } else {
                embed_slot.insert(c.hash.as_str(), to_embed.len());
                to_embed.push(i);
            }
        }
        report.chunks_embedded = to_embed.len();

        // 4. Embed, one model batch at a time so progress is smooth.
        let embed_started = Instant::now();
        let mut embedded: Vec<Vec<f32>> = Vec::with_capacity(to_embed.len());
        progress(Stage::Embedding, 0, to_embed.len());
        for batch in to_embed.chunks(embedder.batch_size().max(1)) {
            let texts: Vec<String> = batch.iter().map(|&i| chunks[i].embed_text()).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedded.extend(embedder.embed(&refs)?);
            progress(Stage::Embedding, embedded.len(), to_embed.len());
        }
        report.embed_secs = embed_started.elapsed().as_secs_f64();

        // 5. Assemble the vector matrix in chunk order.
        let mut vectors = Vec::with_capacity(chunks.len() * dim);
        for c in &chunks {
            let v: &[f32] = match embed_slot.get(c.hash.as_str()) {
                Some(&slot) => embedded.get(slot).map(Vec::as_slice).unwrap_or(&[]),
                None => reusable.get(c.hash.as_str()).copied().unwrap_or(&[]),
            };
            if v.len() != dim {
                return Err(Error::DimensionMismatch {
                    expected: dim,
                    got: v.len(),
                });
            }
            vectors.extend(normalized(v));
        }
        drop(embed_slot);
        drop(reusable);

        // 6. Graph.
        let hnsw_started = Instant::now();
        let hnsw = build_hnsw(&vectors, dim, &params.hnsw, &mut progress)?;
        report.hnsw_secs = hnsw_started.elapsed().as_secs_f64();

        // 7. Write the generation's files, then switch the manifest.
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let on_disk = store::read_manifest(dir).map(|m| m.generation).unwrap_or(0);
        let generation = on_disk.max(previous.map_or(0, |p| p.manifest.generation)) + 1;
        let chunks_file = format!("chunks-{generation}.jsonl");
        let vectors_file = format!("vectors-{generation}.f32");
        store::write_chunks(&dir.join(&chunks_file), &chunks)?;
        store::write_vectors(&dir.join(&vectors_file), &vectors)?;
        let hnsw_basename = match &hnsw {
            Some(h) => {
                let base = format!("hnsw-{generation}");
                let name = no_panic("hnsw dump", || h.file_dump(dir, &base))?
                    .map_err(|e| Error::Hnsw(e.to_string()))?;
                Some(name)
            }
            None => None,
        };
        let documents = chunks
            .iter()
            .map(|c| c.doc_id.as_str())
            .collect::<HashSet<_>>()
            .len();
        let manifest = Manifest {
            format_version: FORMAT_VERSION,
            generation,
            params: *params,
            embedder: EmbedderInfo {
                model_id: embedder.model_id().to_string(),
                dim,
            },
            distance: "cosine".into(),
            chunk_tokenizer: "cl100k_base".into(),
            documents,
            chunks: chunks.len(),
            chunks_file,
            vectors_file,
            hnsw_basename,
        };
        store::write_manifest(dir, &manifest)?;
        let mut keep = vec![
            manifest.chunks_file.as_str(),
            manifest.vectors_file.as_str(),
        ];
        if let Some(b) = &manifest.hnsw_basename {
            keep.push(b.as_str());
        }
        store::remove_stale_files(dir, &keep);

        report.total_secs = started.elapsed().as_secs_f64();
        tracing::info!(%report, dir = %dir.display(), "index built");
        let index = Index::assemble(dir, manifest, chunks, vectors, hnsw);
        Ok((index, report))
    }

    /// Opens the index in `dir`.
    pub fn open(dir: &Path) -> Result<Index> {
        let manifest = store::read_manifest(dir)?;
        let chunks = store::read_chunks(&dir.join(&manifest.chunks_file))?;
        if chunks.len() != manifest.chunks {
            return Err(Error::corrupt(
                dir,
                format!(
                    "{} chunks on disk, manifest says {}",
                    chunks.len(),
                    manifest.chunks
                ),
            ));
        }
        let dim = manifest.embedder.dim;
        let vectors = store::read_vectors(&dir.join(&manifest.vectors_file), chunks.len() * dim)?;
        let hnsw = if chunks.is_empty() {
            None
        } else {
            let base = manifest
                .hnsw_basename
                .as_deref()
                .ok_or_else(|| Error::corrupt(dir, "manifest names no HNSW dump"))?;
            let mut graph = load_hnsw(dir, base)?;
            if graph.get_nb_point() != chunks.len() {
                return Err(Error::corrupt(
                    dir,
                    format!(
                        "HNSW has {} points, expected {}",
                        graph.get_nb_point(),
                        chunks.len()
                    ),
                ));
            }
            graph.set_searching_mode(true);
            Some(graph)
        };
        Ok(Index::assemble(dir, manifest, chunks, vectors, hnsw))
    }

    fn assemble(
        dir: &Path,
        manifest: Manifest,
        chunks: Vec<Chunk>,
        vectors: Vec<f32>,
        hnsw: Option<Hnsw<'static, f32, DistCosine>>,
    ) -> Index {
        let texts: Vec<String> = chunks.iter().map(Chunk::embed_text).collect();
        let bm25 = Bm25::build(texts.iter().map(String::as_str), manifest.params.bm25);
        let by_id = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Index {
            dir: dir.to_path_buf(),
            manifest,
            chunks,
            by_id,
            vectors,
            hnsw,
            bm25,
        }
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// True when the index has no chunks.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Number of documents with at least one chunk.
    pub fn documents(&self) -> usize {
        self.manifest.documents
    }

    /// The chunk with id `id` (`<doc-id>#<n>`).
    pub fn chunk(&self, id: &str) -> Option<&Chunk> {
        self.by_id.get(id).and_then(|&i| self.chunks.get(i))
    }

    /// The chunk at position `index` (as in [`Scored::index`]).
    pub fn chunk_at(&self, index: usize) -> Option<&Chunk> {
        self.chunks.get(index)
    }

    /// All chunks, in index order.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The stored (unit-length) vector of chunk `index`.
    pub fn vector(&self, index: usize) -> Option<&[f32]> {
        let dim = self.manifest.embedder.dim;
        self.vectors.get(index * dim..(index + 1) * dim)
    }

    /// Parameters the index was built with.
    pub fn params(&self) -> &IndexParams {
        &self.manifest.params
    }

    /// Vector dimension.
    pub fn dim(&self) -> usize {
        self.manifest.embedder.dim
    }

    /// Id of the model that produced the vectors.
    pub fn model_id(&self) -> &str {
        &self.manifest.embedder.model_id
    }

    /// The directory the index lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Build generation (increases with every build into the same directory).
    pub fn generation(&self) -> u64 {
        self.manifest.generation
    }

    /// Errors unless `embedder` is the model this index was built with (query vectors from
    /// another model would be meaningless).
    pub fn check_embedder(&self, embedder: &Embedder) -> Result<()> {
        if embedder.dim() != self.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.dim(),
                got: embedder.dim(),
            });
        }
        if embedder.model_id() != self.model_id() {
            return Err(Error::InvalidParams(format!(
                "index was built with {:?}, embedder is {:?}",
                self.model_id(),
                embedder.model_id()
            )));
        }
        Ok(())
    }

    /// Changes `ef_search` for this in-memory index (not saved); for recall/latency sweeps.
    pub fn set_ef_search(&mut self, ef_search: usize) {
        self.manifest.params.hnsw.ef_search = ef_search.max(1);
    }

    /// Searches with `mode`. `query_vec` may be empty in [`Mode::Lexical`]; `query_text` is
    /// unused in [`Mode::Dense`]. At most `top_k` hits, best first.
    pub fn search(
        &self,
        query_vec: &[f32],
        query_text: &str,
        top_k: usize,
        mode: Mode,
    ) -> Result<Vec<Hit>> {
        if top_k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let hits: Vec<Hit> = match mode {
            Mode::Dense => {
                let dense = self.dense_search(query_vec, top_k)?;
                dense
                    .iter()
                    .enumerate()
                    .map(|(r, s)| self.hit(s.index, s.score, Some((r + 1, s.score)), None))
                    .collect()
            }
            Mode::Lexical => {
                let lexical = self.lexical_search(query_text, top_k);
                lexical
                    .iter()
                    .enumerate()
                    .map(|(r, s)| self.hit(s.index, s.score, None, Some((r + 1, s.score))))
                    .collect()
            }
            Mode::Hybrid => {
                let depth = top_k.max(self.manifest.params.candidates);
                let dense = self.dense_search(query_vec, depth)?;
                let lexical = self.lexical_search(query_text, depth);
                let rank_map = |list: &[Scored]| -> HashMap<usize, (usize, f32)> {
                    list.iter()
                        .enumerate()
                        .map(|(r, s)| (s.index, (r + 1, s.score)))
                        .collect()
                };
                let dense_ranks = rank_map(&dense);
                let lexical_ranks = rank_map(&lexical);
                let dense_ids: Vec<usize> = dense.iter().map(|s| s.index).collect();
                let lexical_ids: Vec<usize> = lexical.iter().map(|s| s.index).collect();
                reciprocal_rank_fusion(&[&dense_ids, &lexical_ids], self.manifest.params.rrf_k)
                    .into_iter()
                    .take(top_k)
                    .map(|(i, fused)| {
                        self.hit(
                            i,
                            fused,
                            dense_ranks.get(&i).copied(),
                            lexical_ranks.get(&i).copied(),
                        )
                    })
                    .collect()
            }
        };
        Ok(hits)
    }

    fn hit(
        &self,
        index: usize,
        fused: f32,
        dense: Option<(usize, f32)>,
        lexical: Option<(usize, f32)>,
    ) -> Hit {
        // `index` always comes from this index's own lists, so the lookup cannot fail; a
        // default chunk keeps this panic-free regardless.
        let c = self.chunks.get(index);
        let field = |f: fn(&Chunk) -> String| c.map(f).unwrap_or_default();
        Hit {
            chunk_id: field(|c| c.id.clone()),
            doc_id: field(|c| c.doc_id.clone()),
            title: field(|c| c.title.clone()),
            url: field(|c| c.url.clone()),
            heading: c.map(|c| c.heading.clone()).unwrap_or_default(),
            text: field(|c| c.text.clone()),
            dense_rank: dense.map(|d| d.0),
            dense_score: dense.map(|d| d.1),
            lexical_rank: lexical.map(|l| l.0),
            lexical_score: lexical.map(|l| l.1),
            last_reviewed: c.and_then(|c| c.last_reviewed.clone()),
            reviewed_by: c.and_then(|c| c.reviewed_by.clone()),
            fused_score: fused,
        }
    }

    fn check_query(&self, query_vec: &[f32]) -> Result<Vec<f32>> {
        if query_vec.len() != self.dim() {
            return Err(Error::DimensionMismatch {
                expected: self.dim(),
                got: query_vec.len(),
            });
        }
        Ok(normalized(query_vec))
    }

    /// Approximate nearest chunks by cosine similarity (HNSW), best first.
    pub fn dense_search(&self, query_vec: &[f32], top_k: usize) -> Result<Vec<Scored>> {
        let q = self.check_query(query_vec)?;
        let Some(hnsw) = &self.hnsw else {
            return Ok(Vec::new());
        };
        if top_k == 0 {
            return Ok(Vec::new());
        }
        let ef = self.manifest.params.hnsw.ef_search.max(top_k);
        let mut out: Vec<Scored> = hnsw
            .search(&q, top_k, ef)
            .into_iter()
            .filter(|n| n.d_id < self.chunks.len())
            .map(|n| Scored {
                index: n.d_id,
                score: 1.0 - n.distance,
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        Ok(out)
    }

    /// Exact nearest chunks by cosine similarity (brute force over all vectors), best first;
    /// the ground truth for HNSW recall.
    pub fn exact_dense_search(&self, query_vec: &[f32], top_k: usize) -> Result<Vec<Scored>> {
        let q = self.check_query(query_vec)?;
        let dim = self.dim();
        let mut all: Vec<Scored> = self
            .vectors
            .chunks_exact(dim.max(1))
            .enumerate()
            .map(|(index, v)| Scored {
                index,
                score: v.iter().zip(&q).map(|(a, b)| a * b).sum(),
            })
            .collect();
        let cmp = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
        if top_k < all.len() {
            all.select_nth_unstable_by(top_k, cmp);
            all.truncate(top_k);
        }
        all.sort_by(cmp);
        Ok(all)
    }

    /// BM25 over chunk text (with its title/heading context line), best first.
    pub fn lexical_search(&self, query_text: &str, top_k: usize) -> Vec<Scored> {
        self.bm25.search(query_text, top_k)
    }
}

/// `v / |v|` (unchanged if `v` is zero).
fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter().map(|x| x / norm).collect()
    } else {
        v.to_vec()
    }
}

/// Runs hnsw_rs code that reports some failures by panicking (asserts on corrupt dumps,
/// `panic_any` when a dump file cannot be created) and turns a panic into an error.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        Error::Hnsw(format!("{what}: {msg}"))
    })
}

fn build_hnsw<P>(
    vectors: &[f32],
    dim: usize,
    params: &HnswParams,
    progress: &mut P,
) -> Result<Option<Hnsw<'static, f32, DistCosine>>>
where
    P: FnMut(Stage, usize, usize),
{
    if dim == 0 || vectors.is_empty() {
        progress(Stage::Indexing, 0, 0);
        return Ok(None);
    }
    let n = vectors.len() / dim;
    let mut hnsw: Hnsw<'static, f32, DistCosine> = Hnsw::new(
        params.m,
        n,
        params.max_layer,
        params.ef_construction,
        DistCosine,
    );
    let items: Vec<(&[f32], usize)> = vectors
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| (v, i))
        .collect();
    progress(Stage::Indexing, 0, n);
    let mut done = 0;
    for block in items.chunks(2048) {
        let block: Vec<(&[f32], usize)> = block.to_vec();
        no_panic("hnsw insert", || hnsw.parallel_insert_slice(&block))?;
        done += block.len();
        progress(Stage::Indexing, done, n);
    }
    hnsw.set_searching_mode(true);
    Ok(Some(hnsw))
}

/// Loads an hnsw_rs dump.
///
/// `HnswIo::load_hnsw` returns an `Hnsw<'b>` that borrows the `HnswIo` mutably for `'b`
/// (hnsw_rs-0.3.5 `src/hnswio.rs`, `load_hnsw<'b, 'a>(&'a mut self) where 'a: 'b`) because
/// with mmap enabled points can be slices of a mapping the `HnswIo` owns. We never enable
/// mmap (default `ReloadOptions`), so every point is copied into owned memory, but the
/// borrow is in the signature. Without `unsafe`, the options are to keep the `HnswIo` and
/// the `Hnsw` in one self-referential struct (not possible safely) or to give the `HnswIo`
/// a `'static` lifetime: we `Box::leak` it. It holds a path, a basename and a few words, no
/// point data, so each `Index::open` leaks well under a kilobyte. (Rebuilding the graph from
/// `vectors-*.f32` would avoid the leak but costs a full HNSW build per open.)
fn load_hnsw(dir: &Path, basename: &str) -> Result<Hnsw<'static, f32, DistCosine>> {
    for ext in ["hnsw.graph", "hnsw.data"] {
        let path = dir.join(format!("{basename}.{ext}"));
        if !path.is_file() {
            return Err(Error::corrupt(path, "HNSW dump file is missing"));
        }
    }
    let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(dir, basename)));
    no_panic("hnsw load", move || io.load_hnsw::<f32, DistCosine>())?
        .map_err(|e| Error::Hnsw(e.to_string()))
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
