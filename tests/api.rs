//! The chat API end to end on the real model over real HTTP.

use std::time::{Duration, Instant};

use futures::StreamExt;
use medserve_server::ServerSettings;
use medserve_tests::*;
use serde_json::{json, Value};

const MODEL: &str = "smollm2";

/// A chat request. Retrieval is off unless `extra` sets its own `medserve`: most tests here
/// are about the engine and the protocol, and the passages would only lengthen every prompt
/// (the grounded-chat tests turn it on).
fn chat(content: &str, extra: Value) -> Value {
    let mut body = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": content}],
        "temperature": 0,
        "medserve": {"retrieval": {"enabled": false}},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

#[test]
fn health_ready_and_models() {
    let s = TestServer::shared();
    run(async {
        let r = client().get(s.url("/health")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r: Value = client()
            .get(s.url("/ready"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["status"], "ready");
        let r: Value = client()
            .get(s.url("/v1/models"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["object"], "list");
        assert_eq!(r["data"][0]["id"], MODEL);
        assert_eq!(
            r["data"][0]["medserve"]["sha256"].as_str().unwrap().len(),
            64
        );
        assert_eq!(
            r["data"][0]["medserve"]["endpoints"],
            json!(["/v1/chat/completions", "/v1/completions"])
        );
        // The embedding model is listed, with the endpoint that serves it.
        assert_eq!(r["data"][1]["id"], "all-MiniLM-L6-v2", "{r}");
        assert_eq!(
            r["data"][1]["medserve"]["endpoints"],
            json!(["/v1/embeddings"])
        );
        assert_eq!(r["data"][1]["medserve"]["dimensions"], 384);
        let (status, _, m) = call(
            reqwest::Method::GET,
            &s.url("/v1/models/all-MiniLM-L6-v2"),
            None,
            None,
        )
        .await;
        assert_eq!((status, &m["id"]), (200, &json!("all-MiniLM-L6-v2")));
        let r = client().get(s.url("/v1/models/nope")).send().await.unwrap();
        assert_eq!(r.status(), 404);
    });
}

#[test]
fn non_stream_answer_with_exact_usage_and_logprobs() {
    let s = TestServer::shared();
    run(async {
        let (status, v) = post_json(
            &s.url("/v1/chat/completions"),
            &chat(
                "What is a fever?",
                json!({"max_tokens": 24, "logprobs": true, "top_logprobs": 3}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["object"], "chat.completion");
        assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
        let fp = v["system_fingerprint"].as_str().unwrap();
        assert!(fp.starts_with("fp_") && fp.len() > 16, "{fp}");
        let choice = &v["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        let text = choice["message"]["content"].as_str().unwrap();
        assert!(!text.trim().is_empty());
        let usage = &v["usage"];
        let completion = usage["completion_tokens"].as_u64().unwrap();
        assert!(completion >= 1 && completion <= 24);
        assert_eq!(
            usage["total_tokens"].as_u64().unwrap(),
            usage["prompt_tokens"].as_u64().unwrap() + completion
        );
        // One logprob entry per generated token: usage is exact.
        let lps = choice["logprobs"]["content"].as_array().unwrap();
        assert_eq!(lps.len() as u64, completion, "{lps:?}");
        let joined: String = lps.iter().map(|e| e["token"].as_str().unwrap()).collect();
        assert!(
            text.starts_with(joined.trim_end()) || joined.starts_with(text),
            "{joined:?} vs {text:?}"
        );
        for e in lps {
            let lp = e["logprob"].as_f64().unwrap();
            assert!(lp <= 0.0);
            let top = e["top_logprobs"].as_array().unwrap();
            assert_eq!(top.len(), 3);
            // Greedy: the chosen token is the most likely one.
            assert!(
                (top[0]["logprob"].as_f64().unwrap() - lp).abs() < 1e-4,
                "{e}"
            );
            assert!(top[0]["logprob"].as_f64() >= top[1]["logprob"].as_f64());
        }
        // The prompt count matches the engine's own tokenisation of the template.
        assert!(usage["prompt_tokens"].as_u64().unwrap() > 5);
        assert!(v["medserve"]["seed"].is_i64());
    });
}

#[test]
fn stream_matches_non_stream_and_has_the_openai_shape() {
    let s = TestServer::shared();
    run(async {
        let body = chat(
            "Name three symptoms of dehydration.",
            json!({"max_tokens": 40}),
        );
        let (_, full) = post_json(&s.url("/v1/chat/completions"), &body).await;
        let mut sbody = body.clone();
        sbody["stream"] = json!(true);
        let (status, headers, items) = post_stream(&s.url("/v1/chat/completions"), &sbody).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "text/event-stream");
        assert_eq!(headers["x-accel-buffering"], "no");
        assert_eq!(items.last(), Some(&SseItem::Done));
        let SseItem::Json(first) = &items[0] else {
            panic!()
        };
        assert_eq!(first["object"], "chat.completion.chunk");
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(first["choices"][0]["delta"]["content"], "");
        let SseItem::Json(last) = &items[items.len() - 2] else {
            panic!()
        };
        assert_eq!(
            last["choices"][0]["finish_reason"],
            full["choices"][0]["finish_reason"]
        );
        assert!(last["medserve"]["seed"].is_i64());
        assert!(last.get("usage").is_none(), "no usage unless asked");
        // Greedy decoding: the stream says exactly what the JSON answer said.
        assert_eq!(
            stream_text(&items),
            full["choices"][0]["message"]["content"].as_str().unwrap()
        );
        let ids: std::collections::HashSet<_> = items
            .iter()
            .filter_map(|i| match i {
                SseItem::Json(v) => Some(v["id"].clone()),
                _ => None,
            })
            .collect();
        assert_eq!(ids.len(), 1, "one id per stream");
    });
}

#[test]
fn include_usage_sends_a_final_usage_chunk() {
    let s = TestServer::shared();
    run(async {
        let body = chat(
            "Say hello.",
            json!({"max_tokens": 8, "stream": true, "stream_options": {"include_usage": true}}),
        );
        let (_, _, items) = post_stream(&s.url("/v1/chat/completions"), &body).await;
        let json: Vec<&Value> = items
            .iter()
            .filter_map(|i| match i {
                SseItem::Json(v) => Some(v),
                _ => None,
            })
            .collect();
        let usage_chunk = json.last().unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        let u = &usage_chunk["usage"];
        let completion = u["completion_tokens"].as_u64().unwrap();
        assert!(completion >= 1 && completion <= 8);
        assert_eq!(
            u["total_tokens"].as_u64().unwrap(),
            u["prompt_tokens"].as_u64().unwrap() + completion
        );
        for c in &json[..json.len() - 1] {
            assert!(c["usage"].is_null(), "other chunks carry usage: null");
        }
        // Streamed and non-streamed usage agree (how much of the prompt came from the prefix
        // cache may differ between the two requests).
        let (_, full) = post_json(
            &s.url("/v1/chat/completions"),
            &chat("Say hello.", json!({"max_tokens": 8})),
        )
        .await;
        for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            assert_eq!(full["usage"][key], u[key], "{key}");
        }
        let cached = |v: &Value| v["prompt_tokens_details"]["cached_tokens"].as_u64();
        assert!(cached(&full["usage"]).is_some() && cached(u).is_some());
    });
}

#[test]
fn max_tokens_ends_with_length() {
    let s = TestServer::shared();
    run(async {
        for field in ["max_tokens", "max_completion_tokens"] {
            let (status, v) = post_json(
                &s.url("/v1/chat/completions"),
                &chat(
                    "Write a long essay about the history of medicine.",
                    json!({field: 5}),
                ),
            )
            .await;
            assert_eq!(status, 200, "{v}");
            assert_eq!(v["choices"][0]["finish_reason"], "length");
            assert_eq!(v["usage"]["completion_tokens"], 5);
        }
    });
}

#[test]
fn stop_sequences_cut_the_answer() {
    let s = TestServer::shared();
    run(async {
        let prompt = "List the days of the week, one per line.";
        let (_, v) = post_json(
            &s.url("/v1/chat/completions"),
            // Clinician audience: no disclaimer, so the text is the model's own.
            &chat(
                prompt,
                json!({"max_tokens": 60, "medserve": {"audience": "clinician", "retrieval": {"enabled": false}}}),
            ),
        )
        .await;
        let full = v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_string();
        // Pick a word that starts after the first few characters.
        let (pos, word) = full
            .match_indices(|c: char| c.is_alphabetic())
            .map(|(i, _)| i)
            .filter(|&i| i >= 8)
            .map(|i| {
                (
                    i,
                    full[i..]
                        .split(|c: char| !c.is_alphanumeric())
                        .next()
                        .unwrap(),
                )
            })
            .find(|(_, w)| w.len() >= 4)
            .expect("a word to stop on");
        let first = full.find(word).unwrap();
        assert!(first <= pos);
        for stream in [false, true] {
            let body = chat(
                prompt,
                json!({"max_tokens": 60, "stop": [word, "zzzz-never"], "stream": stream,
                       "medserve": {"audience": "clinician", "retrieval": {"enabled": false}}}),
            );
            let text = if stream {
                let (_, _, items) = post_stream(&s.url("/v1/chat/completions"), &body).await;
                let SseItem::Json(last) = &items[items.len() - 2] else {
                    panic!()
                };
                assert_eq!(last["choices"][0]["finish_reason"], "stop");
                stream_text(&items)
            } else {
                let (_, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
                assert_eq!(v["choices"][0]["finish_reason"], "stop");
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            assert!(!text.contains(word), "stop text {word:?} leaked: {text:?}");
            assert_eq!(
                text,
                &full[..first],
                "answer cut right before the stop sequence"
            );
        }
    });
}

#[test]
fn seed_makes_sampling_reproducible() {
    let s = TestServer::shared();
    run(async {
        let sample = |seed: i64| {
            let url = s.url("/v1/chat/completions");
            async move {
                let body = chat(
                    "Tell me something about sleep.",
                    json!({"temperature": 1.2, "seed": seed, "max_tokens": 24}),
                );
                let (status, v) = post_json(&url, &body).await;
                assert_eq!(status, 200, "{v}");
                assert_eq!(v["medserve"]["seed"], seed);
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let a = sample(1234).await;
        assert_eq!(a, sample(1234).await, "same seed, same text");
        let others = [sample(1).await, sample(2).await, sample(3).await];
        assert!(
            others.iter().any(|o| *o != a),
            "different seeds should differ somewhere"
        );
        // Without a seed, the response reports the one it drew, and it reproduces.
        let (_, v) = post_json(
            &s.url("/v1/chat/completions"),
            &chat(
                "Tell me something about sleep.",
                json!({"temperature": 1.2, "max_tokens": 24}),
            ),
        )
        .await;
        let drawn = v["medserve"]["seed"]
            .as_i64()
            .expect("a drawn seed fits in i64");
        assert!(drawn >= 0);
        assert_eq!(
            v["choices"][0]["message"]["content"],
            json!(sample(drawn).await)
        );
    });
}

#[test]
fn content_parts_and_all_roles_are_accepted() {
    let s = TestServer::shared();
    run(async {
        let body = json!({
            "model": MODEL,
            "temperature": 0,
            "max_tokens": 4,
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "system", "content": [{"type": "text", "text": "You are a nurse."}]},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": "Hello."},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "news2", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"ok\":true}"},
                {"role": "user", "content": "Thanks"}
            ],
            "user": "u-1", "safety_identifier": "s-1", "prompt_cache_key": "k", "service_tier": "auto",
            "store": false, "modalities": ["text"], "n": 1, "response_format": {"type": "text"},
            "presence_penalty": 0.5, "frequency_penalty": 0.5, "logit_bias": {"42": -100},
            "top_p": 0.9, "medserve": {"top_k": 40, "min_p": 0.05}
        });
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
        assert_eq!(status, 200, "{v}");
    });
}

async fn expect_error(
    url: &str,
    body: Value,
    status: u16,
    param: Option<&str>,
    code: Option<&str>,
) -> Value {
    let (st, v) = post_json(url, &body).await;
    assert_eq!(st, status, "{body} -> {v}");
    let e = &v["error"];
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(e["type"].is_string(), "{v}");
    assert!(
        e.get("param").is_some() && e.get("code").is_some(),
        "all four keys: {v}"
    );
    if let Some(p) = param {
        assert_eq!(e["param"], p, "{v}");
    }
    if let Some(c) = code {
        assert_eq!(e["code"], c, "{v}");
    }
    v
}

#[test]
fn every_4xx_path_has_the_openai_error_shape() {
    let s = TestServer::shared();
    let url = s.url("/v1/chat/completions");
    run(async {
        // Malformed JSON.
        let r = client()
            .post(&url)
            .header("content-type", "application/json")
            .body("{\"model\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "invalid_json");
        // Not JSON at all.
        let r = client().post(&url).body("hello").send().await.unwrap();
        assert_eq!(r.status(), 400);
        // Unknown fields, top level and nested.
        expect_error(
            &url,
            chat("hi", json!({"temperture": 1})),
            400,
            Some("temperture"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"medserve": {"topk": 3}})),
            400,
            Some("medserve.topk"),
            None,
        )
        .await;
        let mut b = chat("hi", json!({}));
        b["messages"][0]["mood"] = json!("happy");
        expect_error(&url, b, 400, Some("messages[0].mood"), None).await;
        // Wrong types and ranges name the field.
        expect_error(
            &url,
            chat("hi", json!({"temperature": "hot"})),
            400,
            Some("temperature"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"temperature": 3})),
            400,
            Some("temperature"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"top_p": 1.5})),
            400,
            Some("top_p"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"max_tokens": 0})),
            400,
            Some("max_tokens"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"top_logprobs": 3})),
            400,
            Some("top_logprobs"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"stop": ["a", "b", "c", "d", "e"]})),
            400,
            Some("stop"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"logit_bias": {"x": 1}})),
            400,
            Some("logit_bias"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"stream_options": {"include_usage": true}})),
            400,
            Some("stream_options"),
            None,
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"medserve": {"top_k": 0}})),
            400,
            Some("medserve.top_k"),
            None,
        )
        .await;
        let mut b = chat("hi", json!({}));
        b["messages"][0]["role"] = json!("wizard");
        expect_error(&url, b, 400, Some("messages[0].role"), None).await;
        expect_error(
            &url,
            json!({"model": MODEL, "messages": []}),
            400,
            Some("messages"),
            None,
        )
        .await;
        expect_error(
            &url,
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            400,
            None,
            None,
        )
        .await;
        // Rejected (unsupported) OpenAI fields name themselves.
        for (field, value) in [
            ("functions", json!([{"name": "f"}])),
            ("audio", json!({"voice": "alloy", "format": "mp3"})),
            ("store", json!(true)),
            ("reasoning_effort", json!("high")),
            ("service_tier", json!("flex")),
            ("modalities", json!(["text", "audio"])),
        ] {
            expect_error(
                &url,
                chat("hi", json!({field: value})),
                400,
                Some(field),
                Some("unsupported_parameter"),
            )
            .await;
        }
        let mut b = chat("hi", json!({}));
        b["messages"][0]["content"] =
            json!([{"type": "image_url", "image_url": {"url": "http://x"}}]);
        expect_error(
            &url,
            b,
            400,
            Some("messages[0].content[0].type"),
            Some("unsupported_parameter"),
        )
        .await;
        // Unknown model.
        let mut b = chat("hi", json!({}));
        b["model"] = json!("gpt-9");
        expect_error(&url, b, 404, Some("model"), Some("model_not_found")).await;
        // Context overflow, by prompt and by requested completion. Four messages, each
        // under the per-message limit, over the model's 8,192-token context together.
        let mut long = chat("hi", json!({}));
        long["messages"] = json!([
            {"role": "user", "content": "fever ".repeat(5_000)},
            {"role": "assistant", "content": "fever ".repeat(5_000)},
            {"role": "user", "content": "fever ".repeat(5_000)},
            {"role": "assistant", "content": "fever ".repeat(5_000)},
            {"role": "user", "content": "and?"},
        ]);
        expect_error(
            &url,
            long,
            400,
            Some("messages"),
            Some("context_length_exceeded"),
        )
        .await;
        expect_error(
            &url,
            chat("hi", json!({"max_tokens": 10_000_000})),
            400,
            Some("messages"),
            Some("context_length_exceeded"),
        )
        .await;
        // Unknown route.
        let r = client().get(s.url("/v1/nope")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let v: Value = r.json().await.unwrap();
        assert!(v["error"]["message"].is_string());
    });
}

