//! `POST /v1/completions` on the real model over real HTTP: prompt shapes, echo and prompt
//! logprobs (checked against the model's own generation logprobs), streaming, `n`, the
//! guardrails, and the 400s. lm-evaluation-harness and the Python SDK drive it in
//! `tests/sdk.rs`.

use medserve_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn post(body: Value) -> (u16, Value) {
    let s = TestServer::shared();
    let (status, _, v) = call(Method::POST, &s.url("/v1/completions"), None, Some(&body)).await;
    (status, v)
}

async fn tokenize(text: &str) -> Vec<u64> {
    let s = TestServer::shared();
    let (status, _, v) = call(
        Method::POST,
        &s.url("/tokenize"),
        None,
        Some(&json!({"prompt": text})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect()
}

const PROMPT: &str = "Paracetamol is a medicine used to treat";

/// The text-completion shape, usage from the real tokenizer, and the same greedy text for
/// the prompt as a string, as token ids and inside a batch of token-id prompts.
#[test]
fn prompts_as_text_and_token_ids_complete_the_same() {
    TestServer::shared();
    runtime().block_on(async {
        let ids = tokenize(PROMPT).await;
        let body = |prompt: Value| {
            json!({"model": shared_model(), "prompt": prompt, "max_tokens": 12, "temperature": 0,
                   "medserve": {"audience": "clinician"}})
        };
        let (status, text) = post(body(json!(PROMPT))).await;
        assert_eq!(status, 200, "{text}");
        assert_eq!(text["object"], "text_completion");
        assert!(text["id"].as_str().unwrap().starts_with("cmpl-"));
        let c = &text["choices"][0];
        assert_eq!(c["index"], 0);
        assert!(c["logprobs"].is_null());
        assert!(!c["text"].as_str().unwrap().is_empty(), "{text}");
        assert!(["stop", "length"].contains(&c["finish_reason"].as_str().unwrap()));
        assert_eq!(text["usage"]["prompt_tokens"], json!(ids.len()));
        let done = text["usage"]["completion_tokens"].as_u64().unwrap();
        assert!((1..=12).contains(&done), "{text}");
        assert_eq!(
            text["usage"]["total_tokens"].as_u64().unwrap(),
            ids.len() as u64 + done
        );
        assert_eq!(text["medserve"]["audience"], "clinician");

        let (status, by_ids) = post(body(json!(ids))).await;
        assert_eq!(status, 200, "{by_ids}");
        assert_eq!(by_ids["choices"][0]["text"], c["text"]);
        let (status, batch) = post(body(json!([ids, ids[..3]]))).await;
        assert_eq!(status, 200, "{batch}");
        let choices = batch["choices"].as_array().unwrap();
        assert_eq!(choices.len(), 2);
        assert_eq!(choices[0]["index"], 0);
        assert_eq!(choices[1]["index"], 1);
        assert_eq!(choices[0]["text"], c["text"]);
        assert_eq!(
            batch["usage"]["prompt_tokens"],
            json!(ids.len() + 3),
            "{batch}"
        );
    });
}

/// `echo` with `logprobs`: the prompt's own tokens are scored by one forward pass over the
/// prompt (first token null), and they agree with what the model said while generating:
/// the greedy token after the prompt, scored as part of a longer prompt, has the logprob
/// the generation reported and is the top alternative there (lm-eval's `is_greedy`).
#[test]
fn echo_scores_the_prompt_consistently_with_generation() {
    TestServer::shared();
    runtime().block_on(async {
        let ids = tokenize(PROMPT).await;
        let (status, gen) = post(
            json!({"model": shared_model(), "prompt": PROMPT, "max_tokens": 1,
            "temperature": 0, "logprobs": 2, "medserve": {"audience": "clinician"}}),
        )
        .await;
        assert_eq!(status, 200, "{gen}");
        let lp = &gen["choices"][0]["logprobs"];
        assert_eq!(lp["tokens"].as_array().unwrap().len(), 1, "{gen}");
        let next_text = lp["tokens"][0].as_str().unwrap().to_string();
        let next_lp = lp["token_logprobs"][0].as_f64().unwrap();
        assert_eq!(lp["text_offset"], json!([0]));
        let next_ids = tokenize(&format!("{PROMPT}{next_text}")).await;
        assert_eq!(
            next_ids[..ids.len()],
            ids[..],
            "the prompt tokenises the same"
        );

        let (status, echo) = post(
            json!({"model": shared_model(), "prompt": next_ids, "max_tokens": 0,
            "echo": true, "logprobs": 3}),
        )
        .await;
        assert_eq!(status, 200, "{echo}");
        let c = &echo["choices"][0];
        assert_eq!(c["text"], format!("{PROMPT}{next_text}"), "{echo}");
        assert_eq!(c["finish_reason"], "length");
        assert_eq!(echo["usage"]["completion_tokens"], 0);
        let lp = &c["logprobs"];
        let n = next_ids.len();
        for k in ["tokens", "token_logprobs", "top_logprobs", "text_offset"] {
            assert_eq!(lp[k].as_array().unwrap().len(), n, "{k}: {lp}");
        }
        assert!(lp["token_logprobs"][0].is_null() && lp["top_logprobs"][0].is_null());
        assert_eq!(lp["text_offset"][0], 0);
        let joined: String = lp["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(joined, c["text"].as_str().unwrap());
        for i in 1..n {
            let v = lp["token_logprobs"][i].as_f64().unwrap();
            assert!(v <= 0.0 && v.is_finite(), "{lp}");
            let top = lp["top_logprobs"][i].as_object().unwrap();
            assert!(!top.is_empty() && top.len() <= 3, "{lp}");
            let best = top
                .values()
                .map(|x| x.as_f64().unwrap())
                .fold(f64::MIN, f64::max);
            assert!(v <= best + 1e-6, "a token above its position's best: {lp}");
        }
        let last = lp["token_logprobs"][n - 1].as_f64().unwrap();
        assert!(
            (last - next_lp).abs() < 1e-3,
            "scored {last} vs generated {next_lp}"
        );
        let top = lp["top_logprobs"][n - 1].as_object().unwrap();
        let best = top
            .values()
            .map(|x| x.as_f64().unwrap())
            .fold(f64::MIN, f64::max);
        assert_eq!(last, best, "the greedy token is its position's best: {lp}");
        // A prompt of one token has nothing to score.
        let (status, one) = post(
            json!({"model": shared_model(), "prompt": [ids[0]], "max_tokens": 0,
            "echo": true, "logprobs": 1}),
        )
        .await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(
            one["choices"][0]["logprobs"]["token_logprobs"],
            json!([null])
        );
    });
}

/// Streaming gives the same greedy text as JSON, choice by choice with their index, then a
/// chunk with `medserve` and the usage, then `[DONE]`; `n` gives reproducible choices from
/// `seed + i`.
#[test]
fn streaming_and_n_choices() {
    let s = TestServer::shared();
    runtime().block_on(async {
        let body = json!({"model": shared_model(), "prompt": PROMPT, "max_tokens": 10, "temperature": 0,
            "medserve": {"audience": "clinician"}});
        let (_, whole) = post(body.clone()).await;
        let mut streamed = body.clone();
        streamed["stream"] = json!(true);
        streamed["stream_options"] = json!({"include_usage": true});
        let (status, _, items) = post_stream(&s.url("/v1/completions"), &streamed).await;
        assert_eq!(status, 200);
        assert!(matches!(items.last(), Some(SseItem::Done)));
        let chunks = sse_json(&items);
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["text"].as_str())
            .collect();
        assert_eq!(text, whole["choices"][0]["text"].as_str().unwrap());
        assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
        let last = chunks.last().unwrap();
        assert_eq!(last["choices"], json!([]));
        assert_eq!(last["usage"], whole["usage"]);
        assert_eq!(last["medserve"]["audience"], "clinician");
        let finishes: Vec<&Value> = chunks
            .iter()
            .filter(|c| !c["choices"][0]["finish_reason"].is_null())
            .copied()
            .collect();
        assert_eq!(finishes.len(), 1);

        let sampled = json!({"model": shared_model(), "prompt": PROMPT, "max_tokens": 8, "temperature": 1.0,
            "n": 3, "seed": 42, "medserve": {"audience": "clinician"}});
        let (status, a) = post(sampled.clone()).await;
        assert_eq!(status, 200, "{a}");
        let (_, b) = post(sampled).await;
        let texts = |v: &Value| -> Vec<String> {
            v["choices"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    assert_eq!(c["index"], json!(i));
                    c["text"].as_str().unwrap().to_string()
                })
                .collect()
        };
        assert_eq!(texts(&a).len(), 3);
        assert_eq!(texts(&a), texts(&b), "same seed, same choices");
        assert_eq!(a["medserve"]["seed"], 42);
        // Choice 1 of seed 42 is choice 0 of seed 43.
        let (_, c) = post(json!({"model": shared_model(), "prompt": PROMPT, "max_tokens": 8,
            "temperature": 1.0, "seed": 43, "medserve": {"audience": "clinician"}}))
        .await;
        assert_eq!(texts(&c)[0], texts(&a)[1]);
    });
}

/// The guardrails decide before the model: an emergency prompt gets the fixed answer (no
/// tokens generated) while the other prompt of the batch is completed; the patient
/// audience's output policy and disclaimer apply to completions too.
#[test]
fn guardrails_apply_to_each_prompt() {
    TestServer::shared();
    runtime().block_on(async {
        let (status, v) = post(json!({"model": shared_model(), "max_tokens": 6, "temperature": 0,
            "logprobs": 1, "prompt": ["My father has crushing chest pain spreading to his left arm and he is sweating.", PROMPT]}))
        .await;
        assert_eq!(status, 200, "{v}");
        let c = v["choices"].as_array().unwrap();
        let fixed = c[0]["text"].as_str().unwrap();
        assert!(fixed.contains("999") || fixed.to_lowercase().contains("emergency"), "{v}");
        assert_eq!(c[0]["finish_reason"], "stop");
        assert!(c[0]["logprobs"].is_null(), "no model tokens behind a fixed answer: {v}");
        let p = &v["medserve"]["prompts"];
        assert!(p[0]["red_flag"]["categories"].as_array().is_some_and(|a| !a.is_empty()), "{v}");
        assert!(p[1].get("red_flag").is_none(), "{v}");
        // Only the second prompt reached the model.
        assert_eq!(v["usage"]["prompt_tokens"], json!(tokenize(PROMPT).await.len()));
        // Patient audience (the default in open mode): the disclaimer ends the text.
        assert!(c[1]["text"].as_str().unwrap().contains("not a diagnosis"), "{v}");
        assert!(p[1]["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["class"] == "disclaimer"));
    });
}

#[test]
fn bad_requests_are_400s_naming_the_field() {
    TestServer::shared();
    runtime().block_on(async {
        let ctx = TestServer::shared()
            .state
            .engine()
            .unwrap()
            .info()
            .max_context;
        let cases = [
            (json!({"prompt": "hi", "suffix": "there"}), "suffix"),
            (json!({"prompt": [1, 99_999_999]}), "prompt[0][1]"),
            (json!({"prompt": [[1], [2, 99_999_999]]}), "prompt[1][1]"),
            (json!({"prompt": []}), "prompt"),
            (json!({"prompt": "hi", "max_tokens": ctx}), "max_tokens"),
            (json!({"prompt": "hi", "logprobs": 50}), "logprobs"),
            (json!({"prompt": "hi", "best_of": 2}), "best_of"),
            (
                json!({"prompt": "hi", "medserve": {"triage": true}}),
                "medserve",
            ),
            (json!({"prompt": "hi", "functions": []}), "functions"),
        ];
        for (mut body, field) in cases {
            body["model"] = json!(shared_model());
            let (status, v) = post(body.clone()).await;
            assert_eq!(status, 400, "{body} -> {v}");
            let p = v["error"]["param"].as_str().unwrap_or("");
            assert!(p.starts_with(field), "{body} -> {v}");
        }
        let (status, v) = post(json!({"model": "nope", "prompt": "hi"})).await;
        assert_eq!(status, 404, "{v}");
    });
}

/// Prompt scoring runs alone in the engine (mistral.rs steps raw-logit prompts one at a
/// time): while chat streams generate, a scoring request waits for them, they all finish,
/// and the scores equal those of the same request on an idle engine.
#[test]
fn prompt_scoring_alongside_running_chats() {
    let s = TestServer::shared();
    runtime().block_on(async {
        let score = json!({"model": shared_model(), "prompt": PROMPT, "max_tokens": 0, "echo": true,
            "logprobs": 1});
        let (_, alone) = post(score.clone()).await;
        let chat = |i: usize| {
            let url = s.url("/v1/chat/completions");
            async move {
                let body = json!({"model": shared_model(), "max_tokens": 40, "temperature": 0,
                    "stream": true, "medserve": {"retrieval": {"enabled": false}},
                    "messages": [{"role": "user", "content": format!("Give me tip number {i} for sleeping well.")}]});
                let (status, _, items) = post_stream(&url, &body).await;
                (status, items)
            }
        };
        let (a, b, scored) = tokio::join!(chat(1), chat(2), async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            post(score.clone()).await
        });
        for (status, items) in [a, b] {
            assert_eq!(status, 200);
            assert!(matches!(items.last(), Some(SseItem::Done)));
            assert!(!stream_text(&items).is_empty());
        }
        assert_eq!(scored.0, 200, "{}", scored.1);
        assert_eq!(
            scored.1["choices"][0]["logprobs"]["token_logprobs"],
            alone["choices"][0]["logprobs"]["token_logprobs"]
        );
    });
}
