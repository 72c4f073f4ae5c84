//! The `medserve` binary: parse the command line, then serve or manage models.

mod eval;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use medserve_models::{gguf, MistralEngine, MistralOptions};
use medserve_server::config::ServeArgs;
use medserve_server::{AppState, ServerSettings};
use tracing_subscriber::EnvFilter;

/// medserve: an OpenAI-compatible inference server for medical conversational AI.
#[derive(Debug, Parser)]
#[command(version = medserve_server::BUILD, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Inspect and convert model files.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Build or inspect the guideline retrieval index.
    Index {
        #[command(subcommand)]
        command: IndexCommand,
    },
    /// Measure components on public data sets and print a table (and JSON with --json).
    Eval {
        #[command(subcommand)]
        command: EvalCommand,
    },
    /// Create, list and revoke API keys (the secret is shown once, only its hash is kept).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Export the de-identified training log.
    Training {
        #[command(subcommand)]
        command: TrainingCommand,
    },
    /// Train and evaluate the learned guardrail detectors.
    Guardrails {
        #[command(subcommand)]
        command: GuardrailsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum GuardrailsCommand {
    /// Fit the emergency and harmful-request heads and the PHI tagger on the labelled sets,
    /// choose thresholds on the validation split, and write the weights.
    Train {
        /// Folder with `train/` (JSONL sets) and `gazetteer/`.
        #[arg(long, default_value = "guardrails/data")]
        data: PathBuf,
        /// MedSafetyBench training split (harmful requests).
        #[arg(long, default_value = "../shared/data/medsafetybench")]
        medsafetybench: PathBuf,
        /// MedQuAD (benign consumer questions).
        #[arg(long, default_value = "../shared/data/medquad")]
        medquad: PathBuf,
        /// MedQuAD questions to take.
        #[arg(long, default_value_t = 1500)]
        medquad_n: usize,
        /// `eval-jsonl` exports (`medserve training export --format eval-jsonl`): nurse
        /// decisions as extra emergency labels. Repeatable.
        #[arg(long)]
        eval_export: Vec<PathBuf>,
        /// The guideline corpus (negatives for the injection head).
        #[arg(long, default_value = "corpus")]
        corpus: PathBuf,
        /// Sentence encoder folder.
        #[arg(long, default_value = medserve_server::config::DEFAULT_EMBEDDER)]
        embedder: PathBuf,
        /// Where to write the weights.
        #[arg(long, default_value = medserve_guardrails::learned::DEFAULT_WEIGHTS)]
        out: PathBuf,
    },
    /// Run the input stage on one message and print its decision, verdicts and the message
    /// as the store would keep it (`redacted`), as JSON.
    Check {
        /// The user message.
        text: String,
        /// Weights to use.
        #[arg(long, default_value = medserve_guardrails::learned::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        /// Sentence encoder folder.
        #[arg(long, default_value = medserve_server::config::DEFAULT_EMBEDDER)]
        embedder: PathBuf,
    },
    /// Rules only, learned only and combined, on the validation split and on the held-out
    /// sets, per detector.
    Eval {
        /// Folder with `train/` and `heldout/`.
        #[arg(long, default_value = "guardrails/data")]
        data: PathBuf,
        /// Weights to evaluate.
        #[arg(long, default_value = medserve_guardrails::learned::DEFAULT_WEIGHTS)]
        weights: PathBuf,
        /// Sentence encoder folder.
        #[arg(long, default_value = medserve_server::config::DEFAULT_EMBEDDER)]
        embedder: PathBuf,
        /// Held-out round (`heldout/rounds.toml` lists them and which were looked at).
        #[arg(long, default_value_t = 8)]
        round: u32,
        /// Guardrails policy to evaluate (default: the shipped `guardrails/policy.toml`).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Print the full report as JSON too.
        #[arg(long)]
        json: bool,
        /// List the held-out PHI identifiers that were kept (in the JSON report). Looking
        /// at them makes the round a development set (record that in `rounds.toml`).
        #[arg(long, requires = "json")]
        list_heldout_kept: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key and print its secret once.
    Create {
        /// patient_app, nurse, admin or ml.
        #[arg(long)]
        role: String,
        /// A label for operators.
        #[arg(long)]
        name: String,
        /// Chats of this key consent to the training log unless a request says otherwise.
        #[arg(long)]
        consent: bool,
        /// Chats of this key are triage sessions unless a request says otherwise.
        #[arg(long)]
        triage: bool,
        /// Requests per minute (server default if absent).
        #[arg(long)]
        rpm: Option<u32>,
        /// Concurrent generations (server default if absent).
        #[arg(long)]
        max_streams: Option<u32>,
        /// Store file.
        #[arg(long, env = "MEDSERVE_DB", default_value = medserve_server::config::DEFAULT_DB)]
        db: PathBuf,
    },
    /// List keys (never their secrets).
    List {
        /// Store file.
        #[arg(long, env = "MEDSERVE_DB", default_value = medserve_server::config::DEFAULT_DB)]
        db: PathBuf,
    },
    /// Revoke a key by id; it stops working at once.
    Revoke {
        /// Key id (`k...`).
        id: String,
        /// Store file.
        #[arg(long, env = "MEDSERVE_DB", default_value = medserve_server::config::DEFAULT_DB)]
        db: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TrainingCommand {
    /// Write the training log as JSON lines.
    Export {
        /// chat-jsonl (OpenAI fine-tuning messages) or eval-jsonl (nurse-labelled triage
        /// cases).
        #[arg(long, default_value = "chat-jsonl")]
        format: String,
        /// Lowest quality score exported, 0-1.
        #[arg(long, default_value_t = 0.8)]
        min_quality: f64,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Store file.
        #[arg(long, env = "MEDSERVE_DB", default_value = medserve_server::config::DEFAULT_DB)]
        db: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum IndexCommand {
    /// Chunk, embed and index the corpus (and optionally MedQuAD). Incremental: only new or
    /// changed text is embedded again.
    Build {
        /// Guideline documents (Markdown with front matter).
        #[arg(long, default_value = "corpus")]
        corpus: PathBuf,
        /// Also ingest a MedQuAD folder (e.g. ../shared/data/medquad).
        #[arg(long)]
        medquad: Option<PathBuf>,
        /// Embedding model folder.
        #[arg(long, default_value = medserve_server::config::DEFAULT_EMBEDDER)]
        embedder: PathBuf,
        /// Index folder (written atomically file by file).
        #[arg(long, default_value = medserve_server::config::DEFAULT_INDEX)]
        out: PathBuf,
        /// Start from scratch instead of reusing vectors of unchanged chunks.
        #[arg(long)]
        full: bool,
    },
    /// Search an index from the command line.
    Search {
        /// The query.
        query: String,
        /// Index folder.
        #[arg(long, default_value = medserve_server::config::DEFAULT_INDEX)]
        index: PathBuf,
        /// Embedding model folder.
        #[arg(long, default_value = medserve_server::config::DEFAULT_EMBEDDER)]
        embedder: PathBuf,
        /// Results.
        #[arg(long, default_value_t = 5)]
        top_k: usize,
        /// hybrid, dense or lexical.
        #[arg(long, default_value = "hybrid")]
        mode: String,
    },
}

#[derive(Debug, Subcommand)]
enum EvalCommand {
    /// Every suite through the HTTP API of a running server (any OpenAI-compatible one):
    /// report.json and report.html in --out.
    Run(RunArgs),
    /// Input guardrails: the labelled red-flag set, MedSafetyBench refusals and MedQuAD
    /// false refusals.
    Guardrails {
        /// Folder holding `medsafetybench/` and `medquad/`.
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// Print the full report as JSON too.
        #[arg(long)]
        json: bool,
    },
    /// PHI leakage of the training log: synthetic messages with planted identifiers of
    /// every type, written through the real de-identification and store, then searched.
    Phi {
        /// Messages to generate (at least 500 for the report).
        #[arg(long, default_value_t = 600)]
        n: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Print the full report as JSON too.
        #[arg(long)]
        json: bool,
    },
    /// Store throughput with fsync: sequential and concurrent writers (group commit).
    Store {
        /// Records per run.
        #[arg(long, default_value_t = 2000)]
        records: usize,
        /// Concurrent writers of the group-commit run.
        #[arg(long, default_value_t = 32)]
        writers: usize,
        /// Also measure PostgreSQL at this URL (a scratch database: the records stay).
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Tool-call validity of the real model with and without constrained decoding, and
    /// the per-token cost of the constraint.
    Tools {
        /// GGUF model.
        #[arg(long, default_value = "models/SmolLM2-135M-Instruct.Q8_0.gguf")]
        model: PathBuf,
        /// Labelled requests (JSON lines: `{"tool", "message"}`).
        #[arg(long, default_value = "benches/tool_calls.jsonl")]
        cases: PathBuf,
        /// Completion budget per request.
        #[arg(long, default_value_t = 160)]
        max_tokens: usize,
        /// Other catalogue tools offered beside the right one.
        #[arg(long, default_value_t = 3)]
        distractors: usize,
        /// Print the full report as JSON too.
        #[arg(long)]
        json: bool,
    },
}

/// `medserve eval run`'s options.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Base URL of any OpenAI-compatible server (`http://host:port`).
    #[arg(long)]
    base_url: String,
    /// Bearer key for chat, embeddings and the model list.
    #[arg(long, env = "MEDSERVE_EVAL_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Key allowed to read the training export (the phi suite; skipped without it).
    #[arg(long, env = "MEDSERVE_EVAL_EXPORT_KEY", hide_env_values = true)]
    export_key: Option<String>,
    /// Chat model id (default: the first the server lists).
    #[arg(long)]
    model: Option<String>,
    /// all, or suites separated by commas: triage, safety, phi, tools, retrieval, qa,
    /// latency.
    #[arg(long, default_value = "all")]
    suite: Vec<String>,
    /// Folder for report.json, report.html and the converted sets.
    #[arg(long)]
    out: PathBuf,
    /// A previous run's folder: each figure beside its old value; exit code 3 when one
    /// regressed beyond its 95% interval.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// The set manifest.
    #[arg(long, default_value = "benches/eval/sets.toml")]
    sets: PathBuf,
    /// Folder holding medquad/ and pubmedqa/.
    #[arg(long, default_value = "../shared/data")]
    shared_data: PathBuf,
    /// Items per set at most (a seeded sample; default: each set's own default, all
    /// items for the labelled sets).
    #[arg(long)]
    limit: Option<usize>,
    /// Sample seed.
    #[arg(long, default_value_t = 20261204)]
    seed: u64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Subcommand)]
enum ModelCommand {
    /// Rewrite the quantised tensors of a GGUF file in another format.
    Requantize {
        /// Input GGUF.
        input: PathBuf,
        /// Output GGUF (written atomically).
        output: PathBuf,
        /// Target type: q8_0, q4_0, q4k, q6k, ...
        #[arg(long, default_value = "q8_0")]
        to: String,
    },
    /// Write a random-weight Llama GGUF of a given shape with a donor's tokenizer and chat
    /// template (benchmarks at sizes whose weights cannot be downloaded).
    Synth {
        /// GGUF whose tokenizer and chat template the model takes.
        #[arg(long)]
        like: PathBuf,
        /// Embedding width.
        #[arg(long)]
        hidden: usize,
        /// Transformer blocks.
        #[arg(long)]
        layers: usize,
        /// Attention heads.
        #[arg(long)]
        heads: usize,
        /// Key/value heads.
        #[arg(long)]
        kv_heads: usize,
        /// Feed-forward width.
        #[arg(long)]
        ffn: usize,
        /// Type of the projections: q8_0, q4k, ...
        #[arg(long = "type", default_value = "q8_0")]
        dtype: String,
        /// Seed of the random weights.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output GGUF (written atomically).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the architecture, tensor types and SHA-256 of a GGUF file.
    Info {
        /// GGUF file.
        path: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    // Error values carry no stack trace unless asked for with RUST_LIB_BACKTRACE: with
    // RUST_BACKTRACE=1 alone (set in many shells and CI images) errors built while the model
    // loads captured one, and resolving it read the binary's debug information into memory
    // (measured: RSS after start 785 -> 375 MB on SmolLM2-135M, 1.9 -> 1.5 GB at 1.1B).
    // Panics still print a backtrace under RUST_BACKTRACE. Set before any thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,hnsw_rs=warn,ort=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Model { command } => model(command),
        Command::Eval { command } => eval(command),
        Command::Index { command } => index(command),
        Command::Keys { command } => keys(command),
        Command::Training { command } => training(command),
        Command::Guardrails { command } => guardrails(command),
    }
}

fn keys(cmd: KeysCommand) -> anyhow::Result<()> {
    use medserve_server::store::{Actor, KeyRole, KeySettings};
    match cmd {
        KeysCommand::Create {
            role,
            name,
            consent,
            triage,
            rpm,
            max_streams,
            db,
        } => {
            let role = KeyRole::parse(&role).ok_or_else(|| {
                anyhow::anyhow!("--role must be patient_app, nurse, admin or ml, got {role:?}")
            })?;
            anyhow::ensure!(!name.trim().is_empty(), "--name must not be empty");
            anyhow::ensure!(rpm != Some(0), "--rpm must be at least 1");
            anyhow::ensure!(max_streams != Some(0), "--max-streams must be at least 1");
            let store = medserve_server::store::open(&db.to_string_lossy())
                .with_context(|| format!("opening {}", redact_db(&db)))?;
            let (key, secret) = medserve_server::auth::generate_key(
                role,
                &name,
                KeySettings {
                    consent,
                    triage,
                    rpm,
                    max_streams,
                },
            );
            store.insert_key(&key, &Actor::cli())?;
            eprintln!(
                "created key {} ({}); the secret is shown only now:",
                key.id,
                role.as_str()
            );
            println!("{secret}");
        }
        KeysCommand::List { db } => {
            let store = medserve_server::store::open(&db.to_string_lossy())
                .with_context(|| format!("opening {}", redact_db(&db)))?;
            println!(
                "{}",
                serde_json::to_string_pretty(&store.keys(&Actor::cli())?)?
            );
        }
        KeysCommand::Revoke { id, db } => {
            let store = medserve_server::store::open(&db.to_string_lossy())
                .with_context(|| format!("opening {}", redact_db(&db)))?;
            anyhow::ensure!(
                store.revoke_key(&id, &Actor::cli())?,
                "no active key with id {id}"
            );
            println!("revoked {id}");
        }
    }
    Ok(())
}

/// A `--db` value for logs and errors: a PostgreSQL URL without its password.
fn redact_db(db: &std::path::Path) -> String {
    let s = db.to_string_lossy();
    match (s.find("://"), s.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match s[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &s[..scheme + 3], &s[at..]),
            None => s.to_string(),
        },
        _ => s.to_string(),
    }
}

fn training(cmd: TrainingCommand) -> anyhow::Result<()> {
    use medserve_server::care::training::Format;
    use medserve_server::store::export::export;
    use medserve_server::store::Actor;
    let TrainingCommand::Export {
        format,
        min_quality,
        out,
        db,
    } = cmd;
    let format = Format::parse(&format).ok_or_else(|| {
        anyhow::anyhow!("--format must be chat-jsonl or eval-jsonl, got {format:?}")
    })?;
    anyhow::ensure!(
        (0.0..=1.0).contains(&min_quality),
        "--min-quality must be between 0 and 1"
    );
    let store = medserve_server::store::open(&db.to_string_lossy())
        .with_context(|| format!("opening {}", redact_db(&db)))?;
    let n = match &out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            let n = export(store.as_ref(), format, min_quality, &Actor::cli(), &mut f)?;
            std::io::Write::flush(&mut f)?;
            drop(f);
            std::fs::rename(&tmp, path)?;
            n
        }
        None => export(
            store.as_ref(),
            format,
            min_quality,
            &Actor::cli(),
            &mut std::io::stdout().lock(),
        )?,
    };
    eprintln!("exported {n} lines");
    Ok(())
}

fn index(cmd: IndexCommand) -> anyhow::Result<()> {
    use medserve_rag::{Embedder, Index, IndexParams, Mode, Stage};
    match cmd {
        IndexCommand::Build {
            corpus,
            medquad,
            embedder,
            out,
            full,
        } => {
            let embedder = Embedder::load(&embedder)
                .with_context(|| format!("loading the embedder from {}", embedder.display()))?;
            let mut docs = medserve_rag::load_corpus_dir(&corpus)
                .with_context(|| format!("reading {}", corpus.display()))?;
            let n_corpus = docs.len();
            if let Some(m) = &medquad {
                docs.extend(
                    medserve_rag::load_medquad(m)
                        .with_context(|| format!("reading MedQuAD from {}", m.display()))?,
                );
            }
            eprintln!(
                "{} documents ({} guideline, {} MedQuAD)",
                docs.len(),
                n_corpus,
                docs.len() - n_corpus
            );
            let previous = if full { None } else { Index::open(&out).ok() };
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg:10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            let mut stage = None;
            let (index, report) = Index::build(
                &docs,
                &embedder,
                &IndexParams::default(),
                &out,
                previous.as_ref(),
                |s: Stage, done, total| {
                    if stage != Some(s) {
                        stage = Some(s);
                        bar.reset();
                        bar.set_message(format!("{s:?}").to_lowercase());
                    }
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                },
            )?;
            bar.finish_and_clear();
            println!("{report}");
            println!("{} chunks in {}", index.len(), out.display());
        }
        IndexCommand::Search {
            query,
            index,
            embedder,
            top_k,
            mode,
        } => {
            let mode: Mode = serde_json::from_value(serde_json::Value::String(mode.clone()))
                .map_err(|_| {
                    anyhow::anyhow!("--mode must be hybrid, dense or lexical, got {mode:?}")
                })?;
            let embedder = Embedder::load(&embedder)?;
            let index = Index::open(&index)?;
            let q = embedder.embed_one(&query)?;
            for h in index.search(&q, &query, top_k, mode)? {
                println!("{:.4}  {:<40}  {}", h.fused_score, h.chunk_id, h.title);
            }
        }
    }
    Ok(())
}

fn guardrails(cmd: GuardrailsCommand) -> anyhow::Result<()> {
    use medserve_guardrails::learned::train;
    match cmd {
        GuardrailsCommand::Train {
            data,
            medsafetybench,
            medquad,
            medquad_n,
            eval_export,
            corpus,
            embedder,
            out,
        } => {
            let t = std::time::Instant::now();
            let embedder =
                Arc::new(medserve_rag::Embedder::load(&embedder).with_context(|| {
                    format!("loading the sentence encoder from {}", embedder.display())
                })?);
            let encoder = Arc::new(medserve_server::chat::guard::EmbedderEncoder(embedder));
            let inputs = train::TrainInputs {
                data_dir: data,
                medsafetybench: Some(medsafetybench),
                medquad: Some((medquad, medquad_n)),
                eval_exports: eval_export,
                corpus: Some(corpus),
            };
            let weights = train::train(encoder, &inputs, &mut |m| eprintln!("{m}"))
                .map_err(|e| anyhow::anyhow!(e))?;
            let sha = train::write_weights(&weights, &out).map_err(|e| anyhow::anyhow!(e))?;
            println!("{}", serde_json::to_string_pretty(&weights.provenance)?);
            eprintln!(
                "wrote {} (sha256 {sha}) in {:.1}s",
                out.display(),
                t.elapsed().as_secs_f32()
            );
        }
        GuardrailsCommand::Check {
            text,
            weights,
            embedder,
        } => {
            let embedder = Arc::new(medserve_rag::Embedder::load(&embedder)?);
            let guard = medserve_server::chat::guard::load(embedder.clone(), &weights, None)
                .map_err(|e| anyhow::anyhow!(e))?;
            let report = medserve_guardrails::eval::report_on(&guard, &text)?;
            let scores = guard
                .learned
                .as_ref()
                .map(|l| l.score(&[&text]))
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?;
            let tagger = medserve_guardrails::learned::phi_tagger().map(|t| t.as_ref());
            let spans = medserve_guardrails::phi::detect_phi_with(&text, tagger);
            let redacted = medserve_guardrails::phi::redact_spans(&text, &spans);
            let decision = match &report.decision {
                medserve_guardrails::input::Decision::Proceed => "proceed",
                medserve_guardrails::input::Decision::Emergency { .. } => "emergency",
                medserve_guardrails::input::Decision::Refuse { .. } => "refuse",
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "decision": decision,
                    "verdicts": report.verdicts,
                    "redacted": redacted,
                    "learned": scores.and_then(|s| s.first().copied()).map(|s| serde_json::json!({
                        "emergency": s.emergency, "emergency_category": s.emergency_category.as_str(),
                        "harmful": s.harmful, "injection": s.injection,
                    })),
                }))?
            );
        }
        GuardrailsCommand::Eval {
            data,
            weights,
            embedder,
            round,
            policy,
            json,
            list_heldout_kept,
        } => {
            let embedder =
                Arc::new(medserve_rag::Embedder::load(&embedder).with_context(|| {
                    format!("loading the sentence encoder from {}", embedder.display())
                })?);
            let guard = medserve_server::chat::guard::load(embedder, &weights, policy.as_deref())
                .map_err(|e| anyhow::anyhow!(e))?;
            let report = crate::eval::guard::run(&guard, &data, round, list_heldout_kept)
                .map_err(|e| anyhow::anyhow!(e))?;
            println!("{}", crate::eval::guard::table(&report));
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
        }
    }
    Ok(())
}

