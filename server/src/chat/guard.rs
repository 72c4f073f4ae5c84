//! The input guard at run time: the sentence encoder adapter, loading the learned
//! detectors and the deployment policy at start-up, and running the input stage off the
//! async workers.

use std::path::Path;
use std::sync::Arc;

use medserve_guardrails::deploy::LoadedPolicy;
use medserve_guardrails::input::{self, Guard, InputCheck, InputError, InputReport};
use medserve_guardrails::learned::{self, Encoder, Learned, LoadedWeights};
use medserve_guardrails::vitals::Vitals;
use medserve_rag::Embedder;

use crate::error::ApiError;

/// The retrieval embedder as the guardrails' sentence encoder.
#[derive(Debug, Clone)]
pub struct EmbedderEncoder(pub Arc<Embedder>);

impl Encoder for EmbedderEncoder {
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.0.embed(texts).map_err(|e| e.to_string())
    }

    fn id(&self) -> &str {
        self.0.model_id()
    }
}

/// Loads the learned detectors from `weights` on `embedder` and the policy (`None`: the
/// shipped one), and installs the PHI tagger the policy asks for. Errors name the file.
pub fn load(
    embedder: Arc<Embedder>,
    weights: &Path,
    policy: Option<&Path>,
) -> Result<Guard, String> {
    let weights = LoadedWeights::load(weights)?;
    let policy = match policy {
        Some(p) => LoadedPolicy::load(p)?,
        None => LoadedPolicy::default(),
    };
    let tagger = policy
        .policy
        .phi
        .tagger
        .then(|| weights.weights.phi.clone());
    learned::install_tagger(tagger);
    let learned = Learned::new(Arc::new(EmbedderEncoder(embedder)), weights)?;
    Ok(Guard {
        learned: Some(learned),
        policy,
    })
}

/// What the input stage reads of a request, owned so it can move to a blocking thread.
#[derive(Debug, Clone, Default)]
pub struct InputText {
    /// The latest user message.
    pub latest_user: String,
    /// Earlier user turns, most recent first.
    pub earlier_user: Vec<String>,
    /// Structured vital signs.
    pub vitals: Option<Vitals>,
    /// Tool results after the latest user message.
    pub tool_results: Vec<String>,
}

/// Runs the input stage as request work (`crate::chat::work`: a blocking thread, one job per
/// core; the encoder takes milliseconds of CPU).
pub async fn check(
    guard: Arc<Guard>,
    numbers: String,
    text: InputText,
) -> Result<InputReport, ApiError> {
    let result = crate::chat::work::run("input stage", move || {
        let earlier: Vec<&str> = text.earlier_user.iter().map(String::as_str).collect();
        let tools: Vec<&str> = text.tool_results.iter().map(String::as_str).collect();
        input::check_input(InputCheck {
            latest_user: &text.latest_user,
            earlier_user: &earlier,
            vitals: text.vitals.as_ref(),
            tool_results: &tools,
            emergency_numbers: &numbers,
            guard: &guard,
        })
    })
    .await?;
    result.map_err(|e| match e {
        InputError::Vitals(e) => ApiError::invalid("medserve.vitals", e.to_string()),
        InputError::Encoder(e) => ApiError::Internal(format!("input stage: {e}")),
    })
}

/// The detectors in use, as listed in `/v1/models` and in every training record: the
/// SHA-256 of the weights file (null when only the rules run) and of the policy.
pub fn ids(guard: &Guard) -> serde_json::Value {
    serde_json::json!({
        "weights_sha256": guard.learned.as_ref().map(|l| l.sha256()),
        "policy_sha256": guard.policy.sha256,
    })
}
