//! What only the embedded store has: the file itself. WAL mode, migrations
//! on first use and on reopen, clear errors for files it cannot use, and
//! the retention lock file beside it.

use auditlog_store::RetentionStore;
use std::time::Duration;

use auditlog_store::StoreError;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore, path_from_url, schema};

fn open(path: &std::path::Path, busy_ms: u64) -> Result<SqliteStore, StoreError> {
    SqliteStore::open(path, SqliteOptions { busy_timeout: Duration::from_millis(busy_ms), ..Default::default() })
}

#[test]
fn urls() {
    assert_eq!(path_from_url("sqlite://./auditlog-data/auditlog.db"), Some("./auditlog-data/auditlog.db".into()));
    assert_eq!(path_from_url("sqlite:///var/lib/a.db"), Some("/var/lib/a.db".into()));
    assert_eq!(path_from_url("sqlite:a.db"), Some("a.db".into()));
    assert_eq!(path_from_url("sqlite://"), None);
    assert_eq!(path_from_url("postgres://x"), None);
}

#[test]
fn created_in_wal_mode_and_migrated_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/audit.db");
    let store = open(&path, 1000).unwrap();
    let conn = store.connect().unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, schema::LATEST);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_events' AND name LIKE 'audit_events_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(indexes, ["audit_events_action", "audit_events_created", "audit_events_resource", "audit_events_user"]);
    drop(conn);
    drop(store);
    // Reopening migrates nothing and keeps the file usable.
    let again = open(&path, 1000).unwrap();
    let v: i64 = again.connect().unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, schema::LATEST);
}

#[test]
fn indexes_serve_the_common_filters() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a.db"), 1000).unwrap();
    let conn = store.connect().unwrap();
    let plan = |sql: &str| -> String {
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(3)).unwrap().map(Result::unwrap).collect::<Vec<_>>().join("; ")
    };
    for (sql, index) in [
        ("SELECT * FROM audit_events e WHERE e.action = 'x' ORDER BY created DESC LIMIT 20", "audit_events_action"),
        (
            "SELECT * FROM audit_events e WHERE e.resource_id = 'x' ORDER BY created DESC LIMIT 20",
            "audit_events_resource",
        ),
        (
            "SELECT * FROM audit_events e WHERE e.user_id = 'x' AND created > 5 ORDER BY created DESC LIMIT 20",
            "audit_events_user",
        ),
        ("SELECT * FROM audit_events e ORDER BY created DESC LIMIT 20", "audit_events_created"),
    ] {
        let p = plan(sql);
        assert!(p.contains(index), "{sql}: {p}");
    }
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(&path, "these are my notes, not a database, and they must survive".repeat(100)).unwrap();
    let err = open(&path, 200).unwrap_err();
    assert!(
        matches!(&err, StoreError::Open { message, .. } if message == "the file is not an SQLite database"),
        "{err}"
    );
    assert!(err.to_string().contains("notes.db"), "names the file: {err}");
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("these are my notes"), "the file is untouched");
}

#[test]
fn an_unreadable_path_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the database file should be.
    let path = dir.path().join("is-a-dir.db");
    std::fs::create_dir(&path).unwrap();
    let err = open(&path, 200).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("is-a-dir.db"), "{err}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 999).unwrap();
    let err = open(&path, 200).unwrap_err().to_string();
    assert!(err.contains("schema version 999 is newer than this auditlog supports"), "{err}");
}

