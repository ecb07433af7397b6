//! The store and service contract, on every backend: round trips, atomic
//! batches, concurrency, permissions, the feature flag and bulk ingest.

mod common;

use std::sync::Arc;

use auditlog_core::ImportedEvent;
use auditlog_core::{Config, Identity, NotLogged, Role};
use auditlog_store::service::{ImportOutcome, LineOutcome};
use auditlog_store::{Created, ServiceError, StoreError};
use common::{Backend, admin, auditor, input, system};

fn event_line(resource: &str) -> String {
    format!(
        r#"{{"action":"draft.create","resource":{{"id":"{resource}"}},"user":{{"id":"1","email":"a@b.org"}},"metadata":{{"parent_pid":"p"}}}}"#
    )
}

async fn insert_and_read_round_trip(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let all = t.service.search(&admin(), &Default::default()).await.unwrap();
    assert_eq!(all.total, 10);
    for e in &all.hits {
        let read = t.service.read(&auditor(), e.id).await.unwrap();
        assert_eq!(&read, e, "stored and read back unchanged");
    }
    let missing = uuid::Uuid::now_v7();
    assert!(matches!(t.service.read(&admin(), missing).await, Err(ServiceError::NotFound(id)) if id == missing));
    assert_eq!(t.store.get(missing).await.unwrap(), None);
}

async fn a_failing_batch_writes_nothing(b: Backend) {
    let t = b.open().await;
    let good = t.audit.ingest(input(&event_line("r1")), None, &system()).unwrap().unwrap();
    let other = t.audit.ingest(input(&event_line("r2")), None, &system()).unwrap().unwrap();
    t.store.insert(vec![good.clone()]).await.unwrap();
    // `other` is fine but shares the batch with a duplicate of `good`.
    let err = t.store.insert(vec![other.clone(), good.clone()]).await.unwrap_err();
    assert!(matches!(err, StoreError::Duplicate(id) if id == good.id), "{err}");
    assert_eq!(t.store.count().await.unwrap(), 1);
    assert_eq!(t.store.get(other.id).await.unwrap(), None);
}

async fn concurrent_writers_all_succeed(b: Backend) {
    let t = b.open().await;
    let service = Arc::new(t.service.clone());
    let mut tasks = Vec::new();
    for task in 0..16 {
        let s = service.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let r = s.create(&system(), input(&event_line(&format!("t{task}-{i}"))), None).await;
                assert!(matches!(r, Ok(Created::Logged(_))), "task {task} event {i}: {r:?}");
            }
            let lines = (0..20).map(|i| Ok(input(&event_line(&format!("bulk{task}-{i}"))))).collect();
            let out = s.create_many(&system(), lines, None).await.unwrap();
            assert!(out.iter().all(|o| matches!(o, LineOutcome::Logged(_))));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(t.store.count().await.unwrap(), 16 * 45);
    let r = t.service.search(&admin(), &Default::default()).await.unwrap();
    assert_eq!(r.total, 16 * 45);
}

async fn permissions(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let nobody = Identity::user("1");
    for who in [admin(), auditor(), nobody.clone()] {
        let r = t.service.create(&who, input(&event_line("x")), None).await;
        assert!(matches!(r, Err(ServiceError::Forbidden { .. })), "{who:?} must not create: {r:?}");
        let r = t.service.create_many(&who, vec![Ok(input(&event_line("x")))], None).await;
        assert!(matches!(r, Err(ServiceError::Forbidden { .. })), "{who:?} must not bulk-create");
    }
    for who in [admin(), auditor(), system(), Identity::with_roles("x", [Role::Auditor, Role::Admin])] {
        assert!(t.service.search(&who, &Default::default()).await.is_ok(), "{who:?} may search");
    }
    let id = t.service.search(&admin(), &Default::default()).await.unwrap().hits[0].id;
    assert!(t.service.read(&auditor(), id).await.is_ok());
    assert!(matches!(t.service.read(&nobody, id).await, Err(ServiceError::Forbidden { .. })));
    assert!(matches!(t.service.search(&nobody, &Default::default()).await, Err(ServiceError::Forbidden { .. })));
    assert_eq!(t.store.count().await.unwrap(), 10, "nothing was created by the refused calls");
}

async fn feature_flag_and_disabled_actions(b: Backend) {
    let t = b.open_with(Config::default()).await;
    let r = t.service.create(&system(), input(&event_line("x")), None).await.unwrap();
    assert_eq!(r, Created::NotLogged(NotLogged::FeatureDisabled));
    assert_eq!(t.store.count().await.unwrap(), 0);

    let cfg = Config { enabled: true, disabled_actions: vec!["draft.create".into()], ..common::config() };
    let t = b.open_with(cfg).await;
    let r = t.service.create(&system(), input(&event_line("x")), None).await.unwrap();
    assert_eq!(r, Created::NotLogged(NotLogged::ActionDisabled("draft.create".into())));
    let edit = r#"{"action":"draft.edit","resource":{"id":"x"},"user_id":"system"}"#;
    assert!(matches!(t.service.create(&system(), input(edit), None).await.unwrap(), Created::Logged(_)));
    assert_eq!(t.store.count().await.unwrap(), 1);
    let found = t.service.search(&admin(), &Default::default()).await.unwrap();
    assert!(found.hits.iter().all(|e| e.action != "draft.create"), "disabled actions return nothing");
}

