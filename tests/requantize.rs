//! Q4_1 -> Q8_0 requantisation keeps the model's next-token distribution.
//!
//! Tolerance (measured, see the README): on every prompt the most likely next token is
//! the same, at least 7 of the original's top-10 tokens stay in the requantised top-10,
//! and the log-probabilities of the tokens both top-10 lists share differ by at most
//! 0.4 nats. Measured on this machine: 8-10 of 10 shared, worst drift 0.29 nats.

use futures::StreamExt;
use medserve_models::{gguf, ChatMessage, Engine, Event, GenerateRequest, Role, Sampling};
use medserve_tests::*;

const PROMPTS: &[&str] = &[
    "What should I do if I have a fever?",
    "The capital of France is",
    "List three signs of a stroke.",
];

fn next_token_logprobs(engine: &dyn Engine, prompt: &str) -> Vec<(String, f32)> {
    runtime().block_on(async {
        let mut s = engine
            .generate(GenerateRequest {
                messages: vec![ChatMessage::new(Role::User, prompt)],
                sampling: Sampling {
                    temperature: 0.0,
                    max_tokens: Some(1),
                    logprobs: true,
                    top_logprobs: 10,
                    ..Default::default()
                },
                grammar: None,
            })
            .await
            .unwrap();
        let mut top = Vec::new();
        while let Some(ev) = s.next().await {
            if let Event::Delta { logprobs, .. } = ev.unwrap() {
                if let Some(first) = logprobs.first() {
                    top = first
                        .top_logprobs
                        .iter()
                        .map(|t| (t.token.clone(), t.logprob))
                        .collect();
                }
            }
        }
        assert_eq!(top.len(), 10);
        top
    })
}

#[test]
fn requantized_q8_0_stays_close_to_q4_1() {
    let src = q4_1_path();
    let out = std::env::temp_dir().join(format!("medserve-requant-{}.gguf", std::process::id()));
    let converted = gguf::requantize(&src, &out, gguf::parse_dtype("q8_0").unwrap()).unwrap();
    assert!(converted > 0);
    let summary = gguf::summary(&out).unwrap();
    assert!(
        !summary.tensor_types.contains_key("Q4_1"),
        "{:?}",
        summary.tensor_types
    );
    assert!(summary.tensor_types.contains_key("Q8_0"));
    let original = gguf::summary(&src).unwrap();
    assert_eq!(summary.tensors, original.tensors);

    let a = load_engine(src, 1);
    let b = load_engine(out.clone(), 1);
    for prompt in PROMPTS {
        let ta = next_token_logprobs(a.as_ref(), prompt);
        let tb = next_token_logprobs(b.as_ref(), prompt);
        eprintln!("{prompt:?}\n  q4_1 {ta:?}\n  q8_0 {tb:?}");
        assert_eq!(ta[0].0, tb[0].0, "top-1 token differs for {prompt:?}");
        let mut shared = 0;
        let mut worst = 0.0f32;
        for (tok, lp) in &ta {
            if let Some((_, lq)) = tb.iter().find(|(t, _)| t == tok) {
                shared += 1;
                worst = worst.max((lp - lq).abs());
            }
        }
        eprintln!("  shared top-10: {shared}, max |dlogprob| = {worst:.3}");
        assert!(
            shared >= 7,
            "only {shared} of the top-10 tokens shared for {prompt:?}"
        );
        assert!(worst <= 0.4, "logprob drift {worst} for {prompt:?}");
    }
    std::fs::remove_file(&out).ok();
}

/// `medserve model synth`: a random-weight Llama of another shape (grouped-query attention,
/// q4k projections) with SmolLM2's tokenizer loads in the engine, generates exactly the
/// tokens asked for, and scores its prompt.
#[test]
fn a_synthesized_model_of_another_shape_loads_generates_and_scores() {
    let dir = std::env::temp_dir().join(format!("medserve-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("synth.gguf");
    let status = std::process::Command::new(medserve_bin())
        .args(["model", "synth", "--like"])
        .arg(model_path())
        .args([
            "--hidden",
            "256",
            "--layers",
            "2",
            "--heads",
            "4",
            "--kv-heads",
            "2",
            "--ffn",
            "512",
        ])
        .args(["--type", "q4k", "--seed", "3", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let s = gguf::summary(&out).unwrap();
    assert_eq!(s.architecture, "llama");
    assert_eq!(s.tensor_types.get("Q4K").copied(), Some(2 + 2 * 7), "{s:?}");
    assert_eq!(s.tensor_types.get("F32").copied(), Some(1 + 2 * 2), "{s:?}");
    let engine = load_engine(out.clone(), 2);
    runtime().block_on(async {
        let mut st = engine
            .generate(GenerateRequest {
                messages: vec![ChatMessage::new(Role::User, "Hello there")],
                sampling: Sampling {
                    temperature: 0.0,
                    max_tokens: Some(6),
                    ..Default::default()
                },
                grammar: None,
            })
            .await
            .unwrap();
        let mut done = None;
        while let Some(ev) = st.next().await {
            if let Event::Done { usage, .. } = ev.unwrap() {
                done = Some(usage);
            }
        }
        let usage = done.expect("a finished generation");
        assert!((1..=6).contains(&usage.completion_tokens), "{usage:?}");
        let ids = engine
            .tokenize("The heart pumps blood", false)
            .await
            .unwrap();
        let scored = engine.prompt_logprobs(&ids, 2).await.unwrap();
        assert_eq!(scored.len(), ids.len());
        assert!(scored[0].is_none());
        assert!(scored[1..]
            .iter()
            .all(|s| s.as_ref().is_some_and(|t| t.logprob < 0.0)));
    });
    drop(engine);
    std::fs::remove_dir_all(&dir).ok();
}
