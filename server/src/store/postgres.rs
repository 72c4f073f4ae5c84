//! [`Store`] on PostgreSQL, for replicas sharing one database.
//!
//! Same numbered migrations as SQLite (in PostgreSQL's dialect), applied under an advisory
//! lock so replicas starting together migrate once. Append-only tables (audit, revisions)
//! are enforced by triggers that refuse UPDATE, DELETE and TRUNCATE. Every write is one
//! transaction with `synchronous_commit = on`: a call returns only after COMMIT has
//! flushed the WAL (PostgreSQL groups concurrent commits into one flush itself). Audit ids
//! are taken under a transaction-scoped advisory lock, so they commit in id order and
//! paging by `after_id` never skips an event. Transient failures (serialization,
//! deadlock, two replicas opening the same session's report at once) are retried; a
//! database that cannot be reached is [`StoreError::Unavailable`] (HTTP 503 with
//! `Retry-After`), and the next call reconnects.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, NoTls, Row, Transaction};
use serde_json::{json, Value};

use super::workflow::{apply, next_assessment, workflow};
use super::{
    now_ms, Actor, ApiKey, Assessment, AuditEvent, AuditFilter, Change, KeyRole, NewAssessment,
    QueueFilter, Revision, Store, StoreError, StoreResult, StoredResponse, TrainingRecord,
};

/// Numbered migrations, the same steps as [`super::sqlite::MIGRATIONS`]; the version is
/// kept in `medserve_schema`. Never edit a released migration: add the next one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "keys and audit",
        "CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT,
            settings TEXT NOT NULL
        );
        CREATE TABLE audit (
            id BIGSERIAL PRIMARY KEY,
            at BIGINT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            result TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX audit_action ON audit(action, id);
        CREATE FUNCTION medserve_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
        CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
            FOR EACH ROW EXECUTE FUNCTION medserve_append_only();
        CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
            FOR EACH STATEMENT EXECUTE FUNCTION medserve_append_only();",
    ),
    (
        "assessments",
        "CREATE TABLE assessments (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            version BIGINT NOT NULL,
            status TEXT NOT NULL,
            urgency TEXT NOT NULL,
            urgency_rank BIGINT NOT NULL,
            disposition TEXT NOT NULL,
            claimed_by TEXT,
            outcome TEXT,
            note TEXT,
            report TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT
        );
        CREATE INDEX assessments_queue ON assessments(status, urgency_rank, created_at);
        CREATE INDEX assessments_session ON assessments(session_id, status);
        CREATE TABLE assessment_revisions (
            assessment_id TEXT NOT NULL REFERENCES assessments(id),
            version BIGINT NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            at BIGINT NOT NULL,
            before TEXT NOT NULL,
            after TEXT NOT NULL,
            PRIMARY KEY (assessment_id, version)
        );
        CREATE TRIGGER revisions_append_only BEFORE UPDATE OR DELETE ON assessment_revisions
            FOR EACH ROW EXECUTE FUNCTION medserve_append_only();
        CREATE TRIGGER revisions_no_truncate BEFORE TRUNCATE ON assessment_revisions
            FOR EACH STATEMENT EXECUTE FUNCTION medserve_append_only();",
    ),
    (
        "training log",
        "CREATE TABLE training_records (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            assessment_id TEXT,
            record TEXT NOT NULL
        );
        CREATE INDEX training_assessment ON training_records(assessment_id);",
    ),
    (
        "session owners",
        "ALTER TABLE assessments ADD COLUMN owner TEXT;
        CREATE INDEX assessments_owner_session ON assessments(owner, session_id, status);
        CREATE UNIQUE INDEX assessments_one_open_per_session ON assessments(owner, session_id)
            WHERE status <> 'closed';",
    ),
    (
        "revisions not deleted",
        // Enforced here since migration 2 (the trigger refuses UPDATE and DELETE); the
        // step keeps the numbering equal to SQLite's.
        "SELECT 1;",
    ),
    (
        "stored responses",
        "CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            body TEXT NOT NULL,
            conversation TEXT NOT NULL
        );",
    ),
];

