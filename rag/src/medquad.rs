//! MedQuAD ingest: `<Document id source url>` files with `<QAPairs>` of questions and answers.
//!
//! Each non-empty answer becomes one [`Document`] (id `medquad/<source>/<qid>`, title = the
//! question focus, one section headed by the question, url = the source page). Empty answers
//! (the collections whose answers were removed for copyright) are skipped. The few NINDS/CDC
//! files in the older lowercase schema (`<doc docid corpus url>`, `<pair>`, `<question>`,
//! `<answer>`) are read too.

use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::document::{Document, Section};
use crate::error::{Error, Result};

/// One MedQuAD question with its answer as a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QaPair {
    /// The question, whitespace-normalised.
    pub question: String,
    /// The MedQuAD question type (`information`, `treatment`, ...), when present.
    pub qtype: Option<String>,
    /// The answer as a document (its only section is headed by the question).
    pub document: Document,
}

/// Loads every non-empty answer under `dir` (`dir/*/*.xml` and `dir/*.xml`) as documents.
pub fn load_medquad(dir: &Path) -> Result<Vec<Document>> {
    Ok(load_medquad_pairs(dir)?
        .into_iter()
        .map(|p| p.document)
        .collect())
}

/// Like [`load_medquad`] but keeps the questions (for evaluation). Files are read in sorted
/// path order; a pair whose id was already seen (MedQuAD has a few duplicated files) is
/// skipped.
pub fn load_medquad_pairs(dir: &Path) -> Result<Vec<QaPair>> {
    let mut files = Vec::new();
    collect_xml(dir, &mut files, 0)?;
    files.sort();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut duplicates = 0usize;
    for path in files {
        let content = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        for pair in parse_medquad_xml(&path, &content)? {
            if seen.insert(pair.document.id.clone()) {
                out.push(pair);
            } else {
                duplicates += 1;
            }
        }
    }
    if duplicates > 0 {
        tracing::debug!(duplicates, "skipped MedQuAD pairs with repeated ids");
    }
    Ok(out)
}

