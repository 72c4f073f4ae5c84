//! A softmax head over sentence embeddings, with an optional hidden ReLU layer: inference
//! and training.
//!
//! Class 0 is always the negative class (`none`); the positive score of a text is
//! `1 - p(none)` and its category the most probable other class. Heads are trained with
//! one hidden layer by mini-batch Adam ([`train_mlp`]), L2 regularisation and class weights
//! that balance the classes (capped so a rare class is not over-fitted); a weights file
//! without a hidden layer (a linear head, as trained before 2026-12-05) still loads.

use serde::{Deserialize, Serialize};

/// The hidden layer of a head: `relu(weights · x + bias)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hidden {
    /// One row per hidden unit, each of the input's dimension.
    pub weights: Vec<Vec<f32>>,
    /// One bias per hidden unit.
    pub bias: Vec<f32>,
}

impl Hidden {
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        self.weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| (dot(w, x) + b).max(0.0))
            .collect()
    }
}

/// A trained head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Class names; `classes[0]` is the negative class.
    pub classes: Vec<String>,
    /// The hidden layer, if any (absent: a linear head on the input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hidden>,
    /// One weight row per class, each of the hidden layer's width (or the input's
    /// dimension without one).
    pub weights: Vec<Vec<f32>>,
    /// One bias per class.
    pub bias: Vec<f32>,
    /// Positive when `1 - p(classes[0]) >= threshold` (chosen on the validation split).
    pub threshold: f32,
}

/// What the head says about one embedding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadScore {
    /// `1 - p(negative class)`.
    pub positive: f32,
    /// Index of the most probable positive class (never 0).
    pub class: usize,
}

impl Head {
    /// Checks shapes: every row of dimension `dim`, one bias per class, at least two
    /// classes, finite numbers.
    pub fn validate(&self, dim: usize) -> Result<(), String> {
        let k = self.classes.len();
        if k < 2 || self.weights.len() != k || self.bias.len() != k {
            return Err(format!(
                "{k} classes, {} weight rows, {} biases",
                self.weights.len(),
                self.bias.len()
            ));
        }
        let out_dim = match &self.hidden {
            Some(h) => {
                if h.weights.is_empty()
                    || h.weights.len() != h.bias.len()
                    || h.weights.iter().any(|r| r.len() != dim)
                {
                    return Err(format!(
                        "hidden layer: {} rows, {} biases, input dimension {dim}",
                        h.weights.len(),
                        h.bias.len()
                    ));
                }
                h.weights.len()
            }
            None => dim,
        };
        if self.weights.iter().any(|r| r.len() != out_dim) {
            return Err(format!("a weight row is not of dimension {out_dim}"));
        }
        let hidden_finite = self.hidden.as_ref().is_none_or(|h| {
            h.weights
                .iter()
                .flatten()
                .chain(&h.bias)
                .all(|v| v.is_finite())
        });
        let finite = hidden_finite
            && self
                .weights
                .iter()
                .flatten()
                .chain(&self.bias)
                .all(|v| v.is_finite());
        if !finite || !(0.0..=1.0).contains(&self.threshold) {
            return Err("weights must be finite and the threshold in 0..1".into());
        }
        Ok(())
    }

