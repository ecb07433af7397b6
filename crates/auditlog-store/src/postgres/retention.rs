//! Retention on PostgreSQL. One run at a time per schema: a session
//! advisory lock, taken without waiting, on a connection detached from the
//! pool (should the run die, closing that connection releases the lock).
//!
//! A month partition whose events have all expired (its end is at or before
//! the cutoff of every action in it, none kept forever) is detached and
//! dropped whole; the remaining expired events are deleted in batches of
//! `batch_size`, oldest first, each batch one transaction. Both paths count
//! what they remove per action and take it off the facet counts in the same
//! transaction. The events' Merkle leaves stay (they live outside the
//! partitions), marked expired by [`expire_events`] (rows) and
//! [`drop_partition`] (partitions). The run itself is the shared one of
//! [`crate::backend::retention`].

use auditlog_core::Timestamp;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::partitions::{self, Partition};
use super::tree;
use super::{LockClass, PgStore, counts, get, map_pg};
use crate::backend::retention::{self as skeleton, RetentionBatches};
use crate::error::StoreError;
use crate::retention::{self, RetentionMode, RetentionPolicy, RetentionReport};
use auditlog_transparency::Integration;

/// Proof that this process runs retention on the schema. Release it with
/// [`RetentionLock::release`]; merely dropping it closes its connection,
/// which releases the lock as soon as the server notices.
pub struct RetentionLock {
    client: deadpool_postgres::ClientWrapper,
}

impl std::fmt::Debug for RetentionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetentionLock")
    }
}

impl RetentionLock {
    pub async fn release(self) -> Result<(), StoreError> {
        self.client
            .query_typed(
                "SELECT pg_advisory_unlock($1, hashtext(current_schema()))",
                &[(&(LockClass::Retention as i32), Type::INT4)],
            )
            .await
            .map_err(map_pg)?;
        Ok(())
    }
}

impl PgStore {
    /// Takes the retention lock, or `None` when another run holds it.
    pub async fn try_retention_lock(&self) -> Result<Option<RetentionLock>, StoreError> {
        let client = deadpool_postgres::Object::take(self.client().await?);
        let got: bool = client
            .query_typed_one(
                "SELECT pg_try_advisory_lock($1, hashtext(current_schema()))",
                &[(&(LockClass::Retention as i32), Type::INT4)],
            )
            .await
            .map_err(map_pg)?
            .get(0);
        Ok(got.then_some(RetentionLock { client }))
    }
}

pub(super) async fn run(
    store: &PgStore,
    policy: &RetentionPolicy,
    now: Timestamp,
    mode: RetentionMode,
) -> Result<RetentionReport, StoreError> {
    let Some(mut lock) = store.try_retention_lock().await? else {
        return Ok(RetentionReport::not_run(mode));
    };
    let report = skeleton::run(&mut Batches { store, client: &mut lock.client }, policy, now, mode).await;
    if let Err(e) = lock.release().await {
        tracing::warn!(error = %e, "could not release the retention lock; closing its connection releases it");
    }
    report
}

/// Retention's statements: integration through the pool (another server's
/// busy sequencer makes the pending events wait for the next run), the rest
/// on the lock's own connection.
struct Batches<'a> {
    store: &'a PgStore,
    client: &'a mut tokio_postgres::Client,
}

impl RetentionBatches for Batches<'_> {
    async fn integrate(&mut self, max: usize) -> Result<Integration, StoreError> {
        tree::integrate(self.store, max).await
    }

    /// Month partitions whose events have all expired go whole.
    async fn before(
        &mut self,
        policy: &RetentionPolicy,
        now: Timestamp,
        report: &mut RetentionReport,
    ) -> Result<(), StoreError> {
        let this_month = Timestamp::from_datetime(retention::month_start(now));
        for p in partitions::list(&*self.client).await? {
            if p.to > this_month {
                continue;
            }
            let actions = partitions::actions_in(&*self.client, &p).await?;
            if !droppable(&actions, &p, policy, now) {
                continue;
            }
            match report.mode {
                // A dry run counts these rows with all the others.
                RetentionMode::DryRun => report.dropped_partitions.push(p.name.clone()),
                RetentionMode::Delete => {
                    if let Some(cells) = drop_partition(self.client, &p, policy, now).await? {
                        for (_, action, n) in cells {
                            report.add(&action, n as u64);
                        }
                        tracing::info!(partition = %p.name, "dropped expired partition");
                        report.dropped_partitions.push(p.name.clone());
                    }
                }
            }
        }
        Ok(())
    }

    async fn actions(&mut self) -> Result<Vec<String>, StoreError> {
        counts::actions(&*self.client).await
    }

    async fn count_expired(&mut self, action: &str, cutoff: Timestamp) -> Result<u64, StoreError> {
        let row = self
            .client
            .query_typed_one(
                "SELECT count(*) FROM audit_events WHERE action = $1 AND created < $2",
                &[(&action, Type::TEXT), (&cutoff.as_datetime(), Type::TIMESTAMPTZ)],
            )
            .await
            .map_err(map_pg)?;
        Ok(get::<i64>(&row, 0)? as u64)
    }

    async fn expire_batch(&mut self, action: &str, cutoff: Timestamp, limit: u32) -> Result<u64, StoreError> {
        Ok(expire_batch(self.client, action, cutoff.as_datetime(), i64::from(limit)).await? as u64)
    }

    async fn after(&mut self) -> Result<(), StoreError> {
        counts::compact(self.client).await
    }
}

