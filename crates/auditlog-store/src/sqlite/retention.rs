//! Retention on SQLite: expired events are deleted in batches on the writer
//! thread (inserts interleave between batches), each batch one transaction
//! that also removes what indexes the event: its metadata leaves, its
//! full-text entry and its facet count.
//!
//! One run at a time per database: the lock is an exclusive SQLite lock on a
//! sidecar file `<db>.retention-lock`, taken without waiting. SQLite locks
//! are OS file locks (and SQLite also arbitrates between connections of one
//! process), so the lock holds across processes (`auditlog retention run`
//! beside a server) and the kernel releases it when the holder exits,
//! however it exits. A lock table would survive a crash and need expiry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use auditlog_core::Timestamp;
use rusqlite::{Connection, TransactionBehavior, params};

use super::{SqliteStore, map_err, schema};
use crate::backend::retention::{self as skeleton, RetentionBatches};
use crate::error::StoreError;
use crate::retention::{RetentionMode, RetentionPolicy, RetentionReport};
use crate::sql::flatten_metadata;
use auditlog_transparency::Integration;

/// Proof that this process runs retention on the database; dropping it
/// releases the lock.
pub struct RetentionLock {
    _conn: Connection,
}

impl std::fmt::Debug for RetentionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetentionLock")
    }
}

impl SqliteStore {
    /// The sidecar file whose lock admits one retention run at a time.
    pub fn retention_lock_path(&self) -> PathBuf {
        let mut p = self.path().as_os_str().to_owned();
        p.push(".retention-lock");
        PathBuf::from(p)
    }

    /// Takes the retention lock, or `None` when another run holds it.
    pub async fn try_retention_lock(&self) -> Result<Option<RetentionLock>, StoreError> {
        let path = self.retention_lock_path();
        tokio::task::spawn_blocking(move || try_lock(&path))
            .await
            .map_err(|e| StoreError::internal_from("taking the retention lock failed", e))?
    }
}

fn try_lock(path: &Path) -> Result<Option<RetentionLock>, StoreError> {
    let open_err = |e: rusqlite::Error| {
        let message = format!("cannot use the retention lock file: {}", schema::describe(&e));
        StoreError::open(path.display().to_string(), message, Some(e.into()))
    };
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(Duration::ZERO).map_err(open_err)?;
    conn.query_row("PRAGMA locking_mode = EXCLUSIVE", [], |r| r.get::<_, String>(0)).map_err(open_err)?;
    match conn.execute_batch("BEGIN EXCLUSIVE") {
        Ok(()) => Ok(Some(RetentionLock { _conn: conn })),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(open_err(e)),
    }
}

pub(super) async fn run(
    store: &SqliteStore,
    policy: &RetentionPolicy,
    now: Timestamp,
    mode: RetentionMode,
) -> Result<RetentionReport, StoreError> {
    let Some(_lock) = store.try_retention_lock().await? else {
        return Ok(RetentionReport::not_run(mode));
    };
    skeleton::run(&mut Batches(store), policy, now, mode).await
}

/// Retention's statements: integration and batches on the writer thread
/// (inserts interleave between batches), counts on a read connection.
struct Batches<'a>(&'a SqliteStore);

impl RetentionBatches for Batches<'_> {
    async fn integrate(&mut self, max: usize) -> Result<Integration, StoreError> {
        self.0.write(move |c| super::tree::integrate(c, max)).await
    }

    async fn actions(&mut self) -> Result<Vec<String>, StoreError> {
        self.0
            .read(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT action FROM audit_counts GROUP BY action HAVING sum(n) > 0")
                    .map_err(map_err)?;
                stmt.query_map([], |r| r.get::<_, String>(0))
                    .map_err(map_err)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(map_err)
            })
            .await
    }

    async fn count_expired(&mut self, action: &str, cutoff: Timestamp) -> Result<u64, StoreError> {
        let (action, cutoff) = (action.to_owned(), cutoff.as_micros());
        let n = self
            .0
            .read(move |c| {
                c.prepare_cached("SELECT count(*) FROM audit_events WHERE action = ?1 AND created < ?2")
                    .map_err(map_err)?
                    .query_row(params![action, cutoff], |r| r.get::<_, i64>(0))
                    .map_err(map_err)
            })
            .await?;
        Ok(n as u64)
    }

    async fn expire_batch(&mut self, action: &str, cutoff: Timestamp, limit: u32) -> Result<u64, StoreError> {
        let (action, cutoff) = (action.to_owned(), cutoff.as_micros());
        self.0.write(move |conn| expire_batch(conn, &action, cutoff, limit)).await
    }
}

