//! The evaluation sets: the manifest (`benches/eval/sets.toml`), conversion of the shared
//! sources (MedQuAD XML, PubMedQA JSON) to JSONL under `OUT/data/`, seeded samples, and
//! the SHA-256 of every file a report rests on.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One manifest entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetSpec {
    /// Name in reports.
    pub name: String,
    /// The suite that reads it.
    pub suite: String,
    /// Path relative to the manifest, or `shared:REL` under the shared data folder.
    pub path: String,
    /// `jsonl`, `medquad_questions`, `medquad_pairs` or `pubmedqa`.
    pub format: String,
    /// What it holds.
    pub holds: String,
    /// Where it came from.
    pub provenance: String,
    /// Licence.
    pub licence: String,
    /// Items used when `--limit` is not given (large sources: a seeded sample).
    #[serde(default)]
    pub default_limit: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    set: Vec<SetSpec>,
}

/// A set as a report names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SetUsed {
    /// Manifest name.
    pub name: String,
    /// The JSONL file read (converted sources: the file under `OUT/data/`).
    pub file: String,
    /// SHA-256 of that file.
    pub sha256: String,
    /// Items in the file.
    pub items: usize,
    /// Items the suite used (after `--limit`).
    pub used: usize,
    /// Licence.
    pub licence: String,
    /// What it holds.
    pub holds: String,
    /// Where it came from.
    pub provenance: String,
}

/// Where sets are found and converted.
pub struct Sets {
    specs: Vec<SetSpec>,
    manifest_dir: PathBuf,
    shared: PathBuf,
    out: PathBuf,
}

impl Sets {
    /// Reads the manifest.
    pub fn open(manifest: &Path, shared: &Path, out: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(manifest)
            .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
        let m: Manifest =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
        Ok(Self {
            specs: m.set,
            manifest_dir: manifest.parent().unwrap_or(Path::new(".")).to_path_buf(),
            shared: shared.to_path_buf(),
            out: out.join("data"),
        })
    }

    /// The entries of `suite`, in manifest order.
    pub fn of(&self, suite: &str) -> Vec<&SetSpec> {
        self.specs.iter().filter(|s| s.suite == suite).collect()
    }

    /// The set `name`.
    pub fn spec(&self, name: &str) -> anyhow::Result<&SetSpec> {
        self.specs
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| anyhow::anyhow!("the manifest has no set {name:?}"))
    }

    /// A file beside the manifest.
    pub fn beside(&self, name: &str) -> PathBuf {
        self.manifest_dir.join(name)
    }

    fn source(&self, spec: &SetSpec) -> PathBuf {
        match spec.path.strip_prefix("shared:") {
            Some(rel) => self.shared.join(rel),
            None => self.manifest_dir.join(&spec.path),
        }
    }

    /// Loads the set `name` as JSONL rows of `T` (converting a shared source first), a
    /// seeded sample of at most `limit` of them, and what the report says of it.
    pub fn load<T: DeserializeOwned>(
        &self,
        name: &str,
        limit: Option<usize>,
        seed: u64,
    ) -> anyhow::Result<(Vec<T>, SetUsed)> {
        let spec = self.spec(name)?;
        let src = self.source(spec);
        let file = match spec.format.as_str() {
            "jsonl" => src,
            other => {
                let rows = match other {
                    "pubmedqa" => pubmedqa(&src)?,
                    "medquad_questions" => medquad(&src, false)?,
                    "medquad_pairs" => medquad(&src, true)?,
                    f => anyhow::bail!("set {name}: unknown format {f:?}"),
                };
                std::fs::create_dir_all(&self.out)?;
                let path = self.out.join(format!("{name}.jsonl"));
                let mut text = String::new();
                for r in rows {
                    text.push_str(&r.to_string());
                    text.push('\n');
                }
                std::fs::write(&path, text)?;
                path
            }
        };
        let bytes = std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&bytes))
        };
        let mut rows: Vec<T> = Vec::new();
        for (i, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            rows.push(
                serde_json::from_str(line)
                    .map_err(|e| anyhow::anyhow!("{}:{}: {e}", file.display(), i + 1))?,
            );
        }
        let items = rows.len();
        let rows = sample(rows, limit.or(spec.default_limit), seed);
        let used = SetUsed {
            name: name.into(),
            file: file.display().to_string(),
            sha256,
            items,
            used: rows.len(),
            licence: spec.licence.clone(),
            holds: spec.holds.clone(),
            provenance: spec.provenance.clone(),
        };
        Ok((rows, used))
    }
}

