//! [`IntegrityView`]: what the admin page asks the transparency log — the
//! latest signed checkpoint and whether events are included in it. The
//! server only displays the answers; a provider is plugged in with
//! [`AppState::with_integrity`](crate::AppState::with_integrity). Without
//! one the page shows no integrity information at all, never a made-up
//! status.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use auditlog_core::Timestamp;
use uuid::Uuid;

/// The latest signed checkpoint, as the page header shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSummary {
    /// Number of leaves (events) the checkpoint commits to.
    pub tree_size: u64,
    /// When the checkpoint was signed.
    pub signed_at: Timestamp,
}

/// One event's standing against the latest checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventIntegrity {
    /// The event's leaf is in the checkpoint and its inclusion proof
    /// verifies against the checkpoint's root.
    Verified { leaf_index: u64, tree_size: u64 },
    /// Stored after the latest checkpoint was signed; a later one will
    /// include it.
    Pending,
    /// The inclusion proof does not verify: the event or the log changed.
    Failed { reason: String },
}

/// The provider could not answer (its storage failed, say). The page then
/// says the status is unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityError {
    pub message: String,
}

impl fmt::Display for IntegrityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for IntegrityError {}

/// The transparency log as the admin page sees it.
#[async_trait]
pub trait IntegrityView: Send + Sync {
    /// The latest signed checkpoint; `None` before the first one is signed.
    async fn latest_checkpoint(&self) -> Result<Option<CheckpointSummary>, IntegrityError>;

    /// The status of each of `ids` (one call per results page, so that a
    /// page never costs a query per row). An id missing from the answer
    /// shows no status.
    async fn event_statuses(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError>;

    /// The status of one event.
    async fn event_status(&self, id: Uuid) -> Result<Option<EventIntegrity>, IntegrityError> {
        Ok(self.event_statuses(&[id]).await?.remove(&id))
    }
}
