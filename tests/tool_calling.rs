//! OpenAI tool calling and structured output: the server's logic on a scripted engine
//! (exact call text on demand), then the same paths on the real model with constrained
//! decoding.

use std::sync::Arc;
use std::time::Duration;

use medserve_models::{FakeEngine, Grammar, Role};
use medserve_server::ServerSettings;
use medserve_tests::*;
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"], "additionalProperties": false}
    }})
}

fn fake_server(scripts: &[&[&str]]) -> (Arc<FakeEngine>, TestServer) {
    let engine = Arc::new(FakeEngine::with_scripts(scripts, Duration::ZERO, 8192));
    let s = TestServer::start(
        engine.clone(),
        ServerSettings::default(),
        Duration::from_secs(1),
    );
    (engine, s)
}

const WEATHER_CALL: &[&str] = &[
    "<tool_call>\n",
    "{\"name\": \"get_weather\", ",
    "\"arguments\": {\"city\": \"Leeds\"}}",
    "\n</tool_call>",
];

fn ask(stream: bool, text: &str, extra: Value) -> Value {
    let mut b = json!({"model": "fake", "stream": stream,
                       "messages": [{"role": "user", "content": text}],
                       "medserve": {"audience": "clinician"}});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

/// Tool calls of a stream, accumulated as a client does: by `index`, `id`/`name` from the
/// first fragment, `arguments` concatenated.
fn stream_calls(items: &[SseItem]) -> Vec<(String, String, String)> {
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for it in items {
        let SseItem::Json(v) = it else { continue };
        let Some(tcs) = v["choices"][0]["delta"]["tool_calls"].as_array() else {
            continue;
        };
        for tc in tcs {
            let i = tc["index"].as_u64().unwrap() as usize;
            if i == calls.len() {
                // The first fragment of a call names it.
                assert!(
                    tc["id"].is_string() && tc["function"]["name"].is_string(),
                    "{tc}"
                );
                assert_eq!(tc["type"], "function");
                calls.push((
                    tc["id"].as_str().unwrap().into(),
                    tc["function"]["name"].as_str().unwrap().into(),
                    String::new(),
                ));
            }
            if let Some(a) = tc["function"]["arguments"].as_str() {
                calls[i].2.push_str(a);
            }
        }
    }
    calls
}

fn last_chunk(items: &[SseItem]) -> Value {
    items
        .iter()
        .rev()
        .find_map(|i| match i {
            SseItem::Json(v) if v["choices"][0]["finish_reason"].is_string() => Some(v.clone()),
            _ => None,
        })
        .expect("a final chunk")
}

#[test]
fn a_client_tool_call_comes_back_the_same_as_json_and_as_a_stream() {
    let (engine, s) = fake_server(&[WEATHER_CALL]);
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let extra = json!({"tools": [weather_tool()], "tool_choice": "required"});
        let (status, v) = post_json(&url, &ask(false, "Weather in Leeds?", extra.clone())).await;
        assert_eq!(status, 200, "{v}");
        let choice = &v["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls", "{v}");
        assert!(choice["message"]["content"].is_null(), "{v}");
        let call = &choice["message"]["tool_calls"][0];
        assert_eq!(call["type"], "function");
        assert!(call["id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(call["function"]["name"], "get_weather");
        assert_eq!(call["function"]["arguments"], "{\"city\":\"Leeds\"}");
        // The call text never reaches the output policy or the client as content, and no
        // disclaimer is added to a turn that ends in calls.
        assert!(!v["medserve"]["guardrails"]
            .to_string()
            .contains("disclaimer"));
        // Decoding was constrained: required -> a grammar that starts with the call tag.
        match &engine.grammars()[0] {
            Some(Grammar::Lark(g)) => assert!(g.contains("start: \"<tool_call>\" call"), "{g}"),
            other => panic!("{other:?}"),
        }
        // The tools are described to the model in the system prompt.
        let prompt = engine.last_prompt();
        assert_eq!(prompt[0].role, Role::System);
        assert!(prompt[0].content.contains("\"get_weather\""));
        assert!(prompt[0].content.contains("You must call a function now."));

        let (status, _, items) = post_stream(&url, &ask(true, "Weather in Leeds?", extra)).await;
        assert_eq!(status, 200);
        let calls = stream_calls(&items);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].1, "get_weather");
        assert_eq!(calls[0].2, call["function"]["arguments"].as_str().unwrap());
        assert_eq!(stream_text(&items), "");
        assert_eq!(
            last_chunk(&items)["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert_eq!(items.last(), Some(&SseItem::Done));
    });
}

#[test]
fn text_before_a_call_is_content_and_the_call_text_never_leaks() {
    let script: Vec<&str> = [
        "Let me check. ",
        "<tool",
        "_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>",
    ]
    .to_vec();
    let (_engine, s) = fake_server(&[&script]);
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let extra = json!({"tools": [weather_tool()]});
        let (_, v) = post_json(&url, &ask(false, "Oslo weather?", extra.clone())).await;
        let m = &v["choices"][0]["message"];
        assert_eq!(
            m["content"].as_str().unwrap().trim_end(),
            "Let me check.",
            "{v}"
        );
        assert_eq!(
            m["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Oslo\"}"
        );
        let (_, _, items) = post_stream(&url, &ask(true, "Oslo weather?", extra)).await;
        assert!(!stream_text(&items).contains("tool_call"));
        assert_eq!(stream_text(&items).trim(), "Let me check.");
        assert_eq!(stream_calls(&items)[0].2, "{\"city\":\"Oslo\"}");
    });
}