    /// Class probabilities for `x`.
    pub fn probs(&self, x: &[f32]) -> Vec<f32> {
        let h;
        let x = match &self.hidden {
            Some(hidden) => {
                h = hidden.forward(x);
                &h[..]
            }
            None => x,
        };
        let logits: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| dot(w, x) + b)
            .collect();
        softmax(&logits)
    }

    /// The positive score and class of `x`.
    pub fn score(&self, x: &[f32]) -> HeadScore {
        let p = self.probs(x);
        let class = (1..p.len())
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap_or(1);
        HeadScore {
            positive: 1.0 - p[0],
            class,
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Settings of [`train_mlp`].
#[derive(Debug, Clone, Copy)]
pub struct MlpOptions {
    /// Hidden units.
    pub hidden: usize,
    /// Passes over the data.
    pub epochs: usize,
    /// Examples per Adam step.
    pub batch: usize,
    /// Adam step size.
    pub learning_rate: f32,
    /// L2 penalty on the weights (not the biases).
    pub l2: f32,
    /// Largest class weight relative to the most frequent class.
    pub max_class_weight: f32,
    /// Seeds the initial weights and the order of examples (training is deterministic).
    pub seed: u64,
}

impl Default for MlpOptions {
    fn default() -> Self {
        MlpOptions {
            hidden: 128,
            epochs: 60,
            batch: 64,
            learning_rate: 1e-3,
            l2: 1e-4,
            max_class_weight: 8.0,
            seed: 17,
        }
    }
}

/// Trains a head with one hidden ReLU layer (softmax over the classes on top) by
/// mini-batch Adam; `sample` weights each example (hard negatives can count more than easy
/// ones).
pub fn train_mlp(
    xs: &[Vec<f32>],
    ys: &[usize],
    sample: &[f32],
    classes: Vec<String>,
    opt: MlpOptions,
) -> Head {
    let k = classes.len();
    let dim = xs.first().map_or(0, Vec::len);
    let nh = opt.hidden.max(1);
    let class_weight = class_weights(ys, k, opt.max_class_weight);
    let mean_weight: f32 = ys
        .iter()
        .zip(sample)
        .map(|(&y, s)| class_weight[y] * s)
        .sum::<f32>()
        / xs.len().max(1) as f32;

    // Parameters, flat: w1 [nh x dim], b1 [nh], w2 [k x nh], b2 [k].
    let (o_b1, o_w2, o_b2) = (nh * dim, nh * dim + nh, nh * dim + nh + k * nh);
    let n_params = o_b2 + k;
    let mut p = vec![0f32; n_params];
    let mut rng = SplitMix(opt.seed);
    let s1 = (2.0 / dim.max(1) as f32).sqrt();
    let s2 = (2.0 / nh as f32).sqrt();
    for v in &mut p[..o_b1] {
        *v = rng.normal() * s1;
    }
    for v in &mut p[o_w2..o_b2] {
        *v = rng.normal() * s2;
    }
    let mut adam = Adam::new(n_params);
    let mut grad = vec![0f32; n_params];
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut hidden = vec![0f32; nh];
    let mut d_hidden = vec![0f32; nh];
    for _ in 0..opt.epochs {
        rng.shuffle(&mut order);
        for batch in order.chunks(opt.batch.max(1)) {
            grad.iter_mut().for_each(|g| *g = 0.0);
            let scale = 1.0 / (batch.len() as f32 * mean_weight.max(1e-6));
            for &i in batch {
                let (x, y) = (&xs[i], ys[i]);
                for (j, h) in hidden.iter_mut().enumerate() {
                    *h = (dot(&p[j * dim..(j + 1) * dim], x) + p[o_b1 + j]).max(0.0);
                }
                let logits: Vec<f32> = (0..k)
                    .map(|c| dot(&p[o_w2 + c * nh..o_w2 + (c + 1) * nh], &hidden) + p[o_b2 + c])
                    .collect();
                let pr = softmax(&logits);
                let cw = class_weight[y] * sample[i] * scale;
                d_hidden.iter_mut().for_each(|d| *d = 0.0);
                for c in 0..k {
                    let d = (pr[c] - if c == y { 1.0 } else { 0.0 }) * cw;
                    let w2 = o_w2 + c * nh;
                    for j in 0..nh {
                        grad[w2 + j] += d * hidden[j];
                        d_hidden[j] += d * p[w2 + j];
                    }
                    grad[o_b2 + c] += d;
                }
                for j in 0..nh {
                    if hidden[j] <= 0.0 || d_hidden[j] == 0.0 {
                        continue;
                    }
                    let dj = d_hidden[j];
                    for (g, xi) in grad[j * dim..(j + 1) * dim].iter_mut().zip(x) {
                        *g += dj * xi;
                    }
                    grad[o_b1 + j] += dj;
                }
            }
            for (g, v) in grad[..o_b1].iter_mut().zip(&p[..o_b1]) {
                *g += opt.l2 * v;
            }
            for (g, v) in grad[o_w2..o_b2].iter_mut().zip(&p[o_w2..o_b2]) {
                *g += opt.l2 * v;
            }
            let step = adam.step(&grad, opt.learning_rate);
            for (v, s) in p.iter_mut().zip(&step) {
                *v -= s;
            }
        }
    }
    let rows = |flat: &[f32], width: usize| -> Vec<Vec<f32>> {
        flat.chunks(width).map(<[f32]>::to_vec).collect()
    };
    Head {
        classes,
        hidden: Some(Hidden {
            weights: rows(&p[..o_b1], dim),
            bias: p[o_b1..o_w2].to_vec(),
        }),
        weights: rows(&p[o_w2..o_b2], nh),
        bias: p[o_b2..].to_vec(),
        threshold: 0.5,
    }
}

/// Per-class weights that balance the classes, capped at `max` (0 for an absent class).
fn class_weights(ys: &[usize], k: usize, max: f32) -> Vec<f32> {
    let mut counts = vec![0usize; k];
    for &y in ys {
        counts[y] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1) as f32;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (most / c as f32).min(max)
            }
        })
        .collect()
}

/// A small deterministic generator (SplitMix64) for initial weights and shuffling.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn unit(&mut self) -> f32 {
        ((self.next() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }

    fn shuffle(&mut self, xs: &mut [usize]) {
        for i in (1..xs.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            xs.swap(i, j);
        }
    }
}

/// Adam optimiser state.
pub(crate) struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    pub(crate) fn new(n: usize) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// The update to subtract for gradient `g`.
    pub(crate) fn step(&mut self, g: &[f32], lr: f32) -> Vec<f32> {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        self.m
            .iter_mut()
            .zip(self.v.iter_mut())
            .zip(g)
            .map(|((m, v), &gi)| {
                *m = B1 * *m + (1.0 - B1) * gi;
                *v = B2 * *v + (1.0 - B2) * gi * gi;
                lr * (*m / c1) / ((*v / c2).sqrt() + 1e-8)
            })
            .collect()
    }
}

