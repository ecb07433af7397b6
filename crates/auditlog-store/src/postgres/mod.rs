//! The production store: PostgreSQL through a deadpool connection pool.
//!
//! Events live in one table range-partitioned by month ([`schema`],
//! [`partitions`]); metadata is JSONB searched with jsonpath; free text is a
//! tsvector built in Rust so that it tokenizes exactly like SQLite's FTS5
//! index ([`dialect`]); facet counts are insert-only deltas ([`counts`]).
//! Queries are lowered once ([`crate::lower`]) and rendered by [`PgDialect`].
//!
//! Connections fail fast: a pool that cannot hand out a connection within
//! [`PgOptions::wait_timeout`], or a server that cannot be reached within
//! [`PgOptions::connect_timeout`], yields [`StoreError::Unavailable`] so a
//! server answers 503 instead of hanging. Every checkout verifies its
//! connection, so the pool recovers by itself once the database is back.

mod counts;
mod dialect;
mod partitions;
mod retention;
mod schema;
mod tree;
mod uow;

use std::time::Duration;

use async_trait::async_trait;
use auditlog_core::{Event, Resource, Timestamp, User};
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{GenericClient, NoTls, Row};
use uuid::Uuid;

pub use dialect::{PgDialect, fold, index_tokens, like};
pub use partitions::{MONTHS_AHEAD, Partition, PartitionReport, partition_name};
pub use retention::RetentionLock;
pub use schema::LATEST;
pub use uow::{UnitOfWork, UowError};

use crate::backend::EVENT_COLUMNS;
use crate::backend::search::SearchSql;
use crate::error::StoreError;
use crate::retention::{RetentionMode, RetentionPolicy, RetentionReport};
use crate::search::{SearchPlan, StoreHits};
use crate::sql::{Param, Sql};
use crate::store::{EventStore, RetentionStore, TreeStore};

/// Connection settings. The defaults fail fast: two seconds to get a
/// connection, thirty for a statement.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Largest number of pooled connections.
    pub max_connections: usize,
    /// Longest wait to open a connection to the server.
    pub connect_timeout: Duration,
    /// Longest wait for a free pooled connection.
    pub wait_timeout: Duration,
    /// Server-side `statement_timeout` of every session; `None` leaves the
    /// server's (or the URL's `options=-c statement_timeout=...`) in force.
    /// Migrations and partition maintenance lift it for their DDL.
    pub statement_timeout: Option<Duration>,
    /// Notified after each commit of the store's own inserts: the caller's
    /// wake-up for whoever waits for new events (the sequencer).
    pub commits: Option<std::sync::Arc<tokio::sync::Notify>>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            connect_timeout: Duration::from_secs(2),
            wait_timeout: Duration::from_secs(2),
            statement_timeout: Some(Duration::from_secs(30)),
            commits: None,
        }
    }
}

/// Whether a `database_url` names PostgreSQL.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Advisory lock classes (the first key of the two-key form; the second is
/// a hash of the schema, so stores in different schemas of one database,
/// such as the tests', never contend).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub(crate) enum LockClass {
    Migrate = 0x6175_6401,
    Partitions = 0x6175_6402,
    Retention = 0x6175_6403,
    Counts = 0x6175_6404,
    Sequencer = 0x6175_6405,
}

/// The PostgreSQL store.
pub struct PgStore {
    pool: Pool,
    location: String,
    commits: Option<std::sync::Arc<tokio::sync::Notify>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("location", &self.location).finish()
    }
}

