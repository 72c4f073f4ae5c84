//! What clients may know of the model's tokenizer (`/tokenizer_info`, token strings),
//! read from the GGUF file's `tokenizer.*` metadata.

use std::fs::File;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};

use crate::{Error, Result};

/// The tokenizer's facts.
#[derive(Debug, Clone, Default)]
pub struct TokenizerFacts {
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE), `llama` (SentencePiece), ...
    pub model: String,
    /// Every token's vocabulary string, by id.
    pub vocab: Vec<String>,
    /// Beginning-of-sequence token and id.
    pub bos_token: Option<String>,
    /// Its id.
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token.
    pub eos_token: Option<String>,
    /// Its id.
    pub eos_token_id: Option<u32>,
    /// Padding token.
    pub pad_token: Option<String>,
    /// Unknown token.
    pub unk_token: Option<String>,
    /// Whether a BOS token is added to a prompt.
    pub add_bos_token: Option<bool>,
    /// The Jinja chat template.
    pub chat_template: Option<String>,
}

impl TokenizerFacts {
    /// The Hugging Face tokenizer class this kind of tokenizer corresponds to.
    pub fn class(&self) -> &'static str {
        match self.model.as_str() {
            "gpt2" => "GPT2TokenizerFast",
            "llama" => "LlamaTokenizerFast",
            "bert" => "BertTokenizerFast",
            "t5" => "T5TokenizerFast",
            _ => "PreTrainedTokenizerFast",
        }
    }

    /// A byte-level tokenizer of 256 tokens plus BOS and EOS (for the scripted engine).
    pub fn bytes() -> Self {
        let mut vocab: Vec<String> = (0u8..=255).map(|b| format!("<0x{b:02X}>")).collect();
        vocab.push("<s>".into());
        vocab.push("</s>".into());
        Self {
            model: "bytes".into(),
            vocab,
            bos_token: Some("<s>".into()),
            bos_token_id: Some(256),
            eos_token: Some("</s>".into()),
            eos_token_id: Some(257),
            pad_token: None,
            unk_token: None,
            add_bos_token: Some(true),
            chat_template: None,
        }
    }

    /// Reads the facts from a GGUF file's header.
    pub fn read(path: &Path) -> Result<Self> {
        let mut f = File::open(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let content = Content::read(&mut f).map_err(|e| Error::Internal(format!("gguf: {e}")))?;
        let meta = &content.metadata;
        let string = |k: &str| meta.get(k).and_then(|v| v.to_string().ok().cloned());
        let id = |k: &str| meta.get(k).and_then(|v| v.to_u32().ok());
        let vocab: Vec<String> = match meta.get("tokenizer.ggml.tokens") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.to_string().cloned().unwrap_or_default())
                .collect(),
            _ => Vec::new(),
        };
        let token = |i: Option<u32>| i.and_then(|i| vocab.get(i as usize).cloned());
        let bos_token_id = id("tokenizer.ggml.bos_token_id");
        let eos_token_id = id("tokenizer.ggml.eos_token_id");
        Ok(Self {
            model: string("tokenizer.ggml.model").unwrap_or_default(),
            bos_token: token(bos_token_id),
            eos_token: token(eos_token_id),
            pad_token: token(id("tokenizer.ggml.padding_token_id")),
            unk_token: token(id("tokenizer.ggml.unknown_token_id")),
            add_bos_token: meta
                .get("tokenizer.ggml.add_bos_token")
                .and_then(|v| v.to_bool().ok()),
            chat_template: string("tokenizer.chat_template"),
            bos_token_id,
            eos_token_id,
            vocab,
        })
    }
}
