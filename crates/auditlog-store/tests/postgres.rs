//! What only the PostgreSQL store has: migrations, month partitions (made
//! ahead, rescued from the DEFAULT partition, dropped by retention), indexes
//! the planner uses, facet counts under two concurrent servers, and failing
//! fast, then recovering, when the database goes away. Each test works in a
//! schema of its own; all are skipped (saying so) without
//! `AUDITLOG_TEST_POSTGRES_URL`.

mod common;

use auditlog_store::{EventStore, RetentionStore};
use std::sync::Arc;

use auditlog_core::{RetentionPeriod, Timestamp};
use auditlog_store::SearchParams;
use auditlog_store::postgres::{LATEST, PgDialect, PgOptions, PgStore, partition_name};
use auditlog_store::{RetentionMode, RetentionPolicy, StoreError, sql};
use common::{PgSchema, input, skip_postgres, system};

/// A test body, run only when PostgreSQL tests are on.
macro_rules! pg_test {
    ($name:ident, |$schema:ident| $body:block) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            if skip_postgres(stringify!($name)) {
                return;
            }
            let $schema = PgSchema::create().await;
            $body
        }
    };
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn options() -> PgOptions {
    PgOptions { max_connections: 8, ..Default::default() }
}

/// Validated events of `action`, one per `created`.
fn events(action: &str, created: &[&str]) -> Vec<auditlog_core::Event> {
    let audit = auditlog_core::AuditLog::from_config(&common::config()).unwrap();
    created
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let line = format!(
                r#"{{"action":"{action}","resource":{{"id":"r{i}"}},"user":{{"id":"1","email":"a@b.org"}},"metadata":{{"parent_pid":"p","revision_id":1}},"created":"{c}"}}"#
            );
            audit.ingest(input(&line), None, &system()).unwrap().unwrap()
        })
        .collect()
}

async fn partition_names(store: &PgStore) -> Vec<String> {
    store.partitions().await.unwrap().into_iter().map(|p| p.name).collect()
}

async fn rows_in_default(schema: &PgSchema) -> i64 {
    schema.connect().await.query_one("SELECT count(*) FROM audit_events_default", &[]).await.unwrap().get(0)
}

pg_test!(migrations_are_idempotent, |schema| {
    let store = schema.store(options()).await;
    assert_eq!(store.schema_version().await.unwrap(), LATEST);
    store.migrate().await.unwrap();
    let again = PgStore::connect_with(schema.config(), options()).unwrap();
    again.migrate().await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), LATEST);
    let c = schema.connect().await;
    let applied: i64 = c.query_one("SELECT count(*) FROM auditlog_migrations", &[]).await.unwrap().get(0);
    assert_eq!(applied, i64::from(LATEST), "each migration recorded once");
    let kind: String = c
        .query_one("SELECT relkind::text FROM pg_class WHERE oid = 'audit_events'::regclass", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(kind, "p", "the events table is partitioned");
    // Two servers starting together migrate once.
    let fresh = PgSchema::create().await;
    let (a, b) = (
        PgStore::connect_with(fresh.config(), options()).unwrap(),
        PgStore::connect_with(fresh.config(), options()).unwrap(),
    );
    let (ra, rb) = tokio::join!(a.migrate(), b.migrate());
    ra.unwrap();
    rb.unwrap();
    assert_eq!(a.schema_version().await.unwrap(), LATEST);
});

pg_test!(a_newer_schema_is_refused, |schema| {
    let store = schema.store(options()).await;
    schema.connect().await.execute("INSERT INTO auditlog_migrations (version) VALUES (999)", &[]).await.unwrap();
    let err = store.migrate().await.unwrap_err();
    assert!(matches!(&err, StoreError::Open { .. }), "{err}");
    assert!(err.to_string().contains("schema version 999 is newer than this auditlog supports"), "{err}");
});

