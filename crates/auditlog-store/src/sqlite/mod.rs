//! The embedded store: one SQLite file in WAL mode, created and migrated on
//! first use.
//!
//! One writer thread owns the write connection. Concurrent inserts queue up
//! and are committed together (group commit), each caller still getting its
//! own result; a batch that fails is retried job by job so one bad job never
//! fails another. Reads run on a small pool of read connections, which WAL
//! lets proceed alongside the writer.

mod dialect;
mod retention;
pub mod schema;
mod tree;
mod uow;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::config::SqliteSync;
use auditlog_core::{Event, Resource, Timestamp, User};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;
use uuid::Uuid;

pub use dialect::{SqliteDialect, glob};
pub use retention::RetentionLock;
pub use uow::{UnitOfWork, UowError};

use crate::backend::search::SearchSql;
use crate::backend::{EVENT_COLUMNS, text_keys};
use crate::error::StoreError;
use crate::search::{FacetCell, SearchPlan, StoreHits};
use crate::sql::{Param, flatten_metadata};
use crate::store::{EventStore, RetentionStore, TreeStore};

/// Connection settings.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub synchronous: SqliteSync,
    /// How long a writer waits for another process's lock before failing.
    pub busy_timeout: Duration,
    /// Notified after each commit of the store's own inserts: the caller's
    /// wake-up for whoever waits for new events (the sequencer).
    pub commits: Option<Arc<tokio::sync::Notify>>,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions { synchronous: SqliteSync::Full, busy_timeout: Duration::from_secs(10), commits: None }
    }
}

/// The file path of a `sqlite://PATH` (or `sqlite:PATH`) URL.
pub fn path_from_url(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    (!rest.is_empty()).then(|| PathBuf::from(rest))
}

/// Opens a connection with the store's settings (WAL, busy timeout,
/// synchronous mode). Hosts use it for the connection their units of work
/// run on.
pub fn open_connection(path: &Path, opts: &SqliteOptions) -> Result<Connection, StoreError> {
    let location = path.display().to_string();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::open(&location, format!("cannot create the directory {}", dir.display()), Some(e.into()))
        })?;
    }
    let err = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Locked { location: location.clone(), waited_ms: opts.busy_timeout.as_millis() as u64 }
        }
        _ => StoreError::open(&location, schema::describe(&e), Some(e.into())),
    };
    let conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(opts.busy_timeout).map_err(err)?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::open(location, format!("cannot switch to WAL mode (journal mode is {mode})"), None));
    }
    let sync = match opts.synchronous {
        SqliteSync::Full => "FULL",
        SqliteSync::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;"
    ))
    .map_err(err)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

enum Job {
    Insert { events: Vec<Event>, done: oneshot::Sender<Result<(), StoreError>> },
    Run(Box<dyn FnOnce(&mut Connection) + Send>),
}

