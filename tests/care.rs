//! Care workflow over real HTTP, the real model and a real SQLite store: keys and roles,
//! rate limits, triage reports in the nurse queue, versioned overrides, the training and
//! eval exports, the audit log, and the `keys`/`training` command line.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use medserve_server::auth::{allowed, generate_key, Action, AuthMode, LimitDefaults};
use medserve_server::store::{Actor, KeyRole, KeySettings, Store};
use medserve_server::ServerSettings;
use medserve_tests::*;
use reqwest::Method;
use serde_json::{json, Value};

const CHEST: &str = "I have crushing chest pain spreading to my left arm and I feel sweaty.";

fn keyed(limits: LimitDefaults) -> TestServer {
    let s = TestServer::start(
        engine(),
        ServerSettings {
            auth: AuthMode::Keys,
            limits,
            ..ServerSettings::default()
        },
        Duration::from_secs(10),
    );
    s
}

fn key(s: &TestServer, role: KeyRole, settings: KeySettings) -> (String, String) {
    let (k, token) = generate_key(role, &format!("test {}", role.as_str()), settings);
    s.state.store().insert_key(&k, &Actor::cli()).unwrap();
    (k.id, token)
}

fn chat(content: &str, extra: Value) -> Value {
    let mut b = json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": content}],
        "max_tokens": 24,
        "temperature": 0,
    });
    if let Some(m) = extra.as_object() {
        for (k, v) in m {
            b[k] = v.clone();
        }
    }
    b
}

/// (method, path, body, action) for one route of each action.
fn routes() -> Vec<(Method, &'static str, Option<Value>, Action)> {
    vec![
        (Method::GET, "/v1/models", None, Action::Catalogue),
        (Method::GET, "/v1/tools", None, Action::Catalogue),
        (
            Method::POST,
            "/v1/chat/completions",
            Some(chat(CHEST, json!({}))),
            Action::Chat,
        ),
        (
            Method::POST,
            "/v1/embeddings",
            Some(json!({"model": "x", "input": "cough"})),
            Action::Embeddings,
        ),
        (
            Method::POST,
            "/v1/tools/qsofa",
            Some(json!({})),
            Action::RunTool,
        ),
        (Method::GET, "/metrics", None, Action::Metrics),
        (Method::GET, "/v1/assessments", None, Action::Assessments),
        (
            Method::POST,
            "/v1/assessments/par_none/claim",
            None,
            Action::Assessments,
        ),
        (Method::GET, "/v1/audit", None, Action::Audit),
        (Method::GET, "/v1/admin/keys", None, Action::ManageKeys),
        (
            Method::POST,
            "/v1/moderations",
            Some(json!({"input": "cough"})),
            Action::Chat,
        ),
        (
            Method::POST,
            "/tokenize",
            Some(json!({"prompt": "cough"})),
            Action::Chat,
        ),
        (
            Method::GET,
            "/v1/training/export",
            None,
            Action::TrainingExport,
        ),
    ]
}

