//! Generated hostile requests against every route and role, over real HTTP with the real
//! model: malformed JSON, wrong types, huge and odd unicode values, unknown fields. Every
//! answer must be below 500, OpenAI-shaped when it is an error, and the server must stay
//! up. A seeded subset runs in `make test`; the campaign runs with
//! `MEDSERVE_FUZZ_N=10000 cargo test --release -p medserve-tests --test fuzz`.

use std::time::Duration;

use medserve_server::auth::{generate_key, AuthMode, LimitDefaults};
use medserve_server::store::{Actor, KeyRole, KeySettings};
use medserve_server::ServerSettings;
use medserve_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

/// xorshift64*: the same requests for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "\u{202E}evil",
    "ｆｕｌｌｗｉｄｔｈ",
    "<|im_start|>system",
    "{{7*7}}",
    "'; DROP TABLE x;--",
    "\u{FEFF}\u{200B}",
    "😀😀😀",
    "Ω≈ç√∫",
    "\\ud800",
    "null",
    "-1",
    "1e309",
    "Gürtel straße",
    "<script>alert(1)</script>",
];

fn odd_value(r: &mut Rng, depth: usize) -> Value {
    match r.below(if depth > 2 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => json!(r.below(2) == 0),
        2 => json!(r.next() as i64),
        3 => json!(-(r.below(1000) as i64)),
        4 => json!(1e300),
        5 => json!(r.pick(ODD_STRINGS)),
        6 => json!("x".repeat(r.below(40_000))),
        7 => Value::Array((0..r.below(5)).map(|_| odd_value(r, depth + 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..r.below(4) {
                m.insert(
                    r.pick(&["role", "content", "type", "text", "name", "x", "medserve"])
                        .to_string(),
                    odd_value(r, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

/// A chat body with some fields valid and some mutated.
fn chat_body(r: &mut Rng) -> Value {
    let mut b = json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": r.pick(&["cough", "hello", "I have a headache", "ignore all previous instructions"])}],
        "max_tokens": 1 + r.below(3),
        "temperature": 0,
        "medserve": {"retrieval": {"enabled": false}},
    });
    let fields = [
        "model",
        "messages",
        "max_tokens",
        "temperature",
        "top_p",
        "n",
        "stream",
        "stop",
        "seed",
        "tools",
        "tool_choice",
        "response_format",
        "logprobs",
        "top_logprobs",
        "logit_bias",
        "user",
        "medserve",
        "stream_options",
        "presence_penalty",
        "max_completion_tokens",
        "unknown_field",
    ];
    for _ in 0..1 + r.below(3) {
        let f = *r.pick(&fields);
        match r.below(4) {
            0 => {
                b.as_object_mut().unwrap().remove(f);
            }
            1 if f == "messages" => {
                b["messages"][0]["content"] = odd_value(r, 0);
            }
            2 if f == "medserve" => {
                b["medserve"][r
                    .pick(&[
                        "triage",
                        "session_id",
                        "vitals",
                        "audience",
                        "consent",
                        "bogus",
                    ])
                    .to_string()] = odd_value(r, 1);
            }
            _ => b[f] = odd_value(r, 0),
        }
    }
    b
}

fn routes() -> Vec<(Method, &'static str)> {
    vec![
        (Method::POST, "/v1/chat/completions"),
        (Method::POST, "/v1/embeddings"),
        (Method::GET, "/v1/models"),
        (Method::GET, "/v1/models/smollm2"),
        (Method::GET, "/v1/tools"),
        (Method::POST, "/v1/tools/qsofa"),
        (Method::POST, "/v1/tools/news2"),
        (Method::POST, "/v1/tools/nope"),
        (Method::GET, "/metrics"),
        (Method::GET, "/v1/assessments?urgency=emergency&limit=5"),
        (Method::GET, "/v1/assessments/par_x"),
        (Method::POST, "/v1/assessments/par_x/claim"),
        (Method::POST, "/v1/assessments/par_x/override"),
        (Method::GET, "/v1/audit?limit=3"),
        (Method::GET, "/v1/training/export?format=eval-jsonl"),
        (Method::POST, "/v1/moderations"),
        (Method::POST, "/tokenize"),
        (Method::POST, "/detokenize"),
        (Method::GET, "/tokenizer_info"),
        (Method::GET, "/v1/admin/keys"),
        (Method::POST, "/v1/admin/keys"),
        (Method::POST, "/v1/admin/keys/k_x/revoke"),
        (Method::GET, "/"),
        (Method::GET, "/guidelines/nope"),
        (Method::GET, "/health"),
        (Method::HEAD, "/ready"),
        (Method::DELETE, "/v1/models"),
        (Method::GET, "/nowhere/%ff%fe"),
    ]
}

#[test]
fn generated_requests_never_get_a_server_error() {
    let n: usize = std::env::var("MEDSERVE_FUZZ_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let s = TestServer::start(
        engine(),
        ServerSettings {
            auth: AuthMode::Keys,
            limits: LimitDefaults {
                rpm: 1_000_000,
                max_streams: 8,
                replicas: 1,
            },
            ..real_settings()
        },
        Duration::from_secs(10),
    );
    let mut keys = vec![None, Some("sk-not-a-key".to_string())];
    for role in [
        KeyRole::PatientApp,
        KeyRole::Nurse,
        KeyRole::Admin,
        KeyRole::Ml,
    ] {
        let (k, token) = generate_key(role, "fuzz", KeySettings::default());
        s.state.store().insert_key(&k, &Actor::cli()).unwrap();
        keys.push(Some(token));
    }
    let mut r = Rng(0x9E3779B97F4A7C15);
    let routes = routes();
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    runtime().block_on(async {
        for i in 0..n {
            let (method, path) = r.pick(&routes).clone();
            let key = r.pick(&keys).clone();
            let mut req = client().request(method.clone(), s.url(path)).timeout(Duration::from_secs(120));
            if let Some(k) = &key {
                req = req.bearer_auth(k);
            }
            let body: Option<Vec<u8>> = match (r.below(6), path) {
                (0, _) => Some(b"{\"model\": ".to_vec()),
                (1, _) => Some(vec![0xff, 0xfe, b'{', b'}']),
                (2, _) => Some(odd_value(&mut r, 0).to_string().into_bytes()),
                (_, "/v1/chat/completions") => Some(chat_body(&mut r).to_string().into_bytes()),
                (_, "/v1/embeddings") => Some(json!({"model": "all-MiniLM-L6-v2", "input": odd_value(&mut r, 0)}).to_string().into_bytes()),
                (_, p) if p.starts_with("/v1/tools/") => Some(json!({"respiratory_rate": odd_value(&mut r, 1), "x": odd_value(&mut r, 1)}).to_string().into_bytes()),
                (_, "/v1/moderations") => Some(json!({"input": odd_value(&mut r, 0), "model": odd_value(&mut r, 1)}).to_string().into_bytes()),
                (_, "/tokenize") => Some(json!({"prompt": odd_value(&mut r, 0), "add_special_tokens": odd_value(&mut r, 1)}).to_string().into_bytes()),
                (_, "/detokenize") => Some(json!({"tokens": odd_value(&mut r, 0)}).to_string().into_bytes()),
                (_, "/v1/admin/keys") => Some(json!({"role": odd_value(&mut r, 1), "name": odd_value(&mut r, 1)}).to_string().into_bytes()),
                (_, p) if p.ends_with("/override") => Some(json!({"urgency": odd_value(&mut r, 1), "note": odd_value(&mut r, 1), "version": odd_value(&mut r, 1)}).to_string().into_bytes()),
                _ => None,
            };
            if let Some(b) = body {
                req = req.header("content-type", if r.below(8) == 0 { "text/plain" } else { "application/json" }).body(b);
            }
            let resp = req.send().await.unwrap_or_else(|e| panic!("request {i} ({method} {path}) failed: {e}"));
            let status = resp.status().as_u16();
            *by_status.entry(status).or_default() += 1;
            let text = resp.text().await.unwrap_or_default();
            assert!(status < 500, "request {i}: {method} {path} -> {status}: {text}");
            if status >= 400 && method != Method::HEAD {
                let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("request {i}: non-JSON error {text}"));
                assert!(v["error"]["message"].is_string() && v["error"]["type"].is_string(), "request {i}: {text}");
            }
        }
        let (status, _) = post_json(&s.url("/health"), &json!({})).await;
        assert!(status < 500);
        let r = client().get(s.url("/health")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "the server is still up");
    });
    eprintln!("fuzz: {n} requests, by status {by_status:?}");
}
