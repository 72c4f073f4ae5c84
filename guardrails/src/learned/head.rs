//! A softmax-regression head over sentence embeddings: inference and training.
//!
//! Class 0 is always the negative class (`none`); the positive score of a text is
//! `1 - p(none)` and its category the most probable other class. Trained by full-batch
//! gradient descent with Adam, L2 regularisation and class weights that balance the
//! classes (capped so a rare class is not over-fitted).

use serde::{Deserialize, Serialize};

/// A trained head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// Class names; `classes[0]` is the negative class.
    pub classes: Vec<String>,
    /// One weight row per class, each of the embedding's dimension.
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
        if self.weights.iter().any(|r| r.len() != dim) {
            return Err(format!("a weight row is not of dimension {dim}"));
        }
        let finite = self
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

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    /// Full-batch steps.
    pub epochs: usize,
    /// Adam step size.
    pub learning_rate: f32,
    /// L2 penalty on the weights.
    pub l2: f32,
    /// Largest class weight relative to the most frequent class.
    pub max_class_weight: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            epochs: 400,
            learning_rate: 0.05,
            l2: 1e-4,
            max_class_weight: 8.0,
        }
    }
}

/// Trains a head on embeddings `xs` with labels `ys` (indices into `classes`), every
/// example of weight 1.
pub fn train(xs: &[Vec<f32>], ys: &[usize], classes: Vec<String>, opt: TrainOptions) -> Head {
    train_weighted(xs, ys, &vec![1.0; xs.len()], classes, opt)
}

/// [`train`] with a weight per example (hard negatives can count more than easy ones).
pub fn train_weighted(
    xs: &[Vec<f32>],
    ys: &[usize],
    sample: &[f32],
    classes: Vec<String>,
    opt: TrainOptions,
) -> Head {
    let k = classes.len();
    let dim = xs.first().map_or(0, Vec::len);
    let mut counts = vec![0usize; k];
    for &y in ys {
        counts[y] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(1).max(1) as f32;
    let class_weight: Vec<f32> = counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                (most / c as f32).min(opt.max_class_weight)
            }
        })
        .collect();
    let total_weight: f32 = ys
        .iter()
        .zip(sample)
        .map(|(&y, s)| class_weight[y] * s)
        .sum::<f32>()
        .max(1.0);

    let mut w = vec![vec![0f32; dim]; k];
    let mut b = vec![0f32; k];
    let mut adam = Adam::new(k * (dim + 1));
    let mut grad = vec![0f32; k * (dim + 1)];
    for _ in 0..opt.epochs {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for ((x, &y), &sw) in xs.iter().zip(ys).zip(sample) {
            let logits: Vec<f32> = w.iter().zip(&b).map(|(wr, br)| dot(wr, x) + br).collect();
            let p = softmax(&logits);
            let cw = class_weight[y] * sw / total_weight;
            for c in 0..k {
                let d = (p[c] - if c == y { 1.0 } else { 0.0 }) * cw;
                if d == 0.0 {
                    continue;
                }
                let row = &mut grad[c * (dim + 1)..(c + 1) * (dim + 1)];
                for (g, xi) in row[..dim].iter_mut().zip(x) {
                    *g += d * xi;
                }
                row[dim] += d;
            }
        }
        for c in 0..k {
            let row = &mut grad[c * (dim + 1)..(c + 1) * (dim + 1)];
            for (g, wi) in row[..dim].iter_mut().zip(&w[c]) {
                *g += opt.l2 * wi;
            }
        }
        let step = adam.step(&grad, opt.learning_rate);
        for c in 0..k {
            let row = &step[c * (dim + 1)..(c + 1) * (dim + 1)];
            for (wi, s) in w[c].iter_mut().zip(&row[..dim]) {
                *wi -= s;
            }
            b[c] -= row[dim];
        }
    }
    Head {
        classes,
        weights: w,
        bias: b,
        threshold: 0.5,
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
        let head = train(
            &xs,
            &ys,
            vec!["none".into(), "a".into(), "b".into()],
            TrainOptions::default(),
        );
        assert!(head.validate(3).is_ok());
        let s = head.score(&[0.0, 0.0, 1.0]);
        assert_eq!(s.class, 2);
        assert!(s.positive > 0.9, "{s:?}");
        assert!(head.score(&[1.0, 0.0, 0.0]).positive < 0.1);
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
