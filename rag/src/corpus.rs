//! The guideline corpus: `corpus/*.md` files with a small YAML-subset front matter.
//!
//! The front matter is parsed by hand (no YAML dependency). Supported, and all the corpus
//! uses: `key: value` scalars (plain, `"double"` with `\"`/`\\` escapes, or `'single'` with
//! `''`), `# comments` (whole-line, or after a value), and block lists of scalars
//! (`key:` followed by indented `- item` lines). Anything else is an error with a line number.

use std::path::{Path, PathBuf};

use crate::document::{Audience, Document, Section};
use crate::error::{Error, Result};

/// Loads every `*.md` file in `dir` except `README.md`, sorted by file name.
pub fn load_corpus_dir(dir: &Path) -> Result<Vec<Document>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let is_md = path.extension().is_some_and(|ext| ext == "md");
        let is_readme = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.eq_ignore_ascii_case("readme.md"));
        if is_md && !is_readme && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut docs = Vec::with_capacity(paths.len());
    let mut seen = std::collections::HashSet::new();
    for path in paths {
        let content = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let doc = parse_corpus_document(&path, &content)?;
        if !seen.insert(doc.id.clone()) {
            return Err(Error::DuplicateDocument(doc.id));
        }
        docs.push(doc);
    }
    Ok(docs)
}

/// Parses one corpus file. `path` is used for error messages and to check that the `id`
/// equals the file stem.
pub fn parse_corpus_document(path: &Path, content: &str) -> Result<Document> {
    let err = |line: usize, message: String| Error::Corpus {
        path: path.to_path_buf(),
        line,
        message,
    };
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let lines: Vec<&str> = content.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return Err(err(1, "expected `---` to open the front matter".into()));
    }
    let close = lines
        .iter()
        .enumerate()
        .skip(1)
        .find(|(_, l)| l.trim_end() == "---")
        .map(|(i, _)| i)
        .ok_or_else(|| err(1, "front matter is not closed by `---`".into()))?;

    let fm = parse_front_matter(&lines[1..close], 2).map_err(|(line, msg)| err(line, msg))?;

    let id = fm
        .id
        .ok_or_else(|| err(0, "front matter has no `id`".into()))?;
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(err(0, format!("`id` must be kebab-case, got {id:?}")));
    }
    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
        if stem != id {
            return Err(err(
                0,
                format!("`id` {id:?} differs from the file name {stem:?}"),
            ));
        }
    }
    let title = fm
        .title
        .filter(|t| !t.is_empty())
        .ok_or_else(|| err(0, "front matter has no `title`".into()))?;
    if let Some(date) = &fm.last_reviewed {
        if !is_iso_date(date) {
            return Err(err(
                0,
                format!("`last_reviewed` must be YYYY-MM-DD, got {date:?}"),
            ));
        }
    }

    let sections = parse_markdown_body(&lines[close + 1..]);
    Ok(Document {
        id,
        title,
        url: None,
        audience: fm.audience,
        sources: fm.sources,
        last_reviewed: fm.last_reviewed,
        reviewed_by: fm.reviewed_by,
        sections,
    })
}

#[derive(Default)]
struct FrontMatter {
    id: Option<String>,
    title: Option<String>,
    audience: Option<Audience>,
    sources: Vec<String>,
    last_reviewed: Option<String>,
    reviewed_by: Option<String>,
}

