//! Shared test harness: one behavioural suite, every store. `store_tests!`
//! turns each `async fn name(b: Backend)` into one test per backend.
//!
//! PostgreSQL tests run when `AUDITLOG_TEST_POSTGRES_URL` is set, each in a
//! fresh schema of its own (dropped afterwards), and fail when the server
//! cannot be reached; when it is unset they print that they were skipped.

#![allow(dead_code)]

use std::io::Write;
use std::sync::Arc;

use auditlog_core::{AuditLog, Config, EventInput, Identity, Role, Timestamp};
use auditlog_store::postgres::{PgOptions, PgStore};
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty store of one backend, with its service.
pub struct TestStore {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    pub sqlite: Option<Arc<SqliteStore>>,
    pub postgres: Option<Arc<PgStore>>,
    pub audit: Arc<AuditLog>,
    pub service: AuditLogService,
    pub dir: tempfile::TempDir,
    /// Last, so that it is dropped after the store: drops the schema.
    pub schema: Option<PgSchema>,
}

pub const POSTGRES_URL_VAR: &str = "AUDITLOG_TEST_POSTGRES_URL";

/// The test server's URL, when PostgreSQL tests are on.
pub fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR).ok().filter(|u| !u.trim().is_empty())
}

/// True (after saying so) when PostgreSQL tests are off.
pub fn skip_postgres(test: &str) -> bool {
    if postgres_url().is_some() {
        return false;
    }
    // Straight to stderr: the test harness would swallow `eprintln!`.
    let _ = writeln!(std::io::stderr(), "skipped postgres::{test}: {POSTGRES_URL_VAR} is not set");
    true
}

/// Opens a plain connection (its driver task spawned on the current runtime).
pub async fn pg_connect(config: &tokio_postgres::Config) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// A uniquely named schema on the test server, dropped with its contents
/// when this value is dropped.
pub struct PgSchema {
    pub name: String,
    base: tokio_postgres::Config,
}

impl PgSchema {
    /// Creates the schema; panics (failing the test) when the server named
    /// by the environment cannot be reached.
    pub async fn create() -> PgSchema {
        let url = postgres_url().expect("PostgreSQL tests are on");
        let mut base: tokio_postgres::Config =
            url.parse().unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}={url} is not a PostgreSQL URL: {e}"));
        base.connect_timeout(std::time::Duration::from_secs(5));
        let name = format!("auditlog_test_{}", uuid::Uuid::now_v7().simple());
        let admin = pg_connect(&base)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL at {url} cannot be reached: {e}"));
        admin.batch_execute(&format!("CREATE SCHEMA {name}")).await.expect("create the test schema");
        PgSchema { name, base }
    }

    /// Connection settings whose sessions work in this schema (and are
    /// named after it, so a test can find its own backends).
    pub fn config(&self) -> tokio_postgres::Config {
        let mut c = self.base.clone();
        c.options(format!("-c search_path={}", self.name));
        c.application_name(&self.name);
        c
    }

    /// A plain connection in this schema.
    pub async fn connect(&self) -> tokio_postgres::Client {
        pg_connect(&self.config()).await.expect("connect to the test schema")
    }

    /// A migrated store in this schema.
    pub async fn store(&self, opts: PgOptions) -> PgStore {
        let store = PgStore::connect_with(self.config(), opts).expect("PostgreSQL store");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop may run inside a runtime: do the async work on a thread of its own.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            rt.block_on(async {
                let c = pg_connect(&base).await.map_err(|e| e.to_string())?;
                c.batch_execute(&format!("SET lock_timeout = '20s'; DROP SCHEMA {name} CASCADE"))
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) {
            eprintln!("could not drop the test schema {}: {done:?}", self.name);
        }
    }
}

/// A retention lock held by the test (as another run would hold it).
pub enum HeldLock {
    Sqlite(auditlog_store::sqlite::RetentionLock),
    Postgres(auditlog_store::postgres::RetentionLock),
}

impl HeldLock {
    pub async fn release(self) {
        match self {
            HeldLock::Sqlite(l) => drop(l),
            HeldLock::Postgres(l) => l.release().await.expect("release the retention lock"),
        }
    }
}

pub fn config() -> Config {
    let toml = r#"
AUDIT_LOGS_ENABLED = true
[[actions]]
id = "record.link"
message_template = "User {user_id} linked {resource_id}."
resource_type = "record"
"#;
    Config::load(toml, "test.toml", [], &|_| Err("none".into())).expect("test config")
}

impl Backend {
    pub async fn open(self) -> TestStore {
        self.open_with(config()).await
    }

