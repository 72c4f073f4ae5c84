//! Per-request overhead of the guardrails (criterion): the input stage on typical user
//! messages, and the streaming output filter over a whole answer fed in token-sized deltas.
//!
//! `cargo bench -p medserve-guardrails` (add `-- --quick` for a short run).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use medserve_guardrails::emergency::DEFAULT_NUMBERS;
use medserve_guardrails::input::{check_input, Guard, InputCheck};
use medserve_guardrails::learned::{Encoder, Learned, LoadedWeights};
use medserve_guardrails::policy::{Audience, OutputFilter};

const QUESTION: &str = "I've had a sore throat and a blocked nose for three days, no fever. \
What can I do at home, and when should I see someone?";

const EMERGENCY: &str = "my dad is 67, his jaw and left arm ache and he's sweating a lot, \
he says it feels like indigestion";

/// A typical model answer: about 200 tokens, 9 sentences, one dosing sentence.
const ANSWER: &str = "A sore throat with a blocked nose is most often caused by a common \
cold virus. It usually gets better on its own within about a week. Drinking plenty of fluids, \
resting and gargling with warm salty water can ease the discomfort. Take 1000 mg of \
paracetamol every 6 hours if you need it for the pain. Honey in warm water may soothe the \
throat, but do not give honey to babies under one year old. Steam from a warm shower can help \
with a blocked nose. See a doctor if you have trouble swallowing or breathing, a high fever, \
or if it lasts more than a week. If you notice a rash, a stiff neck or you feel very unwell, \
get urgent help. I hope you feel better soon.";

/// The retrieval embedder (all-MiniLM-L6-v2 int8, ONNX Runtime) as the guard's encoder.
struct Embedder(medserve_rag::Embedder);

impl Encoder for Embedder {
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, String> {
        self.0.embed(texts).map_err(|e| e.to_string())
    }
    fn id(&self) -> &str {
        self.0.model_id()
    }
}

/// The server's guard: the real encoder (`make setup` fetches it) and the committed weights.
fn learned_guard() -> Guard {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let embedder = medserve_rag::Embedder::load(&root.join("../models/embed"))
        .expect("models/embed (run make setup)");
    let weights = LoadedWeights::load(&root.join("weights/heads.json"))
        .expect("guardrails/weights/heads.json");
    let learned = Learned::new(std::sync::Arc::new(Embedder(embedder)), weights)
        .expect("weights fit the encoder");
    Guard {
        learned: Some(learned),
        ..Guard::default()
    }
}

fn check(guard: &Guard, text: &str) {
    black_box(
        check_input(InputCheck {
            latest_user: black_box(text),
            earlier_user: &[],
            vitals: None,
            tool_results: &[],
            emergency_numbers: DEFAULT_NUMBERS,
            guard,
        })
        .expect("input stage"),
    );
}

fn input_stage(c: &mut Criterion) {
    let long = QUESTION.repeat(8);
    let rules = Guard::rules_only();
    let learned = learned_guard();
    for (group, guard) in [("input_stage_rules", &rules), ("input_stage", &learned)] {
        let mut g = c.benchmark_group(group);
        for (name, text) in [
            ("question", QUESTION),
            ("emergency", EMERGENCY),
            ("long_message_1k", long.as_str()),
        ] {
            g.throughput(Throughput::Bytes(text.len() as u64));
            g.bench_function(name, |b| b.iter(|| check(guard, text)));
        }
        g.finish();
    }
    // Percentiles (criterion reports means): 1 kB to 32 kB, to show the cost is linear.
    println!("\n| message | bytes | p50 ms | p99 ms | µs per byte (p50) |");
    println!("|---|---|---|---|---|");
    for kb in [1usize, 4, 16, 32] {
        let text: String = QUESTION.repeat(kb * 1024 / QUESTION.len() + 1)[..kb * 1024].to_string();
        let text = text.trim_end_matches(|c: char| !c.is_ascii()).to_string();
        let runs = if kb <= 4 { 300 } else { 40 };
        let mut t: Vec<f64> = (0..runs)
            .map(|_| {
                let s = std::time::Instant::now();
                check(&learned, &text);
                s.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        t.sort_by(f64::total_cmp);
        let p = |q: f64| t[((t.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "| {kb} kB | {} | {:.2} | {:.2} | {:.2} |",
            text.len(),
            p(0.5),
            p(0.99),
            p(0.5) * 1e3 / text.len() as f64
        );
    }
}

fn output_filter(c: &mut Criterion) {
    // Deltas of about 4 characters, like tokens.
    let deltas: Vec<String> = ANSWER
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let mut g = c.benchmark_group("output_filter");
    g.throughput(Throughput::Elements(deltas.len() as u64));
    for audience in [Audience::Patient, Audience::Clinician] {
        g.bench_function(format!("answer_{audience:?}").to_lowercase(), |b| {
            b.iter(|| {
                let mut f = OutputFilter::new(audience, 300);
                for d in &deltas {
                    black_box(f.push(d));
                }
                black_box(f.finish())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, input_stage, output_filter);
criterion_main!(benches);
