//! Local sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) through fastembed's
//! user-defined-model API, on ONNX Runtime loaded dynamically from a file.
//!
//! `models/embed/` (filled by `rag/fetch-embedder.sh`) holds `model.onnx`, `tokenizer.json`,
//! `config.json`, `special_tokens_map.json`, `tokenizer_config.json` and
//! `libonnxruntime.so.1.31.1`. The model's only output is `last_hidden_state`
//! `[batch, seq, 384]`; fastembed mean-pools it over the attention mask and L2-normalises.
//! The int8 export is weight-only (no `DynamicQuantizeLinear`), so batching does not change
//! the vectors and fastembed's `QuantizationMode::None` is right.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use fastembed::{
    InitOptionsUserDefined, OutputKey, Pooling, QuantizationMode, TextEmbedding, TokenizerFiles,
    UserDefinedEmbeddingModel,
};

use crate::error::{Error, Result};

/// File name of the ONNX Runtime library inside the model directory.
pub const ORT_LIBRARY_FILE: &str = "libonnxruntime.so.1.31.1";

/// How to load the [`Embedder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    /// Token limit per text (wordpieces, including `[CLS]`/`[SEP]`); longer texts are
    /// truncated. 256 is what sentence-transformers uses for this model.
    pub max_length: usize,
    /// Texts per ONNX Runtime call. Padding is to the longest text of a batch, so small
    /// batches waste less on mixed lengths; 32 keeps attention buffers around 100 MB.
    pub batch_size: usize,
    /// ONNX Runtime intra-op threads; `None` uses every available core.
    pub intra_threads: Option<usize>,
    /// The ONNX Runtime library. `None`: `ORT_DYLIB_PATH` if set, else
    /// `<model dir>/libonnxruntime.so.1.31.1`.
    pub ort_library: Option<PathBuf>,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            max_length: 256,
            batch_size: 32,
            intra_threads: None,
            ort_library: None,
        }
    }
}

/// A loaded embedding model. `Send + Sync`: fastembed's `TextEmbedding::embed` takes
/// `&mut self`, so the model sits behind a `Mutex` and concurrent callers take turns (each
/// call already uses all ONNX Runtime threads, so little is lost). Locks are per batch, so
/// a long index build does not starve queries.
pub struct Embedder {
    model: Mutex<TextEmbedding>,
    model_id: String,
    dim: usize,
    batch_size: usize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model_id", &self.model_id)
            .field("dim", &self.dim)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Id recorded in index manifests; vectors are only reused by a model with the same id.
    pub const MODEL_ID: &'static str = "all-MiniLM-L6-v2-onnx-int8";

