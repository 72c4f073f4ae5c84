//! BM25 over chunk text, with a tokenizer that keeps drug names, scores and abbreviations.
//!
//! Tokens are maximal runs of Unicode letters/digits, lowercased, so `qSOFA` -> `qsofa`,
//! `NEWS2` -> `news2`, `eGFR` -> `egfr`, `CRB-65` -> `crb` + `65`. Single letters and a short
//! English stopword list are dropped; numbers are kept. No stemming, only one tiny suffix
//! rule: a plural `s` is removed from purely alphabetic tokens longer than four letters that
//! do not end in `ss`, `us`, `sis` or `itis` (`ssris` -> `ssri`, `symptoms` -> `symptom`;
//! `sepsis`, `arthritis`, `lupus` and `news` unchanged). The rule is applied to queries and
//! documents alike.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::fusion::Scored;

/// BM25 parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bm25Params {
    /// Term-frequency saturation (1.2).
    pub k1: f32,
    /// Length normalisation (0.75).
    pub b: f32,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Bm25Params { k1: 1.2, b: 0.75 }
    }
}

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "has",
    "have", "how", "i", "if", "in", "is", "it", "its", "of", "on", "or", "that", "the", "their",
    "there", "these", "this", "to", "was", "what", "when", "which", "who", "why", "will", "with",
    "you", "your",
];

/// Lexical tokens of `text` (see the module docs for the rules).
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            push_token(&mut out, std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        push_token(&mut out, cur);
    }
    out
}

fn push_token(out: &mut Vec<String>, mut token: String) {
    let chars = token.chars().count();
    if chars == 1 && !token.chars().all(|c| c.is_ascii_digit()) {
        return;
    }
    if STOPWORDS.contains(&token.as_str()) {
        return;
    }
    if chars > 4
        && token.chars().all(|c| c.is_alphabetic())
        && token.ends_with('s')
        && !(token.ends_with("ss")
            || token.ends_with("us")
            || token.ends_with("sis")
            || token.ends_with("itis"))
    {
        token.pop();
    }
    out.push(token);
}

/// An in-memory BM25 index (rebuilt from the chunks at load time; it takes well under a
/// second for MedQuAD-sized collections).
#[derive(Debug, Clone)]
pub struct Bm25 {
    params: Bm25Params,
    /// term -> (document, term frequency), documents ascending.
    postings: HashMap<String, Vec<(u32, u32)>>,
    doc_len: Vec<u32>,
    avg_len: f32,
}

