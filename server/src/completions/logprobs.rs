//! The legacy `logprobs` object of a completion choice: parallel arrays `tokens`,
//! `token_logprobs`, `top_logprobs` (token text → logprob) and `text_offset` (the character
//! offset of each token in the choice's text). The first prompt token has no context: its
//! logprob and alternatives are `null`.

use medserve_models::tokenizer::TokenizerFacts;
use medserve_models::TokenLogprob;
use serde::Serialize;
use serde_json::{Map, Value};

/// The arrays, for one piece of a choice or a whole choice.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Legacy {
    /// Token texts.
    pub tokens: Vec<String>,
    /// Natural-log probability of each token (`null` for the first prompt token).
    pub token_logprobs: Vec<Option<f32>>,
    /// The most likely tokens at each position, text → logprob.
    pub top_logprobs: Vec<Option<Map<String, Value>>>,
    /// Character offset of each token in the choice's text.
    pub text_offset: Vec<usize>,
}

impl Legacy {
    /// Appends `other`.
    pub fn extend(&mut self, other: Legacy) {
        self.tokens.extend(other.tokens);
        self.token_logprobs.extend(other.token_logprobs);
        self.top_logprobs.extend(other.top_logprobs);
        self.text_offset.extend(other.text_offset);
    }

    fn push(
        &mut self,
        token: String,
        logprob: Option<f32>,
        top: Option<Map<String, Value>>,
        at: usize,
    ) {
        self.tokens.push(token);
        self.token_logprobs.push(logprob);
        self.top_logprobs.push(top);
        self.text_offset.push(at);
    }
}

fn top_map(lp: &TokenLogprob) -> Map<String, Value> {
    lp.top_logprobs
        .iter()
        .map(|t| (t.token.clone(), Value::from(t.logprob)))
        .collect()
}

/// Where the next token starts in the choice's text, in characters.
#[derive(Debug, Default)]
pub struct Offsets {
    chars: usize,
}

impl Offsets {
    /// The echoed prompt's arrays. A token is placed where the text continues with it; one
    /// the text does not contain there (a BOS the tokenizer added) takes the offset of the
    /// next character and no width.
    pub fn prompt(
        &mut self,
        text: &str,
        ids: &[u32],
        scored: &[Option<TokenLogprob>],
        tok: &TokenizerFacts,
    ) -> Legacy {
        let mut out = Legacy::default();
        let mut byte = 0usize;
        let start = self.chars;
        let mut chars = 0usize;
        for (i, &id) in ids.iter().enumerate() {
            let s = scored.get(i).and_then(Option::as_ref);
            let token = s.map_or_else(|| tok.token_text(id), |s| s.token.clone());
            out.push(
                token.clone(),
                s.map(|s| s.logprob),
                s.map(top_map),
                start + chars,
            );
            if !token.is_empty() && text[byte..].starts_with(token.as_str()) {
                byte += token.len();
                chars += token.chars().count();
            }
        }
        out
    }

    /// Moves past the echoed prompt.
    pub fn past(&mut self, text: &str) {
        self.chars += text.chars().count();
    }

    /// Generated tokens' arrays, each after the one before.
    pub fn generated(&mut self, lps: &[TokenLogprob]) -> Legacy {
        let mut out = Legacy::default();
        for lp in lps {
            out.push(
                lp.token.clone(),
                Some(lp.logprob),
                Some(top_map(lp)),
                self.chars,
            );
            self.chars += lp.token.chars().count();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medserve_models::TopLogprob;

    fn lp(token: &str, logprob: f32) -> TokenLogprob {
        TokenLogprob {
            token: token.into(),
            logprob,
            bytes: token.as_bytes().to_vec(),
            top_logprobs: vec![TopLogprob {
                token: token.into(),
                logprob,
                bytes: Vec::new(),
            }],
        }
    }

    #[test]
    fn offsets_follow_the_text_and_skip_an_added_bos() {
        let tok = TokenizerFacts::bytes();
        // A BOS (id 256, "<s>") the text does not contain, then "hé" as three bytes where
        // the scorer named the tokens.
        let scored = vec![None, Some(lp("h", -1.0)), Some(lp("é", -2.0))];
        let mut o = Offsets::default();
        let l = o.prompt("hé", &[256, 104, 233], &scored, &tok);
        assert_eq!(l.tokens, ["<s>", "h", "é"]);
        assert_eq!(l.token_logprobs, [None, Some(-1.0), Some(-2.0)]);
        assert!(l.top_logprobs[0].is_none());
        assert_eq!(l.text_offset, [0, 0, 1]);
        o.past("hé");
        let g = o.generated(&[lp("llo", -0.5), lp("!", -0.1)]);
        assert_eq!(g.text_offset, [2, 5]);
        assert_eq!(
            g.top_logprobs[0].as_ref().unwrap()["llo"],
            Value::from(-0.5f32)
        );
    }
}
