//! Retention on every backend (SPEC 8, the reference's semantics): whole
//! month cutoffs per action, `forever`, batches, one run at a time,
//! idempotence, dry runs, and search and facets that stay right afterwards.
//! `now` is always given, so nothing depends on the clock.

mod common;

use std::collections::BTreeMap;

use auditlog_core::{RetentionPeriod, Timestamp};
use auditlog_store::SearchParams;
use auditlog_store::{RetentionMode, RetentionPolicy, RetentionReport};
use common::{Backend, TestStore, admin, input, system};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn policy(per_action: &[(&str, RetentionPeriod)], batch_size: u32) -> RetentionPolicy {
    RetentionPolicy {
        default: RetentionPeriod::Days(395),
        per_action: per_action.iter().map(|(a, p)| (a.to_string(), *p)).collect(),
        batch_size,
    }
}

/// Stores one event of `action` on `resource`, created at `created`.
async fn event(t: &TestStore, action: &str, resource: &str, created: &str) {
    let line = format!(
        r#"{{"action":"{action}","resource":{{"id":"{resource}"}},"user":{{"id":"1","email":"a@b.org"}},"metadata":{{"parent_pid":"p-{resource}","revision_id":1}},"created":"{created}"}}"#
    );
    t.service.create(&system(), input(&line), None).await.unwrap_or_else(|e| panic!("{line}: {e}"));
}

/// Resource ids left, sorted.
async fn left(t: &TestStore) -> Vec<String> {
    let r = t.service.search(&admin(), &SearchParams { size: 1000, ..Default::default() }).await.unwrap();
    let mut ids: Vec<String> = r.hits.into_iter().map(|e| e.resource.id).collect();
    ids.sort();
    ids
}

fn deleted(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(a, n)| (a.to_string(), *n)).collect()
}

async fn expires_by_action_with_whole_month_cutoffs(b: Backend) {
    let t = b.open().await;
    event(&t, "draft.edit", "edit-old", "2025-12-31T23:59:59.999999Z").await;
    event(&t, "draft.edit", "edit-kept", "2026-01-01T00:00:00Z").await;
    event(&t, "draft.create", "create-old", "2025-01-31T12:00:00Z").await;
    event(&t, "draft.create", "create-kept", "2025-02-01T00:00:00Z").await;
    event(&t, "record.publish", "publish-ancient", "2020-01-01T00:00:00Z").await;
    // 60 days -> two months, the 395-day default -> thirteen, forever -> never.
    let p = policy(&[("draft.edit", RetentionPeriod::Days(60)), ("record.publish", RetentionPeriod::Forever)], 1000);
    let r = t.store.run_retention(&p, ts("2026-03-15T10:00:00Z"), RetentionMode::Delete).await.unwrap();
    assert!(r.ran);
    assert_eq!(r.deleted, deleted(&[("draft.create", 1), ("draft.edit", 1)]));
    assert_eq!(left(&t).await, ["create-kept", "edit-kept", "publish-ancient"]);
    assert_eq!(t.store.count().await.unwrap(), 3);
}

async fn year_wrap_and_end_of_month(b: Backend) {
    let t = b.open().await;
    for (resource, created) in [
        ("oct-31", "2025-10-31T23:00:00Z"),
        ("nov-01", "2025-11-01T00:00:00Z"),
        ("nov-30", "2025-11-30T23:59:59Z"),
        ("dec-01", "2025-12-01T00:00:00Z"),
    ] {
        event(&t, "draft.edit", resource, created).await;
    }
    let p = policy(&[("draft.edit", RetentionPeriod::Days(60))], 1000);
    // The last instant of January: two months back from January 1st.
    let r = t.store.run_retention(&p, ts("2026-01-31T23:59:59.999999Z"), RetentionMode::Delete).await.unwrap();
    assert_eq!(r.deleted, deleted(&[("draft.edit", 1)]));
    assert_eq!(left(&t).await, ["dec-01", "nov-01", "nov-30"]);
    // February 2026, 60 days: the cutoff is 2025-12-01, across the year.
    let r = t.store.run_retention(&p, ts("2026-02-10T00:00:00Z"), RetentionMode::Delete).await.unwrap();
    assert_eq!(r.deleted, deleted(&[("draft.edit", 2)]));
    assert_eq!(left(&t).await, ["dec-01"]);
}

async fn a_second_run_deletes_nothing(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let p = policy(&[("draft.create", RetentionPeriod::Days(30))], 1000);
    let now = ts("2026-03-15T00:00:00Z");
    let first = t.store.run_retention(&p, now, RetentionMode::Delete).await.unwrap();
    assert_eq!(first.deleted, deleted(&[("draft.create", 2)]));
    let second = t.store.run_retention(&p, now, RetentionMode::Delete).await.unwrap();
    assert_eq!(second, RetentionReport { ran: true, ..Default::default() });
    assert_eq!(t.store.count().await.unwrap(), 8);
}

async fn a_held_lock_means_no_run(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let p = policy(&[("draft.create", RetentionPeriod::Days(30))], 1000);
    let now = ts("2026-03-15T00:00:00Z");
    let lock = t.hold_retention_lock().await;
    for mode in [RetentionMode::Delete, RetentionMode::DryRun] {
        let r = t.store.run_retention(&p, now, mode).await.unwrap();
        assert_eq!(r, RetentionReport::not_run(mode), "another run holds the lock");
    }
    assert_eq!(t.store.count().await.unwrap(), 10, "nothing deleted");
    lock.release().await;
    let r = t.store.run_retention(&p, now, RetentionMode::Delete).await.unwrap();
    assert!(r.ran);
    assert_eq!(r.deleted, deleted(&[("draft.create", 2)]));
}

