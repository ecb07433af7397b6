//! Facet counts on PostgreSQL: events per (resource type, action), kept as
//! insert-only delta rows that are summed on read and compacted now and then.
//!
//! Why not one counter row per key, as SQLite has: incrementing a counter
//! row locks it until the writing transaction ends. Every writer of
//! the same action then queues behind the one before it, across servers,
//! and a host's unit of work holds the lock for as long as its own business
//! transaction runs (two units of work that register actions in opposite
//! orders even deadlock). SQLite has one writer anyway; PostgreSQL has
//! many. Delta rows take no lock another writer waits for, commit and roll
//! back with the events they count (same transaction), and stay exact.
//! Reads sum a table that compaction keeps at about one row per key.
//!
//! Compaction deletes the rows its statement sees and inserts their sums,
//! in one statement: rows committed meanwhile are not seen, so not deleted,
//! and a row two compactions both see is deleted (and summed) by only one of
//! them. It runs when a read finds too many rows, after retention, and with
//! partition maintenance.

use tokio_postgres::GenericClient;
use tokio_postgres::types::Type;

use super::{LockClass, map_pg};
use crate::error::StoreError;
use crate::search::FacetCell;

/// Delta rows beyond which a read compacts.
const COMPACT_ABOVE: i64 = 1_000;

/// Adds `n` events (negative: removes) per (resource type, action).
pub(super) async fn add<'a>(
    c: &(impl GenericClient + Sync),
    deltas: impl IntoIterator<Item = (&'a str, &'a str, i64)>,
) -> Result<(), StoreError> {
    let (mut rtype, mut action, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for (r, a, d) in deltas {
        if d != 0 {
            rtype.push(r);
            action.push(a);
            n.push(d);
        }
    }
    if n.is_empty() {
        return Ok(());
    }
    c.execute_typed(
        "INSERT INTO audit_counts (resource_type, action, n) SELECT * FROM unnest($1, $2, $3)",
        &[(&rtype, Type::TEXT_ARRAY), (&action, Type::TEXT_ARRAY), (&n, Type::INT8_ARRAY)],
    )
    .await
    .map_err(map_pg)?;
    Ok(())
}

/// Events per (resource type, action), keys with none left out.
pub(super) const CELLS: &str =
    "SELECT resource_type, action, sum(n)::bigint FROM audit_counts GROUP BY 1, 2 HAVING sum(n) > 0";

/// A `resource_type, action, count` row.
pub(super) fn cell(r: &tokio_postgres::Row) -> Result<FacetCell, StoreError> {
    let bad = |e: tokio_postgres::Error| StoreError::internal_from("unreadable facet count", e);
    let count: i64 = r.try_get(2).map_err(bad)?;
    Ok(FacetCell { resource_type: r.try_get(0).map_err(bad)?, action: r.try_get(1).map_err(bad)?, count: count as u64 })
}

/// Actions with at least one event.
pub(super) async fn actions(c: &(impl GenericClient + Sync)) -> Result<Vec<String>, StoreError> {
    let rows = c
        .query_typed("SELECT action FROM audit_counts GROUP BY action HAVING sum(n) > 0", &[])
        .await
        .map_err(map_pg)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Number of stored events.
pub(super) async fn total(c: &(impl GenericClient + Sync)) -> Result<u64, StoreError> {
    let n: i64 =
        c.query_typed_one("SELECT coalesce(sum(n), 0)::bigint FROM audit_counts", &[]).await.map_err(map_pg)?.get(0);
    Ok(n.max(0) as u64)
}

/// Compacts when the delta rows have piled up (counting them is bounded:
/// it stops past the threshold).
pub(super) async fn compact_if_needed(c: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let rows: i64 = c
        .query_typed_one(
            "SELECT count(*) FROM (SELECT 1 FROM audit_counts LIMIT $1) t",
            &[(&(COMPACT_ABOVE + 1), Type::INT8)],
        )
        .await
        .map_err(map_pg)?
        .get(0);
    if rows > COMPACT_ABOVE { compact(c).await } else { Ok(()) }
}

/// Replaces the delta rows by one row per key. One compaction at a time per
/// schema; a call that finds another running returns at once.
pub(super) async fn compact(c: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let tx = c.transaction().await.map_err(map_pg)?;
    let got: bool = tx
        .query_typed_one(
            "SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))",
            &[(&(LockClass::Counts as i32), Type::INT4)],
        )
        .await
        .map_err(map_pg)?
        .get(0);
    if got {
        tx.batch_execute(
            "WITH gone AS (DELETE FROM audit_counts RETURNING resource_type, action, n)
             INSERT INTO audit_counts (resource_type, action, n)
             SELECT resource_type, action, sum(n) FROM gone GROUP BY 1, 2 HAVING sum(n) <> 0",
        )
        .await
        .map_err(map_pg)?;
    }
    tx.commit().await.map_err(map_pg)
}
