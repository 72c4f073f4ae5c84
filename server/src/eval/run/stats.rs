//! Figures with their counts and 95% confidence intervals.
//!
//! Proportions: Wilson score interval. Means: normal approximation (mean ± 1.96·s/√n).
//! Percentiles: the distribution-free interval between two order statistics chosen from
//! the binomial(n, p) normal approximation. Every figure carries the count it rests on.

use serde::{Deserialize, Serialize};

const Z: f64 = 1.959_963_984_540_054;

/// Which direction is better for a figure (how a regression is recognised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Larger is better (recall, accuracy, tokens/s).
    Higher,
    /// Smaller is better (false alarms, leaks, latency).
    Lower,
}

/// One reported number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Figure {
    /// Stable id, `suite.name[.breakdown]`, matched across reports by `--compare`.
    pub id: String,
    /// Human label.
    pub label: String,
    /// The value.
    pub value: f64,
    /// Observations it rests on.
    pub n: usize,
    /// 95% confidence interval `[low, high]`.
    pub ci95: [f64; 2],
    /// `ratio` (0..1), `ms`, `tok/s` or `count`.
    pub unit: String,
    /// Which direction is better.
    pub better: Better,
    /// Chart group: figures of one group are drawn in one chart.
    pub group: String,
}

impl Figure {
    /// A proportion `k / n` with its Wilson interval.
    pub fn proportion(
        id: &str,
        label: &str,
        group: &str,
        k: usize,
        n: usize,
        better: Better,
    ) -> Self {
        let (lo, hi) = wilson(k, n);
        Self {
            id: id.into(),
            label: label.into(),
            value: if n == 0 { 0.0 } else { k as f64 / n as f64 },
            n,
            ci95: [lo, hi],
            unit: "ratio".into(),
            better,
            group: group.into(),
        }
    }

    /// The mean of `xs` with a normal-approximation interval.
    pub fn mean(
        id: &str,
        label: &str,
        group: &str,
        xs: &[f64],
        unit: &str,
        better: Better,
    ) -> Self {
        let (m, lo, hi) = mean_ci(xs);
        Self {
            id: id.into(),
            label: label.into(),
            value: m,
            n: xs.len(),
            ci95: [lo, hi],
            unit: unit.into(),
            better,
            group: group.into(),
        }
    }

    /// The `p`-quantile (0..1) of `xs` with its order-statistic interval.
    pub fn percentile(
        id: &str,
        label: &str,
        group: &str,
        xs: &[f64],
        p: f64,
        unit: &str,
        better: Better,
    ) -> Self {
        let (v, lo, hi) = percentile_ci(xs, p);
        Self {
            id: id.into(),
            label: label.into(),
            value: v,
            n: xs.len(),
            ci95: [lo, hi],
            unit: unit.into(),
            better,
            group: group.into(),
        }
    }

    /// Whether `self` (new) is worse than `old` beyond both intervals: the intervals do not
    /// overlap and the new value lies on the worse side.
    pub fn regressed_from(&self, old: &Figure) -> bool {
        if self.n == 0 || old.n == 0 {
            return false;
        }
        match self.better {
            Better::Higher => self.ci95[1] < old.ci95[0],
            Better::Lower => self.ci95[0] > old.ci95[1],
        }
    }
}

/// Wilson score interval of `k` successes in `n` trials (`(0, 1)` when `n` is 0).
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = k as f64 / n;
    let z2 = Z * Z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Mean and its 95% interval (`s/√n` with the sample standard deviation).
pub fn mean_ci(xs: &[f64]) -> (f64, f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (m, m, m);
    }
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    let half = Z * (var / n).sqrt();
    (m, m - half, m + half)
}

/// The `p`-quantile (nearest rank) and the order statistics bracketing it at 95%.
pub fn percentile_ci(xs: &[f64], p: f64) -> (f64, f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let rank = |r: f64| v[(r.ceil() as usize).clamp(1, n) - 1];
    let nf = n as f64;
    let half = Z * (nf * p * (1.0 - p)).sqrt();
    (rank(nf * p), rank(nf * p - half), rank(nf * p + half + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_a_published_example() {
        // Newcombe (1998), Statistics in Medicine 17:857-872, table I (method 3, Wilson
        // score): 81/263 -> 0.2553-0.3662.
        let (lo, hi) = wilson(81, 263);
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        // Same table: 15/148 -> 0.0624-0.1605; 0/20 -> 0-0.1611.
        let (lo, hi) = wilson(15, 148);
        assert!(
            (lo - 0.0624).abs() < 5e-4 && (hi - 0.1605).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 20);
        assert!(lo == 0.0 && (hi - 0.1611).abs() < 5e-4, "{hi}");
    }

    #[test]
    fn intervals_bracket_their_value() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        let (m, lo, hi) = mean_ci(&xs);
        assert!((m - 50.5).abs() < 1e-9 && lo < m && m < hi);
        let (p50, lo, hi) = percentile_ci(&xs, 0.5);
        assert_eq!(p50, 50.0);
        assert!(
            lo < 50.0 && hi > 50.0 && lo >= 38.0 && hi <= 62.0,
            "{lo} {hi}"
        );
        let (p99, _, hi) = percentile_ci(&xs, 0.99);
        assert_eq!((p99, hi), (99.0, 100.0));
    }

    #[test]
    fn a_regression_needs_intervals_apart_on_the_worse_side() {
        let old = Figure::proportion("t.r", "r", "g", 95, 100, Better::Higher);
        let same = Figure::proportion("t.r", "r", "g", 92, 100, Better::Higher);
        let worse = Figure::proportion("t.r", "r", "g", 60, 100, Better::Higher);
        let better = Figure::proportion("t.r", "r", "g", 100, 100, Better::Higher);
        assert!(!same.regressed_from(&old));
        assert!(worse.regressed_from(&old));
        assert!(!better.regressed_from(&old));
        let old_fa = Figure::proportion("t.f", "f", "g", 2, 100, Better::Lower);
        let new_fa = Figure::proportion("t.f", "f", "g", 30, 100, Better::Lower);
        assert!(new_fa.regressed_from(&old_fa) && !old_fa.regressed_from(&new_fa));
    }
}
