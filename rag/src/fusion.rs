//! Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009).

use serde::{Deserialize, Serialize};

/// The usual RRF constant.
pub const DEFAULT_RRF_K: f32 = 60.0;

/// Fuses ranked lists of ids (best first) with `score(id) = Σ 1 / (k + rank)`, ranks from 1.
/// Returns `(id, score)` best first; ties go to the id with the better best rank, then the
/// smaller id. An id repeated within one list counts at its first position only.
pub fn reciprocal_rank_fusion(lists: &[&[usize]], k: f32) -> Vec<(usize, f32)> {
    let mut acc: std::collections::HashMap<usize, (f32, usize)> = Default::default();
    for list in lists {
        let mut seen = std::collections::HashSet::new();
        for (i, &id) in list.iter().enumerate() {
            if !seen.insert(id) {
                continue;
            }
            let rank = i + 1;
            let entry = acc.entry(id).or_insert((0.0, usize::MAX));
            entry.0 += 1.0 / (k + rank as f32);
            entry.1 = entry.1.min(rank);
        }
    }
    let mut fused: Vec<(usize, f32, usize)> = acc
        .into_iter()
        .map(|(id, (score, best))| (id, score, best))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    fused
        .into_iter()
        .map(|(id, score, _)| (id, score))
        .collect()
}

/// A chunk position with a score (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    /// Position of the chunk in the index (`Index::chunk_at`).
    pub index: usize,
    /// Cosine similarity (dense) or BM25 score (lexical).
    pub score: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_reciprocal_ranks_summed() {
        let dense = [7usize, 3, 9];
        let lexical = [3usize, 5, 7];
        let fused = reciprocal_rank_fusion(&[&dense, &lexical], 60.0);
        let score = |id| fused.iter().find(|(i, _)| *i == id).map(|(_, s)| *s);
        assert!((score(3).unwrap_or(0.0) - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-7);
        assert!((score(7).unwrap_or(0.0) - (1.0 / 61.0 + 1.0 / 63.0)).abs() < 1e-7);
        assert!((score(9).unwrap_or(0.0) - 1.0 / 63.0).abs() < 1e-7);
        assert!((score(5).unwrap_or(0.0) - 1.0 / 62.0).abs() < 1e-7);
        let order: Vec<usize> = fused.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, vec![3, 7, 5, 9]);
    }

    #[test]
    fn agreement_beats_a_single_first_place() {
        // 4 is first in one list only; 8 is second in both.
        let fused = reciprocal_rank_fusion(&[&[4, 8], &[1, 8]], 60.0);
        assert_eq!(fused[0].0, 8);
        // Ties (4 and 1 both rank 1 once) go to the smaller id.
        assert_eq!(fused[1].0, 1);
        assert_eq!(fused[2].0, 4);
    }

    #[test]
    fn empty_and_duplicate_inputs() {
        assert!(reciprocal_rank_fusion(&[], 60.0).is_empty());
        assert!(reciprocal_rank_fusion(&[&[], &[]], 60.0).is_empty());
        let fused = reciprocal_rank_fusion(&[&[2, 2, 3]], 60.0);
        assert_eq!(fused.len(), 2);
        assert!((fused[0].1 - 1.0 / 61.0).abs() < 1e-7);
        assert!((fused[1].1 - 1.0 / 63.0).abs() < 1e-7);
    }
}
