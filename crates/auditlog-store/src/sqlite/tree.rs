//! The transparency log on SQLite: the pending queue, leaves, interior
//! nodes and checkpoints. Integration runs on the writer connection in one
//! `IMMEDIATE` transaction, so it is serialised with every other writer of
//! the file (other processes included) and reloads the tree's frontier from
//! the database each round rather than trusting a cache.

use auditlog_core::Timestamp;
use auditlog_merkle::NodeId;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use uuid::Uuid;

use super::{map_err, row_to_event};
use crate::backend::tree::{self as skeleton, TreeTx};
use crate::backend::{EVENT_COLUMNS, LEAF_COLUMNS, UNLOGGED_EVENTS, hash_of, ready};
use crate::error::StoreError;
use auditlog_transparency::{Appended, Hash, Integration, Leaf, PendingLeaf, StoredCheckpoint};

pub(super) fn size(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row("SELECT coalesce(max(leaf_index) + 1, 0) FROM audit_leaves", [], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(map_err)
}

pub(super) fn nodes(conn: &Connection, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
    let mut leaf = conn.prepare_cached("SELECT leaf_hash FROM audit_leaves WHERE leaf_index = ?1").map_err(map_err)?;
    let mut node = conn.prepare_cached("SELECT hash FROM audit_tree WHERE level = ?1 AND idx = ?2").map_err(map_err)?;
    ids.iter()
        .map(|id| {
            let raw: Option<Vec<u8>> = if id.level == 0 {
                leaf.query_row([id.index as i64], |r| r.get(0)).optional().map_err(map_err)?
            } else {
                node.query_row(params![id.level, id.index as i64], |r| r.get(0)).optional().map_err(map_err)?
            };
            raw.map(hash_of).transpose()
        })
        .collect()
}

/// One integration round on the writer connection, in one `IMMEDIATE`
/// transaction: serialised with every other writer of the file.
pub(super) fn integrate(conn: &mut Connection, max: usize) -> Result<Integration, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_err)?;
    let done = ready(skeleton::integrate(&mut Tree(&tx), max))?;
    tx.commit().map_err(map_err)?;
    Ok(done)
}

/// The tree's tables inside the integration transaction.
struct Tree<'a, 'c>(&'a Transaction<'c>);

impl TreeTx for Tree<'_, '_> {
    async fn size(&mut self) -> Result<u64, StoreError> {
        size(self.0)
    }

    async fn nodes(&mut self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError> {
        nodes(self.0, ids)
    }

    async fn take_pending(&mut self, max: usize) -> Result<(Vec<i64>, Vec<PendingLeaf>), StoreError> {
        let tx = self.0;
        let rows = tx
            .prepare_cached("SELECT seq, event_id, created, leaf_hash FROM audit_pending ORDER BY seq LIMIT ?1")
            .map_err(map_err)?
            .query_map([max as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<Vec<u8>>>(3)?,
                ))
            })
            .map_err(map_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(map_err)?;
        let mut event = tx
            .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM audit_events e WHERE e.seq = ?1"))
            .map_err(map_err)?;
        let mut seqs = Vec::with_capacity(rows.len());
        let mut pending = Vec::with_capacity(rows.len());
        for (seq, id, created, hash) in rows {
            seqs.push(seq);
            let leaf = match (id, created.and_then(Timestamp::from_micros), hash) {
                (Some(id), Some(created), Some(hash)) => PendingLeaf {
                    event_id: id
                        .parse()
                        .map_err(|e| StoreError::internal_from(format!("bad pending event id {id:?}"), e))?,
                    created,
                    hash: hash_of(hash)?,
                },
                _ => match event.query_row([seq], |r| row_to_event(r, 0)).optional().map_err(map_err)? {
                    Some(e) => PendingLeaf::from(&e),
                    None => continue,
                },
            };
            pending.push(leaf);
        }
        Ok((seqs, pending))
    }

