//! Random-weight GGUF models of any Llama shape (`medserve model synth`): benchmarks and
//! tests at sizes whose weights cannot be downloaded here. The tokenizer and chat template
//! come from a donor GGUF, so the model takes the same prompts; the weights are seeded
//! uniform noise (±0.04, about the spread of trained projections), so the text is noise
//! too while every operation costs what it costs in a trained model of that shape.

use std::fs::File;
use std::path::Path;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::{Error, Result};

/// The shape of a Llama-architecture model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Embedding width.
    pub hidden: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    pub kv_heads: usize,
    /// Feed-forward width.
    pub ffn: usize,
}

impl Shape {
    /// Parameters of the model with a vocabulary of `vocab` (untied output layer).
    pub fn parameters(&self, vocab: usize) -> usize {
        let head_dim = self.hidden / self.heads;
        let kv = self.kv_heads * head_dim;
        let block = 2 * self.hidden * self.hidden
            + 2 * self.hidden * kv
            + 3 * self.hidden * self.ffn
            + 2 * self.hidden;
        2 * vocab * self.hidden + self.layers * block + self.hidden
    }

    fn check(&self, block: usize) -> Result<()> {
        let bad = |m: String| Err(Error::Invalid(m));
        if self.hidden == 0
            || self.layers == 0
            || self.heads == 0
            || self.kv_heads == 0
            || self.ffn == 0
        {
            return bad("every dimension must be at least 1".into());
        }
        if !self.hidden.is_multiple_of(self.heads) {
            return bad(format!(
                "hidden {} is not a multiple of heads {}",
                self.hidden, self.heads
            ));
        }
        if !self.heads.is_multiple_of(self.kv_heads) {
            return bad(format!(
                "heads {} is not a multiple of kv-heads {}",
                self.heads, self.kv_heads
            ));
        }
        if !(self.hidden / self.heads).is_multiple_of(2) {
            return bad("the head dimension must be even (rotary embedding)".into());
        }
        if !self.hidden.is_multiple_of(block) || !self.ffn.is_multiple_of(block) {
            return bad(format!(
                "hidden {} and ffn {} must be multiples of the type's block of {block}",
                self.hidden, self.ffn
            ));
        }
        Ok(())
    }
}

/// SplitMix64: a small seeded generator (reproducible files without a dependency).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // 24 random bits to [-0.04, 0.04).
        ((z >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.08
    }
}

fn candle(e: candle_core::Error) -> Error {
    Error::Internal(format!("gguf: {e}"))
}

/// What was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Written {
    /// Parameters.
    pub parameters: usize,
    /// Tensors.
    pub tensors: usize,
    /// Vocabulary size (the donor's).
    pub vocab: usize,
}

