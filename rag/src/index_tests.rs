//! Tests of the index: persistence, incremental rebuilds, hybrid search.
use super::*;
use crate::chunk::ChunkParams;
use crate::test_support::{doc, embedder, fixture_corpus, scratch_dir};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn index_and_embedder_are_send_sync() {
    assert_send_sync::<Index>();
    assert_send_sync::<Embedder>();
}

fn small_params() -> IndexParams {
    IndexParams {
        chunk: ChunkParams {
            max_tokens: 64,
            overlap_tokens: 12,
        },
        ..IndexParams::default()
    }
}

fn ids(hits: &[Hit]) -> Vec<String> {
    hits.iter().map(|h| h.chunk_id.clone()).collect()
}

#[test]
fn params_validation() {
    assert!(IndexParams::default().validate().is_ok());
    let mut p = IndexParams::default();
    p.hnsw.m = 300;
    assert!(p.validate().is_err());
    let mut p = IndexParams::default();
    p.bm25.b = 2.0;
    assert!(p.validate().is_err());
    let json = serde_json::to_string(&IndexParams::default()).expect("json");
    let back: IndexParams = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, IndexParams::default());
    let partial: IndexParams = serde_json::from_str(r#"{"rrf_k": 30.0}"#).expect("parse");
    assert_eq!(partial.rrf_k, 30.0);
    assert_eq!(partial.hnsw, HnswParams::default());
}

