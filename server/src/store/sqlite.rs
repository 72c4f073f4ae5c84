//! [`Store`] on SQLite: WAL, `synchronous=FULL`, numbered migrations, group commit.
//!
//! One writer thread owns the write connection. Each write is a job sent to it; the thread
//! takes every job waiting, runs each inside its own savepoint of one transaction, commits
//! (one fsync for the whole group) and only then answers each caller. A caller therefore
//! never hears "done" for a record that is not on disk, and concurrent writers share fsyncs.
//! Reads use a separate connection (WAL readers do not block the writer).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::workflow::{apply, next_assessment, workflow};
use super::{
    now_ms, Actor, ApiKey, Assessment, AuditEvent, AuditFilter, Change, KeyRole, NewAssessment,
    QueueFilter, Revision, Store, StoreError, StoreResult, StoredResponse, TrainingRecord,
};

/// Numbered schema migrations, applied in order on open; `PRAGMA user_version` records the
/// last one applied. Never edit a released migration: add the next one.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "keys and audit",
        "CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            secret_sha256 TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER,
            settings TEXT NOT NULL
        );
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            result TEXT NOT NULL,
            detail TEXT NOT NULL
        );
        CREATE INDEX audit_action ON audit(action, id);
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
    ),
    (
        "assessments",
        "CREATE TABLE assessments (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            urgency TEXT NOT NULL,
            urgency_rank INTEGER NOT NULL,
            disposition TEXT NOT NULL,
            claimed_by TEXT,
            outcome TEXT,
            note TEXT,
            report TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER
        );
        CREATE INDEX assessments_queue ON assessments(status, urgency_rank, created_at);
        CREATE INDEX assessments_session ON assessments(session_id, status);
        CREATE TABLE assessment_revisions (
            assessment_id TEXT NOT NULL REFERENCES assessments(id),
            version INTEGER NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            at INTEGER NOT NULL,
            before TEXT NOT NULL,
            after TEXT NOT NULL,
            PRIMARY KEY (assessment_id, version)
        );
        CREATE TRIGGER revisions_no_update BEFORE UPDATE ON assessment_revisions
            BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;",
    ),
    (
        "training log",
        "CREATE TABLE training_records (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            assessment_id TEXT,
            record TEXT NOT NULL
        );
        CREATE INDEX training_assessment ON training_records(assessment_id);",
    ),
    (
        "session owners",
        "ALTER TABLE assessments ADD COLUMN owner TEXT;
        CREATE INDEX assessments_owner_session ON assessments(owner, session_id, status);",
    ),
    (
        "revisions not deleted",
        "CREATE TRIGGER revisions_no_delete BEFORE DELETE ON assessment_revisions
            BEGIN SELECT RAISE(ABORT, 'revisions are append-only'); END;",
    ),
    (
        "stored responses",
        "CREATE TABLE responses (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            body TEXT NOT NULL,
            conversation TEXT NOT NULL
        );",
    ),
];

/// Jobs taken into one transaction at most.
const GROUP_MAX: usize = 512;

trait Job: Send {
    /// Runs inside the open transaction.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Typed<R, F> {
    f: Option<F>,
    result: Option<StoreResult<R>>,
    reply: SyncSender<StoreResult<R>>,
}

impl<R: Send, F: FnOnce(&Connection) -> StoreResult<R> + Send> Job for Typed<R, F> {
    fn run(&mut self, conn: &Connection) -> bool {
        let r = match self.f.take() {
            Some(f) => f(conn),
            None => Err(StoreError::Closed),
        };
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let out = match (committed, self.result) {
            (Ok(()), Some(r)) => r,
            (Ok(()), None) => Err(StoreError::Commit("the write failed unexpectedly".into())),
            (Err(e), _) => Err(StoreError::Commit(e)),
        };
        let _ = self.reply.send(out);
    }
}

/// SQLite-backed store.
pub struct SqliteStore {
    path: PathBuf,
    jobs: Mutex<Option<SyncSender<Box<dyn Job>>>>,
    /// WAL readers: a long read (an export) holds one, key lookups use the others.
    readers: Vec<Mutex<Connection>>,
}

/// Read connections kept open.
const READERS: usize = 4;

fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: in WAL mode the WAL is fsynced at every commit, so a commit survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

/// Applies migrations up to `target` (all of them with `MIGRATIONS.len()`); returns the
/// version the database is at.
pub fn migrate(conn: &mut Connection, target: usize) -> StoreResult<i64> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (i, (name, sql)) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(current as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, migration = name, "store migrated");
    }
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Runs `PRAGMA integrity_check` on a database file: `ok`, or SQLite's findings.
pub fn integrity_check(path: &Path) -> StoreResult<String> {
    let conn = Connection::open(path)?;
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(rows.join("; "))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub fn open(path: &Path) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Conflict(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        migrate(&mut writer, MIGRATIONS.len())?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open(path)?;
            configure(&reader)?;
            readers.push(Mutex::new(reader));
        }
        let (tx, rx) = mpsc::sync_channel::<Box<dyn Job>>(4096);
        std::thread::Builder::new()
            .name("medserve-store".into())
            .spawn(move || writer_loop(writer, rx))
            .map_err(|e| StoreError::Conflict(format!("cannot start the writer: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            jobs: Mutex::new(Some(tx)),
            readers,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the next group transaction; returns once it is committed.
    fn write<R, F>(&self, f: F) -> StoreResult<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<R> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Box::new(Typed {
            f: Some(f),
            result: None,
            reply,
        });
        let sender = self
            .jobs
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)?;
        answer.recv().map_err(|_| StoreError::Closed)?
    }

    /// Runs `f` on a free read connection (waiting for the first one if all are busy).
    fn read<R>(&self, f: impl FnOnce(&Connection) -> StoreResult<R>) -> StoreResult<R> {
        for r in &self.readers {
            if let Ok(conn) = r.try_lock() {
                return f(&conn);
            }
        }
        let conn = self.readers[0].lock().map_err(|_| StoreError::Closed)?;
        f(&conn)
    }
}

fn writer_loop(conn: Connection, rx: Receiver<Box<dyn Job>>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let committed = run_group(&conn, &mut batch);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.finish(committed.clone());
        }
    }
}

fn run_group(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), String> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .map_err(|e| e.to_string())?;
    for job in batch.iter_mut() {
        conn.execute_batch("SAVEPOINT job")
            .map_err(|e| e.to_string())?;
        // A failed (or panicking) job is undone alone; the others in the group still
        // commit, and the writer thread survives.
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(conn)))
            .unwrap_or_else(|_| {
                tracing::error!("a store write panicked; it is rolled back");
                false
            });
        if conn.is_autocommit() {
            // SQLite itself ended the transaction (e.g. out of disk): fail the group.
            return Err("the transaction was rolled back by SQLite".into());
        }
        if !ok {
            conn.execute_batch("ROLLBACK TO job")
                .map_err(|e| e.to_string())?;
        }
        conn.execute_batch("RELEASE job")
            .map_err(|e| e.to_string())?;
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())
}