impl PgStore {
    /// A store for a `postgres://` URL. Opens no connection yet: the first
    /// call that needs one does (see [`PgStore::migrate`]).
    pub fn connect(url: &str, opts: PgOptions) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::open("PostgreSQL", "the database URL is not a valid PostgreSQL URL", Some(e.into()))
        })?;
        Self::connect_with(config, opts)
    }

    /// Like [`PgStore::connect`], from a parsed configuration.
    pub fn connect_with(mut config: tokio_postgres::Config, opts: PgOptions) -> Result<Self, StoreError> {
        let location = describe(&config);
        config.connect_timeout(opts.connect_timeout);
        // Notice a vanished server or a cut network within a minute or so.
        config.keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("auditlog");
        }
        if let Some(t) = opts.statement_timeout {
            let existing = config.get_options().unwrap_or("").to_owned();
            if !existing.contains("statement_timeout") {
                config.options(format!("{existing} -c statement_timeout={}", t.as_millis()).trim_start());
            }
        }
        // `Verified` runs an empty query on every checkout: a connection the
        // server has closed is replaced instead of failing the caller.
        let manager =
            Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(opts.max_connections.max(1))
            .wait_timeout(Some(opts.wait_timeout))
            .create_timeout(Some(opts.connect_timeout))
            .recycle_timeout(Some(opts.connect_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::open(&location, "cannot set up the connection pool", Some(e.into())))?;
        Ok(PgStore { pool, location, commits: opts.commits })
    }

    /// `postgres://host:port/dbname`, without credentials.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The connection pool, for a host's own transactions (see
    /// [`UnitOfWork`]).
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Closes the pool: idle connections now, busy ones when returned.
    pub fn close(&self) {
        self.pool.close();
    }

    /// A pooled connection, or why there is none.
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            PoolError::Timeout(kind) => StoreError::unavailable(format!(
                "no database connection to {} within the timeout ({})",
                self.location,
                match kind {
                    deadpool_postgres::TimeoutType::Wait => "all connections busy",
                    deadpool_postgres::TimeoutType::Create => "connecting",
                    deadpool_postgres::TimeoutType::Recycle => "checking a pooled connection",
                }
            )),
            PoolError::Backend(e) => match e.as_db_error().map(|d| d.code().code()) {
                // Wrong password, unknown role or database: not transient.
                Some(code) if code.starts_with("28") || code == "3D000" => StoreError::open(
                    &self.location,
                    "the server refused the login or does not have the database",
                    Some(e.into()),
                ),
                _ => match map_pg(e) {
                    StoreError::Unavailable { message, source } => {
                        StoreError::Unavailable { message: format!("{}: {message}", self.location), source }
                    }
                    other => other,
                },
            },
            PoolError::Closed => StoreError::unavailable("the connection pool is closed"),
            PoolError::NoRuntimeSpecified => StoreError::internal("the connection pool has no runtime"),
            PoolError::PostCreateHook(e) => StoreError::unavailable_from("a new connection failed its setup", e),
        })
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("postgres://{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}

/// A PostgreSQL error as a store error: lost or refused connections,
/// server shutdowns and statement timeouts are [`StoreError::Unavailable`].
pub(crate) fn map_pg(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        return if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300") {
            StoreError::unavailable_from(format!("the server cannot serve the connection [SQLSTATE {code}]"), e)
        } else if code == "57014" {
            StoreError::unavailable_from("the database did not answer in time", e)
        } else if code == "55P03" {
            StoreError::unavailable_from("the database is busy", e)
        } else {
            StoreError::internal_from(format!("the statement failed [SQLSTATE {code}]"), e)
        };
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        StoreError::unavailable_from("the connection to the server failed", e)
    } else {
        StoreError::internal_from("the PostgreSQL client failed", e)
    }
}

/// Writes events with their full-text vectors and facet count deltas, in
/// the caller's transaction (the store's own or a host's unit of work).
pub async fn insert_events(c: &(impl GenericClient + Sync), events: &[Event]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = events.iter().find(|e| !seen.insert(e.id)) {
        return Err(StoreError::Duplicate(dup.id));
    }
    let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
    let created: Vec<chrono::DateTime<chrono::Utc>> = events.iter().map(|e| e.created.as_datetime()).collect();
    let action: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    let rtype: Vec<&str> = events.iter().map(|e| e.resource.kind.as_str()).collect();
    let rid: Vec<&str> = events.iter().map(|e| e.resource.id.as_str()).collect();
    let uid: Vec<&str> = events.iter().map(|e| e.user.id.as_str()).collect();
    let uname: Vec<Option<&str>> = events.iter().map(|e| e.user.username.as_deref()).collect();
    let email: Vec<&str> = events.iter().map(|e| e.user.email.as_str()).collect();
    let metadata: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(&e.metadata))
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::internal_from("cannot write an event's metadata as JSON", e))?;
    let message: Vec<&str> = events.iter().map(|e| e.message.as_str()).collect();
    let fts: Vec<String> = events.iter().map(dialect::tsvector).collect();
    let leaves: Vec<auditlog_transparency::Hash> = events.iter().map(auditlog_transparency::leaf_hash_of).collect();
    let leaf_hashes: Vec<&[u8]> = leaves.iter().map(|h| &h[..]).collect();
    let r = c
        .execute_typed(
            "WITH ins AS (
                 INSERT INTO audit_events
                     (id, created, action, resource_type, resource_id, user_id, user_username, user_email, metadata, message, fts)
                 SELECT u.id, u.created, u.action, u.rtype, u.rid, u.uid, u.uname, u.email, u.metadata::jsonb, u.message, u.fts::tsvector
                 FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                      AS u(id, created, action, rtype, rid, uid, uname, email, metadata, message, fts)
                 RETURNING seq, id, created
             )
             INSERT INTO audit_pending (seq, id, created, leaf_hash)
             SELECT ins.seq, ins.id, ins.created, h.hash FROM ins JOIN unnest($1, $12) AS h(id, hash) ON h.id = ins.id",
            &[
                (&ids, Type::UUID_ARRAY),
                (&created, Type::TIMESTAMPTZ_ARRAY),
                (&action, Type::TEXT_ARRAY),
                (&rtype, Type::TEXT_ARRAY),
                (&rid, Type::TEXT_ARRAY),
                (&uid, Type::TEXT_ARRAY),
                (&uname, Type::TEXT_ARRAY),
                (&email, Type::TEXT_ARRAY),
                (&metadata, Type::TEXT_ARRAY),
                (&message, Type::TEXT_ARRAY),
                (&fts, Type::TEXT_ARRAY),
                (&leaf_hashes, Type::BYTEA_ARRAY),
            ],
        )
        .await;
    if let Err(e) = r {
        return Err(match e.as_db_error() {
            Some(db) if db.code().code() == "23505" => {
                // "Key (id, created)=(<uuid>, ...) already exists."
                let id = db
                    .detail()
                    .and_then(|d| d.split_once("=(").and_then(|(_, rest)| rest.get(..36)))
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .or_else(|| (events.len() == 1).then(|| events[0].id));
                match id {
                    Some(id) => StoreError::Duplicate(id),
                    None => map_pg(e),
                }
            }
            _ => map_pg(e),
        });
    }
    let mut deltas: std::collections::BTreeMap<(&str, &str), i64> = std::collections::BTreeMap::new();
    for e in events {
        *deltas.entry((&e.resource.kind, &e.action)).or_default() += 1;
    }
    counts::add(c, deltas.into_iter().map(|((r, a), n)| (r, a, n))).await
}