/// Whether every event of a partition has expired: the partition ends at or
/// before the cutoff of each action in it. An empty partition goes once the
/// default period has passed it.
fn droppable(actions: &[String], p: &Partition, policy: &RetentionPolicy, now: Timestamp) -> bool {
    let expired = |cutoff: Option<Timestamp>| cutoff.is_some_and(|c| c >= p.to);
    if actions.is_empty() {
        expired(retention::cutoff(policy.default, now))
    } else {
        actions.iter().all(|a| expired(policy.cutoff(a, now)))
    }
}

/// Detaches and drops a partition whose events have all expired, taking
/// them off the facet counts; `Some(events per (resource type, action))`
/// when dropped. The events table is locked first, so what is counted is
/// what is dropped; if the lock is not granted in time (a long query), the
/// partition stays and its rows go the batched way.
async fn drop_partition(
    client: &mut tokio_postgres::Client,
    p: &Partition,
    policy: &RetentionPolicy,
    now: Timestamp,
) -> Result<Option<Vec<(String, String, i64)>>, StoreError> {
    let tx = partitions::begin_ddl(client).await?;
    match tx.batch_execute("LOCK TABLE ONLY audit_events IN ACCESS EXCLUSIVE MODE").await {
        Ok(()) => {}
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
            tracing::warn!(partition = %p.name, "events table busy; deleting the partition's rows in batches instead");
            return Ok(None);
        }
        Err(e) => return Err(map_pg(e)),
    }
    let exists: bool = tx
        .query_typed_one("SELECT to_regclass($1) IS NOT NULL", &[(&p.name, Type::TEXT)])
        .await
        .map_err(map_pg)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let cells = partitions::counts_in(&tx, p).await?;
    let mut actions: Vec<String> = cells.iter().map(|(_, a, _)| a.clone()).collect();
    actions.sort();
    actions.dedup();
    if !droppable(&actions, p, policy, now) {
        return Ok(None);
    }
    // Events not yet in the transparency log must not go: the batched way
    // skips them until they are integrated.
    let pending: bool = tx
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM audit_pending WHERE created >= $1 AND created < $2)",
            &[(&p.from.as_datetime(), Type::TIMESTAMPTZ), (&p.to.as_datetime(), Type::TIMESTAMPTZ)],
        )
        .await
        .map_err(map_pg)?
        .get(0);
    if pending {
        return Ok(None);
    }
    let name = &p.name;
    // The partition's events keep their leaves, marked expired.
    tx.batch_execute(&format!(
        "UPDATE audit_leaves l SET expired = now() FROM {name} e WHERE l.event_id = e.id AND l.created = e.created"
    ))
    .await
    .map_err(map_pg)?;
    tx.batch_execute(&format!("ALTER TABLE audit_events DETACH PARTITION {name}; DROP TABLE {name}"))
        .await
        .map_err(map_pg)?;
    counts::add(&tx, cells.iter().map(|(r, a, n)| (r.as_str(), a.as_str(), -n))).await?;
    tx.commit().await.map_err(map_pg)?;
    Ok(Some(cells))
}

/// One batch: the oldest `limit` expired events of `action`, in one
/// transaction. Returns how many went.
async fn expire_batch(
    client: &mut tokio_postgres::Client,
    action: &str,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<i64, StoreError> {
    let tx = client.transaction().await.map_err(map_pg)?;
    let rows = tx
        .query_typed(
            "SELECT id, created FROM audit_events e WHERE action = $1 AND created < $2
             AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.id = e.id)
             ORDER BY created LIMIT $3",
            &[(&action, Type::TEXT), (&cutoff, Type::TIMESTAMPTZ), (&limit, Type::INT8)],
        )
        .await
        .map_err(map_pg)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| get(r, 0)).collect::<Result<_, _>>()?;
    let created: Vec<chrono::DateTime<chrono::Utc>> = rows.iter().map(|r| get(r, 1)).collect::<Result<_, _>>()?;
    let n = expire_events(&tx, action, &ids, &created).await?;
    tx.commit().await.map_err(map_pg)?;
    Ok(n)
}

/// The one place PostgreSQL deletes expired events row by row: the events
/// `ids` of `action` (created within the span of `created`, which lets the
/// planner visit only their partitions), and their facet counts. Their
/// Merkle leaves stay, marked expired.
async fn expire_events(
    tx: &tokio_postgres::Transaction<'_>,
    action: &str,
    ids: &[Uuid],
    created: &[chrono::DateTime<chrono::Utc>],
) -> Result<i64, StoreError> {
    let (Some(first), Some(last)) = (created.iter().min(), created.iter().max()) else {
        return Ok(0);
    };
    let rows = tx
        .query_typed(
            "WITH gone AS (
                 DELETE FROM audit_events
                 WHERE id = ANY($1) AND action = $2 AND created >= $3 AND created <= $4
                 RETURNING id, resource_type
             ), marked AS (
                 UPDATE audit_leaves SET expired = now() WHERE event_id IN (SELECT id FROM gone) RETURNING 1
             )
             SELECT resource_type, count(*) FROM gone GROUP BY 1",
            &[(&ids, Type::UUID_ARRAY), (&action, Type::TEXT), (first, Type::TIMESTAMPTZ), (last, Type::TIMESTAMPTZ)],
        )
        .await
        .map_err(map_pg)?;
    let gone: Vec<(String, i64)> =
        rows.iter().map(|r| Ok((get(r, 0)?, get(r, 1)?))).collect::<Result<_, StoreError>>()?;
    counts::add(tx, gone.iter().map(|(r, n)| (r.as_str(), action, -n))).await?;
    Ok(gone.iter().map(|(_, n)| n).sum())
}