/// Advisory lock ids (arbitrary constants, namespaced by value).
const MIGRATION_LOCK: i64 = 0x6d65_6473_0001;
const AUDIT_LOCK: i64 = 0x6d65_6473_0002;
/// Connections kept at most (`MEDSERVE_DB_POOL`).
const DEFAULT_POOL: usize = 8;
/// Attempts of a transaction that failed transiently.
const ATTEMPTS: usize = 5;
/// Longest wait for a free connection.
const POOL_WAIT: Duration = Duration::from_secs(10);

/// Whether a `--db` value is a PostgreSQL URL.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// PostgreSQL-backed store.
pub struct PgStore {
    config: postgres::Config,
    idle: Mutex<Vec<Client>>,
    in_use: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// A pooled connection, returned to the pool on drop unless it broke.
struct Conn<'a> {
    client: Option<Client>,
    store: &'a PgStore,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            if !c.is_closed() {
                if let Ok(mut idle) = self.store.idle.lock() {
                    idle.push(c);
                }
            }
        }
        if let Ok(mut n) = self.store.in_use.lock() {
            *n -= 1;
        }
        self.store.freed.notify_one();
    }
}

/// Classifies a driver error: unreachable database, transient (retry), or a refusal.
fn classify(e: postgres::Error) -> StoreError {
    let code = e.code().cloned();
    match code {
        Some(c)
            if c == SqlState::T_R_SERIALIZATION_FAILURE
                || c == SqlState::T_R_DEADLOCK_DETECTED
                || c == SqlState::UNIQUE_VIOLATION =>
        {
            StoreError::Conflict(format!("retry: {e}"))
        }
        Some(c)
            if c == SqlState::ADMIN_SHUTDOWN
                || c == SqlState::CRASH_SHUTDOWN
                || c == SqlState::CANNOT_CONNECT_NOW
                || c.code().starts_with("08") =>
        {
            StoreError::Unavailable(e.to_string())
        }
        Some(_) => StoreError::Postgres(
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string()),
        ),
        None => StoreError::Unavailable(e.to_string()),
    }
}

fn pg<T>(r: Result<T, postgres::Error>) -> StoreResult<T> {
    r.map_err(classify)
}

fn is_retry(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict(m) if m.starts_with("retry: "))
}

impl PgStore {
    /// Connects to `url`, applies pending migrations and keeps a pool of connections.
    pub fn open(url: &str) -> StoreResult<Self> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Postgres(format!("the database URL does not parse: {e}")))?;
        config.connect_timeout(Duration::from_secs(3));
        config.application_name("medserve");
        let max = std::env::var("MEDSERVE_DB_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(DEFAULT_POOL);
        let store = Self {
            config,
            idle: Mutex::new(Vec::new()),
            in_use: Mutex::new(0),
            freed: Condvar::new(),
            max,
        };
        {
            let mut c = store.conn()?;
            migrate(&mut c)?;
        }
        Ok(store)
    }

    fn connect(&self) -> StoreResult<Client> {
        let mut c = self
            .config
            .connect(NoTls)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        // The durability contract: COMMIT returns after the WAL is flushed, whatever the
        // server's default; a runaway statement cannot hold a connection for ever.
        pg(c.batch_execute("SET synchronous_commit = on; SET statement_timeout = '30s'"))?;
        Ok(c)
    }

    fn conn(&self) -> StoreResult<Conn<'_>> {
        {
            let mut n = self.in_use.lock().map_err(|_| StoreError::Closed)?;
            let deadline = std::time::Instant::now() + POOL_WAIT;
            while *n >= self.max {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Err(StoreError::Unavailable(
                        "every database connection is busy".into(),
                    ));
                }
                n = self
                    .freed
                    .wait_timeout(n, left)
                    .map_err(|_| StoreError::Closed)?
                    .0;
            }
            *n += 1;
        }
        let mut guard = Conn {
            client: None,
            store: self,
        };
        let pooled = self.idle.lock().map_err(|_| StoreError::Closed)?.pop();
        guard.client = Some(match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.connect()?,
        });
        Ok(guard)
    }

    /// Runs `f` in one transaction, retrying transient failures; returns after COMMIT.
    fn tx<R>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> StoreResult<R>) -> StoreResult<R> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            let mut c = self.conn()?;
            let r = (|| {
                let mut t = pg(c.transaction())?;
                let r = f(&mut t)?;
                pg(t.commit())?;
                Ok(r)
            })();
            match r {
                Err(e) if is_retry(&e) && attempt + 1 < ATTEMPTS => {
                    last = Some(e);
                    std::thread::sleep(Duration::from_millis(5 << attempt));
                }
                Err(e) if is_retry(&e) => {
                    return Err(StoreError::Unavailable(format!(
                        "gave up after {ATTEMPTS} attempts: {e}"
                    )))
                }
                other => return other,
            }
        }
        Err(last.unwrap_or(StoreError::Closed))
    }

    /// Runs a read.
    fn read<R>(&self, f: impl FnOnce(&mut Client) -> StoreResult<R>) -> StoreResult<R> {
        let mut c = self.conn()?;
        f(&mut c)
    }

    /// Runs raw SQL (tests: the append-only triggers refuse changes).
    #[doc(hidden)]
    pub fn execute_raw(&self, sql: &str) -> StoreResult<()> {
        self.read(|c| pg(c.batch_execute(sql)))
    }
}