#[test]
fn persistence_round_trip() {
    let e = embedder();
    let dir = scratch_dir("index-roundtrip");
    let docs = fixture_corpus();
    let mut stages = HashSet::new();
    let (built, report) = Index::build(&docs, e, &small_params(), &dir, None, |s, d, t| {
        assert!(d <= t);
        stages.insert(s);
    })
    .expect("build");
    assert_eq!(stages.len(), 3, "all stages reported");
    assert_eq!(report.docs_added, docs.len());
    assert_eq!(report.chunks_total, built.len());
    assert_eq!(
        report.chunks_embedded + report.chunks_deduplicated,
        built.len()
    );
    assert_eq!(report.chunks_reused, 0);
    assert!(dir.join("index.json").is_file());

    let opened = Index::open(&dir).expect("open");
    assert_eq!(opened.len(), built.len());
    assert_eq!(opened.documents(), docs.len());
    assert_eq!(opened.chunks(), built.chunks());
    assert_eq!(opened.params(), built.params());
    assert_eq!(opened.model_id(), Embedder::MODEL_ID);
    assert!(opened.check_embedder(e).is_ok());
    for i in 0..built.len() {
        assert_eq!(opened.vector(i), built.vector(i));
    }
    for query in [
        "sertraline nausea",
        "how to cool a burn",
        "kidney filtering blood",
    ] {
        let q = e.embed_one(query).expect("embed");
        for mode in [Mode::Dense, Mode::Lexical, Mode::Hybrid] {
            let a = built.search(&q, query, 5, mode).expect("search built");
            let b = opened.search(&q, query, 5, mode).expect("search opened");
            assert_eq!(ids(&a), ids(&b), "{query} {mode:?}");
            for (x, y) in a.iter().zip(&b) {
                assert!((x.fused_score - y.fused_score).abs() < 1e-5);
            }
        }
        // Small index: HNSW is exact.
        let approx = opened.dense_search(&q, 5).expect("dense");
        let exact = opened.exact_dense_search(&q, 5).expect("exact");
        let ai: Vec<usize> = approx.iter().map(|s| s.index).collect();
        let ei: Vec<usize> = exact.iter().map(|s| s.index).collect();
        assert_eq!(ai, ei, "{query}");
        for (a, x) in approx.iter().zip(&exact) {
            assert!((a.score - x.score).abs() < 1e-4);
        }
    }
    let c = opened.chunk("kidney#0").expect("chunk by id");
    assert_eq!(c.url, "corpus://kidney#0");
    assert!(opened.chunk("nope#0").is_none());
    // Wrong query dimension is an error, not a panic.
    assert!(matches!(
        opened.search(&[0.1, 0.2], "x", 3, Mode::Dense),
        Err(Error::DimensionMismatch {
            expected: 384,
            got: 2
        })
    ));
    // Lexical mode needs no vector.
    assert!(!opened
        .search(&[], "egfr", 3, Mode::Lexical)
        .expect("lexical")
        .is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn incremental_rebuild_embeds_only_changes() {
    let e = embedder();
    let dir = scratch_dir("index-incremental");
    let params = small_params();
    let mut docs = fixture_corpus();
    let (first, _) = Index::build(&docs, e, &params, &dir, None, |_, _, _| {}).expect("build");
    let gen1 = first.generation();
    let old_hashes: HashSet<String> = first.chunks().iter().map(|c| c.hash.clone()).collect();

    // Change one document, remove one, add one.
    docs[1].sections[0]
        .text
        .push_str(" Always carry glucose tablets with you.");
    let removed = docs.remove(2);
    docs.push(doc(
        "sore-throat",
        "Sore throat",
        &[(
            "Self-care",
            "Drink fluids, rest, and use paracetamol for pain.",
        )],
    ));
    let previous = Index::open(&dir).expect("open");
    let (second, report) =
        Index::build(&docs, e, &params, &dir, Some(&previous), |_, _, _| {}).expect("rebuild");

    assert_eq!(report.docs_changed, 1);
    assert_eq!(report.docs_removed, 1);
    assert_eq!(report.docs_added, 1);
    assert_eq!(report.docs_unchanged, docs.len() - 2);
    let new_texts: HashSet<&str> = second
        .chunks()
        .iter()
        .filter(|c| !old_hashes.contains(&c.hash))
        .map(|c| c.hash.as_str())
        .collect();
    assert!(!new_texts.is_empty());
    assert_eq!(report.chunks_embedded, new_texts.len());
    let changed_or_added = second
        .chunks()
        .iter()
        .filter(|c| c.doc_id == docs[1].id || c.doc_id == "sore-throat")
        .count();
    assert!(report.chunks_embedded <= changed_or_added);
    assert_eq!(
        report.chunks_reused + report.chunks_embedded + report.chunks_deduplicated,
        second.len()
    );
    assert!(second.chunks().iter().all(|c| c.doc_id != removed.id));
    assert!(second.generation() > gen1);

    // Reused vectors are the old ones (up to the float rounding of re-normalisation, far
    // below the ~1e-3 differences of a fresh embedding in another batch); the reopened
    // index matches.
    let reopened = Index::open(&dir).expect("reopen");
    for (i, c) in reopened.chunks().iter().enumerate() {
        if let Some(j) = first.chunks().iter().position(|o| o.hash == c.hash) {
            let (a, b) = (reopened.vector(i).unwrap(), first.vector(j).unwrap());
            let diff = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-6, "chunk {} vector changed by {diff}", c.id);
        }
    }
    // Old generation files are gone.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    assert!(
        names.iter().all(|n| !n.contains(&format!("-{gen1}."))),
        "{names:?}"
    );

    // A rebuild with nothing changed embeds nothing.
    let (_, again) =
        Index::build(&docs, e, &params, &dir, Some(&reopened), |_, _, _| {}).expect("noop");
    assert_eq!(again.chunks_embedded, 0);
    assert_eq!(again.docs_unchanged, docs.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hybrid_finds_drug_names_through_the_lexical_side() {
    let e = embedder();
    let dir = scratch_dir("index-hybrid");
    let (index, _) = Index::build(
        &fixture_corpus(),
        e,
        &small_params(),
        &dir,
        None,
        |_, _, _| {},
    )
    .expect("build");
    let query = "sertraline";
    let q = e.embed_one(query).expect("embed");

    let lexical = index.search(&q, query, 3, Mode::Lexical).expect("lexical");
    assert_eq!(lexical.len(), 1, "only one chunk names the drug");
    assert_eq!(lexical[0].doc_id, "ssri-side-effects");

    let hybrid = index.search(&q, query, 3, Mode::Hybrid).expect("hybrid");
    assert_eq!(hybrid[0].doc_id, "ssri-side-effects");
    assert_eq!(hybrid[0].lexical_rank, Some(1));
    assert!(
        hybrid[0].dense_rank.is_some(),
        "small corpus: every chunk is a dense candidate"
    );
    assert!(hybrid
        .windows(2)
        .all(|w| w[0].fused_score >= w[1].fused_score));
    let dense = index
        .search(&q, query, index.len(), Mode::Dense)
        .expect("dense");
    let dense_rank = dense
        .iter()
        .position(|h| h.doc_id == "ssri-side-effects")
        .map(|r| r + 1);
    assert_eq!(hybrid[0].dense_rank, dense_rank);
    // RRF: score is 1/(k+dense_rank) + 1/(k+1).
    let k = index.params().rrf_k;
    let expected = 1.0 / (k + dense_rank.unwrap_or(0) as f32) + 1.0 / (k + 1.0);
    assert!((hybrid[0].fused_score - expected).abs() < 1e-6);

    // A paraphrase (different wording from the document) reaches it through dense search.
    let query = "what should I do when my sugar level drops too low";
    let q = e.embed_one(query).expect("embed");
    let dense = index.search(&q, query, 3, Mode::Dense).expect("dense");
    assert!(
        dense.iter().any(|h| h.doc_id == "hypoglycaemia"),
        "{:?}",
        ids(&dense)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn empty_index_builds_opens_and_searches() {
    let e = embedder();
    let dir = scratch_dir("index-empty");
    let (index, report) =
        Index::build(&[], e, &IndexParams::default(), &dir, None, |_, _, _| {}).expect("build");
    assert!(index.is_empty());
    assert_eq!(report.chunks_total, 0);
    let opened = Index::open(&dir).expect("open");
    assert!(opened.is_empty());
    let q = e.embed_one("anything").expect("embed");
    assert!(opened
        .search(&q, "anything", 5, Mode::Hybrid)
        .expect("search")
        .is_empty());
    let dup = vec![fixture_corpus()[0].clone(), fixture_corpus()[0].clone()];
    assert!(matches!(
        Index::build(&dup, e, &IndexParams::default(), &dir, None, |_, _, _| {}),
        Err(Error::DuplicateDocument(_))
    ));
    assert!(Index::open(&scratch_dir("index-none")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
