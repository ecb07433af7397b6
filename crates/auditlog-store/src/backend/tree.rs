//! One integration round of the transparency log, for every backend: read
//! the tree's size and rebuild its frontier from the stored nodes (never
//! from a cache, so several writers and processes agree), take the oldest
//! pending events in commit order, append them, and write the new leaves and
//! completed nodes while removing the events from the queue — all in the
//! backend's one transaction, which the backend opens (with its
//! one-sequencer-at-a-time rule) and commits.

use auditlog_core::Timestamp;
use auditlog_merkle::NodeId;

use crate::error::StoreError;
use auditlog_transparency::{self as transparency, Appended, Hash, Integration, PendingLeaf};

/// The tree's storage inside one integration transaction.
pub(crate) trait TreeTx {
    /// Number of leaves.
    async fn size(&mut self) -> Result<u64, StoreError>;

    /// Stored nodes (level 0 are leaf hashes); `None` where absent.
    async fn nodes(&mut self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, StoreError>;

    /// Up to `max` queued events, oldest commit first: the queue keys of the
    /// rows taken, and the leaves to append. A row queued without a leaf hash
    /// (by the migration that introduced the log) is hashed from its stored
    /// event; a row whose event is gone is taken but gives no leaf.
    async fn take_pending(&mut self, max: usize) -> Result<(Vec<i64>, Vec<PendingLeaf>), StoreError>;

    /// Writes the appended leaves and nodes and removes the `taken` rows from
    /// the queue.
    async fn write_appended(&mut self, appended: &Appended, taken: &[i64]) -> Result<(), StoreError>;
}

/// Integrates up to `max` pending events in the caller's transaction.
pub(crate) async fn integrate(tx: &mut impl TreeTx, max: usize) -> Result<Integration, StoreError> {
    let size = tx.size().await?;
    let mut range = transparency::range_from_nodes(size, tx.nodes(&auditlog_merkle::frontier(size)).await?)?;
    let (taken, pending) = tx.take_pending(max).await?;
    let appended = transparency::append(&mut range, &pending, Timestamp::now())?;
    tx.write_appended(&appended, &taken).await?;
    Ok(Integration::Integrated { size: range.size(), added: appended.leaves.len() as u64, root: range.root() })
}