/// Applies pending migrations under an advisory lock; returns the schema version.
fn migrate(c: &mut Client) -> StoreResult<i64> {
    let mut t = pg(c.transaction())?;
    pg(t.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]))?;
    pg(t.batch_execute("CREATE TABLE IF NOT EXISTS medserve_schema (version BIGINT NOT NULL)"))?;
    let current: i64 = match pg(t.query_opt("SELECT version FROM medserve_schema", &[]))? {
        Some(r) => r.get(0),
        None => {
            pg(t.execute("INSERT INTO medserve_schema (version) VALUES (0)", &[]))?;
            0
        }
    };
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        pg(t.batch_execute(sql))?;
        pg(t.execute(
            "UPDATE medserve_schema SET version = $1",
            &[&((i + 1) as i64)],
        ))?;
        tracing::info!(
            version = i + 1,
            migration = name,
            "store migrated (postgres)"
        );
    }
    pg(t.commit())?;
    Ok(supported.max(current))
}

fn insert_audit(t: &mut Transaction<'_>, mut e: AuditEvent) -> StoreResult<i64> {
    if e.at == 0 {
        e.at = now_ms();
    }
    // Ids commit in order: the lock is held until this transaction ends.
    pg(t.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK]))?;
    let row = pg(t.query_one(
        "INSERT INTO audit (at, actor, role, action, target, result, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        &[
            &e.at,
            &e.actor.key_id,
            &e.actor.role,
            &e.action,
            &e.target,
            &e.result,
            &e.detail.to_string(),
        ],
    ))?;
    Ok(row.get(0))
}

const KEY_COLS: &str = "id, name, role, secret_sha256, created_at, revoked_at, settings";

fn key_from_row(r: &Row) -> StoreResult<ApiKey> {
    let role: String = r.get(2);
    let settings: String = r.get(6);
    Ok(ApiKey {
        id: r.get(0),
        name: r.get(1),
        role: KeyRole::parse(&role).unwrap_or(KeyRole::PatientApp),
        secret_sha256: r.get(3),
        created_at: r.get(4),
        revoked_at: r.get(5),
        settings: serde_json::from_str(&settings)?,
    })
}

const ASSESSMENT_COLS: &str = "id, session_id, version, status, urgency, disposition, \
    claimed_by, outcome, note, report, created_at, updated_at";

fn assessment_from_row(r: &Row) -> StoreResult<Assessment> {
    let word = |i: usize| Value::String(r.get::<_, String>(i));
    let report: String = r.get(9);
    Ok(Assessment {
        id: r.get(0),
        session_id: r.get(1),
        version: r.get(2),
        status: serde_json::from_value(word(3))?,
        urgency: serde_json::from_value(word(4))?,
        disposition: serde_json::from_value(word(5))?,
        claimed_by: r.get(6),
        outcome: r.get(7),
        note: r.get(8),
        report: serde_json::from_str(&report)?,
        created_at: r.get(10),
        updated_at: r.get(11),
    })
}

