//! The transparency log on PostgreSQL. Several servers may share one
//! database: each integration round takes a transaction-scoped advisory
//! lock without waiting, so exactly one server integrates at a time, and a
//! server that dies mid-round loses the lock with its transaction — the
//! pending events stay queued for whoever runs the next round.

use auditlog_core::Timestamp;
use auditlog_merkle::NodeId;
use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use super::{LockClass, PgStore, get, map_pg, row_to_event_at};
use crate::backend::tree::{self as skeleton, TreeTx};
use crate::backend::{EVENT_COLUMNS, LEAF_COLUMNS, UNLOGGED_EVENTS, hash_of};
use crate::error::StoreError;
use auditlog_transparency::{Appended, Hash, Integration, Leaf, PendingLeaf, StoredCheckpoint};

pub(super) async fn size(c: &(impl GenericClient + Sync)) -> Result<u64, StoreError> {
    let row = c.query_one("SELECT coalesce(max(leaf_index) + 1, 0) FROM audit_leaves", &[]).await.map_err(map_pg)?;
    Ok(get::<i64>(&row, 0)? as u64)
}

pub(super) async fn nodes(c: &(impl GenericClient + Sync), ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
    let leaves: Vec<i64> = ids.iter().filter(|id| id.level == 0).map(|id| id.index as i64).collect();
    let levels: Vec<i16> = ids.iter().filter(|id| id.level > 0).map(|id| i16::from(id.level)).collect();
    let idxs: Vec<i64> = ids.iter().filter(|id| id.level > 0).map(|id| id.index as i64).collect();
    let mut found = std::collections::HashMap::new();
    if !leaves.is_empty() {
        for r in c
            .query_typed(
                "SELECT leaf_index, leaf_hash FROM audit_leaves WHERE leaf_index = ANY($1)",
                &[(&leaves, Type::INT8_ARRAY)],
            )
            .await
            .map_err(map_pg)?
        {
            found.insert(NodeId::new(0, get::<i64>(&r, 0)? as u64), hash_of(get(&r, 1)?)?);
        }
    }
    if !levels.is_empty() {
        for r in c
            .query_typed(
                "SELECT t.level, t.idx, t.hash FROM audit_tree t
                 JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) ON t.level = w.level AND t.idx = w.idx",
                &[(&levels, Type::INT2_ARRAY), (&idxs, Type::INT8_ARRAY)],
            )
            .await
            .map_err(map_pg)?
        {
            let level: i16 = get(&r, 0)?;
            found.insert(NodeId::new(level as u8, get::<i64>(&r, 1)? as u64), hash_of(get(&r, 2)?)?);
        }
    }
    Ok(ids.iter().map(|id| found.get(id).copied()).collect())
}

/// One integration round, in a transaction holding the sequencer's
/// transaction-level advisory lock (taken without waiting: `Busy` when
/// another server holds it).
pub(super) async fn integrate(store: &PgStore, max: usize) -> Result<Integration, StoreError> {
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(map_pg)?;
    let row = tx
        .query_one(
            "SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&(LockClass::Sequencer as i32)],
        )
        .await
        .map_err(map_pg)?;
    if !get::<bool>(&row, 0)? {
        return Ok(Integration::Busy);
    }
    let done = skeleton::integrate(&mut Tree(&tx), max).await?;
    tx.commit().await.map_err(map_pg)?;
    Ok(done)
}

/// The tree's tables inside the integration transaction.
struct Tree<'a, 'c>(&'a Transaction<'c>);

impl TreeTx for Tree<'_, '_> {
    async fn size(&mut self) -> Result<u64, StoreError> {
        size(self.0).await
    }

    async fn nodes(&mut self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        nodes(self.0, ids).await
    }

