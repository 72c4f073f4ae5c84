//! `/v1/responses` on the real model over real HTTP: the response object, function calls and
//! their outputs, structured output, the streaming events, stored responses (consent,
//! de-identification, `previous_response_id`, GET and DELETE, ownership by key), guardrails,
//! and the 400s. The OpenAI Agents SDK and inspect_ai drive it in `tests/sdk.rs`.

use std::time::Duration;

use medserve_server::auth::{generate_key, AuthMode};
use medserve_server::store::{Actor, KeyRole, KeySettings};
use medserve_server::ServerSettings;
use medserve_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn post(body: Value) -> (u16, Value) {
    let s = TestServer::shared();
    let (status, _, v) = call(Method::POST, &s.url("/v1/responses"), None, Some(&body)).await;
    (status, v)
}

fn body(extra: Value) -> Value {
    let mut b = json!({"model": shared_model(), "max_output_tokens": 24, "temperature": 0,
        "medserve": {"retrieval": {"enabled": false}, "audience": "clinician"}});
    for (k, v) in extra.as_object().unwrap() {
        if k == "medserve" {
            for (mk, mv) in v.as_object().unwrap() {
                b["medserve"][mk] = mv.clone();
            }
        } else {
            b[k] = v.clone();
        }
    }
    b
}