pg_test!(partitions_are_made_ahead_across_month_and_year_ends, |schema| {
    let store = schema.store(options()).await;
    assert!(store.partitions().await.unwrap().is_empty(), "migrations make only the DEFAULT partition");
    let r = store.maintain_partitions(ts("2026-11-15T12:00:00Z")).await.unwrap();
    assert_eq!(r.created, ["audit_events_p2026_11", "audit_events_p2026_12", "audit_events_p2027_01"]);
    assert_eq!(r.moved, 0);
    // Idempotent.
    assert!(store.maintain_partitions(ts("2026-11-30T23:59:59Z")).await.unwrap().created.is_empty());
    let r = store.maintain_partitions(ts("2026-12-20T00:00:00Z")).await.unwrap();
    assert_eq!(r.created, ["audit_events_p2027_02"]);
    assert_eq!(
        partition_names(&store).await,
        ["audit_events_p2026_11", "audit_events_p2026_12", "audit_events_p2027_01", "audit_events_p2027_02"]
    );
    let p = &store.partitions().await.unwrap()[2];
    assert_eq!(
        (p.from.to_string().as_str(), p.to.to_string().as_str()),
        ("2027-01-01T00:00:00.000000+00:00", "2027-02-01T00:00:00.000000+00:00")
    );
    // Rows land in their month, not in the DEFAULT partition, across the year end.
    store.insert(events("draft.edit", &["2026-12-31T23:59:59.999999Z", "2027-01-01T00:00:00Z"])).await.unwrap();
    assert_eq!(rows_in_default(&schema).await, 0);
    // Two servers maintaining at once create each partition once.
    let other = PgStore::connect_with(schema.config(), options()).unwrap();
    let (a, b) = tokio::join!(
        store.maintain_partitions(ts("2027-03-01T00:00:00Z")),
        other.maintain_partitions(ts("2027-03-01T00:00:00Z"))
    );
    let mut made = [a.unwrap().created, b.unwrap().created].concat();
    made.sort();
    assert_eq!(made, ["audit_events_p2027_03", "audit_events_p2027_04", "audit_events_p2027_05"]);
    assert_eq!(partition_name(2027, 5), "audit_events_p2027_05");
});

pg_test!(rows_in_the_default_partition_are_rescued, |schema| {
    let store = schema.store(options()).await;
    // No partitions yet: clock skew and an old import land in DEFAULT.
    let stray = events("draft.edit", &["2025-06-10T00:00:00Z", "2025-06-20T00:00:00Z", "2026-11-20T08:00:00Z"]);
    store.insert(stray.clone()).await.unwrap();
    assert_eq!(rows_in_default(&schema).await, 3);
    // PostgreSQL refuses a partition whose range has rows in DEFAULT; the
    // store moves them.
    let r = store.maintain_partitions(ts("2026-11-15T00:00:00Z")).await.unwrap();
    assert_eq!(
        r.created,
        ["audit_events_p2025_06", "audit_events_p2026_11", "audit_events_p2026_12", "audit_events_p2027_01"]
    );
    assert_eq!(r.moved, 3);
    assert_eq!(rows_in_default(&schema).await, 0);
    let c = schema.connect().await;
    let june: i64 = c.query_one("SELECT count(*) FROM audit_events_p2025_06", &[]).await.unwrap().get(0);
    assert_eq!(june, 2);
    for e in &stray {
        assert_eq!(store.get(e.id).await.unwrap().as_ref(), Some(e), "moved rows read back unchanged");
    }
    assert_eq!(store.count().await.unwrap(), 3);
    let plan = SearchParams { q: Some("r0 OR r1".into()), ..Default::default() }.plan(Timestamp::now()).unwrap();
    assert_eq!(store.search(&plan).await.unwrap().hits.len(), 2, "moved rows stay searchable");
    // The moved rows keep their uniqueness.
    assert!(matches!(store.insert(vec![stray[0].clone()]).await, Err(StoreError::Duplicate(id)) if id == stray[0].id));
});

pg_test!(retention_drops_a_fully_expired_month, |schema| {
    let store = schema.store(options()).await;
    store.maintain_partitions(ts("2025-01-15T00:00:00Z")).await.unwrap();
    // January 2025: only expired events. February: a draft.create is still kept.
    store
        .insert(events("draft.edit", &["2025-01-05T00:00:00Z", "2025-01-20T00:00:00Z", "2025-02-03T00:00:00Z"]))
        .await
        .unwrap();
    store.insert(events("draft.create", &["2025-01-31T23:59:59Z", "2025-02-10T00:00:00Z"])).await.unwrap();
    let policy = RetentionPolicy {
        default: RetentionPeriod::Days(395),
        per_action: [("draft.edit".to_string(), RetentionPeriod::Days(60))].into(),
        batch_size: 1000,
    };
    // Cutoffs on 2026-03-15: draft.edit 2026-01-01, draft.create 2025-02-01.
    let now = ts("2026-03-15T00:00:00Z");
    let dry = store.run_retention(&policy, now, RetentionMode::DryRun).await.unwrap();
    assert_eq!(dry.dropped_partitions, ["audit_events_p2025_01"]);
    assert_eq!(partition_names(&store).await.len(), 3, "a dry run drops nothing");
    let r = store.run_retention(&policy, now, RetentionMode::Delete).await.unwrap();
    assert_eq!(r.dropped_partitions, ["audit_events_p2025_01"]);
    let want = [("draft.create".to_string(), 1), ("draft.edit".to_string(), 3)].into();
    assert_eq!(r.deleted, want, "the dropped partition's rows are counted");
    assert_eq!(dry.deleted, want);
    assert_eq!(r.batches, 1, "February's draft.edit went row by row");
    assert_eq!(partition_names(&store).await, ["audit_events_p2025_02", "audit_events_p2025_03"]);
    assert_eq!(store.count().await.unwrap(), 1);
    let plan = SearchParams::default().plan(Timestamp::now()).unwrap();
    let hits = store.search(&plan).await.unwrap();
    assert_eq!(hits.cells.iter().map(|c| (c.action.as_str(), c.count)).collect::<Vec<_>>(), [("draft.create", 1)]);
    // The next run finds nothing left to do.
    let again = store.run_retention(&policy, now, RetentionMode::Delete).await.unwrap();
    assert!(again.deleted.is_empty() && again.dropped_partitions.is_empty(), "{again:?}");
});

