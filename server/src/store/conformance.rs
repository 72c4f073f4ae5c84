//! The [`Store`] contract as one test suite every backend runs (SQLite in the unit tests,
//! SQLite and PostgreSQL in `tests/store_backends.rs`). Each function panics on the first
//! broken promise. `raw` runs SQL directly on the backend's database (the append-only
//! checks go around the store, as an operator with a SQL shell would).

#![allow(clippy::missing_panics_doc)]

use std::sync::Arc;

use serde_json::json;

use super::{
    Actor, ApiKey, AuditEvent, AuditFilter, Change, Disposition, KeyRole, KeySettings,
    NewAssessment, QueueFilter, Status, Store, StoreError, StoredResponse, TrainingRecord, Urgency,
};

fn nurse(id: &str) -> Actor {
    Actor {
        key_id: id.into(),
        role: "nurse".into(),
    }
}

fn report(session: &str, owner: &str, urgency: Urgency) -> NewAssessment {
    NewAssessment {
        session_id: session.into(),
        owner: owner.into(),
        urgency,
        disposition: Disposition::PrimaryCare,
        report: json!({"chief_complaint": "cough", "summary": null}),
    }
}

/// A unique prefix, so one database can hold several runs.
fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

/// Every check, in turn.
pub fn run_all(store: Arc<dyn Store>, raw: &dyn Fn(&str) -> Result<(), String>) {
    keys(store.as_ref());
    workflow(store.as_ref());
    training_and_audit(store.as_ref());
    stored_responses(store.as_ref());
    append_only(store.as_ref(), raw);
    concurrent_writers(store);
}

/// Stored responses: kept whole (body and conversation JSON), found by id, deleted once.
pub fn stored_responses(store: &dyn Store) {
    let t = tag();
    let r = StoredResponse {
        id: format!("resp_{t}"),
        owner: "k1".into(),
        created_at: 1_700_000_000_000,
        body: json!({"id": format!("resp_{t}"), "output": [{"type": "message"}]}),
        conversation: json!([{"role": "user", "content": "[NAME] has a cough"}]),
    };
    store.save_response(&r).unwrap();
    assert_eq!(store.response(&r.id).unwrap(), Some(r.clone()));
    assert!(store.save_response(&r).is_err(), "ids are unique");
    assert_eq!(store.response(&format!("resp_{t}x")).unwrap(), None);
    assert!(store.delete_response(&r.id).unwrap());
    assert!(!store.delete_response(&r.id).unwrap());
    assert_eq!(store.response(&r.id).unwrap(), None);
}

/// Keys: stored by hash, found by id, listed (and the listing audited), revoked once.
pub fn keys(store: &dyn Store) {
    let t = tag();
    let key = ApiKey {
        id: format!("k{t}"),
        name: "conformance".into(),
        role: KeyRole::Nurse,
        secret_sha256: "ab".repeat(32),
        created_at: super::now_ms(),
        revoked_at: None,
        settings: KeySettings {
            consent: true,
            triage: false,
            rpm: Some(7),
            max_streams: None,
        },
    };
    store.insert_key(&key, &Actor::cli()).unwrap();
    assert_eq!(store.key(&key.id).unwrap().as_ref(), Some(&key));
    assert!(store.key("k_absent").unwrap().is_none());
    assert!(store
        .keys(&Actor::cli())
        .unwrap()
        .iter()
        .any(|k| k.id == key.id));
    assert!(store.revoke_key(&key.id, &Actor::cli()).unwrap());
    assert!(
        !store.revoke_key(&key.id, &Actor::cli()).unwrap(),
        "revoked once"
    );
    assert!(store.key(&key.id).unwrap().unwrap().revoked_at.is_some());
    let audit = store
        .audit(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .unwrap();
    for action in ["key.create", "key.revoke"] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.target.as_deref() == Some(&key.id)),
            "{action} audited"
        );
    }
}