fn row_to_event(r: &Row) -> Result<Event, StoreError> {
    row_to_event_at(r, 0)
}

/// An event from the `EVENT_COLUMNS` of a row, starting at column `at`.
pub(crate) fn row_to_event_at(r: &Row, at: usize) -> Result<Event, StoreError> {
    let bad = |e: tokio_postgres::Error| StoreError::internal_from("unreadable stored event", e);
    let id: Uuid = r.try_get(at).map_err(bad)?;
    let created: chrono::DateTime<chrono::Utc> = r.try_get(at + 1).map_err(bad)?;
    let metadata = match r.try_get::<_, serde_json::Value>(at + 8).map_err(bad)? {
        serde_json::Value::Object(m) => m,
        other => return Err(StoreError::internal(format!("event {id}: metadata is not an object: {other}"))),
    };
    Ok(Event {
        id,
        created: Timestamp::from_datetime(created),
        action: r.try_get(at + 2).map_err(bad)?,
        resource: Resource { kind: r.try_get(at + 3).map_err(bad)?, id: r.try_get(at + 4).map_err(bad)? },
        user: User {
            id: r.try_get(at + 5).map_err(bad)?,
            username: r.try_get(at + 6).map_err(bad)?,
            email: r.try_get(at + 7).map_err(bad)?,
        },
        metadata,
        message: r.try_get(at + 9).map_err(bad)?,
    })
}

/// Column `i` of a row, or why it cannot be read (never a panic).
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(|e| StoreError::internal_from(format!("unreadable column {i}"), e))
}

/// The parameters of built SQL with their types.
fn typed(params: &[Param]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(s) => (s as &(dyn ToSql + Sync), Type::TEXT),
            Param::Int(i) => (i as &(dyn ToSql + Sync), Type::INT8),
            Param::Real(f) => (f as &(dyn ToSql + Sync), Type::FLOAT8),
            Param::Time(t) => (t as &(dyn ToSql + Sync), Type::TIMESTAMPTZ),
        })
        .collect()
}

/// Runs built SQL (one round trip: types are given, nothing is prepared).
async fn query(c: &(impl GenericClient + Sync), q: &Sql) -> Result<Vec<Row>, StoreError> {
    c.query_typed(&q.text, &typed(&q.params)).await.map_err(map_pg)
}

/// Runs a search plan on one connection.
pub async fn search_on(c: &(impl GenericClient + Sync), plan: &SearchPlan) -> Result<StoreHits, StoreError> {
    let q = SearchSql::new(&PgDialect, plan);
    let hits = query(c, &q.hits).await?.iter().map(row_to_event).collect::<Result<Vec<_>, _>>()?;
    let mut out = StoreHits { hits, cells: Vec::new() };
    if let Some(a) = q.cells {
        out.cells = query(c, &a).await?.iter().map(counts::cell).collect::<Result<_, _>>()?;
    }
    Ok(out)
}

