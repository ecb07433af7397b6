//! Shared test harness: one behavioural suite, every store. `store_tests!`
//! turns each `async fn name(b: Backend)` into one test per backend.

#![allow(dead_code)]

use std::sync::Arc;

use auditlog_core::{AuditLog, Config, EventInput, Identity, Role};
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
}

/// A fresh, empty store of one backend, with its service.
pub struct TestStore {
    pub backend: Backend,
    pub store: Arc<dyn Store>,
    pub sqlite: Option<Arc<SqliteStore>>,
    pub audit: Arc<AuditLog>,
    pub service: AuditLogService,
    pub dir: tempfile::TempDir,
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
                    audit,
                    dir,
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
    /// Stores the seed through the service (the full ingest path).
    pub async fn seed(&self) {
        for line in SEED {
            let out =
                self.service.create(&system(), input(line), None).await.unwrap_or_else(|e| panic!("seed {line}: {e}"));
            assert!(matches!(out, auditlog_store::Created::Logged(_)), "seed not logged: {line}");
        }
    }
}

/// `store_tests!(a, b)` defines, for every backend, a test calling `a(b)`.
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
    };
}