#[test]
fn eight_concurrent_streams_all_complete() {
    let s = TestServer::shared();
    run(async {
        let started = Instant::now();
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let url = s.url("/v1/chat/completions");
                tokio::spawn(async move {
                    let body = chat(
                        &format!("Give me tip number {i} for healthy sleep."),
                        json!({"max_tokens": 32, "stream": true, "stream_options": {"include_usage": true}}),
                    );
                    post_stream(&url, &body).await
                })
            })
            .collect();
        for t in tasks {
            let (status, _, items) = t.await.unwrap();
            assert_eq!(status, 200);
            assert_eq!(items.last(), Some(&SseItem::Done));
            let SseItem::Json(u) = &items[items.len() - 2] else {
                panic!()
            };
            assert!(u["usage"]["completion_tokens"].as_u64().unwrap() >= 1);
            assert!(!stream_text(&items).is_empty());
        }
        eprintln!("8 streams in {:?}", started.elapsed());
    });
}

/// Concurrent greedy requests must get the answers they get alone, bit for bit. While a long
/// generation runs, four requests arrive: two different questions of the same token length
/// (before the attention fix in `patches/`, every row of a batched decode step received the
/// attention output of the last row) and two of other lengths, which decode in the same steps
/// from left-padded KV caches (a wrong padding mask, cache copy or position would change
/// their text).
#[test]
fn concurrent_answers_match_their_solo_answers() {
    let s = TestServer::shared();
    let prompts = [
        "What is a fever?",
        "What is a cough?",
        "Explain in simple words what high blood pressure means for an older adult.",
        "List two common causes of a headache.",
    ];
    let url = s.url("/v1/chat/completions");
    run(async {
        let ask = |prompt: &str| {
            let url = url.clone();
            let body = chat(prompt, json!({"max_tokens": 48}));
            async move {
                let (status, v) = post_json(&url, &body).await;
                assert_eq!(status, 200, "{v}");
                (
                    v["choices"][0]["message"]["content"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    v["usage"]["prompt_tokens"].as_u64().unwrap(),
                )
            }
        };
        let mut solo = Vec::new();
        for p in prompts {
            solo.push(ask(p).await);
        }
        assert_eq!(
            solo[0].1, solo[1].1,
            "the first two prompts must be the same length"
        );
        assert_ne!(solo[0].0, solo[1].0, "and get different answers");
        // A long generation keeps the engine busy, so the four requests queue up and the
        // two of equal length are scheduled (prefilled and decoded) together.
        let mut blocker = client()
            .post(&url)
            .json(&chat(
                "Write a long story about a hospital.",
                json!({"max_tokens": 400, "stream": true}),
            ))
            .send()
            .await
            .unwrap();
        let mut parser = SseParser::default();
        let mut seen = 0;
        while seen < 4 {
            let chunk = blocker.chunk().await.unwrap().unwrap();
            seen += parser.push(&chunk).len();
        }
        let together: Vec<_> = prompts.iter().map(|p| tokio::spawn(ask(p))).collect();
        for (i, t) in together.into_iter().enumerate() {
            let (text, _) = t.await.unwrap();
            assert_eq!(text, solo[i].0, "prompt {i} concurrent vs alone");
        }
        drop(blocker);
    });
}

#[test]
fn overload_gets_429_and_a_disconnect_frees_the_slot() {
    // One admission slot on the shared real engine.
    let s = TestServer::start(
        engine(),
        ServerSettings {
            max_inflight: 1,
            ..Default::default()
        },
        Duration::from_secs(5),
    );
    let url = s.url("/v1/chat/completions");
    run(async {
        let body = chat(
            "Write a very long story about a hospital.",
            json!({"max_tokens": 2000, "stream": true, "medserve": {"retrieval": {"enabled": false}}}),
        );
        let mut resp = client().post(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        // Read a few events so generation is under way.
        let mut parser = SseParser::default();
        let mut seen = 0;
        while seen < 4 {
            let chunk = resp.chunk().await.unwrap().unwrap();
            seen += parser.push(&chunk).len();
        }
        assert_eq!(engine().running(), 1);
        // The slot is taken: a second request is refused with 429 and Retry-After.
        let r = client()
            .post(&url)
            .json(&chat("hi", json!({"max_tokens": 2})))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        assert!(r.headers().contains_key("retry-after"));
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["type"], "rate_limit_error");

        // The client goes away mid-stream.
        drop(resp);
        let t = Instant::now();
        while engine().running() > 0 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "generation still running after disconnect"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The engine is idle: this process burns (almost) no CPU any more.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let c0 = process_cpu_secs();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let used = process_cpu_secs() - c0;
        assert!(
            used < 0.3,
            "engine still busy after disconnect: {used:.2} CPU-s in 1 s"
        );
        // And the slot is free again.
        let (status, v) = post_json(&url, &chat("hi", json!({"max_tokens": 2}))).await;
        assert_eq!(status, 200, "{v}");
    });
}

#[test]
fn graceful_shutdown_drains_in_flight_streams() {
    let mut s = TestServer::start(engine(), ServerSettings::default(), Duration::from_secs(60));
    let url = s.url("/v1/chat/completions");
    let body = chat(
        "Explain what a nurse does.",
        json!({"max_tokens": 48, "stream": true}),
    );
    let mut resp = run(async { client().post(&url).json(&body).send().await.unwrap() });
    assert_eq!(resp.status(), 200);
    let first = run(async { resp.chunk().await.unwrap().unwrap() });
    assert!(!first.is_empty());
    s.begin_shutdown();
    run(async {
        // Give the server a moment to stop accepting.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let refused = client()
            .post(&url)
            .json(&chat("hi", json!({"max_tokens": 2})))
            .send()
            .await;
        assert!(
            refused.is_err(),
            "new connections are refused while draining"
        );
        // The in-flight stream still finishes properly.
        let mut parser = SseParser::default();
        let mut items = parser.push(&first);
        let mut stream = resp.bytes_stream();
        while let Some(c) = stream.next().await {
            items.extend(parser.push(&c.unwrap()));
        }
        assert_eq!(items.last(), Some(&SseItem::Done));
        let SseItem::Json(last) = &items[items.len() - 2] else {
            panic!()
        };
        assert!(last["choices"][0]["finish_reason"].is_string(), "{last}");
        // And the server stops once drained, well before the deadline.
        let done = s.done.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), done)
            .await
            .expect("server stopped")
            .unwrap()
            .unwrap();
    });
}

