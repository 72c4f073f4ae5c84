//! Shared test helpers: fixture locations, one embedder per test binary, scratch dirs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::document::{Document, Section};
use crate::embed::Embedder;

/// `<workspace>/models/embed`, where `rag/fetch-embedder.sh` puts the model.
pub(crate) fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/embed")
}

/// The MedQuAD checkout (`MEDQUAD_DIR`, else `<workspace>/../shared/data/medquad`).
pub(crate) fn medquad_dir() -> PathBuf {
    match std::env::var_os("MEDQUAD_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/medquad"),
    }
}

/// One embedder shared by all tests in the binary (loading takes a moment).
pub(crate) fn embedder() -> &'static Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        Embedder::load(&model_dir()).unwrap_or_else(|e| {
            panic!(
                "embedding model needed for this test: {e} (dir {})",
                model_dir().display()
            )
        })
    })
}

/// A fresh, empty scratch directory unique to this test and process.
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medserve-rag-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A corpus-style document with one section per `(heading, text)`.
pub(crate) fn doc(id: &str, title: &str, sections: &[(&str, &str)]) -> Document {
    Document {
        id: id.to_string(),
        title: title.to_string(),
        url: None,
        audience: None,
        sources: vec![],
        last_reviewed: None,
        reviewed_by: None,
        sections: sections
            .iter()
            .map(|(h, t)| Section {
                headings: vec![h.to_string()],
                text: t.to_string(),
            })
            .collect(),
    }
}

/// Eight short documents on distinct topics; only `ssri-side-effects` names sertraline.
pub(crate) fn fixture_corpus() -> Vec<Document> {
    vec![
        doc(
            "ssri-side-effects",
            "Antidepressant side effects",
            &[(
                "Common problems in the first weeks",
                "Sertraline can cause nausea, sleep changes and restlessness when you start. \
                 These usually settle within two weeks. Do not stop suddenly; talk to your \
                 prescriber before changing the dose.",
            )],
        ),
        doc(
            "hypoglycaemia",
            "Low blood sugar",
            &[(
                "Treating a hypo",
                "If your glucose is under 4 mmol/L, take 15 to 20 grams of fast-acting \
                 carbohydrate such as fruit juice or glucose tablets, then recheck after \
                 15 minutes.",
            )],
        ),
        doc(
            "stroke",
            "Stroke warning signs",
            &[(
                "BE-FAST",
                "Balance loss, eye changes, face drooping, arm weakness and speech \
                 difficulty mean time to call an ambulance.",
            )],
        ),
        doc(
            "asthma",
            "Asthma attack",
            &[(
                "Using your reliever",
                "Take one puff of your blue reliever inhaler every 30 to 60 seconds, up to \
                 10 puffs. Call for help if you are not improving.",
            )],
        ),
        doc(
            "burns",
            "Burns first aid",
            &[(
                "Cool the burn",
                "Cool the burn under cool running water for 20 minutes, remove jewellery, \
                 and cover loosely with cling film.",
            )],
        ),
        doc(
            "news2",
            "NEWS2 escalation",
            &[(
                "Thresholds",
                "An aggregate NEWS2 score of 5 or more, or 3 in a single parameter, needs an \
                 urgent review by a clinician with competencies in acute illness.",
            )],
        ),
        doc(
            "uti",
            "Urinary tract infection",
            &[(
                "Symptoms",
                "Burning when passing urine, needing to go often and cloudy urine are typical \
                 of a bladder infection.",
            )],
        ),
        doc(
            "kidney",
            "Kidney function",
            &[(
                "eGFR",
                "The eGFR estimates how well your kidneys filter blood. A value under 60 for \
                 three months suggests chronic kidney disease.",
            )],
        ),
    ]
}
