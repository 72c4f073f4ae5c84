//! Parameters that shape an index (chunking, HNSW graph, BM25, fusion), saved in
//! `index.json` beside it.

use serde::{Deserialize, Serialize};

use crate::chunk::ChunkParams;
use crate::error::{Error, Result};
use crate::fusion::DEFAULT_RRF_K;
use crate::lexical::Bm25Params;
/// HNSW graph parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HnswParams {
    /// Links per node per layer (`M`).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to `k` when smaller).
    pub ef_search: usize,
    /// Maximum number of layers (hnsw_rs caps it at 16).
    pub max_layer: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams {
            m: 16,
            ef_construction: 200,
            // 256: recall@10 0.986 vs exact search on 36k MedQuAD chunks (64: 0.969), p50 4 ms.
            ef_search: 256,
            max_layer: 16,
        }
    }
}

/// Everything that shapes an index; saved in `index.json` beside it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexParams {
    /// Chunk sizes.
    pub chunk: ChunkParams,
    /// HNSW graph.
    pub hnsw: HnswParams,
    /// BM25.
    pub bm25: Bm25Params,
    /// RRF constant `k` (60).
    pub rrf_k: f32,
    /// How deep each list goes before hybrid fusion (at least `top_k`).
    pub candidates: usize,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            chunk: ChunkParams::default(),
            hnsw: HnswParams::default(),
            bm25: Bm25Params::default(),
            rrf_k: DEFAULT_RRF_K,
            candidates: 50,
        }
    }
}

impl IndexParams {
    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<()> {
        self.chunk.validate()?;
        let h = &self.hnsw;
        let bad = |m: String| Err(Error::InvalidParams(m));
        if !(4..=64).contains(&h.m) {
            return bad(format!("hnsw m must be in 4..=64, got {}", h.m));
        }
        if h.ef_construction < h.m || h.ef_construction > 4096 {
            return bad(format!(
                "hnsw ef_construction must be in m..=4096, got {}",
                h.ef_construction
            ));
        }
        if h.ef_search == 0 || h.ef_search > 4096 {
            return bad(format!(
                "hnsw ef_search must be in 1..=4096, got {}",
                h.ef_search
            ));
        }
        if !(1..=16).contains(&h.max_layer) {
            return bad(format!(
                "hnsw max_layer must be in 1..=16, got {}",
                h.max_layer
            ));
        }
        if !(self.bm25.k1 >= 0.0 && (0.0..=1.0).contains(&self.bm25.b)) {
            return bad("bm25 needs k1 >= 0 and 0 <= b <= 1".into());
        }
        if !(self.rrf_k > 0.0) || self.candidates == 0 {
            return bad("rrf_k must be > 0 and candidates > 0".into());
        }
        Ok(())
    }
}