fn load_assessment(
    t: &mut Transaction<'_>,
    id: &str,
    lock: bool,
) -> StoreResult<Option<Assessment>> {
    let sql = format!(
        "SELECT {ASSESSMENT_COLS} FROM assessments WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    pg(t.query_opt(&sql, &[&id]))?
        .map(|r| assessment_from_row(&r))
        .transpose()
}

fn write_assessment(
    t: &mut Transaction<'_>,
    a: &Assessment,
    owner: Option<&str>,
) -> StoreResult<()> {
    let disposition = serde_json::to_value(a.disposition)?;
    pg(t.execute(
        "INSERT INTO assessments (id, session_id, version, status, urgency, urgency_rank,
            disposition, claimed_by, outcome, note, report, created_at, updated_at, owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,
            urgency = EXCLUDED.urgency, urgency_rank = EXCLUDED.urgency_rank,
            disposition = EXCLUDED.disposition, claimed_by = EXCLUDED.claimed_by,
            outcome = EXCLUDED.outcome, note = EXCLUDED.note, report = EXCLUDED.report,
            updated_at = EXCLUDED.updated_at,
            owner = COALESCE(EXCLUDED.owner, assessments.owner)",
        &[
            &a.id,
            &a.session_id,
            &a.version,
            &a.status.as_str(),
            &a.urgency.as_str(),
            &a.urgency.rank(),
            &disposition.as_str().unwrap_or_default(),
            &a.claimed_by,
            &a.outcome,
            &a.note,
            &a.report.to_string(),
            &a.created_at,
            &a.updated_at,
            &owner,
        ],
    ))?;
    Ok(())
}

fn write_revision(
    t: &mut Transaction<'_>,
    a: &Assessment,
    action: &str,
    actor: &Actor,
    before: Value,
) -> StoreResult<()> {
    pg(t.execute(
        "INSERT INTO assessment_revisions
            (assessment_id, version, action, actor, role, at, before, after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &a.id,
            &a.version,
            &action,
            &actor.key_id,
            &actor.role,
            &a.updated_at.unwrap_or(a.created_at),
            &before.to_string(),
            &workflow(a).to_string(),
        ],
    ))?;
    Ok(())
}

impl Store for PgStore {
    fn insert_key(&self, key: &ApiKey, actor: &Actor) -> StoreResult<()> {
        self.tx(|t| {
            pg(t.execute(
                &format!("INSERT INTO api_keys ({KEY_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
                &[
                    &key.id,
                    &key.name,
                    &key.role.as_str(),
                    &key.secret_sha256,
                    &key.created_at,
                    &key.revoked_at,
                    &serde_json::to_string(&key.settings)?,
                ],
            ))?;
            insert_audit(
                t,
                AuditEvent::new(actor, "key.create", Some(&key.id), "ok")
                    .detail(json!({"role": key.role, "settings": key.settings})),
            )?;
            Ok(())
        })
    }

    fn key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        self.read(|c| {
            pg(c.query_opt(
                &format!("SELECT {KEY_COLS} FROM api_keys WHERE id = $1"),
                &[&id],
            ))?
            .map(|r| key_from_row(&r))
            .transpose()
        })
    }

    fn keys(&self, actor: &Actor) -> StoreResult<Vec<ApiKey>> {
        let keys: Vec<ApiKey> = self.read(|c| {
            pg(c.query(
                &format!("SELECT {KEY_COLS} FROM api_keys ORDER BY created_at, id"),
                &[],
            ))?
            .iter()
            .map(key_from_row)
            .collect()
        })?;
        let n = keys.len();
        self.append_audit(
            AuditEvent::new(actor, "key.list", None, "ok").detail(json!({"count": n})),
        )?;
        Ok(keys)
    }

    fn revoke_key(&self, id: &str, actor: &Actor) -> StoreResult<bool> {
        self.tx(|t| {
            let n = pg(t.execute(
                "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &now_ms()],
            ))?;
            let result = if n == 1 { "ok" } else { "not_found" };
            insert_audit(t, AuditEvent::new(actor, "key.revoke", Some(id), result))?;
            Ok(n == 1)
        })
    }

    fn save_assessment(&self, new: NewAssessment) -> StoreResult<Assessment> {
        // Two replicas opening the same session's first report at once: the unique index
        // on open reports refuses the second INSERT, and its retry revises the first.
        self.tx(|t| {
            let existing: Option<String> = pg(t.query_opt(
                "SELECT id FROM assessments
                 WHERE session_id = $1 AND owner = $2 AND status <> 'closed'
                 ORDER BY created_at DESC LIMIT 1 FOR UPDATE",
                &[&new.session_id, &new.owner],
            ))?
            .map(|r| r.get(0));
            let existing = match existing {
                Some(id) => load_assessment(t, &id, true)?,
                None => None,
            };
            let system = Actor::system();
            let (a, action, before) = next_assessment(existing, new.clone(), now_ms());
            write_assessment(t, &a, Some(&new.owner))?;
            write_revision(t, &a, action, &system, before)?;
            insert_audit(
                t,
                AuditEvent::new(&system, &format!("assessment.{action}"), Some(&a.id), "ok")
                    .detail(json!({"version": a.version, "urgency": a.urgency})),
            )?;
            Ok(a)
        })
    }

    fn assessment(&self, id: &str) -> StoreResult<Option<Assessment>> {
        self.read(|c| {
            pg(c.query_opt(
                &format!("SELECT {ASSESSMENT_COLS} FROM assessments WHERE id = $1"),
                &[&id],
            ))?
            .map(|r| assessment_from_row(&r))
            .transpose()
        })
    }

    fn queue(&self, f: &QueueFilter) -> StoreResult<Vec<Assessment>> {
        let statuses: Vec<String> = if f.status.is_empty() {
            vec!["open".into(), "claimed".into()]
        } else {
            f.status.iter().map(|s| s.as_str().to_string()).collect()
        };
        let limit = if f.limit == 0 { 50 } else { f.limit.min(500) } as i64;
        let urgency = f.urgency.map(|u| u.as_str().to_string());
        self.read(|c| {
            pg(c.query(
                &format!(
                    "SELECT {ASSESSMENT_COLS} FROM assessments WHERE status = ANY($1)
                     AND ($2::TEXT IS NULL OR urgency = $2) AND ($3::TEXT IS NULL OR claimed_by = $3)
                     ORDER BY urgency_rank, created_at, id LIMIT $4"
                ),
                &[&statuses, &urgency, &f.claimed_by, &limit],
            ))?
            .iter()
            .map(assessment_from_row)
            .collect()
        })
    }

    fn change_assessment(
        &self,
        id: &str,
        change: Change,
        actor: &Actor,
        expected_version: Option<i64>,
    ) -> StoreResult<Assessment> {
        self.tx(|t| {
            let action = format!("assessment.{}", change.action());
            // FOR UPDATE: a concurrent change on another replica waits for this one, then
            // sees its version.
            let Some(mut a) = load_assessment(t, id, true)? else {
                return Err(StoreError::NotFound(format!("assessment {id}")));
            };
            if let Some(v) = expected_version.filter(|v| *v != a.version) {
                return Err(StoreError::Conflict(format!(
                    "assessment {id} is at version {}, not {v}",
                    a.version
                )));
            }
            let before = workflow(&a);
            apply(&mut a, &change, actor)?;
            a.version += 1;
            a.updated_at = Some(now_ms());
            write_assessment(t, &a, None)?;
            write_revision(t, &a, change.action(), actor, before)?;
            insert_audit(
                t,
                AuditEvent::new(actor, &action, Some(id), "ok")
                    .detail(json!({"version": a.version})),
            )?;
            Ok(a)
        })
    }

    fn revisions(&self, id: &str) -> StoreResult<Vec<Revision>> {
        self.read(|c| {
            pg(c.query(
                "SELECT assessment_id, version, action, actor, role, at, before, after
                 FROM assessment_revisions WHERE assessment_id = $1 ORDER BY version",
                &[&id],
            ))?
            .iter()
            .map(|r| {
                let before: String = r.get(6);
                let after: String = r.get(7);
                Ok(Revision {
                    assessment_id: r.get(0),
                    version: r.get(1),
                    action: r.get(2),
                    actor: Actor {
                        key_id: r.get(3),
                        role: r.get(4),
                    },
                    at: r.get(5),
                    before: serde_json::from_str(&before)?,
                    after: serde_json::from_str(&after)?,
                })
            })
            .collect()
        })
    }

    fn insert_training(&self, rec: &TrainingRecord) -> StoreResult<()> {
        self.tx(|t| {
            pg(t.execute(
                "INSERT INTO training_records (id, created_at, assessment_id, record)
                 VALUES ($1, $2, $3, $4)",
                &[
                    &rec.id,
                    &rec.created_at,
                    &rec.assessment_id,
                    &rec.record.to_string(),
                ],
            ))?;
            Ok(())
        })
    }

    fn save_response(&self, r: &StoredResponse) -> StoreResult<()> {
        self.tx(|t| {
            pg(t.execute(
                "INSERT INTO responses (id, owner, created_at, body, conversation)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &r.id,
                    &r.owner,
                    &r.created_at,
                    &r.body.to_string(),
                    &r.conversation.to_string(),
                ],
            ))?;
            Ok(())
        })
    }

    fn response(&self, id: &str) -> StoreResult<Option<StoredResponse>> {
        self.read(|c| {
            pg(c.query_opt(
                "SELECT id, owner, created_at, body, conversation FROM responses WHERE id = $1",
                &[&id],
            ))?
            .map(|r| {
                let body: String = r.get(3);
                let conversation: String = r.get(4);
                Ok(StoredResponse {
                    id: r.get(0),
                    owner: r.get(1),
                    created_at: r.get(2),
                    body: serde_json::from_str(&body)?,
                    conversation: serde_json::from_str(&conversation)?,
                })
            })
            .transpose()
        })
    }

    fn delete_response(&self, id: &str) -> StoreResult<bool> {
        self.tx(|t| Ok(pg(t.execute("DELETE FROM responses WHERE id = $1", &[&id]))? > 0))
    }

    fn training_records(&self) -> StoreResult<Vec<TrainingRecord>> {
        self.read(|c| {
            pg(c.query(
                "SELECT id, created_at, assessment_id, record FROM training_records
                 ORDER BY created_at, id",
                &[],
            ))?
            .iter()
            .map(|r| {
                let record: String = r.get(3);
                Ok(TrainingRecord {
                    id: r.get(0),
                    created_at: r.get(1),
                    assessment_id: r.get(2),
                    record: serde_json::from_str(&record)?,
                })
            })
            .collect()
        })
    }

    fn append_audit(&self, event: AuditEvent) -> StoreResult<i64> {
        self.tx(|t| insert_audit(t, event.clone()))
    }

    fn audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        let limit = if f.limit == 0 { 100 } else { f.limit.min(1000) } as i64;
        self.read(|c| {
            pg(c.query(
                "SELECT id, at, actor, role, action, target, result, detail FROM audit
                 WHERE id > $1 AND ($2::TEXT IS NULL OR action = $2) AND ($3::TEXT IS NULL OR actor = $3)
                 ORDER BY id LIMIT $4",
                &[&f.after_id, &f.action, &f.actor, &limit],
            ))?
            .iter()
            .map(|r| {
                let detail: String = r.get(7);
                Ok(AuditEvent {
                    id: r.get(0),
                    at: r.get(1),
                    actor: Actor { key_id: r.get(2), role: r.get(3) },
                    action: r.get(4),
                    target: r.get(5),
                    result: r.get(6),
                    detail: serde_json::from_str(&detail)?,
                })
            })
            .collect()
        })
    }
}
