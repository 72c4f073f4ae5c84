//! The sampling fields chat and legacy completions share, checked in one place: ranges,
//! stop sequences, logit biases, the seed (drawn when absent) and medserve's `top_k` /
//! `min_p`. Each error is a 400 naming the field.

use std::collections::HashMap;

use medserve_models::Sampling;

use super::{check_range, limits, Stop};
use crate::error::ApiError;

/// The request's sampling fields, as sent.
#[derive(Debug, Clone, Default)]
pub struct SamplingFields {
    /// `temperature`, [0, 2].
    pub temperature: Option<f32>,
    /// `top_p`, [0, 1].
    pub top_p: Option<f32>,
    /// `presence_penalty`, [-2, 2].
    pub presence_penalty: Option<f32>,
    /// `frequency_penalty`, [-2, 2].
    pub frequency_penalty: Option<f32>,
    /// `stop`: up to 4 non-empty sequences.
    pub stop: Option<Stop>,
    /// `logit_bias`: token id (as a string) to a bias in [-100, 100].
    pub logit_bias: Option<HashMap<String, f32>>,
    /// `seed`.
    pub seed: Option<i64>,
    /// `medserve.top_k`, at least 1.
    pub top_k: Option<u32>,
    /// `medserve.min_p`, [0, 1].
    pub min_p: Option<f32>,
}

impl SamplingFields {
    /// The checked sampling parameters (no budget, no logprobs: the caller sets those) and
    /// the seed: the request's, or a drawn non-negative one a client can send back.
    pub fn check(self) -> Result<(Sampling, i64), ApiError> {
        check_range("temperature", self.temperature, 0.0, 2.0)?;
        check_range("top_p", self.top_p, 0.0, 1.0)?;
        check_range("presence_penalty", self.presence_penalty, -2.0, 2.0)?;
        check_range("frequency_penalty", self.frequency_penalty, -2.0, 2.0)?;
        let stop = stop_sequences(self.stop)?;
        let logit_bias = logit_bias(self.logit_bias)?;
        if self.top_k == Some(0) {
            return Err(ApiError::invalid(
                "medserve.top_k",
                "`medserve.top_k` must be at least 1",
            ));
        }
        check_range("medserve.min_p", self.min_p, 0.0, 1.0)?;
        let seed = self
            .seed
            .unwrap_or_else(|| (rand::random::<u64>() >> 1) as i64);
        Ok((
            Sampling {
                temperature: self.temperature.unwrap_or(1.0),
                top_p: self.top_p.unwrap_or(1.0),
                top_k: self.top_k.map(|k| k as usize),
                min_p: self.min_p,
                seed: Some(seed as u64),
                stop,
                max_tokens: None,
                presence_penalty: self.presence_penalty.unwrap_or(0.0),
                frequency_penalty: self.frequency_penalty.unwrap_or(0.0),
                logit_bias,
                logprobs: false,
                top_logprobs: 0,
            },
            seed,
        ))
    }
}

fn stop_sequences(stop: Option<Stop>) -> Result<Vec<String>, ApiError> {
    let stop = match stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
    };
    if stop.len() > 4 {
        return Err(ApiError::invalid("stop", "at most 4 stop sequences"));
    }
    if let Some(long) = stop
        .iter()
        .find(|s| s.chars().count() > limits::MAX_STOP_CHARS)
    {
        return Err(ApiError::invalid(
            "stop",
            format!(
                "a stop sequence may be at most {} characters, got {}",
                limits::MAX_STOP_CHARS,
                long.chars().count()
            ),
        ));
    }
    if stop.iter().any(String::is_empty) {
        return Err(ApiError::invalid(
            "stop",
            "stop sequences must not be empty",
        ));
    }
    Ok(stop)
}

fn logit_bias(bias: Option<HashMap<String, f32>>) -> Result<HashMap<u32, f32>, ApiError> {
    let mut out = HashMap::new();
    for (k, v) in bias.unwrap_or_default() {
        let id: u32 = k.parse().map_err(|_| {
            ApiError::invalid(
                "logit_bias",
                format!("logit_bias keys must be token ids, got {k:?}"),
            )
        })?;
        if !(v.is_finite() && (-100.0..=100.0).contains(&v)) {
            return Err(ApiError::invalid(
                "logit_bias",
                format!("bias for token {id} must be between -100 and 100"),
            ));
        }
        out.insert(id, v);
    }
    Ok(out)
}