pg_test!(a_month_with_a_forever_action_is_not_dropped, |schema| {
    let store = schema.store(options()).await;
    store.maintain_partitions(ts("2025-01-15T00:00:00Z")).await.unwrap();
    store.insert(events("draft.edit", &["2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z"])).await.unwrap();
    store.insert(events("record.publish", &["2025-01-07T00:00:00Z"])).await.unwrap();
    let policy = RetentionPolicy {
        default: RetentionPeriod::Days(30),
        per_action: [("record.publish".to_string(), RetentionPeriod::Forever)].into(),
        batch_size: 1,
    };
    let r = store.run_retention(&policy, ts("2026-03-15T00:00:00Z"), RetentionMode::Delete).await.unwrap();
    // Only the empty months went whole.
    assert_eq!(r.dropped_partitions, ["audit_events_p2025_02", "audit_events_p2025_03"]);
    assert_eq!(r.deleted, [("draft.edit".to_string(), 2)].into());
    assert_eq!(r.batches, 2);
    assert!(partition_names(&store).await.contains(&"audit_events_p2025_01".to_string()));
    assert_eq!(store.count().await.unwrap(), 1);
});

pg_test!(one_retention_run_at_a_time_across_servers, |schema| {
    let a = schema.store(options()).await;
    let b = PgStore::connect_with(schema.config(), options()).unwrap();
    a.insert(events("draft.edit", &["2025-01-05T00:00:00Z"])).await.unwrap();
    let policy = RetentionPolicy { default: RetentionPeriod::Days(30), per_action: Default::default(), batch_size: 10 };
    let now = ts("2026-03-15T00:00:00Z");
    let held = a.try_retention_lock().await.unwrap().expect("the lock is free");
    assert!(b.try_retention_lock().await.unwrap().is_none());
    let r = b.run_retention(&policy, now, RetentionMode::Delete).await.unwrap();
    assert!(!r.ran && r.deleted.is_empty(), "{r:?}");
    assert_eq!(b.count().await.unwrap(), 1);
    held.release().await.unwrap();
    let r = b.run_retention(&policy, now, RetentionMode::Delete).await.unwrap();
    assert_eq!(r.deleted, [("draft.edit".to_string(), 1)].into());
    // A run releases the lock when done.
    assert!(a.try_retention_lock().await.unwrap().is_some());
});

/// EXPLAIN of the condition the store renders for a query, with sequential
/// scans discouraged (the tables are tiny).
async fn plan_of(schema: &PgSchema, query: &str) -> String {
    let plan = SearchParams { q: Some(query.into()), ..Default::default() }.plan(Timestamp::now()).unwrap();
    let mut q = sql::Sql::dollar();
    q.push("EXPLAIN SELECT e.id FROM audit_events e WHERE ");
    sql::render(&plan.hits_cond(), &mut q, &PgDialect);
    use tokio_postgres::types::{ToSql, Type};
    let typed: Vec<(&(dyn ToSql + Sync), Type)> = q
        .params
        .iter()
        .map(|p| match p {
            sql::Param::Text(s) => (s as &(dyn ToSql + Sync), Type::TEXT),
            sql::Param::Time(t) => (t as &(dyn ToSql + Sync), Type::TIMESTAMPTZ),
            other => panic!("unexpected parameter {other:?}"),
        })
        .collect();
    let c = schema.connect().await;
    c.batch_execute("SET enable_seqscan = off").await.unwrap();
    let rows = c.query_typed(&q.text, &typed).await.unwrap();
    rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n")
}

