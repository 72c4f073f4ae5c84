//! Two replicas on one PostgreSQL database (a throwaway cluster), end to end over HTTP:
//! keys created or revoked anywhere are honoured everywhere on the next request; a claim
//! on one replica and a change on the other resolve by version (one wins, the other gets
//! 409); reports and training records written through both appear once; per-key limits
//! hold across replicas as per-replica shares; and a database restart while serving gives
//! clean 503s with `Retry-After`, emergency answers still go out, and the replicas recover
//! without a restart.

use std::sync::Arc;
use std::time::Duration;

use medserve_server::auth::{generate_key, AuthMode, LimitDefaults};
use medserve_server::store::postgres::PgStore;
use medserve_server::store::{Actor, KeyRole, KeySettings, Store};
use medserve_server::ServerSettings;
use medserve_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

const CHEST: &str = "I have crushing chest pain spreading to my left arm and I feel sweaty.";

fn replica(url: &str, limits: LimitDefaults) -> TestServer {
    let store: Arc<dyn Store> = Arc::new(PgStore::open(url).unwrap());
    let s = TestServer::start_with_store(
        engine(),
        ServerSettings {
            auth: AuthMode::Keys,
            limits,
            ..real_settings()
        },
        Duration::from_secs(5),
        store,
    );
    s
}

fn limits(replicas: u32) -> LimitDefaults {
    LimitDefaults {
        rpm: 10_000,
        max_streams: 8,
        replicas,
    }
}

fn new_key(store: &dyn Store, role: KeyRole, settings: KeySettings) -> (String, String) {
    let (k, token) = generate_key(role, role.as_str(), settings);
    store.insert_key(&k, &Actor::cli()).unwrap();
    (k.id, token)
}

fn chat(content: &str, medserve: Value) -> Value {
    json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 8,
        "temperature": 0,
        "medserve": medserve,
    })
}

