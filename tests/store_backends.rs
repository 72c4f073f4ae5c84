//! The store contract (`medserve_server::store::conformance`) on both backends: SQLite on a
//! file and PostgreSQL in a throwaway cluster; then what only PostgreSQL adds: replicas
//! migrating at once, a refused newer schema, and a database restart seen as "unavailable"
//! (HTTP 503) and recovered from without reopening the store.

use std::sync::Arc;

use medserve_server::store::postgres::PgStore;
use medserve_server::store::sqlite::SqliteStore;
use medserve_server::store::{conformance, Actor, AuditEvent, Store, StoreError};
use medserve_tests::{temp_db_path, Postgres};

#[test]
fn the_store_contract_holds_on_sqlite() {
    let path = temp_db_path();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let raw = |sql: &str| -> Result<(), String> {
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute_batch(sql))
            .map_err(|e| e.to_string())
    };
    conformance::run_all(store, &raw);
}

#[test]
fn the_store_contract_holds_on_postgres() {
    let pg = Postgres::start();
    let url = pg.database("contract");
    let store = Arc::new(PgStore::open(&url).unwrap());
    let raw_store = store.clone();
    let raw = move |sql: &str| -> Result<(), String> {
        raw_store.execute_raw(sql).map_err(|e| e.to_string())
    };
    conformance::run_all(store, &raw);
    // TRUNCATE is refused too.
    let other = PgStore::open(&url).unwrap();
    let e = other.execute_raw("TRUNCATE audit").unwrap_err().to_string();
    assert!(e.contains("append-only"), "{e}");
}

#[test]
fn postgres_replicas_migrate_once_and_a_newer_schema_is_refused() {
    let pg = Postgres::start();
    let url = pg.database("migrate");
    // Four replicas starting together on an empty database.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PgStore::open(&url).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let s = PgStore::open(&url).unwrap();
    s.execute_raw("UPDATE medserve_schema SET version = 99")
        .unwrap();
    match PgStore::open(&url) {
        Err(StoreError::SchemaTooNew { found: 99, .. }) => {}
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a newer schema was accepted"),
    }
}

#[test]
fn a_postgres_restart_is_unavailable_then_recovered_without_reopening() {
    let pg = Postgres::start();
    let url = pg.database("restart");
    let store = PgStore::open(&url).unwrap();
    let ev = || AuditEvent::new(&Actor::cli(), "test.restart", None, "ok");
    store.append_audit(ev()).unwrap();
    pg.stop();
    let t = std::time::Instant::now();
    let e = store.append_audit(ev()).unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(8),
        "fails in bounded time: {:?}",
        t.elapsed()
    );
    let api: medserve_server::error::ApiError = e.into();
    assert_eq!(api.status().as_u16(), 503);
    pg.start_again();
    // The pooled connection died with the server; the next call reconnects.
    let mut ok = false;
    for _ in 0..20 {
        if store.append_audit(ev()).is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    assert!(ok, "the store recovered");
    let n = store
        .audit(&medserve_server::store::AuditFilter {
            action: Some("test.restart".into()),
            ..Default::default()
        })
        .unwrap()
        .len();
    assert_eq!(n, 2, "the acknowledged events, and only those");
}