/// At most `limit` rows: a seeded shuffle, then the first `limit` (all rows, in file
/// order, without a limit).
pub fn sample<T>(mut rows: Vec<T>, limit: Option<usize>, seed: u64) -> Vec<T> {
    match limit {
        Some(k) if k < rows.len() => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            rows.shuffle(&mut rng);
            rows.truncate(k);
            rows
        }
        _ => rows,
    }
}

/// PubMedQA's test split: `{id, question, context, answer}` with the abstract's sections
/// joined, in the order of `test_ground_truth.json`.
fn pubmedqa(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let read = |f: &str| -> anyhow::Result<Value> {
        let p = dir.join(f);
        let t = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        Ok(serde_json::from_str(&t)?)
    };
    let all = read("ori_pqal.json")?;
    let truth = read("test_ground_truth.json")?;
    let truth = truth
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("test_ground_truth.json: not an object"))?;
    let mut rows = Vec::new();
    for (id, answer) in truth {
        let q = &all[id.as_str()];
        let context = match &q["CONTEXTS"] {
            Value::Array(parts) => parts
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            Value::String(s) => s.clone(),
            _ => String::new(),
        };
        rows.push(json!({
            "id": id,
            "question": q["QUESTION"],
            "context": context,
            "answer": answer,
        }));
    }
    Ok(rows)
}

/// MedQuAD: every question (`{id, text}`), or one answered pair per document
/// (`{id, question, answer}`, answers cut at 2,000 characters).
fn medquad(dir: &Path, pairs: bool) -> anyhow::Result<Vec<Value>> {
    let all = medserve_rag::load_medquad_pairs(dir)?;
    let mut rows = Vec::new();
    let mut last_doc = String::new();
    for p in all {
        let id = p.document.id.clone();
        if !pairs {
            rows.push(json!({"id": id, "text": p.question}));
            continue;
        }
        // One pair per source document (ids are `medquad/<source>/<doc>-<pair>`).
        let doc = id
            .rsplit_once('-')
            .map_or(id.as_str(), |(d, _)| d)
            .to_string();
        if doc == last_doc {
            continue;
        }
        last_doc = doc;
        let answer: String = p
            .document
            .sections
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
            .chars()
            .take(2000)
            .collect();
        rows.push(json!({"id": id, "question": p.question, "answer": answer}));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_seeded_and_bounded() {
        let a = sample((0..100).collect::<Vec<_>>(), Some(10), 7);
        let b = sample((0..100).collect::<Vec<_>>(), Some(10), 7);
        assert_eq!(a, b);
        assert_eq!(a.len(), 10);
        assert_ne!(a, (0..10).collect::<Vec<_>>());
        assert_eq!(sample(vec![1, 2, 3], None, 7), vec![1, 2, 3]);
        assert_eq!(sample(vec![1, 2, 3], Some(5), 7), vec![1, 2, 3]);
    }

    #[test]
    fn the_shipped_manifest_names_existing_files() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sets = Sets::open(
            &root.join("benches/eval/sets.toml"),
            &root.join("../shared/data"),
            Path::new("/nonexistent"),
        )
        .unwrap();
        for s in &sets.specs {
            assert!(
                !s.licence.is_empty() && !s.provenance.is_empty(),
                "{}",
                s.name
            );
            if !s.path.starts_with("shared:") {
                assert!(sets.source(s).is_file(), "{}: {}", s.name, s.path);
            }
        }
        for suite in super::super::SUITES {
            assert!(!sets.of(suite).is_empty(), "{suite}");
        }
        // The README lists every set with its provenance and licence.
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        for s in &sets.specs {
            let row = format!("| {} | {} |", s.name, s.suite);
            assert!(readme.contains(&row), "README lacks the row of {}", s.name);
            assert!(
                readme.contains(&s.provenance),
                "README lacks the provenance of {}",
                s.name
            );
        }
    }
}
