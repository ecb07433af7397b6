//! The store interface every backend implements. Stores know nothing of
//! permissions or actions: they keep validated events and answer plans.

use async_trait::async_trait;
use auditlog_core::{Event, Timestamp, User};
use uuid::Uuid;

use crate::error::StoreError;
use crate::retention::{RetentionMode, RetentionPolicy, RetentionReport};
use crate::search::{SearchPlan, StoreHits};

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Stores events, all in one transaction: all or none.
    async fn insert(&self, events: Vec<Event>) -> Result<(), StoreError>;

    async fn get(&self, id: Uuid) -> Result<Option<Event>, StoreError>;

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
}