    async fn write_appended(&mut self, appended: &Appended, taken: &[i64]) -> Result<(), StoreError> {
        let tx = self.0;
        let mut leaf = tx
            .prepare_cached(
                "INSERT INTO audit_leaves (leaf_index, event_id, leaf_hash, created, integrated) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(map_err)?;
        for l in &appended.leaves {
            leaf.execute(params![
                l.index as i64,
                l.event_id.to_string(),
                &l.hash[..],
                l.created.as_micros(),
                l.integrated.as_micros()
            ])
            .map_err(map_err)?;
        }
        let mut node =
            tx.prepare_cached("INSERT INTO audit_tree (level, idx, hash) VALUES (?1, ?2, ?3)").map_err(map_err)?;
        for (id, h) in &appended.nodes {
            node.execute(params![id.level, id.index as i64, &h[..]]).map_err(map_err)?;
        }
        let mut done = tx.prepare_cached("DELETE FROM audit_pending WHERE seq = ?1").map_err(map_err)?;
        for s in taken {
            done.execute([s]).map_err(map_err)?;
        }
        Ok(())
    }
}

/// An event read at column offset `at` of a row (the columns of `EVENT_COLUMNS`).
fn row_to_event_at(r: &rusqlite::Row<'_>, at: usize) -> Result<auditlog_core::Event, StoreError> {
    row_to_event(r, at).map_err(map_err)
}

fn row_to_leaf(r: &rusqlite::Row<'_>) -> Result<Leaf, StoreError> {
    let id: String = r.get(1).map_err(map_err)?;
    let ts = |i: usize| -> Result<Option<Timestamp>, StoreError> {
        Ok(r.get::<_, Option<i64>>(i).map_err(map_err)?.and_then(Timestamp::from_micros))
    };
    Ok(Leaf {
        index: r.get::<_, i64>(0).map_err(map_err)? as u64,
        event_id: id.parse().map_err(|e| StoreError::internal_from(format!("bad event id {id:?} in the log"), e))?,
        hash: hash_of(r.get(2).map_err(map_err)?)?,
        created: ts(3)?.ok_or_else(|| StoreError::internal("a leaf without a time"))?,
        integrated: ts(4)?.ok_or_else(|| StoreError::internal("a leaf without a time"))?,
        expired: ts(5)?,
    })
}

pub(super) fn leaf_for_event(conn: &Connection, id: Uuid) -> Result<Option<Leaf>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {LEAF_COLUMNS} FROM audit_leaves l WHERE l.event_id = ?1"))
        .map_err(map_err)?;
    let mut rows = stmt.query([id.to_string()]).map_err(map_err)?;
    match rows.next().map_err(map_err)? {
        Some(r) => Ok(Some(row_to_leaf(r)?)),
        None => Ok(None),
    }
}

pub(super) fn leaves_for_events(conn: &Connection, ids: &str) -> Result<Vec<Leaf>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {LEAF_COLUMNS} FROM audit_leaves l WHERE l.event_id IN (SELECT value FROM json_each(?1))"
        ))
        .map_err(map_err)?;
    let mut rows = stmt.query([ids]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        out.push(row_to_leaf(r)?);
    }
    Ok(out)
}

pub(super) fn leaves_with_events(
    conn: &Connection,
    from: u64,
    limit: usize,
) -> Result<Vec<(Leaf, Option<auditlog_core::Event>)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {LEAF_COLUMNS}, e.seq IS NOT NULL, {EVENT_COLUMNS} FROM audit_leaves l
             LEFT JOIN audit_events e ON e.id = l.event_id
             WHERE l.leaf_index >= ?1 ORDER BY l.leaf_index LIMIT ?2"
        ))
        .map_err(map_err)?;
    let mut rows = stmt.query(params![from as i64, limit as i64]).map_err(map_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(map_err)? {
        let leaf = row_to_leaf(r)?;
        let event = if r.get::<_, bool>(6).map_err(map_err)? { Some(row_to_event_at(r, 7)?) } else { None };
        out.push((leaf, event));
    }
    Ok(out)
}

pub(super) fn unlogged_events(conn: &Connection, limit: usize) -> Result<Vec<Uuid>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{UNLOGGED_EVENTS}?1")).map_err(map_err)?;
    let ids = stmt
        .query_map([limit as i64], |r| r.get::<_, String>(0))
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    ids.iter().map(|s| s.parse().map_err(|e| StoreError::internal_from(format!("bad event id {s:?}"), e))).collect()
}

pub(super) fn pending_count(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row("SELECT count(*) FROM audit_pending", [], |r| r.get::<_, i64>(0)).map(|n| n as u64).map_err(map_err)
}

pub(super) fn save_checkpoint(conn: &Connection, cp: &StoredCheckpoint) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit_checkpoints (size, root, note, created) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (size) DO NOTHING",
    )
    .map_err(map_err)?
    .execute(params![cp.size as i64, &cp.root[..], cp.note, cp.created.as_micros()])
    .map_err(map_err)?;
    Ok(())
}

pub(super) fn checkpoint(conn: &Connection, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError> {
    let sql = match size {
        Some(_) => "SELECT size, root, note, created FROM audit_checkpoints WHERE size = ?1",
        None => "SELECT size, root, note, created FROM audit_checkpoints WHERE ?1 IS NULL ORDER BY size DESC LIMIT 1",
    };
    let row: Option<(i64, Vec<u8>, String, i64)> = conn
        .prepare_cached(sql)
        .map_err(map_err)?
        .query_row([size.map(|s| s as i64)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()
        .map_err(map_err)?;
    row.map(|(size, root, note, created)| {
        Ok(StoredCheckpoint {
            size: size as u64,
            root: hash_of(root)?,
            note,
            created: Timestamp::from_micros(created).ok_or_else(|| StoreError::internal("bad checkpoint time"))?,
        })
    })
    .transpose()
}
