//! The unit of work: the host's own transaction carries its audit events.
//! An event exists if and only if the host's change committed. The same
//! scenarios run on every backend through the small [`Host`] interface, which
//! each backend implements with its own transaction type.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auditlog_core::{ContextData, EventDraft, Identity};
use auditlog_store::postgres::PgStore;
use auditlog_store::sqlite::{SqliteStore, UnitOfWork, UowError};
use common::{Backend, TestStore};

/// How a host transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Commit,
    Rollback,
    /// The host fails after registering its events and drops the unit of work.
    HostError,
}

/// A host application: one table of its own (`things`) in the audit
/// database, written in the same transaction as the audit events.
#[async_trait::async_trait]
trait Host: Send + Sync {
    async fn setup(&self);
    /// Inserts `thing`, registers `drafts`, then finishes. Returns the ids of
    /// committed events, or the error text; `hooks` counts post-commit hooks run.
    async fn run(
        &self,
        thing: String,
        drafts: Vec<EventDraft>,
        finish: Finish,
        hooks: Arc<AtomicUsize>,
    ) -> Result<Vec<uuid::Uuid>, String>;
    async fn things(&self) -> Vec<String>;
}

struct SqliteHost {
    store: Arc<SqliteStore>,
    audit: Arc<auditlog_core::AuditLog>,
}

#[async_trait::async_trait]
impl Host for SqliteHost {
    async fn setup(&self) {
        let conn = self.store.connect().unwrap();
        conn.execute_batch("CREATE TABLE things (name TEXT NOT NULL)").unwrap();
    }

    async fn run(
        &self,
        thing: String,
        drafts: Vec<EventDraft>,
        finish: Finish,
        hooks: Arc<AtomicUsize>,
    ) -> Result<Vec<uuid::Uuid>, String> {
        let store = self.store.clone();
        let audit = self.audit.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = store.connect().map_err(|e| e.to_string())?;
            let mut uow = UnitOfWork::begin(&mut conn, &audit).map_err(|e| e.to_string())?;
            uow.execute("INSERT INTO things (name) VALUES (?1)", [&thing]).map_err(|e| e.to_string())?;
            for d in drafts {
                // Like a careless host, keep going after an invalid event:
                // the commit must still refuse.
                let _ = uow.register(d);
            }
            let h = hooks.clone();
            uow.on_commit(move |events| {
                h.fetch_add(events.len(), Ordering::SeqCst);
            });
            match finish {
                Finish::Commit => uow
                    .commit()
                    .map(|events| events.iter().map(|e| e.id).collect())
                    .map_err(|e: UowError| e.to_string()),
                Finish::Rollback => uow.rollback().map(|_| Vec::new()).map_err(|e| e.to_string()),
                Finish::HostError => {
                    drop(uow);
                    Err("host failed".into())
                }
            }
        })
        .await
        .unwrap()
    }

    async fn things(&self) -> Vec<String> {
        let conn = self.store.connect().unwrap();
        let mut stmt = conn.prepare("SELECT name FROM things ORDER BY name").unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }
}

struct PgHost {
    store: Arc<PgStore>,
    audit: Arc<auditlog_core::AuditLog>,
}

#[async_trait::async_trait]
impl Host for PgHost {
    async fn setup(&self) {
        let client = self.store.pool().get().await.unwrap();
        client.batch_execute("CREATE TABLE things (name text NOT NULL)").await.unwrap();
    }

    async fn run(
        &self,
        thing: String,
        drafts: Vec<EventDraft>,
        finish: Finish,
        hooks: Arc<AtomicUsize>,
    ) -> Result<Vec<uuid::Uuid>, String> {
        let mut client = self.store.pool().get().await.map_err(|e| e.to_string())?;
        let mut uow =
            auditlog_store::postgres::UnitOfWork::begin(&mut client, &self.audit).await.map_err(|e| e.to_string())?;
        uow.execute("INSERT INTO things (name) VALUES ($1)", &[&thing]).await.map_err(|e| e.to_string())?;
        for d in drafts {
            // Like a careless host, keep going after an invalid event: the
            // commit must still refuse.
            let _ = uow.register(d).await;
        }
        let h = hooks.clone();
        uow.on_commit(move |events| {
            h.fetch_add(events.len(), Ordering::SeqCst);
        });
        match finish {
            Finish::Commit => uow
                .commit()
                .await
                .map(|events| events.iter().map(|e| e.id).collect())
                .map_err(|e: UowError| e.to_string()),
            Finish::Rollback => uow.rollback().await.map(|_| Vec::new()).map_err(|e| e.to_string()),
            Finish::HostError => {
                drop(uow);
                Err("host failed".into())
            }
        }
    }

    async fn things(&self) -> Vec<String> {
        let client = self.store.pool().get().await.unwrap();
        let rows = client.query("SELECT name FROM things ORDER BY name COLLATE \"C\"", &[]).await.unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    }
}