fn insert_audit(conn: &Connection, mut e: AuditEvent) -> StoreResult<i64> {
    if e.at == 0 {
        e.at = now_ms();
    }
    conn.execute(
        "INSERT INTO audit (at, actor, role, action, target, result, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.at,
            e.actor.key_id,
            e.actor.role,
            e.action,
            e.target,
            e.result,
            e.detail.to_string()
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

fn key_from_row(r: &Row<'_>) -> rusqlite::Result<(ApiKey, String)> {
    let role: String = r.get(2)?;
    let settings: String = r.get(6)?;
    Ok((
        ApiKey {
            id: r.get(0)?,
            name: r.get(1)?,
            role: KeyRole::parse(&role).unwrap_or(KeyRole::PatientApp),
            secret_sha256: r.get(3)?,
            created_at: r.get(4)?,
            revoked_at: r.get(5)?,
            settings: Default::default(),
        },
        settings,
    ))
}

fn key_with_settings((mut k, s): (ApiKey, String)) -> StoreResult<ApiKey> {
    k.settings = serde_json::from_str(&s)?;
    Ok(k)
}

const ASSESSMENT_COLS: &str = "id, session_id, version, status, urgency, disposition, \
    claimed_by, outcome, note, report, created_at, updated_at";

fn assessment_from_row(r: &Row<'_>) -> rusqlite::Result<[Value; 12]> {
    let text = |i: usize| -> rusqlite::Result<Value> {
        Ok(r.get::<_, Option<String>>(i)?
            .map(Value::String)
            .unwrap_or(Value::Null))
    };
    Ok([
        text(0)?,
        text(1)?,
        json!(r.get::<_, i64>(2)?),
        text(3)?,
        text(4)?,
        text(5)?,
        text(6)?,
        text(7)?,
        text(8)?,
        text(9)?,
        json!(r.get::<_, i64>(10)?),
        json!(r.get::<_, Option<i64>>(11)?),
    ])
}

fn assessment_from_values(v: [Value; 12]) -> StoreResult<Assessment> {
    let [id, session_id, version, status, urgency, disposition, claimed_by, outcome, note, report, created_at, updated_at] =
        v;
    let report: Value = serde_json::from_str(report.as_str().unwrap_or("null"))?;
    Ok(Assessment {
        id: serde_json::from_value(id)?,
        session_id: serde_json::from_value(session_id)?,
        version: serde_json::from_value(version)?,
        status: serde_json::from_value(status)?,
        urgency: serde_json::from_value(urgency)?,
        disposition: serde_json::from_value(disposition)?,
        claimed_by: serde_json::from_value(claimed_by)?,
        outcome: serde_json::from_value(outcome)?,
        note: serde_json::from_value(note)?,
        report,
        created_at: serde_json::from_value(created_at)?,
        updated_at: serde_json::from_value(updated_at)?,
    })
}

fn load_assessment(conn: &Connection, id: &str) -> StoreResult<Option<Assessment>> {
    let row = conn
        .query_row(
            &format!("SELECT {ASSESSMENT_COLS} FROM assessments WHERE id = ?1"),
            params![id],
            assessment_from_row,
        )
        .optional()?;
    row.map(assessment_from_values).transpose()
}

fn write_assessment(conn: &Connection, a: &Assessment) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO assessments (id, session_id, version, status, urgency, urgency_rank,
            disposition, claimed_by, outcome, note, report, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT(id) DO UPDATE SET version = excluded.version, status = excluded.status,
            urgency = excluded.urgency, urgency_rank = excluded.urgency_rank,
            disposition = excluded.disposition, claimed_by = excluded.claimed_by,
            outcome = excluded.outcome, note = excluded.note, report = excluded.report,
            updated_at = excluded.updated_at",
        params![
            a.id,
            a.session_id,
            a.version,
            a.status.as_str(),
            a.urgency.as_str(),
            a.urgency.rank(),
            serde_json::to_value(a.disposition)?
                .as_str()
                .unwrap_or_default(),
            a.claimed_by,
            a.outcome,
            a.note,
            a.report.to_string(),
            a.created_at,
            a.updated_at,
        ],
    )?;
    Ok(())
}

fn write_revision(
    conn: &Connection,
    a: &Assessment,
    action: &str,
    actor: &Actor,
    before: Value,
) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO assessment_revisions
            (assessment_id, version, action, actor, role, at, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            a.id,
            a.version,
            action,
            actor.key_id,
            actor.role,
            a.updated_at.unwrap_or(a.created_at),
            before.to_string(),
            workflow(a).to_string()
        ],
    )?;
    Ok(())
}