pg_test!(indexes_serve_the_common_filters, |schema| {
    let store = schema.store(options()).await;
    store.maintain_partitions(ts("2026-01-15T00:00:00Z")).await.unwrap();
    store.insert(events("draft.edit", &["2026-01-05T00:00:00Z", "2026-02-06T00:00:00Z"])).await.unwrap();
    schema.connect().await.batch_execute("ANALYZE audit_events").await.unwrap();
    for (query, index) in [
        ("action:draft.edit", "action_created_idx"),
        ("resource.id:r1", "resource_id_created_idx"),
        ("user.id:1", "user_id_created_idx"),
        ("created:[2026-01-01 TO 2026-01-31]", "Index Scan"),
        ("metadata.parent_pid:p", "metadata_idx"),
        ("updated", "fts_idx"),
        ("user.email:a", "fts_idx"),
    ] {
        let plan = plan_of(&schema, query).await;
        assert!(plan.contains(index), "{query} should use {index}:\n{plan}");
    }
    // A date range visits only its month's partition, pruned when the query
    // is planned (typed bounds), not when it runs after planning them all.
    let plan = plan_of(&schema, "created:[2026-01-01 TO 2026-01-31]").await;
    assert!(plan.contains("audit_events_p2026_01") && !plan.contains("audit_events_p2026_02"), "{plan}");
    assert!(!plan.contains("Subplans Removed"), "{plan}");
});

pg_test!(facet_counts_stay_exact_under_two_servers, |schema| {
    let a = Arc::new(schema.store(options()).await);
    let b = Arc::new(PgStore::connect_with(schema.config(), options()).unwrap());
    let mut tasks = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()].into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..300 {
                let action = if i % 3 == 0 { "draft.create" } else { "draft.edit" };
                store.insert(events(action, &["2026-01-05T00:00:00Z"])).await.unwrap();
                if i % 50 == n {
                    // Reads compact the count deltas while others write.
                    store.count().await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(a.count().await.unwrap(), 1200);
    assert_eq!(b.count().await.unwrap(), 1200);
    let plan = SearchParams::default().plan(Timestamp::now()).unwrap();
    let mut cells: Vec<(String, u64)> =
        b.search(&plan).await.unwrap().cells.into_iter().map(|c| (c.action, c.count)).collect();
    cells.sort();
    assert_eq!(cells, [("draft.create".to_string(), 400), ("draft.edit".to_string(), 800)]);
    // 1200 inserts wrote 1200 delta rows; reads that found more than a
    // thousand compacted them (during the run, or at the latest above).
    let rows: i64 = schema.connect().await.query_one("SELECT count(*) FROM audit_counts", &[]).await.unwrap().get(0);
    assert!(rows <= 1000, "compaction kept the delta table small ({rows} rows)");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_fails_fast_with_unavailable() {
    // Nothing listens on port 1: every call fails at once, never hangs.
    let store = PgStore::connect("postgres://postgres@127.0.0.1:1/test", PgOptions::default()).unwrap();
    let plan = SearchParams::default().plan(Timestamp::now()).unwrap();
    let results = [
        store.health().await.err(),
        store.count().await.err(),
        store.search(&plan).await.err(),
        store.insert(events("draft.edit", &["2026-01-05T00:00:00Z"])).await.err(),
        store.migrate().await.err(),
        store.maintain_partitions(Timestamp::now()).await.err(),
    ];
    for r in results {
        assert!(matches!(r, Some(StoreError::Unavailable { .. })), "{r:?}");
    }
    let msg = store.health().await.unwrap_err().to_string();
    assert!(msg.starts_with("the database is unavailable: postgres://127.0.0.1:1/test"), "{msg}");
    assert!(matches!(PgStore::connect("mysql://x", PgOptions::default()), Err(StoreError::Open { .. })));
}

pg_test!(the_pool_recovers_after_its_connections_are_killed, |schema| {
    let store = schema.store(options()).await;
    store.insert(events("draft.edit", &["2026-01-05T00:00:00Z"])).await.unwrap();
    // Several connections in the pool.
    let (x, y, z) = tokio::join!(store.count(), store.count(), store.health());
    for r in [x.map(|_| ()), y.map(|_| ()), z] {
        r.unwrap();
    }
    let admin = schema.connect().await;
    let killed: i64 = admin
        .query_one(
            "WITH pool AS MATERIALIZED (
                 SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()
             )
             SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pool",
            &[&schema.name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed >= 1, "the pool's connections were terminated");
    // The next calls get fresh connections by themselves.
    assert_eq!(store.count().await.unwrap(), 1);
    store.insert(events("draft.edit", &["2026-01-06T00:00:00Z"])).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 2);
});

pg_test!(a_statement_timeout_is_unavailable, |schema| {
    let store =
        schema.store(PgOptions { statement_timeout: Some(std::time::Duration::from_millis(200)), ..options() }).await;
    store.insert(events("draft.edit", &["2026-01-05T00:00:00Z"])).await.unwrap();
    // Hold a lock the store's insert must wait for, longer than its timeout.
    let mut blocker = schema.connect().await;
    let tx = blocker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE audit_counts IN ACCESS EXCLUSIVE MODE").await.unwrap();
    let err = store.insert(events("draft.edit", &["2026-01-06T00:00:00Z"])).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable { message: m, .. } if m.contains("did not answer in time")),
        "{err}"
    );
    tx.rollback().await.unwrap();
});
