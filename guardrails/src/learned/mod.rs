//! Learned detectors on the shipped sentence encoder, beside the rules.
//!
//! - [`head::Head`]: softmax heads over message embeddings (all-MiniLM-L6-v2): emergency
//!   vs not (with a category), harmful request vs not (with a principle).
//! - [`tagger::Tagger`]: the PHI token tagger (names and places) on surface features.
//!
//! The weights live in one JSON file ([`Weights`], `guardrails/weights/heads.json`,
//! written by `medserve guardrails train`); its SHA-256 names the detectors in
//! `/v1/models` and in every training record. The encoder itself is behind [`Encoder`] so
//! this crate stays free of ONNX Runtime: the server passes the retrieval embedder in.

pub mod data;
pub mod head;
pub mod tagger;
pub mod train;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::harmful::HarmCategory;
use crate::red_flags::{self, Category, Filtered};

/// The emergency head's input: the text's embedding, then what the rules found in the same
/// text ([`Filtered::features`]: cues accepted, or dropped as negated, historical,
/// information-seeking or harmless). The rules know negation and history; the embedding
/// knows wording. The head weighs both.
pub fn emergency_input(embedding: &[f32], text: &str) -> Vec<f32> {
    let d = red_flags::detect(text);
    let mut x = embedding.to_vec();
    x.extend(d.filtered.features(d.is_emergency()));
    x
}

/// Format version of the weights file.
pub const FORMAT: u32 = 1;

/// Where `medserve guardrails train` writes the weights and the server reads them by
/// default (relative to the working directory).
pub const DEFAULT_WEIGHTS: &str = "guardrails/weights/heads.json";

/// A sentence encoder: unit-length embeddings, one per text.
pub trait Encoder: Send + Sync {
    /// Embeds `texts`.
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String>;
    /// The encoder's id; weights name the encoder they were trained on.
    fn id(&self) -> &str;
}

/// The weights of every learned detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weights {
    /// [`FORMAT`].
    pub format: u32,
    /// Id of the encoder the heads were trained on.
    pub encoder: String,
    /// Embedding dimension.
    pub dim: usize,
    /// Emergency head over [`emergency_input`]: `none` then the red-flag categories
    /// (snake_case).
    pub emergency: head::Head,
    /// Harmful-request head: `none` then principles `"1"`..`"9"`.
    pub harmful: head::Head,
    /// Prompt-injection head: `none`, `injection` (user turns, passages, tool results).
    pub injection: head::Head,
    /// The PHI tagger.
    pub phi: tagger::Tagger,
    /// What the weights were trained on (set sizes, sources) and their validation figures.
    pub provenance: serde_json::Value,
}

/// Weights with their file hash.
#[derive(Debug, Clone)]
pub struct LoadedWeights {
    /// The weights.
    pub weights: Weights,
    /// SHA-256 of the file.
    pub sha256: String,
}

impl LoadedWeights {
    /// Reads and checks a weights file; the error names the file and what is wrong.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("guardrail weights {}: {e}", path.display()))?;
        Self::from_bytes(&bytes).map_err(|e| format!("guardrail weights {}: {e}", path.display()))
    }

    /// Parses and checks weights.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        use sha2::{Digest, Sha256};
        let weights: Weights =
            serde_json::from_slice(bytes).map_err(|e| format!("not a weights file: {e}"))?;
        if weights.format != FORMAT {
            return Err(format!(
                "format {} (this build reads {FORMAT})",
                weights.format
            ));
        }
        weights
            .emergency
            .validate(weights.dim + Filtered::FEATURES)
            .map_err(|e| format!("emergency head: {e}"))?;
        weights
            .harmful
            .validate(weights.dim)
            .map_err(|e| format!("harmful head: {e}"))?;
        weights
            .injection
            .validate(weights.dim)
            .map_err(|e| format!("injection head: {e}"))?;
        for c in &weights.emergency.classes[1..] {
            Category::from_name(c)
                .ok_or_else(|| format!("emergency head: unknown category {c:?}"))?;
        }
        for c in &weights.harmful.classes[1..] {
            c.parse::<u8>()
                .ok()
                .and_then(HarmCategory::from_principle)
                .ok_or_else(|| format!("harmful head: unknown principle {c:?}"))?;
        }
        weights.phi.validate()?;
        Ok(LoadedWeights {
            weights,
            sha256: hex::encode(Sha256::digest(bytes)),
        })
    }
}

