//! The transparency log on every backend: integration, signed checkpoints,
//! proofs, crash recovery, concurrent sequencers, retention interplay, and
//! tampering done with direct SQL, each detected with the right finding.

mod common;

use std::sync::Arc;

use auditlog_core::Timestamp;
use auditlog_merkle::{NoteSigner, NoteVerifier, verify_consistency, verify_inclusion};
use auditlog_store::service::ProofError;
use auditlog_store::{RetentionMode, RetentionPolicy, SearchParams, ServiceError, Store};
use auditlog_transparency::{
    Finding, InclusionProof, Integration, Sequencer, consistency_proof, inclusion_proof, verify_database,
};
use common::{Backend, TestStore, admin, input, system};

fn signer() -> Arc<NoteSigner> {
    Arc::new(NoteSigner::from_seed("test.example/auditlog", &[7; 32]).unwrap())
}

fn verifier() -> NoteVerifier {
    signer().verifier()
}

/// Runs raw SQL against the test's database (the tamperer's tool).
async fn sql(t: &TestStore, statements: &str) {
    match t.backend {
        Backend::Sqlite => t.sqlite.as_ref().unwrap().connect().unwrap().execute_batch(statements).unwrap(),
        Backend::Postgres => t.schema.as_ref().unwrap().connect().await.batch_execute(statements).await.unwrap(),
    }
}

fn event_line(i: usize) -> String {
    format!(
        r#"{{"action":"draft.edit","resource":{{"id":"r-{i}"}},"user":{{"id":"{i}","email":"u{i}@example.org"}},"metadata":{{"parent_pid":"p-{i}"}}}}"#
    )
}

async fn add(t: &TestStore, range: std::ops::Range<usize>) -> Vec<uuid::Uuid> {
    let lines = range.map(|i| Ok(input(&event_line(i)))).collect();
    t.service
        .create_many(&system(), lines, None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| match o {
            auditlog_store::service::LineOutcome::Logged(e) => e.id,
            other => panic!("not logged: {other:?}"),
        })
        .collect()
}

/// Ids in leaf order.
async fn leaf_order(t: &TestStore) -> Vec<uuid::Uuid> {
    t.store.leaves_with_events(0, 100_000).await.unwrap().into_iter().map(|(l, _)| l.event_id).collect()
}

async fn integrates_signs_and_proves(b: Backend) {
    let t = b.open().await;
    let first = add(&t, 0..7).await;
    assert_eq!(t.store.pending_count().await.unwrap(), 7);
    let mut seq = Sequencer::new(t.store.clone(), signer());
    let round = seq.round(true).await.unwrap();
    assert_eq!((round.added, round.size, round.checkpointed), (7, 7, true));
    assert_eq!(t.store.pending_count().await.unwrap(), 0);
    assert_eq!(leaf_order(&t).await, first, "leaves in commit order");

    let cp7 = t.store.checkpoint(None).await.unwrap().unwrap();
    let signed = verifier().verify(&cp7.note).unwrap();
    assert_eq!((signed.size, signed.root, signed.origin.as_str()), (7, cp7.root, "test.example/auditlog"));
    for (i, id) in first.iter().enumerate() {
        let p = inclusion_proof(t.store.as_ref(), *id, None).await.unwrap();
        assert_eq!((p.leaf_index, p.tree_size), (i as u64, 7));
        assert_eq!(p.checkpoint.as_deref(), Some(cp7.note.as_str()));
        let event = t.store.get(*id).await.unwrap().unwrap();
        assert_eq!(p.leaf_hash, auditlog_transparency::leaf_hash_of(&event));
        verify_inclusion(&p.leaf_hash, p.leaf_index, 7, &p.proof, &signed.root).unwrap();
    }

    // The tree grows; old sizes stay provable and consistent with new ones.
    let more = add(&t, 7..20).await;
    let round = seq.round(true).await.unwrap();
    assert_eq!((round.added, round.size), (13, 20));
    let cp20 = verifier().verify(&t.store.checkpoint(None).await.unwrap().unwrap().note).unwrap();
    let c = consistency_proof(t.store.as_ref(), 7, None).await.unwrap();
    assert_eq!((c.from, c.to, c.from_root, c.to_root), (7, 20, cp7.root, cp20.root));
    verify_consistency(7, 20, &c.proof, &cp7.root, &cp20.root).unwrap();
    let old = inclusion_proof(t.store.as_ref(), first[3], Some(7)).await.unwrap();
    verify_inclusion(&old.leaf_hash, 3, 7, &old.proof, &cp7.root).unwrap();
    let new = inclusion_proof(t.store.as_ref(), more[12], Some(20)).await.unwrap();
    verify_inclusion(&new.leaf_hash, 19, 20, &new.proof, &cp20.root).unwrap();
    for m in 1..=20 {
        let c = consistency_proof(t.store.as_ref(), m, Some(20)).await.unwrap();
        verify_consistency(m, 20, &c.proof, &c.from_root, &cp20.root).unwrap();
    }

    // Nothing new: no new checkpoint, nothing integrated.
    let round = seq.round(true).await.unwrap();
    assert_eq!((round.added, round.checkpointed), (0, false));
    let report = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!((report.leaves, report.checkpoint.map(|c| c.0)), (20, Some(20)));
}