/// The embedded store.
pub struct SqliteStore {
    path: PathBuf,
    opts: SqliteOptions,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Arc<ReaderPool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

/// Most inserts committed in one group transaction.
const GROUP_COMMIT_MAX_EVENTS: usize = 10_000;

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: impl Into<PathBuf>, opts: SqliteOptions) -> Result<Self, StoreError> {
        let path = path.into();
        let mut conn = open_connection(&path, &opts)?;
        schema::migrate(&mut conn, &path.display().to_string())?;
        optimize(&conn, true);
        let (tx, rx) = mpsc::channel::<Job>();
        let commits = opts.commits.clone();
        std::thread::Builder::new()
            .name("auditlog-sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, commits.as_deref()))
            .map_err(|e| StoreError::internal_from("cannot start the SQLite writer thread", e))?;
        Ok(SqliteStore {
            readers: Arc::new(ReaderPool { path: path.clone(), opts: opts.clone(), idle: Mutex::new(Vec::new()) }),
            path,
            opts,
            writer: Mutex::new(tx),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn options(&self) -> &SqliteOptions {
        &self.opts
    }

    /// A new connection to the same database, for a host's own transactions.
    pub fn connect(&self) -> Result<Connection, StoreError> {
        open_connection(&self.path, &self.opts)
    }

    fn send(&self, job: Job) -> Result<(), StoreError> {
        self.writer
            .lock()
            .map_err(|_| StoreError::internal("writer lock poisoned"))?
            .send(job)
            .map_err(|_| StoreError::internal("the SQLite writer thread has stopped"))
    }

    /// Runs `f` on the write connection (serialised with inserts).
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(Job::Run(Box::new(move |conn| {
            let _ = tx.send(f(conn));
        })))?;
        rx.await.map_err(|_| StoreError::internal("the SQLite writer thread has stopped"))?
    }

    /// Runs `f` on a read connection, off the async runtime.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || pool.with(f))
            .await
            .map_err(|e| StoreError::internal_from("a read failed", e))?
    }
}

/// Keeps the query planner's statistics current (`PRAGMA optimize`, with a
/// bounded `ANALYZE`): without them SQLite may pick a weak index for a
/// multi-column filter. `all` checks every table (at open).
fn optimize(conn: &Connection, all: bool) {
    let sql = if all {
        "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;"
    } else {
        "PRAGMA analysis_limit = 1000; PRAGMA optimize;"
    };
    if let Err(e) = conn.execute_batch(sql) {
        tracing::warn!(error = %e, "PRAGMA optimize failed");
    }
}

/// Inserted events between two `PRAGMA optimize` runs of the writer.
const OPTIMIZE_EVERY: usize = 100_000;

/// How long the writer waits for work before it indexes queued full-text
/// entries of host units of work.
const FTS_QUEUE_TICK: Duration = Duration::from_millis(200);

fn flush_quietly(conn: &mut Connection) {
    if let Err(e) = flush_fts_queue(conn) {
        tracing::warn!(error = %e, "indexing queued full-text entries failed; will retry");
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>, commits: Option<&tokio::sync::Notify>) {
    let mut pending: Option<Job> = None;
    let mut since_optimize = 0usize;
    loop {
        let job = match pending.take() {
            Some(j) => j,
            None => match rx.recv_timeout(FTS_QUEUE_TICK) {
                Ok(j) => j,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    flush_quietly(&mut conn);
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    flush_quietly(&mut conn);
                    return;
                }
            },
        };
        match job {
            Job::Run(f) => f(&mut conn),
            Job::Insert { events, done } => {
                let mut batch = vec![(events, done)];
                let mut n = batch[0].0.len();
                while n < GROUP_COMMIT_MAX_EVENTS {
                    match rx.try_recv() {
                        Ok(Job::Insert { events, done }) => {
                            n += events.len();
                            batch.push((events, done));
                        }
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                commit_group(&mut conn, batch);
                if let Some(wake) = commits {
                    wake.notify_one();
                }
                since_optimize += n;
                if since_optimize >= OPTIMIZE_EVERY {
                    since_optimize = 0;
                    optimize(&conn, false);
                }
            }
        }
    }
}

type InsertJob = (Vec<Event>, oneshot::Sender<Result<(), StoreError>>);

fn commit_group(conn: &mut Connection, batch: Vec<InsertJob>) {
    let mut all = || -> Result<(), StoreError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
        for (events, _) in &batch {
            insert_events(&tx, events, TextIndex::Now)?;
        }
        tx.commit().map_err(map_err)
    };
    match all() {
        Ok(()) => {
            for (_, done) in batch {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) if batch.len() == 1 => {
            if let Some((_, done)) = batch.into_iter().next() {
                let _ = done.send(Err(e));
            }
        }
        Err(_) => {
            // Isolate the failing job: every other caller still succeeds.
            for (events, done) in batch {
                let mut one = || -> Result<(), StoreError> {
                    let tx =
                        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
                    insert_events(&tx, &events, TextIndex::Now)?;
                    tx.commit().map_err(map_err)
                };
                let _ = done.send(one());
            }
        }
    }
}

pub(crate) fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Locked { location: "(open database)".into(), waited_ms: 0 }
        }
        _ => StoreError::internal_from(schema::describe(&e), e),
    }
}

