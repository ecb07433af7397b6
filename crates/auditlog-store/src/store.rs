//! What a store does, one contract per job, so that each caller names only
//! what it depends on: [`EventStore`] (write, read and search events),
//! [`TreeStore`] (the transparency log's storage, defined by
//! `auditlog-transparency`) and [`RetentionStore`] (expire events). [`Store`]
//! is all three, what a backend is. Stores know nothing of permissions or
//! actions: they keep validated events and answer plans. They hold no
//! wake-up of their own: a caller that wants to hear of commits (the
//! sequencer) hands one to the store when opening it.

use async_trait::async_trait;
use auditlog_core::{Event, Timestamp, User};
use uuid::Uuid;

pub use auditlog_transparency::TreeStore;

use crate::error::StoreError;
use crate::retention::{RetentionMode, RetentionPolicy, RetentionReport};
use crate::search::{SearchPlan, StoreHits};

/// Writing, reading and searching events.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Stores events, all in one transaction: all or none. Storing none is
    /// a no-op.
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
}

/// Expiring events (SPEC 8).
#[async_trait]
pub trait RetentionStore: Send + Sync + 'static {
    /// Removes the events expired at `now` under `policy`: in batches of
    /// `policy.batch_size`, one transaction each, under a single-run lock.
    /// A run that finds the lock taken deletes nothing and reports
    /// `ran: false`. Running it again deletes nothing more.
    async fn run_retention(
        &self,
        policy: &RetentionPolicy,
        now: Timestamp,
        mode: RetentionMode,
    ) -> Result<RetentionReport, StoreError>;
}

/// A whole store: events, the transparency log's storage and retention.
pub trait Store: EventStore + TreeStore<Error = StoreError> + RetentionStore {}

impl<T: EventStore + TreeStore<Error = StoreError> + RetentionStore + ?Sized> Store for T {}
