//! The store interface every backend implements. Stores know nothing of
//! permissions or actions: they keep validated events and answer plans.

use async_trait::async_trait;
use auditlog_core::{Event, Timestamp, User};
use uuid::Uuid;

use crate::error::StoreError;
use crate::retention::{RetentionMode, RetentionPolicy, RetentionReport};
use crate::search::{SearchPlan, StoreHits};
use crate::transparency::{Hash, Integration, Leaf, StoredCheckpoint};
use auditlog_merkle::NodeId;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Stores events, all in one transaction: all or none.
    async fn insert(&self, events: Vec<Event>) -> Result<(), StoreError>;

    async fn get(&self, id: Uuid) -> Result<Option<Event>, StoreError>;

    /// The stored events among `ids`, in no particular order (one query:
    /// what an import checks before storing a batch).
    async fn get_many(&self, ids: Vec<Uuid>) -> Result<Vec<Event>, StoreError>;

    async fn search(&self, plan: &SearchPlan) -> Result<StoreHits, StoreError>;

    /// The most recent details seen for a user id (for ingest by `user_id`).
    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError>;

    /// Number of stored events.
    async fn count(&self) -> Result<u64, StoreError>;

    /// Fails when the database cannot be reached.
    async fn health(&self) -> Result<(), StoreError>;

    /// Removes the events expired at `now` under `policy` (SPEC 8): in
    /// batches of `policy.batch_size`, one transaction each, under a
    /// single-run lock. A run that finds the lock taken deletes nothing and
    /// reports `ran: false`. Running it again deletes nothing more.
    async fn run_retention(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        mode: RetentionMode,
    ) -> Result<RetentionReport, StoreError>;

    // The transparency log (see `transparency`). Every inserted event is
    // queued as pending in the inserting transaction; `integrate` turns
    // pending events into leaves.

    /// One integration round: up to `max` pending events become leaves with
    /// consecutive indexes, in one transaction, under the store's
    /// one-sequencer-at-a-time rule.
    async fn integrate(&self, max: usize) -> Result<Integration, StoreError>;

    /// Number of leaves in the tree.
    async fn tree_size(&self) -> Result<u64, StoreError>;

    /// Stored tree nodes (level 0 are leaf hashes); `None` where absent.
    async fn tree_nodes(&self, ids: Vec<NodeId>) -> Result<Vec<Option<Hash>>, StoreError>;

    /// The leaf of an event, once integrated.
    async fn leaf_for_event(&self, id: Uuid) -> Result<Option<Leaf>, StoreError>;

    /// Leaves from index `from` on, in order, each with its event's stored
    /// row (`None` when the row is gone).
    async fn leaves_with_events(&self, from: u64, limit: usize) -> Result<Vec<(Leaf, Option<Event>)>, StoreError>;

    /// Ids of stored events that are neither leaves nor pending (at most `limit`).
    async fn unlogged_events(&self, limit: usize) -> Result<Vec<Uuid>, StoreError>;

    /// Events committed but not yet integrated.
    async fn pending_count(&self) -> Result<u64, StoreError>;

    async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), StoreError>;

    /// The checkpoint of exactly `size` leaves, or the latest one for `None`.
    async fn checkpoint(&self, size: Option<u64>) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// Wakes whoever waits for new commits of this store (the sequencer).
    fn commits(&self) -> std::sync::Arc<tokio::sync::Notify>;
}