async fn deletes_in_batches(b: Backend) {
    let t = b.open().await;
    for i in 0..10 {
        event(&t, "draft.edit", &format!("e{i:02}"), &format!("2025-06-{:02}T00:00:00Z", i + 1)).await;
    }
    // Same month, kept forever: the month is never expired as a whole.
    event(&t, "record.publish", "kept", "2025-06-15T00:00:00Z").await;
    let p = policy(&[("draft.edit", RetentionPeriod::Days(60)), ("record.publish", RetentionPeriod::Forever)], 3);
    let r = t.store.run_retention(&p, ts("2026-03-15T00:00:00Z"), RetentionMode::Delete).await.unwrap();
    assert_eq!(r.deleted, deleted(&[("draft.edit", 10)]));
    assert_eq!(r.batches, 4, "3 + 3 + 3 + 1, each its own transaction");
    assert!(r.dropped_partitions.is_empty());
    assert_eq!(left(&t).await, ["kept"]);
}

async fn dry_run_counts_without_deleting(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let p = policy(
        &[
            ("draft.create", RetentionPeriod::Days(30)),
            ("draft.edit", RetentionPeriod::Days(30)),
            ("record.link", RetentionPeriod::Forever),
        ],
        2,
    );
    let now = ts("2026-03-15T00:00:00Z");
    let dry = t.store.run_retention(&p, now, RetentionMode::DryRun).await.unwrap();
    assert!(dry.ran);
    assert_eq!(dry.mode, RetentionMode::DryRun);
    assert_eq!(dry.deleted, deleted(&[("draft.create", 2), ("draft.edit", 1)]));
    assert_eq!(dry.batches, 0);
    assert_eq!(t.store.count().await.unwrap(), 10, "a dry run deletes nothing");
    let real = t.store.run_retention(&p, now, RetentionMode::Delete).await.unwrap();
    assert_eq!(real.deleted, dry.deleted, "the dry run counted what the run deletes");
    assert_eq!(t.store.count().await.unwrap(), 7);
}

async fn search_and_facets_after_retention(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let month = RetentionPeriod::Days(30);
    let p = policy(&[("draft.create", month), ("draft.edit", month), ("record.publish", month)], 1000);
    let r = t.store.run_retention(&p, ts("2026-03-15T00:00:00Z"), RetentionMode::Delete).await.unwrap();
    assert_eq!(r.deleted, deleted(&[("draft.create", 2), ("draft.edit", 1), ("record.publish", 1)]));

    let all = t.service.search(&admin(), &SearchParams::default()).await.unwrap();
    assert_eq!(all.total, 6);
    let actions: Vec<(&str, u64)> =
        all.aggregations.action_name.buckets.iter().map(|b| (b.key.as_str(), b.doc_count)).collect();
    assert_eq!(
        actions,
        [
            ("record.link", 2),
            ("draft.delete", 1),
            ("draft.new_version", 1),
            ("file.create", 1),
            ("record.grant_update", 1)
        ]
    );
    // Every index forgot the expired events: full text, metadata, emails.
    for (query, want) in [
        ("published", vec![]),
        ("wxyz-0000", vec!["abcd-5555", "wxyz-0000"]),
        ("metadata.revision_id:9", vec!["xyz-1"]),
        ("metadata.parent_pid:wxyz-0000", vec!["abcd-5555"]),
        ("user.email:current", vec!["abcd-5555"]),
        ("_exists_:metadata.parent_pid", vec!["abcd-5555", "x'; DROP TABLE audit_events; --"]),
        ("action:draft.create", vec![]),
    ] {
        let r =
            t.service.search(&admin(), &SearchParams { q: Some(query.into()), ..Default::default() }).await.unwrap();
        let mut ids: Vec<&str> = r.hits.iter().map(|e| e.resource.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, want, "{query}");
        assert_eq!(r.total, want.len() as u64, "{query}: total");
    }
    if let Some(s) = &t.sqlite {
        let conn = s.connect().unwrap();
        for (table, sql) in [
            ("audit_meta", "SELECT count(*) FROM audit_meta WHERE seq NOT IN (SELECT seq FROM audit_events)"),
            ("audit_fts", "SELECT count(*) FROM audit_fts WHERE audit_fts MATCH 'published'"),
            ("audit_counts", "SELECT count(*) FROM audit_counts WHERE n <= 0"),
        ] {
            let n: i64 = conn.query_row(sql, [], |r| r.get(0)).unwrap();
            assert_eq!(n, 0, "{table} still holds expired events");
        }
    }
    // Writes and counts carry on.
    event(&t, "draft.create", "new", "2026-03-15T00:00:00Z").await;
    assert_eq!(t.store.count().await.unwrap(), 7);
    let r = t
        .service
        .search(&admin(), &SearchParams { action: Some("draft.create".into()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(r.total, 1);
}

store_tests!(
    expires_by_action_with_whole_month_cutoffs,
    year_wrap_and_end_of_month,
    a_second_run_deletes_nothing,
    a_held_lock_means_no_run,
    deletes_in_batches,
    dry_run_counts_without_deleting,
    search_and_facets_after_retention,
);