#[test]
fn two_replicas_share_keys_reports_training_and_versions() {
    let pg = Postgres::start();
    let url = pg.database("replicas");
    let (a, b) = (replica(&url, limits(2)), replica(&url, limits(2)));
    let (_, n1) = new_key(
        a.state.store().as_ref(),
        KeyRole::Nurse,
        KeySettings::default(),
    );
    let (_, n2) = new_key(
        b.state.store().as_ref(),
        KeyRole::Nurse,
        KeySettings::default(),
    );
    let (_, ml) = new_key(
        a.state.store().as_ref(),
        KeyRole::Ml,
        KeySettings::default(),
    );
    let store_a = a.state.store().clone();
    runtime().block_on(async {
        // A key created with the command line on the shared database works on both.
        let out = std::process::Command::new(medserve_bin())
            .args([
                "keys",
                "create",
                "--role",
                "patient_app",
                "--name",
                "app",
                "--db",
                &url,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let app = String::from_utf8_lossy(&out.stdout).trim().to_string();
        for s in [&a, &b] {
            let (status, _, v) = call(Method::GET, &s.url("/v1/models"), Some(&app), None).await;
            assert_eq!(status, 200, "{v}");
        }

        // Reports and consented exchanges through both replicas.
        let mut ids = Vec::new();
        for (i, s) in [&a, &b].into_iter().enumerate() {
            let session = format!("sess-r{i}");
            let (status, _, v) = call(
                Method::POST,
                &s.url("/v1/chat/completions"),
                Some(&app),
                Some(&chat(
                    CHEST,
                    json!({"triage": true, "session_id": session, "consent": true}),
                )),
            )
            .await;
            assert_eq!(status, 200, "{v}");
            ids.push(emergency_report_id(&s.url(""), &n1, &v, &session).await);
            let (status, _, v) = call(
                Method::POST,
                &s.url("/v1/chat/completions"),
                Some(&app),
                Some(&chat(
                    "What helps a mild sore throat?",
                    json!({"consent": true}),
                )),
            )
            .await;
            assert_eq!(status, 200, "{v}");
            assert_eq!(v["medserve"]["training"]["recorded"], true, "{v}");
        }
        for s in [&a, &b] {
            let (_, _, q) = call(
                Method::GET,
                &s.url("/v1/assessments?urgency=emergency"),
                Some(&n2),
                None,
            )
            .await;
            let listed: Vec<&str> = q["data"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["id"].as_str())
                .collect();
            for id in &ids {
                assert_eq!(
                    listed.iter().filter(|x| *x == id).count(),
                    1,
                    "{id} once in {q}"
                );
            }
        }
        let (status, _, export) = call(
            Method::GET,
            &b.url("/v1/training/export?format=chat-jsonl&min_quality=0"),
            Some(&ml),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let text = export
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| export.to_string());
        assert_eq!(
            text.matches("\"content\":\"What helps a mild sore throat?\"")
                .count(),
            2,
            "one record per exchange: {text}"
        );

        // A claim on A; then two changes at the same version, one on each replica: one
        // wins, the other is told the version moved (409).
        let id = &ids[0];
        let (status, _, v) = call(
            Method::POST,
            &a.url(&format!("/v1/assessments/{id}/claim")),
            Some(&n1),
            Some(&json!({"expected_version": 1})),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let version = v["version"].as_i64().unwrap();
        let over =
            json!({"urgency": "urgent", "note": "reviewed by phone", "expected_version": version});
        let acc = json!({"expected_version": version});
        let (url_a, url_b) = (
            a.url(&format!("/v1/assessments/{id}/override")),
            b.url(&format!("/v1/assessments/{id}/accept")),
        );
        let (ra, rb) = tokio::join!(
            call(Method::POST, &url_a, Some(&n1), Some(&over)),
            call(Method::POST, &url_b, Some(&n1), Some(&acc)),
        );
        let mut statuses = [ra.0, rb.0];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", ra.2, rb.2);
        // Another nurse on B cannot take A's claim.
        let (status, _, v) = call(
            Method::POST,
            &b.url(&format!("/v1/assessments/{}/claim", ids[1])),
            Some(&n1),
            None,
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let (status, _, _) = call(
            Method::POST,
            &a.url(&format!("/v1/assessments/{}/claim", ids[1])),
            Some(&n2),
            None,
        )
        .await;
        assert_eq!(status, 409);
        let (_, _, revs) = call(
            Method::GET,
            &b.url(&format!("/v1/assessments/{id}/revisions")),
            Some(&n2),
            None,
        )
        .await;
        let versions: Vec<i64> = revs["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["version"].as_i64().unwrap())
            .collect();
        assert_eq!(
            versions,
            (1..=versions.len() as i64).collect::<Vec<_>>(),
            "{revs}"
        );

        // Revoked on A: refused by B on the next request.
        let key_id = app.split('_').nth(1).unwrap().to_string();
        let revoked =
            tokio::task::spawn_blocking(move || store_a.revoke_key(&key_id, &Actor::cli()))
                .await
                .unwrap();
        assert!(revoked.unwrap());
        let (status, _, v) = call(Method::GET, &b.url("/v1/models"), Some(&app), None).await;
        assert_eq!(status, 401, "{v}");
    });
}

#[test]
fn per_key_limits_hold_across_replicas_as_shares() {
    let pg = Postgres::start();
    let url = pg.database("limits");
    let (a, b) = (replica(&url, limits(2)), replica(&url, limits(2)));
    let (_, token) = new_key(
        a.state.store().as_ref(),
        KeyRole::PatientApp,
        KeySettings {
            rpm: Some(10),
            max_streams: Some(2),
            ..Default::default()
        },
    );
    let key2 = new_key(
        a.state.store().as_ref(),
        KeyRole::PatientApp,
        KeySettings {
            max_streams: Some(2),
            ..Default::default()
        },
    )
    .1;
    runtime().block_on(async {
        // Spread evenly (a round-robin balancer): the pair admits the key's 10 a minute.
        let mut admitted = 0;
        for i in 0..30 {
            let s = if i % 2 == 0 { &a } else { &b };
            let (status, headers, _) = call(Method::GET, &s.url("/v1/models"), Some(&token), None).await;
            match status {
                200 => admitted += 1,
                429 => assert!(headers.contains_key("retry-after")),
                other => panic!("{other}"),
            }
        }
        assert_eq!(admitted, 10, "10 per minute across two replicas");
        // Concurrency: 2 streams per key, one per replica.
        let long = json!({"model": "smollm2", "messages": [{"role": "user", "content": "Tell me about sleep hygiene."}], "max_tokens": 200, "temperature": 0, "stream": true});
        let first = tokio::spawn({
            let url = a.url("/v1/chat/completions");
            let key2 = key2.clone();
            let long = long.clone();
            async move { call(Method::POST, &url, Some(&key2), Some(&long)).await.0 }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (second_a, _, _) = call(Method::POST, &a.url("/v1/chat/completions"), Some(&key2), Some(&long)).await;
        assert_eq!(second_a, 429, "a replica's share of 2 streams is 1");
        let (on_b, _, _) = call(Method::POST, &b.url("/v1/chat/completions"), Some(&key2), Some(&chat("hi", json!({})))).await;
        assert_eq!(on_b, 200, "the other replica's share is free");
        assert_eq!(first.await.unwrap(), 200);
    });
}

#[test]
fn a_database_restart_while_serving_fails_cleanly_and_recovers() {
    let pg = Postgres::start();
    let url = pg.database("restart");
    let a = replica(&url, limits(1));
    let (_, app) = new_key(
        a.state.store().as_ref(),
        KeyRole::PatientApp,
        KeySettings::default(),
    );
    let (_, nurse) = new_key(
        a.state.store().as_ref(),
        KeyRole::Nurse,
        KeySettings::default(),
    );
    runtime().block_on(async {
        for k in [&app, &nurse] {
            let (status, _, _) = call(Method::GET, &a.url("/v1/models"), Some(k), None).await;
            assert_eq!(status, 200);
        }
        pg.stop();
        // The queue needs the database: 503 with Retry-After, in bounded time.
        let t = std::time::Instant::now();
        let (status, headers, v) = call(Method::GET, &a.url("/v1/assessments"), Some(&nurse), None).await;
        assert_eq!(status, 503, "{v}");
        assert!(headers.contains_key("retry-after"));
        assert!(v["error"]["message"].as_str().unwrap().contains("database"), "{v}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        // An emergency still gets its answer (the key was verified before the outage).
        let (status, _, v) = call(Method::POST, &a.url("/v1/chat/completions"), Some(&app), Some(&chat(CHEST, json!({"triage": true, "session_id": "down-1"})))).await;
        assert_eq!(status, 200, "{v}");
        assert!(!v["medserve"]["red_flag"].is_null(), "{v}");
        // A key never seen by this replica cannot be checked: 503, not 401.
        let (status, _, _) = call(Method::GET, &a.url("/v1/models"), Some("msk_kffffffffffff_0000000000000000000000000000000000000000000000000000000000000000"), None).await;
        assert_eq!(status, 503);
        pg.start_again();
        let mut back = false;
        for _ in 0..40 {
            let (status, _, _) = call(Method::GET, &a.url("/v1/assessments"), Some(&nurse), None).await;
            if status == 200 {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(back, "the replica recovered without a restart");
    });
}