#[test]
fn invalid_calls_are_dropped_and_never_emitted() {
    // The scripted engine ignores grammars, so it can produce what constrained decoding
    // prevents: an unknown name, then arguments that break the schema.
    let unknown: &[&str] =
        &["<tool_call>\n{\"name\": \"launch\", \"arguments\": {}}\n</tool_call>"];
    let bad_args: &[&str] =
        &["<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": 7}}\n</tool_call>"];
    for (script, kind) in [
        (unknown, "unknown_function"),
        (bad_args, "invalid_arguments"),
    ] {
        let (_e, s) = fake_server(&[script]);
        runtime().block_on(async {
            let url = s.url("/v1/chat/completions");
            let extra = json!({"tools": [weather_tool()]});
            let (status, v) = post_json(&url, &ask(false, "hi", extra.clone())).await;
            assert_eq!(status, 200, "{v}");
            let c = &v["choices"][0];
            assert_eq!(c["finish_reason"], "stop", "{v}");
            assert!(c["message"]["tool_calls"].is_null(), "{v}");
            assert!(!c["message"]["content"]
                .as_str()
                .unwrap()
                .contains("tool_call"));
            let g = v["medserve"]["guardrails"].as_array().unwrap();
            assert!(
                g.iter()
                    .any(|g| g["class"] == "invalid_tool_call" && g["evidence"][0] == kind),
                "{g:?}"
            );
            let (_, _, items) = post_stream(&url, &ask(true, "hi", extra)).await;
            assert!(stream_calls(&items).is_empty());
            assert_eq!(last_chunk(&items)["choices"][0]["finish_reason"], "stop");
        });
    }
}

fn news2_call(args: Value) -> String {
    format!("<tool_call>\n{{\"name\": \"news2\", \"arguments\": {args}}}\n</tool_call>")
}