/// Where an inserted event's full-text entry goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextIndex {
    /// Into the FTS5 index, in this transaction (the writer's batches).
    Now,
    /// Into `audit_fts_queue`, for the writer to index in a batch
    /// ([`flush_fts_queue`]). Host units of work commit one event at a time;
    /// indexing each in its own commit makes FTS5 merge its segments inside
    /// host commits, which grows with the index.
    Queue,
}

/// Whether host units of work have full-text entries waiting.
fn fts_queued(conn: &Connection) -> Result<bool, StoreError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM audit_fts_queue)", [], |r| r.get(0)).map_err(map_err)
}

/// Indexes every queued full-text entry, in one transaction. Searches that
/// use the full-text index call it first, so they see every committed event.
pub fn flush_fts_queue(conn: &mut Connection) -> Result<u64, StoreError> {
    if !fts_queued(conn)? {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(map_err)?;
    let n = move_fts_queue(&tx)?;
    tx.commit().map_err(map_err)?;
    Ok(n)
}

/// Moves queued full-text entries into the index, in the caller's transaction.
pub(crate) fn move_fts_queue(conn: &Connection) -> Result<u64, StoreError> {
    let n = conn
        .execute(
            "INSERT INTO audit_fts (rowid, message, keys, email, meta)
             SELECT seq, message, keys, email, meta FROM audit_fts_queue ORDER BY seq",
            [],
        )
        .map_err(map_err)?;
    conn.execute("DELETE FROM audit_fts_queue", []).map_err(map_err)?;
    Ok(n as u64)
}

/// Writes events with everything that indexes them: the row, its metadata
/// leaves, its full-text entry, the facet counters and the pending leaf.
/// Runs inside the caller's transaction (the store's own, or a host's unit
/// of work).
pub fn insert_events(conn: &Connection, events: &[Event], text: TextIndex) -> Result<(), StoreError> {
    let mut ins = conn
        .prepare_cached(
            "INSERT INTO audit_events (id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(map_err)?;
    let mut meta = conn
        .prepare_cached("INSERT OR IGNORE INTO audit_meta (path, value, num, seq) VALUES (?1, ?2, ?3, ?4)")
        .map_err(map_err)?;
    let mut fts = conn
        .prepare_cached(match text {
            TextIndex::Now => "INSERT INTO audit_fts (rowid, message, keys, email, meta) VALUES (?1, ?2, ?3, ?4, ?5)",
            TextIndex::Queue => {
                "INSERT INTO audit_fts_queue (seq, message, keys, email, meta) VALUES (?1, ?2, ?3, ?4, ?5)"
            }
        })
        .map_err(map_err)?;
    let mut pending = conn
        .prepare_cached("INSERT INTO audit_pending (seq, event_id, created, leaf_hash) VALUES (?1, ?2, ?3, ?4)")
        .map_err(map_err)?;
    let mut counts: HashMap<(&str, &str), i64> = HashMap::new();
    let mut id_buf = Uuid::encode_buffer();
    for e in events {
        let id: &str = e.id.hyphenated().encode_lower(&mut id_buf);
        let metadata = serde_json::to_string(&e.metadata)
            .map_err(|err| StoreError::internal_from("cannot write an event's metadata as JSON", err))?;
        ins.execute(params![
            id,
            e.created.as_micros(),
            e.action,
            e.resource.kind,
            e.resource.id,
            e.user.id,
            e.user.username,
            e.user.email,
            metadata,
            e.message
        ])
        .map_err(|err| match err.sqlite_error_code() {
            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Duplicate(e.id),
            _ => map_err(err),
        })?;
        let seq = conn.last_insert_rowid();
        let leaves = flatten_metadata(&e.metadata);
        let mut meta_text = String::new();
        for l in &leaves {
            meta.execute(params![l.path, l.value, l.num, seq]).map_err(map_err)?;
            meta_text.push_str(&l.value);
            meta_text.push(' ');
        }
        fts.execute(params![seq, e.message, text_keys(e, id), e.user.email, meta_text]).map_err(map_err)?;
        let leaf = auditlog_transparency::leaf_hash_of(e);
        pending.execute(params![seq, id, e.created.as_micros(), &leaf[..]]).map_err(map_err)?;
        *counts.entry((&e.resource.kind, &e.action)).or_default() += 1;
    }
    let mut upd = conn
        .prepare_cached(
            "INSERT INTO audit_counts (resource_type, action, n) VALUES (?1, ?2, ?3)
             ON CONFLICT (resource_type, action) DO UPDATE SET n = n + excluded.n",
        )
        .map_err(map_err)?;
    for ((r, a), n) in counts {
        upd.execute(params![r, a, n]).map_err(map_err)?;
    }
    Ok(())
}

/// An event from the `EVENT_COLUMNS` of a row, starting at column `at`.
pub(crate) fn row_to_event(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Event> {
    let bad =
        |i: usize, msg: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, msg.into());
    let id: String = r.get(at)?;
    let created: i64 = r.get(at + 1)?;
    let metadata: String = r.get(at + 8)?;
    Ok(Event {
        id: id.parse().map_err(|e| bad(at, format!("bad event id {id:?}: {e}")))?,
        created: Timestamp::from_micros(created).ok_or_else(|| bad(at + 1, format!("bad time {created}")))?,
        action: r.get(at + 2)?,
        resource: Resource { kind: r.get(at + 3)?, id: r.get(at + 4)? },
        user: User { id: r.get(at + 5)?, username: r.get(at + 6)?, email: r.get(at + 7)? },
        metadata: serde_json::from_str(&metadata).map_err(|e| bad(at + 8, format!("bad metadata JSON: {e}")))?,
        message: r.get(at + 9)?,
    })
}

fn to_sql(p: &Param) -> rusqlite::types::Value {
    match p {
        Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
        Param::Int(i) => rusqlite::types::Value::Integer(*i),
        Param::Real(f) => rusqlite::types::Value::Real(*f),
        Param::Time(t) => rusqlite::types::Value::Integer(t.timestamp_micros()),
    }
}

/// Runs a search plan on one connection.
pub fn search_on(conn: &Connection, plan: &SearchPlan) -> Result<StoreHits, StoreError> {
    let q = SearchSql::new(&SqliteDialect, plan);
    let mut stmt = conn.prepare_cached(&q.hits.text).map_err(map_err)?;
    let hits = stmt
        .query_map(rusqlite::params_from_iter(q.hits.params.iter().map(to_sql)), |r| row_to_event(r, 0))
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    let mut out = StoreHits { hits, cells: Vec::new() };
    if let Some(a) = q.cells {
        let mut stmt = conn.prepare_cached(&a.text).map_err(map_err)?;
        out.cells = stmt
            .query_map(rusqlite::params_from_iter(a.params.iter().map(to_sql)), |r| {
                Ok(FacetCell { resource_type: r.get(0)?, action: r.get(1)?, count: r.get::<_, i64>(2)? as u64 })
            })
            .map_err(map_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(map_err)?;
    }
    Ok(out)
}

/// Ids as a JSON array, for `json_each`: one parameter for any number.
fn json_ids(ids: &[Uuid]) -> Result<String, StoreError> {
    serde_json::to_string(&ids.iter().map(Uuid::to_string).collect::<Vec<_>>())
        .map_err(|e| StoreError::internal_from("cannot write ids as JSON", e))
}

struct ReaderPool {
    path: PathBuf,
    opts: SqliteOptions,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let conn = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match conn {
            Some(c) => c,
            None => open_connection(&self.path, &self.opts)?,
        };
        let out = f(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < 8
        {
            idle.push(conn);
        }
        out
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn insert(&self, events: Vec<Event>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let (done, rx) = oneshot::channel();
        self.send(Job::Insert { events, done })?;
        rx.await.map_err(|_| StoreError::internal("the SQLite writer thread has stopped"))?
    }

    async fn get(&self, id: Uuid) -> Result<Option<Event>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.id = ?1"))
                .map_err(map_err)?
                .query_row([id.to_string()], |r| row_to_event(r, 0))
                .optional()
                .map_err(map_err)
        })
        .await
    }

    async fn get_many(&self, ids: Vec<Uuid>) -> Result<Vec<Event>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = json_ids(&ids)?;
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.id IN (SELECT value FROM json_each(?1))"
                ))
                .map_err(map_err)?;
            let rows = stmt.query_map([ids], |r| row_to_event(r, 0)).map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
        .await
    }

    async fn search(&self, plan: &SearchPlan) -> Result<StoreHits, StoreError> {
        // Free text reads the FTS5 index: when host units of work have
        // queued entries, the writer indexes them first and the search runs
        // again, so it sees every committed event. (Usually the queue is
        // empty and the check costs one lookup in the same read.)
        let plan = Arc::new(plan.clone());
        let text = plan.base.uses_text();
        let first = plan.clone();
        let hits =
            self.read(move |c| if text && fts_queued(c)? { Ok(None) } else { search_on(c, &first).map(Some) }).await?;
        if let Some(hits) = hits {
            return Ok(hits);
        }
        self.write(flush_fts_queue).await?;
        self.read(move |c| search_on(c, &plan)).await
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT user_id, user_username, user_email FROM audit_events WHERE user_id = ?1 ORDER BY created DESC LIMIT 1",
            )
            .map_err(map_err)?
            .query_row([id], |r| Ok(User { id: r.get(0)?, username: r.get(1)?, email: r.get(2)? }))
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.read(|c| {
            c.query_row("SELECT coalesce(sum(n), 0) FROM audit_counts", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(map_err)
        })
        .await
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.read(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_err)).await
    }
}

