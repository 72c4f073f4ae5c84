//! Token-bounded chunking with overlap, keeping each chunk's heading path.
//!
//! Token counts use OpenAI's `cl100k_base` BPE (tiktoken-rs), built once per process.
//! A section is split into sentence pieces (paragraph and list-line boundaries are kept;
//! oversized sentences fall back to word groups) and pieces are packed greedily. Every chunk
//! is prefixed with its context line, `Title > Section > Subsection`, and the *whole*
//! embedded text (context + body) is at most `max_tokens`. Consecutive chunks of a section
//! share up to `overlap_tokens` of trailing whole sentences. Chunks never span sections.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use tiktoken_rs::CoreBPE;

use crate::document::{sha256_hex, Document};
use crate::error::{Error, Result};

/// Chunk size limits, in `cl100k_base` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkParams {
    /// Upper bound on the tokens of a chunk's embedded text (context line + body).
    pub max_tokens: usize,
    /// Tokens of trailing sentences repeated at the start of the next chunk (an upper bound;
    /// overlap is sentence-aligned, so it can be smaller).
    pub overlap_tokens: usize,
}

impl Default for ChunkParams {
    fn default() -> Self {
        ChunkParams {
            max_tokens: 200,
            overlap_tokens: 40,
        }
    }
}

impl ChunkParams {
    /// Checks that `32 <= max_tokens <= 8192` and `overlap_tokens < max_tokens / 2`.
    pub fn validate(&self) -> Result<()> {
        if !(32..=8192).contains(&self.max_tokens) {
            return Err(Error::InvalidParams(format!(
                "chunk max_tokens must be in 32..=8192, got {}",
                self.max_tokens
            )));
        }
        if self.overlap_tokens >= self.max_tokens / 2 {
            return Err(Error::InvalidParams(format!(
                "chunk overlap_tokens ({}) must be below max_tokens / 2 ({})",
                self.overlap_tokens,
                self.max_tokens / 2
            )));
        }
        Ok(())
    }
}

/// One retrievable passage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// `<doc-id>#<index>`.
    pub id: String,
    /// The source document's id.
    pub doc_id: String,
    /// Position of this chunk within its document, from 0.
    pub index: usize,
    /// The document title.
    pub title: String,
    /// Citation URL (`corpus://<doc-id>#<index>` for corpus documents).
    pub url: String,
    /// Heading path below the title (`["Parameter scoring"]`).
    pub heading: Vec<String>,
    /// The context line prefixed to the body for embedding and BM25 (`Title > Heading`).
    pub context: String,
    /// The body text.
    pub text: String,
    /// `cl100k_base` tokens of [`Chunk::embed_text`].
    pub tokens: usize,
    /// SHA-256 (hex) of [`Chunk::embed_text`]; vectors are reused across builds by this hash.
    pub hash: String,
    /// [`Document::content_hash`] of the source document.
    pub doc_hash: String,
    /// The source document's last clinical review (`YYYY-MM-DD`), when known.
    #[serde(default)]
    pub last_reviewed: Option<String>,
    /// Who reviewed it, when known.
    #[serde(default)]
    pub reviewed_by: Option<String>,
}

impl Chunk {
    /// The text that is embedded and indexed: context line, blank line, body.
    pub fn embed_text(&self) -> String {
        compose(&self.context, &self.text)
    }
}

fn compose(context: &str, body: &str) -> String {
    if context.is_empty() {
        body.to_string()
    } else {
        format!("{context}\n\n{body}")
    }
}

/// The process-wide `cl100k_base` encoder (building it takes ~100 ms, so it is built once).
fn bpe() -> Result<&'static CoreBPE> {
    static BPE: OnceLock<std::result::Result<CoreBPE, String>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Tokenizer(e.clone()))
}

/// Number of `cl100k_base` tokens in `text`.
pub fn count_tokens(text: &str) -> Result<usize> {
    Ok(bpe()?.encode_ordinary(text).len())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Space,
    Line,
    Paragraph,
}

impl Sep {
    fn as_str(self) -> &'static str {
        match self {
            Sep::Space => " ",
            Sep::Line => "\n",
            Sep::Paragraph => "\n\n",
        }
    }

    /// Approximate token cost of the separator (a leading space merges into the next token).
    fn cost(self) -> usize {
        match self {
            Sep::Space => 0,
            Sep::Line | Sep::Paragraph => 1,
        }
    }
}

#[derive(Debug)]
struct Piece {
    text: String,
    tokens: usize,
    /// Separator placed before this piece when it is not the first of a chunk.
    sep: Sep,
}

