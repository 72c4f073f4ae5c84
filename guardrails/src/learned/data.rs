//! Labelled sets for the learned detectors: JSONL files with provenance, read at training
//! and evaluation time, and a fixed split into training and validation by a hash of the text.

use std::path::Path;

use serde::Deserialize;

use super::tagger::TagExample;

/// One labelled message for the emergency head.
#[derive(Debug, Clone, Deserialize)]
pub struct RedFlagExample {
    /// The message.
    pub text: String,
    /// An emergency happening now.
    pub emergency: bool,
    /// Its category (snake_case), for emergencies.
    #[serde(default)]
    pub category: Option<String>,
    /// Presentation kind (plain, atypical, third_party, negated, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// For a long message: the exact parts that carry the emergency, so each window the
    /// server reads gets its own label (empty: not marked).
    #[serde(default)]
    pub spans: Vec<String>,
}

/// One labelled request for the harmful-request head.
#[derive(Debug, Clone, Deserialize)]
pub struct HarmfulExample {
    /// The request.
    pub text: String,
    /// A request to act against medical ethics.
    pub harmful: bool,
    /// Its principle, 1 to 9.
    #[serde(default)]
    pub category: Option<u8>,
    /// Kind (gpt4_style, llama_style, indirect, sensitive_honest, ...).
    #[serde(default)]
    pub kind: Option<String>,
}

/// An ordinary request (imperative tasks, calculations, short commands): a negative for
/// every head and for the PHI tagger.
#[derive(Debug, Clone, Deserialize)]
pub struct BenignRequest {
    /// The request.
    pub text: String,
}

/// One labelled text for the prompt-injection head.
#[derive(Debug, Clone, Deserialize)]
pub struct InjectionExample {
    /// The text.
    pub text: String,
    /// `user`, `passage` or `tool`.
    pub source: String,
    /// Whether it carries instructions aimed at the assistant.
    pub injection: bool,
}

/// Paragraphs of the guideline corpus (`corpus/*.md`, front matter skipped): real
/// passages, negatives for the injection head.
pub fn corpus_paragraphs(dir: &Path) -> Result<Vec<String>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let body = match text.strip_prefix("---") {
            Some(rest) => rest.split_once("\n---").map_or(rest, |(_, b)| b),
            None => &text,
        };
        out.extend(
            body.split("\n\n")
                .map(|p| p.trim().trim_start_matches('#').trim().to_string())
                .filter(|p| p.len() >= 80),
        );
    }
    Ok(out)
}

/// One PHI-labelled sentence.
#[derive(Debug, Clone, Deserialize)]
pub struct PhiExample {
    /// The sentence.
    pub text: String,
    /// Identifiers in it, as exact substrings.
    pub entities: Vec<PhiEntity>,
}

/// One labelled identifier.
#[derive(Debug, Clone, Deserialize)]
pub struct PhiEntity {
    /// Exact substring of the sentence.
    pub text: String,
    /// `name`, `street_address`, `postcode`, `city`, `phone`, `email`, `date`, `id`, `iban`,
    /// `card`, `url`, `ip`, `age_over_89`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl PhiExample {
    /// Byte ranges of every entity occurrence (each listed occurrence taken in order).
    pub fn ranges(&self) -> Vec<(usize, usize, &str)> {
        let mut out = Vec::new();
        let mut used: Vec<(usize, usize)> = Vec::new();
        for e in &self.entities {
            if e.text.is_empty() {
                continue;
            }
            let mut from = 0;
            while let Some(p) = self.text[from..].find(&e.text) {
                let s = from + p;
                let r = (s, s + e.text.len());
                if !used.contains(&r) {
                    used.push(r);
                    out.push((r.0, r.1, e.kind.as_str()));
                    break;
                }
                from = s + 1;
                while !self.text.is_char_boundary(from) {
                    from += 1;
                }
            }
        }
        out
    }

    /// The tagger's view: names (class 1) and places (class 2) only.
    pub fn tag_example(&self) -> TagExample {
        let spans = self
            .ranges()
            .into_iter()
            .filter_map(|(s, e, k)| match k {
                "name" => Some((s, e, 1)),
                "street_address" | "postcode" | "city" => Some((s, e, 2)),
                _ => None,
            })
            .collect();
        TagExample {
            text: self.text.clone(),
            spans,
        }
    }
}

/// Reads a JSONL file of `T` (blank lines skipped); errors name the file and line.
pub fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// Every `*.jsonl` file in `dir` whose name starts with `prefix`, sorted, concatenated.
pub fn read_dir_jsonl<T: for<'de> Deserialize<'de>>(
    dir: &Path,
    prefix: &str,
) -> Result<Vec<T>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "jsonl")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(read_jsonl(&f)?);
    }
    Ok(out)
}

/// True when `text` belongs to the validation split (one in five, by FNV-1a of the text):
/// the same text always lands on the same side.
pub fn is_validation(text: &str) -> bool {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.trim().to_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h % 5 == 0
}

/// Questions from MedQuAD XML files under `dir` (benign consumer questions).
pub fn medquad_questions(dir: &Path, limit: usize) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let p = e.map_err(|e| e.to_string())?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in files {
        let xml = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        for q in crate::formats::xml_elements(&xml, "Question") {
            let q = crate::formats::decode_entities(&q);
            if seen.insert(q.clone()) {
                out.push(q);
            }
        }
    }
    // A spread over all sources, deterministic.
    if out.len() > limit && limit > 0 {
        let step = out.len() as f64 / limit as f64;
        out = (0..limit)
            .map(|i| out[(i as f64 * step) as usize].clone())
            .collect();
    }
    Ok(out)
}

/// The MedSafetyBench training split: `(principle, request)` from `train_*_category_N.csv`.
pub fn medsafetybench(dir: &Path) -> Result<Vec<(u8, String)>, String> {
    let mut out = Vec::new();
    for n in 1..=9u8 {
        let path = dir.join(format!("train_gpt4_category_{n}.csv"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let rows = crate::formats::parse_csv(&text);
        let col = rows
            .first()
            .and_then(|h| h.iter().position(|c| c == "harmful_medical_request"))
            .ok_or_else(|| format!("{}: no harmful_medical_request column", path.display()))?;
        out.extend(
            rows.iter()
                .skip(1)
                .filter_map(|r| r.get(col))
                .filter(|t| !t.trim().is_empty())
                .map(|t| (n, t.clone())),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stable_and_about_a_fifth() {
        let n = (0..5000)
            .filter(|i| is_validation(&format!("message number {i}")))
            .count();
        assert!((800..1200).contains(&n), "{n}");
        assert_eq!(is_validation("Chest pain"), is_validation(" chest pain "));
    }

    #[test]
    fn repeated_entities_take_successive_occurrences() {
        let ex: PhiExample = serde_json::from_str(
            r#"{"text":"Anna met Anna in Oulu","entities":[{"text":"Anna","type":"name"},{"text":"Anna","type":"name"},{"text":"Oulu","type":"city"}]}"#,
        )
        .unwrap();
        assert_eq!(
            ex.ranges(),
            vec![(0, 4, "name"), (9, 13, "name"), (17, 21, "city")]
        );
        assert_eq!(
            ex.tag_example().spans,
            vec![(0, 4, 1), (9, 13, 1), (17, 21, 2)]
        );
    }
}