#[async_trait]
impl RetentionStore for SqliteStore {
    async fn run_retention(
        &self,
        policy: &crate::retention::RetentionPolicy,
        now: Timestamp,
        mode: crate::retention::RetentionMode,
    ) -> Result<crate::retention::RetentionReport, StoreError> {
        retention::run(self, policy, now, mode).await
    }
}

#[async_trait]
impl TreeStore for SqliteStore {
    type Error = StoreError;

    async fn integrate(&self, max: usize) -> Result<auditlog_transparency::Integration, StoreError> {
        self.write(move |c| tree::integrate(c, max)).await
    }

    async fn tree_size(&self) -> Result<u64, StoreError> {
        self.read(tree::size).await
    }

    async fn tree_nodes(
        &self,
        ids: Vec<auditlog_merkle::NodeId>,
    ) -> Result<Vec<Option<auditlog_transparency::Hash>>, StoreError> {
        self.read(move |c| tree::nodes(c, &ids)).await
    }

    async fn leaf_for_event(&self, id: Uuid) -> Result<Option<auditlog_transparency::Leaf>, StoreError> {
        self.read(move |c| tree::leaf_for_event(c, id)).await
    }

    async fn leaves_for_events(&self, ids: Vec<Uuid>) -> Result<Vec<auditlog_transparency::Leaf>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = json_ids(&ids)?;
        self.read(move |c| tree::leaves_for_events(c, &ids)).await
    }

    async fn leaves_with_events(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(auditlog_transparency::Leaf, Option<Event>)>, StoreError> {
        self.read(move |c| tree::leaves_with_events(c, from, limit)).await
    }

    async fn unlogged_events(&self, limit: usize) -> Result<Vec<Uuid>, StoreError> {
        self.read(move |c| tree::unlogged_events(c, limit)).await
    }

    async fn pending_count(&self) -> Result<u64, StoreError> {
        self.read(tree::pending_count).await
    }

    async fn save_checkpoint(&self, checkpoint: &auditlog_transparency::StoredCheckpoint) -> Result<(), StoreError> {
        let cp = checkpoint.clone();
        self.write(move |c| tree::save_checkpoint(c, &cp)).await
    }

    async fn checkpoint(
        &self,
        size: Option<u64>,
    ) -> Result<Option<auditlog_transparency::StoredCheckpoint>, StoreError> {
        self.read(move |c| tree::checkpoint(c, size)).await
    }
}