#[test]
fn the_server_runs_builtin_tools_and_feeds_the_results_back() {
    let call = news2_call(
        json!({"respiratory_rate": 18, "spo2_percent": 97, "supplemental_oxygen": false,
        "systolic_bp_mmhg": 125, "pulse_bpm": 80, "consciousness": "alert", "temperature_c": 37.0}),
    );
    let answer: &[&str] = &["The score is low. ", "Keep monitoring."];
    // Two requests (JSON, then SSE), two turns each.
    let (engine, s) = fake_server(&[&[&call], answer, &[&call], answer]);
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let extra = json!({"medserve": {"audience": "clinician", "tools": ["news2"]}});
        let (status, v) = post_json(&url, &ask(false, "Score these obs.", extra.clone())).await;
        assert_eq!(status, 200, "{v}");
        let c = &v["choices"][0];
        assert_eq!(c["finish_reason"], "stop", "{v}");
        assert_eq!(c["message"]["content"], "The score is low. Keep monitoring.");
        assert!(c["message"]["tool_calls"].is_null());
        let run = &v["medserve"]["tool_runs"][0];
        assert_eq!(run["name"], "news2");
        assert_eq!(run["round"], 0);
        assert_eq!(run["ok"], true);
        assert_eq!(run["result"]["total"], 0, "{run}");
        assert_eq!(run["arguments"]["pulse_bpm"], 80);
        assert!(run["duration_ms"].as_f64().unwrap() >= 0.0);
        // Second turn: the call and the fenced result are in the conversation, tools still
        // offered (auto).
        let prompts = engine.prompts();
        assert_eq!(prompts.len(), 2);
        let second = &prompts[1];
        let assistant = second.iter().rev().find(|m| m.role == Role::Assistant).unwrap();
        assert!(assistant.content.contains("<tool_call>"), "{}", assistant.content);
        let tool = second.iter().find(|m| m.role == Role::Tool).unwrap();
        assert!(tool.content.starts_with("<tool_response name=\"news2\">"), "{}", tool.content);
        assert!(tool.content.contains("\"total\":0"), "{}", tool.content);
        assert!(matches!(engine.grammars()[1], Some(Grammar::Lark(ref g)) if g.contains("start: TEXT | pre call")));
        // Usage covers both turns.
        let u = &v["usage"];
        assert_eq!(u["completion_tokens"], 3, "{u}");
        assert!(u["prompt_tokens"].as_u64().unwrap() > 20);

        let (_, _, items) = post_stream(&url, &ask(true, "Score these obs.", extra)).await;
        assert_eq!(stream_text(&items), "The score is low. Keep monitoring.");
        let last = last_chunk(&items);
        assert_eq!(last["medserve"]["tool_runs"][0]["name"], "news2");
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
    });
}

#[test]
fn a_tool_error_is_a_result_for_the_model_not_a_failure() {
    // Schema-valid (the schema allows up to 2650 for either unit) but out of range for
    // mg/dL: the tool's own unit-aware validation rejects it.
    let call = "<tool_call>\n{\"name\": \"egfr_ckd_epi_2021\", \"arguments\": {\"age_years\": 60, \"sex\": \"male\", \"creatinine\": 90, \"creatinine_unit\": \"mg/dL\"}}\n</tool_call>";
    let (engine, s) = fake_server(&[&[call], &["Please check the creatinine unit."]]);
    runtime().block_on(async {
        let extra = json!({"medserve": {"audience": "clinician", "tools": ["egfr_ckd_epi_2021"]}});
        let (status, v) =
            post_json(&s.url("/v1/chat/completions"), &ask(false, "eGFR?", extra)).await;
        assert_eq!(status, 200, "{v}");
        let run = &v["medserve"]["tool_runs"][0];
        assert_eq!(run["ok"], false, "{v}");
        assert!(
            run["result"]["error"]
                .as_str()
                .unwrap()
                .contains("creatinine"),
            "{run}"
        );
        let tool = engine.prompts()[1]
            .iter()
            .find(|m| m.role == Role::Tool)
            .unwrap()
            .content
            .clone();
        assert!(tool.contains("error"), "{tool}");
        assert_eq!(
            v["choices"][0]["message"]["content"],
            "Please check the creatinine unit."
        );
    });
}

#[test]
fn an_emergency_score_from_a_builtin_tool_gets_the_fixed_answer() {
    let call = news2_call(
        json!({"respiratory_rate": 28, "spo2_percent": 90, "supplemental_oxygen": false,
        "systolic_bp_mmhg": 88, "pulse_bpm": 130, "consciousness": "alert", "temperature_c": 39.6}),
    );
    let (engine, s) = fake_server(&[&[&call], &["It is probably fine."]]);
    runtime().block_on(async {
        let extra = json!({"medserve": {"audience": "clinician", "tools": ["news2"]}});
        let (_, v) = post_json(
            &s.url("/v1/chat/completions"),
            &ask(false, "Score these.", extra),
        )
        .await;
        assert_eq!(
            v["medserve"]["red_flag"]["categories"],
            json!(["vital_signs"]),
            "{v}"
        );
        let text = v["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(!text.contains("probably fine"), "{text}");
        assert!(text.contains("911") || text.contains("emergency"), "{text}");
        // The rules decided: the model did not get a second turn.
        assert_eq!(engine.prompts().len(), 1);
    });
}

#[test]
fn the_tool_loop_is_bounded_and_the_last_turn_offers_no_tools() {
    let call = news2_call(json!({"respiratory_rate": 16}));
    let (engine, s) = fake_server(&[&[&call]]);
    runtime().block_on(async {
        let extra = json!({"medserve": {"audience": "clinician", "tools": ["news2"], "max_tool_rounds": 2}});
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &ask(false, "Score.", extra)).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["medserve"]["tool_runs"].as_array().unwrap().len(), 2);
        let grammars = engine.grammars();
        assert_eq!(grammars.len(), 3);
        // The last turn may not start a call at all.
        assert!(matches!(grammars[2], Some(Grammar::Lark(ref g)) if g.contains("start: TEXT\n")), "{:?}", grammars[2]);
        assert!(!engine.prompts()[2][0].content.contains("<tools>"));
        // The scripted engine still wrote a call: it is dropped, not sent as text.
        let c = &v["choices"][0];
        assert!(!c["message"]["content"].as_str().unwrap().contains("tool_call"), "{v}");
        assert_eq!(c["finish_reason"], "stop");
    });
}