    pub async fn open_with(self, config: Config) -> TestStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = Arc::new(AuditLog::from_config(&config).expect("actions"));
        match self {
            Backend::Sqlite => {
                let s = Arc::new(
                    SqliteStore::open(dir.path().join("audit.db"), SqliteOptions::default()).expect("open sqlite"),
                );
                let store: Arc<dyn Store> = s.clone();
                TestStore {
                    backend: self,
                    service: AuditLogService::new(audit.clone(), store.clone()),
                    store,
                    sqlite: Some(s),
                    postgres: None,
                    audit,
                    dir,
                    schema: None,
                }
            }
            Backend::Postgres => {
                let schema = PgSchema::create().await;
                let s = Arc::new(schema.store(PgOptions { max_connections: 8, ..Default::default() }).await);
                s.maintain_partitions(Timestamp::now()).await.expect("partitions");
                let store: Arc<dyn Store> = s.clone();
                TestStore {
                    backend: self,
                    service: AuditLogService::new(audit.clone(), store.clone()),
                    store,
                    sqlite: None,
                    postgres: Some(s),
                    audit,
                    dir,
                    schema: Some(schema),
                }
            }
        }
    }
}

pub fn system() -> Identity {
    Identity::system()
}

pub fn admin() -> Identity {
    Identity::with_roles("admin-1", [Role::Admin])
}

pub fn auditor() -> Identity {
    Identity::with_roles("auditor-1", [Role::Auditor])
}

pub fn input(json: &str) -> EventInput {
    EventInput::from_json(json).unwrap_or_else(|e| panic!("bad test input {json}: {e}"))
}

/// The seeded instance the search tests query. Each event's label is its
/// resource id plus action, e.g. `abcd-1234/draft.create`.
pub const SEED: &[&str] = &[
    r#"{"action":"draft.create","resource":{"id":"abcd-1234"},"user":{"id":"1","username":"User","email":"current@inveniosoftware.org"},"metadata":{"parent_pid":"wxyz-0000","ip_address":"127.0.0.1","session":"s-1","request_id":"r-9"},"created":"2026-01-01T12:00:00+00:00"}"#,
    r#"{"action":"draft.edit","resource":{"id":"abcd-1234"},"user_id":"1","metadata":{"parent_pid":"wxyz-0000","ip_address":"127.0.0.1"},"created":"2026-01-02T09:00:00+00:00"}"#,
    r#"{"action":"record.publish","resource":{"id":"abcd-1234"},"user_id":"1","metadata":{"parent_pid":"wxyz-0000","revision_id":9,"ip_address":"127.0.0.1"},"created":"2026-01-03T10:00:00+00:00"}"#,
    r#"{"action":"draft.create","resource":{"id":"efgh-5678"},"user_id":"system","metadata":{"parent_pid":"p-2"},"created":"2025-12-20T08:00:00+00:00"}"#,
    r#"{"action":"file.create","resource":{"id":"abcd-1234"},"user":{"id":"2","username":"jane","email":"Jane.Doe@cern.ch"},"metadata":{"file_key":"data.csv","ip_address":"10.1.1.1"},"created":"2026-01-04T00:00:00+00:00"}"#,
    r#"{"action":"record.grant_update","resource":{"id":"wxyz-0000"},"user_id":"2","metadata":{"triggered_by":{"id":"abcd-1234","type":"record"},"before":{"grants":[]},"after":{"grants":[{"subject":"user:7","permission":"view"}]}},"created":"2026-01-05T12:30:00+00:00"}"#,
    r#"{"action":"record.link","resource":{"id":"xyz-1"},"user":{"id":"3","username":"bob","email":"Bob.Smith@Example.org"},"metadata":{"related_to":{"id":"parent-1234","type":"record"},"revision_id":9,"tags":["alpha","beta"],"score":2.5},"created":"2026-02-01T00:00:00+00:00"}"#,
    r#"{"action":"draft.new_version","resource":{"id":"abcd-5555"},"user_id":"1","metadata":{"parent_pid":"wxyz-0000"},"created":"2026-02-10T00:00:00+00:00"}"#,
    r#"{"action":"draft.delete","resource":{"id":"x'; DROP TABLE audit_events; --"},"user":{"id":"4","email":"anon@example.org"},"metadata":{"parent_pid":"p-3"},"created":"2026-03-01T00:00:00+00:00"}"#,
    r#"{"action":"record.link","resource":{"id":"xyz-2"},"user_id":"3","metadata":{"related_to":{"id":"parent-9999"},"revision_id":10,"note":"Café \"quoted\" <b>"},"created":"2026-03-02T00:00:00+00:00"}"#,
];

impl TestStore {
    /// Takes the retention lock the way a concurrent run would.
    pub async fn hold_retention_lock(&self) -> HeldLock {
        match self.backend {
            Backend::Sqlite => HeldLock::Sqlite(
                self.sqlite.as_ref().unwrap().try_retention_lock().await.unwrap().expect("the lock is free"),
            ),
            Backend::Postgres => HeldLock::Postgres(
                self.postgres.as_ref().unwrap().try_retention_lock().await.unwrap().expect("the lock is free"),
            ),
        }
    }

    /// Stores the seed through the service (the full ingest path).
    pub async fn seed(&self) {
        for line in SEED {
            let out =
                self.service.create(&system(), input(line), None).await.unwrap_or_else(|e| panic!("seed {line}: {e}"));
            assert!(matches!(out, auditlog_store::Created::Logged(_)), "seed not logged: {line}");
        }
    }
}

/// `store_tests!(a, b)` defines, for every backend, a test calling `a(b)`:
/// `sqlite::a`, `postgres::a`, ...
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::skip_postgres(stringify!($name)) {
                        return;
                    }
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}