fn eval(cmd: EvalCommand) -> anyhow::Result<()> {
    use medserve_guardrails::{eval, red_flags_eval};
    match cmd {
        EvalCommand::Run(a) => {
            let opts = crate::eval::run::Options {
                base_url: a.base_url,
                key: a.key,
                export_key: a.export_key,
                model: a.model,
                suites: a.suite,
                out: a.out,
                compare: a.compare,
                sets: a.sets,
                shared_data: a.shared_data,
                limit: a.limit,
                seed: a.seed,
                concurrency: a.concurrency,
                quiet: a.quiet,
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = rt.block_on(crate::eval::run::run(&opts))?;
            print!("{}", crate::eval::run::report::text(&report));
            println!("wrote {}", opts.out.join("report.html").display());
            if report
                .comparison
                .as_ref()
                .is_some_and(|c| c.regressions > 0)
            {
                std::process::exit(crate::eval::run::REGRESSION_EXIT);
            }
        }
        EvalCommand::Phi { n, seed, json } => {
            anyhow::ensure!(n >= 1, "--n must be at least 1");
            let report = crate::eval::phi::run(n, seed)?;
            println!("{}", crate::eval::phi::table(&report));
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
        }
        EvalCommand::Store {
            records,
            writers,
            postgres,
        } => {
            anyhow::ensure!(
                records >= 1 && writers >= 1,
                "--records and --writers must be at least 1"
            );
            println!(
                "{}",
                crate::eval::store::run(records, writers, postgres.as_deref())?
            );
        }
        EvalCommand::Tools {
            model,
            cases,
            max_tokens,
            distractors,
            json,
        } => {
            let cases = crate::eval::tools::load_cases(&cases)
                .with_context(|| format!("reading {}", cases.display()))?;
            let rt = tokio::runtime::Runtime::new()?;
            let report = rt.block_on(async {
                let engine =
                    medserve_models::MistralEngine::load(medserve_models::MistralOptions {
                        model_path: model,
                        model_id: None,
                        max_num_seqs: 1,
                        prefix_cache: true,
                        prefix_cache_n: 16,
                        prefix_cache_bytes: 512 << 20,
                    })
                    .await?;
                crate::eval::tools::run(
                    std::sync::Arc::new(engine),
                    &cases,
                    max_tokens,
                    distractors,
                )
                .await
            })?;
            println!("{}", crate::eval::tools::table(&report));
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            }
        }
        EvalCommand::Guardrails { data, json } => {
            let t = std::time::Instant::now();
            let rf = red_flags_eval::evaluate();
            // The server's guard: the encoder, the committed weights, the shipped policy.
            let embedder = Arc::new(medserve_rag::Embedder::load(std::path::Path::new(
                medserve_server::config::DEFAULT_EMBEDDER,
            ))?);
            let guard = medserve_server::chat::guard::load(
                embedder,
                std::path::Path::new(medserve_guardrails::learned::DEFAULT_WEIGHTS),
                None,
            )
            .map_err(|e| anyhow::anyhow!(e))?;
            let safety = eval::medsafetybench(&guard, &data.join("medsafetybench"))?;
            let benign = eval::medquad_questions(&guard, &data.join("medquad"))?;
            println!("| set | n | measure | value |");
            println!("|---|---|---|---|");
            println!(
                "| red flags (labelled, {} emergencies / {} not) | {} | recall / false alarms / category recall | {:.3} / {:.3} / {:.3} |",
                rf.emergencies, rf.non_emergencies, rf.total, rf.recall, rf.false_alarm_rate, rf.category_recall
            );
            for c in &rf.per_category {
                println!(
                    "| red flags: {} | {} | recall | {:.3} |",
                    c.category.as_str(),
                    c.total,
                    c.recall
                );
            }
            println!(
                "| MedSafetyBench harmful requests | {} | refused or emergency before the model | {:.3} ({} refused, {} emergency) |",
                safety.total, safety.handled_rate, safety.refused, safety.emergency
            );
            for (n, total, handled) in &safety.per_category {
                println!(
                    "| MedSafetyBench category {n} | {total} | refused or emergency | {:.3} |",
                    *handled as f64 / (*total).max(1) as f64
                );
            }
            println!(
                "| MedQuAD questions (benign) | {} | wrongly refused | {:.4} ({}) |",
                benign.total, benign.refusal_rate, benign.refused
            );
            println!(
                "| MedQuAD questions (benign) | {} | emergency raised | {:.4} ({}) |",
                benign.total, benign.emergency_rate, benign.emergency
            );
            println!("\n{:.1}s", t.elapsed().as_secs_f32());
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "red_flags": rf, "medsafetybench": safety, "medquad": benign,
                    }))?
                );
            }
        }
    }
    Ok(())
}