#[test]
fn json_response_formats_are_constrained_and_checked_whole() {
    let (engine, s) = fake_server(&[&["{\"urgency\": ", "\"routine\"}"]]);
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let schema = json!({"type": "object", "properties": {"urgency": {"enum": ["routine", "urgent"]}}, "required": ["urgency"]});
        let extra = json!({"response_format": {"type": "json_schema", "json_schema": {"name": "triage", "schema": schema, "strict": true}}});
        let (status, v) = post_json(&url, &ask(false, "Triage: mild cough.", extra.clone())).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["choices"][0]["message"]["content"], "{\"urgency\": \"routine\"}");
        assert_eq!(engine.grammars()[0], Some(Grammar::JsonSchema(schema)));
        let (_, _, items) = post_stream(&url, &ask(true, "Triage: mild cough.", extra)).await;
        assert_eq!(stream_text(&items), "{\"urgency\": \"routine\"}");
        let (_, v) = post_json(&url, &ask(false, "x", json!({"response_format": {"type": "json_object"}}))).await;
        assert_eq!(engine.grammars()[2], Some(Grammar::JsonSchema(json!({"type": "object"}))));
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
    });
    // For a patient, JSON the policy would change is withheld whole, never half-rewritten.
    let (_e, s) = fake_server(&[&["{\"advice\": \"Take 800 mg of ibuprofen every 4 hours.\"}"]]);
    runtime().block_on(async {
        let body = json!({"model": "fake", "messages": [{"role": "user", "content": "pain?"}],
                          "response_format": {"type": "json_object"}});
        let (_, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
        assert_eq!(v["choices"][0]["finish_reason"], "content_filter", "{v}");
        assert!(!v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .contains("800"));
    });
}

#[test]
fn malformed_tool_requests_are_400s_naming_the_field() {
    let (_e, s) = fake_server(&[&["x"]]);
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let cases = [
            (json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": 5}}}}}]}), "tools[0].function.parameters"),
            (json!({"tools": [weather_tool()], "tool_choice": {"type": "function", "function": {"name": "absent"}}}), "tool_choice.function.name"),
            (json!({"tool_choice": "required"}), "tool_choice"),
            (json!({"tools": [weather_tool()], "parallel_tool_calls": "yes"}), "parallel_tool_calls"),
            (json!({"medserve": {"tools": ["nonsense"]}}), "medserve.tools[0]"),
            (json!({"medserve": {"tools": ["news2"], "max_tool_rounds": 0}}), "medserve.max_tool_rounds"),
            (json!({"tools": [weather_tool()], "medserve": {"tools": ["news2"]}, "response_format": {"type": "json_object"}}), "response_format"),
            (json!({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object", "required": "a"}}}}), "response_format.json_schema.schema"),
            (json!({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}), "response_format.json_schema.name"),
            (json!({"response_format": {"type": "yaml"}}), "response_format.type"),
        ];
        for (extra, param) in cases {
            let (status, v) = post_json(&url, &ask(false, "hi", extra.clone())).await;
            assert_eq!(status, 400, "{extra} -> {v}");
            assert_eq!(v["error"]["param"], param, "{extra} -> {v}");
            assert_eq!(v["error"]["type"], "invalid_request_error");
        }
        // A tool message must answer an earlier call of the assistant.
        let body = json!({"model": "fake", "messages": [
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "call_404", "content": "{}"}]});
        let (status, v) = post_json(&url, &body).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["param"], "messages[1].tool_call_id");
        // With the call in the history, the same message is fine.
        let body = json!({"model": "fake", "medserve": {"audience": "clinician"}, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_404", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Leeds\"}"}}]},
            {"role": "tool", "tool_call_id": "call_404", "content": "{\"temp_c\": 11}"}]});
        let (status, v) = post_json(&url, &body).await;
        assert_eq!(status, 200, "{v}");
    });
}

