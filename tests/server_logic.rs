//! The server's own logic with a scripted engine: states and failure paths that the real
//! model cannot be made to produce on demand.

use std::sync::Arc;
use std::time::Duration;

use medserve_models::FakeEngine;
use medserve_server::{AppState, ServerSettings};
use medserve_tests::*;
use serde_json::{json, Value};

fn body(stream: bool) -> Value {
    json!({"model": "fake", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

#[test]
fn mid_stream_failure_is_an_error_event_then_done() {
    let engine =
        Arc::new(FakeEngine::new(&["a", "b", "c"], Duration::from_millis(1), 100).failing_after(2));
    let s = TestServer::start(engine, ServerSettings::default(), Duration::from_secs(1));
    runtime().block_on(async {
        let (status, _, items) = post_stream(&s.url("/v1/chat/completions"), &body(true)).await;
        assert_eq!(status, 200);
        assert_eq!(stream_text(&items), "ab");
        assert_eq!(items.last(), Some(&SseItem::Done));
        let SseItem::Json(err) = &items[items.len() - 2] else {
            panic!("{items:?}")
        };
        assert_eq!(err["error"]["type"], "server_error");
        assert_eq!(err["error"]["code"], "internal_error");
        // No internal detail leaks.
        assert!(!err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scripted"));
        // Non-stream: a 500 with the same shape.
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &body(false)).await;
        assert_eq!(status, 500);
        assert_eq!(v["error"]["code"], "internal_error");
        assert!(!v.to_string().contains("scripted"));
    });
}

#[test]
fn loading_state_is_503_until_the_engine_arrives() {
    let state = AppState::new(ServerSettings::default());
    let st = state.clone();
    let addr = runtime().block_on(async move {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(medserve_server::run(
            l,
            st,
            std::future::pending(),
            Duration::from_secs(1),
        ));
        addr
    });
    runtime().block_on(async {
        let url = |p: &str| format!("http://{addr}{p}");
        assert_eq!(
            client().get(url("/health")).send().await.unwrap().status(),
            200
        );
        assert_eq!(
            client().get(url("/ready")).send().await.unwrap().status(),
            503
        );
        let (status, v) = post_json(&url("/v1/chat/completions"), &body(false)).await;
        assert_eq!(status, 503);
        assert_eq!(v["error"]["code"], "unavailable");
        state.set_engine(Arc::new(FakeEngine::new(&["ok"], Duration::ZERO, 100)));
        assert_eq!(
            client().get(url("/ready")).send().await.unwrap().status(),
            200
        );
        let (status, v) = post_json(&url("/v1/chat/completions"), &body(false)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["choices"][0]["message"]["content"], "ok");
    });
}

#[test]
fn sse_keep_alive_comments_flow_while_the_model_is_slow() {
    let engine = Arc::new(FakeEngine::new(&["slow"], Duration::from_millis(2500), 100));
    let s = TestServer::start(
        engine,
        ServerSettings {
            max_inflight: 4,
            keep_alive: Duration::from_secs(1),
            ..Default::default()
        },
        Duration::from_secs(1),
    );
    runtime().block_on(async {
        let mut r = client()
            .post(s.url("/v1/chat/completions"))
            .json(&body(true))
            .send()
            .await
            .unwrap();
        let mut raw = String::new();
        while let Some(c) = r.chunk().await.unwrap() {
            raw.push_str(&String::from_utf8_lossy(&c));
        }
        assert!(
            raw.lines().any(|l| l.starts_with(':')),
            "no keep-alive comment in {raw:?}"
        );
        assert!(raw.trim_end().ends_with("data: [DONE]"));
    });
}