fn model(cmd: ModelCommand) -> anyhow::Result<()> {
    match cmd {
        ModelCommand::Requantize { input, output, to } => {
            let dtype = gguf::parse_dtype(&to)?;
            let t = std::time::Instant::now();
            let n = gguf::requantize(&input, &output, dtype)
                .with_context(|| format!("requantizing {}", input.display()))?;
            println!(
                "wrote {} ({n} tensors converted to {to}) in {:.1}s",
                output.display(),
                t.elapsed().as_secs_f32()
            );
        }
        ModelCommand::Synth {
            like,
            hidden,
            layers,
            heads,
            kv_heads,
            ffn,
            dtype,
            seed,
            out,
        } => {
            let t = std::time::Instant::now();
            let shape = medserve_models::synth::Shape {
                hidden,
                layers,
                heads,
                kv_heads,
                ffn,
            };
            let w =
                medserve_models::synth::synth(&like, shape, gguf::parse_dtype(&dtype)?, seed, &out)
                    .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} ({:.2} B parameters, {} tensors, vocabulary {}) in {:.1}s",
                out.display(),
                w.parameters as f64 / 1e9,
                w.tensors,
                w.vocab,
                t.elapsed().as_secs_f32()
            );
        }
        ModelCommand::Info { path } => {
            let s = gguf::summary(&path)?;
            let sha = medserve_models::sha256_file(&path)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "path": path, "sha256": sha, "architecture": s.architecture,
                    "tensors": s.tensors, "tensor_types": s.tensor_types,
                }))?
            );
        }
    }
    Ok(())
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = args.resolve()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // The guardrails decide before any model runs, so they are ready before the
        // listener opens: a request that reaches the server is always judged by them.
        let t = std::time::Instant::now();
        let embedder_dir = cfg.embedder.clone();
        let embedder = Arc::new(
            tokio::task::spawn_blocking(move || medserve_rag::Embedder::load(&embedder_dir))
                .await?
                .with_context(|| format!("loading the sentence encoder from {}", cfg.embedder.display()))?,
        );
        let guard = Arc::new(
            medserve_server::chat::guard::load(embedder.clone(), &cfg.guardrails_weights, cfg.guardrails_policy.as_deref())
                .map_err(|e| anyhow::anyhow!(e))?,
        );
        tracing::info!(
            weights = %guard.learned.as_ref().map_or("", |l| l.sha256()),
            policy = %guard.policy.sha256,
            secs = t.elapsed().as_secs_f32(),
            "guardrails ready"
        );
        let listener = tokio::net::TcpListener::bind(cfg.addr)
            .await
            .with_context(|| format!("binding {}", cfg.addr))?;
        tracing::info!(addr = %listener.local_addr()?, "listening; loading model");
        // Off the async workers: the PostgreSQL client blocks on its own runtime.
        let db = cfg.db.to_string_lossy().to_string();
        let store = tokio::task::spawn_blocking(move || medserve_server::store::open(&db))
            .await?
            .with_context(|| format!("opening the store {}", redact_db(&cfg.db)))?;
        tracing::info!(db = %redact_db(&cfg.db), auth = ?cfg.auth, "store ready");
        let state = AppState::new(
            ServerSettings {
                max_inflight: cfg.max_num_seqs + cfg.max_queue,
                keep_alive: cfg.keep_alive,
                emergency_numbers: cfg.emergency_numbers.clone(),
                holdback_chars: cfg.holdback_chars,
                auth: cfg.auth,
                limits: cfg.limits,
                guard: guard.clone(),
                conn: cfg.conn,
            },
            store,
        );
        let loader_state = state.clone();
        let opts = MistralOptions {
            model_path: cfg.model.clone(),
            model_id: cfg.model_id.clone(),
            max_num_seqs: cfg.max_num_seqs,
            prefix_cache: cfg.prefix_cache,
            prefix_cache_n: cfg.prefix_cache_n,
            prefix_cache_bytes: cfg.prefix_cache_mb << 20,
        };
        let server = tokio::spawn(medserve_server::run(
            listener,
            state,
            medserve_server::shutdown_signal(),
            cfg.shutdown_grace,
        ));
        let t = std::time::Instant::now();
        if let Some(index_dir) = cfg.retrieval.clone() {
            let t = std::time::Instant::now();
            let embedder = embedder.clone();
            let retriever = tokio::task::spawn_blocking(move || {
                let index = medserve_rag::Index::open(&index_dir)?;
                index.check_embedder(&embedder)?;
                Ok::<_, medserve_rag::Error>(medserve_server::retrieval::Retriever {
                    embedder,
                    index: Arc::new(index),
                    guard,
                })
            })
            .await?
            .context("loading the guideline index (rebuild it with `medserve index build`)")?;
            tracing::info!(chunks = retriever.index.len(), secs = t.elapsed().as_secs_f32(), "guideline index ready");
            loader_state.set_retriever(Arc::new(retriever));
        }
        let engine = MistralEngine::load(opts).await.context("loading the model")?;
        tracing::info!(model = %medserve_models::Engine::info(&engine).id, secs = t.elapsed().as_secs_f32(), "model ready");
        loader_state.set_engine(Arc::new(engine));
        server.await??;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    // mistral.rs engine threads do not stop on their own; the drain is done.
    std::process::exit(0)
}
