//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in `medserve-rag`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A corpus document has malformed front matter or body.
    #[error("{path}:{line}: {message}")]
    Corpus {
        /// The document file.
        path: PathBuf,
        /// 1-based line number (0 when the problem is not tied to a line).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A MedQuAD XML file could not be parsed.
    #[error("{path}: invalid MedQuAD XML: {message}")]
    MedQuad {
        /// The XML file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Two documents given to one index build share an id.
    #[error("duplicate document id {0:?}")]
    DuplicateDocument(String),
    /// The cl100k tokenizer could not be initialised or used.
    #[error("chunk tokenizer: {0}")]
    Tokenizer(String),
    /// The ONNX Runtime shared library is not where we looked.
    #[error(
        "ONNX Runtime library not found at {path} (set ORT_DYLIB_PATH or run rag/fetch-embedder.sh)"
    )]
    OrtLibraryMissing {
        /// The path that was tried.
        path: PathBuf,
    },
    /// The ONNX Runtime library exists but could not be loaded or initialised.
    #[error("could not initialise ONNX Runtime from {path}: {message}")]
    OrtInit {
        /// The library path.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// A model or tokenizer file is missing from the model directory.
    #[error("embedding model file missing: {path} (run rag/fetch-embedder.sh)")]
    ModelFileMissing {
        /// The missing file.
        path: PathBuf,
    },
    /// The embedding model failed to load or to run.
    #[error("embedding model: {0}")]
    Embedding(String),
    /// A vector has the wrong number of dimensions.
    #[error("vector dimension mismatch: expected {expected}, got {got}")]
    DimensionMismatch {
        /// The index or model dimension.
        expected: usize,
        /// The dimension that was given.
        got: usize,
    },
    /// Build or search parameters are out of range.
    #[error("invalid parameter: {0}")]
    InvalidParams(String),
    /// Files in an index directory are missing, corrupt or from another version.
    #[error("index at {path} is unusable: {message}")]
    IndexCorrupt {
        /// The index directory or file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The HNSW library reported an error while dumping or loading.
    #[error("hnsw: {0}")]
    Hnsw(String),
    /// A JSON file could not be encoded or decoded.
    #[error("JSON error in {path}: {source}")]
    Json {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An [`Error::IndexCorrupt`] for `path`.
    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::IndexCorrupt {
            path: path.into(),
            message: message.into(),
        }
    }
}