    async fn take_pending(&mut self, max: usize) -> Result<(Vec<i64>, Vec<PendingLeaf>), StoreError> {
        let tx = self.0;
        let rows = tx
            .query_typed(
                "SELECT seq, id, created, leaf_hash FROM audit_pending ORDER BY seq LIMIT $1",
                &[(&(max as i64), Type::INT8)],
            )
            .await
            .map_err(map_pg)?;
        let mut seqs = Vec::with_capacity(rows.len());
        let mut pending = Vec::with_capacity(rows.len());
        for r in &rows {
            seqs.push(get::<i64>(r, 0)?);
            let id: Uuid = get(r, 1)?;
            let created: chrono::DateTime<chrono::Utc> = get(r, 2)?;
            let leaf = match get::<Option<Vec<u8>>>(r, 3)? {
                Some(h) => PendingLeaf { event_id: id, created: Timestamp::from_datetime(created), hash: hash_of(h)? },
                None => {
                    let event = tx
                        .query_typed(
                            &format!("SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.id = $1 AND e.created = $2"),
                            &[(&id, Type::UUID), (&created, Type::TIMESTAMPTZ)],
                        )
                        .await
                        .map_err(map_pg)?;
                    match event.first() {
                        Some(row) => PendingLeaf::from(&row_to_event_at(row, 0)?),
                        None => continue,
                    }
                }
            };
            pending.push(leaf);
        }
        Ok((seqs, pending))
    }

    async fn write_appended(&mut self, appended: &Appended, taken: &[i64]) -> Result<(), StoreError> {
        let tx = self.0;
        if !appended.leaves.is_empty() {
            let index: Vec<i64> = appended.leaves.iter().map(|l| l.index as i64).collect();
            let ids: Vec<Uuid> = appended.leaves.iter().map(|l| l.event_id).collect();
            let hashes: Vec<&[u8]> = appended.leaves.iter().map(|l| &l.hash[..]).collect();
            let created: Vec<chrono::DateTime<chrono::Utc>> =
                appended.leaves.iter().map(|l| l.created.as_datetime()).collect();
            let integrated = appended.leaves[0].integrated.as_datetime();
            tx.execute_typed(
                "INSERT INTO audit_leaves (leaf_index, event_id, leaf_hash, created, integrated)
                 SELECT i, e, h, c, $5 FROM unnest($1, $2, $3, $4) AS u(i, e, h, c)",
                &[
                    (&index, Type::INT8_ARRAY),
                    (&ids, Type::UUID_ARRAY),
                    (&hashes, Type::BYTEA_ARRAY),
                    (&created, Type::TIMESTAMPTZ_ARRAY),
                    (&integrated, Type::TIMESTAMPTZ),
                ],
            )
            .await
            .map_err(map_pg)?;
        }
        if !appended.nodes.is_empty() {
            let levels: Vec<i16> = appended.nodes.iter().map(|(id, _)| i16::from(id.level)).collect();
            let idxs: Vec<i64> = appended.nodes.iter().map(|(id, _)| id.index as i64).collect();
            let hashes: Vec<&[u8]> = appended.nodes.iter().map(|(_, h)| &h[..]).collect();
            tx.execute_typed(
                "INSERT INTO audit_tree (level, idx, hash) SELECT * FROM unnest($1, $2, $3)",
                &[(&levels, Type::INT2_ARRAY), (&idxs, Type::INT8_ARRAY), (&hashes, Type::BYTEA_ARRAY)],
            )
            .await
            .map_err(map_pg)?;
        }
        if !taken.is_empty() {
            tx.execute_typed("DELETE FROM audit_pending WHERE seq = ANY($1)", &[(&taken, Type::INT8_ARRAY)])
                .await
                .map_err(map_pg)?;
        }
        Ok(())
    }
}

fn row_to_leaf(r: &tokio_postgres::Row) -> Result<Leaf, StoreError> {
    let bad = |e: tokio_postgres::Error| StoreError::internal_from("unreadable leaf", e);
    let ts = |d: chrono::DateTime<chrono::Utc>| Timestamp::from_datetime(d);
    Ok(Leaf {
        index: r.try_get::<_, i64>(0).map_err(bad)? as u64,
        event_id: r.try_get(1).map_err(bad)?,
        hash: hash_of(r.try_get(2).map_err(bad)?)?,
        created: ts(r.try_get(3).map_err(bad)?),
        integrated: ts(r.try_get(4).map_err(bad)?),
        expired: r.try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(5).map_err(bad)?.map(ts),
    })
}