// ---- the real model, constrained ----

fn real_body(extra: Value) -> Value {
    let mut b = json!({"model": "smollm2", "temperature": 0, "seed": 7, "max_tokens": 120,
        "medserve": {"audience": "clinician", "retrieval": {"enabled": false}}});
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

fn qsofa_client_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "qsofa",
        "description": "quick SOFA sepsis score from respiratory rate, systolic blood pressure and mentation",
        "parameters": {"type": "object", "properties": {
            "respiratory_rate": {"type": "number", "minimum": 0, "maximum": 80},
            "systolic_bp_mmhg": {"type": "number", "minimum": 0, "maximum": 300},
            "altered_mentation": {"type": "boolean"}},
          "required": ["respiratory_rate", "systolic_bp_mmhg", "altered_mentation"],
          "additionalProperties": false}
    }})
}

#[test]
fn the_real_model_makes_schema_valid_calls_under_constraints_in_both_modes() {
    let s = TestServer::start(engine(), ServerSettings::default(), Duration::from_secs(5));
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let messages = json!([{"role": "user", "content": "Respiratory rate 24, systolic blood pressure 95, patient is confused. Calculate the qSOFA score."}]);
        let extra = json!({"messages": messages, "tools": [qsofa_client_tool(), weather_tool()], "tool_choice": "required"});
        let (status, v) = post_json(&url, &real_body(extra.clone())).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls", "{v}");
        let call = &v["choices"][0]["message"]["tool_calls"][0];
        let name = call["function"]["name"].as_str().unwrap();
        assert!(name == "qsofa" || name == "get_weather", "{call}");
        let args: Value = serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        if name == "qsofa" {
            let rr = args["respiratory_rate"].as_f64().unwrap();
            assert!((0.0..=80.0).contains(&rr), "{args}");
            assert!(args["systolic_bp_mmhg"].as_f64().is_some(), "{args}");
            assert!(args["altered_mentation"].is_boolean(), "{args}");
            assert_eq!(args.as_object().unwrap().len(), 3, "{args}");
        } else {
            assert!(args["city"].is_string(), "{args}");
        }
        assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 5);
        // The same seed streamed gives the same arguments.
        let mut sb = real_body(extra);
        sb["stream"] = json!(true);
        let (_, _, items) = post_stream(&url, &sb).await;
        let calls = stream_calls(&items);
        let json_calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), json_calls.len(), "{items:?}");
        for (s, j) in calls.iter().zip(json_calls) {
            assert_eq!(s.1, j["function"]["name"].as_str().unwrap());
            assert_eq!(s.2, j["function"]["arguments"].as_str().unwrap());
        }
        assert!(last_chunk(&items)["medserve"]["ttft_ms"].as_u64().is_some());

        // A named choice pins the function.
        let extra = json!({"messages": messages, "tools": [qsofa_client_tool(), weather_tool()],
                           "tool_choice": {"type": "function", "function": {"name": "qsofa"}}});
        let (_, v) = post_json(&url, &real_body(extra)).await;
        assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "qsofa", "{v}");
    });
}

