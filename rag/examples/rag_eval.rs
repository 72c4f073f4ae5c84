//! MedQuAD retrieval benchmark: builds an index and prints the eval tables.
//!
//! `cargo run --release -p medserve-rag --example rag_eval -- [MEDQUAD_DIR] [MAX_DOCS] [MAX_QUERIES]`
//! (defaults: `../shared/data/medquad`, all answers, 500 queries). Needs `models/embed`.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use medserve_rag::eval::{eval_medquad, EvalConfig};
use medserve_rag::{Embedder, IndexParams, Stage};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let medquad = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/data/medquad".to_string()),
    );
    let max_docs = args.next().map(|s| s.parse::<usize>()).transpose()?;
    let max_queries = args
        .next()
        .map(|s| s.parse::<usize>())
        .transpose()?
        .unwrap_or(500);

    let embedder = Embedder::load(&PathBuf::from("models/embed"))?;
    let index_dir = std::env::temp_dir().join("medserve-rag-eval");
    let config = EvalConfig {
        max_docs,
        max_queries,
        ..EvalConfig::default()
    };

    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {pos}/{len} ({eta})",
    )?);
    let mut last_stage = None;
    let report = eval_medquad(
        &medquad,
        &embedder,
        &index_dir,
        &IndexParams::default(),
        &config,
        |stage: Stage, done: usize, total: usize| {
            if last_stage != Some(stage) {
                last_stage = Some(stage);
                bar.set_message(format!("{stage:?}"));
                bar.set_length(total as u64);
            }
            bar.set_position(done as u64);
        },
    )?;
    bar.finish_and_clear();
    println!("{report}");
    Ok(())
}
