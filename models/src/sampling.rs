//! Per-request sampling as a mistral.rs logits processor.
//!
//! mistral.rs 0.8.1 samples with one engine-wide random generator and reports log10
//! "logprobs" of raw logits under greedy decoding. OpenAI semantics need a per-request
//! `seed` and natural-log probabilities, so this processor does the sampling itself: it
//! applies logit bias, temperature, top-k, top-p and min-p, draws from its own seeded
//! generator, records the logprobs, and hands mistral.rs a tensor whose argmax is the
//! chosen token (mistral.rs runs greedy on it). The chosen token scores 0, the next most
//! likely alternatives score -1, -2, ... so that mistral.rs decodes their text for us;
//! everything else is -inf.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use candle_core::Tensor;
use mistralrs_core::CustomLogitsProcessor;
use rand::{Rng, SeedableRng};

/// Logprob facts recorded for one sampled position.
#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    /// Chosen token id.
    pub token: u32,
    /// Its natural-log probability.
    pub logprob: f32,
    /// Best alternatives (id, natural logprob), best first.
    pub top: Vec<(u32, f32)>,
    /// Tokens of context when this position was sampled: a second call for the same
    /// position (mistral.rs resamples when a grammar rejects the first choice) replaces
    /// the first record instead of adding one.
    pub position: usize,
}

/// Shared queue of recorded positions, drained by the engine's response adapter.
pub(crate) type Records = Arc<Mutex<VecDeque<Recorded>>>;

/// The processor; one per request.
pub(crate) struct RequestSampler {
    temperature: f32,
    top_p: f32,
    top_k: Option<usize>,
    min_p: Option<f32>,
    logit_bias: HashMap<u32, f32>,
    top_logprobs: usize,
    record: bool,
    rng: Mutex<rand::rngs::StdRng>,
    /// Where logprobs go when `record` is set.
    pub records: Records,
}