#[test]
fn the_role_matrix_over_http_allows_nothing_extra() {
    let s = keyed(LimitDefaults {
        rpm: 10_000,
        max_streams: 8,
        replicas: 1,
    });
    let keys: Vec<(KeyRole, String, String)> = KeyRole::ALL
        .iter()
        .map(|r| {
            let (id, t) = key(&s, *r, KeySettings::default());
            (*r, id, t)
        })
        .collect();
    runtime().block_on(async {
        for (role, _, token) in &keys {
            for (m, path, body, action) in routes() {
                let (status, _, v) =
                    call(m.clone(), &s.url(path), Some(token), body.as_ref()).await;
                if allowed(*role, action) {
                    assert!(
                        status != 403 && status != 401,
                        "{role:?} {m} {path}: {status} {v}"
                    );
                } else {
                    assert_eq!(status, 403, "{role:?} {m} {path}: {v}");
                    assert_eq!(v["error"]["type"], "permission_error");
                    assert_eq!(v["error"]["code"], "insufficient_role");
                }
            }
        }
        // Without a key, with a wrong one, with a revoked one.
        for (m, path, body, _) in routes() {
            let (status, _, v) = call(m.clone(), &s.url(path), None, body.as_ref()).await;
            assert_eq!(
                (status, v["error"]["code"].as_str()),
                (401, Some("missing_api_key")),
                "{path}"
            );
        }
        let (_, _, nurse) = &keys[1];
        let forged = format!("{}0", &nurse[..nurse.len() - 1]);
        let forged = if forged == *nurse {
            format!("{}1", &nurse[..nurse.len() - 1])
        } else {
            forged
        };
        let (status, _, v) = call(Method::GET, &s.url("/v1/models"), Some(&forged), None).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (401, Some("invalid_api_key"))
        );
        assert!(
            !v.to_string().contains(&nurse[20..]),
            "the key is never echoed"
        );
        let (status, _, _) = call(Method::GET, &s.url("/health"), None, None).await;
        assert_eq!(status, 200, "health is public");

        // A patient app may not ask for the clinician audience.
        let (_, _, patient) = &keys[0];
        let (status, _, v) = call(
            Method::POST,
            &s.url("/v1/chat/completions"),
            Some(patient),
            Some(&chat(
                "hello",
                json!({"medserve": {"audience": "clinician"}}),
            )),
        )
        .await;
        assert_eq!(
            (status, v["error"]["param"].as_str()),
            (403, Some("medserve.audience"))
        );

        // Denied attempts on assessments, audit and exports are audited.
        let (_, _, admin) = &keys[2];
        let (status, _, log) = call(
            Method::GET,
            &s.url("/v1/audit?limit=1000"),
            Some(admin),
            None,
        )
        .await;
        assert_eq!(status, 200);
        let denied: Vec<&Value> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["result"] == "denied")
            .collect();
        let expected_denials = keys
            .iter()
            .map(|(r, _, _)| {
                [
                    Action::Assessments,
                    Action::Assessments,
                    Action::Audit,
                    Action::ManageKeys,
                    Action::TrainingExport,
                ]
                .iter()
                .filter(|a| !allowed(*r, **a))
                .count()
            })
            .sum::<usize>();
        assert_eq!(denied.len(), expected_denials, "{denied:?}");
        assert!(denied
            .iter()
            .all(|e| e["actor"]["key_id"].as_str().unwrap().starts_with('k')));

        // Revocation takes effect on the next request.
        let (nurse_id, nurse_token) = (&keys[1].1, &keys[1].2);
        assert!(s.state.store().revoke_key(nurse_id, &Actor::cli()).unwrap());
        let (status, _, v) = call(Method::GET, &s.url("/v1/models"), Some(nurse_token), None).await;
        assert_eq!(status, 401);
        assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
    });
}