/// Splits documents into [`Chunk`]s.
#[derive(Clone)]
pub struct Chunker {
    bpe: &'static CoreBPE,
    params: ChunkParams,
}

impl std::fmt::Debug for Chunker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chunker")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Chunker {
    /// A chunker with validated `params`.
    pub fn new(params: ChunkParams) -> Result<Self> {
        params.validate()?;
        Ok(Chunker {
            bpe: bpe()?,
            params,
        })
    }

    /// The parameters in use.
    pub fn params(&self) -> ChunkParams {
        self.params
    }

    /// Number of `cl100k_base` tokens in `text`.
    pub fn count(&self, text: &str) -> usize {
        self.bpe.encode_ordinary(text).len()
    }

    /// Chunks of `doc`, in reading order, numbered from 0.
    pub fn chunk_document(&self, doc: &Document) -> Vec<Chunk> {
        let doc_hash = doc.content_hash();
        let mut out = Vec::new();
        for section in &doc.sections {
            let context = self.context_line(&doc.title, &section.headings);
            let context_tokens = if context.is_empty() {
                0
            } else {
                self.count(&compose(&context, ""))
            };
            // A small margin absorbs BPE merges across piece boundaries; `emit` re-checks.
            let budget = self
                .params
                .max_tokens
                .saturating_sub(context_tokens + 2)
                .max(8);
            for (body, tokens) in self.chunk_text(&context, &section.text, budget) {
                let index = out.len();
                let embed_text = compose(&context, &body);
                out.push(Chunk {
                    id: format!("{}#{index}", doc.id),
                    doc_id: doc.id.clone(),
                    index,
                    title: doc.title.clone(),
                    url: doc.chunk_url(index),
                    heading: section.headings.clone(),
                    context: context.clone(),
                    text: body,
                    tokens,
                    hash: sha256_hex(embed_text.as_bytes()),
                    doc_hash: doc_hash.clone(),
                    last_reviewed: doc.last_reviewed.clone(),
                    reviewed_by: doc.reviewed_by.clone(),
                });
            }
        }
        out
    }

    /// `Title > H2 > H3`, shortened to the title (or nothing) when it would take more than
    /// half the token budget.
    fn context_line(&self, title: &str, headings: &[String]) -> String {
        let mut full = title.trim().to_string();
        for h in headings {
            if !full.is_empty() {
                full.push_str(" > ");
            }
            full.push_str(h.trim());
        }
        let limit = self.params.max_tokens / 2;
        [full, title.trim().to_string()]
            .into_iter()
            .find(|c| self.count(c) < limit)
            .unwrap_or_default()
    }

    /// Bodies (with the token count of context + body) covering `text`.
    fn chunk_text(&self, context: &str, text: &str, budget: usize) -> Vec<(String, usize)> {
        let pieces = self.pieces(text, budget);
        let n = pieces.len();
        let mut out = Vec::new();
        let mut start = 0;
        while start < n {
            // Grow greedily; the first piece is always taken (pieces fit the budget).
            let mut end = start;
            let mut used = 0;
            while end < n {
                let p = &pieces[end];
                let add = p.tokens + if end > start { p.sep.cost() } else { 0 };
                if end > start && used + add > budget {
                    break;
                }
                used += add;
                end += 1;
            }
            let emitted_end = self.emit(context, &pieces, start, end, &mut out);
            if emitted_end >= n {
                break;
            }
            // Overlap: trailing whole pieces worth at most `overlap_tokens`, never the whole
            // previous chunk (so every step makes progress), and leaving room for the next
            // piece.
            let mut s = emitted_end;
            let mut overlap = 0;
            while s > start + 1 {
                let cost = pieces[s - 1].tokens + 1;
                if overlap + cost > self.params.overlap_tokens {
                    break;
                }
                overlap += cost;
                s -= 1;
            }
            while s < emitted_end && overlap + pieces[emitted_end].tokens + 1 > budget {
                overlap -= pieces[s].tokens + 1;
                s += 1;
            }
            start = s;
        }
        out
    }

    /// Pushes the chunk `pieces[start..end]`, dropping trailing pieces if the exact count is
    /// over `max_tokens`; returns the end actually used (always `> start`).
    fn emit(
        &self,
        context: &str,
        pieces: &[Piece],
        start: usize,
        end: usize,
        out: &mut Vec<(String, usize)>,
    ) -> usize {
        let mut e = end;
        loop {
            let body = join(&pieces[start..e]);
            let tokens = self.count(&compose(context, &body));
            if tokens <= self.params.max_tokens || e == start + 1 {
                out.push((body, tokens));
                return e;
            }
            e -= 1;
        }
    }

    /// Sentence pieces of `text`, each at most `budget` tokens.
    fn pieces(&self, text: &str, budget: usize) -> Vec<Piece> {
        let mut out = Vec::new();
        for (pi, para) in split_paragraphs(text).into_iter().enumerate() {
            let mut first_line = true;
            for line in para.lines() {
                let line = line.trim_end();
                if line.trim().is_empty() {
                    continue;
                }
                let line_sep = if first_line && pi > 0 {
                    Sep::Paragraph
                } else if first_line {
                    Sep::Space
                } else {
                    Sep::Line
                };
                first_line = false;
                for (si, sentence) in split_sentences(line).into_iter().enumerate() {
                    let sep = if si == 0 { line_sep } else { Sep::Space };
                    self.push_piece(&mut out, sentence, sep, budget);
                }
            }
        }
        out
    }

    fn push_piece(&self, out: &mut Vec<Piece>, text: &str, sep: Sep, budget: usize) {
        let tokens = self.count(text);
        if tokens <= budget {
            out.push(Piece {
                text: text.to_string(),
                tokens,
                sep,
            });
            return;
        }
        // Oversized sentence: greedy word groups, counted exactly.
        let mut group = String::new();
        let mut group_tokens = 0;
        let mut group_sep = sep;
        for word in text.split_whitespace() {
            let candidate = if group.is_empty() {
                word.to_string()
            } else {
                format!("{group} {word}")
            };
            let n = self.count(&candidate);
            if n <= budget {
                group = candidate;
                group_tokens = n;
                continue;
            }
            if !group.is_empty() {
                out.push(Piece {
                    text: std::mem::take(&mut group),
                    tokens: group_tokens,
                    sep: group_sep,
                });
                group_sep = Sep::Space;
            }
            let n = self.count(word);
            if n <= budget {
                group = word.to_string();
                group_tokens = n;
            } else {
                // A single enormous "word": split by characters (a char is at most 4 tokens).
                let chars: Vec<char> = word.chars().collect();
                for part in chars.chunks((budget / 4).max(1)) {
                    let text: String = part.iter().collect();
                    let tokens = self.count(&text);
                    out.push(Piece {
                        text,
                        tokens,
                        sep: group_sep,
                    });
                    group_sep = Sep::Space;
                }
            }
        }
        if !group.is_empty() {
            out.push(Piece {
                text: group,
                tokens: group_tokens,
                sep: group_sep,
            });
        }
    }
}