fn output_text(v: &Value) -> String {
    v["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[test]
fn a_response_object_with_text_usage_and_no_storage_without_consent() {
    TestServer::shared();
    runtime().block_on(async {
        let (status, v) = post(body(json!({"input": "What helps a tension headache?",
            "instructions": "Answer in one sentence.", "metadata": {"case": "t1"}})))
        .await;
        assert_eq!(status, 200, "{v}");
        assert!(v["id"].as_str().unwrap().starts_with("resp_"), "{v}");
        assert_eq!(v["object"], "response");
        assert!(
            ["completed", "incomplete"].contains(&v["status"].as_str().unwrap()),
            "{v}"
        );
        assert_eq!(v["instructions"], "Answer in one sentence.");
        assert_eq!(v["metadata"], json!({"case": "t1"}));
        let item = &v["output"][0];
        assert_eq!(item["type"], "message");
        assert_eq!(item["role"], "assistant");
        assert!(item["id"].as_str().unwrap().starts_with("msg_"));
        assert_eq!(item["content"][0]["type"], "output_text");
        assert!(!output_text(&v).is_empty(), "{v}");
        let u = &v["usage"];
        assert!(u["input_tokens"].as_u64().unwrap() > 5, "{v}");
        assert_eq!(
            u["total_tokens"].as_u64().unwrap(),
            u["input_tokens"].as_u64().unwrap() + u["output_tokens"].as_u64().unwrap()
        );
        // `store` defaults to true, but nothing is kept without the patient's consent.
        assert_eq!(v["store"], false, "{v}");
        assert_eq!(
            v["medserve"]["stored"],
            json!({"stored": false, "reason": "no_consent"})
        );
        let s = TestServer::shared();
        let id = v["id"].as_str().unwrap();
        let (status, _, _) = call(
            Method::GET,
            &s.url(&format!("/v1/responses/{id}")),
            None,
            None,
        )
        .await;
        assert_eq!(status, 404);
        // max_output_tokens reached: incomplete with its reason.
        let (_, short) = post(body(
            json!({"input": "Explain asthma in detail.", "max_output_tokens": 3}),
        ))
        .await;
        assert_eq!(short["status"], "incomplete", "{short}");
        assert_eq!(short["incomplete_details"]["reason"], "max_output_tokens");
    });
}

/// A forced function call comes back as a `function_call` item; its output sent back as a
/// `function_call_output` item is answered in text.
#[test]
fn function_calls_and_their_outputs() {
    TestServer::shared();
    runtime().block_on(async {
        let tool = json!({"type": "function", "name": "lookup_dose", "description": "Look up the usual adult dose of a medicine.",
            "parameters": {"type": "object", "properties": {"medicine": {"type": "string", "maxLength": 20}},
            "required": ["medicine"], "additionalProperties": false}, "strict": true});
        let (status, v) = post(body(json!({"input": "What is the usual dose of ibuprofen?",
            "tools": [tool], "tool_choice": "required", "max_output_tokens": 64})))
        .await;
        assert_eq!(status, 200, "{v}");
        let call = v["output"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"] == "function_call")
            .unwrap_or_else(|| panic!("no call: {v}"))
            .clone();
        assert_eq!(call["name"], "lookup_dose");
        assert!(call["id"].as_str().unwrap().starts_with("fc_"));
        let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
        assert!(args["medicine"].is_string(), "{call}");
        let (status, answer) = post(body(json!({"tools": [tool], "input": [
            {"role": "user", "content": "What is the usual dose of ibuprofen?"},
            call,
            {"type": "function_call_output", "call_id": call["call_id"], "output": "200-400 mg every 4-6 hours, at most 1200 mg a day without advice."},
        ]})))
        .await;
        assert_eq!(status, 200, "{answer}");
        assert!(!output_text(&answer).is_empty(), "{answer}");
        // An output for a call that was never made is refused, naming the item.
        let (status, e) = post(body(json!({"input": [
            {"role": "user", "content": "hi"},
            {"type": "function_call_output", "call_id": "nope", "output": "x"},
        ]})))
        .await;
        assert_eq!(status, 400, "{e}");
        assert!(e["error"]["param"].as_str().unwrap().starts_with("input[1]"), "{e}");
    });
}

#[test]
fn structured_output_through_text_format() {
    TestServer::shared();
    runtime().block_on(async {
        let (status, v) = post(body(json!({"input": "Is a mild cold urgent? Answer as JSON.",
            "max_output_tokens": 40,
            "text": {"format": {"type": "json_schema", "name": "urgency", "strict": true, "schema": {
                "type": "object", "properties": {"urgent": {"type": "boolean"}},
                "required": ["urgent"], "additionalProperties": false}}}})))
        .await;
        assert_eq!(status, 200, "{v}");
        let parsed: Value = serde_json::from_str(&output_text(&v)).unwrap();
        assert!(parsed["urgent"].is_boolean(), "{v}");
        assert_eq!(v["text"]["format"]["type"], "json_schema");
    });
}

/// The event sequence of a streamed response, numbered, its deltas making the final text.
#[test]
fn streamed_events_in_order() {
    let s = TestServer::shared();
    runtime().block_on(async {
        let mut b = body(json!({"input": "Name one way to sleep better."}));
        b["stream"] = json!(true);
        let (status, headers, items) = post_stream(&s.url("/v1/responses"), &b).await;
        assert_eq!(status, 200);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let events = sse_json(&items);
        assert!(
            !items.iter().any(|i| matches!(i, SseItem::Done)),
            "no [DONE] in Responses streams"
        );
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e["sequence_number"], json!(i), "{kinds:?}");
        }
        assert_eq!(kinds[..2], ["response.created", "response.in_progress"]);
        let last = *kinds.last().unwrap();
        assert!(
            last == "response.completed" || last == "response.incomplete",
            "{kinds:?}"
        );
        for k in [
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
        ] {
            assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
        }
        let deltas: String = events
            .iter()
            .filter(|e| e["type"] == "response.output_text.delta")
            .map(|e| e["delta"].as_str().unwrap())
            .collect();
        let fin = &events.last().unwrap()["response"];
        assert_eq!(deltas, output_text(fin));
        assert!(fin["usage"]["output_tokens"].as_u64().unwrap() > 0, "{fin}");
        assert_eq!(events[0]["response"]["status"], "in_progress");
    });
}

/// With consent a response is stored de-identified, continued by `previous_response_id`,
/// read and deleted only by the key that made it.
#[test]
fn stored_responses_are_de_identified_continued_and_owned() {
    let s = TestServer::start(
        engine(),
        ServerSettings {
            auth: AuthMode::Keys,
            guard: real_guard(),
            ..ServerSettings::default()
        },
        Duration::from_secs(10),
    );
    let key = |name: &str| {
        let (k, token) = generate_key(KeyRole::PatientApp, name, KeySettings::default());
        s.state.store().insert_key(&k, &Actor::cli()).unwrap();
        token
    };
    let (mine, other) = (key("app one"), key("app two"));
    runtime().block_on(async {
        let url = s.url("/v1/responses");
        let first = json!({"model": shared_model(), "max_output_tokens": 16, "temperature": 0,
            "input": "My name is Marjatta Kowalczyk and I have had a dry cough for a week.",
            "medserve": {"consent": true, "retrieval": {"enabled": false}}});
        let (status, _, v) = call(Method::POST, &url, Some(&mine), Some(&first)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["store"], true, "{v}");
        assert_eq!(v["medserve"]["stored"]["stored"], true);
        let id = v["id"].as_str().unwrap().to_string();
        let one = s.url(&format!("/v1/responses/{id}"));
        let (status, _, got) = call(Method::GET, &one, Some(&mine), None).await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["id"], id.as_str());
        // What is kept is de-identified: the name is not in the store.
        let stored = s.state.store().response(&id).unwrap().unwrap();
        let kept = format!("{} {}", stored.body, stored.conversation);
        assert!(
            !kept.contains("Kowalczyk") && !kept.contains("Marjatta"),
            "{kept}"
        );
        assert!(kept.contains("dry cough"), "{kept}");
        // Another key sees nothing and cannot continue or delete it.
        let (status, _, _) = call(Method::GET, &one, Some(&other), None).await;
        assert_eq!(status, 404);
        let next = json!({"model": shared_model(), "max_output_tokens": 16, "temperature": 0,
            "previous_response_id": id, "input": "Should I see a doctor about the cough?",
            "medserve": {"consent": true, "retrieval": {"enabled": false}}});
        let (status, _, e) = call(Method::POST, &url, Some(&other), Some(&next)).await;
        assert_eq!(status, 400, "{e}");
        assert_eq!(e["error"]["param"], "previous_response_id");
        let (status, _, _) = call(Method::DELETE, &one, Some(&other), None).await;
        assert_eq!(status, 404);
        // The owner continues it: the earlier turn is in the prompt.
        let alone = json!({"model": shared_model(), "max_output_tokens": 16, "temperature": 0,
            "input": "Should I see a doctor about the cough?", "medserve": {"retrieval": {"enabled": false}}});
        let (_, _, a) = call(Method::POST, &url, Some(&mine), Some(&alone)).await;
        let (status, _, c) = call(Method::POST, &url, Some(&mine), Some(&next)).await;
        assert_eq!(status, 200, "{c}");
        assert_eq!(c["previous_response_id"], id.as_str());
        assert!(
            c["usage"]["input_tokens"].as_u64().unwrap()
                > a["usage"]["input_tokens"].as_u64().unwrap() + 10,
            "{c} vs {a}"
        );
        let (status, _, d) = call(Method::DELETE, &one, Some(&mine), None).await;
        assert_eq!(status, 200, "{d}");
        assert_eq!(d, json!({"id": id, "object": "response", "deleted": true}));
        let (status, _, _) = call(Method::GET, &one, Some(&mine), None).await;
        assert_eq!(status, 404);
        // `store: false` keeps nothing, consent or not.
        let mut off = first.clone();
        off["store"] = json!(false);
        let (_, _, v) = call(Method::POST, &url, Some(&mine), Some(&off)).await;
        assert_eq!(v["medserve"]["stored"]["reason"], "store_false", "{v}");
    });
}