/// An event about to expire, with what is needed to unindex it.
struct Expiring {
    seq: i64,
    id: String,
    action: String,
    resource_type: String,
    metadata: String,
}

/// One batch: up to `limit` events of `action` created before `cutoff`, in
/// one transaction.
fn expire_batch(conn: &mut Connection, action: &str, cutoff: i64, limit: u32) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
    let rows = tx
        .prepare_cached(
            "SELECT seq, id, action, resource_type, metadata FROM audit_events e WHERE action = ?1 AND created < ?2
             AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.seq = e.seq) LIMIT ?3",
        )
        .map_err(map_err)?
        .query_map(params![action, cutoff, limit], |r| {
            Ok(Expiring {
                seq: r.get(0)?,
                id: r.get(1)?,
                action: r.get(2)?,
                resource_type: r.get(3)?,
                metadata: r.get(4)?,
            })
        })
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    // An expiring event's full-text entry may still be queued: index the
    // queue first, so the entry is deleted with the event.
    super::move_fts_queue(&tx)?;
    expire_events(&tx, &rows)?;
    tx.commit().map_err(map_err)?;
    Ok(rows.len() as u64)
}

/// The one place SQLite expires events: the row and everything that indexes
/// it (metadata leaves recomputed from the stored metadata and deleted by
/// primary key, the full-text entry, the facet counter). The event's Merkle
/// leaf stays, marked expired, so proofs still verify. Events still waiting
/// to be integrated are never expired (the batch query skips them).
fn expire_events(conn: &Connection, rows: &[Expiring]) -> Result<(), StoreError> {
    let mut mark = conn.prepare_cached("UPDATE audit_leaves SET expired = ?2 WHERE event_id = ?1").map_err(map_err)?;
    let now = Timestamp::now().as_micros();
    let mut leaf =
        conn.prepare_cached("DELETE FROM audit_meta WHERE path = ?1 AND value = ?2 AND seq = ?3").map_err(map_err)?;
    let mut fts = conn.prepare_cached("DELETE FROM audit_fts WHERE rowid = ?1").map_err(map_err)?;
    let mut event = conn.prepare_cached("DELETE FROM audit_events WHERE seq = ?1").map_err(map_err)?;
    let mut counts: HashMap<(&str, &str), i64> = HashMap::new();
    for r in rows {
        let metadata: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&r.metadata)
            .map_err(|e| StoreError::internal_from(format!("bad stored metadata of event #{}", r.seq), e))?;
        for l in flatten_metadata(&metadata) {
            leaf.execute(params![l.path, l.value, r.seq]).map_err(map_err)?;
        }
        fts.execute([r.seq]).map_err(map_err)?;
        event.execute([r.seq]).map_err(map_err)?;
        mark.execute(params![r.id, now]).map_err(map_err)?;
        *counts.entry((&r.resource_type, &r.action)).or_default() += 1;
    }
    let mut dec = conn
        .prepare_cached("UPDATE audit_counts SET n = n - ?3 WHERE resource_type = ?1 AND action = ?2")
        .map_err(map_err)?;
    for ((resource_type, action), n) in counts {
        dec.execute(params![resource_type, action, n]).map_err(map_err)?;
    }
    conn.execute("DELETE FROM audit_counts WHERE n <= 0", []).map_err(map_err)?;
    Ok(())
}
