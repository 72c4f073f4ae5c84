//! The SQLite store on real files: migrations, group commit, workflow rules, append-only
//! audit.

use super::*;
use crate::store::{Disposition, KeySettings, Status, Urgency};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "medserve-store-test-{}-{name}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("medserve.db")
}

fn nurse(id: &str) -> Actor {
    Actor {
        key_id: id.into(),
        role: "nurse".into(),
    }
}

fn new_par(session: &str, urgency: Urgency) -> NewAssessment {
    NewAssessment {
        session_id: session.into(),
        owner: "k_owner".into(),
        urgency,
        disposition: Disposition::PrimaryCare,
        report: json!({"chief_complaint": "cough", "summary": null}),
    }
}

#[test]
fn migrations_upgrade_an_old_database_and_refuse_a_newer_one() {
    let path = temp_db("migrate");
    {
        let mut c = Connection::open(&path).unwrap();
        assert_eq!(migrate(&mut c, 1).unwrap(), 1);
        c.execute(
            "INSERT INTO audit (at, actor, role, action, target, result, detail)
             VALUES (1, 'cli', 'cli', 'key.create', 'k1', 'ok', 'null')",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let events = store.audit(&AuditFilter::default()).unwrap();
    assert_eq!(events.len(), 1, "data of version 1 survives the upgrade");
    store
        .save_assessment(new_par("s1", Urgency::Routine))
        .unwrap();
    drop(store);
    {
        let c = Connection::open(&path).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    match SqliteStore::open(&path) {
        Err(StoreError::SchemaTooNew { found: 99, .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

#[test]
fn the_audit_log_and_revisions_are_append_only() {
    let store = SqliteStore::open(&temp_db("append")).unwrap();
    store
        .append_audit(AuditEvent::new(
            &Actor::cli(),
            "training.export",
            None,
            "ok",
        ))
        .unwrap();
    let a = store
        .save_assessment(new_par("s", Urgency::Urgent))
        .unwrap();
    let c = Connection::open(store.path()).unwrap();
    for sql in [
        "UPDATE audit SET result = 'denied'",
        "DELETE FROM audit",
        "UPDATE assessment_revisions SET actor = 'x'",
    ] {
        let err = c.execute(sql, []).expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.revisions(&a.id).unwrap().len(), 1);
}

#[test]
fn concurrent_writers_share_commits_and_every_acknowledged_write_is_there() {
    let store = std::sync::Arc::new(SqliteStore::open(&temp_db("group")).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let s = store.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|i| {
                        let rec = TrainingRecord {
                            id: format!("tr_{t}_{i}"),
                            created_at: now_ms(),
                            assessment_id: None,
                            record: json!({"i": i}),
                        };
                        s.insert_training(&rec).map(|_| rec.id)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let acked: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(acked.len(), 800);
    // A second connection (another process would see the same) reads them all.
    let fresh = SqliteStore::open(store.path()).unwrap();
    let stored: std::collections::HashSet<String> = fresh
        .training_records()
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(acked.iter().all(|id| stored.contains(id)));
}

#[test]
fn a_failing_write_is_undone_alone() {
    let store = SqliteStore::open(&temp_db("savepoint")).unwrap();
    let rec = TrainingRecord {
        id: "tr_dup".into(),
        created_at: 1,
        assessment_id: None,
        record: json!({}),
    };
    store.insert_training(&rec).unwrap();
    assert!(store.insert_training(&rec).is_err(), "duplicate id refused");
    store
        .insert_training(&TrainingRecord {
            id: "tr_next".into(),
            ..rec
        })
        .unwrap();
    assert_eq!(store.training_records().unwrap().len(), 2);
}

#[test]
fn workflow_rules_versions_and_queue_order() {
    let store = SqliteStore::open(&temp_db("workflow")).unwrap();
    let routine = store
        .save_assessment(new_par("a", Urgency::Routine))
        .unwrap();
    let emergency = store
        .save_assessment(new_par("b", Urgency::Emergency))
        .unwrap();
    let urgent = store
        .save_assessment(new_par("c", Urgency::Urgent))
        .unwrap();
    let order: Vec<String> = store
        .queue(&QueueFilter::default())
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(
        order,
        vec![emergency.id.clone(), urgent.id, routine.id.clone()]
    );

    // The same open session is revised, not duplicated; urgency only goes up.
    let again = store
        .save_assessment(new_par("a", Urgency::Emergency))
        .unwrap();
    assert_eq!(again.id, routine.id);
    assert_eq!((again.version, again.urgency), (2, Urgency::Emergency));
    let lower = store
        .save_assessment(new_par("a", Urgency::Routine))
        .unwrap();
    assert_eq!((lower.version, lower.urgency), (3, Urgency::Emergency));

    let (n1, n2) = (nurse("k_n1"), nurse("k_n2"));
    assert!(matches!(
        store.change_assessment(&emergency.id, Change::Accept { note: None }, &n1, None),
        Err(StoreError::Conflict(_))
    ));
    let claimed = store
        .change_assessment(&emergency.id, Change::Claim, &n1, Some(1))
        .unwrap();
    assert_eq!(claimed.claimed_by.as_deref(), Some("k_n1"));
    assert!(matches!(
        store.change_assessment(&emergency.id, Change::Claim, &n2, None),
        Err(StoreError::Conflict(_))
    ));
    assert!(
        matches!(
            store.change_assessment(&emergency.id, Change::Claim, &n1, Some(1)),
            Err(StoreError::Conflict(_))
        ),
        "stale version"
    );
    let closed = store
        .change_assessment(
            &emergency.id,
            Change::Override {
                urgency: Some(Urgency::Urgent),
                disposition: Some(Disposition::UrgentReview),
                note: "seen in clinic".into(),
            },
            &n1,
            Some(2),
        )
        .unwrap();
    assert_eq!(
        (closed.status, closed.urgency, closed.version),
        (Status::Closed, Urgency::Urgent, 3)
    );
    let revs = store.revisions(&emergency.id).unwrap();
    let actions: Vec<&str> = revs.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["create", "claim", "override"]);
    assert_eq!(revs[2].before["urgency"], "emergency");
    assert_eq!(revs[2].after["urgency"], "urgent");
    assert_eq!(revs[2].actor.key_id, "k_n1");
    assert!(store
        .queue(&QueueFilter::default())
        .unwrap()
        .iter()
        .all(|a| a.id != emergency.id));
    let audit = store.audit(&AuditFilter::default()).unwrap();
    let by_nurses: Vec<&str> = audit
        .iter()
        .filter(|e| e.actor.role == "nurse")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action.starts_with("assessment.create"))
            .count(),
        3,
        "the server's own reports are audited"
    );
    assert_eq!(
        by_nurses,
        ["assessment.claim", "assessment.override"],
        "failed changes roll back with their audit row; the caller audits the refusal"
    );
}

#[test]
fn keys_are_stored_as_hashes_and_revoked_once() {
    let store = SqliteStore::open(&temp_db("keys")).unwrap();
    let key = ApiKey {
        id: "k_test".into(),
        name: "ward".into(),
        role: KeyRole::Nurse,
        secret_sha256: "ab".repeat(32),
        created_at: 1,
        revoked_at: None,
        settings: KeySettings {
            rpm: Some(10),
            ..Default::default()
        },
    };
    store.insert_key(&key, &Actor::cli()).unwrap();
    assert_eq!(store.key("k_test").unwrap().unwrap(), key);
    assert!(store.revoke_key("k_test", &Actor::cli()).unwrap());
    assert!(!store.revoke_key("k_test", &Actor::cli()).unwrap());
    assert!(store.key("k_test").unwrap().unwrap().revoked_at.is_some());
    let results: Vec<String> = store
        .audit(&AuditFilter {
            action: Some("key.revoke".into()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(results, ["ok", "not_found"]);
}

#[test]
fn a_panicking_write_fails_alone_and_the_writer_lives_on() {
    let store = SqliteStore::open(&temp_db("panic")).unwrap();
    let r: StoreResult<()> = store.write(|_| panic!("bug in a write"));
    assert!(matches!(r, Err(StoreError::Commit(_))), "{r:?}");
    store
        .append_audit(AuditEvent::new(&Actor::cli(), "key.list", None, "ok"))
        .expect("later writes still commit");
    assert_eq!(store.audit(&AuditFilter::default()).unwrap().len(), 1);
}

#[test]
fn a_session_belongs_to_its_key_and_a_revision_keeps_clinical_content() {
    let path = temp_db("owner");
    let store = SqliteStore::open(&path).unwrap();
    let mut a = new_par("S", Urgency::Emergency);
    a.report = json!({"chief_complaint": "crushing chest pain", "red_flags": [{"category": "cardiac"}], "symptoms": ["chest pain"], "scores": {"news2": {"total": 7}}});
    let first = store.save_assessment(a).unwrap();
    // Another key, same session id: a report of its own, the first one untouched.
    let mut b = new_par("S", Urgency::Routine);
    b.owner = "k_other".into();
    b.report = json!({"chief_complaint": "a mild sore throat", "red_flags": [], "symptoms": ["sore throat"], "scores": null});
    let other = store.save_assessment(b).unwrap();
    assert_ne!(other.id, first.id);
    let kept = store.assessment(&first.id).unwrap().unwrap();
    assert_eq!(kept.version, 1);
    assert_eq!(kept.report["chief_complaint"], "crushing chest pain");
    // The same key revises its own report: the clinical content it replaced stays.
    let mut c = new_par("S", Urgency::Routine);
    c.report = json!({"chief_complaint": "", "red_flags": [], "symptoms": ["sore throat"], "scores": null});
    let revised = store.save_assessment(c).unwrap();
    assert_eq!(revised.id, first.id);
    assert_eq!(revised.version, 2);
    assert_eq!(revised.urgency, Urgency::Emergency);
    assert_eq!(revised.report["chief_complaint"], "crushing chest pain");
    assert_eq!(
        revised.report["red_flags"],
        json!([{"category": "cardiac"}])
    );
    assert_eq!(
        revised.report["symptoms"],
        json!(["chest pain", "sore throat"])
    );
    assert_eq!(revised.report["scores"]["news2"]["total"], 7);
}

#[test]
fn the_store_contract_holds_on_sqlite() {
    let path = temp_db("conformance");
    let store: std::sync::Arc<dyn Store> = std::sync::Arc::new(SqliteStore::open(&path).unwrap());
    let raw = |sql: &str| -> Result<(), String> {
        Connection::open(&path)
            .and_then(|c| c.execute_batch(sql))
            .map_err(|e| e.to_string())
    };
    crate::store::conformance::run_all(store, &raw);
}