#[test]
fn the_real_model_answers_after_the_server_runs_a_builtin_tool() {
    let s = TestServer::start(engine(), ServerSettings::default(), Duration::from_secs(5));
    runtime().block_on(async {
        let extra = json!({
            "messages": [{"role": "user", "content": "Respiratory rate 18, systolic blood pressure 130, alert. What is the qSOFA score?"}],
            "tool_choice": "required",
            "medserve": {"audience": "clinician", "retrieval": {"enabled": false}, "tools": ["qsofa"]},
        });
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &real_body(extra.clone())).await;
        assert_eq!(status, 200, "{v}");
        let runs = v["medserve"]["tool_runs"].as_array().unwrap();
        assert!(!runs.is_empty(), "{v}");
        assert_eq!(runs[0]["name"], "qsofa");
        // Whatever the model filled in, the tool computed the score from it.
        if runs[0]["ok"] == true {
            assert!(runs[0]["result"]["score"].as_u64().unwrap() <= 3, "{}", runs[0]);
        }
        let c = &v["choices"][0];
        assert!(c["message"]["tool_calls"].is_null(), "{v}");
        assert!(["stop", "length"].contains(&c["finish_reason"].as_str().unwrap()), "{v}");
        assert!(!c["message"]["content"].as_str().unwrap().contains("<tool_call>"), "{v}");
        // Streaming across the loop.
        let mut sb = real_body(extra);
        sb["stream"] = json!(true);
        let (_, _, items) = post_stream(&s.url("/v1/chat/completions"), &sb).await;
        let last = last_chunk(&items);
        assert_eq!(last["medserve"]["tool_runs"][0]["name"], "qsofa");
        assert_eq!(last["medserve"]["tool_runs"][0]["arguments"], runs[0]["arguments"]);
        assert_eq!(stream_text(&items), c["message"]["content"].as_str().unwrap());
    });
}

#[test]
fn the_real_model_writes_json_that_matches_the_schema() {
    let s = TestServer::start(engine(), ServerSettings::default(), Duration::from_secs(5));
    runtime().block_on(async {
        let schema = json!({"type": "object", "properties": {
            "urgency": {"type": "string", "enum": ["emergency", "urgent", "routine"]},
            "reason": {"type": "string", "maxLength": 120}},
            "required": ["urgency", "reason"], "additionalProperties": false});
        let extra = json!({
            "messages": [{"role": "user", "content": "Classify the urgency: a mild sore throat for two days, no fever."}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "triage", "schema": schema, "strict": true}},
            "max_tokens": 80,
        });
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &real_body(extra)).await;
        assert_eq!(status, 200, "{v}");
        let c = &v["choices"][0];
        assert_eq!(c["finish_reason"], "stop", "{v}");
        let out: Value = serde_json::from_str(c["message"]["content"].as_str().unwrap()).unwrap();
        assert!(["emergency", "urgent", "routine"].contains(&out["urgency"].as_str().unwrap()), "{out}");
        assert!(out["reason"].as_str().unwrap().chars().count() <= 120, "{out}");
        assert_eq!(out.as_object().unwrap().len(), 2);
    });
}

#[test]
fn guideline_search_runs_over_the_real_index_directly_and_in_the_loop() {
    let call = "<tool_call>\n{\"name\": \"guideline_search\", \"arguments\": {\"query\": \"qSOFA criteria for sepsis\", \"top_k\": 2}}\n</tool_call>";
    let (engine, s) = fake_server(&[&[call], &["See the sepsis guidance."]]);
    s.state.set_retriever(corpus_retriever());
    runtime().block_on(async {
        let listed: Value = client().get(s.url("/v1/tools")).send().await.unwrap().json().await.unwrap();
        assert!(listed["data"].as_array().unwrap().iter().any(|t| t["function"]["name"] == "guideline_search"));
        let (status, v) = post_json(&s.url("/v1/tools/guideline_search"), &json!({"query": "qSOFA criteria for sepsis", "top_k": 3})).await;
        assert_eq!(status, 200, "{v}");
        let passages = v["result"]["passages"].as_array().unwrap();
        assert_eq!(passages.len(), 3);
        assert!(passages[0]["url"].as_str().unwrap().starts_with("corpus://"), "{v}");
        assert!(passages.iter().any(|p| p["text"].as_str().unwrap().to_lowercase().contains("qsofa")), "{v}");
        let (status, v) = post_json(&s.url("/v1/tools/guideline_search"), &json!({"query": "x", "top_k": 50})).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["param"], "top_k");

        let body = json!({"model": "fake", "messages": [{"role": "user", "content": "What is qSOFA?"}],
            "medserve": {"audience": "clinician", "tools": ["guideline_search"], "retrieval": {"enabled": false}}});
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
        assert_eq!(status, 200, "{v}");
        let run = &v["medserve"]["tool_runs"][0];
        assert_eq!(run["name"], "guideline_search");
        assert_eq!(run["result"]["passages"].as_array().unwrap().len(), 2);
        let tool = engine.prompts()[1].iter().find(|m| m.role == Role::Tool).unwrap().content.clone();
        assert!(tool.starts_with("<tool_response name=\"guideline_search\">"), "{tool}");
        assert!(tool.to_lowercase().contains("qsofa"), "{tool}");
    });
    // Without an index the tool does not exist.
    let (_e, s) = fake_server(&[&["x"]]);
    runtime().block_on(async {
        let body = json!({"model": "fake", "messages": [{"role": "user", "content": "hi"}],
            "medserve": {"tools": ["guideline_search"]}});
        let (status, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["param"], "medserve.tools[0]");
    });
}