#[test]
fn red_flags_get_the_fixed_emergency_answer_before_any_model_runs() {
    let s = TestServer::shared();
    let url = s.url("/v1/chat/completions");
    run(async {
        let msg = "my jaw and left arm ache and I'm sweating a lot";
        let (status, v) = post_json(&url, &chat(msg, json!({"max_tokens": 50}))).await;
        assert_eq!(status, 200, "{v}");
        let rf = &v["medserve"]["red_flag"];
        assert_eq!(rf["action"], "emergency", "{v}");
        assert!(
            rf["categories"]
                .as_array()
                .unwrap()
                .contains(&json!("cardiac")),
            "{v}"
        );
        assert!(!rf["matched"].as_array().unwrap().is_empty());
        let text = v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            text.starts_with("This may be a medical emergency. Call your local emergency number"),
            "{text}"
        );
        // No model ran: no tokens were processed.
        assert_eq!(v["usage"]["total_tokens"], 0);

        // Streaming clients get the same text as a normal stream, `medserve` on the final chunk.
        let mut body = chat(
            msg,
            json!({"stream": true, "stream_options": {"include_usage": true}}),
        );
        body["max_tokens"] = json!(50);
        let (_, _, items) = post_stream(&url, &body).await;
        assert_eq!(stream_text(&items), text);
        let SseItem::Json(last) = &items[items.len() - 3] else {
            panic!("{items:?}")
        };
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        assert_eq!(last["medserve"]["red_flag"], *rf);
        assert_eq!(items.last(), Some(&SseItem::Done));

        // A hard negative runs the model and says it checked: red_flag is null.
        let (status, v) = post_json(
            &url,
            &chat(
                "I had a stroke in 2019. Which foods are good for my heart?",
                json!({"max_tokens": 8}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert!(
            v["medserve"].get("red_flag").is_some_and(Value::is_null),
            "{v}"
        );
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() >= 1);
        // The real model's answer went through the output stage: the fixed disclaimer
        // (from code, not the prompt) ends a patient answer and is listed as a verdict.
        let answer = v["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(
            answer.ends_with(medserve_guardrails::policy::DISCLAIMER),
            "{answer}"
        );
        assert!(v["medserve"]["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["stage"] == "output" && g["class"] == "disclaimer"));
    });
}

#[test]
fn answers_are_grounded_in_cited_guidelines_in_stream_and_non_stream() {
    let s = TestServer::shared();
    let url = s.url("/v1/chat/completions");
    run(async {
        let q = "How is the qSOFA score calculated?";
        let on = json!({"retrieval": {}});
        let (status, v) =
            post_json(&url, &chat(q, json!({"max_tokens": 30, "medserve": on}))).await;
        assert_eq!(status, 200, "{v}");
        let content = v["choices"][0]["message"]["content"].as_str().unwrap();
        let ann = v["choices"][0]["message"]["annotations"]
            .as_array()
            .unwrap()
            .clone();
        let r = &v["medserve"]["retrieval"];
        assert_eq!(r["mode"], "hybrid");
        let chunks = r["chunks"].as_array().unwrap();
        assert_eq!(chunks.len(), 3, "default top_k is 3: {r}");
        assert_eq!(chunks[0]["doc_id"], "sepsis-recognition-management", "{r}");
        // Citations are per sentence: each supported sentence of the answer is cited to a
        // passage in the prompt, with its exact character range; the report counts them.
        let report = &v["medserve"]["grounding_report"];
        assert_eq!(report["mode"], "generative", "{v}");
        let supported = report["supported"].as_u64().unwrap() as usize;
        let unsupported = report["unsupported"].as_array().unwrap().len();
        assert_eq!(supported, ann.len(), "{report}");
        assert_eq!(
            supported + unsupported,
            report["sentences"].as_u64().unwrap() as usize
        );
        let chars: Vec<char> = content.chars().collect();
        for a in &ann {
            assert_eq!(a["type"], "url_citation");
            let c = &a["url_citation"];
            assert!(chunks.iter().any(|k| k["url"] == c["url"]), "{c}");
            assert!(
                c["title"].as_str().unwrap().contains("(last reviewed 20"),
                "{c}"
            );
            let (start, end) = (
                c["start_index"].as_u64().unwrap() as usize,
                c["end_index"].as_u64().unwrap() as usize,
            );
            assert!(start < end && end <= chars.len(), "{c}");
            let cited: String = chars[start..end].iter().collect();
            assert!(
                !medserve_guardrails::policy::DISCLAIMER.contains(&cited),
                "{cited}"
            );
        }

        // The stream carries the same citations on its final chunk.
        let mut body = chat(q, json!({"max_tokens": 30, "stream": true, "medserve": on}));
        body["stream_options"] = json!({"include_usage": true});
        let (_, _, items) = post_stream(&url, &body).await;
        let text = stream_text(&items);
        assert_eq!(text, content);
        let last = items
            .iter()
            .find_map(|i| match i {
                SseItem::Json(v) if !v["choices"][0]["finish_reason"].is_null() => Some(v.clone()),
                _ => None,
            })
            .unwrap();
        // (No `annotations` key when no sentence was supported.)
        let sann = last["choices"][0]["delta"]["annotations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(sann.len(), ann.len());
        for (a, b) in sann.iter().zip(&ann) {
            assert_eq!(a, b);
        }
        assert_eq!(last["medserve"]["retrieval"]["chunks"], r["chunks"]);
        let stream_usage = items
            .iter()
            .find_map(|i| match i {
                SseItem::Json(v) if v["choices"].as_array().is_some_and(|c| c.is_empty()) => {
                    Some(v["usage"].clone())
                }
                _ => None,
            })
            .unwrap();

        // Off: no passages, no citations, a shorter prompt.
        let (_, off) = post_json(
            &url,
            &chat(
                q,
                json!({"max_tokens": 30, "medserve": {"retrieval": {"enabled": false}}}),
            ),
        )
        .await;
        assert!(off["medserve"]["retrieval"].is_null(), "{off}");
        assert_eq!(off["choices"][0]["message"]["annotations"], json!([]));
        let with = v["usage"]["prompt_tokens"].as_u64().unwrap();
        assert_eq!(stream_usage["prompt_tokens"].as_u64().unwrap(), with);
        assert!(
            off["usage"]["prompt_tokens"].as_u64().unwrap() + 50 < with,
            "{off} vs {v}"
        );

        // Tuned: top_k and a lexical-only mode.
        let (_, one) = post_json(
            &url,
            &chat(q, json!({"max_tokens": 5, "medserve": {"retrieval": {"top_k": 1, "mode": "lexical"}}})),
        )
        .await;
        assert_eq!(
            one["medserve"]["retrieval"]["chunks"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(one["medserve"]["retrieval"]["mode"], "lexical");
        for (bad, param) in [
            (json!({"top_k": 0}), "medserve.retrieval.top_k"),
            (json!({"top_k": 11}), "medserve.retrieval.top_k"),
            (json!({"mode": "fuzzy"}), "medserve"),
            (json!({"depth": 2}), "medserve"),
        ] {
            let (status, e) = post_json(
                &url,
                &chat(q, json!({"medserve": {"retrieval": bad.clone()}})),
            )
            .await;
            assert_eq!(status, 400, "{bad}: {e}");
            assert!(
                e["error"]["param"].as_str().unwrap().starts_with(param),
                "{bad}: {e}"
            );
        }
    });
}

#[test]
fn embeddings_endpoint_has_the_openai_shape() {
    let s = TestServer::shared();
    let url = s.url("/v1/embeddings");
    run(async {
        let body = json!({"model": "all-MiniLM-L6-v2", "input": [
            "My chest hurts when I breathe in",
            "Pain in the chest on inhaling",
            "How do I renew my passport?"
        ]});
        let (status, v) = post_json(&url, &body).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["object"], "list");
        assert_eq!(v["model"], "all-MiniLM-L6-v2");
        let data = v["data"].as_array().unwrap();
        assert_eq!(data.len(), 3);
        let vecs: Vec<Vec<f64>> = data
            .iter()
            .enumerate()
            .map(|(i, d)| {
                assert_eq!(d["object"], "embedding");
                assert_eq!(d["index"], i);
                d["embedding"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        for v in &vecs {
            assert_eq!(v.len(), 384);
            assert!((dot(v, v) - 1.0).abs() < 1e-3, "unit length");
        }
        assert!(dot(&vecs[0], &vecs[1]) > dot(&vecs[0], &vecs[2]) + 0.2);
        let tokens = v["usage"]["prompt_tokens"].as_u64().unwrap();
        assert!(tokens >= 20, "{v}");
        assert_eq!(v["usage"]["total_tokens"], tokens);

        // base64: little-endian f32, the same numbers.
        let (_, b) = post_json(
            &url,
            &json!({"model": "all-MiniLM-L6-v2", "input": "My chest hurts when I breathe in", "encoding_format": "base64"}),
        )
        .await;
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b["data"][0]["embedding"].as_str().unwrap())
            .unwrap();
        let floats: Vec<f64> = bytes
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect();
        assert_eq!(floats.len(), 384);
        assert!(floats
            .iter()
            .zip(&vecs[0])
            .all(|(a, b)| (a - b).abs() < 1e-5));

        for (body, status, param) in [
            (json!({"model": "nope", "input": "x"}), 404, None),
            (
                json!({"model": "all-MiniLM-L6-v2", "input": ""}),
                400,
                Some("input"),
            ),
            (
                json!({"model": "all-MiniLM-L6-v2", "input": []}),
                400,
                Some("input"),
            ),
            (
                json!({"model": "all-MiniLM-L6-v2", "input": [1, 2, 3]}),
                400,
                Some("input"),
            ),
            (
                json!({"model": "all-MiniLM-L6-v2", "input": "x", "dimensions": 64}),
                400,
                Some("dimensions"),
            ),
            (
                json!({"model": "all-MiniLM-L6-v2", "input": "x", "encoding_format": "hex"}),
                400,
                Some("encoding_format"),
            ),
            (
                json!({"model": "all-MiniLM-L6-v2", "input": "x", "colour": 1}),
                400,
                Some("colour"),
            ),
        ] {
            let (st, e) = post_json(&url, &body).await;
            assert_eq!(st, status, "{body}: {e}");
            assert!(e["error"]["message"].is_string(), "{e}");
            if let Some(p) = param {
                assert_eq!(e["error"]["param"], p, "{body}: {e}");
            }
        }
    });
}

#[test]
fn prefix_cache_hits_give_the_answers_of_a_cold_prefill() {
    // The shared server's engine keeps a prefix cache; a second engine has none. A
    // follow-up turn reuses the first turn's cached prefix, a sibling question reuses part
    // of it (and appends past the shared part), and the first question asked again reuses
    // the entry the sibling may have written into: every answer must equal the one of an
    // engine that prefills the whole prompt.
    let warm = TestServer::shared();
    let cold = TestServer::start(
        load_engine_with(model_path(), 2, false),
        real_settings(),
        std::time::Duration::from_secs(5),
    );
    let first = "Tell me three facts about fevers in young children.";
    let sibling = "Tell me three facts about fevers in older adults.";
    run(async {
        let answer = |s: &TestServer, messages: Value| {
            let url = s.url("/v1/chat/completions");
            async move {
                let mut body = chat("", json!({"max_tokens": 40}));
                body["messages"] = messages;
                let (status, v) = post_json(&url, &body).await;
                assert_eq!(status, 200, "{v}");
                v["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let q1 = json!([{"role": "user", "content": first}]);
        let a1 = answer(warm, q1.clone()).await;
        assert_eq!(a1, answer(&cold, q1.clone()).await, "first question");
        let follow = json!([
            {"role": "user", "content": first},
            {"role": "assistant", "content": a1},
            {"role": "user", "content": "And which of them matters most?"},
        ]);
        assert_eq!(
            answer(warm, follow.clone()).await,
            answer(&cold, follow).await,
            "follow-up"
        );
        let q2 = json!([{"role": "user", "content": sibling}]);
        assert_eq!(
            answer(warm, q2.clone()).await,
            answer(&cold, q2).await,
            "sibling"
        );
        assert_eq!(answer(warm, q1).await, a1, "first question again");
    });
}

/// `usage.prompt_tokens_details.cached_tokens` counts the prompt tokens the prefix cache
/// supplied, and the cache keeps to its byte budget (`--prefix-cache-mb`): with room, a
/// follow-up turn starts from the first turn's cached positions; with a budget below one
/// position's KV (~46 KB at 135M) nothing is kept; the same request again is served from
/// the cache but for its last position (mistral.rs patch 20). The answers are the same
/// either way.
#[test]
fn prefix_cache_reports_cached_tokens_and_keeps_to_its_byte_budget() {
    let grace = std::time::Duration::from_secs(5);
    let roomy = TestServer::start(
        load_engine_cached(model_path(), 2, true, 512 << 20),
        real_settings(),
        grace,
    );
    let tiny = TestServer::start(
        load_engine_cached(model_path(), 2, true, 16 << 10),
        real_settings(),
        grace,
    );
    let question = "List two facts about the thyroid gland.";
    run(async {
        let ask = |s: &TestServer, messages: Value| {
            let url = s.url("/v1/chat/completions");
            async move {
                let mut body = chat("", json!({"max_tokens": 8}));
                body["messages"] = messages;
                let (status, v) = post_json(&url, &body).await;
                assert_eq!(status, 200, "{v}");
                let u = &v["usage"];
                let text = v["choices"][0]["message"]["content"].as_str().unwrap();
                let cached = u["prompt_tokens_details"]["cached_tokens"]
                    .as_u64()
                    .unwrap();
                (
                    text.to_string(),
                    u["prompt_tokens"].as_u64().unwrap(),
                    cached,
                )
            }
        };
        let first = json!([{"role": "user", "content": question}]);
        let (a1, _, c1) = ask(&roomy, first.clone()).await;
        let (b1, _, d1) = ask(&tiny, first).await;
        assert_eq!((c1, d1), (0, 0), "fresh engines have nothing cached");
        assert_eq!(a1, b1);
        let follow = json!([
            {"role": "user", "content": question},
            {"role": "assistant", "content": a1},
            {"role": "user", "content": "And one about iodine?"},
        ]);
        let (a2, p2, c2) = ask(&roomy, follow.clone()).await;
        let (b2, _, d2) = ask(&tiny, follow.clone()).await;
        assert!(
            c2 > 0 && c2 < p2,
            "the follow-up starts from the cache: {c2} of {p2}"
        );
        assert_eq!(d2, 0, "a 16 KiB budget keeps no entry");
        assert_eq!(a2, b2, "same answer with and without the cached prefix");
        let (a3, p3, c3) = ask(&roomy, follow.clone()).await;
        let (b3, _, d3) = ask(&tiny, follow).await;
        assert_eq!(
            c3,
            p3 - 1,
            "a repeated prompt is cached whole but for its last position"
        );
        assert_eq!(d3, 0);
        assert_eq!((&a3, &b3), (&a2, &a2), "the repeat answers as before");
    });
}

/// Greedy answers and their log-probabilities, bit for bit, against `tests/golden/greedy.json`
/// (issue 15: a kernel or engine change must not change any answer). The prompts are short
/// and long (about 40 to 1,800 tokens) so prefill, prompt attention and the batched matmul all
/// run. `MEDSERVE_WRITE_GOLDEN=1` rewrites the file: only for a change meant to alter
/// answers, and the commit must say so.
#[test]
fn greedy_answers_are_unchanged_bit_for_bit() {
    let path = repo_root().join("tests/golden/greedy.json");
    let filler = "Blood pressure is the force of blood pushing against the walls of the arteries. \
        Regular exercise, less salt, limited alcohol and a healthy weight all help to keep it in \
        a normal range. Medicines lower it in different ways and the choice depends on age, \
        other conditions and side effects. ";
    let prompts: Vec<String> = [0usize, 6, 16, 32]
        .iter()
        .map(|&n| format!("Summarise this for me, please. {}Thanks.", filler.repeat(n)))
        .collect();
    let url = TestServer::shared().url("/v1/chat/completions");
    let got: Vec<Value> = run(async {
        let mut out = Vec::new();
        for p in &prompts {
            let (status, v) = post_json(
                &url,
                &chat(
                    p,
                    json!({"max_tokens": 24, "logprobs": true, "top_logprobs": 3}),
                ),
            )
            .await;
            assert_eq!(status, 200, "{v}");
            let c = &v["choices"][0];
            // Log-probabilities as bit patterns: equality must be exact, not within a
            // tolerance.
            let lp: Vec<Value> = c["logprobs"]["content"]
                .as_array()
                .expect("logprobs")
                .iter()
                .map(|t| {
                    let top: Vec<Value> = t["top_logprobs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| {
                            json!([
                                x["token"],
                                (x["logprob"].as_f64().unwrap() as f32).to_bits()
                            ])
                        })
                        .collect();
                    json!({"token": t["token"], "top": top})
                })
                .collect();
            out.push(json!({
                "prompt_tokens": v["usage"]["prompt_tokens"],
                "text": c["message"]["content"],
                "logprobs": lp,
            }));
        }
        out
    });
    if std::env::var_os("MEDSERVE_WRITE_GOLDEN").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap()).unwrap();
        return;
    }
    let want: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    assert_eq!(want.len(), got.len());
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        assert!(
            g["prompt_tokens"].as_u64().unwrap() > 30,
            "prompt {i} is too short"
        );
        assert_eq!(
            w, g,
            "prompt {i}: the greedy answer or its log-probabilities changed"
        );
    }
}