#[test]
fn rate_and_concurrency_limits_answer_429_with_retry_after() {
    let s = keyed(LimitDefaults::default());
    let (_, slow) = key(
        &s,
        KeyRole::Nurse,
        KeySettings {
            rpm: Some(3),
            ..Default::default()
        },
    );
    let (_, single) = key(
        &s,
        KeyRole::Nurse,
        KeySettings {
            max_streams: Some(1),
            ..Default::default()
        },
    );
    let (_, admin) = key(&s, KeyRole::Admin, KeySettings::default());
    runtime().block_on(async {
        for _ in 0..3 {
            let (status, _, _) = call(Method::GET, &s.url("/v1/models"), Some(&slow), None).await;
            assert_eq!(status, 200);
        }
        let (status, headers, v) = call(Method::GET, &s.url("/v1/models"), Some(&slow), None).await;
        assert_eq!(status, 429, "{v}");
        assert_eq!(v["error"]["code"], "rate_limit_exceeded");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            (1..=20).contains(&retry),
            "3/min refills one request every 20 s: {retry}"
        );

        // One generation at a time for `single`: a second is refused while the first
        // streams, and accepted once it is gone.
        let body = chat(
            "Write a long explanation of how to look after a cold at home.",
            json!({"stream": true, "max_tokens": 200}),
        );
        let first = client()
            .post(s.url("/v1/chat/completions"))
            .bearer_auth(&single)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), 200);
        let mut events = first.bytes_stream();
        let _ = events.next().await;
        let (status, headers, v) = call(
            Method::POST,
            &s.url("/v1/chat/completions"),
            Some(&single),
            Some(&chat("hello", json!({"max_tokens": 1}))),
        )
        .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (429, Some("concurrency_limit_exceeded"))
        );
        assert_eq!(headers["retry-after"], "1");
        drop(events);
        let t = Instant::now();
        loop {
            let (status, _, v) = call(
                Method::POST,
                &s.url("/v1/chat/completions"),
                Some(&single),
                Some(&chat("hello", json!({"max_tokens": 1}))),
            )
            .await;
            if status == 200 {
                break;
            }
            assert_eq!(status, 429, "{v}");
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "the slot was never freed"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        let (_, _, metrics) = call(Method::GET, &s.url("/metrics"), Some(&admin), None).await;
        let text = metrics.as_str().unwrap();
        for reason in ["rate_limit", "concurrency_limit"] {
            assert!(
                text.lines()
                    .any(|l| l
                        .starts_with(&format!("medserve_rejections_total{{reason=\"{reason}\"}}"))),
                "{reason} missing from /metrics"
            );
        }
    });
}