/// An inclusion proof through the service, which tells unknown events from
/// events not yet in the log.
async fn inclusion(t: &TestStore, id: uuid::Uuid, size: Option<u64>) -> Result<InclusionProof, ProofError> {
    t.service.inclusion_proof(&admin(), id, size).await.map_err(|e| match e {
        ServiceError::Proof(p) => p,
        other => panic!("not a proof error: {other}"),
    })
}

async fn proof_errors_say_what_is_wrong(b: Backend) {
    let t = b.open().await;
    let ids = add(&t, 0..3).await;
    let store = t.store.as_ref();
    assert!(matches!(inclusion(&t, ids[0], None).await, Err(ProofError::NotIntegrated(id)) if id == ids[0]));
    let unknown = uuid::Uuid::now_v7();
    assert!(matches!(inclusion(&t, unknown, Some(1)).await, Err(ProofError::UnknownEvent(_))));
    Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    let late = add(&t, 3..4).await;
    t.store.integrate(100).await.unwrap();
    assert!(matches!(inclusion(&t, ids[0], Some(9)).await, Err(ProofError::BeyondTree { requested: 9, size: 4 })));
    assert!(matches!(inclusion(&t, late[0], None).await, Err(ProofError::NotInTree { index: 3, size: 3, .. })));
    assert!(matches!(consistency_proof(store, 3, Some(2)).await, Err(ProofError::Sizes(_))));
    assert!(matches!(consistency_proof(store, 1, Some(5)).await, Err(ProofError::BeyondTree { .. })));
    // A size without its own checkpoint is still provable against its root.
    let p = inclusion(&t, late[0], Some(4)).await.unwrap();
    assert_eq!(p.checkpoint, None);
    verify_inclusion(&p.leaf_hash, 3, 4, &p.proof, &p.root).unwrap();
}

/// The process dies after the commit, before integration: the events are
/// pending in the database, and the next sequencer integrates each once.
async fn crash_between_commit_and_integration(b: Backend) {
    let t = b.open().await;
    let ids = add(&t, 0..25).await;
    let reopened: Arc<dyn Store> = match b {
        Backend::Sqlite => Arc::new(
            auditlog_store::sqlite::SqliteStore::open(t.sqlite.as_ref().unwrap().path(), Default::default()).unwrap(),
        ),
        Backend::Postgres => Arc::new(t.schema.as_ref().unwrap().store(Default::default()).await),
    };
    assert_eq!(reopened.pending_count().await.unwrap(), 25);
    let mut seq = Sequencer::new(reopened.clone(), signer());
    assert_eq!(seq.round(true).await.unwrap().added, 25);
    assert_eq!(seq.round(true).await.unwrap().added, 0);
    assert_eq!(leaf_order(&t).await, ids);
    assert_eq!(reopened.tree_size().await.unwrap(), 25);
}

