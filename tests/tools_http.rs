//! The built-in medical tools over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use medserve_models::FakeEngine;
use medserve_server::ServerSettings;
use medserve_tests::*;
use serde_json::{json, Value};

fn server() -> TestServer {
    // Tool endpoints do not touch the model.
    TestServer::start(
        Arc::new(FakeEngine::new(&["x"], Duration::ZERO, 100)),
        ServerSettings::default(),
        Duration::from_secs(1),
    )
}

#[test]
fn catalogue_lists_openai_tool_definitions() {
    let s = server();
    runtime().block_on(async {
        let v: Value = client()
            .get(s.url("/v1/tools"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names: Vec<&str> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["function"]["name"].as_str().unwrap())
            .collect();
        for expected in [
            "news2",
            "qsofa",
            "egfr_ckd_epi_2021",
            "phq9",
            "drug_interactions",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        for t in v["data"].as_array().unwrap() {
            assert_eq!(t["type"], "function");
            assert_eq!(t["function"]["parameters"]["type"], "object");
        }
    });
}

#[test]
fn running_a_tool_directly() {
    let s = server();
    runtime().block_on(async {
        // CKD-EPI 2021 worked example: male, 60 y, creatinine 1.0 mg/dL -> 86.2.
        let (status, v) = post_json(
            &s.url("/v1/tools/egfr_ckd_epi_2021"),
            &json!({"age_years": 60, "sex": "male", "creatinine": 1.0, "creatinine_unit": "mg/dL"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["result"]["egfr_ml_min_1_73m2"], json!(86.2), "{v}");
        assert_eq!(v["result"]["kdigo_stage"], "G2", "{v}");
        // Unknown tool: 404; bad arguments: 400 naming the field.
        let (status, v) = post_json(&s.url("/v1/tools/astrology"), &json!({})).await;
        assert_eq!(status, 404, "{v}");
        let (status, v) = post_json(
            &s.url("/v1/tools/qsofa"),
            &json!({"respiratory_rate": "fast"}),
        )
        .await;
        assert_eq!(status, 400, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("respiratory_rate"),
            "{v}"
        );
        let (status, v) = post_json(&s.url("/v1/tools/qsofa"), &json!([1, 2])).await;
        assert_eq!(status, 400, "{v}");
    });
}
