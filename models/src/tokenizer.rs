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

    /// The bytes a token stands for in text: byte-level BPE (`gpt2`) maps its printable
    /// stand-ins back to bytes, SentencePiece (`llama`) turns `▁` into a space and `<0xNN>`
    /// into its byte; other vocabularies (and control tokens) are taken as written.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        let Some(piece) = self.vocab.get(id as usize) else {
            return Vec::new();
        };
        if let Some(b) = byte_token(piece) {
            return vec![b];
        }
        match self.model.as_str() {
            "gpt2" => {
                let map = gpt2_bytes();
                let mut out = Vec::with_capacity(piece.len());
                for c in piece.chars() {
                    match map.get(&c) {
                        Some(&b) => out.push(b),
                        // Not a byte stand-in (a control token such as `<|im_end|>`).
                        None => return piece.as_bytes().to_vec(),
                    }
                }
                out
            }
            "llama" => piece.replace('\u{2581}', " ").into_bytes(),
            _ => piece.as_bytes().to_vec(),
        }
    }

    /// A token's text (bytes that are not whole UTF-8 characters become U+FFFD).
    pub fn token_text(&self, id: u32) -> String {
        String::from_utf8_lossy(&self.token_bytes(id)).into_owned()
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

/// `<0xNN>`: SentencePiece's (and the scripted engine's) byte tokens.
fn byte_token(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2).then(|| u8::from_str_radix(hex, 16).ok())?
}

/// GPT-2's byte-level alphabet, reversed: each byte is written as a printable character
/// (printable Latin-1 bytes as themselves, the others as U+0100 onwards, in byte order).
fn gpt2_bytes() -> &'static std::collections::HashMap<char, u8> {
    static MAP: std::sync::OnceLock<std::collections::HashMap<char, u8>> =
        std::sync::OnceLock::new();
    MAP.get_or_init(|| {
        let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let mut map = std::collections::HashMap::with_capacity(256);
        let mut next = 0u32;
        for b in 0..=255u8 {
            let c = if printable(b) {
                char::from(b)
            } else {
                next += 1;
                char::from_u32(255 + next).unwrap_or('\u{FFFD}')
            };
            map.insert(c, b);
        }
        map
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(model: &str, vocab: &[&str]) -> TokenizerFacts {
        TokenizerFacts {
            model: model.into(),
            vocab: vocab.iter().map(|s| s.to_string()).collect(),
            ..TokenizerFacts::default()
        }
    }

    #[test]
    fn token_bytes_undo_each_vocabularys_encoding() {
        // GPT-2: `Ġ` is the space, `Ċ` the newline; `Ã©` is the two bytes of é.
        let g = facts(
            "gpt2",
            &["\u{120}hello", "\u{10A}", "\u{C3}\u{A9}", "<|im_end|>"],
        );
        assert_eq!(g.token_text(0), " hello");
        assert_eq!(g.token_bytes(1), b"\n");
        assert_eq!(g.token_text(2), "é");
        assert_eq!(g.token_text(3), "<|im_end|>");
        assert_eq!(g.token_text(9), "");
        // SentencePiece: `▁` is the space; byte tokens are bytes.
        let l = facts("llama", &["\u{2581}the", "<0x0A>", "<0xE2>"]);
        assert_eq!(l.token_text(0), " the");
        assert_eq!(l.token_bytes(1), b"\n");
        assert_eq!(l.token_bytes(2), vec![0xE2]);
        assert_eq!(TokenizerFacts::bytes().token_bytes(65), b"A");
    }
}