#[test]
fn client_calls_are_checked_by_the_output_policy_and_mixed_turns_keep_only_client_calls() {
    let send = json!({"type": "function", "function": {"name": "send_message",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}});
    let dosing = "<tool_call>\n{\"name\": \"send_message\", \"arguments\": {\"text\": \"Take 800 mg of ibuprofen every 4 hours.\"}}\n</tool_call>";
    let (_e, s) = fake_server(&[&[dosing]]);
    runtime().block_on(async {
        // Patient audience (the default): a dosing instruction may not reach the patient.
        let body = json!({"model": "fake", "messages": [{"role": "user", "content": "pain?"}], "tools": [send]});
        let (_, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
        assert!(v["choices"][0]["message"]["tool_calls"].is_null(), "{v}");
        assert_eq!(v["choices"][0]["finish_reason"], "stop");
        let g = v["medserve"]["guardrails"].as_array().unwrap();
        assert!(g.iter().any(|g| g["class"] == "dosing_instruction" && g["action"] == "drop"), "{g:?}");
        // A clinician may receive it.
        let mut b = body.clone();
        b["medserve"] = json!({"audience": "clinician"});
        let (_, v) = post_json(&s.url("/v1/chat/completions"), &b).await;
        assert_eq!(v["choices"][0]["message"]["tool_calls"][0]["function"]["name"], "send_message", "{v}");
    });
    let mixed = format!(
        "{}\n{}",
        news2_call(json!({"respiratory_rate": 16})),
        WEATHER_CALL.concat()
    );
    let (_e, s) = fake_server(&[&[&mixed]]);
    runtime().block_on(async {
        let body = ask(false, "both", json!({"tools": [weather_tool()], "medserve": {"audience": "clinician", "tools": ["news2"]}}));
        let (_, v) = post_json(&s.url("/v1/chat/completions"), &body).await;
        let calls = v["choices"][0]["message"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{v}");
        assert_eq!(calls[0]["function"]["name"], "get_weather");
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        assert!(v["medserve"]["tool_runs"].as_array().unwrap().is_empty());
    });
}

#[test]
fn metrics_count_requests_tokens_verdicts_escalations_and_tool_calls() {
    let (_e, s) = fake_server(&[WEATHER_CALL]);
    runtime().block_on(async {
        let url = s.url("/v1/chat/completions");
        let (_, v) = post_json(&url, &ask(false, "Weather?", json!({"tools": [weather_tool()], "tool_choice": "required"}))).await;
        assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
        let (_, v) = post_json(&url, &ask(false, "I have crushing chest pain spreading to my left arm", json!({}))).await;
        assert!(v["medserve"]["red_flag"].is_object(), "{v}");
        let (status, _) = post_json(&url, &ask(false, "hi", json!({"temperature": 9}))).await;
        assert_eq!(status, 400);
        let r = client().get(s.url("/metrics")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = r.text().await.unwrap();
        for needle in [
            "medserve_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2",
            "medserve_http_requests_total{route=\"/v1/chat/completions\",status=\"400\"} 1",
            "medserve_tool_calls_total{ran=\"client\",tool=\"client_defined\"} 1",
            "medserve_red_flag_escalations_total{category=\"cardiac\"} 1",
            "medserve_time_to_first_token_seconds_count 1",
            "medserve_inter_token_latency_seconds_count 3",
            "medserve_tokens_total{kind=\"completion\"} 4",
        ] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
        assert!(text.contains("medserve_guardrail_verdicts_total{action=\"emergency\",class=\"cardiac\",stage=\"input\"} 1"), "{text}");
        // No request content in the metrics.
        assert!(!text.contains("chest pain") && !text.contains("Leeds"));
    });
}
