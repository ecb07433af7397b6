//! [`IntegrityView`]: what the admin page asks the transparency log — the
//! latest signed checkpoint and whether events are included in it. The
//! server only displays the answers; a provider is plugged in with
//! [`AppState::with_integrity`](crate::AppState::with_integrity). Without
//! one the page shows no integrity information at all, never a made-up
//! status.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use auditlog_core::{Identity, Timestamp};
use auditlog_store::AuditLogService;
use auditlog_store::service::LogStatus;
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

/// The transparency log as the admin page sees it, asked on behalf of the
/// signed-in user (whose rights the provider checks).
#[async_trait]
pub trait IntegrityView: Send + Sync {
    /// The latest signed checkpoint; `None` before the first one is signed.
    async fn latest_checkpoint(&self, identity: &Identity) -> Result<Option<CheckpointSummary>, IntegrityError>;

    /// The status of each of `ids` (one call per results page). An id
    /// missing from the answer shows no status.
    async fn event_statuses(
        &self,
        identity: &Identity,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError>;

    /// The status of one event.
    async fn event_status(&self, identity: &Identity, id: Uuid) -> Result<Option<EventIntegrity>, IntegrityError> {
        Ok(self.event_statuses(identity, &[id]).await?.remove(&id))
    }
}

/// The transparency log as the service reports it
/// ([`AuditLogService::integrity_many`], with the service's permission
/// check): the latest checkpoint whose signature verifies with the log's
/// key, and per event an inclusion proof checked against that checkpoint's
/// root with the leaf hash recomputed from the event as stored now. A page
/// of events costs the same few store reads however many rows it has.
pub struct LogIntegrity {
    service: AuditLogService,
}

impl LogIntegrity {
    /// The service must know the log's key ([`AuditLogService::with_log_key`]);
    /// without it every answer is an error.
    pub fn new(service: AuditLogService) -> Self {
        LogIntegrity { service }
    }

    async fn status(&self, identity: &Identity, ids: &[Uuid]) -> Result<LogStatus, IntegrityError> {
        let status =
            self.service.integrity_many(identity, ids).await.map_err(|e| IntegrityError { message: e.to_string() })?;
        match &status.signature {
            Some(Ok(())) => Ok(status),
            Some(Err(why)) => Err(IntegrityError { message: why.clone() }),
            None if status.checkpoint.is_none() => Ok(status),
            None => Err(IntegrityError { message: "the service does not know the log's key".into() }),
        }
    }
}

#[async_trait]
impl IntegrityView for LogIntegrity {
    async fn latest_checkpoint(&self, identity: &Identity) -> Result<Option<CheckpointSummary>, IntegrityError> {
        let status = self.status(identity, &[]).await?;
        Ok(status.checkpoint.map(|c| CheckpointSummary { tree_size: c.size, signed_at: c.created }))
    }

    async fn event_statuses(
        &self,
        identity: &Identity,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, EventIntegrity>, IntegrityError> {
        let status = self.status(identity, ids).await?;
        let Some(cp) = &status.checkpoint else {
            return Ok(ids.iter().map(|id| (*id, EventIntegrity::Pending)).collect());
        };
        Ok(status
            .events
            .into_iter()
            .map(|(id, i)| {
                let shown = match (i.leaf_index, i.proof) {
                    (Some(leaf_index), Some(Ok(()))) => EventIntegrity::Verified { leaf_index, tree_size: cp.size },
                    (_, Some(Err(reason))) => EventIntegrity::Failed { reason },
                    _ => EventIntegrity::Pending,
                };
                (id, shown)
            })
            .collect())
    }
}