/// Parses front-matter lines; `first_line` is the 1-based line number of `lines[0]`.
fn parse_front_matter(
    lines: &[&str],
    first_line: usize,
) -> std::result::Result<FrontMatter, (usize, String)> {
    let mut fm = FrontMatter::default();
    let mut list_key: Option<String> = None;
    for (i, raw) in lines.iter().enumerate() {
        let line_no = first_line + i;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if raw.starts_with(' ') || raw.starts_with('\t') {
            let Some(item) = trimmed.strip_prefix('-') else {
                return Err((line_no, "indented line is not a `- item`".into()));
            };
            let Some(key) = &list_key else {
                return Err((line_no, "list item outside a list".into()));
            };
            let value = parse_scalar(item.trim()).map_err(|m| (line_no, m))?;
            // Items of lists other than `sources` are ignored.
            if key == "sources" {
                fm.sources.push(value);
            }
            continue;
        }
        let Some((key, rest)) = raw.split_once(':') else {
            return Err((line_no, "expected `key: value`".into()));
        };
        let key = key.trim().to_string();
        let rest = strip_comment(rest.trim());
        list_key = None;
        if rest.is_empty() {
            list_key = Some(key);
            continue;
        }
        if rest == "[]" {
            continue;
        }
        if rest.starts_with('[') || rest.starts_with('{') {
            return Err((
                line_no,
                format!("flow collections are not supported (`{key}`)"),
            ));
        }
        let value = parse_scalar(rest).map_err(|m| (line_no, m))?;
        match key.as_str() {
            "id" => fm.id = Some(value),
            "title" => fm.title = Some(value),
            "audience" => fm.audience = Some(value.parse::<Audience>().map_err(|m| (line_no, m))?),
            "last_reviewed" => fm.last_reviewed = Some(value),
            "reviewed_by" => fm.reviewed_by = Some(value),
            "sources" => return Err((line_no, "`sources` must be a block list".into())),
            _ => {} // unknown keys are ignored
        }
    }
    Ok(fm)
}

/// Removes a trailing ` # comment` from an unquoted value (quoted values keep theirs).
fn strip_comment(rest: &str) -> &str {
    if rest.starts_with('"') || rest.starts_with('\'') {
        return rest;
    }
    match rest.find(" #") {
        Some(pos) => rest[..pos].trim_end(),
        None => rest,
    }
}

/// Parses a plain, double-quoted or single-quoted scalar (quoted ones may be followed by a
/// comment).
fn parse_scalar(s: &str) -> std::result::Result<String, String> {
    let mut chars = s.chars();
    match chars.next() {
        Some('"') => {
            let mut out = String::new();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some('n') => out.push('\n'),
                        Some('t') => out.push('\t'),
                        Some('/') => out.push('/'),
                        Some(other) => return Err(format!("unsupported escape `\\{other}`")),
                        None => return Err("unterminated escape".into()),
                    },
                    c => out.push(c),
                }
            }
            if !closed {
                return Err("unterminated double-quoted string".into());
            }
            check_tail(chars.as_str())?;
            Ok(out)
        }
        Some('\'') => {
            let mut out = String::new();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\'' {
                    if chars.as_str().starts_with('\'') {
                        chars.next();
                        out.push('\'');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    out.push(c);
                }
            }
            if !closed {
                return Err("unterminated single-quoted string".into());
            }
            check_tail(chars.as_str())?;
            Ok(out)
        }
        _ => Ok(strip_comment(s).trim().to_string()),
    }
}