/// What the learned heads say about one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageScores {
    /// Emergency score (`1 - p(none)`), the highest over the message's windows.
    pub emergency: f32,
    /// The most probable category of the window with that score.
    pub emergency_category: Category,
    /// Whether `emergency` reaches the head's threshold.
    pub is_emergency: bool,
    /// Harmful-request score, highest over windows.
    pub harmful: f32,
    /// Its most probable principle.
    pub harmful_category: HarmCategory,
    /// Whether `harmful` reaches the head's threshold.
    pub is_harmful: bool,
    /// Prompt-injection score, highest over windows.
    pub injection: f32,
    /// Whether `injection` reaches the head's threshold.
    pub is_injection: bool,
}

/// The learned detectors, ready to score messages.
pub struct Learned {
    encoder: Arc<dyn Encoder>,
    weights: LoadedWeights,
}

impl std::fmt::Debug for Learned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Learned")
            .field("sha256", &self.weights.sha256)
            .finish_non_exhaustive()
    }
}

impl Learned {
    /// Pairs weights with the encoder they were trained on (checked by id and dimension).
    pub fn new(encoder: Arc<dyn Encoder>, weights: LoadedWeights) -> Result<Self, String> {
        if encoder.id() != weights.weights.encoder {
            return Err(format!(
                "guardrail weights were trained on encoder {:?}, the server loaded {:?}",
                weights.weights.encoder,
                encoder.id()
            ));
        }
        let probe = encoder.encode(&["dimension probe"])?;
        let dim = probe.first().map_or(0, Vec::len);
        if dim != weights.weights.dim {
            return Err(format!(
                "guardrail weights expect {}-dimensional embeddings, the encoder gives {dim}",
                weights.weights.dim
            ));
        }
        Ok(Learned { encoder, weights })
    }

    /// SHA-256 of the weights file.
    pub fn sha256(&self) -> &str {
        &self.weights.sha256
    }

    /// The weights.
    pub fn weights(&self) -> &Weights {
        &self.weights.weights
    }

    /// Prompt-injection score of each text (highest over its windows), and whether it
    /// reaches the head's threshold.
    pub fn injection(&self, texts: &[&str]) -> Result<Vec<(f32, bool)>, String> {
        Ok(self
            .score(texts)?
            .iter()
            .map(|s| (s.injection, s.is_injection))
            .collect())
    }

    /// Scores each message (one encoder call for all their windows).
    pub fn score(&self, messages: &[&str]) -> Result<Vec<MessageScores>, String> {
        let mut all: Vec<&str> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            for w in windows(m) {
                all.push(w);
                owner.push(i);
            }
        }
        let vectors = if all.is_empty() {
            Vec::new()
        } else {
            self.encoder.encode(&all)?
        };
        let w = &self.weights.weights;
        let mut out: Vec<MessageScores> = messages
            .iter()
            .map(|_| MessageScores {
                emergency: 0.0,
                emergency_category: Category::Cardiac,
                is_emergency: false,
                harmful: 0.0,
                harmful_category: HarmCategory::CompetenceCompassionDignity,
                is_harmful: false,
                injection: 0.0,
                is_injection: false,
            })
            .collect();
        for ((v, &i), text) in vectors.iter().zip(&owner).zip(&all) {
            let e = w.emergency.score(&emergency_input(v, text));
            let s = &mut out[i];
            if e.positive > s.emergency {
                s.emergency = e.positive;
                s.emergency_category =
                    Category::from_name(&w.emergency.classes[e.class]).unwrap_or(Category::Cardiac);
            }
            s.injection = s.injection.max(w.injection.score(v).positive);
            let h = w.harmful.score(v);
            if h.positive > s.harmful {
                s.harmful = h.positive;
                s.harmful_category = w.harmful.classes[h.class]
                    .parse::<u8>()
                    .ok()
                    .and_then(HarmCategory::from_principle)
                    .unwrap_or(HarmCategory::CompetenceCompassionDignity);
            }
        }
        for s in &mut out {
            s.is_emergency = s.emergency >= w.emergency.threshold;
            s.is_harmful = s.harmful >= w.harmful.threshold;
            s.is_injection = s.injection >= w.injection.threshold;
        }
        Ok(out)
    }
}