fn join(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            s.push_str(p.sep.as_str());
        }
        s.push_str(&p.text);
    }
    s
}

/// Paragraphs separated by blank lines.
fn split_paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(cur.join("\n"));
                cur.clear();
            }
        } else {
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push(cur.join("\n"));
    }
    out
}

/// Sentences of one line: split after `.`, `!` or `?` followed by whitespace and an
/// uppercase letter, digit, quote or bracket (so "e.g. aspirin" stays whole).
fn split_sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for i in 0..chars.len() {
        let (pos, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let Some(&(_, next)) = chars.get(i + 1) else {
            continue;
        };
        if !next.is_whitespace() {
            continue;
        }
        let after = chars[i + 1..]
            .iter()
            .map(|&(_, c)| c)
            .find(|c| !c.is_whitespace());
        let starts_sentence = after.is_some_and(|a| {
            a.is_uppercase() || a.is_ascii_digit() || matches!(a, '"' | '(' | '[' | '*' | '-')
        });
        if starts_sentence {
            let end = pos + c.len_utf8();
            let s = line[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let rest = line[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::doc;

    fn long_text(sentences: usize) -> String {
        (0..sentences)
            .map(|i| {
                format!(
                    "Sentence number {i} explains how patients should monitor symptoms at home."
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn params_are_validated() {
        assert!(ChunkParams::default().validate().is_ok());
        assert!(ChunkParams {
            max_tokens: 10,
            overlap_tokens: 0
        }
        .validate()
        .is_err());
        assert!(ChunkParams {
            max_tokens: 100,
            overlap_tokens: 50
        }
        .validate()
        .is_err());
        assert!(Chunker::new(ChunkParams {
            max_tokens: 100,
            overlap_tokens: 60
        })
        .is_err());
    }

    #[test]
    fn sentences_split_sensibly() {
        assert_eq!(
            split_sentences("Take e.g. aspirin daily. Then rest! 3 days later? ok"),
            vec!["Take e.g. aspirin daily.", "Then rest!", "3 days later? ok"]
        );
    }

    #[test]
    fn chunks_respect_the_token_limit_and_keep_headings() {
        let params = ChunkParams {
            max_tokens: 64,
            overlap_tokens: 16,
        };
        let chunker = Chunker::new(params).expect("chunker");
        let text = long_text(40);
        let d = doc(
            "long-doc",
            "Home monitoring",
            &[("Daily checks", &text), ("Short", "Tiny.")],
        );
        let chunks = chunker.chunk_document(&d);
        assert!(chunks.len() > 5, "got {} chunks", chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index, i);
            assert_eq!(c.id, format!("long-doc#{i}"));
            assert_eq!(c.url, format!("corpus://long-doc#{i}"));
            let n = chunker.count(&c.embed_text());
            assert_eq!(n, c.tokens);
            assert!(n <= params.max_tokens, "chunk {i} has {n} tokens");
            assert!(c.embed_text().starts_with("Home monitoring > "));
        }
        // Sections are never mixed, and the short section is one chunk with its own heading.
        let last = chunks.last().expect("chunks");
        assert_eq!(last.heading, vec!["Short".to_string()]);
        assert_eq!(last.text, "Tiny.");
        assert_eq!(last.context, "Home monitoring > Short");
        assert!(chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c.heading == vec!["Daily checks".to_string()] && !c.text.contains("Tiny")));
        // All the text is covered, in order.
        for i in 0..40 {
            let needle = format!("Sentence number {i} ");
            assert!(
                chunks.iter().any(|c| c.text.contains(&needle)),
                "sentence {i} is missing"
            );
        }
    }

    #[test]
    fn consecutive_chunks_overlap() {
        let params = ChunkParams {
            max_tokens: 80,
            overlap_tokens: 20,
        };
        let chunker = Chunker::new(params).expect("chunker");
        let d = doc("d", "T", &[("H", &long_text(30))]);
        let chunks = chunker.chunk_document(&d);
        assert!(chunks.len() >= 3);
        for pair in chunks.windows(2) {
            let prev_last = split_sentences(&pair[0].text)
                .last()
                .map(|s| s.to_string())
                .expect("sentence");
            assert!(
                pair[1].text.starts_with(&prev_last),
                "chunk {:?} does not start with the tail of the previous one",
                pair[1].text
            );
            // The repeated part is within the overlap budget (plus a separator).
            assert!(chunker.count(&prev_last) <= params.overlap_tokens);
        }
        // Without overlap nothing is repeated.
        let no_overlap = Chunker::new(ChunkParams {
            max_tokens: 80,
            overlap_tokens: 0,
        })
        .expect("chunker")
        .chunk_document(&d);
        let total: usize = no_overlap
            .iter()
            .map(|c| c.text.matches("Sentence number").count())
            .sum();
        assert_eq!(total, 30);
        assert!(no_overlap.len() <= chunks.len());
    }

    #[test]
    fn oversized_sentences_and_words_are_split() {
        let chunker = Chunker::new(ChunkParams {
            max_tokens: 48,
            overlap_tokens: 8,
        })
        .expect("chunker");
        let run_on = vec!["word"; 300].join(" ");
        let blob = "x".repeat(2000);
        let d = doc("d", "T", &[("A", &run_on), ("B", &blob)]);
        let chunks = chunker.chunk_document(&d);
        assert!(chunks.len() > 4);
        for c in &chunks {
            assert!(c.tokens <= 48, "{} tokens", c.tokens);
        }
        let words: usize = chunks
            .iter()
            .filter(|c| c.heading == vec!["A".to_string()])
            .map(|c| c.text.split_whitespace().count())
            .sum();
        assert!(words >= 300, "all words kept (with overlap), got {words}");
    }

    #[test]
    fn list_lines_and_paragraphs_are_preserved() {
        let chunker = Chunker::new(ChunkParams::default()).expect("chunker");
        let text = "Intro line.\n\n- first item\n- second item";
        let d = doc("d", "T", &[("H", text)]);
        let chunks = chunker.chunk_document(&d);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].text, text);
        assert_eq!(chunks[0].embed_text(), format!("T > H\n\n{text}"));
        assert_eq!(
            chunks[0].hash,
            sha256_hex(chunks[0].embed_text().as_bytes())
        );
    }
}