pub(super) async fn leaf_for_event(c: &(impl GenericClient + Sync), id: Uuid) -> Result<Option<Leaf>, StoreError> {
    let rows = c
        .query_typed(&format!("SELECT {LEAF_COLUMNS} FROM audit_leaves l WHERE l.event_id = $1"), &[(&id, Type::UUID)])
        .await
        .map_err(map_pg)?;
    rows.first().map(row_to_leaf).transpose()
}

pub(super) async fn leaves_for_events(c: &(impl GenericClient + Sync), ids: &[Uuid]) -> Result<Vec<Leaf>, StoreError> {
    let rows = c
        .query_typed(
            &format!("SELECT {LEAF_COLUMNS} FROM audit_leaves l WHERE l.event_id = ANY($1)"),
            &[(&ids, Type::UUID_ARRAY)],
        )
        .await
        .map_err(map_pg)?;
    rows.iter().map(row_to_leaf).collect()
}

pub(super) async fn leaves_with_events(
    c: &(impl GenericClient + Sync),
    from: u64,
    limit: usize,
) -> Result<Vec<(Leaf, Option<auditlog_core::Event>)>, StoreError> {
    let rows = c
        .query_typed(
            &format!(
                "SELECT {LEAF_COLUMNS}, e.id IS NOT NULL, {EVENT_COLUMNS} FROM audit_leaves l
                 LEFT JOIN audit_events e ON e.id = l.event_id AND e.created = l.created
                 WHERE l.leaf_index >= $1 ORDER BY l.leaf_index LIMIT $2"
            ),
            &[(&(from as i64), Type::INT8), (&(limit as i64), Type::INT8)],
        )
        .await
        .map_err(map_pg)?;
    rows.iter()
        .map(|r| {
            let event = if get::<bool>(r, 6)? { Some(row_to_event_at(r, 7)?) } else { None };
            Ok((row_to_leaf(r)?, event))
        })
        .collect()
}

pub(super) async fn unlogged_events(c: &(impl GenericClient + Sync), limit: usize) -> Result<Vec<Uuid>, StoreError> {
    let rows =
        c.query_typed(&format!("{UNLOGGED_EVENTS}$1"), &[(&(limit as i64), Type::INT8)]).await.map_err(map_pg)?;
    rows.iter().map(|r| get(r, 0)).collect()
}

pub(super) async fn pending_count(c: &(impl GenericClient + Sync)) -> Result<u64, StoreError> {
    let row = c.query_one("SELECT count(*) FROM audit_pending", &[]).await.map_err(map_pg)?;
    Ok(get::<i64>(&row, 0)? as u64)
}

pub(super) async fn save_checkpoint(c: &(impl GenericClient + Sync), cp: &StoredCheckpoint) -> Result<(), StoreError> {
    c.execute_typed(
        "INSERT INTO audit_checkpoints (size, root, note, created) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING",
        &[
            (&(cp.size as i64), Type::INT8),
            (&&cp.root[..], Type::BYTEA),
            (&cp.note, Type::TEXT),
            (&cp.created.as_datetime(), Type::TIMESTAMPTZ),
        ],
    )
    .await
    .map_err(map_pg)?;
    Ok(())
}

pub(super) async fn checkpoint(
    c: &(impl GenericClient + Sync),
    size: Option<u64>,
) -> Result<Option<StoredCheckpoint>, StoreError> {
    let size = size.map(|s| s as i64);
    let rows = c
        .query_typed(
            "SELECT size, root, note, created FROM audit_checkpoints
             WHERE $1::bigint IS NULL OR size = $1 ORDER BY size DESC LIMIT 1",
            &[(&size, Type::INT8)],
        )
        .await
        .map_err(map_pg)?;
    rows.first()
        .map(|r| {
            Ok(StoredCheckpoint {
                size: get::<i64>(r, 0)? as u64,
                root: hash_of(get(r, 1)?)?,
                note: get(r, 2)?,
                created: Timestamp::from_datetime(get(r, 3)?),
            })
        })
        .transpose()
}