impl Store for SqliteStore {
    fn insert_key(&self, key: &ApiKey, actor: &Actor) -> StoreResult<()> {
        let key = key.clone();
        let actor = actor.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO api_keys (id, name, role, secret_sha256, created_at, revoked_at, settings)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    key.id,
                    key.name,
                    key.role.as_str(),
                    key.secret_sha256,
                    key.created_at,
                    key.revoked_at,
                    serde_json::to_string(&key.settings)?
                ],
            )?;
            insert_audit(
                c,
                AuditEvent::new(&actor, "key.create", Some(&key.id), "ok")
                    .detail(json!({"role": key.role, "settings": key.settings})),
            )?;
            Ok(())
        })
    }

    fn key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        self.read(|c| {
            c.query_row(
                "SELECT id, name, role, secret_sha256, created_at, revoked_at, settings
                 FROM api_keys WHERE id = ?1",
                params![id],
                key_from_row,
            )
            .optional()?
            .map(key_with_settings)
            .transpose()
        })
    }

    fn keys(&self, actor: &Actor) -> StoreResult<Vec<ApiKey>> {
        let keys: Vec<ApiKey> = self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, name, role, secret_sha256, created_at, revoked_at, settings
                 FROM api_keys ORDER BY created_at, id",
            )?;
            let rows = st.query_map([], key_from_row)?;
            rows.map(|r| key_with_settings(r?)).collect()
        })?;
        let n = keys.len();
        self.append_audit(
            AuditEvent::new(actor, "key.list", None, "ok").detail(json!({"count": n})),
        )?;
        Ok(keys)
    }

    fn revoke_key(&self, id: &str, actor: &Actor) -> StoreResult<bool> {
        let id = id.to_string();
        let actor = actor.clone();
        self.write(move |c| {
            let n = c.execute(
                "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id, now_ms()],
            )?;
            let result = if n == 1 { "ok" } else { "not_found" };
            insert_audit(c, AuditEvent::new(&actor, "key.revoke", Some(&id), result))?;
            Ok(n == 1)
        })
    }

    fn save_assessment(&self, new: NewAssessment) -> StoreResult<Assessment> {
        self.write(move |c| {
            let existing: Option<String> = c
                .query_row(
                    "SELECT id FROM assessments
                     WHERE session_id = ?1 AND owner = ?2 AND status != 'closed'
                     ORDER BY created_at DESC LIMIT 1",
                    params![new.session_id, new.owner],
                    |r| r.get(0),
                )
                .optional()?;
            let existing = match existing {
                Some(id) => load_assessment(c, &id)?,
                None => None,
            };
            let system = Actor::system();
            let owner = new.owner.clone();
            let (a, action, before) = next_assessment(existing, new, now_ms());
            write_assessment(c, &a)?;
            c.execute(
                "UPDATE assessments SET owner = ?2 WHERE id = ?1",
                params![a.id, owner],
            )?;
            write_revision(c, &a, action, &system, before)?;
            insert_audit(
                c,
                AuditEvent::new(&system, &format!("assessment.{action}"), Some(&a.id), "ok")
                    .detail(json!({"version": a.version, "urgency": a.urgency})),
            )?;
            Ok(a)
        })
    }

    fn assessment(&self, id: &str) -> StoreResult<Option<Assessment>> {
        self.read(|c| load_assessment(c, id))
    }

    fn queue(&self, f: &QueueFilter) -> StoreResult<Vec<Assessment>> {
        let statuses: Vec<&str> = if f.status.is_empty() {
            vec!["open", "claimed"]
        } else {
            f.status.iter().map(|s| s.as_str()).collect()
        };
        let limit = if f.limit == 0 { 50 } else { f.limit.min(500) };
        self.read(|c| {
            let placeholders = vec!["?"; statuses.len()].join(", ");
            let sql = format!(
                "SELECT {ASSESSMENT_COLS} FROM assessments WHERE status IN ({placeholders})
                 AND (?{u} IS NULL OR urgency = ?{u}) AND (?{k} IS NULL OR claimed_by = ?{k})
                 ORDER BY urgency_rank, created_at, id LIMIT {limit}",
                u = statuses.len() + 1,
                k = statuses.len() + 2,
            );
            let mut args: Vec<Option<String>> =
                statuses.iter().map(|s| Some(s.to_string())).collect();
            args.push(f.urgency.map(|u| u.as_str().to_string()));
            args.push(f.claimed_by.clone());
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args), assessment_from_row)?;
            rows.map(|r| assessment_from_values(r?)).collect()
        })
    }

    fn change_assessment(
        &self,
        id: &str,
        change: Change,
        actor: &Actor,
        expected_version: Option<i64>,
    ) -> StoreResult<Assessment> {
        let id = id.to_string();
        let actor = actor.clone();
        self.write(move |c| {
            let action = format!("assessment.{}", change.action());
            let Some(mut a) = load_assessment(c, &id)? else {
                return Err(StoreError::NotFound(format!("assessment {id}")));
            };
            if let Some(v) = expected_version.filter(|v| *v != a.version) {
                return Err(StoreError::Conflict(format!(
                    "assessment {id} is at version {}, not {v}",
                    a.version
                )));
            }
            let before = workflow(&a);
            apply(&mut a, &change, &actor)?;
            a.version += 1;
            a.updated_at = Some(now_ms());
            write_assessment(c, &a)?;
            write_revision(c, &a, change.action(), &actor, before)?;
            insert_audit(
                c,
                AuditEvent::new(&actor, &action, Some(&id), "ok")
                    .detail(json!({"version": a.version})),
            )?;
            Ok(a)
        })
    }

    fn revisions(&self, id: &str) -> StoreResult<Vec<Revision>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT assessment_id, version, action, actor, role, at, before, after
                 FROM assessment_revisions WHERE assessment_id = ?1 ORDER BY version",
            )?;
            let rows = st.query_map(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            rows.map(|r| {
                let (assessment_id, version, action, key_id, role, at, before, after) = r?;
                Ok(Revision {
                    assessment_id,
                    version,
                    action,
                    actor: Actor { key_id, role },
                    at,
                    before: serde_json::from_str(&before)?,
                    after: serde_json::from_str(&after)?,
                })
            })
            .collect()
        })
    }

    fn insert_training(&self, rec: &TrainingRecord) -> StoreResult<()> {
        let rec = rec.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO training_records (id, created_at, assessment_id, record)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    rec.id,
                    rec.created_at,
                    rec.assessment_id,
                    rec.record.to_string()
                ],
            )?;
            Ok(())
        })
    }

    fn save_response(&self, r: &StoredResponse) -> StoreResult<()> {
        let r = r.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO responses (id, owner, created_at, body, conversation)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    r.id,
                    r.owner,
                    r.created_at,
                    r.body.to_string(),
                    r.conversation.to_string()
                ],
            )?;
            Ok(())
        })
    }

    fn response(&self, id: &str) -> StoreResult<Option<StoredResponse>> {
        self.read(|c| {
            let row = c
                .query_row(
                    "SELECT id, owner, created_at, body, conversation FROM responses WHERE id = ?1",
                    params![id],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, String>(4)?,
                        ))
                    },
                )
                .optional()?;
            row.map(|(id, owner, created_at, body, conversation)| {
                Ok(StoredResponse {
                    id,
                    owner,
                    created_at,
                    body: serde_json::from_str(&body)?,
                    conversation: serde_json::from_str(&conversation)?,
                })
            })
            .transpose()
        })
    }

    fn delete_response(&self, id: &str) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |c| Ok(c.execute("DELETE FROM responses WHERE id = ?1", params![id])? > 0))
    }

    fn training_records(&self) -> StoreResult<Vec<TrainingRecord>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, created_at, assessment_id, record FROM training_records
                 ORDER BY created_at, id",
            )?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            rows.map(|r| {
                let (id, created_at, assessment_id, record) = r?;
                Ok(TrainingRecord {
                    id,
                    created_at,
                    assessment_id,
                    record: serde_json::from_str(&record)?,
                })
            })
            .collect()
        })
    }

    fn append_audit(&self, event: AuditEvent) -> StoreResult<i64> {
        self.write(move |c| insert_audit(c, event))
    }

    fn audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        let limit = if f.limit == 0 { 100 } else { f.limit.min(1000) } as i64;
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT id, at, actor, role, action, target, result, detail FROM audit
                 WHERE id > ?1 AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR actor = ?3)
                 ORDER BY id LIMIT ?4",
            )?;
            let rows = st.query_map(params![f.after_id, f.action, f.actor, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })?;
            rows.map(|r| {
                let (id, at, key_id, role, action, target, result, detail) = r?;
                Ok(AuditEvent {
                    id,
                    at,
                    actor: Actor { key_id, role },
                    action,
                    target,
                    result,
                    detail: serde_json::from_str(&detail)?,
                })
            })
            .collect()
        })
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Closing the channel ends the writer thread after the jobs already sent.
        if let Ok(mut j) = self.jobs.lock() {
            j.take();
        }
    }
}

#[cfg(test)]
mod tests;
