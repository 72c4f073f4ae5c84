//! Verbatim-grounded answers and sentence-level citations, on the real model, the real
//! guideline index and real HTTP.

use medserve_rag::Mode;
use medserve_server::grounding::{self, NO_VETTED_INFORMATION};
use medserve_server::retrieval;
use medserve_tests::*;
use serde_json::{json, Value};

fn ask(question: &str, medserve: Value) -> Value {
    json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": question}],
        "temperature": 0,
        "max_tokens": 200,
        "medserve": medserve,
    })
}

/// The passages the server retrieves for `question` (the same search, run here).
fn passages(s: &TestServer, question: &str) -> Vec<String> {
    let r = s
        .state
        .retriever()
        .expect("the shared server has the corpus index");
    retrieval::retrieve(r, question, retrieval::DEFAULT_TOP_K, Mode::Hybrid)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.text)
        .collect()
}

#[test]
fn verbatim_answers_are_whole_cited_sentences_of_the_vetted_passages() {
    let s = TestServer::shared();
    let url = s.url("/v1/chat/completions");
    let q = "What is a normal blood pressure for adults?";
    let texts = passages(s, q);
    runtime().block_on(async {
        let (status, v) = post_json(&url, &ask(q, json!({"grounding": "verbatim"}))).await;
        assert_eq!(status, 200, "{v}");
        let content = v["choices"][0]["message"]["content"].as_str().unwrap();
        let report = &v["medserve"]["grounding_report"];
        assert_eq!(report["mode"], "verbatim", "{v}");
        assert_eq!(report["no_vetted_information"], false);
        // Every sentence but the server's disclaimer is copied whole from a passage.
        let body = content
            .strip_suffix(medserve_guardrails::policy::DISCLAIMER)
            .unwrap_or(content)
            .trim_end();
        let sentences = grounding::sentences(body);
        assert!(!sentences.is_empty(), "{content}");
        for (a, b) in &sentences {
            let sentence = &body[*a..*b];
            assert!(
                texts.iter().any(|t| t.contains(sentence)),
                "not a passage sentence: {sentence:?}"
            );
        }
        // Each is cited, to its exact character range, with the document's review date.
        assert_eq!(report["supported"], sentences.len(), "{report}");
        assert_eq!(report["unsupported"], json!([]));
        let ann = v["choices"][0]["message"]["annotations"]
            .as_array()
            .unwrap();
        assert_eq!(ann.len(), sentences.len());
        let chars: Vec<char> = content.chars().collect();
        for (a, (s0, s1)) in ann.iter().zip(&sentences) {
            let c = &a["url_citation"];
            let cited: String = chars[c["start_index"].as_u64().unwrap() as usize
                ..c["end_index"].as_u64().unwrap() as usize]
                .iter()
                .collect();
            assert_eq!(cited, body[*s0..*s1]);
            assert!(
                c["title"].as_str().unwrap().contains("(last reviewed 20"),
                "{c}"
            );
        }

        // Streamed: the same text and citations.
        let mut body_req = ask(q, json!({"grounding": "verbatim"}));
        body_req["stream"] = json!(true);
        let (_, _, items) = post_stream(&url, &body_req).await;
        assert_eq!(stream_text(&items), content);
    });
}

#[test]
fn verbatim_mode_without_a_relevant_passage_says_it_has_no_vetted_information() {
    let s = TestServer::shared();
    runtime().block_on(async {
        let (status, v) = post_json(
            &s.url("/v1/chat/completions"),
            &ask(
                "What is the capital of France?",
                json!({"grounding": "verbatim", "consent": true}),
            ),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["choices"][0]["message"]["content"], NO_VETTED_INFORMATION);
        assert_eq!(
            v["medserve"]["grounding_report"]["no_vetted_information"],
            true
        );
        assert_eq!(v["usage"]["completion_tokens"], 0, "no model ran: {v}");
        assert!(v["medserve"]["guardrails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["class"] == "no_vetted_information"));
        // The consented exchange's training record carries the verdict.
        let id = v["medserve"]["training"]["id"]
            .as_str()
            .expect("recorded")
            .to_string();
        let records = s.state.store().training_records().unwrap();
        let rec = records
            .iter()
            .find(|r| r.id == id)
            .expect("the record is stored");
        assert!(
            rec.record.to_string().contains("no_vetted_information"),
            "{}",
            rec.record
        );
        let (_, _, m) = call(reqwest::Method::GET, &s.url("/metrics"), None, None).await;
        let m = m.as_str().unwrap().to_string();
        let n: u64 = m
            .lines()
            .find_map(|l| l.strip_prefix("medserve_no_vetted_information_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(n >= 1, "{m}");
    });
}

#[test]
fn grounding_options_are_validated() {
    let s = TestServer::shared();
    let url = s.url("/v1/chat/completions");
    runtime().block_on(async {
        for (medserve, why) in [
            (json!({"grounding": "quoted"}), "unknown mode"),
            (
                json!({"grounding": "verbatim", "retrieval": {"enabled": false}}),
                "verbatim without retrieval",
            ),
        ] {
            let (status, v) =
                post_json(&url, &ask("What is a normal blood pressure?", medserve)).await;
            assert_eq!(status, 400, "{why}: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("grounding"),
                "{why}: {v}"
            );
        }
    });
}