#[test]
fn emergencies_and_bad_requests() {
    TestServer::shared();
    runtime().block_on(async {
        let (status, v) = post(body(json!({"input": [{"role": "user", "content": [{"type": "input_text",
            "text": "My wife suddenly cannot move her right arm and her speech is slurred."}]}]})))
        .await;
        assert_eq!(status, 200, "{v}");
        assert!(v["medserve"]["red_flag"]["categories"].as_array().is_some_and(|c| !c.is_empty()), "{v}");
        assert!(!output_text(&v).is_empty());
        let cases = [
            (json!({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://x/y.png"}]}]}), "input[0].content[0].type"),
            (json!({"input": "hi", "max_output_tokens": 0}), "max_output_tokens"),
            (json!({"input": "hi", "previous_response_id": "resp_missing"}), "previous_response_id"),
            (json!({"input": "hi", "reasoning": {"effort": "high"}}), "reasoning.effort"),
            (json!({"input": "hi", "temperature": 5}), "temperature"),
            (json!({"input": "hi", "tools": [{"type": "file_search"}]}), "tools[0].type"),
            (json!({"input": "hi", "modalities": ["text"]}), "modalities"),
        ];
        for (extra, field) in cases {
            let b = body(extra);
            let (status, v) = post(b.clone()).await;
            assert_eq!(status, 400, "{b} -> {v}");
            assert_eq!(v["error"]["param"], field, "{b} -> {v}");
        }
    });
}