/// Two sequencers (two servers' stores on one database) race while events
/// keep arriving: every event becomes exactly one leaf, indexes have no gaps.
async fn concurrent_sequencers_make_one_tree(b: Backend) {
    let t = b.open().await;
    let second: Arc<dyn Store> = match b {
        Backend::Sqlite => Arc::new(
            auditlog_store::sqlite::SqliteStore::open(t.sqlite.as_ref().unwrap().path(), Default::default()).unwrap(),
        ),
        Backend::Postgres => Arc::new(t.schema.as_ref().unwrap().store(Default::default()).await),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for store in [t.store.clone(), second.clone()] {
        tasks.spawn(async move {
            let mut seq = Sequencer::new(store, signer());
            seq.batch = 7;
            let mut busy = 0;
            for _ in 0..40 {
                busy += u32::from(seq.round(false).await.unwrap().busy);
                tokio::task::yield_now().await;
            }
            busy
        });
    }
    let mut ids = Vec::new();
    for chunk in 0..10 {
        ids.extend(add(&t, chunk * 10..chunk * 10 + 10).await);
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    // Whatever the racing rounds left pending.
    while let Integration::Integrated { added: 1.., .. } = t.store.integrate(1000).await.unwrap() {}
    let leaves = t.store.leaves_with_events(0, 10_000).await.unwrap();
    assert_eq!(leaves.len(), 100);
    for (i, (leaf, event)) in leaves.iter().enumerate() {
        assert_eq!(leaf.index, i as u64, "no gaps");
        assert!(event.is_some());
    }
    let mut leaf_ids: Vec<_> = leaves.iter().map(|(l, _)| l.event_id).collect();
    leaf_ids.sort();
    ids.sort();
    assert_eq!(leaf_ids, ids, "each event exactly once");
    Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    let report = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}

/// Retention removes payloads, keeps leaves: proofs still verify and
/// verification reports the leaves as expired, not as tampering.
async fn retention_keeps_leaves(b: Backend) {
    let t = b.open().await;
    let old = r#"{"action":"draft.edit","resource":{"id":"old"},"user_id":"system","created":"2020-01-15T00:00:00Z"}"#;
    let auditlog_store::Created::Logged(old) = t.service.create(&system(), input(old), None).await.unwrap() else {
        panic!("not logged")
    };
    let fresh = add(&t, 0..4).await;
    // Not integrated yet: retention integrates before expiring.
    let policy = RetentionPolicy::from_config(&common::config());
    let report = t.store.run_retention(&policy, Timestamp::now(), RetentionMode::Delete).await.unwrap();
    assert_eq!(report.deleted.get("draft.edit"), Some(&1));
    assert_eq!(t.store.get(old.id).await.unwrap(), None, "payload gone");
    let leaf = t.store.leaf_for_event(old.id).await.unwrap().expect("leaf kept");
    assert!(leaf.expired.is_some());
    assert_eq!(leaf.hash, auditlog_transparency::leaf_hash_of(&old));
    Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    let cp = verifier().verify(&t.store.checkpoint(None).await.unwrap().unwrap().note).unwrap();
    let p = inclusion_proof(t.store.as_ref(), old.id, None).await.unwrap();
    verify_inclusion(&p.leaf_hash, p.leaf_index, cp.size, &p.proof, &cp.root).unwrap();
    let report = verify_database(t.store.as_ref(), &verifier(), Some(Timestamp::now())).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!((report.leaves, report.expired), (5, 1));
    // An expiry mark on a leaf too young to have expired is not believed.
    let young = fresh[0];
    match b {
        Backend::Sqlite => {
            sql(&t, &format!("DELETE FROM audit_events WHERE id = '{young}'; UPDATE audit_leaves SET expired = 1 WHERE event_id = '{young}';")).await
        }
        Backend::Postgres => {
            sql(&t, &format!("DELETE FROM audit_events WHERE id = '{young}'; UPDATE audit_leaves SET expired = now() WHERE event_id = '{young}';")).await
        }
    }
    let floor = Timestamp::from_micros(Timestamp::now().as_micros() - 30 * 86_400_000_000);
    let report = verify_database(t.store.as_ref(), &verifier(), floor).await.unwrap();
    assert_eq!(report.findings.first(), Some(&Finding::Missing { event_id: young, leaf_index: 1 }));
}

/// A signed, verified log of ten events, then one act of tampering.
async fn tampered(
    b: Backend,
    act: impl AsyncFnOnce(&TestStore, &[uuid::Uuid]),
) -> (TestStore, Vec<uuid::Uuid>, Vec<Finding>) {
    let t = b.open().await;
    let ids = add(&t, 0..10).await;
    Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    assert!(verify_database(t.store.as_ref(), &verifier(), None).await.unwrap().is_ok());
    act(&t, &ids).await;
    let findings = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap().findings;
    (t, ids, findings)
}

async fn tamper_modify_a_field(b: Backend) {
    let (_t, ids, findings) = tampered(b, async |t, ids| {
        sql(t, &format!("UPDATE audit_events SET message = 'User 3 did nothing.' WHERE id = '{}'", ids[3])).await
    })
    .await;
    assert_eq!(findings[0], Finding::ContentChanged { event_id: ids[3], leaf_index: 3 });
    assert!(findings.iter().any(|f| matches!(f, Finding::RootMismatch { size: 10, .. })), "{findings:?}");
    assert_eq!(findings[0].to_string(), format!("leaf 3: event {}: content changed", ids[3]));
}

async fn tamper_delete_a_row(b: Backend) {
    let (_t, ids, findings) =
        tampered(b, async |t, ids| sql(t, &format!("DELETE FROM audit_events WHERE id = '{}'", ids[6])).await).await;
    assert_eq!(findings, vec![Finding::Missing { event_id: ids[6], leaf_index: 6 }]);
    assert_eq!(findings[0].to_string(), format!("leaf 6: event {}: missing", ids[6]));
}

async fn tamper_insert_a_forged_row(b: Backend) {
    let forged = uuid::Uuid::now_v7();
    let (_t, _ids, findings) = tampered(b, async |t, _| {
        let stmt = match t.backend {
            Backend::Sqlite => format!(
                "INSERT INTO audit_events (id, created, action, resource_type, resource_id, user_id, user_email, metadata, message)
                 VALUES ('{forged}', 1767225600000000, 'draft.delete', 'record', 'r-x', '9', 'x@example.org', '{{}}', 'forged')"
            ),
            Backend::Postgres => format!(
                "INSERT INTO audit_events (id, created, action, resource_type, resource_id, user_id, user_email, metadata, message, fts)
                 VALUES ('{forged}', '2026-01-01T00:00:00Z', 'draft.delete', 'record', 'r-x', '9', 'x@example.org', '{{}}', 'forged', '')"
            ),
        };
        sql(t, &stmt).await
    })
    .await;
    assert_eq!(findings, vec![Finding::UnexpectedRow { event_id: forged }]);
    assert_eq!(findings[0].to_string(), format!("event {forged}: unexpected row (not in the log)"));
}

async fn tamper_swap_leaf_order(b: Backend) {
    let (_t, ids, findings) = tampered(b, async |t, _| {
        sql(
            t,
            "UPDATE audit_leaves SET leaf_index = -1 WHERE leaf_index = 2;
             UPDATE audit_leaves SET leaf_index = 2 WHERE leaf_index = 5;
             UPDATE audit_leaves SET leaf_index = 5 WHERE leaf_index = -1;",
        )
        .await
    })
    .await;
    assert!(findings.contains(&Finding::OrderChanged { leaf_index: 2, event_id: ids[5] }), "{findings:?}");
    assert!(findings.contains(&Finding::OrderChanged { leaf_index: 5, event_id: ids[2] }), "{findings:?}");
    assert!(matches!(findings.last(), Some(Finding::RootMismatch { size: 10, .. })), "{findings:?}");
    assert!(!findings.iter().any(|f| matches!(f, Finding::ContentChanged { .. } | Finding::Missing { .. })));
}

async fn tamper_checkpoint_signed_by_another_key(b: Backend) {
    let (_t, _ids, findings) = tampered(b, async |t, _| {
        let cp = t.store.checkpoint(None).await.unwrap().unwrap();
        let other = NoteSigner::from_seed("test.example/auditlog", &[9; 32]).unwrap();
        let forged = other.sign(&auditlog_merkle::Checkpoint::new("test.example/auditlog", cp.size, cp.root)).unwrap();
        sql(
            t,
            &format!("UPDATE audit_checkpoints SET note = '{}' WHERE size = {}", forged.replace('\'', "''"), cp.size),
        )
        .await
    })
    .await;
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(matches!(&findings[0], Finding::BadSignature { size: 10, .. }), "{findings:?}");
}

async fn tamper_truncate_newest_rows(b: Backend) {
    // Truncation that also removes leaves, nodes and newer checkpoints
    // leaves a self-consistent smaller log: only someone who saw a larger
    // checkpoint can tell (the monitor: `auditlog verify --url`). Here: the
    // consistency proof from the old size to the current size is refused.
    let (t, _ids, findings) = tampered(b, async |t, ids| {
        sql(t, "DELETE FROM audit_checkpoints").await;
        let newest: Vec<String> = ids[7..].iter().map(|id| format!("'{id}'")).collect();
        sql(
            t,
            &format!(
                "DELETE FROM audit_events WHERE id IN ({0}); DELETE FROM audit_leaves WHERE event_id IN ({0});",
                newest.join(",")
            ),
        )
        .await;
        sql(t, "DELETE FROM audit_tree WHERE (level = 1 AND idx >= 3) OR (level = 2 AND idx >= 1) OR level = 3").await;
        Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    })
    .await;
    assert!(findings.is_empty(), "self-consistent after truncation: {findings:?}");
    assert!(matches!(consistency_proof(t.store.as_ref(), 10, Some(7)).await, Err(ProofError::Sizes(_))));
    assert!(matches!(consistency_proof(t.store.as_ref(), 1, Some(10)).await, Err(ProofError::BeyondTree { .. })));
}

/// Leaf hashes are computed from the event as written; verification
/// recomputes them from the stored row. They agree for awkward metadata
/// (floats, big integers, unicode, nesting) on every store.
async fn leaf_hashes_survive_the_round_trip(b: Backend) {
    let t = b.open().await;
    let odd = r#"{"action":"record.link","resource":{"id":"r-ü"},"user":{"id":"u","email":"ü@example.org"},
        "metadata":{"f":2.5,"small":1e-7,"third":0.3333333333333333,"big":12345678901234567,"neg":-17,
                    "text":"Zürich – 😀 \"quoted\" \\ back","nested":{"z":[1,"a",null,true,{"k":[]}]},"empty":{}}}"#;
    t.service.create(&system(), input(odd), None).await.unwrap();
    add(&t, 0..3).await;
    Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    let report = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.leaves, 4);
}