impl RequestSampler {
    pub(crate) fn new(s: &crate::Sampling) -> Self {
        let seed = s.seed.unwrap_or_else(rand::random);
        Self {
            temperature: s.temperature,
            top_p: s.top_p,
            top_k: s.top_k,
            min_p: s.min_p,
            logit_bias: s.logit_bias.clone(),
            top_logprobs: s.top_logprobs,
            record: s.logprobs,
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
            records: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// Picks the next token from penalised logits. Pure apart from the generator.
    pub(crate) fn choose(&self, logits: &mut [f32]) -> Option<Recorded> {
        for (&id, &bias) in &self.logit_bias {
            if let Some(l) = logits.get_mut(id as usize) {
                *l += bias;
            }
        }
        let token = if self.temperature <= 0.0 {
            argmax(logits)
        } else {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            sample(
                logits,
                self.temperature,
                self.top_k,
                self.top_p,
                self.min_p,
                rng.random::<f32>(),
            )
        };
        if !self.record {
            return Some(Recorded {
                token,
                logprob: 0.0,
                top: Vec::new(),
                position: 0,
            });
        }
        let lse = log_sum_exp(logits);
        let top = top_n(logits, self.top_logprobs)
            .into_iter()
            .map(|(id, l)| (id, l - lse))
            .collect();
        Some(Recorded {
            token,
            logprob: logits[token as usize] - lse,
            top,
            position: 0,
        })
    }
}

impl CustomLogitsProcessor for RequestSampler {
    fn apply(&self, logits: &Tensor, context: &[u32]) -> candle_core::Result<Tensor> {
        let mut v: Vec<f32> = logits.to_dtype(candle_core::DType::F32)?.to_vec1()?;
        let mut rec = self.choose(&mut v).expect("non-empty logits");
        rec.position = context.len();
        let mut out = vec![f32::NEG_INFINITY; v.len()];
        let mut rank = 1.0f32;
        for &(id, _) in &rec.top {
            if id != rec.token {
                out[id as usize] = -rank;
                rank += 1.0;
            }
        }
        out[rec.token as usize] = 0.0;
        let mut q = self.records.lock().unwrap_or_else(|e| e.into_inner());
        // A grammar rejected our first choice and mistral.rs asks again (with the
        // disallowed tokens masked): the new choice replaces the old one.
        if q.back().is_some_and(|last| last.position == rec.position) {
            q.pop_back();
        }
        q.push_back(rec);
        Tensor::from_vec(out, v.len(), logits.device())?.to_dtype(logits.dtype())
    }
}

fn argmax(v: &[f32]) -> u32 {
    let mut best = 0usize;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best as u32
}

fn log_sum_exp(v: &[f32]) -> f32 {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|&x| (x - m).exp()).sum::<f32>().ln()
}

/// The `n` largest entries, best first.
fn top_n(v: &[f32], n: usize) -> Vec<(u32, f32)> {
    if n == 0 {
        return Vec::new();
    }
    let mut idx: Vec<(u32, f32)> = v.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect();
    let n = n.min(idx.len());
    idx.select_nth_unstable_by(n - 1, |a, b| b.1.total_cmp(&a.1));
    idx.truncate(n);
    idx.sort_by(|a, b| b.1.total_cmp(&a.1));
    idx
}

/// Samples one index: softmax at `temperature`, then top-k, top-p (smallest prefix whose
/// mass reaches `top_p`) and min-p filters, renormalised, using the uniform draw `u`.
fn sample(
    logits: &[f32],
    temperature: f32,
    top_k: Option<usize>,
    top_p: f32,
    min_p: Option<f32>,
    u: f32,
) -> u32 {
    let scaled: Vec<f32> = logits.iter().map(|&l| l / temperature).collect();
    let lse = log_sum_exp(&scaled);
    let mut cands: Vec<(u32, f32)> = scaled
        .iter()
        .enumerate()
        .map(|(i, &l)| (i as u32, (l - lse).exp()))
        .filter(|&(_, p)| p > 0.0)
        .collect();
    if cands.is_empty() {
        return argmax(logits);
    }
    cands.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some(k) = top_k {
        cands.truncate(k.max(1));
    }
    if top_p < 1.0 {
        let mut mass = 0.0;
        let mut keep = cands.len();
        for (i, &(_, p)) in cands.iter().enumerate() {
            mass += p;
            if mass >= top_p {
                keep = i + 1;
                break;
            }
        }
        cands.truncate(keep.max(1));
    }
    if let Some(mp) = min_p {
        let floor = cands[0].1 * mp;
        cands.retain(|&(_, p)| p >= floor);
    }
    let total: f32 = cands.iter().map(|c| c.1).sum();
    let mut target = u * total;
    for &(id, p) in &cands {
        if target < p {
            return id;
        }
        target -= p;
    }
    cands.last().map(|c| c.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(s: crate::Sampling) -> RequestSampler {
        RequestSampler::new(&s)
    }

    #[test]
    fn greedy_picks_argmax_and_reports_natural_logprobs() {
        let s = sampler(crate::Sampling {
            temperature: 0.0,
            logprobs: true,
            top_logprobs: 2,
            ..Default::default()
        });
        let mut l = vec![1.0, 3.0, 2.0];
        let r = s.choose(&mut l).unwrap();
        assert_eq!(r.token, 1);
        let z: f32 = [1.0f32, 3.0, 2.0].iter().map(|x| x.exp()).sum();
        assert!((r.logprob - (3.0f32.exp() / z).ln()).abs() < 1e-5);
        assert_eq!(r.top.iter().map(|t| t.0).collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn logit_bias_can_force_a_token() {
        let mut bias = HashMap::new();
        bias.insert(0, 100.0);
        let s = sampler(crate::Sampling {
            temperature: 0.0,
            logit_bias: bias,
            ..Default::default()
        });
        assert_eq!(s.choose(&mut [1.0, 3.0, 2.0]).unwrap().token, 0);
    }

    #[test]
    fn same_seed_same_draws_different_seed_differs() {
        let draw = |seed| {
            let s = sampler(crate::Sampling {
                temperature: 1.0,
                seed: Some(seed),
                ..Default::default()
            });
            (0..64)
                .map(|_| s.choose(&mut vec![0.0; 50]).unwrap().token)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }

    #[test]
    fn filters_restrict_the_support() {
        let logits = [5.0, 4.9, 0.0, -1.0];
        for u in [0.0, 0.3, 0.6, 0.999] {
            assert!(sample(&logits, 1.0, Some(2), 1.0, None, u) < 2, "top_k");
            assert!(sample(&logits, 1.0, None, 0.5, None, u) == 0, "top_p");
            assert!(sample(&logits, 1.0, None, 1.0, Some(0.5), u) < 2, "min_p");
        }
        // Without filters every token is reachable.
        assert_eq!(sample(&logits, 1.0, None, 1.0, None, 0.9999), 3);
    }
}