/// The highest threshold at which at least `recall` of the positive scores are at or above
/// it (so the recall target holds on these scores); 0.5 when there are no positives.
pub fn threshold_for_recall(positive_scores: &[f32], recall: f64) -> f32 {
    if positive_scores.is_empty() {
        return 0.5;
    }
    let mut s = positive_scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let need = ((recall * s.len() as f64).ceil() as usize).clamp(1, s.len());
    s[need - 1].clamp(0.0, 1.0)
}

/// The lowest threshold at which at most `rate` of the negative scores are at or above it
/// (so the false-alarm bound holds on these scores).
pub fn threshold_for_false_alarms(negative_scores: &[f32], rate: f64) -> f32 {
    if negative_scores.is_empty() {
        return 0.5;
    }
    let mut s = negative_scores.to_vec();
    s.sort_by(|a, b| b.total_cmp(a));
    let allowed = (rate * s.len() as f64).floor() as usize;
    // Just above the (allowed+1)-th highest negative score.
    s.get(allowed).map_or(0.0, |v| (v + 1e-6).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_problem_and_scores_classes() {
        // Three classes along three axes.
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..60 {
            let c = i % 3;
            let mut x = vec![0.05 * (i as f32 % 7.0) / 7.0; 3];
            x[c] += 1.0;
            xs.push(x);
            ys.push(c);
        }
        let head = train_mlp(
            &xs,
            &ys,
            &vec![1.0; xs.len()],
            vec!["none".into(), "a".into(), "b".into()],
            MlpOptions {
                hidden: 8,
                epochs: 200,
                batch: 16,
                learning_rate: 0.01,
                ..MlpOptions::default()
            },
        );
        assert!(head.validate(3).is_ok());
        let s = head.score(&[0.0, 0.0, 1.0]);
        assert_eq!(s.class, 2);
        assert!(s.positive > 0.9, "{s:?}");
        assert!(head.score(&[1.0, 0.0, 0.0]).positive < 0.1);
    }

    #[test]
    fn the_hidden_layer_learns_xor_deterministically() {
        // XOR of the first two coordinates: no linear head separates it.
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..200 {
            let (a, b) = ((i % 2) as f32, ((i / 2) % 2) as f32);
            let jitter = 0.05 * ((i * 7 % 11) as f32 / 11.0);
            xs.push(vec![a + jitter, b - jitter, 1.0]);
            ys.push(usize::from((a > 0.5) != (b > 0.5)));
        }
        let classes = vec!["none".to_string(), "x".to_string()];
        let opt = MlpOptions {
            hidden: 16,
            epochs: 300,
            batch: 16,
            learning_rate: 0.01,
            ..MlpOptions::default()
        };
        let head = train_mlp(&xs, &ys, &vec![1.0; xs.len()], classes.clone(), opt);
        assert!(head.validate(3).is_ok());
        let right = xs
            .iter()
            .zip(&ys)
            .filter(|(x, &y)| (head.score(x).positive >= 0.5) == (y == 1))
            .count();
        assert_eq!(right, xs.len());
        // Deterministic: the same seed gives the same head.
        assert_eq!(
            head,
            train_mlp(&xs, &ys, &vec![1.0; xs.len()], classes, opt)
        );
        // Saved and read back, a head with a hidden layer checks its shapes.
        let back: Head = serde_json::from_str(&serde_json::to_string(&head).unwrap()).unwrap();
        assert_eq!(back, head);
        assert!(back.validate(4).is_err());
    }

    #[test]
    fn false_alarm_threshold_keeps_the_bound() {
        let neg = [0.9, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1];
        let t = threshold_for_false_alarms(&neg, 0.1);
        assert_eq!(neg.iter().filter(|&&s| s >= t).count(), 1);
        assert!(t > 0.5 && t < 0.51);
    }

    #[test]
    fn threshold_meets_the_recall_asked_for() {
        let scores = [0.9, 0.8, 0.7, 0.2, 0.1];
        assert_eq!(threshold_for_recall(&scores, 0.6), 0.7);
        assert_eq!(threshold_for_recall(&scores, 1.0), 0.1);
        assert_eq!(threshold_for_recall(&[], 0.9), 0.5);
    }

    #[test]
    fn validate_rejects_wrong_shapes() {
        let h = Head {
            classes: vec!["none".into(), "x".into()],
            hidden: None,
            weights: vec![vec![0.0; 2]; 2],
            bias: vec![0.0; 2],
            threshold: 0.5,
        };
        assert!(h.validate(2).is_ok());
        assert!(h.validate(3).is_err());
        let bad = Head {
            threshold: 2.0,
            ..h
        };
        assert!(bad.validate(2).is_err());
    }
}
