//! The demo module is a real host: its tables and its audit events agree.

use auditlog_core::{Config, Identity};
use auditlog_demo::{Context, DemoOptions, Records, demo_audit_log, demo_users, generate};
use auditlog_store::EventStore;
use auditlog_store::sqlite::{SqliteOptions, SqliteStore};
use auditlog_store::{AuditLogService, SearchParams};
use std::sync::Arc;

fn enabled() -> Config {
    Config { enabled: true, ..Config::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_instance_matches_the_module_tables() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("demo.db"), SqliteOptions::default()).unwrap());
    let opts = DemoOptions { events: 1500, users: 50, ..Default::default() };
    let users = demo_users(opts.users, opts.seed);
    let audit = Arc::new(demo_audit_log(&enabled(), &users).unwrap());
    let mut conn = store.connect().unwrap();
    let mut seen = 0;
    let report = generate(&mut conn, &audit, &opts, |n| seen = n).unwrap();
    assert_eq!(report.events, 1500);
    assert_eq!(seen, 1500);
    assert_eq!(store.count().await.unwrap(), 1500);
    assert_eq!(report.by_action.len(), 5, "all five end-user actions occur: {:?}", report.by_action);

    // Every published record has exactly as many publish events as its revision.
    let published: Vec<(String, i64)> = conn
        .prepare("SELECT id, revision FROM demo_records WHERE status = 'published'")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!published.is_empty());
    let service = AuditLogService::new(audit.clone(), store.clone());
    for (id, revision) in published.iter().take(20) {
        let q = format!("resource.id:{id} AND action:record.publish");
        let r = service.search(&Identity::system(), &SearchParams { q: Some(q), ..Default::default() }).await.unwrap();
        assert_eq!(r.total as i64, *revision, "{id}");
        assert_eq!(r.hits[0].metadata["revision_id"], serde_json::json!(revision));
    }
    // Events carry user details, request context and a back-dated time.
    let r = service.search(&Identity::system(), &SearchParams::default()).await.unwrap();
    let e = &r.hits[0];
    assert!(e.user.email.contains('@') && e.user.username.is_some());
    assert!(e.metadata["ip_address"].as_str().unwrap().split('.').count() == 4);
    assert!(e.metadata.contains_key("session") && e.metadata.contains_key("request_id"));
    let oldest = service
        .search(&Identity::system(), &SearchParams { sort: auditlog_store::Sort::Oldest, ..Default::default() })
        .await
        .unwrap();
    let span = e.created.as_micros() - oldest.hits[0].created.as_micros();
    assert!(span > 400 * 86_400_000_000, "history spreads over many months");
}

#[test]
fn module_refuses_invalid_transitions_and_logs_nothing_for_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("d.db"), SqliteOptions::default()).unwrap();
    let audit = demo_audit_log(&enabled(), &demo_users(3, 1)).unwrap();
    let mut conn = store.connect().unwrap();
    {
        let mut m = Records::new(&mut conn, &audit).unwrap();
        let who = Identity::user("1");
        let cx = Context::default();
        m.create_draft(&who, "aaaaa-11111", "ppppp-11111", "t", &cx).unwrap();
        assert_eq!(m.publish(&who, "aaaaa-11111", &cx).unwrap(), 1);
        assert!(m.publish(&who, "aaaaa-11111", &cx).is_err(), "already published");
        assert!(m.delete_draft(&who, "nope", &cx).is_err());
    }
    let n: i64 = conn.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 2);
    let ip: String = conn
        .query_row("SELECT json_extract(metadata, '$.ip_address') FROM audit_events LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ip, "N/A", "no request: the reference's N/A");
}