#[test]
fn a_database_locked_by_another_process_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    drop(open(&path, 1000).unwrap());
    // Another process takes the file exclusively and keeps it.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;").unwrap();
    let err = open(&path, 200).unwrap_err();
    assert!(matches!(err, StoreError::Locked { waited_ms: 200, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("the database {} is locked by another process (waited 200 ms)", path.display())
    );
    other.execute_batch("COMMIT").unwrap();
    drop(other);
    open(&path, 1000).expect("usable again once the other process lets go");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_retention_lock_file_admits_one_run_per_database() {
    use auditlog_core::{RetentionPeriod, Timestamp};
    use auditlog_store::{RetentionMode, RetentionPolicy};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    // Two stores on one file stand for two processes.
    let (a, b) = (open(&path, 1000).unwrap(), open(&path, 1000).unwrap());
    assert_eq!(a.retention_lock_path(), dir.path().join("a.db.retention-lock"));
    let held = a.try_retention_lock().await.unwrap().expect("the lock is free");
    assert!(b.try_retention_lock().await.unwrap().is_none());
    let policy = RetentionPolicy { default: RetentionPeriod::Days(30), per_action: Default::default(), batch_size: 10 };
    let now: Timestamp = "2026-03-15T00:00:00Z".parse().unwrap();
    assert!(!b.run_retention(&policy, now, RetentionMode::Delete).await.unwrap().ran);
    drop(held);
    assert!(b.run_retention(&policy, now, RetentionMode::Delete).await.unwrap().ran, "released with its holder");
    assert!(a.try_retention_lock().await.unwrap().is_some(), "and released again after the run");
}

/// Host units of work queue their events' full-text entries; the store's
/// writer indexes them in batches, and a free-text search or a retention
/// run never misses one that is still queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_full_text_entries_are_queued_and_indexed_in_batches() {
    use std::sync::Arc;

    use auditlog_core::{AuditLog, Config, ContextData, Identity, Timestamp};
    use auditlog_store::sqlite::{UnitOfWork, open_connection};
    use auditlog_store::{AuditLogService, RetentionMode, RetentionPolicy, SearchParams, Store};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.db");
    drop(open(&path, 1000).unwrap()); // created and migrated
    let audit = Arc::new(AuditLog::from_config(&Config { enabled: true, ..Config::default() }).unwrap());
    let count = |conn: &rusqlite::Connection, sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    const QUEUED: &str = "SELECT count(*) FROM audit_fts_queue";
    const INDEXED: &str = "SELECT count(*) FROM audit_fts WHERE audit_fts MATCH 'zebra'";
    let commit = |conn: &mut rusqlite::Connection, resource: &str, created: Option<&str>| {
        let mut draft = audit
            .build(
                &Identity::user("system"),
                "draft.create",
                resource,
                ContextData::new().with("parent_pid", "zebra-1"),
            )
            .unwrap()
            .unwrap();
        draft.created = created.map(|c| c.parse().unwrap());
        let mut uow = UnitOfWork::begin(conn, &audit).unwrap();
        uow.register(draft).unwrap();
        uow.commit().unwrap();
    };

    // No store open, so no writer: the entries stay queued.
    let mut host = open_connection(&path, &SqliteOptions::default()).unwrap();
    commit(&mut host, "q-1", None);
    commit(&mut host, "q-2", Some("2020-01-15T00:00:00Z"));
    assert_eq!((count(&host, QUEUED), count(&host, INDEXED)), (2, 0));

    // A free-text search indexes the queue first and sees both.
    let store = Arc::new(open(&path, 1000).unwrap());
    let service = AuditLogService::new(audit.clone(), store.clone() as Arc<dyn Store>);
    let hits = service
        .search(&Identity::system(), &SearchParams { q: Some("zebra".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(hits.total, 2);
    assert_eq!((count(&host, QUEUED), count(&host, INDEXED)), (0, 2));

    // Without a search, the writer indexes new entries on its own (bounded wait).
    commit(&mut host, "q-3", None);
    for _ in 0..200 {
        if count(&host, QUEUED) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!((count(&host, QUEUED), count(&host, INDEXED)), (0, 3));

    // Retention removes an expired event's entry even when it was queued.
    commit(&mut host, "q-4", Some("2020-01-16T00:00:00Z"));
    let report = store
        .run_retention(&RetentionPolicy::from_config(&Config::default()), Timestamp::now(), RetentionMode::Delete)
        .await
        .unwrap();
    assert_eq!(report.total(), 2, "{report:?}");
    assert_eq!((count(&host, QUEUED), count(&host, INDEXED)), (0, 2));
    let hits = service
        .search(&Identity::system(), &SearchParams { q: Some("zebra".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(hits.total, 2);
}