/// Writes a random-weight Llama model of `shape` to `out` (atomically), its projections in
/// `dtype`, norms in f32, with the donor's tokenizer metadata and chat template.
pub fn synth(
    donor: &Path,
    shape: Shape,
    dtype: GgmlDType,
    seed: u64,
    out: &Path,
) -> Result<Written> {
    shape.check(dtype.block_size())?;
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| Error::Io {
            path: p.clone(),
            source,
        }
    };
    let mut f = File::open(donor).map_err(io(donor))?;
    let content = gguf_file::Content::read(&mut f).map_err(candle)?;
    let vocab = match content.metadata.get("tokenizer.ggml.tokens") {
        Some(gguf_file::Value::Array(a)) => a.len(),
        _ => {
            return Err(Error::Invalid(format!(
                "{} has no tokenizer",
                donor.display()
            )))
        }
    };
    let arch = content
        .metadata
        .get("general.architecture")
        .and_then(|v| v.to_string().ok().cloned())
        .unwrap_or_default();
    let donor_key = |k: &str| content.metadata.get(&format!("{arch}.{k}")).cloned();
    let head_dim = shape.hidden / shape.heads;
    let mut metadata: Vec<(String, gguf_file::Value)> = content
        .metadata
        .iter()
        .filter(|(k, _)| k.starts_with("tokenizer."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    use gguf_file::Value as V;
    let u = |n: usize| V::U32(n as u32);
    metadata.extend([
        ("general.architecture".into(), V::String("llama".into())),
        (
            "general.name".into(),
            V::String(format!(
                "synthetic llama h{} l{} a{} kv{} f{} (random weights)",
                shape.hidden, shape.layers, shape.heads, shape.kv_heads, shape.ffn
            )),
        ),
        (
            "llama.context_length".into(),
            donor_key("context_length").unwrap_or(u(2048)),
        ),
        ("llama.embedding_length".into(), u(shape.hidden)),
        ("llama.block_count".into(), u(shape.layers)),
        ("llama.feed_forward_length".into(), u(shape.ffn)),
        ("llama.attention.head_count".into(), u(shape.heads)),
        ("llama.attention.head_count_kv".into(), u(shape.kv_heads)),
        ("llama.rope.dimension_count".into(), u(head_dim)),
        (
            "llama.rope.freq_base".into(),
            donor_key("rope.freq_base").unwrap_or(V::F32(10_000.0)),
        ),
        (
            "llama.attention.layer_norm_rms_epsilon".into(),
            V::F32(1e-5),
        ),
        ("llama.vocab_size".into(), u(vocab)),
    ]);
    if let Some(code) = super::gguf::file_type_code(dtype) {
        metadata.push(("general.file_type".into(), V::U32(code)));
    }
    metadata.sort_by(|a, b| a.0.cmp(&b.0));

    let mut noise = Noise(seed);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut add = |name: String, rows: usize, cols: usize, quantize: bool| -> Result<()> {
        let data: Vec<f32> = if quantize {
            (0..rows * cols).map(|_| noise.next()).collect()
        } else {
            vec![1.0; rows * cols]
        };
        let dims: Vec<usize> = if rows == 1 {
            vec![cols]
        } else {
            vec![rows, cols]
        };
        let t = Tensor::from_vec(data, dims, &Device::Cpu).map_err(candle)?;
        let q =
            QTensor::quantize(&t, if quantize { dtype } else { GgmlDType::F32 }).map_err(candle)?;
        tensors.push((name, q));
        Ok(())
    };
    let (h, kv) = (shape.hidden, shape.kv_heads * head_dim);
    add("token_embd.weight".into(), vocab, h, true)?;
    for l in 0..shape.layers {
        let b = |n: &str| format!("blk.{l}.{n}.weight");
        add(b("attn_norm"), 1, h, false)?;
        add(b("attn_q"), h, h, true)?;
        add(b("attn_k"), kv, h, true)?;
        add(b("attn_v"), kv, h, true)?;
        add(b("attn_output"), h, h, true)?;
        add(b("ffn_norm"), 1, h, false)?;
        add(b("ffn_gate"), shape.ffn, h, true)?;
        add(b("ffn_up"), shape.ffn, h, true)?;
        add(b("ffn_down"), h, shape.ffn, true)?;
    }
    add("output_norm.weight".into(), 1, h, false)?;
    add("output.weight".into(), vocab, h, true)?;

    super::gguf::write_atomic(out, &metadata, &tensors)?;
    Ok(Written {
        parameters: shape.parameters(vocab),
        tensors: tensors.len(),
        vocab,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_checked_and_counted() {
        let s = Shape {
            hidden: 2048,
            layers: 22,
            heads: 32,
            kv_heads: 4,
            ffn: 5632,
        };
        assert!(s.check(32).is_ok());
        // TinyLlama-1.1B's shape with a 32,000-token vocabulary: 1.10 B parameters.
        assert_eq!(s.parameters(32_000), 1_100_048_384);
        assert!(Shape { heads: 30, ..s }.check(32).is_err());
        assert!(Shape { kv_heads: 5, ..s }.check(32).is_err());
        assert!(Shape { ffn: 5600, ..s }.check(256).is_err());
        let mut n = Noise(7);
        let xs: Vec<f32> = (0..10_000).map(|_| n.next()).collect();
        assert!(xs.iter().all(|x| (-0.04..0.04).contains(x)));
        let mean = xs.iter().sum::<f32>() / xs.len() as f32;
        assert!(mean.abs() < 0.002, "{mean}");
        assert_eq!(Noise(7).next(), xs[0], "seeded");
    }
}