async fn bad_input_loses_nothing(b: Backend) {
    let t = b.open().await;
    let lines = vec![
        Ok(input(&event_line("ok-1"))),
        Ok(input(
            r#"{"action":"record.publish","resource":{"id":"r"},"user_id":"system","metadata":{"parent_pid":"p","revision_id":"three"}}"#,
        )),
        auditlog_core::EventInput::from_json("{not json"),
        Ok(input(r#"{"action":"no.such","resource":{"id":"r"},"user_id":"system"}"#)),
        Ok(input(r#"{"action":"draft.create","resource":{"id":"r"},"user_id":"system"}"#)),
        Ok(input(&event_line("ok-2"))),
    ];
    let out = t.service.create_many(&system(), lines, None).await.unwrap();
    let summary: Vec<String> = out
        .iter()
        .map(|o| match o {
            LineOutcome::Logged(e) => format!("logged {}", e.resource.id),
            LineOutcome::NotLogged(r) => format!("skipped {r}"),
            LineOutcome::Invalid(e) => format!("invalid {}", e.errors[0].field),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "logged ok-1",
            "invalid metadata.revision_id",
            "invalid (body)",
            "invalid action",
            "invalid metadata.parent_pid",
            "logged ok-2"
        ]
    );
    assert_eq!(t.store.count().await.unwrap(), 2);

    // A single invalid create stores nothing and names the field.
    let r = t
        .service
        .create(&system(), input(r#"{"action":"draft.create","resource":{"id":"r"},"user_id":"nobody-known"}"#), None)
        .await;
    match r {
        Err(ServiceError::Invalid(e)) => assert!(e.mentions("user.email") && e.mentions("metadata.parent_pid"), "{e}"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert_eq!(t.store.count().await.unwrap(), 2);
}

async fn ingest_by_user_id_uses_known_details(b: Backend) {
    let t = b.open().await;
    t.service
        .create(&system(), input(r#"{"action":"draft.edit","resource":{"id":"r"},"user":{"id":"42","username":"ada","email":"ada@example.org"}}"#), None)
        .await
        .unwrap();
    let Created::Logged(e) = t
        .service
        .create(&system(), input(r#"{"action":"draft.edit","resource":{"id":"r"},"user_id":"42"}"#), None)
        .await
        .unwrap()
    else {
        panic!("not logged")
    };
    assert_eq!(e.user.email, "ada@example.org");
    assert_eq!(e.user.username.as_deref(), Some("ada"));
    assert_eq!(e.message, "User 42 updated the draft r.");
}

/// The import path: events keep their ids, times and messages; a batch is
/// checked as ingest checks it; re-imports skip, conflicts and repeats are
/// reported, and nothing of a batch's good items is lost.
async fn import_keeps_identity_and_resumes(b: Backend) {
    let t = b.open().await;
    t.seed().await;
    let seeded = t.service.search(&admin(), &Default::default()).await.unwrap().hits;
    let restored = |e: &auditlog_core::Event| {
        let mut input = input(
            &serde_json::to_string(&serde_json::json!({
                "action": e.action, "resource": {"id": e.resource.id}, "user": e.user, "metadata": e.metadata,
            }))
            .unwrap(),
        );
        input.created = Some(e.created);
        ImportedEvent { id: e.id, created: e.created, message: e.message.clone(), input }
    };
    // Into a second store: the same event back.
    let target = b.open().await;
    let first = &seeded[0];
    let out = target.service.import_many(&system(), vec![Ok(restored(first))]).await.unwrap();
    assert!(matches!(&out[0], ImportOutcome::Stored(e) if e == first), "{out:?}");
    assert_eq!(target.store.get_many(vec![first.id, uuid::Uuid::now_v7()]).await.unwrap(), vec![first.clone()]);

    // Everything again, with a changed one, a repeat and an invalid one.
    let mut items: Vec<_> = seeded.iter().map(|e| Ok(restored(e))).collect();
    let mut changed = restored(first);
    changed.message = "something else".into();
    items.push(Ok(changed));
    items.push(Ok(restored(&seeded[1])));
    let mut bad = restored(&seeded[2]);
    bad.input.action = "no.such.action".into();
    items.push(Ok(bad));
    let out = t.service.import_many(&system(), items.clone()).await.unwrap();
    assert!(out[..seeded.len()].iter().all(|o| matches!(o, ImportOutcome::AlreadyStored)), "{out:?}");
    assert!(matches!(out[seeded.len()], ImportOutcome::Conflict(id) if id == first.id));
    assert!(matches!(out[seeded.len() + 1], ImportOutcome::AlreadyStored));
    assert!(matches!(&out[seeded.len() + 2], ImportOutcome::Invalid(e) if e.mentions("action")));

    let out = target.service.import_many(&system(), items).await.unwrap();
    let stored = out.iter().filter(|o| matches!(o, ImportOutcome::Stored(_))).count();
    assert_eq!(stored, seeded.len() - 1, "all but the one already there: {out:?}");
    assert!(matches!(out[seeded.len() + 1], ImportOutcome::Duplicate(id) if id == seeded[1].id));
    let mut back = target.service.search(&admin(), &Default::default()).await.unwrap().hits;
    let mut want = seeded.clone();
    back.sort_by_key(|e| e.id);
    want.sort_by_key(|e| e.id);
    assert_eq!(back, want, "ids, times, messages and users as they were");
    let mut ids: Vec<_> = seeded.iter().map(|e| e.id).collect();
    ids.push(uuid::Uuid::now_v7());
    assert_eq!(target.store.get_many(ids).await.unwrap().len(), seeded.len());
    assert!(target.store.get_many(Vec::new()).await.unwrap().is_empty());
}

store_tests!(
    import_keeps_identity_and_resumes,
    insert_and_read_round_trip,
    a_failing_batch_writes_nothing,
    concurrent_writers_all_succeed,
    permissions,
    feature_flag_and_disabled_actions,
    bad_input_loses_nothing,
    ingest_by_user_id_uses_known_details,
);