impl Bm25 {
    /// Indexes `docs` (document `i` is the `i`th item).
    pub fn build<'a>(docs: impl IntoIterator<Item = &'a str>, params: Bm25Params) -> Self {
        let mut postings: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut doc_len = Vec::new();
        for (i, text) in docs.into_iter().enumerate() {
            let tokens = tokenize(text);
            doc_len.push(tokens.len() as u32);
            let mut tf: HashMap<String, u32> = HashMap::new();
            for t in tokens {
                *tf.entry(t).or_insert(0) += 1;
            }
            for (term, count) in tf {
                postings.entry(term).or_default().push((i as u32, count));
            }
        }
        let total: u64 = doc_len.iter().map(|&l| u64::from(l)).sum();
        let avg_len = if doc_len.is_empty() {
            0.0
        } else {
            total as f32 / doc_len.len() as f32
        };
        Bm25 {
            params,
            postings,
            doc_len,
            avg_len,
        }
    }

    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.doc_len.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.doc_len.is_empty()
    }

    /// Lucene-style IDF, `ln(1 + (N - n + 0.5) / (n + 0.5))` (always positive).
    fn idf(&self, doc_freq: usize) -> f32 {
        let n = self.doc_len.len() as f32;
        let df = doc_freq as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The `top_k` best documents for `query`, best first; documents matching no query term
    /// are never returned. Repeated query terms count once. Ties go to the lower index.
    pub fn search(&self, query: &str, top_k: usize) -> Vec<Scored> {
        if top_k == 0 || self.is_empty() {
            return Vec::new();
        }
        let mut terms = tokenize(query);
        terms.sort();
        terms.dedup();
        let Bm25Params { k1, b } = self.params;
        let avg = self.avg_len.max(1e-6);
        let mut scores: HashMap<u32, f32> = HashMap::new();
        for term in &terms {
            let Some(list) = self.postings.get(term) else {
                continue;
            };
            let idf = self.idf(list.len());
            for &(doc, tf) in list {
                let tf = tf as f32;
                let len = self.doc_len[doc as usize] as f32;
                let norm = k1 * (1.0 - b + b * len / avg);
                *scores.entry(doc).or_insert(0.0) += idf * tf * (k1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<Scored> = scores
            .into_iter()
            .map(|(doc, score)| Scored {
                index: doc as usize,
                score,
            })
            .collect();
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
        ranked.truncate(top_k);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_keeps_clinical_abbreviations() {
        assert_eq!(
            tokenize("qSOFA, NEWS2 and eGFR: SSRIs (e.g. sertraline) for CRB-65 in type 2"),
            vec![
                "qsofa",
                "news2",
                "egfr",
                "ssri",
                "sertraline",
                "crb",
                "65",
                "type",
                "2"
            ]
        );
        assert_eq!(tokenize("Symptoms of sepsis"), vec!["symptom", "sepsis"]);
        assert_eq!(
            tokenize("news lupus glass arthritis"),
            vec!["news", "lupus", "glass", "arthritis"]
        );
        assert_eq!(tokenize("SpO2 94–98%"), vec!["spo2", "94", "98"]);
        assert!(tokenize("  ,,, ").is_empty());
    }

    #[test]
    fn bm25_ranks_by_term_rarity_and_length() {
        let docs = [
            "sertraline can cause nausea",                             // 0
            "nausea and vomiting are common with many illnesses nausea", // 1
            "paracetamol is used for fever",                            // 2
            "sertraline sertraline overview of sertraline dosing and long term use in adults with depression and anxiety", // 3
        ];
        let bm25 = Bm25::build(docs.iter().copied(), Bm25Params::default());
        assert_eq!(bm25.len(), 4);

        let hits = bm25.search("sertraline", 10);
        let order: Vec<usize> = hits.iter().map(|h| h.index).collect();
        assert_eq!(order.len(), 2, "only documents with the term");
        assert!(order.contains(&0) && order.contains(&3));

        // The rare term outweighs the common one: doc 0 has both.
        let hits = bm25.search("sertraline nausea", 10);
        assert_eq!(hits[0].index, 0);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));

        // Exact value check for a single-term query on doc 2:
        // N=4, n=1 -> idf = ln(1 + 3.5/1.5); tf=1, |d|=3 tokens (paracetamol, used, fever).
        let hits = bm25.search("paracetamol", 1);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].index, 2);
        let lens = [3.0f32, 6.0, 3.0, 11.0];
        let avg = lens.iter().sum::<f32>() / 4.0;
        let idf = (1.0f32 + 3.5 / 1.5).ln();
        let expected = idf * 2.2 / (1.0 + 1.2 * (0.25 + 0.75 * 3.0 / avg));
        assert!(
            (hits[0].score - expected).abs() < 1e-5,
            "{} vs {expected}",
            hits[0].score
        );

        assert!(bm25.search("unknownterm", 10).is_empty());
        assert!(bm25.search("sertraline", 0).is_empty());
    }

    #[test]
    fn shorter_documents_win_at_equal_term_frequency() {
        let docs = [
            "metformin tablets with food and water every morning before breakfast daily",
            "metformin tablets",
        ];
        let bm25 = Bm25::build(docs.iter().copied(), Bm25Params::default());
        let hits = bm25.search("metformin", 2);
        assert_eq!(hits[0].index, 1);
        let flat = Bm25::build(docs.iter().copied(), Bm25Params { k1: 1.2, b: 0.0 });
        let hits = flat.search("metformin", 2);
        assert!(
            (hits[0].score - hits[1].score).abs() < 1e-6,
            "b = 0 ignores length"
        );
    }
}