async fn host(b: Backend) -> (TestStore, Arc<dyn Host>) {
    let t = b.open().await;
    let h: Arc<dyn Host> = match b {
        Backend::Sqlite => Arc::new(SqliteHost { store: t.sqlite.clone().unwrap(), audit: t.audit.clone() }),
        Backend::Postgres => Arc::new(PgHost { store: t.postgres.clone().unwrap(), audit: t.audit.clone() }),
    };
    h.setup().await;
    (t, h)
}

fn draft(t: &TestStore, resource: &str) -> EventDraft {
    t.audit
        .build(&Identity::user("system"), "draft.create", resource, ContextData::new().with("parent_pid", "p-1"))
        .unwrap()
        .unwrap()
}

fn invalid_draft(t: &TestStore) -> EventDraft {
    // record.publish without its required revision_id.
    t.audit
        .build(&Identity::system(), "record.publish", "r", ContextData::new().with("parent_pid", "p"))
        .unwrap()
        .unwrap()
}

async fn commit_stores_both(b: Backend) {
    let (t, h) = host(b).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let ids = h.run("a".into(), vec![draft(&t, "r1"), draft(&t, "r2")], Finish::Commit, hooks.clone()).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(h.things().await, ["a"]);
    for id in ids {
        assert!(t.store.get(id).await.unwrap().is_some());
    }
    assert_eq!(hooks.load(Ordering::SeqCst), 2, "post-commit hooks ran after the commit");
    assert_eq!(t.store.count().await.unwrap(), 2);
    // Searchable like any other event (indexes written in the same transaction).
    let r = t
        .service
        .search(
            &common::admin(),
            &auditlog_store::SearchParams { q: Some("resource.id:r1 AND p-1".into()), ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(r.total, 1);
}

async fn host_rollback_leaves_no_event(b: Backend) {
    let (t, h) = host(b).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    h.run("a".into(), vec![draft(&t, "r1")], Finish::Rollback, hooks.clone()).await.unwrap();
    assert_eq!(
        h.run("b".into(), vec![draft(&t, "r2")], Finish::HostError, hooks.clone()).await,
        Err("host failed".into())
    );
    assert!(h.things().await.is_empty());
    assert_eq!(t.store.count().await.unwrap(), 0);
    assert_eq!(hooks.load(Ordering::SeqCst), 0, "no post-commit work without a commit");
    let r = t.service.search(&common::admin(), &Default::default()).await.unwrap();
    assert_eq!(r.total, 0, "no facet counts either");
}

async fn invalid_event_fails_the_whole_transaction(b: Backend) {
    let (t, h) = host(b).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let err =
        h.run("a".into(), vec![draft(&t, "r1"), invalid_draft(&t)], Finish::Commit, hooks.clone()).await.unwrap_err();
    assert!(err.contains("metadata.revision_id"), "{err}");
    assert!(h.things().await.is_empty(), "the host's write is gone too");
    assert_eq!(t.store.count().await.unwrap(), 0, "and so is the valid event registered before");
    assert_eq!(hooks.load(Ordering::SeqCst), 0);
}

async fn parallel_units_of_work_do_not_interfere(b: Backend) {
    let (t, h) = host(b).await;
    let hooks = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let h = h.clone();
        let hooks = hooks.clone();
        let drafts: Vec<Vec<EventDraft>> = (0..10).map(|i| vec![draft(&t, &format!("w{worker}-{i}"))]).collect();
        let bad = invalid_draft(&t);
        tasks.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            for (i, d) in drafts.into_iter().enumerate() {
                let thing = format!("w{worker}-{i:02}");
                let finish = if i % 3 == 2 { Finish::Rollback } else { Finish::Commit };
                let mut d = d;
                if i == 7 {
                    d.push(bad.clone());
                }
                let r = h.run(thing.clone(), d, finish, hooks.clone()).await;
                if finish == Finish::Commit && i != 7 {
                    assert_eq!(r.as_ref().map(Vec::len), Ok(1), "{thing}: {r:?}");
                    kept.push(thing);
                }
            }
            kept
        }));
    }
    let mut expected = Vec::new();
    for task in tasks {
        expected.extend(task.await.unwrap());
    }
    expected.sort();
    assert_eq!(h.things().await, expected);
    assert_eq!(t.store.count().await.unwrap(), expected.len() as u64);
    assert_eq!(hooks.load(Ordering::SeqCst), expected.len());
    // The store's own writer ran alongside: no "database is locked".
    let r = t
        .service
        .search(&common::admin(), &auditlog_store::SearchParams { size: 100, ..Default::default() })
        .await
        .unwrap();
    let mut ids: Vec<String> = r.hits.iter().map(|e| e.resource.id.clone()).collect();
    ids.sort();
    let mut want: Vec<String> = expected
        .iter()
        .map(|s| {
            let (w, i) = s.split_once('-').unwrap();
            format!("{w}-{}", i.trim_start_matches('0').parse::<u32>().unwrap_or(0))
        })
        .collect();
    want.sort();
    assert_eq!(ids, want);
}

store_tests!(
    commit_stores_both,
    host_rollback_leaves_no_event,
    invalid_event_fails_the_whole_transaction,
    parallel_units_of_work_do_not_interfere
);