fn check_tail(tail: &str) -> std::result::Result<(), String> {
    let tail = tail.trim();
    if tail.is_empty() || tail.starts_with('#') {
        Ok(())
    } else {
        Err(format!("unexpected text after the closing quote: {tail:?}"))
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Splits a Markdown body into sections at ATX headings. The first `# ` heading is the
/// document title and is dropped (the title comes from the front matter); `##` starts a
/// top-level section, `###` a subsection, and so on. Headings inside fenced code blocks are
/// text.
pub(crate) fn parse_markdown_body(lines: &[&str]) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut buf: Vec<&str> = Vec::new();
    let mut in_fence = false;
    let mut seen_title = false;

    let flush = |stack: &Vec<String>, buf: &mut Vec<&str>, sections: &mut Vec<Section>| {
        let text = buf.join("\n").trim().to_string();
        buf.clear();
        if !text.is_empty() {
            sections.push(Section {
                headings: stack.clone(),
                text,
            });
        }
    };

    for &line in lines {
        let t = line.trim_start();
        if t.starts_with("```") || t.starts_with("~~~") {
            in_fence = !in_fence;
            buf.push(line);
            continue;
        }
        if !in_fence {
            if let Some((level, heading)) = atx_heading(line) {
                if level == 1 && !seen_title {
                    seen_title = true;
                    flush(&stack, &mut buf, &mut sections);
                    continue;
                }
                flush(&stack, &mut buf, &mut sections);
                let depth = level.saturating_sub(2);
                stack.truncate(depth);
                stack.push(heading);
                continue;
            }
        }
        buf.push(line);
    }
    flush(&stack, &mut buf, &mut sections);
    sections
}

/// `Some((level, text))` for an ATX heading line (`## Text`).
fn atx_heading(line: &str) -> Option<(usize, String)> {
    let hashes = line.bytes().take_while(|&b| b == b'#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &line[hashes..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim().to_string();
    if text.is_empty() {
        return None;
    }
    Some((hashes, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"---
id: chest-pain-emergency        # kebab-case, equal to the file name without .md
title: "Chest pain: when it is an emergency"   # quoted because it contains ": "
audience: patient               # patient | clinician
sources:
  - "NICE CG95 Recent-onset chest pain: assessment"
  - 'AHA/ACC ''2021'' guideline'
  - plain source # with a comment
last_reviewed: 2026-11-22
---

# Chest pain: when it is an emergency

Intro text before any section.

## What it can mean

Chest pain has many causes.

### Heart attack

Pressure or tightness.

## Call an emergency number now if

- pain spreads to the arm
"#;

    fn parse(content: &str) -> Result<Document> {
        parse_corpus_document(Path::new("corpus/chest-pain-emergency.md"), content)
    }

    #[test]
    fn front_matter_parses_quotes_comments_and_lists() {
        let doc = parse(FIXTURE).expect("fixture parses");
        assert_eq!(doc.id, "chest-pain-emergency");
        assert_eq!(doc.title, "Chest pain: when it is an emergency");
        assert_eq!(doc.audience, Some(Audience::Patient));
        assert_eq!(
            doc.sources,
            vec![
                "NICE CG95 Recent-onset chest pain: assessment".to_string(),
                "AHA/ACC '2021' guideline".to_string(),
                "plain source".to_string(),
            ]
        );
        assert_eq!(doc.last_reviewed.as_deref(), Some("2026-11-22"));
        assert_eq!(doc.url, None);
    }

    #[test]
    fn body_splits_into_heading_paths() {
        let doc = parse(FIXTURE).expect("fixture parses");
        let paths: Vec<Vec<&str>> = doc
            .sections
            .iter()
            .map(|s| s.headings.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            paths,
            vec![
                vec![],
                vec!["What it can mean"],
                vec!["What it can mean", "Heart attack"],
                vec!["Call an emergency number now if"],
            ]
        );
        assert_eq!(doc.sections[0].text, "Intro text before any section.");
        assert_eq!(doc.sections[3].text, "- pain spreads to the arm");
    }

    #[test]
    fn front_matter_errors_are_reported() {
        assert!(parse("no front matter").is_err());
        assert!(parse("---\nid: chest-pain-emergency\ntitle: x\n").is_err()); // not closed
        let missing_title = "---\nid: chest-pain-emergency\n---\nbody";
        assert!(matches!(parse(missing_title), Err(Error::Corpus { .. })));
        let bad_audience = "---\nid: chest-pain-emergency\ntitle: t\naudience: doctor\n---\n";
        match parse(bad_audience) {
            Err(Error::Corpus { line, .. }) => assert_eq!(line, 4),
            other => panic!("expected a corpus error, got {other:?}"),
        }
        let wrong_id = "---\nid: other-id\ntitle: t\n---\n";
        assert!(parse(wrong_id).is_err());
        let unterminated = "---\nid: chest-pain-emergency\ntitle: \"open\n---\n";
        assert!(parse(unterminated).is_err());
        let bad_date = "---\nid: chest-pain-emergency\ntitle: t\nlast_reviewed: soon\n---\n";
        assert!(parse(bad_date).is_err());
    }

    #[test]
    fn real_corpus_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
        let docs = load_corpus_dir(&dir).expect("corpus loads");
        assert_eq!(docs.len(), 52, "README lists 52 documents");
        let clinicians = docs
            .iter()
            .filter(|d| d.audience == Some(Audience::Clinician))
            .count();
        assert_eq!(clinicians, 10);
        for d in &docs {
            assert!(!d.sources.is_empty(), "{} has sources", d.id);
            assert!(
                (3..=6).contains(&d.sections.len()),
                "{} has {} sections",
                d.id,
                d.sections.len()
            );
            assert!(d.last_reviewed.is_some());
        }
        let news2 = docs
            .iter()
            .find(|d| d.id == "news2-escalation")
            .expect("news2 doc");
        assert_eq!(news2.title, "NEWS2: scoring and escalation thresholds");
        assert!(news2
            .sections
            .iter()
            .any(|s| s.headings == vec!["Parameter scoring".to_string()]
                && s.text.contains("Respiratory rate")));
    }
}
