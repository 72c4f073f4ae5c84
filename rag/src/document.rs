//! Source documents: one guideline page or one MedQuAD answer, split into headed sections.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Who a corpus document is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Plain-language guidance for patients and carers.
    Patient,
    /// Concise guidance for clinicians.
    Clinician,
}

impl std::str::FromStr for Audience {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "patient" => Ok(Audience::Patient),
            "clinician" => Ok(Audience::Clinician),
            other => Err(format!(
                "audience must be `patient` or `clinician`, got {other:?}"
            )),
        }
    }
}

/// A run of text under one heading path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Headings above this text, outermost first, not including the document title
    /// (`["Parameter scoring"]` for a `##` section; empty for text before the first heading).
    pub headings: Vec<String>,
    /// The section body, Markdown kept as written.
    pub text: String,
}

/// One retrievable source document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Unique id (`news2-escalation`, `medquad/GHR/0000001-1`).
    pub id: String,
    /// Title shown to users and prefixed to every chunk.
    pub title: String,
    /// Citation URL; `None` for corpus documents, whose chunks cite `corpus://<id>#<n>`.
    pub url: Option<String>,
    /// Intended audience, when the source says.
    pub audience: Option<Audience>,
    /// Guidelines and references the document relies on.
    pub sources: Vec<String>,
    /// Date of the last clinical review (`YYYY-MM-DD`), when known.
    pub last_reviewed: Option<String>,
    /// Who did that review, when known.
    pub reviewed_by: Option<String>,
    /// The body, in reading order.
    pub sections: Vec<Section>,
}

impl Document {
    /// SHA-256 (hex) of everything in the document; changes whenever any field changes.
    pub fn content_hash(&self) -> String {
        // serde_json output of a derived struct is deterministic (field order is fixed).
        let bytes = serde_json::to_vec(self).unwrap_or_else(|_| self.id.as_bytes().to_vec());
        sha256_hex(&bytes)
    }

    /// The citation URL of chunk `index` of this document.
    pub fn chunk_url(&self, index: usize) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => format!("corpus://{}#{index}", self.id),
        }
    }
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document {
            id: "d".into(),
            title: "T".into(),
            url: None,
            audience: Some(Audience::Patient),
            sources: vec![],
            last_reviewed: None,
            reviewed_by: None,
            sections: vec![Section {
                headings: vec!["H".into()],
                text: "body".into(),
            }],
        }
    }

    #[test]
    fn content_hash_tracks_every_field() {
        let a = doc();
        let mut b = doc();
        assert_eq!(a.content_hash(), b.content_hash());
        assert_eq!(a.content_hash().len(), 64);
        b.sections[0].text.push('!');
        assert_ne!(a.content_hash(), b.content_hash());
        let mut c = doc();
        c.audience = Some(Audience::Clinician);
        assert_ne!(a.content_hash(), c.content_hash());
    }

    #[test]
    fn chunk_urls() {
        let mut d = doc();
        assert_eq!(d.chunk_url(3), "corpus://d#3");
        d.url = Some("https://example.org/x".into());
        assert_eq!(d.chunk_url(3), "https://example.org/x");
    }

    #[test]
    fn audience_parses() {
        assert_eq!("patient".parse::<Audience>(), Ok(Audience::Patient));
        assert_eq!("clinician".parse::<Audience>(), Ok(Audience::Clinician));
        assert!("doctor".parse::<Audience>().is_err());
    }
}