/// Longest text embedded whole; longer messages are also read in windows of sentences.
pub const WHOLE_MAX_BYTES: usize = 600;
/// Target size of a window of sentences.
pub const WINDOW_BYTES: usize = 360;

/// The pieces of a message the heads read: the whole message when short, else windows of
/// consecutive sentences of about [`WINDOW_BYTES`] (each sentence in at least one window,
/// a sentence longer than a window is cut at a word). Linear in the length.
pub fn windows(text: &str) -> Vec<&str> {
    let t = text.trim();
    if t.is_empty() {
        return Vec::new();
    }
    if t.len() <= WHOLE_MAX_BYTES {
        return vec![t];
    }
    let mut out = Vec::new();
    let mut start = 0usize;
    let bytes = t.as_bytes();
    let mut last_break = None;
    let mut i = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b'.' | b'!' | b'?' | b'\n') {
            last_break = Some(i + 1);
        }
        if i - start >= WINDOW_BYTES {
            let mut cut = last_break.filter(|&c| c > start).unwrap_or_else(|| {
                // No sentence end: cut at the last space.
                t[start..i].rfind(' ').map_or(i, |p| start + p + 1)
            });
            while !t.is_char_boundary(cut) {
                cut += 1;
            }
            if cut <= start {
                cut = i;
                while !t.is_char_boundary(cut) {
                    cut += 1;
                }
            }
            let piece = t[start..cut].trim();
            if !piece.is_empty() {
                out.push(piece);
            }
            start = cut;
            last_break = None;
        }
        i += 1;
    }
    let piece = t[start..].trim();
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

static TAGGER: OnceLock<Option<Arc<tagger::Tagger>>> = OnceLock::new();

/// Installs the PHI tagger the redactor uses (once, at start-up; `None`: rules only).
/// Returns false when one was already in use.
pub fn install_tagger(t: Option<tagger::Tagger>) -> bool {
    TAGGER.set(t.map(Arc::new)).is_ok()
}

/// The PHI tagger in use: the installed one, else the repository's weights (tests and
/// command-line tools run inside the repository), else none (rules only).
pub fn phi_tagger() -> Option<&'static Arc<tagger::Tagger>> {
    TAGGER
        .get_or_init(|| {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/heads.json");
            LoadedWeights::load(&path)
                .ok()
                .map(|w| Arc::new(w.weights.phi))
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_one_window() {
        assert_eq!(windows("  chest pain  "), vec!["chest pain"]);
        assert!(windows("   ").is_empty());
    }

    #[test]
    fn long_messages_are_covered_by_windows_of_sentences() {
        let s = "My day was long and I walked the dog twice. ".repeat(40)
            + "Now I cannot breathe at all. "
            + &"We had soup. ".repeat(30);
        let w = windows(&s);
        assert!(w.len() > 3);
        assert!(
            w.iter().all(|p| p.len() <= WINDOW_BYTES + 60),
            "{:?}",
            w.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
        assert!(w.iter().any(|p| p.contains("cannot breathe")));
        let total: usize = w.iter().map(|p| p.len()).sum();
        assert!(total + w.len() * 2 >= s.trim().len() - 5);
    }

    #[test]
    fn windows_are_linear_and_safe_on_odd_input() {
        let s = "é".repeat(100_000);
        let w = windows(&s);
        assert!(!w.is_empty());
        let nospace = "x".repeat(5000);
        assert!(windows(&nospace).len() >= 10);
    }
}