/// Events stored before the log existed are queued by the migration without
/// a leaf hash; the sequencer hashes them from their stored rows.
async fn events_queued_by_the_migration_are_hashed_from_their_rows(b: Backend) {
    let t = b.open().await;
    let ids = add(&t, 0..6).await;
    match b {
        Backend::Sqlite => sql(&t, "UPDATE audit_pending SET event_id = NULL, created = NULL, leaf_hash = NULL").await,
        Backend::Postgres => sql(&t, "UPDATE audit_pending SET leaf_hash = NULL").await,
    }
    let round = Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    assert_eq!(round.added, 6);
    assert_eq!(leaf_order(&t).await, ids);
    let report = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}

/// Events waiting in the queue are pending, never rows the log does not
/// know, even when queued by the migration (on SQLite without their event
/// id): both backends find an event's place in the queue by its `seq`.
async fn queued_events_are_pending_not_unexpected(b: Backend) {
    let t = b.open().await;
    let ids = add(&t, 0..4).await;
    match b {
        Backend::Sqlite => sql(&t, "UPDATE audit_pending SET event_id = NULL, created = NULL, leaf_hash = NULL").await,
        Backend::Postgres => sql(&t, "UPDATE audit_pending SET leaf_hash = NULL").await,
    }
    let report = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap();
    assert_eq!((report.pending, report.findings.clone()), (4, vec![]), "{:?}", report.findings);
    // A row gone from the queue (and never integrated) is reported.
    sql(&t, &format!("DELETE FROM audit_pending WHERE seq = (SELECT seq FROM audit_events WHERE id = '{}')", ids[2]))
        .await;
    let report = verify_database(t.store.as_ref(), &verifier(), None).await.unwrap();
    assert_eq!(report.findings, vec![Finding::UnexpectedRow { event_id: ids[2] }]);
}

/// Searching is unaffected by the log (its tables are not the events').
async fn search_ignores_log_tables(b: Backend) {
    let t = b.open().await;
    add(&t, 0..5).await;
    Sequencer::new(t.store.clone(), signer()).round(true).await.unwrap();
    let r = t.service.search(&admin(), &SearchParams::default()).await.unwrap();
    assert_eq!(r.total, 5);
}

store_tests!(
    integrates_signs_and_proves,
    proof_errors_say_what_is_wrong,
    crash_between_commit_and_integration,
    concurrent_sequencers_make_one_tree,
    retention_keeps_leaves,
    tamper_modify_a_field,
    tamper_delete_a_row,
    tamper_insert_a_forged_row,
    tamper_swap_leaf_order,
    tamper_checkpoint_signed_by_another_key,
    tamper_truncate_newest_rows,
    leaf_hashes_survive_the_round_trip,
    events_queued_by_the_migration_are_hashed_from_their_rows,
    queued_events_are_pending_not_unexpected,
    search_ignores_log_tables,
);
