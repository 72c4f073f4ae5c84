//! medserve retrieval: guideline corpus and MedQuAD ingest, token-based chunking, local
//! embeddings (fastembed + ONNX Runtime), an HNSW dense index, BM25, and hybrid fusion.
//!
//! Everything here is synchronous and CPU-bound; call it from async code through
//! `tokio::task::spawn_blocking`.
//!
//! ```no_run
//! use std::path::Path;
//! use medserve_rag::{Embedder, Index, IndexParams, Mode};
//!
//! # fn main() -> medserve_rag::Result<()> {
//! let embedder = Embedder::load(Path::new("models/embed"))?;
//! let docs = medserve_rag::load_corpus_dir(Path::new("corpus"))?;
//! let dir = Path::new("data/index");
//! let previous = Index::open(dir).ok();
//! let (index, report) = Index::build(
//!     &docs,
//!     &embedder,
//!     &IndexParams::default(),
//!     dir,
//!     previous.as_ref(),
//!     |_stage, _done, _total| {},
//! )?;
//! println!("{report}");
//! let query = "what is a normal NEWS2 score";
//! let qvec = embedder.embed_one(query)?;
//! for hit in index.search(&qvec, query, 5, Mode::Hybrid)? {
//!     println!("{:.4} {} {}", hit.fused_score, hit.chunk_id, hit.url);
//! }
//! # Ok(())
//! # }
//! ```

mod chunk;
mod corpus;
mod document;
mod embed;
mod error;
pub mod eval;
mod fusion;
mod index;
mod lexical;
mod medquad;
mod params;
mod store;
#[cfg(test)]
mod test_support;

pub use chunk::{count_tokens, Chunk, ChunkParams, Chunker};
pub use corpus::{load_corpus_dir, parse_corpus_document};
pub use document::{Audience, Document, Section};
pub use embed::{Embedder, EmbedderOptions, ORT_LIBRARY_FILE};
pub use error::{Error, Result};
pub use fusion::Scored;
pub use fusion::{reciprocal_rank_fusion, DEFAULT_RRF_K};
pub use index::{BuildReport, Hit, Index, Mode, Stage};
pub use lexical::{tokenize, Bm25, Bm25Params};
pub use medquad::{load_medquad, load_medquad_pairs, parse_medquad_xml, QaPair};
pub use params::{HnswParams, IndexParams};