/// Housekeeping after a read: its failure must not fail the read.
async fn compact_quietly(client: &mut tokio_postgres::Client) {
    if let Err(e) = counts::compact_if_needed(client).await {
        tracing::warn!(error = %e, "could not compact the facet counts");
    }
}

#[async_trait]
impl EventStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn insert(&self, events: Vec<Event>) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_pg)?;
        insert_events(&*tx, &events).await?;
        tx.commit().await.map_err(map_pg)?;
        if let Some(wake) = &self.commits {
            wake.notify_one();
        }
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<Event>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_typed(&format!("SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.id = $1"), &[(&id, Type::UUID)])
            .await
            .map_err(map_pg)?;
        rows.first().map(row_to_event).transpose()
    }

    async fn get_many(&self, ids: Vec<Uuid>) -> Result<Vec<Event>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query_typed(
                &format!("SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.id = ANY($1)"),
                &[(&ids, Type::UUID_ARRAY)],
            )
            .await
            .map_err(map_pg)?;
        rows.iter().map(row_to_event).collect()
    }

    async fn search(&self, plan: &SearchPlan) -> Result<StoreHits, StoreError> {
        let mut client = self.client().await?;
        let hits = search_on(&**client, plan).await?;
        if plan.aggregate && plan.base == crate::lower::Cond::True {
            compact_quietly(&mut client).await;
        }
        Ok(hits)
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query_typed(
                "SELECT user_id, user_username, user_email FROM audit_events
                 WHERE user_id = $1 ORDER BY created DESC, seq DESC LIMIT 1",
                &[(&id, Type::TEXT)],
            )
            .await
            .map_err(map_pg)?;
        rows.first()
            .map(|r| {
                let bad = |e: tokio_postgres::Error| StoreError::internal_from("unreadable stored user", e);
                Ok(User {
                    id: r.try_get(0).map_err(bad)?,
                    username: r.try_get(1).map_err(bad)?,
                    email: r.try_get(2).map_err(bad)?,
                })
            })
            .transpose()
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let mut client = self.client().await?;
        let n = counts::total(&**client).await?;
        compact_quietly(&mut client).await;
        Ok(n)
    }

    async fn health(&self) -> Result<(), StoreError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(map_pg)?;
        Ok(())
    }
}

#[async_trait]
impl RetentionStore for PgStore {
    async fn run_retention(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        mode: RetentionMode,
    ) -> Result<RetentionReport, StoreError> {
        retention::run(self, policy, now, mode).await
    }
}

#[async_trait]
impl TreeStore for PgStore {
    type Error = StoreError;

    async fn integrate(&self, max: usize) -> Result<auditlog_transparency::Integration, StoreError> {
        tree::integrate(self, max).await
    }

    async fn tree_size(&self) -> Result<u64, StoreError> {
        tree::size(&**self.client().await?).await
    }

    async fn tree_nodes(
        &self,
        ids: Vec<auditlog_merkle::NodeId>,
    ) -> Result<Vec<Option<auditlog_transparency::Hash>>, StoreError> {
        tree::nodes(&**self.client().await?, &ids).await
    }

    async fn leaf_for_event(&self, id: Uuid) -> Result<Option<auditlog_transparency::Leaf>, StoreError> {
        tree::leaf_for_event(&**self.client().await?, id).await
    }

    async fn leaves_for_events(&self, ids: Vec<Uuid>) -> Result<Vec<auditlog_transparency::Leaf>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        tree::leaves_for_events(&**self.client().await?, &ids).await
    }

    async fn leaves_with_events(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(auditlog_transparency::Leaf, Option<Event>)>, StoreError> {
        tree::leaves_with_events(&**self.client().await?, from, limit).await
    }

    async fn unlogged_events(&self, limit: usize) -> Result<Vec<Uuid>, StoreError> {
        tree::unlogged_events(&**self.client().await?, limit).await
    }

    async fn pending_count(&self) -> Result<u64, StoreError> {
        tree::pending_count(&**self.client().await?).await
    }

    async fn save_checkpoint(&self, checkpoint: &auditlog_transparency::StoredCheckpoint) -> Result<(), StoreError> {
        tree::save_checkpoint(&**self.client().await?, checkpoint).await
    }

    async fn checkpoint(
        &self,
        size: Option<u64>,
    ) -> Result<Option<auditlog_transparency::StoredCheckpoint>, StoreError> {
        tree::checkpoint(&**self.client().await?, size).await
    }
}
