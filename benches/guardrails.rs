//! Per-request overhead of the guardrails (criterion): the input stage on typical user
//! messages, and the streaming output filter over a whole answer fed in token-sized deltas.
//!
//! `cargo bench -p medserve-guardrails` (add `-- --quick` for a short run).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use medserve_guardrails::emergency::DEFAULT_NUMBERS;
use medserve_guardrails::input::{check_input, InputCheck};
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

fn input_stage(c: &mut Criterion) {
    let mut g = c.benchmark_group("input_stage");
    let long = QUESTION.repeat(8);
    for (name, text) in [
        ("question", QUESTION),
        ("emergency", EMERGENCY),
        ("long_message_1k", long.as_str()),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                check_input(InputCheck {
                    latest_user: black_box(text),
                    earlier_user: &[],
                    vitals: None,
                    tool_results: &[],
                    emergency_numbers: DEFAULT_NUMBERS,
                })
            })
        });
    }
    g.finish();
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