    /// Loads the model from `dir` (normally `models/embed`) with default options.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, &EmbedderOptions::default())
    }

    /// Loads the model from `dir` with `options`.
    pub fn load_with(dir: &Path, options: &EmbedderOptions) -> Result<Self> {
        if options.batch_size == 0 || options.max_length < 8 {
            return Err(Error::InvalidParams(
                "embedder batch_size must be > 0 and max_length >= 8".into(),
            ));
        }
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(Error::ModelFileMissing { path });
            }
            std::fs::read(&path).map_err(|e| Error::io(&path, e))
        };
        let onnx = read("model.onnx")?;
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };

        let library = match &options.ort_library {
            Some(path) => path.clone(),
            None => match std::env::var_os("ORT_DYLIB_PATH") {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => dir.join(ORT_LIBRARY_FILE),
            },
        };
        let environment = ort_environment(&library)?;

        let mut model = UserDefinedEmbeddingModel::new(onnx, tokenizer_files)
            .with_pooling(Pooling::Mean)
            .with_quantization(QuantizationMode::None);
        model.output_key = Some(OutputKey::ByName("last_hidden_state"));

        let mut init = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(options.max_length);
        if let Some(threads) = options.intra_threads {
            init = init.with_intra_threads(threads.max(1));
        }
        let text_embedding = TextEmbedding::try_new_from_user_defined(model, init)
            .map_err(|e| Error::Embedding(e.to_string()))?;

        let mut embedder = Embedder {
            model: Mutex::new(text_embedding),
            model_id: Self::MODEL_ID.to_string(),
            dim: 0,
            batch_size: options.batch_size,
        };
        // Probe once: proves the session runs and gives the output dimension.
        let probe = embedder.embed_batch(&["dimension probe"])?;
        embedder.dim = probe.first().map(Vec::len).unwrap_or(0);
        if embedder.dim == 0 {
            return Err(Error::Embedding("model returned an empty vector".into()));
        }
        Ok(embedder)
    }

    /// Embeds `texts` (in batches of `batch_size`); one unit-length vector per text, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.batch_size) {
            out.extend(self.embed_batch(batch)?);
        }
        Ok(out)
    }

    /// Tokens the model sees for each text (wordpieces with `[CLS]`/`[SEP]`, after
    /// truncation to `max_length`): the `usage` of `/v1/embeddings`.
    pub fn count_tokens(&self, texts: &[&str]) -> Result<Vec<usize>> {
        let model = self
            .model
            .lock()
            .map_err(|_| Error::Embedding("embedder lock poisoned".into()))?;
        texts
            .iter()
            .map(|t| {
                model
                    .tokenizer
                    .encode(*t, true)
                    .map(|e| e.len())
                    .map_err(|e| Error::Embedding(format!("tokenizer: {e}")))
            })
            .collect()
    }

    /// Embeds one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        self.embed_batch(&[text])?
            .pop()
            .ok_or_else(|| Error::Embedding("model returned no vector".into()))
    }

    /// Output dimension (384 for all-MiniLM-L6-v2).
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Model id stored with indexes built from this embedder.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Texts per ONNX Runtime call.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// One ONNX Runtime call for `texts` (no re-batching).
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let vectors = {
            let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
            model
                .embed(texts, Some(texts.len()))
                .map_err(|e| Error::Embedding(e.to_string()))?
        };
        if vectors.len() != texts.len() {
            return Err(Error::Embedding(format!(
                "model returned {} vectors for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        if self.dim != 0 {
            if let Some(v) = vectors.iter().find(|v| v.len() != self.dim) {
                return Err(Error::DimensionMismatch {
                    expected: self.dim,
                    got: v.len(),
                });
            }
        }
        Ok(vectors)
    }
}

/// The process's ONNX Runtime environment, created on first use from `library`.
///
/// With `ort/load-dynamic`, ort would otherwise `dlopen` `ORT_DYLIB_PATH` lazily and *panic*
/// if it is missing (ort-2.0.0-rc.15 `src/lib.rs` `setup_api`). We call `ort::init_from`
/// first so a missing or broken library is an error. ONNX Runtime allows one environment per
/// process, so it is created once and shared (fastembed's own default environment would
/// otherwise try to create a second).
fn ort_environment(library: &Path) -> Result<ort::environment::Environment> {
    static ENVIRONMENT: Mutex<Option<ort::environment::Environment>> = Mutex::new(None);
    // Checked even when the environment exists, so a wrong path is always reported.
    if !library.is_file() {
        return Err(Error::OrtLibraryMissing {
            path: library.to_path_buf(),
        });
    }
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(env) = slot.as_ref() {
        // ONNX Runtime is already loaded (from the first library path); reuse it.
        return Ok(env.clone());
    }
    let init_error = |message: String| Error::OrtInit {
        path: library.to_path_buf(),
        message,
    };
    let environment = ort::init_from(library)
        .map_err(|e| init_error(e.to_string()))?
        .with_name("medserve-rag")
        .build()
        .map_err(|e| init_error(e.to_string()))?;
    *slot = Some(environment.clone());
    Ok(environment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{embedder, model_dir};

    /// First five dimensions of each sentence's embedding, computed independently with
    /// Python onnxruntime 1.31.1 + the HF `tokenizers` library (truncation 256), masked mean
    /// pooling and L2 normalisation (see NOTES.md).
    const REFERENCE: [(&str, [f32; 5]); 3] = [
        (
            "Chest pain that spreads to the arm needs an ambulance.",
            [0.050772, 0.094631, 0.021013, 0.015661, 0.012199],
        ),
        (
            "What are the symptoms of sepsis in adults?",
            [0.0477, -0.045872, 0.010787, 0.012901, 0.044744],
        ),
        (
            "Metformin is a first-line medicine for type 2 diabetes.",
            [-0.056125, -0.016157, -0.044633, 0.064013, -0.084022],
        ),
    ];

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn matches_python_reference() {
        let e = embedder();
        assert_eq!(e.dim(), 384);
        assert_eq!(e.model_id(), Embedder::MODEL_ID);
        let texts: Vec<&str> = REFERENCE.iter().map(|(t, _)| *t).collect();
        let vectors = e.embed(&texts).expect("embed");
        assert_eq!(vectors.len(), 3);
        for ((text, expected), v) in REFERENCE.iter().zip(&vectors) {
            let norm = dot(v, v).sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "{text}: norm {norm}");
            for (i, (got, want)) in v.iter().zip(expected).enumerate() {
                assert!(
                    (got - want).abs() < 1e-3,
                    "{text}: dim {i} is {got}, Python gave {want}"
                );
            }
        }
    }

    #[test]
    fn batching_does_not_change_vectors() {
        let e = embedder();
        let texts: Vec<&str> = REFERENCE.iter().map(|(t, _)| *t).collect();
        let batched = e.embed(&texts).expect("embed");
        for (t, b) in texts.iter().zip(&batched) {
            let single = e.embed_one(t).expect("embed one");
            assert!(dot(&single, b) > 0.9999, "{t}");
        }
        assert!(e.embed(&[]).expect("empty").is_empty());
    }

    #[test]
    fn similar_texts_are_closer() {
        let e = embedder();
        let q = e.embed_one("How do I recognise sepsis?").expect("embed");
        let v = e
            .embed(&[REFERENCE[0].0, REFERENCE[1].0, REFERENCE[2].0])
            .expect("embed");
        // Python: cos = 0.2843, 0.7771, 0.0262
        assert!((dot(&q, &v[1]) - 0.7771).abs() < 5e-3);
        assert!(dot(&q, &v[1]) > dot(&q, &v[0]));
        assert!(dot(&q, &v[0]) > dot(&q, &v[2]));
    }

    #[test]
    fn missing_files_are_errors() {
        let empty = crate::test_support::scratch_dir("embed-missing");
        match Embedder::load(&empty) {
            Err(Error::ModelFileMissing { path }) => assert!(path.ends_with("model.onnx")),
            other => panic!("expected ModelFileMissing, got {other:?}"),
        }
        let options = EmbedderOptions {
            ort_library: Some(empty.join("libonnxruntime.so.0.0.0")),
            ..EmbedderOptions::default()
        };
        match Embedder::load_with(&model_dir(), &options) {
            Err(Error::OrtLibraryMissing { path }) => {
                assert!(path.ends_with("libonnxruntime.so.0.0.0"))
            }
            other => panic!("expected OrtLibraryMissing, got {other:?}"),
        }
        let bad = EmbedderOptions {
            batch_size: 0,
            ..EmbedderOptions::default()
        };
        assert!(matches!(
            Embedder::load_with(&model_dir(), &bad),
            Err(Error::InvalidParams(_))
        ));
        let _ = std::fs::remove_dir_all(&empty);
    }
}