/// Reports: one per open session and owner, urgency only rises, queue order, claim /
/// accept / override rules, version checks, revisions in order.
pub fn workflow(store: &dyn Store) {
    let t = tag();
    let owner = format!("o{t}");
    let s = |x: &str| format!("{t}-{x}");
    let routine = store
        .save_assessment(report(&s("a"), &owner, Urgency::Routine))
        .unwrap();
    let emergency = store
        .save_assessment(report(&s("b"), &owner, Urgency::Emergency))
        .unwrap();
    let urgent = store
        .save_assessment(report(&s("c"), &owner, Urgency::Urgent))
        .unwrap();
    let order: Vec<String> = store
        .queue(&QueueFilter {
            limit: 500,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|a| a.session_id.starts_with(&t))
        .map(|a| a.id)
        .collect();
    assert_eq!(
        order,
        vec![emergency.id.clone(), urgent.id.clone(), routine.id.clone()]
    );
    let again = store
        .save_assessment(report(&s("a"), &owner, Urgency::Emergency))
        .unwrap();
    assert_eq!(
        (again.id.as_str(), again.version, again.urgency),
        (routine.id.as_str(), 2, Urgency::Emergency)
    );
    let lower = store
        .save_assessment(report(&s("a"), &owner, Urgency::Routine))
        .unwrap();
    assert_eq!((lower.version, lower.urgency), (3, Urgency::Emergency));
    let other = store
        .save_assessment(report(&s("a"), "someone-else", Urgency::Routine))
        .unwrap();
    assert_ne!(
        other.id, routine.id,
        "another key's session is its own report"
    );

    let (n1, n2) = (nurse(&format!("n1{t}")), nurse(&format!("n2{t}")));
    let conflict = |r: Result<_, StoreError>| matches!(r, Err(StoreError::Conflict(_)));
    assert!(conflict(store.change_assessment(
        &emergency.id,
        Change::Accept { note: None },
        &n1,
        None
    )));
    let claimed = store
        .change_assessment(&emergency.id, Change::Claim, &n1, Some(1))
        .unwrap();
    assert_eq!((claimed.status, claimed.version), (Status::Claimed, 2));
    assert!(conflict(store.change_assessment(
        &emergency.id,
        Change::Claim,
        &n2,
        None
    )));
    assert!(
        conflict(store.change_assessment(&emergency.id, Change::Claim, &n1, Some(1))),
        "stale version"
    );
    let over = Change::Override {
        urgency: Some(Urgency::Urgent),
        disposition: Some(Disposition::UrgentReview),
        note: "seen".into(),
    };
    assert!(conflict(store.change_assessment(
        &emergency.id,
        over.clone(),
        &n2,
        Some(2)
    )));
    let closed = store
        .change_assessment(&emergency.id, over, &n1, Some(2))
        .unwrap();
    assert_eq!(
        (closed.status, closed.outcome.as_deref(), closed.urgency),
        (Status::Closed, Some("overridden"), Urgency::Urgent)
    );
    assert!(matches!(
        store.change_assessment("par_absent", Change::Claim, &n1, None),
        Err(StoreError::NotFound(_))
    ));
    let revs = store.revisions(&emergency.id).unwrap();
    let actions: Vec<&str> = revs.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, vec!["create", "claim", "override"]);
    assert_eq!(
        revs.iter().map(|r| r.version).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(revs[2].actor.key_id, n1.key_id);
    let got = store.assessment(&emergency.id).unwrap().unwrap();
    assert_eq!(got, closed);
    // A closed session's next finding opens a new report.
    let fresh = store
        .save_assessment(report(&s("b"), &owner, Urgency::Routine))
        .unwrap();
    assert_ne!(fresh.id, emergency.id);
    let summary = store
        .change_assessment(
            &fresh.id,
            Change::Summary {
                text: Some("cough for a week".into()),
            },
            &Actor::system(),
            None,
        )
        .unwrap();
    assert_eq!(summary.report["summary"], "cough for a week");
    let urgent_only = store
        .queue(&QueueFilter {
            urgency: Some(Urgency::Urgent),
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    assert!(urgent_only.iter().all(|a| a.urgency == Urgency::Urgent));
    assert!(urgent_only.iter().any(|a| a.id == urgent.id));
}

/// Training records in order; audit events numbered, filtered and paged.
pub fn training_and_audit(store: &dyn Store) {
    let t = tag();
    for i in 0..3 {
        store
            .insert_training(&TrainingRecord {
                id: format!("tr{t}{i}"),
                created_at: super::now_ms(),
                assessment_id: None,
                record: json!({"messages": [], "i": i}),
            })
            .unwrap();
    }
    let recs: Vec<i64> = store
        .training_records()
        .unwrap()
        .into_iter()
        .filter(|r| r.id.starts_with(&format!("tr{t}")))
        .map(|r| r.record["i"].as_i64().unwrap())
        .collect();
    assert_eq!(recs, vec![0, 1, 2]);
    let actor = Actor {
        key_id: format!("a{t}"),
        role: "admin".into(),
    };
    let ids: Vec<i64> = (0..3)
        .map(|i| {
            store
                .append_audit(AuditEvent::new(
                    &actor,
                    "test.event",
                    Some(&i.to_string()),
                    "ok",
                ))
                .unwrap()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let mine = store
        .audit(&AuditFilter {
            actor: Some(actor.key_id.clone()),
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.iter().map(|e| e.id).collect::<Vec<_>>(), ids);
    let page = store
        .audit(&AuditFilter {
            actor: Some(actor.key_id.clone()),
            after_id: ids[0],
            limit: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, ids[1]);
}

/// The audit log and the revisions refuse UPDATE and DELETE even from a SQL shell.
pub fn append_only(store: &dyn Store, raw: &dyn Fn(&str) -> Result<(), String>) {
    store
        .append_audit(AuditEvent::new(
            &Actor::cli(),
            "test.append_only",
            None,
            "ok",
        ))
        .unwrap();
    let owner = format!("o{}", tag());
    store
        .save_assessment(report("ao", &owner, Urgency::Routine))
        .unwrap();
    for sql in [
        "UPDATE audit SET result = 'x'",
        "DELETE FROM audit",
        "UPDATE assessment_revisions SET action = 'x'",
        "DELETE FROM assessment_revisions",
    ] {
        let r = raw(sql);
        assert!(
            r.as_ref().is_err_and(|e| e.contains("append-only")),
            "{sql}: {r:?}"
        );
    }
}

/// Concurrent writers: every acknowledged write is there, once.
pub fn concurrent_writers(store: Arc<dyn Store>) {
    let t = tag();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let store = store.clone();
            let t = t.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    store
                        .insert_training(&TrainingRecord {
                            id: format!("cw{t}-{w}-{i}"),
                            created_at: super::now_ms(),
                            assessment_id: None,
                            record: json!({}),
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for th in threads {
        th.join().unwrap();
    }
    let n = store
        .training_records()
        .unwrap()
        .iter()
        .filter(|r| r.id.starts_with(&format!("cw{t}")))
        .count();
    assert_eq!(n, 200);
}