fn collect_xml(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.is_dir() {
            if depth == 0 {
                collect_xml(&path, out, depth + 1)?;
            }
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Focus,
    Question,
    Answer,
}

/// Parses one MedQuAD XML file. `path` is used for error messages only.
pub fn parse_medquad_xml(path: &Path, xml: &str) -> Result<Vec<QaPair>> {
    let err = |message: String| Error::MedQuad {
        path: path.to_path_buf(),
        message,
    };
    let mut reader = Reader::from_str(xml);
    let mut doc_id = String::new();
    let mut source = String::new();
    let mut url: Option<String> = None;
    let mut focus = String::new();
    let mut field: Option<Field> = None;
    let mut text = String::new();
    let mut qid: Option<String> = None;
    let mut qtype: Option<String> = None;
    let mut question = String::new();
    let mut answer = String::new();
    let mut pair_index = 0usize;
    let mut pairs = Vec::new();
    let mut saw_root = false;

    loop {
        let event = reader
            .read_event()
            .map_err(|e| err(format!("at byte {}: {e}", reader.buffer_position())))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                match name.as_slice() {
                    // Most files use <Document id source>; a few NINDS files use
                    // <doc docid corpus> and one CDC file <DiseaseFile fid source>.
                    b"document" | b"doc" | b"diseasefile" => {
                        saw_root = true;
                        doc_id = attr(&e, &["id", "docid", "fid"])
                            .map_err(&err)?
                            .unwrap_or_default();
                        source = attr(&e, &["source", "corpus"])
                            .map_err(&err)?
                            .unwrap_or_default();
                        url = attr(&e, &["url"]).map_err(&err)?.filter(|u| !u.is_empty());
                    }
                    b"focus" | b"doctitle-focus" => {
                        start_field(&mut field, &mut text, Field::Focus)
                    }
                    b"qapair" | b"pair" => {
                        pair_index += 1;
                        qid = None;
                        qtype = None;
                        question.clear();
                        answer.clear();
                    }
                    b"question" => {
                        qid = attr(&e, &["qid"]).map_err(&err)?;
                        qtype = attr(&e, &["qtype"]).map_err(&err)?;
                        start_field(&mut field, &mut text, Field::Question);
                    }
                    b"answer" => start_field(&mut field, &mut text, Field::Answer),
                    _ => {}
                }
            }
            Event::Empty(e) => {
                // `<Answer/>`: an empty answer, nothing to record.
                let name = e.local_name().as_ref().to_ascii_lowercase();
                if name.as_slice() == b"question" {
                    qid = attr(&e, &["qid"]).map_err(&err)?;
                    qtype = attr(&e, &["qtype"]).map_err(&err)?;
                }
            }
            Event::Text(t) => {
                if field.is_some() {
                    let s = t.decode().map_err(|e| err(e.to_string()))?;
                    text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if field.is_some() {
                    let s = t.decode().map_err(|e| err(e.to_string()))?;
                    text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                if field.is_some() {
                    if let Some(c) = r.resolve_char_ref().map_err(|e| err(e.to_string()))? {
                        text.push(c);
                    } else {
                        let name = r.decode().map_err(|e| err(e.to_string()))?;
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => text.push_str(s),
                            // Unknown entity: keep it literally rather than fail the file.
                            None => {
                                text.push('&');
                                text.push_str(&name);
                                text.push(';');
                            }
                        }
                    }
                }
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_ascii_lowercase();
                match name.as_slice() {
                    b"focus" | b"doctitle-focus" if field == Some(Field::Focus) => {
                        focus = normalize_inline(&text);
                        field = None;
                    }
                    b"question" if field == Some(Field::Question) => {
                        question = normalize_inline(&text);
                        field = None;
                    }
                    b"answer" if field == Some(Field::Answer) => {
                        answer = normalize_block(&text);
                        field = None;
                    }
                    b"qapair" | b"pair" => {
                        if !answer.is_empty() {
                            let local = qid
                                .take()
                                .filter(|q| !q.is_empty())
                                .unwrap_or_else(|| format!("{doc_id}-{pair_index}"));
                            let src = if source.is_empty() {
                                "unknown"
                            } else {
                                &source
                            };
                            let id = format!("medquad/{src}/{local}");
                            let page = url
                                .clone()
                                .unwrap_or_else(|| format!("medquad://{src}/{doc_id}"));
                            let title = if focus.is_empty() {
                                question.clone()
                            } else {
                                focus.clone()
                            };
                            pairs.push(QaPair {
                                question: question.clone(),
                                qtype: qtype.take(),
                                document: Document {
                                    id,
                                    title,
                                    url: Some(page),
                                    audience: None,
                                    sources: if source.is_empty() {
                                        vec![]
                                    } else {
                                        vec![source.clone()]
                                    },
                                    last_reviewed: None,
                                    reviewed_by: None,
                                    sections: vec![Section {
                                        headings: if question.is_empty() {
                                            vec![]
                                        } else {
                                            vec![question.clone()]
                                        },
                                        text: answer.clone(),
                                    }],
                                },
                            });
                        }
                        answer.clear();
                        question.clear();
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err(err("no <Document> element".into()));
    }
    Ok(pairs)
}

fn start_field(field: &mut Option<Field>, text: &mut String, which: Field) {
    *field = Some(which);
    text.clear();
}

/// The unescaped value of the first attribute whose (lowercased) local name is in `names`.
fn attr(e: &BytesStart<'_>, names: &[&str]) -> std::result::Result<Option<String>, String> {
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|e| e.to_string())?;
        let key = a.key.local_name().as_ref().to_ascii_lowercase();
        if names.iter().any(|n| n.as_bytes() == key.as_slice()) {
            let v = a.unescape_value().map_err(|e| e.to_string())?;
            return Ok(Some(v.trim().to_string()));
        }
    }
    Ok(None)
}

/// Collapses all whitespace runs to one space.
fn normalize_inline(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims every line, collapses spaces inside lines, and keeps at most one blank line between
/// paragraphs.
fn normalize_block(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for line in s.lines() {
        let line = normalize_inline(line);
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        out.push_str(&line);
        blank = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document id="0000042" source="GHR" url="https://ghr.nlm.nih.gov/condition/example">
<Focus>Example &amp; syndrome</Focus>
<FocusAnnotations><UMLS><CUIs><CUI>C000</CUI></CUIs></UMLS></FocusAnnotations>
<QAPairs>
	<QAPair pid="1">
			<Question qid="0000042-1" qtype="information">What is (are)
			Example syndrome ?</Question>
			<Answer>Example syndrome is a widow&apos;s   peak &quot;thing&quot; &#233;.
                
   Second paragraph.</Answer>
	</QAPair>
	<QAPair pid="2">
			<Question qid="0000042-2" qtype="treatment">What are the treatments for Example syndrome ?</Question>
			<Answer></Answer>
	</QAPair>
	<QAPair pid="3">
			<Question qid="0000042-3" qtype="genes">What are the genetic changes related to Example syndrome ?</Question>
			<Answer/>
	</QAPair>
</QAPairs>
</Document>"#;

    #[test]
    fn fixture_parses_and_skips_empty_answers() {
        let pairs = parse_medquad_xml(Path::new("fixture.xml"), FIXTURE).expect("parses");
        assert_eq!(pairs.len(), 1, "two of three answers are empty");
        let p = &pairs[0];
        assert_eq!(p.question, "What is (are) Example syndrome ?");
        assert_eq!(p.qtype.as_deref(), Some("information"));
        let d = &p.document;
        assert_eq!(d.id, "medquad/GHR/0000042-1");
        assert_eq!(d.title, "Example & syndrome");
        assert_eq!(
            d.url.as_deref(),
            Some("https://ghr.nlm.nih.gov/condition/example")
        );
        assert_eq!(d.sources, vec!["GHR".to_string()]);
        assert_eq!(d.sections.len(), 1);
        assert_eq!(d.sections[0].headings, vec![p.question.clone()]);
        assert_eq!(
            d.sections[0].text,
            "Example syndrome is a widow's peak \"thing\" \u{e9}.\n\nSecond paragraph."
        );
        assert_eq!(d.chunk_url(0), "https://ghr.nlm.nih.gov/condition/example");
    }

    #[test]
    fn lowercase_schema_parses() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<doc docid="0000007" corpus="NINDS" url="http://www.ninds.nih.gov/x.htm">
<doctitle-focus>Holmes-Adie</doctitle-focus>
<qaPairs><pair pid="1"><question qid="0000007-1" qtype="information">what is holmes-adie syndrome ?</question>
<answer>Holmes-Adie syndrome (HAS) is a neurological disorder.</answer></pair></qaPairs></doc>"#;
        let pairs = parse_medquad_xml(Path::new("x.xml"), xml).expect("parses");
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].document.id, "medquad/NINDS/0000007-1");
        assert_eq!(pairs[0].document.title, "Holmes-Adie");
    }

    #[test]
    fn malformed_xml_is_an_error_not_a_panic() {
        let bad = "<Document id=\"1\"><QAPairs><QAPair><Answer>text</QAPair></Document>";
        assert!(parse_medquad_xml(Path::new("bad.xml"), bad).is_err());
        assert!(parse_medquad_xml(Path::new("empty.xml"), "").is_err());
    }

    #[test]
    fn real_medquad_file_parses() {
        let dir = crate::test_support::medquad_dir();
        let path = dir.join("3_GHR_QA/0000001.xml");
        let xml = std::fs::read_to_string(&path).expect("MedQuAD GHR 0000001.xml is readable");
        let pairs = parse_medquad_xml(&path, &xml).expect("parses");
        assert!(pairs.len() >= 5, "got {} pairs", pairs.len());
        for p in &pairs {
            assert!(p.document.id.starts_with("medquad/GHR/0000001-"));
            assert_eq!(p.document.title, "Aarskog-Scott syndrome");
            assert_eq!(
                p.document.url.as_deref(),
                Some("https://ghr.nlm.nih.gov/condition/aarskog-scott-syndrome")
            );
            assert!(!p.document.sections[0].text.is_empty());
            assert!(!p.document.sections[0].text.contains("&apos;"));
        }
        assert_eq!(pairs[0].question, "What is (are) Aarskog-Scott syndrome ?");
    }
}
