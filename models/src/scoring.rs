//! Log-probabilities of a prompt's own tokens from the model's logits at every position
//! (teacher forcing): row `i` of the logits is the distribution of token `i + 1`.

use crate::{TokenLogprob, TopLogprob};

/// Scores `prompt` from `logits` (`rows` × `vocab`, row-major; `rows` at least
/// `prompt.len() - 1`). Position 0 has no context and gets `None`; every other position gets
/// its token's natural-log probability and the `top` most likely tokens, best first (ties
/// by lower id). `text` names a token. Both values come from the same log-softmax row, so a
/// token that is the most likely one has exactly the top alternative's value.
pub fn score_prompt(
    logits: &[f32],
    vocab: usize,
    prompt: &[u32],
    top: usize,
    text: &dyn Fn(u32) -> String,
) -> Vec<Option<TokenLogprob>> {
    let mut out = Vec::with_capacity(prompt.len());
    if prompt.is_empty() {
        return out;
    }
    out.push(None);
    for (i, &token) in prompt.iter().enumerate().skip(1) {
        let Some(row) = logits.get((i - 1) * vocab..i * vocab) else {
            out.push(None);
            continue;
        };
        let lse = log_sum_exp(row);
        let lp = |id: u32| row.get(id as usize).map_or(f32::NEG_INFINITY, |x| x - lse);
        let top_logprobs = best(row, top)
            .into_iter()
            .map(|id| {
                let t = text(id);
                TopLogprob {
                    bytes: t.as_bytes().to_vec(),
                    token: t,
                    logprob: lp(id),
                }
            })
            .collect();
        let t = text(token);
        out.push(Some(TokenLogprob {
            bytes: t.as_bytes().to_vec(),
            token: t,
            logprob: lp(token),
            top_logprobs,
        }));
    }
    out
}

/// log(sum(exp(x))) computed stably (in f64).
fn log_sum_exp(row: &[f32]) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !max.is_finite() {
        return max;
    }
    let sum: f64 = row.iter().map(|&x| f64::from(x - max).exp()).sum();
    (f64::from(max) + sum.ln()) as f32
}

/// Ids of the `k` largest values, largest first (ties by lower id).
fn best(row: &[f32], k: usize) -> Vec<u32> {
    if k == 0 {
        return Vec::new();
    }
    let mut ids: Vec<u32> = Vec::with_capacity(k + 1);
    for (id, &x) in row.iter().enumerate() {
        let worse = |j: &u32| {
            let y = row[*j as usize];
            y < x || (y == x && *j > id as u32)
        };
        if ids.len() == k && !ids.last().is_some_and(worse) {
            continue;
        }
        let at = ids.iter().position(worse).unwrap_or(ids.len());
        ids.insert(at, id as u32);
        ids.truncate(k);
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(id: u32) -> String {
        format!("t{id}")
    }

    #[test]
    fn each_position_is_scored_by_the_row_before_it() {
        // Vocabulary of 3; two rows for a prompt of three tokens.
        let logits = [0.0, 1.0, 2.0, 5.0, 0.0, 0.0];
        let s = score_prompt(&logits, 3, &[7, 2, 0], 2, &name);
        assert!(s[0].is_none());
        let p1 = s[1].as_ref().unwrap();
        let z: f64 = [0.0f64, 1.0, 2.0].iter().map(|x| x.exp()).sum();
        assert!((f64::from(p1.logprob) - (2.0 - z.ln())).abs() < 1e-6);
        assert_eq!(p1.token, "t2");
        let tops: Vec<&str> = p1.top_logprobs.iter().map(|t| t.token.as_str()).collect();
        assert_eq!(tops, ["t2", "t1"]);
        // The chosen token is the best one: exactly the top value.
        assert_eq!(p1.logprob, p1.top_logprobs[0].logprob);
        let p2 = s[2].as_ref().unwrap();
        assert_eq!(p2.top_logprobs[0].token, "t0");
        assert!(p2.logprob > -0.02 && p2.logprob < 0.0);
        // Probabilities of a row sum to one.
        let total: f64 = (0..3u32)
            .map(|id| {
                f64::from(
                    score_prompt(&logits, 3, &[0, id], 0, &name)[1]
                        .as_ref()
                        .unwrap()
                        .logprob,
                )
                .exp()
            })
            .sum();
        assert!((total - 1.0).abs() < 1e-6);
    }

    #[test]
    fn top_k_is_ordered_with_ties_by_lower_id() {
        assert_eq!(best(&[1.0, 3.0, 3.0, 2.0, 0.5], 3), vec![1, 2, 3]);
        assert_eq!(best(&[1.0, 3.0], 5), vec![1, 0]);
        assert!(best(&[1.0], 0).is_empty());
    }
}