async fn wait_summary(s: &TestServer, nurse: &str, id: &str) -> Value {
    let t = Instant::now();
    loop {
        let (_, _, a) = call(
            Method::GET,
            &s.url(&format!("/v1/assessments/{id}")),
            Some(nurse),
            None,
        )
        .await;
        if a["report"]["summary_status"] != "pending" {
            return a;
        }
        assert!(
            t.elapsed() < Duration::from_secs(240),
            "summary never written"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[test]
fn triage_reports_reach_the_queue_and_nurse_labels_feed_the_exports() {
    let s = keyed(LimitDefaults {
        rpm: 10_000,
        max_streams: 8,
        replicas: 1,
    });
    let (_, patient) = key(&s, KeyRole::PatientApp, KeySettings::default());
    let (n1_id, n1) = key(&s, KeyRole::Nurse, KeySettings::default());
    let (_, n2) = key(&s, KeyRole::Nurse, KeySettings::default());
    let (_, ml) = key(&s, KeyRole::Ml, KeySettings::default());
    let (_, admin) = key(&s, KeyRole::Admin, KeySettings::default());
    let url = |p: &str| s.url(p);
    runtime().block_on(async {
        // A triage session needs its id.
        let (status, _, v) = call(
            Method::POST,
            &url("/v1/chat/completions"),
            Some(&patient),
            Some(&chat("hello", json!({"medserve": {"triage": true}}))),
        )
        .await;
        assert_eq!((status, v["error"]["param"].as_str()), (400, Some("medserve.session_id")));

        // A routine session: two turns with the real model, consented, then ended.
        let first_msg = "Hi, my name is Sarah Johnson. I have had a sore throat for 3 days and a mild cough.";
        let opts = |end: bool| json!({"triage": true, "session_id": "sess-routine-1", "consent": true, "end_session": end});
        let (status, _, t1) = call(
            Method::POST,
            &url("/v1/chat/completions"),
            Some(&patient),
            Some(&chat(first_msg, json!({"medserve": opts(false)}))),
        )
        .await;
        assert_eq!(status, 200, "{t1}");
        assert!(t1["medserve"]["assessment"].is_null(), "no report before the session ends");
        assert_eq!(t1["medserve"]["training"]["recorded"], true);
        let answer1 = t1["choices"][0]["message"]["content"].as_str().unwrap().to_string();
        let body2 = json!({
            "model": "smollm2", "max_tokens": 24, "temperature": 0,
            "messages": [
                {"role": "user", "content": first_msg},
                {"role": "assistant", "content": answer1},
                {"role": "user", "content": "Thanks, that is all for now."}
            ],
            "medserve": opts(true),
        });
        let (status, _, t2) = call(Method::POST, &url("/v1/chat/completions"), Some(&patient), Some(&body2)).await;
        assert_eq!(status, 200, "{t2}");
        let routine = t2["medserve"]["assessment"].clone();
        assert_eq!(routine["urgency"], "routine", "{t2}");
        assert_eq!(routine["disposition"], "primary_care");
        let routine_id = routine["id"].as_str().unwrap().to_string();

        // An emergency session without consent: reported at once, not logged.
        let (status, _, e) = call(
            Method::POST,
            &url("/v1/chat/completions"),
            Some(&patient),
            Some(&chat(CHEST, json!({"stream": false, "medserve": {"triage": true, "session_id": "sess-emerg-1"}}))),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(e["medserve"]["red_flag"]["action"], "emergency", "{e}");
        // Not logged without consent; the answer may go out before that is settled.
        let training = &e["medserve"]["training"];
        assert!(
            *training == json!({"recorded": false, "reason": "no_consent"})
                || training["reason"] == "pending",
            "{e}"
        );
        let emerg_id = emergency_report_id(&s.url(""), &n1, &e, "sess-emerg-1").await;

        // The queue: emergency first.
        let (status, _, q) = call(Method::GET, &url("/v1/assessments"), Some(&n1), None).await;
        assert_eq!(status, 200);
        let ids: Vec<&str> = q["data"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![emerg_id.as_str(), routine_id.as_str()]);
        let (_, _, q) = call(Method::GET, &url("/v1/assessments?urgency=emergency"), Some(&n1), None).await;
        assert_eq!(q["data"].as_array().unwrap().len(), 1);
        let (status, _, v) = call(Method::GET, &url("/v1/assessments?colour=red"), Some(&n1), None).await;
        assert_eq!((status, v["error"]["param"].as_str()), (400, Some("colour")));

        // The report: deterministic fields, de-identified, transcript by reference.
        let a = wait_summary(&s, &n1, &routine_id).await;
        let rep = &a["report"];
        assert!(!a.to_string().contains("Sarah") && !a.to_string().contains("Johnson"), "{a}");
        assert_eq!(
            rep["chief_complaint"], "I have had a sore throat for 3 days and a mild cough",
            "the first sentence that names a symptom"
        );
        let sore = rep["symptoms"].as_array().unwrap().iter().find(|x| x["name"] == "sore throat").cloned();
        assert_eq!(sore.unwrap()["duration"], "3 days");
        assert_eq!(rep["transcript"]["messages"], 3);
        assert_eq!(rep["red_flags"], json!([]));
        assert_eq!(rep["summary_status"], "done", "the model writes the summary: {rep}");
        assert!(!rep["summary"].as_str().unwrap().trim().is_empty());

        // Claim, a second nurse's conflicting claim and override, then the override.
        let claim_url = url(&format!("/v1/assessments/{routine_id}/claim"));
        let (status, _, c) = call(Method::POST, &claim_url, Some(&n1), None).await;
        assert_eq!((status, c["status"].as_str()), (200, Some("claimed")), "{c}");
        assert_eq!(c["claimed_by"], n1_id.as_str());
        let (status, _, v) = call(Method::POST, &claim_url, Some(&n2), None).await;
        assert_eq!((status, v["error"]["code"].as_str()), (409, Some("conflict")));
        let over_url = url(&format!("/v1/assessments/{routine_id}/override"));
        let over = json!({"urgency": "urgent", "disposition": "urgent_review",
                          "note": "Spoke to Sarah Johnson by phone: worse at night, drooling.",
                          "expected_version": c["version"]});
        let (status, _, _) = call(Method::POST, &over_url, Some(&n2), Some(&over)).await;
        assert_eq!(status, 409);
        let (status, _, v) = call(Method::POST, &over_url, Some(&n1), Some(&json!({"note": "x", "urgency": "urgent", "colour": 1}))).await;
        assert_eq!((status, v["error"]["param"].as_str()), (400, Some("colour")));
        let (status, _, o) = call(Method::POST, &over_url, Some(&n1), Some(&over)).await;
        assert_eq!(status, 200, "{o}");
        assert_eq!((o["status"].as_str(), o["urgency"].as_str(), o["outcome"].as_str()), (Some("closed"), Some("urgent"), Some("overridden")));
        assert!(!o["note"].as_str().unwrap().contains("Sarah"), "notes are stored de-identified");

        let (_, _, revs) = call(Method::GET, &url(&format!("/v1/assessments/{routine_id}/revisions")), Some(&n1), None).await;
        let revs = revs["data"].as_array().unwrap().clone();
        let actions: Vec<&str> = revs.iter().map(|r| r["action"].as_str().unwrap()).filter(|a| *a != "summary").collect();
        assert_eq!(actions, ["create", "claim", "override"]);
        let last = revs.last().unwrap();
        assert_eq!((last["before"]["urgency"].as_str(), last["after"]["urgency"].as_str()), (Some("routine"), Some("urgent")));
        assert_eq!(last["actor"]["key_id"], n1_id.as_str());
        let versions: Vec<i64> = revs.iter().map(|r| r["version"].as_i64().unwrap()).collect();
        assert_eq!(versions, (1..=revs.len() as i64).collect::<Vec<_>>());

        // The emergency is accepted as is.
        call(Method::POST, &url(&format!("/v1/assessments/{emerg_id}/claim")), Some(&n1), None).await;
        let (status, _, acc) = call(Method::POST, &url(&format!("/v1/assessments/{emerg_id}/accept")), Some(&n1), Some(&json!({}))).await;
        assert_eq!((status, acc["outcome"].as_str()), (200, Some("accepted")));

        // Exports: the consented model exchanges, and the nurse-labelled case.
        let (status, headers, chat_lines) = call(Method::GET, &url("/v1/training/export?format=chat-jsonl&min_quality=0"), Some(&ml), None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "application/x-ndjson");
        let text = chat_lines.as_str().map(str::to_string).unwrap_or_else(|| chat_lines.to_string());
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "two consented model turns: {text}");
        for l in &lines {
            let m = l["messages"].as_array().unwrap();
            assert_eq!(m.last().unwrap()["role"], "assistant");
            assert!(m.iter().all(|x| x.as_object().unwrap().len() == 2));
        }
        assert!(!text.contains("Sarah") && !text.contains("Johnson"), "{text}");
        let (_, _, eval) = call(Method::GET, &url("/v1/training/export?format=eval-jsonl&min_quality=0"), Some(&ml), None).await;
        let eval_text = eval.as_str().map(str::to_string).unwrap_or_else(|| eval.to_string());
        let eval_lines: Vec<Value> = eval_text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(eval_lines.len(), 1, "{eval}");
        assert_eq!(eval_lines[0]["assessment_id"], routine_id.as_str());
        assert_eq!(eval_lines[0]["predicted"]["urgency"], "routine");
        assert_eq!(eval_lines[0]["label"]["urgency"], "urgent");
        assert_eq!(eval_lines[0]["label"]["outcome"], "overridden");
        let (status, _, v) = call(Method::GET, &url("/v1/training/export?format=csv"), Some(&ml), None).await;
        assert_eq!((status, v["error"]["param"].as_str()), (400, Some("format")));

        // The audit log holds every read, change and export, with who.
        let (_, _, log) = call(Method::GET, &url("/v1/audit?limit=1000"), Some(&admin), None).await;
        let events = log["data"].as_array().unwrap();
        let has = |action: &str, result: &str| {
            events.iter().any(|e| e["action"] == action && e["result"] == result)
        };
        for (action, result) in [
            ("key.create", "ok"),
            ("assessment.list", "ok"),
            ("assessment.read", "ok"),
            ("assessment.revisions", "ok"),
            ("assessment.claim", "ok"),
            ("assessment.claim", "conflict"),
            ("assessment.override", "conflict"),
            ("assessment.override", "ok"),
            ("assessment.accept", "ok"),
            ("training.export", "ok"),
        ] {
            assert!(has(action, result), "{action} {result} not audited");
        }
        let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(!log.to_string().contains("Sarah"));
    });
}

#[test]
fn keys_and_training_export_from_the_command_line() {
    let db = temp_db_path();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(medserve_bin())
            .args(args)
            .arg("--db")
            .arg(&db)
            .output()
            .expect("medserve runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, token, err) = run(&[
        "keys",
        "create",
        "--role",
        "patient_app",
        "--name",
        "kiosk",
        "--consent",
    ]);
    assert!(ok, "{err}");
    let token = token.trim().to_string();
    assert!(token.starts_with("msk_"), "{token}");
    let (ok, list, _) = run(&["keys", "list"]);
    assert!(ok);
    let keys: Value = serde_json::from_str(&list).unwrap();
    let id = keys[0]["id"].as_str().unwrap().to_string();
    assert_eq!(keys[0]["role"], "patient_app");
    assert_eq!(keys[0]["settings"]["consent"], true);
    assert!(!list.contains(&token[18..]), "secrets are never listed");
    let (ok, _, err) = run(&["keys", "create", "--role", "doctor", "--name", "x"]);
    assert!(!ok && err.contains("--role"), "{err}");

    // A server on the same database: the key works, and its consent default logs the
    // exchange.
    let store: Arc<dyn Store> =
        Arc::new(medserve_server::store::sqlite::SqliteStore::open(&db).unwrap());
    let s = TestServer::start_with_store(
        engine(),
        ServerSettings {
            auth: AuthMode::Keys,
            ..ServerSettings::default()
        },
        Duration::from_secs(5),
        store,
    );
    runtime().block_on(async {
        let (status, _, v) = call(
            Method::POST,
            &s.url("/v1/chat/completions"),
            Some(&token),
            Some(&chat("What helps a mild sore throat?", json!({}))),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["medserve"]["training"]["recorded"], true);
    });
    let out = db.with_file_name("export.jsonl");
    let (ok, _, err) = run(&[
        "training",
        "export",
        "--format",
        "chat-jsonl",
        "--min-quality",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 1, "{lines}");
    assert!(lines.contains("sore throat"));

    let (ok, _, _) = run(&["keys", "revoke", &id]);
    assert!(ok);
    let (ok, _, err) = run(&["keys", "revoke", &id]);
    assert!(!ok && err.contains("no active key"), "{err}");
    runtime().block_on(async {
        let (status, _, _) = call(Method::GET, &s.url("/v1/models"), Some(&token), None).await;
        assert_eq!(
            status, 401,
            "revoked from the command line, refused by the server"
        );
    });
    let events = s.state.store().audit(&Default::default()).unwrap();
    let mut by: HashMap<(String, String), usize> = HashMap::new();
    for e in events {
        *by.entry((e.action, e.actor.key_id)).or_default() += 1;
    }
    assert_eq!(by.get(&("key.create".into(), "cli".into())), Some(&1));
    assert_eq!(by.get(&("key.list".into(), "cli".into())), Some(&1));
    assert_eq!(by.get(&("key.revoke".into(), "cli".into())), Some(&2));
    assert_eq!(by.get(&("training.export".into(), "cli".into())), Some(&1));
}
