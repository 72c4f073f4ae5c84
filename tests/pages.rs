//! The web pages in a real headless Chromium (Debian's `chromium`, driven by
//! playwright-core: `tests/browser/pages.mjs`) against real servers: one with the real
//! model, guard and index, one with a scripted engine whose answer is markup. `make setup`
//! installs the browser; `MEDSERVE_SCREENSHOTS=DIR` saves each page at desktop and phone
//! width (the README's pictures).

use std::process::Command;
use std::time::Duration;

use medserve_models::FakeEngine;
use medserve_server::auth::{generate_key, AuthMode};
use medserve_server::store::{Actor, KeyRole, KeySettings};
use medserve_server::ServerSettings;
use medserve_tests::*;
use reqwest::Method;
use serde_json::json;

fn keyed(engine: std::sync::Arc<dyn medserve_models::Engine>) -> TestServer {
    TestServer::start(
        engine,
        ServerSettings {
            auth: AuthMode::Keys,
            ..real_settings()
        },
        Duration::from_secs(5),
    )
}

fn key(s: &TestServer, role: KeyRole, settings: KeySettings) -> (String, String) {
    let (k, token) = generate_key(role, &format!("pages {}", role.as_str()), settings);
    s.state.store().insert_key(&k, &Actor::cli()).unwrap();
    (k.id, token)
}

#[test]
fn the_pages_work_in_a_real_browser() {
    let browser_dir = repo_root().join("tests/browser");
    assert!(
        browser_dir.join("node_modules/playwright-core").exists()
            && std::path::Path::new("/usr/bin/chromium").exists(),
        "Chromium and playwright-core are needed: run `make setup` (scripts/install-browser.sh)"
    );
    let real = keyed(engine());
    real.state.set_retriever(corpus_retriever());
    let (_, patient) = key(&real, KeyRole::PatientApp, KeySettings::default());
    let (nurse1_id, nurse1) = key(&real, KeyRole::Nurse, KeySettings::default());
    let (_, nurse2) = key(&real, KeyRole::Nurse, KeySettings::default());
    let (_, admin) = key(&real, KeyRole::Admin, KeySettings::default());

    let markup = FakeEngine::new(
        &[
            "<script>window.__xss='model'</script> ",
            "<img src=x onerror=\"window.__xss='model2'\"> ",
            "That is all.",
        ],
        Duration::from_millis(5),
        4096,
    );
    let scripted = keyed(std::sync::Arc::new(markup));
    let (_, scripted_patient) = key(&scripted, KeyRole::PatientApp, KeySettings::default());
    let (_, scripted_nurse) = key(&scripted, KeyRole::Nurse, KeySettings::default());
    let (_, scripted_limited) = key(
        &scripted,
        KeyRole::PatientApp,
        KeySettings {
            rpm: Some(2),
            ..Default::default()
        },
    );

    // An open emergency report for the 409 check.
    let emergency_report = runtime().block_on(async {
        let (_, _, models) = call(Method::GET, &real.url("/v1/models"), Some(&patient), None).await;
        let model = models["data"][0]["id"].as_str().unwrap().to_string();
        let body = json!({"model": model, "messages": [{"role": "user", "content":
            "My father collapsed and is not breathing."}],
            "medserve": {"triage": true, "session_id": "pages-emergency"}});
        let (status, _, v) = call(
            Method::POST,
            &real.url("/v1/chat/completions"),
            Some(&patient),
            Some(&body),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        emergency_report_id(&real.url(""), &nurse1, &v, "pages-emergency").await
    });

    let cfg = json!({
        "real": real.url(""),
        "scripted": scripted.url(""),
        "emergency_number": "911",
        "emergency_report": emergency_report,
        "keys": {
            "patient": patient, "nurse1": nurse1, "nurse1_id": nurse1_id, "nurse2": nurse2,
            "admin": admin, "scripted_patient": scripted_patient,
            "scripted_nurse": scripted_nurse, "scripted_limited": scripted_limited,
        },
    });
    let out = Command::new("node")
        .arg(browser_dir.join("pages.mjs"))
        .env("MEDSERVE_PAGES", cfg.to_string())
        .current_dir(&browser_dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all page checks passed"), "{stdout}");
}
